/*
 * schema/graph.c — object graph, catalog-identity map, dependency sort, and the search for a
 * dependency cycle that the loop repair rule (registered by the graph's builder) breaks
 * (see graph.h).
 */
#include "schema/graph.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"

typedef struct ident {
	pv_oid classid, oid;
	int obj;
} ident;

struct pv_graph {
	pv_obj **objs;
	int n, cap;
	ident *map; /* open addressing */
	size_t mapcap, mapn;
	pv_obj **sorted;
	pv_repair_fn repair;
	void *repair_arg;
};

static const char *kind_names[K_NKINDS] = {
	"schema", "procedural language", "collation", "transform", "extension", "shell type", "type",
	"domain", "cast", "function", "aggregate", "access method", "operator", "operator family",
	"operator class", "conversion", "text search parser", "text search template",
	"text search dictionary", "text search configuration", "foreign-data wrapper", "server",
	"user mapping", "sequence", "table", "view", "materialized view", "partition attach",
	"inherited columns",
	"default", "check constraint", "sequence owner", "database settings", "privileges",
	"table data", "sequence value", "large object",
	"constraint", "index", "index attach", "index property", "statistics", "rule", "trigger",
	"foreign key", "check constraint", "policy", "row security", "publication",
	"publication table", "publication schema", "subscription", "default privileges",
	"event trigger", "materialized view refresh", "view definition",
};

const char *
pv_kind_name(pv_kind k)
{
	return k < K_NKINDS ? kind_names[k] : "object";
}

pv_graph *
pv_graph_new(void)
{
	pv_graph *g = pv_calloc(1, sizeof *g);
	g->mapcap = 1024;
	g->map = pv_calloc(g->mapcap, sizeof *g->map);
	return g;
}

static void
obj_free(pv_obj *o)
{
	free(o->schema);
	free(o->name);
	free(o->sql);
	free(o->owner);
	free(o->owner_target);
	free(o->acl_target);
	free(o->comments);
	for (int i = 0; i < o->nacl; i++) {
		free(o->acl[i].privs);
		free(o->acl[i].columns);
		free(o->acl[i].grantee);
		free(o->acl[i].grantor);
	}
	free(o->acl);
	free(o->deps);
	if (o->extra)
		json_decref(o->extra);
	if (o->ops && o->def)
		o->ops->free(o->def);
	free(o);
}

void
pv_graph_free(pv_graph *g)
{
	if (!g)
		return;
	for (int i = 0; i < g->n; i++)
		obj_free(g->objs[i]);
	free(g->objs);
	free(g->map);
	free(g->sorted);
	free(g);
}

static size_t
hash_ident(pv_oid classid, pv_oid oid)
{
	uint64_t h = ((uint64_t)classid << 32) ^ oid;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h;
}

static void map_put(pv_graph *g, pv_oid classid, pv_oid oid, int obj);

static void
map_grow(pv_graph *g)
{
	ident *old = g->map;
	size_t oldcap = g->mapcap;
	g->mapcap *= 2;
	g->map = pv_calloc(g->mapcap, sizeof *g->map);
	g->mapn = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].classid)
			map_put(g, old[i].classid, old[i].oid, old[i].obj);
	free(old);
}

static void
map_put(pv_graph *g, pv_oid classid, pv_oid oid, int obj)
{
	if ((g->mapn + 1) * 2 > g->mapcap)
		map_grow(g);
	size_t i = hash_ident(classid, oid) & (g->mapcap - 1);
	while (g->map[i].classid && !(g->map[i].classid == classid && g->map[i].oid == oid))
		i = (i + 1) & (g->mapcap - 1);
	if (!g->map[i].classid)
		g->mapn++;
	g->map[i].classid = classid;
	g->map[i].oid = oid;
	g->map[i].obj = obj;
}

pv_obj *
pv_graph_lookup(pv_graph *g, pv_oid classid, pv_oid oid)
{
	size_t i = hash_ident(classid, oid) & (g->mapcap - 1);
	while (g->map[i].classid) {
		if (g->map[i].classid == classid && g->map[i].oid == oid)
			return g->objs[g->map[i].obj];
		i = (i + 1) & (g->mapcap - 1);
	}
	return NULL;
}

void
pv_graph_alias(pv_graph *g, pv_oid classid, pv_oid oid, pv_obj *o)
{
	if (classid && oid)
		map_put(g, classid, oid, o->id);
}

void
pv_graph_fold(pv_graph *g, pv_obj *o, pv_obj *into)
{
	if (o == into)
		return;
	o->dump = 0;
	for (size_t i = 0; i < g->mapcap; i++)
		if (g->map[i].classid && g->map[i].obj == o->id)
			g->map[i].obj = into->id;
	for (int i = 0; i < g->n; i++) {
		pv_obj *d = g->objs[i];
		int k = 0;
		for (int j = 0; j < d->ndeps; j++) {
			int to = d->deps[j] == o->id ? into->id : d->deps[j];
			int dup = to == d->id;
			for (int m = 0; m < k && !dup; m++)
				dup = d->deps[m] == to;
			if (!dup)
				d->deps[k++] = to;
		}
		d->ndeps = k;
	}
}

void
pv_obj_set_def(pv_obj *o, const pv_kind_ops *ops, void *def)
{
	if (o->ops && o->def)
		o->ops->free(o->def);
	o->ops = ops;
	o->def = def;
}

pv_obj *
pv_graph_add(pv_graph *g, pv_kind kind, pv_section sec, pv_oid classid, pv_oid oid,
             const char *schema, const char *name)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 256;
		g->objs = pv_realloc(g->objs, g->cap * sizeof *g->objs);
	}
	pv_obj *o = pv_calloc(1, sizeof *o);
	o->id = g->n;
	o->kind = kind;
	o->section = sec;
	o->classid = classid;
	o->oid = oid;
	o->schema = schema ? pv_strdup(schema) : NULL;
	o->name = pv_strdup(name ? name : "");
	o->dump = 1;
	g->objs[g->n++] = o;
	if (classid && oid && !pv_graph_lookup(g, classid, oid))
		map_put(g, classid, oid, o->id);
	return o;
}

pv_obj *
pv_graph_get(pv_graph *g, int id)
{
	return id >= 0 && id < g->n ? g->objs[id] : NULL;
}

int
pv_graph_count(pv_graph *g)
{
	return g->n;
}

void
pv_obj_dep(pv_obj *o, pv_obj *on)
{
	if (!on || on == o)
		return;
	for (int i = 0; i < o->ndeps; i++)
		if (o->deps[i] == on->id)
			return;
	if (o->ndeps == o->cdeps) {
		o->cdeps = o->cdeps ? o->cdeps * 2 : 4;
		o->deps = pv_realloc(o->deps, o->cdeps * sizeof *o->deps);
	}
	o->deps[o->ndeps++] = on->id;
}

void
pv_obj_undep(pv_obj *o, int on)
{
	for (int i = 0; i < o->ndeps; i++)
		if (o->deps[i] == on) {
			memmove(&o->deps[i], &o->deps[i + 1], (size_t)(o->ndeps - i - 1) * sizeof *o->deps);
			o->ndeps--;
			return;
		}
}

int
pv_obj_depends(const pv_obj *o, int on)
{
	for (int i = 0; i < o->ndeps; i++)
		if (o->deps[i] == on)
			return 1;
	return 0;
}

void
pv_graph_set_repair(pv_graph *g, pv_repair_fn fn, void *arg)
{
	g->repair = fn;
	g->repair_arg = arg;
}

void
pv_obj_add_acl(pv_obj *o, int revoke, const char *privs, const char *columns,
               const char *grantee, const char *grantor, int grant_option)
{
	if (o->nacl == o->cacl) {
		o->cacl = o->cacl ? o->cacl * 2 : 4;
		o->acl = pv_realloc(o->acl, o->cacl * sizeof *o->acl);
	}
	pv_acl_item *a = &o->acl[o->nacl++];
	a->revoke = revoke;
	a->privs = pv_strdup(privs);
	a->columns = columns ? pv_strdup(columns) : NULL;
	a->grantee = grantee ? pv_strdup(grantee) : NULL;
	a->grantor = grantor ? pv_strdup(grantor) : NULL;
	a->grant_option = grant_option;
}

void
pv_obj_add_comment(pv_obj *o, const char *sql)
{
	pv_buf b = PV_BUF_INIT;
	if (o->comments)
		pv_buf_puts(&b, o->comments);
	pv_buf_puts(&b, sql);
	pv_buf_putc(&b, '\n');
	free(o->comments);
	o->comments = pv_buf_detach(&b);
}

char *
pv_obj_label(const pv_obj *o)
{
	if (o->schema)
		return pv_asprintf("%s %s.%s", pv_kind_name(o->kind), o->schema, o->name);
	return pv_asprintf("%s %s", pv_kind_name(o->kind), o->name);
}

static int
presort_cmp(const void *pa, const void *pb)
{
	const pv_obj *a = *(pv_obj *const *)pa, *b = *(pv_obj *const *)pb;
	int c;
	if (a->section != b->section)
		return (int)a->section - (int)b->section;
	if (a->late != b->late)
		return a->late - b->late;
	if (a->kind != b->kind)
		return (int)a->kind - (int)b->kind;
	if ((c = pv_strcmp_null(a->schema, b->schema)) != 0)
		return c;
	if ((c = strcmp(a->name, b->name)) != 0)
		return c;
	if (a->oid != b->oid)
		return a->oid < b->oid ? -1 : 1;
	return a->id - b->id;
}

/* Binary min-heap of object ranks. */
typedef struct heap {
	int *v;
	int n;
} heap;

static void
heap_push(heap *h, int x)
{
	int i = h->n++;
	h->v[i] = x;
	while (i > 0 && h->v[(i - 1) / 2] > h->v[i]) {
		int p = (i - 1) / 2, t = h->v[p];
		h->v[p] = h->v[i];
		h->v[i] = t;
		i = p;
	}
}

static int
heap_pop(heap *h)
{
	int top = h->v[0];
	h->v[0] = h->v[--h->n];
	int i = 0;
	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && h->v[l] < h->v[m])
			m = l;
		if (r < h->n && h->v[r] < h->v[m])
			m = r;
		if (m == i)
			break;
		int t = h->v[m];
		h->v[m] = h->v[i];
		h->v[i] = t;
		i = m;
	}
	return top;
}

/* One topological pass: fills g->sorted and returns how many objects it placed; the
 * objects it could not place keep done = 0. */
static int
sort_pass(pv_graph *g)
{
	int n = g->n;
	pv_obj **pre = pv_malloc((n ? n : 1) * sizeof *pre);
	memcpy(pre, g->objs, n * sizeof *pre);
	qsort(pre, n, sizeof *pre, presort_cmp);
	for (int i = 0; i < n; i++) {
		pre[i]->rank = i;
		pre[i]->indeg = 0;
		pre[i]->done = 0;
	}
	/* reverse adjacency: for each object, who depends on it */
	int *cnt = pv_calloc(n + 1, sizeof *cnt);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < g->objs[i]->ndeps; j++) {
			cnt[g->objs[i]->deps[j] + 1]++;
			g->objs[i]->indeg++;
		}
	for (int i = 0; i < n; i++)
		cnt[i + 1] += cnt[i];
	int *rev = pv_malloc((cnt[n] ? cnt[n] : 1) * sizeof *rev);
	int *fill = pv_calloc(n + 1, sizeof *fill);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < g->objs[i]->ndeps; j++) {
			int d = g->objs[i]->deps[j];
			rev[cnt[d] + fill[d]++] = i;
		}

	heap h = {pv_malloc((n ? n : 1) * sizeof(int)), 0};
	for (int i = 0; i < n; i++)
		if (pre[i]->indeg == 0)
			heap_push(&h, i);
	free(g->sorted);
	g->sorted = pv_malloc((n ? n : 1) * sizeof *g->sorted);
	int out = 0;
	while (h.n > 0) {
		pv_obj *o = pre[heap_pop(&h)];
		o->done = 1;
		o->eff_section = o->section;
		for (int j = 0; j < o->ndeps; j++) {
			pv_obj *d = g->objs[o->deps[j]];
			if (d->eff_section > o->eff_section)
				o->eff_section = d->eff_section;
		}
		g->sorted[out++] = o;
		for (int k = cnt[o->id]; k < cnt[o->id + 1]; k++) {
			pv_obj *w = g->objs[rev[k]];
			if (--w->indeg == 0)
				heap_push(&h, w->rank);
		}
	}
	free(h.v);
	free(rev);
	free(fill);
	free(cnt);
	free(pre);
	return out;
}

/* The first dependency of o that the pass could not place (every stuck object has one). */
static int
stuck_dep(pv_graph *g, const pv_obj *o, int j)
{
	for (; j < o->ndeps; j++)
		if (!g->objs[o->deps[j]]->done)
			return j;
	return -1;
}

/* One cycle among the stuck objects, as short as a breadth-first search from one of its
 * members finds it: cycle[0] depends on cycle[1], ..., the last on cycle[0].  Starts from
 * the stuck object that comes first in the pre-sort, so the same graph gives the same
 * cycle.  Returns its length (0 if there is none, which cannot happen after a stuck pass). */
static int
find_cycle(pv_graph *g, pv_obj ***cycle)
{
	int n = g->n;
	*cycle = NULL;
	pv_obj *start = NULL;
	for (int i = 0; i < n; i++)
		if (!g->objs[i]->done && (!start || g->objs[i]->rank < start->rank))
			start = g->objs[i];
	if (!start)
		return 0;
	/* follow stuck dependencies until an object repeats: that object is on a cycle */
	int *step = pv_malloc((size_t)n * sizeof *step);
	for (int i = 0; i < n; i++)
		step[i] = -1;
	pv_obj *o = start;
	for (int k = 0; step[o->id] < 0; k++) {
		step[o->id] = k;
		int j = stuck_dep(g, o, 0);
		if (j < 0) {
			free(step);
			return 0;
		}
		o = g->objs[o->deps[j]];
	}
	/* breadth-first from o over stuck dependencies back to o: the shortest cycle through o */
	int *from = step, *queue = pv_malloc((size_t)n * sizeof *queue);
	for (int i = 0; i < n; i++)
		from[i] = -2;
	int qh = 0, qt = 0, last = -1;
	queue[qt++] = o->id;
	from[o->id] = -1;
	while (qh < qt && last < 0) {
		pv_obj *x = g->objs[queue[qh++]];
		for (int j = stuck_dep(g, x, 0); j >= 0; j = stuck_dep(g, x, j + 1)) {
			int d = x->deps[j];
			if (d == o->id) {
				last = x->id;
				break;
			}
			if (from[d] == -2) {
				from[d] = x->id;
				queue[qt++] = d;
			}
		}
	}
	int len = 0;
	if (last >= 0) {
		for (int x = last; x >= 0; x = from[x])
			len++;
		*cycle = pv_malloc((size_t)len * sizeof **cycle);
		/* from[] walks back towards o: o, ..., last is the order of "depends on" */
		int k = len;
		for (int x = last; x >= 0; x = from[x])
			(*cycle)[--k] = g->objs[x];
	}
	free(queue);
	free(step);
	return len;
}

/* "a needs b, which needs c, which needs a" */
static void
describe_cycle(pv_buf *b, pv_obj **cycle, int len)
{
	for (int i = 0; i <= len; i++) {
		if (i == 20 && len > 21) {
			pv_buf_printf(b, ", ... (%d objects in all)", len);
			break;
		}
		char *l = pv_obj_label(cycle[i % len]);
		pv_buf_printf(b, "%s%s", i == 0 ? "" : i == 1 ? " needs " : ", which needs ", l);
		free(l);
	}
}

/* Each repair removes or redirects an edge of the cycle it was given; a bound all the same,
 * so that a rule that fails to break its cycle cannot loop for ever. */
#define MAX_REPAIRS 10000

int
pv_graph_sort(pv_graph *g)
{
	for (int repairs = 0;; repairs++) {
		if (sort_pass(g) == g->n)
			break;
		pv_obj **cycle;
		int len = find_cycle(g, &cycle);
		if (len == 0) {
			free(cycle);
			return pv_fail("could not resolve a dependency loop (no cycle found among the stuck objects)");
		}
		int r = g->repair && repairs < MAX_REPAIRS ? g->repair(g, cycle, len, g->repair_arg) : 0;
		if (r <= 0) {
			pv_buf b = PV_BUF_INIT;
			describe_cycle(&b, cycle, len);
			free(cycle);
			int rc = r < 0 ? pv_wrap("repairing the dependency loop %s", b.data)
			               : pv_fail("could not resolve a dependency loop: %s", b.data);
			pv_buf_free(&b);
			return rc;
		}
		free(cycle);
	}
	/* Stable by effective section, keeping topological order within each. */
	int n = g->n;
	pv_obj **tmp = pv_malloc((n ? n : 1) * sizeof *tmp);
	int k = 0;
	for (int s = PV_PRE; s <= PV_POST; s++)
		for (int i = 0; i < n; i++)
			if (g->sorted[i]->eff_section == s)
				tmp[k++] = g->sorted[i];
	free(g->sorted);
	g->sorted = tmp;
	return 0;
}

pv_obj *
pv_graph_sorted(pv_graph *g, int i)
{
	return g->sorted && i >= 0 && i < g->n ? g->sorted[i] : NULL;
}
