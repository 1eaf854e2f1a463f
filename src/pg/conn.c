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
/* The FATAL a server sent while no statement ran (libpq hands it to the notice receiver):
 * why the session ended, for the error of the next statement, which only sees the
 * connection closed.  One per thread: a connection is used by one thread at a time. */
static _Thread_local struct {
	PGconn *c;
	char state[6];
	char msg[512];
} last_fatal;

static void
server_notice(void *arg, const PGresult *res)
{
	PGconn *c = arg;
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *sev_en = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	if (sev_en && strcmp(sev_en, "FATAL") == 0 && state) {
		last_fatal.c = c;
		snprintf(last_fatal.state, sizeof last_fatal.state, "%s", state);
		snprintf(last_fatal.msg, sizeof last_fatal.msg, "%s", PQresultErrorMessage(res));
	}
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

/* The connection failed although a server answers: when a server is there that is just
 * not of the kind asked for (target_session_attrs), 1 with the message saying which it is. */
static int
wrong_kind(const char *const *kw, const char *const *val, const char *want, const char *m)
{
	const char *k2[12], *v2[12];
	int n = 0;
	for (; kw[n] && n < 11; n++) {
		k2[n] = kw[n];
		v2[n] = strcmp(kw[n], "target_session_attrs") == 0 ? "any" : val[n];
	}
	k2[n] = v2[n] = NULL;
	PGconn *c = PQconnectdbParams(k2, v2, 1);
	int found = 0;
	if (PQstatus(c) == CONNECTION_OK) {
		PGresult *r = PQexec(c, "SELECT pg_catalog.pg_is_in_recovery(),"
		                        " pg_catalog.current_setting('default_transaction_read_only')");
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
			int rec = PQgetvalue(r, 0, 0)[0] == 't';
			int ro = strcmp(PQgetvalue(r, 0, 1), "on") == 0;
			int need_write = strcmp(want, "read-write") == 0 || strcmp(want, "primary") == 0;
			/* (of the kind wanted after all: the failure was something else) */
			int wrong = need_write ? rec || ro : strcmp(want, "standby") == 0 && !rec;
			const char *is = rec ? "a standby (in recovery: read-only)"
			               : ro ? "read-only (default_transaction_read_only = on)"
			                    : "a primary (it accepts writes)";
			if (wrong)
				pv_fail("no server of the kind needed (target_session_attrs=%s: %s) among those "
				        "of the connection; the first that answers, %s port %s, is %s", want,
				        need_write ? "one that accepts writes, a primary" : "a standby",
				        PQhost(c), PQport(c), is);
			found = wrong;
		}
		PQclear(r);
	}
	PQfinish(c);
	(void)m;
	return found;
}

static PGconn *
connect_once(const pv_connopts *o, const char *dbname, int *transient)
{
	const char *kw[12], *val[12];
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
	if (o->hostaddr) { kw[n] = "hostaddr"; val[n++] = o->hostaddr; }
	if (o->target_session_attrs) { kw[n] = "target_session_attrs"; val[n++] = o->target_session_attrs; }
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
		else if (o->target_session_attrs && wrong_kind(kw, val, o->target_session_attrs, m))
			what = NULL; /* (the whole message is set) */
		else if (PQconnectionNeedsPassword(c))
			what = "authentication failed (the server wants a password and none was found)";
		else if (strstr(m, "does not exist") && strstr(m, "database")) /* layering: not SQL */
			what = "database does not exist";
		else if (strstr(m, "authentication failed") || strstr(m, "password")) /* layering: not SQL */
			what = "authentication failed";
		else if (strstr(m, "too many clients")) /* layering: not SQL */
			*transient = 1; /* (English servers only: the slots are full for now) */
		if (what)
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
	pv_err_from_server(c, r);
	(void)sql;
	return -1;
}

void
pv_err_from_server(PGconn *c, const PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	if (!state && PQstatus(c) == CONNECTION_BAD && last_fatal.c == c) {
		/* closed after a FATAL between statements: that is the reason */
		state = last_fatal.state;
		pv_fail("%s", last_fatal.msg);
	}
	/* A read-only REPEATABLE READ transaction meets no serialization failure of its own:
	 * on a standby, 40001 is a recovery conflict (snapshot, tablespace, buffer pin, lock),
	 * 40P01 the buffer deadlock with the startup process. */
	const char *hs = PQparameterStatus(c, "in_hot_standby");
	if (state && (strcmp(state, "40001") == 0 ||
	              (strcmp(state, "40P01") == 0 && hs && strcmp(hs, "on") == 0)))
		pv_err_set_kind(PV_ERRK_RECOVERY_CONFLICT);
	else if (PQstatus(c) == CONNECTION_BAD || (state && (strncmp(state, "57P", 3) == 0 ||
	                                                     strncmp(state, "08", 2) == 0)))
		pv_err_set_kind(PV_ERRK_CONNECTION_LOST); /* (shut down, terminated, crashed, cut) */
}

int
pv_pooled(PGconn *c)
{
	PGresult *r = pv_query(c, "SELECT pg_catalog.pg_backend_pid()");
	if (!r)
		return -1;
	int pooled = PQntuples(r) == 1 && atoi(PQgetvalue(r, 0, 0)) != PQbackendPID(c);
	PQclear(r);
	return pooled;
}

pv_connopts
pv_connopts_same(const pv_connopts *o, PGconn *c)
{
	pv_connopts s = *o;
	s.host = PQhost(c);
	s.port = PQport(c);
	const char *addr = PQhostaddr(c);
	/* (a Unix socket has no address; a pooler's is the pooler's) */
	s.hostaddr = addr && *addr && s.host && s.host[0] != '/' ? addr : NULL;
	s.target_session_attrs = NULL;
	return s;
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

/* The statement that takes the snapshot: restrict_nonsystem_relation_kind where the server
 * has it (the minor releases of August 2024 on), and what the backup records of its source. */
static const char FACTS_SQL[] =
    "SELECT CASE WHEN pg_catalog.current_setting('restrict_nonsystem_relation_kind', true) IS NOT NULL"
    "   THEN pg_catalog.set_config('restrict_nonsystem_relation_kind', 'view, foreign-table', true) END"
    "   IS NOT NULL,"
    " pg_catalog.pg_is_in_recovery(),"
    " CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()"
    "   ELSE pg_catalog.pg_current_wal_lsn() END,"
    " CASE WHEN NOT pg_catalog.pg_is_in_recovery() THEN 0"
    "   WHEN pg_catalog.pg_last_wal_receive_lsn() = pg_catalog.pg_last_wal_replay_lsn() THEN 0"
    "   ELSE EXTRACT(EPOCH FROM pg_catalog.now() - pg_catalog.pg_last_xact_replay_timestamp()) END,"
    " CASE WHEN pg_catalog.pg_is_in_recovery() THEN (SELECT received_tli FROM pg_catalog.pg_stat_wal_receiver)"
    "   ELSE ('x' || pg_catalog.substr(pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()), 1, 8))"
    "     ::pg_catalog.bit(32)::pg_catalog.int4 END,"
    " CASE WHEN pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')"
    "   THEN (SELECT system_identifier FROM pg_catalog.pg_control_system())::pg_catalog.text END,"
    " pg_catalog.host(pg_catalog.inet_server_addr()), pg_catalog.inet_server_port(),"
    " pg_catalog.current_setting('hot_standby_feedback'),"
    " pg_catalog.current_setting('max_standby_streaming_delay'), pg_catalog.pg_backend_pid(),"
    " (" PV_CONFLICTS_SQL ")";

static void
copy_fact(char *dst, size_t n, PGresult *r, int col)
{
	snprintf(dst, n, "%s", PQgetisnull(r, 0, col) ? "" : PQgetvalue(r, 0, col));
}

static int
read_facts(PGconn *c, pv_server_facts *f)
{
	PGresult *r = pv_query(c, FACTS_SQL);
	if (!r)
		return -1;
	if (f && PQntuples(r) == 1) {
		memset(f, 0, sizeof *f);
		f->standby = PQgetvalue(r, 0, 1)[0] == 't';
		copy_fact(f->lsn, sizeof f->lsn, r, 2);
		f->lag = PQgetisnull(r, 0, 3) ? -1 : strtod(PQgetvalue(r, 0, 3), NULL);
		f->timeline = PQgetisnull(r, 0, 4) ? 0 : atoi(PQgetvalue(r, 0, 4));
		copy_fact(f->system_id, sizeof f->system_id, r, 5);
		copy_fact(f->address, sizeof f->address, r, 6);
		f->port = PQgetisnull(r, 0, 7) ? 0 : atoi(PQgetvalue(r, 0, 7));
		copy_fact(f->feedback, sizeof f->feedback, r, 8);
		copy_fact(f->delay, sizeof f->delay, r, 9);
		/* a pooler in between answered the connection with a key of its own */
		f->pooled = atoi(PQgetvalue(r, 0, 10)) != PQbackendPID(c);
		f->conflicts = PQgetisnull(r, 0, 11) ? -1 : strtoll(PQgetvalue(r, 0, 11), NULL, 10);
	}
	PQclear(r);
	return 0;
}

/* snapshot: the one to read in (a worker session), or NULL */
static int
dump_session(PGconn *c, const char *snapshot, pv_server_facts *facts)
{
	int v = PQserverVersion(c);
	pv_buf b = PV_BUF_INIT;
	const char *enc = dump_encoding(c);

	/* (client_encoding is one of the settings a pooler keeps per client) */
	if (PQsetClientEncoding(c, enc) != 0)
		return pv_fail("setting up the dump session: cannot read the database as %s: %s", enc,
		               PQerrorMessage(c));
	/* as pg_dump's setup_connection, plus jit = off: the catalog queries are many and
	 * small, and JIT compiling one of them costs seconds on servers that have JIT.
	 * quote_all_identifiers stays off, as pg_dump leaves it unless asked: every identifier
	 * pgvault writes is quoted through libpq anyway.  SET takes no snapshot: the statement
	 * reading the facts is the transaction's first query. */
	pv_buf_puts(&b, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;");
	if (snapshot) {
		char *lit = pv_literal(c, snapshot);
		pv_buf_printf(&b, "SET TRANSACTION SNAPSHOT %s;", lit);
		free(lit);
	}
	pv_buf_puts(&b,
	    "SET LOCAL search_path = ''; SET LOCAL datestyle = ISO; SET LOCAL intervalstyle = postgres;"
	    "SET LOCAL extra_float_digits = 3; SET LOCAL synchronize_seqscans = off;"
	    "SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0;"
	    "SET LOCAL idle_in_transaction_session_timeout = 0; SET LOCAL row_security = off;"
	    "SET LOCAL client_min_messages = warning; SET LOCAL jit = off;");
	if (v >= 170000)
		pv_buf_puts(&b, "SET LOCAL transaction_timeout = 0;");
	/* one round trip: a multi-statement string whose first statement is BEGIN stays in
	 * that transaction */
	int rc = pv_exec(c, b.data);
	pv_buf_free(&b);
	if (rc == 0)
		rc = read_facts(c, facts);
	if (rc < 0)
		return pv_wrap(snapshot ? "reading in the backup's snapshot" : "setting up the dump session");
	return 0;
}

int
pv_dump_session(PGconn *c, pv_server_facts *facts)
{
	return dump_session(c, NULL, facts);
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
	return dump_session(c, snapshot, NULL);
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
	    " SELECT pg_catalog.set_config('maintenance_work_mem', LEAST(pg_catalog.pg_size_bytes("
	    "pg_catalog.current_setting('maintenance_work_mem')) / 1024, %d)::pg_catalog.text || 'kB', false)",
	    PV_BULK_MAINTENANCE_KB / (sessions > 0 ? sessions : 1));
	int rc = pv_exec(c, sql);
	free(sql);
	return rc < 0 ? pv_wrap("setting up the restore session for bulk loading") : 0;
}

int
pv_freeze_begin(PGconn *c, const char *table)
{
	/* only an empty table: an extension's configuration table holds the rows its script
	 * made, which the members do not carry */
	char *prep = pv_asprintf("BEGIN; LOCK TABLE ONLY %s IN ACCESS EXCLUSIVE MODE;"
	                         " SELECT NOT EXISTS (SELECT FROM ONLY %s)", table, table);
	PGresult *r = PQexec(c, prep);
	free(prep);
	int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	         strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (ok) {
		char *trunc = pv_asprintf("TRUNCATE ONLY %s", table);
		ok = pv_exec(c, trunc) == 0;
		free(trunc);
	}
	if (!ok)
		PQclear(PQexec(c, "ROLLBACK"));
	return ok;
}

int
pv_copy_in_start(PGconn *c, const char *copy_sql, int freeze)
{
	char *sql = freeze ? pv_asprintf("%s FREEZE", copy_sql) : NULL;
	PGresult *r = PQexec(c, sql ? sql : copy_sql);
	free(sql);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		pv_fail("%s", r ? PQresultErrorMessage(r) : PQerrorMessage(c));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

int
pv_copy_in_begin(PGconn *c, const char *copy_sql, const char *freeze_table)
{
	if (freeze_table && pv_freeze_begin(c, freeze_table)) {
		if (pv_copy_in_start(c, copy_sql, 1) == 0)
			return 1;
		pv_debug("COPY FREEZE refused, copying plainly: %s", pv_errmsg());
		PQclear(PQexec(c, "ROLLBACK"));
	}
	return pv_copy_in_start(c, copy_sql, 0);
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
