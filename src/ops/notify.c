/*
 * ops/notify.c — notification URL and Prometheus textfile (see notify.h).
 */
#include "ops/notify.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/json.h"
#include "util/log.h"
#include "util/names.h"

pv_run_db *
pv_run_add(pv_run *r, const char *db)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->dbs = pv_realloc(r->dbs, (size_t)r->cap * sizeof *r->dbs);
	}
	pv_run_db *d = &r->dbs[r->n++];
	memset(d, 0, sizeof *d);
	d->db = pv_strdup(db);
	return d;
}

void
pv_run_free(pv_run *r)
{
	for (int i = 0; i < r->n; i++) {
		free(r->dbs[i].db);
		free(r->dbs[i].id);
		free(r->dbs[i].error);
		free(r->dbs[i].upload_error);
	}
	free(r->dbs);
	free(r->error);
	r->error = NULL;
	r->dbs = NULL;
	r->n = r->cap = 0;
}

/* "success", "upload_failed" (backed up, kept here, not uploaded: PV_EXIT_UPLOAD) or
 * "failure" */
static const char *
run_status(const pv_run *r)
{
	return r->exit_code == PV_EXIT_OK ? "success" : r->exit_code == PV_EXIT_UPLOAD ? "upload_failed" : "failure";
}

/* The run as JSON (names and messages shown as UTF-8 whatever their bytes), or NULL. */
static json_t *
run_json(const pv_run *r)
{
	int bad = 0;
	char host[256] = "", t1[21], t2[21];
	gethostname(host, sizeof host - 1);
	pv_iso8601(r->started, t1);
	pv_iso8601(r->finished, t2);
	json_t *j = json_object();
	int failed = 0;
	json_t *dbs = json_array();
	for (int i = 0; i < r->n; i++) {
		const pv_run_db *d = &r->dbs[i];
		json_t *o = json_object();
		bad |= pvj_set(o, "database", pvj_shown(d->db));
		bad |= pvj_set_bool(o, "ok", d->ok);
		if (d->id)
			bad |= pvj_set_str(o, "bundle", d->id);
		if (d->ok)
			bad |= pvj_set_int(o, "size", d->size);
		bad |= pvj_set(o, "duration_seconds", json_real(d->seconds));
		if (d->error)
			bad |= pvj_set(o, "error", pvj_shown(d->error));
		if (d->upload)
			bad |= pvj_set_bool(o, "uploaded", d->upload > 0);
		if (d->upload_error)
			bad |= pvj_set(o, "upload_error", pvj_shown(d->upload_error));
		bad |= pvj_append(dbs, o);
		failed += !d->ok;
	}
	bad |= pvj_set_str(j, "status", run_status(r));
	bad |= pvj_set_int(j, "exit_code", r->exit_code);
	bad |= pvj_set_str(j, "command", r->command);
	bad |= pvj_set_str(j, "host", host);
	if (r->server)
		bad |= pvj_set_str(j, "server", r->server);
	bad |= pvj_set_str(j, "started", t1);
	bad |= pvj_set_str(j, "finished", t2);
	bad |= pvj_set_int(j, "failed", failed);
	if (r->error)
		bad |= pvj_set(j, "error", pvj_shown(r->error));
	bad |= pvj_set(j, "databases", dbs);
	if (bad) {
		json_decref(j);
		pv_wrap("the notification");
		return NULL;
	}
	return j;
}

static char *
expand_url(const char *url, const pv_run *r)
{
	pv_buf b = PV_BUF_INIT;
	for (const char *p = url; *p;) {
		if (strncmp(p, "{status}", 8) == 0) {
			pv_buf_puts(&b, run_status(r));
			p += 8;
		} else if (strncmp(p, "{exit}", 6) == 0) {
			pv_buf_printf(&b, "%d", r->exit_code);
			p += 6;
		} else {
			pv_buf_putc(&b, *p++);
		}
	}
	return pv_buf_detach(&b);
}

static size_t
discard(char *ptr, size_t size, size_t n, void *ud)
{
	(void)ptr;
	(void)ud;
	return size * n;
}

int
pv_notify(const pv_config *c, const pv_run *r)
{
	const char *url = pv_config_get(c, NULL, "notify", "url");
	int on_success;
	long timeout;
	pv_config_bool(c, NULL, "notify", "on_success", 0, &on_success);
	pv_config_seconds(c, NULL, "notify", "timeout", 10, &timeout);
	if (!url || (r->exit_code == 0 && !on_success))
		return 0;
	json_t *j = run_json(r);
	char *body = j ? pvj_dumps(j, JSON_COMPACT, PVJ_UTF8, "the notification") : NULL;
	json_decref(j);
	if (!body) {
		pv_warn("no notification sent: %s", pv_errmsg());
		return -1;
	}
	char *u = expand_url(url, r);
	int rc = 0;
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	if (!h) {
		rc = -1;
	} else {
		curl_easy_setopt(h, CURLOPT_URL, u);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout > 0 ? timeout : 10L);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(h, CURLOPT_USERAGENT, "pgvault");
		CURLcode cc = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (cc != CURLE_OK || status >= 300) {
			/* the URL may hold a token: name only its host */
			char *host = NULL;
			CURLU *cu = curl_url();
			if (cu && curl_url_set(cu, CURLUPART_URL, u, 0) == CURLUE_OK)
				curl_url_get(cu, CURLUPART_HOST, &host, 0);
			pv_warn("notification to %s failed: %s", host ? host : "the [notify] url",
			        cc != CURLE_OK ? (*errbuf ? errbuf : curl_easy_strerror(cc)) : "HTTP error");
			if (cc == CURLE_OK)
				pv_warn("the notification endpoint answered HTTP %ld", status);
			curl_free(host);
			curl_url_cleanup(cu);
			rc = -1;
		}
		curl_easy_cleanup(h);
	}
	curl_slist_free_all(hdr);
	free(body);
	free(u);
	return rc;
}

/* ---- Prometheus textfile ------------------------------------------------------------ */

/* Values of the previous file for databases this run did not touch: our own format, one
 * sample per line: name{database="..."} value */
typedef struct sample {
	char *metric, *db;
	double value;
} sample;

static char *
unescape_label(const char *s, const char **end)
{
	pv_buf b = PV_BUF_INIT;
	for (; *s && *s != '"'; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			pv_buf_putc(&b, *s == 'n' ? '\n' : *s);
		} else {
			pv_buf_putc(&b, *s);
		}
	}
	*end = s;
	return pv_buf_detach(&b);
}

static void
escape_label(pv_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			pv_buf_putc(b, '\\');
		if (*s == '\n') {
			pv_buf_puts(b, "\\n");
			continue;
		}
		pv_buf_putc(b, *s);
	}
}

static sample *
read_samples(const char *path, int *n)
{
	*n = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	sample *v = NULL;
	int cap = 0;
	char line[4096];
	while (fgets(line, sizeof line, f)) {
		char *brace = strstr(line, "{database=\"");
		if (line[0] == '#' || !brace)
			continue;
		const char *end;
		char *db = unescape_label(brace + 11, &end);
		if (*end != '"' || end[1] != '}') {
			free(db);
			continue;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			v = pv_realloc(v, (size_t)cap * sizeof *v);
		}
		v[*n].metric = pv_strndup(line, (size_t)(brace - line));
		v[*n].db = db;
		v[*n].value = strtod(end + 2, NULL);
		(*n)++;
	}
	fclose(f);
	return v;
}

static double
old_value(sample *v, int n, const char *metric, const char *db, double def)
{
	for (int i = 0; i < n; i++)
		if (strcmp(v[i].metric, metric) == 0 && strcmp(v[i].db, db) == 0)
			return v[i].value;
	return def;
}

int
pv_metrics_write(const char *path, const pv_run *r)
{
	static const struct { const char *name, *type, *help; } m[] = {
		{"pgvault_last_success_timestamp_seconds", "gauge", "Time of the last successful backup."},
		{"pgvault_last_backup_duration_seconds", "gauge", "Duration of the last successful backup."},
		{"pgvault_last_backup_size_bytes", "gauge", "Size of the last successful backup's bundle."},
		{"pgvault_last_run_success", "gauge", "1 if the last backup of the database succeeded."},
		{"pgvault_backup_failures_total", "counter", "Failed backups since the metrics file was created."},
		{"pgvault_last_upload_success", "gauge",
		 "1 if the last backup's bundle was uploaded, 0 if it is kept here only (its upload failed)."},
	};
	int nold;
	sample *old = read_samples(path, &nold);
	/* every database known from before or from this run */
	json_t *dbs = json_object();
	/* names into a set: cannot fail */
	for (int i = 0; i < nold; i++)
		(void)pvj_set_bool(dbs, old[i].db, 1);
	for (int i = 0; i < r->n; i++)
		(void)pvj_set_bool(dbs, r->dbs[i].db, 1);
	pv_buf b = PV_BUF_INIT;
	for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
		pv_buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", m[k].name, m[k].help, m[k].name, m[k].type);
		const char *db;
		json_t *unused;
		json_object_foreach(dbs, db, unused) {
			double v = old_value(old, nold, m[k].name, db, k == 4 ? 0 : -1);
			for (int i = 0; i < r->n; i++) {
				const pv_run_db *d = &r->dbs[i];
				if (strcmp(d->db, db) != 0)
					continue;
				if (k == 0 && d->ok)
					v = (double)r->finished;
				else if (k == 1 && d->ok)
					v = d->seconds;
				else if (k == 2 && d->ok)
					v = (double)d->size;
				else if (k == 3)
					v = d->ok;
				else if (k == 4 && !d->ok)
					v = (v < 0 ? 0 : v) + 1;
				else if (k == 5 && d->upload)
					v = d->upload > 0;
			}
			if (v < 0)
				continue; /* never measured */
			pv_buf_printf(&b, "%s{database=\"", m[k].name);
			escape_label(&b, db);
			pv_buf_printf(&b, "\"} %.17g\n", v);
		}
	}
	json_decref(dbs);
	for (int i = 0; i < nold; i++) {
		free(old[i].metric);
		free(old[i].db);
	}
	free(old);
	/* atomically, so the node exporter never reads half a file; a new file of our own (not
	 * a link someone put there), readable by the directory's group (the exporter's) only */
	int rc = 0;
	if (pv_write_file_atomic(path, b.data, b.len, 0640) < 0) {
		pv_warn("cannot write the metrics file %s: %s", path, strerror(errno));
		rc = -1;
	}
	pv_buf_free(&b);
	return rc;
}

/* ---- the run log ------------------------------------------------------------------------ */

#define RUNLOG_KEEP 200
#define RUNLOG_MAX ((size_t)4 << 20)

json_t *
pv_runlog_read(const char *path)
{
	json_t *runs = json_array();
	FILE *f = fopen(path, "r");
	if (!f)
		return runs;
	char *line = NULL;
	size_t cap = 0, total = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0 && (total += (size_t)n) <= RUNLOG_MAX) {
		json_t *j = json_loadb(line, (size_t)n, 0, NULL);
		if (json_is_object(j))
			(void)pvj_append(runs, j); /* a line that does not parse is skipped */
		else
			json_decref(j);
	}
	free(line);
	fclose(f);
	while (json_array_size(runs) > RUNLOG_KEEP)
		json_array_remove(runs, 0);
	return runs;
}

int
pv_runlog_append(const char *path, const pv_run *r)
{
	json_t *runs = pv_runlog_read(path), *j = run_json(r);
	if (!j || pvj_append(runs, j) < 0) {
		json_decref(runs);
		pv_warn("the run log %s: %s", path, pv_errmsg());
		return -1;
	}
	while (json_array_size(runs) > RUNLOG_KEEP)
		json_array_remove(runs, 0);
	pv_buf b = PV_BUF_INIT;
	size_t i;
	json_t *e;
	int bad = 0;
	json_array_foreach(runs, i, e) {
		char *text = pvj_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER, PVJ_UTF8, "the run log");
		if (!text) {
			bad = 1;
			break;
		}
		pv_buf_printf(&b, "%s\n", text);
		free(text);
	}
	json_decref(runs);
	int rc = bad ? -1 : pv_write_file_atomic(path, b.data ? b.data : "", b.len, 0600);
	pv_buf_free(&b);
	if (rc < 0)
		pv_warn("cannot write the run log %s: %s", path, pv_errmsg());
	return rc;
}
