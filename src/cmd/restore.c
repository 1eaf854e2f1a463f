/*
 * cmd/restore.c — `pgvault restore`: a bundle into a new database.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "pg/load.h"
#include "util/err.h"
#include "util/log.h"

static const char usage[] =
    "Usage: pgvault restore [OPTIONS] BUNDLE\n"
    "\n"
    "Restore a bundle into a new database on the server.  BUNDLE is an id, a path,\n"
    "DB@latest or DB@TIMESTAMP (the newest verified bundle at or before it).\n"
    "An existing database is never overwritten; on any failure the partly restored\n"
    "database is dropped.\n"
    "\n"
    "      --as NAME   restore under another database name\n"
    "Exit status: 0 ok, 1 failure, 2 usage error.\n";

enum { OPT_AS = OPT_CMD_BASE };

int
cmd_restore(pv_global *g, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"as", required_argument, NULL, OPT_AS}, PV_GLOBAL_LONGOPTS, {NULL, 0, NULL, 0}};
	pv_restore_opts o = {NULL};
	int opt;
	optind = 0; /* GNU getopt: full re-initialisation */
	while ((opt = getopt_long(argc, argv, PV_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == OPT_AS)
			o.as = optarg;
		else if (opt == OPT_HELP) {
			fputs(usage, stdout);
			return 0;
		} else if (!pv_global_option(g, opt, optarg))
			return pv_usage_error("restore", "invalid option");
	}
	if (optind != argc - 1)
		return pv_usage_error("restore", "name exactly one bundle to restore");
	if (o.as && !*o.as)
		return pv_usage_error("restore", "--as needs a database name");

	pv_store *st = pv_open_store(g);
	char *path = NULL, *db = NULL;
	json_t *side = NULL;
	int fd = -1, rc = PV_EXIT_OK;
	if (pv_store_resolve(st, argv[optind], &path, &side) < 0)
		goto fail;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pv_fail("%s: %s", path, strerror(errno));
		goto fail;
	}
	pv_source src;
	pv_source_fd(&src, &fd);
	if (pv_restore_bundle(&g->conn, &src, path, &o, &db) < 0)
		goto fail;
	pv_info("restored %s into database \"%s\"", argv[optind], db);
	goto out;
fail:
	pv_error("%s", pv_errmsg());
	rc = pv_errcode();
out:
	if (fd >= 0)
		close(fd);
	free(path);
	free(db);
	json_decref(side);
	pv_store_free(st);
	return rc;
}
