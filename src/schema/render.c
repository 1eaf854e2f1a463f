/*
 * schema/render.c — the render step over the sorted graph (see render.h); each kind's
 * renderer is in schema/model.c.
 */
#include "schema/render.h"

#include <stdlib.h>

#include "util/buf.h"
#include "util/err.h"

int
pv_schema_render(pv_graph *g, const pv_render_ctx *ctx)
{
	int n = pv_graph_count(g);
	for (int i = 0; i < n; i++) {
		pv_obj *o = pv_graph_get(g, i);
		if (!o->ops || !o->def)
			continue;
		char *label = NULL;
		if (o->sql) {
			label = pv_obj_label(o);
			pv_fail("%s: its reader wrote SQL text, but its kind (%s) is rendered from the model",
			        label, o->ops->name);
			free(label);
			return -1;
		}
		pv_buf b = PV_BUF_INIT;
		if (o->ops->render(o->def, &b, ctx) < 0) {
			pv_buf_free(&b);
			label = pv_obj_label(o);
			pv_wrap("rendering %s", label);
			free(label);
			return -1;
		}
		if (b.len)
			o->sql = pv_buf_detach(&b);
		else
			pv_buf_free(&b);
	}
	return 0;
}
