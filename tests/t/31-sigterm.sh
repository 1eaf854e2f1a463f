# A backup stopped with SIGTERM (or Ctrl-C) removes its temporary file at once: nothing is
# left in the storage directory, and the database is untouched.
. "$TOP_SRCDIR/tests/lib/common.sh"
DB=pvt31_term
dropdb_q "$DB"
createdb_q "$DB"
q -d "$DB" -c "CREATE TABLE big AS SELECT i AS id, md5(i::text) AS h, repeat('x', 60) AS pad
               FROM generate_series(1, 1500000) AS i"
for sig in TERM INT; do
	rm -rf "$T/st"
	PGVAULT_CHUNK_BYTES=1048576 "$PGVAULT" backup --storage "$T/st" --db "$DB" >"$T/bg.out" 2>"$T/bg.err" &
	pid=$!
	for ((i = 0; i < 6000; i++)); do
		[ -n "$(find "$T/st" -name '.*.tmp.*' -size +1k 2>/dev/null)" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	kill -0 "$pid" 2>/dev/null || fail "backup finished before SIG$sig could be sent"
	kill -"$sig" "$pid"
	set +e; wait "$pid"; st=$?; set -e
	[ "$st" -ge 128 ] || fail "SIG$sig: backup exited $st, expected death by signal"
	left=$(find "$T/st" -type f ! -name .lock 2>/dev/null)   # lock files stay, by design
	[ -z "$left" ] || fail "SIG$sig left files behind: $left"
done
dropdb_q "$DB"
