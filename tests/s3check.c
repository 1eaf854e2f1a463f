/*
 * tests/s3check.c — a small driver of the S3 client (src/store/s3.c) for the integration
 * tests in tests/t/90-s3-client.sh: one subcommand per client operation.
 *
 * Connection settings come from the environment: S3_ENDPOINT, S3_BUCKET, S3_PREFIX,
 * S3_PATH_STYLE (default 1), AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN, S3_CA_FILE, S3_PART_SIZE, S3_MAX_RETRIES, S3_RETRY_DELAY_MS and
 * S3_IO_TIMEOUT; some can be overridden by options.  Part sizes below S3's 5 MiB minimum are
 * allowed here (the test server does not enforce it).  Errors go to stderr as
 * "s3check: MESSAGE" with exit status 1; "head" of a missing object exits 3.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/s3.h"
#include "util/buf.h"
#include "util/err.h"

static void
usage(void)
{
	fputs("usage: s3check [--endpoint URL] [--prefix P] [--part-size N] [--max-retries N]\n"
	      "               [--vhost] COMMAND ARGS\n"
	      "commands:\n"
	      "  put KEY FILE          upload FILE as one object\n"
	      "  get KEY OUT           stream the object into OUT (- for stdout)\n"
	      "  cat KEY               read a small object into memory, write it to stdout\n"
	      "  head KEY              print \"SIZE ETAG\" (exit 3 if there is no such object)\n"
	      "  delete KEY\n"
	      "  list [SUB]            print \"KEY SIZE ETAG\" per object under the prefix + SUB\n"
	      "  put-many SUB N        create N small objects SUB<n> (n = 00000 ...)\n"
	      "  upload-stream KEY     multipart upload of stdin; prints \"SIZE PARTS\"\n"
	      "  upload-abort KEY      write stdin to a multipart upload, then abort it\n"
	      "  multipart-list        print \"KEY UPLOAD_ID\" per incomplete multipart upload\n"
	      "  abort-upload KEY ID\n"
	      "  url KEY               print the request URL of KEY\n",
	      stderr);
	exit(2);
}

static int
die(void)
{
	fprintf(stderr, "s3check: %s\n", pv_errmsg());
	return 1;
}

static long long
env_num(const char *name, long long def)
{
	const char *v = getenv(name);
	return v && *v ? strtoll(v, NULL, 10) : def;
}

/* Copy all of fd into the sink, in the pieces read() returns. */
static int
pump(int fd, pv_sink *sink)
{
	static char buf[1 << 16];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pv_fail("reading the input: %s", strerror(errno));
		if (n == 0)
			return 0;
		if (sink->write(sink, buf, (size_t)n) < 0)
			return -1;
	}
}

static int
cmd_put(pv_s3 *s, const char *key, const char *file)
{
	int fd = open(file, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return pv_fail("%s: %s", file, strerror(errno));
	char *data = pv_malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
		if (n <= 0) {
			close(fd);
			free(data);
			return pv_fail("%s: short read", file);
		}
		got += (size_t)n;
	}
	close(fd);
	int rc = pv_s3_put(s, key, data, got);
	free(data);
	return rc;
}

static int
cmd_get(pv_s3 *s, const char *key, const char *out)
{
	int fd = strcmp(out, "-") == 0 ? 1 : open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int64_t size = 0;
	if (fd < 0)
		return pv_fail("%s: %s", out, strerror(errno));
	int rc = pv_s3_get_to_fd(s, key, fd, &size);
	if (fd != 1 && close(fd) < 0 && rc == 0)
		rc = pv_fail("%s: %s", out, strerror(errno));
	if (rc == 0 && fd != 1)
		printf("%" PRId64 "\n", size);
	return rc;
}

static int
cmd_cat(pv_s3 *s, const char *key)
{
	pv_buf b = PV_BUF_INIT;
	int rc = pv_s3_get(s, key, &b, (size_t)64 << 20);
	if (rc == 0)
		fwrite(b.data ? b.data : "", 1, b.len, stdout);
	pv_buf_free(&b);
	return rc;
}

static int
print_list(json_t *arr, const char *f1, const char *f2, const char *f3)
{
	size_t i;
	json_t *o;
	if (!arr)
		return -1;
	json_array_foreach(arr, i, o) {
		json_t *v2 = json_object_get(o, f2);
		printf("%s ", json_string_value(json_object_get(o, f1)));
		if (json_is_integer(v2))
			printf("%" JSON_INTEGER_FORMAT, json_integer_value(v2));
		else
			printf("%s", json_string_value(v2));
		if (f3)
			printf(" %s", json_string_value(json_object_get(o, f3)));
		putchar('\n');
	}
	json_decref(arr);
	return 0;
}

static int
cmd_put_many(pv_s3 *s, const char *sub, long n)
{
	for (long i = 0; i < n; i++) {
		char *key = pv_asprintf("%s%05ld", sub, i);
		char *body = pv_asprintf("object %ld\n", i);
		int rc = pv_s3_put(s, key, body, strlen(body));
		free(key);
		free(body);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int
cmd_upload(pv_s3 *s, const char *key, int abort_it)
{
	pv_s3_upload *u = pv_s3_upload_begin(s, key);
	int64_t size = 0;
	if (!u)
		return -1;
	if (abort_it) {
		int rc = pump(0, pv_s3_upload_sink(u));
		printf("%s %d\n", pv_s3_upload_id(u) ? pv_s3_upload_id(u) : "-", pv_s3_upload_parts(u));
		pv_s3_upload_abort(u);
		return rc;
	}
	if (pump(0, pv_s3_upload_sink(u)) < 0) {
		pv_s3_upload_abort(u);
		return -1;
	}
	int parts = pv_s3_upload_parts(u);
	if (pv_s3_upload_complete(u, &size) < 0)
		return -1;
	/* parts sent while streaming, plus the last one sent by complete() */
	printf("%" PRId64 " %d\n", size, size > 0 ? parts + 1 : 0);
	return 0;
}

int
main(int argc, char **argv)
{
	pv_s3_opts o;
	int i = 1;

	memset(&o, 0, sizeof o);
	o.endpoint = getenv("S3_ENDPOINT");
	o.bucket = getenv("S3_BUCKET");
	o.prefix = getenv("S3_PREFIX");
	o.region = getenv("AWS_REGION");
	o.access_key = getenv("AWS_ACCESS_KEY_ID");
	o.secret_key = getenv("AWS_SECRET_ACCESS_KEY");
	o.session_token = getenv("AWS_SESSION_TOKEN");
	o.ca_file = getenv("S3_CA_FILE");
	o.path_style = (int)env_num("S3_PATH_STYLE", 1);
	o.part_size = (size_t)env_num("S3_PART_SIZE", 0);
	o.allow_small_parts = 1;
	o.max_retries = (int)env_num("S3_MAX_RETRIES", 0);
	o.retry_delay_ms = (long)env_num("S3_RETRY_DELAY_MS", 0);
	o.io_timeout = (long)env_num("S3_IO_TIMEOUT", 0);

	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--vhost") == 0)
			o.path_style = 0;
		else if (i + 1 >= argc)
			usage();
		else if (strcmp(argv[i], "--endpoint") == 0)
			o.endpoint = argv[++i];
		else if (strcmp(argv[i], "--prefix") == 0)
			o.prefix = argv[++i];
		else if (strcmp(argv[i], "--part-size") == 0)
			o.part_size = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--max-retries") == 0)
			o.max_retries = atoi(argv[++i]);
		else
			usage();
	}
	if (i >= argc)
		usage();
	const char *cmd = argv[i++];
	int nargs = argc - i;
	char **a = argv + i;

	pv_s3 *s = pv_s3_new(&o);
	if (!s)
		return die();
	int rc;
	if (strcmp(cmd, "put") == 0 && nargs == 2) {
		rc = cmd_put(s, a[0], a[1]);
	} else if (strcmp(cmd, "get") == 0 && nargs == 2) {
		rc = cmd_get(s, a[0], a[1]);
	} else if (strcmp(cmd, "cat") == 0 && nargs == 1) {
		rc = cmd_cat(s, a[0]);
	} else if (strcmp(cmd, "head") == 0 && nargs == 1) {
		int64_t size = 0;
		char etag[128];
		rc = pv_s3_head(s, a[0], &size, etag);
		if (rc == 0) {
			printf("%" PRId64 " %s\n", size, etag);
		} else if (rc == 1) {
			printf("not found\n");
			pv_s3_free(s);
			return 3;
		}
	} else if (strcmp(cmd, "delete") == 0 && nargs == 1) {
		rc = pv_s3_delete(s, a[0]);
	} else if (strcmp(cmd, "list") == 0 && nargs <= 1) {
		rc = print_list(pv_s3_list(s, nargs ? a[0] : NULL), "key", "size", "etag");
	} else if (strcmp(cmd, "put-many") == 0 && nargs == 2) {
		rc = cmd_put_many(s, a[0], atol(a[1]));
	} else if (strcmp(cmd, "upload-stream") == 0 && nargs == 1) {
		rc = cmd_upload(s, a[0], 0);
	} else if (strcmp(cmd, "upload-abort") == 0 && nargs == 1) {
		rc = cmd_upload(s, a[0], 1);
	} else if (strcmp(cmd, "multipart-list") == 0 && nargs == 0) {
		rc = print_list(pv_s3_list_uploads(s), "key", "upload_id", NULL);
	} else if (strcmp(cmd, "abort-upload") == 0 && nargs == 2) {
		rc = pv_s3_abort_upload(s, a[0], a[1]);
	} else if (strcmp(cmd, "url") == 0 && nargs == 1) {
		char *u = pv_s3_url(s, a[0]);
		rc = u ? 0 : -1;
		if (u)
			printf("%s\n", u);
		free(u);
	} else {
		pv_s3_free(s);
		usage();
		return 2;
	}
	pv_s3_free(s);
	if (fflush(stdout) != 0 && rc == 0)
		rc = pv_fail("writing the output: %s", strerror(errno));
	return rc < 0 ? die() : 0;
}
