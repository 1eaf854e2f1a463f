#!/usr/bin/env bash
# tests/t/88-disk-full.sh — the storage fills up in the middle of a bundle (a small tmpfs
# mounted for the test): the backup fails with a clear message (exit 1), its temporary files
# are gone, the bundles made before are untouched and still verify, and retention does not
# run (prune_after_backup with a policy that would delete them).  A read-only storage fails
# the same way.  Needs root (mount); skipped otherwise.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
[ "$(id -u)" = 0 ] || { echo "needs root to mount a small filesystem"; exit 77; }
M="$T/small"
mkdir -p "$M"
mount -t tmpfs -o size=3m,mode=0700 pvt88 "$M" || { echo "cannot mount a tmpfs"; exit 77; }
cleanup() { umount "$M" 2>/dev/null || umount -l "$M" 2>/dev/null; dropdb_q pvt88_small; dropdb_q pvt88_big; }
trap cleanup EXIT
dropdb_q pvt88_small; dropdb_q pvt88_big
createdb_q pvt88_small; createdb_q pvt88_big
q -d pvt88_small -c "CREATE TABLE t AS SELECT i FROM generate_series(1, 1000) i" >/dev/null
# rows that do not compress: about 8 MB of bundle
q -d pvt88_big -c "CREATE TABLE t AS SELECT i, md5(random()::text) || md5(random()::text) AS h FROM generate_series(1, 120000) i" >/dev/null
ST="$M/st"
printf '[storage]\ndir = %s\n[retention]\nkeep_days = 0\nkeep_min = 1\nprune_after_backup = yes\n' "$ST" >"$T/c.conf"; chmod 600 "$T/c.conf"
pv --config "$T/c.conf" backup --db pvt88_small; expect_rc 0 "first small backup"
sleep 1
pv --config "$T/c.conf" backup --db pvt88_small; expect_rc 0 "second small backup"
first=$(find "$ST" -name '*.pgv' | sort)
[ "$(echo "$first" | wc -l)" -ge 1 ] || fail "no bundle before the disk fills"
sums=$(sha256sum $first)

pv --config "$T/c.conf" backup --db pvt88_big --db pvt88_small
full_rc=$rc
[ "$rc" = 1 ] || [ "$rc" = 3 ] || { cat "$T/err" >&2; fail "backup into a full filesystem: exit $rc, expected 1 or 3"; }
grep -Eqi "no space left|disk full|ENOSPC" "$T/err" || { cat "$T/err" >&2; fail "the message does not say the disk is full"; }
[ -z "$(find "$ST" -name '.*.tmp.*')" ] || fail "temporary files left on the full filesystem: $(find "$ST" -name '.*.tmp.*')"
[ -z "$(find "$ST" -path '*pvt88_big*' -name '*.pgv')" ] || fail "a bundle of the failed backup is listed"
echo "$sums" | sha256sum -c --quiet - || fail "bundles made before the disk filled changed"
grep -q "pruned" "$T/err" && fail "retention ran after a failed backup"
for b in $first; do pv verify --storage "$ST" "$b"; expect_rc 0 "verify of $b after the disk filled"; done
echo "figure: disk full mid-bundle: exit $full_rc, 0 temporary files, $(echo "$first" | wc -l) earlier bundles unchanged and verified, no prune"

# read-only storage
mount -o remount,ro "$M"
pv --config "$T/c.conf" backup --db pvt88_small
expect_rc 1 "backup into a read-only storage"
grep -Eqi "read-only|permission" "$T/err" || { cat "$T/err" >&2; fail "the message does not say why"; }
echo "all good"
