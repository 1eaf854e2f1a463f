/*
 * pg/conn.h — connecting to PostgreSQL through libpq (environment, conninfo, -h/-p/-U),
 * running queries with errors turned into pv_fail messages, identifier/literal quoting,
 * and the session set-up of dumps and restores.
 */
#ifndef PV_PG_CONN_H
#define PV_PG_CONN_H

#include <libpq-fe.h>
#include <stdint.h>

#include "util/buf.h"

typedef struct pv_connopts {
	const char *host;
	const char *port;
	const char *user;
	const char *maintdb; /* a database name or a conninfo string; default "postgres" */
	const char *password; /* from the configuration file only (never argv) */
	int retries;          /* connection attempts after the first, with exponential backoff */
	int retry_delay;      /* seconds before the first retry */
	/* libpq's target_session_attrs ("read-write", "primary", "standby", "prefer-standby"),
	 * or NULL: the connection string's or the environment's */
	const char *target_session_attrs;
	const char *hostaddr; /* the address of host, when known (pv_connopts_same) */
} pv_connopts;

/* o, pinned to the server that c is connected to (its host, port and address; no
 * target_session_attrs): other sessions of one backup must reach that very server, whatever
 * servers a multi-host connection string lists. */
pv_connopts pv_connopts_same(const pv_connopts *o, PGconn *c);

/* 1 when c reaches the server through a pooler (PgBouncer: the session key it answered
 * the connection with is its own, not the server process's), 0 when directly, -1 (pv_fail). */
int pv_pooled(PGconn *c);

/* The kind of the current failure (util/err.h) from a server's error result or, without
 * one, the connection's state: a recovery conflict, a lost connection. */
void pv_err_from_server(PGconn *c, const PGresult *r);

/* What a dump session learnt about its server in the statement that took the snapshot. */
typedef struct pv_server_facts {
	int standby;          /* the server is in recovery (a hot standby) */
	char lsn[32];         /* the WAL position of the snapshot: the primary's current one, the
	                       * standby's last replayed one */
	double lag;           /* a standby's replay lag then, in seconds; -1: not known */
	int timeline;         /* 0: not known (the privileges to read it are missing) */
	char system_id[24];   /* pg_control_system()'s, "" when not readable */
	char address[64];     /* inet_server_addr(), "" on a Unix socket */
	int port;             /* inet_server_port(), 0 on a Unix socket */
	char feedback[16];    /* a standby's hot_standby_feedback */
	char delay[32];       /* a standby's max_standby_streaming_delay */
	int pooled;           /* through a pooler (PgBouncer): its session is not the server's */
	long long conflicts;  /* PV_CONFLICTS_SQL then (-1: not known) */
} pv_server_facts;

/* The statements a standby has cancelled in the current database so far to go on
 * replaying (a session ended by a recovery conflict between its statements sees only its
 * connection closed: this count tells). */
#define PV_CONFLICTS_SQL                                                                     \
	"SELECT confl_tablespace + confl_lock + confl_snapshot + confl_bufferpin + confl_deadlock" \
	" FROM pg_catalog.pg_stat_database_conflicts WHERE datname = pg_catalog.current_database()"

/* Connect to dbname (NULL: the maintenance database).  On failure NULL and a message
 * that says whether the server was unreachable, authentication failed or the database
 * does not exist (the password never appears in it). */
PGconn *pv_connect(const pv_connopts *o, const char *dbname);

/* 1 when s is a connection string (key=value or URI) that holds a password. */
int pv_conninfo_has_password(const char *s);

/* A command; 0 or -1 with the server's message. */
int pv_exec(PGconn *c, const char *sql);
/* A query returning rows; NULL with the server's message. */
PGresult *pv_query(PGconn *c, const char *sql);
/* Same, with text parameters. */
PGresult *pv_query_params(PGconn *c, const char *sql, int n, const char *const *values);

/* Quoting through libpq; the results are pv_malloc'd. */
char *pv_ident(PGconn *c, const char *name);
char *pv_literal(PGconn *c, const char *value);
/* "schema"."name" */
char *pv_qualify(PGconn *c, const char *schema, const char *name);
/* Append quoted forms to a buffer. */
void pv_buf_ident(pv_buf *b, PGconn *c, const char *name);
void pv_buf_literal(pv_buf *b, PGconn *c, const char *value);

/* Append s as an element of a text[] literal being built ("{" opened on first use; the
 * caller closes it with "}" or writes "{}" when empty). */
void pv_buf_array_elem(pv_buf *b, const char *s);

/* BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY, with the settings for reading a
 * consistent dump (catalog-dump-notes §1.5; client encoding UTF8, or SQL_ASCII for a
 * SQL_ASCII database) local to that transaction, so that a pooler handing the server
 * session to other clients between transactions (PgBouncer's transaction pooling) changes
 * nothing; facts (may be NULL) from the statement that takes the snapshot. */
int pv_dump_session(PGconn *c, pv_server_facts *facts);
/* The client encoding of a session ("UTF8", "SQL_ASCII", ...), and how its text is
 * written as JSON: PVJ_LATIN1 for SQL_ASCII (bytes), else PVJ_UTF8 (util/json.h). */
const char *pv_session_encoding(PGconn *c);
int pv_session_text(PGconn *c);
/* In a dump session: the transaction's snapshot exported for other sessions (malloc'd), or
 * NULL with pv_fail. */
char *pv_export_snapshot(PGconn *c);
/* A dump session that reads in the snapshot of another one (pv_export_snapshot). */
int pv_dump_worker_session(PGconn *c, const char *snapshot);
/* In a dump worker session: LOCK TABLE ONLY qtable IN ACCESS SHARE MODE NOWAIT inside a
 * savepoint.  1 locked, 0 not now (another session holds or waits for a conflicting lock;
 * the snapshot is kept), -1 on any other error (pv_fail). */
int pv_lock_nowait(PGconn *c, const char *qtable);
/* The size in blocks of each of n tables (relids) whose rows can be read by block range
 * (plain heap tables), else 0; into pages[i].  0, or -1 with pv_fail. */
int pv_heap_blocks(PGconn *c, const unsigned *relids, int n, long long *pages);

/* Session settings for replaying a bundle into a database; encoding is the client encoding
 * of the bundle's text (its header's "text_encoding"). */
int pv_restore_session(PGconn *c, const char *encoding, const char *search_path);
/* A restore session that fills a new database, one of `sessions` at once: commits do not
 * wait for the WAL flush (synchronous_commit = off; the restore's last step, the rename of
 * the database on another session, commits synchronously, which flushes everything before
 * it), and maintenance_work_mem at most a share of PV_BULK_MAINTENANCE_KB (the server's
 * own when less): the sessions' index builds together stay within a small server's memory,
 * and each adds no more parallel workers than the server's default would (raising it to
 * 128 MB for two sessions gave every build two parallel workers on a 2-core server: 20%
 * more server CPU for the 1 GB benchmark's restore). */
#define PV_BULK_MAINTENANCE_KB (256 * 1024)
int pv_bulk_load_session(PGconn *c, int sessions);
/* Start copy_sql (COPY ... FROM STDIN).  With freeze_table (the table's quoted name; its
 * rows all in this COPY, the table new): when the table is empty, in a transaction that
 * truncates it first and COPY ... FREEZE, so the rows go in frozen and their pages
 * all-visible, and the restored table needs no hint-bit writes or freezing later; when it
 * is not (an extension's configuration table) or the server refuses, the plain COPY.
 * 1 (FREEZE, the transaction open), 0 (plain), -1 with pv_fail. */
int pv_copy_in_begin(PGconn *c, const char *copy_sql, const char *freeze_table);
/* pv_copy_in_begin in steps, for a table loaded from several members in one transaction:
 * BEGIN, and when the table is empty, TRUNCATE: 1 (the transaction open, every COPY of the
 * table in it may add FREEZE), 0 (not empty, or refused: rolled back, nothing open). */
int pv_freeze_begin(PGconn *c, const char *table);
/* Start copy_sql (COPY ... FROM STDIN), with FREEZE when freeze: 0, or -1 with pv_fail. */
int pv_copy_in_start(PGconn *c, const char *copy_sql, int freeze);
/* A COPY FROM STDIN of one bundle member: the bytes it must amount to and the rows the
 * server must count, each -1 when not known (then not checked); and the bytes sent. */
typedef struct pv_copy_in {
	PGconn *c;
	int64_t want_raw, want_rows;
	int64_t sent;
} pv_copy_in;
/* Send rows of the COPY (a pv_zdec callback, arg a pv_copy_in): refused once they would
 * exceed want_raw, so a member that decompresses to more than its manifest entry says
 * stops there. */
int pv_copy_put(void *arg, const char *data, size_t len);
/* End the COPY begun (rc < 0: abort it) and, after FREEZE, commit (or roll back); with ci,
 * its bytes and the server's row count must be the ones wanted.  rc or -1. */
int pv_copy_in_end(PGconn *c, int rc, int freeze, const pv_copy_in *ci);

#endif
