/*
 * pg/lob.h — large objects on the libpq side: reading their metadata into the object graph
 * (one K_LARGE_OBJECT per large object, in the data section, with owner, comment and ACL;
 * the catalog reader pvc_read_large_objects is declared in catalog_int.h), creating them
 * with their own oids, and moving their contents in bounded pieces through the libpq large
 * object API (lo_open/lo_read/lo_write) inside a transaction.  Contents never sit in memory
 * whole: each piece goes to or comes from the caller through a plain callback, so this
 * layer knows nothing of where the bytes are kept (engine/blobs.h puts them into and takes
 * them from the bundle's blob members).
 */
#ifndef PV_PG_LOB_H
#define PV_PG_LOB_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/graph.h"

/* Receives the next `len` bytes of a large object's contents; 0, or -1 with the error set. */
typedef int (*pv_lob_put_fn)(void *arg, const char *data, size_t len);

/* Produces contents for a large object: calls put(put_arg, ...) for every piece, in order,
 * and sets *bytes to how many it gave; 0, or -1 with the error set. */
typedef int (*pv_lob_fill_fn)(void *arg, pv_lob_put_fn put, void *put_arg, int64_t *bytes);

/* Read the contents of large object oid on c (in the caller's transaction, e.g. the dump's
 * snapshot) and hand them to put in pieces of a bounded size; fails unless exactly `size`
 * bytes (what the catalog said) come.  *bytes (when not NULL) gets how many there were. */
int pv_lob_read(PGconn *c, pv_oid oid, int64_t size, pv_lob_put_fn put, void *arg,
                int64_t *bytes);

/* Create the n large objects of oids, empty and each with its own oid, on c, in one
 * statement. */
int pv_lob_create(PGconn *c, const pv_oid *oids, size_t n);

/* Write what fill produces into large object oid from byte `offset` on, in its own
 * transaction on c (rolled back on failure); *bytes gets how many were written. */
int pv_lob_write(PGconn *c, pv_oid oid, int64_t offset, pv_lob_fill_fn fill, void *arg,
                 int64_t *bytes);

#endif
