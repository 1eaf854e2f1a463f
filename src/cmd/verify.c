/*
 * cmd/verify.c — `pgvault verify`: full check of bundles (checksums, decompression,
 * COPY well-formedness, manifest consistency), the verdict recorded in the sidecar of each
 * bundle of the repository (a damaged one stops being verified: pv_repo_record_verify).
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "engine/restore.h"
#include "store/crypt.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/names.h"
#include "util/progress.h"
#include "util/sigsafe.h"

enum { OPT_REMOTE = OPT_CMD_BASE, OPT_RESTORE, OPT_LATEST };

static const pv_opt options[] = {
	PV_OPT('a', "all", 'a', NULL, "every bundle in the storage directory"),
	PV_OPT('j', "jobs", 'j', "N",
	       "use N threads: data members are decompressed and checked on N - 1 of them while "
	       "one reads the bundle (memory: one data member more for each)"),
	PV_OPT(0, "latest", OPT_LATEST, NULL, "the newest verified bundle of each database"),
	PV_OPT(0, "restore", OPT_RESTORE, NULL,
	       "also restore each bundle that verified into a scratch database of the server, check "
	       "that every table holds the rows the manifest counts, drop it, and record the result "
	       "(restore_tested) in the sidecar"),
	PV_OPT(0, "remote", OPT_REMOTE, NULL,
	       "bundles of the [s3] storage instead (each downloaded to a temporary file in the "
	       "storage directory, checked, and removed)"),
	PV_OPT_KEY("backup", "lock_timeout"), /* pv_read_lock: the read lock's wait */
	PV_OPT_INCLUDE(pv_keys_s3),
	PV_OPT_END,
};

const pv_command pv_cmd_verify = {
	.name = "verify",
	.summary = "check bundles completely",
	.usage = "pgvault verify [OPTIONS] (BUNDLE... | --all | --latest)",
	.description =
	    "Check bundles completely: every member's SHA-256, full decompression, COPY data\n"
	    "well-formedness and consistency with the manifest.  BUNDLE is an id, a path,\n"
	    "DB@latest or DB@TIMESTAMP.\n",
	.opts = options,
	.exit_status = "0 all good, 1 a bundle failed (the message names the bad member),\n2 usage error.",
	.run = cmd_verify,
};

/* "ok ID" of a good bundle, but with --quiet (nothing on success: cron mails any output) */
static void __attribute__((format(printf, 1, 2)))
ok_line(const char *fmt, ...)
{
	if (pv_log_level() <= PV_LOG_QUIET)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("ok ", stdout);
	vprintf(fmt, ap);
	va_end(ap);
}

/* What verify does besides the checks of every bundle. */
typedef struct vopts {
	int jobs;
	int restore; /* --restore: a test restore of each bundle that verified */
	int latest;  /* --latest: of --all, the newest verified bundle of each database */
} vopts;

/* Verify what rd reads and close it; 0 or -1 with the error set.  *manifest (if not NULL)
 * gets the verified manifest. */
static int
verify_reader(pv_repo_reader *rd, const char *label, int jobs, json_t **manifest)
{
	int fd = pv_reader_fd(rd);
	pv_source src;
	pv_source_fd(&src, &fd);
	json_t *m = NULL;
	int rc = pv_bundle_verify(&src, label, jobs, &m);
	if (manifest && rc == 0)
		*manifest = m;
	else
		json_decref(m);
	pv_reader_close(rd);
	return rc;
}

/* The test restore of e (verified: its manifest), into more ({restore_tested: report,
 * restore_test_failed: null} or the reverse); 0, or -1 with the error set. */
static int
restore_test(pv_global *g, pv_repo *r, const pv_entry *e, json_t *manifest, int jobs, json_t *more)
{
	pv_lock *l = pv_read_lock(g, r);
	pv_repo_reader *rd = l ? pv_repo_open(r, e) : NULL;
	pv_lock_release(l);
	json_t *report = NULL;
	int rc = -1;
	if (rd) {
		int fd = pv_reader_fd(rd);
		pv_source src;
		pv_source_fd(&src, &fd);
		rc = pv_restore_test(&g->conn, &src, e->where, manifest, jobs, &report);
		pv_reader_close(rd);
	}
	if (rc == 0) {
		pv_info("%s: test restore passed: %lld tables, %lld rows, in %.1fs", e->id,
		        (long long)json_integer_value(json_object_get(report, "tables")),
		        (long long)json_integer_value(json_object_get(report, "rows")),
		        json_real_value(json_object_get(report, "seconds")));
		(void)pvj_set(more, PV_SIDECAR_RESTORE_TESTED, report);
		(void)pvj_set(more, PV_SIDECAR_RESTORE_FAILED, json_null());
		return 0;
	}
	json_t *why = json_object();
	char iso[21];
	pv_iso8601(time(NULL), iso);
	(void)pvj_set_str(why, "at", iso);
	(void)pvj_set(why, "error", pvj_shown(pv_errmsg()));
	(void)pvj_set(more, PV_SIDECAR_RESTORE_FAILED, why);
	return -1;
}

/* Verify bundle e of r (opened under the repository's shared lock) and record the verdict in
 * its sidecar (pv_repo_record_verify: a damaged bundle is no longer anyone's newest verified
 * one); 1 good, 0 removed by prune since the listing, -1 bad or unreadable (reported). */
static int
verify_entry(pv_global *g, pv_repo *r, const pv_entry *e, const vopts *vo)
{
	int64_t size;
	int side;
	pv_err_clear();
	if (!pv_repo_can_decrypt(r) && json_object_get(e->sidecar, PV_SIDECAR_ENCRYPTION)) {
		/* encrypted, and no key here: the stored bytes against the sidecar's record */
		pv_lock *l = pv_read_lock(g, r);
		int v = l ? pv_repo_check_ciphertext(r, e) : -1;
		pv_lock_release(l);
		if (v > 0) {
			pv_info("%s: encrypted; its stored bytes are intact (without the key, nothing more is "
			        "checked)", e->id);
			return 1;
		}
		pv_error("%s", pv_errmsg());
		return -1;
	}
	pv_lock *l = pv_read_lock(g, r);
	pv_repo_reader *rd = l ? pv_repo_open(r, e) : NULL;
	int gone = l && !rd && pv_repo_stat(r, e->name, &size, &side) == 0;
	pv_lock_release(l);
	if (gone) {
		pv_info("%s: removed by prune since the listing", e->id);
		return 0;
	}
	if (!rd) { /* no verdict on the bundle: the download or the open failed */
		pv_error("%s", pv_errmsg());
		return -1;
	}
	json_t *manifest = NULL, *more = json_object();
	char *what = pv_asprintf("verifying %s", e->id);
	pv_progress_begin(what, e->size, 0, "checked");
	free(what);
	int rc = verify_reader(rd, e->where, vo->jobs, vo->restore ? &manifest : NULL);
	pv_progress_end();
	char *why = rc < 0 ? pv_strdup(pv_errmsg()) : NULL;
	char *rwhy = NULL;
	if (rc == 0 && vo->restore && restore_test(g, r, e, manifest, vo->jobs, more) < 0)
		rwhy = pv_strdup(pv_errmsg());
	json_decref(manifest);
	if (!pv_interrupted) {
		l = pv_read_lock(g, r);
		if (!l || pv_repo_record_verify(r, e, why, more) < 0)
			pv_warn("%s", pv_errmsg());
		pv_lock_release(l);
	}
	json_decref(more);
	if (why || rwhy) {
		pv_error("%s", why ? why : rwhy);
		free(why);
		free(rwhy);
		return -1;
	}
	return 1;
}

/* Whether bundle i is the newest verified one of its database (the list is sorted by
 * database, then time) */
static int
newest_verified(const pv_entries *l, size_t i)
{
	if (!l->v[i].verified)
		return 0;
	for (size_t j = i + 1; j < l->n && strcmp(l->v[j].database, l->v[i].database) == 0; j++)
		if (l->v[j].verified)
			return 0;
	return 1;
}

/* Each bundle of the repository (a prune may have removed it since the listing: reported,
 * not failed); named (names NULL: every one).  A name no bundle answers is an error. */
static void
verify_list(pv_global *g, pv_repo *r, char **names, int nnames, const char *suffix, const vopts *vo,
            int *good, int *bad)
{
	pv_entries list;
	if (pv_repo_list(r, NULL, &list) < 0) {
		pv_error("%s", pv_errmsg());
		(*bad)++;
		return;
	}
	for (size_t i = 0; !names && i < list.n; i++) {
		if (vo->latest && !newest_verified(&list, i))
			continue;
		int v = verify_entry(g, r, &list.v[i], vo);
		if (v > 0)
			ok_line("%s%s\n", list.v[i].id, suffix);
		*good += v > 0;
		*bad += v < 0;
	}
	for (int k = 0; names && k < nnames; k++) {
		pv_err_clear();
		const pv_entry *e = pv_entries_pick(&list, names[k], pv_repo_describe(r));
		int v = e ? verify_entry(g, r, e, vo) : -1;
		if (!e)
			pv_error("%s", pv_errmsg());
		else if (v == 0)
			pv_error("%s: removed by prune since the listing", e->id);
		if (v > 0)
			ok_line("%s%s%s%s%s\n", names[k], strcmp(names[k], e->id) ? " (" : "",
			        strcmp(names[k], e->id) ? e->id : "", strcmp(names[k], e->id) ? ")" : "", suffix);
		*good += v > 0;
		*bad += v <= 0;
	}
	pv_entries_free(&list);
}

typedef struct every {
	const vopts *vo;
	int remote, good, bad;
} every;

/* after a bundle's name: where it is, when not here */
static const char *
where_suffix(pv_repo *r)
{
	return strcmp(pv_repo_kind(r), "local") == 0 ? "" : " (s3)";
}

static int
verify_all(pv_global *g, void *arg)
{
	every *e = arg;
	pv_repo *r = pv_open_repo(g, e->remote);
	if (!r) {
		e->bad++;
		return 0;
	}
	verify_list(g, r, NULL, 0, where_suffix(r), e->vo, &e->good, &e->bad);
	pv_repo_free(r);
	return 0;
}

int
cmd_verify(pv_global *g, int argc, char **argv)
{
	int all = 0, remote = 0, latest = 0, opt;
	vopts vo = {.jobs = 1};
	pv_parser p;
	pv_opts_init(&p, &pv_cmd_verify, 0);
	while ((opt = pv_next_option(&p, g, argc, argv)) >= 0) {
		if (opt == 'a')
			all = 1;
		else if (opt == OPT_REMOTE)
			remote = 1;
		else if (opt == OPT_RESTORE)
			vo.restore = 1;
		else if (opt == OPT_LATEST)
			latest = 1;
		else if (opt == 'j') {
			char *end;
			long j = strtol(optarg, &end, 10);
			if (*end || j < 1 || j > 64)
				return pv_usage_error("verify", "--jobs takes a number from 1 to 64");
			vo.jobs = (int)j;
		}
	}
	if (opt != -1)
		return opt == PV_OPTS_HELP ? PV_EXIT_OK : PV_EXIT_USAGE;
	vo.latest = latest;
	all |= latest;
	if (!all && optind >= argc)
		return pv_usage_error("verify", "name the bundles to verify, or use --all or --latest");
	int src = pv_setup(g);
	if (src != PV_EXIT_OK)
		return src;
	int bad = 0, good = 0;
	if (all) { /* every server's storage, and what the storage itself holds */
		every e = {&vo, remote, 0, 0};
		if (pv_each_storage(g, verify_all, &e) < 0)
			bad++;
		good += e.good;
		bad += e.bad;
	}
	/* SERVER/DB@latest: that server's */
	char **names = (char **)pv_server_refs(g, "verify", argc, argv, optind);
	if (!names)
		return PV_EXIT_USAGE;
	pv_repo *r = pv_open_repo(g, remote);
	if (!r) {
		free(names);
		return PV_EXIT_FAIL;
	}
	const char *suffix = where_suffix(r);
	/* names in the repository get their verdict recorded; files are only checked */
	int nnames = 0;
	for (int i = 0; i < argc - optind; i++) {
		if (!pv_bundle_arg_is_path(names[i])) {
			names[nnames++] = names[i];
			continue;
		}
		pv_err_clear();
		const char *path = names[i];
		pv_repo_reader *rd = pv_open_bundle(g, r, path);
		if (vo.restore) {
			pv_error("%s: --restore tests bundles of the storage (an id, DB@latest), not files", path);
			bad++;
			pv_reader_close(rd);
		} else if (!rd || verify_reader(rd, path, vo.jobs, NULL) < 0) {
			pv_error("%s", pv_errmsg());
			bad++;
		} else {
			ok_line("%s%s\n", path, suffix);
			good++;
		}
	}
	if (nnames)
		verify_list(g, r, names, nnames, suffix, &vo, &good, &bad);
	free(names);
	pv_repo_free(r);
	return bad ? PV_EXIT_FAIL : PV_EXIT_OK;
}
