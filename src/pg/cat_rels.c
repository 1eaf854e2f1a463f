/*
 * pg/cat_rels.c — catalog readers of relations: tables, views, materialized views,
 * sequences and composite types, their columns, NOT NULL, identity, generated columns,
 * defaults, storage options, and sequence values (see cat_rel.h).
 */
#include "pg/catalog_int.h"
#include "pg/cat_rel.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "schema/model.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"


/* ---- relations ------------------------------------------------------------------------ */


/* columns of composite types: filled by pvc_read_columns() below, found by the composite's relid */
static pv_obj *
find_composite(reader *rd, pv_oid relid)
{
	pv_obj *o = pv_graph_lookup(rd->cat->g, C_PG_CLASS, relid);
	return o && o->kind == K_TYPE ? o : NULL;
}

relinfo *
pvc_find_rel(rels *R, pv_oid oid)
{
	int lo = 0, hi = R->n - 1;
	while (lo <= hi) {
		int m = (lo + hi) / 2;
		if (R->v[m].oid == oid)
			return &R->v[m];
		if (R->v[m].oid < oid)
			lo = m + 1;
		else
			hi = m - 1;
	}
	return NULL;
}

/* Appends "k='v'" items (each key prefixed by `prefix`) from a reloptions text[] value to
 * items; check_option is taken out for views.  0, or -1 with the error set. */
static int
reloptions(reader *rd, const char *arr, const char *prefix, pv_buf *items, char **check_option)
{
	if (!arr || strcmp(arr, "{}") == 0)
		return 0;
	PGresult *r = pvc_query(rd, "SELECT pg_catalog.split_part(o, '=', 1), pg_catalog.substr(o, pg_catalog.strpos(o, '=') + 1)"
	                     " FROM pg_catalog.unnest($1::pg_catalog.text[]) o", arr);
	if (!r)
		return pv_wrap("reading storage parameters");
	for (int i = 0; i < PQntuples(r); i++) {
		const char *k = pvc_val(r, i, 0), *v = pvc_val(r, i, 1);
		if (check_option && strcmp(k, "check_option") == 0) {
			*check_option = pv_strdup(v);
			continue;
		}
		pv_buf_printf(items, "%s%s%s=", items->len ? ", " : "", prefix, k);
		pv_buf_literal(items, rd->c, v);
	}
	PQclear(r);
	return 0;
}

/* After the locks: how each table is built — inheritance parents, partition bounds and
 * keys, the type of a typed table, the server of a foreign table. */
static int
read_table_shapes(reader *rd, rels *R)
{
	PGresult *r = pvc_query(rd,
	    "SELECT c.oid, CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END,"
	    " CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END,"
	    " CASE WHEN c.reloftype <> 0 THEN pg_catalog.format_type(c.reloftype, NULL) END,"
	    " (SELECT pg_catalog.array_agg(i.inhparent ORDER BY i.inhseqno) FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid),"
	    " (SELECT pg_catalog.quote_ident(s.srvname) FROM pg_catalog.pg_foreign_table f"
	    "   JOIN pg_catalog.pg_foreign_server s ON s.oid = f.ftserver WHERE f.ftrelid = c.oid),"
	    " (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(o.option_name) || ' ' || pg_catalog.quote_literal(o.option_value), ', ')"
	    "   FROM pg_catalog.pg_foreign_table f, pg_catalog.pg_options_to_table(f.ftoptions) o WHERE f.ftrelid = c.oid),"
	    " EXISTS (SELECT 1 FROM pg_catalog.pg_partitioned_table pt, pg_catalog.unnest(pt.partclass) pc(oid), pg_catalog.pg_opclass oc"
	    "   WHERE pt.partrelid = c.oid AND pt.partstrat = 'h' AND oc.oid = pc.oid AND oc.opcname = 'enum_ops')"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(oid) JOIN pg_catalog.pg_class c ON c.oid = s.oid"
	    " WHERE c.relkind IN ('r', 'p', 'f')", rd->tabids.data);
	if (!r)
		return pv_wrap("reading table inheritance and partitioning");
	for (int i = 0; i < PQntuples(r); i++) {
		relinfo *ri = pvc_find_rel(R, pvc_oid(r, i, 0));
		if (!ri)
			continue;
		ri->partbound = pvc_val(r, i, 1) ? pv_strdup(pvc_val(r, i, 1)) : NULL;
		ri->partkey = pvc_val(r, i, 2) ? pv_strdup(pvc_val(r, i, 2)) : NULL;
		ri->oftype = pvc_val(r, i, 3) ? pv_strdup(pvc_val(r, i, 3)) : NULL;
		ri->hash_enum = pvc_bool(r, i, 7);
		if (pvc_val(r, i, 5))
			ri->server = pvc_val(r, i, 6) ? pv_asprintf("SERVER %s OPTIONS (%s)", pvc_val(r, i, 5), pvc_val(r, i, 6))
			                              : pv_asprintf("SERVER %s", pvc_val(r, i, 5));
		const char *p = pvc_val(r, i, 4); /* {1,2} */
		if (p) {
			ri->parents = pv_calloc(strlen(p), sizeof *ri->parents);
			for (p++; *p && *p != '}';) {
				char *end;
				ri->parents[ri->nparents++] = (pv_oid)strtoul(p, &end, 10);
				p = *end == ',' ? end + 1 : end;
			}
		}
	}
	PQclear(r);
	return 0;
}

int
pvc_read_relations(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpersistence,"
	    " pg_catalog.pg_get_userbyid(c.relowner), c.reloptions, tc.reloptions, c.reltype,"
	    " c.relreplident, c.relispopulated, d.refobjid, d.refobjsubid, d.deptype,"
	    " c.relrowsecurity, c.relforcerowsecurity, c.relispartition,"
	    " (SELECT a.amname FROM pg_catalog.pg_am a WHERE a.oid = c.relam AND c.relkind IN ('r', 'm', 'p') AND a.amname <> 'heap')"
	    " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	    " LEFT JOIN pg_catalog.pg_class tc ON tc.oid = c.reltoastrelid"
	    " LEFT JOIN pg_catalog.pg_depend d ON c.relkind = 'S'"
	    "   AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.objsubid = 0"
	    "   AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i')"
	    " WHERE c.relkind IN ('r', 'v', 'm', 'S', 'p', 'f') AND c.oid >= 16384"
	    " AND n.nspname NOT LIKE 'pg\\_%' AND" NOT_EXT("pg_class", "c")
	    " ORDER BY c.oid", NULL);
	if (!r)
		return pv_wrap("reading relations");
	R->n = PQntuples(r);
	R->v = pv_calloc(R->n, sizeof *R->v);
	pv_buf lock = PV_BUF_INIT;
	int nlock = 0;
	for (int i = 0; i < R->n; i++) {
		relinfo *ri = &R->v[i];
		ri->oid = pvc_oid(r, i, 0);
		ri->kind = pvc_val(r, i, 3)[0];
		ri->persistence = pvc_val(r, i, 4)[0];
		ri->qname = pv_qualify(rd->c, pvc_val(r, i, 1), pvc_val(r, i, 2));
		ri->populated = pvc_bool(r, i, 10);
		ri->copycols = json_array();
		ri->colnames = json_array();
		ri->colinfo = json_array();
		ri->lcols = json_array();
		ri->generated = json_object();
		ri->ispartition = pvc_bool(r, i, 16);
		if (pvc_val(r, i, 17)) {
			char *am = pv_ident(rd->c, pvc_val(r, i, 17));
			ri->using_am = pv_asprintf(" USING %s", am);
			free(am);
		}
		int table = IS_TABLE(ri->kind);
		pv_kind k = table ? K_TABLE : ri->kind == 'v' ? K_VIEW
		            : ri->kind == 'm' ? K_MATVIEW : K_SEQUENCE;
		const char *kw = ri->kind == 'f' ? "FOREIGN TABLE" : table ? "TABLE"
		                 : ri->kind == 'v' ? "VIEW" : ri->kind == 'm' ? "MATERIALIZED VIEW" : "SEQUENCE";
		pv_obj *o = pv_graph_add(g, k, PV_PRE, C_PG_CLASS, ri->oid, pvc_val(r, i, 1), pvc_val(r, i, 2));
		ri->obj = o;
		pvc_target(rd, C_PG_CLASS, ri->oid, kw, ri->qname);
		pv_graph_alias(g, C_PG_TYPE, pvc_oid(r, i, 8), o); /* row type */
		o->acl_target = pv_asprintf("%s %s", ri->kind == 'S' ? "SEQUENCE" : "TABLE", ri->qname);
		if (ri->kind == 'S') {
			ri->seq_owner_table = pvc_oid(r, i, 11);
			ri->seq_owner_col = pvc_val(r, i, 12) ? atoi(pvc_val(r, i, 12)) : 0;
			ri->seq_deptype = pvc_val(r, i, 13) ? pvc_val(r, i, 13)[0] : 0;
		}
		if (ri->seq_deptype != 'i')
			pvc_owner(rd, o, pvc_val(r, i, 5), kw, ri->qname);
		pvc_oids_add(&rd->relids, ri->oid);
		if (table || ri->kind == 'm')
			pvc_oids_add(&rd->tabids, ri->oid);
		if (ri->kind == 'r' || ri->kind == 'p' || ri->kind == 'm' || ri->kind == 'v') {
			char **co = ri->kind == 'v' ? &ri->check_option : NULL;
			pv_buf items = PV_BUF_INIT;
			if (reloptions(rd, pvc_val(r, i, 6), "", &items, co) < 0 ||
			    reloptions(rd, pvc_val(r, i, 7), "toast.", &items, NULL) < 0) {
				pv_buf_free(&items);
				pv_buf_free(&lock);
				PQclear(r);
				return pv_wrap("reading relation %s", ri->qname);
			}
			if (items.len)
				ri->withopts = pv_asprintf("WITH (%s)", items.data);
			pv_buf_free(&items);
		}
		if (ri->kind == 'r' || ri->kind == 'p') {
			const char *ri_kind = pvc_val(r, i, 9);
			if (ri_kind[0] == 'f')
				pv_buf_printf(&ri->extra, "\nALTER TABLE ONLY %s REPLICA IDENTITY FULL;", ri->qname);
			else if (ri_kind[0] == 'n')
				pv_buf_printf(&ri->extra, "\nALTER TABLE ONLY %s REPLICA IDENTITY NOTHING;", ri->qname);
		}
		if (table && (pvc_bool(r, i, 14) || pvc_bool(r, i, 15))) {
			/* row security is switched on after the data is in */
			pv_obj *f = pv_graph_add(g, K_RLS, PV_POST, 0, 0, o->schema, o->name);
			pv_buf b = PV_BUF_INIT;
			if (pvc_bool(r, i, 14))
				pv_buf_printf(&b, "ALTER TABLE %s ENABLE ROW LEVEL SECURITY;\n", ri->qname);
			if (pvc_bool(r, i, 15))
				pv_buf_printf(&b, "ALTER TABLE %s FORCE ROW LEVEL SECURITY;\n", ri->qname);
			f->sql = pv_buf_detach(&b);
			pv_obj_dep(f, o);
		}
		if (ri->kind == 'r' || ri->kind == 'p') { /* (foreign tables cannot be locked) */
			pv_buf_printf(&lock, "%s%s", nlock ? ", " : "LOCK TABLE ONLY ", ri->qname);
			if (++nlock == 1000) { /* a statement per 1,000 tables */
				pv_buf_puts(&lock, " IN ACCESS SHARE MODE");
				if (pv_exec(rd->c, lock.data) < 0) {
					pv_buf_free(&lock);
					PQclear(r);
					return pv_wrap("locking tables");
				}
				pv_buf_reset(&lock);
				nlock = 0;
			}
		}
	}
	PQclear(r);
	if (nlock) {
		pv_buf_puts(&lock, " IN ACCESS SHARE MODE");
		if (pv_exec(rd->c, lock.data) < 0) {
			pv_buf_free(&lock);
			return pv_wrap("locking tables");
		}
	}
	pv_buf_free(&lock);
	pvc_oids(&rd->relids);
	pvc_oids(&rd->tabids);
	return read_table_shapes(rd, R);
}

/* The sequence of an identity column (read by read_sequences), or NULL. */
static const relinfo *
identity_sequence(const rels *R, pv_oid table, int attnum)
{
	for (int k = 0; k < R->n; k++) {
		const relinfo *si = &R->v[k];
		if (si->kind == 'S' && si->seq_deptype == 'i' && si->seq_owner_table == table &&
		    si->seq_owner_col == attnum && si->obj->extra)
			return si;
	}
	return NULL;
}

/* Column r,i (read_columns) of ri has a valid NOT NULL: its clause in a column definition.
 * 18+: named when the name is not the default <table>_<column>_not_null (as pg_dump). */
static char *
notnull_clause(reader *rd, relinfo *ri, PGresult *r, int i)
{
	const char *name = pvc_val(r, i, 20);
	const char *noinh = pvc_bool(r, i, 21) ? " NO INHERIT" : "";
	if (!name)
		return pv_strdup(" NOT NULL");
	char *dflt = pv_asprintf("%s_%s_not_null", ri->obj->name, pvc_val(r, i, 2));
	int is_default = strcmp(dflt, name) == 0;
	free(dflt);
	if (is_default)
		return pv_asprintf(" NOT NULL%s", noinh);
	char *qn = pv_ident(rd->c, name);
	char *s = pv_asprintf(" CONSTRAINT %s NOT NULL%s", qn, noinh);
	free(qn);
	return s;
}

/* The same NOT NULL added to a column that came from the parents (an inherited one of 18+
 * with the same name is then marked local, as in the source). */
static char *
notnull_alter(reader *rd, relinfo *ri, PGresult *r, int i, const char *qcol)
{
	const char *name = pvc_val(r, i, 20);
	char *dflt = name ? pv_asprintf("%s_%s_not_null", ri->obj->name, pvc_val(r, i, 2)) : NULL;
	int plain = !name || (strcmp(dflt, name) == 0 && !pvc_bool(r, i, 21));
	free(dflt);
	if (plain)
		return pv_asprintf("\nALTER TABLE ONLY %s ALTER COLUMN %s SET NOT NULL;", ri->qname, qcol);
	char *qn = pv_ident(rd->c, name);
	char *s = pv_asprintf("\nALTER TABLE ONLY %s ADD CONSTRAINT %s NOT NULL %s%s;", ri->qname, qn,
	                      qcol, pvc_bool(r, i, 21) ? " NO INHERIT" : "");
	free(qn);
	return s;
}

/* b->data from start, without the spans [g0, g1) and [n0, n1) (n0 >= g1) */
static char *
col_text(const pv_buf *b, size_t start, size_t g0, size_t g1, size_t n0, size_t n1)
{
	pv_buf t = PV_BUF_INIT;
	if (g1 > g0) {
		pv_buf_add(&t, b->data + start, g0 - start);
		start = g1;
	}
	pv_buf_add(&t, b->data + start, n0 - start);
	pv_buf_puts(&t, b->data + n1);
	return pv_buf_detach(&t);
}

/* A column a table has only from its parents: what CREATE TABLE ... INHERITS must then undo
 * or add (into inh_sql: a dropped default, its own NOT NULL; 18+: a named NOT NULL as a table
 * constraint of it). */
static void
inherited_column(reader *rd, relinfo *ri, PGresult *r, int i, const char *col, const char *gen,
                 int nn_local, const char *nn_sql, pv_buf *inh_sql)
{
	/* inherited only: comes from the parents then, with their default and
	 * NOT NULL unless the child differs */
	if (!pvc_bool(r, i, 17) && !(gen && gen[0]))
		pv_buf_printf(inh_sql, "\nALTER TABLE ONLY %s ALTER COLUMN %s DROP DEFAULT;",
		              ri->qname, col);
	size_t before_nn = inh_sql->len;
	if (nn_local)
		pv_buf_puts(inh_sql, nn_sql);
	/* 18+: a named one is a table constraint of CREATE TABLE ... INHERITS, which
	 * merges it with the parents' under its own name (added after, it would be
	 * a second NOT NULL on the column); a replayed column only has the ALTER */
	if (nn_local && pvc_val(r, i, 20)) {
		char *qn = pv_ident(rd->c, pvc_val(r, i, 20));
		pv_buf_printf(&ri->inh_items, ",\n    CONSTRAINT %s NOT NULL %s%s", qn, col,
		              pvc_bool(r, i, 21) ? " NO INHERIT" : "");
		free(qn);
		if (before_nn)
			pv_buf_add(&ri->inh_extra, inh_sql->data, before_nn);
	} else
		pv_buf_puts(&ri->inh_extra, inh_sql->len ? inh_sql->data : "");
}

/* One column of a table: its text in CREATE TABLE (generated, identity, NOT NULL), its
 * local form for CREATE TABLE ... INHERITS, and what the inheritance replay needs to know
 * of it (ri->colinfo).  0, or nonzero when a JSON value could not be stored. */
static int
table_column(reader *rd, rels *R, relinfo *ri, PGresult *r, int i, pv_buf *b, size_t start,
             const char *col, const char *name)
{
	int bad = 0;
	const char *gen = pvc_val(r, i, 6);
	size_t gstart = b->len;
	if (gen && (gen[0] == 's' || gen[0] == 'v')) /* 18+: virtual */
		pv_buf_printf(b, " GENERATED ALWAYS AS (%s) %s", pvc_val(r, i, 15),
		              gen[0] == 's' ? "STORED" : "VIRTUAL");
	size_t gend = b->len;
	const char *ident = pvc_val(r, i, 5);
	const relinfo *si = ident && ident[0] ? identity_sequence(R, ri->oid, atoi(pvc_val(r, i, 1))) : NULL;
	/* 17+: a partition's identity column without a sequence of its own is the
	 * partitioned table's, which ATTACH PARTITION gives it (and refuses one made
	 * before) */
	if (ri->ispartition && !si && rd->v >= 170000)
		ident = NULL;
	if (ident && (ident[0] == 'a' || ident[0] == 'd')) {
		pv_buf_printf(b, " GENERATED %s AS IDENTITY", ident[0] == 'a' ? "ALWAYS" : "BY DEFAULT");
		if (si)
			pv_buf_printf(b, " (SEQUENCE NAME %s%s)", si->qname,
			              json_string_value(json_object_get(si->obj->extra, "opts")));
	}
	/* NOT VALID ones are added after the data (read_constraints) */
	int nn = pvc_bool(r, i, 4) && pvc_bool(r, i, 23);
	int nn_local = nn && pvc_bool(r, i, 22);
	char *nn_clause = nn ? notnull_clause(rd, ri, r, i) : NULL;
	size_t nstart = b->len;
	if (nn)
		pv_buf_puts(b, nn_clause);
	size_t nend = b->len;
	char *nn_sql = nn_local ? notnull_alter(rd, ri, r, i, col) : NULL;
	if (!(gen && gen[0]))
		bad |= pvj_append_str(ri->copycols, name);
	else
		bad |= pvj_set_bool(ri->generated, name, 1);
	if (pvc_bool(r, i, 16)) {
		/* local (or merged) column: also in CREATE TABLE ... INHERITS */
		/* both forms: an inherited generated column takes its parent's expression
		 * in CREATE TABLE ... INHERITS (decided once the parents are known) */
		/* 18+: a NOT NULL only inherited is left to the parents there */
		size_t ncut = nn_local ? nend : nstart;
		json_t *lc = json_object();
		bad |= pvj_set_str(lc, "name", name);
		char *text = col_text(b, start, 0, 0, ncut, nend);
		bad |= pvj_set_str(lc, "text", text);
		free(text);
		if (atoi(pvc_val(r, i, 19)) > 0 && gend > gstart) {
			text = col_text(b, start, gstart, gend, ncut, nend);
			bad |= pvj_set_str(lc, "text_inherited", text);
			free(text);
		}
		bad |= pvj_append(ri->lcols, lc);
	}
	pv_buf inh_sql = PV_BUF_INIT;
	if (!pvc_bool(r, i, 16))
		inherited_column(rd, ri, r, i, col, gen, nn_local, nn_sql, &inh_sql);
	json_t *ci = json_object();
	bad |= pvj_set_str(ci, "name", name);
	bad |= pvj_set_bool(ci, "local", pvc_bool(r, i, 16));
	bad |= pvj_set_int(ci, "inh", atoi(pvc_val(r, i, 19)));
	bad |= pvj_set_bool(ci, "notnull", nn);
	bad |= pvj_set_bool(ci, "addable", !(gen && gen[0]) && !(ident && ident[0]));
	bad |= pvj_set_bool(ci, "identity", ident && ident[0]);
	bad |= pvj_set_str(ci, "inh_sql", inh_sql.len ? inh_sql.data : "");
	bad |= pvj_set_str(ci, "nn_sql", nn_local ? nn_sql : "");
	bad |= pvj_append(ri->colinfo, ci);
	pv_buf_free(&inh_sql);
	free(nn_sql);
	free(nn_clause);
	return bad;
}

/* Per-column settings of tables and materialized views: statistics target, storage,
 * compression, n_distinct options (ALTERs after CREATE). */
static void
column_settings(relinfo *ri, PGresult *r, int i, const char *col)
{
	int stat = pvc_val(r, i, 10) ? atoi(pvc_val(r, i, 10)) : -1;
	if (stat >= 0)
		pv_buf_printf(&ri->extra, "\nALTER TABLE ONLY %s ALTER COLUMN %s SET STATISTICS %d;",
		              ri->qname, col, stat);
	if (strcmp(pvc_val(r, i, 11), pvc_val(r, i, 12)) != 0) {
		static const struct { char c; const char *w; } st[] = {
		    {'p', "PLAIN"}, {'e', "EXTERNAL"}, {'m', "MAIN"}, {'x', "EXTENDED"}};
		for (int s = 0; s < 4; s++)
			if (pvc_val(r, i, 11)[0] == st[s].c)
				pv_buf_printf(&ri->extra, "\nALTER TABLE ONLY %s ALTER COLUMN %s SET STORAGE %s;",
				              ri->qname, col, st[s].w);
	}
	const char *cm = pvc_val(r, i, 13);
	if (cm && cm[0] == 'p')
		pv_buf_printf(&ri->extra, "\nALTER TABLE ONLY %s ALTER COLUMN %s SET COMPRESSION pglz;", ri->qname, col);
	else if (cm && cm[0] == 'l')
		pv_buf_printf(&ri->extra, "\nALTER TABLE ONLY %s ALTER COLUMN %s SET COMPRESSION lz4;", ri->qname, col);
	if (pvc_val(r, i, 14) && *pvc_val(r, i, 14))
		pv_buf_printf(&ri->extra, "\nALTER TABLE ONLY %s ALTER COLUMN %s SET (%s);",
		              ri->qname, col, pvc_val(r, i, 14));
}

int
pvc_read_columns(reader *rd, rels *R)
{
	const char *compression = rd->v >= 140000 ? "a.attcompression::text" : "''::text";
	/* 18+: a column's NOT NULL is a named pg_constraint row (NO INHERIT, NOT VALID, local
	 * or inherited like a CHECK); before, only attnotnull */
	const char *notnull = rd->v >= 180000
	    ? "nn.conname, nn.connoinherit, nn.conislocal, nn.convalidated"
	    : "NULL::pg_catalog.name, false, true, true";
	const char *notnull_join = rd->v >= 180000
	    ? " LEFT JOIN pg_catalog.pg_constraint nn ON nn.conrelid = a.attrelid AND nn.contype = 'n'"
	      " AND nn.conkey = ARRAY[a.attnum]"
	    : "";
	char *sql = pv_asprintf(
	    "SELECT a.attrelid, a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),"
	    " a.attnotnull, a.attidentity, a.attgenerated, a.attisdropped,"
	    " CASE WHEN a.attcollation <> t.typcollation THEN cn.nspname END,"
	    " CASE WHEN a.attcollation <> t.typcollation THEN co.collname END,"
	    " a.attstattarget, a.attstorage, t.typstorage, %s,"
	    " (SELECT pg_catalog.string_agg(o, ', ') FROM pg_catalog.unnest(a.attoptions) o"
	    "   WHERE pg_catalog.split_part(o, '=', 1) IN ('n_distinct', 'n_distinct_inherited')),"
	    " CASE WHEN a.attgenerated <> '' THEN pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) END,"
	    " a.attislocal, ad.oid IS NOT NULL,"
	    " (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(o.option_name) || ' ' || pg_catalog.quote_literal(o.option_value), ', ')"
	    "   FROM pg_catalog.pg_options_to_table(a.attfdwoptions) o), a.attinhcount, %s"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(relid)"
	    " JOIN pg_catalog.pg_attribute a ON a.attrelid = s.relid"
	    " LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
	    " LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation"
	    " LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace"
	    " LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum%s"
	    " WHERE a.attnum > 0 ORDER BY a.attrelid, a.attnum", compression, notnull, notnull_join);
	PGresult *r = pvc_query(rd, sql, rd->relids.data);
	free(sql);
	if (!r)
		return pv_wrap("reading columns");
	int bad = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		pv_oid relid = pvc_oid(r, i, 0);
		if (pvc_bool(r, i, 7))
			continue; /* dropped */
		relinfo *ri = pvc_find_rel(R, relid);
		pv_obj *comp = ri ? NULL : find_composite(rd, relid);
		const char *name = pvc_val(r, i, 2);
		char *col = pv_ident(rd->c, name);
		pv_buf *b;
		pv_buf tmp = PV_BUF_INIT;
		if (ri)
			b = &ri->cols;
		else if (comp)
			b = &tmp;
		else {
			free(col);
			continue;
		}
		if (b == &tmp && comp->sql)
			pv_buf_puts(b, comp->sql); /* the columns so far */
		if (b->len)
			pv_buf_putc(b, ',');
		size_t start = b->len;
		pv_buf_printf(b, "\n    %s", col);
		if (ri)
			bad |= pvj_append_str(ri->colnames, name);
		if (ri && !IS_TABLE(ri->kind) && ri->kind != 'm') {
			/* view columns come from the query; typed NULLs in case of a loop (cat_loops.c) */
			if (ri->kind == 'v') {
				pv_buf_printf(&ri->dummy, "%s\n    NULL::%s", ri->dummy.len ? "," : "", pvc_val(r, i, 3));
				pvc_collate_clause(&ri->dummy, rd->c, pvc_val(r, i, 8), pvc_val(r, i, 9));
				pv_buf_printf(&ri->dummy, " AS %s", col);
			}
			free(col);
			continue;
		}
		if (!ri || IS_TABLE(ri->kind)) {
			pv_buf_printf(b, " %s", pvc_val(r, i, 3));
			if (ri && ri->kind == 'f' && pvc_val(r, i, 18))
				pv_buf_printf(b, " OPTIONS (%s)", pvc_val(r, i, 18));
			pvc_collate_clause(b, rd->c, pvc_val(r, i, 8), pvc_val(r, i, 9));
		}
		if (ri && IS_TABLE(ri->kind))
			bad |= table_column(rd, R, ri, r, i, b, start, col, name);
		if (ri) /* tables and materialized views */
			column_settings(ri, r, i, col);
		if (b == &tmp) {
			free(comp->sql);
			comp->sql = pv_buf_detach(&tmp);
		}
		free(col);
	}
	PQclear(r);
	if (bad)
		return pv_wrap("reading columns");
	/* close composite type definitions */
	for (int i = 0; i < rd->ncomposites; i++) {
		pv_obj *o = rd->composites[i];
		char *q = pv_qualify(rd->c, o->schema, o->name);
		char *s = pv_asprintf("CREATE TYPE %s AS (%s\n);", q, o->sql ? o->sql : "");
		free(q);
		free(o->sql);
		o->sql = s;
	}
	return 0;
}

/* Sequence values are read SEQ_BATCH at a time, each batch in a subtransaction rolled back
 * once its rows are in: reading a sequence locks it until the (sub)transaction ends, and
 * thousands of sequences on top of the tables' locks would exhaust the server's lock table
 * (max_locks_per_transaction).  The values are not of the snapshot anyway: a sequence is
 * not transactional.
 *
 * A batch is one call of pg_sequence_last_value() per sequence (PostgreSQL 10 and later):
 * a tenth of the server's time of a UNION of SELECTs from each sequence, which has to
 * parse, plan and open every one as a relation.  The function answers NULL for a sequence
 * not yet called (is_called false), whose last_value, the next nextval() (START WITH, or
 * setval(..., false)), only the sequence itself holds: those few are then read from the
 * sequences (seq_read_direct). */
#define SEQ_BATCH 500

typedef struct seqlist {
	relinfo **v;
	int n, cap;
} seqlist;

static void
seqlist_add(seqlist *l, relinfo *ri)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = pv_realloc(l->v, (size_t)l->cap * sizeof *l->v);
	}
	l->v[l->n++] = ri;
}

/* SQL of the batch of sequences v[0..n): rows (oid, last_value, is_called) */
static void
seq_batch_sql(pv_buf *out, relinfo **v, int n, int direct)
{
	if (direct) {
		for (int i = 0; i < n; i++)
			pv_buf_printf(out, "%sSELECT %u::pg_catalog.oid, last_value, is_called FROM %s",
			              i ? " UNION ALL " : "", v[i]->oid, v[i]->qname);
		return;
	}
	pv_buf_printf(out, "SELECT s.oid, pg_catalog.pg_sequence_last_value(s.oid), true"
	                   " FROM pg_catalog.unnest('{");
	for (int i = 0; i < n; i++)
		pv_buf_printf(out, "%s%u", i ? "," : "", v[i]->oid);
	pv_buf_printf(out, "}'::pg_catalog.oid[]) s(oid)");
}

/* rows (oid, last_value, is_called) into the sequences' value objects; a NULL last_value
 * (not yet called) puts the sequence on *later */
static void
set_seq_values(rels *R, PGresult *r, seqlist *later)
{
	for (int i = 0; i < PQntuples(r); i++) {
		relinfo *ri = pvc_find_rel(R, pvc_oid(r, i, 0));
		if (!ri || !ri->seq_set)
			continue;
		if (PQgetisnull(r, i, 1)) {
			if (later)
				seqlist_add(later, ri);
			continue;
		}
		pv_obj_set_def(ri->seq_set, &pv_ops_seq_value,
		               pv_def_seq_value_new(ri->obj->schema, ri->obj->name,
		                                    strtoll(pvc_val(r, i, 1), NULL, 10), pvc_bool(r, i, 2)));
	}
}

/* on the reading session, in a subtransaction */
static int
seq_values(reader *rd, rels *R, const char *sql, seqlist *later)
{
	if (pv_exec(rd->c, "SAVEPOINT pv_seqvals") < 0)
		return pv_wrap("reading sequence values");
	PGresult *r = pvc_query(rd, sql, NULL);
	if (!r)
		return pv_wrap("reading sequence values");
	set_seq_values(R, r, later);
	PQclear(r);
	if (pv_exec(rd->c, "ROLLBACK TO SAVEPOINT pv_seqvals; RELEASE SAVEPOINT pv_seqvals") < 0)
		return pv_wrap("reading sequence values");
	return 0;
}

/* the results of what was sent on the second session */
static int
side_drain(PGconn *side, rels *R, seqlist *later)
{
	int rc = 0;
	PGresult *r;
	while ((r = PQgetResult(side)) != NULL) {
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_TUPLES_OK)
			set_seq_values(R, r, later);
		else if (st != PGRES_COMMAND_OK && rc == 0)
			rc = pv_fail("reading sequence values: %s", PQresultErrorMessage(r));
		PQclear(r);
	}
	return rc;
}

/* the values of v[0..n): by pg_sequence_last_value(), or (direct) from the sequences; on
 * the second session when there is one (each batch a transaction of its own there, sent
 * at once), else on the reading session */
static int
seq_read(reader *rd, PGconn *side, rels *R, seqlist *v, int direct, seqlist *later)
{
	pv_buf sql = PV_BUF_INIT, batch = PV_BUF_INIT;
	int rc = 0;
	for (int i = 0; i < v->n && rc == 0; i += SEQ_BATCH) {
		int n = v->n - i < SEQ_BATCH ? v->n - i : SEQ_BATCH;
		pv_buf_reset(&batch);
		seq_batch_sql(&batch, v->v + i, n, direct);
		if (side)
			pv_buf_printf(&sql, "BEGIN READ ONLY; %s; COMMIT;", batch.data);
		else
			rc = seq_values(rd, R, batch.data, later);
	}
	if (side && sql.len && rc == 0) {
		if (PQsendQuery(side, sql.data) != 1)
			rc = pv_fail("reading sequence values on a second session: %s", PQerrorMessage(side));
		else if (!direct)
			rd->seq_side = side; /* collected by pvc_collect_sequence_values */
		else
			rc = side_drain(side, R, NULL);
	}
	pv_buf_free(&batch);
	pv_buf_free(&sql);
	return rc;
}

/* Many sequences: their values are read on a second session (a clone of the first one's
 * connection), while the first goes on reading the catalogs; each batch in a transaction of
 * its own there, so that its locks go at once.  pvc_collect_sequence_values takes the
 * results at the end of the catalog reading. */
#define SEQ_SIDE_MIN 200

int
pvc_collect_sequence_values(reader *rd, rels *R)
{
	PGconn *side = rd->seq_side;
	if (!side)
		return 0;
	rd->seq_side = NULL;
	seqlist later = {0};
	int rc = side_drain(side, R, &later);
	if (rc == 0 && later.n)
		rc = seq_read(rd, side, R, &later, 1, NULL);
	free(later.v);
	PQfinish(side);
	return rc;
}

int
pvc_read_sequences(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT s.seqrelid, pg_catalog.format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,"
	    " s.seqmax, s.seqmin, s.seqcache, s.seqcycle"
	    " FROM pg_catalog.pg_sequence s WHERE s.seqrelid = ANY ($1::pg_catalog.oid[])", rd->relids.data);
	if (!r)
		return pv_wrap("reading sequences");
	seqlist all = {0};
	PGconn *side = PQntuples(r) >= SEQ_SIDE_MIN ? pvc_clone_session(rd->c, "reading sequence values") : NULL;
	int bad = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		relinfo *ri = pvc_find_rel(R, pvc_oid(r, i, 0));
		if (!ri)
			continue;
		pv_obj *o = ri->obj;
		if (ri->seq_deptype == 'i') {
			/* identity: created by the table's column definition */
			relinfo *t = pvc_find_rel(R, ri->seq_owner_table);
			if (t) {
				pv_buf opts = PV_BUF_INIT; /* all but AS type */
				pv_buf_printf(&opts, " START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s%s",
				              pvc_val(r, i, 2), pvc_val(r, i, 3), pvc_val(r, i, 5), pvc_val(r, i, 4),
				              pvc_val(r, i, 6), pvc_bool(r, i, 7) ? " CYCLE" : "");
				json_t *j = json_object();
				bad |= pvj_set_str(j, "seq", ri->qname);
				/* AS type is implied by the column; persistence only when it differs
				 * from the table's */
				char *io = pv_asprintf("%s%s", ri->persistence == t->persistence ? ""
				                       : ri->persistence == 'u' ? " UNLOGGED" : " LOGGED", opts.data);
				bad |= pvj_set_str(j, "opts", io);
				free(io);
				pv_buf_free(&opts);
				/* remember on the sequence; pvc_read_columns() writes it into the column */
				o->extra = j;
				pv_obj_dep(o, t->obj);
			}
		} else {
			pv_def_sequence *d = pv_def_sequence_new(o->schema, o->name, pvc_val(r, i, 1));
			d->start = strtoll(pvc_val(r, i, 2), NULL, 10);
			d->increment = strtoll(pvc_val(r, i, 3), NULL, 10);
			d->max = strtoll(pvc_val(r, i, 4), NULL, 10);
			d->min = strtoll(pvc_val(r, i, 5), NULL, 10);
			d->cache = strtoll(pvc_val(r, i, 6), NULL, 10);
			d->cycle = pvc_bool(r, i, 7);
			d->unlogged = ri->persistence == 'u';
			pv_obj_set_def(o, &pv_ops_sequence, d);
			if (ri->seq_deptype == 'a' && ri->seq_owner_col > 0) {
				relinfo *t = pvc_find_rel(R, ri->seq_owner_table);
				if (t) {
					pv_obj *ob = pv_graph_add(g, K_SEQ_OWNED, PV_PRE, 0, 0, o->schema, o->name);
					/* column name resolved in finish_identity() via extra */
					json_t *j = json_object();
					bad |= pvj_set_int(j, "table", t->oid);
					bad |= pvj_set_int(j, "col", ri->seq_owner_col);
					ob->extra = j;
					pv_obj_dep(ob, o);
					pv_obj_dep(ob, t->obj);
				}
			}
		}
		/* its value, set in the data section */
		pv_obj *sv = pv_graph_add(g, K_SEQ_SET, PV_DATA, 0, 0, o->schema, o->name);
		ri->seq_set = sv;
		pv_obj_dep(sv, o);
		sv->extra = json_object();
		relinfo *owner_table = ri->seq_deptype ? pvc_find_rel(R, ri->seq_owner_table) : NULL;
		if (owner_table)
			bad |= pvj_set_str(sv->extra, "owned_by", owner_table->qname);
		if (rd->standby && ri->persistence == 'u')
			pvc_warning(rd, "unlogged sequence %s: its value is not in the bundle (a standby has "
			            "none); it restores at its start", ri->qname);
		else
			seqlist_add(&all, ri);
	}
	PQclear(r);
	if (bad) {
		free(all.v);
		if (side)
			PQfinish(side);
		return pv_wrap("reading sequences");
	}
	seqlist later = {0};
	int rc = seq_read(rd, side, R, &all, 0, &later);
	if (rc == 0 && later.n)
		rc = seq_read(rd, NULL, R, &later, 1, NULL); /* no second session: it is async */
	if (side && rd->seq_side != side)
		PQfinish(side);
	free(all.v);
	free(later.v);
	return rc;
}

/* OWNED BY entries get their column names; identity sequences are done (pvc_read_columns()
 * wrote their options into the owning column's definition). */
int
pvc_finish_sequences(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	/* the (table, column) of each OWNED BY, numbered: one query for the names of those
	 * columns only */
	pv_buf sql = PV_BUF_INIT;
	int n = 0;
	for (int k = 0; k < pv_graph_count(g); k++) {
		pv_obj *o = pv_graph_get(g, k);
		if (o->kind == K_SEQ_OWNED && o->extra)
			pv_buf_printf(&sql, "%s(%d, %lld::pg_catalog.oid, %lld::pg_catalog.int2)", n++ ? ", " : "", k,
			              (long long)json_integer_value(json_object_get(o->extra, "table")),
			              (long long)json_integer_value(json_object_get(o->extra, "col")));
	}
	if (n) {
		char *q = pv_asprintf("SELECT s.k, a.attname FROM (VALUES %s) s(k, t, c)"
		                      " JOIN pg_catalog.pg_attribute a ON a.attrelid = s.t AND a.attnum = s.c",
		                      sql.data);
		PGresult *r = pvc_query(rd, q, NULL);
		free(q);
		if (!r) {
			pv_buf_free(&sql);
			return pv_wrap("reading the columns of OWNED BY");
		}
		for (int i = 0; i < PQntuples(r); i++) {
			int k = atoi(pvc_val(r, i, 0));
			pv_obj *o = k >= 0 && k < pv_graph_count(g) ? pv_graph_get(g, k) : NULL;
			if (!o || o->kind != K_SEQ_OWNED || !o->extra)
				continue;
			relinfo *ti = pvc_find_rel(R, (pv_oid)json_integer_value(json_object_get(o->extra, "table")));
			relinfo *si = pvc_find_rel(R, o->deps[0] >= 0 ? pv_graph_get(g, o->deps[0])->oid : 0);
			if (ti && si)
				pv_obj_set_def(o, &pv_ops_seq_owned,
				               pv_def_seq_owned_new(si->obj->schema, si->obj->name, ti->obj->schema,
				                                    ti->obj->name, pvc_val(r, i, 1)));
		}
		PQclear(r);
	}
	pv_buf_free(&sql);
	for (int k = 0; k < pv_graph_count(g); k++) {
		pv_obj *o = pv_graph_get(g, k);
		if (o->kind == K_SEQ_OWNED && o->extra) {
			json_decref(o->extra);
			o->extra = NULL;
		}
	}
	/* identity: pvc_read_columns() put the sequence options into the column definition */
	for (int k = 0; k < R->n; k++) {
		relinfo *si = &R->v[k];
		if (si->kind == 'S' && si->seq_deptype == 'i' && si->obj->extra) {
			json_decref(si->obj->extra);
			si->obj->extra = NULL;
		}
	}
	return 0;
}

int
pvc_read_defaults(reader *rd, rels *R)
{
	pv_graph *g = rd->cat->g;
	PGresult *r = pvc_query(rd,
	    "SELECT d.oid, d.adrelid, a.attname, pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attgenerated"
	    " FROM pg_catalog.unnest($1::pg_catalog.oid[]) s(relid)"
	    " JOIN pg_catalog.pg_attrdef d ON d.adrelid = s.relid"
	    " JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum"
	    " ORDER BY d.adrelid, d.adnum", rd->relids.data);
	if (!r)
		return pv_wrap("reading column defaults");
	for (int i = 0; i < PQntuples(r); i++) {
		relinfo *ri = pvc_find_rel(R, pvc_oid(r, i, 1));
		if (!ri)
			continue;
		if (pvc_val(r, i, 4) && pvc_val(r, i, 4)[0]) {
			/* generation expression: inline in CREATE TABLE */
			pv_graph_alias(g, C_PG_ATTRDEF, pvc_oid(r, i, 0), ri->obj);
			continue;
		}
		pv_obj *o = pv_graph_add(g, K_DEFAULT, PV_PRE, C_PG_ATTRDEF, pvc_oid(r, i, 0),
		                         ri->obj->schema, ri->obj->name);
		char *col = pv_ident(rd->c, pvc_val(r, i, 2));
		o->sql = pv_asprintf("ALTER %s %s ALTER COLUMN %s SET DEFAULT %s;",
		                     ri->kind == 'v' ? "VIEW" : "TABLE ONLY", ri->qname, col, pvc_val(r, i, 3));
		free(col);
		pv_obj_dep(o, ri->obj);
	}
	PQclear(r);
	return 0;
}

