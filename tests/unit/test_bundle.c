/*
 * tests/unit/test_bundle.c — the bundle layer: writing through a sink, reading and
 * decompressing members back, and verification catching every kind of damage.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "bundle/bundle.h"
#include "bundle/bundle_int.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/json.h"

#define MTIME ((time_t)1795312800) /* 2026-11-22T02:00:00Z */
#define BIG_ROWS 500
#define RAW_LIMIT 4096

/* ---- memory sink and source -------------------------------------------------------- */

typedef struct memsink {
	pv_buf buf;
	size_t fail_after; /* fail once this many bytes were accepted (0: never) */
	int failed;
	int calls_after_failure;
} memsink;

static int
mem_write(pv_sink *s, const void *data, size_t len)
{
	memsink *m = s->ctx;

	if (m->failed) {
		m->calls_after_failure++;
		return pv_fail("disk on fire (again)");
	}
	if (m->fail_after && m->buf.len + len > m->fail_after) {
		m->failed = 1;
		return pv_fail("disk on fire");
	}
	pv_buf_add(&m->buf, data, len);
	return 0;
}

typedef struct memsrc {
	const char *data;
	size_t len, pos;
	size_t step;       /* at most this many bytes per read */
	size_t fail_at;    /* fail when asked to read past this offset (0: never) */
} memsrc;

static ssize_t
mem_read(pv_source *s, void *buf, size_t len)
{
	memsrc *m = s->ctx;
	size_t n = m->len - m->pos;

	if (m->fail_at && m->pos >= m->fail_at)
		return pv_fail("network unplugged");
	if (n > len)
		n = len;
	if (m->step && n > m->step)
		n = m->step;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static void assert_contains(const char *hay, const char *needle);

/* pv_bw_documents of the last bundle build_bundle wrote */
static json_t *last_docs;

/* pv_bundle_verify_written with the writer's documents (2 threads): rc as given; on
 * failure the message names the bundle. */
static void
verify_written(const char *data, size_t len, int want, json_t *want_manifest)
{
	memsrc m = {data, len, 0, 1000, 0};
	pv_source src = {.read = mem_read, .ctx = &m};
	json_t *man = NULL;

	assert_non_null(last_docs);
	pv_err_clear();
	int rc = pv_bundle_verify_written(&src, "/x/test.pgv", 2, last_docs, &man);
	if (rc != want)
		fail_msg("verify with the written documents: %d, not %d (%s)", rc, want, pv_errmsg());
	if (rc < 0)
		assert_contains(pv_errmsg(), "/x/test.pgv");
	if (rc == 0 && want_manifest)
		assert_true(json_equal(man, want_manifest));
	json_decref(man);
}

/* Verify serially and with data members on a pool of 3 threads: the same result, manifest
 * and message either way. */
static int
verify_mem(const char *data, size_t len, json_t **manifest)
{
	memsrc m = {data, len, 0, 1000, 0}, m3 = m;
	pv_source src = {.read = mem_read, .ctx = &m}, src3 = {.read = mem_read, .ctx = &m3};
	json_t *man3 = NULL;

	pv_err_clear();
	int rc3 = pv_bundle_verify(&src3, "/x/test.pgv", 3, &man3);
	char *msg3 = strdup(pv_errmsg());
	pv_err_clear();
	int rc = pv_bundle_verify(&src, "/x/test.pgv", 1, manifest);
	assert_int_equal(rc3, rc);
	if (strcmp(msg3, pv_errmsg()) != 0)
		fail_msg("verify on 3 threads: %s\nserially: %s", msg3, pv_errmsg());
	if (rc == 0 && manifest)
		assert_true(json_equal(man3, *manifest));
	json_decref(man3);
	free(msg3);
	return rc;
}

static void
assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* ---- the test bundle ---------------------------------------------------------------- */

enum variant {
	V_OK,
	V_HEADER_NOT_FIRST,
	V_FORMAT_NEXT,
	V_BAD_COLUMNS,
	V_EXTRA_LISTED,
	V_MISSING_LISTED,
	V_WRONG_ROWS,
	V_MANIFEST_TWICE,
	V_NO_TOC_ENTRY,
};

static char *
big_row(int i)
{
	return pv_asprintf("%d\tname %d\tnote \\t with escaped tab and \\\\ backslash\n", i,
	                   i * 7);
}

static const char *esc_rows[] = {
	"a\\tb\tc\\\\d\n",
	"\\N\t\\\\\n",
	"\t\n",
	"caf\xc3\xa9\t\\n line \\r\n",
};
#define NESC (sizeof esc_rows / sizeof esc_rows[0])

static void
add_table(pv_bundle_writer *w, const char *prefix, const char *object, const char **rows,
          size_t nrows, int64_t expect)
{
	pv_data_writer *d = pv_bw_data_begin(w, prefix, object);
	int64_t total = -1;

	assert_non_null(d);
	for (size_t i = 0; i < nrows; i++)
		assert_int_equal(pv_dw_row(d, rows[i], strlen(rows[i])), 0);
	assert_int_equal(pv_dw_end(d, &total), 0);
	assert_int_equal(total, expect);
}

/* Writes the test bundle into out; the manifest it finished with goes to *manifest. */
static void
build_bundle(enum variant v, pv_buf *out, json_t **manifest)
{
	memsink m = {PV_BUF_INIT, 0, 0, 0};
	pv_sink sink = {mem_write, &m};
	pv_chunk_opts o;
	pv_bundle_writer *w;
	pv_data_writer *d;
	json_t *doc, *toc, *man;
	const char *nocols[] = {"\n", "\n", "\n"};
	const char *bad[] = {"a\tb\n", "a\tb\tc\n"};
	int64_t rows;

	setenv("PGVAULT_CHUNK_BYTES", "4096", 1);
	pv_chunk_opts_default(&o);
	unsetenv("PGVAULT_CHUNK_BYTES");
	w = pv_bw_new(&sink, MTIME, &o);
	assert_non_null(w);

	doc = json_pack("{s:i, s:s, s:s}", "format", v == V_FORMAT_NEXT ? PV_BUNDLE_FORMAT + 1 : 1, "database", "caf\xc3\xa9", "encoding", "UTF8");
	if (v == V_HEADER_NOT_FIRST)
		assert_int_equal(pv_bw_add(w, "roles.json", "roles", NULL, "{}\n", 3), 0);
	assert_int_equal(pv_bw_add_json(w, PV_MEMBER_HEADER, "header", doc), 0);
	if (v != V_HEADER_NOT_FIRST)
		assert_int_equal(pv_bw_add(w, "roles.json", "roles", NULL, "{}\n", 3), 0);
	assert_int_equal(pv_bw_add(w, "pre-data.json", "schema", NULL, "[]\n", 3), 0);

	toc = json_array();
	json_array_append_new(toc, json_pack("{s:i, s:s, s:[sss], s:s}", "id", 1, "table",
	                                     "public.big", "columns", "id", "name", "note",
	                                     "member_prefix", "data/1"));
	json_array_append_new(toc, json_pack("{s:i, s:s, s:[s], s:s}", "id", 2, "table",
	                                     "public.empty", "columns", "a", "member_prefix",
	                                     "data/2"));
	if (v != V_NO_TOC_ENTRY)
		json_array_append_new(toc, json_pack("{s:i, s:s, s:[ss], s:s}", "id", 3, "table",
		                                     "public.esc", "columns", "a", "b",
		                                     "member_prefix", "data/3"));
	json_array_append_new(toc, json_pack("{s:i, s:s, s:[], s:s}", "id", 4, "table",
	                                     "public.nocols", "columns", "member_prefix",
	                                     "data/4"));
	assert_int_equal(pv_bw_add_json(w, "data.json", "data-toc", toc), 0);
	json_decref(toc);

	/* Many rows, split into several members. */
	d = pv_bw_data_begin(w, "data/1", "public.big");
	assert_non_null(d);
	for (int i = 1; i <= BIG_ROWS; i++) {
		char *row = big_row(i);
		assert_int_equal(pv_dw_row(d, row, strlen(row)), 0);
		free(row);
	}
	assert_int_equal(pv_dw_end(d, &rows), 0);
	assert_int_equal(rows, BIG_ROWS);

	/* No rows: no member. */
	add_table(w, "data/2", "public.empty", NULL, 0, 0);

	/* A table given up before its first member was full leaves nothing behind (members
	 * already written would stay). */
	d = pv_bw_data_begin(w, "data/9", "public.aborted");
	assert_non_null(d);
	for (int i = 1; i <= 20; i++) {
		char *row = big_row(i);
		assert_int_equal(pv_dw_row(d, row, strlen(row)), 0);
		free(row);
	}
	pv_dw_abort(d);

	if (v == V_BAD_COLUMNS)
		add_table(w, "data/3", "public.esc", bad, 2, 2);
	else
		add_table(w, "data/3", "public.esc", esc_rows, NESC, NESC);
	add_table(w, "data/4", "public.nocols", nocols, 3, 3);
	if (v == V_MANIFEST_TWICE) {
		json_t *early = json_pack("{s:i}", "format", 1);
		assert_int_equal(pv_bw_add_json(w, PV_MEMBER_MANIFEST, "manifest", early), 0);
		json_decref(early);
	}
	assert_int_equal(pv_bw_add(w, "post-data.json", "schema", NULL, "[]\n", 3), 0);

	if (v == V_EXTRA_LISTED)
		json_array_append_new(pv_bw_members(w),
		                      json_pack("{s:s, s:s, s:i, s:s}", "name", "extra.json",
		                                "kind", "schema", "size", 3, "sha256", "00"));
	if (v == V_MISSING_LISTED)
		json_array_remove(pv_bw_members(w), 1);
	if (v == V_WRONG_ROWS) {
		json_t *first = json_array_get(pv_bw_members(w), 4);
		assert_string_equal(json_string_value(json_object_get(first, "name")),
		                    "data/1.1.copy.zst");
		json_object_set_new(first, "rows", json_integer(1 + json_integer_value(
		                                       json_object_get(first, "rows"))));
	}

	man = json_pack("{s:i, s:s, s:s}", "format", 1, "database", "caf\xc3\xa9", "encoding", "UTF8");
	assert_int_equal(pv_bw_finish(w, man), 0);
	assert_true(json_is_array(json_object_get(man, "members")));
	json_decref(last_docs);
	last_docs = json_incref(pv_bw_documents(w));
	pv_bw_free(w);
	json_decref(doc);

	*out = m.buf;
	if (manifest)
		*manifest = man;
	else
		json_decref(man);
}

/* How many members the big table splits into, by the documented rule. */
static int
big_members(void)
{
	size_t raw = 0;
	int n = 0;

	for (int i = 1; i <= BIG_ROWS; i++) {
		char *row = big_row(i);
		raw += strlen(row);
		free(row);
		if (raw >= RAW_LIMIT) {
			n++;
			raw = 0;
		}
	}
	return n + (raw > 0);
}

/* The member names the OK bundle must have, in order (manifest.json not included). */
static json_t *
expected_names(void)
{
	json_t *a = json_array();
	int n = big_members();

	json_array_append_new(a, json_string("pgvault.json"));
	json_array_append_new(a, json_string("roles.json"));
	json_array_append_new(a, json_string("pre-data.json"));
	json_array_append_new(a, json_string("data.json"));
	for (int i = 1; i <= n; i++)
		json_array_append_new(a, json_sprintf("data/1.%d.copy.zst", i));
	json_array_append_new(a, json_string("data/3.1.copy.zst"));
	json_array_append_new(a, json_string("data/4.1.copy.zst"));
	json_array_append_new(a, json_string("post-data.json"));
	return a;
}

/* Offset of the stored bytes of member `name` in a tar image (-1 if absent). */
static long
member_offset(const pv_buf *b, const char *name)
{
	for (size_t off = 0; off + 512 <= b->len; off += 512)
		if (memcmp(b->data + off, name, strlen(name) + 1) == 0 &&
		    memcmp(b->data + off + 257, "ustar", 5) == 0)
			return (long)(off + 512);
	return -1;
}

/* ---- tests -------------------------------------------------------------------------- */

/* What no member checksum covers is held to the writer's layout: the header's checksum
 * field, the padding, the end of the archive, the manifest's bytes (each one changed must
 * fail, naming why). */
static void
test_strict_layout(void **state)
{
	pv_buf b;
	json_t *man;
	build_bundle(V_OK, &b, &man);
	json_decref(man);
	assert_int_equal(verify_mem(b.data, b.len, NULL), 0);

	/* the checksum field of the second header: six digits, NUL, space */
	long roles = member_offset(&b, "roles.json") - 512;
	assert_true(roles > 0);
	b.data[roles + 155] = '\0';
	assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
	assert_contains(pv_errmsg(), "checksum field");
	b.data[roles + 155] = ' ';

	/* the padding after the header member (pgvault.json is not a multiple of 512) */
	long hdr = member_offset(&b, PV_MEMBER_HEADER);
	long pad = roles - 1;
	assert_true(pad > hdr && b.data[pad] == 0);
	b.data[pad] = 'x';
	assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
	assert_contains(pv_errmsg(), "padding is not zero");
	b.data[pad] = 0;

	/* the end: a flip in the zero blocks, garbage after them, zeros up to a record */
	b.data[b.len - 700] = 1;
	assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
	b.data[b.len - 700] = 0;
	pv_buf c = PV_BUF_INIT;
	pv_buf_add(&c, b.data, b.len);
	pv_buf_add(&c, "garbage", 7);
	assert_int_equal(verify_mem(c.data, c.len, NULL), -1);
	assert_contains(pv_errmsg(), "end-of-archive");
	c.len = b.len;
	static const char zeros[10240];
	pv_buf_add(&c, zeros, sizeof zeros);
	assert_int_equal(verify_mem(c.data, c.len, NULL), 0);
	pv_buf_add(&c, zeros, 512);
	assert_int_equal(verify_mem(c.data, c.len, NULL), -1);
	pv_buf_free(&c);

	/* the manifest's white space: an indentation space made a tab is the same JSON */
	long mo = member_offset(&b, PV_MEMBER_MANIFEST);
	assert_true(mo > 0 && b.data[mo + 2] == ' ');
	b.data[mo + 2] = '\t';
	assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
	assert_contains(pv_errmsg(), "not laid out as pgvault writes it");
	b.data[mo + 2] = ' ';
	assert_int_equal(verify_mem(b.data, b.len, NULL), 0);
	pv_buf_free(&b);
}

static void
test_chunk_opts(void **state)
{
	pv_chunk_opts o;

	unsetenv("PGVAULT_CHUNK_BYTES");
	pv_chunk_opts_default(&o);
	assert_int_equal(o.raw_limit, (size_t)256 << 20);
	assert_int_equal(o.comp_limit, (size_t)8 << 20);
	assert_int_equal(o.level, 3);

	setenv("PGVAULT_CHUNK_BYTES", "1000", 1);
	pv_chunk_opts_default(&o);
	assert_int_equal(o.raw_limit, 1000);
	assert_int_equal(o.comp_limit, 1000);

	setenv("PGVAULT_CHUNK_BYTES", "20971520", 1);
	pv_chunk_opts_default(&o);
	assert_int_equal(o.raw_limit, 20971520);
	assert_int_equal(o.comp_limit, (size_t)8 << 20);

	const char *bad[] = {"", "0", "-5", "12k", "abc", " 7"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		setenv("PGVAULT_CHUNK_BYTES", bad[i], 1);
		pv_chunk_opts_default(&o);
		assert_int_equal(o.raw_limit, (size_t)256 << 20);
		assert_int_equal(o.comp_limit, (size_t)8 << 20);
	}
	unsetenv("PGVAULT_CHUNK_BYTES");
}

static void
test_verify_ok(void **state)
{
	pv_buf b;
	json_t *written, *man = NULL, *names = expected_names(), *m;
	int64_t big_rows = 0, big_raw = 0;
	size_t i;

	build_bundle(V_OK, &b, &written);
	assert_true(big_members() >= 3);
	assert_int_equal(b.len % 512, 0);

	if (verify_mem(b.data, b.len, &man) != 0)
		fail_msg("verify failed: %s", pv_errmsg());
	assert_non_null(man);
	/* the JSON members it kept: those written by pv_bw_add_json, as they were given */
	assert_non_null(json_object_get(last_docs, PV_MEMBER_HEADER));
	assert_true(json_is_array(json_object_get(last_docs, "data.json")));
	assert_null(json_object_get(last_docs, "roles.json"));
	verify_written(b.data, b.len, 0, man);
	assert_int_equal(json_integer_value(json_object_get(man, "format")), 1);
	assert_string_equal(json_string_value(json_object_get(man, "database")), "caf\xc3\xa9");
	assert_true(json_equal(man, written));

	json_t *members = json_object_get(man, "members");
	assert_int_equal(json_array_size(members), json_array_size(names));
	json_array_foreach(members, i, m) {
		const char *name = json_string_value(json_object_get(m, "name"));
		assert_string_equal(name, json_string_value(json_array_get(names, i)));
		assert_true(json_integer_value(json_object_get(m, "size")) > 0);
		assert_int_equal(strlen(json_string_value(json_object_get(m, "sha256"))), 64);
		if (strncmp(name, "data/", 5) == 0) {
			assert_string_equal(json_string_value(json_object_get(m, "kind")), "data");
			assert_true(json_integer_value(json_object_get(m, "rows")) > 0);
		} else {
			assert_null(json_object_get(m, "rows"));
		}
		if (strncmp(name, "data/1.", 7) == 0) {
			assert_string_equal(json_string_value(json_object_get(m, "object")),
			                    "public.big");
			big_rows += json_integer_value(json_object_get(m, "rows"));
			big_raw += json_integer_value(json_object_get(m, "raw_size"));
		}
		if (strcmp(name, "data/3.1.copy.zst") == 0)
			assert_int_equal(json_integer_value(json_object_get(m, "rows")), NESC);
		if (strcmp(name, "data/4.1.copy.zst") == 0) {
			assert_int_equal(json_integer_value(json_object_get(m, "rows")), 3);
			assert_int_equal(json_integer_value(json_object_get(m, "raw_size")), 3);
		}
		if (strcmp(name, "roles.json") == 0)
			assert_int_equal(json_integer_value(json_object_get(m, "size")), 3);
	}
	assert_int_equal(big_rows, BIG_ROWS);
	size_t raw = 0;
	for (int r = 1; r <= BIG_ROWS; r++) {
		char *row = big_row(r);
		raw += strlen(row);
		free(row);
	}
	assert_int_equal(big_raw, (int64_t)raw);

	/* Also through a file descriptor. */
	char path[] = "/tmp/pgvault-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	pv_source src;
	pv_source_fd(&src, &fd);
	pv_err_clear();
	if (pv_bundle_verify(&src, path, 1, NULL) != 0)
		fail_msg("verify via fd failed: %s", pv_errmsg());
	close(fd);
	unlink(path);

	json_decref(man);
	json_decref(written);
	json_decref(names);
	pv_buf_free(&b);
}

/* The tar itself: pax/ustar headers, mode 0600, the given mtime, uid/gid 0. */
static void
test_tar_entries(void **state)
{
	pv_buf b;
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	json_t *names = expected_names();
	size_t n = 0;

	build_bundle(V_OK, &b, NULL);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, b.data, b.len), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *want = n < json_array_size(names) ?
		                   json_string_value(json_array_get(names, n)) : PV_MEMBER_MANIFEST;
		assert_string_equal(archive_entry_pathname(e), want);
		assert_int_equal(archive_entry_filetype(e), AE_IFREG);
		assert_int_equal(archive_entry_perm(e), 0600);
		assert_int_equal(archive_entry_mtime(e), MTIME);
		assert_int_equal(archive_entry_uid(e), 0);
		assert_int_equal(archive_entry_gid(e), 0);
		n++;
	}
	assert_int_equal(n, json_array_size(names) + 1);
	archive_read_free(a);
	json_decref(names);
	pv_buf_free(&b);
}

static void
test_listing_and_sha(void **state)
{
	pv_buf b;
	json_t *man, *names = expected_names(), *members;
	memsrc ms;
	pv_source src = {.read = mem_read, .ctx = &ms};
	pv_bundle_reader *r;
	const char *name;
	int64_t size;
	size_t n = 0;
	int rc;

	build_bundle(V_OK, &b, &man);
	members = json_object_get(man, "members");
	ms = (memsrc){b.data, b.len, 0, 777, 0};
	r = pv_br_new(&src, "/x/test.pgv");
	while ((rc = pv_br_next(r, &name, &size)) > 0) {
		char sha[65];
		if (n == json_array_size(names)) {
			assert_string_equal(name, PV_MEMBER_MANIFEST);
			json_t *doc = pv_br_read_json(r, 1 << 20);
			assert_non_null(doc);
			assert_true(json_equal(doc, man));
			json_decref(doc);
			n++;
			continue;
		}
		json_t *m = json_array_get(members, n);
		assert_string_equal(name, json_string_value(json_array_get(names, n)));
		assert_int_equal(size, json_integer_value(json_object_get(m, "size")));
		/* Every other member: read a little first, the SHA must still cover it all. */
		if (n % 2 == 0) {
			char tmp[5];
			assert_int_equal(pv_br_read(r, tmp, sizeof tmp), size < 5 ? size : 5);
		}
		assert_int_equal(pv_br_member_sha(r, sha), 0);
		assert_string_equal(sha, json_string_value(json_object_get(m, "sha256")));
		/* Asking twice gives the same digest. */
		assert_int_equal(pv_br_member_sha(r, sha), 0);
		assert_string_equal(sha, json_string_value(json_object_get(m, "sha256")));
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, json_array_size(names) + 1);
	/* At the end it stays at the end. */
	assert_int_equal(pv_br_next(r, &name, &size), 0);
	pv_br_free(r);

	/* Skipping members (partly read or not at all) without asking for the SHA. */
	ms = (memsrc){b.data, b.len, 0, 0, 0};
	r = pv_br_new(&src, "/x/test.pgv");
	n = 0;
	while ((rc = pv_br_next(r, &name, &size)) > 0) {
		char tmp[10];
		if (n++ % 3 == 1)
			assert_true(pv_br_read(r, tmp, sizeof tmp) > 0);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, json_array_size(names) + 1);
	pv_br_free(r);

	/* Freeing in the middle of a member. */
	ms = (memsrc){b.data, b.len, 0, 0, 0};
	r = pv_br_new(&src, "/x/test.pgv");
	assert_int_equal(pv_br_next(r, &name, &size), 1);
	assert_string_equal(name, PV_MEMBER_HEADER);
	pv_buf hdr = PV_BUF_INIT;
	assert_int_equal(pv_br_read_all(r, &hdr, 1 << 20), 0);
	/* UTF-8 kept, keys sorted, indent 1, trailing newline. */
	assert_string_equal(hdr.data, "{\n \"database\": \"caf\xc3\xa9\",\n \"encoding\": \"UTF8\",\n \"format\": 1\n}\n");
	pv_buf_free(&hdr);
	assert_int_equal(pv_br_next(r, &name, &size), 1);
	assert_string_equal(name, "roles.json");
	/* Too large for the limit. */
	pv_err_clear();
	assert_int_equal(pv_br_read_all(r, &hdr, 2), -1);
	assert_contains(pv_errmsg(), "roles.json");
	pv_buf_free(&hdr);
	pv_br_free(r);

	json_decref(man);
	json_decref(names);
	pv_buf_free(&b);
}

static int
collect(void *arg, const char *data, size_t len)
{
	pv_buf_add(arg, data, len);
	return 0;
}

static void
test_decompress_rows(void **state)
{
	pv_buf b, big = PV_BUF_INIT, esc = PV_BUF_INIT, nocols = PV_BUF_INIT, want = PV_BUF_INIT;
	json_t *man, *members;
	memsrc ms;
	pv_source src = {.read = mem_read, .ctx = &ms};
	pv_bundle_reader *r;
	const char *name;
	int64_t size;
	size_t n = 0;

	build_bundle(V_OK, &b, &man);
	members = json_object_get(man, "members");
	ms = (memsrc){b.data, b.len, 0, 0, 0};
	r = pv_br_new(&src, "/x/test.pgv");
	while (pv_br_next(r, &name, &size) > 0) {
		pv_buf *to = strncmp(name, "data/1.", 7) == 0 ? &big :
		             strncmp(name, "data/3.", 7) == 0 ? &esc :
		             strncmp(name, "data/4.", 7) == 0 ? &nocols : NULL;
		json_t *m = json_array_get(members, n++);
		char sha[65];
		int64_t raw = -1;
		size_t before;
		if (!to)
			continue;
		before = to->len;
		if (pv_br_decompress(r, collect, to, &raw) != 0)
			fail_msg("%s", pv_errmsg());
		assert_int_equal(raw, (int64_t)(to->len - before));
		assert_int_equal(raw, json_integer_value(json_object_get(m, "raw_size")));
		/* The stored bytes read by decompression went into the SHA. */
		assert_int_equal(pv_br_member_sha(r, sha), 0);
		assert_string_equal(sha, json_string_value(json_object_get(m, "sha256")));
	}
	pv_br_free(r);

	for (int i = 1; i <= BIG_ROWS; i++) {
		char *row = big_row(i);
		pv_buf_puts(&want, row);
		free(row);
	}
	assert_int_equal(big.len, want.len);
	assert_memory_equal(big.data, want.data, want.len);
	pv_buf_reset(&want);
	for (size_t i = 0; i < NESC; i++)
		pv_buf_puts(&want, esc_rows[i]);
	assert_string_equal(esc.data, want.data);
	assert_string_equal(nocols.data, "\n\n\n");

	pv_buf_free(&big);
	pv_buf_free(&esc);
	pv_buf_free(&nocols);
	pv_buf_free(&want);
	json_decref(man);
	pv_buf_free(&b);
}

static void
test_flip_byte(void **state)
{
	pv_buf b;
	json_t *man;
	const char *targets[] = {"data/1.2.copy.zst", "data/3.1.copy.zst", "roles.json",
	                         "post-data.json", "data.json"};

	build_bundle(V_OK, &b, &man);
	for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
		json_t *m = NULL, *e;
		size_t i;
		json_array_foreach(json_object_get(man, "members"), i, e)
			if (strcmp(json_string_value(json_object_get(e, "name")), targets[t]) == 0)
				m = e;
		assert_non_null(m);
		long off = member_offset(&b, targets[t]);
		long size = (long)json_integer_value(json_object_get(m, "size"));
		assert_true(off > 0);
		long where[] = {0, size / 2, size - 1};
		for (size_t k = 0; k < 3; k++) {
			b.data[off + where[k]] ^= 0x20;
			assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
			assert_contains(pv_errmsg(), targets[t]);
			assert_contains(pv_errmsg(), "/x/test.pgv");
			/* not parsed again, still caught: by the SHA-256 */
			verify_written(b.data, b.len, -1, NULL);
			assert_contains(pv_errmsg(), targets[t]);
			b.data[off + where[k]] ^= 0x20;
		}
	}
	/* roles.json is "{}\n": "{{\n" is no JSON (named as such), "{}}" is caught by the SHA */
	long off = member_offset(&b, "roles.json");
	b.data[off + 1] = '{';
	assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
	assert_contains(pv_errmsg(), "roles.json");
	b.data[off + 1] = '}';
	b.data[off + 2] = ' ';
	assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
	assert_contains(pv_errmsg(), "member roles.json: SHA-256 mismatch");
	b.data[off + 2] = '\n';
	assert_int_equal(verify_mem(b.data, b.len, NULL), 0);

	json_decref(man);
	pv_buf_free(&b);
}

static void
test_truncated(void **state)
{
	pv_buf b;
	size_t cut;

	build_bundle(V_OK, &b, NULL);
	assert_int_equal(verify_mem(b.data, b.len, NULL), 0);
	for (cut = 0; cut < b.len; cut += (cut % 512 == 0) ? 211 : 512 - cut % 512) {
		if (verify_mem(b.data, cut, NULL) == 0)
			fail_msg("a bundle cut at %zu of %zu bytes verified", cut, b.len);
	}
	/* Cut just after the manifest's end-of-archive blocks start. */
	for (cut = b.len - 1; cut > b.len - 2048; cut--)
		assert_int_equal(verify_mem(b.data, cut, NULL), -1);
	/* A reader cut short reports it at the end too. */
	memsrc ms = {b.data, b.len - 1024 * 9, 0, 0, 0};
	pv_source src = {.read = mem_read, .ctx = &ms};
	pv_bundle_reader *r = pv_br_new(&src, "/x/test.pgv");
	const char *name;
	int rc;
	while ((rc = pv_br_next(r, &name, NULL)) > 0)
		;
	assert_int_equal(rc, -1);
	pv_br_free(r);
	pv_buf_free(&b);
}

static void
test_source_error(void **state)
{
	pv_buf b;

	build_bundle(V_OK, &b, NULL);
	memsrc ms = {b.data, b.len, 0, 1000, 5000};
	pv_source src = {.read = mem_read, .ctx = &ms};
	pv_err_clear();
	assert_int_equal(pv_bundle_verify(&src, "/x/test.pgv", 1, NULL), -1);
	assert_contains(pv_errmsg(), "network unplugged");
	assert_contains(pv_errmsg(), "/x/test.pgv");
	pv_buf_free(&b);
}

static void
test_not_a_bundle(void **state)
{
	char zeros[4096];
	char junk[2048];

	assert_int_equal(verify_mem("hello world", 11, NULL), -1);
	assert_contains(pv_errmsg(), "/x/test.pgv is not a pgvault bundle");
	assert_int_equal(verify_mem("", 0, NULL), -1);
	assert_contains(pv_errmsg(), "/x/test.pgv is not a pgvault bundle");
	memset(zeros, 0, sizeof zeros);
	assert_int_equal(verify_mem(zeros, sizeof zeros, NULL), -1);
	assert_contains(pv_errmsg(), "not a pgvault bundle");
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)(i * 37 + 11);
	assert_int_equal(verify_mem(junk, sizeof junk, NULL), -1);
	assert_contains(pv_errmsg(), "not a pgvault bundle");

	/* The reader on its own says the same. */
	memsrc ms = {"hello world", 11, 0, 0, 0};
	pv_source src = {.read = mem_read, .ctx = &ms};
	pv_bundle_reader *r = pv_br_new(&src, "hello.txt");
	const char *name;
	assert_int_equal(pv_br_next(r, &name, NULL), -1);
	assert_contains(pv_errmsg(), "hello.txt is not a pgvault bundle (");
	pv_br_free(r);
}

static void
test_header_checks(void **state)
{
	pv_buf b;

	build_bundle(V_HEADER_NOT_FIRST, &b, NULL);
	assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
	assert_contains(pv_errmsg(), "not a pgvault bundle");
	assert_contains(pv_errmsg(), "roles.json");
	pv_buf_free(&b);

	build_bundle(V_FORMAT_NEXT, &b, NULL);
	assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
	assert_contains(pv_errmsg(), "unsupported format 4");
	pv_buf_free(&b);

	/* pgvault.json that is not JSON / has no format. */
	const char *bad[] = {"not json", "[1]", "{\"format\": \"1\"}"};
	for (size_t i = 0; i < 3; i++) {
		memsink m = {PV_BUF_INIT, 0, 0, 0};
		pv_sink sink = {mem_write, &m};
		pv_bundle_writer *w = pv_bw_new(&sink, MTIME, NULL);
		json_t *man = json_object();
		assert_int_equal(pv_bw_add(w, PV_MEMBER_HEADER, "header", NULL, bad[i],
		                           strlen(bad[i])), 0);
		assert_int_equal(pv_bw_finish(w, man), 0);
		pv_bw_free(w);
		json_decref(man);
		assert_int_equal(verify_mem(m.buf.data, m.buf.len, NULL), -1);
		assert_contains(pv_errmsg(), "not a pgvault bundle");
		pv_buf_free(&m.buf);
	}
}

/* A bundle of the given members (name, content), in order, with a manifest of them. */
static int
verify_members(const char *const *members, size_t n)
{
	memsink m = {PV_BUF_INIT, 0, 0, 0};
	pv_sink sink = {mem_write, &m};
	pv_bundle_writer *w = pv_bw_new(&sink, MTIME, NULL);
	json_t *man = json_object();
	for (size_t i = 0; i < n; i += 2) {
		/* the kind the writer gives each member (verify checks it) */
		const char *kind = strcmp(members[i], PV_MEMBER_HEADER) == 0 ? "header"
		                   : strcmp(members[i], "roles.json") == 0 ? "roles"
		                   : strcmp(members[i], "data.json") == 0 ? "data-toc" : "schema";
		assert_int_equal(pv_bw_add(w, members[i], kind, NULL, members[i + 1], strlen(members[i + 1])), 0);
	}
	assert_int_equal(pv_bw_finish(w, man), 0);
	pv_bw_free(w);
	json_decref(man);
	int rc = verify_mem(m.buf.data, m.buf.len, NULL);
	pv_buf_free(&m.buf);
	return rc;
}

/* verify accepts what restore reads: only the format's members, in restore's order, and
 * schema members of the shape restore reads (each fails, naming what is wrong) */
static void
test_format_checks(void **state)
{
	const char *hdr = "{\"format\": 1, \"database\": \"d\", \"encoding\": \"UTF8\"}";
	const char *ok[] = {PV_MEMBER_HEADER, hdr, "roles.json", "{}", "pre-data.json", "[]",
	                    "data.json", "[]", "post-data.json", "[]"};
	assert_int_equal(verify_members(ok, 10), 0);
	const char *extra[] = {PV_MEMBER_HEADER, hdr, "roles.json", "{}", "run-me.sh", "echo",
	                       "pre-data.json", "[]"};
	assert_int_equal(verify_members(extra, 8), -1);
	assert_contains(pv_errmsg(), "unexpected member run-me.sh");
	const char *order[] = {PV_MEMBER_HEADER, hdr, "pre-data.json", "[]", "roles.json", "{}"};
	assert_int_equal(verify_members(order, 6), -1);
	assert_contains(pv_errmsg(), "member roles.json out of order");
	const char *odd_data[] = {PV_MEMBER_HEADER, hdr, "data.json", "[]", "data/../x.copy.zst", ""};
	assert_int_equal(verify_members(odd_data, 6), -1);
	assert_contains(pv_errmsg(), "unexpected member data/../x.copy.zst");
	const char *roles[] = {PV_MEMBER_HEADER, hdr, "roles.json", "[]"};
	assert_int_equal(verify_members(roles, 4), -1);
	assert_contains(pv_errmsg(), "member roles.json: not a JSON object");
	const char *entry[] = {PV_MEMBER_HEADER, hdr, "pre-data.json", "[{\"kind\": \"table\", \"name\": \"t\", \"sql\": 1}]"};
	assert_int_equal(verify_members(entry, 4), -1);
	assert_contains(pv_errmsg(), "member pre-data.json: entry 1: \"sql\" is not a string");
	const char *noname[] = {PV_MEMBER_HEADER, hdr, "post-data.json", "[{\"kind\": \"index\"}]"};
	assert_int_equal(verify_members(noname, 4), -1);
	assert_contains(pv_errmsg(), "member post-data.json: entry 1 is not an object with a kind and a name");
	const char *notjson[] = {PV_MEMBER_HEADER, hdr, "pre-data.json", "[{"};
	assert_int_equal(verify_members(notjson, 4), -1);
	assert_contains(pv_errmsg(), "pre-data.json");
	(void)state;
}

/* One table of ncols columns holding `rows` (each ending in a newline) in a bundle; the
 * result of verifying it (its message in pv_errmsg()). */
static int
verify_rows(int ncols, const char *const *rows, int nrows)
{
	memsink m = {PV_BUF_INIT, 0, 0, 0};
	pv_sink sink = {mem_write, &m};
	pv_chunk_opts o = {(size_t)1 << 30, (size_t)1 << 30, 1};
	pv_bundle_writer *w = pv_bw_new(&sink, MTIME, &o);
	json_t *hdr = json_pack("{s:i, s:s, s:s}", "format", 1, "database", "d", "encoding", "UTF8");
	json_t *cols = json_array();
	for (int i = 0; i < ncols; i++)
		json_array_append_new(cols, json_sprintf("c%d", i));
	json_t *toc = json_pack("[{s:i, s:s, s:o, s:s}]", "id", 7, "table", "t", "columns", cols,
	                        "member_prefix", "data/7");
	json_t *man = json_object();
	int64_t n = 0;
	assert_int_equal(pv_bw_add_json(w, PV_MEMBER_HEADER, "header", hdr), 0);
	assert_int_equal(pv_bw_add_json(w, "data.json", "data-toc", toc), 0);
	pv_data_writer *d = pv_bw_data_begin(w, "data/7", "t");
	for (int i = 0; i < nrows; i++)
		assert_int_equal(pv_dw_row(d, rows[i], strlen(rows[i])), 0);
	assert_int_equal(pv_dw_end(d, &n), 0);
	assert_int_equal(pv_bw_finish(w, man), 0);
	pv_bw_free(w);
	int rc = verify_mem(m.buf.data, m.buf.len, NULL);
	json_decref(hdr);
	json_decref(toc);
	json_decref(man);
	pv_buf_free(&m.buf);
	return rc;
}

/* The column count of every row, whatever its length and wherever its tabs fall against
 * the 8-byte words the verifier counts them in: rows of 1 to 40 bytes with 0 to 3 tabs at
 * every position pass; one extra tab anywhere in one of them fails, naming the row. */
static void
test_tab_positions(void **state)
{
	char *rows[64];
	uint32_t x = 99;
	(void)state;
	for (int tabs = 0; tabs <= 3; tabs++) {
		for (int len = tabs; len <= 40; len += 3) {
			int n = 0;
			for (; n < 64; n++) {
				char *r = malloc((size_t)len + 2);
				memset(r, 'x', (size_t)len);
				for (int t = 0; t < tabs; t++) {
					x = x * 1103515245u + 12345u;
					int at = (int)((x >> 8) % (unsigned)len);
					while (r[at] == '\t')
						at = (at + 1) % len;
					r[at] = '\t';
				}
				r[len] = '\n';
				r[len + 1] = '\0';
				rows[n] = r;
			}
			if (verify_rows(tabs + 1, (const char *const *)rows, n) != 0)
				fail_msg("len %d tabs %d: %s", len, tabs, pv_errmsg());
			/* one more tab in row 37, at each non-tab position */
			for (int at = 0; at < len; at++) {
				if (rows[36][at] == '\t')
					continue;
				rows[36][at] = '\t';
				assert_int_equal(verify_rows(tabs + 1, (const char *const *)rows, n), -1);
				assert_contains(pv_errmsg(), "row 37 has");
				rows[36][at] = 'x';
			}
			for (int i = 0; i < n; i++)
				free(rows[i]);
		}
	}
}

static void
test_bad_columns(void **state)
{
	pv_buf b;

	build_bundle(V_BAD_COLUMNS, &b, NULL);
	assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
	assert_contains(pv_errmsg(), "member data/3.1.copy.zst: row 2 has 3 columns, expected 2");
	pv_buf_free(&b);

	build_bundle(V_NO_TOC_ENTRY, &b, NULL);
	assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
	assert_contains(pv_errmsg(), "data/3.1.copy.zst");
	pv_buf_free(&b);
}

static void
test_manifest_mismatch(void **state)
{
	pv_buf b;

	build_bundle(V_EXTRA_LISTED, &b, NULL);
	assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
	assert_contains(pv_errmsg(), "member extra.json listed in the manifest is missing");
	pv_buf_free(&b);

	build_bundle(V_MISSING_LISTED, &b, NULL);
	assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
	assert_contains(pv_errmsg(), "unexpected member roles.json");
	pv_buf_free(&b);

	build_bundle(V_WRONG_ROWS, &b, NULL);
	assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
	assert_contains(pv_errmsg(), "member data/1.1.copy.zst: rows");
	pv_buf_free(&b);

	build_bundle(V_MANIFEST_TWICE, &b, NULL);
	assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
	assert_contains(pv_errmsg(), "post-data.json");
	pv_buf_free(&b);
}

/* A bundle with pgvault.json, data.json for one 2-column table, then `member` as
 * data/1.1.copy.zst, then the manifest. */
static void
raw_data_bundle(pv_buf *out, const void *member, size_t len)
{
	memsink m = {PV_BUF_INIT, 0, 0, 0};
	pv_sink sink = {mem_write, &m};
	pv_bundle_writer *w = pv_bw_new(&sink, MTIME, NULL);
	json_t *hdr = json_pack("{s:i, s:s, s:s}", "format", 1, "database", "d", "encoding", "UTF8");
	json_t *toc = json_pack("[{s:i, s:s, s:[ss], s:s}]", "id", 1, "table", "t", "columns",
	                        "a", "b", "member_prefix", "data/1");
	json_t *man = json_object();

	assert_int_equal(pv_bw_add_json(w, PV_MEMBER_HEADER, "header", hdr), 0);
	assert_int_equal(pv_bw_add_json(w, "data.json", "data-toc", toc), 0);
	assert_int_equal(pv_bw_add(w, "data/1.1.copy.zst", "data", "t", member, len), 0);
	assert_int_equal(pv_bw_finish(w, man), 0);
	pv_bw_free(w);
	json_decref(hdr);
	json_decref(toc);
	json_decref(man);
	*out = m.buf;
}

static int
fail_cb(void *arg, const char *data, size_t len)
{
	return pv_fail("the table is full");
}

static void
test_bad_zstd(void **state)
{
	const char *rows = "1\tx\n2\ty\n3\tz";
	char comp[256];
	size_t clen;
	pv_buf b;

	/* Not zstd at all. */
	raw_data_bundle(&b, "hello", 5);
	assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
	assert_contains(pv_errmsg(), "member data/1.1.copy.zst: zstd: ");
	pv_buf_free(&b);

	/* A frame cut short. */
	clen = ZSTD_compress(comp, sizeof comp, rows, strlen(rows), 3);
	assert_false(ZSTD_isError(clen));
	raw_data_bundle(&b, comp, clen - 3);
	assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
	assert_contains(pv_errmsg(), "member data/1.1.copy.zst: zstd: ");
	assert_contains(pv_errmsg(), "zstd: truncated frame (input ends at offset ");
	pv_buf_free(&b);

	/* A valid frame followed by anything (here a second frame) is refused at its end. */
	{
		char two[512], want[128];
		size_t n = ZSTD_compress(two, sizeof two, "1\tx\n", 4, 3);
		assert_false(ZSTD_isError(n));
		memcpy(two + n, two, n);
		raw_data_bundle(&b, two, 2 * n);
		assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
		snprintf(want, sizeof want, "member data/1.1.copy.zst: zstd: unexpected data after "
		         "the end of the frame at offset %zu", n);
		assert_contains(pv_errmsg(), want);
		pv_buf_free(&b);
	}

	/* A valid frame whose last row has no newline. */
	raw_data_bundle(&b, comp, clen);
	assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
	assert_contains(pv_errmsg(), "member data/1.1.copy.zst: the last row does not end");
	pv_buf_free(&b);

	/* An empty member is no frame. */
	raw_data_bundle(&b, "", 0);
	assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
	assert_contains(pv_errmsg(), "member data/1.1.copy.zst: zstd");
	pv_buf_free(&b);

	/* The callback's error is reported with the member. */
	clen = ZSTD_compress(comp, sizeof comp, "1\tx\n", 4, 3);
	raw_data_bundle(&b, comp, clen);
	/* (pv_bw_add does not record rows, so the manifest lacks them) */
	assert_int_equal(verify_mem(b.data, b.len, NULL), -1);
	assert_contains(pv_errmsg(), "member data/1.1.copy.zst: the manifest has no rows");
	memsrc ms = {b.data, b.len, 0, 0, 0};
	pv_source src = {.read = mem_read, .ctx = &ms};
	pv_bundle_reader *r = pv_br_new(&src, "/x/test.pgv");
	const char *name;
	while (pv_br_next(r, &name, NULL) > 0 && strcmp(name, "data/1.1.copy.zst") != 0)
		;
	assert_string_equal(name, "data/1.1.copy.zst");
	pv_err_clear();
	assert_int_equal(pv_br_decompress(r, fail_cb, NULL, NULL), -1);
	assert_string_equal(pv_errmsg(),
	                    "bundle /x/test.pgv: member data/1.1.copy.zst: the table is full");
	pv_br_free(r);
	pv_buf_free(&b);
}

static void
test_not_regular(void **state)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	static char buf[64 * 1024];
	size_t used = 0;
	const char *hdr = "{\"format\": 1, \"database\": \"d\", \"encoding\": \"UTF8\"}\n";

	archive_write_set_format_pax(a);
	assert_int_equal(archive_write_open_memory(a, buf, sizeof buf, &used), ARCHIVE_OK);
	archive_entry_set_pathname(e, PV_MEMBER_HEADER);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_size(e, (la_int64_t)strlen(hdr));
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, hdr, strlen(hdr)), (la_ssize_t)strlen(hdr));
	archive_entry_clear(e);
	archive_entry_set_pathname(e, "data");
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0700);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	archive_entry_free(e);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);

	assert_int_equal(verify_mem(buf, used, NULL), -1);
	assert_contains(pv_errmsg(), "member data/ is not a regular file");
}

/* Two writers of one table's rows, interleaved row by row as two threads would: their
 * members share one numbering (no name twice), every row is counted once, and the bundle
 * verifies. */
static void
test_shared_writers(void **state)
{
	memsink m = {PV_BUF_INIT, 0, 0, 0};
	pv_sink sink = {mem_write, &m};
	pv_chunk_opts o = {(size_t)1 << 30, 1500, 1};
	pv_bundle_writer *w = pv_bw_new(&sink, MTIME, &o);
	json_t *hdr = json_pack("{s:i, s:s, s:s}", "format", 1, "database", "d", "encoding", "UTF8");
	json_t *toc = json_pack("[{s:i, s:s, s:[s], s:s}]", "id", 7, "table", "t", "columns",
	                        "a", "member_prefix", "data/7");
	json_t *man = json_object(), *e, *got = NULL;
	uint32_t x = 777;
	int seq = 0;
	int64_t r1 = 0, r2 = 0, sum = 0;
	size_t i, n = 0;
	(void)state;

	assert_int_equal(pv_bw_add_json(w, PV_MEMBER_HEADER, "header", hdr), 0);
	assert_int_equal(pv_bw_add_json(w, "data.json", "data-toc", toc), 0);
	pv_data_writer *a = pv_bw_data_begin_shared(w, "data/7", "t", &seq);
	pv_data_writer *b = pv_bw_data_begin_shared(w, "data/7", "t", &seq);
	assert_non_null(a);
	assert_non_null(b);
	for (int r = 0; r < 12000; r++) {
		char row[48];
		x = x * 1103515245u + 12345u;
		uint32_t y = x * 2654435761u;
		int len = snprintf(row, sizeof row, "%08x%08x%08x%08x\n", x, y, x ^ y, y >> 3);
		assert_int_equal(pv_dw_row(r % 3 ? a : b, row, (size_t)len), 0);
	}
	assert_int_equal(pv_dw_end(a, &r1), 0);
	assert_int_equal(pv_dw_end(b, &r2), 0);
	assert_int_equal(r1 + r2, 12000);
	assert_int_equal(pv_bw_finish(w, man), 0);
	pv_bw_free(w);

	if (verify_mem(m.buf.data, m.buf.len, &got) != 0)
		fail_msg("%s", pv_errmsg());
	json_t *names = json_object();
	json_array_foreach(json_object_get(got, "members"), i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		if (strncmp(name, "data/7.", 7) != 0)
			continue;
		assert_null(json_object_get(names, name));
		json_object_set_new(names, name, json_true());
		sum += json_integer_value(json_object_get(e, "rows"));
		n++;
	}
	assert_true(n >= 3);
	assert_int_equal(seq, (int)n);
	assert_int_equal(sum, 12000);
	json_decref(names);
	json_decref(got);
	json_decref(man);
	json_decref(hdr);
	json_decref(toc);
	pv_buf_free(&m.buf);
}

static void
test_comp_limit(void **state)
{
	memsink m = {PV_BUF_INIT, 0, 0, 0};
	pv_sink sink = {mem_write, &m};
	pv_chunk_opts o = {(size_t)1 << 30, 2000, 1};
	pv_bundle_writer *w = pv_bw_new(&sink, MTIME, &o);
	json_t *hdr = json_pack("{s:i, s:s, s:s}", "format", 1, "database", "d", "encoding", "UTF8");
	json_t *toc = json_pack("[{s:i, s:s, s:[s], s:s}]", "id", 7, "table", "t", "columns",
	                        "a", "member_prefix", "data/7");
	json_t *man = json_object(), *e, *got = NULL;
	uint32_t x = 12345;
	int64_t rows = 0, sum = 0;
	size_t i, nmembers = 0;

	assert_int_equal(pv_bw_add_json(w, PV_MEMBER_HEADER, "header", hdr), 0);
	assert_int_equal(pv_bw_add_json(w, "data.json", "data-toc", toc), 0);
	pv_data_writer *d = pv_bw_data_begin(w, "data/7", "t");
	/* Another table can start while this one is open (parallel backups), but the bundle
	 * cannot be finished while either is. */
	pv_data_writer *d2 = pv_bw_data_begin(w, "data/8", "u");
	assert_non_null(d2);
	pv_err_clear();
	assert_int_equal(pv_bw_finish(w, man), -1);
	assert_contains(pv_errmsg(), "still open");
	pv_dw_abort(d2);
	for (int r = 0; r < 8000; r++) {
		char row[80];
		int n = 0;
		for (int k = 0; k < 8; k++) {
			x = x * 1103515245u + 12345u;
			n += snprintf(row + n, sizeof row - (size_t)n, "%08x", x);
		}
		row[n++] = '\n';
		assert_int_equal(pv_dw_row(d, row, (size_t)n), 0);
	}
	assert_int_equal(pv_dw_end(d, &rows), 0);
	assert_int_equal(rows, 8000);
	assert_int_equal(pv_bw_finish(w, man), 0);
	pv_bw_free(w);

	if (verify_mem(m.buf.data, m.buf.len, &got) != 0)
		fail_msg("%s", pv_errmsg());
	json_array_foreach(json_object_get(got, "members"), i, e) {
		if (strncmp(json_string_value(json_object_get(e, "name")), "data/7.", 7) != 0)
			continue;
		nmembers++;
		sum += json_integer_value(json_object_get(e, "rows"));
		/* bounded: the limit plus what zstd emits at once */
		assert_true((size_t)json_integer_value(json_object_get(e, "size")) <=
		            2000 + ZSTD_CStreamOutSize() + 1024);
	}
	assert_true(nmembers >= 2);
	assert_int_equal(sum, 8000);

	json_decref(got);
	json_decref(hdr);
	json_decref(toc);
	json_decref(man);
	pv_buf_free(&m.buf);
}

/* The row check against a byte-at-a-time model of it, on random COPY text fed in random
 * pieces (and pieces of exact multiples of its 8-byte words): the same rows, the same state
 * after every piece, the same verdict and message. */
static int
model_feed(pv_rowcheck *c, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\t') {
			c->tabs++;
			c->len++;
		} else if (data[i] == '\n') {
			c->rows++;
			if (c->ncols == 0 && c->len > 0)
				return pv_fail("row %lld is not empty but the table has no columns", (long long)c->rows);
			if (c->ncols > 0 && c->tabs != c->ncols - 1)
				return pv_fail("row %lld has %lld columns, expected %lld", (long long)c->rows,
				               (long long)c->tabs + 1, (long long)c->ncols);
			c->tabs = c->len = 0;
		} else {
			c->len++;
		}
		c->last = data[i];
	}
	return 0;
}

static void
rowcheck_property(void)
{
	const char alphabet[] = "ab\t\n\\N\xc3\xa9\x80\xff\x09\x0a \x00";
	unsigned seed = 20261207;
	char *buf = malloc(4096);
	for (int round = 0; round < 3000; round++) {
		int64_t ncols = rand_r(&seed) % 5;
		size_t n = 0, want = (size_t)(rand_r(&seed) % 4000);
		int sane = rand_r(&seed) % 4 != 0; /* mostly rows of the right shape */
		while (n < want) {
			if (sane) {
				/* a row of ncols columns (a table without columns: empty rows) */
				for (int64_t col = 0; col < ncols && n < want; col++) {
					int w = rand_r(&seed) % 40;
					for (int k = 0; k < w && n < want; k++)
						buf[n++] = "abcdef\xc3\xa9\\N0123"[rand_r(&seed) % 13];
					if (col + 1 < ncols && n < want)
						buf[n++] = '\t';
				}
				if (n < want)
					buf[n++] = '\n';
			} else {
				buf[n++] = alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
			}
		}
		pv_rowcheck a = {.ncols = ncols}, b = {.ncols = ncols};
		int ra = 0, rb = 0;
		char ma[256] = "", mb[256] = "";
		for (size_t off = 0; off < n;) {
			int kind = rand_r(&seed) % 4;
			size_t piece = kind == 0   ? 8 * (size_t)(1 + rand_r(&seed) % 9)
			               : kind == 1 ? 32 * (size_t)(1 + rand_r(&seed) % 20)
			               : kind == 2 ? (size_t)(1 + rand_r(&seed) % 1000)
			                           : (size_t)(1 + rand_r(&seed) % 100);
			if (piece > n - off)
				piece = n - off;
			pv_err_clear();
			ra = pv_rowcheck_feed(&a, buf + off, piece);
			snprintf(ma, sizeof ma, "%s", pv_errmsg());
			pv_err_clear();
			rb = model_feed(&b, buf + off, piece);
			snprintf(mb, sizeof mb, "%s", pv_errmsg());
			assert_int_equal(ra, rb);
			assert_string_equal(ma, mb);
			assert_int_equal(a.rows, b.rows);
			if (ra < 0)
				break;
			assert_int_equal(a.tabs, b.tabs);
			assert_int_equal(a.len, b.len);
			assert_int_equal(a.last, b.last);
			off += piece;
		}
		if (ra == 0)
			assert_int_equal(pv_rowcheck_end(&a, (int64_t)n), pv_rowcheck_end(&b, (int64_t)n));
	}
	free(buf);
}

/* Both paths: AVX2 where the CPU has it, and the portable words. */
static void
test_rowcheck_property(void **state)
{
	rowcheck_property();
	pv_rowcheck_words = 1;
	rowcheck_property();
	pv_rowcheck_words = 0;
}

/* Text mapped on its way out (SQL_ASCII's) is not the document as is: the writer does not
 * offer it to verify, which parses such members again. */
static void
test_documents_mapped(void **state)
{
	memsink m = {PV_BUF_INIT, 0, 0, 0};
	pv_sink sink = {mem_write, &m};
	pv_chunk_opts o;
	pv_chunk_opts_default(&o);
	pv_bundle_writer *w = pv_bw_new(&sink, MTIME, &o);
	assert_non_null(w);
	pv_bw_set_text(w, PVJ_LATIN1);
	json_t *doc = json_pack("{s:i, s:s}", "format", 1, "database", "x");
	assert_int_equal(pv_bw_add_json(w, PV_MEMBER_HEADER, "header", doc), 0);
	assert_int_equal(json_object_size(pv_bw_documents(w)), 0);
	pv_bw_set_text(w, PVJ_UTF8);
	assert_int_equal(pv_bw_add_json(w, "roles.json", "roles", doc), 0);
	assert_ptr_equal(json_object_get(pv_bw_documents(w), "roles.json"), doc);
	pv_bw_free(w);
	json_decref(doc);
	pv_buf_free(&m.buf);
}

static int
free_docs(void **state)
{
	json_decref(last_docs);
	last_docs = NULL;
	return 0;
}

static void
test_writer_errors(void **state)
{
	memsink m = {PV_BUF_INIT, 0, 0, 0};
	pv_sink sink = {mem_write, &m};
	pv_bundle_writer *w;
	pv_data_writer *d;
	json_t *man = json_object();
	static char blob[600 * 1024]; /* over the archive's blocks of 256 KiB: written at once */

	/* Rows must be exactly one line. */
	w = pv_bw_new(&sink, MTIME, NULL);
	d = pv_bw_data_begin(w, "data/5", "t");
	pv_err_clear();
	assert_int_equal(pv_dw_row(d, "a\tb", 3), -1);
	assert_contains(pv_errmsg(), "data/5.1.copy.zst");
	assert_int_equal(pv_dw_row(d, "a\nb\n", 4), -1);
	assert_int_equal(pv_dw_row(d, "", 0), -1);
	/* finish refuses while a data writer is open */
	assert_int_equal(pv_bw_finish(w, man), -1);
	pv_dw_abort(d);
	assert_int_equal(pv_bw_finish(w, man), 0);
	/* nothing more after the end */
	assert_int_equal(pv_bw_add(w, "late.json", "schema", NULL, "{}", 2), -1);
	assert_contains(pv_errmsg(), "late.json");
	pv_bw_free(w);
	pv_buf_free(&m.buf);

	/* The sink fails: the error names the member and keeps the sink's message; nothing
	 * reaches the sink after that, not even when the writer is freed. */
	m = (memsink){PV_BUF_INIT, 30000, 0, 0};
	w = pv_bw_new(&sink, MTIME, NULL);
	memset(blob, 'x', sizeof blob);
	pv_err_clear();
	assert_int_equal(pv_bw_add(w, "pre-data.json", "schema", NULL, blob, sizeof blob), -1);
	assert_contains(pv_errmsg(), "member pre-data.json: disk on fire");
	assert_true(m.failed);
	assert_int_equal(pv_bw_add(w, "post-data.json", "schema", NULL, "x", 1), -1);
	assert_contains(pv_errmsg(), "post-data.json");
	assert_null(pv_bw_data_begin(w, "data/1", "t"));
	assert_int_equal(pv_bw_finish(w, man), -1);
	pv_bw_free(w);
	assert_int_equal(m.calls_after_failure, 0);
	pv_buf_free(&m.buf);

	/* The sink fails while a data member is written. */
	m = (memsink){PV_BUF_INIT, 20000, 0, 0};
	pv_chunk_opts o = {5000, 1 << 20, 1};
	w = pv_bw_new(&sink, MTIME, &o);
	d = pv_bw_data_begin(w, "data/6", "t");
	int rc = 0, r;
	uint32_t x = 1;
	for (r = 0; r < 40000 && rc == 0; r++) {
		char row[40];
		x = x * 1103515245u + 12345u;
		int n = snprintf(row, sizeof row, "%u\t%08x%08x\n", (unsigned)r, x, x * 7u);
		rc = pv_dw_row(d, row, (size_t)n);
	}
	assert_int_equal(rc, -1);
	assert_contains(pv_errmsg(), "disk on fire");
	assert_contains(pv_errmsg(), "data/6.");
	int64_t rows = 0;
	assert_int_equal(pv_dw_end(d, &rows), -1);
	pv_bw_free(w);
	assert_int_equal(m.calls_after_failure, 0);
	pv_buf_free(&m.buf);

	/* An abandoned bundle writes nothing more on free. */
	m = (memsink){PV_BUF_INIT, 0, 0, 0};
	w = pv_bw_new(&sink, MTIME, NULL);
	assert_int_equal(pv_bw_add(w, "a.json", "schema", NULL, "[]", 2), 0);
	d = pv_bw_data_begin(w, "data/1", "t");
	assert_int_equal(pv_dw_row(d, "1\n", 2), 0);
	pv_dw_abort(d);
	pv_bw_free(w);
	assert_int_equal(m.buf.len, 0); /* still inside the archive's first block */
	pv_buf_free(&m.buf);

	json_decref(man);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunk_opts),
		cmocka_unit_test(test_verify_ok),
		cmocka_unit_test(test_tar_entries),
		cmocka_unit_test(test_listing_and_sha),
		cmocka_unit_test(test_decompress_rows),
		cmocka_unit_test(test_flip_byte),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_source_error),
		cmocka_unit_test(test_not_a_bundle),
		cmocka_unit_test(test_header_checks),
	    cmocka_unit_test(test_format_checks),
		cmocka_unit_test(test_bad_columns),
		cmocka_unit_test(test_manifest_mismatch),
		cmocka_unit_test(test_bad_zstd),
		cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_strict_layout),
		cmocka_unit_test(test_comp_limit),
		cmocka_unit_test(test_shared_writers),
		cmocka_unit_test(test_tab_positions),
		cmocka_unit_test(test_writer_errors),
		cmocka_unit_test(test_documents_mapped),
		cmocka_unit_test(test_rowcheck_property),
	};
	return cmocka_run_group_tests(tests, NULL, free_docs);
}
