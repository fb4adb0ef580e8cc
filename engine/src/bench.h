/* bench.h: what `ferry bench` needs from the engine (internal). bench_probe.c watches the
 * requests of a run from inside the engine (the engine's own requests and counters, not a
 * second downloader); bench_plan.c holds the decisions as pure functions (when the rate has
 * settled, percentiles, which stage is the limit); bench_stages.c measures SHA-256 and the
 * disk alone. engine/hub/bench.c runs a benchmark with them (ferry_bench_run). */
#ifndef FERRY_BENCH_H
#define FERRY_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "ferry.h"

#define FERRY__BENCH_MAX_CONNS 64    /* connections told apart; more are summed in the last */
#define FERRY__BENCH_MAX_SAMPLES 4096 /* requests whose timings are kept for percentiles */

/* What the probe gathers; zeroed by the caller, which owns it. */
struct ferry__bench_probe {
  int measuring;        /* 1: bytes count towards the per-connection figures (past the grace) */
  /* bytes per connection, and the loop times (ms) of its first and last counted bytes */
  struct { long port; uint64_t bytes; uint64_t first_ms, last_ms; } conns[FERRY__BENCH_MAX_CONNS];
  size_t nconns;
  double ttfb[FERRY__BENCH_MAX_SAMPLES];    /* seconds from a request sent to its first byte */
  double latency[FERRY__BENCH_MAX_SAMPLES]; /* seconds a complete request took */
  size_t nttfb, nlatency;
  double rtt_min;       /* seconds: the shortest TCP handshake of a new connection, 0 unknown */
  int rtt_samples;
  char edge[256];       /* "name: value" of the first edge header seen, or "" */
  int whole;            /* the server answered a ranged request with the whole file */
  /* each connection's MB/s in each second of the window (a plot), and its bytes at the last */
  float series[FERRY__BENCH_MAX_CONNS][FERRY_BENCH_SERIES];
  uint64_t series_bytes[FERRY__BENCH_MAX_CONNS];
  size_t nseries;
};

struct ferry_engine;
struct ferry__xfer;

/* The probe watches e's requests from now on (NULL: no more). */
void ferry__bench_attach(struct ferry_engine *e, struct ferry__bench_probe *p);
/* From the engine's one place a request ends (xfer.c): its last bytes, timings and headers. */
void ferry__bench_xfer_end(struct ferry__bench_probe *p, struct ferry__xfer *x);
/* From put.c when an upload request (ferry_engine_put) ends: `bytes` of its body the server
 * accepted (0 when it failed or was cut) are credited to its connection over [start_ms,
 * end_ms], loop times; `answer_s` is how long the answer took after the last body byte (the
 * upload's time to first byte), < 0 unknown. */
void ferry__bench_put_end(struct ferry__bench_probe *p, void *easy, uint64_t start_ms,
                          uint64_t end_ms, uint64_t bytes, double answer_s);
/* Counts the bytes running requests received since the last call (on the loop thread, from
 * the progress callback), so connections are credited as the bytes arrive. */
void ferry__bench_sample(struct ferry_engine *e);

/* A second of the window ended (dt long, from bench_window.c): each connection's rate in it. */
void ferry__bench_probe_second(struct ferry__bench_probe *p, double dt);

/* What the probe gathered, as the result's figures: goodput from out->bytes and
 * out->seconds, each connection's rate, the percentiles (sorts the probe's samples), the
 * RTT and the edge header. */
void ferry__bench_probe_figures(struct ferry__bench_probe *p, struct ferry_bench_result *out);

/* ---- bench_window.c: the measured window ---- */

/* This process's CPU seconds so far (user + system). */
double ferry__bench_cpu_seconds(void);

struct ferry__bench_window {
  double limit, grace;           /* seconds: the whole run, the slow start left out */
  struct ferry__bench_probe *probe; /* its `measuring` follows the window (or NULL) */
  void (*progress_cb)(void *user, double seconds, double mb_per_s);
  void *progress_user;
  /* the window's own state, zero at the start */
  int measuring, closed;
  double win_t0, sec_t0, last_t, cpu0;
  uint64_t win_b0, sec_b0, last_b;
};
/* At t seconds into the run with `useful` bytes so far: starts the window after the grace,
 * records each second's rate and whether the last three have settled (within 5 %), reports
 * progress. Returns 1 when the run should stop (settled, or the time is up). */
int ferry__bench_window_tick(struct ferry__bench_window *w, struct ferry_bench_result *out,
                             double t, uint64_t useful);
/* Ends the window (once): out->seconds, bytes and cpu_seconds, when it had begun. */
void ferry__bench_window_close(struct ferry__bench_window *w, struct ferry_bench_result *out,
                               double t, uint64_t useful);

/* ---- bench_plan.c: pure decisions ---- */

/* The rate has settled: the last `window` one-second rates (oldest first) are within `tol`
 * (0.05 = 5 %) of their mean, which is above zero. Fewer rates than `window`: not yet. */
int ferry__bench_settled(const double *rates, size_t n, size_t window, double tol);
/* The p-th percentile (0..100) of v[0..n) by the nearest-rank method; sorts v. 0 when n is 0. */
double ferry__bench_percentile(double *v, size_t n, double p);
/* The slow-start grace left out of a run of `seconds`: 1 s, or a quarter of shorter runs. */
double ferry__bench_grace(double seconds);

struct ferry__bench_figures {
  double goodput;       /* MB/s end to end; 0: no download (local stages alone) */
  int to_disk;          /* the download wrote to disk */
  double sha_per_core;  /* MB/s of SHA-256 on one core (one file's hash is sequential) */
  double disk;          /* MB/s of fsync'ed writes into the target folder, 0 unknown */
  int connections;
  double per_connection; /* MB/s, mean over the connections */
  double ttfb_p90, latency_p50, rtt; /* seconds; rtt 0: unknown */
  double cap_per_connection; /* MB/s each connection is held to (a sweep saw it), 0: none */
};
/* Which stage limits the figure (enum ferry_bench_limit), and the verdict line in out[cap]. */
int ferry__bench_verdict(const struct ferry__bench_figures *f, char *out, size_t cap);

/* The size of the next object `ferry bench --upload` sends, from the rate so far (bytes/s, 0
 * unknown) and the seconds left: about 3 s of it (an object's last parts run with fewer in
 * flight, so not much shorter), at least 64 MiB and at most 4 GiB, in whole MiB. */
uint64_t ferry__bench_object_size(double bytes_per_s, double seconds_left);

/* ---- bench_gen.c: the bytes of --upload, made on demand ---- */

/* Fills buf with the len bytes at `offset` of the object made from `seed`. */
void ferry__bench_gen_fill(uint64_t seed, uint64_t offset, char *buf, size_t len);
/* The SHA-256 (hex) of the first `size` bytes of that object, made once in 1 MiB pieces. 0,
 * FERRY_E_NOMEM, or FERRY_E_INTERRUPTED when *stop became non-zero. */
int ferry__bench_gen_sha256(uint64_t seed, uint64_t size, const volatile int *stop,
                            char hex[65]);

/* ---- bench_stages.c: each stage alone on this machine ---- */

/* SHA-256 of data already in memory on one thread for about `seconds`: MB/s. */
double ferry__bench_sha256_rate(double seconds);
/* Writes into a new file in `dir` for about `seconds` (at most max_bytes), fsyncs it and
 * deletes it: MB/s including the fsync. 0 or FERRY_E_IO / FERRY_E_NOSPC / FERRY_E_NOMEM. */
int ferry__bench_disk_rate(const char *dir, double seconds, uint64_t max_bytes, double *mb_s);

#endif
