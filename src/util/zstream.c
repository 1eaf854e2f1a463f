/*
 * util/zstream.c — the zstd streaming loops (see zstream.h): compressing into a pv_buf and
 * decompressing exactly one frame, with its end decided only by zstd's "frame done".
 */
#include "util/zstream.h"

#include <stdlib.h>
#include <zstd.h>

#include "util/err.h"

/* ---- compression -------------------------------------------------------------------- */

struct pv_zenc {
	ZSTD_CCtx *cctx;
	size_t chunk; /* output room reserved per call */
};

pv_zenc *
pv_zenc_new(int level)
{
	pv_zenc *z;
	size_t rc;
	ZSTD_CCtx *c = ZSTD_createCCtx();

	if (!c) {
		pv_fail("zstd: cannot create a compression context");
		return NULL;
	}
	rc = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(rc))
		rc = ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	if (ZSTD_isError(rc)) {
		pv_fail("zstd: %s", ZSTD_getErrorName(rc));
		ZSTD_freeCCtx(c);
		return NULL;
	}
	z = pv_calloc(1, sizeof *z);
	z->cctx = c;
	z->chunk = ZSTD_CStreamOutSize();
	return z;
}

/* One loop for both directives: e_continue is done once all input is consumed, e_end once
 * zstd has nothing more to flush (0) — never earlier, whatever the output room was. */
static int
zenc_run(pv_zenc *z, const void *data, size_t len, pv_buf *out, ZSTD_EndDirective op)
{
	ZSTD_inBuffer in = {data, len, 0};

	for (;;) {
		pv_buf_reserve(out, z->chunk);
		/* (one byte kept for the pv_buf's terminating NUL) */
		ZSTD_outBuffer ob = {out->data + out->len, out->cap - out->len - 1, 0};
		size_t rc = ZSTD_compressStream2(z->cctx, &ob, &in, op);
		if (ZSTD_isError(rc)) {
			ZSTD_CCtx_reset(z->cctx, ZSTD_reset_session_only);
			return pv_fail("zstd: %s", ZSTD_getErrorName(rc));
		}
		out->len += ob.pos;
		out->data[out->len] = '\0';
		if (op == ZSTD_e_end ? rc == 0 : in.pos == in.size)
			return 0;
	}
}

int
pv_zenc_write(pv_zenc *z, const void *data, size_t len, pv_buf *out)
{
	if (len == 0)
		return 0;
	return zenc_run(z, data, len, out, ZSTD_e_continue);
}

int
pv_zenc_end(pv_zenc *z, pv_buf *out)
{
	return zenc_run(z, NULL, 0, out, ZSTD_e_end);
}

void
pv_zenc_reset(pv_zenc *z)
{
	if (z)
		ZSTD_CCtx_reset(z->cctx, ZSTD_reset_session_only);
}

void
pv_zenc_free(pv_zenc *z)
{
	if (!z)
		return;
	ZSTD_freeCCtx(z->cctx);
	free(z);
}

/* ---- decompression ------------------------------------------------------------------ */

struct pv_zdec {
	ZSTD_DCtx *dctx;
	char *out;
	size_t outcap;
	uint64_t in_off;   /* compressed bytes consumed so far */
	uint64_t out_off;  /* decompressed bytes delivered so far */
	int pending;       /* zstd filled the output buffer: it may hold more without input */
	int done;          /* the frame is decoded, flushed and delivered */
	int failed;        /* an error was reported: no further input accepted */
};

pv_zdec *
pv_zdec_new(void)
{
	pv_zdec *z;
	ZSTD_DCtx *d = ZSTD_createDCtx();

	if (!d) {
		pv_fail("zstd: cannot create a decompression context");
		return NULL;
	}
	z = pv_calloc(1, sizeof *z);
	z->dctx = d;
	z->outcap = ZSTD_DStreamOutSize();
	z->out = pv_malloc(z->outcap);
	return z;
}

void
pv_zdec_reset(pv_zdec *z)
{
	ZSTD_DCtx_reset(z->dctx, ZSTD_reset_session_only);
	z->in_off = 0;
	z->out_off = 0;
	z->pending = 0;
	z->done = 0;
	z->failed = 0;
}

int
pv_zdec_feed(pv_zdec *z, const void *data, size_t len, pv_zdec_cb cb, void *arg)
{
	ZSTD_inBuffer in = {data, len, 0};

	if (z->failed)
		return pv_fail("zstd: cannot continue after an error");
	for (;;) {
		size_t ret;

		if (z->done) {
			/* zstd is not called again: it would take these bytes as a new frame */
			if (in.pos < in.size) {
				z->failed = 1;
				return pv_fail("zstd: unexpected data after the end of the frame at "
				               "offset %llu", (unsigned long long)(z->in_off + in.pos));
			}
			break;
		}
		/* more input is needed unless zstd may still hold output */
		if (in.pos == in.size && !z->pending)
			break;

		ZSTD_outBuffer ob = {z->out, z->outcap, 0};
		size_t before = in.pos;
		ret = ZSTD_decompressStream(z->dctx, &ob, &in);
		if (ZSTD_isError(ret)) {
			z->failed = 1;
			return pv_fail("zstd: %s at offset %llu", ZSTD_getErrorName(ret),
			               (unsigned long long)(z->in_off + before));
		}
		if (ob.pos > 0) {
			if (cb && cb(arg, z->out, ob.pos) < 0) {
				z->failed = 1;
				return -1;
			}
			z->out_off += ob.pos;
		}
		if (ret == 0)
			z->done = 1; /* decoded and flushed, and all of it delivered above */
		else
			z->pending = ob.pos == ob.size;
	}
	z->in_off += in.pos;
	return 0;
}

int
pv_zdec_finish(pv_zdec *z)
{
	if (z->failed)
		return pv_fail("zstd: cannot continue after an error");
	if (z->done)
		return 0;
	z->failed = 1;
	if (z->in_off == 0)
		return pv_fail("zstd: empty input, no frame");
	return pv_fail("zstd: truncated frame (input ends at offset %llu, %llu bytes decoded)",
	               (unsigned long long)z->in_off, (unsigned long long)z->out_off);
}

uint64_t
pv_zdec_out_bytes(const pv_zdec *z)
{
	return z->out_off;
}

int
pv_zdec_all(pv_zdec *z, const void *data, size_t len, pv_zdec_cb cb, void *arg)
{
	if (pv_zdec_feed(z, data, len, cb, arg) < 0)
		return -1;
	return pv_zdec_finish(z);
}

void
pv_zdec_free(pv_zdec *z)
{
	if (!z)
		return;
	ZSTD_freeDCtx(z->dctx);
	free(z->out);
	free(z);
}
