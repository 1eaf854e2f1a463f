/*
 * engine/blobs.c — large objects as blob members of a bundle (see blobs.h): the dump writes
 * what pg/lob.c reads into blob members through the bundle writer; the restore creates the
 * large objects of data.json, feeds each blob member from the bundle reader to pg/lob.c's
 * writer (one transaction per member) and keeps the per-object state (next chunk, bytes
 * done) that checks the members come complete and in order.
 */
#include "engine/blobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/lob.h"
#include "util/err.h"
#include "util/json.h"


/* ---- dump -------------------------------------------------------------------------- */

static int
put_blob(void *arg, const char *data, size_t len)
{
	return pv_dw_write(arg, data, len);
}

int
pv_blob_dump(PGconn *c, pv_bundle_writer *w, json_t *entry, int64_t *bytes)
{
	pv_oid oid = (pv_oid)json_integer_value(json_object_get(entry, "oid"));
	int64_t size = json_integer_value(json_object_get(entry, "size")), total = 0;
	const char *prefix = json_string_value(json_object_get(entry, "blob_prefix"));
	char *object = pv_asprintf("large object %u", oid);
	pv_data_writer *d;
	int rc = -1;

	d = pv_bw_blob_begin(w, prefix, object);
	if (!d)
		goto out;
	if (pv_lob_read(c, oid, size, put_blob, d, &total) < 0)
		goto out;
	rc = pv_dw_end(d, NULL);
	d = NULL;
	if (rc == 0 && bytes)
		*bytes = total;
out:
	if (d)
		pv_dw_abort(d);
	if (rc < 0)
		pv_wrap("%s", object);
	free(object);
	return rc;
}

/* ---- restore ----------------------------------------------------------------------- */

int
pv_blob_is_entry(json_t *e)
{
	const char *kind = json_string_value(json_object_get(e, "kind"));

	return kind && strcmp(kind, "large object") == 0 &&
	       json_is_string(json_object_get(e, "blob_prefix"));
}

int
pv_blob_create_all(PGconn *c, json_t *data_toc, json_t **index, size_t *count)
{
	pv_oid *oids = pv_calloc(json_array_size(data_toc) + 1, sizeof *oids);
	json_t *idx = json_object();
	size_t i, n = 0;
	json_t *e;

	*index = NULL;
	*count = 0;
	json_array_foreach(data_toc, i, e) {
		if (!pv_blob_is_entry(e))
			continue;
		oids[n++] = (pv_oid)json_integer_value(json_object_get(e, "oid"));
		if (pvj_set(idx, json_string_value(json_object_get(e, "blob_prefix")),
		            json_pack("{s:O, s:I, s:I}", "entry", e, "next", (json_int_t)1,
		                      "done", (json_int_t)0)) < 0) {
			json_decref(idx);
			free(oids);
			return pv_wrap("large object entry %zu", i + 1);
		}
	}
	if (json_object_size(idx) == 0) {
		json_decref(idx);
		free(oids);
		return 0;
	}
	int rc = pv_lob_create(c, oids, n);
	free(oids);
	if (rc < 0) {
		json_decref(idx);
		return pv_wrap("creating large objects");
	}
	*count = json_object_size(idx);
	*index = idx;
	return 0;
}

/* The contents of the bundle reader's current member, decompressed, for pv_lob_write:
 * refused past the bytes the large object still lacks (data.json's size), so that a
 * member that decompresses to more stops there. */
typedef struct bounded {
	pv_bundle_reader *r;
	int64_t room;
	pv_lob_put_fn put;
	void *put_arg;
} bounded;

static int
put_bounded(void *arg, const char *data, size_t len)
{
	bounded *b = arg;
	if ((int64_t)len > b->room)
		return pv_fail("it holds more bytes than data.json gives the large object");
	b->room -= (int64_t)len;
	return b->put(b->put_arg, data, len);
}

static int
fill_from_member(void *arg, pv_lob_put_fn put, void *put_arg, int64_t *bytes)
{
	bounded *b = arg;
	b->put = put;
	b->put_arg = put_arg;
	return pv_br_decompress(b->r, put_bounded, b, bytes);
}

int
pv_blob_load_member(PGconn *c, pv_bundle_reader *r, json_t *index, const char *name)
{
	/* blobs/OID.N.bin.zst */
	long chunk = 0;
	char *prefix = pv_member_prefix(name, &chunk);
	json_t *st = prefix && index ? json_object_get(index, prefix) : NULL;
	free(prefix);
	if (!st)
		return pv_fail("member %s belongs to no large object of data.json", name);
	json_t *e = json_object_get(st, "entry");
	pv_oid oid = (pv_oid)json_integer_value(json_object_get(e, "oid"));
	json_int_t next = json_integer_value(json_object_get(st, "next"));
	json_int_t done = json_integer_value(json_object_get(st, "done"));
	if (chunk != next)
		return pv_fail("member %s: large object %u: expected chunk %lld", name, oid,
		               (long long)next);

	int64_t raw = 0;
	bounded b = {r, (int64_t)json_integer_value(json_object_get(e, "size")) - (int64_t)done, NULL, NULL};
	if (pv_lob_write(c, oid, (int64_t)done, fill_from_member, &b, &raw) < 0 ||
	    pvj_set_int(st, "next", next + 1) < 0 || pvj_set_int(st, "done", done + raw) < 0)
		return pv_wrap("member %s: large object %u", name, oid);
	return 0;
}

int
pv_blob_check_loaded(json_t *index)
{
	const char *k;
	json_t *st;

	json_object_foreach(index, k, st) {
		json_t *e = json_object_get(st, "entry");
		json_int_t size = json_integer_value(json_object_get(e, "size"));
		json_int_t done = json_integer_value(json_object_get(st, "done"));
		if (done != size)
			return pv_fail("large object %lld: %lld of its %lld bytes were in the bundle",
			               (long long)json_integer_value(json_object_get(e, "oid")),
			               (long long)done, (long long)size);
	}
	return 0;
}
