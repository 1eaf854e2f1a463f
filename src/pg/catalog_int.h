/*
 * pg/catalog_int.h — internals shared by the catalog readers (catalog.c and the cat_*.c
 * files, one per family of object kinds): the reader state, catalog OIDs, and small
 * helpers for result values, comment targets, owners, roles and OID lists.
 * Each cat_*.c reader adds its objects to rd->cat->g with their SQL, owner, comment
 * target and ACL target; pg_depend edges are added later by catalog.c for every object
 * registered under its (classid, oid).
 */
#ifndef PV_PG_CATALOG_INT_H
#define PV_PG_CATALOG_INT_H

#include <jansson.h>
#include <libpq-fe.h>

#include "pg/catalog.h"
#include "schema/graph.h"
#include "util/buf.h"

/* Fixed catalog OIDs (the same in every PostgreSQL version). */
#define C_PG_TYPE 1247u
#define C_PG_PROC 1255u
#define C_PG_CLASS 1259u
#define C_PG_ATTRDEF 2604u
#define C_PG_CONSTRAINT 2606u
#define C_PG_NAMESPACE 2615u
#define C_PG_REWRITE 2618u
#define C_PG_TRIGGER 2620u
#define C_PG_EXTENSION 3079u

#define FIRST_NORMAL_OID 16384u

/* "not a member of an extension" for catalog CAT and row alias A: the readers' server-side
 * filter (membership recorded on the row itself); the whole membership set, with what comes
 * with members, is read once by catalog.c (read_ext_members) and consulted with pvc_ext_of */
#define NOT_EXT(cat, a)                                                                   \
	" NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend xd WHERE xd.classid = "              \
	"'pg_catalog." cat "'::pg_catalog.regclass AND xd.objid = " a ".oid AND xd.deptype = 'e') "

typedef struct cmt_target {
	pv_oid classid, oid;
	char *kw;    /* TABLE, VIEW, CONSTRAINT, ... */
	char *qname; /* "s"."t", or c ON "s"."t" for constraints and triggers */
} cmt_target;

typedef struct reader {
	PGconn *c;
	pv_catalog *cat;
	int v;
	cmt_target *targets;
	size_t ntargets, ctargets;
	pv_buf relids;  /* {oid,...} of every dumped relation (incl. composite types) */
	pv_buf tabids;  /* {oid,...} of dumped tables and matviews (data, indexes, ...) */
	pv_obj *public_schema;
	json_t *owners;  /* set of roles owning something (the database included) */
	pv_obj **composites; /* composite types, their columns read with the relations' */
	int ncomposites;
	unsigned long census; /* bit CEN_x: the database has such objects (pvc_read_census) */
	PGconn *seq_side;     /* reading sequence values meanwhile (pg/cat_rels.c), or NULL */
	int sessions;         /* how many the backup may use (pv_catalog_read) */
	int standby;          /* the server is a hot standby: it has no rows of unlogged tables */
	struct pvc_ahead *ahead; /* reading ahead on a second session (cat_common.c), or NULL */
	int census_read;
} reader;

/* The census: which kinds of objects made after initdb (oid >= 16384) the database has at
 * all, read in one statement.  A reader whose query keeps only such objects of one catalog
 * (its WHERE has the census's condition) skips the query when there are none: most
 * databases have no operator, cast, text search object, foreign server... and a query
 * costs a round trip and the server's planning and executing it. */
enum {
	CEN_AM, CEN_OPERATOR, CEN_OPFAMILY, CEN_OPCLASS, CEN_AMOP, CEN_AMPROC, CEN_CAST,
	CEN_COLLATION, CEN_CONVERSION, CEN_LANGUAGE, CEN_TRANSFORM, CEN_AGGREGATE,
	CEN_TS_PARSER, CEN_TS_TEMPLATE, CEN_TS_DICT, CEN_TS_CONFIG, CEN_FDW, CEN_SERVER,
	CEN_PUBLICATION, CEN_EVENT_TRIGGER, CEN_STATISTIC_EXT, CEN_TYPE_BASE, CEN_TYPE_RANGE,
	CEN_TYPE_SHELL, CEN_DEFAULT_ACL, CEN_SECLABEL, CEN_SQL_FUNC, CEN_N
};
int pvc_read_census(reader *rd);
/* 1 when the census was read and found no object of kind `which` */
int pvc_none(const reader *rd, int which);


#define C_PG_OPERATOR 2617u
#define C_PG_OPCLASS 2616u
#define C_PG_OPFAMILY 2753u
#define C_PG_AMOP 2602u
#define C_PG_AMPROC 2603u
#define C_PG_AM 2601u
#define C_PG_CAST 2605u
#define C_PG_COLLATION 3456u
#define C_PG_CONVERSION 2607u
#define C_PG_LANGUAGE 2612u
#define C_PG_TRANSFORM 3576u
#define C_PG_TS_PARSER 3601u
#define C_PG_TS_DICT 3600u
#define C_PG_TS_TEMPLATE 3764u
#define C_PG_TS_CONFIG 3602u
#define C_PG_FDW 2328u
#define C_PG_FOREIGN_SERVER 1417u
#define C_PG_USER_MAPPING 1418u
#define C_PG_EVENT_TRIGGER 3466u
#define C_PG_STATISTIC_EXT 3381u
#define C_PG_PUBLICATION 6104u
#define C_PG_PUBLICATION_REL 6106u
#define C_PG_PUBLICATION_NAMESPACE 6237u
#define C_PG_SUBSCRIPTION 6100u
#define C_PG_DEFAULT_ACL 826u
#define C_PG_LARGEOBJECT_METADATA 2995u
#define C_PG_POLICY 3256u
#define C_PG_AGGREGATE 2600u

/* result values: NULL for SQL NULL; 0 / false for NULL */
const char *pvc_val(PGresult *r, int row, int col);
pv_oid pvc_oid(PGresult *r, int row, int col);
int pvc_bool(PGresult *r, int row, int col);
/* a query with at most one text parameter; NULL (error set) on failure */
PGresult *pvc_query(reader *rd, const char *sql, const char *param);
/* a second session like c (its encoding too), not in any transaction, or NULL (why: what it
 * was for, in the debug line saying that it could not be had) */
PGconn *pvc_clone_session(PGconn *c, const char *why);
/* Reading ahead: with two sessions or more allowed and at least a few hundred relations,
 * pvc_ahead_open opens a second session in the snapshot of the first (-1 only when the
 * snapshot cannot be exported); pvc_ahead_queue queues a later reader's statement (sql: its
 * static text) and pvc_ahead_start runs the queue there, in order, while the first session
 * reads on.  pvc_query of the same sql and param takes the result (or, if it failed there,
 * runs the statement itself).  Without the second session each of these does nothing. */
int pvc_ahead_open(reader *rd, int relations);
void pvc_ahead_queue(reader *rd, const char *sql, const char *param);
void pvc_ahead_start(reader *rd);
void pvc_ahead_close(reader *rd);

/* COMMENT ON <kw> <qname> targets (and SECURITY LABEL), looked up by catalog identity */
void pvc_target(reader *rd, pv_oid classid, pv_oid oid, const char *kw, const char *qname);
int pvc_target_cmp(const void *a, const void *b);
cmt_target *pvc_find_target(reader *rd, pv_oid classid, pv_oid oid);

/* roles referenced by the dump; the owner of o (ALTER <kw> <qname> OWNER TO owner) */
void pvc_role(reader *rd, const char *name);
void pvc_owner(reader *rd, pv_obj *o, const char *owner, const char *kw, const char *qname);

/* "{1,2,3}" OID array literals, always valid as a $1 parameter */
void pvc_oids_add(pv_buf *b, pv_oid oid);
const char *pvc_oids(pv_buf *b);

void pvc_unsupported(reader *rd, const char *kind, const char *descr);
/* a warning now, and in the bundle header's "warnings" */
void pvc_warning(reader *rd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* the extension (its graph object) that catalog row (classid, oid) belongs to, as a member
 * or as a part of one (catalog.c, read_ext_members); NULL for everything else */
pv_obj *pvc_ext_of(reader *rd, pv_oid classid, pv_oid oid);

/* GRANT/REVOKE deltas: inner is a query over $1 (oid[]) giving (oid, acl, baseline) rows,
 * its rows from unnest($1) (ids "{}": nothing to read, no query) or, with ids NULL, its own;
 * items are attached to the object of (classid, oid) if it has an acl_target. */
int pvc_acls(reader *rd, pv_oid classid, const char *inner, const char *ids);
/* " COLLATE nsp.coll" (nothing when either is NULL) */
void pvc_collate_clause(pv_buf *b, PGconn *c, const char *nsp, const char *coll);

/* cat_schema.c: schemas, extensions, types and domains, functions; 0 or -1 with the error set */
int pvc_read_extensions(reader *rd);
int pvc_read_schemas(reader *rd);
int pvc_read_types(reader *rd, pv_buf *typids, pv_buf *domids);
int pvc_read_functions(reader *rd);
void pvc_drop_ext_members(reader *rd);
int pvc_read_column_acls(reader *rd);

/* Readers of the other object kinds (cat_*.c); each returns 0 or -1 with the error set. */
int pvc_read_operators(reader *rd);   /* cat_ops.c: operators, families, classes, AMs */
int pvc_read_misc(reader *rd);        /* cat_ops.c: casts, collations, conversions,
                                         languages, transforms, aggregates */
int pvc_read_textsearch(reader *rd);  /* cat_fdw.c: text search parsers .. configurations */
int pvc_read_foreign(reader *rd);     /* cat_fdw.c: FDWs, servers, user mappings */
int pvc_read_pubs(reader *rd);        /* cat_fdw.c: publications, subscriptions, event
                                         triggers, statistics */
int pvc_read_types_extra(reader *rd); /* cat_types.c: base, range and shell types */
int pvc_search_path_warnings(reader *rd); /* cat_types.c: run after the dependencies */
void pvc_types_fix_deps(reader *rd);     /* cat_types.c: I/O functions follow shell types;
                                            run after the dependencies */
int pvc_read_privileges(reader *rd);  /* cat_acl.c: default privileges, security labels,
                                         privileges of extension members and built-ins,
                                         extension configuration data */
int pvc_read_seclabels(reader *rd);   /* cat_acl.c: security labels and DEPENDS ON EXTENSION;
                                         needs the sorted comment targets */
int pvc_read_large_objects(reader *rd); /* lob.c: every row of pg_largeobject_metadata,
                                           whatever its oid, a K_LARGE_OBJECT with its size
                                           read in the dump snapshot */

/* cat_loops.c: what the loop repairs need, recorded while reading, and the repair rule the
 * sort calls (pv_graph_set_repair).  A view: its dummy CREATE VIEW and its CREATE OR
 * REPLACE VIEW; a domain: each inline CHECK (called before it is appended to d->sql). */
void pvc_loops_view(pv_obj *v, pv_oid rule, const char *dummy, const char *replace);
void pvc_loops_domain_check(pv_obj *d, pv_oid con, const char *name, const char *inline_sql,
                            const char *alter_sql);
void pvc_loops_comment(pv_obj *o, pv_oid classid, pv_oid oid, const char *sql);
/* a pg_depend edge: row (classid, objid), folded into a, depends on b */
void pvc_loops_dep(pv_obj *a, pv_oid classid, pv_oid objid, const pv_obj *b);
int pvc_repair(pv_graph *g, pv_obj **cycle, int n, void *arg);

#endif
