/*
 * util/fsutil.c — atomic file replacement, mkdir -p and directory sync (see fsutil.h).
 */
#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/err.h"

int
pv_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return pv_fail("cannot open directory %s: %s", dir, strerror(errno));
	if (fsync(fd) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return pv_fail("cannot fsync directory %s: %s", dir, strerror(e));
	}
	if (close(fd) < 0)
		return pv_fail("cannot close directory %s: %s", dir, strerror(errno));
	return 0;
}

int
pv_mkdir_p(const char *path, mode_t mode)
{
	if (!*path)
		return pv_fail("cannot create a directory with an empty name");
	char *p = pv_strdup(path);
	for (char *c = p + 1; *c; c++) {
		if (*c != '/' || c[-1] == '/')
			continue;
		*c = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			int e = errno;
			pv_fail("cannot create directory %s: %s", p, strerror(e));
			free(p);
			errno = e;
			return -1;
		}
		*c = '/';
	}
	free(p);
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return pv_fail("cannot create directory %s: %s", path, strerror(errno));
	struct stat st;
	if (stat(path, &st) < 0)
		return pv_fail("cannot create directory %s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return pv_fail("cannot create directory %s: %s", path, strerror(ENOTDIR));
	}
	return 0;
}

int
pv_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* a new file of our own at tmp: one left there (by a dead process with our pid, or a link
 * someone put there) is removed and the creation tried once more */
static int
create_new(const char *tmp, mode_t mode)
{
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = open(tmp, flags, mode & 07777);
	if (fd < 0 && errno == EEXIST) {
		if (unlink(tmp) < 0)
			return -1;
		fd = open(tmp, flags, mode & 07777);
	}
	return fd;
}

/* the failure of a step before the rename: remove the temporary file (if remove_tmp), record
 * the message and leave errno at the cause */
static int
write_failed(const char *path, const char *tmp, int remove_tmp)
{
	int e = errno;
	if (remove_tmp)
		unlink(tmp); /* best effort: the failure reported is the one before */
	pv_fail("cannot write %s: %s", path, strerror(e));
	errno = e;
	return -1;
}

int
pv_write_file_staged(const char *path, const void *data, size_t len, mode_t mode, char **tmp_out)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	*tmp_out = NULL;
	if (!*name) {
		errno = EISDIR;
		return pv_fail("cannot write %s: %s", path, strerror(EISDIR));
	}
	char *tmp = slash ? pv_asprintf("%.*s/.%s.tmp.%ld", (int)(slash - path), path, name, (long)getpid())
	                  : pv_asprintf(".%s.tmp.%ld", name, (long)getpid());
	int rc = 0;
	int fd = create_new(tmp, mode);
	if (fd < 0) {
		rc = write_failed(path, tmp, 0); /* nothing of ours to remove */
	} else if (fchmod(fd, mode & 07777) < 0 || pv_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		/* fchmod: the mode asked for, not what the umask left of it */
		int e = errno;
		close(fd);
		errno = e;
		rc = write_failed(path, tmp, 1);
	} else if (close(fd) < 0) {
		rc = write_failed(path, tmp, 1);
	}
	if (rc < 0) {
		int e = errno;
		free(tmp);
		errno = e;
		return rc;
	}
	*tmp_out = tmp;
	return 0;
}

int
pv_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = NULL;
	if (pv_write_file_staged(path, data, len, mode, &tmp) < 0)
		return -1;
	const char *slash = strrchr(path, '/');
	char *dir = !slash ? pv_strdup(".") : slash == path ? pv_strdup("/")
	                                     : pv_asprintf("%.*s", (int)(slash - path), path);
	int rc = 0;
	if (rename(tmp, path) < 0) {
		rc = write_failed(path, tmp, 1);
	} else if (pv_fsync_dir(dir) < 0) {
		/* the new content is in place, but not yet surely durable */
		int e = errno;
		rc = pv_wrap("cannot write %s", path);
		errno = e;
	}
	int e = errno; /* kept for the caller through the frees */
	free(tmp);
	free(dir);
	errno = e;
	return rc;
}
