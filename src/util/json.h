/*
 * util/json.h — building, serialising and reading JSON with every jansson failure checked
 * ("pvj_" helpers), and the text rule of bundles.
 *
 * Strings in memory are bytes.  Text read from a server is kept exactly as the session
 * received it (jansson's _nocheck forms), so it can be sent back unchanged.  Text becomes
 * JSON only through pvj_dumps, which checks that every string and key is UTF-8 (naming the
 * member, the entry and the key of one that is not) or, for the bytes of a SQL_ASCII
 * database, writes each byte 0x80-0xFF as the character U+0080-U+00FF (PVJ_LATIN1);
 * pvj_map_bytes undoes that after reading.
 *
 * Every setter returns 0, or -1 with pv_fail naming the key: a NULL value (a missing
 * string, a constructor that failed), or a container jansson refuses.  (A non-NULL value
 * into a container of the right kind cannot fail: allocation failure aborts.)  Setters that take a
 * json_t steal the reference (also on failure), like json_object_set_new.
 */
#ifndef PV_UTIL_JSON_H
#define PV_UTIL_JSON_H

#include <jansson.h>

/* How text is written as JSON. */
enum {
	PVJ_UTF8 = 0,   /* bytes must be UTF-8 */
	PVJ_LATIN1 = 1  /* each byte is one character U+0000-U+00FF (SQL_ASCII databases) */
};

/* jansson allocates through pv_malloc (allocation failure aborts, as everywhere). */
void pvj_init(void);

/* A string holding bytes s; NULL (error set) when s is NULL. */
json_t *pvj_str(const char *s);
/* A string for people (messages, names in notifications): s when it is UTF-8, else s with
 * every byte 0x80-0xFF written as \xNN; NULL (error set) when s is NULL. */
json_t *pvj_shown(const char *s);

int pvj_set(json_t *o, const char *key, json_t *v);        /* steals v */
int pvj_set_copy(json_t *o, const char *key, json_t *v);   /* v gains a reference */
int pvj_set_str(json_t *o, const char *key, const char *s);
int pvj_set_str_or_null(json_t *o, const char *key, const char *s); /* NULL: JSON null */
int pvj_set_int(json_t *o, const char *key, json_int_t v);
int pvj_set_bool(json_t *o, const char *key, int v);
int pvj_append(json_t *a, json_t *v);                      /* steals v */
int pvj_append_copy(json_t *a, json_t *v);
int pvj_append_str(json_t *a, const char *s);
int pvj_append_str_unique(json_t *a, const char *s);     /* unless a has it already */
int pvj_append_int(json_t *a, json_int_t v);
/* Every member of other into o; 0 or -1. */
int pvj_update(json_t *o, json_t *other);
/* A deep copy; NULL (error set) when doc is NULL. */
json_t *pvj_copy(json_t *doc);

/* The text of doc (json_dumps flags), malloc'd; NULL with pv_fail("WHAT: <path>: ...")
 * naming the first string that is not UTF-8 (PVJ_UTF8), and the entry holding it (the
 * nearest object with "kind" and "name"). */
char *pvj_dumps(json_t *doc, size_t flags, int text, const char *what);

/* A copy of doc whose strings and keys are the bytes the PVJ_LATIN1 text stands for; NULL
 * (error set, naming the path) when a character is above U+00FF. */
json_t *pvj_map_bytes(json_t *doc, const char *what);

/* JSON text a server produced (e.g. json_agg) parsed; text is PVJ_LATIN1 for a session
 * whose bytes are not UTF-8 (SQL_ASCII), and its strings stay those bytes.  NULL with
 * pv_fail on malformed text. */
json_t *pvj_loads_server(const char *s, int text, const char *what);

#endif
