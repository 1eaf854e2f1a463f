#!/usr/bin/env bash
# tests/t/72-restore-tables.sh — rows-only restores into an existing database:
# --table T replaces one table's rows (its owned sequence set back, everything else as it was,
# user triggers held off and enabled again afterwards), refused when tables outside the
# selection reference it by foreign key (nothing changed), works when they are selected too;
# unknown tables and a missing database are errors; --data-only refills an emptied database;
# --schema-only gives the schema with empty tables and untouched sequences.  Checked last,
# failures collected: ALWAYS/REPLICA trigger modes, foreign keys whose order differs from the
# bundle's (child before parent, self-reference across data members), --data-only sequences.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

ST="$T/st"
DB=pvt3_tab
FK=pvt3_tab_fk
SO=pvt3_tab_schema
NODB=pvt3_tab_nodb
cleanup() {
	local d
	for d in "$DB" "$FK" "$SO" "$NODB"; do dropdb_q "$d" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
cleanup

# copyfile SNAPDIR QNAME: the oracle's rows file of relation QNAME ("schema.table")
copyfile() { echo "$1/data/$(printf '%s' "$2" | md5sum | cut -d' ' -f1).copy"; }
seqline() { grep "^$2|" "$1/data/sequences" || true; } # SNAPDIR QNAME
same_rows() { # SNAP1 SNAP2 QNAME
	cmp -s "$(copyfile "$1" "$3")" "$(copyfile "$2" "$3")"
}
triggers() { qdb "$1" -c "SELECT tgrelid::regclass || '.' || tgname || '=' || tgenabled::text FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1"; }

# ---------------------------------------------------------------- the database
createdb_q "$DB"
qdb "$DB" >/dev/null <<'EOF'
CREATE TABLE a (id serial PRIMARY KEY, v text, n int);
CREATE TABLE b (id int PRIMARY KEY, v text);
CREATE TABLE c (k text);
CREATE TABLE ident (id bigint GENERATED ALWAYS AS IDENTITY, v text);
CREATE SEQUENCE free_seq;                      -- owned by no table
CREATE TABLE audit (id serial PRIMARY KEY, what text);
CREATE FUNCTION a_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO audit (what) VALUES (TG_OP || ' ' || NEW.id); RETURN NULL; END $$;
CREATE FUNCTION a_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.n := NEW.n + 1000; RETURN NEW; END $$;
CREATE TRIGGER a_audit AFTER INSERT ON a FOR EACH ROW EXECUTE FUNCTION a_audit();
CREATE TRIGGER a_bump BEFORE INSERT ON a FOR EACH ROW EXECUTE FUNCTION a_bump();
CREATE TRIGGER a_off BEFORE INSERT ON a FOR EACH ROW EXECUTE FUNCTION a_bump();
ALTER TABLE a DISABLE TRIGGER a_off;
INSERT INTO a (v, n) SELECT 'a' || i, i FROM generate_series(1, 50) AS i;
INSERT INTO b SELECT i, 'b' || i FROM generate_series(1, 30) AS i;
INSERT INTO c SELECT 'c' || i FROM generate_series(1, 5) AS i;
INSERT INTO ident (v) SELECT 'i' || i FROM generate_series(1, 7) AS i;
SELECT nextval('free_seq') FROM generate_series(1, 3);
EOF
pv backup --storage "$ST" --db "$DB"
expect_rc 0 "backup of $DB"
ID=$(head -1 "$T/out")
oracle_snapshot "$DB" "$T/s0"
triggers "$DB" >"$T/trig0"
[ "$(grep -c . "$T/trig0")" = 3 ] || fail "expected 3 user triggers: $(cat "$T/trig0")"

# after the backup: rows of a and b change, sequences move on
qdb "$DB" >/dev/null <<'EOF'
INSERT INTO a (v, n) SELECT 'late' || i, i FROM generate_series(1, 10) AS i;
UPDATE a SET v = 'changed' WHERE id <= 5;
DELETE FROM a WHERE id BETWEEN 20 AND 29;
UPDATE b SET v = 'b changed' WHERE id % 2 = 0;
DELETE FROM b WHERE id > 25;
INSERT INTO ident (v) VALUES ('late');
SELECT nextval('free_seq') FROM generate_series(1, 5);
EOF
oracle_snapshot "$DB" "$T/s1"
same_rows "$T/s0" "$T/s1" public.a && fail "the changes did not change a"
same_rows "$T/s0" "$T/s1" public.b && fail "the changes did not change b"
[ "$(seqline "$T/s0" public.a_id_seq)" != "$(seqline "$T/s1" public.a_id_seq)" ] || fail "a's sequence did not move"

# ---------------------------------------------------------------- --table public.a
echo "== --table public.a"
pv restore --storage "$ST" "$ID" --table public.a
expect_rc 0 "restore --table public.a"
oracle_snapshot "$DB" "$T/s2"
same_rows "$T/s0" "$T/s2" public.a || { diff "$(copyfile "$T/s0" public.a)" "$(copyfile "$T/s2" public.a)" | head >&2; fail "a differs from the backup's a"; }
for t in public.b public.c public.ident; do
	same_rows "$T/s1" "$T/s2" "$t" || fail "$t changed although only a was restored"
done
same_rows "$T/s1" "$T/s2" public.audit || { diff "$(copyfile "$T/s1" public.audit)" "$(copyfile "$T/s2" public.audit)" | head >&2; fail "the audit trigger on a fired during the --table restore"; }
[ "$(seqline "$T/s2" public.a_id_seq)" = "$(seqline "$T/s0" public.a_id_seq)" ] ||
	fail "a's sequence is '$(seqline "$T/s2" public.a_id_seq)', backup had '$(seqline "$T/s0" public.a_id_seq)'"
for s in public.free_seq public.audit_id_seq public.ident_id_seq; do
	[ "$(seqline "$T/s2" $s)" = "$(seqline "$T/s1" $s)" ] || fail "sequence $s changed although only a was restored"
done
cmp -s "$T/s1/schema.sql" "$T/s2/schema.sql" || { diff "$T/s1/schema.sql" "$T/s2/schema.sql" >&2; fail "the schema changed"; }
triggers "$DB" >"$T/trig2"
diff "$T/trig0" "$T/trig2" >&2 || fail "trigger states changed"
grep -qx 'a.a_audit=O' "$T/trig2" || fail "a_audit is not enabled (O) after the restore"
grep -qx 'a.a_off=D' "$T/trig2" || fail "the disabled trigger a_off was enabled by the restore"
# the trigger works again, the sequence continues after the backup's value
na=$(qdb "$DB" -c "SELECT count(*) FROM audit")
nid=$(qdb "$DB" -c "INSERT INTO a (v, n) VALUES ('after', 1) RETURNING id, n")
[ "$nid" = "51|1001" ] || fail "insert after the restore gave id|n '$nid', expected 51|1001"
last=$(qdb "$DB" -c "SELECT count(*) || ' ' || max(id) FILTER (WHERE what = 'INSERT 51') FROM audit")
[ "${last% *}" = $((na + 1)) ] || fail "a_audit does not fire after the restore"
qdb "$DB" -c "DELETE FROM a WHERE id = 51; DELETE FROM audit WHERE id = ${last#* }"

# unqualified unique name works too; b back to the backup as well
pv restore --storage "$ST" "$ID" --table b
expect_rc 0 "restore --table b (unqualified)"
oracle_snapshot "$DB" "$T/s3"
same_rows "$T/s0" "$T/s3" public.b || fail "--table b did not restore b"

# ---------------------------------------------------------------- errors
echo "== errors"
oracle_snapshot "$DB" "$T/s4"
pv restore --storage "$ST" "$ID" --table public.nope
expect_rc 1 "--table of a table that is not in the bundle"
expect_err "public.nope"
pv restore --storage "$ST" "$ID" --table public.a --table nope2
expect_rc 1 "--table a --table nope2"
expect_err "nope2"
qdb "$DB" -c "ALTER TABLE c RENAME TO c_renamed"
pv restore --storage "$ST" "$ID" --table public.a --table public.c
expect_rc 1 "--table of a table that the database no longer has"
expect_err '"c"'
qdb "$DB" -c "ALTER TABLE c_renamed RENAME TO c"
oracle_snapshot "$DB" "$T/s5"
oracle_diff "$T/s4" "$T/s5" || fail "a refused --table restore changed the database"
pv restore --storage "$ST" "$ID" --table public.a --as "$NODB"
expect_rc 1 "--table into a database that does not exist"
expect_err "$NODB"
! db_exists "$NODB" || fail "--table created the database $NODB"

# ---------------------------------------------------------------- --data-only
echo "== --data-only into the emptied database"
qdb "$DB" -c "TRUNCATE a, b, c, ident, audit"
pv restore --storage "$ST" "$ID" --data-only
expect_rc 0 "restore --data-only"
oracle_snapshot "$DB" "$T/s6"
for t in public.a public.b public.c public.ident public.audit; do
	same_rows "$T/s0" "$T/s6" "$t" || fail "--data-only: rows of $t differ from the backup"
done
diff "$T/s0/data/index" "$T/s6/data/index" >&2 || fail "--data-only: relations differ"
triggers "$DB" >"$T/trig6"
diff "$T/trig0" "$T/trig6" >&2 || fail "trigger states changed by --data-only"
cmp -s "$T/s0/schema.sql" "$T/s6/schema.sql" || { diff "$T/s0/schema.sql" "$T/s6/schema.sql" >&2; fail "--data-only changed the schema"; }
# (sequences: checked last, see the end of the file)

# ---------------------------------------------------------------- --schema-only
echo "== --schema-only --as $SO"
pv restore --storage "$ST" "$ID" --schema-only --as "$SO"
expect_rc 0 "restore --schema-only"
oracle_schema "$DB" "$T/schema-src.sql"
oracle_schema "$SO" "$T/schema-so.sql"
diff "$T/schema-src.sql" "$T/schema-so.sql" >&2 || fail "--schema-only: schema differs"
nonempty=$(qdb "$SO" <<'EOF'
SELECT string_agg(t, ', ') FROM (
	SELECT 'a' AS t FROM a HAVING count(*) > 0 UNION ALL SELECT 'b' FROM b HAVING count(*) > 0
	UNION ALL SELECT 'c' FROM c HAVING count(*) > 0 UNION ALL SELECT 'ident' FROM ident HAVING count(*) > 0
	UNION ALL SELECT 'audit' FROM audit HAVING count(*) > 0) s;
EOF
)
[ -z "$nonempty" ] || fail "--schema-only: tables with rows: $nonempty"
for s in a_id_seq free_seq ident_id_seq audit_id_seq; do
	[ "$(qdb "$SO" -c "SELECT is_called FROM $s")" = f ] || fail "--schema-only set the value of sequence $s"
done
triggers "$SO" >"$T/trig-so"
diff "$T/trig0" "$T/trig-so" >&2 || fail "--schema-only: trigger states differ"

# ---------------------------------------------------------------- foreign keys
echo "== foreign keys"
createdb_q "$FK"
qdb "$FK" >/dev/null <<'EOF'
CREATE TABLE a (id int PRIMARY KEY, v text);
CREATE TABLE b (id int PRIMARY KEY, a_id int NOT NULL REFERENCES a, v text);
CREATE TABLE c (k int);
INSERT INTO a SELECT i, 'a' || i FROM generate_series(1, 20) AS i;
INSERT INTO b SELECT i, 1 + i % 20, 'b' || i FROM generate_series(1, 40) AS i;
INSERT INTO c VALUES (1);
EOF
pv backup --storage "$ST" --db "$FK"
expect_rc 0 "backup of $FK"
FID=$(head -1 "$T/out")
oracle_snapshot "$FK" "$T/f0"
qdb "$FK" >/dev/null <<'EOF'
INSERT INTO a VALUES (21, 'new parent');
INSERT INTO b VALUES (41, 21, 'child of the new parent');
UPDATE a SET v = 'changed' WHERE id < 5;
UPDATE c SET k = 2;
EOF
oracle_snapshot "$FK" "$T/f1"
pv restore --storage "$ST" "$FID" --table a
expect_rc 1 "--table a while b references a"
expect_err "reference them by foreign key"
expect_err "b"
oracle_snapshot "$FK" "$T/f2"
oracle_diff "$T/f1" "$T/f2" || fail "the refused --table a changed the database"

pv restore --storage "$ST" "$FID" --table a --table b
expect_rc 0 "--table a --table b"
oracle_snapshot "$FK" "$T/f3"
same_rows "$T/f0" "$T/f3" public.a || fail "--table a --table b: a differs from the backup"
same_rows "$T/f0" "$T/f3" public.b || fail "--table a --table b: b differs from the backup"
same_rows "$T/f1" "$T/f3" public.c || fail "--table a --table b changed c"
cmp -s "$T/f1/schema.sql" "$T/f3/schema.sql" || fail "--table a --table b changed the schema"

# only the referencing table: allowed (nothing outside references b)
qdb "$FK" -c "DELETE FROM b WHERE id > 30"
pv restore --storage "$ST" "$FID" --table public.b
expect_rc 0 "--table b alone"
oracle_snapshot "$FK" "$T/f4"
same_rows "$T/f0" "$T/f4" public.b || fail "--table b did not restore b"

# ---------------------------------------------------------------- harder cases (last)
# Each of these is checked independently; the failures are collected and reported together.
LATE_FAIL=()
late_fail() { echo "FAIL (collected): $*" >&2; LATE_FAIL+=("$*"); }
late_rc() { # WANT WHAT: like expect_rc, collected
	if [ "$rc" != "$1" ]; then sed 's/^/    /' "$T/err" >&2; late_fail "$2: exit code $rc, expected $1"; return 1; fi
}

# Trigger modes survive a --table restore: ENABLE ALWAYS stays 'A', ENABLE REPLICA stays 'R'
# (re-enabling them with a plain ENABLE TRIGGER would make a replica-only trigger fire in
# ordinary sessions from then on).
echo "== --table: trigger modes"
qdb "$FK" >/dev/null <<'EOF'
CREATE TABLE modes (id int PRIMARY KEY, n int);
CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.n := NEW.n + 1; RETURN NEW; END $$;
CREATE TRIGGER m_always BEFORE INSERT ON modes FOR EACH ROW EXECUTE FUNCTION bump();
CREATE TRIGGER m_replica BEFORE INSERT ON modes FOR EACH ROW EXECUTE FUNCTION bump();
CREATE TRIGGER m_origin BEFORE INSERT ON modes FOR EACH ROW EXECUTE FUNCTION bump();
ALTER TABLE modes ENABLE ALWAYS TRIGGER m_always;
ALTER TABLE modes ENABLE REPLICA TRIGGER m_replica;
INSERT INTO modes VALUES (1, 0), (2, 10);
EOF
pv backup --storage "$ST" --db "$FK"
expect_rc 0 "backup of $FK with trigger modes"
MID=$(head -1 "$T/out")
triggers "$FK" >"$T/modes0"
qdb "$FK" -c "DELETE FROM modes WHERE id = 2"
pv restore --storage "$ST" "$MID" --table public.modes
if late_rc 0 "--table modes"; then
	triggers "$FK" >"$T/modes1"
	diff "$T/modes0" "$T/modes1" >&2 || late_fail "--table changed trigger modes (ALWAYS/REPLICA triggers)"
	[ "$(qdb "$FK" -c "SELECT string_agg(n::text, ',' ORDER BY id) FROM modes")" = "2,12" ] ||
		late_fail "--table modes: rows differ (a trigger fired during the restore?)"
fi

# A referencing table whose rows come before its parent's in the bundle, and a
# self-referencing table split into several data members whose early rows point at later
# ones: the selected tables are loaded in one transaction and must come out whole, as a full
# restore would (foreign keys are checked against the complete selection).
echo "== --table: child before parent, self-reference across data members"
qdb "$FK" >/dev/null <<'EOF'
CREATE TABLE child0 (id int PRIMARY KEY, p int NOT NULL, v text);
CREATE TABLE parent9 (id int PRIMARY KEY, v text);
INSERT INTO parent9 SELECT i, 'p' || i FROM generate_series(1, 100) AS i;
INSERT INTO child0 SELECT i, 1 + i % 100, 'c' || i FROM generate_series(1, 300) AS i;
ALTER TABLE child0 ADD FOREIGN KEY (p) REFERENCES parent9;
CREATE TABLE tree (id int PRIMARY KEY, parent int, pad text);
-- physical order = insertion order: the early rows point at the late ones
INSERT INTO tree SELECT i, CASE WHEN i <= 1000 THEN 2001 - i END, repeat('x', 200)
	FROM generate_series(1, 2000) AS i;
ALTER TABLE tree ADD FOREIGN KEY (parent) REFERENCES tree;
EOF
PGVAULT_CHUNK_BYTES=65536 pv backup --storage "$ST" --db "$FK"
expect_rc 0 "another backup of $FK"
FID2=$(head -1 "$T/out")
[ "$(tar tf "$(bundle_file "$ST" "$FID2")" | grep -c '^data/')" -ge 8 ] || fail "tree was not split into several data members"
oracle_snapshot "$FK" "$T/f5"
qdb "$FK" -c "DELETE FROM child0 WHERE id > 250; DELETE FROM tree WHERE id <= 10"
oracle_snapshot "$FK" "$T/f5b"
pv restore --storage "$ST" "$FID2" --table public.child0 --table public.parent9
if late_rc 0 "--table child0 --table parent9 (the child's rows first in the bundle)"; then
	oracle_snapshot "$FK" "$T/f6"
	same_rows "$T/f5" "$T/f6" public.child0 || late_fail "child0 not restored"
else
	oracle_snapshot "$FK" "$T/f6"
	oracle_diff "$T/f5b" "$T/f6" || late_fail "the failed --table restore changed the database"
fi
pv restore --storage "$ST" "$FID2" --table public.tree
if late_rc 0 "--table tree (self-referencing, several data members)"; then
	oracle_snapshot "$FK" "$T/f7"
	same_rows "$T/f5" "$T/f7" public.tree || late_fail "tree not restored"
else
	oracle_snapshot "$FK" "$T/f7"
	same_rows "$T/f5b" "$T/f7" public.tree || late_fail "the failed --table tree changed tree"
fi

# --data-only of a database whose foreign keys do not follow the order of the tables' rows in
# the bundle (child0 was created before parent9): emptied, then refilled completely.
echo "== --data-only with foreign keys"
qdb "$FK" -c "TRUNCATE a, b, c, child0, parent9, tree, modes"
pv restore --storage "$ST" "$FID2" --data-only
if late_rc 0 "--data-only into the emptied $FK"; then
	oracle_snapshot "$FK" "$T/f8"
	oracle_diff "$T/f5" "$T/f8" || late_fail "--data-only into the emptied $FK differs from the backup"
else
	[ "$(qdb "$FK" -c "SELECT count(*) FROM a")" = 0 ] || late_fail "the failed --data-only left rows behind"
fi

# A data-only restore into an emptied database gives back every sequence's value too,
# including sequences no table owns (they are data, as in the data section of any dump).
echo "== --data-only: sequence values"
diff "$T/s0/data/sequences" "$T/s6/data/sequences" >&2 ||
	late_fail "--data-only: sequence values differ from the backup"

if [ ${#LATE_FAIL[@]} -gt 0 ]; then
	printf 'FAIL: %s\n' "${LATE_FAIL[@]}" >&2
	exit 1
fi
echo "all good"
