/*
 * pg/lob.c — large objects on the libpq side (see lob.h): the catalog reader that puts every
 * large object into the graph with its size, owner, comment and ACL; reading their contents
 * through lo_open/lo_read in the caller's transaction; creating them with their own oids;
 * and writing contents through lo_write, one transaction per call.  Memory stays bounded by
 * LOB_PIECE plus what the caller's callbacks hold, whatever the size of a large object.
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

/* ---- contents ------------------------------------------------------------------------ */

int
pv_lob_read(PGconn *c, pv_oid oid, int64_t size, pv_lob_put_fn put, void *arg, int64_t *bytes)
{
	int64_t total = 0;
	char *buf = NULL;
	int fd, n, rc = -1;

	fd = lo_open(c, oid, INV_READ);
	if (fd < 0)
		return pv_fail("%s", PQerrorMessage(c));
	buf = pv_malloc(LOB_PIECE);
	while ((n = lo_read(c, fd, buf, LOB_PIECE)) > 0) {
		if (put(arg, buf, (size_t)n) < 0)
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
	rc = 0;
	if (bytes)
		*bytes = total;
out:
	if (fd >= 0)
		lo_close(c, fd);
	free(buf);
	return rc;
}

int
pv_lob_create(PGconn *c, const pv_oid *oids, size_t n)
{
	pv_buf arr = PV_BUF_INIT;

	for (size_t i = 0; i < n; i++)
		pvc_oids_add(&arr, oids[i]);
	const char *p[1] = {pvc_oids(&arr)};
	PGresult *r = pv_query_params(c,
	    "SELECT pg_catalog.count(pg_catalog.lo_create(o))"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) o", 1, p);
	pv_buf_free(&arr);
	if (!r)
		return -1;
	PQclear(r);
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
pv_lob_write(PGconn *c, pv_oid oid, int64_t offset, pv_lob_fill_fn fill, void *arg,
             int64_t *bytes)
{
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
	if (offset > 0 && lo_lseek64(c, p.fd, (pg_int64)offset, SEEK_SET) != (pg_int64)offset) {
		pv_fail("seeking to byte %lld: %s", (long long)offset, PQerrorMessage(c));
		goto out;
	}
	if (fill(arg, put_lob, &p, &raw) < 0)
		goto out;
	if (lo_close(c, p.fd) < 0) {
		pv_fail("%s", PQerrorMessage(c));
		goto out;
	}
	if (pv_exec(c, "COMMIT") < 0)
		goto out;
	*bytes = raw;
	rc = 0;
out:
	if (rc < 0)
		PQclear(PQexec(c, "ROLLBACK"));
	return rc;
}
