/* bench_stages: the local stages of a download measured alone, for `ferry bench`'s verdict:
 * SHA-256 on one core (a file's digest is sequential, so one core bounds one file) and
 * writes into the target folder ended by an fsync (what a download's data costs the disk). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "files.h"

#define STAGE_BUF (8u << 20)

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bytes that do not compress or repeat in an obvious way (the hash does not care, a
 * compressing filesystem would). */
static unsigned char *filled_buffer(void) {
  unsigned char *b = malloc(STAGE_BUF);
  if (!b) return NULL;
  uint64_t s = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < STAGE_BUF; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    b[i] = (unsigned char)s;
  }
  return b;
}

double ferry__bench_sha256_rate(double seconds) {
  unsigned char *buf = filled_buffer();
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  double rate = 0;
  if (buf && ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1) {
    uint64_t bytes = 0;
    double t0 = now_s(), t = t0;
    while (t - t0 < seconds) { /* 1 MiB pieces from the buffer, as blocks arrive */
      for (size_t off = 0; off < STAGE_BUF; off += 1u << 20)
        EVP_DigestUpdate(ctx, buf + off, 1u << 20);
      bytes += STAGE_BUF;
      t = now_s();
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    rate = t > t0 ? (double)bytes / 1e6 / (t - t0) : 0;
  }
  EVP_MD_CTX_free(ctx);
  free(buf);
  return rate;
}

int ferry__bench_disk_rate(const char *dir, double seconds, uint64_t max_bytes, double *mb_s) {
  *mb_s = 0;
  char path[4096];
  if (snprintf(path, sizeof(path), "%s/ferry-bench-disk-XXXXXX", dir) >= (int)sizeof(path))
    return FERRY_E_INVAL;
  unsigned char *buf = filled_buffer();
  if (!buf) return FERRY_E_NOMEM;
  int fd = mkostemp(path, O_CLOEXEC);
  if (fd < 0) {
    int err = ferry__errno_to_err(errno);
    free(buf);
    return err;
  }
  int err = 0;
  uint64_t bytes = 0;
  double t0 = now_s();
  while (bytes < max_bytes && now_s() - t0 < seconds && !err) {
    size_t done = 0;
    while (done < STAGE_BUF && !err) {
      ssize_t n = write(fd, buf + done, STAGE_BUF - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) err = ferry__errno_to_err(n < 0 ? errno : ENOSPC);
      else done += (size_t)n;
    }
    bytes += done;
  }
  if (!err && fsync(fd) != 0) err = ferry__errno_to_err(errno);
  double t = now_s();
  close(fd);
  unlink(path);
  free(buf);
  if (!err && t > t0) *mb_s = (double)bytes / 1e6 / (t - t0);
  return err;
}
