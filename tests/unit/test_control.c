/* The transfer controller's decisions (engine/src/control.c) on modelled throughput traces:
 * a path where goodput grows with requests in flight up to a knee (round trips, a cap per
 * connection) and then stays flat (the link, the CPU), with noise, warm-up intervals and
 * paths that change under the controller. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>

#include "assert.h"
#include "control.h"
#include "ferry.h"

#define MB 1e6

/* A path: each request in flight receives at most `per_request` bytes/s, all of them together
 * at most `cap`; the first interval at a new level sees half of it (new connections ramping
 * up); `noise` is a relative jitter, drawn from a fixed sequence. */
struct path {
  double per_request, cap, noise;
  uint64_t rng;
  int last_level;
};

static double jitter(struct path *p) {
  p->rng = p->rng * 6364136223846793005ull + 1442695040888963407ull;
  double u = (double)(p->rng >> 11) / 9007199254740992.0; /* [0, 1) */
  return 1 + p->noise * (2 * u - 1);
}

static double true_goodput(const struct path *p, int level) {
  double g = level * p->per_request;
  return g < p->cap ? g : p->cap;
}

static double measure(struct path *p, int level) {
  double g = true_goodput(p, level) * jitter(p);
  if (level != p->last_level) g /= 2;
  p->last_level = level;
  return g;
}

/* Runs `n` intervals; returns the highest level used. */
static int run(struct ferry__ctl *c, struct path *p, int n) {
  int highest = c->level;
  for (int i = 0; i < n; i++) {
    char why[256];
    int level = ferry__ctl_step(c, measure(p, c->level), why, sizeof(why));
    TEST_NOTE("interval %d: %s", i, why);
    ASSERT_GE_INT(level, c->min_level);
    ASSERT_LE_INT(level, c->max_level);
    if (level > highest) highest = level;
  }
  return highest;
}

/* An 80 ms path: 50 MB/s per request, the CPU caps all at 800 MB/s: the knee is at 16. */
void test_control_finds_the_knee(void) {
  struct path p = {50 * MB, 800 * MB, 0.02, 1, 0};
  struct ferry__ctl c;
  ferry__ctl_init(&c, 4, 1, 512);
  int highest = run(&c, &p, 40);
  TEST_NOTE("level %d, highest %d", c.level, highest);
  ASSERT_GE_INT(c.level, 16);              /* filled the pipe */
  ASSERT_LE_INT(highest, 64);              /* without running away */
  ASSERT_TRUE(true_goodput(&p, c.level) >= 0.9 * p.cap);
}

/* A CDN's 25 MB/s per connection and a 600 MB/s link: the knee is at 24. */
void test_control_per_connection_cap(void) {
  struct path p = {25 * MB, 600 * MB, 0.03, 7, 0};
  struct ferry__ctl c;
  ferry__ctl_init(&c, 8, 1, 256);
  int highest = run(&c, &p, 60);
  TEST_NOTE("level %d, highest %d", c.level, highest);
  ASSERT_TRUE(true_goodput(&p, c.level) >= 0.9 * p.cap);
  ASSERT_LE_INT(highest, 96);
}

/* On a plateau with 5 % noise the level does not wander up: probes need a real gain. */
void test_control_noise_on_a_plateau(void) {
  struct path p = {50 * MB, 400 * MB, 0.05, 99, 0};
  struct ferry__ctl c;
  ferry__ctl_init(&c, 8, 1, 1024);
  int highest = run(&c, &p, 300);
  TEST_NOTE("level %d, highest %d", c.level, highest);
  ASSERT_TRUE(true_goodput(&p, c.level) >= 0.9 * p.cap);
  ASSERT_LE_INT(highest, 32); /* knee at 8 */
  ASSERT_LE_INT(c.level, 24);
}

/* The link gets worse (800 -> 200 MB/s): fewer requests do as well, and the level comes down.
 * Then it gets better again (200 -> 800): the level goes back up within a few probes. */
void test_control_follows_a_changing_path(void) {
  struct path p = {50 * MB, 800 * MB, 0.02, 3, 0};
  struct ferry__ctl c;
  ferry__ctl_init(&c, 8, 1, 512);
  run(&c, &p, 30);
  int at_fast = c.level;
  p.cap = 200 * MB; /* knee at 4 */
  run(&c, &p, 150);
  TEST_NOTE("fast %d, slow %d", at_fast, c.level);
  ASSERT_LT_INT(c.level, at_fast);
  ASSERT_TRUE(true_goodput(&p, c.level) >= 0.9 * p.cap);
  p.cap = 800 * MB;
  run(&c, &p, 15); /* kept up-probes grow their steps: a few probes, not one per quarter */
  TEST_NOTE("fast again: %d", c.level);
  ASSERT_TRUE(true_goodput(&p, c.level) >= 0.9 * p.cap);
}

/* A lossy path (the WAN lab's home: 0.1 % loss): each connection's rate is bounded by its
 * losses (1.5 MB/s), the link by 37.5 MB/s, but for the first seconds fresh connections run
 * 40 % faster (slow start and cubic's first growth, before the losses bite). A level judged
 * in that burst must not stay the reference: once goodput settles well under it, the best is
 * measured anew, and probes find that more connections pay. */
void test_control_a_burst_at_the_start_is_not_the_reference(void) {
  struct path p = {1.5 * MB, 37.5 * MB, 0.02, 11, 0};
  struct ferry__ctl c;
  ferry__ctl_init(&c, 16, 1, 32);
  for (int i = 0; i < 60; i++) {
    char why[256];
    p.per_request = (i < 6 ? 1.4 : 1.0) * 1.5 * MB; /* the burst, then the losses' bound */
    ferry__ctl_step(&c, measure(&p, c.level), why, sizeof(why));
    TEST_NOTE("interval %d: %s", i, why);
  }
  TEST_NOTE("level %d", c.level);
  ASSERT_GE_INT(c.level, 24);
  ASSERT_TRUE(true_goodput(&p, c.level) >= 0.9 * p.cap);
}

/* Flags pin the level: nothing moves whatever the goodput says. */
void test_control_pinned(void) {
  struct path p = {10 * MB, 800 * MB, 0.1, 5, 0};
  struct ferry__ctl c;
  ferry__ctl_init(&c, 16, 16, 16);
  int highest = run(&c, &p, 50);
  ASSERT_EQ_INT(highest, 16);
  ASSERT_EQ_INT(c.level, 16);
  ASSERT_EQ_INT((int)c.phase, (int)FERRY__CTL_PINNED);
}

/* The maximum is respected while doubling, and the minimum while probing down. */
void test_control_bounds(void) {
  struct path p = {1 * MB, 1e12, 0, 9, 0}; /* more always helps */
  struct ferry__ctl c;
  ferry__ctl_init(&c, 4, 2, 48);
  ASSERT_EQ_INT(run(&c, &p, 80), 48);
  ASSERT_EQ_INT(c.best_level, 48); /* (a probe down may be under way at the end) */
  struct path flat = {1e12, 100 * MB, 0, 9, 0}; /* one request saturates */
  ferry__ctl_init(&c, 64, 2, 256);
  run(&c, &flat, 200);
  ASSERT_GE_INT(c.level, 2);
  ASSERT_LT_INT(c.level, 64); /* came down: fewer requests did as well */
}

/* What memory allows: a request fills a block of its own, of the mean request's size when
 * that is under the block size (many small files), never counted under 16 KiB. */
void test_control_memory_level(void) {
  const uint64_t KiB = 1024, MiB = 1u << 20;
  ASSERT_EQ_INT(ferry__ctl_memory_level(32 * MiB, MiB, 0), 24);        /* unknown: full blocks */
  ASSERT_EQ_INT(ferry__ctl_memory_level(32 * MiB, MiB, 200 * MiB), 24); /* large requests */
  ASSERT_EQ_INT(ferry__ctl_memory_level(32 * MiB, MiB, 256 * KiB), 96);
  ASSERT_EQ_INT(ferry__ctl_memory_level(32 * MiB, MiB, 100), 1536);     /* counted as 16 KiB */
  ASSERT_EQ_INT(ferry__ctl_memory_level(MiB, MiB, 0), 1);               /* never under one */
}

/* A request slower than a full block in half a second fills quarter blocks; fast ones, ones
 * of unknown rate and small blocks (small files) keep what they have. */
void test_control_block_size(void) {
  const uint64_t KiB = 1024, MiB = 1u << 20;
  ASSERT_EQ_U64(ferry__ctl_block_size(0, MiB), MiB);          /* no rate yet */
  ASSERT_EQ_U64(ferry__ctl_block_size(40e6, MiB), MiB);       /* a fast path */
  ASSERT_EQ_U64(ferry__ctl_block_size(2.2e6, MiB), MiB);      /* 1.1 MB in half a second */
  ASSERT_EQ_U64(ferry__ctl_block_size(1.2e6, MiB), 256 * KiB); /* home at 32 connections */
  ASSERT_EQ_U64(ferry__ctl_block_size(50e3, MiB), 256 * KiB);
  ASSERT_EQ_U64(ferry__ctl_block_size(50e3, 256 * KiB), 256 * KiB); /* small files' blocks */
  /* what the memory bound makes of it: 32 slow requests fit a 32 MiB budget */
  ASSERT_TRUE(ferry__ctl_memory_level(32 * MiB, MiB, ferry__ctl_block_size(1.2e6, MiB)) >= 32);
  ASSERT_TRUE(ferry__ctl_memory_level(32 * MiB, MiB, ferry__ctl_block_size(40e6, MiB)) < 32);
}

/* A request is sized by the most a request got in an interval when it showed more than that
 * (the far link's trace: one early request at 45 MB/s, 24 sharing 200 MB/s). */
void test_control_request_rate(void) {
  ASSERT_TRUE(ferry__ctl_request_rate(45e6, 0) == 45e6);      /* nothing measured yet */
  ASSERT_TRUE(ferry__ctl_request_rate(45e6, 8.3e6) == 8.3e6); /* 200 MB/s over 24 */
  ASSERT_TRUE(ferry__ctl_request_rate(5e6, 8.3e6) == 5e6);    /* slower than that */
  ASSERT_TRUE(ferry__ctl_request_rate(0, 10e6) == 10e6);      /* no rate of its own */
  /* what it makes of the request size at 200 ms: 24 round trips of it (38 MiB), not 64 MiB */
  const uint64_t MiB = 1u << 20;
  ASSERT_EQ_U64(ferry__ctl_request_size(45e6, 0.2, 2048 * MiB, 24, 0, 1), 64 * MiB);
  uint64_t shared = ferry__ctl_request_size(ferry__ctl_request_rate(45e6, 200e6 / 24), 0.2,
                                            2048 * MiB, 24, 0, 1);
  ASSERT_TRUE(shared > 38 * MiB && shared < 39 * MiB);
}

/* The request the hasher waits for is handed over when it is more than twice as slow as
 * the others and half a budget of the file waits behind it (the far link's trace: 0.5 MB/s
 * against a median of 8 MB/s, hundreds of MiB behind); not for a mere two-to-one, not when
 * little waits, not when its rest comes within a few round trips. */
void test_control_race_cursor(void) {
  const uint64_t MiB = 1u << 20, budget = 32 * MiB;
  ASSERT_TRUE(ferry__ctl_race_cursor(4 * MiB, 0.5e6, 8e6, 0.2, 300 * MiB, budget, 0));
  ASSERT_TRUE(!ferry__ctl_race_cursor(4 * MiB, 0.5e6, 8e6, 0.2, 8 * MiB, budget, 0)); /* 8 MiB */
  /* a new request on a warm connection: a round trip, then 0.52 s at the median: 0.72 s */
  ASSERT_TRUE(!ferry__ctl_race_cursor(4 * MiB, 3e6, 8e6, 0.2, 300 * MiB, budget, 0)); /* < 2x */
  ASSERT_TRUE(ferry__ctl_race_cursor(4 * MiB, 2.5e6, 8e6, 0.2, 300 * MiB, budget, 0)); /* > 2x */
  /* 100 KiB at 0.5 MB/s: 0.2 s, a round trip: not worth a new request */
  ASSERT_TRUE(!ferry__ctl_race_cursor(100 * 1024, 0.5e6, 8e6, 0.2, 300 * MiB, budget, 0));
  ASSERT_TRUE(!ferry__ctl_race_cursor(4 * MiB, 0.5e6, 0, 0.2, 300 * MiB, budget, 0)); /* no median */
  /* The far link's trace: the cursor's request with 6.2 MB left at 5 MB/s (1.24 s) while the
   * others get 19.5 MB/s. A warm connection would bring it in 0.52 s: raced. A new one
   * needs three round trips and a slow start, 2.3 s: left to finish (it was handed over and
   * its rest came 1.4 s after the slow request would have brought it). At 1 MB/s (6.2 s)
   * even a new connection is worth it. */
  ASSERT_TRUE(ferry__ctl_race_cursor(6200000, 5e6, 19.5e6, 0.2, 900 * MiB, budget, 0));
  ASSERT_TRUE(!ferry__ctl_race_cursor(6200000, 5e6, 19.5e6, 0.2, 900 * MiB, budget, 1));
  ASSERT_TRUE(ferry__ctl_race_cursor(6200000, 1e6, 19.5e6, 0.2, 900 * MiB, budget, 1));
}

/* What a lagging request is judged by: the largest figure known. The running requests'
 * median is missing when fewer than three run; with one left running, only what the file's
 * finished requests showed remains (the crawling last request of a file that waited for it). */
void test_control_request_gets(void) {
  ASSERT_TRUE(ferry__ctl_request_gets(8e6, 12e6, 5e6) == 12e6);  /* an interval's best */
  ASSERT_TRUE(ferry__ctl_request_gets(14e6, 12e6, 5e6) == 14e6); /* the median */
  ASSERT_TRUE(ferry__ctl_request_gets(0, 0, 130e6) == 130e6);    /* the last one running */
  ASSERT_TRUE(ferry__ctl_request_gets(0, 0, 0) == 0);            /* nothing known */
}

/* A request is judged by the larger of its rate since its first byte and over the last tick:
 * a request in slow start is not lagging because its first round trips were slow, nor one
 * that waited a moment for memory with all the others. */
void test_control_rate_now(void) {
  ASSERT_TRUE(ferry__ctl_rate_now(MB, 0.2, 50e6, 0) == 0);               /* too young */
  ASSERT_TRUE(ferry__ctl_rate_now(MB, 0.65, 11e6, 0) == 11e6);           /* slow start: now */
  ASSERT_TRUE(fabs(ferry__ctl_rate_now(40 * MB, 1.0, 0.5e6, 0) - 40e6) < 1);  /* a wait */
  ASSERT_TRUE(fabs(ferry__ctl_rate_now(2 * MB, 1.0, 1.5e6, 0) - 2e6) < 1);    /* slow: both */
  ASSERT_TRUE(fabs(ferry__ctl_rate_now(3 * MB, 1.0, 0, 0) - 3e6) < 1);        /* no tick yet */
  /* a request on a connection it opened, inside its slow start (the far link's trace: 0.66 s
   * after its first byte, 0.15 MB/s, of a ramp of 1.6 s): not judged yet; after it, judged */
  ASSERT_TRUE(ferry__ctl_rate_now(100000, 0.66, 0.3e6, 1.6) == 0);
  ASSERT_TRUE(fabs(ferry__ctl_rate_now(8 * MB, 2.0, 12e6, 1.6) - 12e6) < 1);
}

/* A new connection's slow start, in round trips from the initial window (14480 B) to the
 * rate's window: 20 MB/s over 200 ms is a window of 4 MB, 276 initial windows, 9 doublings;
 * over 20 ms 400 kB, 5 doublings (0.1 s: under the quarter second anyway); a window the
 * initial one already carries (loopback) or an unknown figure: none. */
void test_control_ramp_seconds(void) {
  ASSERT_TRUE(fabs(ferry__ctl_ramp_seconds(20e6, 0.2) - 9 * 0.2) < 1e-9);
  ASSERT_TRUE(fabs(ferry__ctl_ramp_seconds(20e6, 0.02) - 5 * 0.02) < 1e-9);
  ASSERT_TRUE(ferry__ctl_ramp_seconds(100e6, 0.0001) == 0);
  ASSERT_TRUE(ferry__ctl_ramp_seconds(0, 0.2) == 0);
  ASSERT_TRUE(ferry__ctl_ramp_seconds(20e6, 0) == 0);
}

/* What a new request needs for its bytes: a round trip and the rate on a warm connection; on
 * a new one three round trips and a slow start, each round trip's window doubling. */
void test_control_fresh_seconds(void) {
  /* warm: 0.2 s + 20 MB at 20 MB/s */
  ASSERT_TRUE(fabs(ferry__ctl_fresh_seconds(20000000, 20e6, 0.2, 0) - 1.2) < 1e-9);
  /* new, all inside the first round trip's window: 3 round trips + half of the 4th */
  ASSERT_TRUE(fabs(ferry__ctl_fresh_seconds(7240, 20e6, 0.2, 1) - (0.6 + 0.1)) < 1e-9);
  /* new, 6 MB at 20 MB/s over 200 ms: windows of 14480 x 2^k for k = 0..8 carry 7.4 MB, more
   * than 6 MB: 3 + 8 round trips and a share of the 9th (the far link's hand-over: the slow
   * request it left, at 6 MB/s, would have needed 1 s) */
  double t = ferry__ctl_fresh_seconds(6000000, 20e6, 0.2, 1);
  double carried = 14480.0 * 255; /* k = 0..7 */
  ASSERT_TRUE(fabs(t - (0.6 + 8 * 0.2 + 0.2 * (6000000 - carried) / (14480.0 * 256))) < 1e-9);
  /* past the ramp the rate: 9 doublings (7.40 MB) then the rest at 20 MB/s */
  double ramp = 14480.0 * 511;
  ASSERT_TRUE(fabs(ferry__ctl_fresh_seconds(50000000, 20e6, 0.2, 1) -
                   (0.6 + 9 * 0.2 + (50000000 - ramp) / 20e6)) < 1e-9);
  /* loopback: the handshakes and the ramp cost nothing measurable */
  ASSERT_TRUE(fabs(ferry__ctl_fresh_seconds(20000000, 200e6, 0.0001, 1) - 0.1) < 0.01);
  ASSERT_TRUE(ferry__ctl_fresh_seconds(0, 20e6, 0.2, 1) == 0);
  ASSERT_TRUE(isinf(ferry__ctl_fresh_seconds(1000, 0, 0.2, 1)));
}

/* Connections opened beside a probe: the layout's others, unless the file fits in the probe
 * or connections are not reused. */
void test_control_warm_count(void) {
  const int64_t MiB = 1 << 20;
  ASSERT_EQ_INT(ferry__ctl_warm_count(8, 1, -1, 1 * MiB), 7);         /* size unknown */
  ASSERT_EQ_INT(ferry__ctl_warm_count(8, 1, 2048 * MiB, 1 * MiB), 7); /* a large file */
  ASSERT_EQ_INT(ferry__ctl_warm_count(8, 1, 1 * MiB, 1 * MiB), 0);    /* the probe is all */
  ASSERT_EQ_INT(ferry__ctl_warm_count(8, 1, 0, 1 * MiB), 0);          /* empty */
  ASSERT_EQ_INT(ferry__ctl_warm_count(8, 0, -1, 1 * MiB), 0);         /* h2c: no reuse */
  ASSERT_EQ_INT(ferry__ctl_warm_count(1, 1, -1, 1 * MiB), 0);         /* --connections 1 */
  ASSERT_EQ_INT(ferry__ctl_warm_count(2, 1, 1 * MiB + 1, 1 * MiB), 1);
}

/* New bounds: the level is kept within them; a controller held only by the old maximum
 * doubles on when it rises; one that stopped because a doubling did not pay stays. */
void test_control_set_bounds(void) {
  struct path more = {1 * MB, 1e12, 0, 9, 0}; /* more always helps */
  struct ferry__ctl c;
  ferry__ctl_init(&c, 16, 1, 24);
  run(&c, &more, 6);
  ASSERT_EQ_INT(c.level, 24);
  ASSERT_EQ_INT(c.phase, FERRY__CTL_HOLD);
  ferry__ctl_set_bounds(&c, 1, 128);
  ASSERT_EQ_INT(c.level, 48);
  ASSERT_EQ_INT(c.phase, FERRY__CTL_START);
  run(&c, &more, 8);
  ASSERT_EQ_INT(c.level, 128);
  ferry__ctl_set_bounds(&c, 1, 24); /* large requests again: down at once */
  ASSERT_EQ_INT(c.level, 24);
  ASSERT_EQ_INT(c.phase, FERRY__CTL_HOLD);
  struct path flat = {1e12, 100 * MB, 0, 9, 0}; /* one request saturates */
  ferry__ctl_init(&c, 16, 1, 24);
  run(&c, &flat, 6);
  int held = c.level;
  ferry__ctl_set_bounds(&c, 1, 128);
  ASSERT_EQ_INT(c.level, held); /* it did not stop at the maximum: nothing to resume */
  ferry__ctl_init(&c, 8, 8, 8); /* pinned */
  ferry__ctl_set_bounds(&c, 8, 8);
  ASSERT_EQ_INT(c.phase, FERRY__CTL_PINNED);
}

/* A doubling cut short by a bound (the far link: 16 -> 32, memory allows 24) holds at the
 * bound; once the held level does better than the level before it, the best is the held
 * level (-v said "best 295 MB/s at 16" for what 24 requests did, and the probes judged
 * "up" and "down" from 16). */
void test_control_held_at_a_bound(void) {
  struct ferry__ctl c;
  char why[256];
  ferry__ctl_init(&c, 16, 1, 256);
  ferry__ctl_step(&c, 40e6, why, sizeof(why));  /* warm-up */
  ferry__ctl_step(&c, 209e6, why, sizeof(why)); /* doubling */
  ASSERT_EQ_INT(c.level, 32);
  ferry__ctl_set_bounds(&c, 1, 24);
  ASSERT_EQ_INT(c.level, 24);
  ASSERT_EQ_INT(c.phase, FERRY__CTL_HOLD);
  ferry__ctl_step(&c, 200e6, why, sizeof(why)); /* the held level's first interval */
  ferry__ctl_step(&c, 295e6, why, sizeof(why));
  ASSERT_EQ_INT(c.best_level, 24);
  ASSERT_TRUE(c.best_bps > 209e6);
  ASSERT_TRUE(strstr(why, "at 24") != NULL);
}

/* A new level's first interval is a warm-up only when it opened connections: a level laid
 * out on the open ones (more streams, fewer requests) is judged from its first interval. */
void test_control_warm_up(void) {
  struct ferry__ctl c;
  char why[256];
  ferry__ctl_init(&c, 8, 1, 64);
  ferry__ctl_laid_out(&c, 0, 8); /* the first connections */
  ASSERT_EQ_INT(ferry__ctl_step(&c, 10 * MB, why, sizeof(why)), 8);
  ASSERT_TRUE(strstr(why, "warm-up") != NULL);
  ASSERT_EQ_INT(ferry__ctl_step(&c, 10 * MB, why, sizeof(why)), 16); /* measured: doubling */
  ferry__ctl_laid_out(&c, 8, 16); /* 16 connections: the next interval warms them up */
  ASSERT_EQ_INT(ferry__ctl_step(&c, 30 * MB, why, sizeof(why)), 16);
  ASSERT_TRUE(strstr(why, "warm-up") != NULL);
  ASSERT_EQ_INT(ferry__ctl_step(&c, 30 * MB, why, sizeof(why)), 32);
  ferry__ctl_laid_out(&c, 16, 16); /* 16 x 2 streams: no new connection, measured at once */
  ASSERT_EQ_INT(ferry__ctl_step(&c, 31 * MB, why, sizeof(why)), 16); /* did not pay: back */
  ASSERT_TRUE(strstr(why, "warm-up") == NULL);
  ASSERT_TRUE(strstr(why, "did not pay") != NULL);
}

/* Requests last FERRY__CTL_ROUNDS round trips at the stream's rate, within the bounds, and
 * the tail is shared. */
void test_control_request_size(void) {
  const uint64_t MiB = 1u << 20, GiB = 1u << 30;
  /* 100 ms at 20 MB/s: 24 x 2 MB = 48 MB, rounded down to whole MiB */
  ASSERT_EQ_U64(ferry__ctl_request_size(20e6, 0.1, GiB, 1, 0, MiB), 45 * MiB);
  /* 20 ms at 10 MB/s: 24 x 200 kB = 4.8 MB */
  ASSERT_EQ_U64(ferry__ctl_request_size(10e6, 0.02, GiB, 1, 0, MiB), 4 * MiB);
  /* 1 ms at 30 MB/s (720 kB): the minimum, one journal block */
  ASSERT_EQ_U64(ferry__ctl_request_size(30e6, 0.001, GiB, 1, 0, MiB), MiB);
  /* 200 ms at 100 MB/s would be 160 MB: the maximum */
  ASSERT_EQ_U64(ferry__ctl_request_size(100e6, 0.2, GiB, 1, 0, MiB), 64 * MiB);
  ASSERT_EQ_U64(ferry__ctl_request_size(100e6, 0.2, GiB, 1, 32 * MiB, MiB), 32 * MiB);
  /* unknown rate (a first request): the minimum */
  ASSERT_EQ_U64(ferry__ctl_request_size(0, 0.08, GiB, 1, 0, MiB), MiB);
  /* the tail: 12 MiB left for 4 requests: 3 MiB each, not one 12 MiB request */
  ASSERT_EQ_U64(ferry__ctl_request_size(100e6, 0.08, 12 * MiB, 4, 0, MiB), 3 * MiB);
  /* 6 MiB left for 16 requests: shares never under the minimum (the engine splits running
   * requests for the rest) */
  ASSERT_EQ_U64(ferry__ctl_request_size(100e6, 0.08, 6 * MiB, 16, 0, 64 * 1024), MiB);
  ASSERT_EQ_U64(ferry__ctl_request_size(100e6, 0.08, 40 * MiB, 16, 0, 64 * 1024), 5 * MiB / 2);
  /* less than the minimum left: all of it */
  ASSERT_EQ_U64(ferry__ctl_request_size(100e6, 0.08, 300000, 4, 0, MiB), 300000);
  ASSERT_EQ_U64(ferry__ctl_request_size(100e6, 0.08, 5 * MiB + 7, 1, 0, MiB), 5 * MiB + 7);
}

void test_control_rtt_sample(void) {
  /* a new connection: the handshake (80 ms) is less than the first byte's wait (95 ms) */
  ASSERT_TRUE(fabs(ferry__ctl_rtt_sample(1000, 81000, 250000, 345000) - 0.080) < 1e-9);
  /* a reused connection (connect time 0): the first byte's wait */
  ASSERT_TRUE(fabs(ferry__ctl_rtt_sample(0, 0, 100, 40100) - 0.040) < 1e-9);
  /* a handshake larger than the wait (a slow SYN): the wait */
  ASSERT_TRUE(fabs(ferry__ctl_rtt_sample(0, 300000, 400000, 420000) - 0.020) < 1e-9);
  /* nothing measured */
  ASSERT_TRUE(ferry__ctl_rtt_sample(0, 0, 0, 0) == 0);
  ASSERT_TRUE(ferry__ctl_rtt_sample(-1, -1, 500, 400) == 0);
}

void test_control_rate_update(void) {
  const uint64_t MiB = 1u << 20;
  /* the first figure is the sample; later ones average half and half */
  double r = ferry__ctl_rate_update(0, 10 * MiB, 1.0);
  ASSERT_TRUE(fabs(r - 10 * MiB) < 1);
  r = ferry__ctl_rate_update(r, 30 * MiB, 1.0);
  ASSERT_TRUE(fabs(r - 20 * MiB) < 1);
  /* too short to time, or less than a block: unchanged */
  ASSERT_TRUE(ferry__ctl_rate_update(r, 64 * MiB, 0.0005) == r);
  ASSERT_TRUE(ferry__ctl_rate_update(r, 4096, 1.0) == r);
  ASSERT_TRUE(ferry__ctl_rate_update(0, 4096, 1.0) == 0);
}

void test_control_race(void) {
  /* 8 MiB left at 1 MB/s while the others do 40 MB/s: race it */
  ASSERT_TRUE(ferry__ctl_should_race(8u << 20, 1e6, 40e6, 0.08, 4, 0));
  ASSERT_TRUE(ferry__ctl_should_race(8u << 20, 1e6, 40e6, 0.08, 4, 1)); /* 8.4 s, 4 x 1.0 */
  /* a little slower than the median: no */
  ASSERT_TRUE(!ferry__ctl_should_race(8u << 20, 20e6, 40e6, 0.08, 4, 0));
  /* so little left that it ends within a few round trips anyway: no */
  ASSERT_TRUE(!ferry__ctl_should_race(4096, 10000, 40e6, 0.2, 4, 0));
  /* a silent request (0 B/s): yes, on any connection; nothing left: no */
  ASSERT_TRUE(ferry__ctl_should_race(1u << 20, 0, 40e6, 0.02, 4, 1));
  ASSERT_TRUE(!ferry__ctl_should_race(0, 0, 40e6, 0.02, 4, 0));
  /* 16 MB at 2 MB/s (8 s) on a 200 ms path where requests get 20 MB/s: a warm connection
   * needs 1 s (raced), a new one 0.6 s + a 1.8 s ramp + 0.43 s (2.8 s: 8 < 4 x 2.8, left) */
  ASSERT_TRUE(ferry__ctl_should_race(16000000, 2e6, 20e6, 0.2, 4, 0));
  ASSERT_TRUE(!ferry__ctl_should_race(16000000, 2e6, 20e6, 0.2, 4, 1));
}

void test_control_split_pays(void) {
  /* 64 MiB left at 20 MB/s over 80 ms: 3.4 s: split */
  ASSERT_TRUE(ferry__ctl_split_pays(64u << 20, 20e6, 0.08, 0));
  /* 27 MB at 40 MB/s over 80 ms: 0.67 s, eight round trips, but under a second: what the
   * socket buffers already hold would come twice */
  ASSERT_TRUE(!ferry__ctl_split_pays(27000000, 40e6, 0.08, 0));
  /* 4 MiB at 1 MB/s over 0.1 ms (a slow server on loopback): 4 s: split, new connection or not */
  ASSERT_TRUE(ferry__ctl_split_pays(4u << 20, 1e6, 0.0001, 0));
  ASSERT_TRUE(ferry__ctl_split_pays(4u << 20, 1e6, 0.0001, 1));
  /* 1 MiB at 500 MB/s on loopback: 2 ms: no */
  ASSERT_TRUE(!ferry__ctl_split_pays(1u << 20, 500e6, 0.0001, 0));
  /* a slow stream on a very long path: 3 s but under four round trips of 1 s: no */
  ASSERT_TRUE(!ferry__ctl_split_pays(3u << 20, 1.048576e6, 1.0, 0));
  /* 30 MB at 20 MB/s over 200 ms (1.5 s): a warm connection brings 15 MB in 0.95 s (split); a
   * new one in 0.6 s + a 1.8 s ramp + 0.4 s: later than the whole rest would come (no) */
  ASSERT_TRUE(ferry__ctl_split_pays(30000000, 20e6, 0.2, 0));
  ASSERT_TRUE(!ferry__ctl_split_pays(30000000, 20e6, 0.2, 1));
  /* 200 MB at 20 MB/s (10 s): worth a new connection too */
  ASSERT_TRUE(ferry__ctl_split_pays(200000000, 20e6, 0.2, 1));
  /* nothing to judge by: split, as before any rate was known */
  ASSERT_TRUE(ferry__ctl_split_pays(4u << 20, 0, 0.08, 1));
  ASSERT_TRUE(ferry__ctl_split_pays(4u << 20, 20e6, 0, 1));
}

void test_control_shape(void) {
  int c, s;
  ferry__ctl_shape(6, 16, 8, 0, 0, &c, &s); /* connections first */
  ASSERT_EQ_INT(c, 6);
  ASSERT_EQ_INT(s, 1);
  ferry__ctl_shape(40, 16, 8, 0, 0, &c, &s); /* then streams */
  ASSERT_EQ_INT(c, 16);
  ASSERT_EQ_INT(s, 3);
  ferry__ctl_shape(1000, 16, 8, 0, 0, &c, &s); /* never past the server's streams */
  ASSERT_EQ_INT(c, 16);
  ASSERT_EQ_INT(s, 8);
  ferry__ctl_shape(40, 16, 8, 4, 0, &c, &s); /* --connections 4 */
  ASSERT_EQ_INT(c, 4);
  ASSERT_EQ_INT(s, 8);
  ferry__ctl_shape(40, 16, 8, 0, 2, &c, &s); /* --streams 2 */
  ASSERT_EQ_INT(c, 16);
  ASSERT_EQ_INT(s, 2);
  ferry__ctl_shape(0, 0, 0, 0, 0, &c, &s);
  ASSERT_EQ_INT(c, 1);
  ASSERT_EQ_INT(s, 1);
}

/* Many requests in flight need many sockets: an engine raises the soft limit on open files
 * to the hard one (CI machines and containers often start at 1024). */
void test_control_open_files_limit(void) {
  struct rlimit rl;
  ASSERT_EQ_INT(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_max > 256) {
    struct rlimit low = {256, rl.rlim_max};
    ASSERT_EQ_INT(setrlimit(RLIMIT_NOFILE, &low), 0);
  }
  struct ferry_engine *e = NULL;
  ASSERT_EQ_INT(ferry_engine_new(NULL, &e), 0);
  struct rlimit now;
  ASSERT_EQ_INT(getrlimit(RLIMIT_NOFILE, &now), 0);
  ASSERT_EQ_U64((uint64_t)now.rlim_cur, (uint64_t)rl.rlim_max);
  ferry_engine_free(e);
}
