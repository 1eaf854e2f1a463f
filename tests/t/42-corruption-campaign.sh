#!/usr/bin/env bash
# tests/t/42-corruption-campaign.sh — the counted corruption campaign: PV_FLIPS single-byte
# changes (default 200: half anywhere in the bundle, half in the bytes no member checksum
# covers — tar headers, padding, the end-of-archive blocks, the manifest) and PV_TRUNCATIONS
# truncations (default 50: random lengths, member and block boundaries among them) of one
# bundle holding every member kind; `verify` must reject every one (every other one run with
# --jobs 3), and `restore` of a sample of them must refuse before it creates anything.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

DB=pvt42_campaign
ST="$T/st"
FLIPS="${PV_FLIPS:-200}" TRUNCS="${PV_TRUNCATIONS:-50}" SEED="${PV_SEED:-$RANDOM}"

cleanup() { dropdb_q "$DB" >/dev/null 2>&1 || true; dropdb_q "${DB}_r" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
createdb_q "$DB"
q -d "$DB" -c "CREATE TABLE t AS SELECT i AS id, md5(i::text) AS h FROM generate_series(1, 3000) AS i"
q -d "$DB" -c "CREATE TABLE e (k int PRIMARY KEY); CREATE INDEX ON t (h); COMMENT ON TABLE t IS 'x'"
q -d "$DB" -c "SELECT lo_from_bytea(0, decode(repeat('ab', 700), 'hex'))" >/dev/null

PGVAULT_CHUNK_BYTES=40000 pv backup --storage "$ST" --db "$DB"
expect_rc 0 "backup"
ID=$(head -1 "$T/out")
PGV=$(bundle_file "$ST" "$ID")
pv verify "$PGV"
expect_rc 0 "verify of the intact bundle"

# The campaign: one python process makes each damaged copy and runs verify on it.
python3 - "$PGV" "$T" "$FLIPS" "$TRUNCS" "$SEED" "$PGVAULT" >"$T/campaign.out" 2>"$T/campaign.err" <<'PY' || { cat "$T/campaign.err" >&2; fail "campaign"; }
import random, subprocess, sys, tarfile
src, tdir, nflips, ntrunc, seed, pgvault = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
rnd = random.Random(seed)
data = open(src, "rb").read()
# bytes no member checksum covers: headers, padding, end blocks, manifest.json (and kinds)
framing, members = [], []
with tarfile.open(src, "r:") as tf:
    for m in tf.getmembers():
        framing += range(m.offset, m.offset_data)
        end = m.offset_data + m.size
        framing += range(end, (end + 511) // 512 * 512)
        members.append((m.name, m.offset_data, m.size))
        if m.name == "manifest.json":
            framing += range(m.offset_data, end)
last = members[-1]
framing += range((last[1] + last[2] + 511) // 512 * 512, len(data))
kinds = set(n.split("/")[0] for n, _, _ in members)
path = tdir + "/damaged.pgv"
runs = 0
def verify(buf):
    global runs
    runs += 1
    open(path, "wb").write(buf)
    # every other copy with the data members checked on a pool of threads
    jobs = ["--jobs", "3"] if runs % 2 else []
    r = subprocess.run([pgvault, "verify"] + jobs + [path], capture_output=True, text=True)
    return r.returncode, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
missed = []
flips = []
for i in range(nflips):
    off = rnd.randrange(len(data)) if i % 2 == 0 else rnd.choice(framing)
    flips.append(off)
    buf = bytearray(data); buf[off] ^= rnd.randrange(1, 256)
    rc, msg = verify(bytes(buf))
    if rc != 1:
        missed.append("flip at %d: exit %d %s" % (off, rc, msg))
    elif i < 10:
        open(tdir + "/flip%d.pgv" % i, "wb").write(buf)
cuts = [m[1] for m in members] + [m[1] + m[2] for m in members] + [len(data) - 1024, len(data) - 512, len(data) - 1, 0]
cuts = cuts[:ntrunc // 2]
while len(cuts) < ntrunc:
    cuts.append(rnd.randrange(len(data)))
for n in cuts:
    rc, msg = verify(data[:n])
    if rc != 1:
        missed.append("truncated to %d: exit %d %s" % (n, rc, msg))
in_framing = sum(1 for i, o in enumerate(flips) if i % 2 == 1)
print("flips %d (%d in framing and manifest) truncations %d missed %d bytes %d members %d" % (
    nflips, in_framing, len(cuts), len(missed), len(data), len(members)))
for m in missed:
    print("MISSED " + m)
PY
cat "$T/campaign.out"
! grep -q '^MISSED' "$T/campaign.out" || fail "verify passed damaged bundles (seed $SEED)"

# restore of damaged bundles: refused before anything is created
refused=0
for f in "$T"/flip[0-9].pgv; do
	[ -e "$f" ] || continue
	pv restore "$f" --as "${DB}_r"
	expect_rc 1 "restore of $f"
	db_exists "${DB}_r" && fail "restore of $f created the database"
	refused=$((refused + 1))
done
[ "$refused" -ge 5 ] || fail "only $refused damaged copies were restored"
echo "figure: corruption campaign (seed $SEED): $FLIPS single-byte flips ($((FLIPS / 2)) anywhere, $((FLIPS - FLIPS / 2)) in tar headers, padding, end blocks and the manifest) and $TRUNCS truncations of a $(stat -c %s "$PGV")-byte bundle: verify rejected $((FLIPS + TRUNCS)) of $((FLIPS + TRUNCS)); restore refused $refused of $refused damaged copies before creating anything"
