#!/usr/bin/env bash
# contrib/demo.sh — the newcomer's demo: installs what building and running pgvault needs
# (Debian 12 or 13, apt: contrib/install-deps.sh without --tests), builds pgvault, starts a
# throwaway PostgreSQL cluster of its own (private port and socket directory, removed at the
# end), creates two sample bot databases, then runs backup --all, list, verify, and restores
# one bot under a new name and shows that the copy matches the original (pg_dump
# --schema-only and sorted table data compared).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC="$PWD"
sh ./contrib/install-deps.sh
if [ ! -x _build/pgvault ]; then
	autoreconf -fi >/dev/null 2>&1
	rm -rf _build && mkdir _build
	(cd _build && ../configure -q --disable-unit-tests && make -s -j2)
fi
PGVAULT="$SRC/_build/pgvault"
. "$SRC/tests/lib/pg.sh"
DEMO="$(mktemp -d /tmp/pgvault-demo.XXXXXX)"; chmod 755 "$DEMO"
trap 'pg_stop "$DEMO/pg"; rm -rf "$DEMO"' EXIT
pg_start "$DEMO/pg"
export PGVAULT_STORAGE="$DEMO/storage"
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

echo "== a throwaway PostgreSQL on port $PGPORT with two bot databases"
for bot in hello-bot chatbot; do
	q -d postgres -c "CREATE ROLE \"${bot}_user\" LOGIN" -c "CREATE DATABASE \"${bot}_db\" OWNER \"${bot}_user\""
	q -d "${bot}_db" -U "${bot}_user" <<'SQL'
CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    telegram_id bigint UNIQUE NOT NULL, name text, settings jsonb DEFAULT '{}');
CREATE TABLE messages (id bigserial PRIMARY KEY, user_id bigint REFERENCES users ON DELETE CASCADE,
                       body text, sent_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON messages (user_id, sent_at);
CREATE VIEW activity AS SELECT u.name, count(m.id) AS messages FROM users u
  LEFT JOIN messages m ON m.user_id = u.id GROUP BY u.id, u.name;
INSERT INTO users (telegram_id, name) SELECT 1000 + g, 'user ' || g FROM generate_series(1, 500) g;
INSERT INTO messages (user_id, body, sent_at)
  SELECT 1 + g % 500, E'hello\tworld #' || g, '2026-01-01 00:00:00+00'::timestamptz + g * interval '1 minute'
  FROM generate_series(1, 20000) g;
SQL
done

say pgvault backup --all
ids=$("$PGVAULT" backup --all)
echo "$ids"
say pgvault list
"$PGVAULT" list
say pgvault verify --all
"$PGVAULT" verify --all
id=$(echo "$ids" | grep '^hello-bot_db_')
say pgvault restore "$id" --as hello-bot_restored
"$PGVAULT" restore "$id" --as hello-bot_restored

echo; echo "== comparing hello-bot_db with hello-bot_restored"
pg_dump -s --restrict-key=demo -d hello-bot_db >"$DEMO/a.sql"
pg_dump -s --restrict-key=demo -d hello-bot_restored >"$DEMO/b.sql"
diff -u "$DEMO/a.sql" "$DEMO/b.sql" && echo "schema (pg_dump --schema-only): identical"
for t in users messages; do
	diff <(q -At -d hello-bot_db -c "COPY $t TO STDOUT" | LC_ALL=C sort) \
	     <(q -At -d hello-bot_restored -c "COPY $t TO STDOUT" | LC_ALL=C sort) >/dev/null \
		&& echo "table $t: identical ($(q -At -d hello-bot_restored -c "SELECT count(*) FROM $t") rows)"
done
echo; echo "demo finished: the restored copy matches the original"
