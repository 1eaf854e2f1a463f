/*
 * cmd/config.c — `pgvault config check`: every problem of the configuration file and the
 * environment, as errors whichever command they would concern (the other commands stop
 * only for the keys they read), and whether the storage directory and the [s3] storage can
 * be used.  `schedule install` runs the same check before it installs anything.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "util/err.h"
#include "util/log.h"

static const pv_opt options[] = {
	PV_OPT_INCLUDE(pv_keys_s3),
	PV_OPT_END,
};

const pv_command pv_cmd_config = {
	.name = "config",
	.summary = "check the configuration",
	.usage = "pgvault config check",
	.description =
	    "Check the configuration file (and the PGVAULT_* environment): every unknown section\n"
	    "or key, malformed value (cron expressions, time zones, durations, URLs), key set\n"
	    "twice, and secret in a file others can read, whichever command it concerns; then\n"
	    "that the storage directory can be used and, when [s3] is configured, that it is\n"
	    "complete.  Other commands stop only for problems in the keys they read, and warn\n"
	    "about the others.\n",
	.opts = options,
	.exit_status = "0 ok, 1 the storage cannot be used, 2 configuration errors or usage error.",
	.run = cmd_config,
};

/* The storage directory exists and this user can write it, or it can be created; 0 or -1
 * (reported). */
static int
check_storage(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) < 0) {
		if (errno != ENOENT) {
			pv_error("storage %s: %s", dir, strerror(errno));
			return -1;
		}
		char *parent = pv_strdup(dir);
		char *slash = strrchr(parent, '/'); /* layering: not SQL */
		if (slash)
			*(slash == parent ? slash + 1 : slash) = '\0';
		int ok = access(slash ? parent : ".", W_OK) == 0;
		if (!ok)
			pv_error("storage %s does not exist, and %s is not writable by this user: create it "
			         "(mode 0700) for the user that runs pgvault", dir, slash ? parent : ".");
		else
			printf("storage %s: does not exist yet; the first backup creates it\n", dir);
		free(parent);
		return ok ? 0 : -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		pv_error("storage %s is not a directory", dir);
		return -1;
	}
	if (access(dir, W_OK | X_OK) < 0) {
		pv_error("storage %s is not writable by this user (uid %u; the directory belongs to uid %u): "
		         "chown -R it to the user that runs pgvault", dir, (unsigned)geteuid(),
		         (unsigned)st.st_uid);
		return -1;
	}
	if (st.st_mode & 077)
		pv_warn("storage %s can be read by other users (mode %03o): chmod 700 it", dir,
		        (unsigned)(st.st_mode & 0777));
	printf("storage %s: ok\n", dir);
	return 0;
}

int
cmd_config(pv_global *g, int argc, char **argv)
{
	pv_parser p;
	int opt;
	pv_opts_init(&p, &pv_cmd_config, 0);
	while ((opt = pv_next_option(&p, g, argc, argv)) >= 0)
		;
	if (opt != -1)
		return opt == PV_OPTS_HELP ? PV_EXIT_OK : PV_EXIT_USAGE;
	if (optind != argc - 1 || strcmp(argv[optind], "check") != 0)
		return pv_usage_error("config", "say check");
	g->cfg = pv_config_load(g->config);
	if (!g->cfg) {
		pv_error("%s", pv_errmsg());
		return PV_EXIT_USAGE;
	}
	size_t n = pv_config_problem_count(g->cfg);
	for (size_t i = 0; i < n; i++)
		pv_error("%s", pv_config_problem(g->cfg, i));
	int rc = pv_setup(g); /* the configuration is loaded: the rest of it */
	if (rc != PV_EXIT_OK)
		return rc;
	int bad = check_storage(g->storage) < 0;
	if (pv_config_get(g->cfg, NULL, "s3", "bucket")) {
		pv_repo *s3 = pv_open_repo(g, 1);
		if (s3)
			printf("s3 %s: configured (not contacted)\n", pv_repo_describe(s3));
		bad |= !s3;
		pv_repo_free(s3);
	}
	if (n) {
		pv_error("%zu problem(s) in the configuration (%s)", n, pv_config_path(g->cfg));
		return PV_EXIT_USAGE;
	}
	if (bad)
		return PV_EXIT_FAIL;
	printf("configuration %s: ok\n", pv_config_path(g->cfg));
	return PV_EXIT_OK;
}
