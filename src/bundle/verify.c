/*
 * bundle/verify.c — full verification of a bundle stream in one pass: tar structure,
 * header first and manifest last, only the members the format has in the order restore
 * reads them, the schema members' shape, every member's size and SHA-256, every data member
 * decompressed and its COPY text checked against data.json, every large object member
 * decompressed and counted against the object's size in data.json, then the whole list
 * compared with manifest.json; or all of that but decompressing (pv_bundle_check_stored, for
 * a reader that checks what members decompress to itself).
 */
#include "bundle/bundle.h"
#include "bundle/bundle_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/progress.h"

#define DATA_PREFIX "data/"
#define DATA_SUFFIX ".copy.zst"
#define BLOB_PREFIX "blobs/"
#define BLOB_SUFFIX ".bin.zst"
/* Data members up to this stored size are checked on the pool, when there is one (the
 * writer cuts them at 8 MiB compressed); bigger ones on the reading thread. */
#define POOL_MEMBER_MAX ((int64_t)64 << 20)

static int canonical(json_t *doc, const pv_buf *raw);

/* The data.json entry prefix of a member name ("data/3.12.copy.zst" -> "data/3",
 * "blobs/1234.2.bin.zst" -> "blobs/1234", with *chunk 12 or 2), or NULL if the name is not
 * of that form. */
static char *
member_prefix(const char *name, const char *suffix, long *chunk)
{
	size_t n = strlen(name), sl = strlen(suffix), end;

	if (n <= sl || strcmp(name + n - sl, suffix) != 0)
		return NULL;
	end = n - sl;
	while (end > 0 && name[end - 1] >= '0' && name[end - 1] <= '9')
		end--;
	if (end == n - sl || n - sl - end > 9 || end < 2 || name[end - 1] != '.' ||
	    name[end] == '0')
		return NULL;
	if (chunk)
		*chunk = strtol(name + end, NULL, 10);
	return pv_strndup(name, end - 1);
}

static int
is_member_of(const char *name, const char *prefix, const char *suffix)
{
	size_t n = strlen(name), sl = strlen(suffix);

	return strncmp(name, prefix, strlen(prefix)) == 0 && n > sl &&
	       strcmp(name + n - sl, suffix) == 0;
}

char *
pv_member_prefix(const char *name, long *chunk)
{
	if (is_member_of(name, DATA_PREFIX, DATA_SUFFIX))
		return member_prefix(name, DATA_SUFFIX, chunk);
	if (is_member_of(name, BLOB_PREFIX, BLOB_SUFFIX))
		return member_prefix(name, BLOB_SUFFIX, chunk);
	return NULL;
}

/* ---- the fields restore reads, with the types it reads them as ---------------------- */

enum { F_STR = 1, F_INT, F_ARR, F_STRS, F_ACL, F_OBJS_SETTINGS, F_FUNCS };
typedef struct field {
	const char *name;
	int type;     /* F_*: F_STRS an array of strings, F_ACL of privilege objects, ... */
	int required; /* else it may be absent or null */
} field;

static int fields_ok(json_t *o, const field *f, const char **bad);

/* An array of objects whose listed fields are strings (or null). */
static int
objects_ok(json_t *a, const field *f)
{
	size_t i;
	json_t *e;
	const char *bad;
	if (!json_is_array(a))
		return 0;
	json_array_foreach(a, i, e)
		if (!json_is_object(e) || !fields_ok(e, f, &bad))
			return 0;
	return 1;
}

static const field acl_fields[] = {{"grantor", F_STR, 0}, {"grantee", F_STR, 0},
                                   {"privs", F_STR, 0}, {"columns", F_STR, 0},
                                   {"role", F_STR, 0}, {NULL, 0, 0}};
static const field role_setting_fields[] = {{"role", F_STR, 1}, {"settings", F_STRS, 0},
                                            {NULL, 0, 0}};
static const field func_fields[] = {{"schema", F_STR, 1}, {"name", F_STR, 1},
                                    {"args", F_STR, 0}, {NULL, 0, 0}};

static const char *const type_names[] = {"", "a string", "an integer", "a list",
                                         "a list of strings", "a list of privileges",
                                         "a list of role settings", "a list of functions"};

/* Every field of f in o has its type (a required one is there); else 0 and *bad says which
 * ("\"sql\" is not a string", "\"database\" is missing": static or in a static buffer). */
static int
fields_ok(json_t *o, const field *f, const char **bad)
{
	static _Thread_local char why[128];
	for (; f->name; f++) {
		json_t *v = json_object_get(o, f->name);
		int ok;
		*bad = why;
		if (!v || json_is_null(v)) {
			snprintf(why, sizeof why, "\"%s\" is missing", f->name);
			if (f->required)
				return 0;
			continue;
		}
		switch (f->type) {
		case F_STR: ok = json_is_string(v); break;
		case F_INT: ok = json_is_integer(v); break;
		case F_ARR: ok = json_is_array(v); break;
		case F_STRS: {
			size_t i;
			json_t *e;
			ok = json_is_array(v);
			json_array_foreach(v, i, e)
				ok = ok && json_is_string(e);
			break;
		}
		case F_ACL: ok = objects_ok(v, acl_fields); break;
		case F_OBJS_SETTINGS: ok = objects_ok(v, role_setting_fields); break;
		case F_FUNCS: ok = objects_ok(v, func_fields); break;
		default: ok = 0;
		}
		if (!ok) { /* (an inner check may have written why) */
			snprintf(why, sizeof why, "\"%s\" is not %s", f->name, type_names[f->type]);
			return 0;
		}
	}
	return 1;
}

/* The header: what restore reads to create the database and its session. */
static const field header_fields[] = {
    {"database", F_STR, 1}, {"encoding", F_STR, 1}, {"collate", F_STR, 0}, {"ctype", F_STR, 0},
    {"locale_provider", F_STR, 0}, {"icu_locale", F_STR, 0}, {"builtin_locale", F_STR, 0},
    {"owner", F_STR, 0}, {"comment", F_STR, 0}, {"restore_search_path", F_STR, 0},
    {"text_encoding", F_STR, 0}, {"server_version", F_STR, 0}, {"server_version_num", F_INT, 0},
    {"settings", F_STRS, 0}, {"role_settings", F_OBJS_SETTINGS, 0}, {"acl", F_ACL, 0},
    {"restore_search_path_schemas", F_STRS, 0}, {"search_path_functions", F_FUNCS, 0},
    {"subscriptions", F_ARR, 0}, {NULL, 0, 0}};
/* data.json: a table's rows, a statement of the data section, a large object. */
static const field table_fields[] = {
    {"member_prefix", F_STR, 1}, {"table", F_STR, 1}, {"column_list", F_STR, 0},
    {"columns", F_STRS, 1}, {"load_via", F_STR, 0}, {"schema", F_STR, 0}, {"name", F_STR, 0},
    {"kind", F_STR, 0}, {"owner", F_STR, 0}, {"acl", F_ACL, 0}, {NULL, 0, 0}};
static const field statement_fields[] = {{"sql", F_STR, 1}, {"owned_by", F_STR, 0},
                                         {"kind", F_STR, 0}, {"name", F_STR, 0},
                                         {"schema", F_STR, 0}, {NULL, 0, 0}};
static const field lob_fields[] = {{"owner", F_STR, 0}, {"comments", F_STR, 0},
                                   {"acl", F_ACL, 0}, {NULL, 0, 0}};
/* pre-data.json, post-data.json */
static const field schema_fields[] = {
    {"kind", F_STR, 1}, {"name", F_STR, 1}, {"schema", F_STR, 0}, {"sql", F_STR, 0},
    {"comments", F_STR, 0}, {"owner", F_STR, 0}, {"owner_target", F_STR, 0},
    {"acl_target", F_STR, 0}, {"acl", F_ACL, 0}, {"deps", F_ARR, 0}, {"locks", F_ARR, 0},
    {NULL, 0, 0}};

/* A large object entry of data.json: {"kind": "large object", "oid", "size",
 * "blob_prefix": "blobs/OID"}; its state goes into blobs[prefix] = {size, next, raw}. */
static int
blob_entry(const char *label, json_t *entry, size_t i, json_t *blobs)
{
	json_t *oid = json_object_get(entry, "oid"), *size = json_object_get(entry, "size");
	const char *prefix = json_string_value(json_object_get(entry, "blob_prefix"));
	char want[64];

	if (!json_is_integer(oid) || !json_is_integer(size) || json_integer_value(size) < 0 ||
	    !prefix)
		return pv_fail("bundle %s: member data.json: large object entry %zu has no oid, "
		               "size or blob_prefix", label, i + 1);
	snprintf(want, sizeof want, BLOB_PREFIX "%lld", (long long)json_integer_value(oid));
	if (strcmp(prefix, want) != 0)
		return pv_fail("bundle %s: member data.json: large object entry %zu: blob_prefix "
		               "%s, expected %s", label, i + 1, prefix, want);
	if (json_object_get(blobs, prefix))
		return pv_fail("bundle %s: member data.json: large object %lld appears twice",
		               label, (long long)json_integer_value(oid));
	if (pvj_set(blobs, prefix, json_pack("{s:I, s:I, s:I}", "size", json_integer_value(size),
	                                     "next", (json_int_t)1, "raw", (json_int_t)0)) < 0)
		return pv_wrap("bundle %s: member data.json: large object entry %zu", label, i + 1);
	return 0;
}

/* data.json -> object {member_prefix: number of columns}; large objects into blobs; into
 * facts: "tables" and "large_objects" (how many), "objects" {member prefix: the name its
 * members carry in the manifest}. */
static json_t *
column_counts(const char *label, json_t *toc, json_t *blobs, json_t *facts)
{
	json_t *names = json_object_get(facts, "names");
	json_int_t tables = 0, lobs = 0;
	json_t *counts, *entry;
	size_t i;

	if (!json_is_array(toc)) {
		pv_fail("bundle %s: member data.json: not a JSON array", label);
		return NULL;
	}
	counts = json_object();
	json_array_foreach(toc, i, entry) {
		json_t *prefix = json_object_get(entry, "member_prefix");
		json_t *cols = json_object_get(entry, "columns");
		const char *bad = "not an object";
		int lob = json_is_string(json_object_get(entry, "kind")) &&
		          strcmp(json_string_value(json_object_get(entry, "kind")), "large object") == 0;
		if (!json_is_object(entry) ||
		    !fields_ok(entry, prefix ? table_fields : lob ? lob_fields : statement_fields, &bad)) {
			pv_fail("bundle %s: member data.json: entry %zu: %s", label, i + 1, bad);
			json_decref(counts);
			return NULL;
		}
		if (!prefix && json_is_string(json_object_get(entry, "sql")))
			continue; /* a statement of the data section (sequence value), no rows */
		if (!prefix && json_is_string(json_object_get(entry, "kind")) &&
		    strcmp(json_string_value(json_object_get(entry, "kind")), "large object") == 0) {
			if (blob_entry(label, entry, i, blobs) < 0) {
				json_decref(counts);
				return NULL;
			}
			const char *bp = json_string_value(json_object_get(entry, "blob_prefix"));
			char *object = pv_asprintf("large object %s", bp + strlen(BLOB_PREFIX));
			int set = pvj_set_str(names, bp, object);
			free(object);
			if (set < 0) {
				json_decref(counts);
				return NULL;
			}
			lobs++;
			continue;
		}
		if (!json_is_string(prefix) || !json_is_array(cols)) {
			pv_fail("bundle %s: member data.json: entry %zu has no member_prefix or "
			        "columns", label, i + 1);
			json_decref(counts);
			return NULL;
		}
		if (json_object_get(counts, json_string_value(prefix))) {
			pv_fail("bundle %s: member data.json: member_prefix %s appears twice", label,
			        json_string_value(prefix));
			json_decref(counts);
			return NULL;
		}
		if (pvj_set_int(counts, json_string_value(prefix), (json_int_t)json_array_size(cols)) < 0 ||
		    pvj_set_copy(names, json_string_value(prefix), json_object_get(entry, "table")) < 0) {
			pv_wrap("bundle %s: member data.json: entry %zu", label, i + 1);
			json_decref(counts);
			return NULL;
		}
		tables++;
	}
	if (pvj_set_int(facts, "tables", tables) < 0 || pvj_set_int(facts, "large_objects", lobs) < 0) {
		json_decref(counts);
		return NULL;
	}
	return counts;
}

static int
check_header(const char *label, json_t *hdr)
{
	json_t *format = json_object_get(hdr, "format");

	if (!json_is_object(hdr))
		return pv_fail("%s is not a pgvault bundle (%s is not a JSON object)", label,
		               PV_MEMBER_HEADER);
	if (!json_is_integer(format))
		return pv_fail("%s is not a pgvault bundle (%s has no format)", label,
		               PV_MEMBER_HEADER);
	if (json_integer_value(format) < PV_BUNDLE_FORMAT_MIN || json_integer_value(format) > PV_BUNDLE_FORMAT)
		return pv_fail("bundle %s: unsupported format %lld (this pgvault reads formats %d to %d)",
		               label, (long long)json_integer_value(format), PV_BUNDLE_FORMAT_MIN,
		               PV_BUNDLE_FORMAT);
	const char *bad;
	if (!fields_ok(hdr, header_fields, &bad))
		return pv_fail("bundle %s: member %s: %s", label, PV_MEMBER_HEADER, bad);
	return 0;
}

/* The columns data.json gives the table of data member `name`. */
static int
data_columns(const char *label, const char *name, json_t *counts, int64_t *ncols)
{
	char *prefix = member_prefix(name, DATA_SUFFIX, NULL);
	json_t *n;

	if (!prefix)
		return pv_fail("bundle %s: member %s: malformed data member name", label, name);
	n = counts ? json_object_get(counts, prefix) : NULL;
	free(prefix);
	if (!n)
		return pv_fail("bundle %s: member %s: no entry for it in data.json", label, name);
	*ncols = json_integer_value(n);
	return 0;
}

/* Decompress and check one data member; rows and raw size go into `seen`. */
static int
check_data(pv_bundle_reader *r, const char *label, const char *name, json_t *counts,
           json_t *seen)
{
	pv_rowcheck c;
	int64_t raw = 0;

	memset(&c, 0, sizeof c);
	if (data_columns(label, name, counts, &c.ncols) < 0)
		return -1;
	if (pv_br_decompress(r, pv_rowcheck_feed, &c, &raw) < 0)
		return -1;
	if (pv_rowcheck_end(&c, raw) < 0)
		return pv_wrap("bundle %s: member %s", label, name);
	if (pvj_set_int(seen, "rows", c.rows) < 0 || pvj_set_int(seen, "raw_size", raw) < 0)
		return pv_wrap("bundle %s: member %s", label, name);
	return 0;
}

/* The same on a worker of the pool: the member's stored bytes (`size` of them) read here. */
static int
queue_data(pv_vpool *vp, pv_bundle_reader *r, const char *label, const char *name,
           int64_t size, json_t *counts, json_t *seen)
{
	pv_buf stored;
	int64_t ncols;
	int rc;

	if (data_columns(label, name, counts, &ncols) < 0)
		return -1;
	pv_vpool_buffer(vp, &stored);
	pv_buf_reserve(&stored, (size_t)size + 1);
	rc = pv_br_read_all(r, &stored, POOL_MEMBER_MAX);
	if (rc == 0)
		rc = pv_vpool_submit(vp, name, ncols, seen, &stored);
	pv_buf_free(&stored);
	return rc;
}

/* Decompress one large object member: numbered next in its object, raw size into `seen`
 * (stored_only: the numbering only). */
static int
check_blob(pv_bundle_reader *r, const char *label, const char *name, json_t *blobs,
           json_t *seen, int stored_only)
{
	long chunk = 0;
	char *prefix = member_prefix(name, BLOB_SUFFIX, &chunk);
	json_t *b;
	int64_t raw = 0, next;

	if (!prefix)
		return pv_fail("bundle %s: member %s: malformed large object member name", label,
		               name);
	b = blobs ? json_object_get(blobs, prefix) : NULL;
	free(prefix);
	if (!b)
		return pv_fail("bundle %s: member %s: no large object for it in data.json", label,
		               name);
	next = json_integer_value(json_object_get(b, "next"));
	if (chunk != next)
		return pv_fail("bundle %s: member %s: expected chunk %lld of its large object",
		               label, name, (long long)next);
	if (stored_only)
		return pvj_set_int(b, "next", next + 1) < 0 ? pv_wrap("bundle %s: member %s", label, name) : 0;
	if (pv_br_decompress(r, NULL, NULL, &raw) < 0)
		return -1;
	if (raw == 0)
		return pv_fail("bundle %s: member %s: no bytes", label, name);
	if (pvj_set_int(b, "next", next + 1) < 0 ||
	    pvj_set_int(b, "raw", json_integer_value(json_object_get(b, "raw")) + raw) < 0 ||
	    pvj_set_int(seen, "raw_size", raw) < 0)
		return pv_wrap("bundle %s: member %s", label, name);
	return 0;
}

/* Every large object's members add up to its size. */
static int
check_blob_sizes(const char *label, json_t *blobs)
{
	const char *prefix;
	json_t *b;

	json_object_foreach(blobs, prefix, b) {
		json_int_t size = json_integer_value(json_object_get(b, "size"));
		json_int_t raw = json_integer_value(json_object_get(b, "raw"));
		if (raw != size)
			return pv_fail("bundle %s: large object %s: members %s.*%s hold %lld bytes, "
			               "data.json says %lld", label, prefix + strlen(BLOB_PREFIX),
			               prefix, BLOB_SUFFIX, (long long)raw, (long long)size);
	}
	return 0;
}

static int
listed_at(json_t *list, const char *name)
{
	size_t i;
	json_t *m;

	json_array_foreach(list, i, m)
		if (json_is_string(json_object_get(m, "name")) &&
		    strcmp(json_string_value(json_object_get(m, "name")), name) == 0)
			return (int)i;
	return -1;
}

static int
counted(json_t *n)
{
	return json_is_integer(n) && json_integer_value(n) >= 0;
}

static int
same_int(json_t *a, json_t *b)
{
	return json_is_integer(a) && json_is_integer(b) &&
	       json_integer_value(a) == json_integer_value(b);
}

static int
mismatch(const char *label, const char *name, const char *what, json_t *got, json_t *want)
{
	if (!json_is_integer(want))
		return pv_fail("bundle %s: member %s: the manifest has no %s", label, name, what);
	return pv_fail("bundle %s: member %s: %s %lld, the manifest says %lld", label, name, what,
	               (long long)json_integer_value(got), (long long)json_integer_value(want));
}

/* The kind the writer gives a member of this name. */
static const char *
member_kind(const char *name)
{
	if (strcmp(name, PV_MEMBER_HEADER) == 0)
		return "header";
	if (strcmp(name, "roles.json") == 0)
		return "roles";
	if (strcmp(name, "data.json") == 0)
		return "data-toc";
	if (is_member_of(name, DATA_PREFIX, DATA_SUFFIX))
		return "data";
	if (is_member_of(name, BLOB_PREFIX, BLOB_SUFFIX))
		return "blob";
	return "schema";
}

/* A manifest entry has the fields the writer gives it and no others: kind, object (the
 * table or large object of a data member, else null), rows for data members, raw_size for
 * data and large object members (counts compare() compared with what was read, or, when
 * the members were not decompressed, that are at least whole numbers). */
static int
check_entry(const char *label, const char *name, json_t *l, json_t *names)
{
	const char *kind = json_string_value(json_object_get(l, "kind"));
	json_t *object = json_object_get(l, "object"), *want = json_null();
	int data = kind && strcmp(kind, "data") == 0, blob = kind && strcmp(kind, "blob") == 0;
	size_t fields = 5 + (size_t)data + (size_t)(data || blob);
	char *prefix = NULL;
	int rc = 0;

	if (!kind || strcmp(kind, member_kind(name)) != 0)
		return pv_fail("bundle %s: member %s: kind %s in the manifest, expected %s", label,
		               name, kind ? kind : "(none)", member_kind(name));
	if (strcmp(kind, "data") == 0 || strcmp(kind, "blob") == 0) {
		prefix = member_prefix(name, strcmp(kind, "data") == 0 ? DATA_SUFFIX : BLOB_SUFFIX, NULL);
		want = prefix ? json_object_get(names, prefix) : NULL;
	}
	if (!object || !want || !json_equal(object, want))
		rc = pv_fail("bundle %s: member %s: the manifest names it for another object", label, name);
	else if ((data && !counted(json_object_get(l, "rows"))) ||
	         ((data || blob) && !counted(json_object_get(l, "raw_size"))))
		rc = pv_fail("bundle %s: member %s: the manifest's entry has no count of its rows or "
		             "bytes", label, name);
	else if (json_object_size(l) != fields)
		rc = pv_fail("bundle %s: member %s: the manifest's entry has fields pgvault does not "
		             "write", label, name);
	free(prefix);
	return rc;
}

/* The manifest is the header's fields, the members and the counts, as the writer wrote
 * them: each field of it a header field with the same value, or a count equal to what the
 * members read hold, or the members; and its bytes the serialisation the writer makes of it
 * (sorted keys, indent 1, a final newline) — so that not even a byte of white space in it
 * can change unnoticed. */
static int
check_manifest(const char *label, json_t *manifest, const pv_buf *raw, json_t *facts,
               json_t *counted_rows, int signed_)
{
	json_t *hdr = json_object_get(facts, "header");
	const char *k;
	json_t *v;
	json_int_t rows = 0;
	size_t i;

	json_array_foreach(counted_rows, i, v)
		rows += json_integer_value(json_object_get(v, "rows"));
	if (pvj_set_int(facts, "rows", rows) < 0)
		return -1;
	json_object_foreach(manifest, k, v) {
		if (strcmp(k, "members") == 0)
			continue;
		if (json_object_get(hdr, k)) {
			if (!json_equal(v, json_object_get(hdr, k)))
				return pv_fail("bundle %s: member %s: \"%s\" differs from %s's", label,
				               PV_MEMBER_MANIFEST, k, PV_MEMBER_HEADER);
			continue;
		}
		if (strcmp(k, "tables") != 0 && strcmp(k, "rows") != 0 && strcmp(k, "objects") != 0 &&
		    strcmp(k, "large_objects") != 0)
			return pv_fail("bundle %s: member %s: unexpected field \"%s\"", label,
			               PV_MEMBER_MANIFEST, k);
		if (!same_int(v, json_object_get(facts, k)))
			return pv_fail("bundle %s: member %s: \"%s\" is %s, the members hold %lld", label,
			               PV_MEMBER_MANIFEST, k, json_is_integer(v) ? "another number" : "not a number",
			               (long long)json_integer_value(json_object_get(facts, k)));
	}
	if ((json_integer_value(json_object_get(hdr, "format")) >= 3) != signed_)
		return pv_fail("bundle %s: format %lld %s %s", label,
		               (long long)json_integer_value(json_object_get(hdr, "format")),
		               signed_ ? "has no" : "must end with", PV_MEMBER_SIGNATURE);
	if (!canonical(manifest, raw))
		return pv_fail("bundle %s: member %s: not laid out as pgvault writes it (changed after "
		               "it was written)", label, PV_MEMBER_MANIFEST);
	return 0;
}

/* Compare the members read with the manifest's list. */
static int
compare(const char *label, json_t *seen, json_t *manifest, json_t *names)
{
	json_t *listed = json_object_get(manifest, "members");
	size_t i, ns, nl;

	if (!json_is_array(listed))
		return pv_fail("bundle %s: member %s: no members list", label, PV_MEMBER_MANIFEST);
	ns = json_array_size(seen);
	nl = json_array_size(listed);
	for (i = 0; i < ns || i < nl; i++) {
		json_t *s = json_array_get(seen, i), *l = json_array_get(listed, i);
		const char *sname = s ? json_string_value(json_object_get(s, "name")) : NULL;
		const char *lname = l ? json_string_value(json_object_get(l, "name")) : NULL;
		const char *lsha;

		if (l && !lname)
			return pv_fail("bundle %s: member %s: entry %zu of members has no name", label,
			               PV_MEMBER_MANIFEST, i + 1);
		if (!s)
			return pv_fail("bundle %s: member %s listed in the manifest is missing", label,
			               lname);
		/* (a member found where the manifest lists it is listed: no search, which would
		 * make bundles of many members quadratic) */
		if (!l || (strcmp(sname, lname) != 0 && listed_at(listed, sname) < 0))
			return pv_fail("bundle %s: unexpected member %s (not in the manifest)", label,
			               sname);
		if (strcmp(sname, lname) != 0) {
			if (listed_at(seen, lname) < 0)
				return pv_fail("bundle %s: member %s listed in the manifest is missing",
				               label, lname);
			return pv_fail("bundle %s: member %s is out of order (position %zu, manifest "
			               "position %d)", label, sname, i + 1,
			               listed_at(listed, sname) + 1);
		}
		if (!same_int(json_object_get(s, "size"), json_object_get(l, "size")))
			return mismatch(label, sname, "size", json_object_get(s, "size"),
			                json_object_get(l, "size"));
		lsha = json_string_value(json_object_get(l, "sha256"));
		if (!lsha || strcmp(lsha, json_string_value(json_object_get(s, "sha256"))) != 0)
			return pv_fail("bundle %s: member %s: SHA-256 mismatch (manifest %.12s..., "
			               "computed %.12s...)", label, sname, lsha ? lsha : "none",
			               json_string_value(json_object_get(s, "sha256")));
		if (json_object_get(s, "rows") &&
		    !same_int(json_object_get(s, "rows"), json_object_get(l, "rows")))
			return mismatch(label, sname, "rows", json_object_get(s, "rows"),
			                json_object_get(l, "rows"));
		if (json_object_get(s, "raw_size") &&
		    !same_int(json_object_get(s, "raw_size"), json_object_get(l, "raw_size")))
			return mismatch(label, sname, "raw_size", json_object_get(s, "raw_size"),
			                json_object_get(l, "raw_size"));
		if (check_entry(label, sname, l, names) < 0)
			return -1;
	}
	return 0;
}

/* Where a member may stand: 0 the header, 1 roles.json, 2 pre-data.json, 3 data.json,
 * 4 rows and large objects, 5 post-data.json; -1 a name the format does not have (the
 * order restore reads them in, so that verify accepts exactly what restore can use). */
static int
member_rank(const char *name)
{
	static const char *const fixed[] = {PV_MEMBER_HEADER, "roles.json", "pre-data.json", "data.json"};
	for (int i = 0; i < 4; i++)
		if (strcmp(name, fixed[i]) == 0)
			return i;
	if (strcmp(name, "post-data.json") == 0)
		return 5;
	char *p = pv_member_prefix(name, NULL);
	int rank = p ? 4 : -1;
	free(p);
	return rank;
}

/* roles.json: an object of objects; pre-data.json and post-data.json: arrays of entries
 * whose fields restore reads have the types it reads them as. */
static int
check_schema_member(const char *label, const char *name, json_t *doc)
{
	if (strcmp(name, "roles.json") == 0) {
		const char *k;
		json_t *v;
		if (!json_is_object(doc))
			return pv_fail("bundle %s: member %s: not a JSON object", label, name);
		json_object_foreach(doc, k, v)
			if (!json_is_object(v))
				return pv_fail("bundle %s: member %s: role %s: not a JSON object", label, name, k);
		return 0;
	}
	size_t i;
	json_t *e;
	if (!json_is_array(doc))
		return pv_fail("bundle %s: member %s: not a JSON array", label, name);
	json_array_foreach(doc, i, e) {
		if (!json_is_object(e) || !json_is_string(json_object_get(e, "kind")) ||
		    !json_is_string(json_object_get(e, "name")))
			return pv_fail("bundle %s: member %s: entry %zu is not an object with a kind and a name",
			               label, name, i + 1);
		const char *bad;
		if (!fields_ok(e, schema_fields, &bad))
			return pv_fail("bundle %s: member %s: entry %zu: %s", label, name, i + 1, bad);
	}
	return 0;
}

/* The text of doc is exactly the writer's serialisation of it. */
static int
canonical(json_t *doc, const pv_buf *raw)
{
	char *text = json_dumps(doc, PV_BUNDLE_JSON_FLAGS);
	int same = text && raw->len == strlen(text) + 1 && memcmp(raw->data, text, raw->len - 1) == 0 &&
	           raw->data[raw->len - 1] == '\n';
	free(text);
	return same;
}

static int
is_hex(const char *s, size_t len)
{
	if (!s || strlen(s) != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* manifest.sig as the writer makes it: {"algorithm": "HMAC-SHA256", "hmac": 64 hex digits,
 * "key_id": 16}; whether the HMAC is right only a holder of the key can tell. */
static int
check_signature_member(const char *label, json_t *sig, const pv_buf *raw)
{
	const char *alg = json_string_value(json_object_get(sig, "algorithm"));
	if (!json_is_object(sig) || json_object_size(sig) != 3 || !alg ||
	    strcmp(alg, "HMAC-SHA256") != 0 ||
	    !is_hex(json_string_value(json_object_get(sig, "hmac")), 64) ||
	    !is_hex(json_string_value(json_object_get(sig, "key_id")), 16) || !canonical(sig, raw))
		return pv_fail("bundle %s: member %s: not an HMAC-SHA256 signature as pgvault writes it",
		               label, PV_MEMBER_SIGNATURE);
	return 0;
}

static int
valid_utf8(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

/* A JSON member's document: the writer's as is if docs has it (its bytes are then checked
 * by their SHA-256 alone), else parsed. */
static json_t *
json_member(pv_bundle_reader *r, json_t *docs, const char *name)
{
	json_t *doc = docs ? json_object_get(docs, name) : NULL;

	return doc ? json_incref(doc) : pv_br_read_json(r, PV_JSON_MEMBER_MAX);
}

/* Read every member; on success *manifestp gets manifest.json, manifest_raw its bytes and
 * *sigp manifest.sig (NULL when there is none). */
static int
read_all(pv_bundle_reader *r, pv_vpool *vp, int stored_only, const char *label, json_t *seen,
         json_t *blobs, json_t *facts, json_t *docs, json_t **manifestp, pv_buf *manifest_raw,
         json_t **sigp)
{
	json_t *names = json_object(); /* set of member names seen */
	json_t *counts = NULL;         /* from data.json */
	json_t *manifest = NULL;
	const char *name;
	int64_t size, index = 0;
	int rc, ret = -1, last_rank = 0;

	while ((rc = pv_br_next(r, &name, &size)) > 0) {
		json_t *m = NULL, *doc = NULL;
		char sha[65];

		index++;
		pv_progress_add(size, 0); /* as it is read: a status line tells where verify is */
		if (manifest && strcmp(name, PV_MEMBER_SIGNATURE) == 0 && !*sigp) {
			/* the signature of the manifest: checked once the whole bundle is read */
			pv_buf sraw = PV_BUF_INIT;
			*sigp = pv_br_read_json_raw(r, 4096, &sraw);
			rc = *sigp ? check_signature_member(label, *sigp, &sraw) : -1;
			pv_buf_free(&sraw);
			if (rc < 0 || pv_br_member_sha(r, sha) < 0)
				goto out;
			continue;
		}
		if (manifest) {
			pv_fail("bundle %s: unexpected member %s after %s", label, name,
			        *sigp ? PV_MEMBER_SIGNATURE : PV_MEMBER_MANIFEST);
			goto out;
		}
		if (index == 1 && strcmp(name, PV_MEMBER_HEADER) != 0) {
			pv_fail("%s is not a pgvault bundle (the first member is %s, not %s)", label,
			        name, PV_MEMBER_HEADER);
			goto out;
		}
		if (!valid_utf8(name)) {
			pv_fail("bundle %s: member %s: the name is not valid UTF-8", label, name);
			goto out;
		}
		if (json_object_get(names, name)) {
			pv_fail("bundle %s: member %s appears twice", label, name);
			goto out;
		}
		if (strcmp(name, PV_MEMBER_MANIFEST) != 0) {
			int rank = member_rank(name);
			if (rank < 0) {
				pv_fail("bundle %s: unexpected member %s", label, name);
				goto out;
			}
			if (rank < last_rank || (rank == 0) != (index == 1)) {
				pv_fail("bundle %s: member %s out of order", label, name);
				goto out;
			}
			last_rank = rank;
		}
		if (pvj_set_bool(names, name, 1) < 0)
			goto out;

		if (strcmp(name, PV_MEMBER_MANIFEST) == 0) {
			manifest = pv_br_read_json_raw(r, PV_JSON_MEMBER_MAX, manifest_raw);
			if (!manifest)
				goto out;
			if (!json_is_object(manifest)) {
				pv_fail("bundle %s: member %s: not a JSON object", label, name);
				goto out;
			}
			if (pv_br_member_sha(r, sha) < 0)
				goto out;
			continue; /* the manifest does not list itself */
		}

		m = json_object();
		if (pvj_append(seen, m) < 0 || pvj_set_str(m, "name", name) < 0 ||
		    pvj_set_int(m, "size", size) < 0)
			goto out;
		if (index == 1 || strcmp(name, "data.json") == 0) {
			doc = json_member(r, docs, name);
			if (!doc) {
				if (index == 1) {
					char *why = pv_strdup(pv_errmsg());
					pv_fail("%s is not a pgvault bundle (%s)", label, why);
					free(why);
				}
				goto out;
			}
			if (index == 1)
				rc = check_header(label, doc) < 0 ? -1 : pvj_set_copy(facts, "header", doc);
			else if ((counts = column_counts(label, doc, blobs, facts)) == NULL)
				rc = -1;
			json_decref(doc);
			if (rc < 0)
				goto out;
		} else if (strcmp(name, "roles.json") == 0 || strcmp(name, "pre-data.json") == 0 ||
		           strcmp(name, "post-data.json") == 0) {
			doc = json_member(r, docs, name);
			rc = doc ? check_schema_member(label, name, doc) : -1;
			if (rc == 0 && json_is_array(doc))
				rc = pvj_set_int(facts, "objects",
				                 json_integer_value(json_object_get(facts, "objects")) +
				                     (json_int_t)json_array_size(doc));
			json_decref(doc);
			if (rc < 0)
				goto out;
		} else if (is_member_of(name, DATA_PREFIX, DATA_SUFFIX) && stored_only) {
			int64_t ncols;
			if (data_columns(label, name, counts, &ncols) < 0)
				goto out;
		} else if (is_member_of(name, DATA_PREFIX, DATA_SUFFIX)) {
			/* to an idle worker, else checked here */
			int idle = vp && size >= 0 && size <= POOL_MEMBER_MAX ? pv_vpool_room(vp) : 0;
			if (idle < 0 || (idle ? queue_data(vp, r, label, name, size, counts, m)
			                      : check_data(r, label, name, counts, m)) < 0)
				goto out;
		} else if (is_member_of(name, BLOB_PREFIX, BLOB_SUFFIX)) {
			if (check_blob(r, label, name, blobs, m, stored_only) < 0)
				goto out;
		}
		if (pv_br_member_sha(r, sha) < 0)
			goto out;
		if (pvj_set_str(m, "sha256", sha) < 0)
			goto out;
	}
	if (rc < 0 || (vp && pv_vpool_drain(vp) < 0))
		goto out;
	if (!manifest) {
		pv_fail("bundle %s: member %s is missing (it must be the last member)", label,
		        PV_MEMBER_MANIFEST);
		goto out;
	}

	*manifestp = manifest;
	manifest = NULL;
	ret = 0;
out:
	if (ret < 0 && vp)
		(void)pv_vpool_drain(vp); /* a member checked before this failure failed first */
	json_decref(manifest);
	json_decref(counts);
	json_decref(names);
	return ret;
}

static pv_buf trust_key; /* pv_bundle_require_signature */

void
pv_bundle_require_signature(const void *key, size_t len)
{
	pv_buf_reset(&trust_key);
	pv_buf_add(&trust_key, key, len);
}

/* With a key required: the bundle is signed, with that key, over exactly its manifest. */
static int
check_signature(const char *label, const pv_buf *manifest, json_t *sig)
{
	if (!trust_key.len)
		return 0;
	if (!sig)
		return pv_fail("bundle %s is not signed, and a signing key is configured: only bundles "
		               "signed with it are accepted", label);
	const char *alg = json_string_value(json_object_get(sig, "algorithm"));
	const char *mac = json_string_value(json_object_get(sig, "hmac"));
	const char *id = json_string_value(json_object_get(sig, "key_id"));
	if (!alg || strcmp(alg, "HMAC-SHA256") != 0 || !mac)
		return pv_fail("bundle %s: member %s: not an HMAC-SHA256 signature", label, PV_MEMBER_SIGNATURE);
	char want[65], mine[17];
	if (pv_hmac_sha256_hex(trust_key.data, trust_key.len, manifest->data ? manifest->data : "",
	                       manifest->len, want) < 0)
		return -1;
	if (pv_equal_secret(mac, want))
		return 0;
	pv_key_id(trust_key.data, trust_key.len, mine);
	if (id && strcmp(id, mine) != 0)
		return pv_fail("bundle %s is signed with another key (key id %s; the configured key's "
		               "id is %s)", label, id, mine);
	return pv_fail("bundle %s: the signature does not match its manifest (altered after signing)",
	               label);
}

static int
verify_bundle(pv_source *src, const char *label, int jobs, int stored_only, json_t *docs,
              json_t **manifestp)
{
	pv_bundle_reader *r;
	json_t *seen, *manifest = NULL;
	json_t *blobs = json_object(); /* large objects of data.json: prefix -> state */
	int rc;

	if (!label)
		label = "(bundle)";
	r = pv_br_new(src, label);
	seen = json_array();
	pv_buf raw = PV_BUF_INIT;
	json_t *sig = NULL;
	json_t *facts = json_pack("{s:{}, s:I}", "names", "objects", (json_int_t)0);
	pv_vpool *vp = pv_vpool_new(jobs - 1, label); /* and this thread */
	rc = read_all(r, vp, stored_only, label, seen, blobs, facts, docs, &manifest, &raw, &sig);
	pv_vpool_free(vp);
	if (rc == 0)
		rc = compare(label, seen, manifest, json_object_get(facts, "names"));
	if (rc == 0)
		rc = check_manifest(label, manifest, &raw, facts,
		                    stored_only ? json_object_get(manifest, "members") : seen, sig != NULL);
	if (rc == 0 && !stored_only)
		rc = check_blob_sizes(label, blobs);
	if (rc == 0)
		rc = check_signature(label, &raw, sig);
	pv_buf_free(&raw);
	json_decref(facts);
	json_decref(sig);
	pv_br_free(r);
	json_decref(seen);
	json_decref(blobs);
	if (rc == 0 && manifestp)
		*manifestp = manifest;
	else
		json_decref(manifest);
	return rc;
}

int
pv_bundle_verify(pv_source *src, const char *label, int jobs, json_t **manifestp)
{
	return verify_bundle(src, label, jobs, 0, NULL, manifestp);
}

int
pv_bundle_verify_written(pv_source *src, const char *label, int jobs, json_t *docs,
                         json_t **manifestp)
{
	return verify_bundle(src, label, jobs, 0, docs, manifestp);
}

int
pv_bundle_check_stored(pv_source *src, const char *label, json_t **manifestp)
{
	return verify_bundle(src, label, 1, 1, NULL, manifestp);
}
