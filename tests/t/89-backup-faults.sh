#!/usr/bin/env bash
# tests/t/89-backup-faults.sh — the server fails under a backup of several databases: the
# backend of one database's COPY ended with pg_terminate_backend, then the whole server
# restarted mid-COPY.  With [backup] retries = 0, the database that was hit fails with a
# clear message and no bundle of it counts; the others are backed up (after reconnecting);
# exit 3; no temporary file stays.  With retries (the default 2), the database hit by the
# restart is backed up again from the start once the server is back: exit 0.
# Uses a private cluster, restarted by the test.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/pg.sh"
cleanup() { pg_stop "$T/pg2"; }
trap cleanup EXIT
pg_start "$T/pg2" >/dev/null
for d in pvt89_a pvt89_big pvt89_z; do createdb_q "$d"; done
q -d pvt89_a -c "CREATE TABLE t AS SELECT i FROM generate_series(1, 1000) i" >/dev/null
q -d pvt89_z -c "CREATE TABLE t AS SELECT i FROM generate_series(1, 1000) i" >/dev/null
q -d pvt89_big -c "CREATE TABLE big AS SELECT i, md5(i::text) AS h FROM generate_series(1, 3000000) i" >/dev/null
printf '[connection]\nretries = 5\nretry_delay = 1s\n[backup]\nretries = 0\n' >"$T/c.conf"; chmod 600 "$T/c.conf"
printf '[connection]\nretries = 5\nretry_delay = 1s\n' >"$T/r.conf"; chmod 600 "$T/r.conf"
wait_copy() { # PID: the backend pid of the backup's COPY of pvt89_big
	local i b
	for ((i = 0; i < 1500; i++)); do
		b=$(q -d postgres -c "SELECT pid FROM pg_stat_activity WHERE datname = 'pvt89_big' AND query LIKE 'COPY %' LIMIT 1")
		[ -n "$b" ] && { echo "$b"; return 0; }
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}
check_run() { # WHAT EXIT-STATUS STDERR-FILE
	[ "$2" = 3 ] || { cat "$3" >&2; fail "$1: exit $2, expected 3"; }
	grep -q 'database "pvt89_big"' "$3" || { cat "$3" >&2; fail "$1: the failure does not name the database"; }
	[ -z "$(find "$T/st" -path '*pvt89_big*' -name '*.pgv')" ] || fail "$1: a bundle of the failed database"
	[ -z "$(find "$T/st" -name '.*.tmp.*')" ] || fail "$1: temporary files left: $(find "$T/st" -name '.*.tmp.*')"
	for d in pvt89_a pvt89_z; do
		pv --config "$T/c.conf" verify --storage "$T/st" "$d@latest"; expect_rc 0 "$1: $d backed up and verified"
	done
}

"$PGVAULT" --config "$T/c.conf" backup --storage "$T/st" --db pvt89_a --db pvt89_big --db pvt89_z >"$T/a.out" 2>"$T/a.err" &
pid=$!
b=$(wait_copy "$pid") || { cat "$T/a.err" >&2; fail "the backup ended before its COPY could be hit"; }
q -d postgres -c "SELECT pg_terminate_backend($b)" >/dev/null
set +e; wait "$pid"; st=$?; set -e
check_run "backend terminated" "$st" "$T/a.err"
echo "figure: backend of one database's COPY terminated: exit 3, that database failed, the 2 others backed up and verified, 0 temporary files"

rm -rf "$T/st"
"$PGVAULT" --config "$T/c.conf" backup --storage "$T/st" --db pvt89_a --db pvt89_big --db pvt89_z >"$T/b.out" 2>"$T/b.err" &
pid=$!
wait_copy "$pid" >/dev/null || { cat "$T/b.err" >&2; fail "the backup ended before the restart"; }
pg_restart "$T/pg2"
set +e; wait "$pid"; st=$?; set -e
check_run "server restart" "$st" "$T/b.err"
echo "figure: server restarted during one database's COPY: exit 3, that database failed, the next one backed up after reconnecting, 0 temporary files"

# the same restart with the default [backup] retries: that database starts again
rm -rf "$T/st"
"$PGVAULT" --config "$T/r.conf" backup --storage "$T/st" --db pvt89_a --db pvt89_big --db pvt89_z >"$T/c.out" 2>"$T/c.err" &
pid=$!
wait_copy "$pid" >/dev/null || { cat "$T/c.err" >&2; fail "the backup ended before the restart (with retries)"; }
pg_restart "$T/pg2"
set +e; wait "$pid"; st=$?; set -e
[ "$st" = 0 ] || { cat "$T/c.err" >&2; fail "server restart with retries: exit $st, expected 0"; }
tr '\n' ' ' <"$T/c.err" | grep -q 'database "pvt89_big": [^;]*; backing the database up again from the start (attempt 2 of 3)' ||
	{ cat "$T/c.err" >&2; fail "server restart with retries: no second attempt logged"; }
[ "$(find "$T/st" -path '*pvt89_big*' -name '*.pgv' | wc -l)" = 1 ] || fail "server restart with retries: not exactly one bundle of pvt89_big"
[ -z "$(find "$T/st" -name '.*.tmp.*')" ] || fail "server restart with retries: temporary files left"
for d in pvt89_a pvt89_big pvt89_z; do
	pv --config "$T/r.conf" verify --storage "$T/st" "$d@latest"; expect_rc 0 "server restart with retries: $d backed up and verified"
done
echo "figure: server restarted during one database's COPY, [backup] retries = 2: that database backed up again from the start, exit 0"
echo "all good"
