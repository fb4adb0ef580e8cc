/* control: the decisions of the transfer controller (issue 12), as pure functions like plan.h,
 * so that they are tested on recorded or modelled throughput traces, apart from the engine.
 *
 * Two decisions:
 *  - how large a request is: it should last several round trips at the rate its stream shows,
 *    so a round trip costs little throughput however far the server is, while the end of a
 *    file is still cut finely (ferry__ctl_request_size);
 *  - how many requests are in flight: grown while the total goodput grows and shrunk when it
 *    stops, the way TCP probes for bandwidth (ferry__ctl_step), then laid out as connections
 *    and streams (ferry__ctl_shape).
 * Bytes in flight are not memory: none of these figures is tied to the memory budget. */
#ifndef FERRY_CONTROL_H
#define FERRY_CONTROL_H

#include <stddef.h>
#include <stdint.h>

/* ---- request size ------------------------------------------------------------------------ */

/* A request lasts about this many round trips. Levels up to 32 are one stream per connection,
 * so a connection idles one round trip between two requests: 1/(ROUNDS + 1) of its time (8:
 * 11 %). 24 measured +7 % on `cdn`, +4 % on `cross`, +9 % on `cloud` against 8 (WAN lab,
 * interleaved, 2 GiB); `far` already reaches FERRY__CTL_MAX_REQUEST. */
#define FERRY__CTL_ROUNDS 24
#define FERRY__CTL_MIN_REQUEST (1u << 20)  /* never smaller (one journal block) */
#define FERRY__CTL_MAX_REQUEST (64u << 20) /* never larger: a lost request costs at most this */

/* The size of the next request of a file: FERRY__CTL_ROUNDS round trips at `stream_bps`
 * (bytes/s one request has been receiving; 0 when unknown, then the minimum) and `rtt_s`
 * (seconds), between the minimum and `max_request` (0: FERRY__CTL_MAX_REQUEST), and at most
 * the file's `remaining` bytes shared by `peers` requests that could take part of it (but not
 * under the minimum), so the tail is split rather than left to one slow request.
 * `remaining` counts what requests in flight have still to receive too: shares of what is
 * not yet requested alone would shrink with each new request, to requests that are mostly
 * round trip. A multiple of `align` unless it is the
 * whole remainder (which it is when less than a quarter of the size would be left). */
uint64_t ferry__ctl_request_size(double stream_bps, double rtt_s, uint64_t remaining,
                                 int peers, uint64_t max_request, uint64_t align);

/* The rate to size a request by: what one request of the file showed (`stream_bps`), but no
 * more than the most a request got over a measurement interval so far (`request_bps`: an
 * interval's goodput over the requests that ran in it, on average; 0: none measured yet). A
 * request measured while few others ran (slow start, a new connection) shows more than it
 * gets once all run: sized by that, a long path's requests grew to 64 MiB taking 40 round
 * trips, and the in-order hash waited on the oldest of them for seconds. The most, not the
 * last: an interval of new connections' slow start would size the next requests by it. */
double ferry__ctl_request_rate(double stream_bps, double request_bps);

/* The round trip one request shows, from libcurl's timings (microseconds since it started):
 * a new connection's TCP handshake (`connect_us` - `lookup_us`), and the wait between the
 * request sent and its first byte (`first_byte_us` - `sent_us`), which is a round trip plus
 * the server's time. The smaller of the two that were measured (seconds), 0 when neither. A
 * path's round trip is the least of these samples: queues only ever add to them. */
double ferry__ctl_rtt_sample(int64_t lookup_us, int64_t connect_us, int64_t sent_us,
                             int64_t first_byte_us);

/* A stream's rate, smoothed: `bytes` received in `seconds` by one request, folded into the
 * previous figure (0: none yet). Requests too short to time (under a millisecond or a
 * block) leave it as it was. */
double ferry__ctl_rate_update(double smoothed_bps, uint64_t bytes, double seconds);

/* What a request of a file gets, to judge a lagging one by: the largest of the running
 * requests' median (`median_bps`, biased low: fast requests end, slow ones stay), the most a
 * request got in a measured interval (`request_bps`) and what the file's finished requests
 * showed (`file_bps`); 0 for unknown. With one request left running (the others fast and
 * done) there is no median and only the last says anything. */
double ferry__ctl_request_gets(double median_bps, double request_bps, double file_bps);

/* What a new request for `bytes` needs until its last byte, at `bps` (what a request of the
 * file gets) over a path of `rtt_s`: on a warm connection that has nothing to do (or a new
 * stream of one), a round trip and then the rate; on a `new_connection`, three round trips
 * (TCP, TLS 1.3, the request) and then TCP's slow start, from the initial window
 * (FERRY__CTL_INITIAL_WINDOW a round trip) doubling each round trip up to the rate. On the
 * far link (200 ms) a 6 MB rest handed over to a new connection came 1.4 s later than the
 * slow request it left would have brought it. 0 when nothing is left; infinite when the
 * rate is unknown. */
#define FERRY__CTL_INITIAL_WINDOW 14480.0 /* Linux: 10 segments of 1448 bytes */
double ferry__ctl_fresh_seconds(uint64_t bytes, double bps, double rtt_s, int new_connection);

/* Whether a request that has fallen far behind deserves a second one racing it for the same
 * range: its expected time to finish at its own rate is more than `factor` times what a new
 * request would need (ferry__ctl_fresh_seconds at the others' median rate: on a
 * `new_connection` with its handshakes and slow start), and more than a few round trips. */
int ferry__ctl_should_race(uint64_t left, double own_bps, double median_bps, double rtt_s,
                           double factor, int new_connection);

/* Whether the request holding a file's hash cursor (the lowest of its running requests: no
 * byte after it can be hashed before its bytes come) should hand its rest to a new request
 * although bytes are still unassigned: more than half of the memory budget's worth of the
 * file is written after it and waits (`waiting`, from memory or to be read back), and it
 * would take more than twice as long as a new request needs (ferry__ctl_should_race). On
 * the far link one slow connection held the cursor for seconds while a gigabyte piled up
 * behind it. */
int ferry__ctl_race_cursor(uint64_t left, double own_bps, double median_bps, double rtt_s,
                           uint64_t waiting, uint64_t budget, int new_connection);

/* Whether splitting a running request that still has `left` bytes to come at `bps` pays: a
 * split cuts it where the new request starts, and what the server had already sent past the
 * cut is received for nothing. On a long fat path the socket buffers (sized to the path's
 * bandwidth-delay product) hold seconds of a fast stream, so the whole rest may already be
 * on its way: a split pays only for a rest that lasts more than a few round trips and more
 * than a second (the WAN lab's cross link: a 27 MB rest split at 40 MB/s came twice), and
 * when the new request (ferry__ctl_fresh_seconds, on a `new_connection` or not) brings its
 * half sooner than the request would have brought all of it. 1 when the rate or the round
 * trip is unknown (nothing to judge by). */
int ferry__ctl_split_pays(uint64_t left, double bps, double rtt_s, int new_connection);

/* The block that receives a request's next bytes: `full` (the budget's block size), or a
 * quarter of it when the request's rate (`request_bps`, 0 when unknown) would take more than
 * FERRY__CTL_BLOCK_FILL_S to fill a full one. A running request holds its block while it
 * fills: on a lossy path 32 requests at 1 MB/s each would hold 32 MiB of partly filled
 * blocks, the whole budget, and the level could not grow to the connections the path needs.
 * Blocks smaller than the full size are not split again (small files have their own). */
#define FERRY__CTL_BLOCK_FILL_S 0.5
uint64_t ferry__ctl_block_size(double request_bps, uint64_t full);

/* A running request's rate, as the hand-over rules judge it: the larger of its rate since its
 * first byte (`bytes` in `seconds`) and over the watchdog's last tick (`tick_bps`, 0 before
 * one). The first alone counts a new connection's slow start against it (its rate doubles
 * each round trip: on the lab's cross link a request 0.65 s after its first byte had averaged
 * 1.6 MB/s while it was near 11 MB/s and rising, and was handed over, the new request then
 * starting its slow start over); the second alone a moment without memory, when every
 * request waits, not this one. 0 (too young to judge) under a quarter second, or under
 * `ramp_s` (ferry__ctl_ramp_seconds for a request on a connection it opened). */
double ferry__ctl_rate_now(uint64_t bytes, double seconds, double tick_bps, double ramp_s);

/* How long a new connection's slow start takes to reach `bps` over a path of `rtt_s`: the
 * round trips from the initial window to a window of bps x rtt_s. A request on a connection
 * it opened is not judged before then: on the far link (200 ms) a request 0.66 s after its
 * first byte had 0.15 MB/s, three round trips into a ramp of eight, and was handed over to
 * another new connection that started the ramp again. 0 when either is unknown. */
double ferry__ctl_ramp_seconds(double bps, double rtt_s);

/* How many connections to open beside a file's probe (warmup.c), to an origin the engine has
 * not talked to: the layout's connections less the probe's own; none when connections are
 * not reused (`reused` 0: h2c) or the file is known (`expected_size`, -1 when unknown) to fit
 * in the probe's request (`probe_size`): it will need no other request. */
int ferry__ctl_warm_count(int conns, int reused, int64_t expected_size, uint64_t probe_size);

/* ---- concurrency ------------------------------------------------------------------------- */

enum ferry__ctl_phase {
  FERRY__CTL_START,  /* doubling while each doubling pays */
  FERRY__CTL_HOLD,   /* at the best level found; probing up from time to time */
  FERRY__CTL_PROBE,  /* one step up, to be kept or taken back */
  FERRY__CTL_PINNED, /* the user fixed the level (flags): never changes */
};

struct ferry__ctl {
  enum ferry__ctl_phase phase;
  int level;              /* requests in flight wanted now */
  int min_level, max_level;
  double best_bps;        /* goodput seen at best_level (smoothed) */
  int best_level;
  double level_bps;       /* smoothed goodput at the current level */
  int samples;            /* intervals measured at the current level */
  int changed;            /* the level changed when samples was last reset: warm-up first */
  int holds;              /* intervals held since the last probe */
  int drops;              /* intervals in a row well under best_bps */
  int probe_up;           /* direction of the next probe */
  int up_streak;          /* up-probes kept in a row: the next one is larger and sooner */
  int at_max;             /* the doubling stopped at max_level, not because it did not pay */
};

/* A controller starting at `initial` requests in flight, kept within [min_level, max_level];
 * min_level == max_level pins it. */
void ferry__ctl_init(struct ferry__ctl *c, int initial, int min_level, int max_level);

/* One measurement interval (a few round trips, or a second): the goodput (bytes/s of useful
 * data) at the current level. Returns the level to use next; `why` (may be NULL) gets one
 * line with the figures behind the decision, for -v. */
int ferry__ctl_step(struct ferry__ctl *c, double goodput_bps, char *why, size_t why_len);

/* The level was laid out as `conns_after` connections (from `conns_before`). Only new
 * connections ramp up (TCP's slow start); more streams on open ones, or fewer requests, do
 * not: a level that opened no connection is judged from its first interval, without a
 * warm-up. */
void ferry__ctl_laid_out(struct ferry__ctl *c, int conns_before, int conns_after);

/* The bounds change (what memory allows changed: ferry__ctl_memory_level). The level is kept
 * within them; a controller that stopped doubling only because it reached the old maximum
 * doubles on when the maximum rises. */
void ferry__ctl_set_bounds(struct ferry__ctl *c, int min_level, int max_level);

/* How many requests the memory budget lets run at once: each fills a block of its own, the
 * block being the smaller of `block_size` and the mean request (`mean_request`, bytes; 0:
 * unknown), so many small files may have many more requests in flight than a large file;
 * three quarters of the budget, the rest being for the writers and the hasher. */
int ferry__ctl_memory_level(uint64_t budget, uint64_t block_size, uint64_t mean_request);

/* A level of requests in flight laid out as connections x streams: connections first (a
 * per-connection cap, as CDNs set, is passed only with more connections; each has its own
 * congestion window), up to `max_conns`, then streams per connection up to `max_streams` (the
 * server's limit per connection). Pinned values (> 0) are kept as given. */
void ferry__ctl_shape(int level, int max_conns, int max_streams, int pinned_conns,
                      int pinned_streams, int *conns, int *streams);

#endif
