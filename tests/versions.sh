#!/usr/bin/env bash
# tests/versions.sh — `make check-versions`: the PostgreSQL version matrix.  Starts a server of
# each version — 15 on the machine (Debian 12), 17 and 18 inside debootstrap trees of Debian
# trixie and sid (tests/lib/trees.sh builds them once and caches them) — on loopback ports,
# loads the fixture corpus (tests/fixtures/*.sql as tests/t/10..18 load them, plus a small
# "plain" database) into each, and runs these scenarios:
#   V       round trip on version V: pgvault backup, restore --as a copy on the same server;
#   A -> B  upgrade: the bundle of A restored into B;
#   B -> A  downgrade: the restore must be refused before it creates anything, with a message
#           naming both versions.
# Then, on each server from a tree, the integration tests of what only newer versions have
# (VERSION_TESTS below: 18's NOT NULL constraints, 17's domain NOT NULL and builtin locales),
# through tests/run-all.sh with PV_EXTERNAL_SERVER; each counts as one test.
# Each round trip and upgrade is compared with pg_dump's own: pg_dump -Fc of the target
# version, then pg_restore of the same version (`pg_attver=` column options, which Debian's
# 15 and 17 store and 18 rejects, are removed from its script).  The oracle, for both, is the
# target version's pg_dump --schema-only of source and copy plus the sorted rows of every table
# (tests/lib/oracle.sh); residuals = lines of the diff of the two schema dumps + relations and
# sequences whose rows/state differ.  A scenario is one test: it passes when, for every
# fixture, pgvault's copy is identical or has no more residuals than pg_dump's (downgrades:
# when refused).  Prints a table and ends with "N passed, N failed".
#
# Usage: tests/versions.sh        (root; TOP_SRCDIR, TOP_BUILDDIR or PGVAULT as for run-all.sh)
#   PGVAULT_TREE_CACHE=DIR  where the trees are cached (default /var/cache/pgvault-test)
#   PV_PORT_BASE=N          first port tried for the servers
#   VERSIONS_KEEP=1         keep the work directory (kept anyway when a scenario fails)
#   VERSIONS_FIXTURES="plain data"   only these fixture databases (a quicker run)
set -u
SRC="$(cd "${TOP_SRCDIR:-$(dirname "$0")/..}" && pwd)"
BUILD="$(cd "${TOP_BUILDDIR:-$SRC}" && pwd)"
export TOP_SRCDIR="$SRC" TOP_BUILDDIR="$BUILD"
export PGVAULT="${PGVAULT:-$BUILD/pgvault}"
. "$SRC/tests/lib/trees.sh"

FIXTURES=(objects names data kinds_ops kinds_fdw kinds_acl kinds_types kinds_tables loops search_path plain)
if [ -n "${VERSIONS_FIXTURES:-}" ]; then read -r -a FIXTURES <<<"$VERSIONS_FIXTURES"; fi
TREE_SUITE_17=trixie TREE_SUITE_18=sid

# ============================================================== one scenario (child process)
# Runs with VX_W (work directory), VX_PORT_<v>, VX_BIN_<v> in the environment.  Writes
# $VX_W/res/<scenario>/<fixture> as key=value lines; never stops at a failing fixture.
. "$SRC/tests/lib/oracle.sh"

port_of() { local v="VX_PORT_$1"; printf '%s' "${!v}"; }
bin_of() { local v="VX_BIN_$1"; printf '%s' "${!v}"; }
on() { # VERSION: the libpq environment of that server
	export PGHOST=127.0.0.1 PGPORT="$(port_of "$1")" PGUSER=postgres PGDATABASE=postgres
	unset PGPASSWORD PGSERVICE PGOPTIONS
}
sql() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
dbcmd() { # VERSION FORMAT NAME: FORMAT (with one %I) applied to the database NAME
	(on "$1"; printf '%s\n' "SELECT pg_catalog.format('$2', :'n') \\gexec" | sql -d postgres -v n="$3" >/dev/null)
}
dropdb_v() { dbcmd "$1" 'DROP DATABASE IF EXISTS %I WITH (FORCE)' "$2"; }
createdb_v() { dbcmd "$1" 'CREATE DATABASE %I TEMPLATE template0' "$2"; }

# snapshot SERVERVERSION TOOLVERSION DB DIR: the oracle's view of DB (cached), normalized
# for comparisons across versions.
snapshot() {
	local sv="$1" tv="$2" db="$3" dir="$4"
	[ -f "$dir/.done" ] && return 0
	rm -rf "$dir"
	(on "$sv"; export PGBIN; PGBIN="$(bin_of "$tv")"; oracle_snapshot "$db" "$dir") || return 1
	# Debian's column option pg_attver (printed by pg_dump 18 only) and the server version
	sed -i -e '/pg_attver=/d' -e '/^-- Dumped from database version /d' "$dir/schema.sql"
	touch "$dir/.done"
}

# residuals SRCDIR COPYDIR OUTPREFIX [OWNSCHEMA]: prints the number; OUTPREFIX.diff gets the
# details.  Blank lines do not count (diff -B, and a blank line paired with another).  OWNSCHEMA (upgrades): the source's schema as its own
# version's pg_dump prints it; a whole statement present in the copy and there, but missing
# from the newer pg_dump's view of the older server, is explained (listed, not counted).
residuals() {
	python3 - "$1" "$2" "$3.diff" "${4:-}" <<-'PY'
	import os, re, subprocess, sys
	a, b, out, own = sys.argv[1:5]
	d = subprocess.run(["diff", "-B", a + "/schema.sql", b + "/schema.sql"], capture_output=True,
	                   text=True, errors="replace").stdout
	lines = [l for l in d.splitlines() if l[:2] in ("< ", "> ") and l[2:].strip()]
	ownlines = set(open(own, encoding="utf-8", errors="replace").read().splitlines()) if own else set()
	explained = [l for l in lines if l.startswith("> ") and l[2:] in ownlines
	             and re.match(r"^[A-Z]+ .*;$", l[2:])]
	lines = [l for l in lines if l not in explained]
	n, notes = len(lines), []
	def rd(p):
	    try: return open(p, encoding="utf-8", errors="replace").read().splitlines()
	    except FileNotFoundError: return []
	def keyed(p, sep):
	    return {l.split(sep, 1)[0]: l for l in rd(p)}
	ia, ib = keyed(a + "/data/index", " "), keyed(b + "/data/index", " ")
	for k in sorted(set(ia) | set(ib)):
	    name = (ia.get(k) or ib.get(k)).split(" ", 2)[-1]
	    if k not in ib: n += 1; notes.append("relation missing in the copy: " + name); continue
	    if k not in ia: n += 1; notes.append("relation only in the copy: " + name); continue
	    if rd(a + "/data/" + k + ".copy") != rd(b + "/data/" + k + ".copy"):
	        n += 1; notes.append("rows differ: " + name)
	for f in ("sequences", "matviews"):
	    sa, sb = set(rd(a + "/data/" + f)), set(rd(b + "/data/" + f))
	    for l in sorted(sa - sb):
	        n += 1; notes.append(f + ": " + l + " (copy: " + ", ".join(x for x in sb - sa if x.split(" ")[0] == l.split(" ")[0]) + ")")
	with open(out, "w") as o:
	    o.write(d)
	    for l in explained: o.write("# explained (in the source as its own pg_dump prints it): " + l[2:] + "\n")
	    for l in notes: o.write("# " + l + "\n")
	print(n)
	PY
}

# bundle_of VERSION FIXTURE: prints the id of the fixture's bundle from that server (backed
# up on first use); status 1 (the error in st-V/FIXTURE.err) when the backup failed.
bundle_of() {
	local v="$1" f="$2" st="$VX_W/st-$1"
	mkdir -p "$st"
	if [ ! -f "$st/$f.id" ] && [ ! -f "$st/$f.err" ]; then
		if (on "$v"; "$PGVAULT" backup --storage "$st" --db "vx_$f" >"$st/$f.out" 2>"$st/$f.log"); then
			head -1 "$st/$f.out" >"$st/$f.id"
		else
			grep -m1 'error' "$st/$f.log" >"$st/$f.err" || tail -1 "$st/$f.log" >"$st/$f.err"
		fi
	fi
	[ -f "$st/$f.id" ] && cat "$st/$f.id"
}

# pg_dump of version TV from server SV, restored by the same version into DB on TV; prints
# the number of errors pg_restore (or psql, for a script with pg_attver options) reported.
pgdump_copy() {
	local sv="$1" tv="$2" src="$3" db="$4" out="$5" bin
	bin=$(bin_of "$tv")
	dropdb_v "$tv" "$db" && createdb_v "$tv" "$db" || return 1
	(on "$sv"; "$bin/pg_dump" -Fc --dbname="$(oracle_conninfo "$src")") >"$out.dump" 2>"$out.log" || return 1
	if "$bin/pg_restore" -f - <"$out.dump" 2>>"$out.log" | grep -q 'pg_attver='; then
		# 18 rejects the option, and the failing statement would take its table with it
		(on "$tv"; "$bin/pg_restore" -f - <"$out.dump" | sed '/pg_attver=/d' |
			PGCLIENTENCODING=UTF8 "$bin/psql" -X -q -d "$(oracle_conninfo "$db")") >>"$out.log" 2>&1
		grep -c 'ERROR:' "$out.log"
	else
		(on "$tv"; "$bin/pg_restore" --dbname="$(oracle_conninfo "$db")" <"$out.dump") >>"$out.log" 2>&1
		grep -c '^pg_restore: error' "$out.log"
	fi
	rm -f "$out.dump"
}

result() { # FILE key=value...
	printf '%s\n' "${@:2}" >"$1"
}

# copy_scenario FROM TO: round trip (FROM = TO) or upgrade
copy_scenario() {
	local a="$1" b="$2" res="$VX_W/res/$3" f id pv pd pderr suffix t0 own
	mkdir -p "$res"
	suffix=$([ "$a" = "$b" ] && echo "" || echo "_from$a")
	for f in "${FIXTURES[@]}"; do
		t0=$(date +%s) own=
		if [ "$a" != "$b" ] && snapshot "$a" "$a" "vx_$f" "$VX_W/snap/$a-by-$a/$f"; then
			own="$VX_W/snap/$a-by-$a/$f/schema.sql"
		fi
		echo "== $3: $f"
		rm -rf "$res/$f.pd.snap" "$res/$f.pv.snap"
		if [ -f "$VX_W/load-$a-$f.err" ]; then
			result "$res/$f" pv=load-failed "note=$(head -1 "$VX_W/load-$a-$f.err")"; continue
		fi
		snapshot "$a" "$b" "vx_$f" "$VX_W/snap/$a-by-$b/$f" ||
			{ result "$res/$f" pv=oracle-failed "note=the oracle could not read vx_$f on $a"; continue; }
		# pg_dump's own copy
		pd=failed pderr=
		if pderr=$(pgdump_copy "$a" "$b" "vx_$f" "vx_$f${suffix}_pd" "$res/$f.pg_dump") &&
			snapshot "$b" "$b" "vx_$f${suffix}_pd" "$res/$f.pd.snap"; then
			pd=$(residuals "$VX_W/snap/$a-by-$b/$f" "$res/$f.pd.snap" "$res/$f.pd" "$own")
		fi
		dropdb_v "$b" "vx_$f${suffix}_pd" >/dev/null 2>&1
		# pgvault's
		if ! id=$(bundle_of "$a" "$f"); then
			result "$res/$f" pv=backup-failed "pd=$pd" "pderr=$pderr" "note=$(cat "$VX_W/st-$a/$f.err")"; continue
		fi
		dropdb_v "$b" "vx_$f${suffix}_pv"
		if ! (on "$b"; "$PGVAULT" restore --storage "$VX_W/st-$a" "$id" --as "vx_$f${suffix}_pv") \
			>"$res/$f.restore.log" 2>&1; then
			result "$res/$f" pv=restore-failed "pd=$pd" "pderr=$pderr" \
				"note=$(grep -m1 error "$res/$f.restore.log" || tail -1 "$res/$f.restore.log")"; continue
		fi
		if snapshot "$b" "$b" "vx_$f${suffix}_pv" "$res/$f.pv.snap"; then
			pv=$(residuals "$VX_W/snap/$a-by-$b/$f" "$res/$f.pv.snap" "$res/$f.pv" "$own")
			result "$res/$f" pv=ok "pvn=$pv" "pd=$pd" "pderr=$pderr" "secs=$(( $(date +%s) - t0 ))"
		else
			result "$res/$f" pv=oracle-failed "pd=$pd" "pderr=$pderr" "note=the oracle could not read the copy"
		fi
		dropdb_v "$b" "vx_$f${suffix}_pv" >/dev/null 2>&1
	done
}

cluster_state() { # VERSION: its databases and roles
	(on "$1"; sql -d postgres -c "SELECT 'db ' || datname FROM pg_catalog.pg_database UNION ALL
		SELECT 'role ' || rolname FROM pg_catalog.pg_roles ORDER BY 1")
}

# downgrade_scenario FROM TO: every bundle of FROM must be refused by TO, creating nothing.
downgrade_scenario() {
	local a="$1" b="$2" res="$VX_W/res/$3" f id state0 state1 db msg
	mkdir -p "$res"
	for f in "${FIXTURES[@]}"; do
		echo "== $3: $f"
		if ! id=$(bundle_of "$a" "$f"); then
			result "$res/$f" pv=no-bundle "note=backup on $a failed: $(cat "$VX_W/st-$a/$f.err" 2>/dev/null)"; continue
		fi
		db="vx_${f}_from$a"
		state0=$(cluster_state "$b")
		if (on "$b"; "$PGVAULT" restore --storage "$VX_W/st-$a" "$id" --as "$db") >"$res/$f.restore.log" 2>&1; then
			result "$res/$f" pv=not-refused "note=restored"
			dropdb_v "$b" "$db" >/dev/null 2>&1; continue
		fi
		state1=$(cluster_state "$b")
		if [ "$state0" != "$state1" ]; then
			result "$res/$f" pv=not-refused "note=failed after creating: $(diff <(echo "$state0") <(echo "$state1") | grep '^[<>]' | head -3 | tr '\n' ' ')"
		elif msg=$(sed 's/^[0-9][0-9TZ:.-]* //' "$res/$f.restore.log") &&
			grep -Eq "(^|[^0-9.])$a(\.[0-9]+)?([^0-9.]|$)" <<<"$msg" &&
			grep -Eq "(^|[^0-9.])$b(\.[0-9]+)?([^0-9.]|$)" <<<"$msg"; then
			result "$res/$f" pv=refused "note=$(grep -m1 . "$res/$f.restore.log")"
		else
			result "$res/$f" pv=not-refused "note=failed without naming both versions: $(grep -m1 error "$res/$f.restore.log" || head -1 "$res/$f.restore.log")"
		fi
	done
}

# print_table: the matrix from $VX_W/scenarios and $VX_W/res/ into $VX_W/table.txt, and
# $VX_W/verdicts ("SCENARIO ok|fail" per line).
print_table() {
	rm -f "$VX_W/verdicts"
	python3 - "$VX_W" "${FIXTURES[*]}" >"$VX_W/table.txt" <<-'PY'
	import os, re, sys
	w, fixtures = sys.argv[1], sys.argv[2].split()
	rows = [l.split() for l in open(w + "/scenarios")]
	def load(p):
	    d = {}
	    try:
	        for l in open(p, encoding="utf-8", errors="replace"):
	            if "=" in l:
	                k, v = l.rstrip("\n").split("=", 1); d[k] = v
	    except FileNotFoundError:
	        pass
	    return d
	def name(s):
	    a, b = s.split("-")
	    return a if a == b else a + " -> " + b
	def cnt(n):
	    n = int(n)
	    return "identical" if n == 0 else "%d residual%s" % (n, "" if n == 1 else "s")
	FAILS = {"backup-failed": "backup failed", "restore-failed": "restore failed",
	         "load-failed": "fixture did not load", "oracle-failed": "oracle failed",
	         "no-bundle": "no bundle", "not-refused": "not refused"}
	summary, detail, verdicts, notes = [], {}, {}, {}
	for r in rows:
	    s = r[0]
	    a, b = s.split("-")
	    down = int(a) > int(b)
	    if r[1] == "no-server":
	        summary.append((name(s), "no server", "-", "FAIL")); verdicts[s] = False
	        open(w + "/verdicts", "a").write("%s fail\n" % s); continue
	    res = {f: load(w + "/res/%s/%s" % (s, f)) for f in fixtures}
	    ok, pvn, pdn, bad, pdfail = True, 0, 0, {}, 0
	    for f in fixtures:
	        d = res[f]; st = d.get("pv", "missing")
	        if down:
	            good = st == "refused"
	            cell = "ref" if good else {"no-bundle": "nb", "not-refused": "NR"}.get(st, "?")
	        else:
	            pd = d.get("pd", "failed")
	            pdc = "-" if pd in ("failed", "") else ("=" if pd == "0" else pd)
	            if pd not in ("failed", ""): pdn += int(pd)
	            else: pdfail += 1
	            if st == "ok":
	                n = int(d["pvn"]); pvn += n
	                good = n == 0 or (pd not in ("failed", "") and n <= int(pd))
	                cell = ("=" if n == 0 else str(n)) + "/" + pdc
	            else:
	                good = False
	                cell = {"backup-failed": "B", "restore-failed": "R", "load-failed": "L",
	                        "oracle-failed": "O"}.get(st, "?") + "/" + pdc
	        if not good:
	            bad.setdefault(FAILS.get(st, st if st != "ok" else "more residuals"), []).append(f)
	            if d.get("note"):
	                note = re.sub(r"^backup on [0-9]+ failed: ", "", d["note"])
	                note = re.sub(r"^[0-9][0-9TZ:.-]* (pgvault: (error: )?)?", "", note)
	                notes.setdefault(note[:160], []).append("%s %s" % (name(s), f))
	        detail[(s, f)] = cell
	        ok = ok and good
	    if r[1] not in ("0",):
	        ok = False; bad.setdefault("scenario exited %s" % r[1], [])
	    verdicts[s] = ok
	    open(w + "/verdicts", "a").write("%s %s\n" % (s, "ok" if ok else "fail"))
	    if down:
	        nref = sum(1 for f in fixtures if res[f].get("pv") == "refused")
	        pvtext = "refused" if nref == len(fixtures) else "refused %d of %d" % (nref, len(fixtures))
	        pdtext = "-"
	    else:
	        done = sum(1 for f in fixtures if res[f].get("pv") == "ok")
	        pvtext = cnt(pvn) if done == len(fixtures) else "%s in %d of %d" % (cnt(pvn), done, len(fixtures))
	        pdtext = cnt(pdn) + ("" if not pdfail else " (%d failed)" % pdfail)
	    why = "; ".join("%s: %s" % (k, " ".join(v)) for k, v in bad.items())
	    secs = r[2] if len(r) > 2 else "?"
	    summary.append((name(s), pvtext, pdtext, ("ok" if ok else "FAIL") + " (%ss)" % secs, why))
	print("%-10s %-28s %-28s %s" % ("scenario", "pgvault", "pg_dump -Fc | pg_restore", "result"))
	for n, pv, pd, v, why in summary:
	    print("%-10s %-28s %-28s %s" % (n, pv, pd, v))
	    if why: print("%-10s   %s" % ("", why))
	print()
	print("per fixture database: pgvault/pg_dump residuals (= identical, B backup failed, R restore")
	print("failed, L fixture did not load, O oracle failed, - pg_dump's copy failed); downgrades:")
	print("ref refused, NR not refused, nb no bundle (the backup failed)")
	scn = [r[0] for r in rows]
	print("%-13s" % "fixture" + "".join("%-8s" % name(s).replace(" -> ", ">") for s in scn))
	for f in fixtures:
	    print(("%-13s" % f + "".join("%-8s" % detail.get((s, f), "-") for s in scn)).rstrip())
	if notes:
	    print()
	    for n, where in list(notes.items())[:30]:
	        print("  %s: %s" % (", ".join(where[:4]) + (" (+%d)" % (len(where) - 4) if len(where) > 4 else ""), n))
	PY
}

if [ "${1:-}" = --table ]; then   # print the table of an earlier run again
	VX_W="$2"; print_table; cat "$VX_W/table.txt"; exit 0
fi
if [ "${1:-}" = --scenario ]; then
	a="${2%%-*}" b="${2##*-}"
	if [ "$a" -le "$b" ]; then copy_scenario "$a" "$b" "$2"; else downgrade_scenario "$a" "$b" "$2"; fi
	exit 0
fi

# ============================================================== the matrix (main process)
[ "$(id -u)" = 0 ] || { echo "check-versions: needs root (debootstrap, chroot)"; echo "0 passed, 1 failed"; exit 1; }
[ -x "$PGVAULT" ] || { echo "check-versions: no pgvault binary at $PGVAULT"; echo "0 passed, 1 failed"; exit 1; }
. "$SRC/tests/lib/pg.sh"   # the machine's own server (PGBIN: its newest version)
export VX_W
VX_W="$(mktemp -d /tmp/pgvault-versions.XXXXXX)"
chmod 755 "$VX_W"
HOSTVER=$("$PGBIN/pg_config" --version 2>/dev/null | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
[ -n "$HOSTVER" ] || HOSTVER=$(basename "$(dirname "$PGBIN")")
declare -A TREE=() TREEDIR=()
VERSIONS=("$HOSTVER")
for v in 17 18; do [ "$v" = "$HOSTVER" ] || VERSIONS+=("$v"); done
start_all=$(date +%s)

cleanup() {
	local v
	for v in "${!TREEDIR[@]}"; do tree_pg_stop "${TREE[$v]}" "$v" "${TREEDIR[$v]}"; done
	TREEDIR=()
	pg_stop "$VX_W/pg$HOSTVER"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0; failed=0; failures=()
declare -A UP=()
echo "== trees (cache $PGVAULT_TREE_CACHE)"
for v in "${VERSIONS[@]}"; do
	[ "$v" = "$HOSTVER" ] && continue
	s="TREE_SUITE_$v"
	( t0=$(date +%s); tree_ensure "${!s}" "$v" >"$VX_W/tree-$v" 2>"$VX_W/tree-$v.log"; rc=$?
	  echo "$(( $(date +%s) - t0 ))" >"$VX_W/tree-$v.secs"; exit $rc ) &
	eval "TREEPID_$v=$!"
done
port=$(pg_free_port) || port=5490
for v in "${VERSIONS[@]}"; do
	if [ "$v" = "$HOSTVER" ]; then
		# the machine's server, listening on 127.0.0.1 too
		if pg_start "$VX_W/pg$v" "$port" >"$VX_W/server-$v.log" 2>&1; then
			UP[$v]=1; export "VX_PORT_$v=$PGPORT" "VX_BIN_$v=$PGBIN"
		fi
	else
		p="TREEPID_$v"
		if wait "${!p}"; then
			TREE[$v]=$(cat "$VX_W/tree-$v")
			echo "   PostgreSQL $v: ${TREE[$v]} ($(cat "$VX_W/tree-$v.secs") s)"
			if tree_pg_start "${TREE[$v]}" "$v" "$port" d >"$VX_W/server-$v.log" 2>&1; then
				TREEDIR[$v]=$d; UP[$v]=1; export "VX_PORT_$v=$port" "VX_BIN_$v=$VX_W/bin$v"
				tree_bin_dir "${TREE[$v]}" "$v" "$VX_W/bin$v"
			else
				TREEDIR[$v]=$d
			fi
		else
			sed 's/^/   /' "$VX_W/tree-$v.log" | tail -20
		fi
	fi
	if [ -n "${UP[$v]:-}" ]; then
		on "$v"
		# JIT compiling the catalog queries costs seconds per statement; it is not what the
		# matrix is about.
		sql -c "ALTER SYSTEM SET jit = off" -c "SELECT pg_reload_conf()" >/dev/null
		echo "   PostgreSQL $(sql -c 'SHOW server_version') on 127.0.0.1:$port"
		port=$(pg_free_port $((port + 1))) || port=$((port + 1))
	else
		failed=$((failed + 1)); failures+=("start PostgreSQL $v")
		echo "FAIL start PostgreSQL $v"; sed 's/^/     /' "$VX_W/server-$v.log" | tail -20
	fi
done
t_servers=$(date +%s)

echo "== loading the fixtures"
cat >"$VX_W/plain.sql" <<'EOF'
-- a database without NOT NULL constraints or keys
CREATE TABLE public.notes (id integer, body text, at timestamp with time zone);
INSERT INTO public.notes SELECT i, 'note ' || i, '2026-01-01 00:00:00+00'::timestamptz + i * interval '1 hour'
  FROM generate_series(1, 200) i;
CREATE VIEW public.recent_notes AS SELECT id, body FROM public.notes WHERE id > 190;
COMMENT ON TABLE public.notes IS 'plain notes';
CREATE SEQUENCE public.note_seq START 5;
SELECT nextval('public.note_seq');
EOF
for v in "${VERSIONS[@]}"; do
	[ -n "${UP[$v]:-}" ] || continue
	for f in "${FIXTURES[@]}"; do
		fx="$SRC/tests/fixtures/$f.sql"; [ "$f" = plain ] && fx="$VX_W/plain.sql"
		if ! { createdb_v "$v" "vx_$f" && (on "$v"; PGCLIENTENCODING=UTF8 sql -d "vx_$f" -f "$fx" >/dev/null); } \
			2>"$VX_W/load-$v-$f.err"; then
			echo "   $f does not load on $v: $(head -1 "$VX_W/load-$v-$f.err")"
		else
			rm -f "$VX_W/load-$v-$f.err"
		fi
	done
done
t_loaded=$(date +%s)

SCENARIOS=()
for a in "${VERSIONS[@]}"; do SCENARIOS+=("$a-$a"); done
for a in "${VERSIONS[@]}"; do for b in "${VERSIONS[@]}"; do [ "$a" -lt "$b" ] && SCENARIOS+=("$a-$b"); done; done
for a in "${VERSIONS[@]}"; do for b in "${VERSIONS[@]}"; do [ "$a" -gt "$b" ] && SCENARIOS+=("$a-$b"); done; done
: >"$VX_W/scenarios"
for s in "${SCENARIOS[@]}"; do
	a="${s%%-*}" b="${s##*-}"
	if [ -z "${UP[$a]:-}" ] || [ -z "${UP[$b]:-}" ]; then
		echo "$s no-server" >>"$VX_W/scenarios"; continue
	fi
	t0=$(date +%s)
	timeout 1200 bash "$0" --scenario "$s" >"$VX_W/scenario-$s.log" 2>&1
	echo "$s $? $(( $(date +%s) - t0 ))" >>"$VX_W/scenarios"
done
t_end=$(date +%s)

# The version-specific integration tests (they skip, exit 77, where the version lacks what they
# test) on every server from a tree.
VERSION_TESTS=(19-pg17-domain-locale 19-pg18-notnull)
for v in "${VERSIONS[@]}"; do
	[ "$v" != "$HOSTVER" ] && [ -n "${UP[$v]:-}" ] || continue
	args=(); for t in "${VERSION_TESTS[@]}"; do args+=("$SRC/tests/t/$t.sh"); done
	PV_EXTERNAL_SERVER="127.0.0.1:$(eval echo "\$VX_PORT_$v")" PGBIN="$VX_W/bin$v" \
		bash "$SRC/tests/run-all.sh" "${args[@]}" >"$VX_W/tests-$v.log" 2>&1
	while read -r st name rest; do
		case "$st" in
		ok) passed=$((passed + 1)); echo "ok   PostgreSQL $v: $name $rest" ;;
		FAIL) failed=$((failed + 1)); failures+=("$v:$name"); echo "FAIL PostgreSQL $v: $name" ;;
		esac
	done < <(grep -E '^(ok|FAIL) ' "$VX_W/tests-$v.log")
	grep -q '^[0-9]* passed' "$VX_W/tests-$v.log" || { failed=$((failed + 1)); failures+=("$v:tests"); tail -20 "$VX_W/tests-$v.log"; }
done

print_table
cat "$VX_W/table.txt"
while read -r s verdict; do
	if [ "$verdict" = ok ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$s"); fi
done <"$VX_W/verdicts"
echo "time: trees and servers $((t_servers - start_all)) s, fixtures $((t_loaded - t_servers)) s, scenarios $((t_end - t_loaded)) s"
cleanup; trap - EXIT   # the servers stop before their directories go
if [ "$failed" != 0 ]; then echo "failed: ${failures[*]} (logs in $VX_W)"
elif [ -z "${VERSIONS_KEEP:-}" ]; then rm -rf "$VX_W"; else echo "work directory: $VX_W"; fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
