/*
 * pg/load.h — restoring a bundle into a new database: roles checked, database created
 * from template0 with the bundle's encoding and locale, pre-data replayed, rows loaded
 * with COPY FROM STDIN straight from the decompressed members, post-data replayed, then
 * the ACL pass and the late pass (matview refreshes).  Every member's checksum is checked
 * against the manifest as it streams by; on any failure the new database is dropped.
 */
#ifndef PV_PG_LOAD_H
#define PV_PG_LOAD_H

#include "bundle/bundle.h"
#include "pg/conn.h"

typedef struct pv_restore_opts {
	const char *as; /* target database name; NULL: the bundle's */
} pv_restore_opts;

/* label names the bundle in messages; *dbname (malloc'd) gets the database restored. */
int pv_restore_bundle(const pv_connopts *co, pv_source *src, const char *label,
                      const pv_restore_opts *o, char **dbname);

#endif
