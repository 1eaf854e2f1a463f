# A database of many small objects on a server with the default max_locks_per_transaction
# (64; this cluster's lock table holds 64 * (max_connections + workers) locks, about 5,200):
# 3,000 tables, each with an identity sequence, a secondary index and 20 rows.  A backup
# that held every table's and every sequence's lock at once (6,000), or a restore that
# created everything in one transaction (about 12,000 locks), fails with "out of shared
# memory"; pgvault reads sequence values in batches whose locks it lets go and restores in
# batched transactions, so both succeed, serially and with --jobs 2, and the copy is the
# same (schema oracle, row counts and a sample of rows).
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
DB=pvt26_many
N=3000
for d in "$DB" "${DB}_r" "${DB}_r2"; do dropdb_q "$d"; done
createdb_q "$DB"
[ "$(q -d "$DB" -c "SHOW max_locks_per_transaction")" = 64 ] || fail "the test needs the default max_locks_per_transaction"
q -d "$DB" -c "DO \$\$ BEGIN
	FOR i IN 1..$N LOOP
		EXECUTE format('CREATE TABLE t%s (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text, n int);'
		               'CREATE INDEX ON t%s (n); INSERT INTO t%s (v, n) SELECT md5(g::text), g FROM generate_series(1, 20) g',
		               i, i, i);
		IF i % 200 = 0 THEN COMMIT; END IF;
	END LOOP;
END \$\$"

pv backup --storage "$T/st" --db "$DB"; expect_rc 0 "backup of $N tables"
ID=$(cat "$T/out")
pv restore --storage "$T/st" "$ID" --as "${DB}_r"; expect_rc 0 "restore of $N tables"
pv backup --storage "$T/st2" --db "$DB" --jobs 2; expect_rc 0 "backup --jobs 2 of $N tables"
pv restore --storage "$T/st2" "$(cat "$T/out")" --as "${DB}_r2" --jobs 2; expect_rc 0 "restore --jobs 2 of $N tables"

oracle_schema "$DB" "$T/src.sql"
for r in "${DB}_r" "${DB}_r2"; do
	oracle_schema "$r" "$T/$r.sql"
	diff -q "$T/src.sql" "$T/$r.sql" >/dev/null || { diff "$T/src.sql" "$T/$r.sql" | head -20 >&2; fail "$r: schema differs"; }
	got=$(q -d "$r" -c "SELECT count(*), sum(n), sum(id) FROM (SELECT * FROM t1 UNION ALL SELECT * FROM t1500 UNION ALL SELECT * FROM t$N) s")
	[ "$got" = "60|630|630" ] || fail "$r: rows of t1, t1500, t$N: $got"
	tables=$(q -d "$r" -c "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")
	[ "$tables" = "$N" ] || fail "$r: $tables tables"
	next=$(q -d "$r" -c "INSERT INTO t$N (v, n) VALUES ('x', 0) RETURNING id")
	[ "$next" = 21 ] || fail "$r: the identity of t$N went on at $next, expected 21"
done
for d in "$DB" "${DB}_r" "${DB}_r2"; do dropdb_q "$d"; done
