/*
 * pg/pool.h — parallel restore workers: N connections to the database being restored,
 * each on its own thread.  Two kinds of work:
 *   - COPY jobs: a data member's compressed bytes (a row-aligned zstd frame) plus its
 *     COPY statement; the worker decompresses and streams it.  pv_pool_copy() blocks while
 *     N jobs are queued or running, so memory stays bounded by about N + 1 members.
 *   - a dependency graph of items (post-data, and the loads of tables before it): an item
 *     runs once the items it depends on are done and no running item locks one of its
 *     tables.  SQL items ready together go to a worker several at a time, in one
 *     transaction and one round trip (a job that fails runs again item by item, so the
 *     failure names its item); a callback item (a table's load) runs alone.
 * The first failure stops the pool; its message (with the item's label) is returned to the
 * caller's thread.
 */
#ifndef PV_PG_POOL_H
#define PV_PG_POOL_H

#include <stddef.h>

#include "pg/conn.h"
#include "util/buf.h"
#include "util/zstream.h"

typedef struct pv_pool pv_pool;

/* What a callback item runs with: its worker's session, and a decompressor and a buffer the
 * worker keeps from job to job. */
typedef struct pv_pool_env {
	PGconn *c;
	pv_zdec *z; /* NULL until pv_pool_copy_frame needs one */
	pv_buf buf;
} pv_pool_env;

typedef struct pv_pool_item {
	int (*run)(pv_pool_env *env, void *arg); /* a callback item (sql NULL), or NULL */
	void *arg;
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
/* For callback items: decompress the zstd frame z (len bytes) into the COPY FROM STDIN that
 * ci->c is in (pv_copy_put: ci's checks apply). */
int pv_pool_copy_frame(pv_pool_env *env, const void *z, size_t len, pv_copy_in *ci);
/* Waits until every queued COPY job is done; -1 if any failed. */
int pv_pool_wait(pv_pool *p);
/* Runs the items; -1 (with the failing item's message) on failure. */
int pv_pool_run(pv_pool *p, pv_pool_item *items, int n);
void pv_pool_free(pv_pool *p);

#endif
