/*
 * ops/retention.h — the retention decision engine (SPEC §5).
 *
 * Pure: given a policy and the bundles of a storage (several databases mixed, any
 * order) it marks each bundle keep or delete together with the rule that decided.
 * It never touches files; prune does the deleting.
 *
 * Rules, per database, first rule that keeps a bundle gives the reason:
 *   1. unverified bundles (a bundle `verify` found damaged among them) are kept and never
 *      counted by any rule;
 *   2. the newest verified bundle, any tag, is kept ("newest verified"); so is the
 *      newest verified untagged bundle ("newest verified untagged" when it is not the
 *      same bundle);
 *   3. the newest keep_min verified untagged bundles ("keep_min"); only when there are
 *      fewer than keep_min of them (u), the newest keep_min - u verified tagged bundles,
 *      any tag, fill up ("keep_min"), so that at least min(keep_min, verified) verified
 *      bundles are kept;
 *   4. untagged: keep_days window, then keep_daily/weekly/monthly calendar buckets
 *      (local time in tz; ISO weeks);
 *   5. tagged: newest keep_tagged per (database, tag), or the keep_days window when
 *      keep_tagged is unset; tagged bundles never occupy calendar buckets;
 *   6. otherwise deleted ("expired").
 * "Newest" orders by snapshot time, ties broken by id (the greater id is newer).
 * Tagged bundles have their own policy, so pre-deploy snapshots do not push out nightly
 * ones: removing every tagged bundle never changes the keep/delete decision of an
 * untagged bundle (only the newest verified untagged one's reason, "newest verified"
 * instead of "newest verified untagged").
 */
#ifndef PV_OPS_RETENTION_H
#define PV_OPS_RETENTION_H

#include <stddef.h>
#include <time.h>

typedef struct pv_ret_policy {
	int keep_days;      /* keep untagged bundles newer than now - keep_days days; 0 = unset */
	int keep_min;       /* always keep the newest keep_min verified untagged bundles, filled
			       up with the newest tagged ones when there are fewer; default 1 */
	int keep_min_set;   /* keep_min was given explicitly */
	int keep_daily;     /* newest bundle of each of the last N calendar days that have one; 0 = unset */
	int keep_weekly;    /* ... ISO weeks (Monday-based) */
	int keep_monthly;   /* ... calendar months */
	int keep_tagged;    /* per (database, tag): keep the newest N tagged bundles; -1 = unset */
	const char *tz;     /* IANA zone for the calendar buckets; NULL = UTC */
} pv_ret_policy;

typedef struct pv_ret_bundle {
	const char *id;        /* unique */
	const char *db;
	time_t snapshot;       /* snapshot time recorded in the manifest (NOT file times or names) */
	const char *tag;       /* NULL = untagged */
	int verified;          /* completed and verified */
	int failed;            /* a later verify found it damaged (not verified either) */
	/* decided by pv_retention_apply: */
	int keep;
	const char *reason;    /* static text: the rule that decided */
} pv_ret_bundle;

/* Upper bounds accepted by pv_ret_policy_check. */
#define PV_RET_MAX_DAYS 100000    /* the configuration's own limit */
#define PV_RET_MAX_COUNT 100000

/* Everything unset, keep_min 1. */
void pv_ret_policy_init(pv_ret_policy *p);

/*
 * 0 if usable; -1 with pv_fail() for an empty policy (no keep_days, keep_daily,
 * keep_weekly, keep_monthly, keep_tagged and no explicit keep_min), negative or absurd
 * values, or a time zone that is not a known zone name.
 */
int pv_ret_policy_check(const pv_ret_policy *p);

/*
 * Decide keep/delete for every bundle (any order, several databases mixed), at time
 * now.  Sets keep and reason of every bundle.  With a tz other than NULL it switches
 * the process's TZ temporarily (restored before returning), so it must not run
 * concurrently with other time-zone dependent code; should switching fail (no memory for
 * the environment), every bundle is kept.
 */
void pv_retention_apply(const pv_ret_policy *p, pv_ret_bundle *b, size_t n, time_t now);

#endif
