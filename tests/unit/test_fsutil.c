/*
 * tests/unit/test_fsutil.c — util/fsutil: atomic file replacement (content, exact mode,
 * no temporary file left after success or failure, the message of a failure), mkdir -p and
 * directory sync.  Works in a fresh directory under $TMPDIR (default /tmp).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/fsutil.h"

/* a fresh scratch directory for one test, removed (with its files) by teardown */
static int
setup(void **state)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *dir = pv_asprintf("%s/pv-fsutil.XXXXXX", base);
	if (!mkdtemp(dir)) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int
teardown(void **state)
{
	char *cmd = pv_asprintf("rm -rf '%s'", (char *)*state);
	int rc = system(cmd);
	free(cmd);
	free(*state);
	return rc == 0 ? 0 : -1;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	pv_buf b = PV_BUF_INIT;
	char chunk[512];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		pv_buf_add(&b, chunk, n);
	fclose(f);
	return pv_buf_detach(&b);
}

/* the names in dir, sorted, joined by spaces ("" when empty) */
static char *
listing(const char *dir)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);
	assert_true(n >= 0);
	pv_buf b = PV_BUF_INIT;
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
			pv_buf_printf(&b, "%s%s", b.len ? " " : "", name);
		free(ents[i]);
	}
	free(ents);
	return pv_buf_detach(&b);
}

static mode_t
mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void
test_write_replaces(void **state)
{
	const char *dir = *state;
	char *path = pv_asprintf("%s/file", dir);
	char *s;

	assert_int_equal(pv_write_file_atomic(path, "first version\n", 14, 0600), 0);
	s = slurp(path);
	assert_string_equal(s, "first version\n");
	free(s);
	assert_int_equal(pv_write_file_atomic(path, "second\n", 7, 0600), 0);
	s = slurp(path);
	assert_string_equal(s, "second\n"); /* replaced, not appended or overlaid */
	free(s);
	/* binary content and the empty file */
	assert_int_equal(pv_write_file_atomic(path, "a\0b", 3, 0600), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 3);
	assert_int_equal(pv_write_file_atomic(path, "", 0, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);

	s = listing(dir);
	assert_string_equal(s, "file"); /* no temporary file left */
	free(s);
	free(path);
}

static void
test_write_mode(void **state)
{
	const char *dir = *state;
	char *path = pv_asprintf("%s/m", dir);
	mode_t old = umask(0077);

	/* exactly the mode asked for, whatever the umask */
	assert_int_equal(pv_write_file_atomic(path, "x", 1, 0644), 0);
	assert_int_equal(mode_of(path), 0644);
	assert_int_equal(pv_write_file_atomic(path, "x", 1, 0600), 0);
	assert_int_equal(mode_of(path), 0600);
	umask(0);
	assert_int_equal(pv_write_file_atomic(path, "x", 1, 0640), 0);
	assert_int_equal(mode_of(path), 0640);
	umask(old);
	free(path);
}

/* a temporary name already there (a dead process with our pid, or a planted link) is
 * removed, not followed */
static void
test_write_stale_tmp(void **state)
{
	const char *dir = *state;
	char *path = pv_asprintf("%s/target", dir);
	char *victim = pv_asprintf("%s/victim", dir);
	char *tmp = pv_asprintf("%s/.target.tmp.%ld", dir, (long)getpid());

	assert_int_equal(pv_write_file_atomic(victim, "precious", 8, 0600), 0);
	assert_int_equal(symlink(victim, tmp), 0);
	assert_int_equal(pv_write_file_atomic(path, "new", 3, 0600), 0);
	char *s = slurp(victim);
	assert_string_equal(s, "precious");
	free(s);
	s = slurp(path);
	assert_string_equal(s, "new");
	free(s);
	s = listing(dir);
	assert_string_equal(s, "target victim");
	free(s);
	free(tmp);
	free(victim);
	free(path);
}

/* a path without a directory part is in the current directory */
static void
test_write_relative(void **state)
{
	const char *dir = *state;
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(dir), 0);
	int rc = pv_write_file_atomic("here", "rel", 3, 0600);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(rc, 0);
	char *s = listing(dir);
	assert_string_equal(s, "here");
	free(s);
}

static void
test_write_missing_dir(void **state)
{
	const char *dir = *state;
	char *path = pv_asprintf("%s/no-such-dir/file", dir);

	pv_err_clear();
	errno = 0;
	assert_int_equal(pv_write_file_atomic(path, "x", 1, 0600), -1);
	assert_int_equal(errno, ENOENT);
	char *want = pv_asprintf("cannot write %s: %s", path, strerror(ENOENT));
	assert_string_equal(pv_errmsg(), want);
	free(want);
	char *s = listing(dir);
	assert_string_equal(s, ""); /* nothing created */
	free(s);
	free(path);
}

/* a failure after the temporary file exists (here the rename: the target is a directory)
 * removes it and leaves the target alone */
static void
test_write_failed_rename(void **state)
{
	const char *dir = *state;
	char *path = pv_asprintf("%s/adir", dir);
	assert_int_equal(mkdir(path, 0700), 0);

	pv_err_clear();
	assert_int_equal(pv_write_file_atomic(path, "x", 1, 0600), -1);
	int e = errno;
	assert_true(e == EISDIR || e == ENOTEMPTY || e == EEXIST);
	char *want = pv_asprintf("cannot write %s: %s", path, strerror(e));
	assert_string_equal(pv_errmsg(), want);
	free(want);
	char *s = listing(dir);
	assert_string_equal(s, "adir");
	free(s);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));

	/* no file name at all */
	pv_err_clear();
	char *slashed = pv_asprintf("%s/", dir);
	assert_int_equal(pv_write_file_atomic(slashed, "x", 1, 0600), -1);
	assert_non_null(strstr(pv_errmsg(), slashed));
	free(slashed);
	free(path);
}

static void
test_mkdir_p(void **state)
{
	const char *dir = *state;
	char *deep = pv_asprintf("%s/a/b//c", dir);
	char *c = pv_asprintf("%s/a/b/c", dir);

	assert_int_equal(pv_mkdir_p(deep, 0700), 0);
	struct stat st;
	assert_int_equal(stat(c, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(pv_mkdir_p(c, 0700), 0); /* exists already: fine */
	assert_int_equal(pv_fsync_dir(c), 0);

	/* a file in the way */
	char *file = pv_asprintf("%s/f", dir);
	char *under = pv_asprintf("%s/f/sub", dir);
	assert_int_equal(pv_write_file_atomic(file, "x", 1, 0600), 0);
	pv_err_clear();
	assert_int_equal(pv_mkdir_p(file, 0700), -1);
	assert_non_null(strstr(pv_errmsg(), file));
	assert_int_equal(pv_mkdir_p(under, 0700), -1);
	assert_non_null(strstr(pv_errmsg(), file));

	char *missing = pv_asprintf("%s/missing", dir);
	assert_int_equal(pv_fsync_dir(missing), -1);
	assert_non_null(strstr(pv_errmsg(), missing));
	free(missing);
	free(under);
	free(file);
	free(c);
	free(deep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_stale_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_relative, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_missing_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_failed_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mkdir_p, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
