# Transient connection failures are retried with exponential backoff: a backup started
# while the server is down succeeds once the server is back within the retry window, and
# fails with a clear message (after its retries) when it stays down.  Uses a second
# private cluster so the shared one is never stopped.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/pg.sh"
A_HOST=$PGHOST A_PORT=$PGPORT
cleanup() { pg_stop "$T/pg2"; }
trap cleanup EXIT
pg_start "$T/pg2" >/dev/null
B_HOST=$PGHOST B_PORT=$PGPORT
export PGHOST=$A_HOST PGPORT=$A_PORT
psql -X -q -h "$B_HOST" -p "$B_PORT" -d postgres -c "CREATE DATABASE retrydb"
psql -X -q -h "$B_HOST" -p "$B_PORT" -d retrydb -c "CREATE TABLE t AS SELECT generate_series(1, 100) AS i"
pg_as_owner "$PGBIN/pg_ctl" -D "$T/pg2/data" -m fast -w stop >/dev/null

cat >"$T/c.conf" <<CONF
[connection]
retries = 4
retry_delay = 1s
CONF
"$PGVAULT" --config "$T/c.conf" -h "$B_HOST" -p "$B_PORT" backup --storage "$T/st" --db retrydb \
	>"$T/bg.out" 2>"$T/bg.err" &
pid=$!
sleep 2
pg_as_owner "$PGBIN/pg_ctl" -D "$T/pg2/data" -l "$T/pg2/log/server.log" -w \
	-o "-p $B_PORT -k $B_HOST -c listen_addresses=127.0.0.1" start >/dev/null
set +e; wait "$pid"; st=$?; set -e
[ "$st" = 0 ] || { cat "$T/bg.err" >&2; fail "backup did not survive the server coming back (exit $st)"; }
grep -q "retrying in" "$T/bg.err" || fail "no retry was logged"
[ -n "$(cat "$T/bg.out")" ] || fail "no bundle id printed"

# down for good: fails after its retries, exit 1, the message says unreachable
pg_as_owner "$PGBIN/pg_ctl" -D "$T/pg2/data" -m fast -w stop >/dev/null
pv --config "$T/c.conf" -h "$B_HOST" -p "$B_PORT" backup --storage "$T/st" --db retrydb
expect_rc 1 "backup with the server down"
expect_err "server unreachable"
[ "$(grep -c 'retrying in' "$T/err")" = 4 ] || fail "expected 4 retries: $(cat "$T/err")"
