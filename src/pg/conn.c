/*
 * pg/conn.c — libpq connections, queries with error context, quoting, session set-up.
 */
#include "pg/conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg/cancel.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/progress.h"

static PGconn *connect_once(const pv_connopts *o, const char *dbname, int *transient);

/* A warning (or notice) the server sends while pgvault works goes out as pgvault's own
 * warning (or information), saying where it came from, instead of libpq's raw
 * "WARNING:  ..." line. */
static void
server_notice(void *arg, const PGresult *res)
{
	PGconn *c = arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	const char *en = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	void (*say)(const char *, ...) = en && strcmp(en, "WARNING") == 0 ? pv_warn : pv_info;
	say("the server sent a %s in database \"%s\" (pgvault goes on): %s%s%s%s%s",
	    sev ? sev : "notice", PQdb(c), msg ? msg : PQresultErrorMessage(res),
	    detail ? "; " : "", detail ? detail : "", hint ? "; hint: " : "", hint ? hint : "");
}

int
pv_conninfo_has_password(const char *s)
{
	if (!s || (!strchr(s, '=') && strncmp(s, "postgres://", 11) != 0 && strncmp(s, "postgresql://", 13) != 0)) /* layering: not SQL */
		return 0;
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(s, &err);
	int has = 0;
	if (opts) {
		for (PQconninfoOption *o = opts; o->keyword; o++)
			if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
				has = 1;
		PQconninfoFree(opts);
	}
	PQfreemem(err);
	return has;
}

/* Transient failures (server unreachable, starting up, shutting down, in recovery, too many
 * connections) are retried with exponential backoff and jitter; authentication and missing
 * databases are not. */
PGconn *
pv_connect(const pv_connopts *o, const char *dbname)
{
	int transient = 0;
	PGconn *c = connect_once(o, dbname, &transient);
	unsigned delay = o->retry_delay > 0 ? (unsigned)o->retry_delay : 1;
	for (int attempt = 1; !c && transient && attempt <= o->retries; attempt++) {
		unsigned jitter = (unsigned)rand() % (delay * 250 + 1);
		pv_warn("%s; retrying in %u s (attempt %d of %d)", pv_errmsg(), delay, attempt, o->retries);
		usleep(delay * 1000000u + jitter * 1000u);
		if (pv_check_interrupt() < 0)
			return NULL;
		delay = delay * 2 > 300 ? 300 : delay * 2;
		c = connect_once(o, dbname, &transient);
	}
	return c;
}

static PGconn *
connect_once(const pv_connopts *o, const char *dbname, int *transient)
{
	const char *kw[10], *val[10];
	int n = 0;
	const char *maint = o->maintdb ? o->maintdb : "postgres";

	/* The first dbname may be a conninfo string (expand_dbname); a later dbname entry
	 * overrides only the database name. */
	kw[n] = "dbname"; val[n++] = maint;
	if (o->host) { kw[n] = "host"; val[n++] = o->host; }
	if (o->port) { kw[n] = "port"; val[n++] = o->port; }
	if (o->user) { kw[n] = "user"; val[n++] = o->user; }
	if (o->password) { kw[n] = "password"; val[n++] = o->password; }
	if (dbname) { kw[n] = "dbname"; val[n++] = dbname; }
	kw[n] = "fallback_application_name"; val[n++] = "pgvault";
	kw[n] = NULL; val[n] = NULL;

	PGconn *c = PQconnectdbParams(kw, val, 1);
	if (!c) {
		pv_fail("out of memory connecting to the server");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		const char *m = PQerrorMessage(c);
		const char *what = "cannot connect to the server";
		/* Whether to retry comes from libpq's own classification, not from message text
		 * (the server's messages are in its lc_messages): no answer at all, or a server
		 * that answers "cannot connect now" (starting up, shutting down, in recovery). */
		PGPing ping = PQpingParams(kw, val, 1);
		*transient = ping == PQPING_NO_RESPONSE || ping == PQPING_REJECT;
		if (ping == PQPING_NO_RESPONSE)
			what = "server unreachable";
		else if (ping == PQPING_REJECT)
			what = "server not accepting connections yet";
		else if (PQconnectionNeedsPassword(c))
			what = "authentication failed (the server wants a password and none was found)";
		else if (strstr(m, "does not exist") && strstr(m, "database")) /* layering: not SQL */
			what = "database does not exist";
		else if (strstr(m, "authentication failed") || strstr(m, "password")) /* layering: not SQL */
			what = "authentication failed";
		else if (strstr(m, "too many clients")) /* layering: not SQL */
			*transient = 1; /* (English servers only: the slots are full for now) */
		pv_fail("%s: %s", what, m);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeReceiver(c, server_notice, c);
	return c;
}

static int
check_result(PGconn *c, PGresult *r, ExecStatusType want, const char *sql)
{
	if (r && PQresultStatus(r) == want)
		return 0;
	const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
	if (!m || !*m)
		m = PQerrorMessage(c);
	pv_fail("%s", m);
	(void)sql;
	return -1;
}

int
pv_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int rc = check_result(c, r, PGRES_COMMAND_OK, sql);
	/* A multi-statement string ending in a SELECT is fine too. */
	if (rc < 0 && r && PQresultStatus(r) == PGRES_TUPLES_OK)
		rc = 0;
	PQclear(r);
	return rc;
}

PGresult *
pv_query(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	if (check_result(c, r, PGRES_TUPLES_OK, sql) < 0) {
		PQclear(r);
		return NULL;
	}
	return r;
}

PGresult *
pv_query_params(PGconn *c, const char *sql, int n, const char *const *values)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, values, NULL, NULL, 0);
	if (check_result(c, r, PGRES_TUPLES_OK, sql) < 0) {
		PQclear(r);
		return NULL;
	}
	return r;
}

/* A name or value libpq cannot quote (bytes that are no text in the session's encoding,
 * e.g. from an argument): said once, and "" in its place, which no statement accepts (a
 * zero-length delimited identifier), so the statement fails rather than pgvault. */
static char *
unquotable(PGconn *c, const char *what, const char *s)
{
	json_t *shown = pvj_shown(s);
	pv_error("cannot quote %s \"%s\": %s", what, shown ? json_string_value(shown) : "?",
	         PQerrorMessage(c));
	json_decref(shown);
	return pv_strdup("\"\"");
}

char *
pv_ident(PGconn *c, const char *name)
{
	char *q = PQescapeIdentifier(c, name, strlen(name));
	if (!q)
		return unquotable(c, "identifier", name);
	char *r = pv_strdup(q);
	PQfreemem(q);
	return r;
}

char *
pv_literal(PGconn *c, const char *value)
{
	char *q = PQescapeLiteral(c, value, strlen(value));
	if (!q)
		return unquotable(c, "literal", value);
	char *r = pv_strdup(q);
	PQfreemem(q);
	return r;
}

void
pv_buf_ident(pv_buf *b, PGconn *c, const char *name)
{
	char *q = pv_ident(c, name);
	pv_buf_puts(b, q);
	free(q);
}

void
pv_buf_literal(pv_buf *b, PGconn *c, const char *value)
{
	char *q = pv_literal(c, value);
	pv_buf_puts(b, q);
	free(q);
}

void
pv_buf_array_elem(pv_buf *b, const char *s)
{
	pv_buf_putc(b, b->len ? ',' : '{');
	pv_buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			pv_buf_putc(b, '\\');
		pv_buf_putc(b, *s);
	}
	pv_buf_putc(b, '"');
}

char *
pv_qualify(PGconn *c, const char *schema, const char *name)
{
	pv_buf b = PV_BUF_INIT;
	pv_buf_ident(&b, c, schema);
	pv_buf_putc(&b, '.');
	pv_buf_ident(&b, c, name);
	return pv_buf_detach(&b);
}

/* The text a dump session reads: UTF8 (the server converts names, bodies, comments and
 * rows from the database encoding), except from a SQL_ASCII database, whose bytes no
 * encoding describes: those are read as they are. */
static const char *
dump_encoding(PGconn *c)
{
	const char *server = PQparameterStatus(c, "server_encoding");
	return server && strcmp(server, "SQL_ASCII") == 0 ? "SQL_ASCII" : "UTF8";
}

const char *
pv_session_encoding(PGconn *c)
{
	return pg_encoding_to_char(PQclientEncoding(c));
}

int
pv_session_text(PGconn *c)
{
	return strcmp(pv_session_encoding(c), "SQL_ASCII") == 0 ? PVJ_LATIN1 : PVJ_UTF8;
}

int
pv_dump_session(PGconn *c)
{
	int v = PQserverVersion(c);
	pv_buf b = PV_BUF_INIT;
	const char *enc = dump_encoding(c);

	if (PQsetClientEncoding(c, enc) != 0)
		return pv_fail("setting up the dump session: cannot read the database as %s: %s", enc,
		               PQerrorMessage(c));
	/* as pg_dump's setup_connection, plus jit = off: the catalog queries are many and
	 * small, and JIT compiling one of them costs seconds on servers that have JIT.
	 * quote_all_identifiers stays off, as pg_dump leaves it unless asked: every identifier
	 * pgvault writes is quoted through libpq anyway. */
	pv_buf_puts(&b,
	    "SELECT pg_catalog.set_config('search_path', '', false);"
	    "SET datestyle = ISO; SET intervalstyle = postgres; SET extra_float_digits = 3;"
	    "SET synchronize_seqscans = off; SET statement_timeout = 0; SET lock_timeout = 0;"
	    "SET idle_in_transaction_session_timeout = 0; SET row_security = off;"
	    "SET client_min_messages = warning; SET jit = off;");
	if (v >= 170000)
		pv_buf_puts(&b, "SET transaction_timeout = 0;");
	pv_buf_puts(&b,
	    "SELECT pg_catalog.set_config(name, 'view, foreign-table', false)"
	    "  FROM pg_catalog.pg_settings WHERE name = 'restrict_nonsystem_relation_kind';");
	/* BEGIN on its own: a multi-statement string is one implicit transaction */
	int rc = pv_exec(c, b.data);
	if (rc == 0)
		rc = pv_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
	pv_buf_free(&b);
	if (rc < 0)
		return pv_wrap("setting up the dump session");
	return 0;
}

char *
pv_export_snapshot(PGconn *c)
{
	PGresult *r = pv_query(c, "SELECT pg_catalog.pg_export_snapshot()");
	if (!r) {
		pv_wrap("exporting the snapshot for the parallel sessions");
		return NULL;
	}
	char *id = PQntuples(r) == 1 ? pv_strdup(PQgetvalue(r, 0, 0)) : NULL;
	PQclear(r);
	if (!id)
		pv_fail("exporting the snapshot for the parallel sessions: no snapshot returned");
	return id;
}

int
pv_dump_worker_session(PGconn *c, const char *snapshot)
{
	if (pv_dump_session(c) < 0)
		return -1;
	char *lit = pv_literal(c, snapshot);
	char *sql = pv_asprintf("SET TRANSACTION SNAPSHOT %s", lit);
	int rc = pv_exec(c, sql);
	free(sql);
	free(lit);
	if (rc < 0)
		return pv_wrap("reading in the backup's snapshot");
	return 0;
}

int
pv_lock_nowait(PGconn *c, const char *qtable)
{
	/* one round trip when the lock is granted, two when it is not */
	char *sql = pv_asprintf("SAVEPOINT pv_lock; LOCK TABLE ONLY %s IN ACCESS SHARE MODE NOWAIT;"
	                        " RELEASE SAVEPOINT pv_lock", qtable);
	PGresult *r = PQexec(c, sql);
	free(sql);
	if (PQresultStatus(r) == PGRES_COMMAND_OK) {
		PQclear(r);
		return 1;
	}
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	int busy = state && strcmp(state, "55P03") == 0; /* lock_not_available */
	if (!busy)
		pv_fail("locking table %s: %s", qtable, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
	PQclear(r);
	if (!busy)
		return -1;
	/* the snapshot stays: only the subtransaction is rolled back */
	if (pv_exec(c, "ROLLBACK TO SAVEPOINT pv_lock; RELEASE SAVEPOINT pv_lock") < 0)
		return -1;
	return 0;
}

int
pv_heap_blocks(PGconn *c, const unsigned *relids, int n, long long *pages)
{
	pv_buf arr = PV_BUF_INIT;
	pv_buf_puts(&arr, "{");
	for (int i = 0; i < n; i++)
		pv_buf_printf(&arr, "%s%u", i ? "," : "", relids[i]);
	pv_buf_puts(&arr, "}");
	const char *params[1] = {arr.data};
	PGresult *r = pv_query_params(c,
	    "SELECT x.i, CASE WHEN c.relkind = 'r' AND a.amname = 'heap'"
	    "  THEN pg_catalog.pg_relation_size(c.oid) / pg_catalog.current_setting('block_size')::pg_catalog.int8"
	    "  ELSE 0 END"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) WITH ORDINALITY x(relid, i)"
	    " JOIN pg_catalog.pg_class c ON c.oid = x.relid"
	    " LEFT JOIN pg_catalog.pg_am a ON a.oid = c.relam", 1, params);
	pv_buf_free(&arr);
	if (!r)
		return pv_wrap("reading the sizes of the tables");
	for (int i = 0; i < n; i++)
		pages[i] = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		long k = strtol(PQgetvalue(r, i, 0), NULL, 10);
		if (k >= 1 && k <= n)
			pages[k - 1] = strtoll(PQgetvalue(r, i, 1), NULL, 10);
	}
	PQclear(r);
	return 0;
}

int
pv_restore_session(PGconn *c, const char *encoding, const char *search_path)
{
	int v = PQserverVersion(c);
	pv_buf b = PV_BUF_INIT;

	pv_buf_puts(&b, "SELECT pg_catalog.set_config('search_path', ");
	pv_buf_literal(&b, c, search_path ? search_path : "");
	pv_buf_puts(&b, ", false);"
	    "SET statement_timeout = 0; SET lock_timeout = 0;"
	    "SET idle_in_transaction_session_timeout = 0;"
	    "SET standard_conforming_strings = on; SET check_function_bodies = false;"
	    "SET xmloption = content; SET client_min_messages = warning; SET row_security = off;"
	    "SET datestyle = ISO; SET intervalstyle = postgres; SET extra_float_digits = 3;"
	    "SET default_table_access_method = heap; SET default_tablespace = '';");
	if (v >= 170000)
		pv_buf_puts(&b, "SET transaction_timeout = 0;");
	int rc = pv_exec(c, b.data);
	pv_buf_free(&b);
	if (rc == 0 && encoding && PQsetClientEncoding(c, encoding) != 0)
		rc = pv_fail("cannot set client encoding %s: %s", encoding, PQerrorMessage(c));
	if (rc < 0)
		return pv_wrap("setting up the restore session");
	return 0;
}

int
pv_bulk_load_session(PGconn *c, int sessions)
{
	char *sql = pv_asprintf(
	    "SET synchronous_commit = off;"
	    " SELECT pg_catalog.set_config('maintenance_work_mem', GREATEST(pg_catalog.pg_size_bytes("
	    "pg_catalog.current_setting('maintenance_work_mem')) / 1024, %d)::pg_catalog.text || 'kB', false)",
	    PV_BULK_MAINTENANCE_KB / (sessions > 0 ? sessions : 1));
	int rc = pv_exec(c, sql);
	free(sql);
	return rc < 0 ? pv_wrap("setting up the restore session for bulk loading") : 0;
}

int
pv_copy_in_begin(PGconn *c, const char *copy_sql, const char *freeze_table)
{
	PGresult *r;
	if (freeze_table) {
		/* only an empty table: an extension's configuration table holds the rows its
		 * script made, which the member does not carry */
		char *prep = pv_asprintf("BEGIN; LOCK TABLE ONLY %s IN ACCESS EXCLUSIVE MODE;"
		                         " SELECT NOT EXISTS (SELECT FROM ONLY %s)", freeze_table, freeze_table);
		r = PQexec(c, prep);
		free(prep);
		int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
		         strcmp(PQgetvalue(r, 0, 0), "t") == 0;
		PQclear(r);
		if (ok) {
			char *trunc = pv_asprintf("TRUNCATE ONLY %s", freeze_table);
			ok = pv_exec(c, trunc) == 0;
			free(trunc);
		}
		if (ok) {
			char *sql = pv_asprintf("%s FREEZE", copy_sql);
			r = PQexec(c, sql);
			free(sql);
			ok = PQresultStatus(r) == PGRES_COPY_IN;
			if (!ok)
				pv_debug("COPY FREEZE refused, copying plainly: %s", PQresultErrorMessage(r));
			PQclear(r);
			if (ok)
				return 1;
		}
		PQclear(PQexec(c, "ROLLBACK"));
	}
	r = PQexec(c, copy_sql);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		pv_fail("%s", r ? PQresultErrorMessage(r) : PQerrorMessage(c));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

int
pv_copy_put(void *arg, const char *data, size_t len)
{
	pv_copy_in *ci = arg;
	if (pv_check_interrupt() < 0)
		return -1;
	if (ci->want_raw >= 0 && (int64_t)len > ci->want_raw - ci->sent)
		return pv_fail("it holds more than the %lld bytes of rows its manifest entry gives it",
		               (long long)ci->want_raw);
	ci->sent += (int64_t)len;
	pv_progress_add((int64_t)len, 0);
	while (len > 0) {
		int n = len > (1u << 30) ? (1 << 30) : (int)len;
		if (PQputCopyData(ci->c, data, n) != 1)
			return pv_fail("sending rows: %s", PQerrorMessage(ci->c));
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int
pv_copy_in_end(PGconn *c, int rc, int freeze, const pv_copy_in *ci)
{
	PGresult *r;
	if (rc == 0 && ci && ci->want_raw >= 0 && ci->sent != ci->want_raw)
		rc = pv_fail("it holds %lld bytes of rows, its manifest entry says %lld",
		             (long long)ci->sent, (long long)ci->want_raw);
	if (PQputCopyEnd(c, rc < 0 ? "pgvault: aborted" : NULL) != 1 && rc == 0)
		rc = pv_fail("%s", PQerrorMessage(c));
	while ((r = PQgetResult(c)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0)
			rc = pv_fail("%s", PQresultErrorMessage(r));
		else if (rc == 0 && ci && ci->want_rows >= 0 &&
		         strtoll(PQcmdTuples(r), NULL, 10) != ci->want_rows)
			rc = pv_fail("%s rows loaded, its manifest entry says %lld", PQcmdTuples(r),
			             (long long)ci->want_rows);
		else if (rc == 0)
			pv_progress_add(0, strtoll(PQcmdTuples(r), NULL, 10));
		PQclear(r);
	}
	if (freeze) {
		if (rc == 0)
			rc = pv_exec(c, "COMMIT");
		else
			PQclear(PQexec(c, "ROLLBACK"));
	}
	return rc;
}
