# A database of many small objects on a server with the default max_locks_per_transaction
# (64; this cluster's lock table holds 64 * (max_connections + workers) locks, about 5,200):
# 3,000 tables, each with an identity sequence, a secondary index and 20 rows.  A backup
# that held every table's and every sequence's lock at once (6,000), or a restore that
# created everything in one transaction (about 12,000 locks), fails with "out of shared
# memory"; pgvault reads sequence values in batches whose locks it lets go and restores in
# batched transactions, so both succeed, serially and with --jobs 2, and the copy is the
# same (schema oracle, row counts and a sample of rows).
# Sequence values: 300 more sequences, a third never called, a third set by
# setval(..., false) (pg_sequence_last_value() answers NULL for both, and the value is read
# from the sequence itself), a third called; and the same three states in a small database,
# whose few sequences are read on the backup's own session instead of a second one.  Every
# restored sequence has its source's last_value and is_called, and is OWNED BY its table's
# column (the schema oracle).
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

SEQS="DO \$\$ BEGIN
	FOR i IN 1..%s LOOP
		EXECUTE format('CREATE SEQUENCE s%%s START %%s', i, i * 3);
		IF i %% 3 = 1 THEN PERFORM setval(format('s%%s', i), i * 5, false);
		ELSIF i %% 3 = 2 THEN PERFORM setval(format('s%%s', i), i * 7); END IF;
	END LOOP;
END \$\$"
# seqstate DB: every sequence s<n>'s (name, last_value, is_called), sorted
seqstate() {
	q -d "$1" -c "$(q -d "$1" -c "SELECT string_agg(format('SELECT %L, last_value, is_called FROM %I', relname, relname), ' UNION ALL ' ORDER BY relname) FROM pg_class WHERE relkind = 'S' AND relname ~ '^s[0-9]+\$'")" | sort
}
q -d "$DB" -c "$(printf "$SEQS" 300)"
q -d "$DB" -c "DO \$\$ BEGIN FOR i IN 1..300 LOOP EXECUTE format('ALTER SEQUENCE s%s OWNED BY t%s.n', i, i); END LOOP; END \$\$"
dropdb_q pvt26_seq; dropdb_q pvt26_seq_r; createdb_q pvt26_seq
q -d pvt26_seq -c "$(printf "$SEQS" 3)"
pv backup --storage "$T/st" --db pvt26_seq; expect_rc 0 "backup of 3 sequences"
pv restore --storage "$T/st" "$(cat "$T/out")" --as pvt26_seq_r; expect_rc 0 "restore of 3 sequences"
[ "$(seqstate pvt26_seq_r)" = "$(seqstate pvt26_seq)" ] || fail "3 sequences: $(seqstate pvt26_seq_r) against $(seqstate pvt26_seq)"
[ "$(seqstate pvt26_seq | tr '\n' ' ')" = "s1|5|f s2|14|t s3|9|f " ] || fail "3 sequences: the source is not what the test made: $(seqstate pvt26_seq)"
dropdb_q pvt26_seq; dropdb_q pvt26_seq_r

pv backup --storage "$T/st" --db "$DB"; expect_rc 0 "backup of $N tables"
ID=$(cat "$T/out")
pv restore --storage "$T/st" "$ID" --as "${DB}_r"; expect_rc 0 "restore of $N tables"
pv backup --storage "$T/st2" --db "$DB" --jobs 2 -v; expect_rc 0 "backup --jobs 2 of $N tables"
# (the indexes, constraints, comments and dependencies were read on a second session)
grep -q "reading the catalogs on two sessions ([0-9]* relations)" "$T/err" || { cat "$T/err" >&2; fail "backup --jobs 2 of $N tables: the catalogs were read on one session"; }
grep -v "^[0-9TZ:-]* pgvault: " "$T/out" > "$T/out.id"; mv "$T/out.id" "$T/out"
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
	[ "$(seqstate "$r" | md5sum)" = "$(seqstate "$DB" | md5sum)" ] || fail "$r: the values of the 300 sequences differ"
	[ "$(seqstate "$r" | wc -l)" = 300 ] || fail "$r: $(seqstate "$r" | wc -l) sequences s<n>"
done
for d in "$DB" "${DB}_r" "${DB}_r2"; do dropdb_q "$d"; done
