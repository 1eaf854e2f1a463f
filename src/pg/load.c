/*
 * pg/load.c — replaying a bundle into a new database (see load.h).
 */
#include "pg/load.h"

#include <stdlib.h>
#include <string.h>

#include "pg/catalog.h"
#include "util/err.h"
#include "util/log.h"

#define JSON_MEMBER_MAX (512u * 1024 * 1024)

typedef struct loader {
	const pv_connopts *co;
	PGconn *maint;   /* maintenance database */
	PGconn *c;       /* the new database */
	char *dbname;
	int created;
	json_t *header;
	json_t *data_toc;
	json_t *seen;    /* [{name, size, sha256}] as read */
	pv_buf acl_sql;  /* the ACL pass */
	pv_buf late_sql; /* the late pass */
} loader;

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int
check_roles(loader *L, json_t *roles)
{
	pv_buf arr = PV_BUF_INIT;
	const char *k;
	json_t *v;
	json_object_foreach(roles, k, v) {
		pv_buf_putc(&arr, arr.len ? ',' : '{');
		pv_buf_putc(&arr, '"');
		for (const char *p = k; *p; p++) {
			if (*p == '"' || *p == '\\')
				pv_buf_putc(&arr, '\\');
			pv_buf_putc(&arr, *p);
		}
		pv_buf_putc(&arr, '"');
	}
	pv_buf_puts(&arr, arr.len ? "}" : "{}");
	const char *p[1] = {arr.data};
	PGresult *r = pv_query_params(L->maint,
	    "SELECT pg_catalog.string_agg(n, ', ' ORDER BY n) FROM pg_catalog.unnest($1::text[]) n"
	    " WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = n)", 1, p);
	pv_buf_free(&arr);
	if (!r)
		return pv_wrap("checking roles");
	int rc = 0;
	if (!PQgetisnull(r, 0, 0))
		rc = pv_fail("roles the bundle references do not exist on the target server: %s "
		             "(create them first)", PQgetvalue(r, 0, 0));
	PQclear(r);
	return rc;
}

/* "SET name TO value;" from a stored "name=value" setting. */
static void
set_clause(pv_buf *s, PGconn *c, const char *kv)
{
	const char *eq = kv ? strchr(kv, '=') : NULL;
	if (!eq) {
		pv_buf_puts(s, "RESET ALL;");
		return;
	}
	char *name = pv_strndup(kv, (size_t)(eq - kv));
	pv_buf_printf(s, "SET %s TO ", name);
	/* list-valued settings are stored already quoted */
	if (strcmp(name, "search_path") == 0 || strcmp(name, "temp_tablespaces") == 0 ||
	    strstr(name, "preload_libraries"))
		pv_buf_puts(s, eq + 1);
	else
		pv_buf_literal(s, c, eq + 1);
	pv_buf_puts(s, ";");
	free(name);
}

static int
create_database(loader *L)
{
	json_t *h = L->header;
	const char *p[1] = {L->dbname};
	PGresult *r = pv_query_params(L->maint, "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", 1, p);
	if (!r)
		return -1;
	int exists = PQntuples(r) > 0;
	PQclear(r);
	if (exists)
		return pv_fail("database \"%s\" already exists; refusing to restore over it "
		               "(restore under another name with --as)", L->dbname);

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
	}
	int rc = pv_exec(L->maint, b.data);
	pv_buf_free(&b);
	if (rc < 0)
		return pv_wrap("creating database \"%s\"", L->dbname);
	L->created = 1;

	char *q = pv_ident(L->maint, L->dbname);
	pv_buf s = PV_BUF_INIT;
	if (jstr(h, "owner")) {
		pv_buf_printf(&s, "ALTER DATABASE %s OWNER TO ", q);
		pv_buf_ident(&s, L->maint, jstr(h, "owner"));
		pv_buf_puts(&s, ";");
	}
	if (jstr(h, "comment")) {
		pv_buf_printf(&s, "COMMENT ON DATABASE %s IS ", q);
		pv_buf_literal(&s, L->maint, jstr(h, "comment"));
		pv_buf_puts(&s, ";");
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
			pv_buf_ident(&s, L->maint, jstr(e, "role"));
			pv_buf_printf(&s, " IN DATABASE %s ", q);
			set_clause(&s, L->maint, json_string_value(kv));
		}
	}
	char *target = pv_asprintf("DATABASE %s", q);
	json_array_foreach(json_object_get(h, "acl"), i, e)
		pv_acl_sql(&s, L->maint, target, jstr(h, "owner"), jstr(e, "grantor"), jstr(e, "grantee"),
		           jstr(e, "privs"), NULL, json_is_true(json_object_get(e, "revoke")),
		           json_is_true(json_object_get(e, "grant_option")));
	free(target);
	free(q);
	rc = s.len ? pv_exec(L->maint, s.data) : 0;
	pv_buf_free(&s);
	if (rc < 0)
		return pv_wrap("setting up database \"%s\"", L->dbname);

	L->c = pv_connect(L->co, L->dbname);
	if (!L->c)
		return pv_wrap("connecting to the new database \"%s\"", L->dbname);
	return pv_restore_session(L->c, jstr(h, "encoding"));
}

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
		pv_acl_sql(&L->acl_sql, L->c, jstr(e, "acl_target"), jstr(e, "owner"), jstr(a, "grantor"),
		           jstr(a, "grantee"), jstr(a, "privs"), jstr(a, "columns"),
		           json_is_true(json_object_get(a, "revoke")),
		           json_is_true(json_object_get(a, "grant_option")));
	}
}

static int
run_entries(loader *L, json_t *entries, const char *section)
{
	pv_buf b = PV_BUF_INIT;
	size_t i;
	json_t *e;
	if (pv_exec(L->c, "BEGIN") < 0)
		return pv_wrap("%s", section);
	json_array_foreach(entries, i, e) {
		if (json_is_true(json_object_get(e, "late"))) {
			if (jstr(e, "sql"))
				pv_buf_printf(&L->late_sql, "%s\n", jstr(e, "sql"));
			if (jstr(e, "comments"))
				pv_buf_puts(&L->late_sql, jstr(e, "comments"));
			continue;
		}
		pv_buf_reset(&b);
		if (jstr(e, "sql"))
			pv_buf_printf(&b, "%s\n", jstr(e, "sql"));
		if (jstr(e, "owner") && jstr(e, "owner_target")) {
			pv_buf_printf(&b, "ALTER %s OWNER TO ", jstr(e, "owner_target"));
			pv_buf_ident(&b, L->c, jstr(e, "owner"));
			pv_buf_puts(&b, ";\n");
		}
		if (jstr(e, "comments"))
			pv_buf_puts(&b, jstr(e, "comments"));
		queue_acl(L, e);
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

static int
put_copy(void *arg, const char *data, size_t len)
{
	PGconn *c = arg;
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
	const char *cols = jstr(e, "column_list");
	char *sql = cols && *cols ? pv_asprintf("COPY %s (%s) FROM STDIN", jstr(e, "table"), cols)
	                          : pv_asprintf("COPY %s FROM STDIN", jstr(e, "table"));
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
read_members(loader *L, pv_bundle_reader *r, const char *label, const pv_restore_opts *o)
{
	const char *name;
	int64_t size;
	int k, idx = 0;
	json_t *manifest = NULL;
	int rc = 0;

	while (rc == 0 && (k = pv_br_next(r, &name, &size)) > 0) {
		char *mname = pv_strdup(name);
		idx++;
		if (idx == 1) {
			if (strcmp(mname, PV_MEMBER_HEADER) != 0 || !(L->header = pv_br_read_json(r, JSON_MEMBER_MAX)))
				rc = pv_fail("%s is not a pgvault bundle (first member is %s)", label, mname);
			else if (json_integer_value(json_object_get(L->header, "format")) != PV_BUNDLE_FORMAT)
				rc = pv_fail("%s: unsupported bundle format", label);
			else
				L->dbname = pv_strdup(o->as ? o->as : jstr(L->header, "database"));
		} else if (strcmp(mname, "roles.json") == 0) {
			json_t *roles = pv_br_read_json(r, JSON_MEMBER_MAX);
			rc = roles ? check_roles(L, roles) : -1;
			if (rc == 0)
				rc = create_database(L);
			json_decref(roles);
		} else if (strcmp(mname, "pre-data.json") == 0 || strcmp(mname, "post-data.json") == 0) {
			json_t *entries = pv_br_read_json(r, JSON_MEMBER_MAX);
			rc = entries && L->c ? run_entries(L, entries, mname[1] == 'r' ? "pre-data" : "post-data") : -1;
			json_decref(entries);
		} else if (strcmp(mname, "data.json") == 0) {
			L->data_toc = pv_br_read_json(r, JSON_MEMBER_MAX);
			if (!L->data_toc || !L->c)
				rc = -1;
			size_t i;
			json_t *e;
			json_array_foreach(L->data_toc, i, e)
				if (rc == 0 && jstr(e, "sql") && pv_exec(L->c, jstr(e, "sql")) < 0)
					rc = pv_wrap("%s %s", jstr(e, "kind"), jstr(e, "name"));
		} else if (strncmp(mname, "data/", 5) == 0) {
			rc = L->data_toc && L->c ? load_member(L, r, mname) : pv_fail("member %s before data.json", mname);
		} else if (strcmp(mname, PV_MEMBER_MANIFEST) == 0) {
			manifest = pv_br_read_json(r, JSON_MEMBER_MAX);
			rc = manifest ? check_manifest(L, manifest, label) : -1;
			free(mname);
			break;
		} else {
			rc = pv_fail("%s: unexpected member %s", label, mname);
		}
		if (rc == 0 && !manifest) {
			char sha[65];
			if (pv_br_member_sha(r, sha) < 0) {
				rc = -1;
			} else {
				json_t *s = json_object();
				json_object_set_new(s, "name", json_string(mname));
				json_object_set_new(s, "sha256", json_string(sha));
				json_array_append_new(L->seen, s);
			}
		}
		free(mname);
	}
	if (rc == 0 && k < 0)
		rc = -1;
	if (rc == 0 && !manifest)
		rc = pv_fail("%s is truncated: no manifest at its end", label);
	json_decref(manifest);
	return rc;
}

int
pv_restore_bundle(const pv_connopts *co, pv_source *src, const char *label,
                  const pv_restore_opts *o, char **dbname)
{
	loader L;
	memset(&L, 0, sizeof L);
	L.co = co;
	L.seen = json_array();
	*dbname = NULL;
	int rc = -1;

	pv_bundle_reader *r = pv_br_new(src, label);
	if (!r)
		goto out;
	L.maint = pv_connect(co, NULL);
	if (!L.maint)
		goto out;
	if (read_members(&L, r, label, o) < 0)
		goto out;
	if (L.acl_sql.len && pv_exec(L.c, L.acl_sql.data) < 0) {
		pv_wrap("granting privileges");
		goto out;
	}
	if (L.late_sql.len && pv_exec(L.c, L.late_sql.data) < 0) {
		pv_wrap("refreshing materialized views");
		goto out;
	}
	rc = 0;
	*dbname = pv_strdup(L.dbname);
out:
	if (rc < 0 && L.dbname)
		pv_wrap("restoring into \"%s\"", L.dbname);
	if (L.c)
		PQfinish(L.c);
	if (rc < 0 && L.created && L.maint) {
		/* never leave a half-restored database behind */
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
	if (L.maint)
		PQfinish(L.maint);
	pv_br_free(r);
	json_decref(L.header);
	json_decref(L.data_toc);
	json_decref(L.seen);
	pv_buf_free(&L.acl_sql);
	pv_buf_free(&L.late_sql);
	free(L.dbname);
	return rc;
}
