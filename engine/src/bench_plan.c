/* bench_plan: the decisions of `ferry bench` as pure functions (tested in
 * tests/unit/test_bench.c): when the rate has settled, the grace left out for slow start,
 * percentiles, and which stage limits the figure. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

int ferry__bench_settled(const double *rates, size_t n, size_t window, double tol) {
  if (window == 0 || n < window) return 0;
  double sum = 0, lo = rates[n - window], hi = lo;
  for (size_t i = n - window; i < n; i++) {
    sum += rates[i];
    if (rates[i] < lo) lo = rates[i];
    if (rates[i] > hi) hi = rates[i];
  }
  double mean = sum / (double)window;
  return mean > 0 && hi - mean <= tol * mean && mean - lo <= tol * mean;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double ferry__bench_percentile(double *v, size_t n, double p) {
  if (n == 0) return 0;
  qsort(v, n, sizeof(*v), cmp_double);
  /* nearest rank: the smallest value with at least p % of the values at or below it */
  double rank = p / 100.0 * (double)n;
  size_t k = (size_t)rank;
  if ((double)k < rank) k++;
  if (k < 1) k = 1;
  if (k > n) k = n;
  return v[k - 1];
}

double ferry__bench_grace(double seconds) { return seconds >= 4 ? 1.0 : seconds / 4; }

/* A stage within 15 % of the end-to-end figure is what holds it: the others have room. */
#define NEAR 0.85

int ferry__bench_verdict(const struct ferry__bench_figures *f, char *out, size_t cap) {
  if (f->goodput <= 0) { /* no download: the slower local stage bounds any download */
    if (f->disk > 0 && f->disk < f->sha_per_core) {
      snprintf(out, cap, "disk (fsync'ed writes ≈ %.0f MB/s; SHA-256 %.0f MB/s per core): "
               "local stages only, no download measured", f->disk, f->sha_per_core);
      return FERRY_BENCH_LIMIT_DISK;
    }
    snprintf(out, cap, "CPU (SHA-256 ≈ %.0f MB/s per core%s): local stages only, no download "
             "measured", f->sha_per_core, f->disk > 0 ? "; the disk is faster" : "");
    return FERRY_BENCH_LIMIT_CPU;
  }
  if (f->to_disk && f->disk > 0 && f->goodput >= NEAR * f->disk && f->disk <= f->sha_per_core) {
    snprintf(out, cap, "disk (fsync'ed writes ≈ %.0f MB/s)", f->disk);
    return FERRY_BENCH_LIMIT_DISK;
  }
  if (f->sha_per_core > 0 && f->goodput >= NEAR * f->sha_per_core) {
    snprintf(out, cap, "CPU (SHA-256 ≈ %.0f MB/s per core, and a file is hashed in order)",
             f->sha_per_core);
    return FERRY_BENCH_LIMIT_CPU;
  }
  /* The goodput grew with the connections at an unchanged rate each (ferry__sweep_cap). */
  if (f->cap_per_connection > 0) {
    snprintf(out, cap, "per-connection cap (≈ %.1f MB/s per connection: more connections would "
             "help; %d gave %.1f MB/s)", f->cap_per_connection, f->connections, f->goodput);
    return FERRY_BENCH_LIMIT_CONNECTION_CAP;
  }
  /* Most of a request spent waiting for its first byte, far longer than a round trip. */
  if (f->latency_p50 > 0 && f->ttfb_p90 >= 0.5 * f->latency_p50 &&
      (f->rtt <= 0 || f->ttfb_p90 >= 4 * f->rtt)) {
    char rtt[48] = "";
    if (f->rtt > 0) snprintf(rtt, sizeof(rtt), ", RTT %.2f ms", f->rtt * 1e3);
    snprintf(out, cap, "server (TTFB p90 %.1f ms, a request p50 %.1f ms%s: the server waits "
             "before it sends)", f->ttfb_p90 * 1e3, f->latency_p50 * 1e3, rtt);
    return FERRY_BENCH_LIMIT_SERVER;
  }
  snprintf(out, cap, "network (link ≈ %.1f MB/s over %d connection%s at once, ≈ %.1f MB/s each; "
           "the local stages have room)", f->goodput, f->connections, f->connections == 1 ? "" : "s",
           f->per_connection);
  return FERRY_BENCH_LIMIT_NETWORK;
}

uint64_t ferry__bench_object_size(double bytes_per_s, double seconds_left) {
  const double lo = 64.0 * (1 << 20), hi = 4.0 * (1u << 30);
  double span = seconds_left < 3 ? seconds_left : 3;
  if (span < 1) span = 1;
  double want = bytes_per_s > 0 ? bytes_per_s * span : lo;
  if (want < lo) want = lo;
  if (want > hi) want = hi;
  uint64_t mib = ((uint64_t)want + (1u << 20) - 1) >> 20;
  return mib << 20;
}
