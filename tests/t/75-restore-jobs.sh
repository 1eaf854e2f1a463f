# restore --jobs N: the same result as a serial restore (schema and data oracles), with
# tables split into many data members; a table of one member loaded with COPY FREEZE; a
# corrupt member in the middle of a parallel load fails the restore and leaves no database
# behind.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
DB=pvt75_jobs
for d in "$DB" "${DB}_r" "${DB}_r1" "${DB}_bad"; do dropdb_q "$d"; done
createdb_q "$DB"
load_fixture "$DB" "$TOP_SRCDIR/tests/fixtures/objects.sql"
q -d "$DB" -c "CREATE TABLE app.bulk AS SELECT i AS id, md5(i::text) AS h FROM generate_series(1, 50000) i" \
          -c "ALTER TABLE app.bulk ADD PRIMARY KEY (id)" -c "CREATE INDEX ON app.bulk (h)"
PGVAULT_CHUNK_BYTES=65536 pv backup --storage "$T/st" --db "$DB"; expect_rc 0 backup
ID=$(cat "$T/out")
PGV="$T/st/$DB/$ID.pgv"
n=$(tar tf "$PGV" | grep -c '^data/') || true
[ "$n" -ge 20 ] || fail "expected many data members, got $n"

pv restore --storage "$T/st" "$ID" --as "${DB}_r" --jobs 3; expect_rc 0 "restore --jobs 3"
oracle_compare "$DB" "${DB}_r" || fail "parallel restore differs from the source"

# A table whose rows are one member is loaded with COPY FREEZE (emptied in the loading
# transaction): its pages are all-frozen; app.bulk, in many members loaded by several
# sessions, is not.  The same with a serial restore.
frozen() { # DB TABLE -> t/f: every page of TABLE all-frozen
	q -d "$1" -c "CREATE EXTENSION IF NOT EXISTS pg_visibility" >/dev/null
	q -d "$1" -c "SELECT coalesce(bool_and(all_frozen), false) FROM pg_visibility_map('$2'::regclass)"
}
single=app.code_names # two rows (tests/fixtures/objects.sql)
[ "$(q -d "$DB" -c "SELECT count(*) FROM $single")" -ge 1 ] || fail "$single has no rows"
pv restore --storage "$T/st" "$ID" --as "${DB}_r1"; expect_rc 0 "serial restore"
for r in "${DB}_r" "${DB}_r1"; do
	[ "$(frozen "$r" "$single")" = t ] || fail "$r: $single (one member) was not loaded frozen"
	[ "$(frozen "$r" app.bulk)" = f ] || fail "$r: app.bulk (many members) all frozen: FREEZE used on a table loaded in pieces"
done
dropdb_q "${DB}_r1"

# corrupt a data member near the middle: the parallel load must fail cleanly
cp "$PGV" "$T/bad.pgv"
read -r off size < <(python3 - "$T/bad.pgv" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "r:") as tf:
    ms = [m for m in tf.getmembers() if m.name.startswith("data/") and m.size > 64]
m = ms[len(ms) // 2]
print(m.offset_data, m.size)
PY
)
python3 - "$T/bad.pgv" $((off + size / 2)) <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xFF]))
PY
pv restore --storage "$T/st" "$T/bad.pgv" --as "${DB}_bad" --jobs 3; expect_rc 1 "restore --jobs of a corrupt bundle"
! db_exists "${DB}_bad" || fail "a failed parallel restore left ${DB}_bad behind"
pv restore --storage "$T/st" "$ID" --as x --jobs 0; expect_rc 2 "--jobs 0"
for d in "$DB" "${DB}_r"; do dropdb_q "$d"; done
