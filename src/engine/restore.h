/*
 * engine/restore.h — restoring a bundle.
 *
 * Into a new database (the default, and --replace): roles checked (or created, or mapped
 * to --owner), database created from template0 with the bundle's encoding and locale,
 * pre-data replayed, rows loaded with COPY FROM STDIN straight from the decompressed
 * members, post-data replayed, then the ACL pass and the late pass (matview refreshes).
 * With --replace the new database is built under a temporary name and swapped in only
 * when complete; the old one is kept as NAME_pre_restore_STAMP (or dropped).
 *
 * Large objects (engine/blobs.h) are created with their oids once data.json is read, filled
 * from their blob members on the main connection (also with --jobs), and get their owners,
 * comments and privileges after the ACL pass; --schema-only and the rows-only modes skip
 * them.
 *
 * Rows only (--table, --data-only): into an existing database, all selected tables
 * truncated and reloaded in one transaction, user triggers held off meanwhile, refused
 * when tables outside the selection reference them.
 *
 * Every member's checksum is checked against the manifest as it streams by; on any
 * failure nothing is left behind (the new database is dropped, the transaction of a
 * rows-only restore is rolled back, the database being replaced is untouched).
 */
#ifndef PV_ENGINE_RESTORE_H
#define PV_ENGINE_RESTORE_H

#include "bundle/bundle.h"
#include <jansson.h>

#include "pg/conn.h"

typedef struct pv_restore_opts {
	const char *as;            /* target database name; NULL: the bundle's */
	const char *owner;         /* every object and the database owned by this role */
	int create_role;           /* create `owner` (LOGIN) when missing */
	const char *role_password; /* its password (from the environment or a file) */
	int create_missing_roles;  /* create other missing roles NOLOGIN */
	int replace, drop_old, terminate;
	int force;                 /* --replace of a database other than the bundle's */
	const char *const *tables; /* rows of these tables only, into an existing database */
	int ntables;
	int schema_only, data_only;
	int jobs;                  /* >1: rows and post-data items in parallel */
	json_t **toc_out;          /* not NULL: gets the bundle's data.json (a reference) */
} pv_restore_opts;

/* label names the bundle in messages; *dbname (malloc'd) gets the database restored,
 * *kept_as (malloc'd or NULL) the name the replaced database was kept under. */
int pv_restore_bundle(const pv_connopts *co, pv_source *src, const char *label,
                      const pv_restore_opts *o, char **dbname, char **kept_as);

/* A test restore (engine/restore_test.c): the bundle restored into a new scratch database
 * of the server, checked against the manifest (every table of data.json is there, holding
 * as many rows as its members count), and the scratch database dropped, whatever happened.
 * *report (new) gets {"at", "seconds", "tables", "rows"} on success; -1 with the error set
 * (the restore's, or the first table that differs). */
int pv_restore_test(const pv_connopts *co, pv_source *src, const char *label, json_t *manifest,
                    int jobs, json_t **report);

#endif
