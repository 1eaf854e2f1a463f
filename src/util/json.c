/*
 * util/json.c — checked JSON building, serialising with the UTF-8 / SQL_ASCII text rule,
 * and reading back (see json.h).
 */
#include "util/json.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"

void
pvj_init(void)
{
	json_set_alloc_funcs(pv_malloc, free);
}

json_t *
pvj_str(const char *s)
{
	if (!s) {
		pv_fail("no value");
		return NULL;
	}
	return json_string_nocheck(s);
}

int
pvj_set(json_t *o, const char *key, json_t *v)
{
	if (!key) {
		json_decref(v);
		return pv_fail("a member without a name");
	}
	if (!v)
		return pv_fail("\"%s\": no value", key);
	if (json_object_set_new_nocheck(o, key, v) < 0)
		return pv_fail("\"%s\": cannot be stored (not in an object)", key);
	return 0;
}

int
pvj_set_copy(json_t *o, const char *key, json_t *v)
{
	return pvj_set(o, key, json_incref(v));
}

int
pvj_set_str(json_t *o, const char *key, const char *s)
{
	return pvj_set(o, key, s ? json_string_nocheck(s) : NULL);
}

int
pvj_set_str_or_null(json_t *o, const char *key, const char *s)
{
	return pvj_set(o, key, s ? json_string_nocheck(s) : json_null());
}

int
pvj_set_int(json_t *o, const char *key, json_int_t v)
{
	return pvj_set(o, key, json_integer(v));
}

int
pvj_set_bool(json_t *o, const char *key, int v)
{
	return pvj_set(o, key, json_boolean(v));
}

int
pvj_append(json_t *a, json_t *v)
{
	if (!v)
		return pv_fail("array element: no value");
	if (json_array_append_new(a, v) < 0)
		return pv_fail("array element: cannot be stored (not in an array)");
	return 0;
}

int
pvj_append_copy(json_t *a, json_t *v)
{
	return pvj_append(a, json_incref(v));
}

int
pvj_append_str(json_t *a, const char *s)
{
	return pvj_append(a, s ? json_string_nocheck(s) : NULL);
}

int
pvj_append_str_unique(json_t *a, const char *s)
{
	size_t i;
	json_t *x;
	json_array_foreach(a, i, x)
		if (json_is_string(x) && strcmp(json_string_value(x), s) == 0)
			return 0;
	return pvj_append_str(a, s);
}

int
pvj_append_int(json_t *a, json_int_t v)
{
	return pvj_append(a, json_integer(v));
}

int
pvj_update(json_t *o, json_t *other)
{
	if (json_object_update(o, other) < 0)
		return pv_fail("cannot merge JSON objects");
	return 0;
}

json_t *
pvj_copy(json_t *doc)
{
	json_t *c = doc ? json_deep_copy(doc) : NULL;
	if (!c)
		pv_fail("cannot copy a JSON document");
	return c;
}

/* ---- the text rule ------------------------------------------------------------------ */

static int
is_utf8(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && (unsigned char)s[i] < 0x80)
		i++;
	if (i == len)
		return 1; /* ASCII: most text, without a copy */
	json_t *j = json_stringn(s, len); /* jansson's own check */
	json_decref(j);
	return j != NULL;
}

/* s for a message: as is when UTF-8, else with every byte >= 0x80 as \xNN */
static void
put_shown(pv_buf *b, const char *s, size_t len)
{
	if (is_utf8(s, len)) {
		pv_buf_add(b, s, len);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80)
			pv_buf_printf(b, "\\x%02X", c);
		else
			pv_buf_putc(b, (char)c);
	}
}

json_t *
pvj_shown(const char *s)
{
	if (!s) {
		pv_fail("no value");
		return NULL;
	}
	pv_buf b = PV_BUF_INIT;
	put_shown(&b, s, strlen(s));
	json_t *j = json_stringn_nocheck(b.data ? b.data : "", b.len);
	pv_buf_free(&b);
	return j;
}

/* "kind schema.name" of an entry-like object, or NULL */
static char *
entry_label(json_t *o)
{
	const char *kind = json_string_value(json_object_get(o, "kind"));
	const char *name = json_string_value(json_object_get(o, "name"));
	const char *schema = json_string_value(json_object_get(o, "schema"));
	if (!kind || !name)
		return NULL;
	pv_buf b = PV_BUF_INIT;
	put_shown(&b, kind, strlen(kind));
	pv_buf_putc(&b, ' ');
	if (schema) {
		put_shown(&b, schema, strlen(schema));
		pv_buf_putc(&b, '.');
	}
	put_shown(&b, name, strlen(name));
	return pv_buf_detach(&b);
}

static int
not_utf8(const char *what, pv_buf *path, const char *label)
{
	return pv_fail("%s: %s%s%s%s is not valid UTF-8", what, path->len ? path->data : "(top)",
	               label ? " (" : "", label ? label : "", label ? ")" : "");
}

/* whether every string and key of j is UTF-8: the fast pass, without the path */
static int
all_utf8(json_t *j)
{
	if (json_is_string(j))
		return is_utf8(json_string_value(j), json_string_length(j));
	size_t i;
	const char *key;
	json_t *v;
	if (json_is_array(j)) {
		json_array_foreach(j, i, v) {
			if (!all_utf8(v))
				return 0;
		}
	}
	if (json_is_object(j)) {
		json_object_foreach(j, key, v) {
			if (!is_utf8(key, strlen(key)) || !all_utf8(v))
				return 0;
		}
	}
	return 1;
}

/* path: ".key[3].key" so far; label: the nearest enclosing entry */
static int
check_utf8(json_t *j, const char *what, pv_buf *path, const char *label)
{
	size_t mark = path->len;
	int rc = 0;

	if (json_is_string(j)) {
		if (!is_utf8(json_string_value(j), json_string_length(j)))
			return not_utf8(what, path, label);
		return 0;
	}
	if (json_is_array(j)) {
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v) {
			pv_buf_printf(path, "[%zu]", i);
			rc = check_utf8(v, what, path, label);
			path->len = mark;
			path->data[mark] = '\0';
			if (rc < 0)
				break;
		}
		return rc;
	}
	if (json_is_object(j)) {
		char *own = entry_label(j);
		const char *key;
		json_t *v;
		json_object_foreach(j, key, v) {
			pv_buf_putc(path, '.');
			put_shown(path, key, strlen(key));
			if (!is_utf8(key, strlen(key)))
				rc = not_utf8(what, path, own ? own : label);
			else
				rc = check_utf8(v, what, path, own ? own : label);
			path->len = mark;
			path->data[mark] = '\0';
			if (rc < 0)
				break;
		}
		free(own);
	}
	return rc;
}

/* bytes as U+0000-U+00FF, UTF-8 encoded */
static char *
latin1_to_utf8(const char *s, size_t len, size_t *outlen)
{
	pv_buf b = PV_BUF_INIT;
	pv_buf_reserve(&b, len + 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			pv_buf_putc(&b, (char)c);
		} else {
			pv_buf_putc(&b, (char)(0xC0 | (c >> 6)));
			pv_buf_putc(&b, (char)(0x80 | (c & 0x3F)));
		}
	}
	*outlen = b.len;
	return pv_buf_detach(&b);
}

/* the reverse; NULL when s holds a character above U+00FF (s is valid UTF-8: jansson read it) */
static char *
utf8_to_latin1(const char *s, size_t len, size_t *outlen)
{
	pv_buf b = PV_BUF_INIT;
	pv_buf_reserve(&b, len + 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			pv_buf_putc(&b, (char)c);
		} else if ((c == 0xC2 || c == 0xC3) && i + 1 < len &&
		           ((unsigned char)s[i + 1] & 0xC0) == 0x80) {
			pv_buf_putc(&b, (char)(((c & 0x03) << 6) | ((unsigned char)s[i + 1] & 0x3F)));
			i++;
		} else {
			pv_buf_free(&b);
			return NULL;
		}
	}
	*outlen = b.len;
	return pv_buf_detach(&b);
}

/* A copy with every string and key converted; to_latin1: bytes -> UTF-8 text, else back. */
static json_t *
map_doc(json_t *j, int to_text, const char *what, pv_buf *path)
{
	size_t mark = path->len, n;
	char *(*conv)(const char *, size_t, size_t *) = to_text ? latin1_to_utf8 : utf8_to_latin1;

	if (json_is_string(j)) {
		char *s = conv(json_string_value(j), json_string_length(j), &n);
		if (!s) {
			pv_fail("%s: %s holds a character above U+00FF (not a byte of a SQL_ASCII database)",
			        what, path->len ? path->data : "(top)");
			return NULL;
		}
		json_t *out = json_stringn_nocheck(s, n);
		free(s);
		return out;
	}
	if (json_is_array(j)) {
		json_t *out = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v) {
			pv_buf_printf(path, "[%zu]", i);
			json_t *m = map_doc(v, to_text, what, path);
			path->len = mark;
			path->data[mark] = '\0';
			if (!m || pvj_append(out, m) < 0) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	}
	if (json_is_object(j)) {
		json_t *out = json_object();
		const char *key;
		json_t *v;
		json_object_foreach(j, key, v) {
			pv_buf_putc(path, '.');
			put_shown(path, key, strlen(key));
			char *k = conv(key, strlen(key), &n);
			json_t *m = NULL;
			if (!k)
				pv_fail("%s: key %s holds a character above U+00FF", what, path->data);
			else
				m = map_doc(v, to_text, what, path);
			path->len = mark;
			path->data[mark] = '\0';
			if (!m || pvj_set(out, k, m) < 0) {
				free(k);
				json_decref(out);
				return NULL;
			}
			free(k);
		}
		return out;
	}
	return json_incref(j);
}

char *
pvj_dumps(json_t *doc, size_t flags, int text, const char *what)
{
	pv_buf path = PV_BUF_INIT;
	json_t *d = NULL;
	char *s = NULL;

	if (!doc) {
		pv_fail("%s: no document", what);
		return NULL;
	}
	pv_buf_putc(&path, '\0'); /* data never NULL */
	path.len = 0;
	if (text == PVJ_LATIN1)
		d = map_doc(doc, 1, what, &path);
	else if (all_utf8(doc) || check_utf8(doc, what, &path, NULL) == 0) /* the path: for the message */
		d = json_incref(doc);
	if (d) {
		s = json_dumps(d, flags);
		if (!s)
			pv_fail("%s: cannot serialise JSON", what);
	}
	json_decref(d);
	pv_buf_free(&path);
	return s;
}

json_t *
pvj_map_bytes(json_t *doc, const char *what)
{
	pv_buf path = PV_BUF_INIT;
	pv_buf_putc(&path, '\0');
	path.len = 0;
	json_t *out = doc ? map_doc(doc, 0, what, &path) : NULL;
	if (!doc)
		pv_fail("%s: no document", what);
	pv_buf_free(&path);
	return out;
}

json_t *
pvj_loads_server(const char *s, int text, const char *what)
{
	json_error_t e;
	json_t *j;

	if (!s) {
		pv_fail("%s: no value", what);
		return NULL;
	}
	if (text != PVJ_LATIN1) {
		j = json_loads(s, 0, &e);
	} else {
		size_t n;
		char *u = latin1_to_utf8(s, strlen(s), &n);
		json_t *t = json_loadb(u, n, 0, &e);
		free(u);
		j = t ? pvj_map_bytes(t, what) : NULL;
		json_decref(t);
		if (t && !j)
			return NULL;
	}
	if (!j)
		pv_fail("%s: malformed JSON from the server: %s", what, e.text);
	return j;
}
