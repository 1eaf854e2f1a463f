/*
 * pg/cancel.c — query cancellation on signals (see cancel.h).
 */
#include "pg/cancel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "util/err.h"
#include "util/sigsafe.h"

#define SLOTS 80

/* conns and the mutex: registering threads only; cancels: read by the signal handler too */
static PGconn *conns[SLOTS];
static _Atomic(PGcancel *) cancels[SLOTS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

void
pv_cancel_register(PGconn *c)
{
	if (!c)
		return;
	PGcancel *k = PQgetCancel(c);
	if (!k)
		return;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < SLOTS; i++)
		if (!conns[i]) {
			conns[i] = c;
			atomic_store(&cancels[i], k);
			k = NULL;
			break;
		}
	pthread_mutex_unlock(&mu);
	if (k)
		PQfreeCancel(k);
}

void
pv_cancel_unregister(PGconn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < SLOTS; i++)
		if (conns[i] == c) {
			PGcancel *k = atomic_exchange(&cancels[i], NULL);
			conns[i] = NULL;
			pv_signal_quiesce(); /* no handler still uses k */
			PQfreeCancel(k);
		}
	pthread_mutex_unlock(&mu);
}

void
pv_cancel_all(void)
{
	char buf[256];
	for (int i = 0; i < SLOTS; i++) {
		PGcancel *k = atomic_load(&cancels[i]);
		if (k)
			PQcancel(k, buf, sizeof buf);
	}
}

int
pv_check_interrupt(void)
{
	if (pv_interrupted)
		return pv_fail("interrupted by signal %d", (int)pv_interrupted);
	return 0;
}
