/*
 * ops/cron.h — cron expressions: parsing and "when does this fire next".
 *
 * Five fields (minute hour day-of-month month day-of-week) or a macro, with
 * vixie-cron semantics, evaluated on the wall clock of an IANA time zone.
 */
#ifndef PV_OPS_CRON_H
#define PV_OPS_CRON_H

#include <time.h>

typedef struct pv_cron pv_cron;

/*
 * Parse a 5-field cron expression or a macro (@yearly @annually @monthly
 * @weekly @daily @midnight @hourly).  Fields take '*', numbers, ranges a-b,
 * lists a,b,c, steps '*'/n, a-b/n and a/n (= a-max/n), month names JAN-DEC
 * and weekday names SUN-SAT (case-insensitive, also in ranges; a range
 * ending in the name SUN, like FRI-SUN, ends on Sunday).  Weekday 0 and 7
 * are both Sunday.  As in vixie cron, when both day-of-month and
 * day-of-week are restricted (neither field starts with '*') a day matches
 * if either does; otherwise both must.  NULL with pv_fail() on error, the
 * message naming the offending field.
 */
pv_cron *pv_cron_parse(const char *expr);
void pv_cron_free(pv_cron *c);

/*
 * The first firing instant strictly after `after` (UTC epoch seconds), the
 * expression evaluated on the wall clock of the IANA zone tz (NULL, "" or
 * "UTC" mean UTC).  Every matching wall-clock minute fires once, at the
 * first instant it occurs; a matching minute that a spring-forward gap
 * skips fires at the first instant after the gap (several skipped matches
 * collapse into one firing).  -1 with pv_fail() if nothing fires within the
 * next 5 years (5 * 366 wall-clock days) or if tz is not a valid zone.
 * Temporarily sets the TZ environment variable (restored before returning):
 * not thread-safe.
 */
time_t pv_cron_next(const pv_cron *c, time_t after, const char *tz);

/*
 * Whether tz names a zone of the system zoneinfo ($TZDIR, by default
 * /usr/share/zoneinfo); "UTC" always is.  1 if valid; 0 with pv_fail()
 * saying why if not.
 */
int pv_tz_valid(const char *tz);

#endif
