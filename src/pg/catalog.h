/*
 * pg/catalog.h — reading one database's catalogs, inside the dump transaction, into an
 * object graph with the DDL of each object (catalog → object graph → SQL text).
 *
 * Follows ../shared/docs/catalog-dump-notes.md: relations are read without deparse
 * functions and their tables locked before any deparse call; every later query is
 * filtered by the OIDs of the relations being dumped.  Object kinds this version cannot
 * reproduce are collected in `unsupported` (kind + description) rather than dropped.
 */
#ifndef PV_PG_CATALOG_H
#define PV_PG_CATALOG_H

#include <jansson.h>
#include <libpq-fe.h>

#include "schema/graph.h"
#include "util/buf.h"

typedef struct pv_catalog {
	pv_graph *g;
	json_t *db;          /* name, encoding, collate, ctype, locale_provider, icu_locale or builtin_locale,
	                        owner, comment, settings, server_version(_num), snapshot_time */
	json_t *roles;       /* object: role name -> attributes */
	json_t *unsupported; /* array of {kind, description} */
	json_t *warnings;    /* array of strings */
	int server_version;
} pv_catalog;

/* Reads everything; the connection must be inside the dump transaction.  sessions: how many
 * the backup may use; with two or more, a big catalog is read on two at once. */
int pv_catalog_read(PGconn *c, pv_catalog *cat, int sessions);
void pv_catalog_free(pv_catalog *cat);

#endif
