/*
 * pg/cancel.h — stopping cleanly on SIGINT/SIGTERM.  Connections that run long statements
 * register here; the signal handler cancels their queries (PQcancel is async-signal-safe)
 * and sets pv_interrupted, so the code in progress fails through its ordinary error path,
 * which undoes what it started (drops a partly restored database, rolls back).  Code checks
 * pv_check_interrupt() between steps for the moments no query is running.
 */
#ifndef PV_PG_CANCEL_H
#define PV_PG_CANCEL_H

#include <libpq-fe.h>
#include "util/sigsafe.h" /* pv_interrupted, pv_cleanup_pending */

void pv_cancel_register(PGconn *c);
void pv_cancel_unregister(PGconn *c);
/* From the signal handler only. */
void pv_cancel_all(void);
/* -1 with "interrupted by signal N" once a signal arrived, else 0. */
int pv_check_interrupt(void);

#endif
