/*
 * main.c — pgvault's entry point: global options, then one command (src/cmd/).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "pg/cancel.h"
#include "config.h"
#include "util/err.h"
#include "util/json.h"
#include "util/sigsafe.h"

static const char usage[] =
    "pgvault " PACKAGE_VERSION " - PostgreSQL backup and retention over libpq\n"
    "\n"
    "Usage: pgvault [GLOBAL OPTIONS] COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  backup    back up databases into verified bundles (one per database)\n"
    "  restore   restore a bundle into a new database\n"
    "  verify    check bundles completely\n"
    "  list      list bundles (also: pgvault --list)\n"
    "  upload    copy local bundles to the [s3] storage\n"
    "  prune     apply the retention policy\n"
    "  status    freshness check for monitoring\n"
    "  schedule  show, install or remove the cron entries of [schedule]\n"
    "  daemon    run the [schedule] jobs in the foreground (containers without cron)\n"
    "\n"
    "Global options (also accepted after the command):\n"
    "      --config FILE        configuration file (default " PV_DEFAULT_CONFIG ")\n"
    "      --storage DIR        local storage directory (default: [storage] dir,\n"
    "                           $PGVAULT_STORAGE, else " PV_DEFAULT_STORAGE ")\n"
    "  -h, --host HOST          server host or socket directory (default: libpq's)\n"
    "  -p, --port PORT          server port\n"
    "  -U, --username USER      user name (the password comes from PGPASSWORD or ~/.pgpass)\n"
    "      --maintenance-db DB  database or connection string (no password) for\n"
    "                           server-wide queries\n"
    "      --quiet, --verbose\n"
    "      --help, --version\n"
    "\n"
    "Run \"pgvault COMMAND --help\" for a command's options.  See pgvault(1).\n";

/* SIGINT/SIGTERM/SIGHUP: no half-written bundle stays behind (a crash or SIGKILL leaves
 * one, which the next run removes); a restore in progress has its queries cancelled and
 * undoes its work before pgvault dies of the signal. */
static void
on_signal(int sig)
{
	int saved = errno;
	pv_signal_enter();
	pv_interrupted = sig;
	pv_repo_signal_cleanup();
	pv_cancel_all();
	pv_signal_leave();
	if (!pv_cleanup_pending) {
		signal(sig, SIG_DFL);
		raise(sig);
	}
	errno = saved;
}

static void
catch_signal(int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* one handler at a time: the others wait while it runs */
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGHUP);
	sigaction(sig, &sa, NULL);
}

static int
finish(int rc)
{
	if (pv_interrupted) {
		signal(pv_interrupted, SIG_DFL);
		raise(pv_interrupted);
	}
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"list", no_argument, NULL, 'l'},
	    {"version", no_argument, NULL, 'V'},
	    PV_GLOBAL_LONGOPTS,
	    {NULL, 0, NULL, 0}};
	pv_global g;
	int opt, list = 0;
	memset(&g, 0, sizeof g);
	pvj_init();
	umask(077);
	catch_signal(SIGINT);
	catch_signal(SIGTERM);
	catch_signal(SIGHUP);
	signal(SIGPIPE, SIG_IGN);

	/* "+": stop at the command name; the rest is the command's */
	while ((opt = getopt_long(argc, argv, "+" PV_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == 'l')
			list = 1;
		else if (opt == 'V') {
			printf("pgvault %s\n", PACKAGE_VERSION);
			return 0;
		} else if (opt == OPT_HELP) {
			fputs(usage, stdout);
			return 0;
		} else if (!pv_global_option(&g, opt, optarg))
			return pv_usage_error(NULL, "invalid option");
	}
	/* The command sees its name as argv[0]. */
	int cargc = argc - optind;
	char **cargv = argv + optind;
	static const struct {
		const char *name;
		int (*fn)(pv_global *, int, char **);
	} cmds[] = {
		{"backup", cmd_backup}, {"restore", cmd_restore}, {"verify", cmd_verify},
		{"list", cmd_list}, {"status", cmd_status}, {"prune", cmd_prune},
		{"schedule", cmd_schedule}, {"daemon", cmd_daemon}, {"upload", cmd_upload},
	};
	if (list) {
		static char name[] = "list";
		char *v[64];
		int n = 0;
		v[n++] = name;
		for (int i = 0; i < cargc && n < 63; i++)
			v[n++] = cargv[i];
		v[n] = NULL;
		int rc = cmd_list(&g, n, v);
		pv_global_free(&g);
		return finish(rc);
	}
	if (cargc == 0)
		return pv_usage_error(NULL, "no command given");
	const char *cmd = cargv[0];
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strcmp(cmd, cmds[i].name) == 0) {
			int rc = cmds[i].fn(&g, cargc, cargv);
			pv_global_free(&g);
			return finish(rc);
		}
	if (strcmp(cmd, "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	return pv_usage_error(NULL, "unknown command \"%s\"", cmd);
}
