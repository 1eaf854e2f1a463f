/*
 * pg/cat_common.c — small helpers shared by the catalog readers (see catalog_int.h).
 */
#include "pg/catalog_int.h"

#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"

const char *
pvc_val(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

pv_oid
pvc_oid(PGresult *r, int row, int col)
{
	const char *s = pvc_val(r, row, col);
	return s ? (pv_oid)strtoul(s, NULL, 10) : 0;
}

int
pvc_bool(PGresult *r, int row, int col)
{
	const char *s = pvc_val(r, row, col);
	return s && s[0] == 't';
}

void
pvc_target(reader *rd, pv_oid classid, pv_oid oid, const char *kw, const char *qname)
{
	if (rd->ntargets == rd->ctargets) {
		rd->ctargets = rd->ctargets ? rd->ctargets * 2 : 256;
		rd->targets = pv_realloc(rd->targets, rd->ctargets * sizeof *rd->targets);
	}
	cmt_target *t = &rd->targets[rd->ntargets++];
	t->classid = classid;
	t->oid = oid;
	t->kw = pv_strdup(kw);
	t->qname = pv_strdup(qname);
}

int
pvc_target_cmp(const void *a, const void *b)
{
	const cmt_target *x = a, *y = b;
	if (x->classid != y->classid)
		return x->classid < y->classid ? -1 : 1;
	if (x->oid != y->oid)
		return x->oid < y->oid ? -1 : 1;
	return 0;
}

cmt_target *
pvc_find_target(reader *rd, pv_oid classid, pv_oid oid)
{
	cmt_target key = {classid, oid, NULL, NULL};
	return bsearch(&key, rd->targets, rd->ntargets, sizeof *rd->targets, pvc_target_cmp);
}

void
pvc_role(reader *rd, const char *name)
{
	/* a named object into an object: cannot fail */
	if (name && *name && !json_object_get(rd->cat->roles, name))
		(void)pvj_set(rd->cat->roles, name, json_object());
}

void
pvc_owner(reader *rd, pv_obj *o, const char *owner, const char *kw, const char *qname)
{
	o->owner = pv_strdup(owner);
	o->owner_target = pv_asprintf("%s %s", kw, qname);
	pvc_role(rd, owner);
	(void)pvj_set_bool(rd->owners, owner, 1); /* owner is not NULL (strdup'd above) */
}

/* Array literals "{1,2,3}" of OIDs, built incrementally; always valid to pass as $1. */
void
pvc_oids_add(pv_buf *b, pv_oid oid)
{
	if (b->len && b->data[b->len - 1] == '}')
		b->data[--b->len] = '\0';
	if (!b->len)
		pv_buf_putc(b, '{');
	pv_buf_printf(b, "%s%u}", b->len > 1 ? "," : "", oid);
}

const char *
pvc_oids(pv_buf *b)
{
	if (!b->len)
		pv_buf_puts(b, "{}");
	return b->data;
}

PGresult *
pvc_query(reader *rd, const char *sql, const char *param)
{
	const char *p[1] = {param};
	PGresult *r = param ? pv_query_params(rd->c, sql, 1, p) : pv_query(rd->c, sql);
	return r;
}

void
pvc_unsupported(reader *rd, const char *kind, const char *descr)
{
	/* strings (never NULL) into a new object, it into the list: cannot fail */
	json_t *o = json_object();
	(void)pvj_set_str(o, "kind", kind ? kind : "object");
	(void)pvj_set_str(o, "description", descr ? descr : "(unnamed)");
	(void)pvj_append(rd->cat->unsupported, o);
}


/* ---- the census ------------------------------------------------------------------------ */

/* What follows "SELECT FROM " for each kind: the condition of its reader's query */
static const char *const census_from[CEN_N] = {
	[CEN_AM] = "pg_catalog.pg_am WHERE oid >= 16384",
	[CEN_OPERATOR] = "pg_catalog.pg_operator WHERE oid >= 16384",
	[CEN_OPFAMILY] = "pg_catalog.pg_opfamily WHERE oid >= 16384",
	[CEN_OPCLASS] = "pg_catalog.pg_opclass WHERE oid >= 16384",
	[CEN_AMOP] = "pg_catalog.pg_amop WHERE oid >= 16384",
	[CEN_AMPROC] = "pg_catalog.pg_amproc WHERE oid >= 16384",
	[CEN_CAST] = "pg_catalog.pg_cast WHERE oid >= 16384",
	[CEN_COLLATION] = "pg_catalog.pg_collation WHERE oid >= 16384",
	[CEN_CONVERSION] = "pg_catalog.pg_conversion WHERE oid >= 16384",
	[CEN_LANGUAGE] = "pg_catalog.pg_language WHERE oid >= 16384",
	[CEN_TRANSFORM] = "pg_catalog.pg_transform WHERE oid >= 16384",
	[CEN_AGGREGATE] = "pg_catalog.pg_proc WHERE oid >= 16384 AND prokind = 'a'",
	[CEN_TS_PARSER] = "pg_catalog.pg_ts_parser WHERE oid >= 16384",
	[CEN_TS_TEMPLATE] = "pg_catalog.pg_ts_template WHERE oid >= 16384",
	[CEN_TS_DICT] = "pg_catalog.pg_ts_dict WHERE oid >= 16384",
	[CEN_TS_CONFIG] = "pg_catalog.pg_ts_config WHERE oid >= 16384",
	[CEN_FDW] = "pg_catalog.pg_foreign_data_wrapper WHERE oid >= 16384",
	[CEN_SERVER] = "pg_catalog.pg_foreign_server WHERE oid >= 16384",
	[CEN_PUBLICATION] = "pg_catalog.pg_publication WHERE oid >= 16384",
	[CEN_EVENT_TRIGGER] = "pg_catalog.pg_event_trigger WHERE oid >= 16384",
	[CEN_STATISTIC_EXT] = "pg_catalog.pg_statistic_ext WHERE oid >= 16384",
	/* a base type made after initdb has input and output functions made after it (one of
	 * the built-ins cannot return the new type); array types have array_in */
	[CEN_TYPE_BASE] = "pg_catalog.pg_type WHERE oid >= 16384 AND typtype = 'b'"
	                  " AND typinput::pg_catalog.oid >= 16384",
	[CEN_TYPE_RANGE] = "pg_catalog.pg_type WHERE oid >= 16384 AND typtype = 'r'",
	[CEN_TYPE_SHELL] = "pg_catalog.pg_type WHERE oid >= 16384 AND typtype = 'p' AND NOT typisdefined",
	[CEN_DEFAULT_ACL] = "pg_catalog.pg_default_acl",
	/* security labels of this database's objects, or of shared ones (the database, its
	 * subscriptions): any at all */
	[CEN_SECLABEL] = "pg_catalog.pg_seclabel UNION ALL SELECT FROM pg_catalog.pg_shseclabel",
	[CEN_SQL_FUNC] = "pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang"
	                 " WHERE p.oid >= 16384 AND l.lanname IN ('sql', 'plpgsql')",
};

int
pvc_read_census(reader *rd)
{
	pv_buf b = PV_BUF_INIT;
	pv_buf_puts(&b, "SELECT ");
	for (int i = 0; i < CEN_N; i++)
		pv_buf_printf(&b, "%sEXISTS (SELECT FROM %s)", i ? ", " : "", census_from[i]);
	PGresult *r = pvc_query(rd, b.data, NULL);
	pv_buf_free(&b);
	if (!r)
		return pv_wrap("reading which kinds of objects the database has");
	rd->census = 0;
	for (int i = 0; i < CEN_N && PQntuples(r) == 1; i++)
		if (pvc_bool(r, 0, i))
			rd->census |= 1UL << i;
	rd->census_read = PQntuples(r) == 1;
	PQclear(r);
	return 0;
}

int
pvc_none(const reader *rd, int which)
{
	return rd->census_read && !(rd->census & (1UL << which));
}
