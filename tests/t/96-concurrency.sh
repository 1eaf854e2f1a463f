#!/usr/bin/env bash
# tests/t/96-concurrency.sh — backup, prune, restore and verify of the same database started
# at the same instant, PV_CONCURRENCY_ROUNDS times (default 8): the locks serialize what
# must be (prune waits for the backup and the opening of the bundles being read; a read
# never finds a bundle half deleted); every command succeeds; afterwards every listed
# bundle verifies, no temporary file is left, and every restored copy holds the rows.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

DB=pvt96_conc
ST="$T/st"
ROUNDS="${PV_CONCURRENCY_ROUNDS:-8}"
cleanup() {
	local i
	dropdb_q "$DB" >/dev/null 2>&1 || true
	for i in $(seq "$ROUNDS"); do dropdb_q "${DB}_r$i" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
cleanup
createdb_q "$DB"
q -d "$DB" -c "CREATE TABLE t AS SELECT i, md5(i::text) AS h FROM generate_series(1, 100000) i"
cat >"$T/c.conf" <<CONF
[storage]
dir = $ST
[retention]
keep_days = 0
keep_min = 1
[backup]
lock_timeout = 2m
CONF
pv --config "$T/c.conf" backup --db "$DB"
expect_rc 0 "the first backup"
want=$(q -d "$DB" -c "SELECT count(*) || ':' || md5(string_agg(h, '' ORDER BY i)) FROM t")

ok=0
for i in $(seq "$ROUNDS"); do
	pids=()
	for cmd in "backup --db $DB" "prune" "restore $DB@latest --as ${DB}_r$i" "verify $DB@latest"; do
		# shellcheck disable=SC2086
		"$PGVAULT" --config "$T/c.conf" $cmd >"$T/out.$i.${cmd%% *}" 2>"$T/err.$i.${cmd%% *}" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		if ! wait "$p"; then
			cat "$T"/err."$i".* >&2
			fail "round $i: a command failed"
		fi
		ok=$((ok + 1))
	done
	got=$(q -d "${DB}_r$i" -c "SELECT count(*) || ':' || md5(string_agg(h, '' ORDER BY i)) FROM t")
	[ "$got" = "$want" ] || fail "round $i: the restored copy differs"
done
pv --config "$T/c.conf" verify --all
expect_rc 0 "verify --all afterwards"
listed=$(grep -c '^ok ' "$T/out")
pv --config "$T/c.conf" list
left=$(find "$ST" -name '*.tmp*' | wc -l)
[ "$left" = 0 ] || fail "temporary files left: $(find "$ST" -name '*.tmp*')"
for s in "$ST"/*/*.manifest.json; do [ -e "${s%.manifest.json}.pgv" ] || fail "orphan sidecar $s"; done
echo "figure: concurrency: $ROUNDS rounds of backup, prune, restore and verify of one database started together: $ok of $((ROUNDS * 4)) commands exit 0 (prune waiting for the locks), $ROUNDS restored copies identical; afterwards $listed listed bundles verify, 0 temporary files, 0 orphan sidecars"
