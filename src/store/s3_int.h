/*
 * store/s3_int.h — the S3 client's internals shared by its files: the client's state, one
 * request (store/s3_request.c: signed by libcurl, retried), used by the object and listing
 * operations (store/s3.c) and the multipart upload (store/s3_upload.c).
 */
#ifndef PV_STORE_S3_INT_H
#define PV_STORE_S3_INT_H

#include <curl/curl.h>
#include <stdint.h>

#include "store/s3.h"
#include "util/buf.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MAX_KEY_LEN 1024             /* S3's limit, in bytes of UTF-8 */
#define MAX_XML_ANSWER ((size_t)64 << 20)
#define MAX_ERROR_BODY 65536
#define MAX_BACKOFF_MS 30000L

struct pv_s3 {
	char *origin;        /* scheme://host[:port] requests go to (with the bucket if virtual-hosted) */
	char *bucket_path;   /* "/<bucket>" (path style) or "" */
	char *bucket;
	char *prefix;        /* "" or ending in '/' */
	char *sigv4;         /* "aws:amz:<region>:s3" */
	char *access_key, *secret_key, *session_token, *ca_file;
	size_t part_size;
	int max_retries;
	long retry_delay_ms;
	long io_timeout;
	uint64_t rng;
	CURL *curl;
	char curl_err[CURL_ERROR_SIZE];
};

enum {
	RETRY_ALL = 1,    /* idempotent: retried on any transient failure */
	RETRY_UNSENT = 2  /* retried only when the server cannot have acted on it */
};

typedef struct s3_req {
	const char *method;      /* GET HEAD PUT POST DELETE */
	const char *op;          /* words for messages ("upload part 3 of"); NULL: the method */
	const char *key;         /* relative to the prefix; NULL: the bucket */
	const char *query;       /* canonical query string, or NULL */
	const void *body;        /* PUT and POST */
	size_t body_len;
	const char *body_sha;    /* its SHA-256 in hex, if already known */
	const char *content_type;
	const char *range;       /* a Range header value, or NULL */
	int retry;
	int ok_404;              /* a 404 is an answer (returns 1), not an error */
	int body_may_be_error;   /* a 200 may carry an <Error> (CompleteMultipartUpload) */
	int fd;                  /* >= 0: a 2xx body streams here ... */
	pv_buf *out;             /* ... else is appended here, at most out_max bytes of it */
	size_t out_max;
	/* results */
	long status;
	int attempts;
	char code[64];           /* S3 error code of the last answer */
	char etag[128];          /* as sent, with its quotes */
	int64_t length;          /* Content-Length of the last answer, -1 if none */
	int64_t received;        /* body bytes delivered */
} s3_req;

/* shared between the client's files */
void pvs3_req_init(s3_req *r, const char *method, const char *key);
char *pvs3_request_url(pv_s3 *s, const char *key, const char *query);
int pvs3_request(pv_s3 *s, s3_req *r);
char *pvs3_sanitize(const char *s, size_t max);
json_t *pvs3_list_uploads(pv_s3 *s, const char *sub);
void pvs3_pct_encode(pv_buf *b, const char *s, int keep_slash);

#endif
