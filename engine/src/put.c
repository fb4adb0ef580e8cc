/* put: many file-backed uploads at once (ferry_engine_put), the data path of `ferry upload`.
 *
 * Each put sends [offset, offset + length) of an open file as the body of one PUT. libcurl
 * pulls the body through a read callback that preads straight into its own upload buffer, so
 * nothing of the file is copied into memory of ours: the memory in use is the number of
 * requests in flight times libcurl's buffer. Up to max_parallel requests run on the engine's
 * loop and connection pool; each is retried on its own (resets, stalls, 408, 429, 5xx) with
 * the engine's one retry policy (retry.h), from its first byte (a PUT cannot be continued);
 * a retry waits on a timer set for when it is due.
 *
 * --limit-rate paces each request in its read callback (a pause, lifted by a timer set for the
 * moment its rate allows more), not
 * with libcurl's send-speed cap: libcurl 7.88 stops a rate-limited transfer's reading too, so
 * the storage's answer to a finished part sat unread for up to a second, and a kill in that
 * second cost a part the storage had accepted (it was never journaled). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "internal.h"
#include "plan.h"
#include "retry.h"

#define PUT_BUFFER (1L << 20)  /* libcurl's upload buffer per request (7.88 allows 2 MiB) */
#define ERR_BODY_MAX 1024      /* the start of an error answer, for the message */

struct put_req {
  int tag; /* FERRY__TAG_PUT */
  struct put_req *prev, *next; /* the run's requests in flight */
  struct put_run *run;
  size_t index;
  CURL *easy;
  struct curl_slist *hdrs;
  uint64_t sent;   /* body bytes handed to libcurl in this attempt */
  uint64_t body_sent_ms, answer_ms; /* loop times: the last body byte handed over, the status */
  uint64_t body_sent_ns, answer_ns; /* the same, uv_hrtime (ferry bench: a loopback answer
                                       takes well under the loop's millisecond) */
  uint64_t started_ms;  /* loop time the attempt started, for pacing */
  int paused;           /* the read callback paused it: the pace timer lifts the pause */
  long status;
  struct ferry__retry_hint hint; /* Retry-After / RateLimit of the answer */
  int io_error;
  char body[ERR_BODY_MAX + 1];
  size_t body_len;
  char errbuf[CURL_ERROR_SIZE];
};

struct put_run {
  struct ferry_engine *e;
  struct ferry_put *puts;
  size_t n, next_new, active, finished;
  struct put_req *in_flight;
  const struct ferry_put_opts *o;
  uint64_t *ready_at;        /* per put: when a waiting retry may start (0: not waiting) */
  uint64_t bytes_sent;       /* bytes of finished puts plus those in flight */
  uv_timer_t retry_timer;    /* set for the earliest waiting retry */
  uv_timer_t pace_timer;     /* set for the earliest paused request's next allowance */
  uv_timer_t progress_timer; /* the caller's progress callback, every progress_ms */
  uint64_t pace_bps;         /* --limit-rate's share of one request, bytes/s (0: none) */
  int first_error, stopping;
};

#define PACE_BURST (64u << 10) /* what a paced request may send ahead of its rate */

static void fill(struct put_run *run);
static void on_retry_due(uv_timer_t *t);
static void on_pace(uv_timer_t *t);

/* Bytes a paced request may still hand over now (UINT64_MAX when not paced). */
static uint64_t pace_allowance(const struct put_req *r) {
  const struct put_run *run = r->run;
  if (!run->pace_bps) return UINT64_MAX;
  uint64_t elapsed = ferry__now_ms(run->e) - r->started_ms;
  uint64_t allowed = PACE_BURST + run->pace_bps * elapsed / 1000;
  return allowed > r->sent ? allowed - r->sent : 0;
}

/* Loop time (ms) at which a paused request may hand over its next byte: the first whole
 * millisecond at which pace_allowance is above 0. */
static uint64_t pace_due(const struct put_req *r) {
  uint64_t ahead = r->sent >= PACE_BURST ? r->sent - PACE_BURST + 1 : 0;
  uint64_t bps = r->run->pace_bps;
  return r->started_ms + (ahead * 1000 + bps - 1) / bps;
}

/* The pace timer, set for the earliest paused request (none: stopped). */
static void arm_pace(struct put_run *run) {
  uint64_t due = UINT64_MAX, now = ferry__now_ms(run->e);
  for (struct put_req *r = run->in_flight; r; r = r->next)
    if (r->paused && pace_due(r) < due) due = pace_due(r);
  /* never 0 ms: libuv 1.44 busy-loops on a 0 ms timer restarted from its own callback */
  if (due == UINT64_MAX) uv_timer_stop(&run->pace_timer);
  else uv_timer_start(&run->pace_timer, on_pace, due > now ? due - now : 1, 0);
}

static size_t on_read(char *buf, size_t size, size_t n, void *userp) {
  struct put_req *r = userp;
  struct ferry_put *p = &r->run->puts[r->index];
  uint64_t left = p->length - r->sent;
  size_t want = size * n < left ? size * n : (size_t)left;
  if (!want) return 0;
  uint64_t allowance = pace_allowance(r);
  if (!allowance) {
    r->paused = 1;
    arm_pace(r->run);
    return CURL_READFUNC_PAUSE;
  }
  if (want > allowance) want = (size_t)allowance;
  ssize_t got;
  if (p->fill) {
    int e = p->fill(p, p->offset + r->sent, buf, want);
    got = e ? -1 : (ssize_t)want;
    if (e) errno = e;
  } else {
    do got = pread(p->fd, buf, want, (off_t)(p->offset + r->sent));
    while (got < 0 && errno == EINTR);
  }
  if (got <= 0) { /* the file shrank or cannot be read: never send a short body */
    r->io_error = got < 0 ? errno : EIO;
    return CURL_READFUNC_ABORT;
  }
  r->sent += (uint64_t)got;
  r->run->bytes_sent += (uint64_t)got;
  if (r->sent == p->length) {
    r->body_sent_ms = ferry__now_ms(r->run->e);
    r->body_sent_ns = uv_hrtime();
  }
  return (size_t)got;
}

/* libcurl rewinds when it must send the body again (a refused HTTP/2 stream, a redirect). */
static int on_seek(void *userp, curl_off_t offset, int origin) {
  struct put_req *r = userp;
  if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > r->run->puts[r->index].length)
    return CURL_SEEKFUNC_CANTSEEK;
  r->run->bytes_sent -= r->sent;
  r->sent = (uint64_t)offset;
  r->run->bytes_sent += r->sent;
  return CURL_SEEKFUNC_OK;
}

static size_t on_header(char *p, size_t size, size_t n, void *userp) {
  struct put_req *r = userp;
  struct ferry_put *put = &r->run->puts[r->index];
  size_t len = size * n;
  int st = ferry__parse_status_line(p, len);
  if (st >= 0) {
    r->status = st;
    r->answer_ms = ferry__now_ms(r->run->e);
    r->answer_ns = uv_hrtime();
    put->etag[0] = 0;
    ferry__retry_hint_init(&r->hint);
    return len;
  }
  const char *name, *value;
  size_t nl, vl;
  if (ferry__split_header(p, len, &name, &nl, &value, &vl) != 0) return len;
  if (ferry__header_is(name, nl, "etag")) {
    if (vl >= sizeof(put->etag)) vl = sizeof(put->etag) - 1;
    memcpy(put->etag, value, vl);
    put->etag[vl] = 0;
  } else {
    ferry__retry_hint_header(&r->hint, name, nl, value, vl, time(NULL));
  }
  return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *userp) {
  struct put_req *r = userp;
  size_t len = size * n, room = ERR_BODY_MAX - r->body_len;
  size_t take = len < room ? len : room;
  memcpy(r->body + r->body_len, p, take);
  r->body_len += take;
  r->body[r->body_len] = 0;
  return len;
}

static void unlink_req(struct put_req *r) {
  if (r->prev) r->prev->next = r->next;
  else r->run->in_flight = r->next;
  if (r->next) r->next->prev = r->prev;
}

static void free_req(struct put_req *r) {
  curl_easy_cleanup(r->easy);
  curl_slist_free_all(r->hdrs);
  free(r);
}

static void finish(struct put_run *run, size_t i, int err) {
  struct ferry_put *p = &run->puts[i];
  p->error = err;
  run->finished++;
  if (err && !run->first_error) run->first_error = err;
  if (run->o && run->o->done_cb) run->o->done_cb(run->o->user, p);
}

/* A one-line reason from an error answer: an S3-style <Message>, a JSON "error", or the
 * first line of the body. */
static void answer_reason(const struct put_req *r, char *out, size_t cap) {
  const char *b = r->body, *m = strstr(b, "<Message>");
  size_t n;
  if (m) {
    m += 9;
    const char *end = strstr(m, "</Message>");
    n = end ? (size_t)(end - m) : strcspn(m, "\r\n");
  } else if ((m = strstr(b, "\"error\""))) {
    m = strchr(m + 7, '"');
    m = m ? m + 1 : b;
    n = strcspn(m, "\"\r\n");
  } else {
    m = b;
    n = strcspn(b, "\r\n");
  }
  if (n > 200) n = 200;
  snprintf(out, cap, "%.*s", (int)n, m);
}

void ferry__put_done(void *req, CURLcode rc) {
  struct put_req *r = req;
  struct put_run *run = r->run;
  struct ferry_engine *e = run->e;
  struct ferry_put *p = &run->puts[r->index];
  curl_multi_remove_handle(e->multi, r->easy);
  unlink_req(r);
  run->active--;
  e->st.requests++;
  int err = 0, retry = 0;
  long asked = -1;
  char reason[256] = "";
  if (r->io_error) {
    err = FERRY_E_IO;
    snprintf(p->message, sizeof(p->message), "reading the file: %s", strerror(r->io_error));
  } else if (rc != CURLE_OK) {
    err = ferry__classify_curl(rc);
    retry = ferry_is_retryable(err);
    snprintf(p->message, sizeof(p->message), "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
  } else if (r->status >= 200 && r->status < 300) {
    if (r->sent != p->length) {
      err = FERRY_E_INTERNAL; /* libcurl finished without taking the whole body */
      snprintf(p->message, sizeof(p->message), "sent %llu of %llu bytes",
               (unsigned long long)r->sent, (unsigned long long)p->length);
    }
  } else {
    answer_reason(r, reason, sizeof(reason));
    err = FERRY_E_HTTP;
    retry = ferry__retry_status(r->status);
    if (retry) asked = ferry__retry_hint_seconds(&r->hint);
    snprintf(p->message, sizeof(p->message), "HTTP %ld%s%.200s", r->status, reason[0] ? ": " : "",
             reason);
  }
  p->status = r->status;
  if (err) run->bytes_sent -= r->sent;
  size_t i = r->index;
  /* Where the time between the last byte and the journal goes (a part accepted by the
   * storage but not journaled yet is sent again after a kill). */
  uint64_t now = ferry__now_ms(e);
  long long answered = r->answer_ms && r->body_sent_ms ? (long long)(r->answer_ms - r->body_sent_ms) : -1;
  long long handled = r->answer_ms ? (long long)(now - r->answer_ms) : -1;
  if (e->bench) /* ferry bench --upload: this request's connection, bytes and timings */
    ferry__bench_put_end(e->bench, r->easy, r->started_ms, now, err ? 0 : r->sent,
                         r->answer_ns > r->body_sent_ns && r->body_sent_ns
                             ? (double)(r->answer_ns - r->body_sent_ns) / 1e9 : -1);
  free_req(r);
  ferry__log(e, "part %zu: HTTP %ld, answered %lld ms after its last byte, done %lld ms after "
             "the answer", i, p->status, answered, handled);
  struct ferry__retry_decision d = ferry__retry_decide(err && retry && !run->stopping,
                                                       p->retries + 1, e->cfg.max_retries,
                                                       asked, random());
  if (d.verdict == FERRY__RETRY_TOO_LONG) {
    err = FERRY_E_SERVER_WAIT;
    snprintf(p->message, sizeof(p->message), "HTTP %ld: the server asks to wait %ld s; ferry "
             "waits at most %d s", p->status, asked, FERRY__MAX_SERVER_WAIT_S);
  } else if (d.verdict == FERRY__RETRY_WAIT) {
    if (asked >= 1)
      ferry__notice(e, "part %zu: HTTP %ld: the server asks to wait %ld s: waiting (Ctrl-C stops)",
                    i, p->status, asked);
    p->retries++;
    e->st.retries++;
    ferry__log(e, "part %zu: %s, retrying in %ld ms", i, p->message, d.delay_ms);
    run->ready_at[i] = ferry__now_ms(e) + (uint64_t)d.delay_ms;
    fill(run);
    return;
  }
  if (!err) p->message[0] = 0;
  finish(run, i, err);
  fill(run); /* its place goes to the next put */
}

static void start_one(struct put_run *run, size_t i) {
  struct ferry_engine *e = run->e;
  struct ferry_put *p = &run->puts[i];
  struct put_req *r = calloc(1, sizeof(*r));
  CURL *h = r ? curl_easy_init() : NULL;
  int ok = h != NULL;
  if (r) r->easy = h;
  for (const char *const *hd = p->headers; ok && hd && *hd; hd++) {
    struct curl_slist *s = curl_slist_append(r->hdrs, *hd);
    if (!s) ok = 0;
    else r->hdrs = s;
  }
  /* No "Expect: 100-continue": the target is known to take the body, and the wait costs a
   * round trip per part. */
  struct curl_slist *s = ok ? curl_slist_append(r->hdrs, "Expect:") : NULL;
  if (!s) ok = 0;
  else r->hdrs = s;
  if (!ok) {
    if (r) free_req(r);
    snprintf(p->message, sizeof(p->message), "out of memory");
    finish(run, i, FERRY_E_NOMEM);
    return;
  }
  r->tag = FERRY__TAG_PUT;
  r->run = run;
  r->index = i;
  ferry__retry_hint_init(&r->hint);
  ferry__easy_common(e, h);
  curl_easy_setopt(h, CURLOPT_URL, p->url);
  curl_easy_setopt(h, CURLOPT_PRIVATE, (char *)r);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->errbuf);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->hdrs);
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)p->length);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(h, CURLOPT_READDATA, r);
  curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
  curl_easy_setopt(h, CURLOPT_SEEKDATA, r);
  curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, PUT_BUFFER);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
  /* libcurl's own stall check: under 1 byte/s (either way) for stall_seconds. */
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)e->cfg.stall_seconds);
  r->started_ms = ferry__now_ms(e);
  if (curl_multi_add_handle(e->multi, h) != CURLM_OK) {
    free_req(r);
    snprintf(p->message, sizeof(p->message), "libcurl refused the request");
    finish(run, i, FERRY_E_INTERNAL);
    return;
  }
  run->active++;
  r->next = run->in_flight;
  if (r->next) r->next->prev = r;
  run->in_flight = r;
}

/* Starts what may start now: due retries first, then new puts, up to max_parallel; then the
 * retry timer is set for the earliest retry still waiting. */
static void fill(struct put_run *run) {
  uint64_t now = ferry__now_ms(run->e), due = UINT64_MAX;
  for (size_t i = 0; i < run->next_new && run->active < (size_t)run->o->max_parallel; i++) {
    if (!run->ready_at[i]) continue;
    if (run->stopping) {
      run->ready_at[i] = 0;
      snprintf(run->puts[i].message, sizeof(run->puts[i].message), "interrupted");
      finish(run, i, FERRY_E_INTERRUPTED);
    } else if (run->ready_at[i] <= now) {
      run->ready_at[i] = 0;
      start_one(run, i);
    }
  }
  /* the earliest retry not yet due (one already due waits for a place: a put that ends
   * calls fill) */
  for (size_t i = 0; i < run->next_new; i++)
    if (run->ready_at[i] > now && run->ready_at[i] < due) due = run->ready_at[i];
  while (!run->stopping && run->next_new < run->n && run->active < (size_t)run->o->max_parallel)
    start_one(run, run->next_new++);
  if (run->stopping) /* puts never started end at once */
    while (run->next_new < run->n) {
      size_t i = run->next_new++;
      snprintf(run->puts[i].message, sizeof(run->puts[i].message), "interrupted");
      finish(run, i, FERRY_E_INTERRUPTED);
    }
  if (due == UINT64_MAX) uv_timer_stop(&run->retry_timer);
  else uv_timer_start(&run->retry_timer, on_retry_due, due - now, 0);
}

/* Stopping: requests in flight are abandoned (a server keeps only complete parts) and end
 * as interrupted. Called between loop turns, never from inside a libcurl callback. */
static void cancel_active(struct put_run *run) {
  while (run->in_flight) {
    struct put_req *r = run->in_flight;
    curl_multi_remove_handle(run->e->multi, r->easy);
    unlink_req(r);
    run->active--;
    run->bytes_sent -= r->sent;
    size_t i = r->index;
    free_req(r);
    snprintf(run->puts[i].message, sizeof(run->puts[i].message), "interrupted");
    finish(run, i, FERRY_E_INTERRUPTED);
  }
}

static void on_retry_due(uv_timer_t *t) { fill(t->data); }

static void on_pace(uv_timer_t *t) {
  struct put_run *run = t->data;
  for (struct put_req *r = run->in_flight; r; r = r->next)
    if (r->paused && pace_allowance(r)) {
      r->paused = 0;
      curl_easy_pause(r->easy, CURLPAUSE_CONT); /* may call on_read at once */
    }
  arm_pace(run);
}

/* The engine's stop watchers wake the loop (engine.c), so this runs at once after the turn
 * that saw the stop. */
static void stop_puts(struct put_run *run) {
  run->stopping = 1;
  ferry__log(run->e, "stopping the uploads");
  cancel_active(run);
  fill(run);
  arm_pace(run);
}

static void on_progress(uv_timer_t *t) {
  struct put_run *run = t->data;
  run->o->progress_cb(run->o->user, run->bytes_sent);
}

int ferry_engine_put(struct ferry_engine *e, struct ferry_put *puts, size_t n,
                     const struct ferry_put_opts *opts) {
  if (!e || (n && !puts) || e->running) return FERRY_E_INVAL;
  struct ferry_put_opts o = opts ? *opts : (struct ferry_put_opts){0};
  if (o.max_parallel <= 0) o.max_parallel = e->cfg.connections;
  struct put_run run = {.e = e, .puts = puts, .n = n, .o = &o};
  if (e->cfg.limit_rate) {
    run.pace_bps = e->cfg.limit_rate / (uint64_t)o.max_parallel;
    if (run.pace_bps < 1024) run.pace_bps = 1024;
  }
  run.ready_at = calloc(n ? n : 1, sizeof(*run.ready_at));
  if (!run.ready_at) return FERRY_E_NOMEM;
  for (size_t i = 0; i < n; i++) {
    puts[i].error = 0, puts[i].status = 0, puts[i].retries = 0;
    puts[i].etag[0] = puts[i].message[0] = 0;
  }
  uv_timer_t *timers[] = {&run.retry_timer, &run.pace_timer, &run.progress_timer};
  for (size_t i = 0; i < 3; i++) {
    uv_timer_init(&e->loop, timers[i]);
    timers[i]->data = &run;
  }
  if (o.progress_cb)
    uv_timer_start(&run.progress_timer, on_progress, (uint64_t)e->cfg.progress_ms,
                   (uint64_t)e->cfg.progress_ms);
  e->stop_asked = 0;
  if (ferry__engine_stopped(e)) stop_puts(&run);
  else fill(&run);
  while (run.finished < n) {
    uv_run(&e->loop, UV_RUN_ONCE);
    if (!run.stopping && ferry__engine_stopped(e)) stop_puts(&run);
  }
  e->stop_asked = 0; /* ferry__engine_stop ended these puts, not the calls after them */
  for (size_t i = 0; i < 3; i++) uv_close((uv_handle_t *)timers[i], NULL);
  uv_run(&e->loop, UV_RUN_NOWAIT); /* the close callbacks, before `run` goes away */
  if (o.progress_cb) o.progress_cb(o.user, run.bytes_sent);
  free(run.ready_at);
  return run.first_error;
}
