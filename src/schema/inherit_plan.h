/*
 * schema/inherit_plan.h — replaying the history of an inheritance tree.
 *
 * A child created before its parent gained a column has that column at its end, not
 * local (attislocal = false).  CREATE TABLE ... INHERITS alone would put it first; a
 * standalone child attached with ALTER TABLE ... INHERIT keeps the order but marks it
 * local.  Both are visible differences.  The plan below recreates such a family in two
 * steps that PostgreSQL itself took: every table is created with a prefix of its columns
 * (parents first, CREATE TABLE ... INHERITS), then the remaining columns are added with
 * ALTER TABLE ... ADD COLUMN on the table that owns them, in an order consistent with every
 * table's column order; the addition recurses to the descendants as it did in the source.
 * The planner is pure (no SQL, no server) and verifies its plan by simulating
 * PostgreSQL's rules: it answers only with a plan that reproduces every table's column
 * order, attislocal and attinhcount exactly.
 */
#ifndef PV_SCHEMA_INHERIT_PLAN_H
#define PV_SCHEMA_INHERIT_PLAN_H

typedef struct pv_ih_col {
	const char *name;
	int local;   /* attislocal */
	int inh;     /* attinhcount */
	int notnull; /* attnotnull */
	int addable; /* may be created by ALTER TABLE ... ADD COLUMN (not identity/generated) */
} pv_ih_col;

typedef struct pv_ih_table {
	const pv_ih_col *cols; /* in attnum order, dropped columns left out */
	int ncols;
	const int *parents; /* indexes into the family, in inhseqno order */
	int nparents;
} pv_ih_table;

typedef struct pv_ih_event {
	int table; /* the table that owns the column (adds it) */
	int col;   /* its index in that table's columns */
} pv_ih_event;

typedef struct pv_ih_plan {
	int *prefix;        /* per table: how many leading columns CREATE TABLE makes */
	int *create_order;  /* tables, parents before children */
	pv_ih_event *events; /* the ADD COLUMNs, in order */
	int nevents;
} pv_ih_plan;

/* 0 and a plan in *out (free with pv_ih_plan_free), or -1: no such replay reproduces the
 * family (the caller keeps its other way of creating it). */
int pv_ih_plan_make(const pv_ih_table *t, int n, pv_ih_plan *out);
void pv_ih_plan_free(pv_ih_plan *p);

#endif
