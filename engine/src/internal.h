/* internal.h: the engine's private structures, shared by the files of engine/src.
 *
 * Threads: one loop thread owns libcurl and every field below. Worker threads (libuv's pool)
 * only touch what a work request hands them: a block to write, a hash request with its
 * blocks, a file to fsync. Ownership goes back to the loop in the request's done callback. */
#ifndef FERRY_INTERNAL_H
#define FERRY_INTERNAL_H

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "ferry.h"
#include "log.h"
#include "files.h"
#include "http_parse.h"
#include "stop.h"
#include "control.h"
#include "ivset.h"
#include "retry.h"
#include "journal.h"
#include "lock.h"
#include "xxh3_fast.h"

#define ferry__container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#define FERRY__UNKNOWN UINT64_MAX
#define FERRY__BLOCK_SIZE (1u << 20)     /* write and journal granularity */
#define FERRY__SMALL_FILE (4u << 20) /* no journal (fetched again whole), no early writeback */
#define FERRY__ALIGN (64u << 10)         /* block allocations round up to this */
#define FERRY__MIN_SPLIT (256u << 10)    /* smallest half worth stealing from a slow request */
#define FERRY__MAX_REDIRECTS 10
#define FERRY__MAX_RESTARTS 3            /* remote changed: start over at most this often */
#define FERRY__MAX_OPEN_JOBS 128         /* files open at once: the most requests in flight */
#define FERRY__MAX_FINAL_JOBS 512        /* verified files waiting for fsync and rename */
#define FERRY__FILE_WRITERS 2            /* concurrent pwrites per file */

/* Bytes received for [offset, offset + len) of a job's file, on their way to disk. */
struct ferry__block {
  struct ferry__block *next;
  struct ferry__job *job;
  uint64_t offset;
  size_t len, cap;
  uint64_t xxh3; /* of data[0..len), for the journal: the digest of xst at submit */
  struct ferry__xxh3_state xst; /* fed as the block fills, while the bytes are in cache */
  int err;       /* write result: 0 or FERRY_E_* */
  int early_writeback; /* sync_file_range after a buffered write (set at submit) */
  unsigned char *data; /* FERRY__DIO_ALIGN-aligned, right after the header's page */
};

/* Slots for full-size blocks in one huge-page mapping (arena.c); a slot may be split into
 * FERRY__ARENA_QUARTERS blocks for slow requests. */
#define FERRY__ARENA_QUARTERS 4
struct ferry__arena {
  void *map;
  size_t map_len;
  unsigned char *base; /* the first slot, on a huge-page boundary */
  size_t slot, nslots;
  struct ferry__block *headers;  /* headers[i].data is slot i, for good */
  struct ferry__block *quarters; /* quarters[4i + k].data is quarter k of slot i */
  unsigned char *split;          /* per slot: its quarters are in use or on free_quarters */
  unsigned char *quarters_used;  /* per split slot: how many of its quarters are in use */
  struct ferry__block *free, *free_quarters;
  /* Free quarters of split slots that still have a quarter in use: they serve quarters only.
   * A full block needs a whole slot, so the budget counts them as taken for one (budget.c). */
  uint64_t stranded;
};

/* The memory budget (budget.c): its counters change there only. */
struct ferry__budget {
  uint64_t limit;     /* --max-memory */
  uint64_t charged;   /* blocks in use, and one block promised to each request that has
                         not received its first bytes (bytes in flight are not memory) */
  uint64_t allocated, peak; /* block memory that exists (in use or spare), and its peak */
  uint64_t retained;  /* written blocks kept for the hasher */
  size_t block_size;  /* min(FERRY__BLOCK_SIZE, chunk): most blocks have this size, so they
                         are reused as spares instead of going back to malloc (page faults) */
  struct ferry__arena arena;    /* full-size and quarter blocks on huge pages */
  struct ferry__block *spares;  /* spare malloc'ed blocks of block_size */
  int nspares;
  /* Time the network was held back for memory (the writes behind): a request waited to start
   * (from the pump's verdict to its next one), or the loop thread wrote a block itself. */
  uint64_t wait_since_ns, held_ns;
};
void ferry__budget_init(struct ferry__budget *b, uint64_t limit, size_t block_size);
void ferry__budget_destroy(struct ferry__budget *b);
/* Whether `bytes` more may be charged now: within the limit, and for a full block beside the
 * arena's stranded quarters (arena.c). */
int ferry__budget_fits(const struct ferry__budget *b, uint64_t bytes);
/* How many bytes must be freed before `bytes` more fit (0: they fit). */
uint64_t ferry__budget_excess(const struct ferry__budget *b, uint64_t bytes);
/* The pump's verdict at `now_ns` (uv_hrtime): whether a request waits for memory to start. */
void ferry__budget_note_wait(struct ferry__budget *b, uint64_t now_ns, int waiting);
/* A block written on the loop thread from `start_ns` to `end_ns`: no socket was read. */
void ferry__budget_note_write(struct ferry__budget *b, uint64_t start_ns, uint64_t end_ns);
void ferry__budget_reserve(struct ferry__budget *b, uint64_t bytes);
void ferry__budget_release(struct ferry__budget *b, uint64_t bytes);
/* The memory of a block of `cap` bytes (header and data set up, nothing else); NULL when out
 * of memory. Its reservation is the caller's (reserve, or a request's). */
struct ferry__block *ferry__budget_acquire(struct ferry__budget *b, size_t cap);
/* The capacity a block for `bytes` of a large file gets: the arena's unit that holds them (a
 * quarter or a whole slot), so that it comes from the arena, resident once touched, and not
 * from malloc on top of it; `bytes` itself when the arena cannot hold it. */
size_t ferry__budget_unit(const struct ferry__budget *b, size_t bytes);
/* A block's memory back, and its reservation. */
void ferry__budget_give(struct ferry__budget *b, struct ferry__block *blk);
/* A block's memory freed without any accounting (the engine is being freed). */
void ferry__budget_drop(struct ferry__budget *b, struct ferry__block *blk);
void ferry__budget_retain(struct ferry__budget *b, uint64_t bytes);
/* How much of the budget written blocks may keep for the hasher (a quarter, what
 * ferry__ctl_memory_level leaves beside the requests' blocks; past it they are evicted and
 * read back from the file). */
uint64_t ferry__budget_hash_room(const struct ferry__budget *b);
void ferry__budget_unretain(struct ferry__budget *b, uint64_t bytes);
/* Full-size blocks get this size from now on (spares of the old size are freed). */
void ferry__budget_set_block_size(struct ferry__budget *b, size_t size);

/* O_DIRECT wants buffers, offsets and lengths aligned; 4 KiB suits every common device. */
#define FERRY__DIO_ALIGN 4096u

/* A job's lifecycle (job.c): every change goes through ferry__job_set_state, which -v traces,
 * and a job ends in ferry__job_end, the one place its end is accounted for. */
enum ferry__job_state {
  FERRY__J_NEW,       /* not started: no file, no request */
  FERRY__J_PROBING,   /* first request under way: size and final URL unknown */
  FERRY__J_RUNNING,   /* ranges being fetched */
  FERRY__J_DRAINING,  /* failing or restarting: no new request, waiting for the requests,
                       * writes and hashing still running (why: `drain`) */
  FERRY__J_FINAL,     /* fsync + rename running on a worker */
  FERRY__J_DONE,
  FERRY__J_FAILED
};
/* Why a job drains (both can be set: a failure during a restart wins). */
enum { FERRY__DRAIN_FAIL = 1, FERRY__DRAIN_RESTART = 2 };

struct ferry__bench_probe;

struct ferry__job {
  struct ferry__job *next, *prev; /* the engine's list (prev: a source's jobs leave it early) */
  struct ferry__job *next_ended;  /* a source's ended jobs, waiting to be freed */
  int from_source;                /* added by the ferry_job_source (freed once it has ended) */
  struct ferry__job *next_final; /* in the engine's queue of files to fsync and rename */
  struct ferry_engine *e;
  int index;
  int state;
  /* what to fetch */
  char *url, *final_url, *path, *part_path, *journal_path, *identity;
  char *shown_url; /* url without query or credentials: the form messages print */
  char *label;     /* for progress displays */
  char expected_sha[65];  /* expected hash in hex (SHA-256, or git SHA-1), "" if none */
  int git_sha1;           /* hash is git's blob SHA-1 ("blob <size>\0" + content) */
  int hash_ready;         /* the digest has been started (git: once the size is known) */
  int64_t expected_size;
  struct curl_slist *hdrs_first;  /* user headers, for the first origin */
  struct curl_slist *hdrs_other;  /* the same without Authorization, for other origins */
  int final_other_origin;
  unsigned url_gen;   /* bumped whenever final_url changes */
  int no_resume;
  int immutable; /* the spec's: the validator is not compared (ferry_job_spec) */
  int url_redirects; /* the spec's: no warm-up beside the probe of `url` itself (warmup.c) */
  int redirects, restarts;
  /* what the server said */
  int size_known;
  uint64_t size;
  int ranges;          /* server honours Range */
  char validator[256]; /* strong ETag, or Last-Modified; "" when none */
  int validator_is_etag;
  /* the file */
  int fd, jfd;
  int dfd; /* the .part file opened with O_DIRECT (-1 where the filesystem refuses it) */
  int part_opened; /* 0: not by this job (a rerun's files are not ours); 1 fresh; 2 resumed */
  atomic_int direct_refused; /* a writer saw EINVAL: the rest goes through fd */
  int drain;        /* FERRY__DRAIN_* bits while DRAINING */
  int drained_from; /* the state the job drained from (had it opened its files?) */
  struct ferry__ivset unassigned; /* not yet requested */
  struct ferry__ivset written;    /* on disk (written now or verified from the journal) */
  struct ferry__ivset checking;   /* journal ranges being re-verified */
  struct ferry__jparser *old;     /* the previous run's journal, until verified */
  int verify_running;
  /* hashing in file order */
  EVP_MD_CTX *sha;
  uint64_t hash_cursor;
  int hash_running;
  struct ferry__block *retained;  /* written blocks kept for the hasher, sorted by offset */
  /* counters */
  int active_xfers, pending_writes;
  /* Blocks queue here (under e->write_lock) and up to FERRY__FILE_WRITERS workers take
   * them one by one: two writes in flight keep the device busy while a writer waits for the
   * CPU, and more than two only contend for the file's inode lock. */
  struct ferry__block *wq_head, *wq_tail;
  int writers_active; /* workers queued or running (loop thread only) */
  uv_work_t write_work[FERRY__FILE_WRITERS];
  int total_retries;
  uint64_t bytes_resumed;
  /* what its requests showed (control.h): the smoothed rate of one request, and the least
   * round trip measured; 0 until known */
  double stream_bps, rtt_s;
  /* result */
  int error;
  long http_status;
  char message[512];
  char sha_hex[65];
  int verified;
  char server_code[64], server_message[256];
  void (*done_cb)(void *user, struct ferry_job *job);
  void *done_user;
  /* PATH.ferry-lock, held from before the first request until the job ends (job.c), unless
   * the caller holds its own lock (caller_locked). */
  int caller_locked;
  int make_parents; /* create path's missing folders before the lock (ferry_job_spec) */
  int discard;      /* the null sink: nothing is written, opened, locked or unlinked */
  int no_hash;      /* with discard: nothing hashed either, the hash cursor follows the bytes */
  struct ferry__lock lock;
};

enum ferry__xfer_kind { FERRY__X_PROBE, FERRY__X_RANGE, FERRY__X_WHOLE };

/* What CURLOPT_PRIVATE points to starts with one of these, so the drain step knows. */
enum ferry__tag {
  FERRY__TAG_XFER = 0x58464552,
  FERRY__TAG_FETCH = 0x46455443,
  FERRY__TAG_PUT = 0x50555420,
  FERRY__TAG_WARM = 0x5741524d
};

/* One HTTP request for one byte range of one job. */
struct ferry__xfer {
  int tag;                         /* FERRY__TAG_XFER */
  struct ferry__xfer *prev, *next; /* engine's active list */
  struct ferry_engine *e;
  struct ferry__job *job;
  CURL *easy;
  struct curl_slist *req_headers;
  int kind;
  uint64_t start, end, cursor; /* [start, end) asked; cursor = next byte expected */
  uint64_t charged;            /* the promise of its first block, until that is opened */
  uint64_t block;              /* its blocks' size, chosen when it starts (never larger after,
                                  so the first block is never larger than its promise) */
  struct ferry__block *blk;    /* block being filled */
  int attempt;
  int via_redirect;   /* sent to the job's final_url (a redirect target), not its url */
  unsigned url_gen;   /* the job's url_gen when this request started */
  uint64_t last_progress_ms; /* loop time of the last byte (header or body) received */
  /* the low-speed rule: bytes (headers and body) received since window_start_ms */
  uint64_t window_start_ms, window_bytes;
  uint64_t header_bytes;     /* of the response being read, for the header size limit */
  uint64_t blk_since_ms;     /* loop time `blk` was opened (a slow one is written early) */
  uint64_t first_byte_ns;    /* uv_hrtime() of the first body byte used, 0 before it */
  uint64_t sent_ns;          /* uv_hrtime() when the request went out (known at first_byte_ns) */
  int opened_connection;     /* it opened its connection (known at first_byte_ns): slow start */
  /* Its rate now: bytes over the last watchdog tick (ferry__xfer_sample_rates), 0 until a
   * tick's worth has passed since its first byte. */
  uint64_t mark_ns, mark_cursor;
  double now_bps;
  /* response, filled by the header callback */
  int status;
  int headers_done, checked;
  struct ferry__content_range cr;
  int has_cr;
  int64_t content_length;
  int length_bad;     /* a Content-Length that does not parse, or two that differ */
  char etag[256];
  char last_modified[128];
  char error_code[64], error_message[256]; /* X-Error-Code / X-Error-Message (Hub errors) */
  int encoded;
  struct ferry__retry_hint hint; /* Retry-After / RateLimit of the response */
  /* outcome */
  int verdict;    /* FERRY_E_* decided inside a callback, or 0 */
  int done_early; /* reached `end` after a split: stopped on purpose */
  int cancelled;
  uint64_t bench_counted; /* bytes bench_probe.c has credited to a connection */
  char errbuf[CURL_ERROR_SIZE];
  char reason[128]; /* ferry's own reason for a verdict (libcurl rewrites errbuf after it) */
};

/* A request waiting to be retried after a backoff. */
struct ferry__retry {
  uv_timer_t timer;
  struct ferry__retry *prev, *next;
  struct ferry__job *job;
  uint64_t start, end;
  int attempt;
};

/* The concurrency controller's state (concurrency.c): the level of requests in flight, laid
 * out as connections x streams, and the interval being measured. */
struct ferry__conc {
  struct ferry__ctl ctl;
  int pinned_conns, pinned_streams; /* --connections / --streams (0: free) */
  int conns, streams;               /* the layout applied now */
  int grown; /* the layout gained connections after the start (engine.c: the last bytes) */
  uint64_t interval_start_ms, interval_bytes;
  /* File requests started in the interval, the blocks they were promised (a block each: the
   * request's first, ferry__ctl_block_size, no larger than the request) and the bytes they
   * asked for. */
  uint64_t interval_started, interval_promised, interval_asked;
  uint64_t mean_request; /* a started request's block over the last interval (0: none yet) */
  double request_bps;    /* the most one request got in a measured interval (0: none yet) */
  uint64_t running_sum;  /* requests running at each check of the interval, summed */
  int ticks, full_ticks, memory_ticks; /* watchdog checks in the interval: all, with the level
                                          full, with no block free in the budget */
};
void ferry__conc_init(struct ferry_engine *e, int pinned_conns, int pinned_streams);
void ferry__conc_on_protocol(struct ferry_engine *e); /* multiplexing is now known */
void ferry__conc_tick(struct ferry_engine *e);        /* from the watchdog */
/* whether a request started now opens a connection: no stream free on the open ones, and
 * the layout allows more (1), or not (0) */
int ferry__conc_opens_connection(const struct ferry_engine *e);
/* Every open connection carries as many requests as the layout gives it: a request started
 * now opens one (handshakes and a slow start, control.c ferry__ctl_fresh_seconds). Sockets
 * count the Hub's API connections too: then this says "no" a little more often than it
 * should. */
int ferry__conc_connections_busy(const struct ferry_engine *e);
/* a file request starts: its first block and the bytes it asks for */
void ferry__conc_on_request(struct ferry_engine *e, uint64_t block, uint64_t asked);
void ferry__conc_log_start(struct ferry_engine *e);   /* -v: where it starts */

/* warmup.c: connections opened while a file's probe is out */
#define FERRY__WARM_ORIGINS 16 /* origins remembered per engine; past them nothing is warmed */
struct ferry__warm;
struct ferry__warmup {
  struct ferry__warm *active; /* warm-up requests in flight */
  int nactive;
  char *origins[FERRY__WARM_ORIGINS]; /* "scheme://host:port" the engine has talked to */
  int norigins;
};
/* A probe of url starts: when url's origin is new, opens the level's other connections. */
int ferry__warm_for_probe(struct ferry_engine *e, const char *url, /* how many opened */
                           const struct curl_slist *headers, int64_t expected_size);
void ferry__warm_seen(struct ferry_engine *e, const char *url); /* an API call's origin */
void ferry__warm_done(void *priv, CURLcode rc);                 /* from the loop */
void ferry__warm_drop_all(struct ferry_engine *e);              /* a run ends */
void ferry__warm_free(struct ferry_engine *e);                  /* the engine goes */

struct ferry_engine {
  struct ferry_config cfg;
  char *cacert;
  uv_loop_t loop;
  uv_timer_t curl_timer, progress_timer, watchdog, rate_timer;
  uv_idle_t curl_kick; /* libcurl's 0 ms timeout: run on the next loop turn */
  uv_async_t stop_async;     /* ferry__engine_stop: this engine's own early end */
  uv_poll_t stop_poll;       /* cfg.stop's pipe (stop.c), watched while the engine lives */
  int stop_asked;            /* ferry__engine_stop was called */
  int stop_ignored;          /* ferry__engine_ignore_stop: cleanup that must run */
  uv_async_t written_async;  /* a writer handed back written blocks */
  uv_mutex_t write_lock;     /* the files' write queues and the written list */
  struct ferry__block *written_head, *written_tail;
  CURLM *multi;
  struct ferry__job *jobs, *jobs_tail, *sched_head;
  int njobs, jobs_open;
  /* The ferry_job_source: asked for jobs while fewer than window of its jobs are unfinished
   * (source_open); its ended jobs wait in source_ended until they are quiet, then are freed. */
  struct ferry_job_source source;
  int source_active, source_asking, source_open, source_added;
  struct ferry__job *source_ended;
  int jobs_final; /* verified files waiting for their fsync and rename (not in jobs_open) */
  struct ferry__xfer *active;
  int nactive, max_inflight, multiplex_known, multiplexed;
  struct ferry__budget budget; /* the memory of file data (budget.c) */
  struct ferry__conc conc;     /* requests in flight (concurrency.c) */
  struct ferry__warmup warm;   /* connections opened beside a probe (warmup.c) */
  uint64_t chunk;   /* --chunk-size as given; or the least planned size (a file's probe) */
  int chunk_pinned; /* the caller set chunk_size (--chunk-size) */
  /* Requests start and end on multiples of this (FERRY__ALIGN, or a cache tier's slice:
   * ferry__engine_align_requests), and no planned one is smaller. */
  uint64_t align;
  double stream_bps, rtt_s; /* the latest job's figures, for a job that has none yet */
  /* FERRY_TEST_WRITE_MS_PER_MIB (tests only: a slow disk): each block write sleeps this long
   * per MiB, on the writers and on the loop thread alike. 0 in normal runs. */
  unsigned test_write_ms_per_mib;
  /* --limit-rate: a token bucket on the bytes requests may ask for */
  double rate_tokens;
  uint64_t rate_last_ms;
  uint64_t locks_stamped_ms; /* when the jobs' locks were last refreshed (job.c) */
  /* stats */
  struct ferry_stats st;
  uint64_t t0;
  int running, stopping, closing, pump_depth;
  int first_error;
  struct ferry__retry *retries; /* waiting retries, fired early when their job stops */
  /* Folders that got a file renamed into them: fsynced once each when the run ends, not
   * once per file (the rename's durability, not its correctness, depends on it). */
  char **synced_dirs;
  size_t nsynced_dirs, capsynced_dirs;
  /* Verified files waiting for fsync + rename, done in batches on one worker (one syncfs for
   * many small files instead of one journal commit each). */
  struct ferry__job *final_head, *final_tail;
  int final_running;
  struct ferry__bench_probe *bench; /* ferry bench watching the requests, or NULL */
};

/* engine.c */
/* Debug log (only with cfg.verbose) and notices for the user (see ferry_config.log_cb). */
/* Waits `ms` on the engine's loop outside ferry_engine_run (between API rounds); the stop
 * ends it at once. 0, or FERRY_E_INTERRUPTED. */
int ferry__engine_pause(struct ferry_engine *e, uint64_t ms);
void ferry__log(struct ferry_engine *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ferry__notice(struct ferry_engine *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ferry__pump(struct ferry_engine *e);    /* schedule more work; safe to call often */
/* Requests in flight allowed (and the block size, for a pinned request size). */
void ferry__engine_set_inflight(struct ferry_engine *e, int inflight);
/* The first answer's HTTP version (CURLINFO_HTTP_VERSION): whether connections multiplex,
 * and so how many requests run at once; later answers change nothing. */
void ferry__engine_learn_multiplexing(struct ferry_engine *e, long http_version);
uint64_t ferry__now_ms(struct ferry_engine *e);
/* A copy of `url` fit for messages: no user:password and no query (signed URLs carry
 * credentials there). NULL only when out of memory. */
char *ferry__redact_url(const char *url);

/* loop.c: libuv <-> libcurl glue */
int ferry__loop_init(struct ferry_engine *e);
void ferry__loop_close(struct ferry_engine *e);

/* fetch.c: one-shot API requests (ferry_engine_fetch) */
void ferry__fetch_done(void *fetch, CURLcode rc);

/* put.c: file-backed uploads (ferry_engine_put) */
void ferry__put_done(void *req, CURLcode rc);

/* xfer.c */
void ferry__easy_common(struct ferry_engine *e, CURL *h); /* TLS, versions, timeouts, sockets */
int ferry__xfer_start(struct ferry__job *j, int kind, uint64_t start, uint64_t end, int attempt);
void ferry__xfer_done(struct ferry__xfer *x, CURLcode rc); /* from the drain step */
void ferry__xfer_cancel(struct ferry__xfer *x);
void ferry__xfer_check_stalls(struct ferry_engine *e); /* re-issue silent requests */
/* Writes and journals the partly filled blocks of slow requests (see xfer.c). */
/* The watchdog's tick: each running request's rate over the last tick (x->now_bps). */
void ferry__xfer_sample_rates(struct ferry_engine *e);
void ferry__xfer_flush_slow_blocks(struct ferry_engine *e);

/* job.c: the lifecycle of one download */
int ferry__job_open(struct ferry__job *j);            /* NEW -> PROBING */
int ferry__job_on_probe(struct ferry__job *j, struct ferry__xfer *x); /* headers of a probe */
/* The one way a job's state changes (traced with -v: "label: from -> to (why)"). */
void ferry__job_set_state(struct ferry__job *j, enum ferry__job_state to, const char *why);
/* The one end of a job: unlocks it, counts it done (err 0) or failed, calls its done_cb. */
void ferry__job_end(struct ferry__job *j, int err);
/* Nothing of the job is running: no request, write, hash or journal check. */
static inline int ferry__job_quiet(const struct ferry__job *j) {
  return j->active_xfers == 0 && j->pending_writes == 0 && !j->writers_active && !j->hash_running &&
         !j->verify_running;
}
/* Being renamed, or over: its files are closed or the rename's; nothing may write, read back
 * or hash for it any more. */
static inline int ferry__job_ended(const struct ferry__job *j) {
  return j->state == FERRY__J_FINAL || j->state == FERRY__J_DONE || j->state == FERRY__J_FAILED;
}
static inline int ferry__job_draining(const struct ferry__job *j) {
  return j->state == FERRY__J_DRAINING;
}
static inline int ferry__job_failing(const struct ferry__job *j) {
  return j->state == FERRY__J_DRAINING && (j->drain & FERRY__DRAIN_FAIL);
}
static inline int ferry__job_restarting(const struct ferry__job *j) {
  return j->state == FERRY__J_DRAINING && (j->drain & FERRY__DRAIN_RESTART);
}
void ferry__job_fail(struct ferry__job *j, int err, long status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ferry__job_restart(struct ferry__job *j, const char *why);
void ferry__job_check_progress(struct ferry__job *j); /* maybe finish, restart or fail */
void ferry__job_retry_later(struct ferry__job *j, uint64_t start, uint64_t end, int attempt,
                            long delay_ms);
int ferry__job_steal(struct ferry_engine *e);         /* split the largest hole */
int ferry__job_race_cursor(struct ferry_engine *e);   /* hand over a lagging cursor's rest */
void ferry__job_retry_now(struct ferry__retry *r);    /* fire a waiting retry early */
void ferry__job_unlock(struct ferry__job *j);         /* the job has ended: drop its lock */
void ferry__job_refresh_locks(struct ferry_engine *e); /* hourly, from the watchdog */

/* sink.c: blocks, writes, journal records, resume checks, final rename */
struct ferry__block *ferry__block_new(struct ferry_engine *e, struct ferry__job *j,
                                      uint64_t offset, size_t cap);
void ferry__block_free(struct ferry_engine *e, struct ferry__block *b);
void ferry__arena_init(struct ferry__arena *a, uint64_t budget);
struct ferry__block *ferry__arena_take(struct ferry__arena *a, size_t cap);
size_t ferry__arena_unit(const struct ferry__arena *a, size_t cap); /* budget.c's unit */
int ferry__arena_owns(const struct ferry__arena *a, const struct ferry__block *b);
void ferry__arena_give(struct ferry__arena *a, struct ferry__block *b);
void ferry__arena_free(struct ferry__arena *a);
void ferry__block_submit(struct ferry__block *b);  /* pwrite on a worker */
/* The memory budget is full: writes `b` now, on the loop thread (which reads no socket
 * meanwhile, so TCP holds the servers back), and records it like a writer's block (journal,
 * written set, the hasher reads it back from the file). `b` stays the caller's, to be filled
 * again. Safe inside libcurl's callbacks. 0, or FERRY_E_* (`why` gets the message). */
int ferry__block_write_now(struct ferry__block *b, char *why, size_t why_len);
void ferry__sink_on_written(uv_async_t *a);       /* written blocks come back */
void ferry__sink_verify_journal(struct ferry__job *j);
void ferry__sink_finalize(struct ferry__job *j);
void ferry__sink_sync_dirs(struct ferry_engine *e); /* the folders of renamed files */
uint64_t ferry__round_up(uint64_t v);

/* hash.c */
void ferry__hash_start(struct ferry__job *j); /* begin the digest; git needs the size */
void ferry__hash_kick(struct ferry__job *j);
void ferry__hash_retain(struct ferry__job *j, struct ferry__block *b);
/* Frees up to `want` bytes of retained blocks (of files whose hasher is idle), furthest from
 * the hash cursor first: the hasher reads those bytes back from the file. */
uint64_t ferry__hash_evict(struct ferry_engine *e, uint64_t want);
/* Whether `need` bytes fit the budget, after evicting retained blocks (as above) down to
 * `keep` bytes retained if they do not. */
int ferry__hash_make_room(struct ferry_engine *e, uint64_t need, uint64_t keep);

#endif
