#!/usr/bin/env bash
# tests/t/13-kinds-acl.sh — default privileges, privileges of built-in objects and of
# extension members (deltas against pg_init_privs), ALTER ... DEPENDS ON EXTENSION
# (tests/fixtures/kinds_acl.sql), plus extension configuration tables (a tiny test extension
# installed into the server's share directory) and security labels (the dummy_seclabel test
# module, tests/lib/seclabel.sh).  Backup, restore --as a copy, the oracle, and catalog
# checks that fail even where pg_dump --schema-only would not show a difference.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
. "$TOP_SRCDIR/tests/lib/seclabel.sh"

db=kinds_acl_src; copy=kinds_acl_copy
cleanup() { dropdb_q "$db" >/dev/null 2>&1 || true; dropdb_q "$copy" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
createdb_q "$db"
load_fixture "$db" "$TOP_SRCDIR/tests/fixtures/kinds_acl.sql"

# ---- an extension with configuration tables (needs a writable share directory)
pgc="$PGBIN/pg_config"; [ -x "$pgc" ] || pgc=pg_config
extdir="$("$pgc" --sharedir)/extension"
have_cfg=0
if [ -w "$extdir" ]; then
	cat >"$extdir/pvt_acl_cfg.control" <<-'CTL'
		comment = 'pgvault test: configuration tables'
		default_version = '1.0'
		relocatable = false
		schema = public
	CTL
	cat >"$extdir/pvt_acl_cfg--1.0.sql" <<-'SQL'
		CREATE TABLE pvt_conf (id int PRIMARY KEY, name text, standard_entry boolean NOT NULL DEFAULT false);
		INSERT INTO pvt_conf VALUES (1, 'standard', true);
		SELECT pg_catalog.pg_extension_config_dump('pvt_conf', 'WHERE NOT standard_entry');
		-- sorts before pvt_conf and references it: its rows must load after pvt_conf's
		CREATE TABLE pvt_aconf_item (id int PRIMARY KEY, conf int NOT NULL REFERENCES pvt_conf, v text,
		                             g int GENERATED ALWAYS AS (id * 2) STORED);
		SELECT pg_catalog.pg_extension_config_dump('pvt_aconf_item', '');
		CREATE SEQUENCE pvt_conf_seq;
		SELECT pg_catalog.pg_extension_config_dump('pvt_conf_seq', '');
		CREATE TABLE pvt_ext_tab (a int, b int);
		GRANT SELECT ON pvt_ext_tab TO PUBLIC;
		CREATE FUNCTION pvt_ext_fn() RETURNS int LANGUAGE sql AS 'SELECT 1';
	SQL
	have_cfg=1
	qdb "$db" <<-'SQL'
		CREATE EXTENSION pvt_acl_cfg;
		INSERT INTO pvt_conf VALUES (2, 'mine', false), (3, 'yours', false);
		INSERT INTO pvt_aconf_item (id, conf, v) VALUES (1, 2, 'x'), (2, 3, E'tab\there');
		SELECT setval('pvt_conf_seq', 42);
		REVOKE SELECT ON pvt_ext_tab FROM PUBLIC;
		GRANT SELECT, INSERT ON pvt_ext_tab TO pvt_acl_reader;
		GRANT UPDATE (b) ON pvt_ext_tab TO pvt_acl_writer;
		REVOKE EXECUTE ON FUNCTION pvt_ext_fn() FROM PUBLIC;
	SQL
else
	echo "13-kinds-acl: SKIPPED extension configuration tables ($extdir is not writable)" >&2
fi

# ---- security labels (needs the dummy_seclabel module)
have_labels=0
if seclabel_install && seclabel_enable; then
	have_labels=1
	qdb "$db" <<-SQL
		SECURITY LABEL FOR dummy ON SCHEMA acl_app IS 'classified';
		SECURITY LABEL FOR dummy ON TABLE acl_app.t IS 'secret';
		SECURITY LABEL FOR dummy ON COLUMN acl_app.t.v IS 'top secret';
		SECURITY LABEL FOR dummy ON FUNCTION acl_app.f() IS 'unclassified';
		SECURITY LABEL FOR dummy ON SEQUENCE acl_app.s IS 'classified';
		SECURITY LABEL FOR dummy ON MATERIALIZED VIEW acl_app.mv IS 'classified';
		SECURITY LABEL FOR dummy ON DATABASE $db IS 'secret';
	SQL
else
	echo "13-kinds-acl: SKIPPED security labels (the dummy_seclabel module could not be built or loaded)" >&2
fi

pv backup --storage "$T/st" --db "$db"; expect_rc 0 backup
id=$(cat "$T/out")
pv restore --storage "$T/st" "$id" --as "$copy"; expect_rc 0 restore
oracle_compare "$db" "$copy" || fail "restored copy differs from the source"

same() { # what sql: the query must give equal, non-empty results in both databases
	local a b
	a=$(qdb "$db" -c "$2"); b=$(qdb "$copy" -c "$2")
	[ -n "$a" ] || fail "$1: nothing in the source (the check would prove nothing)"
	[ "$a" = "$b" ] || { diff <(printf "%s\n" "$a") <(printf "%s\n" "$b") | head -40 >&2; fail "$1 differ"; }
}
same "default privileges" "SELECT pg_get_userbyid(d.defaclrole), coalesce(n.nspname, '-'), d.defaclobjtype,
	array(SELECT x::text FROM unnest(d.defaclacl) x ORDER BY 1)
	FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace ORDER BY 1, 2, 3"
[ "$(qdb "$copy" -c "SELECT count(*) FROM pg_default_acl")" = 8 ] || fail "expected 8 default privilege entries in the copy"
# ACLs of built-in objects and extension members (where they are not the initial ones)
acls="SELECT * FROM (
	SELECT pg_describe_object(k.classid, k.objid, k.sub) AS obj, array(SELECT x::text FROM unnest(k.acl) x ORDER BY 1)::text AS acl
	FROM (SELECT 'pg_proc'::regclass AS classid, oid AS objid, 0 AS sub, proacl AS acl, pronamespace AS nsp FROM pg_proc
	      UNION ALL SELECT 'pg_type'::regclass, oid, 0, typacl, typnamespace FROM pg_type
	      UNION ALL SELECT 'pg_class'::regclass, oid, 0, relacl, relnamespace FROM pg_class
	      UNION ALL SELECT 'pg_class'::regclass, attrelid, attnum, attacl, 0 FROM pg_attribute WHERE attnum > 0
	      UNION ALL SELECT 'pg_namespace'::regclass, oid, 0, nspacl, 0 FROM pg_namespace
	      UNION ALL SELECT 'pg_language'::regclass, oid, 0, lanacl, 0 FROM pg_language) k
	LEFT JOIN pg_init_privs ip ON ip.classoid = k.classid AND ip.objoid = k.objid AND ip.objsubid = k.sub
	WHERE (k.objid < 16384 OR EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = k.classid AND d.objid = k.objid AND d.deptype = 'e'))
	AND k.acl IS DISTINCT FROM ip.initprivs AND k.acl IS NOT NULL
	AND k.nsp <> 'information_schema'::regnamespace AND k.objid <> 'information_schema'::regnamespace) s ORDER BY 1"
same "privileges of built-in objects and extension members" "$acls"
for o in 'function pg_sleep(double precision)' 'type money' 'schema pg_catalog' 'language plpgsql' \
	'table pg_class' 'column pid of view pg_stat_activity' 'language sql' \
	'function "Acl Ext".similarity(text,text)' 'type hstore'; do
	qdb "$copy" -c "$acls" | grep -qF "$o|" || fail "copy lacks the changed privileges on $o"
done
same "dependencies on extensions" "SELECT pg_describe_object(classid, objid, objsubid), refobjid::regnamespace::text IS NULL,
	(SELECT extname FROM pg_extension e WHERE e.oid = d.refobjid) FROM pg_depend d WHERE deptype = 'x' ORDER BY 1, 3"
[ "$(qdb "$copy" -c "SELECT count(*) FROM pg_depend WHERE deptype = 'x'")" = 5 ] || fail "expected 5 DEPENDS ON EXTENSION in the copy"
[ "$(qdb "$copy" -c "SELECT has_function_privilege('pvt_acl_writer', 'pg_sleep(double precision)', 'EXECUTE')")" = f ] ||
	fail "REVOKE EXECUTE ON pg_sleep FROM PUBLIC lost"

if [ "$have_cfg" = 1 ]; then
	same "configuration rows" "SELECT * FROM pvt_conf ORDER BY id"
	same "configuration rows (referencing)" "SELECT * FROM pvt_aconf_item ORDER BY id"
	[ "$(qdb "$copy" -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM pvt_conf")" = 1,2,3 ] ||
		fail "config table rows: the standard row must come from CREATE EXTENSION, the others from the backup"
	same "configuration sequence" "SELECT last_value, is_called FROM pvt_conf_seq"
	[ "$(qdb "$copy" -c "SELECT last_value FROM pvt_conf_seq")" = 42 ] || fail "configuration sequence value lost"
	qdb "$copy" -c "$acls" | grep -qF 'column b of table pvt_ext_tab|' || fail "column privilege on an extension table lost"
fi
if [ "$have_labels" = 1 ]; then
	same "security labels" "SELECT objtype, objname, provider, label FROM pg_seclabels WHERE objtype <> 'database' ORDER BY 1, 2"
	[ "$(qdb "$copy" -c "SELECT count(*) FROM pg_seclabels WHERE objtype <> 'database'")" = 6 ] || fail "expected 6 object labels in the copy"
	[ "$(qdb "$copy" -c "SELECT label FROM pg_shseclabel s JOIN pg_database d ON d.oid = s.objoid WHERE d.datname = current_database()")" = secret ] ||
		fail "security label of the database lost"
	seclabel_disable
fi
