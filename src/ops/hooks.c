/*
 * ops/hooks.c — the operator's commands around a backup ([hooks], see hooks.h): run by
 * /bin/sh -c in a process group of their own, with the run's facts in the environment,
 * standard input from /dev/null, and a time limit after which the group is killed.
 */
#include "ops/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

extern char **environ;

int
pv_hook_run(const pv_config *cfg, const char *name, const char *const *vars)
{
	const char *cmd = pv_config_get(cfg, NULL, "hooks", name);
	if (!cmd)
		return 0;
	long timeout = 300;
	pv_config_seconds(cfg, NULL, "hooks", "timeout", 300, &timeout);
	/* the environment: ours, then the hook's variables (they win) */
	int n = 0, m = 0;
	while (environ[n])
		n++;
	while (vars && vars[m])
		m++;
	char **envp = pv_calloc((size_t)(n + m + 2), sizeof *envp);
	int k = 0;
	for (int i = 0; i < n; i++) {
		int shadowed = 0;
		for (int j = 0; j < m && !shadowed; j++) {
			const char *eq = strchr(vars[j], '='); /* layering: not SQL */
			size_t len = eq ? (size_t)(eq - vars[j]) + 1 : strlen(vars[j]);
			shadowed = strncmp(environ[i], vars[j], len) == 0;
		}
		if (!shadowed)
			envp[k++] = environ[i];
	}
	for (int j = 0; j < m; j++)
		envp[k++] = (char *)vars[j];
	char hookvar[64];
	snprintf(hookvar, sizeof hookvar, "PGVAULT_HOOK=%s", name);
	envp[k++] = hookvar;
	envp[k] = NULL;

	posix_spawnattr_t attr;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_init(&attr);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	pid_t pid;
	int err = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(envp);
	if (err != 0)
		return pv_fail("[hooks] %s: cannot start /bin/sh: %s", name, strerror(err));
	double t0 = pv_monotonic();
	int st = 0;
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return pv_fail("[hooks] %s: %s", name, strerror(errno));
		if (timeout > 0 && pv_monotonic() - t0 > (double)timeout) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			return pv_fail("[hooks] %s did not finish in %ld s ([hooks] timeout); killed", name, timeout);
		}
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		return pv_fail("[hooks] %s exited with status %d", name, WEXITSTATUS(st));
	return pv_fail("[hooks] %s was killed by signal %d", name, WTERMSIG(st));
}
