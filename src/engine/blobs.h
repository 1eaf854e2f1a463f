/*
 * engine/blobs.h — large objects as members of a bundle: the dump of their contents into
 * blob members, and on restore their creation, their filling from blob members and the
 * check that each got all its bytes.  The libpq side (lo_read/lo_write in bounded pieces,
 * lo_create) is pg/lob.h; the catalog reader that finds them is pg/lob.c.
 *
 * A data.json entry of a large object is the schema entry shape (owner, owner_target,
 * comments, acl_target, acl; see engine/backup.h) plus {"oid", "size", "blob_prefix":
 * "blobs/OID"}; its contents are the members blobs/OID.1.bin.zst, blobs/OID.2.bin.zst, ...
 * (none when it is empty).
 */
#ifndef PV_ENGINE_BLOBS_H
#define PV_ENGINE_BLOBS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle/bundle.h"

/* Dump: the contents of the large object of data.json entry `entry` (read in the dump's
 * snapshot transaction on c) into blob members; *bytes gets their size. */
int pv_blob_dump(PGconn *c, pv_bundle_writer *w, json_t *entry, int64_t *bytes);

/* Restore: create every large object of data.json (empty, with its oid) on c, in one
 * statement; *index gets a new object blob_prefix -> state for pv_blob_load_member (NULL
 * when there is none).  *count gets how many there are. */
int pv_blob_create_all(PGconn *c, json_t *data_toc, json_t **index, size_t *count);
/* Whether data.json entry e is a large object. */
int pv_blob_is_entry(json_t *e);
/* Restore: write the contents of blob member `name` (current member of r) into its large
 * object, in its own transaction on c. */
int pv_blob_load_member(PGconn *c, pv_bundle_reader *r, json_t *index, const char *name);
/* Restore: every large object got all its bytes (after the last blob member). */
int pv_blob_check_loaded(json_t *index);

#endif
