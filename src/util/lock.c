/*
 * util/lock.c — flock-based locks (see lock.h).
 */
#include "util/lock.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/sigsafe.h"

struct pv_lock {
	int fd;
	int exclusive;
};

static double
monotonic(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The pid an exclusive holder recorded, if that process is still alive; else 0. */
static long
holder(int fd)
{
	char buf[32] = "";
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	long pid = strtol(buf, NULL, 10);
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM) ? pid : 0;
}

pv_lock *
pv_lock_take(const char *path, int exclusive, long timeout, const char *what)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EACCES) {
		/* made by another user (root's first try, say): say what to chown */
		int e = errno;
		struct stat st;
		if (stat(path, &st) == 0)
			pv_fail("cannot open lock file %s: %s (it belongs to uid %u, this is uid %u: chown -R the "
			        "storage directory to the user that runs pgvault)", path, strerror(e),
			        (unsigned)st.st_uid, (unsigned)geteuid());
		else
			pv_fail("cannot create lock file %s: %s (its directory belongs to another user: chown -R "
			        "the storage directory to the user that runs pgvault, uid %u)", path, strerror(e),
			        (unsigned)geteuid());
		return NULL;
	}
	if (fd < 0) {
		pv_fail("cannot open lock file %s: %s", path, strerror(errno));
		return NULL;
	}
	double start = monotonic();
	int waited = 0;
	for (;;) {
		if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			pv_fail("cannot lock %s: %s", path, strerror(errno));
			close(fd);
			return NULL;
		}
		double elapsed = monotonic() - start;
		if (elapsed >= (double)timeout || pv_interrupted) {
			long pid = holder(fd);
			char who[48] = "";
			if (pid)
				snprintf(who, sizeof who, " (pid %ld)", pid);
			pv_fail_code(4, "%s is locked by another pgvault run%s (waited %.1fs; see --lock-timeout)",
			             what, who, elapsed);
			close(fd);
			return NULL;
		}
		if (!waited++)
			pv_info("%s is locked by another pgvault run; waiting up to %lds", what, timeout);
		usleep(100000);
	}
	if (exclusive) {
		char buf[32];
		int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
		if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)n, 0) < 0)
			pv_debug("cannot record the pid in %s", path);
	}
	pv_lock *l = pv_malloc(sizeof *l);
	l->fd = fd;
	l->exclusive = exclusive;
	return l;
}

void
pv_lock_release(pv_lock *l)
{
	if (!l)
		return;
	if (l->exclusive && ftruncate(l->fd, 0) < 0)
		pv_debug("cannot clear the lock file");
	flock(l->fd, LOCK_UN);
	close(l->fd);
	free(l);
}
