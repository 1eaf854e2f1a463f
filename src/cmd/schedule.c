/*
 * cmd/schedule.c — `pgvault schedule show|install|remove`: the cron entries of the
 * [schedule] section (backup, prune, verify), in /etc/cron.d/pgvault when root (with a user
 * field), else in the user's crontab.  Only lines marked "# pgvault-managed" are touched, so
 * installing twice leaves one set and removing leaves foreign lines alone.
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/log.h"

#define MARK "# pgvault-managed"
#define CRON_D "/etc/cron.d/pgvault"

enum { OPT_FILE = OPT_CMD_BASE, OPT_CRONTAB };

static const pv_opt options[] = {
	PV_OPT(0, "file", OPT_FILE, "F", "operate on this file instead (same format as the default target)"),
	PV_OPT(0, "crontab", OPT_CRONTAB, NULL, "root too: root's crontab (crontab -l / crontab -), no user field"),
	PV_OPT_INCLUDE(pv_keys_schedule),
	PV_OPT_KEY("schedule", "command"),
	PV_OPT_KEY("schedule", "user"),
	PV_OPT_KEY("schedule", "timezone"),
	PV_OPT_END,
};

const pv_command pv_cmd_schedule = {
	.name = "schedule",
	.summary = "show, install or remove the cron entries of [schedule]",
	.usage = "pgvault schedule show|install|remove [--file FILE | --crontab]",
	.description =
	    "Write the cron entries that [schedule] describes (backup, prune, verify = a cron\n"
	    "expression).  As root they go to " CRON_D " (with a user field), otherwise into\n"
	    "your crontab.  Only pgvault's own lines (marked \"" MARK "\") are touched.\n"
	    "\n"
	    "  show           print the entries\n"
	    "  install        install them (again: idempotent)\n"
	    "  remove         remove them\n",
	.opts = options,
	.exit_status = "0 ok, 1 failure, 2 usage or configuration error (e.g. no jobs to install).",
	.run = cmd_schedule,
};

static char *
self_path(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n <= 0)
		return pv_strdup("pgvault");
	buf[n] = '\0';
	return pv_strdup(buf);
}

/* a word for a cron command line: quoted for sh, % escaped (cron turns % into newlines) */
static void
shell_word(pv_buf *b, const char *s)
{
	pv_buf_putc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			pv_buf_puts(b, "'\\''");
		else if (*s == '%')
			pv_buf_puts(b, "\\%");
		else
			pv_buf_putc(b, *s);
	}
	pv_buf_putc(b, '\'');
}

/* The user cron.d entries run as: [schedule] user, else the postgres system user where there
 * is one (a stock Debian cluster's databases are its, through peer authentication), else
 * root. */
static const char *
cron_user(pv_global *g)
{
	const char *u = pv_config_get(g->cfg, NULL, "schedule", "user");
	if (u)
		return u;
	return getpwnam("postgres") ? "postgres" : "root";
}

/* Warnings: what the entries' user cannot read or write */
static void
check_user_access(pv_global *g, const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		pv_warn("[schedule] user %s does not exist on this machine", user);
		return;
	}
	if (pw->pw_uid == 0)
		return;
	struct stat st;
	const char *cfg = pv_config_path(g->cfg);
	if (stat(cfg, &st) == 0 && st.st_uid != pw->pw_uid && !(st.st_mode & 004) &&
	    !(st.st_gid == pw->pw_gid && (st.st_mode & 040)))
		pv_warn("the entries run as %s, who cannot read %s (owner uid %u, mode %03o): chown %s %s",
		        user, cfg, (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777), user, cfg);
	if (g->storage && stat(g->storage, &st) == 0 && st.st_uid != pw->pw_uid)
		pv_warn("the entries run as %s, but the storage directory %s belongs to uid %u: chown -R %s %s",
		        user, g->storage, (unsigned)st.st_uid, user, g->storage);
}

static char *
entries(pv_global *g, int with_user)
{
	pv_buf b = PV_BUF_INIT;
	const char *user = with_user ? cron_user(g) : NULL;
	const char *cmd = pv_config_get(g->cfg, NULL, "schedule", "command");
	char *self = cmd ? pv_strdup(cmd) : self_path();
	char cfgabs[PATH_MAX];
	const char *cfg = pv_config_path(g->cfg);
	int have_cfg = access(cfg, R_OK) == 0;
	if (have_cfg && realpath(cfg, cfgabs))
		cfg = cfgabs;
	for (size_t i = 0; i < PV_NJOBS; i++) {
		const char *expr = pv_config_get(g->cfg, NULL, "schedule", pv_jobs[i].key);
		if (!expr)
			continue;
		pv_buf_printf(&b, "%s%s%s ", expr, user ? " " : "", user ? user : "");
		shell_word(&b, self);
		if (have_cfg) {
			pv_buf_puts(&b, " --config ");
			shell_word(&b, cfg);
		}
		pv_buf_puts(&b, " --quiet");
		for (const char *const *a = pv_jobs[i].args; *a; a++)
			pv_buf_printf(&b, " %s", *a);
		pv_buf_printf(&b, " %s\n", MARK);
	}
	free(self);
	return pv_buf_detach(&b);
}

/* current content (NULL with pv_fail on error; "" when there is none) */
static char *
read_target(const char *file)
{
	pv_buf b = PV_BUF_INIT;
	char line[4096];
	if (file) {
		FILE *f = fopen(file, "r");
		if (!f) {
			if (errno == ENOENT)
				return pv_strdup("");
			pv_fail("cannot read %s: %s", file, strerror(errno));
			return NULL;
		}
		while (fgets(line, sizeof line, f))
			pv_buf_puts(&b, line);
		fclose(f);
		return pv_buf_detach(&b);
	}
	FILE *p = popen("crontab -l 2>/dev/null", "r");
	if (!p) {
		pv_fail("cannot run crontab: %s", strerror(errno));
		return NULL;
	}
	while (fgets(line, sizeof line, p))
		pv_buf_puts(&b, line);
	int st = pclose(p);
	if (st == 0)
		return pv_buf_detach(&b);
	pv_buf_free(&b);
	/* only "no crontab for USER" is an empty crontab: any other failure (permissions, a
	 * spool that cannot be read) must not become an install over an empty one, which
	 * would wipe the user's entries */
	p = popen("LC_ALL=C crontab -l 2>&1 >/dev/null", "r");
	if (!p) {
		pv_fail("cannot run crontab: %s", strerror(errno));
		return NULL;
	}
	pv_buf err = PV_BUF_INIT;
	while (fgets(line, sizeof line, p))
		pv_buf_puts(&err, line);
	pclose(p);
	if (err.len && strstr(err.data, "no crontab for")) {
		pv_buf_free(&err);
		return pv_strdup("");
	}
	while (err.len && (err.data[err.len - 1] == '\n' || err.data[err.len - 1] == '\r'))
		err.data[--err.len] = '\0';
	pv_fail("crontab -l failed (exit %d%s%s); the crontab is left as it is",
	        WIFEXITED(st) ? WEXITSTATUS(st) : -1, err.len ? ": " : "", err.len ? err.data : "");
	pv_buf_free(&err);
	return NULL;
}

static int
write_target(const char *file, const char *text)
{
	/* cron.d files must not be group/other writable; 0644 is what cron expects */
	if (file)
		return pv_write_file_atomic(file, text, strlen(text), 0644);
	FILE *p = popen("crontab -", "w");
	if (!p)
		return pv_fail("cannot run crontab: %s", strerror(errno));
	fputs(text, p);
	int st = pclose(p);
	if (st != 0)
		return pv_fail("crontab - failed (exit %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}

/* the lines of text that are not ours */
static char *
foreign_lines(const char *text)
{
	pv_buf b = PV_BUF_INIT;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
		char *line = pv_strndup(p, len);
		if (!strstr(line, MARK)) {
			pv_buf_puts(&b, line);
			if (!nl)
				pv_buf_putc(&b, '\n');
		}
		free(line);
		p += len;
	}
	return pv_buf_detach(&b);
}

int
cmd_schedule(pv_global *g, int argc, char **argv)
{
	const char *file = NULL;
	int opt, use_crontab = 0;
	pv_parser p;
	pv_opts_init(&p, &pv_cmd_schedule, 0);
	while ((opt = pv_next_option(&p, g, argc, argv)) >= 0) {
		if (opt == OPT_FILE)
			file = optarg;
		else if (opt == OPT_CRONTAB)
			use_crontab = 1;
	}
	if (opt != -1)
		return opt == PV_OPTS_HELP ? PV_EXIT_OK : PV_EXIT_USAGE;
	if (optind != argc - 1)
		return pv_usage_error("schedule", "say show, install or remove");
	if (file && use_crontab)
		return pv_usage_error("schedule", "--file and --crontab name two different targets");
	const char *action = argv[optind];
	if (strcmp(action, "show") && strcmp(action, "install") && strcmp(action, "remove"))
		return pv_usage_error("schedule", "unknown action \"%s\" (show, install or remove)", action);
	int rc = pv_setup(g);
	if (rc != PV_EXIT_OK)
		return rc;
	/* what it installs runs backup, prune and verify: none may stop on the configuration */
	if (strcmp(action, "install") == 0 && pv_config_problems(g->cfg, NULL, NULL) < 0) {
		pv_error("%s; not installing (pgvault config check lists the problems)", pv_errmsg());
		return PV_EXIT_USAGE;
	}
	int root = geteuid() == 0 && !use_crontab; /* the cron.d format, with a user field */
	if (!file && root)
		file = CRON_D;
	char *mine = entries(g, root);
	if (root && strcmp(action, "install") == 0)
		check_user_access(g, cron_user(g));
	const char *tz = pv_config_get(g->cfg, NULL, "schedule", "timezone");
	if (tz && strcmp(tz, "UTC") != 0 && strcmp(action, "remove") != 0)
		pv_warn("cron evaluates these entries in the system time zone, not [schedule] timezone = %s "
		        "(pgvault daemon honours it)", tz);
	if (strcmp(action, "show") == 0) {
		fputs(*mine ? mine : "# [schedule] defines no jobs\n", stdout);
		free(mine);
		return PV_EXIT_OK;
	}
	if (strcmp(action, "install") == 0 && !*mine) {
		free(mine);
		pv_error("[schedule] in %s defines no jobs (backup, prune or verify = a cron expression)",
		         pv_config_path(g->cfg));
		return PV_EXIT_USAGE;
	}
	char *cur = read_target(file);
	if (!cur) {
		free(mine);
		pv_error("%s", pv_errmsg());
		return PV_EXIT_FAIL;
	}
	char *keep = foreign_lines(cur);
	pv_buf out = PV_BUF_INIT;
	pv_buf_puts(&out, strcmp(keep, "\n") == 0 ? "" : keep);
	if (strcmp(action, "install") == 0)
		pv_buf_puts(&out, mine);
	if (write_target(file, out.data ? out.data : "") < 0) {
		pv_error("%s", pv_errmsg());
		rc = PV_EXIT_FAIL;
	} else {
		pv_info("%s the pgvault entries %s %s", strcmp(action, "install") == 0 ? "installed" : "removed",
		        strcmp(action, "install") == 0 ? "in" : "from", file ? file : "your crontab");
	}
	pv_buf_free(&out);
	free(keep);
	free(cur);
	free(mine);
	return rc;
}
