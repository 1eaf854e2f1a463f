# tests/lib/common.sh — helpers for the integration tests in tests/t/.
# Each test is a bash script run by tests/run-all.sh with a running cluster (PGHOST, PGPORT,
# PGUSER exported), $PGVAULT pointing at the binary under test, $TOP_SRCDIR and a private
# scratch directory $T.  A test exits 0 on success; any failed check exits non-zero with a
# message on stderr.

set -euo pipefail

: "${PGVAULT:?PGVAULT must point at the pgvault binary}"
: "${T:?T must be a scratch directory}"
PGBIN="${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"

fail() { echo "FAIL: $*" >&2; exit 1; }

# psql against the test cluster, quiet and strict.
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

# Run pgvault; stdout/stderr to files $T/out $T/err; sets $rc (never fails the test by itself).
pv() {
	set +e
	"$PGVAULT" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	set -e
	return 0
}

expect_rc() {
	local want="$1"; shift
	[ "$rc" = "$want" ] || {
		echo "--- stdout"; cat "$T/out"; echo "--- stderr"; cat "$T/err"
		fail "$* : exit code $rc, expected $want"
	} >&2
}

expect_err() {
	grep -qF -- "$1" "$T/err" || { echo "--- stderr"; cat "$T/err"; fail "stderr lacks: $1"; } >&2
}

# Create a database (name passed as data, any characters) and load SQL files into it.
createdb_q() { q -d postgres -c "CREATE DATABASE $(q -d postgres -c "SELECT quote_ident(\$pv\$$1\$pv\$)") TEMPLATE template0"; }
dropdb_q() { q -d postgres -c "DROP DATABASE IF EXISTS $(q -d postgres -c "SELECT quote_ident(\$pv\$$1\$pv\$)") WITH (FORCE)"; }

# The server's version number (e.g. 170006); skip_unless_version N WHY exits 77 (the suite
# counts it as skipped) when the server is older than N.
server_version_num() { q -d postgres -c "SHOW server_version_num"; }
skip_unless_version() {
	local v; v=$(server_version_num)
	[ "$v" -ge "$1" ] || { echo "needs PostgreSQL $(($1 / 10000))+ ($2); server is $v"; exit 77; }
}
