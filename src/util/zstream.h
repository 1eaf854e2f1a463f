/*
 * util/zstream.h — the only zstd streaming loops of pgvault: pv_zenc compresses a stream
 * into one zstd frame appended to a pv_buf, pv_zdec decompresses exactly one zstd frame
 * fed in pieces of any size, handing the output to a callback.
 *
 * A pv_zdec input is one frame and nothing else: it is complete only when zstd reported
 * the frame decoded and flushed and every byte it produced was delivered; zstd is never
 * called again after that (bytes that follow are an error, not a second frame), and input
 * that ends before it is a truncated frame.  Errors say "zstd: ..." with the offset in the
 * compressed input; callers prefix the member or job.
 */
#ifndef PV_UTIL_ZSTREAM_H
#define PV_UTIL_ZSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* ---- compression -------------------------------------------------------------------- */

typedef struct pv_zenc pv_zenc;

/* A compressor at `level`, with the content checksum in every frame; NULL with pv_fail. */
pv_zenc *pv_zenc_new(int level);
/* Compress len bytes of data into the current frame, appending output to out. */
int pv_zenc_write(pv_zenc *z, const void *data, size_t len, pv_buf *out);
/* End the current frame (appending the rest of it to out); the next write starts a new one. */
int pv_zenc_end(pv_zenc *z, pv_buf *out);
/* Forget a frame left half done. */
void pv_zenc_reset(pv_zenc *z);
void pv_zenc_free(pv_zenc *z);

/* ---- decompression ------------------------------------------------------------------ */

typedef struct pv_zdec pv_zdec;

/* Receives decompressed bytes in pieces of any size; returns 0, or -1 with pv_fail(). */
typedef int (*pv_zdec_cb)(void *arg, const char *data, size_t len);

/* A decompressor (output buffer of ZSTD_DStreamOutSize()); NULL with pv_fail. */
pv_zdec *pv_zdec_new(void);
/* Start a new frame (forgets any input fed so far). */
void pv_zdec_reset(pv_zdec *z);
/* Feed len bytes of the frame; every byte they decode to goes to cb (may be NULL) before
 * this returns.  -1 on a zstd error, on input after the end of the frame, or when cb
 * fails (its message is kept as is). */
int pv_zdec_feed(pv_zdec *z, const void *data, size_t len, pv_zdec_cb cb, void *arg);
/* The input is over: 0 if it held one complete frame, else -1 ("empty" or "truncated"). */
int pv_zdec_finish(pv_zdec *z);
/* Decompressed bytes delivered so far in this frame. */
uint64_t pv_zdec_out_bytes(const pv_zdec *z);
void pv_zdec_free(pv_zdec *z);

/* Decompress one whole frame held in memory (a fresh or reset z). */
int pv_zdec_all(pv_zdec *z, const void *data, size_t len, pv_zdec_cb cb, void *arg);

#endif
