#!/usr/bin/env bash
# tests/t/12-kinds-fdw.sh — the kinds of src/pg/cat_fdw.c survive a backup and restore:
# text search parsers, templates, dictionaries and configurations (with their mappings),
# foreign-data wrappers, servers (options, grants), user mappings, publications (all tables,
# column lists, row filters, tables in schema), event triggers (each enable state) and
# extended statistics (SET STATISTICS), with owners and comments (fixture kinds_fdw.sql).
# Checks: the oracle (pg_dump --schema-only + rows), a per-kind catalog description of the
# copy equal to the source's (with the expected number of objects of each kind in the
# source), event triggers in the bundle's late pass, no event trigger fired during the
# restore (their log table) while the restored ones do fire afterwards, and a --data-only
# restore into the copy (which must not create the event triggers again).
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

db='kinds "fdw" db'; copy='kinds "fdw" copy'
cleanup() {
	dropdb_q "$db" >/dev/null 2>&1 || true
	dropdb_q "$copy" >/dev/null 2>&1 || true
	q -d postgres -c 'DROP ROLE IF EXISTS "pvt fdw ""user""", pvt_fdw_owner' >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
createdb_q "$db"
load_fixture "$db" "$TOP_SRCDIR/tests/fixtures/kinds_fdw.sql"

# One line per object of these kinds, with everything that defines it (no OIDs).
describe() {
	qdb "$1" <<-'EOF'
		SET search_path = '';
		SELECT line FROM (
		SELECT 'parser: ' || concat_ws(' | ', n.nspname, p.prsname, p.prsstart::regproc, p.prstoken::regproc,
		       p.prsend::regproc, p.prslextype::regproc, p.prsheadline::regproc,
		       pg_catalog.obj_description(p.oid, 'pg_ts_parser')) AS line
		FROM pg_catalog.pg_ts_parser p JOIN pg_catalog.pg_namespace n ON n.oid = p.prsnamespace WHERE p.oid >= 16384
		UNION ALL
		SELECT 'template: ' || concat_ws(' | ', n.nspname, t.tmplname, t.tmplinit::regproc, t.tmpllexize::regproc,
		       pg_catalog.obj_description(t.oid, 'pg_ts_template'))
		FROM pg_catalog.pg_ts_template t JOIN pg_catalog.pg_namespace n ON n.oid = t.tmplnamespace WHERE t.oid >= 16384
		UNION ALL
		SELECT 'dictionary: ' || concat_ws(' | ', n.nspname, d.dictname, d.dictowner::regrole, tn.nspname, t.tmplname,
		       d.dictinitoption, pg_catalog.obj_description(d.oid, 'pg_ts_dict'))
		FROM pg_catalog.pg_ts_dict d JOIN pg_catalog.pg_namespace n ON n.oid = d.dictnamespace
		JOIN pg_catalog.pg_ts_template t ON t.oid = d.dicttemplate JOIN pg_catalog.pg_namespace tn ON tn.oid = t.tmplnamespace
		WHERE d.oid >= 16384
		UNION ALL
		SELECT 'configuration: ' || concat_ws(' | ', n.nspname, c.cfgname, c.cfgowner::regrole,
		       (SELECT pn.nspname || '.' || p.prsname FROM pg_catalog.pg_ts_parser p
		        JOIN pg_catalog.pg_namespace pn ON pn.oid = p.prsnamespace WHERE p.oid = c.cfgparser),
		       pg_catalog.obj_description(c.oid, 'pg_ts_config'),
		       (SELECT string_agg(m.maptokentype || ':' || m.mapseqno || ':' || m.mapdict::regdictionary, ', '
		                          ORDER BY m.maptokentype, m.mapseqno)
		        FROM pg_catalog.pg_ts_config_map m WHERE m.mapcfg = c.oid))
		FROM pg_catalog.pg_ts_config c JOIN pg_catalog.pg_namespace n ON n.oid = c.cfgnamespace WHERE c.oid >= 16384
		UNION ALL
		SELECT 'wrapper: ' || concat_ws(' | ', f.fdwname, f.fdwowner::regrole, f.fdwhandler::regproc,
		       f.fdwvalidator::regproc, f.fdwoptions::text, f.fdwacl::text,
		       pg_catalog.obj_description(f.oid, 'pg_foreign_data_wrapper'))
		FROM pg_catalog.pg_foreign_data_wrapper f WHERE f.oid >= 16384
		UNION ALL
		SELECT 'server: ' || concat_ws(' | ', s.srvname, s.srvowner::regrole, f.fdwname, s.srvtype, s.srvversion,
		       s.srvoptions::text, s.srvacl::text, pg_catalog.obj_description(s.oid, 'pg_foreign_server'))
		FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper f ON f.oid = s.srvfdw
		UNION ALL
		SELECT 'user mapping: ' || concat_ws(' | ', u.srvname, u.usename, u.umoptions::text)
		FROM pg_catalog.pg_user_mappings u
		UNION ALL
		SELECT 'publication: ' || concat_ws(' | ', p.pubname, p.pubowner::regrole, p.puballtables, p.pubinsert,
		       p.pubupdate, p.pubdelete, p.pubtruncate, p.pubviaroot, pg_catalog.obj_description(p.oid, 'pg_publication'))
		FROM pg_catalog.pg_publication p
		UNION ALL
		SELECT 'publication table: ' || concat_ws(' | ', p.pubname, r.prrelid::regclass,
		       (SELECT string_agg(a.attname, ', ' ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
		        WHERE a.attrelid = r.prrelid AND a.attnum = ANY (r.prattrs::int2[])),
		       pg_catalog.pg_get_expr(r.prqual, r.prrelid))
		FROM pg_catalog.pg_publication_rel r JOIN pg_catalog.pg_publication p ON p.oid = r.prpubid
		UNION ALL
		SELECT 'publication schema: ' || concat_ws(' | ', p.pubname, s.pnnspid::regnamespace)
		FROM pg_catalog.pg_publication_namespace s JOIN pg_catalog.pg_publication p ON p.oid = s.pnpubid
		UNION ALL
		SELECT 'event trigger: ' || concat_ws(' | ', e.evtname, e.evtevent, e.evtowner::regrole, e.evtfoid::regproc,
		       e.evtenabled, e.evttags::text, pg_catalog.obj_description(e.oid, 'pg_event_trigger'))
		FROM pg_catalog.pg_event_trigger e
		UNION ALL
		SELECT 'statistics: ' || concat_ws(' | ', n.nspname, s.stxname, s.stxowner::regrole, s.stxkind::text,
		       s.stxstattarget, pg_catalog.pg_get_statisticsobjdef(s.oid),
		       pg_catalog.obj_description(s.oid, 'pg_statistic_ext'))
		FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
		) x ORDER BY line COLLATE "C";
	EOF
}

# the source really has what the test is about (a fixture that failed to load fails here)
describe "$db" >"$T/src.txt"
count() { grep -c "^$1: " "$T/src.txt" || true; }
for want in 'parser 2' 'template 2' 'dictionary 3' 'configuration 3' 'wrapper 2' 'server 2' \
            'user mapping 3' 'publication 4' 'publication table 2' 'publication schema 1' \
            'event trigger 4' 'statistics 3'; do
	kind=${want% *}; n=${want##* }
	[ "$(count "$kind")" = "$n" ] || { cat "$T/src.txt" >&2; fail "source has $(count "$kind") ${kind}s, expected $n"; }
done
grep -F 'configuration: ts "Sch" | cfg 1 |' "$T/src.txt" | grep -qF '"ts ""Sch""".snow' ||
	fail "configuration \"cfg 1\" has no mappings in the source"
log_src=$(qdb "$db" -c 'SELECT count(*) FROM public.ddl_log')
[ "$log_src" = 1 ] || fail "source ddl_log has $log_src rows, expected 1"

# ---------------------------------------------------------------- backup
pv backup --storage "$T/st" --db "$db"
expect_rc 0 "backup"
id=$(head -1 "$T/out")
if grep -q unsupported "$T/err"; then cat "$T/err" >&2; fail "backup reported unsupported objects"; fi
pgv=$(bundle_file "$T/st" "$id")
# event triggers are late entries (after the ACL pass), everything of ours is in the bundle
tar xOf "$pgv" post-data.json | python3 -c '
import json, sys
entries = json.load(sys.stdin)
ev = [e for e in entries if e["kind"] == "event trigger"]
assert len(ev) == 4, "%d event trigger entries" % len(ev)
for e in ev:
    assert e.get("late") is True, "event trigger %r is not in the late pass" % e["name"]
    assert e.get("owner") and e.get("owner_target", "").startswith("EVENT TRIGGER "), e
for k, n in (("publication", 4), ("publication table", 2), ("publication schema", 1), ("statistics", 3)):
    got = len([e for e in entries if e["kind"] == k])
    assert got == n, "%d %s entries in post-data, expected %d" % (got, k, n)
' || fail "post-data entries of the bundle are wrong"
tar xOf "$pgv" pre-data.json | python3 -c '
import json, sys
entries = json.load(sys.stdin)
for k, n in (("text search parser", 2), ("text search template", 2), ("text search dictionary", 3),
             ("text search configuration", 3), ("foreign-data wrapper", 2), ("server", 2), ("user mapping", 3)):
    got = len([e for e in entries if e["kind"] == k])
    assert got == n, "%d %s entries in pre-data, expected %d" % (got, k, n)
' || fail "pre-data entries of the bundle are wrong"

# ---------------------------------------------------------------- restore
pv restore --storage "$T/st" "$id" --as "$copy"
expect_rc 0 "restore --as copy"
oracle_compare "$db" "$copy" || fail "restored copy differs from the source"
describe "$copy" >"$T/copy.txt"
diff "$T/src.txt" "$T/copy.txt" >&2 || fail "objects of the copy differ from the source's"

# no event trigger fired during the restore: the log has the source's rows only
log_copy=$(qdb "$copy" -c 'SELECT count(*) FROM public.ddl_log')
[ "$log_copy" = "$log_src" ] || {
	qdb "$copy" -c 'SELECT * FROM public.ddl_log' >&2
	fail "an event trigger fired during the restore: ddl_log has $log_copy rows, source $log_src"
}
# ... while the restored ones work: the ENABLE ALWAYS one logs, the disabled one does not
qdb "$copy" -c 'CREATE TABLE public.probe (x int)'
got=$(qdb "$copy" -c "SELECT string_agg(ev || ':' || tag, ',' ORDER BY n) FROM public.ddl_log WHERE n > 1")
[ "$got" = "ddl_command_end:CREATE TABLE" ] || fail "after the restore, DDL logged '$got' (expected ddl_command_end:CREATE TABLE)"
qdb "$copy" -c 'DROP TABLE public.probe; DELETE FROM public.ddl_log WHERE n > 1'

# ---------------------------------------------------------------- --data-only into the copy
qdb "$copy" -c 'TRUNCATE public.ddl_log, "ts ""Sch""".docs, "stat sch"."T s"'
pv restore --storage "$T/st" "$id" --as "$copy" --data-only
expect_rc 0 "restore --data-only into the copy"
oracle_schema "$db" "$T/schema-src.sql"
oracle_schema "$copy" "$T/schema-copy.sql"
diff "$T/schema-src.sql" "$T/schema-copy.sql" >&2 || fail "--data-only changed the schema of the copy"
for t in 'public.ddl_log' '"ts ""Sch""".docs' '"stat sch"."T s"'; do
	a=$(qdb "$db" -c "SELECT count(*), md5(string_agg(x::text, ',' ORDER BY x::text)) FROM $t x")
	b=$(qdb "$copy" -c "SELECT count(*), md5(string_agg(x::text, ',' ORDER BY x::text)) FROM $t x")
	[ "$a" = "$b" ] || fail "--data-only: rows of $t differ ($a / $b)"
done
echo "all good"
