/*
 * cmd/backup.c — `pgvault backup`: one bundle per database, ids on stdout; locks, the run
 * report (notification, metrics) and, when configured, pruning after a successful run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "cmd/cmd.h"
#include "ops/notify.h"
#include "ops/prune.h"
#include "engine/backup.h"
#include "util/err.h"
#include "util/log.h"
#include "util/names.h"

static const char usage[] =
    "Usage: pgvault backup [OPTIONS] (--db NAME ... | --all)\n"
    "\n"
    "Back up databases: one verified bundle per database in the storage directory.\n"
    "Prints the id of each bundle written, one per line.  Without --db or --all, the\n"
    "databases of the configuration ([backup] databases) are backed up.\n"
    "\n"
    "Options:\n"
    "  -d, --db NAME            back up database NAME (repeatable)\n"
    "  -a, --all                every connectable database except templates\n"
    "      --exclude NAME       with --all, skip NAME (repeatable)\n"
    "  -t, --tag TAG            label the bundles (letters, digits, '-', '_')\n"
    "      --allow-unsupported  back up a database even if it holds objects this version\n"
    "                           cannot reproduce; they are listed in the manifest as skipped\n"
    "      --lock-timeout DUR   wait this long for another run's lock (default 0: do not\n"
    "                           wait), then exit 4; e.g. 30s, 10m\n"
    "      --no-prune           do not prune after the backup (prune_after_backup)\n"
    "      --upload             also upload each bundle to the [s3] storage while it is\n"
    "                           written (completed once it verified); default: [s3] upload\n"
    "Global options:\n"
    "      --config FILE  --storage DIR  -h HOST  -p PORT  -U USER  --maintenance-db DB\n"
    "      --quiet  --verbose\n"
    "Exit status: 0 ok, 1 failure, 2 usage error, 3 some databases failed, 4 locked.\n";

enum { OPT_EXCLUDE = OPT_CMD_BASE, OPT_ALLOW_UNSUPPORTED, OPT_LOCK_TIMEOUT, OPT_NO_PRUNE, OPT_UPLOAD };

static int
excluded(const char *name, char **excl, int nexcl, pv_config *cfg)
{
	for (int j = 0; j < nexcl; j++)
		if (strcmp(excl[j], name) == 0)
			return 1;
	if (pv_config_list_has(cfg, NULL, "backup", "exclude", name))
		return 1;
	int ex = 0;
	pv_config_bool(cfg, name, "db", "exclude", 0, &ex);
	return ex;
}

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
	for (int i = 0; i < PQntuples(r); i++)
		if (!excluded(PQgetvalue(r, i, 0), excl, nexcl, g->cfg))
			v[k++] = pv_strdup(PQgetvalue(r, i, 0));
	*n = k;
	PQclear(r);
	PQfinish(c);
	return v;
}

/* [backup] databases = a, b c */
static char **
configured_databases(pv_config *cfg, int *n)
{
	json_t *a = pv_config_list(cfg, NULL, "backup", "databases");
	*n = (int)json_array_size(a);
	char **v = NULL;
	if (*n) {
		v = pv_calloc((size_t)*n + 1, sizeof *v);
		for (int i = 0; i < *n; i++)
			v[i] = pv_strdup(json_string_value(json_array_get(a, (size_t)i)));
	}
	json_decref(a);
	return v;
}

static double
now_seconds(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
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
	    {"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
	    {"no-prune", no_argument, NULL, OPT_NO_PRUNE},
	    {"upload", no_argument, NULL, OPT_UPLOAD},
	    PV_GLOBAL_LONGOPTS,
	    {NULL, 0, NULL, 0}};
	char **dbs = pv_calloc((size_t)argc + 1, sizeof *dbs);
	char **excl = pv_calloc((size_t)argc + 1, sizeof *excl);
	int ndb = 0, nexcl = 0, all = 0, opt, allow_cli = 0, no_prune = 0, upload = 0;
	pv_repo *copy = NULL, *st = NULL;
	long lock_timeout = -1;
	pv_dump_opts o = {.tag = NULL};
	int rc = PV_EXIT_OK;
	char **owned = NULL;
	int nowned = 0;
	pv_run run;
	memset(&run, 0, sizeof run);
	run.command = "backup";
	run.started = time(NULL);

	optind = 0; /* GNU getopt: full re-initialisation */
	while ((opt = getopt_long(argc, argv, "d:at:" PV_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': dbs[ndb++] = optarg; break;
		case 'a': all = 1; break;
		case OPT_EXCLUDE: excl[nexcl++] = optarg; break;
		case 't': o.tag = optarg; break;
		case OPT_ALLOW_UNSUPPORTED: allow_cli = 1; break;
		case OPT_NO_PRUNE: no_prune = 1; break;
		case OPT_UPLOAD: upload = 1; break;
		case OPT_LOCK_TIMEOUT:
			if ((lock_timeout = pv_parse_duration(optarg)) < 0) {
				rc = pv_usage_error("backup", "--lock-timeout: expected a duration such as 30s or 10m");
				goto done;
			}
			break;
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
	if (all && ndb) {
		rc = pv_usage_error("backup", "--all and --db cannot be combined");
		goto done;
	}
	if (o.tag && !pv_valid_tag(o.tag)) {
		rc = pv_usage_error("backup", "invalid tag \"%s\" (1-64 letters, digits, '-' or '_')", o.tag);
		goto done;
	}
	if ((rc = pv_setup(g)) != PV_EXIT_OK)
		goto done;
	if (!all && ndb == 0) {
		owned = configured_databases(g->cfg, &nowned);
		if (!owned) {
			rc = pv_usage_error("backup", "name the databases with --db NAME, or use --all "
			                              "(or list them in the configuration: [backup] databases)");
			goto done;
		}
		free(dbs);
		dbs = pv_calloc((size_t)nowned + 1, sizeof *dbs);
		for (int i = 0; i < nowned; i++)
			dbs[ndb++] = owned[i];
	}
	if (all) {
		owned = list_databases(g, excl, nexcl, &nowned);
		if (!owned) {
			pv_error("%s", pv_errmsg());
			rc = PV_EXIT_FAIL;
			goto report;
		}
		free(dbs);
		dbs = pv_calloc((size_t)nowned + 1, sizeof *dbs);
		for (int i = 0; i < nowned; i++)
			dbs[i] = owned[i];
		ndb = nowned;
	}
	if (lock_timeout < 0)
		pv_config_seconds(g->cfg, NULL, "backup", "lock_timeout", 0, &lock_timeout);
	{
		const char *always = pv_config_get(g->cfg, NULL, "s3", "upload");
		if (always && strcmp(always, "always") == 0)
			upload = 1;
	}
	if (upload && !(copy = pv_open_repo(g, 1))) {
		rc = PV_EXIT_USAGE;
		goto report;
	}
	o.copy_to = copy;

	st = pv_open_repo(g, 0);
	int failed = 0, locked = 0;
	/* backups share each storage; prune takes it alone */
	pv_lock *storage_lock = pv_repo_lock(st, NULL, 0, lock_timeout);
	pv_lock *copy_lock = storage_lock && copy ? pv_repo_lock(copy, NULL, 0, lock_timeout) : NULL;
	if (!storage_lock || (copy && !copy_lock)) {
		pv_error("%s", pv_errmsg());
		rc = pv_errcode();
		pv_lock_release(storage_lock);
		goto report;
	}
	if (copy)
		pv_repo_cleanup(copy, NULL); /* uploads that killed runs left */
	for (int i = 0; i < ndb; i++) {
		char *id = NULL;
		long long size = 0;
		double t0 = now_seconds();
		pv_run_db *rd = pv_run_add(&run, dbs[i]);
		pv_err_clear();
		pv_info("backing up database \"%s\"", dbs[i]);
		int allow = allow_cli;
		if (!allow)
			pv_config_bool(g->cfg, dbs[i], "backup", "allow_unsupported", 0, &allow);
		o.allow_unsupported = allow;
		o.sign_key = g->sign_key.data;
		o.sign_key_len = g->sign_key.len;
		pv_lock *l = pv_repo_lock(st, dbs[i], 1, lock_timeout);
		if (l)
			pv_repo_cleanup(st, dbs[i]); /* what killed runs left (under the lock) */
		int ok = l && pv_dump_database(&g->conn, st, dbs[i], &o, &id, &size) == 0;
		pv_lock_release(l);
		rd->seconds = now_seconds() - t0;
		if (!ok) {
			if (pv_errcode() == PV_EXIT_LOCK)
				locked++;
			pv_error("%s", pv_errmsg());
			rd->error = pv_strdup(pv_errmsg());
			failed++;
			continue;
		}
		rd->ok = 1;
		rd->id = pv_strdup(id);
		rd->size = size;
		printf("%s\n", id);
		fflush(stdout);
		pv_info("database \"%s\": bundle %s (%lld bytes, %.1fs)", dbs[i], id, size, rd->seconds);
		free(id);
	}
	pv_lock_release(copy_lock);
	pv_lock_release(storage_lock);
	if (failed)
		rc = failed == locked ? PV_EXIT_LOCK : failed == ndb ? PV_EXIT_FAIL : PV_EXIT_PARTIAL;
	int prune_after = 0;
	pv_config_bool(g->cfg, NULL, "retention", "prune_after_backup", 0, &prune_after);
	if (prune_after && !no_prune && rc == PV_EXIT_OK) {
		/* only after a fully successful run: a failed run must never cost an old bundle */
		pv_lock *pl = pv_repo_lock(st, NULL, 1, lock_timeout);
		for (int i = 0; pl && i < ndb; i++) {
			int deleted = 0;
			if (pv_prune(g->cfg, st, dbs[i], 0, NULL, &deleted) < 0) {
				pv_error("pruning after the backup: %s", pv_errmsg());
				rc = PV_EXIT_FAIL;
				break;
			}
			if (deleted)
				pv_info("database \"%s\": pruned %d old bundle(s)", dbs[i], deleted);
		}
		if (!pl) {
			pv_error("pruning after the backup: %s", pv_errmsg());
			rc = PV_EXIT_FAIL;
		}
		pv_lock_release(pl);
	}
report:
	run.finished = time(NULL);
	run.exit_code = rc;
	if (g->cfg) {
		const char *metrics = pv_config_get(g->cfg, NULL, "notify", "metrics_file");
		if (metrics)
			pv_metrics_write(metrics, &run);
		pv_notify(g->cfg, &run);
	}
done:
	pv_repo_free(st);
	pv_repo_free(copy);
	pv_run_free(&run);
	if (owned) {
		for (int i = 0; owned[i]; i++)
			free(owned[i]);
		free(owned);
	}
	free(dbs);
	free(excl);
	return rc;
}
