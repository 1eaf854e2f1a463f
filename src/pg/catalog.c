/*
 * pg/catalog.c — catalog queries and DDL generation for each supported object kind,
 * building the object graph (see catalog.h).  Kinds handled here: schemas, extensions,
 * enum/composite types, domains, functions and procedures, tables (columns, defaults,
 * identity, generated columns, CHECK, NOT NULL: on 18 named constraints with NO INHERIT and
 * NOT VALID), sequences (serial ownership, values), views,
 * materialized views, PRIMARY KEY/UNIQUE/EXCLUDE/FOREIGN KEY constraints, indexes,
 * triggers, comments, owners and grants.  Everything else a database may hold is
 * reported by read_unsupported().
 */
#include "pg/catalog.h"
#include "pg/catalog_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pg/inherit_plan.h"
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

/* ---- schemas and extensions --------------------------------------------------------- */

static int
read_schemas(reader *rd)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT n.oid, n.nspname, pg_catalog.pg_get_userbyid(n.nspowner), n.nspowner"
	    " FROM pg_catalog.pg_namespace n"
	    " WHERE (n.oid >= 16384 OR n.nspname = 'public') AND n.nspname NOT LIKE 'pg\\_%'"
	    " AND" NOT_EXT("pg_namespace", "n") "ORDER BY n.nspname", NULL);
	if (!r)
		return pv_wrap("reading schemas");
	int have_public = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *name = pvc_val(r, i, 1);
		char *q = pv_ident(rd->c, name);
		pv_obj *o = pv_graph_add(g, K_SCHEMA, PV_PRE, C_PG_NAMESPACE, pvc_oid(r, i, 0), NULL, name);
		o->acl_target = pv_asprintf("SCHEMA %s", q);
		pvc_target(rd, C_PG_NAMESPACE, o->oid, "SCHEMA", q);
		if (strcmp(name, "public") == 0 && o->oid < FIRST_NORMAL_OID) {
			/* exists in every new database: only owner, comment and ACL deltas */
			have_public = 1;
			rd->public_schema = o;
			pv_oid default_owner = rd->v >= 150000 ? 6171u : 10u;
			if (pvc_oid(r, i, 3) != default_owner)
				pvc_owner(rd, o, pvc_val(r, i, 2), "SCHEMA", q);
		} else {
			o->sql = pv_asprintf("CREATE SCHEMA %s;", q);
			pvc_owner(rd, o, pvc_val(r, i, 2), "SCHEMA", q);
		}
		free(q);
	}
	PQclear(r);
	if (!have_public) {
		pv_obj *o = pv_graph_add(g, K_SCHEMA, PV_PRE, 0, 0, NULL, "public");
		o->sql = pv_strdup("DROP SCHEMA public;");
	}
	return 0;
}

/*
 * Extension membership, read once as pg_dump's getExtensionMembership does: every catalog
 * row CREATE EXTENSION makes, mapped in the graph to its extension.  That map is the one
 * membership set the readers and the completeness check consult (pvc_ext_of).  Besides the
 * members themselves (pg_depend deptype 'e'), it holds what comes with them, which
 * PostgreSQL records no membership for: a composite type's relation (the membership is on
 * its pg_type row), the row, array and multirange types of member relations and types, the
 * constraints, defaults, indexes, triggers, rules, policies and statistics objects of member
 * tables and domains (pg_dump dumps none of them either), and the operators and support
 * functions of member operator families.
 */
static int
read_ext_members(reader *rd)
{
	pv_graph *g = rd->cat->g;
#define CAT(c) "'pg_catalog." c "'::pg_catalog.regclass::pg_catalog.oid"
	char *sql = pv_asprintf(
	    "WITH m AS (SELECT d.classid, d.objid, d.refobjid AS ext FROM pg_catalog.pg_depend d"
	    "  WHERE d.refclassid = " CAT("pg_extension") " AND d.deptype = 'e'),"
	    " rel AS (SELECT m.objid, m.ext FROM m WHERE m.classid = " CAT("pg_class")
	    "  UNION SELECT t.typrelid, m.ext FROM m JOIN pg_catalog.pg_type t ON t.oid = m.objid"
	    "   WHERE m.classid = " CAT("pg_type") " AND t.typrelid <> 0),"
	    " typ AS (SELECT m.objid, m.ext FROM m WHERE m.classid = " CAT("pg_type")
	    "  UNION SELECT c.reltype, rel.ext FROM rel JOIN pg_catalog.pg_class c ON c.oid = rel.objid"
	    "   WHERE c.reltype <> 0%s),"
	    " fam AS (SELECT m.objid, m.ext FROM m WHERE m.classid = " CAT("pg_opfamily") ")"
	    " SELECT m.classid, m.objid, m.ext FROM m"
	    " UNION ALL SELECT " CAT("pg_class") ", rel.objid, rel.ext FROM rel"
	    " UNION ALL SELECT " CAT("pg_type") ", typ.objid, typ.ext FROM typ"
	    " UNION ALL SELECT " CAT("pg_type") ", t.typarray, typ.ext"
	    "  FROM typ JOIN pg_catalog.pg_type t ON t.oid = typ.objid WHERE t.typarray <> 0"
	    " UNION ALL SELECT " CAT("pg_constraint") ", c.oid, rel.ext"
	    "  FROM pg_catalog.pg_constraint c JOIN rel ON rel.objid = c.conrelid"
	    " UNION ALL SELECT " CAT("pg_constraint") ", c.oid, typ.ext"
	    "  FROM pg_catalog.pg_constraint c JOIN typ ON typ.objid = c.contypid"
	    " UNION ALL SELECT " CAT("pg_attrdef") ", a.oid, rel.ext"
	    "  FROM pg_catalog.pg_attrdef a JOIN rel ON rel.objid = a.adrelid"
	    " UNION ALL SELECT " CAT("pg_class") ", i.indexrelid, rel.ext"
	    "  FROM pg_catalog.pg_index i JOIN rel ON rel.objid = i.indrelid"
	    " UNION ALL SELECT " CAT("pg_trigger") ", t.oid, rel.ext"
	    "  FROM pg_catalog.pg_trigger t JOIN rel ON rel.objid = t.tgrelid"
	    " UNION ALL SELECT " CAT("pg_rewrite") ", w.oid, rel.ext"
	    "  FROM pg_catalog.pg_rewrite w JOIN rel ON rel.objid = w.ev_class"
	    " UNION ALL SELECT " CAT("pg_policy") ", p.oid, rel.ext"
	    "  FROM pg_catalog.pg_policy p JOIN rel ON rel.objid = p.polrelid"
	    " UNION ALL SELECT " CAT("pg_statistic_ext") ", s.oid, rel.ext"
	    "  FROM pg_catalog.pg_statistic_ext s JOIN rel ON rel.objid = s.stxrelid"
	    " UNION ALL SELECT " CAT("pg_amop") ", o.oid, fam.ext"
	    "  FROM pg_catalog.pg_amop o JOIN fam ON fam.objid = o.amopfamily"
	    " UNION ALL SELECT " CAT("pg_amproc") ", o.oid, fam.ext"
	    "  FROM pg_catalog.pg_amproc o JOIN fam ON fam.objid = o.amprocfamily",
	    rd->v >= 140000 ? " UNION SELECT r.rngmultitypid, m.ext FROM m JOIN pg_catalog.pg_range r"
	                      "  ON m.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND r.rngtypid = m.objid"
	                    : "");
#undef CAT
	PGresult *r = pvc_query(rd, sql, NULL);
	free(sql);
	if (!r)
		return pv_wrap("reading extension members");
	for (int i = 0; i < PQntuples(r); i++) {
		pv_obj *e = pv_graph_lookup(g, C_PG_EXTENSION, pvc_oid(r, i, 2));
		if (e)
			pv_graph_alias(g, pvc_oid(r, i, 0), pvc_oid(r, i, 1), e);
	}
	PQclear(r);
	return 0;
}

pv_obj *
pvc_ext_of(reader *rd, pv_oid classid, pv_oid oid)
{
	pv_obj *o = classid != C_PG_EXTENSION ? pv_graph_lookup(rd->cat->g, classid, oid) : NULL;
	return o && o->kind == K_EXTENSION ? o : NULL;
}

/*
 * Run after every reader: an object a reader registered under a catalog identity that
 * belongs to an extension is never dumped on its own (CREATE EXTENSION makes it); what was
 * mapped to it or ordered after it follows the extension instead.  The readers' queries leave members
 * out already (NOT_EXT); this makes it hold for every kind, whatever a reader's query says.
 */
static void
drop_ext_members(reader *rd)
{
	pv_graph *g = rd->cat->g;
	int n = pv_graph_count(g);
	for (int i = 0; i < n; i++) {
		pv_obj *o = pv_graph_get(g, i);
		pv_obj *e = o->classid && o->kind != K_EXTENSION ? pvc_ext_of(rd, o->classid, o->oid) : NULL;
		if (!e)
			continue;
		pv_debug("%s belongs to extension %s: not dumped on its own", o->name, e->name);
		pv_graph_fold(g, o, e);
		o->classid = o->oid = 0; /* the extension's now, not an object of its own */
	}
}

static int
read_extensions(reader *rd)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT e.oid, e.extname, n.nspname FROM pg_catalog.pg_extension e"
	    " JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
	    " WHERE e.oid >= 16384 ORDER BY e.extname", NULL);
	if (!r)
		return pv_wrap("reading extensions");
	for (int i = 0; i < PQntuples(r); i++) {
		char *q = pv_ident(rd->c, pvc_val(r, i, 1));
		char *s = pv_ident(rd->c, pvc_val(r, i, 2));
		pv_obj *o = pv_graph_add(g, K_EXTENSION, PV_PRE, C_PG_EXTENSION, pvc_oid(r, i, 0), NULL,
		                         pvc_val(r, i, 1));
		o->sql = pv_asprintf("CREATE EXTENSION IF NOT EXISTS %s WITH SCHEMA %s;", q, s);
		pvc_target(rd, C_PG_EXTENSION, o->oid, "EXTENSION", q);
		free(q);
		free(s);
	}
	PQclear(r);
	return read_ext_members(rd);
}

/* ---- ACLs ----------------------------------------------------------------------------- */

/* inner: a query over $1 (oid[]) giving (oid, acl, base) rows; items are mapped to the
 * graph object of (classid, oid). */
int
pvc_acls(reader *rd, pv_oid classid, const char *inner, const char *ids)
{
	char *sql = pv_asprintf(
	    "WITH obj(oid, acl, base) AS (%s),"
	    " x AS (SELECT o.oid, false AS rev, a.grantor, a.grantee, a.privilege_type, a.is_grantable, a.ord"
	    "   FROM obj o, pg_catalog.aclexplode(o.acl) WITH ORDINALITY AS a(grantor, grantee, privilege_type, is_grantable, ord)"
	    "   WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.aclexplode(o.base) b WHERE b.grantor = a.grantor"
	    "     AND b.grantee = a.grantee AND b.privilege_type = a.privilege_type AND b.is_grantable = a.is_grantable)"
	    " UNION ALL SELECT o.oid, true, b.grantor, b.grantee, b.privilege_type, b.is_grantable, b.ord"
	    "   FROM obj o, pg_catalog.aclexplode(o.base) WITH ORDINALITY AS b(grantor, grantee, privilege_type, is_grantable, ord)"
	    "   WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.aclexplode(o.acl) a WHERE b.grantor = a.grantor"
	    "     AND b.grantee = a.grantee AND b.privilege_type = a.privilege_type AND b.is_grantable = a.is_grantable))"
	    " SELECT x.oid, x.rev, pg_catalog.pg_get_userbyid(x.grantor),"
	    "  CASE WHEN x.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(x.grantee) END,"
	    "  x.privilege_type, x.is_grantable"
	    " FROM x ORDER BY x.oid, x.rev DESC, x.ord", inner);
	PGresult *r = pvc_query(rd, sql, ids);
	free(sql);
	if (!r)
		return pv_wrap("reading privileges");
	pv_buf privs = PV_BUF_INIT;
	int n = PQntuples(r);
	for (int i = 0; i < n;) {
		/* one statement per run of rows with equal object, direction, grantor, grantee, option */
		int j = i;
		pv_buf_reset(&privs);
		while (j < n && strcmp(PQgetvalue(r, j, 0), PQgetvalue(r, i, 0)) == 0 &&
		       pvc_bool(r, j, 1) == pvc_bool(r, i, 1) &&
		       strcmp(PQgetvalue(r, j, 2), PQgetvalue(r, i, 2)) == 0 &&
		       PQgetisnull(r, j, 3) == PQgetisnull(r, i, 3) &&
		       strcmp(PQgetvalue(r, j, 3), PQgetvalue(r, i, 3)) == 0 &&
		       pvc_bool(r, j, 5) == pvc_bool(r, i, 5)) {
			pv_buf_printf(&privs, "%s%s", j > i ? ", " : "", PQgetvalue(r, j, 4));
			j++;
		}
		pv_obj *o = pv_graph_lookup(rd->cat->g, classid, pvc_oid(r, i, 0));
		if (o && o->acl_target) {
			pv_obj_add_acl(o, pvc_bool(r, i, 1), privs.data, NULL, pvc_val(r, i, 3), pvc_val(r, i, 2),
			               pvc_bool(r, i, 5));
			pvc_role(rd, pvc_val(r, i, 2));
			pvc_role(rd, pvc_val(r, i, 3));
		}
		i = j;
	}
	pv_buf_free(&privs);
	PQclear(r);
	return 0;
}

static int
read_column_acls(reader *rd)
{
	PGresult *r = pvc_query(rd,
	    "SELECT a.attrelid, a.attname, pg_catalog.pg_get_userbyid(x.grantor),"
	    " CASE WHEN x.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(x.grantee) END,"
	    " x.privilege_type, x.is_grantable"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(relid)"
	    " JOIN pg_catalog.pg_attribute a ON a.attrelid = s.relid"
	    " CROSS JOIN LATERAL pg_catalog.aclexplode(a.attacl) WITH ORDINALITY AS x(grantor, grantee, privilege_type, is_grantable, ord)"
	    " WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL"
	    " ORDER BY a.attrelid, a.attnum, x.ord", rd->relids.data);
	if (!r)
		return pv_wrap("reading column privileges");
	for (int i = 0; i < PQntuples(r); i++) {
		pv_obj *o = pv_graph_lookup(rd->cat->g, C_PG_CLASS, pvc_oid(r, i, 0));
		if (!o || !o->acl_target)
			continue;
		char *col = pv_ident(rd->c, pvc_val(r, i, 1));
		char *cols = pv_asprintf("(%s)", col);
		pv_obj_add_acl(o, 0, pvc_val(r, i, 4), cols, pvc_val(r, i, 3), pvc_val(r, i, 2), pvc_bool(r, i, 5));
		pvc_role(rd, pvc_val(r, i, 2));
		pvc_role(rd, pvc_val(r, i, 3));
		free(col);
		free(cols);
	}
	PQclear(r);
	return 0;
}

void
pv_acl_sql(pv_buf *out, PGconn *c, const char *target, const char *owner, const char *grantor,
           const char *grantee, const char *privs, const char *columns, int revoke,
           int grant_option)
{
	/* a grant by someone other than the owner is made as that role (SET ROLE works for a
	 * superuser and for members of the grantor) */
	int switch_role = !revoke && grantor && owner && strcmp(grantor, owner) != 0;
	if (switch_role) {
		pv_buf_puts(out, "SET ROLE ");
		pv_buf_ident(out, c, grantor);
		pv_buf_puts(out, ";\n");
	}
	pv_buf_puts(out, revoke ? "REVOKE " : "GRANT ");
	if (columns) {
		/* "SELECT, UPDATE" + "(a)" -> "SELECT (a), UPDATE (a)" */
		const char *p = privs;
		while (*p) {
			const char *e = strchr(p, ',');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			pv_buf_add(out, p, n);
			pv_buf_printf(out, " %s", columns);
			if (!e)
				break;
			pv_buf_puts(out, ", ");
			p = e + 1;
			while (*p == ' ')
				p++;
		}
	} else {
		pv_buf_puts(out, privs);
	}
	pv_buf_printf(out, " ON %s %s ", target, revoke ? "FROM" : "TO");
	if (grantee)
		pv_buf_ident(out, c, grantee);
	else
		pv_buf_puts(out, "PUBLIC");
	if (grant_option && !revoke)
		pv_buf_puts(out, " WITH GRANT OPTION");
	pv_buf_puts(out, ";\n");
	if (switch_role)
		pv_buf_puts(out, "RESET ROLE;\n");
}

/* ---- types, domains ------------------------------------------------------------------- */

void
pvc_collate_clause(pv_buf *b, PGconn *c, const char *nsp, const char *coll)
{
	if (!nsp || !coll)
		return;
	pv_buf_puts(b, " COLLATE ");
	pv_buf_ident(b, c, nsp);
	pv_buf_putc(b, '.');
	pv_buf_ident(b, c, coll);
}

/* columns of composite types: filled by read_columns(), indexed by the composite's relid */
static pv_obj *
find_composite(reader *rd, pv_oid relid)
{
	pv_obj *o = pv_graph_lookup(rd->cat->g, C_PG_CLASS, relid);
	return o && o->kind == K_TYPE ? o : NULL;
}

static int
read_types(reader *rd, pv_buf *typids, pv_buf *domids)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT t.oid, n.nspname, t.typname, t.typtype, pg_catalog.pg_get_userbyid(t.typowner),"
	    " t.typrelid, t.typarray,"
	    " CASE WHEN t.typtype = 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod) END,"
	    " t.typnotnull, pg_catalog.pg_get_expr(t.typdefaultbin, 0), t.typdefault,"
	    " CASE WHEN t.typtype = 'd' AND t.typcollation <> bt.typcollation THEN cn.nspname END,"
	    " CASE WHEN t.typtype = 'd' AND t.typcollation <> bt.typcollation THEN co.collname END"
	    " FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
	    " LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype"
	    " LEFT JOIN pg_catalog.pg_collation co ON co.oid = t.typcollation"
	    " LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace"
	    " WHERE t.oid >= 16384 AND" NOT_EXT("pg_type", "t")
	    " AND (t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND"
	    "      (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c'))"
	    " ORDER BY t.oid", NULL);
	if (!r)
		return pv_wrap("reading types");
	for (int i = 0; i < PQntuples(r); i++) {
		const char *kind = pvc_val(r, i, 3);
		char *q = pv_qualify(rd->c, pvc_val(r, i, 1), pvc_val(r, i, 2));
		int dom = kind[0] == 'd';
		pv_obj *o = pv_graph_add(g, dom ? K_DOMAIN : K_TYPE, PV_PRE, C_PG_TYPE, pvc_oid(r, i, 0),
		                         pvc_val(r, i, 1), pvc_val(r, i, 2));
		pvc_owner(rd, o, pvc_val(r, i, 4), dom ? "DOMAIN" : "TYPE", q);
		o->acl_target = pv_asprintf("%s %s", dom ? "DOMAIN" : "TYPE", q);
		pvc_target(rd, C_PG_TYPE, o->oid, dom ? "DOMAIN" : "TYPE", q);
		pv_graph_alias(g, C_PG_TYPE, pvc_oid(r, i, 6), o); /* array type */
		if (kind[0] == 'c') {
			pv_graph_alias(g, C_PG_CLASS, pvc_oid(r, i, 5), o);
			pvc_target(rd, C_PG_CLASS, pvc_oid(r, i, 5), "TYPE", q);
			/* its columns come with the relations' (read_columns) */
			pvc_oids_add(&rd->relids, pvc_oid(r, i, 5));
			rd->composites = pv_realloc(rd->composites, (size_t)(rd->ncomposites + 1) * sizeof *rd->composites);
			rd->composites[rd->ncomposites++] = o;
		} else if (kind[0] == 'e') {
			/* CREATE TYPE once the labels are read */
			pvc_oids_add(typids, o->oid);
		} else {
			pv_buf b = PV_BUF_INIT;
			pv_buf_printf(&b, "CREATE DOMAIN %s AS %s", q, pvc_val(r, i, 7));
			pvc_collate_clause(&b, rd->c, pvc_val(r, i, 11), pvc_val(r, i, 12));
			const char *def = pvc_val(r, i, 9) ? pvc_val(r, i, 9) : pvc_val(r, i, 10);
			if (def)
				pv_buf_printf(&b, " DEFAULT %s", def);
			/* 17+: the NOT NULL is a named pg_constraint row (below) */
			if (pvc_bool(r, i, 8) && rd->v < 170000)
				pv_buf_puts(&b, " NOT NULL");
			o->sql = pv_buf_detach(&b);
			pvc_oids_add(domids, o->oid);
		}
		free(q);
	}
	PQclear(r);

	/* enum labels */
	r = pvc_query(rd, "SELECT t.oid, e.enumlabel FROM pg_catalog.unnest($1::pg_catalog.oid[]) t(oid)"
	           " LEFT JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid ORDER BY t.oid, e.enumsortorder",
	       pvc_oids(typids));
	if (!r)
		return pv_wrap("reading enum labels");
	pv_buf b = PV_BUF_INIT;
	for (int i = 0; i < PQntuples(r); i++) {
		pv_oid t = pvc_oid(r, i, 0);
		pv_obj *o = pv_graph_lookup(g, C_PG_TYPE, t);
		if (i == 0 || t != pvc_oid(r, i - 1, 0)) {
			char *q = pv_qualify(rd->c, o->schema, o->name);
			pv_buf_printf(&b, "CREATE TYPE %s AS ENUM (", q);
			free(q);
		} else {
			pv_buf_puts(&b, ", ");
		}
		if (pvc_val(r, i, 1))
			pv_buf_literal(&b, rd->c, pvc_val(r, i, 1));
		if (i + 1 == PQntuples(r) || pvc_oid(r, i + 1, 0) != t) {
			pv_buf_puts(&b, ");");
			o->sql = pv_buf_detach(&b);
		}
	}
	pv_buf_free(&b);
	PQclear(r);

	/* domain constraints: validated CHECKs inline, NOT VALID ones after the data */
	r = pvc_query(rd, "SELECT c.oid, c.contypid, c.conname, pg_catalog.pg_get_constraintdef(c.oid),"
	           " c.convalidated, c.contype FROM pg_catalog.pg_constraint c"
	           " WHERE c.contypid = ANY ($1::pg_catalog.oid[]) AND c.contype IN ('c', 'n')"
	           " ORDER BY c.contypid, c.conname", pvc_oids(domids));
	if (!r)
		return pv_wrap("reading domain constraints");
	for (int i = 0; i < PQntuples(r); i++) {
		pv_obj *d = pv_graph_lookup(g, C_PG_TYPE, pvc_oid(r, i, 1));
		if (!d)
			continue;
		char *cn = pv_ident(rd->c, pvc_val(r, i, 2));
		char *dq = pv_qualify(rd->c, d->schema, d->name);
		char *qn = pv_asprintf("%s ON DOMAIN %s", cn, dq);
		pvc_target(rd, C_PG_CONSTRAINT, pvc_oid(r, i, 0), "CONSTRAINT", qn);
		if (pvc_val(r, i, 5)[0] == 'n' && pvc_bool(r, i, 4)) {
			/* 17+: a domain's NOT NULL is a named constraint; the name is given only when
			 * it is not the one the server would choose (<domain>_not_null), as pg_dump */
			char *dflt = pv_asprintf("%s_not_null", d->name);
			char *s = strcmp(dflt, pvc_val(r, i, 2)) == 0 ? pv_asprintf("%s NOT NULL", d->sql)
			          : pv_asprintf("%s CONSTRAINT %s NOT NULL", d->sql, cn);
			free(dflt);
			free(d->sql);
			d->sql = s;
			pv_graph_alias(g, C_PG_CONSTRAINT, pvc_oid(r, i, 0), d);
		} else if (pvc_bool(r, i, 4)) {
			char *in = pv_asprintf(" CONSTRAINT %s %s", cn, pvc_val(r, i, 3));
			char *alter = pv_asprintf("ALTER DOMAIN %s ADD CONSTRAINT %s %s;", dq, cn, pvc_val(r, i, 3));
			pvc_loops_domain_check(d, pvc_oid(r, i, 0), pvc_val(r, i, 2), in, alter);
			char *s = pv_asprintf("%s%s", d->sql, in);
			free(d->sql);
			d->sql = s;
			free(in);
			free(alter);
			pv_graph_alias(g, C_PG_CONSTRAINT, pvc_oid(r, i, 0), d);
		} else {
			pv_obj *k = pv_graph_add(g, K_CHECK_LATE, PV_POST, C_PG_CONSTRAINT, pvc_oid(r, i, 0),
			                         d->schema, pvc_val(r, i, 2));
			k->sql = pv_asprintf("ALTER DOMAIN %s ADD CONSTRAINT %s %s;", dq, cn, pvc_val(r, i, 3));
			pv_obj_dep(k, d);
		}
		free(cn);
		free(dq);
		free(qn);
	}
	PQclear(r);
	for (int i = 0; i < pv_graph_count(g); i++) {
		pv_obj *d = pv_graph_get(g, i);
		if (d->kind == K_DOMAIN) {
			char *s = pv_asprintf("%s;", d->sql);
			free(d->sql);
			d->sql = s;
		}
	}
	return 0;
}

/* ---- functions ------------------------------------------------------------------------ */

static int
read_functions(reader *rd)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT p.oid, n.nspname, p.proname, p.prokind, pg_catalog.pg_get_userbyid(p.proowner),"
	    " pg_catalog.pg_get_function_identity_arguments(p.oid), pg_catalog.pg_get_functiondef(p.oid)"
	    " FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
	    " WHERE p.oid >= 16384 AND p.prokind IN ('f', 'p', 'w') AND" NOT_EXT("pg_proc", "p")
	    " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass"
	    "   AND d.objid = p.oid AND d.deptype = 'i')"
	    " ORDER BY p.oid", NULL);
	if (!r)
		return pv_wrap("reading functions");
	for (int i = 0; i < PQntuples(r); i++) {
		const char *kw = pvc_val(r, i, 3)[0] == 'p' ? "PROCEDURE" : "FUNCTION";
		char *q = pv_qualify(rd->c, pvc_val(r, i, 1), pvc_val(r, i, 2));
		char *sig = pv_asprintf("%s(%s)", q, pvc_val(r, i, 5));
		char *sortname = pv_asprintf("%s(%s)", pvc_val(r, i, 2), pvc_val(r, i, 5));
		pv_obj *o = pv_graph_add(g, K_FUNCTION, PV_PRE, C_PG_PROC, pvc_oid(r, i, 0), pvc_val(r, i, 1),
		                         sortname);
		const char *def = pvc_val(r, i, 6);
		size_t n = strlen(def);
		while (n > 0 && (def[n - 1] == '\n' || def[n - 1] == ' '))
			n--;
		o->sql = pv_asprintf("%.*s;", (int)n, def);
		pvc_owner(rd, o, pvc_val(r, i, 4), kw, sig);
		o->acl_target = pv_asprintf("%s %s", kw, sig);
		pvc_target(rd, C_PG_PROC, o->oid, kw, sig);
		free(q);
		free(sig);
		free(sortname);
	}
	PQclear(r);
	return 0;
}

/* ---- relations ------------------------------------------------------------------------ */

typedef struct relinfo {
	pv_oid oid;
	char kind;
	pv_obj *obj;
	char *qname;
	pv_buf cols;     /* column definitions for CREATE */
	json_t *lcols;   /* local columns (CREATE TABLE ... INHERITS): [{name, text,
	                    text_inherited (without GENERATED)}] */
	json_t *generated; /* names of generated columns */
	pv_buf inh_extra; /* ALTERs needed only after CREATE TABLE ... INHERITS */
	pv_buf inh_items; /* table constraints of CREATE TABLE ... INHERITS (18+: a named NOT
	                     NULL of its own on a column from the parents) */
	pv_buf extra;    /* ALTERs after CREATE */
	json_t *colnames; /* every live column, in attnum order */
	json_t *colinfo;  /* tables: [{name, local, inh, notnull, addable, inh_sql}] per column */
	pv_obj *replay;   /* member of an inheritance family replayed: its ADD COLUMN entry */
	int prefix;       /* then: how many leading columns CREATE TABLE makes */
	pv_oid *parents; /* inheritance parents / partition parent, in inhseqno order */
	int nparents;
	int ispartition;
	char *partbound; /* FOR VALUES ... of a partition */
	char *partkey;   /* PARTITION BY ... of a partitioned table */
	char *oftype;    /* typed table: its type */
	char *server;    /* foreign table: SERVER x OPTIONS (...) */
	int hash_enum;   /* partitioned by hash of an enum: rows load through the root */
	pv_obj *attach;  /* partition: its ATTACH entry */
	char *using_am;  /* " USING am" for a table access method other than heap */
	json_t *copycols;
	char *withopts;  /* WITH (...) or NULL */
	char *check_option;
	char persistence;
	int populated;
	pv_oid seq_owner_table; /* sequences */
	pv_obj *seq_set;        /* its value entry (data section) */
	int seq_owner_col;
	char seq_deptype;
	pv_buf dummy;    /* views: "NULL::type AS col" list, the body of a loop repair's CREATE VIEW */
} relinfo;

#define IS_TABLE(k) ((k) == 'r' || (k) == 'p' || (k) == 'f')

typedef struct rels {
	relinfo *v;
	int n;
	pv_obj **replays; /* the ADD COLUMN entries of replayed inheritance families */
	int nreplays;
} rels;

static relinfo *
find_rel(rels *R, pv_oid oid)
{
	int lo = 0, hi = R->n - 1;
	while (lo <= hi) {
		int m = (lo + hi) / 2;
		if (R->v[m].oid == oid)
			return &R->v[m];
		if (R->v[m].oid < oid)
			lo = m + 1;
		else
			hi = m - 1;
	}
	return NULL;
}

/* Appends "k='v'" items (each key prefixed by `prefix`) from a reloptions text[] value to
 * items; check_option is taken out for views.  0, or -1 with the error set. */
static int
reloptions(reader *rd, const char *arr, const char *prefix, pv_buf *items, char **check_option)
{
	if (!arr || strcmp(arr, "{}") == 0)
		return 0;
	PGresult *r = pvc_query(rd, "SELECT pg_catalog.split_part(o, '=', 1), pg_catalog.substr(o, pg_catalog.strpos(o, '=') + 1)"
	                     " FROM pg_catalog.unnest($1::pg_catalog.text[]) o", arr);
	if (!r)
		return pv_wrap("reading storage parameters");
	for (int i = 0; i < PQntuples(r); i++) {
		const char *k = pvc_val(r, i, 0), *v = pvc_val(r, i, 1);
		if (check_option && strcmp(k, "check_option") == 0) {
			*check_option = pv_strdup(v);
			continue;
		}
		pv_buf_printf(items, "%s%s%s=", items->len ? ", " : "", prefix, k);
		pv_buf_literal(items, rd->c, v);
	}
	PQclear(r);
	return 0;
}

/* After the locks: how each table is built — inheritance parents, partition bounds and
 * keys, the type of a typed table, the server of a foreign table. */
static int
read_table_shapes(reader *rd, rels *R)
{
	PGresult *r = pvc_query(rd,
	    "SELECT c.oid, CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END,"
	    " CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END,"
	    " CASE WHEN c.reloftype <> 0 THEN pg_catalog.format_type(c.reloftype, NULL) END,"
	    " (SELECT pg_catalog.array_agg(i.inhparent ORDER BY i.inhseqno) FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid),"
	    " (SELECT pg_catalog.quote_ident(s.srvname) FROM pg_catalog.pg_foreign_table f"
	    "   JOIN pg_catalog.pg_foreign_server s ON s.oid = f.ftserver WHERE f.ftrelid = c.oid),"
	    " (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(o.option_name) || ' ' || pg_catalog.quote_literal(o.option_value), ', ')"
	    "   FROM pg_catalog.pg_foreign_table f, pg_catalog.pg_options_to_table(f.ftoptions) o WHERE f.ftrelid = c.oid),"
	    " EXISTS (SELECT 1 FROM pg_catalog.pg_partitioned_table pt, pg_catalog.unnest(pt.partclass) pc(oid), pg_catalog.pg_opclass oc"
	    "   WHERE pt.partrelid = c.oid AND pt.partstrat = 'h' AND oc.oid = pc.oid AND oc.opcname = 'enum_ops')"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(oid) JOIN pg_catalog.pg_class c ON c.oid = s.oid"
	    " WHERE c.relkind IN ('r', 'p', 'f')", rd->tabids.data);
	if (!r)
		return pv_wrap("reading table inheritance and partitioning");
	for (int i = 0; i < PQntuples(r); i++) {
		relinfo *ri = find_rel(R, pvc_oid(r, i, 0));
		if (!ri)
			continue;
		ri->partbound = pvc_val(r, i, 1) ? pv_strdup(pvc_val(r, i, 1)) : NULL;
		ri->partkey = pvc_val(r, i, 2) ? pv_strdup(pvc_val(r, i, 2)) : NULL;
		ri->oftype = pvc_val(r, i, 3) ? pv_strdup(pvc_val(r, i, 3)) : NULL;
		ri->hash_enum = pvc_bool(r, i, 7);
		if (pvc_val(r, i, 5))
			ri->server = pvc_val(r, i, 6) ? pv_asprintf("SERVER %s OPTIONS (%s)", pvc_val(r, i, 5), pvc_val(r, i, 6))
			                              : pv_asprintf("SERVER %s", pvc_val(r, i, 5));
		const char *p = pvc_val(r, i, 4); /* {1,2} */
		if (p) {
			ri->parents = pv_calloc(strlen(p), sizeof *ri->parents);
			for (p++; *p && *p != '}';) {
				char *end;
				ri->parents[ri->nparents++] = (pv_oid)strtoul(p, &end, 10);
				p = *end == ',' ? end + 1 : end;
			}
		}
	}
	PQclear(r);
	return 0;
}

static int
read_relations(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpersistence,"
	    " pg_catalog.pg_get_userbyid(c.relowner), c.reloptions, tc.reloptions, c.reltype,"
	    " c.relreplident, c.relispopulated, d.refobjid, d.refobjsubid, d.deptype,"
	    " c.relrowsecurity, c.relforcerowsecurity, c.relispartition,"
	    " (SELECT a.amname FROM pg_catalog.pg_am a WHERE a.oid = c.relam AND c.relkind IN ('r', 'm', 'p') AND a.amname <> 'heap')"
	    " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	    " LEFT JOIN pg_catalog.pg_class tc ON tc.oid = c.reltoastrelid"
	    " LEFT JOIN pg_catalog.pg_depend d ON c.relkind = 'S'"
	    "   AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.objsubid = 0"
	    "   AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i')"
	    " WHERE c.relkind IN ('r', 'v', 'm', 'S', 'p', 'f') AND c.oid >= 16384"
	    " AND n.nspname NOT LIKE 'pg\\_%' AND" NOT_EXT("pg_class", "c")
	    " ORDER BY c.oid", NULL);
	if (!r)
		return pv_wrap("reading relations");
	R->n = PQntuples(r);
	R->v = pv_calloc(R->n, sizeof *R->v);
	pv_buf lock = PV_BUF_INIT;
	int nlock = 0;
	for (int i = 0; i < R->n; i++) {
		relinfo *ri = &R->v[i];
		ri->oid = pvc_oid(r, i, 0);
		ri->kind = pvc_val(r, i, 3)[0];
		ri->persistence = pvc_val(r, i, 4)[0];
		ri->qname = pv_qualify(rd->c, pvc_val(r, i, 1), pvc_val(r, i, 2));
		ri->populated = pvc_bool(r, i, 10);
		ri->copycols = json_array();
		ri->colnames = json_array();
		ri->colinfo = json_array();
		ri->lcols = json_array();
		ri->generated = json_object();
		ri->ispartition = pvc_bool(r, i, 16);
		if (pvc_val(r, i, 17)) {
			char *am = pv_ident(rd->c, pvc_val(r, i, 17));
			ri->using_am = pv_asprintf(" USING %s", am);
			free(am);
		}
		int table = IS_TABLE(ri->kind);
		pv_kind k = table ? K_TABLE : ri->kind == 'v' ? K_VIEW
		            : ri->kind == 'm' ? K_MATVIEW : K_SEQUENCE;
		const char *kw = ri->kind == 'f' ? "FOREIGN TABLE" : table ? "TABLE"
		                 : ri->kind == 'v' ? "VIEW" : ri->kind == 'm' ? "MATERIALIZED VIEW" : "SEQUENCE";
		pv_obj *o = pv_graph_add(g, k, PV_PRE, C_PG_CLASS, ri->oid, pvc_val(r, i, 1), pvc_val(r, i, 2));
		ri->obj = o;
		pvc_target(rd, C_PG_CLASS, ri->oid, kw, ri->qname);
		pv_graph_alias(g, C_PG_TYPE, pvc_oid(r, i, 8), o); /* row type */
		o->acl_target = pv_asprintf("%s %s", ri->kind == 'S' ? "SEQUENCE" : "TABLE", ri->qname);
		if (ri->kind == 'S') {
			ri->seq_owner_table = pvc_oid(r, i, 11);
			ri->seq_owner_col = pvc_val(r, i, 12) ? atoi(pvc_val(r, i, 12)) : 0;
			ri->seq_deptype = pvc_val(r, i, 13) ? pvc_val(r, i, 13)[0] : 0;
		}
		if (ri->seq_deptype != 'i')
			pvc_owner(rd, o, pvc_val(r, i, 5), kw, ri->qname);
		pvc_oids_add(&rd->relids, ri->oid);
		if (table || ri->kind == 'm')
			pvc_oids_add(&rd->tabids, ri->oid);
		if (ri->kind == 'r' || ri->kind == 'p' || ri->kind == 'm' || ri->kind == 'v') {
			char **co = ri->kind == 'v' ? &ri->check_option : NULL;
			pv_buf items = PV_BUF_INIT;
			if (reloptions(rd, pvc_val(r, i, 6), "", &items, co) < 0 ||
			    reloptions(rd, pvc_val(r, i, 7), "toast.", &items, NULL) < 0) {
				pv_buf_free(&items);
				pv_buf_free(&lock);
				PQclear(r);
				return pv_wrap("reading relation %s", ri->qname);
			}
			if (items.len)
				ri->withopts = pv_asprintf("WITH (%s)", items.data);
			pv_buf_free(&items);
		}
		if (ri->kind == 'r' || ri->kind == 'p') {
			const char *ri_kind = pvc_val(r, i, 9);
			if (ri_kind[0] == 'f')
				pv_buf_printf(&ri->extra, "\nALTER TABLE ONLY %s REPLICA IDENTITY FULL;", ri->qname);
			else if (ri_kind[0] == 'n')
				pv_buf_printf(&ri->extra, "\nALTER TABLE ONLY %s REPLICA IDENTITY NOTHING;", ri->qname);
		}
		if (table && (pvc_bool(r, i, 14) || pvc_bool(r, i, 15))) {
			/* row security is switched on after the data is in */
			pv_obj *f = pv_graph_add(g, K_RLS, PV_POST, 0, 0, o->schema, o->name);
			pv_buf b = PV_BUF_INIT;
			if (pvc_bool(r, i, 14))
				pv_buf_printf(&b, "ALTER TABLE %s ENABLE ROW LEVEL SECURITY;\n", ri->qname);
			if (pvc_bool(r, i, 15))
				pv_buf_printf(&b, "ALTER TABLE %s FORCE ROW LEVEL SECURITY;\n", ri->qname);
			f->sql = pv_buf_detach(&b);
			pv_obj_dep(f, o);
		}
		if (ri->kind == 'r' || ri->kind == 'p') { /* (foreign tables cannot be locked) */
			pv_buf_printf(&lock, "%s%s", nlock ? ", " : "LOCK TABLE ONLY ", ri->qname);
			if (++nlock == 100) {
				pv_buf_puts(&lock, " IN ACCESS SHARE MODE");
				if (pv_exec(rd->c, lock.data) < 0) {
					pv_buf_free(&lock);
					PQclear(r);
					return pv_wrap("locking tables");
				}
				pv_buf_reset(&lock);
				nlock = 0;
			}
		}
	}
	PQclear(r);
	if (nlock) {
		pv_buf_puts(&lock, " IN ACCESS SHARE MODE");
		if (pv_exec(rd->c, lock.data) < 0) {
			pv_buf_free(&lock);
			return pv_wrap("locking tables");
		}
	}
	pv_buf_free(&lock);
	pvc_oids(&rd->relids);
	pvc_oids(&rd->tabids);
	return read_table_shapes(rd, R);
}

/* The sequence of an identity column (read by read_sequences), or NULL. */
static const relinfo *
identity_sequence(const rels *R, pv_oid table, int attnum)
{
	for (int k = 0; k < R->n; k++) {
		const relinfo *si = &R->v[k];
		if (si->kind == 'S' && si->seq_deptype == 'i' && si->seq_owner_table == table &&
		    si->seq_owner_col == attnum && si->obj->extra)
			return si;
	}
	return NULL;
}

/* Column r,i (read_columns) of ri has a valid NOT NULL: its clause in a column definition.
 * 18+: named when the name is not the default <table>_<column>_not_null (as pg_dump). */
static char *
notnull_clause(reader *rd, relinfo *ri, PGresult *r, int i)
{
	const char *name = pvc_val(r, i, 20);
	const char *noinh = pvc_bool(r, i, 21) ? " NO INHERIT" : "";
	if (!name)
		return pv_strdup(" NOT NULL");
	char *dflt = pv_asprintf("%s_%s_not_null", ri->obj->name, pvc_val(r, i, 2));
	int is_default = strcmp(dflt, name) == 0;
	free(dflt);
	if (is_default)
		return pv_asprintf(" NOT NULL%s", noinh);
	char *qn = pv_ident(rd->c, name);
	char *s = pv_asprintf(" CONSTRAINT %s NOT NULL%s", qn, noinh);
	free(qn);
	return s;
}

/* The same NOT NULL added to a column that came from the parents (an inherited one of 18+
 * with the same name is then marked local, as in the source). */
static char *
notnull_alter(reader *rd, relinfo *ri, PGresult *r, int i, const char *qcol)
{
	const char *name = pvc_val(r, i, 20);
	char *dflt = name ? pv_asprintf("%s_%s_not_null", ri->obj->name, pvc_val(r, i, 2)) : NULL;
	int plain = !name || (strcmp(dflt, name) == 0 && !pvc_bool(r, i, 21));
	free(dflt);
	if (plain)
		return pv_asprintf("\nALTER TABLE ONLY %s ALTER COLUMN %s SET NOT NULL;", ri->qname, qcol);
	char *qn = pv_ident(rd->c, name);
	char *s = pv_asprintf("\nALTER TABLE ONLY %s ADD CONSTRAINT %s NOT NULL %s%s;", ri->qname, qn,
	                      qcol, pvc_bool(r, i, 21) ? " NO INHERIT" : "");
	free(qn);
	return s;
}

/* b->data from start, without the spans [g0, g1) and [n0, n1) (n0 >= g1) */
static char *
col_text(const pv_buf *b, size_t start, size_t g0, size_t g1, size_t n0, size_t n1)
{
	pv_buf t = PV_BUF_INIT;
	if (g1 > g0) {
		pv_buf_add(&t, b->data + start, g0 - start);
		start = g1;
	}
	pv_buf_add(&t, b->data + start, n0 - start);
	pv_buf_puts(&t, b->data + n1);
	return pv_buf_detach(&t);
}

static int
read_columns(reader *rd, rels *R)
{
	const char *compression = rd->v >= 140000 ? "a.attcompression::text" : "''::text";
	/* 18+: a column's NOT NULL is a named pg_constraint row (NO INHERIT, NOT VALID, local
	 * or inherited like a CHECK); before, only attnotnull */
	const char *notnull = rd->v >= 180000
	    ? "nn.conname, nn.connoinherit, nn.conislocal, nn.convalidated"
	    : "NULL::pg_catalog.name, false, true, true";
	const char *notnull_join = rd->v >= 180000
	    ? " LEFT JOIN pg_catalog.pg_constraint nn ON nn.conrelid = a.attrelid AND nn.contype = 'n'"
	      " AND nn.conkey = ARRAY[a.attnum]"
	    : "";
	char *sql = pv_asprintf(
	    "SELECT a.attrelid, a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),"
	    " a.attnotnull, a.attidentity, a.attgenerated, a.attisdropped,"
	    " CASE WHEN a.attcollation <> t.typcollation THEN cn.nspname END,"
	    " CASE WHEN a.attcollation <> t.typcollation THEN co.collname END,"
	    " a.attstattarget, a.attstorage, t.typstorage, %s,"
	    " (SELECT pg_catalog.string_agg(o, ', ') FROM pg_catalog.unnest(a.attoptions) o"
	    "   WHERE pg_catalog.split_part(o, '=', 1) IN ('n_distinct', 'n_distinct_inherited')),"
	    " CASE WHEN a.attgenerated <> '' THEN pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) END,"
	    " a.attislocal, ad.oid IS NOT NULL,"
	    " (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(o.option_name) || ' ' || pg_catalog.quote_literal(o.option_value), ', ')"
	    "   FROM pg_catalog.pg_options_to_table(a.attfdwoptions) o), a.attinhcount, %s"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(relid)"
	    " JOIN pg_catalog.pg_attribute a ON a.attrelid = s.relid"
	    " LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
	    " LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation"
	    " LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace"
	    " LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum%s"
	    " WHERE a.attnum > 0 ORDER BY a.attrelid, a.attnum", compression, notnull, notnull_join);
	PGresult *r = pvc_query(rd, sql, rd->relids.data);
	free(sql);
	if (!r)
		return pv_wrap("reading columns");
	int bad = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		pv_oid relid = pvc_oid(r, i, 0);
		if (pvc_bool(r, i, 7))
			continue; /* dropped */
		relinfo *ri = find_rel(R, relid);
		pv_obj *comp = ri ? NULL : find_composite(rd, relid);
		const char *name = pvc_val(r, i, 2);
		char *col = pv_ident(rd->c, name);
		pv_buf *b;
		pv_buf tmp = PV_BUF_INIT;
		if (ri)
			b = &ri->cols;
		else if (comp)
			b = &tmp;
		else {
			free(col);
			continue;
		}
		if (b == &tmp && comp->sql)
			pv_buf_puts(b, comp->sql); /* the columns so far */
		if (b->len)
			pv_buf_putc(b, ',');
		size_t start = b->len;
		pv_buf_printf(b, "\n    %s", col);
		if (ri)
			bad |= pvj_append_str(ri->colnames, name);
		if (ri && !IS_TABLE(ri->kind) && ri->kind != 'm') {
			/* view columns come from the query; typed NULLs in case of a loop (cat_loops.c) */
			if (ri->kind == 'v') {
				pv_buf_printf(&ri->dummy, "%s\n    NULL::%s", ri->dummy.len ? "," : "", pvc_val(r, i, 3));
				pvc_collate_clause(&ri->dummy, rd->c, pvc_val(r, i, 8), pvc_val(r, i, 9));
				pv_buf_printf(&ri->dummy, " AS %s", col);
			}
			free(col);
			continue;
		}
		if (!ri || IS_TABLE(ri->kind)) {
			pv_buf_printf(b, " %s", pvc_val(r, i, 3));
			if (ri && ri->kind == 'f' && pvc_val(r, i, 18))
				pv_buf_printf(b, " OPTIONS (%s)", pvc_val(r, i, 18));
			pvc_collate_clause(b, rd->c, pvc_val(r, i, 8), pvc_val(r, i, 9));
		}
		if (ri && IS_TABLE(ri->kind)) {
			const char *gen = pvc_val(r, i, 6);
			size_t gstart = b->len;
			if (gen && (gen[0] == 's' || gen[0] == 'v')) /* 18+: virtual */
				pv_buf_printf(b, " GENERATED ALWAYS AS (%s) %s", pvc_val(r, i, 15),
				              gen[0] == 's' ? "STORED" : "VIRTUAL");
			size_t gend = b->len;
			const char *ident = pvc_val(r, i, 5);
			const relinfo *si = ident && ident[0] ? identity_sequence(R, ri->oid, atoi(pvc_val(r, i, 1))) : NULL;
			/* 17+: a partition's identity column without a sequence of its own is the
			 * partitioned table's, which ATTACH PARTITION gives it (and refuses one made
			 * before) */
			if (ri->ispartition && !si && rd->v >= 170000)
				ident = NULL;
			if (ident && (ident[0] == 'a' || ident[0] == 'd')) {
				pv_buf_printf(b, " GENERATED %s AS IDENTITY", ident[0] == 'a' ? "ALWAYS" : "BY DEFAULT");
				if (si)
					pv_buf_printf(b, " (SEQUENCE NAME %s%s)", si->qname,
					              json_string_value(json_object_get(si->obj->extra, "opts")));
			}
			/* NOT VALID ones are added after the data (read_constraints) */
			int nn = pvc_bool(r, i, 4) && pvc_bool(r, i, 23);
			int nn_local = nn && pvc_bool(r, i, 22);
			char *nn_clause = nn ? notnull_clause(rd, ri, r, i) : NULL;
			size_t nstart = b->len;
			if (nn)
				pv_buf_puts(b, nn_clause);
			size_t nend = b->len;
			char *nn_sql = nn_local ? notnull_alter(rd, ri, r, i, col) : NULL;
			if (!(gen && gen[0]))
				bad |= pvj_append_str(ri->copycols, name);
			else
				bad |= pvj_set_bool(ri->generated, name, 1);
			if (pvc_bool(r, i, 16)) {
				/* local (or merged) column: also in CREATE TABLE ... INHERITS */
				/* both forms: an inherited generated column takes its parent's expression
				 * in CREATE TABLE ... INHERITS (decided once the parents are known) */
				/* 18+: a NOT NULL only inherited is left to the parents there */
				size_t ncut = nn_local ? nend : nstart;
				json_t *lc = json_object();
				bad |= pvj_set_str(lc, "name", name);
				char *text = col_text(b, start, 0, 0, ncut, nend);
				bad |= pvj_set_str(lc, "text", text);
				free(text);
				if (atoi(pvc_val(r, i, 19)) > 0 && gend > gstart) {
					text = col_text(b, start, gstart, gend, ncut, nend);
					bad |= pvj_set_str(lc, "text_inherited", text);
					free(text);
				}
				bad |= pvj_append(ri->lcols, lc);
			}
			pv_buf inh_sql = PV_BUF_INIT;
			if (!pvc_bool(r, i, 16)) {
				/* inherited only: comes from the parents then, with their default and
				 * NOT NULL unless the child differs */
				if (!pvc_bool(r, i, 17) && !(gen && gen[0]))
					pv_buf_printf(&inh_sql, "\nALTER TABLE ONLY %s ALTER COLUMN %s DROP DEFAULT;",
					              ri->qname, col);
				size_t before_nn = inh_sql.len;
				if (nn_local)
					pv_buf_puts(&inh_sql, nn_sql);
				/* 18+: a named one is a table constraint of CREATE TABLE ... INHERITS, which
				 * merges it with the parents' under its own name (added after, it would be
				 * a second NOT NULL on the column); a replayed column only has the ALTER */
				if (nn_local && pvc_val(r, i, 20)) {
					char *qn = pv_ident(rd->c, pvc_val(r, i, 20));
					pv_buf_printf(&ri->inh_items, ",\n    CONSTRAINT %s NOT NULL %s%s", qn, col,
					              pvc_bool(r, i, 21) ? " NO INHERIT" : "");
					free(qn);
					if (before_nn)
						pv_buf_add(&ri->inh_extra, inh_sql.data, before_nn);
				} else
					pv_buf_puts(&ri->inh_extra, inh_sql.len ? inh_sql.data : "");
			}
			json_t *ci = json_object();
			bad |= pvj_set_str(ci, "name", name);
			bad |= pvj_set_bool(ci, "local", pvc_bool(r, i, 16));
			bad |= pvj_set_int(ci, "inh", atoi(pvc_val(r, i, 19)));
			bad |= pvj_set_bool(ci, "notnull", nn);
			bad |= pvj_set_bool(ci, "addable", !(gen && gen[0]) && !(ident && ident[0]));
			bad |= pvj_set_bool(ci, "identity", ident && ident[0]);
			bad |= pvj_set_str(ci, "inh_sql", inh_sql.len ? inh_sql.data : "");
			bad |= pvj_set_str(ci, "nn_sql", nn_local ? nn_sql : "");
			bad |= pvj_append(ri->colinfo, ci);
			pv_buf_free(&inh_sql);
			free(nn_sql);
			free(nn_clause);
		}
		if (ri) {
			/* per-column settings: tables and materialized views */
			int stat = pvc_val(r, i, 10) ? atoi(pvc_val(r, i, 10)) : -1;
			if (stat >= 0)
				pv_buf_printf(&ri->extra, "\nALTER TABLE ONLY %s ALTER COLUMN %s SET STATISTICS %d;",
				              ri->qname, col, stat);
			if (strcmp(pvc_val(r, i, 11), pvc_val(r, i, 12)) != 0) {
				static const struct { char c; const char *w; } st[] = {
				    {'p', "PLAIN"}, {'e', "EXTERNAL"}, {'m', "MAIN"}, {'x', "EXTENDED"}};
				for (int s = 0; s < 4; s++)
					if (pvc_val(r, i, 11)[0] == st[s].c)
						pv_buf_printf(&ri->extra, "\nALTER TABLE ONLY %s ALTER COLUMN %s SET STORAGE %s;",
						              ri->qname, col, st[s].w);
			}
			const char *cm = pvc_val(r, i, 13);
			if (cm && cm[0] == 'p')
				pv_buf_printf(&ri->extra, "\nALTER TABLE ONLY %s ALTER COLUMN %s SET COMPRESSION pglz;", ri->qname, col);
			else if (cm && cm[0] == 'l')
				pv_buf_printf(&ri->extra, "\nALTER TABLE ONLY %s ALTER COLUMN %s SET COMPRESSION lz4;", ri->qname, col);
			if (pvc_val(r, i, 14) && *pvc_val(r, i, 14))
				pv_buf_printf(&ri->extra, "\nALTER TABLE ONLY %s ALTER COLUMN %s SET (%s);",
				              ri->qname, col, pvc_val(r, i, 14));
		}
		if (b == &tmp) {
			free(comp->sql);
			comp->sql = pv_buf_detach(&tmp);
		}
		free(col);
	}
	PQclear(r);
	if (bad)
		return pv_wrap("reading columns");
	/* close composite type definitions */
	for (int i = 0; i < rd->ncomposites; i++) {
		pv_obj *o = rd->composites[i];
		char *q = pv_qualify(rd->c, o->schema, o->name);
		char *s = pv_asprintf("CREATE TYPE %s AS (%s\n);", q, o->sql ? o->sql : "");
		free(q);
		free(o->sql);
		o->sql = s;
	}
	return 0;
}

static int
read_sequences(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT s.seqrelid, pg_catalog.format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,"
	    " s.seqmax, s.seqmin, s.seqcache, s.seqcycle"
	    " FROM pg_catalog.pg_sequence s WHERE s.seqrelid = ANY ($1::pg_catalog.oid[])", rd->relids.data);
	if (!r)
		return pv_wrap("reading sequences");
	pv_buf vals = PV_BUF_INIT;
	int bad = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		relinfo *ri = find_rel(R, pvc_oid(r, i, 0));
		if (!ri)
			continue;
		pv_buf opts = PV_BUF_INIT; /* all but AS type */
		char *astype = strcmp(pvc_val(r, i, 1), "bigint") != 0 ? pv_asprintf(" AS %s", pvc_val(r, i, 1))
		                                                         : pv_strdup("");
		pv_buf_printf(&opts, " START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s%s",
		              pvc_val(r, i, 2), pvc_val(r, i, 3), pvc_val(r, i, 5), pvc_val(r, i, 4), pvc_val(r, i, 6),
		              pvc_bool(r, i, 7) ? " CYCLE" : "");
		pv_obj *o = ri->obj;
		if (ri->seq_deptype == 'i') {
			/* identity: created by the table's column definition */
			relinfo *t = find_rel(R, ri->seq_owner_table);
			if (t) {
				json_t *j = json_object();
				bad |= pvj_set_str(j, "seq", ri->qname);
				/* AS type is implied by the column; persistence only when it differs
				 * from the table's */
				char *io = pv_asprintf("%s%s", ri->persistence == t->persistence ? ""
				                       : ri->persistence == 'u' ? " UNLOGGED" : " LOGGED", opts.data);
				bad |= pvj_set_str(j, "opts", io);
				free(io);
				/* remember on the sequence; read_columns() writes it into the column */
				o->extra = j;
				pv_obj_dep(o, t->obj);
			}
		} else {
			o->sql = pv_asprintf("CREATE %sSEQUENCE %s%s%s;", ri->persistence == 'u' ? "UNLOGGED " : "",
			                     ri->qname, astype, opts.data);
			if (ri->seq_deptype == 'a' && ri->seq_owner_col > 0) {
				relinfo *t = find_rel(R, ri->seq_owner_table);
				if (t) {
					pv_obj *ob = pv_graph_add(g, K_SEQ_OWNED, PV_PRE, 0, 0, o->schema, o->name);
					/* column name resolved in finish_identity() via extra */
					json_t *j = json_object();
					bad |= pvj_set_int(j, "table", t->oid);
					bad |= pvj_set_int(j, "col", ri->seq_owner_col);
					ob->extra = j;
					pv_obj_dep(ob, o);
					pv_obj_dep(ob, t->obj);
				}
			}
		}
		pv_buf_free(&opts);
		free(astype);
		/* its value, set in the data section */
		pv_obj *sv = pv_graph_add(g, K_SEQ_SET, PV_DATA, 0, 0, o->schema, o->name);
		ri->seq_set = sv;
		pv_obj_dep(sv, o);
		sv->extra = json_object();
		relinfo *owner_table = ri->seq_deptype ? find_rel(R, ri->seq_owner_table) : NULL;
		if (owner_table)
			bad |= pvj_set_str(sv->extra, "owned_by", owner_table->qname);
		pv_buf_printf(&vals, "%sSELECT %u::pg_catalog.oid, last_value, is_called FROM %s",
		              vals.len ? " UNION ALL " : "", ri->oid, ri->qname);
	}
	PQclear(r);
	if (bad) {
		pv_buf_free(&vals);
		return pv_wrap("reading sequences");
	}
	if (vals.len) {
		r = pvc_query(rd, vals.data, NULL);
		if (!r) {
			pv_buf_free(&vals);
			return pv_wrap("reading sequence values");
		}
		for (int i = 0; i < PQntuples(r); i++) {
			relinfo *ri = find_rel(R, pvc_oid(r, i, 0));
			if (!ri || !ri->seq_set)
				continue;
			char *lit = pv_literal(rd->c, ri->qname);
			ri->seq_set->sql = pv_asprintf("SELECT pg_catalog.setval(%s, %s, %s);", lit, pvc_val(r, i, 1),
			                               pvc_bool(r, i, 2) ? "true" : "false");
			free(lit);
		}
		PQclear(r);
	}
	pv_buf_free(&vals);
	return 0;
}

/* OWNED BY entries get their column names; identity sequences are done (read_columns()
 * wrote their options into the owning column's definition). */
static int
finish_sequences(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT a.attrelid, a.attnum, a.attname FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(relid)"
	    " JOIN pg_catalog.pg_attribute a ON a.attrelid = s.relid WHERE a.attnum > 0 AND NOT a.attisdropped"
	    " ORDER BY 1, 2", rd->relids.data);
	if (!r)
		return pv_wrap("reading column names");
	for (int k = 0; k < pv_graph_count(g); k++) {
		pv_obj *o = pv_graph_get(g, k);
		if (o->kind == K_SEQ_OWNED && o->extra) {
			pv_oid t = (pv_oid)json_integer_value(json_object_get(o->extra, "table"));
			int col = (int)json_integer_value(json_object_get(o->extra, "col"));
			relinfo *ti = find_rel(R, t);
			relinfo *si = find_rel(R, o->deps[0] >= 0 ? pv_graph_get(g, o->deps[0])->oid : 0);
			for (int i = 0; i < PQntuples(r); i++)
				if (pvc_oid(r, i, 0) == t && atoi(pvc_val(r, i, 1)) == col && ti && si) {
					char *c = pv_ident(rd->c, pvc_val(r, i, 2));
					o->sql = pv_asprintf("ALTER SEQUENCE %s OWNED BY %s.%s;", si->qname, ti->qname, c);
					free(c);
				}
			json_decref(o->extra);
			o->extra = NULL;
		}
	}
	PQclear(r);
	/* identity: read_columns() put the sequence options into the column definition */
	for (int k = 0; k < R->n; k++) {
		relinfo *si = &R->v[k];
		if (si->kind == 'S' && si->seq_deptype == 'i' && si->obj->extra) {
			json_decref(si->obj->extra);
			si->obj->extra = NULL;
		}
	}
	return 0;
}

static int
read_defaults(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT d.oid, d.adrelid, a.attname, pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attgenerated"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(relid)"
	    " JOIN pg_catalog.pg_attrdef d ON d.adrelid = s.relid"
	    " JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum"
	    " ORDER BY d.adrelid, d.adnum", rd->relids.data);
	if (!r)
		return pv_wrap("reading column defaults");
	for (int i = 0; i < PQntuples(r); i++) {
		relinfo *ri = find_rel(R, pvc_oid(r, i, 1));
		if (!ri)
			continue;
		if (pvc_val(r, i, 4) && pvc_val(r, i, 4)[0]) {
			/* generation expression: inline in CREATE TABLE */
			pv_graph_alias(g, C_PG_ATTRDEF, pvc_oid(r, i, 0), ri->obj);
			continue;
		}
		pv_obj *o = pv_graph_add(g, K_DEFAULT, PV_PRE, C_PG_ATTRDEF, pvc_oid(r, i, 0),
		                         ri->obj->schema, ri->obj->name);
		char *col = pv_ident(rd->c, pvc_val(r, i, 2));
		o->sql = pv_asprintf("ALTER %s %s ALTER COLUMN %s SET DEFAULT %s;",
		                     ri->kind == 'v' ? "VIEW" : "TABLE ONLY", ri->qname, col, pvc_val(r, i, 3));
		free(col);
		pv_obj_dep(o, ri->obj);
	}
	PQclear(r);
	return 0;
}

/* A CHECK or (18+) NOT NULL constraint a table has only from its parents. */
typedef struct {
	pv_oid oid;
	relinfo *rel;
	int valid;
	const char *name;
	const char *parents; /* the parents' constraints: "oid oid ..." or NULL */
	int same_name;       /* all of them have its name */
	int done;
} inh_con;

/* The object that creates the parent constraint oid p: NULL while p is itself an inherited
 * one not resolved yet (*wait set), or when nothing creates it (not dumped).  *valid is set
 * when the restore makes p valid (a child is valid when one of its parents' is). */
static pv_obj *
parent_con_obj(pv_graph *g, const inh_con *inh, int ninh, pv_oid p, int *wait, int *valid)
{
	for (int k = 0; k < ninh; k++)
		if (inh[k].oid == p) {
			if (!inh[k].done)
				*wait = 1;
			*valid |= inh[k].valid;
			return inh[k].done ? pv_graph_lookup(g, C_PG_CONSTRAINT, p) : NULL;
		}
	pv_obj *o = pv_graph_lookup(g, C_PG_CONSTRAINT, p);
	if (o && o->kind != K_CHECK_LATE)
		*valid = 1; /* not added NOT VALID */
	return o;
}

/* An inherited constraint exists once its table and one parent's constraint do.  When every
 * parent's comes with the parent's CREATE TABLE (an inline NOT NULL) the child's table
 * stands for it; otherwise it is an object of its own after the parents' constraint objects,
 * so that its comment follows them — and when the source validated it on the child while all its
 * parents' stay NOT VALID, that object validates it there (18's regression database). */
static int
resolve_inherited(reader *rd, inh_con *inh, int ninh)
{
	pv_graph *g = rd->cat->g;
	int left = ninh, progress = 1;
	while (left && progress) {
		progress = 0;
		for (int i = 0; i < ninh; i++) {
			if (inh[i].done)
				continue;
			pv_obj *ps[64];
			int np = 0, wait = 0, valid = 0, own = 0;
			for (const char *s = inh[i].parents; s && *s;) {
				char *end;
				pv_oid p = (pv_oid)strtoul(s, &end, 10);
				if (end == s)
					break;
				s = end;
				pv_obj *o = parent_con_obj(g, inh, ninh, p, &wait, &valid);
				if (o && np < 64) {
					ps[np++] = o;
					own |= o->classid == C_PG_CONSTRAINT;
				}
			}
			if (wait)
				continue;
			relinfo *ri = inh[i].rel;
			/* (by its name: the one the restore gives it when all parents' have it) */
			int validate = inh[i].valid && !valid && np && inh[i].same_name;
			if (!own && !validate) {
				pv_graph_alias(g, C_PG_CONSTRAINT, inh[i].oid, ri->obj);
			} else {
				pv_obj *o = pv_graph_add(g, validate ? K_CHECK_LATE : K_CHECK, validate ? PV_POST : PV_PRE,
				                         C_PG_CONSTRAINT, inh[i].oid, ri->obj->schema, inh[i].name);
				if (validate) {
					char *cn = pv_ident(rd->c, inh[i].name);
					/* not ONLY: the source's children are valid too (validating recurses) */
					o->sql = pv_asprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s;", ri->qname, cn);
					free(cn);
				}
				pv_obj_dep(o, ri->obj);
				for (int k = 0; k < np; k++)
					pv_obj_dep(o, ps[k]);
			}
			inh[i].done = 1;
			left--;
			progress = 1;
		}
	}
	if (left)
		return pv_fail("reading constraints: %d inherited constraint(s) whose parents form a loop", left);
	return 0;
}

static int
read_constraints(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	struct { pv_oid oid, root; } *clones = NULL;
	int nclones = 0;
	PGresult *r = pvc_query(rd,
	    "SELECT c.oid, c.conrelid, c.conname, c.contype, pg_catalog.pg_get_constraintdef(c.oid),"
	    " c.convalidated, c.conislocal, c.conindid,"
	    /* the root of a foreign key cloned onto partitions */
	    " (WITH RECURSIVE up(oid, parent) AS (SELECT c.oid, c.conparentid"
	    "   UNION ALL SELECT p.oid, p.conparentid FROM up JOIN pg_catalog.pg_constraint p ON p.oid = up.parent)"
	    "   SELECT up.oid FROM up WHERE up.parent = 0),"
	    " inh.parents, inh.same_name"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(relid)"
	    " JOIN pg_catalog.pg_constraint c ON c.conrelid = s.relid"
	    /* an inherited CHECK / NOT NULL: the parents' (a CHECK of the same name, a NOT NULL
	     * on the same column, whatever its name) */
	    " LEFT JOIN LATERAL (SELECT pg_catalog.string_agg(p.oid::pg_catalog.text, ' ' ORDER BY h.inhseqno),"
	    "   pg_catalog.bool_and(p.conname = c.conname)"
	    "   FROM pg_catalog.pg_inherits h JOIN pg_catalog.pg_constraint p ON p.conrelid = h.inhparent"
	    "   AND p.contype = c.contype"
	    "   WHERE h.inhrelid = c.conrelid AND NOT c.conislocal AND c.contype IN ('c', 'n')"
	    "   AND CASE WHEN c.contype = 'c' THEN p.conname = c.conname"
	    "     ELSE (SELECT a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = p.conrelid AND a.attnum = p.conkey[1])"
	    "        = (SELECT a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = c.conkey[1]) END"
	    " ) inh(parents, same_name) ON true"
	    " ORDER BY c.conrelid, c.conname", rd->tabids.data);
	if (!r)
		return pv_wrap("reading constraints");
	inh_con *inh = pv_calloc((size_t)PQntuples(r) + 1, sizeof *inh);
	int ninh = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		relinfo *ri = find_rel(R, pvc_oid(r, i, 1));
		if (!ri)
			continue;
		pv_oid coid = pvc_oid(r, i, 0);
		char type = pvc_val(r, i, 3)[0];
		char *cn = pv_ident(rd->c, pvc_val(r, i, 2));
		char *tq = pv_asprintf("%s ON %s", cn, ri->qname);
		pvc_target(rd, C_PG_CONSTRAINT, coid, "CONSTRAINT", tq);
		const char *def = pvc_val(r, i, 4);
		if ((type == 'c' || type == 'n') && !pvc_bool(r, i, 6)) {
			/* inherited only: the parents' constraint reaches it (resolved below) */
			inh[ninh].oid = coid;
			inh[ninh].rel = ri;
			inh[ninh].valid = pvc_bool(r, i, 5);
			inh[ninh].name = pvc_val(r, i, 2);
			inh[ninh].same_name = pvc_bool(r, i, 10);
			inh[ninh++].parents = pvc_val(r, i, 9);
		} else if (type == 'n' && pvc_bool(r, i, 5)) {
			/* 18+: a valid NOT NULL is made with its column (read_columns) */
			pv_graph_alias(g, C_PG_CONSTRAINT, coid, ri->obj);
		} else if (type == 'n') {
			/* 18+: NOT VALID, after the data (rows may be NULL); not ONLY, so that it
			 * reaches the children as in the source */
			pv_obj *o = pv_graph_add(g, K_CHECK_LATE, PV_POST, C_PG_CONSTRAINT, coid,
			                         ri->obj->schema, pvc_val(r, i, 2));
			o->sql = pv_asprintf("ALTER TABLE %s ADD CONSTRAINT %s %s;", ri->qname, cn, def);
			pv_obj_dep(o, ri->obj);
		} else if (type == 'f' && pvc_oid(r, i, 8) != coid) {
			/* a foreign key cloned from a partitioned table's (or onto the partitions of a
			 * referenced partitioned table): the root one creates it */
			clones = pv_realloc(clones, (size_t)(nclones + 1) * sizeof *clones);
			clones[nclones].oid = coid;
			clones[nclones++].root = pvc_oid(r, i, 8);
		} else if (type == 'c' || type == 'p' || type == 'u' || type == 'x' || type == 'f') {
			/* A validated CHECK is added right after its table, before the data: a separate
			 * statement (rather than inline) so that a CHECK calling a function that takes
			 * the table's row type is no dependency loop.  NOT VALID ones come after the
			 * data, so that rows violating them still load. */
			int pre = type == 'c' && pvc_bool(r, i, 5);
			pv_kind k = type == 'f' ? K_FK : pre ? K_CHECK : type == 'c' ? K_CHECK_LATE : K_CONSTRAINT;
			pv_obj *o = pv_graph_add(g, k, pre ? PV_PRE : PV_POST, C_PG_CONSTRAINT, coid,
			                         ri->obj->schema, pvc_val(r, i, 2));
			o->sql = pv_asprintf("ALTER TABLE %s%s ADD CONSTRAINT %s %s;",
			                     type == 'c' || (type == 'f' && ri->kind == 'p') ? "" : "ONLY ",
			                     ri->qname, cn, def);
			pv_obj_dep(o, ri->obj);
			if (type != 'c' && type != 'f')
				pv_graph_alias(g, C_PG_CLASS, pvc_oid(r, i, 7), o);
		}
		/* 't' constraint triggers are created by their trigger */
		free(cn);
		free(tq);
	}
	int rc = resolve_inherited(rd, inh, ninh);
	free(inh);
	PQclear(r);
	if (rc)
		return rc;
	for (int i = 0; i < nclones; i++) {
		pv_obj *root = pv_graph_lookup(g, C_PG_CONSTRAINT, clones[i].root);
		if (root)
			pv_graph_alias(g, C_PG_CONSTRAINT, clones[i].oid, root);
	}
	free(clones);
	return 0;
}

static int
read_indexes(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT i.indexrelid, i.indrelid, n.nspname, ic.relname, pg_catalog.pg_get_indexdef(i.indexrelid),"
	    " i.indisclustered, i.indisreplident, i.indisvalid AND i.indisready,"
	    " (SELECT pg_catalog.string_agg(a.attnum || ' ' || a.attstattarget, ',') FROM pg_catalog.pg_attribute a"
	    "   WHERE a.attrelid = i.indexrelid AND a.attstattarget >= 0),"
	    " (SELECT h.inhparent FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.indexrelid), ic.relkind"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(relid)"
	    " JOIN pg_catalog.pg_index i ON i.indrelid = s.relid"
	    " JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
	    " JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace"
	    " ORDER BY i.indexrelid", rd->tabids.data);
	if (!r)
		return pv_wrap("reading indexes");
	int nidx = PQntuples(r);
	struct { pv_oid oid, parent; char *qname, *name; relinfo *rel; } *ix = pv_calloc((size_t)nidx + 1, sizeof *ix);
	for (int i = 0; i < nidx; i++) {
		relinfo *ri = find_rel(R, pvc_oid(r, i, 1));
		if (!ri)
			continue;
		pv_oid ioid = pvc_oid(r, i, 0);
		char *iq = pv_qualify(rd->c, pvc_val(r, i, 2), pvc_val(r, i, 3));
		ix[i].oid = ioid;
		ix[i].parent = pvc_oid(r, i, 9);
		ix[i].qname = pv_strdup(iq);
		ix[i].name = pv_strdup(pvc_val(r, i, 3));
		ix[i].rel = ri;
		pvc_target(rd, C_PG_CLASS, ioid, "INDEX", iq);
		pv_obj *owner = pv_graph_lookup(g, C_PG_CLASS, ioid); /* a constraint's index */
		pv_buf extra = PV_BUF_INIT;
		char *in = pv_ident(rd->c, pvc_val(r, i, 3)); /* unqualified: the table's schema */
		if (pvc_bool(r, i, 5))
			pv_buf_printf(&extra, "\nALTER TABLE %s CLUSTER ON %s;", ri->qname, in);
		if (pvc_bool(r, i, 6))
			pv_buf_printf(&extra, "\nALTER TABLE ONLY %s REPLICA IDENTITY USING INDEX %s;",
			              ri->qname, in);
		free(in);
		if (pvc_val(r, i, 8)) {
			const char *p = pvc_val(r, i, 8);
			while (*p) {
				int num, st, used = 0;
				if (sscanf(p, "%d %d%n", &num, &st, &used) != 2)
					break;
				pv_buf_printf(&extra, "\nALTER INDEX %s ALTER COLUMN %d SET STATISTICS %d;", iq, num, st);
				p += used;
				if (*p == ',')
					p++;
			}
		}
		if (owner) {
			if (extra.len) {
				char *s = pv_asprintf("%s%s", owner->sql, extra.data);
				free(owner->sql);
				owner->sql = s;
			}
		} else if (!pvc_bool(r, i, 7) && pvc_val(r, i, 10)[0] != 'I') {
			/* (a partitioned index is invalid until every partition has its index) */
			pv_warn("skipping invalid index %s (left over from a failed CREATE INDEX CONCURRENTLY?)", iq);
			char *w = pv_asprintf("skipped invalid index %s", iq);
			(void)pvj_append_str(rd->cat->warnings, w); /* a string into an array: cannot fail */
			free(w);
		} else {
			pv_obj *o = pv_graph_add(g, K_INDEX, PV_POST, C_PG_CLASS, ioid, pvc_val(r, i, 2), pvc_val(r, i, 3));
			o->sql = pv_asprintf("%s;%s", pvc_val(r, i, 4), extra.len ? extra.data : "");
			pv_obj_dep(o, ri->obj);
		}
		pv_buf_free(&extra);
		free(iq);
	}
	PQclear(r);
	/* a partition's index is attached to its parent's partitioned index */
	for (int i = 0; i < nidx; i++) {
		if (!ix[i].parent)
			continue;
		pv_obj *child = pv_graph_lookup(g, C_PG_CLASS, ix[i].oid);
		pv_obj *parent = pv_graph_lookup(g, C_PG_CLASS, ix[i].parent);
		const char *pq = NULL;
		relinfo *prel = NULL;
		for (int j = 0; j < nidx; j++)
			if (ix[j].oid == ix[i].parent) {
				pq = ix[j].qname;
				prel = ix[j].rel;
			}
		if (!child || !parent || !pq)
			continue;
		pv_obj *at = pv_graph_add(g, K_INDEX_ATTACH, PV_POST, 0, 0, child->schema, ix[i].name);
		at->sql = pv_asprintf("ALTER INDEX %s ATTACH PARTITION %s;", pq, ix[i].qname);
		pv_obj_dep(at, child);
		pv_obj_dep(at, parent);
		pv_obj_dep(at, ix[i].rel->obj);
		if (prel)
			pv_obj_dep(at, prel->obj);
	}
	for (int i = 0; i < nidx; i++) {
		free(ix[i].qname);
		free(ix[i].name);
	}
	free(ix);
	return 0;
}

static int
read_triggers(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	/* 13+: triggers cloned onto partitions point at their parent trigger (in 12 clones are
	 * internal triggers) */
	char *sql = pv_asprintf(
	    "SELECT t.oid, t.tgrelid, t.tgname, pg_catalog.pg_get_triggerdef(t.oid, false), t.tgenabled,"
	    " t.tgconstraint, root.oid, root.en"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(relid)"
	    " JOIN pg_catalog.pg_trigger t ON t.tgrelid = s.relid"
	    " LEFT JOIN LATERAL (%s) root ON true"
	    " WHERE NOT t.tgisinternal ORDER BY t.oid",
	    rd->v >= 130000
	        ? "WITH RECURSIVE up(oid, parent, en) AS (SELECT t.oid, t.tgparentid, t.tgenabled"
	          "  UNION ALL SELECT p.oid, p.tgparentid, p.tgenabled FROM up JOIN pg_catalog.pg_trigger p ON p.oid = up.parent)"
	          "  SELECT up.oid, up.en FROM up WHERE up.parent = 0"
	        : "SELECT NULL::pg_catalog.oid AS oid, NULL::pg_catalog.\"char\" AS en");
	PGresult *r = pvc_query(rd, sql, rd->relids.data);
	free(sql);
	if (!r)
		return pv_wrap("reading triggers");
	for (int i = 0; i < PQntuples(r); i++) {
		relinfo *ri = find_rel(R, pvc_oid(r, i, 1));
		if (!ri)
			continue;
		pv_oid root = pvc_oid(r, i, 6);
		if (root && root != pvc_oid(r, i, 0)) {
			/* a clone: created by its root; only a different enabled state is its own */
			pv_obj *ro = pv_graph_lookup(g, C_PG_TRIGGER, root);
			char ren = pvc_val(r, i, 7)[0];
			const char *en = pvc_val(r, i, 4);
			if (ro) {
				pv_graph_alias(g, C_PG_TRIGGER, pvc_oid(r, i, 0), ro);
				if (en[0] != ren) {
					char *tn = pv_ident(rd->c, pvc_val(r, i, 2));
					pv_obj *o = pv_graph_add(g, K_TRIGGER, PV_POST, 0, 0, ri->obj->schema, pvc_val(r, i, 2));
					o->sql = pv_asprintf("ALTER TABLE %s %s TRIGGER %s;", ri->qname,
					                     en[0] == 'D' ? "DISABLE" : en[0] == 'R' ? "ENABLE REPLICA"
					                     : en[0] == 'A' ? "ENABLE ALWAYS" : "ENABLE", tn);
					pv_obj_dep(o, ro);
					free(tn);
				}
			}
			continue;
		}
		char *tn = pv_ident(rd->c, pvc_val(r, i, 2));
		char *tq = pv_asprintf("%s ON %s", tn, ri->qname);
		pv_obj *o = pv_graph_add(g, K_TRIGGER, PV_POST, C_PG_TRIGGER, pvc_oid(r, i, 0),
		                         ri->obj->schema, pvc_val(r, i, 2));
		pvc_target(rd, C_PG_TRIGGER, o->oid, "TRIGGER", tq);
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "%s;", pvc_val(r, i, 3));
		const char *en = pvc_val(r, i, 4);
		const char *tbl = ri->kind == 'v' ? "VIEW" : "TABLE";
		if (en[0] == 'D')
			pv_buf_printf(&b, "\nALTER %s %s DISABLE TRIGGER %s;", tbl, ri->qname, tn);
		else if (en[0] == 'R')
			pv_buf_printf(&b, "\nALTER %s %s ENABLE REPLICA TRIGGER %s;", tbl, ri->qname, tn);
		else if (en[0] == 'A')
			pv_buf_printf(&b, "\nALTER %s %s ENABLE ALWAYS TRIGGER %s;", tbl, ri->qname, tn);
		o->sql = pv_buf_detach(&b);
		pv_obj_dep(o, ri->obj);
		if (pvc_oid(r, i, 5))
			pv_graph_alias(g, C_PG_CONSTRAINT, pvc_oid(r, i, 5), o);
		free(tn);
		free(tq);
	}
	PQclear(r);
	return 0;
}

static int
read_policies(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT p.oid, p.polrelid, p.polname, p.polcmd, p.polpermissive,"
	    " CASE WHEN p.polroles = '{0}' THEN NULL ELSE ARRAY(SELECT pg_catalog.pg_get_userbyid(u.r)"
	    "   FROM pg_catalog.unnest(p.polroles) WITH ORDINALITY u(r, n) ORDER BY u.n) END,"
	    " pg_catalog.pg_get_expr(p.polqual, p.polrelid), pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(relid)"
	    " JOIN pg_catalog.pg_policy p ON p.polrelid = s.relid ORDER BY p.polrelid, p.polname", rd->tabids.data);
	if (!r)
		return pv_wrap("reading row-level security policies");
	for (int i = 0; i < PQntuples(r); i++) {
		relinfo *ri = find_rel(R, pvc_oid(r, i, 1));
		if (!ri)
			continue;
		char *pn = pv_ident(rd->c, pvc_val(r, i, 2));
		char *tq = pv_asprintf("%s ON %s", pn, ri->qname);
		pv_obj *o = pv_graph_add(g, K_POLICY, PV_POST, 0, pvc_oid(r, i, 0), ri->obj->schema, pvc_val(r, i, 2));
		pv_graph_alias(g, 3256u /* pg_policy */, o->oid, o);
		pvc_target(rd, 3256u, o->oid, "POLICY", tq);
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE POLICY %s", tq);
		if (!pvc_bool(r, i, 4))
			pv_buf_puts(&b, " AS RESTRICTIVE");
		switch (pvc_val(r, i, 3)[0]) {
		case 'r': pv_buf_puts(&b, " FOR SELECT"); break;
		case 'a': pv_buf_puts(&b, " FOR INSERT"); break;
		case 'w': pv_buf_puts(&b, " FOR UPDATE"); break;
		case 'd': pv_buf_puts(&b, " FOR DELETE"); break;
		default: break;
		}
		if (pvc_val(r, i, 5)) {
			/* {a,b}: role names, parsed as a text[] by the server */
			PGresult *names = pvc_query(rd, "SELECT pg_catalog.unnest($1::text[])", pvc_val(r, i, 5));
			if (!names) {
				pv_buf_free(&b);
				free(pn);
				free(tq);
				PQclear(r);
				return pv_wrap("reading policy roles");
			}
			pv_buf_puts(&b, " TO ");
			for (int k = 0; k < PQntuples(names); k++) {
				if (k)
					pv_buf_puts(&b, ", ");
				pv_buf_ident(&b, rd->c, PQgetvalue(names, k, 0));
				pvc_role(rd, PQgetvalue(names, k, 0));
			}
			PQclear(names);
		}
		if (pvc_val(r, i, 6))
			pv_buf_printf(&b, " USING (%s)", pvc_val(r, i, 6));
		if (pvc_val(r, i, 7))
			pv_buf_printf(&b, " WITH CHECK (%s)", pvc_val(r, i, 7));
		pv_buf_puts(&b, ";");
		o->sql = pv_buf_detach(&b);
		pv_obj_dep(o, ri->obj);
		free(pn);
		free(tq);
	}
	PQclear(r);
	return 0;
}

static int
read_rules(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT w.oid, w.ev_class, w.rulename, pg_catalog.pg_get_ruledef(w.oid), w.ev_enabled"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(relid)"
	    " JOIN pg_catalog.pg_rewrite w ON w.ev_class = s.relid WHERE w.rulename <> '_RETURN'"
	    " ORDER BY w.ev_class, w.rulename", rd->relids.data);
	if (!r)
		return pv_wrap("reading rules");
	for (int i = 0; i < PQntuples(r); i++) {
		relinfo *ri = find_rel(R, pvc_oid(r, i, 1));
		if (!ri)
			continue;
		char *rn = pv_ident(rd->c, pvc_val(r, i, 2));
		char *tq = pv_asprintf("%s ON %s", rn, ri->qname);
		pv_obj *o = pv_graph_add(g, K_RULE, PV_POST, C_PG_REWRITE, pvc_oid(r, i, 0), ri->obj->schema,
		                         pvc_val(r, i, 2));
		pvc_target(rd, C_PG_REWRITE, o->oid, "RULE", tq);
		pv_buf b = PV_BUF_INIT;
		pv_buf_puts(&b, pvc_val(r, i, 3));
		const char *en = pvc_val(r, i, 4);
		const char *tbl = ri->kind == 'v' ? "VIEW" : "TABLE";
		if (en[0] == 'D')
			pv_buf_printf(&b, "\nALTER %s %s DISABLE RULE %s;", tbl, ri->qname, rn);
		else if (en[0] == 'R')
			pv_buf_printf(&b, "\nALTER %s %s ENABLE REPLICA RULE %s;", tbl, ri->qname, rn);
		else if (en[0] == 'A')
			pv_buf_printf(&b, "\nALTER %s %s ENABLE ALWAYS RULE %s;", tbl, ri->qname, rn);
		o->sql = pv_buf_detach(&b);
		pv_obj_dep(o, ri->obj);
		free(rn);
		free(tq);
	}
	PQclear(r);
	return 0;
}

static int
read_views(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT c.oid, pg_catalog.pg_get_viewdef(c.oid),"
	    " (SELECT r.oid FROM pg_catalog.pg_rewrite r WHERE r.ev_class = c.oid AND r.rulename = '_RETURN')"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(relid)"
	    " JOIN pg_catalog.pg_class c ON c.oid = s.relid WHERE c.relkind IN ('v', 'm')", rd->relids.data);
	if (!r)
		return pv_wrap("reading view definitions");
	for (int i = 0; i < PQntuples(r); i++) {
		relinfo *ri = find_rel(R, pvc_oid(r, i, 0));
		if (!ri)
			continue;
		pv_graph_alias(g, C_PG_REWRITE, pvc_oid(r, i, 2), ri->obj);
		const char *def = pvc_val(r, i, 1);
		size_t n = strlen(def);
		while (n > 0 && (def[n - 1] == ';' || def[n - 1] == '\n' || def[n - 1] == ' '))
			n--;
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE %s %s", ri->kind == 'v' ? "VIEW" : "MATERIALIZED VIEW", ri->qname);
		if (ri->using_am)
			pv_buf_puts(&b, ri->using_am);
		if (ri->withopts)
			pv_buf_printf(&b, " %s", ri->withopts);
		pv_buf_printf(&b, " AS\n%.*s", (int)n, def);
		if (ri->check_option)
			pv_buf_printf(&b, "\n  WITH %s CHECK OPTION", strcmp(ri->check_option, "local") == 0
			                                                   ? "LOCAL" : "CASCADED");
		pv_buf_puts(&b, ri->kind == 'm' ? "\n  WITH NO DATA;" : ";");
		pv_buf_puts(&b, ri->extra.len ? ri->extra.data : "");
		ri->obj->sql = pv_buf_detach(&b);
		if (ri->kind == 'v') {
			/* for a loop through its query (cat_loops.c): a dummy body, the real one later */
			pv_buf_printf(&b, "CREATE VIEW %s%s%s AS\nSELECT%s;%s", ri->qname, ri->withopts ? " " : "",
			              ri->withopts ? ri->withopts : "", ri->dummy.len ? ri->dummy.data : "",
			              ri->extra.len ? ri->extra.data : "");
			char *dummy = pv_buf_detach(&b);
			pv_buf_printf(&b, "CREATE OR REPLACE VIEW %s%s%s AS\n%.*s", ri->qname, ri->withopts ? " " : "",
			              ri->withopts ? ri->withopts : "", (int)n, def);
			if (ri->check_option)
				pv_buf_printf(&b, "\n  WITH %s CHECK OPTION", strcmp(ri->check_option, "local") == 0
				                                                   ? "LOCAL" : "CASCADED");
			pv_buf_putc(&b, ';');
			pvc_loops_view(ri->obj, pvc_oid(r, i, 2), dummy, b.data);
			pv_buf_free(&b);
			free(dummy);
		}
		if (ri->kind == 'm' && ri->populated) {
			pv_obj *f = pv_graph_add(g, K_REFRESH, PV_POST, 0, 0, ri->obj->schema, ri->obj->name);
			f->sql = pv_asprintf("REFRESH MATERIALIZED VIEW %s;", ri->qname);
			f->late = PV_LATE_AFTER_ACL;
			pv_obj_dep(f, ri->obj);
		}
	}
	PQclear(r);
	return 0;
}

/* CREATE TABLE ... INHERITS puts the parents' columns first (each name once, in parent
 * order), then the child's own: 1 if that reproduces the child's column order. */
static int
inherits_keeps_order(rels *R, relinfo *ri)
{
	json_t *expect = json_array(), *seen = json_object();
	for (int p = 0; p < ri->nparents; p++) {
		relinfo *pi = find_rel(R, ri->parents[p]);
		if (!pi) {
			json_decref(expect);
			json_decref(seen);
			return 0;
		}
		size_t i;
		json_t *c;
		json_array_foreach(pi->colnames, i, c)
			if (!json_object_get(seen, json_string_value(c))) {
				/* names (strings of colnames) into a set and an array: cannot fail */
				(void)pvj_set_bool(seen, json_string_value(c), 1);
				(void)pvj_append_copy(expect, c);
			}
	}
	size_t i;
	json_t *c;
	json_array_foreach(ri->colnames, i, c)
		if (!json_object_get(seen, json_string_value(c)))
			(void)pvj_append_copy(expect, c);
	int same = json_equal(expect, ri->colnames);
	json_decref(expect);
	json_decref(seen);
	return same;
}

static int
is_ancestor(rels *R, relinfo *ri, pv_obj *t, int depth)
{
	if (depth > 64)
		return 0; /* inheritance cannot loop; a bound all the same */
	for (int p = 0; p < ri->nparents; p++) {
		relinfo *pi = find_rel(R, ri->parents[p]);
		if (pi && (pi->obj == t || is_ancestor(R, pi, t, depth + 1)))
			return 1;
	}
	return 0;
}

/* ---- inheritance families whose history is replayed (inherit_plan.h) ------------------ */

static int
uf_find(int *up, int x)
{
	while (up[x] != x)
		x = up[x] = up[up[x]];
	return x;
}

static const char *
lcol_text(relinfo *ri, const char *name)
{
	size_t i;
	json_t *lc;
	json_array_foreach(ri->lcols, i, lc)
		if (strcmp(json_string_value(json_object_get(lc, "name")), name) == 0)
			return json_string_value(json_object_get(lc, "text"));
	return NULL;
}

/* One family (members: indexes into R->v): plan it; on success the members are marked
 * and the family's ADD COLUMN entry is made. */
static void
replay_family(reader *rd, rels *R, const int *mem, int n)
{
	pv_ih_table *t = pv_calloc((size_t)n, sizeof *t);
	pv_ih_col **cols = pv_calloc((size_t)n, sizeof *cols);
	int **par = pv_calloc((size_t)n, sizeof *par);
	int ok = 1;
	for (int i = 0; i < n && ok; i++) {
		relinfo *ri = &R->v[mem[i]];
		size_t nc = json_array_size(ri->colinfo);
		cols[i] = pv_calloc(nc + 1, sizeof **cols);
		for (size_t j = 0; j < nc; j++) {
			json_t *c = json_array_get(ri->colinfo, j);
			cols[i][j] = (pv_ih_col){json_string_value(json_object_get(c, "name")),
			                         json_is_true(json_object_get(c, "local")),
			                         (int)json_integer_value(json_object_get(c, "inh")),
			                         json_is_true(json_object_get(c, "notnull")),
			                         json_is_true(json_object_get(c, "addable"))};
		}
		par[i] = pv_calloc((size_t)ri->nparents + 1, sizeof **par);
		for (int p = 0; p < ri->nparents; p++) {
			int found = -1;
			for (int k = 0; k < n; k++)
				if (R->v[mem[k]].oid == ri->parents[p])
					found = k;
			if (found < 0)
				ok = 0;
			par[i][p] = found;
		}
		t[i] = (pv_ih_table){cols[i], (int)nc, par[i], ri->nparents};
	}
	pv_ih_plan plan;
	if (ok && pv_ih_plan_make(t, n, &plan) == 0) {
		relinfo *first = &R->v[mem[plan.create_order[0]]];
		pv_obj *o = pv_graph_add(rd->cat->g, K_INHERIT_COLUMNS, PV_PRE, 0, 0, first->obj->schema, first->obj->name);
		pv_buf b = PV_BUF_INIT;
		for (int e = 0; e < plan.nevents; e++) {
			relinfo *ri = &R->v[mem[plan.events[e].table]];
			const char *text = lcol_text(ri, t[plan.events[e].table].cols[plan.events[e].col].name);
			while (text && (*text == '\n' || *text == ' '))
				text++;
			pv_buf_printf(&b, "%sALTER TABLE %s ADD COLUMN %s;", b.len ? "\n" : "", ri->qname, text ? text : "?");
		}
		for (int o2 = 0; o2 < n; o2++) {
			int i = plan.create_order[o2];
			relinfo *ri = &R->v[mem[i]];
			for (int j = plan.prefix[i]; j < t[i].ncols; j++)
				if (!t[i].cols[j].local)
					pv_buf_puts(&b, json_string_value(json_object_get(
					                    json_array_get(ri->colinfo, (size_t)j), "nn_sql")));
			pv_buf_puts(&b, ri->extra.len ? ri->extra.data : "");
			ri->replay = o;
			ri->prefix = plan.prefix[i];
			pv_obj_dep(o, ri->obj);
		}
		o->sql = pv_buf_detach(&b);
		R->replays = pv_realloc(R->replays, (size_t)(R->nreplays + 1) * sizeof *R->replays);
		R->replays[R->nreplays++] = o;
		pv_ih_plan_free(&plan);
	}
	for (int i = 0; i < n; i++) {
		free(cols[i]);
		free(par[i]);
	}
	free(cols);
	free(par);
	free(t);
}

/* Families (tables linked by inheritance, partitions aside) where CREATE TABLE ... INHERITS
 * alone would not keep some child's column order are replayed when a plan reproduces them
 * exactly; the others keep the standalone + ALTER TABLE ... INHERIT form. */
static void
plan_inheritance(reader *rd, rels *R)
{
	int *up = pv_malloc((size_t)(R->n ? R->n : 1) * sizeof *up);
	char *want = pv_calloc((size_t)R->n + 1, 1), *bad = pv_calloc((size_t)R->n + 1, 1);
	for (int i = 0; i < R->n; i++)
		up[i] = i;
	for (int i = 0; i < R->n; i++) {
		relinfo *ri = &R->v[i];
		if (!IS_TABLE(ri->kind) || ri->ispartition)
			continue;
		for (int p = 0; p < ri->nparents; p++) {
			relinfo *pi = find_rel(R, ri->parents[p]);
			if (pi)
				up[uf_find(up, i)] = uf_find(up, (int)(pi - R->v));
		}
	}
	for (int i = 0; i < R->n; i++) {
		relinfo *ri = &R->v[i];
		int root = uf_find(up, i);
		if (ri->kind != 'r' || ri->ispartition || ri->oftype || !ri->colinfo)
			bad[root] = 1;
		/* identity columns (with their sequences' names and options): not replayed */
		size_t j;
		json_t *c;
		json_array_foreach(ri->colinfo, j, c)
			if (json_is_true(json_object_get(c, "identity")))
				bad[root] = 1;
		else if (ri->nparents > 0 && !inherits_keeps_order(R, ri))
			want[root] = 1;
	}
	int *mem = pv_malloc((size_t)(R->n ? R->n : 1) * sizeof *mem);
	for (int root = 0; root < R->n; root++) {
		if (!want[root] || bad[root])
			continue;
		int n = 0;
		for (int i = 0; i < R->n; i++)
			if (uf_find(up, i) == root)
				mem[n++] = i;
		replay_family(rd, R, mem, n);
	}
	free(mem);
	free(up);
	free(want);
	free(bad);
}

/* What waits for a replayed table (its indexes, data, views, children elsewhere...) waits
 * for the family's ADD COLUMN entry instead, which also carries the members' comments.
 * What the members' own creation needs is left alone (no loop can appear). */
static void
redirect_replayed(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	int n = pv_graph_count(g);
	if (!R->nreplays)
		return;
	pv_obj **fam = pv_calloc((size_t)n, sizeof *fam);
	char *prereq = pv_calloc((size_t)n, 1), *isrep = pv_calloc((size_t)n, 1);
	int *stack = pv_malloc((size_t)n * sizeof *stack), sp = 0;
	for (int i = 0; i < R->n; i++)
		if (R->v[i].replay) {
			fam[R->v[i].obj->id] = R->v[i].replay;
			prereq[R->v[i].obj->id] = 1;
			stack[sp++] = R->v[i].obj->id;
			if (R->v[i].obj->comments) {
				pv_obj_add_comment(R->v[i].replay, R->v[i].obj->comments);
				free(R->v[i].obj->comments);
				R->v[i].obj->comments = NULL;
			}
		}
	for (int i = 0; i < R->nreplays; i++)
		isrep[R->replays[i]->id] = 1;
	while (sp > 0) {
		pv_obj *o = pv_graph_get(g, stack[--sp]);
		for (int j = 0; j < o->ndeps; j++)
			if (!prereq[o->deps[j]]) {
				prereq[o->deps[j]] = 1;
				stack[sp++] = o->deps[j];
			}
	}
	for (int i = 0; i < n; i++) {
		pv_obj *o = pv_graph_get(g, i);
		if (prereq[i] || isrep[i])
			continue;
		for (int j = 0; j < o->ndeps; j++) {
			pv_obj *r = fam[o->deps[j]];
			if (!r)
				continue;
			int dup = 0;
			for (int k = 0; k < o->ndeps && !dup; k++)
				dup = o->deps[k] == r->id;
			if (dup)
				o->deps[j--] = o->deps[--o->ndeps];
			else
				o->deps[j] = r->id;
		}
	}
	free(fam);
	free(prereq);
	free(isrep);
	free(stack);
}

static void
build_tables(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	plan_inheritance(rd, R);
	for (int i = 0; i < R->n; i++) {
		relinfo *ri = &R->v[i];
		if (!IS_TABLE(ri->kind))
			continue;
		/* Partitions, typed tables and children whose column order CREATE TABLE ... INHERITS
		 * would change are created standalone with all their columns, then attached. */
		int use_inherits = ri->nparents > 0 && !ri->ispartition && !ri->oftype &&
		                   (ri->replay || inherits_keeps_order(R, ri));
		/* replayed: CREATE TABLE makes the first `prefix` columns (the ADD COLUMN entry
		 * the rest, and the per-column settings) */
		json_t *prefix = NULL;
		pv_buf inh_extra = PV_BUF_INIT;
		if (ri->replay) {
			prefix = json_object();
			for (int j = 0; j < ri->prefix; j++) {
				json_t *c = json_array_get(ri->colinfo, (size_t)j);
				/* a column name into a set: cannot fail */
				(void)pvj_set_bool(prefix, json_string_value(json_object_get(c, "name")), 1);
				pv_buf_puts(&inh_extra, json_string_value(json_object_get(c, "inh_sql")));
			}
		} else
			pv_buf_puts(&inh_extra, ri->inh_extra.len ? ri->inh_extra.data : "");
		pv_buf b = PV_BUF_INIT, lcols = PV_BUF_INIT;
		size_t li;
		json_t *lc;
		int nl = 0;
		json_array_foreach(ri->lcols, li, lc) {
			const char *cn = json_string_value(json_object_get(lc, "name"));
			if (prefix && !json_object_get(prefix, cn))
				continue;
			int parent_generates = 0;
			for (int p = 0; p < ri->nparents; p++) {
				relinfo *pi = find_rel(R, ri->parents[p]);
				if (pi && json_object_get(pi->generated, cn))
					parent_generates = 1;
			}
			/* up to 15 a child cannot give an inherited generated column an expression of
			 * its own: it takes the parent's; from 16 on it may (and must, when two parents
			 * disagree), so the child's own expression is kept */
			if (rd->v >= 160000)
				parent_generates = 0;
			json_t *t = parent_generates && json_object_get(lc, "text_inherited")
			                ? json_object_get(lc, "text_inherited") : json_object_get(lc, "text");
			pv_buf_printf(&lcols, "%s%s", nl++ ? "," : "", json_string_value(t));
		}
		if (use_inherits && !ri->replay && ri->inh_items.len)
			/* the items start with ",": after the columns, or alone */
			pv_buf_puts(&lcols, ri->inh_items.data + (lcols.len ? 0 : 1));
		json_decref(prefix);
		pv_buf *cols = use_inherits || ri->replay ? &lcols : &ri->cols;
		pv_buf_printf(&b, "CREATE %sTABLE %s (", ri->kind == 'f' ? "FOREIGN " : ri->persistence == 'u' ? "UNLOGGED " : "",
		              ri->qname);
		pv_buf_puts(&b, cols->len ? cols->data : "");
		pv_buf_puts(&b, cols->len ? "\n)" : ")");
		if (use_inherits) {
			pv_buf_puts(&b, "\nINHERITS (");
			for (int p = 0; p < ri->nparents; p++)
				pv_buf_printf(&b, "%s%s", p ? ", " : "", find_rel(R, ri->parents[p])->qname);
			pv_buf_putc(&b, ')');
		}
		if (ri->partkey)
			pv_buf_printf(&b, "\nPARTITION BY %s", ri->partkey);
		if (ri->using_am)
			pv_buf_puts(&b, ri->using_am);
		if (ri->server)
			pv_buf_printf(&b, "\n%s", ri->server);
		if (ri->withopts)
			pv_buf_printf(&b, " %s", ri->withopts);
		pv_buf_puts(&b, ";");
		if (use_inherits)
			pv_buf_puts(&b, inh_extra.len ? inh_extra.data : "");
		else if (!ri->ispartition)
			for (int p = 0; p < ri->nparents; p++) {
				relinfo *pi = find_rel(R, ri->parents[p]);
				if (pi)
					pv_buf_printf(&b, "\nALTER TABLE ONLY %s INHERIT %s;", ri->qname, pi->qname);
			}
		if (ri->oftype)
			pv_buf_printf(&b, "\nALTER TABLE ONLY %s OF %s;", ri->qname, ri->oftype);
		if (!ri->replay)
			pv_buf_puts(&b, ri->extra.len ? ri->extra.data : "");
		ri->obj->sql = pv_buf_detach(&b);
		pv_buf_free(&lcols);
		pv_buf_free(&inh_extra);

		if (ri->ispartition && ri->nparents == 1 && ri->partbound) {
			relinfo *pi = find_rel(R, ri->parents[0]);
			if (pi) {
				pv_obj *at = pv_graph_add(g, K_ATTACH, PV_PRE, 0, 0, ri->obj->schema, ri->obj->name);
				at->sql = pv_asprintf("ALTER TABLE ONLY %s ATTACH PARTITION %s %s;", pi->qname,
				                      ri->qname, ri->partbound);
				pv_obj_dep(at, ri->obj);
				pv_obj_dep(at, pi->obj);
				ri->attach = at;
			}
		}
		if (ri->kind != 'r')
			continue; /* partitioned and foreign tables have no rows of their own */

		/* its rows */
		pv_obj *d = pv_graph_add(g, K_TABLE_DATA, PV_DATA, 0, 0, ri->obj->schema, ri->obj->name);
		pv_obj_dep(d, ri->obj);
		pv_buf cols_list = PV_BUF_INIT;
		size_t idx;
		json_t *c;
		json_array_foreach(ri->copycols, idx, c) {
			if (idx)
				pv_buf_puts(&cols_list, ", ");
			pv_buf_ident(&cols_list, rd->c, json_string_value(c));
		}
		/* strings and an array (never NULL) into a new object: cannot fail */
		d->extra = json_object();
		(void)pvj_set_str(d->extra, "table", ri->qname);
		(void)pvj_set_copy(d->extra, "columns", ri->copycols);
		(void)pvj_set_str(d->extra, "column_list", cols_list.len ? cols_list.data : "");
		(void)pvj_set_int(d->extra, "relid", ri->oid);
		/* hash partitioning of an enum depends on the enum's OIDs: route rows again */
		if (ri->ispartition) {
			relinfo *root = ri, *x = ri;
			int hash_enum = 0;
			while (x && x->ispartition && x->nparents == 1 && (x = find_rel(R, x->parents[0])) != NULL) {
				hash_enum |= x->hash_enum;
				root = x;
			}
			if (hash_enum)
				(void)pvj_set_str(d->extra, "load_via", root->qname);
		}
		pv_buf_free(&cols_list);
	}
	/* A CHECK on a parent is added after its whole inheritance / partition tree exists and
	 * is attached: it then reaches the children the way it did in the source. */
	int n = pv_graph_count(g);
	for (int i = 0; i < n; i++) {
		pv_obj *o = pv_graph_get(g, i);
		if ((o->kind != K_CHECK && o->kind != K_CHECK_LATE) || !o->ndeps)
			continue;
		pv_obj *t = pv_graph_get(g, o->deps[0]);
		for (int j = 0; j < R->n; j++) {
			relinfo *ri = &R->v[j];
			if (ri->nparents && is_ancestor(R, ri, t, 0)) {
				pv_obj_dep(o, ri->obj);
				if (ri->attach)
					pv_obj_dep(o, ri->attach);
			}
		}
	}
	/* matview refreshes follow the refreshes of matviews they read: added in deps pass */
}

/* ---- comments and dependencies ---------------------------------------------------------- */

static int
read_comments(reader *rd)
{
	PGresult *r = pvc_query(rd,
	    "SELECT d.classoid, d.objoid, d.objsubid, d.description, a.attname"
	    " FROM pg_catalog.pg_description d"
	    " LEFT JOIN pg_catalog.pg_attribute a ON d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass"
	    "   AND a.attrelid = d.objoid AND a.attnum = d.objsubid AND d.objsubid > 0"
	    " WHERE d.objoid >= 16384 OR (d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.objoid = 2200)"
	    " ORDER BY d.classoid, d.objoid, d.objsubid", NULL);
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
static int
is_user_object(PGresult *r, int i)
{
	return pvc_bool(r, i, 4);
}

static int
read_depends(reader *rd)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT d.classid, d.objid, d.refclassid, d.refobjid,"
	    " d.refobjid >= 16384 AND d.refclassid <> 'pg_catalog.pg_namespace'::pg_catalog.regclass,"
	    " io.refclassid, io.refobjid"
	    " FROM pg_catalog.pg_depend d"
	    " LEFT JOIN LATERAL (SELECT x.refclassid, x.refobjid FROM pg_catalog.pg_depend x"
	    "   WHERE x.classid = d.refclassid AND x.objid = d.refobjid AND x.deptype = 'i' LIMIT 1) io ON true"
	    " WHERE d.deptype NOT IN ('p', 'e') AND d.objid >= 16384"
	    " AND NOT (d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'a' AND"
	    "   d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0 AND d.refobjsubid > 0"
	    "   AND (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = d.objid) = 'S')", NULL);
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
		if (s->kind == K_SCHEMA && s->sql && strncmp(s->sql, "CREATE", 6) == 0 &&
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
pv_catalog_read(PGconn *c, pv_catalog *cat)
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

	if (rd.v < 120000) {
		pv_fail("server version %d is not supported (PostgreSQL 12 or later is required)", rd.v);
		goto out;
	}
	if (read_database(&rd) < 0 || read_extensions(&rd) < 0 || read_schemas(&rd) < 0 ||
	    read_relations(&rd, &R) < 0 ||
	    read_types(&rd, &typids, &domids) < 0)
		goto out;
	pvc_oids(&rd.relids);
	if (read_sequences(&rd, &R) < 0 || read_columns(&rd, &R) < 0 || read_functions(&rd) < 0 ||
	    finish_sequences(&rd, &R) < 0 || read_defaults(&rd, &R) < 0 ||
	    read_constraints(&rd, &R) < 0 || read_indexes(&rd, &R) < 0 || read_triggers(&rd, &R) < 0)
		goto out;
	build_tables(&rd, &R);
	if (read_views(&rd, &R) < 0 || read_policies(&rd, &R) < 0 || read_rules(&rd, &R) < 0 ||
	    pvc_read_types_extra(&rd) < 0 || pvc_read_operators(&rd) < 0 || pvc_read_misc(&rd) < 0 || pvc_read_textsearch(&rd) < 0 ||
	    pvc_read_foreign(&rd) < 0 || pvc_read_pubs(&rd) < 0 || pvc_read_privileges(&rd) < 0)
		goto out;
	if (pvc_read_large_objects(&rd) < 0)
		goto out;
	drop_ext_members(&rd);
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
		    read_column_acls(&rd) == 0;
		free(nsq);
		pv_buf_free(&schemas);
		pv_buf_free(&types);
		pv_buf_free(&funcs);
		if (!ok)
			goto out;
	}
	if (read_roles(&rd) < 0)
		goto out;
	redirect_replayed(&rd, &R);
	rc = 0;
out:
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
