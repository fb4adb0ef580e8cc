/* control: the transfer controller's decisions, without side effects (see control.h). */
#include "control.h"

#include <math.h>
#include <stdio.h>

uint64_t ferry__ctl_request_size(double stream_bps, double rtt_s, uint64_t remaining,
                                 int peers, uint64_t max_request, uint64_t align) {
  if (!max_request) max_request = FERRY__CTL_MAX_REQUEST;
  if (!align) align = 1;
  double want = stream_bps > 0 && rtt_s > 0 ? stream_bps * rtt_s * FERRY__CTL_ROUNDS : 0;
  uint64_t size = want >= (double)max_request ? max_request : (uint64_t)want;
  if (size < FERRY__CTL_MIN_REQUEST) size = FERRY__CTL_MIN_REQUEST;
  if (size > max_request) size = max_request;
  /* The tail: the rest of the file shared by the requests that could take part of it, not
   * under the minimum (smaller blocks come from malloc, not the arena, and a short request
   * is mostly round trip); the engine splits running requests for what is left. */
  uint64_t share = peers > 1 ? (remaining + (uint64_t)peers - 1) / (uint64_t)peers : remaining;
  if (share < FERRY__CTL_MIN_REQUEST) share = FERRY__CTL_MIN_REQUEST;
  if (size > share) size = share;
  if (size >= remaining) return remaining;
  size = size / align * align;
  if (size < align) size = align;
  /* A sliver left behind would be a request of its own: it rides along. */
  return size >= remaining || remaining - size < size / 4 ? remaining : size;
}

double ferry__ctl_request_rate(double stream_bps, double request_bps) {
  if (request_bps <= 0) return stream_bps;
  return stream_bps > 0 && stream_bps < request_bps ? stream_bps : request_bps;
}

uint64_t ferry__ctl_block_size(double request_bps, uint64_t full) {
  if (full < FERRY__CTL_MIN_REQUEST || request_bps <= 0) return full;
  return request_bps * FERRY__CTL_BLOCK_FILL_S >= (double)full ? full : full / 4;
}

double ferry__ctl_rtt_sample(int64_t lookup_us, int64_t connect_us, int64_t sent_us,
                             int64_t first_byte_us) {
  double handshake = connect_us > lookup_us && lookup_us >= 0 ? (double)(connect_us - lookup_us) / 1e6 : 0;
  double wait = first_byte_us > sent_us && sent_us >= 0 ? (double)(first_byte_us - sent_us) / 1e6 : 0;
  if (handshake > 0 && (wait <= 0 || handshake < wait)) return handshake;
  return wait;
}

#define RATE_EWMA 0.5 /* weight of a new request's rate */

double ferry__ctl_rate_update(double smoothed_bps, uint64_t bytes, double seconds) {
  if (seconds < 0.001 || bytes < FERRY__CTL_MIN_REQUEST) return smoothed_bps;
  double bps = (double)bytes / seconds;
  return smoothed_bps > 0 ? RATE_EWMA * bps + (1 - RATE_EWMA) * smoothed_bps : bps;
}

double ferry__ctl_request_gets(double median_bps, double request_bps, double file_bps) {
  double ref = median_bps > request_bps ? median_bps : request_bps;
  return file_bps > ref ? file_bps : ref;
}

#define JUDGE_AFTER_S 0.25

double ferry__ctl_rate_now(uint64_t bytes, double seconds, double tick_bps, double ramp_s) {
  if (seconds < JUDGE_AFTER_S || seconds < ramp_s) return 0;
  double since_first = (double)bytes / seconds;
  return tick_bps > since_first ? tick_bps : since_first;
}

double ferry__ctl_ramp_seconds(double bps, double rtt_s) {
  if (bps <= 0 || rtt_s <= 0) return 0;
  int rtts = 0; /* doublings: at most ~40 before the window passes any finite bps x rtt_s */
  for (double w = FERRY__CTL_INITIAL_WINDOW; w < bps * rtt_s; w *= 2) rtts++;
  return rtts * rtt_s;
}

#define HANDSHAKE_RTTS 3 /* a new connection: TCP, TLS 1.3, then the request */

double ferry__ctl_fresh_seconds(uint64_t bytes, double bps, double rtt_s, int new_connection) {
  if (!bytes) return 0;
  if (bps <= 0) return INFINITY;
  if (rtt_s <= 0) return (double)bytes / bps;
  if (!new_connection) return rtt_s + (double)bytes / bps;
  double t = HANDSHAKE_RTTS * rtt_s, left = (double)bytes;
  /* slow start: a window a round trip, doubled each round trip until it carries the rate
   * (at most ~40 doublings: the window passes any rate x round trip a double can hold) */
  for (double w = FERRY__CTL_INITIAL_WINDOW; w < bps * rtt_s; w *= 2) {
    if (left <= w) return t + rtt_s * left / w;
    left -= w;
    t += rtt_s;
  }
  return t + left / bps;
}

int ferry__ctl_warm_count(int conns, int reused, int64_t expected_size, uint64_t probe_size) {
  if (!reused || conns <= 1) return 0;
  if (expected_size >= 0 && (uint64_t)expected_size <= probe_size) return 0;
  return conns - 1;
}

int ferry__ctl_should_race(uint64_t left, double own_bps, double median_bps, double rtt_s,
                           double factor, int new_connection) {
  if (!left || median_bps <= 0) return 0;
  double fresh_s = ferry__ctl_fresh_seconds(left, median_bps, rtt_s, new_connection);
  double own_s = own_bps > 0 ? (double)left / own_bps : INFINITY;
  return own_s > factor * fresh_s && own_s > 4 * rtt_s;
}

#define CURSOR_RACE_FACTOR 2 /* the cursor's request is raced sooner than a tail's (4) */

int ferry__ctl_race_cursor(uint64_t left, double own_bps, double median_bps, double rtt_s,
                           uint64_t waiting, uint64_t budget, int new_connection) {
  return waiting >= budget / 2 && ferry__ctl_should_race(left, own_bps, median_bps, rtt_s,
                                                         CURSOR_RACE_FACTOR, new_connection);
}

#define SPLIT_MIN_RTTS 4       /* a rest worth splitting lasts more round trips than this */
#define SPLIT_MIN_SECONDS 1.0  /* ... and longer than this */
#define SPLIT_GAIN 0.75        /* ... and the new request's half comes in this share of it */

int ferry__ctl_split_pays(uint64_t left, double bps, double rtt_s, int new_connection) {
  if (bps <= 0 || rtt_s <= 0) return 1;
  double t = (double)left / bps;
  return t > SPLIT_MIN_RTTS * rtt_s && t > SPLIT_MIN_SECONDS &&
         ferry__ctl_fresh_seconds(left - left / 2, bps, rtt_s, new_connection) < SPLIT_GAIN * t;
}

/* ---- concurrency ------------------------------------------------------------------------- */

#define DOUBLING_GAIN 1.10  /* a doubling is kept when goodput grew at least this much */
#define PROBE_GAIN 1.05     /* a step up is kept when goodput grew at least this much */
#define PROBE_KEEP_DOWN 0.97 /* a step down is kept when goodput stayed at least this */
#define DROP_RATIO 0.85     /* goodput this far under the best, DROP_INTERVALS in a row: */
#define DROP_INTERVALS 3    /* the path changed (or the best was measured in new connections'
                             first burst, before a lossy path's losses bite): measured anew */
#define PROBE_EVERY 5       /* intervals held between probes */
#define EWMA 0.3            /* weight of a new interval in a level's smoothed goodput */

static const char *const phase_names[] = {"start", "hold", "probe", "pinned"};

static int clamp(const struct ferry__ctl *c, int level) {
  return level < c->min_level ? c->min_level : level > c->max_level ? c->max_level : level;
}

void ferry__ctl_init(struct ferry__ctl *c, int initial, int min_level, int max_level) {
  *c = (struct ferry__ctl){0};
  c->min_level = min_level > 0 ? min_level : 1;
  c->max_level = max_level >= c->min_level ? max_level : c->min_level;
  c->level = clamp(c, initial);
  c->phase = c->min_level == c->max_level ? FERRY__CTL_PINNED : FERRY__CTL_START;
  c->probe_up = 1;
  c->changed = 1; /* the first interval ramps up like any new level */
}

/* Moves to `level` (measured afresh: its first interval is a warm-up). */
static void go(struct ferry__ctl *c, int level, enum ferry__ctl_phase phase) {
  c->changed = clamp(c, level) != c->level;
  c->level = clamp(c, level);
  c->phase = phase;
  c->samples = 0;
  c->level_bps = 0;
  c->holds = 0;
  c->at_max = 0;
}

int ferry__ctl_step(struct ferry__ctl *c, double bps, char *why, size_t why_len) {
  const char *what = "measuring";
  int before = c->level;
  double smoothed = 0;
  c->samples++;
  if (c->samples == 1 && c->changed) {
    what = "warm-up interval at a new level: not counted"; /* new connections ramp up */
  } else {
    c->level_bps = c->level_bps > 0 ? EWMA * bps + (1 - EWMA) * c->level_bps : bps;
    smoothed = c->level_bps;
    switch (c->phase) {
    case FERRY__CTL_PINNED:
      what = "pinned by the flags";
      break;
    case FERRY__CTL_START:
      if (c->best_bps == 0 || c->level_bps >= DOUBLING_GAIN * c->best_bps) {
        c->best_bps = c->level_bps;
        c->best_level = c->level;
        if (c->level >= c->max_level) {
          what = "at the most allowed: holding";
          c->phase = FERRY__CTL_HOLD;
          c->at_max = 1;
        } else {
          what = "goodput grew: doubling";
          go(c, c->level * 2, FERRY__CTL_START);
        }
      } else {
        what = "a doubling did not pay: back to the best level";
        go(c, c->best_level, FERRY__CTL_HOLD);
      }
      break;
    case FERRY__CTL_PROBE: {
      int up = c->level > c->best_level;
      if (up ? c->level_bps >= PROBE_GAIN * c->best_bps
             : c->level_bps >= PROBE_KEEP_DOWN * c->best_bps) {
        what = up ? "more requests paid: kept" : "fewer requests did as well: kept";
        c->best_bps = c->level_bps;
        c->best_level = c->level;
        c->phase = FERRY__CTL_HOLD;
        /* A path that keeps rewarding more requests is probed again at once, harder; one
         * where fewer did as well is tried lower again, at the usual pace. */
        c->up_streak = up ? c->up_streak + 1 : 0;
        c->probe_up = up;
        c->holds = up ? PROBE_EVERY - 1 : 0;
      } else {
        what = "the probe did not pay: back";
        c->up_streak = 0;
        c->probe_up = !up;
        go(c, c->best_level, FERRY__CTL_HOLD);
      }
      break;
    }
    case FERRY__CTL_HOLD:
      c->drops = c->level_bps < DROP_RATIO * c->best_bps ? c->drops + 1 : 0;
      if (c->drops >= DROP_INTERVALS) {
        what = "goodput fell and stayed down: measuring the best anew";
        c->best_bps = c->level_bps;
        c->best_level = c->level;
        c->drops = 0;
      } else if (c->level_bps > c->best_bps) {
        /* the level held doing better: the reference follows, and is this level (held at
         * a bound that cut a doubling short, it is not the level the best was seen at) */
        c->best_bps = c->level_bps;
        c->best_level = c->level;
      }
      if (++c->holds >= PROBE_EVERY) {
        /* A quarter of the level, at least one request; doubled by each kept up-probe in a
         * row (at most 4x), so a path that got much better is found in a few steps. */
        int step = (c->level / 4 > 1 ? c->level / 4 : 1) << (c->up_streak < 2 ? c->up_streak : 2);
        int up = (c->probe_up && c->level < c->max_level) || c->level <= c->min_level;
        int next = clamp(c, up ? c->level + step : c->level - step);
        if (next != c->level) {
          what = up ? "probing with more requests" : "probing with fewer requests";
          c->best_level = c->level;
          go(c, next, FERRY__CTL_PROBE);
        } else {
          c->holds = 0;
        }
      }
      break;
    }
  }
  if (why && why_len)
    snprintf(why, why_len, "%s: %d -> %d requests in flight (%s; %.1f MB/s now, %.1f MB/s smoothed, "
             "best %.1f MB/s at %d)", phase_names[c->phase], before, c->level, what, bps / 1e6,
             smoothed / 1e6, c->best_bps / 1e6, c->best_level);
  return c->level;
}

void ferry__ctl_laid_out(struct ferry__ctl *c, int conns_before, int conns_after) {
  if (conns_after <= conns_before) c->changed = 0;
}

void ferry__ctl_set_bounds(struct ferry__ctl *c, int min_level, int max_level) {
  int old_max = c->max_level;
  c->min_level = min_level > 0 ? min_level : 1;
  c->max_level = max_level >= c->min_level ? max_level : c->min_level;
  if (c->phase == FERRY__CTL_PINNED) return;
  if (c->level != clamp(c, c->level)) go(c, c->level, FERRY__CTL_HOLD);
  else if (c->max_level > old_max && c->at_max && c->phase == FERRY__CTL_HOLD)
    go(c, c->level * 2, FERRY__CTL_START); /* held only at the old maximum: doubling resumes */
}

#define SMALLEST_REQUEST_BLOCK (16u << 10) /* a request's block is never counted as less */

int ferry__ctl_memory_level(uint64_t budget, uint64_t block_size, uint64_t mean_request) {
  uint64_t block = mean_request && mean_request < block_size ? mean_request : block_size;
  if (block < SMALLEST_REQUEST_BLOCK) block = SMALLEST_REQUEST_BLOCK;
  uint64_t level = budget / block * 3 / 4;
  return level < 1 ? 1 : level > INT32_MAX ? INT32_MAX : (int)level;
}

void ferry__ctl_shape(int level, int max_conns, int max_streams, int pinned_conns,
                      int pinned_streams, int *conns, int *streams) {
  if (level < 1) level = 1;
  if (max_conns < 1) max_conns = 1;
  if (max_streams < 1) max_streams = 1;
  int c = pinned_conns > 0 ? pinned_conns : level < max_conns ? level : max_conns;
  int s = pinned_streams > 0 ? pinned_streams : (level + c - 1) / c;
  if (pinned_streams <= 0 && s > max_streams) s = max_streams;
  *conns = c;
  *streams = s;
}
