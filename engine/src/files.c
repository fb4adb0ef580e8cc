/* files.c: the small file helpers of files.h, shared by the engine core and the Hub layer. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"

int ferry__errno_to_err(int errnum) {
  return errnum == ENOSPC || errnum == EDQUOT ? FERRY_E_NOSPC : FERRY_E_IO;
}

int ferry__mkdirs(const char *dir) {
  size_t len = strlen(dir);
  if (len == 0 || len >= FERRY__PATH_MAX) return FERRY_E_INVAL;
  struct stat st;
  if (stat(dir, &st) == 0) return S_ISDIR(st.st_mode) ? 0 : FERRY_E_IO; /* the usual case */
  char buf[FERRY__PATH_MAX];
  memcpy(buf, dir, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (buf[i] != '/' && buf[i] != 0) continue;
    char saved = buf[i];
    buf[i] = 0;
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return ferry__errno_to_err(errno);
    buf[i] = saved;
  }
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return FERRY_E_IO;
  return 0;
}

/* Creates the folder that will hold `path`. */
static int mkparent(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash || slash == path) return 0;
  char buf[FERRY__PATH_MAX];
  size_t n = (size_t)(slash - path);
  if (n >= sizeof(buf)) return FERRY_E_INVAL;
  memcpy(buf, path, n);
  buf[n] = 0;
  return ferry__mkdirs(buf);
}

int ferry__write_atomic_with(const char *path, mode_t mode, int (*fill)(FILE *f, void *user),
                             void *user) {
  int r = mkparent(path);
  if (r) return r;
  unsigned char rnd[4];
  if (RAND_bytes(rnd, sizeof(rnd)) != 1) return FERRY_E_INTERNAL;
  char tmp[FERRY__PATH_MAX + 16];
  int tn = snprintf(tmp, sizeof(tmp), "%s.%02x%02x%02x%02x.tmp", path, rnd[0], rnd[1],
                    rnd[2], rnd[3]);
  if (tn < 0 || (size_t)tn >= sizeof(tmp)) return FERRY_E_INVAL;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return ferry__errno_to_err(errno);
  FILE *f = fdopen(fd, "w");
  if (!f) {
    close(fd);
    unlink(tmp);
    return FERRY_E_NOMEM;
  }
  r = fill(f, user);
  if (!r && (fflush(f) != 0 || ferror(f))) r = ferry__errno_to_err(errno ? errno : EIO);
  if (!r && fsync(fd) != 0) r = ferry__errno_to_err(errno);
  if (fclose(f) != 0 && !r) r = ferry__errno_to_err(errno);
  if (!r && rename(tmp, path) != 0) r = ferry__errno_to_err(errno);
  if (r) unlink(tmp);
  return r;
}

struct bytes {
  const void *data;
  size_t len;
};

static int fill_bytes(FILE *f, void *user) {
  const struct bytes *b = user;
  return b->len && fwrite(b->data, 1, b->len, f) != b->len ? ferry__errno_to_err(errno) : 0;
}

int ferry__write_atomic(const char *path, const void *data, size_t len, mode_t mode) {
  struct bytes b = {data, len};
  return ferry__write_atomic_with(path, mode, fill_bytes, &b);
}

static int read_small(const char *path, int flags, size_t cap, char **out, size_t *len,
                      int *found) {
  *out = NULL;
  *len = 0;
  *found = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | flags);
  if (fd < 0) return errno == ENOENT || errno == ENOTDIR ? 0 : FERRY_E_IO;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return FERRY_E_IO;
  }
  if ((uint64_t)st.st_size > cap) {
    close(fd);
    return FERRY_E_PROTOCOL; /* larger than the cap: not a file of ours */
  }
  /* Sized from fstat, grown (up to cap) only if the file grows while we read it. */
  size_t size = (size_t)st.st_size + 1, pos = 0;
  char *buf = malloc(size + 1);
  int r = buf ? 0 : FERRY_E_NOMEM;
  while (!r) {
    if (pos == size) {
      size_t bigger = size * 2 > cap + 1 ? cap + 1 : size * 2;
      char *b = bigger > size ? realloc(buf, bigger + 1) : NULL;
      if (!b) {
        r = bigger > size ? FERRY_E_NOMEM : FERRY_E_PROTOCOL;
        break;
      }
      buf = b;
      size = bigger;
    }
    ssize_t n = read(fd, buf + pos, size - pos);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) r = FERRY_E_IO;
    else if (n == 0) break;
    else pos += (size_t)n;
    if (pos > cap) r = FERRY_E_PROTOCOL;
  }
  close(fd);
  if (r) {
    free(buf);
    return r;
  }
  buf[pos] = 0;
  *out = buf;
  *len = pos;
  *found = 1;
  return 0;
}


int ferry__read_small(const char *path, size_t cap, char **out, size_t *len, int *found) {
  return read_small(path, 0, cap, out, len, found);
}

int ferry__read_small_nofollow(const char *path, size_t cap, char **out, size_t *len,
                               int *found) {
  return read_small(path, O_NOFOLLOW | O_NONBLOCK, cap, out, len, found);
}

int ferry__open_new(const char *path, int flags, mode_t mode) {
  if (unlink(path) != 0 && errno != ENOENT) return -1;
  return open(path, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
}

int ferry__is_symlink(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}
