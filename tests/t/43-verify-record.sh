#!/usr/bin/env bash
# tests/t/43-verify-record.sh — `verify` records its verdict in the bundle's sidecar.  A
# bundle damaged after its backup (one byte of a data member flipped) is marked failed, with
# the member and the time; from then on DB@latest names the older good bundle (verify and
# restore take it), `status` exits 1 naming the damaged one, `prune` keeps it but counts the
# older one as the newest verified, and `list` shows FAILED.  Verifying it again once it is
# whole (the intact file put back) clears the mark.  `verify --restore` restores into a
# scratch database, checks every table's rows against the manifest, drops it, and records
# restore_tested, or restore_test_failed (a role the bundle needs is gone: not damage).
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
DB=pvt43_rec
ST="$T/st"
cleanup() { dropdb_q "$DB" >/dev/null 2>&1 || true; dropdb_q "${DB}_r" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
createdb_q "$DB"
q -d "$DB" -c "CREATE TABLE t AS SELECT i AS id, md5(i::text) AS h FROM generate_series(1, 20000) i"
printf '[storage]\ndir = %s\n[backup]\ndatabases = %s\n[retention]\nkeep_min = 1\n' "$ST" "$DB" >"$T/c.conf"
pv --config "$T/c.conf" backup; expect_rc 0 "first backup"
A=$(cat "$T/out")
sleep 1
pv --config "$T/c.conf" backup; expect_rc 0 "second backup"
B=$(cat "$T/out")
PGV=$(bundle_file "$ST" "$B")
cp "$PGV" "$T/intact.pgv"
# flip one byte in the middle of the first data member
python3 - "$PGV" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "r:") as tf:
    m = [m for m in tf.getmembers() if m.name.startswith("data/") and m.size > 64][0]
with open(sys.argv[1], "r+b") as f:
    f.seek(m.offset_data + m.size // 2)
    b = f.read(1)
    f.seek(m.offset_data + m.size // 2)
    f.write(bytes([b[0] ^ 0x55]))
PY

pv --config "$T/c.conf" verify "$B"; expect_rc 1 "verify of the damaged bundle"
expect_err "data/"
side="${PGV%.pgv}.manifest.json"
python3 - "$side" <<'PY' || fail "the sidecar does not record the failed verification: $(cat "$side")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["verified"] is False, s["verified"]
vf = s["verify_failed"]
assert "data/" in vf["error"] and vf["at"].endswith("Z"), vf
PY
pv --config "$T/c.conf" list; expect_rc 0 "list"
grep -q "FAILED.*$B" "$T/out" || { cat "$T/out" >&2; fail "list does not show $B as FAILED"; }
pv --config "$T/c.conf" --list --db "$DB"; expect_rc 0 "pgvault --list --db"
grep -q "FAILED.*$B" "$T/out" || { cat "$T/out" >&2; fail "pgvault --list --db does not list $B"; }

# DB@latest is the older, good bundle now
pv --config "$T/c.conf" verify "$DB@latest"; expect_rc 0 "verify $DB@latest"
pv --config "$T/c.conf" restore "$DB@latest" --as "${DB}_r"; expect_rc 0 "restore $DB@latest"
oracle_compare "$DB" "${DB}_r" || fail "$DB@latest restored different"
grep -q "$A" "$T/err" "$T/out" || fail "restore of $DB@latest did not name $A: $(cat "$T/out" "$T/err")"

# status: red, naming the damaged bundle
pv --config "$T/c.conf" status; expect_rc 1 "status with a damaged bundle"
expect_err "bundle $B failed verification"
pv --config "$T/c.conf" status --json; expect_rc 1 "status --json"
python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))[0]; assert r["status"] == "damaged" and r["damaged"] == sys.argv[2] and r["newest"] == sys.argv[3], r' \
	"$T/out" "$B" "$A" || fail "status --json: $(cat "$T/out")"

# prune: the damaged one is kept, not counted; the older one is the newest verified
pv --config "$T/c.conf" prune --dry-run; expect_rc 0 "prune --dry-run"
grep -q "keep .*$A .*newest verified" "$T/out" || { cat "$T/out" >&2; fail "$A is not kept as the newest verified"; }
grep -q "keep .*$B .*failed verification" "$T/out" || { cat "$T/out" >&2; fail "$B is not kept as failed"; }

# the intact bytes back: verify clears the mark
cp "$T/intact.pgv" "$PGV"
pv --config "$T/c.conf" verify "$B"; expect_rc 0 "verify of the repaired bundle"
python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); assert s["verified"] is True and "verify_failed" not in s, s' "$side" ||
	fail "the mark stayed after a good verification"
pv --config "$T/c.conf" status; expect_rc 0 "status after the repair"
# verify --restore: a test restore into a scratch database, checked and dropped, recorded
pv --config "$T/c.conf" verify --restore "$DB@latest"; expect_rc 0 "verify --restore"
expect_err "test restore passed: 1 tables, 20000 rows"
python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); t = s["restore_tested"]
assert t["tables"] == 1 and t["rows"] == 20000 and t["at"].endswith("Z") and t["seconds"] > 0, t
assert "restore_test_failed" not in s, s' "$side" || fail "restore_tested not recorded: $(cat "$side")"
[ -z "$(q -d postgres -c "SELECT datname FROM pg_database WHERE datname LIKE 'pgvault_test%'")" ] ||
	fail "the scratch database stayed"
pv --config "$T/c.conf" status --json
python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))[0]; assert r["restore_tested"]["id"] == sys.argv[2], r' "$T/out" "$B" ||
	fail "status --json does not name the restore-tested bundle: $(cat "$T/out")"
# a bundle that cannot restore here (a role it needs is gone): recorded as failed, not as damaged
q -d postgres -c "DROP ROLE IF EXISTS pvt43_gone" -c "CREATE ROLE pvt43_gone"
q -d "$DB" -c "CREATE TABLE owned (i int)" -c "ALTER TABLE owned OWNER TO pvt43_gone"
pv --config "$T/c.conf" backup; expect_rc 0 "backup with a table owned by pvt43_gone"
C=$(cat "$T/out")
q -d "$DB" -c "DROP TABLE owned" -c "DROP ROLE pvt43_gone"
pv --config "$T/c.conf" verify --restore --latest; expect_rc 1 "verify --restore --latest of a bundle whose role is gone"
expect_err "pvt43_gone"
sideC="$(dirname "$PGV")/$C.manifest.json"
python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))
assert s["verified"] is True and "pvt43_gone" in s["restore_test_failed"]["error"], s' "$sideC" ||
	fail "the failed test restore is not recorded: $(cat "$sideC")"
[ -z "$(q -d postgres -c "SELECT datname FROM pg_database WHERE datname LIKE 'pgvault_test%'")" ] ||
	fail "the failed test restore left its scratch database"
echo "figure: verify --restore: 20000 rows checked in a scratch database, recorded; a bundle whose role is gone recorded restore_test_failed, still verified"
echo "figure: a damaged bundle marked failed by verify: skipped by @latest, status exit 1, kept by prune as failed; cleared by a good verify"
