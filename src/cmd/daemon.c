/*
 * cmd/daemon.c — `pgvault daemon`: a foreground scheduler for containers without cron.
 * Evaluates the [schedule] cron expressions (backup, prune, verify) in [schedule] timezone
 * (default UTC) and runs each job as a child process (`pgvault backup`, ...), one at a time:
 * a job never overlaps itself or another, a failing job is logged and the daemon carries
 * on, and a fire time that passes while a job runs is not made up later.
 * SIGTERM/SIGINT: finish the running job, then exit 0.  SIGHUP: reload the configuration
 * (a broken one is reported and the old one kept).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "ops/cron.h"
#include "util/err.h"
#include "util/log.h"
#include "util/names.h"

static const pv_opt options[] = {
	PV_OPT_INCLUDE(pv_keys_schedule),
	PV_OPT_KEY("schedule", "timezone"),
	PV_OPT_END,
};

const pv_command pv_cmd_daemon = {
	.name = "daemon",
	.summary = "run the [schedule] jobs in the foreground (containers without cron)",
	.usage = "pgvault daemon [--config FILE]",
	.description =
	    "Run the [schedule] jobs (backup, prune, verify = a cron expression) in the foreground,\n"
	    "in [schedule] timezone (default UTC).  Jobs run one at a time and never overlap;\n"
	    "SIGTERM or SIGINT lets the running job finish, then exits 0; SIGHUP reloads the\n"
	    "configuration.\n",
	.opts = options,
	.exit_status = "0 stopped by SIGTERM or SIGINT, 1 failure,\n"
	               "2 usage or configuration error (e.g. no jobs).",
	.run = cmd_daemon,
};

#define NJOBS PV_NJOBS

static volatile sig_atomic_t stop_requested, reload_requested;

static void
on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
on_hup(int sig)
{
	(void)sig;
	reload_requested = 1;
}

typedef struct job {
	pv_cron *cron;
	time_t next;
} job;

static int
load_jobs(pv_config *cfg, job *jobs, const char **tz)
{
	int n = 0;
	*tz = pv_config_get(cfg, NULL, "schedule", "timezone");
	for (int i = 0; i < NJOBS; i++) {
		pv_cron_free(jobs[i].cron);
		jobs[i].cron = NULL;
		const char *expr = pv_config_get(cfg, NULL, "schedule", pv_jobs[i].key);
		if (!expr)
			continue;
		jobs[i].cron = pv_cron_parse(expr); /* validated when the file was read */
		jobs[i].next = jobs[i].cron ? pv_cron_next(jobs[i].cron, time(NULL), *tz) : -1;
		n += jobs[i].cron != NULL;
	}
	return n;
}

static int
run_job(const char *self, const char *cfgpath, const pv_job *todo)
{
	const char *name = todo->key;
	/* self [--config FILE] ARGS... */
	const char *argv[8];
	int n = 0;
	argv[n++] = self;
	if (cfgpath) {
		argv[n++] = "--config";
		argv[n++] = cfgpath;
	}
	for (const char *const *a = todo->args; *a; a++)
		argv[n++] = *a;
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid < 0) {
		pv_error("cannot start the %s job: %s", name, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		/* the job ignores SIGINT/SIGTERM sent to the daemon's process group? no: it gets
		 * its own group, so a Ctrl-C on the daemon lets the job finish */
		setpgid(0, 0);
		execv(self, (char *const *)argv);
		_exit(127);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return code;
}

int
cmd_daemon(pv_global *g, int argc, char **argv)
{
	pv_parser p;
	int opt;
	pv_opts_init(&p, &pv_cmd_daemon, 0);
	while ((opt = pv_next_option(&p, g, argc, argv)) >= 0)
		; /* no options of its own */
	if (opt != -1)
		return opt == PV_OPTS_HELP ? PV_EXIT_OK : PV_EXIT_USAGE;
	if (optind < argc)
		return pv_usage_error("daemon", "unexpected argument \"%s\"", argv[optind]);
	int rc = pv_setup(g);
	if (rc != PV_EXIT_OK)
		return rc;
	/* it runs backup, prune and verify: as schedule install, no problem is let pass */
	if (pv_config_problems(g->cfg, NULL, NULL) < 0) {
		pv_error("%s; not starting (pgvault config check lists the problems)", pv_errmsg());
		return PV_EXIT_USAGE;
	}

	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) {
		pv_error("cannot find the pgvault executable: %s", strerror(errno));
		return PV_EXIT_FAIL;
	}
	self[n] = '\0';
	char cfgpath[PATH_MAX];
	const char *cfg = NULL;
	if (access(pv_config_path(g->cfg), R_OK) == 0 && realpath(pv_config_path(g->cfg), cfgpath))
		cfg = cfgpath;

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);

	job jobs[NJOBS];
	memset(jobs, 0, sizeof jobs);
	const char *tz;
	if (load_jobs(g->cfg, jobs, &tz) == 0) {
		pv_error("[schedule] in %s defines no jobs (backup, prune or verify = a cron expression)",
		         pv_config_path(g->cfg));
		return PV_EXIT_USAGE;
	}
	pv_info("daemon started (pid %ld, time zone %s)", (long)getpid(), tz ? tz : "UTC");
	for (int i = 0; i < NJOBS; i++)
		if (jobs[i].cron) {
			char iso[21];
			pv_iso8601(jobs[i].next, iso);
			pv_info("next %s at %s", pv_jobs[i].key, iso);
		}
	while (!stop_requested) {
		if (reload_requested) {
			reload_requested = 0;
			pv_config *fresh = pv_config_load(cfg ? cfg : g->config);
			if (!fresh || pv_config_problems(fresh, NULL, NULL) < 0) {
				pv_error("reload failed, keeping the previous configuration: %s", pv_errmsg());
				pv_config_free(fresh);
			} else {
				pv_config_free(g->cfg);
				g->cfg = fresh;
				load_jobs(g->cfg, jobs, &tz);
				pv_info("configuration reloaded");
			}
		}
		time_t now = time(NULL);
		int due = -1;
		for (int i = 0; i < NJOBS; i++)
			if (jobs[i].cron && jobs[i].next >= 0 && jobs[i].next <= now && due < 0)
				due = i;
		if (due < 0) {
			sleep(1); /* interrupted by signals; cheap enough at one wake-up a second */
			continue;
		}
		pv_info("running %s", pv_jobs[due].key);
		time_t t0 = time(NULL);
		int code = run_job(self, cfg, &pv_jobs[due]);
		if (code == 0)
			pv_info("%s finished in %lds", pv_jobs[due].key, (long)(time(NULL) - t0));
		else
			pv_error("%s failed with exit status %d after %lds", pv_jobs[due].key, code,
			         (long)(time(NULL) - t0));
		/* the job's own fire times that passed meanwhile are skipped (no pile-up); another
		 * job that came due meanwhile runs next, once */
		now = time(NULL);
		jobs[due].next = pv_cron_next(jobs[due].cron, now, tz);
	}
	pv_info("daemon stopping");
	for (int i = 0; i < NJOBS; i++)
		pv_cron_free(jobs[i].cron);
	return PV_EXIT_OK;
}
