#!/usr/bin/env bash
# tests/t/36-fleet-progress.sh — several databases backed up at once (--jobs 4) each begin
# and end a progress line: only one thread's shows, and only that thread ends it.  Before,
# two threads could end the same reporter thread (joined twice) and the run hung forever
# (8 times in 12 here).  Six runs over 30 databases, each given 60 s.
. "$TOP_SRCDIR/tests/lib/common.sh"
args=()
for i in $(seq 1 30); do
	dropdb_q "pvt36_$i"
	createdb_q "pvt36_$i"
	q -d "pvt36_$i" -c "CREATE TABLE t AS SELECT 1 AS i"
	args+=(--db "pvt36_$i")
done
for round in 1 2 3 4 5 6; do
	rm -rf "$T/st"
	set +e
	PGVAULT_PROGRESS_INTERVAL=0.01 timeout 60 "$PGVAULT" backup --storage "$T/st" --jobs 4 -v "${args[@]}" >"$T/out" 2>"$T/err"
	rc=$?
	set -e
	[ "$rc" != 124 ] || fail "round $round: backup --jobs 4 of 30 databases hung (killed after 60 s)"
	[ "$rc" = 0 ] || { tail -20 "$T/err" >&2; fail "round $round: exit $rc"; }
	[ "$(grep -c . "$T/out")" = 30 ] || fail "round $round: $(grep -c . "$T/out") bundle ids, expected 30"
done
echo "figure: 6 runs of backup --jobs 4 over 30 databases with a progress line every 10 ms: none hung"
for i in $(seq 1 30); do dropdb_q "pvt36_$i"; done
echo "all good"
