/*
 * engine/backup.c — one database into one verified bundle (see backup.h).
 */
#include "engine/backup.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "config.h"
#include "engine/blobs.h"
#include "engine/copyout.h"
#include "pg/catalog.h"
#include "pg/conn.h"
#include "schema/render.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/progress.h"
#include "util/names.h"

/* Tables (and matviews) whose locks an entry takes: its own table and, for a foreign
 * key, the referenced one (through the constraint or index it depends on). */
static int
add_locks(pv_graph *g, const pv_obj *o, json_t *locks, int depth)
{
	int rc = 0;
	for (int i = 0; i < o->ndeps; i++) {
		pv_obj *d = pv_graph_get(g, o->deps[i]);
		if (d->kind == K_TABLE || d->kind == K_MATVIEW)
			rc |= pvj_append_int(locks, d->id);
		else if (depth == 0 && (d->kind == K_CONSTRAINT || d->kind == K_INDEX))
			rc |= add_locks(g, d, locks, 1);
	}
	return rc;
}

/* The entry of o, or NULL with an error naming it. */
static json_t *
entry_json(pv_graph *g, const pv_obj *o)
{
	json_t *e = json_object();
	int rc = 0;
	rc |= pvj_set_int(e, "id", o->id);
	rc |= pvj_set_str(e, "kind", pv_kind_name(o->kind));
	if (o->schema)
		rc |= pvj_set_str(e, "schema", o->schema);
	rc |= pvj_set_str(e, "name", o->name);
	if (o->sql)
		rc |= pvj_set_str(e, "sql", o->sql);
	if (o->owner) {
		rc |= pvj_set_str(e, "owner", o->owner);
		rc |= pvj_set_str(e, "owner_target", o->owner_target);
	}
	if (o->comments)
		rc |= pvj_set_str(e, "comments", o->comments);
	if (o->nacl) {
		rc |= pvj_set_str(e, "acl_target", o->acl_target);
		json_t *a = json_array();
		for (int i = 0; i < o->nacl; i++) {
			const pv_acl_item *it = &o->acl[i];
			json_t *j = json_object();
			rc |= pvj_set_bool(j, "revoke", it->revoke);
			rc |= pvj_set_str(j, "privs", it->privs);
			if (it->columns)
				rc |= pvj_set_str(j, "columns", it->columns);
			rc |= pvj_set_str_or_null(j, "grantee", it->grantee);
			if (it->grantor)
				rc |= pvj_set_str(j, "grantor", it->grantor);
			rc |= pvj_set_bool(j, "grant_option", it->grant_option);
			rc |= pvj_append(a, j);
		}
		rc |= pvj_set(e, "acl", a);
	}
	if (o->late == PV_LATE_AFTER_ACL)
		rc |= pvj_set_bool(e, "late", 1);
	else if (o->late == PV_LATE_ACL)
		rc |= pvj_set_bool(e, "acl_pass", 1);
	json_t *deps = json_array();
	for (int i = 0; i < o->ndeps; i++)
		if (pv_graph_get(g, o->deps[i])->dump)
			rc |= pvj_append_int(deps, o->deps[i]);
	rc |= pvj_set(e, "deps", deps);
	if (o->section == PV_POST || o->eff_section == PV_POST) {
		json_t *locks = json_array();
		rc |= add_locks(g, o, locks, 0);
		rc |= pvj_set(e, "locks", locks);
		if (o->share_lock)
			rc |= pvj_set_bool(e, "share_lock", 1);
	}
	if (rc) {
		json_decref(e);
		pv_wrap("%s %s%s%s", pv_kind_name(o->kind), o->schema ? o->schema : "", o->schema ? "." : "",
		        o->name);
		return NULL;
	}
	return e;
}

/* The rows of every table entry of data (copyout.h), then the totals into manifest. */
static int
copy_tables(PGconn *c, const pv_connopts *co, const char *db, int jobs, pv_graph *g,
            pv_bundle_writer *w, json_t *data, json_t *manifest)
{
	size_t n = json_array_size(data), k = 0, i;
	pv_copy_item *items = pv_calloc(n + 1, sizeof *items);
	json_t *e;
	json_array_foreach(data, i, e) {
		if (!json_object_get(e, "member_prefix"))
			continue;
		const pv_obj *o = pv_graph_get(g, (int)json_integer_value(json_object_get(e, "id")));
		items[k].table = json_string_value(json_object_get(o->extra, "table"));
		items[k].columns = json_string_value(json_object_get(o->extra, "column_list"));
		/* a row subset (extension configuration tables): the query selects the columns */
		items[k].query = json_string_value(json_object_get(o->extra, "query"));
		items[k].prefix = json_string_value(json_object_get(e, "member_prefix"));
		items[k].relid = (unsigned)json_integer_value(json_object_get(o->extra, "relid"));
		k++;
	}
	int rc = pv_copy_rows(c, co, db, w, items, (int)k, jobs);
	int64_t total_rows = 0;
	for (size_t j = 0; rc == 0 && j < k; j++) {
		pv_debug("table %s: %lld rows", items[j].table, (long long)items[j].rows);
		total_rows += items[j].rows;
	}
	if (rc == 0 && (pvj_set_int(manifest, "tables", (json_int_t)k) < 0 ||
	                pvj_set_int(manifest, "rows", total_rows) < 0))
		rc = pv_wrap("the manifest");
	free(items);
	return rc;
}

/* A JSON member's text made on a thread of its own while this one goes on: the big schema
 * members of a database of many objects take a while to serialise. */
typedef struct json_job {
	pv_bundle_writer *w;
	json_t *doc;
	const char *name;
	char *text;
	char *err;
	pthread_t thread;
	int started;
} json_job;

static void *
json_job_main(void *arg)
{
	json_job *j = arg;

	j->text = pv_bw_json_text(j->w, j->doc, j->name);
	if (!j->text)
		j->err = pv_strdup(pv_errmsg());
	return NULL;
}

static void
json_job_start(json_job *j, pv_bundle_writer *w, json_t *doc, const char *name)
{
	memset(j, 0, sizeof *j);
	j->w = w;
	j->doc = doc;
	j->name = name;
	j->started = pthread_create(&j->thread, NULL, json_job_main, j) == 0;
	if (!j->started)
		json_job_main(j); /* no thread: here and now */
}

static void
json_job_join(json_job *j)
{
	if (j->started)
		pthread_join(j->thread, NULL);
	j->started = 0;
}

/* The member of a started job (joined first). */
static int
json_job_add(json_job *j, const char *kind)
{
	json_job_join(j);
	if (!j->text)
		return pv_fail("%s", j->err ? j->err : "no JSON text");
	char *text = j->text;
	j->text = NULL;
	return pv_bw_add_json_text(j->w, j->name, kind, j->doc, text);
}

static void
json_job_free(json_job *j)
{
	json_job_join(j);
	free(j->text);
	free(j->err);
	j->text = j->err = NULL;
}

static int
write_bundle(PGconn *c, const pv_connopts *co, const char *db, int jobs, pv_catalog *cat,
             pv_bundle_writer *w, json_t *header, json_t *manifest)
{
	pv_graph *g = cat->g;
	int n = pv_graph_count(g);
	json_t *pre = json_array(), *post = json_array(), *data = json_array();
	json_job pre_job = {0}, post_job = {0};
	int rc = -1;

	for (int i = 0; i < n; i++) {
		pv_obj *o = pv_graph_sorted(g, i);
		int bad = 0;
		if (!o->dump)
			continue;
		if (o->kind == K_TABLE_DATA) {
			json_t *e = json_object();
			char *prefix = pv_asprintf("data/%d", o->id);
			bad |= pvj_set_int(e, "id", o->id);
			bad |= pvj_set_str(e, "kind", "table data");
			bad |= pvj_set_copy(e, "table", json_object_get(o->extra, "table"));
			bad |= pvj_set_str(e, "schema", o->schema);
			bad |= pvj_set_str(e, "name", o->name);
			bad |= pvj_set_copy(e, "columns", json_object_get(o->extra, "columns"));
			bad |= pvj_set_copy(e, "column_list", json_object_get(o->extra, "column_list"));
			if (json_object_get(o->extra, "load_via"))
				bad |= pvj_set_copy(e, "load_via", json_object_get(o->extra, "load_via"));
			bad |= pvj_set_str(e, "member_prefix", prefix);
			free(prefix);
			bad |= pvj_append(data, e);
		} else if (o->kind == K_SEQ_SET) {
			if (!o->sql)
				continue;
			json_t *e = json_object();
			bad |= pvj_set_int(e, "id", o->id);
			bad |= pvj_set_str(e, "kind", "sequence value");
			bad |= pvj_set_str(e, "schema", o->schema);
			bad |= pvj_set_str(e, "name", o->name);
			if (json_object_get(o->extra, "owned_by"))
				bad |= pvj_set_copy(e, "owned_by", json_object_get(o->extra, "owned_by"));
			bad |= pvj_set_str(e, "sql", o->sql);
			bad |= pvj_append(data, e);
		} else if (o->kind == K_LARGE_OBJECT) {
			/* the schema entry shape (owner, comments, acl) plus oid, size, blob_prefix */
			json_t *e = entry_json(g, o);
			if (e)
				bad |= pvj_update(e, o->extra);
			bad |= pvj_append(data, e);
		} else if (o->eff_section == PV_POST) {
			bad |= pvj_append(post, entry_json(g, o));
		} else {
			bad |= pvj_append(pre, entry_json(g, o));
		}
		if (bad) {
			pv_wrap("%s %s%s%s", pv_kind_name(o->kind), o->schema ? o->schema : "",
			        o->schema ? "." : "", o->name);
			goto out;
		}
	}

	/* pre-data.json made beside data.json, post-data.json beside the rows */
	json_job_start(&pre_job, w, pre, "pre-data.json");
	char *data_text = pv_bw_json_text(w, data, "data.json");
	if (!data_text || pv_bw_add_json(w, PV_MEMBER_HEADER, "header", header) < 0 ||
	    pv_bw_add_json(w, "roles.json", "roles", cat->roles) < 0 ||
	    json_job_add(&pre_job, "schema") < 0) {
		free(data_text);
		goto out;
	}
	if (pv_bw_add_json_text(w, "data.json", "data-toc", data, data_text) < 0)
		goto out;
	json_job_start(&post_job, w, post, "post-data.json");

	if (copy_tables(c, co, db, jobs, g, w, data, manifest) < 0)
		goto out;
	size_t i;
	json_t *e;
	int64_t lob_bytes = 0;
	int lobs = 0;
	json_array_foreach(data, i, e) {
		int64_t bytes = 0;
		if (!json_object_get(e, "blob_prefix"))
			continue;
		if (pv_blob_dump(c, w, e, &bytes) < 0)
			goto out;
		lob_bytes += bytes;
		lobs++;
	}
	if (lobs)
		pv_debug("%d large objects, %lld bytes", lobs, (long long)lob_bytes);
	if (json_job_add(&post_job, "schema") < 0)
		goto out;
	int bad = 0;
	if (lobs)
		bad |= pvj_set_int(manifest, "large_objects", lobs);
	bad |= pvj_set_int(manifest, "objects", (json_int_t)(json_array_size(pre) + json_array_size(post)));
	if (bad || pv_bw_finish(w, manifest) < 0)
		goto out;
	rc = 0;
out:
	json_job_free(&pre_job);
	json_job_free(&post_job);
	json_decref(pre);
	json_decref(post);
	json_decref(data);
	return rc;
}

/* A recovery conflict's message: which server, and what prevents it. */
static void
explain_conflict(PGconn *c, const pv_server_facts *f)
{
	char *m = pv_strdup(pv_errmsg());
	pv_fail("recovery conflict on the standby %s port %s: it cancelled the backup's reading to "
	        "go on replaying changes of the primary that remove rows the backup's snapshot still "
	        "sees (%s); on the standby, hot_standby_feedback = on (now %s) or a longer "
	        "max_standby_streaming_delay (now %s) lets such a backup finish, or back up from the "
	        "primary (source = primary)", c ? PQhost(c) : "?", c ? PQport(c) : "?", m,
	        *f->feedback ? f->feedback : "?", *f->delay ? f->delay : "?");
	free(m);
	pv_err_set_kind(PV_ERRK_RECOVERY_CONFLICT);
}

/* 1 when the standby c was on (c may have lost its connection) has cancelled more
 * statements in db since f was read: a lost session was ended by a recovery conflict. */
static int
conflicted(const pv_connopts *co, PGconn *c, const char *db, const pv_server_facts *f)
{
	if (!f->standby || f->conflicts < 0)
		return 0;
	pv_connopts same = pv_connopts_same(co, c);
	same.retries = 0;
	char *saved = pv_strdup(pv_errmsg());
	int kind = pv_err_kind();
	PGconn *n = pv_connect(&same, db);
	PGresult *r = n ? pv_query(n, PV_CONFLICTS_SQL) : NULL;
	int more = r && PQntuples(r) == 1 && strtoll(PQgetvalue(r, 0, 0), NULL, 10) > f->conflicts;
	PQclear(r);
	if (n)
		PQfinish(n);
	pv_fail("%s", saved); /* the failure stays the one it was */
	pv_err_set_kind(kind);
	free(saved);
	return more;
}

/* 1 when the session of c (its dump session cut at its BEGIN) went through a pooler that
 * runs no transaction block: PgBouncer's statement pooling. */
static int
statement_pooling(const pv_connopts *co, PGconn *c, const char *db)
{
	pv_connopts same = pv_connopts_same(co, c);
	same.retries = 0;
	char *saved = pv_strdup(pv_errmsg());
	int kind = pv_err_kind();
	PGconn *n = pv_connect(&same, db);
	int pooled = n ? pv_pooled(n) : 0, refused = 0;
	if (pooled > 0) {
		PGresult *r = PQexec(n, "BEGIN");
		refused = PQresultStatus(r) != PGRES_COMMAND_OK && PQstatus(n) == CONNECTION_BAD;
		PQclear(r);
	}
	if (n)
		PQfinish(n);
	pv_fail("%s", saved);
	pv_err_set_kind(kind);
	free(saved);
	return refused;
}

/* The session on the server the backup reads, in its snapshot (pv_dump_session), or NULL
 * (error set).  A standby more than o->max_standby_lag behind is refused, or with source
 * prefer-standby left for the primary. */
static PGconn *
open_source(const pv_connopts *co, const char *db, const pv_dump_opts *o, pv_server_facts *f)
{
	PGconn *c = pv_connect(co, db);
	if (!c)
		goto fail;
	if (pv_dump_session(c, f) < 0) {
		if (pv_err_kind() == PV_ERRK_CONNECTION_LOST && statement_pooling(co, c, db))
			pv_fail("the connection goes through a pooler in statement pooling mode (PgBouncer's "
			        "pool_mode = statement), which runs no transaction block, and a backup reads in "
			        "one snapshot transaction: connect pgvault to a session or transaction pool, or "
			        "to PostgreSQL itself");
		goto fail;
	}
	if (!f->standby || o->max_standby_lag <= 0 || f->lag <= (double)o->max_standby_lag)
		return c;
	char *where = pv_asprintf("the standby %s port %s is %.0f s behind its primary (max_standby_lag %ld s)",
	                          PQhost(c), PQport(c), f->lag, o->max_standby_lag);
	PQfinish(c);
	c = NULL;
	if (o->source != PV_SOURCE_PREFER_STANDBY) {
		pv_fail("%s; back up from the primary with source = prefer-standby or primary", where);
		free(where);
		return NULL;
	}
	pv_warn("database \"%s\": %s: reading the primary instead", db, where);
	free(where);
	pv_connopts primary = *co;
	primary.target_session_attrs = "primary";
	c = pv_connect(&primary, db);
	if (c && pv_dump_session(c, f) == 0)
		return c;
fail:
	if (c && pv_err_kind() == PV_ERRK_RECOVERY_CONFLICT)
		explain_conflict(c, f);
	if (c)
		PQfinish(c);
	return NULL;
}

/* The source server, for the header */
static json_t *
source_json(PGconn *c, const pv_server_facts *f)
{
	json_t *s = json_object();
	int bad = !s;
	bad |= pvj_set_str(s, "role", f->standby ? "standby" : "primary");
	bad |= pvj_set_str(s, "host", PQhost(c));
	bad |= pvj_set_str(s, "port", PQport(c));
	bad |= pvj_set_str_or_null(s, "server_address", *f->address ? f->address : NULL);
	if (f->port)
		bad |= pvj_set_int(s, "server_port", f->port);
	bad |= pvj_set_str_or_null(s, "system_identifier", *f->system_id ? f->system_id : NULL);
	if (f->timeline)
		bad |= pvj_set_int(s, "timeline", f->timeline);
	bad |= pvj_set_str(s, "lsn", f->lsn);
	if (f->pooled)
		bad |= pvj_set_bool(s, "pooler", 1);
	if (f->standby && f->lag >= 0)
		bad |= json_object_set_new(s, "replay_lag_seconds", json_real(f->lag)) != 0;
	if (bad) {
		json_decref(s);
		return NULL;
	}
	return s;
}

/* The header, or NULL (error set).  text_encoding is the client encoding of the dump session:
 * every text of the bundle (names, bodies, comments, rows) is in it. */
static json_t *
make_header(pv_catalog *cat, const char *id, const char *tag, const char *text_encoding, int signed_)
{
	json_t *h = pvj_copy(cat->db);
	char iso[21];
	time_t snap = (time_t)json_integer_value(json_object_get(cat->db, "snapshot_epoch"));
	const char *enc = json_string_value(json_object_get(cat->db, "encoding"));
	int rc = h ? 0 : -1;
	pv_iso8601(snap, iso);
	/* format 1 says nothing of the text's encoding: readers took the database's.  That holds
	 * for a UTF8 database, whose bundles stay readable by older versions; any other says so
	 * in format 2 (an older reader refuses it rather than mistake UTF-8 for LATIN1). */
	rc |= pvj_set_int(h, "format", signed_ ? PV_BUNDLE_FORMAT /* ends with manifest.sig */
	                               : enc && strcmp(enc, "UTF8") == 0 && strcmp(text_encoding, "UTF8") == 0
	                               ? 1 : PV_BUNDLE_FORMAT_TEXT);
	rc |= pvj_set_str(h, "text_encoding", text_encoding);
	rc |= pvj_set_str(h, "pgvault_version", PACKAGE_VERSION);
	rc |= pvj_set_copy(h, "database", json_object_get(cat->db, "name"));
	json_object_del(h, "name");
	rc |= pvj_set_str(h, "snapshot_time", iso);
	rc |= pvj_set_str(h, "id", id);
	rc |= pvj_set_str_or_null(h, "tag", tag);
	if (json_array_size(cat->unsupported))
		rc |= pvj_set_copy(h, "skipped", cat->unsupported);
	if (json_array_size(cat->warnings))
		rc |= pvj_set_copy(h, "warnings", cat->warnings);
	if (rc) {
		json_decref(h);
		pv_wrap("the bundle header");
		return NULL;
	}
	return h;
}

static int
unsupported_check(pv_catalog *cat, const pv_dump_opts *o)
{
	size_t n = json_array_size(cat->unsupported);
	if (!n)
		return 0;
	pv_buf b = PV_BUF_INIT;
	size_t i;
	json_t *e;
	json_array_foreach(cat->unsupported, i, e) {
		if (i == 25) {
			pv_buf_printf(&b, "; and %zu more", n - i);
			break;
		}
		pv_buf_printf(&b, "%s%s", i ? "; " : "", json_string_value(json_object_get(e, "description")));
	}
	int rc = 0;
	if (o->allow_unsupported)
		pv_warn("skipping %zu object(s) this version cannot back up (--allow-unsupported; listed "
		        "as \"skipped\" in the manifest): %s", n, b.data);
	else
		rc = pv_fail("the database contains %zu object(s) this version cannot back up: %s "
		             "(use --allow-unsupported to back up everything else and list them in the manifest)",
		             n, b.data);
	pv_buf_free(&b);
	return rc;
}

/* The render step's quoting: libpq's, on the dump session (pg/conn.h). */
static char *
quote_ident(void *c, const char *name)
{
	return pv_ident(c, name);
}

static char *
quote_literal(void *c, const char *value)
{
	return pv_literal(c, value);
}

/* The new bundle in repo (and in o->copy_to under the same name, best effort: a copy that
 * cannot even start leaves the bundle here, marked), or NULL. */
static pv_repo_out *
create_out(pv_repo *repo, const char *db, time_t snap, const pv_dump_opts *o)
{
	pv_repo_out *out = pv_repo_create(repo, db, snap, o->tag);
	if (!out || !o->copy_to)
		return out;
	pv_repo_out *copy = pv_repo_create_named(o->copy_to, pv_out_name(out));
	if (!copy)
		pv_warn("database \"%s\": uploading to %s: %s; backing up here only", db,
		        pv_repo_describe(o->copy_to), pv_errmsg());
	return pv_out_tee(out, copy, copy ? NULL : pv_errmsg());
}

int
pv_dump_database(const pv_connopts *co, pv_repo *repo, const char *db, const pv_dump_opts *o,
                 char **id, long long *size, char **upload_error)
{
	pv_catalog cat;
	pv_repo_out *out = NULL;
	pv_bundle_writer *w = NULL;
	json_t *header = NULL, *manifest = NULL, *verified = NULL;
	int fd = -1, rc = -1;
	memset(&cat, 0, sizeof cat);
	*id = NULL;
	if (upload_error)
		*upload_error = NULL;

	double t0 = pv_monotonic();
	pv_server_facts facts;
	memset(&facts, 0, sizeof facts);
	PGconn *c = open_source(co, db, o, &facts);
	if (!c)
		return pv_wrap("database \"%s\"", db);
	if (pv_catalog_read(c, &cat, o->jobs) < 0)
		goto out;
	double t1 = pv_monotonic();
	if (unsupported_check(&cat, o) < 0 || pv_graph_sort(cat.g) < 0)
		goto out;
	/* the SQL of the kinds with a typed definition, from the model, in the sorted graph */
	pv_render_ctx quoting = {quote_ident, quote_literal, c};
	if (pv_schema_render(cat.g, &quoting) < 0)
		goto out;

	time_t snap = (time_t)json_integer_value(json_object_get(cat.db, "snapshot_epoch"));
	if (!(out = create_out(repo, db, snap, o)))
		goto out;
	header = make_header(&cat, pv_out_id(out), o->tag, pv_session_encoding(c), o->sign_key_len > 0);
	if (header && json_object_set_new(header, "source", source_json(c, &facts)) != 0) {
		pv_wrap("the bundle header");
		goto out;
	}
	manifest = header ? pvj_copy(header) : NULL;
	if (!manifest)
		goto out;
	pv_chunk_opts copts;
	pv_chunk_opts_default(&copts);
	if (o->compress_level > 0)
		copts.level = o->compress_level;
	/* each job holds one member being compressed: their sum stays at the default's */
	if (o->jobs > 1 && copts.comp_limit / (size_t)o->jobs >= ((size_t)1 << 20))
		copts.comp_limit /= (size_t)o->jobs;
	w = pv_bw_new(pv_out_sink(out), snap, &copts);
	if (w)
		pv_bw_set_text(w, pv_session_text(c));
	if (w && o->sign_key_len)
		pv_bw_set_key(w, o->sign_key, o->sign_key_len);
	if (!w || write_bundle(c, co, db, o->jobs > 1 ? o->jobs : 1, &cat, w, header, manifest) < 0)
		goto out;
	double t2 = pv_monotonic();
	/* the snapshot is no longer needed */
	pv_exec(c, "COMMIT");
	PQfinish(c);
	c = NULL;

	if (pv_out_finish(out, &fd) < 0)
		goto out;
	double t3 = pv_monotonic();
	pv_source src;
	pv_source_fd(&src, &fd);
	char *what = pv_asprintf("verifying the new bundle of \"%s\"", db);
	pv_progress_begin(what, (int64_t)pv_out_bytes(out), 0, "checked");
	free(what);
	int vrc = pv_bundle_verify_written(&src, pv_out_where(out), o->jobs, pv_bw_documents(w),
	                                   &verified);
	pv_progress_end();
	if (vrc < 0) {
		pv_wrap("verifying the new bundle");
		goto out;
	}
	pv_debug("database \"%s\": %d catalog objects read in %.3fs, rows in %.3fs, written in %.3fs, "
	         "verified in %.3fs", db, pv_graph_count(cat.g), t1 - t0, t2 - t1, t3 - t2,
	         pv_monotonic() - t3);
	json_t *sidecar = pvj_copy(verified);
	char iso[21];
	pv_iso8601(time(NULL), iso);
	if (!sidecar || pvj_set_bool(sidecar, "verified", 1) < 0 || pvj_set_str(sidecar, "verified_at", iso) < 0) {
		json_decref(sidecar);
		pv_wrap("the sidecar");
		goto out;
	}
	rc = pv_out_commit(out, sidecar);
	json_decref(sidecar);
	if (rc == 0) {
		*id = pv_strdup(pv_out_id(out));
		*size = (long long)pv_out_bytes(out);
		if (pv_out_copy_error(out) && upload_error)
			*upload_error = pv_strdup(pv_out_copy_error(out));
	}
out:
	if (rc < 0 && c && pv_err_kind() == PV_ERRK_CONNECTION_LOST && conflicted(co, c, db, &facts))
		pv_err_set_kind(PV_ERRK_RECOVERY_CONFLICT);
	if (rc < 0 && pv_err_kind() == PV_ERRK_RECOVERY_CONFLICT)
		explain_conflict(c, &facts);
	if (rc < 0)
		pv_wrap("database \"%s\"", db);
	if (fd >= 0)
		close(fd);
	if (c)
		PQfinish(c);
	pv_bw_free(w);
	pv_out_free(out); /* an uncommitted bundle leaves nothing, here or in the copy */
	json_decref(header);
	json_decref(manifest);
	json_decref(verified);
	pv_catalog_free(&cat);
	return rc;
}
