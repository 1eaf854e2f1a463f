#!/usr/bin/env bash
# contrib/check.sh — install what is needed (Debian 12, apt), build pgvault with warnings as
# errors, then build it again under AddressSanitizer + UndefinedBehaviorSanitizer and run the
# whole test suite (`make check`: unit tests, then integration tests against a throwaway
# PostgreSQL started by the suite), then the PostgreSQL version matrix (`make check-versions`,
# 15/17/18).  The last line printed is "N passed, N failed", summing both.
# Run from the source tree, as root or with sudo available.  .ci/run runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
sh ./contrib/install-deps.sh
autoreconf -fi >/dev/null 2>&1
# 1) ordinary build, warnings are errors
rm -rf _build && mkdir _build
(cd _build && ../configure --enable-werror -q && make -s -j2)
# 2) sanitizer build running the whole suite
rm -rf _asan && mkdir _asan
(cd _asan && ../configure --enable-werror -q \
	CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	LDFLAGS="-fsanitize=address,undefined" && make -s -j2)
# install-deps.sh installed PostGIS: tests/t/22-extensions.sh fails if it is missing
export PV_REQUIRE_POSTGIS=1
export ASAN_OPTIONS="detect_leaks=1:exitcode=99"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=98"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
# ---------------------------------------------------------------- version matrix (make check-versions)
# 3) after the ASan suite, the PostgreSQL version matrix (tests/versions.sh: 15 here, 17 and 18
# in cached debootstrap trees) with the ordinary build; the last line sums both parts.
set +e
(cd _asan && make -s check) 2>&1 | tee _asan/check.log; st_suite=${PIPESTATUS[0]}
(cd _build && make -s check-versions) 2>&1 | tee _build/check-versions.log; st_versions=${PIPESTATUS[0]}
total_p=0 total_f=0
for part in "_asan/check.log $st_suite" "_build/check-versions.log $st_versions"; do
	set -- $part
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
	p=${line%% passed*} f=${line#*passed, }; f=${f%% failed*}
	[ -n "$line" ] || { p=0 f=1; }
	[ "$2" = 0 ] || [ "$f" != 0 ] || f=1
	total_p=$((total_p + p)) total_f=$((total_f + f))
done
echo "$total_p passed, $total_f failed"
[ "$total_f" = 0 ]
