# Backups uploaded to S3-compatible storage while they are written (s3rver, which checks
# SigV4): `backup --upload` leaves the bundle and its sidecar in the bucket, `list --remote`
# shows it from the sidecar, `restore --from-remote` gives a database equal to the source
# (schema and data oracles).  A wrong secret fails the upload with a clear signature message,
# leaves no object and no incomplete multipart upload, and never costs the backup: the local
# bundle is kept, verified and marked (exit 5) until `upload --all` sends it.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
. "$TOP_SRCDIR/tests/lib/s3.sh"
S3CHECK="${S3CHECK:-${TOP_BUILDDIR:-$TOP_SRCDIR}/tests/s3check}"
D="$T/s3"; mkdir -p "$D"
DB="pvt91 bot"; NEW=pvt91_from_s3
cleanup() { s3_stop "$D"; dropdb_q "$DB" >/dev/null 2>&1 || true; dropdb_q "$NEW" >/dev/null 2>&1 || true; }
trap cleanup EXIT
s3_start "$D" || fail "could not start s3rver"
dropdb_q "$DB"; dropdb_q "$NEW"
createdb_q "$DB"
load_fixture "$DB" "$TOP_SRCDIR/tests/fixtures/names.sql"
q -d "$DB" -c "CREATE TABLE bulk AS SELECT i, md5(i::text) AS h FROM generate_series(1, 200000) i"
cat >"$T/c.conf" <<CONF
[storage]
dir = $T/st
[retention]
keep_days = 7
[s3]
endpoint = $S3_ENDPOINT
bucket = $S3_BUCKET
prefix = backups/
url_style = path
CONF
chmod 600 "$T/c.conf"

PGVAULT_S3_PART_SIZE=262144 pv --config "$T/c.conf" backup --db "$DB" --upload; expect_rc 0 "backup --upload"
ID=$(cat "$T/out")
pv --config "$T/c.conf" list --remote --json; expect_rc 0 "list --remote"
python3 - "$T/out" "$ID" <<'PY' || fail "list --remote does not show the uploaded bundle"
import json, sys
rows = json.load(open(sys.argv[1]))
ids = {(r["id"], r["location"]) for r in rows}
assert (sys.argv[2], "local") in ids and (sys.argv[2], "s3") in ids, ids
remote = [r for r in rows if r["location"] == "s3"][0]
assert remote["verified"] is True and remote["size"] > 0, remote
PY
# the remote copy is byte-identical to the local one
fs=$(python3 -c 'import sys,urllib.parse;print("".join(c if c.isalnum() or c in "._-" else "%%%02X" % b for c, b in ((chr(b), b) for b in sys.argv[1].encode())))' "$DB")
"$S3CHECK" --prefix backups/ get "$fs/$ID.pgv" "$T/remote.pgv" >/dev/null || fail "cannot download the bundle"
cmp -s "$T/remote.pgv" "$T/st/$fs/$ID.pgv" || fail "the uploaded bundle differs from the local one"

pv --config "$T/c.conf" restore "$DB@latest" --from-remote --as "$NEW"; expect_rc 0 "restore --from-remote"
oracle_compare "$DB" "$NEW" || fail "restored from S3 differs from the source"
[ -z "$(find "$T/st" -name '.download.*')" ] || fail "the download's temporary file stayed"
# a download a killed restore left (its pid gone) is removed by the next restore
dead=$(sh -c 'echo $$')
echo partial >"$T/st/.download.${ID}.tmp.$dead"
dropdb_q "$NEW"
pv --config "$T/c.conf" restore "$DB@latest" --from-remote --as "$NEW"; expect_rc 0 "restore --from-remote, again"
[ -z "$(find "$T/st" -name '.download.*')" ] || fail "a killed restore's download stayed: $(find "$T/st" -name '.download.*')"

# a wrong secret: clear message, nothing in the bucket; the backup itself is kept here,
# verified, marked as not uploaded (exit 5); `upload --all` then sends it and drops the mark
before=$(find "$D/data" -type f | wc -l)
AWS_SECRET_ACCESS_KEY=Sekr3t-Not-Valid-91 pv --config "$T/c.conf" backup --db "$DB" --upload --tag wrongkey
expect_rc 5 "backup --upload with a wrong secret"
expect_err "signature"
expect_err "backed up, upload failed"
grep -q "Sekr3t-Not-Valid-91" "$T/err" && fail "the secret appears in the message"
WK=$(cat "$T/out")
[ -n "$WK" ] && [ -f "$T/st/$fs/$WK.pgv" ] || fail "the bundle of the run whose upload failed was not kept: '$WK'"
[ "$(find "$D/data" -type f | wc -l)" = "$before" ] || fail "the failed upload left objects behind"
"$S3CHECK" --prefix backups/ multipart-list >"$T/uploads" || fail "multipart-list failed"
[ ! -s "$T/uploads" ] || fail "incomplete multipart uploads remain: $(cat "$T/uploads")"
pv --config "$T/c.conf" verify "$WK"; expect_rc 0 "verify of the kept bundle"
pv --config "$T/c.conf" list --json; expect_rc 0 "list --json"
python3 - "$T/out" "$WK" <<'PY' || fail "list --json does not show the kept bundle as verified and not uploaded"
import json, sys
r = [r for r in json.load(open(sys.argv[1])) if r["id"] == sys.argv[2]][0]
assert r["verified"] is True and r["location"] == "local", r
uf = r["upload_failed"]
assert "ignature" in uf["error"] and uf["at"].endswith("Z"), uf
assert "Sekr3t" not in json.dumps(r), r
PY
pv --config "$T/c.conf" list; expect_rc 0 "list"
grep -q "local! *$WK" "$T/out" || { cat "$T/out" >&2; fail "list does not mark the kept bundle local!"; }
pv --config "$T/c.conf" upload --all; expect_rc 0 "upload --all after the failed upload"
grep -qx "$WK" "$T/out" || fail "upload --all did not send $WK"
"$S3CHECK" --prefix backups/ head "$fs/$WK.pgv" >/dev/null || fail "the kept bundle is not in the bucket"
"$S3CHECK" --prefix backups/ get "$fs/$WK.manifest.json" "$T/wk.side" >/dev/null || fail "its sidecar is not in the bucket"
grep -q upload_failed "$T/wk.side" && fail "the uploaded sidecar carries the mark"
grep -q upload_failed "$T/st/$fs/$WK.manifest.json" && fail "the local bundle is still marked after its upload"
pv --config "$T/c.conf" list; expect_rc 0 "list"
grep -q "local!" "$T/out" && fail "list still marks a bundle: $(cat "$T/out")"
echo "figure: wrong secret: exit 5, the bundle kept here verified and marked; upload --all sent it and dropped the mark"

# `upload` copies a local-only bundle; a second upload is a no-op; verify --remote checks it
pv --config "$T/c.conf" backup --db "$DB" --tag localonly; expect_rc 0 "local-only backup"
LID=$(cat "$T/out")
pv --config "$T/c.conf" upload "$LID"; expect_rc 0 "upload"
grep -qx "$LID" "$T/out" || fail "upload did not print the id"
pv --config "$T/c.conf" upload "$LID"; expect_rc 0 "second upload"
expect_err "already"
# a bundle whose sidecar never arrived (upload killed between the two): not listed; the next
# upload adds the sidecar
"$S3CHECK" --prefix backups/ delete "$fs/$LID.manifest.json" >/dev/null || fail "delete the sidecar"
pv --config "$T/c.conf" list --remote --json; expect_rc 0 "list --remote"
python3 -c 'import json, sys; sys.exit(any(r["id"] == sys.argv[2] and r["location"] == "s3" for r in json.load(open(sys.argv[1]))))' \
	"$T/out" "$LID" || fail "a remote bundle without its sidecar is listed"
pv --config "$T/c.conf" upload "$LID"; expect_rc 0 "upload completing a bundle without its sidecar"
expect_err "without its sidecar"
"$S3CHECK" --prefix backups/ head "$fs/$LID.manifest.json" >/dev/null || fail "the sidecar was not uploaded"
pv --config "$T/c.conf" verify --remote "$LID"; expect_rc 0 "verify --remote"
grep -q "ok $LID" "$T/out" || fail "verify --remote did not report $LID"

# prune --remote: the dry run predicts the real run; the newest verified survives
cat >>"$T/c.conf" <<CONF
[db:$DB]
keep_days = 0
keep_min = 1
CONF
sed -i "s/^keep_days = 7\$/keep_min = 1/" "$T/c.conf"
sleep 1
pv --config "$T/c.conf" backup --db "$DB" --upload; expect_rc 0 "a newer backup --upload"
pv --config "$T/c.conf" prune --remote --dry-run; expect_rc 0 "prune --remote --dry-run"
{ grep '^would delete' "$T/out" || true; } | awk '{print $3}' | sort >"$T/predicted"
[ -s "$T/predicted" ] || fail "the dry run predicts nothing to delete"
pv --config "$T/c.conf" prune --remote; expect_rc 0 "prune --remote"
{ grep '^delete' "$T/out" || true; } | awk '{print $2}' | sort >"$T/deleted"
diff "$T/predicted" "$T/deleted" || fail "prune --remote did not do what --dry-run said"
pv --config "$T/c.conf" list --remote --json; expect_rc 0 "list --remote after prune"
python3 - "$T/out" "$T/deleted" <<'PY' || fail "remote listing after prune is wrong"
import json, sys
rows = [r for r in json.load(open(sys.argv[1])) if r["location"] == "s3"]
gone = set(open(sys.argv[2]).read().split())
assert rows and not gone & {r["id"] for r in rows}, (rows, gone)
PY

# a run killed mid-upload leaves an incomplete multipart upload that the next run aborts
q -d "$DB" -c "CREATE TABLE big AS SELECT i, md5(i::text) AS h, md5((i * 7)::text) AS g FROM generate_series(1, 1500000) i"
PGVAULT_S3_PART_SIZE=262144 "$PGVAULT" --config "$T/c.conf" backup --db "$DB" --upload >"$T/bg.out" 2>"$T/bg.err" &
pid=$!
for ((i = 0; i < 3000; i++)); do
	"$S3CHECK" --prefix backups/ multipart-list >"$T/uploads" 2>/dev/null || true
	[ -s "$T/uploads" ] && [ -n "$(find "$T/st" -name '.*.pgv.tmp.*' -size +2M)" ] && break
	kill -0 "$pid" 2>/dev/null || fail "the backup ended before it could be killed"
	sleep 0.05
done
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
"$S3CHECK" --prefix backups/ multipart-list >"$T/uploads"
[ -s "$T/uploads" ] || fail "expected the killed run's incomplete upload"
pv --config "$T/c.conf" backup --db "$DB" --upload --tag after-kill; expect_rc 0 "the next backup --upload"
expect_err "aborted the incomplete upload"
"$S3CHECK" --prefix backups/ multipart-list >"$T/uploads"
[ ! -s "$T/uploads" ] || fail "incomplete uploads remain after the next run: $(cat "$T/uploads")"
