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
#include "util/log.h"

static const char usage[] =
    "Usage: pgvault verify [OPTIONS] (BUNDLE... | --all)\n"
    "\n"
    "Check bundles completely: every member's SHA-256, full decompression, COPY data\n"
    "well-formedness and consistency with the manifest.  BUNDLE is an id, a path,\n"
    "DB@latest or DB@TIMESTAMP.\n"
    "\n"
    "  -a, --all     every bundle in the storage directory\n"
    "Exit status: 0 all good, 1 a bundle failed (the message names the bad member).\n";

static int
verify_one(const char *path, const char *label)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pv_fail("%s: %s", path, strerror(errno));
	pv_source src;
	pv_source_fd(&src, &fd);
	json_t *m = NULL;
	int rc = pv_bundle_verify(&src, label, &m);
	close(fd);
	json_decref(m);
	return rc;
}

int
cmd_verify(pv_global *g, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"all", no_argument, NULL, 'a'}, PV_GLOBAL_LONGOPTS, {NULL, 0, NULL, 0}};
	int all = 0, opt;
	optind = 0; /* GNU getopt: full re-initialisation */
	while ((opt = getopt_long(argc, argv, "a" PV_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == 'a')
			all = 1;
		else if (opt == OPT_HELP) {
			fputs(usage, stdout);
			return 0;
		} else if (!pv_global_option(g, opt, optarg))
			return pv_usage_error("verify", "invalid option");
	}
	if (!all && optind >= argc)
		return pv_usage_error("verify", "name the bundles to verify, or use --all");
	int src = pv_setup(g);
	if (src != PV_EXIT_OK)
		return src;
	pv_store *st = pv_open_store(g);
	int bad = 0, good = 0;
	if (all) {
		json_t *list = pv_store_list(st, NULL);
		size_t i;
		json_t *e;
		if (!list) {
			pv_error("%s", pv_errmsg());
			bad++;
		}
		json_array_foreach(list, i, e) {
			const char *id = json_string_value(json_object_get(e, "id"));
			pv_err_clear();
			if (verify_one(json_string_value(json_object_get(e, "path")), id) < 0) {
				pv_error("%s", pv_errmsg());
				bad++;
			} else {
				printf("ok %s\n", id);
				good++;
			}
		}
		json_decref(list);
	}
	for (int i = optind; i < argc; i++) {
		char *path = NULL;
		json_t *side = NULL;
		pv_err_clear();
		if (pv_store_resolve(st, argv[i], &path, &side) < 0 || verify_one(path, argv[i]) < 0) {
			pv_error("%s", pv_errmsg());
			bad++;
		} else {
			printf("ok %s\n", argv[i]);
			good++;
		}
		free(path);
		json_decref(side);
	}
	pv_store_free(st);
	return bad ? PV_EXIT_FAIL : PV_EXIT_OK;
}
