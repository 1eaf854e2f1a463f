/*
 * cmd/status_html.h — the static status page of `status --html` (cmd/status_html.c).
 */
#ifndef PV_CMD_STATUS_HTML_H
#define PV_CMD_STATUS_HTML_H

#include <jansson.h>

#include "store/repo.h"

/* rows: status --json's rows; bundles: the storage's; runs: the run log.  The page is
 * written atomically, mode 0644 (it is meant to be served). */
int pv_status_html(const char *path, json_t *rows, const pv_entries *bundles, json_t *runs);

#endif
