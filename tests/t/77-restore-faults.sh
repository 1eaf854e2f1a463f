#!/usr/bin/env bash
# tests/t/77-restore-faults.sh — a restore that fails midway leaves nothing behind, whatever
# stopped it: its session ended by pg_terminate_backend, or the server restarted (pgvault
# reconnects to clean up); roles --create-missing-roles made for it are dropped too.
# SIGKILL of `restore --replace` at PV_KILL_POINTS points (default 12) from 5 % to 100 % of
# its duration: the name always holds a database
# that accepts connections (the old one or the new one, never neither), and the next restore
# drops what the killed ones left.  Uses a private cluster, restarted by the test.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/pg.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
cleanup() { pg_stop "$T/pg2"; }
trap cleanup EXIT
pg_start "$T/pg2" >/dev/null
DB=pvt77
temps() { q -d postgres -c "SELECT datname FROM pg_database WHERE datname LIKE 'pgvault\_restore\_%' ORDER BY 1"; }
role_exists() { [ -n "$(q -d postgres -c "SELECT 1 FROM pg_roles WHERE rolname = 'pvt77_owner'")" ]; }
# wait_copy PID: until the restore of PID is loading rows (its backend pid printed)
wait_copy() {
	local i b
	for ((i = 0; i < 1500; i++)); do
		b=$(q -d postgres -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgvault'
			AND datname LIKE 'pgvault\_restore\_%' AND query LIKE 'COPY %' LIMIT 1")
		[ -n "$b" ] && { echo "$b"; return 0; }
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}

q -d postgres -c "CREATE ROLE pvt77_owner NOLOGIN" >/dev/null
createdb_q "$DB"
q -d "$DB" -c "CREATE TABLE big AS SELECT i AS id, md5(i::text) AS h FROM generate_series(1, 1500000) i;
	ALTER TABLE big OWNER TO pvt77_owner" >/dev/null
PGVAULT_CHUNK_BYTES=1048576 pv backup --storage "$T/st" --db "$DB"; expect_rc 0 backup
ID=$(cat "$T/out")
dropdb_q "$DB"; q -d postgres -c "DROP ROLE pvt77_owner" >/dev/null

# ---- the restoring session terminated
"$PGVAULT" restore --storage "$T/st" "$ID" --as "$DB" --create-missing-roles >"$T/a.out" 2>"$T/a.err" &
pid=$!
b=$(wait_copy "$pid") || { cat "$T/a.err" >&2; fail "restore ended before its session could be ended"; }
role_exists || fail "the restore did not create the missing role"
q -d postgres -c "SELECT pg_terminate_backend($b)" >/dev/null
set +e; wait "$pid"; st=$?; set -e
[ "$st" = 1 ] || { cat "$T/a.err" >&2; fail "restore whose session was terminated: exit $st, expected 1"; }
[ -z "$(temps)" ] || fail "temporary database left after a terminated session: $(temps)"
! db_exists "$DB" || fail "database $DB exists after a failed restore"
! role_exists || fail "role pvt77_owner, created for the failed restore, is still there"
grep -q 'dropped role "pvt77_owner"' "$T/a.err" || fail "the restore did not say it dropped the role"
echo "figure: restore whose session is terminated mid-COPY: 0 databases, 0 roles left"

# ---- the server restarted under the restore
"$PGVAULT" restore --storage "$T/st" "$ID" --as "$DB" --create-missing-roles >"$T/b.out" 2>"$T/b.err" &
pid=$!
wait_copy "$pid" >/dev/null || { cat "$T/b.err" >&2; fail "restore ended before the restart"; }
pg_restart "$T/pg2"
set +e; wait "$pid"; st=$?; set -e
[ "$st" = 1 ] || { cat "$T/b.err" >&2; fail "restore across a server restart: exit $st, expected 1"; }
[ -z "$(temps)" ] || { cat "$T/b.err" >&2; fail "temporary database left after a server restart: $(temps)"; }
! role_exists || fail "role left after a restore the server restart stopped"
echo "figure: restore across a server restart: 0 databases, 0 roles left (reconnected to clean up)"

# ---- SIGKILL of --replace at spread-out points
pv restore --storage "$T/st" "$ID" --as "$DB" --create-missing-roles; expect_rc 0 "the first restore"
q -d "$DB" -c "CREATE TABLE generation (v text); INSERT INTO generation VALUES ('old')" >/dev/null
start=$(date +%s%N)
pv restore --storage "$T/st" "$ID" --replace --drop-old; expect_rc 0 "an uninterrupted --replace"
dur_ms=$(( ($(date +%s%N) - start) / 1000000 ))
q -d "$DB" -c "CREATE TABLE generation (v text); INSERT INTO generation VALUES ('old')" >/dev/null
kills=0 old=0 new=0
N=${PV_KILL_POINTS:-12}
for ((k = 0; k < N; k++)); do
	pct=$((5 + 95 * k / N))
	wait_s=$(awk -v d="$dur_ms" -v p="$pct" 'BEGIN { printf "%.3f", d * p / 100000 }')
	"$PGVAULT" restore --storage "$T/st" "$ID" --replace --drop-old --terminate-connections >"$T/k.out" 2>"$T/k.err" &
	pid=$!
	sleep "$wait_s"
	if kill -9 "$pid" 2>/dev/null; then
		kills=$((kills + 1))
	else # it finished sooner (a less loaded machine): aim the next points at what it took at most
		dur_ms=$(awk -v w="$wait_s" 'BEGIN { printf "%d", w * 900 }')
	fi
	wait "$pid" 2>/dev/null || true
	[ "$(q -d postgres -c "SELECT datallowconn FROM pg_database WHERE datname = '$DB'")" = t ] ||
		fail "after SIGKILL at $pct% of a --replace, $DB is missing or closed to connections"
	if [ "$(q -d "$DB" -c "SELECT to_regclass('generation') IS NOT NULL")" = t ]; then
		old=$((old + 1))
	else
		new=$((new + 1))
		q -d "$DB" -c "CREATE TABLE generation (v text); INSERT INTO generation VALUES ('old')" >/dev/null
	fi
	[ "$(q -d "$DB" -c "SELECT count(*) FROM big")" = 1500000 ] || fail "rows of $DB after a kill at $pct%"
done
echo "figure: SIGKILL of restore --replace at $kills points: the old database under the name $old times, the new one $new times, missing or closed 0 times"
pv restore --storage "$T/st" "$ID" --replace --drop-old; expect_rc 0 "the next --replace"
[ -z "$(temps)" ] || fail "temporary databases the killed restores left are still there: $(temps)"
[ "$(q -d postgres -c "SELECT count(*) FROM pg_database WHERE NOT datallowconn AND datname NOT IN ('template0')")" = 0 ] ||
	fail "a database is left closed to connections"
echo "all good"
