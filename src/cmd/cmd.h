/*
 * cmd/cmd.h — the commands: argument parsing, orchestration over the library, output.
 * Global options (--storage, -h, -p, -U, --maintenance-db, --config, --quiet, --verbose)
 * are accepted before and after the command name.
 */
#ifndef PV_CMD_H
#define PV_CMD_H

#include <getopt.h>

#include "ops/config.h"
#include "pg/conn.h"
#include "store/repo.h"

typedef struct pv_global {
	const char *config;    /* --config */
	const char *storage;   /* --storage */
	pv_connopts conn;      /* -h -p -U --maintenance-db */
	pv_config *cfg;        /* loaded by pv_setup() */
	pv_buf sign_key;       /* [security] signing_key_file's key, or empty (pv_setup) */
} pv_global;

#define PV_DEFAULT_STORAGE "/var/lib/pgvault"

/* Long options shared by every command; a command's table is its own options followed by
 * PV_GLOBAL_LONGOPTS.  Short options -h -p -U are global. */
enum { OPT_CONFIG = 1000, OPT_STORAGE, OPT_MAINTDB, OPT_QUIET, OPT_VERBOSE, OPT_HELP, OPT_CMD_BASE = 1100 };
#define PV_GLOBAL_LONGOPTS                                                \
	{"config", required_argument, NULL, OPT_CONFIG},                      \
	{"storage", required_argument, NULL, OPT_STORAGE},                    \
	{"host", required_argument, NULL, 'h'},                               \
	{"port", required_argument, NULL, 'p'},                               \
	{"username", required_argument, NULL, 'U'},                           \
	{"maintenance-db", required_argument, NULL, OPT_MAINTDB},             \
	{"quiet", no_argument, NULL, OPT_QUIET},                              \
	{"verbose", no_argument, NULL, OPT_VERBOSE},                          \
	{"help", no_argument, NULL, OPT_HELP}
#define PV_GLOBAL_SHORTOPTS "h:p:U:qv"

/* Handles a global option; 1 if it was one, 0 if not. */
int pv_global_option(pv_global *g, int opt, const char *arg);
/* Message for an unknown option / bad usage; returns PV_EXIT_USAGE. */
int pv_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* After a command parsed its options: loads the configuration and fills what the command
 * line left unset (connection, storage).  PV_EXIT_OK or an exit code (message printed). */
int pv_setup(pv_global *g);
/* What pv_setup loaded (the configuration, the signing key: wiped). */
void pv_global_free(pv_global *g);
/* The repository a command works on: the local storage directory, or (remote) the [s3]
 * storage.  NULL with the error printed (PV_EXIT_USAGE: S3 not configured or unusable). */
pv_repo *pv_open_repo(pv_global *g, int remote);
/* The repository's lock, shared, as reads take it: waits for a running prune up to [backup]
 * lock_timeout, at least 60 s. */
pv_lock *pv_read_lock(pv_global *g, pv_repo *r);
/* Open a bundle (a path, or an id, DB@latest, DB@TIMESTAMP of the repository) for reading.
 * Chosen and opened under the repository's shared lock, as backups take it, so a prune
 * (which takes it alone) cannot delete it in between; once open, reading goes on whatever
 * prune does.  A path, or a local storage that does not exist, takes no lock (and creates
 * nothing).  NULL with the error set. */
pv_repo_reader *pv_open_bundle(pv_global *g, pv_repo *r, const char *arg);
int cmd_upload(pv_global *g, int argc, char **argv);

int cmd_backup(pv_global *g, int argc, char **argv);
int cmd_restore(pv_global *g, int argc, char **argv);
int cmd_verify(pv_global *g, int argc, char **argv);
int cmd_list(pv_global *g, int argc, char **argv);
int cmd_status(pv_global *g, int argc, char **argv);
int cmd_prune(pv_global *g, int argc, char **argv);
int cmd_schedule(pv_global *g, int argc, char **argv);
int cmd_daemon(pv_global *g, int argc, char **argv);

#endif
