#!/usr/bin/env bash
# tests/t/41-signing.sh — bundles signed with the operator's key ([security]
# signing_key_file): a signed bundle verifies and restores; with the key configured, a
# bundle that is unsigned, signed with another key, or altered after signing (members and
# manifest rewritten consistently, as someone with write access to the storage could) is
# refused by verify and by restore before anything is created or run; a key file others can
# read is refused.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
DB=pvt41; COPY=pvt41_copy
trap 'dropdb_q $DB; dropdb_q $COPY; q -d postgres -c "DROP ROLE IF EXISTS pvt41_evil" >/dev/null 2>&1' EXIT
dropdb_q "$DB"; dropdb_q "$COPY"; createdb_q "$DB"
q -d "$DB" -c "CREATE TABLE t AS SELECT i, md5(i::text) AS h FROM generate_series(1, 5000) i" >/dev/null
key="$T/signing.key"; other="$T/other.key"
head -c 32 /dev/urandom | base64 >"$key"; head -c 32 /dev/urandom | base64 >"$other"; chmod 600 "$key" "$other"
conf() { printf '[storage]\ndir = %s\n[security]\nsigning_key_file = %s\n' "$T/st" "$1" >"$T/$2"; chmod 600 "$T/$2"; }
conf "$key" signed.conf; conf "$other" other.conf
printf '[storage]\ndir = %s\n' "$T/st" >"$T/plain.conf"; chmod 600 "$T/plain.conf"

pv --config "$T/signed.conf" backup --db "$DB"; expect_rc 0 "signed backup"
SID=$(cat "$T/out")
bundle=$(bundle_file "$T/st" "$SID")
tar tf "$bundle" | tail -1 | grep -qx manifest.sig || fail "the signed bundle does not end with manifest.sig"
pv --config "$T/signed.conf" verify "$SID"; expect_rc 0 "verify with the key"
pv --config "$T/plain.conf" verify "$SID"; expect_rc 0 "verify without a key (the signature is not checked)"
pv --config "$T/other.conf" verify "$SID"; expect_rc 1 "verify with another key"
expect_err "signed with another key"
pv --config "$T/other.conf" restore "$SID" --as "$COPY"; expect_rc 1 "restore with another key"
! db_exists "$COPY" || fail "a restore that refused the signature created the database"
pv --config "$T/signed.conf" restore "$SID" --as "$COPY"; expect_rc 0 "restore of the signed bundle"
oracle_compare "$DB" "$COPY" || fail "restored copy differs"
dropdb_q "$COPY"

pv --config "$T/plain.conf" backup --db "$DB" --tag unsigned; expect_rc 0 "unsigned backup"
UID_=$(cat "$T/out")
pv --config "$T/signed.conf" restore "$UID_" --as "$COPY"; expect_rc 1 "restore of an unsigned bundle with a key configured"
expect_err "not signed"
! db_exists "$COPY" || fail "an unsigned bundle was restored"

# altered after signing: pre-data.json gains an entry, the manifest its new SHA-256, size and
# objects count, laid out as pgvault writes it
python3 - "$bundle" "$T/altered.pgv" <<'EOF'
import hashlib, io, json, sys, tarfile
src, dst = sys.argv[1], sys.argv[2]
with tarfile.open(src, "r:") as tin:
    members = [(m, tin.extractfile(m).read() if m.isfile() else None) for m in tin.getmembers()]
out = []
for m, data in members:
    if m.name == "pre-data.json":
        entries = json.loads(data)
        entries.insert(0, {"id": 99999, "kind": "schema", "name": "evil", "sql": "CREATE ROLE pvt41_evil;", "deps": []})
        data = json.dumps(entries).encode()
        new_sha, new_size = hashlib.sha256(data).hexdigest(), len(data)
    out.append((m, data))
for i, (m, data) in enumerate(out):
    if m.name == "manifest.json":
        man = json.loads(data)
        for e in man["members"]:
            if e["name"] == "pre-data.json":
                e["sha256"], e["size"] = new_sha, new_size
        man["objects"] += 1
        out[i] = (m, (json.dumps(man, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode())
with tarfile.open(dst, "w:", format=tarfile.PAX_FORMAT) as tout:
    for m, data in out:
        if data is not None:
            m.size = len(data)
        tout.addfile(m, io.BytesIO(data) if data is not None else None)
EOF
pv --config "$T/plain.conf" verify "$T/altered.pgv"; expect_rc 0 "the altered bundle is consistent (verify without a key accepts it)"
pv --config "$T/signed.conf" verify "$T/altered.pgv"; expect_rc 1 "verify of the altered bundle with the key"
expect_err "does not match"
pv --config "$T/signed.conf" restore "$T/altered.pgv" --as "$COPY"; expect_rc 1 "restore of the altered bundle with the key"
! db_exists "$COPY" || fail "the altered bundle created a database"
[ -z "$(q -d postgres -c "SELECT 1 FROM pg_roles WHERE rolname = 'pvt41_evil'")" ] || fail "SQL of the altered bundle ran"

chmod 644 "$key"
pv --config "$T/signed.conf" verify "$SID"; expect_rc 2 "a key file others can read"
expect_err "chmod 600"
echo "figure: with a signing key: unsigned, other-key and altered-after-signing bundles refused by verify and restore (0 databases, 0 statements); signed ones restore"
echo "all good"
