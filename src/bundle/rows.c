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

static const uint64_t ONES = 0x0101010101010101ULL, LOW7 = 0x7f7f7f7f7f7f7f7fULL;

int pv_rowcheck_words; /* bundle_int.h */

/* The bytes of w equal to pat's (pat: one byte times ONES), marked by their high bit: a
 * byte of x = w ^ pat is zero exactly there, and ~(((x & LOW7) + LOW7) | x | LOW7) keeps
 * the high bit of exactly those bytes (no carry crosses a byte: (b & 0x7f) + 0x7f <= 0xfe). */
static inline uint64_t
bytes_equal(uint64_t w, uint64_t pat)
{
	uint64_t x = w ^ pat;
	return ~(((x & LOW7) + LOW7) | x | LOW7);
}

/* How many bytes a bytes_equal mask marks: their 0/1 bytes summed into the top byte. */
static inline int64_t
marked(uint64_t m)
{
	return (int64_t)(((m >> 7) * ONES) >> 56);
}

/* A row ended (its newline reached): its columns counted against the table's. */
static int
row_end(pv_rowcheck *c)
{
	c->rows++;
	if (c->ncols == 0 && c->len > 0)
		return pv_fail("row %lld is not empty but the table has no columns", (long long)c->rows);
	if (c->ncols > 0 && c->tabs != c->ncols - 1)
		return pv_fail("row %lld has %lld columns, expected %lld", (long long)c->rows,
		               (long long)c->tabs + 1, (long long)c->ncols);
	c->tabs = 0;
	c->len = 0;
	return 0;
}

/* The rows of data[i..len), byte by byte. */
static int
feed_bytes(pv_rowcheck *c, const char *data, size_t i, size_t len, size_t *start)
{
	for (; i < len; i++) {
		if (data[i] == '\t') {
			c->tabs++;
		} else if (data[i] == '\n') {
			c->len += (int64_t)(i - *start);
			if (row_end(c) < 0)
				return -1;
			*start = i + 1;
		}
	}
	return 0;
}

/* The rows of a block of data at offset i, given the block's tab and newline bits (bit k:
 * byte i + k): each newline ends a row with the tabs below it. */
static inline int
feed_block(pv_rowcheck *c, size_t i, uint64_t t, uint64_t n, size_t *start)
{
	while (n) {
		int k = __builtin_ctzll(n);
		uint64_t below = ((uint64_t)1 << k) - 1;
		c->tabs += __builtin_popcountll(t & below);
		t &= ~below;
		n &= n - 1;
		c->len += (int64_t)(i + (size_t)k - *start);
		if (row_end(c) < 0)
			return -1;
		*start = i + (size_t)k + 1;
	}
	c->tabs += __builtin_popcountll(t);
	return 0;
}

/* Words of 8 bytes: tabs counted together where no newline is (see bytes_equal), the rest
 * byte by byte. */
static size_t
feed_words(pv_rowcheck *c, const char *data, size_t len, size_t *start, int *rc)
{
	const uint64_t tabs = ONES * '\t', nls = ONES * '\n';
	size_t i = 0;

	while (i + 8 <= len) {
		uint64_t w;
		memcpy(&w, data + i, 8);
		if (bytes_equal(w, nls)) {
			if (feed_bytes(c, data, i, i + 8, start) < 0) {
				*rc = -1;
				return i;
			}
		} else {
			c->tabs += marked(bytes_equal(w, tabs));
		}
		i += 8;
	}
	return i;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* 32 bytes at a time with AVX2 (where the CPU has it): the same rows, about four times
 * faster than words on rows of ordinary length. */
__attribute__((target("avx2,popcnt,bmi")))
static size_t
feed_avx2(pv_rowcheck *c, const char *data, size_t len, size_t *start, int *rc)
{
	const __m256i tab = _mm256_set1_epi8('\t'), nl = _mm256_set1_epi8('\n');
	size_t i = 0;

	for (; i + 32 <= len; i += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(data + i));
		uint64_t t = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, tab));
		uint64_t n = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, nl));
		if (feed_block(c, i, t, n, start) < 0) {
			*rc = -1;
			return i;
		}
	}
	return i;
}

static int
have_avx2(void)
{
	static int known = -1;
	if (known < 0)
		known = __builtin_cpu_supports("avx2") ? 1 : 0;
	return known;
}
#endif

int
pv_rowcheck_feed(void *arg, const char *data, size_t len)
{
	pv_rowcheck *c = arg;
	size_t start = 0, i; /* start: the current row's first byte in data */
	int rc = 0;

#if defined(__x86_64__) && defined(__GNUC__)
	if (have_avx2() && !pv_rowcheck_words)
		i = feed_avx2(c, data, len, &start, &rc);
	else
#endif
		i = feed_words(c, data, len, &start, &rc);
	if (rc < 0 || feed_bytes(c, data, i, len, &start) < 0)
		return -1;
	c->len += (int64_t)(len - start);
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
	pv_buf_spares spares; /* buffers of members collected, for the next ones */
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
	pv_spares_give(&p->spares, &t->stored);
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

void
pv_vpool_buffer(pv_vpool *p, pv_buf *out)
{
	pthread_mutex_lock(&p->mu);
	pv_spares_take(&p->spares, out);
	pthread_mutex_unlock(&p->mu);
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
	pv_spares_free(&p->spares);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	free(p->th);
	free(p->label);
	free(p);
}
