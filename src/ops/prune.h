/*
 * ops/prune.h — applying retention to a store: bundles listed from their sidecars, the
 * policy of each database ([retention] with its [db:NAME] overrides) decided by
 * ops/retention, then the expired bundles deleted (bundle first, then its sidecar), and
 * leftovers of crashed runs removed.  --dry-run goes through exactly the same decisions and
 * prints the same lines without deleting.
 */
#ifndef PV_OPS_PRUNE_H
#define PV_OPS_PRUNE_H

#include <stdio.h>

#include "ops/config.h"
#include "store/repo.h"

/* Prints one line per bundle to out: "keep|delete ID REASON" (prefixed "would " in a dry
 * run).  db NULL: every database.  Deleted bundles go through the repository (bundle first,
 * then its sidecar); afterwards what crashed runs left is removed.  Returns 0, or -1 with
 * pv_fail (PV_EXIT_USAGE for an empty policy); *deleted counts the bundles deleted (or that
 * would be). */
int pv_prune(const pv_config *cfg, pv_repo *repo, const char *db, int dry_run, FILE *out, int *deleted);

#endif
