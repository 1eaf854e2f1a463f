/*
 * tests/fuzz/fuzz_members.c — libFuzzer target: the JSON members a restore reads
 * (pgvault.json, roles.json, pre-data.json, data.json, post-data.json), one at a time, in an
 * otherwise valid bundle whose manifest carries the fuzzed member's checksum, so the input
 * reaches the shape checks and everything after them.  The first byte picks the member.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"

static const char *const members[] = {PV_MEMBER_HEADER, "roles.json", "pre-data.json",
                                      "data.json", "post-data.json"};
#define NMEMBERS (sizeof members / sizeof *members)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_init();
	const fz_bundle *f = fz_fixture();
	for (size_t k = 0; k < NMEMBERS; k++)
		for (int i = 0; i < f->n; i++)
			if (strcmp(f->name[i], members[k]) == 0) {
				pv_buf b = PV_BUF_INIT;
				pv_buf_putc(&b, (char)k);
				pv_buf_add(&b, f->data[i].data, f->data[i].len);
				fz_seed("members", members[k], b.data, b.len);
				pv_buf_free(&b);
			}
	if (getenv("FZ_WRITE_SEEDS"))
		exit(0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	pv_buf tar = PV_BUF_INIT;
	if (fz_replaced(members[data[0] % NMEMBERS], data + 1, size - 1, &tar) == 0)
		fz_verify(&tar);
	pv_buf_free(&tar);
	fz_done();
	return 0;
}
