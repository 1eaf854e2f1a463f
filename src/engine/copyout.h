/*
 * engine/copyout.h — the rows of one database's tables into its bundle, in one snapshot.
 *
 * With one job, each table in turn on the catalog's session, as one stream of members.
 * With N jobs, N sessions read in the catalog session's snapshot (exported; the catalog's
 * own session and N-1 more, each on its own thread with its own compressor) and take the
 * next piece of work, largest first.  A plain heap table that holds more than 2/(N+1) of
 * all the blocks (the one big table of a database) is cut into block ranges (`ctid` ranges,
 * read with a TID range scan), each copied as members of its own, so one big table is
 * read, compressed and later restored on every core; the members of a table share one
 * numbering, and each holds whole rows.  Other tables are read whole by one session each:
 * a TID range scan costs the server a fifth more CPU than COPY of the table (1 GB
 * benchmark: 6.1 s against 3.9 s for pg_dump's whole-table COPYs with two ranged
 * sessions), and a table read whole is stored, and so restored, in its heap's order.  A worker session locks each table it
 * reads with NOWAIT, as pg_dump's workers do: when another session waits for a conflicting
 * lock, the piece goes back to the catalog's session (which holds its lock already) instead
 * of waiting on a lock queue that waits on the backup.  Small whole tables go in batches:
 * one query of up to 64 COPY statements (and the worker's lock on them), one round trip.
 */
#ifndef PV_ENGINE_COPYOUT_H
#define PV_ENGINE_COPYOUT_H

#include <stdint.h>

#include "bundle/bundle.h"
#include "pg/conn.h"

typedef struct pv_copy_item {
	const char *table;   /* qualified, quoted name */
	const char *columns; /* quoted column list, "" for none */
	const char *query;   /* a row subset: the SELECT to copy (not split), or NULL */
	const char *prefix;  /* member prefix (data.json's member_prefix) */
	unsigned relid;
	int64_t rows;        /* out: rows copied */
	int seq;             /* members written so far (shared by the item's ranges) */
} pv_copy_item;

/* Copy the rows of n items into w.  c is the dump session (pv_dump_session) that read the
 * catalog and locked the tables; co and db open the other sessions when jobs > 1.  Sessions
 * the server refuses (max_connections) are done without, with a warning; a snapshot the
 * server cannot export fails the copy.  0, or -1 with the table (and range) in the
 * message. */
int pv_copy_rows(PGconn *c, const pv_connopts *co, const char *db, pv_bundle_writer *w,
                 pv_copy_item *items, int n, int jobs);

/* The block range size (in blocks) a table is cut into with this many jobs and this many
 * blocks of table data in all; PGVAULT_RANGE_BLOCKS overrides it (tests: then every table
 * of two ranges or more is cut, whatever its share). */
long long pv_copy_range_blocks(int jobs, long long total_blocks);

#endif
