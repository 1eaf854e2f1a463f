#!/usr/bin/env bash
# tests/t/33-standby.sh — backups from a hot standby, restores only to the primary.  A
# primary and a streaming standby (pg_basebackup -R, tests/lib/cluster.sh), and a connection
# listing both, standby first:
#   1. backup --jobs 2 with source = standby reads the standby only (pg_stat_activity of both
#      servers sampled during the run; the bundle records the standby, its timeline and
#      WAL position); the restore, given the same two hosts, lands on the primary and equals
#      the source (schema and data oracles, writes paused); given the standby alone it is
#      refused, saying the server is a standby; max_standby_lag; prefer-standby.
#   2. one snapshot under concurrent writes: a writer moves money between accounts and
#      appends to two ledgers while backup --jobs 2 (big tables in block ranges) reads, from
#      the primary and from the standby; every restored copy keeps the total and equal
#      ledgers.
#   3. a forced recovery conflict (hot_standby_feedback = off, max_standby_streaming_delay =
#      0, a VACUUM on the primary removing rows the backup's snapshot still sees): the
#      message names the conflict and both settings; with [backup] retries the database is
#      backed up again from the start and succeeds; without, the run fails cleanly; no
#      bundle of a failed attempt is listed.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
. "$TOP_SRCDIR/tests/lib/cluster.sh"
. "$TOP_SRCDIR/tests/lib/money.sh"

cleanup() {
	money_writer_stop 2>/dev/null || true
	cluster_stop "$T/s"
	cluster_stop "$T/p"
}
trap cleanup EXIT

cluster_primary "$T/p" >/dev/null
P=$CL_PRIMARY_PORT PS=$CL_PRIMARY_SOCK
cluster_standby "$T/p" "$T/s" >/dev/null
S=$CL_STANDBY_PORT SS=$CL_STANDBY_SOCK
export PGHOST=$PS PGPORT=$P # the test's own queries and the oracles: the primary
onstandby() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$SS" -p "$S" -U postgres "$@"; }

cat >"$T/c.conf" <<CONF
[connection]
host = $SS,$PS
port = $S,$P
[backup]
source = standby
jobs = 2
CONF
chmod 600 "$T/c.conf"
pvc() { pv --config "$T/c.conf" "$@"; }

DB=pvt33_app
createdb_q "$DB"
load_fixture "$DB" "$TOP_SRCDIR/tests/fixtures/objects.sql"
money_setup "$DB"
q -d "$DB" -c "CREATE TABLE app.bulk AS SELECT i AS id, md5(i::text) AS h FROM generate_series(1, 30000) i" \
	-c "VACUUM ANALYZE"
cluster_wait_replay "$P" "$S"

# ---- 1. the standby is read, the primary is restored into -----------------------------------
sample() { # PORT: pgvault's sessions there now
	psql -X -At -h 127.0.0.1 -p "$1" -U postgres -d postgres \
		-c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgvault'" 2>/dev/null || echo 0
}
PGVAULT_TEST_PAUSE=2 "$PGVAULT" --config "$T/c.conf" -v backup --storage "$T/st" --db "$DB" >"$T/b.out" 2>"$T/b.err" &
bk=$!
: >"$T/s.samples"; : >"$T/p.samples"
while kill -0 "$bk" 2>/dev/null; do
	sample "$S" >>"$T/s.samples"
	sample "$P" >>"$T/p.samples"
	sleep 0.05
done
set +e; wait "$bk"; st=$?; set -e
[ "$st" = 0 ] || { cat "$T/b.err" >&2; fail "backup with source = standby: exit $st"; }
ID=$(cat "$T/b.out")
[ "$(sort -n "$T/s.samples" | tail -1)" -ge 1 ] || fail "no pgvault session was seen on the standby: $(tr '\n' ' ' <"$T/s.samples")"
[ "$(sort -n "$T/p.samples" | tail -1)" = 0 ] || fail "pgvault sessions were seen on the primary: $(tr '\n' ' ' <"$T/p.samples")"
grep -q "pieces of table data on 2 sessions" "$T/b.err" || { cat "$T/b.err" >&2; fail "the backup did not read on 2 sessions"; }
echo "figure: backup --jobs 2, source = standby: pgvault sessions sampled $(wc -l <"$T/s.samples") times: up to $(sort -n "$T/s.samples" | tail -1) on the standby, 0 on the primary"
pvc list --storage "$T/st" --db "$DB" --json; expect_rc 0 "list --json"
python3 - "$T/out" "$S" <<'PY' || fail "list --json does not record the standby as the source"
import json, sys
src = json.load(open(sys.argv[1]))[0]["source"]
assert src["role"] == "standby", src
assert src["port"] == sys.argv[2], src
assert src["timeline"] == 1 and src["lsn"].count("/") == 1, src
assert src["replay_lag_seconds"] >= 0, src
print("figure: list --json source: " + json.dumps(src, sort_keys=True))
PY
sed -n 's/^figure/figure/p' "$T/out"

# a standby has no rows of unlogged tables and no values of unlogged sequences: said, and
# left out (the fixture has both)
grep -qF 'unlogged table "app"."cache": its rows are not in the bundle' "$T/b.err" || { cat "$T/b.err" >&2; fail "no warning about the unlogged table"; }
grep -qF 'unlogged sequence "app"."ident_unlogged_seq_a_seq": its value is not in the bundle' "$T/b.err" || { cat "$T/b.err" >&2; fail "no warning about the unlogged sequence"; }
pvc restore --storage "$T/st" "$ID" --as "${DB}_r"; expect_rc 0 "restore given the standby, then the primary"
db_exists "${DB}_r" || fail "the restore did not land on the primary"
# the source as the standby saw it: no rows in its unlogged table, the unlogged sequence unset
q -d "$DB" -c "TRUNCATE app.cache" -c "SELECT setval('app.ident_unlogged_seq_a_seq', 1, false)" >/dev/null
# (a sequence read on a standby is where its last WAL record put it: up to 32 increments
# ahead of the primary's value, never behind, as after a failover; the rest must be equal)
oracle_snapshot "$DB" "$T/o/src"
oracle_snapshot "${DB}_r" "$T/o/dst"
q -d "$DB" -c "SELECT schemaname || '.' || sequencename, increment_by FROM pg_sequences" >"$T/o/increments"
python3 - "$T/o/src/data/sequences" "$T/o/dst/data/sequences" "$T/o/increments" <<'PY' || fail "sequences restored behind their source's values"
import sys
inc = dict(l.split("|") for l in open(sys.argv[3]).read().split("\n") if l)
src = dict(l.rsplit("|", 2)[0:1] + [l.rsplit("|", 2)[1:]] for l in open(sys.argv[1]).read().split("\n") if l)
dst = dict(l.rsplit("|", 2)[0:1] + [l.rsplit("|", 2)[1:]] for l in open(sys.argv[2]).read().split("\n") if l)
assert src.keys() == dst.keys(), (src.keys() ^ dst.keys())
for k, (v, called) in src.items():
    dv, dcalled = dst[k]
    ahead = (int(dv) - int(v)) * (1 if int(inc[k]) > 0 else -1)
    assert ahead >= 0 and (called == "f" or dcalled == "t"), (k, src[k], dst[k])
PY
: >"$T/o/src/data/sequences"; : >"$T/o/dst/data/sequences"
oracle_diff "$T/o/src" "$T/o/dst" || fail "the standby's bundle does not restore equal to the primary's database"
pv -h "$SS" -p "$S" restore --storage "$T/st" "$ID" --as "${DB}_r2"; expect_rc 1 "restore given the standby alone"
expect_err "standby (in recovery: read-only)"
expect_err "target_session_attrs=read-write"
db_exists "${DB}_r2" && fail "a restore created a database although it was refused"
echo "figure: restore given the standby alone: $(grep -o 'no server of the kind needed.*' "$T/err" | head -1)"
dropdb_q "${DB}_r"

# a lagging standby: replay paused, a write on the primary, the lag grows past the limit
onstandby -c "SELECT pg_wal_replay_pause()"
q -d "$DB" -c "CREATE TABLE app.lag_mark AS SELECT 1 AS x"
sleep 2.2
printf '[backup]\nmax_standby_lag = 1s\n' >>"$T/c.conf"
pvc backup --storage "$T/st" --db "$DB"; expect_rc 1 "backup from a standby 2 s behind, max_standby_lag = 1s"
grep -Eq "the standby .* port $S is [0-9]+ s behind its primary \(max_standby_lag 1 s\)" "$T/err" || { cat "$T/err" >&2; fail "the lag's refusal does not say how far behind the standby is"; }
pvc backup --storage "$T/st" --db "$DB" --source prefer-standby; expect_rc 0 "prefer-standby with a lagging standby"
expect_err "reading the primary instead"
pvc list --storage "$T/st" --db "$DB" --json
python3 -c 'import json,sys; l=json.load(open(sys.argv[1])); assert l[-1]["source"]["role"] == "primary", l[-1]' "$T/out" ||
	fail "prefer-standby: the newest bundle was not read from the primary"
onstandby -c "SELECT pg_wal_replay_resume()"
sed -i '/^max_standby_lag/d' "$T/c.conf"
cluster_wait_replay "$P" "$S"

# ---- 2. one snapshot under concurrent writes, on the primary and on the standby -------------
money_writer_start "$DB"
for src in primary standby; do
	if [ "$src" = primary ]; then count() { q -d "$DB" -c "SELECT count(*) FROM app.ledger_a"; }
	else count() { onstandby -d "$DB" -c "SELECT count(*) FROM app.ledger_a"; }; fi
	before=$(count)
	PGVAULT_RANGE_BLOCKS=2 pvc -v backup --storage "$T/st" --db "$DB" --source "$src"; expect_rc 0 "backup --jobs 2 from the $src under writes"
	grep -q "on 2 sessions" "$T/err" || { cat "$T/err" >&2; fail "$src: not read on 2 sessions"; }
	id=$(grep -v ' pgvault: ' "$T/out")
	after=$(count)
	[ "$after" -gt "$before" ] || fail "$src: the writer did not write during the backup ($before, $after)"
	pvc list --storage "$T/st" --db "$DB" --json
	python3 -c 'import json,sys; l=[b for b in json.load(open(sys.argv[1])) if b["id"] == sys.argv[2]]; assert l[0]["source"]["role"] == sys.argv[3], l' \
		"$T/out" "$id" "$src" || fail "$src: the bundle does not record its source as $src"
	pvc restore --storage "$T/st" "$id" --as "${DB}_w"; expect_rc 0 "restore of the backup from the $src"
	money_check "${DB}_w" "$src"
	[ "$MONEY_ROWS" -ge "$before" ] && [ "$MONEY_ROWS" -le "$after" ] || fail "$src: restored ledgers of $MONEY_ROWS rows, not between $before and $after"
	echo "figure: backup --jobs 2 from the $src under writes: ledgers $before..$after during it, restored $MONEY_ROWS and $MONEY_ROWS, total 400000"
	dropdb_q "${DB}_w"
done
money_writer_stop

# ---- 3. a recovery conflict -----------------------------------------------------------------
q -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null
onstandby -c "ALTER SYSTEM SET hot_standby_feedback = off" -c "ALTER SYSTEM SET max_standby_streaming_delay = 0" \
	-c "SELECT pg_reload_conf()" >/dev/null
# (nothing else left to prune or vacuum on the primary: no other conflict than the test's)
q -d "$DB" -c "CREATE TABLE app.victim AS SELECT i FROM generate_series(1, 20000) i" -c "VACUUM" -c "CHECKPOINT"
cluster_wait_replay "$P" "$S"
bundles() { find "$T/st" -name '*.pgv' | wc -l; }
# conflict RETRIES: a backup held in its snapshot on the standby (the test pause) while the
# primary deletes and vacuums rows of app.victim; exit status into $st
conflict() {
	printf '[backup]\nretries = %s\n' "$1" >"$T/r.conf"
	cat "$T/c.conf" "$T/r.conf" >"$T/cr.conf"; chmod 600 "$T/cr.conf"
	PGVAULT_TEST_PAUSE=3 "$PGVAULT" --config "$T/cr.conf" -v backup --storage "$T/st" --db "$DB" >"$T/k.out" 2>"$T/k.err" &
	local b=$! n=0
	until [ "$(onstandby -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgvault' AND state = 'idle in transaction'")" -ge 1 ]; do
		n=$((n + 1)); [ "$n" -lt 200 ] || { cat "$T/k.err" >&2; fail "the backup never held its snapshot on the standby"; }
		sleep 0.05
	done
	q -d "$DB" -c "DELETE FROM app.victim WHERE i % 2 = $2" -c "VACUUM app.victim" >/dev/null
	set +e; wait "$b"; st=$?; set -e
}
n0=$(bundles)
conflict 0 0
[ "$st" = 1 ] || { cat "$T/k.err" >&2; fail "recovery conflict without retries: exit $st, expected 1"; }
for w in "recovery conflict on the standby" "port $S" "hot_standby_feedback = on (now off)" "max_standby_streaming_delay (now 0)" "source = primary"; do
	grep -qF "$w" "$T/k.err" || { cat "$T/k.err" >&2; fail "the conflict's message does not say: $w"; }
done
[ "$(bundles)" = "$n0" ] || fail "a failed attempt left a bundle"
[ -z "$(find "$T/st" -name '.*.tmp.*')" ] || fail "a failed attempt left temporary files"
echo "figure: recovery conflict, no retries: exit 1: $(grep -o 'recovery conflict on the standby.*' "$T/k.err" | head -c 300)"
conflict 1 1
[ "$st" = 0 ] || { cat "$T/k.err" >&2; fail "recovery conflict with retries = 1: exit $st, expected 0"; }
grep -q "backing the database up again from the start (attempt 2 of 2)" "$T/k.err" || { cat "$T/k.err" >&2; fail "no second attempt after the conflict"; }
grep -qF "recovery conflict on the standby" "$T/k.err" || { cat "$T/k.err" >&2; fail "the first attempt's conflict was not named"; }
[ "$(bundles)" = "$((n0 + 1))" ] || fail "retried backup: $(($(bundles) - n0)) new bundles, expected 1"
pvc restore --storage "$T/st" "$(cat "$T/k.out")" --as "${DB}_k"; expect_rc 0 "restore of the retried backup"
[ "$(q -d "${DB}_k" -c "SELECT count(*) FROM app.victim")" = 0 ] || fail "the retried backup does not hold the rows of its own (new) snapshot"
echo "figure: recovery conflict, retries = 1: the second attempt backed up the database in a new snapshot, 1 bundle"
dropdb_q "${DB}_k"
echo "all good"
