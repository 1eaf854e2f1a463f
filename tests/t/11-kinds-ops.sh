# tests/t/11-kinds-ops.sh — operators, operator families and classes (incl. loose members
# and one added to a built-in family), access methods, casts, collations, conversions,
# procedural languages, transforms and aggregates (tests/fixtures/kinds_ops.sql): backup,
# restore --as a copy, the oracle, and per kind the same objects in the copy, with the same
# owners, comments, privileges and family-member dependencies, and the objects that use them
# still working.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

db='kinds "Ops" src'; copy='kinds "Ops" copy'
cleanup() { dropdb_q "$db" >/dev/null 2>&1 || true; dropdb_q "$copy" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
createdb_q "$db"
load_fixture "$db" "$TOP_SRCDIR/tests/fixtures/kinds_ops.sql" || fail "fixture"

# One line per user object of each kind: kind, identity, owner, ACL, comment.
catalog_state() {
	qdb "$1" -F '|' <<'SQL'
WITH o(kind, cls, oid, owner, acl) AS (
	SELECT 'operator', 'pg_operator'::regclass, oid, oprowner, NULL::aclitem[] FROM pg_operator
	UNION ALL SELECT 'opfamily', 'pg_opfamily'::regclass, oid, opfowner, NULL FROM pg_opfamily
	UNION ALL SELECT 'opclass', 'pg_opclass'::regclass, oid, opcowner, NULL FROM pg_opclass
	UNION ALL SELECT 'access method', 'pg_am'::regclass, oid, NULL, NULL FROM pg_am
	UNION ALL SELECT 'cast', 'pg_cast'::regclass, oid, NULL, NULL FROM pg_cast
	UNION ALL SELECT 'collation', 'pg_collation'::regclass, oid, collowner, NULL FROM pg_collation
	UNION ALL SELECT 'conversion', 'pg_conversion'::regclass, oid, conowner, NULL FROM pg_conversion
	UNION ALL SELECT 'language', 'pg_language'::regclass, oid, lanowner, lanacl FROM pg_language
	UNION ALL SELECT 'transform', 'pg_transform'::regclass, oid, NULL, NULL FROM pg_transform
	UNION ALL SELECT 'aggregate', 'pg_proc'::regclass, oid, proowner, proacl FROM pg_proc WHERE prokind = 'a'
	UNION ALL SELECT 'amop', 'pg_amop'::regclass, oid, NULL, NULL FROM pg_amop
	UNION ALL SELECT 'amproc', 'pg_amproc'::regclass, oid, NULL, NULL FROM pg_amproc
)
SELECT o.kind, pg_describe_object(o.cls, o.oid, 0), coalesce(o.owner::regrole::text, '-'),
	coalesce(o.acl::text, '-'), coalesce(obj_description(o.oid, o.cls::name), '-')
FROM o WHERE o.oid >= 16384 ORDER BY 1, 2;
SQL
}
# pg_amop/pg_amproc rows: bound into a class ('i'), or loose in their family
member_deps() {
	qdb "$1" -F '|' -c "SELECT pg_describe_object(classid, objid, 0), pg_describe_object(refclassid, refobjid, 0), deptype
		FROM pg_depend WHERE classid IN ('pg_amop'::regclass, 'pg_amproc'::regclass) AND objid >= 16384 ORDER BY 1, 2, 3"
}
# the fixture's objects at work
usage() {
	qdb "$1" -F '|' <<'SQL'
SELECT * FROM ops.agg_v;
SELECT id, mood_no, neg, label FROM ops.things_v ORDER BY id LIMIT 3;
SELECT count(*) FROM ops.things WHERE label = 'LABEL 7';
SELECT ops.in_pl_two();
SET enable_seqscan = off;
SELECT array_agg(id) FROM (SELECT id FROM ops.things ORDER BY id OPERATOR("Ops Schema".<<<) 45 DESC LIMIT 3) s;
SELECT id FROM ops.things ORDER BY at <-> point(10, 20) LIMIT 2;
SQL
}

pv backup --storage "$T/st" --db "$db"; expect_rc 0 "backup"
id=$(head -1 "$T/out")
pv restore --storage "$T/st" "$id" --as "$copy"; expect_rc 0 "restore"
oracle_compare "$db" "$copy" || fail "the copy differs from the source"

catalog_state "$db" >"$T/src.state" || fail "catalog state of the source"
catalog_state "$copy" >"$T/copy.state" || fail "catalog state of the copy"
for k in operator opfamily opclass 'access method' cast collation conversion language transform aggregate amop amproc; do
	ns=$(grep -c "^$k|" "$T/src.state"); nc=$(grep -c "^$k|" "$T/copy.state")
	[ "$ns" -gt 0 ] || fail "the fixture made no $k"
	[ "$ns" = "$nc" ] || fail "$k: $ns in the source, $nc in the copy"
done
diff "$T/src.state" "$T/copy.state" || fail "objects, owners, privileges or comments differ"
# spot checks that the state lists what matters
grep -qF 'aggregate|function ops."My Sum"(integer)|pvt_ops_owner|{pvt_ops_owner=X/pvt_ops_owner,pvt_ops_user=X/pvt_ops_owner}|a sum with an inverse' "$T/copy.state" ||
	fail "aggregate owner, grants or comment lost"
grep -qF 'aggregate|function ops.my_rank("any")|pvt_ops_owner|{=X/pvt_ops_owner,pvt_ops_owner=X/pvt_ops_owner,pvt_ops_user=X*/pvt_ops_owner}' "$T/copy.state" ||
	fail "ordered-set aggregate grants lost"
grep -qF 'language|language PL Two|pvt_ops_owner|{pvt_ops_owner=U/pvt_ops_owner,pvt_ops_user=U/pvt_ops_owner}|plpgsql, again' "$T/copy.state" ||
	fail "language owner, grants or comment lost"
grep -qF 'of operator family integer_ops for access method btree: ops.int4_fam_cmp(integer,ops.mood)' "$T/copy.state" ||
	fail "the member added to a built-in family is lost"
[ "$(grep -c '^operator|operator ops.@!@' "$T/copy.state")" = 1 ] || fail "the shell operator was not recreated"

member_deps "$db" >"$T/src.deps"; member_deps "$copy" >"$T/copy.deps"
diff "$T/src.deps" "$T/copy.deps" || fail "operator family members are bound differently"
grep -qF 'operator family ops.int_fam for access method hash|a' "$T/copy.deps" || fail "loose member not loose"

usage "$db" >"$T/src.use" || fail "fixture objects do not work in the source"
usage "$copy" >"$T/copy.use" || fail "restored objects do not work"
diff "$T/src.use" "$T/copy.use" || fail "restored objects behave differently"

# a second round trip (the copy backed up and restored again) gives the same state
pv backup --storage "$T/st" --db "$copy"; expect_rc 0 "backup of the copy"
id2=$(head -1 "$T/out")
dropdb_q "$db"
pv restore --storage "$T/st" "$id2" --as "$db"; expect_rc 0 "second restore"
catalog_state "$db" | diff - "$T/copy.state" || fail "second round trip differs"
