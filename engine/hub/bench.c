/* bench: ferry_bench_run, `ferry bench`. The target is resolved as a download would resolve
 * it (the Hub client: endpoint, token, tree listing, resolve URL), then the file goes through
 * the client's engine as a `ferry download` job, into the null sink or a temporary folder,
 * round after round until the time is up or the rate has settled; bench_probe.c credits the
 * connections and times the requests from inside the engine. The local stages then run alone
 * and bench_plan.c names the limit. Nothing is written outside the temporary folder, and the
 * folder is removed whatever happens. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "../src/bench.h"
#include "bench_run.h"
#include "hub.h"

#define SHA_SECONDS 0.5
#define DISK_SECONDS 1.0
#define DISK_MAX_BYTES (512ull << 20)
#define TLS_SECONDS 2.0   /* the TLS-receive stage: a 0.5 s grace, then 1.5 s */

struct run {
  const struct ferry_bench_opts *o;
  struct ferry_bench_result *out;
  struct ferry_engine *e;
  struct ferry__bench_probe *probe;
  double t0, limit, grace;
  struct ferry__bench_window w; /* the measured window (bench_window.c) */
  int in_round, stop_asked;
  int no_hash; /* the TLS-receive stage: the null sink, nothing hashed */
  const struct ferry_config *cfg; /* each round's engine */
  uint64_t base_useful, base_all, base_retries; /* the finished rounds' engines */
  struct ferry__hub_mirror mirror; /* a repo target's file from the tier, when set */
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every progress tick, and after each round: the window, the stop. */
static void tick(struct run *r, const struct ferry_stats *st) {
  if (!r->in_round || r->w.closed) return;
  double t = now_s() - r->t0;
  uint64_t useful = r->base_useful + st->bytes_received - st->bytes_refetched;
  ferry__bench_sample(r->e);
  if (ferry__bench_window_tick(&r->w, r->out, t, useful) || r->probe->whole) {
    ferry__bench_window_close(&r->w, r->out, t, useful);
    r->stop_asked = 1;
    ferry__engine_stop(r->e);
  }
}

static void on_progress(void *user, const struct ferry_stats *st) { tick(user, st); }

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

/* The temporary folder and everything in it (never following a link out of it). */
static void remove_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* A killed bench (kill -9, a crash) leaves its folder; the next bench in the same place
 * removes the folders of this host's benches whose process is gone. The name says whose it
 * is: .ferry-bench-<host>-<pid>-XXXXXX. */
static void remove_stale(const char *base, const char *host) {
  char prefix[300];
  int n = snprintf(prefix, sizeof(prefix), ".ferry-bench-%s-", host);
  if (n <= 0 || (size_t)n >= sizeof(prefix)) return;
  DIR *d = opendir(base);
  if (!d) return;
  for (struct dirent *de; (de = readdir(d)) != NULL;) {
    if (strncmp(de->d_name, prefix, (size_t)n) != 0) continue;
    char *end = NULL;
    errno = 0;
    long pid = strtol(de->d_name + n, &end, 10);
    if (errno || pid <= 0 || !end || *end != '-' || strlen(end + 1) != 6) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to know */
    char path[4600];
    if (snprintf(path, sizeof(path), "%s/%s", base, de->d_name) < (int)sizeof(path))
      remove_tree(path);
  }
  closedir(d);
}

/* The folder the temporary one goes in: --dir, else the Hub cache (the same file system as a
 * real download's blobs), made when missing as a download would. */
static int base_dir(const struct ferry_bench_opts *o, char *buf, size_t cap, char *why,
                    size_t why_len) {
  if (o->dir) {
    snprintf(buf, cap, "%s", o->dir);
    return 0;
  }
  struct ferry_hub_paths p;
  int err = ferry_hub_paths_get(&p);
  if (!err) {
    snprintf(buf, cap, "%s", p.cache_dir);
    ferry_hub_paths_free(&p);
    err = ferry__mkdirs(buf);
    if (err) ferry__hub_why(err, why, why_len, "cannot create the cache folder %s", buf);
  }
  return err;
}

/* The file of a repo target: the one named, or the largest. *url the resolve URL at the
 * listing's commit (the mirror's, with one); sha256/sha1 what the tree says its hash is. */
static int pick_file(struct ferry_hub_client *c, const struct ferry_bench_opts *o,
                     const struct ferry__hub_mirror *mirror, struct ferry_bench_result *out,
                     char **url, char sha256[65], char sha1[41]) {
  struct ferry__hub_repo repo;
  int err = ferry__hub_repo_arg(o->repo_id, o->repo_type, &repo, out->message,
                                sizeof(out->message));
  if (err) return err;
  struct ferry_hub_tree_listing l = {0};
  err = ferry_hub_list_tree(c, o->repo_id, o->repo_type, o->revision, o->filename, 1, &l,
                            out->message, sizeof(out->message));
  const struct ferry_hub_tree_entry *best = NULL;
  for (size_t i = 0; !err && i < l.n; i++) {
    const struct ferry_hub_tree_entry *en = &l.entries[i];
    if (en->is_dir) continue;
    if (o->filename && strcmp(en->path, o->filename) != 0) continue;
    if (!best || en->size > best->size) best = en;
  }
  if (!err && !best)
    err = ferry__hub_why(FERRY_E_HUB_ENTRY_NOT_FOUND, out->message, sizeof(out->message),
                         o->filename ? "%s: no file %s in the repository"
                                     : "%s: the repository has no files",
                         o->repo_id, o->filename ? o->filename : "");
  if (!err) {
    const char *rev = l.commit[0] ? l.commit : o->revision ? o->revision : "main";
    if (mirror && mirror->url) /* the tier's path is the Hub's resolve path at the commit */
      err = ferry__hub_mirror_file_url(mirror, &repo, rev, best->path, 0, url);
    else
      err = ferry__hub_url_resolve(ferry_hub_client_endpoint(c), &repo, rev, best->path, url);
    snprintf(out->file, sizeof(out->file), "%s", best->path);
    out->file_size = best->size;
    snprintf(out->target, sizeof(out->target), "%s%s/%s@%.12s",
             ferry__hub_repo_url_prefix(repo.type), repo.id, best->path, rev);
    if (best->lfs && strlen(best->lfs_sha256) == 64) memcpy(sha256, best->lfs_sha256, 65);
    else if (!best->lfs && strlen(best->oid) == 40) memcpy(sha1, best->oid, 41);
  }
  ferry_hub_tree_listing_free(&l);
  return err;
}

static int one_job(struct run *r, struct ferry_hub_client *c, const char *url, const char *path,
                   const char *sha256, const char *sha1);

/* One round: the file once more, from the start, until it ends or the bench stops it, on an
 * engine of its own (a new download: new connections, as a rerun of `ferry download` has). */
static int round_once(struct run *r, struct ferry_hub_client *c, const char *url,
                      const char *path, const char *sha256, const char *sha1) {
  if (!r->o->to_null) unlink(path); /* the previous round's file, in the temporary folder */
  int err = ferry_engine_new(r->cfg, &r->e);
  if (err) return err;
  ferry__bench_attach(r->e, r->probe);
  err = one_job(r, c, url, path, sha256, sha1);
  struct ferry_stats st;
  ferry_engine_stats(r->e, &st);
  r->base_useful += st.bytes_received - st.bytes_refetched;
  r->base_all += st.bytes_received;
  r->base_retries += st.retries;
  if (st.connections_peak > r->out->connections_peak) r->out->connections_peak = st.connections_peak;
  ferry_engine_free(r->e);
  r->e = NULL;
  return err;
}

static int one_job(struct run *r, struct ferry_hub_client *c, const char *url, const char *path,
                   const char *sha256, const char *sha1) {
  struct ferry_bench_result *out = r->out;
  /* The Hub token to the Hub's origin only; the mirror gets its own secret. */
  const char *headers[2] = {r->mirror.url ? r->mirror.auth : ferry__hub_client_auth_for(c, url),
                            NULL};
  struct ferry_job_spec spec = {
      .url = url, .path = path, .size = out->file_size ? (int64_t)out->file_size : -1,
      .headers = headers, .sha256_hex = sha256[0] ? sha256 : NULL,
      .git_sha1_hex = sha1[0] ? sha1 : NULL, .no_resume = 1, .label = path,
      .discard = r->o->to_null || r->no_hash, .no_hash = r->no_hash};
  struct ferry_job *job = NULL;
  int err = ferry_engine_add(r->e, &spec, &job);
  if (err) return err;
  out->rounds++;
  r->in_round = 1;
  int run_err = ferry_engine_run(r->e);
  struct ferry_stats st;
  ferry_engine_stats(r->e, &st);
  tick(r, &st);
  r->in_round = 0;
  struct ferry_job_result jr;
  ferry_job_result(job, &jr);
  if (r->probe->whole) /* one stream is not what a download of this file would be */
    return ferry__hub_why(FERRY_E_PROTOCOL, out->message, sizeof(out->message),
                          "%s: the server ignores Range (it sent the whole file): ferry bench "
                          "measures ranged requests over many connections", out->target);
  if (jr.error == FERRY_E_INTERRUPTED || (!jr.error && run_err == FERRY_E_INTERRUPTED))
    return r->stop_asked ? 0 : FERRY_E_INTERRUPTED;
  if (jr.error) {
    out->errors++;
    out->http_status = jr.http_status;
    if (out->repo_target && jr.http_status >= 400) { /* the Hub's words, as download says them */
      const char *what = NULL;
      int mapped = ferry__hub_error_map(jr.http_status, jr.server_code, jr.server_message,
                                        headers[0] != NULL, &what);
      if (mapped) jr.error = mapped;
    }
    snprintf(out->message, sizeof(out->message), "%s", jr.message);
    return jr.error;
  }
  return 0;
}

static void figures(struct run *r) {
  r->out->bytes_all = r->base_all;
  r->out->retries = r->base_retries;
  ferry__bench_probe_figures(r->probe, r->out);
}

static int download(struct run *r, const char *tmp) {
  const struct ferry_bench_opts *o = r->o;
  struct ferry_bench_result *out = r->out;
  struct ferry_config cfg = {0};
  if (o->engine) cfg = *o->engine;
  cfg.progress_cb = on_progress;
  cfg.progress_user = r;
  cfg.progress_ms = 100;
  struct ferry_hub_client_opts co = {.endpoint = o->endpoint, .token = o->token, .engine = &cfg};
  struct ferry_hub_client *c = NULL;
  int err = ferry_hub_client_new(&co, &c, out->message, sizeof(out->message));
  if (err) return err;
  char *url = NULL, sha256[65] = "", sha1[41] = "";
  if (o->url && o->mirror && *o->mirror)
    err = ferry__hub_why(FERRY_E_INVAL, out->message, sizeof(out->message),
                         "--mirror goes with a repo target (the tier serves the Hub's files)");
  else if (!o->url) /* FERRY_MIRROR is for repo targets only */
    err = ferry__hub_mirror_init(&r->mirror, o->mirror, o->mirror_token, ferry__hub_client_env(c),
                                 out->message, sizeof(out->message));
  if (r->mirror.url) snprintf(out->mirror, sizeof(out->mirror), "%s", r->mirror.shown);
  if (err) {
  } else if (o->url) {
    url = strdup(o->url);
    char *shown = ferry_redact_url(o->url);
    snprintf(out->target, sizeof(out->target), "%s", shown ? shown : "");
    free(shown);
    if (!url) err = FERRY_E_NOMEM;
  } else {
    out->repo_target = 1;
    err = pick_file(c, o, &r->mirror, out, &url, sha256, sha1);
  }
  char path[4200];
  snprintf(path, sizeof(path), "%s/download", tmp);
  if (!err) {
    r->cfg = &cfg;
    r->t0 = now_s();
    while (!err && !r->stop_asked) {
      err = round_once(r, c, url, path, sha256, sha1);
      /* a stop between two rounds' engines */
      if (!err && !r->stop_asked && ferry_stop_requested(cfg.stop)) err = FERRY_E_INTERRUPTED;
    }
    ferry__bench_window_close(&r->w, r->out, now_s() - r->t0, r->base_useful);
    figures(r);
    /* Stopped by the clock while still retrying: no figure to give, the target is the
     * problem (the engine's own retries would have gone on for minutes). */
    if (!err && r->base_all == 0)
      err = ferry__hub_why(FERRY_E_TIMEOUT, out->message, sizeof(out->message),
                           "%s: no data in %.0f s (%llu retries): the server is unreachable "
                           "or does not answer", out->target, r->limit,
                           (unsigned long long)out->retries);
  }
  free(url);
  ferry__hub_mirror_free(&r->mirror);
  ferry_hub_client_free(c);
  return err;
}

int ferry_bench_run(const struct ferry_bench_opts *o, struct ferry_bench_result *out) {
  return ferry__bench_run(o, out, FERRY__BENCH_STAGES, NULL);
}

/* The TLS-receive stage: the same target into the null sink with the hash off, alone. 0 or
 * FERRY_E_INTERRUPTED; another failure leaves the stage unmeasured (the run has its figure). */
static int tls_stage(const struct ferry_bench_opts *o, struct ferry_bench_result *out) {
  struct ferry_bench_opts so = *o;
  so.seconds = TLS_SECONDS;
  so.to_null = 1;
  so.progress_cb = NULL;
  struct ferry_bench_result *t = malloc(sizeof(*t));
  if (!t) return 0;
  int err = ferry__bench_run(&so, t, FERRY__BENCH_NO_HASH, NULL);
  if (!err) out->tls_mb_per_s = t->mb_per_s, out->tls_cpu_s_per_gb = t->cpu_s_per_gb;
  out->tls_bytes = t->bytes_all;
  free(t);
  return err == FERRY_E_INTERRUPTED ? err : 0;
}

static double share(double part, double whole) {
  return whole > 0 && part > 0 ? (part < whole ? part / whole : 1) : 0;
}

int ferry__bench_run(const struct ferry_bench_opts *o, struct ferry_bench_result *out,
                     int flags, const char *scratch) {
  int stages = flags & FERRY__BENCH_STAGES;
  memset(out, 0, sizeof(*out));
  if (!o || (o->url && o->repo_id)) return out->error = FERRY_E_INVAL;
  struct run r = {.o = o, .out = out, .no_hash = (flags & FERRY__BENCH_NO_HASH) != 0};
  r.limit = o->seconds > 0 ? o->seconds : 10;
  r.grace = ferry__bench_grace(r.limit);
  out->grace = r.grace;
  out->to_null = o->to_null;
  out->has_download = (o->url || o->repo_id) && !o->upload;
  char base[4096];
  int err = base_dir(o, base, sizeof(base), out->message, sizeof(out->message));
  char tmp[sizeof(out->dir)] = "";
  if (!err) {
    char host[256] = "host";
    if (gethostname(host, sizeof(host)) != 0 || !host[0] || strchr(host, '/'))
      snprintf(host, sizeof(host), "host");
    host[sizeof(host) - 1] = 0;
    remove_stale(base, host);
    if (snprintf(tmp, sizeof(tmp), "%s/.ferry-bench-%s-%ld-XXXXXX", base, host,
                 (long)getpid()) >= (int)sizeof(tmp)) {
      err = ferry__hub_why(FERRY_E_INVAL, out->message, sizeof(out->message),
                           "the folder %.200s... is too long", base);
      tmp[0] = 0;
    } else if (!mkdtemp(tmp)) {
      err = ferry__hub_why(ferry__errno_to_err(errno), out->message, sizeof(out->message),
                           "cannot create a temporary folder in %s: %s", base, strerror(errno));
      tmp[0] = 0;
    }
  }
  snprintf(out->dir, sizeof(out->dir), "%s", tmp);
  r.probe = calloc(1, sizeof(*r.probe));
  if (!err && !r.probe) err = FERRY_E_NOMEM;
  r.w = (struct ferry__bench_window){.limit = r.limit, .grace = r.grace, .probe = r.probe,
                                     .progress_cb = o->progress_cb,
                                     .progress_user = o->progress_user};
  if (!err && o->upload) err = ferry__bench_upload(o, out, &r.w, scratch);
  else if (!err && out->has_download) err = download(&r, tmp);
  int interrupted = err == FERRY_E_INTERRUPTED;
  if (!err || interrupted) { /* the stages alone, then the verdict */
    out->cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    /* receiving alone: a download's stage (an upload's run would send, and make a repo) */
    if (!interrupted && stages && out->has_download && !o->upload)
      interrupted = tls_stage(o, out) == FERRY_E_INTERRUPTED;
    if (!interrupted && stages) {
      out->sha256_per_core = ferry__bench_sha256_rate(SHA_SECONDS);
      double c0 = ferry__bench_cpu_seconds(), t0 = now_s();
      err = ferry__bench_disk_rate(tmp, DISK_SECONDS, DISK_MAX_BYTES, &out->disk_mb_per_s);
      double gb = out->disk_mb_per_s * (now_s() - t0) / 1e3;
      if (err)
        snprintf(out->message, sizeof(out->message), "writing into %.500s: %s", tmp,
                 ferry_strerror(err));
      else if (gb > 0)
        out->write_cpu_s_per_gb = (ferry__bench_cpu_seconds() - c0) / gb;
      if (out->sha256_per_core > 0) out->sha256_cpu_s_per_gb = 1e3 / out->sha256_per_core;
      out->share_sha256 = share(out->sha256_cpu_s_per_gb, out->cpu_s_per_gb);
      /* nothing is written into the null sink, nor by an upload (its bytes are generated) */
      out->share_write = o->to_null || o->upload ? 0
                                                 : share(out->write_cpu_s_per_gb, out->cpu_s_per_gb);
      out->share_receive = share(out->tls_cpu_s_per_gb, out->cpu_s_per_gb);
    }
    struct ferry__bench_figures f = {
        .goodput = out->mb_per_s, .to_disk = !o->to_null && !o->upload, .sha_per_core = out->sha256_per_core,
        .disk = out->disk_mb_per_s, .connections = out->connections_peak,
        .ttfb_p90 = out->ttfb_p90, .latency_p50 = out->latency_p50, .rtt = out->rtt};
    for (size_t i = 0; i < out->nconns; i++) f.per_connection += out->conns[i].mb_per_s;
    if (out->nconns) f.per_connection /= (double)out->nconns;
    if (!interrupted && !err && stages) out->limit = ferry__bench_verdict(&f, out->verdict, sizeof(out->verdict));
    if (interrupted) err = FERRY_E_INTERRUPTED;
  }
  if (interrupted && !out->message[0])
    snprintf(out->message, sizeof(out->message), "interrupted: the figures so far");
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0) out->peak_rss = (uint64_t)ru.ru_maxrss * 1024;
  if (tmp[0]) remove_tree(tmp);
  free(r.probe);
  return out->error = err;
}
