/*
 * pg/cat_tables.c — the CREATE TABLE of every table, assembled once its columns,
 * constraints and options are read, with the replay of inheritance families whose column
 * order CREATE TABLE ... INHERITS would not reproduce (schema/inherit_plan.h) (see cat_rel.h).
 */
#include "pg/catalog_int.h"
#include "pg/cat_rel.h"
#include "schema/inherit_plan.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"

/* CREATE TABLE ... INHERITS puts the parents' columns first (each name once, in parent
 * order), then the child's own: 1 if that reproduces the child's column order. */
static int
inherits_keeps_order(rels *R, relinfo *ri)
{
	json_t *expect = json_array(), *seen = json_object();
	for (int p = 0; p < ri->nparents; p++) {
		relinfo *pi = pvc_find_rel(R, ri->parents[p]);
		if (!pi) {
			json_decref(expect);
			json_decref(seen);
			return 0;
		}
		size_t i;
		json_t *c;
		json_array_foreach(pi->colnames, i, c)
			if (!json_object_get(seen, json_string_value(c))) {
				/* names (strings of colnames) into a set and an array: cannot fail */
				(void)pvj_set_bool(seen, json_string_value(c), 1);
				(void)pvj_append_copy(expect, c);
			}
	}
	size_t i;
	json_t *c;
	json_array_foreach(ri->colnames, i, c)
		if (!json_object_get(seen, json_string_value(c)))
			(void)pvj_append_copy(expect, c);
	int same = json_equal(expect, ri->colnames);
	json_decref(expect);
	json_decref(seen);
	return same;
}

static int
is_ancestor(rels *R, relinfo *ri, pv_obj *t, int depth)
{
	if (depth > 64)
		return 0; /* inheritance cannot loop; a bound all the same */
	for (int p = 0; p < ri->nparents; p++) {
		relinfo *pi = pvc_find_rel(R, ri->parents[p]);
		if (pi && (pi->obj == t || is_ancestor(R, pi, t, depth + 1)))
			return 1;
	}
	return 0;
}

/* ---- inheritance families whose history is replayed (inherit_plan.h) ------------------ */

static int
uf_find(int *up, int x)
{
	while (up[x] != x)
		x = up[x] = up[up[x]];
	return x;
}

static const char *
lcol_text(relinfo *ri, const char *name)
{
	size_t i;
	json_t *lc;
	json_array_foreach(ri->lcols, i, lc)
		if (strcmp(json_string_value(json_object_get(lc, "name")), name) == 0)
			return json_string_value(json_object_get(lc, "text"));
	return NULL;
}

/* One family (members: indexes into R->v): plan it; on success the members are marked
 * and the family's ADD COLUMN entry is made. */
static void
replay_family(reader *rd, rels *R, const int *mem, int n)
{
	pv_ih_table *t = pv_calloc((size_t)n, sizeof *t);
	pv_ih_col **cols = pv_calloc((size_t)n, sizeof *cols);
	int **par = pv_calloc((size_t)n, sizeof *par);
	int ok = 1;
	for (int i = 0; i < n && ok; i++) {
		relinfo *ri = &R->v[mem[i]];
		size_t nc = json_array_size(ri->colinfo);
		cols[i] = pv_calloc(nc + 1, sizeof **cols);
		for (size_t j = 0; j < nc; j++) {
			json_t *c = json_array_get(ri->colinfo, j);
			cols[i][j] = (pv_ih_col){json_string_value(json_object_get(c, "name")),
			                         json_is_true(json_object_get(c, "local")),
			                         (int)json_integer_value(json_object_get(c, "inh")),
			                         json_is_true(json_object_get(c, "notnull")),
			                         json_is_true(json_object_get(c, "addable"))};
		}
		par[i] = pv_calloc((size_t)ri->nparents + 1, sizeof **par);
		for (int p = 0; p < ri->nparents; p++) {
			int found = -1;
			for (int k = 0; k < n; k++)
				if (R->v[mem[k]].oid == ri->parents[p])
					found = k;
			if (found < 0)
				ok = 0;
			par[i][p] = found;
		}
		t[i] = (pv_ih_table){cols[i], (int)nc, par[i], ri->nparents};
	}
	pv_ih_plan plan;
	if (ok && pv_ih_plan_make(t, n, &plan) == 0) {
		relinfo *first = &R->v[mem[plan.create_order[0]]];
		pv_obj *o = pv_graph_add(rd->cat->g, K_INHERIT_COLUMNS, PV_PRE, 0, 0, first->obj->schema, first->obj->name);
		pv_buf b = PV_BUF_INIT;
		for (int e = 0; e < plan.nevents; e++) {
			relinfo *ri = &R->v[mem[plan.events[e].table]];
			const char *text = lcol_text(ri, t[plan.events[e].table].cols[plan.events[e].col].name);
			while (text && (*text == '\n' || *text == ' '))
				text++;
			pv_buf_printf(&b, "%sALTER TABLE %s ADD COLUMN %s;", b.len ? "\n" : "", ri->qname, text ? text : "?");
		}
		for (int o2 = 0; o2 < n; o2++) {
			int i = plan.create_order[o2];
			relinfo *ri = &R->v[mem[i]];
			for (int j = plan.prefix[i]; j < t[i].ncols; j++)
				if (!t[i].cols[j].local)
					pv_buf_puts(&b, json_string_value(json_object_get(
					                    json_array_get(ri->colinfo, (size_t)j), "nn_sql")));
			pv_buf_puts(&b, ri->extra.len ? ri->extra.data : "");
			ri->replay = o;
			ri->prefix = plan.prefix[i];
			pv_obj_dep(o, ri->obj);
		}
		o->sql = pv_buf_detach(&b);
		R->replays = pv_realloc(R->replays, (size_t)(R->nreplays + 1) * sizeof *R->replays);
		R->replays[R->nreplays++] = o;
		pv_ih_plan_free(&plan);
	}
	for (int i = 0; i < n; i++) {
		free(cols[i]);
		free(par[i]);
	}
	free(cols);
	free(par);
	free(t);
}

/* Families (tables linked by inheritance, partitions aside) where CREATE TABLE ... INHERITS
 * alone would not keep some child's column order are replayed when a plan reproduces them
 * exactly; the others keep the standalone + ALTER TABLE ... INHERIT form. */
static void
plan_inheritance(reader *rd, rels *R)
{
	int *up = pv_malloc((size_t)(R->n ? R->n : 1) * sizeof *up);
	char *want = pv_calloc((size_t)R->n + 1, 1), *bad = pv_calloc((size_t)R->n + 1, 1);
	for (int i = 0; i < R->n; i++)
		up[i] = i;
	for (int i = 0; i < R->n; i++) {
		relinfo *ri = &R->v[i];
		if (!IS_TABLE(ri->kind) || ri->ispartition)
			continue;
		for (int p = 0; p < ri->nparents; p++) {
			relinfo *pi = pvc_find_rel(R, ri->parents[p]);
			if (pi)
				up[uf_find(up, i)] = uf_find(up, (int)(pi - R->v));
		}
	}
	for (int i = 0; i < R->n; i++) {
		relinfo *ri = &R->v[i];
		int root = uf_find(up, i);
		if (ri->kind != 'r' || ri->ispartition || ri->oftype || !ri->colinfo)
			bad[root] = 1;
		/* identity columns (with their sequences' names and options): not replayed */
		size_t j;
		json_t *c;
		json_array_foreach(ri->colinfo, j, c)
			if (json_is_true(json_object_get(c, "identity")))
				bad[root] = 1;
		else if (ri->nparents > 0 && !inherits_keeps_order(R, ri))
			want[root] = 1;
	}
	int *mem = pv_malloc((size_t)(R->n ? R->n : 1) * sizeof *mem);
	for (int root = 0; root < R->n; root++) {
		if (!want[root] || bad[root])
			continue;
		int n = 0;
		for (int i = 0; i < R->n; i++)
			if (uf_find(up, i) == root)
				mem[n++] = i;
		replay_family(rd, R, mem, n);
	}
	free(mem);
	free(up);
	free(want);
	free(bad);
}

/* What waits for a replayed table (its indexes, data, views, children elsewhere...) waits
 * for the family's ADD COLUMN entry instead, which also carries the members' comments.
 * What the members' own creation needs is left alone (no loop can appear). */
void
pvc_redirect_replayed(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	int n = pv_graph_count(g);
	if (!R->nreplays)
		return;
	pv_obj **fam = pv_calloc((size_t)n, sizeof *fam);
	char *prereq = pv_calloc((size_t)n, 1), *isrep = pv_calloc((size_t)n, 1);
	int *stack = pv_malloc((size_t)n * sizeof *stack), sp = 0;
	for (int i = 0; i < R->n; i++)
		if (R->v[i].replay) {
			fam[R->v[i].obj->id] = R->v[i].replay;
			prereq[R->v[i].obj->id] = 1;
			stack[sp++] = R->v[i].obj->id;
			if (R->v[i].obj->comments) {
				pv_obj_add_comment(R->v[i].replay, R->v[i].obj->comments);
				free(R->v[i].obj->comments);
				R->v[i].obj->comments = NULL;
			}
		}
	for (int i = 0; i < R->nreplays; i++)
		isrep[R->replays[i]->id] = 1;
	while (sp > 0) {
		pv_obj *o = pv_graph_get(g, stack[--sp]);
		for (int j = 0; j < o->ndeps; j++)
			if (!prereq[o->deps[j]]) {
				prereq[o->deps[j]] = 1;
				stack[sp++] = o->deps[j];
			}
	}
	for (int i = 0; i < n; i++) {
		pv_obj *o = pv_graph_get(g, i);
		if (prereq[i] || isrep[i])
			continue;
		for (int j = 0; j < o->ndeps; j++) {
			pv_obj *r = fam[o->deps[j]];
			if (!r)
				continue;
			int dup = 0;
			for (int k = 0; k < o->ndeps && !dup; k++)
				dup = o->deps[k] == r->id;
			if (dup)
				o->deps[j--] = o->deps[--o->ndeps];
			else
				o->deps[j] = r->id;
		}
	}
	free(fam);
	free(prereq);
	free(isrep);
	free(stack);
}

/* The data entry of table ri: its rows, copied with its non-generated columns (and routed
 * through the root of a partitioned table hashed on an enum, whose partitions the enum's
 * OIDs decide). */
static void
table_data(reader *rd, rels *R, relinfo *ri)
{
	pv_graph *g = rd->cat->g;
	pv_obj *d = pv_graph_add(g, K_TABLE_DATA, PV_DATA, 0, 0, ri->obj->schema, ri->obj->name);
	pv_obj_dep(d, ri->obj);
	pv_buf cols_list = PV_BUF_INIT;
	size_t idx;
	json_t *c;
	json_array_foreach(ri->copycols, idx, c) {
		if (idx)
			pv_buf_puts(&cols_list, ", ");
		pv_buf_ident(&cols_list, rd->c, json_string_value(c));
	}
	/* strings and an array (never NULL) into a new object: cannot fail */
	d->extra = json_object();
	(void)pvj_set_str(d->extra, "table", ri->qname);
	(void)pvj_set_copy(d->extra, "columns", ri->copycols);
	(void)pvj_set_str(d->extra, "column_list", cols_list.len ? cols_list.data : "");
	(void)pvj_set_int(d->extra, "relid", ri->oid);
	/* hash partitioning of an enum depends on the enum's OIDs: route rows again */
	if (ri->ispartition) {
		relinfo *root = ri, *x = ri;
		int hash_enum = 0;
		while (x && x->ispartition && x->nparents == 1 && (x = pvc_find_rel(R, x->parents[0])) != NULL) {
			hash_enum |= x->hash_enum;
			root = x;
		}
		if (hash_enum)
			(void)pvj_set_str(d->extra, "load_via", root->qname);
	}
	pv_buf_free(&cols_list);
}

/* A CHECK on a parent is added after its whole inheritance / partition tree exists and is
 * attached: it then reaches the children the way it did in the source. */
static void
checks_after_trees(pv_graph *g, rels *R)
{
	int n = pv_graph_count(g);
	for (int i = 0; i < n; i++) {
		pv_obj *o = pv_graph_get(g, i);
		if ((o->kind != K_CHECK && o->kind != K_CHECK_LATE) || !o->ndeps)
			continue;
		pv_obj *t = pv_graph_get(g, o->deps[0]);
		for (int j = 0; j < R->n; j++) {
			relinfo *ri = &R->v[j];
			if (ri->nparents && is_ancestor(R, ri, t, 0)) {
				pv_obj_dep(o, ri->obj);
				if (ri->attach)
					pv_obj_dep(o, ri->attach);
			}
		}
	}
}

void
pvc_build_tables(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	plan_inheritance(rd, R);
	for (int i = 0; i < R->n; i++) {
		relinfo *ri = &R->v[i];
		if (!IS_TABLE(ri->kind))
			continue;
		/* Partitions, typed tables and children whose column order CREATE TABLE ... INHERITS
		 * would change are created standalone with all their columns, then attached. */
		int use_inherits = ri->nparents > 0 && !ri->ispartition && !ri->oftype &&
		                   (ri->replay || inherits_keeps_order(R, ri));
		/* replayed: CREATE TABLE makes the first `prefix` columns (the ADD COLUMN entry
		 * the rest, and the per-column settings) */
		json_t *prefix = NULL;
		pv_buf inh_extra = PV_BUF_INIT;
		if (ri->replay) {
			prefix = json_object();
			for (int j = 0; j < ri->prefix; j++) {
				json_t *c = json_array_get(ri->colinfo, (size_t)j);
				/* a column name into a set: cannot fail */
				(void)pvj_set_bool(prefix, json_string_value(json_object_get(c, "name")), 1);
				pv_buf_puts(&inh_extra, json_string_value(json_object_get(c, "inh_sql")));
			}
		} else
			pv_buf_puts(&inh_extra, ri->inh_extra.len ? ri->inh_extra.data : "");
		pv_buf b = PV_BUF_INIT, lcols = PV_BUF_INIT;
		size_t li;
		json_t *lc;
		int nl = 0;
		json_array_foreach(ri->lcols, li, lc) {
			const char *cn = json_string_value(json_object_get(lc, "name"));
			if (prefix && !json_object_get(prefix, cn))
				continue;
			int parent_generates = 0;
			for (int p = 0; p < ri->nparents; p++) {
				relinfo *pi = pvc_find_rel(R, ri->parents[p]);
				if (pi && json_object_get(pi->generated, cn))
					parent_generates = 1;
			}
			/* up to 15 a child cannot give an inherited generated column an expression of
			 * its own: it takes the parent's; from 16 on it may (and must, when two parents
			 * disagree), so the child's own expression is kept */
			if (rd->v >= 160000)
				parent_generates = 0;
			json_t *t = parent_generates && json_object_get(lc, "text_inherited")
			                ? json_object_get(lc, "text_inherited") : json_object_get(lc, "text");
			pv_buf_printf(&lcols, "%s%s", nl++ ? "," : "", json_string_value(t));
		}
		if (use_inherits && !ri->replay && ri->inh_items.len)
			/* the items start with ",": after the columns, or alone */
			pv_buf_puts(&lcols, ri->inh_items.data + (lcols.len ? 0 : 1));
		json_decref(prefix);
		pv_buf *cols = use_inherits || ri->replay ? &lcols : &ri->cols;
		pv_buf_printf(&b, "CREATE %sTABLE %s (", ri->kind == 'f' ? "FOREIGN " : ri->persistence == 'u' ? "UNLOGGED " : "",
		              ri->qname);
		pv_buf_puts(&b, cols->len ? cols->data : "");
		pv_buf_puts(&b, cols->len ? "\n)" : ")");
		if (use_inherits) {
			pv_buf_puts(&b, "\nINHERITS (");
			for (int p = 0; p < ri->nparents; p++)
				pv_buf_printf(&b, "%s%s", p ? ", " : "", pvc_find_rel(R, ri->parents[p])->qname);
			pv_buf_putc(&b, ')');
		}
		if (ri->partkey)
			pv_buf_printf(&b, "\nPARTITION BY %s", ri->partkey);
		if (ri->using_am)
			pv_buf_puts(&b, ri->using_am);
		if (ri->server)
			pv_buf_printf(&b, "\n%s", ri->server);
		if (ri->withopts)
			pv_buf_printf(&b, " %s", ri->withopts);
		pv_buf_puts(&b, ";");
		if (use_inherits)
			pv_buf_puts(&b, inh_extra.len ? inh_extra.data : "");
		else if (!ri->ispartition)
			for (int p = 0; p < ri->nparents; p++) {
				relinfo *pi = pvc_find_rel(R, ri->parents[p]);
				if (pi)
					pv_buf_printf(&b, "\nALTER TABLE ONLY %s INHERIT %s;", ri->qname, pi->qname);
			}
		if (ri->oftype)
			pv_buf_printf(&b, "\nALTER TABLE ONLY %s OF %s;", ri->qname, ri->oftype);
		if (!ri->replay)
			pv_buf_puts(&b, ri->extra.len ? ri->extra.data : "");
		ri->obj->sql = pv_buf_detach(&b);
		pv_buf_free(&lcols);
		pv_buf_free(&inh_extra);

		if (ri->ispartition && ri->nparents == 1 && ri->partbound) {
			relinfo *pi = pvc_find_rel(R, ri->parents[0]);
			if (pi) {
				pv_obj *at = pv_graph_add(g, K_ATTACH, PV_PRE, 0, 0, ri->obj->schema, ri->obj->name);
				at->sql = pv_asprintf("ALTER TABLE ONLY %s ATTACH PARTITION %s %s;", pi->qname,
				                      ri->qname, ri->partbound);
				pv_obj_dep(at, ri->obj);
				pv_obj_dep(at, pi->obj);
				ri->attach = at;
			}
		}
		if (ri->kind != 'r')
			continue; /* partitioned and foreign tables have no rows of their own */
		if (rd->standby && ri->persistence == 'u') {
			pvc_warning(rd, "unlogged table %s: its rows are not in the bundle: a standby has none "
			            "(unlogged tables are not replicated; back up from the primary to keep them)",
			            ri->qname);
			continue;
		}
		table_data(rd, R, ri);
	}
	checks_after_trees(g, R);
	/* matview refreshes follow the refreshes of matviews they read: added in deps pass */
}
