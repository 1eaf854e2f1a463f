/*
 * ops/prune.c — retention applied to a store (see prune.h).
 */
#include "ops/prune.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ops/retention.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

static int
policy_for(const pv_config *cfg, const char *db, pv_ret_policy *p)
{
	long v;
	pv_ret_policy_init(p);
	pv_config_int(cfg, db, "retention", "keep_days", 0, &v);
	p->keep_days = (int)v;
	p->keep_min_set = pv_config_int(cfg, db, "retention", "keep_min", 1, &v);
	p->keep_min = (int)v;
	pv_config_int(cfg, db, "retention", "keep_daily", 0, &v);
	p->keep_daily = (int)v;
	pv_config_int(cfg, db, "retention", "keep_weekly", 0, &v);
	p->keep_weekly = (int)v;
	pv_config_int(cfg, db, "retention", "keep_monthly", 0, &v);
	p->keep_monthly = (int)v;
	pv_config_int(cfg, db, "retention", "keep_tagged", -1, &v);
	p->keep_tagged = (int)v;
	p->tz = pv_config_get(cfg, NULL, "retention", "timezone");
	if (!p->tz)
		p->tz = pv_config_get(cfg, NULL, "schedule", "timezone");
	if (pv_ret_policy_check(p) < 0)
		return pv_fail_code(2, "retention policy%s%s%s (%s): %s", db ? " of database \"" : "",
		                    db ? db : "", db ? "\"" : "", pv_config_path(cfg), pv_errmsg());
	return 0;
}

static int
prune_list(const pv_config *cfg, pv_repo *repo, const pv_entries *all, const char *db, int dry_run,
           FILE *out, int *deleted)
{
	*deleted = 0;
	size_t n = all->n;
	pv_ret_bundle *b = pv_calloc(n + 1, sizeof *b);
	for (size_t i = 0; i < n; i++) {
		const pv_entry *e = &all->v[i];
		b[i].id = e->id;
		b[i].db = e->database;
		b[i].snapshot = e->snapshot;
		b[i].tag = e->tag;
		b[i].verified = e->verified;
		b[i].failed = e->failed;
	}
	time_t now = time(NULL);
	int rc = 0;
	{
		/* an unusable policy is an error even when there is nothing to prune yet */
		pv_ret_policy base;
		if (policy_for(cfg, db, &base) < 0) {
			free(b);
			return -1;
		}
	}
	/* one database at a time: each may have its own policy */
	char *done = pv_calloc(n + 1, 1);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (done[i])
			continue;
		pv_ret_policy p;
		if (policy_for(cfg, b[i].db, &p) < 0) {
			rc = -1;
			break;
		}
		pv_ret_bundle *group = pv_calloc(n + 1, sizeof *group);
		size_t *idx = pv_calloc(n + 1, sizeof *idx);
		size_t g = 0;
		for (size_t k = i; k < n; k++)
			if (!done[k] && strcmp(b[k].db, b[i].db) == 0) {
				group[g] = b[k];
				idx[g++] = k;
				done[k] = 1;
			}
		pv_retention_apply(&p, group, g, now);
		for (size_t k = 0; k < g; k++) {
			b[idx[k]].keep = group[k].keep;
			b[idx[k]].reason = group[k].reason;
		}
		free(group);
		free(idx);
	}
	free(done);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (out)
			fprintf(out, "%s%-6s %-50s %s\n", dry_run ? "would " : "", b[i].keep ? "keep" : "delete",
			        b[i].id, b[i].reason ? b[i].reason : "");
		if (b[i].keep)
			continue;
		(*deleted)++;
		if (dry_run)
			continue;
		if (pv_repo_remove(repo, &all->v[i]) < 0)
			rc = -1;
		else
			pv_debug("deleted %s (%s)", b[i].id, b[i].reason);
	}
	free(b);
	return rc;
}

int
pv_prune(const pv_config *cfg, pv_repo *repo, const char *db, int dry_run, FILE *out, int *deleted)
{
	pv_entries all;
	*deleted = 0;
	if (pv_repo_list(repo, db, &all) < 0)
		return -1;
	int rc = prune_list(cfg, repo, &all, db, dry_run, out, deleted);
	pv_entries_free(&all);
	if (rc == 0 && !dry_run)
		pv_repo_cleanup(repo, db);
	return rc;
}
