#!/usr/bin/env bash
# contrib/check-regression.sh — `make check-regression`: PostgreSQL's own regression database
# (../shared/tools/regression-db.sh, nearly every object kind) backed up with pgvault and
# restored into a fresh database, against pg_dump -Fc | pg_restore of the same database:
#   - schema: pg_dump --schema-only of source and copy, split into pg_dump's TOC entries;
#     every entry missing, extra or different is a residual (listed for both tools);
#   - data: sorted COPY of every table (tests/lib/oracle.sh), sequences, matview state;
#   - large objects: oid, owner, md5 of the contents;
#   - determinism: the bundle restored twice gives the same pg_dump --schema-only.
# Fails when pgvault's residual list is longer than pg_dump's, when any table's rows differ
# or when the two restores differ.  PGVERSION=17 or 18 (`make check-regression PGVERSION=18`):
# that version's server and regression suite inside its debootstrap tree (tests/lib/trees.sh,
# tests/lib/regress-tree.sh: the suite comes from that version's Debian source package).  Slow (the regression suite runs first, a few minutes);
# not part of `make check`.  Usage: contrib/check-regression.sh [WORKDIR]
# (REGRESS_WORK=DIR reuses regression-db.sh's cache of sources and regress.so.)
set -uo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$(cd "${TOP_BUILDDIR:-$SRC}" && pwd)"
export TOP_SRCDIR="$SRC" PGVAULT="${PGVAULT:-$BUILD/pgvault}"
REGDB="$SRC/../shared/tools/regression-db.sh"
[ -x "$PGVAULT" ] || { echo "no pgvault binary at $PGVAULT (build first)" >&2; exit 2; }
[ -f "$REGDB" ] || { echo "missing $REGDB" >&2; exit 2; }
W="${1:-${TMPDIR:-/tmp}/pgvault-regression${PGVERSION:+-$PGVERSION}}"
mkdir -p "$W" && chmod 755 "$W"
. "$SRC/tests/lib/pg.sh"
export T="$W/t"; rm -rf "$T"; mkdir -p "$T"
. "$SRC/tests/lib/common.sh"
. "$SRC/tests/lib/oracle.sh"
HOSTVER=$(basename "$(dirname "$PGBIN")")
PGVERSION="${PGVERSION:-$HOSTVER}"
if [ "$PGVERSION" = "$HOSTVER" ]; then
	trap 'pg_stop "$W/pg"' EXIT
	rm -rf "$W/pg"
	pg_start "$W/pg" || exit 2
	echo "PostgreSQL $(q -d postgres -c 'SHOW server_version') on port $PGPORT"
	echo "== building the regression database (a few minutes)"
	PGUSER=postgres bash "$REGDB" "${REGRESS_WORK:-$W/regress}" regression >"$W/regression-db.log" 2>&1 ||
		{ tail -20 "$W/regression-db.log"; echo "regression-db.sh failed" >&2; exit 2; }
else
	# another version: its server, pg_dump and regression suite inside its debootstrap tree
	. "$SRC/tests/lib/trees.sh"
	. "$SRC/tests/lib/regress-tree.sh"
	case "$PGVERSION" in 17) suite=trixie ;; 18) suite=sid ;;
		*) echo "check-regression: PostgreSQL $PGVERSION: no Debian tree has it (17: trixie, 18: sid)" >&2; exit 2 ;; esac
	TREE=$(tree_ensure "$suite" "$PGVERSION") || exit 2
	TDIR=
	trap 'tree_pg_stop "$TREE" "$PGVERSION" "$TDIR"' EXIT
	port=$(pg_free_port) || exit 2
	tree_pg_start "$TREE" "$PGVERSION" "$port" TDIR || exit 2
	export PGHOST=127.0.0.1 PGPORT="$port" PGUSER=postgres PGDATABASE=postgres PGBIN="$W/bin$PGVERSION"
	tree_bin_dir "$TREE" "$PGVERSION" "$PGBIN"
	q -d postgres -c "ALTER SYSTEM SET jit = off" -c "SELECT pg_reload_conf()" >/dev/null
	echo "PostgreSQL $(q -d postgres -c 'SHOW server_version') in $TREE on port $PGPORT"
	echo "== building the regression database of $PGVERSION in the tree (the first time: tools and sources)"
	regress_tree_prepare "$TREE" "$PGVERSION" "$suite" || exit 2
	regress_tree_run "$TREE" "$PGVERSION" "$PGPORT" regression || exit 2
fi
lo_state() { q -d "$1" -c "SELECT oid, pg_get_userbyid(lomowner), lomacl, md5(lo_get(oid)),
	obj_description(oid, 'pg_largeobject') FROM pg_largeobject_metadata ORDER BY oid"; }

echo "== pgvault backup"
st="$W/store"; rm -rf "$st"
rc=0   # (common.sh set errexit: a failing backup must still be reported)
/usr/bin/time -f "%e s, %M KiB peak" -o "$W/backup.time" "$PGVAULT" backup --storage "$st" --db regression ${ALLOW_UNSUPPORTED:+--allow-unsupported} \
	>"$W/backup.out" 2>"$W/backup.err" || rc=$?
if [ "$rc" != 0 ]; then
	grep -v ': warning: ' "$W/backup.err" | cut -c1-2000
	echo "pgvault backup failed (exit $rc)" >&2; exit 1
fi
id=$(head -1 "$W/backup.out")
echo "   $id: $(cat "$W/backup.time"); warnings: $(grep -ci warn "$W/backup.err" || true)"; { grep -i warn "$W/backup.err" || true; } | sed "s/^/   /" | head -20

restore() { # id db
	dropdb_q "$2" >/dev/null 2>&1
	"$PGVAULT" restore --storage "$st" "$1" --as "$2" >"$W/restore-$2.out" 2>&1 ||
		{ tail -20 "$W/restore-$2.out"; echo "pgvault restore into $2 failed" >&2; exit 1; }
}
echo "== pgvault restore (twice)"
restore "$id" regression_pv
restore "$id" regression_pv2

echo "== pg_dump -Fc | pg_restore"
pgbin=$(dirname "$(_oracle_bin pg_dump)")
dropdb_q regression_pd >/dev/null 2>&1; createdb_q regression_pd
"$pgbin/pg_dump" -Fc -d regression >"$W/regression.dump" || { echo "pg_dump failed" >&2; exit 1; }
"$pgbin/pg_restore" -d "$(oracle_conninfo regression_pd)" <"$W/regression.dump" >"$W/pg_restore.log" 2>&1
echo "   pg_restore: $(grep -c '^pg_restore: error' "$W/pg_restore.log") error(s)"

echo "== comparing"
rm -f "$W"/*/data.stale-matviews
oracle_snapshot regression "$W/src" || exit 2
oracle_snapshot regression_pv "$W/pv" || exit 2
oracle_snapshot regression_pd "$W/pd" || exit 2
oracle_schema regression_pv2 "$W/pv2.sql" || exit 2
residuals() { # a.sql b.sql -> one line per differing pg_dump TOC entry
	python3 - "$1" "$2" <<-'PY'
	import re, sys
	def entries(path):
	    text = open(path, encoding="utf-8", errors="replace").read()
	    dump = text.split("-- oracle: database properties", 1)[0]
	    parts = re.split(r"\n--\n-- (?=(?:Data for )?Name: )", dump)
	    out = {}
	    for p in parts[1:]:
	        head, _, body = p.partition("\n")
	        head = re.sub(r"; Tablespace: .*", "", head)
	        body = "\n".join(l for l in body.split("\n") if not l.startswith("--"))
	        out.setdefault(head, []).append(body.strip())
	    tail = text.split("-- oracle: database properties", 1)
	    out["(database properties)"] = [tail[1] if len(tail) > 1 else ""]
	    return out
	a, b = entries(sys.argv[1]), entries(sys.argv[2])
	for k in sorted(set(a) | set(b)):
	    if k not in b: print("missing:", k)
	    elif k not in a: print("extra:  ", k)
	    elif sorted(a[k]) != sorted(b[k]): print("differs:", k)
	PY
}
# A materialized view is not data: its rows are what its query returned at the last
# REFRESH.  One that is stale in the source (its query now returns other rows) comes back
# recomputed by the restore's REFRESH, by pg_restore and pgvault alike: such a difference
# is explained when the copy's rows are exactly what the source's query returns now.
mv_now() { # qname -> the rows the matview's query returns now in the source, sorted
	local def
	def=$(qdb regression -c "SELECT pg_catalog.rtrim(pg_catalog.pg_get_viewdef('$1'::pg_catalog.regclass), E'; \n')") || return 1
	printf 'SET datestyle = ISO, YMD;\nSET intervalstyle = postgres;\nSET extra_float_digits = 3;\nSET timezone = %s;\nSET bytea_output = hex;\nCOPY (%s) TO STDOUT;\n' "'UTC'" "$def" |
		qdb regression -f - | LC_ALL=C sort
}
data_diffs() { # dir1 dir2 -> differing data files, by relation name
	local a="$1" b="$2" f base line
	for f in index sequences; do cmp -s "$a/$f" "$b/$f" || echo "data: $f differs"; done
	cmp -s "$a/matviews" "$b/matviews" || echo "data: populated state of materialized views differs"
	for f in $( (cd "$a" && ls ./*.copy 2>/dev/null; cd "$b" && ls ./*.copy 2>/dev/null) | sort -u); do
		base=$(basename "$f")
		cmp -s "$a/$base" "$b/$base" 2>/dev/null && continue
		line=$(grep -h "^${base%.copy} " "$a/index" "$b/index" | head -1)
		if [ "$(echo "$line" | cut -d' ' -f2)" = m ] && [ -f "$b/$base" ] &&
			cmp -s <(mv_now "$(echo "$line" | cut -d' ' -f3-)") "$b/$base"; then
			echo "$(echo "$line" | cut -d' ' -f3-)" >>"$b.stale-matviews"
			continue
		fi
		echo "data: rows of $(echo "$line" | cut -d' ' -f3-)"
	done
}
residuals "$W/src/schema.sql" "$W/pv/schema.sql" >"$W/residuals-pgvault.txt"
residuals "$W/src/schema.sql" "$W/pd/schema.sql" >"$W/residuals-pg_dump.txt"
data_diffs "$W/src/data" "$W/pv/data" >"$W/data-pgvault.txt"
data_diffs "$W/src/data" "$W/pd/data" >"$W/data-pg_dump.txt"
diff <(lo_state regression) <(lo_state regression_pv) >"$W/lo-pgvault.txt"

npv=$(wc -l <"$W/residuals-pgvault.txt"); npd=$(wc -l <"$W/residuals-pg_dump.txt")
dpv=$(wc -l <"$W/data-pgvault.txt"); dpd=$(wc -l <"$W/data-pg_dump.txt")
entries=$(grep -c '^-- \(Data for \)\?Name: ' "$W/src/schema.sql")
tables=$(wc -l <"$W/src/data/index")
los=$(lo_state regression | wc -l)
echo "schema: $entries pg_dump entries; residuals: pgvault $npv, pg_dump $npd"
echo "--- pgvault residuals:"; sed 's/^/    /' "$W/residuals-pgvault.txt"
echo "--- pg_dump residuals:"; sed 's/^/    /' "$W/residuals-pg_dump.txt"
echo "data: $tables relations; differing: pgvault $dpv, pg_dump $dpd"
sed 's/^/    pgvault /' "$W/data-pgvault.txt"; sed 's/^/    pg_dump /' "$W/data-pg_dump.txt"
for t in pv pd; do
	[ -s "$W/$t/data.stale-matviews" ] || continue
	echo "    explained ($t): materialized view stale in the source, recomputed by the restore's REFRESH" \
		"(rows = its query's rows now): $(tr '\n' ' ' <"$W/$t/data.stale-matviews")"
done
echo "large objects: $los; differing lines (pgvault): $(grep -c '^[<>]' "$W/lo-pgvault.txt")"
bad=0
if cmp -s "$W/pv/schema.sql" "$W/pv2.sql"; then echo "determinism: two restores give the same schema dump"
else echo "determinism: FAILED (diff $W/pv/schema.sql $W/pv2.sql)"; bad=1; fi
[ "$npv" -le "$npd" ] || { echo "FAILED: pgvault has more schema residuals than pg_dump"; bad=1; }
[ "$dpv" = 0 ] || { echo "FAILED: rows differ"; bad=1; }
[ -s "$W/lo-pgvault.txt" ] && { echo "FAILED: large objects differ"; bad=1; }
echo "details in $W"
[ "$bad" = 0 ] && echo "check-regression: passed" || echo "check-regression: FAILED"
exit "$bad"
