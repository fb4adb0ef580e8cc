/* bench_upload: `ferry bench --upload`, how fast an upload goes. Into a scratch repo on the
 * Hub, each object goes as `ferry upload` sends an LFS file: LFS batch, every part through
 * ferry_engine_put (the same requests, parallelism and retries), completion and verify; or
 * parts PUT to a URL, which never gets the Hub token. The bytes are generated
 * (bench_gen.c), not read from a disk: each object is made once to get its SHA-256 (the oid
 * the batch needs before any byte is sent), on a thread while the previous object is being
 * sent, then made again into libcurl's buffer as the parts go.
 *
 * The scratch repo: a private repo with a random name under the token's user, created with
 * exist_ok off so that it is ours, recorded in $HF_HOME/ferry/bench-upload/ before it is
 * created and deleted at the end, after a failure or Ctrl-C too; a record whose process is
 * gone (kill -9) is a repo the next bench deletes. Nothing else is ever deleted. An upload
 * sweep makes one such repo for all its points (ferry__bench_scratch_open/_close). */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "../src/bench.h"
#include "hub.h"

#define LFS_JSON "application/vnd.git-lfs+json"
#define URL_PARTS 64             /* parts per round to a --upload URL */
#define URL_PART (8u << 20)      /* their size when --chunk-size is not given */

/* Ends the objects' hashing (bench_gen.c) on another thread: set by the clock, and after the
 * stop (ferry_config.stop) ended the puts. One bench runs at a time. */
static volatile int stop_flag;

struct obj {
  uint64_t seed, size;
  char sha256[65];
  int err;
};

struct up {
  const struct ferry_bench_opts *o;
  struct ferry_bench_result *out;
  struct ferry__bench_window *w;
  struct ferry_config cfg;
  struct ferry_hub_client *c;   /* Hub mode */
  struct ferry_engine *e;       /* the puts' engine */
  char *records;                /* $HF_HOME/ferry/bench-upload */
  char record[FERRY__HUB_PATH_MAX];
  char host[256];
  double t0;
  uint64_t base;                /* bytes of the parts accepted in finished puts */
  uint64_t tick_bytes;          /* bytes sent at the last tick, those in flight included */
  int stop_asked;
};

/* Connections open at once, at most (those of the API calls included: one or two). */
static void note_connections(struct up *u) {
  struct ferry_stats st;
  ferry_engine_stats(u->e, &st);
  u->out->connections_peak = st.connections_peak;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The run's error and its one line for the user. */
#define why(u, err, ...)                                                                   \
  ferry__hub_why(err, (u)->out->message, sizeof((u)->out->message), __VA_ARGS__)

static int fill(const struct ferry_put *p, uint64_t offset, char *buf, size_t len) {
  ferry__bench_gen_fill(((const struct obj *)p->user)->seed, offset, buf, len);
  return 0;
}

static void on_progress(void *user, uint64_t bytes_sent) {
  struct up *u = user;
  if (u->w->closed) return;
  double t = now_s() - u->t0;
  u->tick_bytes = u->base + bytes_sent;
  if (ferry__bench_window_tick(u->w, u->out, t, u->base + bytes_sent)) {
    ferry__bench_window_close(u->w, u->out, t, u->base + bytes_sent);
    u->stop_asked = 1;
    stop_flag = 1;
    ferry__engine_stop(u->e); /* the clock: this engine's puts only */
  }
}

/* Every put at once on the engine; accepted bytes counted. 0 also when the clock stopped
 * it (*whole = 0 then); FERRY_E_INTERRUPTED after a signal; else the first part's error. */
static int put_all(struct up *u, struct ferry_put *puts, size_t n, int *whole) {
  struct ferry_put_opts po = {.progress_cb = on_progress, .user = u};
  int err = ferry_engine_put(u->e, puts, n, &po);
  int signalled = ferry_stop_requested(u->cfg.stop);
  if (signalled) stop_flag = 1;
  size_t ok = 0;
  for (size_t i = 0; i < n; i++) {
    u->out->retries += (uint64_t)puts[i].retries;
    if (!puts[i].error) u->base += puts[i].length, u->out->bytes_all += puts[i].length, ok++;
  }
  *whole = ok == n;
  if (!err) return 0;
  if (signalled) return why(u, FERRY_E_INTERRUPTED, "interrupted: the figures so far");
  if (u->stop_asked && err == FERRY_E_INTERRUPTED) return 0;
  for (size_t i = 0; i < n; i++)
    if (puts[i].error && puts[i].error != FERRY_E_INTERRUPTED) {
      u->out->errors++;
      u->out->http_status = puts[i].status;
      return why(u, puts[i].error, "uploading a part: %s", puts[i].message);
    }
  return err;
}

/* ---- to a URL ---- */

static int url_rounds(struct up *u) {
  uint64_t part = u->cfg.chunk_size ? u->cfg.chunk_size : URL_PART;
  struct ferry_put puts[URL_PARTS];
  struct obj ob = {0};
  int err = 0;
  u->t0 = now_s();
  while (!err && !u->stop_asked) {
    ob.seed++;
    for (size_t i = 0; i < URL_PARTS; i++) /* no headers: the Hub token never goes there */
      puts[i] = (struct ferry_put){.url = u->o->url, .fd = -1, .offset = i * part,
                                   .length = part, .fill = fill, .user = &ob};
    u->out->rounds++;
    int whole;
    err = put_all(u, puts, URL_PARTS, &whole);
  }
  return err;
}

/* ---- into a scratch repo ---- */

static void *hash_main(void *arg) {
  struct obj *ob = arg;
  ob->err = ferry__bench_gen_sha256(ob->seed, ob->size, &stop_flag, ob->sha256);
  return NULL;
}

static int call(struct up *u, const char *url, const char *body, int send_token,
                const char *what) {
  struct ferry_hub_reply r;
  int err = ferry__hub_client_call_url(u->c, "POST", url, LFS_JSON, LFS_JSON, body,
                                       strlen(body), send_token, &r);
  if (err) {
    u->out->http_status = r.status;
    why(u, err, "%s: %s", what, r.message);
  }
  ferry_hub_reply_free(&r);
  return err;
}

/* The completion of a multipart object: its parts' ETags in order, to the signed URL the
 * batch gave (no token, as `ferry upload`). */
static int complete(struct up *u, const struct ferry__lfs_action *a,
                    const struct ferry_put *puts) {
  const char **etags = calloc(a->nparts ? a->nparts : 1, sizeof(*etags));
  char *body = NULL;
  int err = etags ? 0 : FERRY_E_NOMEM;
  for (size_t i = 0; !err && i < a->nparts; i++) etags[i] = puts[i].etag;
  if (!err) err = ferry__lfs_completion_body(a->oid, etags, a->nparts, &body);
  if (!err) err = call(u, a->href, body, 0, "completing an object");
  free(body);
  free(etags);
  return err;
}

/* One object: LFS batch, its parts, completion and verify (when it went whole). */
static int send_object(struct up *u, const char *repo, struct obj *ob) {
  struct ferry__upload_file f = {.path = "bench.bin", .size = ob->size};
  if (ferry__hub_unhex(ob->sha256, f.hash, 32)) return FERRY_E_IO; /* our own hex */
  f.hashed = 1;
  const struct ferry__upload_file *fp = &f;
  char *body = NULL, *url = NULL;
  size_t len = 0;
  const char *endpoint = ferry_hub_client_endpoint(u->c);
  int err = ferry__lfs_batch_body(&fp, 1, "main", &body, &len);
  if (!err) err = ferry__hub_fmt(&url, FERRY__HUB_URL_MAX, "%s/%s.git/info/lfs/objects/batch",
                                 endpoint, repo);
  struct ferry_hub_reply r = {0};
  if (!err) {
    err = ferry__hub_client_call_url(u->c, "POST", url, LFS_JSON, LFS_JSON, body, len, 1, &r);
    if (err) u->out->http_status = r.status, why(u, err, "LFS batch: %s", r.message);
  }
  struct ferry__lfs_action a = {.size = ob->size};
  memcpy(a.oid, ob->sha256, sizeof(a.oid));
  char reason[256] = "";
  if (!err && (err = ferry__lfs_batch_parse(r.body, r.body_len, endpoint, &a, 1, reason,
                                            sizeof(reason))))
    why(u, err, "malformed LFS batch answer from the Hub: %s", reason);
  ferry_hub_reply_free(&r);
  free(body), free(url);
  if (!err && (a.error_code || a.present)) /* a fresh random object: the Hub cannot have it */
    err = why(u, a.error_code == 422 ? FERRY_E_HUB_BAD_REQUEST : FERRY_E_PROTOCOL,
              "the Hub's LFS batch refused the object: %s",
              a.present ? "it says it has it already" : a.error_message);
  size_t n = a.chunk_size ? a.nparts : 1;
  struct ferry_put *puts = err ? NULL : calloc(n, sizeof(*puts));
  if (!err && !puts) err = FERRY_E_NOMEM;
  for (size_t i = 0; !err && i < n; i++) {
    uint64_t off = i * a.chunk_size;
    puts[i] = (struct ferry_put){
        .url = a.chunk_size ? a.part_urls[i] : a.href, .fd = -1, .offset = off,
        .length = a.chunk_size ? (off + a.chunk_size <= ob->size ? a.chunk_size : ob->size - off)
                               : ob->size,
        .fill = fill, .user = ob};
  }
  int whole = 0;
  if (!err) {
    u->out->rounds++;
    err = put_all(u, puts, n, &whole);
  }
  if (!err && whole && a.chunk_size) err = complete(u, &a, puts);
  if (!err && whole && a.verify_href) {
    char vbody[160];
    snprintf(vbody, sizeof(vbody), "{\"oid\":\"%s\",\"size\":%llu}", a.oid,
             (unsigned long long)ob->size);
    err = call(u, a.verify_href, vbody, 1, "verifying an object");
  }
  if (!err && whole) u->out->objects_completed++;
  on_progress(u, 0); /* the window's clock runs through the API calls too */
  free(puts);
  ferry__lfs_action_free(&a);
  return err;
}

/* Objects one after another until the clock stops it; the next object's hash is made on a
 * thread while the current one is sent. */
static int hub_rounds(struct up *u, const char *repo) {
  struct obj cur = {.size = ferry__bench_object_size(0, u->w->limit)};
  if (RAND_bytes((unsigned char *)&cur.seed, sizeof(cur.seed)) != 1) return FERRY_E_INTERNAL;
  int err = ferry__bench_gen_sha256(cur.seed, cur.size, &stop_flag, cur.sha256);
  u->t0 = now_s();
  while (!err && !u->stop_asked) {
    double t = now_s() - u->t0;
    struct obj next = {.seed = cur.seed + 1,
                       .size = ferry__bench_object_size(t > 0 ? (double)u->base / t : 0,
                                                        u->w->limit - t)};
    pthread_t th;
    int threaded = pthread_create(&th, NULL, hash_main, &next) == 0;
    err = send_object(u, repo, &cur);
    if (threaded) pthread_join(th, NULL);
    else if (!err && !u->stop_asked) hash_main(&next);
    if (!err && !u->stop_asked && next.err) err = next.err;
    cur = next;
  }
  if (err == FERRY_E_INTERRUPTED && !u->out->message[0])
    why(u, err, "interrupted: the figures so far");
  return err;
}

/* ---- the scratch repo's record ---- */

/* A record is "<host>-<pid>-<repo name>" holding "endpoint\nuser/name\n". */
static int record_write(struct up *u, const char *repo) {
  const char *name = strchr(repo, '/') + 1;
  int err = ferry__mkdirs(u->records);
  if (!err && snprintf(u->record, sizeof(u->record), "%s/%s-%ld-%s", u->records, u->host,
                       (long)getpid(), name) >= (int)sizeof(u->record))
    err = FERRY_E_INVAL;
  char text[FERRY__HUB_URL_MAX + 300];
  int n = snprintf(text, sizeof(text), "%s\n%s\n", ferry_hub_client_endpoint(u->c), repo);
  if (!err && (n < 0 || (size_t)n >= sizeof(text))) err = FERRY_E_INVAL;
  if (!err) err = ferry__write_atomic(u->record, text, (size_t)n, 0600);
  if (err) {
    u->record[0] = 0;
    why(u, err, "cannot record the scratch repo in %s (it is written before the repo is "
                "created, so that a killed run's repo is found): %s", u->records,
        ferry_strerror(err));
  }
  return err;
}

/* A name this bench makes: ferry-bench- and 12 hex digits. A record naming anything else
 * was not written by it, and its repo is never deleted. */
static int bench_name(const char *name) {
  if (strncmp(name, "ferry-bench-", 12) != 0 || strlen(name) != 24) return 0;
  return strspn(name + 12, "0123456789abcdef") == 12;
}

/* Deletes the repo of a record (a killed bench's, or this one's) and then the record. */
static int delete_recorded(struct up *u, const char *path, const char *repo) {
  int missing = 0;
  char reason[512] = "";
  ferry__engine_ignore_stop(u->e, 1); /* after Ctrl-C too */
  int err = ferry_hub_repo_delete(u->c, repo, NULL, 1, &missing, reason, sizeof(reason));
  ferry__engine_ignore_stop(u->e, 0);
  if (!err) unlink(path);
  else ferry__hub_notice(&u->cfg, "could not delete the scratch repo %s: %s (it stays "
                                  "recorded: the next ferry bench --upload deletes it)",
                         repo, reason);
  return err;
}

/* The repos of this host's benches that died before deleting theirs, on this endpoint. */
static void delete_stale(struct up *u) {
  DIR *d = opendir(u->records);
  if (!d) return;
  char prefix[300];
  int np = snprintf(prefix, sizeof(prefix), "%s-", u->host);
  for (struct dirent *de; (de = readdir(d)) != NULL;) {
    if (np <= 0 || strncmp(de->d_name, prefix, (size_t)np) != 0) continue;
    char *end = NULL;
    errno = 0;
    long pid = strtol(de->d_name + np, &end, 10);
    if (errno || pid <= 0 || !end || *end != '-') continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to know */
    char path[FERRY__HUB_PATH_MAX], *text = NULL;
    size_t len = 0;
    int found = 0;
    if (snprintf(path, sizeof(path), "%s/%s", u->records, de->d_name) >= (int)sizeof(path) ||
        ferry__read_small_nofollow(path, 4096, &text, &len, &found) || !found)
      continue;
    char *nl = strchr(text, '\n');
    char *repo = nl ? nl + 1 : NULL;
    char *nl2 = repo ? strchr(repo, '\n') : NULL;
    if (nl && nl2) {
      *nl = *nl2 = 0;
      const char *slash = strchr(repo, '/');
      size_t dn = strlen(de->d_name);
      /* the record's name ends with the repo's, a name this bench makes; another Hub's
       * record waits for a bench on that Hub */
      if (slash && bench_name(slash + 1) && dn > 24 && !strcmp(de->d_name + dn - 24, slash + 1) &&
          !strcmp(text, ferry_hub_client_endpoint(u->c))) {
        ferry__hub_notice(&u->cfg, "deleting the scratch repo %s of an earlier bench that "
                                   "did not finish", repo);
        delete_recorded(u, path, repo);
      }
    }
    free(text);
  }
  closedir(d);
}

/* The client of the API calls and the puts (a fresh engine: new connections per run). */
static int client_new(struct up *u) {
  struct ferry_hub_client_opts co = {.endpoint = u->o->endpoint, .token = u->o->token,
                                     .engine = &u->cfg};
  int err = ferry_hub_client_new(&co, &u->c, u->out->message, sizeof(u->out->message));
  if (!err) u->e = ferry__hub_client_engine(u->c);
  return err;
}

/* A new scratch repo into repo (cap 256): the token first (a clear error before anything is
 * created), this host's dead benches' repos deleted, the name recorded, the repo created. */
static int scratch_create(struct up *u, char *repo) {
  struct ferry_hub_whoami who = {0};
  char reason[512] = "";
  int err = ferry_hub_whoami(u->c, &who, reason, sizeof(reason));
  if (err == FERRY_E_HUB_AUTH)
    why(u, err, "ferry bench --upload needs a token with write access: %s", reason);
  else if (err)
    why(u, err, "%s", reason);
  else if (!strcmp(who.role, "read"))
    err = why(u, FERRY_E_HUB_AUTH, "ferry bench --upload needs a token with write access: "
                                   "the token '%s' of %s is read-only", who.token_name,
              who.user);
  char *home = NULL;
  if (!err && (ferry__hub_home(ferry__hub_client_env(u->c), &home) ||
               ferry__hub_fmt(&u->records, FERRY__HUB_PATH_MAX, "%s/ferry/bench-upload", home)))
    err = why(u, FERRY_E_NOMEM, "cannot find HF_HOME");
  free(home);
  if (!err) {
    delete_stale(u);
    unsigned char rnd[6];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) err = why(u, FERRY_E_INTERNAL, "no random bytes");
    else
      snprintf(repo, 256, "%s/ferry-bench-%02x%02x%02x%02x%02x%02x", who.user, rnd[0],
               rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
  }
  ferry_hub_whoami_free(&who);
  if (!err) err = record_write(u, repo);
  if (err) return err;
  int existed = 0;
  char *repo_url = NULL;
  err = ferry_hub_repo_create(u->c, repo, NULL, 1, 0, NULL, &repo_url, &existed, reason,
                              sizeof(reason));
  free(repo_url);
  if (err) {
    why(u, err, "creating the scratch repo %s: %s", repo, reason);
    if (err != FERRY_E_HUB_CONFLICT) delete_recorded(u, u->record, repo); /* in case */
    else unlink(u->record); /* someone else's: never ours to delete */
  }
  return err;
}

/* The scratch repo deleted (its record with it): err, or the error of a repo left behind. */
static int scratch_delete(struct up *u, const char *repo, int err) {
  if (!delete_recorded(u, u->record, repo)) return err;
  u->out->scratch_left = 1;
  if (!err)
    err = why(u, FERRY_E_HTTP, "the scratch repo %s could not be deleted (recorded: the next "
                               "ferry bench --upload deletes it)", repo);
  return err;
}

static void scratch_shown(struct up *u, const char *repo) {
  snprintf(u->out->scratch_repo, sizeof(u->out->scratch_repo), "%s", repo);
  snprintf(u->out->target, sizeof(u->out->target), "%s (scratch repo, deleted after)", repo);
}

/* Into a scratch repo: a new one (deleted after), or a sweep's (given: its own to delete). */
static int hub_bench(struct up *u, const char *given) {
  int err = client_new(u);
  if (err) return err;
  ferry__bench_attach(u->e, u->w->probe);
  char repo[256] = "";
  if (given) snprintf(repo, sizeof(repo), "%s", given);
  else err = scratch_create(u, repo);
  if (err) return err;
  scratch_shown(u, repo);
  err = hub_rounds(u, repo);
  return given ? err : scratch_delete(u, repo, err);
}

/* What a run and a sweep's scratch repo both set up: the settings of the client's engine and
 * the host's name (records are per host). */
static void up_init(struct up *u, const struct ferry_bench_opts *o, struct ferry_bench_result *out) {
  u->o = o, u->out = out;
  if (o->engine) u->cfg = *o->engine;
  u->cfg.progress_cb = NULL; /* the puts report progress themselves */
  u->cfg.progress_ms = 100;
  if (gethostname(u->host, sizeof(u->host)) != 0 || !u->host[0] || strchr(u->host, '/'))
    snprintf(u->host, sizeof(u->host), "host");
  u->host[sizeof(u->host) - 1] = 0;
}

struct ferry__bench_scratch {
  struct up u;
  char repo[256];
};

int ferry__bench_scratch_open(const struct ferry_bench_opts *o, struct ferry_bench_result *out,
                              struct ferry__bench_scratch **sp) {
  *sp = NULL;
  struct ferry__bench_scratch *s = calloc(1, sizeof(*s));
  if (!s) return FERRY_E_NOMEM;
  up_init(&s->u, o, out);
  int err = client_new(&s->u);
  if (!err) err = scratch_create(&s->u, s->repo);
  if (err) { /* scratch_create cleaned up what it made: nothing here to delete */
    s->repo[0] = 0;
    ferry__bench_scratch_close(s, err);
    return err;
  }
  *sp = s;
  return 0;
}

const char *ferry__bench_scratch_repo(const struct ferry__bench_scratch *s) { return s->repo; }

int ferry__bench_scratch_close(struct ferry__bench_scratch *s, int err) {
  if (!s) return err;
  if (s->repo[0] && s->u.record[0]) err = scratch_delete(&s->u, s->repo, err);
  if (s->u.c) ferry_hub_client_free(s->u.c);
  free(s->u.records);
  free(s);
  return err;
}

int ferry__bench_upload(const struct ferry_bench_opts *o, struct ferry_bench_result *out,
                        struct ferry__bench_window *w, const char *scratch) {
  struct up u = {.w = w};
  up_init(&u, o, out);
  out->upload = out->has_download = 1;
  /* The stop ends the sending; the scratch repo is deleted after it too (see hub_bench). */
  stop_flag = 0;
  int err;
  if (o->url) {
    char *shown = ferry_redact_url(o->url);
    snprintf(out->target, sizeof(out->target), "%s", shown ? shown : "");
    free(shown);
    err = ferry_engine_new(&u.cfg, &u.e);
    if (!err) {
      ferry__bench_attach(u.e, w->probe);
      err = url_rounds(&u);
      note_connections(&u);
      ferry_engine_free(u.e);
    }
  } else {
    err = hub_bench(&u, scratch);
  }
  /* Not closed by the clock (a signal, an error): the window ends now, with the bytes sent
   * at the last tick, those in flight included, as the clock would have ended it (the stop
   * abandons them). */
  ferry__bench_window_close(w, out, u.t0 > 0 ? now_s() - u.t0 : 0,
                            u.tick_bytes > u.base ? u.tick_bytes : u.base);
  ferry__bench_probe_figures(w->probe, out);
  if (u.c) {
    note_connections(&u);
    ferry_hub_client_free(u.c);
  }
  free(u.records);
  if (!err && ferry_stop_requested(u.cfg.stop))
    err = why(&u, FERRY_E_INTERRUPTED, "interrupted: the figures so far");
  /* Stopped by the clock while still retrying: no figure to give (the puts' own retries
   * would have gone on for minutes). */
  if (!err && !out->bytes_all)
    err = why(&u, FERRY_E_TIMEOUT, "%s: no part accepted in %.0f s (%llu retries): the server "
                                   "is unreachable or does not answer", out->target, w->limit,
              (unsigned long long)out->retries);
  return err;
}
