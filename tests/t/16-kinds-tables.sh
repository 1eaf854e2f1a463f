#!/usr/bin/env bash
# Partitioned tables (range/list/hash, foreign partitions, two levels, default partitions, a partition attached
# with its own column order, partitioned indexes and keys, foreign keys to and from
# partitioned tables, cloned triggers with a disabled clone, hash partitioning of an enum
# whose rows must be routed again), inheritance (multiple parents, two levels, a child
# without its parent's default, NOT NULL only on the child, inherited / merged / NO INHERIT
# CHECKs, a family whose parents gained columns after their children were made),
# foreign tables and typed tables round-trip exactly (oracle), with the catalog facts the
# oracle cannot see compared directly.  Children whose column order CREATE TABLE ... INHERITS cannot
# reproduce (pg_dump loses it) keep their order.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
db=kt_src; copy=kt_copy
trap 'dropdb_q $db; dropdb_q $copy; dropdb_q kt_order; dropdb_q kt_order_copy' EXIT
dropdb_q "$db"; dropdb_q "$copy"
createdb_q "$db"
load_fixture "$db" "$TOP_SRCDIR/tests/fixtures/kinds_tables.sql" || fail "fixture"

facts() { # what pg_dump's text does not show
	q -d "$1" <<-'SQL'
	SELECT 'inherits', c.relname, p.relname, i.inhseqno FROM pg_inherits i
	  JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent ORDER BY 2, 3;
	SELECT 'column', c.relname, a.attnum, a.attname, a.attislocal, a.attinhcount, a.attnotnull
	  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
	  WHERE n.nspname IN ('part', 'inh') AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') ORDER BY 2, 3;
	SELECT 'constraint', c.relname, k.conname, k.contype, k.conislocal, k.coninhcount,
	         -- (like pg_dump's, a partition's key made then attached says NO INHERIT)
	         k.connoinherit AND k.contype NOT IN ('p', 'u', 'x'), k.conparentid <> 0,
	         k.convalidated, obj_description(k.oid, 'pg_constraint')
	  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
	  WHERE n.nspname IN ('part', 'inh') ORDER BY 2, 3;
	SELECT 'trigger', c.relname, t.tgname, t.tgenabled, t.tgparentid <> 0 FROM pg_trigger t
	  JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal ORDER BY 2, 3;
	SELECT 'index', c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
	  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('part', 'inh') ORDER BY 2;
	SELECT 'typed', relname, reloftype::regtype FROM pg_class WHERE reloftype <> 0 ORDER BY 2;
	SELECT 'foreign', c.relname, s.srvname, f.ftoptions, c.relispartition FROM pg_foreign_table f
	  JOIN pg_class c ON c.oid = f.ftrelid JOIN pg_foreign_server s ON s.oid = f.ftserver ORDER BY 2;
	SELECT 'fdw column', c.relname, a.attname, a.attfdwoptions FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
	  WHERE c.relkind = 'f' AND a.attfdwoptions IS NOT NULL ORDER BY 2, 3;
	SELECT 'moods', m, count(*) FROM part.moods GROUP BY m ORDER BY 2;
	SELECT 'routing', count(*) FROM part.moods WHERE tableoid = 'part.moods_0'::regclass AND m = 'sad';
	SQL
}

pv backup --storage "$T/st" --db "$db"; expect_rc 0 backup
id=$(cat "$T/out")
pv restore --storage "$T/st" "$id" --as "$copy"; expect_rc 0 restore
oracle_compare "$db" "$copy" || fail "restored database differs"
diff <(facts "$db" | grep -v '^routing') <(facts "$copy" | grep -v '^routing') || fail "catalog facts differ"
facts "$copy" >"$T/facts.copy"
for want in 'constraint|vc_child|vc_pos|c|f|1|f|f|t|validated on the child' \
	'constraint|vc_grandchild|vc_pos|c|f|1|f|f|t|and so on the grandchild' \
	'constraint|vc_parent|vc_pos|c|t|0|f|f|f|not valid on the parent' \
	'constraint|puppy|animal_legs_check|c|f|1|f|f|t|inherited twice, commented'; do
	grep -qxF -- "$want" "$T/facts.copy" || fail "restored copy lacks: $want"
done
[ "$(q -d "$copy" -c "SELECT count(*) FROM part.events")" = 3000 ] || fail "partition rows lost"
# the replayed family: late columns at the children's ends, inherited (not local)
[ "$(q -d "$copy" -c "SELECT string_agg(attname || ':' || attislocal || attinhcount, ',' ORDER BY attnum)
	FROM pg_attribute WHERE attrelid = 'inh.leaf'::regclass AND attnum > 0")" = \
	"k:false2,tag:false2,m:false1,s:false1,l:true0,leaf_late:true0,mid_late:false1,base_late:false2" ] || fail "late columns of inh.leaf"
grep -q '"inherited columns"' <(pv list --storage "$T/st" "$id" --json 2>/dev/null; cat "$T/out") 2>/dev/null || true
[ "$(q -d "$copy" -c "SELECT count(*) FROM part.logins_1 l JOIN part.accounts a ON a.id = l.account")" -gt 0 ] ||
	fail "no rows in a hash partition"
# the partitioned primary key and indexes are valid (every partition's index attached)
[ "$(q -d "$copy" -c "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
	JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'part' AND NOT i.indisvalid")" = 0 ] ||
	fail "a partitioned index is invalid after restore"
# the foreign key to the partitioned table still enforces
q -d "$copy" -c "INSERT INTO part.payments (account, region, amount) VALUES (999, 'eu', 1)" 2>/dev/null &&
	fail "foreign key to a partitioned table not enforced"
q -d "$copy" -c "INSERT INTO part.events (id, at, kind) VALUES (1, '2026-03-01', '')" 2>/dev/null &&
	fail "CHECK of a partitioned table not enforced on its partitions"

# column order that CREATE TABLE ... INHERITS cannot reproduce
dropdb_q kt_order; dropdb_q kt_order_copy; createdb_q kt_order
q -d kt_order <<'SQL' >/dev/null 2>&1 || fail "order fixture"
CREATE TABLE animal (id int NOT NULL, name text DEFAULT 'nobody', legs int CHECK (legs >= 0));
CREATE TABLE bird (wingspan numeric, legs int CONSTRAINT animal_legs_check CHECK (legs >= 0), name text, id int NOT NULL);
ALTER TABLE bird INHERIT animal;
CREATE TABLE fish (fins int) INHERITS (animal);
ALTER TABLE animal ADD COLUMN born date;
INSERT INTO bird (wingspan, legs, name, id, born) VALUES (1.5, 2, 'tweety', 5, '2024-01-02');
INSERT INTO fish (id, name, legs, fins, born) VALUES (6, 'nemo', 0, 3, NULL);
SQL
pv backup --storage "$T/st" --db kt_order; expect_rc 0 "backup (order)"
id=$(cat "$T/out")
pv restore --storage "$T/st" "$id" --as kt_order_copy; expect_rc 0 "restore (order)"
order() { q -d "$1" -c "SELECT c.relname, string_agg(a.attname, ',' ORDER BY a.attnum) FROM pg_attribute a
	JOIN pg_class c ON c.oid = a.attrelid WHERE c.relname IN ('animal', 'bird', 'fish') AND a.attnum > 0
	AND NOT a.attisdropped GROUP BY 1 ORDER BY 1"; q -d "$1" -c "TABLE bird; TABLE fish; SELECT count(*) FROM animal"; }
diff <(order kt_order) <(order kt_order_copy) || fail "column order of inheritance children not kept"
mkdir -p "$T/o1" "$T/o2"
oracle_data kt_order "$T/o1" && oracle_data kt_order_copy "$T/o2" || fail "oracle data"
diff -r "$T/o1" "$T/o2" >/dev/null || fail "rows of reordered children differ"
[ "$(q -d kt_order_copy -c "SELECT count(*) FROM pg_inherits")" = 2 ] || fail "inheritance lost"
exit 0
