#!/usr/bin/env bash
# tests/run-all.sh — the whole test suite: cmocka unit tests, then the integration tests in
# tests/t/ against a throwaway PostgreSQL cluster that this script starts and always stops.
# Usage: tests/run-all.sh [tests/t/NAME.sh ...]     (run by `make check`)
# Prints one line per test and ends with "N passed, N failed" (", N skipped" when a test
# exited 77: the server lacks what it is about); exits non-zero on any failure.
# PV_EXTERNAL_SERVER=HOST:PORT runs the integration tests against that server instead (trust
# authentication for postgres over TCP); PGBIN=DIR then gives that version's pg_dump.
set -u
SRC="$(cd "${TOP_SRCDIR:-$(dirname "$0")/..}" && pwd)"
BUILD="$(cd "${TOP_BUILDDIR:-$SRC}" && pwd)"
export TOP_SRCDIR="$SRC" TOP_BUILDDIR="$BUILD"
export PGVAULT="${PGVAULT:-$BUILD/pgvault}"
. "$SRC/tests/lib/pg.sh"

passed=0; failed=0; skipped=0; failures=()
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

if [ -n "${PV_EXTERNAL_SERVER:-}" ]; then
	# a server started elsewhere (e.g. PostgreSQL 17 or 18 in a debootstrap tree), reached
	# over TCP as the trusted superuser postgres; PGBIN then names a directory with that
	# version's pg_dump (the oracle)
	export PGHOST="${PV_EXTERNAL_SERVER%:*}" PGPORT="${PV_EXTERNAL_SERVER##*:}" PGUSER=postgres PGDATABASE=postgres
	unset PGPASSWORD PGSERVICE PGOPTIONS
elif ! pg_start "$WORK/pg"; then
	record "start PostgreSQL" 1
	echo "$passed passed, $failed failed"; exit 1
fi
echo "PostgreSQL $(psql -X -At -d postgres -c 'SHOW server_version') on port $PGPORT"

if [ $# -gt 0 ]; then
	tests=("$@")
elif [ -n "${PV_CHECK_TESTS:-}" ]; then # names, without .sh (make check PV_CHECK_TESTS=...)
	tests=()
	for n in $PV_CHECK_TESTS; do tests+=("$SRC/tests/t/$n.sh"); done
else
	tests=("$SRC"/tests/t/*.sh)
fi
for t in "${tests[@]}"; do
	name="$(basename "$t" .sh)"
	export T="$WORK/t/$name"; mkdir -p "$T"
	timeout 600 bash "$t" >"$T.log" 2>&1; st=$?
	if [ "$st" = 77 ]; then # the server lacks what the test is about
		skipped=$((skipped + 1)); echo "skip $name ($(tail -1 "$T.log"))"; continue
	fi
	record "$name" "$st"
	[ "$st" = 0 ] || sed 's/^/     /' "$T.log" | tail -40
	# what a test measured ("figure: ..." lines), shown whatever its outcome
	[ "$st" != 0 ] || grep '^figure: ' "$T.log" | sed 's/^/     /' || true
done

if [ "$failed" != 0 ]; then echo "failed: ${failures[*]} (logs in $WORK)"; fi
if [ "$skipped" != 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"
else echo "$passed passed, $failed failed"; fi
[ "$failed" = 0 ]
