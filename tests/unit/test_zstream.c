/*
 * tests/unit/test_zstream.c — the zstd loops of util/zstream: frames ending exactly at a
 * buffer boundary, bytes after the frame, frames cut short, callback errors; and a property
 * test that round-trips random sizes (many of them exact multiples, and +-1, of every buffer
 * size involved) through the bundle writer, the reader, the pool's in-memory path and
 * verification.
 *
 * The property test runs PV_PROPERTY_CASES cases (default 2000) from PV_PROPERTY_SEED
 * (default fixed); PV_PROPERTY_FIRST starts at another case number.  Each case derives its
 * own generator from (seed, case number), so a failure prints everything needed to rerun
 * exactly that case.  `make check-property` runs a longer series.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "bundle/bundle.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/zstream.h"

#define MTIME ((time_t)1795312800)
#define DEFAULT_SEED 0x70677661756c74ULL /* "pgvault" */
#define DEFAULT_CASES 2000
#define KIB 1024

/* Sizes of buffers outside zstd's own (the values in the sources that use them). */
#define READER_SRC_BUF (64 * KIB) /* bundle/reader.c SRC_BUF: libarchive's read chunk and
                                   * the reader's compressed input buffer */
#define LA_BLOCK 10240            /* libarchive's default tar block size */
#define WRITER_BLOCK (256 * KIB)  /* bundle/writer.c PV_BW_BLOCK: the archive's blocks */
#define TAR_RECORD 512
#define LOB_PIECE (256 * KIB)     /* pg/lob.c: bytes per lo_read, one pv_dw_write each */

static void
assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* ---- random numbers (splitmix64: reproducible everywhere) --------------------------- */

static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t
below(uint64_t *s, size_t n)
{
	return n ? (size_t)(rnd(s) % n) : 0;
}

/* Fill buf with n bytes: 0 random, 1 text-like, 2 long runs. */
static void
fill(uint64_t *s, char *buf, size_t n, int mode)
{
	static const char *words[] = {"pgvault ", "backup ", "row ", "zstd ", "frame ", "\\\\N ",
	                              "caf\xc3\xa9 ", "0123456789 "};
	size_t i = 0;

	while (i < n) {
		if (mode == 0) {
			buf[i++] = (char)(rnd(s) & 0xff);
		} else if (mode == 1) {
			const char *w = words[below(s, 8)];
			for (size_t k = 0; w[k] && i < n; k++)
				buf[i++] = w[k];
		} else {
			size_t run = 1 + below(s, 5000);
			char c = (char)(rnd(s) & 0xff);
			for (size_t k = 0; k < run && i < n; k++)
				buf[i++] = c;
		}
	}
}

/* ---- the loops themselves ------------------------------------------------------------ */

static int
collect(void *arg, const char *data, size_t len)
{
	pv_buf_add(arg, data, len);
	return 0;
}

/* One frame of data (compressed with the writer's encoder) into out. */
static void
compress_frame(const char *data, size_t len, int level, pv_buf *out)
{
	pv_zenc *z = pv_zenc_new(level);

	assert_non_null(z);
	assert_int_equal(pv_zenc_write(z, data, len, out), 0);
	assert_int_equal(pv_zenc_end(z, out), 0);
	pv_zenc_free(z);
}

/* Decompress comp fed in pieces of `step` bytes (0: at once); the error is left in pv_errmsg. */
static int
decompress_steps(const char *comp, size_t clen, size_t step, pv_buf *out)
{
	pv_zdec *z = pv_zdec_new();
	size_t off = 0;
	int rc = 0;

	assert_non_null(z);
	pv_err_clear();
	while (rc == 0 && off < clen) {
		size_t n = step && clen - off > step ? step : clen - off;
		rc = pv_zdec_feed(z, comp + off, n, collect, out);
		off += n;
	}
	if (rc == 0)
		rc = pv_zdec_finish(z);
	pv_zdec_free(z);
	return rc;
}

/* A frame whose output ends exactly at the end of the decoder's output buffer is complete,
 * whatever the input pieces (the bug of 6ed9233: "truncated frame"). */
static void
test_frame_ends_at_buffer_end(void **state)
{
	size_t ob = ZSTD_DStreamOutSize();
	size_t sizes[] = {ob - 1, ob, ob + 1, 2 * ob, 3 * ob, 379 * ob / 16};
	size_t steps[] = {0, 1, 512, ZSTD_DStreamInSize(), 7919};
	uint64_t s = 1;

	(void)state;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		for (int mode = 0; mode < 3; mode++) {
			char *raw = pv_malloc(sizes[i]);
			pv_buf comp = PV_BUF_INIT;
			fill(&s, raw, sizes[i], mode);
			compress_frame(raw, sizes[i], 3, &comp);
			for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
				pv_buf out = PV_BUF_INIT;
				if (steps[k] == 1 && comp.len > 300000)
					continue;
				if (decompress_steps(comp.data, comp.len, steps[k], &out) < 0)
					fail_msg("size %zu mode %d step %zu: %s", sizes[i], mode, steps[k],
					         pv_errmsg());
				assert_int_equal(out.len, sizes[i]);
				assert_memory_equal(out.data, raw, sizes[i]);
				pv_buf_free(&out);
			}
			pv_buf_free(&comp);
			free(raw);
		}
	}
}

/* A second frame, or anything else, after the frame is an error at the offset where the
 * frame ended (in whichever feed it arrives); zstd does not decode it. */
static void
test_after_the_frame(void **state)
{
	size_t ob = ZSTD_DStreamOutSize();
	size_t sizes[] = {0, 10, ob, 2 * ob};
	uint64_t s = 2;

	(void)state;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char *raw = pv_malloc(sizes[i] + 1);
		pv_buf one = PV_BUF_INIT, two = PV_BUF_INIT, out = PV_BUF_INIT;
		char want[128];
		fill(&s, raw, sizes[i], 1);
		compress_frame(raw, sizes[i], 3, &one);
		snprintf(want, sizeof want, "zstd: unexpected data after the end of the frame at "
		         "offset %zu", one.len);

		/* two concatenated frames, at once and in pieces */
		pv_buf_add(&two, one.data, one.len);
		pv_buf_add(&two, one.data, one.len);
		assert_int_equal(decompress_steps(two.data, two.len, 0, &out), -1);
		assert_string_equal(pv_errmsg(), want);
		assert_int_equal(out.len, sizes[i]); /* the first frame, nothing of the second */
		pv_buf_reset(&out);
		assert_int_equal(decompress_steps(two.data, two.len, one.len, &out), -1);
		assert_string_equal(pv_errmsg(), want);
		pv_buf_reset(&out);
		assert_int_equal(decompress_steps(two.data, two.len, 1000, &out), -1);
		assert_string_equal(pv_errmsg(), want);

		/* one byte of garbage */
		pv_buf_reset(&two);
		pv_buf_add(&two, one.data, one.len);
		pv_buf_add(&two, "x", 1);
		pv_buf_reset(&out);
		assert_int_equal(decompress_steps(two.data, two.len, 0, &out), -1);
		assert_string_equal(pv_errmsg(), want);
		pv_buf_reset(&out);
		assert_int_equal(decompress_steps(two.data, two.len, one.len, &out), -1);
		assert_string_equal(pv_errmsg(), want);

		/* nothing more can be fed after the error */
		pv_zdec *z = pv_zdec_new();
		assert_int_equal(pv_zdec_feed(z, two.data, two.len, NULL, NULL), -1);
		assert_int_equal(pv_zdec_feed(z, "", 0, NULL, NULL), -1);
		assert_int_equal(pv_zdec_finish(z), -1);
		/* a reset starts over */
		pv_zdec_reset(z);
		assert_int_equal(pv_zdec_all(z, one.data, one.len, NULL, NULL), 0);
		assert_int_equal(pv_zdec_out_bytes(z), sizes[i]);
		pv_zdec_free(z);

		pv_buf_free(&one);
		pv_buf_free(&two);
		pv_buf_free(&out);
		free(raw);
	}
}

/* Input that ends inside the frame is "truncated" at that offset, at every cut point. */
static void
test_truncated(void **state)
{
	size_t ob = ZSTD_DStreamOutSize();
	size_t sizes[] = {1, 1000, ob, ob + 1};
	uint64_t s = 3;

	(void)state;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char *raw = pv_malloc(sizes[i]);
		pv_buf comp = PV_BUF_INIT;
		fill(&s, raw, sizes[i], i % 2 ? 0 : 1);
		compress_frame(raw, sizes[i], 3, &comp);
		for (size_t cut = 0; cut < comp.len; cut += cut < 64 || comp.len - cut < 64 ? 1 : 97) {
			pv_buf out = PV_BUF_INIT;
			char want[64];
			int rc = decompress_steps(comp.data, cut, 0, &out);
			if (rc == 0)
				fail_msg("size %zu cut at %zu of %zu: accepted", sizes[i], cut, comp.len);
			if (cut == 0) {
				assert_string_equal(pv_errmsg(), "zstd: empty input, no frame");
			} else if (!strstr(pv_errmsg(), "zstd: truncated frame")) {
				/* a cut inside the header may also be refused as it is read */
				assert_true(cut < 20);
				assert_contains(pv_errmsg(), "zstd: ");
			} else {
				snprintf(want, sizeof want, "input ends at offset %zu,", cut);
				assert_contains(pv_errmsg(), want);
			}
			pv_buf_free(&out);
		}
		pv_buf_free(&comp);
		free(raw);
	}
}

static int
fail_cb(void *arg, const char *data, size_t len)
{
	(void)arg;
	(void)data;
	(void)len;
	return pv_fail("the table is full");
}

/* Damage in the frame or the callback's error: reported as is, nothing accepted. */
static void
test_errors(void **state)
{
	char raw[5000];
	pv_buf comp = PV_BUF_INIT, out = PV_BUF_INIT;
	uint64_t s = 4;
	pv_zdec *z;

	(void)state;
	fill(&s, raw, sizeof raw, 1);
	compress_frame(raw, sizeof raw, 3, &comp);

	z = pv_zdec_new();
	pv_err_clear();
	assert_int_equal(pv_zdec_all(z, comp.data, comp.len, fail_cb, NULL), -1);
	assert_string_equal(pv_errmsg(), "the table is full");
	pv_zdec_free(z);

	/* a flipped byte near the end: the checksum or a block is wrong */
	comp.data[comp.len - 2] ^= 0x55;
	assert_int_equal(decompress_steps(comp.data, comp.len, 0, &out), -1);
	assert_contains(pv_errmsg(), "zstd: ");
	assert_contains(pv_errmsg(), " at offset ");
	pv_buf_reset(&out);

	/* not zstd at all */
	assert_int_equal(decompress_steps("hello, world", 12, 0, &out), -1);
	assert_contains(pv_errmsg(), "zstd: Unknown frame descriptor at offset 0");
	pv_buf_free(&out);
	pv_buf_free(&comp);
}

/* The encoder: frames one after another on one context, each on its own; an empty frame. */
static void
test_encoder(void **state)
{
	pv_zenc *z = pv_zenc_new(3);
	uint64_t s = 5;

	(void)state;
	assert_non_null(z);
	for (int i = 0; i < 4; i++) {
		size_t n = (size_t)i * ZSTD_CStreamOutSize() + (size_t)i;
		char *raw = pv_malloc(n + 1);
		pv_buf comp = PV_BUF_INIT, out = PV_BUF_INIT;
		fill(&s, raw, n, 0);
		/* in pieces, with an abandoned frame before it */
		assert_int_equal(pv_zenc_write(z, "abandoned", 9, &comp), 0);
		pv_zenc_reset(z);
		pv_buf_reset(&comp);
		for (size_t off = 0; off < n; off += 1000)
			assert_int_equal(pv_zenc_write(z, raw + off, n - off < 1000 ? n - off : 1000,
			                               &comp), 0);
		assert_int_equal(pv_zenc_end(z, &comp), 0);
		assert_int_equal(ZSTD_getFrameContentSize(comp.data, comp.len) ==
		                 ZSTD_CONTENTSIZE_ERROR, 0);
		assert_int_equal(decompress_steps(comp.data, comp.len, 0, &out), 0);
		assert_int_equal(out.len, n);
		if (n)
			assert_memory_equal(out.data, raw, n);
		/* zstd itself agrees */
		assert_int_equal(ZSTD_findFrameCompressedSize(comp.data, comp.len), comp.len);
		pv_buf_free(&comp);
		pv_buf_free(&out);
		free(raw);
	}
	pv_zenc_free(z);
}

/* ---- the property test ---------------------------------------------------------------- */

typedef struct memsink {
	pv_buf buf;
} memsink;

static int
mem_write(pv_sink *s, const void *data, size_t len)
{
	pv_buf_add(&((memsink *)s->ctx)->buf, data, len);
	return 0;
}

typedef struct memsrc {
	const char *data;
	size_t len, pos, step;
} memsrc;

static ssize_t
mem_read(pv_source *s, void *buf, size_t len)
{
	memsrc *m = s->ctx;
	size_t n = m->len - m->pos;

	if (n > len)
		n = len;
	if (m->step && n > m->step)
		n = m->step;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

/* One case: a table (rows) or a large object (bytes) of `size` raw bytes. */
typedef struct pcase {
	int blob;
	int mode;           /* content, see fill() */
	size_t size;
	size_t target;      /* the boundary aimed at (0: none) */
	const char *what;   /* which boundary */
	int on_comp;        /* the target is the compressed size of the one member */
	size_t comp_want;   /* ... that size */
	pv_chunk_opts opts;
	size_t piece;       /* writer: bytes per pv_dw_write (blob) */
	size_t maxrow;      /* writer: longest row (table) */
	size_t step;        /* reader: bytes per source read (0: as asked) */
} pcase;

typedef struct boundary {
	const char *what;
	size_t size;
} boundary;

static boundary bounds[16];
static size_t nbounds;
static long n_boundary, n_on_comp, n_comp_hit; /* what the cases covered */

static void
init_bounds(void)
{
	nbounds = 0;
	bounds[nbounds++] = (boundary){"ZSTD_CStreamOutSize", ZSTD_CStreamOutSize()};
	bounds[nbounds++] = (boundary){"ZSTD_DStreamOutSize", ZSTD_DStreamOutSize()};
	bounds[nbounds++] = (boundary){"ZSTD_DStreamInSize", ZSTD_DStreamInSize()};
	bounds[nbounds++] = (boundary){"ZSTD_CStreamInSize", ZSTD_CStreamInSize()};
	bounds[nbounds++] = (boundary){"reader input buffer", READER_SRC_BUF};
	bounds[nbounds++] = (boundary){"libarchive block", LA_BLOCK};
	bounds[nbounds++] = (boundary){"bundle writer block", WRITER_BLOCK};
	bounds[nbounds++] = (boundary){"tar record", TAR_RECORD};
	bounds[nbounds++] = (boundary){"large object piece", LOB_PIECE};
}

static const char *
describe(const pcase *c, uint64_t seed, long idx)
{
	static char s[512];

	snprintf(s, sizeof s, "seed %" PRIu64 " case %ld (rerun: PV_PROPERTY_SEED=%" PRIu64
	         " PV_PROPERTY_FIRST=%ld PV_PROPERTY_CASES=1): %s of %zu bytes, content %d, "
	         "target %zu (%s%s), raw_limit %zu, comp_limit %zu, level %d, piece %zu, "
	         "maxrow %zu, read step %zu", seed, idx, seed, idx, c->blob ? "large object" :
	         "table", c->size, c->mode, c->target, c->what ? c->what : "random",
	         c->on_comp ? ", compressed" : "", c->opts.raw_limit, c->opts.comp_limit,
	         c->opts.level, c->piece, c->maxrow, c->step);
	return s;
}

/* The raw bytes of a case: for a table, rows of one column (no tab, ending in newline). */
static char *
case_bytes(uint64_t *s, const pcase *c)
{
	char *raw = pv_malloc(c->size + 1);

	fill(s, raw, c->size, c->mode);
	if (!c->blob) {
		size_t rowlen = 0, want = 1 + below(s, c->maxrow);
		for (size_t i = 0; i < c->size; i++) {
			if (raw[i] == '\t' || raw[i] == '\n')
				raw[i] = 'x';
			if (++rowlen >= want) {
				raw[i] = '\n';
				rowlen = 0;
				want = 1 + below(s, c->maxrow);
			}
		}
		if (c->size)
			raw[c->size - 1] = '\n';
	}
	return raw;
}

/* Compressed size of raw as one frame (what a one-member object's member holds). */
static size_t
comp_size(const char *raw, size_t n, int level)
{
	pv_buf b = PV_BUF_INIT;
	size_t len;

	compress_frame(raw, n, level, &b);
	len = b.len;
	pv_buf_free(&b);
	return len;
}

/* Choose a case from its generator; large sizes only at boundaries. */
static void
choose(uint64_t *s, pcase *c, int big)
{
	static const int levels[] = {-5, 1, 3, 3, 3, 6};
	size_t r = below(s, 100);

	memset(c, 0, sizeof *c);
	c->blob = (int)below(s, 2);
	c->mode = (int)below(s, 3);
	c->opts.level = levels[below(s, 6)];
	c->opts.raw_limit = (size_t)256 << 20;
	c->opts.comp_limit = (size_t)8 << 20;
	if (below(s, 3) == 0) {
		/* small member limits, themselves at or next to a boundary sometimes */
		const boundary *b = &bounds[below(s, nbounds)];
		c->opts.raw_limit = below(s, 2) ? b->size - 1 + below(s, 3) : 512 + below(s, 300000);
		if (below(s, 4) == 0)
			c->opts.comp_limit = 512 + below(s, 200000);
		if (c->opts.comp_limit > c->opts.raw_limit)
			c->opts.comp_limit = c->opts.raw_limit;
	}
	if (r < 35) {
		c->size = below(s, 3000);
	} else if (r < 45) {
		c->size = below(s, big ? 2000000 : 300000);
	} else {
		/* k * boundary + d, d in -1..1 */
		size_t k = 1 + below(s, big ? 8 : 3), d = below(s, 3);
		const boundary *b = &bounds[below(s, nbounds)];
		if (r < 60) {
			c->what = "member raw_limit";
			c->target = k * c->opts.raw_limit;
			if (c->target > (big ? 8 : 3) * ZSTD_DStreamOutSize()) {
				c->target = k * ZSTD_DStreamOutSize();
				c->what = b->what;
			}
		} else {
			c->what = b->what;
			c->target = k * b->size;
		}
		c->size = c->target + d - 1;
		/* aim the compressed size (the reader's input) at the boundary instead */
		if (r >= 80 && c->blob && c->opts.raw_limit > c->size &&
		    c->opts.comp_limit > c->size + 1000) {
			c->on_comp = 1;
			c->mode = 0; /* random bytes: the size can be aimed at to the byte */
		}
	}
	c->piece = below(s, 2) ? LOB_PIECE : 1 + below(s, below(s, 2) ? 1000 : 300000);
	c->maxrow = below(s, 4) ? 1 + below(s, 200) : 1 + below(s, 300000);
	{
		static const size_t steps[] = {0, 0, 1 << 20, TAR_RECORD, LA_BLOCK, READER_SRC_BUF,
		                               WRITER_BLOCK};
		size_t i = below(s, 8);
		c->step = i < 7 ? steps[i] : 1 + below(s, 100000);
	}
}

/* Write the case's bundle into out. */
static int
write_bundle(const pcase *c, const char *raw, pv_buf *out)
{
	memsink m = {PV_BUF_INIT};
	pv_sink sink = {mem_write, &m};
	pv_bundle_writer *w = pv_bw_new(&sink, MTIME, &c->opts);
	pv_data_writer *d;
	json_t *hdr = json_pack("{s:i, s:s, s:s}", "format", PV_BUNDLE_FORMAT_TEXT, "database", "d", "encoding", "UTF8"), *toc, *man;
	int64_t total = -1;
	int rc = -1;

	if (!w)
		goto out;
	if (c->blob)
		toc = json_pack("[{s:s, s:i, s:I, s:s}]", "kind", "large object", "oid", 77,
		                "size", (json_int_t)c->size, "blob_prefix", "blobs/77");
	else
		toc = json_pack("[{s:i, s:s, s:[s], s:s}]", "id", 1, "table", "public.t",
		                "columns", "a", "member_prefix", "data/1");
	rc = pv_bw_add_json(w, PV_MEMBER_HEADER, "header", hdr);
	if (rc == 0)
		rc = pv_bw_add_json(w, "data.json", "data-toc", toc);
	json_decref(toc);
	if (rc < 0)
		goto out;
	d = c->blob ? pv_bw_blob_begin(w, "blobs/77", "large object 77")
	            : pv_bw_data_begin(w, "data/1", "public.t");
	if (!d) {
		rc = -1;
		goto out;
	}
	if (c->blob) {
		for (size_t off = 0; rc == 0 && off < c->size; off += c->piece)
			rc = pv_dw_write(d, raw + off, c->size - off < c->piece ? c->size - off : c->piece);
	} else {
		const char *p = raw, *end = raw + c->size;
		while (rc == 0 && p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			rc = pv_dw_row(d, p, (size_t)(nl - p) + 1);
			p = nl + 1;
		}
	}
	if (rc < 0) {
		pv_dw_abort(d);
		goto out;
	}
	rc = pv_dw_end(d, &total);
	if (rc < 0)
		goto out;
	man = json_pack("{s:i, s:s, s:s}", "format", PV_BUNDLE_FORMAT_TEXT, "database", "d", "encoding", "UTF8");
	rc = pv_bw_finish(w, man);
	json_decref(man);
out:
	json_decref(hdr);
	pv_bw_free(w);
	*out = m.buf;
	return rc;
}

/* Read the bundle back: each data member through pv_br_decompress (as verify and the
 * serial restore do) or through pv_br_read_all + pv_zdec_all (as a restore worker does). */
static int
read_back(const pv_buf *b, size_t step, int pool_path, pv_buf *got, int *nmembers)
{
	memsrc ms = {b->data, b->len, 0, step};
	pv_source src = {.read = mem_read, .ctx = &ms};
	pv_bundle_reader *r = pv_br_new(&src, "prop.pgv");
	pv_zdec *z = pool_path ? pv_zdec_new() : NULL;
	const char *name;
	int rc;

	*nmembers = 0;
	while ((rc = pv_br_next(r, &name, NULL)) > 0) {
		if (strncmp(name, "data/", 5) != 0 && strncmp(name, "blobs/", 6) != 0)
			continue;
		(*nmembers)++;
		if (pool_path) {
			pv_buf zb = PV_BUF_INIT;
			rc = pv_br_read_all(r, &zb, (size_t)1 << 30);
			pv_zdec_reset(z);
			if (rc == 0 && pv_zdec_all(z, zb.data, zb.len, collect, got) < 0)
				rc = pv_wrap("member %s", name);
			pv_buf_free(&zb);
		} else {
			rc = pv_br_decompress(r, collect, got, NULL);
		}
		if (rc < 0)
			break;
	}
	pv_zdec_free(z);
	pv_br_free(r);
	return rc;
}

static void
run_case(uint64_t seed, long idx, int big)
{
	uint64_t s = seed ^ (0xa0761d6478bd642fULL * (uint64_t)(idx + 1));
	pcase c;
	char *raw;
	pv_buf bundle = PV_BUF_INIT, got = PV_BUF_INIT;
	json_t *man = NULL;
	int nm = 0, nm2 = 0;

	choose(&s, &c, big);
	raw = case_bytes(&s, &c);
	if (c.on_comp) {
		/* random bytes: adjust the raw size until the one member's frame (a few bytes of
		 * header, block headers and checksum more) has the target size */
		long want = (long)c.size, n = want - 20;
		c.comp_want = c.size;
		for (int i = 0; i < 6 && n > 0 && n <= (long)c.size; i++) {
			long len = (long)comp_size(raw, (size_t)n, c.opts.level);
			if (len == want)
				break;
			n += want - len;
		}
		if (n > 0 && n <= (long)c.size)
			c.size = (size_t)n;
	}
	pv_err_clear();
	if (write_bundle(&c, raw, &bundle) < 0)
		fail_msg("write: %s\n%s", pv_errmsg(), describe(&c, seed, idx));
	{
		memsrc ms = {bundle.data, bundle.len, 0, c.step};
		pv_source src = {.read = mem_read, .ctx = &ms};
		if (pv_bundle_verify(&src, "prop.pgv", 1, &man) < 0)
			fail_msg("verify: %s\n%s", pv_errmsg(), describe(&c, seed, idx));
		/* and with the data members checked on a pool of threads */
		memsrc ms2 = {bundle.data, bundle.len, 0, c.step};
		pv_source src2 = {.read = mem_read, .ctx = &ms2};
		json_t *man2 = NULL;
		if (pv_bundle_verify(&src2, "prop.pgv", 2, &man2) < 0)
			fail_msg("verify on 2 threads: %s\n%s", pv_errmsg(), describe(&c, seed, idx));
		if (!json_equal(man, man2))
			fail_msg("verify on 2 threads: another manifest\n%s", describe(&c, seed, idx));
		json_decref(man2);
		if (c.on_comp) {
			json_t *m = json_array_get(json_object_get(man, "members"), 2);
			n_on_comp++;
			if (json_integer_value(json_object_get(m, "size")) == (json_int_t)c.comp_want)
				n_comp_hit++;
		}
		json_decref(man);
	}
	if (c.target)
		n_boundary++;
	if (read_back(&bundle, c.step, 0, &got, &nm) < 0)
		fail_msg("read: %s\n%s", pv_errmsg(), describe(&c, seed, idx));
	if (got.len != c.size || (c.size && memcmp(got.data, raw, c.size) != 0))
		fail_msg("read: %zu bytes back, not the %zu written\n%s", got.len, c.size,
		         describe(&c, seed, idx));
	pv_buf_reset(&got);
	if (read_back(&bundle, c.step, 1, &got, &nm2) < 0)
		fail_msg("read (worker path): %s\n%s", pv_errmsg(), describe(&c, seed, idx));
	if (got.len != c.size || (c.size && memcmp(got.data, raw, c.size) != 0))
		fail_msg("read (worker path): %zu bytes back, not the %zu written\n%s", got.len,
		         c.size, describe(&c, seed, idx));
	if ((c.size == 0) != (nm == 0))
		fail_msg("%d members for %zu bytes\n%s", nm, c.size, describe(&c, seed, idx));
	/* a large object is cut at raw_limit exactly */
	if (c.blob && c.opts.comp_limit >= c.opts.raw_limit && c.opts.raw_limit < ((size_t)8 << 20) &&
	    (size_t)nm != (c.size + c.opts.raw_limit - 1) / c.opts.raw_limit)
		fail_msg("%d members, expected %zu\n%s", nm,
		         (c.size + c.opts.raw_limit - 1) / c.opts.raw_limit, describe(&c, seed, idx));
	pv_buf_free(&got);
	pv_buf_free(&bundle);
	free(raw);
}

static uint64_t
env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long x;

	if (!v || !*v)
		return dflt;
	x = strtoull(v, &end, 0);
	if (*end != '\0')
		fail_msg("%s=%s is not a number", name, v);
	return (uint64_t)x;
}

static void
test_property_roundtrip(void **state)
{
	uint64_t seed = env_u64("PV_PROPERTY_SEED", DEFAULT_SEED);
	long cases = (long)env_u64("PV_PROPERTY_CASES", DEFAULT_CASES);
	long first = (long)env_u64("PV_PROPERTY_FIRST", 0);
	int big = getenv("PV_PROPERTY_BIG") != NULL;

	(void)state;
	init_bounds();
	printf("property: seed %" PRIu64 ", cases %ld..%ld%s\n", seed, first, first + cases - 1,
	       big ? ", big sizes" : "");
	n_boundary = n_on_comp = n_comp_hit = 0;
	for (long i = first; i < first + cases; i++)
		run_case(seed, i, big);
	printf("property: %ld cases, %ld at a buffer or member boundary (k x size - 1, +0, +1), "
	       "%ld aimed at a compressed size (%ld exactly)\n", cases, n_boundary, n_on_comp,
	       n_comp_hit);
}

/* The sizes of issue 15, as fixed cases: a 256 KiB large object, a 131,071-byte row (plus
 * its newline), 379 x 128 KiB of rows. */
static void
test_issue_sizes(void **state)
{
	size_t ob = ZSTD_DStreamOutSize();
	struct {
		int blob, mode;
		size_t size, maxrow;
	} cs[] = {{1, 0, 256 * KIB, 0},     {1, 1, 256 * KIB, 0},     {1, 2, 256 * KIB, 0},
	          {0, 0, 131072, 131072},   {0, 1, 131072, 131072},   {0, 1, 379 * ob, 1000},
	          {0, 2, 379 * ob, 1000}};
	uint64_t s = 15;

	(void)state;
	init_bounds();
	for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
		pcase c;
		memset(&c, 0, sizeof c);
		c.blob = cs[i].blob;
		c.mode = cs[i].mode;
		c.size = cs[i].size;
		c.maxrow = cs[i].maxrow;
		c.piece = LOB_PIECE;
		c.step = 0;
		pv_chunk_opts_default(&c.opts);
		char *raw = case_bytes(&s, &c);
		if (c.maxrow == c.size) { /* exactly one row */
			for (size_t k = 0; k + 1 < c.size; k++)
				if (raw[k] == '\n')
					raw[k] = 'r';
		}
		pv_buf bundle = PV_BUF_INIT, got = PV_BUF_INIT;
		json_t *man = NULL;
		int nm;
		pv_err_clear();
		assert_int_equal(write_bundle(&c, raw, &bundle), 0);
		memsrc ms = {bundle.data, bundle.len, 0, 0};
		pv_source src = {.read = mem_read, .ctx = &ms};
		if (pv_bundle_verify(&src, "prop.pgv", 1, &man) < 0)
			fail_msg("%s of %zu bytes, content %d: %s", c.blob ? "large object" : "table",
			         c.size, c.mode, pv_errmsg());
		json_decref(man);
		assert_int_equal(read_back(&bundle, 0, 0, &got, &nm), 0);
		assert_int_equal(nm, 1);
		assert_int_equal(got.len, c.size);
		assert_memory_equal(got.data, raw, c.size);
		pv_buf_free(&got);
		pv_buf_free(&bundle);
		free(raw);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_ends_at_buffer_end),
		cmocka_unit_test(test_after_the_frame),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_encoder),
		cmocka_unit_test(test_issue_sizes),
		cmocka_unit_test(test_property_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
