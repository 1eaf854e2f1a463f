/*
 * util/log.c — stderr logging with levels (see log.h).
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int level = PV_LOG_NORMAL;

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
