/*
 * tests/fuzz/fuzz_copy.c — libFuzzer target: the COPY-stream checker and the zstd
 * decoder of row members.  First byte: bit 7 clear, the rest is COPY text, compressed
 * into the first row member (its manifest entry counting the text's newlines as rows, so
 * a well-formed input verifies); bit 7 set, the rest is that member's compressed bytes as
 * they stand.  Bits 0-2 give the table's number of columns in data.json (0-7).
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/zstream.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_init();
	static const char seed1[] = "\x02" "1\tone\n2\ttwo\n3\t\\N\n";
	static const char seed2[] = "\x03" "a\tb\tc\n\\.\tx\\ty\t\\\\\n";
	static const char seed3[] = "\x00" "\n\n";
	fz_seed("copy", "two-columns", seed1, sizeof seed1 - 1);
	fz_seed("copy", "three-columns", seed2, sizeof seed2 - 1);
	fz_seed("copy", "no-columns", seed3, sizeof seed3 - 1);
	const fz_bundle *f = fz_fixture();
	for (int i = 0; i < f->n; i++)
		if (strcmp(f->name[i], "data/1.1.copy.zst") == 0) {
			pv_buf b = PV_BUF_INIT;
			pv_buf_putc(&b, (char)0x82);
			pv_buf_add(&b, f->data[i].data, f->data[i].len);
			fz_seed("copy", "compressed", b.data, b.len);
			pv_buf_free(&b);
		}
	if (getenv("FZ_WRITE_SEEDS"))
		exit(0);
	return 0;
}

static pv_buf *
data_json(int ncols)
{
	static pv_buf b[8];
	if (!b[ncols].len) {
		pv_buf_puts(&b[ncols], "[{\"kind\": \"table data\", \"member_prefix\": \"data/1\", "
		                       "\"table\": \"\\\"public\\\".\\\"t\\\"\", \"columns\": [");
		for (int i = 0; i < ncols; i++)
			pv_buf_printf(&b[ncols], "%s\"c%d\"", i ? ", " : "", i);
		pv_buf_puts(&b[ncols], "]}]\n");
	}
	return &b[ncols];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int ncols = data[0] & 7, raw = data[0] & 0x80;
	const uint8_t *text = data + 1;
	size_t len = size - 1;
	pv_buf z = PV_BUF_INIT, tar = PV_BUF_INIT;
	int64_t rows = -1;

	if (!raw) {
		pv_zenc *enc = pv_zenc_new(1);
		if (!enc || pv_zenc_write(enc, text, len, &z) < 0 || pv_zenc_end(enc, &z) < 0) {
			pv_zenc_free(enc);
			goto out;
		}
		pv_zenc_free(enc);
		rows = 0;
		for (size_t i = 0; i < len; i++)
			rows += text[i] == '\n';
	} else {
		pv_buf_add(&z, text, len);
	}
	fz_bundle b = *fz_fixture();
	fz_set(&b, "data.json", data_json(ncols)->data, data_json(ncols)->len);
	fz_set(&b, "data/1.1.copy.zst", z.data, z.len);
	if (fz_finish(&b, "data/1.1.copy.zst", rows, (int64_t)len, &tar) == 0)
		fz_verify(&tar);
out:
	pv_buf_free(&z);
	pv_buf_free(&tar);
	fz_done();
	return 0;
}
