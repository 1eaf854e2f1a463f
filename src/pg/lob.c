/*
 * pg/lob.c — large objects (see lob.h): the catalog reader that puts every large object
 * into the graph with its size, owner, comment and ACL; the dump of their contents into
 * blob members through lo_open/lo_read in the snapshot transaction; and on restore their
 * creation with their own oids and the replay of blob members through lo_write, one
 * transaction per member.  Memory stays bounded by LOB_PIECE plus the bundle's chunk
 * limits, whatever the size of a large object.
 */
#include "pg/lob.h"

#include <libpq/libpq-fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/cancel.h"
#include "pg/catalog_int.h"
#include "pg/conn.h"
#include "util/err.h"
#include "util/json.h"

#define LOB_PIECE (256 * 1024) /* bytes per lo_read / lo_write call */
#define BLOB_PREFIX "blobs/"

/* ---- catalog ----------------------------------------------------------------------- */

/*
 * One query for every server version (pg_largeobject_metadata and lo_lseek64 exist in all
 * supported ones).  Large object oids may be below FIRST_NORMAL_OID (lo_create(1234)), so
 * nothing is filtered by oid.  Comments live in pg_description under pg_largeobject, not
 * under pg_largeobject_metadata, and are read here rather than by the generic comment
 * reader (which skips oids below FIRST_NORMAL_OID).  The size of each object is read in
 * the dump snapshot: opened for reading, sought to its end and closed again (target lists
 * are evaluated in order); a large object the dump's role may not read fails the dump here.
 */
int
pvc_read_large_objects(reader *rd)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT m.oid, pg_catalog.pg_get_userbyid(m.lomowner), d.description,"
	    " pg_catalog.lo_lseek64(f.fd, 0, 2), pg_catalog.lo_close(f.fd)"
	    " FROM pg_catalog.pg_largeobject_metadata m"
	    " CROSS JOIN LATERAL (SELECT pg_catalog.lo_open(m.oid, 262144) AS fd OFFSET 0) f"
	    " LEFT JOIN pg_catalog.pg_description d ON d.objoid = m.oid AND d.objsubid = 0"
	    "  AND d.classoid = 'pg_catalog.pg_largeobject'::pg_catalog.regclass"
	    " ORDER BY m.oid", NULL);
	if (!r)
		return pv_wrap("reading large objects");
	for (int i = 0; i < PQntuples(r); i++) {
		pv_oid oid = pvc_oid(r, i, 0);
		const char *size = pvc_val(r, i, 3);
		char name[16], *prefix;
		snprintf(name, sizeof name, "%u", oid);
		if (!size || atoi(pvc_val(r, i, 4) ? pvc_val(r, i, 4) : "-1") != 0) {
			PQclear(r);
			return pv_fail("large object %s: cannot read its size", name);
		}
		pv_obj *o = pv_graph_add(g, K_LARGE_OBJECT, PV_DATA, C_PG_LARGEOBJECT_METADATA, oid,
		                         NULL, name);
		if (pvc_val(r, i, 1))
			pvc_owner(rd, o, pvc_val(r, i, 1), "LARGE OBJECT", name);
		o->acl_target = pv_asprintf("LARGE OBJECT %s", name);
		pvc_target(rd, C_PG_LARGEOBJECT_METADATA, oid, "LARGE OBJECT", name);
		if (pvc_val(r, i, 2)) {
			char *lit = pv_literal(rd->c, pvc_val(r, i, 2));
			char *sql = pv_asprintf("COMMENT ON LARGE OBJECT %s IS %s;", name, lit);
			pv_obj_add_comment(o, sql);
			free(sql);
			free(lit);
		}
		prefix = pv_asprintf(BLOB_PREFIX "%s", name);
		o->extra = json_pack("{s:I, s:I, s:s}", "oid", (json_int_t)oid,
		                     "size", (json_int_t)strtoll(size, NULL, 10), "blob_prefix", prefix);
		free(prefix);
		if (!o->extra) {
			PQclear(r);
			return pv_fail("large object %s: cannot be stored", name);
		}
	}
	PQclear(r);
	/* privileges: only objects with an ACL can differ from the default */
	if (pvc_acls(rd, C_PG_LARGEOBJECT_METADATA,
	             "SELECT m.oid, m.lomacl, pg_catalog.acldefault('L', m.lomowner)"
	             " FROM pg_catalog.pg_largeobject_metadata m WHERE m.lomacl IS NOT NULL",
	             NULL) < 0)
		return pv_wrap("large objects");
	return 0;
}

/* ---- dump -------------------------------------------------------------------------- */

int
pv_lob_dump(PGconn *c, pv_bundle_writer *w, json_t *entry, int64_t *bytes)
{
	pv_oid oid = (pv_oid)json_integer_value(json_object_get(entry, "oid"));
	int64_t size = json_integer_value(json_object_get(entry, "size")), total = 0;
	const char *prefix = json_string_value(json_object_get(entry, "blob_prefix"));
	char *object = pv_asprintf("large object %u", oid);
	pv_data_writer *d = NULL;
	char *buf = NULL;
	int fd, n, rc = -1;

	fd = lo_open(c, oid, INV_READ);
	if (fd < 0) {
		pv_fail("%s", PQerrorMessage(c));
		goto out;
	}
	d = pv_bw_blob_begin(w, prefix, object);
	if (!d)
		goto out;
	buf = pv_malloc(LOB_PIECE);
	while ((n = lo_read(c, fd, buf, LOB_PIECE)) > 0) {
		if (pv_dw_write(d, buf, (size_t)n) < 0)
			goto out;
		total += n;
	}
	if (n < 0) {
		pv_fail("reading: %s", PQerrorMessage(c));
		goto out;
	}
	if (total != size) {
		pv_fail("%lld bytes read, the catalog said %lld", (long long)total, (long long)size);
		goto out;
	}
	if (lo_close(c, fd) < 0) {
		fd = -1;
		pv_fail("%s", PQerrorMessage(c));
		goto out;
	}
	fd = -1;
	rc = pv_dw_end(d, NULL);
	d = NULL;
	if (rc == 0 && bytes)
		*bytes = total;
out:
	if (d)
		pv_dw_abort(d);
	if (fd >= 0)
		lo_close(c, fd);
	free(buf);
	if (rc < 0)
		pv_wrap("%s", object);
	free(object);
	return rc;
}

/* ---- restore ----------------------------------------------------------------------- */

int
pv_lob_is_entry(json_t *e)
{
	const char *kind = json_string_value(json_object_get(e, "kind"));

	return kind && strcmp(kind, "large object") == 0 &&
	       json_is_string(json_object_get(e, "blob_prefix"));
}

int
pv_lob_create_all(PGconn *c, json_t *data_toc, json_t **index, size_t *count)
{
	pv_buf oids = PV_BUF_INIT;
	json_t *idx = json_object();
	size_t i;
	json_t *e;

	*index = NULL;
	*count = 0;
	json_array_foreach(data_toc, i, e) {
		if (!pv_lob_is_entry(e))
			continue;
		pvc_oids_add(&oids, (pv_oid)json_integer_value(json_object_get(e, "oid")));
		if (pvj_set(idx, json_string_value(json_object_get(e, "blob_prefix")),
		            json_pack("{s:O, s:I, s:I}", "entry", e, "next", (json_int_t)1,
		                      "done", (json_int_t)0)) < 0) {
			json_decref(idx);
			pv_buf_free(&oids);
			return pv_wrap("large object entry %zu", i + 1);
		}
	}
	if (json_object_size(idx) == 0) {
		json_decref(idx);
		pv_buf_free(&oids);
		return 0;
	}
	const char *p[1] = {oids.data};
	PGresult *r = pv_query_params(c,
	    "SELECT pg_catalog.count(pg_catalog.lo_create(o))"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) o", 1, p);
	pv_buf_free(&oids);
	if (!r) {
		json_decref(idx);
		return pv_wrap("creating large objects");
	}
	PQclear(r);
	*count = json_object_size(idx);
	*index = idx;
	return 0;
}

typedef struct lob_put {
	PGconn *c;
	int fd;
} lob_put;

static int
put_lob(void *arg, const char *data, size_t len)
{
	lob_put *p = arg;

	if (pv_check_interrupt() < 0)
		return -1;
	while (len > 0) {
		size_t n = len > LOB_PIECE ? LOB_PIECE : len;
		if (lo_write(p->c, p->fd, data, n) != (int)n)
			return pv_fail("writing: %s", PQerrorMessage(p->c));
		data += n;
		len -= n;
	}
	return 0;
}

int
pv_lob_load_member(PGconn *c, pv_bundle_reader *r, json_t *index, const char *name)
{
	/* blobs/OID.N.bin.zst */
	const char *dot = strchr(name + strlen(BLOB_PREFIX), '.');
	char *prefix = dot ? pv_strndup(name, (size_t)(dot - name)) : NULL;
	json_t *st = prefix && index ? json_object_get(index, prefix) : NULL;
	long chunk = dot ? strtol(dot + 1, NULL, 10) : 0;
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

	lob_put p = {c, -1};
	int64_t raw = 0;
	int rc = -1;
	if (pv_exec(c, "BEGIN") < 0)
		goto out;
	p.fd = lo_open(c, oid, INV_WRITE);
	if (p.fd < 0) {
		pv_fail("%s", PQerrorMessage(c));
		goto out;
	}
	if (done > 0 && lo_lseek64(c, p.fd, (pg_int64)done, SEEK_SET) != (pg_int64)done) {
		pv_fail("seeking to byte %lld: %s", (long long)done, PQerrorMessage(c));
		goto out;
	}
	if (pv_br_decompress(r, put_lob, &p, &raw) < 0)
		goto out;
	if (lo_close(c, p.fd) < 0) {
		pv_fail("%s", PQerrorMessage(c));
		goto out;
	}
	if (pv_exec(c, "COMMIT") < 0)
		goto out;
	if (pvj_set_int(st, "next", next + 1) < 0 || pvj_set_int(st, "done", done + raw) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0) {
		PQclear(PQexec(c, "ROLLBACK"));
		pv_wrap("member %s: large object %u", name, oid);
	}
	return rc;
}

int
pv_lob_check_loaded(json_t *index)
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
