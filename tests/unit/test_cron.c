/*
 * tests/unit/test_cron.c — the cron engine: parsing (fields, names, steps,
 * macros, errors naming the field), next firing instants in UTC and across
 * DST changes in Europe/Berlin and America/New_York, and time zone names.
 *
 * The expected instants are an oracle worked out by hand from the calendar
 * and these rules, not from the implementation:
 *   - 2026-01-01 is a Thursday; 2026-06-01 a Monday; 2028-02-29 exists
 *     (2028 is a leap year), 2100 is not a leap year.
 *   - Europe/Berlin is CET (UTC+1) in winter and CEST (UTC+2) in summer; it
 *     switches to CEST at 2026-03-29 01:00 UTC (wall 02:00 CET jumps to 03:00
 *     CEST, so wall 02:00-02:59 is skipped) and back at 2026-10-25 01:00 UTC
 *     (wall 03:00 CEST falls back to 02:00 CET, so wall 02:00-02:59 occurs
 *     twice: first at 00:00-00:59 UTC, again at 01:00-01:59 UTC).
 *   - America/New_York is EST (UTC-5) / EDT (UTC-4); EDT starts at
 *     2026-03-08 07:00 UTC (wall 02:00 EST jumps to 03:00 EDT, 02:00-02:59
 *     skipped) and ends at 2026-11-01 06:00 UTC (wall 02:00 EDT falls back to
 *     01:00 EST, so wall 01:00-01:59 occurs first at 05:00-05:59 UTC and again
 *     at 06:00-06:59 UTC).
 *   - Each matching wall minute fires once, at its first occurrence; skipped
 *     matching minutes fire at the end of the gap, collapsed into one firing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/cron.h"
#include "util/err.h"

/* ---- helpers ------------------------------------------------------------------------ */

static int
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * "YYYY-MM-DDTHH:MM:SSZ" to epoch seconds, by plainly counting days (on
 * purpose not sharing any code with the engine).
 */
static time_t
iso(const char *s)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, se;
	char z;

	if (sscanf(s, "%d-%d-%dT%d:%d:%d%c", &y, &mo, &d, &h, &mi, &se, &z) != 7 || z != 'Z')
		fail_msg("bad ISO time in test table: %s", s);
	long long days = 0;
	for (int i = 1970; i < y; i++)
		days += is_leap(i) ? 366 : 365;
	for (int i = 1; i < mo; i++)
		days += mdays[i - 1] + (i == 2 && is_leap(y));
	days += d - 1;
	return (time_t)(days * 86400 + h * 3600 + mi * 60 + se);
}

static const char *
show(time_t t, char buf[32])
{
	struct tm tm;
	if (t == -1)
		return "-1 (none)";
	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* ---- next firing instants ----------------------------------------------------------- */

struct next_case {
	const char *expr;
	const char *tz;    /* NULL = UTC */
	const char *after;
	const char *want;  /* NULL = does not fire within 5 years */
	const char *why;   /* how the expected value follows */
};

#define BER "Europe/Berlin"
#define NYC "America/New_York"

static const struct next_case next_cases[] = {
	/* -- basics, UTC ------------------------------------------------------------------- */
	{"* * * * *", NULL, "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z",
	 "strictly after: the current minute does not count"},
	{"* * * * *", NULL, "2026-01-01T00:00:30Z", "2026-01-01T00:01:00Z",
	 "mid-minute: the next whole minute"},
	{"0,15,45 * * * *", NULL, "2026-01-01T10:15:00Z", "2026-01-01T10:45:00Z",
	 "list: 15 is done, 45 is next in the hour"},
	{"5 10-12 * * *", NULL, "2026-01-01T12:05:00Z", "2026-01-02T10:05:00Z",
	 "range of hours exhausted for the day: first hour of the range tomorrow"},
	{"5 10-12 * * *", NULL, "2026-01-01T10:05:00Z", "2026-01-01T11:05:00Z",
	 "range of hours: the next hour in it"},
	{"*/15 * * * *", NULL, "2026-01-01T10:50:00Z", "2026-01-01T11:00:00Z",
	 "*/15 = 0,15,30,45: after :50 comes :00 of the next hour"},
	{"*/15 * * * *", NULL, "2026-01-01T10:15:00Z", "2026-01-01T10:30:00Z",
	 "*/15: :15 -> :30"},
	{"1-10/3 * * * *", NULL, "2026-01-01T10:07:00Z", "2026-01-01T10:10:00Z",
	 "1-10/3 = 1,4,7,10"},
	{"1-10/3 * * * *", NULL, "2026-01-01T10:10:00Z", "2026-01-01T11:01:00Z",
	 "1-10/3 = 1,4,7,10: after 10 wraps to :01 of the next hour"},
	{"5/20 * * * *", NULL, "2026-01-01T10:06:00Z", "2026-01-01T10:25:00Z",
	 "5/20 = 5-59/20 = 5,25,45"},
	{"5/20 * * * *", NULL, "2026-01-01T10:45:00Z", "2026-01-01T11:05:00Z",
	 "5/20 = 5,25,45: after 45 wraps to :05"},
	{"59 23 31 12 *", NULL, "2026-01-01T00:00:00Z", "2026-12-31T23:59:00Z",
	 "last minute of the year"},
	{"0 12 1 * *", NULL, "2026-01-01T12:00:00Z", "2026-02-01T12:00:00Z",
	 "day-of-month only (day-of-week '*'): first of next month"},

	/* -- names ------------------------------------------------------------------------- */
	{"0 0 1 JAN *", NULL, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z",
	 "JAN: next January 1st is a year later"},
	{"0 0 1 jan,Jul *", NULL, "2026-01-01T00:00:00Z", "2026-07-01T00:00:00Z",
	 "names are case-insensitive in lists: July 1st"},
	{"0 9 * * mon-fri", NULL, "2026-01-02T09:00:00Z", "2026-01-05T09:00:00Z",
	 "mon-fri: Friday Jan 2 -> Monday Jan 5"},
	{"0 9 * * mon-fri", NULL, "2026-01-01T09:30:00Z", "2026-01-02T09:00:00Z",
	 "mon-fri: Thursday 09:30 -> Friday 09:00"},
	{"0 9 * * SUN", NULL, "2026-01-01T00:00:00Z", "2026-01-04T09:00:00Z",
	 "SUN: Thursday Jan 1 -> Sunday Jan 4"},
	{"0 9 * * 7", NULL, "2026-01-01T00:00:00Z", "2026-01-04T09:00:00Z",
	 "weekday 7 is Sunday: Jan 4"},
	{"0 9 * * 7/3", NULL, "2026-01-01T00:00:00Z", "2026-01-04T09:00:00Z",
	 "7/3 = 7-7/3 (7 is past the usual end 6): just Sunday, Jan 4"},
	{"0 9 * * 0", NULL, "2026-01-01T00:00:00Z", "2026-01-04T09:00:00Z",
	 "weekday 0 is Sunday: Jan 4"},
	{"0 6 * * fri-sun", NULL, "2026-01-04T06:00:00Z", "2026-01-09T06:00:00Z",
	 "fri-sun = Fri,Sat,Sun: Sunday Jan 4 -> Friday Jan 9"},
	{"0 6 * * 5-7", NULL, "2026-01-03T06:00:00Z", "2026-01-04T06:00:00Z",
	 "5-7 = Fri,Sat,Sun: Saturday Jan 3 -> Sunday Jan 4"},
	{"30 4 * jun-aug sat", NULL, "2026-01-01T00:00:00Z", "2026-06-06T04:30:00Z",
	 "June 1 2026 is a Monday, so the first Saturday of jun-aug is June 6"},

	/* -- macros ------------------------------------------------------------------------ */
	{"@yearly", NULL, "2026-06-15T12:00:00Z", "2027-01-01T00:00:00Z", "@yearly = 0 0 1 1 *"},
	{"@annually", NULL, "2026-06-15T12:00:00Z", "2027-01-01T00:00:00Z",
	 "@annually = 0 0 1 1 *"},
	{"@monthly", NULL, "2026-01-31T00:00:00Z", "2026-02-01T00:00:00Z", "@monthly = 0 0 1 * *"},
	{"@weekly", NULL, "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z",
	 "@weekly = 0 0 * * 0: Thursday -> Sunday Jan 4"},
	{"@daily", NULL, "2026-01-01T23:59:59Z", "2026-01-02T00:00:00Z", "@daily = 0 0 * * *"},
	{"@midnight", NULL, "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z",
	 "@midnight = 0 0 * * *"},
	{"@hourly", NULL, "2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z", "@hourly = 0 * * * *"},
	{"  @HOURLY  ", NULL, "2026-01-01T10:59:00Z", "2026-01-01T11:00:00Z",
	 "macros are case-insensitive, surrounding blanks ignored"},

	/* -- month ends and leap days ------------------------------------------------------ */
	{"0 0 31 * *", NULL, "2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z",
	 "the 31st: February has none"},
	{"0 0 31 * *", NULL, "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z",
	 "the 31st: April has 30 days"},
	{"0 0 31 * *", NULL, "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z",
	 "the 31st: July and August both have 31 days"},
	{"0 0 31 * *", NULL, "2026-08-31T00:00:00Z", "2026-10-31T00:00:00Z",
	 "the 31st: September has 30 days"},
	{"0 0 29 2 *", NULL, "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z",
	 "Feb 29: next leap year is 2028"},
	{"0 0 29 2 *", NULL, "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z",
	 "Feb 29 after 2028: 2032"},
	{"0 0 29 2 *", NULL, "2096-03-01T00:00:00Z", NULL,
	 "2100 is no leap year, so the next Feb 29 is 2104, beyond 5 years"},
	{"0 0 30 2 *", NULL, "2026-01-01T00:00:00Z", NULL, "February 30th never exists"},
	{"0 0 31 4,6,9,11 *", NULL, "2026-01-01T00:00:00Z", NULL,
	 "30-day months have no 31st"},

	/* -- day-of-month / day-of-week ---------------------------------------------------- */
	{"0 12 13 * FRI", NULL, "2026-01-01T00:00:00Z", "2026-01-02T12:00:00Z",
	 "both restricted -> OR: Friday Jan 2 matches by weekday"},
	{"0 12 13 * FRI", NULL, "2026-01-09T12:00:00Z", "2026-01-13T12:00:00Z",
	 "both restricted -> OR: Tuesday Jan 13 matches by day of month"},
	{"0 12 13 * FRI", NULL, "2026-01-13T12:00:00Z", "2026-01-16T12:00:00Z",
	 "both restricted -> OR: then Friday Jan 16"},
	{"0 12 * * FRI", NULL, "2026-01-01T00:00:00Z", "2026-01-02T12:00:00Z",
	 "day-of-month '*': weekday alone decides"},
	{"0 0 */2 * 1", NULL, "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z",
	 "vixie: a field starting with '*' counts as unrestricted, so AND: odd days that are "
	 "Mondays (Jan 5, 19)"},
	{"0 0 */2 * 1", NULL, "2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z",
	 "odd Mondays: Jan 12 is even, so Jan 19"},

	/* -- time zones without DST changes ------------------------------------------------ */
	{"0 0 * * *", "", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "\"\" is UTC"},
	{"0 0 * * *", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "\"UTC\" is UTC"},
	{"0 0 * * *", BER, "2026-01-01T00:00:00Z", "2026-01-01T23:00:00Z",
	 "Berlin midnight in winter is 23:00 UTC the day before (CET, UTC+1)"},
	{"0 0 * * *", BER, "2026-07-01T00:00:00Z", "2026-07-01T22:00:00Z",
	 "Berlin midnight in summer is 22:00 UTC (CEST, UTC+2)"},
	{"0 9 * * mon", NYC, "2026-01-01T00:00:00Z", "2026-01-05T14:00:00Z",
	 "New York 09:00 EST on Monday Jan 5 = 14:00 UTC"},

	/* -- Europe/Berlin spring forward, 2026-03-29 01:00 UTC ---------------------------- */
	{"30 2 * * *", BER, "2026-03-28T00:00:00Z", "2026-03-28T01:30:00Z",
	 "the day before: 02:30 CET = 01:30 UTC"},
	{"30 2 * * *", BER, "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z",
	 "02:30 is skipped: fires at the gap's end, 03:00 CEST = 01:00 UTC"},
	{"30 2 * * *", BER, "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z",
	 "then 02:30 CEST the next day = 00:30 UTC"},
	{"0 2 29 3 *", BER, "2026-01-01T00:00:00Z", "2026-03-29T01:00:00Z",
	 "a yearly job at the skipped 02:00 fires at 03:00 CEST"},
	{"0 * * * *", BER, "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z",
	 "hourly: after 01:00 CET, skipped 02:00 and real 03:00 collapse into 01:00 UTC"},
	{"0 * * * *", BER, "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z",
	 "hourly: then 04:00 CEST = 02:00 UTC"},
	{"*/30 * * * *", BER, "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z",
	 "*/30: after 01:30 CET, skipped 02:00, 02:30 and 03:00 fire once at 01:00 UTC"},
	{"*/30 * * * *", BER, "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z",
	 "*/30: then 03:30 CEST = 01:30 UTC"},
	{"* * * * *", BER, "2026-03-29T00:59:30Z", "2026-03-29T01:00:00Z",
	 "every minute: 01:59:30 CET -> 03:00 CEST"},

	/* -- Europe/Berlin fall back, 2026-10-25 01:00 UTC --------------------------------- */
	{"30 2 * * *", BER, "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z",
	 "02:30 occurs twice: fires at the first, 02:30 CEST = 00:30 UTC"},
	{"30 2 * * *", BER, "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z",
	 "not again at the second 02:30 (01:30 UTC): next day 02:30 CET = 01:30 UTC"},
	{"0 * * * *", BER, "2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z",
	 "hourly: 01:00 CEST -> 02:00 CEST = 00:00 UTC"},
	{"0 * * * *", BER, "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z",
	 "hourly: the repeated 02:00 (01:00 UTC) does not fire; 03:00 CET = 02:00 UTC"},
	{"*/30 * * * *", BER, "2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z",
	 "*/30: 02:00 CEST -> 02:30 CEST = 00:30 UTC"},
	{"*/30 * * * *", BER, "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z",
	 "*/30: the second 02:00 and 02:30 are skipped; 03:00 CET = 02:00 UTC"},
	{"*/30 * * * *", BER, "2026-10-25T01:10:00Z", "2026-10-25T02:00:00Z",
	 "*/30: from inside the repeated hour (02:10 CET) the next new minute is 03:00 CET"},

	/* -- America/New_York spring forward, 2026-03-08 07:00 UTC ------------------------- */
	{"30 2 * * *", NYC, "2026-03-07T00:00:00Z", "2026-03-07T07:30:00Z",
	 "the day before: 02:30 EST = 07:30 UTC"},
	{"30 2 * * *", NYC, "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z",
	 "02:30 is skipped: fires at the gap's end, 03:00 EDT = 07:00 UTC"},
	{"30 2 * * *", NYC, "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z",
	 "then 02:30 EDT = 06:30 UTC"},
	{"0 * * * *", NYC, "2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z",
	 "hourly: 01:00 EST -> skipped 02:00 and 03:00 EDT collapse into 07:00 UTC"},
	{"0 * * * *", NYC, "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z",
	 "hourly: then 04:00 EDT = 08:00 UTC"},

	/* -- America/New_York fall back, 2026-11-01 06:00 UTC ------------------------------ */
	{"30 1 * * *", NYC, "2026-10-31T12:00:00Z", "2026-11-01T05:30:00Z",
	 "01:30 occurs twice: first is 01:30 EDT = 05:30 UTC"},
	{"30 1 * * *", NYC, "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z",
	 "not at the second 01:30 (06:30 UTC): next day 01:30 EST = 06:30 UTC"},
	{"30 2 * * *", NYC, "2026-10-31T12:00:00Z", "2026-11-01T07:30:00Z",
	 "02:30 is not repeated (the repeated hour is 01:xx): 02:30 EST = 07:30 UTC"},
	{"0 * * * *", NYC, "2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z",
	 "hourly: 00:00 EDT -> 01:00 EDT = 05:00 UTC"},
	{"0 * * * *", NYC, "2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z",
	 "hourly: the repeated 01:00 EST (06:00 UTC) does not fire; 02:00 EST = 07:00 UTC"},
	{"*/30 * * * *", NYC, "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z",
	 "*/30: second 01:00 and 01:30 skipped; 02:00 EST = 07:00 UTC"},
	{"*/30 * * * *", NYC, "2026-11-01T06:15:00Z", "2026-11-01T07:00:00Z",
	 "*/30: from inside the repeated hour (01:15 EST) -> 02:00 EST"},
	{"* * * * *", NYC, "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z",
	 "every minute: all of 01:xx fired the first time round; next new minute 02:00 EST"},
	{"* * * * *", NYC, "2026-11-01T05:58:00Z", "2026-11-01T05:59:00Z",
	 "every minute: 01:58 EDT -> 01:59 EDT"},
};

static void
test_next_table(void **state)
{
	int bad = 0;

	for (size_t i = 0; i < sizeof next_cases / sizeof next_cases[0]; i++) {
		const struct next_case *k = &next_cases[i];
		char b1[32], b2[32];
		pv_cron *c = pv_cron_parse(k->expr);
		if (!c) {
			print_error("case %zu \"%s\": parse failed: %s\n", i, k->expr, pv_errmsg());
			bad++;
			continue;
		}
		time_t want = k->want ? iso(k->want) : (time_t)-1;
		time_t got = pv_cron_next(c, iso(k->after), k->tz);
		if (got != want) {
			print_error("case %zu \"%s\" tz=%s after %s: want %s, got %s (%s)\n", i,
			            k->expr, k->tz ? k->tz : "(null)", k->after, show(want, b1),
			            show(got, b2), k->why);
			bad++;
		}
		pv_cron_free(c);
	}
	assert_true(sizeof next_cases / sizeof next_cases[0] >= 40);
	assert_int_equal(bad, 0);
}

/* Walk a whole day of firings across each transition: each wall minute once. */
static void
walk(const char *expr, const char *tz, const char *from, const char *const *want, size_t n)
{
	pv_cron *c = pv_cron_parse(expr);
	time_t t = iso(from);
	char b1[32];

	assert_non_null(c);
	for (size_t i = 0; i < n; i++) {
		t = pv_cron_next(c, t, tz);
		if (t != iso(want[i]))
			fail_msg("%s in %s, step %zu: want %s, got %s", expr, tz, i, want[i],
			         show(t, b1));
	}
	pv_cron_free(c);
}

static void
test_walk_transitions(void **state)
{
	/* Berlin fall back: wall 01:30 CEST, 02:00 CEST, 02:30 CEST, (02:00, 02:30 CET
	 * skipped), 03:00 CET, 03:30 CET. */
	static const char *const ber_fall[] = {
		"2026-10-24T23:30:00Z", "2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z",
		"2026-10-25T02:00:00Z", "2026-10-25T02:30:00Z",
	};
	/* Berlin spring forward: 01:00 CET, 01:30 CET, (02:00, 02:30 skipped; with 03:00 one
	 * firing at 01:00 UTC), 03:30 CEST, 04:00 CEST. */
	static const char *const ber_spring[] = {
		"2026-03-29T00:00:00Z", "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z",
		"2026-03-29T01:30:00Z", "2026-03-29T02:00:00Z",
	};
	/* New York hourly fall back: 00:00 EDT, 01:00 EDT, (01:00 EST skipped), 02:00 EST,
	 * 03:00 EST. */
	static const char *const nyc_fall[] = {
		"2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z",
		"2026-11-01T08:00:00Z",
	};
	/* New York hourly spring forward: 00:00 EST, 01:00 EST, (02:00 skipped, collapsed
	 * with) 03:00 EDT, 04:00 EDT. */
	static const char *const nyc_spring[] = {
		"2026-03-08T05:00:00Z", "2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z",
		"2026-03-08T08:00:00Z",
	};

	walk("*/30 * * * *", BER, "2026-10-24T23:00:00Z", ber_fall, 5);
	walk("*/30 * * * *", BER, "2026-03-28T23:30:00Z", ber_spring, 5);
	walk("0 * * * *", NYC, "2026-11-01T03:30:00Z", nyc_fall, 4);
	walk("@hourly", NYC, "2026-03-08T04:30:00Z", nyc_spring, 4);
}

static void
test_next_utc_default(void **state)
{
	pv_cron *c = pv_cron_parse("17 3 * * *");
	time_t after = iso("2026-05-05T12:00:00Z");

	assert_non_null(c);
	time_t a = pv_cron_next(c, after, NULL);
	assert_int_equal(a, iso("2026-05-06T03:17:00Z"));
	assert_int_equal(pv_cron_next(c, after, ""), a);
	assert_int_equal(pv_cron_next(c, after, "UTC"), a);
	assert_int_equal(pv_cron_next(c, after, "Etc/UTC"), a);
	pv_cron_free(c);
}

/* next() sets TZ while it works and must put it back as it was. */
static void
test_next_restores_tz(void **state)
{
	pv_cron *c = pv_cron_parse("0 0 * * *");
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	assert_non_null(c);
	unsetenv("TZ");
	assert_true(pv_cron_next(c, 0, BER) > 0);
	assert_null(getenv("TZ"));

	setenv("TZ", "Asia/Tokyo", 1);
	assert_true(pv_cron_next(c, 0, NYC) > 0);
	assert_string_equal(getenv("TZ"), "Asia/Tokyo");

	if (old)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(old);
	pv_cron_free(c);
}

static void
test_next_bad_tz(void **state)
{
	pv_cron *c = pv_cron_parse("0 0 * * *");

	assert_non_null(c);
	pv_err_clear();
	assert_int_equal(pv_cron_next(c, 0, "Mars/Base"), -1);
	assert_non_null(strstr(pv_errmsg(), "Mars/Base"));
	pv_cron_free(c);

	/* Never firing is -1 too, with a message saying so. */
	c = pv_cron_parse("0 0 30 2 *");
	assert_non_null(c);
	pv_err_clear();
	assert_int_equal(pv_cron_next(c, 0, BER), -1);
	assert_non_null(strstr(pv_errmsg(), "does not fire in the next 5 years"));
	pv_cron_free(c);
}

static double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Far-away firings are found by skipping months and days, not minutes. */
static void
test_next_fast(void **state)
{
	pv_cron *leap = pv_cron_parse("0 0 29 2 *");
	pv_cron *never = pv_cron_parse("0 0 30 2 *");
	time_t after = iso("2028-03-01T00:00:00Z");

	assert_non_null(leap);
	assert_non_null(never);
	double t0 = now_ms();
	for (int i = 0; i < 20; i++) {
		assert_int_equal(pv_cron_next(leap, after, NULL), iso("2032-02-29T00:00:00Z"));
		assert_int_equal(pv_cron_next(leap, after, BER), iso("2032-02-28T23:00:00Z"));
		assert_int_equal(pv_cron_next(never, after, NYC), -1);
	}
	double per = (now_ms() - t0) / 60;
	if (per > 10)
		fail_msg("next() took %.2f ms per call", per);
	pv_cron_free(leap);
	pv_cron_free(never);
}

/* ---- parse errors ------------------------------------------------------------------- */

static void
test_parse_errors(void **state)
{
	static const struct {
		const char *expr;
		const char *field;  /* must appear in the message */
		const char *detail; /* and so must this */
	} cases[] = {
		{"", "empty", ""},
		{"   ", "empty", ""},
		{"* * * *", "4 fields", "minute hour day-of-month month day-of-week"},
		{"* * * * * *", "6 fields", "expected 5"},
		{"60 * * * *", "minute field", "60 is out of range 0-59"},
		{"* 24 * * *", "hour field", "out of range 0-23"},
		{"* * 0 * *", "day-of-month field", "out of range 1-31"},
		{"* * 32 * *", "day-of-month field", "out of range 1-31"},
		{"* * * 13 *", "month field", "out of range 1-12"},
		{"* * * 0 *", "month field", "out of range 1-12"},
		{"* * * * 8", "day-of-week field", "out of range 0-7"},
		{"99999999999 * * * *", "minute field", "99999999999 is out of range"},
		{"*/99999999999 * * * *", "minute field", "step 99999999999 is out of range 1-60"},
		{"* * * FOO *", "month field", "unknown name \"FOO\""},
		{"* * * JANUARY *", "month field", "unknown name"},
		{"* * * * MONDAY", "day-of-week field", "unknown name"},
		{"* * * * JAN", "day-of-week field", "unknown name \"JAN\""},
		{"* * * MON *", "month field", "unknown name \"MON\""},
		{"a * * * *", "minute field", "not allowed"},
		{"*/0 * * * *", "minute field", "step 0"},
		{"1-10/0 * * * *", "minute field", "step 0"},
		{"*/61 * * * *", "minute field", "step 61"},
		{"1-5/ * * * *", "minute field", "step"},
		{"*/x * * * *", "minute field", "step"},
		{"5-1 * * * *", "minute field", "reversed"},
		{"* * * * sat-mon", "day-of-week field", "reversed"},
		{"* * * dec-jan *", "month field", "reversed"},
		{"1,,2 * * * *", "minute field", "empty list item"},
		{"1, * * * *", "minute field", "empty list item"},
		{"* ,3 * * *", "hour field", "empty list item"},
		{"* * * * 1-", "day-of-week field", "missing"},
		{"-5 * * * *", "minute field", "unexpected '-'"},
		{"5x * * * *", "minute field", "unexpected 'x'"},
		{"** * * * *", "minute field", "unexpected '*'"},
		{"1-2-3 * * * *", "minute field", "unexpected '-'"},
		{"@reboot", "unknown macro \"@reboot\"", "@daily"},
		{"@dailyx", "unknown macro", ""},
		{"@daily 5", "macro takes no fields", ""},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pv_err_clear();
		pv_cron *c = pv_cron_parse(cases[i].expr);
		if (c)
			fail_msg("\"%s\" parsed but should not", cases[i].expr);
		const char *msg = pv_errmsg();
		char head[300];
		snprintf(head, sizeof head, "cron expression \"%s\": ", cases[i].expr);
		if (strncmp(msg, head, strlen(head)) != 0 || !strstr(msg, cases[i].field) ||
		    !strstr(msg, cases[i].detail))
			fail_msg("\"%s\": message \"%s\" lacks \"%s\" / \"%s\"", cases[i].expr, msg,
			         cases[i].field, cases[i].detail);
	}
	pv_err_clear();
	assert_null(pv_cron_parse(NULL));
	assert_non_null(strstr(pv_errmsg(), "cron expression"));
	pv_cron_free(NULL);
}

static void
test_parse_accepts(void **state)
{
	static const char *const ok[] = {
		"0-59 0-23 1-31 1-12 0-7", "*/1 */24 */31 */12 */7", "59 23 31 12 7",
		"\t0  0\t* * *  ", "0 0 * JAN-DEC SUN-SAT", "0 0 * Jan,feb,MAR mOn,WED",
		"0 0 1-31/2 * *", "0 0 * * 1/2", "0 0 * jan/3 *", "0 0 * * 5-7",
		"@annually", "@Weekly", "0,30 8-18/2 * * mon-fri", "0 0 * * *\n", "@daily\r\n",
	};

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		pv_cron *c = pv_cron_parse(ok[i]);
		if (!c)
			fail_msg("\"%s\" rejected: %s", ok[i], pv_errmsg());
		pv_cron_free(c);
	}
}

/* ---- time zones --------------------------------------------------------------------- */

static void
test_tz_valid(void **state)
{
	assert_true(pv_tz_valid("Europe/Berlin"));
	assert_true(pv_tz_valid("America/New_York"));
	assert_true(pv_tz_valid("UTC"));
	assert_true(pv_tz_valid("Etc/GMT+5"));

	static const char *const bad[] = {
		"Mars/Base", "", "Europe", "Europe/", "/etc/localtime", "../etc/passwd",
		"Europe/../UTC", "Europe//Berlin", "Europe/Berlin ", "right/UTC", "zone.tab",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pv_err_clear();
		if (pv_tz_valid(bad[i]))
			fail_msg("time zone \"%s\" accepted", bad[i]);
		assert_non_null(strstr(pv_errmsg(), "time zone"));
	}
	assert_false(pv_tz_valid(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_table),
		cmocka_unit_test(test_walk_transitions),
		cmocka_unit_test(test_next_utc_default),
		cmocka_unit_test(test_next_restores_tz),
		cmocka_unit_test(test_next_bad_tz),
		cmocka_unit_test(test_next_fast),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_accepts),
		cmocka_unit_test(test_tz_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
