# tests/lib/money.sh — the one-snapshot oracle of the backup tests: a writer moves money
# between accounts and appends the amount to two ledgers, each in one transaction, while
# a backup runs; a restored copy read in one snapshot keeps the total and equal ledgers.
# Needs tests/lib/common.sh (q, fail).  The databases are reached as q reaches them
# (PGHOST, PGPORT).
#
# money_setup DB         app.accounts (400 rows of 1000, padded so they span many blocks),
#                        app.ledger_a, app.ledger_b
# money_writer_start DB  starts the writer (its psql's pid in MONEY_WRITER) and waits until
#                        it has committed a few hundred transactions
# money_writer_stop      stops it, its server session too
# money_check DB WHAT    the invariants in the restored DB: total 400000, ledgers of equal
#                        length; sets MONEY_ROWS (the ledgers' length)

money_setup() {
	q -d "$1" -c "CREATE SCHEMA IF NOT EXISTS app" \
		-c "CREATE TABLE app.accounts (id int PRIMARY KEY, balance bigint NOT NULL, pad text)" \
		-c "INSERT INTO app.accounts SELECT i, 1000, repeat('p', 200) FROM generate_series(1, 400) i" \
		-c "CREATE TABLE app.ledger_a (id bigserial PRIMARY KEY, amount int)" \
		-c "CREATE TABLE app.ledger_b (id bigserial PRIMARY KEY, amount int)" >/dev/null
}

money_writer_start() {
	cat >"$T/money-writer.sql" <<'SQL'
DO $$
DECLARE a int; b int; x int;
BEGIN
	FOR i IN 1..1000000 LOOP
		a := 1 + (random() * 399)::int; b := 1 + (random() * 399)::int; x := (random() * 50)::int;
		UPDATE app.accounts SET balance = balance - x WHERE id = a;
		UPDATE app.accounts SET balance = balance + x WHERE id = b;
		INSERT INTO app.ledger_a (amount) VALUES (x);
		INSERT INTO app.ledger_b (amount) VALUES (x);
		COMMIT;
	END LOOP;
END $$;
SQL
	PGAPPNAME=pvt_money_writer psql -X -q -d "$1" -f "$T/money-writer.sql" >/dev/null 2>&1 &
	MONEY_WRITER=$!
	local i
	for i in $(seq 100); do
		[ "$(q -d "$1" -c "SELECT count(*) FROM app.ledger_a")" -ge 300 ] && return 0
		sleep 0.1
	done
	fail "the money writer did not get going"
}

money_writer_stop() {
	[ -n "${MONEY_WRITER:-}" ] || return 0
	kill "$MONEY_WRITER" 2>/dev/null || true
	wait "$MONEY_WRITER" 2>/dev/null || true
	MONEY_WRITER=
	# (its server session goes on with the loop until it writes to the client: ended here)
	q -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pvt_money_writer'" >/dev/null
}

money_check() {
	local total na nb
	total=$(q -d "$1" -c "SELECT sum(balance) FROM app.accounts")
	[ "$total" = 400000 ] || fail "$2: restored total $total, expected 400000: the sessions saw different snapshots"
	na=$(q -d "$1" -c "SELECT count(*) FROM app.ledger_a")
	nb=$(q -d "$1" -c "SELECT count(*) FROM app.ledger_b")
	[ "$na" = "$nb" ] || fail "$2: ledgers of $na and $nb rows: the sessions saw different snapshots"
	MONEY_ROWS=$na
}
