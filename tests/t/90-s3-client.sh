# The S3 client (src/store/s3.c), driven by tests/s3check against a real S3-compatible
# server that verifies AWS Signature V4 (@20minutes/s3rver, tests/lib/s3.sh), partly through
# the fault-injecting proxy tests/lib/s3proxy.py: round trips of awkward keys, paginated
# listings, streaming multipart uploads, credentials errors, retries of injected faults,
# aborts on failure, and bounded memory.
: "${PGVAULT:=/bin/true}"   # common.sh wants it; this test does not use pgvault itself
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/s3.sh"

S3CHECK="${S3CHECK:-${TOP_BUILDDIR:-$TOP_SRCDIR}/tests/s3check}"
[ -x "$S3CHECK" ] || fail "the test driver is not built: $S3CHECK"
D="$T/s3"
mkdir -p "$D"
cleanup() { s3proxy_stop "$D"; s3_stop "$D"; }
trap cleanup EXIT
s3_start "$D" || fail "could not start s3rver"
s3proxy_start "$D" || fail "could not start the fault-injecting proxy"
DIRECT="$S3_ENDPOINT" PROXY="$S3_PROXY_ENDPOINT"
BUCKET_DIR="$D/data/pgvault-test"
export S3_RETRY_DELAY_MS=50

# sc ARGS...: run s3check; stdout/stderr in $T/out, $T/err; sets $rc.
sc() {
	set +e
	"$S3CHECK" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	set -e
	return 0
}
ok() { # ARGS...: s3check must succeed
	sc "$@"
	[ "$rc" = 0 ] || { cat "$T/err" >&2; fail "s3check $* exited $rc"; }
}
# gen SEED BYTES: deterministic pseudo-random bytes on stdout
gen() {
	python3 -c 'import random, sys
r = random.Random(int(sys.argv[1])); n = int(sys.argv[2]); o = sys.stdout.buffer
while n > 0:
    k = min(n, 1 << 20); o.write(r.randbytes(k)); n -= k' "$1" "$2"
}
uploads_left() { ok multipart-list; wc -l <"$T/out"; }
proxy_hits() { grep -c -- "$1" "$D/proxy.log" || true; }

echo "== round trip of awkward keys: put, head, cat, get, list, delete"
printf 'hello, bucket\n' >"$T/small"
keys=('db%20name/db%20name_20261122T020000Z.pgv' 'naïve db/ключ +=*(1)~x.pgv' "o'brien&co/x.json")
for k in "${keys[@]}"; do
	ok put "$k" "$T/small"
	ok head "$k"
	[ "$(cut -d' ' -f1 "$T/out")" = 14 ] || fail "head $k: $(cat "$T/out")"
	ok cat "$k"
	cmp -s "$T/out" "$T/small" || fail "cat $k returned other bytes"
	ok get "$k" "$T/got"
	cmp -s "$T/got" "$T/small" || fail "get $k returned other bytes"
done
# the literal '%' is part of the key (sent as %25), not an encoded space
[ -e "$BUCKET_DIR/db%20name" ] || fail "the key with '%20' was not stored literally: $(ls "$BUCKET_DIR")"
ok url 'db%20name/x.pgv'
grep -qF '/pgvault-test/db%2520name/x.pgv' "$T/out" || fail "bad URL encoding: $(cat "$T/out")"
ok list
[ "$(wc -l <"$T/out")" = 3 ] || fail "list: $(cat "$T/out")"
# (not the last key: s3rver 5.0.0 escapes '&' and "'" twice in listings, "&amp;amp;")
for k in "${keys[@]:0:2}"; do
	grep -qxF "$k 14 $(md5sum <"$T/small" | cut -c1-32)" "$T/out" || fail "list lacks $k: $(cat "$T/out")"
done
for k in "${keys[@]}"; do ok delete "$k"; done
sc head "${keys[0]}"
[ "$rc" = 3 ] || fail "head of a deleted object: exit $rc, expected 3 (not found)"
sc cat "${keys[0]}"
[ "$rc" = 1 ] && grep -q NoSuchKey "$T/err" || fail "cat of a deleted object: exit $rc, $(cat "$T/err")"
ok delete "${keys[0]}"   # deleting what is gone succeeds
ok list
[ ! -s "$T/out" ] || fail "objects left after delete: $(cat "$T/out")"

echo "== prefix, session token, virtual-hosted URLs, option checks"
S3_PREFIX=pgvault ok put a/b.txt "$T/small"
ok list
grep -q '^pgvault/a/b.txt ' "$T/out" || fail "prefix not applied: $(cat "$T/out")"
S3_PREFIX=pgvault/ ok list
grep -q '^a/b.txt ' "$T/out" || fail "keys not relative to the prefix: $(cat "$T/out")"
# a session token is sent as x-amz-security-token, which is signed too
AWS_SESSION_TOKEN=token-123 ok head pgvault/a/b.txt
ok delete pgvault/a/b.txt
ok --vhost --endpoint https://s3.example.com url 'db/x y.pgv'
[ "$(cat "$T/out")" = 'https://pgvault-test.s3.example.com/db/x%20y.pgv' ] || fail "vhost URL: $(cat "$T/out")"
sc --vhost url a
[ "$rc" = 1 ] && grep -q "use path style" "$T/err" || fail "vhost with an IP endpoint accepted: $(cat "$T/err")"
sc url 'a/../b'
[ "$rc" = 1 ] && grep -q '".."' "$T/err" || fail "a key with .. accepted: $(cat "$T/err")"
sc --endpoint ftp://x url a
[ "$rc" = 1 ] && grep -q "scheme" "$T/err" || fail "ftp endpoint accepted: $(cat "$T/err")"
AWS_SECRET_ACCESS_KEY= sc url a
[ "$rc" = 1 ] && grep -q "credentials are missing" "$T/err" || fail "missing secret accepted: $(cat "$T/err")"

echo "== a listing of 1,100+ objects is paginated with continuation tokens"
ok put-many many/obj- 1105
ok put other/x "$T/small"
s3proxy_reset "$D"
ok --endpoint "$PROXY" list many/
[ "$(wc -l <"$T/out")" = 1105 ] || fail "listed $(wc -l <"$T/out") objects, expected 1105"
cut -d' ' -f1 "$T/out" >"$T/listed"
seq -f 'many/obj-%05g' 0 1104 >"$T/expected"
cmp -s "$T/listed" "$T/expected" || fail "the listing differs: $(diff "$T/expected" "$T/listed" | head)"
[ "$(proxy_hits 'list-type=2')" = 2 ] || fail "expected 2 list pages: $(cat "$D/proxy.log")"
grep -q 'continuation-token=' "$D/proxy.log" || fail "no continuation token was sent"
ok list other/
[ "$(cat "$T/out")" = "other/x 14 $(md5sum <"$T/small" | cut -c1-32)" ] || fail "list other/: $(cat "$T/out")"

echo "== streaming upload of 60 MB in 1 MiB parts"
s3proxy_reset "$D"
gen 1 62914560 | sha256sum | cut -c1-64 >"$T/sha60"
gen 1 62914560 | ok --endpoint "$PROXY" --part-size 1048576 upload-stream big/60m.bin
[ "$(cat "$T/out")" = "62914560 60" ] || fail "upload-stream said: $(cat "$T/out")"
[ "$(proxy_hits 'PUT /pgvault-test/big/60m.bin?partNumber=')" = 60 ] || fail "expected 60 part uploads"
ok head big/60m.bin
[ "$(cut -d' ' -f1 "$T/out")" = 62914560 ] || fail "head: $(cat "$T/out")"
ok get big/60m.bin "$T/60m"
[ "$(sha256sum <"$T/60m" | cut -c1-64)" = "$(cat "$T/sha60")" ] || fail "the downloaded 60 MB differ"
rm -f "$T/60m"
[ "$(uploads_left)" = 0 ] || fail "incomplete uploads left: $(cat "$T/out")"
# the part size doubles every 1000 parts (here from 1 KiB): 1000 x 1024, then 2048, then the rest
s3proxy_reset "$D"
gen 5 $((1000 * 1024 + 3000)) >"$T/growth"
ok --endpoint "$PROXY" --part-size 1024 upload-stream growth.bin <"$T/growth"
[ "$(cat "$T/out")" = "$((1000 * 1024 + 3000)) 1002" ] || fail "growth upload said: $(cat "$T/out")"
[ "$(grep -c 'growth.bin?partNumber=[0-9]*&.* -> 200 body=1024$' "$D/proxy.log")" = 1000 ] ||
	fail "expected 1000 parts of 1024 bytes"
grep -q 'growth.bin?partNumber=1001&.* -> 200 body=2048$' "$D/proxy.log" || fail "part 1001 is not 2048 bytes"
grep -q 'growth.bin?partNumber=1002&.* -> 200 body=952$' "$D/proxy.log" || fail "part 1002 is not 952 bytes"
ok get growth.bin "$T/got"
cmp -s "$T/got" "$T/growth" || fail "growth.bin differs"
# an empty stream makes an empty object
ok upload-stream empty.bin </dev/null
ok head empty.bin
[ "$(cut -d' ' -f1 "$T/out")" = 0 ] || fail "empty upload: $(cat "$T/out")"

echo "== a wrong secret: the signature message, no object, no incomplete upload"
gen 2 3000000 >"$T/3m"
AWS_SECRET_ACCESS_KEY=not-the-secret sc --part-size 1048576 upload-stream bad/stream.bin <"$T/3m"
[ "$rc" = 1 ] || fail "upload with a wrong secret: exit $rc"
expect_err "S3 rejected the request signature: check the access key and secret"
! grep -q 'not-the-secret' "$T/err" || fail "the secret appears in a message"
AWS_SECRET_ACCESS_KEY=not-the-secret sc put bad/put.bin "$T/small"
[ "$rc" = 1 ] || fail "put with a wrong secret: exit $rc"
expect_err "S3 rejected the request signature: check the access key and secret"
AWS_SECRET_ACCESS_KEY=not-the-secret sc head big/60m.bin
[ "$rc" = 1 ] || fail "head with a wrong secret: exit $rc"
expect_err "S3 rejected the request signature"
AWS_ACCESS_KEY_ID=NOSUCHKEY sc list
[ "$rc" = 1 ] || fail "list with an unknown access key: exit $rc"
expect_err "S3 rejected the request signature"
ok list bad/
[ ! -s "$T/out" ] || fail "objects were created with a wrong secret: $(cat "$T/out")"
[ "$(uploads_left)" = 0 ] || fail "an incomplete upload was left: $(cat "$T/out")"

echo "== injected 500, 503, connection resets, a stall and a 200-with-error are retried"
s3proxy_reset "$D"
s3proxy_fault "$D" 503 1 'POST /pgvault-test/faulty.bin?uploads='
s3proxy_fault "$D" 500 2 'faulty.bin?partNumber=2&'
s3proxy_fault "$D" 503 1 'faulty.bin?partNumber=3&'
s3proxy_fault "$D" reset 1 'faulty.bin?partNumber=4&'
s3proxy_fault "$D" reset-after 1 'faulty.bin?partNumber=5&'
s3proxy_fault "$D" delay:10 1 'faulty.bin?partNumber=6&'
s3proxy_fault "$D" ok-error:InternalError 1 'POST /pgvault-test/faulty.bin?uploadId='
gen 4 7000000 >"$T/7m"   # 7 parts of 1 MiB
S3_IO_TIMEOUT=1 sc --endpoint "$PROXY" --part-size 1048576 upload-stream faulty.bin <"$T/7m"
[ "$rc" = 0 ] || { cat "$T/err" "$D/proxy.log" >&2; fail "the upload did not survive the faults (exit $rc)"; }
FIG_RETRIED=$(grep -c 'retrying in' "$T/err" || true)
[ "$FIG_RETRIED" = 8 ] || { cat "$T/err" >&2; fail "expected 8 retries"; }
grep -q 'Timeout was reached\|too slow' "$T/err" || fail "the stalled request was not timed out: $(cat "$T/err")"
grep -q 'HTTP 200 InternalError' "$T/err" || fail "the 200-with-error was not noticed: $(cat "$T/err")"
awk '$2 != 0 { bad = 1 } END { exit bad }' "$D/proxy.rules" || fail "faults not all hit: $(cat "$D/proxy.rules")"
ok get faulty.bin "$T/got"
cmp -s "$T/got" "$T/7m" || fail "the object uploaded through faults differs"
# a download whose connection drops half-way resumes with a Range request
s3proxy_fault "$D" reset-mid 1 'GET /pgvault-test/faulty.bin'
ok --endpoint "$PROXY" get faulty.bin "$T/got"
cmp -s "$T/got" "$T/7m" || fail "the resumed download differs"
grep -q 'reset after' "$D/proxy.log" || fail "the download was not interrupted"
# CompleteMultipartUpload acted on, but its answer lost: the retry's NoSuchUpload is checked
s3proxy_fault "$D" reset-after 1 'POST /pgvault-test/lost-answer.bin?uploadId='
sc --endpoint "$PROXY" --part-size 1048576 upload-stream lost-answer.bin <"$T/3m"
[ "$rc" = 0 ] || { cat "$T/err" >&2; fail "a completed upload whose answer was lost failed"; }
ok get lost-answer.bin "$T/got"
cmp -s "$T/got" "$T/3m" || fail "lost-answer.bin differs"
[ "$(uploads_left)" = 0 ] || fail "incomplete uploads left: $(cat "$T/out")"

echo "== failures past the retries, and errors that are not retried, abort the upload"
s3proxy_reset "$D"
s3proxy_fault "$D" 500 100 'doomed.bin?partNumber=2&'
S3_MAX_RETRIES=3 sc --endpoint "$PROXY" --part-size 1048576 upload-stream doomed.bin <"$T/3m"
[ "$rc" = 1 ] || fail "the doomed upload: exit $rc"
expect_err "upload part 2 of s3://pgvault-test/doomed.bin"
expect_err "gave up after 4 attempts"
[ "$(proxy_hits 'doomed.bin?partNumber=2&')" = 4 ] || fail "part 2 was not tried 4 times"
grep -q '^DELETE /pgvault-test/doomed.bin?uploadId=.* -> 204' "$D/proxy.log" ||
	fail "no AbortMultipartUpload was sent: $(cat "$D/proxy.log")"
[ "$(uploads_left)" = 0 ] || fail "an incomplete upload was left: $(cat "$T/out")"
sc head doomed.bin
[ "$rc" = 3 ] || fail "an object was left by the doomed upload"
# CompleteMultipartUpload failing for good
s3proxy_fault "$D" 500 100 'POST /pgvault-test/doomed2.bin?uploadId='
S3_MAX_RETRIES=1 sc --endpoint "$PROXY" --part-size 1048576 upload-stream doomed2.bin <"$T/3m"
[ "$rc" = 1 ] || fail "doomed2: exit $rc"
expect_err "complete multipart upload of"
grep -q '^DELETE /pgvault-test/doomed2.bin?uploadId=.* -> 204' "$D/proxy.log" || fail "doomed2 not aborted"
[ "$(uploads_left)" = 0 ] || fail "an incomplete upload was left: $(cat "$T/out")"
# a clock-skew refusal is explained, and not retried
s3proxy_fault "$D" error:403:RequestTimeTooSkewed 1 'skewed.bin?partNumber=1&'
sc --endpoint "$PROXY" --part-size 1048576 upload-stream skewed.bin <"$T/3m"
[ "$rc" = 1 ] || fail "skewed: exit $rc"
expect_err "clock"
expect_err "RequestTimeTooSkewed"
! grep -q 'retrying in' "$T/err" || fail "a clock-skew refusal was retried"
grep -q '^DELETE /pgvault-test/skewed.bin?uploadId=.* -> 204' "$D/proxy.log" || fail "skewed not aborted"
FIG_ABORTED=$(grep -c '^DELETE /pgvault-test/.*?uploadId=.* -> 204' "$D/proxy.log" || true)
# starting an upload is not idempotent: a reset there is not retried
s3proxy_fault "$D" reset 1 'POST /pgvault-test/noretry.bin?uploads='
sc --endpoint "$PROXY" upload-stream noretry.bin <"$T/small"
[ "$rc" = 1 ] || fail "noretry: exit $rc"
[ "$(proxy_hits 'POST /pgvault-test/noretry.bin?uploads=')" = 1 ] || fail "InitiateMultipartUpload was retried"
# the caller aborting
ok --part-size 1048576 upload-abort aborted.bin <"$T/3m"
[ "$(cut -d' ' -f2 "$T/out")" = 2 ] || fail "upload-abort sent $(cut -d' ' -f2 "$T/out") parts, expected 2"
[ "$(uploads_left)" = 0 ] || fail "an aborted upload was left: $(cat "$T/out")"
sc head aborted.bin
[ "$rc" = 3 ] || fail "an object was left by an aborted upload"
# the listing of incomplete uploads and their abort
ok --part-size 1048576 upload-abort x.bin </dev/null
ok list   # (sanity: the store still answers)
find "$BUCKET_DIR/._S3rver_uploads" -mindepth 1 -maxdepth 1 2>/dev/null | grep -q . &&
	fail "s3rver still holds upload directories: $(ls "$BUCKET_DIR/._S3rver_uploads")"

echo "== peak memory of a 200 MB streaming upload is bounded"
gen 3 209715200 | /usr/bin/time -f %M -o "$T/rss" "$S3CHECK" --part-size 1048576 \
	upload-stream big/200m.bin >"$T/out" 2>"$T/err" || { cat "$T/err" >&2; fail "the 200 MB upload failed"; }
[ "$(cat "$T/out")" = "209715200 200" ] || fail "upload-stream said: $(cat "$T/out")"
rss_kb=$(tail -1 "$T/rss")
echo "peak RSS of s3check during a 200 MB upload with 1 MiB parts: $((rss_kb / 1024)) MiB"
[ "$rss_kb" -lt 102400 ] || fail "peak RSS $rss_kb KiB is not bounded (limit 100 MiB)"
ok head big/200m.bin
[ "$(cut -d' ' -f1 "$T/out")" = 209715200 ] || fail "head: $(cat "$T/out")"
[ "$(uploads_left)" = 0 ] || fail "incomplete uploads left: $(cat "$T/out")"
echo "all S3 client checks passed"
echo "figure: S3 faults through the proxy: $FIG_RETRIED injected into one 7-part upload (503 and 500 answers, a reset before and one after the answer, a 10 s stall cut by the I/O timeout, a 200 carrying InternalError) all retried, the object identical; a download reset half-way resumed with a Range request; a completed upload whose answer was lost confirmed; $FIG_ABORTED uploads that could not succeed (a part failing past the retries, the completion failing, a 403 RequestTimeTooSkewed explained and not retried) aborted, 0 incomplete uploads left"
