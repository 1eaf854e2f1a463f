/*
 * engine/restore_schema.c — replaying the schema (see restore_int.h): the entries of
 * pre-data.json and post-data.json with their owners and comments (post-data over the worker
 * pool with --jobs, as a dependency graph), their privileges and late entries queued for the
 * ACL pass and the late pass (default privileges, matview refreshes, event triggers), the
 * restore search_path given to search_path-dependent functions while things are built, and
 * large objects: created before their blob members, given their owners, comments and
 * privileges with the ACL pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/blobs.h"
#include "engine/restore_int.h"
#include "pg/catalog.h"
#include "pg/grant.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"

/* ---- schema entries ------------------------------------------------------------------- */

static char *
entry_label(json_t *e)
{
	const char *s = jstr(e, "schema");
	return pv_asprintf("%s %s%s%s", jstr(e, "kind"), s ? s : "", s ? "." : "", jstr(e, "name"));
}

static void
queue_acl(loader *L, json_t *e)
{
	json_t *acl = json_object_get(e, "acl");
	size_t i;
	json_t *a;
	json_array_foreach(acl, i, a) {
		pv_acl_sql(&L->acl_sql, L->c, jstr(e, "acl_target"), pvr_map_role(L, jstr(e, "owner")),
		           pvr_map_role(L, jstr(a, "grantor")), pvr_map_role(L, jstr(a, "grantee")),
		           jstr(a, "privs"), jstr(a, "columns"),
		           json_is_true(json_object_get(a, "revoke")),
		           json_is_true(json_object_get(a, "grant_option")));
	}
}

static void entry_sql(loader *L, json_t *e, pv_buf *b);

/* Late entries run with the ACL pass (default privileges) or after it (matview refreshes,
 * event triggers): queue them; 1 if e is one. */
static int
queue_late(loader *L, json_t *e)
{
	if (json_is_true(json_object_get(e, "acl_pass")))
		entry_sql(L, e, &L->acl_sql);
	else if (json_is_true(json_object_get(e, "late")))
		entry_sql(L, e, &L->late_sql);
	else
		return 0;
	return 1;
}

/* The statements of one entry: its SQL, owner, comments (ACLs are queued for later). */
static void
entry_sql(loader *L, json_t *e, pv_buf *b)
{
	if (jstr(e, "sql"))
		pv_buf_printf(b, "%s\n", jstr(e, "sql"));
	const char *owner = pvr_map_role(L, jstr(e, "owner"));
	if (owner && jstr(e, "owner_target") && L->o->owner && strcmp(owner, L->o->owner) == 0 &&
	    !L->owner_super && strcmp(jstr(e, "kind"), pv_kind_name(K_SUBSCRIPTION)) == 0) {
		/* a subscription's owner must be a superuser (12-15; from 16 one without a password
		 * in its connection, as restored, too): it stays the restoring superuser's */
		pv_warn("%s stays owned by the role restoring it, not by \"%s\" (--owner): the owner of "
		        "a subscription must be a superuser", jstr(e, "owner_target"), L->o->owner);
	} else if (owner && jstr(e, "owner_target")) {
		pv_buf_printf(b, "ALTER %s OWNER TO ", jstr(e, "owner_target"));
		pv_buf_ident(b, L->c, owner);
		pv_buf_puts(b, ";\n");
	}
	if (jstr(e, "comments"))
		pv_buf_puts(b, jstr(e, "comments"));
	queue_acl(L, e);
}

/* A pool item that does nothing: a point where loads of rows are done. */
static int
loads_done(pv_pool_env *env, void *arg)
{
	(void)env;
	(void)arg;
	return 0;
}

/* The loads of rows (L->later) as the first items of a post-data graph: the loads, then two
 * points, one after every load, one after every small load (under PV_FREEZE_MIN bytes).
 * An entry waits for the loads of the big tables it locks, and for the small loads' point
 * when it locks a small table with rows: a database of many small tables then gets their
 * indexes ready together, many to a transaction, as without loads in the graph.  An entry
 * that locks no table, or any entry when some rows load through a partition root (they may
 * land in any partition), waits for every load. */
typedef struct graph_loads {
	int n;            /* loads: items 0 .. n - 1 */
	int all, small;   /* the two points: items n and n + 1 */
	int global;       /* some load has no table of its own */
	int maxtab;
	int *by_table;    /* table id -> 1 + its first load, chained through next */
	int *next;
	int *big;
} graph_loads;

static int
add_loads(loader *L, pv_pool_item **itemsp, size_t nentries, graph_loads *g)
{
	pv_pool_item *loads = NULL;
	int *table_of = NULL;
	memset(g, 0, sizeof *g);
	g->all = g->small = -1;
	if (pvr_later_items(L, &loads, &table_of, &g->big, &g->n) < 0)
		return -1;
	pv_pool_item *items = pv_calloc((size_t)g->n + 2 + nentries + 1, sizeof *items);
	for (int k = 0; k < g->n; k++) {
		items[k] = loads[k];
		g->global |= table_of[k] < 0;
		if (table_of[k] >= g->maxtab)
			g->maxtab = table_of[k] + 1;
	}
	free(loads);
	g->by_table = pv_calloc((size_t)g->maxtab + 1, sizeof(int));
	g->next = pv_calloc((size_t)g->n + 1, sizeof(int));
	for (int k = 0; k < g->n; k++)
		if (table_of[k] >= 0) {
			g->next[k] = g->by_table[table_of[k]];
			g->by_table[table_of[k]] = k + 1;
		}
	free(table_of);
	g->all = g->n;
	g->small = g->n + 1;
	for (int b = g->all; b <= g->small; b++) {
		items[b].run = loads_done;
		items[b].label = pv_strdup("loading rows");
		items[b].deps = pv_calloc((size_t)g->n + 1, sizeof(int));
		for (int k = 0; k < g->n; k++)
			if (b == g->all || !g->big[k])
				items[b].deps[items[b].ndeps++] = k;
	}
	*itemsp = items;
	return g->n + 2;
}

/* The loads item `it` waits for (graph_loads), added to its deps (sized for them: pass
 * NULL to count them). */
static size_t
load_deps(const graph_loads *g, pv_pool_item *it, int *deps)
{
	size_t n = 0;
	int small = 0;
	if (g->global || it->nlocks == 0) {
		if (deps)
			deps[n] = g->all;
		return 1;
	}
	for (int m = 0; m < it->nlocks; m++) {
		int l = it->locks[m];
		for (int ld = l >= 0 && l < g->maxtab ? g->by_table[l] : 0; ld; ld = g->next[ld - 1]) {
			if (!g->big[ld - 1]) {
				small = 1;
				continue;
			}
			if (deps)
				deps[n] = ld - 1;
			n++;
		}
	}
	if (small) {
		if (deps)
			deps[n] = g->small;
		n++;
	}
	return n;
}

/* Entries as a dependency graph over the worker pool (--jobs), each in its own
 * transaction: post-data, and runs of pre-data entries (parallel_kind).  With L->later
 * (post-data), the loads of the tables' rows come first in the graph (add_loads), so that
 * a big table's indexes are built while other tables load. */
static int
run_entries_parallel(loader *L, json_t *entries, const char *section)
{
	size_t n = json_array_size(entries), i;
	pv_pool_item *items = NULL;
	graph_loads g;
	int first = 0; /* the entries' items start here */
	memset(&g, 0, sizeof g);
	g.all = -1;
	if (L->later && section[1] == 'o') {
		if ((first = add_loads(L, &items, n, &g)) < 0)
			return -1;
	} else {
		items = pv_calloc(n + 1, sizeof *items);
	}
	json_t *index = json_object(); /* entry id -> item index */
	json_t *e;
	int k = first, bad = 0;
	json_array_foreach(entries, i, e) {
		if (queue_late(L, e))
			continue;
		pv_buf b = PV_BUF_INIT;
		entry_sql(L, e, &b);
		if (!b.len) {
			pv_buf_free(&b);
			continue;
		}
		items[k].sql = pv_buf_detach(&b);
		char *lbl = entry_label(e);
		items[k].label = pv_asprintf("%s: %s", section, lbl);
		free(lbl);
		char key[32];
		snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(e, "id")));
		bad |= pvj_set_int(index, key, k);
		json_t *locks = json_object_get(e, "locks");
		items[k].shared = json_is_true(json_object_get(e, "share_lock"));
		items[k].locks = pv_calloc(json_array_size(locks) + 1, sizeof(int));
		size_t j;
		json_t *l;
		json_array_foreach(locks, j, l)
			items[k].locks[items[k].nlocks++] = (int)json_integer_value(l);
		k++;
	}
	/* dependencies among these items (others are done already), and on the loads */
	json_array_foreach(entries, i, e) {
		char key[32];
		snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(e, "id")));
		json_t *me = json_object_get(index, key);
		if (!me)
			continue;
		pv_pool_item *it = &items[json_integer_value(me)];
		json_t *deps = json_object_get(e, "deps");
		size_t nl = g.all >= 0 ? load_deps(&g, it, NULL) : 0;
		it->deps = pv_calloc(json_array_size(deps) + nl + 1, sizeof(int));
		size_t j;
		json_t *d;
		json_array_foreach(deps, j, d) {
			snprintf(key, sizeof key, "%lld", (long long)json_integer_value(d));
			json_t *di = json_object_get(index, key);
			if (di)
				it->deps[it->ndeps++] = (int)json_integer_value(di);
		}
		if (nl)
			it->ndeps += (int)load_deps(&g, it, it->deps + it->ndeps);
	}
	int count = bad ? k : first + (int)json_object_size(index);
	int rc = bad ? pv_wrap("indexing the post-data entries") : pv_pool_run(L->pool, items, count);
	if (g.all >= 0) {
		pvr_later_free(L->later);
		L->later = NULL;
	}
	for (int m = 0; m < count; m++) {
		free(items[m].sql);
		free(items[m].label);
		free(items[m].deps);
		free(items[m].locks);
	}
	free(items);
	free(g.by_table);
	free(g.next);
	free(g.big);
	json_decref(index);
	return rc;
}

/* The rows still to load (L->later) when no post-data came to load them with: alone. */
int
pvr_run_later(loader *L)
{
	return L->later ? run_entries_parallel(L, NULL, "post-data") : 0;
}

/* Entries per transaction: CREATE TABLE takes locks on the table, its sequences, its TOAST
 * table and index; 200 of them stay well under the 64 * max_connections locks a default
 * server shares among its sessions. */
#define PV_RESTORE_BATCH 200

/* Entries [from, to) on the restore session, in transactions of PV_RESTORE_BATCH. */
static int
run_entries_serial(loader *L, json_t *entries, size_t from, size_t to, const char *section)
{
	pv_buf b = PV_BUF_INIT;
	int batch = 0, began = 0;
	for (size_t i = from; i < to; i++) {
		json_t *e = json_array_get(entries, i);
		if (queue_late(L, e))
			continue;
		pv_buf_reset(&b);
		entry_sql(L, e, &b);
		if (!b.len)
			continue;
		/* a new database: a failure drops it whole, so commits along the way cost nothing
		 * and keep each transaction's locks under max_locks_per_transaction */
		const char *tx = NULL;
		if (!began)
			tx = "BEGIN";
		else if (++batch == PV_RESTORE_BATCH)
			tx = "COMMIT; BEGIN";
		if (tx) {
			began = 1;
			batch = 0;
			if (pv_exec(L->c, tx) < 0) {
				pv_buf_free(&b);
				return pv_wrap("%s", section);
			}
		}
		if (pv_exec(L->c, b.data) < 0) {
			char *l = entry_label(e);
			pv_wrap("%s: %s", section, l);
			free(l);
			pv_buf_free(&b);
			return -1;
		}
	}
	pv_buf_free(&b);
	if (began && pv_exec(L->c, "COMMIT") < 0)
		return pv_wrap("%s", section);
	return 0;
}

/* Pre-data kinds whose entries may run in parallel with each other (each waits for what it
 * depends on): relations, their sequences and defaults, types and functions — what a
 * database of many tables is made of.  Schemas, extensions, and the rest run in order on
 * the restore session. */
static int
parallel_kind(json_t *e)
{
	static const pv_kind kinds[] = {K_TABLE, K_SEQUENCE, K_SEQ_OWNED, K_DEFAULT, K_VIEW,
	                                K_TYPE, K_DOMAIN, K_FUNCTION};
	const char *kind = jstr(e, "kind");
	for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kind, pv_kind_name(kinds[i])) == 0)
			return !json_is_true(json_object_get(e, "late")) &&
			       !json_is_true(json_object_get(e, "acl_pass"));
	return 0;
}

/* A run shorter than this is not worth the pool's round trips */
#define PV_PARALLEL_RUN 16

/* Pre-data with --jobs: runs of at least PV_PARALLEL_RUN parallel_kind entries over the
 * pool, everything else (and every shorter run) in order on the restore session, whose
 * transactions are committed before the pool starts on what depends on them. */
static int
run_pre_data_parallel(loader *L, json_t *entries)
{
	size_t n = json_array_size(entries), i = 0, from = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && parallel_kind(json_array_get(entries, j)))
			j++;
		if (j - i < PV_PARALLEL_RUN) {
			i = j + 1;
			continue;
		}
		if (run_entries_serial(L, entries, from, i, "pre-data") < 0)
			return -1;
		json_t *run = json_array();
		for (size_t k = i; k < j; k++)
			(void)json_array_append(run, json_array_get(entries, k)); /* cannot fail */
		int rc = run_entries_parallel(L, run, "pre-data");
		json_decref(run);
		if (rc < 0)
			return -1;
		from = i = j;
	}
	return run_entries_serial(L, entries, from, n, "pre-data");
}

int
pvr_run_entries(loader *L, json_t *entries, const char *section)
{
	if (L->pool && section[1] == 'o') {
		if (pv_pool_wait(L->pool) < 0)
			return pv_wrap("loading rows");
		return run_entries_parallel(L, entries, section);
	}
	if (L->pool)
		return run_pre_data_parallel(L, entries);
	return run_entries_serial(L, entries, 0, json_array_size(entries), section);
}

/* Functions whose bodies resolve names through search_path (the backup's warning, see
 * pg/cat_types.c): set == 1 gives each the bundle's restore search_path (ALTER FUNCTION ...
 * SET search_path), so that index builds and materialized view refreshes (which PostgreSQL
 * 17 and later run with a fixed search_path of their own) resolve them as in the source;
 * set == 0 takes it away again, leaving the functions as they were.  Rows-only restores go
 * into a database of the user's, which may lack some of these functions: those are left
 * alone there. */
int
pvr_function_search_paths(loader *L, int set)
{
	json_t *fns = json_object_get(L->header, "search_path_functions");
	json_t *schemas = json_object_get(L->header, "restore_search_path_schemas");
	if (!json_array_size(fns) || !json_array_size(schemas))
		return 0;
	pv_buf b = PV_BUF_INIT, one = PV_BUF_INIT;
	size_t i, k;
	json_t *f, *x;
	json_array_foreach(fns, i, f) {
		if (!jstr(f, "schema") || !jstr(f, "name")) {
			pv_buf_free(&b);
			pv_buf_free(&one);
			return pv_fail("bundle header: search_path_functions entry %zu has no schema or name", i);
		}
		pv_buf_reset(&one);
		pv_buf_puts(&one, "ALTER FUNCTION ");
		pv_buf_ident(&one, L->c, jstr(f, "schema"));
		pv_buf_putc(&one, '.');
		pv_buf_ident(&one, L->c, jstr(f, "name"));
		/* the identity argument list as the server wrote it */
		pv_buf_printf(&one, "(%s) ", jstr(f, "args") ? jstr(f, "args") : "");
		if (set) {
			pv_buf_puts(&one, "SET search_path TO ");
			json_array_foreach(schemas, k, x) {
				if (k)
					pv_buf_puts(&one, ", ");
				pv_buf_ident(&one, L->c, json_is_string(x) ? json_string_value(x) : "");
			}
		} else {
			pv_buf_puts(&one, "RESET search_path");
		}
		if (L->rows_only) {
			char *body = pv_asprintf("BEGIN %s; EXCEPTION WHEN undefined_function OR invalid_schema_name "
			                         "OR undefined_object THEN NULL; END", one.data);
			pv_buf_puts(&b, "DO ");
			pv_buf_literal(&b, L->c, body);
			pv_buf_puts(&b, ";\n");
			free(body);
		} else {
			pv_buf_printf(&b, "%s;\n", one.data);
		}
	}
	int rc = pv_exec(L->c, b.data);
	pv_buf_free(&b);
	pv_buf_free(&one);
	if (rc < 0)
		return pv_wrap(set ? "giving search_path-dependent functions the restore's search_path"
		                   : "resetting the search_path of search_path-dependent functions");
	return 0;
}

/* ---- large objects ---------------------------------------------------------------------- */

/* Create every large object of data.json, empty and with its own oid, before their blob
 * members fill them. */
int
pvr_start_large_objects(loader *L)
{
	size_t n = 0;
	if (pv_blob_create_all(L->c, L->data_toc, &L->lobs, &n) < 0)
		return -1;
	if (n)
		pv_info("restoring %zu large object(s)", n);
	return 0;
}

/* With the ACL pass (after the contents, which the restoring role writes as their creator):
 * owners, comments and privileges of the large objects, LOB_BATCH objects per transaction,
 * since each statement on a large object holds a lock on it until the end of its
 * transaction (the lock table has room for a few thousand). */
#define LOB_BATCH 1000

static void
lob_entry_sql(loader *L, json_t *e, pv_buf *b)
{
	size_t i;
	json_t *a;
	if (jstr(e, "owner") && jstr(e, "owner_target")) {
		pv_buf_printf(b, "ALTER %s OWNER TO ", jstr(e, "owner_target"));
		pv_buf_ident(b, L->c, pvr_map_role(L, jstr(e, "owner")));
		pv_buf_puts(b, ";\n");
	}
	if (jstr(e, "comments"))
		pv_buf_puts(b, jstr(e, "comments"));
	json_array_foreach(json_object_get(e, "acl"), i, a)
		pv_acl_sql(b, L->c, jstr(e, "acl_target"), pvr_map_role(L, jstr(e, "owner")),
		           pvr_map_role(L, jstr(a, "grantor")), pvr_map_role(L, jstr(a, "grantee")),
		           jstr(a, "privs"), jstr(a, "columns"),
		           json_is_true(json_object_get(a, "revoke")),
		           json_is_true(json_object_get(a, "grant_option")));
}
static int
finish_large_objects(loader *L)
{
	pv_buf b = PV_BUF_INIT;
	size_t i, k = 0;
	json_t *e;
	int rc = 0;
	if (!L->lobs)
		return 0;
	json_array_foreach(L->data_toc, i, e) {
		if (!pv_blob_is_entry(e))
			continue;
		lob_entry_sql(L, e, &b);
		if (++k % LOB_BATCH == 0 && b.len) {
			if ((rc = pv_exec(L->c, b.data)) < 0)
				break;
			pv_buf_reset(&b);
		}
	}
	if (rc == 0 && b.len)
		rc = pv_exec(L->c, b.data);
	pv_buf_free(&b);
	return rc < 0 ? pv_wrap("owners, comments and privileges of large objects") : 0;
}

/* ---- the final passes ------------------------------------------------------------------ */

int
pvr_final_passes(loader *L)
{
	if (L->acl_sql.len && pv_exec(L->c, L->acl_sql.data) < 0)
		return pv_wrap("granting privileges");
	if (finish_large_objects(L) < 0)
		return -1;
	if (L->late_sql.len && pv_exec(L->c, L->late_sql.data) < 0)
		return pv_wrap("refreshing materialized views");
	if (pvr_function_search_paths(L, 0) < 0)
		return -1;
	return 0;
}
