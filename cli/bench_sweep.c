/* bench_sweep: `ferry bench --sweep` on the command line: the value lists of --connections,
 * --streams and --chunk-size, progress naming the point, the table of points with the best
 * setting and the default's share of it, and the "sweep" object of --json (keys in README).
 * An upload sweep's points are its parts at once (--connections) alone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

/* The values between commas, each handed to take(); a list of one value is a plain value. */
static int each_value(const char *opt, const char *s, size_t cap, size_t *n,
                      int (*take)(const char *v, size_t i, void *ctx), void *ctx) {
  char buf[512];
  *n = 0;
  if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
    return cli_usage_error("bench", "--%s: the list is too long", opt);
  char *save = NULL;
  for (char *v = strtok_r(buf, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
    if (*n == cap && cap == 1)
      return cli_usage_error("bench", "--%s takes one value, not '%s': a list goes with --sweep",
                             opt, s);
    if (*n == cap) return cli_usage_error("bench", "--%s: at most %zu values", opt, cap);
    if (take(v, *n, ctx)) return cli_usage_error("bench", "--%s: '%s' is not a valid value "
                                                 "in '%s'", opt, v, s);
    (*n)++;
  }
  if (!*n || s[strlen(s) - 1] == ',' || s[0] == ',' || strstr(s, ",,"))
    return cli_usage_error("bench", "--%s: '%s' is not a list of values (N or N,N,...)", opt, s);
  return 0;
}

struct int_ctx { int lo, hi, *v; };
struct size_ctx { uint64_t lo, *v; };

static int take_int(const char *v, size_t i, void *ctx) {
  struct int_ctx *c = ctx;
  char *end = NULL;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (errno || end == v || *end || x < c->lo || x > c->hi) return -1;
  c->v[i] = (int)x;
  return 0;
}

static int take_size(const char *v, size_t i, void *ctx) {
  struct size_ctx *c = ctx;
  uint64_t x;
  if (cli_parse_size(v, &x) || x < c->lo) return -1;
  c->v[i] = x;
  return 0;
}

int cli_bench_int_list(const char *opt, const char *s, int lo, int hi, int *v, size_t cap,
                       size_t *n) {
  struct int_ctx c = {lo, hi, v};
  return each_value(opt, s, cap, n, take_int, &c);
}

int cli_bench_size_list(const char *opt, const char *s, uint64_t lo, uint64_t *v, size_t cap,
                        size_t *n) {
  struct size_ctx c = {lo, v};
  return each_value(opt, s, cap, n, take_size, &c);
}

/* "4 x 2, 8M"; an upload's point (streams and size not set): "4 parts" */
static const char *setting(const struct ferry_bench_point *p, char *buf, size_t cap) {
  char b[32];
  if (!p->streams) snprintf(buf, cap, "%d part%s", p->connections, p->connections == 1 ? "" : "s");
  else snprintf(buf, cap, "%d x %d, %s", p->connections, p->streams,
                cli_size_text((long long)p->chunk_size, b, sizeof(b)));
  return buf;
}

struct live {
  int on;
  char point[96];
};

static void on_point(void *user, size_t i, size_t n, const struct ferry_bench_point *p) {
  struct live *l = user;
  char s[64];
  snprintf(l->point, sizeof(l->point), "point %zu/%zu (%s%s)", i + 1, n,
           p->is_default ? "the default, " : "", setting(p, s, sizeof(s)));
}

static void on_progress(void *user, double seconds, double mb_per_s) {
  struct live *l = user;
  if (!l->on) return;
  fprintf(stderr, "\r\033[K  %s  %5.1f s  %9.1f MB/s", l->point, seconds, mb_per_s);
  fflush(stderr);
}

static json_t *json_point(const struct ferry_bench_point *p) {
  json_t *o = json_object();
  json_object_set_new(o, "default", json_boolean(p->is_default));
  json_object_set_new(o, "connections", json_integer(p->connections));
  /* an upload's points leave both to the engine and the Hub: null */
  json_object_set_new(o, "streams", p->streams ? json_integer(p->streams) : json_null());
  json_object_set_new(o, "chunk_size",
                      p->chunk_size ? json_integer((json_int_t)p->chunk_size) : json_null());
  json_object_set_new(o, "error", p->error ? json_string(ferry_err_name(p->error)) : json_null());
  json_object_set_new(o, "seconds", json_real(p->seconds));
  json_object_set_new(o, "settled", json_boolean(p->settled));
  json_object_set_new(o, "bytes", json_integer((json_int_t)p->bytes));
  json_object_set_new(o, "mb_per_s", json_real(p->mb_per_s));
  json_object_set_new(o, "gbit_per_s", json_real(p->gbit_per_s));
  json_object_set_new(o, "per_connection_mb_per_s", json_real(p->per_connection));
  json_object_set_new(o, "connections_peak", json_integer(p->connections_peak));
  json_object_set_new(o, "ttfb_p90_ms", json_real(p->ttfb_p90 * 1e3));
  json_object_set_new(o, "latency_p50_ms", json_real(p->latency_p50 * 1e3));
  json_object_set_new(o, "retries", json_integer((json_int_t)p->retries));
  json_object_set_new(o, "errors", json_integer(p->errors));
  json_object_set_new(o, "rounds", json_integer(p->rounds));
  json_object_set_new(o, "cpu_s_per_gb", json_real(p->cpu_s_per_gb));
  return o;
}

static json_t *json_sweep(const struct ferry_bench_sweep_result *r) {
  json_t *points = json_array();
  for (size_t i = 0; i < r->npoints; i++) json_array_append_new(points, json_point(&r->points[i]));
  json_t *o = json_object();
  json_object_set_new(o, "direction", json_string(r->detail.upload ? "upload" : "download"));
  json_object_set_new(o, "point_seconds", json_real(r->point_seconds));
  json_object_set_new(o, "points", points);
  json_object_set_new(o, "best", r->best >= 0 ? json_integer(r->best) : json_null());
  json_object_set_new(o, "default_share_of_best",
                      r->default_share > 0 ? json_real(r->default_share) : json_null());
  json_object_set_new(o, "cap_mb_per_s_per_connection",
                      r->cap_per_connection > 0 ? json_real(r->cap_per_connection) : json_null());
  json_object_set_new(o, "limit",
                      r->verdict[0] ? json_string(cli_bench_limit_names[r->limit]) : json_null());
  json_object_set_new(o, "verdict", r->verdict[0] ? cli_json_str(r->verdict) : json_null());
  return o;
}

static void print_sweep(const struct ferry_bench_sweep_result *r) {
  char s[64], b[32];
  int up = r->detail.upload;
  printf("\nsweep           %zu points of at most %.0f s (%s)\n", r->npoints, r->point_seconds,
         up ? "parts sent at once: --connections" : "connections x streams, request size");
  printf("  %-22s %10s %9s %10s %10s %11s\n", up ? "parts at once" : "conns x streams, size",
         "MB/s", "Gbit/s", "peak conns", "per conn", up ? "answer p90" : "TTFB p90");
  for (size_t i = 0; i < r->npoints; i++) {
    const struct ferry_bench_point *p = &r->points[i];
    char name[80];
    snprintf(name, sizeof(name), "%s%s", setting(p, s, sizeof(s)), p->is_default ? " (dflt)" : "");
    const char *mark = (int)i == r->best ? "<- best" : p->error ? ferry_err_name(p->error) : "";
    printf("  %-22s %10.1f %9.3f %10d %10.1f %8.1f ms%s%s\n", name, p->mb_per_s, p->gbit_per_s,
           p->connections_peak, p->per_connection, p->ttfb_p90 * 1e3, *mark ? "  " : "", mark);
  }
  if (r->best < 0) {
    printf("best            - (no point measured)\n");
    return;
  }
  const struct ferry_bench_point *best = &r->points[r->best];
  if (up)
    printf("best            --connections %d: %.1f MB/s (the cheapest within 5 %% of the "
           "fastest)\n", best->connections, best->mb_per_s);
  else
    printf("best            --connections %d --streams %d --chunk-size %s: %.1f MB/s (the "
           "cheapest within 5 %% of the fastest)\n", best->connections, best->streams,
           cli_size_text((long long)best->chunk_size, b, sizeof(b)), best->mb_per_s);
  if (r->default_share > 0)
    printf("default         %.1f MB/s, %.0f %% of the best\n", r->points[0].mb_per_s,
           r->default_share * 100);
  if (r->verdict[0]) printf("limit at best   %s\n", r->verdict);
}

/* The best point as the download defaults of the settings file, or an upload sweep's as its
 * upload object (the other values kept either way): 0, or an error with a line in why. */
static int save_best(const struct ferry_bench_sweep_result *r, struct ferry_settings *s,
                     char *why, size_t why_len) {
  int err = ferry_settings_load(s, why, why_len);
  if (err) return err;
  const struct ferry_bench_point *best = &r->points[r->best];
  char at[32] = "";
  time_t now = time(NULL);
  struct tm tm;
  if (gmtime_r(&now, &tm)) strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (r->detail.upload) { /* the top-level keys describe the download sweep: left alone */
    s->upload = (struct ferry_transfer_settings){.connections = best->connections};
    snprintf(s->upload_saved_at, sizeof(s->upload_saved_at), "%s", at);
    s->upload_mb_per_s = best->mb_per_s;
    return ferry_settings_save(s, why, why_len);
  }
  s->download = (struct ferry_transfer_settings){best->connections, best->streams,
                                                 best->chunk_size};
  snprintf(s->saved_by, sizeof(s->saved_by), "ferry bench --sweep");
  snprintf(s->saved_at, sizeof(s->saved_at), "%s", at);
  snprintf(s->target, sizeof(s->target), "%s", r->detail.target);
  s->mb_per_s = best->mb_per_s;
  return ferry_settings_save(s, why, why_len);
}

int cli_bench_sweep(struct ferry_bench_sweep_opts *o, const struct cli_hub_opts *hub, int live,
                    int save, const char *plot) {
  struct live l = {.on = live};
  o->point_cb = on_point;
  o->point_user = &l;
  o->bench.progress_cb = on_progress;
  o->bench.progress_user = &l;
  struct ferry_bench_sweep_result *r = malloc(sizeof(*r));
  if (!r) return cli_hub_finish(hub, NULL, FERRY_E_NOMEM, NULL);
  int err = ferry_bench_sweep(o, r);
  if (l.on) fprintf(stderr, "\r\033[K");
  int shown = r->npoints > 0 && (!err || err == FERRY_E_INTERRUPTED);
  /* Only a whole sweep's best is saved: an interrupted one has not seen every point. */
  struct ferry_settings s = {0};
  int saved = 0;
  if (save && !err && r->best >= 0) {
    err = save_best(r, &s, r->message, sizeof(r->message));
    saved = !err;
  } else if (save && !err) {
    err = FERRY_E_INVAL;
    snprintf(r->message, sizeof(r->message), "--save: no point was measured, nothing saved");
  }
  json_t *obj = NULL;
  if (shown && hub->json) {
    obj = cli_bench_json(&r->detail);
    json_t *sw = json_sweep(r);
    json_object_set_new(sw, "saved", saved ? cli_json_str(s.path) : json_null());
    json_object_set_new(obj, "sweep", sw);
  } else if (shown) {
    cli_bench_table(&r->detail, o->bench.engine);
    print_sweep(r);
    if (saved)
      printf("saved           into %s: the defaults of ferry %s (a flag still wins)\n",
             s.path, r->detail.upload ? "upload" : "get and download");
  }
  if (shown && plot) { /* the figures are printed either way; a plot that fails is the error */
    int perr = cli_bench_plot_sweep(plot, r, r->message, sizeof(r->message));
    if (perr && !err) err = perr;
    else if (!perr && !hub->json) printf("plot            %s\n", plot);
  }
  int rc = cli_hub_finish_status(hub, obj, err, r->message, r->http_status ? r->http_status : -1);
  free(r);
  return rc;
}
