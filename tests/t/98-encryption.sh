#!/usr/bin/env bash
# tests/t/98-encryption.sh — what goes to S3 encrypted ([security] encryption_key_file;
# store/crypt.h).  backup --upload and upload send the bundle encrypted (the object starts
# with the format's magic and holds no row in the clear; the local bundle stays as it was);
# restore --from-remote with the key gives a database equal to the source (schema and data
# oracles).  Without the key, verify --remote still checks the stored bytes against the
# sidecar, and restore says the bundle is encrypted; with another key the message names both
# key ids and nothing is created; one changed byte in the object fails verify --remote, with
# the key (the chunk that fails authentication) and without it (the SHA-256); a key file
# others can read is refused.  Key rotation: a new key encrypts, the old one (in
# decryption_key_files) still reads the older bundles.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
. "$TOP_SRCDIR/tests/lib/s3.sh"
S3CHECK="${S3CHECK:-${TOP_BUILDDIR:-$TOP_SRCDIR}/tests/s3check}"
D="$T/s3"; mkdir -p "$D"
DB=pvt98_secret; NEW=pvt98_from_s3
cleanup() { s3_stop "$D"; for d in "$DB" "$NEW"; do dropdb_q "$d" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT
s3_start "$D" || fail "could not start s3rver"
for d in "$DB" "$NEW"; do dropdb_q "$d"; done
createdb_q "$DB"
q -d "$DB" -c "CREATE TABLE notes AS SELECT i, 'SECRET-MARKER-98 ' || md5(i::text) AS body FROM generate_series(1, 300000) i"
umask 077
head -c 32 /dev/urandom >"$T/key1"
python3 -c 'import os; print(os.urandom(32).hex())' >"$T/key2"   # the hex form
s3conf() { # FILE [security lines...]
	local f="$1"; shift
	{ printf '[storage]\ndir = %s\n[s3]\nendpoint = %s\nbucket = %s\nprefix = enc/\nurl_style = path\n' \
		"$T/st" "$S3_ENDPOINT" "$S3_BUCKET"
	  [ $# -eq 0 ] || printf '[security]\n'
	  printf '%s\n' "$@"; } >"$f"
	chmod 600 "$f"
}
s3conf "$T/k1.conf" "encryption_key_file = $T/key1"
s3conf "$T/nokey.conf"
s3conf "$T/k2.conf" "encryption_key_file = $T/key2"
s3conf "$T/rot.conf" "encryption_key_file = $T/key2" "decryption_key_files = $T/key1"

PGVAULT_S3_PART_SIZE=262144 pv --config "$T/k1.conf" backup --db "$DB" --upload; expect_rc 0 "backup --upload, encrypted"
ID=$(cat "$T/out")
"$S3CHECK" --prefix enc/ get "$DB/$ID.pgv" "$T/remote" >/dev/null || fail "cannot download the object"
[ "$(head -c 8 "$T/remote")" = "PGVENC1" ] || fail "the object does not start with the format's magic"
grep -q "SECRET-MARKER-98" "$T/remote" && fail "a row is in the clear in the object"
zstd -dc "$(bundle_file "$T/st" "$ID")" >/dev/null 2>&1 || true
tar tf "$(bundle_file "$T/st" "$ID")" >/dev/null || fail "the local bundle is not a tar any more"
"$S3CHECK" --prefix enc/ get "$DB/$ID.manifest.json" "$T/side" >/dev/null || fail "no sidecar"
python3 -c 'import json, sys; e = json.load(open(sys.argv[1]))["encryption"]
assert e["format"] == "pgvault-secretstream-1" and len(e["key_id"]) == 16 and e["size"] > 0 and len(e["sha256"]) == 64, e' "$T/side" ||
	fail "the sidecar does not record the encryption: $(cat "$T/side")"

# the round trip
pv --config "$T/k1.conf" restore "$DB@latest" --from-remote --as "$NEW"; expect_rc 0 "restore --from-remote with the key"
oracle_compare "$DB" "$NEW" || fail "the database restored from the encrypted object differs"
dropdb_q "$NEW"
pv --config "$T/k1.conf" verify --remote "$ID"; expect_rc 0 "verify --remote with the key"
[ -z "$(find "$T/st" -name '.download.*')" ] || fail "a decrypted or downloaded copy stayed: $(find "$T/st" -name '.download.*')"

# without the key: the stored bytes are checked; restore says why it cannot
pv --config "$T/nokey.conf" verify --remote "$ID"; expect_rc 0 "verify --remote without the key"
expect_err "stored bytes are intact"
pv --config "$T/nokey.conf" restore "$DB@latest" --from-remote --as "$NEW"; expect_rc 1 "restore without the key"
expect_err "is encrypted (key id"
# another key: both ids named, nothing created
pv --config "$T/k2.conf" restore "$DB@latest" --from-remote --as "$NEW"; expect_rc 1 "restore with another key"
expect_err "not among the keys configured"
[ "$(q -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$NEW'")" = 0 ] || fail "a database was created with the wrong key"
# key rotation: the new key encrypts, the old one still reads
pv --config "$T/rot.conf" backup --db "$DB" --upload --tag rotated; expect_rc 0 "backup --upload with the new key"
ID2=$(cat "$T/out")
pv --config "$T/rot.conf" verify --remote "$ID" "$ID2"; expect_rc 0 "verify --remote of bundles of both keys"

# one byte changed in the object
python3 - "$T/remote" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[len(b) // 2] ^= 0x20
open(sys.argv[1], "wb").write(bytes(b))
PY
"$S3CHECK" --prefix enc/ put "$DB/$ID.pgv" "$T/remote" >/dev/null || fail "cannot put the altered object"
pv --config "$T/k1.conf" verify --remote "$ID"; expect_rc 1 "verify --remote of an altered object, with the key"
expect_err "fails authentication"
pv --config "$T/nokey.conf" verify --remote "$ID"; expect_rc 1 "verify --remote of an altered object, without the key"
expect_err "differ from its sidecar's record"
pv --config "$T/k1.conf" restore "$ID" --from-remote --as "$NEW"; expect_rc 1 "restore of an altered object"
[ "$(q -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$NEW'")" = 0 ] || fail "restore of an altered object created the database"

# upload (not backup --upload) encrypts too
pv --config "$T/k1.conf" backup --db "$DB" --tag local; expect_rc 0 "a local backup"
ID3=$(cat "$T/out")
pv --config "$T/k1.conf" upload "$ID3"; expect_rc 0 "upload, encrypted"
"$S3CHECK" --prefix enc/ get "$DB/$ID3.pgv" "$T/remote3" >/dev/null || fail "cannot download the uploaded object"
[ "$(head -c 8 "$T/remote3")" = "PGVENC1" ] || fail "upload sent the bundle in the clear"
pv --config "$T/k1.conf" restore "$ID3" --from-remote --as "$NEW"; expect_rc 0 "restore of the uploaded object"
oracle_compare "$DB" "$NEW" || fail "the uploaded encrypted bundle restores different"

# a key file others can read
chmod 644 "$T/key1"
pv --config "$T/k1.conf" list --remote
[ "$rc" != 0 ] || fail "a key file others can read was used"
expect_err "chmod 600"
echo "figure: encrypted S3 copies: round trip identical; no key: stored bytes checked; wrong key, one altered byte and a readable key file refused with their reasons; rotation reads both keys"
