/*
 * ops/notify.h — reporting a run to the outside: the [notify] URL, POSTed a JSON body
 * with libcurl on failure (and on success with on_success = yes), and the Prometheus
 * textfile (metrics_file) with last success time, duration, size and failure count per
 * database.  In the URL, {status} becomes "success" or "failure" and {exit} the exit code,
 * so healthchecks-style ping URLs work (https://hc-ping.com/UUID/{exit}).
 */
#ifndef PV_OPS_NOTIFY_H
#define PV_OPS_NOTIFY_H

#include <jansson.h>

#include <time.h>

#include "ops/config.h"

typedef struct pv_run_db {
	char *db;
	int ok;
	char *id;          /* bundle id when ok */
	long long size;    /* bundle bytes when ok */
	double seconds;
	char *error;       /* message when not ok */
	int upload;        /* 0 not asked, 1 uploaded, -1 failed (the bundle kept here only) */
	char *upload_error; /* why, when upload is -1 */
} pv_run_db;

typedef struct pv_run {
	const char *command;  /* "backup", ... */
	const char *server;   /* the [server:NAME] of the run, or NULL */
	time_t started, finished;
	int exit_code;
	char *error;          /* what stopped the run before any database, or NULL */
	pv_run_db *dbs;
	int n, cap;
} pv_run;

pv_run_db *pv_run_add(pv_run *r, const char *db);
void pv_run_free(pv_run *r);

/* Both never fail the run: problems are warnings.  Return 0, or -1 after warning. */
int pv_notify(const pv_config *c, const pv_run *r);
int pv_metrics_write(const char *path, const pv_run *r);

/* The run log (STORAGE/.runs.jsonl): one JSON line per run, as notified, the last 200 kept;
 * for `status --html`.  Appending never fails the run (a warning); reading gives [] for a
 * missing file and skips lines that do not parse. */
#define PV_RUNLOG_NAME ".runs.jsonl"
int pv_runlog_append(const char *path, const pv_run *r);
json_t *pv_runlog_read(const char *path);

#endif
