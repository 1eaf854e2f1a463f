#!/usr/bin/env bash
# contrib/check-layers.sh — the layering and structure rules of src/ (`make check-layers`,
# and tests/t/05-layers.sh in `make check`), with a debt list of the violations the code has
# today (contrib/layers-debt.txt) so the check passes now and tightens as the code is
# restructured.
#
#   contrib/check-layers.sh [--write-debt] [--debt FILE] [--build DIR] [-v] [SRCDIR]
#
#   SRCDIR        the source tree (default: this script's ../); its src/ is checked
#   --build DIR   the build directory whose src/**/*.o the link rule reads with nm
#                 (default $TOP_BUILDDIR, else SRCDIR); without objects that rule is skipped
#   --debt FILE   the debt list (default SRCDIR/contrib/layers-debt.txt)
#   --write-debt  rewrite the debt list from what the tree violates now, then exit 0
#   -v            also print the violations the debt list covers
#
# The rules (rule name as in the debt list first):
#   include   the includes between directories of src/ (`#include "dir/file.h"` lines that
#             name a file of src/; "file.h" alone is resolved in the including file's own
#             directory):
#               pg/      includes nothing from bundle/, store/, engine/, cmd/
#               bundle/  includes only util/ and bundle/
#               store/   includes only util/, store/ and bundle/bundle.h (the stream types)
#               schema/  includes nothing from bundle/, store/, pg/, engine/, cmd/ (plain C:
#                        quoting comes in through schema/model.h's pv_render_ctx)
#               cmd/     is included only by cmd/ and src/main.c
#             debt: `include pg/dump.c bundle/bundle.h` (paths under src/)
#   cycle     no circle in the include graph of modules: a module is "dir/name", a .c and its
#             own .h being one; the cycle found is printed, hop by hop with the includes
#             that make it.  debt: `cycle A B ...`, the strongly connected set, sorted
#   remote    src/cmd/{list,verify,prune,restore,upload}.c do not branch on local vs S3:
#             no pv_s3*, pv_open_s3, pv_remote_*, store/s3.h, `if (... remote ...)` or
#             `remote ?`; they go through a repository interface.  debt: `remote FILE`
#   sqlpatch  no rendered SQL is patched: no strstr/strchr/strrchr in src/pg, src/schema,
#             src/engine, except on a line carrying `/* layering: not SQL */` (parsing
#             "name=value", error messages...).  Comment lines (starting with /*, * or //)
#             are not looked at.  debt: `sqlpatch FILE LINES` (lines with such a call)
#   modelsql  no catalog reader writes SQL text into the model: no assignment to `->sql` in a
#             reader, a file of src/pg/ that includes pg/catalog_int.h (`o->sql =
#             pv_asprintf(...)`, `... = pv_buf_detach(...)`); a kind's SQL is
#             rendered from its typed definition after the sort (schema/model.h, render.h).
#             Comment lines are not looked at.  debt: `modelsql FILE COUNT` (such assignments:
#             the kinds still to convert)
#   size      no file of src/ over 1000 lines, unless one of its first 5 lines has
#             `layering-exception: <reason>`.  debt: `size FILE LINES`
#   function  no function over 150 lines: from its `{` at column 0 to the matching `}` at
#             column 0, both counted, unless the line just above the function (above its
#             return type line) is `/* layering-exception: <reason> */`.
#             debt: `function FILE NAME LINES`
#   link      the objects of src/pg/ reference no symbol defined by the objects of
#             src/bundle/, src/store/, src/cmd/ (nm on the build's objects).
#             debt: `link pg/MODULE DEFINING/MODULE` (the symbols are in the message)
#
# A violation not in the debt list fails the check.  For size, function, sqlpatch and modelsql the
# debt's number is a ceiling: growing past it is a new violation (shrinking below it is
# fine, and printed as a note that the number can be lowered).  A debt line that no longer
# occurs fails the check too, so the list only shrinks: whoever fixes a violation removes its
# line (or regenerates the list with --write-debt and reviews the diff).  Debt lines of the
# link rule are left alone when there are no objects to read.
#
# Needs bash, find, sort, awk (POSIX: mawk will do), and nm (binutils) for the link rule.
# Last line: "layers: N rules, M debt items, K new violations"; exit status 0 when nothing
# is new and nothing is stale, 1 otherwise, 2 on a usage error.
set -uo pipefail
export LC_ALL=C

WRITE=no VERBOSE=no DEBT="" BUILD="${TOP_BUILDDIR:-}" SRC=""
while [ $# -gt 0 ]; do
	case "$1" in
	--write-debt) WRITE=yes; shift ;;
	--debt) DEBT="${2:?--debt needs a file}"; shift 2 ;;
	--build) BUILD="${2:?--build needs a directory}"; shift 2 ;;
	-v) VERBOSE=yes; shift ;;
	-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "usage: $0 [--write-debt] [--debt FILE] [--build DIR] [-v] [SRCDIR]" >&2; exit 2 ;;
	*) [ -z "$SRC" ] || { echo "check-layers: one source directory only" >&2; exit 2; }
	   SRC="$1"; shift ;;
	esac
done
SRC="${SRC:-$(dirname "$0")/..}"
[ -d "$SRC/src" ] || { echo "check-layers: no src/ in $SRC" >&2; exit 2; }
SRC="$(cd "$SRC" && pwd)"
BUILD="${BUILD:-$SRC}"
BUILD="$(cd "$BUILD" 2>/dev/null && pwd || echo "$BUILD")"
DEBT="${DEBT:-$SRC/contrib/layers-debt.txt}"
case "$DEBT" in /*) ;; *) DEBT="$PWD/$DEBT" ;; esac
NRULES=12 # the five include rules, cycle, remote, sqlpatch, modelsql, size, function, link

W="$(mktemp -d "${TMPDIR:-/tmp}/check-layers.XXXXXX")" || exit 2
trap 'rm -rf "$W"' EXIT

# Every finding is one line of $W/found: KEY <TAB> NUMBER (or -) <TAB> MESSAGE, where KEY is
# the debt line without its number.
cd "$SRC" || exit 2
find src -type f \( -name '*.c' -o -name '*.h' \) | sort >"$W/files"
[ -s "$W/files" ] || { echo "check-layers: no C files under $SRC/src" >&2; exit 2; }

# One pass over every file: includes (to $W/edges: FROM TO LINE, paths under src/), size,
# function length, sqlpatch, modelsql, remote.
# shellcheck disable=SC2046
awk -v edges="$W/edges" '
function flush_file() {
	if (cur == "") return
	if (n > 1000 && !fileexempt)
		printf "size %s\t%d\t%s: %d lines (over 1000; no layering-exception in its first 5 lines)\n", cur, n, cur, n
	if (sqln > 0)
		printf "sqlpatch %s\t%d\t%s: %d line(s) with strstr/strchr/strrchr (patching SQL text?)%s\n", cur, sqln, cur, sqln, sqlwhere
	if (msqln > 0 && readerfile)
		printf "modelsql %s\t%d\t%s: %d assignment(s) of SQL text to the model (->sql) in a catalog reader: give the kind a typed definition rendered after the sort (schema/model.h)%s\n", cur, msqln, cur, msqln, msqlwhere
	if (remn > 0)
		printf "remote %s\t-\t%s: branches on local vs S3 instead of a repository interface:%s\n", cur, cur, remwhere
}
function iscomment(s) { return s ~ /^[ \t]*(\/\*|\*|\/\/)/ }
function header_name(i,    j, h, s, d, k, c) {
	# the function header: the lines above "{" back to a blank line, a line ending a
	# statement, a comment or a preprocessor line
	for (j = i - 1; j >= 1; j--) {
		s = L[j]
		if (s ~ /^[ \t]*$/ || s ~ /[;}][ \t]*$/ || s ~ /\*\/[ \t]*$/ || s ~ /^[ \t]*#/ || iscomment(s)) break
	}
	hstart = j + 1
	h = ""
	for (j = hstart; j < i; j++) h = h " " L[j]
	if (h !~ /\(/ || h ~ /=[ \t]*$/) return ""
	# without __attribute__((...)), which this code puts before the name
	while ((j = index(h, "__attribute__")) > 0) {
		s = substr(h, j + 13); d = 0
		for (k = 1; k <= length(s); k++) {
			c = substr(s, k, 1)
			if (c == "(") d++
			else if (c == ")" && --d == 0) break
		}
		h = substr(h, 1, j - 1) " " substr(s, k + 1)
	}
	if (!match(h, /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/)) return ""
	s = substr(h, RSTART, RLENGTH)
	sub(/[ \t]*\($/, "", s)
	return s
}
NR == FNR { exists[$0] = 1; next }
FNR == 1 {
	flush_file()
	cur = FILENAME; n = 0; fileexempt = 0; open = 0; sqln = 0; sqlwhere = ""; msqln = 0; msqlwhere = ""; readerfile = 0; remn = 0; remwhere = ""
	dir = cur; sub(/^src\//, "", dir)
	rel = dir
	if (dir ~ /\//) { sub(/\/.*/, "", dir) } else dir = ""
	reldir = rel; if (reldir ~ /\//) sub(/\/[^\/]*$/, "", reldir); else reldir = ""
	sqlfile = (dir == "pg" || dir == "schema" || dir == "engine")
	pgfile = (dir == "pg")
	remfile = (cur ~ /^src\/cmd\/(list|verify|prune|restore|upload)\.c$/)
	split("", L)
}
{
	n = FNR; L[FNR] = $0
	if (FNR <= 5 && $0 ~ /layering-exception:[ \t]*[^ \t*]/) fileexempt = 1
}
/^[ \t]*#[ \t]*include[ \t]*"/ {
	inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
	if (pgfile && (inc == "pg/catalog_int.h" || inc == "catalog_int.h")) readerfile = 1
	if (exists["src/" inc]) print rel, inc, FNR > edges
	else if (inc !~ /\// && reldir != "" && exists["src/" reldir "/" inc]) print rel, reldir "/" inc, FNR > edges
}
/^\{/ && !open {
	open = 1; fstart = FNR; fname = header_name(FNR)
	fexempt = (hstart > 1 && L[hstart - 1] ~ /layering-exception:[ \t]*[^ \t*]/)
}
/^\}/ && open {
	open = 0; len = FNR - fstart + 1
	if (fname != "" && len > 150 && !fexempt)
		printf "function %s %s\t%d\t%s:%d: function %s is %d lines (over 150; no /* layering-exception: ... */ above it)\n", cur, fname, len, cur, fstart, fname, len
}
sqlfile && !iscomment($0) && $0 !~ /\/\* layering: not SQL \*\// && $0 ~ /(^|[^A-Za-z0-9_])str(r?chr|str)[ \t]*\(/ {
	sqln++; line = $0; sub(/^[ \t]*/, "", line); sqlwhere = sqlwhere "\037" cur ":" FNR ": " line
}
pgfile && !iscomment($0) && $0 ~ /->[ \t]*sql[ \t]*=([^=]|$)/ {
	msqln++; line = $0; sub(/^[ \t]*/, "", line); msqlwhere = msqlwhere "\037" cur ":" FNR ": " line
}
remfile && !iscomment($0) && ($0 ~ /pv_s3|pv_open_s3|pv_remote_|store\/s3\.h/ || $0 ~ /(^|[^A-Za-z0-9_])if[ \t]*\([^)]*remote/ || $0 ~ /remote[ \t]*\?/) {
	remn++; line = $0; sub(/^[ \t]*/, "", line); if (remn <= 6) remwhere = remwhere "\037" cur ":" FNR ": " line
	else if (remn == 7) remwhere = remwhere "\037..."
}
END { flush_file() }
' "$W/files" $(cat "$W/files") >"$W/found"
touch "$W/edges"

# The include rules, over the edges.
awk '
function top(p) { return p ~ /\// ? substr(p, 1, index(p, "/") - 1) : "" }
{
	from = $1; to = $2; f = top(from); t = top(to); why = ""
	if (f == "pg" && (t == "bundle" || t == "store" || t == "engine" || t == "cmd"))
		why = "pg/ includes nothing from bundle/, store/, engine/, cmd/"
	else if (f == "bundle" && t != "util" && t != "bundle")
		why = "bundle/ includes only util/ and bundle/"
	else if (f == "store" && t != "util" && t != "store" && to != "bundle/bundle.h")
		why = "store/ includes only util/, store/ and bundle/bundle.h"
	else if (f == "schema" && (t == "bundle" || t == "store" || t == "pg" || t == "engine" || t == "cmd"))
		why = "schema/ includes nothing from bundle/, store/, pg/, engine/, cmd/"
	else if (t == "cmd" && f != "cmd" && from != "main.c")
		why = "only cmd/ and src/main.c include cmd/"
	if (why != "" && !seen[from, to]++)
		printf "include %s %s\t-\tsrc/%s:%d includes %s (%s)\n", from, to, from, $3, to, why
}' "$W/edges" >>"$W/found"

# Cycles in the module graph: each strongly connected set of more than one module, with the
# shortest cycle through its first module.
awk '
function mod(p) { sub(/\.[ch]$/, "", p); sub(/_int$/, "", p); return p }
{
	a = mod($1); b = mod($2)
	if (!(a in id)) { id[a] = ++nn; name[nn] = a }
	if (!(b in id)) { id[b] = ++nn; name[nn] = b }
	if (a == b || E[id[a], id[b]]) next
	E[id[a], id[b]] = 1; adj[id[a], ++deg[id[a]]] = id[b]
	wit[id[a], id[b]] = "src/" $1 ":" $3 " includes " $2
}
END {
	# reach[u, v]: v is reachable from u (breadth first from every module; the graph is small)
	for (u = 1; u <= nn; u++) {
		qh = 1; qt = 0; q[++qt] = u; split("", vis); vis[u] = 1
		while (qh <= qt) {
			x = q[qh++]
			for (k = 1; k <= deg[x]; k++) {
				y = adj[x, k]; reach[u, y] = 1
				if (!vis[y]) { vis[y] = 1; q[++qt] = y }
			}
		}
	}
	for (u = 1; u <= nn; u++) {
		if (done[u] || !reach[u, u]) continue
		# the set of u, its members sorted, its first member m
		cnt = 0
		for (v = 1; v <= nn; v++) if (reach[u, v] && reach[v, u]) { mem[++cnt] = name[v]; done[v] = 1; inscc[v] = u }
		for (i = 2; i <= cnt; i++) { s = mem[i]; for (j = i - 1; j >= 1 && mem[j] > s; j--) mem[j + 1] = mem[j]; mem[j + 1] = s }
		key = "cycle"; for (i = 1; i <= cnt; i++) key = key " " mem[i]
		m = id[mem[1]]
		# shortest path from m back to m inside the set
		split("", prev); split("", vis); qh = 1; qt = 0; q[++qt] = m; vis[m] = 1; last = 0
		while (qh <= qt && !last) {
			x = q[qh++]
			for (k = 1; k <= deg[x]; k++) {
				y = adj[x, k]
				if (inscc[y] != u) continue
				if (y == m) { last = x; break }
				if (!vis[y]) { vis[y] = 1; prev[y] = x; q[++qt] = y }
			}
		}
		path = name[m]; hops = "\037" wit[last, m]; x = last
		while (x != m) { path = name[x] " -> " path; hops = "\037" wit[prev[x], x] hops; x = prev[x] }
		path = name[m] " -> " path
		printf "%s\t-\tinclude cycle: %s%s\n", key, path, hops
	}
}' "$W/edges" >>"$W/found"

# The link rule: symbols the objects of pg/ take from those of bundle/, store/, cmd/.
LINK=skipped LINKNOTE=""
if ! command -v nm >/dev/null 2>&1; then
	LINKNOTE="no nm on this machine"
elif ! ls "$BUILD"/src/pg/*.o >/dev/null 2>&1; then
	LINKNOTE="no objects in $BUILD/src/pg (not built there)"
else
	LINK=ran
	# one nm per side (nm -A: "FILE.o: SYMBOL TYPE ..."); the module is dir/name of FILE.o, an
	# automake prefix such as libpgvault_a- dropped
	defs=() uses=()
	# an object whose source is gone (moved or deleted since that build) is not read
	has_src() { local b; b="$(basename "$1" .o)"; [ -f "$SRC/src/$(basename "$(dirname "$1")")/${b##*-}.c" ]; }
	for o in "$BUILD"/src/bundle/*.o "$BUILD"/src/store/*.o "$BUILD"/src/cmd/*.o; do [ -f "$o" ] && has_src "$o" && defs+=("$o"); done
	for o in "$BUILD"/src/pg/*.o; do has_src "$o" && uses+=("$o"); done
	modof='function modof(f,    d, b) { b = f; sub(/.*\//, "", b); sub(/\.o$/, "", b); sub(/.*-/, "", b)
		d = f; sub(/\/[^\/]*$/, "", d); sub(/.*\//, "", d); return d "/" b }'
	{
		[ ${#defs[@]} = 0 ] || nm -A -P -g --defined-only "${defs[@]}" 2>/dev/null |
			awk "$modof"' { i = index($0, ".o: "); split(substr($0, i + 4), r, " ")
				if (r[2] != "U") print "D", r[1], modof(substr($0, 1, i + 1)) }'
		nm -A -P -u "${uses[@]}" 2>/dev/null | awk "$modof"' { i = index($0, ".o: "); split(substr($0, i + 4), r, " ")
			print "U", r[1], modof(substr($0, 1, i + 1)) }'
	} >"$W/syms"
	awk '$1 == "D" { def[$2] = $3; next }
	     $1 == "U" && ($2 in def) {
		k = $3 " " def[$2]
		if (!(k in syms)) { order[++n] = k; syms[k] = $2 } else syms[k] = syms[k] ", " $2 }
	     END { for (i = 1; i <= n; i++) { k = order[i]; split(k, p, " ")
		printf "link %s\t-\tsrc/%s.o uses %s of src/%s.o (pg/ does not call into bundle/, store/, cmd/)\n", k, p[1], syms[k], p[2] } }' \
		"$W/syms" >>"$W/found"
	for o in "$BUILD"/src/pg/*.o; do
		b="$(basename "$o" .o)"; c="$SRC/src/pg/${b##*-}.c"
		if [ -f "$c" ] && [ "$c" -nt "$o" ]; then LINKNOTE="objects in $BUILD older than their sources: the link rule read them as they are"; break; fi
	done
fi

sort -t '	' -k1,1 -o "$W/found" "$W/found"

if [ "$WRITE" = yes ]; then
	{
		cat <<'EOF'
# contrib/layers-debt.txt — the violations of the layering rules that the code has today
# (contrib/check-layers.sh describes the rules).  One line per item: the rule, where, and for
# size, function, sqlpatch and modelsql a number that is a ceiling (lines of the file, of the
# function, with a strstr/strchr/strrchr; assignments of SQL text to the model).
# contrib/check-layers.sh fails on a violation not listed here, on one grown past its
# number, and on a line here that no longer occurs: whoever fixes a violation removes its
# line.  Regenerate with `contrib/check-layers.sh --write-debt` and review the diff: the
# list should only ever shrink.
EOF
		if [ "$LINK" = skipped ] && [ -f "$DEBT" ]; then grep '^link ' "$DEBT"; fi
		awk -F '\t' '{ print $2 == "-" ? $1 : $1 " " $2 }' "$W/found"
	} >"$W/debt.new"
	# link lines kept from the old list go with the others, in order
	{ grep '^#' "$W/debt.new"; grep -v '^#' "$W/debt.new" | sort -u; } >"$DEBT"
	echo "layers: wrote $(grep -vc '^#' "$DEBT") debt items to $DEBT${LINKNOTE:+ (link rule skipped: $LINKNOTE; its old lines kept)}"
	exit 0
fi

[ -f "$DEBT" ] || { echo "check-layers: no debt list $DEBT (create it with --write-debt)" >&2; exit 2; }

# Compare with the debt list.
[ "$LINK" = ran ] || echo "layers: note: link rule skipped: $LINKNOTE"
[ "$LINK" != ran ] || [ -z "$LINKNOTE" ] || echo "layers: note: $LINKNOTE"
awk -F '\t' -v link="$LINK" -v verbose="$VERBOSE" -v debtfile="$DEBT" -v nrules="$NRULES" '
BEGIN { numeric["size"] = numeric["function"] = numeric["sqlpatch"] = numeric["modelsql"] = 1
        for (r in numeric) known[r] = 1; known["include"] = known["cycle"] = known["remote"] = known["link"] = 1 }
FILENAME == debtfile {
	if ($0 ~ /^[ \t]*(#|$)/) next
	nf = split($0, w, /[ \t]+/); if (w[1] == "") { for (i = 1; i < nf; i++) w[i] = w[i + 1]; nf-- }
	if (!(w[1] in known)) { printf "layers: %s:%d: unknown rule %s\n", debtfile, FNR, w[1]; bad++; next }
	if (w[1] in numeric) {
		if (w[nf] !~ /^[0-9]+$/) { printf "layers: %s:%d: %s needs a number last\n", debtfile, FNR, w[1]; bad++; next }
		ceil = w[nf]; nf--
	} else ceil = "-"
	key = w[1]; for (i = 2; i <= nf; i++) key = key " " w[i]
	if (key in debt) { printf "layers: %s:%d: listed twice: %s\n", debtfile, FNR, key; bad++; next }
	debt[key] = ceil; order[++nd] = key; rule[key] = w[1]
	next
}
{
	key = $1; num = $2; msg = $3; gsub(/\037/, "\n        ", msg)
	if (key in debt) {
		found[key] = 1
		if (debt[key] != "-" && num + 0 > debt[key] + 0) {
			printf "layers: NEW: %s\n        (grown past its debt: %d > %d in %s)\n", msg, num, debt[key], debtfile; new++
		} else {
			if (verbose == "yes") printf "layers: debt: %s\n", msg
			if (debt[key] != "-" && num + 0 < debt[key] + 0)
				printf "layers: note: %s is now %d: its line in %s can say %d\n", key, num, debtfile, num
		}
	} else { printf "layers: NEW: %s\n", msg; new++ }
}
END {
	for (i = 1; i <= nd; i++) {
		k = order[i]
		if (found[k]) continue
		if (rule[k] == "link" && link != "ran") continue
		printf "layers: FIXED but still listed (remove its line from %s): %s%s\n", debtfile, k, debt[k] == "-" ? "" : " " debt[k]
		stale++
	}
	printf "layers: %d rules, %d debt items, %d new violations", nrules, nd, new
	if (stale) printf ", %d debt items no longer occur", stale
	if (bad) printf ", %d bad lines in the debt list", bad
	printf "\n"
	exit (new || stale || bad) ? 1 : 0
}' "$DEBT" "$W/found"
