/*
 * store/repo.h — the repository interface: where bundles live.  One interface, one driver
 * per backend (store/local.c: a directory; store/s3repo.c: S3-compatible object storage),
 * and the naming of bundles in one place.  Commands and engines hold a pv_repo and never ask
 * which kind it is; "local + S3" is the composition of two repositories (pv_out_tee, or a
 * copy from one to the other as `upload` does).
 *
 * Naming (every driver): the bundle of database DB taken at STAMP is
 *     <fs(DB)>/<id>.pgv            id = <fs(DB)>_<STAMP>[-N][_<tag>]
 *     <fs(DB)>/<id>.manifest.json  its sidecar: the verified manifest plus verified_at
 * relative to the directory or the key prefix (fs(): util/names.h).  A bundle is listed only
 * once both exist; a bundle is committed before its sidecar and deleted before it.
 */
#ifndef PV_STORE_REPO_H
#define PV_STORE_REPO_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "bundle/bundle.h"
#include "util/lock.h"

#define PV_BUNDLE_SUFFIX ".pgv"
#define PV_SIDECAR_SUFFIX ".manifest.json"
#define PV_SIDECAR_MAX ((size_t)16 << 20) /* a sidecar larger than this is not read */
/* a sidecar's key: the bundle is kept here only, its upload having failed (pv_out_tee) */
#define PV_SIDECAR_UPLOAD_FAILED "upload_failed"
/* sidecar keys of `verify --restore`: the last test restore that passed ({"at", "seconds",
 * "tables", "rows"}), and the last one that failed ({"at", "error"}) */
#define PV_SIDECAR_RESTORE_TESTED "restore_tested"
#define PV_SIDECAR_RESTORE_FAILED "restore_test_failed"
/* a sidecar's key: `verify` found the bundle damaged ({"at", "error"}; "verified" is then
 * false: no DB@latest, no newest verified for prune, status red) */
#define PV_SIDECAR_VERIFY_FAILED "verify_failed"

/* A bundle as its repository lists it: its sidecar's fields, typed. */
typedef struct pv_entry {
	char *id;
	char *name;          /* <fs(db)>/<id>: its place in the repository */
	char *database;      /* never NULL ("" when the sidecar lacks it) */
	char *tag;           /* NULL: untagged */
	char *snapshot_time; /* ISO 8601 as recorded; NULL if absent */
	time_t snapshot;
	int verified;
	int failed;        /* a later verify found it damaged (PV_SIDECAR_VERIFY_FAILED) */
	char *verified_at; /* NULL if absent */
	int64_t size;      /* bytes of the bundle */
	int64_t raw_size;  /* what its members hold, uncompressed */
	int64_t tables, rows; /* -1: not recorded */
	char *where;          /* for people: a path, s3://bucket/key */
	const char *location; /* the repository's kind: "local", "s3" */
	json_t *sidecar;      /* as stored */
} pv_entry;

typedef struct pv_entries {
	pv_entry *v;
	size_t n, cap;
} pv_entries;

void pv_entries_free(pv_entries *l);
/* The bundle named by id, DB@latest or DB@TIMESTAMP (the newest verified at or before it);
 * borrowed, or NULL with pv_fail naming where (PV_EXIT_USAGE for a malformed time). */
const pv_entry *pv_entries_pick(const pv_entries *l, const char *arg, const char *where);

typedef struct pv_repo pv_repo;
typedef struct pv_repo_out pv_repo_out;
typedef struct pv_repo_reader pv_repo_reader;

/* The directory driver.  Directories 0700, files 0600; temporary names ".<name>.tmp.PID". */
pv_repo *pv_repo_local(const char *dir);
/* The S3 driver over a client (owned: freed with the repository).  workdir is the local
 * storage directory: downloads, the repository's lock files, and the markers of uploads in
 * progress (so a cleanup never aborts a live upload) live there. */
struct pv_s3;
pv_repo *pv_repo_s3(struct pv_s3 *s3, const char *workdir);
void pv_repo_free(pv_repo *r);
const char *pv_repo_kind(const pv_repo *r);     /* "local", "s3" */
const char *pv_repo_describe(const pv_repo *r); /* the directory, s3://bucket/prefix */

/* Every listed bundle of db (all databases if NULL), sorted by database, snapshot, id.  A
 * missing repository is empty.  0, or -1 with pv_fail. */
int pv_repo_list(pv_repo *r, const char *db, pv_entries *out);

/* The lock of a database (db) or of the whole repository (db NULL): backups take the
 * repository's shared, prune takes it alone; reads open their bundle under it shared.
 * Waits up to timeout seconds.  NULL with pv_fail_code(PV_EXIT_LOCK). */
pv_lock *pv_repo_lock(pv_repo *r, const char *db, int exclusive, long timeout);

/* Remove what runs that are no longer alive left (temporary files, downloads, orphan
 * sidecars, incomplete uploads) for db (all if NULL); the number removed. */
int pv_repo_cleanup(pv_repo *r, const char *db);

/* Delete a bundle (the bundle, then its sidecar).  A bundle already gone is deleted. */
int pv_repo_remove(pv_repo *r, const pv_entry *e);

/* Is bundle `name` there: 1 with its size and whether its sidecar is, 0 not, -1 error. */
int pv_repo_stat(pv_repo *r, const char *name, int64_t *size, int *has_sidecar);

/* Write (or replace) the sidecar of bundle `name`. */
int pv_repo_put_sidecar(pv_repo *r, const char *name, json_t *sidecar);
/* Record the result of a verification of e in its sidecar: verified and verified_at (now),
 * or, when error is not NULL, verified false and PV_SIDECAR_VERIFY_FAILED {"at", "error"};
 * and the keys of more (borrowed; NULL: none) set, those whose value is JSON null removed. */
int pv_repo_record_verify(pv_repo *r, const pv_entry *e, const char *error, json_t *more);

/* Reading: a descriptor on the bundle at offset 0 (an S3 bundle is downloaded to a temporary
 * file in the local storage first, resuming after a dropped connection, and removed on close). */
pv_repo_reader *pv_repo_open(pv_repo *r, const pv_entry *e);
/* A bundle file named by its path, outside any repository. */
pv_repo_reader *pv_repo_open_file(const char *path);
int pv_reader_fd(pv_repo_reader *rd);
const char *pv_reader_where(pv_repo_reader *rd);
void pv_reader_close(pv_repo_reader *rd);

/* Writing: a new bundle of db under an unused id (pv_repo_create) or a given name.  Bytes go
 * to the sink; finish() ends the stream (and gives a descriptor to read it back when the
 * repository can: -1 otherwise); commit() makes bundle and sidecar visible, atomically as
 * far as the backend allows; free() of an uncommitted bundle removes every trace. */
pv_repo_out *pv_repo_create(pv_repo *r, const char *db, time_t when, const char *tag);
pv_repo_out *pv_repo_create_named(pv_repo *r, const char *name);
/* Both at once: bytes to both, read back from primary, the copy committed first, freed
 * together; takes ownership of both.  The copy is best effort: a copy that fails (or could
 * not be created: copy NULL, copy_error why) is dropped, leaving nothing, while the primary
 * goes on; the primary's sidecar then records why under PV_SIDECAR_UPLOAD_FAILED ({"at",
 * "error"}), and pv_out_copy_error() tells (NULL: the copy is committed, or no tee). */
pv_repo_out *pv_out_tee(pv_repo_out *primary, pv_repo_out *copy, const char *copy_error);
const char *pv_out_copy_error(const pv_repo_out *o);
const char *pv_out_id(const pv_repo_out *o);
const char *pv_out_name(const pv_repo_out *o);
const char *pv_out_where(const pv_repo_out *o);
pv_sink *pv_out_sink(pv_repo_out *o);
int64_t pv_out_bytes(const pv_repo_out *o); /* written so far */
int pv_out_finish(pv_repo_out *o, int *fd_read);
int pv_out_commit(pv_repo_out *o, json_t *sidecar);
void pv_out_free(pv_repo_out *o);

/* Async-signal-safe: removes the local temporary bundle being written, if any. */
void pv_repo_signal_cleanup(void);

#endif
