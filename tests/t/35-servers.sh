#!/usr/bin/env bash
# tests/t/35-servers.sh — two servers in one configuration ([server:NAME]), each with a
# database "app" of its own rows.  A single-server configuration's bundle made first stays
# where it is and stays listed and restorable.  Then one daemon tick backs up both servers;
# their bundles stay apart (STORAGE/@a, STORAGE/@b); list, status and restore
# (SERVER/app@latest) address each one; prune goes through each; an unknown --server is
# refused.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/cluster.sh"

daemon=
cleanup() {
	[ -z "$daemon" ] || kill "$daemon" 2>/dev/null || true
	pg_stop "$T/a"; pg_stop "$T/b"
}
trap cleanup EXIT
(pg_start "$T/a" >/dev/null) && (pg_start "$T/b" >/dev/null) || fail "cannot start the two servers"
AP=$(cluster_port "$T/a") BP=$(cluster_port "$T/b")
AS="$T/a/sock" BS="$T/b/sock"
on() { local h="$1" p="$2"; shift 2; psql -X -q -At -v ON_ERROR_STOP=1 -h "$h" -p "$p" -U postgres "$@"; }
for x in "$AS $AP from-a 3" "$BS $BP from-b 5"; do
	set -- $x
	on "$1" "$2" -d postgres -c "CREATE DATABASE app"
	on "$1" "$2" -d app -c "CREATE TABLE t AS SELECT i, '$3'::text AS src FROM generate_series(1, $4) i"
done
ST="$T/st"

# a single-server configuration first: its bundle stays in the storage itself
cat >"$T/one.conf" <<CONF
[connection]
host = $AS
port = $AP
user = postgres
[storage]
dir = $ST
[backup]
databases = app
CONF
chmod 600 "$T/one.conf"
pv --config "$T/one.conf" backup; expect_rc 0 "backup with one server"
OLD=$(cat "$T/out")
[ -f "$ST/app/$OLD.pgv" ] || fail "the single-server bundle is not in the storage itself"

cat >"$T/two.conf" <<CONF
[connection]
host = $AS
port = $AP
user = postgres
[storage]
dir = $ST
[backup]
databases = app
[server:a]
host = $AS
port = $AP
[server:b]
host = $BS
port = $BP
[schedule]
backup = * * * * *
[retention]
keep_days = 30
[notify]
metrics_file = $T/metrics.prom
CONF
chmod 600 "$T/two.conf"
"$PGVAULT" --config "$T/two.conf" -v daemon >"$T/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 400); do
	grep -q "backup finished" "$T/daemon.log" && break
	grep -q "backup failed" "$T/daemon.log" && { cat "$T/daemon.log" >&2; fail "the daemon's backup failed"; }
	sleep 0.25
done
grep -q "backup finished" "$T/daemon.log" || { cat "$T/daemon.log" >&2; fail "no daemon tick backed up within 100 s"; }
kill "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=
[ "$(find "$ST/@a/app" -name '*.pgv' | wc -l)" = 1 ] || fail "server a: not one bundle in $ST/@a/app"
[ "$(find "$ST/@b/app" -name '*.pgv' | wc -l)" = 1 ] || fail "server b: not one bundle in $ST/@b/app"
[ "$(find "$ST/app" -name '*.pgv' | wc -l)" = 1 ] || fail "the single-server bundle moved or another joined it"
for x in a b; do
	grep -q 'pgvault_last_run_success{database="app"} 1' "$T/metrics.$x.prom" 2>/dev/null || fail "no metrics file of server $x"
done
echo "figure: one daemon tick: $(find "$ST" -name '*.pgv' | sed "s|$ST/||" | sort | tr '\n' ' ')"

pv --config "$T/two.conf" list --json; expect_rc 0 "list --json of two servers"
python3 - "$T/out" "$OLD" <<'PY' || fail "list --json does not address each server"
import json, sys
rows = json.load(open(sys.argv[1]))
by = {}
for r in rows:
    by.setdefault(r["server"], []).append(r)
assert set(by) == {None, "a", "b"}, by.keys()
assert [r["id"] for r in by[None]] == [sys.argv[2]], by[None]
for s in "ab":
    assert len(by[s]) == 1 and by[s][0]["database"] == "app" and by[s][0]["verified"], by[s]
print("figure: list --json: " + ", ".join(f"{r['server']}/{r['database']} {r['id']}" for r in rows))
PY
pv --config "$T/two.conf" list; expect_rc 0 "list of two servers"
grep -q "^a/app " "$T/out" && grep -q "^b/app " "$T/out" && grep -q "^app " "$T/out" || { cat "$T/out" >&2; fail "list does not show a/app, b/app and app"; }

pv --config "$T/two.conf" status --json; expect_rc 0 "status of two servers"
python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
got = sorted((r["server"], r["database"], r["status"]) for r in rows)
assert got == [("a", "app", "ok"), ("b", "app", "ok")], got' "$T/out" || { cat "$T/out" >&2; fail "status does not address each server"; }

# restore SERVER/app@latest: that server's bundle, into that server
pv --config "$T/two.conf" restore a/app@latest --as app_r; expect_rc 0 "restore a/app@latest"
pv --config "$T/two.conf" restore b/app@latest --as app_r; expect_rc 0 "restore b/app@latest"
[ "$(on "$AS" "$AP" -d app_r -c "SELECT count(*), min(src), max(src) FROM t")" = "3|from-a|from-a" ] || fail "a/app@latest did not restore server a's rows into server a"
[ "$(on "$BS" "$BP" -d app_r -c "SELECT count(*), min(src), max(src) FROM t")" = "5|from-b|from-b" ] || fail "b/app@latest did not restore server b's rows into server b"
pv --config "$T/two.conf" --server b restore app@latest --as app_r2; expect_rc 0 "--server b restore app@latest"
[ "$(on "$BS" "$BP" -d app_r2 -c "SELECT count(*) FROM t")" = 5 ] || fail "--server b: not server b's bundle"
# the single-server bundle: restorable as before (the unnamed server, [connection])
pv --config "$T/two.conf" restore app@latest --as app_old; expect_rc 0 "restore of the single-server bundle"
[ "$(on "$AS" "$AP" -d app_old -c "SELECT count(*) FROM t")" = 3 ] || fail "the single-server bundle restored wrong"
echo "figure: restore a/app@latest -> 3 rows from-a on server a, b/app@latest -> 5 rows from-b on server b, app@latest (the single-server bundle) -> server a"

pv --config "$T/two.conf" verify --all; expect_rc 0 "verify --all over two servers"
[ "$(grep -c . "$T/out")" = 3 ] || { cat "$T/out" >&2; fail "verify --all did not verify the 3 bundles of the 3 storages"; }
pv --config "$T/two.conf" verify b/app@latest; expect_rc 0 "verify b/app@latest"
grep -q "$(basename "$(find "$ST/@b/app" -name '*.pgv')" .pgv)" "$T/out" || { cat "$T/out" >&2; fail "verify b/app@latest did not verify server b's bundle"; }
pv --config "$T/two.conf" -v prune --dry-run; expect_rc 0 "prune --dry-run over two servers"
for d in "$ST/@a" "$ST/@b" "$ST"; do
	grep -qF "would delete 0 bundle(s) in $d" "$T/err" || { cat "$T/err" >&2; fail "prune did not go through $d"; }
done
pv --config "$T/two.conf" --server c list; expect_rc 2 "--server of no section"
expect_err 'no server "c": the configuration has no [server:c] section'
echo "all good"
