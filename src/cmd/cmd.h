/*
 * cmd/cmd.h — the commands: argument parsing, orchestration over the library, output.
 * Global options (--storage, -h, -p, -U, --maintenance-db, --config, --quiet, --verbose,
 * pv_global_opts) are accepted before and after the command name.
 */
#ifndef PV_CMD_H
#define PV_CMD_H

#include "cmd/opts.h"
#include "ops/config.h"
#include <jansson.h>

#include "pg/conn.h"
#include "store/repo.h"

typedef struct pv_global {
	const char *config;    /* --config */
	const char *storage;   /* --storage */
	pv_connopts conn;      /* -h -p -U --maintenance-db */
	pv_config *cfg;        /* loaded by pv_setup() */
	pv_buf sign_key;       /* [security] signing_key_file's key, or empty (pv_setup) */
	const pv_command *cmd; /* the command running (pv_next_option): the sections it reads */
	const char *server;    /* --server, or the one pv_use_server chose */
	const char *server_cli; /* --server */
	pv_connopts conn_cli;  /* what the command line set of conn */
	const char *storage_cli; /* --storage */
	char *server_storage;  /* STORAGE/@NAME of a server */
	json_t *servers;       /* pv_config_servers */
	int setup;
} pv_global;

/* Several servers ([server:NAME]): the names a command covering them all goes through (an
 * array the caller frees), or one NULL entry (no such section, or --server chose one); each
 * is made the current one by pv_use_server (its connection, its storage directory
 * STORAGE/@NAME; NULL: the unnamed server of [connection], whose bundles are in STORAGE
 * itself).  PV_EXIT_OK, or PV_EXIT_USAGE (said) for an unknown name. */
const char **pv_server_list(pv_global *g, int *n);
int pv_use_server(pv_global *g, const char *name);
/* SERVER/DB@latest, SERVER/ID ...: the server made the current one and the rest returned;
 * anything else (no such server, a path, --server given) as it is; NULL on failure. */
const char *pv_server_ref(pv_global *g, const char *arg);
/* The same for argv[from..argc), which must all be of one server: NULL-ended (free it), or
 * NULL (said: PV_EXIT_USAGE). */
const char **pv_server_refs(pv_global *g, const char *cmd, int argc, char **argv, int from);
/* fn(g, arg) for each storage a command covering them all goes through: with several
 * servers, the storage's own bundles (the unnamed server's), then each server's; else the
 * current one.  The sum of what fn returns, or -1 when it returns -1 (then it stops). */
int pv_each_storage(pv_global *g, int (*fn)(pv_global *g, void *arg), void *arg);

#define PV_DEFAULT_STORAGE "/var/lib/pgvault"

/* The commands, in the order `pgvault --help` lists them (NULL-ended), each with its table
 * of options (cmd/opts.h). */
extern const pv_command *const pv_commands[];
extern const pv_command pv_cmd_backup, pv_cmd_restore, pv_cmd_verify, pv_cmd_list, pv_cmd_upload,
	pv_cmd_prune, pv_cmd_status, pv_cmd_schedule, pv_cmd_daemon, pv_cmd_config,
	pv_cmd_leftovers;

/* Configuration keys that code under several commands reads, for their tables
 * (PV_OPT_INCLUDE): the [s3] storage (pv_open_repo(g, 1)), the retention policy (pv_prune)
 * and the run report (pv_notify, the metrics file). */
extern const pv_opt pv_keys_s3[], pv_keys_retention[], pv_keys_report[];

enum { PV_OPTS_HELP = -2, PV_OPTS_ERROR = -3 };
/* The next option of the command line (pv_opts_init first): its id, with its argument in
 * optarg.  Global options are applied to g and skipped.  -1 at the end (the operands are
 * from optind on); PV_OPTS_HELP when --help was given (printed: the command exits 0);
 * PV_OPTS_ERROR on an unknown option or a missing argument (the usage error was printed: the
 * command exits PV_EXIT_USAGE). */
int pv_next_option(pv_parser *p, pv_global *g, int argc, char **argv);

/* Handles a global option; 1 if it was one, 0 if not. */
int pv_global_option(pv_global *g, int opt, const char *arg);
/* Message for an unknown option / bad usage; returns PV_EXIT_USAGE. */
int pv_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* After a command parsed its options: loads the configuration and fills what the command
 * line left unset (connection, storage).  PV_EXIT_OK or an exit code (message printed).
 * Problems of the file in sections the command does not read are warnings; in those it
 * reads they are errors (PV_EXIT_USAGE), and g->cfg then stays loaded, without the values
 * at fault, so that the command can still report the failure (notify, metrics). */
int pv_setup(pv_global *g);
/* Whether the command (g->cmd's table, and the global keys) reads [section] key (key NULL:
 * any key of the section; "db": [db:NAME]). */
int pv_key_used(void *g, const char *section, const char *key);
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
/* Whether a bundle argument is a path to a file (a "/" in it, or the .pgv suffix) rather
 * than an id, DB@latest or DB@TIMESTAMP of the repository. */
int pv_bundle_arg_is_path(const char *arg);

/* One bundle of src into dst (streamed), unless dst has it (same size); a bundle there
 * without its sidecar (a run that failed in between) gets the sidecar.  The sidecar goes
 * without the mark of a failed upload (PV_SIDECAR_UPLOAD_FAILED), and the bundle of src
 * loses its mark.  0, or -1 with the error set. */
int pv_upload_bundle(pv_global *g, pv_repo *src, pv_repo *dst, const pv_entry *e);

/* The [schedule] jobs (cron and the daemon run the same): the key, and the command line
 * after "pgvault [--config FILE]", NULL-ended. */
typedef struct pv_job {
	const char *key;
	const char *args[4];
} pv_job;
#define PV_NJOBS 4
extern const pv_job pv_jobs[PV_NJOBS];
extern const pv_opt pv_keys_schedule[]; /* the keys of those jobs */

int cmd_upload(pv_global *g, int argc, char **argv);
int cmd_backup(pv_global *g, int argc, char **argv);
int cmd_restore(pv_global *g, int argc, char **argv);
int cmd_verify(pv_global *g, int argc, char **argv);
int cmd_list(pv_global *g, int argc, char **argv);
int cmd_status(pv_global *g, int argc, char **argv);
int cmd_prune(pv_global *g, int argc, char **argv);
int cmd_schedule(pv_global *g, int argc, char **argv);
int cmd_daemon(pv_global *g, int argc, char **argv);
int cmd_config(pv_global *g, int argc, char **argv);
int cmd_leftovers(pv_global *g, int argc, char **argv);

#endif
