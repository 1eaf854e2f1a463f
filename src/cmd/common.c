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

pv_store *
pv_open_store(pv_global *g)
{
	const char *dir = g->storage;
	if (!dir)
		dir = getenv("PGVAULT_STORAGE");
	if (!dir || !*dir)
		dir = PV_DEFAULT_STORAGE;
	return pv_store_local(dir);
}
