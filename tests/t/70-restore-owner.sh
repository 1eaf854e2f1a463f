#!/usr/bin/env bash
# tests/t/70-restore-owner.sh — restore --owner ROLE --create-role: the new role (LOGIN, SCRAM
# password that never shows in pgvault's output) owns the database and every object in it,
# grants that named the old owner name the new one, other roles' grants are kept (with the new
# owner as grantor), and the app works when connected as that role over a password-checked
# TCP connection (tests/lib/pg.sh has a scram-sha-256 hba line for pvt3_bot_user).
# Also: missing roles (refused naming them, nothing left behind; --create-missing-roles makes
# them NOLOGIN), --create-role without a password, --role-password-file, and usage errors.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

ST="$T/st"
SRC=pvt3_own_src          # owned by pvt3_oldowner, the main bundle
NEW=pvt3_own_new          # --owner pvt3_bot_user --create-role
SRC2=pvt3_own_src2        # public schema owned by the old owner
NOPW=pvt3_own_nopw        # --create-role without a password
PWF=pvt3_own_pwfile       # --role-password-file
MISS=pvt3_own_miss        # grants to a role that is dropped before the restore
MISS2=pvt3_own_miss2
PASSWORD='S3cret-pvt3 pw!x'
unset PGVAULT_ROLE_PASSWORD
DBS=("$SRC" "$NEW" "$SRC2" "$NOPW" "$PWF" "$MISS" "$MISS2" pvt3_own_usage)
ROLES=(pvt3_bot_user pvt3_bot_nopw pvt3_bot_file pvt3_gone pvt3_reader pvt3_granter pvt3_oldowner)

cleanup() {
	local d r
	for d in "${DBS[@]}"; do dropdb_q "$d" >/dev/null 2>&1 || true; done
	for r in "${ROLES[@]}"; do q -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
cleanup
for r in pvt3_bot_user pvt3_bot_nopw pvt3_bot_file pvt3_gone; do
	[ "$(q -d postgres -c "SELECT count(*) FROM pg_roles WHERE rolname = '$r'")" = 0 ] ||
		fail "role $r is left over from an earlier run and cannot be dropped"
done

mkrole() { # NAME [ATTRS]: create the role if missing (roles are cluster-global)
	q -d postgres -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$1')
		THEN CREATE ROLE $1 ${2:-NOLOGIN}; END IF; END \$\$"
}
mkrole pvt3_oldowner LOGIN
mkrole pvt3_reader
mkrole pvt3_granter
mkrole pvt3_gone

owners_not() { # DB ROLE: user objects of DB (and DB itself) NOT owned by ROLE, one per line
	qdb "$1" -v role="$2" <<-'EOF'
		SELECT 'database ' || datname || ' ' || pg_get_userbyid(datdba) FROM pg_database
		 WHERE datname = current_database() AND pg_get_userbyid(datdba) <> :'role'
		UNION ALL
		SELECT 'schema ' || nspname || ' ' || pg_get_userbyid(nspowner) FROM pg_namespace
		 WHERE nspname NOT LIKE 'pg\_%' AND nspname NOT IN ('information_schema', 'public')
		   AND pg_get_userbyid(nspowner) <> :'role'
		UNION ALL
		SELECT 'relation(' || c.relkind::text || ') ' || c.oid::regclass || ' ' || pg_get_userbyid(c.relowner)
		  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
		   AND pg_get_userbyid(c.relowner) <> :'role'
		UNION ALL
		SELECT 'function ' || p.oid::regprocedure || ' ' || pg_get_userbyid(p.proowner)
		  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		 WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
		   AND pg_get_userbyid(p.proowner) <> :'role'
		UNION ALL
		SELECT 'type ' || t.oid::regtype || ' ' || pg_get_userbyid(t.typowner)
		  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
		 WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
		   AND pg_get_userbyid(t.typowner) <> :'role'
		UNION ALL
		SELECT 'owner dependency ' || classid::regclass || ' ' || objid || ' ' || pg_get_userbyid(refobjid)
		  FROM pg_shdepend WHERE deptype = 'o'
		   AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		   AND pg_get_userbyid(refobjid) <> :'role'
		ORDER BY 1;
	EOF
}
# acl_of DB: every ACL item of every user object, "object: grantee=privs/grantor", sorted
acl_of() {
	qdb "$1" <<-'EOF'
		SELECT o || ': ' || a::text FROM (
			SELECT 'relation ' || c.oid::regclass AS o, unnest(c.relacl) AS a FROM pg_class c
			  JOIN pg_namespace n ON n.oid = c.relnamespace
			 WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
			UNION ALL
			SELECT 'function ' || p.oid::regprocedure, unnest(p.proacl) FROM pg_proc p
			  JOIN pg_namespace n ON n.oid = p.pronamespace
			 WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
			UNION ALL
			SELECT 'type ' || t.oid::regtype, unnest(t.typacl) FROM pg_type t
			  JOIN pg_namespace n ON n.oid = t.typnamespace
			 WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
			UNION ALL
			SELECT 'schema ' || nspname, unnest(nspacl) FROM pg_namespace
			 WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'
			UNION ALL
			SELECT 'column ' || attrelid::regclass || '.' || attname, unnest(attacl) FROM pg_attribute
			 WHERE attacl IS NOT NULL AND attrelid >= 16384
			UNION ALL
			SELECT 'database', unnest(datacl) FROM pg_database WHERE datname = current_database()
		) s ORDER BY 1;
	EOF
}
no_db_leftovers() { # NAME...: fail when any of them, or any pgvault_restore_* database, exists
	local d
	for d in "$@"; do ! db_exists "$d" || fail "database $d was left behind"; done
	[ "$(q -d postgres -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'pgvault\_restore\_%'")" = 0 ] ||
		fail "a pgvault_restore_* database was left behind"
}

# ---------------------------------------------------------------- the source database
echo "== source owned by pvt3_oldowner"
createdb_q "$SRC"
q -d postgres -c "ALTER DATABASE $SRC OWNER TO pvt3_oldowner"
qdb "$SRC" <<'EOF' >/dev/null
SET client_min_messages = warning;
-- owned by postgres, granted TO the old owner (and to the reader) by postgres
CREATE TABLE public.app_config (k text PRIMARY KEY, v text);
INSERT INTO public.app_config VALUES ('greeting', 'hi'), ('lang', 'en');
GRANT SELECT, UPDATE ON public.app_config TO pvt3_oldowner;
GRANT SELECT ON public.app_config TO pvt3_reader;
-- a grant TO the old owner by a role that owns nothing (it holds the grant option)
CREATE TABLE public.shared_stats (day date PRIMARY KEY, hits int);
INSERT INTO public.shared_stats VALUES ('2024-01-01', 5);
GRANT SELECT ON public.shared_stats TO pvt3_granter WITH GRANT OPTION;
SET ROLE pvt3_granter;
GRANT SELECT ON public.shared_stats TO pvt3_oldowner;
RESET ROLE;

SET ROLE pvt3_oldowner;
CREATE SCHEMA app;
CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN app.posint AS integer CHECK (VALUE > 0);
CREATE TABLE app.users (id serial PRIMARY KEY, name text NOT NULL UNIQUE, mood app.mood DEFAULT 'ok',
                        score app.posint DEFAULT 1);
CREATE TABLE app.events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                         user_id int NOT NULL REFERENCES app.users ON DELETE CASCADE, note text);
CREATE INDEX events_user_idx ON app.events (user_id);
CREATE SEQUENCE app.ticket_no START 1000;
CREATE TABLE public.items (id serial PRIMARY KEY, label text, qty int DEFAULT 0);
CREATE VIEW app.v_users AS SELECT u.id, u.name, count(e.id) AS events
	FROM app.users u LEFT JOIN app.events e ON e.user_id = u.id GROUP BY u.id, u.name;
CREATE FUNCTION app.add_user(n text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE i int;
BEGIN
	INSERT INTO app.users (name) VALUES (n) RETURNING id INTO i;
	INSERT INTO app.events (user_id, note) VALUES (i, 'joined #' || nextval('app.ticket_no'));
	RETURN i;
END $$;
CREATE FUNCTION public.item_total() RETURNS bigint LANGUAGE sql STABLE AS 'SELECT coalesce(sum(qty), 0) FROM public.items';
SELECT app.add_user('user' || i) FROM generate_series(1, 20) AS i;
INSERT INTO public.items (label, qty) SELECT 'item' || i, i FROM generate_series(1, 10) AS i;
CREATE MATERIALIZED VIEW app.mv_counts AS SELECT mood, count(*) AS n FROM app.users GROUP BY mood;
GRANT USAGE ON SCHEMA app TO pvt3_reader;
GRANT SELECT ON app.users, app.v_users, app.mv_counts TO pvt3_reader;
GRANT SELECT (label) ON public.items TO pvt3_reader;
GRANT EXECUTE ON FUNCTION public.item_total() TO pvt3_reader;
REVOKE EXECUTE ON FUNCTION app.add_user(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.add_user(text) TO pvt3_reader;
GRANT USAGE ON SEQUENCE app.ticket_no TO pvt3_reader;
RESET ROLE;
EOF
pv backup --storage "$ST" --db "$SRC"
expect_rc 0 "backup of $SRC"
ID=$(head -1 "$T/out")

# ---------------------------------------------------------------- --owner --create-role
echo "== restore --as $NEW --owner pvt3_bot_user --create-role"
PGVAULT_ROLE_PASSWORD="$PASSWORD" pv --verbose restore --storage "$ST" "$ID" --as "$NEW" --owner pvt3_bot_user --create-role
expect_rc 0 "restore --owner pvt3_bot_user --create-role"
db_exists "$NEW" || fail "$NEW was not created"
if grep -qF -- "$PASSWORD" "$T/out" "$T/err"; then fail "the role password appears in pgvault's output"; fi
role=$(q -d postgres -c "SELECT rolcanlogin, rolsuper, rolpassword LIKE 'SCRAM-SHA-256\$%' FROM pg_authid WHERE rolname = 'pvt3_bot_user'")
[ "$role" = "t|f|t" ] || fail "pvt3_bot_user: login|super|scram = '$role', expected t|f|t"

# (the check itself sees objects: in the source they all have another owner)
[ "$(owners_not "$SRC" pvt3_bot_user | grep -c .)" -ge 10 ] || fail "owners_not does not see the source's objects"
bad=$(owners_not "$NEW" pvt3_bot_user)
[ -z "$bad" ] || { printf '%s\n' "$bad" >&2; fail "objects of $NEW not owned by pvt3_bot_user"; }
# the objects really are there (the ownership check above is not vacuous)
n=$(qdb "$NEW" -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname IN ('app', 'public') AND c.relkind IN ('r', 'S', 'v', 'm')")
[ "$n" -ge 10 ] || fail "$NEW holds only $n tables/sequences/views"
pub=$(qdb "$NEW" -c "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'")
[ "$pub" = pg_database_owner ] || fail "public schema (not owned by the old owner) is owned by $pub in $NEW"
owner_app=$(qdb "$NEW" -c "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'app'")
[ "$owner_app" = pvt3_bot_user ] || fail "schema app owned by $owner_app"

# data equal to the source (the ownership differs, so compare the rows only)
oracle_data "$SRC" "$T/data-src"
oracle_data "$NEW" "$T/data-new"
diff -r "$T/data-src" "$T/data-new" >&2 || fail "rows of $NEW differ from $SRC"

# grants: nothing names the old owner (nor postgres, which owned app_config and was mapped);
# pvt3_reader's grants are kept with pvt3_bot_user as grantor; the grant TO the old owner
# by pvt3_granter now names pvt3_bot_user
acl_of "$NEW" >"$T/acl-new"
acl_of "$SRC" >"$T/acl-src"
cat "$T/acl-new"
if grep -E 'pvt3_oldowner|=[^/]*/postgres$|^[^:]*: postgres=' "$T/acl-new"; then
	fail "grants in $NEW still name the old owner or postgres"
fi
grep -c 'pvt3_reader=' "$T/acl-src" >"$T/nr-src"
grep -c 'pvt3_reader=' "$T/acl-new" >"$T/nr-new"
cmp -s "$T/nr-src" "$T/nr-new" || fail "$(cat "$T/nr-src") grants to pvt3_reader in the source, $(cat "$T/nr-new") after the restore"
for want in \
	'relation app.users: pvt3_reader=r/pvt3_bot_user' \
	'relation app.v_users: pvt3_reader=r/pvt3_bot_user' \
	'relation app.mv_counts: pvt3_reader=r/pvt3_bot_user' \
	'relation app.ticket_no: pvt3_reader=U/pvt3_bot_user' \
	'relation app_config: pvt3_reader=r/pvt3_bot_user' \
	'column items.label: pvt3_reader=r/pvt3_bot_user' \
	'schema app: pvt3_reader=U/pvt3_bot_user' \
	'function app.add_user(text): pvt3_reader=X/pvt3_bot_user' \
	'function item_total(): pvt3_reader=X/pvt3_bot_user' \
	'relation shared_stats: pvt3_granter=r*/pvt3_bot_user' \
	'relation shared_stats: pvt3_bot_user=r/pvt3_granter'; do
	grep -qxF -- "$want" "$T/acl-new" || fail "$NEW lacks the grant '$want'"
done
# EXECUTE on add_user stays revoked from PUBLIC
if grep -q '^function app.add_user(text): =X/' "$T/acl-new"; then fail "EXECUTE on app.add_user came back to PUBLIC"; fi
[ "$(qdb "$NEW" -c "SELECT has_table_privilege('pvt3_reader', 'app.events', 'SELECT')")" = f ] ||
	fail "pvt3_reader gained SELECT on app.events"

# connect AS pvt3_bot_user over TCP (scram): the app works, sequences included
echo "== the app as pvt3_bot_user"
if PGPASSWORD='wrong password' psql -X -q -At -h 127.0.0.1 -U pvt3_bot_user -d "$NEW" -c 'SELECT 1' >/dev/null 2>&1; then
	fail "pvt3_bot_user logged in with a wrong password: the hba line for scram is missing"
fi
out=$(PGPASSWORD="$PASSWORD" psql -X -q -v ON_ERROR_STOP=1 -At -h 127.0.0.1 -U pvt3_bot_user -d "$NEW" <<'EOF'
SELECT current_user, count(*) FROM app.users GROUP BY 1;
SELECT app.add_user('newbie');
INSERT INTO app.users (name, mood) VALUES ('direct', 'happy') RETURNING id;
INSERT INTO app.events (user_id, note) SELECT id, 'hello' FROM app.users WHERE name = 'direct' RETURNING id;
INSERT INTO public.items (label) VALUES ('new item') RETURNING id;
SELECT nextval('app.ticket_no');
UPDATE app.users SET mood = 'sad' WHERE name = 'user1';
DELETE FROM app.users WHERE name = 'user2';
UPDATE public.app_config SET v = 'hello' WHERE k = 'greeting';
SELECT count(*) FROM app.v_users;
REFRESH MATERIALIZED VIEW app.mv_counts;
SELECT n FROM app.mv_counts WHERE mood = 'sad';
SELECT public.item_total();
SELECT hits FROM public.shared_stats;
CREATE TABLE app.new_table (x int);
EOF
) || fail "working as pvt3_bot_user in $NEW failed: $out"
expected='pvt3_bot_user|20
21
22
22
11
1021
21
1
55
5'
[ "$out" = "$expected" ] || { printf 'got:\n%s\nexpected:\n%s\n' "$out" "$expected" >&2; fail "the app as pvt3_bot_user gave unexpected results"; }

# ---------------------------------------------------------------- public owned by the old owner
echo "== public schema owned by the old owner; --create-role without a password"
createdb_q "$SRC2"
qdb "$SRC2" >/dev/null <<'EOF'
ALTER DATABASE pvt3_own_src2 OWNER TO pvt3_oldowner;
ALTER SCHEMA public OWNER TO pvt3_oldowner;
SET ROLE pvt3_oldowner;
CREATE TABLE t (id serial PRIMARY KEY, v text);
INSERT INTO t (v) VALUES ('a'), ('b');
EOF
pv backup --storage "$ST" --db "$SRC2"
expect_rc 0 "backup of $SRC2"
ID2=$(head -1 "$T/out")
pv restore --storage "$ST" "$ID2" --as "$NOPW" --owner pvt3_bot_nopw --create-role
expect_rc 0 "restore --create-role without a password"
grep -qi 'password' "$T/err" || { cat "$T/err" >&2; fail "no warning about the missing password"; }
role=$(q -d postgres -c "SELECT rolcanlogin, rolpassword IS NULL FROM pg_authid WHERE rolname = 'pvt3_bot_nopw'")
[ "$role" = "t|t" ] || fail "pvt3_bot_nopw: login|no password = '$role', expected t|t"
bad=$(owners_not "$NOPW" pvt3_bot_nopw)
[ -z "$bad" ] || { printf '%s\n' "$bad" >&2; fail "objects of $NOPW not owned by pvt3_bot_nopw"; }
pub=$(qdb "$NOPW" -c "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'")
[ "$pub" = pvt3_bot_nopw ] || fail "public schema (owned by the old owner) is owned by $pub after --owner pvt3_bot_nopw"
[ "$(psql -X -q -At -U pvt3_bot_nopw -d "$NOPW" -c "INSERT INTO t (v) VALUES ('c') RETURNING id")" = 3 ] ||
	fail "pvt3_bot_nopw cannot use its table"

echo "== --role-password-file"
printf '%s\n' "$PASSWORD" >"$T/pwfile"; chmod 600 "$T/pwfile"
pv restore --storage "$ST" "$ID2" --as "$PWF" --owner pvt3_bot_file --create-role --role-password-file "$T/pwfile"
expect_rc 0 "restore --role-password-file"
if grep -qF -- "$PASSWORD" "$T/out" "$T/err"; then fail "the role password appears in pgvault's output"; fi
[ "$(q -d postgres -c "SELECT rolcanlogin AND rolpassword LIKE 'SCRAM-SHA-256\$%' FROM pg_authid WHERE rolname = 'pvt3_bot_file'")" = t ] ||
	fail "pvt3_bot_file has no SCRAM password"
# the verifier matches the password from the file
q -d postgres -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'pvt3_bot_file'" >"$T/verifier"
python3 - "$T/verifier" "$PASSWORD" 'pvt3_bot_file' <<'PY' || fail "the SCRAM verifier of pvt3_bot_file does not match the password in the file"
import base64, hashlib, hmac, sys
v = open(sys.argv[1]).read().strip()
mech, rest = v.split("$", 1)
iters_salt, keys = rest.split("$", 1)
iters, salt = iters_salt.split(":", 1)
stored, server = keys.split(":", 1)
salted = hashlib.pbkdf2_hmac("sha256", sys.argv[2].encode(), base64.b64decode(salt), int(iters))
client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
sys.exit(0 if base64.b64encode(hashlib.sha256(client_key).digest()).decode() == stored else 1)
PY

# ---------------------------------------------------------------- missing roles
echo "== missing roles"
createdb_q "$MISS"
qdb "$MISS" >/dev/null <<'EOF'
CREATE TABLE t (id int PRIMARY KEY);
INSERT INTO t VALUES (1), (2);
GRANT SELECT, INSERT ON t TO pvt3_gone;
EOF
pv backup --storage "$ST" --db "$MISS"
expect_rc 0 "backup of $MISS"
ID3=$(head -1 "$T/out")
dropdb_q "$MISS"
q -d postgres -c "DROP ROLE pvt3_gone"
q -d postgres -c "SELECT datname FROM pg_database ORDER BY 1" >"$T/dbs-before"
pv restore --storage "$ST" "$ID3" --as "$MISS2"
expect_rc 1 "restore of a bundle that needs a dropped role"
expect_err '"pvt3_gone"'
expect_err 'roles the bundle needs do not exist'
no_db_leftovers "$MISS2"
q -d postgres -c "SELECT datname FROM pg_database ORDER BY 1" >"$T/dbs-after"
diff "$T/dbs-before" "$T/dbs-after" >&2 || fail "the refused restore changed the list of databases"
[ "$(q -d postgres -c "SELECT count(*) FROM pg_roles WHERE rolname = 'pvt3_gone'")" = 0 ] ||
	fail "the refused restore created pvt3_gone"
# the original name too (no --as)
pv restore --storage "$ST" "$ID3"
expect_rc 1 "restore under the original name of a bundle that needs a dropped role"
expect_err '"pvt3_gone"'
no_db_leftovers "$MISS"

pv restore --storage "$ST" "$ID3" --as "$MISS2" --create-missing-roles
expect_rc 0 "restore --create-missing-roles"
[ "$(q -d postgres -c "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'pvt3_gone'")" = f ] ||
	fail "pvt3_gone was not created as a NOLOGIN role"
[ "$(qdb "$MISS2" -c "SELECT has_table_privilege('pvt3_gone', 't', 'INSERT')")" = t ] ||
	fail "the grant to pvt3_gone was not restored"
[ "$(qdb "$MISS2" -c "SELECT count(*) FROM t")" = 2 ] || fail "rows of $MISS2 missing"

# ---------------------------------------------------------------- usage errors
echo "== usage errors"
before=$(q -d postgres -c "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database")
pv restore --storage "$ST" "$ID" --as pvt3_own_usage --create-role
expect_rc 2 "--create-role without --owner"
pv restore --storage "$ST" "$ID" --as pvt3_own_usage --drop-old
expect_rc 2 "--drop-old without --replace"
pv restore --storage "$ST" "$ID" --replace --table app.users
expect_rc 2 "--table with --replace"
pv restore --storage "$ST" "$ID" --as pvt3_own_usage --schema-only --data-only
expect_rc 2 "--schema-only with --data-only"
pv restore --storage "$ST" "$ID" --as pvt3_own_usage --role-password-file "$T/pwfile"
expect_rc 2 "--role-password-file without --owner"
after=$(q -d postgres -c "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database")
[ "$before" = "$after" ] || fail "a usage error changed the list of databases"

echo "all good"
