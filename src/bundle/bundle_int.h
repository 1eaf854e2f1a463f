/*
 * bundle/bundle_int.h — what the files of the bundle layer share and nothing above it sees:
 * the COPY text row check of a data member, and the pool of threads that checks data
 * members while the reading thread goes on with the stream (bundle/rows.c).
 */
#ifndef PV_BUNDLE_INT_H
#define PV_BUNDLE_INT_H

#include <jansson.h>
#include <stdint.h>

#include "util/buf.h"

/* Row state of a data member being decompressed. */
typedef struct pv_rowcheck {
	int64_t ncols;  /* columns expected per row */
	int64_t rows;   /* complete rows so far */
	int64_t tabs;   /* separators in the current row */
	int64_t len;    /* bytes in the current row (tabs included) */
	char last;      /* the last byte seen */
} pv_rowcheck;

/* A pv_zdec callback (arg: a pv_rowcheck): each complete row has ncols columns. */
int pv_rowcheck_feed(void *arg, const char *data, size_t len);
/* Non-zero: pv_rowcheck_feed keeps to its portable word-at-a-time path even where the CPU
 * has AVX2 (the unit tests check both against a model). */
extern int pv_rowcheck_words;
/* After the member's raw bytes: the last row ended. */
int pv_rowcheck_end(const pv_rowcheck *c, int64_t raw);

/* Data members checked on worker threads.  The reading thread hands a member's stored
 * bytes to an idle worker and reads on, or, when every worker is busy, checks the member
 * itself as it reads it: memory holds one stored member per worker.  Results (rows,
 * raw_size) are set in the member's entry of the reading thread's list of members seen, in
 * stream order, when that thread collects them. */
typedef struct pv_vpool pv_vpool;

/* A pool of `workers` threads, or NULL (check everything on the reading thread) when
 * workers < 1 or no thread could start.  label prefixes messages as the serial check does. */
pv_vpool *pv_vpool_new(int workers, const char *label);
/* Collects the members checked: 1 if a worker is free for the next, 0 if not, -1 (with the
 * earliest failed member's message) once a member handed over has failed. */
int pv_vpool_room(pv_vpool *p);
/* Hand data member `name` (ncols columns) to a worker, after pv_vpool_room said 1; its stored
 * bytes are taken from *stored (left empty).  m, its entry, must live until pv_vpool_drain. */
int pv_vpool_submit(pv_vpool *p, const char *name, int64_t ncols, json_t *m, pv_buf *stored);
/* A buffer for the next member's stored bytes: one of a member collected (emptied), or a
 * new one. */
void pv_vpool_buffer(pv_vpool *p, pv_buf *out);
/* Wait for every member queued; -1 with the earliest failure's message. */
int pv_vpool_drain(pv_vpool *p);
/* Stop the threads (members not yet checked are dropped) and free the pool. */
void pv_vpool_free(pv_vpool *p);

#endif
