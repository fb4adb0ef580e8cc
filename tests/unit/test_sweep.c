/* Unit tests for engine/src/sweep.h: how long each point of `ferry bench --sweep` runs, and
 * which point is the best (the cheapest within 5 % of the fastest). */
#include "assert.h"
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
