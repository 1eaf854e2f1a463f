/*
 * store/s3_xml.c — S3's XML answers parsed with libxml2 into plain values (see s3_xml.h):
 * <Error> documents, listing pages, and the multipart upload answers.  No network here.
 */
#include "store/s3_xml.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"

/* ---- strings ------------------------------------------------------------------------- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode a key of a listing made with encoding-type=url ('+' is a space).  A "%00" ends the
 * string, as a NUL does in any C string. */
static char *
url_decode(const char *s)
{
	pv_buf b = PV_BUF_INIT;
	pv_buf_reserve(&b, strlen(s));
	for (const char *p = s; *p; p++) {
		if (*p == '+') {
			pv_buf_putc(&b, ' ');
		} else if (*p == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			pv_buf_putc(&b, (char)(hexval(p[1]) * 16 + hexval(p[2])));
			p += 2;
		} else {
			pv_buf_putc(&b, *p);
		}
	}
	return pv_buf_detach(&b);
}

void
pv_s3x_strip_quotes(const char *in, char *out, size_t size)
{
	size_t n = strlen(in);
	if (size == 0)
		return;
	if (n >= 2 && in[0] == '"' && in[n - 1] == '"') {
		in++;
		n -= 2;
	}
	if (n >= size)
		n = size - 1;
	memcpy(out, in, n);
	out[n] = '\0';
}

/* A short copy of text from the server for a message: printable, bounded (malloc'd). */
static char *
shown(const char *s)
{
	pv_buf b = PV_BUF_INIT;
	for (const unsigned char *p = (const unsigned char *)s; *p && b.len < 40; p++)
		pv_buf_putc(&b, (*p < 0x20 || *p == 0x7f) ? ' ' : (char)*p);
	if (*s && strlen(s) > b.len)
		pv_buf_puts(&b, "...");
	return pv_buf_detach(&b);
}

static int
is_true(const char *v)
{
	return v && strcmp(v, "true") == 0;
}

/*
 * The Size of a listed object.  Absent, it is 0 (as it always was: S3 always sends it).
 * Present, it must be a decimal number of bytes from 0 to 2^63-1, blanks around it allowed:
 * a negative, non-numeric or overflowing Size is an error, never a guess, since the size
 * ends up in the bundle's records and in download checks.  0, or -1 (no message).
 */
static int
parse_size(const char *s, json_int_t *v)
{
	const char *p = s;
	char *end;
	*v = 0;
	if (!s)
		return 0;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	long long n = strtoll(p, &end, 10);
	if (errno == ERANGE || n < 0)
		return -1;
	while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
		end++;
	if (*end)
		return -1;
	*v = (json_int_t)n;
	return 0;
}

/* ---- libxml2 ------------------------------------------------------------------------- */

static void
quiet(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

static xmlDoc *
xml_parse(const char *data, size_t len)
{
	if (!data || len == 0 || len > INT_MAX)
		return NULL;
	/* XML_PARSE_NOERROR|NOWARNING silence the parser, but not the character conversion
	 * ("encoding error : input conversion failed", "I/O error : encoder error" for a body
	 * that is not in the encoding it declares), which reports through the generic error
	 * handler: that handler (per thread in libxml2) is muted while parsing */
	xmlGenericErrorFunc old = xmlGenericError;
	void *old_ctx = xmlGenericErrorContext;
	xmlSetGenericErrorFunc(NULL, quiet);
	/* no network, no entity expansion (libxml2's default), no messages on stderr; nesting is
	 * bounded by libxml2 (256 levels without XML_PARSE_HUGE) */
	xmlDoc *doc = xmlReadMemory(data, (int)len, "s3-answer.xml", NULL,
	                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlSetGenericErrorFunc(old_ctx, old);
	if (doc && (doc->intSubset || doc->extSubset)) {
		/* S3 answers have no DOCTYPE: one is refused rather than have its entities expanded
		 * by xmlNodeGetContent (libxml2 stops the exponential "billion laughs", but lets a
		 * small body with one long entity referenced many times grow a hundredfold) */
		xmlFreeDoc(doc);
		doc = NULL;
	}
	return doc;
}

/* Element names are compared without their namespace: servers differ in the one they use. */
static int
is_elem(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST name) == 0;
}

static xmlNode *
xml_child(xmlNode *parent, const char *name)
{
	for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
		if (is_elem(c, name))
			return c;
	return NULL;
}

/* Text of the child element name (malloc'd), or NULL if there is no such child. */
static char *
xml_text(xmlNode *parent, const char *name)
{
	xmlNode *c = xml_child(parent, name);
	if (!c)
		return NULL;
	xmlChar *t = xmlNodeGetContent(c);
	char *r = pv_strdup(t ? (const char *)t : "");
	xmlFree(t);
	return r;
}

/* The parsed body when its root element is root_name (*root set), else NULL. */
static xmlDoc *
parse_doc(const char *body, size_t len, const char *root_name, xmlNode **root)
{
	xmlDoc *doc = xml_parse(body, len);
	*root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!is_elem(*root, root_name)) {
		xmlFreeDoc(doc);
		*root = NULL;
		return NULL;
	}
	return doc;
}

/* As parse_doc, or NULL with pv_fail naming the operation (op) of the listing. */
static xmlDoc *
listing_doc(const char *body, size_t len, const pv_s3x_scope *sc, const char *op,
            const char *root_name, xmlNode **root)
{
	xmlDoc *doc = parse_doc(body, len, root_name, root);
	if (!doc)
		pv_fail("S3 %s s3://%s/%s: the answer is not a %s document", op, sc->bucket, sc->prefix,
		        root_name);
	return doc;
}

/* ---- answers ------------------------------------------------------------------------- */

int
pv_s3x_error(const char *body, size_t len, char code[64], char **message)
{
	xmlNode *root;
	xmlDoc *doc = parse_doc(body, len, "Error", &root);
	int found = 0;
	*message = NULL;
	if (doc) {
		char *c = xml_text(root, "Code");
		if (c && *c) {
			snprintf(code, 64, "%s", c);
			*message = xml_text(root, "Message");
			found = 1;
		}
		free(c);
	}
	xmlFreeDoc(doc);
	return found;
}

char *
pv_s3x_upload_id(const char *body, size_t len)
{
	xmlNode *root;
	xmlDoc *doc = parse_doc(body, len, "InitiateMultipartUploadResult", &root);
	char *id = doc ? xml_text(root, "UploadId") : NULL;
	xmlFreeDoc(doc);
	if (id && !*id) {
		free(id);
		id = NULL;
	}
	return id;
}

int
pv_s3x_complete_ok(const char *body, size_t len)
{
	xmlNode *root;
	xmlDoc *doc = parse_doc(body, len, "CompleteMultipartUploadResult", &root);
	xmlFreeDoc(doc);
	return doc != NULL;
}

/* ---- listings ------------------------------------------------------------------------ */

static int
url_encoded(xmlNode *root)
{
	char *enc = xml_text(root, "EncodingType");
	int r = enc && strcmp(enc, "url") == 0;
	free(enc);
	return r;
}

/* A key of a listing, relative to the prefix (malloc'd), or NULL with pv_fail. */
static char *
listed_key(const pv_s3x_scope *sc, xmlNode *parent, int encoded)
{
	char *raw = xml_text(parent, "Key");
	if (!raw) {
		pv_fail("S3 listing of %s: an entry has no Key", sc->bucket);
		return NULL;
	}
	char *key = encoded ? url_decode(raw) : pv_strdup(raw);
	free(raw);
	size_t n = strlen(sc->prefix);
	if (strncmp(key, sc->prefix, n) != 0) {
		pv_fail("S3 listing of s3://%s/%s returned the key \"%s\" outside that prefix",
		        sc->bucket, sc->prefix, key);
		free(key);
		return NULL;
	}
	memmove(key, key + n, strlen(key + n) + 1);
	return key;
}

int
pv_s3x_list_page(const char *body, size_t len, const pv_s3x_scope *sc, json_t *out,
                 int *truncated, char **next_token)
{
	xmlNode *root;
	*truncated = 0;
	*next_token = NULL;
	xmlDoc *doc = listing_doc(body, len, sc, "list", "ListBucketResult", &root);
	if (!doc)
		return -1;
	int encoded = url_encoded(root);
	int bad = 0;
	for (xmlNode *c = root->children; c && !bad; c = c->next) {
		if (!is_elem(c, "Contents"))
			continue;
		char *key = listed_key(sc, c, encoded);
		if (!key) {
			bad = 1;
			break;
		}
		char *size = xml_text(c, "Size"), *etag = xml_text(c, "ETag");
		char *mod = xml_text(c, "LastModified");
		char e[128];
		json_int_t n;
		pv_s3x_strip_quotes(etag ? etag : "", e, sizeof e);
		if (parse_size(size, &n) < 0) {
			char *sz = shown(size);
			pv_fail("S3 listing of s3://%s/%s: key %s has an invalid Size \"%s\"", sc->bucket,
			        sc->listed, key, sz);
			free(sz);
			bad = 1;
		} else if (pvj_append(out, json_pack("{s:s, s:I, s:s, s:s}", "key", key, "size", n,
		                                     "etag", e, "last_modified", mod ? mod : "")) < 0) {
			pv_fail("S3 listing of s3://%s/%s: key %s is not UTF-8", sc->bucket, sc->listed, key);
			bad = 1;
		}
		free(key);
		free(size);
		free(etag);
		free(mod);
	}
	char *trunc = xml_text(root, "IsTruncated");
	int more = is_true(trunc);
	free(trunc);
	if (!bad && more) {
		*truncated = 1;
		*next_token = xml_text(root, "NextContinuationToken");
	}
	xmlFreeDoc(doc);
	return bad ? -1 : 0;
}

int
pv_s3x_uploads_page(const char *body, size_t len, const pv_s3x_scope *sc, json_t *out,
                    int *truncated, char **next_key, char **next_upload_id)
{
	xmlNode *root;
	*truncated = 0;
	*next_key = *next_upload_id = NULL;
	xmlDoc *doc = listing_doc(body, len, sc, "list multipart uploads",
	                          "ListMultipartUploadsResult", &root);
	if (!doc)
		return -1;
	int encoded = url_encoded(root);
	int bad = 0;
	for (xmlNode *c = root->children; c; c = c->next) {
		if (!is_elem(c, "Upload"))
			continue;
		char *key = listed_key(sc, c, encoded);
		if (!key) {
			bad = 1;
			break;
		}
		char *id = xml_text(c, "UploadId"), *at = xml_text(c, "Initiated");
		if (pvj_append(out, json_pack("{s:s, s:s, s:s}", "key", key, "upload_id", id ? id : "",
		                              "initiated", at ? at : "")) < 0) {
			pv_fail("S3 listing of s3://%s/%s: key %s is not UTF-8", sc->bucket, sc->listed, key);
			bad = 1;
		}
		free(key);
		free(id);
		free(at);
		if (bad)
			break;
	}
	char *trunc = xml_text(root, "IsTruncated");
	int more = is_true(trunc);
	free(trunc);
	if (!bad && more) {
		char *nk = xml_text(root, "NextKeyMarker");
		if (!nk || !*nk) {
			pv_fail("S3 listing of multipart uploads in s3://%s/%s: a truncated page without "
			        "a next marker", sc->bucket, sc->prefix);
			free(nk);
			bad = 1;
		} else {
			if (encoded) {
				char *d = url_decode(nk);
				free(nk);
				nk = d;
			}
			*truncated = 1;
			*next_key = nk;
			*next_upload_id = xml_text(root, "NextUploadIdMarker");
		}
	}
	xmlFreeDoc(doc);
	return bad ? -1 : 0;
}
