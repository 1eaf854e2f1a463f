/*
 * bundle/writer.c — writing a bundle: a POSIX pax tar stream (libarchive) forwarded to a
 * pv_sink as it is produced, whole members from memory, zstd-compressed (util/zstream)
 * table data split into bounded members at row boundaries, large object contents split the
 * same way at any byte, the member list that ends up in manifest.json, and the chunking
 * defaults.  Several data writers may be open at once, each on its own thread with its own
 * compressor: members are appended one at a time under the writer's mutex.
 */
#include "bundle/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/json.h"
#include "util/hash.h"
#include "util/zstream.h"

/* The size of the pieces the archive hands to the sink (a multiple of tar's 512) */
#define PV_BW_BLOCK (256 * 1024)

struct pv_bundle_writer {
	pv_sink *sink;
	struct archive *a;
	time_t mtime;
	pv_chunk_opts opts;
	json_t *members;   /* array of member objects, as in manifest.json */
	pthread_mutex_t mu; /* members are appended (and numbered) one at a time */
	pv_zenc **idle;    /* compressors of data writers that ended, for the next ones */
	int nidle, cidle;
	int data_open;     /* pv_data_writers active */
	int sink_failed;   /* the sink reported an error (message in pv_errmsg) */
	int failed;        /* the archive is unusable after an error */
	int finished;      /* pv_bw_finish succeeded */
	int discard;       /* being freed: swallow whatever libarchive still writes */
	int text;          /* how strings become JSON text: PVJ_UTF8 or PVJ_LATIN1 */
	pv_buf key;        /* signing key, or empty */
	json_t *docs;      /* member name -> the document serialised into it as is */
};

struct pv_data_writer {
	pv_bundle_writer *w;
	pv_zenc *zenc;     /* this writer's compressor */
	int *seq;          /* numbers of the members of this prefix, shared (or NULL: n) */
	char *prefix;
	char *object;
	const char *suffix; /* ".copy.zst" (rows) or ".bin.zst" (large object bytes) */
	int blob;          /* raw bytes, not rows */
	pv_buf comp;       /* compressed bytes of the current member */
	size_t raw;        /* raw bytes in the current member */
	int64_t rows;      /* rows in the current member */
	int64_t total;     /* rows (blob: bytes) in all members */
	int n;             /* members written so far */
};

/* ---- chunk options ------------------------------------------------------------------ */

void
pv_chunk_opts_default(pv_chunk_opts *o)
{
	const char *env = getenv("PGVAULT_CHUNK_BYTES");

	o->raw_limit = (size_t)256 << 20;
	o->comp_limit = (size_t)8 << 20;
	o->level = 3;
	if (env && *env >= '0' && *env <= '9') {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(env, &end, 10);
		if (errno == 0 && *end == '\0' && v > 0 && v <= SIZE_MAX) {
			o->raw_limit = (size_t)v;
			if (o->raw_limit < o->comp_limit)
				o->comp_limit = o->raw_limit;
		}
	}
}

/* ---- the archive ------------------------------------------------------------------- */

static la_ssize_t
sink_write_cb(struct archive *a, void *arg, const void *buf, size_t len)
{
	pv_bundle_writer *w = arg;

	/* A failing sink is recorded here and reported by the caller of the archive call
	 * (sink_failed, checked after each one): libarchive is told every write succeeded,
	 * since an archive that saw a failure in a header write is left fatal and its free
	 * then skips the close that frees its block buffer.  Nothing reaches the sink after
	 * its failure. */
	(void)a;
	if (w->discard || w->sink_failed)
		return (la_ssize_t)len;
	if (w->sink->write(w->sink, buf, len) < 0)
		w->sink_failed = 1;
	return (la_ssize_t)len;
}

/* Record an archive failure for member `name`; the writer cannot be used any more. */
static int
archive_fail(pv_bundle_writer *w, const char *name)
{
	const char *msg = archive_error_string(w->a);

	w->failed = 1;
	if (w->sink_failed)
		return pv_wrap("member %s", name);
	return pv_fail("member %s: %s", name, msg ? msg : "libarchive error");
}

static int
check_usable(pv_bundle_writer *w, const char *name)
{
	if (w->finished)
		return pv_fail("member %s: the bundle is already finished", name);
	if (w->failed)
		return pv_fail("member %s: the bundle writer failed earlier", name);
	return 0;
}

static int
valid_utf8(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

void
pv_bw_set_text(pv_bundle_writer *w, int text)
{
	w->text = text;
}

/* Write one member and record it (unless record is 0); rows < 0 for non-data members,
 * except PV_ROWS_NONE: a large object member, recorded with raw_size but no rows. */
#define PV_ROWS_NONE (-2)
static int
write_member_locked(pv_bundle_writer *w, const char *name, const char *kind, const char *object,
                    const void *data, size_t len, int64_t rows, int64_t raw_size, int record)
{
	struct archive_entry *e;
	const char *p = data;
	size_t left = len;
	char hex[65];
	pv_sha256 sha;

	if (check_usable(w, name) < 0)
		return -1;
	if (!name[0])
		return pv_fail("member with an empty name");
	if (!valid_utf8(name))
		return pv_fail("member %s: the name is not valid UTF-8", name);
	if (object && w->text == PVJ_UTF8 && !valid_utf8(object))
		return pv_fail("member %s: object %s is not valid UTF-8", name, object);

	e = archive_entry_new();
	if (!e)
		return pv_fail("member %s: out of memory", name);
	archive_entry_set_pathname_utf8(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, w->mtime, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (archive_write_header(w->a, e) != ARCHIVE_OK || w->sink_failed) {
		archive_entry_free(e);
		return archive_fail(w, name);
	}
	archive_entry_free(e);

	pv_sha256_init(&sha);
	while (left > 0) {
		la_ssize_t n = archive_write_data(w->a, p, left);
		if (n <= 0 || w->sink_failed) {
			pv_sha256_discard(&sha);
			return archive_fail(w, name);
		}
		pv_sha256_update(&sha, p, (size_t)n);
		p += n;
		left -= (size_t)n;
	}
	pv_sha256_final_hex(&sha, hex);
	if (archive_write_finish_entry(w->a) != ARCHIVE_OK || w->sink_failed)
		return archive_fail(w, name);

	if (record) {
		json_t *m = json_object();
		int rc = pvj_set_str(m, "name", name);
		rc |= pvj_set_str(m, "kind", kind);
		rc |= pvj_set_str_or_null(m, "object", object);
		rc |= pvj_set_int(m, "size", (json_int_t)len);
		rc |= pvj_set_str(m, "sha256", hex);
		if (rows >= 0)
			rc |= pvj_set_int(m, "rows", rows);
		if (rows >= 0 || rows == PV_ROWS_NONE)
			rc |= pvj_set_int(m, "raw_size", raw_size);
		rc |= pvj_append(w->members, m);
		if (rc < 0) {
			w->failed = 1;
			return pv_wrap("member %s: recording it in the manifest", name);
		}
	}
	return 0;
}

/* write_member_locked under the writer's mutex. */
static int
write_member(pv_bundle_writer *w, const char *name, const char *kind, const char *object,
             const void *data, size_t len, int64_t rows, int64_t raw_size, int record)
{
	pthread_mutex_lock(&w->mu);
	int rc = write_member_locked(w, name, kind, object, data, len, rows, raw_size, record);
	pthread_mutex_unlock(&w->mu);
	return rc;
}

pv_bundle_writer *
pv_bw_new(pv_sink *sink, time_t mtime, const pv_chunk_opts *opts)
{
	pv_bundle_writer *w = pv_calloc(1, sizeof *w);

	w->sink = sink;
	w->mtime = mtime;
	if (opts)
		w->opts = *opts;
	else
		pv_chunk_opts_default(&w->opts);
	w->members = json_array();
	w->docs = json_object();
	pthread_mutex_init(&w->mu, NULL);
	w->a = archive_write_new();
	if (!w->a) {
		pv_fail("cannot create the bundle archive writer");
		pv_bw_free(w);
		return NULL;
	}
	/* Pad only to tar's 512-byte records: the bundle ends right after the end-of-archive
	 * marker, so a reader notices any truncation.  The archive hands the sink blocks of
	 * PV_BW_BLOCK bytes (not tar's default 10240: one write per 10 KiB was 28,000 system
	 * calls for a 290 MB bundle); the bytes are the same. */
	if (archive_write_set_format_pax(w->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(w->a, PV_BW_BLOCK) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(w->a, w, NULL, sink_write_cb, NULL, NULL) != ARCHIVE_OK) {
		if (w->sink_failed)
			pv_wrap("cannot start the bundle");
		else
			pv_fail("cannot start the bundle: %s", archive_error_string(w->a));
		pv_bw_free(w);
		return NULL;
	}
	return w;
}

int
pv_bw_add(pv_bundle_writer *w, const char *name, const char *kind, const char *object,
          const void *data, size_t len)
{
	return write_member(w, name, kind, object, data, len, -1, 0, 1);
}

/* The serialised form of a JSON member: UTF-8, sorted keys, indent 1, trailing newline. */
char *
pv_bw_json_text(pv_bundle_writer *w, json_t *doc, const char *name)
{
	char *what = pv_asprintf("member %s", name);
	char *s = pvj_dumps(doc, PV_BUNDLE_JSON_FLAGS, w->text, what);
	size_t len;

	free(what);
	if (!s)
		return NULL;
	len = strlen(s);
	s = pv_realloc(s, len + 2);
	s[len] = '\n';
	s[len + 1] = '\0';
	return s;
}

int
pv_bw_add_json_text(pv_bundle_writer *w, const char *name, const char *kind, json_t *doc, char *text)
{
	int rc = pv_bw_add(w, name, kind, NULL, text, strlen(text));

	free(text);
	/* Text mapped on its way out (SQL_ASCII) is not the document as is: not kept. */
	if (rc == 0 && w->text != PVJ_LATIN1 && (!w->docs || json_object_set(w->docs, name, doc) != 0)) {
		json_decref(w->docs);
		w->docs = NULL; /* verify parses them all again: slower, as safe */
	}
	return rc;
}

int
pv_bw_add_json(pv_bundle_writer *w, const char *name, const char *kind, json_t *doc)
{
	char *s = pv_bw_json_text(w, doc, name);

	return s ? pv_bw_add_json_text(w, name, kind, doc, s) : -1;
}

json_t *
pv_bw_documents(pv_bundle_writer *w)
{
	return w->docs;
}

json_t *
pv_bw_members(pv_bundle_writer *w)
{
	return w->members;
}

void
pv_bw_set_key(pv_bundle_writer *w, const void *key, size_t len)
{
	pv_buf_reset(&w->key);
	pv_buf_add(&w->key, key, len);
}

void
pv_key_id(const void *key, size_t len, char out[17])
{
	char hex[65];
	pv_sha256 h;
	pv_sha256_init(&h);
	pv_sha256_update(&h, key, len);
	pv_sha256_final_hex(&h, hex);
	memcpy(out, hex, 16);
	out[16] = '\0';
}

/* manifest.sig: the HMAC of the manifest's bytes as written */
static int
write_signature(pv_bundle_writer *w, const char *manifest)
{
	char mac[65], id[17];
	if (pv_hmac_sha256_hex(w->key.data, w->key.len, manifest, strlen(manifest), mac) < 0)
		return pv_wrap("member %s", PV_MEMBER_SIGNATURE);
	pv_key_id(w->key.data, w->key.len, id);
	json_t *sig = json_object();
	int bad = pvj_set_str(sig, "algorithm", "HMAC-SHA256");
	bad |= pvj_set_str(sig, "key_id", id);
	bad |= pvj_set_str(sig, "hmac", mac);
	char *text = bad ? NULL : pv_bw_json_text(w, sig, PV_MEMBER_SIGNATURE);
	json_decref(sig);
	if (!text)
		return bad ? pv_wrap("member %s", PV_MEMBER_SIGNATURE) : -1;
	int rc = write_member(w, PV_MEMBER_SIGNATURE, "signature", NULL, text, strlen(text), -1, 0, 0);
	free(text);
	return rc;
}

int
pv_bw_finish(pv_bundle_writer *w, json_t *manifest)
{
	char *s;
	int rc;

	if (check_usable(w, PV_MEMBER_MANIFEST) < 0)
		return -1;
	if (w->data_open)
		return pv_fail("member %s: %d data writer(s) still open", PV_MEMBER_MANIFEST, w->data_open);
	if (!json_is_object(manifest))
		return pv_fail("member %s: the manifest is not a JSON object", PV_MEMBER_MANIFEST);
	if (pvj_set_copy(manifest, "members", w->members) < 0)
		return pv_wrap("member %s", PV_MEMBER_MANIFEST);
	s = pv_bw_json_text(w, manifest, PV_MEMBER_MANIFEST);
	if (!s)
		return -1;
	rc = write_member(w, PV_MEMBER_MANIFEST, "manifest", NULL, s, strlen(s), -1, 0, 0);
	if (rc == 0 && w->key.len)
		rc = write_signature(w, s);
	free(s);
	if (rc < 0)
		return -1;
	if (archive_write_close(w->a) != ARCHIVE_OK || w->sink_failed) {
		w->failed = 1;
		if (w->sink_failed)
			return pv_wrap("end of archive");
		return pv_fail("end of archive: %s", archive_error_string(w->a));
	}
	w->finished = 1;
	return 0;
}

void
pv_bw_free(pv_bundle_writer *w)
{
	if (!w)
		return;
	if (w->a) {
		/* An unfinished bundle is abandoned: nothing more may reach the sink. */
		w->discard = 1;
		archive_write_free(w->a);
	}
	for (int i = 0; i < w->nidle; i++)
		pv_zenc_free(w->idle[i]);
	free(w->idle);
	pthread_mutex_destroy(&w->mu);
	json_decref(w->members);
	json_decref(w->docs);
	if (w->key.data)
		memset(w->key.data, 0, w->key.len);
	pv_buf_free(&w->key);
	free(w);
}

/* ---- table data -------------------------------------------------------------------- */

static pv_data_writer *
data_begin(pv_bundle_writer *w, const char *prefix, const char *object, int blob, int *seq)
{
	pv_zenc *z = NULL;

	pthread_mutex_lock(&w->mu);
	int usable = check_usable(w, prefix);
	if (usable == 0) {
		if (w->nidle)
			z = w->idle[--w->nidle];
		w->data_open++;
	}
	pthread_mutex_unlock(&w->mu);
	if (usable < 0)
		return NULL;
	if (!z && !(z = pv_zenc_new(w->opts.level))) {
		pthread_mutex_lock(&w->mu);
		w->data_open--;
		pthread_mutex_unlock(&w->mu);
		pv_wrap("member %s", prefix);
		return NULL;
	}
	/* Forget any frame an aborted data writer left half done. */
	pv_zenc_reset(z);

	pv_data_writer *d = pv_calloc(1, sizeof *d);
	d->w = w;
	d->zenc = z;
	d->seq = seq;
	d->prefix = pv_strdup(prefix);
	d->object = object ? pv_strdup(object) : NULL;
	d->blob = blob;
	d->suffix = blob ? ".bin.zst" : ".copy.zst";
	return d;
}

pv_data_writer *
pv_bw_data_begin(pv_bundle_writer *w, const char *prefix, const char *object)
{
	return data_begin(w, prefix, object, 0, NULL);
}

pv_data_writer *
pv_bw_data_begin_shared(pv_bundle_writer *w, const char *prefix, const char *object, int *seq)
{
	return data_begin(w, prefix, object, 0, seq);
}

pv_data_writer *
pv_bw_blob_begin(pv_bundle_writer *w, const char *prefix, const char *object)
{
	return data_begin(w, prefix, object, 1, NULL);
}

/* Compress `len` bytes into d->comp (the member's frame). */
static int
compress(pv_data_writer *d, const void *data, size_t len)
{
	if (pv_zenc_write(d->zenc, data, len, &d->comp) < 0)
		return pv_wrap("member %s.%d%s", d->prefix, d->n + 1, d->suffix);
	return 0;
}

/* End the current frame and write it as the next member (numbered under the mutex when
 * several writers share the prefix). */
static int
flush_member(pv_data_writer *d)
{
	pv_bundle_writer *w = d->w;
	int rc;

	if (pv_zenc_end(d->zenc, &d->comp) < 0)
		return pv_wrap("member %s.%d%s", d->prefix, d->n + 1, d->suffix);
	pthread_mutex_lock(&w->mu);
	d->n = d->seq ? ++*d->seq : d->n + 1;
	char *name = pv_asprintf("%s.%d%s", d->prefix, d->n, d->suffix);
	rc = write_member_locked(w, name, d->blob ? "blob" : "data", d->object, d->comp.data,
	                         d->comp.len, d->blob ? PV_ROWS_NONE : d->rows, (int64_t)d->raw, 1);
	pthread_mutex_unlock(&w->mu);
	free(name);
	pv_buf_reset(&d->comp);
	d->raw = 0;
	d->rows = 0;
	return rc;
}

int
pv_dw_row(pv_data_writer *d, const char *row, size_t len)
{
	if (d->w->failed)
		return pv_fail("member %s.%d%s: the bundle writer failed earlier", d->prefix,
		               d->n + 1, d->suffix);
	if (d->blob)
		return pv_fail("member %s.%d%s: rows written to a large object", d->prefix,
		               d->n + 1, d->suffix);
	if (len == 0 || memchr(row, '\n', len) != row + len - 1)
		return pv_fail("member %s.%d.copy.zst: row %lld is not one line ending in a newline",
		               d->prefix, d->n + 1, (long long)d->total + 1);
	if (compress(d, row, len) < 0)
		return -1;
	d->raw += len;
	d->rows++;
	d->total++;
	if (d->raw >= d->w->opts.raw_limit || d->comp.len >= d->w->opts.comp_limit)
		return flush_member(d);
	return 0;
}

int
pv_dw_write(pv_data_writer *d, const void *data, size_t len)
{
	const char *p = data;

	if (d->w->failed)
		return pv_fail("member %s.%d%s: the bundle writer failed earlier", d->prefix,
		               d->n + 1, d->suffix);
	if (!d->blob)
		return pv_fail("member %s.%d%s: raw bytes written to table rows", d->prefix,
		               d->n + 1, d->suffix);
	/* cut members at raw_limit exactly, so that member sizes do not depend on how the
	 * caller's reads were split */
	while (len > 0) {
		size_t room = d->w->opts.raw_limit - d->raw;
		size_t n = len < room ? len : room;
		if (compress(d, p, n) < 0)
			return -1;
		d->raw += n;
		d->total += (int64_t)n;
		p += n;
		len -= n;
		if (d->raw >= d->w->opts.raw_limit || d->comp.len >= d->w->opts.comp_limit)
			if (flush_member(d) < 0)
				return -1;
	}
	return 0;
}

/* Free d; its compressor goes back to the writer for the next data writer. */
static void
dw_free(pv_data_writer *d)
{
	pv_bundle_writer *w = d->w;

	pthread_mutex_lock(&w->mu);
	w->data_open--;
	if (w->nidle == w->cidle) {
		w->cidle = w->cidle ? 2 * w->cidle : 4;
		w->idle = pv_realloc(w->idle, (size_t)w->cidle * sizeof *w->idle);
	}
	w->idle[w->nidle++] = d->zenc;
	pthread_mutex_unlock(&w->mu);
	pv_buf_free(&d->comp);
	free(d->prefix);
	free(d->object);
	free(d);
}

int
pv_dw_end(pv_data_writer *d, int64_t *rows)
{
	int rc = 0;

	if (d->w->failed)
		rc = pv_fail("member %s.%d%s: the bundle writer failed earlier", d->prefix,
		             d->n + 1, d->suffix);
	else if (d->rows > 0 || (d->blob && d->raw > 0))
		rc = flush_member(d);
	if (rc == 0 && rows)
		*rows = d->total;
	dw_free(d);
	return rc;
}

void
pv_dw_abort(pv_data_writer *d)
{
	if (!d)
		return;
	pv_zenc_reset(d->zenc);
	dw_free(d);
}
