#!/usr/bin/env bash
# tests/t/95-secrets.sh — a known database password (in the configuration file) and a
# notification URL holding a token are never shown: grepped for in the command lines of
# every process (what `ps` shows, from /proc) sampled while pgvault
# runs, in the stdout and stderr of every command (successes and failures), in every
# file of the storage (bundles with their members decompressed, sidecars), in the metrics
# file and in the notification bodies a real HTTP listener received.  Roles in a bundle carry
# no password hash.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

DB=pvt95_secret NEW=pvt95_copy
PW='Kn0wn-Pa55-95xq'
TOKEN='t0ken-95-zz'
ST="$T/st"
listener=""
cleanup() {
	[ -n "$listener" ] && kill "$listener" 2>/dev/null || true
	dropdb_q "$DB" >/dev/null 2>&1 || true
	dropdb_q "$NEW" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
q -d postgres -c "DO \$\$BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pv_pwuser') THEN
		CREATE ROLE pv_pwuser LOGIN CREATEDB PASSWORD '$PW';
	ELSE
		ALTER ROLE pv_pwuser LOGIN CREATEDB PASSWORD '$PW';
	END IF;
END\$\$"
createdb_q "$DB"
q -d postgres -c "ALTER DATABASE $DB OWNER TO pv_pwuser"
q -d "$DB" -c "SET ROLE pv_pwuser; CREATE TABLE t (a int, b text); INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 20000) i"

# a listener that records every notification body
cat >"$T/listener.py" <<'PY'
import http.server, os, sys
log, portfile = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        with open(log, "ab") as f:
            f.write(self.rfile.read(n) + b"\n")
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(portfile + ".tmp", "w").write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
PY
: >"$T/bodies"
python3 "$T/listener.py" "$T/bodies" "$T/port" &
listener=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || fail "the HTTP listener did not start"

conf() { # FILE PASSWORD
	cat >"$1" <<CONF
[connection]
host = 127.0.0.1
port = $PGPORT
user = pv_pwuser
password = $2
[storage]
dir = $ST
[notify]
url = http://127.0.0.1:$(cat "$T/port")/hook/$TOKEN
on_success = yes
metrics_file = $T/metrics.prom
CONF
	chmod 600 "$1"
}
conf "$T/good.conf" "$PW"
conf "$T/bad.conf" "wrong-$PW"
unset PGPASSWORD
export PGPASSFILE="$T/no-such-pgpass"

n=0
run() { # run NAME ARGS...: pgvault with its output kept for the grep
	shift
	n=$((n + 1))
	set +e
	"$PGVAULT" "$@" >"$T/run$n.out" 2>"$T/run$n.err"
	rc=$?
	set -e
}
# samples of every process's command line while a backup runs (what ps shows, read from
# /proc: a fresh Debian has no procps); a session holding the table for 3 s keeps the backup
# running long enough to be seen
q -d "$DB" -c "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT" >/dev/null &
holder=$!
sleep 0.5
( for _ in $(seq 200); do
	for c in /proc/[0-9]*/cmdline; do { tr '\0' ' ' <"$c"; } 2>/dev/null || true; echo; done >>"$T/ps"
	sleep 0.02
done ) &
sampler=$!
run backup --config "$T/good.conf" backup --db "$DB"
[ "$rc" = 0 ] || { cat "$T/run$n.err" >&2; fail "backup: exit $rc"; }
ID=$(head -1 "$T/run$n.out")
wait "$sampler"
wait "$holder"
grep -q -- "backup --db $DB" "$T/ps" || fail "the samples never caught the running backup"
run list --config "$T/good.conf" list --json
run status --config "$T/good.conf" status
run verify --config "$T/good.conf" verify "$ID"
run restore --config "$T/good.conf" restore "$ID" --as "$NEW" --verbose
[ "$rc" = 0 ] || { cat "$T/run$n.err" >&2; fail "restore: exit $rc"; }
run backup-fails --config "$T/bad.conf" backup --db "$DB" --verbose
[ "$rc" != 0 ] || fail "a backup with a wrong password succeeded"
grep -q "password" "$T/run$n.err" || { cat "$T/run$n.err" >&2; fail "the failure does not say it is the password"; }
run restore-fails --config "$T/bad.conf" restore "$ID" --as "${NEW}2"
[ "$rc" != 0 ] || fail "a restore with a wrong password succeeded"
for _ in $(seq 50); do [ "$(grep -c . "$T/bodies")" -ge 2 ] && break; sleep 0.1; done
[ "$(grep -c . "$T/bodies")" -ge 2 ] || fail "no notification arrived"

# everything pgvault wrote or said, bundles decompressed member by member
mkdir "$T/members"
for b in "$ST"/*/*.pgv; do
	tar -xf "$b" -C "$T/members"
done
find "$T/members" -name '*.zst' -exec zstd -q -d --rm {} \;
files=$(find "$T"/run*.out "$T"/run*.err "$T/ps" "$T/bodies" "$T/metrics.prom" "$ST" "$T/members" -type f | wc -l)
hits=$(grep -rlaF -e "$PW" -e "$TOKEN" "$T"/run*.out "$T"/run*.err "$T/ps" "$T/bodies" "$T/metrics.prom" "$ST" "$T/members" || true)
[ -z "$hits" ] || fail "a secret appears in: $hits"
! grep -rqa 'SCRAM-SHA-256\$\|md5[0-9a-f]\{32\}' "$T/members/roles.json" || fail "roles.json holds a password hash"
echo "figure: secrets: a known password (configuration file) and a notification URL token: 0 occurrences in $files files ($n runs' stdout and stderr, two of them failures; $(wc -l <"$T/ps") process command lines sampled during a backup; bundle members decompressed, sidecars, metrics, $(grep -c . "$T/bodies") notification bodies); no password hash in roles.json"
