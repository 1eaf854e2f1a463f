# Smallest end-to-end check: backup -> list -> verify -> restore --as -> oracles equal.
. "$TOP_SRCDIR/tests/lib/common.sh"
db=smoke_src
dropdb_q "$db"; dropdb_q smoke_copy
createdb_q "$db"
q -d "$db" <<'SQL'
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, m mood);
CREATE TABLE msgs (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                   uid int REFERENCES users(id), body text);
INSERT INTO users (name, m) VALUES (E'tab\there', 'ok'), (E'new\nline', NULL);
INSERT INTO msgs (uid, body) VALUES (1, 'hello'), (2, NULL);
SQL
pv backup --storage "$T/st" --db "$db"; expect_rc 0 backup
id=$(cat "$T/out")
[ -f "$T/st/$db/$id.pgv" ] || fail "no bundle file for $id"
[ -f "$T/st/$db/$id.manifest.json" ] || fail "no sidecar for $id"
pv list --storage "$T/st"; expect_rc 0 list
grep -q "$id" "$T/out" || fail "list does not show $id"
pv verify --storage "$T/st" "$id"; expect_rc 0 verify
pv restore --storage "$T/st" "$id" --as smoke_copy; expect_rc 0 restore
diff <(pg_dump -s --restrict-key=k -d "$db") <(pg_dump -s --restrict-key=k -d smoke_copy) || fail "schema differs"
for t in users msgs; do
	diff <(q -d "$db" -c "COPY $t TO STDOUT" | LC_ALL=C sort) \
	     <(q -d smoke_copy -c "COPY $t TO STDOUT" | LC_ALL=C sort) || fail "data of $t differs"
done
dropdb_q "$db"; dropdb_q smoke_copy
