# backup --jobs N: the tables read on N sessions of one snapshot, big tables cut into block
# ranges (PGVAULT_RANGE_BLOCKS makes the ranges tiny here, so small tables are cut too).
#  1. the bundle restores identical to the source (schema and data oracles), and identical
#     to a --jobs 1 backup's restore; a table's members come from several ranges;
#  2. one snapshot for every session: a writer moves money between accounts and appends to
#     two ledgers in each of its transactions while the backup runs; the restored total is
#     the constant one and the two ledgers have as many rows, although the writer committed
#     during the backup (the restored ledger is shorter than the final one);
#     a table another session waits to lock exclusively is left by the workers (NOWAIT) to
#     the first session, which holds its lock: the backup neither waits nor fails;
#  3. several databases at once (--jobs 2 over two databases): both bundles, both restore;
#  4. --jobs 0 and [backup] jobs out of range are usage errors;
#  5. --compress-level: level 19 makes a smaller bundle than the default (level 1) that
#     restores identical; [backup] compress_level sets it; 0 and 20 are usage errors;
#  6. small tables are read in batches (one query of many COPY statements): a COPY that fails
#     in the middle of a batch (row-level security forced on its table, read by its owner)
#     fails the backup with that table's name, with --jobs 1 and 2, and leaves no bundle;
#     without it, the 40 tables restore identical.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
. "$TOP_SRCDIR/tests/lib/money.sh"
DB=pvt25_jobs
DB2=pvt25_other
for d in "$DB" "${DB}_r" "${DB}_r1" "$DB2" "${DB2}_r"; do dropdb_q "$d"; done
createdb_q "$DB"
load_fixture "$DB" "$TOP_SRCDIR/tests/fixtures/objects.sql"
q -d "$DB" -c "CREATE TABLE app.bulk AS SELECT i AS id, md5(i::text) AS h, repeat('x', i % 300) AS pad FROM generate_series(1, 40000) i" \
          -c "ALTER TABLE app.bulk ADD PRIMARY KEY (id)" -c "CREATE INDEX ON app.bulk (h)" \
          -c "VACUUM ANALYZE"
money_setup "$DB"

# 1. identical restore, ranges
PGVAULT_RANGE_BLOCKS=8 pv -v backup --storage "$T/st" --db "$DB" --jobs 3; expect_rc 0 "backup --jobs 3"
ID=$(cat "$T/out")
grep -Eq "pieces of table data on 3 sessions" "$T/err" || { cat "$T/err" >&2; fail "backup --jobs 3 did not read on 3 sessions"; }
bulk=$(q -d "$DB" -c "SELECT pg_relation_size('app.bulk') / 8192")
[ "$bulk" -ge 32 ] || fail "app.bulk has only $bulk blocks: too small to be cut into ranges"
members=$(tar tf "$(bundle_file "$T/st" "$ID")" | grep -c '^data/') || true
tables=$(q -d "$DB" -c "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
[ "$members" -gt "$((tables + 3))" ] || fail "expected the big tables in several members, got $members for $tables tables"
pv verify --storage "$T/st" "$ID"; expect_rc 0 "verify of a parallel backup"
pv restore --storage "$T/st" "$ID" --as "${DB}_r" --jobs 2; expect_rc 0 "restore of a parallel backup"
oracle_compare "$DB" "${DB}_r" || fail "the parallel backup does not restore identical"
pv backup --storage "$T/st1" --db "$DB" --jobs 1; expect_rc 0 "backup --jobs 1"
pv restore --storage "$T/st1" "$(cat "$T/out")" --as "${DB}_r1"; expect_rc 0 "restore of a serial backup"
oracle_compare "${DB}_r1" "${DB}_r" || fail "parallel and serial backups restore differently"
dropdb_q "${DB}_r"

# 2. one snapshot under concurrent writes
money_writer_start "$DB"
trap money_writer_stop EXIT
before=$(q -d "$DB" -c "SELECT count(*) FROM app.ledger_a")
[ "$before" -ge 300 ] || fail "the writer did not get going ($before transactions)"
for round in 1 2 3; do
	PGVAULT_RANGE_BLOCKS=2 pv -v backup --storage "$T/st" --db "$DB" --jobs 3; expect_rc 0 "backup --jobs 3 under writes ($round)"
	grep -q "on 3 sessions" "$T/err" || { cat "$T/err" >&2; fail "not read on 3 sessions ($round)"; }
	id=$(cat "$T/out")
	sleep 0.3
	pv restore --storage "$T/st" "$id" --as "${DB}_r"; expect_rc 0 "restore under writes ($round)"
	money_check "${DB}_r" "round $round"
	na=$MONEY_ROWS
	now=$(q -d "$DB" -c "SELECT count(*) FROM app.ledger_a")
	[ "$na" -ge "$before" ] && [ "$na" -lt "$now" ] || fail "round $round: restored ledger of $na rows, not between $before and $now: the writer did not write during the backup"
	dropdb_q "${DB}_r"
	before=$now
done
money_writer_stop
trap - EXIT

# 2b. a table someone waits to lock exclusively: a worker cannot lock it (NOWAIT) and leaves
# it to the first session, which holds its lock; the backup neither waits nor fails
q -d "$DB" -c "CREATE TABLE app.contended AS SELECT i AS id, md5(i::text) AS h FROM generate_series(1, 2000) i"
PGVAULT_TEST_PAUSE=4 PGVAULT_RANGE_BLOCKS=2 "$PGVAULT" -v backup --storage "$T/st" --db "$DB" --jobs 3 >"$T/c.out" 2>"$T/c.err" &
bk=$!
for _ in $(seq 50); do # until the backup holds its locks
	[ "$(q -d "$DB" -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'contended' AND l.granted")" -ge 1 ] && break
	sleep 0.1
done
q -d "$DB" -c "SET lock_timeout = '20s'; BEGIN; LOCK TABLE app.contended IN ACCESS EXCLUSIVE MODE; COMMIT" >"$T/locker.out" 2>&1 &
locker=$!
wait "$bk" || { cat "$T/c.err" >&2; fail "backup with a lock request queued on a table failed"; }
wait "$locker" || { cat "$T/locker.out" >&2; fail "the exclusive lock was never granted"; }
grep -q 'app"."contended": another session waits for a lock on it' "$T/c.err" || grep -q 'contended.*another session waits' "$T/c.err" || { cat "$T/c.err" >&2; fail "no worker left the contended table to the first session"; }
pv restore --storage "$T/st" "$(cat "$T/c.out")" --as "${DB}_r"; expect_rc 0 "restore of the backup with a contended table"
[ "$(q -d "${DB}_r" -c "SELECT count(*), sum(id) FROM app.contended")" = "2000|2001000" ] || fail "app.contended restored wrong"
dropdb_q "${DB}_r"

# 3. several databases at once
createdb_q "$DB2"
q -d "$DB2" -c "CREATE TABLE t (id int PRIMARY KEY, v text)" -c "INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 5000) i"
pv -v backup --storage "$T/st2" --db "$DB" --db "$DB2" --jobs 2; expect_rc 0 "backup --jobs 2 of two databases"
[ "$(wc -l <"$T/out")" = 2 ] || fail "expected two bundle ids, got: $(cat "$T/out")"
id2=$(grep "^${DB2}_" "$T/out")
pv restore --storage "$T/st2" "$id2" --as "${DB2}_r"; expect_rc 0 "restore of the second database"
oracle_compare "$DB2" "${DB2}_r" || fail "the second database does not restore identical"

# 4. usage
pv backup --storage "$T/st" --db "$DB" --jobs 0; expect_rc 2 "--jobs 0"
printf '[backup]\njobs = 65\n' >"$T/bad.conf"
pv --config "$T/bad.conf" backup --storage "$T/st" --db "$DB"; expect_rc 2 "[backup] jobs = 65"

# 5. compression level
pv backup --storage "$T/lv" --db "$DB2"; expect_rc 0 "backup at the default level"
b1=$(bundle_file "$T/lv" "$(cat "$T/out")")
printf '[backup]\ncompress_level = 19\n' >"$T/l19.conf"
pv --config "$T/l19.conf" backup --storage "$T/lv" --db "$DB2"; expect_rc 0 "backup at [backup] compress_level = 19"
id19=$(cat "$T/out")
b19=$(bundle_file "$T/lv" "$id19")
s1=$(tar xOf "$b1" --wildcards 'data/*' | wc -c); s19=$(tar xOf "$b19" --wildcards 'data/*' | wc -c)
[ "$s19" -lt "$s1" ] || fail "level 19's data members ($s19 bytes) are not smaller than level 1's ($s1)"
dropdb_q "${DB2}_r"
pv restore --storage "$T/lv" "$id19" --as "${DB2}_r"; expect_rc 0 "restore of the level 19 bundle"
oracle_compare "$DB2" "${DB2}_r" || fail "the level 19 bundle does not restore identical"
pv backup --storage "$T/lv" --db "$DB2" --compress-level 20; expect_rc 2 "--compress-level 20"
printf '[backup]\ncompress_level = 0\n' >"$T/l0.conf"
pv --config "$T/l0.conf" backup --storage "$T/lv" --db "$DB2"; expect_rc 2 "[backup] compress_level = 0"
echo "figure: data members of a 5,000-row table: $s1 bytes at level 1 (the default), $s19 at level 19"

# 6. batches
DB3=pvt25_batch
for d in "$DB3" "${DB3}_r"; do dropdb_q "$d"; done
q -d postgres -c "DROP ROLE IF EXISTS pvt25_owner" -c "CREATE ROLE pvt25_owner LOGIN"
q -d postgres -c "CREATE DATABASE $DB3 OWNER pvt25_owner"
q -d "$DB3" -c "SET ROLE pvt25_owner" -c "DO \$\$ BEGIN FOR i IN 1..40 LOOP
	EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v text); INSERT INTO t%s SELECT g, md5(g::text) FROM generate_series(1, %s) g', i, i, i);
END LOOP; END \$\$" \
	-c "ALTER TABLE t20 ENABLE ROW LEVEL SECURITY" -c "ALTER TABLE t20 FORCE ROW LEVEL SECURITY" \
	-c "CREATE POLICY p ON t20 USING (id > 1)"
for j in 1 2; do
	PGUSER=pvt25_owner pv backup --storage "$T/bt" --db "$DB3" --jobs "$j"; expect_rc 1 "backup --jobs $j of a table whose COPY fails"
	grep -q 'table "public"."t20": ERROR:  query would be affected by row-level security' "$T/err" ||
		{ cat "$T/err" >&2; fail "--jobs $j: the message does not name t20 and its error"; }
done
pv list --storage "$T/bt" --db "$DB3"
[ "$(grep -c "${DB3}_" "$T/out")" = 0 ] || fail "a failed backup left a bundle: $(cat "$T/out")"
q -d "$DB3" -c "ALTER TABLE t20 NO FORCE ROW LEVEL SECURITY"
PGUSER=pvt25_owner pv backup --storage "$T/bt" --db "$DB3" --jobs 2; expect_rc 0 "backup --jobs 2 of 40 small tables"
pv restore --storage "$T/bt" "$(cat "$T/out")" --as "${DB3}_r"; expect_rc 0 "restore of 40 small tables"
oracle_compare "$DB3" "${DB3}_r" || fail "40 small tables read in batches do not restore identical"
for d in "$DB3" "${DB3}_r"; do dropdb_q "$d"; done
q -d postgres -c "DROP ROLE pvt25_owner"

for d in "$DB" "${DB}_r" "${DB}_r1" "$DB2" "${DB2}_r"; do dropdb_q "$d"; done
