#!/usr/bin/env bash
# tests/t/30-crash.sh — a backup killed with SIGKILL while it writes leaves no bundle that
# list shows or verify accepts (principle 3: a bundle counts only when complete); the next
# backup succeeds and removes the leftover temporary files.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

DB=pvt30_crash
ST="$T/st"
ROWS=3000000           # ~245 MB of COPY text: a backup takes a moment, the table ~5 s to build
BGPID=

cleanup() {
	if [ -n "$BGPID" ]; then kill -9 "$BGPID" 2>/dev/null || true; fi
	dropdb_q "$DB" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
createdb_q "$DB"
q -d "$DB" -c "CREATE TABLE big AS
	SELECT i AS id, md5(i::text) AS h, repeat(chr(65 + i % 26), 40) AS pad
	FROM generate_series(1, $ROWS) AS i"
q -d "$DB" -c "ALTER TABLE big ADD PRIMARY KEY (id)"

tmp_files() { find "$ST" -type f -name '.*' -name '*.tmp*' 2>/dev/null | LC_ALL=C sort; }

# crash_backup MINBYTES: start a backup, wait for a new temporary file of at least MINBYTES,
# SIGKILL the backup.  Status 0 when it was killed, 1 when it had already finished.
crash_backup() {
	local min="$1" before f i sz
	before=$(tmp_files)
	PGVAULT_CHUNK_BYTES=1048576 "$PGVAULT" backup --storage "$ST" --db "$DB" \
		>"$T/bg.out" 2>"$T/bg.err" &
	BGPID=$!
	for ((i = 0; i < 24000; i++)); do        # at most ~120 s
		while IFS= read -r f; do
			[ -n "$f" ] || continue
			grep -qxF -- "$f" <<<"$before" && continue
			sz=$(stat -c %s "$f" 2>/dev/null || echo -1)
			if [ "$sz" -ge "$min" ]; then
				kill -9 "$BGPID" 2>/dev/null || true
				wait "$BGPID" 2>/dev/null || true
				BGPID=
				echo "killed the backup at $f ($sz bytes)"
				return 0
			fi
		done < <(tmp_files)
		if ! kill -0 "$BGPID" 2>/dev/null; then
			wait "$BGPID" 2>/dev/null || true
			BGPID=
			echo "the backup ended before it could be killed:"; cat "$T/bg.out" "$T/bg.err"
			return 1
		fi
		sleep 0.005
	done
	fail "no temporary file ('.*.tmp*' under $ST) appeared within 120 s"
}

# After a kill: any .pgv present must be a complete bundle; no temporary file passes verify;
# when no bundle exists, list shows nothing for the database.
check_after_kill() {
	local f n_pgv=0
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		case "$(basename "$f")" in
		.*)
			pv verify --storage "$ST" "$f"
			[ "$rc" != 0 ] || fail "verify accepted the leftover temporary file $f"
			;;
		*.pgv)
			n_pgv=$((n_pgv + 1))
			pv verify --storage "$ST" "$f"
			expect_rc 0 "a .pgv present after a crash must be complete: $f"
			;;
		esac
	done < <(find "$ST" -type f 2>/dev/null)
	pv list --storage "$ST" --db "$DB" --json
	expect_rc 0 "list after a crash"
	if [ "$n_pgv" = 0 ]; then
		python3 -c '
import json, os, sys
data = json.load(open(os.environ["T"] + "/out", encoding="utf-8"))
sys.exit(1 if [e for e in data if e.get("database") == sys.argv[1]] else 0)' "$DB" ||
			{ cat "$T/out" >&2; fail "list shows a bundle of a killed backup"; }
		pv list --storage "$ST"
		expect_rc 0 "list (table) after a crash"
		! grep -qF "${DB}_" "$T/out" || { cat "$T/out" >&2; fail "list shows a bundle of a killed backup"; }
	fi
}

killed=0
echo "== kill as soon as the temporary file exists"
if crash_backup 0; then killed=$((killed + 1)); check_after_kill; fi
echo "== kill in the middle of the data"
if crash_backup 4000000; then killed=$((killed + 1)); check_after_kill; fi
[ "$killed" -gt 0 ] || fail "no backup could be killed while writing (table too small?)"

echo "== a new backup after the crashes"
PGVAULT_CHUNK_BYTES=1048576 pv backup --storage "$ST" --db "$DB"
expect_rc 0 "backup after a crash"
[ "$(grep -c . "$T/out")" = 1 ] || fail "expected one bundle id"
ID=$(head -1 "$T/out")
left=$(tmp_files)
[ -z "$left" ] || { printf '%s\n' "$left" >&2; fail "temporary files left after the next successful backup"; }
find "$ST" -type f -name '*.tmp*' | grep -q . && fail "temporary files left after the next successful backup"
pv verify --storage "$ST" "$ID"
expect_rc 0 "verify of the backup made after the crashes"
pv list --storage "$ST" --db "$DB" --json
expect_rc 0 "list"
# Listed: the new bundle, plus any bundle a killed run had completed (a complete .pgv).
n_pgv=$(find "$ST" -type f -name '*.pgv' ! -name '.*' | grep -c . || true)
python3 -c '
import json, os, sys
data = json.load(open(os.environ["T"] + "/out", encoding="utf-8"))
ids = [e["id"] for e in data if e.get("database") == sys.argv[1]]
assert sys.argv[2] in ids and len(ids) == int(sys.argv[3]), (ids, sys.argv[3])' "$DB" "$ID" "$n_pgv" ||
	fail "list should show the new bundle and nothing from the killed runs"
echo "all good"
