/* ferry.h: the whole public API of libferry.
 *
 * libferry moves files over HTTP(S) as fast as the network, the disk and SHA-256 allow:
 * one event loop (libuv) drives libcurl's multi interface, files are split into ranged
 * requests over a pool of HTTP/2 (or HTTP/1.1) connections, every byte is hashed while it
 * arrives, and an interrupted download resumes from a journal beside its `.part` file.
 *
 * Conventions: functions return 0 or a negative ferry error code (FERRY_E_*); a function
 * that returns an error never calls its callback. Names starting with ferry_ / FERRY_ are
 * public; everything else is internal and may change.
 */
#ifndef FERRY_H
#define FERRY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define FERRY_EXTERN __attribute__((visibility("default")))
#else
#define FERRY_EXTERN
#endif

#define FERRY_VERSION "0.1.0"

/* The error table: X(name, value, exit_class, retryable, message).
 * exit_class groups errors for a command-line tool (see ferry_exit_class). */
#define FERRY_ERRNO_MAP(X)                                                                 \
  X(NOMEM, -1001, FERRY_EXIT_OTHER, 0, "out of memory")                                    \
  X(INVAL, -1002, FERRY_EXIT_USAGE, 0, "invalid argument")                                 \
  X(INTERNAL, -1003, FERRY_EXIT_OTHER, 0, "internal error")                                \
  X(CONNECT, -1010, FERRY_EXIT_NETWORK, 1, "could not connect")                            \
  X(RESOLVE, -1011, FERRY_EXIT_NETWORK, 1, "could not resolve host")                       \
  X(RESET, -1012, FERRY_EXIT_NETWORK, 1, "connection reset or closed early")               \
  X(TIMEOUT, -1013, FERRY_EXIT_NETWORK, 1, "timed out")                                    \
  X(STALLED, -1014, FERRY_EXIT_NETWORK, 1, "transfer stalled")                             \
  X(NETWORK, -1015, FERRY_EXIT_NETWORK, 1, "network error")                                \
  X(HTTP_RETRY, -1020, FERRY_EXIT_HTTP, 1, "server error, retrying")                       \
  X(HTTP, -1021, FERRY_EXIT_HTTP, 0, "HTTP error status")                                  \
  X(RATELIMIT, -1022, FERRY_EXIT_HTTP, 1, "rate limited by the server")                    \
  X(SERVER_WAIT, -1023, FERRY_EXIT_HTTP, 0, "the server asked to wait longer than ferry waits") \
  X(CHECKSUM, -1030, FERRY_EXIT_CHECKSUM, 0, "SHA-256 mismatch")                           \
  X(SIZE, -1031, FERRY_EXIT_PROTOCOL, 0, "size differs from the expected size")            \
  X(IO, -1040, FERRY_EXIT_IO, 0, "local file error")                                       \
  X(NOSPC, -1041, FERRY_EXIT_NOSPC, 0, "no space left on device")                          \
  X(BUSY, -1042, FERRY_EXIT_BUSY, 0, "in use by another process")                          \
  X(CHANGED, -1050, FERRY_EXIT_CHANGED, 0, "the remote file changed during the download")  \
  X(TLS, -1060, FERRY_EXIT_TLS, 0, "TLS or certificate error")                             \
  X(PROTOCOL, -1070, FERRY_EXIT_PROTOCOL, 0, "malformed or unexpected server answer")      \
  X(REDIRECTS, -1071, FERRY_EXIT_PROTOCOL, 0, "too many redirects")                        \
  X(INTERRUPTED, -1090, FERRY_EXIT_INTERRUPTED, 0, "interrupted")                          \
  X(HUB_REPO_NOT_FOUND, -1100, FERRY_EXIT_HUB_REPO, 0, "repository not found")              \
  X(HUB_REVISION_NOT_FOUND, -1101, FERRY_EXIT_HUB_REVISION, 0, "revision not found")        \
  X(HUB_ENTRY_NOT_FOUND, -1102, FERRY_EXIT_HUB_ENTRY, 0, "file not found in the repository") \
  X(HUB_GATED, -1103, FERRY_EXIT_HUB_GATED, 0, "gated repository: access not granted")      \
  X(HUB_AUTH, -1104, FERRY_EXIT_HUB_AUTH, 0, "invalid or insufficient token")               \
  X(HUB_OFFLINE, -1105, FERRY_EXIT_HUB_OFFLINE, 0, "not (completely) in the cache while offline") \
  X(CANCELLED, -1091, FERRY_EXIT_INTERRUPTED, 0, "cancelled")                              \
  X(HUB_CONFLICT, -1106, FERRY_EXIT_HUB_CONFLICT, 0, "already exists or conflicts on the Hub") \
  X(HUB_BAD_REQUEST, -1107, FERRY_EXIT_HUB_BAD_REQUEST, 0, "refused by the Hub as invalid")  \
  X(CARD_INVALID, -1200, FERRY_EXIT_CARD, 0, "invalid model card")

/* Exit classes: the documented exit codes of the `ferry` command. */
enum ferry_exit_class {
  FERRY_EXIT_OK = 0,
  FERRY_EXIT_OTHER = 1,
  FERRY_EXIT_USAGE = 2,
  FERRY_EXIT_NETWORK = 3,
  FERRY_EXIT_HTTP = 4,
  FERRY_EXIT_CHECKSUM = 5,
  FERRY_EXIT_IO = 6,
  FERRY_EXIT_NOSPC = 7,
  FERRY_EXIT_CHANGED = 8,
  FERRY_EXIT_TLS = 9,
  FERRY_EXIT_PROTOCOL = 10,
  FERRY_EXIT_HUB_REPO = 11,
  FERRY_EXIT_HUB_REVISION = 12,
  FERRY_EXIT_HUB_ENTRY = 13,
  FERRY_EXIT_HUB_GATED = 14,
  FERRY_EXIT_HUB_AUTH = 15,
  FERRY_EXIT_HUB_OFFLINE = 16,
  FERRY_EXIT_HUB_CONFLICT = 17,
  FERRY_EXIT_HUB_BAD_REQUEST = 18,
  FERRY_EXIT_CARD = 19, /* a model or dataset card that does not pass `ferry card check` */
  FERRY_EXIT_BUSY = 20, /* the destination is being downloaded by another process */
  FERRY_EXIT_INTERRUPTED = 130
};

enum ferry_error {
#define FERRY__ERR_ENUM(name, value, cls, retry, msg) FERRY_E_##name = value,
  FERRY_ERRNO_MAP(FERRY__ERR_ENUM)
#undef FERRY__ERR_ENUM
  FERRY_E_LAST = -2000
};

/* Text for an error code: a short message, its name ("CHECKSUM"), whether a request that
 * failed with it is worth retrying, and the exit class a command should use. Unknown codes
 * give "unknown error", "UNKNOWN", 0 and FERRY_EXIT_OTHER. */
FERRY_EXTERN const char *ferry_strerror(int err);
FERRY_EXTERN const char *ferry_err_name(int err);
FERRY_EXTERN int ferry_is_retryable(int err);
FERRY_EXTERN int ferry_exit_class(int err);

struct ferry_stats;
struct ferry_job;

/* A stop: the one way to end a call that runs a loop early (ferry_engine_run, _put, _fetch,
 * the pauses between retries, ferry_hub_download, ferry_hub_upload, ferry_bench_*). Name it
 * in ferry_config.stop (the hub calls take it through their `engine` config) and request it
 * from any thread or from a signal handler: every loop watching it wakes at once, not at a
 * next poll. A run flushes its data and journals, puts abandon their requests (a server keeps
 * only whole parts), API calls and waits end; the call returns FERRY_E_INTERRUPTED and every
 * transfer stays resumable. A request is for good: a call started later ends at once. */
struct ferry_stop;
FERRY_EXTERN int ferry_stop_new(struct ferry_stop **out); /* 0, FERRY_E_NOMEM or _INTERNAL */
FERRY_EXTERN void ferry_stop_request(struct ferry_stop *s); /* async-signal-safe; NULL: none */
FERRY_EXTERN int ferry_stop_requested(const struct ferry_stop *s); /* 1 once requested */
FERRY_EXTERN void ferry_stop_free(struct ferry_stop *s); /* after every call using it ended */

/* Engine configuration. Zero means "the default" for every numeric field. */
struct ferry_config {
  /* Requests in flight are found by measuring (the engine's concurrency controller); a value
   * given here pins what it names: */
  int connections;        /* TCP connections per origin (0: the controller's, from 8) */
  int streams;            /* HTTP/2 streams per connection (0: the controller's, from 2) */
  uint64_t chunk_size;    /* size of each ranged request, as given (0: planned by the engine) */
  /* Where the controller starts instead (the setting `ferry bench --sweep --save` stored):
   * these pin nothing. 0: the engine's own start. */
  int start_connections, start_streams;
  uint64_t start_chunk_size; /* the request size until a request's rate is measured */
  uint64_t max_memory;    /* byte budget for received data not yet written and hashed
                             (default 32 MiB); bytes in flight are not counted */
  uint64_t limit_rate;    /* total receive cap in bytes/s, 0 = none */
  int http11;             /* 1: HTTP/1.1 only */
  int h2c;                /* 1: HTTP/2 prior knowledge on http:// (no connection reuse) */
  int insecure;           /* 1: do not verify TLS peers (never the default) */
  const char *cacert;     /* CA bundle file, NULL = system default; copied */
  int max_retries;        /* per request range (default 10) */
  int stall_seconds;      /* re-issue a request that receives nothing this long (20) */
  int connect_timeout;    /* seconds (default 15) */
  struct ferry_stop *stop; /* ends runs, puts, API calls and waits (above); NULL: none.
                             A CLI requests it from its SIGINT/SIGTERM handler */
  int verbose;            /* 1: debug log on stderr, secrets redacted */
  int no_direct_io;       /* 1: always write through the page cache (no O_DIRECT) */
  /* Called on the loop thread about every progress_ms (default 200) while running. */
  void (*progress_cb)(void *user, const struct ferry_stats *stats);
  void *progress_user;
  int progress_ms;
  /* Messages for the user, on the loop thread: FERRY_LOG_NOTICE (a journal discarded or
   * resumed, a file started over, a server without ranges) and, with `verbose`,
   * FERRY_LOG_DEBUG. Without a callback the engine prints nothing. Never holds a secret. */
  void (*log_cb)(void *user, int level, const char *message);
  void *log_user;
};

enum ferry_log_level { FERRY_LOG_NOTICE = 0, FERRY_LOG_DEBUG = 1 };

/* Totals over everything the engine moved since it was created. */
struct ferry_stats {
  uint64_t bytes_total;       /* sum of the sizes of the files known so far */
  uint64_t bytes_done;        /* bytes on disk and accounted for (written or resumed) */
  uint64_t bytes_received;    /* body bytes received from the network */
  uint64_t bytes_refetched;   /* bytes received that were not used or received twice */
  uint64_t bytes_resumed;     /* bytes reused from an earlier run's journal */
  uint64_t bytes_read_back;   /* bytes the hasher read back from the file, not from memory
                                 (resumed ones, and ones the memory budget could not keep) */
  uint64_t requests;          /* HTTP requests issued */
  uint64_t retries;           /* requests retried after an error */
  uint64_t connections_opened;
  int connections_open;       /* open right now */
  int connections_peak;
  int requests_active;
  int files_total, files_done, files_failed;
  uint64_t memory_in_use;     /* buffer bytes allocated now */
  uint64_t memory_peak;
  /* Seconds the engine held the network back for memory: the budget was full (the disk
   * writes, or the CPU the writer threads get, were behind), so a request waited to start or
   * the loop thread wrote a block itself while no socket was read. A share of `seconds`
   * near 1 says the disk side binds, not the network. */
  double held_back_seconds;
  double seconds;             /* since ferry_engine_run started */
  /* The largest files being transferred right now (for a progress display): their label,
   * size and bytes on disk. Labels stay valid until the next call into the engine. */
  struct ferry_file_progress {
    const char *label;
    uint64_t size, done;
  } largest[3];
  int nlargest;
};

/* One file to download. Strings are copied by ferry_engine_add. */
struct ferry_job_spec {
  const char *url;
  const char *path;            /* final path; data goes to path + ".part" until verified */
  const char *sha256_hex;      /* expected SHA-256 (64 hex digits) or NULL */
  /* Instead of SHA-256: the expected git blob SHA-1 (40 hex digits), the hash git gives a
   * regular file: SHA-1 of "blob <size>\0" followed by the content. NULL for SHA-256. */
  const char *git_sha1_hex;
  int64_t size;                /* expected size, -1 if unknown */
  /* NULL-terminated "Name: value" list, or NULL. They go only to the origin (scheme, host,
   * port) of `url`: after a redirect to another origin none of them is sent (curl drops
   * Authorization and Cookie there too), unless location_trusted is 1. */
  const char *const *headers;
  int location_trusted;        /* 1: `headers` go to every origin (curl's --location-trusted) */
  int no_resume;               /* 1: ignore and replace an existing journal */
  /* 1: `identity` names bytes that never change and whose hash is given (a Hub file at a
   * commit): the server's validator is not compared, neither between requests nor with the
   * journal's, and no If-Match pins it. Two sources of the same bytes (a cluster's cache tier
   * and the Hub, two CDN edges) carry different ETags; the final hash still decides, and a
   * mix-up of sources can only fail it, never make a wrong file. */
  int immutable;
  /* 1: `url` answers with a redirect to where the bytes are (a Hub resolve URL). The
   * connections a file's ranges will use are opened beside its first request (the probe)
   * where the bytes come from: at the redirect's target, not at `url`. 0 (a plain URL): at
   * `url`, unless it redirects after all, then at the target too. */
  int url_redirects;
  /* Optional: where partial data and the journal go (default path + ".part" and
   * path + ".part.journal"), and what identifies the download in the journal (default the
   * URL; a Hub download uses repo, commit and file, since signed URLs change). */
  const char *part_path, *journal_path, *identity;
  const char *label;           /* name for progress displays (default: path) */
  /* 0: the engine locks the destination (PATH.ferry-lock beside it) from before the first
   * request until the job ends, and fails with FERRY_E_BUSY when another live process holds
   * it. 1: the caller already holds a lock covering part_path and path (the Hub cache's
   * .locks/), so the engine takes none. */
  int caller_locked;
  /* 1: the folders of `path` that are missing are created (mkdir, never through the last
   * component: a link there is not followed to make its target) before the lock is taken.
   * 0: a missing folder fails the job. */
  int make_parents;
  /* 1: the null sink (`ferry bench --to null`): bytes are received, counted and hashed as
   * usual but never written: no file, journal or lock is made, nothing is renamed, `path` is
   * only a name (never opened or unlinked) and no_resume is implied. A job that reaches the
   * end ends done when the hash matches, with nothing on disk. */
  int discard;
  /* 1 with discard: the bytes are not hashed either (no SHA-256 is computed or compared; the
   * job ends done, unverified, when every byte arrived): ferry bench's TLS-receive stage. */
  int no_hash;
  /* Called on the engine's thread when the job has finished (ok or failed), from inside
   * ferry_engine_run; it may read ferry_job_result and must not call the engine (jobs are
   * added while running through a ferry_job_source). */
  void (*done_cb)(void *user, struct ferry_job *job);
  void *done_user;
};

struct ferry_job_result {
  int error;                   /* 0 or FERRY_E_* */
  long http_status;            /* last HTTP status that caused the error, or 0 */
  char message[512];           /* what happened, with the URL (never a token) */
  char server_code[64];        /* the server's X-Error-Code on the failing answer, if any */
  char server_message[256];    /* the server's X-Error-Message, if any */
  char sha256_hex[65];         /* SHA-256 of the file, when it was computed */
  char git_sha1_hex[41];       /* git blob SHA-1, for jobs that asked for one */
  uint64_t size;
  int verified;                /* 1: the hash matched the expected one */
  uint64_t bytes_resumed;
};

struct ferry_engine;
struct ferry_job;

/* Creates an engine with its own libuv loop and libcurl multi handle. `cfg` may be NULL and
 * is copied. Returns 0 or FERRY_E_NOMEM, FERRY_E_INVAL, FERRY_E_INTERNAL. */
FERRY_EXTERN int ferry_engine_new(const struct ferry_config *cfg, struct ferry_engine **out);

/* Adds a download; it starts when ferry_engine_run runs. The job belongs to the engine and is
 * freed with it. Returns 0 or FERRY_E_NOMEM, FERRY_E_INVAL. */
FERRY_EXTERN int ferry_engine_add(struct ferry_engine *e, const struct ferry_job_spec *spec,
                                  struct ferry_job **out);

/* Jobs made while the engine runs, for downloads of many files: each job holds a few KiB
 * (paths, URL, buffers), so a caller with thousands of files names a source instead of adding
 * every job before ferry_engine_run. While the run goes on, whenever fewer than `window` jobs
 * added by the source are unfinished, the engine calls next() on its own thread (not from
 * inside another callback); next() may add one job with ferry_engine_add (or none, for a file
 * it skips) and returns 1 to be asked again, or 0 when it has nothing more (it is not asked
 * again in this run). A source is not asked once the engine is stopping. A job added by the
 * source is freed by the engine soon after its done_cb returns: its `struct ferry_job *` must
 * not be used after that (read ferry_job_result inside done_cb). */
struct ferry_job_source {
  int (*next)(void *user, struct ferry_engine *e);
  void *user;
  int window; /* unfinished jobs of the source at once (default 1024) */
  int total;  /* jobs it expects to give, for ferry_stats.files_total from the start; 0 unknown */
};

/* Sets the source for the next ferry_engine_run (not while it runs). FERRY_E_INVAL when
 * next is NULL or window is negative. */
FERRY_EXTERN int ferry_engine_set_source(struct ferry_engine *e,
                                         const struct ferry_job_source *src);

/* Runs until every job has finished (ok or failed), the source (if any) has nothing more, or
 * the engine is stopped. Returns 0 when all jobs succeeded, else the error of the first job
 * that failed. */
FERRY_EXTERN int ferry_engine_run(struct ferry_engine *e);

/* `url` as it may be shown or logged: without user:password@ and with its query replaced by
 * "?..." (signed URLs carry their signatures there). malloc'd (free it); NULL when out of
 * memory. */
FERRY_EXTERN char *ferry_redact_url(const char *url);

FERRY_EXTERN void ferry_engine_stats(const struct ferry_engine *e, struct ferry_stats *out);
FERRY_EXTERN void ferry_job_result(const struct ferry_job *j, struct ferry_job_result *out);

/* A small HTTP request (an API call): the whole answer is kept in memory. */
struct ferry_request {
  const char *method;          /* "GET" (NULL), "HEAD", "POST", "PUT", "DELETE" */
  const char *url;
  const char *const *headers;  /* NULL-terminated "Name: value" list, or NULL */
  const void *body;            /* request body or NULL */
  size_t body_len;
  size_t max_body;             /* answers longer than this fail (default 64 MiB) */
  int max_retries;             /* for resets, 429, 5xx (default: the engine's); -1 for none */
  /* Or a body made while it is sent (instead of body; chunked on HTTP/1.1), so it is never
   * whole in memory: body_read fills up to cap bytes of buf and returns how many (0 at its
   * end), or a FERRY_E_* code, which ends the request with that error (not retried);
   * body_rewind starts it over (before each attempt, and when libcurl must send it again)
   * and returns 0 or a FERRY_E_* code. */
  long (*body_read)(void *user, char *buf, size_t cap);
  int (*body_rewind)(void *user);
  void *body_user;
};

struct ferry_response {
  long status;                 /* HTTP status of the final answer (redirects not followed) */
  char *body;                  /* NUL-terminated; owned by the response */
  size_t body_len;
  char *headers;               /* "Name: value\n" lines of the final answer; owned */
  int retries;
};

/* Runs one request to completion on the engine's loop (synchronously: not from inside a
 * callback and not while ferry_engine_run runs). Transport errors, 429 (waiting for
 * Retry-After or the RateLimit header's reset) and 5xx are retried with backoff; any final
 * HTTP status is returned in `out` with 0. Returns 0 or FERRY_E_* (network, TLS, NOMEM,
 * PROTOCOL when the body exceeds max_body); `out` must be freed with ferry_response_free
 * either way. */
FERRY_EXTERN int ferry_engine_fetch(struct ferry_engine *e, const struct ferry_request *req,
                                    struct ferry_response *out);
/* Several requests at once (at most `parallel` in flight), each retried on its own like
 * ferry_engine_fetch (retries go in later rounds after the longest wait asked for). outs[i]
 * and errs[i] get each answer and error; every outs[i] must be freed. Returns 0 when no
 * request failed, else the first error. */
FERRY_EXTERN int ferry_engine_fetch_many(struct ferry_engine *e, const struct ferry_request *reqs,
                                         size_t n, size_t parallel, struct ferry_response *outs,
                                         int *errs);
FERRY_EXTERN void ferry_response_free(struct ferry_response *r);
/* The value of header `name` (case-insensitive) in the response, copied into buf (cap
 * bytes, NUL-terminated). Returns 0, or -1 when absent. */
FERRY_EXTERN int ferry_response_header(const struct ferry_response *r, const char *name,
                                       char *buf, size_t cap);

/* One upload: [offset, offset + length) of the open file `fd` as the body of a PUT. */
struct ferry_put {
  const char *url;
  const char *const *headers;  /* NULL-terminated "Name: value" list, or NULL */
  int fd;
  uint64_t offset, length;
  /* Instead of reading fd: the body made on demand (ferry bench's generated bytes). Fills
   * buf with len bytes of the object at `offset` (the put's offset included); 0 or an errno
   * value. Called again for the same bytes when a request is retried or rewound. */
  int (*fill)(const struct ferry_put *p, uint64_t offset, char *buf, size_t len);
  void *user;                  /* the caller's, untouched */
  /* results */
  int error;                   /* 0 or FERRY_E_* after the retries */
  long status;                 /* HTTP status of the last answer */
  int retries;
  char etag[128];              /* the answer's ETag header, as sent (quotes kept) */
  char message[256];           /* why it failed, one line (no URL: signed URLs are secrets) */
};

struct ferry_put_opts {
  int max_parallel;            /* requests at once; 0: the engine's connections */
  void (*done_cb)(void *user, struct ferry_put *p);            /* each put as it ends */
  void (*progress_cb)(void *user, uint64_t bytes_sent);        /* about every progress_ms */
  void *user;
};

/* Sends every put (synchronously, like ferry_engine_fetch). The body is pread straight into
 * libcurl's upload buffer: memory stays at max_parallel buffers whatever the sizes. Each put
 * is retried on its own (transport errors, stalls, 408, 429 after Retry-After, 5xx); a 4xx
 * fails it at once (an expired signed URL is the caller's to renew). The engine's stop
 * abandons the requests in flight and ends every unfinished put with FERRY_E_INTERRUPTED.
 * Returns 0 when all succeeded, else the first error; each put says its own. */
FERRY_EXTERN int ferry_engine_put(struct ferry_engine *e, struct ferry_put *puts, size_t n,
                                  const struct ferry_put_opts *opts);

/* Frees the engine, its jobs and its loop. Not while ferry_engine_run is running. */
FERRY_EXTERN void ferry_engine_free(struct ferry_engine *e);

/* ---- The Hub client ----------------------------------------------------------------------
 * Downloads a repository snapshot (or some of its files) from a Hugging Face Hub endpoint
 * into huggingface_hub's cache layout, or into a plain folder (local_dir). The endpoint,
 * cache and token come from the same environment variables huggingface_hub reads. */

struct ferry_hub_file;
struct ferry_hub_download_opts {
  const char *repo_id;                 /* "org/name", or "datasets/org/name" etc. */
  const char *repo_type;               /* "model" (NULL), "dataset", "space" */
  const char *revision;                /* branch, tag, commit, refs/pr/N; NULL = "main" */
  const char *const *filenames;        /* these files only (n_filenames), or NULL */
  size_t n_filenames;
  const char *const *include, *const *exclude; /* fnmatch patterns (NULL when none) */
  size_t n_include, n_exclude;
  const char *cache_dir;               /* NULL: HF_HUB_CACHE / HF_HOME / default */
  const char *local_dir;               /* NULL: the cache; else real files here */
  const char *token;                   /* NULL: HF_TOKEN, then the token file */
  int force_download, dry_run;
  const struct ferry_config *engine;   /* transfer settings, progress and log callbacks */
  /* A cluster's cache tier (deploy/mirror): file bodies are asked of
   * MIRROR/{repo}/resolve/{commit}/{path} first, the Hub after (a 404, a failure, a copy that
   * does not match its hash, which is purged there). NULL: FERRY_MIRROR; "" none. The token is
   * the tier's own secret (NULL: FERRY_MIRROR_TOKEN), sent only over HTTPS and only to the
   * mirror; the Hub token never goes there. */
  const char *mirror, *mirror_token;
  /* Each file's outcome, one call per file in the selection's order once the transfers are
   * over; `f` and its strings are valid during the call only. With it, out->files stays NULL
   * (a snapshot of a million files is never an array of results in memory) and out->n_files
   * still counts the files; without it, out->files holds them all. */
  void (*file_cb)(void *user, const struct ferry_hub_file *f);
  void *file_user;
};

enum ferry_hub_file_status {
  FERRY_HUB_FILE_PLANNED = 0, /* dry run: would be downloaded */
  FERRY_HUB_FILE_CACHED,      /* already there: no request */
  FERRY_HUB_FILE_DOWNLOADED,
  FERRY_HUB_FILE_FAILED
};

struct ferry_hub_file {
  char *path;                 /* path in the repository */
  uint64_t size;
  char etag[65];              /* blob name: LFS sha256, or git blob sha1 */
  int lfs;
  int status;                 /* enum ferry_hub_file_status */
  int error;                  /* FERRY_E_* when failed */
};

struct ferry_hub_download_result {
  int error;                  /* 0 or FERRY_E_* (FERRY_E_HUB_* for the Hub's own errors) */
  long http_status;
  char message[512];
  char commit[41];
  char repo_type[16];         /* "model", "dataset", "space" (after REPO_ID prefixes) */
  char repo_id[256];          /* "org/name" without a type prefix */
  char *path;                 /* snapshot folder, the single file, or the local dir */
  struct ferry_hub_file *files;
  size_t n_files;
  int files_downloaded, files_cached;
  uint64_t bytes_total, bytes_downloaded;
  struct ferry_stats stats;   /* of the transfers (and API calls) */
};

/* Runs the whole download (synchronously). Returns 0 or out->error; `out` must be freed with
 * ferry_hub_download_result_free either way. */
FERRY_EXTERN int ferry_hub_download(const struct ferry_hub_download_opts *opts,
                                    struct ferry_hub_download_result *out);
FERRY_EXTERN void ferry_hub_download_result_free(struct ferry_hub_download_result *r);

/* Re-hashes a cached snapshot (or a local dir) against the remote tree, like `hf cache
 * verify`: SHA-256 against lfs.oid for LFS files, git blob SHA-1 against oid for the others.
 * Uses opts' repo_id, repo_type, revision, cache_dir, local_dir, token and engine; file
 * statuses: FERRY_HUB_FILE_CACHED = verified, FAILED with error FERRY_E_CHECKSUM (mismatch)
 * or FERRY_E_HUB_ENTRY_NOT_FOUND (missing), PLANNED = on disk but not in the repository
 * (extra). Returns 0 when every file present matches (out->error says otherwise) and sets
 * *missing / *extra counts. */
FERRY_EXTERN int ferry_hub_verify(const struct ferry_hub_download_opts *opts,
                                  struct ferry_hub_download_result *out, int *missing,
                                  int *extra);

/* ---- Upload ------------------------------------------------------------------------------
 * `hf upload` semantics (hub-protocol.md §6): the repo is created if missing, a missing
 * --revision becomes a branch; preupload decides LFS or regular; unchanged files are dropped;
 * LFS objects the server has are not sent; multipart parts go in parallel over the engine's
 * pool and are journaled (a killed upload resumes); one commit, or several when the folder is
 * beyond one commit's limits. */

struct ferry_hub_upload_progress {
  int phase;                  /* 0 hashing and uploading, 1 committing */
  uint64_t bytes_total;       /* of the files to upload */
  uint64_t bytes_hashed;      /* read for hashing (or known from the hash cache) */
  uint64_t bytes_to_send;     /* LFS bytes the server does not have, known so far */
  uint64_t bytes_sent;
  double seconds;
};

struct ferry_hub_upload_opts {
  const char *repo_id;                 /* "org/name" (or "datasets/org/name", ...) */
  const char *repo_type;               /* NULL: model */
  const char *revision;                /* NULL: main; created as a branch when missing */
  const char *local_path;              /* a file or a folder */
  const char *path_in_repo;            /* NULL: basename for a file, the root for a folder */
  const char *const *include, *const *exclude, *const *delete_patterns;
  size_t n_include, n_exclude, n_delete;
  const char *commit_message;          /* NULL: huggingface_hub's default */
  const char *commit_description;
  int create_pr, private_repo;
  /* 1: no local files (local_path unused): one commit deleting the remote files under
   * path_in_repo that match delete_patterns, as huggingface_hub's delete_files; the repo and
   * the revision must exist. Nothing matching: no commit. */
  int delete_only;
  size_t max_commit_files;             /* operations per commit; 0: 20,000 (the Hub: 25k) */
  const char *token;                   /* NULL: HF_TOKEN, then the token file */
  void (*progress_cb)(void *user, const struct ferry_hub_upload_progress *p);
  void *progress_user;
  const struct ferry_config *engine;   /* connections, TLS, retries, log callback */
};

struct ferry_hub_upload_result {
  int error;                  /* 0 or FERRY_E_* */
  long http_status;
  char message[640];
  char repo_type[16];
  char repo_id[256];
  char revision[256];
  char commit_oid[41];        /* the last commit made ("" when nothing changed) */
  char *commit_url;           /* of that commit, or of the revision when nothing changed */
  char *pr_url;               /* with create_pr */
  int files_total, files_committed, files_unchanged, files_deleted;
  int lfs_objects_sent, lfs_objects_present, commits;
  int no_readme;              /* this upload committed and left the repo without a README.md */
  int skipped_links;          /* symlinks pointing outside the folder, left out */
  uint64_t bytes_total, bytes_sent, bytes_skipped;
  uint64_t parts_sent, parts_resumed, parts_retried;
  int parts_at_once;          /* parts sent at once (engine connections, else 8) */
  double seconds;
};

FERRY_EXTERN int ferry_hub_upload(const struct ferry_hub_upload_opts *opts,
                                  struct ferry_hub_upload_result *out);
FERRY_EXTERN void ferry_hub_upload_result_free(struct ferry_hub_upload_result *r);

/* ---- Hub API calls (shared by every Hub command) -----------------------------------------
 * A client resolves the endpoint (HF_ENDPOINT) and the token (--token, HF_TOKEN, the token
 * file; hub-protocol.md §5.5) once and keeps one engine for API calls. The token is sent to
 * the endpoint's origin only; redirects are not followed. */

struct ferry_hub_client_opts {
  const char *endpoint;               /* NULL: HF_ENDPOINT, else https://huggingface.co */
  const char *token;                  /* NULL: HF_TOKEN, then the token file */
  int no_token;                       /* send no token at all, even a stored one */
  /* How the caller got `token`, for messages about it ("stdin", "the terminal"); NULL:
   * "--token". A message naming an option the user did not give sends them looking in
   * the wrong place. */
  const char *token_label;
  const struct ferry_config *engine;  /* TLS (cacert, insecure), retries, log callback */
};

enum ferry_hub_token_source {
  FERRY_HUB_TOKEN_NONE = 0,
  FERRY_HUB_TOKEN_EXPLICIT, /* given by the caller (--token) */
  FERRY_HUB_TOKEN_ENV,      /* HF_TOKEN or HUGGING_FACE_HUB_TOKEN */
  FERRY_HUB_TOKEN_FILE      /* HF_TOKEN_PATH, default $HF_HOME/token */
};

struct ferry_hub_client;

/* Returns 0, or FERRY_E_INVAL (bad endpoint) / FERRY_E_NOMEM / FERRY_E_IO with a reason in
 * `why`. */
FERRY_EXTERN int ferry_hub_client_new(const struct ferry_hub_client_opts *opts,
                                      struct ferry_hub_client **out, char *why, size_t why_len);
FERRY_EXTERN void ferry_hub_client_free(struct ferry_hub_client *c);
FERRY_EXTERN const char *ferry_hub_client_endpoint(const struct ferry_hub_client *c);
/* Where the token came from (enum ferry_hub_token_source); NONE when no token is sent. */
FERRY_EXTERN int ferry_hub_client_token_source(const struct ferry_hub_client *c);
/* Where the token came from, in words: the explicit token's label ("--token" unless
 * token_label said otherwise), "HF_TOKEN", "the token file", or "none". */
FERRY_EXTERN const char *ferry_hub_client_token_origin(const struct ferry_hub_client *c);

struct ferry_hub_reply {
  long status;                /* HTTP status, 0 when no answer came */
  char *body;                 /* the answer's body (NUL-terminated), or NULL */
  size_t body_len;
  char *headers;              /* "Name: value\n" lines */
  int error;                  /* 0 for 2xx; else FERRY_E_HUB_* / FERRY_E_HTTP / transport */
  char error_code[64];        /* the Hub's X-Error-Code ("RepoNotFound", ...), or "" */
  char server_message[512];   /* the Hub's own words (X-Error-Message or body "error") */
  char message[640];          /* one line for the user, e.g. "HTTP 409: conflict: ..." */
};

/* One API call: `path` starts with '/' and is appended to the endpoint (already escaped);
 * `content_type` and `body` may be NULL. 429 and 5xx are retried with backoff. Returns
 * out->error; `out` must be freed with ferry_hub_reply_free either way. Error answers map
 * as huggingface_hub does: RepoNotFound / 401 -> HUB_REPO_NOT_FOUND, RevisionNotFound,
 * EntryNotFound, GatedRepo, 401 "Invalid credentials" and 403 -> HUB_AUTH, 409/412 ->
 * HUB_CONFLICT, 400/422 -> HUB_BAD_REQUEST. */
FERRY_EXTERN int ferry_hub_call(struct ferry_hub_client *c, const char *method,
                                const char *path, const char *content_type, const void *body,
                                size_t len, struct ferry_hub_reply *out);
/* Header `name` (case-insensitive) of a reply into buf; 0, or -1 when absent. */
FERRY_EXTERN int ferry_hub_reply_header(const struct ferry_hub_reply *r, const char *name,
                                        char *buf, size_t cap);
FERRY_EXTERN void ferry_hub_reply_free(struct ferry_hub_reply *r);

/* ---- Hub repo management and listing (engine/hub/repos.c, engine/hub/listing.c) ----------
 * One function per Hub API call of `hf repos`, `hf ls`, `hf models ls` (hub-protocol.md §6.1,
 * §6.2, §7). Each takes a client (ferry_hub_client_new), a REPO_ID ("ns/name"; a "datasets/"
 * or "spaces/" prefix sets the type) and a repo type ("model", "dataset", "space"; NULL =
 * model, or the prefix's). Each returns 0 or a FERRY_E_* code and writes a one-line reason
 * into why[why_len] (never a token): FERRY_E_INVAL for arguments refused before any request
 * (a repo id with "..", spaces, ...), FERRY_E_HUB_* for the Hub's answers as ferry_hub_call
 * maps them (HUB_REPO_NOT_FOUND, HUB_AUTH for 403 without write access, HUB_CONFLICT for an
 * existing repo/branch/tag, ...), FERRY_E_PROTOCOL for a malformed answer, transport errors.
 * Strings returned through `char **` and the result structs are malloc'd; free them with
 * free() / the matching *_free function. */

/* Splits and checks a REPO_ID as every function here does: a "models/", "datasets/" or
 * "spaces/" prefix sets the type (contradicting repo_type is an error), the id is checked with
 * huggingface_hub's rules. id_out gets "ns/name" (without the prefix), type_out "model",
 * "dataset" or "space". FERRY_E_INVAL with the reason in why. */
FERRY_EXTERN int ferry_hub_repo_id_parse(const char *repo_id, const char *repo_type,
                                         char id_out[256], char type_out[16], char *why,
                                         size_t why_len);

/* An hf:// URI, as `hf` takes one wherever a REPO_ID goes:
 * hf://[models/|datasets/|spaces/]NAMESPACE/NAME[@REVISION][/PATH]. A revision ends at the
 * first '/' (write %2F for a '/' in a branch name), except refs/pr/N and refs/convert/NAME,
 * which keep theirs; %XX escapes in it are decoded. repo_id gets the REPO_ID form, the type
 * as a prefix ("datasets/ns/name"); revision and path are "" when absent; a trailing '/' on
 * the path is kept (a folder). Buckets and kernels are refused. FERRY_E_INVAL with the reason
 * in why. ferry_hub_uri_is: the string starts with "hf://" (meant as a URI, even a bad one). */
struct ferry_hub_uri {
  char repo_id[300];
  char repo_type[16];
  char revision[256];
  char path[4096];
};
FERRY_EXTERN int ferry_hub_uri_is(const char *s);
FERRY_EXTERN int ferry_hub_uri_parse(const char *uri, struct ferry_hub_uri *out, char *why,
                                     size_t why_len);

/* POST /api/repos/create. `space_sdk` (gradio, streamlit, docker, static) is required for a
 * Space and ignored otherwise. With exist_ok, an existing repo is success (*existed = 1) as in
 * huggingface_hub: the 409's `url` is used, and a 403 (no right to create there) is success
 * when the repo can be read. *url_out: the repo's URL (e.g. {endpoint}/datasets/ns/name). */
FERRY_EXTERN int ferry_hub_repo_create(struct ferry_hub_client *c, const char *repo_id,
                                       const char *repo_type, int private_repo, int exist_ok,
                                       const char *space_sdk, char **url_out, int *existed,
                                       char *why, size_t why_len);
/* DELETE /api/repos/delete. With missing_ok a missing repo is success (*was_missing = 1). */
FERRY_EXTERN int ferry_hub_repo_delete(struct ferry_hub_client *c, const char *repo_id,
                                       const char *repo_type, int missing_ok, int *was_missing,
                                       char *why, size_t why_len);
/* PUT /api/{type}s/{repo}/settings. private_repo: -1 unchanged, 0 public, 1 private; gated:
 * NULL unchanged, "auto", "manual" or "false". At least one must change. */
FERRY_EXTERN int ferry_hub_repo_settings(struct ferry_hub_client *c, const char *repo_id,
                                         const char *repo_type, int private_repo,
                                         const char *gated, char *why, size_t why_len);
/* POST /api/repos/move: both ids "namespace/name". *url_out: the repo's new URL. */
FERRY_EXTERN int ferry_hub_repo_move(struct ferry_hub_client *c, const char *from_id,
                                     const char *to_id, const char *repo_type, char **url_out,
                                     char *why, size_t why_len);
/* POST .../branch/{branch} from `revision` (NULL: the default branch); with exist_ok an
 * existing branch is success (*existed = 1). DELETE .../branch/{branch}. */
FERRY_EXTERN int ferry_hub_branch_create(struct ferry_hub_client *c, const char *repo_id,
                                         const char *repo_type, const char *branch,
                                         const char *revision, int exist_ok, int *existed,
                                         char *why, size_t why_len);
FERRY_EXTERN int ferry_hub_branch_delete(struct ferry_hub_client *c, const char *repo_id,
                                         const char *repo_type, const char *branch, char *why,
                                         size_t why_len);
/* POST .../tag/{revision} {"tag", "message"?} (revision NULL: main); with exist_ok an
 * existing tag is success (*existed = 1). DELETE .../tag/{tag}. */
FERRY_EXTERN int ferry_hub_tag_create(struct ferry_hub_client *c, const char *repo_id,
                                      const char *repo_type, const char *tag,
                                      const char *message, const char *revision, int exist_ok,
                                      int *existed, char *why, size_t why_len);
FERRY_EXTERN int ferry_hub_tag_delete(struct ferry_hub_client *c, const char *repo_id,
                                      const char *repo_type, const char *tag, char *why,
                                      size_t why_len);

/* GET .../refs: the repo's branches, tags and converts. */
struct ferry_hub_git_ref {
  char *name;             /* "main", "v1.0" */
  char *ref;              /* "refs/heads/main" */
  char target_commit[41]; /* 40 hex */
};
struct ferry_hub_refs {
  struct ferry_hub_git_ref *branches, *tags, *converts;
  size_t n_branches, n_tags, n_converts;
};
FERRY_EXTERN int ferry_hub_list_refs(struct ferry_hub_client *c, const char *repo_id,
                                     const char *repo_type, struct ferry_hub_refs *out,
                                     char *why, size_t why_len);
FERRY_EXTERN void ferry_hub_refs_free(struct ferry_hub_refs *r);

/* A file or folder of a repository. */
struct ferry_hub_tree_entry {
  int is_dir;
  char *path;             /* path in the repository */
  uint64_t size;          /* content size (0 for folders) */
  char oid[65];           /* git blob id (of the LFS pointer for LFS files), or tree id */
  int lfs;                /* 1: stored in LFS */
  char lfs_sha256[65];    /* the content's SHA-256 for LFS files, else "" */
};

/* GET .../tree/{revision}[/{path}]?recursive=..., every page (Link rel="next", at most
 * 100,000 pages, only on the endpoint). `path` NULL or "" is the root; revision NULL is main.
 * A `path` naming a file (the tree answers 404 there) gives that one file, from paths-info. */
struct ferry_hub_tree_listing {
  char commit[41];        /* the X-Repo-Commit of the answer, "" when the Hub sent none */
  struct ferry_hub_tree_entry *entries;
  size_t n, n_files, n_dirs, n_lfs;
  uint64_t total_size;    /* sum of the file sizes */
  int pages;
};
FERRY_EXTERN int ferry_hub_list_tree(struct ferry_hub_client *c, const char *repo_id,
                                     const char *repo_type, const char *revision,
                                     const char *path, int recursive,
                                     struct ferry_hub_tree_listing *out, char *why,
                                     size_t why_len);
FERRY_EXTERN void ferry_hub_tree_listing_free(struct ferry_hub_tree_listing *l);

/* GET /api/{type}s/{repo}/revision/{revision}?blobs=true (huggingface_hub's repo_info with
 * files_metadata=True): the repo's metadata and its files with sizes and LFS flags. */
struct ferry_hub_info {
  char repo_id[256];
  char repo_type[16];
  char sha[41];
  char last_modified[64], created_at[64]; /* ISO-8601 as the Hub sends it, or "" */
  int is_private;                         /* -1 unknown, 0, 1 */
  char gated[16];                         /* "false", "auto", "manual", or "" unknown */
  int disabled;                           /* -1 unknown, 0, 1 */
  int64_t downloads, likes;               /* -1 unknown */
  char *card_data;                        /* cardData as compact JSON, or NULL */
  struct ferry_hub_tree_entry *files;     /* the siblings (files only) */
  size_t n_files, n_lfs;
  uint64_t total_size;
};
FERRY_EXTERN int ferry_hub_repo_info(struct ferry_hub_client *c, const char *repo_id,
                                     const char *repo_type, const char *revision,
                                     struct ferry_hub_info *out, char *why, size_t why_len);
FERRY_EXTERN void ferry_hub_info_free(struct ferry_hub_info *info);

/* GET /api/models|datasets|spaces with search, author, filter, sort and limit, following the
 * Link pagination until `limit` results (default 30, as `hf models ls`). sort: downloads,
 * likes, created, modified, trending (or the Hub's names createdAt, lastModified,
 * trendingScore); NULL: the Hub's order. */
struct ferry_hub_search_opts {
  const char *repo_type;         /* model (NULL), dataset, space */
  const char *query;             /* substring of the id, or NULL */
  const char *author;
  const char *const *filters;    /* tags every result has */
  size_t n_filters;
  const char *sort;
  size_t limit;                  /* 0: 30; at most 100,000 */
};
struct ferry_hub_search_item {
  char *id;
  int is_private;                /* -1 unknown, 0, 1 */
  char gated[16];                /* "false", "auto", "manual", or "" */
  int64_t downloads, likes;      /* -1 unknown */
  char last_modified[64], created_at[64];
  char *pipeline_tag;            /* or NULL */
};
struct ferry_hub_search_result {
  struct ferry_hub_search_item *items;
  size_t n;
  int pages;
};
FERRY_EXTERN int ferry_hub_search(struct ferry_hub_client *c, const struct ferry_hub_search_opts *o,
                                  struct ferry_hub_search_result *out, char *why,
                                  size_t why_len);
FERRY_EXTERN void ferry_hub_search_result_free(struct ferry_hub_search_result *r);
/* ---- end of Hub repo management and listing ---------------------------------------------- */

/* ---- Hub login: ferry auth and ferry env (hub-protocol.md §5.4, §5.5) ----------------------
 * The same files as `hf auth login`: the token file ($HF_TOKEN_PATH, default $HF_HOME/token)
 * holds the active token, `stored_tokens` beside it every token logged in, by name (an INI
 * file), both mode 0600 in a folder of mode 0700. No function here returns, logs or puts a
 * token value into a message. */

struct ferry_hub_paths {
  char *hf_home;            /* HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/... */
  char *cache_dir;          /* HF_HUB_CACHE, else HF_HOME/hub */
  char *token_path;         /* HF_TOKEN_PATH, else HF_HOME/token */
  char *stored_tokens_path; /* the folder of token_path + "/stored_tokens" */
};
/* The paths huggingface_hub would use, from the environment. Free with ferry_hub_paths_free. */
FERRY_EXTERN int ferry_hub_paths_get(struct ferry_hub_paths *out);
FERRY_EXTERN void ferry_hub_paths_free(struct ferry_hub_paths *p);

struct ferry_hub_whoami {
  char type[16];            /* "user" (or "org", "app") */
  char user[128];           /* "name" */
  char fullname[256];
  char **orgs;              /* the names in "orgs" */
  size_t n_orgs;
  char token_name[257];     /* auth.accessToken.displayName, "" when absent */
  char role[32];            /* auth.accessToken.role ("read", "write", "fineGrained"), or "" */
};
/* GET /api/whoami-v2 with the client's token. No token: FERRY_E_HUB_AUTH ("not logged in");
 * a token the Hub refuses: FERRY_E_HUB_AUTH; HF_HUB_OFFLINE: FERRY_E_HUB_OFFLINE. On error,
 * msg gets one line. Free `out` with ferry_hub_whoami_free either way. */
FERRY_EXTERN int ferry_hub_whoami(struct ferry_hub_client *c, struct ferry_hub_whoami *out,
                                  char *msg, size_t msg_len);
FERRY_EXTERN void ferry_hub_whoami_free(struct ferry_hub_whoami *w);

/* The token a Hub command would send without --token (HF_TOKEN, then the token file;
 * HF_HUB_DISABLE_IMPLICIT_TOKEN honoured), for `ferry auth token`, which prints it because
 * the user asked: nothing else may show it. *out is malloc'd (zero it before free) or NULL
 * when not logged in; *source is an enum ferry_hub_token_source. 0 or FERRY_E_*. */
FERRY_EXTERN int ferry_hub_token_get(char **out, int *source);

/* `hf auth login --token`: the client's explicit token (ferry_hub_client_opts.token) must not
 * be an org token (api_org...: FERRY_E_HUB_AUTH) and is checked with whoami-v2, then stored in
 * stored_tokens under auth.accessToken.displayName (else "oauth-<user>") and written to the
 * token file. `who` gets the whoami answer (free it with ferry_hub_whoami_free). A
 * stored_tokens that does not parse is left alone: FERRY_E_IO with the line in msg. */
FERRY_EXTERN int ferry_hub_login(struct ferry_hub_client *c, struct ferry_hub_whoami *who,
                                 char *msg, size_t msg_len);

struct ferry_hub_stored_token {
  char *name;
  char masked[16]; /* as `hf auth list`: first 3 + "****" + last 4 characters; "****" for a
                      token shorter than 16 characters (the mask would show all of it) */
  int active;      /* it is the token in use (HF_TOKEN, else the token file) */
};
struct ferry_hub_token_list {
  struct ferry_hub_stored_token *v; /* in file order */
  size_t n;
  int env_token;   /* HF_TOKEN or HUGGING_FACE_HUB_TOKEN is set: it wins over the files */
  int file_token;  /* the token file holds a token */
};
/* The stored tokens, never their values. Free with ferry_hub_token_list_free either way. */
FERRY_EXTERN int ferry_hub_tokens_list(struct ferry_hub_token_list *out, char *msg,
                                       size_t msg_len);
FERRY_EXTERN void ferry_hub_token_list_free(struct ferry_hub_token_list *l);

struct ferry_hub_logout_result {
  int was_logged_in;  /* there was a token file or a stored token */
  int removed_active; /* the token file was deleted */
  int env_token;      /* HF_TOKEN / HUGGING_FACE_HUB_TOKEN still set: still logged in */
};
/* `hf auth logout`: token_name NULL deletes the token file and stored_tokens; else that
 * section is removed, and the token file when it held that token. An unknown name:
 * FERRY_E_INVAL (huggingface_hub says nothing; ferry says it). */
FERRY_EXTERN int ferry_hub_logout(const char *token_name, struct ferry_hub_logout_result *out,
                                  char *msg, size_t msg_len);
/* `hf auth switch`: stored token `token_name` becomes the token file's. An unknown name:
 * FERRY_E_INVAL. *env_overrides = 1 when HF_TOKEN is set to another token. */
FERRY_EXTERN int ferry_hub_switch(const char *token_name, int *env_overrides, char *msg,
                                  size_t msg_len);
/* ---- Model cards and cache management (engine/hub/card.c, card_schema.c, cache_scan.c,
 * cache_clean.c) -------------------------------------------------------------------------- */

enum ferry_card_type { FERRY_CARD_MODEL = 0, FERRY_CARD_DATASET = 1 };

/* Hard limits of the card parser: a card beyond them is an error, never a crash or a hang. */
#define FERRY_CARD_MAX_BYTES (16u << 20)     /* the whole README.md */
#define FERRY_CARD_MAX_METADATA (1u << 20)   /* the YAML between the --- lines */
#define FERRY_CARD_MAX_DEPTH 64              /* nested sequences and mappings */
#define FERRY_CARD_MAX_NODES 100000          /* nodes, counting what aliases expand to */
#define FERRY_CARD_MAX_ALIASES 1000
#define FERRY_CARD_MAX_ISSUES 100            /* errors (or warnings) kept; the rest counted */

struct ferry_card_issue {
  int line, column;       /* 1-based, in the whole file; 0 when not about a place */
  char message[256];
};

struct ferry_card_report {
  int has_metadata;       /* a --- block was found and parsed */
  struct ferry_card_issue *errors, *warnings;
  size_t n_errors, n_warnings;
  size_t more_errors;     /* errors beyond FERRY_CARD_MAX_ISSUES, not kept */
};

/* Checks a card (README.md text, `len` bytes, need not be NUL-terminated) as the Hub would:
 * UTF-8, the `---` front matter parsed with libyaml (limits above), then the known fields:
 * license identifiers from the Hub's list, types of language, tags, datasets, metrics,
 * base_model, pipeline_tag, library_name, ..., and a well-formed model-index. A card without
 * metadata is a warning, not an error (like the Hub). Returns 0 when there is no error,
 * FERRY_E_CARD_INVALID when out->errors is not empty, FERRY_E_NOMEM. `out` must be freed with
 * ferry_card_report_free either way. */
FERRY_EXTERN int ferry_card_check(const char *text, size_t len, enum ferry_card_type type,
                                  struct ferry_card_report *out);
FERRY_EXTERN void ferry_card_report_free(struct ferry_card_report *r);

/* Where a card's parts are, as huggingface_hub splits it: [*meta_start, *meta_end) the YAML
 * between the `---` lines, *body_start where the text after the closing `---` line begins.
 * Returns 1 with all three set, 0 when there is no metadata block (the whole card is text:
 * *body_start = 0), -1 when a block is opened and never closed (treated as text too). */
FERRY_EXTERN int ferry_card_split(const char *text, size_t len, size_t *meta_start,
                                  size_t *meta_end, size_t *body_start);
/* A repo's card (README.md at `revision`, NULL: main), as `hf models card` fetches it:
 * *text malloc'd, NUL-terminated, *len bytes. A repo without README.md is
 * FERRY_E_HUB_ENTRY_NOT_FOUND. 0 or FERRY_E_* with a reason in why. */
FERRY_EXTERN int ferry_hub_card_fetch(struct ferry_hub_client *c, const char *repo_id,
                                      const char *repo_type, const char *revision, char **text,
                                      size_t *len, char *why, size_t why_len);

/* A new card: YAML metadata with placeholders and the usual sections. It passes
 * ferry_card_check. *out is malloc'd and NUL-terminated. 0 or FERRY_E_NOMEM / FERRY_E_INVAL. */
FERRY_EXTERN int ferry_card_scaffold(enum ferry_card_type type, char **out, size_t *len);

/* The Hugging Face cache as huggingface_hub's scan_cache_dir sees it (hub-protocol.md §3.7).
 * Sizes count each blob once (by device and inode, so hard links count once too). */
struct ferry_cache_revision {
  char commit[41];
  char *path;                 /* snapshots/<commit> */
  uint64_t size_on_disk;      /* distinct blobs of this revision */
  size_t n_files;             /* files in the snapshot */
  double last_modified;       /* newest blob mtime (the folder's when empty), unix seconds */
  char **refs;                /* ref names pointing to it ("main", "refs/pr/1") */
  size_t n_refs;
};

struct ferry_cache_repo {
  char repo_type[16];         /* "model", "dataset", "space" */
  char *repo_id;              /* "org/name" */
  char *path;                 /* the repo folder */
  uint64_t size_on_disk;      /* distinct blobs of all revisions */
  size_t n_files;             /* distinct blobs */
  double last_accessed, last_modified;
  struct ferry_cache_revision *revisions;
  size_t n_revisions;
};

struct ferry_cache_partial {  /* a partial download or ferry's bookkeeping for one */
  char *path;
  uint64_t size;
  int in_use;                 /* a live ferry process holds its lock: prune leaves it */
};

struct ferry_cache_info {
  char *cache_dir;
  struct ferry_cache_repo *repos;     /* sorted by type, then id */
  size_t n_repos;
  uint64_t size_on_disk;
  struct ferry_cache_partial *partials; /* *.incomplete, *.journal, dead owners' locks */
  size_t n_partials;
  char **warnings;            /* corrupted entries, stray files: one line each */
  size_t n_warnings;
};

/* Scans the cache (cache_dir, or HF_HUB_CACHE / HF_HOME as ferry download). A missing cache
 * folder is an empty cache. Never follows a symlink out of it for anything but sizes and
 * times. 0, FERRY_E_IO (cannot read the folder), FERRY_E_NOMEM; free with
 * ferry_cache_info_free either way. */
FERRY_EXTERN int ferry_cache_scan(const char *cache_dir, struct ferry_cache_info *out);
FERRY_EXTERN void ferry_cache_info_free(struct ferry_cache_info *info);

enum ferry_cache_item_kind {
  FERRY_CACHE_ITEM_REPO = 0,  /* a whole repo folder */
  FERRY_CACHE_ITEM_SNAPSHOT,  /* snapshots/<commit> */
  FERRY_CACHE_ITEM_REF,       /* refs/<name> */
  FERRY_CACHE_ITEM_BLOB,      /* blobs/<etag> no longer referenced */
  FERRY_CACHE_ITEM_PARTIAL    /* *.incomplete, *.journal, a dead owner's .ferry-lock */
};

struct ferry_cache_item {
  int kind;                   /* enum ferry_cache_item_kind */
  char *path;
  uint64_t bytes;             /* what deleting it frees (0 for snapshots and refs) */
  char repo_type[16];
  char *repo_id;
  char commit[41];            /* for snapshots and refs, else "" */
};

struct ferry_cache_plan {
  struct ferry_cache_item *items; /* in execution order: repos, snapshots, refs, blobs, partials */
  size_t n_items;
  uint64_t freed_bytes;
  char message[512];          /* why planning failed */
};

/* Plans `ferry cache rm`: each target is a 40-hex revision, "<type>/<repo_id>" (model/org/name,
 * dataset/org/ds; case-insensitive) or "hf://[<types>/]<repo_id>". A revision's snapshot, the
 * refs pointing to it and the blobs no other remaining revision uses go; when every revision
 * of a repo is selected, the repo folder goes. A target not in the cache is FERRY_E_INVAL with
 * out->message. Free with ferry_cache_plan_free either way. */
FERRY_EXTERN int ferry_cache_plan_rm(const struct ferry_cache_info *info,
                                     const char *const *targets, size_t n_targets,
                                     struct ferry_cache_plan *out);
/* Plans `ferry cache prune`: detached revisions (no ref points to them), as above, and the
 * partial files not in use. */
FERRY_EXTERN int ferry_cache_plan_prune(const struct ferry_cache_info *info,
                                        struct ferry_cache_plan *out);
/* Deletes what the plan lists, without following symlinks and only below info->cache_dir.
 * A path already gone is skipped. *n_done = items deleted; errors are counted in *n_failed
 * (and the first one's text goes to why). 0, or FERRY_E_IO when an item could not go. */
FERRY_EXTERN int ferry_cache_plan_execute(const struct ferry_cache_info *info,
                                          const struct ferry_cache_plan *plan, size_t *n_done,
                                          size_t *n_failed, char *why, size_t why_len);
FERRY_EXTERN void ferry_cache_plan_free(struct ferry_cache_plan *plan);
/* ---- end of model cards and cache management -------------------------------------------- */

/* ---- Benchmark: ferry bench (engine/hub/bench.c; engine/src/bench_*.c) ---------------------
 * How fast a download goes on this machine and link, and what limits it. The download is a
 * real one through the engine (the Hub client's engine, the job a `ferry download` makes:
 * resolve URL, token to the endpoint's origin only, Range requests, SHA-256), into the null
 * sink (ferry_job_spec.discard) or into a temporary folder that is removed afterwards; nothing
 * a bench writes is renamed into a real destination. A file shorter than the run is fetched
 * again. The run stops after `seconds`, or earlier once the rate has settled: the last three
 * one-second rates within 5 % of their mean. The first second (a quarter of runs shorter than
 * 4 s) is slow start and left out of every rate. Then each local stage runs alone (SHA-256 on
 * one core, fsync'ed writes into the temporary folder) and the verdict names the limit. */
enum ferry_bench_limit {
  FERRY_BENCH_LIMIT_NETWORK = 0, /* the local stages have room: the link or the path to it */
  FERRY_BENCH_LIMIT_CPU,         /* SHA-256 on one core */
  FERRY_BENCH_LIMIT_DISK,        /* fsync'ed writes */
  FERRY_BENCH_LIMIT_SERVER,      /* the server waits long before it sends (TTFB) */
  FERRY_BENCH_LIMIT_CONNECTION_CAP /* each connection held to a rate (seen by a sweep) */
};

struct ferry_bench_opts {
  /* The target: a URL (the Hub token goes only to the endpoint's origin), or a Hub repo (its
   * largest file, or `filename`), or neither: the local stages alone. */
  const char *url;
  const char *repo_id, *repo_type, *revision, *filename;
  const char *endpoint, *token;  /* as ferry_hub_client_opts (NULL: HF_ENDPOINT, HF_TOKEN...) */
  /* A repo target's file from a cluster's cache tier, as ferry_hub_download_opts' mirror
   * (NULL: FERRY_MIRROR, FERRY_MIRROR_TOKEN; "" none). Not for a URL target. */
  const char *mirror, *mirror_token;
  int to_null;                   /* 1: the null sink; 0: a temporary folder on disk */
  const char *dir;               /* where the temporary folder is made; NULL: the Hub cache */
  double seconds;                /* the whole run, grace included; 0: 10 */
  /* 1: measure an upload instead. With no url: LFS objects as `ferry upload` sends them (LFS
   * batch, multipart parts, completion) into a scratch repo (private, a random name under the
   * token's user, created with exist_ok off, deleted after; a killed run's is recorded under
   * $HF_HOME/ferry/bench-upload/ and deleted by the next run); needs a write token
   * (FERRY_E_HUB_AUTH before anything is created). With url: parts of the engine's chunk
   * size PUT there, no token ever. The bytes are generated, not read from a disk. */
  int upload;
  const struct ferry_config *engine; /* connections, TLS, the stop...; progress_cb is ferry's */
  /* About every 200 ms while downloading: seconds so far and the rate of the last second. */
  void (*progress_cb)(void *user, double seconds, double mb_per_s);
  void *progress_user;
};

struct ferry_bench_conn {
  long local_port;               /* tells the connections apart */
  double mb_per_s;               /* over the measured window */
};

#define FERRY_BENCH_SERIES 128   /* seconds of per-connection rates kept for a plot */

struct ferry_bench_result {
  int error;                     /* 0 or FERRY_E_* (FERRY_E_INTERRUPTED: what was measured) */
  long http_status;
  char message[640];
  int has_download;              /* 0: no target, local stages only */
  int repo_target;               /* the target is a Hub repo (else a URL) */
  char target[1024];             /* the URL as shown (no query), or repo/file */
  char file[512];                /* the file of a repo target */
  char mirror[512];              /* the mirror it came from (as shown), or "" */
  uint64_t file_size;            /* 0 unknown */
  int to_null;
  char dir[4096];                /* the temporary folder (removed) or the disk stage's folder */
  double grace;                  /* seconds of slow start left out */
  double seconds;                /* the measured window, after the grace */
  int settled;                   /* 1: stopped early, the rate had settled */
  uint64_t bytes;                /* useful bytes received (upload: sent) in the window */
  uint64_t bytes_all;            /* all body bytes received, grace included (upload: the
                                    bytes of every part the server accepted) */
  double mb_per_s, gbit_per_s;   /* bytes / seconds (MB = 10^6 bytes) */
  double rates[128];             /* each second's MB/s in the window (the last 128) */
  size_t nrates;
  struct ferry_bench_conn conns[64]; /* each connection's rate while it carried bytes */
  size_t nconns;
  /* conns[i]'s MB/s in each second of the window (the first FERRY_BENCH_SERIES seconds; 0
   * before it opened and after it closed); rates[] is the total of the same seconds. */
  float conn_series[64][FERRY_BENCH_SERIES];
  size_t nseries;
  int connections_peak;          /* open at once, at most */
  double ttfb_p50, ttfb_p90, ttfb_p99;          /* seconds from sent to first byte, every request */
  double latency_p50, latency_p90, latency_p99; /* seconds, over complete requests */
  size_t nrequests, ncomplete;
  double rtt;                    /* seconds: the shortest TCP handshake, 0 unknown */
  uint64_t retries;
  int errors;                    /* files that failed (other than by the stop) */
  int rounds;                    /* times the file was started */
  double cpu_seconds;            /* user + system over the window */
  double cpu_s_per_gb;
  uint64_t peak_rss;             /* bytes */
  char edge[256];                /* "x-amz-cf-pop: FRA56-P1", "via: ...", or "" */
  int upload;                    /* the figures are an upload's: bytes sent, accepted */
  char scratch_repo[256];        /* the scratch repo it used (deleted), or "" */
  int scratch_left;              /* 1: it could not be deleted (recorded for the next run) */
  int objects_completed;         /* upload: LFS objects sent whole and completed */
  double sha256_per_core;        /* MB/s */
  int cores;
  double disk_mb_per_s;          /* fsync'ed writes into dir, 0 when not measured */
  /* The TLS-receive stage: the same target into the null sink with the hash off, for about
   * 2 s (0 when not measured): what receiving alone reaches and costs. */
  double tls_mb_per_s, tls_cpu_s_per_gb;
  uint64_t tls_bytes;            /* all body bytes the stage received */
  double sha256_cpu_s_per_gb;    /* the SHA-256 stage's CPU per GB (1000 / sha256_per_core) */
  double write_cpu_s_per_gb;     /* the disk stage's CPU per GB written */
  /* cpu_s_per_gb's parts as the stage runs estimate them (0..1, each capped at 1): SHA-256,
   * writing (0 into the null sink), receiving (TLS, HTTP, copies). 0 when not measured. */
  double share_sha256, share_write, share_receive;
  int limit;                     /* enum ferry_bench_limit */
  char verdict[512];
};

/* Runs the benchmark (synchronously). Returns 0 or out->error (a failed download fills the
 * message as ferry_hub_download would; FERRY_E_INTERRUPTED keeps the figures measured; a
 * server that answers a ranged request with the whole file is FERRY_E_PROTOCOL; with upload,
 * no write token is FERRY_E_HUB_AUTH before anything is created, a refused part its error,
 * and no part accepted in the time FERRY_E_TIMEOUT). */
FERRY_EXTERN int ferry_bench_run(const struct ferry_bench_opts *opts,
                                 struct ferry_bench_result *out);

/* ---- ferry bench --sweep (engine/hub/bench_sweep.c; engine/src/sweep_plan.c) --------------
 * Connections x streams x request size: each point a short ferry_bench_run on a fresh engine
 * (no stage runs), after one run with the engine's defaults (the setting a user gets with no
 * flags; that run also measures the stages and gives the verdict). The best point is the
 * cheapest (fewest requests in flight) within 5 % of the fastest: closer than that is noise.
 * With bench.upload, the points vary the connections alone (the parts sent at once, the one
 * knob `ferry upload` has: the Hub picks the part size, and streams are not an upload's), each
 * point a short upload bench into the sweep's one scratch repo (made before the default's run,
 * deleted after the last point, also after Ctrl-C); streams and chunk_sizes must be
 * NULL, and each point's streams and chunk_size are 0 (not set). */
#define FERRY_BENCH_SWEEP_MAX 64   /* points, the default one included */

struct ferry_bench_point {
  int connections, streams;      /* as set for this point (the default's: the engine's) */
  uint64_t chunk_size;
  int is_default;                /* the engine's defaults (no flags) */
  int error;                     /* 0 or FERRY_E_* (FERRY_E_INTERRUPTED: cut by Ctrl-C) */
  double seconds;                /* the measured window */
  uint64_t bytes;
  double mb_per_s, gbit_per_s;
  int settled, rounds, errors, connections_peak;
  uint64_t retries;
  double per_connection;         /* MB/s, mean over the connections that carried bytes */
  double ttfb_p90, latency_p50;  /* seconds */
  double cpu_s_per_gb;
};

struct ferry_bench_sweep_opts {
  /* The target, sink, engine settings and progress of every point; bench.seconds is each
   * point's (0: chosen from the number of points, ferry__sweep_point_seconds). The engine's
   * connections, streams and chunk_size are replaced by each point's. */
  struct ferry_bench_opts bench;
  const int *connections;        /* NULL: 1, 2, 4, 8, 16 */
  size_t nconnections;
  const int *streams;            /* NULL: 1, 4 (1 with http11) */
  size_t nstreams;
  const uint64_t *chunk_sizes;   /* NULL: 8 MiB */
  size_t nchunk_sizes;
  /* Before each point: its index, the number of points, the point's setting. */
  void (*point_cb)(void *user, size_t index, size_t n, const struct ferry_bench_point *p);
  void *point_user;
};

struct ferry_bench_sweep_result {
  int error;                     /* 0, FERRY_E_INTERRUPTED (the points so far), or the default
                                  * run's error (a bad target: no point ran) */
  long http_status;
  char message[640];
  double point_seconds;
  struct ferry_bench_point points[FERRY_BENCH_SWEEP_MAX]; /* the default's first */
  size_t npoints;
  int best;                      /* index of the best fixed point, -1: none measured */
  double default_share;          /* the default's goodput / the best point's, 0 unknown */
  double cap_per_connection;     /* MB/s: the points show each connection held to it, 0 no */
  int limit;                     /* the verdict at the best point (enum ferry_bench_limit) */
  char verdict[512];             /* "" when no point was measured or the sweep was cut */
  struct ferry_bench_result detail; /* the default run in full: target, stages, verdict */
};

/* Runs the sweep (synchronously). FERRY_E_INVAL: more than FERRY_BENCH_SWEEP_MAX - 1 points
 * or a value out of range (connections and streams 1..256, chunk size at least 64 KiB). */
FERRY_EXTERN int ferry_bench_sweep(const struct ferry_bench_sweep_opts *opts,
                                   struct ferry_bench_sweep_result *out);

/* ---- Saved settings (engine/hub/settings.c) -----------------------------------------------
 * ferry's configuration file, $HF_HOME/ferry/config.json (HF_HOME as huggingface_hub finds
 * it, ferry_hub_paths_get): the transfer settings `ferry bench --sweep --save` found best,
 * which `ferry get` and `ferry download` use (the "download" object) where no flag sets them,
 * and `ferry upload` (the "upload" object).
 * One JSON object; other keys are ignored (and not kept by a save). No secret is ever
 * written there. */
struct ferry_transfer_settings {
  int connections, streams;      /* 0: not set */
  uint64_t chunk_size;           /* 0: not set */
};

struct ferry_settings {
  char path[4096];               /* filled by ferry_settings_load */
  int found;                     /* the file exists */
  struct ferry_transfer_settings download;
  /* The "upload" object, `ferry bench --upload --sweep --save`'s: connections alone (the
   * parts `ferry upload` sends at once), with when and at what rate it was saved. */
  struct ferry_transfer_settings upload;
  char upload_saved_at[32];
  double upload_mb_per_s;
  char saved_by[64];             /* "ferry bench --sweep" */
  char saved_at[32];             /* UTC, "2026-12-06T14:40:00Z" */
  char target[1024];             /* what the sweep measured (as shown: no query, no token) */
  double mb_per_s;               /* the best point's goodput then */
};

/* Reads the file (none: found 0, everything 0). FERRY_E_INVAL when it is not such a JSON
 * object (a line in why names the file, the key and what to do), FERRY_E_IO / NOMEM. */
FERRY_EXTERN int ferry_settings_load(struct ferry_settings *out, char *why, size_t why_len);
/* Writes s to the file (s->path, or the default path when empty): folder made, a temporary
 * file renamed over it, mode 0644. FERRY_E_IO / FERRY_E_NOSPC / FERRY_E_NOMEM. */
FERRY_EXTERN int ferry_settings_save(const struct ferry_settings *s, char *why, size_t why_len);
/* The upload object's connections into cfg->connections (the parts ferry upload sends at
 * once: uploads have no controller, so this is the value itself) where cfg has none (0). */
FERRY_EXTERN void ferry_settings_apply_upload(const struct ferry_transfer_settings *t,
                                              struct ferry_config *cfg);
/* Copies each value set in t into cfg's start_* fields where cfg has none (0): where the
 * engine's concurrency controller starts; a flag (connections, streams, chunk_size) still pins. */
FERRY_EXTERN void ferry_settings_apply(const struct ferry_transfer_settings *t,
                                       struct ferry_config *cfg);

/* Library versions, e.g. "ferry/0.1.0 libcurl/7.88.1 libuv/1.44.2 OpenSSL/3.0.x xxhash/0.8.1". */
FERRY_EXTERN const char *ferry_version_string(void);

#ifdef __cplusplus
}
#endif
#endif /* FERRY_H */
