#!/usr/bin/env bash
# tests/t/20-unsupported.sh — objects pgvault cannot reproduce make a backup fail, naming them
# (principle 2: nothing silently lost); with --allow-unsupported the backup succeeds, says
# what it skipped, and the sidecar manifest lists the skipped objects.  The example: a
# subscription, backed up by the database's owner, who is not a superuser and so cannot read
# its connection string.  The restore (by a superuser) lacks that object only.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

DB=pvt20_unsupported
ST="$T/st"
UNSUPPORTED=(pvt_sub_accounts)
BACKUP_ROLE=pvt_uns_owner   # owns the database and everything in it but the subscription
# the fixture's rule, policy, row-security flags, publication and aggregate are supported
# (they must come back)

cleanup() {
	# a database with a subscription cannot be dropped
	qdb "$DB" -c "DROP SUBSCRIPTION IF EXISTS pvt_sub_accounts" >/dev/null 2>&1 || true
	dropdb_q "$DB" >/dev/null 2>&1 || true; dropdb_q "${DB}_restored" >/dev/null 2>&1 || true
	q -d postgres -c "DROP ROLE IF EXISTS $BACKUP_ROLE" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
createdb_q "$DB"
load_fixture "$DB" "$TOP_SRCDIR/tests/fixtures/unsupported.sql"
[ "$(q -d postgres -c "SELECT rolsuper FROM pg_roles WHERE rolname = '$BACKUP_ROLE'")" = f ] ||
	fail "$BACKUP_ROLE is a superuser"
[ "$(qdb "$DB" -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")" = "$BACKUP_ROLE" ] ||
	fail "$BACKUP_ROLE does not own $DB"
[ "$(qdb "$DB" -c "SELECT count(*) FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = current_database()")" = 1 ] ||
	fail "the fixture has no subscription"

# a superuser backs the subscription up (so it is not unsupported in itself)
pv backup --storage "$T/st-super" --db "$DB"
expect_rc 0 "backup of $DB by a superuser"

# ---------------------------------------------------------------- refused by default
pv -U "$BACKUP_ROLE" backup --storage "$ST" --db "$DB"
expect_rc 1 "backup of a database with unsupported objects"
for o in "${UNSUPPORTED[@]}"; do expect_err "$o"; done
expect_err "reading a subscription's connection needs a superuser"
[ ! -s "$T/out" ] || { cat "$T/out" >&2; fail "a refused backup printed a bundle id"; }
no_bundle_leftovers "$ST" || fail "a refused backup left files behind"

# ---------------------------------------------------------------- --allow-unsupported
pv -U "$BACKUP_ROLE" backup --storage "$ST" --db "$DB" --allow-unsupported
expect_rc 0 "backup --allow-unsupported"
grep -qi 'skip' "$T/err" || { cat "$T/err" >&2; fail "stderr does not say what was skipped"; }
for o in "${UNSUPPORTED[@]}"; do expect_err "$o"; done
[ "$(grep -c . "$T/out")" = 1 ] || fail "expected one bundle id"
ID=$(head -1 "$T/out")
PGV=$(bundle_file "$ST" "$ID")
SIDECAR="$(dirname "$PGV")/$ID.manifest.json"
[ -f "$SIDECAR" ] || fail "no sidecar $SIDECAR"

python3 - "$SIDECAR" "${UNSUPPORTED[@]}" <<'EOF' || fail "the sidecar's \"skipped\" array is wrong"
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))

def find_skipped(v):
    """the "skipped" array: top level, or anywhere in the document"""
    if isinstance(v, dict):
        if isinstance(v.get("skipped"), list):
            return v["skipped"]
        for x in v.values():
            r = find_skipped(x)
            if r is not None:
                return r
    elif isinstance(v, list):
        for x in v:
            r = find_skipped(x)
            if r is not None:
                return r
    return None

skipped = find_skipped(doc)
assert skipped is not None, "no \"skipped\" array in the sidecar"
for e in skipped:
    assert isinstance(e, dict), "skipped entry is not an object: %r" % (e,)
    assert isinstance(e.get("kind"), str) and e["kind"], "skipped entry without kind: %r" % (e,)
    assert any(isinstance(e.get(k), str) for k in ("name", "description")), \
        "skipped entry without name/description: %r" % (e,)
for want in sys.argv[2:]:
    hits = [e for e in skipped
            if any(want in str(e.get(k, "")) for k in ("name", "description"))]
    assert hits, "%s is not listed in skipped: %r" % (want, skipped)
print("skipped:", json.dumps(skipped, ensure_ascii=False))
EOF

pv verify --storage "$ST" "$ID"
expect_rc 0 "verify of a bundle with skipped objects"

# The supported part restores: same rows in every table.
pv restore --storage "$ST" "$ID" --as "${DB}_restored"
expect_rc 0 "restore of a bundle with skipped objects"
oracle_data "$DB" "$T/data-src"
oracle_data "${DB}_restored" "$T/data-dst"
if ! diff -r "$T/data-src" "$T/data-dst" >"$T/data.diff"; then
	head -c 4000 "$T/data.diff" >&2; fail "rows differ after restore"
fi
n=$(qdb "${DB}_restored" -c "SELECT count(*) FROM pg_catalog.pg_subscription s JOIN pg_catalog.pg_database d ON d.oid = s.subdbid WHERE d.datname = pg_catalog.current_database()")
[ "$n" = 0 ] || fail "the skipped subscription was restored anyway"
# the schema is the source's without the subscription: pg_dump's entries of the source minus
# those of type SUBSCRIPTION (and only one such entry)
oracle_schema "$DB" "$T/schema-src.sql"
oracle_schema "${DB}_restored" "$T/schema-dst.sql"
python3 - "$T/schema-src.sql" "$T/schema-src-nosub.sql" <<'PY' || fail "cannot remove the subscription from the source's schema"
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
parts = re.split(r"(?m)^(?=--\n-- )", text)
kept = [p for p in parts if not re.match(r"--\n-- Name: [^\n]*; Type: SUBSCRIPTION;", p)]
assert len(parts) - len(kept) == 1, "%d SUBSCRIPTION entries in the source's schema" % (len(parts) - len(kept))
assert "pvt_sub_accounts" in "".join(p for p in parts if p not in kept)
open(sys.argv[2], "w", encoding="utf-8").write("".join(kept))
PY
diff "$T/schema-src-nosub.sql" "$T/schema-dst.sql" >&2 || fail "the restore lacks more than the subscription"
n=$(qdb "${DB}_restored" -c "SELECT count(*) FROM pg_catalog.pg_publication_tables WHERE pubname = 'pvt_pub_accounts'")
[ "$n" = 1 ] || fail "the (supported) publication was not restored"
n=$(qdb "${DB}_restored" -c "SELECT count(*) FROM pg_catalog.pg_rewrite WHERE rulename = 'pvt_rule_log_updates'")
[ "$n" = 1 ] || fail "the (supported) rule was not restored"
n=$(qdb "${DB}_restored" -c "SELECT count(*) FROM pg_catalog.pg_policy WHERE polname = 'pvt_policy_own_rows'")
[ "$n" = 1 ] || fail "the (supported) policy was not restored"
n=$(qdb "${DB}_restored" -c "SELECT relrowsecurity AND relforcerowsecurity FROM pg_catalog.pg_class WHERE oid = 'uns.accounts'::regclass")
[ "$n" = t ] || fail "row security flags were not restored"
echo "all good"
