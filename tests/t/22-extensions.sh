#!/usr/bin/env bash
# tests/t/22-extensions.sh — databases built on extensions back up and restore: objects that
# belong to an extension (pg_depend deptype 'e', recorded on a composite type's pg_type row
# rather than on its pg_class row) come back through CREATE EXTENSION only, are never
# created on their own and never reported unsupported.  Three databases, each backed up,
# verified, restored under a new name and compared with the oracle (pg_dump --schema-only
# and sorted COPY of every table):
#   - nothing but CREATE EXTENSION tablefunc (two composite types: refused on 6ed9233);
#   - an application on pg_trgm, btree_gin, btree_gist, hstore, citext, ltree, pgcrypto,
#     uuid-ossp, unaccent, cube, earthdistance, pg_stat_statements, fuzzystrmatch and
#     tablefunc (tests/fixtures/extensions.sql), then checked on the copy: indexes with the
#     extensions' operator classes, the exclusion constraint, defaults and functions work;
#   - a test extension with one member of every kind an extension script can make (types of
#     every sort, functions, operators and their class, a cast, tables with their parts, a
#     sequence, views, a foreign table, an event trigger, text search, ...), used by the
#     user's tables, index and view, and with a configuration table;
#   - PostGIS with geometry rows and a GiST index (tests/fixtures/extensions_postgis.sql).
#     Without the PostGIS package this part says so; it fails when the package is meant to
#     be there (PV_REQUIRE_POSTGIS=1 or CI set, as contrib/check.sh does after
#     contrib/install-deps.sh installed it, and apt knows the package for this server).
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

DBS=(pvt22_tablefunc pvt22_apps pvt22_kinds pvt22_postgis)
extfiles=()
cleanup() {
	local d
	rm -f "${extfiles[@]}"
	for d in "${DBS[@]}"; do
		dropdb_q "$d" >/dev/null 2>&1 || true; dropdb_q "${d}_copy" >/dev/null 2>&1 || true
	done
}
trap cleanup EXIT
cleanup

# round_trip DB: backup (no object reported), verify, restore as DB_copy, oracle
round_trip() {
	local db="$1" id
	pv backup --storage "$T/st" --db "$db"
	expect_rc 0 "backup of $db"
	if grep -qi 'cannot back up\|unsupported' "$T/err"; then
		cat "$T/err" >&2; fail "$db: the backup reports extension members"
	fi
	id=$(head -1 "$T/out")
	pv verify --storage "$T/st" "$id"
	expect_rc 0 "verify of $db's bundle"
	pv restore --storage "$T/st" "$id" --as "${db}_copy"
	expect_rc 0 "restore of $db as ${db}_copy"
	oracle_compare "$db" "${db}_copy" || fail "oracle: ${db}_copy differs from $db"
	# every extension has the same members in the copy (nothing created outside them)
	local members='SELECT e.extname, d.classid::regclass, count(*) FROM pg_depend d
		JOIN pg_extension e ON e.oid = d.refobjid
		WHERE d.refclassid = $$pg_extension$$::regclass AND d.deptype = $$e$$
		GROUP BY 1, 2 ORDER BY 1, 2'
	qdb "$db" -c "$members" >"$T/members.src"
	qdb "${db}_copy" -c "$members" >"$T/members.copy"
	diff "$T/members.src" "$T/members.copy" >&2 || fail "$db: extension members differ in the copy"
}

# copy_is DB SQL WANT: the copy answers WANT
copy_is() {
	local got
	got=$(qdb "$1" -c "$2") || fail "$1: query failed: $2"
	[ "$got" = "$3" ] || fail "$1: $2: got '$got', expected '$3'"
}

# ---------------------------------------------------------------- tablefunc alone
createdb_q pvt22_tablefunc
qdb pvt22_tablefunc -c "CREATE EXTENSION tablefunc"
[ "$(qdb pvt22_tablefunc -c "SELECT count(*) FROM pg_type t JOIN pg_depend d ON d.objid = t.oid
	AND d.classid = 'pg_type'::regclass AND d.deptype = 'e' WHERE t.typtype = 'c'")" -ge 1 ] ||
	fail "tablefunc has no composite type: the case this test is about is gone"
round_trip pvt22_tablefunc
copy_is pvt22_tablefunc_copy "SELECT count(*) FROM public.normal_rand(3, 0, 1)" 3

# ---------------------------------------------------------------- an application on contrib
createdb_q pvt22_apps
load_fixture pvt22_apps "$TOP_SRCDIR/tests/fixtures/extensions.sql"
round_trip pvt22_apps
c=pvt22_apps_copy
copy_is "$c" "SELECT extname || ':' || extnamespace::regnamespace FROM pg_extension WHERE extname = 'hstore'" "hstore:ext"
copy_is "$c" "SELECT obj_description(oid, 'pg_extension') FROM pg_extension WHERE extname = 'hstore'" \
	"key/value attributes of app.users"
copy_is "$c" "SELECT has_function_privilege('public', 'public.gen_random_bytes(integer)', 'EXECUTE')" f
copy_is "$c" "SELECT string_agg(c.relname || '=' || o.opcname, ',' ORDER BY c.relname, o.opcname)
	FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
	JOIN pg_opclass o ON o.oid = ANY (i.indclass::oid[])
	WHERE c.relname IN ('users_name_trgm', 'users_name_trgm_gist', 'users_path', 'users_box', 'users_created_gin')" \
	"users_box=gist_cube_ops,users_created_gin=text_ops,users_created_gin=timestamptz_ops,users_name_trgm=gin_trgm_ops,users_name_trgm_gist=gist_trgm_ops,users_path=gist_ltree_ops"
copy_is "$c" "SELECT count(*) FROM app.users WHERE name % 'Alice'" 1
copy_is "$c" "SELECT name FROM app.users WHERE path <@ 'top.hobbies'" "Bob Café"
copy_is "$c" "SELECT name FROM app.users WHERE email = 'ALICE@example.COM'" "Alice Ærø"
copy_is "$c" "SELECT attrs OPERATOR(ext.->) 'city' FROM app.users WHERE name_soundex = public.soundex('Alise Aero')" "Oslo"
copy_is "$c" "SELECT app.check_password('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'pw1')" t
copy_is "$c" "SELECT string_agg(region || ':' || q1 || ':' || coalesce(q2::text, '-'), ',') FROM app.sales_pivot()" \
	"north:10:20,south:5:-"
copy_is "$c" "SELECT count(*) FROM app.distances WHERE metres BETWEEN 1000000 AND 1500000" 1
copy_is "$c" "SELECT plain_name FROM app.user_search WHERE city = 'Paris'" "Bob Cafe"
# defaults calling extension functions, and the exclusion constraint (btree_gist)
qdb "$c" -c "INSERT INTO app.users (email, name) VALUES ('dave@example.com', 'Dave')" ||
	fail "defaults calling extension functions fail in the copy"
copy_is "$c" "SELECT length(token) || ':' || (password = public.crypt('changeme', password)) FROM app.users WHERE name = 'Dave'" "16:true"
if qdb "$c" -c "INSERT INTO app.bookings (room, during) VALUES (1, '[2024-05-02, 2024-05-04)')" 2>"$T/excl.err"; then
	fail "the exclusion constraint did not come back"
fi
grep -q 'conflicting key value violates exclusion constraint' "$T/excl.err" || { cat "$T/excl.err" >&2; fail "wrong error for an overlapping booking"; }

# ---------------------------------------------------------------- every kind as a member
# A tiny extension (installed into the server's share directory, as 13-kinds-acl does) with
# one member of every kind an extension script can make, used by the user's own objects.
pgc="$PGBIN/pg_config"; [ -x "$pgc" ] || pgc=pg_config
extdir="$("$pgc" --sharedir)/extension"
if [ -w "$extdir" ]; then
	extfiles=("$extdir/pvt22_kinds.control" "$extdir/pvt22_kinds--1.0.sql")
	cat >"$extdir/pvt22_kinds.control" <<-'CTL'
		comment = 'pgvault test: one member of every kind'
		default_version = '1.0'
		relocatable = false
		schema = public
	CTL
	cat >"$extdir/pvt22_kinds--1.0.sql" <<-'SQL'
		CREATE SCHEMA pvt22_inner;
		CREATE TYPE pvt22_pair AS (a int, b text);
		CREATE TYPE pvt22_mood AS ENUM ('sad', 'ok', 'happy');
		CREATE DOMAIN pvt22_pos AS int CHECK (VALUE > 0) DEFAULT 1;
		CREATE TYPE pvt22_span AS RANGE (subtype = int4, multirange_type_name = pvt22_multirange);
		CREATE TYPE pvt22_shell;
		CREATE FUNCTION pvt22_cmp(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE STRICT
			AS 'SELECT CASE WHEN a < b THEN 1 WHEN a > b THEN -1 ELSE 0 END';
		CREATE FUNCTION pvt22_lt(a int, b int) RETURNS boolean LANGUAGE sql IMMUTABLE STRICT AS 'SELECT a > b';
		CREATE FUNCTION pvt22_le(a int, b int) RETURNS boolean LANGUAGE sql IMMUTABLE STRICT AS 'SELECT a >= b';
		CREATE FUNCTION pvt22_eq(a int, b int) RETURNS boolean LANGUAGE sql IMMUTABLE STRICT AS 'SELECT a = b';
		CREATE FUNCTION pvt22_ge(a int, b int) RETURNS boolean LANGUAGE sql IMMUTABLE STRICT AS 'SELECT a <= b';
		CREATE FUNCTION pvt22_gt(a int, b int) RETURNS boolean LANGUAGE sql IMMUTABLE STRICT AS 'SELECT a < b';
		CREATE OPERATOR <<< (LEFTARG = int, RIGHTARG = int, FUNCTION = pvt22_lt);
		CREATE OPERATOR <<<= (LEFTARG = int, RIGHTARG = int, FUNCTION = pvt22_le);
		CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = pvt22_eq);
		CREATE OPERATOR >>>= (LEFTARG = int, RIGHTARG = int, FUNCTION = pvt22_ge);
		CREATE OPERATOR >>> (LEFTARG = int, RIGHTARG = int, FUNCTION = pvt22_gt);
		CREATE OPERATOR CLASS pvt22_rev_ops FOR TYPE int USING btree AS
			OPERATOR 1 <<<, OPERATOR 2 <<<=, OPERATOR 3 ===, OPERATOR 4 >>>=, OPERATOR 5 >>>,
			FUNCTION 1 pvt22_cmp(int, int);
		CREATE FUNCTION pvt22_mood_text(m pvt22_mood) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT upper(pg_catalog.textin(pg_catalog.enum_out(m)))';
		CREATE CAST (pvt22_mood AS text) WITH FUNCTION pvt22_mood_text(pvt22_mood);
		CREATE PROCEDURE pvt22_proc(x int) LANGUAGE sql AS 'SELECT x';
		CREATE AGGREGATE pvt22_sum(int) (SFUNC = int4pl, STYPE = int, INITCOND = '0');
		CREATE COLLATION pvt22_coll FROM "C";
		CREATE CONVERSION pvt22_conv FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;
		CREATE TEXT SEARCH CONFIGURATION pvt22_ts (COPY = simple);
		CREATE TEXT SEARCH DICTIONARY pvt22_dict (TEMPLATE = simple, STOPWORDS = english);
		CREATE ACCESS METHOD pvt22_am TYPE TABLE HANDLER heap_tableam_handler;
		CREATE FOREIGN DATA WRAPPER pvt22_fdw;
		CREATE SERVER pvt22_srv FOREIGN DATA WRAPPER pvt22_fdw;
		CREATE SEQUENCE pvt22_seq;
		CREATE TABLE pvt22_tab (
			id serial PRIMARY KEY,
			ident int GENERATED ALWAYS AS IDENTITY,
			p pvt22_pair,
			m pvt22_mood DEFAULT 'ok',
			n pvt22_pos,
			s pvt22_span,
			x int CHECK (x > 0),
			UNIQUE (m, n)
		);
		CREATE INDEX pvt22_tab_rev ON pvt22_tab (x pvt22_rev_ops);
		CREATE STATISTICS pvt22_stats ON m, n FROM pvt22_tab;
		CREATE FUNCTION pvt22_trg() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN NEW.x := coalesce(NEW.x, 1); RETURN NEW; END';
		CREATE TRIGGER pvt22_tab_trg BEFORE INSERT ON pvt22_tab FOR EACH ROW EXECUTE FUNCTION pvt22_trg();
		ALTER TABLE pvt22_tab ENABLE ROW LEVEL SECURITY;
		CREATE POLICY pvt22_pol ON pvt22_tab USING (x > 0);
		CREATE TABLE pvt22_log (id int, note text);
		CREATE RULE pvt22_rule AS ON DELETE TO pvt22_log DO INSTEAD NOTHING;
		CREATE VIEW pvt22_view AS SELECT id, m FROM pvt22_tab;
		CREATE MATERIALIZED VIEW pvt22_mview AS SELECT 1 AS one;
		CREATE FOREIGN TABLE pvt22_ftab (a int) SERVER pvt22_srv;
		CREATE FUNCTION pvt22_evt() RETURNS event_trigger LANGUAGE plpgsql AS 'BEGIN END';
		CREATE EVENT TRIGGER pvt22_evt ON ddl_command_end EXECUTE FUNCTION pvt22_evt();
		CREATE TABLE pvt22_inner.cfg (k text PRIMARY KEY, v text, builtin boolean NOT NULL DEFAULT false);
		INSERT INTO pvt22_inner.cfg VALUES ('shipped', '1', true);
		SELECT pg_catalog.pg_extension_config_dump('pvt22_inner.cfg', 'WHERE NOT builtin');
	SQL
	createdb_q pvt22_kinds
	qdb pvt22_kinds <<-'SQL'
		SET client_min_messages = warning;
		CREATE EXTENSION pvt22_kinds;
		INSERT INTO pvt22_inner.cfg VALUES ('mine', '2', false);
		INSERT INTO public.pvt22_tab (p, m, n, s, x) VALUES ((1, 'one'), 'happy', 2, '[1,5)', 3);
		CREATE TABLE public.uses (id int, p public.pvt22_pair, ps public.pvt22_pair[], m public.pvt22_mood,
			n public.pvt22_pos, s public.pvt22_span, sm public.pvt22_multirange, t text COLLATE public.pvt22_coll);
		INSERT INTO public.uses VALUES (1, (2, 'two'), ARRAY[(3, 'three')::public.pvt22_pair], 'sad', 5, '[2,3)',
			'{[1,2),[5,6)}', 'b'), (2, NULL, NULL, 'ok', 1, NULL, NULL, 'a');
		CREATE INDEX uses_rev ON public.uses (id public.pvt22_rev_ops);
		CREATE VIEW public.uses_v AS SELECT (u.p).a, u.m::text AS mood, v.id AS ext_id
			FROM public.uses u LEFT JOIN public.pvt22_view v ON v.id = u.id;
	SQL
	round_trip pvt22_kinds
	copy_is pvt22_kinds_copy "SELECT string_agg(mood, ',' ORDER BY a) FROM public.uses_v" "SAD,OK"
	copy_is pvt22_kinds_copy "SELECT string_agg(k || '=' || v, ',' ORDER BY k) FROM pvt22_inner.cfg" "mine=2,shipped=1"
	# as with pg_dump, rows of a member table that is no configuration table are not backed up
	copy_is pvt22_kinds_copy "SELECT count(*) FROM public.pvt22_tab" 0
	copy_is pvt22_kinds_copy "SELECT count(*) FROM pg_statistic_ext WHERE stxname = 'pvt22_stats'" 1
else
	echo "22-extensions: SKIPPED every kind as a member ($extdir is not writable)" >&2
fi

# ---------------------------------------------------------------- PostGIS
major=$(q -d postgres -c "SELECT current_setting('server_version_num')::int / 10000")
if [ "$(q -d postgres -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")" = 1 ]; then
	createdb_q pvt22_postgis
	load_fixture pvt22_postgis "$TOP_SRCDIR/tests/fixtures/extensions_postgis.sql"
	round_trip pvt22_postgis
	c=pvt22_postgis_copy
	copy_is "$c" "SELECT srtext FROM public.spatial_ref_sys WHERE srid = 990001" 'LOCAL_CS["pgvault test grid"]'
	copy_is "$c" "SELECT string_agg(name, ',' ORDER BY id) FROM gis.within_km('SRID=4326;POINT(10.7 59.9)', 10)" "Oslo"
	copy_is "$c" "SELECT public.st_astext(geom) || ' ' || public.st_srid(path) FROM gis.places WHERE id = 1" "POINT(10.75 59.91) 990001"
	copy_is "$c" "SELECT public.st_astext((part).geom) FROM gis.dumps ORDER BY (part).path" "POINT(1 2)
POINT(3 4)"
	copy_is "$c" "SELECT pg_get_indexdef('gis.places_geom'::regclass)" \
		"CREATE INDEX places_geom ON gis.places USING gist (geom)"
	copy_is "$c" "SELECT count(*) FROM gis.nearby WHERE metres > 1000000" 3
else
	echo "PostGIS is not installed on this server (package postgresql-$major-postgis-3): its part is not run"
	if [ -n "${PV_REQUIRE_POSTGIS:-}${CI:-}" ] &&
		apt-cache show "postgresql-$major-postgis-3" >/dev/null 2>&1; then
		fail "PostGIS (postgresql-$major-postgis-3) is meant to be installed (contrib/install-deps.sh)"
	fi
fi
echo "all good"
