/*
 * util/err.h — the error of the current thread.
 *
 * Library code never prints or exits on failure: it records one message with
 * pv_fail() (returning -1), and each caller on the way up may prefix context
 * with pv_wrap() ("database \"x\": member data/3.1.copy.zst: ...").  The
 * command prints the final message once and maps pv_errcode() to an exit code.
 */
#ifndef PV_UTIL_ERR_H
#define PV_UTIL_ERR_H

/* Stable exit codes (documented in pgvault(1)). */
enum {
	PV_EXIT_OK = 0,
	PV_EXIT_FAIL = 1,
	PV_EXIT_USAGE = 2,
	PV_EXIT_PARTIAL = 3,
	PV_EXIT_LOCK = 4,
	PV_EXIT_UPLOAD = 5 /* backed up (the local bundle verified and kept), upload failed */
};

/* Record a failure (replacing any previous one); always returns -1. */
int pv_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, with an explicit exit code class (PV_EXIT_*). */
int pv_fail_code(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix context to the current message: "context: message"; returns -1. */
int pv_wrap(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* What kind of failure the current one is, beyond its message and exit code: set where
 * that is known (a server's SQLSTATE, a lost connection), kept by pv_wrap, reset by
 * pv_fail, pv_fail_code and pv_err_clear.  A caller may start over after such a failure. */
enum {
	PV_ERRK_NONE = 0,
	PV_ERRK_RECOVERY_CONFLICT, /* a standby cancelled a statement to go on replaying */
	PV_ERRK_CONNECTION_LOST    /* the server closed the session (restart, failover) */
};
void pv_err_set_kind(int kind);
int pv_err_kind(void);

const char *pv_errmsg(void);
int pv_errcode(void);
void pv_err_clear(void);

#endif
