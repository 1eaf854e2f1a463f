/*
 * ops/hooks.h — [hooks]: the operator's commands around backups.
 *
 *   pre_backup   before each database's backup; a non-zero exit fails that database's
 *                backup (nothing is read from it)
 *   post_backup  after each database's successful backup; a failure is a warning
 *   on_failure   once at the end of a run that did not fully succeed
 *
 * Each runs as /bin/sh -c COMMAND, standard input /dev/null, its output pgvault's, in a
 * process group of its own killed after [hooks] timeout (default 5 min).  The environment:
 * PGVAULT_HOOK (its name), PGVAULT_DATABASE, PGVAULT_STORAGE; after a backup
 * PGVAULT_BUNDLE_ID, PGVAULT_BUNDLE_PATH, PGVAULT_BUNDLE_SIZE and PGVAULT_UPLOADED (yes, no,
 * or empty without --upload); on_failure PGVAULT_EXIT_CODE and PGVAULT_FAILED_DATABASES (one
 * per line).
 */
#ifndef PV_OPS_HOOKS_H
#define PV_OPS_HOOKS_H

#include "ops/config.h"

/* Run hook `name` ("pre_backup", ...) if configured, with vars ("NAME=value", NULL-ended)
 * added to the environment.  0 (done, or none configured), or -1 with the error set. */
int pv_hook_run(const pv_config *cfg, const char *name, const char *const *vars);

#endif
