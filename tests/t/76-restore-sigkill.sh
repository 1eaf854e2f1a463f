# A restore killed with SIGKILL (no chance to clean up) leaves only a temporary
# pgvault_restore_* database, never a half-filled one under the real name; its name and
# comment name the host and process, and the next restore on this host drops it (one without
# a comment, as a kill during CREATE DATABASE leaves, too; not another host's or a live one's).
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
DB=pvt76_src; NEW=pvt76_new
dropdb_q "$DB"; dropdb_q "$NEW"
createdb_q "$DB"
q -d "$DB" -c "CREATE TABLE big AS SELECT i AS id, md5(i::text) AS h FROM generate_series(1, 1500000) i"
PGVAULT_CHUNK_BYTES=1048576 pv backup --storage "$T/st" --db "$DB"; expect_rc 0 backup
ID=$(cat "$T/out")
temps() { q -d postgres -c "SELECT datname FROM pg_database WHERE datname LIKE 'pgvault\_restore\_%'"; }
[ -z "$(temps)" ] || fail "temporary databases exist before the test: $(temps)"
"$PGVAULT" restore --storage "$T/st" "$ID" --as "$NEW" >"$T/bg.out" 2>"$T/bg.err" &
pid=$!
for ((i = 0; i < 1000; i++)); do
	[ -n "$(q -d postgres -c "SELECT 1 FROM pg_stat_activity WHERE application_name = 'pgvault'
	        AND datname LIKE 'pgvault\_restore\_%' AND query LIKE 'COPY %'")" ] && break
	kill -0 "$pid" 2>/dev/null || fail "restore ended before it could be killed"
	sleep 0.02
done
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
sleep 1
! db_exists "$NEW" || fail "SIGKILL left a database under the real name $NEW"
left=$(temps)
[ -n "$left" ] || fail "expected the killed restore's temporary database"
comment=$(q -d postgres -c "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$left'")
case "$comment" in *"pid $pid"*) ;; *) fail "temporary database not marked with its process: $comment" ;; esac
# a kill during CREATE DATABASE leaves one without a comment: its name says whose it is
tag=$(python3 -c 'import socket
h = 2166136261
for b in socket.gethostname().encode():
    h = ((h ^ b) * 16777619) & 0xFFFFFFFF
print("%08x" % h)')
dead=$(sh -c 'echo $$') # a pid that is gone
unmarked="pgvault_restore_20260101T000000Z_${dead}_$tag"
other_host="pgvault_restore_20260101T000000Z_${dead}_00000000"
alive="pgvault_restore_20260101T000000Z_$$_$tag"
for d in "$unmarked" "$other_host" "$alive"; do q -d postgres -c "CREATE DATABASE \"$d\"" >/dev/null; done
pv restore --storage "$T/st" "$ID" --as "$NEW"; expect_rc 0 "the next restore"
grep -q "left by an interrupted restore" "$T/err" || fail "the next restore did not say it dropped $left"
! db_exists "$unmarked" || fail "the unmarked temporary database of a gone process of this host was not dropped"
db_exists "$other_host" || fail "a temporary database of another host was dropped"
db_exists "$alive" || fail "the temporary database of a live process was dropped"
dropdb_q "$other_host"; dropdb_q "$alive"
[ -z "$(temps)" ] || fail "stale temporary database still there: $(temps)"
oracle_compare "$DB" "$NEW" || fail "restored copy differs"
[ -z "$(q -d postgres -c "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$NEW'")" ] \
	|| fail "the in-progress mark stayed as the database comment"
dropdb_q "$DB"; dropdb_q "$NEW"
