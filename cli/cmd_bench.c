/* ferry bench: how fast a real download goes on this machine and link, and what limits it.
 * The measuring is the library's (ferry_bench_run); this file reads the command line, shows
 * progress, and prints the figures as a table or one JSON object (keys in README.md). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static const char *const sinks[] = {"disk", "null", NULL};
const char *const cli_bench_limit_names[] = {"network", "cpu", "disk", "server",
                                             "connection_cap"};

struct live {
  int on;
};

static void on_progress(void *user, double seconds, double mb_per_s) {
  struct live *l = user;
  if (!l->on) return;
  fprintf(stderr, "\r\033[K  %5.1f s  %9.1f MB/s", seconds, mb_per_s);
  fflush(stderr);
}

static double ms(double s) { return s * 1e3; }

json_t *cli_bench_json(const struct ferry_bench_result *r) {
  json_t *rates = json_array(), *conns = json_array();
  for (size_t i = 0; i < r->nrates; i++) json_array_append_new(rates, json_real(r->rates[i]));
  for (size_t i = 0; i < r->nconns; i++)
    json_array_append_new(conns, json_pack("{s:i, s:f}", "local_port", (int)r->conns[i].local_port,
                                           "mb_per_s", r->conns[i].mb_per_s));
  json_t *o = json_object();
  json_object_set_new(o, "target", r->has_download ? cli_json_str(r->target) : json_null());
  json_object_set_new(o, "mirror", r->mirror[0] ? cli_json_str(r->mirror) : json_null());
  json_object_set_new(o, "file", r->file[0] ? cli_json_str(r->file) : json_null());
  json_object_set_new(o, "file_size", json_integer((json_int_t)r->file_size));
  json_object_set_new(o, "direction", json_string(r->upload ? "upload" : "download"));
  json_object_set_new(o, "to", r->upload ? json_null() : json_string(r->to_null ? "null" : "disk"));
  json_object_set_new(o, "scratch_repo", r->scratch_repo[0] ? cli_json_str(r->scratch_repo)
                                                            : json_null());
  json_object_set_new(o, "objects_completed",
                      r->upload ? json_integer(r->objects_completed) : json_null());
  json_object_set_new(o, "dir", cli_json_str(r->dir));
  json_object_set_new(o, "grace_seconds", json_real(r->grace));
  json_object_set_new(o, "seconds", json_real(r->seconds));
  json_object_set_new(o, "settled", json_boolean(r->settled));
  json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes));
  json_object_set_new(o, "bytes_received", json_integer((json_int_t)r->bytes_all));
  json_object_set_new(o, "mb_per_s", json_real(r->mb_per_s));
  json_object_set_new(o, "gbit_per_s", json_real(r->gbit_per_s));
  json_object_set_new(o, "rates_mb_per_s", rates);
  json_object_set_new(o, "connections", conns);
  json_object_set_new(o, "connections_peak", json_integer(r->connections_peak));
  json_object_set_new(o, "requests", json_integer((json_int_t)r->nrequests));
  json_object_set_new(o, "requests_complete", json_integer((json_int_t)r->ncomplete));
  json_object_set_new(o, "ttfb_ms", json_pack("{s:f, s:f, s:f}", "p50", ms(r->ttfb_p50), "p90",
                                              ms(r->ttfb_p90), "p99", ms(r->ttfb_p99)));
  json_object_set_new(o, "latency_ms",
                      json_pack("{s:f, s:f, s:f}", "p50", ms(r->latency_p50), "p90",
                                ms(r->latency_p90), "p99", ms(r->latency_p99)));
  json_object_set_new(o, "rtt_ms", r->rtt > 0 ? json_real(ms(r->rtt)) : json_null());
  json_object_set_new(o, "retries", json_integer((json_int_t)r->retries));
  json_object_set_new(o, "errors", json_integer(r->errors));
  json_object_set_new(o, "rounds", json_integer(r->rounds));
  json_object_set_new(o, "cpu_seconds", json_real(r->cpu_seconds));
  json_object_set_new(o, "cpu_s_per_gb", json_real(r->cpu_s_per_gb));
  json_object_set_new(o, "peak_rss", json_integer((json_int_t)r->peak_rss));
  json_object_set_new(o, "edge", r->edge[0] ? cli_json_str(r->edge) : json_null());
  json_object_set_new(o, "stages",
                      json_pack("{s:f, s:i, s:f, s:f, s:f, s:f, s:f}", "sha256_mb_per_s_per_core",
                                r->sha256_per_core, "cores", r->cores, "disk_mb_per_s",
                                r->disk_mb_per_s, "tls_receive_mb_per_s", r->tls_mb_per_s,
                                "tls_receive_cpu_s_per_gb", r->tls_cpu_s_per_gb,
                                "sha256_cpu_s_per_gb", r->sha256_cpu_s_per_gb,
                                "write_cpu_s_per_gb", r->write_cpu_s_per_gb));
  json_object_set_new(json_object_get(o, "stages"), "tls_receive_bytes",
                      json_integer((json_int_t)r->tls_bytes));
  json_object_set_new(o, "cpu_shares",
                      json_pack("{s:f, s:f, s:f}", "sha256", r->share_sha256, "write",
                                r->share_write, "receive", r->share_receive));
  json_object_set_new(o, "limit", r->verdict[0] ? json_string(cli_bench_limit_names[r->limit]) : json_null());
  json_object_set_new(o, "verdict", r->verdict[0] ? cli_json_str(r->verdict) : json_null());
  return o;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* min / median / max of the connections' rates: all of them are in --json. */
static void print_connections(const struct ferry_bench_result *r) {
  double v[64];
  size_t n = r->nconns;
  for (size_t i = 0; i < n; i++) v[i] = r->conns[i].mb_per_s;
  qsort(v, n, sizeof(v[0]), cmp_double);
  if (!n) {
    printf("per connection  -\n");
    return;
  }
  printf("per connection  min %.1f  median %.1f  max %.1f MB/s  (%zu connections, up to %d at "
         "once)\n", v[0], v[n / 2], v[n - 1], n, r->connections_peak);
}

void cli_bench_table(const struct ferry_bench_result *r, const struct ferry_config *cfg) {
  char b[32];
  if (r->has_download) {
    printf("target          %s", r->target);
    if (r->file_size) printf(" (%s)", cli_fmt_bytes((double)r->file_size, b, sizeof(b)));
    if (r->mirror[0]) printf(" from the mirror %s", r->mirror);
    int conns = cfg->connections ? cfg->connections : 8, streams = cfg->streams ? cfg->streams : 2;
    if (r->upload) /* a part a request, as many at once as connections (ferry upload's rule) */
      printf("\nsink            upload (generated %s), %d part%s at once, %d round%s\n",
             r->scratch_repo[0] ? "LFS objects, multipart parts" : "parts, PUT", conns,
             conns == 1 ? "" : "s", r->rounds, r->rounds == 1 ? "" : "s");
    else
      printf("\nsink            %s, %d connection%s x %d stream%s, %d round%s\n",
             r->to_null ? "null (received and hashed, not written)"
                        : "disk (a temporary folder, removed)",
             conns, conns == 1 ? "" : "s", streams, streams == 1 ? "" : "s", r->rounds,
             r->rounds == 1 ? "" : "s");
    printf("measured        %.1f s after a %.1f s slow-start grace (%s)\n", r->seconds, r->grace,
           r->settled ? "stopped early: the last 3 one-second rates were within 5 %"
                      : "the full time");
    printf("goodput         %.1f MB/s  (%.3f Gbit/s), %s\n", r->mb_per_s, r->gbit_per_s,
           cli_fmt_bytes((double)r->bytes, b, sizeof(b)));
    print_connections(r);
    printf("%s p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  (%zu requests)\n",
           r->upload ? "answer         " : "TTFB           ", ms(r->ttfb_p50), ms(r->ttfb_p90),
           ms(r->ttfb_p99), r->nrequests);
    printf("request         p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  (%zu complete)\n",
           ms(r->latency_p50), ms(r->latency_p90), ms(r->latency_p99), r->ncomplete);
    if (r->rtt > 0) printf("RTT             %.2f ms (TCP handshake)\n", ms(r->rtt));
    else printf("RTT             - (no new connection)\n");
    printf("retries/errors  %llu / %d\n", (unsigned long long)r->retries, r->errors);
    printf("CPU             %.2f s/GB", r->cpu_s_per_gb);
    if (r->share_sha256 > 0 || r->share_receive > 0) /* from the stage runs below */
      printf(" (SHA-256 ≈ %.0f %%, writing ≈ %.0f %%, receiving ≈ %.0f %%: stage estimates)",
             r->share_sha256 * 100, r->share_write * 100, r->share_receive * 100);
    printf("\n");
    if (r->edge[0]) printf("edge            %s\n", r->edge);
    if (r->scratch_repo[0])
      printf("objects         %d sent whole and completed, %d started; %s %s\n",
             r->objects_completed, r->rounds, r->scratch_repo,
             r->scratch_left ? "NOT deleted (recorded: the next bench deletes it)"
                             : "deleted");
  } else {
    printf("no target: the local stages alone\n");
  }
  printf("peak RSS        %s\n", cli_fmt_bytes((double)r->peak_rss, b, sizeof(b)));
  if (r->sha256_per_core > 0) {
    printf("stage SHA-256   %.0f MB/s on one core (%d cores)\n", r->sha256_per_core, r->cores);
    printf("stage disk      %.0f MB/s, fsync'ed writes into %s (removed)\n", r->disk_mb_per_s,
           r->dir);
    if (r->tls_mb_per_s > 0)
      printf("stage receive   %.0f MB/s, %.2f s/GB of CPU: the same target, hash off, null sink\n",
             r->tls_mb_per_s, r->tls_cpu_s_per_gb);
  }
  if (r->verdict[0]) printf("limit           %s\n", r->verdict);
}

int cli_bench(int argc, char **argv) {
  struct ferry_bench_opts o = {0};
  struct ferry_config cfg = {0};
  struct cli_hub_opts hub = {0};
  const char *to = NULL, *uri_path = NULL, *conns = NULL, *streams = NULL, *chunks = NULL;
  const char *plot = NULL;
  int seconds = 0, sweep = 0, save = 0;
  const struct cli_opt opts[] = {
      CLI_HUB_REPO_TYPE(&hub),
      CLI_OPT_STR("revision", 0, &o.revision, "REV", "branch, tag or commit (main)"),
      CLI_OPT_ENUM("to", &to, sinks, "SINK",
                   "disk (default: a temporary folder, removed after)\nor null (received and "
                   "hashed, never written)"),
      CLI_OPT_STR("dir", 0, &o.dir, "DIR",
                  "where the temporary folder goes (default: the Hub\ncache, HF_HUB_CACHE)"),
      CLI_OPT_INT("seconds", &seconds, 1, 600, "N",
                  "at most N seconds (default 10; earlier once settled);\nwith --sweep: each "
                  "point's (default 100 s shared by\nthe points, 2 to 10 s each)"),
      CLI_OPT_FLAG("sweep", 0, &sweep,
                   "run the default, then every connections x streams x\nchunk-size point of "
                   "the lists below: a table and the\nbest setting (with --upload: --connections alone)"),
      CLI_OPT_FLAG("save", 0, &save,
                   "with --sweep: the best setting into $HF_HOME/ferry/\nconfig.json, the "
                   "defaults of get and download\n(with --upload: of upload)"),
      CLI_OPT_STR("plot", 0, &plot, "FILE.png",
                  "a PNG: goodput over time per connection and in\ntotal; with --sweep, against "
                  "requests in flight\nwith the stage limits (needs a build with cairo)"),
      CLI_OPT_STR("connections", 0, &conns, "LIST",
                  "TCP connections per host (default 8; --sweep:\n1,2,4,8,16)"),
      CLI_OPT_STR("streams", 0, &streams, "LIST",
                  "HTTP/2 streams per connection (default 2; --sweep:\n1,4)"),
      CLI_OPT_STR("chunk-size", 0, &chunks, "LIST",
                  "largest request (default 8M; --sweep: 8M)"),
      CLI_OPT_SIZE("max-memory", &cfg.max_memory, 4 << 20, "SIZE", "buffer budget (default 32M)"),
      CLI_OPT_SIZE("limit-rate", &cfg.limit_rate, 1, "RATE",
                   "total bandwidth cap in bytes/s (e.g. 50M)"),
      CLI_OPT_FLAG("http1.1", 0, &cfg.http11, "HTTP/1.1 only"),
      CLI_OPT_FLAG("upload", 0, &o.upload,
                   "measure an upload: generated LFS objects into a\nscratch repo (private, "
                   "deleted after; needs a write\ntoken), or parts PUT to the URL (no token sent)"),
      CLI_OPT_STR("mirror", 0, &o.mirror, "URL",
                  "a repo's file from a cluster's cache tier (FERRY_MIRROR)"),
      CLI_HUB_OPTIONS(&hub, "print only the result"),
      CLI_OPT_END};
  const struct cli_cmd cmd = {
      "bench", "[REPO_ID [FILENAME] | URL]",
      "How fast a real download goes here, and what limits it: the file (a repo's\nlargest, "
      "FILENAME, or the URL) goes through the engine as `ferry download`\nwould fetch it, into "
      "a temporary folder or nowhere (--to null), then SHA-256\nand the disk are measured alone "
      "and the limit is named. Without a target, the\nlocal stages alone. With --upload, an "
      "upload as `ferry upload` sends it.",
      opts, 0, 2, &uri_path};
  int nargs;
  int rc = cli_parse(&cmd, argc, argv, &nargs);
  if (rc != CLI_GO_ON) return rc;
  const char *target = nargs >= 1 ? argv[1] : NULL;
  if (o.upload && target && !strstr(target, "://"))
    return cli_usage_error("bench", "--upload makes its own scratch repo: give no REPO_ID (or "
                           "a URL to PUT to)");
  if (o.upload && (to || o.mirror))
    return cli_usage_error("bench", "--upload sends generated bytes: no %s",
                           to ? "--to" : "--mirror");
  if (target && strstr(target, "://")) {
    if (nargs > 1) return cli_usage_error("bench", "a URL takes no FILENAME ('%s')", argv[2]);
    if (hub.repo_type || o.revision)
      return cli_usage_error("bench", "--repo-type and --revision are for a REPO_ID, not a URL");
    if (strncmp(target, "http://", 7) && strncmp(target, "https://", 8))
      return cli_usage_error("bench", "'%s': only http:// and https:// URLs", target);
    o.url = target;
  } else if (target) {
    if (uri_path && nargs > 1)
      return cli_usage_error("bench", "give the file in the hf:// URI ('%s') or as FILENAME, "
                             "not both", uri_path);
    o.repo_id = target;
    o.filename = uri_path ? uri_path : nargs > 1 ? argv[2] : NULL;
  } else if (hub.repo_type || o.revision) {
    return cli_usage_error("bench", "--repo-type and --revision need a REPO_ID");
  }
  /* One value each, or with --sweep the lists of points. */
  int cv[FERRY_BENCH_SWEEP_MAX], sv[FERRY_BENCH_SWEEP_MAX];
  uint64_t kv[FERRY_BENCH_SWEEP_MAX];
  size_t nc = 0, ns = 0, nk = 0, cap = sweep ? FERRY_BENCH_SWEEP_MAX - 1 : 1;
  if ((conns && (rc = cli_bench_int_list("connections", conns, 1, 256, cv, cap, &nc))) ||
      (streams && (rc = cli_bench_int_list("streams", streams, 1, 256, sv, cap, &ns))) ||
      (chunks && (rc = cli_bench_size_list("chunk-size", chunks, 64 << 10, kv, cap, &nk))))
    return rc;
  if (save && !sweep) return cli_usage_error("bench", "--save goes with --sweep");
  if (sweep && o.upload && (ns || nk))
    return cli_usage_error("bench", "--upload --sweep varies --connections alone (the parts sent "
                           "at once): no %s (the Hub picks the part size; streams are not an "
                           "upload's)", ns ? "--streams" : "--chunk-size");
  if (plot && !target && !o.upload) /* an upload's target is its scratch repo */
    return cli_usage_error("bench", "--plot needs a target (REPO_ID or URL)");
  if (plot && !cli_bench_plot_available())
    return cli_usage_error("bench", "--plot: this ferry was built without cairo (install "
                           "libcairo2-dev and build again)");
  if (!sweep) {
    if (nc) cfg.connections = cv[0];
    if (ns) cfg.streams = sv[0];
    if (nk) cfg.chunk_size = kv[0];
  } else if (!target && !o.upload) {
    return cli_usage_error("bench", "--sweep needs a target (REPO_ID or URL)");
  } /* more points than a sweep takes: ferry_bench_sweep says so */
  o.repo_type = hub.repo_type, o.token = hub.token;
  o.to_null = to && !strcmp(to, "null");
  o.seconds = seconds;
  cfg.cacert = cli_cacert(hub.cacert, 1), cfg.insecure = hub.insecure, cfg.verbose = hub.verbose;
  struct cli_progress log;
  cli_progress_init(&log, 1);
  log.quiet = hub.quiet || hub.json;
  cfg.log_cb = cli_log;
  cfg.log_user = &log;
  cfg.stop = cli_stop_on_signals(); /* Ctrl-C: the figures so far */
  o.engine = &cfg;
  struct live live = {!hub.quiet && !hub.json && isatty(STDERR_FILENO)};
  o.progress_cb = on_progress;
  o.progress_user = &live;
  if (sweep) {
    struct ferry_bench_sweep_opts so = {.bench = o, .connections = nc ? cv : NULL,
                                        .nconnections = nc, .streams = ns ? sv : NULL,
                                        .nstreams = ns, .chunk_sizes = nk ? kv : NULL,
                                        .nchunk_sizes = nk};
    return cli_bench_sweep(&so, &hub, live.on, save, plot);
  }
  struct ferry_bench_result *r = malloc(sizeof(*r));
  if (!r) return cli_hub_finish(&hub, NULL, FERRY_E_NOMEM, NULL);
  int err = ferry_bench_run(&o, r);
  if (live.on) fprintf(stderr, "\r\033[K");
  int shown = !err || err == FERRY_E_INTERRUPTED;
  if (shown && !hub.json) cli_bench_table(r, &cfg);
  if (shown && plot) { /* the figures are printed either way; a plot that fails is the error */
    int perr = cli_bench_plot_run(plot, r, r->message, sizeof(r->message));
    if (perr && !err) err = perr;
    else if (!perr && !hub.json) printf("plot            %s\n", plot);
  }
  rc = cli_hub_finish_status(&hub, hub.json && shown ? cli_bench_json(r) : NULL, err, r->message,
                             r->http_status ? r->http_status : -1);
  free(r);
  return rc;
}
