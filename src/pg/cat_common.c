/*
 * pg/cat_common.c — small helpers shared by the catalog readers (see catalog_int.h).
 */
#include "pg/catalog_int.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pg/cancel.h"
#include "pg/conn.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"

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

static PGresult *ahead_take(reader *rd, const char *sql, const char *param);

PGresult *
pvc_query(reader *rd, const char *sql, const char *param)
{
	PGresult *r = rd->ahead ? ahead_take(rd, sql, param) : NULL;
	if (r)
		return r;
	const char *p[1] = {param};
	return param ? pv_query_params(rd->c, sql, 1, p) : pv_query(rd->c, sql);
}

PGconn *
pvc_clone_session(PGconn *c, const char *why)
{
	PQconninfoOption *opts = PQconninfo(c);
	if (!opts)
		return NULL;
	int n = 0;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		n++;
	const char **kw = pv_calloc((size_t)n + 1, sizeof *kw), **val = pv_calloc((size_t)n + 1, sizeof *val);
	int k = 0;
	/* the very server c is on, whatever servers its connection string lists */
	const char *addr = PQhostaddr(c), *host = PQhost(c);
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		const char *v = o->val;
		if (strcmp(o->keyword, "host") == 0)
			v = host;
		else if (strcmp(o->keyword, "port") == 0)
			v = PQport(c);
		else if (strcmp(o->keyword, "hostaddr") == 0)
			v = addr && *addr && host && host[0] != '/' ? addr : NULL;
		else if (strcmp(o->keyword, "target_session_attrs") == 0)
			v = NULL;
		if (v && *v) {
			kw[k] = o->keyword;
			val[k++] = v;
		}
	}
	PGconn *side = PQconnectdbParams(kw, val, 0);
	free(kw);
	free(val);
	PQconninfoFree(opts);
	if (PQstatus(side) != CONNECTION_OK ||
	    PQsetClientEncoding(side, pg_encoding_to_char(PQclientEncoding(c))) != 0) {
		pv_debug("%s on the first session: a second one failed: %s", why, PQerrorMessage(side));
		PQfinish(side);
		return NULL;
	}
	return side;
}

/* ---- reading ahead on a second session -------------------------------------------------- */

/* The queued statements run in order on a thread of their own, over a session in the
 * snapshot of the first; a reader's pvc_query of the same statement and parameter waits
 * for its result there.  Whatever goes wrong on that session (it cannot be had, a
 * statement fails, it is closed early) leaves the statement to the first session, which
 * then says what is wrong, if anything is. */
#define AHEAD_MIN_RELATIONS 300
#define AHEAD_MAX 8

typedef struct ahead_q {
	const char *sql; /* the reader's own static text */
	char *param;
	PGresult *res;   /* once done: NULL when it failed there */
	int done, taken;
} ahead_q;

struct pvc_ahead {
	PGconn *c;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	ahead_q q[AHEAD_MAX];
	int n, stop, started;
};

int
pvc_ahead_open(reader *rd, int relations)
{
	if (rd->sessions < 2 || relations < AHEAD_MIN_RELATIONS)
		return 0;
	/* (a failed export ends the dump session's transaction, as it would in copyout.c) */
	char *snap = pv_export_snapshot(rd->c);
	if (!snap)
		return -1;
	PGconn *side = pvc_clone_session(rd->c, "reading the catalogs");
	if (side && pv_dump_worker_session(side, snap) < 0) {
		pv_debug("reading the catalogs on the first session: %s", pv_errmsg());
		PQfinish(side);
		side = NULL;
	}
	free(snap);
	if (!side)
		return 0;
	pv_debug("reading the catalogs on two sessions (%d relations)", relations);
	struct pvc_ahead *a = pv_calloc(1, sizeof *a);
	a->c = side;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	rd->ahead = a;
	return 0;
}

void
pvc_ahead_queue(reader *rd, const char *sql, const char *param)
{
	struct pvc_ahead *a = rd->ahead;
	if (!a || a->started || a->n == AHEAD_MAX)
		return;
	a->q[a->n].sql = sql;
	a->q[a->n].param = param ? pv_strdup(param) : NULL;
	a->n++;
}

static void *
ahead_run(void *arg)
{
	struct pvc_ahead *a = arg;
	for (int i = 0; i < a->n; i++) {
		pthread_mutex_lock(&a->mu);
		int stop = a->stop;
		pthread_mutex_unlock(&a->mu);
		PGresult *r = NULL;
		if (!stop) {
			const char *p[1] = {a->q[i].param};
			r = PQexecParams(a->c, a->q[i].sql, p[0] ? 1 : 0, NULL, p[0] ? p : NULL, NULL, NULL, 0);
			if (PQresultStatus(r) != PGRES_TUPLES_OK) {
				PQclear(r);
				r = NULL;
			}
		}
		pthread_mutex_lock(&a->mu);
		a->q[i].res = r;
		a->q[i].done = 1;
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
	}
	return NULL;
}

void
pvc_ahead_start(reader *rd)
{
	struct pvc_ahead *a = rd->ahead;
	if (!a || a->started)
		return;
	pv_cancel_register(a->c);
	if (pthread_create(&a->thread, NULL, ahead_run, a) != 0) {
		pvc_ahead_close(rd); /* everything on the first session */
		return;
	}
	a->started = 1;
}

static PGresult *
ahead_take(reader *rd, const char *sql, const char *param)
{
	struct pvc_ahead *a = rd->ahead;
	for (int i = 0; a->started && i < a->n; i++) {
		ahead_q *e = &a->q[i];
		if (e->taken || strcmp(e->sql, sql) != 0 || (!e->param) != (!param) ||
		    (param && strcmp(e->param, param) != 0))
			continue;
		pthread_mutex_lock(&a->mu);
		while (!e->done)
			pthread_cond_wait(&a->cv, &a->mu);
		pthread_mutex_unlock(&a->mu);
		e->taken = 1;
		PGresult *r = e->res;
		e->res = NULL;
		return r;
	}
	return NULL;
}

void
pvc_ahead_close(reader *rd)
{
	struct pvc_ahead *a = rd->ahead;
	if (!a)
		return;
	rd->ahead = NULL;
	if (a->started) {
		pthread_mutex_lock(&a->mu);
		a->stop = 1;
		int busy = 0;
		for (int i = 0; i < a->n; i++)
			busy |= !a->q[i].done;
		pthread_mutex_unlock(&a->mu);
		if (busy) { /* what is running there is not needed any more */
			PGcancel *cn = PQgetCancel(a->c);
			char err[256];
			if (cn)
				(void)PQcancel(cn, err, sizeof err);
			PQfreeCancel(cn);
		}
		pthread_join(a->thread, NULL);
	}
	pv_cancel_unregister(a->c);
	for (int i = 0; i < a->n; i++) {
		PQclear(a->q[i].res);
		free(a->q[i].param);
	}
	PQfinish(a->c);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a);
}

void
pvc_warning(reader *rd, const char *fmt, ...)
{
	pv_buf b = PV_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	pv_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	pv_warn("%s", b.data);
	(void)pvj_append_str(rd->cat->warnings, b.data); /* a string into an array: cannot fail */
	pv_buf_free(&b);
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
