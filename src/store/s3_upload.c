/*
 * store/s3_upload.c — the S3 client's streaming multipart upload (see s3.h): one part in
 * memory at a time, growing part sizes, every failure path aborting the upload, and the
 * completed object's size checked.
 */
#include "store/s3_int.h"
#include "store/s3_xml.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
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
	pvs3_pct_encode(&q, u->upload_id, 0);
	pvs3_req_init(&r, "PUT", u->key);
	r.op = op;
	r.query = q.data;
	r.body = u->buf ? u->buf : "";
	r.body_len = u->len;
	int rc = pvs3_request(u->s, &r);
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

	pvs3_req_init(&r, "POST", key);
	r.op = "start multipart upload of";
	r.query = "uploads=";
	r.retry = RETRY_UNSENT; /* a retry after a lost answer would leave an orphan upload */
	r.out = &body;
	r.out_max = MAX_XML_ANSWER;
	if (pvs3_request(s, &r) < 0) {
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
	json_t *arr = pvs3_list_uploads(u->s, u->key), *o;
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
		pvs3_pct_encode(&q, u->upload_id, 0);
		pvs3_req_init(&r, "POST", u->key);
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
		int st = pvs3_request(s, &r);
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


