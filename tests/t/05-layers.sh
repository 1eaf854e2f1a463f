# The layering rules of src/ (contrib/check-layers.sh, debt list contrib/layers-debt.txt):
# the tree passes with its debt list, and the checker itself catches what it is there to
# catch, in scratch copies of src/ with one violation each (a forbidden include, an include
# cycle, a long function, a strstr in pg/, SQL text written into the model by a catalog
# reader, a file over 1000 lines, an include of cmd/, a debt line that no longer occurs),
# and lets through the documented exemptions.
# Needs no database server (run-all.sh starts one anyway; this test does not use it).
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
SRC="${TOP_SRCDIR:?}"
BUILD="${TOP_BUILDDIR:-$SRC}"
T="${T:-$(mktemp -d /tmp/pgvault-layers.XXXXXX)}"
mkdir -p "$T"
CHECK="$SRC/contrib/check-layers.sh"

# 1. The tree as it is, with the build's objects for the link rule.
set +e
bash "$CHECK" --build "$BUILD" "$SRC" >"$T/tree.out" 2>&1; rc=$?
set -e
cat "$T/tree.out"
[ "$rc" = 0 ] || fail "check-layers fails on the tree (exit $rc)"
grep -q '^layers: [0-9]* rules, [0-9]* debt items, 0 new violations$' "$T/tree.out" ||
	fail "no summary line"
echo "figure: $(tail -1 "$T/tree.out" | sed 's/^layers: //')"

# 2. Scratch copies: $T/copy/src and its debt list; no objects there (link rule skipped).
fresh() {
	rm -rf "$T/copy"; mkdir -p "$T/copy/contrib"
	cp -R "$SRC/src" "$T/copy/src"
	cp "$SRC/contrib/layers-debt.txt" "$T/copy/contrib/"
}
run_copy() { # expected-exit -> $T/copy.out
	set +e
	bash "$CHECK" --build "$T/copy/no-build" "$T/copy" >"$T/copy.out" 2>&1; local rc=$?
	set -e
	[ "$rc" = "$1" ] || { cat "$T/copy.out" >&2; fail "$2: exit $rc, expected $1"; }
	echo "-- $2: exit $rc"; grep -A2 "NEW:\|FIXED" "$T/copy.out" | sed "s/^/   /" || true
}
expect_out() { grep -qF -- "$1" "$T/copy.out" || { cat "$T/copy.out" >&2; fail "output lacks: $1"; }; }
long_function() { # NAME LINES: a function of LINES lines, { and } counted
	printf 'int\n%s(int x)\n{\n' "$1"
	local i; for ((i = 0; i < $2 - 3; i++)); do printf '\tx += %d;\n' "$i"; done
	printf '\treturn x;\n}\n'
}

fresh; run_copy 0 "unchanged copy"
expect_out "0 new violations"

fresh; printf '#include "store/repo.h"\n' >>"$T/copy/src/pg/conn.c"
run_copy 1 "pg/ including store/"
expect_out "NEW: src/pg/conn.c:$(wc -l <"$T/copy/src/pg/conn.c") includes store/repo.h (pg/ includes nothing from"

fresh; printf '#include "cmd/cmd.h"\n' >>"$T/copy/src/ops/retention.c"
run_copy 1 "ops/ including cmd/"
expect_out "includes cmd/cmd.h (only cmd/ and src/main.c include cmd/)"

fresh; printf '#include "util/zz_b.h"\n' >"$T/copy/src/util/zz_a.h"
printf '#include "util/zz_a.h"\n' >"$T/copy/src/util/zz_b.h"
printf '#include "util/zz_b.h"\n' >"$T/copy/src/util/zz_c.c"
run_copy 1 "include cycle"
expect_out "NEW: include cycle: util/zz_a -> util/zz_b -> util/zz_a"
expect_out "src/util/zz_a.h:1 includes util/zz_b.h"

fresh; long_function zz_long 151 >>"$T/copy/src/util/buf.c"
run_copy 1 "long function"
expect_out "function zz_long is 151 lines (over 150"
fresh; long_function zz_long 150 >>"$T/copy/src/util/buf.c"
run_copy 0 "function of 150 lines"
fresh; { echo; echo "/* layering-exception: a test of the exemption */"; long_function zz_long 400; } >>"$T/copy/src/util/buf.c"
run_copy 0 "exempted long function"

fresh; printf 'static const char *zz(const char *s) { return strstr(s, " WHERE "); }\n' >>"$T/copy/src/pg/conn.c"
run_copy 1 "strstr in pg/"
expect_out "src/pg/conn.c:$(wc -l <"$T/copy/src/pg/conn.c"): static const char *zz(const char *s) { return strstr(s, \" WHERE \"); }"
fresh; printf 'static const char *zz(const char *s) { return strchr(s, 0x3d); } /* layering: not SQL */\n' >>"$T/copy/src/pg/conn.c"
run_copy 0 "exempted strchr in pg/"

fresh; printf 'static void zz(pv_obj *o) { o->sql = pv_strdup("CREATE SCHEMA x;"); }\n' >>"$T/copy/src/pg/lob.c"
run_copy 1 "a reader writing SQL text into the model"
expect_out "NEW: src/pg/lob.c: 1 assignment(s) of SQL text to the model (->sql) in a catalog reader"
if msql=$(grep -m1 '^modelsql ' "$T/copy/contrib/layers-debt.txt"); then
	f=$(echo "$msql" | awk '{ print $2 }')
	printf 'static void zz(pv_obj *o) { o->sql = NULL; }\n' >>"$T/copy/$f"
	run_copy 1 "a reader with one more SQL text in the model"
	expect_out "(grown past its debt: $(($(echo "$msql" | awk '{ print $3 }') + 1)) > "
fi
fresh; printf 'static void zz(struct job *j) { j->sql = NULL; }\n' >>"$T/copy/src/pg/pool.c"
run_copy 0 "->sql of something else than the model, outside the readers"

fresh; for ((i = 0; i < 1001; i++)); do echo "/* $i */"; done >"$T/copy/src/util/zz_big.c"
run_copy 1 "file over 1000 lines"
expect_out "NEW: src/util/zz_big.c: 1001 lines (over 1000"
fresh; { echo "/* zz_big.c — generated"; echo " * layering-exception: a test of the exemption */"; for ((i = 0; i < 1001; i++)); do echo "/* $i */"; done; } >"$T/copy/src/util/zz_big.c"
run_copy 0 "exempted file over 1000 lines"

# a debt item grown past its number, and one that no longer occurs
if big=$(grep -m1 '^size ' "$T/copy/contrib/layers-debt.txt"); then
	fresh; f=$(echo "$big" | awk '{ print $2 }')
	echo "/* one more line */" >>"$T/copy/$f"
	run_copy 1 "file grown past its debt"
	expect_out "(grown past its debt: $(($(echo "$big" | awk '{ print $3 }') + 1)) > "
fi
fresh; echo "include pg/conn.c bundle/bundle.h" >>"$T/copy/contrib/layers-debt.txt"
run_copy 1 "stale debt line"
expect_out "FIXED but still listed (remove its line from $T/copy/contrib/layers-debt.txt): include pg/conn.c bundle/bundle.h"
expect_out "1 debt items no longer occur"

# --write-debt reproduces the committed list (link lines kept without objects)
fresh; bash "$CHECK" --write-debt --build "$T/copy/no-build" "$T/copy" >/dev/null
diff "$SRC/contrib/layers-debt.txt" "$T/copy/contrib/layers-debt.txt" ||
	fail "--write-debt on an unchanged copy changes the debt list"
rm -rf "$T/copy"
echo "check-layers catches each injected violation"
