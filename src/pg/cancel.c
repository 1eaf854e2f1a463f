/*
 * pg/cancel.c — query cancellation on signals (see cancel.h).
 */
#include "pg/cancel.h"

#include <pthread.h>
#include <string.h>

#include "util/err.h"

#define SLOTS 80

volatile sig_atomic_t pv_interrupted = 0;
volatile sig_atomic_t pv_cleanup_pending = 0;

static PGconn *conns[SLOTS];
static PGcancel *volatile cancels[SLOTS];
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
			cancels[i] = k;
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
			PGcancel *k = cancels[i];
			cancels[i] = NULL;
			conns[i] = NULL;
			PQfreeCancel(k);
		}
	pthread_mutex_unlock(&mu);
}

void
pv_cancel_all(void)
{
	char buf[256];
	for (int i = 0; i < SLOTS; i++) {
		PGcancel *k = cancels[i];
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
