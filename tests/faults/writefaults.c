/* The write-failure shim of `ferry-faults` (tests/faults): the ferry command line, linked with
 * this file, whose writes into a partial file fail with ENOSPC from a set offset on, so that a
 * test decides which of a file's blocks reach the disk and which do not (a real full disk
 * decides by timing).
 *   FERRY_FAULT_WRITE_FROM=OFFSET  a pwrite into a file whose name ends in ".part" that
 *                                  reaches OFFSET or past it fails with ENOSPC;
 *   FERRY_FAULT_WRITE_MS=MS        ... after MS milliseconds (a slow failing disk), so that
 *                                  writes below OFFSET complete around the failures.
 * The link wraps pwrite (-Wl,--wrap=pwrite): ferry's own writes, O_DIRECT or buffered, on the
 * writers and on the loop thread; no source file of ferry carries the hook. Without
 * FERRY_FAULT_WRITE_FROM nothing fails. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ssize_t __real_pwrite(int fd, const void *buf, size_t n, off_t offset);

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Whether fd is a partial file (not its journal, not anything else). */
static int is_partial_file(int fd) {
  char link[64], target[PATH_MAX];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof(target) - 1);
  if (n <= 0) return 0;
  target[n] = '\0';
  return ends_with(target, ".part");
}

ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t offset) {
  const char *from = getenv("FERRY_FAULT_WRITE_FROM");
  if (from && (unsigned long long)offset + n > strtoull(from, NULL, 10) && is_partial_file(fd)) {
    const char *ms = getenv("FERRY_FAULT_WRITE_MS");
    if (ms) usleep((useconds_t)strtoul(ms, NULL, 10) * 1000);
    errno = ENOSPC;
    return -1;
  }
  return __real_pwrite(fd, buf, n, offset);
}
