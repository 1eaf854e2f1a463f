/*
 * cmd/common.c — what the commands share: global options, usage errors, the store.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "util/err.h"
#include "util/log.h"

int
pv_global_option(pv_global *g, int opt, const char *arg)
{
	switch (opt) {
	case OPT_CONFIG: g->config = arg; return 1;
	case OPT_STORAGE: g->storage = arg; return 1;
	case 'h': g->conn.host = arg; return 1;
	case 'p': g->conn.port = arg; return 1;
	case 'U': g->conn.user = arg; return 1;
	case OPT_MAINTDB: g->conn.maintdb = arg; return 1;
	case OPT_QUIET: case 'q': pv_log_set_level(PV_LOG_QUIET); return 1;
	case OPT_VERBOSE: case 'v': pv_log_set_level(PV_LOG_VERBOSE); return 1;
	default: return 0;
	}
}

int
pv_usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "pgvault%s%s: %s\nTry \"pgvault %s%s--help\" for more information.\n",
	        cmd ? " " : "", cmd ? cmd : "", msg, cmd ? cmd : "", cmd ? " " : "");
	return PV_EXIT_USAGE;
}

int
pv_setup(pv_global *g)
{
	if (!g->cfg) {
		g->cfg = pv_config_load(g->config);
		if (!g->cfg) {
			pv_error("%s", pv_errmsg());
			return PV_EXIT_USAGE;
		}
	}
	pv_config *c = g->cfg;
	if (!g->conn.host)
		g->conn.host = pv_config_get(c, NULL, "connection", "host");
	if (!g->conn.port)
		g->conn.port = pv_config_get(c, NULL, "connection", "port");
	if (!g->conn.user)
		g->conn.user = pv_config_get(c, NULL, "connection", "user");
	if (!g->conn.maintdb)
		g->conn.maintdb = pv_config_get(c, NULL, "connection", "maintenance_db");
	g->conn.password = pv_config_get(c, NULL, "connection", "password");
	long v;
	pv_config_int(c, NULL, "connection", "retries", 3, &v);
	g->conn.retries = (int)v;
	pv_config_seconds(c, NULL, "connection", "retry_delay", 2, &v);
	g->conn.retry_delay = (int)v;
	if (!g->storage)
		g->storage = pv_config_get(c, NULL, "storage", "dir");
	if (!g->storage)
		g->storage = PV_DEFAULT_STORAGE;
	return PV_EXIT_OK;
}

pv_store *
pv_open_store(pv_global *g)
{
	return pv_store_local(g->storage ? g->storage : PV_DEFAULT_STORAGE);
}
