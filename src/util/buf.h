/*
 * util/buf.h — growable byte/string buffer and allocation wrappers.
 *
 * Allocation failure aborts (there is no sensible recovery from OOM in a
 * backup tool, and every caller checking malloc would hide real errors).
 * A pv_buf's data is always NUL-terminated.
 */
#ifndef PV_UTIL_BUF_H
#define PV_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

void *pv_malloc(size_t n);
void *pv_calloc(size_t n, size_t size);
void *pv_realloc(void *p, size_t n);
char *pv_strdup(const char *s);
char *pv_strndup(const char *s, size_t n);
/* strcmp where NULL sorts before every string */
int pv_strcmp_null(const char *a, const char *b);
char *pv_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

typedef struct pv_buf {
	char *data;
	size_t len;
	size_t cap;
} pv_buf;

#define PV_BUF_INIT {NULL, 0, 0}

void pv_buf_init(pv_buf *b);
void pv_buf_free(pv_buf *b);
void pv_buf_reset(pv_buf *b);
void pv_buf_reserve(pv_buf *b, size_t extra);
void pv_buf_add(pv_buf *b, const void *data, size_t len);
void pv_buf_puts(pv_buf *b, const char *s);
void pv_buf_putc(pv_buf *b, char c);
void pv_buf_printf(pv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pv_buf_vprintf(pv_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Take ownership of the contents (never NULL); the buffer is reset. */
char *pv_buf_detach(pv_buf *b);

/* A few emptied buffers kept for the next user (the caller serialises access): members of
 * a few MB each in a fresh allocation are a mapping, a page fault per page and an
 * unmapping every time. */
#define PV_BUF_SPARES 2
typedef struct pv_buf_spares {
	pv_buf b[PV_BUF_SPARES];
	int n;
} pv_buf_spares;

/* *out: a spare, emptied, or a new buffer */
void pv_spares_take(pv_buf_spares *s, pv_buf *out);
/* keep *b if there is room (else it is freed); *b is left empty */
void pv_spares_give(pv_buf_spares *s, pv_buf *b);
void pv_spares_free(pv_buf_spares *s);

#endif
