/*
 * store/local.c — the local directory store (see store.h).
 */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/names.h"
#include "util/sigsafe.h"

struct pv_store {
	char *dir;
};

/* The temporary file being written, for pv_store_signal_cleanup() (one at a time). */
static char signal_tmp_buf[4096];
static _Atomic(const char *) signal_tmp; /* signal_tmp_buf, or NULL (util/sigsafe.h) */

struct pv_bundle_out {
	pv_store *store;
	char *dbdir;
	char *id;
	char *path;     /* final */
	char *tmp;      /* temporary bundle */
	char *sidecar;  /* final sidecar */
	int fd;
	int committed;
	pv_sink sink;
};

pv_store *
pv_store_local(const char *dir)
{
	pv_store *s = pv_calloc(1, sizeof *s);
	s->dir = pv_strdup(dir);
	return s;
}

void
pv_store_free(pv_store *s)
{
	if (!s)
		return;
	free(s->dir);
	free(s);
}

const char *
pv_store_dir(pv_store *s)
{
	return s->dir;
}

static int
mkdir_p(const char *path)
{
	char *p = pv_strdup(path);
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			int e = errno;
			free(p);
			return pv_fail("cannot create directory %s: %s", path, strerror(e));
		}
		*c = '/';
	}
	free(p);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return pv_fail("cannot create directory %s: %s", path, strerror(errno));
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return pv_fail("storage path %s is not a directory", path);
	return 0;
}

static int
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return pv_fail("cannot open directory %s: %s", dir, strerror(errno));
	int rc = fsync(fd);
	close(fd);
	if (rc < 0)
		return pv_fail("cannot fsync directory %s: %s", dir, strerror(errno));
	return 0;
}

static int
sink_write(pv_sink *s, const void *data, size_t len)
{
	pv_bundle_out *o = s->ctx;
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(o->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return pv_fail("writing %s: %s", o->tmp, strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ".<id>.pgv.tmp.<pid>" and ".<id>.manifest.json.tmp.<pid>" */
static int
is_tmp_name(const char *name, long *pid)
{
	if (name[0] != '.')
		return 0;
	const char *t = strstr(name, ".tmp.");
	if (!t)
		return 0;
	char *end;
	long p = strtol(t + 5, &end, 10);
	if (*end || p <= 0)
		return 0;
	*pid = p;
	return 1;
}

static int
cleanup_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int removed = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		long pid;
		size_t n = strlen(e->d_name), sl = strlen(".manifest.json");
		if (e->d_name[0] != '.' && n > sl && strcmp(e->d_name + n - sl, ".manifest.json") == 0) {
			/* a sidecar whose bundle is gone (a prune killed between the two deletions; a
			 * commit renames the bundle first, so no sidecar ever waits for its bundle) */
			char *side = pv_asprintf("%s/%s", dir, e->d_name);
			char *bundle = pv_asprintf("%s/%.*s.pgv", dir, (int)(n - sl), e->d_name);
			struct stat st;
			if (stat(bundle, &st) < 0 && errno == ENOENT && unlink(side) == 0) {
				removed++;
				pv_info("removed %s, whose bundle was deleted by an interrupted run", side);
			}
			free(side);
			free(bundle);
			continue;
		}
		if (!is_tmp_name(e->d_name, &pid))
			continue;
		if (pid == (long)getpid() || (kill((pid_t)pid, 0) == 0 || errno == EPERM))
			continue; /* still being written */
		char *p = pv_asprintf("%s/%s", dir, e->d_name);
		if (unlink(p) == 0) {
			removed++;
			pv_info("removed %s, left by an interrupted run", p);
		}
		free(p);
	}
	closedir(d);
	return removed;
}

int
pv_store_cleanup(pv_store *s, const char *db)
{
	/* the storage directory itself: downloads of dead restores (.download.ID.tmp.PID) */
	int n = cleanup_dir(s->dir);
	if (db) {
		char *fs = pv_fsname(db);
		char *dir = pv_asprintf("%s/%s", s->dir, fs);
		n += cleanup_dir(dir);
		free(fs);
		free(dir);
		return n;
	}
	DIR *d = opendir(s->dir);
	if (!d)
		return n;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char *dir = pv_asprintf("%s/%s", s->dir, e->d_name);
		n += cleanup_dir(dir);
		free(dir);
	}
	closedir(d);
	return n;
}

pv_bundle_out *
pv_store_create(pv_store *s, const char *db, time_t when, const char *tag)
{
	char stamp[17];
	pv_stamp(when, stamp);
	char *fs = pv_fsname(db);
	pv_bundle_out *o = pv_calloc(1, sizeof *o);
	o->store = s;
	o->fd = -1;
	o->dbdir = pv_asprintf("%s/%s", s->dir, fs);
	if (mkdir_p(s->dir) < 0 || mkdir_p(o->dbdir) < 0) {
		free(fs);
		pv_out_free(o);
		return NULL;
	}
	cleanup_dir(o->dbdir);
	for (int n = 1;; n++) {
		char suffix[16] = "";
		if (n > 1)
			snprintf(suffix, sizeof suffix, "-%d", n);
		free(o->id);
		o->id = pv_asprintf("%s_%s%s%s%s", fs, stamp, suffix, tag ? "_" : "", tag ? tag : "");
		free(o->path);
		o->path = pv_asprintf("%s/%s.pgv", o->dbdir, o->id);
		struct stat st;
		if (stat(o->path, &st) < 0 && errno == ENOENT)
			break;
	}
	free(fs);
	o->sidecar = pv_asprintf("%s/%s.manifest.json", o->dbdir, o->id);
	o->tmp = pv_asprintf("%s/.%s.pgv.tmp.%ld", o->dbdir, o->id, (long)getpid());
	o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (o->fd < 0) {
		pv_fail("cannot create %s: %s", o->tmp, strerror(errno));
		pv_out_free(o);
		return NULL;
	}
	o->sink.write = sink_write;
	o->sink.ctx = o;
	atomic_store(&signal_tmp, NULL);
	pv_signal_quiesce();
	if (strlen(o->tmp) < sizeof signal_tmp_buf) {
		memcpy(signal_tmp_buf, o->tmp, strlen(o->tmp) + 1);
		atomic_store(&signal_tmp, signal_tmp_buf);
	}
	return o;
}

char *
pv_store_lock_path(pv_store *s, const char *db)
{
	if (mkdir_p(s->dir) < 0)
		return NULL;
	if (!db)
		return pv_asprintf("%s/.lock", s->dir);
	char *fs = pv_fsname(db);
	char *dir = pv_asprintf("%s/%s", s->dir, fs);
	free(fs);
	if (mkdir_p(dir) < 0) {
		free(dir);
		return NULL;
	}
	char *p = pv_asprintf("%s/.lock", dir);
	free(dir);
	return p;
}

const char *
pv_out_id(pv_bundle_out *o)
{
	return o->id;
}

const char *
pv_out_path(pv_bundle_out *o)
{
	return o->path;
}

pv_sink *
pv_out_sink(pv_bundle_out *o)
{
	return &o->sink;
}

int
pv_out_finish_writing(pv_bundle_out *o, int *fd_read)
{
	if (fsync(o->fd) < 0)
		return pv_fail("cannot fsync %s: %s", o->tmp, strerror(errno));
	if (close(o->fd) < 0) {
		o->fd = -1;
		return pv_fail("cannot close %s: %s", o->tmp, strerror(errno));
	}
	o->fd = -1;
	*fd_read = open(o->tmp, O_RDONLY | O_CLOEXEC);
	if (*fd_read < 0)
		return pv_fail("cannot reopen %s: %s", o->tmp, strerror(errno));
	return 0;
}

static int
write_file_atomic(const char *final, const char *data, size_t len, int rename_now, char **tmp_out)
{
	char *tmp = NULL;
	const char *slash = strrchr(final, '/');
	tmp = pv_asprintf("%.*s/.%s.tmp.%ld", (int)(slash - final), final, slash + 1, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		pv_fail("cannot create %s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			pv_fail("writing %s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			free(tmp);
			return -1;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		pv_fail("cannot write %s: %s", tmp, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	if (rename_now) {
		if (rename(tmp, final) < 0) {
			pv_fail("cannot rename %s: %s", tmp, strerror(errno));
			unlink(tmp);
			free(tmp);
			return -1;
		}
		free(tmp);
	} else {
		*tmp_out = tmp;
	}
	return 0;
}

int
pv_out_commit(pv_bundle_out *o, json_t *sidecar)
{
	char *text = pvj_dumps(sidecar, JSON_INDENT(1) | JSON_SORT_KEYS, PVJ_UTF8, "the sidecar manifest");
	char *tmp_sidecar = NULL;
	if (!text)
		return -1;
	size_t len = strlen(text);
	char *withnl = pv_asprintf("%s\n", text);
	free(text);
	int rc = write_file_atomic(o->sidecar, withnl, len + 1, 0, &tmp_sidecar);
	free(withnl);
	if (rc < 0)
		return -1;
	/* The bundle first, then its sidecar: `list` shows a bundle only once both exist. */
	if (rename(o->tmp, o->path) < 0) {
		rc = pv_fail("cannot rename %s to %s: %s", o->tmp, o->path, strerror(errno));
		unlink(tmp_sidecar);
		free(tmp_sidecar);
		return rc;
	}
	o->committed = 1;
	if (rename(tmp_sidecar, o->sidecar) < 0) {
		rc = pv_fail("cannot rename %s: %s", tmp_sidecar, strerror(errno));
		unlink(tmp_sidecar);
		free(tmp_sidecar);
		return rc;
	}
	free(tmp_sidecar);
	return fsync_dir(o->dbdir);
}

void
pv_store_signal_cleanup(void)
{
	const char *p = atomic_load(&signal_tmp);
	if (p)
		unlink(p);
}

void
pv_out_free(pv_bundle_out *o)
{
	if (!o)
		return;
	atomic_store(&signal_tmp, NULL);
	if (o->fd >= 0)
		close(o->fd);
	if (!o->committed && o->tmp)
		unlink(o->tmp);
	free(o->dbdir);
	free(o->id);
	free(o->path);
	free(o->tmp);
	free(o->sidecar);
	free(o);
}

/* ---- listing ---------------------------------------------------------------------------- */

static json_t *
read_sidecar(const char *path)
{
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	if (!j)
		pv_warn("ignoring unreadable sidecar %s: %s (line %d)", path, e.text, e.line);
	return j;
}

/* 0, or -1 when an entry cannot be stored */
static int
list_dir(const char *dir, json_t *out)
{
	DIR *d = opendir(dir);
	int bad = 0;
	if (!d)
		return 0;
	struct dirent *e;
	const char *suf = ".manifest.json";
	size_t sl = strlen(suf);
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (e->d_name[0] == '.' || n <= sl || strcmp(e->d_name + n - sl, suf) != 0)
			continue;
		char *sp = pv_asprintf("%s/%s", dir, e->d_name);
		char *bp = pv_asprintf("%s/%.*s.pgv", dir, (int)(n - sl), e->d_name);
		struct stat st;
		json_t *j = NULL;
		if (stat(bp, &st) == 0 && (j = read_sidecar(sp)) != NULL && json_is_object(j)) {
			char *id = pv_strndup(e->d_name, n - sl);
			bad |= pvj_set_str(j, "id", id);
			bad |= pvj_set_str(j, "path", bp);
			bad |= pvj_set_str(j, "sidecar", sp);
			bad |= pvj_set_int(j, "size", st.st_size);
			bad |= pvj_append(out, j);
			free(id);
		} else if (j) {
			json_decref(j);
		}
		free(sp);
		free(bp);
	}
	closedir(d);
	return bad;
}

static int
entry_cmp(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *dx = json_string_value(json_object_get(x, "database"));
	const char *dy = json_string_value(json_object_get(y, "database"));
	int c = strcmp(dx ? dx : "", dy ? dy : "");
	if (c)
		return c;
	json_int_t tx = json_integer_value(json_object_get(x, "snapshot_epoch"));
	json_int_t ty = json_integer_value(json_object_get(y, "snapshot_epoch"));
	if (tx != ty)
		return tx < ty ? -1 : 1;
	return strcmp(json_string_value(json_object_get(x, "id")),
	              json_string_value(json_object_get(y, "id")));
}

json_t *
pv_store_list(pv_store *s, const char *db)
{
	json_t *all = json_array();
	int bad = 0;
	if (db) {
		char *fs = pv_fsname(db);
		char *dir = pv_asprintf("%s/%s", s->dir, fs);
		bad |= list_dir(dir, all);
		free(fs);
		free(dir);
	} else {
		DIR *d = opendir(s->dir);
		if (!d && errno != ENOENT) {
			json_decref(all);
			pv_fail("cannot read storage directory %s: %s", s->dir, strerror(errno));
			return NULL;
		}
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			char *dir = pv_asprintf("%s/%s", s->dir, e->d_name);
			bad |= list_dir(dir, all);
			free(dir);
		}
		if (d)
			closedir(d);
	}
	/* sort */
	size_t n = json_array_size(all);
	json_t **v = pv_malloc((n ? n : 1) * sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(all, i));
	qsort(v, n, sizeof *v, entry_cmp);
	json_array_clear(all);
	for (size_t i = 0; i < n; i++)
		bad |= pvj_append(all, v[i]);
	free(v);
	if (bad) {
		json_decref(all);
		pv_wrap("listing bundles in %s", s->dir);
		return NULL;
	}
	return all;
}

int
pv_store_resolve(pv_store *s, const char *arg, char **path, json_t **sidecar)
{
	*path = NULL;
	*sidecar = NULL;
	size_t n = strlen(arg);
	if (strchr(arg, '/') || (n > 4 && strcmp(arg + n - 4, ".pgv") == 0)) {
		struct stat st;
		if (stat(arg, &st) < 0)
			return pv_fail("%s: %s", arg, strerror(errno));
		if (!S_ISREG(st.st_mode))
			return pv_fail("%s is not a pgvault bundle (not a regular file)", arg);
		*path = pv_strdup(arg);
		return 0;
	}
	json_t *all = pv_store_list(s, NULL);
	json_t *best = all ? pv_pick_bundle(all, arg, s->dir) : NULL;
	if (!best) {
		json_decref(all);
		return -1;
	}
	*path = pv_strdup(json_string_value(json_object_get(best, "path")));
	*sidecar = json_incref(best);
	json_decref(all);
	return 0;
}

json_t *
pv_pick_bundle(json_t *all, const char *arg, const char *where)
{
	const char *at = strrchr(arg, '@');
	json_t *best = NULL;
	size_t i;
	json_t *e;
	if (at) {
		char *db = pv_strndup(arg, (size_t)(at - arg));
		const char *when = at + 1;
		time_t limit = 0;
		int latest = strcmp(when, "latest") == 0;
		if (!latest && pv_parse_time(when, &limit) < 0) {
			free(db);
			pv_fail_code(PV_EXIT_USAGE, "%s: expected DB@latest or DB@YYYY-MM-DDTHH:MM:SSZ", arg);
			return NULL;
		}
		json_array_foreach(all, i, e) {
			const char *edb = json_string_value(json_object_get(e, "database"));
			if (!json_is_true(json_object_get(e, "verified")) || !edb || strcmp(edb, db) != 0)
				continue;
			json_int_t t = json_integer_value(json_object_get(e, "snapshot_epoch"));
			if (!latest && t > (json_int_t)limit)
				continue;
			if (!best || t >= json_integer_value(json_object_get(best, "snapshot_epoch")))
				best = e;
		}
		free(db);
		if (!best)
			pv_fail("no verified bundle matches %s in %s", arg, where);
		return best;
	}
	json_array_foreach(all, i, e)
		if (strcmp(json_string_value(json_object_get(e, "id")), arg) == 0)
			best = e;
	if (!best)
		pv_fail("no bundle with id %s in %s", arg, where);
	return best;
}
