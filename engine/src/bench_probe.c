/* bench_probe: what `ferry bench` learns from inside the engine while a real download runs:
 * bytes per connection (told apart by local port) as they arrive, each request's time to
 * first byte and duration, the TCP handshake of new connections (one round trip), and the
 * header naming the edge that served it. Read from libcurl's own timings when a request ends
 * (xfer.c's one release path), so the bench measures the engine instead of imitating it. */
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

void ferry__bench_xfer_end(struct ferry__bench_probe *p, struct ferry__xfer *x) {
  count(p, x);
  if (x->kind == FERRY__X_WHOLE) p->whole = 1;
  curl_off_t start_us = 0, sent_us = 0, total_us = 0, connect_us = 0, dns_us = 0;
  long connects = 0;
  curl_easy_getinfo(x->easy, CURLINFO_STARTTRANSFER_TIME_T, &start_us);
  curl_easy_getinfo(x->easy, CURLINFO_PRETRANSFER_TIME_T, &sent_us);
  curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total_us);
  curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
  curl_easy_getinfo(x->easy, CURLINFO_NAMELOOKUP_TIME_T, &dns_us);
  curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &connects);
  /* From the request sent to its first byte: the server's wait plus one round trip, without
   * the connection set-up (the RTT figure has that). */
  if (x->headers_done && start_us >= sent_us && start_us > 0 &&
      p->nttfb < FERRY__BENCH_MAX_SAMPLES)
    p->ttfb[p->nttfb++] = (double)(start_us - sent_us) / 1e6;
  /* Complete requests only: one cut by the stop or a split would look fast or slow. */
  if (x->end != FERRY__UNKNOWN && x->cursor == x->end && !x->done_early && total_us > 0 &&
      p->nlatency < FERRY__BENCH_MAX_SAMPLES)
    p->latency[p->nlatency++] = (double)total_us / 1e6;
  if (connects > 0 && connect_us > dns_us) { /* a new connection: SYN to SYN-ACK */
    double rtt = (double)(connect_us - dns_us) / 1e6;
    if (!p->rtt_samples || rtt < p->rtt_min) p->rtt_min = rtt;
    p->rtt_samples++;
  }
  if (x->headers_done) note_edge(p, x->easy);
}
