/* bench_probe: what `ferry bench` learns from inside the engine while a real download runs:
 * bytes per connection (told apart by local port) as they arrive, each request's time to
 * first byte and duration, the TCP handshake of new connections (one round trip), and the
 * header naming the edge that served it. Read from libcurl's own timings when a request ends
 * (xfer.c's one release path), so the bench measures the engine instead of imitating it. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bench.h"
#include "internal.h"

void ferry__bench_attach(struct ferry_engine *e, struct ferry__bench_probe *p) { e->bench = p; }

/* The slot of the connection behind local port `port`; the last slot takes the overflow. */
static size_t conn_slot(struct ferry__bench_probe *p, long port) {
  for (size_t i = 0; i < p->nconns; i++)
    if (p->conns[i].port == port) return i;
  if (p->nconns < FERRY__BENCH_MAX_CONNS) {
    p->conns[p->nconns].port = port;
    p->conns[p->nconns].bytes = 0;
    return p->nconns++;
  }
  return FERRY__BENCH_MAX_CONNS - 1;
}

/* Credits the bytes x received since it was last counted to its connection. */
static void count(struct ferry__bench_probe *p, struct ferry__xfer *x) {
  uint64_t got = x->cursor > x->start ? x->cursor - x->start : 0;
  if (got <= x->bench_counted) return;
  uint64_t delta = got - x->bench_counted;
  x->bench_counted = got;
  long port = 0;
  if (!p->measuring || curl_easy_getinfo(x->easy, CURLINFO_LOCAL_PORT, &port) != CURLE_OK ||
      port <= 0)
    return;
  size_t k = conn_slot(p, port);
  uint64_t now = uv_now(&x->e->loop);
  if (!p->conns[k].bytes) p->conns[k].first_ms = now;
  p->conns[k].bytes += delta;
  p->conns[k].last_ms = now;
}

void ferry__bench_sample(struct ferry_engine *e) {
  if (!e->bench) return;
  for (struct ferry__xfer *x = e->active; x; x = x->next) {
    count(e->bench, x);
    if (x->kind == FERRY__X_WHOLE) e->bench->whole = 1; /* seen at once, not at its end */
  }
}

/* An `x-...-pop` header (CloudFront's x-amz-cf-pop and the like), else Via or X-Cache. */
static int edge_rank(const char *name) {
  size_t n = strlen(name);
  if (n > 6 && !strncasecmp(name, "x-", 2) && !strcasecmp(name + n - 4, "-pop")) return 3;
  if (!strcasecmp(name, "via")) return 2;
  if (!strcasecmp(name, "x-cache")) return 1;
  return 0;
}

static void note_edge(struct ferry__bench_probe *p, CURL *h) {
  if (p->edge[0]) return;
  struct curl_header *hd, *prev = NULL;
  int best = 0;
  while ((hd = curl_easy_nextheader(h, CURLH_HEADER, -1, prev)) != NULL) {
    prev = hd;
    int r = edge_rank(hd->name);
    if (r > best) {
      best = r;
      snprintf(p->edge, sizeof(p->edge), "%s: %s", hd->name, hd->value);
    }
  }
}

/* A new connection's handshake (SYN to SYN-ACK), from libcurl's timings of a request. */
static void note_rtt(struct ferry__bench_probe *p, CURL *h) {
  curl_off_t connect_us = 0, dns_us = 0;
  long connects = 0;
  curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
  curl_easy_getinfo(h, CURLINFO_NAMELOOKUP_TIME_T, &dns_us);
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
  if (connects > 0 && connect_us > dns_us) {
    double rtt = (double)(connect_us - dns_us) / 1e6;
    if (!p->rtt_samples || rtt < p->rtt_min) p->rtt_min = rtt;
    p->rtt_samples++;
  }
}

void ferry__bench_put_end(struct ferry__bench_probe *p, void *easy, uint64_t start_ms,
                          uint64_t end_ms, uint64_t bytes, double answer_s) {
  CURL *h = easy;
  note_rtt(p, h);
  long port = 0;
  if (!p->measuring || !bytes) return;
  if (curl_easy_getinfo(h, CURLINFO_LOCAL_PORT, &port) == CURLE_OK && port > 0) {
    size_t k = conn_slot(p, port);
    if (!p->conns[k].bytes || start_ms < p->conns[k].first_ms) p->conns[k].first_ms = start_ms;
    p->conns[k].bytes += bytes;
    if (end_ms > p->conns[k].last_ms) p->conns[k].last_ms = end_ms;
  }
  curl_off_t total_us = 0;
  curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total_us);
  if (answer_s >= 0 && p->nttfb < FERRY__BENCH_MAX_SAMPLES) p->ttfb[p->nttfb++] = answer_s;
  if (total_us > 0 && p->nlatency < FERRY__BENCH_MAX_SAMPLES)
    p->latency[p->nlatency++] = (double)total_us / 1e6;
  note_edge(p, h);
}

void ferry__bench_xfer_end(struct ferry__bench_probe *p, struct ferry__xfer *x) {
  count(p, x);
  if (x->kind == FERRY__X_WHOLE) p->whole = 1;
  curl_off_t start_us = 0, sent_us = 0, total_us = 0;
  curl_easy_getinfo(x->easy, CURLINFO_STARTTRANSFER_TIME_T, &start_us);
  curl_easy_getinfo(x->easy, CURLINFO_PRETRANSFER_TIME_T, &sent_us);
  curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total_us);
  /* From the request sent to its first byte: the server's wait plus one round trip, without
   * the connection set-up (the RTT figure has that). */
  if (x->headers_done && start_us >= sent_us && start_us > 0 &&
      p->nttfb < FERRY__BENCH_MAX_SAMPLES)
    p->ttfb[p->nttfb++] = (double)(start_us - sent_us) / 1e6;
  /* Complete requests only: one cut by the stop or a split would look fast or slow. */
  if (x->end != FERRY__UNKNOWN && x->cursor == x->end && !x->done_early && total_us > 0 &&
      p->nlatency < FERRY__BENCH_MAX_SAMPLES)
    p->latency[p->nlatency++] = (double)total_us / 1e6;
  note_rtt(p, x->easy);
  if (x->headers_done) note_edge(p, x->easy);
}

void ferry__bench_probe_second(struct ferry__bench_probe *p, double dt) {
  if (p->nseries >= FERRY_BENCH_SERIES || dt <= 0) return;
  for (size_t i = 0; i < p->nconns && i < FERRY__BENCH_MAX_CONNS; i++) {
    uint64_t b = p->conns[i].bytes;
    p->series[i][p->nseries] = (float)((double)(b - p->series_bytes[i]) / 1e6 / dt);
    p->series_bytes[i] = b;
  }
  p->nseries++;
}

void ferry__bench_probe_figures(struct ferry__bench_probe *p, struct ferry_bench_result *out) {
  if (out->seconds > 0) {
    out->mb_per_s = (double)out->bytes / 1e6 / out->seconds;
    out->gbit_per_s = (double)out->bytes * 8 / 1e9 / out->seconds;
    /* A connection's rate over the time it carried bytes (at least 100 ms: one tick), so
     * the connections of a short round are not diluted by the whole window. */
    for (size_t i = 0; i < p->nconns && out->nconns < 64; i++) {
      if (!p->conns[i].bytes) continue;
      double span = (double)(p->conns[i].last_ms - p->conns[i].first_ms) / 1e3;
      if (span < 0.1) span = 0.1;
      if (span > out->seconds) span = out->seconds;
      memcpy(out->conn_series[out->nconns], p->series[i], sizeof(p->series[i]));
      out->conns[out->nconns++] = (struct ferry_bench_conn){
          p->conns[i].port, (double)p->conns[i].bytes / 1e6 / span};
    }
  }
  out->nseries = p->nseries;
  if (out->bytes) out->cpu_s_per_gb = out->cpu_seconds / ((double)out->bytes / 1e9);
  out->nrequests = p->nttfb;
  out->ncomplete = p->nlatency;
  out->ttfb_p50 = ferry__bench_percentile(p->ttfb, p->nttfb, 50);
  out->ttfb_p90 = ferry__bench_percentile(p->ttfb, p->nttfb, 90);
  out->ttfb_p99 = ferry__bench_percentile(p->ttfb, p->nttfb, 99);
  out->latency_p50 = ferry__bench_percentile(p->latency, p->nlatency, 50);
  out->latency_p90 = ferry__bench_percentile(p->latency, p->nlatency, 90);
  out->latency_p99 = ferry__bench_percentile(p->latency, p->nlatency, 99);
  out->rtt = p->rtt_min;
  snprintf(out->edge, sizeof(out->edge), "%s", p->edge);
}
