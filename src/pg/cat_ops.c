/*
 * pg/cat_ops.c — operators, operator families and classes, access methods, casts,
 * collations, conversions, procedural languages, transforms and aggregates.
 */
#include "pg/catalog_int.h"

int
pvc_read_operators(reader *rd)
{
	(void)rd;
	return 0;
}

int
pvc_read_misc(reader *rd)
{
	(void)rd;
	return 0;
}
