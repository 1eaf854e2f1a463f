#!/usr/bin/env bash
# tests/t/19-pg17-domain-locale.sh — PostgreSQL 17: a domain's NOT NULL is a named
# pg_constraint row (default-named or not, with a comment) and backs up; a database and a
# collation of the builtin locale provider (datlocprovider / collprovider 'b') restore with
# that provider and locale, and an ICU database keeps its locale (datlocale on 17+).  A
# partitioned table's identity column (17+) reaches its partitions by ATTACH, one sequence.
# Skipped before 17: run the suite against a 17 or 18 server (PV_EXTERNAL_SERVER).
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
skip_unless_version 170000 "domain NOT NULL constraints and the builtin locale provider"

db='pg17 "builtin"'; copy='pg17 copy'; icu='pg17 icu'; icucopy='pg17 icu copy'
trap 'for d in "$db" "$copy" "$icu" "$icucopy"; do dropdb_q "$d"; done' EXIT
for d in "$db" "$copy" "$icu" "$icucopy"; do dropdb_q "$d"; done
qdb postgres -v dbn="$db" <<'SQL'
CREATE DATABASE :"dbn" TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER builtin BUILTIN_LOCALE 'C.UTF-8' LOCALE 'C';
SQL
qdb "$db" <<'SQL'
CREATE SCHEMA d17;
CREATE DOMAIN d17.plain_nn AS integer NOT NULL;
CREATE DOMAIN d17.named_nn AS text CONSTRAINT "must be set" NOT NULL DEFAULT 'x' CHECK (VALUE <> '');
COMMENT ON CONSTRAINT "must be set" ON DOMAIN d17.named_nn IS 'named domain NOT NULL';
CREATE COLLATION d17.b_utf8 (provider = builtin, locale = 'C.UTF-8');
CREATE TABLE d17.t (a d17.plain_nn, b d17.named_nn, c text COLLATE d17.b_utf8);
INSERT INTO d17.t VALUES (1, 'one', 'É'), (2, 'two', 'é');
CREATE TABLE d17.pi (f1 date NOT NULL, f2 text, f3 bigint GENERATED ALWAYS AS IDENTITY) PARTITION BY RANGE (f1);
CREATE TABLE d17.pi_1 PARTITION OF d17.pi FOR VALUES FROM ('2016-07-01') TO ('2016-08-01');
CREATE TABLE d17.pi_2 (f3 bigint NOT NULL, f2 text, f1 date NOT NULL);
ALTER TABLE d17.pi ATTACH PARTITION d17.pi_2 FOR VALUES FROM ('2016-08-01') TO ('2016-09-01');
INSERT INTO d17.pi (f1, f2) VALUES ('2016-07-02', 'one'), ('2016-08-02', 'two');
SQL

facts() {
	qdb "$1" <<-'SQL'
	SELECT 'database', datlocprovider, datlocale, datcollate, datctype FROM pg_database
	  WHERE datname = current_database();
	SELECT 'collation', collname, collprovider, colllocale FROM pg_collation
	  WHERE collnamespace = 'd17'::regnamespace;
	SELECT 'constraint', contypid::regtype::text, conname, contype, pg_get_constraintdef(oid),
	       coalesce(obj_description(oid, 'pg_constraint'), '-')
	  FROM pg_constraint WHERE connamespace = 'd17'::regnamespace AND contypid <> 0
	  ORDER BY contypid::regtype::text COLLATE "C", conname COLLATE "C";
	SELECT 'upper', c, upper(c) FROM d17.t ORDER BY a;
	SELECT 'identity', attrelid::regclass, attidentity, attnotnull FROM pg_attribute
	  WHERE attname = 'f3' AND attrelid::regclass::text LIKE 'd17.pi%' ORDER BY 2::text;
	SELECT 'sequences', count(*) FROM pg_class WHERE relkind = 'S' AND relnamespace = 'd17'::regnamespace;
	SQL
}

pv backup --storage "$T/st" --db "$db"
expect_rc 0 "backup of a database with domain NOT NULL constraints"
id=$(head -1 "$T/out")
pv restore --storage "$T/st" "$id" --as "$copy"
expect_rc 0 "restore"
oracle_compare "$db" "$copy" || fail "restored database differs"
facts "$db" >"$T/facts.src"; facts "$copy" >"$T/facts.copy"
diff -u "$T/facts.src" "$T/facts.copy" || fail "locale provider, collation or domain constraints differ"
for want in 'database|b|C.UTF-8|C|C' 'collation|b_utf8|b|C.UTF-8' \
	'constraint|d17.plain_nn|plain_nn_not_null|n|NOT NULL|-' \
	'constraint|d17.named_nn|must be set|n|NOT NULL|named domain NOT NULL'; do
	grep -qxF -- "$want" "$T/facts.copy" || { cat "$T/facts.copy" >&2; fail "restored copy lacks: $want"; }
done

grep -qxF 'identity|d17.pi_2|a|t' "$T/facts.copy" || fail "a partition lost its identity column"
qdb "$copy" -c "INSERT INTO d17.pi (f1, f2) VALUES ('2016-08-03', 'three')" >/dev/null || fail "insert after restore"
[ "$(qdb "$copy" -tA -c "SELECT f3 FROM d17.pi WHERE f2 = 'three'")" = 3 ] || fail "identity sequence not continued"

# ICU: the locale is in datlocale from 17 on
if qdb postgres -v dbn="$icu" >/dev/null 2>&1 <<'SQL'
CREATE DATABASE :"dbn" TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'und-u-ks-level2' LOCALE 'C.UTF-8';
SQL
then
	pv backup --storage "$T/st" --db "$icu"
	expect_rc 0 "backup of an ICU database"
	id=$(head -1 "$T/out")
	pv restore --storage "$T/st" "$id" --as "$icucopy"
	expect_rc 0 "restore of an ICU database"
	got=$(qdb "$icucopy" -c "SELECT datlocprovider::text || ' ' || datlocale FROM pg_database WHERE datname = current_database()")
	[ "$got" = "i und-u-ks-level2" ] || fail "ICU database restored as '$got'"
else
	echo "(this server has no ICU: ICU database not tried)"
fi
echo "all good"
