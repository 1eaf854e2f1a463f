/*
 * tests/unit/test_graph.c — the dependency sort of the object graph: order within and across
 * sections, the cycle handed to the loop repair rule (the cycle itself, in "depends on"
 * order, not every stuck object), the retry after a repair, and the messages when no rule
 * breaks a loop or a rule fails; folding an object into another (extension members); the
 * render step writing the SQL of typed definitions through the quoting it is given.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "schema/graph.h"
#include "schema/render.h"
#include "util/err.h"
#include "util/buf.h"

static pv_obj *
add(pv_graph *g, pv_kind k, pv_section s, const char *name)
{
	return pv_graph_add(g, k, s, 0, 0, "s", name);
}

static int
position(pv_graph *g, const pv_obj *o)
{
	for (int i = 0; i < pv_graph_count(g); i++)
		if (pv_graph_sorted(g, i) == o)
			return i;
	return -1;
}

static void
test_order(void **state)
{
	(void)state;
	pv_graph *g = pv_graph_new();
	pv_obj *t = add(g, K_TABLE, PV_PRE, "t");
	pv_obj *f = add(g, K_FUNCTION, PV_PRE, "f");
	pv_obj *pk = add(g, K_CONSTRAINT, PV_POST, "pk");
	pv_obj *mv = add(g, K_MATVIEW, PV_PRE, "mv");
	pv_obj_dep(f, t);  /* f's signature uses t's row type */
	pv_obj_dep(pk, t);
	pv_obj_dep(mv, pk); /* GROUP BY relying on the key: pushed to post-data */
	assert_int_equal(pv_graph_sort(g), 0);
	assert_true(position(g, t) < position(g, f));
	assert_true(position(g, pk) < position(g, mv));
	assert_int_equal(mv->eff_section, PV_POST);
	assert_int_equal(f->eff_section, PV_PRE);
	pv_graph_free(g);
}

static void
test_unrepaired_names_cycle(void **state)
{
	(void)state;
	pv_graph *g = pv_graph_new();
	pv_obj *a = add(g, K_DOMAIN, PV_PRE, "a");
	pv_obj *b = add(g, K_FUNCTION, PV_PRE, "b");
	pv_obj *c = add(g, K_TABLE, PV_PRE, "c");
	pv_obj *d = add(g, K_TABLE_DATA, PV_DATA, "c");
	pv_obj_dep(a, b);
	pv_obj_dep(b, a);
	pv_obj_dep(c, a); /* waits for the loop, is not in it */
	pv_obj_dep(d, c);
	assert_int_equal(pv_graph_sort(g), -1);
	assert_string_equal(pv_errmsg(), "could not resolve a dependency loop: domain s.a needs "
	                                 "function s.b, which needs domain s.a");
	pv_graph_free(g);
}

/* The rule of these tests: record the cycle, break it at its first edge. */
static char seen[256];
static int calls;

static int
break_first(pv_graph *g, pv_obj **cycle, int n, void *arg)
{
	(void)g;
	int *mode = arg;
	calls++;
	seen[0] = '\0';
	for (int i = 0; i < n; i++) {
		strcat(seen, cycle[i]->name);
		strcat(seen, " ");
	}
	if (*mode == 0)
		return 0;
	if (*mode < 0)
		return pv_fail("no luck");
	pv_obj_undep(cycle[0], cycle[1]->id);
	return 1;
}

static void
test_repair_retries(void **state)
{
	(void)state;
	pv_graph *g = pv_graph_new();
	int mode = 1;
	/* x -> y -> z -> x, and w -> x -> w: two loops, repaired one after the other */
	pv_obj *x = add(g, K_VIEW, PV_PRE, "x");
	pv_obj *y = add(g, K_FUNCTION, PV_PRE, "y");
	pv_obj *z = add(g, K_TYPE, PV_PRE, "z");
	pv_obj *w = add(g, K_TABLE, PV_PRE, "w");
	pv_obj_dep(x, y);
	pv_obj_dep(y, z);
	pv_obj_dep(z, x);
	pv_obj_dep(w, x);
	pv_obj_dep(x, w);
	pv_graph_set_repair(g, break_first, &mode);
	calls = 0;
	assert_int_equal(pv_graph_sort(g), 0);
	assert_int_equal(calls, 2);
	/* the first cycle from the earliest stuck object in the pre-sort (the type), then w's */
	assert_false(pv_obj_depends(z, x->id));
	assert_false(pv_obj_depends(w, x->id));
	assert_true(pv_obj_depends(x, y->id) && pv_obj_depends(x, w->id));
	assert_string_equal(seen, "w x ");
	for (int i = 0; i < pv_graph_count(g); i++) {
		pv_obj *o = pv_graph_get(g, i);
		for (int j = 0; j < o->ndeps; j++)
			assert_true(position(g, pv_graph_get(g, o->deps[j])) < position(g, o));
	}
	pv_graph_free(g);
}

static void
test_repair_declines_or_fails(void **state)
{
	(void)state;
	pv_graph *g = pv_graph_new();
	int mode = 0;
	pv_obj *p = add(g, K_TYPE, PV_PRE, "p");
	pv_obj *q = add(g, K_FUNCTION, PV_PRE, "q");
	pv_obj *r = add(g, K_FUNCTION, PV_PRE, "r");
	pv_obj_dep(p, q);
	pv_obj_dep(q, r);
	pv_obj_dep(r, p);
	pv_obj_dep(q, p); /* a shorter cycle through p: p <-> q */
	pv_graph_set_repair(g, break_first, &mode);
	calls = 0;
	assert_int_equal(pv_graph_sort(g), -1);
	assert_int_equal(calls, 1);
	assert_string_equal(seen, "p q ");
	assert_string_equal(pv_errmsg(), "could not resolve a dependency loop: type s.p needs "
	                                 "function s.q, which needs type s.p");
	mode = -1;
	assert_int_equal(pv_graph_sort(g), -1);
	assert_string_equal(pv_errmsg(), "repairing the dependency loop type s.p needs function s.q, "
	                                 "which needs type s.p: no luck");
	pv_graph_free(g);
}

/* pv_graph_fold: an extension's member a reader registered follows its extension */
static void
test_fold(void **state)
{
	(void)state;
	pv_graph *g = pv_graph_new();
	pv_obj *e = pv_graph_add(g, K_EXTENSION, PV_PRE, 3079, 20000, NULL, "ext");
	pv_obj *m = pv_graph_add(g, K_TYPE, PV_PRE, 1247, 20001, "s", "member");
	pv_graph_alias(g, 1247, 20002, m);      /* its array type */
	pv_obj *u = add(g, K_TABLE, PV_PRE, "user");
	pv_obj_dep(u, m);
	pv_obj_dep(u, e);
	pv_obj_dep(m, e);
	pv_graph_fold(g, m, e);
	assert_int_equal(m->dump, 0);
	assert_ptr_equal(pv_graph_lookup(g, 1247, 20001), e);
	assert_ptr_equal(pv_graph_lookup(g, 1247, 20002), e);
	assert_int_equal(u->ndeps, 1);          /* no duplicate edge to the extension */
	assert_int_equal(u->deps[0], e->id);
	assert_int_equal(e->ndeps, 0);
	pv_graph_free(g);
}

/* a stand-in for libpq's quoting: "x" and 'x' without escapes */
static char *
fake_ident(void *arg, const char *s)
{
	(void)arg;
	return pv_asprintf("\"%s\"", s);
}

static char *
fake_literal(void *arg, const char *s)
{
	(void)arg;
	return pv_asprintf("'%s'", s);
}

static void
test_render(void **state)
{
	(void)state;
	pv_graph *g = pv_graph_new();
	pv_render_ctx q = {fake_ident, fake_literal, NULL};
	pv_obj *sch = add(g, K_SCHEMA, PV_PRE, "app");
	pv_obj_set_def(sch, &pv_ops_schema, pv_def_schema_new("app", PV_SCHEMA_CREATE));
	pv_obj *pub = add(g, K_SCHEMA, PV_PRE, "public");
	pv_obj_set_def(pub, &pv_ops_schema, pv_def_schema_new("public", PV_SCHEMA_BUILTIN));
	pv_obj *ext = add(g, K_EXTENSION, PV_PRE, "hstore");
	pv_obj_set_def(ext, &pv_ops_extension, pv_def_extension_new("hstore", "app"));
	pv_obj *seq = add(g, K_SEQUENCE, PV_PRE, "s");
	pv_def_sequence *d = pv_def_sequence_new("app", "s", "integer");
	d->start = 5, d->increment = -3, d->min = INT64_MIN, d->max = 100, d->cache = 7, d->cycle = 1;
	d->unlogged = 1;
	pv_obj_set_def(seq, &pv_ops_sequence, d);
	pv_obj *val = add(g, K_SEQ_SET, PV_DATA, "s");
	pv_obj_set_def(val, &pv_ops_seq_value, pv_def_seq_value_new("app", "s", 42, 0));
	pv_obj *own = add(g, K_SEQ_OWNED, PV_PRE, "s");
	pv_obj_set_def(own, &pv_ops_seq_owned, pv_def_seq_owned_new("app", "s", "app", "t", "id"));
	pv_obj *plain = add(g, K_TABLE, PV_PRE, "t"); /* a kind not converted: left alone */
	plain->sql = pv_strdup("CREATE TABLE t ();");
	assert_int_equal(pv_graph_sort(g), 0);
	assert_int_equal(pv_schema_render(g, &q), 0);
	assert_string_equal(sch->sql, "CREATE SCHEMA \"app\";");
	assert_null(pub->sql);
	assert_string_equal(ext->sql, "CREATE EXTENSION IF NOT EXISTS \"hstore\" WITH SCHEMA \"app\";");
	assert_string_equal(seq->sql, "CREATE UNLOGGED SEQUENCE \"app\".\"s\" AS integer START WITH 5 "
	                              "INCREMENT BY -3 MINVALUE -9223372036854775808 MAXVALUE 100 CACHE 7 CYCLE;");
	assert_string_equal(val->sql, "SELECT pg_catalog.setval('\"app\".\"s\"', 42, false);");
	assert_string_equal(own->sql, "ALTER SEQUENCE \"app\".\"s\" OWNED BY \"app\".\"t\".\"id\";");
	assert_string_equal(plain->sql, "CREATE TABLE t ();");
	pv_graph_free(g);
	/* a reader that wrote SQL text for a converted kind is caught */
	g = pv_graph_new();
	pv_obj *both = add(g, K_SCHEMA, PV_PRE, "x");
	pv_obj_set_def(both, &pv_ops_schema, pv_def_schema_new("x", PV_SCHEMA_CREATE));
	both->sql = pv_strdup("CREATE SCHEMA x;");
	assert_int_equal(pv_schema_render(g, &q), -1);
	pv_err_clear();
	pv_graph_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_unrepaired_names_cycle),
		cmocka_unit_test(test_repair_retries),
		cmocka_unit_test(test_repair_declines_or_fails),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_render),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
