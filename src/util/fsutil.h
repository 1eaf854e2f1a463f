/*
 * util/fsutil.h — writing small files so that a reader sees the old content or the new,
 * never half of it, and creating directories.  A file is written under a temporary name in
 * its own directory (".<name>.tmp.<pid>", the pattern the store's cleanup of dead
 * processes' leftovers recognises), synced, renamed over the final name, and the directory
 * synced, so the new content survives a crash once the call has returned 0.
 */
#ifndef PV_UTIL_FSUTIL_H
#define PV_UTIL_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Replace path with the len bytes at data, with permissions exactly mode (whatever the
 * umask).  The file is always a new one of our own: a temporary name that exists already
 * (left by a dead process with our pid; a link someone put there) is removed, not
 * followed.  0, or -1 with pv_fail() "cannot write PATH: REASON"; then no temporary file
 * is left behind, path is untouched unless only the final directory sync failed, and
 * errno holds the cause.
 */
int pv_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/*
 * The first half of it, for a caller that renames later (a bundle's sidecar is written
 * before the bundle is renamed into place, and renamed after it): the content written and
 * synced under the temporary name, returned in *tmp (malloc'd) for the caller to rename or
 * unlink.  Same errors as above.
 */
int pv_write_file_staged(const char *path, const void *data, size_t len, mode_t mode, char **tmp);

/*
 * Create path and its missing parents with mode (as mkdir(2) does, so less the umask);
 * existing directories are fine.  0, or -1 with pv_fail() naming the directory.
 */
int pv_mkdir_p(const char *path, mode_t mode);
/* Write all len bytes, retrying after signals and short writes; 0, or -1 with errno. */
int pv_write_all(int fd, const void *data, size_t len);

/* fsync() a directory, making renames and creations in it durable.  0, or -1 with pv_fail(). */
int pv_fsync_dir(const char *dir);

#endif
