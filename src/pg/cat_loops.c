/*
 * pg/cat_loops.c — the dependency-loop repairs that depend on how an object is written
 * (../shared/docs/catalog-dump-notes.md §3.3).  The sort (schema/graph.c) finds one cycle when it
 * is stuck and calls pvc_repair(), which breaks it and lets the sort start again:
 *
 *  - a view in a longer cycle through its query (f() RETURNS SETOF v where v selects from
 *    f(), or a BEGIN ATOMIC body reading v): CREATE VIEW gets a dummy body of typed NULLs
 *    (column names, types and collations of the real one), and the real query becomes a
 *    separate CREATE OR REPLACE VIEW entry (K_VIEW_DEF) that takes over the dependencies
 *    of the view's _RETURN rule;
 *  - a domain and one of its CHECKs in a longer cycle (the CHECK calls a function whose
 *    signature uses the domain): that CHECK leaves CREATE DOMAIN and becomes an
 *    ALTER DOMAIN ... ADD CONSTRAINT entry after the domain, with its comment.
 *
 * The readers prepare what a repair needs for every view and every domain with inline
 * CHECKs (o->extra "repair": the alternative SQL, and which dependency came from which
 * catalog row), so a repair never queries the server.  Everything else pgvault already
 * writes loop-free: CHECKs and defaults of tables are separate entries, base types get a
 * shell type, and an object depending on a post-data one (a primary key used by GROUP BY)
 * is pushed to post-data by the sort.
 */
#include "pg/catalog_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"

static json_t *
repair_info(const pv_obj *o)
{
	return o->extra ? json_object_get(o->extra, "repair") : NULL;
}

static int
has_id(json_t *arr, int id)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (json_integer_value(v) == id)
			return 1;
	return 0;
}

/* The repair information is built from strings pgvault rendered (never NULL) into new
 * containers, which cannot fail; it stays in memory (never in the bundle).  The strings
 * are bytes (_nocheck), as the SQL they hold: json_pack would refuse a SQL_ASCII byte. */
static void
add_id(json_t *arr, int id)
{
	if (!has_id(arr, id))
		(void)pvj_append_int(arr, id);
}

static void
set_repair(pv_obj *o, json_t *info)
{
	if (!o->extra)
		o->extra = json_object();
	(void)pvj_set(o->extra, "repair", info);
}

/* Done with o's repair information (the repair is applied). */
static void
drop_repair(pv_obj *o)
{
	json_object_del(o->extra, "repair");
	if (json_object_size(o->extra) == 0) {
		json_decref(o->extra);
		o->extra = NULL;
	}
}

void
pvc_loops_view(pv_obj *v, pv_oid rule, const char *dummy, const char *replace)
{
	json_t *info = json_object();
	(void)pvj_set_str(info, "what", "view");
	(void)pvj_set_int(info, "rule", (json_int_t)rule);
	(void)pvj_set_str(info, "dummy", dummy);
	(void)pvj_set_str(info, "replace", replace);
	(void)pvj_set(info, "rule_deps", json_array());
	(void)pvj_set(info, "own_deps", json_array());
	set_repair(v, info);
}

void
pvc_loops_domain_check(pv_obj *d, pv_oid con, const char *name, const char *inline_sql,
                       const char *alter_sql)
{
	json_t *info = repair_info(d);
	if (!info) {
		/* the first inline CHECK: d->sql is still the domain without its CHECKs */
		info = json_object();
		(void)pvj_set_str(info, "what", "domain");
		(void)pvj_set_str(info, "base", d->sql);
		(void)pvj_set(info, "own_deps", json_array());
		(void)pvj_set(info, "checks", json_array());
		(void)pvj_set(info, "comments", json_array());
		set_repair(d, info);
	}
	json_t *c = json_object();
	(void)pvj_set_int(c, "oid", (json_int_t)con);
	(void)pvj_set_str(c, "name", name);
	(void)pvj_set_str(c, "inline", inline_sql);
	(void)pvj_set_str(c, "alter", alter_sql);
	(void)pvj_set(c, "deps", json_array());
	(void)pvj_append(json_object_get(info, "checks"), c);
}

static json_t *
domain_check(json_t *info, pv_oid con)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(info, "checks"), i, c)
		if ((pv_oid)json_integer_value(json_object_get(c, "oid")) == con)
			return c;
	return NULL;
}

void
pvc_loops_comment(pv_obj *o, pv_oid classid, pv_oid oid, const char *sql)
{
	json_t *info = repair_info(o);
	if (!info || o->kind != K_DOMAIN)
		return;
	/* each statement of d->comments, with the CHECK it is about (0: the domain's own) */
	json_int_t con = classid == C_PG_CONSTRAINT && domain_check(info, oid) ? (json_int_t)oid : 0;
	json_t *c = json_object();
	(void)pvj_set_int(c, "con", con);
	(void)pvj_set_str(c, "sql", sql);
	(void)pvj_append(json_object_get(info, "comments"), c);
}

void
pvc_loops_dep(pv_obj *a, pv_oid classid, pv_oid objid, const pv_obj *b)
{
	json_t *info = repair_info(a), *c;
	if (!info || a == b)
		return;
	if (a->kind == K_VIEW)
		add_id(json_object_get(info, classid == C_PG_REWRITE &&
		                       (pv_oid)json_integer_value(json_object_get(info, "rule")) == objid
		                           ? "rule_deps" : "own_deps"), b->id);
	else if (a->kind == K_DOMAIN)
		add_id(classid == C_PG_CONSTRAINT && (c = domain_check(info, objid)) != NULL
		           ? json_object_get(c, "deps") : json_object_get(info, "own_deps"), b->id);
}

/* The view's query moves to a new CREATE OR REPLACE VIEW entry with the rule's
 * dependencies; the view keeps those of its columns (types, collations) and its schema. */
static int
split_view(pv_graph *g, pv_obj *v, json_t *info, const pv_obj *next)
{
	json_t *rule = json_object_get(info, "rule_deps"), *own = json_object_get(info, "own_deps");
	if (!has_id(rule, next->id) || has_id(own, next->id))
		return 0; /* this edge is not the query's: splitting would not break the cycle */
	pv_obj *def = pv_graph_add(g, K_VIEW_DEF, PV_PRE, 0, 0, v->schema, v->name);
	def->sql = pv_strdup(json_string_value(json_object_get(info, "replace")));
	def->dump = v->dump;
	size_t i;
	json_t *x;
	json_array_foreach(rule, i, x) {
		int id = (int)json_integer_value(x);
		pv_obj_dep(def, pv_graph_get(g, id));
		if (!has_id(own, id))
			pv_obj_undep(v, id);
	}
	pv_obj_dep(def, v);
	free(v->sql);
	v->sql = pv_strdup(json_string_value(json_object_get(info, "dummy")));
	drop_repair(v);
	return 1;
}

/* The CHECK whose dependency is the cycle's edge leaves CREATE DOMAIN. */
static int
split_domain_check(pv_graph *g, pv_obj *d, json_t *info, const pv_obj *next)
{
	json_t *checks = json_object_get(info, "checks"), *own = json_object_get(info, "own_deps");
	json_t *c = NULL, *x;
	size_t i, j;
	if (has_id(own, next->id))
		return 0;
	json_array_foreach(checks, i, x)
		if (!json_is_true(json_object_get(x, "split")) && has_id(json_object_get(x, "deps"), next->id)) {
			c = x;
			break;
		}
	if (!c)
		return 0;
	(void)pvj_set_bool(c, "split", 1);
	pv_obj *k = pv_graph_add(g, K_CHECK, PV_PRE, C_PG_CONSTRAINT,
	                         (pv_oid)json_integer_value(json_object_get(c, "oid")), d->schema,
	                         json_string_value(json_object_get(c, "name")));
	k->sql = pv_strdup(json_string_value(json_object_get(c, "alter")));
	k->dump = d->dump;
	/* its dependencies leave the domain unless the domain or another inline CHECK has them */
	json_array_foreach(json_object_get(c, "deps"), i, x) {
		int id = (int)json_integer_value(x), keep = has_id(own, id);
		json_t *o;
		json_array_foreach(checks, j, o)
			keep |= !json_is_true(json_object_get(o, "split")) && has_id(json_object_get(o, "deps"), id);
		pv_obj_dep(k, pv_graph_get(g, id));
		if (!keep)
			pv_obj_undep(d, id);
	}
	pv_obj_dep(k, d);
	/* its comments and security labels follow it; the domain keeps the rest */
	pv_oid con = (pv_oid)json_integer_value(json_object_get(c, "oid"));
	pv_buf keep = PV_BUF_INIT;
	json_array_foreach(json_object_get(info, "comments"), i, x) {
		pv_oid about = (pv_oid)json_integer_value(json_object_get(x, "con"));
		const char *sql = json_string_value(json_object_get(x, "sql"));
		json_t *chk = about ? domain_check(info, about) : NULL;
		if (about == con)
			pv_obj_add_comment(k, sql);
		else if (!chk || !json_is_true(json_object_get(chk, "split")))
			pv_buf_printf(&keep, "%s\n", sql);
	}
	free(d->comments);
	d->comments = keep.len ? pv_buf_detach(&keep) : NULL;
	pv_buf_free(&keep);
	/* CREATE DOMAIN with the CHECKs still inline */
	pv_buf b = PV_BUF_INIT;
	pv_buf_puts(&b, json_string_value(json_object_get(info, "base")));
	json_array_foreach(checks, i, x)
		if (!json_is_true(json_object_get(x, "split")))
			pv_buf_puts(&b, json_string_value(json_object_get(x, "inline")));
	pv_buf_putc(&b, ';');
	free(d->sql);
	d->sql = pv_buf_detach(&b);
	return 1;
}

int
pvc_repair(pv_graph *g, pv_obj **cycle, int n, void *arg)
{
	(void)arg;
	/* views first (as pg_dump), then domains */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++) {
			pv_obj *o = cycle[i], *next = cycle[(i + 1) % n];
			json_t *info = repair_info(o);
			if (!info)
				continue;
			const char *what = json_string_value(json_object_get(info, "what"));
			int r = pass == 0 && o->kind == K_VIEW && strcmp(what, "view") == 0
			            ? split_view(g, o, info, next)
			        : pass == 1 && o->kind == K_DOMAIN && strcmp(what, "domain") == 0
			            ? split_domain_check(g, o, info, next) : 0;
			if (r)
				return r;
		}
	return 0;
}
