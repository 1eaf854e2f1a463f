/*
 * engine/leftovers.c — the databases restores leave behind (see engine/leftovers.h).
 */
#include "engine/leftovers.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/json.h"

/* the names restore_target.c and restore_test.c give them */
#define PRE_RESTORE_RE "^(.*)_pre_restore_[0-9]{8}T[0-9]{6}Z(-[0-9]+)?$"
#define TEST_RE "^pgvault_test_[0-9]+_[0-9]+$"

json_t *
pv_leftovers_list(const pv_connopts *co, const char *db)
{
	PGconn *c = pv_connect(co, NULL);
	if (!c)
		return NULL;
	const char *params[1] = {db};
	PGresult *r = pv_query_params(c,
	    "SELECT d.datname, pg_catalog.substring(d.datname, '" PRE_RESTORE_RE "'),"
	    " CASE WHEN pg_catalog.has_database_privilege(d.oid, 'CONNECT')"
	    "  THEN pg_catalog.pg_database_size(d.oid) END,"
	    " (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity a WHERE a.datid = d.oid)"
	    " FROM pg_catalog.pg_database d"
	    " WHERE (d.datname ~ '" PRE_RESTORE_RE "' AND ($1::text IS NULL OR"
	    "        pg_catalog.substring(d.datname, '" PRE_RESTORE_RE "') = $1))"
	    "    OR ($1::text IS NULL AND d.datname ~ '" TEST_RE "')"
	    " ORDER BY 1", 1, params);
	PQfinish(c);
	if (!r)
		return NULL;
	json_t *out = json_array();
	int bad = 0;
	for (int i = 0; i < PQntuples(r) && !bad; i++) {
		json_t *e = json_object();
		int pre = !PQgetisnull(r, i, 1);
		bad |= pvj_set_str(e, "database", PQgetvalue(r, i, 0));
		bad |= pvj_set_str(e, "kind", pre ? "pre-restore copy" : "test restore");
		bad |= pvj_set(e, "of", pre ? json_string(PQgetvalue(r, i, 1)) : json_null());
		bad |= pvj_set(e, "size", PQgetisnull(r, i, 2) ? json_null()
		                                                : json_integer(strtoll(PQgetvalue(r, i, 2), NULL, 10)));
		bad |= pvj_set_int(e, "sessions", strtoll(PQgetvalue(r, i, 3), NULL, 10));
		bad |= pvj_append(out, e);
	}
	PQclear(r);
	if (bad) {
		json_decref(out);
		pv_fail("listing the leftovers: out of memory");
		return NULL;
	}
	return out;
}

int
pv_leftovers_drop(const pv_connopts *co, const char *name)
{
	PGconn *c = pv_connect(co, NULL);
	if (!c)
		return -1;
	char *q = pv_ident(c, name);
	char *sql = q ? pv_asprintf("DROP DATABASE %s", q) : NULL;
	int rc = sql ? pv_exec(c, sql) : -1;
	free(sql);
	free(q);
	PQfinish(c);
	return rc < 0 ? pv_wrap("dropping \"%s\"", name) : 0;
}
