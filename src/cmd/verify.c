/*
 * cmd/verify.c — `pgvault verify`: full check of bundles (checksums, decompression,
 * COPY well-formedness, manifest consistency), the verdict recorded in the sidecar of each
 * bundle of the repository (a damaged one stops being verified: pv_repo_record_verify).
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
#include "util/sigsafe.h"

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

/* Verify bundle e of r (opened under the repository's shared lock) and record the verdict in
 * its sidecar (pv_repo_record_verify: a damaged bundle is no longer anyone's newest verified
 * one); 1 good, 0 removed by prune since the listing, -1 bad or unreadable (reported). */
static int
verify_entry(pv_global *g, pv_repo *r, const pv_entry *e, int jobs)
{
	int64_t size;
	int side;
	pv_err_clear();
	pv_lock *l = pv_read_lock(g, r);
	pv_repo_reader *rd = l ? pv_repo_open(r, e) : NULL;
	int gone = l && !rd && pv_repo_stat(r, e->name, &size, &side) == 0;
	pv_lock_release(l);
	if (gone) {
		pv_info("%s: removed by prune since the listing", e->id);
		return 0;
	}
	if (!rd) { /* no verdict on the bundle: the download or the open failed */
		pv_error("%s", pv_errmsg());
		return -1;
	}
	int rc = verify_reader(rd, e->where, jobs);
	char *why = rc < 0 ? pv_strdup(pv_errmsg()) : NULL;
	if (!pv_interrupted) {
		l = pv_read_lock(g, r);
		if (!l || pv_repo_record_verify(r, e, why) < 0)
			pv_warn("%s", pv_errmsg());
		pv_lock_release(l);
	}
	if (why) {
		pv_error("%s", why);
		free(why);
		return -1;
	}
	return 1;
}

/* Each bundle of the repository (a prune may have removed it since the listing: reported,
 * not failed); named (names NULL: every one).  A name no bundle answers is an error. */
static void
verify_list(pv_global *g, pv_repo *r, char **names, int nnames, const char *suffix, int jobs,
            int *good, int *bad)
{
	pv_entries list;
	if (pv_repo_list(r, NULL, &list) < 0) {
		pv_error("%s", pv_errmsg());
		(*bad)++;
		return;
	}
	for (size_t i = 0; !names && i < list.n; i++) {
		int v = verify_entry(g, r, &list.v[i], jobs);
		if (v > 0)
			printf("ok %s%s\n", list.v[i].id, suffix);
		*good += v > 0;
		*bad += v < 0;
	}
	for (int k = 0; names && k < nnames; k++) {
		pv_err_clear();
		const pv_entry *e = pv_entries_pick(&list, names[k], pv_repo_describe(r));
		int v = e ? verify_entry(g, r, e, jobs) : -1;
		if (!e)
			pv_error("%s", pv_errmsg());
		else if (v == 0)
			pv_error("%s: removed by prune since the listing", e->id);
		if (v > 0)
			printf("ok %s%s\n", names[k], suffix);
		*good += v > 0;
		*bad += v <= 0;
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
		verify_list(g, r, NULL, 0, suffix, jobs, &good, &bad);
	/* names in the repository get their verdict recorded; files are only checked */
	char **names = pv_calloc((size_t)argc + 1, sizeof *names);
	int nnames = 0;
	for (int i = optind; i < argc; i++) {
		if (!pv_bundle_arg_is_path(argv[i])) {
			names[nnames++] = argv[i];
			continue;
		}
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
	if (nnames)
		verify_list(g, r, names, nnames, suffix, jobs, &good, &bad);
	free(names);
	pv_repo_free(r);
	return bad ? PV_EXIT_FAIL : PV_EXIT_OK;
}
