/* Unit tests for engine/src/sweep.h: how long each point of `ferry bench --sweep` runs, and
 * which point is the best (the cheapest within 5 % of the fastest). */
#include "assert.h"
#include "bench.h"
#include "sweep.h"

#define MiB (1u << 20)

static struct ferry_bench_point pt(int c, int s, uint64_t chunk, double mb_s) {
  return (struct ferry_bench_point){.connections = c, .streams = s, .chunk_size = chunk,
                                    .mb_per_s = mb_s, .bytes = mb_s > 0 ? 1000000 : 0,
                                    .seconds = 1};
}

void test_sweep_point_seconds(void) {
  /* the default sweep: the default and 5 x 2 points share 100 s: 9 s each, 99 s in all */
  ASSERT_EQ_INT((int)ferry__sweep_point_seconds(11, 0), 9);
  ASSERT_TRUE(11 * ferry__sweep_point_seconds(11, 0) <= FERRY__SWEEP_BUDGET);
  ASSERT_EQ_INT((int)ferry__sweep_point_seconds(3, 0), 10);   /* few points: a full run each */
  ASSERT_EQ_INT((int)ferry__sweep_point_seconds(63, 0), 2);   /* many: never under 2 s */
  ASSERT_EQ_INT((int)ferry__sweep_point_seconds(30, 0), 3);   /* 3.33 s: whole seconds */
  ASSERT_EQ_INT((int)(ferry__sweep_point_seconds(30, 1.5) * 10), 15); /* given: kept */
  ASSERT_EQ_INT((int)ferry__sweep_point_seconds(0, 0), 10);
}

void test_sweep_best_fastest(void) {
  struct ferry_bench_point p[4] = {pt(8, 2, 8 * MiB, 500), pt(1, 1, 8 * MiB, 100),
                                   pt(4, 1, 8 * MiB, 300), pt(16, 4, 8 * MiB, 450)};
  p[0].is_default = 1; /* the default is shown beside the best, never the best itself */
  ASSERT_EQ_INT(ferry__sweep_best(p, 4), 3);
  ASSERT_EQ_INT(ferry__sweep_best(p, 3), 2);
  ASSERT_EQ_INT(ferry__sweep_best(p, 1), -1);
  ASSERT_EQ_INT(ferry__sweep_best(p, 0), -1);
}

void test_sweep_best_cheapest_of_the_near(void) {
  /* 16 x 4 is fastest, 4 x 2 within 5 % of it: the same goodput with 8 requests, not 64 */
  struct ferry_bench_point p[4] = {pt(16, 4, 8 * MiB, 400), pt(4, 2, 8 * MiB, 381),
                                   pt(2, 1, 8 * MiB, 300), pt(8, 1, 8 * MiB, 390)};
  ASSERT_EQ_INT(ferry__sweep_best(p, 4), 1);
  p[1].mb_per_s = 379; /* 5.25 % below: out of the tie, 8 x 1 (8 in flight too) is next */
  ASSERT_EQ_INT(ferry__sweep_best(p, 4), 3);
  /* same requests in flight: fewer connections, then the smaller request size */
  struct ferry_bench_point q[4] = {pt(8, 1, 8 * MiB, 100), pt(2, 4, 8 * MiB, 99),
                                   pt(2, 4, 2 * MiB, 98), pt(4, 2, 1 * MiB, 100)};
  ASSERT_EQ_INT(ferry__sweep_best(q, 4), 2);
  q[2].chunk_size = 8 * MiB; /* the same setting twice: the faster of the two */
  ASSERT_EQ_INT(ferry__sweep_best(q, 4), 1);
}

void test_sweep_best_skips_failed_points(void) {
  struct ferry_bench_point p[3] = {pt(1, 1, MiB, 900), pt(2, 1, MiB, 200), pt(4, 1, MiB, 0)};
  p[0].error = FERRY_E_INTERRUPTED; /* cut by Ctrl-C: a partial figure, not a candidate */
  ASSERT_EQ_INT(ferry__sweep_best(p, 3), 1);
  p[1].error = FERRY_E_TIMEOUT;
  ASSERT_EQ_INT(ferry__sweep_best(p, 3), -1); /* the last moved nothing */
}

void test_sweep_cap_seen(void) {
  /* nginx limit_rate 8 MB/s per connection: the goodput grows with the connections */
  struct ferry_bench_point p[5] = {pt(8, 2, 8 * MiB, 60), pt(1, 1, 32 * MiB, 8.3),
                                   pt(2, 1, 32 * MiB, 16.5), pt(4, 1, 32 * MiB, 33),
                                   pt(8, 1, 32 * MiB, 64)};
  p[0].is_default = 1;
  double cap = ferry__sweep_cap(p, 5);
  ASSERT_TRUE(cap > 7.9 && cap < 8.1); /* 64 / 8 */
  /* a shared link: the same 60 MB/s split among more connections */
  struct ferry_bench_point q[4] = {pt(1, 1, 8 * MiB, 55), pt(2, 1, 8 * MiB, 58),
                                   pt(4, 1, 8 * MiB, 60), pt(8, 1, 8 * MiB, 60)};
  ASSERT_TRUE(ferry__sweep_cap(q, 4) == 0);
  /* two points are enough when one has twice the connections and kept its rate */
  struct ferry_bench_point two[2] = {pt(1, 1, 8 * MiB, 20), pt(2, 1, 8 * MiB, 39)};
  ASSERT_TRUE(ferry__sweep_cap(two, 2) > 19.4 && ferry__sweep_cap(two, 2) < 19.6);
  /* connections too close together say nothing (3 vs 2) */
  struct ferry_bench_point r[2] = {pt(2, 1, 8 * MiB, 20), pt(3, 1, 8 * MiB, 30)};
  ASSERT_TRUE(ferry__sweep_cap(r, 2) == 0);
}

void test_sweep_cap_per_streams_value(void) {
  /* streams 4 scale with the connections, streams 1 do not; failed points do not count */
  struct ferry_bench_point p[6] = {pt(1, 1, 8 * MiB, 40), pt(8, 1, 8 * MiB, 45),
                                   pt(1, 4, 8 * MiB, 10), pt(4, 4, 8 * MiB, 39),
                                   pt(16, 4, 8 * MiB, 0), pt(2, 4, 8 * MiB, 20)};
  double cap = ferry__sweep_cap(p, 6);
  ASSERT_TRUE(cap > 9.7 && cap < 9.8); /* 39 / 4: 16 x 4 moved nothing */
  p[3].error = FERRY_E_TIMEOUT; /* then 2 x 4 is the widest: 10 per connection still */
  cap = ferry__sweep_cap(p, 6);
  ASSERT_TRUE(cap > 9.9 && cap < 10.1);
}

void test_sweep_verdict_names_the_cap(void) {
  char text[512];
  struct ferry__bench_figures f = {.goodput = 64, .to_disk = 0, .sha_per_core = 700,
                                   .disk = 300, .connections = 8, .per_connection = 8,
                                   .ttfb_p90 = 0.001, .latency_p50 = 4, .rtt = 0.0001,
                                   .cap_per_connection = 8};
  ASSERT_EQ_INT(ferry__bench_verdict(&f, text, sizeof(text)), FERRY_BENCH_LIMIT_CONNECTION_CAP);
  ASSERT_TRUE(strstr(text, "per-connection cap (≈ 8.0 MB/s per connection: more connections "
                           "would help") != NULL);
  f.cap_per_connection = 0; /* no sweep: the same figures are the network's */
  ASSERT_EQ_INT(ferry__bench_verdict(&f, text, sizeof(text)), FERRY_BENCH_LIMIT_NETWORK);
  /* a cap, but the CPU is reached first: the CPU is named */
  f = (struct ferry__bench_figures){.goodput = 650, .sha_per_core = 700, .connections = 8,
                                    .cap_per_connection = 81};
  ASSERT_EQ_INT(ferry__bench_verdict(&f, text, sizeof(text)), FERRY_BENCH_LIMIT_CPU);
}
