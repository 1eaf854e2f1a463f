/*
 * engine/restore.c — replaying a bundle (see restore.h).
 */
#include "engine/restore.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/blobs.h"
#include "pg/cancel.h"
#include "pg/catalog.h"
#include "pg/pool.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/names.h"


typedef struct loader {
	const pv_connopts *co;
	const pv_restore_opts *o;
	PGconn *maint;    /* maintenance database */
	PGconn *c;        /* the database being restored into */
	char *target;     /* the name the restored database ends up with */
	char *dbname;     /* the name it is built under (a temporary one with --replace) */
	int created;      /* we created dbname: drop it on failure */
	int rows_only;    /* --table / --data-only: into an existing database */
	int in_tx;        /* rows-only transaction open */
	json_t *header;
	json_t *roles;
	json_t *data_toc;
	json_t *selected; /* rows-only: member_prefix -> entry */
	json_t *seen;     /* [{name, sha256}] as read */
	pv_buf acl_sql;   /* the ACL pass */
	pv_buf late_sql;  /* the late pass */
	pv_buf after_rows; /* rows-only: foreign keys re-added, triggers re-enabled */
	pv_pool *pool;    /* --jobs */
	json_t *lobs;     /* large objects being restored: blob_prefix -> state (engine/blobs.h) */
	int owner_super;  /* --owner names a superuser */
	int text;         /* PVJ_LATIN1: the JSON members' strings stand for SQL_ASCII bytes */
	int paths_set;    /* rows-only: function_search_paths() set, to be reset */
	json_t *new_roles; /* roles this restore created: dropped if it fails */
} loader;

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The client encoding of the bundle's text: "text_encoding" (format 2, and format 1 bundles
 * of UTF8 databases from newer versions), else the database's own encoding, in which format 1
 * stored its text. */
static const char *
text_encoding(loader *L)
{
	const char *t = jstr(L->header, "text_encoding");
	return t ? t : jstr(L->header, "encoding");
}

/* A JSON member; in a SQL_ASCII bundle its strings become the bytes they stand for. */
static json_t *
read_json(loader *L, pv_bundle_reader *r, const char *name)
{
	json_t *j = pv_br_read_json(r, PV_JSON_MEMBER_MAX);
	if (!j || L->text != PVJ_LATIN1)
		return j;
	json_t *bytes = pvj_map_bytes(j, name);
	json_decref(j);
	return bytes;
}

/* --owner: every role that owned something becomes the new owner. */
static const char *
map_role(loader *L, const char *role)
{
	if (role && L->o->owner &&
	    json_is_true(json_object_get(json_object_get(L->roles, role), "owns_objects")))
		return L->o->owner;
	return role;
}

/* ---- roles ---------------------------------------------------------------------------- */

static int
create_role(loader *L, const char *role, int login, const char *password)
{
	pv_buf b = PV_BUF_INIT;
	pv_buf_puts(&b, "CREATE ROLE ");
	pv_buf_ident(&b, L->maint, role);
	pv_buf_puts(&b, login ? " LOGIN" : " NOLOGIN");
	if (password) {
		/* only the verifier goes over the wire and into the server's logs */
		char *enc = PQencryptPasswordConn(L->maint, password, role, NULL);
		if (!enc) {
			pv_buf_free(&b);
			return pv_fail("cannot encrypt the password of role \"%s\": %s", role, PQerrorMessage(L->maint));
		}
		pv_buf_puts(&b, " PASSWORD ");
		pv_buf_literal(&b, L->maint, enc);
		PQfreemem(enc);
	}
	int rc = pv_exec(L->maint, b.data);
	pv_buf_free(&b);
	if (rc < 0)
		return pv_wrap("creating role \"%s\"", role);
	if (pvj_append_str(L->new_roles, role) < 0)
		return -1;
	pv_info("created role \"%s\" (%s)", role, login ? "LOGIN" : "NOLOGIN");
	return 0;
}

static int
check_roles(loader *L)
{
	pv_buf arr = PV_BUF_INIT;
	const char *k;
	json_t *v;
	json_t *need = json_object();
	int bad = 0;
	json_object_foreach(L->roles, k, v)
		bad |= pvj_set_bool(need, map_role(L, k), 1);
	if (L->o->owner)
		bad |= pvj_set_bool(need, L->o->owner, 1);
	if (bad) {
		json_decref(need);
		pv_buf_free(&arr);
		return pv_wrap("listing the roles of the bundle");
	}
	json_object_foreach(need, k, v)
		pv_buf_array_elem(&arr, k);
	json_decref(need);
	pv_buf_puts(&arr, arr.len ? "}" : "{}");
	const char *p[1] = {arr.data};
	PGresult *r = pv_query_params(L->maint,
	    "SELECT n FROM pg_catalog.unnest($1::text[]) n"
	    " WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = n) ORDER BY n", 1, p);
	pv_buf_free(&arr);
	if (!r)
		return pv_wrap("checking roles");
	pv_buf missing = PV_BUF_INIT;
	int rc = 0;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		const char *role = PQgetvalue(r, i, 0);
		if (L->o->owner && strcmp(role, L->o->owner) == 0 && L->o->create_role)
			rc = create_role(L, role, 1, L->o->role_password);
		else if (L->o->create_missing_roles && !(L->o->owner && strcmp(role, L->o->owner) == 0))
			rc = create_role(L, role, 0, NULL);
		else
			pv_buf_printf(&missing, "%s\"%s\"", missing.len ? ", " : "", role);
	}
	PQclear(r);
	if (rc == 0 && missing.len)
		rc = pv_fail("roles the bundle needs do not exist on the target server: %s (create them, "
		             "or use --create-missing-roles, or --owner ROLE [--create-role] to give "
		             "everything to one role)", missing.data);
	pv_buf_free(&missing);
	return rc;
}

/* A non-superuser can only hand objects to roles it may SET ROLE to. */
static int
check_ownership_rights(loader *L)
{
	PGresult *r = pv_query(L->maint, "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user");
	if (!r)
		return -1;
	int super = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (super && L->o->owner) {
		const char *p1[1] = {L->o->owner};
		r = pv_query_params(L->maint, "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = $1", 1, p1);
		if (!r)
			return -1;
		L->owner_super = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
		PQclear(r);
	}
	if (super)
		return 0;
	/* CREATE SUBSCRIPTION needs a superuser (12-15; from 16 a member of
	 * pg_create_subscription too, but only with a password in the connection, which a
	 * bundle never holds): refuse before anything is created */
	json_t *subs = json_object_get(L->header, "subscriptions");
	if (json_array_size(subs)) {
		pv_buf names = PV_BUF_INIT;
		size_t i;
		json_t *n;
		json_array_foreach(subs, i, n)
			pv_buf_printf(&names, "%s\"%s\"", i ? ", " : "", json_string_value(n));
		pv_fail("restoring as a non-superuser: the bundle holds subscription(s) %s, and only a "
		        "superuser can create a subscription (restore as a superuser)", names.data);
		pv_buf_free(&names);
		return -1;
	}
	pv_buf arr = PV_BUF_INIT;
	const char *k;
	json_t *v;
	json_object_foreach(L->roles, k, v)
		if (json_is_true(json_object_get(v, "owns_objects")))
			pv_buf_array_elem(&arr, map_role(L, k));
	pv_buf_puts(&arr, arr.len ? "}" : "{}");
	const char *p[1] = {arr.data};
	r = pv_query_params(L->maint,
	    "SELECT pg_catalog.string_agg(pg_catalog.quote_ident(n), ', ' ORDER BY n)"
	    " FROM pg_catalog.unnest($1::text[]) n WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles r"
	    "  WHERE r.rolname = n) AND NOT pg_catalog.pg_has_role(current_user, n, 'USAGE')", 1, p);
	pv_buf_free(&arr);
	if (!r)
		return -1;
	int rc = 0;
	if (!PQgetisnull(r, 0, 0))
		rc = pv_fail("restoring as a non-superuser: objects are owned by %s, a role you are not a "
		             "member of; use --owner ROLE (yourself, or a role you are a member of)",
		             PQgetvalue(r, 0, 0));
	PQclear(r);
	return rc;
}

/* ---- the database --------------------------------------------------------------------- */

static int
database_exists(loader *L, const char *name, int *exists)
{
	const char *p[1] = {name};
	PGresult *r = pv_query_params(L->maint, "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", 1, p);
	if (!r)
		return -1;
	*exists = PQntuples(r) > 0;
	PQclear(r);
	return 0;
}

/* Sessions connected to a database, for messages ("pid 123 (user app, psql)"); *out is
 * NULL when there are none.  With terminate, they are ended too. */
static int
sessions_on(loader *L, const char *name, int terminate, char **out)
{
	const char *p[2] = {name, terminate ? "true" : "false"};
	*out = NULL;
	PGresult *r = pv_query_params(L->maint,
	    "SELECT pid, usename, application_name, client_addr,"
	    " CASE WHEN $2::bool THEN pg_catalog.pg_terminate_backend(pid) END"
	    " FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()"
	    " AND backend_type = 'client backend'", /* autovacuum workers give way by themselves */
	    2, p);
	if (!r)
		return pv_wrap("listing sessions on database \"%s\"", name);
	pv_buf b = PV_BUF_INIT;
	for (int i = 0; i < PQntuples(r); i++)
		pv_buf_printf(&b, "%spid %s (user %s%s%s%s%s)", i ? ", " : "", PQgetvalue(r, i, 0),
		              PQgetvalue(r, i, 1), *PQgetvalue(r, i, 2) ? ", " : "", PQgetvalue(r, i, 2),
		              *PQgetvalue(r, i, 3) ? " from " : "", PQgetvalue(r, i, 3));
	PQclear(r);
	*out = b.len ? pv_buf_detach(&b) : NULL;
	pv_buf_free(&b);
	return 0;
}

/* A database with subscriptions cannot be dropped.  Those of a database a restore created
 * were made with connect = false: disabled, and a slot_name that may name the source's slot
 * on the publisher, which must not be dropped.  So each forgets its slot, then is dropped
 * without contacting anyone.  Best effort, for the DROP DATABASE that follows (which says
 * what is wrong if this did not help); the current error message is kept. */
static void
drop_subscriptions_in(loader *L, const char *dbname)
{
	const char *p[1] = {dbname};
	PGresult *r = PQexecParams(L->maint,
	    "SELECT 1 FROM pg_catalog.pg_subscription s JOIN pg_catalog.pg_database d ON d.oid = s.subdbid"
	    " WHERE d.datname = $1", 1, NULL, p, NULL, NULL, 0);
	int any = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
	PQclear(r);
	if (!any)
		return;
	char *saved = pv_strdup(pv_errmsg());
	int code = pv_errcode();
	PGconn *c = pv_connect(L->co, dbname);
	if (c) {
		r = PQexec(c, "SELECT s.subname FROM pg_catalog.pg_subscription s JOIN pg_catalog.pg_database d"
		              " ON d.oid = s.subdbid WHERE d.datname = pg_catalog.current_database()");
		for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++) {
			char *q = pv_ident(c, PQgetvalue(r, i, 0));
			char *sql = pv_asprintf("ALTER SUBSCRIPTION %s DISABLE; ALTER SUBSCRIPTION %s SET (slot_name = NONE);"
			                        " DROP SUBSCRIPTION %s", q, q, q);
			PGresult *x = PQexec(c, sql);
			if (PQresultStatus(x) != PGRES_COMMAND_OK)
				pv_warn("could not drop subscription %s of database \"%s\": %s", q, dbname,
				        PQresultErrorMessage(x));
			PQclear(x);
			free(sql);
			free(q);
		}
		PQclear(r);
		PQfinish(c);
	}
	pv_fail_code(code, "%s", saved);
	free(saved);
}

/* A temporary database says who builds it, so that a later run on the same host can drop
 * it once that process is gone (killed with SIGKILL): its name ends in the process id and a
 * hash of the host name (pgvault_restore_STAMP_PID_HOST), which holds from the CREATE
 * DATABASE on; its comment says the same in words. */
#define TMP_PREFIX "pgvault_restore_"
#define TMP_MARK "pgvault restore in progress: host %s pid %ld"

/* FNV-1a of this host's name, as 8 hex digits */
static void
host_tag(char out[9])
{
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)host; *p; p++)
		h = (h ^ *p) * 16777619u;
	snprintf(out, 9, "%08x", (unsigned)h);
}

/* A temporary database's maker, from its name (or, for those of older versions, its
 * comment): 1 when it was a process of this host that is gone. */
static int
stale_temporary(const char *name, const char *comment)
{
	char host[256] = "", h[256], tag[9], want[9];
	long pid;
	gethostname(host, sizeof host - 1);
	host_tag(want);
	if (sscanf(name, TMP_PREFIX "%*16[0-9TZ]_%ld_%8[0-9a-f]", &pid, tag) == 2 && strlen(name) ==
	        strlen(TMP_PREFIX) + 16 + 1 + (size_t)snprintf(NULL, 0, "%ld", pid) + 1 + 8) {
		if (strcmp(tag, want) != 0)
			return 0;
	} else if (sscanf(comment, "pgvault restore in progress: host %255s pid %ld", h, &pid) != 2 ||
	           strcmp(h, host) != 0)
		return 0;
	return pid != (long)getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static void
drop_stale_temporaries(loader *L)
{
	PGresult *r = pv_query(L->maint,
	    "SELECT datname, pg_catalog.shobj_description(oid, 'pg_database') FROM pg_catalog.pg_database"
	    " WHERE datname LIKE 'pgvault\\_restore\\_%'");
	if (!r)
		return;
	for (int i = 0; i < PQntuples(r); i++) {
		if (!stale_temporary(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1)))
			continue;
		drop_subscriptions_in(L, PQgetvalue(r, i, 0));
		char *q = pv_ident(L->maint, PQgetvalue(r, i, 0));
		char *sql = pv_asprintf("DROP DATABASE %s", q);
		if (pv_exec(L->maint, sql) == 0)
			pv_info("dropped %s, left by an interrupted restore", q);
		free(q);
		free(sql);
	}
	PQclear(r);
}

static void
set_clause(pv_buf *s, PGconn *c, const char *kv)
{
	const char *eq = kv ? strchr(kv, '=') : NULL;
	if (!eq)
		return;
	char *name = pv_strndup(kv, (size_t)(eq - kv));
	pv_buf_puts(s, "SET ");
	pv_buf_ident(s, c, name);
	pv_buf_puts(s, " TO ");
	/* list-valued settings are stored as lists of (double-quoted where needed) elements:
	 * each element becomes a literal of its own, so that nothing in a bundle's value is
	 * ever SQL text */
	if (strcmp(name, "search_path") == 0 || strcmp(name, "temp_tablespaces") == 0 ||
	    strstr(name, "preload_libraries")) {
		const char *p = eq + 1;
		int n = 0;
		pv_buf el = PV_BUF_INIT;
		while (*p) {
			while (*p == ' ' || *p == '\t')
				p++;
			pv_buf_reset(&el);
			if (*p == '"') {
				for (p++; *p && !(*p == '"' && p[1] != '"'); p++) {
					if (*p == '"')
						p++; /* "" stands for " */
					pv_buf_putc(&el, *p);
				}
				if (*p == '"')
					p++;
				while (*p && *p != ',')
					p++;
			} else {
				const char *end = p + strcspn(p, ",");
				const char *t = end;
				while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
					t--;
				pv_buf_add(&el, p, (size_t)(t - p));
				p = end;
			}
			if (*p == ',')
				p++;
			pv_buf_puts(s, n++ ? ", " : "");
			pv_buf_literal(s, c, el.len ? el.data : "");
		}
		pv_buf_free(&el);
		if (!n)
			pv_buf_puts(s, "''");
	} else {
		pv_buf_literal(s, c, eq + 1);
	}
	pv_buf_puts(s, ";");
	free(name);
}

static int
create_database(loader *L)
{
	json_t *h = L->header;
	pv_buf b = PV_BUF_INIT;
	pv_buf_puts(&b, "CREATE DATABASE ");
	pv_buf_ident(&b, L->maint, L->dbname);
	pv_buf_puts(&b, " TEMPLATE template0 ENCODING ");
	pv_buf_literal(&b, L->maint, jstr(h, "encoding"));
	const char *prov = jstr(h, "locale_provider");
	int v = PQserverVersion(L->maint);
	pv_buf_puts(&b, " LC_COLLATE ");
	pv_buf_literal(&b, L->maint, jstr(h, "collate"));
	pv_buf_puts(&b, " LC_CTYPE ");
	pv_buf_literal(&b, L->maint, jstr(h, "ctype"));
	if (v >= 150000 && prov && prov[0] == 'i' && jstr(h, "icu_locale")) {
		pv_buf_puts(&b, " LOCALE_PROVIDER icu ");
		pv_buf_puts(&b, v >= 170000 ? "LOCALE " : "ICU_LOCALE ");
		pv_buf_literal(&b, L->maint, jstr(h, "icu_locale"));
	} else if (prov && prov[0] == 'b' && jstr(h, "builtin_locale")) {
		/* 17+ (an older target server was refused with the bundle header) */
		pv_buf_puts(&b, " LOCALE_PROVIDER builtin BUILTIN_LOCALE ");
		pv_buf_literal(&b, L->maint, jstr(h, "builtin_locale"));
	}
	int rc = pv_exec(L->maint, b.data);
	pv_buf_free(&b);
	if (rc < 0)
		return pv_wrap("creating database \"%s\"", L->dbname);
	L->created = 1;
	pv_cancel_register(L->maint);

	char *q = pv_ident(L->maint, L->dbname);
	pv_buf s = PV_BUF_INIT;
	const char *owner = map_role(L, jstr(h, "owner"));
	if (owner) {
		pv_buf_printf(&s, "ALTER DATABASE %s OWNER TO ", q);
		pv_buf_ident(&s, L->maint, owner);
		pv_buf_puts(&s, ";");
	}
	{
		char host[256] = "";
		gethostname(host, sizeof host - 1);
		char *mark = pv_asprintf(TMP_MARK, *host ? host : "-", (long)getpid());
		pv_buf_printf(&s, "COMMENT ON DATABASE %s IS ", q);
		pv_buf_literal(&s, L->maint, mark);
		pv_buf_puts(&s, ";");
		free(mark);
	}
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(h, "settings"), i, e) {
		pv_buf_printf(&s, "ALTER DATABASE %s ", q);
		set_clause(&s, L->maint, json_string_value(e));
	}
	json_array_foreach(json_object_get(h, "role_settings"), i, e) {
		size_t k;
		json_t *kv;
		json_array_foreach(json_object_get(e, "settings"), k, kv) {
			pv_buf_puts(&s, "ALTER ROLE ");
			pv_buf_ident(&s, L->maint, map_role(L, jstr(e, "role")));
			pv_buf_printf(&s, " IN DATABASE %s ", q);
			set_clause(&s, L->maint, json_string_value(kv));
		}
	}
	char *target = pv_asprintf("DATABASE %s", q);
	json_array_foreach(json_object_get(h, "acl"), i, e)
		pv_acl_sql(&s, L->maint, target, owner, map_role(L, jstr(e, "grantor")),
		           map_role(L, jstr(e, "grantee")), jstr(e, "privs"), NULL,
		           json_is_true(json_object_get(e, "revoke")),
		           json_is_true(json_object_get(e, "grant_option")));
	/* explicit but equal to the default: a grant PUBLIC already holds makes it explicit */
	if (json_is_true(json_object_get(h, "acl_explicit")) && !json_array_size(json_object_get(h, "acl")))
		pv_buf_printf(&s, "GRANT CONNECT ON DATABASE %s TO PUBLIC;", q);
	free(target);
	free(q);
	rc = s.len ? pv_exec(L->maint, s.data) : 0;
	pv_buf_free(&s);
	if (rc < 0)
		return pv_wrap("setting up database \"%s\"", L->dbname);

	L->c = pv_connect(L->co, L->dbname);
	if (!L->c)
		return pv_wrap("connecting to the new database \"%s\"", L->dbname);
	pv_cancel_register(L->c);
	return pv_restore_session(L->c, text_encoding(L), jstr(h, "restore_search_path"));
}

/* The header is known: decide where the restore goes and check it can. */
static int
prepare_target(loader *L)
{
	const pv_restore_opts *o = L->o;
	int exists;
	L->target = pv_strdup(o->as ? o->as : jstr(L->header, "database"));
	if (database_exists(L, L->target, &exists) < 0)
		return -1;
	if (L->rows_only) {
		if (!exists)
			return pv_fail("database \"%s\" does not exist: --table and --data-only restore rows "
			               "into an existing database", L->target);
		L->dbname = pv_strdup(L->target);
		L->c = pv_connect(L->co, L->dbname);
		if (!L->c || pv_restore_session(L->c, text_encoding(L), jstr(L->header, "restore_search_path")) < 0)
			return -1;
		pv_cancel_register(L->c);
		return 0;
	}
	if (exists && !o->replace)
		return pv_fail("database \"%s\" already exists; refusing to restore over it "
		               "(use --replace to swap it atomically, or --as to restore under another name)",
		               L->target);
	if (exists && !o->terminate) {
		char *s;
		if (sessions_on(L, L->target, 0, &s) < 0)
			return -1;
		if (s) {
			pv_fail("database \"%s\" has open sessions: %s (stop them, or use --terminate-connections)",
			        L->target, s);
			free(s);
			return -1;
		}
	}
	/* Built under a temporary name and renamed only when complete: an interrupted restore
	 * never leaves a half-made database under the real name. */
	drop_stale_temporaries(L);
	char stamp[17];
	pv_stamp(time(NULL), stamp);
	char tag[9];
	host_tag(tag);
	L->dbname = pv_asprintf(TMP_PREFIX "%s_%ld_%s", stamp, (long)getpid(), tag);
	return 0;
}

/* The rename of the old database aside (--replace), the new one's into its name and its
 * real comment, in one transaction: whenever the process dies, the name holds either the old
 * database or the new one, and both stay connectable (nothing is closed to connections).  A
 * database is renamed only without sessions: with --terminate-connections they are ended,
 * again while clients reconnect (a few seconds at most); otherwise any session refuses. */
static void
swap_sql(loader *L, pv_buf *b, const char *qt, const char *qn, const char *qo)
{
	pv_buf_reset(b);
	pv_buf_puts(b, "BEGIN;");
	if (qo)
		pv_buf_printf(b, "ALTER DATABASE %s RENAME TO %s;", qt, qo);
	pv_buf_printf(b, "ALTER DATABASE %s RENAME TO %s;COMMENT ON DATABASE %s IS ", qn, qt, qt);
	if (jstr(L->header, "comment"))
		pv_buf_literal(b, L->maint, jstr(L->header, "comment"));
	else
		pv_buf_puts(b, "NULL");
	pv_buf_puts(b, ";COMMIT;");
}

static int
swap_in(loader *L, char **kept_as)
{
	int exists;
	if (database_exists(L, L->target, &exists) < 0)
		return -1;
	if (exists && !L->o->replace)
		return pv_fail("database \"%s\" was created by someone else during the restore", L->target);
	char *qt = pv_ident(L->maint, L->target), *qn = pv_ident(L->maint, L->dbname);
	char *old = NULL, *qo = NULL;
	pv_buf b = PV_BUF_INIT;
	int rc = -1;

	if (exists) {
		/* NAME_pre_restore_STAMP[-N], cut to 63 bytes on a UTF-8 boundary */
		char stamp[17];
		pv_stamp(time(NULL), stamp);
		for (int k = 1; k < 100; k++) {
			char suffix[48];
			snprintf(suffix, sizeof suffix, k > 1 ? "_pre_restore_%s-%d" : "_pre_restore_%s", stamp, k);
			size_t room = 63 - strlen(suffix), n = strlen(L->target);
			if (n > room) {
				n = room;
				while (n > 0 && ((unsigned char)L->target[n] & 0xC0) == 0x80)
					n--;
			}
			free(old);
			old = pv_asprintf("%.*s%s", (int)n, L->target, suffix);
			int taken;
			if (database_exists(L, old, &taken) < 0)
				goto out;
			if (!taken)
				break;
		}
		qo = pv_ident(L->maint, old);
	}
	swap_sql(L, &b, qt, qn, qo);
	for (int attempt = 0;; attempt++) {
		if (exists) {
			char *s = NULL;
			if (sessions_on(L, L->target, L->o->terminate, &s) < 0)
				goto out;
			if (s && !L->o->terminate) {
				pv_fail("database \"%s\" has open sessions: %s (stop them, or use --terminate-connections)",
				        L->target, s);
				free(s);
				goto out;
			}
			free(s);
		}
		PGresult *res = PQexec(L->maint, b.data);
		int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		/* 55006: a session (re)connected meanwhile, or a terminated one is still leaving */
		int busy = !ok && state && strcmp(state, "55006") == 0;
		if (!ok)
			pv_fail("%s", PQresultErrorMessage(res));
		PQclear(res);
		if (ok)
			break;
		PQclear(PQexec(L->maint, "ROLLBACK"));
		if (!busy || attempt >= 100)
			goto out;
		usleep(100000);
	}
	free(L->dbname);
	L->dbname = pv_strdup(L->target);
	L->created = 0; /* it is the live database now */
	rc = 0;
	if (qo) {
		if (L->o->drop_old) {
			pv_buf_reset(&b);
			pv_buf_printf(&b, "DROP DATABASE %s", qo);
			if (pv_exec(L->maint, b.data) < 0)
				pv_warn("the replaced database was kept as \"%s\": %s", old, pv_errmsg());
			else
				pv_info("dropped the replaced database");
		} else {
			*kept_as = pv_strdup(old);
		}
	}
out:
	if (rc < 0)
		pv_wrap("putting the restored database in place as \"%s\"", L->target);
	pv_buf_free(&b);
	free(qt);
	free(qo);
	free(qn);
	free(old);
	return rc;
}

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
		pv_acl_sql(&L->acl_sql, L->c, jstr(e, "acl_target"), map_role(L, jstr(e, "owner")),
		           map_role(L, jstr(a, "grantor")), map_role(L, jstr(a, "grantee")),
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
	const char *owner = map_role(L, jstr(e, "owner"));
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

/* Post-data with --jobs: entries as a dependency graph over the worker pool. */
static int
run_entries_parallel(loader *L, json_t *entries)
{
	size_t n = json_array_size(entries), i;
	pv_pool_item *items = pv_calloc(n + 1, sizeof *items);
	json_t *index = json_object(); /* entry id -> item index */
	json_t *e;
	int k = 0, bad = 0;
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
		items[k].label = pv_asprintf("post-data: %s", lbl);
		free(lbl);
		char key[32];
		snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(e, "id")));
		bad |= pvj_set_int(index, key, k);
		json_t *locks = json_object_get(e, "locks");
		items[k].locks = pv_calloc(json_array_size(locks) + 1, sizeof(int));
		size_t j;
		json_t *l;
		json_array_foreach(locks, j, l)
			items[k].locks[items[k].nlocks++] = (int)json_integer_value(l);
		k++;
	}
	/* dependencies among these items (others are done already) */
	json_array_foreach(entries, i, e) {
		char key[32];
		snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(e, "id")));
		json_t *me = json_object_get(index, key);
		if (!me)
			continue;
		pv_pool_item *it = &items[json_integer_value(me)];
		json_t *deps = json_object_get(e, "deps");
		it->deps = pv_calloc(json_array_size(deps) + 1, sizeof(int));
		size_t j;
		json_t *d;
		json_array_foreach(deps, j, d) {
			snprintf(key, sizeof key, "%lld", (long long)json_integer_value(d));
			json_t *di = json_object_get(index, key);
			if (di)
				it->deps[it->ndeps++] = (int)json_integer_value(di);
		}
	}
	int count = bad ? k : (int)json_object_size(index);
	int rc = bad ? pv_wrap("indexing the post-data entries") : pv_pool_run(L->pool, items, count);
	for (int m = 0; m < count; m++) {
		free(items[m].sql);
		free(items[m].label);
		free(items[m].deps);
		free(items[m].locks);
	}
	free(items);
	json_decref(index);
	return rc;
}

static int
run_entries(loader *L, json_t *entries, const char *section)
{
	pv_buf b = PV_BUF_INIT;
	size_t i;
	json_t *e;
	if (L->pool && section[1] == 'o') {
		pv_buf_free(&b);
		if (pv_pool_wait(L->pool) < 0)
			return pv_wrap("loading rows");
		return run_entries_parallel(L, entries);
	}
	if (pv_exec(L->c, "BEGIN") < 0)
		return pv_wrap("%s", section);
	json_array_foreach(entries, i, e) {
		if (queue_late(L, e))
			continue;
		pv_buf_reset(&b);
		entry_sql(L, e, &b);
		if (!b.len)
			continue;
		if (pv_exec(L->c, b.data) < 0) {
			char *l = entry_label(e);
			pv_wrap("%s: %s", section, l);
			free(l);
			pv_buf_free(&b);
			return -1;
		}
	}
	pv_buf_free(&b);
	if (pv_exec(L->c, "COMMIT") < 0)
		return pv_wrap("%s", section);
	return 0;
}

/* Functions whose bodies resolve names through search_path (the backup's warning, see
 * pg/cat_types.c): set == 1 gives each the bundle's restore search_path (ALTER FUNCTION ...
 * SET search_path), so that index builds and materialized view refreshes (which PostgreSQL
 * 17 and later run with a fixed search_path of their own) resolve them as in the source;
 * set == 0 takes it away again, leaving the functions as they were.  Rows-only restores go
 * into a database of the user's, which may lack some of these functions: those are left
 * alone there. */
static int
function_search_paths(loader *L, int set)
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

/* ---- rows ----------------------------------------------------------------------------- */

static int
put_copy(void *arg, const char *data, size_t len)
{
	PGconn *c = arg;
	if (pv_check_interrupt() < 0)
		return -1;
	while (len > 0) {
		int n = len > (1u << 30) ? (1 << 30) : (int)len;
		if (PQputCopyData(c, data, n) != 1)
			return pv_fail("sending rows: %s", PQerrorMessage(c));
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static json_t *
find_data_entry(loader *L, const char *member)
{
	/* data/ID.N.copy.zst -> data/ID */
	const char *dot = strchr(member + 5, '.');
	if (!dot)
		return NULL;
	size_t n = (size_t)(dot - member);
	size_t i;
	json_t *e;
	json_array_foreach(L->data_toc, i, e) {
		const char *p = jstr(e, "member_prefix");
		if (p && strlen(p) == n && strncmp(p, member, n) == 0)
			return e;
	}
	return NULL;
}

static int
load_member(loader *L, pv_bundle_reader *r, const char *name)
{
	json_t *e = find_data_entry(L, name);
	if (!e)
		return pv_fail("member %s belongs to no table of data.json", name);
	if (L->rows_only && !json_object_get(L->selected, jstr(e, "member_prefix")))
		return 0; /* not selected: skipped (its checksum is still checked) */
	const char *cols = jstr(e, "column_list");
	/* rows of a partition whose routing depends on OIDs go in through the partition root */
	const char *target = jstr(e, "load_via") ? jstr(e, "load_via") : jstr(e, "table");
	char *sql = cols && *cols ? pv_asprintf("COPY %s (%s) FROM STDIN", target, cols)
	                          : pv_asprintf("COPY %s FROM STDIN", target);
	if (L->pool) {
		/* the member's compressed bytes go to a worker (bounded: one member each) */
		pv_buf z = PV_BUF_INIT;
		int rc = pv_br_read_all(r, &z, PV_JSON_MEMBER_MAX);
		char *label = pv_asprintf("member %s: table %s", name, jstr(e, "table"));
		if (rc == 0) {
			size_t len = z.len;
			rc = pv_pool_copy(L->pool, sql, label, pv_buf_detach(&z), len);
		}
		pv_buf_free(&z);
		free(label);
		free(sql);
		return rc;
	}
	PGresult *res = PQexec(L->c, sql);
	free(sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		pv_fail("%s", PQresultErrorMessage(res));
		PQclear(res);
		return pv_wrap("member %s: table %s", name, jstr(e, "table"));
	}
	PQclear(res);
	int64_t raw = 0;
	int rc = pv_br_decompress(r, put_copy, L->c, &raw);
	if (PQputCopyEnd(L->c, rc < 0 ? "pgvault: aborted" : NULL) != 1 && rc == 0)
		rc = pv_fail("%s", PQerrorMessage(L->c));
	while ((res = PQgetResult(L->c)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
			rc = pv_fail("%s", PQresultErrorMessage(res));
		PQclear(res);
	}
	if (rc < 0)
		return pv_wrap("member %s: table %s", name, jstr(e, "table"));
	return 0;
}

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
static int
start_rows_only(loader *L)
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
		if (function_search_paths(L, 1) < 0)
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

/* ---- large objects ---------------------------------------------------------------------- */

/* Create every large object of data.json, empty and with its own oid, before their blob
 * members fill them. */
static int
start_large_objects(loader *L)
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
		pv_buf_ident(b, L->c, map_role(L, jstr(e, "owner")));
		pv_buf_puts(b, ";\n");
	}
	if (jstr(e, "comments"))
		pv_buf_puts(b, jstr(e, "comments"));
	json_array_foreach(json_object_get(e, "acl"), i, a)
		pv_acl_sql(b, L->c, jstr(e, "acl_target"), map_role(L, jstr(e, "owner")),
		           map_role(L, jstr(a, "grantor")), map_role(L, jstr(a, "grantee")),
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

/* ---- the member stream ------------------------------------------------------------------ */

static int
check_manifest(loader *L, json_t *manifest, const char *label)
{
	json_t *members = json_object_get(manifest, "members");
	if (!json_is_array(members))
		return pv_fail("%s: manifest has no member list", label);
	size_t n = json_array_size(members), m = json_array_size(L->seen);
	for (size_t i = 0; i < n || i < m; i++) {
		json_t *want = json_array_get(members, i), *got = json_array_get(L->seen, i);
		if (!got)
			return pv_fail("%s: member %s listed in the manifest is missing", label, jstr(want, "name"));
		if (!want)
			return pv_fail("%s: unexpected member %s", label, jstr(got, "name"));
		if (strcmp(jstr(want, "name"), jstr(got, "name")) != 0)
			return pv_fail("%s: member %s found where the manifest lists %s", label,
			               jstr(got, "name"), jstr(want, "name"));
		if (strcmp(jstr(want, "sha256"), jstr(got, "sha256")) != 0)
			return pv_fail("%s: member %s: SHA-256 mismatch (manifest %s, computed %s)", label,
			               jstr(got, "name"), jstr(want, "sha256"), jstr(got, "sha256"));
	}
	return 0;
}

static int
handle_member(loader *L, pv_bundle_reader *r, const char *name, const char *label)
{
	const pv_restore_opts *o = L->o;
	if (strcmp(name, "roles.json") == 0) {
		if (!(L->roles = read_json(L, r, name)))
			return -1;
		if (prepare_target(L) < 0)
			return -1;
		if (L->rows_only)
			return 0;
		if (check_roles(L) < 0 || check_ownership_rights(L) < 0)
			return -1;
		return create_database(L);
	}
	if (strcmp(name, "pre-data.json") == 0 || strcmp(name, "post-data.json") == 0) {
		if (L->rows_only && o->data_only && name[1] == 'o') {
			/* --data-only refreshes the materialized views, as pg_restore does (the other
			 * late entries, event triggers, are schema) */
			json_t *entries = read_json(L, r, name);
			if (!entries)
				return -1;
			size_t i;
			json_t *e;
			json_array_foreach(entries, i, e)
				if (json_is_true(json_object_get(e, "late")) && jstr(e, "sql") &&
				    strcmp(jstr(e, "kind"), pv_kind_name(K_REFRESH)) == 0)
					pv_buf_printf(&L->late_sql, "%s\n", jstr(e, "sql"));
			json_decref(entries);
			return 0;
		}
		if (L->rows_only)
			return 0;
		if (name[1] == 'o' && L->lobs && pv_blob_check_loaded(L->lobs) < 0)
			return -1;
		json_t *entries = read_json(L, r, name);
		int rc = entries && L->c ? run_entries(L, entries, name[1] == 'r' ? "pre-data" : "post-data") : -1;
		json_decref(entries);
		if (rc == 0 && name[1] == 'r')
			rc = function_search_paths(L, 1); /* until everything is built */
		return rc;
	}
	if (strcmp(name, "data.json") == 0) {
		if (!(L->data_toc = read_json(L, r, name)) || !L->c)
			return -1;
		if (L->rows_only) {
			size_t i, nlobs = 0;
			json_t *e;
			json_array_foreach(L->data_toc, i, e)
				nlobs += pv_blob_is_entry(e) != 0;
			if (nlobs)
				pv_info("skipping the bundle's %zu large object(s): --table and --data-only "
				        "restore table rows only", nlobs);
			return start_rows_only(L);
		}
		if (o->schema_only)
			return 0;
		if (o->jobs > 1 && !(L->pool = pv_pool_new(L->co, L->dbname, text_encoding(L),
		                                              jstr(L->header, "restore_search_path"), o->jobs)))
			return -1;
		size_t i;
		json_t *e;
		json_array_foreach(L->data_toc, i, e)
			if (jstr(e, "sql") && pv_exec(L->c, jstr(e, "sql")) < 0)
				return pv_wrap("%s %s", jstr(e, "kind"), jstr(e, "name"));
		return start_large_objects(L);
	}
	if (strncmp(name, "data/", 5) == 0) {
		if (!L->data_toc || !L->c)
			return pv_fail("member %s before data.json", name);
		return o->schema_only ? 0 : load_member(L, r, name);
	}
	if (strncmp(name, "blobs/", 6) == 0) {
		if (!L->data_toc || !L->c)
			return pv_fail("member %s before data.json", name);
		/* large objects are data, but not rows of a table: neither --schema-only nor the
		 * rows-only modes restore them (their checksums are still checked) */
		if (o->schema_only || L->rows_only)
			return 0;
		return pv_blob_load_member(L->c, r, L->lobs, name);
	}
	return pv_fail("%s: unexpected member %s", label, name);
}

/* The format and the text of the bundle; the maintenance session then speaks that text
 * (database and role names, the database's comment and settings). */
static int
read_header(loader *L, const char *label)
{
	json_int_t format = json_integer_value(json_object_get(L->header, "format"));
	if (format < PV_BUNDLE_FORMAT_MIN || format > PV_BUNDLE_FORMAT)
		return pv_fail("%s: unsupported bundle format %lld (this pgvault reads formats %d to %d)",
		               label, (long long)format, PV_BUNDLE_FORMAT_MIN, PV_BUNDLE_FORMAT);
	const char *enc = text_encoding(L);
	if (!enc)
		return pv_fail("%s: the header names no encoding", label);
	if (PQsetClientEncoding(L->maint, enc) != 0)
		return pv_fail("cannot set client encoding %s: %s", enc, PQerrorMessage(L->maint));
	if (format >= 2 && strcmp(enc, "SQL_ASCII") == 0) {
		L->text = PVJ_LATIN1;
		json_t *bytes = pvj_map_bytes(L->header, PV_MEMBER_HEADER);
		if (!bytes)
			return pv_wrap("%s", label);
		json_decref(L->header);
		L->header = bytes;
	}
	return 0;
}

/* "17.6 (Debian 17.6-1)" -> "17.6" */
static char *
short_version(const char *v)
{
	return v ? pv_strndup(v, strcspn(v, " ")) : pv_strdup("(unknown)");
}

/* A bundle restores into the same or a newer major version only: its DDL uses what its
 * server had (e.g. 17's MAINTAIN privilege).  Checked before anything is created. */
static int
check_server_version(loader *L, const char *label)
{
	json_t *num = json_object_get(L->header, "server_version_num");
	int from = (int)json_integer_value(num), to = PQserverVersion(L->maint);
	if (!json_is_integer(num) || from <= 0)
		return pv_fail("%s: the bundle header has no server version", label);
	if (to / 10000 >= from / 10000)
		return 0;
	char *fv = short_version(jstr(L->header, "server_version"));
	char *tv = short_version(PQparameterStatus(L->maint, "server_version"));
	pv_fail("bundle from PostgreSQL %s cannot be restored into PostgreSQL %s: restoring into an "
	        "older major version is not supported", fv, tv);
	free(fv);
	free(tv);
	return -1;
}

static int
read_members(loader *L, pv_bundle_reader *r, const char *label)
{
	const char *name;
	int64_t size;
	int k = 0, idx = 0;
	json_t *manifest = NULL;
	int rc = 0;

	while (rc == 0 && pv_check_interrupt() == 0 && (k = pv_br_next(r, &name, &size)) > 0) {
		char *mname = pv_strdup(name);
		if (++idx == 1) {
			if (strcmp(mname, PV_MEMBER_HEADER) != 0 || !(L->header = pv_br_read_json(r, PV_JSON_MEMBER_MAX)))
				rc = pv_fail("%s is not a pgvault bundle (first member is %s)", label, mname);
			else if ((rc = read_header(L, label)) == 0)
				rc = check_server_version(L, label);
		} else if (strcmp(mname, PV_MEMBER_MANIFEST) == 0) {
			manifest = pv_br_read_json(r, PV_JSON_MEMBER_MAX);
			rc = manifest ? check_manifest(L, manifest, label) : -1;
			free(mname);
			break;
		} else {
			rc = handle_member(L, r, mname, label);
		}
		if (rc == 0) {
			char sha[65];
			if (pv_br_member_sha(r, sha) < 0) {
				rc = -1;
			} else {
				json_t *s = json_object();
				rc = pvj_set_str(s, "name", mname);
				rc |= pvj_set_str(s, "sha256", sha);
				rc |= pvj_append(L->seen, s);
			}
		}
		free(mname);
	}
	if (rc == 0 && (k < 0 || pv_check_interrupt() < 0))
		rc = -1;
	if (rc == 0 && !manifest)
		rc = pv_fail("%s is truncated: no manifest at its end", label);
	json_decref(manifest);
	return rc;
}

int
pv_restore_bundle(const pv_connopts *co, pv_source *src, const char *label,
                  const pv_restore_opts *o, char **dbname, char **kept_as)
{
	loader L;
	memset(&L, 0, sizeof L);
	L.co = co;
	L.o = o;
	L.rows_only = o->ntables > 0 || o->data_only;
	L.seen = json_array();
	L.new_roles = json_array();
	*dbname = NULL;
	*kept_as = NULL;
	int rc = -1;

	pv_cleanup_pending++;
	pv_bundle_reader *r = NULL;
	/* Nothing from a bundle runs before all of it verified: a first pass when the source
	 * can be read twice (a local or downloaded file), else the checks of the one pass
	 * (the manifest is compared at the end; a failure then drops what was made). */
	if (src->rewind) {
		if (pv_bundle_verify(src, label, NULL) < 0 || src->rewind(src) < 0)
			goto out;
		pv_debug("verified %s", label);
	}
	r = pv_br_new(src, label);
	if (!r)
		goto out;
	L.maint = pv_connect(co, NULL);
	if (!L.maint)
		goto out;
	if (read_members(&L, r, label) < 0)
		goto out;
	if (L.rows_only) {
		if (L.after_rows.len && pv_exec(L.c, L.after_rows.data) < 0) {
			pv_wrap("adding foreign keys back and re-enabling triggers");
			goto out;
		}
		if (L.late_sql.len && pv_exec(L.c, L.late_sql.data) < 0) {
			pv_wrap("refreshing materialized views");
			goto out;
		}
		if (L.paths_set && function_search_paths(&L, 0) < 0)
			goto out;
		if (L.in_tx && pv_exec(L.c, "COMMIT") < 0)
			goto out;
		L.in_tx = 0;
	} else {
		if (L.acl_sql.len && pv_exec(L.c, L.acl_sql.data) < 0) {
			pv_wrap("granting privileges");
			goto out;
		}
		if (finish_large_objects(&L) < 0)
			goto out;
		if (L.late_sql.len && pv_exec(L.c, L.late_sql.data) < 0) {
			pv_wrap("refreshing materialized views");
			goto out;
		}
		if (function_search_paths(&L, 0) < 0)
			goto out;
		pv_cancel_unregister(L.c);
		PQfinish(L.c);
		L.c = NULL;
		pv_pool_free(L.pool);
		L.pool = NULL;
		if (swap_in(&L, kept_as) < 0)
			goto out;
	}
	rc = 0;
	*dbname = pv_strdup(L.target);
out:
	if (rc < 0 && L.target)
		pv_wrap("restoring into \"%s\"", L.target);
	pv_pool_free(L.pool);
	if (L.c) {
		pv_cancel_unregister(L.c);
		if (L.in_tx)
			PQclear(PQexec(L.c, "ROLLBACK"));
		PQfinish(L.c);
	}
	pv_cancel_unregister(L.maint);
	PGresult *ping = NULL;
	if (rc < 0 && (L.created || json_array_size(L.new_roles)) && L.maint &&
	    (PQstatus(L.maint) != CONNECTION_OK ||
	     PQresultStatus(ping = PQexec(L.maint, "SELECT 1")) != PGRES_TUPLES_OK)) {
		/* the server restarted, or ended our session: a new one to clean up with (the
		 * error stays the one that stopped the restore) */
		char *why = pv_strdup(pv_errmsg());
		int code = pv_errcode();
		PQfinish(L.maint);
		L.maint = NULL;
		for (int i = 0; i < 10 && !L.maint; i++) {
			if (i)
				sleep(1);
			L.maint = pv_connect(co, NULL);
		}
		pv_fail_code(code, "%s", why);
		free(why);
		if (!L.maint)
			pv_warn("could not reconnect to drop what the failed restore made (the next restore "
			        "drops a temporary database left behind)");
	}
	PQclear(ping);
	if (rc < 0 && L.created && L.maint) {
		/* never leave a half-restored database behind */
		drop_subscriptions_in(&L, L.dbname);
		char *q = pv_ident(L.maint, L.dbname);
		char *sql = pv_asprintf(PQserverVersion(L.maint) >= 130000 ? "DROP DATABASE %s WITH (FORCE)"
		                                                          : "DROP DATABASE %s", q);
		PGresult *res = PQexec(L.maint, sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			pv_warn("could not drop the partly restored database %s: %s", q, PQresultErrorMessage(res));
		else
			pv_info("dropped the partly restored database %s", q);
		PQclear(res);
		free(q);
		free(sql);
	}
	if (rc < 0 && L.maint) {
		/* nor the roles made for it */
		size_t i;
		json_t *role;
		json_array_foreach(L.new_roles, i, role) {
			char *q = pv_ident(L.maint, json_string_value(role));
			char *sql = pv_asprintf("DROP ROLE %s", q);
			PGresult *res = PQexec(L.maint, sql);
			if (PQresultStatus(res) != PGRES_COMMAND_OK)
				pv_warn("could not drop role %s, created for the failed restore: %s", q,
				        PQresultErrorMessage(res));
			else
				pv_info("dropped role %s, created for the failed restore", q);
			PQclear(res);
			free(q);
			free(sql);
		}
	}
	if (L.maint)
		PQfinish(L.maint);
	json_decref(L.new_roles);
	pv_br_free(r);
	json_decref(L.header);
	json_decref(L.roles);
	json_decref(L.data_toc);
	json_decref(L.selected);
	json_decref(L.lobs);
	json_decref(L.seen);
	pv_buf_free(&L.acl_sql);
	pv_buf_free(&L.late_sql);
	pv_buf_free(&L.after_rows);
	free(L.target);
	free(L.dbname);
	pv_cleanup_pending--;
	return rc;
}
