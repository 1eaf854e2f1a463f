/*
 * pg/pool.h — parallel restore workers: N connections to the database being restored,
 * each on its own thread.  Two kinds of work:
 *   - COPY jobs: a data member's compressed bytes (a row-aligned zstd frame) plus its
 *     COPY statement; the worker decompresses and streams it.  pv_pool_copy() blocks while
 *     N jobs are queued or running, so memory stays bounded by about N + 1 members.
 *   - a dependency graph of SQL items (post-data): an item runs once the items it depends
 *     on are done and no running item locks one of its tables.  Items ready together go
 *     to a worker several at a time, in one transaction and one round trip (a job that
 *     fails runs again item by item, so the failure names its item).
 * The first failure stops the pool; its message (with the item's label) is returned to the
 * caller's thread.
 */
#ifndef PV_PG_POOL_H
#define PV_PG_POOL_H

#include <stddef.h>

#include "pg/conn.h"
#include "util/buf.h"

typedef struct pv_pool pv_pool;

typedef struct pv_pool_item {
	char *sql;
	char *label;
	int *deps;    /* indexes of items that must be done first */
	int ndeps;
	int *locks;   /* table ids: items sharing one never run together, */
	int nlocks;
	int shared;   /* ... unless both are shared (CREATE INDEX: a share lock on the table) */
} pv_pool_item;

pv_pool *pv_pool_new(const pv_connopts *co, const char *dbname, const char *encoding,
                     const char *search_path, int n);
/* A buffer for the next member's compressed bytes: one a finished COPY job left (emptied),
 * or a new one (members of a few MB each in fresh memory were page faults and unmappings
 * on every one). */
void pv_pool_buffer(pv_pool *p, pv_buf *out);
/* Takes the bytes of *z (left empty).  freeze_table: the member holds all of that table's
 * rows, copied with FREEZE (pv_copy_in_begin), or NULL.  want_raw, want_rows: what the
 * member must decompress to and load (pv_copy_in; -1: not checked). */
int pv_pool_copy(pv_pool *p, const char *copy_sql, const char *label, pv_buf *z,
                 const char *freeze_table, int64_t want_raw, int64_t want_rows);
/* Waits until every queued COPY job is done; -1 if any failed. */
int pv_pool_wait(pv_pool *p);
/* Runs the items; -1 (with the failing item's message) on failure. */
int pv_pool_run(pv_pool *p, pv_pool_item *items, int n);
void pv_pool_free(pv_pool *p);

#endif
