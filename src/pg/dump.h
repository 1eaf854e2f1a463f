/*
 * pg/dump.h — backing up one database into one bundle: snapshot, catalog → sorted
 * entries → pre-data/post-data members, COPY of every table streamed into zstd data
 * members, manifest, then verification of the written file before it is committed.
 *
 * Schema entries (pre-data.json, post-data.json) are JSON arrays in restore order:
 *   {"id", "kind", "schema", "name", "sql", "owner", "owner_target", "acl_target",
 *    "acl": [{"revoke", "privs", "columns", "grantee", "grantor", "grant_option"}],
 *    "comments", "late"}
 * data.json entries are {"id", "kind": "table data", "table", "columns", "column_list",
 * "member_prefix"} or {"id", "kind": "sequence value", "sql"} or {"id", "kind": "large
 * object", "name", "oid", "size", "blob_prefix", "owner", "owner_target", "comments",
 * "acl_target", "acl"} (see pg/lob.h).
 */
#ifndef PV_PG_DUMP_H
#define PV_PG_DUMP_H

#include "pg/conn.h"
#include "store/store.h"

struct pv_s3;

typedef struct pv_dump_opts {
	const char *tag;
	int allow_unsupported;
	struct pv_s3 *s3;   /* also upload to S3 while writing (completed once verified) */
	const void *sign_key; /* sign the bundle (manifest.sig) with this key, when sign_key_len */
	size_t sign_key_len;
} pv_dump_opts;

/* On success *id (malloc'd) is the new bundle's id and *size its size in bytes. */
int pv_dump_database(const pv_connopts *co, pv_store *st, const char *db, const pv_dump_opts *o,
                     char **id, long long *size);

#endif
