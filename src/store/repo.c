/*
 * store/repo.c — what every repository shares (see repo.h, repo_int.h): the dispatch to the
 * driver, bundle naming, typed entries read from sidecars, choosing a bundle by id or time,
 * unused ids, byte counting, and the tee of two bundle streams.
 */
#include "store/repo_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/names.h"

/* ---- naming ----------------------------------------------------------------------------- */

char *
pv_name_dir(const char *db)
{
	char *fs = pv_fsname(db);
	char *d = pv_asprintf("%s/", fs);
	free(fs);
	return d;
}

char *
pv_name_file(const char *name, const char *suffix)
{
	return pv_asprintf("%s%s", name, suffix);
}

const char *
pv_name_id(const char *name)
{
	const char *slash = strrchr(name, '/');
	return slash ? slash + 1 : name;
}

char *
pv_sidecar_text(json_t *sidecar)
{
	char *text = pvj_dumps(sidecar, JSON_INDENT(1) | JSON_SORT_KEYS, PVJ_UTF8, "the sidecar manifest");
	if (!text)
		return NULL;
	char *withnl = pv_asprintf("%s\n", text);
	free(text);
	return withnl;
}

/* ---- entries ---------------------------------------------------------------------------- */

static char *
str_or_null(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? pv_strdup(v) : NULL;
}

static int64_t
int_or(json_t *o, const char *k, int64_t dflt)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

int
pv_entry_from_sidecar(pv_entry *e, json_t *side, const char *name, int64_t size, char *where,
                      const char *location)
{
	memset(e, 0, sizeof *e);
	if (!json_is_object(side)) {
		json_decref(side);
		free(where);
		return -1;
	}
	e->sidecar = side;
	e->name = pv_strdup(name);
	e->id = pv_strdup(pv_name_id(name));
	e->database = str_or_null(side, "database");
	if (!e->database)
		e->database = pv_strdup("");
	e->tag = str_or_null(side, "tag");
	e->snapshot_time = str_or_null(side, "snapshot_time");
	e->snapshot = (time_t)int_or(side, "snapshot_epoch", 0);
	e->failed = json_object_get(side, PV_SIDECAR_VERIFY_FAILED) != NULL;
	e->verified = json_is_true(json_object_get(side, "verified")) && !e->failed;
	e->verified_at = str_or_null(side, "verified_at");
	e->size = size;
	e->tables = int_or(side, "tables", -1);
	e->rows = int_or(side, "rows", -1);
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(side, "members"), i, m) {
		int64_t raw = int_or(m, "raw_size", 0);
		e->raw_size += raw ? raw : int_or(m, "size", 0);
	}
	e->where = where;
	e->location = location;
	return 0;
}

static void
entry_free(pv_entry *e)
{
	free(e->id);
	free(e->name);
	free(e->database);
	free(e->tag);
	free(e->snapshot_time);
	free(e->verified_at);
	free(e->where);
	json_decref(e->sidecar);
}

int
pv_entries_add(pv_entries *l, pv_entry *e)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = pv_realloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = *e;
	memset(e, 0, sizeof *e);
	return 0;
}

void
pv_entries_free(pv_entries *l)
{
	for (size_t i = 0; i < l->n; i++)
		entry_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static int
entry_cmp(const void *a, const void *b)
{
	const pv_entry *x = a, *y = b;
	int c = strcmp(x->database, y->database);
	if (c)
		return c;
	if (x->snapshot != y->snapshot)
		return x->snapshot < y->snapshot ? -1 : 1;
	return strcmp(x->id, y->id);
}

void
pv_entries_sort(pv_entries *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof *l->v, entry_cmp);
}

const pv_entry *
pv_entries_pick(const pv_entries *l, const char *arg, const char *where)
{
	const char *at = strrchr(arg, '@');
	const pv_entry *best = NULL;
	if (!at) {
		for (size_t i = 0; i < l->n; i++)
			if (strcmp(l->v[i].id, arg) == 0)
				best = &l->v[i];
		if (!best)
			pv_fail("no bundle with id %s in %s", arg, where);
		return best;
	}
	char *db = pv_strndup(arg, (size_t)(at - arg));
	const char *when = at + 1;
	time_t limit = 0;
	int latest = strcmp(when, "latest") == 0;
	if (!latest && pv_parse_time(when, &limit) < 0) {
		free(db);
		pv_fail_code(PV_EXIT_USAGE, "%s: expected DB@latest or DB@YYYY-MM-DDTHH:MM:SSZ", arg);
		return NULL;
	}
	for (size_t i = 0; i < l->n; i++) {
		const pv_entry *e = &l->v[i];
		if (!e->verified || strcmp(e->database, db) != 0 || (!latest && e->snapshot > limit))
			continue;
		if (!best || e->snapshot >= best->snapshot)
			best = e;
	}
	free(db);
	if (!best)
		pv_fail("no verified bundle matches %s in %s", arg, where);
	return best;
}

/* ---- the repository --------------------------------------------------------------------- */

void
pv_repo_free(pv_repo *r)
{
	if (!r)
		return;
	free(r->describe);
	r->drv->free(r);
}

const char *
pv_repo_kind(const pv_repo *r)
{
	return r->drv->kind;
}

const char *
pv_repo_describe(const pv_repo *r)
{
	return r->describe;
}

int
pv_repo_list(pv_repo *r, const char *db, pv_entries *out)
{
	memset(out, 0, sizeof *out);
	if (r->drv->list(r, db, out) < 0) {
		pv_entries_free(out);
		return pv_wrap("listing the bundles in %s", r->describe);
	}
	pv_entries_sort(out);
	return 0;
}

pv_lock *
pv_repo_lock(pv_repo *r, const char *db, int exclusive, long timeout)
{
	char *path = r->drv->lock_path(r, db);
	if (!path)
		return NULL;
	char *what = db ? pv_asprintf("database \"%s\"", db) : pv_strdup(r->drv->noun);
	pv_lock *l = pv_lock_take(path, exclusive, timeout, what);
	free(path);
	free(what);
	return l;
}

int
pv_repo_cleanup(pv_repo *r, const char *db)
{
	return r->drv->cleanup(r, db);
}

int
pv_repo_remove(pv_repo *r, const pv_entry *e)
{
	if (r->drv->remove(r, e) < 0)
		return pv_wrap("deleting %s", e->where);
	return 0;
}

int
pv_repo_stat(pv_repo *r, const char *name, int64_t *size, int *has_sidecar)
{
	return r->drv->stat(r, name, size, has_sidecar);
}

int
pv_repo_put_sidecar(pv_repo *r, const char *name, json_t *sidecar)
{
	if (r->drv->put_sidecar(r, name, sidecar) < 0)
		return pv_wrap("writing the sidecar manifest of %s", pv_name_id(name));
	return 0;
}

/* ---- reading ---------------------------------------------------------------------------- */

struct pv_repo_reader {
	int fd;
	char *tmp; /* a download to remove */
	char *where;
};

pv_repo_reader *
pv_repo_open(pv_repo *r, const pv_entry *e)
{
	pv_repo_reader *rd = pv_calloc(1, sizeof *rd);
	rd->fd = -1;
	if (r->drv->open(r, e, &rd->fd, &rd->tmp) < 0) {
		pv_reader_close(rd);
		return NULL;
	}
	rd->where = pv_strdup(e->where);
	return rd;
}

pv_repo_reader *
pv_repo_open_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pv_fail("%s: %s", path, strerror(errno));
		return NULL;
	}
	pv_repo_reader *rd = pv_calloc(1, sizeof *rd);
	rd->fd = fd;
	rd->where = pv_strdup(path);
	return rd;
}

int
pv_reader_fd(pv_repo_reader *rd)
{
	return rd->fd;
}

const char *
pv_reader_where(pv_repo_reader *rd)
{
	return rd->where;
}

void
pv_reader_close(pv_repo_reader *rd)
{
	if (!rd)
		return;
	if (rd->fd >= 0)
		close(rd->fd);
	if (rd->tmp)
		unlink(rd->tmp);
	free(rd->tmp);
	free(rd->where);
	free(rd);
}

/* ---- writing ---------------------------------------------------------------------------- */

static int
counting_write(pv_sink *s, const void *data, size_t len)
{
	pv_repo_out *o = s->ctx;
	if (o->ops->write(o, data, len) < 0)
		return -1;
	o->bytes += (int64_t)len;
	return 0;
}

void
pv_out_init(pv_repo_out *o, const pv_out_ops *ops, const char *name, char *where)
{
	o->ops = ops;
	o->name = pv_strdup(name);
	o->id = pv_strdup(pv_name_id(name));
	o->where = where;
	o->sink.write = counting_write;
	o->sink.ctx = o;
}

pv_repo_out *
pv_repo_create_named(pv_repo *r, const char *name)
{
	pv_repo_out *o = r->drv->create(r, name);
	if (!o)
		pv_wrap("creating bundle %s in %s", pv_name_id(name), r->describe);
	return o;
}

pv_repo_out *
pv_repo_create(pv_repo *r, const char *db, time_t when, const char *tag)
{
	char stamp[17];
	pv_stamp(when, stamp);
	char *fs = pv_fsname(db);
	pv_repo_out *o = NULL;
	for (int n = 1;; n++) {
		char suffix[16] = "";
		if (n > 1)
			snprintf(suffix, sizeof suffix, "-%d", n);
		char *name = pv_asprintf("%s/%s_%s%s%s%s", fs, fs, stamp, suffix, tag ? "_" : "", tag ? tag : "");
		int64_t size;
		int side;
		int st = pv_repo_stat(r, name, &size, &side);
		if (st == 0)
			o = pv_repo_create_named(r, name);
		free(name);
		if (st <= 0)
			break; /* created, or failed */
	}
	free(fs);
	return o;
}

const char *
pv_out_id(const pv_repo_out *o)
{
	return o->id;
}

const char *
pv_out_name(const pv_repo_out *o)
{
	return o->name;
}

const char *
pv_out_where(const pv_repo_out *o)
{
	return o->where;
}

pv_sink *
pv_out_sink(pv_repo_out *o)
{
	return &o->sink;
}

int64_t
pv_out_bytes(const pv_repo_out *o)
{
	return o->bytes;
}

int
pv_out_finish(pv_repo_out *o, int *fd_read)
{
	*fd_read = -1;
	return o->ops->finish(o, fd_read);
}

int
pv_out_commit(pv_repo_out *o, json_t *sidecar)
{
	return o->ops->commit(o, sidecar);
}

void
pv_out_free(pv_repo_out *o)
{
	if (!o)
		return;
	char *id = o->id, *name = o->name, *where = o->where;
	o->ops->free(o);
	free(id);
	free(name);
	free(where);
}

int
pv_repo_record_verify(pv_repo *r, const pv_entry *e, const char *error, json_t *more)
{
	json_t *side = json_deep_copy(e->sidecar);
	char iso[21];
	pv_iso8601(time(NULL), iso);
	int bad = !side;
	if (!bad && error) {
		json_t *why = json_object();
		bad |= pvj_set_str(why, "at", iso) < 0 || pvj_set(why, "error", pvj_shown(error)) < 0;
		bad |= pvj_set(side, PV_SIDECAR_VERIFY_FAILED, why) < 0;
		bad |= pvj_set_bool(side, "verified", 0) < 0;
	} else if (!bad) {
		json_object_del(side, PV_SIDECAR_VERIFY_FAILED);
		bad |= pvj_set_bool(side, "verified", 1) < 0 || pvj_set_str(side, "verified_at", iso) < 0;
	}
	const char *k;
	json_t *v;
	json_object_foreach(more, k, v) {
		if (bad)
			break;
		if (json_is_null(v))
			json_object_del(side, k);
		else
			bad |= pvj_set_copy(side, k, v) < 0;
	}
	int rc = bad ? pv_fail("out of memory") : pv_repo_put_sidecar(r, e->name, side);
	json_decref(side);
	return rc < 0 ? pv_wrap("recording the verification of %s", e->id) : 0;
}

/* ---- the tee ---------------------------------------------------------------------------- */

/* The copy is best effort: when it fails (at its creation, a write, its finish or its
 * commit) it is dropped (an uncommitted copy leaves nothing), the primary goes on, and the
 * primary's sidecar records why (PV_SIDECAR_UPLOAD_FAILED). */
typedef struct tee_out {
	pv_repo_out base;
	pv_repo_out *primary, *copy;
	char *copy_error; /* why the copy was dropped, or NULL */
} tee_out;

static void
drop_copy(tee_out *t, const char *why)
{
	if (!t->copy_error)
		t->copy_error = pv_asprintf("%s: %s", t->copy ? t->copy->where : "the copy", why);
	pv_out_free(t->copy);
	t->copy = NULL;
}

static int
tee_write(pv_repo_out *o, const void *data, size_t len)
{
	tee_out *t = (tee_out *)o;
	if (t->primary->sink.write(&t->primary->sink, data, len) < 0)
		return -1;
	if (t->copy && t->copy->sink.write(&t->copy->sink, data, len) < 0)
		drop_copy(t, pv_errmsg());
	return 0;
}

static int
tee_finish(pv_repo_out *o, int *fd_read)
{
	tee_out *t = (tee_out *)o;
	int unused = -1;
	if (t->copy && pv_out_finish(t->copy, &unused) < 0)
		drop_copy(t, pv_errmsg());
	if (unused >= 0)
		close(unused);
	return pv_out_finish(t->primary, fd_read);
}

static int
tee_commit(pv_repo_out *o, json_t *sidecar)
{
	tee_out *t = (tee_out *)o;
	/* the copy first: a bundle kept here only is marked so */
	if (t->copy && pv_out_commit(t->copy, sidecar) < 0)
		drop_copy(t, pv_errmsg());
	if (!t->copy_error)
		return pv_out_commit(t->primary, sidecar);
	json_t *marked = json_deep_copy(sidecar), *why = json_object();
	char iso[21];
	pv_iso8601(time(NULL), iso);
	int bad = !marked || pvj_set_str(why, "at", iso) < 0 || pvj_set(why, "error", pvj_shown(t->copy_error)) < 0 ||
	          pvj_set(marked, PV_SIDECAR_UPLOAD_FAILED, json_incref(why)) < 0;
	json_decref(why);
	int rc = bad ? pv_fail("the sidecar: out of memory") : pv_out_commit(t->primary, marked);
	json_decref(marked);
	return rc;
}

static void
tee_free(pv_repo_out *o)
{
	tee_out *t = (tee_out *)o;
	pv_out_free(t->copy);
	pv_out_free(t->primary);
	free(t->copy_error);
	free(t);
}

static const pv_out_ops tee_ops = {tee_write, tee_finish, tee_commit, tee_free};

pv_repo_out *
pv_out_tee(pv_repo_out *primary, pv_repo_out *copy, const char *copy_error)
{
	tee_out *t = pv_calloc(1, sizeof *t);
	t->primary = primary;
	t->copy = copy;
	if (!copy)
		t->copy_error = pv_strdup(copy_error ? copy_error : "the copy could not be created");
	pv_out_init(&t->base, &tee_ops, primary->name, pv_strdup(primary->where));
	return &t->base;
}

const char *
pv_out_copy_error(const pv_repo_out *o)
{
	return o && o->ops == &tee_ops ? ((const tee_out *)o)->copy_error : NULL;
}
