/*
 * pg/cat_ops.c — operators, operator families and classes (with their pg_amop/pg_amproc
 * members), access methods, casts, collations, conversions, procedural languages,
 * transforms and aggregates: the CREATE statements, owners, comment targets and (for
 * languages and aggregates) ACL deltas of every such object a user created outside an
 * extension.  Version differences between 12 and 17 live in one query per kind.
 */
#include "pg/catalog_int.h"

#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"

/* A pre-data object with its comment target and (when owner is not NULL) its owner. */
static pv_obj *
add_obj(reader *rd, pv_kind kind, pv_oid classid, pv_oid oid, const char *schema,
        const char *name, const char *kw, const char *qname, const char *owner)
{
	pv_obj *o = pv_graph_add(rd->cat->g, kind, PV_PRE, classid, oid, schema, name);
	pvc_target(rd, classid, oid, kw, qname);
	if (owner)
		pvc_owner(rd, o, owner, kw, qname);
	return o;
}

/* "OPERATOR(s.op)": a reference to an operator in an option list */
static void
put_opref(pv_buf *b, PGconn *c, const char *nsp, const char *name)
{
	pv_buf_puts(b, "OPERATOR(");
	pv_buf_ident(b, c, nsp);
	pv_buf_printf(b, ".%s)", name);
}

/* ---- access methods ------------------------------------------------------------------- */

static int
read_access_methods(reader *rd)
{
	if (pvc_none(rd, CEN_AM)) /* the census: none */
		return 0;
	PGresult *r = pvc_query(rd,
	    "SELECT a.oid, a.amname, a.amtype, a.amhandler::pg_catalog.regproc"
	    " FROM pg_catalog.pg_am a WHERE a.oid >= 16384 AND" NOT_EXT("pg_am", "a")
	    " ORDER BY a.oid", NULL);
	if (!r)
		return pv_wrap("reading access methods");
	for (int i = 0; i < PQntuples(r); i++) {
		char *q = pv_ident(rd->c, pvc_val(r, i, 1));
		pv_obj *o = add_obj(rd, K_ACCESS_METHOD, C_PG_AM, pvc_oid(r, i, 0), NULL, pvc_val(r, i, 1),
		                    "ACCESS METHOD", q, NULL);
		o->sql = pv_asprintf("CREATE ACCESS METHOD %s TYPE %s HANDLER %s;", q,
		                     pvc_val(r, i, 2)[0] == 't' ? "TABLE" : "INDEX", pvc_val(r, i, 3));
		free(q);
	}
	PQclear(r);
	return 0;
}

/* ---- operators ------------------------------------------------------------------------ */

/*
 * A shell operator (oprcode = 0) is what a COMMUTATOR or NEGATOR reference to a not yet
 * defined operator leaves behind; like pg_dump we never create it ourselves: it is an alias
 * of the operator whose statement creates it again (or, when none refers to it any more,
 * an object with nothing to run).  Commutator and negator pairs reference each other only
 * by name, so no pg_depend edge (and no sort loop) joins them.
 */
static int
read_operator_rows(reader *rd)
{
	if (pvc_none(rd, CEN_OPERATOR)) /* the census: none */
		return 0;
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT o.oid, n.nspname, o.oprname, pg_catalog.pg_get_userbyid(o.oprowner),"
	    " o.oprcode <> 0, o.oprcode::pg_catalog.regproc,"
	    " CASE WHEN o.oprleft <> 0 THEN pg_catalog.format_type(o.oprleft, NULL) END,"
	    " CASE WHEN o.oprright <> 0 THEN pg_catalog.format_type(o.oprright, NULL) END,"
	    " cn.nspname, co.oprname, nn.nspname, ng.oprname,"
	    " CASE WHEN o.oprrest <> 0 THEN o.oprrest::pg_catalog.regproc END,"
	    " CASE WHEN o.oprjoin <> 0 THEN o.oprjoin::pg_catalog.regproc END,"
	    " o.oprcanmerge, o.oprcanhash,"
	    " (SELECT pg_catalog.min(x.oid) FROM pg_catalog.pg_operator x WHERE x.oprcode <> 0"
	    "   AND (x.oprcom = o.oid OR x.oprnegate = o.oid))"
	    " FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace"
	    " LEFT JOIN pg_catalog.pg_operator co ON co.oid = o.oprcom"
	    " LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.oprnamespace"
	    " LEFT JOIN pg_catalog.pg_operator ng ON ng.oid = o.oprnegate"
	    " LEFT JOIN pg_catalog.pg_namespace nn ON nn.oid = ng.oprnamespace"
	    " WHERE o.oid >= 16384 AND" NOT_EXT("pg_operator", "o")
	    " ORDER BY o.oprcode = 0, o.oid", NULL);
	if (!r)
		return pv_wrap("reading operators");
	for (int i = 0; i < PQntuples(r); i++) {
		const char *nsp = pvc_val(r, i, 1), *name = pvc_val(r, i, 2);
		const char *left = pvc_val(r, i, 6), *right = pvc_val(r, i, 7);
		char *qn = pv_ident(rd->c, nsp);
		char *q = pv_asprintf("%s.%s", qn, name);
		char *sig = pv_asprintf("%s (%s, %s)", q, left ? left : "NONE", right ? right : "NONE");
		char *sortname = pv_asprintf("%s(%s, %s)", name, left ? left : "NONE", right ? right : "NONE");
		pv_oid oid = pvc_oid(r, i, 0);
		if (!pvc_bool(r, i, 4)) {
			pv_obj *ref = pvc_val(r, i, 16) ? pv_graph_lookup(g, C_PG_OPERATOR, pvc_oid(r, i, 16)) : NULL;
			if (ref)
				pv_graph_alias(g, C_PG_OPERATOR, oid, ref);
			else
				add_obj(rd, K_OPERATOR, C_PG_OPERATOR, oid, nsp, sortname, "OPERATOR", sig, NULL);
		} else {
			pv_obj *o = add_obj(rd, K_OPERATOR, C_PG_OPERATOR, oid, nsp, sortname, "OPERATOR", sig,
			                    pvc_val(r, i, 3));
			pv_buf b = PV_BUF_INIT;
			pv_buf_printf(&b, "CREATE OPERATOR %s (\n    FUNCTION = %s", q, pvc_val(r, i, 5));
			if (left)
				pv_buf_printf(&b, ",\n    LEFTARG = %s", left);
			if (right)
				pv_buf_printf(&b, ",\n    RIGHTARG = %s", right);
			if (pvc_val(r, i, 9)) {
				pv_buf_puts(&b, ",\n    COMMUTATOR = ");
				put_opref(&b, rd->c, pvc_val(r, i, 8), pvc_val(r, i, 9));
			}
			if (pvc_val(r, i, 11)) {
				pv_buf_puts(&b, ",\n    NEGATOR = ");
				put_opref(&b, rd->c, pvc_val(r, i, 10), pvc_val(r, i, 11));
			}
			if (pvc_bool(r, i, 14))
				pv_buf_puts(&b, ",\n    MERGES");
			if (pvc_bool(r, i, 15))
				pv_buf_puts(&b, ",\n    HASHES");
			if (pvc_val(r, i, 12))
				pv_buf_printf(&b, ",\n    RESTRICT = %s", pvc_val(r, i, 12));
			if (pvc_val(r, i, 13))
				pv_buf_printf(&b, ",\n    JOIN = %s", pvc_val(r, i, 13));
			pv_buf_puts(&b, "\n);");
			o->sql = pv_buf_detach(&b);
		}
		free(qn);
		free(q);
		free(sig);
		free(sortname);
	}
	PQclear(r);
	return 0;
}

/* ---- operator families and classes ---------------------------------------------------- */

static int
read_opfamilies(reader *rd)
{
	if (pvc_none(rd, CEN_OPFAMILY)) /* the census: none */
		return 0;
	PGresult *r = pvc_query(rd,
	    "SELECT f.oid, n.nspname, f.opfname, pg_catalog.pg_get_userbyid(f.opfowner), a.amname"
	    " FROM pg_catalog.pg_opfamily f JOIN pg_catalog.pg_namespace n ON n.oid = f.opfnamespace"
	    " JOIN pg_catalog.pg_am a ON a.oid = f.opfmethod"
	    " WHERE f.oid >= 16384 AND" NOT_EXT("pg_opfamily", "f")
	    " ORDER BY f.oid", NULL);
	if (!r)
		return pv_wrap("reading operator families");
	for (int i = 0; i < PQntuples(r); i++) {
		char *q = pv_qualify(rd->c, pvc_val(r, i, 1), pvc_val(r, i, 2));
		char *am = pv_ident(rd->c, pvc_val(r, i, 4));
		char *qu = pv_asprintf("%s USING %s", q, am);
		char *sortname = pv_asprintf("%s USING %s", pvc_val(r, i, 2), pvc_val(r, i, 4));
		pv_obj *o = add_obj(rd, K_OPFAMILY, C_PG_OPFAMILY, pvc_oid(r, i, 0), pvc_val(r, i, 1),
		                    sortname, "OPERATOR FAMILY", qu, pvc_val(r, i, 3));
		o->sql = pv_asprintf("CREATE OPERATOR FAMILY %s;", qu);
		free(q);
		free(am);
		free(qu);
		free(sortname);
	}
	PQclear(r);
	return 0;
}

/* Opclasses: the statement up to "AS"; members are appended by read_opmembers(). */
static int
read_opclasses(reader *rd)
{
	if (pvc_none(rd, CEN_OPCLASS)) /* the census: none */
		return 0;
	PGresult *r = pvc_query(rd,
	    "SELECT c.oid, n.nspname, c.opcname, pg_catalog.pg_get_userbyid(c.opcowner), a.amname,"
	    " c.opcdefault, pg_catalog.format_type(c.opcintype, NULL),"
	    " CASE WHEN c.opckeytype <> 0 THEN pg_catalog.format_type(c.opckeytype, NULL) END,"
	    " fn.nspname, f.opfname"
	    " FROM pg_catalog.pg_opclass c JOIN pg_catalog.pg_namespace n ON n.oid = c.opcnamespace"
	    " JOIN pg_catalog.pg_am a ON a.oid = c.opcmethod"
	    " JOIN pg_catalog.pg_opfamily f ON f.oid = c.opcfamily"
	    " JOIN pg_catalog.pg_namespace fn ON fn.oid = f.opfnamespace"
	    " WHERE c.oid >= 16384 AND" NOT_EXT("pg_opclass", "c")
	    " ORDER BY c.oid", NULL);
	if (!r)
		return pv_wrap("reading operator classes");
	for (int i = 0; i < PQntuples(r); i++) {
		char *q = pv_qualify(rd->c, pvc_val(r, i, 1), pvc_val(r, i, 2));
		char *am = pv_ident(rd->c, pvc_val(r, i, 4));
		char *qu = pv_asprintf("%s USING %s", q, am);
		char *sortname = pv_asprintf("%s USING %s", pvc_val(r, i, 2), pvc_val(r, i, 4));
		pv_obj *o = add_obj(rd, K_OPCLASS, C_PG_OPCLASS, pvc_oid(r, i, 0), pvc_val(r, i, 1),
		                    sortname, "OPERATOR CLASS", qu, pvc_val(r, i, 3));
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE OPERATOR CLASS %s\n    %sFOR TYPE %s USING %s", q,
		              pvc_bool(r, i, 5) ? "DEFAULT " : "", pvc_val(r, i, 6), am);
		/* without FAMILY the class uses (or creates) the family of its own name */
		if (strcmp(pvc_val(r, i, 8), pvc_val(r, i, 1)) != 0 ||
		    strcmp(pvc_val(r, i, 9), pvc_val(r, i, 2)) != 0) {
			char *f = pv_qualify(rd->c, pvc_val(r, i, 8), pvc_val(r, i, 9));
			pv_buf_printf(&b, " FAMILY %s", f);
			free(f);
		}
		pv_buf_puts(&b, " AS");
		/* "STORAGE <input type>" is the class without any member (normalised to no key
		 * type by the server); read_opmembers() starts again from `head` (the statement
		 * without it) when a member follows */
		o->extra = json_object(); /* into a new object, b.data never NULL: cannot fail */
		(void)pvj_set_bool(o->extra, "nomembers", !pvc_val(r, i, 7));
		(void)pvj_set_int(o->extra, "members", pvc_val(r, i, 7) ? 1 : 0);
		(void)pvj_set_str(o->extra, "head", b.data);
		/* STORAGE is the first item when there is a key type */
		pv_buf_printf(&b, "\n    STORAGE %s", pvc_val(r, i, 7) ? pvc_val(r, i, 7) : pvc_val(r, i, 6));
		o->sql = pv_buf_detach(&b);
		free(q);
		free(am);
		free(qu);
		free(sortname);
	}
	PQclear(r);
	return 0;
}

/*
 * Members (pg_amop, pg_amproc) of every non-extension family: those bound into an opclass
 * (pg_depend on the class, 'i' or 'a') are items of its CREATE OPERATOR CLASS, the loose ones (pg_depend
 * on the family, or none when the family is built in and pinned) an ALTER OPERATOR FAMILY
 * ... ADD in the family's entry, as pg_dump does; from 13 on, some members declared in
 * CREATE OPERATOR CLASS (gist operators, optional support functions) are such loose members
 * and come back as such.  A loose member of
 * a built-in family gets an entry of its own holding only that ALTER.  Each row is an alias
 * of the object whose statement creates it.
 */
static int
read_opmembers(reader *rd)
{
	if (pvc_none(rd, CEN_AMOP) && pvc_none(rd, CEN_AMPROC)) /* the census: none */
		return 0;
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT m.kind, m.oid, m.class IS NOT NULL, COALESCE(m.class, m.family), m.num, m.what,"
	    " m.lt, m.rt, m.purpose, sn.nspname, sf.opfname, m.family, fn.nspname, f.opfname, a.amname"
	    " FROM (SELECT 'o' AS kind, o.oid, o.amopfamily AS family, o.amopstrategy AS num,"
	    "   o.amopopr::pg_catalog.regoperator::pg_catalog.text AS what,"
	    "   pg_catalog.format_type(o.amoplefttype, NULL) AS lt,"
	    "   pg_catalog.format_type(o.amoprighttype, NULL) AS rt, o.amoppurpose AS purpose,"
	    "   o.amopsortfamily AS sortfamily,"
	    "   (SELECT d.refobjid FROM pg_catalog.pg_depend d"
	    "     WHERE d.classid = 'pg_catalog.pg_amop'::pg_catalog.regclass AND d.objid = o.oid"
	    "     AND d.refclassid = 'pg_catalog.pg_opclass'::pg_catalog.regclass LIMIT 1) AS class"
	    "   FROM pg_catalog.pg_amop o"
	    "  UNION ALL SELECT 'p', p.oid, p.amprocfamily, p.amprocnum,"
	    "   p.amproc::pg_catalog.regprocedure::pg_catalog.text,"
	    "   pg_catalog.format_type(p.amproclefttype, NULL),"
	    "   pg_catalog.format_type(p.amprocrighttype, NULL), NULL, 0,"
	    "   (SELECT d.refobjid FROM pg_catalog.pg_depend d"
	    "     WHERE d.classid = 'pg_catalog.pg_amproc'::pg_catalog.regclass AND d.objid = p.oid"
	    "     AND d.refclassid = 'pg_catalog.pg_opclass'::pg_catalog.regclass LIMIT 1)"
	    "   FROM pg_catalog.pg_amproc p) m"
	    " JOIN pg_catalog.pg_opfamily f ON f.oid = m.family"
	    " JOIN pg_catalog.pg_namespace fn ON fn.oid = f.opfnamespace"
	    " JOIN pg_catalog.pg_am a ON a.oid = f.opfmethod"
	    " LEFT JOIN pg_catalog.pg_opfamily sf ON sf.oid = m.sortfamily"
	    " LEFT JOIN pg_catalog.pg_namespace sn ON sn.oid = sf.opfnamespace"
	    " WHERE m.oid >= 16384 AND" NOT_EXT("pg_opfamily", "f")
	    " ORDER BY 3 DESC, 4, m.kind, m.num, m.lt, m.rt, m.oid", NULL);
	if (!r)
		return pv_wrap("reading operator family members");
	for (int i = 0; i < PQntuples(r); i++) {
		int in_class = pvc_bool(r, i, 2);
		pv_oid owner_oid = pvc_oid(r, i, 3);
		pv_obj *o = pv_graph_lookup(g, in_class ? C_PG_OPCLASS : C_PG_OPFAMILY, owner_oid);
		if (o && o->classid != (in_class ? C_PG_OPCLASS : C_PG_OPFAMILY))
			o = NULL; /* an alias of something else (an extension) */
		if (!o && in_class)
			continue; /* a class this version does not dump: reported as unsupported */
		char *fq = NULL, *am = NULL;
		if (!o) {
			/* a loose member added to a built-in family */
			fq = pv_qualify(rd->c, pvc_val(r, i, 12), pvc_val(r, i, 13));
			am = pv_ident(rd->c, pvc_val(r, i, 14));
			char *sortname = pv_asprintf("%s USING %s", pvc_val(r, i, 13), pvc_val(r, i, 14));
			o = pv_graph_add(g, K_OPFAMILY, PV_PRE, C_PG_OPFAMILY, owner_oid, pvc_val(r, i, 12),
			                 sortname);
			o->sql = pv_asprintf("ALTER OPERATOR FAMILY %s USING %s ADD", fq, am);
			o->extra = json_pack("{s:i}", "members", 0);
			free(sortname);
		} else if (!o->extra) {
			/* the first loose member of a dumped family */
			o->extra = json_pack("{s:i}", "members", 0);
			char *s = pv_asprintf("%s\nALTER %s ADD", o->sql, o->owner_target);
			free(o->sql);
			o->sql = s;
		}
		free(fq);
		free(am);
		pv_graph_alias(g, pvc_val(r, i, 0)[0] == 'o' ? C_PG_AMOP : C_PG_AMPROC, pvc_oid(r, i, 1), o);

		json_int_t n = json_integer_value(json_object_get(o->extra, "members"));
		pv_buf b = PV_BUF_INIT;
		/* without the placeholder "STORAGE <input type>" */
		pv_buf_puts(&b, n == 0 && json_is_true(json_object_get(o->extra, "nomembers"))
		                    ? json_string_value(json_object_get(o->extra, "head")) : o->sql);
		pv_buf_puts(&b, n ? ",\n    " : "\n    ");
		if (pvc_val(r, i, 0)[0] == 'o') {
			pv_buf_printf(&b, "OPERATOR %s %s", pvc_val(r, i, 4), pvc_val(r, i, 5));
			if (pvc_val(r, i, 8)[0] == 'o' && pvc_val(r, i, 10)) {
				char *sf = pv_qualify(rd->c, pvc_val(r, i, 9), pvc_val(r, i, 10));
				pv_buf_printf(&b, " FOR ORDER BY %s", sf);
				free(sf);
			}
		} else {
			pv_buf_printf(&b, "FUNCTION %s (%s, %s) %s", pvc_val(r, i, 4), pvc_val(r, i, 6),
			              pvc_val(r, i, 7), pvc_val(r, i, 5));
		}
		free(o->sql);
		o->sql = pv_buf_detach(&b);
		(void)pvj_set_int(o->extra, "members", n + 1); /* an integer into an object: cannot fail */
	}
	PQclear(r);
	/* close the statements; the extra fields were only bookkeeping */
	for (int i = 0; i < pv_graph_count(g); i++) {
		pv_obj *o = pv_graph_get(g, i);
		if ((o->kind != K_OPFAMILY && o->kind != K_OPCLASS) || !o->extra)
			continue;
		if (o->kind == K_OPCLASS || json_integer_value(json_object_get(o->extra, "members"))) {
			char *s = pv_asprintf("%s;", o->sql);
			free(o->sql);
			o->sql = s;
		}
		json_decref(o->extra);
		o->extra = NULL;
	}
	return 0;
}

int
pvc_read_operators(reader *rd)
{
	if (read_access_methods(rd) < 0 || read_operator_rows(rd) < 0 || read_opfamilies(rd) < 0 ||
	    read_opclasses(rd) < 0 || read_opmembers(rd) < 0)
		return -1;
	return 0;
}

/* ---- casts ---------------------------------------------------------------------------- */

/* Casts a user made; those internal to another object (a range's multirange casts) are
 * aliases of that object. */
static int
read_casts(reader *rd)
{
	if (pvc_none(rd, CEN_CAST)) /* the census: none */
		return 0;
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT c.oid, pg_catalog.format_type(c.castsource, NULL),"
	    " pg_catalog.format_type(c.casttarget, NULL), c.castmethod, c.castcontext,"
	    " CASE WHEN c.castfunc <> 0 THEN c.castfunc::pg_catalog.regprocedure END,"
	    " i.refclassid, i.refobjid"
	    " FROM pg_catalog.pg_cast c"
	    " LEFT JOIN pg_catalog.pg_depend i ON i.classid = 'pg_catalog.pg_cast'::pg_catalog.regclass"
	    "  AND i.objid = c.oid AND i.deptype = 'i'"
	    " WHERE c.oid >= 16384 AND" NOT_EXT("pg_cast", "c")
	    " ORDER BY c.oid", NULL);
	if (!r)
		return pv_wrap("reading casts");
	for (int i = 0; i < PQntuples(r); i++) {
		pv_oid oid = pvc_oid(r, i, 0);
		if (pvc_val(r, i, 6)) {
			pv_obj *owner = pv_graph_lookup(g, pvc_oid(r, i, 6), pvc_oid(r, i, 7));
			if (owner)
				pv_graph_alias(g, C_PG_CAST, oid, owner);
			continue;
		}
		char *name = pv_asprintf("(%s AS %s)", pvc_val(r, i, 1), pvc_val(r, i, 2));
		pv_obj *o = add_obj(rd, K_CAST, C_PG_CAST, oid, NULL, name, "CAST", name, NULL);
		const char *m = pvc_val(r, i, 3), *ctx = pvc_val(r, i, 4);
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE CAST %s ", name);
		if (m[0] == 'f' && pvc_val(r, i, 5))
			pv_buf_printf(&b, "WITH FUNCTION %s", pvc_val(r, i, 5));
		else if (m[0] == 'i')
			pv_buf_puts(&b, "WITH INOUT");
		else
			pv_buf_puts(&b, "WITHOUT FUNCTION");
		if (ctx[0] == 'a')
			pv_buf_puts(&b, " AS ASSIGNMENT");
		else if (ctx[0] == 'i')
			pv_buf_puts(&b, " AS IMPLICIT");
		pv_buf_puts(&b, ";");
		o->sql = pv_buf_detach(&b);
		free(name);
	}
	PQclear(r);
	return 0;
}

/* ---- collations ----------------------------------------------------------------------- */

static int
read_collations(reader *rd)
{
	if (pvc_none(rd, CEN_COLLATION)) /* the census: none */
		return 0;
	/* the provider's locale: colliculocale (15, 16), colllocale (17+; also 'b'uiltin);
	 * before 15 an ICU collation keeps its locale in collcollate = collctype */
	const char *loc = rd->v >= 170000 ? "c.colllocale"
	                  : rd->v >= 150000 ? "c.colliculocale" : "NULL::pg_catalog.text";
	const char *rules = rd->v >= 160000 ? "c.collicurules" : "NULL::pg_catalog.text";
	char *sql = pv_asprintf(
	    "SELECT c.oid, n.nspname, c.collname, pg_catalog.pg_get_userbyid(c.collowner),"
	    " c.collprovider, c.collisdeterministic, c.collcollate::pg_catalog.text,"
	    " c.collctype::pg_catalog.text, %s, %s"
	    " FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace"
	    " WHERE c.oid >= 16384 AND" NOT_EXT("pg_collation", "c")
	    " ORDER BY c.oid", loc, rules);
	PGresult *r = pvc_query(rd, sql, NULL);
	free(sql);
	if (!r)
		return pv_wrap("reading collations");
	for (int i = 0; i < PQntuples(r); i++) {
		char *q = pv_qualify(rd->c, pvc_val(r, i, 1), pvc_val(r, i, 2));
		pv_obj *o = add_obj(rd, K_COLLATION, C_PG_COLLATION, pvc_oid(r, i, 0), pvc_val(r, i, 1),
		                    pvc_val(r, i, 2), "COLLATION", q, pvc_val(r, i, 3));
		const char *prov = pvc_val(r, i, 4);
		const char *coll = pvc_val(r, i, 6), *ctype = pvc_val(r, i, 7), *l = pvc_val(r, i, 8);
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE COLLATION %s (provider = %s", q,
		              prov[0] == 'i' ? "icu" : prov[0] == 'b' ? "builtin"
		              : prov[0] == 'd' ? "default" : "libc");
		if (!pvc_bool(r, i, 5))
			pv_buf_puts(&b, ", deterministic = false");
		if (l) {
			pv_buf_puts(&b, ", locale = ");
			pv_buf_literal(&b, rd->c, l);
		} else if (coll && ctype && strcmp(coll, ctype) == 0) {
			pv_buf_puts(&b, ", locale = ");
			pv_buf_literal(&b, rd->c, coll);
		} else {
			if (coll) {
				pv_buf_puts(&b, ", lc_collate = ");
				pv_buf_literal(&b, rd->c, coll);
			}
			if (ctype) {
				pv_buf_puts(&b, ", lc_ctype = ");
				pv_buf_literal(&b, rd->c, ctype);
			}
		}
		if (pvc_val(r, i, 9)) {
			pv_buf_puts(&b, ", rules = ");
			pv_buf_literal(&b, rd->c, pvc_val(r, i, 9));
		}
		pv_buf_puts(&b, ");");
		o->sql = pv_buf_detach(&b);
		free(q);
	}
	PQclear(r);
	return 0;
}

/* ---- conversions ---------------------------------------------------------------------- */

static int
read_conversions(reader *rd)
{
	if (pvc_none(rd, CEN_CONVERSION)) /* the census: none */
		return 0;
	PGresult *r = pvc_query(rd,
	    "SELECT c.oid, n.nspname, c.conname, pg_catalog.pg_get_userbyid(c.conowner),"
	    " pg_catalog.pg_encoding_to_char(c.conforencoding),"
	    " pg_catalog.pg_encoding_to_char(c.contoencoding), c.conproc::pg_catalog.regproc,"
	    " c.condefault"
	    " FROM pg_catalog.pg_conversion c JOIN pg_catalog.pg_namespace n ON n.oid = c.connamespace"
	    " WHERE c.oid >= 16384 AND" NOT_EXT("pg_conversion", "c")
	    " ORDER BY c.oid", NULL);
	if (!r)
		return pv_wrap("reading conversions");
	for (int i = 0; i < PQntuples(r); i++) {
		char *q = pv_qualify(rd->c, pvc_val(r, i, 1), pvc_val(r, i, 2));
		pv_obj *o = add_obj(rd, K_CONVERSION, C_PG_CONVERSION, pvc_oid(r, i, 0), pvc_val(r, i, 1),
		                    pvc_val(r, i, 2), "CONVERSION", q, pvc_val(r, i, 3));
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE %sCONVERSION %s FOR ", pvc_bool(r, i, 7) ? "DEFAULT " : "", q);
		pv_buf_literal(&b, rd->c, pvc_val(r, i, 4));
		pv_buf_puts(&b, " TO ");
		pv_buf_literal(&b, rd->c, pvc_val(r, i, 5));
		pv_buf_printf(&b, " FROM %s;", pvc_val(r, i, 6));
		o->sql = pv_buf_detach(&b);
		free(q);
	}
	PQclear(r);
	return 0;
}

/* ---- procedural languages ------------------------------------------------------------- */

static int
read_languages(reader *rd, pv_buf *ids)
{
	if (pvc_none(rd, CEN_LANGUAGE)) /* the census: none */
		return 0;
	PGresult *r = pvc_query(rd,
	    "SELECT l.oid, l.lanname, pg_catalog.pg_get_userbyid(l.lanowner), l.lanpltrusted,"
	    " l.lanplcallfoid::pg_catalog.regproc,"
	    " CASE WHEN l.laninline <> 0 THEN l.laninline::pg_catalog.regproc END,"
	    " CASE WHEN l.lanvalidator <> 0 THEN l.lanvalidator::pg_catalog.regproc END, l.lanispl"
	    " FROM pg_catalog.pg_language l"
	    " WHERE l.oid >= 16384 AND" NOT_EXT("pg_language", "l")
	    " ORDER BY l.oid", NULL);
	if (!r)
		return pv_wrap("reading procedural languages");
	for (int i = 0; i < PQntuples(r); i++) {
		char *q = pv_ident(rd->c, pvc_val(r, i, 1));
		pv_obj *o = add_obj(rd, K_LANGUAGE, C_PG_LANGUAGE, pvc_oid(r, i, 0), NULL, pvc_val(r, i, 1),
		                    "LANGUAGE", q, pvc_val(r, i, 2));
		o->acl_target = pv_asprintf("LANGUAGE %s", q);
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE %sPROCEDURAL LANGUAGE %s", pvc_bool(r, i, 3) ? "TRUSTED " : "", q);
		if (pvc_bool(r, i, 7)) {
			pv_buf_printf(&b, " HANDLER %s", pvc_val(r, i, 4));
			if (pvc_val(r, i, 5))
				pv_buf_printf(&b, " INLINE %s", pvc_val(r, i, 5));
			if (pvc_val(r, i, 6))
				pv_buf_printf(&b, " VALIDATOR %s", pvc_val(r, i, 6));
		}
		pv_buf_puts(&b, ";");
		o->sql = pv_buf_detach(&b);
		pvc_oids_add(ids, o->oid);
		free(q);
	}
	PQclear(r);
	return 0;
}

/* ---- transforms ----------------------------------------------------------------------- */

static int
read_transforms(reader *rd)
{
	if (pvc_none(rd, CEN_TRANSFORM)) /* the census: none */
		return 0;
	PGresult *r = pvc_query(rd,
	    "SELECT t.oid, pg_catalog.format_type(t.trftype, NULL), l.lanname,"
	    " CASE WHEN t.trffromsql <> 0 THEN t.trffromsql::pg_catalog.regprocedure END,"
	    " CASE WHEN t.trftosql <> 0 THEN t.trftosql::pg_catalog.regprocedure END"
	    " FROM pg_catalog.pg_transform t JOIN pg_catalog.pg_language l ON l.oid = t.trflang"
	    " WHERE t.oid >= 16384 AND" NOT_EXT("pg_transform", "t")
	    " ORDER BY t.oid", NULL);
	if (!r)
		return pv_wrap("reading transforms");
	for (int i = 0; i < PQntuples(r); i++) {
		char *lang = pv_ident(rd->c, pvc_val(r, i, 2));
		char *qn = pv_asprintf("FOR %s LANGUAGE %s", pvc_val(r, i, 1), lang);
		char *sortname = pv_asprintf("%s %s", pvc_val(r, i, 1), pvc_val(r, i, 2));
		pv_obj *o = add_obj(rd, K_TRANSFORM, C_PG_TRANSFORM, pvc_oid(r, i, 0), NULL, sortname,
		                    "TRANSFORM", qn, NULL);
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE TRANSFORM %s (", qn);
		if (pvc_val(r, i, 3))
			pv_buf_printf(&b, "FROM SQL WITH FUNCTION %s", pvc_val(r, i, 3));
		if (pvc_val(r, i, 4))
			pv_buf_printf(&b, "%sTO SQL WITH FUNCTION %s", pvc_val(r, i, 3) ? ", " : "",
			              pvc_val(r, i, 4));
		pv_buf_puts(&b, ");");
		o->sql = pv_buf_detach(&b);
		free(lang);
		free(qn);
		free(sortname);
	}
	PQclear(r);
	return 0;
}

/* ---- aggregates ----------------------------------------------------------------------- */

static const char *
modify_word(char c)
{
	return c == 's' ? "SHAREABLE" : c == 'w' ? "READ_WRITE" : "READ_ONLY";
}

/* "FINALFUNC = f[, FINALFUNC_EXTRA][, FINALFUNC_MODIFY = m]" for the columns at col
 * (function, extra, modify); prefix is "" or "M" */
static void
put_final(pv_buf *b, PGresult *r, int i, int col, const char *prefix, char defmodify)
{
	if (pvc_val(r, i, col))
		pv_buf_printf(b, ",\n    %sFINALFUNC = %s", prefix, pvc_val(r, i, col));
	if (pvc_bool(r, i, col + 1))
		pv_buf_printf(b, ",\n    %sFINALFUNC_EXTRA", prefix);
	char m = pvc_val(r, i, col + 2)[0];
	if (m != defmodify)
		pv_buf_printf(b, ",\n    %sFINALFUNC_MODIFY = %s", prefix, modify_word(m));
}

/*
 * CREATE AGGREGATE with every option that is not the default (as pg_dump).  read_functions()
 * in catalog.c skips prokind 'a', so each aggregate is made here once.  Its owner and
 * comment go through ALTER/COMMENT ON AGGREGATE name(identity args) ("*" when it has none);
 * its grants through GRANT ... ON FUNCTION name(argument types), with acldefault('f').
 */
static int
read_aggregates(reader *rd, pv_buf *ids)
{
	if (pvc_none(rd, CEN_AGGREGATE)) /* the census: none */
		return 0;
	PGresult *r = pvc_query(rd,
	    "SELECT p.oid, n.nspname, p.proname, pg_catalog.pg_get_userbyid(p.proowner),"
	    " pg_catalog.pg_get_function_arguments(p.oid),"
	    " pg_catalog.pg_get_function_identity_arguments(p.oid),"
	    " pg_catalog.array_to_string(ARRAY(SELECT pg_catalog.format_type(t.t, NULL)"
	    "   FROM pg_catalog.unnest(p.proargtypes::pg_catalog.oid[]) WITH ORDINALITY t(t, k) ORDER BY t.k), ', '),"
	    " a.aggkind, a.aggtransfn::pg_catalog.regproc, pg_catalog.format_type(a.aggtranstype, NULL),"
	    /* 10 */ " a.aggtransspace, a.agginitval,"
	    " CASE WHEN a.aggfinalfn <> 0 THEN a.aggfinalfn::pg_catalog.regproc END, a.aggfinalextra, a.aggfinalmodify,"
	    /* 15 */ " CASE WHEN a.aggcombinefn <> 0 THEN a.aggcombinefn::pg_catalog.regproc END,"
	    " CASE WHEN a.aggserialfn <> 0 THEN a.aggserialfn::pg_catalog.regproc END,"
	    " CASE WHEN a.aggdeserialfn <> 0 THEN a.aggdeserialfn::pg_catalog.regproc END,"
	    " CASE WHEN a.aggmtransfn <> 0 THEN a.aggmtransfn::pg_catalog.regproc END,"
	    " CASE WHEN a.aggminvtransfn <> 0 THEN a.aggminvtransfn::pg_catalog.regproc END,"
	    /* 20 */ " CASE WHEN a.aggmtranstype <> 0 THEN pg_catalog.format_type(a.aggmtranstype, NULL) END,"
	    " a.aggmtransspace, a.aggminitval,"
	    " CASE WHEN a.aggmfinalfn <> 0 THEN a.aggmfinalfn::pg_catalog.regproc END, a.aggmfinalextra, a.aggmfinalmodify,"
	    /* 26 */ " sn.nspname, so.oprname, p.proparallel"
	    " FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
	    " JOIN pg_catalog.pg_aggregate a ON a.aggfnoid = p.oid"
	    " LEFT JOIN pg_catalog.pg_operator so ON so.oid = a.aggsortop"
	    " LEFT JOIN pg_catalog.pg_namespace sn ON sn.oid = so.oprnamespace"
	    " WHERE p.oid >= 16384 AND p.prokind = 'a' AND" NOT_EXT("pg_proc", "p")
	    " ORDER BY p.oid", NULL);
	if (!r)
		return pv_wrap("reading aggregates");
	for (int i = 0; i < PQntuples(r); i++) {
		char *q = pv_qualify(rd->c, pvc_val(r, i, 1), pvc_val(r, i, 2));
		const char *args = pvc_val(r, i, 4), *ident = pvc_val(r, i, 5);
		char *sig = pv_asprintf("%s(%s)", q, *ident ? ident : "*");
		char *sortname = pv_asprintf("%s(%s)", pvc_val(r, i, 2), ident);
		pv_obj *o = add_obj(rd, K_AGGREGATE, C_PG_PROC, pvc_oid(r, i, 0), pvc_val(r, i, 1), sortname,
		                    "AGGREGATE", sig, pvc_val(r, i, 3));
		o->acl_target = pv_asprintf("FUNCTION %s(%s)", q, pvc_val(r, i, 6));
		char kind = pvc_val(r, i, 7)[0];
		char defmodify = kind == 'n' ? 'r' : 'w';
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE AGGREGATE %s(%s) (\n    SFUNC = %s,\n    STYPE = %s", q,
		              *args ? args : "*", pvc_val(r, i, 8), pvc_val(r, i, 9));
		if (strcmp(pvc_val(r, i, 10), "0") != 0)
			pv_buf_printf(&b, ",\n    SSPACE = %s", pvc_val(r, i, 10));
		if (pvc_val(r, i, 11)) {
			pv_buf_puts(&b, ",\n    INITCOND = ");
			pv_buf_literal(&b, rd->c, pvc_val(r, i, 11));
		}
		put_final(&b, r, i, 12, "", defmodify);
		if (pvc_val(r, i, 15))
			pv_buf_printf(&b, ",\n    COMBINEFUNC = %s", pvc_val(r, i, 15));
		if (pvc_val(r, i, 16))
			pv_buf_printf(&b, ",\n    SERIALFUNC = %s", pvc_val(r, i, 16));
		if (pvc_val(r, i, 17))
			pv_buf_printf(&b, ",\n    DESERIALFUNC = %s", pvc_val(r, i, 17));
		if (pvc_val(r, i, 18)) {
			pv_buf_printf(&b, ",\n    MSFUNC = %s", pvc_val(r, i, 18));
			if (pvc_val(r, i, 19))
				pv_buf_printf(&b, ",\n    MINVFUNC = %s", pvc_val(r, i, 19));
			if (pvc_val(r, i, 20))
				pv_buf_printf(&b, ",\n    MSTYPE = %s", pvc_val(r, i, 20));
			if (strcmp(pvc_val(r, i, 21), "0") != 0)
				pv_buf_printf(&b, ",\n    MSSPACE = %s", pvc_val(r, i, 21));
			if (pvc_val(r, i, 22)) {
				pv_buf_puts(&b, ",\n    MINITCOND = ");
				pv_buf_literal(&b, rd->c, pvc_val(r, i, 22));
			}
			put_final(&b, r, i, 23, "M", defmodify);
		}
		if (pvc_val(r, i, 27)) {
			pv_buf_puts(&b, ",\n    SORTOP = ");
			put_opref(&b, rd->c, pvc_val(r, i, 26), pvc_val(r, i, 27));
		}
		if (kind == 'h')
			pv_buf_puts(&b, ",\n    HYPOTHETICAL");
		char par = pvc_val(r, i, 28)[0];
		if (par == 's')
			pv_buf_puts(&b, ",\n    PARALLEL = SAFE");
		else if (par == 'r')
			pv_buf_puts(&b, ",\n    PARALLEL = RESTRICTED");
		pv_buf_puts(&b, "\n);");
		o->sql = pv_buf_detach(&b);
		pvc_oids_add(ids, o->oid);
		free(q);
		free(sig);
		free(sortname);
	}
	PQclear(r);
	return 0;
}

int
pvc_read_misc(reader *rd)
{
	pv_buf langs = PV_BUF_INIT, aggs = PV_BUF_INIT;
	int rc = -1;
	if (read_collations(rd) < 0 || read_casts(rd) < 0 || read_conversions(rd) < 0 ||
	    read_languages(rd, &langs) < 0 || read_transforms(rd) < 0 || read_aggregates(rd, &aggs) < 0)
		goto out;
	if (pvc_acls(rd, C_PG_LANGUAGE,
	        "SELECT l.oid, COALESCE(l.lanacl, pg_catalog.acldefault('l', l.lanowner)),"
	        " pg_catalog.acldefault('l', l.lanowner)"
	        " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(oid) JOIN pg_catalog.pg_language l ON l.oid = s.oid",
	        pvc_oids(&langs)) < 0 ||
	    pvc_acls(rd, C_PG_PROC,
	        "SELECT p.oid, COALESCE(p.proacl, pg_catalog.acldefault('f', p.proowner)),"
	        " pg_catalog.acldefault('f', p.proowner)"
	        " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(oid) JOIN pg_catalog.pg_proc p ON p.oid = s.oid",
	        pvc_oids(&aggs)) < 0)
		goto out;
	rc = 0;
out:
	pv_buf_free(&langs);
	pv_buf_free(&aggs);
	return rc;
}
