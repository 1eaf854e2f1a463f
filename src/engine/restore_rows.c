/*
 * engine/restore_rows.c — rows (see restore_int.h): each data member streamed into its table
 * with COPY FROM STDIN straight from the decompressed member (or its compressed bytes handed
 * to a worker with --jobs); with --jobs and a bundle in a file, the loads by table instead
 * (where each member is, then one pool item per table reading its members from the file,
 * for the post-data graph); and the rows-only mode (--table, --data-only) into an existing
 * database: the tables chosen and checked, emptied with their foreign keys dropped and user
 * triggers held off, sequence values set, and everything put back before the one commit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/restore_int.h"
#include "pg/cancel.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/log.h"

/* ---- rows ----------------------------------------------------------------------------- */

/* data/ID.N.copy.zst -> the entry of data/ID (a lookup: a linear search made restoring
 * 5,000 tables quadratic) */
static json_t *
find_data_entry(loader *L, const char *member)
{
	char *prefix = pv_member_prefix(member, NULL);
	json_t *e = prefix ? json_object_get(L->by_prefix, prefix) : NULL;
	free(prefix);
	return e;
}

/* The COPY FROM STDIN of a data entry: rows of a partition whose routing depends on OIDs go
 * in through the partition root. */
static char *
copy_in_sql(json_t *e)
{
	const char *cols = jstr(e, "column_list");
	const char *target = jstr(e, "load_via") ? jstr(e, "load_via") : jstr(e, "table");
	return cols && *cols ? pv_asprintf("COPY %s (%s) FROM STDIN", target, cols)
	                     : pv_asprintf("COPY %s FROM STDIN", target);
}

static int defer_member(loader *L, pv_bundle_reader *r, const char *name, json_t *e);

int
pvr_load_member(loader *L, pv_bundle_reader *r, const char *name)
{
	json_t *e = find_data_entry(L, name);
	if (!e)
		return pv_fail("member %s belongs to no table of data.json", name);
	if (L->rows_only && !json_object_get(L->selected, jstr(e, "member_prefix")))
		return 0; /* not selected: skipped (its checksum is still checked) */
	if (L->later)
		return defer_member(L, r, name, e);
	char *sql = copy_in_sql(e);
	/* a new table whose rows are all in this member: COPY FREEZE (pg/conn.h) */
	const char *freeze = !L->rows_only && !jstr(e, "load_via") && L->single &&
	                     json_object_get(L->single, jstr(e, "member_prefix")) ? jstr(e, "table") : NULL;
	/* what it must load: its manifest entry's counts, when the manifest was read first */
	json_t *want = L->expect ? json_object_get(L->expect, name) : NULL;
	pv_copy_in ci = {L->c, want ? json_integer_value(json_object_get(want, "raw_size")) : -1,
	                 want ? json_integer_value(json_object_get(want, "rows")) : -1, 0};
	if (L->pool) {
		/* the member's compressed bytes go to a worker (bounded: one member each) */
		pv_buf z;
		pv_pool_buffer(L->pool, &z);
		int rc = pv_br_read_all(r, &z, PV_JSON_MEMBER_MAX);
		char *label = pv_asprintf("member %s: table %s", name, jstr(e, "table"));
		if (rc == 0)
			rc = pv_pool_copy(L->pool, sql, label, &z, freeze, ci.want_raw, ci.want_rows);
		pv_buf_free(&z);
		free(label);
		free(sql);
		return rc;
	}
	int frozen = pv_copy_in_begin(L->c, sql, freeze);
	free(sql);
	if (frozen < 0)
		return pv_wrap("member %s: table %s", name, jstr(e, "table"));
	int64_t raw = 0;
	int rc = pv_br_decompress(r, pv_copy_put, &ci, &raw);
	if (pv_copy_in_end(L->c, rc, frozen, &ci) < 0)
		return pv_wrap("member %s: table %s", name, jstr(e, "table"));
	return 0;
}

/* ---- rows by table, from the source (restore --jobs of a file) ------------------------- */

/* Where a data member's stored bytes are and what they must be. */
typedef struct later_member {
	char *name;
	int64_t off, size, raw, rows;
	char sha[65];
	int table;   /* index in lt->tables */
} later_member;

/* One load: a table's members (or one member of a table split among the workers). */
typedef struct later_load {
	pvr_later *lt;
	char *sql;      /* COPY ... FROM STDIN */
	char *table;    /* the table, quoted (messages) */
	int freeze;     /* its rows in one transaction that empties it: COPY FREEZE */
	int *members;   /* indexes in lt->m, in bundle order */
	int nmembers;
	int64_t raw;
} later_load;

typedef struct later_table {
	json_t *entry;  /* borrowed from L->data_toc */
	int64_t raw;
	int nmembers;
} later_table;

struct pvr_later {
	pv_source *src;
	later_member *m;
	int nm, cm;
	json_t *table_index; /* member_prefix -> index in tables */
	later_table *tables;
	int ntables, ctables;
	later_load *loads;
	int nloads;
};

char *
pvr_table_key(const char *schema, const char *name)
{
	return pv_asprintf("%zu:%s.%s", strlen(schema ? schema : ""), schema ? schema : "", name ? name : "");
}

void
pvr_later_begin(loader *L)
{
	if (!L->pool || !L->expect || !L->src || !L->src->pread || L->rows_only || L->o->schema_only)
		return;
	L->later = pv_calloc(1, sizeof *L->later);
	L->later->src = L->src;
	L->later->table_index = json_object();
}

static int
defer_member(loader *L, pv_bundle_reader *r, const char *name, json_t *e)
{
	pvr_later *lt = L->later;
	json_t *want = json_object_get(L->expect, name);
	const char *sha = jstr(want, "sha256");
	if (!want || !sha || strlen(sha) != 64)
		return pv_fail("member %s is not in the manifest", name);
	const char *prefix = jstr(e, "member_prefix");
	json_t *ti = json_object_get(lt->table_index, prefix);
	if (!ti) {
		if (lt->ntables == lt->ctables) {
			lt->ctables = lt->ctables ? 2 * lt->ctables : 64;
			lt->tables = pv_realloc(lt->tables, (size_t)lt->ctables * sizeof *lt->tables);
		}
		lt->tables[lt->ntables] = (later_table){e, 0, 0};
		if (pvj_set_int(lt->table_index, prefix, lt->ntables) < 0)
			return -1;
		ti = json_object_get(lt->table_index, prefix);
		lt->ntables++;
	}
	if (lt->nm == lt->cm) {
		lt->cm = lt->cm ? 2 * lt->cm : 64;
		lt->m = pv_realloc(lt->m, (size_t)lt->cm * sizeof *lt->m);
	}
	later_member *m = &lt->m[lt->nm++];
	m->name = pv_strdup(name);
	m->off = pv_br_data_offset(r);
	m->size = json_integer_value(json_object_get(want, "size"));
	m->raw = json_integer_value(json_object_get(want, "raw_size"));
	m->rows = json_integer_value(json_object_get(want, "rows"));
	memcpy(m->sha, sha, 65);
	m->table = (int)json_integer_value(ti);
	lt->tables[m->table].raw += m->raw;
	lt->tables[m->table].nmembers++;
	return 0;
}

/* The stored bytes of m into b, checked against the manifest's SHA-256. */
static int
read_member_at(pv_source *src, const later_member *m, pv_buf *b)
{
	pv_buf_reset(b);
	pv_buf_reserve(b, (size_t)m->size + 1);
	while ((int64_t)b->len < m->size) {
		ssize_t n = src->pread(src, b->data + b->len, (size_t)(m->size - (int64_t)b->len),
		                       m->off + (int64_t)b->len);
		if (n < 0)
			return -1;
		if (n == 0)
			return pv_fail("the bundle ends at offset %lld, inside the member",
			               (long long)(m->off + (int64_t)b->len));
		b->len += (size_t)n;
	}
	pv_sha256 h;
	char hex[65];
	pv_sha256_init(&h);
	pv_sha256_update(&h, b->data, b->len);
	pv_sha256_final_hex(&h, hex);
	if (strcmp(hex, m->sha) != 0)
		return pv_fail("its stored bytes at offset %lld are not those the manifest's SHA-256 "
		               "gives (the bundle changed while it was restored?)", (long long)m->off);
	return 0;
}

/* A pool callback: the members of one load, each COPY FROM STDIN from its bytes read at
 * their offset; with freeze, all in one transaction that empties the table first. */
static int
run_load(pv_pool_env *env, void *arg)
{
	later_load *ld = arg;
	pvr_later *lt = ld->lt;
	PGconn *c = env->c;
	int in_tx = ld->freeze ? pv_freeze_begin(c, ld->table) : 0;
	for (int k = 0; k < ld->nmembers; k++) {
		const later_member *m = &lt->m[ld->members[k]];
		if (pv_check_interrupt() < 0 || read_member_at(lt->src, m, &env->buf) < 0)
			goto fail;
		if (pv_copy_in_start(c, ld->sql, in_tx) < 0) {
			if (!in_tx || k > 0)
				goto fail;
			/* the server refuses FREEZE here: plainly, each member on its own */
			pv_debug("COPY FREEZE refused, copying plainly: %s", pv_errmsg());
			PQclear(PQexec(c, "ROLLBACK"));
			in_tx = 0;
			if (pv_copy_in_start(c, ld->sql, 0) < 0)
				goto fail;
		}
		pv_copy_in ci = {c, m->raw, m->rows, 0};
		int rc = pv_pool_copy_frame(env, env->buf.data, env->buf.len, &ci);
		if (pv_copy_in_end(c, rc, 0, &ci) < 0)
			goto fail;
		continue;
	fail:
		if (in_tx)
			PQclear(PQexec(c, "ROLLBACK"));
		if (!pv_interrupted)
			pv_wrap("member %s: table %s", m->name, ld->table);
		return -1;
	}
	if (in_tx && pv_exec(c, "COMMIT") < 0)
		return pv_wrap("table %s", ld->table);
	return 0;
}

static int
cmp_load(const void *a, const void *b)
{
	const later_load *x = a, *y = b;
	return x->raw > y->raw ? -1 : x->raw < y->raw;
}

/* tests: the loads wait until the file PGVAULT_TEST_LOAD_GATE names, made here, is removed
 * (tests/t/75 changes a verified bundle under its restore) */
static void
test_gate(void)
{
	const char *gate = getenv("PGVAULT_TEST_LOAD_GATE");
	FILE *f = gate && *gate ? fopen(gate, "w") : NULL;
	if (!f)
		return;
	fclose(f);
	for (int i = 0; i < 1200 && access(gate, F_OK) == 0; i++)
		usleep(50000);
}

int
pvr_later_items(loader *L, pv_pool_item **itemsp, int **table_of, int **bigp, int *np)
{
	pvr_later *lt = L->later;
	test_gate();
	int64_t total = 0;
	for (int t = 0; t < lt->ntables; t++)
		total += lt->tables[t].raw;
	/* a table bigger than its share (2/(jobs+1) of all rows: the one big table of a
	 * database) is split: its members load on every worker, plainly; every other table
	 * loads on one worker, in one transaction with FREEZE, its heap in the order of its
	 * rows (as the index builds after it like) */
	int jobs = L->o->jobs;
	int *split = pv_calloc((size_t)lt->ntables + 1, sizeof *split);
	int n = 0;
	for (int t = 0; t < lt->ntables; t++) {
		split[t] = lt->tables[t].nmembers > 1 && lt->tables[t].raw * (jobs + 1) > 2 * total;
		n += split[t] ? lt->tables[t].nmembers : 1;
	}
	lt->loads = pv_calloc((size_t)n + 1, sizeof *lt->loads);
	int *at = pv_calloc((size_t)lt->ntables + 1, sizeof *at); /* table -> its load (unsplit) */
	for (int t = 0, k = 0; t < lt->ntables; t++) {
		json_t *e = lt->tables[t].entry;
		int parts = split[t] ? lt->tables[t].nmembers : 1;
		at[t] = k;
		for (int p = 0; p < parts; p++, k++) {
			later_load *ld = &lt->loads[k];
			ld->lt = lt;
			ld->sql = copy_in_sql(e);
			ld->table = pv_strdup(jstr(e, "table"));
			ld->freeze = !split[t] && !jstr(e, "load_via") && lt->tables[t].raw >= PV_FREEZE_MIN;
			ld->members = pv_calloc((size_t)lt->tables[t].nmembers + 1, sizeof(int));
		}
	}
	for (int i = 0; i < lt->nm; i++) {
		int t = lt->m[i].table;
		later_load *ld = &lt->loads[at[t]];
		if (split[t])
			ld = &lt->loads[at[t]++];
		ld->members[ld->nmembers++] = i;
		ld->raw += lt->m[i].raw;
	}
	lt->nloads = n;
	free(at);
	free(split);
	qsort(lt->loads, (size_t)n, sizeof *lt->loads, cmp_load);
	pv_pool_item *items = pv_calloc((size_t)n + 1, sizeof *items);
	int *tab = pv_calloc((size_t)n + 1, sizeof *tab), *big = pv_calloc((size_t)n + 1, sizeof *big);
	for (int k = 0; k < n; k++) {
		later_load *ld = &lt->loads[k];
		json_t *e = lt->tables[lt->m[ld->members[0]].table].entry;
		items[k].run = run_load;
		items[k].arg = ld;
		items[k].label = ld->nmembers == 1 ? pv_asprintf("member %s: table %s", lt->m[ld->members[0]].name, ld->table)
		                                   : pv_asprintf("table %s", ld->table);
		char *key = pvr_table_key(jstr(e, "schema"), jstr(e, "name"));
		json_t *id = jstr(e, "load_via") ? NULL : json_object_get(L->table_ids, key);
		free(key);
		tab[k] = id ? (int)json_integer_value(id) : -1;
		big[k] = ld->raw >= PV_FREEZE_MIN || ld->nmembers < lt->tables[lt->m[ld->members[0]].table].nmembers;
	}
	*itemsp = items;
	*table_of = tab;
	*bigp = big;
	*np = n;
	return 0;
}

void
pvr_later_free(pvr_later *lt)
{
	if (!lt)
		return;
	for (int i = 0; i < lt->nm; i++)
		free(lt->m[i].name);
	for (int k = 0; k < lt->nloads; k++) {
		free(lt->loads[k].sql);
		free(lt->loads[k].table);
		free(lt->loads[k].members);
	}
	free(lt->m);
	free(lt->loads);
	free(lt->tables);
	json_decref(lt->table_index);
	free(lt);
}

/* ---- rows only (--table, --data-only) --------------------------------------------------- */

/* "schema.table" or an unqualified "table" (which must then be unique). */
static json_t *
match_table(loader *L, const char *want, int *ambiguous)
{
	json_t *found = NULL;
	size_t i;
	json_t *e;
	*ambiguous = 0;
	json_array_foreach(L->data_toc, i, e) {
		if (!jstr(e, "member_prefix"))
			continue;
		char *full = pv_asprintf("%s.%s", jstr(e, "schema"), jstr(e, "name"));
		int hit = strcmp(full, want) == 0 || strcmp(jstr(e, "table"), want) == 0;
		free(full);
		if (hit)
			return e;
		if (strcmp(jstr(e, "name"), want) == 0) {
			if (found)
				*ambiguous = 1;
			found = e;
		}
	}
	return *ambiguous ? NULL : found;
}

/* Rows only: choose the tables, refuse what foreign keys forbid, empty them, hold off
 * user triggers, set owned sequences; all in one transaction, committed at the end. */
int
pvr_start_rows_only(loader *L)
{
	pv_buf tabs = PV_BUF_INIT, names = PV_BUF_INIT;
	int rc = -1;
	L->selected = json_object();
	size_t i;
	json_t *e;
	if (L->o->data_only) {
		json_array_foreach(L->data_toc, i, e)
			if (jstr(e, "member_prefix") && pvj_set_copy(L->selected, jstr(e, "member_prefix"), e) < 0)
				goto out;
	}
	for (int t = 0; t < L->o->ntables; t++) {
		int amb;
		e = match_table(L, L->o->tables[t], &amb);
		if (!e) {
			pv_fail(amb ? "table \"%s\" is ambiguous in the bundle: qualify it with its schema"
			            : "table \"%s\" is not in the bundle", L->o->tables[t]);
			goto out;
		}
		if (pvj_set_copy(L->selected, jstr(e, "member_prefix"), e) < 0)
			goto out;
	}
	const char *k;
	json_object_foreach(L->selected, k, e) {
		pv_buf_printf(&tabs, "%s%s", tabs.len ? ", " : "", jstr(e, "table"));
		pv_buf_array_elem(&names, jstr(e, "table"));
	}
	pv_buf_puts(&names, names.len ? "}" : "{}");
	if (!tabs.len) {
		rc = 0;
		goto out;
	}
	if (pv_exec(L->c, "BEGIN") < 0)
		goto out;
	L->in_tx = 1;
	/* 17+ rebuilds indexes (TRUNCATE) and refreshes materialized views with a search_path
	 * of its own: the search_path-dependent functions get the restore's for the transaction
	 * (undone with it on failure, reset before it commits) */
	if (PQserverVersion(L->c) >= 170000) {
		if (pvr_function_search_paths(L, 1) < 0)
			goto out;
		L->paths_set = 1;
	}
	/* every selected table must exist; none may be referenced from outside the selection */
	const char *p[1] = {names.data};
	PGresult *r = pv_query_params(L->c,
	    "SELECT n, pg_catalog.to_regclass(n) IS NULL FROM pg_catalog.unnest($1::text[]) n", 1, p);
	if (!r)
		goto out;
	for (int j = 0; j < PQntuples(r); j++)
		if (PQgetvalue(r, j, 1)[0] == 't') {
			pv_fail("table %s does not exist in database \"%s\"", PQgetvalue(r, j, 0), L->dbname);
			PQclear(r);
			goto out;
		}
	PQclear(r);
	r = pv_query_params(L->c,
	    "WITH sel AS (SELECT pg_catalog.to_regclass(n)::pg_catalog.oid AS oid FROM pg_catalog.unnest($1::text[]) n)"
	    " SELECT pg_catalog.string_agg(c.conrelid::pg_catalog.regclass::text || ' (' || c.conname || ') references '"
	    "   || c.confrelid::pg_catalog.regclass::text, '; ')"
	    " FROM pg_catalog.pg_constraint c WHERE c.contype = 'f'"
	    " AND c.confrelid IN (SELECT oid FROM sel) AND c.conrelid NOT IN (SELECT oid FROM sel)", 1, p);
	if (!r)
		goto out;
	if (!PQgetisnull(r, 0, 0)) {
		pv_fail("cannot replace the rows of the selected tables: tables outside the selection "
		        "reference them by foreign key: %s (add those tables with --table too)",
		        PQgetvalue(r, 0, 0));
		PQclear(r);
		goto out;
	}
	PQclear(r);
	/* Foreign keys of the selected tables are dropped while their rows are replaced and
	 * added back afterwards, which checks every row once, whatever the load order (a
	 * child before its parent, a self-reference across data members). */
	r = pv_query_params(L->c,
	    "SELECT 'ALTER TABLE ' || c.conrelid::pg_catalog.regclass::text || ' DROP CONSTRAINT '"
	    "   || pg_catalog.quote_ident(c.conname) || ';',"
	    " 'ALTER TABLE ' || c.conrelid::pg_catalog.regclass::text || ' ADD CONSTRAINT '"
	    "   || pg_catalog.quote_ident(c.conname) || ' ' || pg_catalog.pg_get_constraintdef(c.oid) || ';'"
	    "   || COALESCE('COMMENT ON CONSTRAINT ' || pg_catalog.quote_ident(c.conname) || ' ON '"
	    "   || c.conrelid::pg_catalog.regclass::text || ' IS '"
	    "   || pg_catalog.quote_literal(pg_catalog.obj_description(c.oid, 'pg_constraint')) || ';', '')"
	    " FROM pg_catalog.pg_constraint c WHERE c.contype = 'f'"
	    " AND c.conrelid IN (SELECT pg_catalog.to_regclass(n) FROM pg_catalog.unnest($1::text[]) n)"
	    " ORDER BY c.conrelid, c.conname", 1, p);
	if (!r)
		goto out;
	pv_buf pre = PV_BUF_INIT;
	for (int j = 0; j < PQntuples(r); j++) {
		pv_buf_puts(&pre, PQgetvalue(r, j, 0));
		pv_buf_puts(&L->after_rows, PQgetvalue(r, j, 1));
	}
	PQclear(r);
	/* user triggers must not fire on restored rows: disable the enabled ones for now, and
	 * give each its own state back (ENABLE, ENABLE REPLICA, ENABLE ALWAYS) */
	r = pv_query_params(L->c,
	    "SELECT t.tgrelid::pg_catalog.regclass, pg_catalog.quote_ident(t.tgname), t.tgenabled"
	    " FROM pg_catalog.pg_trigger t WHERE NOT t.tgisinternal AND t.tgenabled <> 'D'"
	    " AND t.tgrelid IN (SELECT pg_catalog.to_regclass(n) FROM pg_catalog.unnest($1::text[]) n)"
	    " ORDER BY 1, 2", 1, p);
	if (!r) {
		pv_buf_free(&pre);
		goto out;
	}
	for (int j = 0; j < PQntuples(r); j++) {
		char en = PQgetvalue(r, j, 2)[0];
		pv_buf_printf(&pre, "ALTER TABLE %s DISABLE TRIGGER %s;", PQgetvalue(r, j, 0), PQgetvalue(r, j, 1));
		pv_buf_printf(&L->after_rows, "ALTER TABLE %s ENABLE %sTRIGGER %s;", PQgetvalue(r, j, 0),
		              en == 'A' ? "ALWAYS " : en == 'R' ? "REPLICA " : "", PQgetvalue(r, j, 1));
	}
	PQclear(r);
	pv_buf_printf(&pre, "TRUNCATE ONLY %s;", tabs.data);
	int ok = pv_exec(L->c, pre.data) == 0;
	pv_buf_free(&pre);
	if (!ok)
		goto out;
	/* sequence values: every one with --data-only, else those the selected tables own */
	json_array_foreach(L->data_toc, i, e) {
		const char *owner = jstr(e, "owned_by");
		if (!jstr(e, "sql") || jstr(e, "member_prefix"))
			continue;
		int want = L->o->data_only;
		json_t *s2;
		json_object_foreach(L->selected, k, s2)
			if (owner && strcmp(jstr(s2, "table"), owner) == 0)
				want = 1;
		if (want && pv_exec(L->c, jstr(e, "sql")) < 0)
			goto out;
	}
	rc = 0;
	pv_info("replacing the rows of %s in database \"%s\"", tabs.data, L->dbname);
out:
	pv_buf_free(&tabs);
	pv_buf_free(&names);
	return rc;
}

/* After the last member, still in the transaction: foreign keys added back (checking every
 * row once) and triggers re-enabled, materialized views refreshed (--data-only), the
 * functions' search_path taken back, then the commit. */
int
pvr_finish_rows_only(loader *L)
{
	if (L->after_rows.len && pv_exec(L->c, L->after_rows.data) < 0)
		return pv_wrap("adding foreign keys back and re-enabling triggers");
	if (L->late_sql.len && pv_exec(L->c, L->late_sql.data) < 0)
		return pv_wrap("refreshing materialized views");
	if (L->paths_set && pvr_function_search_paths(L, 0) < 0)
		return -1;
	if (L->in_tx && pv_exec(L->c, "COMMIT") < 0)
		return -1;
	L->in_tx = 0;
	return 0;
}
