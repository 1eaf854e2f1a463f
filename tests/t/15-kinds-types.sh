#!/usr/bin/env bash
# tests/t/15-kinds-types.sh — base types (shell type first, I/O functions, every option),
# range types (subtype_diff, collation, operator class, canonical function, multirange
# name), standalone shell types, with owners, comments and grants: backup, restore as a
# copy, the oracle, and the catalogs of the copy compared with the source kind by kind.
# Then the search_path warning: a function that names a table without its schema, used by
# a CHECK constraint, two indexes (one through another function) and a materialized view, is
# reported by the backup once, and the restore (run with the function's schema and the
# database's default search_path, each schema once, and the function given that search_path
# until everything is built) succeeds and is identical; functions calling only built-ins or
# schema-qualified names, with SET search_path or a BEGIN ATOMIC body, and functions used
# nowhere that matters, are not reported.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

db=kinds_types_src; copy=kinds_types_copy; wdb=kinds_types_warn; wcopy=kinds_types_warn_copy
cleanup() { for d in "$db" "$copy" "$wdb" "$wcopy"; do dropdb_q "$d" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT
cleanup
createdb_q "$db"
load_fixture "$db" "$TOP_SRCDIR/tests/fixtures/kinds_types.sql" 2>/dev/null

pv backup --storage "$T/st" --db "$db"; expect_rc 0 "backup of the types fixture"
id=$(head -1 "$T/out")
if grep -q "search_path" "$T/err"; then cat "$T/err" >&2; fail "unexpected search_path warning"; fi
pv restore --storage "$T/st" "$id" --as "$copy"; expect_rc 0 "restore of the types fixture"
oracle_compare "$db" "$copy" || fail "oracle: restored types database differs"

SCHEMAS="t.typnamespace IN ('kt'::regnamespace, '\"Kt Other\"'::regnamespace)"
# every user type in the two schemas with everything CREATE TYPE sets
types() {
	q -d "$1" -c "SELECT t.typname, t.typtype, t.typisdefined, t.typlen, t.typbyval, t.typalign,
		t.typstorage, t.typcategory, t.typispreferred, t.typdelim, t.typelem::regtype,
		t.typcollation, t.typdefault, t.typinput::regproc, t.typoutput::regproc,
		t.typreceive::regproc, t.typsend::regproc, t.typmodin::regproc, t.typmodout::regproc,
		t.typanalyze::regproc, t.typsubscript::regproc, t.typarray::regtype,
		pg_get_userbyid(t.typowner), t.typacl, obj_description(t.oid, 'pg_type')
		FROM pg_type t WHERE $SCHEMAS ORDER BY t.typnamespace::regnamespace::text, t.typname"
}
ranges() {
	q -d "$1" -c "SELECT r.rngtypid::regtype, r.rngsubtype::regtype, r.rngmultitypid::regtype,
		r.rngcollation, o.opcname, r.rngcanonical::regproc, r.rngsubdiff::regproc
		FROM pg_range r JOIN pg_type t ON t.oid = r.rngtypid JOIN pg_opclass o ON o.oid = r.rngsubopc
		WHERE $SCHEMAS ORDER BY r.rngtypid::regtype::text"
}
types "$db" >"$T/types.src"; types "$copy" >"$T/types.copy"
diff "$T/types.src" "$T/types.copy" >&2 || fail "types differ between source and copy"
ranges "$db" >"$T/ranges.src"; ranges "$copy" >"$T/ranges.copy"
diff "$T/ranges.src" "$T/ranges.copy" >&2 || fail "range types differ between source and copy"

# direct checks on the copy, so that a missing kind fails even where the oracle is blind
count() { q -d "$copy" -c "SELECT count(*) FROM pg_type t WHERE $SCHEMAS AND $1"; }
[ "$(count "t.typtype = 'b' AND NOT EXISTS (SELECT FROM pg_type e WHERE e.typarray = t.oid)")" = 3 ] ||
	fail "expected 3 base types in the copy"
[ "$(count "t.typtype = 'r'")" = 4 ] || fail "expected 4 range types in the copy"
[ "$(count "t.typtype = 'm'")" = 4 ] || fail "expected 4 multirange types in the copy"
[ "$(count "t.typtype = 'p' AND NOT t.typisdefined")" = 2 ] || fail "expected 2 shell types in the copy"
[ "$(q -d "$copy" -c "SELECT typdefault || ' ' || typcategory::text || ' ' || pg_get_userbyid(typowner)
	FROM pg_type WHERE oid = 'kt.myint'::regtype")" = "42 N pvt_typeowner" ] || fail "kt.myint options or owner lost"
[ "$(q -d "$copy" -c "SELECT typdelim::text || typcollation::text FROM pg_type WHERE oid = '\"Kt Other\".\"My Text\"'::regtype")" = ";100" ] ||
	fail "delimiter or collatable lost on \"My Text\""
[ "$(q -d "$copy" -c "SELECT obj_description(oid, 'pg_type') || '/' || pg_get_userbyid(typowner)
	FROM pg_type WHERE typname = 'lonely' AND typnamespace = 'kt'::regnamespace")" = "never defined/pvt_typeowner" ] || fail "shell type comment or owner lost"
[ "$(q -d "$copy" -c "SELECT typacl::text FROM pg_type WHERE oid = 'kt.myint'::regtype")" = \
	"{pvt_typeowner=U/pvt_typeowner,pvt_typeuser=U/pvt_typeowner}" ] || fail "grant/revoke on kt.myint lost"
[ "$(q -d "$copy" -c "SELECT typacl::text FROM pg_type WHERE oid = 'kt.numr'::regtype")" = \
	"{=U/pvt_typeowner,pvt_typeowner=U/pvt_typeowner,pvt_typeuser=U*/pvt_typeowner}" ] || fail "grant on kt.numr lost"
[ "$(q -d "$copy" -c "SELECT rngcollation::regcollation FROM pg_range WHERE rngtypid = 'kt.textr'::regtype")" = '"C"' ] ||
	fail "range collation lost"
[ "$(q -d "$copy" -c "SELECT rngmultitypid::regtype FROM pg_range WHERE rngtypid = 'kt.textr'::regtype")" = '"Kt Other".textr_many' ] ||
	fail "multirange name lost"
# the types work: I/O, subscripts, canonical function, constructors, data
[ "$(q -d "$copy" -c "SELECT string_agg(format('%s:%s', kt.myint_twice(a), d[1]), ',' ORDER BY id) FROM kt.base_t")" = \
	"14:2,-6:-10000000000,:" ] || fail "base type data or functions wrong in the copy"
[ "$(q -d "$copy" -c "SELECT e FROM kt.range_t WHERE id = 1")" = "[1,11)" ] || fail "canonical range data wrong"
[ "$(q -d "$copy" -c "SELECT kt.evenr(2, 4, '[]')")" = "[2,5)" ] || fail "canonical function not used by the copy"
[ "$(q -d "$copy" -c "SELECT r::text || m::text FROM kt.range_v")" = "[1,2){[3,4)}" ] || fail "range constructors missing"
[ "$(q -d "$copy" -c "SELECT count(*) FROM kt.range_t WHERE n && '[2,3)'")" = 1 ] || fail "range index or data wrong"

# ---- search_path-dependent functions used by CHECKs, indexes and a materialized view
createdb_q "$wdb"
load_fixture "$wdb" "$TOP_SRCDIR/tests/fixtures/search_path.sql" || fail "fixture search_path.sql"
pv backup --storage "$T/st" --db "$wdb"; expect_rc 0 "backup with search_path-dependent functions"
wid=$(head -1 "$T/out")
expect_err "function public.getqty(integer) (LANGUAGE sql, no SET search_path) names items without a schema and is used by"
for u in "constraint orders_item_check on table public.orders" "index public.orders_q1" "index public.orders_q2" \
	"index public.orders_w (through public.wrap(integer))" "materialized view public.stock"; do
	grep "getqty" "$T/err" | grep -qF -- "$u" || { cat "$T/err" >&2; fail "the getqty warning does not name $u"; }
done
for f in wrap norm qualified_qty safe_pos atomic_pos unused_fn; do
	if grep "search_path" "$T/err" | grep -q "function public.$f("; then cat "$T/err" >&2; fail "$f must not be reported"; fi
done
[ "$(grep -c "search_path" "$T/err")" = 1 ] || { cat "$T/err" >&2; fail "expected exactly 1 warning"; }
if grep -q "^WARNING:" "$T/err"; then cat "$T/err" >&2; fail "a raw server warning went through"; fi
# the warning is kept in the bundle header, with the restore's search_path: the function's
# schema, then the database's default ("$user", public), each schema once
tar xOf "$(bundle_file "$T/st" "$wid")" pgvault.json >"$T/header.json"
python3 - "$T/header.json" <<'PY' || fail "bundle header: warnings or restore search_path wrong"
import json, sys
h = json.load(open(sys.argv[1]))
assert len(h.get("warnings", [])) == 1, h.get("warnings")
assert h["restore_search_path"] == '"public", "$user"', h["restore_search_path"]
s = h["restore_search_path_schemas"]
assert s == ["public", "$user"] and len(set(s)) == len(s), s
assert [(f["schema"], f["name"]) for f in h["search_path_functions"]] == [("public", "getqty")], h["search_path_functions"]
PY
grep -qF 'search_path = "public", "$user", and gives the function' "$T/err" ||
	{ cat "$T/err" >&2; fail "warning does not name the restore's search_path"; }
pv restore --storage "$T/st" "$wid" --as "$wcopy"; expect_rc 0 "restore with search_path-dependent functions"
oracle_compare "$wdb" "$wcopy" || fail "oracle: restored search_path database differs"
[ "$(q -d "$wcopy" -c "SELECT q FROM public.stock")" = 5 ] || fail "matview refreshed through getqty wrong"
[ "$(q -d "$wcopy" -c "SELECT count(*) FROM pg_catalog.pg_proc WHERE proconfig IS NOT NULL AND proname <> 'safe_pos'")" = 0 ] ||
	fail "the restore left a search_path set on a function"
q -d "$wcopy" -c "INSERT INTO public.orders VALUES (2)" 2>/dev/null && fail "CHECK through getqty not enforced"
dropdb_q "$wcopy"
# with the name qualified the same database restores and is identical
q -d "$wdb" -c "CREATE OR REPLACE FUNCTION public.getqty(i integer) RETURNS integer LANGUAGE sql IMMUTABLE
	AS 'SELECT qty FROM public.items WHERE id = i'"
pv backup --storage "$T/st" --db "$wdb"; expect_rc 0 "backup after the fix"
wid=$(head -1 "$T/out")
if grep -q "search_path" "$T/err"; then cat "$T/err" >&2; fail "getqty still reported with its names qualified"; fi
tar xOf "$(bundle_file "$T/st" "$wid")" pgvault.json | python3 -c '
import json, sys
h = json.load(sys.stdin)
assert "restore_search_path" not in h and "search_path_functions" not in h, h' ||
	fail "a bundle without search_path-dependent functions has a restore search_path"
pv restore --storage "$T/st" "$wid" --as "$wcopy"; expect_rc 0 "restore after the fix"
oracle_compare "$wdb" "$wcopy" || fail "oracle: restored warning database differs"
