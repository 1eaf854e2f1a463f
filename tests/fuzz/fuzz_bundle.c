/*
 * tests/fuzz/fuzz_bundle.c — libFuzzer target: any bytes as a whole bundle, through the
 * bundle reader member by member (names, JSON members, decompression of row and large
 * object chunks) and through pv_bundle_verify, as verify and restore run it.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

static int
sink(void *arg, const char *data, size_t len)
{
	(void)arg;
	(void)data;
	(void)len;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_init();
	const pv_buf *t = fz_fixture_tar();
	fz_seed("bundle", "fixture.pgv", t->data, t->len);
	if (getenv("FZ_WRITE_SEEDS"))
		exit(0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_mem m;
	pv_source src;

	/* the reader on its own */
	fz_source(&src, &m, data, size);
	pv_bundle_reader *r = pv_br_new(&src, "fuzz");
	const char *name;
	int64_t msize;
	while (pv_br_next(r, &name, &msize) > 0) {
		size_t n = 0;
		while (name[n])
			n++;
		int rc;
		if (n > 4 && name[n - 4] == '.' && name[n - 3] == 'z' && name[n - 2] == 's' &&
		    name[n - 1] == 't') {
			int64_t raw;
			rc = pv_br_decompress(r, sink, NULL, &raw);
		} else {
			json_t *j = pv_br_read_json(r, 1 << 20);
			rc = j ? 0 : -1;
			json_decref(j);
		}
		char sha[65];
		if (rc < 0 && pv_br_member_sha(r, sha) < 0)
			break;
	}
	pv_br_free(r);

	/* the whole check */
	fz_source(&src, &m, data, size);
	json_t *man = NULL;
	int rc1 = pv_bundle_verify(&src, "fuzz", 1, &man);
	json_decref(man);
	char *msg1 = strdup(pv_errmsg());
	/* again with data members checked on 2 threads: the same verdict and message */
	fz_source(&src, &m, data, size);
	man = NULL;
	pv_err_clear();
	int rc2 = pv_bundle_verify(&src, "fuzz", 2, &man);
	json_decref(man);
	if (rc1 != rc2 || (rc1 < 0 && strcmp(msg1, pv_errmsg()) != 0)) {
		fprintf(stderr, "verify: serially %d (%s), on 2 threads %d (%s)\n", rc1, msg1, rc2,
		        pv_errmsg());
		abort();
	}
	free(msg1);
	fz_done();
	return 0;
}
