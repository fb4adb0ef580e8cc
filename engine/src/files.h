/* files.h: small file helpers shared by the engine core and the Hub layer (files.c). They
 * know nothing about transfers or the Hub: folders, atomic writes of small files, bounded
 * reads, errno to FERRY_E_*. Functions return 0 or a negative FERRY_E_* code. */
#ifndef FERRY_FILES_H
#define FERRY_FILES_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "ferry.h"

#define FERRY__PATH_MAX 4096 /* a file system path we build or accept */

/* ENOSPC / EDQUOT -> FERRY_E_NOSPC, anything else -> FERRY_E_IO. */
int ferry__errno_to_err(int errnum);
/* Creates `dir` and its missing parents (mode 0777 & ~umask). */
int ferry__mkdirs(const char *dir);
/* Writes `len` bytes to `path` atomically: a unique temp file "<path>.<8 hex>.tmp" in the same
 * folder (parents created), fsync, rename over `path`. `mode` is the file mode before umask.
 * The temp file is removed on failure. FERRY_E_IO / FERRY_E_NOSPC. */
int ferry__write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* The same with the content written by fill() to a stream (0 or a FERRY_E_*), so a large file
 * need not be held in memory; a failure of fill or of the writes leaves `path` untouched. */
int ferry__write_atomic_with(const char *path, mode_t mode, int (*fill)(FILE *f, void *user),
                             void *user);
/* Reads a whole small file (at most `cap` bytes, NUL-terminated). *found = 0 and 0 returned
 * when it does not exist; FERRY_E_PROTOCOL when it is larger than cap. */
int ferry__read_small(const char *path, size_t cap, char **out, size_t *len, int *found);
/* The same without following a symbolic link at `path` (FERRY_E_IO) and without blocking on
 * a FIFO: for files that only ferry writes (lock files), which a planted link must not
 * redirect. */
int ferry__read_small_nofollow(const char *path, size_t cap, char **out, size_t *len,
                               int *found);

/* Creates `path` as a new file of our own and opens it with O_CREAT|O_EXCL|O_NOFOLLOW|`flags`
 * (mode before umask): whatever was at `path` is unlinked first (unlink removes a link
 * itself, never its target), and O_EXCL refuses anything that appears in between, so no
 * byte is ever written through a symbolic link. The fd, or -1 with errno set. */
int ferry__open_new(const char *path, int flags, mode_t mode);
/* 1 when `path` itself is a symbolic link (lstat), else 0. */
int ferry__is_symlink(const char *path);

#endif
