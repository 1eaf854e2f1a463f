/*
 * engine/leftovers.h — the databases restores leave on a server on purpose or by accident:
 * the copies `restore --replace` keeps (NAME_pre_restore_STAMP[-N]) and the scratch
 * databases of test restores that were killed (pgvault_test_PID_TIME); listed with their
 * sizes, and dropped on request.
 */
#ifndef PV_ENGINE_LEFTOVERS_H
#define PV_ENGINE_LEFTOVERS_H

#include <jansson.h>

#include "pg/conn.h"

/* [{"database", "kind": "pre-restore copy" | "test restore", "of" (the database it replaced,
 * or null), "size" (bytes, or null when this role may not connect to it), "sessions"}], sorted
 * by name; db (not NULL): only the copies of that database.  NULL with the error set. */
json_t *pv_leftovers_list(const pv_connopts *co, const char *db);
/* Drop one of them (refused while sessions are connected to it); 0, or -1 with the error. */
int pv_leftovers_drop(const pv_connopts *co, const char *name);

#endif
