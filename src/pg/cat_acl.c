/*
 * pg/cat_acl.c — default privileges (pg_default_acl), privileges of extension members and
 * built-in objects (deltas against pg_init_privs), extension configuration tables' rows
 * (pg_extension.extconfig/extcondition), and, once the comment targets are sorted, security
 * labels (pg_seclabel, pg_shseclabel) and ALTER ... DEPENDS ON EXTENSION (deptype 'x').
 */
#include "pg/catalog_int.h"

#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "schema/model.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"

/* aclexplode() rejects a zero-dimensional array ('{}') */
#define NZ(e) "CASE WHEN pg_catalog.cardinality(" e ") > 0 THEN " e " END"

/* The delta rows of an obj(k, acl, base, ...) CTE: (k, rev, grantor, grantee, privilege,
 * grantable), revokes first, in aclexplode order.  k is any text key of one object. */
#define DELTA_SQL                                                                                   \
	" x AS (SELECT o.k, false AS rev, a.grantor, a.grantee, a.privilege_type, a.is_grantable, a.ord" \
	"   FROM obj o, pg_catalog.aclexplode(" NZ("o.acl") ") WITH ORDINALITY AS a(grantor, grantee, privilege_type, is_grantable, ord)" \
	"   WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.aclexplode(" NZ("o.base") ") b WHERE b.grantor = a.grantor" \
	"     AND b.grantee = a.grantee AND b.privilege_type = a.privilege_type AND b.is_grantable = a.is_grantable)" \
	" UNION ALL SELECT o.k, true, b.grantor, b.grantee, b.privilege_type, b.is_grantable, b.ord"   \
	"   FROM obj o, pg_catalog.aclexplode(" NZ("o.base") ") WITH ORDINALITY AS b(grantor, grantee, privilege_type, is_grantable, ord)" \
	"   WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.aclexplode(" NZ("o.acl") ") a WHERE b.grantor = a.grantor" \
	"     AND b.grantee = a.grantee AND b.privilege_type = a.privilege_type AND b.is_grantable = a.is_grantable))"

/* Rows i.. with the same key, direction, grantor, grantee and grant option as row i (columns
 * k0.. k0+5 = key, rev, grantor, grantee, privilege, grantable): the privileges joined with
 * ", " into privs; returns the first row after the run. */
static int
delta_run(PGresult *r, int i, int k0, pv_buf *privs)
{
	int n = PQntuples(r), j = i;
	pv_buf_reset(privs);
	while (j < n && strcmp(PQgetvalue(r, j, k0), PQgetvalue(r, i, k0)) == 0 &&
	       pvc_bool(r, j, k0 + 1) == pvc_bool(r, i, k0 + 1) &&
	       strcmp(PQgetvalue(r, j, k0 + 2), PQgetvalue(r, i, k0 + 2)) == 0 &&
	       PQgetisnull(r, j, k0 + 3) == PQgetisnull(r, i, k0 + 3) &&
	       strcmp(PQgetvalue(r, j, k0 + 3), PQgetvalue(r, i, k0 + 3)) == 0 &&
	       pvc_bool(r, j, k0 + 5) == pvc_bool(r, i, k0 + 5)) {
		pv_buf_printf(privs, "%s%s", j > i ? ", " : "", PQgetvalue(r, j, k0 + 4));
		j++;
	}
	return j;
}

/* ---- default privileges ----------------------------------------------------------------- */

/*
 * ALTER DEFAULT PRIVILEGES FOR ROLE r [IN SCHEMA s] GRANT|REVOKE ... ON TABLES|... :
 * a global entry is a delta against acldefault(kind, role), a per-schema one against
 * nothing.  The entries run in the ACL pass, so they never apply to restored objects.
 */
static int
read_default_acls(reader *rd)
{
	if (pvc_none(rd, CEN_DEFAULT_ACL)) /* the census: none */
		return 0;
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "WITH obj(k, acl, base) AS ("
	    "  SELECT d.oid::pg_catalog.text, d.defaclacl,"
	    "   CASE WHEN d.defaclnamespace = 0 THEN pg_catalog.acldefault(CASE d.defaclobjtype"
	    "     WHEN 'S' THEN 's' ELSE d.defaclobjtype END::\"char\", d.defaclrole)"
	    "   ELSE '{}'::pg_catalog.aclitem[] END"
	    "  FROM pg_catalog.pg_default_acl d),"
	    DELTA_SQL
	    " SELECT x.k, x.rev, pg_catalog.pg_get_userbyid(x.grantor),"
	    "  CASE WHEN x.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(x.grantee) END,"
	    "  x.privilege_type, x.is_grantable,"
	    "  d.oid, pg_catalog.pg_get_userbyid(d.defaclrole), n.nspname, d.defaclobjtype"
	    " FROM pg_catalog.pg_default_acl d LEFT JOIN x ON x.k = d.oid::pg_catalog.text"
	    " LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace"
	    " ORDER BY d.oid, x.rev DESC, x.ord", NULL);
	if (!r)
		return pv_wrap("reading default privileges");
	pv_buf privs = PV_BUF_INIT, sql = PV_BUF_INIT;
	int n = PQntuples(r);
	for (int i = 0; i < n;) {
		pv_oid oid = pvc_oid(r, i, 6);
		const char *role = pvc_val(r, i, 7), *nsp = pvc_val(r, i, 8);
		const char *what;
		switch (pvc_val(r, i, 9)[0]) {
		case 'r': what = "TABLES"; break;
		case 'S': what = "SEQUENCES"; break;
		case 'f': what = "FUNCTIONS"; break;
		case 'T': what = "TYPES"; break;
		case 'n': what = "SCHEMAS"; break;
		default: what = NULL; break;
		}
		char *label = pv_asprintf("%s %s%s%s", role, what ? what : pvc_val(r, i, 9),
		                          nsp ? " in " : "", nsp ? nsp : "");
		pv_obj *o = pv_graph_add(g, K_DEFAULT_ACL, PV_POST, C_PG_DEFAULT_ACL, oid, nsp, label);
		free(label);
		o->late = PV_LATE_ACL;
		pvc_role(rd, role);
		pv_buf_reset(&sql);
		if (!what) {
			char *d = pv_asprintf("default privileges of role %s for object type '%s'", role,
			                      pvc_val(r, i, 9));
			pvc_unsupported(rd, "default privileges", d);
			free(d);
		}
		int j = i;
		while (j < n && pvc_oid(r, j, 6) == oid) {
			if (!pvc_val(r, j, 0)) { /* no delta at all */
				j++;
				continue;
			}
			int e = delta_run(r, j, 0, &privs);
			int rev = pvc_bool(r, j, 1);
			pv_buf_puts(&sql, "ALTER DEFAULT PRIVILEGES FOR ROLE ");
			pv_buf_ident(&sql, rd->c, role);
			if (nsp) {
				pv_buf_puts(&sql, " IN SCHEMA ");
				pv_buf_ident(&sql, rd->c, nsp);
			}
			pv_buf_printf(&sql, " %s %s ON %s %s ", rev ? "REVOKE" : "GRANT", privs.data,
			              what ? what : "?", rev ? "FROM" : "TO");
			if (pvc_val(r, j, 3))
				pv_buf_ident(&sql, rd->c, pvc_val(r, j, 3));
			else
				pv_buf_puts(&sql, "PUBLIC");
			pv_buf_puts(&sql, !rev && pvc_bool(r, j, 5) ? " WITH GRANT OPTION;\n" : ";\n");
			pvc_role(rd, pvc_val(r, j, 3));
			j = e;
		}
		if (sql.len) {
			sql.data[--sql.len] = '\0'; /* the last newline */
			o->sql = pv_strdup(sql.data);
		}
		i = j;
	}
	pv_buf_free(&privs);
	pv_buf_free(&sql);
	PQclear(r);
	return 0;
}

/* ---- privileges of built-in objects and extension members ------------------------------ */

/*
 * Objects a user did not create with DDL of their own (initdb's, and members of
 * extensions) whose ACL differs from pg_init_privs (or, without a pg_init_privs row, from
 * acldefault): one ACL-only object each (columns fold into their table's), registered under
 * no catalog identity (extension members map to their extension), following its extension.
 * Like pg_dump, only pg_catalog of the system schemas (information_schema's objects have no
 * pg_init_privs rows, so their initial privileges are unknown).  The public schema is the
 * schema reader's; user objects have their own readers.
 */
static int
read_init_privs(reader *rd)
{
	pv_graph *g = rd->cat->g;
	/* obj(k, acl, base, kw, nsp, name, args, col, ext): k = classid/objid */
#define IP(cat, a) \
	" LEFT JOIN pg_catalog.pg_init_privs ip ON ip.classoid = 'pg_catalog." cat "'::pg_catalog.regclass" \
	" AND ip.objoid = " a ".oid AND ip.objsubid = 0" \
	" LEFT JOIN pg_catalog.pg_depend xd ON xd.classid = 'pg_catalog." cat "'::pg_catalog.regclass" \
	" AND xd.objid = " a ".oid AND xd.objsubid = 0 AND xd.deptype = 'e'"
#define SYS(a) " (" a ".oid < 16384 OR xd.refobjid IS NOT NULL) "
	/* as pg_dump: of the system schemas only pg_catalog's contents (information_schema's
	 * initial privileges are not recorded in pg_init_privs) */
#define SYSN(a) " ((" a ".oid < 16384 AND n.nspname = 'pg_catalog') OR xd.refobjid IS NOT NULL) "
#define KEY(cat, a) "'" cat "/' || " a ".oid"
	PGresult *r = pvc_query(rd,
	    "WITH o0(k0, acl, base, kw, nsp, name, args, col, ext) AS ("
	    " SELECT " KEY("pg_class", "c") ","
	    "  COALESCE(c.relacl, pg_catalog.acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\", c.relowner)),"
	    "  COALESCE(ip.initprivs, pg_catalog.acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\", c.relowner)),"
	    "  CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, n.nspname, c.relname, NULL::pg_catalog.text,"
	    "  NULL::pg_catalog.name, xd.refobjid"
	    "  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace" IP("pg_class", "c")
	    "  WHERE" SYSN("c") "AND c.relkind IN ('r', 'v', 'm', 'S', 'f', 'p')"
	    " UNION ALL SELECT " KEY("pg_class", "c") ", COALESCE(a.attacl, '{}'), COALESCE(ai.initprivs, '{}'),"
	    "  CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, n.nspname, c.relname, NULL, a.attname, xd.refobjid"
	    "  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	    "  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
	    "  LEFT JOIN pg_catalog.pg_init_privs ai ON ai.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass"
	    "   AND ai.objoid = c.oid AND ai.objsubid = a.attnum"
	    "  LEFT JOIN pg_catalog.pg_depend xd ON xd.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
	    "   AND xd.objid = c.oid AND xd.objsubid = 0 AND xd.deptype = 'e'"
	    "  WHERE" SYSN("c") "AND c.relkind IN ('r', 'v', 'm', 'f', 'p')"
	    "  AND (a.attacl IS NOT NULL OR ai.initprivs IS NOT NULL)"
	    " UNION ALL SELECT " KEY("pg_proc", "p") ","
	    "  COALESCE(p.proacl, pg_catalog.acldefault('f', p.proowner)),"
	    "  COALESCE(ip.initprivs, pg_catalog.acldefault('f', p.proowner)),"
	    "  CASE WHEN p.prokind = 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, n.nspname, p.proname,"
	    "  pg_catalog.pg_get_function_identity_arguments(p.oid), NULL, xd.refobjid"
	    "  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace" IP("pg_proc", "p")
	    "  WHERE" SYSN("p")
	    " UNION ALL SELECT " KEY("pg_type", "t") ","
	    "  COALESCE(t.typacl, pg_catalog.acldefault('T', t.typowner)),"
	    "  COALESCE(ip.initprivs, pg_catalog.acldefault('T', t.typowner)),"
	    "  CASE WHEN t.typtype = 'd' THEN 'DOMAIN' ELSE 'TYPE' END, n.nspname, t.typname, NULL, NULL, xd.refobjid"
	    "  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace" IP("pg_type", "t")
	    "  WHERE" SYSN("t") "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)"
	    "  AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')"
	    " UNION ALL SELECT " KEY("pg_namespace", "s") ","
	    "  COALESCE(s.nspacl, pg_catalog.acldefault('n', s.nspowner)),"
	    "  COALESCE(ip.initprivs, pg_catalog.acldefault('n', s.nspowner)),"
	    "  'SCHEMA', NULL, s.nspname, NULL, NULL, xd.refobjid"
	    "  FROM pg_catalog.pg_namespace s" IP("pg_namespace", "s")
	    "  WHERE (s.nspname = 'pg_catalog' OR xd.refobjid IS NOT NULL)"
	    " UNION ALL SELECT " KEY("pg_language", "l") ","
	    "  COALESCE(l.lanacl, pg_catalog.acldefault('l', l.lanowner)),"
	    "  COALESCE(ip.initprivs, pg_catalog.acldefault('l', l.lanowner)),"
	    "  'LANGUAGE', NULL, l.lanname, NULL, NULL, xd.refobjid"
	    "  FROM pg_catalog.pg_language l" IP("pg_language", "l")
	    "  WHERE" SYS("l")
	    " UNION ALL SELECT " KEY("pg_foreign_data_wrapper", "w") ","
	    "  COALESCE(w.fdwacl, pg_catalog.acldefault('F', w.fdwowner)),"
	    "  COALESCE(ip.initprivs, pg_catalog.acldefault('F', w.fdwowner)),"
	    "  'FOREIGN DATA WRAPPER', NULL, w.fdwname, NULL, NULL, xd.refobjid"
	    "  FROM pg_catalog.pg_foreign_data_wrapper w" IP("pg_foreign_data_wrapper", "w")
	    "  WHERE" SYS("w")
	    " UNION ALL SELECT " KEY("pg_foreign_server", "f") ","
	    "  COALESCE(f.srvacl, pg_catalog.acldefault('S', f.srvowner)),"
	    "  COALESCE(ip.initprivs, pg_catalog.acldefault('S', f.srvowner)),"
	    "  'FOREIGN SERVER', NULL, f.srvname, NULL, NULL, xd.refobjid"
	    "  FROM pg_catalog.pg_foreign_server f" IP("pg_foreign_server", "f")
	    "  WHERE" SYS("f")
	    "), obj AS (SELECT o0.k0 || COALESCE('/' || o0.col, '') AS k, o0.* FROM o0 WHERE o0.acl IS DISTINCT FROM o0.base),"
	    DELTA_SQL
	    " SELECT x.k, x.rev, pg_catalog.pg_get_userbyid(x.grantor),"
	    "  CASE WHEN x.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(x.grantee) END,"
	    "  x.privilege_type, x.is_grantable,"
	    "  o.kw, o.nsp, o.name, o.args, o.col, o.ext, pg_catalog.split_part(x.k, '/', 1) || '/' || pg_catalog.split_part(x.k, '/', 2)"
	    " FROM x JOIN obj o ON o.k = x.k"
	    /* an object's table-level items before its columns' */
	    " ORDER BY 13, o.col NULLS FIRST, x.k, x.rev DESC, x.ord", NULL);
#undef IP
#undef SYS
#undef SYSN
#undef KEY
	if (!r)
		return pv_wrap("reading privileges of built-in objects and extension members");
	pv_buf privs = PV_BUF_INIT;
	pv_obj *o = NULL;
	const char *okey = NULL;
	int n = PQntuples(r);
	for (int i = 0; i < n;) {
		int j = delta_run(r, i, 0, &privs);
		if (!okey || strcmp(okey, PQgetvalue(r, i, 12)) != 0) {
			okey = PQgetvalue(r, i, 12);
			const char *kw = pvc_val(r, i, 6), *nsp = pvc_val(r, i, 7), *name = pvc_val(r, i, 8);
			const char *args = pvc_val(r, i, 9);
			char *q = nsp ? pv_qualify(rd->c, nsp, name) : pv_ident(rd->c, name);
			char *target = args ? pv_asprintf("%s %s(%s)", kw, q, args) : pv_asprintf("%s %s", kw, q);
			char *label = args ? pv_asprintf("%s(%s)", name, args) : pv_strdup(name);
			o = pv_graph_add(g, K_ACL_ONLY, PV_PRE, 0, 0, nsp, label);
			o->acl_target = target;
			pv_obj *ext = pvc_oid(r, i, 11) ? pv_graph_lookup(g, C_PG_EXTENSION, pvc_oid(r, i, 11)) : NULL;
			if (ext && ext->kind == K_EXTENSION)
				pv_obj_dep(o, ext);
			free(q);
			free(label);
		}
		char *cols = NULL;
		if (pvc_val(r, i, 10)) {
			char *c = pv_ident(rd->c, pvc_val(r, i, 10));
			cols = pv_asprintf("(%s)", c);
			free(c);
		}
		pv_obj_add_acl(o, pvc_bool(r, i, 1), privs.data, cols, pvc_val(r, i, 3), pvc_val(r, i, 2),
		               pvc_bool(r, i, 5));
		pvc_role(rd, pvc_val(r, i, 2));
		pvc_role(rd, pvc_val(r, i, 3));
		free(cols);
		i = j;
	}
	pv_buf_free(&privs);
	PQclear(r);
	return 0;
}

/* ---- extension configuration tables ------------------------------------------------------ */

/*
 * pg_extension_config_dump() tables: their rows matching the recorded condition are table
 * data loaded after CREATE EXTENSION (COPY (SELECT ... WHERE cond)); configuration sequences
 * get their value set.  Data of config tables follows the data of config tables they
 * reference, because the extension's foreign keys exist while they load.
 */
static int
read_ext_config(reader *rd)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT e.oid, c.oid, n.nspname, c.relname, c.relkind, COALESCE(x.cond, ''),"
	    " (SELECT pg_catalog.json_agg(a.attname ORDER BY a.attnum) FROM pg_catalog.pg_attribute a"
	    "   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '')"
	    " FROM pg_catalog.pg_extension e"
	    " CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(e.extconfig), pg_catalog.unnest(e.extcondition)) AS x(relid, cond)"
	    " JOIN pg_catalog.pg_class c ON c.oid = x.relid"
	    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	    " WHERE e.oid >= 16384 ORDER BY n.nspname, c.relname", NULL);
	if (!r)
		return pv_wrap("reading extension configuration tables");
	pv_buf ids = PV_BUF_INIT;
	json_t *data_of = json_object(); /* relid -> data object id */
	int rc = 0;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		pv_obj *ext = pv_graph_lookup(g, C_PG_EXTENSION, pvc_oid(r, i, 0));
		if (!ext)
			continue;
		char *q = pv_qualify(rd->c, pvc_val(r, i, 2), pvc_val(r, i, 3));
		const char *kind = pvc_val(r, i, 4);
		if (kind[0] == 'S') {
			char *sql = pv_asprintf("SELECT last_value, is_called FROM %s", q);
			PGresult *s = pvc_query(rd, sql, NULL);
			free(sql);
			if (!s) {
				rc = pv_wrap("reading extension configuration sequence %s", q);
			} else {
				pv_obj *d = pv_graph_add(g, K_SEQ_SET, PV_DATA, 0, 0, pvc_val(r, i, 2), pvc_val(r, i, 3));
				pv_obj_set_def(d, &pv_ops_seq_value,
				               pv_def_seq_value_new(pvc_val(r, i, 2), pvc_val(r, i, 3),
				                                    strtoll(pvc_val(s, 0, 0), NULL, 10), pvc_bool(s, 0, 1)));
				pv_obj_dep(d, ext);
				PQclear(s);
			}
		} else if (kind[0] == 'r') {
			json_t *cols = pvj_loads_server(pvc_val(r, i, 6) ? pvc_val(r, i, 6) : "[]",
			                                pv_session_text(rd->c), "column names");
			if (!cols) {
				rc = pv_wrap("extension configuration table %s", q);
				free(q);
				break;
			}
			pv_buf cl = PV_BUF_INIT;
			size_t idx;
			json_t *c;
			json_array_foreach(cols, idx, c) {
				if (idx)
					pv_buf_puts(&cl, ", ");
				pv_buf_ident(&cl, rd->c, json_string_value(c));
			}
			pv_obj *d = pv_graph_add(g, K_TABLE_DATA, PV_DATA, 0, 0, pvc_val(r, i, 2), pvc_val(r, i, 3));
			pv_obj_dep(d, ext);
			/* strings (never NULL) and an array into a new object: cannot fail */
			d->extra = json_object();
			(void)pvj_set_str(d->extra, "table", q);
			(void)pvj_set(d->extra, "columns", cols);
			(void)pvj_set_str(d->extra, "column_list", cl.len ? cl.data : "");
			(void)pvj_set_int(d->extra, "relid", pvc_oid(r, i, 1));
			char *query = pv_asprintf("SELECT %s FROM ONLY %s %s", cl.len ? cl.data : "*", q,
			                          pvc_val(r, i, 5));
			(void)pvj_set_str(d->extra, "query", query);
			free(query);
			pv_buf_free(&cl);
			(void)pvj_set_int(data_of, pvc_val(r, i, 1), d->id);
			pvc_oids_add(&ids, pvc_oid(r, i, 1));
		} else {
			char *descr = pv_asprintf("configuration relation %s of an extension", q);
			pvc_unsupported(rd, "extension configuration data", descr);
			free(descr);
		}
		free(q);
	}
	PQclear(r);
	if (rc == 0 && ids.len) {
		r = pvc_query(rd,
		    "SELECT c.conrelid, c.confrelid FROM pg_catalog.pg_constraint c"
		    " WHERE c.contype = 'f' AND c.conrelid <> c.confrelid"
		    " AND c.conrelid = ANY ($1::pg_catalog.oid[]) AND c.confrelid = ANY ($1::pg_catalog.oid[])",
		    pvc_oids(&ids));
		if (!r) {
			rc = pv_wrap("reading foreign keys between extension configuration tables");
		} else {
			for (int i = 0; i < PQntuples(r); i++) {
				json_t *a = json_object_get(data_of, pvc_val(r, i, 0));
				json_t *b = json_object_get(data_of, pvc_val(r, i, 1));
				if (a && b)
					pv_obj_dep(pv_graph_get(g, (int)json_integer_value(a)),
					           pv_graph_get(g, (int)json_integer_value(b)));
			}
			PQclear(r);
		}
	}
	json_decref(data_of);
	pv_buf_free(&ids);
	return rc;
}

int
pvc_read_privileges(reader *rd)
{
	if (read_default_acls(rd) < 0 || read_init_privs(rd) < 0 || read_ext_config(rd) < 0)
		return -1;
	return 0;
}

/* ---- after the comment targets are sorted --------------------------------------------------- */

/* SECURITY LABEL statements ride with their object like comments; the database's own label
 * names the database the restore creates (current_database()). */
static int
read_seclabels(reader *rd)
{
	if (pvc_none(rd, CEN_SECLABEL)) /* the census: none */
		return 0;
	PGresult *r = pvc_query(rd,
	    "SELECT s.classoid, s.objoid, s.objsubid, s.provider, s.label, a.attname,"
	    " pg_catalog.pg_describe_object(s.classoid, s.objoid, s.objsubid),"
	    " EXISTS (SELECT 1 FROM pg_catalog.pg_depend xd WHERE xd.classid = s.classoid"
	    "   AND xd.objid = s.objoid AND xd.deptype = 'e')"
	    " FROM pg_catalog.pg_seclabel s"
	    " LEFT JOIN pg_catalog.pg_attribute a ON s.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass"
	    "   AND a.attrelid = s.objoid AND a.attnum = s.objsubid AND s.objsubid > 0"
	    " UNION ALL SELECT s.classoid, s.objoid, 0, s.provider, s.label, NULL, NULL, false"
	    " FROM pg_catalog.pg_shseclabel s JOIN pg_catalog.pg_database d ON d.oid = s.objoid"
	    " AND s.classoid = 'pg_catalog.pg_database'::pg_catalog.regclass"
	    " WHERE d.datname = pg_catalog.current_database()"
	    /* the subscriptions of this database (shared objects too) */
	    " UNION ALL SELECT s.classoid, s.objoid, 0, s.provider, s.label, NULL,"
	    " pg_catalog.pg_describe_object(s.classoid, s.objoid, 0), false"
	    " FROM pg_catalog.pg_shseclabel s JOIN pg_catalog.pg_subscription sub ON sub.oid = s.objoid"
	    " AND s.classoid = 'pg_catalog.pg_subscription'::pg_catalog.regclass"
	    " JOIN pg_catalog.pg_database d ON d.oid = sub.subdbid"
	    " WHERE d.datname = pg_catalog.current_database()"
	    " ORDER BY 1, 2, 3, 4", NULL);
	if (!r)
		return pv_wrap("reading security labels");
	pv_graph *g = rd->cat->g;
	pv_obj *dbo = NULL;
	for (int i = 0; i < PQntuples(r); i++) {
		pv_oid cls = pvc_oid(r, i, 0), oid = pvc_oid(r, i, 1);
		int sub = atoi(pvc_val(r, i, 2));
		char *prov = pv_ident(rd->c, pvc_val(r, i, 3));
		char *lit = pv_literal(rd->c, pvc_val(r, i, 4));
		if (!pvc_val(r, i, 6)) {
			/* the database itself: its name may change on restore */
			char *plit = pv_literal(rd->c, pvc_val(r, i, 3));
			char *body = pv_asprintf("BEGIN EXECUTE pg_catalog.format('SECURITY LABEL FOR %%I ON DATABASE %%I IS %%L', "
			                         "%s, pg_catalog.current_database(), %s); END", plit, lit);
			char *blit = pv_literal(rd->c, body);
			char *sql = pv_asprintf("DO %s;", blit);
			if (!dbo)
				dbo = pv_graph_add(g, K_DB_SETTINGS, PV_PRE, 0, 0, NULL, "database security labels");
			pv_obj_add_comment(dbo, sql);
			free(plit);
			free(body);
			free(blit);
			free(sql);
		} else {
			cmt_target *t = pvc_find_target(rd, cls, oid);
			pv_obj *o = pv_graph_lookup(g, cls, oid);
			char *sql = NULL;
			if (t && o && sub > 0 && pvc_val(r, i, 5)) {
				char *col = pv_ident(rd->c, pvc_val(r, i, 5));
				sql = pv_asprintf("SECURITY LABEL FOR %s ON COLUMN %s.%s IS %s;", prov, t->qname, col, lit);
				free(col);
			} else if (t && o && sub == 0) {
				sql = pv_asprintf("SECURITY LABEL FOR %s ON %s %s IS %s;", prov, t->kw, t->qname, lit);
			}
			if (sql && (o->kind != K_EXTENSION || cls == C_PG_EXTENSION)) {
				pv_obj_add_comment(o, sql);
				pvc_loops_comment(o, cls, sub == 0 ? oid : 0, sql);
			} else if (!pvc_bool(r, i, 7)) {
				/* labels on extension members come with CREATE EXTENSION's objects */
				char *d = pv_asprintf("security label on %s", pvc_val(r, i, 6));
				pvc_unsupported(rd, "security label", d);
				free(d);
			}
			free(sql);
		}
		free(prov);
		free(lit);
	}
	PQclear(r);
	return 0;
}

/* ALTER <kind> <name> DEPENDS ON EXTENSION e (pg_depend deptype 'x'), after its CREATE. */
static int
read_ext_depends(reader *rd)
{
	PGresult *r = pvc_query(rd,
	    "SELECT d.classid, d.objid, e.extname, pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)"
	    " FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid"
	    " WHERE d.deptype = 'x' AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass"
	    " ORDER BY d.classid, d.objid, d.ctid", NULL);
	if (!r)
		return pv_wrap("reading dependencies on extensions");
	for (int i = 0; i < PQntuples(r); i++) {
		pv_oid cls = pvc_oid(r, i, 0), oid = pvc_oid(r, i, 1);
		cmt_target *t = pvc_find_target(rd, cls, oid);
		pv_obj *o = pv_graph_lookup(rd->cat->g, cls, oid);
		int ok = t && o && o->sql && o->kind != K_EXTENSION &&
		         (cls == C_PG_PROC || cls == C_PG_TRIGGER || cls == C_PG_CLASS);
		if (ok && cls == C_PG_CLASS && strcmp(t->kw, "INDEX") != 0 &&
		    strcmp(t->kw, "MATERIALIZED VIEW") != 0)
			ok = 0;
		if (!ok) {
			char *d = pv_asprintf("%s depends on extension %s", pvc_val(r, i, 3), pvc_val(r, i, 2));
			pvc_unsupported(rd, "dependency on an extension", d);
			free(d);
			continue;
		}
		char *e = pv_ident(rd->c, pvc_val(r, i, 2));
		char *sql = pv_asprintf("%s\nALTER %s %s DEPENDS ON EXTENSION %s;", o->sql, t->kw, t->qname, e);
		free(o->sql);
		o->sql = sql;
		free(e);
	}
	PQclear(r);
	return 0;
}

int
pvc_read_seclabels(reader *rd)
{
	if (read_seclabels(rd) < 0 || read_ext_depends(rd) < 0)
		return -1;
	return 0;
}
