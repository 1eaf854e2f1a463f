# tests/lib/oracle.sh — the fidelity oracle of the integration tests, and small helpers.
# Sourced after tests/lib/common.sh.  pg_dump and psql are test oracles only: pgvault itself
# never runs them.
#
#   oracle_schema DB OUTFILE     pg_dump --schema-only of DB, plus database-level properties
#   oracle_data DB OUTDIR        every user table's rows (COPY, sorted bytewise), the
#                                populated materialized views' rows, the sequences' state
#   oracle_snapshot DB DIR       both of the above into DIR/schema.sql and DIR/data/
#   oracle_diff DIR1 DIR2        compare two snapshots; prints the differences, returns 1
#   oracle_compare SRCDB DSTDB   snapshot both databases and oracle_diff them
#
# Client encoding: UTF8, or $ORACLE_ENCODING (SQL_ASCII for a SQL_ASCII database's bytes).
# Database names are passed as data (any characters): never interpolated into a shell or SQL
# string without quoting.  Helpers: oracle_conninfo, oracle_fsdb, id_matches, bundle_file,
# qdb, db_exists, load_fixture, no_bundle_leftovers.

ORACLE_RESTRICT_KEY=pgvaulttest

_oracle_bin() { # tool name -> path (the cluster's own version when known)
	if [ -n "${PGBIN:-}" ] && [ -x "$PGBIN/$1" ]; then echo "$PGBIN/$1"; else echo "$1"; fi
}

# A libpq conninfo string selecting database $1: dbname='...' with \ and ' escaped.
oracle_conninfo() {
	local v="$1"
	v="${v//\\/\\\\}"
	v="${v//\'/\\\'}"
	printf "dbname='%s'" "$v"
}

# Python helpers: fsdb(name) is the storage directory name pgvault uses for a database (every
# byte outside [A-Za-z0-9._-], and a leading '.', as %XX); norm(s) upper-cases %xx escapes so
# either hex case is accepted.
_ORACLE_PY='
import os, re, sys, json
def fsdb(name):
    b = name.encode("utf-8", "surrogateescape")
    ok = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
    return "".join(chr(c) if c in ok and not (i == 0 and c == 0x2E) else "%%%02X" % c
                   for i, c in enumerate(b))
def norm(s):
    return re.sub(r"%[0-9a-fA-F]{2}", lambda m: m.group(0).upper(), s)
def id_re(name, tag=None):
    t = "(_" + re.escape(tag) + ")" if tag else ""
    return re.compile("^" + re.escape(fsdb(name)) + r"_[0-9]{8}T[0-9]{6}Z(-[0-9]+)?" + t + r"(-[0-9]+)?$")
def truthy(v):
    return v is True or (isinstance(v, str) and v.lower() in ("true", "yes", "ok", "verified"))
'

# oracle_fsdb NAME: the storage directory name of database NAME (upper-case hex).
oracle_fsdb() {
	python3 -c "$_ORACLE_PY"'
print(fsdb(sys.argv[1]))' "$1"
}

# id_matches ID DBNAME [TAG]: status 0 when ID has the documented form
# <fsdb>_<YYYYMMDDTHHMMSSZ>[_TAG] (a -N collision suffix allowed).
id_matches() {
	python3 -c "$_ORACLE_PY"'
i, name = sys.argv[1], sys.argv[2]
tag = sys.argv[3] if len(sys.argv) > 3 else None
sys.exit(0 if id_re(name, tag).match(norm(i)) else 1)' "$@"
}

# bundle_file STORAGE ID: prints the path of the one file ID.pgv under STORAGE.
bundle_file() {
	local found n
	found=$(find "$1" -type f -name "$2.pgv" 2>/dev/null || true)
	n=$(printf '%s' "$found" | grep -c . || true)
	if [ "$n" != 1 ]; then
		echo "expected one file $2.pgv under $1, found $n:" >&2; find "$1" >&2 2>/dev/null || true
		return 1
	fi
	printf '%s\n' "$found"
}

# psql (quiet, strict, unaligned) connected to database $1 (any name); more psql args follow.
qdb() {
	local db="$1"; shift
	PGCLIENTENCODING="${ORACLE_ENCODING:-UTF8}" psql -X -q -v ON_ERROR_STOP=1 -At -d "$(oracle_conninfo "$db")" "$@"
}

# db_exists NAME: status 0 when the database exists.
db_exists() {
	local n
	n=$(printf '%s\n' "SELECT count(*) FROM pg_catalog.pg_database WHERE datname = :'dbn';" |
		PGCLIENTENCODING="${ORACLE_ENCODING:-UTF8}" psql -X -q -v ON_ERROR_STOP=1 -At -d postgres -v dbn="$1") || return 2
	[ "$n" = 1 ]
}

# load_fixture DB FILE...: run SQL files (autocommit, stop at the first error) in DB.
load_fixture() {
	local db="$1" f; shift
	for f in "$@"; do
		qdb "$db" -f "$f" >/dev/null || { echo "oracle: loading $f into $db failed" >&2; return 1; }
	done
}

# no_bundle_leftovers DIR: status 1 (listing them) when DIR holds any bundle, temporary file or
# sidecar.  A missing DIR counts as clean.
no_bundle_leftovers() {
	local left
	[ -e "$1" ] || return 0
	left=$(find "$1" -type f \( -name '*.pgv' -o -name '*.tmp*' -o -name '*.json' \) 2>/dev/null)
	if [ -n "$left" ]; then
		echo "leftover files under $1:" >&2; printf '%s\n' "$left" >&2
		return 1
	fi
}

# oracle_schema DB OUTFILE
oracle_schema() {
	local db="$1" out="$2" rk=() pgdump
	pgdump=$(_oracle_bin pg_dump)
	if "$pgdump" --help 2>/dev/null | grep -q -- '--restrict-key'; then
		rk=(--restrict-key="$ORACLE_RESTRICT_KEY")
	fi
	{
		PGCLIENTENCODING="${ORACLE_ENCODING:-UTF8}" "$pgdump" --schema-only --no-sync "${rk[@]}" \
			--dbname="$(oracle_conninfo "$db")" || exit 1
		# Database-level properties: pg_dump prints them only with --create (which would also
		# print the database's name, which a restore under --as changes).
		echo "-- oracle: database properties"
		qdb "$db" <<-'EOF' || exit 1
			SELECT pg_catalog.unnest(ARRAY[
			       'owner: ' || pg_catalog.pg_get_userbyid(d.datdba),
			       'encoding: ' || pg_catalog.pg_encoding_to_char(d.encoding),
			       'collate: ' || d.datcollate, 'ctype: ' || d.datctype,
			       'locale provider: ' || coalesce(pg_catalog.to_jsonb(d) ->> 'datlocprovider', '(n/a)'),
			       -- the provider's locale: daticulocale (15, 16), datlocale (17+, also builtin)
			       'provider locale: ' || coalesce(pg_catalog.to_jsonb(d) ->> 'daticulocale',
			                                       pg_catalog.to_jsonb(d) ->> 'datlocale', '(none)'),
			       'connection limit: ' || d.datconnlimit,
			       'acl: ' || coalesce(d.datacl::text, '(default)'),
			       'comment: ' || coalesce(pg_catalog.shobj_description(d.oid, 'pg_database'), '(none)')])
			FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database();
			SELECT 'setting: ' || CASE WHEN s.setrole = 0 THEN '(all roles)'
			                           ELSE pg_catalog.pg_get_userbyid(s.setrole)::text END
			       || ' ' || pg_catalog.array_to_string(s.setconfig, ' ')
			FROM pg_catalog.pg_db_role_setting s
			JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
			WHERE d.datname = pg_catalog.current_database()
			ORDER BY 1;
		EOF
	} | sed -e '/^\\restrict /d' -e '/^\\unrestrict /d' >"$out"
	local st=("${PIPESTATUS[@]}")
	[ "${st[0]}" = 0 ] || { echo "oracle: pg_dump of $db failed" >&2; return 1; }
}

# oracle_data DB OUTDIR
# OUTDIR/index lists "md5 kind name" per relation (name as quote_ident would write it);
# OUTDIR/<md5>.copy holds its rows (COPY text format, sorted bytewise); OUTDIR/sequences the
# state of every sequence; OUTDIR/matviews whether each materialized view is populated.
oracle_data() {
	local db="$1" out="$2" f
	mkdir -p "$out" || return 1
	# The script that dumps every relation is written by the server itself (quote_ident via
	# format %I), so no name ever passes through the shell.  Read-only: creates nothing in DB.
	qdb "$db" >"$out/script.sql" <<-'EOF' || { echo "oracle: listing relations of $db failed" >&2; return 1; }
		WITH rels AS (
			SELECT c.oid, c.relkind::text AS relkind, c.relispopulated,
			       pg_catalog.format('%I.%I', n.nspname, c.relname) AS qname
			FROM pg_catalog.pg_class c
			JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			WHERE (c.relkind IN ('r', 'm', 'S') OR (c.relkind = 'p' AND EXISTS (
			         SELECT 1 FROM pg_catalog.pg_partitioned_table pt
			         JOIN pg_catalog.pg_opclass oc ON oc.oid = ANY (pt.partclass::pg_catalog.oid[])
			         WHERE pt.partrelid = c.oid AND pt.partstrat = 'h' AND oc.opcname = 'enum_ops')))
			  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
			  -- rows under a hash partitioning of an enum are routed again on restore
			  -- (the hash of an enum depends on its OIDs): compared through the root only
			  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_partition_ancestors(c.oid) a(relid)
			                  JOIN pg_catalog.pg_partitioned_table pt ON pt.partrelid = a.relid
			                  JOIN pg_catalog.pg_opclass oc ON oc.oid = ANY (pt.partclass::pg_catalog.oid[])
			                  WHERE c.relkind = 'r' AND pt.partstrat = 'h' AND oc.opcname = 'enum_ops')
			  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
			  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
			                  WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
			                    AND d.objid = c.oid AND d.deptype = 'e')
		)
		SELECT line FROM (
			SELECT 0 AS grp, '' AS k,
			       E'SET datestyle = ISO, YMD;\nSET intervalstyle = postgres;\n'
			       || E'SET extra_float_digits = 3;\nSET timezone = ''UTC'';\nSET bytea_output = hex;\n'
			       || pg_catalog.format(E'SET client_encoding = %L;\n\\o index',
			                            pg_catalog.current_setting('client_encoding')) AS line
			UNION ALL
			SELECT 1, md5(qname), pg_catalog.format('SELECT %L;', md5(qname) || ' ' || relkind || ' '
			       || replace(replace(qname, E'\n', '\n'), E'\t', '\t'))
			FROM rels
			UNION ALL
			SELECT 2, '', E'\\o matviews'
			UNION ALL
			SELECT 3, md5(qname), pg_catalog.format('SELECT %L;', qname || ' populated=' || relispopulated)
			FROM rels WHERE relkind = 'm'
			UNION ALL
			SELECT 4, '', E'\\o sequences'
			UNION ALL
			SELECT 5, md5(qname), pg_catalog.format('SELECT %L, last_value, is_called FROM %s;', qname, qname)
			FROM rels WHERE relkind = 'S'
			UNION ALL
			SELECT 6, md5(qname),
			       pg_catalog.format(E'\\o %s.copy\nCOPY (SELECT * FROM ONLY %s) TO STDOUT;', md5(qname), qname)
			FROM rels WHERE relkind = 'r' OR (relkind = 'm' AND relispopulated)
			UNION ALL
			SELECT 6, md5(qname),
			       pg_catalog.format(E'\\o %s.copy\nCOPY (SELECT * FROM %s) TO STDOUT;', md5(qname), qname)
			FROM rels WHERE relkind = 'p'
			UNION ALL
			SELECT 7, '', E'\\o'
		) AS script
		ORDER BY grp, k COLLATE "C";
	EOF
	(cd "$out" && touch index matviews sequences && qdb "$db" -f script.sql) ||
		{ echo "oracle: dumping the rows of $db failed" >&2; return 1; }
	rm -f "$out/script.sql"
	for f in "$out"/*.copy "$out/index" "$out/matviews" "$out/sequences"; do
		[ -e "$f" ] || continue
		LC_ALL=C sort -o "$f" "$f" || return 1
	done
}

# oracle_snapshot DB DIR: DIR/schema.sql and DIR/data/
oracle_snapshot() {
	mkdir -p "$2" || return 1
	oracle_schema "$1" "$2/schema.sql" && oracle_data "$1" "$2/data"
}

# oracle_diff DIR1 DIR2: prints the differences (bounded), status 1 when there are any.
oracle_diff() {
	local a="$1" b="$2" bad=0 f name
	if ! cmp -s "$a/schema.sql" "$b/schema.sql"; then
		echo "oracle: schemas differ (< $a, > $b):"
		diff -u "$a/schema.sql" "$b/schema.sql" | head -c 20000; echo
		bad=1
	fi
	for f in index matviews sequences; do
		if ! cmp -s "$a/data/$f" "$b/data/$f"; then
			echo "oracle: $f differs:"
			diff -u "$a/data/$f" "$b/data/$f" | head -c 20000; echo
			bad=1
		fi
	done
	for f in "$a"/data/*.copy "$b"/data/*.copy; do
		[ -e "$f" ] || continue
		local base; base=$(basename "$f")
		cmp -s "$a/data/$base" "$b/data/$base" 2>/dev/null && continue
		case " ${_oracle_seen:-} " in *" $base "*) continue ;; esac
		_oracle_seen="${_oracle_seen:-} $base"
		name=$(grep -h "^${base%.copy} " "$a/data/index" "$b/data/index" | head -1)
		echo "oracle: rows differ for ${name#* } ($base):"
		if [ -e "$a/data/$base" ] && [ -e "$b/data/$base" ]; then
			cmp "$a/data/$base" "$b/data/$base" 2>&1 | head -1 | sed 's/^/  /'
			diff "$a/data/$base" "$b/data/$base" | cut -c1-300 | head -40
		else
			echo "  (present on one side only)"
		fi
		bad=1
	done
	_oracle_seen=
	return "$bad"
}

# oracle_compare SRCDB DSTDB: status 0 when schema, rows and sequences are identical.
oracle_compare() {
	local dir
	dir=$(mktemp -d "${T:-${TMPDIR:-/tmp}}/oracle.XXXXXX") || return 2
	oracle_snapshot "$1" "$dir/src" || { echo "oracle: cannot read database $1" >&2; return 2; }
	oracle_snapshot "$2" "$dir/dst" || { echo "oracle: cannot read database $2" >&2; return 2; }
	if oracle_diff "$dir/src" "$dir/dst"; then
		rm -rf "$dir"
		return 0
	fi
	echo "oracle: $1 and $2 differ (snapshots kept in $dir)"
	return 1
}
