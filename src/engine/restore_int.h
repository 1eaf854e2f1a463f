/*
 * engine/restore_int.h — what the files of the restore engine share (see restore.h): the
 * state of one restore and the steps each file gives to the others.
 *   restore.c         the member stream (verification, manifest, dispatch by member), the
 *                     order of the final passes, and the cleanup after a failure
 *   restore_target.c  roles; the target database: creation and setup, temporary names and
 *                     those left by killed runs, the swap into place, dropping what a failed
 *                     restore made
 *   restore_schema.c  schema entries (pre-data, post-data, also over the worker pool with
 *                     the loads of the rows), the ACL and late passes, search_path-dependent
 *                     functions, large objects
 *   restore_rows.c    COPY of data members, their loads by table (--jobs), and the rows-only
 *                     mode (--table, --data-only)
 */
#ifndef PV_ENGINE_RESTORE_INT_H
#define PV_ENGINE_RESTORE_INT_H

#include <jansson.h>
#include <libpq-fe.h>

#include "bundle/bundle.h"
#include "engine/restore.h"
#include "pg/conn.h"
#include "pg/pool.h"
#include "util/buf.h"

typedef struct pvr_later pvr_later; /* restore_rows.c */

/* Tables whose rows amount to less are not loaded with COPY FREEZE: not worth the TRUNCATE
 * it needs (5,000 tables of 20 rows: the rows' phase took twice as long). */
#define PV_FREEZE_MIN ((int64_t)1 << 20)

/* The state of one restore. */
typedef struct loader {
	double mark;            /* pv_monotonic() at the end of the last phase, for --verbose */
	const pv_connopts *co;
	const pv_restore_opts *o;
	PGconn *maint;    /* maintenance database */
	PGconn *c;        /* the database being restored into */
	char *target;     /* the name the restored database ends up with */
	char *dbname;     /* the name it is built under (a temporary one with --replace) */
	int created;      /* we created dbname: drop it on failure */
	int rows_only;    /* --table / --data-only: into an existing database */
	int in_tx;        /* rows-only transaction open */
	json_t *header;
	json_t *roles;
	json_t *data_toc;
	json_t *single;   /* member prefixes of tables whose rows are one member (from the manifest
	                   * the verification read): loaded with COPY FREEZE; or NULL */
	json_t *selected; /* rows-only: member_prefix -> entry */
	json_t *by_prefix; /* member_prefix -> its entry of data_toc */
	json_t *expect;   /* member name -> its manifest entry (read before the restore: each
	                   * data member must load what its entry counts); or NULL */
	json_t *seen;     /* [{name, sha256}] as read */
	pv_buf acl_sql;   /* the ACL pass */
	pv_buf late_sql;  /* the late pass */
	pv_buf after_rows; /* rows-only: foreign keys re-added, triggers re-enabled */
	pv_pool *pool;    /* --jobs */
	pv_source *src;   /* the bundle */
	json_t *table_ids; /* with the pool: the tables of pre-data, key (pvr_table_key) -> id */
	pvr_later *later; /* the data members loaded by table with post-data, or NULL */
	json_t *lobs;     /* large objects being restored: blob_prefix -> state (engine/blobs.h) */
	int owner_super;  /* --owner names a superuser */
	int text;         /* PVJ_LATIN1: the JSON members' strings stand for SQL_ASCII bytes */
	int paths_set;    /* rows-only: pvr_function_search_paths() set, to be reset */
	json_t *new_roles; /* roles this restore created: dropped if it fails */
} loader;

static inline const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* restore.c */
/* The client encoding of the bundle's text. */
const char *pvr_text_encoding(loader *L);
/* --owner: every role that owned something becomes the new owner. */
const char *pvr_map_role(loader *L, const char *role);

/* restore_target.c */
/* The header is known: decide where the restore goes and check it can. */
int pvr_prepare_target(loader *L);
/* The roles the bundle needs exist (or are created); a non-superuser may own its objects. */
int pvr_check_roles(loader *L);
int pvr_check_ownership_rights(loader *L);
/* The new database (under L->dbname), set up and connected to (L->c). */
int pvr_create_database(loader *L);
/* The new database takes its real name (the replaced one kept as *kept_as, or dropped). */
int pvr_swap_in(loader *L, char **kept_as);
/* After a failure (on L->maint): drop the partly restored database and the roles made. */
void pvr_drop_failed(loader *L);

/* restore_schema.c */
/* Replay pre-data or post-data entries (section names which). */
int pvr_run_entries(loader *L, json_t *entries, const char *section);
/* Give (set 1) or take back (set 0) the restore search_path of search_path-dependent
 * functions. */
int pvr_function_search_paths(loader *L, int set);
/* The rows L->later still holds, loaded (when no post-data.json came to load them with). */
int pvr_run_later(loader *L);
/* Create the large objects of data.json, empty, before their blob members. */
int pvr_start_large_objects(loader *L);
/* After the last member of a new database: the ACL pass, the large objects' owners,
 * comments and privileges, the late pass, and the functions' search_path taken back. */
int pvr_final_passes(loader *L);

/* restore_rows.c */
/* COPY the rows of data member `name` (the current member of r), hand them to the pool, or
 * (L->later) note where they are. */
int pvr_load_member(loader *L, pv_bundle_reader *r, const char *name);
/* The key of a table in L->table_ids: its schema and name, unambiguously (allocated). */
char *pvr_table_key(const char *schema, const char *name);
/* At data.json: whether the rows load later, by table, with post-data: with the pool, a
 * source that reads at offsets and the verified manifest, each table's members are loaded
 * by one worker reading them from the source (in one transaction with COPY FREEZE), and
 * each post-data entry starts once the tables it locks are loaded. */
void pvr_later_begin(loader *L);
/* The loads as pool items, biggest first; table_of[i]: the pre-data id of the table item i
 * loads, or -1 when rows may land in other tables too (loaded through a partition root)
 * or the table is not known; big[i]: the load is of PV_FREEZE_MIN bytes or more, or a part
 * of a split table.  The arrays are the caller's; what the items point to is freed by
 * pvr_later_free. */
int pvr_later_items(loader *L, pv_pool_item **items, int **table_of, int **big, int *n);
void pvr_later_free(pvr_later *lt);
/* Rows only: choose, check and empty the tables, in the transaction committed at the end. */
int pvr_start_rows_only(loader *L);
/* Rows only, after the last member: foreign keys and triggers back, matviews refreshed,
 * search_paths reset, and the commit. */
int pvr_finish_rows_only(loader *L);

#endif
