/* fetch: one-shot API requests (ferry_engine_fetch), the small JSON calls of the Hub client.
 * They go through the engine's loop and connection pool like file transfers, but keep the
 * whole answer in memory (bounded) and run synchronously, before or between transfers. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "retry.h"
#include "plan.h"

#define MAX_HEADER_BYTES (64u << 10)

struct ferry__fetch {
  int tag; /* FERRY__TAG_FETCH */
  struct ferry_engine *e;
  const struct ferry_request *req;
  CURL *easy;
  struct curl_slist *hdrs;
  char *body, *headers;
  size_t len, cap, max, hlen, hcap;
  long status;
  int too_big, done;
  int body_err;           /* the body_read's or body_rewind's FERRY_E_*: ends the request */
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

/* Seconds the server asks us to wait (retry.h): Retry-After, else the RateLimit reset. */
static long server_wait(const struct ferry_response *r) {
  static const char *const names[] = {"retry-after", "ratelimit"};
  struct ferry__retry_hint h;
  ferry__retry_hint_init(&h);
  char v[256];
  for (size_t i = 0; i < 2; i++)
    if (ferry_response_header(r, names[i], v, sizeof(v)) == 0)
      ferry__retry_hint_header(&h, names[i], strlen(names[i]), v, strlen(v), time(NULL));
  return ferry__retry_hint_seconds(&h);
}

/* A body made as it is sent (ferry_request.body_read). */
static size_t on_body_read(char *buf, size_t size, size_t n, void *userp) {
  struct ferry__fetch *f = userp;
  long got = f->req->body_read(f->req->body_user, buf, size * n);
  if (got < 0) {
    f->body_err = (int)got;
    return CURL_READFUNC_ABORT;
  }
  return (size_t)got;
}

/* libcurl sends the body again (a redirect, a refused HTTP/2 stream): from its start only. */
static int on_body_seek(void *userp, curl_off_t offset, int origin) {
  struct ferry__fetch *f = userp;
  if (offset != 0 || origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  int err = f->req->body_rewind(f->req->body_user);
  if (err) f->body_err = err;
  return err ? CURL_SEEKFUNC_FAIL : CURL_SEEKFUNC_OK;
}

/* Prepares one attempt of `req` and adds it to the multi handle. */
static int fetch_start(struct ferry_engine *e, const struct ferry_request *req,
                       struct ferry__fetch *f) {
  memset(f, 0, sizeof(*f));
  f->tag = FERRY__TAG_FETCH;
  f->e = e;
  f->req = req;
  /* every attempt sends the made body from its start */
  if (req->body_read && (f->body_err = req->body_rewind(req->body_user))) return f->body_err;
  f->max = req->max_body ? req->max_body : (64u << 20);
  f->easy = curl_easy_init();
  int ok = f->easy != NULL;
  for (const char *const *h = req->headers; ok && h && *h; h++) {
    struct curl_slist *n = curl_slist_append(f->hdrs, *h);
    if (!n) ok = 0;
    else f->hdrs = n;
  }
  if (!ok) {
    if (f->easy) curl_easy_cleanup(f->easy);
    curl_slist_free_all(f->hdrs);
    f->easy = NULL, f->hdrs = NULL;
    return FERRY_E_NOMEM;
  }
  CURL *h = f->easy;
  ferry__easy_common(e, h);
  ferry__warm_seen(e, req->url); /* a connection exists there now: no warm-up (warmup.c) */
  curl_easy_setopt(h, CURLOPT_URL, req->url);
  curl_easy_setopt(h, CURLOPT_PRIVATE, (char *)f);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, f->errbuf);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, f->hdrs);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_fetch_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, f);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_fetch_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* JSON may come compressed */
  /* No watchdog runs outside ferry_engine_run: libcurl's coarse stall check stands in. */
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)e->cfg.stall_seconds);
  const char *method = req->method ? req->method : "GET";
  if (!strcmp(method, "HEAD")) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  else if (strcmp(method, "GET") != 0) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  if (req->body_read) {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1); /* length unknown */
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_body_read);
    curl_easy_setopt(h, CURLOPT_READDATA, f);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_body_seek);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, f);
  } else if (req->body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
  }
  if (curl_multi_add_handle(e->multi, h) != CURLM_OK) {
    f->done = 1;
    f->rc = CURLE_FAILED_INIT;
    return FERRY_E_INTERNAL;
  }
  return 0;
}

/* The answer of a finished attempt into `out` (replacing an earlier attempt's). */
static int fetch_finish(struct ferry_engine *e, struct ferry__fetch *f, int start_err,
                        struct ferry_response *out) {
  int err = start_err;
  if (!err) {
    if (f->body_err) err = f->body_err;
    else if (f->too_big) err = FERRY_E_PROTOCOL;
    else if (f->rc != CURLE_OK) err = ferry__classify_curl(f->rc);
  }
  e->st.requests++;
  int retries = out->retries;
  ferry_response_free(out);
  out->retries = retries;
  out->status = f->status;
  out->body = f->body ? f->body : strdup("");
  out->body_len = f->len;
  out->headers = f->headers ? f->headers : strdup("");
  if (f->easy) curl_easy_cleanup(f->easy);
  curl_slist_free_all(f->hdrs);
  if (!err && (!out->body || !out->headers)) err = FERRY_E_NOMEM;
  return err;
}

enum { FETCH_DONE = 0, FETCH_TODO, FETCH_RUNNING, FETCH_AGAIN };

/* The stop: requests in flight are abandoned, those not sent yet are not sent. */
static void interrupt_all(struct ferry_engine *e, struct ferry__fetch *f, int *state, size_t n,
                          struct ferry_response *outs, int *errs) {
  for (size_t i = 0; i < n; i++) {
    if (state[i] == FETCH_RUNNING) {
      if (!f[i].done) curl_multi_remove_handle(e->multi, f[i].easy);
      fetch_finish(e, &f[i], FERRY_E_INTERRUPTED, &outs[i]);
    }
    if (state[i] == FETCH_RUNNING || state[i] == FETCH_TODO)
      state[i] = FETCH_DONE, errs[i] = FERRY_E_INTERRUPTED;
  }
}

int ferry_engine_fetch_many(struct ferry_engine *e, const struct ferry_request *reqs, size_t n,
                             size_t parallel, struct ferry_response *outs, int *errs) {
  if (e->running) return FERRY_E_INVAL;
  for (size_t i = 0; i < n; i++) memset(&outs[i], 0, sizeof(outs[i])), errs[i] = 0;
  if (!n) return 0;
  if (!parallel) parallel = 1;
  struct ferry__fetch *f = calloc(n, sizeof(*f));
  int *state = calloc(n, sizeof(*state)), *attempt = calloc(n, sizeof(*attempt));
  int *start_err = calloc(n, sizeof(*start_err));
  long *wait = calloc(n, sizeof(*wait));
  int err = f && state && attempt && start_err && wait ? 0 : FERRY_E_NOMEM;
  for (size_t i = 0; !err && i < n; i++) state[i] = FETCH_TODO;
  while (!err) {
    /* One round: every request to do, at most `parallel` at once. */
    size_t active = 0, left = 0;
    for (size_t i = 0; i < n; i++) left += state[i] == FETCH_TODO;
    while (left) {
      if (ferry_stop_requested(ferry__engine_user_stop(e))) { /* its watcher woke the loop */
        interrupt_all(e, f, state, n, outs, errs);
        break;
      }
      for (size_t i = 0; i < n && active < parallel; i++) {
        if (state[i] != FETCH_TODO) continue;
        state[i] = FETCH_RUNNING;
        active++;
        if ((start_err[i] = fetch_start(e, &reqs[i], &f[i]))) f[i].done = 1;
      }
      int finished = 0;
      for (size_t i = 0; i < n; i++) {
        if (state[i] != FETCH_RUNNING || !f[i].done) continue;
        errs[i] = fetch_finish(e, &f[i], start_err[i], &outs[i]);
        state[i] = FETCH_DONE;
        active--, left--, finished = 1;
        int max = reqs[i].max_retries < 0 ? 0
                  : reqs[i].max_retries ? reqs[i].max_retries : e->cfg.max_retries;
        int retryable = errs[i] ? ferry_is_retryable(errs[i]) : ferry__retry_status(outs[i].status);
        long asked = errs[i] ? -1 : server_wait(&outs[i]);
        struct ferry__retry_decision d =
            ferry__retry_decide(retryable, attempt[i] + 1, max, asked, random());
        if (d.verdict == FERRY__RETRY_TOO_LONG) {
          char *shown = ferry__redact_url(reqs[i].url);
          ferry__notice(e, "%s: HTTP %ld: the server asks to wait %ld s; ferry waits at most %d s",
                        shown ? shown : "API", outs[i].status, asked, FERRY__MAX_SERVER_WAIT_S);
          free(shown);
          errs[i] = FERRY_E_SERVER_WAIT;
        } else if (d.verdict == FERRY__RETRY_WAIT) {
          state[i] = FETCH_AGAIN;
          wait[i] = d.delay_ms;
          outs[i].retries = ++attempt[i];
          e->st.retries++;
          if (asked >= 1) {
            char *shown = ferry__redact_url(reqs[i].url);
            ferry__notice(e, "%s: HTTP %ld: the server asks to wait %ld s: waiting (Ctrl-C stops)",
                          shown ? shown : "API", outs[i].status, asked);
            free(shown);
          }
          ferry__log(e, "retrying %s in %ld ms (HTTP %ld, %s)", reqs[i].url, d.delay_ms,
                     outs[i].status, errs[i] ? ferry_strerror(errs[i]) : "server busy");
        }
      }
      if (!finished) uv_run(&e->loop, UV_RUN_ONCE);
    }
    /* The retries wait as long as the longest asked-for pause, then go as one round. */
    long pause = -1;
    for (size_t i = 0; i < n; i++)
      if (state[i] == FETCH_AGAIN) {
        state[i] = FETCH_TODO;
        if (wait[i] > pause) pause = wait[i];
      }
    if (pause < 0) break;
    if (ferry__engine_pause(e, (uint64_t)pause) != 0) {
      for (size_t i = 0; i < n; i++)
        if (state[i] == FETCH_TODO) state[i] = FETCH_DONE, errs[i] = FERRY_E_INTERRUPTED;
      break;
    }
  }
  free(f), free(state), free(attempt), free(start_err), free(wait);
  for (size_t i = 0; !err && i < n; i++)
    if (errs[i]) err = errs[i];
  return err;
}

int ferry_engine_fetch(struct ferry_engine *e, const struct ferry_request *req,
                       struct ferry_response *out) {
  memset(out, 0, sizeof(*out));
  if (!req || !req->url || e->running) return FERRY_E_INVAL;
  int err = 0;
  return ferry_engine_fetch_many(e, req, 1, 1, out, &err);
}
