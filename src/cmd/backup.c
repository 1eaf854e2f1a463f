/*
 * cmd/backup.c — `pgvault backup`: one bundle per database, ids on stdout; locks, the run
 * report (notification, metrics) and, when configured, pruning after a successful run.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "cmd/cmd.h"
#include "ops/hooks.h"
#include "ops/notify.h"
#include "ops/prune.h"
#include "engine/backup.h"
#include "util/err.h"
#include "util/log.h"
#include "util/names.h"

enum {
	OPT_EXCLUDE = OPT_CMD_BASE, OPT_ALLOW_UNSUPPORTED, OPT_LOCK_TIMEOUT, OPT_NO_PRUNE, OPT_UPLOAD,
	OPT_SOURCE,
	OPT_COMPRESS_LEVEL
};

/* zstd's level 1 (its "fast" strategy): on table rows about 2% larger than level 3, in
 * half the CPU (bench/README.md) */
#define PV_DEFAULT_LEVEL 1
#define PV_STR_(x) #x
#define PV_STR(x) PV_STR_(x)

#define MAX_JOBS 64

static const pv_opt options[] = {
	PV_OPT('d', "db", 'd', "NAME", "back up database NAME (repeatable)"),
	PV_OPT('a', "all", 'a', NULL, "every connectable database except templates"),
	PV_OPT_CFG(0, "exclude", OPT_EXCLUDE, "NAME",
	           "with --all, skip NAME (repeatable; also [backup] exclude, [db:NAME] exclude)",
	           "backup", "exclude"),
	PV_OPT('t', "tag", 't', "TAG", "label the bundles (letters, digits, '-', '_')"),
	PV_OPT_CFG('j', "jobs", 'j', "N",
	           "use N sessions and cores (1-64): several databases are backed up at once, one "
	           "database's tables are read in parallel in one snapshot, a table holding most "
	           "of the data in block ranges (default: [backup] jobs, else 1)", "backup", "jobs"),
	PV_OPT_CFG(0, "compress-level", OPT_COMPRESS_LEVEL, "N",
	           "zstd level of the rows, 1-19 (default: [backup] compress_level, else "
	           PV_STR(PV_DEFAULT_LEVEL) "); higher is smaller and slower", "backup", "compress_level"),
	PV_OPT_CFG(0, "allow-unsupported", OPT_ALLOW_UNSUPPORTED, NULL,
	           "back up a database even if it holds objects this version cannot reproduce; they "
	           "are listed in the manifest as skipped (default: [backup] allow_unsupported)",
	           "backup", "allow_unsupported"),
	PV_OPT_CFG(0, "lock-timeout", OPT_LOCK_TIMEOUT, "DUR",
	           "wait this long for another run's lock (default: [backup] lock_timeout, else 0: "
	           "do not wait), then exit 4; e.g. 30s, 10m", "backup", "lock_timeout"),
	PV_OPT_CFG(0, "no-prune", OPT_NO_PRUNE, NULL,
	           "do not prune after the backup ([retention] prune_after_backup)",
	           "retention", "prune_after_backup"),
	PV_OPT_CFG(0, "upload", OPT_UPLOAD, NULL,
	           "also upload each bundle to the [s3] storage while it is written (completed once "
	           "it verified); default: [s3] upload", "s3", "upload"),
	PV_OPT_CFG(0, "source", OPT_SOURCE, "WHERE",
	           "read from: primary, standby, prefer-standby (a standby if one of the connection's "
	           "servers is, else the primary) or any (the first that answers); default: [backup] "
	           "source, else any", "backup", "source"),
	PV_OPT_KEY("backup", "max_standby_lag"),
	PV_OPT_KEY("backup", "retries"),
	PV_OPT_KEY("backup", "databases"),
	PV_OPT_KEY("db", "exclude"),
	PV_OPT_KEY("db", "allow_unsupported"),
	PV_OPT_INCLUDE(pv_keys_s3),
	PV_OPT_INCLUDE(pv_keys_retention),
	PV_OPT_INCLUDE(pv_keys_report),
	PV_OPT_KEY("hooks", "pre_backup"),
	PV_OPT_KEY("hooks", "post_backup"),
	PV_OPT_KEY("hooks", "on_failure"),
	PV_OPT_KEY("hooks", "timeout"),
	PV_OPT_END,
};

const pv_command pv_cmd_backup = {
	.name = "backup",
	.summary = "back up databases into verified bundles (one per database)",
	.usage = "pgvault backup [OPTIONS] (--db NAME ... | --all)",
	.description =
	    "Back up databases: one verified bundle per database in the storage directory.\n"
	    "Prints the id of each bundle written, one per line.  Without --db or --all, the\n"
	    "databases of the configuration ([backup] databases) are backed up.\n",
	.opts = options,
	.exit_status = "0 ok, 1 failure, 2 usage error, 3 some databases failed, 4 locked,\n"
	               "5 backed up, upload failed (the bundles are kept and verified here).",
	.run = cmd_backup,
};

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
list_databases(pv_global *g, const pv_connopts *co, char **excl, int nexcl, int *n)
{
	PGconn *c = pv_connect(co, NULL);
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
	/* a mistyped --exclude would back up what it meant to leave out: say so */
	for (int x = 0; x < nexcl; x++) {
		int found = 0;
		for (int i = 0; i < PQntuples(r) && !found; i++)
			found = strcmp(PQgetvalue(r, i, 0), excl[x]) == 0;
		if (!found)
			pv_warn("--exclude %s: the server has no such database (a typo?)", excl[x]);
	}
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

/* One run of the command: what the command line asked for, then what it is working on. */
typedef struct backup_run {
	pv_global *g;
	char **dbs;   /* the databases to back up (not owned: argv or owned) */
	int ndb;
	char **excl;  /* --exclude */
	int nexcl;
	char **owned; /* the names from the configuration or the server, NULL-ended */
	int all, allow_cli, no_prune, upload;
	int jobs;     /* --jobs, else [backup] jobs, else 1 */
	long lock_timeout;
	const char *source; /* --source, else [backup] source */
	pv_connopts conn;   /* the global one, reaching the source */
	long retries;       /* [backup] retries */
	pv_dump_opts o;
	pv_repo *st, *copy; /* the local storage; the [s3] one with --upload */
	pv_run run;         /* the run report */
} backup_run;

/* "primary", ...: PV_SOURCE_*, or -1 */
static int
source_of(const char *s)
{
	static const char *const names[] = {"any", "primary", "standby", "prefer-standby"};
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i; /* (the order of PV_SOURCE_*) */
	return -1;
}

/* The command line; PV_EXIT_OK, PV_OPTS_HELP (printed) or PV_EXIT_USAGE (printed). */
static int
parse_args(backup_run *b, int argc, char **argv)
{
	pv_parser p;
	int opt;
	pv_opts_init(&p, &pv_cmd_backup, 0);
	while ((opt = pv_next_option(&p, b->g, argc, argv)) >= 0) {
		switch (opt) {
		case 'd': b->dbs[b->ndb++] = optarg; break;
		case 'a': b->all = 1; break;
		case OPT_EXCLUDE: b->excl[b->nexcl++] = optarg; break;
		case 't': b->o.tag = optarg; break;
		case OPT_ALLOW_UNSUPPORTED: b->allow_cli = 1; break;
		case OPT_NO_PRUNE: b->no_prune = 1; break;
		case OPT_UPLOAD: b->upload = 1; break;
		case 'j': {
			char *end;
			long j = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || j < 1 || j > MAX_JOBS)
				return pv_usage_error("backup", "--jobs takes a number from 1 to %d", MAX_JOBS);
			b->jobs = (int)j;
			break;
		}
		case OPT_COMPRESS_LEVEL: {
			char *end;
			long l = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || l < 1 || l > 19)
				return pv_usage_error("backup", "--compress-level takes a number from 1 to 19");
			b->o.compress_level = (int)l;
			break;
		}
		case OPT_SOURCE:
			if (source_of(optarg) < 0)
				return pv_usage_error("backup", "--source takes primary, standby, prefer-standby or any");
			b->source = optarg;
			break;
		case OPT_LOCK_TIMEOUT:
			if ((b->lock_timeout = pv_parse_duration(optarg)) < 0)
				return pv_usage_error("backup", "--lock-timeout: expected a duration such as 30s or 10m");
			break;
		}
	}
	if (opt == PV_OPTS_HELP)
		return PV_OPTS_HELP;
	if (opt == PV_OPTS_ERROR)
		return PV_EXIT_USAGE;
	if (optind < argc)
		return pv_usage_error("backup", "unexpected argument \"%s\"", argv[optind]);
	if (b->all && b->ndb)
		return pv_usage_error("backup", "--all and --db cannot be combined");
	if (b->o.tag && !pv_valid_tag(b->o.tag))
		return pv_usage_error("backup", "invalid tag \"%s\" (1-64 letters, digits, '-' or '_')", b->o.tag);
	return PV_EXIT_OK;
}

/* b->owned (n names) become the databases to back up */
static void
use_owned(backup_run *b, int n)
{
	free(b->dbs);
	b->dbs = pv_calloc((size_t)n + 1, sizeof *b->dbs);
	for (int i = 0; i < n; i++)
		b->dbs[i] = b->owned[i];
	b->ndb = n;
}

/* Without --db: the configured databases, or with --all the server's.  PV_EXIT_OK; else
 * *report tells whether the failure goes into the run report (the server failed) or not (a
 * usage error). */
static int
choose_databases(backup_run *b, int *report)
{
	int n = 0;
	*report = 0;
	if (!b->all && b->ndb == 0) {
		b->owned = configured_databases(b->g->cfg, &n);
		if (!b->owned)
			return pv_usage_error("backup", "name the databases with --db NAME, or use --all "
			                                "(or list them in the configuration: [backup] databases)");
		use_owned(b, n);
	}
	if (b->all) {
		b->owned = list_databases(b->g, &b->conn, b->excl, b->nexcl, &n);
		if (!b->owned) {
			pv_error("%s", pv_errmsg());
			*report = 1;
			return PV_EXIT_FAIL;
		}
		use_owned(b, n);
	}
	return PV_EXIT_OK;
}

/* Database i (its entry of the run report is rd), under its lock, with `jobs` sessions;
 * 0, or -1 with the error reported (*locked when it was the lock).  Runs on several
 * threads at once with --jobs: it changes nothing shared but rd. */
static int
back_up_one(backup_run *b, const char *db, pv_run_db *rd, int jobs, int *locked)
{
	char *id = NULL, *upload_error = NULL;
	long long size = 0;
	double t0 = now_seconds();
	pv_err_clear();
	pv_info("backing up database \"%s\"", db);
	pv_dump_opts o = b->o;
	int allow = b->allow_cli;
	if (!allow)
		pv_config_bool(b->g->cfg, db, "backup", "allow_unsupported", 0, &allow);
	o.allow_unsupported = allow;
	o.sign_key = b->g->sign_key.data;
	o.sign_key_len = b->g->sign_key.len;
	o.jobs = jobs;
	char *dbvar = pv_asprintf("PGVAULT_DATABASE=%s", db);
	char *stvar = pv_asprintf("PGVAULT_STORAGE=%s", b->g->storage);
	const char *pre[] = {dbvar, stvar, NULL};
	pv_lock *l = NULL;
	int ok = pv_hook_run(b->g->cfg, "pre_backup", pre) == 0; /* a failure fails the database */
	if (ok && (l = pv_repo_lock(b->st, db, 1, b->lock_timeout)) != NULL)
		pv_repo_cleanup(b->st, db); /* what killed runs left (under the lock) */
	/* a recovery conflict or a lost connection: from the start, in a new snapshot */
	for (long attempt = 0; ok && l; attempt++) {
		ok = pv_dump_database(&b->conn, b->st, db, &o, &id, &size, &upload_error) == 0;
		int kind = pv_err_kind();
		if (ok || attempt >= b->retries || (kind != PV_ERRK_RECOVERY_CONFLICT &&
		                                    kind != PV_ERRK_CONNECTION_LOST))
			break;
		pv_warn("%s; backing the database up again from the start (attempt %ld of %ld)",
		        pv_errmsg(), attempt + 2, b->retries + 1);
		ok = 1;
	}
	ok = ok && l;
	pv_lock_release(l);
	rd->seconds = now_seconds() - t0;
	if (!ok) {
		if (pv_errcode() == PV_EXIT_LOCK)
			*locked = 1;
		pv_error("%s", pv_errmsg());
		rd->error = pv_strdup(pv_errmsg());
		free(dbvar);
		free(stvar);
		return -1;
	}
	rd->ok = 1;
	rd->id = pv_strdup(id);
	rd->size = size;
	if (pv_log_level() > PV_LOG_QUIET) /* --quiet: nothing on success (cron mails any output) */
		printf("%s\n", id);
	fflush(stdout);
	pv_info("database \"%s\": bundle %s (%lld bytes, %.1fs)", db, id, size, rd->seconds);
	if (b->copy) {
		rd->upload = upload_error ? -1 : 1;
		rd->upload_error = upload_error;
		if (upload_error)
			pv_error("database \"%s\": backed up, upload failed: bundle %s is kept and verified "
			         "here only (pgvault upload --all sends it): %s", db, id, upload_error);
	}
	char *fs = pv_fsname(db);
	char *idvar = pv_asprintf("PGVAULT_BUNDLE_ID=%s", id);
	char *pathvar = pv_asprintf("PGVAULT_BUNDLE_PATH=%s/%s/%s%s", b->g->storage, fs, id, PV_BUNDLE_SUFFIX);
	char *sizevar = pv_asprintf("PGVAULT_BUNDLE_SIZE=%lld", size);
	const char *post[] = {dbvar, stvar, idvar, pathvar, sizevar,
	                      !b->copy ? "PGVAULT_UPLOADED=" : upload_error ? "PGVAULT_UPLOADED=no" : "PGVAULT_UPLOADED=yes",
	                      NULL};
	if (pv_hook_run(b->g->cfg, "post_backup", post) < 0)
		pv_warn("database \"%s\": %s", db, pv_errmsg());
	free(fs);
	free(idvar);
	free(pathvar);
	free(sizevar);
	free(dbvar);
	free(stvar);
	free(id);
	return 0;
}

/* The databases of one run, taken in turn by one thread or several. */
typedef struct fleet {
	backup_run *b;
	int next, failed, locked;
	int dbjobs;          /* sessions per database */
	pthread_mutex_t mu;
} fleet;

static void *
fleet_main(void *arg)
{
	fleet *f = arg;
	for (;;) {
		pthread_mutex_lock(&f->mu);
		int i = f->next < f->b->ndb ? f->next++ : -1;
		pthread_mutex_unlock(&f->mu);
		if (i < 0)
			break;
		int locked = 0;
		int rc = back_up_one(f->b, f->b->dbs[i], &f->b->run.dbs[i], f->dbjobs, &locked);
		pthread_mutex_lock(&f->mu);
		f->failed += rc < 0;
		f->locked += locked;
		pthread_mutex_unlock(&f->mu);
	}
	return NULL;
}

/* Every database: with --jobs N, up to N at once (each with N / that many sessions), one
 * at a time while uploading (one S3 connection); the failures and lock failures counted. */
static void
back_up_each(backup_run *b, int *failed, int *locked)
{
	fleet f = {.b = b};
	for (int i = 0; i < b->ndb; i++)
		pv_run_add(&b->run, b->dbs[i]); /* in order, before any thread looks at them */
	int at_once = b->copy ? 1 : b->jobs < b->ndb ? b->jobs : b->ndb;
	if (at_once < 1)
		at_once = 1;
	f.dbjobs = b->jobs / at_once > 1 ? b->jobs / at_once : 1;
	pthread_mutex_init(&f.mu, NULL);
	pthread_t th[MAX_JOBS];
	int started = 0;
	for (; started + 1 < at_once; started++)
		if (pthread_create(&th[started], NULL, fleet_main, &f) != 0) {
			pv_warn("cannot start a thread: backing up %d database(s) at once", started + 1);
			break;
		}
	fleet_main(&f);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&f.mu);
	*failed = f.failed;
	*locked = f.locked;
}

/* With --upload: the bundles of this run's databases that earlier runs kept here when their
 * upload failed go now (this run's own wait for the next run); how many failed again. */
static int
upload_pending(backup_run *b)
{
	pv_entries l;
	memset(&l, 0, sizeof l);
	if (pv_repo_list(b->st, NULL, &l) < 0) {
		pv_error("uploading the bundles earlier uploads left here: %s", pv_errmsg());
		return 1;
	}
	int failed = 0;
	for (size_t i = 0; i < l.n; i++) {
		const pv_entry *e = &l.v[i];
		int ours = 0;
		for (int k = 0; k < b->run.n; k++)
			if (strcmp(b->run.dbs[k].db, e->database) == 0)
				ours = !b->run.dbs[k].id || strcmp(b->run.dbs[k].id, e->id) != 0 ? 1 : -1;
		if (ours <= 0 || !e->verified || !json_object_get(e->sidecar, PV_SIDECAR_UPLOAD_FAILED))
			continue;
		pv_err_clear();
		if (pv_upload_bundle(b->g, b->st, b->copy, e) < 0) {
			pv_error("%s", pv_errmsg());
			failed++;
		} else {
			pv_info("uploaded %s, which an earlier run kept here when its upload failed", e->id);
		}
	}
	pv_entries_free(&l);
	return failed;
}

/* Every database, under the storages' shared locks; the exit status. */
static int
back_up_all(backup_run *b)
{
	int failed = 0, locked = 0;
	/* backups share each storage; prune takes it alone */
	pv_lock *storage_lock = pv_repo_lock(b->st, NULL, 0, b->lock_timeout);
	pv_lock *copy_lock = storage_lock && b->copy ? pv_repo_lock(b->copy, NULL, 0, b->lock_timeout) : NULL;
	if (!storage_lock || (b->copy && !copy_lock)) {
		pv_error("%s", pv_errmsg());
		pv_lock_release(storage_lock);
		return pv_errcode();
	}
	if (b->copy)
		pv_repo_cleanup(b->copy, NULL); /* uploads that killed runs left */
	back_up_each(b, &failed, &locked);
	int upload_failed = 0;
	for (int i = 0; i < b->run.n; i++)
		upload_failed += b->run.dbs[i].upload < 0;
	if (b->copy)
		upload_failed += upload_pending(b);
	pv_lock_release(copy_lock);
	pv_lock_release(storage_lock);
	if (failed)
		return failed == locked ? PV_EXIT_LOCK : failed == b->ndb ? PV_EXIT_FAIL : PV_EXIT_PARTIAL;
	return upload_failed ? PV_EXIT_UPLOAD : PV_EXIT_OK;
}

/* [retention] prune_after_backup, unless --no-prune: only after a fully successful run (a
 * failed run must never cost an old bundle); the exit status. */
static int
prune_after(backup_run *b, int rc)
{
	int prune_after = 0;
	pv_config_bool(b->g->cfg, NULL, "retention", "prune_after_backup", 0, &prune_after);
	if (!prune_after || b->no_prune || rc != PV_EXIT_OK)
		return rc;
	pv_lock *pl = pv_repo_lock(b->st, NULL, 1, b->lock_timeout);
	for (int i = 0; pl && i < b->ndb; i++) {
		int deleted = 0;
		if (pv_prune(b->g->cfg, b->st, b->dbs[i], 0, NULL, &deleted) < 0) {
			pv_error("pruning after the backup: %s", pv_errmsg());
			rc = PV_EXIT_FAIL;
			break;
		}
		if (deleted)
			pv_info("database \"%s\": pruned %d old bundle(s)", b->dbs[i], deleted);
	}
	if (!pl) {
		pv_error("pruning after the backup: %s", pv_errmsg());
		rc = PV_EXIT_FAIL;
	}
	pv_lock_release(pl);
	return rc;
}

/* The run report: the metrics file, the notification. */
static void
report_run(backup_run *b, int rc)
{
	b->run.finished = time(NULL);
	b->run.exit_code = rc;
	const char *metrics = pv_config_get(b->g->cfg, NULL, "notify", "metrics_file");
	b->run.server = b->g->server;
	/* one file per server (FILE.NAME.prom for FILE.prom): their databases' labels may be
	 * the same */
	char *per_server = NULL;
	if (metrics && b->g->server) {
		const char *dot = strrchr(metrics, '.'), *slash = strrchr(metrics, '/');
		size_t base = dot && (!slash || dot > slash) ? (size_t)(dot - metrics) : strlen(metrics);
		per_server = pv_asprintf("%.*s.%s%s", (int)base, metrics, b->g->server, metrics + base);
		metrics = per_server;
	}
	if (metrics)
		pv_metrics_write(metrics, &b->run);
	free(per_server);
	struct stat st;
	if (b->g->storage && stat(b->g->storage, &st) == 0 && S_ISDIR(st.st_mode)) {
		char *log = pv_asprintf("%s/%s", b->g->storage, PV_RUNLOG_NAME);
		pv_runlog_append(log, &b->run);
		free(log);
	}
	pv_notify(b->g->cfg, &b->run);
}

/* [hooks] on_failure, after a run that did not fully succeed */
static void
on_failure(backup_run *b, int rc)
{
	pv_buf failed = PV_BUF_INIT;
	for (int i = 0; i < b->run.n; i++)
		if (!b->run.dbs[i].ok)
			pv_buf_printf(&failed, "%s%s", failed.len ? "\n" : "", b->run.dbs[i].db);
	char *code = pv_asprintf("PGVAULT_EXIT_CODE=%d", rc);
	char *dbs = pv_asprintf("PGVAULT_FAILED_DATABASES=%s", failed.data ? failed.data : "");
	char *st = pv_asprintf("PGVAULT_STORAGE=%s", b->g->storage ? b->g->storage : "");
	const char *vars[] = {code, dbs, st, NULL};
	if (pv_hook_run(b->g->cfg, "on_failure", vars) < 0)
		pv_warn("%s", pv_errmsg());
	free(code);
	free(dbs);
	free(st);
	pv_buf_free(&failed);
}

/* The configuration stopped the run before it started (pv_setup, whose message is the
 * error): still the run report, every database it would have backed up failed with it. */
static void
report_setup_failure(backup_run *b, int rc)
{
	int n = 0;
	if (!b->all && b->ndb == 0 && (b->owned = configured_databases(b->g->cfg, &n)) != NULL)
		use_owned(b, n);
	for (int i = 0; i < b->ndb; i++)
		pv_run_add(&b->run, b->dbs[i])->error = pv_strdup(pv_errmsg());
	b->run.error = pv_strdup(pv_errmsg());
	on_failure(b, rc);
	report_run(b, rc);
}

/* After pv_setup: the databases, the storages, the backups, the prune, the run report; the
 * exit status. */
/* Where the backups read: b->conn and the options saying what to do with a standby */
static void
choose_source(backup_run *b)
{
	if (!b->source)
		b->source = pv_config_get(b->g->cfg, NULL, "backup", "source");
	b->o.source = b->source ? source_of(b->source) : PV_SOURCE_ANY;
	static const char *const attrs[] = {NULL, "primary", "standby", "prefer-standby"};
	b->conn = b->g->conn;
	b->conn.target_session_attrs = attrs[b->o.source < 0 ? 0 : b->o.source];
	pv_config_seconds(b->g->cfg, NULL, "backup", "max_standby_lag", 0, &b->o.max_standby_lag);
	pv_config_int(b->g->cfg, NULL, "backup", "retries", 2, &b->retries);
}

static int
run_backups(backup_run *b)
{
	choose_source(b);
	int report, rc = choose_databases(b, &report);
	if (rc == PV_EXIT_OK) {
		report = 1;
		if (b->lock_timeout < 0)
			pv_config_seconds(b->g->cfg, NULL, "backup", "lock_timeout", 0, &b->lock_timeout);
		if (b->jobs == 0) {
			long j = 1;
			pv_config_int(b->g->cfg, NULL, "backup", "jobs", 1, &j);
			b->jobs = (int)j;
		}
		if (b->o.compress_level == 0) {
			long l = PV_DEFAULT_LEVEL;
			pv_config_int(b->g->cfg, NULL, "backup", "compress_level", PV_DEFAULT_LEVEL, &l);
			b->o.compress_level = (int)l;
		}
		const char *always = pv_config_get(b->g->cfg, NULL, "s3", "upload");
		if (always && strcmp(always, "always") == 0)
			b->upload = 1;
		if (b->upload && !(b->copy = pv_open_repo(b->g, 1))) {
			rc = PV_EXIT_USAGE;
		} else {
			b->o.copy_to = b->copy;
			b->st = pv_open_repo(b->g, 0);
			rc = prune_after(b, back_up_all(b));
		}
	}
	if (rc != PV_EXIT_OK && report)
		on_failure(b, rc);
	if (report)
		report_run(b, rc);
	return rc;
}

/* What one run of run_backups holds (not the command line's --exclude) */
static void
run_free(backup_run *b)
{
	free(b->dbs);
	pv_repo_free(b->st);
	pv_repo_free(b->copy);
	pv_run_free(&b->run);
	if (b->owned) {
		for (int i = 0; b->owned[i]; i++)
			free(b->owned[i]);
		free(b->owned);
	}
}

/* Each server of the configuration in turn (pv_server_list), with the databases of the
 * command line or of its own configuration, into its own storage: each a run of its own
 * (its run report too).  The worst exit status. */
static int
back_up_servers(backup_run *b0, int argc)
{
	int n;
	const char **names = pv_server_list(b0->g, &n);
	int worst = PV_EXIT_OK;
	if (!names[0]) {
		free(names);
		return run_backups(b0);
	}
	for (int i = 0; i < n; i++) {
		backup_run b = *b0;
		b.dbs = pv_calloc((size_t)argc + 1, sizeof *b.dbs);
		memcpy(b.dbs, b0->dbs, (size_t)b0->ndb * sizeof *b.dbs);
		b.owned = NULL;
		b.st = b.copy = NULL;
		memset(&b.run, 0, sizeof b.run);
		b.run.command = "backup";
		b.run.started = time(NULL);
		int rc = pv_use_server(b0->g, names[i]);
		if (rc == PV_EXIT_OK) {
			pv_info("server \"%s\" (%s)", names[i], b0->g->storage);
			rc = run_backups(&b);
		}
		if (rc != PV_EXIT_OK && (worst == PV_EXIT_OK || rc == PV_EXIT_FAIL))
			worst = rc;
		run_free(&b);
	}
	free(names);
	return worst;
}

int
cmd_backup(pv_global *g, int argc, char **argv)
{
	backup_run b;
	memset(&b, 0, sizeof b);
	b.g = g;
	b.dbs = pv_calloc((size_t)argc + 1, sizeof *b.dbs);
	b.excl = pv_calloc((size_t)argc + 1, sizeof *b.excl);
	b.lock_timeout = -1;
	b.run.command = "backup";
	b.run.started = time(NULL);

	int rc = parse_args(&b, argc, argv), argn = argc;
	if (rc == PV_OPTS_HELP)
		rc = PV_EXIT_OK;
	else if (rc == PV_EXIT_OK && (rc = pv_setup(g)) == PV_EXIT_OK)
		rc = back_up_servers(&b, argn);
	else if (rc == PV_EXIT_USAGE && g->cfg) /* the configuration stopped it */
		report_setup_failure(&b, rc);
	free(b.excl);
	run_free(&b);
	return rc;
}
