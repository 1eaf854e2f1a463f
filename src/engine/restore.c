/*
 * engine/restore.c — replaying a bundle (see restore.h): the orchestration.  It verifies the
 * bundle first when its source can be read twice, reads the members in order (each
 * checksum recorded and compared with the manifest at the end), hands each to the file
 * that owns its concern (restore_int.h: the target database, the schema, the rows), runs
 * the final passes and puts the database in place, and after a failure drops what the
 * restore made, reconnecting first if the server ended the session.
 */
#include "engine/restore.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/blobs.h"
#include "engine/restore_int.h"
#include "pg/cancel.h"
#include "pg/catalog.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/progress.h"

/* The client encoding of the bundle's text: "text_encoding" (format 2, and format 1 bundles
 * of UTF8 databases from newer versions), else the database's own encoding, in which format 1
 * stored its text. */
const char *
pvr_text_encoding(loader *L)
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
const char *
pvr_map_role(loader *L, const char *role)
{
	if (role && L->o->owner &&
	    json_is_true(json_object_get(json_object_get(L->roles, role), "owns_objects")))
		return L->o->owner;
	return role;
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

/* With --jobs N (a new database): the N worker sessions, once (pre-data's runs of tables,
 * the rows, post-data). */
static int
start_pool(loader *L)
{
	if (L->o->jobs <= 1 || L->pool || L->rows_only)
		return 0;
	L->pool = pv_pool_new(L->co, L->dbname, pvr_text_encoding(L),
	                      jstr(L->header, "restore_search_path"), L->o->jobs);
	return L->pool ? 0 : -1;
}

/* The statements of data.json (sequence values), many to a round trip: a database of
 * thousands of sequences would otherwise hold the rows back for as many round trips.  A
 * batch that fails is run again one statement at a time, for the message to name its
 * entry (the failed batch was rolled back: it ran as one implicit transaction). */
#define DATA_SQL_BATCH 256

static int
run_data_batch(loader *L, json_t *toc, size_t from, size_t to, const pv_buf *b)
{
	if (!b->len)
		return 0;
	if (pv_exec(L->c, b->data) == 0)
		return 0;
	if (PQtransactionStatus(L->c) != PQTRANS_IDLE)
		return pv_wrap("sequence values");
	for (size_t i = from; i < to; i++) {
		json_t *e = json_array_get(toc, i);
		if (jstr(e, "sql") && pv_exec(L->c, jstr(e, "sql")) < 0)
			return pv_wrap("%s %s", jstr(e, "kind"), jstr(e, "name"));
	}
	return pv_fail("sequence values: a batch of statements failed, each alone did not");
}

static int
run_data_statements(loader *L)
{
	pv_buf b = PV_BUF_INIT;
	size_t i, from = 0, n = 0;
	json_t *e;
	int rc = 0;

	json_array_foreach(L->data_toc, i, e) {
		if (!jstr(e, "sql"))
			continue;
		pv_buf_printf(&b, "%s;\n", jstr(e, "sql"));
		if (++n % DATA_SQL_BATCH == 0) {
			if ((rc = run_data_batch(L, L->data_toc, from, i + 1, &b)) < 0)
				break;
			pv_buf_reset(&b);
			from = i + 1;
		}
	}
	if (rc == 0)
		rc = run_data_batch(L, L->data_toc, from, json_array_size(L->data_toc), &b);
	pv_buf_free(&b);
	return rc;
}

/* The ids of pre-data's tables, for the loads of their rows (pvr_later_items). */
static int
note_tables(loader *L, json_t *entries)
{
	size_t i;
	json_t *e;
	if (!L->table_ids)
		L->table_ids = json_object();
	json_array_foreach(entries, i, e) {
		if (!jstr(e, "kind") || strcmp(jstr(e, "kind"), pv_kind_name(K_TABLE)) != 0)
			continue;
		char *key = pvr_table_key(jstr(e, "schema"), jstr(e, "name"));
		int rc = pvj_set_int(L->table_ids, key, json_integer_value(json_object_get(e, "id")));
		free(key);
		if (rc < 0)
			return pv_wrap("pre-data: table %s", jstr(e, "name"));
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
		if (pvr_prepare_target(L) < 0)
			return -1;
		if (L->rows_only)
			return 0;
		if (pvr_check_roles(L) < 0 || pvr_check_ownership_rights(L) < 0)
			return -1;
		return pvr_create_database(L);
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
		if (entries && name[1] == 'r' && L->c && start_pool(L) < 0) {
			json_decref(entries);
			return -1;
		}
		const char *section = name[1] == 'r' ? "pre-data" : "post-data";
		if (name[1] == 'o' && L->pool && pv_pool_wait(L->pool) < 0) {
			json_decref(entries);
			return pv_wrap("loading rows");
		}
		double t0 = pv_monotonic();
		if (name[1] == 'o')
			pv_debug("rows loaded in %.3fs", t0 - L->mark);
		int rc = entries && L->c ? pvr_run_entries(L, entries, section) : -1;
		L->mark = pv_monotonic();
		pv_debug("%s: %zu entries in %.3fs", section, json_array_size(entries), L->mark - t0);
		if (rc == 0 && name[1] == 'r' && L->pool)
			rc = note_tables(L, entries);
		json_decref(entries);
		if (rc == 0 && name[1] == 'r')
			rc = pvr_function_search_paths(L, 1); /* until everything is built */
		return rc;
	}
	if (strcmp(name, "data.json") == 0) {
		if (!(L->data_toc = read_json(L, r, name)) || !L->c)
			return -1;
		L->by_prefix = json_object();
		size_t k;
		json_t *te;
		json_array_foreach(L->data_toc, k, te)
			if (jstr(te, "member_prefix") && pvj_set_copy(L->by_prefix, jstr(te, "member_prefix"), te) < 0)
				return -1;
		if (L->rows_only) {
			size_t i, nlobs = 0;
			json_t *e;
			json_array_foreach(L->data_toc, i, e)
				nlobs += pv_blob_is_entry(e) != 0;
			if (nlobs)
				pv_info("skipping the bundle's %zu large object(s): --table and --data-only "
				        "restore table rows only", nlobs);
			return pvr_start_rows_only(L);
		}
		if (o->schema_only)
			return 0;
		if (start_pool(L) < 0 || run_data_statements(L) < 0)
			return -1;
		pvr_later_begin(L);
		return pvr_start_large_objects(L);
	}
	if (strncmp(name, "data/", 5) == 0) {
		if (!L->data_toc || !L->c)
			return pv_fail("member %s before data.json", name);
		return o->schema_only ? 0 : pvr_load_member(L, r, name);
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
	const char *enc = pvr_text_encoding(L);
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


/* ---- the restore, step by step ---------------------------------------------------------- */

/* Nothing from a bundle runs before all of it verified: a first pass when the source can be
 * read twice (a local or downloaded file), else the checks of the one pass (the manifest is
 * compared at the end; a failure then drops what was made). */
/* The tables loaded with COPY FREEZE when members load as they come: those whose rows are
 * one data member of at least PV_FREEZE_MIN bytes, from the verified manifest ("data/ID" of
 * "data/ID.1.copy.zst" when no "data/ID.2..." exists). */
static json_t *
single_member_tables(json_t *manifest)
{
	json_t *count = json_object(), *raw = json_object(), *single = json_object();
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(manifest, "members"), i, m) {
		const char *name = jstr(m, "name"), *kind = jstr(m, "kind");
		char *prefix = name && kind && strcmp(kind, "data") == 0 ? pv_member_prefix(name, NULL) : NULL;
		if (!prefix)
			continue;
		(void)pvj_set_int(count, prefix, json_integer_value(json_object_get(count, prefix)) + 1);
		(void)pvj_set_int(raw, prefix, json_integer_value(json_object_get(m, "raw_size")));
		free(prefix);
	}
	const char *k;
	json_t *v;
	json_object_foreach(count, k, v)
		if (json_integer_value(v) == 1 && json_integer_value(json_object_get(raw, k)) >= PV_FREEZE_MIN)
			(void)pvj_set_bool(single, k, 1);
	json_decref(count);
	json_decref(raw);
	return single;
}

/* Before anything is created, every stored byte of the bundle is checked (its framing, the
 * SHA-256 of every member, the manifest); what the data members decompress to is checked as
 * they load (L->expect: each must load the bytes and rows its manifest entry counts, and
 * stops at the first byte more), so that a restore decompresses every member once, not
 * twice.  A member that fails then fails the restore, which drops what it created. */
static int
verify_first(loader *L, pv_source *src, const char *label)
{
	if (!src->rewind)
		return 0;
	double t0 = pv_monotonic();
	json_t *manifest = NULL;
	char *what = pv_asprintf("checking %s", label);
	pv_progress_begin(what, 0, 0, "checked");
	free(what);
	if (pv_bundle_check_stored(src, label, &manifest) < 0 || src->rewind(src) < 0) {
		json_decref(manifest);
		return -1;
	}
	L->single = single_member_tables(manifest);
	L->expect = json_object();
	size_t i;
	json_t *m;
	json_int_t raw = 0;
	json_array_foreach(json_object_get(manifest, "members"), i, m) {
		if (!jstr(m, "kind") || strcmp(jstr(m, "kind"), "data") != 0)
			continue;
		raw += json_integer_value(json_object_get(m, "raw_size"));
		if (pvj_set_copy(L->expect, jstr(m, "name"), m) < 0) {
			json_decref(manifest);
			return -1;
		}
	}
	json_decref(manifest);
	what = pv_asprintf("restoring %s", label);
	pv_progress_begin(what, raw, 0, "loaded");
	free(what);
	pv_debug("checked %s (every member's SHA-256) in %.3fs", label, pv_monotonic() - t0);
	return 0;
}

/* After the last member of a new database: the final passes, its sessions closed, and the
 * swap into its name. */
static int
finish_new_database(loader *L, char **kept_as)
{
	if (pvr_run_later(L) < 0 || pvr_final_passes(L) < 0)
		return -1;
	pv_cancel_unregister(L->c);
	PQfinish(L->c);
	L->c = NULL;
	pv_pool_free(L->pool);
	L->pool = NULL;
	return pvr_swap_in(L, kept_as);
}

/* The workers and the session on the restored database end (a rows-only transaction still
 * open is rolled back); the maintenance session stays, for the cleanup. */
static void
close_sessions(loader *L)
{
	pv_pool_free(L->pool);
	if (L->c) {
		pv_cancel_unregister(L->c);
		if (L->in_tx)
			PQclear(PQexec(L->c, "ROLLBACK"));
		PQfinish(L->c);
	}
	pv_cancel_unregister(L->maint);
}

/* After a failure that left something to drop: if the server restarted, or ended our
 * session, a new one to clean up with (the error stays the one that stopped the restore). */
static void
reconnect_for_cleanup(loader *L)
{
	PGresult *ping = NULL;
	if ((L->created || json_array_size(L->new_roles)) && L->maint &&
	    (PQstatus(L->maint) != CONNECTION_OK ||
	     PQresultStatus(ping = PQexec(L->maint, "SELECT 1")) != PGRES_TUPLES_OK)) {
		char *why = pv_strdup(pv_errmsg());
		int code = pv_errcode();
		PQfinish(L->maint);
		L->maint = NULL;
		for (int i = 0; i < 10 && !L->maint; i++) {
			if (i)
				sleep(1);
			L->maint = pv_connect(L->co, NULL);
		}
		pv_fail_code(code, "%s", why);
		free(why);
		if (!L->maint)
			pv_warn("could not reconnect to drop what the failed restore made (the next restore "
			        "drops a temporary database left behind)");
	}
	PQclear(ping);
}

static void
free_loader(loader *L)
{
	json_decref(L->header);
	json_decref(L->roles);
	json_decref(L->data_toc);
	json_decref(L->single);
	json_decref(L->selected);
	json_decref(L->by_prefix);
	json_decref(L->expect);
	json_decref(L->lobs);
	json_decref(L->seen);
	json_decref(L->table_ids);
	pvr_later_free(L->later);
	pv_buf_free(&L->acl_sql);
	pv_buf_free(&L->late_sql);
	pv_buf_free(&L->after_rows);
	free(L->target);
	free(L->dbname);
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
	L.src = src;
	*dbname = NULL;
	*kept_as = NULL;
	int rc = -1;

	pv_cleanup_pending++;
	pv_bundle_reader *r = NULL;
	if (verify_first(&L, src, label) < 0)
		goto out;
	r = pv_br_new(src, label);
	if (!r)
		goto out;
	L.maint = pv_connect(co, NULL);
	if (!L.maint)
		goto out;
	/* every later session on that very server (a multi-host connection string lists
	 * standbys too, and the new database is on the primary only) */
	char host[1024], port[32], addr[64];
	pv_connopts pinned = pv_connopts_same(co, L.maint);
	snprintf(host, sizeof host, "%s", pinned.host ? pinned.host : "");
	snprintf(port, sizeof port, "%s", pinned.port ? pinned.port : "");
	snprintf(addr, sizeof addr, "%s", pinned.hostaddr ? pinned.hostaddr : "");
	pinned.host = *host ? host : NULL;
	pinned.port = *port ? port : NULL;
	pinned.hostaddr = *addr ? addr : NULL;
	pinned.target_session_attrs = co->target_session_attrs;
	L.co = &pinned;
	int pooled = pv_pooled(L.maint);
	if (pooled) {
		if (pooled > 0)
			pv_fail("the connection goes through a pooler (PgBouncer?): a restore needs sessions of "
			        "the server itself (its settings hold across its transactions, and the new "
			        "database is renamed at the end); connect it to PostgreSQL's own host and port");
		goto out;
	}
	if (read_members(&L, r, label) < 0)
		goto out;
	if (L.rows_only ? pvr_finish_rows_only(&L) < 0 : finish_new_database(&L, kept_as) < 0)
		goto out;
	rc = 0;
	*dbname = pv_strdup(L.target);
	if (o->toc_out)
		*o->toc_out = json_incref(L.data_toc);
out:
	if (rc < 0 && L.target)
		pv_wrap("restoring into \"%s\"", L.target);
	close_sessions(&L);
	if (rc < 0) {
		reconnect_for_cleanup(&L);
		if (L.maint)
			pvr_drop_failed(&L);
	}
	if (L.maint)
		PQfinish(L.maint);
	json_decref(L.new_roles);
	pv_br_free(r);
	free_loader(&L);
	pv_progress_end();
	pv_cleanup_pending--;
	return rc;
}
