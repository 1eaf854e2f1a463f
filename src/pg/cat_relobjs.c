/*
 * pg/cat_relobjs.c — catalog readers of what hangs off relations: constraints (with
 * those inherited), indexes, triggers, row security policies, rules and view definitions
 * (see cat_rel.h).
 */
#include "pg/catalog_int.h"
#include "pg/cat_rel.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"

/* A CHECK or (18+) NOT NULL constraint a table has only from its parents. */
typedef struct {
	pv_oid oid;
	relinfo *rel;
	int valid;
	const char *name;
	const char *parents; /* the parents' constraints: "oid oid ..." or NULL */
	int same_name;       /* all of them have its name */
	int done;
} inh_con;

/* The object that creates the parent constraint oid p: NULL while p is itself an inherited
 * one not resolved yet (*wait set), or when nothing creates it (not dumped).  *valid is set
 * when the restore makes p valid (a child is valid when one of its parents' is). */
static pv_obj *
parent_con_obj(pv_graph *g, const inh_con *inh, int ninh, pv_oid p, int *wait, int *valid)
{
	for (int k = 0; k < ninh; k++)
		if (inh[k].oid == p) {
			if (!inh[k].done)
				*wait = 1;
			*valid |= inh[k].valid;
			return inh[k].done ? pv_graph_lookup(g, C_PG_CONSTRAINT, p) : NULL;
		}
	pv_obj *o = pv_graph_lookup(g, C_PG_CONSTRAINT, p);
	if (o && o->kind != K_CHECK_LATE)
		*valid = 1; /* not added NOT VALID */
	return o;
}

/* An inherited constraint exists once its table and one parent's constraint do.  When every
 * parent's comes with the parent's CREATE TABLE (an inline NOT NULL) the child's table
 * stands for it; otherwise it is an object of its own after the parents' constraint objects,
 * so that its comment follows them — and when the source validated it on the child while all its
 * parents' stay NOT VALID, that object validates it there (18's regression database). */
static int
resolve_inherited(reader *rd, inh_con *inh, int ninh)
{
	pv_graph *g = rd->cat->g;
	int left = ninh, progress = 1;
	while (left && progress) {
		progress = 0;
		for (int i = 0; i < ninh; i++) {
			if (inh[i].done)
				continue;
			pv_obj *ps[64];
			int np = 0, wait = 0, valid = 0, own = 0;
			for (const char *s = inh[i].parents; s && *s;) {
				char *end;
				pv_oid p = (pv_oid)strtoul(s, &end, 10);
				if (end == s)
					break;
				s = end;
				pv_obj *o = parent_con_obj(g, inh, ninh, p, &wait, &valid);
				if (o && np < 64) {
					ps[np++] = o;
					own |= o->classid == C_PG_CONSTRAINT;
				}
			}
			if (wait)
				continue;
			relinfo *ri = inh[i].rel;
			/* (by its name: the one the restore gives it when all parents' have it) */
			int validate = inh[i].valid && !valid && np && inh[i].same_name;
			if (!own && !validate) {
				pv_graph_alias(g, C_PG_CONSTRAINT, inh[i].oid, ri->obj);
			} else {
				pv_obj *o = pv_graph_add(g, validate ? K_CHECK_LATE : K_CHECK, validate ? PV_POST : PV_PRE,
				                         C_PG_CONSTRAINT, inh[i].oid, ri->obj->schema, inh[i].name);
				if (validate) {
					char *cn = pv_ident(rd->c, inh[i].name);
					/* not ONLY: the source's children are valid too (validating recurses) */
					o->sql = pv_asprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s;", ri->qname, cn);
					free(cn);
				}
				pv_obj_dep(o, ri->obj);
				for (int k = 0; k < np; k++)
					pv_obj_dep(o, ps[k]);
			}
			inh[i].done = 1;
			left--;
			progress = 1;
		}
	}
	if (left)
		return pv_fail("reading constraints: %d inherited constraint(s) whose parents form a loop", left);
	return 0;
}

static const char CONSTRAINTS_SQL[] =
    "SELECT c.oid, c.conrelid, c.conname, c.contype, pg_catalog.pg_get_constraintdef(c.oid),"
    " c.convalidated, c.conislocal, c.conindid,"
    /* the root of a foreign key cloned onto partitions */
    " (WITH RECURSIVE up(oid, parent) AS (SELECT c.oid, c.conparentid"
    "   UNION ALL SELECT p.oid, p.conparentid FROM up JOIN pg_catalog.pg_constraint p ON p.oid = up.parent)"
    "   SELECT up.oid FROM up WHERE up.parent = 0),"
    " inh.parents, inh.same_name"
    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(relid)"
    " JOIN pg_catalog.pg_constraint c ON c.conrelid = s.relid"
    /* an inherited CHECK / NOT NULL: the parents' (a CHECK of the same name, a NOT NULL
     * on the same column, whatever its name) */
    " LEFT JOIN LATERAL (SELECT pg_catalog.string_agg(p.oid::pg_catalog.text, ' ' ORDER BY h.inhseqno),"
    "   pg_catalog.bool_and(p.conname = c.conname)"
    "   FROM pg_catalog.pg_inherits h JOIN pg_catalog.pg_constraint p ON p.conrelid = h.inhparent"
    "   AND p.contype = c.contype"
    "   WHERE h.inhrelid = c.conrelid AND NOT c.conislocal AND c.contype IN ('c', 'n')"
    "   AND CASE WHEN c.contype = 'c' THEN p.conname = c.conname"
    "     ELSE (SELECT a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = p.conrelid AND a.attnum = p.conkey[1])"
    "        = (SELECT a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = c.conkey[1]) END"
    " ) inh(parents, same_name) ON true"
    " ORDER BY c.conrelid, c.conname";

static const char INDEXES_SQL[] =
    "SELECT i.indexrelid, i.indrelid, n.nspname, ic.relname, pg_catalog.pg_get_indexdef(i.indexrelid),"
    " i.indisclustered, i.indisreplident, i.indisvalid AND i.indisready,"
    " (SELECT pg_catalog.string_agg(a.attnum || ' ' || a.attstattarget, ',') FROM pg_catalog.pg_attribute a"
    "   WHERE a.attrelid = i.indexrelid AND a.attstattarget >= 0),"
    " (SELECT h.inhparent FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.indexrelid), ic.relkind"
    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(relid)"
    " JOIN pg_catalog.pg_index i ON i.indrelid = s.relid"
    " JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
    " JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace"
    " ORDER BY i.indexrelid";

void
pvc_ahead_relobjs(reader *rd)
{
	pvc_ahead_queue(rd, CONSTRAINTS_SQL, rd->tabids.data);
	pvc_ahead_queue(rd, INDEXES_SQL, rd->tabids.data);
}

int
pvc_read_constraints(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	struct { pv_oid oid, root; } *clones = NULL;
	int nclones = 0;
	PGresult *r = pvc_query(rd, CONSTRAINTS_SQL, rd->tabids.data);
	if (!r)
		return pv_wrap("reading constraints");
	inh_con *inh = pv_calloc((size_t)PQntuples(r) + 1, sizeof *inh);
	int ninh = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		relinfo *ri = pvc_find_rel(R, pvc_oid(r, i, 1));
		if (!ri)
			continue;
		pv_oid coid = pvc_oid(r, i, 0);
		char type = pvc_val(r, i, 3)[0];
		char *cn = pv_ident(rd->c, pvc_val(r, i, 2));
		char *tq = pv_asprintf("%s ON %s", cn, ri->qname);
		pvc_target(rd, C_PG_CONSTRAINT, coid, "CONSTRAINT", tq);
		const char *def = pvc_val(r, i, 4);
		if ((type == 'c' || type == 'n') && !pvc_bool(r, i, 6)) {
			/* inherited only: the parents' constraint reaches it (resolved below) */
			inh[ninh].oid = coid;
			inh[ninh].rel = ri;
			inh[ninh].valid = pvc_bool(r, i, 5);
			inh[ninh].name = pvc_val(r, i, 2);
			inh[ninh].same_name = pvc_bool(r, i, 10);
			inh[ninh++].parents = pvc_val(r, i, 9);
		} else if (type == 'n' && pvc_bool(r, i, 5)) {
			/* 18+: a valid NOT NULL is made with its column (read_columns) */
			pv_graph_alias(g, C_PG_CONSTRAINT, coid, ri->obj);
		} else if (type == 'n') {
			/* 18+: NOT VALID, after the data (rows may be NULL); not ONLY, so that it
			 * reaches the children as in the source */
			pv_obj *o = pv_graph_add(g, K_CHECK_LATE, PV_POST, C_PG_CONSTRAINT, coid,
			                         ri->obj->schema, pvc_val(r, i, 2));
			o->sql = pv_asprintf("ALTER TABLE %s ADD CONSTRAINT %s %s;", ri->qname, cn, def);
			pv_obj_dep(o, ri->obj);
		} else if (type == 'f' && pvc_oid(r, i, 8) != coid) {
			/* a foreign key cloned from a partitioned table's (or onto the partitions of a
			 * referenced partitioned table): the root one creates it */
			clones = pv_realloc(clones, (size_t)(nclones + 1) * sizeof *clones);
			clones[nclones].oid = coid;
			clones[nclones++].root = pvc_oid(r, i, 8);
		} else if (type == 'c' || type == 'p' || type == 'u' || type == 'x' || type == 'f') {
			/* A validated CHECK is added right after its table, before the data: a separate
			 * statement (rather than inline) so that a CHECK calling a function that takes
			 * the table's row type is no dependency loop.  NOT VALID ones come after the
			 * data, so that rows violating them still load. */
			int pre = type == 'c' && pvc_bool(r, i, 5);
			pv_kind k = type == 'f' ? K_FK : pre ? K_CHECK : type == 'c' ? K_CHECK_LATE : K_CONSTRAINT;
			pv_obj *o = pv_graph_add(g, k, pre ? PV_PRE : PV_POST, C_PG_CONSTRAINT, coid,
			                         ri->obj->schema, pvc_val(r, i, 2));
			o->sql = pv_asprintf("ALTER TABLE %s%s ADD CONSTRAINT %s %s;",
			                     type == 'c' || (type == 'f' && ri->kind == 'p') ? "" : "ONLY ",
			                     ri->qname, cn, def);
			pv_obj_dep(o, ri->obj);
			if (type != 'c' && type != 'f')
				pv_graph_alias(g, C_PG_CLASS, pvc_oid(r, i, 7), o);
		}
		/* 't' constraint triggers are created by their trigger */
		free(cn);
		free(tq);
	}
	int rc = resolve_inherited(rd, inh, ninh);
	free(inh);
	PQclear(r);
	if (rc)
		return rc;
	for (int i = 0; i < nclones; i++) {
		pv_obj *root = pv_graph_lookup(g, C_PG_CONSTRAINT, clones[i].root);
		if (root)
			pv_graph_alias(g, C_PG_CONSTRAINT, clones[i].oid, root);
	}
	free(clones);
	return 0;
}

int
pvc_read_indexes(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd, INDEXES_SQL, rd->tabids.data);
	if (!r)
		return pv_wrap("reading indexes");
	int nidx = PQntuples(r);
	struct { pv_oid oid, parent; char *qname, *name; relinfo *rel; } *ix = pv_calloc((size_t)nidx + 1, sizeof *ix);
	for (int i = 0; i < nidx; i++) {
		relinfo *ri = pvc_find_rel(R, pvc_oid(r, i, 1));
		if (!ri)
			continue;
		pv_oid ioid = pvc_oid(r, i, 0);
		char *iq = pv_qualify(rd->c, pvc_val(r, i, 2), pvc_val(r, i, 3));
		ix[i].oid = ioid;
		ix[i].parent = pvc_oid(r, i, 9);
		ix[i].qname = pv_strdup(iq);
		ix[i].name = pv_strdup(pvc_val(r, i, 3));
		ix[i].rel = ri;
		pvc_target(rd, C_PG_CLASS, ioid, "INDEX", iq);
		pv_obj *owner = pv_graph_lookup(g, C_PG_CLASS, ioid); /* a constraint's index */
		pv_buf extra = PV_BUF_INIT;
		char *in = pv_ident(rd->c, pvc_val(r, i, 3)); /* unqualified: the table's schema */
		if (pvc_bool(r, i, 5))
			pv_buf_printf(&extra, "\nALTER TABLE %s CLUSTER ON %s;", ri->qname, in);
		if (pvc_bool(r, i, 6))
			pv_buf_printf(&extra, "\nALTER TABLE ONLY %s REPLICA IDENTITY USING INDEX %s;",
			              ri->qname, in);
		free(in);
		if (pvc_val(r, i, 8)) {
			const char *p = pvc_val(r, i, 8);
			while (*p) {
				int num, st, used = 0;
				if (sscanf(p, "%d %d%n", &num, &st, &used) != 2)
					break;
				pv_buf_printf(&extra, "\nALTER INDEX %s ALTER COLUMN %d SET STATISTICS %d;", iq, num, st);
				p += used;
				if (*p == ',')
					p++;
			}
		}
		if (owner) {
			if (extra.len) {
				char *s = pv_asprintf("%s%s", owner->sql, extra.data);
				free(owner->sql);
				owner->sql = s;
			}
		} else if (!pvc_bool(r, i, 7) && pvc_val(r, i, 10)[0] != 'I') {
			/* (a partitioned index is invalid until every partition has its index) */
			pv_warn("skipping invalid index %s (left over from a failed CREATE INDEX CONCURRENTLY?)", iq);
			char *w = pv_asprintf("skipped invalid index %s", iq);
			(void)pvj_append_str(rd->cat->warnings, w); /* a string into an array: cannot fail */
			free(w);
		} else {
			pv_obj *o = pv_graph_add(g, K_INDEX, PV_POST, C_PG_CLASS, ioid, pvc_val(r, i, 2), pvc_val(r, i, 3));
			o->sql = pv_asprintf("%s;%s", pvc_val(r, i, 4), extra.len ? extra.data : "");
			o->share_lock = !extra.len; /* CLUSTER ON, REPLICA IDENTITY lock more */
			pv_obj_dep(o, ri->obj);
		}
		pv_buf_free(&extra);
		free(iq);
	}
	PQclear(r);
	/* a partition's index is attached to its parent's partitioned index */
	for (int i = 0; i < nidx; i++) {
		if (!ix[i].parent)
			continue;
		pv_obj *child = pv_graph_lookup(g, C_PG_CLASS, ix[i].oid);
		pv_obj *parent = pv_graph_lookup(g, C_PG_CLASS, ix[i].parent);
		const char *pq = NULL;
		relinfo *prel = NULL;
		for (int j = 0; j < nidx; j++)
			if (ix[j].oid == ix[i].parent) {
				pq = ix[j].qname;
				prel = ix[j].rel;
			}
		if (!child || !parent || !pq)
			continue;
		pv_obj *at = pv_graph_add(g, K_INDEX_ATTACH, PV_POST, 0, 0, child->schema, ix[i].name);
		at->sql = pv_asprintf("ALTER INDEX %s ATTACH PARTITION %s;", pq, ix[i].qname);
		pv_obj_dep(at, child);
		pv_obj_dep(at, parent);
		pv_obj_dep(at, ix[i].rel->obj);
		if (prel)
			pv_obj_dep(at, prel->obj);
	}
	for (int i = 0; i < nidx; i++) {
		free(ix[i].qname);
		free(ix[i].name);
	}
	free(ix);
	return 0;
}


/* ALTER TABLE ... ENABLE/DISABLE TRIGGER on a partitioned table reaches its partitions'
 * clones too: a clone's own state (state[i], for its root trigger and relation) is set after
 * that of its nearest partitioned ancestor that has one, or a parallel restore could undo
 * it.  The states are few: the pairs are compared directly. */
typedef struct clone_state {
	pv_oid root, rel; /* the root trigger, the clone's relation */
	pv_obj *o;        /* the ALTER TABLE ... TRIGGER setting its state */
} clone_state;

static void
order_clone_states(rels *R, clone_state *state, int n)
{
	for (int i = 0; i < n; i++) {
		relinfo *ri = pvc_find_rel(R, state[i].rel);
		int found = 0;
		while (!found && ri && ri->ispartition && ri->nparents == 1) {
			pv_oid up = ri->parents[0];
			for (int j = 0; j < n && !found; j++)
				if (j != i && state[j].root == state[i].root && state[j].rel == up) {
					pv_obj_dep(state[i].o, state[j].o);
					found = 1;
				}
			ri = pvc_find_rel(R, up);
		}
	}
}

int
pvc_read_triggers(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	/* 13+: triggers cloned onto partitions point at their parent trigger (in 12 clones are
	 * internal triggers) */
	char *sql = pv_asprintf(
	    "SELECT t.oid, t.tgrelid, t.tgname, pg_catalog.pg_get_triggerdef(t.oid, false), t.tgenabled,"
	    " t.tgconstraint, root.oid, root.en"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(relid)"
	    " JOIN pg_catalog.pg_trigger t ON t.tgrelid = s.relid"
	    " LEFT JOIN LATERAL (%s) root ON true"
	    " WHERE NOT t.tgisinternal ORDER BY t.oid",
	    rd->v >= 130000
	        ? "WITH RECURSIVE up(oid, parent, en) AS (SELECT t.oid, t.tgparentid, t.tgenabled"
	          "  UNION ALL SELECT p.oid, p.tgparentid, p.tgenabled FROM up JOIN pg_catalog.pg_trigger p ON p.oid = up.parent)"
	          "  SELECT up.oid, up.en FROM up WHERE up.parent = 0"
	        : "SELECT NULL::pg_catalog.oid AS oid, NULL::pg_catalog.\"char\" AS en");
	PGresult *r = pvc_query(rd, sql, rd->relids.data);
	free(sql);
	if (!r)
		return pv_wrap("reading triggers");
	/* the clones' own enabled states, to order them down the partition tree */
	clone_state *state = pv_calloc((size_t)PQntuples(r) + 1, sizeof *state);
	int nstate = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		relinfo *ri = pvc_find_rel(R, pvc_oid(r, i, 1));
		if (!ri)
			continue;
		pv_oid root = pvc_oid(r, i, 6);
		if (root && root != pvc_oid(r, i, 0)) {
			/* a clone: created by its root; only a different enabled state is its own */
			pv_obj *ro = pv_graph_lookup(g, C_PG_TRIGGER, root);
			char ren = pvc_val(r, i, 7)[0];
			const char *en = pvc_val(r, i, 4);
			if (ro) {
				pv_graph_alias(g, C_PG_TRIGGER, pvc_oid(r, i, 0), ro);
				if (en[0] != ren) {
					char *tn = pv_ident(rd->c, pvc_val(r, i, 2));
					pv_obj *o = pv_graph_add(g, K_TRIGGER, PV_POST, 0, 0, ri->obj->schema, pvc_val(r, i, 2));
					o->sql = pv_asprintf("ALTER TABLE %s %s TRIGGER %s;", ri->qname,
					                     en[0] == 'D' ? "DISABLE" : en[0] == 'R' ? "ENABLE REPLICA"
					                     : en[0] == 'A' ? "ENABLE ALWAYS" : "ENABLE", tn);
					pv_obj_dep(o, ro);
					state[nstate].root = root;
					state[nstate].rel = ri->oid;
					state[nstate++].o = o;
					free(tn);
				}
			}
			continue;
		}
		char *tn = pv_ident(rd->c, pvc_val(r, i, 2));
		char *tq = pv_asprintf("%s ON %s", tn, ri->qname);
		pv_obj *o = pv_graph_add(g, K_TRIGGER, PV_POST, C_PG_TRIGGER, pvc_oid(r, i, 0),
		                         ri->obj->schema, pvc_val(r, i, 2));
		pvc_target(rd, C_PG_TRIGGER, o->oid, "TRIGGER", tq);
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "%s;", pvc_val(r, i, 3));
		const char *en = pvc_val(r, i, 4);
		const char *tbl = ri->kind == 'v' ? "VIEW" : "TABLE";
		if (en[0] == 'D')
			pv_buf_printf(&b, "\nALTER %s %s DISABLE TRIGGER %s;", tbl, ri->qname, tn);
		else if (en[0] == 'R')
			pv_buf_printf(&b, "\nALTER %s %s ENABLE REPLICA TRIGGER %s;", tbl, ri->qname, tn);
		else if (en[0] == 'A')
			pv_buf_printf(&b, "\nALTER %s %s ENABLE ALWAYS TRIGGER %s;", tbl, ri->qname, tn);
		o->sql = pv_buf_detach(&b);
		pv_obj_dep(o, ri->obj);
		if (pvc_oid(r, i, 5))
			pv_graph_alias(g, C_PG_CONSTRAINT, pvc_oid(r, i, 5), o);
		free(tn);
		free(tq);
	}
	PQclear(r);
	order_clone_states(R, state, nstate);
	free(state);
	return 0;
}

int
pvc_read_policies(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT p.oid, p.polrelid, p.polname, p.polcmd, p.polpermissive,"
	    " CASE WHEN p.polroles = '{0}' THEN NULL ELSE ARRAY(SELECT pg_catalog.pg_get_userbyid(u.r)"
	    "   FROM pg_catalog.unnest(p.polroles) WITH ORDINALITY u(r, n) ORDER BY u.n) END,"
	    " pg_catalog.pg_get_expr(p.polqual, p.polrelid), pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(relid)"
	    " JOIN pg_catalog.pg_policy p ON p.polrelid = s.relid ORDER BY p.polrelid, p.polname", rd->tabids.data);
	if (!r)
		return pv_wrap("reading row-level security policies");
	for (int i = 0; i < PQntuples(r); i++) {
		relinfo *ri = pvc_find_rel(R, pvc_oid(r, i, 1));
		if (!ri)
			continue;
		char *pn = pv_ident(rd->c, pvc_val(r, i, 2));
		char *tq = pv_asprintf("%s ON %s", pn, ri->qname);
		pv_obj *o = pv_graph_add(g, K_POLICY, PV_POST, 0, pvc_oid(r, i, 0), ri->obj->schema, pvc_val(r, i, 2));
		pv_graph_alias(g, 3256u /* pg_policy */, o->oid, o);
		pvc_target(rd, 3256u, o->oid, "POLICY", tq);
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE POLICY %s", tq);
		if (!pvc_bool(r, i, 4))
			pv_buf_puts(&b, " AS RESTRICTIVE");
		switch (pvc_val(r, i, 3)[0]) {
		case 'r': pv_buf_puts(&b, " FOR SELECT"); break;
		case 'a': pv_buf_puts(&b, " FOR INSERT"); break;
		case 'w': pv_buf_puts(&b, " FOR UPDATE"); break;
		case 'd': pv_buf_puts(&b, " FOR DELETE"); break;
		default: break;
		}
		if (pvc_val(r, i, 5)) {
			/* {a,b}: role names, parsed as a text[] by the server */
			PGresult *names = pvc_query(rd, "SELECT pg_catalog.unnest($1::text[])", pvc_val(r, i, 5));
			if (!names) {
				pv_buf_free(&b);
				free(pn);
				free(tq);
				PQclear(r);
				return pv_wrap("reading policy roles");
			}
			pv_buf_puts(&b, " TO ");
			for (int k = 0; k < PQntuples(names); k++) {
				if (k)
					pv_buf_puts(&b, ", ");
				pv_buf_ident(&b, rd->c, PQgetvalue(names, k, 0));
				pvc_role(rd, PQgetvalue(names, k, 0));
			}
			PQclear(names);
		}
		if (pvc_val(r, i, 6))
			pv_buf_printf(&b, " USING (%s)", pvc_val(r, i, 6));
		if (pvc_val(r, i, 7))
			pv_buf_printf(&b, " WITH CHECK (%s)", pvc_val(r, i, 7));
		pv_buf_puts(&b, ";");
		o->sql = pv_buf_detach(&b);
		pv_obj_dep(o, ri->obj);
		free(pn);
		free(tq);
	}
	PQclear(r);
	return 0;
}

int
pvc_read_rules(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT w.oid, w.ev_class, w.rulename, pg_catalog.pg_get_ruledef(w.oid), w.ev_enabled"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(relid)"
	    " JOIN pg_catalog.pg_rewrite w ON w.ev_class = s.relid WHERE w.rulename <> '_RETURN'"
	    " ORDER BY w.ev_class, w.rulename", rd->relids.data);
	if (!r)
		return pv_wrap("reading rules");
	for (int i = 0; i < PQntuples(r); i++) {
		relinfo *ri = pvc_find_rel(R, pvc_oid(r, i, 1));
		if (!ri)
			continue;
		char *rn = pv_ident(rd->c, pvc_val(r, i, 2));
		char *tq = pv_asprintf("%s ON %s", rn, ri->qname);
		pv_obj *o = pv_graph_add(g, K_RULE, PV_POST, C_PG_REWRITE, pvc_oid(r, i, 0), ri->obj->schema,
		                         pvc_val(r, i, 2));
		pvc_target(rd, C_PG_REWRITE, o->oid, "RULE", tq);
		pv_buf b = PV_BUF_INIT;
		pv_buf_puts(&b, pvc_val(r, i, 3));
		const char *en = pvc_val(r, i, 4);
		const char *tbl = ri->kind == 'v' ? "VIEW" : "TABLE";
		if (en[0] == 'D')
			pv_buf_printf(&b, "\nALTER %s %s DISABLE RULE %s;", tbl, ri->qname, rn);
		else if (en[0] == 'R')
			pv_buf_printf(&b, "\nALTER %s %s ENABLE REPLICA RULE %s;", tbl, ri->qname, rn);
		else if (en[0] == 'A')
			pv_buf_printf(&b, "\nALTER %s %s ENABLE ALWAYS RULE %s;", tbl, ri->qname, rn);
		o->sql = pv_buf_detach(&b);
		pv_obj_dep(o, ri->obj);
		free(rn);
		free(tq);
	}
	PQclear(r);
	return 0;
}

int
pvc_read_views(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT c.oid, pg_catalog.pg_get_viewdef(c.oid),"
	    " (SELECT r.oid FROM pg_catalog.pg_rewrite r WHERE r.ev_class = c.oid AND r.rulename = '_RETURN')"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(relid)"
	    " JOIN pg_catalog.pg_class c ON c.oid = s.relid WHERE c.relkind IN ('v', 'm')", rd->relids.data);
	if (!r)
		return pv_wrap("reading view definitions");
	for (int i = 0; i < PQntuples(r); i++) {
		relinfo *ri = pvc_find_rel(R, pvc_oid(r, i, 0));
		if (!ri)
			continue;
		pv_graph_alias(g, C_PG_REWRITE, pvc_oid(r, i, 2), ri->obj);
		const char *def = pvc_val(r, i, 1);
		size_t n = strlen(def);
		while (n > 0 && (def[n - 1] == ';' || def[n - 1] == '\n' || def[n - 1] == ' '))
			n--;
		pv_buf b = PV_BUF_INIT;
		pv_buf_printf(&b, "CREATE %s %s", ri->kind == 'v' ? "VIEW" : "MATERIALIZED VIEW", ri->qname);
		if (ri->using_am)
			pv_buf_puts(&b, ri->using_am);
		if (ri->withopts)
			pv_buf_printf(&b, " %s", ri->withopts);
		pv_buf_printf(&b, " AS\n%.*s", (int)n, def);
		if (ri->check_option)
			pv_buf_printf(&b, "\n  WITH %s CHECK OPTION", strcmp(ri->check_option, "local") == 0
			                                                   ? "LOCAL" : "CASCADED");
		pv_buf_puts(&b, ri->kind == 'm' ? "\n  WITH NO DATA;" : ";");
		pv_buf_puts(&b, ri->extra.len ? ri->extra.data : "");
		ri->obj->sql = pv_buf_detach(&b);
		if (ri->kind == 'v') {
			/* for a loop through its query (cat_loops.c): a dummy body, the real one later */
			pv_buf_printf(&b, "CREATE VIEW %s%s%s AS\nSELECT%s;%s", ri->qname, ri->withopts ? " " : "",
			              ri->withopts ? ri->withopts : "", ri->dummy.len ? ri->dummy.data : "",
			              ri->extra.len ? ri->extra.data : "");
			char *dummy = pv_buf_detach(&b);
			pv_buf_printf(&b, "CREATE OR REPLACE VIEW %s%s%s AS\n%.*s", ri->qname, ri->withopts ? " " : "",
			              ri->withopts ? ri->withopts : "", (int)n, def);
			if (ri->check_option)
				pv_buf_printf(&b, "\n  WITH %s CHECK OPTION", strcmp(ri->check_option, "local") == 0
				                                                   ? "LOCAL" : "CASCADED");
			pv_buf_putc(&b, ';');
			pvc_loops_view(ri->obj, pvc_oid(r, i, 2), dummy, b.data);
			pv_buf_free(&b);
			free(dummy);
		}
		if (ri->kind == 'm' && ri->populated) {
			pv_obj *f = pv_graph_add(g, K_REFRESH, PV_POST, 0, 0, ri->obj->schema, ri->obj->name);
			f->sql = pv_asprintf("REFRESH MATERIALIZED VIEW %s;", ri->qname);
			f->late = PV_LATE_AFTER_ACL;
			pv_obj_dep(f, ri->obj);
		}
	}
	PQclear(r);
	return 0;
}

