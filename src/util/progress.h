/*
 * util/progress.h — progress of long work, on stderr.  On a terminal one status line is
 * redrawn in place a few times a second (what, the current item, done of total, rate,
 * ETA); otherwise (cron, the daemon, a pipe) a plain timestamped line every
 * PGVAULT_PROGRESS_INTERVAL seconds (default 30; 0: never).  Nothing with --quiet.
 *
 * One piece of work at a time per process: pv_progress_begin names it and its total (0 when
 * unknown), the engines add what they did from any thread, pv_progress_end takes the line
 * away.  The line is drawn through util/log.h (pv_log_status), whose messages take it away
 * before they print, so it never garbles them.
 */
#ifndef PV_UTIL_PROGRESS_H
#define PV_UTIL_PROGRESS_H

#include <stdint.h>

/* what: "backing up \"app\"" (copied); total: bytes expected (0: unknown; estimate: an
 * estimate, shown "~"); unit: "read", "loaded", "checked", "sent" (a literal). */
void pv_progress_begin(const char *what, int64_t total, int estimate, const char *unit);
/* The item in progress (a table, a member; copied), or NULL. */
void pv_progress_item(const char *item);
/* Done: bytes (towards the total) and rows (shown when any). */
void pv_progress_add(int64_t bytes, int64_t rows);
void pv_progress_end(void);

#endif
