/*
 * tests/fuzz/fuzz_common.c — the fixture bundle and tar assembly the fuzz targets share
 * (see fuzz.h).
 */
#include "fuzz.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/err.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/log.h"

#define FZ_MTIME 1796604005

static ssize_t
mem_read(pv_source *s, void *buf, size_t len)
{
	fz_mem *m = s->ctx;
	size_t n = m->len - m->pos;
	if (n > len)
		n = len;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static int
mem_rewind(pv_source *s)
{
	((fz_mem *)s->ctx)->pos = 0;
	return 0;
}

void
fz_source(pv_source *s, fz_mem *m, const void *data, size_t len)
{
	m->data = data;
	m->len = len;
	m->pos = 0;
	s->read = mem_read;
	s->rewind = mem_rewind;
	s->ctx = m;
}

static int
buf_write(pv_sink *s, const void *data, size_t len)
{
	pv_buf_add(s->ctx, data, len);
	return 0;
}

void
fz_init(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	pvj_init();
	pv_log_set_level(PV_LOG_QUIET);
}

static fz_bundle fixture;
static pv_buf fixture_tar = PV_BUF_INIT;

static json_t *
load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j) {
		fprintf(stderr, "fuzz fixture: %s: %s\n", e.text, text);
		abort(); /* a bug in this file, not an input */
	}
	return j;
}

static void
must(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz fixture: %s: %s\n", what, pv_errmsg());
		abort();
	}
}

static void
build_fixture(void)
{
	pv_buf tar = PV_BUF_INIT;
	pv_sink sink = {buf_write, &tar};
	pv_chunk_opts o;
	pv_chunk_opts_default(&o);
	o.raw_limit = 12; /* two row members */
	pv_bundle_writer *w = pv_bw_new(&sink, FZ_MTIME, &o);
	must(w != NULL, "writer");
	json_t *hdr = load("{\"format\": 1, \"database\": \"app\", \"encoding\": \"UTF8\", "
	                   "\"text_encoding\": \"UTF8\", \"collate\": \"C\", \"ctype\": \"C\", "
	                   "\"id\": \"app_20261207T004005Z\", \"owner\": \"app\", "
	                   "\"pgvault_version\": \"0.1.0\", \"server_version_num\": 150020, "
	                   "\"snapshot_epoch\": 1796604005, \"tag\": null}");
	json_t *roles = load("{\"app\": {\"login\": true, \"superuser\": false}}");
	json_t *pre = load("[{\"kind\": \"TABLE\", \"schema\": \"public\", \"name\": \"t\", "
	                   "\"owner\": \"app\", \"sql\": \"CREATE TABLE public.t (a int, b text);\", "
	                   "\"deps\": [], \"acl\": []}]");
	json_t *data = load("[{\"kind\": \"table data\", \"id\": 1, \"schema\": \"public\", "
	                    "\"name\": \"t\", \"table\": \"\\\"public\\\".\\\"t\\\"\", "
	                    "\"columns\": [\"a\", \"b\"], \"column_list\": \"\\\"a\\\", \\\"b\\\"\", "
	                    "\"member_prefix\": \"data/1\"}, "
	                    "{\"kind\": \"large object\", \"oid\": 5, \"size\": 10, "
	                    "\"blob_prefix\": \"blobs/5\", \"owner\": \"app\"}, "
	                    "{\"kind\": \"SEQUENCE SET\", \"name\": \"s\", "
	                    "\"sql\": \"SELECT pg_catalog.setval('public.s', 3, true);\"}]");
	json_t *post = load("[{\"kind\": \"INDEX\", \"schema\": \"public\", \"name\": \"t_a\", "
	                    "\"sql\": \"CREATE INDEX t_a ON public.t (a);\"}]");
	must(pv_bw_add_json(w, PV_MEMBER_HEADER, "header", hdr) == 0, "header");
	must(pv_bw_add_json(w, "roles.json", "roles", roles) == 0, "roles");
	must(pv_bw_add_json(w, "pre-data.json", "schema", pre) == 0, "pre-data");
	must(pv_bw_add_json(w, "data.json", "data-toc", data) == 0, "data.json");
	pv_data_writer *d = pv_bw_data_begin(w, "data/1", "\"public\".\"t\"");
	static const char *const rows[] = {"1\tone\n", "2\ttwo\n", "3\t\\N\n", "4\tfour\\tx\n"};
	for (int i = 0; i < 4; i++)
		must(d && pv_dw_row(d, rows[i], strlen(rows[i])) == 0, "rows");
	int64_t n;
	must(pv_dw_end(d, &n) == 0, "rows end");
	d = pv_bw_blob_begin(w, "blobs/5", "large object 5");
	must(d && pv_dw_write(d, "0123456789", 10) == 0 && pv_dw_end(d, &n) == 0, "blob");
	must(pv_bw_add_json(w, "post-data.json", "schema", post) == 0, "post-data");
	json_t *man = pvj_copy(hdr);
	must(pvj_set_int(man, "tables", 1) == 0 && pvj_set_int(man, "rows", 4) == 0 &&
	     pvj_set_int(man, "large_objects", 1) == 0 && pvj_set_int(man, "objects", 2) == 0,
	     "manifest");
	must(pv_bw_finish(w, man) == 0, "finish");
	pv_bw_free(w);
	json_decref(man);
	json_decref(hdr);
	json_decref(roles);
	json_decref(pre);
	json_decref(data);
	json_decref(post);

	/* the members, read back */
	fz_mem m;
	pv_source src;
	fz_source(&src, &m, tar.data, tar.len);
	pv_bundle_reader *r = pv_br_new(&src, "fixture");
	const char *name;
	int64_t size;
	int rc;
	while ((rc = pv_br_next(r, &name, &size)) > 0) {
		must(fixture.n < FZ_MAX_MEMBERS, "too many members");
		fixture.name[fixture.n] = pv_strdup(name);
		pv_buf_init(&fixture.data[fixture.n]);
		must(pv_br_read_all(r, &fixture.data[fixture.n], 1 << 20) == 0, "read back");
		fixture.n++;
	}
	must(rc == 0, "read back");
	pv_br_free(r);
	fixture_tar = tar;
}

const fz_bundle *
fz_fixture(void)
{
	if (!fixture.n)
		build_fixture();
	return &fixture;
}

const pv_buf *
fz_fixture_tar(void)
{
	fz_fixture();
	return &fixture_tar;
}

static la_ssize_t
tar_write(struct archive *a, void *arg, const void *data, size_t len)
{
	pv_buf_add(arg, data, len);
	return (la_ssize_t)len;
}

int
fz_tar(const fz_bundle *b, pv_buf *out)
{
	struct archive *a = archive_write_new();
	int ok = a && archive_write_set_format_pax(a) == ARCHIVE_OK &&
	         archive_write_set_bytes_in_last_block(a, 1) == ARCHIVE_OK &&
	         archive_write_open(a, out, NULL, tar_write, NULL) == ARCHIVE_OK;
	for (int i = 0; ok && i < b->n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname_utf8(e, b->name[i]);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0600);
		archive_entry_set_size(e, (la_int64_t)b->data[i].len);
		archive_entry_set_mtime(e, FZ_MTIME, 0);
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		ok = archive_write_header(a, e) == ARCHIVE_OK &&
		     (b->data[i].len == 0 ||
		      archive_write_data(a, b->data[i].data, b->data[i].len) == (la_ssize_t)b->data[i].len);
		archive_entry_free(e);
	}
	ok = ok && archive_write_close(a) == ARCHIVE_OK;
	if (a)
		archive_write_free(a);
	return ok ? 0 : -1;
}

void
fz_set(fz_bundle *b, const char *name, const void *data, size_t len)
{
	for (int i = 0; i < b->n; i++)
		if (strcmp(b->name[i], name) == 0) {
			b->data[i].data = (char *)data;
			b->data[i].len = b->data[i].cap = len;
		}
}

int
fz_finish(const fz_bundle *in, const char *rows_member, int64_t rows, int64_t raw_size,
          pv_buf *out)
{
	const fz_bundle *f = fz_fixture();
	fz_bundle b = *in;
	pv_buf manifest = PV_BUF_INIT;
	json_t *man = NULL;
	int rc = -1, mi = -1;

	for (int i = 0; i < b.n; i++)
		if (strcmp(b.name[i], PV_MEMBER_MANIFEST) == 0)
			mi = i;
	if (mi < 0)
		return -1;
	if (b.data[mi].data == f->data[mi].data) {
		/* the fixture's manifest, brought up to date with the members */
		man = json_loadb(f->data[mi].data, f->data[mi].len, 0, NULL);
		size_t i;
		json_t *e;
		json_int_t total = 0;
		json_array_foreach(json_object_get(man, "members"), i, e) {
			const char *name = json_string_value(json_object_get(e, "name"));
			for (int k = 0; k < b.n; k++) {
				if (strcmp(b.name[k], name) != 0)
					continue;
				char sha[65];
				pv_sha256 h;
				pv_sha256_init(&h);
				pv_sha256_update(&h, b.data[k].data, b.data[k].len);
				pv_sha256_final_hex(&h, sha);
				pvj_set_str(e, "sha256", sha);
				pvj_set_int(e, "size", (json_int_t)b.data[k].len);
			}
			if (rows_member && rows >= 0 && strcmp(name, rows_member) == 0) {
				pvj_set_int(e, "rows", rows);
				pvj_set_int(e, "raw_size", raw_size);
			}
			total += json_integer_value(json_object_get(e, "rows"));
		}
		pvj_set_int(man, "rows", total);
		char *s = json_dumps(man, PV_BUNDLE_JSON_FLAGS);
		if (!s)
			goto out;
		pv_buf_puts(&manifest, s);
		pv_buf_putc(&manifest, '\n');
		free(s);
		b.data[mi] = manifest;
	}
	rc = fz_tar(&b, out);
out:
	json_decref(man);
	pv_buf_free(&manifest);
	return rc;
}

int
fz_replaced(const char *name, const void *data, size_t len, pv_buf *out)
{
	fz_bundle b = *fz_fixture();
	fz_set(&b, name, data, len);
	return fz_finish(&b, NULL, -1, 0, out);
}

void
fz_verify(const pv_buf *tar)
{
	fz_mem m;
	pv_source src;
	json_t *man = NULL;
	fz_source(&src, &m, tar->data, tar->len);
	if (pv_bundle_verify(&src, "fuzz", 1, &man) == 0)
		json_decref(man);
}

void
fz_done(void)
{
	static int debug = -1;
	if (debug < 0)
		debug = getenv("FZ_DEBUG") != NULL;
	if (debug)
		fprintf(stderr, "fuzz: %s\n", pv_errmsg()[0] ? pv_errmsg() : "(no error)");
	pv_err_clear();
}

void
fz_seed(const char *target, const char *file, const void *data, size_t len)
{
	const char *dir = getenv("FZ_WRITE_SEEDS");
	if (!dir)
		return;
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		abort();
	snprintf(path, sizeof path, "%s/%s/%s", dir, target, file);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		abort();
	}
}
