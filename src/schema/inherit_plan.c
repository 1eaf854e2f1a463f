/*
 * schema/inherit_plan.c — plans (and checks by simulation) the replay of an inheritance family:
 * how many columns each table is created with, and the ALTER TABLE ... ADD COLUMNs that
 * follow.  See inherit_plan.h.  Families are small; quadratic scans are fine here.
 */
#include "schema/inherit_plan.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

static int
col_index(const pv_ih_table *t, const char *name)
{
	for (int i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return i;
	return -1;
}

/* One column of a table being simulated. */
typedef struct scol {
	const char *name;
	int local, inh;
} scol;

typedef struct stab {
	scol *v;
	int n, cap;
	int created;
} stab;

static scol *
sim_find(stab *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return &s->v[i];
	return NULL;
}

static void
sim_append(stab *s, const char *name, int local, int inh)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = pv_realloc(s->v, (size_t)s->cap * sizeof *s->v);
	}
	s->v[s->n++] = (scol){name, local, inh};
}

/* ALTER TABLE ... ADD COLUMN reaching table `at` through inheritance: a child that has the
 * column already merges it (one more parent, no further recursion); otherwise it gets the
 * column, not local, and passes it on. */
static void
sim_add_to_children(const pv_ih_table *t, int n, stab *S, int at, const char *name, int depth)
{
	if (depth > n)
		return; /* inheritance cannot loop; a bound all the same */
	for (int c = 0; c < n; c++) {
		if (!S[c].created)
			continue;
		for (int p = 0; p < t[c].nparents; p++) {
			if (t[c].parents[p] != at)
				continue;
			scol *x = sim_find(&S[c], name);
			if (x)
				x->inh++;
			else {
				sim_append(&S[c], name, 0, 1);
				sim_add_to_children(t, n, S, c, name, depth + 1);
			}
		}
	}
}

/* Runs the plan the way PostgreSQL would and compares with the source: 0 when identical. */
static int
simulate(const pv_ih_table *t, int n, const pv_ih_plan *p)
{
	stab *S = pv_calloc((size_t)n, sizeof *S);
	int rc = 0;
	for (int o = 0; o < n; o++) {
		int ti = p->create_order[o];
		stab *s = &S[ti];
		for (int q = 0; q < t[ti].nparents; q++) {
			stab *ps = &S[t[ti].parents[q]];
			for (int j = 0; j < ps->n; j++) {
				scol *x = sim_find(s, ps->v[j].name);
				if (x)
					x->inh++;
				else
					sim_append(s, ps->v[j].name, 0, 1);
			}
		}
		/* the local columns of the prefix are written in CREATE TABLE */
		for (int j = 0; j < p->prefix[ti]; j++) {
			if (!t[ti].cols[j].local)
				continue;
			scol *x = sim_find(s, t[ti].cols[j].name);
			if (x)
				x->local = 1;
			else
				sim_append(s, t[ti].cols[j].name, 1, 0);
		}
		s->created = 1;
	}
	for (int e = 0; e < p->nevents; e++) {
		const pv_ih_event *ev = &p->events[e];
		const char *name = t[ev->table].cols[ev->col].name;
		if (sim_find(&S[ev->table], name)) {
			rc = -1;
			break;
		}
		sim_append(&S[ev->table], name, 1, 0);
		sim_add_to_children(t, n, S, ev->table, name, 0);
	}
	for (int i = 0; rc == 0 && i < n; i++) {
		if (S[i].n != t[i].ncols) {
			rc = -1;
			break;
		}
		for (int j = 0; j < S[i].n; j++)
			if (strcmp(S[i].v[j].name, t[i].cols[j].name) != 0 || S[i].v[j].local != t[i].cols[j].local ||
			    S[i].v[j].inh != t[i].cols[j].inh) {
				rc = -1;
				break;
			}
	}
	for (int i = 0; i < n; i++)
		free(S[i].v);
	free(S);
	return rc;
}

/* Prefix lengths: each table starts with everything and gives up columns until every
 * child's creation (its parents' prefixes merged, then its own columns) matches the
 * child's real leading columns.  Lengths only shrink, so this ends. */
static int
plan_prefixes(const pv_ih_table *t, int n, int *k)
{
	for (int i = 0; i < n; i++)
		k[i] = t[i].ncols;
	const char **mname = NULL;
	int *msrc = NULL, *mpos = NULL, mcap = 0;
	int rc = 0;
	for (int changed = 1; changed && rc == 0;) {
		changed = 0;
		for (int ti = 0; ti < n && !changed && rc == 0; ti++) {
			/* the merged prefixes of the parents */
			int m = 0;
			for (int q = 0; q < t[ti].nparents; q++) {
				int pi = t[ti].parents[q];
				for (int j = 0; j < k[pi]; j++) {
					int dup = 0;
					for (int x = 0; x < m && !dup; x++)
						dup = strcmp(mname[x], t[pi].cols[j].name) == 0;
					if (dup)
						continue;
					if (m == mcap) {
						mcap = mcap ? mcap * 2 : 16;
						mname = pv_realloc(mname, (size_t)mcap * sizeof *mname);
						msrc = pv_realloc(msrc, (size_t)mcap * sizeof *msrc);
						mpos = pv_realloc(mpos, (size_t)mcap * sizeof *mpos);
					}
					mname[m] = t[pi].cols[j].name;
					msrc[m] = pi;
					mpos[m++] = j;
				}
			}
			for (int i = 0; i < m; i++)
				if (i >= k[ti] || strcmp(mname[i], t[ti].cols[i].name) != 0) {
					/* that column reached the child later: it is late in its parent */
					if (mpos[i] >= k[msrc[i]]) {
						rc = -1; /* cannot shrink further */
						break;
					}
					k[msrc[i]] = mpos[i];
					changed = 1;
					break;
				}
			if (changed || rc)
				continue;
			/* after the inherited ones, CREATE TABLE makes only the child's own columns */
			for (int i = m; i < k[ti]; i++)
				if (t[ti].cols[i].inh > 0) {
					k[ti] = i;
					changed = 1;
					break;
				}
		}
	}
	free(mname);
	free(msrc);
	free(mpos);
	return rc;
}

/* The table whose own late column `name` reaches table ti: -1 if none or not one. */
static int
origin_of(const pv_ih_table *t, int n, const int *k, int ti, const char *name)
{
	int found = -1;
	/* ancestors, breadth first, each once */
	int *queue = pv_malloc((size_t)n * sizeof *queue);
	char *seen = pv_calloc((size_t)n, 1);
	int qh = 0, qt = 0;
	for (int q = 0; q < t[ti].nparents; q++)
		if (!seen[t[ti].parents[q]]) {
			seen[t[ti].parents[q]] = 1;
			queue[qt++] = t[ti].parents[q];
		}
	while (qh < qt) {
		int a = queue[qh++];
		int c = col_index(&t[a], name);
		if (c >= 0 && t[a].cols[c].inh == 0) {
			if (found >= 0 || c < k[a]) {
				found = -2;
				break;
			}
			found = a;
		}
		for (int q = 0; q < t[a].nparents; q++)
			if (!seen[t[a].parents[q]]) {
				seen[t[a].parents[q]] = 1;
				queue[qt++] = t[a].parents[q];
			}
	}
	free(queue);
	free(seen);
	return found >= 0 ? found : -1;
}

int
pv_ih_plan_make(const pv_ih_table *t, int n, pv_ih_plan *out)
{
	memset(out, 0, sizeof *out);
	if (n <= 0)
		return -1;
	out->prefix = pv_malloc((size_t)n * sizeof *out->prefix);
	out->create_order = pv_malloc((size_t)n * sizeof *out->create_order);
	int total = 0;
	for (int i = 0; i < n; i++)
		total += t[i].ncols;
	/* events are (table, col) pairs; ids = offset of the table + col */
	int *base = pv_malloc((size_t)n * sizeof *base);
	for (int i = 0, b = 0; i < n; i++) {
		base[i] = b;
		b += t[i].ncols;
	}
	int *used = pv_calloc((size_t)total + 1, sizeof *used);
	int (*edge)[2] = NULL; /* edge[i][0] comes before edge[i][1] */
	int nedge = 0, cedge = 0;
	int *indeg = pv_calloc((size_t)total + 1, sizeof *indeg);
	int rc = plan_prefixes(t, n, out->prefix);

	/* creation order: parents first, otherwise family order */
	char *made = pv_calloc((size_t)n, 1);
	for (int o = 0; rc == 0 && o < n; o++) {
		int pick = -1;
		for (int i = 0; i < n && pick < 0; i++) {
			if (made[i])
				continue;
			int ready = 1;
			for (int q = 0; q < t[i].nparents && ready; q++)
				ready = made[t[i].parents[q]];
			if (ready)
				pick = i;
		}
		if (pick < 0)
			rc = -1;
		else {
			made[pick] = 1;
			out->create_order[o] = pick;
		}
	}
	free(made);

	/* the late columns of every table, as events in that table's order */
	for (int ti = 0; rc == 0 && ti < n; ti++) {
		int prev = -1;
		for (int i = out->prefix[ti]; rc == 0 && i < t[ti].ncols; i++) {
			const pv_ih_col *c = &t[ti].cols[i];
			int ev;
			if (c->inh == 0 && c->local)
				ev = base[ti] + i;
			else if (c->inh > 0 && !c->local) {
				int a = origin_of(t, n, out->prefix, ti, c->name);
				if (a < 0) {
					rc = -1;
					break;
				}
				const pv_ih_col *oc = &t[a].cols[col_index(&t[a], c->name)];
				/* a NOT NULL column passes NOT NULL on; the reverse is set afterwards */
				if (oc->notnull && !c->notnull) {
					rc = -1;
					break;
				}
				ev = base[a] + col_index(&t[a], c->name);
			} else {
				rc = -1; /* merged with a later parent column: not replayed */
				break;
			}
			used[ev] = 1;
			if (prev >= 0) {
				if (nedge == cedge) {
					cedge = cedge ? cedge * 2 : 16;
					edge = pv_realloc(edge, (size_t)cedge * sizeof *edge);
				}
				edge[nedge][0] = prev;
				edge[nedge++][1] = ev;
				indeg[ev]++;
			}
			prev = ev;
		}
	}
	/* the events of every table owning columns, sorted (ties: family order, then column) */
	if (rc == 0) {
		int nused = 0;
		int *cand = pv_malloc((size_t)(total ? total : 1) * sizeof *cand);
		for (int e = 0; e < total; e++)
			if (used[e])
				cand[nused++] = e;
		out->events = pv_malloc((size_t)(nused ? nused : 1) * sizeof *out->events);
		for (int done = 0; done < nused && rc == 0; done++) {
			int pick = -1;
			for (int x = 0; x < nused && pick < 0; x++)
				if (used[cand[x]] == 1 && indeg[cand[x]] == 0)
					pick = cand[x];
			if (pick < 0) {
				rc = -1; /* the tables disagree about the order: no replay */
				break;
			}
			used[pick] = 2;
			for (int x = 0; x < nedge; x++)
				if (edge[x][0] == pick)
					indeg[edge[x][1]]--;
			int ti = 0;
			while (ti + 1 < n && base[ti + 1] <= pick)
				ti++;
			if (!t[ti].cols[pick - base[ti]].addable)
				rc = -1;
			out->events[out->nevents++] = (pv_ih_event){ti, pick - base[ti]};
		}
		free(cand);
	}
	free(base);
	free(used);
	free(edge);
	free(indeg);
	if (rc == 0)
		rc = simulate(t, n, out);
	if (rc != 0)
		pv_ih_plan_free(out);
	return rc;
}

void
pv_ih_plan_free(pv_ih_plan *p)
{
	free(p->prefix);
	free(p->create_order);
	free(p->events);
	memset(p, 0, sizeof *p);
}
