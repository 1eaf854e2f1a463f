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

