/* Unit tests for engine/src/bench.h: when a bench run's rate has settled, percentiles, the
 * slow-start grace, the verdict on recorded stage figures, and the disk stage leaving nothing
 * behind. */
#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert.h"
#include "bench.h"

void test_bench_settled_window(void) {
  const double ramp[] = {10, 50, 90, 100, 102, 98};
  ASSERT_EQ_INT(ferry__bench_settled(ramp, 0, 3, 0.05), 0);
  ASSERT_EQ_INT(ferry__bench_settled(ramp, 2, 3, 0.05), 0);   /* fewer rates than the window */
  ASSERT_EQ_INT(ferry__bench_settled(ramp, 3, 3, 0.05), 0);   /* 10, 50, 90: still ramping */
  ASSERT_EQ_INT(ferry__bench_settled(ramp, 5, 3, 0.05), 0);   /* 90, 100, 102: 90 is 7 % low */
  ASSERT_EQ_INT(ferry__bench_settled(ramp, 6, 3, 0.05), 1);   /* 100, 102, 98: within 2 % */
  ASSERT_EQ_INT(ferry__bench_settled(ramp, 6, 4, 0.05), 0);   /* a longer window sees 90 */
  ASSERT_EQ_INT(ferry__bench_settled(ramp, 6, 0, 0.05), 0);
}

void test_bench_settled_edges(void) {
  const double zero[] = {0, 0, 0};
  ASSERT_EQ_INT(ferry__bench_settled(zero, 3, 3, 0.05), 0); /* nothing moving is not settled */
  const double edge[] = {95, 100, 105};                     /* mean 100: exactly 5 % each way */
  ASSERT_EQ_INT(ferry__bench_settled(edge, 3, 3, 0.05), 1);
  const double over[] = {94.5, 100, 105.5};                 /* 5.5 % each way */
  ASSERT_EQ_INT(ferry__bench_settled(over, 3, 3, 0.05), 0);
  const double one_high[] = {100, 100, 116};                /* mean 105.3: 116 is 10 % above */
  ASSERT_EQ_INT(ferry__bench_settled(one_high, 3, 3, 0.05), 0);
}

void test_bench_percentile(void) {
  double v[100];
  for (int i = 0; i < 100; i++) v[i] = (double)(100 - i); /* 100 .. 1, unsorted */
  ASSERT_EQ_INT((int)ferry__bench_percentile(v, 100, 50), 50);
  ASSERT_EQ_INT((int)ferry__bench_percentile(v, 100, 90), 90);
  ASSERT_EQ_INT((int)ferry__bench_percentile(v, 100, 99), 99);
  ASSERT_EQ_INT((int)ferry__bench_percentile(v, 100, 100), 100);
  ASSERT_EQ_INT((int)ferry__bench_percentile(v, 100, 0), 1);
  double one[] = {7};
  ASSERT_EQ_INT((int)ferry__bench_percentile(one, 1, 99), 7);
  ASSERT_EQ_INT((int)ferry__bench_percentile(NULL, 0, 50), 0);
  double three[] = {30, 10, 20}; /* nearest rank: p50 of 3 is the 2nd, p90 the 3rd */
  ASSERT_EQ_INT((int)ferry__bench_percentile(three, 3, 50), 20);
  ASSERT_EQ_INT((int)ferry__bench_percentile(three, 3, 90), 30);
  /* ordered on any input */
  double r[257];
  unsigned s = 12345;
  for (int i = 0; i < 257; i++) s = s * 1103515245u + 12345u, r[i] = (double)(s >> 8);
  double p50 = ferry__bench_percentile(r, 257, 50), p90 = ferry__bench_percentile(r, 257, 90),
         p99 = ferry__bench_percentile(r, 257, 99);
  ASSERT_TRUE(p50 <= p90 && p90 <= p99);
}

void test_bench_grace(void) {
  ASSERT_EQ_INT((int)(ferry__bench_grace(10) * 1000), 1000);
  ASSERT_EQ_INT((int)(ferry__bench_grace(4) * 1000), 1000);
  ASSERT_EQ_INT((int)(ferry__bench_grace(2) * 1000), 500);
  ASSERT_EQ_INT((int)(ferry__bench_grace(1) * 1000), 250);
}

static int verdict(const struct ferry__bench_figures *f, char *text) {
  return ferry__bench_verdict(f, text, 512);
}

void test_bench_verdict(void) {
  char text[512];
  /* recorded figures: a disk slower than the network (the download reached it) */
  struct ferry__bench_figures f = {.goodput = 190, .to_disk = 1, .sha_per_core = 900,
                                   .disk = 200, .connections = 8, .per_connection = 24,
                                   .ttfb_p90 = 0.002, .latency_p50 = 0.05, .rtt = 0.001};
  ASSERT_EQ_INT(verdict(&f, text), FERRY_BENCH_LIMIT_DISK);
  ASSERT_TRUE(strstr(text, "disk (fsync'ed writes") != NULL);
  f.to_disk = 0; /* the same into the null sink: the disk is not on the path */
  ASSERT_EQ_INT(verdict(&f, text), FERRY_BENCH_LIMIT_NETWORK);
  ASSERT_TRUE(strstr(text, "network (link") != NULL && strstr(text, "8 connections") != NULL);
  /* SHA-256 on one core */
  f = (struct ferry__bench_figures){.goodput = 850, .to_disk = 1, .sha_per_core = 900,
                                    .disk = 3000, .connections = 8, .latency_p50 = 0.05};
  ASSERT_EQ_INT(verdict(&f, text), FERRY_BENCH_LIMIT_CPU);
  ASSERT_TRUE(strstr(text, "CPU (SHA-256") != NULL);
  /* a server that waits: TTFB most of a request and far above the round trip */
  f = (struct ferry__bench_figures){.goodput = 50, .to_disk = 1, .sha_per_core = 900,
                                    .disk = 3000, .connections = 8, .ttfb_p90 = 0.4,
                                    .latency_p50 = 0.5, .rtt = 0.02};
  ASSERT_EQ_INT(verdict(&f, text), FERRY_BENCH_LIMIT_SERVER);
  ASSERT_TRUE(strstr(text, "server (TTFB p90 400.0 ms") != NULL);
  f.rtt = 0.2; /* the wait is two round trips: the path, not the server */
  ASSERT_EQ_INT(verdict(&f, text), FERRY_BENCH_LIMIT_NETWORK);
  f.rtt = 0.02, f.ttfb_p90 = 0.1; /* a fifth of the request: the transfer dominates */
  ASSERT_EQ_INT(verdict(&f, text), FERRY_BENCH_LIMIT_NETWORK);
  /* no download: the slower local stage */
  f = (struct ferry__bench_figures){.sha_per_core = 900, .disk = 300};
  ASSERT_EQ_INT(verdict(&f, text), FERRY_BENCH_LIMIT_DISK);
  ASSERT_TRUE(strstr(text, "local stages only") != NULL);
  f.disk = 2000;
  ASSERT_EQ_INT(verdict(&f, text), FERRY_BENCH_LIMIT_CPU);
  ASSERT_TRUE(strstr(text, "local stages only") != NULL);
}

void test_bench_stages(void) {
  const char *dir = ferry_unit_tmpdir();
  double rate = 0;
  ASSERT_EQ_INT(ferry__bench_disk_rate(dir, 0.05, 16u << 20, &rate), 0);
  ASSERT_TRUE(rate > 0);
  DIR *d = opendir(dir); /* its file is gone */
  ASSERT_NOT_NULL(d);
  int entries = 0;
  for (struct dirent *de; (de = readdir(d)) != NULL;)
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) entries++;
  closedir(d);
  ASSERT_EQ_INT(entries, 0);
  char missing[4096];
  snprintf(missing, sizeof(missing), "%s/no/such/folder", dir);
  ASSERT_EQ_INT(ferry__bench_disk_rate(missing, 0.05, 16u << 20, &rate), FERRY_E_IO);
  ASSERT_TRUE(rate == 0);
  ASSERT_TRUE(ferry__bench_sha256_rate(0.05) > 0);
}

void test_bench_object_size(void) {
  const uint64_t MiB = 1u << 20;
  ASSERT_EQ_U64(ferry__bench_object_size(0, 10), 64 * MiB);        /* nothing known yet */
  ASSERT_EQ_U64(ferry__bench_object_size(1e6, 10), 64 * MiB);      /* 3 MB: the floor */
  ASSERT_EQ_U64(ferry__bench_object_size(100e6, 10), 287 * MiB);   /* 3 s of 100 MB/s, MiB up */
  ASSERT_EQ_U64(ferry__bench_object_size(100e6, 2), 191 * MiB);    /* 2 s left */
  ASSERT_EQ_U64(ferry__bench_object_size(100e6, 0.2), 96 * MiB);   /* at least 1 s of it */
  ASSERT_EQ_U64(ferry__bench_object_size(5e9, 10), 4096 * MiB);    /* the ceiling */
}

/* The generated object is the same bytes whatever the pieces it is made in (a retried or
 * rewound part sends what was hashed), a seed makes its own object, and the hash of a pass
 * is the SHA-256 of those bytes. */
void test_bench_gen(void) {
  const size_t n = 3 * (1u << 20) + 5;
  char *whole = malloc(n), *pieces = malloc(n), *other = malloc(n);
  ASSERT_NOT_NULL(whole);
  ASSERT_NOT_NULL(pieces);
  ASSERT_NOT_NULL(other);
  ferry__bench_gen_fill(42, 0, whole, n);
  for (size_t off = 0, step = 1; off < n; off += step, step = step * 3 % 1000 + 1)
    ferry__bench_gen_fill(42, off, pieces + off, off + step <= n ? step : n - off);
  ASSERT_TRUE(memcmp(whole, pieces, n) == 0);
  ferry__bench_gen_fill(43, 0, other, n);
  size_t same = 0;
  for (size_t i = 0; i < n; i++) same += whole[i] == other[i];
  ASSERT_TRUE(same < n / 64); /* about 1 in 256 by chance */
  unsigned char md[32];
  char want[65], got[65];
  ASSERT_TRUE(EVP_Digest(whole, n, md, NULL, EVP_sha256(), NULL) == 1);
  for (int k = 0; k < 32; k++) snprintf(want + 2 * k, 3, "%02x", md[k]);
  ASSERT_EQ_INT(ferry__bench_gen_sha256(42, n, NULL, got), 0);
  ASSERT_EQ_STR(got, want);
  volatile int stop = 1;
  ASSERT_EQ_INT(ferry__bench_gen_sha256(42, n, &stop, got), FERRY_E_INTERRUPTED);
  free(whole), free(pieces), free(other);
}
