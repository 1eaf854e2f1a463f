/*
 * store/store.h — where bundles live.  The local directory backend: DIR/<db>/<id>.pgv and
 * its sidecar DIR/<db>/<id>.manifest.json, written under temporary names (".<id>…tmp.PID"),
 * fsynced and renamed only after the bundle verified.  Directories are 0700, files 0600.
 * The S3 backend will implement the same operations.
 */
#ifndef PV_STORE_H
#define PV_STORE_H

#include <jansson.h>
#include <time.h>

#include "bundle/bundle.h"

typedef struct pv_store pv_store;
typedef struct pv_bundle_out pv_bundle_out;

pv_store *pv_store_local(const char *dir);
void pv_store_free(pv_store *s);
const char *pv_store_dir(pv_store *s);

/* Start a bundle for database db: creates the directories, removes temporary files left
 * by crashed runs, opens a new temporary file.  The id is <db>_<stamp>[_<tag>], with a
 * "-N" suffix when a bundle of that name exists. */
pv_bundle_out *pv_store_create(pv_store *s, const char *db, time_t when, const char *tag);
const char *pv_out_id(pv_bundle_out *o);
const char *pv_out_path(pv_bundle_out *o);      /* final path */
pv_sink *pv_out_sink(pv_bundle_out *o);
/* fsync and close the temporary file, then open it again for reading (verification). */
int pv_out_finish_writing(pv_bundle_out *o, int *fd_read);
/* Rename into place with its sidecar (written first under a temporary name). */
int pv_out_commit(pv_bundle_out *o, json_t *sidecar);
/* Frees; a bundle that was not committed is removed. */
void pv_out_free(pv_bundle_out *o);

/* The lock file of a database (db) or of the whole storage location (db NULL); creates the
 * directories it lives in.  NULL with pv_fail on error. */
char *pv_store_lock_path(pv_store *s, const char *db);

/* Async-signal-safe: removes the temporary bundle being written, if any. */
void pv_store_signal_cleanup(void);

/* Remove temporary files of runs that are no longer alive (downloads too), and sidecars
 * whose bundle is gone (all databases if db is NULL); returns how many were removed.  Safe
 * beside running pgvaults: a temporary file is a live process's while its pid lives, and a
 * commit renames the bundle before its sidecar. */
int pv_store_cleanup(pv_store *s, const char *db);

/* Sidecar manifests (with "id", "path", "sidecar" added), sorted by database then time;
 * db NULL for all.  NULL with pv_fail on error; a missing directory is an empty list. */
json_t *pv_store_list(pv_store *s, const char *db);

/* From a list of sidecars (as pv_store_list gives), the one named by id, DB@latest or
 * DB@TIMESTAMP (newest verified at or before); borrowed, or NULL with pv_fail. */
json_t *pv_pick_bundle(json_t *list, const char *arg, const char *where);

/* A bundle named by path, id, DB@latest or DB@TIMESTAMP: its path (malloc'd) and sidecar
 * (NULL for a path outside the store). */
int pv_store_resolve(pv_store *s, const char *arg, char **path, json_t **sidecar);

#endif
