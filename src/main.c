/*
 * main.c — pgvault's entry point: global options, then one command (src/cmd/).
 */
#include <errno.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
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

enum { OPT_LIST = OPT_CMD_BASE, OPT_VERSION };

static const pv_opt options[] = {
	PV_OPT(0, "list", OPT_LIST, NULL, "list bundles: the same as pgvault list"),
	PV_OPT(0, "version", OPT_VERSION, NULL, "print the version and exit"),
	PV_OPT_END,
};

static const pv_command pgvault = {
	.name = NULL,
	.summary = "PostgreSQL backup and retention over libpq",
	.usage = "pgvault [GLOBAL OPTIONS] COMMAND [OPTIONS]",
	.opts = options,
	.exit_status = "0 ok, 1 failure, 2 usage or configuration error, 3 some databases failed,\n"
	               "4 locked, 5 backed up but the upload failed.",
	.footer = "Run \"pgvault COMMAND --help\" for a command's options.  See pgvault(1).",
	.commands = pv_commands,
};

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
	pv_global g;
	int opt, list = 0;
	memset(&g, 0, sizeof g);
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD)
	/* Buffers of a MiB and more (members being compressed, read or sent) come from mmap and
	 * go back at free.  glibc's default threshold follows the largest block freed, after
	 * which such buffers stay in each thread's heap: peak RSS then grew with the data
	 * (backup --jobs 2: 29 MiB for 1 GB, 39 MiB for 4 GB; 29 MiB for both with this). */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	/* No fastbins: a catalog of many objects is tens of thousands of small JSON nodes
	 * freed at once, and with fastbins every larger request after such frees consolidated
	 * them again (a quarter of a 5,000-table backup's CPU in malloc_consolidate and
	 * unlink_chunk); tcache still serves the small sizes. */
	mallopt(M_MXFAST, 0);
#endif
	pvj_init();
	umask(077);
	catch_signal(SIGINT);
	catch_signal(SIGTERM);
	catch_signal(SIGHUP);
	signal(SIGPIPE, SIG_IGN);

	/* hidden: the option tables, for tests/t/06-options.sh */
	if (argc == 2 && strcmp(argv[1], "--dump-options") == 0) {
		pv_opts_dump(&pgvault, stdout);
		return 0;
	}
	/* stop at the command name; the rest is the command's */
	pv_parser p;
	pv_opts_init(&p, &pgvault, 1);
	while ((opt = pv_next_option(&p, &g, argc, argv)) >= 0) {
		if (opt == OPT_LIST) {
			list = 1;
			break; /* what follows is list's: pgvault --list --db NAME */
		} else if (opt == OPT_VERSION) {
			printf("pgvault %s\n", PACKAGE_VERSION);
			return 0;
		}
	}
	if (opt == PV_OPTS_HELP)
		return 0;
	if (opt == PV_OPTS_ERROR)
		return PV_EXIT_USAGE;
	/* The command sees its name as argv[0]. */
	int cargc = argc - optind;
	char **cargv = argv + optind;
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
	for (const pv_command *const *c = pv_commands; *c; c++)
		if (strcmp(cmd, (*c)->name) == 0) {
			int rc = (*c)->run(&g, cargc, cargv);
			pv_global_free(&g);
			return finish(rc);
		}
	if (strcmp(cmd, "help") == 0) {
		pv_opts_help(&pgvault, stdout);
		return 0;
	}
	return pv_usage_error(NULL, "unknown command \"%s\"", cmd);
}
