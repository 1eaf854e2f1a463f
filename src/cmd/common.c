/*
 * cmd/common.c — what the commands share: global options, usage errors, the store.
 */
#include <stdarg.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>
#include <stdlib.h>

#include "bundle/bundle.h"
#include "cmd/cmd.h"
#include "ops/lock.h"
#include "store/s3.h"
#include "util/names.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"

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
		if (!g->cfg) {
			pv_error("%s", pv_errmsg());
			return PV_EXIT_USAGE;
		}
	}
	pv_config *c = g->cfg;
	if (!g->conn.host)
		g->conn.host = pv_config_get(c, NULL, "connection", "host");
	if (!g->conn.port)
		g->conn.port = pv_config_get(c, NULL, "connection", "port");
	if (!g->conn.user)
		g->conn.user = pv_config_get(c, NULL, "connection", "user");
	if (!g->conn.maintdb)
		g->conn.maintdb = pv_config_get(c, NULL, "connection", "maintenance_db");
	g->conn.password = pv_config_get(c, NULL, "connection", "password");
	long v;
	pv_config_int(c, NULL, "connection", "retries", 3, &v);
	g->conn.retries = (int)v;
	pv_config_seconds(c, NULL, "connection", "retry_delay", 2, &v);
	g->conn.retry_delay = (int)v;
	if (!g->storage)
		g->storage = pv_config_get(c, NULL, "storage", "dir");
	if (!g->storage)
		g->storage = PV_DEFAULT_STORAGE;
	if (load_signing_key(g) < 0) {
		pv_error("%s", pv_errmsg());
		return PV_EXIT_USAGE;
	}
	return PV_EXIT_OK;
}

pv_store *
pv_open_store(pv_global *g)
{
	return pv_store_local(g->storage ? g->storage : PV_DEFAULT_STORAGE);
}

pv_lock *
pv_read_lock(pv_global *g, pv_store *st)
{
	long timeout = 0;
	pv_config_seconds(g->cfg, NULL, "backup", "lock_timeout", 0, &timeout);
	char *lpath = pv_store_lock_path(st, NULL);
	pv_lock *l = lpath ? pv_lock_take(lpath, 0, timeout > 60 ? timeout : 60, "the storage location") : NULL;
	free(lpath);
	return l;
}

int
pv_open_bundle(pv_global *g, pv_store *st, const char *arg, char **path, json_t **side)
{
	/* a file named by its path is the caller's; a storage that does not exist has nothing
	 * to lock (and is not created by a read) */
	size_t n = strlen(arg);
	struct stat sst;
	int in_store = !strchr(arg, '/') && !(n > 4 && strcmp(arg + n - 4, ".pgv") == 0) &&
	               stat(g->storage ? g->storage : PV_DEFAULT_STORAGE, &sst) == 0;
	pv_lock *l = NULL;
	if (in_store && (l = pv_read_lock(g, st)) == NULL)
		return -1;
	int fd = -1;
	*path = NULL;
	*side = NULL;
	if (pv_store_resolve(st, arg, path, side) == 0) {
		fd = open(*path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			pv_fail("%s: %s", *path, strerror(errno));
	}
	pv_lock_release(l);
	return fd;
}

pv_s3 *
pv_open_s3(pv_global *g)
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
	if (!s3)
		pv_error("%s", pv_errmsg());
	return s3;
}

json_t *
pv_remote_list(pv_s3 *s3, const char *db)
{
	char *sub = NULL;
	if (db) {
		char *fs = pv_fsname(db);
		sub = pv_asprintf("%s/", fs);
		free(fs);
	}
	json_t *objs = pv_s3_list(s3, sub);
	free(sub);
	if (!objs)
		return NULL;
	json_t *out = json_array();
	const char *suf = ".manifest.json";
	size_t sl = strlen(suf), i;
	json_t *o;
	int bad = 0;
	json_array_foreach(objs, i, o) {
		const char *key = json_string_value(json_object_get(o, "key"));
		size_t n = strlen(key);
		if (n <= sl || strcmp(key + n - sl, suf) != 0)
			continue;
		char *bkey = pv_asprintf("%.*s.pgv", (int)(n - sl), key);
		json_t *bundle = NULL;
		size_t k;
		json_t *b;
		json_array_foreach(objs, k, b)
			if (strcmp(json_string_value(json_object_get(b, "key")), bkey) == 0)
				bundle = b;
		pv_buf text = PV_BUF_INIT;
		json_t *side = NULL;
		if (bundle && pv_s3_get(s3, key, &text, 16u << 20) == 0)
			side = json_loads(text.data ? text.data : "", 0, NULL);
		pv_buf_free(&text);
		if (side && json_is_object(side)) {
			const char *slash = strrchr(bkey, '/');
			char *id = pv_strndup(slash ? slash + 1 : bkey, strlen(slash ? slash + 1 : bkey) - 4);
			char *url = pv_s3_describe(s3, bkey);
			bad |= pvj_set_str(side, "id", id);
			bad |= pvj_set_str(side, "path", url);
			bad |= pvj_set_str(side, "key", bkey);
			bad |= pvj_set_copy(side, "size", json_object_get(bundle, "size"));
			bad |= pvj_set_str(side, "location", "s3");
			bad |= pvj_append_copy(out, side);
			free(id);
			free(url);
		}
		json_decref(side);
		free(bkey);
	}
	json_decref(objs);
	if (bad) {
		json_decref(out);
		pv_wrap("listing the remote bundles");
		return NULL;
	}
	return out;
}

void
pv_remote_cleanup(pv_s3 *s3, pv_global *g)
{
	json_t *ups = pv_s3_list_uploads(s3);
	size_t i;
	json_t *u;
	json_array_foreach(ups, i, u) {
		const char *key = json_string_value(json_object_get(u, "key"));
		const char *slash = key ? strrchr(key, '/') : NULL;
		size_t n = key ? strlen(key) : 0;
		if (!slash || n < 5 || strcmp(key + n - 4, ".pgv") != 0)
			continue;
		/* DIR/<db>/.<id>.pgv.tmp.<pid> of a live process means the upload is in progress */
		char *pattern = pv_asprintf("%s/%.*s/.%s.tmp.", g->storage, (int)(slash - key), key, slash + 1);
		char *dir = pv_asprintf("%s/%.*s", g->storage, (int)(slash - key), key);
		int live = 0;
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			char *full = pv_asprintf("%s/%s", dir, e->d_name);
			size_t pl = strlen(pattern);
			if (strncmp(full, pattern, pl) == 0) {
				long pid = strtol(full + pl, NULL, 10);
				if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
					live = 1;
			}
			free(full);
		}
		if (d)
			closedir(d);
		if (!live && pv_s3_abort_upload(s3, key, json_string_value(json_object_get(u, "upload_id"))) == 0)
			pv_info("aborted the incomplete upload of %s, left by an interrupted run", key);
		free(pattern);
		free(dir);
	}
	json_decref(ups);
}

char *
pv_remote_fetch(pv_global *g, pv_s3 *s3, json_t *entry, int *fd)
{
	*fd = -1;
	pv_store *st = pv_open_store(g);
	char *lock = pv_store_lock_path(st, NULL); /* creates the directory */
	if (lock)
		pv_store_cleanup(st, NULL); /* what killed runs left, downloads too */
	pv_store_free(st);
	if (!lock)
		return NULL;
	free(lock);
	char *path = pv_asprintf("%s/.download.%s.tmp.%ld", g->storage,
	                         json_string_value(json_object_get(entry, "id")), (long)getpid());
	*fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int64_t got = 0;
	if (*fd < 0) {
		pv_fail("cannot create %s: %s", path, strerror(errno));
	} else if (pv_s3_get_to_fd(s3, json_string_value(json_object_get(entry, "key")), *fd, &got) == 0 &&
	           lseek(*fd, 0, SEEK_SET) == 0) {
		return path;
	}
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	unlink(path);
	free(path);
	return NULL;
}
