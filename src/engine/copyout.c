/*
 * engine/copyout.c — the rows of one database's tables into its bundle, in one snapshot,
 * on one session or on N in parallel with big tables cut into block ranges (see copyout.h).
 */
#include "engine/copyout.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg/cancel.h"
#include "util/err.h"
#include "util/log.h"

/* One piece of work: an item's rows, or the rows of its blocks [from, to) (to < 0: to the
 * end of the table; from < 0: the whole table, no range). */
typedef struct unit {
	pv_copy_item *it;
	long long from, to;
	long long weight; /* blocks, to do the biggest first */
} unit;

typedef struct run {
	pv_bundle_writer *w;
	unit *u;
	int nu;
	int next;            /* the next unit to take */
	unit **back;         /* units a worker could not lock: the catalog session's, at the end */
	int nback;
	int failed;
	char err[4096];      /* the first failure's message */
	pthread_mutex_t mu;
} run;

typedef struct worker {
	run *r;
	PGconn *c;
	int leader;          /* the catalog's session: its tables are locked already */
	int no;
	pthread_t thread;
	unsigned locked;     /* the table locked last (ranges of one table come together) */
} worker;

long long
pv_copy_range_blocks(int jobs, long long total_blocks)
{
	const char *env = getenv("PGVAULT_RANGE_BLOCKS");
	if (env && *env >= '1' && *env <= '9')
		return strtoll(env, NULL, 10);
	/* about four pieces per job of the whole, and none under 64 MiB (8 KiB blocks) */
	long long r = total_blocks / (4LL * jobs);
	return r < 8192 ? 8192 : r;
}

static char *
copy_sql(const unit *u)
{
	const pv_copy_item *it = u->it;
	if (it->query)
		return pv_asprintf("COPY (%s) TO STDOUT", it->query);
	if (u->from >= 0 && u->to >= 0)
		return pv_asprintf("COPY (SELECT %s FROM ONLY %s WHERE ctid >= '(%lld,0)'::pg_catalog.tid"
		                   " AND ctid < '(%lld,0)'::pg_catalog.tid) TO STDOUT",
		                   it->columns, it->table, u->from, u->to);
	if (u->from >= 0)
		return pv_asprintf("COPY (SELECT %s FROM ONLY %s WHERE ctid >= '(%lld,0)'::pg_catalog.tid)"
		                   " TO STDOUT", it->columns, it->table, u->from);
	if (*it->columns)
		return pv_asprintf("COPY %s (%s) TO STDOUT", it->table, it->columns);
	return pv_asprintf("COPY %s TO STDOUT", it->table);
}

/* "table T" or "table T, blocks A to B" for messages */
static char *
unit_label(const unit *u)
{
	if (u->from < 0)
		return pv_asprintf("table %s", u->it->table);
	if (u->to < 0)
		return pv_asprintf("table %s, blocks %lld to the end", u->it->table, u->from);
	return pv_asprintf("table %s, blocks %lld to %lld", u->it->table, u->from, u->to - 1);
}

/* The unit's rows into members of its item; rows copied in *rows. */
static int
copy_unit(PGconn *c, pv_bundle_writer *w, const unit *u, int64_t *rows)
{
	char *sql = copy_sql(u);
	PGresult *r = PQexec(c, sql);
	free(sql);
	if (PQresultStatus(r) != PGRES_COPY_OUT) {
		pv_fail("%s", PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	pv_data_writer *d = pv_bw_data_begin_shared(w, u->it->prefix, u->it->table, &u->it->seq);
	if (!d)
		return -1;
	char *buf = NULL;
	int n;
	int failed = 0;
	while ((n = PQgetCopyData(c, &buf, 0)) > 0) {
		if (!failed && pv_dw_row(d, buf, (size_t)n) < 0)
			failed = 1; /* keep draining so the connection stays usable for the message */
		PQfreemem(buf);
	}
	if (n == -2 && !failed) {
		pv_fail("%s", PQerrorMessage(c));
		failed = 1;
	}
	while ((r = PQgetResult(c)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && !failed) {
			pv_fail("%s", PQresultErrorMessage(r));
			failed = 1;
		}
		PQclear(r);
	}
	if (failed) {
		pv_dw_abort(d);
		return pv_wrap("copying rows");
	}
	return pv_dw_end(d, rows);
}

static void
fail_run(run *r)
{
	pthread_mutex_lock(&r->mu);
	if (!r->failed) {
		r->failed = 1;
		snprintf(r->err, sizeof r->err, "%s", pv_errmsg());
	}
	pthread_mutex_unlock(&r->mu);
}

/* Run one unit on w's session; 0, or -1 (the run's failure recorded). */
static int
do_unit(worker *wk, unit *u)
{
	run *r = wk->r;
	int64_t rows = 0;
	pv_err_clear();
	if (!wk->leader && wk->locked != u->it->relid) {
		int l = pv_lock_nowait(wk->c, u->it->table);
		if (l == 0) {
			pv_debug("%s: another session waits for a lock on it; read by the first session",
			         u->it->table);
			pthread_mutex_lock(&r->mu);
			r->back[r->nback++] = u;
			pthread_mutex_unlock(&r->mu);
			return 0;
		}
		if (l < 0)
			goto fail;
		wk->locked = u->it->relid;
	}
	if (pv_check_interrupt() < 0 || copy_unit(wk->c, r->w, u, &rows) < 0)
		goto fail;
	pthread_mutex_lock(&r->mu);
	u->it->rows += rows;
	pthread_mutex_unlock(&r->mu);
	return 0;
fail:;
	char *label = unit_label(u);
	if (!pv_interrupted)
		pv_wrap("%s", label);
	free(label);
	fail_run(r);
	return -1;
}

static void *
worker_main(void *arg)
{
	worker *wk = arg;
	run *r = wk->r;
	for (;;) {
		pthread_mutex_lock(&r->mu);
		unit *u = !r->failed && r->next < r->nu ? &r->u[r->next++] : NULL;
		pthread_mutex_unlock(&r->mu);
		if (!u || do_unit(wk, u) < 0)
			break;
	}
	return NULL;
}

static int
cmp_weight(const void *a, const void *b)
{
	const unit *x = a, *y = b;
	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	if (x->it != y->it)
		return x->it < y->it ? -1 : 1;
	return x->from < y->from ? -1 : x->from > y->from;
}

/* The units of the items: with jobs > 1, big heap tables cut into block ranges, and the
 * biggest first.  *nu units (malloc'd), or NULL with pv_fail. */
static unit *
plan_units(PGconn *c, pv_copy_item *items, int n, int jobs, int *nu)
{
	long long *blocks = pv_calloc((size_t)n + 1, sizeof *blocks);
	long long total = 0;
	if (jobs > 1) {
		unsigned *relids = pv_calloc((size_t)n + 1, sizeof *relids);
		for (int i = 0; i < n; i++)
			relids[i] = items[i].relid;
		int rc = pv_heap_blocks(c, relids, n, blocks);
		free(relids);
		if (rc < 0) {
			free(blocks);
			return NULL;
		}
		for (int i = 0; i < n; i++)
			total += blocks[i];
	}
	long long range = pv_copy_range_blocks(jobs, total);
	int cap = n + 16, k = 0;
	unit *u = pv_calloc((size_t)cap, sizeof *u);
	for (int i = 0; i < n; i++) {
		int split = jobs > 1 && !items[i].query && *items[i].columns && blocks[i] >= 2 * range;
		long long parts = split ? (blocks[i] + range - 1) / range : 1;
		for (long long p = 0; p < parts; p++) {
			if (k == cap) {
				cap *= 2;
				u = pv_realloc(u, (size_t)cap * sizeof *u);
			}
			u[k].it = &items[i];
			u[k].from = split ? p * range : -1;
			u[k].to = split && p + 1 < parts ? (p + 1) * range : -1;
			u[k].weight = split ? (p + 1 < parts ? range : blocks[i] - p * range) : blocks[i];
			k++;
		}
	}
	free(blocks);
	if (jobs > 1)
		qsort(u, (size_t)k, sizeof *u, cmp_weight);
	*nu = k;
	return u;
}

/* The other sessions (up to jobs - 1) on the snapshot of c; how many could be had (those
 * the server refuses are done without), or -1 when the snapshot cannot be exported. */
static int
start_workers(PGconn *c, const pv_connopts *co, const char *db, worker *wk, int jobs)
{
	/* tests: time to queue a lock request behind the first session's (tests/t/25) */
	const char *pause = getenv("PGVAULT_TEST_PAUSE");
	if (pause && *pause >= '1' && *pause <= '9')
		sleep((unsigned)atoi(pause));
	/* a failed export aborts the dump session's transaction (it cannot be taken in a
	 * subtransaction): that ends this backup of the database */
	char *snap = pv_export_snapshot(c);
	if (!snap)
		return pv_wrap("the parallel sessions (--jobs 1 reads on one session)");
	int k = 0;
	for (int i = 1; i < jobs; i++) {
		PGconn *wc = pv_connect(co, db);
		if (!wc || pv_dump_worker_session(wc, snap) < 0) {
			pv_warn("database \"%s\": cannot start parallel session %d (%s); going on with %d",
			        db, i + 1, pv_errmsg(), k + 1);
			if (wc)
				PQfinish(wc);
			break;
		}
		pv_cancel_register(wc);
		wk[k].c = wc;
		wk[k].no = k + 1;
		k++;
	}
	free(snap);
	return k;
}

int
pv_copy_rows(PGconn *c, const pv_connopts *co, const char *db, pv_bundle_writer *w,
             pv_copy_item *items, int n, int jobs)
{
	run r;
	memset(&r, 0, sizeof r);
	r.w = w;
	if (!(r.u = plan_units(c, items, n, jobs, &r.nu)))
		return pv_wrap("planning the copy of the tables");
	if (jobs > 1 && r.nu < 2)
		jobs = 1;
	r.back = pv_calloc((size_t)r.nu + 1, sizeof *r.back);
	pthread_mutex_init(&r.mu, NULL);

	worker *wk = pv_calloc((size_t)jobs, sizeof *wk);
	int nw = jobs > 1 ? start_workers(c, co, db, wk, jobs) : 0;
	if (nw < 0) {
		free(wk);
		free(r.back);
		free(r.u);
		pthread_mutex_destroy(&r.mu);
		return -1;
	}
	int started = 0;
	for (; started < nw; started++) {
		wk[started].r = &r;
		if (pthread_create(&wk[started].thread, NULL, worker_main, &wk[started]) != 0) {
			pv_warn("database \"%s\": cannot start a thread; going on with %d session(s)", db,
			        started + 1);
			break;
		}
	}
	if (nw)
		pv_debug("database \"%s\": %d pieces of table data on %d sessions", db, r.nu, started + 1);

	worker leader = {.r = &r, .c = c, .leader = 1};
	pv_cancel_register(c); /* a signal cancels its COPY too */
	worker_main(&leader);
	for (int i = 0; i < started; i++)
		pthread_join(wk[i].thread, NULL);
	/* what the workers could not lock, on the session that holds every lock */
	for (int i = 0; i < r.nback && !r.failed; i++)
		do_unit(&leader, r.back[i]);
	pv_cancel_unregister(c);
	for (int i = 0; i < nw; i++) {
		pv_cancel_unregister(wk[i].c);
		PQfinish(wk[i].c);
	}
	free(wk);
	free(r.back);
	free(r.u);
	pthread_mutex_destroy(&r.mu);
	if (r.failed)
		return pv_fail("%s", r.err);
	return 0;
}
