/* upload: `ferry upload`, a file or a folder into a Hub repository (hub-protocol.md §6).
 *
 * create the repo (exist ok) -> the revision's head (a missing branch is created) -> walk
 * the folder (32 bytes a file) -> the files to delete -> then window after window of the
 * walk's files, a commit's worth each (20,000, or --max-commit-files), so a file's state
 * exists only while its window is uploaded: preupload in batches of 256 (LFS or regular,
 * the remote oid) -> hashes on worker threads (or from the hash cache) -> as LFS files get
 * their SHA-256: LFS batch, then every part of every object the server lacks through the
 * engine in parallel, each multipart upload journaled so a killed run resumes -> completion
 * and verify -> the window's commit (two when its regular files pass 64 MiB), parentCommit
 * set, the deletions in the first one. Unchanged files are neither sent nor committed; nothing
 * changed means no commit. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub.h"

#define WHY 512
#define BATCH 256                       /* preupload and LFS batch sizes, as huggingface_hub */
#define COMMIT_MAX_OPS 20000            /* default: under the Hub's 25k LFS files per commit */
#define COMMIT_MAX_REGULAR (64u << 20)  /* raw bytes of regular files inline in one commit */
#define HASH_THREADS 2
#define LFS_JSON "application/vnd.git-lfs+json"

struct up {
  const struct ferry_hub_upload_opts *o;
  struct ferry_hub_upload_result *out;
  struct ferry__hub_env env;
  struct ferry__hub_repo repo;
  struct ferry_hub_client *client;
  const char *rev;
  char *state_dir;            /* $HF_HOME/ferry/upload */
  char *parts_dir;
  char parent[41];            /* head of the revision before our commits ("" when none) */
  int remote_readme;
  struct ferry__upload_list files; /* the walk's files, and the window being uploaded */
  size_t next;                /* the walk's first file after the window */
  struct ferry__hash_cache *hash_cache;
  struct ferry__hasher *hasher;
  char *path_prefix;          /* path_in_repo for a folder ("" = root) */
  uint64_t cached_hash_bytes; /* bytes whose hash came from the cache */
  uint64_t hashed_before;     /* bytes the hashers of earlier windows read */
  size_t *from_cache, n_from_cache; /* the window's files whose hashes the cache had */
  int part;                   /* the next commit's number (its title's "(part N)") */
  int pr_pending;             /* --create-pr: the next commit opens the pull request */
  char pr_rev[64];            /* then the rest goes to its branch, refs/pr/N */
  size_t del_next;            /* deletions already in a commit */
  uint64_t sent_before;       /* bytes_sent of earlier put rounds */
  uint64_t lfs_bytes;         /* LFS files' bytes (what may have to be sent) */
  int parallel;               /* requests at once: the engine's connections */
  double t0;                  /* now_s() when the upload started */
  struct ferry__hub_tree deletions;
};

/* The first failure of the upload, into its result. */
#define fail(u, ...) FERRY__HUB_FAIL((u)->out, __VA_ARGS__)

static int fail_reply(struct up *u, const struct ferry_hub_reply *r, const char *what) {
  return fail(u, r->error, r->status, "%s: %s", what, r->message);
}

/* A notice for the user (through the engine config's log callback). */
#define notice(u, ...) ferry__hub_notice((u)->o->engine, __VA_ARGS__)

/* With -v: where the time goes (phases, with seconds since the start). */
static void debug(struct up *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static double now_s(void);
static void debug(struct up *u, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ferry__vlog(u->o->engine, FERRY_LOG_DEBUG, now_s() - u->t0, fmt, ap);
  va_end(ap);
}

static const struct ferry_stop *user_stop(const struct up *u) {
  return u->o->engine ? u->o->engine->stop : NULL;
}

static int stopped(struct up *u) {
  if (ferry_stop_requested(user_stop(u))) return fail(u, FERRY_E_INTERRUPTED, 0, "interrupted");
  return 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(struct up *u, int phase, uint64_t in_flight) {
  if (!u->o->progress_cb) return;
  struct ferry_hub_upload_progress p = {.phase = phase, .bytes_total = u->files.bytes};
  p.bytes_hashed = u->cached_hash_bytes + u->hashed_before +
                   (u->hasher ? ferry__hasher_bytes(u->hasher) : 0);
  p.bytes_to_send = u->lfs_bytes;
  p.bytes_sent = u->sent_before + in_flight;
  p.seconds = now_s() - u->t0;
  u->o->progress_cb(u->o->progress_user, &p);
}

/* {E}/api/{Ts}/{repo}/<what>/{quote(rev)}[suffix] */
static int api_url_at(struct up *u, const char *rev, const char *what, const char *suffix,
                      char **out) {
  char *q = NULL;
  int err = ferry__hub_quote(rev, 0, &q);
  if (!err)
    err = ferry__hub_fmt(out, FERRY__HUB_URL_MAX, "%s/api/%s/%s/%s/%s%s",
                         ferry_hub_client_endpoint(u->client),
                         ferry__hub_repo_type_plural(u->repo.type), u->repo.id, what, q,
                         suffix ? suffix : "");
  free(q);
  return err;
}

static int api_url(struct up *u, const char *what, const char *suffix, char **out) {
  return api_url_at(u, u->rev, what, suffix, out);
}

/* ---- repository and revision ---------------------------------------------------------- */

/* The repository (exist ok, as `hf upload`: a Space gets the gradio SDK) and, for a missing
 * --revision, the branch: the repo-management functions of repos.c. */
static int create_repo(struct up *u) {
  char why[WHY] = "", *url = NULL;
  int existed = 0;
  const char *type = ferry__hub_repo_type_name(u->repo.type);
  int err = ferry_hub_repo_create(u->client, u->repo.id, type, u->o->private_repo, 1, "gradio",
                                  &url, &existed, why, sizeof(why));
  free(url);
  if (err)
    return fail(u, err, ferry__hub_client_last_status(u->client), "creating the repository: %s",
                why);
  return 0;
}

static int create_branch(struct up *u) {
  char why[WHY] = "";
  int existed = 0;
  int err = ferry_hub_branch_create(u->client, u->repo.id, ferry__hub_repo_type_name(u->repo.type),
                                    u->rev, NULL, 1, &existed, why, sizeof(why));
  if (err)
    return fail(u, err, ferry__hub_client_last_status(u->client), "creating the branch %s: %s",
                u->rev, why);
  if (!existed) notice(u, "created branch %s", u->rev);
  return 0;
}

/* Whether the revision has a README.md (the "no card" notice): asked of paths-info for that
 * one path, not read from a repo info that lists every file. A server that cannot say counts
 * as having one: the notice is advice, and no notice beats a wrong one. */
static void read_remote_readme(struct up *u) {
  struct ferry__hub_tree one;
  ferry__hub_tree_init(&one);
  char commit[41] = "";
  int err = ferry__hub_path_info(u->client, &u->repo, u->parent[0] ? u->parent : u->rev,
                                 "README.md", &one, commit);
  u->remote_readme = err != FERRY_E_HUB_ENTRY_NOT_FOUND;
  ferry__hub_tree_free(&one);
}

/* The revision's head commit (parentCommit) and whether it has a README.md. Only the commit
 * is asked for (expand=sha): the whole repo info names every file (siblings), tens of MB of
 * JSON for a million of them. A server that does not know expand= sends everything, which
 * parses the same. */
static int read_revision(struct up *u, int may_create) {
  char *url = NULL, *sha_only = NULL;
  int err = ferry__hub_url_revision(ferry_hub_client_endpoint(u->client), &u->repo, u->rev, &url);
  if (!err) err = ferry__hub_fmt(&sha_only, FERRY__HUB_URL_MAX, "%s?expand=sha", url);
  free(url);
  if (err) return fail(u, err, 0, "revision name too long");
  struct ferry_hub_reply r;
  err = ferry__hub_client_call_url(u->client, "GET", sha_only, NULL, NULL, NULL, 0, 1, &r);
  free(sha_only);
  if (err == FERRY_E_HUB_REVISION_NOT_FOUND && may_create) {
    ferry_hub_reply_free(&r);
    if ((err = create_branch(u))) return err;
    return read_revision(u, 0);
  }
  if (err) {
    fail_reply(u, &r, "reading the repository");
    ferry_hub_reply_free(&r);
    return err;
  }
  json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
  const char *sha = json_string_value(json_object_get(j, "sha"));
  if (sha && strlen(sha) == 40) memcpy(u->parent, sha, 41);
  json_decref(j);
  ferry_hub_reply_free(&r);
  read_remote_readme(u);
  return 0;
}

/* ---- what to send ---------------------------------------------------------------------- */

static int preupload(struct up *u) {
  const char *suffix = u->o->create_pr ? "?create_pr=1" : NULL;
  char *url = NULL;
  if (api_url(u, "preupload", suffix, &url)) return fail(u, FERRY_E_INVAL, 0, "URL too long");
  int err = 0;
  for (size_t from = 0; !err && from < u->files.n; from += BATCH) {
    size_t to = from + BATCH < u->files.n ? from + BATCH : u->files.n;
    char *body = NULL;
    size_t len = 0;
    if ((err = ferry__preupload_body(&u->files, from, to, &body, &len))) {
      fail(u, err, 0, "cannot read the files to upload");
      break;
    }
    struct ferry_hub_reply r;
    err = ferry__hub_client_call_url(u->client, "POST", url, NULL, "application/json", body, len,
                                     1, &r);
    free(body);
    char why[WHY] = "";
    if (err) fail_reply(u, &r, "preupload");
    else if ((err = ferry__preupload_parse(r.body, r.body_len, &u->files, from, to, why,
                                           sizeof(why))))
      fail(u, err, r.status, "malformed preupload answer from the Hub: %s", why);
    ferry_hub_reply_free(&r);
    if (!err) err = stopped(u);
  }
  free(url);
  /* Regular files travel inline in the commit: a server that wants a huge one that way
   * would make us hold it in memory. */
  for (size_t i = 0; !err && i < u->files.n; i++) {
    const struct ferry__upload_file *f = &u->files.v[i];
    if (!f->ignored && !f->lfs && f->size > COMMIT_MAX_REGULAR)
      err = fail(u, FERRY_E_PROTOCOL, 0, "the Hub wants %s (%llu bytes) as a regular file, not "
                 "through LFS: ferry sends at most %u MiB inline", f->path,
                 (unsigned long long)f->size, COMMIT_MAX_REGULAR >> 20);
  }
  return err;
}

static int is_unchanged(const struct ferry__upload_file *f) {
  return f->hashed && f->remote_oid_len == (f->lfs ? 32 : 20) &&
         !memcmp(f->hash, f->remote_oid, f->remote_oid_len);
}

/* The hash cache, read once for every window. */
static int open_hash_cache(struct up *u) {
  char *dir = NULL;
  if (ferry__hub_fmt(&dir, FERRY__HUB_PATH_MAX, "%s/hashes", u->state_dir))
    return fail(u, FERRY_E_NOMEM, 0, "out of memory");
  char real[FERRY__HUB_PATH_MAX];
  const char *folder = realpath(u->o->local_path, real) ? real : u->o->local_path;
  int err = ferry__hash_cache_open(dir, folder, &u->hash_cache);
  free(dir);
  if (err) return fail(u, err, 0, "cannot open the hash cache");
  return 0;
}

/* The window's hashes from the cache; the rest go to the worker threads. */
static int start_hashing(struct up *u) {
  uint32_t *todo = malloc((u->files.n ? u->files.n : 1) * sizeof(*todo));
  size_t n = 0;
  u->n_from_cache = 0;
  u->from_cache = malloc((u->files.n ? u->files.n : 1) * sizeof(size_t));
  if (!todo || !u->from_cache) {
    free(todo);
    return fail(u, FERRY_E_NOMEM, 0, "out of memory");
  }
  for (size_t i = 0; i < u->files.n; i++) {
    struct ferry__upload_file *f = &u->files.v[i];
    if (f->ignored) continue;
    char buf[FERRY__HUB_PATH_MAX];
    ferry__hash_cache_lookup(u->hash_cache, ferry__upload_local(&u->files, f->path, buf), f);
    if (f->lfs) u->lfs_bytes += f->size;
    if (f->hashed) {
      u->cached_hash_bytes += f->size;
      u->from_cache[u->n_from_cache++] = i;
    } else {
      todo[n++] = (uint32_t)i;
    }
  }
  int err = ferry__hasher_start(&u->files, todo, n, HASH_THREADS, user_stop(u), &u->hasher);
  free(todo);
  if (err) return fail(u, err, 0, "cannot start the hashing threads");
  return 0;
}

/* ---- sending LFS objects --------------------------------------------------------------- */

struct obj {                  /* one LFS object of a round */
  struct ferry__upload_file *f;
  struct ferry__lfs_action a;
  struct ferry__parts_journal j;
  int journaled, fd;
  size_t first_put, nputs;
};

struct round {
  struct up *u;
  struct obj *objs;
  size_t n;
  struct ferry_put *puts;   /* every part of every object, in order */
  size_t nputs;
  struct ferry_put *send;   /* those actually sent; map[k] is send[k]'s index in puts */
  size_t *map;
  double t_batch;           /* when the LFS batch answered (its URLs' clock starts) */
  int64_t expires_in;       /* the shortest URL lifetime in the answer, 0 when not said */
};

/* A part the storage accepted goes into the journal at once: a kill right after it must
 * not cost the part. */
static void on_put_done(void *user, struct ferry_put *p) {
  struct round *rd = user;
  struct obj *o = p->user;
  if (p->error || !o->journaled || !p->etag[0]) return;
  size_t k = (size_t)(p - rd->send);
  ferry__parts_journal_accept(&o->j, rd->map[k] - o->first_put, p->etag);
}

static void on_put_progress(void *user, uint64_t bytes) {
  struct round *rd = user;
  progress(rd->u, 0, bytes);
}

/* What this object still needs sent: parts not accepted yet (from its journal), or all. */
static int plan_object(struct up *u, struct obj *o, struct ferry_put *puts, size_t *np) {
  struct ferry__lfs_action *a = &o->a;
  o->first_put = *np;
  if (!a->chunk_size) {
    puts[(*np)++] = (struct ferry_put){.url = a->href, .fd = o->fd, .length = o->f->size, .user = o};
    o->nputs = 1;
    return 0;
  }
  /* No journal of an earlier run (send_round looked): this batch's URLs start one. */
  if (!o->journaled) {
    o->journaled = ferry__parts_journal_create(u->parts_dir, a, &o->j) == 0;
    if (!o->journaled)
      notice(u, "cannot write the upload journal of %s: this upload will not resume", o->f->path);
  }
  const struct ferry__lfs_action *use = o->journaled ? &o->j.action : a;
  for (size_t i = 0; i < use->nparts; i++) {
    if (o->journaled && o->j.etags[i]) {
      u->out->parts_resumed++;
      u->out->bytes_skipped += i + 1 < use->nparts ? use->chunk_size
                                                   : o->f->size - i * use->chunk_size;
    }
    uint64_t off = i * use->chunk_size;
    uint64_t len = off + use->chunk_size <= o->f->size ? use->chunk_size : o->f->size - off;
    puts[*np] = (struct ferry_put){.url = use->part_urls[i], .fd = o->fd, .offset = off,
                                   .length = len, .user = o};
    (*np)++;
  }
  o->nputs = use->nparts;
  return 0;
}

/* The completion body of a multipart object: its parts' ETags in order. NULL on error
 * (out->error says why). */
static char *completion_body(struct up *u, struct obj *o, struct round *rd) {
  const struct ferry__lfs_action *a = o->journaled ? &o->j.action : &o->a;
  const char **etags = calloc(a->nparts ? a->nparts : 1, sizeof(*etags));
  if (!etags) {
    fail(u, FERRY_E_NOMEM, 0, "out of memory");
    return NULL;
  }
  for (size_t i = 0; i < a->nparts; i++) {
    const struct ferry_put *p = &rd->puts[o->first_put + i];
    etags[i] = o->journaled && o->j.etags[i] ? o->j.etags[i] : p->etag;
    if (!etags[i][0]) {
      free(etags);
      fail(u, FERRY_E_PROTOCOL, p->status, "%s: part %zu was accepted without an ETag",
           o->f->path, i + 1);
      return NULL;
    }
  }
  char *body = NULL;
  if (ferry__lfs_completion_body(o->a.oid, etags, a->nparts, &body))
    fail(u, FERRY_E_NOMEM, 0, "out of memory");
  free(etags);
  return body;
}

/* Completions of the multipart objects, then verify calls where offered, several at once
 * (the Hub answers each in a few tens of ms: one after another, hundreds of small objects
 * would wait seconds). No token to the completion URL: it carries its own signature, and
 * huggingface_hub sends none either; verify is on the Hub and gets it. */
static int finish_objects(struct up *u, struct obj *objs, size_t n, struct round *rd) {
  struct ferry__hub_call *calls = calloc(n ? n : 1, sizeof(*calls));
  char **bodies = calloc(n ? n : 1, sizeof(*bodies));
  struct obj **who = calloc(n ? n : 1, sizeof(*who));
  int err = calls && bodies && who ? 0 : fail(u, FERRY_E_NOMEM, 0, "out of memory");
  for (int verify = 0; !err && verify < 2; verify++) {
    size_t k = 0;
    for (size_t i = 0; !err && i < n; i++) {
      struct obj *o = &objs[i];
      const struct ferry__lfs_action *a = o->journaled ? &o->j.action : &o->a;
      if (o->a.present || (verify ? !a->verify_href : !a->chunk_size)) continue;
      if (verify) {
        if (ferry__hub_fmt(&bodies[k], 256, "{\"oid\":\"%s\",\"size\":%llu}", o->a.oid,
                           (unsigned long long)o->f->size))
          err = fail(u, FERRY_E_NOMEM, 0, "out of memory");
      } else if (!(bodies[k] = completion_body(u, o, rd))) {
        err = u->out->error;
      }
      if (err) break;
      calls[k] = (struct ferry__hub_call){.method = "POST", .url = verify ? a->verify_href : a->href,
                                          .accept = LFS_JSON, .content_type = LFS_JSON,
                                          .body = bodies[k], .len = strlen(bodies[k]),
                                          .send_token = verify};
      who[k++] = o;
    }
    if (!err && k)
      ferry__hub_client_call_many(u->client, calls, k, (size_t)u->parallel);
    for (size_t i = 0; i < k; i++) {
      struct ferry_hub_reply *r = &calls[i].reply;
      if (!err && r->error) {
        err = fail(u, r->error, r->status, "%s the upload of %s: %s",
                   verify ? "verifying" : "completing", who[i]->f->path, r->message);
        if (!verify && who[i]->journaled && r->status >= 400 && r->status < 500) {
          /* the storage no longer knows this upload: the next run starts it afresh */
          ferry__parts_journal_remove(&who[i]->j);
          who[i]->journaled = 0;
        }
      }
      ferry_hub_reply_free(r);
      free(bodies[i]);
      bodies[i] = NULL;
    }
  }
  free(calls), free(bodies), free(who);
  return err;
}

/* One LFS batch for `objs`, then every part the server lacks, then completions. `fresh`: a
 * second try after the storage refused a journal's URLs (expired). */
static void cleanup_round(struct round *rd) {
  for (size_t i = 0; i < rd->n; i++) {
    struct obj *o = &rd->objs[i];
    if (o->fd >= 0) close(o->fd);
    o->fd = -1;
    if (o->journaled) ferry__parts_journal_close(&o->j);
    o->journaled = 0;
    ferry__lfs_action_free(&o->a);
    memset(&o->a, 0, sizeof(o->a));
  }
  free(rd->send), free(rd->map), free(rd->puts);
  rd->send = NULL, rd->map = NULL, rd->puts = NULL;
}

/* Completions and verify of a round whose parts are all accepted, then its journals go. */
static int finish_round(struct up *u, struct round *rd) {
  int err = finish_objects(u, rd->objs, rd->n, rd);
  debug(u, "completions and verify done (%zu object(s))", rd->n);
  for (size_t i = 0; !err && i < rd->n; i++) {
    struct obj *o = &rd->objs[i];
    if (o->a.present) continue;
    if (o->journaled) ferry__parts_journal_remove(&o->j);
    u->out->lfs_objects_sent++;
  }
  cleanup_round(rd);
  return err;
}

static int send_round(struct up *u, struct obj *objs, size_t n, int *retry_fresh,
                      struct round *rd) {
  *retry_fresh = 0;
  const struct ferry__upload_file **fs = calloc(n, sizeof(*fs));
  if (!fs) return fail(u, FERRY_E_NOMEM, 0, "out of memory");
  for (size_t i = 0; i < n; i++) {
    fs[i] = objs[i].f;
    ferry__hub_hex(objs[i].f->hash, 32, objs[i].a.oid);
    objs[i].a.size = objs[i].f->size;
    objs[i].fd = -1;
  }
  char *body = NULL, *url = NULL;
  size_t len = 0;
  int err = ferry__lfs_batch_body(fs, n, u->o->create_pr ? NULL : u->rev, &body, &len);
  free(fs);
  if (!err)
    err = ferry__hub_fmt(&url, FERRY__HUB_URL_MAX, "%s/%s%s.git/info/lfs/objects/batch",
                         ferry_hub_client_endpoint(u->client),
                         ferry__hub_repo_url_prefix(u->repo.type), u->repo.id);
  if (err) {
    free(body);
    return fail(u, err, 0, "out of memory");
  }
  struct ferry_hub_reply r;
  debug(u, "LFS batch of %zu object(s)", n);
  err = ferry__hub_client_call_url(u->client, "POST", url, LFS_JSON, LFS_JSON, body, len, 1, &r);
  free(body);
  free(url);
  char why[WHY] = "";
  if (err) {
    fail_reply(u, &r, "LFS batch");
  } else {
    struct ferry__lfs_action *as = calloc(n, sizeof(*as));
    if (!as) err = fail(u, FERRY_E_NOMEM, 0, "out of memory");
    for (size_t i = 0; as && i < n; i++) as[i] = objs[i].a;
    if (as && (err = ferry__lfs_batch_parse(r.body, r.body_len, ferry_hub_client_endpoint(u->client),
                                            as, n, why, sizeof(why))))
      fail(u, err, r.status, "malformed LFS batch answer from the Hub: %s", why);
    for (size_t i = 0; as && i < n; i++) objs[i].a = as[i];
    free(as);
  }
  ferry_hub_reply_free(&r);
  if (err) return err;

  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    struct obj *o = &objs[i];
    if (o->a.error_code)
      return fail(u, o->a.error_code == 422 ? FERRY_E_HUB_BAD_REQUEST : FERRY_E_HTTP,
                  o->a.error_code, "the Hub refused %s: %s", o->f->path, o->a.error_message);
    if (o->a.present) {
      u->out->lfs_objects_present++;
      u->out->bytes_skipped += o->f->size;
      continue;
    }
    if (o->a.chunk_size) {
      /* A journal of the same object whose URLs are still valid replaces this batch's. */
      o->journaled = ferry__parts_journal_load(u->parts_dir, o->a.oid, o->f->size, &o->j);
      total += o->journaled ? o->j.action.nparts : o->a.nparts;
    } else {
      total++;
    }
  }
  *rd = (struct round){.u = u, .objs = objs, .n = n, .t_batch = now_s()};
  for (size_t i = 0; i < n; i++)
    if (objs[i].a.expires_in > 0 && (!rd->expires_in || objs[i].a.expires_in < rd->expires_in))
      rd->expires_in = objs[i].a.expires_in;
  rd->puts = calloc(total ? total : 1, sizeof(*rd->puts));
  if (!rd->puts) {
    cleanup_round(rd);
    return fail(u, FERRY_E_NOMEM, 0, "out of memory");
  }
  for (size_t i = 0; !err && i < n; i++) {
    struct obj *o = &objs[i];
    if (o->a.present) continue;
    char buf[FERRY__HUB_PATH_MAX];
    const char *local = ferry__upload_local(&u->files, o->f->path, buf);
    o->fd = open(local, O_RDONLY | O_CLOEXEC);
    if (o->fd < 0) {
      err = fail(u, FERRY_E_IO, 0, "cannot read %s: %s", local, strerror(errno));
      break;
    }
    struct stat st;
    if (fstat(o->fd, &st) != 0 || (uint64_t)st.st_size != o->f->size ||
        (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec != o->f->mtime_ns) {
      err = fail(u, FERRY_E_CHANGED, 0, "%s changed while it was being uploaded", local);
      break;
    }
    plan_object(u, o, rd->puts, &rd->nputs);
  }
  /* Parts a journal says were accepted are not sent: compact them out of the list. */
  struct ferry_put *send = err ? NULL : calloc(rd->nputs ? rd->nputs : 1, sizeof(*send));
  size_t *map = err ? NULL : calloc(rd->nputs ? rd->nputs : 1, sizeof(*map));
  rd->send = send, rd->map = map;
  size_t nsend = 0;
  if (!err && (!send || !map)) err = fail(u, FERRY_E_NOMEM, 0, "out of memory");
  for (size_t k = 0; !err && k < rd->nputs; k++) {
    struct obj *o = rd->puts[k].user;
    size_t part = k - o->first_put;
    if (o->journaled && o->j.etags[part]) continue;
    map[nsend] = k;
    send[nsend++] = rd->puts[k];
  }
  if (!err) {
    struct ferry_put_opts po = {.user = rd, .done_cb = on_put_done,
                                .progress_cb = on_put_progress};
    debug(u, "sending %zu part(s)", nsend);
    int perr = ferry_engine_put(ferry__hub_client_engine(u->client), send, nsend, &po);
    debug(u, "parts done");
    uint64_t sent = 0;
    for (size_t k = 0; k < nsend; k++) {
      struct ferry_put *p = &send[k];
      struct obj *o = p->user;
      rd->puts[map[k]] = *p;
      u->out->parts_retried += (uint64_t)p->retries;
      (void)o;
      if (!p->error) {
        sent += p->length;
        u->out->parts_sent++;
      }
    }
    u->out->bytes_sent += sent;
    u->sent_before += sent;
    if (perr == FERRY_E_INTERRUPTED) {
      err = fail(u, perr, 0, "interrupted: run the same command again to resume");
    } else if (perr) {
      for (size_t k = 0; k < nsend; k++) {
        struct ferry_put *p = &send[k];
        if (!p->error) continue;
        struct obj *o = p->user;
        if (p->status == 403 && o->journaled && !*retry_fresh) {
          /* expired or revoked URLs: forget the journal and ask for new ones */
          ferry__parts_journal_remove(&o->j);
          o->journaled = 0;
          *retry_fresh = 1;
        }
        if (!*retry_fresh)
          err = fail(u, p->error, p->status, "uploading %s failed: %s", o->f->path, p->message);
        if (err) break;
      }
      if (*retry_fresh) err = 0;
    }
  }
  /* Completions wait for the next round (the storage assembles meanwhile): finish_round. */
  if (err || *retry_fresh) cleanup_round(rd);
  return err;
}

static void free_round(struct round *rd) {
  if (!rd) return;
  cleanup_round(rd);
  free(rd->objs);
  free(rd);
}

/* LFS batch and parts of `batch`; on success *out holds the round, its completions still to
 * do (finish_round). */
static int send_objects(struct up *u, struct ferry__upload_file **batch, size_t n,
                        struct round **out) {
  *out = NULL;
  struct obj *objs = calloc(n, sizeof(*objs));
  struct round *rd = calloc(1, sizeof(*rd));
  if (!objs || !rd) {
    free(objs), free(rd);
    return fail(u, FERRY_E_NOMEM, 0, "out of memory");
  }
  for (size_t i = 0; i < n; i++) objs[i].f = batch[i], objs[i].j.fd = -1, objs[i].fd = -1;
  rd->objs = objs, rd->n = n;
  int again = 0, err = send_round(u, objs, n, &again, rd);
  if (!err && again) {
    notice(u, "the storage refused the saved upload URLs (expired?): asking for new ones");
    err = send_round(u, objs, n, &again, rd);
    if (!err && again) {
      cleanup_round(rd);
      err = fail(u, FERRY_E_HTTP, 403, "the storage refused the upload URLs");
    }
  }
  if (err) {
    free_round(rd);
    return err;
  }
  *out = rd;
  return 0;
}

/* A round's completions may wait for the next round's parts unless its URLs would be half
 * way to expiry by then. */
static int may_wait(const struct round *rd) {
  return !rd->expires_in || now_s() - rd->t_batch < (double)rd->expires_in / 2;
}

/* Takes files as their hashes arrive; sends LFS objects in batches of up to 256 (whatever
 * is hashed when the previous batch is done: uploading overlaps hashing). */
static int hash_and_send(struct up *u) {
  struct ferry__upload_file **ready = calloc(u->files.n ? u->files.n : 1, sizeof(*ready));
  if (!ready) return fail(u, FERRY_E_NOMEM, 0, "out of memory");
  size_t nready = 0, next_cached = 0;
  int err = 0, hashing = 1;
  struct round *prev = NULL; /* sent, completions not done yet */
  while (!err) {
    /* files whose hash came from the cache first, then those the threads finish */
    while (next_cached < u->n_from_cache) {
      struct ferry__upload_file *f = &u->files.v[u->from_cache[next_cached++]];
      if (f->lfs && !is_unchanged(f)) ready[nready++] = f;
    }
    size_t k;
    while (hashing && nready < BATCH) {
      /* wait only when there is nothing to send yet */
      if (nready && !ferry__hasher_ready(u->hasher)) break;
      if (!ferry__hasher_next(u->hasher, &k)) {
        hashing = 0;
        break;
      }
      struct ferry__upload_file *f = &u->files.v[k];
      char buf[FERRY__HUB_PATH_MAX];
      if (f->hash_error) {
        err = f->hash_error == FERRY_E_INTERRUPTED
                  ? fail(u, f->hash_error, 0, "interrupted")
                  : fail(u, f->hash_error, 0, "cannot hash %s: %s",
                         ferry__upload_local(&u->files, f->path, buf),
                         f->hash_error == FERRY_E_CHANGED ? "it changed while being read"
                                                          : ferry_strerror(f->hash_error));
        break;
      }
      if (f->lfs && !is_unchanged(f)) ready[nready++] = f;
      debug(u, "hashed %s", f->path);
    }
    if (err || (err = stopped(u))) break;
    if (!nready && !hashing) break;
    size_t take = nready < BATCH ? nready : BATCH;
    if (prev && !may_wait(prev)) {
      err = finish_round(u, prev);
      free_round(prev);
      prev = NULL;
      if (err) break;
    }
    struct round *cur = NULL;
    err = send_objects(u, ready, take, &cur);
    /* The previous round completes now: its objects were assembled while these parts went. */
    if (!err && prev) err = finish_round(u, prev);
    free_round(prev);
    prev = cur;
    memmove(ready, ready + take, (nready - take) * sizeof(*ready));
    nready -= take;
  }
  if (prev && !err) err = finish_round(u, prev);
  free_round(prev);
  free(ready);
  return err;
}

/* ---- deletions ------------------------------------------------------------------------- */

static int list_remote(struct up *u) {
  char *url = NULL;
  const char *rev = u->o->create_pr ? "main" : u->rev;
  int err = ferry__hub_url_tree(ferry_hub_client_endpoint(u->client), &u->repo, rev,
                                u->path_prefix[0] ? u->path_prefix : NULL, 1, 0, &url);
  if (err) return fail(u, err, 0, "URL too long");
  struct ferry_hub_reply failed;
  char why[WHY] = "";
  err = ferry__hub_tree_walk(u->client, url, &u->deletions, NULL, NULL, &failed, why, sizeof(why));
  free(url);
  if (err == FERRY_E_HUB_ENTRY_NOT_FOUND) err = 0; /* nothing under the prefix */
  else if (err && failed.error) fail_reply(u, &failed, "listing the files to delete");
  else if (err) fail(u, err, 0, "listing the files to delete: %s", why);
  ferry_hub_reply_free(&failed);
  return err;
}

static int by_entry_path(const void *key, const void *e) {
  return strcmp(key, ((const struct ferry__upload_entry *)e)->path);
}

static int uploading(const struct up *u, const char *path) {
  return u->files.n_e && /* none: no array (a delete_only run) */
         bsearch(path, u->files.e, u->files.n_e, sizeof(*u->files.e), by_entry_path) != NULL;
}

/* Marks (is_dir = 2) the remote files --delete asks for, as upload_folder does: patterns on
 * paths relative to path_in_repo, never .gitattributes, never a path the walk found (the
 * deletions ride on the first commit, before preupload has seen the later windows). */
static int plan_deletions(struct up *u) {
  if (!u->o->n_delete) return 0;
  int err = list_remote(u);
  size_t plen = strlen(u->path_prefix);
  for (size_t i = 0; !err && i < u->deletions.n; i++) {
    struct ferry__hub_entry *e = &u->deletions.v[i];
    if (e->is_dir) continue;
    const char *rel = e->path;
    if (plen) {
      if (strncmp(rel, u->path_prefix, plen) || rel[plen] != '/') continue;
      rel += plen + 1;
    }
    int keep = ferry__hub_patterns_keep(u->o->delete_patterns, u->o->n_delete, NULL, 0, rel);
    if (keep < 0) return fail(u, keep, 0, "bad --delete pattern");
    if (keep && strcmp(e->path, ".gitattributes") && !uploading(u, e->path)) e->is_dir = 2;
  }
  return err;
}

/* ---- commits --------------------------------------------------------------------------- */

static int read_whole(const char *path, uint64_t size, unsigned char **out) {
  *out = malloc(size ? size : 1);
  if (!*out) return FERRY_E_NOMEM;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FERRY_E_IO;
  uint64_t got = 0;
  while (got < size) {
    ssize_t n = pread(fd, *out + got, size - got, (off_t)got);
    if (n <= 0) break;
    got += (uint64_t)n;
  }
  close(fd);
  return got == size ? 0 : FERRY_E_CHANGED;
}

/* The commit title: the caller's, else huggingface_hub's default. */
static const char *title(struct up *u) {
  if (u->o->commit_message && u->o->commit_message[0]) return u->o->commit_message;
  if (u->o->delete_only) {
    static char t[4096];
    size_t used = (size_t)snprintf(t, sizeof(t), "Delete files");
    for (size_t i = 0; i < u->o->n_delete && used < sizeof(t); i++)
      used += (size_t)snprintf(t + used, sizeof(t) - used, " %s", u->o->delete_patterns[i]);
    if (used < sizeof(t)) snprintf(t + used, sizeof(t) - used, " with ferry");
    return t;
  }
  struct stat st;
  if (stat(u->o->local_path, &st) == 0 && S_ISREG(st.st_mode)) {
    static char t[FERRY__HUB_PATH_MAX + 64];
    snprintf(t, sizeof(t), "Upload %s with ferry", u->files.n_e ? u->files.e[0].path : "file");
    return t;
  }
  return "Upload folder using ferry";
}

/* A commit's NDJSON body, made line by line as libcurl asks for it (never whole in
 * memory: 20,000 small files inline are ~17 MB, and up to ~90 MB with 64 MiB of regular
 * content): the header, the deletions, then the files, each regular file read when its
 * line is made. The same lines as huggingface_hub's, from commit_api.c. */
struct commit_body {
  struct up *u;
  const char *summary;
  size_t del_from, del_to;    /* the deletions in it: u->deletions.v[del_from, del_to) */
  size_t from, to;            /* its files: u->files.v[from, to) */
  int header_sent;            /* where the making is (commit_body_rewind starts it over) */
  size_t next_del, next_file;
  struct ferry__ndjson line;  /* the line being sent, from `off` on */
  size_t off;
};

static int commit_body_rewind(void *user) {
  struct commit_body *c = user;
  c->header_sent = 0;
  c->next_del = c->del_from, c->next_file = c->from;
  c->line.len = 0, c->off = 0;
  return 0;
}

/* The next line into c->line (left empty at the end). */
static int commit_body_line(struct commit_body *c) {
  struct up *u = c->u;
  c->line.len = 0, c->off = 0;
  if (!c->header_sent) {
    c->header_sent = 1;
    return ferry__ndjson_header(&c->line, c->summary, u->o->commit_description,
                                u->parent[0] ? u->parent : NULL);
  }
  while (c->next_del < c->del_to) {
    const struct ferry__hub_entry *e = &u->deletions.v[c->next_del++];
    if (e->is_dir == 2) return ferry__ndjson_delete(&c->line, e->path, 0);
  }
  while (c->next_file < c->to) {
    const struct ferry__upload_file *f = &u->files.v[c->next_file++];
    if (f->ignored || f->unchanged) continue;
    if (f->lfs) {
      char oid[65];
      return ferry__ndjson_lfs(&c->line, f->path, ferry__hub_hex(f->hash, 32, oid), f->size);
    }
    unsigned char *data = NULL;
    char buf[FERRY__HUB_PATH_MAX];
    const char *local = ferry__upload_local(&u->files, f->path, buf);
    int err = read_whole(local, f->size, &data);
    if (err) fail(u, err, 0, "cannot read %s", local);
    else err = ferry__ndjson_regular(&c->line, f->path, data, f->size);
    free(data);
    return err;
  }
  return 0;
}

/* Fills libcurl's buffer whole (many small lines a call: one each would make a request
 * of tiny writes and frames). */
static long commit_body_read(void *user, char *buf, size_t cap) {
  struct commit_body *c = user;
  size_t got = 0;
  while (got < cap) {
    if (c->off == c->line.len) {
      int err = commit_body_line(c);
      if (err) return err;
      if (!c->line.len) break; /* the end */
    }
    size_t n = c->line.len - c->off < cap - got ? c->line.len - c->off : cap - got;
    memcpy(buf + got, c->line.data + c->off, n);
    c->off += n, got += n;
  }
  return (long)got;
}

static int post_commit(struct up *u, struct commit_body *b) {
  char *url = NULL;
  /* after the commit that opened a pull request, the rest goes to its branch */
  if (api_url_at(u, u->pr_rev[0] ? u->pr_rev : u->rev, "commit",
                 u->pr_pending ? "?create_pr=1" : NULL, &url))
    return fail(u, FERRY_E_INVAL, 0, "URL too long");
  struct ferry__hub_call call = {.method = "POST", .url = url,
                                 .content_type = "application/x-ndjson",
                                 .body_read = commit_body_read,
                                 .body_rewind = commit_body_rewind, .body_user = b,
                                 .send_token = 1};
  int err = ferry__hub_client_call_many(u->client, &call, 1, 1);
  struct ferry_hub_reply r = call.reply;
  free(url);
  ferry__ndjson_free(&b->line);
  char why[WHY] = "";
  char *commit_url = NULL, *pr_url = NULL;
  if (err) {
    fail_reply(u, &r, "commit");
  } else if ((err = ferry__commit_parse(r.body, r.body_len, u->out->commit_oid, &commit_url,
                                        &pr_url, why, sizeof(why)))) {
    fail(u, err, r.status, "malformed commit answer from the Hub: %s", why);
  } else {
    free(u->out->commit_url);
    u->out->commit_url = commit_url;
    if (pr_url) {
      free(u->out->pr_url);
      u->out->pr_url = pr_url;
    }
    u->out->commits++;
    memcpy(u->parent, u->out->commit_oid, 41);
  }
  ferry_hub_reply_free(&r);
  return err;
}

/* "refs/pr/N" from a PR URL ending in /discussions/N. */
static int pr_ref(const char *pr_url, char *out, size_t cap) {
  const char *d = pr_url ? strstr(pr_url, "/discussions/") : NULL;
  if (!d || !d[13] || strspn(d + 13, "0123456789") != strlen(d + 13)) return -1;
  snprintf(out, cap, "refs/pr/%s", d + 13);
  return 0;
}

/* Files in a window, and operations in a commit: the Hub takes 25,000 LFS files a commit. */
static size_t window_files(const struct up *u) {
  size_t m = u->o->max_commit_files;
  return m && m < COMMIT_MAX_OPS ? m : COMMIT_MAX_OPS;
}

/* The window's commit (two or more when its regular files pass COMMIT_MAX_REGULAR), with
 * the deletions in the upload's first commit. What goes in each is decided from the sizes;
 * the body is made while it is sent (commit_body). */
static int commit_window(struct up *u) {
  int err = 0;
  char summary[4200];
  size_t i = 0;
  const char *msg = title(u);
  while (!err) {
    if (u->part == 1) snprintf(summary, sizeof(summary), "%.4096s", msg);
    else snprintf(summary, sizeof(summary), "%.4096s (part %d)", msg, u->part);
    struct commit_body b = {.u = u, .summary = summary, .del_from = u->del_next, .from = i};
    size_t ops = 0;
    uint64_t regular = 0;
    /* deletions ride on the first commit */
    for (; u->part == 1 && u->del_next < u->deletions.n; u->del_next++) {
      if (u->deletions.v[u->del_next].is_dir != 2) continue;
      ops++;
      u->out->files_deleted++;
    }
    b.del_to = u->del_next;
    for (; i < u->files.n && ops < window_files(u) && regular < COMMIT_MAX_REGULAR; i++) {
      const struct ferry__upload_file *f = &u->files.v[i];
      if (f->ignored || f->unchanged) continue;
      if (!f->lfs) regular += f->size;
      ops++;
      u->out->files_committed++;
    }
    b.to = i;
    if (!ops) break;
    if ((err = stopped(u))) break;
    progress(u, 1, 0);
    debug(u, "commit of %zu operation(s)", ops);
    err = post_commit(u, &b);
    debug(u, "commit done");
    if (err) break;
    if (u->pr_pending) {
      if (pr_ref(u->out->pr_url, u->pr_rev, sizeof(u->pr_rev)) != 0) u->pr_rev[0] = 0;
      u->pr_pending = 0;
    }
    u->part++;
    if (i >= u->files.n) break;
  }
  if (err && !u->out->error) fail(u, err, 0, "cannot build the commit");
  return u->out->error;
}

/* README.md in the upload: ferry's card check, then the Hub's validate-yaml (§6.3) as
 * huggingface_hub asks it, before anything is sent. */
static int validate_readme(struct up *u) {
  for (size_t i = 0; i < u->files.n_e; i++) {
    const struct ferry__upload_entry *f = &u->files.e[i];
    if (strcmp(f->path, "README.md") || f->size > (16u << 20)) continue;
    unsigned char *data = NULL;
    char buf[FERRY__HUB_PATH_MAX];
    const char *local = ferry__upload_local(&u->files, f->path, buf);
    int err = read_whole(local, f->size, &data);
    if (err) {
      free(data);
      return fail(u, err, 0, "cannot read %s", local);
    }
    /* ferry's own check first (line numbers, no round trip), then the Hub's. */
    struct ferry_card_report rep = {0};
    if (u->repo.type != FERRY__HUB_SPACE) /* a Space's card has other fields */
      err = ferry_card_check((const char *)data, (size_t)f->size,
                           u->repo.type == FERRY__HUB_DATASET ? FERRY_CARD_DATASET : FERRY_CARD_MODEL,
                           &rep);
    for (size_t w = 0; !err && w < rep.n_warnings; w++)
      notice(u, "README.md:%d: %s", rep.warnings[w].line, rep.warnings[w].message);
    if (err == FERRY_E_CARD_INVALID && rep.n_errors)
      fail(u, err, 0, "invalid metadata in README.md:%d:%d: %s%s", rep.errors[0].line,
           rep.errors[0].column, rep.errors[0].message,
           rep.n_errors + rep.more_errors > 1 ? " (and more: ferry card check README.md)" : "");
    else if (err)
      fail(u, err, 0, "cannot check README.md");
    ferry_card_report_free(&rep);
    if (err) {
      free(data);
      return err;
    }
    json_t *b = json_pack("{s:s%, s:s}", "content", (char *)data, (size_t)f->size,
                                       "repoType", ferry__hub_repo_type_name(u->repo.type));
    free(data);
    char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    if (!body) return fail(u, FERRY_E_INVAL, 0, "README.md is not valid UTF-8");
    struct ferry_hub_reply r;
    err = ferry_hub_call(u->client, "POST", "/api/validate-yaml", "application/json", body,
                         strlen(body), &r);
    free(body);
    if (err == FERRY_E_HUB_BAD_REQUEST)
      fail(u, err, r.status, "invalid metadata in README.md: %s", r.server_message);
    else if (err == FERRY_E_HUB_ENTRY_NOT_FOUND) err = 0; /* a hub without the check */
    else if (err) fail_reply(u, &r, "validating README.md");
    ferry_hub_reply_free(&r);
    return err;
  }
  return 0;
}

/* ---- the whole upload ------------------------------------------------------------------ */

static int setup(struct up *u) {
  const struct ferry_hub_upload_opts *o = u->o;
  char why[WHY] = "";
  int err;
  u->env = ferry__hub_env_process();
  ferry__hub_tree_init(&u->deletions);
  u->rev = o->revision ? o->revision : "main";
  if (o->delete_only ? !o->n_delete : !o->local_path)
    return fail(u, FERRY_E_INVAL, 0, o->delete_only ? "no pattern of files to delete"
                                                    : "no local path to upload");
  if ((err = ferry__hub_repo_parse(o->repo_id, o->repo_type, &u->repo, why, sizeof(why))) ||
      (err = ferry__hub_revision_validate(u->rev, why, sizeof(why))))
    return fail(u, FERRY_E_INVAL, 0, "%s", why);
  if (o->create_pr && o->revision && strcmp(o->revision, "main"))
    return fail(u, FERRY_E_INVAL, 0, "--create-pr opens a pull request against main: "
                                     "it cannot be combined with --revision");
  snprintf(u->out->repo_type, sizeof(u->out->repo_type), "%s", ferry__hub_repo_type_name(u->repo.type));
  snprintf(u->out->repo_id, sizeof(u->out->repo_id), "%s", u->repo.id);
  snprintf(u->out->revision, sizeof(u->out->revision), "%s", u->rev);
  /* path_in_repo: a file's own name by default; a folder's prefix without '/' at the ends */
  struct stat st = {0};
  /* The command line is well formed; the file system said no: a file error (exit 6), as
   * for any other file ferry cannot read. */
  if (!o->delete_only && stat(o->local_path, &st) != 0)
    return fail(u, ferry__errno_to_err(errno), 0, "cannot read %s: %s", o->local_path,
                strerror(errno));
  const char *p = o->path_in_repo;
  char *base = NULL;
  if (S_ISREG(st.st_mode) && (!p || !p[0] || !strcmp(p, "."))) {
    char *copy = strdup(o->local_path);
    base = copy ? strdup(basename(copy)) : NULL;
    free(copy);
    p = base;
  }
  if (!p) p = "";
  while (*p == '/') p++;
  if (!strncmp(p, "./", 2)) p += 2;
  if (!strcmp(p, ".")) p = "";
  u->path_prefix = strdup(p);
  free(base);
  if (!u->path_prefix) return fail(u, FERRY_E_NOMEM, 0, "out of memory");
  size_t n = strlen(u->path_prefix);
  while (n && u->path_prefix[n - 1] == '/') u->path_prefix[--n] = 0;
  u->parallel = o->engine && o->engine->connections > 0 ? o->engine->connections : 8;
  u->out->parts_at_once = u->parallel;
  struct ferry_hub_client_opts co = {.token = o->token, .engine = o->engine};
  if ((err = ferry_hub_client_new(&co, &u->client, why, sizeof(why))))
    return fail(u, err, 0, "%s", why);
  if (!ferry__hub_client_token(u->client))
    return fail(u, FERRY_E_HUB_AUTH, 0, "uploading needs a token: log in (ferry auth login), "
                                        "set HF_TOKEN or use --token");
  char *home = NULL;
  if ((err = ferry__hub_home(&u->env, &home)) ||
      (err = ferry__hub_fmt(&u->state_dir, FERRY__HUB_PATH_MAX, "%s/ferry/upload", home)) ||
      (err = ferry__hub_fmt(&u->parts_dir, FERRY__HUB_PATH_MAX, "%s/parts", u->state_dir))) {
    free(home);
    return fail(u, err, 0, "cannot find HF_HOME");
  }
  free(home);
  if (o->delete_only) return 0; /* nothing local to walk */
  struct ferry__upload_walk_opts wo = {.local_path = o->local_path, .path_in_repo = u->path_prefix,
                                       .include = o->include, .n_include = o->n_include,
                                       .exclude = o->exclude, .n_exclude = o->n_exclude};
  if ((err = ferry__upload_walk(&wo, &u->files, why, sizeof(why))))
    return fail(u, err, 0, "%s", why);
  u->out->files_total = (int)u->files.n_e;
  u->out->skipped_links = u->files.skipped_links;
  if (u->files.skipped_links)
    notice(u, "left out %d symlink(s) pointing outside %s", u->files.skipped_links, o->local_path);
  return 0;
}

/* The walk's files [from, to) as the window, nothing learnt about them yet. */
static int load_window(struct up *u, size_t from, size_t to) {
  struct ferry__upload_list *l = &u->files;
  size_t n = to - from;
  if (n > l->cap) {
    struct ferry__upload_file *v = realloc(l->v, n * sizeof(*v));
    if (!v) return fail(u, FERRY_E_NOMEM, 0, "out of memory");
    l->v = v, l->cap = n;
  }
  for (size_t i = 0; i < n; i++) {
    const struct ferry__upload_entry *e = &l->e[from + i];
    l->v[i] = (struct ferry__upload_file){.path = e->path, .size = e->size,
                                          .mtime_ns = e->mtime_ns, .ino = e->ino};
  }
  l->n = n;
  return 0;
}

/* What the window's files add to the summary, once their hashes are known. */
static void count_window(struct up *u) {
  for (size_t i = 0; i < u->files.n; i++) {
    struct ferry__upload_file *f = &u->files.v[i];
    if (f->ignored) continue;
    u->out->bytes_total += f->size;
    if ((f->unchanged = is_unchanged(f))) {
      u->out->files_unchanged++;
      u->out->bytes_skipped += f->size;
    }
    if (!strcmp(f->path, "README.md")) u->remote_readme = 1;
  }
}

/* One window: preupload, hashes, LFS objects, then its commit. A delete_only run has one
 * empty window (its commit holds the deletions). */
static int upload_window(struct up *u) {
  /* the deletions take their room in the first commit, so the first window is smaller */
  size_t want = window_files(u), dels = 0;
  for (size_t i = u->del_next; u->part == 1 && i < u->deletions.n; i++)
    dels += u->deletions.v[i].is_dir == 2;
  want = dels < want ? want - dels : 0;
  size_t to = u->next + want;
  if (to > u->files.n_e) to = u->files.n_e;
  int err = load_window(u, u->next, to);
  u->next = to;
  if (!err && u->files.n) {
    debug(u, "window of %zu file(s), up to %zu of %zu", u->files.n, to, u->files.n_e);
    err = preupload(u);
    if (!err) err = start_hashing(u);
    if (!err) err = hash_and_send(u);
    if (u->hasher) {
      u->hashed_before += ferry__hasher_bytes(u->hasher);
      ferry__hasher_free(u->hasher);
      u->hasher = NULL;
    }
    free(u->from_cache);
    u->from_cache = NULL;
    /* keep what was hashed, even when the window failed */
    if (u->hash_cache) ferry__hash_cache_add(u->hash_cache, &u->files);
    if (!err) count_window(u);
  }
  if (!err) err = stopped(u);
  if (!err) err = commit_window(u);
  return err;
}

int ferry_hub_upload(const struct ferry_hub_upload_opts *o, struct ferry_hub_upload_result *out) {
  memset(out, 0, sizeof(*out));
  struct up u = {.o = o, .out = out, .part = 1, .pr_pending = o->create_pr};
  u.t0 = now_s();
  int err = setup(&u);
  /* Deleting files makes nothing: a missing repo or revision is an error, not created. */
  if (!err && !o->delete_only) err = create_repo(&u);
  if (!err) err = read_revision(&u, !o->create_pr && !o->delete_only);
  if (!err) err = validate_readme(&u);
  if (!err) err = plan_deletions(&u);
  for (size_t i = 0; !err && i < u.deletions.n; i++) /* --delete may take the card away */
    if (u.deletions.v[i].is_dir == 2 && !strcmp(u.deletions.v[i].path, "README.md"))
      u.remote_readme = 0;
  if (!err && !o->delete_only) err = open_hash_cache(&u);
  if (!err) err = stopped(&u);
  while (!err) {
    err = upload_window(&u);
    if (u.next >= u.files.n_e) break;
  }
  if (u.hash_cache) ferry__hash_cache_save(u.hash_cache, &u.files, u.next);
  /* Said once, by the commit that leaves the repo without a card: not by a re-upload that
   * changes nothing, nor after every upload to a repo that never had one. */
  if (!err) out->no_readme = out->commits > 0 && !u.remote_readme;
  if (!err && !out->commits) {
    /* Nothing changed: no commit, and (as huggingface_hub's CommitInfo then) the revision's
     * current commit. */
    memcpy(out->commit_oid, u.parent, sizeof(out->commit_oid));
    ferry__hub_fmt(&out->commit_url, FERRY__HUB_URL_MAX, "%s/%s%s/commit/%s",
                   ferry_hub_client_endpoint(u.client), ferry__hub_repo_url_prefix(u.repo.type),
                   u.repo.id, u.parent);
    notice(&u, "nothing changed in %s: no commit", u.repo.id);
  }
  out->seconds = now_s() - u.t0;
  ferry__upload_list_free(&u.files);
  ferry__hash_cache_free(u.hash_cache);
  ferry__hub_tree_free(&u.deletions);
  if (u.client) ferry_hub_client_free(u.client);
  free(u.state_dir);
  free(u.parts_dir);
  free(u.path_prefix);
  free(u.from_cache);
  return out->error;
}

void ferry_hub_upload_result_free(struct ferry_hub_upload_result *r) {
  free(r->commit_url);
  free(r->pr_url);
  r->commit_url = r->pr_url = NULL;
}
