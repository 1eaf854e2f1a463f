#!/usr/bin/env bash
# tests/t/34-pgbouncer.sh — backups through a real PgBouncer (tests/lib/pgbouncer.sh) in
# front of the suite's server.  In session and in transaction pooling, backup --jobs 2
# (big tables in block ranges) under a writer that moves money between accounts restores
# with the invariants kept (one snapshot: tests/lib/money.sh), and the bundle records that
# it came through a pooler.  Statement pooling is refused with a message that says so, and
# leaves no bundle.  A restore through the pooler is refused (it must connect to the server
# itself).
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/pg.sh"
. "$TOP_SRCDIR/tests/lib/pgbouncer.sh"
. "$TOP_SRCDIR/tests/lib/money.sh"

[ -n "$PGBOUNCER" ] && [ -x "$PGBOUNCER" ] || { echo "no pgbouncer (contrib/install-deps.sh --tests installs it)" >&2; exit 1; }
cleanup() {
	money_writer_stop
	for m in session transaction statement; do pgbouncer_stop "$T/pgb-$m"; done
}
trap cleanup EXIT

DB=pvt34_app
dropdb_q "$DB"; dropdb_q "${DB}_r"
createdb_q "$DB"
money_setup "$DB"
q -d "$DB" -c "CREATE TABLE app.bulk AS SELECT i AS id, md5(i::text) AS h FROM generate_series(1, 30000) i" -c "VACUUM ANALYZE"
money_writer_start "$DB"

for mode in session transaction; do
	pgbouncer_start "$T/pgb-$mode" "" "$mode" 127.0.0.1 "$PGPORT"
	before=$(q -d "$DB" -c "SELECT count(*) FROM app.ledger_a")
	PGVAULT_RANGE_BLOCKS=2 pv -h 127.0.0.1 -p "$PGB_PORT" -U postgres -v backup --storage "$T/st" --db "$DB" --jobs 2
	expect_rc 0 "backup --jobs 2 through PgBouncer in $mode pooling"
	grep -q "on 2 sessions" "$T/err" || { cat "$T/err" >&2; fail "$mode pooling: not read on 2 sessions"; }
	id=$(grep -v ' pgvault: ' "$T/out")
	after=$(q -d "$DB" -c "SELECT count(*) FROM app.ledger_a")
	pv list --storage "$T/st" --db "$DB" --json
	python3 -c 'import json,sys; b=[b for b in json.load(open(sys.argv[1])) if b["id"] == sys.argv[2]][0]; assert b["source"]["pooler"] is True and b["source"]["port"] == sys.argv[3], b["source"]' \
		"$T/out" "$id" "$PGB_PORT" || fail "$mode pooling: the bundle does not record the pooler"
	pv restore --storage "$T/st" "$id" --as "${DB}_r"; expect_rc 0 "restore of the backup through $mode pooling"
	money_check "${DB}_r" "$mode pooling"
	[ "$MONEY_ROWS" -ge "$before" ] && [ "$MONEY_ROWS" -le "$after" ] || fail "$mode pooling: restored ledgers of $MONEY_ROWS rows, not between $before and $after"
	[ "$(q -d "${DB}_r" -c "SELECT count(*), sum(id) FROM app.bulk")" = "30000|450015000" ] || fail "$mode pooling: app.bulk restored wrong"
	echo "figure: backup --jobs 2 through PgBouncer, $mode pooling, under writes: ledgers $before..$after, restored $MONEY_ROWS and $MONEY_ROWS, total 400000"
	dropdb_q "${DB}_r"
done
money_writer_stop

# a restore through the pooler: refused before anything is created
pv -h 127.0.0.1 -p "$PGB_PORT" -U postgres restore --storage "$T/st" "$id" --as "${DB}_r"
expect_rc 1 "restore through PgBouncer"
expect_err "goes through a pooler"
expect_err "connect it to PostgreSQL's own host and port"
[ "$(q -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '${DB}_r' OR datname LIKE 'pgvault_restore_%'")" = 0 ] ||
	fail "a refused restore created a database"
pgbouncer_stop "$T/pgb-session"; pgbouncer_stop "$T/pgb-transaction"

pgbouncer_start "$T/pgb-statement" "" statement 127.0.0.1 "$PGPORT"
n=$(find "$T/st" -name '*.pgv' | wc -l)
pv -h 127.0.0.1 -p "$PGB_PORT" -U postgres backup --storage "$T/st" --db "$DB" --jobs 2
expect_rc 1 "backup through PgBouncer in statement pooling"
expect_err "statement pooling mode (PgBouncer's pool_mode = statement)"
expect_err "connect pgvault to a session or transaction pool, or to PostgreSQL itself"
grep -q "again from the start" "$T/err" && fail "statement pooling: the backup was tried again"
[ "$(find "$T/st" -name '*.pgv' | wc -l)" = "$n" ] || fail "statement pooling: a bundle was left"
echo "figure: statement pooling: $(grep -o 'the connection goes through.*' "$T/err" | head -c 160)..."
dropdb_q "$DB"
echo "all good"
