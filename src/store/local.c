/*
 * store/local.c — the directory driver of the repository interface (store/repo.h):
 * DIR/<fs(db)>/<id>.pgv and its sidecar DIR/<fs(db)>/<id>.manifest.json, written under
 * temporary names (".<id>…tmp.PID"), fsynced, and renamed only once the bundle verified
 * (the bundle before its sidecar).  Lock files: DIR/.lock and DIR/<fs(db)>/.lock.
 */
#include "store/repo_int.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
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
#include "util/fsutil.h"
#include "util/json.h"
#include "util/log.h"
#include "util/names.h"
#include "util/sigsafe.h"

typedef struct local_repo {
	pv_repo base;
	char *dir;
} local_repo;

/* The temporary files being written, for pv_repo_signal_cleanup(): one slot per bundle
 * being written at once (databases backed up in parallel); a slot is claimed under slot_mu. */
#define TMP_SLOTS 64
static char signal_tmp_buf[TMP_SLOTS][4096];
static _Atomic(const char *) signal_tmp[TMP_SLOTS]; /* signal_tmp_buf[i], or NULL (util/sigsafe.h) */
static int slot_used[TMP_SLOTS];
static pthread_mutex_t slot_mu = PTHREAD_MUTEX_INITIALIZER;

typedef struct local_out {
	pv_repo_out base;
	char *dbdir;
	char *path;     /* final */
	char *tmp;      /* temporary bundle */
	char *sidecar;  /* final sidecar */
	int fd;
	int committed;
	int slot;       /* its signal_tmp slot, or -1 */
} local_out;

/* the storage directories: 0700, and a directory */
static int
mkdir_p(const char *path)
{
	return pv_mkdir_p(path, 0700);
}

static int
out_write(pv_repo_out *base, const void *data, size_t len)
{
	local_out *o = (local_out *)base;
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

static int
local_cleanup(pv_repo *r, const char *db)
{
	local_repo *s = (local_repo *)r;
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

static int
local_stat(pv_repo *r, const char *name, int64_t *size, int *has_sidecar)
{
	local_repo *s = (local_repo *)r;
	char *bp = pv_asprintf("%s/%s" PV_BUNDLE_SUFFIX, s->dir, name);
	char *sp = pv_asprintf("%s/%s" PV_SIDECAR_SUFFIX, s->dir, name);
	struct stat st;
	int rc = 1;
	if (stat(bp, &st) == 0) {
		*size = (int64_t)st.st_size;
		*has_sidecar = stat(sp, &st) == 0;
	} else if (errno == ENOENT || errno == ENOTDIR) {
		rc = 0;
	} else {
		rc = pv_fail("%s: %s", bp, strerror(errno));
	}
	free(bp);
	free(sp);
	return rc;
}

static const pv_out_ops local_out_ops;

static void local_out_free(pv_repo_out *base);

static pv_repo_out *
local_create(pv_repo *r, const char *name)
{
	local_repo *s = (local_repo *)r;
	local_out *o = pv_calloc(1, sizeof *o);
	const char *slash = strrchr(name, '/');
	o->fd = -1;
	o->slot = -1;
	o->path = pv_asprintf("%s/%s" PV_BUNDLE_SUFFIX, s->dir, name);
	pv_out_init(&o->base, &local_out_ops, name, pv_strdup(o->path));
	o->dbdir = pv_asprintf("%s/%.*s", s->dir, (int)(slash ? slash - name : 0), name);
	if (mkdir_p(s->dir) < 0 || mkdir_p(o->dbdir) < 0) {
		pv_out_free(&o->base);
		return NULL;
	}
	cleanup_dir(o->dbdir);
	o->sidecar = pv_asprintf("%s/%s" PV_SIDECAR_SUFFIX, s->dir, name);
	o->tmp = pv_asprintf("%s/.%s" PV_BUNDLE_SUFFIX ".tmp.%ld", o->dbdir, o->base.id, (long)getpid());
	o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (o->fd < 0) {
		pv_fail("cannot create %s: %s", o->tmp, strerror(errno));
		pv_out_free(&o->base);
		return NULL;
	}
	pthread_mutex_lock(&slot_mu);
	for (int i = 0; i < TMP_SLOTS && o->slot < 0; i++)
		if (!slot_used[i] && strlen(o->tmp) < sizeof signal_tmp_buf[i]) {
			slot_used[i] = 1;
			o->slot = i;
		}
	pthread_mutex_unlock(&slot_mu);
	if (o->slot >= 0) {
		memcpy(signal_tmp_buf[o->slot], o->tmp, strlen(o->tmp) + 1);
		atomic_store(&signal_tmp[o->slot], signal_tmp_buf[o->slot]);
	}
	return &o->base;
}

static char *
local_lock_path(pv_repo *r, const char *db)
{
	local_repo *s = (local_repo *)r;
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

static int
local_finish(pv_repo_out *base, int *fd_read)
{
	local_out *o = (local_out *)base;
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

/* the sidecar of a bundle: written beside it and renamed into place */
static int
put_sidecar_file(const char *final, json_t *sidecar)
{
	char *text = pv_sidecar_text(sidecar);
	int rc = text ? pv_write_file_atomic(final, text, strlen(text), 0600) : -1;
	free(text);
	return rc;
}

static int
local_put_sidecar(pv_repo *r, const char *name, json_t *sidecar)
{
	local_repo *s = (local_repo *)r;
	char *sp = pv_asprintf("%s/%s" PV_SIDECAR_SUFFIX, s->dir, name);
	int rc = put_sidecar_file(sp, sidecar);
	free(sp);
	return rc;
}

static int
local_commit(pv_repo_out *base, json_t *sidecar)
{
	local_out *o = (local_out *)base;
	char *text = pv_sidecar_text(sidecar);
	char *tmp_sidecar = NULL;
	if (!text)
		return -1;
	int rc = pv_write_file_staged(o->sidecar, text, strlen(text), 0600, &tmp_sidecar);
	free(text);
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
	return pv_fsync_dir(o->dbdir);
}

void
pv_repo_signal_cleanup(void)
{
	for (int i = 0; i < TMP_SLOTS; i++) {
		const char *p = atomic_load(&signal_tmp[i]);
		if (p)
			unlink(p);
	}
}

static void
local_out_free(pv_repo_out *base)
{
	local_out *o = (local_out *)base;
	if (o->slot >= 0) {
		atomic_store(&signal_tmp[o->slot], NULL);
		pv_signal_quiesce();
		pthread_mutex_lock(&slot_mu);
		slot_used[o->slot] = 0;
		pthread_mutex_unlock(&slot_mu);
	}
	if (o->fd >= 0)
		close(o->fd);
	if (!o->committed && o->tmp)
		unlink(o->tmp);
	free(o->dbdir);
	free(o->path);
	free(o->tmp);
	free(o->sidecar);
	free(o);
}

static const pv_out_ops local_out_ops = {out_write, local_finish, local_commit, local_out_free};

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

static void
list_dir(const char *root, const char *sub, pv_entries *out)
{
	char *dir = pv_asprintf("%s/%s", root, sub);
	DIR *d = opendir(dir);
	if (!d) {
		free(dir);
		return;
	}
	struct dirent *e;
	size_t sl = strlen(PV_SIDECAR_SUFFIX);
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (e->d_name[0] == '.' || n <= sl || strcmp(e->d_name + n - sl, PV_SIDECAR_SUFFIX) != 0)
			continue;
		char *sp = pv_asprintf("%s/%s", dir, e->d_name);
		char *name = pv_asprintf("%s/%.*s", sub, (int)(n - sl), e->d_name);
		char *bp = pv_asprintf("%s/%s" PV_BUNDLE_SUFFIX, root, name);
		struct stat st;
		json_t *j = NULL;
		pv_entry en;
		if (stat(bp, &st) == 0 && (j = read_sidecar(sp)) != NULL) {
			if (pv_entry_from_sidecar(&en, j, name, (int64_t)st.st_size, bp, "local") == 0) {
				pv_entries_add(out, &en);
				bp = NULL;
			} else {
				pv_warn("ignoring sidecar %s: not a JSON object", sp);
				bp = NULL; /* freed by pv_entry_from_sidecar */
			}
		}
		free(bp);
		free(sp);
		free(name);
	}
	closedir(d);
	free(dir);
}

static int
local_list(pv_repo *r, const char *db, pv_entries *out)
{
	local_repo *s = (local_repo *)r;
	if (db) {
		char *fs = pv_fsname(db);
		list_dir(s->dir, fs, out);
		free(fs);
		return 0;
	}
	DIR *d = opendir(s->dir);
	if (!d && errno == EACCES)
		return pv_fail("cannot read storage directory %s: %s (made by another user? chown -R it to the "
		               "user that runs pgvault, uid %u)", s->dir, strerror(errno), (unsigned)geteuid());
	if (!d && errno != ENOENT)
		return pv_fail("cannot read storage directory %s: %s", s->dir, strerror(errno));
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			list_dir(s->dir, e->d_name, out);
	if (d)
		closedir(d);
	return 0;
}

static int
remove_file(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		return pv_fail("cannot delete %s: %s", path, strerror(errno));
	return 0;
}

/* the bundle first; a sidecar without its bundle is not listed (and cleanup removes it) */
static int
local_remove(pv_repo *r, const pv_entry *e)
{
	local_repo *s = (local_repo *)r;
	char *bp = pv_asprintf("%s/%s" PV_BUNDLE_SUFFIX, s->dir, e->name);
	char *sp = pv_asprintf("%s/%s" PV_SIDECAR_SUFFIX, s->dir, e->name);
	int rc = remove_file(bp) < 0 || remove_file(sp) < 0 ? -1 : 0;
	free(bp);
	free(sp);
	return rc;
}

static int
local_open(pv_repo *r, const pv_entry *e, int *fd, char **tmp)
{
	local_repo *s = (local_repo *)r;
	char *bp = pv_asprintf("%s/%s" PV_BUNDLE_SUFFIX, s->dir, e->name);
	*tmp = NULL;
	*fd = open(bp, O_RDONLY | O_CLOEXEC);
	int rc = 0;
	if (*fd < 0)
		rc = pv_fail("%s: %s", bp, strerror(errno));
	free(bp);
	return rc;
}

static void
local_free(pv_repo *r)
{
	local_repo *s = (local_repo *)r;
	free(s->dir);
	free(s);
}

static const pv_repo_driver local_driver = {
    "local", "the storage location", local_list, local_lock_path, local_cleanup, local_remove, local_stat,
    local_put_sidecar, local_open, local_create, local_free};

pv_repo *
pv_repo_local(const char *dir)
{
	local_repo *s = pv_calloc(1, sizeof *s);
	s->base.drv = &local_driver;
	s->base.describe = pv_strdup(dir);
	s->dir = pv_strdup(dir);
	return &s->base;
}
