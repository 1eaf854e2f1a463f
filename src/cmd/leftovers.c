/*
 * cmd/leftovers.c — `pgvault leftovers [--drop] [--db NAME]`: the copies restore --replace
 * kept (NAME_pre_restore_STAMP) and the scratch databases of killed test restores, with
 * their sizes; --drop removes them (engine/leftovers.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "engine/leftovers.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/names.h"

enum { OPT_DROP = OPT_CMD_BASE, OPT_JSON };

static const pv_opt options[] = {
	PV_OPT('d', "db", 'd', "NAME", "only the copies restore --replace kept of this database"),
	PV_OPT(0, "drop", OPT_DROP, NULL, "drop them (refused for one with sessions connected)"),
	PV_OPT(0, "json", OPT_JSON, NULL, "a JSON array for scripts"),
	PV_OPT_END,
};

const pv_command pv_cmd_leftovers = {
	.name = "leftovers",
	.summary = "list (or drop) the databases restores left on the server",
	.usage = "pgvault leftovers [--db NAME] [--drop] [--json]",
	.description =
	    "List the databases restores leave on the server: the copies restore --replace keeps\n"
	    "of the database it replaced (NAME_pre_restore_STAMP), and the scratch databases of\n"
	    "test restores (verify --restore) that were killed, with their sizes.  --drop drops\n"
	    "them.\n",
	.opts = options,
	.exit_status = "0 ok, 1 failure (a database that could not be dropped), 2 usage error.",
	.run = cmd_leftovers,
};

static void
print_row(json_t *e, const char *verb)
{
	char sz[32] = "?";
	json_t *size = json_object_get(e, "size");
	if (json_is_integer(size))
		pv_human_size(json_integer_value(size), sz, sizeof sz);
	const char *of = json_string_value(json_object_get(e, "of"));
	printf("%s%-48s %10s  %s%s%s\n", verb, json_string_value(json_object_get(e, "database")), sz,
	       of ? "kept by restore --replace of " : "a killed test restore's scratch database",
	       of ? of : "", json_integer_value(json_object_get(e, "sessions")) ? " (sessions connected)" : "");
}

int
cmd_leftovers(pv_global *g, int argc, char **argv)
{
	const char *db = NULL;
	int drop = 0, json = 0, opt;
	pv_parser p;
	pv_opts_init(&p, &pv_cmd_leftovers, 0);
	while ((opt = pv_next_option(&p, g, argc, argv)) >= 0) {
		if (opt == 'd')
			db = optarg;
		else if (opt == OPT_DROP)
			drop = 1;
		else if (opt == OPT_JSON)
			json = 1;
	}
	if (opt != -1)
		return opt == PV_OPTS_HELP ? PV_EXIT_OK : PV_EXIT_USAGE;
	if (optind < argc)
		return pv_usage_error("leftovers", "unexpected argument \"%s\"", argv[optind]);
	int rc = pv_setup(g);
	if (rc != PV_EXIT_OK)
		return rc;
	json_t *list = pv_leftovers_list(&g->conn, db);
	if (!list) {
		pv_error("%s", pv_errmsg());
		return PV_EXIT_FAIL;
	}
	size_t i;
	json_t *e;
	json_int_t total = 0;
	int failed = 0;
	json_array_foreach(list, i, e) {
		total += json_integer_value(json_object_get(e, "size"));
		if (drop) {
			pv_err_clear();
			int ok = pv_leftovers_drop(&g->conn, json_string_value(json_object_get(e, "database"))) == 0;
			if (!ok)
				pv_error("%s", pv_errmsg());
			failed += !ok;
			(void)pvj_set_bool(e, "dropped", ok);
			if (ok && !json)
				print_row(e, "dropped ");
		} else if (!json) {
			print_row(e, "");
		}
	}
	if (json) {
		char *text = pvj_dumps(list, JSON_INDENT(2) | JSON_PRESERVE_ORDER, PVJ_UTF8, "the leftovers");
		if (text)
			printf("%s\n", text);
		free(text);
	} else if (!drop) {
		char sz[32];
		pv_human_size(total, sz, sizeof sz);
		if (json_array_size(list))
			printf("%zu database(s), %s; pgvault leftovers --drop removes them\n", json_array_size(list), sz);
		else
			printf("no leftovers\n");
	}
	json_decref(list);
	return failed ? PV_EXIT_FAIL : PV_EXIT_OK;
}
