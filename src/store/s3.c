/*
 * store/s3.c — the S3-compatible object storage client (see s3.h): options, URL building and
 * key encoding, single-object operations and listings.  One signed request with retries is
 * store/s3_request.c (libcurl's AWS SigV4), the streaming multipart upload
 * store/s3_upload.c; the XML answers are read by s3_xml.c.
 *
 * Notes on libcurl's SigV4 (checked with 7.88): it signs the request path and query exactly
 * as they appear in the URL, so this file writes them in canonical form itself: every byte
 * but A-Z a-z 0-9 - _ . ~ (and '/' between path segments) percent-encoded, query parameters
 * sorted by name, and a parameter without a value written "name=" ("?uploads=", never
 * "?uploads").  Every header given with CURLOPT_HTTPHEADER is signed, so none may be a
 * header-removal ("Name:"), and x-amz-content-sha256 is always set: S3 requires it.
 */
#include "store/s3_int.h"
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
void
pvs3_pct_encode(pv_buf *b, const char *s, int keep_slash)
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
char *
pvs3_sanitize(const char *s, size_t max)
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
		pvs3_pct_encode(&b, o->bucket, 0);
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
char *
pvs3_request_url(pv_s3 *s, const char *key, const char *query)
{
	pv_buf b = PV_BUF_INIT;
	if (key && check_key(s, key) < 0)
		return NULL;
	pv_buf_puts(&b, s->origin);
	pv_buf_puts(&b, s->bucket_path);
	if (key) {
		pv_buf_putc(&b, '/');
		pvs3_pct_encode(&b, s->prefix, 1);
		pvs3_pct_encode(&b, key, 1);
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
	return pvs3_request_url(s, key, NULL);
}

/* ---- objects ------------------------------------------------------------------------- */

int
pv_s3_put(pv_s3 *s, const char *key, const void *data, size_t len)
{
	s3_req r;
	pvs3_req_init(&r, "PUT", key);
	r.body = data;
	r.body_len = len;
	return pvs3_request(s, &r) < 0 ? -1 : 0;
}

int
pv_s3_get(pv_s3 *s, const char *key, pv_buf *out, size_t max)
{
	s3_req r;
	pvs3_req_init(&r, "GET", key);
	r.out = out;
	r.out_max = max;
	return pvs3_request(s, &r) < 0 ? -1 : 0;
}

int
pv_s3_get_to_fd(pv_s3 *s, const char *key, int fd, int64_t *size)
{
	s3_req r;
	pvs3_req_init(&r, "GET", key);
	r.fd = fd;
	if (pvs3_request(s, &r) < 0)
		return -1;
	if (size)
		*size = r.received;
	return 0;
}

int
pv_s3_head(pv_s3 *s, const char *key, int64_t *size, char etag[128])
{
	s3_req r;
	pvs3_req_init(&r, "HEAD", key);
	r.ok_404 = 1;
	int rc = pvs3_request(s, &r);
	if (rc < 0 && !r.code[0] && (r.status == 400 || r.status == 403)) {
		/* answers to HEAD have no body, so no error code: ask for one byte to learn why */
		pv_buf one = PV_BUF_INIT;
		s3_req g;
		char *saved = pv_strdup(pv_errmsg());
		pvs3_req_init(&g, "GET", key);
		g.op = "HEAD";
		g.range = "bytes=0-0";
		g.retry = 0;
		g.out = &one;
		g.out_max = 1;
		if (pvs3_request(s, &g) >= 0 || !g.code[0] || (g.status != 400 && g.status != 403))
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
	pvs3_req_init(&r, "DELETE", key);
	r.ok_404 = 1; /* already gone (e.g. a retry after a lost answer) */
	return pvs3_request(s, &r) < 0 ? -1 : 0;
}

/* ---- listings ------------------------------------------------------------------------ */

/* GET on the bucket with a query: the answer's body into body; 0 or -1 with pv_fail. */
static int
get_xml(pv_s3 *s, const char *op, const char *query, pv_buf *body)
{
	s3_req r;
	pvs3_req_init(&r, "GET", NULL);
	r.op = op;
	r.query = query;
	r.out = body;
	r.out_max = MAX_XML_ANSWER;
	return pvs3_request(s, &r) < 0 ? -1 : 0;
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
			pvs3_pct_encode(&q, token, 0);
			pv_buf_putc(&q, '&');
		}
		pv_buf_puts(&q, "encoding-type=url&list-type=2&prefix=");
		pvs3_pct_encode(&q, want, 0);
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
json_t *
pvs3_list_uploads(pv_s3 *s, const char *sub)
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
			pvs3_pct_encode(&q, key_marker, 0);
			pv_buf_putc(&q, '&');
		}
		pv_buf_puts(&q, "prefix=");
		pvs3_pct_encode(&q, want, 0);
		if (id_marker) {
			pv_buf_puts(&q, "&upload-id-marker=");
			pvs3_pct_encode(&q, id_marker, 0);
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
	return pvs3_list_uploads(s, NULL);
}

int
pv_s3_abort_upload(pv_s3 *s, const char *key, const char *upload_id)
{
	pv_buf q = PV_BUF_INIT;
	s3_req r;
	pv_buf_puts(&q, "uploadId=");
	pvs3_pct_encode(&q, upload_id, 0);
	pvs3_req_init(&r, "DELETE", key);
	r.op = "abort multipart upload of";
	r.query = q.data;
	r.ok_404 = 1; /* NoSuchUpload: already aborted, or completed */
	int rc = pvs3_request(s, &r);
	pv_buf_free(&q);
	return rc < 0 ? -1 : 0;
}

