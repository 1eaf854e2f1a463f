/*
 * cmd/restore.c — `pgvault restore`: a bundle into a new database, in place of an
 * existing one (--replace), or the rows of some tables into an existing one (--table).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "engine/restore.h"
#include "util/err.h"
#include "util/log.h"

enum {
	OPT_AS = OPT_CMD_BASE, OPT_OWNER, OPT_CREATE_ROLE, OPT_ROLE_PWFILE, OPT_CREATE_MISSING,
	OPT_REPLACE, OPT_DROP_OLD, OPT_TERMINATE, OPT_DATA_ONLY, OPT_SCHEMA_ONLY, OPT_JOBS,
	OPT_FROM_REMOTE, OPT_FORCE
};

static const pv_opt options[] = {
	PV_OPT_GROUP("Target:"),
	PV_OPT(0, "as", OPT_AS, "NAME", "restore under another database name"),
	PV_OPT(0, "replace", OPT_REPLACE, NULL,
	       "replace an existing database atomically: restore under a temporary name, then swap "
	       "names; the old database is kept as NAME_pre_restore_TIMESTAMP"),
	PV_OPT(0, "drop-old", OPT_DROP_OLD, NULL, "with --replace, drop the old database afterwards"),
	PV_OPT(0, "terminate-connections", OPT_TERMINATE, NULL,
	       "with --replace, end sessions connected to the old database (otherwise they make the "
	       "restore refuse)"),
	PV_OPT(0, "force", OPT_FORCE, NULL,
	       "with --replace, replace a database whose name is not the bundle's database's "
	       "(refused without it: one application's database replaced by another's)"),
	PV_OPT_GROUP("Ownership and roles:"),
	PV_OPT(0, "owner", OPT_OWNER, "ROLE",
	       "the database and every object in it owned by ROLE; grants that named an old owner "
	       "name ROLE"),
	PV_OPT(0, "create-role", OPT_CREATE_ROLE, NULL,
	       "create ROLE (LOGIN) if it does not exist; its password is read from "
	       "$PGVAULT_ROLE_PASSWORD or --role-password-file"),
	PV_OPT(0, "role-password-file", OPT_ROLE_PWFILE, "F", "file holding that password (first line)"),
	PV_OPT(0, "create-missing-roles", OPT_CREATE_MISSING, NULL,
	       "create other roles the bundle needs as NOLOGIN roles"),
	PV_OPT_GROUP("Parts:"),
	PV_OPT('t', "table", 't', "TABLE",
	       "only the rows of TABLE (schema.table; repeatable), into the existing database, "
	       "replaced in one transaction"),
	PV_OPT(0, "data-only", OPT_DATA_ONLY, NULL, "the rows of every table, into the existing database"),
	PV_OPT(0, "schema-only", OPT_SCHEMA_ONLY, NULL, "the schema only, no rows"),
	PV_OPT('j', "jobs", 'j', "N",
	       "create runs of tables, load rows and build indexes and constraints with N "
	       "connections in parallel (memory: about N + 1 data members)"),
	PV_OPT_GROUP("Remote:"),
	PV_OPT(0, "from-remote", OPT_FROM_REMOTE, NULL,
	       "BUNDLE is in the [s3] storage (an id, DB@latest or DB@TIMESTAMP); it is downloaded "
	       "to a temporary file in the storage directory first (so a dropped connection can "
	       "resume), verified, restored, and removed"),
	PV_OPT_KEY("backup", "lock_timeout"), /* pv_open_bundle: the read lock's wait */
	PV_OPT_INCLUDE(pv_keys_s3),
	PV_OPT_END,
};

const pv_command pv_cmd_restore = {
	.name = "restore",
	.summary = "restore a bundle into a new database",
	.usage = "pgvault restore [OPTIONS] BUNDLE",
	.description =
	    "Restore a bundle.  BUNDLE is an id, a path, DB@latest or DB@TIMESTAMP (the newest\n"
	    "verified bundle at or before it, e.g. mydb@2026-11-22T02:00:00Z).  By default a new\n"
	    "database is created; an existing one is never overwritten.  The whole bundle is\n"
	    "verified (every member's SHA-256 against the manifest, every row) before anything is\n"
	    "created or run.  On any failure nothing is left behind: a partly restored database is\n"
	    "dropped, a replaced one is untouched.\n",
	.opts = options,
	.exit_status = "0 ok, 1 failure, 2 usage error.",
	.run = cmd_restore,
};

/* The first line of a file that only its owner can read. */
static char *
read_password_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pv_fail("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		pv_warn("%s can be read by other users; it holds a password (chmod 600 it)", path);
	char buf[1024];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		pv_fail("cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0]) {
		pv_fail("%s is empty", path);
		return NULL;
	}
	return pv_strdup(buf);
}

int
cmd_restore(pv_global *g, int argc, char **argv)
{
	pv_restore_opts o;
	memset(&o, 0, sizeof o);
	const char **tables = pv_calloc((size_t)argc + 1, sizeof *tables);
	const char *pwfile = NULL;
	char *password = NULL;
	int opt, rc = PV_EXIT_OK, from_remote = 0;
	pv_parser p;
	pv_opts_init(&p, &pv_cmd_restore, 0);
	while ((opt = pv_next_option(&p, g, argc, argv)) >= 0) {
		switch (opt) {
		case OPT_AS: o.as = optarg; break;
		case OPT_OWNER: o.owner = optarg; break;
		case OPT_CREATE_ROLE: o.create_role = 1; break;
		case OPT_ROLE_PWFILE: pwfile = optarg; break;
		case OPT_CREATE_MISSING: o.create_missing_roles = 1; break;
		case OPT_REPLACE: o.replace = 1; break;
		case OPT_DROP_OLD: o.drop_old = 1; break;
		case OPT_TERMINATE: o.terminate = 1; break;
		case OPT_FORCE: o.force = 1; break;
		case 't': tables[o.ntables++] = optarg; break;
		case OPT_DATA_ONLY: o.data_only = 1; break;
		case OPT_SCHEMA_ONLY: o.schema_only = 1; break;
		case OPT_FROM_REMOTE: from_remote = 1; break;
		case 'j': {
			char *end;
			long j = strtol(optarg, &end, 10);
			if (*end || j < 1 || j > 64) {
				rc = pv_usage_error("restore", "--jobs takes a number from 1 to 64");
				goto done;
			}
			o.jobs = (int)j;
			break;
		}
		}
	}
	if (opt == PV_OPTS_HELP || opt == PV_OPTS_ERROR) {
		rc = opt == PV_OPTS_HELP ? PV_EXIT_OK : PV_EXIT_USAGE;
		goto done;
	}
	o.tables = tables;
	const char *conflict = NULL;
	if (optind != argc - 1)
		conflict = "name exactly one bundle to restore";
	else if (o.as && !*o.as)
		conflict = "--as needs a database name";
	else if ((o.ntables || o.data_only) && (o.replace || o.schema_only))
		conflict = "--table/--data-only restore rows into the existing database: they do not go with --replace or --schema-only";
	else if (o.schema_only && o.data_only)
		conflict = "--schema-only and --data-only exclude each other";
	else if ((o.drop_old || o.terminate || o.force) && !o.replace)
		conflict = "--drop-old, --terminate-connections and --force go with --replace";
	else if ((o.create_role || pwfile) && !o.owner)
		conflict = "--create-role and --role-password-file go with --owner ROLE";
	else if (o.owner && !*o.owner)
		conflict = "--owner needs a role name";
	if (conflict) {
		rc = pv_usage_error("restore", "%s", conflict);
		goto done;
	}
	if ((rc = pv_setup(g)) != PV_EXIT_OK)
		goto done;
	if (pwfile) {
		if (!(password = read_password_file(pwfile))) {
			pv_error("%s", pv_errmsg());
			rc = PV_EXIT_USAGE;
			goto done;
		}
	} else if (o.create_role && getenv("PGVAULT_ROLE_PASSWORD") && *getenv("PGVAULT_ROLE_PASSWORD")) {
		password = pv_strdup(getenv("PGVAULT_ROLE_PASSWORD"));
	}
	if (o.create_role && !password)
		pv_warn("--create-role without a password (set PGVAULT_ROLE_PASSWORD or use "
		        "--role-password-file): role \"%s\" will not be able to log in with a password", o.owner);
	o.role_password = password;

	char *db = NULL, *kept = NULL;
	const char *ref = pv_server_ref(g, argv[optind]); /* SERVER/DB@latest: that server's */
	pv_repo *r = ref ? pv_open_repo(g, from_remote) : NULL;
	pv_repo_reader *rd = r ? pv_open_bundle(g, r, ref) : NULL;
	if (!r) {
		rc = PV_EXIT_USAGE;
		goto done;
	}
	int fd = rd ? pv_reader_fd(rd) : -1;
	pv_source src;
	pv_source_fd(&src, &fd);
	if (!rd || pv_restore_bundle(&g->conn, &src, pv_reader_where(rd), &o, &db, &kept) < 0) {
		pv_error("%s", pv_errmsg());
		rc = pv_errcode();
	} else if (kept) {
		pv_info("restored %s (%s) into database \"%s\"; the database it replaced is kept as \"%s\"",
		        argv[optind], pv_reader_where(rd), db, kept);
	} else {
		pv_info("restored %s (%s) into database \"%s\"", argv[optind], pv_reader_where(rd), db);
	}
	pv_reader_close(rd);
	pv_repo_free(r);
	free(db);
	free(kept);
done:
	if (password) {
		memset(password, 0, strlen(password));
		free(password);
	}
	free(tables);
	return rc;
}
