/*
 * cmd/status.c — `pgvault status`: exit 0 when every database has a verified bundle younger
 * than --max-age; otherwise exit 1 naming each stale or missing database.  The databases
 * are those of the configuration ([backup] databases, [db:NAME] sections) or, when none are
 * configured, every connectable database of the server (minus exclusions).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "cmd/status_html.h"
#include "ops/notify.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/names.h"

enum { OPT_MAX_AGE = OPT_CMD_BASE, OPT_JSON, OPT_HTML };

static const pv_opt options[] = {
	PV_OPT_CFG(0, "max-age", OPT_MAX_AGE, "DUR",
	           "e.g. 26h, 2d (default: [status] max_age, else 26h; per database [db:NAME] max_age)",
	           "status", "max_age"),
	PV_OPT('d', "db", 'd', "NAME", "check only these databases (repeatable)"),
	PV_OPT(0, "json", OPT_JSON, NULL, "a JSON array for scripts"),
	PV_OPT(0, "html", OPT_HTML, "FILE",
	       "also write a static page to FILE: per database its state, the age of its newest "
	       "verified and restore-tested bundles, a chart of its bundles' sizes and its last runs"),
	PV_OPT_KEY("db", "max_age"),
	PV_OPT_KEY("backup", "databases"),
	PV_OPT_KEY("backup", "exclude"),
	PV_OPT_KEY("db", "exclude"),
	PV_OPT_END,
};

const pv_command pv_cmd_status = {
	.name = "status",
	.summary = "freshness check for monitoring",
	.usage = "pgvault status [OPTIONS]",
	.description =
	    "Freshness check for monitoring: exit 0 when every database has a verified bundle\n"
	    "younger than the maximum age and none that failed verification, else exit 1 naming\n"
	    "the stale, missing and damaged ones.\n"
	    "Databases: those configured ([backup] databases, [db:NAME]), else every connectable\n"
	    "database of the server except templates and exclusions.\n",
	.opts = options,
	.exit_status = "0 all fresh, 1 some stale, missing or damaged, 2 usage error.",
	.run = cmd_status,
};

/* The newest bundle of db that failed verification: into its status row r, and reported */
static int
report_damaged(json_t *r, const char *db, const pv_entry *damaged)
{
	json_t *why = json_object_get(damaged->sidecar, PV_SIDECAR_VERIFY_FAILED);
	const char *at = json_string_value(json_object_get(why, "at"));
	const char *err = json_string_value(json_object_get(why, "error"));
	pv_error("database \"%s\": bundle %s failed verification (%s): %s; it is neither restored as "
	         "@latest nor pruned: delete it once understood", db, damaged->id, at ? at : "?",
	         err ? err : "?");
	return pvj_set_str(r, "damaged", damaged->id) | pvj_set_copy(r, PV_SIDECAR_VERIFY_FAILED, why);
}

static int
add_name(json_t *set, const char *name)
{
	if (!name)
		return pv_fail("a database name that is not a string");
	return json_object_get(set, name) ? 0 : pvj_set_bool(set, name, 1);
}

static json_t *
set_or_fail(json_t *set, int bad)
{
	if (!bad)
		return set;
	json_decref(set);
	pv_wrap("listing the databases to check");
	return NULL;
}

/* The databases to check, as an object used as an ordered set. */
static json_t *
databases(pv_global *g, char **only, int nonly)
{
	json_t *set = json_object();
	int bad = 0;
	if (nonly) {
		for (int i = 0; i < nonly; i++)
			bad |= add_name(set, only[i]);
		return set_or_fail(set, bad);
	}
	json_t *listed = pv_config_list(g->cfg, NULL, "backup", "databases");
	size_t i;
	json_t *e;
	json_array_foreach(listed, i, e)
		bad |= add_name(set, json_string_value(e));
	json_decref(listed);
	/* (a [db:NAME] section names a database of any server: with several, each server's
	 * own list, or all of its databases) */
	json_t *cfgdbs = g->server ? json_array() : pv_config_databases(g->cfg);
	json_array_foreach(cfgdbs, i, e) {
		int ex = 0;
		pv_config_bool(g->cfg, json_string_value(e), "db", "exclude", 0, &ex);
		if (!ex)
			bad |= add_name(set, json_string_value(e));
	}
	json_decref(cfgdbs);
	if (bad || json_object_size(set))
		return set_or_fail(set, bad);
	PGconn *c = pv_connect(&g->conn, NULL);
	PGresult *r = c ? pv_query(c, "SELECT datname FROM pg_catalog.pg_database"
	                              " WHERE datallowconn AND NOT datistemplate ORDER BY datname") : NULL;
	if (!r) {
		if (c)
			PQfinish(c);
		json_decref(set);
		return NULL;
	}
	for (int k = 0; k < PQntuples(r); k++) {
		const char *n = PQgetvalue(r, k, 0);
		int ex = 0;
		pv_config_bool(g->cfg, n, "db", "exclude", 0, &ex);
		if (!ex && !pv_config_list_has(g->cfg, NULL, "backup", "exclude", n))
			bad |= add_name(set, n);
	}
	PQclear(r);
	PQfinish(c);
	return set_or_fail(set, bad);
}

/* --max-age: a duration with its unit ("--max-age 26" is 26 seconds, which nobody means for
 * a backup's age); -1 after the usage error */
static long
max_age_arg(const char *arg)
{
	long v = pv_parse_duration(arg);
	if (v <= 0) {
		pv_usage_error("status", "--max-age: expected a duration such as 26h or 2d");
		return -1;
	}
	if (arg[strspn(arg, "0123456789")] == '\0') {
		pv_usage_error("status", "--max-age %s: give the unit (%sh, %sd; %ss if you mean seconds)", arg, arg,
		               arg, arg);
		return -1;
	}
	return v;
}

/* The rows of the databases of the current server (set: their names) into out; how many
 * are not ok, or -1 when a row could not be made. */
static int
server_status(pv_global *g, json_t *set, const pv_entries *bundles, long max_age, json_t *out)
{
	time_t now = time(NULL);
	int bad = 0, jbad = 0;
	const char *db;
	json_t *unused;
	json_object_foreach(set, db, unused) {
		long limit = max_age;
		if (limit < 0)
			pv_config_seconds(g->cfg, db, "status", "max_age", 26 * 3600, &limit);
		const pv_entry *newest = NULL, *damaged = NULL, *tested = NULL;
		for (size_t i = 0; i < bundles->n; i++) {
			const pv_entry *b = &bundles->v[i];
			if (strcmp(b->database, db) != 0)
				continue;
			if (b->verified && (!newest || b->snapshot >= newest->snapshot))
				newest = b;
			if (b->failed && (!damaged || b->snapshot >= damaged->snapshot))
				damaged = b;
			if (b->verified && json_object_get(b->sidecar, PV_SIDECAR_RESTORE_TESTED) &&
			    (!tested || b->snapshot >= tested->snapshot))
				tested = b;
		}
		json_t *r = json_object();
		jbad |= pvj_set_str(r, "database", db);
		if (g->server)
			jbad |= pvj_set_str(r, "server", g->server);
		jbad |= pvj_set_int(r, "max_age_seconds", limit);
		const char *state = "missing";
		if (newest) {
			json_int_t age = (json_int_t)(now - newest->snapshot);
			state = age > limit ? "stale" : "ok";
			jbad |= pvj_set_str(r, "newest", newest->id);
			jbad |= pvj_set_str_or_null(r, "time", newest->snapshot_time);
			jbad |= pvj_set_int(r, "age_seconds", age);
		}
		if (tested) {
			json_t *t = json_object();
			jbad |= pvj_set_str(t, "id", tested->id);
			jbad |= pvj_set_str_or_null(t, "time", tested->snapshot_time);
			jbad |= pvj_set_copy(t, "at", json_object_get(json_object_get(tested->sidecar, PV_SIDECAR_RESTORE_TESTED), "at"));
			jbad |= pvj_set(r, "restore_tested", t);
		}
		if (damaged && strcmp(state, "ok") == 0)
			state = "damaged";
		if (damaged)
			jbad |= report_damaged(r, db, damaged);
		jbad |= pvj_set_str(r, "status", state);
		bad += strcmp(state, "ok") != 0;
		if (strcmp(state, "ok") != 0 && strcmp(state, "damaged") != 0) {
			if (!newest)
				pv_error("%s%sdatabase \"%s\": no verified bundle", g->server ? "server " : "", g->server ? g->server : "", db);
			else
				pv_error("database \"%s\": newest verified bundle %s is %lld h %02lld min old "
				         "(maximum %ld h %02ld min)", db,
				         newest->id,
				         (long long)json_integer_value(json_object_get(r, "age_seconds")) / 3600,
				         ((long long)json_integer_value(json_object_get(r, "age_seconds")) % 3600) / 60,
				         limit / 3600, (limit % 3600) / 60);
		}
		jbad |= pvj_append(out, r);
	}
	return jbad ? -1 : bad;
}

int
cmd_status(pv_global *g, int argc, char **argv)
{
	char **only = pv_calloc((size_t)argc + 1, sizeof *only);
	int nonly = 0, json = 0, opt, rc = PV_EXIT_OK;
	const char *html = NULL;
	long max_age = -1;
	pv_parser p;
	pv_opts_init(&p, &pv_cmd_status, 0);
	while ((opt = pv_next_option(&p, g, argc, argv)) >= 0) {
		if (opt == OPT_MAX_AGE) {
			if ((max_age = max_age_arg(optarg)) < 0) {
				rc = PV_EXIT_USAGE;
				goto done;
			}
		} else if (opt == 'd') {
			only[nonly++] = optarg;
		} else if (opt == OPT_JSON) {
			json = 1;
		} else if (opt == OPT_HTML) {
			html = optarg;
		}
	}
	if (opt != -1) {
		rc = opt == PV_OPTS_HELP ? PV_EXIT_OK : PV_EXIT_USAGE;
		goto done;
	}
	if (optind < argc) {
		rc = pv_usage_error("status", "unexpected argument \"%s\"", argv[optind]);
		goto done;
	}
	if ((rc = pv_setup(g)) != PV_EXIT_OK)
		goto done;
	int n;
	const char **names = pv_server_list(g, &n);
	if (names[0] && n > 1 && html) {
		free(names);
		rc = pv_usage_error("status", "--html draws one server's page: name it with --server");
		goto done;
	}
	json_t *out = json_array();
	pv_entries bundles;
	memset(&bundles, 0, sizeof bundles);
	int bad = 0, jbad = 0;
	for (int sv = 0; sv < n && !jbad; sv++) {
		pv_entries_free(&bundles);
		if (names[sv] && pv_use_server(g, names[sv]) != PV_EXIT_OK) {
			jbad = 1; /* (said) */
			break;
		}
		json_t *set = databases(g, only, nonly);
		if (!set) {
			pv_error("%s", pv_errmsg());
			jbad = 1;
			break;
		}
		pv_repo *repo = pv_open_repo(g, 0);
		int listed = pv_repo_list(repo, NULL, &bundles);
		pv_repo_free(repo);
		int k = listed < 0 ? -1 : server_status(g, set, &bundles, max_age, out);
		json_decref(set);
		if (k < 0) {
			pv_error("%s", pv_errmsg());
			jbad = 1;
		} else {
			bad += k;
		}
	}
	free(names);
	char *text = NULL;
	if (!jbad && html) {
		char *log = pv_asprintf("%s/%s", g->storage, PV_RUNLOG_NAME);
		json_t *runs = pv_runlog_read(log);
		free(log);
		if (pv_status_html(html, out, &bundles, runs) < 0) {
			pv_error("%s", pv_errmsg());
			bad = 1;
		}
		json_decref(runs);
	}
	if (jbad || (json && !(text = pvj_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER, PVJ_UTF8, "the status")))) {
		pv_error("%s", pv_errmsg());
		bad = 1;
	} else if (json) {
		printf("%s\n", text);
		free(text);
	} else {
		size_t i;
		json_t *r;
		printf("%-24s %-8s %-21s %s\n", "DATABASE", "STATUS", "NEWEST (UTC)", "AGE");
		json_array_foreach(out, i, r) {
			json_int_t age = json_integer_value(json_object_get(r, "age_seconds"));
			char agebuf[32] = "-";
			if (json_object_get(r, "age_seconds"))
				snprintf(agebuf, sizeof agebuf, "%lldh%02lldm", (long long)age / 3600, ((long long)age % 3600) / 60);
			const char *t = json_string_value(json_object_get(r, "time"));
			json_t *sv = json_object_get(r, "server");
			char *name = sv ? pv_asprintf("%s/%s", json_string_value(sv),
			                              json_string_value(json_object_get(r, "database")))
			                : pv_strdup(json_string_value(json_object_get(r, "database")));
			printf("%-24s %-8s %-21s %s\n", name, json_string_value(json_object_get(r, "status")),
			       t ? t : "-", agebuf);
			free(name);
		}
	}
	json_decref(out);
	pv_entries_free(&bundles);
	rc = bad || jbad ? PV_EXIT_FAIL : PV_EXIT_OK;
done:
	free(only);
	return rc;
}
