/*
 * schema/model.h — the typed model of a database's schema: per object kind, a C struct of
 * catalog facts (names, options, flags; never SQL text), attached to its pv_obj (o->def)
 * with the kind's operations (o->ops).  The readers of pg/ fill the structs; after the sort,
 * pv_schema_render() (schema/render.h) asks each object's kind to write its SQL, as
 * pg_dump's dumpXXX functions do.  Quoting is not done here: the renderer is given a
 * pv_render_ctx whose functions quote (the backup engine passes libpq's, pg/conn.h), so
 * schema/ does not depend on a connection.
 *
 * Kinds converted so far (each block in model.c): schemas, extensions, sequences, their
 * values and their OWNED BY.  Every other kind still carries the SQL its reader wrote
 * (o->sql); contrib/check-layers.sh's `modelsql` debt lines count what is left.
 */
#ifndef PV_SCHEMA_MODEL_H
#define PV_SCHEMA_MODEL_H

#include <stdint.h>

#include "util/buf.h"

/* Quoting for the renderers: each returns a new string (free()). */
typedef struct pv_render_ctx {
	char *(*ident)(void *arg, const char *name);
	char *(*literal)(void *arg, const char *value);
	void *arg;
} pv_render_ctx;

/* "name", "schema"."name" and 'value' appended to b, through ctx */
void pv_render_ident(pv_buf *b, const pv_render_ctx *ctx, const char *name);
void pv_render_qualified(pv_buf *b, const pv_render_ctx *ctx, const char *schema, const char *name);
void pv_render_literal(pv_buf *b, const pv_render_ctx *ctx, const char *value);

/* The operations of a kind's definition. */
typedef struct pv_kind_ops {
	const char *name; /* for messages */
	/* appends the statements that create the object of def to out; nothing appended: the
	 * object has no SQL (o->sql stays NULL).  0, or -1 with the error set.  It sees the
	 * definition only (not the pv_obj: schema/ modules include no cycle, and a renderer
	 * writes from the model's facts alone). */
	int (*render)(const void *def, pv_buf *out, const pv_render_ctx *ctx);
	void (*free)(void *def);
} pv_kind_ops;

/* ---- the kinds' definitions; strings are copied by the constructors -------------------- */

/* K_SCHEMA */
typedef enum {
	PV_SCHEMA_CREATE,  /* CREATE SCHEMA */
	PV_SCHEMA_BUILTIN, /* public as every new database has it: nothing to create */
	PV_SCHEMA_DROP     /* the database has no public schema: DROP SCHEMA public */
} pv_schema_form;
typedef struct pv_def_schema {
	char *name;
	pv_schema_form form;
} pv_def_schema;
extern const pv_kind_ops pv_ops_schema;
pv_def_schema *pv_def_schema_new(const char *name, pv_schema_form form);
/* an object with these ops and def is a schema its entry creates (CREATE SCHEMA) */
int pv_def_schema_creates(const pv_kind_ops *ops, const void *def);

/* K_EXTENSION: CREATE EXTENSION IF NOT EXISTS name WITH SCHEMA schema */
typedef struct pv_def_extension {
	char *name;
	char *schema;
} pv_def_extension;
extern const pv_kind_ops pv_ops_extension;
pv_def_extension *pv_def_extension_new(const char *name, const char *schema);

/* K_SEQUENCE (not an identity column's: the table's column creates that one) */
typedef struct pv_def_sequence {
	char *schema, *name;
	char *type; /* format_type of seqtypid: "bigint", "integer", ... */
	int64_t start, increment, min, max, cache;
	int cycle;
	int unlogged;
} pv_def_sequence;
extern const pv_kind_ops pv_ops_sequence;
pv_def_sequence *pv_def_sequence_new(const char *schema, const char *name, const char *type);

/* K_SEQ_SET: a sequence's value (pg_catalog.setval) */
typedef struct pv_def_seq_value {
	char *schema, *name;
	int64_t last_value;
	int is_called;
} pv_def_seq_value;
extern const pv_kind_ops pv_ops_seq_value;
pv_def_seq_value *pv_def_seq_value_new(const char *schema, const char *name, int64_t last_value,
                                       int is_called);

/* K_SEQ_OWNED: ALTER SEQUENCE ... OWNED BY table.column */
typedef struct pv_def_seq_owned {
	char *schema, *name;             /* the sequence */
	char *table_schema, *table_name; /* the table */
	char *column;
} pv_def_seq_owned;
extern const pv_kind_ops pv_ops_seq_owned;
pv_def_seq_owned *pv_def_seq_owned_new(const char *schema, const char *name, const char *table_schema,
                                       const char *table_name, const char *column);

#endif
