#!/usr/bin/env bash
# tests/t/19-zstd-boundaries.sh — members whose uncompressed size is an exact multiple of
# zstd's 128 KiB output buffer (issue 15: 6ed9233 called zstd once more after such a frame
# ended and reported "zstd: truncated frame", so these databases could not be backed up):
# a large object of exactly 256 KiB (compressible and less so), a table with one row of
# 131,071 bytes (131,072 with COPY's newline), a table whose one COPY member is exactly
# 379 x 128 KiB.  Each backs up, verifies (also with zstd -t on the member), restores
# serially and with --jobs, and equals the source under the oracles.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

ST="$T/st"
CHUNK=131072            # ZSTD_DStreamOutSize()
DBS=(pvt19_lo pvt19_row pvt19_379)
unset PGVAULT_CHUNK_BYTES

cleanup() {
	local d
	for d in "${DBS[@]}"; do
		for s in "" _r _j; do dropdb_q "$d$s" >/dev/null 2>&1 || true; done
	done
}
trap cleanup EXIT
cleanup
for d in "${DBS[@]}"; do createdb_q "$d"; done

q -d pvt19_lo >/dev/null <<'SQL'
CREATE TABLE docs (id int PRIMARY KEY, body oid);
-- 256 KiB of one repeated line (compresses to almost nothing)
SELECT lo_from_bytea(41001, convert_to(repeat('pgvault large object line ' || chr(10), 9709)
                                        || repeat('x', 262144 - 27 * 9709), 'UTF8'));
-- 256 KiB of md5 hex text (compresses about 2:1)
SELECT lo_from_bytea(41002, convert_to((SELECT string_agg(md5(i::text), '' ORDER BY i)
                                        FROM generate_series(1, 8192) i), 'UTF8'));
INSERT INTO docs VALUES (1, 41001), (2, 41002);
SQL

q -d pvt19_row <<'SQL'
CREATE TABLE wide (v text);
INSERT INTO wide SELECT repeat('w', 131071);
SQL

# 49676 rows of 999 characters + 1 row of 287: 49676 * 1000 + 288 = 379 * 131072 bytes of COPY text
q -d pvt19_379 <<'SQL'
CREATE TABLE bulk (v text);
INSERT INTO bulk SELECT substr(repeat(md5(i::text), 32), 1, 999) FROM generate_series(1, 49676) i;
INSERT INTO bulk SELECT repeat('z', 287);
SQL

# the sizes the test is about, measured as PostgreSQL produces them
lo_state() {
	q -d "$1" -c "SELECT m.oid, length(lo_get(m.oid)), md5(lo_get(m.oid))
	    FROM pg_largeobject_metadata m ORDER BY m.oid"
}
lo_state pvt19_lo >"$T/lo.state"
[ "$(grep -c '|262144|' "$T/lo.state")" = 2 ] || { cat "$T/lo.state" >&2; fail "the large objects are not 256 KiB each"; }
n=$(q -d pvt19_row -c "COPY wide TO STDOUT" | wc -c)
[ "$n" = "$CHUNK" ] || fail "COPY of the one-row table gives $n bytes, expected $CHUNK"
n=$(q -d pvt19_379 -c "COPY bulk TO STDOUT" | wc -c)
[ "$n" = $((379 * CHUNK)) ] || fail "COPY of the bulk table gives $n bytes, expected $((379 * CHUNK))"

# member_raw PGV REGEX: "name raw_size" of every member matching REGEX, from the manifest
member_raw() {
	tar xOf "$1" manifest.json | python3 -c '
import json, re, sys
for m in json.load(sys.stdin)["members"]:
    if re.search(sys.argv[1], m["name"]):
        print(m["name"], m.get("raw_size"))' "$2"
}

# roundtrip DB MEMBER_REGEX EXPECTED_RAW_SIZES: backup, verify, members as expected, each
# member accepted by zstd -t, restore serially and with --jobs, compare with the source.
# (Run in a subshell, where set -e does not apply: every step checks its own outcome.)
roundtrip() {
	local db="$1" re="$2" want="$3" id pgv got m
	pv backup --storage "$ST" --db "$db"
	expect_rc 0 "backup of $db"
	id=$(head -1 "$T/out")
	pgv=$(bundle_file "$ST" "$id") || fail "$db: no bundle"
	pv verify --storage "$ST" "$id"
	expect_rc 0 "verify of $db"

	got=$(member_raw "$pgv" "$re" | awk '{print $2}' | sort -n | tr '\n' ' ') || fail "$db: no manifest"
	[ "$got" = "$want " ] || { member_raw "$pgv" "$re" >&2; fail "$db: member raw sizes '$got', expected '$want '"; }
	for m in $(member_raw "$pgv" "$re" | awk '{print $1}'); do
		tar xOf "$pgv" "$m" | zstd -tq || fail "$db: zstd -t refuses member $m"
	done

	pv restore --storage "$ST" "$id" --as "${db}_r"
	expect_rc 0 "restore of $db"
	oracle_compare "$db" "${db}_r" || fail "$db: the restored database differs from the source"
	pv restore --storage "$ST" "$id" --as "${db}_j" --jobs 2
	expect_rc 0 "restore --jobs 2 of $db"
	oracle_compare "$db" "${db}_j" || fail "$db: the database restored with --jobs differs from the source"
	echo "$db: ok"
}

# every case runs, so that one run shows each of them failing or passing
failed=()
(
	roundtrip pvt19_lo '^blobs/' "$((2 * CHUNK)) $((2 * CHUNK))"
	for s in _r _j; do
		lo_state "pvt19_lo$s" >"$T/lo$s.state" || fail "cannot read the large objects of pvt19_lo$s"
		diff "$T/lo.state" "$T/lo$s.state" || fail "large objects differ after restore (pvt19_lo$s)"
	done
) || failed+=("256 KiB large objects")
( roundtrip pvt19_row '^data/' "$CHUNK" ) || failed+=("one row of 131,071 bytes")
( roundtrip pvt19_379 '^data/' "$((379 * CHUNK))" ) || failed+=("379 x 128 KiB of rows")
[ ${#failed[@]} = 0 ] || fail "failed: $(printf '%s; ' "${failed[@]}")"
