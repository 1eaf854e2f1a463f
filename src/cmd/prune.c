/*
 * cmd/prune.c — `pgvault prune`: apply the retention policy (SPEC §5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "ops/lock.h"
#include "ops/prune.h"
#include "store/s3.h"
#include "util/err.h"
#include "util/log.h"

static const char usage[] =
    "Usage: pgvault prune [OPTIONS]\n"
    "\n"
    "Apply the retention policy of the configuration ([retention], [db:NAME]) to the\n"
    "bundles in the storage directory, per database, ordered by the snapshot time recorded\n"
    "in their manifests.  The newest verified bundle of a database is never deleted (nor its\n"
    "newest untagged one), nor are fewer than keep_min verified ones kept (untagged counted\n"
    "first, so tagged snapshots never push out nightly ones); unverified bundles are neither\n"
    "counted nor deleted.  Leftover temporary files of crashed runs are removed.\n"
    "\n"
    "  -n, --dry-run       print every bundle with keep/delete and the rule that decided,\n"
    "                      delete nothing\n"
    "  -d, --db NAME       only this database\n"
    "      --remote        the bundles of the [s3] storage instead, with the same policy\n"
    "      --lock-timeout DUR  wait this long for running backups (default: [backup]\n"
    "                      lock_timeout, else 0), then exit 4\n"
    "Exit status: 0 ok, 1 failure, 2 usage or configuration error (e.g. an empty policy),\n"
    "4 locked.\n";

enum { OPT_LOCK_TIMEOUT = OPT_CMD_BASE, OPT_REMOTE };

/* remote bundles: the bundle object first, then its sidecar */
static int
delete_remote(void *arg, json_t *e)
{
	pv_s3 *s3 = arg;
	const char *key = json_string_value(json_object_get(e, "key"));
	char *side = pv_asprintf("%.*s.manifest.json", (int)strlen(key) - 4, key);
	int rc = pv_s3_delete(s3, key) < 0 || pv_s3_delete(s3, side) < 0 ? -1 : 0;
	free(side);
	return rc;
}

int
cmd_prune(pv_global *g, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"dry-run", no_argument, NULL, 'n'},
	    {"db", required_argument, NULL, 'd'},
	    {"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
	    {"remote", no_argument, NULL, OPT_REMOTE},
	    PV_GLOBAL_LONGOPTS,
	    {NULL, 0, NULL, 0}};
	int dry = 0, remote = 0, opt;
	long lock_timeout = -1;
	const char *db = NULL;
	optind = 0; /* GNU getopt: full re-initialisation */
	while ((opt = getopt_long(argc, argv, "nd:" PV_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == 'n')
			dry = 1;
		else if (opt == 'd')
			db = optarg;
		else if (opt == OPT_REMOTE)
			remote = 1;
		else if (opt == OPT_LOCK_TIMEOUT) {
			if ((lock_timeout = pv_parse_duration(optarg)) < 0)
				return pv_usage_error("prune", "--lock-timeout: expected a duration such as 30s");
		} else if (opt == OPT_HELP) {
			fputs(usage, stdout);
			return 0;
		} else if (!pv_global_option(g, opt, optarg))
			return pv_usage_error("prune", "invalid option");
	}
	if (optind < argc)
		return pv_usage_error("prune", "unexpected argument \"%s\"", argv[optind]);
	int rc = pv_setup(g);
	if (rc != PV_EXIT_OK)
		return rc;
	if (lock_timeout < 0)
		pv_config_seconds(g->cfg, NULL, "backup", "lock_timeout", 0, &lock_timeout);
	pv_store *st = pv_open_store(g);
	char *lpath = dry ? NULL : pv_store_lock_path(st, NULL);
	pv_lock *l = lpath ? pv_lock_take(lpath, 1, lock_timeout, "the storage location") : NULL;
	free(lpath);
	int deleted = 0;
	pv_s3 *s3 = NULL;
	json_t *rlist = NULL;
	if (!dry && !l) {
		pv_error("%s", pv_errmsg());
		rc = pv_errcode();
	} else if (remote) {
		if (!(s3 = pv_open_s3(g)))
			rc = PV_EXIT_USAGE;
		else if (!(rlist = pv_remote_list(s3, db)) ||
		         pv_prune_list(g->cfg, rlist, db, dry, stdout, &deleted, delete_remote, s3) < 0) {
			pv_error("%s", pv_errmsg());
			rc = pv_errcode();
		} else {
			pv_info("%s %d remote bundle(s)", dry ? "would delete" : "deleted", deleted);
		}
	} else if (pv_prune(g->cfg, st, db, dry, stdout, &deleted) < 0) {
		pv_error("%s", pv_errmsg());
		rc = pv_errcode();
	} else {
		pv_info("%s %d bundle(s)", dry ? "would delete" : "deleted", deleted);
	}
	json_decref(rlist);
	pv_s3_free(s3);
	pv_lock_release(l);
	pv_store_free(st);
	return rc;
}
