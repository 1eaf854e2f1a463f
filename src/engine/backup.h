/*
 * engine/backup.h — the backup engine: one database into one bundle of a repository.  It
 * composes the layers: pg (session, snapshot, catalog, COPY) → the sorted schema → bundle
 * (pre-data/post-data members, zstd data members, manifest) → store (a repository's new
 * bundle, read back and verified before it is committed).
 *
 * Schema entries (pre-data.json, post-data.json) are JSON arrays in restore order:
 *   {"id", "kind", "schema", "name", "sql", "owner", "owner_target", "acl_target",
 *    "acl": [{"revoke", "privs", "columns", "grantee", "grantor", "grant_option"}],
 *    "comments", "late", "deps", "locks" (post-data: the tables it locks), "share_lock" (true:
 *    only a share lock on them, as CREATE INDEX: such entries of one table may run together)}
 * data.json entries are {"id", "kind": "table data", "table", "columns", "column_list",
 * "member_prefix"} or {"id", "kind": "sequence value", "sql"} or {"id", "kind": "large
 * object", "name", "oid", "size", "blob_prefix", "owner", "owner_target", "comments",
 * "acl_target", "acl"} (see engine/blobs.h).
 */
#ifndef PV_ENGINE_BACKUP_H
#define PV_ENGINE_BACKUP_H

#include "pg/conn.h"
#include "store/repo.h"

/* Where a backup reads (the caller sets the connection's target_session_attrs to match). */
enum { PV_SOURCE_ANY, PV_SOURCE_PRIMARY, PV_SOURCE_STANDBY, PV_SOURCE_PREFER_STANDBY };

typedef struct pv_dump_opts {
	const char *tag;
	int allow_unsupported;
	int jobs;           /* sessions reading the tables (engine/copyout.h); 0 or 1: one */
	int compress_level; /* zstd level of the data members; 0: the bundle writer's default */
	pv_repo *copy_to;   /* also write to this repository while writing (committed first; best
	                     * effort: pv_out_tee) */
	const void *sign_key; /* sign the bundle (manifest.sig) with this key, when sign_key_len */
	size_t sign_key_len;
	int source;           /* PV_SOURCE_*: with PREFER_STANDBY, a standby too far behind is left
	                       * for the primary */
	long max_standby_lag; /* seconds; a standby further behind is not read; 0: no limit */
} pv_dump_opts;

/* On success *id (malloc'd) is the new bundle's id and *size its size in bytes; with
 * o->copy_to, *upload_error (malloc'd) is why the copy failed, or NULL when it is there: a
 * failed copy never fails the backup (the bundle is kept in repo, its sidecar marked).
 * The header records the source server (role, address, timeline, the snapshot's WAL
 * position, a standby's replay lag).  A failure that a new attempt may not meet (a recovery
 * conflict, a lost connection) has its pv_err_kind; nothing of it is left in repo. */
int pv_dump_database(const pv_connopts *co, pv_repo *repo, const char *db, const pv_dump_opts *o,
                     char **id, long long *size, char **upload_error);

#endif
