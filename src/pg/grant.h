/*
 * pg/grant.h — the SQL of a grant or revoke of a bundle's ACL item, quoted through libpq.
 */
#ifndef PV_PG_GRANT_H
#define PV_PG_GRANT_H

#include <libpq-fe.h>

#include "util/buf.h"

/* Grant/revoke statements of one object (owner decides whether a grantor switch is
 * needed); appended to out.  Used by the restore. */
void pv_acl_sql(pv_buf *out, PGconn *c, const char *target, const char *owner,
                const char *grantor, const char *grantee, const char *privs,
                const char *columns, int revoke, int grant_option);

#endif
