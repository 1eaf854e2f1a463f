# Backups uploaded to S3-compatible storage while they are written (s3rver, which checks
# SigV4): `backup --upload` leaves the bundle and its sidecar in the bucket, `list --remote`
# shows it from the sidecar, `restore --from-remote` gives a database equal to the source
# (schema and data oracles).  A wrong secret fails with a clear signature message, leaves no
# object and no incomplete multipart upload, and no local bundle either.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
. "$TOP_SRCDIR/tests/lib/s3.sh"
S3CHECK="${S3CHECK:-${TOP_BUILDDIR:-$TOP_SRCDIR}/tests/s3check}"
D="$T/s3"; mkdir -p "$D"
DB="pvt91 bot"; NEW=pvt91_from_s3
cleanup() { s3_stop "$D"; dropdb_q "$DB" >/dev/null 2>&1 || true; dropdb_q "$NEW" >/dev/null 2>&1 || true; }
trap cleanup EXIT
s3_start "$D" || fail "could not start s3rver"
dropdb_q "$DB"; dropdb_q "$NEW"
createdb_q "$DB"
load_fixture "$DB" "$TOP_SRCDIR/tests/fixtures/names.sql"
q -d "$DB" -c "CREATE TABLE bulk AS SELECT i, md5(i::text) AS h FROM generate_series(1, 200000) i"
cat >"$T/c.conf" <<CONF
[storage]
dir = $T/st
[retention]
keep_days = 7
[s3]
endpoint = $S3_ENDPOINT
bucket = $S3_BUCKET
prefix = backups/
url_style = path
CONF
chmod 600 "$T/c.conf"

PGVAULT_S3_PART_SIZE=262144 pv --config "$T/c.conf" backup --db "$DB" --upload; expect_rc 0 "backup --upload"
ID=$(cat "$T/out")
pv --config "$T/c.conf" list --remote --json; expect_rc 0 "list --remote"
python3 - "$T/out" "$ID" <<'PY' || fail "list --remote does not show the uploaded bundle"
import json, sys
rows = json.load(open(sys.argv[1]))
ids = {(r["id"], r["location"]) for r in rows}
assert (sys.argv[2], "local") in ids and (sys.argv[2], "s3") in ids, ids
remote = [r for r in rows if r["location"] == "s3"][0]
assert remote["verified"] is True and remote["size"] > 0, remote
PY
# the remote copy is byte-identical to the local one
fs=$(python3 -c 'import sys,urllib.parse;print("".join(c if c.isalnum() or c in "._-" else "%%%02X" % b for c, b in ((chr(b), b) for b in sys.argv[1].encode())))' "$DB")
"$S3CHECK" --prefix backups/ get "$fs/$ID.pgv" "$T/remote.pgv" >/dev/null || fail "cannot download the bundle"
cmp -s "$T/remote.pgv" "$T/st/$fs/$ID.pgv" || fail "the uploaded bundle differs from the local one"

pv --config "$T/c.conf" restore "$DB@latest" --from-remote --as "$NEW"; expect_rc 0 "restore --from-remote"
oracle_compare "$DB" "$NEW" || fail "restored from S3 differs from the source"
[ -z "$(find "$T/st" -name '.download.*')" ] || fail "the download's temporary file stayed"

# a wrong secret: clear message, nothing left anywhere
before=$(find "$D/data" -type f | wc -l)
AWS_SECRET_ACCESS_KEY=Sekr3t-Not-Valid-91 pv --config "$T/c.conf" backup --db "$DB" --upload --tag wrongkey
expect_rc 1 "backup --upload with a wrong secret"
expect_err "signature"
grep -q "Sekr3t-Not-Valid-91" "$T/err" && fail "the secret appears in the message"
[ -z "$(find "$T/st" -name '*wrongkey*')" ] || fail "a local bundle of the failed run stayed"
[ "$(find "$D/data" -type f | wc -l)" = "$before" ] || fail "the failed upload left objects behind"
"$S3CHECK" --prefix backups/ multipart-list >"$T/uploads" || fail "multipart-list failed"
[ ! -s "$T/uploads" ] || fail "incomplete multipart uploads remain: $(cat "$T/uploads")"
