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
#include "util/progress.h"

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
	int jobs;            /* the sessions that read (batchable()) */
	int failed;
	char err[4096];      /* the first failure's message */
	int err_kind;        /* and its kind (pv_err_kind) */
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

/* What is left of a query's results (and the rows of any COPY among them), so that the
 * session is ready for the next one. */
static void
drain(PGconn *c)
{
	PGresult *r;
	while ((r = PQgetResult(c)) != NULL) {
		if (PQresultStatus(r) == PGRES_COPY_OUT) {
			char *buf;
			while (PQgetCopyData(c, &buf, 0) > 0)
				PQfreemem(buf);
		}
		PQclear(r);
	}
}

/* The next result of the query is one of status st; NULL with pv_fail (the rest drained)
 * when it is not. */
static PGresult *
next_result(PGconn *c, ExecStatusType st)
{
	PGresult *r = PQgetResult(c);
	if (PQresultStatus(r) == st)
		return r;
	pv_fail("%s", r ? PQresultErrorMessage(r) : PQerrorMessage(c));
	pv_err_from_server(c, r);
	PQclear(r);
	drain(c);
	return NULL;
}

/* The rows of the COPY whose PGRES_COPY_OUT is in, into members of u's item; rows copied in
 * *rows.  On return the COPY's own result is taken, the query's next one is not. */
static int
copy_rows(PGconn *c, pv_bundle_writer *w, const unit *u, int64_t *rows)
{
	pv_data_writer *d = pv_bw_data_begin_shared(w, u->it->prefix, u->it->table, &u->it->seq);
	if (!d) {
		drain(c);
		return -1;
	}
	char *buf = NULL;
	int n;
	int failed = 0;
	/* the progress counters are shared by every worker: added to every 256 KiB, not every
	 * row (two atomic adds per row on one cache line cost the workers more than the rows) */
	int64_t pbytes = 0, prows = 0;
	pv_progress_item(u->it->table);
	while ((n = PQgetCopyData(c, &buf, 0)) > 0) {
		if (!failed && pv_dw_row(d, buf, (size_t)n) < 0)
			failed = 1; /* keep draining so the connection stays usable for the message */
		pbytes += n;
		prows++;
		if (pbytes >= 256 * 1024) {
			pv_progress_add(pbytes, prows);
			pbytes = prows = 0;
		}
		PQfreemem(buf);
	}
	pv_progress_add(pbytes, prows);
	if (n == -2 && !failed) {
		pv_fail("%s", PQerrorMessage(c));
		pv_err_from_server(c, NULL);
		failed = 1;
	}
	PGresult *r = failed ? NULL : next_result(c, PGRES_COMMAND_OK);
	if (failed)
		drain(c);
	else if (!r)
		failed = 1;
	PQclear(r);
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
		r->err_kind = pv_err_kind();
	}
	pthread_mutex_unlock(&r->mu);
}

/*
 * Small tables are read in batches: one query of a COPY per table, the worker's lock on
 * them taken in the same query, so that a few thousand small tables cost a few hundred
 * round trips instead of two each.  With one job, every whole table; with more, the whole
 * tables of at most BATCH_BLOCKS blocks (the big ones stay a query each, to be spread over
 * the sessions).
 */
#define BATCH_MAX 64
#define BATCH_BLOCKS 16

static int
batchable(const unit *u, int jobs)
{
	return u->from < 0 && (jobs == 1 || u->weight <= BATCH_BLOCKS);
}

/* The worker's lock on the batch's tables (NOWAIT), in its query: the SQL to put first, or
 * "" when it holds them all (the catalog session holds every lock already). */
static void
lock_sql(worker *wk, unit **b, int nb, pv_buf *sql)
{
	int n = 0;
	for (int i = 0; i < nb; i++)
		if (!wk->leader && b[i]->it->relid != wk->locked)
			pv_buf_printf(sql, "%s%s", n++ ? ", " : "SAVEPOINT pv_lock; LOCK TABLE ONLY ",
			              b[i]->it->table);
	if (n)
		pv_buf_puts(sql, " IN ACCESS SHARE MODE NOWAIT; RELEASE SAVEPOINT pv_lock; ");
}

/* The results of lock_sql's statements: 1 locked, 0 busy (another session waits for a
 * conflicting lock: nothing of the query ran but the lock, which is let go), -1 failed. */
static int
lock_results(PGconn *c, unit **b, int nb)
{
	PGresult *r = next_result(c, PGRES_COMMAND_OK); /* SAVEPOINT */
	if (!r)
		return -1;
	PQclear(r);
	r = PQgetResult(c);
	if (PQresultStatus(r) == PGRES_COMMAND_OK) {
		PQclear(r);
		r = next_result(c, PGRES_COMMAND_OK); /* RELEASE */
		PQclear(r);
		return r ? 1 : -1;
	}
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	int busy = state && strcmp(state, "55P03") == 0; /* lock_not_available */
	if (!busy)
		pv_fail("locking table%s %s%s: %s", nb > 1 ? "s" : "", b[0]->it->table,
		        nb > 1 ? " and the rest of its batch" : "",
		        r ? PQresultErrorMessage(r) : PQerrorMessage(c));
	PQclear(r);
	drain(c);
	if (!busy)
		return -1;
	/* the snapshot stays: only the subtransaction is rolled back */
	if (pv_exec(c, "ROLLBACK TO SAVEPOINT pv_lock; RELEASE SAVEPOINT pv_lock") < 0)
		return -1;
	return 0;
}

/* Run the nb units of b in one query on wk's session; 0, or -1 (the run's failure
 * recorded). */
static int
do_units(worker *wk, unit **b, int nb)
{
	run *r = wk->r;
	pv_buf sql = PV_BUF_INIT;
	int cur = 0;
	pv_err_clear();
	lock_sql(wk, b, nb, &sql);
	int locking = sql.len > 0;
	for (int i = 0; i < nb; i++) {
		char *one = copy_sql(b[i]);
		pv_buf_printf(&sql, "%s;%s", one, i + 1 < nb ? " " : "");
		free(one);
	}
	if (pv_check_interrupt() < 0)
		goto fail;
	if (PQsendQuery(wk->c, sql.data) != 1) {
		pv_fail("%s", PQerrorMessage(wk->c));
		pv_err_from_server(wk->c, NULL);
		goto fail;
	}
	if (locking) {
		int l = lock_results(wk->c, b, nb);
		if (l == 0) {
			pv_debug("%s%s: another session waits for a lock on it; read by the first session",
			         b[0]->it->table, nb > 1 ? " (and its batch)" : "");
			pthread_mutex_lock(&r->mu);
			for (int i = 0; i < nb; i++)
				r->back[r->nback++] = b[i];
			pthread_mutex_unlock(&r->mu);
			pv_buf_free(&sql);
			return 0;
		}
		if (l < 0)
			goto fail;
		wk->locked = b[nb - 1]->it->relid;
	}
	for (cur = 0; cur < nb; cur++) {
		int64_t rows = 0;
		PGresult *res = next_result(wk->c, PGRES_COPY_OUT);
		if (!res)
			goto fail;
		PQclear(res);
		if (copy_rows(wk->c, r->w, b[cur], &rows) < 0)
			goto fail;
		pthread_mutex_lock(&r->mu);
		b[cur]->it->rows += rows;
		pthread_mutex_unlock(&r->mu);
	}
	cur = nb - 1;
	PGresult *end = PQgetResult(wk->c);
	if (end) {
		pv_fail("a result more than the query's COPY statements");
		PQclear(end);
		drain(wk->c);
		goto fail;
	}
	pv_buf_free(&sql);
	return 0;
fail:;
	pv_buf_free(&sql);
	char *label = unit_label(b[cur < nb ? cur : nb - 1]);
	if (!pv_interrupted)
		pv_wrap("%s", label);
	free(label);
	fail_run(r);
	return -1;
}

/* Take the next units: one, or a batch of whole small tables (batchable). */
static int
take_units(run *r, unit **b)
{
	int nb = 0;
	pthread_mutex_lock(&r->mu);
	while (!r->failed && r->next < r->nu && nb < BATCH_MAX) {
		unit *u = &r->u[r->next];
		if (nb && !batchable(u, r->jobs))
			break;
		r->next++;
		b[nb++] = u;
		if (!batchable(u, r->jobs))
			break;
	}
	pthread_mutex_unlock(&r->mu);
	return nb;
}

static void *
worker_main(void *arg)
{
	worker *wk = arg;
	unit *b[BATCH_MAX];
	for (;;) {
		int nb = take_units(wk->r, b);
		if (!nb || do_units(wk, b, nb) < 0)
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
plan_units(PGconn *c, pv_copy_item *items, int n, int jobs, int *nu, long long *total_bytes)
{
	long long *blocks = pv_calloc((size_t)n + 1, sizeof *blocks);
	long long total = 0;
	if (n > 0) { /* the sizes: ranges and order with several jobs, the progress estimate always */
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
	const char *forced = getenv("PGVAULT_RANGE_BLOCKS");
	int cap = n + 16, k = 0;
	unit *u = pv_calloc((size_t)cap, sizeof *u);
	for (int i = 0; i < n; i++) {
		/* cut: a table of two ranges or more that holds more than 2/(jobs+1) of the blocks */
		int split = jobs > 1 && !items[i].query && *items[i].columns && blocks[i] >= 2 * range &&
		            ((forced && *forced) || blocks[i] * (jobs + 1) > 2 * total);
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
	*total_bytes = total * 8192;
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
	pv_connopts same = pv_connopts_same(co, c); /* that server, whatever else co lists */
	for (int i = 1; i < jobs; i++) {
		PGconn *wc = pv_connect(&same, db);
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
	long long heap = 0;
	if (!(r.u = plan_units(c, items, n, jobs, &r.nu, &heap)))
		return pv_wrap("planning the copy of the tables");
	char *what = pv_asprintf("backing up \"%s\"", db);
	pv_progress_begin(what, heap, 1, "read");
	free(what);
	if (jobs > 1 && r.nu < 2)
		jobs = 1;
	r.back = pv_calloc((size_t)r.nu + 1, sizeof *r.back);
	pthread_mutex_init(&r.mu, NULL);

	worker *wk = pv_calloc((size_t)jobs, sizeof *wk);
	int nw = jobs > 1 ? start_workers(c, co, db, wk, jobs) : 0;
	if (nw < 0) {
		pv_progress_end();
		free(wk);
		free(r.back);
		free(r.u);
		pthread_mutex_destroy(&r.mu);
		return -1;
	}
	int started = 0;
	r.jobs = nw + 1; /* before the threads read it */
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
		do_units(&leader, &r.back[i], 1);
	pv_cancel_unregister(c);
	for (int i = 0; i < nw; i++) {
		pv_cancel_unregister(wk[i].c);
		PQfinish(wk[i].c);
	}
	free(wk);
	free(r.back);
	free(r.u);
	pthread_mutex_destroy(&r.mu);
	pv_progress_end();
	if (r.failed) {
		pv_fail("%s", r.err);
		pv_err_set_kind(r.err_kind);
		return -1;
	}
	return 0;
}
