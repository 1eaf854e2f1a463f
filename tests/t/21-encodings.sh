# Databases in other encodings than UTF8 round-trip identically: LATIN1, WIN1251, EUC_JP and
# SQL_ASCII (the last with bytes that are not UTF-8, e.g. \xff\xfe), with non-ASCII characters
# in schema, table, column, type, enum label, function and view names, function bodies, view
# column names, comments, defaults, CHECKs and rows.  Each database is backed up, verified,
# restored under a new name (one with --jobs 2) and compared with the oracles (pg_dump
# --schema-only and the sorted COPY output of both, in the same client encoding), and the copy
# has the source's encoding.  The bundle's text is UTF-8 (the header says "text_encoding");
# a SQL_ASCII database keeps its bytes, written in JSON as U+0080-U+00FF.
# Before (6ed9233): the dump session read names and bodies in the database encoding, jansson refused
# them and the backup silently lost function and view definitions and comments.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

# encoding -> the objects' SQL in that encoding (python writes the bytes)
make_sql() { # ENCODING OUTFILE
	python3 - "$1" "$2" <<'PY'
import sys
enc, out = sys.argv[1], sys.argv[2]
words = {
    "LATIN1": dict(S="schéma", E="hümör", L1="çà", L2="ñø", T="tàble", COL="côlumn",
                   C="commentaire « é » ©", R="Grüße ©", F="fünc", B="Bodé ß", V="vüe", VC="ïd"),
    # the case of the report: ASCII names, non-ASCII bodies, view columns, comments
    "LATIN1-bodies": dict(S="app", E="mood", L1="çà", L2="ñø", T="items", COL="label",
                          C="commentaire « é »", R="Grüße", F="greet", B="Bodé ß", V="v", VC="ïd"),
    "WIN1251": dict(S="схема", E="настроение", L1="да", L2="нет", T="таблица", COL="столбец",
                    C="комментарий ё", R="Привет мир", F="функция", B="тело Ё", V="вид", VC="ид"),
    "EUC_JP": dict(S="スキーマ", E="気分", L1="はい", L2="いいえ", T="表", COL="列名",
                   C="コメント 日本語", R="こんにちは世界", F="関数", B="本体 漢字", V="ビュー", VC="番号"),
}
py = {"LATIN1": "latin-1", "LATIN1-bodies": "latin-1", "WIN1251": "cp1251", "EUC_JP": "euc_jp"}
if enc == "SQL_ASCII":
    # bytes no encoding describes, next to UTF-8 and LATIN1 ones
    w = dict(S=b"s\xff\xfe", E=b"mood\xe9", L1=b"oui\xff", L2=b"caf\xc3\xa9", T=b"t\xfe\xff",
             COL=b"c\x80\x81", C=b"comment \xff\xfe \xe9", R=b"row \xff\xfe\x80 \xc3\xa9",
             F=b"f\xe9", B=b"body \xff\xfe", V=b"v\xa0", VC=b"i\xd7d")
else:
    w = {k: v.encode(py[enc]) for k, v in words[enc].items()}
sql = b"""
CREATE SCHEMA "{S}";
COMMENT ON SCHEMA "{S}" IS '{C}';
CREATE TYPE "{S}"."{E}" AS ENUM ('{L1}', '{L2}');
COMMENT ON TYPE "{S}"."{E}" IS '{C}';
CREATE TABLE "{S}"."{T}" (id int PRIMARY KEY, "{COL}" text DEFAULT '{R}' CHECK ("{COL}" <> '{B}'),
                          e "{S}"."{E}");
COMMENT ON TABLE "{S}"."{T}" IS '{C}';
COMMENT ON COLUMN "{S}"."{T}"."{COL}" IS '{C}';
INSERT INTO "{S}"."{T}" VALUES (1, '{R}', '{L1}'), (2, '{R} {B}', '{L2}'), (3, DEFAULT, NULL);
CREATE INDEX "{T}_{COL}" ON "{S}"."{T}" ("{COL}");
CREATE FUNCTION "{S}"."{F}"("{COL}" text) RETURNS text LANGUAGE plpgsql
    AS $$ BEGIN RETURN '{B}' || "{COL}"; END $$;
COMMENT ON FUNCTION "{S}"."{F}"(text) IS '{C}';
CREATE VIEW "{S}"."{V}" AS SELECT id AS "{VC}", "{COL}", "{S}"."{F}"("{COL}") AS "{F}", '{B}'::text AS b
    FROM "{S}"."{T}";
COMMENT ON VIEW "{S}"."{V}" IS '{C}';
COMMENT ON COLUMN "{S}"."{V}"."{VC}" IS '{C}';
CREATE TABLE public.plain (x text);
INSERT INTO public.plain VALUES ('{R}'), ('{C}'), ('{B}');
"""
for k, v in w.items():
    sql = sql.replace(b"{" + k.encode() + b"}", v)
open(out, "wb").write(sql)
PY
}

# the header of bundle file $1, as "format text_encoding encoding"
header_of() {
	python3 - "$1" <<'PY'
import json, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    h = json.load(t.extractfile("pgvault.json"))
print(h["format"], h.get("text_encoding"), h["encoding"])
PY
}

for case in LATIN1-bodies LATIN1 WIN1251 EUC_JP SQL_ASCII; do
	enc=${case%-bodies}
	src="enc_src_${case//-/_}"; src=${src,,}; copy="enc_copy_${case//-/_}"; copy=${copy,,}
	dropdb_q "$src"; dropdb_q "$copy"
	q -d postgres -c "CREATE DATABASE $src ENCODING '$enc' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
	make_sql "$case" "$T/$case.sql"
	PGCLIENTENCODING=$enc psql -X -q -v ON_ERROR_STOP=1 -d "$src" -f "$T/$case.sql" >/dev/null ||
		fail "$case: loading the fixture"

	pv backup --storage "$T/st" --db "$src"; expect_rc 0 "$case: backup"
	id=$(cat "$T/out")
	pv verify --storage "$T/st" "$id"; expect_rc 0 "$case: verify"

	jobs=(); [ "$enc" = EUC_JP ] && jobs=(--jobs 2)
	pv restore --storage "$T/st" "$id" --as "$copy" "${jobs[@]}"; expect_rc 0 "$case: restore"
	got=$(q -d postgres -c "SELECT pg_encoding_to_char(encoding) || ' ' || datcollate || ' ' || datctype
	                        FROM pg_database WHERE datname = '$copy'")
	[ "$got" = "$enc C C" ] || fail "$case: the copy has encoding/collate/ctype \"$got\""

	oenc=UTF8; [ "$enc" = SQL_ASCII ] && oenc=SQL_ASCII
	ORACLE_ENCODING=$oenc oracle_compare "$src" "$copy" || fail "$case: the copy differs from the source"
	# what the oracle compares is there at all (the function, the view, the comments)
	n=$(PGCLIENTENCODING=$oenc q -d "$copy" -c "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	                    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')")
	[ "$n" = 1 ] || fail "$case: $n user functions in the copy"
	n=$(PGCLIENTENCODING=$oenc q -d "$copy" -c "SELECT count(*) FROM pg_description WHERE objoid >= 16384")
	[ "$n" = 7 ] || fail "$case: $n comments in the copy, expected 7"
	h=$(header_of "$(bundle_file "$T/st" "$id")")
	if [ "$enc" = SQL_ASCII ]; then want="2 SQL_ASCII SQL_ASCII"; else want="2 UTF8 $enc"; fi
	[ "$h" = "$want" ] || fail "$case: header says \"$h\", expected \"$want\""
	dropdb_q "$src"; dropdb_q "$copy"
done

# A SQL_ASCII bundle stores its bytes as U+0080-U+00FF in valid UTF-8 JSON.
python3 - "$(bundle_file "$T/st" "$id")" <<'PY' || fail "SQL_ASCII: the bundle's JSON does not hold the bytes as U+0080-U+00FF"
import json, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    pre = json.loads(t.extractfile("pre-data.json").read().decode("utf-8"))
assert any(e.get("schema") == "s\u00ff\u00fe" for e in pre), [e.get("schema") for e in pre]
PY
