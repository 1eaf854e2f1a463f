#!/usr/bin/env bash
# contrib/check.sh — install what is needed (Debian 12 or 13, apt: install-deps.sh --tests),
# build pgvault with warnings as errors, then build it again under AddressSanitizer +
# UndefinedBehaviorSanitizer and run the whole test suite (`make check`: unit tests, then
# integration tests against a throwaway PostgreSQL started by the suite), then the libFuzzer
# targets for 60 s each (tests/fuzz), valgrind memcheck on a round trip, `make distcheck`, then
# the PostgreSQL version matrix (`make check-versions`: 15/17/18).
# Run from the source tree, as root or with sudo available.  .ci/run runs exactly this.
#
# The run is a list of parts (part NAME COMMAND...).  Each part's output is shown as it
# comes; a part that prints "N passed, N failed" adds those counts, a part that fails without
# printing one (a build step) counts as 1 failed, and a failed build step skips the parts
# that need it.  The last line is always the sum, "N passed, N failed", and the exit status
# is non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
SRC="$PWD"
PASSED=0 FAILED=0 SUMMARY=()

# part NAME COMMAND...: runs COMMAND in a subshell and records its result; returns COMMAND's
# status.
part() {
	local name="$1" log st line p f t0 t1; shift
	log="$(mktemp /tmp/pgvault-check.XXXXXX)"
	echo "== $name"
	t0=$(date +%s)
	( "$@" ) 2>&1 | tee "$log"
	st=${PIPESTATUS[0]}
	t1=$(date +%s)
	line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -1 | sed 's/^[A-Za-z]*: //')
	rm -f "$log"
	if [ -n "$line" ]; then
		p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
		[ "$st" = 0 ] || [ "$f" != 0 ] || f=1   # failed after its tests passed
	elif [ "$st" = 0 ]; then p=0; f=0
	else p=0; f=1
	fi
	PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
	if [ -n "$line" ]; then
		SUMMARY+=("$(printf '%-22s %s passed, %s failed (exit %s, %ss)' "$name" "$p" "$f" "$st" $((t1 - t0)))")
	elif [ "$st" = 0 ]; then
		SUMMARY+=("$(printf '%-22s ok (%ss)' "$name" $((t1 - t0)))")
	else
		SUMMARY+=("$(printf '%-22s FAILED, exit %s (%ss)' "$name" "$st" $((t1 - t0)))")
	fi
	return "$st"
}
skipped() { SUMMARY+=("$(printf '%-22s skipped: %s' "$1" "$2")"); }
finish() {
	echo
	echo "== summary"
	printf '%s\n' "${SUMMARY[@]}"
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" = 0 ]
	exit
}

# Each step chains its commands with && (errexit does not apply inside a function whose
# caller tests its status).
deps() { sh ./contrib/install-deps.sh --tests; }
build() { # 1) ordinary build, warnings are errors
	autoreconf -fi >/dev/null 2>&1 &&
	rm -rf _build && mkdir _build && cd _build &&
	../configure --enable-werror -q && make -s -j2
}
asan_build() { # 2) the sanitizer build that runs the suite
	rm -rf _asan && mkdir _asan && cd _asan &&
	../configure --enable-werror -q \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		LDFLAGS="-fsanitize=address,undefined" && make -s -j2
}
suite() {
	export ASAN_OPTIONS="detect_leaks=1:exitcode=99"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=98"
	export LSAN_OPTIONS="suppressions=$SRC/tests/lsan.supp:print_suppressions=0"
	cd _asan && make -s check
}

# 3) the libFuzzer targets (tests/fuzz), 60 s each, two at a time, in a clang build
fuzz() {
	rm -rf _fuzz && mkdir _fuzz && cd _fuzz &&
	../configure -q --enable-fuzz --disable-unit-tests CC=clang \
		CFLAGS="-g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
		LDFLAGS="-fsanitize=address,undefined" && make -s -j2 &&
	make -s fuzz FUZZ_SECONDS=60 FUZZ_JOBS=2
}

# 4) valgrind memcheck on a round trip, with the ordinary build
valgrind_check() { cd _build && make -s check-valgrind; }

# 5) the source tarball: make distcheck (the tarball builds out of a read-only tree, its quick
# tests pass, install and uninstall leave nothing behind)
dist() { cd _build && make -s distcheck PV_CHECK_TESTS="00-smoke 05-layers 06-options"; }

# 6) the PostgreSQL version matrix (make check-versions: 15 here, 17 and 18 in cached
# debootstrap trees) with the ordinary build
versions() { cd _build && make -s check-versions; }
# The trees are built (once per machine; mostly waiting on the network) while the builds and
# the suite use the CPU; check-versions waits for a build under way.
trees() {
	. "$SRC/tests/lib/trees.sh"
	tree_ensure trixie 17 && tree_ensure sid 18
}

part "install-deps --tests" deps || finish
mkdir -p _logs
(trees >_logs/trees.log 2>&1 &)
part "build (-Werror)" build || finish
if part "build (ASan+UBSan)" asan_build; then
	part "test suite (ASan)" suite
else
	skipped "test suite (ASan)" "its build failed"
fi
part "fuzz (60 s each)" fuzz
part "valgrind round trip" valgrind_check
part "dist (make distcheck)" dist
part "version matrix" versions
finish
