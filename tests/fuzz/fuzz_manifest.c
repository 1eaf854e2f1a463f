/*
 * tests/fuzz/fuzz_manifest.c — libFuzzer target: any bytes as manifest.json of an
 * otherwise valid bundle, through pv_bundle_verify (the manifest's JSON, its members list
 * compared with the members read, its header fields and counts).
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_init();
	const fz_bundle *f = fz_fixture();
	for (int i = 0; i < f->n; i++)
		if (strcmp(f->name[i], PV_MEMBER_MANIFEST) == 0)
			fz_seed("manifest", "fixture.json", f->data[i].data, f->data[i].len);
	if (getenv("FZ_WRITE_SEEDS"))
		exit(0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pv_buf tar = PV_BUF_INIT;
	if (fz_replaced(PV_MEMBER_MANIFEST, data, size, &tar) == 0)
		fz_verify(&tar);
	pv_buf_free(&tar);
	fz_done();
	return 0;
}
