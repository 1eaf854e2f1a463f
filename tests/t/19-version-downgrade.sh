#!/usr/bin/env bash
# tests/t/19-version-downgrade.sh — a bundle restores into the same or a newer major
# version only.  PV_NEWER_SERVER=HOST:PORT names a server of a newer major version than the
# suite's (trusted postgres over TCP, e.g. 17 or 18 in a debootstrap tree): a bundle made
# there is refused by the suite's server before anything is created, with a message naming
# both versions; and a bundle of the suite's server restores there (an upgrade) with every
# row.  Skipped without PV_NEWER_SERVER.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
[ -n "${PV_NEWER_SERVER:-}" ] || { echo "needs PV_NEWER_SERVER=host:port (a newer major version)"; exit 77; }
NH="${PV_NEWER_SERVER%:*}" NP="${PV_NEWER_SERVER##*:}"
newer() { PGHOST="$NH" PGPORT="$NP" "$@"; }
old_v=$(server_version_num); new_v=$(newer q -d postgres -c "SHOW server_version_num")
[ $((new_v / 10000)) -gt $((old_v / 10000)) ] ||
	{ echo "PV_NEWER_SERVER is $new_v, not a newer major version than $old_v"; exit 77; }
old_s=$(q -d postgres -c "SHOW server_version" | cut -d' ' -f1)
new_s=$(newer q -d postgres -c "SHOW server_version" | cut -d' ' -f1)

db='vd "src"'; copy='vd copy'
cleanup() {
	local s
	for s in "" newer; do
		$s dropdb_q "$db"; $s dropdb_q "$copy"
		$s q -d postgres -c "DROP ROLE IF EXISTS pv_vd_owner"
	done
}
trap cleanup EXIT
cleanup
fixture() {
	createdb_q "$db"
	load_fixture "$db" "$TOP_SRCDIR/tests/fixtures/data.sql" >/dev/null 2>&1 || fail "fixture"
	# a role only the bundle names: a refused restore must not create it either
	qdb "$db" -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pv_vd_owner') THEN CREATE ROLE pv_vd_owner; END IF; END \$\$" \
		-c "CREATE TABLE vd_owned (x int)" -c "ALTER TABLE vd_owned OWNER TO pv_vd_owner"
}
counts() { # rows of every table, through the same query on either server
	qdb "$db" -c "SELECT pg_catalog.format('SELECT %L, count(*) FROM %I.%I;', n.nspname || '.' || c.relname, n.nspname, c.relname)
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	  WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1" >"$T/counts.sql"
	qdb "$1" -f "$T/counts.sql"
}

# ---- newer -> older: refused before anything is created
newer fixture
PGHOST="$NH" PGPORT="$NP" pv backup --storage "$T/st" --db "$db"
expect_rc 0 "backup on the newer server"
id=$(head -1 "$T/out")
q -d postgres -c "DROP ROLE IF EXISTS pv_vd_owner"
dbs_before=$(q -d postgres -c "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database")
pv restore --storage "$T/st" "$id" --as "$copy"
expect_rc 1 "restore of a $new_s bundle into $old_s"
expect_err "bundle from PostgreSQL $new_s cannot be restored into PostgreSQL $old_s"
expect_err "older major version"
[ "$(q -d postgres -c "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database")" = "$dbs_before" ] ||
	fail "a refused restore created or dropped a database"
[ "$(q -d postgres -c "SELECT count(*) FROM pg_roles WHERE rolname = 'pv_vd_owner'")" = 0 ] ||
	fail "a refused restore created a role"

# ---- older -> newer: restores, every row there
fixture
pv backup --storage "$T/st" --db "$db"
expect_rc 0 "backup on the older server"
id=$(head -1 "$T/out")
newer dropdb_q "$copy"
PGHOST="$NH" PGPORT="$NP" pv restore --storage "$T/st" "$id" --as "$copy"
expect_rc 0 "restore of a $old_s bundle into $new_s"
counts "$db" >"$T/counts.old"
PGHOST="$NH" PGPORT="$NP" counts "$copy" >"$T/counts.new"
diff -u "$T/counts.old" "$T/counts.new" || fail "rows differ after restoring into the newer server"
[ -s "$T/counts.old" ] || fail "the fixture has no tables"
echo "all good"
