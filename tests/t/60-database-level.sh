# Database-level state travels with the bundle: grants on the database (as deltas from the
# default, e.g. REVOKE CONNECT FROM PUBLIC), its comment, ALTER DATABASE SET and
# ALTER ROLE ... IN DATABASE SET (names quoted, list elements each a literal: a value is
# never SQL text).  Privileges changed on a built-in function are reproduced
# as deltas against pg_init_privs.  An acl equal to the default but explicit stays explicit.
. "$TOP_SRCDIR/tests/lib/common.sh"
db=dblevel_src; copy=dblevel_copy
dropdb_q "$db"; dropdb_q "$copy"
createdb_q "$db"
q -d postgres <<SQL
DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pvt_dbuser') THEN CREATE ROLE pvt_dbuser LOGIN; END IF; END \$\$;
REVOKE CONNECT, TEMPORARY ON DATABASE $db FROM PUBLIC;
GRANT CONNECT ON DATABASE $db TO pvt_dbuser WITH GRANT OPTION;
COMMENT ON DATABASE $db IS 'bot''s database';
ALTER DATABASE $db SET search_path = app, "we ird", "a,""b", public, "\$user";
ALTER ROLE pvt_dbuser IN DATABASE $db SET temp_tablespaces = '';
ALTER DATABASE $db SET "pgvault_test.note" = 'it''s; DROP TABLE x; --';
ALTER DATABASE $db SET statement_timeout = '5s';
ALTER ROLE pvt_dbuser IN DATABASE $db SET work_mem = '8MB';
SQL
state() { # db -> acl, comment, settings (with the db name taken out)
	q -d postgres -c "SELECT datacl, shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$1'"
	q -d postgres -c "SELECT coalesce(setrole::regrole::text, '-'), setconfig FROM pg_db_role_setting s
	                  JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = '$1' ORDER BY 1"
}
pv backup --storage "$T/st" --db "$db"; expect_rc 0 backup
id=$(cat "$T/out")
pv restore --storage "$T/st" "$id" --as "$copy"; expect_rc 0 restore
diff <(state "$db") <(state "$copy") || fail "database-level state differs"
state "$copy" | grep -qF 'we ird' && state "$copy" | grep -qF 'DROP TABLE x' ||
	{ state "$copy" >&2; fail "settings of the fixture missing (the comparison above is empty?)"; }
s=$(state "$copy"); case "$s" in *"pvt_dbuser=c*/postgres"*) ;; *) fail "grant with grant option lost: $s" ;; esac

q -d "$db" -c "GRANT EXECUTE ON FUNCTION pg_catalog.pg_sleep(double precision) TO pvt_dbuser" 2>/dev/null || true
q -d "$db" -c "REVOKE EXECUTE ON FUNCTION pg_catalog.pg_sleep(double precision) FROM PUBLIC"
pv backup --storage "$T/st" --db "$db"; expect_rc 0 "backup with changed built-in privileges"
id=$(cat "$T/out")
dropdb_q "$copy"
pv restore --storage "$T/st" "$id" --as "$copy"; expect_rc 0 "restore with changed built-in privileges"
sleep_acl() { q -d "$1" -c "SELECT proacl FROM pg_proc WHERE oid = 'pg_catalog.pg_sleep(double precision)'::regprocedure"; }
[ -n "$(sleep_acl "$db")" ] || fail "pg_sleep's privileges were not changed in the source"
[ "$(sleep_acl "$db")" = "$(sleep_acl "$copy")" ] || fail "privileges on pg_sleep differ: $(sleep_acl "$db") vs $(sleep_acl "$copy")"
[ "$(q -d "$copy" -c "SELECT has_function_privilege('pvt_dbuser', 'pg_catalog.pg_sleep(double precision)', 'EXECUTE')")" = t ] ||
	fail "GRANT EXECUTE ON pg_sleep TO pvt_dbuser lost"
dropdb_q "$db"; dropdb_q "$copy"

# privileges granted and revoked back: equal to the default, but explicit (\l shows them);
# pg_restore loses that, pgvault keeps it
createdb_q "$db"
q -d postgres -c "GRANT CREATE ON DATABASE $db TO pvt_dbuser; REVOKE CREATE ON DATABASE $db FROM pvt_dbuser"
[ -n "$(q -d postgres -c "SELECT datacl FROM pg_database WHERE datname = '$db'")" ] || fail "source acl not explicit"
pv backup --storage "$T/st" --db "$db"; expect_rc 0 "backup (explicit default acl)"
id=$(cat "$T/out")
pv restore --storage "$T/st" "$id" --as "$copy"; expect_rc 0 "restore (explicit default acl)"
[ "$(q -d postgres -c "SELECT datacl FROM pg_database WHERE datname = '$copy'")" = "{=Tc/postgres,postgres=CTc/postgres}" ] ||
	fail "explicit default database acl: $(q -d postgres -c "SELECT datacl FROM pg_database WHERE datname = '$copy'")"
dropdb_q "$db"; dropdb_q "$copy"
