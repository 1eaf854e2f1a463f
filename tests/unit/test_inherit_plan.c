/*
 * tests/unit/test_inherit_plan.c — the inheritance replay planner on the column layouts
 * PostgreSQL's regression database leaves behind (a_star ... f_star, renamecolumn*,
 * test_type_diff*): prefix lengths, the ADD COLUMN order, and the families no replay can
 * reproduce (columns reordered in a child, children disagreeing on the order).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "schema/inherit_plan.h"

/* own (local, inhcount 0), inherited (not local), merged (local and inherited) */
#define OWN(n) {n, 1, 0, 0, 1}
#define INH(n, k) {n, 0, k, 0, 1}
#define MRG(n, k) {n, 1, k, 0, 1}

static void
test_star_family(void **state)
{
	(void)state;
	static const pv_ih_col a[] = {OWN("class"), OWN("aa"), OWN("a")};
	static const pv_ih_col b[] = {INH("class", 1), INH("aa", 1), OWN("bb"), INH("a", 1)};
	static const pv_ih_col c[] = {INH("class", 1), INH("aa", 1), OWN("cc"), INH("a", 1)};
	static const pv_ih_col d[] = {INH("class", 2), INH("aa", 2), INH("bb", 1), INH("cc", 1), OWN("dd"), INH("a", 2)};
	static const pv_ih_col e[] = {INH("class", 1), INH("aa", 1), INH("cc", 1), OWN("ee"), OWN("e"), INH("a", 1)};
	static const pv_ih_col f[] = {INH("class", 1), INH("aa", 1), INH("cc", 1), INH("ee", 1), OWN("ff"), OWN("f"),
	                              INH("e", 1), INH("a", 1)};
	/* children listed before their parents: the creation order must fix that */
	static const int pa[] = {5}, pd[] = {1, 2}, pe[] = {2}, pf[] = {4};
	const pv_ih_table t[] = {{f, 8, pf, 1}, {b, 4, pa, 1}, {c, 4, pa, 1}, {d, 6, pd, 2}, {e, 6, pe, 1}, {a, 3, NULL, 0}};
	pv_ih_plan p;
	assert_int_equal(pv_ih_plan_make(t, 6, &p), 0);
	/* a_star is created without "a"; e_star without "e"; f_star keeps its own "f" */
	assert_int_equal(p.prefix[5], 2);
	assert_int_equal(p.prefix[1], 3);
	assert_int_equal(p.prefix[3], 5);
	assert_int_equal(p.prefix[4], 4);
	assert_int_equal(p.prefix[0], 6);
	/* e_star.e before a_star.a (f_star's order says so) */
	assert_int_equal(p.nevents, 2);
	assert_int_equal(p.events[0].table, 4);
	assert_int_equal(p.events[0].col, 4);
	assert_int_equal(p.events[1].table, 5);
	assert_int_equal(p.events[1].col, 2);
	/* parents before children */
	int pos[6];
	for (int i = 0; i < 6; i++)
		pos[p.create_order[i]] = i;
	assert_true(pos[5] < pos[1] && pos[5] < pos[2] && pos[1] < pos[3] && pos[2] < pos[3] && pos[2] < pos[4] &&
	            pos[4] < pos[0]);
	pv_ih_plan_free(&p);
}

static void
test_local_column_between_inherited(void **state)
{
	(void)state;
	/* renamecolumn(d, w); child: d, a (own), w; grandchild: d, a, c (own), w */
	static const pv_ih_col r[] = {OWN("d"), OWN("w")};
	static const pv_ih_col ch[] = {INH("d", 1), OWN("a"), INH("w", 1)};
	static const pv_ih_col an[] = {INH("d", 1), INH("a", 1), OWN("c"), INH("w", 1)};
	static const int p0[] = {0}, p1[] = {1};
	const pv_ih_table t[] = {{r, 2, NULL, 0}, {ch, 3, p0, 1}, {an, 4, p1, 1}};
	pv_ih_plan p;
	assert_int_equal(pv_ih_plan_make(t, 3, &p), 0);
	assert_int_equal(p.prefix[0], 1);
	assert_int_equal(p.prefix[1], 2);
	assert_int_equal(p.prefix[2], 3);
	assert_int_equal(p.nevents, 1);
	assert_int_equal(p.events[0].table, 0);
	assert_int_equal(p.events[0].col, 1);
	pv_ih_plan_free(&p);
}

static void
test_nothing_late(void **state)
{
	(void)state;
	/* a merged column (declared again by the child) and no late column: no events */
	static const pv_ih_col par[] = {OWN("x"), OWN("y")};
	static const pv_ih_col ch[] = {INH("x", 1), MRG("y", 1), OWN("z")};
	static const int p0[] = {0};
	const pv_ih_table t[] = {{par, 2, NULL, 0}, {ch, 3, p0, 1}};
	pv_ih_plan p;
	assert_int_equal(pv_ih_plan_make(t, 2, &p), 0);
	assert_int_equal(p.prefix[0], 2);
	assert_int_equal(p.prefix[1], 3);
	assert_int_equal(p.nevents, 0);
	pv_ih_plan_free(&p);
}

static void
test_not_replayable(void **state)
{
	(void)state;
	pv_ih_plan p;
	/* a child whose inherited columns are in another order (test_type_diff2_c1) */
	static const pv_ih_col par[] = {OWN("int_two"), OWN("int_four"), OWN("int_eight")};
	static const pv_ih_col c1[] = {INH("int_four", 1), INH("int_eight", 1), INH("int_two", 1)};
	static const int p0[] = {0};
	const pv_ih_table t[] = {{par, 3, NULL, 0}, {c1, 3, p0, 1}};
	assert_int_equal(pv_ih_plan_make(t, 2, &p), -1);
	assert_null(p.prefix);

	/* two children disagree on the order of the parent's late columns */
	static const pv_ih_col q[] = {OWN("k"), OWN("x"), OWN("y")};
	static const pv_ih_col q1[] = {INH("k", 1), OWN("m"), INH("x", 1), INH("y", 1)};
	static const pv_ih_col q2[] = {INH("k", 1), OWN("n"), INH("y", 1), INH("x", 1)};
	const pv_ih_table u[] = {{q, 3, NULL, 0}, {q1, 4, p0, 1}, {q2, 4, p0, 1}};
	assert_int_equal(pv_ih_plan_make(u, 3, &p), -1);

	/* a late column that ADD COLUMN cannot make (identity or generated) */
	static const pv_ih_col g[] = {OWN("k"), {"x", 1, 0, 0, 0}};
	static const pv_ih_col g1[] = {INH("k", 1), OWN("m"), INH("x", 1)};
	const pv_ih_table v[] = {{g, 2, NULL, 0}, {g1, 3, p0, 1}};
	assert_int_equal(pv_ih_plan_make(v, 2, &p), -1);

	/* NOT NULL in the parent but not in the child cannot come from ADD COLUMN */
	static const pv_ih_col h[] = {OWN("k"), {"x", 1, 0, 1, 1}};
	const pv_ih_table w[] = {{h, 2, NULL, 0}, {g1, 3, p0, 1}};
	assert_int_equal(pv_ih_plan_make(w, 2, &p), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_star_family),
	    cmocka_unit_test(test_local_column_between_inherited),
	    cmocka_unit_test(test_nothing_late),
	    cmocka_unit_test(test_not_replayable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
