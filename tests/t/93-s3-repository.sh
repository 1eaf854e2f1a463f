# The repositories (src/store/repo.h) through the fault-injecting proxy: a bundle whose
# sidecar upload failed is invisible remotely until the next `upload` repairs it (the bundle
# is not sent again); `upload`, `verify` and `restore` take the storage locks as `backup`
# and `prune` do: they wait for a prune that holds them, and a `prune --remote` cannot run
# while an upload is in progress; an S3 storage failing midway through `backup --upload`
# costs the upload only (section 4).
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
. "$TOP_SRCDIR/tests/lib/s3.sh"
S3CHECK="${S3CHECK:-${TOP_BUILDDIR:-$TOP_SRCDIR}/tests/s3check}"
D="$T/s3"; mkdir -p "$D"
DB=pvt93_repo; NEW=pvt93_restored
ST="$T/st"
cleanup() { s3proxy_stop "$D"; s3_stop "$D"; dropdb_q "$DB" >/dev/null 2>&1 || true; dropdb_q "$NEW" >/dev/null 2>&1 || true; }
trap cleanup EXIT
s3_start "$D" || fail "could not start s3rver"
s3proxy_start "$D" || fail "could not start the fault-injecting proxy"
dropdb_q "$DB"; dropdb_q "$NEW"
createdb_q "$DB"
q -d "$DB" -c "CREATE TABLE t AS SELECT i, md5(i::text) AS h FROM generate_series(1, 50000) i"
cat >"$T/c.conf" <<CONF
[storage]
dir = $ST
[retention]
keep_min = 1
[s3]
endpoint = $S3_PROXY_ENDPOINT
bucket = $S3_BUCKET
prefix = backups/
url_style = path
CONF
chmod 600 "$T/c.conf"
export S3_RETRY_DELAY_MS=50
remote_ids() { # the ids `list --remote` shows in the S3 storage
	pv --config "$T/c.conf" list --remote --json; expect_rc 0 "list --remote"
	python3 -c 'import json, sys; print(" ".join(sorted(r["id"] for r in json.load(open(sys.argv[1])) if r["location"] == "s3")))' "$T/out"
}

pv --config "$T/c.conf" backup --db "$DB"; expect_rc 0 "backup"
ID=$(cat "$T/out")

# 1. the sidecar upload fails (refused, not retried): upload fails, the bundle is not listed
s3proxy_reset "$D"
s3proxy_fault "$D" error:403:AccessDenied 1 "PUT /$S3_BUCKET/backups/$DB/$ID.manifest.json"
pv --config "$T/c.conf" upload "$ID"; expect_rc 1 "upload with a refused sidecar"
expect_err "sidecar"
grep -q "PUT /$S3_BUCKET/backups/$DB/$ID.pgv?partNumber=1" "$D/proxy.log" || fail "the bundle was not sent"
[ -z "$(remote_ids)" ] || fail "a remote bundle without its sidecar is listed"
# 2. the next upload repairs it: only the sidecar is sent, and the bundle is listed
s3proxy_reset "$D"
pv --config "$T/c.conf" upload --all; expect_rc 0 "the next upload"
expect_err "without its sidecar"
grep -qx "$ID" "$T/out" || fail "upload did not print the repaired id"
! grep -q "partNumber" "$D/proxy.log" || fail "the bundle was sent again: $(grep -c partNumber "$D/proxy.log") parts"
[ "$(remote_ids)" = "$ID" ] || fail "the repaired bundle is not listed: $(remote_ids)"
pv --config "$T/c.conf" restore "$DB@latest" --from-remote --as "$NEW"; expect_rc 0 "restore of the repaired bundle"
oracle_compare "$DB" "$NEW" || fail "the restored copy differs"
dropdb_q "$NEW"
echo "figure: sidecar refused: upload exit 1, not listed; next upload sent 0 parts and the sidecar; listed and restorable"

# 3. locks: each reading command, run while a prune holds a lock alone for 3 s, waits for it
# and then succeeds
held() { # LOCKFILE SECONDS: hold the lock alone in the background, as prune does
	flock -x "$1" sleep "$2" &
	holder=$!
	sleep 0.5
}
waited() { # WHAT LOCKFILE ARGS...
	local what="$1" lock="$2"; shift 2
	held "$lock" 3
	local t0; t0=$(date +%s%N)
	pv --config "$T/c.conf" "$@"
	local ms=$((($(date +%s%N) - t0) / 1000000))
	wait "$holder"
	expect_rc 0 "$what"
	[ "$ms" -ge 2000 ] || fail "$what did not wait for the lock (${ms} ms)"
	echo "figure: $what waited ${ms} ms for a prune holding $(basename "$lock")"
}
touch "$ST/.lock"
waited "verify" "$ST/.lock" verify "$DB@latest"
waited "restore" "$ST/.lock" restore "$DB@latest" --as "$NEW"
dropdb_q "$NEW"
waited "verify --remote" "$ST/.s3.lock" verify --remote "$DB@latest"
waited "restore --from-remote" "$ST/.s3.lock" restore "$DB@latest" --from-remote --as "$NEW"
dropdb_q "$NEW"
pv --config "$T/c.conf" backup --db "$DB" --tag second; expect_rc 0 "second backup"
ID2=$(cat "$T/out")
waited "upload" "$ST/.s3.lock" upload "$ID2"
grep -qx "$ID2" "$T/out" || fail "upload did not print $ID2"

# an upload in progress (slowed by the proxy) holds the S3 storage: prune --remote is locked
pv --config "$T/c.conf" backup --db "$DB" --tag third; expect_rc 0 "third backup"
ID3=$(cat "$T/out")
s3proxy_reset "$D"
s3proxy_fault "$D" delay:6 1 "PUT /$S3_BUCKET/backups/$DB/$ID3.pgv?partNumber=1"
"$PGVAULT" --config "$T/c.conf" upload "$ID3" >"$T/up.out" 2>"$T/up.err" &
up=$!
# its marker (.s3upload.ID.tmp.PID) exists from the start of the upload to its end, and the
# upload holds the lock all that time; the proxy then holds its first part for 6 s
for i in $(seq 1 100); do [ -n "$(find "$ST" -maxdepth 1 -name ".s3upload.$ID3.tmp.*")" ] && break; sleep 0.1; done
[ -n "$(find "$ST" -maxdepth 1 -name ".s3upload.$ID3.tmp.*")" ] || fail "the upload did not start"
pv --config "$T/c.conf" prune --remote --lock-timeout 0; expect_rc 4 "prune --remote during an upload"
expect_err "S3 storage"
wait "$up" || { cat "$T/up.err" >&2; fail "the slowed upload failed"; }
pv --config "$T/c.conf" prune --remote; expect_rc 0 "prune --remote after the upload"
echo "figure: prune --remote during an upload: exit 4 (locked); after it: exit 0"

# 4. the S3 storage fails midway through a backup's upload (its second part refused, retries
# included): the backup is kept here, verified and marked as not uploaded, exit 5, and the
# multipart upload is aborted; the notification says upload_failed and the metrics
# pgvault_last_upload_success 0.  The next `backup --upload` sends its own bundle and the one
# the failed run kept, drops the mark, exits 0, and the metric goes to 1.
cat >"$T/listener.py" <<'PY'
import http.server, os, sys
log, portfile = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(log, "ab") as f:
            f.write(body + b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
PY
: >"$T/notes"
python3 "$T/listener.py" "$T/notes" "$T/port" &
listener=$!
trap 'kill $listener 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || fail "the HTTP listener did not start"
prom="$T/metrics.prom"
cp "$T/c.conf" "$T/n.conf"
printf '[notify]\nurl = http://127.0.0.1:%s/{status}\non_success = yes\nmetrics_file = %s\n' "$(cat "$T/port")" "$prom" >>"$T/n.conf"
upmetric() { sed -n 's/^pgvault_last_upload_success{database="'"$DB"'"} //p' "$prom"; }
s3proxy_reset "$D"
s3proxy_fault "$D" 500 1000 "partNumber=2&"
PGVAULT_S3_PART_SIZE=262144 pv --config "$T/n.conf" backup --db "$DB" --upload --tag midway
expect_rc 5 "backup --upload, S3 failing midway"
expect_err "backed up, upload failed"
MID=$(cat "$T/out")
grep -q "partNumber=2&" "$D/proxy.log" || fail "the upload did not get to its second part"
[ -f "$ST/$DB/$MID.pgv" ] || fail "the bundle of the run whose upload failed was not kept"
grep -q '"upload_failed"' "$ST/$DB/$MID.manifest.json" || fail "the kept bundle is not marked"
pv --config "$T/c.conf" verify "$MID"; expect_rc 0 "verify of the kept bundle"
"$S3CHECK" --prefix backups/ multipart-list >"$T/uploads" || fail "multipart-list failed"
[ ! -s "$T/uploads" ] || fail "the failed upload was not aborted: $(cat "$T/uploads")"
case " $(remote_ids) " in *" $MID "*) fail "the failed upload is listed remotely" ;; esac
tail -1 "$T/notes" | python3 -c '
import json, sys
n = json.loads(sys.stdin.read())
assert n["status"] == "upload_failed" and n["exit_code"] == 5, n
d = n["databases"][0]
assert d["ok"] is True and d["uploaded"] is False and d["bundle"] == sys.argv[1] and "500" in d["upload_error"], d
' "$MID" || fail "the notification does not say upload_failed: $(tail -1 "$T/notes")"
[ "$(upmetric)" = 0 ] || fail "pgvault_last_upload_success is '$(upmetric)', not 0"
s3proxy_reset "$D"
pv --config "$T/n.conf" backup --db "$DB" --upload --tag after; expect_rc 0 "the next backup --upload"
NEXT=$(cat "$T/out")
expect_err "uploaded $MID, which an earlier run kept here"
ids=" $(remote_ids) "
case "$ids" in *" $MID "*) ;; *) fail "the kept bundle was not uploaded by the next backup: $ids" ;; esac
case "$ids" in *" $NEXT "*) ;; *) fail "the next backup's own bundle is not uploaded: $ids" ;; esac
grep -q '"upload_failed"' "$ST/$DB/$MID.manifest.json" && fail "the kept bundle is still marked"
[ "$(upmetric)" = 1 ] || fail "pgvault_last_upload_success is '$(upmetric)', not 1"
tail -1 "$T/notes" | grep -q '"status":"success"' || fail "the next run's notification: $(tail -1 "$T/notes")"
pv --config "$T/c.conf" restore "$MID" --from-remote --as "$NEW"; expect_rc 0 "restore of the late upload from S3"
oracle_compare "$DB" "$NEW" || fail "the late upload restores different"
dropdb_q "$NEW"
kill "$listener" 2>/dev/null || true
echo "figure: S3 failing at part 2 of a backup's upload: exit 5, kept and marked, upload aborted; the next backup --upload sent both"
