/*
 * store/repo_int.h — what a storage driver implements (store/repo.h is what everyone else
 * sees).  A driver's repository struct starts with a pv_repo, its bundle streams with a
 * pv_repo_out; store/repo.c holds what all drivers share: entries, picking, unused ids,
 * byte counting, the tee.
 */
#ifndef PV_STORE_REPO_INT_H
#define PV_STORE_REPO_INT_H

#include "store/repo.h"

typedef struct pv_repo_driver {
	const char *kind;
	const char *noun; /* in messages: "the storage location", "the S3 storage" */
	int (*list)(pv_repo *r, const char *db, pv_entries *out);
	/* the lock file of db (NULL: the repository's), its directory created */
	char *(*lock_path)(pv_repo *r, const char *db);
	int (*cleanup)(pv_repo *r, const char *db);
	int (*remove)(pv_repo *r, const pv_entry *e);
	int (*stat)(pv_repo *r, const char *name, int64_t *size, int *has_sidecar);
	int (*put_sidecar)(pv_repo *r, const char *name, json_t *sidecar);
	/* a descriptor at offset 0, and the temporary file to remove on close (or NULL) */
	int (*open)(pv_repo *r, const pv_entry *e, int *fd, char **tmp);
	pv_repo_out *(*create)(pv_repo *r, const char *name);
	void (*free)(pv_repo *r);
} pv_repo_driver;

struct pv_repo {
	const pv_repo_driver *drv;
	char *describe;
};

typedef struct pv_out_ops {
	/* raw bytes, counted by repo.c before they arrive */
	int (*write)(pv_repo_out *o, const void *data, size_t len);
	int (*finish)(pv_repo_out *o, int *fd_read);
	int (*commit)(pv_repo_out *o, json_t *sidecar);
	void (*free)(pv_repo_out *o); /* removes an uncommitted bundle; frees the driver's part */
} pv_out_ops;

struct pv_repo_out {
	const pv_out_ops *ops;
	char *id, *name, *where;
	int64_t bytes;
	pv_sink sink; /* counts, then ops->write */
};

/* For drivers: fill the common part of a new stream (name = <fs(db)>/<id>). */
void pv_out_init(pv_repo_out *o, const pv_out_ops *ops, const char *name, char *where);
/* An entry from a sidecar's text or object (takes the reference); 0, or -1 if it is not a
 * usable sidecar (the caller warns and skips it). */
int pv_entry_from_sidecar(pv_entry *e, json_t *side, const char *name, int64_t size,
                          char *where, const char *location);
int pv_entries_add(pv_entries *l, pv_entry *e); /* moves *e in */
void pv_entries_sort(pv_entries *l);
/* "<fs(db)>/" for listing one database; "<name>.pgv" etc. (malloc'd) */
char *pv_name_dir(const char *db);
char *pv_name_file(const char *name, const char *suffix);
/* The id of "<dir>/<id>" */
const char *pv_name_id(const char *name);
/* The sidecar as a driver stores it: sorted keys, one-space indent, final newline. */
char *pv_sidecar_text(json_t *sidecar);

#endif
