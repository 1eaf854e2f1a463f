#!/usr/bin/env bash
# tests/t/19-pg18-notnull.sh — PostgreSQL 18 stores every NOT NULL (the one a primary key
# implies too) as a named pg_constraint row.  A database full of them backs up without
# --allow-unsupported and restores with every name (default and user-chosen), comment,
# NO INHERIT, NOT VALID (over rows that are NULL: added after the data) and the inherited /
# local state of each kept (tests/fixtures/notnull18.sql); 18's virtual generated columns too.  Skipped before 18: run the suite
# against an 18 server (PV_EXTERNAL_SERVER, tests/run-all.sh).
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
skip_unless_version 180000 "NOT NULL constraints as pg_constraint rows"

db='nn18 "src"'; copy='nn18 copy'
trap 'dropdb_q "$db"; dropdb_q "$copy"' EXIT
dropdb_q "$db"; dropdb_q "$copy"
createdb_q "$db"
load_fixture "$db" "$TOP_SRCDIR/tests/fixtures/notnull18.sql" || fail "fixture"

facts() { # every NOT NULL constraint, as the catalog has it
	qdb "$1" <<-'SQL'
	SELECT CASE WHEN c.conrelid <> 0 THEN c.conrelid::regclass::text ELSE c.contypid::regtype::text END, c.conname,
	       pg_get_constraintdef(c.oid), c.conislocal, c.coninhcount, c.connoinherit,
	       c.convalidated, coalesce(obj_description(c.oid, 'pg_constraint'), '-')
	  FROM pg_constraint c WHERE c.contype = 'n' AND c.connamespace = '"nn sch"'::regnamespace
	  ORDER BY CASE WHEN c.conrelid <> 0 THEN c.conrelid::regclass::text ELSE c.contypid::regtype::text END COLLATE "C", c.conname COLLATE "C";
	SELECT 'legacy', id, coalesce(maybe, '<null>'), coalesce(other, '<null>') FROM "nn sch".legacy ORDER BY 2;
	SELECT 'virtual', attrelid::regclass, attname, attgenerated, attnotnull FROM pg_attribute
	  WHERE attrelid IN ('"virt sch".g'::regclass, '"virt sch".g_child'::regclass) AND attnum > 0 ORDER BY 2::text, attnum;
	SELECT 'virtual rows', a, b, c, s FROM "virt sch".g ORDER BY a;
	SQL
}

pv backup --storage "$T/st" --db "$db"
expect_rc 0 "backup of a database with NOT NULL constraints (no --allow-unsupported)"
id=$(head -1 "$T/out")
pv restore --storage "$T/st" "$id" --as "$copy"
expect_rc 0 "restore"
oracle_compare "$db" "$copy" || fail "restored database differs (pg_dump 18 and rows)"
# (vchild3's NOT NULL takes another parent's name in a restore: tests/fixtures/notnull18.sql)
facts "$db" | sed 's/^\("nn sch".vchild3\)|vparent2_a_not_null|/\1|vparent3_a_not_null|/' >"$T/facts.src"
facts "$copy" >"$T/facts.copy"
diff -u "$T/facts.src" "$T/facts.copy" || fail "NOT NULL constraints differ after the restore"

# the facts the fixture is about, spelled out (so that an empty fixture cannot pass)
for want in \
	'"nn sch".items|label must be set|NOT NULL label|t|0|f|t|a user-named NOT NULL' \
	'"nn sch".items|items_code_not_null|NOT NULL code|t|0|f|t|a default-named NOT NULL' \
	'"nn sch".items|items_id_not_null|NOT NULL id|t|0|f|t|the NOT NULL of the primary key' \
	'"nn sch".items|qty_nn|NOT NULL qty NO INHERIT|t|0|t|t|-' \
	'"nn sch".legacy|maybe_later|NOT NULL maybe NOT VALID|t|0|f|f|not valid yet' \
	'"nn sch".vchild|vparent_x_nv|NOT NULL x NOT VALID|f|1|f|f|-' \
	'"nn sch".vchild2|vparent2_a_not_null|NOT NULL a|f|1|f|t|validated on the child' \
	'"nn sch".vparent2|vparent2_a_not_null|NOT NULL a NOT VALID|t|0|f|f|not valid on the parent' \
	'"nn sch".vchild3|vparent3_a_not_null|NOT NULL a|f|2|f|t|-' \
	'"nn sch".child|parent_a_named|NOT NULL a|f|1|f|t|-' \
	'"nn sch".pk_child|a_nn|NOT NULL a|t|1|f|t|-' \
	'"nn sch".plain_child|own a|NOT NULL a|t|0|f|t|-' \
	'"nn sch".plain_child|own_b|NOT NULL b NO INHERIT|t|0|t|t|-' \
	'"nn sch".child_local|parent_a_named|NOT NULL a|t|1|f|t|-' \
	'"nn sch".child_noinh|child_noinh_c|NOT NULL c NO INHERIT|t|0|t|t|-' \
	'"nn sch".dom_named|dom_named_must_be_set|NOT NULL|t|0|f|t|domain NOT NULL' \
	'legacy|1|<null>|x' 'legacy|2|set|<null>' 'virtual|"virt sch".g_child|b|v|f' 'virtual|"virt sch".g|c|v|t' \
	'virtual rows|3|6|3|4'; do
	grep -qxF -- "$want" "$T/facts.copy" || { cat "$T/facts.copy" >&2; fail "restored copy lacks: $want"; }
done
echo "all good"
