/*
 * cmd/list.c — `pgvault list`: bundles from the sidecar manifests, as a table or JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "store/s3.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"

static const char usage[] =
    "Usage: pgvault list [OPTIONS]      (also: pgvault --list)\n"
    "\n"
    "List the bundles in the storage directory (read from the sidecar manifests only).\n"
    "\n"
    "  -d, --db NAME   only this database\n"
    "      --json      a JSON array for scripts\n"
    "      --remote    also the bundles in the [s3] storage (their sidecars only)\n";

enum { OPT_JSON = OPT_CMD_BASE, OPT_REMOTE };

static void
human_size(json_int_t n, char *out, size_t len)
{
	const char *u[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)n;
	int i = 0;
	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(out, len, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static const char *
s(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

/* a member of a sidecar, JSON null when absent */
static json_t *
field(json_t *e, const char *k)
{
	json_t *v = json_object_get(e, k);
	return v ? v : json_null();
}

int
cmd_list(pv_global *g, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"remote", no_argument, NULL, OPT_REMOTE},
	    PV_GLOBAL_LONGOPTS,
	    {NULL, 0, NULL, 0}};
	const char *db = NULL;
	int json = 0, remote = 0, opt;
	optind = 0; /* GNU getopt: full re-initialisation */
	while ((opt = getopt_long(argc, argv, "d:" PV_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == 'd')
			db = optarg;
		else if (opt == OPT_JSON)
			json = 1;
		else if (opt == OPT_REMOTE)
			remote = 1;
		else if (opt == OPT_HELP) {
			fputs(usage, stdout);
			return 0;
		} else if (!pv_global_option(g, opt, optarg))
			return pv_usage_error("list", "invalid option");
	}
	if (optind < argc)
		return pv_usage_error("list", "unexpected argument \"%s\"", argv[optind]);
	int src = pv_setup(g);
	if (src != PV_EXIT_OK)
		return src;
	pv_store *st = pv_open_store(g);
	json_t *all = pv_store_list(st, db);
	pv_store_free(st);
	if (!all) {
		pv_error("%s", pv_errmsg());
		return PV_EXIT_FAIL;
	}
	if (remote) {
		pv_s3 *s3 = pv_open_s3(g);
		json_t *r = s3 ? pv_remote_list(s3, db) : NULL;
		if (s3 && !r)
			pv_error("%s", pv_errmsg());
		pv_s3_free(s3);
		if (!r) {
			json_decref(all);
			return PV_EXIT_FAIL;
		}
		int rc = json_array_extend(all, r);
		json_decref(r);
		if (rc < 0) {
			json_decref(all);
			pv_error("cannot merge the remote list");
			return PV_EXIT_FAIL;
		}
	}
	json_t *out = json_array();
	size_t i;
	json_t *e;
	int bad = 0;
	json_array_foreach(all, i, e) {
		json_t *r = json_object();
		json_int_t raw = 0;
		size_t k;
		json_t *m;
		json_array_foreach(json_object_get(e, "members"), k, m)
			raw += json_integer_value(json_object_get(m, "raw_size")) ? json_integer_value(json_object_get(m, "raw_size"))
			                                                         : json_integer_value(json_object_get(m, "size"));
		json_int_t size = json_integer_value(json_object_get(e, "size"));
		bad |= pvj_set_copy(r, "id", field(e, "id"));
		bad |= pvj_set_copy(r, "database", field(e, "database"));
		bad |= pvj_set_copy(r, "time", field(e, "snapshot_time"));
		bad |= pvj_set_copy(r, "tag", field(e, "tag"));
		bad |= pvj_set_int(r, "size", size);
		bad |= pvj_set_int(r, "raw_size", raw);
		bad |= pvj_set(r, "ratio", json_real(size ? (double)raw / (double)size : 0));
		bad |= pvj_set_bool(r, "verified", json_is_true(json_object_get(e, "verified")));
		bad |= pvj_set_copy(r, "verified_at", field(e, "verified_at"));
		bad |= pvj_set_str(r, "location", json_object_get(e, "location") ? json_string_value(json_object_get(e, "location")) : "local");
		bad |= pvj_set_copy(r, "path", field(e, "path"));
		bad |= pvj_set_copy(r, "tables", field(e, "tables"));
		bad |= pvj_set_copy(r, "rows", field(e, "rows"));
		bad |= pvj_append(out, r);
	}
	char *text = NULL;
	if (bad || (json && !(text = pvj_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER, PVJ_UTF8, "the list")))) {
		pv_error("%s", pv_errmsg());
		json_decref(out);
		json_decref(all);
		return PV_EXIT_FAIL;
	}
	if (json) {
		printf("%s\n", text);
		free(text);
	} else if (json_array_size(out) == 0) {
		printf("no bundles%s%s%s\n", db ? " for database \"" : "", db ? db : "", db ? "\"" : "");
	} else {
		printf("%-20s %-20s %-10s %10s %6s %-8s %-5s %s\n", "DATABASE", "TIME (UTC)", "TAG", "SIZE",
		       "RATIO", "VERIFIED", "WHERE", "ID");
		json_array_foreach(out, i, e) {
			char sz[32];
			human_size(json_integer_value(json_object_get(e, "size")), sz, sizeof sz);
			printf("%-20s %-20s %-10s %10s %5.1fx %-8s %-5s %s\n", s(e, "database"), s(e, "time"),
			       s(e, "tag")[0] ? s(e, "tag") : "-", sz,
			       json_real_value(json_object_get(e, "ratio")),
			       json_is_true(json_object_get(e, "verified")) ? "yes" : "no", s(e, "location"), s(e, "id"));
		}
	}
	json_decref(out);
	json_decref(all);
	return PV_EXIT_OK;
}
