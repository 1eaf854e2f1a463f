# restore --jobs N: the same result as a serial restore (schema and data oracles), with
# tables split into many data members, each table loaded by one session in one transaction
# with COPY FREEZE, or over every session when it holds most of the rows; a table of one big
# member loaded with COPY FREEZE; a corrupt member in the middle of a parallel load fails
# the restore and leaves no database behind, and so does a member changed in the file after
# the restore verified it; plain indexes of one table build at the same time; the enabled states of a
# partitioned table's trigger clones are set down the partition tree; a post-data item that
# fails in a batch of several is named in the error.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
DB=pvt75_jobs
for d in "$DB" "${DB}_r" "${DB}_r1" "${DB}_r2" "${DB}_r8" "${DB}_late" "${DB}_bad" "${DB}_idx_r" "${DB}_trg" "${DB}_trg_r"; do dropdb_q "$d"; done
createdb_q "$DB"
load_fixture "$DB" "$TOP_SRCDIR/tests/fixtures/objects.sql"
q -d "$DB" -c "CREATE TABLE app.bulk AS SELECT i AS id, md5(i::text) AS h FROM generate_series(1, 50000) i" \
          -c "ALTER TABLE app.bulk ADD PRIMARY KEY (id)" -c "CREATE INDEX ON app.bulk (h)" \
          -c "CREATE TABLE app.bulk2 AS SELECT i AS id, md5(i::text) AS h FROM generate_series(1, 50000) i" \
          -c "ALTER TABLE app.bulk2 ADD PRIMARY KEY (id)" -c "ALTER TABLE app.bulk2 ADD FOREIGN KEY (id) REFERENCES app.bulk"
PGVAULT_CHUNK_BYTES=65536 pv backup --storage "$T/st" --db "$DB"; expect_rc 0 backup
ID=$(cat "$T/out")
PGV="$T/st/$DB/$ID.pgv"
n=$(tar tf "$PGV" | grep -c '^data/') || true
[ "$n" -ge 20 ] || fail "expected many data members, got $n"

pv restore --storage "$T/st" "$ID" --as "${DB}_r" --jobs 3; expect_rc 0 "restore --jobs 3"
oracle_compare "$DB" "${DB}_r" || fail "parallel restore differs from the source"

# A table whose rows are one member of 1 MiB or more is loaded with COPY FREEZE (emptied
# in the loading transaction): all its pages are frozen.  Not a smaller table (not worth
# its TRUNCATE), nor one in many members loaded by several sessions.  Serial and parallel.
frozen() { # DB TABLE -> t/f: every page of TABLE all-frozen
	q -d "$1" -c "CREATE EXTENSION IF NOT EXISTS pg_visibility" >/dev/null
	q -d "$1" -c "SELECT coalesce(bool_and(all_frozen), false) FROM pg_visibility_map('$2'::regclass)"
}
pv backup --storage "$T/st1" --db "$DB"; expect_rc 0 "backup in whole members"
ID1=$(cat "$T/out")
[ "$(tar tf "$(bundle_file "$T/st1" "$ID1")" | grep -c '^data/')" -le "$(q -d "$DB" -c "SELECT count(*) FROM pg_stat_user_tables")" ] ||
	fail "expected one member per table"
pv restore --storage "$T/st1" "$ID1" --as "${DB}_r1" --jobs 2; expect_rc 0 "restore --jobs 2 of whole members"
pv restore --storage "$T/st1" "$ID1" --as "${DB}_r2"; expect_rc 0 "serial restore of whole members"
oracle_compare "$DB" "${DB}_r1" || fail "restore with COPY FREEZE differs from the source"
for r in "${DB}_r1" "${DB}_r2"; do
	[ "$(frozen "$r" app.bulk)" = t ] || fail "$r: app.bulk (one member of 2 MB) was not loaded frozen"
	[ "$(frozen "$r" app.code_names)" = f ] || fail "$r: app.code_names (2 rows) was loaded with FREEZE"
	[ "$(q -d "$r" -c "SELECT count(*), sum(id) FROM app.bulk")" = "50000|1250025000" ] || fail "$r: app.bulk rows"
done
# In many members, with --jobs 3: each of the two big tables (under half of the rows each)
# loaded by one session, frozen; with --jobs 8 (each over 2/9 of the rows) over every
# session, as plain COPY, and the same rows.
for t in app.bulk app.bulk2; do
	[ "$(frozen "${DB}_r" $t)" = t ] || fail "$t in many members, --jobs 3: not loaded frozen by one session"
done
pv restore --storage "$T/st" "$ID" --as "${DB}_r8" --jobs 8; expect_rc 0 "restore --jobs 8"
for t in app.bulk app.bulk2; do
	[ "$(frozen "${DB}_r8" $t)" = f ] || fail "$t in many members, --jobs 8: loaded with FREEZE, not split"
	[ "$(q -d "${DB}_r8" -c "SELECT count(*), sum(id), md5(string_agg(h, ',' ORDER BY id)) FROM $t")" = \
	  "$(q -d "$DB" -c "SELECT count(*), sum(id), md5(string_agg(h, ',' ORDER BY id)) FROM $t")" ] ||
		fail "$t, --jobs 8: rows differ"
done
dropdb_q "${DB}_r1"
dropdb_q "${DB}_r2"
dropdb_q "${DB}_r8"

# A data member changed in the file after the restore verified it (while the restore waits
# before its loads, PGVAULT_TEST_LOAD_GATE): the session loading it reads it from the file
# and checks its SHA-256 first; the restore fails naming the member, no database is left.
cp "$PGV" "$T/late.pgv"
read -r loff lsize lname < <(python3 - "$T/late.pgv" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "r:") as tf:
    ms = [m for m in tf.getmembers() if m.name.startswith("data/") and m.size > 64]
m = ms[len(ms) // 3]
print(m.offset_data, m.size, m.name)
PY
)
rm -f "$T/gate"
PGVAULT_TEST_LOAD_GATE="$T/gate" "$PGVAULT" restore --storage "$T/st" "$T/late.pgv" --as "${DB}_late" --jobs 2 \
	>"$T/out" 2>"$T/err" &
rpid=$!
for _ in $(seq 600); do [ -e "$T/gate" ] && break; sleep 0.1; done
[ -e "$T/gate" ] || fail "the restore did not reach its loads"
python3 - "$T/late.pgv" $((loff + lsize / 2)) <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xFF]))
PY
rm -f "$T/gate"
wait "$rpid" && rc=0 || rc=$?
[ "$rc" = 1 ] || fail "restore of a bundle changed after its verification: exit $rc"
grep -q "member $lname: .*SHA-256" "$T/err" || fail "the failure does not name the changed member $lname: $(cat "$T/err")"
! db_exists "${DB}_late" || fail "a restore whose bundle changed left ${DB}_late behind"

# Plain CREATE INDEX entries of one table share it (a share lock each): with --jobs they
# build together.  Three indexes whose expression sleeps 0.5 s per row, on one row: seen
# building at the same time in pg_stat_activity.
IDX="${DB}_idx"
dropdb_q "$IDX"
createdb_q "$IDX"
q -d "$IDX" -c "CREATE FUNCTION public.slow_key(int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS \$f\$BEGIN PERFORM pg_sleep(0.5); RETURN \$1; END\$f\$" \
            -c "CREATE TABLE public.slow (a int, b int, c int)" -c "INSERT INTO public.slow VALUES (1, 2, 3)" \
            -c "CREATE INDEX slow_a ON public.slow (public.slow_key(a))" \
            -c "CREATE INDEX slow_b ON public.slow (public.slow_key(b))" \
            -c "CREATE INDEX slow_c ON public.slow (public.slow_key(c))"
pv backup --storage "$T/sti" --db "$IDX"; expect_rc 0 "backup of the slow indexes"
IDXID=$(cat "$T/out")
echo 0 >"$T/maxidx"
(
	max=0
	while :; do
		n=$(q -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX slow\_%'") || n=0
		[ "$n" -gt "$max" ] && { max=$n; echo "$max" >"$T/maxidx"; }
		sleep 0.05
	done
) &
poller=$!
pv restore --storage "$T/sti" "$IDXID" --as "${IDX}_r" --jobs 3
kill "$poller" 2>/dev/null || true
wait "$poller" 2>/dev/null || true
expect_rc 0 "restore --jobs 3 of the slow indexes"
[ "$(cat "$T/maxidx")" -ge 2 ] || fail "the indexes of one table were built one at a time (at most $(cat "$T/maxidx") at once)"
[ "$(q -d "${IDX}_r" -c "SELECT count(*) FROM pg_indexes WHERE tablename = 'slow'")" = 3 ] || fail "the slow indexes were not restored"
dropdb_q "${IDX}_r"
dropdb_q "$IDX"

# A trigger of a partitioned table, disabled on a sub-partitioned partition and enabled
# ALWAYS on a partition below it: ALTER TABLE ... DISABLE TRIGGER on the middle table
# reaches the bottom one too, so the two states are set in that order, also in parallel
# (restored five times, every state as in the source).
TRG="${DB}_trg"
dropdb_q "$TRG"
createdb_q "$TRG"
q -d "$TRG" -c "CREATE FUNCTION public.tf() RETURNS trigger LANGUAGE plpgsql AS \$f\$BEGIN RETURN NEW; END\$f\$" \
            -c "CREATE TABLE public.tp (a int) PARTITION BY LIST (a)" \
            -c "CREATE TABLE public.tp1 PARTITION OF public.tp FOR VALUES IN (1)" \
            -c "CREATE TABLE public.tp2 PARTITION OF public.tp FOR VALUES IN (2) PARTITION BY LIST (a)" \
            -c "CREATE TABLE public.tp2_2 PARTITION OF public.tp2 FOR VALUES IN (2)" \
            -c "CREATE TRIGGER t_row AFTER INSERT ON public.tp FOR EACH ROW EXECUTE FUNCTION public.tf()" \
            -c "ALTER TABLE public.tp2 DISABLE TRIGGER t_row" \
            -c "ALTER TABLE public.tp2_2 ENABLE ALWAYS TRIGGER t_row"
states() { q -d "$1" -c "SELECT string_agg(c.relname || '=' || t.tgenabled::text, ' ' ORDER BY c.relname COLLATE \"C\") FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = 't_row'"; }
want=$(states "$TRG")
[ "$want" = "tp=O tp1=O tp2=D tp2_2=A" ] || fail "the trigger states in the source: $want"
pv backup --storage "$T/stt" --db "$TRG"; expect_rc 0 "backup of the trigger states"
TRGID=$(cat "$T/out")
for i in 1 2 3 4 5; do
	pv restore --storage "$T/stt" "$TRGID" --as "${TRG}_r" --jobs 3; expect_rc 0 "restore --jobs 3 of the trigger states ($i)"
	got=$(states "${TRG}_r")
	[ "$got" = "$want" ] || fail "restore $i: trigger states $got, expected $want"
	dropdb_q "${TRG}_r"
done
dropdb_q "$TRG"

# Post-data items ready together run several to a transaction: one that fails in the
# middle of such a batch fails the restore with its own name and message, and leaves no
# database behind.  The unique index's function (falsely IMMUTABLE) maps every row to 1
# once public.flag has given out two values, which it had when the index was built: in the
# restored database, whose sequence values are set before the indexes build, the index
# cannot be built.  40 other tables' indexes are ready beside it.
UQ="${DB}_uq"
dropdb_q "$UQ"
createdb_q "$UQ"
q -d "$UQ" -c "CREATE SEQUENCE public.flag" \
           -c "CREATE FUNCTION public.pick(int) RETURNS int IMMUTABLE LANGUAGE sql AS \$f\$SELECT CASE WHEN nextval('public.flag') > 2 THEN 1 ELSE \$1 END\$f\$" \
           -c "DO \$d\$BEGIN FOR i IN 1..40 LOOP EXECUTE format('CREATE TABLE public.t%s (a int); INSERT INTO public.t%s VALUES (1), (2); CREATE INDEX t%s_a ON public.t%s (a)', i, i, i, i); END LOOP; END\$d\$" \
           -c "CREATE TABLE public.t20b (a int)" -c "INSERT INTO public.t20b VALUES (1), (2)" \
           -c "CREATE UNIQUE INDEX t20b_pick ON public.t20b (public.pick(a))"
pv backup --storage "$T/stu" --db "$UQ"; expect_rc 0 "backup of the unique index"
UQID=$(cat "$T/out")
pv restore --storage "$T/stu" "$UQID" --as "${UQ}_r" --jobs 2; expect_rc 1 "restore of an index that cannot be built"
grep -q 'post-data: index public\.t20b_pick' "$T/err" || fail "the failure does not name the index: $(cat "$T/err")"
grep -q 'could not create unique index' "$T/err" || fail "the server's message is missing: $(cat "$T/err")"
! db_exists "${UQ}_r" || fail "a failed post-data batch left ${UQ}_r behind"
dropdb_q "$UQ"

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
