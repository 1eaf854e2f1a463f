/*
 * schema/graph.h — the object graph of one database's schema.
 *
 * Every dumpable object (and every data/late item) is a pv_obj with the SQL that creates
 * it, its owner, comments and ACL, and the objects it must follow.  Catalog rows map to
 * objects through (classid, objid) identities; rows that are folded into another object's
 * DDL (a table's row type, an inline CHECK, the _RETURN rule of a view, a constraint's
 * index, an array type) are registered as aliases of that object, so pg_depend edges
 * through them land on the right object.  pv_graph_sort() orders everything: a pre-sort
 * by (section, kind, schema, name, oid) for determinism, then a topological sort that
 * always emits the ready object that comes first in the pre-sort, and finally pushes an
 * object into a later section when it depends on something there.  When the sort is stuck
 * it finds one dependency cycle among the stuck objects and hands it to the repair rule
 * the graph's builder registered (pv_graph_set_repair); the rule edits the graph and the
 * sort starts again.  The graph itself knows nothing about SQL.  An object of a converted
 * kind carries its typed definition (def, ops: schema/model.h) instead of SQL text; its
 * SQL is written after the sort by pv_schema_render() (schema/render.h).
 */
#ifndef PV_SCHEMA_GRAPH_H
#define PV_SCHEMA_GRAPH_H

#include <jansson.h>
#include <stdint.h>

#include "schema/model.h"

typedef unsigned int pv_oid;

typedef enum { PV_PRE = 0, PV_DATA = 1, PV_POST = 2 } pv_section;

/* Kinds in pre-sort priority order. */
typedef enum {
	K_SCHEMA, K_LANGUAGE, K_COLLATION, K_TRANSFORM, K_EXTENSION, K_SHELL_TYPE, K_TYPE, K_DOMAIN,
	K_CAST, K_FUNCTION, K_AGGREGATE, K_ACCESS_METHOD, K_OPERATOR, K_OPFAMILY, K_OPCLASS,
	K_CONVERSION, K_TS_PARSER, K_TS_TEMPLATE, K_TS_DICT, K_TS_CONFIG, K_FDW, K_SERVER,
	K_USER_MAPPING, K_SEQUENCE, K_TABLE, K_VIEW, K_MATVIEW, K_ATTACH, K_INHERIT_COLUMNS, K_DEFAULT, K_CHECK,
	K_SEQ_OWNED, K_DB_SETTINGS, K_ACL_ONLY,
	K_TABLE_DATA, K_SEQ_SET, K_LARGE_OBJECT,
	K_CONSTRAINT, K_INDEX, K_INDEX_ATTACH, K_INDEX_EXTRA, K_STATISTICS, K_RULE, K_TRIGGER, K_FK,
	K_CHECK_LATE, K_POLICY, K_RLS, K_PUBLICATION, K_PUB_TABLE, K_PUB_SCHEMA, K_SUBSCRIPTION,
	K_DEFAULT_ACL, K_EVENT_TRIGGER, K_REFRESH,
	K_VIEW_DEF, /* a view's real definition, split off its CREATE VIEW by a loop repair */
	K_NKINDS
} pv_kind;

const char *pv_kind_name(pv_kind k);

/* Restore passes after the ordinary one (pv_obj.late). */
#define PV_LATE_NONE 0
#define PV_LATE_AFTER_ACL 1 /* after grants: matview refreshes, event triggers */
#define PV_LATE_ACL 2       /* with the grants: default privileges */

typedef struct pv_acl_item {
	int revoke;         /* 1: REVOKE, 0: GRANT */
	char *privs;        /* "SELECT, INSERT" */
	char *columns;      /* NULL, or "(a, b)" already quoted */
	char *grantee;      /* NULL = PUBLIC */
	char *grantor;
	int grant_option;
} pv_acl_item;

typedef struct pv_obj {
	int id;
	pv_kind kind;
	pv_section section;
	pv_oid classid, oid;
	char *schema;        /* for sorting and messages; may be NULL */
	char *name;
	char *sql;           /* statements that create it (may be NULL: nothing to run); for a
	                        kind with a typed definition, written by pv_schema_render()
	                        after the sort, never by a reader */
	void *def;           /* the typed definition (schema/model.h), or NULL */
	const pv_kind_ops *ops; /* its kind's operations (render, free), with def */
	char *owner;         /* role name, or NULL */
	char *owner_target;  /* e.g. TABLE "s"."t": ALTER <owner_target> OWNER TO ... */
	char *acl_target;    /* e.g. TABLE "s"."t": GRANT ... ON <acl_target> */
	char *comments;      /* COMMENT statements, or NULL */
	pv_acl_item *acl;
	int nacl, cacl;
	int *deps;
	int ndeps, cdeps;
	int late;            /* PV_LATE_*: run in a later restore pass */
	int dump;            /* 0: known but not emitted (e.g. an extension member) */
	int share_lock;      /* its SQL takes only a share lock on its table (a plain CREATE
	                      * INDEX): such post-data entries of one table may run together */
	json_t *extra;       /* kind-specific fields for the bundle (data entries) */
	/* sort state */
	int rank, indeg, done, eff_section;
} pv_obj;

typedef struct pv_graph pv_graph;

pv_graph *pv_graph_new(void);
void pv_graph_free(pv_graph *g);

/* A new object; schema/name are copied. */
pv_obj *pv_graph_add(pv_graph *g, pv_kind kind, pv_section sec, pv_oid classid, pv_oid oid,
                     const char *schema, const char *name);
pv_obj *pv_graph_get(pv_graph *g, int id);
int pv_graph_count(pv_graph *g);
/* Map a catalog identity to an object (the object's own identity is mapped by _add). */
void pv_graph_alias(pv_graph *g, pv_oid classid, pv_oid oid, pv_obj *o);
pv_obj *pv_graph_lookup(pv_graph *g, pv_oid classid, pv_oid oid);
/* o is part of into (an extension's member): o is no longer dumped, and every identity and
 * every dependency that led to o leads to into */
void pv_graph_fold(pv_graph *g, pv_obj *o, pv_obj *into);
void pv_obj_dep(pv_obj *o, pv_obj *on);
/* Remove o's dependency on the object with id `on` (if any). */
void pv_obj_undep(pv_obj *o, int on);
int pv_obj_depends(const pv_obj *o, int on);
void pv_obj_add_acl(pv_obj *o, int revoke, const char *privs, const char *columns,
                    const char *grantee, const char *grantor, int grant_option);
void pv_obj_add_comment(pv_obj *o, const char *sql);
/* Attach o's typed definition (schema/model.h), which o then owns; replaces any earlier one. */
void pv_obj_set_def(pv_obj *o, const pv_kind_ops *ops, void *def);

/* A loop repair rule.  cycle[0] depends on cycle[1], ..., cycle[n - 1] on cycle[0].  The
 * rule breaks the cycle by editing edges (pv_obj_dep, pv_obj_undep), and may add objects
 * or change an object's SQL.  Returns 1 when it changed the graph, 0 when it has no
 * repair for this cycle, -1 on an error (set). */
typedef int (*pv_repair_fn)(pv_graph *g, pv_obj **cycle, int n, void *arg);
void pv_graph_set_repair(pv_graph *g, pv_repair_fn fn, void *arg);

/* Sort, repairing loops with the registered rule; a loop no rule breaks fails naming the
 * objects of that cycle, in order.  Afterwards pv_graph_sorted() gives the objects in
 * order (count pv_graph_count). */
int pv_graph_sort(pv_graph *g);
pv_obj *pv_graph_sorted(pv_graph *g, int i);

/* "table s.t" style label for messages. */
char *pv_obj_label(const pv_obj *o);

#endif
