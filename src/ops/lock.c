/*
 * ops/lock.c — flock-based locks (see lock.h).
 */
#include "ops/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "pg/cancel.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

struct pv_lock {
	int fd;
};

pv_lock *
pv_lock_take(const char *path, int exclusive, long timeout, const char *what)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		pv_fail("cannot open lock file %s: %s", path, strerror(errno));
		return NULL;
	}
	time_t deadline = time(NULL) + timeout;
	int waited = 0;
	for (;;) {
		if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			pv_fail("cannot lock %s: %s", path, strerror(errno));
			close(fd);
			return NULL;
		}
		if (time(NULL) >= deadline || pv_interrupted) {
			char buf[32] = "";
			ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			pv_fail_code(4, "%s is locked by another pgvault run%s%s%s (waited %lds; see --lock-timeout)",
			             what, *buf ? " (pid " : "", buf, *buf ? ")" : "", timeout);
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
	return l;
}

void
pv_lock_release(pv_lock *l)
{
	if (!l)
		return;
	flock(l->fd, LOCK_UN);
	close(l->fd);
	free(l);
}
