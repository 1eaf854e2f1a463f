/*
 * bundle/rows.c — checking a data member's rows: the COPY text of each row has the number
 * of columns data.json gives its table, and the last row ends; and the pool of threads on
 * which verify decompresses and checks data members while its reading thread (libarchive,
 * the SHA-256 of the stored bytes) goes on with the stream.
 */
#include "bundle/bundle_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/json.h"
#include "util/zstream.h"

/* The tab characters in p[0..n), a word at a time: a byte of w ^ TABS is zero where w has a
 * tab, and ~(((x & LOW7) + LOW7) | x | LOW7) keeps the high bit of exactly those bytes (no
 * carry crosses a byte: (b & 0x7f) + 0x7f <= 0xfe); multiplying their 0/1 bytes by ONES
 * sums them into the top byte. */
static size_t
count_tabs(const char *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL, tabs = ones * '\t', low7 = ones * 0x7f;
	size_t k = 0, i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		uint64_t x = w ^ tabs;
		uint64_t hit = ~(((x & low7) + low7) | x | low7) >> 7; /* 1 in each tab's byte */
		k += (size_t)((hit * ones) >> 56);                    /* their sum, at most 8 */
	}
	for (; i < n; i++)
		k += p[i] == '\t';
	return k;
}

int
pv_rowcheck_feed(void *arg, const char *data, size_t len)
{
	pv_rowcheck *c = arg;
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;
		c->tabs += (int64_t)count_tabs(p, (size_t)(stop - p));
		c->len += stop - p;
		if (!nl)
			break;
		c->rows++;
		if (c->ncols == 0 && c->len > 0)
			return pv_fail("row %lld is not empty but the table has no columns",
			               (long long)c->rows);
		if (c->ncols > 0 && c->tabs != c->ncols - 1)
			return pv_fail("row %lld has %lld columns, expected %lld",
			               (long long)c->rows, (long long)c->tabs + 1,
			               (long long)c->ncols);
		c->tabs = 0;
		c->len = 0;
		p = nl + 1;
	}
	if (len > 0)
		c->last = data[len - 1];
	return 0;
}

int
pv_rowcheck_end(const pv_rowcheck *c, int64_t raw)
{
	if (raw > 0 && c->last != '\n')
		return pv_fail("the last row does not end in a newline");
	return 0;
}

/* ---- the pool ----------------------------------------------------------------------- */

typedef struct vtask {
	struct vtask *next;
	char *name;
	json_t *m;        /* the member's entry (borrowed) */
	pv_buf stored;    /* its compressed bytes, freed once checked */
	pv_rowcheck rc;
	int64_t raw;
	char *err;        /* the failure's message */
	int done;
} vtask;

struct pv_vpool {
	char *label;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	pthread_t *th;
	int nth;
	vtask *head, *tail; /* queued, oldest first, until collected */
	vtask *todo;        /* the first not yet taken by a worker */
	int queued, cap;
	int stop;
};

static void
check_task(pv_vpool *p, vtask *t, pv_zdec *z)
{
	if (!z) {
		t->err = pv_asprintf("bundle %s: member %s: %s", p->label, t->name, pv_errmsg());
		return;
	}
	pv_zdec_reset(z);
	if (pv_zdec_all(z, t->stored.data, t->stored.len, pv_rowcheck_feed, &t->rc) < 0 ||
	    pv_rowcheck_end(&t->rc, t->raw = (int64_t)pv_zdec_out_bytes(z)) < 0)
		t->err = pv_asprintf("bundle %s: member %s: %s", p->label, t->name, pv_errmsg());
	pv_buf_free(&t->stored);
}

static void *
worker(void *arg)
{
	pv_vpool *p = arg;
	pv_zdec *z = pv_zdec_new();

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->todo && !p->stop)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		vtask *t = p->todo;
		p->todo = t->next;
		pthread_mutex_unlock(&p->mu);
		check_task(p, t, z);
		pthread_mutex_lock(&p->mu);
		t->done = 1;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	pv_zdec_free(z);
	return NULL;
}

pv_vpool *
pv_vpool_new(int workers, const char *label)
{
	if (workers < 1)
		return NULL;
	pv_vpool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->label = pv_strdup(label);
	p->th = calloc((size_t)workers, sizeof *p->th);
	p->cap = workers;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	while (p->th && p->nth < workers && pthread_create(&p->th[p->nth], NULL, worker, p) == 0)
		p->nth++;
	if (p->nth < 1) { /* check on the reading thread */
		pv_vpool_free(p);
		return NULL;
	}
	return p;
}

static void
free_task(vtask *t)
{
	free(t->name);
	free(t->err);
	pv_buf_free(&t->stored);
	free(t);
}

/* Collect the oldest member (done; mutex held): its results into its entry. */
static int
collect(pv_vpool *p)
{
	vtask *t = p->head;
	int rc = 0;

	if (t->err)
		return pv_fail("%s", t->err); /* kept queued: the pool has failed */
	if (pvj_set_int(t->m, "rows", t->rc.rows) < 0 || pvj_set_int(t->m, "raw_size", t->raw) < 0)
		rc = pv_wrap("bundle %s: member %s", p->label, t->name);
	p->head = t->next;
	if (!p->head)
		p->tail = NULL;
	p->queued--;
	free_task(t);
	return rc;
}

/* Collect members in order: all that are done, and, while more than `keep` are queued,
 * wait for them. */
static int
collect_until(pv_vpool *p, int keep)
{
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	while (rc == 0 && p->head && (p->head->done || p->queued > keep)) {
		if (!p->head->done)
			pthread_cond_wait(&p->done, &p->mu);
		else
			rc = collect(p);
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int
pv_vpool_room(pv_vpool *p)
{
	if (collect_until(p, p->cap) < 0)
		return -1;
	pthread_mutex_lock(&p->mu);
	int room = p->queued < p->cap;
	pthread_mutex_unlock(&p->mu);
	return room;
}

int
pv_vpool_submit(pv_vpool *p, const char *name, int64_t ncols, json_t *m, pv_buf *stored)
{
	vtask *t = calloc(1, sizeof *t);
	if (!t)
		return pv_fail("out of memory");
	t->name = pv_strdup(name);
	t->m = m;
	t->stored = *stored;
	pv_buf_init(stored);
	t->rc.ncols = ncols;
	pthread_mutex_lock(&p->mu);
	if (p->tail)
		p->tail->next = t;
	else
		p->head = t;
	p->tail = t;
	if (!p->todo)
		p->todo = t;
	p->queued++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int
pv_vpool_drain(pv_vpool *p)
{
	return collect_until(p, 0);
}

void
pv_vpool_free(pv_vpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	while (p->head) {
		vtask *t = p->head;
		p->head = t->next;
		free_task(t);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	free(p->th);
	free(p->label);
	free(p);
}
