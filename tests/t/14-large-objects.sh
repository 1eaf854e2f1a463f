#!/usr/bin/env bash
# tests/t/14-large-objects.sh — large objects: an empty one, a small one, one holding every
# byte value, one with a low oid (1234) and a comment, one owned by another role with a grant
# and a comment, and a 64 MiB one of incompressible bytes.  Backup, verify, restore (serial and
# --jobs): same oids, owners, ACLs, comments and contents (md5); the 64 MiB object goes through
# backup and restore with bounded peak RSS; --schema-only and --data-only make no large
# objects; a flipped byte in a blob member fails verify naming the member, and the restore of
# that bundle leaves no database behind.  20000 small objects restore although the server's
# lock table cannot hold a lock on each of them in one transaction.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

DB=pvt14_lob
ST="$T/st"
RSS_MAX_KB=61440   # 60 MiB
# a sanitizer build's shadow memory and quarantine say nothing about pgvault's own buffers
[ -z "${ASAN_OPTIONS:-}" ] || RSS_MAX_KB=
ROLES=(pvt14_owner pvt14_reader)

cleanup() {
	local d r
	for d in "$DB" "${DB}_r" "${DB}_j" "${DB}_s" "${DB}_bad" "${DB}_many" "${DB}_many_r"; do dropdb_q "$d" >/dev/null 2>&1 || true; done
	for r in "${ROLES[@]}"; do q -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
cleanup
for r in "${ROLES[@]}"; do q -d postgres -c "CREATE ROLE $r NOLOGIN"; done
createdb_q "$DB"

q -d "$DB" <<'SQL'
CREATE TABLE docs (id int PRIMARY KEY, body oid);
-- low oid, with a comment
SELECT lo_create(1234);
SELECT lo_put(1234, 0, 'low oid contents'::bytea);
COMMENT ON LARGE OBJECT 1234 IS 'the low one';
-- empty
SELECT lo_create(40001);
-- small
SELECT lo_from_bytea(40002, 'hello, large world'::bytea);
-- every byte value, four times
SELECT lo_from_bytea(40003, (SELECT string_agg(set_byte('\x00'::bytea, 0, i % 256), ''::bytea ORDER BY i)
                              FROM generate_series(0, 1023) i));
-- another owner, a grant to a third role, a comment
SELECT lo_from_bytea(40004, 'owned by someone else'::bytea);
ALTER LARGE OBJECT 40004 OWNER TO pvt14_owner;
GRANT SELECT ON LARGE OBJECT 40004 TO pvt14_reader;
GRANT SELECT, UPDATE ON LARGE OBJECT 40002 TO pvt14_reader WITH GRANT OPTION;
COMMENT ON LARGE OBJECT 40004 IS 'it''s not mine';
-- 64 MiB of md5 bytes (incompressible), written 1 MiB at a time
DO $$
BEGIN
	PERFORM lo_create(40005);
	FOR k IN 0..63 LOOP
		PERFORM lo_put(40005, k * 1048576,
		    (SELECT decode(string_agg(md5((k * 65536 + i)::text), ''), 'hex') FROM generate_series(1, 65536) i));
	END LOOP;
END $$;
INSERT INTO docs VALUES (1, 40002), (2, 40005);
SQL

# oid, owner, acl, comment, size, md5 of every large object
lo_state() {
	q -d "$1" -c "SELECT m.oid, pg_get_userbyid(m.lomowner), coalesce(m.lomacl::text, '-'),
	    coalesce(obj_description(m.oid, 'pg_largeobject'), '-'), length(lo_get(m.oid)), md5(lo_get(m.oid))
	    FROM pg_largeobject_metadata m ORDER BY m.oid"
}
lo_count() { q -d "$1" -c "SELECT count(*) FROM pg_largeobject_metadata"; }
lo_state "$DB" >"$T/src.state"
[ "$(wc -l <"$T/src.state")" = 6 ] || fail "expected 6 large objects in the source"
grep -q '^40005|.*|67108864|' "$T/src.state" || fail "the big object is not 64 MiB"

# peak_kb FILE: maximum resident set size from /usr/bin/time -v output
peak_kb() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1"; }
check_rss() { # WHAT KB
	[ -n "$2" ] || fail "$1: no peak RSS measured"
	if [ -z "$RSS_MAX_KB" ]; then echo "$1: peak RSS not checked under a sanitizer"; return 0; fi
	[ "$2" -lt "$RSS_MAX_KB" ] || fail "$1 peak RSS $2 kB, limit $RSS_MAX_KB kB"
}
# timed_pv FILE ARGS...: pv under /usr/bin/time -v (report in FILE)
timed_pv() {
	local f="$1"; shift
	set +e
	/usr/bin/time -v -o "$f" "$PGVAULT" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	set -e
}

# ---------------------------------------------------------------- backup and verify
timed_pv "$T/time.backup" backup --storage "$ST" --db "$DB"
expect_rc 0 "backup with large objects"
ID=$(head -1 "$T/out")
PGV=$(bundle_file "$ST" "$ID")
kb=$(peak_kb "$T/time.backup")
echo "backup peak RSS: $kb kB"
check_rss backup "$kb"

pv verify --storage "$ST" "$ID"
expect_rc 0 "verify"

tar tf "$PGV" >"$T/members"
for o in 1234 40002 40003 40004; do
	grep -qx "blobs/$o.1.bin.zst" "$T/members" || fail "no member blobs/$o.1.bin.zst"
	! grep -q "^blobs/$o\.2\." "$T/members" || fail "small object $o split into several members"
done
! grep -q '^blobs/40001\.' "$T/members" || fail "the empty object has a member"
n=$(grep -c '^blobs/40005\.[0-9]*\.bin\.zst$' "$T/members" || true)
[ "$n" -ge 8 ] || fail "the 64 MiB object should span at least 8 members, has $n"
# data.json describes every large object with its size
tar xOf "$PGV" data.json | python3 -c '
import json, sys
toc = json.load(sys.stdin)
los = {e["oid"]: e for e in toc if e.get("kind") == "large object"}
assert sorted(los) == [1234, 40001, 40002, 40003, 40004, 40005], sorted(los)
assert los[40001]["size"] == 0 and los[40005]["size"] == 64 << 20, los
assert los[40004]["owner"] == "pvt14_owner" and los[40004]["acl_target"] == "LARGE OBJECT 40004"
assert "the low one" in los[1234]["comments"]
' || fail "data.json does not describe the large objects"

# ---------------------------------------------------------------- restore (serial, bounded memory)
timed_pv "$T/time.restore" restore --storage "$ST" "$ID" --as "${DB}_r"
expect_rc 0 "restore"
kb=$(peak_kb "$T/time.restore")
echo "restore peak RSS: $kb kB"
check_rss restore "$kb"
lo_state "${DB}_r" >"$T/r.state"
diff "$T/src.state" "$T/r.state" || fail "large objects differ after restore"
oracle_compare "$DB" "${DB}_r" || fail "restored database differs from the source"

# ---------------------------------------------------------------- restore --jobs
pv restore --storage "$ST" "$ID" --as "${DB}_j" --jobs 3
expect_rc 0 "restore --jobs 3"
lo_state "${DB}_j" >"$T/j.state"
diff "$T/src.state" "$T/j.state" || fail "large objects differ after restore --jobs"

# ---------------------------------------------------------------- schema only, data only
pv restore --storage "$ST" "$ID" --as "${DB}_s" --schema-only
expect_rc 0 "restore --schema-only"
[ "$(lo_count "${DB}_s")" = 0 ] || fail "--schema-only restored large objects"
pv restore --storage "$ST" "$ID" --as "${DB}_s" --data-only
expect_rc 0 "restore --data-only"
[ "$(q -d "${DB}_s" -c "SELECT count(*) FROM docs")" = 2 ] || fail "--data-only did not load the rows"
[ "$(lo_count "${DB}_s")" = 0 ] || fail "--data-only restored large objects"
expect_err "large object"

# ---------------------------------------------------------------- a flipped byte in a blob member
cp "$PGV" "$T/intact.pgv"
read -r MEMBER OFF SIZE < <(python3 - "$PGV" <<'EOF'
import tarfile, sys
with tarfile.open(sys.argv[1], "r:") as tf:
    ms = [m for m in tf.getmembers() if m.name.startswith("blobs/40005.")]
m = ms[len(ms) // 2]
print(m.name, m.offset_data, m.size)
EOF
)
echo "flipping a byte of $MEMBER"
python3 - "$PGV" $((OFF + SIZE / 2)) <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xFF]))
EOF
cmp -s "$PGV" "$T/intact.pgv" && fail "the byte flip did not change the bundle"
pv verify --storage "$ST" "$ID"
expect_rc 1 "verify of a bundle with a damaged blob member"
expect_err "$MEMBER"
pv restore --storage "$ST" "$ID" --as "${DB}_bad"
expect_rc 1 "restore of a bundle with a damaged blob member"
! db_exists "${DB}_bad" || fail "a failed restore left ${DB}_bad behind"
cp "$T/intact.pgv" "$PGV"

# ---------------------------------------------------------------- many large objects
createdb_q "${DB}_many"
q -d "${DB}_many" -c "SELECT count(lo_from_bytea(0, convert_to('lo ' || i, 'UTF8'))) FROM generate_series(1, 20000) i" >/dev/null
q -d "${DB}_many" -c "GRANT SELECT ON LARGE OBJECT $(q -d "${DB}_many" -c "SELECT max(oid) FROM pg_largeobject_metadata") TO pvt14_reader"
many_state() {
	q -d "$1" -c "SELECT count(*), md5(string_agg(m.oid || ':' || pg_get_userbyid(m.lomowner) || ':'
	    || coalesce(m.lomacl::text, '-') || ':' || md5(lo_get(m.oid)), ',' ORDER BY m.oid))
	    FROM pg_largeobject_metadata m"
}
pv backup --storage "$ST" --db "${DB}_many"
expect_rc 0 "backup of 20000 large objects"
MID=$(head -1 "$T/out")
pv restore --storage "$ST" "$MID" --as "${DB}_many_r"
expect_rc 0 "restore of 20000 large objects"
want=$(many_state "${DB}_many")
case "$want" in 20000\|*) ;; *) fail "expected 20000 large objects in the source: $want" ;; esac
[ "$(many_state "${DB}_many_r")" = "$want" ] || fail "the 20000 large objects differ after restore"
