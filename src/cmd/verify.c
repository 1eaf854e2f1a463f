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
#include "ops/lock.h"
#include "store/s3.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"

static const char usage[] =
    "Usage: pgvault verify [OPTIONS] (BUNDLE... | --all)\n"
    "\n"
    "Check bundles completely: every member's SHA-256, full decompression, COPY data\n"
    "well-formedness and consistency with the manifest.  BUNDLE is an id, a path,\n"
    "DB@latest or DB@TIMESTAMP.\n"
    "\n"
    "  -a, --all     every bundle in the storage directory\n"
    "      --remote  the bundles of the [s3] storage (each downloaded to a temporary file\n"
    "                in the storage directory, checked, and removed)\n"
    "Exit status: 0 all good, 1 a bundle failed (the message names the bad member).\n";

static int
verify_fd(int fd, const char *label)
{
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
	    {"all", no_argument, NULL, 'a'}, {"remote", no_argument, NULL, OPT_CMD_BASE},
	    PV_GLOBAL_LONGOPTS, {NULL, 0, NULL, 0}};
	int all = 0, remote = 0, opt;
	optind = 0; /* GNU getopt: full re-initialisation */
	while ((opt = getopt_long(argc, argv, "a" PV_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == 'a')
			all = 1;
		else if (opt == OPT_CMD_BASE)
			remote = 1;
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
	int bad = 0, good = 0;
	if (remote) {
		pv_s3 *s3 = pv_open_s3(g);
		json_t *list = s3 ? pv_remote_list(s3, NULL) : NULL;
		if (!list) {
			if (s3)
				pv_error("%s", pv_errmsg());
			pv_s3_free(s3);
			return PV_EXIT_FAIL;
		}
		size_t i;
		json_t *e;
		json_array_foreach(list, i, e) {
			int wanted = all;
			for (int k = optind; k < argc && !wanted; k++) {
				json_t *one = json_array();
				if (pvj_append_copy(one, e) == 0) {
					pv_err_clear();
					wanted = pv_pick_bundle(one, argv[k], "S3") != NULL;
				}
				json_decref(one);
			}
			if (!wanted)
				continue;
			const char *id = json_string_value(json_object_get(e, "id"));
			int fd;
			pv_err_clear();
			char *tmp = pv_remote_fetch(g, s3, e, &fd);
			int ok = 0;
			if (tmp) {
				pv_source in;
				pv_source_fd(&in, &fd);
				json_t *m = NULL;
				ok = pv_bundle_verify(&in, json_string_value(json_object_get(e, "path")), &m) == 0;
				json_decref(m);
				close(fd);
				unlink(tmp);
				free(tmp);
			}
			if (ok) {
				printf("ok %s (s3)\n", id);
				good++;
			} else {
				pv_error("%s", pv_errmsg());
				bad++;
			}
		}
		json_decref(list);
		pv_s3_free(s3);
		if (!good && !bad) {
			pv_error("no bundle in the S3 storage matches");
			return PV_EXIT_FAIL;
		}
		return bad ? PV_EXIT_FAIL : PV_EXIT_OK;
	}
	pv_store *st = pv_open_store(g);
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
			/* opened under the shared lock: a prune may have removed it since the listing */
			const char *p = json_string_value(json_object_get(e, "path"));
			struct pv_lock *l = pv_read_lock(g, st);
			int fd = l ? open(p, O_RDONLY | O_CLOEXEC) : -1;
			int gone = l && fd < 0 && errno == ENOENT;
			if (l && fd < 0 && !gone)
				pv_fail("%s: %s", p, strerror(errno));
			pv_lock_release(l);
			if (gone) {
				pv_info("%s: removed by prune since the listing", id);
				continue;
			}
			if (fd < 0 || verify_fd(fd, id) < 0) {
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
		int fd = pv_open_bundle(g, st, argv[i], &path, &side);
		if (fd < 0 || verify_fd(fd, argv[i]) < 0) {
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
