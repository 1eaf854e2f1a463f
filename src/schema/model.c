/*
 * schema/model.c — the typed definitions of the converted kinds: per kind its constructor,
 * its renderer (the SQL the kind's reader used to write, byte for byte) and its free, and
 * the kind's operations table (see model.h).
 */
#include "schema/model.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"

static char *
dup_or_null(const char *s)
{
	return s ? pv_strdup(s) : NULL;
}

void
pv_render_ident(pv_buf *b, const pv_render_ctx *ctx, const char *name)
{
	char *q = ctx->ident(ctx->arg, name);
	pv_buf_puts(b, q);
	free(q);
}

void
pv_render_qualified(pv_buf *b, const pv_render_ctx *ctx, const char *schema, const char *name)
{
	pv_render_ident(b, ctx, schema);
	pv_buf_putc(b, '.');
	pv_render_ident(b, ctx, name);
}

void
pv_render_literal(pv_buf *b, const pv_render_ctx *ctx, const char *value)
{
	char *q = ctx->literal(ctx->arg, value);
	pv_buf_puts(b, q);
	free(q);
}

/* ---- schemas ---------------------------------------------------------------------------- */

pv_def_schema *
pv_def_schema_new(const char *name, pv_schema_form form)
{
	pv_def_schema *d = pv_calloc(1, sizeof *d);
	d->name = pv_strdup(name);
	d->form = form;
	return d;
}

int
pv_def_schema_creates(const pv_kind_ops *ops, const void *def)
{
	return ops == &pv_ops_schema && ((const pv_def_schema *)def)->form == PV_SCHEMA_CREATE;
}

static int
render_schema(const void *def, pv_buf *out, const pv_render_ctx *ctx)
{
	const pv_def_schema *d = def;
	if (d->form == PV_SCHEMA_CREATE) {
		pv_buf_puts(out, "CREATE SCHEMA ");
		pv_render_ident(out, ctx, d->name);
		pv_buf_putc(out, ';');
	} else if (d->form == PV_SCHEMA_DROP) {
		pv_buf_puts(out, "DROP SCHEMA public;");
	}
	return 0;
}

static void
free_schema(void *p)
{
	pv_def_schema *d = p;
	free(d->name);
	free(d);
}

const pv_kind_ops pv_ops_schema = {"schema", render_schema, free_schema};

/* ---- extensions ------------------------------------------------------------------------- */

pv_def_extension *
pv_def_extension_new(const char *name, const char *schema)
{
	pv_def_extension *d = pv_calloc(1, sizeof *d);
	d->name = pv_strdup(name);
	d->schema = pv_strdup(schema);
	return d;
}

static int
render_extension(const void *def, pv_buf *out, const pv_render_ctx *ctx)
{
	const pv_def_extension *d = def;
	pv_buf_puts(out, "CREATE EXTENSION IF NOT EXISTS ");
	pv_render_ident(out, ctx, d->name);
	pv_buf_puts(out, " WITH SCHEMA ");
	pv_render_ident(out, ctx, d->schema);
	pv_buf_putc(out, ';');
	return 0;
}

static void
free_extension(void *p)
{
	pv_def_extension *d = p;
	free(d->name);
	free(d->schema);
	free(d);
}

const pv_kind_ops pv_ops_extension = {"extension", render_extension, free_extension};

/* ---- sequences -------------------------------------------------------------------------- */

pv_def_sequence *
pv_def_sequence_new(const char *schema, const char *name, const char *type)
{
	pv_def_sequence *d = pv_calloc(1, sizeof *d);
	d->schema = pv_strdup(schema);
	d->name = pv_strdup(name);
	d->type = pv_strdup(type);
	return d;
}

static int
render_sequence(const void *def, pv_buf *out, const pv_render_ctx *ctx)
{
	const pv_def_sequence *d = def;
	pv_buf_printf(out, "CREATE %sSEQUENCE ", d->unlogged ? "UNLOGGED " : "");
	pv_render_qualified(out, ctx, d->schema, d->name);
	if (strcmp(d->type, "bigint") != 0)
		pv_buf_printf(out, " AS %s", d->type); /* format_type's output, quoted as needed */
	pv_buf_printf(out, " START WITH %" PRId64 " INCREMENT BY %" PRId64 " MINVALUE %" PRId64
	              " MAXVALUE %" PRId64 " CACHE %" PRId64 "%s;",
	              d->start, d->increment, d->min, d->max, d->cache, d->cycle ? " CYCLE" : "");
	return 0;
}

static void
free_sequence(void *p)
{
	pv_def_sequence *d = p;
	free(d->schema);
	free(d->name);
	free(d->type);
	free(d);
}

const pv_kind_ops pv_ops_sequence = {"sequence", render_sequence, free_sequence};

pv_def_seq_value *
pv_def_seq_value_new(const char *schema, const char *name, int64_t last_value, int is_called)
{
	pv_def_seq_value *d = pv_calloc(1, sizeof *d);
	d->schema = pv_strdup(schema);
	d->name = pv_strdup(name);
	d->last_value = last_value;
	d->is_called = is_called;
	return d;
}

static int
render_seq_value(const void *def, pv_buf *out, const pv_render_ctx *ctx)
{
	const pv_def_seq_value *d = def;
	pv_buf q = PV_BUF_INIT;
	pv_render_qualified(&q, ctx, d->schema, d->name);
	pv_buf_puts(out, "SELECT pg_catalog.setval(");
	pv_render_literal(out, ctx, q.data);
	pv_buf_printf(out, ", %" PRId64 ", %s);", d->last_value, d->is_called ? "true" : "false");
	pv_buf_free(&q);
	return 0;
}

static void
free_seq_value(void *p)
{
	pv_def_seq_value *d = p;
	free(d->schema);
	free(d->name);
	free(d);
}

const pv_kind_ops pv_ops_seq_value = {"sequence value", render_seq_value, free_seq_value};

pv_def_seq_owned *
pv_def_seq_owned_new(const char *schema, const char *name, const char *table_schema,
                     const char *table_name, const char *column)
{
	pv_def_seq_owned *d = pv_calloc(1, sizeof *d);
	d->schema = pv_strdup(schema);
	d->name = pv_strdup(name);
	d->table_schema = pv_strdup(table_schema);
	d->table_name = pv_strdup(table_name);
	d->column = dup_or_null(column);
	return d;
}

static int
render_seq_owned(const void *def, pv_buf *out, const pv_render_ctx *ctx)
{
	const pv_def_seq_owned *d = def;
	pv_buf_puts(out, "ALTER SEQUENCE ");
	pv_render_qualified(out, ctx, d->schema, d->name);
	pv_buf_puts(out, " OWNED BY ");
	pv_render_qualified(out, ctx, d->table_schema, d->table_name);
	pv_buf_putc(out, '.');
	pv_render_ident(out, ctx, d->column);
	pv_buf_putc(out, ';');
	return 0;
}

static void
free_seq_owned(void *p)
{
	pv_def_seq_owned *d = p;
	free(d->schema);
	free(d->name);
	free(d->table_schema);
	free(d->table_name);
	free(d->column);
	free(d);
}

const pv_kind_ops pv_ops_seq_owned = {"sequence owner", render_seq_owned, free_seq_owned};
