/*
 * pg/cat_schema.c — catalog readers of schemas, extensions (and what belongs to them),
 * privileges of schemas and columns, enum and composite types, domains, functions and
 * procedures (see catalog_int.h).
 */
#include "pg/catalog_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "schema/model.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"

/* ---- schemas and extensions --------------------------------------------------------- */

int
pvc_read_schemas(reader *rd)
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
			pv_obj_set_def(o, &pv_ops_schema, pv_def_schema_new(name, PV_SCHEMA_BUILTIN));
			pv_oid default_owner = rd->v >= 150000 ? 6171u : 10u;
			if (pvc_oid(r, i, 3) != default_owner)
				pvc_owner(rd, o, pvc_val(r, i, 2), "SCHEMA", q);
		} else {
			pv_obj_set_def(o, &pv_ops_schema, pv_def_schema_new(name, PV_SCHEMA_CREATE));
			pvc_owner(rd, o, pvc_val(r, i, 2), "SCHEMA", q);
		}
		free(q);
	}
	PQclear(r);
	if (!have_public) {
		pv_obj *o = pv_graph_add(g, K_SCHEMA, PV_PRE, 0, 0, NULL, "public");
		pv_obj_set_def(o, &pv_ops_schema, pv_def_schema_new("public", PV_SCHEMA_DROP));
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
void
pvc_drop_ext_members(reader *rd)
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

int
pvc_read_extensions(reader *rd)
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
		pv_obj *o = pv_graph_add(g, K_EXTENSION, PV_PRE, C_PG_EXTENSION, pvc_oid(r, i, 0), NULL,
		                         pvc_val(r, i, 1));
		pv_obj_set_def(o, &pv_ops_extension, pv_def_extension_new(pvc_val(r, i, 1), pvc_val(r, i, 2)));
		pvc_target(rd, C_PG_EXTENSION, o->oid, "EXTENSION", q);
		free(q);
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
	if (ids && strcmp(ids, "{}") == 0) /* inner's rows come from unnest(ids): none */
		return 0;
	char *sql = pv_asprintf(
	    /* an object whose privileges are its baseline has no delta: no aclexplode for it */
	    "WITH obj0(oid, acl, base) AS (%s),"
	    " obj AS (SELECT * FROM obj0 WHERE obj0.acl IS DISTINCT FROM obj0.base),"
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

int
pvc_read_column_acls(reader *rd)
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

int
pvc_read_types(reader *rd, pv_buf *typids, pv_buf *domids)
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

int
pvc_read_functions(reader *rd)
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
