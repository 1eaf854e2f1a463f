/*
 * pg/cat_types.c — base types (with their shell types), range types (and their multirange
 * names) and standalone shell types; warnings about search_path-dependent functions used by
 * CHECK constraints, defaults and index expressions.
 *
 * A base type and its I/O functions form a loop (the functions take or return the type, the
 * type names the functions); so does a range type and its canonical function.  As pg_dump
 * does, a shell type (`CREATE TYPE s.t;`, a K_SHELL_TYPE object without a catalog identity)
 * comes first, the functions follow the shell instead of the type (pvc_types_fix_deps, run
 * after the pg_depend edges are in), and the full CREATE TYPE follows the functions.
 * Everything a type creates implicitly (array types, the multirange type and its array,
 * range and multirange constructors, the range-to-multirange cast) is an alias of the type.
 */
#include "pg/catalog_int.h"

#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"

/* The common part of every type object here: owner, comment target, ACL target, array. */
static pv_obj *
add_type(reader *rd, pv_kind kind, PGresult *r, int i, char **qname)
{
	/* columns: 0 oid, 1 schema, 2 name, 3 owner, 4 typarray */
	*qname = pv_qualify(rd->c, pvc_val(r, i, 1), pvc_val(r, i, 2));
	pv_obj *o = pv_graph_add(rd->cat->g, kind, PV_PRE, C_PG_TYPE, pvc_oid(r, i, 0),
	                         pvc_val(r, i, 1), pvc_val(r, i, 2));
	pvc_owner(rd, o, pvc_val(r, i, 3), "TYPE", *qname);
	o->acl_target = pv_asprintf("TYPE %s", *qname);
	pvc_target(rd, C_PG_TYPE, o->oid, "TYPE", *qname);
	if (pvc_oid(r, i, 4))
		pv_graph_alias(rd->cat->g, C_PG_TYPE, pvc_oid(r, i, 4), o);
	return o;
}

/* The shell that precedes t's functions: no identity of its own (classid 0); its oid is
 * t's, for pvc_types_fix_deps. */
static void
add_shell(reader *rd, pv_obj *t, const char *qname)
{
	pv_obj *s = pv_graph_add(rd->cat->g, K_SHELL_TYPE, PV_PRE, 0, 0, t->schema, t->name);
	s->oid = t->oid;
	s->sql = pv_asprintf("CREATE TYPE %s;", qname);
}

/* ",\n    KEY = value" for a regproc column that is not NULL */
static void
opt_proc(pv_buf *b, const char *key, const char *val)
{
	if (val)
		pv_buf_printf(b, ",\n    %s = %s", key, val);
}

static int
read_base_types(reader *rd, pv_buf *ids)
{
	if (pvc_none(rd, CEN_TYPE_BASE)) /* the census: none */
		return 0;
	char *sql = pv_asprintf(
	    "SELECT t.oid, n.nspname, t.typname, pg_catalog.pg_get_userbyid(t.typowner), t.typarray,"
	    " t.typinput::pg_catalog.regproc, t.typoutput::pg_catalog.regproc,"
	    " NULLIF(t.typreceive::pg_catalog.regproc::pg_catalog.text, '-'),"
	    " NULLIF(t.typsend::pg_catalog.regproc::pg_catalog.text, '-'),"
	    " NULLIF(t.typmodin::pg_catalog.regproc::pg_catalog.text, '-'),"
	    " NULLIF(t.typmodout::pg_catalog.regproc::pg_catalog.text, '-'),"
	    " NULLIF(t.typanalyze::pg_catalog.regproc::pg_catalog.text, '-'),"
	    " %s,"
	    " t.typlen, t.typbyval, t.typalign, t.typstorage, t.typcategory, t.typispreferred,"
	    " t.typdelim, CASE WHEN t.typelem <> 0 THEN pg_catalog.format_type(t.typelem, NULL) END,"
	    " t.typcollation <> 0, t.typdefault, pg_catalog.pg_get_expr(t.typdefaultbin, 0)"
	    " FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
	    " WHERE t.oid >= 16384 AND t.typtype = 'b' AND" NOT_EXT("pg_type", "t")
	    " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)"
	    " ORDER BY t.oid",
	    rd->v >= 140000 ? "NULLIF(t.typsubscript::pg_catalog.regproc::pg_catalog.text, '-')"
	                    : "NULL::pg_catalog.text");
	PGresult *r = pvc_query(rd, sql, NULL);
	free(sql);
	if (!r)
		return pv_wrap("reading base types");
	for (int i = 0; i < PQntuples(r); i++) {
		char *q;
		pv_obj *o = add_type(rd, K_TYPE, r, i, &q);
		pvc_oids_add(ids, o->oid);
		add_shell(rd, o, q);

		pv_buf b = PV_BUF_INIT;
		int len = atoi(pvc_val(r, i, 13));
		pv_buf_printf(&b, "CREATE TYPE %s (\n    INTERNALLENGTH = ", q);
		if (len == -1)
			pv_buf_puts(&b, "variable");
		else
			pv_buf_printf(&b, "%d", len);
		opt_proc(&b, "INPUT", pvc_val(r, i, 5));
		opt_proc(&b, "OUTPUT", pvc_val(r, i, 6));
		opt_proc(&b, "RECEIVE", pvc_val(r, i, 7));
		opt_proc(&b, "SEND", pvc_val(r, i, 8));
		opt_proc(&b, "TYPMOD_IN", pvc_val(r, i, 9));
		opt_proc(&b, "TYPMOD_OUT", pvc_val(r, i, 10));
		opt_proc(&b, "ANALYZE", pvc_val(r, i, 11));
		opt_proc(&b, "SUBSCRIPT", pvc_val(r, i, 12));
		if (pvc_bool(r, i, 21))
			pv_buf_puts(&b, ",\n    COLLATABLE = true");
		if (pvc_val(r, i, 23)) {
			pv_buf_printf(&b, ",\n    DEFAULT = %s", pvc_val(r, i, 23));
		} else if (pvc_val(r, i, 22)) {
			pv_buf_puts(&b, ",\n    DEFAULT = ");
			pv_buf_literal(&b, rd->c, pvc_val(r, i, 22));
		}
		if (pvc_val(r, i, 20))
			pv_buf_printf(&b, ",\n    ELEMENT = %s", pvc_val(r, i, 20));
		if (strcmp(pvc_val(r, i, 17), "U") != 0) {
			pv_buf_puts(&b, ",\n    CATEGORY = ");
			pv_buf_literal(&b, rd->c, pvc_val(r, i, 17));
		}
		if (pvc_bool(r, i, 18))
			pv_buf_puts(&b, ",\n    PREFERRED = true");
		if (strcmp(pvc_val(r, i, 19), ",") != 0) {
			pv_buf_puts(&b, ",\n    DELIMITER = ");
			pv_buf_literal(&b, rd->c, pvc_val(r, i, 19));
		}
		/* alignment and storage always, as pg_dump (their defaults are the server's) */
		const char *align;
		switch (pvc_val(r, i, 15)[0]) {
		case 'c': align = "char"; break;
		case 's': align = "int2"; break;
		case 'd': align = "double"; break;
		default: align = "int4"; break;
		}
		const char *storage;
		switch (pvc_val(r, i, 16)[0]) {
		case 'e': storage = "external"; break;
		case 'x': storage = "extended"; break;
		case 'm': storage = "main"; break;
		default: storage = "plain"; break;
		}
		pv_buf_printf(&b, ",\n    ALIGNMENT = %s,\n    STORAGE = %s", align, storage);
		if (pvc_bool(r, i, 14))
			pv_buf_puts(&b, ",\n    PASSEDBYVALUE");
		pv_buf_puts(&b, "\n);");
		o->sql = pv_buf_detach(&b);
		free(q);
	}
	PQclear(r);
	return 0;
}

static int
read_range_types(reader *rd, pv_buf *ids)
{
	if (pvc_none(rd, CEN_TYPE_RANGE)) /* the census: none */
		return 0;
	int v14 = rd->v >= 140000;
	char *sql = pv_asprintf(
	    "SELECT t.oid, n.nspname, t.typname, pg_catalog.pg_get_userbyid(t.typowner), t.typarray,"
	    " pg_catalog.format_type(rg.rngsubtype, NULL), opn.nspname, opc.opcname, opc.opcdefault,"
	    " cn.nspname, co.collname,"
	    " NULLIF(rg.rngcanonical::pg_catalog.regproc::pg_catalog.text, '-'),"
	    " NULLIF(rg.rngsubdiff::pg_catalog.regproc::pg_catalog.text, '-'),"
	    " %s, %s, %s"
	    " FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
	    " JOIN pg_catalog.pg_range rg ON rg.rngtypid = t.oid"
	    " JOIN pg_catalog.pg_type st ON st.oid = rg.rngsubtype"
	    " JOIN pg_catalog.pg_opclass opc ON opc.oid = rg.rngsubopc"
	    " JOIN pg_catalog.pg_namespace opn ON opn.oid = opc.opcnamespace"
	    " LEFT JOIN pg_catalog.pg_collation co ON co.oid = rg.rngcollation AND rg.rngcollation <> st.typcollation"
	    " LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace"
	    " WHERE t.oid >= 16384 AND t.typtype = 'r' AND" NOT_EXT("pg_type", "t")
	    " ORDER BY t.oid",
	    v14 ? "pg_catalog.format_type(rg.rngmultitypid, NULL)" : "NULL::pg_catalog.text",
	    v14 ? "rg.rngmultitypid" : "0::pg_catalog.oid",
	    v14 ? "(SELECT m.typarray FROM pg_catalog.pg_type m WHERE m.oid = rg.rngmultitypid)"
	        : "0::pg_catalog.oid");
	PGresult *r = pvc_query(rd, sql, NULL);
	free(sql);
	if (!r)
		return pv_wrap("reading range types");
	for (int i = 0; i < PQntuples(r); i++) {
		char *q;
		pv_obj *o = add_type(rd, K_TYPE, r, i, &q);
		pvc_oids_add(ids, o->oid);
		pv_oid multi = pvc_oid(r, i, 14);
		if (multi) {
			pv_graph_alias(rd->cat->g, C_PG_TYPE, multi, o);
			pv_graph_alias(rd->cat->g, C_PG_TYPE, pvc_oid(r, i, 15), o);
			pvc_oids_add(ids, multi);
		}
		if (pvc_val(r, i, 11))
			add_shell(rd, o, q);

		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE TYPE %s AS RANGE (\n    subtype = %s", q, pvc_val(r, i, 5));
		if (pvc_val(r, i, 13))
			pv_buf_printf(&b, ",\n    multirange_type_name = %s", pvc_val(r, i, 13));
		if (!pvc_bool(r, i, 8)) {
			pv_buf_puts(&b, ",\n    subtype_opclass = ");
			pv_buf_ident(&b, rd->c, pvc_val(r, i, 6));
			pv_buf_putc(&b, '.');
			pv_buf_ident(&b, rd->c, pvc_val(r, i, 7));
		}
		if (pvc_val(r, i, 9) && pvc_val(r, i, 10)) {
			pv_buf_puts(&b, ",\n    collation = ");
			pv_buf_ident(&b, rd->c, pvc_val(r, i, 9));
			pv_buf_putc(&b, '.');
			pv_buf_ident(&b, rd->c, pvc_val(r, i, 10));
		}
		opt_proc(&b, "canonical", pvc_val(r, i, 11));
		opt_proc(&b, "subtype_diff", pvc_val(r, i, 12));
		pv_buf_puts(&b, "\n);");
		o->sql = pv_buf_detach(&b);
		free(q);
	}
	PQclear(r);
	return 0;
}

/* Shell types nobody completed: CREATE TYPE s.t; (they cannot have grants). */
static int
read_shell_types(reader *rd)
{
	if (pvc_none(rd, CEN_TYPE_SHELL)) /* the census: none */
		return 0;
	PGresult *r = pvc_query(rd,
	    "SELECT t.oid, n.nspname, t.typname, pg_catalog.pg_get_userbyid(t.typowner), t.typarray"
	    " FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
	    " WHERE t.oid >= 16384 AND t.typtype = 'p' AND NOT t.typisdefined AND" NOT_EXT("pg_type", "t")
	    " ORDER BY t.oid", NULL);
	if (!r)
		return pv_wrap("reading shell types");
	for (int i = 0; i < PQntuples(r); i++) {
		char *q;
		pv_obj *o = add_type(rd, K_TYPE, r, i, &q);
		o->sql = pv_asprintf("CREATE TYPE %s;", q);
		free(q);
	}
	PQclear(r);
	return 0;
}

/* Everything created implicitly with the types in ids (internal dependencies: array types,
 * multirange types, constructors, the range-to-multirange cast) stands for its type. */
static int
alias_internal(reader *rd, pv_buf *ids)
{
	if (!ids->len) /* no base or range type */
		return 0;
	PGresult *r = pvc_query(rd,
	    "SELECT d.classid, d.objid, d.refobjid FROM pg_catalog.pg_depend d"
	    " WHERE d.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass"
	    " AND d.refobjid = ANY ($1::pg_catalog.oid[]) AND d.deptype = 'i'"
	    " ORDER BY d.refobjid, d.classid, d.objid", pvc_oids(ids));
	if (!r)
		return pv_wrap("reading objects created with base and range types");
	for (int i = 0; i < PQntuples(r); i++) {
		pv_obj *t = pv_graph_lookup(rd->cat->g, C_PG_TYPE, pvc_oid(r, i, 2));
		pv_oid cls = pvc_oid(r, i, 0), oid = pvc_oid(r, i, 1);
		if (t && !pv_graph_lookup(rd->cat->g, cls, oid))
			pv_graph_alias(rd->cat->g, cls, oid, t);
	}
	PQclear(r);
	return 0;
}

int
pvc_read_types_extra(reader *rd)
{
	pv_buf ids = PV_BUF_INIT;
	int rc = -1;
	if (read_base_types(rd, &ids) == 0 && read_range_types(rd, &ids) == 0 &&
	    read_shell_types(rd) == 0 && alias_internal(rd, &ids) == 0)
		rc = 0;
	pv_buf_free(&ids);
	return rc;
}

/* The functions a base or range type names (I/O, canonical) and that take or return it
 * follow its shell type, not the type: that breaks the loop, as pg_dump's repair does. */
void
pvc_types_fix_deps(reader *rd)
{
	pv_graph *g = rd->cat->g;
	int n = pv_graph_count(g);
	for (int i = 0; i < n; i++) {
		pv_obj *s = pv_graph_get(g, i);
		if (s->kind != K_SHELL_TYPE || s->classid || !s->oid)
			continue;
		pv_obj *t = pv_graph_lookup(g, C_PG_TYPE, s->oid);
		if (!t)
			continue;
		for (int j = 0; j < t->ndeps; j++) {
			pv_obj *f = pv_graph_get(g, t->deps[j]);
			if (f->kind != K_FUNCTION)
				continue;
			int on_shell = 0;
			for (int k = 0; k < f->ndeps; k++)
				on_shell |= f->deps[k] == s->id;
			for (int k = 0; k < f->ndeps; k++) {
				if (f->deps[k] != t->id)
					continue;
				if (on_shell) { /* already there: drop the edge to the type */
					f->deps[k--] = f->deps[--f->ndeps];
				} else {
					f->deps[k] = s->id;
					on_shell = 1;
				}
			}
		}
		pv_obj_dep(t, s);
		if (!s->dump || !t->dump)
			s->dump = t->dump = 0;
	}
}

/* ---- search_path-dependent functions in expressions the restore evaluates ------------ */

/* Functions in LANGUAGE sql or plpgsql, without SET search_path and without a BEGIN ATOMIC
 * body (which is parsed at creation, with its names bound), that something the restore
 * evaluates calls: CHECK constraints (while rows load), defaults and generated columns,
 * index expressions and predicates (while indexes build), materialized view queries (when
 * refreshed) — directly, or through such functions named in the bodies of others.  A body
 * depends on search_path only when it names a user object without its schema: a word of
 * the body (not after a dot; a quoted one as written, others folded to lower case) that is
 * the name of a relation, function or type in a schema other than pg_catalog.  Bodies that
 * call only built-ins or schema-qualified names are left alone.
 *
 * For those functions the bundle header carries restore_search_path (their schemas, then
 * the database's default search_path, each schema once): every restore session uses it
 * instead of an empty one, and the restore gives each such function that search_path
 * (ALTER FUNCTION ... SET search_path) from the end of pre-data until everything is built,
 * then resets it (search_path_functions, engine/restore_schema.c) — PostgreSQL 17 and later build
 * indexes and refresh materialized views with a fixed search_path of their own.  One
 * warning per function, printed by the backup and kept in the bundle header. */

/* the user objects a body names without a schema, and what calls the function */
#define SP_QUERY                                                                                  \
	"WITH RECURSIVE cand AS ("                                                                    \
	"  SELECT p.oid FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang" \
	"  WHERE p.oid >= 16384 AND l.lanname IN ('sql', 'plpgsql') AND %s"                           \
	"  AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proconfig) cfg(s)"                       \
	"    WHERE cfg.s LIKE 'search\\_path=%%') AND" NOT_EXT("pg_proc", "p") "),"                    \
	" words AS ("                                                                                 \
	"  SELECT p.oid AS fn, m[1] IS NOT NULL AS qualified,"                                        \
	"   CASE WHEN pg_catalog.left(m[2], 1) = '\"'"                                                \
	"    THEN pg_catalog.replace(pg_catalog.substr(m[2], 2, pg_catalog.length(m[2]) - 2), '\"\"', '\"')" \
	"    ELSE pg_catalog.translate(m[2], 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') END AS w" \
	"  FROM cand JOIN pg_catalog.pg_proc p ON p.oid = cand.oid,"                                  \
	"   pg_catalog.regexp_matches(p.prosrc, '(\\.\\s*)?(\"(?:[^\"]|\"\")+\"|[[:alpha:]_][[:alnum:]_$]*)', 'g') m)," \
	" usernames AS ("                                                                             \
	"  SELECT c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace" \
	"   WHERE c.relkind IN ('r', 'v', 'm', 'S', 'p', 'f') AND " USERNS                             \
	"  UNION SELECT p.proname FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace" \
	"   WHERE " USERNS                                                                            \
	"  UNION SELECT t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace" \
	"   WHERE " USERNS "),"                                                                        \
	" uses AS ("                                                                                  \
	"  SELECT d.refobjid AS fn, d.classid, d.objid FROM pg_catalog.pg_depend d"                  \
	"  WHERE d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.deptype = 'n'"        \
	"  AND d.refobjid IN (SELECT oid FROM cand)"                                                  \
	"  AND (d.classid IN ('pg_catalog.pg_constraint'::pg_catalog.regclass,"                       \
	"                     'pg_catalog.pg_attrdef'::pg_catalog.regclass)"                          \
	"    OR (d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND"                          \
	"        (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = d.objid) IN ('i', 'I'))"  \
	"    OR (d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND"                        \
	"        (SELECT c.relkind FROM pg_catalog.pg_rewrite rw JOIN pg_catalog.pg_class c ON c.oid = rw.ev_class" \
	"         WHERE rw.oid = d.objid) = 'm'))),"                                                  \
	/* functions reached from a used one through the names in bodies (qualified or not) */      \
	" reach(fn, top) AS (SELECT DISTINCT fn, fn FROM uses"                                        \
	"  UNION SELECT c.oid, r.top FROM reach r JOIN words w ON w.fn = r.fn"                        \
	"   JOIN pg_catalog.pg_proc c ON c.proname = w.w JOIN cand ON cand.oid = c.oid),"              \
	" hits AS (SELECT w.fn, pg_catalog.string_agg(DISTINCT pg_catalog.quote_ident(w.w), ', ') AS names" \
	"  FROM words w WHERE NOT w.qualified AND w.w IN (SELECT name FROM usernames) GROUP BY w.fn)" \
	" SELECT p.oid, p.oid::pg_catalog.regprocedure::pg_catalog.text, l.lanname, pn.nspname, p.proname," \
	"  pg_catalog.pg_get_function_identity_arguments(p.oid), h.names, u.classid, u.objid,"        \
	"  CASE WHEN u.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"                        \
	"   THEN (SELECT pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass, rw.ev_class, 0)" \
	"    FROM pg_catalog.pg_rewrite rw WHERE rw.oid = u.objid)"                                   \
	"   ELSE pg_catalog.pg_describe_object(u.classid, u.objid, 0) END,"                           \
	"  CASE WHEN r.top <> r.fn THEN r.top::pg_catalog.regprocedure::pg_catalog.text END"          \
	" FROM hits h JOIN reach r ON r.fn = h.fn JOIN uses u ON u.fn = r.top"                       \
	" JOIN pg_catalog.pg_proc p ON p.oid = h.fn JOIN pg_catalog.pg_language l ON l.oid = p.prolang" \
	" JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace"                                 \
	" ORDER BY 2, 1, 10, 11"

#define USERNS                                                                                    \
	"n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'"

/* Appends the database's default search_path to schemas, each name once ("$user" as
 * such): the database's own setting, else the server's built-in default (not this
 * session's, which the client may have set).  The setting is a list of identifiers as
 * SET writes it (quoted where needed), split and unquoted here as the server does. */
static int
default_path(reader *rd, json_t *schemas)
{
	PGresult *d = pvc_query(rd,
	    "SELECT CASE WHEN pg_catalog.left(m.e[1], 1) = '\"'"
	    "  THEN pg_catalog.replace(pg_catalog.substr(m.e[1], 2, pg_catalog.length(m.e[1]) - 2), '\"\"', '\"')"
	    "  ELSE pg_catalog.translate(m.e[1], 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') END"
	    " FROM pg_catalog.regexp_matches(COALESCE("
	    "  (SELECT pg_catalog.substr(c.s, 13) FROM pg_catalog.pg_db_role_setting s"
	    "    JOIN pg_catalog.pg_database db ON db.oid = s.setdatabase, pg_catalog.unnest(s.setconfig) c(s)"
	    "    WHERE db.datname = pg_catalog.current_database() AND s.setrole = 0 AND c.s LIKE 'search\\_path=%'),"
	    "  (SELECT boot_val FROM pg_catalog.pg_settings WHERE name = 'search_path')),"
	    "  '\\s*(\"(?:[^\"]|\"\")*\"|[^,\\s]+)\\s*(,|$)', 'g') WITH ORDINALITY m(e, k)"
	    " ORDER BY m.k", NULL);
	if (!d)
		return pv_wrap("reading the default search_path");
	for (int i = 0; i < PQntuples(d); i++) {
		(void)pvj_append_str_unique(schemas, PQgetvalue(d, i, 0)); /* never NULL: cannot fail */
	}
	PQclear(d);
	return 0;
}

/* Functions of extensions (LANGUAGE sql/plpgsql, no SET search_path) that dumped CHECKs,
 * defaults, indexes or materialized views call, e.g. earthdistance's ll_to_earth in a GiST
 * index: not the user's to change, so no warning, but their schemas join the restore's
 * search_path (their bodies resolve the extension's other members through it). */
static int
ext_function_schemas(reader *rd, json_t *schemas)
{
	PGresult *r = pvc_query(rd,
	    "SELECT DISTINCT pn.nspname, d.classid, d.objid FROM pg_catalog.pg_depend d"
	    " JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid"
	    " JOIN pg_catalog.pg_language l ON l.oid = p.prolang"
	    " JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace"
	    " WHERE d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.deptype = 'n'"
	    " AND l.lanname IN ('sql', 'plpgsql')"
	    " AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proconfig) cfg(s)"
	    "   WHERE cfg.s LIKE 'search\\_path=%')"
	    " AND EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass"
	    "   AND e.objid = p.oid AND e.deptype = 'e')"
	    " AND (d.classid IN ('pg_catalog.pg_constraint'::pg_catalog.regclass,"
	    "                    'pg_catalog.pg_attrdef'::pg_catalog.regclass)"
	    "   OR (d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND"
	    "       (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = d.objid) IN ('i', 'I'))"
	    "   OR (d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND"
	    "       (SELECT c.relkind FROM pg_catalog.pg_rewrite rw JOIN pg_catalog.pg_class c ON c.oid = rw.ev_class"
	    "        WHERE rw.oid = d.objid) = 'm'))"
	    " ORDER BY 1", NULL);
	if (!r)
		return pv_wrap("looking for extension functions that resolve names through search_path");
	for (int i = 0; i < PQntuples(r); i++) {
		pv_obj *user = pv_graph_lookup(rd->cat->g, pvc_oid(r, i, 1), pvc_oid(r, i, 2));
		if (!user || !user->dump)
			continue;
		(void)pvj_append_str_unique(schemas, pvc_val(r, i, 0)); /* never NULL: cannot fail */
	}
	PQclear(r);
	return 0;
}

int
pvc_search_path_warnings(reader *rd)
{
	char *sql = pv_asprintf(SP_QUERY, rd->v >= 140000 ? "p.prosqlbody IS NULL" : "true");
	/* no function in sql or plpgsql at all (the census): no candidate */
	PGresult *r = pvc_none(rd, CEN_SQL_FUNC) ? PQmakeEmptyPGresult(rd->c, PGRES_TUPLES_OK)
	                                          : pvc_query(rd, sql, NULL);
	free(sql);
	if (!r)
		return pv_wrap("looking for search_path-dependent functions");
	/* the functions (rows grouped by function) whose users are dumped, and their schemas */
	json_t *schemas = json_array(), *fns = json_array();
	int n = PQntuples(r);
	for (int i = 0; i < n; i++) {
		pv_obj *user = pv_graph_lookup(rd->cat->g, pvc_oid(r, i, 7), pvc_oid(r, i, 8));
		if (!user || !user->dump)
			continue;
		json_t *f = json_array_size(fns) ? json_array_get(fns, json_array_size(fns) - 1) : NULL;
		if (!f || (pv_oid)json_integer_value(json_object_get(f, "oid")) != pvc_oid(r, i, 0)) {
			/* values of the query's rows (never NULL), into new containers: cannot fail */
			f = json_object();
			(void)pvj_set_int(f, "oid", (json_int_t)pvc_oid(r, i, 0));
			(void)pvj_set_str(f, "label", pvc_val(r, i, 1));
			(void)pvj_set_str(f, "language", pvc_val(r, i, 2));
			(void)pvj_set_str(f, "schema", pvc_val(r, i, 3));
			(void)pvj_set_str(f, "name", pvc_val(r, i, 4));
			(void)pvj_set_str(f, "args", pvc_val(r, i, 5));
			(void)pvj_set_str(f, "names", pvc_val(r, i, 6));
			(void)pvj_set(f, "users", json_array());
			(void)pvj_append(fns, f);
		}
		char *u = pvc_val(r, i, 10) ? pv_asprintf("%s (through %s)", pvc_val(r, i, 9), pvc_val(r, i, 10))
		                            : pv_strdup(pvc_val(r, i, 9));
		json_t *users = json_object_get(f, "users");
		(void)pvj_append_str_unique(users, u);
		free(u);
		(void)pvj_append_str_unique(schemas, pvc_val(r, i, 3));
	}
	PQclear(r);
	if (ext_function_schemas(rd, schemas) < 0) {
		json_decref(schemas);
		json_decref(fns);
		return -1;
	}
	if (!json_array_size(fns) && !json_array_size(schemas)) {
		json_decref(schemas);
		json_decref(fns);
		return 0;
	}
	if (default_path(rd, schemas) < 0) {
		json_decref(schemas);
		json_decref(fns);
		return -1;
	}
	/* the path as a search_path setting: each schema name quoted */
	pv_buf b = PV_BUF_INIT;
	size_t k;
	json_t *x;
	json_array_foreach(schemas, k, x) {
		if (k)
			pv_buf_puts(&b, ", ");
		pv_buf_ident(&b, rd->c, json_string_value(x));
	}
	(void)pvj_set_str(rd->cat->db, "restore_search_path", b.data); /* cannot fail */
	(void)pvj_set(rd->cat->db, "restore_search_path_schemas", schemas);
	json_t *list = json_array();
	json_array_foreach(fns, k, x) {
		json_t *fn = json_object();
		(void)pvj_set_copy(fn, "schema", json_object_get(x, "schema"));
		(void)pvj_set_copy(fn, "name", json_object_get(x, "name"));
		(void)pvj_set_copy(fn, "args", json_object_get(x, "args"));
		(void)pvj_append(list, fn);
		pv_buf users = PV_BUF_INIT;
		size_t j;
		json_t *u;
		json_array_foreach(json_object_get(x, "users"), j, u)
			pv_buf_printf(&users, "%s%s", j ? ", " : "", json_string_value(u));
		char *w = pv_asprintf(
		    "function %s (LANGUAGE %s, no SET search_path) names %s without a schema and is used by "
		    "%s: the restore runs with search_path = %s, and gives the function that search_path "
		    "while it builds (ALTER FUNCTION ... SET search_path, reset at the end: PostgreSQL 17 "
		    "and later build indexes and refresh materialized views with a search_path of their "
		    "own); to be independent of it, schema-qualify those names or ALTER FUNCTION ... SET "
		    "search_path",
		    json_string_value(json_object_get(x, "label")), json_string_value(json_object_get(x, "language")),
		    json_string_value(json_object_get(x, "names")), users.data, b.data);
		pv_warn("%s", w);
		(void)pvj_append_str(rd->cat->warnings, w); /* a string into an array: cannot fail */
		free(w);
		pv_buf_free(&users);
	}
	(void)pvj_set(rd->cat->db, "search_path_functions", list);
	json_decref(fns);
	pv_buf_free(&b);
	return 0;
}
