/*
 * tests/fuzz/fuzz_cron.c — libFuzzer target: any text as a cron expression (fields,
 * ranges, steps, names, macros), and for those that parse, the next firing times from a
 * few instants in UTC and in a zone with daylight saving time.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "ops/cron.h"
#include "util/err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_init();
	static const char *const seeds[] = {"30 3 * * *", "*/15 0-6 1,15 * MON-FRI",
	                                    "0 2 29 FEB *", "@weekly", "5 4 * JAN-DEC/2 SUN",
	                                    "0 0 31 4 *", "0 */7 * * FRI-SUN"};
	char name[16];
	for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
		snprintf(name, sizeof name, "seed%zu", i + 1);
		fz_seed("cron", name, seeds[i], strlen(seeds[i]));
	}
	if (getenv("FZ_WRITE_SEEDS"))
		exit(0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256)
		return 0;
	char expr[257];
	memcpy(expr, data, size);
	expr[size] = '\0';
	pv_cron *c = pv_cron_parse(expr);
	if (c) {
		/* 2026-03-29 00:30 UTC (Europe's spring forward), 2026-10-25, 2028-02-28 */
		static const time_t at[] = {1774744200, 1792887000, 1835395200};
		for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
			(void)pv_cron_next(c, at[i], "UTC");
			(void)pv_cron_next(c, at[i], "Europe/Berlin");
		}
		pv_cron_free(c);
	}
	fz_done();
	return 0;
}
