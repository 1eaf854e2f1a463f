/*
 * pg/cat_fdw.c — text search objects, foreign-data wrappers, servers and user mappings,
 * publications, event triggers and extended statistics.
 */
#include "pg/catalog_int.h"

int
pvc_read_textsearch(reader *rd)
{
	(void)rd;
	return 0;
}

int
pvc_read_foreign(reader *rd)
{
	(void)rd;
	return 0;
}

int
pvc_read_pubs(reader *rd)
{
	(void)rd;
	return 0;
}
