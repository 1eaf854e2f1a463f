/*
 * util/sigsafe.h — sharing data with the signal handler across threads.  A signal can be
 * handled on any thread, while another thread changes what the handler reads (the
 * connections to cancel, the temporary file to remove).  The handler brackets its work with
 * pv_signal_enter()/pv_signal_leave(); a thread that is about to free or overwrite something
 * the handler may read first unpublishes it (an atomic store of NULL), then calls
 * pv_signal_quiesce(), which returns once no handler that could still see it is running.
 */
#ifndef PV_UTIL_SIGSAFE_H
#define PV_UTIL_SIGSAFE_H

#include <signal.h>

/* Set by the signal handler; polled by the code at its safe points (util/lock.c while
 * waiting, pg/cancel.c's pv_check_interrupt). */
extern volatile sig_atomic_t pv_interrupted;     /* the signal number, or 0 */
extern volatile sig_atomic_t pv_cleanup_pending; /* >0: let the code clean up first */

void pv_signal_enter(void); /* async-signal-safe */
void pv_signal_leave(void); /* async-signal-safe */
void pv_signal_quiesce(void);

#endif
