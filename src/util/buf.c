/*
 * util/buf.c — growable buffers and aborting allocators (see buf.h).
 */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
oom(size_t n)
{
	fprintf(stderr, "pgvault: out of memory (allocating %zu bytes)\n", n);
	abort();
}

void *
pv_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *
pv_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *
pv_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *
pv_strdup(const char *s)
{
	return pv_strndup(s, strlen(s));
}

char *
pv_strndup(const char *s, size_t n)
{
	char *p = pv_malloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
pv_asprintf(const char *fmt, ...)
{
	pv_buf b = PV_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	pv_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return pv_buf_detach(&b);
}

void
pv_buf_init(pv_buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
pv_buf_free(pv_buf *b)
{
	free(b->data);
	pv_buf_init(b);
}

void
pv_buf_reset(pv_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
pv_buf_reserve(pv_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = pv_realloc(b->data, cap);
	b->cap = cap;
	/* the first allocation has no terminator yet: a buffer reserved and then detached (or
	 * read) without a byte added must still be "" */
	b->data[b->len] = '\0';
}

void
pv_buf_add(pv_buf *b, const void *data, size_t len)
{
	pv_buf_reserve(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
pv_buf_puts(pv_buf *b, const char *s)
{
	pv_buf_add(b, s, strlen(s));
}

void
pv_buf_putc(pv_buf *b, char c)
{
	pv_buf_add(b, &c, 1);
}

void
pv_buf_vprintf(pv_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	pv_buf_reserve(b, (size_t)n);
	vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	b->len += (size_t)n;
}

void
pv_buf_printf(pv_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pv_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

char *
pv_buf_detach(pv_buf *b)
{
	char *p = b->data ? b->data : pv_strdup("");
	pv_buf_init(b);
	return p;
}

int
pv_strcmp_null(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

void
pv_spares_take(pv_buf_spares *s, pv_buf *out)
{
	if (s->n > 0) {
		*out = s->b[--s->n];
		pv_buf_reset(out);
	} else {
		pv_buf_init(out);
	}
}

void
pv_spares_give(pv_buf_spares *s, pv_buf *b)
{
	if (b->data && s->n < PV_BUF_SPARES) {
		s->b[s->n++] = *b;
		pv_buf_init(b);
	} else {
		pv_buf_free(b);
	}
}

void
pv_spares_free(pv_buf_spares *s)
{
	while (s->n > 0)
		pv_buf_free(&s->b[--s->n]);
}
