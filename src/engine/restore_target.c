/*
 * engine/restore_target.c — where a restore goes (see restore_int.h): the roles the bundle
 * needs (checked, created, or mapped to --owner) and whether the restoring role may hand
 * objects to them; the target database: created from template0 under a temporary name that
 * says who builds it (those of killed runs are dropped), set up with the bundle's settings
 * and privileges, and swapped into its real name when complete (--replace keeps or drops the
 * old one); an existing database for the rows-only modes; and, after a failure, dropping the
 * partly restored database and the roles made for it.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/restore_int.h"
#include "pg/cancel.h"
#include "pg/catalog.h"
#include "pg/grant.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/names.h"

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

int
pvr_check_roles(loader *L)
{
	pv_buf arr = PV_BUF_INIT;
	const char *k;
	json_t *v;
	json_t *need = json_object();
	int bad = 0;
	json_object_foreach(L->roles, k, v)
		bad |= pvj_set_bool(need, pvr_map_role(L, k), 1);
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
int
pvr_check_ownership_rights(loader *L)
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
			pv_buf_array_elem(&arr, pvr_map_role(L, k));
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
	const char *eq = kv ? strchr(kv, '=') : NULL; /* layering: not SQL */
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
	    strstr(name, "preload_libraries")) { /* layering: not SQL */
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

int
pvr_create_database(loader *L)
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
	const char *owner = pvr_map_role(L, jstr(h, "owner"));
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
			pv_buf_ident(&s, L->maint, pvr_map_role(L, jstr(e, "role")));
			pv_buf_printf(&s, " IN DATABASE %s ", q);
			set_clause(&s, L->maint, json_string_value(kv));
		}
	}
	char *target = pv_asprintf("DATABASE %s", q);
	json_array_foreach(json_object_get(h, "acl"), i, e)
		pv_acl_sql(&s, L->maint, target, owner, pvr_map_role(L, jstr(e, "grantor")),
		           pvr_map_role(L, jstr(e, "grantee")), jstr(e, "privs"), NULL,
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
	if (pv_restore_session(L->c, pvr_text_encoding(L), jstr(h, "restore_search_path")) < 0)
		return -1;
	return pv_bulk_load_session(L->c, L->o->jobs > 1 ? L->o->jobs + 1 : 1);
}

/* The header is known: decide where the restore goes and check it can. */
int
pvr_prepare_target(loader *L)
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
		if (!L->c ||
		    pv_restore_session(L->c, pvr_text_encoding(L), jstr(L->header, "restore_search_path")) < 0)
			return -1;
		pv_cancel_register(L->c);
		return 0;
	}
	if (exists && !o->replace)
		return pv_fail("database \"%s\" already exists; refusing to restore over it "
		               "(use --replace to swap it atomically, or --as to restore under another name)",
		               L->target);
	/* one application's database replaced by another's is a mistake far more often than not */
	const char *source = jstr(L->header, "database");
	if (exists && o->replace && !o->force && source && strcmp(source, L->target) != 0)
		return pv_fail("refusing to replace database \"%s\" with a backup of database \"%s\" "
		               "(--force if that is what you mean; --as another name restores beside it)",
		               L->target, source);
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

int
pvr_swap_in(loader *L, char **kept_as)
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
				pv_info("dropped the replaced database (the old \"%s\", renamed \"%s\" for the swap)",
				        L->target, old);
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

/* ---- after a failure ------------------------------------------------------------------- */

void
pvr_drop_failed(loader *L)
{
	if (L->created) {
		/* never leave a half-restored database behind */
		drop_subscriptions_in(L, L->dbname);
		char *q = pv_ident(L->maint, L->dbname);
		char *sql = pv_asprintf(PQserverVersion(L->maint) >= 130000 ? "DROP DATABASE %s WITH (FORCE)"
		                                                           : "DROP DATABASE %s", q);
		PGresult *res = PQexec(L->maint, sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			pv_warn("could not drop the partly restored database %s: %s", q, PQresultErrorMessage(res));
		else
			pv_info("dropped the partly restored database %s", q);
		PQclear(res);
		free(q);
		free(sql);
	}
	/* nor the roles made for it */
	size_t i;
	json_t *role;
	json_array_foreach(L->new_roles, i, role) {
		char *q = pv_ident(L->maint, json_string_value(role));
		char *sql = pv_asprintf("DROP ROLE %s", q);
		PGresult *res = PQexec(L->maint, sql);
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
