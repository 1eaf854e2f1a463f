# Locks (SPEC §8): one backup of a database at a time, prune alone on a storage location.
# The first backup is made slow by a psql session holding ACCESS EXCLUSIVE on its table;
# a second backup of the same database exits 4 after --lock-timeout naming the lock and the
# holder's pid, or waits and succeeds when the timeout is long enough; a backup of another
# database is not held up; prune waits for running backups or exits 4.  Afterwards every
# bundle verifies and no temporary file remains.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

db=pv82_locks; other=pv82_other
dropdb_q "$db"; dropdb_q "$other"
createdb_q "$db"; createdb_q "$other"
q -d "$db" -c "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g"
q -d "$other" -c "CREATE TABLE u (id int); INSERT INTO u VALUES (1)"
st="$T/st"
cfg="$T/pgvault.conf"
printf '%s\n' '[storage]' "dir = $st" '[retention]' 'keep_days = 30' >"$cfg"
chmod 600 "$cfg"

holder=""; bgpids=()
cleanup() {
	exec 7>&- 2>/dev/null || true
	[ -n "$holder" ] && kill "$holder" 2>/dev/null || true
	local p; for p in "${bgpids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	dropdb_q "$db" || true; dropdb_q "$other" || true
}
trap cleanup EXIT

failures=0
check() { # description, then a command; records a failure instead of stopping
	local what="$1"; shift
	if "$@"; then echo "ok: $what"; else echo "NOT OK: $what" >&2; failures=$((failures + 1)); fi
}
show() { { echo "--- exit $rc; stdout:"; cat "$T/out"; echo "--- stderr:"; cat "$T/err"; } >&2; }
wait_for() { # SECONDS DESCRIPTION COMMAND...: poll every 0.1 s
	local limit=$(( $1 * 10 )) what="$2" i; shift 2
	for ((i = 0; i < limit; i++)); do "$@" && return 0; sleep 0.1; done
	fail "timed out waiting for: $what"
}

# A psql session that holds ACCESS EXCLUSIVE on t until release_table.
hold_table() {
	rm -f "$T/fifo"; mkfifo "$T/fifo"
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" <"$T/fifo" >"$T/holder.log" 2>&1 &
	holder=$!
	exec 7>"$T/fifo"
	echo "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT 'locked';" >&7
	wait_for 10 "the table lock" table_locked
}
table_locked() {
	[ "$(q -d "$db" -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
	     WHERE c.relname = 't' AND l.mode = 'AccessExclusiveLock' AND l.granted")" = 1 ]
}
release_table() { echo "COMMIT;" >&7; exec 7>&-; wait "$holder" || true; holder=""; }
# pgvault sessions of $db waiting for a table lock
blocked_backups() {
	q -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db'
	                  AND application_name = 'pgvault' AND wait_event_type = 'Lock'"
}
one_blocked() { [ "$(blocked_backups)" -ge 1 ]; }
alive() { kill -0 "$1" 2>/dev/null; }

# Last night's prune ran on this storage (and finished long ago).
pv --config "$cfg" prune; expect_rc 0 "a first prune"

# --- the first backup, blocked on its table lock --------------------------------------------
hold_table
"$PGVAULT" --config "$cfg" backup --db "$db" >"$T/b1.out" 2>"$T/b1.err" &
b1=$!; bgpids+=("$b1")
wait_for 20 "the first backup to block on the table" one_blocked
echo "first backup (pid $b1) is blocked on the table lock"

second_times_out() {
	pv --config "$cfg" backup --db "$db" --lock-timeout 1s
	[ "$rc" = 4 ] || { show; echo "second backup with --lock-timeout 1s: exit $rc, expected 4" >&2; return 1; }
	grep -qF "$db" "$T/err" && grep -qi "lock" "$T/err" ||
		{ show; echo "the message does not name the database and the lock" >&2; return 1; }
	grep -qE "pid $b1([^0-9]|$)" "$T/err" || { show; echo "the message does not name the holder, pid $b1" >&2; return 1; }
	[ ! -s "$T/out" ] || { show; echo "an id was printed" >&2; return 1; }
}
check "a second backup with --lock-timeout 1s exits 4 naming the lock and pid $b1" second_times_out
waits_full_timeout() {
	local t0 t1
	# start just before a second boundary: a timeout counted in whole clock seconds would
	# then give up after a few milliseconds instead of one second
	python3 -c 'import time; time.sleep((0.93 - time.time() % 1) % 1)'
	t0=$(date +%s.%N)
	pv --config "$cfg" backup --db "$db" --lock-timeout 1s
	t1=$(date +%s.%N)
	[ "$rc" = 4 ] || { show; echo "exit $rc, expected 4" >&2; return 1; }
	python3 -c "import sys; d = float(sys.argv[2]) - float(sys.argv[1]); sys.exit(0 if 0.9 <= d < 10 else 1)" "$t0" "$t1" ||
		{ show; echo "--lock-timeout 1s gave up after $(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 3))" "$t0" "$t1") s" >&2; return 1; }
}
check "--lock-timeout 1s waits a whole second" waits_full_timeout
second_no_wait() {
	pv --config "$cfg" backup --db "$db"
	[ "$rc" = 4 ] || { show; echo "second backup without --lock-timeout: exit $rc, expected 4" >&2; return 1; }
}
check "without --lock-timeout a second backup exits 4 at once" second_no_wait
config_timeout() {
	printf '%s\n' '[storage]' "dir = $st" '[backup]' 'lock_timeout = 2s' >"$T/lt.conf"
	local t0=$SECONDS
	pv --config "$T/lt.conf" backup --db "$db"
	[ "$rc" = 4 ] || { show; echo "with [backup] lock_timeout = 2s: exit $rc, expected 4" >&2; return 1; }
	[ $((SECONDS - t0)) -ge 1 ] || { echo "[backup] lock_timeout was not honoured (no wait)" >&2; return 1; }
}
check "[backup] lock_timeout applies without --lock-timeout" config_timeout
other_db() {
	pv --config "$cfg" backup --db "$other"
	[ "$rc" = 0 ] || { show; echo "backup of another database while $db is locked: exit $rc" >&2; return 1; }
}
check "a backup of another database is not held up" other_db

prune_times_out() {
	pv --config "$cfg" prune --lock-timeout 1s
	[ "$rc" = 4 ] || { show; echo "prune during a backup: exit $rc, expected 4" >&2; return 1; }
	grep -qi "lock" "$T/err" || { show; echo "the message does not mention the lock" >&2; return 1; }
	cp "$T/err" "$T/prune-locked.err"
}
check "prune with --lock-timeout 1s during a backup exits 4" prune_times_out
prune_names_holder() {
	# a pid in the message must be the running backup's, not a stale one
	cp "$T/prune-locked.err" "$T/err"; rc=4
	local named; named=$(grep -oE 'pid [0-9]+' "$T/err" | head -1 | cut -d' ' -f2)
	if [ -n "$named" ] && [ "$named" != "$b1" ]; then
		show; echo "the message names pid $named, which is not the running backup ($b1)$(alive "$named" || echo '; no such process')" >&2
		return 1
	fi
}
check "the message of a locked prune names no stale pid" prune_names_holder

# --- a second backup and a prune that wait -------------------------------------------------
"$PGVAULT" --config "$cfg" backup --db "$db" --lock-timeout 90s >"$T/b3.out" 2>"$T/b3.err" &
b3=$!; bgpids+=("$b3")
b3_waits() { grep -qs "waiting" "$T/b3.err"; }
wait_for 10 "the waiting backup to say so" b3_waits
"$PGVAULT" --config "$cfg" prune --lock-timeout 90s >"$T/p1.out" 2>"$T/p1.err" &
p1=$!; bgpids+=("$p1")
sleep 2
check "the waiting backup and prune are still waiting" eval 'alive "$b3" && alive "$p1" && alive "$b1"'
check "the waiting backup has not started a bundle" test -z "$(find "$st/$db" -name '.*.tmp.*' ! -name "*.tmp.$b1")"
release_table
set +e; wait "$b1"; rc1=$?; wait "$b3"; rc3=$?; wait "$p1"; rcp=$?; set -e
bgpids=()
id1=$(cat "$T/b1.out"); id3=$(cat "$T/b3.out")
echo "first backup: exit $rc1 ($id1); waiting backup: exit $rc3 ($id3); prune: exit $rcp"
check "the first backup succeeded" test "$rc1" = 0 -a -n "$id1"
check "the waiting backup succeeded after the first" test "$rc3" = 0 -a -n "$id3" -a "$id1" != "$id3"
check "the waiting prune succeeded" test "$rcp" = 0
order() {
	local f1 s3
	f1=$(stat -c %Y "$st/$db/$id1.pgv")
	s3=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot_epoch"])' "$st/$db/$id3.manifest.json")
	[ "$s3" -ge "$f1" ] || { echo "the waiting backup's snapshot ($s3) precedes the first one's completion ($f1)" >&2; return 1; }
	# the prune ran after both backups: it reports both bundles
	grep -qF "$id1" "$T/p1.out" && grep -qF "$id3" "$T/p1.out" ||
		{ cat "$T/p1.out" "$T/p1.err" >&2; echo "prune did not wait for the backups" >&2; return 1; }
}
check "the second backup and the prune ran after the first backup" order
verify_all() {
	pv --storage "$st" verify --all
	[ "$rc" = 0 ] || { show; echo "verify --all: exit $rc" >&2; return 1; }
	local n; n=$(find "$st/$db" -name '*.pgv' | wc -l)
	[ "$n" = 2 ] || { find "$st" >&2; echo "expected 2 bundles of $db, found $n" >&2; return 1; }
	local left; left=$(find "$st" -name '*.tmp*')
	[ -z "$left" ] || { echo "temporary files remain: $left" >&2; return 1; }
}
check "every bundle verifies, no temporary file remains" verify_all

[ "$failures" = 0 ] || fail "$failures check(s) failed"
