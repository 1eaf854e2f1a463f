/*
 * tests/fuzz/fuzz_config.c — libFuzzer target: any bytes as the configuration file
 * (inih, the key table, every value type: integers, durations, booleans, lists, cron
 * expressions, time zones, URLs), then every getter on what loaded.  The file lives in a
 * memfd, so nothing is written to disk.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops/config.h"
#include "util/err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_init();
	static const char seed1[] =
	    "[connection]\nhost = /var/run/postgresql\nport = 5432\nuser = postgres\n"
	    "retries = 3\nretry_delay = 5s\n[storage]\ndir = /var/lib/pgvault\n"
	    "[backup]\ndatabases = app, shop_bot\nexclude = template1\nlock_timeout = 10m\n"
	    "[retention]\nkeep_days = 14\nkeep_min = 3\nkeep_weekly = 4\ntimezone = UTC\n"
	    "[schedule]\nbackup = 30 3 * * *\nprune = @daily\ntimezone = UTC\n"
	    "[db:shop_bot]\nkeep_days = 30\nmax_age = 26h\n";
	static const char seed2[] =
	    "; comment\n[notify]\nurl = https://example.invalid/hook\non_success = yes\n"
	    "timeout = 20s\n[s3]\nendpoint = http://127.0.0.1:9000\nregion = us-east-1\n"
	    "bucket = b\nprefix = pg/\nurl_style = path\nupload = always\n"
	    "[status]\nmax_age = 2d\n[security]\nsigning_key_file = /etc/pgvault/key\n";
	fz_seed("config", "basic.conf", seed1, sizeof seed1 - 1);
	fz_seed("config", "s3-notify.conf", seed2, sizeof seed2 - 1);
	if (getenv("FZ_WRITE_SEEDS"))
		exit(0);
	/* no PGVAULT_* variable may reach the parser from outside */
	extern char **environ;
	for (char **e = environ; *e;)
		if (strncmp(*e, "PGVAULT_", 8) == 0) {
			char name[256];
			size_t n = strcspn(*e, "=");
			snprintf(name, sizeof name, "%.*s", (int)n, *e);
			unsetenv(name);
		} else
			e++;
	fd = memfd_create("pgvault-fuzz.conf", 0);
	if (fd < 0 || fchmod(fd, 0600) < 0) /* (a file others can read must not hold secrets) */
		abort();
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	return 0;
}

static const char *const keys[][2] = {
    {"connection", "host"}, {"connection", "port"}, {"connection", "retries"},
    {"connection", "retry_delay"}, {"storage", "dir"}, {"backup", "databases"},
    {"backup", "exclude"}, {"backup", "lock_timeout"}, {"retention", "keep_days"},
    {"retention", "timezone"}, {"schedule", "backup"}, {"schedule", "timezone"},
    {"status", "max_age"}, {"notify", "url"}, {"notify", "on_success"}, {"s3", "url_style"},
    {"db", "keep_days"}, {"db", "max_age"}, {"db", "exclude"}};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	pv_config *c = pv_config_load(path);
	if (c) {
		json_t *dbs = pv_config_databases(c);
		const char *db = json_string_value(json_array_get(dbs, 0));
		for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
			long l;
			int b;
			const char *v = pv_config_get(c, db, keys[i][0], keys[i][1]);
			(void)pv_config_origin(c, db, keys[i][0], keys[i][1]);
			(void)pv_config_int(c, db, keys[i][0], keys[i][1], 0, &l);
			(void)pv_config_seconds(c, db, keys[i][0], keys[i][1], 0, &l);
			(void)pv_config_bool(c, db, keys[i][0], keys[i][1], 0, &b);
			json_decref(pv_config_list(c, db, keys[i][0], keys[i][1]));
			(void)pv_config_list_has(c, db, keys[i][0], keys[i][1], "app");
			if (v) {
				(void)pv_parse_duration(v);
				(void)pv_parse_bool(v);
			}
		}
		json_decref(dbs);
		pv_config_free(c);
	}
	fz_done();
	return 0;
}
