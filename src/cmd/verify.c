/*
 * cmd/verify.c — `pgvault verify`: full check of bundles (checksums, decompression,
 * COPY well-formedness, manifest consistency).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"

enum { OPT_REMOTE = OPT_CMD_BASE };

static const pv_opt options[] = {
	PV_OPT('a', "all", 'a', NULL, "every bundle in the storage directory"),
	PV_OPT('j', "jobs", 'j', "N",
	       "use N threads: data members are decompressed and checked on N - 1 of them while "
	       "one reads the bundle (memory: one data member more for each)"),
	PV_OPT(0, "remote", OPT_REMOTE, NULL,
	       "bundles of the [s3] storage instead (each downloaded to a temporary file in the "
	       "storage directory, checked, and removed)"),
	PV_OPT_KEY("backup", "lock_timeout"), /* pv_read_lock: the read lock's wait */
	PV_OPT_INCLUDE(pv_keys_s3),
	PV_OPT_END,
};

const pv_command pv_cmd_verify = {
	.name = "verify",
	.summary = "check bundles completely",
	.usage = "pgvault verify [OPTIONS] (BUNDLE... | --all)",
	.description =
	    "Check bundles completely: every member's SHA-256, full decompression, COPY data\n"
	    "well-formedness and consistency with the manifest.  BUNDLE is an id, a path,\n"
	    "DB@latest or DB@TIMESTAMP.\n",
	.opts = options,
	.exit_status = "0 all good, 1 a bundle failed (the message names the bad member),\n2 usage error.",
	.run = cmd_verify,
};

/* Verify what rd reads and close it; 0 or -1 with the error set. */
static int
verify_reader(pv_repo_reader *rd, const char *label, int jobs)
{
	int fd = pv_reader_fd(rd);
	pv_source src;
	pv_source_fd(&src, &fd);
	json_t *m = NULL;
	int rc = pv_bundle_verify(&src, label, jobs, &m);
	json_decref(m);
	pv_reader_close(rd);
	return rc;
}

/* Each bundle of the repository, opened under its shared lock (a prune may have removed
 * it since the listing: reported, not failed). */
static void
verify_all(pv_global *g, pv_repo *r, const char *suffix, int jobs, int *good, int *bad)
{
	pv_entries list;
	if (pv_repo_list(r, NULL, &list) < 0) {
		pv_error("%s", pv_errmsg());
		(*bad)++;
		return;
	}
	for (size_t i = 0; i < list.n; i++) {
		const pv_entry *e = &list.v[i];
		int64_t size;
		int side;
		pv_err_clear();
		pv_lock *l = pv_read_lock(g, r);
		pv_repo_reader *rd = l ? pv_repo_open(r, e) : NULL;
		int gone = l && !rd && pv_repo_stat(r, e->name, &size, &side) == 0;
		pv_lock_release(l);
		if (gone) {
			pv_info("%s: removed by prune since the listing", e->id);
			continue;
		}
		if (!rd || verify_reader(rd, e->where, jobs) < 0) {
			pv_error("%s", pv_errmsg());
			(*bad)++;
		} else {
			printf("ok %s%s\n", e->id, suffix);
			(*good)++;
		}
	}
	pv_entries_free(&list);
}

int
cmd_verify(pv_global *g, int argc, char **argv)
{
	int all = 0, remote = 0, jobs = 1, opt;
	pv_parser p;
	pv_opts_init(&p, &pv_cmd_verify, 0);
	while ((opt = pv_next_option(&p, g, argc, argv)) >= 0) {
		if (opt == 'a')
			all = 1;
		else if (opt == OPT_REMOTE)
			remote = 1;
		else if (opt == 'j') {
			char *end;
			long j = strtol(optarg, &end, 10);
			if (*end || j < 1 || j > 64)
				return pv_usage_error("verify", "--jobs takes a number from 1 to 64");
			jobs = (int)j;
		}
	}
	if (opt != -1)
		return opt == PV_OPTS_HELP ? PV_EXIT_OK : PV_EXIT_USAGE;
	if (!all && optind >= argc)
		return pv_usage_error("verify", "name the bundles to verify, or use --all");
	int src = pv_setup(g);
	if (src != PV_EXIT_OK)
		return src;
	int bad = 0, good = 0;
	pv_repo *r = pv_open_repo(g, remote);
	if (!r)
		return PV_EXIT_FAIL;
	const char *suffix = strcmp(pv_repo_kind(r), "local") == 0 ? "" : " (s3)";
	if (all)
		verify_all(g, r, suffix, jobs, &good, &bad);
	for (int i = optind; i < argc; i++) {
		pv_err_clear();
		pv_repo_reader *rd = pv_open_bundle(g, r, argv[i]);
		if (!rd || verify_reader(rd, argv[i], jobs) < 0) {
			pv_error("%s", pv_errmsg());
			bad++;
		} else {
			printf("ok %s%s\n", argv[i], suffix);
			good++;
		}
	}
	pv_repo_free(r);
	return bad ? PV_EXIT_FAIL : PV_EXIT_OK;
}
