#!/usr/bin/env bash
# tests/search-path-versions.sh — restores of search_path-dependent functions on PostgreSQL 17
# and 18, which build indexes and refresh materialized views with a search_path of their own
# (pg_catalog, pg_temp).  tests/fixtures/search_path.sql (a function naming a table without
# its schema, used by a CHECK, index expressions and a materialized view) is loaded into a
# PostgreSQL 15 server (the machine's) and into 17 and 18 servers run from the debootstrap
# trees of Debian trixie and sid; then, on 17 and 18:
#   15 -> V   the bundle of the 15 database restored into V;
#   V         the bundle of V's own database restored into V;
#   --data-only  the 15 bundle's rows into the emptied copy on V (materialized views refreshed);
# each must succeed, with the materialized view populated, the indexes valid, no function
# left with a search_path of its own, and the copy equal to its source under pg_dump of V
# (--schema-only) and the rows of every table.  Until the version matrix (tests/versions.sh)
# loads this fixture itself, this script is how those two servers run it.
#
# Usage: tests/search-path-versions.sh        (root; TOP_SRCDIR, TOP_BUILDDIR or PGVAULT as
#                                              for run-all.sh)
#   PGVAULT_TREE_CACHE=DIR  where the trees are (default /var/cache/pgvault-test; a tree is
#                           used once DIR/<suite>/.pgvault-tree-ok exists)
#   PV_PORT_BASE=N          first port tried for the servers
# Prints one line per scenario and ends with "N passed, N failed".
set -u
SRC="$(cd "${TOP_SRCDIR:-$(dirname "$0")/..}" && pwd)"
BUILD="$(cd "${TOP_BUILDDIR:-$SRC}" && pwd)"
export TOP_SRCDIR="$SRC" TOP_BUILDDIR="$BUILD"
export PGVAULT="${PGVAULT:-$BUILD/pgvault}"
. "$SRC/tests/lib/pg.sh"
CACHE="${PGVAULT_TREE_CACHE:-/var/cache/pgvault-test}"
FIXTURE="$SRC/tests/fixtures/search_path.sql"

WORK="$(mktemp -d /tmp/pgvault-sp.XXXXXX)"
chmod 755 "$WORK"
passed=0; failed=0
declare -A TREE PORT DIR

# tree_run V CMD...: CMD inside version V's tree, with its own /proc and /dev (a private mount
# namespace: nothing is mounted on the machine itself)
tree_run() {
	local t="${TREE[$1]}"; shift
	unshare -m sh -c 'mount -t proc proc "$0/proc" && mount --bind /dev "$0/dev" && exec chroot "$0" "$@"' "$t" "$@"
}

start_tree_server() { # V SUITE
	local v="$1" t="$CACHE/$2" d p
	[ -f "$t/.pgvault-tree-ok" ] || { echo "skip PostgreSQL $v: no tree $t (tests/lib/trees.sh builds it)"; return 1; }
	TREE[$v]="$t"
	d="/var/tmp/pgvault-sp.$$.$v"   # inside the tree
	p=$(pg_free_port "$(( ${PV_PORT_BASE:-5490} + v ))") || return 1
	mkdir -p "$t$d/data"
	chroot "$t" chown -R postgres: "$d"
	tree_run "$v" runuser -u postgres -- "/usr/lib/postgresql/$v/bin/initdb" -D "$d/data" -U postgres \
		--auth=trust -E UTF8 --locale=C.UTF-8 >"$WORK/initdb-$v.log" 2>&1 || { cat "$WORK/initdb-$v.log"; return 1; }
	echo "host all all 127.0.0.1/32 trust" >"$t$d/data/pg_hba.conf"
	tree_run "$v" runuser -u postgres -- "/usr/lib/postgresql/$v/bin/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t 60 \
		-o "-p $p -k $d -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null ||
		{ cat "$t$d/server.log"; return 1; }
	PORT[$v]=$p; DIR[$v]=$d
}

stop_tree_server() { # V
	local v="$1"
	[ -n "${DIR[$v]:-}" ] || return 0
	tree_run "$v" runuser -u postgres -- "/usr/lib/postgresql/$v/bin/pg_ctl" -D "${DIR[$v]}/data" -m immediate -w stop >/dev/null 2>&1
	rm -rf "${TREE[$v]}${DIR[$v]}"
	DIR[$v]=""
}

cleanup() {
	local v
	for v in 17 18; do stop_tree_server "$v"; done
	pg_stop "$WORK/pg15"
	[ "$failed" = 0 ] && rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

psql_at() { # PORT DB SQL...
	local port="$1" db="$2"; shift 2
	PGHOST=127.0.0.1 PGPORT="$port" PGUSER=postgres psql -X -q -v ON_ERROR_STOP=1 -At -d "$db" "$@"
}

# dump V PORT DB: pg_dump of version V (from its tree) --schema-only, then every table's rows
dump() {
	local v="$1" port="$2" db="$3" t
	tree_run "$v" "/usr/lib/postgresql/$v/bin/pg_dump" --schema-only --no-sync -h 127.0.0.1 -p "$port" -U postgres \
		--restrict-key=pgvaulttest -d "$db" | sed -e '/pg_attver=/d' -e '/^-- Dumped from database version /d' || return 1
	for t in public.items public.orders public.orders2 public.safe_t public.stock; do
		echo "-- rows of $t"
		psql_at "$port" "$db" -c "COPY (SELECT * FROM $t) TO STDOUT" | LC_ALL=C sort
	done
}

# check NAME V PORT SRCDB SRCPORT: restore the bundle $ID (in $WORK/st) into V as sp_copy
check() {
	local name="$1" v="$2" port="$3" srcdb="$4" srcport="$5" log="$WORK/$1.log"
	{
		psql_at "$port" postgres -c "DROP DATABASE IF EXISTS sp_copy WITH (FORCE)" &&
		PGHOST=127.0.0.1 PGPORT="$port" PGUSER=postgres "$PGVAULT" restore --storage "$WORK/st" "$ID" --as sp_copy &&
		[ "$(psql_at "$port" sp_copy -c "SELECT q FROM public.stock")" = 5 ] &&
		[ "$(psql_at "$port" sp_copy -c "SELECT count(*) FROM pg_index WHERE NOT indisvalid")" = 0 ] &&
		[ "$(psql_at "$port" sp_copy -c "SELECT count(*) FROM pg_proc WHERE proname = 'getqty' AND proconfig IS NULL")" = 1 ] &&
		dump "$v" "$srcport" "$srcdb" >"$WORK/$name.src" && dump "$v" "$port" sp_copy >"$WORK/$name.copy" &&
		diff "$WORK/$name.src" "$WORK/$name.copy"
	} >"$log" 2>&1
	if [ $? = 0 ]; then passed=$((passed + 1)); echo "ok   $name"
	else failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/     /' "$log" | tail -20; fi
}

# data_only NAME V PORT SRCDB SRCPORT: empty the tables and the materialized view of sp_copy
# (with getqty's search_path pinned meanwhile: 17+ rebuilds the indexes and the view with a
# search_path of its own), then restore --data-only into it (which refreshes the view)
data_only() {
	local name="$1" v="$2" port="$3" srcdb="$4" srcport="$5" log="$WORK/$1.log"
	{
		psql_at "$port" sp_copy -c "ALTER FUNCTION public.getqty(integer) SET search_path = public" \
			-c "TRUNCATE public.items, public.orders, public.orders2, public.safe_t" \
			-c "REFRESH MATERIALIZED VIEW public.stock WITH NO DATA" \
			-c "ALTER FUNCTION public.getqty(integer) RESET search_path" &&
		PGHOST=127.0.0.1 PGPORT="$port" PGUSER=postgres "$PGVAULT" restore --storage "$WORK/st" "$ID" --as sp_copy --data-only &&
		[ "$(psql_at "$port" sp_copy -c "SELECT q FROM public.stock")" = 5 ] &&
		[ "$(psql_at "$port" sp_copy -c "SELECT count(*) FROM pg_proc WHERE proname = 'getqty' AND proconfig IS NULL")" = 1 ] &&
		dump "$v" "$srcport" "$srcdb" >"$WORK/$name.src" && dump "$v" "$port" sp_copy >"$WORK/$name.copy" &&
		diff "$WORK/$name.src" "$WORK/$name.copy"
	} >"$log" 2>&1
	if [ $? = 0 ]; then passed=$((passed + 1)); echo "ok   $name"
	else failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/     /' "$log" | tail -20; fi
}

backup() { # PORT: backs up sp_src there, sets ID
	PGHOST=127.0.0.1 PGPORT="$1" PGUSER=postgres "$PGVAULT" backup --storage "$WORK/st" --db sp_src >"$WORK/id" 2>"$WORK/backup.err" ||
		{ cat "$WORK/backup.err"; return 1; }
	ID=$(head -1 "$WORK/id")
}

pg_start "$WORK/pg15" "$(pg_free_port)" || exit 1
P15=$PGPORT
psql_at "$P15" postgres -c "CREATE DATABASE sp_src TEMPLATE template0" &&
	psql_at "$P15" sp_src -f "$FIXTURE" >/dev/null && backup "$P15" || { echo "FAIL setting up on 15"; exit 1; }
ID15=$ID
for v in 17 18; do
	suite=trixie; [ "$v" = 18 ] && suite=sid
	start_tree_server "$v" "$suite" || { failed=$((failed + 1)); echo "FAIL PostgreSQL $v did not start"; continue; }
	ID=$ID15
	check "15 -> $v" "$v" "${PORT[$v]}" sp_src "$P15"
	data_only "15 -> $v --data-only" "$v" "${PORT[$v]}" sp_src "$P15"
	if psql_at "${PORT[$v]}" postgres -c "CREATE DATABASE sp_src TEMPLATE template0" &&
		psql_at "${PORT[$v]}" sp_src -f "$FIXTURE" >/dev/null && backup "${PORT[$v]}"; then
		check "$v" "$v" "${PORT[$v]}" sp_src "${PORT[$v]}"
	else
		failed=$((failed + 1)); echo "FAIL $v: setting up the source"
	fi
	stop_tree_server "$v"
done
[ "$failed" = 0 ] || echo "logs in $WORK"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
