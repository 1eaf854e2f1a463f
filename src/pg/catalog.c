/*
 * pg/catalog.c — reading one database's catalogs into the object graph (see catalog.h): the
 * database and its roles, what this version cannot reproduce (read_unsupported), comments
 * and the pg_depend edges, and pv_catalog_read, which runs every reader in order.  The
 * readers of each family of kinds are in cat_*.c (catalog_int.h lists them): cat_schema.c
 * schemas, extensions, types, domains, functions; cat_rels.c, cat_relobjs.c, cat_tables.c
 * relations with their columns, constraints, indexes, triggers, policies, rules and views;
 * cat_ops.c, cat_fdw.c, cat_types.c, cat_acl.c the rest.
 */
#include "pg/catalog.h"
#include "pg/catalog_int.h"
#include "pg/cat_rel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "schema/model.h"
#include "schema/inherit_plan.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"

/* ---- database, roles ---------------------------------------------------------------- */

static int
read_database(reader *rd)
{
	const char *locprov = rd->v >= 150000 ? "d.datlocprovider::text" : "'c'";
	const char *iculoc = rd->v >= 170000 ? "d.datlocale"
	                     : rd->v >= 150000 ? "d.daticulocale" : "NULL::text";
	char *sql = pv_asprintf(
	    "SELECT d.datname, pg_catalog.pg_encoding_to_char(d.encoding), d.datcollate, d.datctype,"
	    " pg_catalog.pg_get_userbyid(d.datdba), %s, %s,"
	    " pg_catalog.shobj_description(d.oid, 'pg_database'),"
	    " pg_catalog.current_setting('server_version'),"
	    " pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.now()))::bigint,"
	    " (SELECT pg_catalog.array_to_json(s.setconfig) FROM pg_catalog.pg_db_role_setting s"
	    "   WHERE s.setdatabase = d.oid AND s.setrole = 0),"
	    " pg_catalog.pg_is_in_recovery(), d.datacl IS NOT NULL"
	    " FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()",
	    locprov, iculoc);
	PGresult *r = pvc_query(rd, sql, NULL);
	free(sql);
	if (!r)
		return pv_wrap("reading the database");
	json_t *db = rd->cat->db;
	int bad = 0;
	bad |= pvj_set_str(db, "name", pvc_val(r, 0, 0));
	bad |= pvj_set_str(db, "encoding", pvc_val(r, 0, 1));
	bad |= pvj_set_str(db, "collate", pvc_val(r, 0, 2));
	bad |= pvj_set_str(db, "ctype", pvc_val(r, 0, 3));
	bad |= pvj_set_str(db, "owner", pvc_val(r, 0, 4));
	bad |= pvj_set_str(db, "locale_provider", pvc_val(r, 0, 5));
	/* the provider's own locale: ICU (15+), builtin (17+: datlocprovider 'b') */
	if (pvc_val(r, 0, 6))
		bad |= pvj_set_str(db, pvc_val(r, 0, 5)[0] == 'b' ? "builtin_locale" : "icu_locale",
		                   pvc_val(r, 0, 6));
	if (pvc_val(r, 0, 7))
		bad |= pvj_set_str(db, "comment", pvc_val(r, 0, 7));
	bad |= pvj_set_str(db, "server_version", pvc_val(r, 0, 8));
	bad |= pvj_set_int(db, "server_version_num", rd->v);
	bad |= pvj_set_int(db, "snapshot_epoch", strtoll(pvc_val(r, 0, 9), NULL, 10));
	if (pvc_val(r, 0, 10))
		bad |= pvj_set(db, "settings", pvj_loads_server(pvc_val(r, 0, 10), pv_session_text(rd->c), "settings"));
	bad |= pvj_set_str(db, "source_role", pvc_bool(r, 0, 11) ? "standby" : "primary");
	rd->standby = pvc_bool(r, 0, 11);
	/* privileges once granted or revoked stay explicit even when equal to the default */
	if (pvc_bool(r, 0, 12))
		bad |= pvj_set_bool(db, "acl_explicit", 1);
	pvc_role(rd, pvc_val(r, 0, 4));
	bad |= pvj_set_bool(rd->owners, pvc_val(r, 0, 4), 1);
	PQclear(r);
	if (bad)
		return pv_wrap("reading the database");

	/* ALTER ROLE r IN DATABASE d SET ... */
	r = pvc_query(rd, "SELECT pg_catalog.pg_get_userbyid(s.setrole), pg_catalog.array_to_json(s.setconfig)"
	           " FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase"
	           " WHERE d.datname = pg_catalog.current_database() AND s.setrole <> 0 ORDER BY 1", NULL);
	if (!r)
		return pv_wrap("reading per-role database settings");
	if (PQntuples(r)) {
		json_t *a = json_array();
		for (int i = 0; i < PQntuples(r); i++) {
			json_t *o = json_object();
			bad |= pvj_set_str(o, "role", pvc_val(r, i, 0));
			bad |= pvj_set(o, "settings", pvj_loads_server(pvc_val(r, i, 1), pv_session_text(rd->c), "settings"));
			bad |= pvj_append(a, o);
			pvc_role(rd, pvc_val(r, i, 0));
		}
		bad |= pvj_set(db, "role_settings", a);
	}
	PQclear(r);
	if (bad)
		return pv_wrap("reading per-role database settings");

	/* GRANT/REVOKE on the database itself, as deltas from the default */
	r = pvc_query(rd,
	    "SELECT x.rev, pg_catalog.pg_get_userbyid(x.grantor),"
	    " CASE WHEN x.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(x.grantee) END,"
	    " x.privilege_type, x.is_grantable FROM ("
	    "  SELECT false AS rev, a.* FROM pg_catalog.pg_database d,"
	    "   pg_catalog.aclexplode(COALESCE(d.datacl, pg_catalog.acldefault('d', d.datdba))) WITH ORDINALITY a(grantor, grantee, privilege_type, is_grantable, ord)"
	    "   WHERE d.datname = pg_catalog.current_database() AND (a.grantor, a.grantee, a.privilege_type, a.is_grantable) NOT IN"
	    "   (SELECT * FROM pg_catalog.aclexplode(pg_catalog.acldefault('d', d.datdba)))"
	    "  UNION ALL SELECT true, b.* FROM pg_catalog.pg_database d,"
	    "   pg_catalog.aclexplode(pg_catalog.acldefault('d', d.datdba)) WITH ORDINALITY b(grantor, grantee, privilege_type, is_grantable, ord)"
	    "   WHERE d.datname = pg_catalog.current_database() AND (b.grantor, b.grantee, b.privilege_type, b.is_grantable) NOT IN"
	    "   (SELECT * FROM pg_catalog.aclexplode(COALESCE(d.datacl, pg_catalog.acldefault('d', d.datdba))))"
	    " ) x ORDER BY x.rev DESC, x.ord", NULL);
	if (!r)
		return pv_wrap("reading database privileges");
	if (PQntuples(r)) {
		json_t *a = json_array();
		for (int i = 0; i < PQntuples(r); i++) {
			json_t *o = json_object();
			bad |= pvj_set_bool(o, "revoke", pvc_bool(r, i, 0));
			bad |= pvj_set_str(o, "grantor", pvc_val(r, i, 1));
			bad |= pvj_set_str_or_null(o, "grantee", pvc_val(r, i, 2));
			bad |= pvj_set_str(o, "privs", pvc_val(r, i, 3));
			bad |= pvj_set_bool(o, "grant_option", pvc_bool(r, i, 4));
			bad |= pvj_append(a, o);
			pvc_role(rd, pvc_val(r, i, 1));
			pvc_role(rd, pvc_val(r, i, 2));
		}
		bad |= pvj_set(db, "acl", a);
	}
	PQclear(r);
	return bad ? pv_wrap("reading database privileges") : 0;
}

static int
read_roles(reader *rd)
{
	pv_buf names = PV_BUF_INIT;
	const char *k;
	json_t *v;
	json_object_foreach(rd->cat->roles, k, v)
		pv_buf_array_elem(&names, k);
	pv_buf_puts(&names, names.len ? "}" : "{}");
	PGresult *r = pvc_query(rd,
	    "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,"
	    " rolreplication, rolbypassrls, rolconnlimit FROM pg_catalog.pg_roles"
	    " WHERE rolname = ANY ($1::text[])", names.data);
	pv_buf_free(&names);
	if (!r)
		return pv_wrap("reading roles");
	static const char *flags[] = {NULL, "superuser", "inherit", "createrole", "createdb",
	                              "login", "replication", "bypassrls"};
	int bad = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		json_t *o = json_object();
		for (int f = 1; f <= 7; f++)
			bad |= pvj_set_bool(o, flags[f], pvc_bool(r, i, f));
		bad |= pvj_set_int(o, "connection_limit", atoi(pvc_val(r, i, 8)));
		if (json_object_get(rd->owners, pvc_val(r, i, 0)))
			bad |= pvj_set_bool(o, "owns_objects", 1);
		bad |= pvj_set(rd->cat->roles, pvc_val(r, i, 0), o);
	}
	PQclear(r);
	return bad ? pv_wrap("reading roles") : 0;
}

/* ---- completeness: every user object must be in the graph ------------------------------ */

/*
 * Run after every reader: lists each object of every catalog, and reports as unsupported any
 * that no reader put into the graph (directly or as an alias of the object whose DDL creates
 * it, extension members and their parts included: read_ext_members).  A kind this version
 * does not know therefore never vanishes silently from a backup.  Properties that are not
 * objects of their own (inheritance, tablespaces, ...) are checked by the rows at the end.
 */
static int
read_unsupported(reader *rd)
{
	pv_buf q = PV_BUF_INIT;
	pv_buf_puts(&q,
	    "SELECT kind, descr, classid, objid FROM ("
	    "SELECT CASE c.relkind WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table'"
	    "  WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'"
	    "  WHEN 'c' THEN 'type' WHEN 'i' THEN 'index' WHEN 'I' THEN 'partitioned index'"
	    "  ELSE CASE WHEN c.relispartition THEN 'partition' ELSE 'table' END END AS kind,"
	    "  pg_catalog.pg_describe_object(x.classid, c.oid, 0) AS descr, x.classid, c.oid AS objid"
	    "  FROM pg_catalog.pg_class c, (SELECT 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid AS classid) x"
	    "  WHERE c.oid >= 16384 AND c.relkind <> 't' AND c.relnamespace <> 'pg_toast'::pg_catalog.regnamespace"
	    " UNION ALL SELECT CASE WHEN t.typtype = 'b' THEN 'base type' WHEN t.typtype = 'r' THEN 'range type'"
	    "  WHEN t.typtype = 'p' THEN 'pseudo-type' WHEN NOT t.typisdefined THEN 'shell type' ELSE 'type' END,"
	    "  pg_catalog.pg_describe_object(x.classid, t.oid, 0), x.classid, t.oid"
	    "  FROM pg_catalog.pg_type t, (SELECT 'pg_catalog.pg_type'::pg_catalog.regclass::pg_catalog.oid AS classid) x"
	    "  WHERE t.oid >= 16384 AND t.typtype <> 'm'"
	    "  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)"
	    "  AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')"
	    " UNION ALL SELECT CASE p.prokind WHEN 'a' THEN 'aggregate' WHEN 'p' THEN 'procedure' ELSE 'function' END,"
	    "  pg_catalog.pg_describe_object(x.classid, p.oid, 0), x.classid, p.oid"
	    "  FROM pg_catalog.pg_proc p, (SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass::pg_catalog.oid AS classid) x"
	    "  WHERE p.oid >= 16384"
	    " UNION ALL SELECT 'trigger', pg_catalog.pg_describe_object(x.classid, t.oid, 0), x.classid, t.oid"
	    "  FROM pg_catalog.pg_trigger t, (SELECT 'pg_catalog.pg_trigger'::pg_catalog.regclass::pg_catalog.oid AS classid) x"
	    "  WHERE t.oid >= 16384 AND NOT t.tgisinternal"
	    " UNION ALL SELECT 'large object', 'large object ' || l.oid, x.classid, l.oid"
	    "  FROM pg_catalog.pg_largeobject_metadata l, (SELECT 'pg_catalog.pg_largeobject_metadata'::pg_catalog.regclass::pg_catalog.oid AS classid) x"
	    /* the subscription reader needs subconninfo, a column only superusers may read */
	    " UNION ALL SELECT 'subscription', 'subscription ' || s.subname || CASE WHEN NOT"
	    "  pg_catalog.has_column_privilege('pg_catalog.pg_subscription', 'subconninfo', 'SELECT')"
	    "  THEN ' (reading a subscription''s connection needs a superuser)' ELSE '' END, x.classid, s.oid"
	    "  FROM pg_catalog.pg_subscription s JOIN pg_catalog.pg_database d ON d.oid = s.subdbid,"
	    "  (SELECT 'pg_catalog.pg_subscription'::pg_catalog.regclass::pg_catalog.oid AS classid) x"
	    "  WHERE d.datname = pg_catalog.current_database()");
	static const struct { const char *kind, *cat; } simple[] = {
	    {"constraint", "pg_constraint"}, {"rule", "pg_rewrite"}, {"policy", "pg_policy"},
	    {"default", "pg_attrdef"},
	    {"operator", "pg_operator"}, {"operator class", "pg_opclass"},
	    {"operator family", "pg_opfamily"}, {"cast", "pg_cast"},
	    {"collation", "pg_collation"}, {"conversion", "pg_conversion"},
	    {"text search parser", "pg_ts_parser"}, {"text search template", "pg_ts_template"},
	    {"text search dictionary", "pg_ts_dict"}, {"text search configuration", "pg_ts_config"},
	    {"statistics object", "pg_statistic_ext"}, {"transform", "pg_transform"},
	    {"procedural language", "pg_language"}, {"access method", "pg_am"},
	    {"default privileges", "pg_default_acl"}, {"event trigger", "pg_event_trigger"},
	    {"foreign-data wrapper", "pg_foreign_data_wrapper"}, {"server", "pg_foreign_server"},
	    {"publication", "pg_publication"},
	    {"publication member", "pg_publication_rel"},
	};
	for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
		pv_buf_printf(&q,
		    " UNION ALL SELECT '%s', pg_catalog.pg_describe_object(x.classid, o.oid, 0), x.classid, o.oid"
		    " FROM pg_catalog.%s o, (SELECT 'pg_catalog.%s'::pg_catalog.regclass::pg_catalog.oid AS classid) x"
		    " WHERE o.oid >= 16384",
		    simple[i].kind, simple[i].cat, simple[i].cat);
	/* pg_user_mapping is readable by superusers only; the view lists the mappings to all */
	pv_buf_puts(&q,
	    " UNION ALL SELECT 'user mapping', pg_catalog.pg_describe_object(x.classid, m.umid, 0) || CASE WHEN NOT"
	    "  pg_catalog.has_table_privilege('pg_catalog.pg_user_mapping', 'SELECT')"
	    "  THEN ' (reading user mappings needs a superuser)' ELSE '' END, x.classid, m.umid"
	    " FROM pg_catalog.pg_user_mappings m,"
	    " (SELECT 'pg_catalog.pg_user_mapping'::pg_catalog.regclass::pg_catalog.oid AS classid) x"
	    " WHERE m.umid >= 16384");
	pv_buf_puts(&q,
	    " UNION ALL SELECT 'schema', pg_catalog.pg_describe_object(x.classid, n.oid, 0), x.classid, n.oid"
	    " FROM pg_catalog.pg_namespace n, (SELECT 'pg_catalog.pg_namespace'::pg_catalog.regclass::pg_catalog.oid AS classid) x"
	    " WHERE n.oid >= 16384 AND n.nspname NOT LIKE 'pg\\_%'");
	pv_buf_puts(&q,
	    " UNION ALL SELECT 'operator family member', pg_catalog.pg_describe_object(x.classid, o.oid, 0), x.classid, o.oid"
	    " FROM pg_catalog.pg_amop o, (SELECT 'pg_catalog.pg_amop'::pg_catalog.regclass::pg_catalog.oid AS classid) x"
	    " WHERE o.oid >= 16384"
	    " UNION ALL SELECT 'operator family member', pg_catalog.pg_describe_object(x.classid, o.oid, 0), x.classid, o.oid"
	    " FROM pg_catalog.pg_amproc o, (SELECT 'pg_catalog.pg_amproc'::pg_catalog.regclass::pg_catalog.oid AS classid) x"
	    " WHERE o.oid >= 16384");
	if (rd->v >= 150000)
		pv_buf_puts(&q,
		    " UNION ALL SELECT 'publication member', pg_catalog.pg_describe_object(x.classid, o.oid, 0), x.classid, o.oid"
		    " FROM pg_catalog.pg_publication_namespace o,"
		    " (SELECT 'pg_catalog.pg_publication_namespace'::pg_catalog.regclass::pg_catalog.oid AS classid) x");
	/* properties that are not objects of their own: no classid, objid the relation */
	pv_buf_puts(&q,
	    " UNION ALL SELECT 'tablespace', pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass, c.oid, 0) || ' in tablespace ' || t.spcname, 0, c.oid"
	    "  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_tablespace t ON t.oid = c.reltablespace"
	    "  WHERE c.oid >= 16384 AND c.relkind IN ('r', 'm', 'i', 'p')"
	    ") u ORDER BY 1, 2");
	PGresult *r = pvc_query(rd, q.data, NULL);
	pv_buf_free(&q);
	if (!r)
		return pv_wrap("looking for unsupported objects");
	for (int i = 0; i < PQntuples(r); i++) {
		pv_oid cls = pvc_oid(r, i, 2);
		if (cls && pv_graph_lookup(rd->cat->g, cls, pvc_oid(r, i, 3)))
			continue; /* dumped, or part of what dumps it (an extension's members too) */
		if (!cls && pvc_ext_of(rd, C_PG_CLASS, pvc_oid(r, i, 3)))
			continue; /* a property of an extension's relation (objid) */
		pvc_unsupported(rd, pvc_val(r, i, 0), pvc_val(r, i, 1));
	}
	PQclear(r);
	return 0;
}


/* ---- comments and dependencies ---------------------------------------------------------- */

static const char COMMENTS_SQL[] =
    "SELECT d.classoid, d.objoid, d.objsubid, d.description, a.attname"
    " FROM pg_catalog.pg_description d"
    " LEFT JOIN pg_catalog.pg_attribute a ON d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass"
    "   AND a.attrelid = d.objoid AND a.attnum = d.objsubid AND d.objsubid > 0"
    " WHERE d.objoid >= 16384 OR (d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.objoid = 2200)"
    " ORDER BY d.classoid, d.objoid, d.objsubid";

static int
read_comments(reader *rd)
{
	PGresult *r = pvc_query(rd, COMMENTS_SQL, NULL);
	if (!r)
		return pv_wrap("reading comments");
	int public_comment_seen = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		pv_oid cls = pvc_oid(r, i, 0), oid = pvc_oid(r, i, 1);
		int sub = atoi(pvc_val(r, i, 2));
		if (cls == C_PG_NAMESPACE && oid == 2200) {
			public_comment_seen = 1;
			if (strcmp(pvc_val(r, i, 3), "standard public schema") == 0)
				continue;
		}
		cmt_target *t = pvc_find_target(rd, cls, oid);
		pv_obj *o = pv_graph_lookup(rd->cat->g, cls, oid);
		if (!t || !o || o->kind == K_EXTENSION) {
			if (cls == C_PG_EXTENSION && t && o) {
				/* comment on an extension itself */
			} else
				continue;
		}
		char *lit = pv_literal(rd->c, pvc_val(r, i, 3));
		char *sql;
		if (sub > 0 && pvc_val(r, i, 4)) {
			char *col = pv_ident(rd->c, pvc_val(r, i, 4));
			sql = pv_asprintf("COMMENT ON COLUMN %s.%s IS %s;", t->qname, col, lit);
			free(col);
		} else if (sub == 0) {
			sql = pv_asprintf("COMMENT ON %s %s IS %s;", t->kw, t->qname, lit);
		} else {
			free(lit);
			continue;
		}
		/* the row type / composite type comments map onto their owner */
		pv_obj_add_comment(o, sql);
		pvc_loops_comment(o, cls, oid, sql);
		free(sql);
		free(lit);
	}
	PQclear(r);
	if (!public_comment_seen && rd->public_schema)
		pv_obj_add_comment(rd->public_schema, "COMMENT ON SCHEMA public IS NULL;");
	return 0;
}

/* The referenced object of pg_depend row i is one a user created (not an initdb object
 * or a schema).  A referenced object that is internal to another (a row type, an array
 * type) stands for its owner (columns 5 and 6). */
static const char DEPENDS_SQL[] =
    "SELECT d.classid, d.objid, d.refclassid, d.refobjid,"
    " d.refobjid >= 16384 AND d.refclassid <> 'pg_catalog.pg_namespace'::pg_catalog.regclass,"
    " io.refclassid, io.refobjid"
    " FROM pg_catalog.pg_depend d"
    " LEFT JOIN LATERAL (SELECT x.refclassid, x.refobjid FROM pg_catalog.pg_depend x"
    "   WHERE x.classid = d.refclassid AND x.objid = d.refobjid AND x.deptype = 'i' LIMIT 1) io ON true"
    " WHERE d.deptype NOT IN ('p', 'e') AND d.objid >= 16384"
    " AND NOT (d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'a' AND"
    "   d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0 AND d.refobjsubid > 0"
    "   AND (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = d.objid) = 'S')";

static int
is_user_object(PGresult *r, int i)
{
	return pvc_bool(r, i, 4);
}

static int
read_depends(reader *rd)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd, DEPENDS_SQL, NULL);
	if (!r)
		return pv_wrap("reading dependencies");
	for (int i = 0; i < PQntuples(r); i++) {
		pv_obj *a = pv_graph_lookup(g, pvc_oid(r, i, 0), pvc_oid(r, i, 1));
		pv_obj *b = pv_graph_lookup(g, pvc_oid(r, i, 2), pvc_oid(r, i, 3));
		if (a && !b && a->kind != K_EXTENSION && is_user_object(r, i) &&
		    (!pvc_val(r, i, 5) || (pvc_oid(r, i, 6) >= FIRST_NORMAL_OID &&
		                       !pv_graph_lookup(g, pvc_oid(r, i, 5), pvc_oid(r, i, 6))))) {
			/* depends on something this version does not dump (reported as unsupported):
			 * it could not be restored either */
			a->dump = 0;
			continue;
		}
		if (!a || !b || a == b)
			continue;
		if (a->kind == K_EXTENSION && b->kind != K_SCHEMA && b->kind != K_EXTENSION)
			continue; /* a member's edge, seen through its extension */
		/* identity sequences and constraint indexes depend "internally" on their owner:
		 * they never constrain the owner's position */
		pvc_loops_dep(a, pvc_oid(r, i, 0), pvc_oid(r, i, 1), b);
		pv_obj_dep(a, b);
	}
	PQclear(r);
	/* whatever depends on a skipped object is skipped too, and said so */
	for (int changed = 1; changed;) {
		changed = 0;
		for (int i = 0; i < pv_graph_count(g); i++) {
			pv_obj *o = pv_graph_get(g, i);
			for (int j = 0; o->dump && j < o->ndeps; j++)
				if (!pv_graph_get(g, o->deps[j])->dump) {
					o->dump = 0;
					changed = 1;
				}
		}
	}
	for (int i = 0; i < pv_graph_count(g); i++) {
		pv_obj *o = pv_graph_get(g, i);
		if (!o->dump && o->oid) {
			char *l = pv_obj_label(o);
			char *d = pv_asprintf("%s (depends on an unsupported object)", l);
			pvc_unsupported(rd, "dependent object", d);
			free(d);
			free(l);
		}
	}
	/* A matview refresh follows the refreshes of the matviews it reads (also through
	 * views); one that reads an unpopulated matview is not refreshed (as pg_dump). */
	int n = pv_graph_count(g);
	pv_obj **refresh_of = pv_calloc((size_t)n, sizeof *refresh_of);
	for (int i = 0; i < n; i++) {
		pv_obj *f = pv_graph_get(g, i);
		if (f->kind == K_REFRESH)
			refresh_of[f->deps[0]] = f;
	}
	int *stack = pv_malloc((size_t)n * sizeof *stack);
	char *seen = pv_malloc((size_t)n);
	for (int i = 0; i < n; i++) {
		pv_obj *f = pv_graph_get(g, i);
		if (f->kind != K_REFRESH)
			continue;
		memset(seen, 0, (size_t)n);
		int sp = 0;
		stack[sp++] = f->deps[0];
		seen[f->deps[0]] = 1;
		while (sp > 0) {
			pv_obj *o = pv_graph_get(g, stack[--sp]);
			for (int j = 0; j < o->ndeps; j++) {
				pv_obj *d = pv_graph_get(g, o->deps[j]);
				if (seen[d->id] || (d->kind != K_VIEW && d->kind != K_MATVIEW))
					continue;
				seen[d->id] = 1;
				if (d->kind == K_MATVIEW) {
					if (refresh_of[d->id])
						pv_obj_dep(f, refresh_of[d->id]);
					else
						f->dump = 2; /* reads an unpopulated matview */
				} else {
					stack[sp++] = d->id;
				}
			}
		}
	}
	for (int i = 0; i < n; i++) {
		pv_obj *f = pv_graph_get(g, i);
		if (f->kind == K_REFRESH && f->dump == 2) {
			f->dump = 0;
			pv_obj *mv = pv_graph_get(g, f->deps[0]);
			/* nothing may wait for it */
			for (int k = 0; k < n; k++) {
				pv_obj *o = pv_graph_get(g, k);
				for (int j = 0; j < o->ndeps; j++)
					if (o->deps[j] == f->id)
						o->deps[j] = mv->id;
			}
		}
	}
	free(refresh_of);
	free(stack);
	free(seen);
	/* everything in a schema follows the schema (one lookup table, not a scan per object) */
	json_t *created = json_object(); /* schema name -> object id */
	for (int i = 0; i < n; i++) {
		pv_obj *s = pv_graph_get(g, i);
		if (s->kind == K_SCHEMA && pv_def_schema_creates(s->ops, s->def) &&
		    !json_object_get(created, s->name))
			(void)pvj_set_int(created, s->name, s->id); /* a name into a map: cannot fail */
	}
	for (int i = 0; i < n; i++) {
		pv_obj *o = pv_graph_get(g, i);
		json_t *sid = o->schema && o->kind != K_SCHEMA ? json_object_get(created, o->schema) : NULL;
		if (sid)
			pv_obj_dep(o, pv_graph_get(g, (int)json_integer_value(sid)));
	}
	json_decref(created);
	return 0;
}

/* ---- entry point ---------------------------------------------------------------------- */

int
pv_catalog_read(PGconn *c, pv_catalog *cat, int sessions)
{
	reader rd;
	rels R = {NULL, 0, NULL, 0};
	pv_buf typids = PV_BUF_INIT, domids = PV_BUF_INIT;
	int rc = -1;

	memset(&rd, 0, sizeof rd);
	memset(cat, 0, sizeof *cat);
	cat->g = pv_graph_new();
	cat->db = json_object();
	cat->roles = json_object();
	cat->unsupported = json_array();
	cat->warnings = json_array();
	cat->server_version = PQserverVersion(c);
	rd.c = c;
	rd.cat = cat;
	rd.owners = json_object();
	rd.v = cat->server_version;
	rd.sessions = sessions;

	if (rd.v < 120000) {
		pv_fail("server version %d is not supported (PostgreSQL 12 or later is required)", rd.v);
		goto out;
	}
	if (read_database(&rd) < 0 || pvc_read_census(&rd) < 0 || pvc_read_extensions(&rd) < 0 || pvc_read_schemas(&rd) < 0 ||
	    pvc_read_relations(&rd, &R) < 0 ||
	    pvc_read_types(&rd, &typids, &domids) < 0)
		goto out;
	/* the tables are locked: the heaviest later statements can go to a second session */
	if (pvc_ahead_open(&rd, R.n) < 0)
		goto out;
	pvc_ahead_relobjs(&rd);
	pvc_ahead_queue(&rd, COMMENTS_SQL, NULL);
	pvc_ahead_queue(&rd, DEPENDS_SQL, NULL);
	pvc_ahead_start(&rd);
	pvc_oids(&rd.relids);
	if (pvc_read_sequences(&rd, &R) < 0 || pvc_read_columns(&rd, &R) < 0 || pvc_read_functions(&rd) < 0 ||
	    pvc_finish_sequences(&rd, &R) < 0 || pvc_read_defaults(&rd, &R) < 0 ||
	    pvc_read_constraints(&rd, &R) < 0 || pvc_read_indexes(&rd, &R) < 0 || pvc_read_triggers(&rd, &R) < 0)
		goto out;
	pvc_build_tables(&rd, &R);
	if (pvc_read_views(&rd, &R) < 0 || pvc_read_policies(&rd, &R) < 0 || pvc_read_rules(&rd, &R) < 0 ||
	    pvc_read_types_extra(&rd) < 0 || pvc_read_operators(&rd) < 0 || pvc_read_misc(&rd) < 0 || pvc_read_textsearch(&rd) < 0 ||
	    pvc_read_foreign(&rd) < 0 || pvc_read_pubs(&rd) < 0 || pvc_read_privileges(&rd) < 0)
		goto out;
	if (pvc_read_large_objects(&rd) < 0)
		goto out;
	pvc_drop_ext_members(&rd);
	if (read_unsupported(&rd) < 0)
		goto out;
	qsort(rd.targets, rd.ntargets, sizeof *rd.targets, pvc_target_cmp);
	if (read_comments(&rd) < 0 || pvc_read_seclabels(&rd) < 0 || read_depends(&rd) < 0)
		goto out;
	pvc_types_fix_deps(&rd);
	pv_graph_set_repair(cat->g, pvc_repair, NULL);
	if (pvc_search_path_warnings(&rd) < 0)
		goto out;

	/* privileges */
	{
		pv_buf schemas = PV_BUF_INIT, types = PV_BUF_INIT, funcs = PV_BUF_INIT;
		for (int i = 0; i < pv_graph_count(cat->g); i++) {
			pv_obj *o = pv_graph_get(cat->g, i);
			if (!o->oid)
				continue;
			if (o->kind == K_SCHEMA)
				pvc_oids_add(&schemas, o->oid);
			else if ((o->kind == K_TYPE || o->kind == K_DOMAIN) && o->classid == C_PG_TYPE)
				pvc_oids_add(&types, o->oid);
			else if (o->kind == K_FUNCTION)
				pvc_oids_add(&funcs, o->oid);
		}
		const char *pubbase = rd.v >= 150000
		    ? "pg_catalog.array_append(pg_catalog.acldefault('n', n.nspowner), pg_catalog.makeaclitem(0, n.nspowner, 'USAGE', false))"
		    : "pg_catalog.array_cat(pg_catalog.acldefault('n', n.nspowner), ARRAY[pg_catalog.makeaclitem(0, n.nspowner, 'USAGE', false), pg_catalog.makeaclitem(0, n.nspowner, 'CREATE', false)])";
		char *nsq = pv_asprintf(
		    "SELECT n.oid, COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner)),"
		    " CASE WHEN n.nspname = 'public' AND n.oid = 2200 THEN %s ELSE pg_catalog.acldefault('n', n.nspowner) END"
		    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(oid) JOIN pg_catalog.pg_namespace n ON n.oid = s.oid",
		    pubbase);
		int ok = pvc_acls(&rd, C_PG_NAMESPACE, nsq, pvc_oids(&schemas)) == 0 &&
		    pvc_acls(&rd, C_PG_CLASS,
		        "SELECT c.oid, COALESCE(c.relacl, pg_catalog.acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\", c.relowner)),"
		        " pg_catalog.acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\", c.relowner)"
		        " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(oid) JOIN pg_catalog.pg_class c ON c.oid = s.oid"
		        " WHERE c.relkind <> 'c'", rd.relids.data) == 0 &&
		    pvc_acls(&rd, C_PG_TYPE,
		        "SELECT t.oid, COALESCE(t.typacl, pg_catalog.acldefault('T', t.typowner)), pg_catalog.acldefault('T', t.typowner)"
		        " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(oid) JOIN pg_catalog.pg_type t ON t.oid = s.oid",
		        pvc_oids(&types)) == 0 &&
		    pvc_acls(&rd, C_PG_PROC,
		        "SELECT p.oid, COALESCE(p.proacl, pg_catalog.acldefault('f', p.proowner)), pg_catalog.acldefault('f', p.proowner)"
		        " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(oid) JOIN pg_catalog.pg_proc p ON p.oid = s.oid",
		        pvc_oids(&funcs)) == 0 &&
		    pvc_read_column_acls(&rd) == 0;
		free(nsq);
		pv_buf_free(&schemas);
		pv_buf_free(&types);
		pv_buf_free(&funcs);
		if (!ok)
			goto out;
	}
	if (read_roles(&rd) < 0)
		goto out;
	if (pvc_collect_sequence_values(&rd, &R) < 0)
		goto out;
	pvc_redirect_replayed(&rd, &R);
	rc = 0;
out:
	pvc_ahead_close(&rd);
	if (rd.seq_side)
		PQfinish(rd.seq_side);
	for (int i = 0; i < R.n; i++) {
		free(R.v[i].qname);
		pv_buf_free(&R.v[i].cols);
		json_decref(R.v[i].lcols);
		json_decref(R.v[i].generated);
		pv_buf_free(&R.v[i].inh_extra);
		pv_buf_free(&R.v[i].inh_items);
		json_decref(R.v[i].colnames);
		json_decref(R.v[i].colinfo);
		free(R.v[i].parents);
		free(R.v[i].partbound);
		free(R.v[i].partkey);
		free(R.v[i].oftype);
		free(R.v[i].server);
		free(R.v[i].using_am);
		pv_buf_free(&R.v[i].extra);
		json_decref(R.v[i].copycols);
		free(R.v[i].withopts);
		free(R.v[i].check_option);
		pv_buf_free(&R.v[i].dummy);
	}
	free(R.v);
	free(R.replays);
	for (size_t i = 0; i < rd.ntargets; i++) {
		free(rd.targets[i].kw);
		free(rd.targets[i].qname);
	}
	free(rd.targets);
	free(rd.composites);
	json_decref(rd.owners);
	pv_buf_free(&rd.relids);
	pv_buf_free(&rd.tabids);
	pv_buf_free(&typids);
	pv_buf_free(&domids);
	return rc;
}

void
pv_catalog_free(pv_catalog *cat)
{
	pv_graph_free(cat->g);
	json_decref(cat->db);
	json_decref(cat->roles);
	json_decref(cat->unsupported);
	json_decref(cat->warnings);
	memset(cat, 0, sizeof *cat);
}

