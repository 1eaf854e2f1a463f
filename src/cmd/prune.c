/*
 * cmd/prune.c — `pgvault prune`: apply the retention policy (SPEC §5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "ops/prune.h"
#include "util/err.h"
#include "util/log.h"

enum { OPT_LOCK_TIMEOUT = OPT_CMD_BASE, OPT_REMOTE };

static const pv_opt options[] = {
	PV_OPT('n', "dry-run", 'n', NULL,
	       "print every bundle with keep/delete and the rule that decided, delete nothing"),
	PV_OPT('d', "db", 'd', "NAME", "only this database"),
	PV_OPT(0, "remote", OPT_REMOTE, NULL, "the bundles of the [s3] storage instead, with the same policy"),
	PV_OPT_CFG(0, "lock-timeout", OPT_LOCK_TIMEOUT, "DUR",
	           "wait this long for running backups (default: [backup] lock_timeout, else 0), then "
	           "exit 4", "backup", "lock_timeout"),
	PV_OPT_INCLUDE(pv_keys_retention),
	PV_OPT_INCLUDE(pv_keys_s3),
	PV_OPT_END,
};

const pv_command pv_cmd_prune = {
	.name = "prune",
	.summary = "apply the retention policy",
	.usage = "pgvault prune [OPTIONS]",
	.description =
	    "Apply the retention policy of the configuration ([retention], [db:NAME]) to the\n"
	    "bundles in the storage directory, per database, ordered by the snapshot time recorded\n"
	    "in their manifests.  The newest verified bundle of a database is never deleted (nor its\n"
	    "newest untagged one), nor are fewer than keep_min verified ones kept (untagged counted\n"
	    "first, so tagged snapshots never push out nightly ones); unverified bundles are neither\n"
	    "counted nor deleted.  Leftover temporary files of crashed runs are removed.\n",
	.opts = options,
	.exit_status = "0 ok, 1 failure, 2 usage or configuration error (e.g. an empty policy),\n4 locked.",
	.run = cmd_prune,
};

typedef struct pruning {
	const char *db;
	int dry, remote;
	long lock_timeout;
	int rc; /* the exit status */
} pruning;

/* The current server's storage (local, or with remote the S3 one); -1 to stop after a
 * failure (pr->rc) */
static int
prune_one(pv_global *g, void *arg)
{
	pruning *pr = arg;
	const char *db = pr->db;
	int rc = PV_EXIT_OK, dry = pr->dry;
	pv_repo *r = pv_open_repo(g, pr->remote);
	if (!r) {
		pr->rc = PV_EXIT_USAGE;
		return -1;
	}
	long lock_timeout = pr->lock_timeout;
	pv_lock *l = dry ? NULL : pv_repo_lock(r, NULL, 1, lock_timeout);
	int deleted = 0;
	if (!dry && !l) {
		pv_error("%s", pv_errmsg());
		rc = pv_errcode();
	} else if (pv_prune(g->cfg, r, db, dry, dry || pv_log_level() > PV_LOG_QUIET ? stdout : NULL,
	                    &deleted) < 0) {
		pv_error("%s", pv_errmsg());
		rc = pv_errcode();
	} else {
		pv_info("%s %d bundle(s) in %s", dry ? "would delete" : "deleted", deleted, pv_repo_describe(r));
	}
	pv_lock_release(l);
	pv_repo_free(r);
	pr->rc = rc;
	return rc == PV_EXIT_OK ? 0 : -1;
}

int
cmd_prune(pv_global *g, int argc, char **argv)
{
	int dry = 0, remote = 0, opt;
	long lock_timeout = -1;
	const char *db = NULL;
	pv_parser p;
	pv_opts_init(&p, &pv_cmd_prune, 0);
	while ((opt = pv_next_option(&p, g, argc, argv)) >= 0) {
		if (opt == 'n')
			dry = 1;
		else if (opt == 'd')
			db = optarg;
		else if (opt == OPT_REMOTE)
			remote = 1;
		else if (opt == OPT_LOCK_TIMEOUT) {
			if ((lock_timeout = pv_parse_duration(optarg)) < 0)
				return pv_usage_error("prune", "--lock-timeout: expected a duration such as 30s");
		}
	}
	if (opt != -1)
		return opt == PV_OPTS_HELP ? PV_EXIT_OK : PV_EXIT_USAGE;
	if (optind < argc)
		return pv_usage_error("prune", "unexpected argument \"%s\"", argv[optind]);
	int rc = pv_setup(g);
	if (rc != PV_EXIT_OK)
		return rc;
	if (lock_timeout < 0)
		pv_config_seconds(g->cfg, NULL, "backup", "lock_timeout", 0, &lock_timeout);
	/* with several servers, each one's storage, and what the storage itself holds */
	pruning pr = {db, dry, remote, lock_timeout, PV_EXIT_OK};
	if (pv_each_storage(g, prune_one, &pr) < 0 && pr.rc == PV_EXIT_OK)
		pr.rc = PV_EXIT_USAGE;
	return pr.rc;
}
