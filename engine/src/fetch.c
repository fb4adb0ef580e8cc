/* fetch: one-shot API requests (ferry_engine_fetch), the small JSON calls of the Hub client.
 * They go through the engine's loop and connection pool like file transfers, but keep the
 * whole answer in memory (bounded) and run synchronously, before or between transfers. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "plan.h"

#define MAX_HEADER_BYTES (64u << 10)
#define MAX_WAIT_SECONDS 120 /* the longest Retry-After honoured before giving up */

struct ferry__fetch {
  int tag; /* FERRY__TAG_FETCH */
  struct ferry_engine *e;
  CURL *easy;
  struct curl_slist *hdrs;
  char *body, *headers;
  size_t len, cap, max, hlen, hcap;
  long status;
  int too_big, done;
  CURLcode rc;
  char errbuf[CURL_ERROR_SIZE];
};

static int append(char **buf, size_t *len, size_t *cap, size_t max, const char *p, size_t n) {
  if (*len + n + 1 > max) return -1;
  if (*len + n + 1 > *cap) {
    size_t c = *cap ? *cap : 4096;
    while (c < *len + n + 1) c *= 2;
    char *b = realloc(*buf, c);
    if (!b) return -1;
    *buf = b, *cap = c;
  }
  memcpy(*buf + *len, p, n);
  *len += n;
  (*buf)[*len] = 0;
  return 0;
}

static size_t on_fetch_header(char *p, size_t size, size_t n, void *userp) {
  struct ferry__fetch *f = userp;
  size_t len = size * n;
  int st = ferry__parse_status_line(p, len);
  if (st >= 0) { /* a new answer (after 100 Continue): forget the previous headers */
    f->status = st;
    f->hlen = 0;
    if (f->headers) f->headers[0] = 0;
    return len;
  }
  size_t keep = len;
  while (keep && (p[keep - 1] == '\n' || p[keep - 1] == '\r')) keep--;
  if (!keep) return len;
  if (append(&f->headers, &f->hlen, &f->hcap, MAX_HEADER_BYTES, p, keep) ||
      append(&f->headers, &f->hlen, &f->hcap, MAX_HEADER_BYTES, "\n", 1))
    return 0;
  return len;
}

static size_t on_fetch_body(char *p, size_t size, size_t n, void *userp) {
  struct ferry__fetch *f = userp;
  size_t len = size * n;
  if (append(&f->body, &f->len, &f->cap, f->max, p, len)) {
    f->too_big = 1;
    return 0;
  }
  return len;
}

void ferry__fetch_done(void *fetch, CURLcode rc) {
  struct ferry__fetch *f = fetch;
  curl_multi_remove_handle(f->e->multi, f->easy);
  f->rc = rc;
  f->done = 1;
}

int ferry_response_header(const struct ferry_response *r, const char *name, char *buf,
                          size_t cap) {
  size_t nl = strlen(name);
  for (const char *line = r->headers; line && *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    const char *hn, *hv;
    size_t hnl, hvl;
    if (ferry__split_header(line, len, &hn, &hnl, &hv, &hvl) == 0 && hnl == nl &&
        strncasecmp(hn, name, nl) == 0) {
      if (hvl >= cap) hvl = cap ? cap - 1 : 0;
      if (cap) memcpy(buf, hv, hvl), buf[hvl] = 0;
      return 0;
    }
    line = end ? end + 1 : line + len;
  }
  return -1;
}

void ferry_response_free(struct ferry_response *r) {
  if (!r) return;
  free(r->body);
  free(r->headers);
  r->body = r->headers = NULL;
  r->body_len = 0;
}

/* Seconds the server asks us to wait: Retry-After, else the reset of `RateLimit: ...;t=N`. */
static long server_wait(const struct ferry_response *r) {
  char v[256];
  if (ferry_response_header(r, "retry-after", v, sizeof(v)) == 0) {
    long s = ferry__parse_retry_after(v, strlen(v), time(NULL));
    if (s >= 0) return s;
  }
  if (ferry_response_header(r, "ratelimit", v, sizeof(v)) == 0) {
    const char *t = strstr(v, ";t=");
    uint64_t s;
    if (t) {
      size_t n = strspn(t + 3, "0123456789");
      if (ferry__parse_u64(t + 3, n, &s) == 0) return s > 86400 ? 86400 : (long)s;
    }
  }
  return -1;
}

static int fetch_once(struct ferry_engine *e, const struct ferry_request *req,
                      struct ferry_response *out, CURLcode *rc) {
  struct ferry__fetch f = {.tag = FERRY__TAG_FETCH, .e = e};
  f.max = req->max_body ? req->max_body : (64u << 20);
  f.easy = curl_easy_init();
  int ok = f.easy != NULL;
  for (const char *const *h = req->headers; ok && h && *h; h++) {
    struct curl_slist *n = curl_slist_append(f.hdrs, *h);
    if (!n) ok = 0;
    else f.hdrs = n;
  }
  if (!ok) {
    if (f.easy) curl_easy_cleanup(f.easy);
    curl_slist_free_all(f.hdrs);
    return FERRY_E_NOMEM;
  }
  CURL *h = f.easy;
  ferry__easy_common(e, h);
  curl_easy_setopt(h, CURLOPT_URL, req->url);
  curl_easy_setopt(h, CURLOPT_PRIVATE, (char *)&f);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, f.errbuf);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, f.hdrs);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_fetch_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &f);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_fetch_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &f);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* JSON may come compressed */
  /* No watchdog runs outside ferry_engine_run: libcurl's coarse stall check stands in. */
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)e->cfg.stall_seconds);
  const char *method = req->method ? req->method : "GET";
  if (!strcmp(method, "HEAD")) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  else if (strcmp(method, "GET") != 0) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  if (req->body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
  }
  int err = 0;
  if (curl_multi_add_handle(e->multi, h) != CURLM_OK) {
    err = FERRY_E_INTERNAL;
  } else {
    while (!f.done) uv_run(&e->loop, UV_RUN_ONCE);
    *rc = f.rc;
    if (f.too_big) err = FERRY_E_PROTOCOL;
    else if (f.rc != CURLE_OK) err = ferry__classify_curl(f.rc);
  }
  e->st.requests++;
  ferry_response_free(out);
  out->status = f.status;
  out->body = f.body ? f.body : strdup("");
  out->body_len = f.len;
  out->headers = f.headers ? f.headers : strdup("");
  curl_easy_cleanup(h);
  curl_slist_free_all(f.hdrs);
  if (!err && (!out->body || !out->headers)) err = FERRY_E_NOMEM;
  return err;
}

int ferry_engine_fetch(struct ferry_engine *e, const struct ferry_request *req,
                       struct ferry_response *out) {
  memset(out, 0, sizeof(*out));
  if (!req || !req->url || e->running) return FERRY_E_INVAL;
  int max = req->max_retries < 0 ? 0 : req->max_retries ? req->max_retries : e->cfg.max_retries;
  for (int attempt = 0;; attempt++) {
    CURLcode rc = CURLE_OK;
    int err = fetch_once(e, req, out, &rc);
    long wait = -1;
    if (err && ferry_is_retryable(err)) {
      wait = ferry__backoff_ms(attempt + 1, -1, random()) / 1000;
    } else if (!err && (out->status == 429 || out->status == 408 || out->status >= 500)) {
      wait = server_wait(out);
      if (wait < 0) wait = ferry__backoff_ms(attempt + 1, -1, random()) / 1000;
    } else {
      return err;
    }
    if (attempt >= max || wait > MAX_WAIT_SECONDS) return err;
    ferry__log(e, "retrying %s in %ld s (HTTP %ld, %s)", req->url, wait, out->status,
               err ? ferry_strerror(err) : "server busy");
    out->retries = attempt + 1;
    e->st.retries++;
    uv_sleep((unsigned)(wait * 1000 + 100));
  }
}
