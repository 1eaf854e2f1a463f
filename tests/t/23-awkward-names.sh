#!/usr/bin/env bash
# tests/t/23-awkward-names.sh — every statement pgvault writes that names an object builds
# the name from the catalog name (quoted through libpq), never by cutting rendered SQL apart:
# tests/fixtures/names.sql (dots, double quotes, spaces, backslashes, non-ASCII in schemas,
# tables, columns, indexes, constraints, sequences, identity columns, types, enums, domains,
# functions, views, triggers, policies; a schema "a.b" with a clustered index; names that look
# like the SQL around them; an identity column of a child made with INHERITS) is backed up
# and restored, sequentially and with --jobs 2; the restored database equals the source
# under the oracle (pg_dump --schema-only, sorted COPY), and the catalog facts behind each
# such statement are compared directly.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
db='aw.k "names"'; copy='aw.k copy'; copy2='aw.k copy2'
trap 'dropdb_q "$db"; dropdb_q "$copy"; dropdb_q "$copy2"' EXIT
dropdb_q "$db"; dropdb_q "$copy"; dropdb_q "$copy2"
createdb_q "$db"
load_fixture "$db" "$TOP_SRCDIR/tests/fixtures/names.sql" || fail "fixture"

facts() { # the catalog state each name-bearing statement sets up (sorted)
	qdb "$1" <<-'SQL' | LC_ALL=C sort
	SELECT 'clustered', i.indrelid::regclass, i.indexrelid::regclass FROM pg_index i WHERE i.indisclustered;
	SELECT 'replica identity', i.indrelid::regclass, i.indexrelid::regclass FROM pg_index i WHERE i.indisreplident;
	SELECT 'index column statistics', a.attrelid::regclass, a.attnum, a.attstattarget FROM pg_attribute a
	  JOIN pg_class c ON c.oid = a.attrelid WHERE c.relkind = 'i' AND a.attstattarget >= 0;
	SELECT 'identity', a.attrelid::regclass, a.attname, a.attidentity, pg_get_serial_sequence(a.attrelid::regclass::text, a.attname),
	       s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqtypid::regtype
	  FROM pg_attribute a JOIN pg_depend d ON d.refobjid = a.attrelid AND d.refobjsubid = a.attnum AND d.deptype = 'i'
	  JOIN pg_sequence s ON s.seqrelid = d.objid WHERE a.attidentity <> '';
	SELECT 'generated', a.attrelid::regclass, a.attname, pg_get_expr(ad.adbin, ad.adrelid) FROM pg_attrdef ad
	  JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum WHERE a.attgenerated <> '';
	SELECT 'sequence', s.seqrelid::regclass, s.seqtypid::regtype, s.seqstart, s.seqincrement FROM pg_sequence s;
	SELECT 'enum', t.oid::regtype, coalesce(string_agg(e.enumlabel, '|' ORDER BY e.enumsortorder), '(none)')
	  FROM pg_type t LEFT JOIN pg_enum e ON e.enumtypid = t.oid WHERE t.typtype = 'e' GROUP BY t.oid;
	SELECT 'composite', t.oid::regtype, coalesce(string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum), '(no columns)')
	  FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
	  WHERE c.relkind = 'c' GROUP BY t.oid;
	SELECT 'domain constraint', t.oid::regtype, k.conname, k.convalidated, pg_get_constraintdef(k.oid), obj_description(k.oid, 'pg_constraint')
	  FROM pg_constraint k JOIN pg_type t ON t.oid = k.contypid;
	SELECT 'table constraint', k.conrelid::regclass, k.conname, k.contype, pg_get_constraintdef(k.oid), obj_description(k.oid, 'pg_constraint')
	  FROM pg_constraint k WHERE k.conrelid <> 0;
	SELECT 'index attached', i.inhrelid::regclass, i.inhparent::regclass FROM pg_inherits i
	  JOIN pg_class c ON c.oid = i.inhrelid WHERE c.relkind IN ('i', 'I');
	SELECT 'trigger', t.tgrelid::regclass, t.tgname, t.tgenabled FROM pg_trigger t WHERE NOT t.tgisinternal;
	SELECT 'policy', p.polrelid::regclass, p.polname, pg_get_expr(p.polqual, p.polrelid) FROM pg_policy p;
	SELECT 'options', c.oid::regclass, c.reloptions, tc.reloptions FROM pg_class c LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid
	  WHERE c.relkind <> 't' AND (c.reloptions IS NOT NULL OR tc.reloptions IS NOT NULL);
	SELECT 'rows', "i.d", "v.al", "k.ey", e, g, "I d", n FROM "a.b"."t.1 \ ü" ORDER BY 2;
	SELECT 'sequence state', last_value, is_called FROM "a.b"."s2. AS IDENTITY";
	SELECT 'sequence state', last_value, is_called FROM "x""y.z"."s.eq ""1""";
	SELECT 'sequence state', last_value, is_called FROM "a.b"."in.h seq";
	SQL
}

pv backup --storage "$T/st" --db "$db"; expect_rc 0 backup
id=$(cat "$T/out")
grep -i "warning" "$T/err" && fail "backup of the awkward names warned"
facts "$db" >"$T/facts.src" || fail "facts of the source"
grep -q "^clustered|\"a.b\".\"t.1 \\\\ ü\"|\"a.b\".\"i.x\"$" "$T/facts.src" || { cat "$T/facts.src"; fail "fixture lacks the clustered index of \"a.b\""; }

for jobs in 1 2; do
	target=$copy; [ "$jobs" = 1 ] || target=$copy2
	pv restore --storage "$T/st" "$id" --as "$target" --jobs "$jobs"; expect_rc 0 "restore --jobs $jobs"
	oracle_compare "$db" "$target" || fail "restored database differs (--jobs $jobs)"
	facts "$target" >"$T/facts.dst" || fail "facts of the restored database"
	diff "$T/facts.src" "$T/facts.dst" || fail "catalog facts differ (--jobs $jobs)"
done
echo "all good"
