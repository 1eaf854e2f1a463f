/*
 * store/s3_request.c — one request of the S3 client (see s3_int.h): the URL and headers,
 * libcurl's AWS SigV4 signing at send time, the answer streamed to a buffer or a file, and
 * retries with exponential backoff and jitter on 5xx, 429, timeouts and connection resets,
 * resuming downloads with a Range request.
 */
#include "store/s3_int.h"
#include "store/s3_xml.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "util/fsutil.h"
#include "util/json.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/progress.h"

/* ---- one request, with retries -------------------------------------------------------- */


/* State of one attempt, shared with the callbacks. */
typedef struct s3_xfer {
	s3_req *r;
	size_t sent;             /* upload position */
	long status;
	char etag[128];
	int64_t length;
	int64_t resume_from;     /* fd downloads: bytes already written by earlier attempts */
	int64_t skip;            /* bytes of this answer to drop (server ignored the Range) */
	size_t out_start;        /* length of r->out before the answer */
	int body_started;
	pv_buf err;              /* body of a non-2xx answer (bounded) */
	int write_errno;
	int too_big;
	int etag_changed;
} s3_xfer;

static int
header_is(const char *line, size_t len, const char *name, const char **value, size_t *vlen)
{
	size_t n = strlen(name);
	if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
		return 0;
	const char *v = line + n + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*value = v;
	*vlen = (size_t)(end - v);
	return 1;
}

static size_t
on_header(char *line, size_t size, size_t n, void *arg)
{
	s3_xfer *x = arg;
	size_t len = size * n;
	const char *v;
	size_t vlen;

	if (len > 5 && memcmp(line, "HTTP/", 5) == 0) {
		/* a new answer (the final one follows any "100 Continue") */
		const char *sp = memchr(line, ' ', len);
		x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		x->etag[0] = '\0';
		x->length = -1;
	} else if (header_is(line, len, "etag", &v, &vlen)) {
		if (vlen >= sizeof x->etag)
			vlen = sizeof x->etag - 1;
		memcpy(x->etag, v, vlen);
		x->etag[vlen] = '\0';
	} else if (header_is(line, len, "content-length", &v, &vlen)) {
		char tmp[32];
		if (vlen < sizeof tmp) {
			memcpy(tmp, v, vlen);
			tmp[vlen] = '\0';
			x->length = strtoll(tmp, NULL, 10);
		}
	}
	return len;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	s3_xfer *x = arg;
	s3_req *r = x->r;
	size_t len = size * n;

	if (x->status < 200 || x->status >= 300 || (r->fd < 0 && !r->out)) {
		if (x->err.len < MAX_ERROR_BODY)
			pv_buf_add(&x->err, p, len < MAX_ERROR_BODY - x->err.len ? len : MAX_ERROR_BODY - x->err.len);
		return len;
	}
	if (!x->body_started) {
		x->body_started = 1;
		if (x->resume_from > 0) {
			/* the rest of the same object, or all of it again (skip what we have) */
			char a[128], b[128];
			pv_s3x_strip_quotes(r->etag, a, sizeof a);
			pv_s3x_strip_quotes(x->etag, b, sizeof b);
			if (*a && *b && strcmp(a, b) != 0) {
				x->etag_changed = 1;
				return 0;
			}
			if (x->status == 200)
				x->skip = x->resume_from;
		} else if (!r->etag[0]) {
			snprintf(r->etag, sizeof r->etag, "%s", x->etag);
		}
	}
	if (x->skip > 0) {
		size_t k = (int64_t)len < x->skip ? len : (size_t)x->skip;
		x->skip -= (int64_t)k;
		p += k;
		if (k == len)
			return len;
		len -= k;
		if (pv_write_all(r->fd, p, len) < 0) {
			x->write_errno = errno;
			return 0;
		}
		pv_progress_add((int64_t)len, 0);
		r->received += (int64_t)len;
		return len + k;
	}
	if (r->fd >= 0) {
		if (pv_write_all(r->fd, p, len) < 0) {
			x->write_errno = errno;
			return 0;
		}
		pv_progress_add((int64_t)len, 0); /* a download (status line, util/progress.h) */
	} else {
		if (r->out->len - x->out_start + len > r->out_max) {
			x->too_big = 1;
			return 0;
		}
		pv_buf_add(r->out, p, len);
	}
	r->received += (int64_t)len;
	return len;
}

static size_t
on_read(char *p, size_t size, size_t n, void *arg)
{
	s3_xfer *x = arg;
	size_t room = size * n, left = x->r->body_len - x->sent;
	size_t k = room < left ? room : left;
	if (k)
		memcpy(p, (const char *)x->r->body + x->sent, k);
	x->sent += k;
	return k;
}

static int
on_seek(void *arg, curl_off_t off, int origin)
{
	s3_xfer *x = arg;
	if (origin != SEEK_SET || off < 0 || (uint64_t)off > x->r->body_len)
		return CURL_SEEKFUNC_FAIL;
	x->sent = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

static CURLcode
perform(pv_s3 *s, s3_req *r, const char *url, const char *sha, s3_xfer *x)
{
	CURL *h = s->curl;
	struct curl_slist *hdr = NULL;
	char *line;

	curl_easy_reset(h);
	s->curl_err[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "pgvault");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->curl_err);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, s->io_timeout);
	/* libcurl silently resends a request whose reused connection died before any answer;
	 * a request that must not run twice gets a connection of its own */
	if (r->retry != RETRY_ALL)
		curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
	/* signed by libcurl when the request is sent: a retry gets a fresh date */
	curl_easy_setopt(h, CURLOPT_AWS_SIGV4, s->sigv4);
	curl_easy_setopt(h, CURLOPT_USERNAME, s->access_key);
	curl_easy_setopt(h, CURLOPT_PASSWORD, s->secret_key);

	line = pv_asprintf("x-amz-content-sha256: %s", sha);
	hdr = curl_slist_append(hdr, line);
	free(line);
	if (s->session_token) {
		line = pv_asprintf("x-amz-security-token: %s", s->session_token);
		hdr = curl_slist_append(hdr, line);
		explicit_bzero(line, strlen(line));
		free(line);
	}
	if (r->content_type) {
		line = pv_asprintf("Content-Type: %s", r->content_type);
		hdr = curl_slist_append(hdr, line);
		free(line);
	}
	if (x->resume_from > 0 || r->range) {
		if (x->resume_from > 0)
			line = pv_asprintf("Range: bytes=%" PRId64 "-", x->resume_from);
		else
			line = pv_asprintf("Range: %s", r->range);
		hdr = curl_slist_append(hdr, line);
		free(line);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);

	if (strcmp(r->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, x);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body ? (const char *)r->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "DELETE") == 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
	} else if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	}

	CURLcode cc = curl_easy_perform(h);
	/* drop our references to the headers and the secret before anything else happens */
	curl_easy_reset(h);
	curl_slist_free_all(hdr);
	return cc;
}

static int
transport_retryable(CURLcode cc, int retry)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return 1; /* nothing was sent */
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return retry == RETRY_ALL;
	default:
		return 0;
	}
}

static int
answer_retryable(long status, const char *code, int retry)
{
	/* throttling: the request was turned away, not acted on */
	if (status == 429 || strcmp(code, "SlowDown") == 0 ||
	    (status == 503 && (!*code || strcmp(code, "ServiceUnavailable") == 0)))
		return 1;
	if (retry != RETRY_ALL)
		return 0;
	return status == 500 || status == 502 || status == 503 || status == 504 ||
	       strcmp(code, "InternalError") == 0 || strcmp(code, "RequestTimeout") == 0 ||
	       strcmp(code, "ServiceUnavailable") == 0;
}

static void
fail_answer(const char *op, const char *desc, long status, const char *code, const char *message)
{
	char *m = message && *message ? pvs3_sanitize(message, 300) : NULL;
	if (strcmp(code, "SignatureDoesNotMatch") == 0 || strcmp(code, "InvalidAccessKeyId") == 0)
		pv_fail("S3 %s %s: S3 rejected the request signature: check the access key and secret (%s)",
		        op, desc, code);
	else if (strcmp(code, "RequestTimeTooSkewed") == 0)
		pv_fail("S3 %s %s: the server refused the request because this machine's clock differs "
		        "from the server's by more than 15 minutes (RequestTimeTooSkewed): fix the system "
		        "time (e.g. enable NTP)", op, desc);
	else if (strcmp(code, "NoSuchBucket") == 0)
		pv_fail("S3 %s %s: the bucket does not exist (NoSuchBucket)", op, desc);
	else if (strcmp(code, "AccessDenied") == 0)
		pv_fail("S3 %s %s: access denied (AccessDenied%s%s): check the credentials' permissions "
		        "on the bucket", op, desc, m ? ": " : "", m ? m : "");
	else if (*code)
		pv_fail("S3 %s %s: HTTP %ld %s%s%s", op, desc, status, code, m ? ": " : "", m ? m : "");
	else if (status == 404)
		pv_fail("S3 %s %s: not found (HTTP 404)", op, desc);
	else if (status == 403 || status == 400)
		pv_fail("S3 %s %s: HTTP %ld (the request was refused: check the access key and secret, "
		        "and their permissions)", op, desc, status);
	else
		pv_fail("S3 %s %s: HTTP %ld", op, desc, status);
	free(m);
}

static uint64_t
next_random(pv_s3 *s)
{
	/* xorshift64*: jitter only, not security */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 2685821657736338717ULL;
}

static long
backoff_ms(pv_s3 *s, int attempt)
{
	long d = s->retry_delay_ms;
	for (int i = 0; i < attempt && d < MAX_BACKOFF_MS; i++)
		d *= 2;
	if (d > MAX_BACKOFF_MS)
		d = MAX_BACKOFF_MS;
	/* "equal jitter": between half and all of the exponential delay */
	return d / 2 + (long)(next_random(s) % (uint64_t)(d / 2 + 1));
}

/* 0 on a 2xx answer, 1 on a 404 when r->ok_404, else -1 with pv_fail. */
int
pvs3_request(pv_s3 *s, s3_req *r)
{
	char sha[65];
	char *url = pvs3_request_url(s, r->key, r->query);
	if (!url)
		return -1;
	char *desc = pv_s3_describe(s, r->key);
	const char *op = r->op ? r->op : r->method;
	size_t out_start = r->out ? r->out->len : 0;
	int rc = -1;

	if (r->body_sha) {
		snprintf(sha, sizeof sha, "%s", r->body_sha);
	} else if (r->body_len == 0) {
		snprintf(sha, sizeof sha, "%s", EMPTY_SHA256);
	} else {
		pv_sha256 h;
		pv_sha256_init(&h);
		pv_sha256_update(&h, r->body, r->body_len);
		pv_sha256_final_hex(&h, sha);
	}
	r->etag[0] = r->code[0] = '\0';
	r->received = 0;
	r->length = -1;

	for (int attempt = 0;; attempt++) {
		s3_xfer x;
		memset(&x, 0, sizeof x);
		x.r = r;
		x.length = -1;
		x.out_start = out_start;
		pv_buf_init(&x.err);
		if (r->fd >= 0)
			x.resume_from = r->received;
		if (r->out) {
			r->out->len = out_start;
			if (r->out->data)
				r->out->data[out_start] = '\0';
			r->received = 0;
		}
		r->code[0] = '\0';

		CURLcode cc = perform(s, r, url, sha, &x);
		int retry = 0;
		r->attempts = attempt + 1;
		r->status = x.status;
		if (x.write_errno) {
			pv_fail("S3 %s %s: writing the object: %s", op, desc, strerror(x.write_errno));
		} else if (x.too_big) {
			pv_fail("S3 %s %s: the answer is larger than %zu bytes", op, desc, r->out_max);
		} else if (x.etag_changed) {
			pv_fail("S3 %s %s: the object changed while it was being downloaded", op, desc);
		} else if (cc != CURLE_OK) {
			retry = transport_retryable(cc, r->retry);
			pv_fail("S3 %s %s: %s", op, desc, s->curl_err[0] ? s->curl_err : curl_easy_strerror(cc));
		} else if (x.status >= 200 && x.status < 300) {
			char *msg = NULL;
			if (r->body_may_be_error && r->out &&
			    pv_s3x_error(r->out->data + out_start, r->out->len - out_start, r->code, &msg)) {
				/* "200 OK" whose body is an error: the operation did not happen */
				retry = answer_retryable(x.status, r->code, r->retry);
				fail_answer(op, desc, x.status, r->code, msg);
				free(msg);
			} else {
				snprintf(r->etag, sizeof r->etag, "%s", x.etag);
				r->length = x.length;
				rc = 0;
			}
		} else {
			char *msg = NULL;
			if (!pv_s3x_error(x.err.data ? x.err.data : "", x.err.len, r->code, &msg))
				r->code[0] = '\0';
			if (x.status == 404 && r->ok_404) {
				rc = 1;
			} else {
				retry = answer_retryable(x.status, r->code, r->retry);
				fail_answer(op, desc, x.status, r->code, msg);
			}
			free(msg);
		}
		pv_buf_free(&x.err);
		if (rc >= 0)
			break;
		if (!retry)
			break;
		if (attempt >= s->max_retries) {
			if (s->max_retries > 0) {
				char *m = pv_strdup(pv_errmsg());
				pv_fail("%s (gave up after %d attempts)", m, attempt + 1);
				free(m);
			}
			break;
		}
		long ms = backoff_ms(s, attempt);
		pv_warn("%s; retrying in %.1f s (retry %d of %d)", pv_errmsg(), ms / 1000.0, attempt + 1,
		        s->max_retries);
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	free(url);
	free(desc);
	return rc;
}

void
pvs3_req_init(s3_req *r, const char *method, const char *key)
{
	memset(r, 0, sizeof *r);
	r->method = method;
	r->key = key;
	r->fd = -1;
	r->retry = RETRY_ALL;
}

