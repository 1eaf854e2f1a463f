/*
 * util/sigsafe.c — see sigsafe.h.  A lock-free atomic counter of running handlers: the
 * handler increments it before it reads anything, a writer unpublishes before it reads the
 * counter (both sequentially consistent), so either the handler sees the unpublished state
 * or the writer sees the handler and waits.  A handler that interrupts the waiting thread
 * itself finishes before that thread resumes, so the wait never deadlocks.
 */
#include "util/sigsafe.h"

#include <sched.h>
#include <stdatomic.h>

volatile sig_atomic_t pv_interrupted = 0;
volatile sig_atomic_t pv_cleanup_pending = 0;

static atomic_int running;

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the signal handler needs a lock-free counter");

void
pv_signal_enter(void)
{
	atomic_fetch_add(&running, 1);
}

void
pv_signal_leave(void)
{
	atomic_fetch_sub(&running, 1);
}

void
pv_signal_quiesce(void)
{
	while (atomic_load(&running) > 0)
		sched_yield();
}
