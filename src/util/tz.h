/*
 * util/tz.h — evaluating local time in a given time zone.  libc knows one local zone per
 * process, taken from the TZ environment variable, so the zone is switched for a stretch
 * of localtime_r()/mktime() calls and switched back after: pv_tz_push() then pv_tz_pop().
 * This changes the environment of the whole process, so it must not run concurrently with
 * other threads that read the environment or convert local times.
 */
#ifndef PV_UTIL_TZ_H
#define PV_UTIL_TZ_H

/* What pv_tz_push() replaced; filled by pv_tz_push(), emptied by pv_tz_pop(). */
typedef struct pv_tz_saved {
	int active;  /* the zone was switched and must be switched back */
	char *old;   /* the previous value of TZ; NULL when TZ was unset */
} pv_tz_saved;

/*
 * Make tz the local time zone: TZ is set to tz exactly as given (e.g. "Europe/Berlin" or
 * ":Europe/Berlin"; not checked here) and tzset() called.  tz NULL changes nothing (pop is
 * then a no-op too).  0, or -1 with pv_fail() if the environment cannot be changed; then
 * nothing changed and pv_tz_pop() is a no-op.
 */
int pv_tz_push(const char *tz, pv_tz_saved *s);

/*
 * Switch back to the zone before the matching pv_tz_push(): TZ gets its old value again,
 * or is unset if it was unset, and tzset() is called.  If the old value cannot be put back
 * (no memory), TZ is unset with a warning rather than left at the pushed zone.
 */
void pv_tz_pop(pv_tz_saved *s);

#endif
