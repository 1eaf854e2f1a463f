/*
 * bundle/bundle.h — the pgvault bundle: one POSIX pax tar file, written and read as a
 * stream (libarchive), never needing the whole database in memory or on disk twice.
 *
 * Members, in this order:
 *   pgvault.json          header: format, versions, database, encoding, locale, snapshot,
 *                         text_encoding (the client encoding every stored text is in)
 *   roles.json            roles the database references (no password hashes)
 *   pre-data.json         schema entries run before the data (see engine/backup.h for the shape)
 *   data.json             one entry per table with rows: columns, COPY statement, member
 *                         prefix; sequence values; one entry per large object: oid, size,
 *                         blob_prefix, owner, comments, acl (see engine/backup.h)
 *   data/ID.N.copy.zst    rows of data entry ID, chunk N (1-based): text COPY format, one
 *                         zstd frame (with content checksum) per member, split at row boundaries
 *   blobs/OID.N.bin.zst   contents of large object OID, chunk N (1-based): raw bytes, one zstd
 *                         frame per member, split at any byte; an empty large object has none
 *   post-data.json        schema entries run after the data
 *   manifest.json         the header fields plus "members": every member above (not itself)
 *                         with name, kind, object, size, sha256, for data members rows and
 *                         raw_size, for blob members raw_size
 *   manifest.sig          (format 3, when the operator signs bundles) {"algorithm":
 *                         "HMAC-SHA256", "key_id", "hmac"}: the HMAC of manifest.json's bytes
 *                         under the operator's key; the manifest holds every member's SHA-256,
 *                         so the signature covers the whole bundle
 * The same manifest (plus verification state) is stored beside the bundle as a sidecar.
 * Member names are data: readers never use them as paths.
 */
#ifndef PV_BUNDLE_H
#define PV_BUNDLE_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "util/buf.h"

/* Format 2 adds the header's "text_encoding" (the client encoding of every text in the
 * bundle; with SQL_ASCII, JSON strings hold each byte 0x80-0xFF as U+0080-U+00FF: see
 * util/json.h).  Bundles of UTF8 databases are still written as format 1, which they fit.
 * Format 3 adds manifest.sig; only signed bundles are written as format 3. */
#define PV_BUNDLE_FORMAT 3
#define PV_BUNDLE_FORMAT_TEXT 2
#define PV_MEMBER_SIGNATURE "manifest.sig"
#define PV_BUNDLE_FORMAT_MIN 1
#define PV_MEMBER_HEADER "pgvault.json"
/* How the writer serialises JSON members (then a final newline); verify holds the manifest
 * to exactly this form. */
#define PV_BUNDLE_JSON_FLAGS (JSON_INDENT(1) | JSON_SORT_KEYS)
/* The largest JSON member a reader loads (verify and restore alike). */
#define PV_JSON_MEMBER_MAX ((size_t)512 << 20)
#define PV_MEMBER_MANIFEST "manifest.json"

/* Where a bundle's bytes go (a local temp file, later an S3 multipart upload). */
typedef struct pv_sink pv_sink;
struct pv_sink {
	/* Write all of data; 0 on success, -1 with pv_fail() on error. */
	int (*write)(pv_sink *s, const void *data, size_t len);
	void *ctx;
};

/* Where a bundle's bytes come from. */
typedef struct pv_source pv_source;
struct pv_source {
	/* Bytes read (0 at end), or -1 with pv_fail() on error. */
	ssize_t (*read)(pv_source *s, void *buf, size_t len);
	/* Back to the first byte, 0 or -1 with pv_fail(); NULL when the source cannot (a pipe):
	 * then a reader gets one pass only. */
	int (*rewind)(pv_source *s);
	/* Up to len bytes at offset off of the stream, without moving its position; any thread
	 * may call it while another reads on.  Bytes read (0 past the end), or -1 with
	 * pv_fail(); NULL when the source cannot (a pipe). */
	ssize_t (*pread)(pv_source *s, void *buf, size_t len, int64_t off);
	void *ctx;
};

/* A pv_source over a file descriptor (not closed by the source); rewindable and readable
 * at offsets when the descriptor is seekable. */
void pv_source_fd(pv_source *s, int *fd);

/* ---- writing ------------------------------------------------------------------------ */

typedef struct pv_bundle_writer pv_bundle_writer;
typedef struct pv_data_writer pv_data_writer;

typedef struct pv_chunk_opts {
	size_t raw_limit;  /* start a new member once this many raw bytes are in it */
	size_t comp_limit; /* ... or once its compressed size reaches this */
	int level;         /* zstd level */
} pv_chunk_opts;

/* Defaults: raw 256 MiB, compressed 8 MiB, level 3; PGVAULT_CHUNK_BYTES overrides raw_limit
 * (tests use it to force multi-member tables). */
void pv_chunk_opts_default(pv_chunk_opts *o);

/* Every member gets mode 0600 and mtime `mtime`. */
pv_bundle_writer *pv_bw_new(pv_sink *sink, time_t mtime, const pv_chunk_opts *opts);
/* How the JSON members' strings become text (PVJ_UTF8, the default, or PVJ_LATIN1). */
void pv_bw_set_text(pv_bundle_writer *w, int text);
/* A whole member from memory, stored as is. kind: "header", "roles", "schema", "data-toc". */
int pv_bw_add(pv_bundle_writer *w, const char *name, const char *kind, const char *object,
              const void *data, size_t len);
/* A JSON member (serialised with sorted keys, indented).  The writer keeps a reference to
 * doc for pv_bw_documents: the caller does not change it afterwards. */
int pv_bw_add_json(pv_bundle_writer *w, const char *name, const char *kind, json_t *doc);
/* pv_bw_add_json in two steps: the member's text (allocated; any thread may make it while
 * another writes members), then the member from it (text freed). */
char *pv_bw_json_text(pv_bundle_writer *w, json_t *doc, const char *name);
int pv_bw_add_json_text(pv_bundle_writer *w, const char *name, const char *kind, json_t *doc,
                        char *text);
/* The JSON members written so far, name -> the document serialised as is into it (borrowed;
 * NULL if they could not be kept; without those whose text was mapped, as SQL_ASCII's is),
 * for pv_bundle_verify_written. */
json_t *pv_bw_documents(pv_bundle_writer *w);

/* Rows of one table: members "<prefix>.1.copy.zst", "<prefix>.2.copy.zst", ...
 * A table with no rows produces no member.  object names the table for messages/manifest. */
pv_data_writer *pv_bw_data_begin(pv_bundle_writer *w, const char *prefix, const char *object);
/* The same for one of several writers of one table's rows, each on its own thread: the
 * members of all of them are numbered from *seq (shared, starting at 0; incremented under
 * the bundle writer's mutex), in the order they are written. */
pv_data_writer *pv_bw_data_begin_shared(pv_bundle_writer *w, const char *prefix, const char *object,
                                        int *seq);
/* One complete COPY text row including its trailing newline. */
int pv_dw_row(pv_data_writer *d, const char *row, size_t len);
/* Contents of one large object: members "<prefix>.1.bin.zst", ... (kind "blob"), cut
 * where the raw or compressed limit is reached.  No bytes, no member. */
pv_data_writer *pv_bw_blob_begin(pv_bundle_writer *w, const char *prefix, const char *object);
/* Raw bytes of a blob writer, any amount (memory stays bounded by the chunk limits). */
int pv_dw_write(pv_data_writer *d, const void *data, size_t len);
/* Flush the last member and free d (also on error); total rows (blob: bytes) in *rows. */
int pv_dw_end(pv_data_writer *d, int64_t *rows);
/* Free d after an error without writing anything more. */
void pv_dw_abort(pv_data_writer *d);

/* Members written so far (borrowed; array of objects as in manifest.json). */
json_t *pv_bw_members(pv_bundle_writer *w);
/* Sign the bundle with this key (copied): pv_bw_finish adds manifest.sig. */
void pv_bw_set_key(pv_bundle_writer *w, const void *key, size_t len);
/* The key id of a signing key (the first 16 hex digits of its SHA-256), for messages. */
void pv_key_id(const void *key, size_t len, char out[17]);
/* Adds "members" to `manifest` (borrowed), writes it as the last member (then the
 * signature), ends the archive. */
int pv_bw_finish(pv_bundle_writer *w, json_t *manifest);
void pv_bw_free(pv_bundle_writer *w);

/* ---- reading ------------------------------------------------------------------------ */

typedef struct pv_bundle_reader pv_bundle_reader;

/* label (a path or id) prefixes error messages. */
pv_bundle_reader *pv_br_new(pv_source *src, const char *label);
/* Next member: 1 and its name/stored size, 0 at the end of the archive, -1 on error
 * ("... is not a pgvault bundle" when the input is not a tar archive). */
int pv_br_next(pv_bundle_reader *r, const char **name, int64_t *size);
/* Stored bytes of the current member; SHA-256 accumulates as they are read. */
ssize_t pv_br_read(pv_bundle_reader *r, void *buf, size_t len);
/* Read the rest of the current member into out (fails if it exceeds max bytes). */
int pv_br_read_all(pv_bundle_reader *r, pv_buf *out, size_t max);
/* Read the rest of the current member as JSON. */
json_t *pv_br_read_json(pv_bundle_reader *r, size_t max);
/* The same, keeping its bytes in *raw too (not NULL). */
json_t *pv_br_read_json_raw(pv_bundle_reader *r, size_t max, pv_buf *raw);
/* Decompress the rest of the current (zstd) member, passing decompressed bytes to cb in
 * pieces of any size; *raw_size gets the total.  cb returns 0 or -1 (with pv_fail). */
int pv_br_decompress(pv_bundle_reader *r, int (*cb)(void *arg, const char *data, size_t len),
                     void *arg, int64_t *raw_size);
/* Where the current member's stored bytes start in the source's stream (for
 * pv_source.pread), or -1 before the first member. */
int64_t pv_br_data_offset(pv_bundle_reader *r);
/* Drain the current member and give the SHA-256 of all its stored bytes. */
int pv_br_member_sha(pv_bundle_reader *r, char out[65]);
void pv_br_free(pv_bundle_reader *r);

/* ---- verification ------------------------------------------------------------------- */

/* Full check of a bundle stream: tar structure, header first and manifest last, every
 * member's size and SHA-256 against the manifest, no member missing or extra, every data
 * member decompressed (zstd checksum, raw size, row count) and its COPY text well formed
 * (rows end in newline, column count from data.json), every blob member decompressed
 * (zstd checksum, raw size), numbered 1..N in order, and the raw sizes of each large
 * object adding up to its size in data.json.  What no checksum covers is held to the
 * writer's layout: the tar framing (see reader.c) and the manifest itself (the header's
 * fields, counts that match the members, each entry's kind and object, and its bytes the
 * writer's serialisation), so that a change of any single byte is detected.  On success
 * *manifest (if not NULL) gets the manifest.  On failure the message names the bad member.
 * With jobs > 1, data members are decompressed and checked on jobs - 1 more threads while
 * this one reads on (memory: one stored member each); the result and message are the same. */
int pv_bundle_verify(pv_source *src, const char *label, int jobs, json_t **manifest);
/* pv_bundle_verify of a bundle this process has just written, given pv_bw_documents of
 * its writer: the JSON members among them are not parsed again but checked by their
 * SHA-256 (read from the disk, against the manifest read from the disk: their bytes are
 * then those serialised from these documents), and the checks of their contents run on
 * the documents.  Every other check is the same.  docs NULL: pv_bundle_verify. */
int pv_bundle_verify_written(pv_source *src, const char *label, int jobs, json_t *docs,
                             json_t **manifest);
/* The same without decompressing the data and large object members: the framing, every
 * member's SHA-256, the JSON members, the manifest and its counts' consistency (so every
 * stored byte is checked); what the members decompress to — rows, sizes, the COPY text —
 * is left to their reader (restore checks each member against its manifest entry as it
 * loads it). */
int pv_bundle_check_stored(pv_source *src, const char *label, json_t **manifest);
/* The data.json prefix of a data or large object member's name: "data/3.12.copy.zst" ->
 * "data/3", "blobs/1234.2.bin.zst" -> "blobs/1234" (and *chunk, if not NULL, 12 or 2);
 * allocated; NULL when the name is neither. */
char *pv_member_prefix(const char *name, long *chunk);
/* From now on pv_bundle_verify (and so restore) accepts only bundles signed with this key
 * (copied; the operator's [security] signing_key_file).  Without it a signature is not
 * checked. */
void pv_bundle_require_signature(const void *key, size_t len);

#endif
