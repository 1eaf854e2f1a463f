/*
 * store/s3.c — the S3-compatible object storage client (see s3.h): URL building and key
 * encoding, one signed request with retries (libcurl's AWS SigV4), single-object operations,
 * listings, and streaming multipart uploads.  The XML answers are read by s3_xml.c.
 *
 * Notes on libcurl's SigV4 (checked with 7.88): it signs the request path and query exactly
 * as they appear in the URL, so this file writes them in canonical form itself: every byte
 * but A-Z a-z 0-9 - _ . ~ (and '/' between path segments) percent-encoded, query parameters
 * sorted by name, and a parameter without a value written "name=" ("?uploads=", never
 * "?uploads").  Every header given with CURLOPT_HTTPHEADER is signed, so none may be a
 * header-removal ("Name:"), and x-amz-content-sha256 is always set: S3 requires it.
 */
#include "store/s3.h"
#include "store/s3_xml.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "util/json.h"
#include "util/hash.h"
#include "util/log.h"

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

/* ---- process-wide initialisation ---------------------------------------------------- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_ok;

static void
global_init(void)
{
	global_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
	xmlInitParser();
}

/* ---- strings ------------------------------------------------------------------------- */

static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

/* Percent-encode s as SigV4 wants it (uppercase hex); '/' kept when keep_slash. */
static void
pct_encode(pv_buf *b, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (unreserved(*p) || (keep_slash && *p == '/')) {
			pv_buf_putc(b, (char)*p);
		} else {
			pv_buf_putc(b, '%');
			pv_buf_putc(b, hex[*p >> 4]);
			pv_buf_putc(b, hex[*p & 15]);
		}
	}
}

/* A copy of text from a server fit for a message: printable, one line, bounded. */
static char *
sanitize(const char *s, size_t max)
{
	pv_buf b = PV_BUF_INIT;
	for (const unsigned char *p = (const unsigned char *)s; *p && b.len < max; p++)
		pv_buf_putc(&b, (*p < 0x20 || *p == 0x7f) ? ' ' : (char)*p);
	return pv_buf_detach(&b);
}

/* A key (or prefix) path: no empty, "." or ".." segments (curl would rewrite the last two). */
static int
check_segments(const char *what, const char *k)
{
	const char *seg = k;
	for (;;) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);
		if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return pv_fail("%s \"%s\" has an empty, \".\" or \"..\" path segment", what, k);
		if (!end)
			return 0;
		seg = end + 1;
	}
}

static int
check_key(pv_s3 *s, const char *key)
{
	if (!key || !*key)
		return pv_fail("S3 object key is empty");
	if (strlen(s->prefix) + strlen(key) > MAX_KEY_LEN)
		return pv_fail("S3 object key \"%s%s\" is longer than %d bytes", s->prefix, key, MAX_KEY_LEN);
	return check_segments("S3 object key", key);
}

/* ---- options ------------------------------------------------------------------------- */

static int
has_ctl(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 1;
	return 0;
}

/* host[:port] is an IP address (IPv6 ones are bracketed) */
static int
is_ip_host(const char *h)
{
	if (h[0] == '[')
		return 1;
	for (const char *p = h; *p && *p != ':'; p++)
		if (!isdigit((unsigned char)*p) && *p != '.')
			return 0;
	return 1;
}

/* Split the endpoint into scheme and host[:port]; 0 or -1 with pv_fail. */
static int
parse_endpoint(const char *endpoint, char **scheme, char **hostport)
{
	CURLU *u = curl_url();
	char *sch = NULL, *host = NULL, *port = NULL, *path = NULL, *user = NULL, *query = NULL;
	int rc = -1;
	/* never echo an endpoint that may carry credentials */
	const char *shown = strchr(endpoint, '@') ? "(not shown)" : endpoint;

	*scheme = *hostport = NULL;
	if (!u)
		return pv_fail("out of memory");
	if (curl_url_set(u, CURLUPART_URL, endpoint, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &sch, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		pv_fail("S3 endpoint %s is not a URL like https://host[:port]", shown);
		goto out;
	}
	if (strcmp(sch, "https") != 0 && strcmp(sch, "http") != 0) {
		pv_fail("S3 endpoint %s: the scheme must be https or http", shown);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		pv_fail("S3 endpoint must not contain credentials: use the access key settings");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
	    (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK && strcmp(path, "/") != 0 &&
	     *path)) {
		pv_fail("S3 endpoint %s must be only scheme://host[:port] (no path or query)", shown);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
		*hostport = pv_asprintf("%s:%s", host, port);
	else
		*hostport = pv_strdup(host);
	*scheme = pv_strdup(sch);
	rc = 0;
out:
	curl_free(sch);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(user);
	curl_free(query);
	curl_url_cleanup(u);
	return rc;
}

static int
valid_region(const char *r)
{
	if (!*r || strlen(r) > 64)
		return 0;
	for (const char *p = r; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return 0;
	return 1;
}

static int
dns_bucket(const char *b)
{
	size_t n = strlen(b);
	if (n < 3 || n > 63 || b[0] == '.' || b[0] == '-' || b[n - 1] == '.' || b[n - 1] == '-')
		return 0;
	for (const char *p = b; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !isdigit((unsigned char)*p) && *p != '-' && *p != '.')
			return 0;
	return 1;
}

pv_s3 *
pv_s3_new(const pv_s3_opts *o)
{
	const char *region = o->region && *o->region ? o->region : "us-east-1";
	char *scheme = NULL, *hostport = NULL, *endpoint = NULL;
	pv_s3 *s = NULL;

	pthread_once(&global_once, global_init);
	if (!global_ok) {
		pv_fail("cannot initialise libcurl");
		return NULL;
	}
	if (!o->bucket || !*o->bucket || strchr(o->bucket, '/') || has_ctl(o->bucket)) {
		pv_fail("S3 bucket name is missing or invalid");
		return NULL;
	}
	if (!valid_region(region)) {
		pv_fail("S3 region \"%s\" is not valid (letters, digits and '-' only)", region);
		return NULL;
	}
	if (!o->access_key || !*o->access_key || !o->secret_key || !*o->secret_key) {
		pv_fail("S3 credentials are missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
		        "or the access key settings of the s3 configuration");
		return NULL;
	}
	if (has_ctl(o->access_key) || strchr(o->access_key, '/') || has_ctl(o->secret_key) ||
	    (o->session_token && has_ctl(o->session_token))) {
		pv_fail("S3 credentials contain characters that cannot be sent");
		return NULL;
	}
	size_t part = o->part_size ? o->part_size : PV_S3_DEFAULT_PART_SIZE;
	if (part > PV_S3_MAX_PART_SIZE || (part < PV_S3_MIN_PART_SIZE && !o->allow_small_parts) ||
	    part < 1024) {
		pv_fail("S3 part size %zu is out of range (5 MiB to 5 GiB)", part);
		return NULL;
	}

	endpoint = o->endpoint && *o->endpoint ? pv_strdup(o->endpoint)
	                                       : pv_asprintf("https://s3.%s.amazonaws.com", region);
	if (parse_endpoint(endpoint, &scheme, &hostport) < 0)
		goto fail;
	if (!o->path_style && (is_ip_host(hostport) || !dns_bucket(o->bucket))) {
		pv_fail("S3 virtual-hosted style needs a host name in the endpoint and a bucket name "
		        "usable in a host name (lowercase letters, digits, '-', '.'): use path style");
		goto fail;
	}

	s = pv_calloc(1, sizeof *s);
	s->bucket = pv_strdup(o->bucket);
	if (o->path_style) {
		pv_buf b = PV_BUF_INIT;
		s->origin = pv_asprintf("%s://%s", scheme, hostport);
		pv_buf_putc(&b, '/');
		pct_encode(&b, o->bucket, 0);
		s->bucket_path = pv_buf_detach(&b);
	} else {
		s->origin = pv_asprintf("%s://%s.%s", scheme, o->bucket, hostport);
		s->bucket_path = pv_strdup("");
	}
	{
		const char *p = o->prefix ? o->prefix : "";
		while (*p == '/')
			p++;
		size_t n = strlen(p);
		s->prefix = (n == 0 || p[n - 1] == '/') ? pv_strdup(p) : pv_asprintf("%s/", p);
		if (n > 0) {
			char *tmp = pv_strndup(s->prefix, strlen(s->prefix) - 1);
			int bad = check_segments("S3 prefix", tmp);
			free(tmp);
			if (bad < 0)
				goto fail;
		}
	}
	s->sigv4 = pv_asprintf("aws:amz:%s:s3", region);
	s->access_key = pv_strdup(o->access_key);
	s->secret_key = pv_strdup(o->secret_key);
	s->session_token = o->session_token && *o->session_token ? pv_strdup(o->session_token) : NULL;
	s->ca_file = o->ca_file && *o->ca_file ? pv_strdup(o->ca_file) : NULL;
	s->part_size = part;
	s->max_retries = o->max_retries == 0 ? 5 : o->max_retries < 0 ? 0 : o->max_retries;
	s->retry_delay_ms = o->retry_delay_ms > 0 ? o->retry_delay_ms : 500;
	s->io_timeout = o->io_timeout > 0 ? o->io_timeout : 60;
	s->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)s;
	s->curl = curl_easy_init();
	if (!s->curl) {
		pv_fail("cannot create a libcurl handle");
		goto fail;
	}
	free(endpoint);
	free(scheme);
	free(hostport);
	return s;
fail:
	free(endpoint);
	free(scheme);
	free(hostport);
	pv_s3_free(s);
	return NULL;
}

static void
free_secret(char *p)
{
	if (p) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

void
pv_s3_free(pv_s3 *s)
{
	if (!s)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	free(s->origin);
	free(s->bucket_path);
	free(s->bucket);
	free(s->prefix);
	free(s->sigv4);
	free(s->access_key);
	free_secret(s->secret_key);
	free_secret(s->session_token);
	free(s->ca_file);
	free(s);
}

char *
pv_s3_describe(pv_s3 *s, const char *key)
{
	return pv_asprintf("s3://%s/%s%s", s->bucket, s->prefix, key ? key : "");
}

/* The URL of key (NULL: the bucket) with an optional canonical query. */
static char *
request_url(pv_s3 *s, const char *key, const char *query)
{
	pv_buf b = PV_BUF_INIT;
	if (key && check_key(s, key) < 0)
		return NULL;
	pv_buf_puts(&b, s->origin);
	pv_buf_puts(&b, s->bucket_path);
	if (key) {
		pv_buf_putc(&b, '/');
		pct_encode(&b, s->prefix, 1);
		pct_encode(&b, key, 1);
	} else if (!*s->bucket_path) {
		pv_buf_putc(&b, '/');
	}
	if (query && *query) {
		pv_buf_putc(&b, '?');
		pv_buf_puts(&b, query);
	}
	return pv_buf_detach(&b);
}

char *
pv_s3_url(pv_s3 *s, const char *key)
{
	return request_url(s, key, NULL);
}

/* ---- one request, with retries -------------------------------------------------------- */

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

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
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
		if (write_all(r->fd, p, len) < 0) {
			x->write_errno = errno;
			return 0;
		}
		r->received += (int64_t)len;
		return len + k;
	}
	if (r->fd >= 0) {
		if (write_all(r->fd, p, len) < 0) {
			x->write_errno = errno;
			return 0;
		}
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
	char *m = message && *message ? sanitize(message, 300) : NULL;
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
static int
s3_request(pv_s3 *s, s3_req *r)
{
	char sha[65];
	char *url = request_url(s, r->key, r->query);
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

static void
req_init(s3_req *r, const char *method, const char *key)
{
	memset(r, 0, sizeof *r);
	r->method = method;
	r->key = key;
	r->fd = -1;
	r->retry = RETRY_ALL;
}

/* ---- objects ------------------------------------------------------------------------- */

int
pv_s3_put(pv_s3 *s, const char *key, const void *data, size_t len)
{
	s3_req r;
	req_init(&r, "PUT", key);
	r.body = data;
	r.body_len = len;
	return s3_request(s, &r) < 0 ? -1 : 0;
}

int
pv_s3_get(pv_s3 *s, const char *key, pv_buf *out, size_t max)
{
	s3_req r;
	req_init(&r, "GET", key);
	r.out = out;
	r.out_max = max;
	return s3_request(s, &r) < 0 ? -1 : 0;
}

int
pv_s3_get_to_fd(pv_s3 *s, const char *key, int fd, int64_t *size)
{
	s3_req r;
	req_init(&r, "GET", key);
	r.fd = fd;
	if (s3_request(s, &r) < 0)
		return -1;
	if (size)
		*size = r.received;
	return 0;
}

int
pv_s3_head(pv_s3 *s, const char *key, int64_t *size, char etag[128])
{
	s3_req r;
	req_init(&r, "HEAD", key);
	r.ok_404 = 1;
	int rc = s3_request(s, &r);
	if (rc < 0 && !r.code[0] && (r.status == 400 || r.status == 403)) {
		/* answers to HEAD have no body, so no error code: ask for one byte to learn why */
		pv_buf one = PV_BUF_INIT;
		s3_req g;
		char *saved = pv_strdup(pv_errmsg());
		req_init(&g, "GET", key);
		g.op = "HEAD";
		g.range = "bytes=0-0";
		g.retry = 0;
		g.out = &one;
		g.out_max = 1;
		if (s3_request(s, &g) >= 0 || !g.code[0] || (g.status != 400 && g.status != 403))
			pv_fail("%s", saved);
		pv_buf_free(&one);
		free(saved);
	}
	if (rc != 0)
		return rc;
	if (size)
		*size = r.length;
	if (etag)
		pv_s3x_strip_quotes(r.etag, etag, 128);
	return 0;
}

int
pv_s3_delete(pv_s3 *s, const char *key)
{
	s3_req r;
	req_init(&r, "DELETE", key);
	r.ok_404 = 1; /* already gone (e.g. a retry after a lost answer) */
	return s3_request(s, &r) < 0 ? -1 : 0;
}

/* ---- listings ------------------------------------------------------------------------ */

/* GET on the bucket with a query: the answer's body into body; 0 or -1 with pv_fail. */
static int
get_xml(pv_s3 *s, const char *op, const char *query, pv_buf *body)
{
	s3_req r;
	req_init(&r, "GET", NULL);
	r.op = op;
	r.query = query;
	r.out = body;
	r.out_max = MAX_XML_ANSWER;
	return s3_request(s, &r) < 0 ? -1 : 0;
}

json_t *
pv_s3_list(pv_s3 *s, const char *sub)
{
	char *want = pv_asprintf("%s%s", s->prefix, sub ? sub : "");
	pv_s3x_scope sc = {s->bucket, s->prefix, want};
	json_t *arr = json_array();
	char *token = NULL;
	pv_buf q = PV_BUF_INIT, body = PV_BUF_INIT;
	int ok = 0;

	for (;;) {
		pv_buf_reset(&q);
		pv_buf_reset(&body);
		/* parameters in canonical (sorted) order */
		if (token) {
			pv_buf_puts(&q, "continuation-token=");
			pct_encode(&q, token, 0);
			pv_buf_putc(&q, '&');
		}
		pv_buf_puts(&q, "encoding-type=url&list-type=2&prefix=");
		pct_encode(&q, want, 0);
		if (get_xml(s, "list", q.data, &body) < 0)
			goto out;
		int more;
		char *next;
		if (pv_s3x_list_page(body.data, body.len, &sc, arr, &more, &next) < 0)
			goto out;
		if (!more)
			break;
		if (!next || !*next || (token && strcmp(next, token) == 0)) {
			pv_fail("S3 listing of s3://%s/%s: a truncated page without a new continuation token",
			        s->bucket, want);
			free(next);
			goto out;
		}
		free(token);
		token = next;
	}
	ok = 1;
out:
	free(want);
	free(token);
	pv_buf_free(&q);
	pv_buf_free(&body);
	if (!ok) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* Incomplete multipart uploads whose key starts with prefix+sub. */
static json_t *
list_uploads(pv_s3 *s, const char *sub)
{
	char *want = pv_asprintf("%s%s", s->prefix, sub ? sub : "");
	pv_s3x_scope sc = {s->bucket, s->prefix, want};
	json_t *arr = json_array();
	char *key_marker = NULL, *id_marker = NULL;
	pv_buf q = PV_BUF_INIT, body = PV_BUF_INIT;
	int ok = 0;

	for (;;) {
		pv_buf_reset(&q);
		pv_buf_reset(&body);
		pv_buf_puts(&q, "encoding-type=url&");
		if (key_marker) {
			pv_buf_puts(&q, "key-marker=");
			pct_encode(&q, key_marker, 0);
			pv_buf_putc(&q, '&');
		}
		pv_buf_puts(&q, "prefix=");
		pct_encode(&q, want, 0);
		if (id_marker) {
			pv_buf_puts(&q, "&upload-id-marker=");
			pct_encode(&q, id_marker, 0);
		}
		pv_buf_puts(&q, "&uploads=");
		if (get_xml(s, "list multipart uploads", q.data, &body) < 0)
			goto out;
		int more;
		char *nk, *ni;
		if (pv_s3x_uploads_page(body.data, body.len, &sc, arr, &more, &nk, &ni) < 0)
			goto out;
		if (!more)
			break;
		if (key_marker && strcmp(nk, key_marker) == 0 && ni && id_marker &&
		    strcmp(ni, id_marker) == 0) {
			pv_fail("S3 listing of multipart uploads: the server repeats the same page");
			free(nk);
			free(ni);
			goto out;
		}
		free(key_marker);
		free(id_marker);
		key_marker = nk;
		id_marker = ni && *ni ? ni : NULL;
		if (!id_marker)
			free(ni);
	}
	ok = 1;
out:
	free(want);
	free(key_marker);
	free(id_marker);
	pv_buf_free(&q);
	pv_buf_free(&body);
	if (!ok) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

json_t *
pv_s3_list_uploads(pv_s3 *s)
{
	return list_uploads(s, NULL);
}

int
pv_s3_abort_upload(pv_s3 *s, const char *key, const char *upload_id)
{
	pv_buf q = PV_BUF_INIT;
	s3_req r;
	pv_buf_puts(&q, "uploadId=");
	pct_encode(&q, upload_id, 0);
	req_init(&r, "DELETE", key);
	r.op = "abort multipart upload of";
	r.query = q.data;
	r.ok_404 = 1; /* NoSuchUpload: already aborted, or completed */
	int rc = s3_request(s, &r);
	pv_buf_free(&q);
	return rc < 0 ? -1 : 0;
}

/* ---- multipart upload ---------------------------------------------------------------- */

struct pv_s3_upload {
	pv_s3 *s;
	char *key;
	char *upload_id;   /* NULL once completed or aborted */
	char *buf;         /* the part being filled */
	size_t len, cap;
	int nparts;        /* parts sent */
	char **etags;      /* etags[i]: ETag of part i+1, as the server sent it */
	int64_t total;     /* bytes written to the sink */
	int dead;          /* a part failed and the upload was aborted */
	pv_sink sink;
};

/* Size of part number partno (1-based): doubles every 1000 parts, at most 5 GiB. */
static size_t
part_size_for(pv_s3 *s, int partno)
{
	size_t size = s->part_size;
	for (int k = (partno - 1) / 1000; k > 0 && size < PV_S3_MAX_PART_SIZE; k--)
		size *= 2;
	return size < PV_S3_MAX_PART_SIZE ? size : PV_S3_MAX_PART_SIZE;
}

/* Send AbortMultipartUpload, keeping the message of the failure that led here. */
static void
abort_remote(pv_s3_upload *u)
{
	if (!u->upload_id)
		return;
	const char *m = pv_errmsg();
	char *saved = strcmp(m, "unknown error") != 0 ? pv_strdup(m) : NULL;
	int code = pv_errcode();
	if (pv_s3_abort_upload(u->s, u->key, u->upload_id) < 0) {
		char *desc = pv_s3_describe(u->s, u->key);
		pv_warn("could not abort the multipart upload of %s (upload id %s): %s", desc,
		        u->upload_id, pv_errmsg());
		free(desc);
	}
	if (saved)
		pv_fail_code(code, "%s", saved);
	else
		pv_err_clear();
	free(saved);
	free(u->upload_id);
	u->upload_id = NULL;
}

static void
upload_free(pv_s3_upload *u)
{
	for (int i = 0; i < u->nparts; i++)
		free(u->etags[i]);
	free(u->etags);
	free(u->buf);
	free(u->key);
	free(u->upload_id);
	free(u);
}

static int
send_part(pv_s3_upload *u)
{
	int partno = u->nparts + 1;
	char op[64];
	pv_buf q = PV_BUF_INIT;
	s3_req r;

	if (partno > PV_S3_MAX_PARTS) {
		char *desc = pv_s3_describe(u->s, u->key);
		pv_fail("S3 upload of %s: more than %d parts", desc, PV_S3_MAX_PARTS);
		free(desc);
		return -1;
	}
	snprintf(op, sizeof op, "upload part %d of", partno);
	pv_buf_printf(&q, "partNumber=%d&uploadId=", partno);
	pct_encode(&q, u->upload_id, 0);
	req_init(&r, "PUT", u->key);
	r.op = op;
	r.query = q.data;
	r.body = u->buf ? u->buf : "";
	r.body_len = u->len;
	int rc = s3_request(u->s, &r);
	pv_buf_free(&q);
	if (rc < 0)
		return -1;
	if (!r.etag[0]) {
		char *desc = pv_s3_describe(u->s, u->key);
		pv_fail("S3 %s %s: the answer has no ETag", op, desc);
		free(desc);
		return -1;
	}
	if (partno % 64 == 1)
		u->etags = pv_realloc(u->etags, (size_t)(partno + 63) * sizeof *u->etags);
	u->etags[u->nparts++] = pv_strdup(r.etag);
	u->len = 0;
	return 0;
}

static int
upload_write(pv_sink *sink, const void *data, size_t len)
{
	pv_s3_upload *u = sink->ctx;
	const char *p = data;

	if (u->dead || !u->upload_id) {
		char *desc = pv_s3_describe(u->s, u->key);
		pv_fail("S3 upload of %s: the upload already failed", desc);
		free(desc);
		return -1;
	}
	while (len > 0) {
		size_t want = part_size_for(u->s, u->nparts + 1);
		if (u->len == want) {
			/* a full part is sent only once more bytes come: the last part is never empty */
			if (send_part(u) < 0) {
				u->dead = 1;
				abort_remote(u);
				return -1;
			}
			continue;
		}
		if (u->cap < want && u->len + len > u->cap) {
			/* grow towards the part size (small streams stay small) */
			size_t cap = u->cap ? u->cap : 65536;
			while (cap < u->len + len && cap < want)
				cap *= 2;
			if (cap > want)
				cap = want;
			u->buf = pv_realloc(u->buf, cap);
			u->cap = cap;
		}
		size_t room = (u->cap < want ? u->cap : want) - u->len;
		size_t n = len < room ? len : room;
		memcpy(u->buf + u->len, p, n);
		u->len += n;
		u->total += (int64_t)n;
		p += n;
		len -= n;
	}
	return 0;
}

pv_s3_upload *
pv_s3_upload_begin(pv_s3 *s, const char *key)
{
	pv_buf body = PV_BUF_INIT;
	s3_req r;

	req_init(&r, "POST", key);
	r.op = "start multipart upload of";
	r.query = "uploads=";
	r.retry = RETRY_UNSENT; /* a retry after a lost answer would leave an orphan upload */
	r.out = &body;
	r.out_max = MAX_XML_ANSWER;
	if (s3_request(s, &r) < 0) {
		pv_buf_free(&body);
		return NULL;
	}
	char *id = pv_s3x_upload_id(body.data, body.len);
	pv_buf_free(&body);
	if (!id) {
		char *desc = pv_s3_describe(s, key);
		pv_fail("S3 start multipart upload of %s: the answer has no UploadId", desc);
		free(desc);
		return NULL;
	}
	pv_s3_upload *u = pv_calloc(1, sizeof *u);
	u->s = s;
	u->key = pv_strdup(key);
	u->upload_id = id;
	u->sink.write = upload_write;
	u->sink.ctx = u;
	return u;
}

pv_sink *
pv_s3_upload_sink(pv_s3_upload *u)
{
	return &u->sink;
}

const char *
pv_s3_upload_id(pv_s3_upload *u)
{
	return u->upload_id;
}

int
pv_s3_upload_parts(pv_s3_upload *u)
{
	return u->nparts;
}

/* 1 if the server still lists u's upload, 0 if not, -1 if that cannot be told. */
static int
upload_listed(pv_s3_upload *u)
{
	json_t *arr = list_uploads(u->s, u->key), *o;
	size_t i;
	int found = 0;
	if (!arr)
		return -1;
	json_array_foreach(arr, i, o) {
		if (strcmp(json_string_value(json_object_get(o, "key")), u->key) == 0 &&
		    strcmp(json_string_value(json_object_get(o, "upload_id")), u->upload_id) == 0)
			found = 1;
	}
	json_decref(arr);
	return found;
}

/* The CompleteMultipartUpload document, built with libxml2 (it escapes the ETags). */
static char *
complete_xml(pv_s3_upload *u, size_t *len)
{
	xmlDoc *doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNode *root = xmlNewNode(NULL, BAD_CAST "CompleteMultipartUpload");
	xmlSetNs(root, xmlNewNs(root, BAD_CAST "http://s3.amazonaws.com/doc/2006-03-01/", NULL));
	xmlDocSetRootElement(doc, root);
	for (int i = 0; i < u->nparts; i++) {
		char num[16];
		snprintf(num, sizeof num, "%d", i + 1);
		xmlNode *part = xmlNewChild(root, NULL, BAD_CAST "Part", NULL);
		xmlNewTextChild(part, NULL, BAD_CAST "PartNumber", BAD_CAST num);
		xmlNewTextChild(part, NULL, BAD_CAST "ETag", BAD_CAST u->etags[i]);
	}
	xmlChar *mem = NULL;
	int n = 0;
	xmlDocDumpMemoryEnc(doc, &mem, &n, "UTF-8");
	xmlFreeDoc(doc);
	char *r = pv_strndup(mem ? (const char *)mem : "", mem ? (size_t)n : 0);
	*len = mem ? (size_t)n : 0;
	xmlFree(mem);
	return r;
}

int
pv_s3_upload_complete(pv_s3_upload *u, int64_t *size)
{
	pv_s3 *s = u->s;
	char *desc = pv_s3_describe(s, u->key);
	int rc = -1;

	if (u->dead || !u->upload_id) {
		if (strcmp(pv_errmsg(), "unknown error") == 0)
			pv_fail("S3 upload of %s: the upload already failed", desc);
		goto out;
	}
	if (u->total == 0) {
		/* nothing was written: a plain empty object (not every server takes an empty part) */
		abort_remote(u);
		if (pv_s3_put(s, u->key, "", 0) < 0)
			goto out;
	} else {
		pv_buf answer = PV_BUF_INIT;
		pv_buf q = PV_BUF_INIT;
		s3_req r;
		size_t xml_len;

		if (u->len > 0 && send_part(u) < 0) {
			abort_remote(u);
			goto out;
		}
		char *xml = complete_xml(u, &xml_len);
		pv_buf_puts(&q, "uploadId=");
		pct_encode(&q, u->upload_id, 0);
		req_init(&r, "POST", u->key);
		r.op = "complete multipart upload of";
		r.query = q.data;
		r.body = xml;
		r.body_len = xml_len;
		r.content_type = "application/xml";
		r.body_may_be_error = 1;
		r.out = &answer;
		r.out_max = MAX_XML_ANSWER;
		/* Completing the same parts again is harmless, so this is retried.  Should an earlier
		 * attempt have succeeded unseen, the retries fail (S3: NoSuchUpload; other servers:
		 * anything), but the upload is no longer listed, and the HEAD below tells. */
		int st = s3_request(s, &r);
		int maybe_done = 0;
		if (st < 0 && r.attempts > 1) {
			char *saved = pv_strdup(pv_errmsg());
			maybe_done = strcmp(r.code, "NoSuchUpload") == 0 || upload_listed(u) == 0;
			pv_fail("%s", saved);
			free(saved);
		}
		free(xml);
		pv_buf_free(&q);
		if (st == 0 && !pv_s3x_complete_ok(answer.data, answer.len)) {
			pv_fail("S3 complete multipart upload of %s: unexpected answer", desc);
			st = -1;
		}
		pv_buf_free(&answer);
		if (st < 0 && !maybe_done) {
			abort_remote(u);
			goto out;
		}
		free(u->upload_id);
		u->upload_id = NULL;
	}

	/* the object must now hold exactly what was written */
	int64_t got = -1;
	int h = pv_s3_head(s, u->key, &got, NULL);
	if (h < 0)
		goto out;
	if (h == 1) {
		pv_fail("S3 upload of %s: the object is missing after the upload completed", desc);
		goto out;
	}
	if (got != u->total) {
		pv_fail("S3 upload of %s: the server holds %" PRId64 " bytes, %" PRId64 " were written",
		        desc, got, u->total);
		char *saved = pv_strdup(pv_errmsg());
		if (pv_s3_delete(s, u->key) < 0)
			pv_warn("could not delete the bad object %s: %s", desc, pv_errmsg());
		pv_fail("%s", saved);
		free(saved);
		goto out;
	}
	if (size)
		*size = u->total;
	rc = 0;
out:
	free(desc);
	upload_free(u);
	return rc;
}

void
pv_s3_upload_abort(pv_s3_upload *u)
{
	if (!u)
		return;
	abort_remote(u);
	upload_free(u);
}

