/*
 * schema/render.h — the render step: after pv_graph_sort(), and before the entries are
 * written, every object whose kind has a typed definition (schema/model.h) gets its SQL
 * from it, as pg_dump's dumpXXX functions write each object after sorting.
 */
#ifndef PV_SCHEMA_RENDER_H
#define PV_SCHEMA_RENDER_H

#include "schema/graph.h"
#include "schema/model.h"

/* Writes o->sql of every object of g with a typed definition (NULL when its renderer
 * writes nothing), quoting through ctx.  An object with both a definition and SQL text from
 * its reader is an error (a kind is converted whole).  0, or -1 with the error set. */
int pv_schema_render(pv_graph *g, const pv_render_ctx *ctx);

#endif
