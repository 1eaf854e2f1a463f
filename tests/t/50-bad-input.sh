#!/usr/bin/env bash
# tests/t/50-bad-input.sh — every failure ends with a clear message on stderr, the documented
# exit code, no bundle id on stdout, and nothing left behind (no .pgv, temporary file or
# sidecar; no half-created database; an existing database untouched).
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

DB=pvt50_db
ST="$T/st"          # storage for the failing runs: must stay empty of bundles
OK="$T/st-ok"       # storage holding one good bundle
PW_WRONG='wr0ng-S3cret-pw'
export PGPASSFILE="$T/no-such-pgpass"

cleanup() {
	local d
	for d in "$DB" pvt50_exist pvt50_nb pvt50_restore_target; do dropdb_q "$d" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
cleanup
createdb_q "$DB"
q -d "$DB" -c "CREATE TABLE items (id integer PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'one'), (2, 'two')"

# failed CODE WHAT: the last pv run failed with exit CODE, said something on stderr (a few
# lines, not a flood), printed no bundle id on stdout, and left no bundle files in $ST.
failed() {
	local code="$1"; shift
	expect_rc "$code" "$*"
	[ -s "$T/err" ] || fail "$*: nothing on stderr"
	[ "$(wc -l <"$T/err")" -le 15 ] || { cat "$T/err" >&2; fail "$*: too much on stderr for one error"; }
	! grep -Eq '_[0-9]{8}T[0-9]{6}Z' "$T/out" || { cat "$T/out" >&2; fail "$*: printed a bundle id"; }
	no_bundle_leftovers "$ST" || fail "$*: files left behind"
}
expect_err_re() { # extended regex, case-insensitive
	grep -Eqi -- "$1" "$T/err" || { echo "--- stderr"; cat "$T/err"; fail "stderr does not match /$1/"; } >&2
}
no_secret() {
	! grep -qF -- "$PW_WRONG" "$T/err" "$T/out" || fail "the password appears in pgvault's output"
}

# ---------------------------------------------------------------- unknown database
echo "== unknown database"
pv backup --storage "$ST" --db pvt50_no_such_db
failed 1 "backup of a database that does not exist"
expect_err pvt50_no_such_db
expect_err "does not exist"
! db_exists pvt50_no_such_db || fail "backup created the database it was asked to read"

# ---------------------------------------------------------------- authentication failure
echo "== authentication failure"
q -d postgres <<'EOF'
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pv_pwuser') THEN
		CREATE ROLE pv_pwuser LOGIN PASSWORD 'right';
	ELSE
		ALTER ROLE pv_pwuser LOGIN PASSWORD 'right';
	END IF;
END $$;
EOF
q -d postgres -c "GRANT CONNECT ON DATABASE $DB TO pv_pwuser"
PGPASSWORD="$PW_WRONG" pv backup --storage "$ST" -U pv_pwuser --db "$DB"
failed 1 "backup with a wrong password (socket)"
expect_err_re 'authentication|password'
no_secret
PGPASSWORD="$PW_WRONG" pv backup --storage "$ST" -h 127.0.0.1 -p "$PGPORT" -U pv_pwuser --db "$DB"
failed 1 "backup with a wrong password (TCP)"
expect_err_re 'authentication|password'
no_secret

# ---------------------------------------------------------------- server unreachable
echo "== server unreachable"
closed=
for p in $(seq 5999 -1 5900); do
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then closed=$p; break; fi
done
[ -n "$closed" ] || fail "no closed port found"
start=$(date +%s)
pv backup --storage "$ST" -h 127.0.0.1 -p "$closed" --db "$DB"
echo "pgvault gave up after $(( $(date +%s) - start )) s"
failed 1 "backup from a server that is not listening"
expect_err_re "connect|refused|127\.0\.0\.1|$closed"

# ---------------------------------------------------------------- not a bundle
echo "== not a bundle"
mkdir -p "$T/junk"
printf 'this is not a bundle\n' >"$T/junk/text.pgv"
: >"$T/junk/empty.pgv"
printf 'hello\n' >"$T/junk/hello.txt"
tar cf "$T/junk/other-tar.pgv" -C "$T/junk" hello.txt           # a tar, but not pgvault's
head -c 4096 /dev/zero >"$T/junk/zeros.pgv"
for f in text.pgv empty.pgv other-tar.pgv zeros.pgv no-such-file.pgv; do
	path="$T/junk/$f"
	pv verify --storage "$ST" "$path"
	failed 1 "verify of $f"
	expect_err_re 'not a pgvault bundle|No such file'
	pv restore --storage "$ST" "$path" --as pvt50_nb
	failed 1 "restore of $f"
	expect_err_re 'not a pgvault bundle|No such file'
	! db_exists pvt50_nb || fail "restore of $f left the database pvt50_nb behind"
done
pv restore --storage "$ST" pvt50_db_20000101T000000Z --as pvt50_nb
failed 1 "restore of an id that does not exist"
! db_exists pvt50_nb || fail "restore of a missing id created pvt50_nb"

# ---------------------------------------------------------------- storage that cannot be written
echo "== unwritable storage"
: >"$T/a-file"
pv backup --storage "$T/a-file/sub" --db "$DB"
failed 1 "backup into a storage path below a regular file"
[ -f "$T/a-file" ] && [ ! -s "$T/a-file" ] || fail "the regular file was changed"

# ---------------------------------------------------------------- restore onto an existing database
echo "== restore onto an existing database"
pv backup --storage "$OK" --db "$DB"
expect_rc 0 "backup of $DB"
ID=$(head -1 "$T/out")
createdb_q pvt50_exist
q -d pvt50_exist -c "CREATE TABLE marker (x integer); INSERT INTO marker VALUES (42)"
oracle_snapshot pvt50_exist "$T/exist-before"
oracle_snapshot "$DB" "$T/db-before"

pv restore --storage "$OK" "$ID" --as pvt50_exist
failed 1 "restore --as an existing database"
expect_err "already exists"
oracle_snapshot pvt50_exist "$T/exist-after"
oracle_diff "$T/exist-before" "$T/exist-after" || fail "the existing database was changed"

pv restore --storage "$OK" "$ID"
failed 1 "restore onto the (existing) source database"
expect_err "already exists"
oracle_snapshot "$DB" "$T/db-after"
oracle_diff "$T/db-before" "$T/db-after" || fail "the source database was changed"

# names that are no text in the session's encoding: a clear failure, never a crash
pv restore --storage "$OK" "$ID" --as $'pvt50_bad\xff\xfe'
failed 1 "restore --as a name with bytes that are not UTF-8"
pv restore --storage "$OK" "$ID" --as pvt50_nb --owner $'bad\xffowner' --create-role
failed 1 "restore --owner a name with bytes that are not UTF-8"
! db_exists pvt50_nb || fail "a failed restore left pvt50_nb"

# (a control: the same bundle restores fine under a free name)
pv restore --storage "$OK" "$ID" --as pvt50_restore_target
expect_rc 0 "restore under a free name"
dropdb_q pvt50_restore_target

# ---------------------------------------------------------------- usage errors
echo "== usage errors"
pv backup --storage "$ST" --db "$DB" --no-such-option
failed 2 "unknown option"
pv --no-such-global-option list --storage "$ST"
failed 2 "unknown global option"
pv frobnicate
failed 2 "unknown command"
pv backup --storage "$ST"
failed 2 "backup without --db or --all"
pv restore --storage "$ST"
failed 2 "restore without a bundle"
pv verify --storage "$ST" --no-such-option
failed 2 "verify with an unknown option"
pv backup --help
expect_rc 0 "backup --help"
[ -s "$T/out" ] || fail "backup --help printed nothing on stdout"
echo "all good"
