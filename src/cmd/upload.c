/*
 * cmd/upload.c — `pgvault upload`: copy local bundles that are not yet in the [s3]
 * storage, from one repository to the other: each is streamed (bounded memory), committed
 * (size checked, then its sidecar), and a failure leaves nothing half there.  A bundle the
 * S3 storage has without its sidecar gets the sidecar.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "util/err.h"
#include "util/log.h"

static const pv_opt options[] = {
	PV_OPT('a', "all", 'a', NULL, "every verified local bundle"),
	PV_OPT_KEY("backup", "lock_timeout"), /* the locks' wait, at least 60 s */
	PV_OPT_INCLUDE(pv_keys_s3),
	PV_OPT_END,
};

const pv_command pv_cmd_upload = {
	.name = "upload",
	.summary = "copy local bundles to the [s3] storage",
	.usage = "pgvault upload [OPTIONS] (BUNDLE... | --all)",
	.description =
	    "Copy local bundles to the [s3] storage unless they are there already (same size).\n"
	    "BUNDLE is an id, a path, DB@latest or DB@TIMESTAMP.\n",
	.opts = options,
	.exit_status = "0 ok, 1 failure, 2 usage or configuration error.",
	.run = cmd_upload,
};

static int
upload_one(pv_global *g, pv_repo *src, pv_repo *dst, const pv_entry *e)
{
	if (pv_upload_bundle(g, src, dst, e) < 0)
		return -1;
	if (pv_log_level() > PV_LOG_QUIET)
		printf("%s\n", e->id);
	return 0;
}

/* The current server's bundles: all verified ones, or those refs name; how many failed, or
 * -1 when the S3 storage cannot be opened (said). */
static int
upload_here(pv_global *g, int all, const char **refs, int nrefs)
{
	pv_repo *src = pv_open_repo(g, 0), *dst = pv_open_repo(g, 1);
	if (!dst) {
		pv_repo_free(src);
		return -1;
	}
	/* as a backup that uploads: prune --remote waits for it, and it for prune --remote */
	long timeout = 0;
	pv_config_seconds(g->cfg, NULL, "backup", "lock_timeout", 0, &timeout);
	pv_lock *l = pv_repo_lock(dst, NULL, 0, timeout > 60 ? timeout : 60);
	pv_entries list;
	int bad = 0;
	memset(&list, 0, sizeof list);
	if (!l || pv_repo_list(src, NULL, &list) < 0) {
		pv_error("%s", pv_errmsg());
		bad++;
	} else {
		pv_repo_cleanup(dst, NULL);
	}
	for (size_t i = 0; all && i < list.n; i++) {
		if (!list.v[i].verified)
			continue;
		pv_err_clear();
		if (upload_one(g, src, dst, &list.v[i]) < 0) {
			pv_error("%s", pv_errmsg());
			bad++;
		}
	}
	for (int k = 0; l && k < nrefs; k++) {
		pv_err_clear();
		const pv_entry *e = pv_entries_pick(&list, refs[k], pv_repo_describe(src));
		if (!e || upload_one(g, src, dst, e) < 0) {
			pv_error("%s", pv_errmsg());
			bad++;
		}
	}
	pv_entries_free(&list);
	pv_lock_release(l);
	pv_repo_free(src);
	pv_repo_free(dst);
	return bad;
}

static int
upload_all(pv_global *g, void *arg)
{
	(void)arg;
	return upload_here(g, 1, NULL, 0);
}

int
cmd_upload(pv_global *g, int argc, char **argv)
{
	int all = 0, opt;
	pv_parser p;
	pv_opts_init(&p, &pv_cmd_upload, 0);
	while ((opt = pv_next_option(&p, g, argc, argv)) >= 0)
		if (opt == 'a')
			all = 1;
	if (opt != -1)
		return opt == PV_OPTS_HELP ? PV_EXIT_OK : PV_EXIT_USAGE;
	if (!all && optind >= argc)
		return pv_usage_error("upload", "name the bundles to upload, or use --all");
	int rc = pv_setup(g);
	if (rc != PV_EXIT_OK)
		return rc;
	/* with --all every server's storage, and what the storage itself holds */
	int bad = all ? pv_each_storage(g, upload_all, NULL) : 0;
	if (bad < 0)
		return PV_EXIT_USAGE;
	/* SERVER/DB@latest: that server's */
	const char **refs = pv_server_refs(g, "upload", argc, argv, optind);
	if (!refs)
		return PV_EXIT_USAGE;
	int nrefs = argc - optind;
	int k = nrefs ? upload_here(g, 0, refs, nrefs) : 0;
	free(refs);
	if (k < 0)
		return PV_EXIT_USAGE;
	bad += k;
	return bad ? PV_EXIT_FAIL : PV_EXIT_OK;
}
