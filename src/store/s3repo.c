/*
 * store/s3repo.c — the S3 driver of the repository interface (store/repo.h) over the S3
 * client (store/s3.h): bundles and sidecars are objects named as in every repository under
 * the configured prefix.  A bundle is streamed as a multipart upload and completed (its size
 * checked) before its sidecar is put; reading downloads to a temporary file in the local
 * storage directory (the work directory), which also holds this repository's lock files and
 * one marker per upload in progress (".s3upload.<id>.tmp.<pid>"), so that a cleanup aborts
 * only the incomplete uploads whose process is gone.
 */
#include "store/repo_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/s3.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/progress.h"
#include "util/json.h"
#include "util/log.h"
#include "util/names.h"

typedef struct s3_repo {
	pv_repo base;
	pv_s3 *s3;
	char *workdir;
	pv_repo *work; /* the local storage: its directory and its cleanup */
} s3_repo;

typedef struct s3_out {
	pv_repo_out base;
	s3_repo *repo;
	pv_s3_upload *up;
	char *marker;
} s3_out;

/* the work directory, created if need be; 0 or -1 */
static int
work_ready(s3_repo *s)
{
	char *lp = s->work->drv->lock_path(s->work, NULL); /* creates the directory */
	free(lp);
	return lp ? 0 : -1;
}

static char *
key_of(const char *name, const char *suffix)
{
	return pv_name_file(name, suffix);
}

/* ---- listing ---------------------------------------------------------------------------- */

static int
s3_list(pv_repo *r, const char *db, pv_entries *out)
{
	s3_repo *s = (s3_repo *)r;
	char *sub = db ? pv_name_dir(db) : NULL;
	json_t *objs = pv_s3_list(s->s3, sub);
	free(sub);
	if (!objs)
		return -1;
	/* bundle sizes by key, then one entry per sidecar whose bundle is there */
	json_t *sizes = json_object();
	size_t i;
	json_t *o;
	size_t bl = strlen(PV_BUNDLE_SUFFIX), sl = strlen(PV_SIDECAR_SUFFIX);
	json_array_foreach(objs, i, o) {
		const char *key = json_string_value(json_object_get(o, "key"));
		size_t n = key ? strlen(key) : 0;
		if (n > bl && strcmp(key + n - bl, PV_BUNDLE_SUFFIX) == 0 &&
		    json_object_set(sizes, key, json_object_get(o, "size")) < 0) {
			json_decref(sizes);
			json_decref(objs);
			return pv_fail("out of memory listing %s", s->base.describe);
		}
	}
	int rc = 0;
	json_array_foreach(objs, i, o) {
		const char *key = json_string_value(json_object_get(o, "key"));
		size_t n = key ? strlen(key) : 0;
		if (n <= sl || strcmp(key + n - sl, PV_SIDECAR_SUFFIX) != 0)
			continue;
		char *name = pv_strndup(key, n - sl);
		char *bkey = key_of(name, PV_BUNDLE_SUFFIX);
		json_t *size = json_object_get(sizes, bkey);
		pv_buf text = PV_BUF_INIT;
		if (size && pv_s3_get(s->s3, key, &text, PV_SIDECAR_MAX) < 0) {
			rc = -1;
		} else if (size) {
			json_error_t je;
			json_t *side = json_loadb(text.data ? text.data : "", text.len, 0, &je);
			pv_entry e;
			if (!side)
				pv_warn("ignoring unreadable sidecar %s: %s", key, je.text);
			else if (pv_entry_from_sidecar(&e, side, name, (int64_t)json_integer_value(size),
			                               pv_s3_describe(s->s3, bkey), "s3") == 0)
				pv_entries_add(out, &e);
			else
				pv_warn("ignoring sidecar %s: not a JSON object", key);
		}
		pv_buf_free(&text);
		free(name);
		free(bkey);
		if (rc < 0)
			break;
	}
	json_decref(sizes);
	json_decref(objs);
	return rc;
}

/* ---- locks and cleanup ------------------------------------------------------------------ */

static char *
s3_lock_path(pv_repo *r, const char *db)
{
	s3_repo *s = (s3_repo *)r;
	if (work_ready(s) < 0)
		return NULL;
	if (!db)
		return pv_asprintf("%s/.s3.lock", s->workdir);
	char *fs = pv_fsname(db);
	char *p = pv_asprintf("%s/.s3.%s.lock", s->workdir, fs);
	free(fs);
	return p;
}

/* a marker ".s3upload.<id>.tmp.<pid>" of a live process for the bundle with this id */
static int
upload_is_live(s3_repo *s, const char *id)
{
	char *prefix = pv_asprintf(".s3upload.%s.tmp.", id);
	size_t pl = strlen(prefix);
	int live = 0;
	DIR *d = opendir(s->workdir);
	struct dirent *e;
	while (d && !live && (e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, pl) != 0)
			continue;
		char *end;
		long pid = strtol(e->d_name + pl, &end, 10);
		if (!*end && pid > 0 && (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno == EPERM))
			live = 1;
	}
	if (d)
		closedir(d);
	free(prefix);
	return live;
}

static int
s3_cleanup(pv_repo *r, const char *db)
{
	s3_repo *s = (s3_repo *)r;
	int n = pv_repo_cleanup(s->work, NULL); /* dead downloads and markers first */
	json_t *ups = pv_s3_list_uploads(s->s3);
	char *dir = db ? pv_name_dir(db) : NULL;
	size_t i;
	json_t *u;
	size_t bl = strlen(PV_BUNDLE_SUFFIX);
	json_array_foreach(ups, i, u) {
		const char *key = json_string_value(json_object_get(u, "key"));
		size_t kl = key ? strlen(key) : 0;
		if (kl <= bl || strcmp(key + kl - bl, PV_BUNDLE_SUFFIX) != 0 ||
		    (dir && strncmp(key, dir, strlen(dir)) != 0))
			continue;
		char *name = pv_strndup(key, kl - bl);
		if (!upload_is_live(s, pv_name_id(name)) &&
		    pv_s3_abort_upload(s->s3, key, json_string_value(json_object_get(u, "upload_id"))) == 0) {
			pv_info("aborted the incomplete upload of %s, left by an interrupted run", key);
			n++;
		}
		free(name);
	}
	free(dir);
	json_decref(ups);
	return n;
}

/* ---- single bundles --------------------------------------------------------------------- */

static int
s3_remove(pv_repo *r, const pv_entry *e)
{
	s3_repo *s = (s3_repo *)r;
	char *bkey = key_of(e->name, PV_BUNDLE_SUFFIX);
	char *skey = key_of(e->name, PV_SIDECAR_SUFFIX);
	int rc = pv_s3_delete(s->s3, bkey) < 0 || pv_s3_delete(s->s3, skey) < 0 ? -1 : 0;
	free(bkey);
	free(skey);
	return rc;
}

static int
s3_stat(pv_repo *r, const char *name, int64_t *size, int *has_sidecar)
{
	s3_repo *s = (s3_repo *)r;
	char *bkey = key_of(name, PV_BUNDLE_SUFFIX);
	char *skey = key_of(name, PV_SIDECAR_SUFFIX);
	char etag[128];
	int64_t ssize;
	int rc = pv_s3_head(s->s3, bkey, size, etag);
	if (rc == 0) {
		int h = pv_s3_head(s->s3, skey, &ssize, etag);
		*has_sidecar = h == 0;
		rc = h < 0 ? -1 : 1;
	} else if (rc == 1) {
		rc = 0;
	}
	free(bkey);
	free(skey);
	return rc;
}

static int
s3_put_sidecar(pv_repo *r, const char *name, json_t *sidecar)
{
	s3_repo *s = (s3_repo *)r;
	json_t *remote = pvj_copy(sidecar);
	char *text = remote && pvj_set_str(remote, "location", "s3") == 0 ? pv_sidecar_text(remote) : NULL;
	char *key = key_of(name, PV_SIDECAR_SUFFIX);
	int rc = text ? pv_s3_put(s->s3, key, text, strlen(text)) : -1;
	free(key);
	free(text);
	json_decref(remote);
	return rc;
}

static int
s3_open(pv_repo *r, const pv_entry *e, int *fd, char **tmp)
{
	s3_repo *s = (s3_repo *)r;
	*fd = -1;
	*tmp = NULL;
	if (work_ready(s) < 0)
		return -1;
	pv_repo_cleanup(s->work, NULL); /* what killed runs left, downloads too */
	char *path = pv_asprintf("%s/.download.%s.tmp.%ld", s->workdir, e->id, (long)getpid());
	char *key = key_of(e->name, PV_BUNDLE_SUFFIX);
	int64_t got = 0;
	int rc = -1;
	*fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char *what = pv_asprintf("downloading %s", e->id);
	pv_progress_begin(what, e->size, 0, "received");
	free(what);
	if (*fd < 0)
		pv_fail("cannot create %s: %s", path, strerror(errno));
	else if (pv_s3_get_to_fd(s->s3, key, *fd, &got) == 0 && lseek(*fd, 0, SEEK_SET) == 0)
		rc = 0;
	pv_progress_end();
	free(key);
	if (rc < 0) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		unlink(path);
		free(path);
		return pv_wrap("downloading %s", e->where);
	}
	*tmp = path;
	return 0;
}

/* ---- writing ---------------------------------------------------------------------------- */

static int
out_write(pv_repo_out *base, const void *data, size_t len)
{
	s3_out *o = (s3_out *)base;
	pv_sink *sink = pv_s3_upload_sink(o->up);
	return sink->write(sink, data, len);
}

static int
out_finish(pv_repo_out *base, int *fd_read)
{
	(void)base;
	*fd_read = -1; /* read back from the copy that was written beside it */
	return 0;
}

/* the upload completed and its size checked, then the sidecar */
static int
out_commit(pv_repo_out *base, json_t *sidecar)
{
	s3_out *o = (s3_out *)base;
	int64_t size = 0;
	int rc = pv_s3_upload_complete(o->up, &size);
	o->up = NULL;
	if (rc < 0)
		return pv_wrap("completing the upload");
	if (size != base->bytes)
		return pv_fail("the uploaded bundle has %lld bytes, %lld were written", (long long)size,
		               (long long)base->bytes);
	if (s3_put_sidecar(&o->repo->base, base->name, sidecar) < 0)
		return pv_wrap("uploading the sidecar manifest");
	return 0;
}

static void
out_free(pv_repo_out *base)
{
	s3_out *o = (s3_out *)base;
	if (o->up)
		pv_s3_upload_abort(o->up); /* every failure path: no incomplete multipart upload stays */
	if (o->marker)
		unlink(o->marker);
	free(o->marker);
	free(o);
}

static const pv_out_ops s3_out_ops = {out_write, out_finish, out_commit, out_free};

static pv_repo_out *
s3_create(pv_repo *r, const char *name)
{
	s3_repo *s = (s3_repo *)r;
	s3_out *o = pv_calloc(1, sizeof *o);
	char *key = key_of(name, PV_BUNDLE_SUFFIX);
	o->repo = s;
	pv_out_init(&o->base, &s3_out_ops, name, pv_s3_describe(s->s3, key));
	if (work_ready(s) < 0) {
		free(key);
		pv_out_free(&o->base);
		return NULL;
	}
	o->marker = pv_asprintf("%s/.s3upload.%s.tmp.%ld", s->workdir, o->base.id, (long)getpid());
	int fd = open(o->marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		pv_fail("cannot create %s: %s", o->marker, strerror(errno));
		free(o->marker);
		o->marker = NULL;
	} else {
		close(fd);
		o->up = pv_s3_upload_begin(s->s3, key);
	}
	free(key);
	if (!o->up) {
		pv_wrap("starting the upload");
		pv_out_free(&o->base);
		return NULL;
	}
	return &o->base;
}

static void
s3_free(pv_repo *r)
{
	s3_repo *s = (s3_repo *)r;
	pv_s3_free(s->s3);
	pv_repo_free(s->work);
	free(s->workdir);
	free(s);
}

static const pv_repo_driver s3_driver = {
    "s3", "the S3 storage", s3_list, s3_lock_path, s3_cleanup, s3_remove, s3_stat,
    s3_put_sidecar, s3_open, s3_create, s3_free};

pv_repo *
pv_repo_s3(pv_s3 *s3, const char *workdir)
{
	s3_repo *s = pv_calloc(1, sizeof *s);
	s->base.drv = &s3_driver;
	s->base.describe = pv_s3_describe(s3, "");
	s->s3 = s3;
	s->workdir = pv_strdup(workdir);
	s->work = pv_repo_local(workdir);
	return &s->base;
}
