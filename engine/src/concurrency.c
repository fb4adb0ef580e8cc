/* concurrency: how many ranged requests are in flight, and over how many connections (issue 12).
 *
 * The decisions are control.c's pure functions (ferry__ctl_step, ferry__ctl_shape); this file
 * feeds them the engine's figures and applies what they say:
 *  - every measurement interval (a second, or six round trips on a long path), the goodput of
 *    that interval (bytes received that were used) goes to ferry__ctl_step, which grows the
 *    level while goodput grows and shrinks it when it stops;
 *  - an interval counts only when the requests in flight filled the level for most of it: at
 *    the end of a snapshot, or while the source has no more files, fewer requests run and the
 *    goodput says nothing about the level;
 *  - the level is laid out as connections x streams (connections first: each has its own
 *    congestion window, and a CDN caps each connection) and applied outside libcurl's
 *    callbacks, from the watchdog: e->max_inflight for the scheduler, and the multi handle's
 *    CURLMOPT_MAX_HOST_CONNECTIONS / CURLMOPT_MAX_CONCURRENT_STREAMS for libcurl;
 *  - --connections and --streams pin what they name: both given, the level never changes.
 * `-v` logs every decision with the figures behind it. */
#include "internal.h"

#include "control.h"

#define MAX_CONNS 32   /* connections per host the controller may open */
#define MAX_STREAMS 8  /* streams per connection (servers allow 100-128: nginx 128) */
#define MIN_INTERVAL_MS 1000
#define MIN_INTERVAL_SMALL_MS 500 /* when requests are small (many files): many end in each */
#define INTERVAL_RTTS 6
#define FULL_SHARE 0.75 /* an interval counts when the level was full this share of its ticks */

/* Whether connections multiplex, as far as is known now: until the first answer says, what
 * was asked for (h2 unless --http1.1). HTTP/1.1 and h2c do not, so their level is their
 * connections. */
static int multiplexed(const struct ferry_engine *e) {
  return e->multiplex_known ? e->multiplexed : !e->cfg.http11;
}

/* The level's bounds and the layout for the protocol known now. */
static void bounds(const struct ferry_engine *e, int *min_level, int *max_level) {
  const struct ferry__conc *k = &e->conc;
  int mux = multiplexed(e);
  int cmin = k->pinned_conns ? k->pinned_conns : 1;
  int cmax = k->pinned_conns ? k->pinned_conns : MAX_CONNS;
  int smin = !mux ? 1 : k->pinned_streams ? k->pinned_streams : 1;
  int smax = !mux ? 1 : k->pinned_streams ? k->pinned_streams : MAX_STREAMS;
  *min_level = cmin * smin;
  *max_level = cmax * smax;
  /* Each running request fills a block of its own (budget.c): past what the budget holds, more
   * requests cannot start and the controller would measure the memory, not the path. Small
   * files have small blocks: more of them fit. Pinned flags are the user's. */
  int blocks = ferry__ctl_memory_level(e->budget.limit, e->budget.block_size, k->mean_request);
  if (!(k->pinned_conns && k->pinned_streams) && *max_level > blocks) *max_level = blocks;
  if (*min_level > *max_level) *min_level = *max_level;
}

static void apply(struct ferry_engine *e, int level) {
  struct ferry__conc *k = &e->conc;
  int conns_before = k->conns;
  int mux = multiplexed(e);
  int conns, streams;
  ferry__ctl_shape(level, MAX_CONNS, mux ? MAX_STREAMS : 1, k->pinned_conns,
                   mux ? k->pinned_streams : 1, &conns, &streams);
  if (!mux) streams = 1;
  if (conns_before > 0 && conns > conns_before) k->grown = 1;
  k->conns = conns;
  k->streams = streams;
  ferry__ctl_laid_out(&k->ctl, conns_before, conns); /* a warm-up only for new connections */
  ferry__engine_set_inflight(e, level < conns * streams ? level : conns * streams);
  if (e->multi) {
    curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conns);
    curl_multi_setopt(e->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, (long)streams);
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)conns * 2);
  }
}

void ferry__conc_init(struct ferry_engine *e, int pinned_conns, int pinned_streams) {
  struct ferry__conc *k = &e->conc;
  *k = (struct ferry__conc){.pinned_conns = pinned_conns, .pinned_streams = pinned_streams};
  int lo, hi;
  bounds(e, &lo, &hi);
  /* The start: what the flags pin, else the saved setting (ferry bench --save), else 8 x 2. */
  const struct ferry_config *c = &e->cfg;
  int initial = (pinned_conns ? pinned_conns : c->start_connections > 0 ? c->start_connections : 8) *
                (pinned_streams ? pinned_streams : c->start_streams > 0 ? c->start_streams : 2);
  ferry__ctl_init(&k->ctl, initial, lo, hi);
  apply(e, k->ctl.level);
}

void ferry__conc_log_start(struct ferry_engine *e) {
  const struct ferry__conc *k = &e->conc;
  if (e->cfg.verbose)
    ferry__log(e, "concurrency: %s: %d requests in flight (%d connections x %d streams)%s",
               k->ctl.phase == FERRY__CTL_PINNED ? "pinned by --connections and --streams"
                                                 : "adaptive",
               k->ctl.level, k->conns, k->streams,
               k->ctl.phase == FERRY__CTL_PINNED ? "" : ", grown while goodput grows");
}

void ferry__conc_on_protocol(struct ferry_engine *e) {
  struct ferry__conc *k = &e->conc;
  int lo, hi;
  bounds(e, &lo, &hi);
  if (lo == k->ctl.min_level && hi == k->ctl.max_level) return;
  /* HTTP/1.1 after all: the level is the connections, started again within their bounds. */
  int level = k->ctl.level < lo ? lo : k->ctl.level > hi ? hi : k->ctl.level;
  ferry__ctl_init(&k->ctl, level, lo, hi);
  apply(e, k->ctl.level);
  if (e->cfg.verbose)
    ferry__log(e, "concurrency: connections %s multiplex: %d requests in flight (%d-%d), %d "
               "connections x %d streams", e->multiplexed ? "do" : "do not", k->ctl.level, lo,
               hi, k->conns, k->streams);
}

/* The requests' size changed what memory allows (many small files, or large ones again). */
static void follow_memory(struct ferry_engine *e) {
  struct ferry__conc *k = &e->conc;
  int lo, hi, before = k->ctl.level;
  bounds(e, &lo, &hi);
  if (hi == k->ctl.max_level && lo == k->ctl.min_level) return;
  ferry__ctl_set_bounds(&k->ctl, lo, hi);
  if (k->ctl.level != before) apply(e, k->ctl.level);
  if (e->cfg.verbose)
    ferry__log(e, "concurrency: blocks of %.0f KiB per request on average: at most %d in flight; "
               "%d -> %d",
               (double)k->mean_request / 1024, hi, before, k->ctl.level);
}

/* Only once the level has grown past its start: at the start every connection is new alike,
 * and the file's first bytes go first. Sockets count every connection (the Hub's API too:
 * then this says "no" more often than it should, and a new connection takes the next bytes,
 * as any request would). */
int ferry__conc_opens_connection(const struct ferry_engine *e) {
  const struct ferry__conc *k = &e->conc;
  uint64_t open = e->st.connections_open;
  return k->grown && open > 0 && open < (uint64_t)k->conns && ferry__conc_connections_busy(e);
}

int ferry__conc_connections_busy(const struct ferry_engine *e) {
  uint64_t per = e->conc.streams > 0 ? (uint64_t)e->conc.streams : 1;
  return (uint64_t)e->nactive >= e->st.connections_open * per;
}

void ferry__conc_tick(struct ferry_engine *e) {
  struct ferry__conc *k = &e->conc;
  uint64_t now = uv_now(&e->loop);
  uint64_t useful = e->st.bytes_received - e->st.bytes_refetched;
  if (!k->interval_start_ms) { /* the first tick: an interval begins */
    k->interval_start_ms = now;
    k->interval_bytes = useful;
    k->interval_started = k->interval_promised = k->interval_asked = 0;
    return;
  }
  k->ticks++;
  k->running_sum += (uint64_t)e->nactive;
  if (e->nactive >= e->max_inflight) k->full_ticks++;
  else if (!ferry__budget_fits(&e->budget, e->budget.block_size)) k->memory_ticks++;
  uint64_t rtt_ms = (uint64_t)(e->rtt_s * 1000);
  /* The blocks the requests started in the interval were promised, not the bytes that came:
   * while the level grows, many requests start at once and have brought little yet. */
  uint64_t started = k->interval_started;
  uint64_t mean_now = started ? k->interval_promised / started : k->mean_request;
  /* Small requests (many small files): many end in each half second. Not slow requests'
   * quarter blocks: theirs are large requests ending seconds apart. */
  uint64_t asked = started ? k->interval_asked / started : 0;
  uint64_t least = asked && asked < e->budget.block_size ? MIN_INTERVAL_SMALL_MS : MIN_INTERVAL_MS;
  uint64_t interval = rtt_ms * INTERVAL_RTTS > least ? rtt_ms * INTERVAL_RTTS : least;
  if (now - k->interval_start_ms < interval) return;
  double seconds = (double)(now - k->interval_start_ms) / 1000;
  double goodput = (double)(useful - k->interval_bytes) / seconds;
  int counted = k->full_ticks >= FULL_SHARE * k->ticks;
  /* What a request got: goodput over the requests that ran (request_size, the cursor's race),
   * from intervals that measured the level, not a new level's first (its new connections'
   * slow start would make the next requests small while the connections ramp up). */
  double running = k->ticks ? (double)k->running_sum / k->ticks : 0;
  int warm_up = k->ctl.samples == 0 && k->ctl.changed;
  if (counted && !warm_up && running >= 1 && goodput / running > k->request_bps)
    k->request_bps = goodput / running;
  if (counted && k->ctl.phase != FERRY__CTL_PINNED) {
    char why[256];
    int before = k->ctl.level;
    int level = ferry__ctl_step(&k->ctl, goodput, why, sizeof(why));
    if (level != before) apply(e, level);
    if (e->cfg.verbose)
      ferry__log(e, "concurrency %s; %d connections x %d streams", why, k->conns, k->streams);
  } else if (!counted && e->cfg.verbose && e->nactive) {
    ferry__log(e, "concurrency: interval not counted (%.1f MB/s; the %d requests allowed ran "
               "in %d of %d checks: %s)", goodput / 1e6, e->max_inflight, k->full_ticks,
               k->ticks, k->memory_ticks * 2 > k->ticks
                             ? "the memory budget was full (the disk or the hasher is behind)"
                             : "not enough work to measure the level");
  }
  if (started) {
    k->mean_request = mean_now;
    follow_memory(e);
  }
  k->interval_start_ms = now;
  k->interval_bytes = useful;
  k->interval_started = k->interval_promised = k->interval_asked = 0;
  k->ticks = k->full_ticks = k->memory_ticks = 0;
  k->running_sum = 0;
}

void ferry__conc_on_request(struct ferry_engine *e, uint64_t block, uint64_t asked) {
  e->conc.interval_started++;
  e->conc.interval_promised += block;
  e->conc.interval_asked += asked;
}
