/*
 * ops/retention.c — the retention decision engine (see retention.h): policy checks and
 * the keep/delete decision for each bundle.  Decides only; never deletes anything.
 */
#include "ops/retention.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/tz.h"

#define R_UNVERIFIED "unverified: not counted, not pruned"
#define R_FAILED "failed verification: not counted, not pruned (pgvault status names it)"
#define R_NEWEST "newest verified"
#define R_NEWEST_UNTAGGED "newest verified untagged"
#define R_KEEP_MIN "keep_min"
#define R_KEEP_DAYS "keep_days"
#define R_DAILY "keep_daily"
#define R_WEEKLY "keep_weekly"
#define R_MONTHLY "keep_monthly"
#define R_TAGGED "keep_tagged"
#define R_EXPIRED "expired"
#define R_NO_TZ "time zone could not be set: nothing pruned"

void
pv_ret_policy_init(pv_ret_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->keep_min = 1;
	p->keep_tagged = -1;
	p->tz = NULL;
}

/* ---- policy check --------------------------------------------------------------------- */

/* Is s a plausible zone name: relative path of [A-Za-z0-9_+-.] components, no "." or ".."? */
static int
zone_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 200 || s[0] == '/')
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '+' || c == '-' || c == '.' || c == '/'))
			return 0;
	}
	/* every component non-empty and not made of dots only */
	const char *comp = s;
	for (;;) {
		const char *end = strchr(comp, '/');
		size_t clen = end ? (size_t)(end - comp) : strlen(comp);
		if (clen == 0 || strspn(comp, ".") >= clen)
			return 0;
		if (!end)
			break;
		comp = end + 1;
	}
	return 1;
}

/* Is there a compiled zone file (TZif) for name in dir? */
static int
zone_file_exists(const char *dir, const char *name)
{
	char *path = pv_asprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	char magic[4];
	int ok = 0;

	free(path);
	if (!f)
		return 0;
	if (fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0)
		ok = 1;
	fclose(f);
	return ok;
}

static int
zone_known(const char *name)
{
	static const char *const dirs[] = {
		"/usr/share/zoneinfo", "/usr/lib/zoneinfo", "/usr/share/lib/zoneinfo"
	};
	const char *tzdir = getenv("TZDIR");

	/* the C library knows UTC even without a zone database */
	if (strcmp(name, "UTC") == 0 || strcmp(name, "GMT") == 0)
		return 1;
	if (tzdir && *tzdir && zone_file_exists(tzdir, name))
		return 1;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (zone_file_exists(dirs[i], name))
			return 1;
	return 0;
}

static int
check_count(const char *what, int v, int min, int max)
{
	if (v < min)
		return pv_fail_code(PV_EXIT_USAGE, "retention: %s must not be negative (got %d)",
				    what, v);
	if (v > max)
		return pv_fail_code(PV_EXIT_USAGE, "retention: %s is too large (got %d, at most %d)",
				    what, v, max);
	return 0;
}

int
pv_ret_policy_check(const pv_ret_policy *p)
{
	if (check_count("keep_days", p->keep_days, 0, PV_RET_MAX_DAYS) < 0 ||
	    check_count("keep_min", p->keep_min, 0, PV_RET_MAX_COUNT) < 0 ||
	    check_count("keep_daily", p->keep_daily, 0, PV_RET_MAX_COUNT) < 0 ||
	    check_count("keep_weekly", p->keep_weekly, 0, PV_RET_MAX_COUNT) < 0 ||
	    check_count("keep_monthly", p->keep_monthly, 0, PV_RET_MAX_COUNT) < 0)
		return -1;
	if (p->keep_tagged < -1)
		return pv_fail_code(PV_EXIT_USAGE,
				    "retention: keep_tagged must not be negative (got %d)",
				    p->keep_tagged);
	if (check_count("keep_tagged", p->keep_tagged, -1, PV_RET_MAX_COUNT) < 0)
		return -1;
	if (p->keep_days == 0 && p->keep_daily == 0 && p->keep_weekly == 0 &&
	    p->keep_monthly == 0 && p->keep_tagged < 0 && !p->keep_min_set)
		return pv_fail_code(PV_EXIT_USAGE,
				    "retention: empty policy refused (set keep_days, keep_min, "
				    "keep_daily, keep_weekly, keep_monthly or keep_tagged)");
	if (p->tz) {
		if (!zone_name_ok(p->tz))
			return pv_fail_code(PV_EXIT_USAGE, "retention: invalid time zone \"%s\"",
					    p->tz);
		if (!zone_known(p->tz))
			return pv_fail_code(PV_EXIT_USAGE, "retention: unknown time zone \"%s\"",
					    p->tz);
	}
	return 0;
}

/* ---- calendar buckets ----------------------------------------------------------------- */

enum { BK_DAY, BK_WEEK, BK_MONTH, BK_COUNT };

typedef struct item {
	pv_ret_bundle *b;
	long key[BK_COUNT];    /* calendar buckets (untagged verified only) */
} item;

static void
set_keys(item *it, const struct tm *tm)
{
	char week[16];
	long year = (long)tm->tm_year + 1900;

	it->key[BK_DAY] = year * 10000 + (tm->tm_mon + 1) * 100 + tm->tm_mday;
	it->key[BK_MONTH] = year * 100 + tm->tm_mon + 1;
	/* ISO 8601 week-based year and week number (Monday-based) */
	if (strftime(week, sizeof(week), "%G%V", tm) > 0)
		it->key[BK_WEEK] = strtol(week, NULL, 10);
	else
		it->key[BK_WEEK] = it->key[BK_DAY];
}

/*
 * Compute the bucket keys of the untagged verified bundles, as local time in tz
 * (UTC when NULL).  TZ is switched for the duration and restored.  -1 with pv_fail() if
 * the zone cannot be switched to (no memory for the environment).
 */
static int
compute_keys(item *items, size_t n, const char *tz)
{
	pv_tz_saved saved;
	struct tm tm;

	if (pv_tz_push(tz, &saved) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		pv_ret_bundle *b = items[i].b;
		time_t t = b->snapshot;
		if (!b->verified || b->tag)
			continue;
		memset(&tm, 0, sizeof(tm));
		if ((tz ? localtime_r(&t, &tm) : gmtime_r(&t, &tm)) == NULL)
			memset(&tm, 0, sizeof(tm));
		set_keys(&items[i], &tm);
	}
	pv_tz_pop(&saved);
	return 0;
}

/* ---- ordering ------------------------------------------------------------------------- */

/* Newer first: by snapshot, ties by id (greater id is newer). */
static int
cmp_newer(const pv_ret_bundle *a, const pv_ret_bundle *b)
{
	if (a->snapshot != b->snapshot)
		return a->snapshot > b->snapshot ? -1 : 1;
	return -pv_strcmp_null(a->id, b->id);
}

/* By database, then newest first. */
static int
cmp_db_newer(const void *pa, const void *pb)
{
	const item *a = pa, *b = pb;
	int c = pv_strcmp_null(a->b->db, b->b->db);
	return c ? c : cmp_newer(a->b, b->b);
}

/* By tag, then newest first (pointers to items). */
static int
cmp_tag_newer(const void *pa, const void *pb)
{
	const item *a = *(const item *const *)pa, *b = *(const item *const *)pb;
	int c = pv_strcmp_null(a->b->tag, b->b->tag);
	return c ? c : cmp_newer(a->b, b->b);
}

/* ---- decision ------------------------------------------------------------------------- */

static void
keep(pv_ret_bundle *b, const char *reason)
{
	b->keep = 1;
	b->reason = reason;
}

/*
 * The newest bundle of each of the first n buckets (newest bucket first) among the
 * untagged verified bundles of g[0..cnt), which is sorted newest first.  A bucket is
 * new when its key has not been seen yet, so keys need not be monotonic (zones whose
 * clocks went back over midnight).  Already decided bundles still count.
 */
static void
apply_buckets(item *g, size_t cnt, int kind, int n, const char *reason)
{
	long *seen;
	size_t nseen = 0;

	if (n <= 0)
		return;
	seen = pv_malloc(sizeof(long) * (size_t)n);
	for (size_t i = 0; i < cnt; i++) {
		pv_ret_bundle *b = g[i].b;
		long k = g[i].key[kind];
		size_t j;
		if (!b->verified || b->tag)
			continue;
		for (j = 0; j < nseen; j++)
			if (seen[j] == k)
				break;
		if (j < nseen)
			continue;	/* an older bundle of a bucket already seen */
		if (nseen == (size_t)n)
			break;
		seen[nseen++] = k;
		if (!b->keep)
			keep(b, reason);
	}
	free(seen);
}

/* Rules 2-6 for the bundles of one database, g[0..cnt) sorted newest first. */
static void
apply_db(const pv_ret_policy *p, item *g, size_t cnt, time_t now)
{
	int have_window = p->keep_days > 0;
	int64_t cutoff = (int64_t)now - (int64_t)p->keep_days * 86400;
	size_t kmin = p->keep_min > 0 ? (size_t)p->keep_min : 0;
	size_t nverified = 0, ntagged = 0, fill, urank = 0, trank = 0;

	/* 1: unverified bundles are kept and not counted */
	for (size_t i = 0; i < cnt; i++) {
		pv_ret_bundle *b = g[i].b;
		if (!b->verified) {
			keep(b, b->failed ? R_FAILED : R_UNVERIFIED);
			continue;
		}
		nverified++;
		if (b->tag)
			ntagged++;
	}
	/* tagged bundles fill keep_min only when there are too few untagged ones */
	fill = nverified - ntagged < kmin ? kmin - (nverified - ntagged) : 0;

	/*
	 * 2-3: the newest verified bundle; the newest untagged one; the newest kmin
	 * untagged ones; the newest fill tagged ones (any tag).
	 */
	for (size_t i = 0, rank = 0; i < cnt; i++) {
		pv_ret_bundle *b = g[i].b;
		if (!b->verified)
			continue;
		if (rank++ == 0)
			keep(b, R_NEWEST);
		if (!b->tag) {
			if (urank == 0 && !b->keep)
				keep(b, R_NEWEST_UNTAGGED);
			else if (urank < kmin && !b->keep)
				keep(b, R_KEEP_MIN);
			urank++;
		} else {
			if (trank < fill && !b->keep)
				keep(b, R_KEEP_MIN);
			trank++;
		}
	}

	/* 4: untagged — keep_days window, then calendar buckets */
	if (have_window)
		for (size_t i = 0; i < cnt; i++) {
			pv_ret_bundle *b = g[i].b;
			if (b->verified && !b->tag && !b->keep && (int64_t)b->snapshot >= cutoff)
				keep(b, R_KEEP_DAYS);
		}
	apply_buckets(g, cnt, BK_DAY, p->keep_daily, R_DAILY);
	apply_buckets(g, cnt, BK_WEEK, p->keep_weekly, R_WEEKLY);
	apply_buckets(g, cnt, BK_MONTH, p->keep_monthly, R_MONTHLY);

	/* 5: tagged — per tag count, or the keep_days window when keep_tagged is unset */
	if (ntagged > 0 && p->keep_tagged >= 0) {
		item **t = pv_malloc(sizeof(item *) * ntagged);
		size_t nt = 0, run = 0;
		for (size_t i = 0; i < cnt; i++)
			if (g[i].b->verified && g[i].b->tag)
				t[nt++] = &g[i];
		qsort(t, nt, sizeof(item *), cmp_tag_newer);
		for (size_t i = 0; i < nt; i++) {
			pv_ret_bundle *b = t[i]->b;
			if (i > 0 && strcmp(t[i - 1]->b->tag, b->tag) == 0)
				run++;
			else
				run = 0;
			if (!b->keep && run < (size_t)p->keep_tagged)
				keep(b, R_TAGGED);
		}
		free(t);
	} else if (ntagged > 0 && have_window) {
		for (size_t i = 0; i < cnt; i++) {
			pv_ret_bundle *b = g[i].b;
			if (b->verified && b->tag && !b->keep && (int64_t)b->snapshot >= cutoff)
				keep(b, R_KEEP_DAYS);
		}
	}
	/* 6: everything else stays "expired" */
}

void
pv_retention_apply(const pv_ret_policy *p, pv_ret_bundle *b, size_t n, time_t now)
{
	item *items;
	int buckets = p->keep_daily > 0 || p->keep_weekly > 0 || p->keep_monthly > 0;

	if (n == 0)
		return;
	items = pv_calloc(n, sizeof(item));
	for (size_t i = 0; i < n; i++) {
		items[i].b = &b[i];
		b[i].keep = 0;
		b[i].reason = R_EXPIRED;
	}
	if (buckets && compute_keys(items, n, p->tz) < 0) {
		/* without the calendar buckets nothing can be decided safely: keep everything */
		for (size_t i = 0; i < n; i++) {
			b[i].keep = 1;
			b[i].reason = R_NO_TZ;
		}
		free(items);
		return;
	}
	qsort(items, n, sizeof(item), cmp_db_newer);

	for (size_t s = 0; s < n;) {
		size_t e = s + 1;
		while (e < n && pv_strcmp_null(items[e].b->db, items[s].b->db) == 0)
			e++;
		apply_db(p, items + s, e - s, now);
		s = e;
	}
	free(items);
}
