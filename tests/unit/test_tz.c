/*
 * tests/unit/test_tz.c — util/tz: switching the local time zone and back (TZ set before,
 * unset before, nested switches, NULL as no switch), and known instants converted in
 * America/New_York and Europe/Berlin (skipped when the system has no tzdata).
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
#include <unistd.h>

#include "util/buf.h"
#include "util/tz.h"

#define SUMMER 1782907200 /* 2026-07-01 12:00:00 UTC */
#define WINTER 1768478400 /* 2026-01-15 12:00:00 UTC */

/* the test's own TZ, put back after each test */
static int
save_tz(void **state)
{
	const char *tz = getenv("TZ");
	*state = tz ? pv_strdup(tz) : NULL;
	return 0;
}

static int
restore_tz(void **state)
{
	int rc = *state ? setenv("TZ", *state, 1) : unsetenv("TZ");
	tzset();
	free(*state);
	return rc;
}

static int
have_zone(const char *name)
{
	const char *dir = getenv("TZDIR") ? getenv("TZDIR") : "/usr/share/zoneinfo";
	char *path = pv_asprintf("%s/%s", dir, name);
	int ok = access(path, R_OK) == 0;
	free(path);
	return ok;
}

/* the hour of instant t on the local wall clock */
static int
local_hour(time_t t)
{
	struct tm tm;
	assert_non_null(localtime_r(&t, &tm));
	return tm.tm_hour;
}

static void
test_restores_unset(void **state)
{
	pv_tz_saved s;

	unsetenv("TZ");
	tzset();
	assert_int_equal(pv_tz_push("Europe/Berlin", &s), 0);
	assert_string_equal(getenv("TZ"), "Europe/Berlin");
	pv_tz_pop(&s);
	assert_null(getenv("TZ"));
	assert_null(s.old);
	pv_tz_pop(&s); /* a second pop changes nothing */
	assert_null(getenv("TZ"));
}

static void
test_restores_set(void **state)
{
	pv_tz_saved outer, inner;

	assert_int_equal(setenv("TZ", "Asia/Tokyo", 1), 0);
	tzset();
	assert_int_equal(pv_tz_push(":America/New_York", &outer), 0);
	assert_string_equal(getenv("TZ"), ":America/New_York");
	assert_int_equal(pv_tz_push("UTC", &inner), 0);
	assert_string_equal(getenv("TZ"), "UTC");
	pv_tz_pop(&inner);
	assert_string_equal(getenv("TZ"), ":America/New_York");
	pv_tz_pop(&outer);
	assert_string_equal(getenv("TZ"), "Asia/Tokyo");
	if (have_zone("Asia/Tokyo"))
		assert_int_equal(local_hour(SUMMER), 21); /* tzset() was called: JST again */

	/* NULL switches nothing, and its pop restores nothing */
	assert_int_equal(pv_tz_push(NULL, &outer), 0);
	assert_string_equal(getenv("TZ"), "Asia/Tokyo");
	assert_int_equal(setenv("TZ", "Europe/Paris", 1), 0);
	pv_tz_pop(&outer);
	assert_string_equal(getenv("TZ"), "Europe/Paris");
}

static void
test_known_instants(void **state)
{
	static const struct {
		const char *tz;
		time_t t;
		int hour, isdst;
		long gmtoff;
	} cases[] = {
		{"America/New_York", SUMMER, 8, 1, -4 * 3600},  /* EDT */
		{"America/New_York", WINTER, 7, 0, -5 * 3600},  /* EST */
		{":America/New_York", WINTER, 7, 0, -5 * 3600}, /* the ":" form */
		{"Europe/Berlin", SUMMER, 14, 1, 2 * 3600},     /* CEST */
		{"Europe/Berlin", WINTER, 13, 0, 1 * 3600},     /* CET */
	};

	if (!have_zone("America/New_York") || !have_zone("Europe/Berlin")) {
		print_message("no tzdata (America/New_York, Europe/Berlin): conversions not checked\n");
		skip();
	}
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pv_tz_saved s;
		struct tm tm;
		assert_int_equal(pv_tz_push(cases[i].tz, &s), 0);
		assert_non_null(localtime_r(&cases[i].t, &tm));
		/* and back: the wall clock read in the zone is the same instant */
		struct tm wall = {.tm_year = tm.tm_year, .tm_mon = tm.tm_mon, .tm_mday = tm.tm_mday,
		                  .tm_hour = tm.tm_hour, .tm_min = tm.tm_min, .tm_isdst = -1};
		time_t back = mktime(&wall);
		pv_tz_pop(&s);
		if (tm.tm_hour != cases[i].hour || tm.tm_isdst != cases[i].isdst ||
		    tm.tm_gmtoff != cases[i].gmtoff || back != cases[i].t)
			fail_msg("%s at %lld: hour %d dst %d offset %ld, back %lld", cases[i].tz,
			         (long long)cases[i].t, tm.tm_hour, tm.tm_isdst, tm.tm_gmtoff, (long long)back);
		assert_int_equal(tm.tm_year + 1900, 2026);
		assert_int_equal(tm.tm_min, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_restores_unset, save_tz, restore_tz),
		cmocka_unit_test_setup_teardown(test_restores_set, save_tz, restore_tz),
		cmocka_unit_test_setup_teardown(test_known_instants, save_tz, restore_tz),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
