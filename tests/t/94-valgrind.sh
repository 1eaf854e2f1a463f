#!/usr/bin/env bash
# tests/t/94-valgrind.sh — valgrind memcheck on a backup → verify → list → restore round
# trip: no invalid read or write, no use of uninitialised memory, no definite leak, in any of
# the four commands (restore with two workers).  Needs a build without sanitizers (`make
# check-valgrind` runs it with the ordinary build; the sanitizer suite skips it).
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

command -v valgrind >/dev/null 2>&1 || { echo "valgrind is not installed"; exit 77; }
grep -q __asan_init "$PGVAULT" && { echo "$PGVAULT is a sanitizer build"; exit 77; }

DB=pvt94_vg NEW=pvt94_vg_copy
ST="$T/st"
cleanup() { dropdb_q "$DB" >/dev/null 2>&1 || true; dropdb_q "$NEW" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
createdb_q "$DB"
q -d "$DB" -c "CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL);
  CREATE TABLE messages (id bigserial PRIMARY KEY, user_id int REFERENCES users, body text, at timestamptz DEFAULT now());
  CREATE INDEX ON messages (user_id, at);
  INSERT INTO users (name) SELECT 'u' || i FROM generate_series(1, 200) i;
  INSERT INTO messages (user_id, body) SELECT 1 + i % 200, repeat('m', i % 300) FROM generate_series(1, 5000) i;
  CREATE VIEW v AS SELECT u.name, count(*) FROM users u JOIN messages m ON m.user_id = u.id GROUP BY 1;
  COMMENT ON TABLE users IS 'bot users'"
q -d "$DB" -c "SELECT lo_from_bytea(0, decode(repeat('cd', 50000), 'hex'))" >/dev/null

VG="valgrind -q --error-exitcode=97 --leak-check=full --show-leak-kinds=definite
    --errors-for-leak-kinds=definite --num-callers=30 --log-file=$T/vg.%p.log"
runs=0
vg() { # vg WHAT ARGS...: pgvault under memcheck; fails on any error
	local what="$1"; shift
	set +e
	$VG "$PGVAULT" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	set -e
	runs=$((runs + 1))
	if [ "$rc" = 97 ] || grep -qs 'ERROR SUMMARY: [1-9]\|definitely lost: [1-9]\|Invalid \|uninitialised' "$T"/vg.*.log; then
		cat "$T"/vg.*.log >&2
		fail "$what: memcheck found errors"
	fi
	[ "$rc" = 0 ] || { cat "$T/err" >&2; fail "$what: exit $rc"; }
}
vg backup backup --storage "$ST" --db "$DB"
ID=$(head -1 "$T/out")
vg verify verify --storage "$ST" "$ID"
vg list list --storage "$ST"
vg restore restore --storage "$ST" "$ID" --as "$NEW" --jobs 2
for t in users messages; do
	a=$(q -d "$DB" -c "SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) FROM $t x")
	b=$(q -d "$NEW" -c "SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) FROM $t x")
	[ "$a" = "$b" ] || fail "table $t differs after the round trip"
done
[ "$(q -d "$NEW" -c "SELECT md5(lo_get(oid)) FROM pg_largeobject_metadata")" = \
  "$(q -d "$DB" -c "SELECT md5(lo_get(oid)) FROM pg_largeobject_metadata")" ] || fail "the large object differs"
echo "figure: valgrind memcheck: backup, verify, list and restore --jobs 2 of a database with 2 tables (5,200 rows), a view and a 100 kB large object: $runs runs, 0 errors, 0 bytes definitely lost; the restored rows and large object identical"
