#!/usr/bin/env bash
# tests/t/40-corrupt.sh — verify detects a flipped byte inside a data member (naming the
# member) and a truncated bundle; restore of a damaged bundle fails and leaves no database;
# restore verifies the whole bundle before it creates anything or runs any of its SQL.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

DB=pvt40_corrupt
ST="$T/st"

cleanup() {
	local d
	for d in "$DB" "${DB}_r1" "${DB}_r2" "${DB}_r3" "${DB}_ok"; do dropdb_q "$d" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
cleanup
createdb_q "$DB"
q -d "$DB" -c "CREATE TABLE t AS SELECT i AS id, md5(i::text) AS h, i * 0.5 AS x FROM generate_series(1, 60000) AS i"
q -d "$DB" -c "CREATE TABLE small (k text PRIMARY KEY, v text); INSERT INTO small VALUES ('a', 'b')"

PGVAULT_CHUNK_BYTES=262144 pv backup --storage "$ST" --db "$DB"
expect_rc 0 "backup"
ID=$(head -1 "$T/out")
PGV=$(bundle_file "$ST" "$ID")
pv verify --storage "$ST" "$ID"
expect_rc 0 "verify of the intact bundle"
cp "$PGV" "$T/intact.pgv"

# member_info PATH NAME_REGEX: "name offset size" of the middle member whose name matches
member_info() {
	python3 - "$1" "$2" <<'EOF'
import re, sys, tarfile
with tarfile.open(sys.argv[1], "r:") as tf:
    ms = [m for m in tf.getmembers() if m.isfile() and re.search(sys.argv[2], m.name) and m.size > 0]
if not ms:
    sys.exit("no member matching %s" % sys.argv[2])
m = ms[len(ms) // 2]
print(m.name, m.offset_data, m.size)
EOF
}

# flip_byte PATH OFFSET: XOR one byte with 0xff in place
flip_byte() {
	python3 - "$1" "$2" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2]))
    b = f.read(1)
    f.seek(int(sys.argv[2]))
    f.write(bytes([b[0] ^ 0xFF]))
EOF
}

# ---------------------------------------------------------------- a flipped byte in a data member
read -r MEMBER OFF SIZE < <(member_info "$PGV" '^data/.*\.copy\.zst$')
echo "flipping a byte of $MEMBER (data at $OFF, $SIZE bytes)"
flip_byte "$PGV" $((OFF + SIZE / 2))
cmp -s "$PGV" "$T/intact.pgv" && fail "the byte flip did not change the bundle"
tar tf "$PGV" >/dev/null || fail "the flip should leave the tar structure intact"

pv verify --storage "$ST" "$ID"
expect_rc 1 "verify of a bundle with a corrupted data member"
expect_err "$MEMBER"
pv verify --storage "$ST" "$PGV"
expect_rc 1 "verify (by path) of a bundle with a corrupted data member"
expect_err "$MEMBER"

pv restore --storage "$ST" "$ID" --as "${DB}_r1"
expect_rc 1 "restore of a bundle with a corrupted data member"
! db_exists "${DB}_r1" || fail "a failed restore left the database ${DB}_r1 behind"

# ---------------------------------------------------------------- a flipped byte in a schema member
cp "$T/intact.pgv" "$T/schema-flip.pgv"
read -r SMEMBER SOFF SSIZE < <(member_info "$T/schema-flip.pgv" '^pre-data\.json$')
flip_byte "$T/schema-flip.pgv" $((SOFF + SSIZE / 2))
pv verify --storage "$ST" "$T/schema-flip.pgv"
expect_rc 1 "verify of a bundle with a corrupted $SMEMBER"
expect_err "$SMEMBER"

# ---------------------------------------------------------------- nothing runs before all verified
# pre-data.json rewritten (valid JSON, one more entry that would create a role), the manifest
# left as it was: restore refuses before it creates a database or runs any SQL; likewise a
# bundle whose only damage is in its last data member
python3 - "$T/intact.pgv" "$T/tampered.pgv" <<'EOF'
import io, json, sys, tarfile
src, dst = sys.argv[1], sys.argv[2]
with tarfile.open(src, "r:") as tin, tarfile.open(dst, "w:", format=tarfile.PAX_FORMAT) as tout:
    for m in tin.getmembers():
        data = tin.extractfile(m).read() if m.isfile() else None
        if m.name == "pre-data.json":
            entries = json.loads(data)
            entries.insert(0, {"id": 99999, "kind": "schema", "name": "evil",
                               "sql": "CREATE ROLE pvt40_evil; CREATE SCHEMA evil;", "deps": []})
            data = json.dumps(entries).encode()
            m.size = len(data)
        tout.addfile(m, io.BytesIO(data) if data is not None else None)
EOF
q -d postgres -c "DROP ROLE IF EXISTS pvt40_evil" >/dev/null 2>&1
pv restore --storage "$ST" "$T/tampered.pgv" --as "${DB}_r3"
expect_rc 1 "restore of a bundle whose pre-data.json does not match the manifest"
expect_err "pre-data.json"
! db_exists "${DB}_r3" || fail "a restore of a tampered bundle left the database ${DB}_r3 behind"
[ -z "$(q -d postgres -c "SELECT 1 FROM pg_roles WHERE rolname = 'pvt40_evil'")" ] ||
	fail "SQL of a bundle that does not verify ran (role pvt40_evil exists)"
grep -q "dropped the partly restored" "$T/err" && fail "the restore created a database before verifying"
cp "$T/intact.pgv" "$T/lastflip.pgv"
read -r LMEMBER LOFF LSIZE < <(python3 - "$T/lastflip.pgv" <<'EOF'
import sys, tarfile
with tarfile.open(sys.argv[1], "r:") as tf:
    m = [m for m in tf.getmembers() if m.isfile() and m.name.startswith("data/") and m.size > 1][-1]
print(m.name, m.offset_data, m.size)
EOF
)
flip_byte "$T/lastflip.pgv" $((LOFF + LSIZE / 2))
pv restore --storage "$ST" "$T/lastflip.pgv" --as "${DB}_r3"
expect_rc 1 "restore of a bundle with its last data member damaged"
expect_err "$LMEMBER"
grep -q "dropped the partly restored" "$T/err" && fail "the restore created a database before verifying ($LMEMBER)"
! db_exists "${DB}_r3" || fail "database ${DB}_r3 left behind"

# ---------------------------------------------------------------- truncated bundles
size=$(stat -c %s "$T/intact.pgv")
# cut in the middle, inside the first header, and inside the last member's data
lastmid=$(python3 - "$T/intact.pgv" <<'EOF'
import sys, tarfile
with tarfile.open(sys.argv[1], "r:") as tf:
    m = [m for m in tf.getmembers() if m.isfile() and m.size > 1][-1]
print(m.offset_data + m.size // 2)
EOF
)
for cut in $((size / 2)) 512 "$lastmid"; do
	cp "$T/intact.pgv" "$T/trunc.pgv"
	truncate -s "$cut" "$T/trunc.pgv"
	pv verify --storage "$ST" "$T/trunc.pgv"
	expect_rc 1 "verify of a bundle truncated to $cut of $size bytes"
	[ -s "$T/err" ] || fail "verify of a truncated bundle said nothing"
done
cp "$T/intact.pgv" "$T/trunc.pgv"
truncate -s $((size / 2)) "$T/trunc.pgv"
pv restore --storage "$ST" "$T/trunc.pgv" --as "${DB}_r2"
expect_rc 1 "restore of a truncated bundle"
! db_exists "${DB}_r2" || fail "a failed restore left the database ${DB}_r2 behind"

# ---------------------------------------------------------------- the intact copy still works
pv verify --storage "$ST" "$T/intact.pgv"
expect_rc 0 "verify of the intact copy"
pv restore --storage "$ST" "$T/intact.pgv" --as "${DB}_ok"
expect_rc 0 "restore of the intact copy"
oracle_compare "$DB" "${DB}_ok" || fail "restore of the intact copy differs"
echo "all good"
