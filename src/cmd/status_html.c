/*
 * cmd/status_html.c — `status --html FILE`: a static page, one section per database: its
 * state (as `status` says it), the age of its newest verified and newest restore-tested
 * bundle, its last runs (from the run log, STORAGE/.runs.jsonl) and a small chart of its
 * bundles' sizes over time in inline SVG, a fall of more than 40% from one bundle to the next
 * marked in red.  No script, no outside resource; every name is escaped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/status_html.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/json.h"
#include "util/names.h"

static void
esc(pv_buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': pv_buf_puts(b, "&amp;"); break;
		case '<': pv_buf_puts(b, "&lt;"); break;
		case '>': pv_buf_puts(b, "&gt;"); break;
		case '"': pv_buf_puts(b, "&quot;"); break;
		case '\'': pv_buf_puts(b, "&#39;"); break;
		default: pv_buf_putc(b, *s);
		}
	}
}

static void
age_text(pv_buf *b, long long secs)
{
	if (secs < 0)
		pv_buf_puts(b, "never");
	else if (secs < 3600)
		pv_buf_printf(b, "%lld min", secs / 60);
	else if (secs < 172800)
		pv_buf_printf(b, "%lld h %02lld min", secs / 3600, (secs % 3600) / 60);
	else
		pv_buf_printf(b, "%lld days", secs / 86400);
}

/* the sizes of db's bundles over time, oldest first */
static void
chart(pv_buf *b, const char *db, const pv_entries *all)
{
	const int W = 480, H = 120, P = 8;
	int64_t max = 1;
	time_t t0 = 0, t1 = 0;
	int n = 0;
	for (size_t i = 0; i < all->n; i++) {
		const pv_entry *e = &all->v[i];
		if (strcmp(e->database, db) != 0)
			continue;
		if (e->size > max)
			max = e->size;
		if (!n || e->snapshot < t0)
			t0 = e->snapshot;
		if (!n || e->snapshot > t1)
			t1 = e->snapshot;
		n++;
	}
	char top[32];
	pv_human_size(max, top, sizeof top);
	pv_buf_printf(b, "<svg class=\"sizes\" data-bundles=\"%d\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	                 "role=\"img\"><title>bundle sizes, up to %s</title>"
	                 "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#f6f8fa\"/>",
	              n, W, H, W, H, top, W, H);
	pv_buf p = PV_BUF_INIT, dots = PV_BUF_INIT;
	int64_t prev = -1;
	int k = 0;
	for (size_t i = 0; i < all->n; i++) {
		const pv_entry *e = &all->v[i];
		if (strcmp(e->database, db) != 0)
			continue;
		double x = n == 1 || t1 == t0 ? W / 2.0 : P + (W - 2.0 * P) * (double)(e->snapshot - t0) / (double)(t1 - t0);
		double y = H - P - (H - P - 18.0) * (double)e->size / (double)max; /* the label above */
		pv_buf_printf(&p, "%s%.1f,%.1f", k++ ? " " : "", x, y);
		int fell = prev > 0 && e->size < prev * 6 / 10;
		char sz[32];
		pv_human_size(e->size, sz, sizeof sz);
		pv_buf_printf(&dots, "<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" fill=\"%s\"><title>", fell ? "fell" : "bundle",
		              x, y, fell ? 5 : 3, fell ? "#d1242f" : "#0969da");
		esc(&dots, e->id);
		pv_buf_printf(&dots, ": %s", sz);
		if (fell)
			pv_buf_printf(&dots, ", %d%% smaller than the one before", (int)(100 - 100 * e->size / prev));
		pv_buf_puts(&dots, "</title></circle>");
		prev = e->size;
	}
	pv_buf_printf(b, "<text x=\"4\" y=\"12\" font-size=\"10\" fill=\"#57606a\">%s</text>", top);
	if (k > 1)
		pv_buf_printf(b, "<polyline points=\"%s\" fill=\"none\" stroke=\"#0969da\" stroke-width=\"2\"/>", p.data);
	if (dots.len)
		pv_buf_puts(b, dots.data);
	pv_buf_puts(b, "</svg>");
	pv_buf_free(&p);
	pv_buf_free(&dots);
}

/* the last runs of db, newest first (at most 10) */
static void
runs_table(pv_buf *b, const char *db, json_t *runs)
{
	pv_buf_puts(b, "<table class=\"runs\"><tr><th>run</th><th>result</th><th>bundle</th><th>size</th>"
	               "<th>seconds</th><th>error</th></tr>");
	int shown = 0;
	for (size_t i = json_array_size(runs); i-- > 0 && shown < 10;) {
		json_t *r = json_array_get(runs, i), *d;
		size_t k;
		json_array_foreach(json_object_get(r, "databases"), k, d) {
			if (!json_is_string(json_object_get(d, "database")) ||
			    strcmp(json_string_value(json_object_get(d, "database")), db) != 0)
				continue;
			int ok = json_is_true(json_object_get(d, "ok"));
			int up = json_is_false(json_object_get(d, "uploaded"));
			char sz[32] = "";
			if (json_is_integer(json_object_get(d, "size")))
				pv_human_size(json_integer_value(json_object_get(d, "size")), sz, sizeof sz);
			pv_buf_printf(b, "<tr class=\"%s\"><td>", ok ? (up ? "warn" : "ok") : "failed");
			esc(b, json_string_value(json_object_get(r, "started")));
			pv_buf_printf(b, "</td><td>%s</td><td>", ok ? (up ? "backed up, upload failed" : "ok") : "failed");
			esc(b, json_string_value(json_object_get(d, "bundle")));
			pv_buf_printf(b, "</td><td>%s</td><td>%.1f</td><td>", sz,
			              json_number_value(json_object_get(d, "duration_seconds")));
			esc(b, json_string_value(json_object_get(d, "error")));
			esc(b, json_string_value(json_object_get(d, "upload_error")));
			pv_buf_puts(b, "</td></tr>");
			shown++;
		}
	}
	if (!shown)
		pv_buf_puts(b, "<tr><td colspan=\"6\">no run recorded</td></tr>");
	pv_buf_puts(b, "</table>");
}

int
pv_status_html(const char *path, json_t *rows, const pv_entries *bundles, json_t *runs)
{
	time_t now = time(NULL);
	char iso[21];
	pv_iso8601(now, iso);
	pv_buf b = PV_BUF_INIT;
	pv_buf_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	                  "<title>pgvault status</title><style>"
	                  "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1f2328}"
	                  "section{border:1px solid #d0d7de;border-radius:6px;padding:1em;margin:1em 0}"
	                  "h2{margin:0 0 .5em}.state{padding:.1em .5em;border-radius:4px;color:#fff}"
	                  ".state.ok{background:#1a7f37}.state.stale,.state.missing,.state.damaged{background:#d1242f}"
	                  "table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .6em;text-align:left;"
	                  "border-bottom:1px solid #eaeef2}tr.failed td{color:#d1242f}tr.warn td{color:#9a6700}"
	                  "</style></head><body><h1>pgvault status</h1><p>as of %s</p>\n", iso);
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		const char *db = json_string_value(json_object_get(r, "database"));
		const char *state = json_string_value(json_object_get(r, "status"));
		pv_buf_puts(&b, "<section class=\"database\" data-database=\"");
		esc(&b, db);
		pv_buf_puts(&b, "\"><h2>");
		esc(&b, db);
		pv_buf_printf(&b, " <span class=\"state %s\">%s</span></h2><table class=\"facts\">", state, state);
		pv_buf_puts(&b, "<tr><th>newest verified bundle</th><td>");
		if (json_object_get(r, "newest")) {
			esc(&b, json_string_value(json_object_get(r, "newest")));
			pv_buf_puts(&b, ", ");
			age_text(&b, (long long)json_integer_value(json_object_get(r, "age_seconds")));
			pv_buf_puts(&b, " old");
		} else {
			pv_buf_puts(&b, "none");
		}
		pv_buf_puts(&b, "</td></tr><tr><th>newest restore-tested bundle</th><td>");
		json_t *t = json_object_get(r, "restore_tested");
		if (t) {
			esc(&b, json_string_value(json_object_get(t, "id")));
			pv_buf_puts(&b, ", tested ");
			esc(&b, json_string_value(json_object_get(t, "at")));
		} else {
			pv_buf_puts(&b, "none (pgvault verify --restore)");
		}
		pv_buf_puts(&b, "</td></tr>");
		if (json_object_get(r, "damaged")) {
			pv_buf_puts(&b, "<tr class=\"failed\"><th>failed verification</th><td>");
			esc(&b, json_string_value(json_object_get(r, "damaged")));
			pv_buf_puts(&b, "</td></tr>");
		}
		pv_buf_puts(&b, "</table><h3>bundle sizes</h3>");
		chart(&b, db, bundles);
		pv_buf_puts(&b, "<h3>last runs</h3>");
		runs_table(&b, db, runs);
		pv_buf_puts(&b, "</section>\n");
	}
	pv_buf_puts(&b, "</body></html>\n");
	int rc = pv_write_file_atomic(path, b.data, b.len, 0644);
	pv_buf_free(&b);
	return rc < 0 ? pv_wrap("writing the status page %s", path) : 0;
}
