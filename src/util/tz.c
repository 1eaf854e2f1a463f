/*
 * util/tz.c — switching the process's local time zone for a while (see tz.h).
 */
#include "util/tz.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

int
pv_tz_push(const char *tz, pv_tz_saved *s)
{
	s->active = 0;
	s->old = NULL;
	if (!tz)
		return 0;
	const char *cur = getenv("TZ");
	char *old = cur ? pv_strdup(cur) : NULL;
	if (setenv("TZ", tz, 1) < 0) {
		int e = errno;
		free(old);
		return pv_fail("cannot set the time zone to %s: %s", tz, strerror(e));
	}
	tzset();
	s->active = 1;
	s->old = old;
	return 0;
}

/* unsetenv() fails only for an invalid name, and "TZ" is valid; still, say so */
static void
unset_tz(void)
{
	if (unsetenv("TZ") < 0)
		pv_warn("cannot unset TZ: %s", strerror(errno));
}

void
pv_tz_pop(pv_tz_saved *s)
{
	if (!s->active)
		return;
	if (!s->old) {
		unset_tz();
	} else if (setenv("TZ", s->old, 1) < 0) {
		pv_warn("cannot set the time zone back to %s: %s; TZ is unset", s->old, strerror(errno));
		unset_tz();
	}
	tzset();
	free(s->old);
	s->old = NULL;
	s->active = 0;
}
