# S3 at scale: a bundle of at least 200 MB, uploaded with the part size forced small, goes up
# in at least 40 parts with bounded memory (peak RSS measured and printed) and restores
# identical from the bucket; a prefix holding more than 1,000 objects lists and prunes
# correctly (the listing paginates).
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
. "$TOP_SRCDIR/tests/lib/s3.sh"
S3CHECK="${S3CHECK:-${TOP_BUILDDIR:-$TOP_SRCDIR}/tests/s3check}"
D="$T/s3"; mkdir -p "$D"
DB=pvt92_large; NEW=pvt92_copy
cleanup() { s3_stop "$D"; dropdb_q "$DB" >/dev/null 2>&1 || true; dropdb_q "$NEW" >/dev/null 2>&1 || true; }
trap cleanup EXIT
s3_start "$D" || fail "could not start s3rver"
dropdb_q "$DB"; dropdb_q "$NEW"; createdb_q "$DB"
# incompressible rows: 16 random md5s decoded to 256 bytes each
q -d "$DB" -c "CREATE TABLE r AS SELECT i, decode(md5(random()::text) || md5(random()::text) || md5(random()::text)
  || md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text)
  || md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text)
  || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex') AS b FROM generate_series(1, 850000) i"
cat >"$T/c.conf" <<CONF
[storage]
dir = $T/st
[retention]
keep_min = 1
[s3]
endpoint = $S3_ENDPOINT
bucket = $S3_BUCKET
prefix = big/
CONF
chmod 600 "$T/c.conf"
PART=4194304
# (under AddressSanitizer, a small quarantine keeps freed memory from counting as resident)
ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=4" PGVAULT_S3_PART_SIZE=$PART /usr/bin/time -f "%M" -o "$T/rss" "$PGVAULT" --config "$T/c.conf" backup --db "$DB" --upload \
	>"$T/out" 2>"$T/err" || { cat "$T/err" >&2; fail "backup --upload of the large database"; }
ID=$(cat "$T/out")
size=$(stat -c %s "$T/st/$DB/$ID.pgv")
rss_kb=$(cat "$T/rss")
parts=$(( (size + PART - 1) / PART ))
echo "bundle: $size bytes in $parts parts of $PART bytes; peak RSS of the backup: $((rss_kb / 1024)) MiB"
[ "$size" -ge $((200 * 1024 * 1024)) ] || fail "the bundle is only $size bytes"
[ "$parts" -ge 40 ] || fail "only $parts parts"
# bounded: far below the bundle's size (about 30 MiB in a normal build)
[ "$rss_kb" -lt $((120 * 1024)) ] || fail "peak RSS $((rss_kb / 1024)) MiB is not bounded"
"$S3CHECK" --prefix big/ head "$DB/$ID.pgv" >"$T/head" || fail "the bundle is not in the bucket"
[ "$(cut -d' ' -f1 "$T/head")" = "$size" ] || fail "remote size differs: $(cat "$T/head")"
pv --config "$T/c.conf" restore "$ID" --from-remote --as "$NEW"; expect_rc 0 "restore --from-remote"
oracle_compare "$DB" "$NEW" || fail "the large database restored from S3 differs"

# more than 1,000 objects under the database's prefix: the bundles are still found and pruned
"$S3CHECK" --prefix big/ put-many "$DB/zz-filler-" 1100 >/dev/null || fail "put-many"
sleep 1
pv --config "$T/c.conf" backup --db "$DB" --upload; expect_rc 0 "second backup --upload"
ID2=$(cat "$T/out")
pv --config "$T/c.conf" list --remote --json --db "$DB"; expect_rc 0 "list --remote"
python3 - "$T/out" "$ID" "$ID2" <<'PY' || fail "list --remote misses bundles among 1,100 objects"
import json, sys
ids = {r["id"] for r in json.load(open(sys.argv[1])) if r["location"] == "s3"}
assert {sys.argv[2], sys.argv[3]} <= ids, ids
PY
pv --config "$T/c.conf" prune --remote --dry-run; expect_rc 0 "prune --remote --dry-run"
grep -q "^would delete .*$ID " "$T/out" || fail "the dry run does not delete the older bundle: $(cat "$T/out")"
pv --config "$T/c.conf" prune --remote; expect_rc 0 "prune --remote"
"$S3CHECK" --prefix big/ head "$DB/$ID.pgv" >/dev/null 2>&1 && fail "the pruned bundle is still in the bucket"
"$S3CHECK" --prefix big/ head "$DB/$ID2.pgv" >/dev/null || fail "prune deleted the newest bundle"
n=$("$S3CHECK" --prefix big/ list "$DB/" | wc -l)
[ "$n" -ge 1100 ] || fail "prune touched objects that are not bundles ($n left)"
