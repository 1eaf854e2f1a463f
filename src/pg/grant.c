/*
 * pg/grant.c — the SQL of one grant or revoke, as the restore replays a bundle's ACL items
 * (see grant.h).
 */
#include "pg/grant.h"

#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "util/buf.h"
#include "util/err.h"

void
pv_acl_sql(pv_buf *out, PGconn *c, const char *target, const char *owner, const char *grantor,
           const char *grantee, const char *privs, const char *columns, int revoke,
           int grant_option)
{
	/* a grant by someone other than the owner is made as that role (SET ROLE works for a
	 * superuser and for members of the grantor) */
	int switch_role = !revoke && grantor && owner && strcmp(grantor, owner) != 0;
	if (switch_role) {
		pv_buf_puts(out, "SET ROLE ");
		pv_buf_ident(out, c, grantor);
		pv_buf_puts(out, ";\n");
	}
	pv_buf_puts(out, revoke ? "REVOKE " : "GRANT ");
	if (columns) {
		/* "SELECT, UPDATE" + "(a)" -> "SELECT (a), UPDATE (a)": privs is a list of privilege
		 * names from the bundle, not SQL text */
		const char *p = privs;
		while (*p) {
			const char *e = strchr(p, ','); /* layering: not SQL */
			size_t n = e ? (size_t)(e - p) : strlen(p);
			pv_buf_add(out, p, n);
			pv_buf_printf(out, " %s", columns);
			if (!e)
				break;
			pv_buf_puts(out, ", ");
			p = e + 1;
			while (*p == ' ')
				p++;
		}
	} else {
		pv_buf_puts(out, privs);
	}
	pv_buf_printf(out, " ON %s %s ", target, revoke ? "FROM" : "TO");
	if (grantee)
		pv_buf_ident(out, c, grantee);
	else
		pv_buf_puts(out, "PUBLIC");
	if (grant_option && !revoke)
		pv_buf_puts(out, " WITH GRANT OPTION");
	pv_buf_puts(out, ";\n");
	if (switch_role)
		pv_buf_puts(out, "RESET ROLE;\n");
}
