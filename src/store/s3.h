/*
 * store/s3.h — a client for S3-compatible object storage (AWS S3, MinIO, ...): single
 * objects, listings, and streaming multipart uploads with bounded memory.
 *
 * Requests are signed with AWS Signature V4 by libcurl at send time (so every retry is
 * signed afresh), and retried with exponential backoff and jitter on 5xx, 429, timeouts
 * and connection resets.  TLS peers are always verified.  Error messages name the bucket
 * and key, never a credential.  A pv_s3 holds one libcurl handle: use it from one thread.
 */
#ifndef PV_STORE_S3_H
#define PV_STORE_S3_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle/bundle.h"
#include "util/buf.h"

#define PV_S3_MIN_PART_SIZE ((size_t)5 << 20)    /* S3's minimum for all but the last part */
#define PV_S3_DEFAULT_PART_SIZE ((size_t)8 << 20)
#define PV_S3_MAX_PART_SIZE ((size_t)5 << 30)
#define PV_S3_MAX_PARTS 10000

typedef struct pv_s3_opts {
	const char *endpoint;  /* http(s)://host[:port]; NULL: https://s3.REGION.amazonaws.com */
	const char *region;    /* NULL/"": us-east-1 */
	const char *bucket;
	const char *prefix;    /* key prefix, e.g. "pgvault/" (NULL/""; a missing final '/' is added) */
	int path_style;        /* 1: endpoint/bucket/key, 0: virtual-hosted bucket.host/key */
	const char *access_key, *secret_key, *session_token; /* session_token may be NULL */
	const char *ca_file;   /* NULL: the system's CAs; verification is always on */
	size_t part_size;      /* first multipart part size; 0: 8 MiB */
	int allow_small_parts; /* accept part_size below 5 MiB (test servers that don't enforce it) */
	int max_retries;       /* 0: 5; negative: none */
	long retry_delay_ms;   /* first backoff delay; 0: 500 ms (doubles, up to 30 s, with jitter) */
	long io_timeout;       /* seconds without progress before a request is abandoned; 0: 60 */
} pv_s3_opts;

typedef struct pv_s3 pv_s3;

/* NULL with pv_fail() if the options are unusable (missing bucket or credentials, bad
 * endpoint or region, part size out of range). */
pv_s3 *pv_s3_new(const pv_s3_opts *o);
void pv_s3_free(pv_s3 *s);

/* Keys below are relative to the prefix.  A key may hold any bytes but NUL (it is
 * percent-encoded in the URL); "." and ".." segments and empty segments are refused. */

/* "s3://bucket/prefix/key" for messages (malloc'd). */
char *pv_s3_describe(pv_s3 *s, const char *key);
/* The request URL of a key, without any query (malloc'd); NULL with pv_fail for a bad key. */
char *pv_s3_url(pv_s3 *s, const char *key);

int pv_s3_put(pv_s3 *s, const char *key, const void *data, size_t len);
/* A whole (small) object into out (appended), failing if it exceeds max bytes. */
int pv_s3_get(pv_s3 *s, const char *key, pv_buf *out, size_t max);
/* Stream an object into fd (resuming with a Range request after a dropped connection);
 * *size gets its length (size may be NULL). */
int pv_s3_get_to_fd(pv_s3 *s, const char *key, int fd, int64_t *size);
/* 0 found (size and etag, without quotes, filled in when not NULL), 1 not found, -1 error. */
int pv_s3_head(pv_s3 *s, const char *key, int64_t *size, char etag[128]);
/* Deleting a key that does not exist succeeds. */
int pv_s3_delete(pv_s3 *s, const char *key);

/* All objects whose key starts with prefix+sub (sub may be NULL), paginated with
 * continuation tokens (ListObjectsV2): an array of {"key" (relative to the prefix),
 * "size", "etag", "last_modified"} in key order.  NULL with pv_fail on error. */
json_t *pv_s3_list(pv_s3 *s, const char *sub);

/* Incomplete multipart uploads under the prefix: array of {"key", "upload_id", "initiated"}. */
json_t *pv_s3_list_uploads(pv_s3 *s);
/* Abort one (an upload that no longer exists counts as aborted). */
int pv_s3_abort_upload(pv_s3 *s, const char *key, const char *upload_id);

/*
 * Streaming multipart upload.  Bytes written to the sink fill one part buffer at a time,
 * sent (and retried with the same bytes) when full, so memory stays at one part.  Part k
 * has size part_size * 2^((k-1)/1000) (at most 5 GiB), which keeps any stream up to 5 TB
 * (with the default 8 MiB) under the 10,000-part limit.  complete() sends the last part and
 * CompleteMultipartUpload, then checks with HEAD that the object has exactly the bytes
 * written.  Every failure path, and abort(), sends AbortMultipartUpload; a failed sink write
 * leaves the upload dead (complete() then fails with the original error).
 */
typedef struct pv_s3_upload pv_s3_upload;
pv_s3_upload *pv_s3_upload_begin(pv_s3 *s, const char *key);
pv_sink *pv_s3_upload_sink(pv_s3_upload *u);
const char *pv_s3_upload_id(pv_s3_upload *u);
int pv_s3_upload_parts(pv_s3_upload *u); /* parts sent so far */
int pv_s3_upload_complete(pv_s3_upload *u, int64_t *size); /* frees u */
void pv_s3_upload_abort(pv_s3_upload *u);                  /* frees u */

#endif
