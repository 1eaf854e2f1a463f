#!/usr/bin/env bash
# tests/run-all.sh — the whole test suite: cmocka unit tests, then the integration tests in
# tests/t/ against a throwaway PostgreSQL cluster that this script starts and always stops.
# Usage: tests/run-all.sh [tests/t/NAME.sh ...]     (run by `make check`)
# Prints one line per test and ends with "N passed, N failed"; exits non-zero on any failure.
set -u
SRC="$(cd "${TOP_SRCDIR:-$(dirname "$0")/..}" && pwd)"
BUILD="$(cd "${TOP_BUILDDIR:-$SRC}" && pwd)"
export TOP_SRCDIR="$SRC" TOP_BUILDDIR="$BUILD"
export PGVAULT="${PGVAULT:-$BUILD/pgvault}"
. "$SRC/tests/lib/pg.sh"

passed=0; failed=0; failures=()
WORK="$(mktemp -d /tmp/pgvault-tests.XXXXXX)"
chmod 755 "$WORK"   # the server runs as another user and must reach its directories
cleanup() { pg_stop "$WORK/pg"; [ "$failed" = 0 ] && rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

record() { # name status
	if [ "$2" = 0 ]; then passed=$((passed + 1)); echo "ok   $1"
	else failed=$((failed + 1)); failures+=("$1"); echo "FAIL $1"; fi
}

# Unit tests: each cmocka binary counts its own tests.
if [ $# = 0 ]; then
	for u in "$BUILD"/tests/unit/test_*; do
		[ -x "$u" ] && [ -f "$u" ] || continue
		case "$u" in *.o|*.c) continue ;; esac
		out=$("$u" 2>&1); st=$?
		p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
		f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
		name="unit/$(basename "$u")"
		if [ "$st" = 0 ] && [ -n "$p" ]; then passed=$((passed + p)); echo "ok   $name ($p)"
		else
			failed=$((failed + ${f:-1})); failures+=("$name"); echo "FAIL $name"
			printf '%s\n' "$out" | sed 's/^/     /' | tail -40
		fi
	done
fi

if ! pg_start "$WORK/pg"; then
	record "start PostgreSQL" 1
	echo "$passed passed, $failed failed"; exit 1
fi
echo "PostgreSQL $(psql -X -At -d postgres -c 'SHOW server_version') on port $PGPORT"

if [ $# -gt 0 ]; then tests=("$@"); else tests=("$SRC"/tests/t/*.sh); fi
for t in "${tests[@]}"; do
	name="$(basename "$t" .sh)"
	export T="$WORK/t/$name"; mkdir -p "$T"
	timeout 600 bash "$t" >"$T.log" 2>&1; st=$?
	record "$name" "$st"
	[ "$st" = 0 ] || sed 's/^/     /' "$T.log" | tail -40
done

if [ "$failed" != 0 ]; then echo "failed: ${failures[*]} (logs in $WORK)"; fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
