/*
 * cmd/upload.c — `pgvault upload`: copy local bundles that are not yet in the [s3]
 * storage.  Each is streamed from its file as a multipart upload (bounded memory), its
 * size checked once complete, then its sidecar uploaded; any failure aborts the upload.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "store/s3.h"
#include "util/err.h"
#include "util/log.h"

static const char usage[] =
    "Usage: pgvault upload [OPTIONS] (BUNDLE... | --all)\n"
    "\n"
    "Copy local bundles to the [s3] storage unless they are there already (same size).\n"
    "BUNDLE is an id, a path, DB@latest or DB@TIMESTAMP.\n"
    "\n"
    "  -a, --all     every verified local bundle\n"
    "Exit status: 0 ok, 1 failure, 2 usage or configuration error.\n";

/* "<fsdb>/<id>" for the bundle at DIR/<fsdb>/<id>.pgv */
static char *
key_base(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *prev = slash;
	while (prev && prev > path && prev[-1] != '/')
		prev--;
	size_t n = strlen(path);
	if (!slash || n < 5)
		return NULL;
	return pv_strndup(prev, n - 4 - (size_t)(prev - path));
}

static int
upload_one(pv_s3 *s3, json_t *side)
{
	const char *path = json_string_value(json_object_get(side, "path"));
	const char *id = json_string_value(json_object_get(side, "id"));
	char *base = key_base(path);
	char *key = pv_asprintf("%s.pgv", base);
	int64_t rsize = 0, lsize = json_integer_value(json_object_get(side, "size"));
	char etag[128];
	int rc = -1;
	int h = pv_s3_head(s3, key, &rsize, etag);
	if (h == 0 && rsize == lsize) {
		/* a run killed between the bundle and its sidecar left the bundle unlisted: the
		 * sidecar completes it */
		char *skey = pv_asprintf("%s.manifest.json", base);
		int64_t ssize;
		int sh = pv_s3_head(s3, skey, &ssize, etag);
		free(skey);
		if (sh < 0 || (sh > 0 && pv_s3_put_sidecar(s3, base, side) < 0))
			goto out;
		if (sh > 0)
			pv_info("%s: the S3 storage had the bundle without its sidecar manifest; uploaded it", id);
		else
			pv_info("%s is in the S3 storage already", id);
		printf("%s\n", id);
		rc = 0;
		goto out;
	}
	if (h < 0)
		goto out;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pv_fail("%s: %s", path, strerror(errno));
		goto out;
	}
	pv_s3_upload *up = pv_s3_upload_begin(s3, key);
	if (!up) {
		close(fd);
		goto out;
	}
	pv_sink *sink = pv_s3_upload_sink(up);
	char *buf = pv_malloc(1u << 20);
	ssize_t n;
	int ok = 1;
	while (ok && (n = read(fd, buf, 1u << 20)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ok = pv_fail("reading %s: %s", path, strerror(errno)) == 0;
			break;
		}
		ok = sink->write(sink, buf, (size_t)n) == 0;
	}
	free(buf);
	close(fd);
	int64_t size = 0;
	if (!ok) {
		pv_s3_upload_abort(up);
		goto out;
	}
	if (pv_s3_upload_complete(up, &size) < 0)
		goto out;
	if (size != lsize) {
		pv_fail("the uploaded bundle has %lld bytes, the local one %lld", (long long)size, (long long)lsize);
		goto out;
	}
	rc = pv_s3_put_sidecar(s3, base, side);
	if (rc == 0) {
		printf("%s\n", id);
		pv_info("uploaded %s (%lld bytes)", id, (long long)size);
	}
out:
	if (rc < 0)
		pv_wrap("uploading %s", id);
	free(base);
	free(key);
	return rc;
}

int
cmd_upload(pv_global *g, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"all", no_argument, NULL, 'a'}, PV_GLOBAL_LONGOPTS, {NULL, 0, NULL, 0}};
	int all = 0, opt;
	optind = 0; /* GNU getopt: full re-initialisation */
	while ((opt = getopt_long(argc, argv, "a" PV_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == 'a')
			all = 1;
		else if (opt == OPT_HELP) {
			fputs(usage, stdout);
			return 0;
		} else if (!pv_global_option(g, opt, optarg))
			return pv_usage_error("upload", "invalid option");
	}
	if (!all && optind >= argc)
		return pv_usage_error("upload", "name the bundles to upload, or use --all");
	int rc = pv_setup(g);
	if (rc != PV_EXIT_OK)
		return rc;
	pv_s3 *s3 = pv_open_s3(g);
	if (!s3)
		return PV_EXIT_USAGE;
	pv_remote_cleanup(s3, g);
	pv_store *st = pv_open_store(g);
	json_t *list = pv_store_list(st, NULL);
	int bad = 0;
	if (!list) {
		pv_error("%s", pv_errmsg());
		bad++;
	}
	size_t i;
	json_t *e;
	if (all)
		json_array_foreach(list, i, e) {
			if (!json_is_true(json_object_get(e, "verified")))
				continue;
			pv_err_clear();
			if (upload_one(s3, e) < 0) {
				pv_error("%s", pv_errmsg());
				bad++;
			}
		}
	for (int k = optind; list && k < argc; k++) {
		pv_err_clear();
		json_t *pick = pv_pick_bundle(list, argv[k], pv_store_dir(st));
		if (!pick || upload_one(s3, pick) < 0) {
			pv_error("%s", pv_errmsg());
			bad++;
		}
	}
	json_decref(list);
	pv_store_free(st);
	pv_s3_free(s3);
	return bad ? PV_EXIT_FAIL : PV_EXIT_OK;
}
