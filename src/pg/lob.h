/*
 * pg/lob.h — large objects: reading their metadata into the object graph (one
 * K_LARGE_OBJECT per large object, in the data section, with owner, comment and ACL),
 * streaming their contents into blob members of the bundle, and creating and filling
 * them on restore.  Contents never sit in memory whole: they move in bounded pieces
 * through the libpq large object API (lo_open/lo_read/lo_write) inside a transaction.
 *
 * A data.json entry of a large object is the schema entry shape (owner, owner_target,
 * comments, acl_target, acl; see engine/backup.h) plus {"oid", "size", "blob_prefix":
 * "blobs/OID"}; its contents are the members blobs/OID.1.bin.zst, blobs/OID.2.bin.zst, ...
 * (none when it is empty).
 */
#ifndef PV_PG_LOB_H
#define PV_PG_LOB_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "bundle/bundle.h"

struct reader;

/* Catalog reader (called by pv_catalog_read): every row of pg_largeobject_metadata, whatever
 * its oid, becomes a K_LARGE_OBJECT with its size read in the dump snapshot. */
int pvc_read_large_objects(struct reader *rd);

/* Dump: the contents of the large object of data.json entry `entry` (read in the dump's
 * snapshot transaction on c) into blob members; *bytes gets their size. */
int pv_lob_dump(PGconn *c, pv_bundle_writer *w, json_t *entry, int64_t *bytes);

/* Restore: create every large object of data.json (empty, with its oid) on c, in one
 * statement; *index gets a new object blob_prefix -> state for pv_lob_load_member (NULL
 * when there is none).  *count gets how many there are. */
int pv_lob_create_all(PGconn *c, json_t *data_toc, json_t **index, size_t *count);
/* Whether data.json entry e is a large object. */
int pv_lob_is_entry(json_t *e);
/* Restore: write the contents of blob member `name` (current member of r) into its large
 * object, in its own transaction on c. */
int pv_lob_load_member(PGconn *c, pv_bundle_reader *r, json_t *index, const char *name);
/* Restore: every large object got all its bytes (after the last blob member). */
int pv_lob_check_loaded(json_t *index);

#endif
