#!/usr/bin/env bash
# tests/t/51-hostile-bundles.sh — bundles made to hurt: member names with "../" or an
# absolute path, links, devices and directories, duplicate members, absurd sizes, extended
# headers, decompression bombs of rows and of large objects, malformed JSON whose manifest
# entry is consistent (so it reaches the parser).  Each one: `verify` and `restore` exit 1
# with a short clear message (no crash, no sanitizer report), restore leaves no database
# and no role, nothing is written outside pgvault's own files, and memory stays bounded (the
# bombs decompress 256 MiB each: peak RSS compared with verifying a small bundle).  What
# only decompressing finds (the bombs, a manifest that miscounts a member's rows), restore
# finds as it loads the member, and stops there: its message says so.  Also a bundle that
# verifies but one of whose sequence values fails on restore (they run many to a round trip):
# the message names that entry.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

DB=pvt51_hostile
ST="$T/st"
H="$T/hostile"
CANARY="/tmp/pvt51_escape.$$"
cleanup() {
	dropdb_q "$DB" >/dev/null 2>&1 || true
	dropdb_q "${DB}_r" >/dev/null 2>&1 || true
	q -d postgres -c "DROP ROLE IF EXISTS pvt51_evil" >/dev/null 2>&1 || true
	rm -rf "$CANARY" "$CANARY.abs"
}
trap cleanup EXIT
cleanup
createdb_q "$DB"
q -d "$DB" -c "CREATE TABLE t (a int, b text); INSERT INTO t SELECT i, 'x' || i FROM generate_series(1, 50) i"
q -d "$DB" -c "CREATE SEQUENCE s1; CREATE SEQUENCE s2; CREATE SEQUENCE s3; SELECT setval('s1', 11), setval('s2', 22), setval('s3', 33)" >/dev/null
q -d "$DB" -c "SELECT lo_from_bytea(4242, 'abc')" >/dev/null
pv backup --storage "$ST" --db "$DB"
expect_rc 0 "backup"
GOOD=$(bundle_file "$ST" "$(head -1 "$T/out")")
mkdir -p "$H" "$T/cwd"

python3 - "$GOOD" "$H" "$CANARY" <<'PY' || fail "making the hostile bundles"
import copy, hashlib, io, json, subprocess, sys, tarfile
good, out, canary = sys.argv[1], sys.argv[2], sys.argv[3]
with tarfile.open(good, "r:") as tf:
    members = [(m.name, tf.extractfile(m).read()) for m in tf.getmembers()]
    mtime = tf.getmembers()[0].mtime
manifest = json.loads(dict(members)["manifest.json"])

def dump(doc):
    return (json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode()

def info(name, size, kind=tarfile.REGTYPE):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname, ti.type = size, 0o600, mtime, 0, 0, "", "", kind
    return ti

def write(fname, ms, fix=True, extra=None):
    """ms: [(name, bytes)]; the manifest brought up to date with them unless fix is False.
    extra(tf) may add raw entries (links, devices) after the header."""
    if fix:
        man = copy.deepcopy(manifest)
        byname = dict(ms)
        if "pgvault.json" in byname:
            try:
                man.update(json.loads(byname["pgvault.json"]))  # the manifest repeats the header
            except ValueError:
                pass
        for e in man["members"]:
            if e["name"] in byname:
                e["size"] = len(byname[e["name"]])
                e["sha256"] = hashlib.sha256(byname[e["name"]]).hexdigest()
        ms = [(n, dump(man) if n == "manifest.json" else d) for n, d in ms]
    with tarfile.open(out + "/" + fname, "w:", format=tarfile.USTAR_FORMAT) as tf:
        for i, (n, d) in enumerate(ms):
            tf.addfile(info(n, len(d)), io.BytesIO(d))
            if i == 0 and extra:
                extra(tf)
        end = tf.offset
    exact_end(out + "/" + fname, end)

def exact_end(path, end):
    """As pgvault writes: two zero blocks after the last member, no record padding."""
    with open(path, "r+b") as f:
        f.truncate(end + 1024)

def replaced(name, data):
    return [(n, data if n == name else d) for n, d in members]

# control: the same bundle rebuilt by this script verifies (so every refusal below is the
# hostile part's)
write("control.pgv", members)
# names
write("traversal.pgv", members[:1] + [("../../" + canary.lstrip("/"), b"x")] + members[1:])
write("absolute.pgv", members[:1] + [(canary + ".abs", b"x")] + members[1:])
write("dotdot-data.pgv", [(n.replace("data/", "data/../../"), d) for n, d in members])
write("duplicate.pgv", members[:3] + [members[2]] + members[3:])
write("unknown-member.pgv", members[:1] + [("evil.sql", b"DROP DATABASE postgres;")] + members[1:])
# links, devices, directories
def symlink(tf):
    ti = info("roles.json", 0, tarfile.SYMTYPE); ti.linkname = "/etc/passwd"; tf.addfile(ti)
def hardlink(tf):
    ti = info("roles.json", 0, tarfile.LNKTYPE); ti.linkname = "pgvault.json"; tf.addfile(ti)
def device(tf):
    ti = info("roles.json", 0, tarfile.CHRTYPE); ti.devmajor, ti.devminor = 1, 3; tf.addfile(ti)
def directory(tf):
    tf.addfile(info("data", 0, tarfile.DIRTYPE))
rest = [m for m in members[1:] if m[0] != "roles.json"]
write("symlink.pgv", members[:1] + rest, extra=symlink)
write("hardlink.pgv", members[:1] + rest, extra=hardlink)
write("device.pgv", members[:1] + rest, extra=device)
write("directory.pgv", members, extra=directory)
# an extended (pax) header smuggling a path
with tarfile.open(out + "/pax-path.pgv", "w:", format=tarfile.PAX_FORMAT) as tf:
    for n, d in members:
        ti = info(n, len(d))
        if n == "roles.json":
            ti.pax_headers = {"path": "../../" + canary.lstrip("/")}
        tf.addfile(ti, io.BytesIO(d))
        end = tf.offset
exact_end(out + "/pax-path.pgv", end)
# absurd sizes: a header promising 8 GiB (the most a plain header can), and a JSON member larger than any pgvault reads
big = info("pre-data.json", (1 << 33) - 1).tobuf(tarfile.USTAR_FORMAT)
raw = b"".join(info(n, len(d)).tobuf(tarfile.USTAR_FORMAT) + d + b"\0" * (-len(d) % 512) for n, d in members[:2])
open(out + "/8gib.pgv", "wb").write(raw + big + b"[" * 4096 + b"\0" * 1024)
big = info("pre-data.json", 600 << 20).tobuf(tarfile.USTAR_FORMAT)
open(out + "/json-600mb.pgv", "wb").write(raw + big + b"[" * 4096 + b"\0" * 1024)
# malformed JSON reaching the parsers (checksums consistent)
write("manifest-array.pgv", replaced("manifest.json", b"[]\n"), fix=False)
m2 = copy.deepcopy(manifest); m2["members"] = "all of them"
write("manifest-members-string.pgv", replaced("manifest.json", dump(m2)), fix=False)
write("header-format-string.pgv", replaced("pgvault.json", b'{"format": "1"}\n'))
write("roles-array.pgv", replaced("roles.json", b'[{"pvt51_evil": {"superuser": true}}]\n'))
pre = json.loads(dict(members)["pre-data.json"])
write("pre-sql-number.pgv", replaced("pre-data.json", dump(pre + [{"kind": "TABLE", "name": "x", "sql": 42}])))
write("pre-not-json.pgv", replaced("pre-data.json", b'[{"kind": "TABLE", "name": "x", "sql": "CREATE ROLE pvt51_evil SUPERUSER"'))
write("data-toc-object.pgv", replaced("data.json", b'{"member_prefix": "data/1"}\n'))
toc = json.loads(dict(members)["data.json"])
t0 = [e for e in toc if "member_prefix" in e][0]
write("data-toc-no-table.pgv", replaced("data.json", dump([{k: v for k, v in e.items() if k != "table"} if e is t0 else e for e in toc])))
write("data-toc-columns-number.pgv", replaced("data.json", dump([dict(e, column_list=7) if e is t0 else e for e in toc])))
hdr = json.loads(dict(members)["pgvault.json"])
write("header-encoding-number.pgv", replaced("pgvault.json", dump(dict(hdr, encoding=6))))
write("header-settings-objects.pgv", replaced("pgvault.json", dump(dict(hdr, settings=[{"work_mem": "1GB"}]))))
write("pre-acl-strings.pgv", replaced("pre-data.json", dump([dict(e, acl=["ALL"]) for e in pre])))
deep = b"[" * 100000 + b"]" * 100000
write("pre-deep-nesting.pgv", replaced("pre-data.json", deep))
# decompression bombs: 256 MiB of rows, and a large object member of 256 MiB where data.json
# says 3 bytes
def zstd(data_cmd):
    return subprocess.run(["sh", "-c", data_cmd + " | zstd -q -3 -c"], capture_output=True, check=True).stdout
rows = zstd("yes '1\tx' | head -c 268435456")
name = [n for n, _ in members if n.startswith("data/")][0]
write("bomb-rows.pgv", replaced(name, rows))
blob = zstd("head -c 268435456 /dev/zero")
bname = [n for n, _ in members if n.startswith("blobs/")][0]
write("bomb-blob.pgv", replaced(bname, blob))

# (not hostile, outside the loop: verify passes it) the statement of one sequence value fails
# on restore: it runs in a batch with the others, and the message names that entry
toc = json.loads(dict(members)["data.json"])
seqs = [e for e in toc if e.get("kind") == "sequence value"]
assert len(seqs) == 3, seqs
bad = seqs[1]
toc = [dict(e, name="pvt51_no_such_seq", sql="SELECT pg_catalog.setval('public.pvt51_no_such_seq', 7, true);") if e is bad else e for e in toc]
write("../seqfail.pgv", replaced("data.json", dump(toc)))

# a manifest that lies about a member's rows (and its total agrees), every SHA-256 right:
# only decompressing the member finds it (restore does as it loads it)
man = copy.deepcopy(manifest)
for e in man["members"]:
    if e["name"] == name:
        e["rows"] -= 1
man["rows"] -= 1
with tarfile.open(out + "/rows-lie.pgv", "w:", format=tarfile.USTAR_FORMAT) as tf:
    for n, d in members:
        d = dump(man) if n == "manifest.json" else d
        tf.addfile(info(n, len(d)), io.BytesIO(d))
    end = tf.offset
exact_end(out + "/rows-lie.pgv", end)
PY

pv verify "$H/control.pgv"
expect_rc 0 "verify of the control bundle (rebuilt unchanged by the test)"
/usr/bin/time -f %M -o "$T/rss-small" "$PGVAULT" verify "$H/control.pgv" >/dev/null 2>&1

n=0
for f in "$H"/*.pgv; do
	name=$(basename "$f" .pgv)
	[ "$name" = control ] && continue
	for cmd in verify restore; do
		if [ "$cmd" = verify ]; then
			rc=0
			(cd "$T/cwd" && /usr/bin/time -f %M -o "$T/rss-$name" "$PGVAULT" verify "$f" >"$T/out" 2>"$T/err") || rc=$?
		else
			rc=0
			(cd "$T/cwd" && "$PGVAULT" restore "$f" --as "${DB}_r" --create-missing-roles >"$T/out" 2>"$T/err") || rc=$?
			cp "$T/err" "$T/restore-$name.err"
		fi
		[ "$rc" = 1 ] || { cat "$T/err" >&2; fail "$cmd of $name: exit $rc, expected 1"; }
		[ -s "$T/err" ] || fail "$cmd of $name: no message"
		[ "$(wc -l <"$T/err")" -le 3 ] || { cat "$T/err" >&2; fail "$cmd of $name: a flood of messages"; }
		! grep -qiE 'sanitizer|runtime error|segmentation' "$T/err" || { cat "$T/err" >&2; fail "$cmd of $name: crashed"; }
	done
	db_exists "${DB}_r" && fail "restore of $name created the database"
	[ "$(q -d postgres -c "SELECT count(*) FROM pg_roles WHERE rolname = 'pvt51_evil'")" = 0 ] || fail "restore of $name created a role"
	echo "  $name: $(tail -1 "$T/err" | sed 's/^.*error: //' | cut -c1-150)"
	n=$((n + 1))
done
# what restore finds as it loads (every stored byte checked before): a member that would
# decompress past its manifest entry's bytes stops there, a large object member past
# data.json's size too, and rows the manifest miscounts fail the restore
grep -q "holds more than the [0-9]* bytes of rows its manifest entry gives it" "$T/restore-bomb-rows.err" ||
	{ cat "$T/restore-bomb-rows.err" >&2; fail "restore of the row bomb did not stop at its manifest entry's bytes"; }
grep -q "holds more bytes than data.json gives the large object" "$T/restore-bomb-blob.err" ||
	{ cat "$T/restore-bomb-blob.err" >&2; fail "restore of the large object bomb did not stop at its size"; }
grep -q "rows loaded, its manifest entry says" "$T/restore-rows-lie.err" ||
	{ cat "$T/restore-rows-lie.err" >&2; fail "restore of a manifest miscounting rows did not fail on it"; }
[ ! -e "$CANARY" ] && [ ! -e "$CANARY.abs" ] || fail "a member was written outside pgvault's files"
[ -z "$(ls -A "$T/cwd")" ] || fail "files appeared in the working directory: $(ls -A "$T/cwd")"
pv verify "$T/seqfail.pgv"
expect_rc 0 "verify of the bundle whose sequence value fails on restore"
pv restore "$T/seqfail.pgv" --as "${DB}_r"
expect_rc 1 "restore of a bundle whose sequence value fails"
grep -q 'sequence value pvt51_no_such_seq' "$T/err" || { cat "$T/err" >&2; fail "the failing sequence value is not named"; }
db_exists "${DB}_r" && fail "the failed restore left its database"
small=$(cat "$T/rss-small")
worst=0 worst_name=
for f in "$T"/rss-*; do
	[ "$f" = "$T/rss-small" ] && continue
	r=$(tail -1 "$f")
	[ "$r" -gt "$worst" ] && { worst=$r; worst_name=${f#"$T"/rss-}; }
done
[ $((worst - small)) -lt 65536 ] || fail "memory grew by $(((worst - small) / 1024)) MB on $worst_name (bounded: under 64 MB above a small bundle's)"
echo "figure: hostile bundles: $n kinds, each refused by verify and by restore (exit 1, at most 3 lines, no crash), 0 databases or roles left, 0 files written outside pgvault's own; peak RSS $((worst / 1024)) MB at worst ($worst_name, 256 MiB decompressed) against $((small / 1024)) MB for a small bundle"
