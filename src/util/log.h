/*
 * util/log.h — messages on stderr.  Plain "pgvault: ..." on a terminal,
 * timestamped lines otherwise (cron, daemon).  stdout is reserved for
 * command output (bundle ids, tables, JSON).
 */
#ifndef PV_UTIL_LOG_H
#define PV_UTIL_LOG_H

enum { PV_LOG_QUIET = 0, PV_LOG_NORMAL = 1, PV_LOG_VERBOSE = 2 };

void pv_log_set_level(int level);
int pv_log_level(void);
void pv_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pv_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pv_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pv_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A terminal's status line (util/progress.h): drawn in place of the previous one (NULL:
 * taken away); a message takes it away before it prints, and the next call redraws it. */
void pv_log_status(const char *line);
/* Seconds on the monotonic clock, for the durations --verbose reports. */
double pv_monotonic(void);

#endif
