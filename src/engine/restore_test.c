/*
 * engine/restore_test.c — a test restore (`verify --restore`): the bundle restored into a
 * scratch database of the server (restore's own checks included: every member's bytes and
 * rows as it loads), then checked against the manifest from the outside (every table of
 * data.json is there and holds as many rows as its members count), and dropped whatever
 * happened.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/restore.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/names.h"

/* member_prefix -> rows, from the manifest's data members */
static json_t *
expected_rows(json_t *manifest)
{
	json_t *rows = json_object(), *m;
	size_t i;
	json_array_foreach(json_object_get(manifest, "members"), i, m) {
		const char *kind = json_string_value(json_object_get(m, "kind"));
		char *prefix = kind && strcmp(kind, "data") == 0
		                   ? pv_member_prefix(json_string_value(json_object_get(m, "name")), NULL)
		                   : NULL;
		if (!prefix)
			continue;
		json_int_t n = json_integer_value(json_object_get(rows, prefix)) +
		               json_integer_value(json_object_get(m, "rows"));
		int bad = pvj_set_int(rows, prefix, n);
		free(prefix);
		if (bad < 0) {
			json_decref(rows);
			return NULL;
		}
	}
	return rows;
}

/* Every table entry of toc in database db: as many rows as the manifest counts.  *tables,
 * *total: what was checked. */
static int
check_tables(const pv_connopts *co, const char *db, json_t *toc, json_t *manifest, long long *tables,
             long long *total)
{
	json_t *want = expected_rows(manifest);
	PGconn *c = want ? pv_connect(co, db) : NULL;
	if (!c) {
		json_decref(want);
		return want ? -1 : pv_fail("out of memory");
	}
	int rc = 0;
	size_t i;
	json_t *e;
	json_array_foreach(toc, i, e) {
		const char *prefix = json_string_value(json_object_get(e, "member_prefix"));
		const char *schema = json_string_value(json_object_get(e, "schema"));
		const char *name = json_string_value(json_object_get(e, "name"));
		if (!prefix || !schema || !name)
			continue; /* a sequence value or a large object */
		char *qs = pv_ident(c, schema), *qn = pv_ident(c, name);
		char *sql = qs && qn ? pv_asprintf("SELECT pg_catalog.count(*) FROM ONLY %s.%s", qs, qn) : NULL;
		PGresult *r = sql ? PQexec(c, sql) : NULL;
		free(sql);
		free(qs);
		free(qn);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			rc = pv_fail("table %s.%s: %s", schema, name, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
			PQclear(r);
			break;
		}
		long long got = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		long long exp = (long long)json_integer_value(json_object_get(want, prefix));
		PQclear(r);
		if (got != exp) {
			rc = pv_fail("table %s.%s holds %lld rows after the restore; the manifest counts %lld",
			             schema, name, got, exp);
			break;
		}
		(*tables)++;
		*total += got;
	}
	PQfinish(c);
	json_decref(want);
	return rc;
}

static void
drop_scratch(const pv_connopts *co, const char *db)
{
	PGconn *m = pv_connect(co, NULL);
	char *q = m ? pv_ident(m, db) : NULL;
	char *sql = q ? pv_asprintf(PQserverVersion(m) >= 130000 ? "DROP DATABASE IF EXISTS %s WITH (FORCE)"
	                                                          : "DROP DATABASE IF EXISTS %s", q)
	              : NULL;
	if (!sql || pv_exec(m, sql) < 0)
		pv_warn("the test restore's database \"%s\" could not be dropped: %s; drop it by hand", db,
		        pv_errmsg());
	free(sql);
	free(q);
	if (m)
		PQfinish(m);
}

int
pv_restore_test(const pv_connopts *co, pv_source *src, const char *label, json_t *manifest,
                int jobs, json_t **report)
{
	*report = NULL;
	char scratch[64];
	snprintf(scratch, sizeof scratch, "pgvault_test_%ld_%lld", (long)getpid(), (long long)time(NULL));
	json_t *toc = NULL;
	pv_restore_opts o;
	memset(&o, 0, sizeof o);
	o.as = scratch;
	o.jobs = jobs;
	o.toc_out = &toc;
	char *db = NULL, *kept = NULL;
	double t0 = pv_monotonic();
	long long tables = 0, rows = 0;
	int rc = pv_restore_bundle(co, src, label, &o, &db, &kept);
	if (rc == 0) {
		rc = check_tables(co, scratch, toc, manifest, &tables, &rows);
		drop_scratch(co, scratch); /* a failed restore dropped its own */
	}
	double secs = pv_monotonic() - t0;
	free(db);
	free(kept);
	json_decref(toc);
	if (rc < 0)
		return pv_wrap("test restore of %s", label);
	char iso[21];
	pv_iso8601(time(NULL), iso);
	json_t *j = json_object();
	int bad = pvj_set_str(j, "at", iso) | pvj_set(j, "seconds", json_real(secs)) |
	          pvj_set_int(j, "tables", tables) | pvj_set_int(j, "rows", rows);
	if (bad) {
		json_decref(j);
		return pv_fail("test restore of %s: out of memory", label);
	}
	*report = j;
	return 0;
}
