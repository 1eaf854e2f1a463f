/*
 * cmd/backup.c — `pgvault backup`: one bundle per database, ids on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "pg/dump.h"
#include "util/err.h"
#include "util/log.h"
#include "util/names.h"

static const char usage[] =
    "Usage: pgvault backup [OPTIONS] (--db NAME ... | --all)\n"
    "\n"
    "Back up databases: one verified bundle per database in the storage directory.\n"
    "Prints the id of each bundle written, one per line.\n"
    "\n"
    "Options:\n"
    "  -d, --db NAME            back up database NAME (repeatable)\n"
    "  -a, --all                every connectable database except templates\n"
    "      --exclude NAME       with --all, skip NAME (repeatable)\n"
    "  -t, --tag TAG            label the bundles (letters, digits, '-', '_')\n"
    "      --allow-unsupported  back up a database even if it holds objects this version\n"
    "                           cannot reproduce; they are listed in the manifest as skipped\n"
    "Global options:\n"
    "      --storage DIR        storage directory (default " PV_DEFAULT_STORAGE ")\n"
    "  -h, --host HOST  -p, --port PORT  -U, --username USER\n"
    "      --maintenance-db DB  database (or connection string) used to list databases\n"
    "      --quiet, --verbose\n"
    "Exit status: 0 ok, 1 failure, 2 usage error, 3 some databases failed.\n";

enum { OPT_EXCLUDE = OPT_CMD_BASE, OPT_ALLOW_UNSUPPORTED };

static char **
list_databases(pv_global *g, char **excl, int nexcl, int *n)
{
	PGconn *c = pv_connect(&g->conn, NULL);
	if (!c)
		return NULL;
	PGresult *r = pv_query(c, "SELECT datname FROM pg_catalog.pg_database"
	                          " WHERE datallowconn AND NOT datistemplate ORDER BY datname");
	if (!r) {
		PQfinish(c);
		return NULL;
	}
	char **v = pv_calloc((size_t)PQntuples(r) + 1, sizeof *v);
	int k = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *name = PQgetvalue(r, i, 0);
		int skip = 0;
		for (int j = 0; j < nexcl; j++)
			if (strcmp(excl[j], name) == 0)
				skip = 1;
		if (!skip)
			v[k++] = pv_strdup(name);
	}
	*n = k;
	PQclear(r);
	PQfinish(c);
	return v;
}

int
cmd_backup(pv_global *g, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"all", no_argument, NULL, 'a'},
	    {"exclude", required_argument, NULL, OPT_EXCLUDE},
	    {"tag", required_argument, NULL, 't'},
	    {"allow-unsupported", no_argument, NULL, OPT_ALLOW_UNSUPPORTED},
	    PV_GLOBAL_LONGOPTS,
	    {NULL, 0, NULL, 0}};
	char **dbs = pv_calloc((size_t)argc + 1, sizeof *dbs);
	char **excl = pv_calloc((size_t)argc + 1, sizeof *excl);
	int ndb = 0, nexcl = 0, all = 0, opt;
	pv_dump_opts o = {NULL, 0};
	int rc = PV_EXIT_OK;
	char **owned = NULL;

	optind = 0; /* GNU getopt: full re-initialisation */
	while ((opt = getopt_long(argc, argv, "d:at:" PV_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': dbs[ndb++] = optarg; break;
		case 'a': all = 1; break;
		case OPT_EXCLUDE: excl[nexcl++] = optarg; break;
		case 't': o.tag = optarg; break;
		case OPT_ALLOW_UNSUPPORTED: o.allow_unsupported = 1; break;
		case OPT_HELP: fputs(usage, stdout); goto done;
		default:
			if (!pv_global_option(g, opt, optarg)) {
				rc = pv_usage_error("backup", "invalid option");
				goto done;
			}
		}
	}
	if (optind < argc) {
		rc = pv_usage_error("backup", "unexpected argument \"%s\"", argv[optind]);
		goto done;
	}
	if (!all && ndb == 0) {
		rc = pv_usage_error("backup", "name the databases with --db NAME, or use --all");
		goto done;
	}
	if (all && ndb) {
		rc = pv_usage_error("backup", "--all and --db cannot be combined");
		goto done;
	}
	if (o.tag && !pv_valid_tag(o.tag)) {
		rc = pv_usage_error("backup", "invalid tag \"%s\" (1-64 letters, digits, '-' or '_')", o.tag);
		goto done;
	}
	if (all) {
		owned = list_databases(g, excl, nexcl, &ndb);
		if (!owned) {
			pv_error("%s", pv_errmsg());
			rc = PV_EXIT_FAIL;
			goto done;
		}
		for (int i = 0; i < ndb; i++)
			dbs[i] = owned[i];
	}

	pv_store *st = pv_open_store(g);
	int failed = 0;
	for (int i = 0; i < ndb; i++) {
		char *id = NULL;
		pv_err_clear();
		pv_info("backing up database \"%s\"", dbs[i]);
		if (pv_dump_database(&g->conn, st, dbs[i], &o, &id) < 0) {
			pv_error("%s", pv_errmsg());
			failed++;
			continue;
		}
		printf("%s\n", id);
		fflush(stdout);
		pv_info("database \"%s\": bundle %s", dbs[i], id);
		free(id);
	}
	pv_store_free(st);
	if (failed)
		rc = (failed == ndb) ? PV_EXIT_FAIL : PV_EXIT_PARTIAL;
done:
	if (owned) {
		for (int i = 0; owned[i]; i++)
			free(owned[i]);
		free(owned);
	}
	free(dbs);
	free(excl);
	return rc;
}
