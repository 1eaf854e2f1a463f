/*
 * cmd/list.c — `pgvault list`: bundles from the sidecar manifests, as a table or JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/names.h"

enum { OPT_JSON = OPT_CMD_BASE, OPT_REMOTE };

static const pv_opt options[] = {
	PV_OPT('d', "db", 'd', "NAME", "only this database"),
	PV_OPT(0, "json", OPT_JSON, NULL, "a JSON array for scripts"),
	PV_OPT(0, "remote", OPT_REMOTE, NULL, "also the bundles in the [s3] storage (their sidecars only)"),
	PV_OPT_INCLUDE(pv_keys_s3),
	PV_OPT_END,
};

const pv_command pv_cmd_list = {
	.name = "list",
	.summary = "list bundles (also: pgvault --list)",
	.usage = "pgvault list [OPTIONS]      (also: pgvault --list)",
	.description = "List the bundles in the storage directory (read from the sidecar manifests only).\n",
	.opts = options,
	.exit_status = "0 ok, 1 failure, 2 usage error.",
	.run = cmd_list,
};

static const char *
s(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

static json_t *
str_or_null(const char *v)
{
	return v ? json_string(v) : json_null();
}

static json_t *
int_or_null(int64_t v)
{
	return v >= 0 ? json_integer((json_int_t)v) : json_null();
}

/* One bundle as `list --json` shows it (NULL when out of memory). */
static json_t *
row(const pv_entry *e)
{
	json_t *r = json_object();
	int bad = 0;
	bad |= pvj_set_str(r, "id", e->id);
	bad |= pvj_set(r, "database", json_string(e->database));
	bad |= pvj_set(r, "time", str_or_null(e->snapshot_time));
	bad |= pvj_set(r, "tag", str_or_null(e->tag));
	bad |= pvj_set_int(r, "size", e->size);
	bad |= pvj_set_int(r, "raw_size", e->raw_size);
	bad |= pvj_set(r, "ratio", json_real(e->size ? (double)e->raw_size / (double)e->size : 0));
	bad |= pvj_set_bool(r, "verified", e->verified);
	bad |= pvj_set(r, "verified_at", str_or_null(e->verified_at));
	bad |= pvj_set_str(r, "location", e->location);
	bad |= pvj_set_str(r, "path", e->where);
	bad |= pvj_set(r, "tables", int_or_null(e->tables));
	bad |= pvj_set(r, "rows", int_or_null(e->rows));
	json_t *src = json_object_get(e->sidecar, "source"); /* the server it was read from */
	bad |= pvj_set(r, "source", json_is_object(src) ? json_deep_copy(src) : json_null());
	json_t *uf = json_object_get(e->sidecar, PV_SIDECAR_UPLOAD_FAILED);
	if (json_is_object(uf))
		bad |= pvj_set_copy(r, PV_SIDECAR_UPLOAD_FAILED, uf);
	json_t *vf = json_object_get(e->sidecar, PV_SIDECAR_VERIFY_FAILED);
	if (json_is_object(vf))
		bad |= pvj_set_copy(r, PV_SIDECAR_VERIFY_FAILED, vf);
	if (bad) {
		json_decref(r);
		return NULL;
	}
	return r;
}

typedef struct listing {
	json_t *out; /* the rows */
	const char *db;
	int remote, failed;
} listing;

/* The current server's bundles: the local storage's, and with remote the S3 one's after
 * them; -1 (said) on failure */
static int
list_one(pv_global *g, void *arg)
{
	listing *ls = arg;
	for (int k = 0; k <= ls->remote; k++) {
		pv_repo *r = pv_open_repo(g, k);
		pv_entries all;
		if (!r || pv_repo_list(r, ls->db, &all) < 0) {
			if (r)
				pv_error("%s", pv_errmsg());
			pv_repo_free(r);
			return -1;
		}
		for (size_t i = 0; i < all.n; i++) {
			json_t *e = row(&all.v[i]);
			ls->failed |= !e || pvj_set(e, "server", g->server ? json_string(g->server) : json_null()) < 0 ||
			              pvj_append(ls->out, e) < 0;
		}
		pv_entries_free(&all);
		pv_repo_free(r);
	}
	return 0;
}

int
cmd_list(pv_global *g, int argc, char **argv)
{
	const char *db = NULL;
	int json = 0, remote = 0, opt;
	pv_parser p;
	pv_opts_init(&p, &pv_cmd_list, 0);
	while ((opt = pv_next_option(&p, g, argc, argv)) >= 0) {
		if (opt == 'd')
			db = optarg;
		else if (opt == OPT_JSON)
			json = 1;
		else if (opt == OPT_REMOTE)
			remote = 1;
	}
	if (opt != -1)
		return opt == PV_OPTS_HELP ? PV_EXIT_OK : PV_EXIT_USAGE;
	if (optind < argc)
		return pv_usage_error("list", "unexpected argument \"%s\"", argv[optind]);
	int src = pv_setup(g);
	if (src != PV_EXIT_OK)
		return src;
	/* with several servers, each one's storage, and first what the storage itself holds (a
	 * single-server configuration's bundles, from before the servers came) */
	listing ls = {json_array(), db, remote, 0};
	int bad = pv_each_storage(g, list_one, &ls) < 0;
	json_t *out = ls.out;
	if (bad || ls.failed) {
		json_decref(out);
		return PV_EXIT_FAIL;
	}
	char *text = NULL;
	if (bad || (json && !(text = pvj_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER, PVJ_UTF8, "the list")))) {
		pv_error("%s", pv_errmsg());
		json_decref(out);
		return PV_EXIT_FAIL;
	}
	if (json) {
		printf("%s\n", text);
		free(text);
	} else if (json_array_size(out) == 0) {
		printf("no bundles%s%s%s\n", db ? " for database \"" : "", db ? db : "", db ? "\"" : "");
	} else {
		printf("%-20s %-20s %-10s %10s %6s %-8s %-6s %s\n", "DATABASE", "TIME (UTC)", "TAG", "SIZE",
		       "RATIO", "VERIFIED", "WHERE", "ID");
		size_t i;
		json_t *e;
		int marked = 0;
		json_array_foreach(out, i, e) {
			char sz[32], where[16];
			pv_human_size(json_integer_value(json_object_get(e, "size")), sz, sizeof sz);
			/* "local!": kept here only, its upload failed */
			int m = json_object_get(e, PV_SIDECAR_UPLOAD_FAILED) != NULL;
			marked |= m;
			snprintf(where, sizeof where, "%s%s", s(e, "location"), m ? "!" : "");
			/* SERVER/DB: what restore takes */
			char *name = json_is_string(json_object_get(e, "server"))
			                 ? pv_asprintf("%s/%s", s(e, "server"), s(e, "database"))
			                 : pv_strdup(s(e, "database"));
			printf("%-20s %-20s %-10s %10s %5.1fx %-8s %-6s %s\n", name, s(e, "time"),
			       s(e, "tag")[0] ? s(e, "tag") : "-", sz,
			       json_real_value(json_object_get(e, "ratio")),
			       json_object_get(e, PV_SIDECAR_VERIFY_FAILED) ? "FAILED"
			       : json_is_true(json_object_get(e, "verified")) ? "yes" : "no",
			       where, s(e, "id"));
			free(name);
		}
		if (marked)
			printf("local!: not uploaded, the upload failed (list --json says why); "
			       "pgvault upload --all sends it\n");
	}
	json_decref(out);
	return PV_EXIT_OK;
}
