/*
 * cmd/common.c — what the commands share: the commands' list, global options, usage errors,
 * the configuration, the repository a command works on, opening a bundle under its lock, and
 * copying a bundle from one repository to the other (upload).
 */
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>
#include <stdlib.h>

#include "bundle/bundle.h"
#include "cmd/cmd.h"
#include "util/lock.h"
#include "store/crypt.h"
#include "store/s3.h"
#include "util/names.h"
#include "util/progress.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"

const pv_command *const pv_commands[] = {
	&pv_cmd_backup, &pv_cmd_restore, &pv_cmd_verify, &pv_cmd_list, &pv_cmd_upload,
	&pv_cmd_prune, &pv_cmd_status, &pv_cmd_schedule, &pv_cmd_daemon, &pv_cmd_config,
	&pv_cmd_leftovers, NULL,
};

/* The global options, and the keys pv_setup reads for every command.  ('\x1f' is a space
 * --help does not break a line at.) */
const pv_opt pv_global_opts[] = {
	PV_OPT(0, "config", OPT_CONFIG, "FILE",
	       "configuration\x1f" "file\x1f" "(default\x1f" PV_DEFAULT_CONFIG ")"),
	PV_OPT_CFG(0, "storage", OPT_STORAGE, "DIR",
	           "local storage directory (default: [storage] dir, $PGVAULT_STORAGE, else "
	           PV_DEFAULT_STORAGE ")", "storage", "dir"),
	PV_OPT_CFG('h', "host", 'h', "HOST", "server host or socket directory (default: libpq's)",
	           "connection", "host"),
	PV_OPT_CFG('p', "port", 'p', "PORT", "server port", "connection", "port"),
	PV_OPT_CFG('U', "username", 'U', "USER",
	           "user name (the password comes from PGPASSWORD or ~/.pgpass)", "connection", "user"),
	PV_OPT_CFG(0, "maintenance-db", OPT_MAINTDB, "DB",
	           "database or connection string (no password) for server-wide queries",
	           "connection", "maintenance_db"),
	PV_OPT(0, "server", OPT_SERVER, "NAME",
	       "the server of [server:NAME] (default: each of them in turn for backup, list, status, "
	       "prune, verify --all and upload --all; the others take SERVER/DB@latest)"),
	PV_OPT('q', "quiet", OPT_QUIET, NULL,
	       "errors and warnings only: nothing at all on success (no bundle ids, no progress)"),
	PV_OPT('v', "verbose", OPT_VERBOSE, NULL, "more detail on standard error"),
	PV_OPT(0, "help", OPT_HELP, NULL, "this help"),
	PV_OPT_KEY("connection", "password"),
	PV_OPT_KEY("server", "host"), PV_OPT_KEY("server", "port"), PV_OPT_KEY("server", "user"),
	PV_OPT_KEY("server", "maintenance_db"), PV_OPT_KEY("server", "password"),
	PV_OPT_KEY("server", "source"), PV_OPT_KEY("server", "max_standby_lag"),
	PV_OPT_KEY("server", "databases"), PV_OPT_KEY("server", "exclude"), PV_OPT_KEY("server", "jobs"),
	PV_OPT_KEY("connection", "retries"),
	PV_OPT_KEY("connection", "retry_delay"),
	PV_OPT_KEY("security", "signing_key_file"),
	PV_OPT_END,
};

/* what open_s3 reads */
const pv_opt pv_keys_s3[] = {
	PV_OPT_KEY("security", "encryption_key_file"), PV_OPT_KEY("security", "decryption_key_files"),
	PV_OPT_KEY("s3", "bucket"), PV_OPT_KEY("s3", "endpoint"), PV_OPT_KEY("s3", "region"),
	PV_OPT_KEY("s3", "prefix"), PV_OPT_KEY("s3", "url_style"), PV_OPT_KEY("s3", "access_key_id"),
	PV_OPT_KEY("s3", "secret_access_key"), PV_OPT_KEY("s3", "session_token"),
	PV_OPT_KEY("s3", "ca_file"), PV_OPT_END,
};

/* what pv_prune (ops/prune.c) reads: [retention], its [db:NAME] overrides, and the time zone
 * of [schedule] when [retention] has none */
const pv_opt pv_keys_retention[] = {
	PV_OPT_KEY("retention", "keep_days"), PV_OPT_KEY("retention", "keep_min"),
	PV_OPT_KEY("retention", "keep_daily"), PV_OPT_KEY("retention", "keep_weekly"),
	PV_OPT_KEY("retention", "keep_monthly"), PV_OPT_KEY("retention", "keep_tagged"),
	PV_OPT_KEY("retention", "timezone"), PV_OPT_KEY("schedule", "timezone"),
	PV_OPT_KEY("db", "keep_days"), PV_OPT_KEY("db", "keep_min"), PV_OPT_KEY("db", "keep_daily"),
	PV_OPT_KEY("db", "keep_weekly"), PV_OPT_KEY("db", "keep_monthly"),
	PV_OPT_KEY("db", "keep_tagged"), PV_OPT_END,
};

const pv_job pv_jobs[PV_NJOBS] = {
	{"backup", {"backup", NULL}},
	{"prune", {"prune", NULL}},
	{"verify", {"verify", "--all", NULL}},
	{"restore_test", {"verify", "--restore", "--latest", NULL}},
};

const pv_opt pv_keys_schedule[] = {
	PV_OPT_KEY("schedule", "backup"), PV_OPT_KEY("schedule", "prune"),
	PV_OPT_KEY("schedule", "verify"), PV_OPT_KEY("schedule", "restore_test"), PV_OPT_END,
};

/* the run report: pv_notify (ops/notify.c) and the metrics file */
const pv_opt pv_keys_report[] = {
	PV_OPT_KEY("notify", "url"), PV_OPT_KEY("notify", "on_success"),
	PV_OPT_KEY("notify", "timeout"), PV_OPT_KEY("notify", "metrics_file"), PV_OPT_END,
};

int
pv_next_option(pv_parser *p, pv_global *g, int argc, char **argv)
{
	int opt;
	g->cmd = p->cmd;
	while ((opt = pv_opts_getopt(p, argc, argv)) != -1) {
		if (opt == '?') {
			pv_usage_error(p->cmd->name, "invalid option");
			return PV_OPTS_ERROR;
		}
		if (opt == OPT_HELP) {
			pv_opts_help(p->cmd, stdout);
			return PV_OPTS_HELP;
		}
		if (!pv_global_option(g, opt, optarg))
			return opt;
	}
	return -1;
}

int
pv_global_option(pv_global *g, int opt, const char *arg)
{
	switch (opt) {
	case OPT_CONFIG: g->config = arg; return 1;
	case OPT_STORAGE: g->storage = arg; return 1;
	case 'h': g->conn.host = arg; return 1;
	case 'p': g->conn.port = arg; return 1;
	case 'U': g->conn.user = arg; return 1;
	case OPT_MAINTDB: g->conn.maintdb = arg; return 1;
	case OPT_SERVER: g->server_cli = arg; return 1;
	case OPT_QUIET: case 'q': pv_log_set_level(PV_LOG_QUIET); return 1;
	case OPT_VERBOSE: case 'v': pv_log_set_level(PV_LOG_VERBOSE); return 1;
	default: return 0;
	}
}

int
pv_usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "pgvault%s%s: %s\nTry \"pgvault %s%s--help\" for more information.\n",
	        cmd ? " " : "", cmd ? cmd : "", msg, cmd ? cmd : "", cmd ? " " : "");
	return PV_EXIT_USAGE;
}

/* [security] signing_key_file: a file only its owner can read (the key signs bundles and
 * restores trust it), at least 16 bytes (a trailing newline is not part of the key). */
static int
load_signing_key(pv_global *g)
{
	const char *path = pv_config_get(g->cfg, NULL, "security", "signing_key_file");
	if (!path || g->sign_key.len)
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		pv_fail("signing key file %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		close(fd);
		return pv_fail("signing key file %s can be read or written by others (mode %03o): "
		               "chmod 600 it", path, (unsigned)(st.st_mode & 0777));
	}
	char buf[4097];
	ssize_t n = read(fd, buf, sizeof buf);
	close(fd);
	if (n < 0)
		return pv_fail("signing key file %s: %s", path, strerror(errno));
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n < 16 || n >= (ssize_t)sizeof buf - 1) {
		memset(buf, 0, sizeof buf);
		return pv_fail("signing key file %s: the key must have 16 to 4096 bytes", path);
	}
	pv_buf_add(&g->sign_key, buf, (size_t)n);
	memset(buf, 0, sizeof buf);
	pv_bundle_require_signature(g->sign_key.data, g->sign_key.len);
	return 0;
}

void
pv_global_free(pv_global *g)
{
	pv_config_free(g->cfg);
	g->cfg = NULL;
	free(g->server_storage);
	g->server_storage = NULL;
	json_decref(g->servers);
	g->servers = NULL;
	if (g->sign_key.data)
		memset(g->sign_key.data, 0, g->sign_key.len);
	pv_buf_free(&g->sign_key);
}

int
pv_setup(pv_global *g)
{
	/* every user on the machine reads a process's arguments (ps) */
	if (!g->cfg && g->conn.maintdb && pv_conninfo_has_password(g->conn.maintdb))
		return pv_usage_error(NULL, "--maintenance-db holds a password, which every user of this "
		                      "machine can read in the process list; put it in a password file "
		                      "(PGPASSFILE) or the configuration file's [connection] password");
	if (!g->cfg) {
		g->cfg = pv_config_load(g->config);
		if (!g->cfg || pv_config_problems(g->cfg, pv_key_used, g) < 0) {
			pv_error("%s", pv_errmsg());
			return PV_EXIT_USAGE;
		}
	}
	if (!g->setup) {
		g->setup = 1;
		g->conn_cli = g->conn;
		g->storage_cli = g->storage;
		g->servers = pv_config_servers(g->cfg);
	}
	int rc = pv_use_server(g, g->server_cli);
	if (rc != PV_EXIT_OK)
		return rc;
	if (load_signing_key(g) < 0) {
		pv_error("%s", pv_errmsg());
		return PV_EXIT_USAGE;
	}
	return PV_EXIT_OK;
}

const char **
pv_server_list(pv_global *g, int *n)
{
	size_t k = g->server_cli ? 0 : json_array_size(g->servers);
	const char **v = pv_calloc(k + 1, sizeof *v);
	for (size_t i = 0; i < k; i++)
		v[i] = json_string_value(json_array_get(g->servers, i));
	*n = k ? (int)k : 1;
	return v;
}

int
pv_use_server(pv_global *g, const char *name)
{
	pv_config *c = g->cfg;
	if (name) {
		int found = 0;
		for (size_t i = 0; i < json_array_size(g->servers) && !found; i++)
			found = strcmp(json_string_value(json_array_get(g->servers, i)), name) == 0;
		if (!found)
			return pv_usage_error(NULL, "no server \"%s\": the configuration has no [server:%s] "
			                      "section", name, name);
	}
	g->server = name;
	pv_config_set_server(c, name);
	g->conn = g->conn_cli;
	if (!g->conn.host)
		g->conn.host = pv_config_get(c, NULL, "connection", "host");
	if (!g->conn.port)
		g->conn.port = pv_config_get(c, NULL, "connection", "port");
	if (!g->conn.user)
		g->conn.user = pv_config_get(c, NULL, "connection", "user");
	if (!g->conn.maintdb)
		g->conn.maintdb = pv_config_get(c, NULL, "connection", "maintenance_db");
	g->conn.password = pv_config_get(c, NULL, "connection", "password");
	/* restores and what else writes need the primary: a backup says where it reads */
	g->conn.target_session_attrs = "read-write";
	long v;
	pv_config_int(c, NULL, "connection", "retries", 3, &v);
	g->conn.retries = (int)v;
	pv_config_seconds(c, NULL, "connection", "retry_delay", 2, &v);
	g->conn.retry_delay = (int)v;
	g->storage = g->storage_cli;
	if (!g->storage)
		g->storage = pv_config_get(c, NULL, "storage", "dir");
	if (!g->storage)
		g->storage = PV_DEFAULT_STORAGE;
	/* each server's bundles apart, so that two databases "app" never mix */
	free(g->server_storage);
	g->server_storage = name ? pv_asprintf("%s/@%s", g->storage, name) : NULL;
	if (name)
		g->storage = g->server_storage;
	return PV_EXIT_OK;
}

static int
table_reads(const pv_opt *t, const char *section, const char *key)
{
	for (; t && t->kind != PV_OPTK_END; t++)
		if ((t->kind == PV_OPTK_INCLUDE && table_reads(t->include, section, key)) ||
		    (t->section && strcmp(t->section, section) == 0 && (!key || strcmp(t->key, key) == 0)))
			return 1;
	return 0;
}

int
pv_key_used(void *ud, const char *section, const char *key)
{
	const pv_global *g = ud;
	return !g->cmd || table_reads(g->cmd->opts, section, key) || table_reads(pv_global_opts, section, key);
}

static const char *
storage_dir(pv_global *g)
{
	return g->storage ? g->storage : PV_DEFAULT_STORAGE;
}

static pv_s3 *
open_s3(pv_global *g)
{
	pv_config *c = g->cfg;
	const char *bucket = pv_config_get(c, NULL, "s3", "bucket");
	if (!bucket) {
		pv_error("no S3 storage configured ([s3] bucket and endpoint in %s)", pv_config_path(c));
		return NULL;
	}
	pv_s3_opts o;
	memset(&o, 0, sizeof o);
	o.endpoint = pv_config_get(c, NULL, "s3", "endpoint");
	o.region = pv_config_get(c, NULL, "s3", "region");
	if (!o.region)
		o.region = getenv("AWS_REGION");
	o.bucket = bucket;
	o.prefix = pv_config_get(c, NULL, "s3", "prefix");
	/* a server's bundles under @NAME/ there too (pv_s3_new copies the prefix) */
	char *server_prefix = NULL;
	if (g->server) {
		size_t n = o.prefix ? strlen(o.prefix) : 0;
		server_prefix = pv_asprintf("%s%s@%s", n ? o.prefix : "", n && o.prefix[n - 1] != '/' ? "/" : "",
		                            g->server);
		o.prefix = server_prefix;
	}
	const char *style = pv_config_get(c, NULL, "s3", "url_style");
	o.path_style = !style || strcmp(style, "path") == 0;
	/* the standard AWS_* environment, else the (0600) configuration file */
	o.access_key = getenv("AWS_ACCESS_KEY_ID");
	o.secret_key = getenv("AWS_SECRET_ACCESS_KEY");
	o.session_token = getenv("AWS_SESSION_TOKEN");
	if (!o.access_key || !o.secret_key) {
		o.access_key = pv_config_get(c, NULL, "s3", "access_key_id");
		o.secret_key = pv_config_get(c, NULL, "s3", "secret_access_key");
		o.session_token = pv_config_get(c, NULL, "s3", "session_token");
	}
	o.ca_file = pv_config_get(c, NULL, "s3", "ca_file");
	const char *ps = getenv("PGVAULT_S3_PART_SIZE"); /* tests force small parts */
	if (ps && atol(ps) > 0) {
		o.part_size = (size_t)atol(ps);
		o.allow_small_parts = 1;
	}
	pv_s3 *s3 = pv_s3_new(&o);
	free(server_prefix);
	if (!s3)
		pv_error("%s", pv_errmsg());
	return s3;
}

pv_repo *
pv_open_repo(pv_global *g, int remote)
{
	if (!remote) {
		/* a mistyped --storage reads as "no bundles": say so (backup and restore create it) */
		struct stat st;
		if (g->cmd && strcmp(g->cmd->name, "backup") != 0 && strcmp(g->cmd->name, "restore") != 0 &&
		    stat(storage_dir(g), &st) < 0 && errno == ENOENT)
			pv_warn("the storage directory %s does not exist", storage_dir(g));
		return pv_repo_local(storage_dir(g));
	}
	pv_s3 *s3 = open_s3(g);
	if (!s3)
		return NULL;
	pv_repo *r = pv_repo_s3(s3, storage_dir(g));
	/* [security] encryption_key_file: what goes there is encrypted; older keys read too */
	const char *keyfile = pv_config_get(g->cfg, NULL, "security", "encryption_key_file");
	pv_keyring *keys = NULL;
	if (keyfile) {
		json_t *old = pv_config_list(g->cfg, NULL, "security", "decryption_key_files");
		const char **older = pv_calloc(json_array_size(old) + 1, sizeof *older);
		for (size_t i = 0; i < json_array_size(old); i++)
			older[i] = json_string_value(json_array_get(old, i));
		keys = pv_keyring_load(keyfile, older);
		free(older);
		json_decref(old);
		if (!keys) {
			pv_error("%s", pv_errmsg());
			pv_repo_free(r);
			return NULL;
		}
	}
	return pv_repo_encrypted(r, keys, storage_dir(g));
}

pv_lock *
pv_read_lock(pv_global *g, pv_repo *r)
{
	long timeout = 0;
	pv_config_seconds(g->cfg, NULL, "backup", "lock_timeout", 0, &timeout);
	return pv_repo_lock(r, NULL, 0, timeout > 60 ? timeout : 60);
}

int
pv_each_storage(pv_global *g, int (*fn)(pv_global *g, void *arg), void *arg)
{
	int n, sum = 0;
	const char **servers = pv_server_list(g, &n);
	for (int sv = servers[0] ? -1 : 0; sv < n; sv++) {
		if (servers[0] && pv_use_server(g, sv < 0 ? NULL : servers[sv]) != PV_EXIT_OK) {
			sum = -1;
			break;
		}
		int k = fn(g, arg);
		if (k < 0) {
			sum = -1;
			break;
		}
		sum += k;
	}
	if (servers[0])
		(void)pv_use_server(g, g->server_cli); /* (known: it was set up) */
	free(servers);
	return sum;
}

const char **
pv_server_refs(pv_global *g, const char *cmd, int argc, char **argv, int from)
{
	const char **refs = pv_calloc((size_t)(argc > from ? argc - from : 0) + 1, sizeof *refs);
	const char *chosen = NULL;
	for (int k = from; k < argc; k++) {
		const char *ref = pv_server_ref(g, argv[k]);
		if (!ref || (k > from && g->server != chosen)) {
			if (ref)
				pv_usage_error(cmd, "the bundles of one server at a time");
			free(refs);
			return NULL;
		}
		chosen = g->server;
		refs[k - from] = ref;
	}
	return refs;
}

const char *
pv_server_ref(pv_global *g, const char *arg)
{
	const char *slash = strchr(arg, '/');
	struct stat st;
	/* (a file of that name is the file) */
	if (!slash || g->server_cli || stat(arg, &st) == 0)
		return arg;
	for (size_t i = 0; i < json_array_size(g->servers); i++) {
		const char *name = json_string_value(json_array_get(g->servers, i));
		if (strlen(name) == (size_t)(slash - arg) && strncmp(arg, name, strlen(name)) == 0)
			return pv_use_server(g, name) == PV_EXIT_OK ? slash + 1 : NULL;
	}
	return arg;
}

int
pv_bundle_arg_is_path(const char *arg)
{
	size_t n = strlen(arg);
	return strchr(arg, '/') || (n > 4 && strcmp(arg + n - 4, PV_BUNDLE_SUFFIX) == 0);
}

pv_repo_reader *
pv_open_bundle(pv_global *g, pv_repo *r, const char *arg)
{
	if (pv_bundle_arg_is_path(arg)) {
		struct stat st;
		if (stat(arg, &st) < 0) {
			pv_fail("%s: %s", arg, strerror(errno));
			return NULL;
		}
		if (!S_ISREG(st.st_mode)) {
			pv_fail("%s is not a pgvault bundle (not a regular file)", arg);
			return NULL;
		}
		return pv_repo_open_file(arg);
	}
	/* a local storage that does not exist has nothing to lock, and is not created by a read */
	struct stat sst;
	int lock = strcmp(pv_repo_kind(r), "local") != 0 || stat(storage_dir(g), &sst) == 0;
	pv_lock *l = NULL;
	if (lock && (l = pv_read_lock(g, r)) == NULL)
		return NULL;
	pv_entries all;
	pv_repo_reader *rd = NULL;
	if (pv_repo_list(r, NULL, &all) == 0) {
		const pv_entry *e = pv_entries_pick(&all, arg, pv_repo_describe(r));
		rd = e ? pv_repo_open(r, e) : NULL;
		pv_entries_free(&all);
	}
	pv_lock_release(l);
	return rd;
}

/* ---- upload ---------------------------------------------------------------------------- */

/* The bytes of rd into a new bundle `name` of dst, committed with sidecar. */
static int
copy_bundle(pv_repo_reader *rd, pv_repo *dst, const char *name, json_t *sidecar, int64_t *size)
{
	pv_repo_out *o = pv_repo_create_named(dst, name);
	if (!o)
		return -1;
	pv_sink *sink = pv_out_sink(o);
	char *buf = pv_malloc(1u << 20);
	int fd = pv_reader_fd(rd), rc = 0;
	ssize_t n;
	while (rc == 0 && (n = read(fd, buf, 1u << 20)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = pv_fail("reading %s: %s", pv_reader_where(rd), strerror(errno));
		else if ((rc = sink->write(sink, buf, (size_t)n)) == 0)
			pv_progress_add(n, 0);
	}
	free(buf);
	int back = -1;
	if (rc == 0 && pv_out_finish(o, &back) == 0 && pv_out_commit(o, sidecar) == 0)
		*size = pv_out_bytes(o);
	else
		rc = -1;
	if (back >= 0)
		close(back);
	pv_out_free(o);
	return rc;
}

/* e's sidecar without the mark of a failed upload (a new reference) */
static json_t *
unmarked(const pv_entry *e)
{
	if (!json_object_get(e->sidecar, PV_SIDECAR_UPLOAD_FAILED))
		return json_incref(e->sidecar);
	json_t *s = json_deep_copy(e->sidecar);
	if (s)
		json_object_del(s, PV_SIDECAR_UPLOAD_FAILED);
	return s;
}

int
pv_upload_bundle(pv_global *g, pv_repo *src, pv_repo *dst, const pv_entry *e)
{
	int64_t rsize = 0, size = 0;
	int side = 0, rc = -1;
	json_t *sidecar = unmarked(e);
	if (!sidecar)
		return pv_fail("uploading %s: out of memory", e->id);
	int there = pv_repo_stat(dst, e->name, &rsize, &side);
	if (there == 1 && rsize == e->size) {
		if (side) {
			pv_info("%s is in %s already", e->id, pv_repo_describe(dst));
			rc = 0;
		} else if ((rc = pv_repo_put_sidecar(dst, e->name, sidecar)) == 0) {
			pv_info("%s: %s had the bundle without its sidecar manifest; uploaded it", e->id,
			        pv_repo_describe(dst));
		}
	} else if (there >= 0) {
		/* opened under the local storage's shared lock: prune cannot delete it meanwhile */
		pv_lock *l = pv_read_lock(g, src);
		pv_repo_reader *rd = l ? pv_repo_open(src, e) : NULL;
		pv_lock_release(l);
		char *what = pv_asprintf("uploading %s", e->id);
		pv_progress_begin(what, e->size, 0, "sent");
		free(what);
		rc = rd ? copy_bundle(rd, dst, e->name, sidecar, &size) : -1;
		pv_progress_end();
		if (rc == 0)
			pv_info("uploaded %s (%lld bytes)", e->id, (long long)size);
		pv_reader_close(rd);
	}
	/* uploaded: the local bundle is no longer marked (under the shared lock, so that prune
	 * does not delete it meanwhile) */
	if (rc == 0 && sidecar != e->sidecar) {
		pv_lock *l = pv_read_lock(g, src);
		rc = l ? pv_repo_put_sidecar(src, e->name, sidecar) : -1;
		pv_lock_release(l);
		if (rc < 0)
			pv_wrap("uploaded, but marking the bundle here so");
	}
	json_decref(sidecar);
	if (rc < 0)
		return pv_wrap("uploading %s", e->id);
	return 0;
}
