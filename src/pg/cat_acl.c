/*
 * pg/cat_acl.c — default privileges, security labels, and privileges of extension members
 * and built-in objects (deltas against pg_init_privs).
 */
#include "pg/catalog_int.h"

int
pvc_read_privileges(reader *rd)
{
	(void)rd;
	return 0;
}
