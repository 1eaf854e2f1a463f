/*
 * pg/pool.c — parallel restore workers (see pool.h).
 */
#include "pg/pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg/cancel.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/zstream.h"

typedef struct job {
	char *sql;
	char *label;
	pv_buf z;      /* COPY job: compressed rows; empty (no data) for an SQL job */
	char *freeze;  /* COPY job: the table, copied with FREEZE; or NULL */
	int64_t want_raw, want_rows; /* COPY job: what it must amount to (pv_copy_in) */
	int (*run)(pv_pool_env *env, void *arg); /* callback job, or NULL */
	void *arg;
	int *items;    /* SQL and callback job: the indexes of its items (SQL: one transaction) */
	int nitems;
	struct job *next;
} job;

typedef struct worker {
	pv_pool *pool;
	pthread_t thread;
	pv_pool_env env; /* its session, decompressor (reset for each member), callback buffer */
	int started;
} worker;

struct pv_pool {
	worker *w;
	int n;
	pthread_mutex_t mu;
	pthread_cond_t cv_job;   /* a job is queued, or stop */
	pthread_cond_t cv_done;  /* a job finished, or queue has room */
	job *head, *tail;
	int queued, running, stop, failed;
	char err[4096];
	int *finished;           /* item indexes finished since the scheduler last looked */
	int nfinished, cfinished;
	const pv_pool_item *items; /* pv_pool_run's items, while it runs */
	pv_buf_spares spares;    /* buffers of finished COPY jobs, for the next members */
};

int
pv_pool_copy_frame(pv_pool_env *env, const void *z, size_t len, pv_copy_in *ci)
{
	if (!env->z)
		env->z = pv_zdec_new();
	else
		pv_zdec_reset(env->z);
	return env->z ? pv_zdec_all(env->z, z, len, pv_copy_put, ci) : -1;
}

static int
run_copy(worker *w, const job *j)
{
	PGconn *c = w->env.c;
	int freeze = pv_copy_in_begin(c, j->sql, j->freeze);
	if (freeze < 0)
		return -1;
	pv_copy_in ci = {c, j->want_raw, j->want_rows, 0};
	int rc = pv_pool_copy_frame(&w->env, j->z.data, j->z.len, &ci);
	return pv_copy_in_end(c, rc, freeze, &ci);
}

/* An SQL item, in its own transaction: one that a deadlock with another worker's item
 * chose as its victim (its statements rolled back) runs again, up to three times; so does
 * one that found the server's lock table full (out of shared memory, 53200), which another
 * worker's batch may have filled for a moment (it runs again item by item), after a pause. */
static int
run_sql(PGconn *c, const char *sql)
{
	for (int attempt = 0;; attempt++) {
		PGresult *r = PQexec(c, sql);
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
			PQclear(r);
			return 0;
		}
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		int deadlock = state && strcmp(state, "40P01") == 0;
		int locks_full = state && strcmp(state, "53200") == 0;
		if (locks_full && attempt < 3) {
			struct timespec pause = {0, 200000000L * (attempt + 1)};
			nanosleep(&pause, NULL);
		}
		if ((!deadlock && !locks_full) || attempt == 3 || pv_interrupted) {
			const char *m = r ? PQresultErrorMessage(r) : NULL;
			pv_fail("%s", m && *m ? m : PQerrorMessage(c));
			PQclear(r);
			return -1;
		}
		PQclear(r);
	}
}

/* An SQL job: its items' statements in one transaction and one round trip.  When that
 * fails, the transaction is rolled back whole and the items run again one at a time, so
 * that the failure is the failing item's, under its label; those before it stay done. */
static int
run_batch(worker *w, job *j)
{
	pv_pool *p = w->pool;
	if (j->nitems == 1)
		return run_sql(w->env.c, j->sql);
	if (run_sql(w->env.c, j->sql) == 0)
		return 0;
	if (pv_interrupted)
		return -1;
	for (int k = 0; k < j->nitems; k++) {
		const pv_pool_item *it = &p->items[j->items[k]];
		pv_err_clear();
		if (run_sql(w->env.c, it->sql) < 0) {
			if (!pv_interrupted)
				pv_wrap("%s", it->label);
			return -1;
		}
	}
	return 0;
}

static void *
worker_main(void *arg)
{
	worker *w = arg;
	pv_pool *p = w->pool;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->head && !p->stop)
			pthread_cond_wait(&p->cv_job, &p->mu);
		if (!p->head && p->stop)
			break;
		job *j = p->head;
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		p->queued--;
		p->running++;
		int skip = p->failed;
		pthread_mutex_unlock(&p->mu);
		pthread_cond_broadcast(&p->cv_done); /* room in the queue */

		int rc = 0;
		if (!skip) {
			pv_err_clear();
			if (pv_check_interrupt() < 0) {
				rc = -1;
			} else if (j->z.data) {
				rc = run_copy(w, j);
				if (rc < 0 && !pv_interrupted)
					pv_wrap("%s", j->label);
			} else if (j->run) {
				rc = j->run(&w->env, j->arg);
			} else {
				rc = run_batch(w, j);
				if (rc < 0 && j->nitems == 1 && !pv_interrupted)
					pv_wrap("%s", j->label);
			}
		}

		pthread_mutex_lock(&p->mu);
		if (rc < 0 && !p->failed) {
			p->failed = 1;
			snprintf(p->err, sizeof p->err, "%s", pv_errmsg());
		}
		for (int k = 0; k < j->nitems; k++) {
			if (p->nfinished == p->cfinished) {
				p->cfinished = p->cfinished ? p->cfinished * 2 : 64;
				p->finished = pv_realloc(p->finished, (size_t)p->cfinished * sizeof(int));
			}
			p->finished[p->nfinished++] = j->items[k];
		}
		p->running--;
		pv_spares_give(&p->spares, &j->z);
		free(j->items);
		free(j->sql);
		free(j->label);
		pv_buf_free(&j->z);
		free(j->freeze);
		free(j);
		pthread_cond_broadcast(&p->cv_done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

pv_pool *
pv_pool_new(const pv_connopts *co, const char *dbname, const char *encoding, const char *search_path, int n)
{
	pv_pool *p = pv_calloc(1, sizeof *p);
	p->n = n;
	p->w = pv_calloc((size_t)n, sizeof *p->w);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv_job, NULL);
	pthread_cond_init(&p->cv_done, NULL);
	for (int i = 0; i < n; i++) {
		p->w[i].pool = p;
		PGconn *c = p->w[i].env.c = pv_connect(co, dbname);
		if (c)
			pv_cancel_register(c);
		if (!c || pv_restore_session(c, encoding, search_path) < 0 || pv_bulk_load_session(c, n) < 0) {
			pv_wrap("starting restore worker %d", i + 1);
			pv_pool_free(p);
			return NULL;
		}
	}
	for (int i = 0; i < n; i++) {
		if (pthread_create(&p->w[i].thread, NULL, worker_main, &p->w[i]) != 0) {
			pv_fail("cannot start a worker thread");
			pv_pool_free(p);
			return NULL;
		}
		p->w[i].started = 1;
	}
	return p;
}

static void
enqueue(pv_pool *p, job *j)
{
	/* caller holds the mutex */
	j->next = NULL;
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->queued++;
	pthread_cond_signal(&p->cv_job);
}

static int
pool_error(pv_pool *p)
{
	return pv_fail("%s", p->err);
}

void
pv_pool_buffer(pv_pool *p, pv_buf *out)
{
	pthread_mutex_lock(&p->mu);
	pv_spares_take(&p->spares, out);
	pthread_mutex_unlock(&p->mu);
}

int
pv_pool_copy(pv_pool *p, const char *copy_sql, const char *label, pv_buf *z,
             const char *freeze_table, int64_t want_raw, int64_t want_rows)
{
	job *j = pv_calloc(1, sizeof *j);
	j->want_raw = want_raw;
	j->want_rows = want_rows;
	j->sql = pv_strdup(copy_sql);
	j->freeze = freeze_table ? pv_strdup(freeze_table) : NULL;
	j->label = pv_strdup(label);
	j->z = *z;
	pv_buf_init(z);
	if (!j->z.data) /* no rows at all: still a COPY job */
		pv_buf_reserve(&j->z, 1);
	pthread_mutex_lock(&p->mu);
	while (p->queued + p->running >= p->n && !p->failed) /* one member per worker in memory, and the next read */
		pthread_cond_wait(&p->cv_done, &p->mu);
	int failed = p->failed;
	if (!failed)
		enqueue(p, j);
	pthread_mutex_unlock(&p->mu);
	if (failed) {
		free(j->sql);
		free(j->label);
		pv_buf_free(&j->z);
		free(j->freeze);
		free(j);
		return pool_error(p);
	}
	return 0;
}

int
pv_pool_wait(pv_pool *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->queued > 0 || p->running > 0)
		pthread_cond_wait(&p->cv_done, &p->mu);
	int failed = p->failed;
	p->nfinished = 0;
	pthread_mutex_unlock(&p->mu);
	return failed ? pool_error(p) : 0;
}

/* The tables' locks the scheduler gives out: a table held by an exclusive item, or by
 * this many shared ones; and the ready items waiting for each table (wait[l], chained
 * through next), back among the ready ones when an item holding it finishes: a scan of
 * every waiting item after each finished one made 10,000 post-data entries quadratic. */
typedef struct table_locks {
	char *excl;
	int *shared;
	int *wait;  /* per table: 1 + the first waiting item, or 0 */
	int *next;  /* per item: 1 + the next item waiting for the same table, or 0 */
} table_locks;

/* The first table of it that another item holds (-1: all free). */
static int
locks_busy(const table_locks *t, const pv_pool_item *it)
{
	for (int k = 0; k < it->nlocks; k++) {
		int l = it->locks[k];
		if (t->excl[l] || (!it->shared && t->shared[l]))
			return l;
	}
	return -1;
}

static void
locks_take(table_locks *t, const pv_pool_item *it, int take)
{
	for (int k = 0; k < it->nlocks; k++) {
		int l = it->locks[k];
		if (it->shared)
			t->shared[l] += take ? 1 : -1;
		else
			t->excl[l] = (char)take;
	}
}

/* Items per SQL job, at most: each job is one round trip and one transaction (its locks
 * held to its end: a few per CREATE TABLE, well under max_locks_per_transaction), and
 * PV_BATCH_SQL bytes of statements. */
#define PV_BATCH_ITEMS 32
#define PV_BATCH_SQL (256 * 1024)

static void
queue_job(pv_pool *p, pv_pool_item *items, int *batch, int nb)
{
	job *j = pv_calloc(1, sizeof *j);
	j->items = pv_calloc((size_t)nb, sizeof(int));
	pv_buf b = PV_BUF_INIT;
	for (int k = 0; k < nb; k++) {
		j->items[k] = batch[k];
		/* the newline ends a trailing comment, the semicolon a statement without one */
		pv_buf_printf(&b, "%s%s", k ? "\n;\n" : "", items[batch[k]].sql);
	}
	j->nitems = nb;
	j->sql = pv_buf_detach(&b);
	j->label = pv_strdup(items[batch[0]].label);
	enqueue(p, j);
}

/* Queue the ready items (ready[0..*nready)) whose tables are free, the others to wait for
 * their tables (t->wait); caller holds the mutex.  Ready items go out in jobs of several,
 * sized so that each worker still gets a few jobs of the ones ready now (the last to
 * finish waits for less). */
static void
queue_ready(pv_pool *p, pv_pool_item *items, int *ready, int *nready, table_locks *t)
{
	int nb = 0, per = *nready / (4 * p->n);
	size_t len = 0;
	int batch[PV_BATCH_ITEMS];
	if (per < 1)
		per = 1;
	if (per > PV_BATCH_ITEMS)
		per = PV_BATCH_ITEMS;
	for (int r = 0; r < *nready; r++) {
		int i = ready[r], busy = locks_busy(t, &items[i]);
		if (busy >= 0) {
			t->next[i] = t->wait[busy];
			t->wait[busy] = i + 1;
			continue;
		}
		locks_take(t, &items[i], 1);
		if (items[i].run) {
			job *j = pv_calloc(1, sizeof *j);
			j->run = items[i].run;
			j->arg = items[i].arg;
			j->items = pv_calloc(1, sizeof(int));
			j->items[0] = i;
			j->nitems = 1;
			j->label = pv_strdup(items[i].label);
			enqueue(p, j);
			continue;
		}
		size_t l = strlen(items[i].sql);
		if (nb && (nb == per || len + l > PV_BATCH_SQL)) {
			queue_job(p, items, batch, nb);
			nb = 0;
			len = 0;
		}
		batch[nb++] = i;
		len += l;
	}
	if (nb)
		queue_job(p, items, batch, nb);
	*nready = 0;
}

/* Item i finished: its tables are free again, and the items waiting for them ready. */
static void
locks_release(table_locks *t, const pv_pool_item *it, int *ready, int *nready)
{
	locks_take(t, it, 0);
	for (int k = 0; k < it->nlocks; k++) {
		int l = it->locks[k];
		for (int w = t->wait[l]; w; w = t->next[w - 1])
			ready[(*nready)++] = w - 1;
		t->wait[l] = 0;
	}
}

int
pv_pool_run(pv_pool *p, pv_pool_item *items, int n)
{
	int *left = pv_calloc((size_t)n + 1, sizeof *left);  /* unfinished deps */
	int *ready = pv_calloc((size_t)n + 1, sizeof *ready); /* deps done, not queued yet */
	int nready = 0, maxlock = 0;
	/* who waits for whom: the items depending on i are rdep[rstart[i] .. rstart[i + 1]) */
	int *rstart = pv_calloc((size_t)n + 2, sizeof *rstart);
	for (int i = 0; i < n; i++) {
		left[i] = items[i].ndeps;
		if (!left[i])
			ready[nready++] = i;
		for (int d = 0; d < items[i].ndeps; d++)
			rstart[items[i].deps[d] + 1]++;
		for (int k = 0; k < items[i].nlocks; k++)
			if (items[i].locks[k] >= maxlock)
				maxlock = items[i].locks[k] + 1;
	}
	for (int i = 0; i < n; i++)
		rstart[i + 1] += rstart[i];
	int *fill = pv_calloc((size_t)n + 1, sizeof *fill);
	int *rdep = pv_calloc((size_t)rstart[n] + 1, sizeof *rdep);
	for (int i = 0; i < n; i++)
		for (int d = 0; d < items[i].ndeps; d++) {
			int on = items[i].deps[d];
			rdep[rstart[on] + fill[on]++] = i;
		}
	table_locks tl = {pv_calloc((size_t)maxlock + 1, 1), pv_calloc((size_t)maxlock + 1, sizeof(int)),
	                  pv_calloc((size_t)maxlock + 1, sizeof(int)), pv_calloc((size_t)n + 1, sizeof(int))};
	int done = 0;

	pthread_mutex_lock(&p->mu);
	p->nfinished = 0;
	p->items = items;
	while (done < n && !p->failed) {
		queue_ready(p, items, ready, &nready, &tl);
		if (p->queued == 0 && p->running == 0 && p->nfinished == 0) {
			/* nothing runs and nothing can start: a dependency the items cannot satisfy */
			snprintf(p->err, sizeof p->err, "parallel restore stalled (unsatisfiable dependencies)");
			p->failed = 1;
			break;
		}
		while (p->nfinished == 0 && !p->failed)
			pthread_cond_wait(&p->cv_done, &p->mu);
		for (int f = 0; f < p->nfinished; f++) {
			int i = p->finished[f];
			done++;
			locks_release(&tl, &items[i], ready, &nready);
			for (int r = rstart[i]; r < rstart[i + 1]; r++)
				if (--left[rdep[r]] == 0)
					ready[nready++] = rdep[r];
		}
		p->nfinished = 0;
	}
	/* let queued work drain (it is skipped after a failure) */
	while (p->queued > 0 || p->running > 0)
		pthread_cond_wait(&p->cv_done, &p->mu);
	int failed = p->failed;
	p->nfinished = 0;
	p->items = NULL;
	pthread_mutex_unlock(&p->mu);
	free(left);
	free(ready);
	free(rstart);
	free(fill);
	free(rdep);
	free(tl.excl);
	free(tl.shared);
	free(tl.wait);
	free(tl.next);
	return failed ? pool_error(p) : 0;
}

void
pv_pool_free(pv_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv_job);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->n; i++)
		if (p->w[i].started)
			pthread_join(p->w[i].thread, NULL);
	for (int i = 0; i < p->n; i++) {
		if (p->w[i].env.c) {
			pv_cancel_unregister(p->w[i].env.c);
			PQfinish(p->w[i].env.c);
		}
		pv_zdec_free(p->w[i].env.z);
		pv_buf_free(&p->w[i].env.buf);
	}
	while (p->head) {
		job *j = p->head;
		p->head = j->next;
		free(j->items);
		free(j->sql);
		free(j->label);
		pv_buf_free(&j->z);
		free(j->freeze);
		free(j);
	}
	pv_spares_free(&p->spares);
	free(p->finished);
	free(p->w);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv_job);
	pthread_cond_destroy(&p->cv_done);
	free(p);
}
