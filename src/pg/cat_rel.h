/*
 * pg/cat_rel.h — what the relation readers share (cat_rels.c, cat_relobjs.c, cat_tables.c
 * and catalog.c, which runs them): one relinfo per dumped relation, accumulating the parts
 * of its CREATE statement as the readers find them, sorted by oid.
 */
#ifndef PV_PG_CAT_REL_H
#define PV_PG_CAT_REL_H

#include <jansson.h>

#include "schema/graph.h"
#include "util/buf.h"

typedef struct reader reader; /* catalog_int.h */

typedef struct relinfo {
	pv_oid oid;
	char kind;
	pv_obj *obj;
	char *qname;
	pv_buf cols;     /* column definitions for CREATE */
	json_t *lcols;   /* local columns (CREATE TABLE ... INHERITS): [{name, text,
	                    text_inherited (without GENERATED)}] */
	json_t *generated; /* names of generated columns */
	pv_buf inh_extra; /* ALTERs needed only after CREATE TABLE ... INHERITS */
	pv_buf inh_items; /* table constraints of CREATE TABLE ... INHERITS (18+: a named NOT
	                     NULL of its own on a column from the parents) */
	pv_buf extra;    /* ALTERs after CREATE */
	json_t *colnames; /* every live column, in attnum order */
	json_t *colinfo;  /* tables: [{name, local, inh, notnull, addable, inh_sql}] per column */
	pv_obj *replay;   /* member of an inheritance family replayed: its ADD COLUMN entry */
	int prefix;       /* then: how many leading columns CREATE TABLE makes */
	pv_oid *parents; /* inheritance parents / partition parent, in inhseqno order */
	int nparents;
	int ispartition;
	char *partbound; /* FOR VALUES ... of a partition */
	char *partkey;   /* PARTITION BY ... of a partitioned table */
	char *oftype;    /* typed table: its type */
	char *server;    /* foreign table: SERVER x OPTIONS (...) */
	int hash_enum;   /* partitioned by hash of an enum: rows load through the root */
	pv_obj *attach;  /* partition: its ATTACH entry */
	char *using_am;  /* " USING am" for a table access method other than heap */
	json_t *copycols;
	char *withopts;  /* WITH (...) or NULL */
	char *check_option;
	char persistence;
	int populated;
	pv_oid seq_owner_table; /* sequences */
	pv_obj *seq_set;        /* its value entry (data section) */
	int seq_owner_col;
	char seq_deptype;
	pv_buf dummy;    /* views: "NULL::type AS col" list, the body of a loop repair's CREATE VIEW */
} relinfo;

#define IS_TABLE(k) ((k) == 'r' || (k) == 'p' || (k) == 'f')

typedef struct rels {
	relinfo *v;
	int n;
	pv_obj **replays; /* the ADD COLUMN entries of replayed inheritance families */
	int nreplays;
} rels;

/* cat_rels.c */
int pvc_read_relations(reader *rd, rels *R);
int pvc_read_sequences(reader *rd, rels *R);
int pvc_read_columns(reader *rd, rels *R);
int pvc_finish_sequences(reader *rd, rels *R);
/* The sequence values a second session read (many sequences), once the catalogs are read. */
int pvc_collect_sequence_values(reader *rd, rels *R);
int pvc_read_defaults(reader *rd, rels *R);
relinfo *pvc_find_rel(rels *R, pv_oid oid);

/* cat_relobjs.c */
/* queues the constraints and indexes statements to be read ahead (pvc_ahead_queue) */
void pvc_ahead_relobjs(reader *rd);
int pvc_read_constraints(reader *rd, rels *R);
int pvc_read_indexes(reader *rd, rels *R);
int pvc_read_triggers(reader *rd, rels *R);
int pvc_read_views(reader *rd, rels *R);
int pvc_read_policies(reader *rd, rels *R);
int pvc_read_rules(reader *rd, rels *R);

/* cat_tables.c */
void pvc_build_tables(reader *rd, rels *R);
void pvc_redirect_replayed(reader *rd, rels *R);

#endif
