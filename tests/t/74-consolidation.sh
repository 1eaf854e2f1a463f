#!/usr/bin/env bash
# tests/t/74-consolidation.sh — moving an app from its own server into the shared one: a second
# PostgreSQL cluster (B) is started inside the test; its bot database, owned by pvt3_oldbot, is
# backed up with -h/-p pointing at B and restored with -h/-p pointing at the suite's server (A)
# under --owner pvt3_newbot --create-role.  On A: the database is owned by pvt3_newbot, the rows
# equal B's, the schema equals B's once the owner's name is changed, and pvt3_oldbot never had
# to exist on A.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
. "$TOP_SRCDIR/tests/lib/pg.sh"

ST="$T/st"
DB=pvt3_cons_botdb
PASSWORD='consolidated pw 74'
unset PGVAULT_ROLE_PASSWORD
A_HOST="$PGHOST" A_PORT="$PGPORT"

cleanup() {
	pg_stop "$T/pg2"
	export PGHOST="$A_HOST" PGPORT="$A_PORT"
	dropdb_q "$DB" >/dev/null 2>&1 || true
	q -d postgres -c "DROP ROLE IF EXISTS pvt3_newbot" >/dev/null 2>&1 || true
	q -d postgres -c "DROP ROLE IF EXISTS pvt3_oldbot" >/dev/null 2>&1 || true
}
trap cleanup EXIT
onA() { PGHOST="$A_HOST" PGPORT="$A_PORT" "$@"; }
onB() { PGHOST="$B_HOST" PGPORT="$B_PORT" "$@"; }

# server A: neither the database nor either role
dropdb_q "$DB" >/dev/null 2>&1 || true
q -d postgres -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS pvt3_newbot" -c "DROP ROLE IF EXISTS pvt3_oldbot"

# ---------------------------------------------------------------- server B
echo "== starting server B"
pg_start "$T/pg2" || fail "cannot start the second server"
B_HOST="$PGHOST" B_PORT="$PGPORT"
export PGHOST="$A_HOST" PGPORT="$A_PORT"
[ "$B_PORT" != "$A_PORT" ] || fail "server B got server A's port"
echo "A: $A_HOST:$A_PORT  B: $B_HOST:$B_PORT"

onB q -d postgres -c "CREATE ROLE pvt3_oldbot LOGIN" -c "CREATE DATABASE $DB OWNER pvt3_oldbot TEMPLATE template0"
onB qdb "$DB" >/dev/null <<'EOF'
COMMENT ON DATABASE pvt3_cons_botdb IS 'hello bot';
ALTER DATABASE pvt3_cons_botdb SET timezone = 'Europe/Berlin';
SET ROLE pvt3_oldbot;
CREATE SCHEMA bot;
CREATE TYPE bot.lang AS ENUM ('en', 'de', 'ru');
CREATE TABLE bot.users (id serial PRIMARY KEY, tg_id bigint NOT NULL UNIQUE, lang bot.lang DEFAULT 'en',
                        created timestamptz DEFAULT '2024-05-01 12:00:00+00');
CREATE TABLE bot.messages (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                           user_id int NOT NULL REFERENCES bot.users ON DELETE CASCADE,
                           body text, meta jsonb);
CREATE INDEX messages_user_idx ON bot.messages (user_id);
CREATE TABLE public.settings (k text PRIMARY KEY, v text);
CREATE FUNCTION bot.user_messages(uid int) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
BEGIN RETURN (SELECT count(*) FROM bot.messages WHERE user_id = uid); END $$;
CREATE VIEW bot.stats AS SELECT u.lang, count(m.id) AS messages
	FROM bot.users u LEFT JOIN bot.messages m ON m.user_id = u.id GROUP BY u.lang;
INSERT INTO bot.users (tg_id, lang) SELECT 700000 + i, (ARRAY['en', 'de', 'ru'])[1 + i % 3]::bot.lang
	FROM generate_series(1, 500) AS i;
INSERT INTO bot.messages (user_id, body, meta)
	SELECT 1 + i % 500, 'message ' || i || E' with\ttab', jsonb_build_object('n', i)
	FROM generate_series(1, 5000) AS i;
INSERT INTO public.settings VALUES ('token_hint', 'xyz'), ('admin', NULL);
CREATE MATERIALIZED VIEW bot.mv_stats AS SELECT * FROM bot.stats;
RESET ROLE;
EOF

# ---------------------------------------------------------------- backup from B
# the environment points at A: only -h/-p reach B (A has no such database)
echo "== backup from B"
pv -h "$B_HOST" -p "$B_PORT" backup --storage "$ST" --db "$DB"
expect_rc 0 "backup from server B"
ID=$(head -1 "$T/out")
! db_exists "$DB" || fail "$DB exists on A before the restore"
[ "$(q -d postgres -c "SELECT count(*) FROM pg_roles WHERE rolname IN ('pvt3_oldbot', 'pvt3_newbot')")" = 0 ] ||
	fail "pvt3_oldbot or pvt3_newbot exists on A before the restore"

# ---------------------------------------------------------------- restore into A
# now the environment points at B (where the database exists): only -h/-p reach A
echo "== restore into A --owner pvt3_newbot --create-role"
PGHOST="$B_HOST" PGPORT="$B_PORT" PGVAULT_ROLE_PASSWORD="$PASSWORD" \
	pv -h "$A_HOST" -p "$A_PORT" restore --storage "$ST" "$ID" --owner pvt3_newbot --create-role
expect_rc 0 "restore into server A"
if grep -qF -- "$PASSWORD" "$T/out" "$T/err"; then fail "the role password appears in pgvault's output"; fi
db_exists "$DB" || fail "$DB was not created on A"
[ "$(q -d postgres -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$DB'")" = pvt3_newbot ] ||
	fail "$DB on A is not owned by pvt3_newbot"
[ "$(q -d postgres -c "SELECT rolcanlogin AND rolpassword LIKE 'SCRAM-SHA-256\$%' FROM pg_authid WHERE rolname = 'pvt3_newbot'")" = t ] ||
	fail "pvt3_newbot on A is not a LOGIN role with a SCRAM password"
[ "$(q -d postgres -c "SELECT count(*) FROM pg_roles WHERE rolname = 'pvt3_oldbot'")" = 0 ] ||
	fail "the restore created pvt3_oldbot on A"
others=$(qdb "$DB" -c "SELECT string_agg(DISTINCT pg_get_userbyid(relowner), ',') FROM pg_class
                      WHERE relnamespace IN ('bot'::regnamespace, 'public'::regnamespace)")
[ "$others" = pvt3_newbot ] || fail "relations of $DB on A are owned by: $others"
# B is untouched: still there, still owned by pvt3_oldbot
[ "$(onB q -d postgres -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$DB'")" = pvt3_oldbot ] ||
	fail "$DB on B changed"

# rows: the oracle's COPY of every table (and sequences, populated matviews) on both servers
onB oracle_data "$DB" "$T/data-B"
onA oracle_data "$DB" "$T/data-A"
diff -r "$T/data-B" "$T/data-A" >&2 || fail "rows on A differ from B"
[ "$(wc -l <"$(echo "$T/data-A/$(printf 'bot.messages' | md5sum | cut -d' ' -f1).copy")")" = 5000 ] ||
	fail "bot.messages on A does not have 5000 rows"

# schema: equal once B's owner name is replaced
onB oracle_schema "$DB" "$T/schema-B.sql"
onA oracle_schema "$DB" "$T/schema-A.sql"
sed 's/pvt3_oldbot/pvt3_newbot/g' "$T/schema-B.sql" >"$T/schema-B-renamed.sql"
grep -q pvt3_newbot "$T/schema-B-renamed.sql" || fail "B's schema dump names no owner"
diff -u "$T/schema-B-renamed.sql" "$T/schema-A.sql" >&2 || fail "schema on A differs from B's (owner renamed)"

# the bot works on A as its new role
out=$(psql -X -q -v ON_ERROR_STOP=1 -At -U pvt3_newbot -d "$DB" <<'EOF'
INSERT INTO bot.users (tg_id) VALUES (1) RETURNING id;
INSERT INTO bot.messages (user_id, body) VALUES (501, 'first on A') RETURNING id;
SELECT bot.user_messages(501);
REFRESH MATERIALIZED VIEW bot.mv_stats;
EOF
) || fail "the bot cannot work on A as pvt3_newbot: $out"
[ "$out" = "501
5001
1" ] || fail "the bot on A as pvt3_newbot gave: $out"

echo "all good"
