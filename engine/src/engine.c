/* engine: the public API (ferry.h) and the scheduler's pump.
 *
 * The pump runs after every event that can free capacity (a request done, a block written,
 * a hash step done, a retry timer) and outside libcurl's callbacks, so it may add and remove
 * easy handles. It cancels requests of jobs that fail, restart or stop, then starts work in
 * file order: probes for new jobs, ranges from unassigned holes, and when no hole is left,
 * half of the largest remaining range of a running request (no slow tail). */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <xxhash.h>

#include "internal.h"
#include "align.h"
#include "control.h"
#include "sweep.h"
#include "plan.h"

static void emit(struct ferry_engine *e, int level, const char *fmt, va_list ap) {
  /* Most debug lines are dropped (no -v): decided before the clock is read, as before log.c. */
  if (!e->cfg.log_cb || (level == FERRY_LOG_DEBUG && !e->cfg.verbose)) return;
  double t = e->t0 ? (double)(uv_hrtime() - e->t0) / 1e9 : 0;
  ferry__vlog(&e->cfg, level, t, fmt, ap);
}

void ferry__log(struct ferry_engine *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(e, FERRY_LOG_DEBUG, fmt, ap);
  va_end(ap);
}

void ferry__notice(struct ferry_engine *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(e, FERRY_LOG_NOTICE, fmt, ap);
  va_end(ap);
}

uint64_t ferry__now_ms(struct ferry_engine *e) { return uv_now(&e->loop); }

static char *dup_str(const char *s) { return s ? strdup(s) : NULL; }

char *ferry_redact_url(const char *url) { return ferry__redact_url(url); }

char *ferry__redact_url(const char *url) {
  CURLU *u = curl_url();
  char *out = NULL;
  if (u && curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK) {
    int had_query = 0;
    char *q = NULL;
    if (curl_url_get(u, CURLUPART_QUERY, &q, 0) == CURLUE_OK) had_query = 1;
    curl_free(q);
    curl_url_set(u, CURLUPART_USER, NULL, 0);
    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
    curl_url_set(u, CURLUPART_QUERY, NULL, 0);
    curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
    char *clean = NULL;
    if (curl_url_get(u, CURLUPART_URL, &clean, 0) == CURLUE_OK) {
      size_t n = strlen(clean) + 8;
      out = malloc(n);
      if (out) snprintf(out, n, "%s%s", clean, had_query ? "?..." : "");
    }
    curl_free(clean);
  } else {
    out = strdup("(unparsable URL)");
  }
  curl_url_cleanup(u);
  return out;
}

/* Many requests in flight are many sockets, and a many-files download many open files: the
 * soft limit on open files (often 1024) is raised to what the system allows (a getrlimit
 * per engine: nothing once the limit is up). */
static void raise_open_files_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* The engine's defaults for what the caller left at 0 (ferry.h documents them). */
void ferry__config_defaults(struct ferry_config *c) {
  if (c->connections <= 0) c->connections = 8;
  if (c->streams <= 0) c->streams = 2;
  if (c->chunk_size == 0) c->chunk_size = 8u << 20;
  if (c->max_memory == 0) c->max_memory = 32u << 20;
  if (c->max_retries <= 0) c->max_retries = 10;
  if (c->stall_seconds <= 0) c->stall_seconds = 20;
  if (c->connect_timeout <= 0) c->connect_timeout = 15;
  if (c->progress_ms <= 0) c->progress_ms = 200;
}

static int watch_stop(struct ferry_engine *e);

int ferry_engine_new(const struct ferry_config *cfg, struct ferry_engine **out) {
  static int curl_ready;
  if (!curl_ready) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return FERRY_E_INTERNAL;
    curl_ready = 1;
  }
  raise_open_files_limit();
  struct ferry_engine *e = calloc(1, sizeof(*e));
  if (!e) return FERRY_E_NOMEM;
  if (cfg) e->cfg = *cfg;
  struct ferry_config *c = &e->cfg;
  int pinned_conns = c->connections > 0 ? c->connections : 0; /* the flags pin what they name */
  int pinned_streams = c->streams > 0 ? c->streams : 0;
  e->chunk_pinned = c->chunk_size != 0; /* --chunk-size: the user's size, as given */
  e->align = FERRY__ALIGN;
  ferry__config_defaults(c);
  if (c->connections > 256 || c->streams > 256 || c->max_memory < (4u << 20) ||
      c->chunk_size < FERRY__ALIGN) {
    free(e);
    return FERRY_E_INVAL;
  }
  e->cacert = dup_str(c->cacert);
  c->cacert = NULL;
  const char *slow = getenv("FERRY_TEST_WRITE_MS_PER_MIB"); /* tests only: internal.h */
  if (slow) e->test_write_ms_per_mib = (unsigned)strtoul(slow, NULL, 10);
  ferry__budget_init(&e->budget, c->max_memory, FERRY__BLOCK_SIZE);
  int err = ferry__loop_init(e);
  if (!err && (err = watch_stop(e))) ferry__loop_close(e);
  if (err) {
    if (e->multi) curl_multi_cleanup(e->multi);
    ferry__budget_destroy(&e->budget);
    free(e->cacert);
    free(e);
    return err;
  }
  /* Until the first answer says whether connections multiplex, assume they do (HTTP/2). */
  ferry__conc_init(e, pinned_conns, pinned_streams);
  *out = e;
  return 0;
}

static int is_hex(const char *s, size_t n) {
  if (strlen(s) != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (!strchr("0123456789abcdefABCDEF", s[i])) return 0;
  return 1;
}


int ferry_engine_add(struct ferry_engine *e, const struct ferry_job_spec *spec,
                     struct ferry_job **out) {
  if (!spec || !spec->url || !spec->path || !spec->path[0]) return FERRY_E_INVAL;
  if (spec->sha256_hex && !is_hex(spec->sha256_hex, 64)) return FERRY_E_INVAL;
  if (spec->git_sha1_hex && (!is_hex(spec->git_sha1_hex, 40) || spec->sha256_hex))
    return FERRY_E_INVAL;
  struct ferry__job *j = calloc(1, sizeof(*j));
  if (!j) return FERRY_E_NOMEM;
  j->e = e;
  j->fd = j->jfd = j->dfd = -1;
  j->url = strdup(spec->url);
  j->shown_url = ferry__redact_url(spec->url);
  j->label = strdup(spec->label ? spec->label : spec->path);
  j->path = strdup(spec->path);
  size_t pl = strlen(spec->path);
  j->part_path = spec->part_path ? strdup(spec->part_path) : malloc(pl + 6);
  j->journal_path = spec->journal_path ? strdup(spec->journal_path) : malloc(pl + 14);
  j->sha = EVP_MD_CTX_new();
  j->git_sha1 = spec->git_sha1_hex != NULL;
  const char *expected = j->git_sha1 ? spec->git_sha1_hex : spec->sha256_hex;
  if (j->git_sha1 && expected) {
    /* The journal's identity has one hash field, for SHA-256: the git hash joins the id. */
    size_t n = strlen(spec->identity ? spec->identity : spec->url) + 64;
    j->identity = malloc(n);
    if (j->identity)
      snprintf(j->identity, n, "%s#git-sha1=%s", spec->identity ? spec->identity : spec->url,
               expected);
  } else {
    j->identity = strdup(spec->identity ? spec->identity : spec->url);
  }
  int ok = j->url && j->shown_url && j->label && j->path && j->part_path && j->journal_path && j->sha &&
           j->identity;
  if (ok && !spec->part_path) snprintf(j->part_path, pl + 6, "%s.part", spec->path);
  if (ok && !spec->journal_path) snprintf(j->journal_path, pl + 14, "%s.part.journal", spec->path);
  for (const char *const *h = spec->headers; ok && h && *h; h++) {
    struct curl_slist *n = curl_slist_append(j->hdrs_first, *h);
    if (!n) ok = 0;
    else j->hdrs_first = n;
    if (ok && spec->location_trusted) {
      n = curl_slist_append(j->hdrs_other, *h);
      if (!n) ok = 0;
      else j->hdrs_other = n;
    }
  }
  if (!ok) {
    free(j->url), free(j->shown_url), free(j->path), free(j->part_path), free(j->journal_path);
    free(j->identity), free(j->label);
    if (j->sha) EVP_MD_CTX_free(j->sha);
    curl_slist_free_all(j->hdrs_first);
    curl_slist_free_all(j->hdrs_other);
    free(j);
    return FERRY_E_NOMEM;
  }
  for (size_t i = 0; expected && expected[i]; i++)
    j->expected_sha[i] = (char)(expected[i] | 0x20); /* lowercase hex */
  j->expected_size = spec->size;
  j->discard = spec->discard != 0;
  j->no_hash = j->discard && spec->no_hash;
  j->no_resume = spec->no_resume || j->discard; /* no journal to resume from */
  j->immutable = spec->immutable && (spec->sha256_hex || spec->git_sha1_hex);
  j->url_redirects = spec->url_redirects;
  j->done_cb = spec->done_cb;
  j->done_user = spec->done_user;
  j->caller_locked = spec->caller_locked;
  j->make_parents = spec->make_parents;
  ferry__ivset_init(&j->unassigned);
  ferry__ivset_init(&j->written);
  ferry__ivset_init(&j->checking);
  j->index = e->njobs++;
  j->prev = e->jobs_tail;
  if (e->jobs_tail) e->jobs_tail->next = j;
  else e->jobs = j;
  if (!e->sched_head) e->sched_head = j;
  e->jobs_tail = j;
  if (e->source_asking) {
    j->from_source = 1;
    e->source_open++;
    /* the source's announced total stands until it gives more */
    if (++e->source_added > e->source.total) e->st.files_total++;
  } else {
    e->st.files_total++;
  }
  if (out) *out = (struct ferry_job *)j;
  return 0;
}

int ferry__engine_align_requests(struct ferry_engine *e, uint64_t slice) {
  if (!slice || slice % FERRY__ALIGN || slice > FERRY__CTL_MAX_REQUEST) return 0;
  e->align = slice;
  ferry__engine_set_inflight(e, e->max_inflight); /* the probe's size follows */
  return 1;
}

void ferry__engine_set_inflight(struct ferry_engine *e, int inflight) {
  e->max_inflight = inflight;
  /* A size the user gave is kept: bytes in flight cost no memory (budget.c). Otherwise each
   * request is sized when it starts (request_size); the least size is the probe's. */
  uint64_t start = e->cfg.start_chunk_size / FERRY__ALIGN * FERRY__ALIGN; /* ferry bench --save */
  e->chunk = e->chunk_pinned ? e->cfg.chunk_size / FERRY__ALIGN * FERRY__ALIGN
             : start        ? start
                            : FERRY__CTL_MIN_REQUEST;
  if (!e->chunk_pinned) e->chunk = (e->chunk + e->align - 1) / e->align * e->align;
  ferry__budget_set_block_size(
      &e->budget, e->chunk < FERRY__BLOCK_SIZE ? (size_t)e->chunk : FERRY__BLOCK_SIZE);
}

void ferry__engine_learn_multiplexing(struct ferry_engine *e, long http_version) {
  if (e->multiplex_known) return;
  e->multiplex_known = 1;
  e->multiplexed = http_version >= CURL_HTTP_VERSION_2_0 && !e->cfg.h2c;
  ferry__conc_on_protocol(e); /* the controller's bounds and layout for this protocol */
}

/* The size of a file's next request, and the figures behind it (for -v). */
struct sizing {
  uint64_t size, left;
  double bps, rtt;
  const char *why;
};

/* Several round trips at the rate a request of the file showed (control.c), the file's rest
 * shared by the requests in flight; --chunk-size when given. Under --limit-rate a request's
 * rate is known in advance (its share of the cap): a request lasts about two seconds of it,
 * so the bucket (rate_allows) is not asked for a sliver at a time. */
static struct sizing request_size(struct ferry_engine *e, struct ferry__job *j) {
  struct sizing z = {.bps = j->stream_bps > 0 ? j->stream_bps : e->stream_bps,
                     .rtt = j->rtt_s > 0 ? j->rtt_s : e->rtt_s,
                     .why = "what the file's requests showed"};
  double shared = ferry__ctl_request_rate(z.bps, e->conc.request_bps);
  if (shared < z.bps) z.bps = shared, z.why = "the most a request got in an interval";
  if (e->chunk_pinned) {
    z.size = e->chunk;
    return z;
  }
  /* The file's rest: not yet requested, and still to come from its requests in flight. */
  z.left = ferry__ivset_total(&j->unassigned);
  for (const struct ferry__xfer *x = e->active; x; x = x->next)
    if (x->job == j && x->end != FERRY__UNKNOWN && x->end > x->cursor) z.left += x->end - x->cursor;
  /* until this file's own requests show a rate: the saved starting size */
  if (j->stream_bps <= 0 && e->cfg.start_chunk_size && !e->cfg.limit_rate) {
    uint64_t start = e->cfg.start_chunk_size / e->align * e->align;
    z.size = start ? start : e->align;
    z.why = "the saved starting size (ferry bench --save): no rate of this file yet";
    return z;
  }
  if (e->cfg.limit_rate) {
    z.bps = (double)e->cfg.limit_rate / e->max_inflight;
    z.rtt = 2.0 / FERRY__CTL_ROUNDS;
    z.why = "--limit-rate: two seconds of a request's share";
  }
  z.size = ferry__ctl_request_size(z.bps, z.rtt, z.left, e->max_inflight, 0, e->align);
  return z;
}

static void log_size(struct ferry_engine *e, const struct ferry__job *j, const struct sizing *z) {
  if (e->cfg.verbose && !e->chunk_pinned)
    ferry__log(e, "request size %.2f MiB for %s: a request's rate %.1f MB/s (%s), round trip "
               "%.1f ms, %.1f MiB to come, shared by %d requests", (double)z->size / (1 << 20),
               j->path, z->bps / 1e6, z->why, z->rtt * 1e3, (double)z->left / (1 << 20),
               e->max_inflight);
}

/* Whether a new request may start: bytes in flight are not memory, but each request is
 * promised its first block, and none starts while no block fits (the disk or the hasher is
 * behind). Written blocks may wait in memory for the hasher in a quarter of the budget (the
 * rest is the requests', ferry__ctl_memory_level); past that they are evicted (the hasher
 * then reads those bytes back from the file). */
static int budget_allows(struct ferry_engine *e) {
  return ferry__hash_make_room(e, e->budget.block_size, ferry__budget_hash_room(&e->budget));
}

static void on_rate_timer(uv_timer_t *t) {
  ferry__pump(ferry__container_of(t, struct ferry_engine, rate_timer));
}

/* --limit-rate: a request may start only when the bucket holds its bytes. libcurl's own
 * per-transfer cap smooths each request, but short requests would burst past it; the bucket
 * bounds the total over any second to the rate plus one burst. It starts full: the first
 * request goes at once (at a small rate, an empty bucket held it back for minutes). */
static double rate_burst(const struct ferry_engine *e) {
  uint64_t rate = e->cfg.limit_rate;
  return (double)(rate / 4 > e->chunk ? rate / 4 : e->chunk);
}

static int rate_allows(struct ferry_engine *e, uint64_t len) {
  uint64_t rate = e->cfg.limit_rate;
  if (!rate) return 1;
  uint64_t now = uv_now(&e->loop);
  double burst = rate_burst(e);
  e->rate_tokens += (double)rate * (double)(now - e->rate_last_ms) / 1000.0;
  if (e->rate_tokens > burst) e->rate_tokens = burst;
  e->rate_last_ms = now;
  if (e->rate_tokens >= (double)len || e->rate_tokens >= burst) {
    e->rate_tokens -= (double)len;
    return 1;
  }
  double wait_ms = ((double)len - e->rate_tokens) * 1000.0 / (double)rate;
  if (!uv_is_active((uv_handle_t *)&e->rate_timer))
    uv_timer_start(&e->rate_timer, on_rate_timer, (uint64_t)wait_ms + 1, 0);
  return 0;
}

static void reap(struct ferry_engine *e) {
  for (struct ferry__xfer *x = e->active, *next; x; x = next) {
    next = x->next;
    struct ferry__job *j = x->job;
    if (e->stopping || ferry__job_draining(j)) ferry__xfer_cancel(x);
  }
  for (struct ferry__retry *r = e->retries, *next; r; r = next) {
    next = r->next;
    struct ferry__job *j = r->job;
    if (e->stopping || ferry__job_draining(j)) ferry__job_retry_now(r);
  }
}

static int finished(const struct ferry__job *j) {
  return j->state == FERRY__J_DONE || j->state == FERRY__J_FAILED;
}

/* The first job not finished yet: jobs finish roughly in order, so the pump's walk starts
 * here instead of at the head of a list that may hold thousands of finished files. */
static struct ferry__job *first_unfinished(struct ferry_engine *e) {
  while (e->sched_head && finished(e->sched_head)) e->sched_head = e->sched_head->next;
  return e->sched_head;
}

/* ---- jobs from a ferry_job_source ------------------------------------------------------- */

int ferry_engine_set_source(struct ferry_engine *e, const struct ferry_job_source *src) {
  if (!src || !src->next || src->window < 0 || src->total < 0 || e->running) return FERRY_E_INVAL;
  e->source = *src;
  if (e->source.window == 0) e->source.window = 1024;
  e->source_active = 1;
  e->source_added = 0;
  e->st.files_total += src->total;
  return 0;
}

static void job_free(struct ferry_engine *e, struct ferry__job *j);

/* The source's ended jobs that nothing refers to any more leave the list and are freed. */
static void free_source_ended(struct ferry_engine *e) {
  struct ferry__job **link = &e->source_ended;
  while (*link) {
    struct ferry__job *j = *link;
    if (!ferry__job_quiet(j)) {
      link = &j->next_ended;
      continue;
    }
    *link = j->next_ended;
    if (j->prev) j->prev->next = j->next;
    else e->jobs = j->next;
    if (j->next) j->next->prev = j->prev;
    else e->jobs_tail = j->prev;
    if (e->sched_head == j) e->sched_head = j->next;
    job_free(e, j);
  }
}

/* Asks the source for jobs while its window has room. */
static void feed(struct ferry_engine *e) {
  while (e->source_active && !e->stopping && e->source_open < e->source.window) {
    e->source_asking = 1;
    int more = e->source.next(e->source.user, e);
    e->source_asking = 0;
    if (!more) {
      e->source_active = 0;
      if (e->source_added < e->source.total) /* it gave fewer than it announced */
        e->st.files_total -= e->source.total - e->source_added;
    }
  }
}

static void stop_loop_handles(struct ferry_engine *e) {
  uv_timer_stop(&e->progress_timer);
  uv_close((uv_handle_t *)&e->progress_timer, NULL);
  uv_close((uv_handle_t *)&e->watchdog, NULL);
  uv_close((uv_handle_t *)&e->rate_timer, NULL);
  uv_close((uv_handle_t *)&e->written_async, NULL);
  uv_timer_stop(&e->curl_timer);
  uv_idle_stop(&e->curl_kick);
  e->closing = 1;
  uv_stop(&e->loop); /* idle pooled connections must not keep the loop alive */
}

void ferry__pump(struct ferry_engine *e) {
  if (e->pump_depth || !e->running || e->closing) return; /* cancels call back into it */
  e->pump_depth++;
  reap(e);
feed_more:
  free_source_ended(e);
  feed(e);
  if (e->stopping) {
    for (struct ferry__job *j = e->jobs; j; j = j->next) {
      if (j->state == FERRY__J_NEW) { /* never started (or restarting): nothing to flush */
        snprintf(j->message, sizeof(j->message), "interrupted before it started");
        ferry__job_end(j, FERRY_E_INTERRUPTED);
      } else {
        ferry__job_check_progress(j);
      }
    }
  }
  int memory_wait = 0; /* a request could start but for memory */
  while (!e->stopping && e->nactive < e->max_inflight) {
    int started = 0, blocked = 0;
    for (struct ferry__job *j = first_unfinished(e); j && !started && !blocked; j = j->next) {
      if (ferry__job_draining(j)) continue;
      if (j->state == FERRY__J_NEW) {
        if (e->jobs_open >= FERRY__MAX_OPEN_JOBS || e->jobs_final >= FERRY__MAX_FINAL_JOBS) {
          blocked = 1;
          break;
        }
        int memory = budget_allows(e);
        if (!memory || !rate_allows(e, e->chunk)) {
          memory_wait = !memory;
          blocked = 1;
          break;
        }
        int err = ferry__job_open(j);
        if (err) ferry__job_fail(j, err, 0, "could not start %s", j->shown_url);
        started = 1;
      } else if (j->state == FERRY__J_RUNNING && j->unassigned.n) {
        uint64_t start, end;
        struct sizing z = request_size(e, j);
        ferry__plan_next(&j->unassigned, z.size, &start, &end);
        /* a request that opens a connection takes the file's last bytes (plan.h) */
        uint64_t next_start = start;
        if (ferry__conc_opens_connection(e))
          ferry__plan_last(&j->unassigned, z.size, e->align, &start, &end);
        int memory = budget_allows(e);
        if (!memory || !rate_allows(e, end - start)) {
          memory_wait = !memory;
          blocked = 1;
          break;
        }
        log_size(e, j, &z);
        if (start != next_start && e->cfg.verbose)
          ferry__log(e, "bytes %llu-%llu of %s go to a new connection: the last of the file, "
                     "which the hasher reaches last", (unsigned long long)start,
                     (unsigned long long)(end - 1), j->path);
        ferry__ivset_remove(&j->unassigned, start, end);
        int err = ferry__xfer_start(j, FERRY__X_RANGE, start, end, 0);
        if (err) ferry__job_fail(j, err, 0, "could not start a request for %s", j->shown_url);
        started = 1;
      }
    }
    if (!started && !blocked && budget_allows(e)) started = ferry__job_steal(e);
    if (!started) break;
  }
  if (!e->stopping) ferry__budget_note_wait(&e->budget, uv_hrtime(), memory_wait);
  /* jobs that ended within this pass (failed at once) left room for the source's next ones */
  if (e->source_active && !e->stopping && e->source_open < e->source.window) goto feed_more;
  e->pump_depth--;
  if (!first_unfinished(e) && (!e->source_active || e->stopping) && !e->closing)
    stop_loop_handles(e);
}

static void on_progress(uv_timer_t *t) {
  struct ferry_engine *e = ferry__container_of(t, struct ferry_engine, progress_timer);
  if (e->cfg.verbose) {
    int writes = 0, retained = 0;
    uint64_t unhashed = 0, waiting = 0; /* written, not hashed; of that, after the first gap */
    for (struct ferry__job *j = e->jobs; j; j = j->next) {
      writes += j->pending_writes;
      for (struct ferry__block *b = j->retained; b; b = b->next) retained++;
      uint64_t written = ferry__ivset_total(&j->written);
      uint64_t hashed = j->hash_cursor < written ? j->hash_cursor : written;
      uint64_t ready = ferry__ivset_contiguous_end(&j->written, j->hash_cursor) - j->hash_cursor;
      unhashed += written - hashed;
      waiting += written - hashed > ready ? written - hashed - ready : 0;
    }
    ferry__log(e, "memory: %.1f MiB received; charged %llu KiB, allocated %llu KiB, %d requests, "
               "%d writes queued, %d blocks kept for hashing; %.1f MiB written and not hashed "
               "yet, %.1f MiB of it after a gap", (double)e->st.bytes_received / (1 << 20),
               (unsigned long long)e->budget.charged >> 10,
               (unsigned long long)e->budget.allocated >> 10, e->nactive, writes, retained,
               (double)unhashed / (1 << 20), (double)waiting / (1 << 20));
  }
  if (!e->cfg.progress_cb) return;
  struct ferry_stats s;
  ferry_engine_stats(e, &s);
  e->cfg.progress_cb(e->cfg.progress_user, &s);
}

static void on_watchdog(uv_timer_t *t) {
  struct ferry_engine *e = ferry__container_of(t, struct ferry_engine, watchdog);
  ferry__xfer_check_stalls(e);
  ferry__xfer_sample_rates(e);
  ferry__xfer_flush_slow_blocks(e);
  ferry__conc_tick(e);
  /* the new request's block may come from blocks kept for the hasher: they wait behind the
   * very request it relieves */
  if (!e->stopping && ferry__hash_make_room(e, e->budget.block_size, 0))
    ferry__job_race_cursor(e);
  ferry__job_refresh_locks(e);
  ferry__pump(e);
}

static void begin_stop(struct ferry_engine *e) {
  if (e->stopping) return;
  e->stopping = 1;
  ferry__log(e, "stopping: flushing data and journals");
  ferry__pump(e);
}

/* The loops outside a run look after each turn (puts: ferry__engine_stopped; API calls and
 * pauses: the user's stop alone); these wake them, and end a run at once. */
static void on_stop_async(uv_async_t *a) {
  struct ferry_engine *e = ferry__container_of(a, struct ferry_engine, stop_async);
  e->stop_asked = 1;
  if (e->running) begin_stop(e);
}

static void on_stop_poll(uv_poll_t *p, int status, int events) {
  (void)status, (void)events;
  struct ferry_engine *e = p->data;
  uv_poll_stop(p); /* the pipe stays readable: once is enough */
  if (e->running && !e->stop_ignored) begin_stop(e);
}

/* Both watchers live as long as the engine, unreferenced: they wake a loop, never keep one
 * running. */
static int watch_stop(struct ferry_engine *e) {
  if (uv_async_init(&e->loop, &e->stop_async, on_stop_async) != 0) return FERRY_E_INTERNAL;
  uv_unref((uv_handle_t *)&e->stop_async);
  if (!e->cfg.stop) return 0;
  e->stop_poll.data = e;
  if (uv_poll_init(&e->loop, &e->stop_poll, ferry__stop_fd(e->cfg.stop)) != 0 ||
      uv_poll_start(&e->stop_poll, UV_READABLE, on_stop_poll) != 0)
    return FERRY_E_INTERNAL;
  uv_unref((uv_handle_t *)&e->stop_poll);
  return 0;
}

const struct ferry_stop *ferry__engine_user_stop(const struct ferry_engine *e) {
  return e->stop_ignored ? NULL : e->cfg.stop;
}

int ferry__engine_stopped(const struct ferry_engine *e) {
  return e->stop_asked || ferry_stop_requested(ferry__engine_user_stop(e));
}

void ferry__engine_ignore_stop(struct ferry_engine *e, int on) { e->stop_ignored = on; }

int ferry_engine_run(struct ferry_engine *e) {
  e->t0 = uv_hrtime();
  e->running = 1;
  e->stop_asked = 0;
  uv_timer_init(&e->loop, &e->progress_timer);
  uv_async_init(&e->loop, &e->written_async, ferry__sink_on_written);
  uv_timer_init(&e->loop, &e->watchdog);
  uv_timer_init(&e->loop, &e->rate_timer);
  e->rate_last_ms = uv_now(&e->loop);
  e->rate_tokens = rate_burst(e);
  e->locks_stamped_ms = uv_now(&e->loop);
  uv_timer_start(&e->watchdog, on_watchdog, 250, 250);
  ferry__conc_log_start(e);
  if (ferry__engine_stopped(e)) begin_stop(e); /* before the run: nothing starts */
  if (e->cfg.progress_cb)
    uv_timer_start(&e->progress_timer, on_progress, (uint64_t)e->cfg.progress_ms,
                   (uint64_t)e->cfg.progress_ms);
  ferry__pump(e);
  uv_run(&e->loop, UV_RUN_DEFAULT);
  ferry__warm_drop_all(e); /* what they opened is in the pool; the rest is not waited for */
  ferry__sink_sync_dirs(e);
  e->st.seconds = (double)(uv_hrtime() - e->t0) / 1e9;
  e->running = e->stop_asked = 0; /* ferry__engine_stop ended this run only */
  if (e->cfg.progress_cb) {
    struct ferry_stats s;
    ferry_engine_stats(e, &s);
    e->cfg.progress_cb(e->cfg.progress_user, &s);
  }
  return e->first_error;
}

/* A wait between API rounds (a server's Retry-After): a timer on the loop, which the stop's
 * watcher wakes at once. */
static void on_pause_timer(uv_timer_t *t) { *(int *)t->data = 1; }

int ferry__engine_pause(struct ferry_engine *e, uint64_t ms) {
  uv_timer_t timer;
  int done = 0;
  uv_timer_init(&e->loop, &timer);
  timer.data = &done;
  uv_timer_start(&timer, on_pause_timer, ms, 0);
  while (!done && !ferry_stop_requested(ferry__engine_user_stop(e))) uv_run(&e->loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&timer, NULL);
  uv_run(&e->loop, UV_RUN_NOWAIT); /* the close callback, before `timer` goes away */
  return done ? 0 : FERRY_E_INTERRUPTED;
}

void ferry__engine_stop(struct ferry_engine *e) { uv_async_send(&e->stop_async); }

void ferry_engine_stats(const struct ferry_engine *e, struct ferry_stats *out) {
  *out = e->st;
  out->memory_in_use = e->budget.allocated;
  out->memory_peak = e->budget.peak;
  out->held_back_seconds = (double)e->budget.held_ns / 1e9;
  /* The three largest files in flight, from the unfinished ones (at most FERRY__MAX_OPEN_JOBS
   * are open at a time, so the walk stays short). */
  out->nlargest = 0;
  for (const struct ferry__job *j = e->sched_head; j; j = j->next) {
    if (j->state != FERRY__J_RUNNING || !j->size_known) continue;
    struct ferry_file_progress p = {j->label, j->size, ferry__ivset_total(&j->written)};
    int n = out->nlargest, i = n < 3 ? n : 3;
    while (i > 0 && out->largest[i - 1].size < p.size) {
      if (i < 3) out->largest[i] = out->largest[i - 1];
      i--;
    }
    if (i < 3) out->largest[i] = p;
    if (n < 3) out->nlargest++;
  }
  if (e->running) out->seconds = (double)(uv_hrtime() - e->t0) / 1e9;
}

void ferry_job_result(const struct ferry_job *job, struct ferry_job_result *out) {
  const struct ferry__job *j = (const struct ferry__job *)job;
  memset(out, 0, sizeof(*out));
  out->error = j->state == FERRY__J_DONE ? 0 : j->error ? j->error : FERRY_E_INTERNAL;
  out->http_status = j->http_status;
  snprintf(out->message, sizeof(out->message), "%s", j->message);
  if (j->git_sha1) snprintf(out->git_sha1_hex, sizeof(out->git_sha1_hex), "%.40s", j->sha_hex);
  else snprintf(out->sha256_hex, sizeof(out->sha256_hex), "%s", j->sha_hex);
  out->size = j->size;
  out->verified = j->verified;
  out->bytes_resumed = j->bytes_resumed;
  snprintf(out->server_code, sizeof(out->server_code), "%s", j->server_code);
  snprintf(out->server_message, sizeof(out->server_message), "%s", j->server_message);
}

void ferry_engine_free(struct ferry_engine *e) {
  if (!e) return;
  ferry__warm_free(e);
  ferry__loop_close(e);
  for (struct ferry__job *j = e->jobs, *next; j; j = next) {
    next = j->next;
    job_free(e, j);
  }
  ferry__budget_destroy(&e->budget);
  free(e->cacert);
  free(e);
}

static void job_free(struct ferry_engine *e, struct ferry__job *j) {
  if (j->fd >= 0) close(j->fd);
  if (j->jfd >= 0) close(j->jfd);
  if (j->dfd >= 0) close(j->dfd);
  ferry__job_unlock(j); /* a run that was cut short */
  while (j->retained) {
    struct ferry__block *b = j->retained;
    j->retained = b->next;
    ferry__budget_drop(&e->budget, b);
  }
  if (j->old) {
    ferry__jparser_free(j->old);
    free(j->old);
  }
  ferry__ivset_free(&j->unassigned);
  ferry__ivset_free(&j->written);
  ferry__ivset_free(&j->checking);
  EVP_MD_CTX_free(j->sha);
  curl_slist_free_all(j->hdrs_first);
  curl_slist_free_all(j->hdrs_other);
  free(j->identity), free(j->label);
  free(j->url), free(j->shown_url), free(j->final_url), free(j->path), free(j->part_path), free(j->journal_path);
  free(j);
}

const char *ferry_version_string(void) {
  static char buf[256];
  if (!buf[0]) {
    curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    snprintf(buf, sizeof(buf), "ferry/%s libcurl/%s (%s%s) libuv/%s %s xxhash/%u.%u.%u",
             FERRY_VERSION, cv->version, cv->ssl_version ? cv->ssl_version : "no TLS",
             cv->nghttp2_version ? ", nghttp2" : ", no HTTP/2", uv_version_string(),
             OpenSSL_version(OPENSSL_VERSION), XXH_VERSION_MAJOR, XXH_VERSION_MINOR,
             XXH_VERSION_RELEASE);
  }
  return buf;
}
