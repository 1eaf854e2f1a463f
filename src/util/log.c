/*
 * util/log.c — stderr logging with levels (see log.h).
 */
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int level = PV_LOG_NORMAL;
static pthread_mutex_t out = PTHREAD_MUTEX_INITIALIZER; /* stderr: messages and the status line */
static int status_drawn;

/* under out */
static void
clear_status(void)
{
	if (status_drawn) {
		fputs("\r\033[K", stderr);
		status_drawn = 0;
	}
}

void
pv_log_status(const char *line)
{
	pthread_mutex_lock(&out);
	clear_status();
	if (line) {
		fputs(line, stderr);
		status_drawn = 1;
	}
	fflush(stderr);
	pthread_mutex_unlock(&out);
}

void
pv_log_set_level(int l)
{
	level = l;
}

int
pv_log_level(void)
{
	return level;
}

static void __attribute__((format(printf, 2, 0)))
emit(const char *tag, const char *fmt, va_list ap)
{
	char line[8192];
	vsnprintf(line, sizeof line, fmt, ap);
	pthread_mutex_lock(&out);
	clear_status();
	if (isatty(STDERR_FILENO)) {
		fprintf(stderr, "pgvault: %s%s\n", tag, line);
	} else {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(stderr, "%s pgvault: %s%s\n", ts, tag, line);
	}
	pthread_mutex_unlock(&out);
}

#define PV_LOG_FN(fn, minlevel, tag)            \
	void fn(const char *fmt, ...)               \
	{                                           \
		if (level < (minlevel))                 \
			return;                             \
		va_list ap;                             \
		va_start(ap, fmt);                      \
		emit(tag, fmt, ap);                     \
		va_end(ap);                             \
	}

PV_LOG_FN(pv_error, PV_LOG_QUIET, "error: ")
PV_LOG_FN(pv_warn, PV_LOG_QUIET, "warning: ")
PV_LOG_FN(pv_info, PV_LOG_NORMAL, "")
PV_LOG_FN(pv_debug, PV_LOG_VERBOSE, "")

double
pv_monotonic(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
