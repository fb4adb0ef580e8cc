/* xfer: one HTTP request for one byte range of a file.
 *
 * The header callback records what the response says; the body callback checks the
 * response once (status, Content-Range, validator) before the first byte is used, then
 * copies bytes into blocks that go to the writer. Completion (ferry__xfer_done) runs in the
 * drain step, outside libcurl, and decides: done, retry later, restart the file, or fail. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include "bench.h"
#include "internal.h"
#include "control.h"
#include "http_parse.h"
#include "plan.h"
#include "retry.h"

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* What ferry accepts of one response's headers, all lines together; libcurl 7.88 itself
 * refuses a single line over 100 KiB, reporting it as out of memory. */
#define MAX_HEADER_BYTES (256u << 10)

static void reset_response(struct ferry__xfer *x) {
  x->status = 0;
  x->header_bytes = 0;
  x->length_bad = 0;
  x->headers_done = 0;
  x->has_cr = 0;
  x->content_length = -1;
  x->etag[0] = 0;
  x->last_modified[0] = 0;
  x->error_code[0] = 0;
  x->error_message[0] = 0;
  x->encoded = 0;
  ferry__retry_hint_init(&x->hint);
}

static void copy_value(char *dst, size_t cap, const char *v, size_t len) {
  if (len >= cap) len = cap - 1;
  memcpy(dst, v, len);
  dst[len] = 0;
}

static size_t on_header(char *buf, size_t size, size_t n, void *userp) {
  struct ferry__xfer *x = userp;
  size_t len = size * n;
  x->last_progress_ms = uv_now(&x->e->loop);
  x->window_bytes += len;
  int st = ferry__parse_status_line(buf, len);
  if (st >= 0) {
    reset_response(x);
    x->status = st;
    x->header_bytes = len;
    return len;
  }
  if ((x->header_bytes += len) > MAX_HEADER_BYTES) {
    x->verdict = FERRY_E_PROTOCOL;
    snprintf(x->reason, sizeof(x->reason), "response headers larger than %u KiB",
             MAX_HEADER_BYTES >> 10);
    return 0;
  }
  const char *name, *val;
  size_t nl, vl;
  if (ferry__split_header(buf, len, &name, &nl, &val, &vl) != 0) {
    if (x->status >= 200) x->headers_done = 1; /* the blank line after a final status */
    return len;
  }
  if (ferry__header_is(name, nl, "content-range")) {
    x->has_cr = ferry__parse_content_range(val, vl, &x->cr) == 0;
    if (!x->has_cr) x->has_cr = -1; /* present but malformed */
  } else if (ferry__header_is(name, nl, "content-length")) {
    /* A length that does not parse (or overflows), or a second one that differs, makes the
     * answer's end unknowable: refused, never read to EOF as if no length were given. */
    uint64_t v;
    if (ferry__parse_u64(val, vl, &v) != 0 || v > INT64_MAX ||
        (x->content_length >= 0 && (uint64_t)x->content_length != v))
      x->length_bad = 1;
    else
      x->content_length = (int64_t)v;
  } else if (ferry__header_is(name, nl, "etag")) {
    copy_value(x->etag, sizeof(x->etag), val, vl);
  } else if (ferry__header_is(name, nl, "last-modified")) {
    copy_value(x->last_modified, sizeof(x->last_modified), val, vl);
  } else if (ferry__header_is(name, nl, "content-encoding")) {
    x->encoded = !(vl == 8 && strncasecmp(val, "identity", 8) == 0);
  } else if (ferry__header_is(name, nl, "retry-after") || ferry__header_is(name, nl, "ratelimit")) {
    ferry__retry_hint_header(&x->hint, name, nl, val, vl, time(NULL));
  } else if (ferry__header_is(name, nl, "x-error-code")) {
    copy_value(x->error_code, sizeof(x->error_code), val, vl);
  } else if (ferry__header_is(name, nl, "x-error-message")) {
    copy_value(x->error_message, sizeof(x->error_message), val, vl);
  }
  return len;
}

/* The validator a response carries, as the job stores it. */
static const char *response_validator(const struct ferry__xfer *x, int *is_etag) {
  if (x->etag[0] && strncmp(x->etag, "W/", 2) != 0) {
    *is_etag = 1;
    return x->etag;
  }
  *is_etag = 0;
  return x->last_modified;
}

/* Checks a 200/206 answer before its first byte is used. Returns 0 to accept it. */
static int check_response(struct ferry__xfer *x) {
  struct ferry__job *j = x->job;
  if (x->length_bad) {
    x->verdict = FERRY_E_PROTOCOL;
    snprintf(x->reason, sizeof(x->reason), "unparseable or conflicting Content-Length");
    return -1;
  }
  /* One range's Content-Length is its span (RFC 9110 14.4), or one of the two lies; on
   * HTTP/1.1 the bytes past a short length would be read as the next answer. */
  if (x->status == 206 && x->has_cr == 1 && !x->encoded && x->content_length >= 0 &&
      x->cr.last >= x->cr.first &&
      (uint64_t)x->content_length != (uint64_t)(x->cr.last - x->cr.first) + 1) {
    x->verdict = FERRY_E_PROTOCOL;
    snprintf(x->reason, sizeof(x->reason),
             "Content-Length %lld does not match Content-Range %lld-%lld",
             (long long)x->content_length, (long long)x->cr.first, (long long)x->cr.last);
    return -1;
  }
  if (x->kind == FERRY__X_PROBE) return ferry__job_on_probe(j, x);
  if (x->kind == FERRY__X_WHOLE) return 0;
  int is_etag;
  const char *v = response_validator(x, &is_etag);
  if (j->validator[0] && strcmp(v, j->validator) != 0 && !j->immutable) {
    x->verdict = FERRY_E_CHANGED;
    return -1;
  }
  if (x->status == 200) {
    /* A ranged request answered in full: with an unchanged validator the server stopped
     * honouring Range; without a validator we cannot tell, so treat it as a change (bytes
     * that never change cannot have). */
    x->verdict = j->validator[0] || j->immutable ? FERRY_E_HTTP_RETRY : FERRY_E_CHANGED;
    return -1;
  }
  if (x->has_cr != 1 || x->encoded) {
    x->verdict = FERRY_E_PROTOCOL;
    return -1;
  }
  if (x->cr.total != (int64_t)j->size) {
    x->verdict = FERRY_E_CHANGED;
    return -1;
  }
  if (x->cr.first != (int64_t)x->start || x->cr.last < x->cr.first) {
    x->verdict = FERRY_E_PROTOCOL;
    return -1;
  }
  uint64_t got_end = (uint64_t)x->cr.last + 1;
  if (got_end < x->end) { /* the server sent less than asked: the rest goes back */
    if (ferry__ivset_add(&j->unassigned, got_end, x->end)) {
      x->verdict = FERRY_E_NOMEM;
      return -1;
    }
    ferry__budget_release(&x->e->budget, min_u64(x->charged, x->end - got_end));
    x->charged -= min_u64(x->charged, x->end - got_end);
    x->end = got_end;
  }
  return 0;
}

/* The size of the block that receives a request's bytes from `offset` on: a full block, or a
 * quarter for a file whose requests are slow (control.c, ferry__ctl_block_size). A large
 * file's request ends on any 64 KiB, and its last block, sized to fit, came from malloc on top
 * of the arena's resident slots: peak RSS ran 5-13 MiB over the budget's 32 (69 MiB once on
 * `cdn`). It takes the arena's unit instead (budget.c). A small file's block stays its size:
 * thousands of them are in flight on a dataset, counted by what they hold. */
static size_t block_cap(const struct ferry__xfer *x, uint64_t offset) {
  uint64_t bs = min_u64(x->block, x->e->budget.block_size);
  uint64_t want = x->end == FERRY__UNKNOWN ? bs : x->end - offset;
  size_t cap = (size_t)ferry__round_up(min_u64(want, bs));
  const struct ferry__job *j = x->job;
  if (!j->size_known || j->size >= FERRY__SMALL_FILE) cap = ferry__budget_unit(&x->e->budget, cap);
  return cap;
}

/* Opens the block that receives the request's bytes from `offset` on, charged to the budget
 * now that bytes arrive (out of the first block's promise, for the first). 0, or
 * FERRY_E_NOMEM. */
static int open_block(struct ferry__xfer *x, uint64_t offset) {
  struct ferry_engine *e = x->e;
  size_t cap = block_cap(x, offset);
  if (x->charged >= cap) {
    x->charged -= cap;
  } else {
    ferry__budget_reserve(&e->budget, cap - x->charged);
    x->charged = 0;
  }
  x->blk = ferry__block_new(e, x->job, offset, cap);
  x->blk_since_ms = uv_now(&e->loop);
  return x->blk ? 0 : FERRY_E_NOMEM;
}

/* The request's block is full, more bytes follow, and no other block fits the budget (the
 * disk or the hasher is behind): the block is written now on the loop thread (no socket is
 * read meanwhile: TCP holds the server back) and filled again with the next bytes. 0, or
 * the verdict set. */
static int write_block_now(struct ferry__xfer *x, struct ferry__block *b) {
  struct ferry_engine *e = x->e;
  uint64_t began = uv_hrtime();
  int err = ferry__block_write_now(b, x->reason, sizeof(x->reason));
  ferry__budget_note_write(&e->budget, began, uv_hrtime());
  if (err) {
    x->verdict = err;
    x->cursor = b->offset; /* those bytes are not on disk */
    x->blk = NULL;
    ferry__block_free(e, b);
    return err;
  }
  if (e->cfg.verbose)
    ferry__log(e, "bytes %llu-%llu of %s: written on the loop thread (memory budget full: "
               "charged %llu of %llu KiB)", (unsigned long long)b->offset,
               (unsigned long long)(b->offset + b->len - 1), x->job->path,
               (unsigned long long)e->budget.charged >> 10,
               (unsigned long long)e->budget.limit >> 10);
  b->offset = x->cursor;
  b->len = 0;
  ferry__xxh3_reset(&b->xst);
  x->blk_since_ms = uv_now(&e->loop);
  return 0;
}

/* The first byte of an accepted answer: its round trip, and the start of its rate. */
static void first_byte(struct ferry__xfer *x) {
  curl_off_t lookup = 0, connect = 0, sent = 0, first = 0;
  curl_easy_getinfo(x->easy, CURLINFO_NAMELOOKUP_TIME_T, &lookup);
  curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &connect);
  curl_easy_getinfo(x->easy, CURLINFO_PRETRANSFER_TIME_T, &sent);
  curl_easy_getinfo(x->easy, CURLINFO_STARTTRANSFER_TIME_T, &first);
  double rtt = ferry__ctl_rtt_sample(lookup, connect, sent, first);
  struct ferry__job *j = x->job;
  if (rtt > 0 && (j->rtt_s <= 0 || rtt < j->rtt_s)) j->rtt_s = x->e->rtt_s = rtt;
  x->first_byte_ns = uv_hrtime();
  long opened = 0; /* connections this transfer made (libcurl counts from its start) */
  curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &opened);
  x->opened_connection = opened > 0;
  uint64_t waited_ns = first > sent && sent >= 0 ? (uint64_t)(first - sent) * 1000 : 0;
  x->sent_ns = x->first_byte_ns > waited_ns ? x->first_byte_ns - waited_ns : x->first_byte_ns;
  /* -v: a first byte that came late, and where the time went (a lost SYN costs a second) */
  if (x->e->cfg.verbose && first > 500000)
    ferry__log(x->e, "a late first byte: bytes %llu- of %s after %.2f s (connected at %.2f s, "
               "sent at %.2f s)", (unsigned long long)x->start, j->path, (double)first / 1e6,
               (double)connect / 1e6, (double)sent / 1e6);
}

/* A request ends: the rate it showed, from the moment it went out to its last byte. Not from
 * its first byte: a request whose answer waited in the socket (the loop busy writing, other
 * streams of its connection served first) would show the rate of a memory copy, and the
 * requests sized from it would be far larger than the path needs. */
static void note_rate(struct ferry__xfer *x) {
  if (!x->first_byte_ns || x->kind == FERRY__X_WHOLE) return;
  struct ferry__job *j = x->job;
  double s = (double)(uv_hrtime() - x->sent_ns) / 1e9;
  j->stream_bps = ferry__ctl_rate_update(j->stream_bps, x->cursor - x->start, s);
  if (j->stream_bps > 0) x->e->stream_bps = j->stream_bps;
}

static size_t on_body(char *ptr, size_t size, size_t n, void *userp) {
  struct ferry__xfer *x = userp;
  struct ferry_engine *e = x->e;
  struct ferry__job *j = x->job;
  size_t len = size * n;
  x->last_progress_ms = uv_now(&e->loop);
  x->window_bytes += len;
  if (x->status != 200 && x->status != 206) return len; /* redirect or error page: dropped */
  if (ferry__job_draining(j) || e->stopping || x->cancelled) return 0;
  if (!x->checked) {
    x->checked = 1;
    if (check_response(x) != 0) return 0;
    first_byte(x);
  }
  e->st.bytes_received += len;
  size_t take = len;
  if (x->end != FERRY__UNKNOWN && x->cursor + take > x->end) {
    take = (size_t)(x->end - x->cursor);
    x->done_early = 1;
    e->st.bytes_refetched += len - take;
  }
  while (take) {
    if (!x->blk && open_block(x, x->cursor) != 0) {
      x->verdict = FERRY_E_NOMEM;
      return 0;
    }
    struct ferry__block *b = x->blk;
    size_t c = b->cap - b->len;
    if (c > take) c = take;
    memcpy(b->data + b->len, ptr, c);
    ferry__xxh3_update(&b->xst, b->data + b->len, c);
    b->len += c;
    x->cursor += c;
    ptr += c;
    take -= c;
    if (x->cursor == x->end) {
      x->blk = NULL;
      ferry__block_submit(b);
    } else if (b->len == b->cap && (ferry__hash_make_room(e, block_cap(x, x->cursor), 0) ||
                                    j->discard)) {
      /* To a writer; the next block is taken now, while the budget has room for it (kept
       * blocks may go for it: the hasher reads them back from the file). The null sink's
       * blocks cannot be written and read back by the hasher: they wait in memory for it
       * (a bench's, past the budget when the hasher is behind). */
      x->blk = NULL;
      ferry__block_submit(b);
      if (open_block(x, x->cursor) != 0) {
        x->verdict = FERRY_E_NOMEM;
        return 0;
      }
    } else if (b->len == b->cap && write_block_now(x, b) != 0) {
      return 0;
    }
  }
  return x->done_early ? 0 : len;
}

static curl_socket_t on_open_socket(void *userp, curlsocktype purpose,
                                    struct curl_sockaddr *addr) {
  struct ferry_engine *e = userp;
  (void)purpose;
  curl_socket_t fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
  if (fd != CURL_SOCKET_BAD) {
    e->st.connections_opened++;
    if (++e->st.connections_open > e->st.connections_peak)
      e->st.connections_peak = e->st.connections_open;
  }
  return fd;
}

static int on_close_socket(void *userp, curl_socket_t fd) {
  struct ferry_engine *e = userp;
  e->st.connections_open--;
  return close(fd);
}

/* Same scheme, host and port: where Authorization may go. */
static int same_origin(const char *a, const char *b) {
  char oa[FERRY__ORIGIN_MAX], ob[FERRY__ORIGIN_MAX];
  return ferry__url_origin(a, oa, sizeof(oa)) == 0 && ferry__url_origin(b, ob, sizeof(ob)) == 0 &&
         strcmp(oa, ob) == 0;
}

static struct curl_slist *copy_list(struct curl_slist *src, struct curl_slist *dst) {
  for (; src; src = src->next) {
    struct curl_slist *n = curl_slist_append(dst, src->data);
    if (!n) {
      curl_slist_free_all(dst);
      return NULL;
    }
    dst = n;
  }
  return dst;
}

/* TLS 1.3 suites in the order ferry offers them: AES-128-GCM first, which costs both ends
 * less CPU than OpenSSL's default first choice (AES-256-GCM), with the same guarantees
 * that matter here. Certificate checks are untouched. */
static CURLcode on_ssl_ctx(CURL *h, void *ctx, void *userp) {
  (void)h;
  (void)userp;
  SSL_CTX_set_ciphersuites(
      (SSL_CTX *)ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
  return CURLE_OK;
}

void ferry__easy_common(struct ferry_engine *e, CURL *h) {
  const struct ferry_config *c = &e->cfg;
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, e);
  curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
  curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, e);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* redirects are ours: see job.c */
  curl_easy_setopt(h, CURLOPT_USERAGENT, "ferry/" FERRY_VERSION);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)c->connect_timeout);
  curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  /* Through a proxy (HTTPS_PROXY, as libcurl reads it) the proxy's answer to CONNECT is not
   * the server's: kept from the header callbacks, which took its "200 Connection
   * established" for the server's status (a TLS failure behind it then read as an outage). */
  curl_easy_setopt(h, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  long ver = CURL_HTTP_VERSION_2TLS;
  if (c->http11) ver = CURL_HTTP_VERSION_1_1;
  else if (c->h2c) ver = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, ver);
  /* libcurl 7.88 breaks when it reuses an h2c connection (curl issue #10634). */
  if (c->h2c) curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
  if (e->cacert) curl_easy_setopt(h, CURLOPT_CAINFO, e->cacert);
  curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
  if (c->insecure) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
}

static void setup_easy(struct ferry__xfer *x) {
  struct ferry_engine *e = x->e;
  const struct ferry_config *c = &e->cfg;
  CURL *h = x->easy;
  ferry__easy_common(e, h);
  curl_easy_setopt(h, CURLOPT_PRIVATE, (char *)x);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "identity");
  /* 64 KiB: larger receive buffers measured no faster and cost RSS per request. */
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 64L * 1024);
  if (c->limit_rate) {
    curl_off_t per = (curl_off_t)(c->limit_rate / (uint64_t)(e->max_inflight ? e->max_inflight : 1));
    curl_easy_setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE, per > 1024 ? per : (curl_off_t)1024);
  }
}

int ferry__xfer_start(struct ferry__job *j, int kind, uint64_t start, uint64_t end, int attempt) {
  struct ferry_engine *e = j->e;
  struct ferry__xfer *x = calloc(1, sizeof(*x));
  if (!x) return FERRY_E_NOMEM;
  x->tag = FERRY__TAG_XFER;
  x->e = e;
  x->job = j;
  x->kind = kind;
  x->start = x->cursor = start;
  x->end = end;
  x->attempt = attempt;
  x->last_progress_ms = x->window_start_ms = uv_now(&e->loop);
  reset_response(x);
  x->easy = curl_easy_init();
  const char *url = j->final_url ? j->final_url : j->url;
  x->via_redirect = j->final_url != NULL;
  x->url_gen = j->url_gen;
  struct curl_slist *base = j->final_other_origin ? j->hdrs_other : j->hdrs_first;
  x->req_headers = copy_list(base, NULL);
  int ok = x->easy != NULL && (base == NULL || x->req_headers != NULL);
  if (ok && kind == FERRY__X_RANGE && j->validator[0] && !j->immutable) {
    /* Pin the object: a changed file answers 412 instead of mixing versions. */
    char h[300];
    snprintf(h, sizeof(h), "%s: %s", j->validator_is_etag ? "If-Match" : "If-Unmodified-Since",
             j->validator);
    struct curl_slist *n = curl_slist_append(x->req_headers, h);
    ok = n != NULL;
    if (n) x->req_headers = n;
  }
  if (!ok) {
    if (x->easy) curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->req_headers);
    free(x);
    return FERRY_E_NOMEM;
  }
  setup_easy(x);
  /* the level's other connections open beside a probe where the bytes come from (warmup.c) */
  if (kind == FERRY__X_PROBE && (!j->url_redirects || j->final_url) &&
      ferry__warm_for_probe(e, url, x->req_headers, j->expected_size) > 0)
    curl_easy_setopt(x->easy, CURLOPT_PIPEWAIT, 0L); /* its own connection, beside theirs */
  curl_easy_setopt(x->easy, CURLOPT_URL, url);
  curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->req_headers);
  if (kind != FERRY__X_WHOLE) {
    char range[64];
    snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)start,
             (unsigned long long)(end - 1));
    curl_easy_setopt(x->easy, CURLOPT_RANGE, range);
  }
  /* Bytes in flight are not memory: the request is promised its first block, no more. */
  x->block = ferry__ctl_block_size(j->stream_bps, e->budget.block_size);
  x->charged = block_cap(x, start);
  ferry__budget_reserve(&e->budget, x->charged);
  CURLMcode mc = curl_multi_add_handle(e->multi, x->easy);
  if (mc != CURLM_OK) {
    ferry__budget_release(&e->budget, x->charged);
    curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->req_headers);
    free(x);
    return FERRY_E_INTERNAL;
  }
  x->next = e->active;
  if (e->active) e->active->prev = x;
  e->active = x;
  e->nactive++;
  j->active_xfers++;
  e->st.requests++;
  ferry__conc_on_request(e, x->charged,
                         end == FERRY__UNKNOWN ? e->budget.block_size : end - start);
  e->st.requests_active = e->nactive;
  if (e->cfg.verbose)
    ferry__log(e, "request #%llu %s bytes %llu-%llu of %s (attempt %d)",
               (unsigned long long)e->st.requests,
               kind == FERRY__X_PROBE ? "probe" : kind == FERRY__X_RANGE ? "range" : "whole",
               (unsigned long long)start, (unsigned long long)(end - 1), j->path, attempt);
  return 0;
}

/* Unlinks the request from the engine and frees it. A partly filled block still holds good
 * bytes (they arrived in order from `start`), so it is written unless the file is being
 * thrown away. */
static void xfer_release(struct ferry__xfer *x, int keep_partial) {
  struct ferry_engine *e = x->e;
  struct ferry__job *j = x->job;
  if (e->bench) ferry__bench_xfer_end(e->bench, x); /* its timings before they go */
  curl_multi_remove_handle(e->multi, x->easy);
  curl_easy_cleanup(x->easy);
  curl_slist_free_all(x->req_headers);
  if (x->blk) {
    if (keep_partial && x->blk->len) {
      ferry__block_submit(x->blk);
    } else {
      ferry__block_free(e, x->blk);
    }
    x->blk = NULL;
  }
  ferry__budget_release(&e->budget, x->charged);
  if (x->prev) x->prev->next = x->next;
  else e->active = x->next;
  if (x->next) x->next->prev = x->prev;
  e->nactive--;
  e->st.requests_active = e->nactive;
  j->active_xfers--;
  free(x);
}

/* A slow request's partly filled block is written and journaled once it has been filling for
 * FLUSH_AFTER_MS: a kill -9 then loses at most that much of the request's bytes instead of up
 * to a whole block (the soak of issue 13 refetched 11.5 MiB per kill, a block per request in
 * flight). The cut is at a 4 KiB boundary, so O_DIRECT still applies to both parts; the bytes
 * after it move to the request's next block. Fast requests fill a block long before this. */
#define FLUSH_AFTER_MS 500
#define FLUSH_MIN (64u << 10)

/* Each request's rate over the last tick, beside its rate since its first byte: a new
 * connection's slow start weighs on the second long after the first says what the request
 * gets now (control.c ferry__ctl_rate_now). */
#define RATE_TICK_NS 200000000u /* shorter than the watchdog's 250 ms: every tick samples */

void ferry__xfer_sample_rates(struct ferry_engine *e) {
  uint64_t now = uv_hrtime();
  for (struct ferry__xfer *x = e->active; x; x = x->next) {
    if (!x->first_byte_ns) continue;
    if (!x->mark_ns) { /* the first byte is the first mark */
      x->mark_ns = x->first_byte_ns;
      x->mark_cursor = x->start;
    }
    if (now - x->mark_ns < RATE_TICK_NS) continue;
    x->now_bps = (double)(x->cursor - x->mark_cursor) / ((double)(now - x->mark_ns) / 1e9);
    x->mark_ns = now;
    x->mark_cursor = x->cursor;
  }
}

void ferry__xfer_flush_slow_blocks(struct ferry_engine *e) {
  uint64_t now = uv_now(&e->loop);
  for (struct ferry__xfer *x = e->active; x; x = x->next) {
    struct ferry__block *b = x->blk;
    if (!b || now - x->blk_since_ms < FLUSH_AFTER_MS || x->job->jfd < 0) continue;
    size_t keep = b->len / FERRY__DIO_ALIGN * FERRY__DIO_ALIGN, rest = b->len - keep;
    if (keep < FLUSH_MIN || !ferry__budget_fits(&e->budget, block_cap(x, b->offset + keep)))
      continue;
    x->blk = NULL;
    if (open_block(x, b->offset + keep) != 0) { /* no memory now: it stays whole */
      x->blk = b;
      continue;
    }
    memcpy(x->blk->data, b->data + keep, rest);
    ferry__xxh3_update(&x->blk->xst, x->blk->data, rest);
    x->blk->len = rest;
    b->len = keep;
    ferry__xxh3_reset(&b->xst); /* the journal's XXH3 covers what is written */
    ferry__xxh3_update(&b->xst, b->data, keep);
    ferry__log(e, "bytes %llu-%llu of %s: written early (a slow request)",
               (unsigned long long)b->offset, (unsigned long long)(b->offset + keep - 1),
               x->job->path);
    ferry__block_submit(b);
  }
}

/* The engine's stall watchdog. A request is stalled when nothing arrived for the stall time
 * (the time of the last byte, found sooner than libcurl's averaged low-speed check), or when
 * what arrived over the last stall window (headers count) is under the low-speed limit: a
 * server trickling a byte a second would otherwise hold a request forever. */
void ferry__xfer_check_stalls(struct ferry_engine *e) {
  uint64_t now = uv_now(&e->loop), limit = (uint64_t)e->cfg.stall_seconds * 1000;
  uint64_t low = ferry__low_speed_limit(e->cfg.limit_rate, e->max_inflight);
  for (struct ferry__xfer *x = e->active, *next; x; x = next) {
    next = x->next;
    int silent = now - x->last_progress_ms >= limit;
    int slow = !silent && now - x->window_start_ms >= limit &&
               x->window_bytes < low * (uint64_t)e->cfg.stall_seconds;
    if (!silent && now - x->window_start_ms >= limit) { /* a new window */
      x->window_start_ms = now;
      x->window_bytes = 0;
    }
    if (!silent && !slow) continue;
    if (silent)
      snprintf(x->errbuf, sizeof(x->errbuf), "no data received for %d s", e->cfg.stall_seconds);
    else
      snprintf(x->errbuf, sizeof(x->errbuf), "under %llu bytes/s for %d s (too slow)",
               (unsigned long long)low, e->cfg.stall_seconds);
    ferry__log(e, "%s on bytes %llu-%llu of %s: re-issuing", x->errbuf,
               (unsigned long long)x->cursor, (unsigned long long)(x->end - 1), x->job->path);
    x->verdict = FERRY_E_STALLED;
    next = x->next; /* done may start new requests at the head; the walk goes on from here */
    ferry__xfer_done(x, CURLE_OPERATION_TIMEDOUT);
  }
}

void ferry__xfer_cancel(struct ferry__xfer *x) {
  struct ferry__job *j = x->job;
  int keep = !ferry__job_restarting(j) && j->size_known && j->jfd >= 0;
  xfer_release(x, keep);
  ferry__job_check_progress(j);
}

/* Whether url parses and is http or https: a redirect anywhere else (file:, ftp:, garbage)
 * is the server's error, said as such, not an unsupported protocol of ours. */
static int http_url(const char *url) {
  CURLU *u = curl_url();
  char *scheme = NULL;
  int ok = u && !curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) &&
           !curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) &&
           (!strcasecmp(scheme, "http") || !strcasecmp(scheme, "https"));
  curl_free(scheme);
  curl_url_cleanup(u);
  return ok;
}

/* Follows one redirect: the same request goes again to `loc` (already copied), which
 * becomes the URL of every later request of the job. */
static void on_redirect(struct ferry__job *j, int kind, char *loc, int status, uint64_t start,
                        uint64_t end, int attempt) {
  if (!loc) {
    ferry__job_fail(j, FERRY_E_PROTOCOL, status, "redirect without Location from %s", j->shown_url);
    return;
  }
  if (!http_url(loc)) {
    char *shown = ferry__redact_url(loc);
    ferry__job_fail(j, FERRY_E_PROTOCOL, status, "%s redirects to %s: not an http or https URL",
                    j->shown_url, shown ? shown : "(unknown)");
    free(shown);
    free(loc);
    return;
  }
  if (++j->redirects > FERRY__MAX_REDIRECTS) {
    free(loc);
    ferry__job_fail(j, FERRY_E_REDIRECTS, status, "more than %d redirects from %s",
                    FERRY__MAX_REDIRECTS, j->shown_url);
    return;
  }
  free(j->final_url);
  j->final_url = loc;
  j->url_gen++;
  /* Authorization goes only to the first origin, even if a later hop comes back to it. */
  if (!j->final_other_origin) j->final_other_origin = !same_origin(j->url, loc);
  ferry__log(j->e, "redirect %d to %s", status,
             j->final_other_origin ? "another origin (Authorization dropped)" : "the same origin");
  int err = ferry__xfer_start(j, kind, start, end, attempt);
  if (err) ferry__job_fail(j, err, 0, "could not start a request");
}

static void retry_or_fail(struct ferry__job *j, int err, int status, int kind, int attempt,
                        uint64_t start, uint64_t cursor, uint64_t end, long asked,
                        const char *why, const char *url);

/* For libcurl's "out of memory" (see ferry__classify_transfer): whether a megabyte can be
 * had right now, i.e. whether memory really ran out. */
static int memory_left(CURLcode rc) {
  if (rc != CURLE_OUT_OF_MEMORY) return 0;
  void *p = malloc(1u << 20);
  free(p);
  return p != NULL;
}

void ferry__xfer_done(struct ferry__xfer *x, CURLcode rc) {
  struct ferry_engine *e = x->e;
  struct ferry__job *j = x->job;
  note_rate(x);
  if (!x->checked && (x->status == 200 || x->status == 206 || x->status == 416) &&
      rc == CURLE_OK && !ferry__job_failing(j) && !ferry__job_restarting(j)) {
    x->checked = 1; /* a body-less answer (empty file, 416) is checked here */
    if (check_response(x) != 0 && !x->verdict && !ferry__job_failing(j)) x->verdict = FERRY_E_PROTOCOL;
  }
  int err = x->verdict;
  if (!err && !(x->done_early && x->cursor == x->end))
    err = ferry__classify_transfer(rc, x->headers_done, x->errbuf, memory_left(rc));
  /* A probe answered 416 with an unsatisfied range of total 0: an empty file. */
  int empty = x->kind == FERRY__X_PROBE && x->status == 416 && x->checked && !x->verdict &&
              j->size_known && j->size == 0;
  if (!err && rc == CURLE_OK && !empty) err = ferry__classify_status(x->status, x->kind);
  if (x->done_early && x->cursor == x->end && !x->verdict) err = 0;
  /* Everything below needs the outcome only; keep the parts of x it needs. */
  int status = x->status, kind = x->kind, attempt = x->attempt;
  int via_redirect = x->via_redirect, stale_url = x->url_gen == j->url_gen;
  if (x->error_code[0] || x->error_message[0]) { /* the server's own words, for the caller */
    snprintf(j->server_code, sizeof(j->server_code), "%s", x->error_code);
    snprintf(j->server_message, sizeof(j->server_message), "%s", x->error_message);
  }
  uint64_t start = x->start, cursor = x->cursor, end = x->end;
  long asked = ferry__retry_hint_seconds(&x->hint);
  char why[CURL_ERROR_SIZE + 64];
  snprintf(why, sizeof(why), "%s", x->reason[0]           ? x->reason
                                   : x->errbuf[0]         ? x->errbuf
                                   : rc != CURLE_OK       ? curl_easy_strerror(rc)
                                                          : "error status from the server");
  int redirect = status >= 300 && status < 400 && status != 304 && kind != FERRY__X_WHOLE &&
                 rc == CURLE_OK && !x->verdict;
  /* A partly filled block holds good bytes: write them when they can still be used (the
   * journal will know them, or they end a whole-file stream). */
  int keep = !ferry__job_restarting(j) && err != FERRY_E_CHANGED &&
             (kind == FERRY__X_WHOLE ? err == 0 : j->size_known && j->jfd >= 0);
  /* A partial block that is not kept takes its bytes with it: a retry starts where that block
   * did, not at the cursor (a small file has no journal: its bytes from the block's start on
   * were lost, and the hash waited for them forever). */
  if (!keep && x->blk && kind != FERRY__X_WHOLE) cursor = x->blk->offset;
  if (redirect) {
    char *loc = NULL, *copy = NULL;
    curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_URL, &loc);
    if (loc) copy = strdup(loc);
    xfer_release(x, 0);
    if (loc && !copy) ferry__job_fail(j, FERRY_E_NOMEM, 0, "out of memory");
    else if (!ferry__job_failing(j) && !e->stopping)
      on_redirect(j, kind, copy, status, start, end, attempt);
    else free(copy);
    return;
  }
  xfer_release(x, keep);
  if (e->stopping || ferry__job_draining(j)) {
    ferry__job_check_progress(j);
    return;
  }
  if (!err) {
    if (kind == FERRY__X_WHOLE && !j->size_known) { /* stream ended: now the size is known */
      j->size = cursor;
      j->size_known = 1;
      e->st.bytes_total += cursor;
      if (j->expected_size >= 0 && j->size != (uint64_t)j->expected_size) {
        ferry__job_fail(j, FERRY_E_SIZE, status, "%s: decoded size is %llu bytes, expected %lld",
                        j->shown_url, (unsigned long long)j->size, (long long)j->expected_size);
        return;
      }
    } else if (cursor < end) {
      err = FERRY_E_RESET; /* curl saw no error but bytes are missing */
    }
  }
  if (!err) {
    ferry__job_check_progress(j);
    return;
  }
  if (err == FERRY_E_CHANGED) {
    ferry__job_restart(j, "the remote file changed (validator or size differs)");
    return;
  }
  if (status == 403 && via_redirect && kind != FERRY__X_WHOLE && attempt < e->cfg.max_retries &&
      j->total_retries < e->cfg.max_retries * 50) {
    /* A signed URL (a CDN's) that expired: ask the original URL again for a fresh one, unless
     * another request already did (then this range simply goes to the fresh one). */
    if (stale_url && j->final_url) {
      ferry__notice(e, "%s: the redirected URL was refused (HTTP 403, expired?): resolving again",
                    j->shown_url);
      free(j->final_url);
      j->final_url = NULL;
      j->final_other_origin = 0;
      j->redirects = 0;
      j->url_gen++;
    }
    j->total_retries++;
    e->st.retries++;
    ferry__job_retry_later(j, cursor, end, attempt + 1, 0);
    return;
  }
  char *shown_final = j->final_url ? ferry__redact_url(j->final_url) : NULL;
  const char *url = shown_final ? shown_final : j->shown_url;
  retry_or_fail(j, err, status, kind, attempt, start, cursor, end, asked, why, url);
  free(shown_final);
}

/* What to do about a request that ended with `err` (not 0, not CHANGED). */
static void retry_or_fail(struct ferry__job *j, int err, int status, int kind, int attempt,
                        uint64_t start, uint64_t cursor, uint64_t end, long asked,
                        const char *why, const char *url) {
  struct ferry_engine *e = j->e;
  if (ferry_is_retryable(err) && kind == FERRY__X_WHOLE) {
    /* No ranges: the only way to go on is from the start. */
    if (j->total_retries++ < e->cfg.max_retries) {
      e->st.retries++;
      ferry__job_restart(j, "the server does not support ranges and the transfer broke");
      return;
    }
  } else if (ferry_is_retryable(err)) {
    /* Progress resets the count: a flaky server that keeps sending still gets there, while
     * total_retries bounds the loop whatever happens. */
    int next = cursor - start >= FERRY__BLOCK_SIZE ? attempt : attempt + 1;
    struct ferry__retry_decision d = ferry__retry_decide(1, next, e->cfg.max_retries, asked,
                                                         random());
    if (d.verdict == FERRY__RETRY_WAIT && j->total_retries >= e->cfg.max_retries * 50)
      d.verdict = FERRY__RETRY_SPENT;
    if (d.verdict == FERRY__RETRY_TOO_LONG) {
      ferry__job_fail(j, FERRY_E_SERVER_WAIT, status,
                      "%s: HTTP %d: the server asks to wait %ld s before trying again; ferry "
                      "waits at most %d s", url, status, asked, FERRY__MAX_SERVER_WAIT_S);
      return;
    }
    if (d.verdict == FERRY__RETRY_WAIT) {
      j->total_retries++;
      e->st.retries++;
      if (asked >= 1) /* a wait the user should know about, also without -v */
        ferry__notice(e, "%s: HTTP %d: the server asks to wait %ld s: waiting (Ctrl-C stops)",
                      url, status, asked);
      else if (e->cfg.verbose)
        ferry__log(e, "retry bytes %llu-%llu of %s in %ld ms: %s (HTTP %d, %s)",
                   (unsigned long long)cursor, (unsigned long long)(end - 1), j->path,
                   d.delay_ms, ferry_strerror(err), status, why);
      ferry__job_retry_later(j, cursor, end, next, d.delay_ms);
      return;
    }
    /* The job keeps the last error's code, so the exit status tells its class. */
    ferry__job_fail(j, err, status, "%s: giving up after %d retries; last error: %s (HTTP %d, %s)",
                    url, j->total_retries, ferry_strerror(err), status, why);
    return;
  }
  if (err == FERRY_E_HTTP)
    ferry__job_fail(j, err, status, "%s: HTTP %d", url, status);
  else
    ferry__job_fail(j, err, status, "%s: %s (%s)", url, ferry_strerror(err), why);
}
