/* bench_sweep: ferry_bench_sweep, `ferry bench --sweep`. One run with the engine's defaults
 * (which also measures the stages and gives the verdict), then one short run per point of
 * connections x streams x request size (an upload's: connections alone), each on fresh engines (ferry__bench_run without the
 * stages); sweep_plan.c decides each point's length and the best point. A signal watch spans
 * the whole sweep, so a Ctrl-C between two points ends it with the points so far. */
#include <stdlib.h>
#include <string.h>

#include "../src/bench.h"
#include "../src/sweep.h"
#include "bench_run.h"
#include "hub.h"

static const int default_connections[] = {1, 2, 4, 8, 16};
static const int default_streams[] = {1, 4};
static const int default_streams_h1[] = {1};
static const uint64_t default_chunks[] = {8u << 20};
/* An upload's points: streams and request size left to the engine and the Hub. */
static const int no_value[] = {0};
static const uint64_t no_size[] = {0};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The point's figures from its run. */
static void point_figures(struct ferry_bench_point *p, const struct ferry_bench_result *r) {
  p->error = r->error;
  p->seconds = r->seconds;
  p->bytes = r->bytes;
  p->mb_per_s = r->mb_per_s;
  p->gbit_per_s = r->gbit_per_s;
  p->settled = r->settled;
  p->rounds = r->rounds;
  p->errors = r->errors;
  p->connections_peak = r->connections_peak;
  p->retries = r->retries;
  for (size_t i = 0; i < r->nconns; i++) p->per_connection += r->conns[i].mb_per_s;
  if (r->nconns) p->per_connection /= (double)r->nconns;
  p->ttfb_p90 = r->ttfb_p90;
  p->latency_p50 = r->latency_p50;
  p->cpu_s_per_gb = r->cpu_s_per_gb;
}

/* One point: its run on the caller's settings with this point's connections, streams and
 * request size (the default point: the caller's own). */
static int run_point(const struct ferry_bench_sweep_opts *o, struct ferry_bench_sweep_result *out,
                     size_t i, struct ferry_bench_result *r, const char *scratch) {
  struct ferry_bench_point *p = &out->points[i];
  if (o->point_cb) o->point_cb(o->point_user, i, out->npoints, p);
  struct ferry_config cfg = {0};
  if (o->bench.engine) cfg = *o->bench.engine;
  if (!p->is_default) { /* an upload's point sets its connections alone (streams 0, size 0) */
    cfg.connections = p->connections;
    cfg.streams = p->streams;
    cfg.chunk_size = p->chunk_size;
  }
  struct ferry_bench_opts bo = o->bench;
  bo.engine = &cfg;
  bo.seconds = out->point_seconds;
  int err = ferry__bench_run(&bo, r, p->is_default ? FERRY__BENCH_STAGES : 0, scratch);
  point_figures(p, r);
  return err;
}

/* The limit at the best point: the default run's stages, the best point's figures, and the
 * per-connection cap when the points show one. */
static void verdict(const struct ferry_bench_sweep_opts *o, struct ferry_bench_sweep_result *out) {
  const struct ferry_bench_point *b = &out->points[out->best];
  const struct ferry_bench_result *d = &out->detail;
  out->cap_per_connection = ferry__sweep_cap(out->points, out->npoints);
  struct ferry__bench_figures f = {
      .goodput = b->mb_per_s, .to_disk = !o->bench.to_null && !o->bench.upload, .sha_per_core = d->sha256_per_core,
      .disk = d->disk_mb_per_s, .connections = b->connections, .per_connection = b->per_connection,
      .ttfb_p90 = b->ttfb_p90, .latency_p50 = b->latency_p50, .rtt = d->rtt,
      .cap_per_connection = out->cap_per_connection};
  out->limit = ferry__bench_verdict(&f, out->verdict, sizeof(out->verdict));
}

static int check_values(const struct ferry_bench_sweep_opts *o, struct ferry_bench_sweep_result *out,
                        size_t nc, size_t ns, size_t nk) {
  if (nc * ns * nk + 1 > FERRY_BENCH_SWEEP_MAX)
    return ferry__hub_why(FERRY_E_INVAL, out->message, sizeof(out->message),
                          "%zu points: a sweep takes at most %d", nc * ns * nk,
                          FERRY_BENCH_SWEEP_MAX - 1);
  if (o->bench.upload && (o->streams || o->chunk_sizes))
    return ferry__hub_why(FERRY_E_INVAL, out->message, sizeof(out->message),
                          "an upload sweep varies the connections alone (the parts sent at "
                          "once): the Hub picks the part size, and streams are not an upload's");
  for (size_t i = 0; o->connections && i < nc; i++)
    if (o->connections[i] < 1 || o->connections[i] > 256) return FERRY_E_INVAL;
  for (size_t i = 0; o->streams && i < ns; i++)
    if (o->streams[i] < 1 || o->streams[i] > 256) return FERRY_E_INVAL;
  for (size_t i = 0; o->chunk_sizes && i < nk; i++)
    if (o->chunk_sizes[i] < (64u << 10)) return FERRY_E_INVAL;
  return 0;
}

int ferry_bench_sweep(const struct ferry_bench_sweep_opts *o,
                      struct ferry_bench_sweep_result *out) {
  memset(out, 0, sizeof(*out));
  out->best = -1;
  if (!o) return out->error = FERRY_E_INVAL;
  int h1 = o->bench.engine && o->bench.engine->http11, up = o->bench.upload;
  const int *cs = o->connections ? o->connections : default_connections;
  const int *ss = o->streams ? o->streams : up ? no_value : h1 ? default_streams_h1 : default_streams;
  const uint64_t *ks = o->chunk_sizes ? o->chunk_sizes : up ? no_size : default_chunks;
  size_t nc = o->connections ? o->nconnections : N(default_connections);
  size_t ns = o->streams ? o->nstreams : up ? 1 : h1 ? N(default_streams_h1) : N(default_streams);
  size_t nk = o->chunk_sizes ? o->nchunk_sizes : up ? 1 : N(default_chunks);
  int err = nc && ns && nk ? check_values(o, out, nc, ns, nk) : FERRY_E_INVAL;
  if (err) return out->error = err;
  /* The default first: a bad target ends the sweep there, and Ctrl-C later still has it. */
  struct ferry_config dc = {0};
  if (o->bench.engine) dc = *o->bench.engine;
  ferry__config_defaults(&dc);
  out->points[0] = (struct ferry_bench_point){.is_default = 1, .connections = dc.connections,
                                              .streams = up ? 0 : dc.streams,
                                              .chunk_size = up ? 0 : dc.chunk_size};
  out->npoints = 1;
  for (size_t k = 0; k < nk; k++)
    for (size_t s = 0; s < ns; s++)
      for (size_t c = 0; c < nc; c++)
        out->points[out->npoints++] = (struct ferry_bench_point){
            .connections = cs[c], .streams = ss[s], .chunk_size = ks[k]};
  out->point_seconds = ferry__sweep_point_seconds(out->npoints, o->bench.seconds);
  struct ferry_bench_result *r = malloc(sizeof(*r));
  if (!r) return out->error = FERRY_E_NOMEM;
  const struct ferry_stop *stop = o->bench.engine ? o->bench.engine->stop : NULL;
  size_t done = 0;
  /* An upload's points share one scratch repo: one to create and delete, not one a point
   * (a Hub limits how fast repos are created). */
  struct ferry__bench_scratch *scratch = NULL;
  if (up && !o->bench.url) err = ferry__bench_scratch_open(&o->bench, &out->detail, &scratch);
  const char *repo = scratch ? ferry__bench_scratch_repo(scratch) : NULL;
  if (!err) err = run_point(o, out, 0, &out->detail, repo);
  if (!err || err == FERRY_E_INTERRUPTED) done = 1;
  for (size_t i = 1; !err && i < out->npoints; i++) {
    int perr = run_point(o, out, i, r, repo);
    done = i + 1;
    if (perr == FERRY_E_INTERRUPTED || ferry_stop_requested(stop)) err = FERRY_E_INTERRUPTED;
    /* a point that fails (a timeout with one connection...) is shown failed; the rest run */
  }
  if (!err && ferry_stop_requested(stop)) err = FERRY_E_INTERRUPTED;
  if (scratch) { /* its deletion's error, if any, in the default run's figures and message */
    int cerr = ferry__bench_scratch_close(scratch, 0);
    if (cerr && (!err || err == FERRY_E_INTERRUPTED)) {
      snprintf(out->message, sizeof(out->message), "%s", out->detail.message);
      if (!err) err = cerr;
    }
  }
  free(r);
  out->npoints = done;
  if (err && err != FERRY_E_INTERRUPTED) { /* the default run failed: the target's error */
    out->http_status = out->detail.http_status;
    snprintf(out->message, sizeof(out->message), "%s", out->detail.message);
    return out->error = err;
  }
  out->best = ferry__sweep_best(out->points, out->npoints);
  if (out->best >= 0 && out->points[0].mb_per_s > 0 && !out->points[0].error)
    out->default_share = out->points[0].mb_per_s / out->points[out->best].mb_per_s;
  if (err)
    snprintf(out->message, sizeof(out->message), "interrupted: the %zu point%s so far", done,
             done == 1 ? "" : "s");
  else if (out->best >= 0) verdict(o, out);
  return out->error = err;
}
