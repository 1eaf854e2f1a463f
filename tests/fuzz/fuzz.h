/*
 * tests/fuzz/fuzz.h — what the libFuzzer targets share: an in-memory pv_source, a small
 * valid bundle built with pgvault's own writer (every member kind: header, roles, schema,
 * data TOC, two row chunks, a large object, post-data, manifest), and a tar assembler that
 * rebuilds it with one member replaced and the manifest's entry for it brought up to date,
 * so that a fuzzed member gets past the checksums to the code that parses it.
 */
#ifndef PV_FUZZ_H
#define PV_FUZZ_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle/bundle.h"
#include "util/buf.h"

typedef struct fz_mem {
	const uint8_t *data;
	size_t len, pos;
} fz_mem;

/* A source over len bytes at data (not copied); rewindable. */
void fz_source(pv_source *s, fz_mem *m, const void *data, size_t len);

#define FZ_MAX_MEMBERS 16
typedef struct fz_bundle {
	int n;
	char *name[FZ_MAX_MEMBERS];
	pv_buf data[FZ_MAX_MEMBERS];
} fz_bundle;

/* Once per process: libraries initialised, logging quiet. */
void fz_init(void);
/* The fixture bundle's members (built once, borrowed). */
const fz_bundle *fz_fixture(void);
/* The fixture as one tar stream (borrowed). */
const pv_buf *fz_fixture_tar(void);
/* In b (a copy of the fixture), member `name` now holds data (borrowed). */
void fz_set(fz_bundle *b, const char *name, const void *data, size_t len);
/* b as a tar stream in out; unless b's manifest was replaced, the manifest is the fixture's
 * with every member's size and sha256 brought up to date, and rows_member's rows and
 * raw_size set (when rows >= 0).  0, or -1 if out could not be built. */
int fz_finish(const fz_bundle *b, const char *rows_member, int64_t rows, int64_t raw_size,
              pv_buf *out);
/* The fixture with one member replaced, through fz_finish. */
int fz_replaced(const char *name, const void *data, size_t len, pv_buf *out);
/* Tar stream of the members of b, in order, as pgvault's writer lays them out. */
int fz_tar(const fz_bundle *b, pv_buf *out);
/* pv_bundle_verify over a tar stream in memory. */
void fz_verify(const pv_buf *tar);
/* End of one input: with FZ_DEBUG set, the error it left is printed; then cleared. */
void fz_done(void);
/* When the environment names a directory in FZ_WRITE_SEEDS, targets write their seed
 * files there (tests/fuzz/corpus/ is made that way) and exit. */
void fz_seed(const char *target, const char *file, const void *data, size_t len);

#endif
