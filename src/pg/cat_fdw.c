/*
 * pg/cat_fdw.c — text search objects, foreign-data wrappers, servers and user mappings,
 * publications, subscriptions, event triggers and extended statistics.
 *
 * Owns the CREATE statements of those kinds (assembled from their catalogs; only extended
 * statistics have a deparse function), their owners, comment targets and, for wrappers
 * and servers, their ACL deltas.  Foreign tables belong to the relation code of catalog.c;
 * the servers registered here are what they depend on.  Event triggers are created in
 * the restore's last pass (PV_LATE_AFTER_ACL), after every other statement.  Subscriptions
 * are written as pg_dump writes them (connect = false: the restore contacts no publisher,
 * the copy is disabled and has no slot), with their connection string's secrets removed.
 */
#include "pg/catalog_int.h"

#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"

/* ---- helpers -------------------------------------------------------------------------- */

/* The rows [*lo, *hi) of r (ordered by column 0, an OID) that belong to oid; *pos is a
 * cursor over r for callers walking their objects in OID order too. */
static void
rows_for(PGresult *r, int *pos, pv_oid oid, int *lo, int *hi)
{
	int n = PQntuples(r);
	while (*pos < n && pvc_oid(r, *pos, 0) < oid)
		(*pos)++;
	*lo = *pos;
	while (*pos < n && pvc_oid(r, *pos, 0) == oid)
		(*pos)++;
	*hi = *pos;
}

/* Generic options of one catalog's rows: (oid, name, value), in OID and then array order
 * (the order they were given in). */
static PGresult *
query_options(reader *rd, const char *catalog, const char *column)
{
	char *sql = pv_asprintf(
	    "SELECT x.oid, o.option_name, o.option_value FROM pg_catalog.%s x,"
	    " pg_catalog.pg_options_to_table(x.%s) WITH ORDINALITY AS o(option_name, option_value, n)"
	    " WHERE x.oid >= 16384 ORDER BY x.oid, o.n", catalog, column);
	PGresult *r = pvc_query(rd, sql, NULL);
	free(sql);
	return r;
}

/* " OPTIONS (name 'value', ...)" from the rows of r (see query_options) for oid. */
static int
add_options(reader *rd, pv_buf *b, PGresult *r, int *pos, pv_oid oid)
{
	int lo, hi;
	rows_for(r, pos, oid, &lo, &hi);
	for (int i = lo; i < hi; i++) {
		if (!pvc_val(r, i, 2))
			return pv_fail("option \"%s\" has no value", pvc_val(r, i, 1));
		pv_buf_puts(b, i == lo ? " OPTIONS (" : ", ");
		pv_buf_ident(b, rd->c, pvc_val(r, i, 1));
		pv_buf_putc(b, ' ');
		pv_buf_literal(b, rd->c, pvc_val(r, i, 2));
	}
	if (hi > lo)
		pv_buf_putc(b, ')');
	return 0;
}

/* ---- text search ---------------------------------------------------------------------- */

static int
read_ts_parsers(reader *rd)
{
	if (pvc_none(rd, CEN_TS_PARSER)) /* the census: none */
		return 0;
	PGresult *r = pvc_query(rd,
	    "SELECT p.oid, n.nspname, p.prsname, p.prsstart::pg_catalog.regproc,"
	    " p.prstoken::pg_catalog.regproc, p.prsend::pg_catalog.regproc,"
	    " p.prslextype::pg_catalog.regproc,"
	    " CASE WHEN p.prsheadline <> 0 THEN p.prsheadline::pg_catalog.regproc::pg_catalog.text END"
	    " FROM pg_catalog.pg_ts_parser p JOIN pg_catalog.pg_namespace n ON n.oid = p.prsnamespace"
	    " WHERE p.oid >= 16384 AND" NOT_EXT("pg_ts_parser", "p") "ORDER BY p.oid", NULL);
	if (!r)
		return pv_wrap("reading text search parsers");
	for (int i = 0; i < PQntuples(r); i++) {
		char *q = pv_qualify(rd->c, pvc_val(r, i, 1), pvc_val(r, i, 2));
		pv_obj *o = pv_graph_add(rd->cat->g, K_TS_PARSER, PV_PRE, C_PG_TS_PARSER, pvc_oid(r, i, 0),
		                         pvc_val(r, i, 1), pvc_val(r, i, 2));
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE TEXT SEARCH PARSER %s (\n    START = %s,\n    GETTOKEN = %s,\n"
		                  "    END = %s,\n    LEXTYPES = %s", q, pvc_val(r, i, 3), pvc_val(r, i, 4),
		              pvc_val(r, i, 5), pvc_val(r, i, 6));
		if (pvc_val(r, i, 7))
			pv_buf_printf(&b, ",\n    HEADLINE = %s", pvc_val(r, i, 7));
		pv_buf_puts(&b, " );");
		o->sql = pv_buf_detach(&b);
		pvc_target(rd, C_PG_TS_PARSER, o->oid, "TEXT SEARCH PARSER", q);
		free(q);
	}
	PQclear(r);
	return 0;
}

static int
read_ts_templates(reader *rd)
{
	if (pvc_none(rd, CEN_TS_TEMPLATE)) /* the census: none */
		return 0;
	PGresult *r = pvc_query(rd,
	    "SELECT t.oid, n.nspname, t.tmplname,"
	    " CASE WHEN t.tmplinit <> 0 THEN t.tmplinit::pg_catalog.regproc::pg_catalog.text END,"
	    " t.tmpllexize::pg_catalog.regproc"
	    " FROM pg_catalog.pg_ts_template t JOIN pg_catalog.pg_namespace n ON n.oid = t.tmplnamespace"
	    " WHERE t.oid >= 16384 AND" NOT_EXT("pg_ts_template", "t") "ORDER BY t.oid", NULL);
	if (!r)
		return pv_wrap("reading text search templates");
	for (int i = 0; i < PQntuples(r); i++) {
		char *q = pv_qualify(rd->c, pvc_val(r, i, 1), pvc_val(r, i, 2));
		pv_obj *o = pv_graph_add(rd->cat->g, K_TS_TEMPLATE, PV_PRE, C_PG_TS_TEMPLATE,
		                         pvc_oid(r, i, 0), pvc_val(r, i, 1), pvc_val(r, i, 2));
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE TEXT SEARCH TEMPLATE %s (\n", q);
		if (pvc_val(r, i, 3))
			pv_buf_printf(&b, "    INIT = %s,\n", pvc_val(r, i, 3));
		pv_buf_printf(&b, "    LEXIZE = %s );", pvc_val(r, i, 4));
		o->sql = pv_buf_detach(&b);
		pvc_target(rd, C_PG_TS_TEMPLATE, o->oid, "TEXT SEARCH TEMPLATE", q);
		free(q);
	}
	PQclear(r);
	return 0;
}

static int
read_ts_dicts(reader *rd)
{
	if (pvc_none(rd, CEN_TS_DICT)) /* the census: none */
		return 0;
	PGresult *r = pvc_query(rd,
	    "SELECT d.oid, n.nspname, d.dictname, pg_catalog.pg_get_userbyid(d.dictowner),"
	    " tn.nspname, t.tmplname, d.dictinitoption"
	    " FROM pg_catalog.pg_ts_dict d JOIN pg_catalog.pg_namespace n ON n.oid = d.dictnamespace"
	    " JOIN pg_catalog.pg_ts_template t ON t.oid = d.dicttemplate"
	    " JOIN pg_catalog.pg_namespace tn ON tn.oid = t.tmplnamespace"
	    " WHERE d.oid >= 16384 AND" NOT_EXT("pg_ts_dict", "d") "ORDER BY d.oid", NULL);
	if (!r)
		return pv_wrap("reading text search dictionaries");
	for (int i = 0; i < PQntuples(r); i++) {
		char *q = pv_qualify(rd->c, pvc_val(r, i, 1), pvc_val(r, i, 2));
		char *tq = pv_qualify(rd->c, pvc_val(r, i, 4), pvc_val(r, i, 5));
		pv_obj *o = pv_graph_add(rd->cat->g, K_TS_DICT, PV_PRE, C_PG_TS_DICT, pvc_oid(r, i, 0),
		                         pvc_val(r, i, 1), pvc_val(r, i, 2));
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE TEXT SEARCH DICTIONARY %s (\n    TEMPLATE = %s", q, tq);
		/* dictinitoption is already option syntax (name = 'value', ...) */
		if (pvc_val(r, i, 6) && *pvc_val(r, i, 6))
			pv_buf_printf(&b, ",\n    %s", pvc_val(r, i, 6));
		pv_buf_puts(&b, " );");
		o->sql = pv_buf_detach(&b);
		pvc_owner(rd, o, pvc_val(r, i, 3), "TEXT SEARCH DICTIONARY", q);
		pvc_target(rd, C_PG_TS_DICT, o->oid, "TEXT SEARCH DICTIONARY", q);
		free(q);
		free(tq);
	}
	PQclear(r);
	return 0;
}

static int
read_ts_configs(reader *rd)
{
	if (pvc_none(rd, CEN_TS_CONFIG)) /* the census: none */
		return 0;
	pv_graph *g = rd->cat->g;
	pv_buf ids = PV_BUF_INIT;
	PGresult *r = pvc_query(rd,
	    "SELECT c.oid, n.nspname, c.cfgname, pg_catalog.pg_get_userbyid(c.cfgowner),"
	    " pn.nspname, p.prsname"
	    " FROM pg_catalog.pg_ts_config c JOIN pg_catalog.pg_namespace n ON n.oid = c.cfgnamespace"
	    " JOIN pg_catalog.pg_ts_parser p ON p.oid = c.cfgparser"
	    " JOIN pg_catalog.pg_namespace pn ON pn.oid = p.prsnamespace"
	    " WHERE c.oid >= 16384 AND" NOT_EXT("pg_ts_config", "c") "ORDER BY c.oid", NULL);
	if (!r)
		return pv_wrap("reading text search configurations");
	for (int i = 0; i < PQntuples(r); i++) {
		char *q = pv_qualify(rd->c, pvc_val(r, i, 1), pvc_val(r, i, 2));
		char *pq = pv_qualify(rd->c, pvc_val(r, i, 4), pvc_val(r, i, 5));
		pv_obj *o = pv_graph_add(g, K_TS_CONFIG, PV_PRE, C_PG_TS_CONFIG, pvc_oid(r, i, 0),
		                         pvc_val(r, i, 1), pvc_val(r, i, 2));
		o->sql = pv_asprintf("CREATE TEXT SEARCH CONFIGURATION %s (\n    PARSER = %s );", q, pq);
		pvc_owner(rd, o, pvc_val(r, i, 3), "TEXT SEARCH CONFIGURATION", q);
		pvc_target(rd, C_PG_TS_CONFIG, o->oid, "TEXT SEARCH CONFIGURATION", q);
		pvc_oids_add(&ids, o->oid);
		free(q);
		free(pq);
	}
	PQclear(r);

	/* mappings: one ADD MAPPING per token type, dictionaries in mapseqno order */
	r = pvc_query(rd,
	    "SELECT m.mapcfg, m.maptokentype,"
	    " (SELECT t.alias FROM pg_catalog.ts_token_type(c.cfgparser) t WHERE t.tokid = m.maptokentype),"
	    " m.mapdict::pg_catalog.regdictionary"
	    " FROM pg_catalog.pg_ts_config_map m JOIN pg_catalog.pg_ts_config c ON c.oid = m.mapcfg"
	    " WHERE m.mapcfg = ANY ($1::pg_catalog.oid[])"
	    " ORDER BY m.mapcfg, m.maptokentype, m.mapseqno", pvc_oids(&ids));
	pv_buf_free(&ids);
	if (!r)
		return pv_wrap("reading text search configuration mappings");
	int n = PQntuples(r);
	for (int i = 0; i < n;) {
		pv_obj *o = pv_graph_lookup(g, C_PG_TS_CONFIG, pvc_oid(r, i, 0));
		const char *cfg = o->owner_target + strlen("TEXT SEARCH CONFIGURATION ");
		pv_buf b = PV_BUF_INIT;
		pv_buf_puts(&b, o->sql);
		for (int j = i; j < n && pvc_oid(r, j, 0) == o->oid;) {
			const char *tok = pvc_val(r, j, 2);
			if (!tok) {
				pv_buf_free(&b);
				PQclear(r);
				return pv_fail("text search configuration %s maps token type %s, which its parser "
				               "does not have", cfg, pvc_val(r, j, 1));
			}
			pv_buf_printf(&b, "\nALTER TEXT SEARCH CONFIGURATION %s ADD MAPPING FOR ", cfg);
			pv_buf_ident(&b, rd->c, tok);
			pv_buf_puts(&b, " WITH ");
			int k = j;
			for (; k < n && pvc_oid(r, k, 0) == o->oid &&
			       strcmp(pvc_val(r, k, 1), pvc_val(r, j, 1)) == 0; k++)
				pv_buf_printf(&b, "%s%s", k > j ? ", " : "", pvc_val(r, k, 3));
			pv_buf_putc(&b, ';');
			j = k;
			i = k;
		}
		free(o->sql);
		o->sql = pv_buf_detach(&b);
	}
	PQclear(r);
	return 0;
}

int
pvc_read_textsearch(reader *rd)
{
	if (read_ts_parsers(rd) < 0 || read_ts_templates(rd) < 0 || read_ts_dicts(rd) < 0 ||
	    read_ts_configs(rd) < 0)
		return -1;
	return 0;
}

/* ---- foreign-data wrappers, servers, user mappings ------------------------------------ */

static int
read_fdws(reader *rd, pv_buf *ids)
{
	if (pvc_none(rd, CEN_FDW)) /* the census: none */
		return 0;
	PGresult *opts = query_options(rd, "pg_foreign_data_wrapper", "fdwoptions");
	if (!opts)
		return pv_wrap("reading foreign-data wrapper options");
	PGresult *r = pvc_query(rd,
	    "SELECT f.oid, f.fdwname, pg_catalog.pg_get_userbyid(f.fdwowner),"
	    " CASE WHEN f.fdwhandler <> 0 THEN f.fdwhandler::pg_catalog.regproc::pg_catalog.text END,"
	    " CASE WHEN f.fdwvalidator <> 0 THEN f.fdwvalidator::pg_catalog.regproc::pg_catalog.text END"
	    " FROM pg_catalog.pg_foreign_data_wrapper f"
	    " WHERE f.oid >= 16384 AND" NOT_EXT("pg_foreign_data_wrapper", "f") "ORDER BY f.oid", NULL);
	if (!r) {
		PQclear(opts);
		return pv_wrap("reading foreign-data wrappers");
	}
	int pos = 0, rc = 0;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		const char *name = pvc_val(r, i, 1);
		char *q = pv_ident(rd->c, name);
		pv_obj *o = pv_graph_add(rd->cat->g, K_FDW, PV_PRE, C_PG_FDW, pvc_oid(r, i, 0), NULL, name);
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE FOREIGN DATA WRAPPER %s", q);
		if (pvc_val(r, i, 3))
			pv_buf_printf(&b, " HANDLER %s", pvc_val(r, i, 3));
		if (pvc_val(r, i, 4))
			pv_buf_printf(&b, " VALIDATOR %s", pvc_val(r, i, 4));
		else
			pv_buf_puts(&b, " NO VALIDATOR");
		if ((rc = add_options(rd, &b, opts, &pos, o->oid)) < 0)
			pv_wrap("foreign-data wrapper %s", q);
		pv_buf_putc(&b, ';');
		o->sql = pv_buf_detach(&b);
		pvc_owner(rd, o, pvc_val(r, i, 2), "FOREIGN DATA WRAPPER", q);
		o->acl_target = pv_asprintf("FOREIGN DATA WRAPPER %s", q);
		pvc_target(rd, C_PG_FDW, o->oid, "FOREIGN DATA WRAPPER", q);
		pvc_oids_add(ids, o->oid);
		free(q);
	}
	PQclear(r);
	PQclear(opts);
	return rc;
}

static int
read_servers(reader *rd, pv_buf *ids)
{
	if (pvc_none(rd, CEN_SERVER)) /* the census: none */
		return 0;
	PGresult *opts = query_options(rd, "pg_foreign_server", "srvoptions");
	if (!opts)
		return pv_wrap("reading foreign server options");
	PGresult *r = pvc_query(rd,
	    "SELECT s.oid, s.srvname, pg_catalog.pg_get_userbyid(s.srvowner), f.fdwname,"
	    " s.srvtype, s.srvversion, s.srvfdw"
	    " FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper f ON f.oid = s.srvfdw"
	    " WHERE s.oid >= 16384 AND" NOT_EXT("pg_foreign_server", "s") "ORDER BY s.oid", NULL);
	if (!r) {
		PQclear(opts);
		return pv_wrap("reading foreign servers");
	}
	int pos = 0, rc = 0;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		const char *name = pvc_val(r, i, 1);
		char *q = pv_ident(rd->c, name);
		pv_obj *o = pv_graph_add(rd->cat->g, K_SERVER, PV_PRE, C_PG_FOREIGN_SERVER,
		                         pvc_oid(r, i, 0), NULL, name);
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE SERVER %s", q);
		if (pvc_val(r, i, 4)) {
			pv_buf_puts(&b, " TYPE ");
			pv_buf_literal(&b, rd->c, pvc_val(r, i, 4));
		}
		if (pvc_val(r, i, 5)) {
			pv_buf_puts(&b, " VERSION ");
			pv_buf_literal(&b, rd->c, pvc_val(r, i, 5));
		}
		pv_buf_puts(&b, " FOREIGN DATA WRAPPER ");
		pv_buf_ident(&b, rd->c, pvc_val(r, i, 3));
		if ((rc = add_options(rd, &b, opts, &pos, o->oid)) < 0)
			pv_wrap("server %s", q);
		pv_buf_putc(&b, ';');
		o->sql = pv_buf_detach(&b);
		pvc_owner(rd, o, pvc_val(r, i, 2), "SERVER", q);
		o->acl_target = pv_asprintf("FOREIGN SERVER %s", q);
		pvc_target(rd, C_PG_FOREIGN_SERVER, o->oid, "SERVER", q);
		pv_obj *w = pv_graph_lookup(rd->cat->g, C_PG_FDW, pvc_oid(r, i, 6));
		if (w)
			pv_obj_dep(o, w);
		pvc_oids_add(ids, o->oid);
		free(q);
	}
	PQclear(r);
	PQclear(opts);
	return rc;
}

/* User mappings have no owner, comment or ACL.  pg_user_mapping (with the options, which
 * may hold passwords) is readable by superusers only: for other roles nothing is read here,
 * and the completeness check (which lists them from the pg_user_mappings view) reports each
 * mapping as unsupported, saying why. */
static int
read_user_mappings(reader *rd)
{
	if (pvc_none(rd, CEN_SERVER)) /* the census: none */
		return 0;
	PGresult *priv = pvc_query(rd,
	    "SELECT pg_catalog.has_table_privilege('pg_catalog.pg_user_mapping', 'SELECT')", NULL);
	if (!priv)
		return pv_wrap("checking whether user mappings can be read");
	int readable = pvc_bool(priv, 0, 0);
	PQclear(priv);
	if (!readable)
		return 0;
	PGresult *opts = query_options(rd, "pg_user_mapping", "umoptions");
	if (!opts)
		return pv_wrap("reading user mapping options");
	PGresult *r = pvc_query(rd,
	    "SELECT u.oid, CASE WHEN u.umuser <> 0 THEN pg_catalog.pg_get_userbyid(u.umuser) END,"
	    " s.srvname, s.oid"
	    " FROM pg_catalog.pg_user_mapping u JOIN pg_catalog.pg_foreign_server s ON s.oid = u.umserver"
	    " WHERE u.oid >= 16384 AND" NOT_EXT("pg_user_mapping", "u") "ORDER BY u.oid", NULL);
	if (!r) {
		PQclear(opts);
		return pv_wrap("reading user mappings");
	}
	int pos = 0, rc = 0;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		const char *user = pvc_val(r, i, 1);
		char *u = user ? pv_ident(rd->c, user) : pv_strdup("PUBLIC");
		char *s = pv_ident(rd->c, pvc_val(r, i, 2));
		char *name = pv_asprintf("%s SERVER %s", user ? user : "PUBLIC", pvc_val(r, i, 2));
		pv_obj *o = pv_graph_add(rd->cat->g, K_USER_MAPPING, PV_PRE, C_PG_USER_MAPPING,
		                         pvc_oid(r, i, 0), NULL, name);
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE USER MAPPING FOR %s SERVER %s", u, s);
		if ((rc = add_options(rd, &b, opts, &pos, o->oid)) < 0)
			pv_wrap("user mapping for %s on server %s", u, s);
		pv_buf_putc(&b, ';');
		o->sql = pv_buf_detach(&b);
		pvc_role(rd, user);
		pv_obj *srv = pv_graph_lookup(rd->cat->g, C_PG_FOREIGN_SERVER, pvc_oid(r, i, 3));
		if (srv)
			pv_obj_dep(o, srv);
		free(u);
		free(s);
		free(name);
	}
	PQclear(r);
	PQclear(opts);
	return rc;
}

int
pvc_read_foreign(reader *rd)
{
	pv_buf fdws = PV_BUF_INIT, servers = PV_BUF_INIT;
	int rc = -1;
	if (read_fdws(rd, &fdws) < 0 || read_servers(rd, &servers) < 0 || read_user_mappings(rd) < 0)
		goto out;
	if (pvc_acls(rd, C_PG_FDW,
	        "SELECT f.oid, COALESCE(f.fdwacl, pg_catalog.acldefault('F', f.fdwowner)),"
	        " pg_catalog.acldefault('F', f.fdwowner)"
	        " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(oid)"
	        " JOIN pg_catalog.pg_foreign_data_wrapper f ON f.oid = s.oid", pvc_oids(&fdws)) < 0 ||
	    pvc_acls(rd, C_PG_FOREIGN_SERVER,
	        "SELECT v.oid, COALESCE(v.srvacl, pg_catalog.acldefault('S', v.srvowner)),"
	        " pg_catalog.acldefault('S', v.srvowner)"
	        " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(oid)"
	        " JOIN pg_catalog.pg_foreign_server v ON v.oid = s.oid", pvc_oids(&servers)) < 0)
		goto out;
	rc = 0;
out:
	pv_buf_free(&fdws);
	pv_buf_free(&servers);
	return rc;
}

/* ---- publications --------------------------------------------------------------------- */

static int
read_publications(reader *rd)
{
	if (pvc_none(rd, CEN_PUBLICATION)) /* the census: none */
		return 0;
	pv_graph *g = rd->cat->g;
	char *sql = pv_asprintf(
	    "SELECT p.oid, p.pubname, pg_catalog.pg_get_userbyid(p.pubowner), p.puballtables,"
	    " p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate, %s"
	    " FROM pg_catalog.pg_publication p"
	    " WHERE p.oid >= 16384 AND" NOT_EXT("pg_publication", "p") "ORDER BY p.oid",
	    rd->v >= 130000 ? "p.pubviaroot" : "NULL::pg_catalog.bool");
	PGresult *r = pvc_query(rd, sql, NULL);
	free(sql);
	if (!r)
		return pv_wrap("reading publications");
	for (int i = 0; i < PQntuples(r); i++) {
		const char *name = pvc_val(r, i, 1);
		char *q = pv_ident(rd->c, name);
		pv_obj *o = pv_graph_add(g, K_PUBLICATION, PV_POST, C_PG_PUBLICATION, pvc_oid(r, i, 0),
		                         NULL, name);
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE PUBLICATION %s", q);
		if (pvc_bool(r, i, 3))
			pv_buf_puts(&b, " FOR ALL TABLES");
		static const char *ops[] = {"insert", "update", "delete", "truncate"};
		pv_buf pub = PV_BUF_INIT;
		for (int k = 0; k < 4; k++)
			if (pvc_bool(r, i, 4 + k))
				pv_buf_printf(&pub, "%s%s", pub.len ? ", " : "", ops[k]);
		pv_buf_puts(&b, " WITH (publish = ");
		pv_buf_literal(&b, rd->c, pub.len ? pub.data : "");
		pv_buf_free(&pub);
		if (pvc_val(r, i, 8))
			pv_buf_printf(&b, ", publish_via_partition_root = %s", pvc_bool(r, i, 8) ? "true" : "false");
		pv_buf_puts(&b, ");");
		o->sql = pv_buf_detach(&b);
		pvc_owner(rd, o, pvc_val(r, i, 2), "PUBLICATION", q);
		pvc_target(rd, C_PG_PUBLICATION, o->oid, "PUBLICATION", q);
		free(q);
	}
	PQclear(r);
	return 0;
}

/* ALTER PUBLICATION p ADD TABLE ONLY t [(cols)] [WHERE (expr)], one entry per member */
static int
read_publication_tables(reader *rd)
{
	if (pvc_none(rd, CEN_PUBLICATION)) /* the census: none */
		return 0;
	pv_graph *g = rd->cat->g;
	PGresult *cols = NULL;
	if (rd->v >= 150000) {
		cols = pvc_query(rd,
		    "SELECT pr.oid, a.attname FROM pg_catalog.pg_publication_rel pr,"
		    " pg_catalog.unnest(pr.prattrs::pg_catalog.int2[]) WITH ORDINALITY AS k(attnum, n),"
		    " pg_catalog.pg_attribute a"
		    " WHERE pr.oid >= 16384 AND a.attrelid = pr.prrelid AND a.attnum = k.attnum"
		    " ORDER BY pr.oid, k.n", NULL);
		if (!cols)
			return pv_wrap("reading publication column lists");
	}
	char *sql = pv_asprintf(
	    "SELECT pr.oid, pr.prpubid, pr.prrelid, p.pubname, n.nspname, c.relname, %s"
	    " FROM pg_catalog.pg_publication_rel pr"
	    " JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid"
	    " JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid"
	    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	    " WHERE pr.oid >= 16384 ORDER BY pr.oid",
	    rd->v >= 150000 ? "pg_catalog.pg_get_expr(pr.prqual, pr.prrelid)" : "NULL::pg_catalog.text");
	PGresult *r = pvc_query(rd, sql, NULL);
	free(sql);
	if (!r) {
		PQclear(cols);
		return pv_wrap("reading publication tables");
	}
	int pos = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		pv_obj *p = pv_graph_lookup(g, C_PG_PUBLICATION, pvc_oid(r, i, 1));
		if (!p || p->kind != K_PUBLICATION)
			continue; /* of an extension's publication */
		char *pq = pv_ident(rd->c, pvc_val(r, i, 3));
		char *tq = pv_qualify(rd->c, pvc_val(r, i, 4), pvc_val(r, i, 5));
		char *name = pv_asprintf("%s %s", pvc_val(r, i, 3), pvc_val(r, i, 5));
		pv_obj *o = pv_graph_add(g, K_PUB_TABLE, PV_POST, C_PG_PUBLICATION_REL, pvc_oid(r, i, 0),
		                         pvc_val(r, i, 4), name);
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "ALTER PUBLICATION %s ADD TABLE ONLY %s", pq, tq);
		if (cols) {
			int lo, hi;
			rows_for(cols, &pos, o->oid, &lo, &hi);
			for (int k = lo; k < hi; k++) {
				pv_buf_puts(&b, k == lo ? " (" : ", ");
				pv_buf_ident(&b, rd->c, pvc_val(cols, k, 1));
			}
			if (hi > lo)
				pv_buf_putc(&b, ')');
		}
		if (pvc_val(r, i, 6))
			pv_buf_printf(&b, " WHERE (%s)", pvc_val(r, i, 6));
		pv_buf_putc(&b, ';');
		o->sql = pv_buf_detach(&b);
		pv_obj_dep(o, p);
		pv_obj *t = pv_graph_lookup(g, C_PG_CLASS, pvc_oid(r, i, 2));
		if (t)
			pv_obj_dep(o, t);
		free(pq);
		free(tq);
		free(name);
	}
	PQclear(r);
	PQclear(cols);
	return 0;
}

/* 15+: ALTER PUBLICATION p ADD TABLES IN SCHEMA s */
static int
read_publication_schemas(reader *rd)
{
	if (pvc_none(rd, CEN_PUBLICATION)) /* the census: none */
		return 0;
	if (rd->v < 150000)
		return 0;
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT pn.oid, pn.pnpubid, pn.pnnspid, p.pubname, n.nspname"
	    " FROM pg_catalog.pg_publication_namespace pn"
	    " JOIN pg_catalog.pg_publication p ON p.oid = pn.pnpubid"
	    " JOIN pg_catalog.pg_namespace n ON n.oid = pn.pnnspid"
	    " ORDER BY pn.oid", NULL);
	if (!r)
		return pv_wrap("reading publication schemas");
	for (int i = 0; i < PQntuples(r); i++) {
		pv_obj *p = pv_graph_lookup(g, C_PG_PUBLICATION, pvc_oid(r, i, 1));
		if (!p || p->kind != K_PUBLICATION)
			continue;
		char *pq = pv_ident(rd->c, pvc_val(r, i, 3));
		char *sq = pv_ident(rd->c, pvc_val(r, i, 4));
		char *name = pv_asprintf("%s %s", pvc_val(r, i, 3), pvc_val(r, i, 4));
		pv_obj *o = pv_graph_add(g, K_PUB_SCHEMA, PV_POST, C_PG_PUBLICATION_NAMESPACE,
		                         pvc_oid(r, i, 0), pvc_val(r, i, 4), name);
		o->sql = pv_asprintf("ALTER PUBLICATION %s ADD TABLES IN SCHEMA %s;", pq, sq);
		pv_obj_dep(o, p);
		pv_obj *s = pv_graph_lookup(g, C_PG_NAMESPACE, pvc_oid(r, i, 2));
		if (s)
			pv_obj_dep(o, s);
		free(pq);
		free(sq);
		free(name);
	}
	PQclear(r);
	return 0;
}

/* ---- subscriptions -------------------------------------------------------------------- */

/* conninfo without the options libpq marks as secret (dispchar "*": password, sslpassword).
 * *out is the string unchanged when there were none, else rebuilt as keyword='value' pairs
 * (in libpq's option order; a URI becomes key/value pairs).  -1 when libpq cannot parse it:
 * its message is not passed on, as it may quote the string. */
static int
conninfo_without_secrets(const char *conninfo, char **out, int *removed)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
	*out = NULL;
	*removed = 0;
	if (!opts) {
		if (err)
			PQfreemem(err);
		return -1;
	}
	for (PQconninfoOption *op = opts; op->keyword; op++)
		if (op->val && op->dispchar && op->dispchar[0] == '*')
			*removed = 1;
	if (!*removed) {
		PQconninfoFree(opts);
		*out = pv_strdup(conninfo);
		return 0;
	}
	pv_buf b = PV_BUF_INIT;
	for (PQconninfoOption *op = opts; op->keyword; op++) {
		if (!op->val || (op->dispchar && op->dispchar[0] == '*'))
			continue;
		/* conninfo quoting: single quotes, backslash before ' and \ */
		pv_buf_printf(&b, "%s%s='", b.len ? " " : "", op->keyword);
		for (const char *v = op->val; *v; v++) {
			if (*v == '\'' || *v == '\\')
				pv_buf_putc(&b, '\\');
			pv_buf_putc(&b, *v);
		}
		pv_buf_putc(&b, '\'');
	}
	PQconninfoFree(opts);
	*out = pv_buf_detach(&b);
	return 0;
}

/*
 * CREATE SUBSCRIPTION s CONNECTION '...' PUBLICATION p1, p2 WITH (connect = false,
 * slot_name = ..., <options that differ from their defaults>), as pg_dump writes it.
 * Only the subscriptions of the database being dumped.  subconninfo is readable by
 * superusers only (a column privilege): without it nothing is read here and the
 * completeness check reports each subscription as unsupported, saying why.
 *
 * The options by version (every branch is here): 12 and 13 have none of them; 14 adds
 * subbinary and substream (a bool); 15 subtwophasestate and subdisableonerr; 16 makes
 * substream a char ('f', 't', 'p') and adds subpasswordrequired, subrunasowner and
 * suborigin; 17 adds subfailover.  Defaults in 12-17: binary false, streaming off,
 * two_phase off, disable_on_error false, password_required true, run_as_owner false,
 * origin any, failover false, synchronous_commit off.
 */
static int
read_subscriptions(reader *rd)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT pg_catalog.has_column_privilege('pg_catalog.pg_subscription', 'subconninfo', 'SELECT')",
	    NULL);
	if (!r)
		return pv_wrap("checking whether subscriptions can be read");
	int readable = pvc_bool(r, 0, 0);
	PQclear(r);
	if (!readable)
		return 0; /* reported by the completeness check (read_unsupported) */

	const int v = rd->v;
	PGresult *pubs = pvc_query(rd,
	    "SELECT s.oid, p.pub FROM pg_catalog.pg_subscription s,"
	    " pg_catalog.unnest(s.subpublications) WITH ORDINALITY AS p(pub, n)"
	    " WHERE s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d"
	    "   WHERE d.datname = pg_catalog.current_database())"
	    " ORDER BY s.oid, p.n", NULL);
	if (!pubs)
		return pv_wrap("reading the publications of subscriptions");
	char *sql = pv_asprintf(
	    "SELECT s.oid, s.subname, pg_catalog.pg_get_userbyid(s.subowner), s.subconninfo,"
	    " s.subslotname, s.subsynccommit,"
	    " %s, %s, %s, %s, %s, %s, %s, %s"
	    " FROM pg_catalog.pg_subscription s"
	    " WHERE s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d"
	    "   WHERE d.datname = pg_catalog.current_database())"
	    " ORDER BY s.oid",
	    /* 6 binary */ v >= 140000 ? "s.subbinary" : "false",
	    /* 7 streaming: f, t or p */
	    v >= 160000 ? "s.substream::pg_catalog.text"
	    : v >= 140000 ? "CASE WHEN s.substream THEN 't' ELSE 'f' END" : "'f'",
	    /* 8 two_phase */ v >= 150000 ? "s.subtwophasestate <> 'd'" : "false",
	    /* 9 disable_on_error */ v >= 150000 ? "s.subdisableonerr" : "false",
	    /* 10 password_required */ v >= 160000 ? "s.subpasswordrequired" : "true",
	    /* 11 run_as_owner */ v >= 160000 ? "s.subrunasowner" : "false",
	    /* 12 origin */ v >= 160000 ? "s.suborigin" : "'any'",
	    /* 13 failover */ v >= 170000 ? "s.subfailover" : "false");
	r = pvc_query(rd, sql, NULL);
	free(sql);
	if (!r) {
		PQclear(pubs);
		return pv_wrap("reading subscriptions");
	}
	json_t *names = json_array();
	int pos = 0, rc = 0;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		const char *name = pvc_val(r, i, 1);
		char *q = pv_ident(rd->c, name);
		char *conninfo = NULL;
		int removed = 0;
		if (conninfo_without_secrets(pvc_val(r, i, 3) ? pvc_val(r, i, 3) : "", &conninfo,
		                             &removed) < 0) {
			rc = pv_fail("subscription %s: this libpq cannot parse its connection string (not "
			             "shown: it may hold a password; an option newer than this libpq?)", q);
			free(q);
			break;
		}
		pv_obj *o = pv_graph_add(g, K_SUBSCRIPTION, PV_POST, C_PG_SUBSCRIPTION, pvc_oid(r, i, 0),
		                         NULL, name);
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE SUBSCRIPTION %s CONNECTION ", q);
		pv_buf_literal(&b, rd->c, conninfo);
		int lo, hi;
		rows_for(pubs, &pos, o->oid, &lo, &hi);
		pv_buf_puts(&b, " PUBLICATION ");
		for (int k = lo; k < hi; k++) {
			if (k > lo)
				pv_buf_puts(&b, ", ");
			pv_buf_ident(&b, rd->c, pvc_val(pubs, k, 1));
		}
		pv_buf_puts(&b, " WITH (connect = false, slot_name = ");
		if (pvc_val(r, i, 4))
			pv_buf_literal(&b, rd->c, pvc_val(r, i, 4));
		else
			pv_buf_puts(&b, "NONE");
		if (pvc_bool(r, i, 6))
			pv_buf_puts(&b, ", binary = true");
		const char *stream = pvc_val(r, i, 7);
		if (stream && stream[0] == 't')
			pv_buf_puts(&b, ", streaming = on");
		else if (stream && stream[0] == 'p')
			pv_buf_puts(&b, ", streaming = parallel");
		else /* always said: 18 changed the default from off to parallel (as pg_dump 18) */
			pv_buf_puts(&b, ", streaming = off");
		if (pvc_bool(r, i, 8))
			pv_buf_puts(&b, ", two_phase = on");
		if (pvc_bool(r, i, 9))
			pv_buf_puts(&b, ", disable_on_error = true");
		if (!pvc_bool(r, i, 10))
			pv_buf_puts(&b, ", password_required = false");
		if (pvc_bool(r, i, 11))
			pv_buf_puts(&b, ", run_as_owner = true");
		if (pvc_val(r, i, 12) && strcmp(pvc_val(r, i, 12), "any") != 0) {
			pv_buf_puts(&b, ", origin = ");
			pv_buf_literal(&b, rd->c, pvc_val(r, i, 12));
		}
		if (pvc_bool(r, i, 13))
			pv_buf_puts(&b, ", failover = true");
		if (pvc_val(r, i, 5) && strcmp(pvc_val(r, i, 5), "off") != 0) {
			pv_buf_puts(&b, ", synchronous_commit = ");
			pv_buf_literal(&b, rd->c, pvc_val(r, i, 5));
		}
		pv_buf_puts(&b, ");");
		o->sql = pv_buf_detach(&b);
		pvc_owner(rd, o, pvc_val(r, i, 2), "SUBSCRIPTION", q);
		pvc_target(rd, C_PG_SUBSCRIPTION, o->oid, "SUBSCRIPTION", q);
		(void)pvj_append_str(names, name); /* a name (never NULL) into an array: cannot fail */
		if (removed) {
			char *w = pv_asprintf(
			    "subscription %s: the password in its connection string is not in the backup; "
			    "after a restore, set it with ALTER SUBSCRIPTION %s CONNECTION '...'", q, q);
			pv_warn("%s", w);
			(void)pvj_append_str(rd->cat->warnings, w); /* cannot fail */
			free(w);
		}
		free(conninfo);
		free(q);
	}
	PQclear(r);
	PQclear(pubs);
	/* the header lists them: a restore that cannot create them refuses before it starts */
	if (json_array_size(names))
		(void)pvj_set_copy(rd->cat->db, "subscriptions", names); /* cannot fail */
	json_decref(names);
	return rc;
}

/* ---- event triggers ------------------------------------------------------------------- */

static int
read_event_triggers(reader *rd)
{
	if (pvc_none(rd, CEN_EVENT_TRIGGER)) /* the census: none */
		return 0;
	pv_graph *g = rd->cat->g;
	PGresult *tags = pvc_query(rd,
	    "SELECT e.oid, t.tag FROM pg_catalog.pg_event_trigger e,"
	    " pg_catalog.unnest(e.evttags) WITH ORDINALITY AS t(tag, n)"
	    " WHERE e.oid >= 16384 ORDER BY e.oid, t.n", NULL);
	if (!tags)
		return pv_wrap("reading event trigger tags");
	PGresult *r = pvc_query(rd,
	    "SELECT e.oid, e.evtname, e.evtevent, pg_catalog.pg_get_userbyid(e.evtowner),"
	    " e.evtfoid::pg_catalog.regproc, e.evtenabled"
	    " FROM pg_catalog.pg_event_trigger e"
	    " WHERE e.oid >= 16384 AND" NOT_EXT("pg_event_trigger", "e") "ORDER BY e.oid", NULL);
	if (!r) {
		PQclear(tags);
		return pv_wrap("reading event triggers");
	}
	int pos = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *name = pvc_val(r, i, 1);
		char *q = pv_ident(rd->c, name);
		pv_obj *o = pv_graph_add(g, K_EVENT_TRIGGER, PV_POST, C_PG_EVENT_TRIGGER, pvc_oid(r, i, 0),
		                         NULL, name);
		/* created after everything else, so it never fires on the restore's own DDL */
		o->late = PV_LATE_AFTER_ACL;
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE EVENT TRIGGER %s ON ", q);
		pv_buf_ident(&b, rd->c, pvc_val(r, i, 2));
		int lo, hi;
		rows_for(tags, &pos, o->oid, &lo, &hi);
		for (int k = lo; k < hi; k++) {
			pv_buf_puts(&b, k == lo ? "\n    WHEN TAG IN (" : ", ");
			pv_buf_literal(&b, rd->c, pvc_val(tags, k, 1));
		}
		if (hi > lo)
			pv_buf_putc(&b, ')');
		pv_buf_printf(&b, "\n    EXECUTE FUNCTION %s();", pvc_val(r, i, 4));
		switch (pvc_val(r, i, 5)[0]) {
		case 'D': pv_buf_printf(&b, "\nALTER EVENT TRIGGER %s DISABLE;", q); break;
		case 'R': pv_buf_printf(&b, "\nALTER EVENT TRIGGER %s ENABLE REPLICA;", q); break;
		case 'A': pv_buf_printf(&b, "\nALTER EVENT TRIGGER %s ENABLE ALWAYS;", q); break;
		default: break;
		}
		o->sql = pv_buf_detach(&b);
		pvc_owner(rd, o, pvc_val(r, i, 3), "EVENT TRIGGER", q);
		pvc_target(rd, C_PG_EVENT_TRIGGER, o->oid, "EVENT TRIGGER", q);
		/* REFRESH MATERIALIZED VIEW fires event triggers: refresh first */
		for (int k = 0; k < pv_graph_count(g); k++) {
			pv_obj *f = pv_graph_get(g, k);
			if (f->kind == K_REFRESH)
				pv_obj_dep(o, f);
		}
		free(q);
	}
	PQclear(r);
	PQclear(tags);
	return 0;
}

/* ---- extended statistics -------------------------------------------------------------- */

static int
read_statistics(reader *rd)
{
	if (pvc_none(rd, CEN_STATISTIC_EXT)) /* the census: none */
		return 0;
	pv_graph *g = rd->cat->g;
	/* the statistics target: none before 13, -1 for the default until 16, NULL from 17 */
	const char *target = rd->v >= 170000 ? "s.stxstattarget"
	                   : rd->v >= 130000 ? "NULLIF(s.stxstattarget, -1)"
	                                     : "NULL::pg_catalog.int4";
	char *sql = pv_asprintf(
	    "SELECT s.oid, n.nspname, s.stxname, pg_catalog.pg_get_userbyid(s.stxowner),"
	    " pg_catalog.pg_get_statisticsobjdef(s.oid), %s, s.stxrelid"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) r(relid)"
	    " JOIN pg_catalog.pg_statistic_ext s ON s.stxrelid = r.relid"
	    " JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace"
	    " WHERE s.oid >= 16384 AND" NOT_EXT("pg_statistic_ext", "s") "ORDER BY s.oid", target);
	PGresult *r = pvc_query(rd, sql, pvc_oids(&rd->relids));
	free(sql);
	if (!r)
		return pv_wrap("reading extended statistics");
	for (int i = 0; i < PQntuples(r); i++) {
		char *q = pv_qualify(rd->c, pvc_val(r, i, 1), pvc_val(r, i, 2));
		pv_obj *o = pv_graph_add(g, K_STATISTICS, PV_POST, C_PG_STATISTIC_EXT, pvc_oid(r, i, 0),
		                         pvc_val(r, i, 1), pvc_val(r, i, 2));
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "%s;", pvc_val(r, i, 4));
		if (pvc_val(r, i, 5))
			pv_buf_printf(&b, "\nALTER STATISTICS %s SET STATISTICS %s;", q, pvc_val(r, i, 5));
		o->sql = pv_buf_detach(&b);
		pvc_owner(rd, o, pvc_val(r, i, 3), "STATISTICS", q);
		pvc_target(rd, C_PG_STATISTIC_EXT, o->oid, "STATISTICS", q);
		pv_obj *t = pv_graph_lookup(g, C_PG_CLASS, pvc_oid(r, i, 6));
		if (t)
			pv_obj_dep(o, t);
		free(q);
	}
	PQclear(r);
	return 0;
}

int
pvc_read_pubs(reader *rd)
{
	if (read_publications(rd) < 0 || read_publication_tables(rd) < 0 ||
	    read_publication_schemas(rd) < 0 || read_subscriptions(rd) < 0 ||
	    read_event_triggers(rd) < 0 ||
	    read_statistics(rd) < 0)
		return -1;
	return 0;
}
