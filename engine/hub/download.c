/* download: `ferry download`, a repository snapshot into huggingface_hub's cache layout.
 *
 * revision -> commit (one API call, or none for a commit or offline), the recursive tree at
 * that commit (trees/<commit>.json, or listed page by page and then kept), the selection
 * (file names or patterns), then every missing blob as one job of one engine, made as the
 * engine has room for it (a job source, so memory does not grow with the files): resolve URL,
 * expected size and hash from the tree (SHA-256 for LFS, git blob SHA-1 otherwise), partial
 * data in blobs/<etag>.incomplete with its journal. Only verified blobs are renamed into
 * place; the snapshot's relative symlinks and refs/<rev> follow (hub-protocol.md §2-§4). */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../src/align.h"
#include "hub.h"
#include "grow.h"

#define WHY 512
#define DEFERRED_WAIT_MS (6 * 3600 * 1000) /* another process's download of the same blob */
#define MIRROR_CONNECT_TIMEOUT_S 5 /* a tier that does not answer by then is dropped */
#define MIRROR_RETRIES 1           /* per request on the mirror; the Hub is the fallback */

/* What a download keeps for each selected file, all the way through: a million files cost
 * 16 MB here. Path, size and hashes are the tree entry's; a file's lock and job exist only
 * while it is in the engine's window; its result is handed out at the end (hand_out). */
enum { PICK_TODO = 1, PICK_DEFERRED = 2, PICK_DONE = 4 };
struct pick {
  uint32_t i;             /* index into tree.v (FERRY__HUB_TREE_MAX_ENTRIES fits) */
  uint32_t same;          /* another pick whose blob this file shares, + 1; 0: none */
  int error;              /* FERRY_E_* when failed */
  unsigned char status;   /* enum ferry_hub_file_status */
  unsigned char flags;    /* PICK_*: to fetch in this round, left for another process, ended */
  unsigned char verdict;  /* enum ferry__hub_mirror_verdict: its mirror failure's meaning */
};

/* Everything one download needs, built step by step and freed in one place. */
struct dl {
  const struct ferry_hub_download_opts *o;
  char offline_why[256]; /* why the Hub could not be asked, for the final message */
  struct ferry_hub_download_result *out;
  struct ferry_hub_client *client; /* endpoint, token, the API calls and their errors */
  const struct ferry__hub_env *env;
  const struct ferry__hub_settings *settings;
  const char *endpoint;
  int have_token;
  struct ferry__hub_repo repo;
  const char *rev;
  char *cache_root, *repo_dir;
  struct ferry_engine *api; /* the client's engine: API calls, then the first round of transfers */
  struct ferry__hub_tree tree;
  int tree_known;
  int symlinks;
  int unwritable; /* errno: the existing folder cannot be written in (check_creatable) */
  struct pick *pick; /* the selected files */
  size_t npick;
  size_t files_cap;  /* out->files' room (no file_cb) */
  struct blob_ctx *zombies; /* files ended by hand after a stopped run, freed last */
  struct ferry__hub_mirror mirror; /* a cluster's cache tier (FERRY_MIRROR), or none */
};

/* The first failure of the download, into its result. */
#define fail(d, ...) FERRY__HUB_FAIL((d)->out, __VA_ARGS__)

/* A notice for the user (through the engine config's log callback). */
#define notice(d, ...) ferry__hub_notice((d)->o->engine, __VA_ARGS__)

static const char *repo_label(struct dl *d) {
  static char buf[FERRY__HUB_REPO_ID_MAX + 32];
  snprintf(buf, sizeof(buf), "%s%s", ferry__hub_repo_url_prefix(d->repo.type), d->repo.id);
  return buf;
}

/* A failed API call: the client mapped the Hub's answer (ferry__hub_error_map); this adds
 * what was asked and of which repo. */
static int api_fail(struct dl *d, const struct ferry_hub_reply *r, const char *what) {
  return fail(d, r->error, r->status, "%s of %s at %s: %s", what, repo_label(d), d->rev,
              r->message);
}

/* One GET of the Hub's API through the client (retried as huggingface_hub's http_backoff;
 * the token only on the endpoint's origin). 0 for a 2xx answer. */
static int api_get(struct dl *d, const char *url, struct ferry_hub_reply *r) {
  return ferry__hub_client_call_url(d->client, "GET", url, NULL, NULL, NULL, 0, 1, r);
}

/* Whether a failed call means the Hub could not be asked (no answer, 408, 429, 5xx), after
 * which huggingface_hub falls back to the cache; any other answer is the Hub's verdict. */
static int hub_unreachable(const struct ferry_hub_reply *r) {
  return r->status == 0 || r->status == 408 || r->status == 429 || r->status >= 500 ||
         (r->status >= 200 && r->status < 300); /* an answer cut short */
}

/* revision -> commit. *soft = 1 when the Hub could not be asked (network, 5xx, offline):
 * huggingface_hub then falls back to the cache. */
static int resolve_commit(struct dl *d, int *soft) {
  *soft = 0;
  if (ferry__hub_is_commit(d->rev)) {
    memcpy(d->out->commit, d->rev, 41);
    return 0;
  }
  if (d->settings->offline) {
    *soft = 1;
    snprintf(d->offline_why, sizeof(d->offline_why), "HF_HUB_OFFLINE is set");
    return 0;
  }
  char *url = NULL, *sha_only = NULL;
  int err = ferry__hub_url_revision(d->endpoint, &d->repo, d->rev, &url);
  /* Only the commit: the files come from the tree listing, and a repo info naming every file
   * (siblings) is tens of MB as JSON objects for a million files. A server that does not know
   * expand= sends everything, which parses the same. */
  if (!err) err = ferry__hub_fmt(&sha_only, FERRY__HUB_URL_MAX, "%s?expand=sha", url);
  free(url);
  if (err) return fail(d, err, 0, "cannot build the revision URL");
  struct ferry_hub_reply r;
  err = api_get(d, sha_only, &r);
  free(sha_only);
  if (!err) {
    struct ferry__hub_repo_info info;
    char why[WHY] = "";
    err = ferry__hub_repo_info_parse(r.body, r.body_len, &info, why, sizeof(why));
    if (!err) {
      memcpy(d->out->commit, info.sha, 41);
      ferry__hub_repo_info_free(&info);
    } else {
      fail(d, err, r.status, "malformed repository info from the Hub: %s", why);
    }
  } else if (r.status == 0 && err == FERRY_E_TLS) {
    /* A certificate that does not verify is a configuration (or an attack), not an outage:
     * no silent fallback to the cache. */
    fail(d, err, 0, "TLS error talking to %s: %s (is the CA right? --cacert, SSL_CERT_FILE)",
         d->endpoint, ferry_strerror(err));
  } else if (hub_unreachable(&r)) {
    *soft = 1; /* the Hub is unreachable or failing: try the cache */
    if (r.status == 0) snprintf(d->offline_why, sizeof(d->offline_why), "%.200s", r.message);
    else snprintf(d->offline_why, sizeof(d->offline_why), "HTTP %ld", r.status);
    notice(d, "cannot reach the Hub (%s): looking in the cache", d->offline_why);
    err = 0;
  } else {
    err = api_fail(d, &r, "repository info");
  }
  ferry_hub_reply_free(&r);
  return err;
}

/* The recursive tree, every page (ferry__hub_tree_walk: a next page elsewhere than the
 * endpoint is refused, and no request goes there). */
static int list_tree(struct dl *d) {
  char *url = NULL;
  int err = ferry__hub_url_tree(d->endpoint, &d->repo, d->out->commit, NULL, 1, 0, &url);
  if (err) return fail(d, err, 0, "cannot build the tree URL");
  struct ferry_hub_reply failed;
  char why[WHY] = "";
  err = ferry__hub_tree_walk(d->client, url, &d->tree, NULL, NULL, &failed, why, sizeof(why));
  free(url);
  if (err && failed.error) api_fail(d, &failed, "tree listing");
  else if (err) fail(d, err, 0, "tree listing of %s: %s", repo_label(d), why);
  ferry_hub_reply_free(&failed);
  if (!err) d->tree_known = 1;
  return err;
}

/* trees/<commit>.json lives in the repo folder, or in <local_dir>/.cache/huggingface. */
static char *tree_folder(struct dl *d) {
  if (!d->o->local_dir) return strdup(d->repo_dir);
  char *f = NULL;
  ferry__hub_fmt(&f, FERRY__HUB_PATH_MAX, "%s/.cache/huggingface", d->o->local_dir);
  return f;
}

static int load_tree(struct dl *d, int may_list) {
  char *folder = tree_folder(d);
  if (!folder) return fail(d, FERRY_E_NOMEM, 0, "out of memory");
  int found = 0, err;
  char why[WHY] = "";
  err = ferry__hub_tree_cache_read(folder, d->out->commit, &d->tree, &found, why, sizeof(why));
  if (err) { /* a damaged tree cache is listed again, as huggingface_hub does */
    ferry__hub_tree_free(&d->tree);
    ferry__hub_tree_init(&d->tree);
    found = 0;
  }
  if (found) {
    d->tree_known = 1;
  } else if (may_list) {
    err = list_tree(d);
    if (!err && ferry__hub_tree_cache_write(folder, d->out->commit, &d->tree) != 0)
      notice(d, "could not write the tree cache in %s", folder);
  }
  free(folder);
  return err ? err : 0;
}

static const struct ferry__hub_entry *find_file(struct dl *d, const char *path) {
  for (size_t i = 0; i < d->tree.n; i++)
    if (!d->tree.v[i].is_dir && !strcmp(d->tree.v[i].path, path)) return &d->tree.v[i];
  return NULL;
}

/* A name given with a trailing '/' is a folder: everything under it (as `hf download`). */
static int is_folder_name(const char *name) {
  size_t n = strlen(name);
  return n > 0 && name[n - 1] == '/';
}

/* The length of a folder name without its trailing slashes. */
static size_t folder_len(const char *name) {
  size_t n = strlen(name);
  while (n && name[n - 1] == '/') n--;
  return n;
}

/* Whether the tree has a file below the folder `name` (its first n bytes). */
static int under_folder(const char *path, const char *name, size_t n) {
  return strncmp(path, name, n) == 0 && path[n] == '/';
}

static int select_files(struct dl *d) {
  const struct ferry_hub_download_opts *o = d->o;
  d->pick = calloc(d->tree.n + 1, sizeof(*d->pick));
  unsigned char *taken = calloc(d->tree.n + 1, 1); /* a file named twice is fetched once */
  if (!d->pick || !taken) {
    free(taken);
    return fail(d, FERRY_E_NOMEM, 0, "out of memory");
  }
  int err = 0;
  for (size_t k = 0; k < o->n_filenames && !err; k++) {
    const char *name = o->filenames[k];
    size_t n = folder_len(name), found = 0;
    for (size_t i = 0; i < d->tree.n; i++) {
      const struct ferry__hub_entry *e = &d->tree.v[i];
      if (e->is_dir) continue;
      int hit = is_folder_name(name) ? under_folder(e->path, name, n) : !strcmp(e->path, name);
      if (!hit) continue;
      found++;
      if (!taken[i]) d->pick[d->npick++].i = (uint32_t)i;
      taken[i] = 1;
    }
    if (found) continue;
    int folder = 0; /* named without its '/': say how to ask for it */
    for (size_t i = 0; i < d->tree.n && !folder && !is_folder_name(name); i++)
      folder = under_folder(d->tree.v[i].path, name, n);
    if (!is_folder_name(name) && !folder)
      ferry__hub_no_exist_mark(d->repo_dir, d->out->commit, name);
    err = fail(d, FERRY_E_HUB_ENTRY_NOT_FOUND, 404, "%s %s in %s at %s%s%s%s", name,
               is_folder_name(name) ? "holds no files" : "not found", repo_label(d),
               d->out->commit, folder ? ": it is a folder, write '" : "", folder ? name : "",
               folder ? "/' for everything under it" : "");
  }
  for (size_t i = 0; i < d->tree.n && !err && !o->n_filenames; i++) {
    if (d->tree.v[i].is_dir) continue;
    int keep = ferry__hub_patterns_keep(o->include, o->n_include, o->exclude, o->n_exclude,
                                        d->tree.v[i].path);
    if (keep < 0) err = fail(d, keep, 0, "bad --include or --exclude pattern");
    else if (keep) d->pick[d->npick++].i = (uint32_t)i;
  }
  free(taken);
  return err;
}

/* One FILENAME that is a file (not a folder): the result is that file's path. */
static const char *single_file(struct dl *d) {
  const char *name = d->o->n_filenames == 1 ? d->o->filenames[0] : NULL;
  return name && !is_folder_name(name) ? name : NULL;
}

static char *result_path(struct dl *d) {
  char *p = NULL;
  const char *single = single_file(d);
  if (d->o->local_dir) {
    if (single) ferry__hub_fmt(&p, FERRY__HUB_PATH_MAX, "%s/%s", d->o->local_dir, single);
    else p = strdup(d->o->local_dir);
  } else {
    ferry__hub_snapshot_path(d->repo_dir, d->out->commit, single, &p);
  }
  return p;
}

static uint64_t entry_size(const struct ferry__hub_entry *e) {
  return e->has_lfs ? ferry__hub_entry_lfs_size(e) : e->size;
}

/* The hash that names a file's blob: the LFS sha256, or the git blob sha1 (in buf: the tree
 * keeps it as 20 bytes). */
static const char *blob_hash(const struct ferry__hub_entry *e, char buf[FERRY__HUB_OID_TEXT]) {
  return e->has_lfs ? ferry__hub_entry_lfs_oid(e) : ferry__hub_entry_oid(e, buf);
}

static int entry_etag(struct dl *d, const struct ferry__hub_entry *e, char etag[65]) {
  char why[WHY] = "";
  char buf[FERRY__HUB_OID_TEXT];
  int err = ferry__hub_etag_normalize(blob_hash(e, buf), etag, 65, why, sizeof(why));
  if (err) fail(d, err, 0, "%s: unusable object id from the Hub: %s", e->path, why);
  return err;
}

/* The tree entry of selected file k. */
static const struct ferry__hub_entry *entry_of(struct dl *d, size_t k) {
  return &d->tree.v[d->pick[k].i];
}

/* File k's blob name, once plan_and_fetch has checked it with entry_etag: the tree keeps only
 * 40- and 64-hex oids, which normalise to themselves. */
static const char *etag_of(struct dl *d, size_t k, char buf[FERRY__HUB_OID_TEXT]) {
  return blob_hash(entry_of(d, k), buf);
}

/* One file's outcome to the caller: through opts->file_cb (nothing kept), or a copy appended
 * to out->files. Counts it in out->n_files. */
static int report_file(struct dl *d, const struct ferry_hub_file *f) {
  struct ferry_hub_download_result *out = d->out;
  if (d->o->file_cb) {
    d->o->file_cb(d->o->file_user, f);
    out->n_files++;
    return 0;
  }
  if (ferry__grow(&out->files, &d->files_cap, out->n_files + 1, sizeof(*out->files), 64) != 0)
    return FERRY_E_NOMEM;
  struct ferry_hub_file *to = &out->files[out->n_files];
  *to = *f;
  if (!(to->path = strdup(f->path))) return FERRY_E_NOMEM;
  out->n_files++;
  return 0;
}

/* One file of a result served from the cache (status cached). */
static int add_cached(struct dl *d, const char *path, uint64_t size, const char *etag, int lfs) {
  struct ferry_hub_file f = {.path = (char *)path, .size = size, .lfs = lfs,
                             .status = FERRY_HUB_FILE_CACHED};
  snprintf(f.etag, sizeof(f.etag), "%s", etag ? etag : "");
  int err = report_file(d, &f);
  if (err) return err;
  d->out->files_cached++;
  d->out->bytes_total += size;
  return 0;
}

/* Every file below root/rel, by its path relative to root (a local dir's .cache/ left out),
 * to each(); st is NULL for a name stat cannot follow. Stops at each()'s first error. */
typedef int (*each_file_fn)(struct dl *d, const char *rel, const struct stat *st, void *user);

static int walk_files(struct dl *d, const char *root, const char *rel, each_file_fn each,
                      void *user) {
  char *dir = NULL;
  if (ferry__hub_fmt(&dir, FERRY__HUB_PATH_MAX, "%s%s%s", root, rel[0] ? "/" : "", rel))
    return FERRY_E_NOMEM;
  DIR *dh = opendir(dir);
  free(dir);
  if (!dh) return 0;
  struct dirent *de;
  int err = 0;
  while (!err && (de = readdir(dh))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    if (!rel[0] && d->o->local_dir && !strcmp(de->d_name, ".cache")) continue;
    char *sub = NULL, *full = NULL;
    struct stat st;
    err = ferry__hub_fmt(&sub, FERRY__HUB_PATH_MAX, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
    if (!err) err = ferry__hub_fmt(&full, FERRY__HUB_PATH_MAX, "%s/%s", root, sub);
    int ok = !err && stat(full, &st) == 0;
    if (!err && ok && S_ISDIR(st.st_mode)) err = walk_files(d, root, sub, each, user);
    else if (!err) err = each(d, sub, ok ? &st : NULL, user);
    free(sub);
    free(full);
  }
  closedir(dh);
  return err;
}

static int add_found(struct dl *d, const char *rel, const struct stat *st, void *user) {
  (void)user;
  return st ? add_cached(d, rel, (uint64_t)st->st_size, NULL, 0) : 0;
}

/* Without a tree listing (older clients, or a cache that only ever got single files), what is
 * served is what the folder holds: every file below root/rel. */
static int add_cached_walk(struct dl *d, const char *root, const char *rel) {
  return walk_files(d, root, rel, add_found, NULL);
}

static int exists_below(const char *root, const char *path, int want_dir) {
  char *f = NULL;
  struct stat st;
  int have = ferry__hub_fmt(&f, FERRY__HUB_PATH_MAX, "%s/%s", root, path) == 0 &&
             stat(f, &st) == 0 && (!want_dir || S_ISDIR(st.st_mode));
  free(f);
  return have;
}

/* Offline (§4.3): the files asked for, from root (the snapshot folder or the local dir).
 * With the tree known, every selected file must be there, and the missing ones are named
 * (the first three and how many), as huggingface_hub's IncompleteSnapshotError does. */
static int serve_files(struct dl *d, const char *root) {
  size_t n = d->tree_known ? d->npick : d->o->n_filenames, missing = 0;
  char sample[320] = "";
  for (size_t k = 0; k < n; k++) {
    const char *name = d->tree_known ? d->tree.v[d->pick[k].i].path : d->o->filenames[k];
    int folder = !d->tree_known && is_folder_name(name);
    if (exists_below(root, name, folder)) continue;
    if (missing < 3) {
      size_t used = strlen(sample);
      snprintf(sample + used, sizeof(sample) - used, "%s%.96s", missing ? ", " : "", name);
    }
    missing++;
  }
  if (missing > 3) {
    size_t used = strlen(sample);
    snprintf(sample + used, sizeof(sample) - used, ", ... (%zu more)", missing - 3);
  }
  if (missing && d->o->local_dir)
    return fail(d, FERRY_E_HUB_OFFLINE, 0,
                "%s is missing %zu file(s) (%s) and the Hub cannot be asked (%s)", root, missing,
                sample, d->offline_why);
  if (missing)
    return fail(d, FERRY_E_HUB_OFFLINE, 0,
                "%s at %s is not completely in the cache %s: %zu file(s) are missing (%s); the "
                "Hub cannot be asked (%s)",
                repo_label(d), d->rev, d->cache_root, missing, sample, d->offline_why);
  int err = 0;
  for (size_t k = 0; k < d->npick && d->tree_known && !err; k++) {
    const struct ferry__hub_entry *e = &d->tree.v[d->pick[k].i];
    char etag[65] = "";
    if ((err = entry_etag(d, e, etag))) return err;
    err = add_cached(d, e->path, entry_size(e), etag, e->has_lfs);
  }
  for (size_t k = 0; k < d->o->n_filenames && !d->tree_known && !err; k++) {
    const char *name = d->o->filenames[k];
    char *f = NULL;
    struct stat st;
    if (is_folder_name(name)) {
      char rel[FERRY__HUB_PATH_MAX + 1];
      snprintf(rel, sizeof(rel), "%.*s", (int)folder_len(name), name);
      err = add_cached_walk(d, root, rel);
    } else if (!(err = ferry__hub_fmt(&f, FERRY__HUB_PATH_MAX, "%s/%s", root, name)) &&
               stat(f, &st) == 0) {
      err = add_cached(d, name, (uint64_t)st.st_size, NULL, 0);
    }
    free(f);
  }
  if (!err && !d->tree_known && !d->o->n_filenames) err = add_cached_walk(d, root, "");
  if (err) return fail(d, err, 0, "out of memory");
  d->out->path = result_path(d);
  return 0;
}

/* The offline path with --local-dir (§4.3): the folder itself, if it holds the files. */
static int serve_local_dir(struct dl *d) {
  const char *dir = d->o->local_dir;
  DIR *dh = opendir(dir);
  int nonempty = 0;
  struct dirent *de;
  while (dh && !nonempty && (de = readdir(dh)))
    nonempty = strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, ".cache");
  if (dh) closedir(dh);
  if (!nonempty)
    return fail(d, FERRY_E_HUB_OFFLINE, 0, "%s is empty and the Hub cannot be asked (%s)", dir,
                d->offline_why);
  if (d->out->commit[0]) { /* with a known commit, every selected file must be there */
    load_tree(d, 0);
    if (d->tree_known && select_files(d)) return d->out->error;
  }
  return serve_files(d, dir);
}

/* The offline / fallback path (§4.3): the cached snapshot, if complete. */
static int serve_from_cache(struct dl *d) {
  if (!d->out->commit[0]) {
    char commit[41];
    int found = 0;
    if (ferry__hub_ref_read(d->repo_dir, d->rev, commit, &found) == 0 && found)
      memcpy(d->out->commit, commit, 41);
  }
  if (d->o->local_dir) return serve_local_dir(d);
  if (!d->out->commit[0])
    return fail(d, FERRY_E_HUB_OFFLINE, 0, "%s at %s is not in the cache %s (%s)",
                repo_label(d), d->rev, d->cache_root, d->offline_why);
  load_tree(d, 0);
  if (d->tree_known && select_files(d)) return d->out->error;
  char *snap = NULL;
  ferry__hub_snapshot_path(d->repo_dir, d->out->commit, NULL, &snap);
  struct stat st;
  int err;
  if (!snap || stat(snap, &st) != 0 || !S_ISDIR(st.st_mode))
    err = fail(d, FERRY_E_HUB_OFFLINE, 0, "%s at %s is not in the cache %s (%s)", repo_label(d),
               d->rev, d->cache_root, d->offline_why);
  else
    err = serve_files(d, snap);
  free(snap);
  return err;
}

static int is_regular_with_size(const char *path, uint64_t size) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size;
}

static int mkparents(const char *path) {
  char *dup = strdup(path);
  if (!dup) return FERRY_E_NOMEM;
  struct stat st;
  const char *dir = dirname(dup);
  int err = stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : ferry__mkdirs(dir);
  free(dup);
  return err;
}

static int copy_file(const char *from, const char *to) {
  char *tmp = NULL;
  if (ferry__hub_fmt(&tmp, FERRY__HUB_PATH_MAX, "%s.ferry-copy", to)) return FERRY_E_NOMEM;
  int in = open(from, O_RDONLY | O_CLOEXEC);
  int outfd = in < 0 ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err = in < 0 || outfd < 0 ? FERRY_E_IO : 0;
  static char buf[1 << 16];
  ssize_t n;
  while (!err && (n = read(in, buf, sizeof(buf))) > 0) {
    ssize_t w = write(outfd, buf, (size_t)n);
    if (w != n) err = ferry__errno_to_err(w < 0 ? errno : ENOSPC); /* short: the disk is full */
  }
  if (!err && (fsync(outfd) != 0 || rename(tmp, to) != 0)) err = FERRY_E_IO;
  if (in >= 0) close(in);
  if (outfd >= 0) close(outfd);
  if (err) unlink(tmp);
  free(tmp);
  return err;
}

/* snapshots/<commit>/<path> -> ../../blobs/<etag> (relative), or a copy / move of the blob
 * where symlinks do not work (§3.3). */
static int link_snapshot(struct dl *d, const struct ferry__hub_entry *e, const char *etag,
                         int fresh) {
  char *pointer = NULL, *blob = NULL, *target = NULL;
  int err = ferry__hub_snapshot_path(d->repo_dir, d->out->commit, e->path, &pointer);
  if (!err) err = ferry__hub_blob_path(d->repo_dir, etag, &blob);
  if (!err) err = mkparents(pointer);
  if (!err && d->symlinks) {
    err = ferry__hub_symlink_target(e->path, etag, &target);
    if (!err) {
      char cur[FERRY__HUB_PATH_MAX];
      ssize_t n = readlink(pointer, cur, sizeof(cur) - 1);
      if (n >= 0) cur[n] = 0;
      if (n < 0 || strcmp(cur, target) != 0) {
        unlink(pointer);
        if (symlink(target, pointer) != 0 && errno != EEXIST) err = FERRY_E_IO;
      }
    }
  } else if (!err) {
    if (fresh) {
      if (rename(blob, pointer) != 0) err = FERRY_E_IO;
    } else if (!is_regular_with_size(pointer, entry_size(e))) {
      err = copy_file(blob, pointer);
    }
  }
  if (err) fail(d, err, 0, "cannot place %s in the snapshot %s", e->path, d->out->commit);
  free(pointer);
  free(blob);
  free(target);
  return err;
}

/* Where a file's bytes go: blobs/<etag> in the cache, or <local_dir>/<path>. */
struct target {
  char *final, *part, *journal;
};

static void target_free(struct target *t) {
  free(t->final), free(t->part), free(t->journal);
  memset(t, 0, sizeof(*t));
}

static int target_for(struct dl *d, const struct ferry__hub_entry *e, const char *etag,
                      struct target *t) {
  memset(t, 0, sizeof(*t));
  int err;
  if (d->o->local_dir) {
    err = ferry__hub_fmt(&t->final, FERRY__HUB_PATH_MAX, "%s/%s", d->o->local_dir, e->path);
    if (!err)
      err = ferry__hub_fmt(&t->part, FERRY__HUB_PATH_MAX,
                           "%s/.cache/huggingface/download/%s.%s.incomplete", d->o->local_dir,
                           e->path, etag);
  } else {
    err = ferry__hub_blob_path(d->repo_dir, etag, &t->final);
    if (!err) err = ferry__hub_fmt(&t->part, FERRY__HUB_PATH_MAX, "%s.incomplete", t->final);
  }
  if (!err && t->part) {
    size_t n = strlen(t->part) - strlen(".incomplete");
    err = ferry__hub_fmt(&t->journal, FERRY__HUB_PATH_MAX, "%.*s.journal", (int)n, t->part);
  }
  if (!err) err = mkparents(t->final);
  if (!err) err = mkparents(t->part);
  if (err) target_free(t);
  return err;
}

/* Already there? In the cache a blob with its expected name and size is trusted (as
 * huggingface_hub does; `ferry cache verify` re-hashes); in a local dir, the metadata must
 * name the same etag and be fresh. */
static int already_there(struct dl *d, const struct ferry__hub_entry *e, const char *etag,
                         const struct target *t) {
  if (d->o->force_download || !is_regular_with_size(t->final, entry_size(e))) return 0;
  if (!d->o->local_dir) return 1;
  struct ferry__hub_local_meta meta;
  int found = 0;
  return ferry__hub_local_meta_read(d->o->local_dir, e->path, &meta, &found) == 0 && found &&
         meta.fresh && !strcmp(meta.etag, etag);
}

static int finish_file(struct dl *d, size_t k, int fresh) {
  const struct ferry__hub_entry *e = entry_of(d, k);
  char buf[FERRY__HUB_OID_TEXT];
  if (d->o->local_dir)
    return ferry__hub_local_meta_write(d->o->local_dir, e->path, d->out->commit,
                                       etag_of(d, k, buf), (double)time(NULL) + 1.0);
  return link_snapshot(d, e, etag_of(d, k, buf), fresh);
}

static void add_stats(struct ferry_stats *to, const struct ferry_stats *s) {
  to->bytes_total += s->bytes_total;
  to->bytes_done += s->bytes_done;
  to->bytes_received += s->bytes_received;
  to->bytes_refetched += s->bytes_refetched;
  to->bytes_resumed += s->bytes_resumed;
  to->bytes_read_back += s->bytes_read_back;
  to->requests += s->requests;
  to->retries += s->retries;
  to->connections_opened += s->connections_opened;
  if (s->connections_peak > to->connections_peak) to->connections_peak = s->connections_peak;
  to->files_total += s->files_total;
  to->files_done += s->files_done;
  to->files_failed += s->files_failed;
  if (s->memory_peak > to->memory_peak) to->memory_peak = s->memory_peak;
  to->held_back_seconds += s->held_back_seconds;
  to->seconds += s->seconds;
}

/* File k failed with `error`: its status, and the download's first failure. */
static void pick_failed(struct dl *d, size_t k, int error) {
  d->pick[k].status = FERRY_HUB_FILE_FAILED;
  d->pick[k].error = error;
}

/* A failed blob: the Hub's own error code on the resolve answer (or a 401) decides the class,
 * through the same mapping as API calls. */
static void blob_failed(struct dl *d, size_t k, const struct ferry_job_result *r) {
  pick_failed(d, k, r->error);
  if (r->server_code[0] || r->http_status == 401) {
    const char *what;
    int error = ferry__hub_error_map(r->http_status, r->server_code, r->server_message,
                                     d->have_token, &what);
    pick_failed(d, k, error);
    fail(d, error, r->http_status, "%s of %s at %s: HTTP %ld: %s%s%s", entry_of(d, k)->path,
         repo_label(d), d->rev, r->http_status, what, r->server_message[0] ? ": " : "",
         r->server_message);
  } else if (r->error != FERRY_E_CHECKSUM || d->out->error == 0) {
    fail(d, r->error, r->http_status, "%s", r->message);
  }
}

/* One round of transfers: the files marked PICK_TODO become jobs as the engine has room for
 * them (a job source), so memory does not grow with the number of files. */
struct round {
  struct dl *d;
  size_t next;                /* the next file index to look at */
  int from_mirror;            /* the files come from the mirror (the Hub is the next round) */
  struct blob_ctx *live;      /* the files that are jobs now (at most the engine's window) */
  struct held_lock *held;     /* locks taken before the round, by ascending file index */
  size_t n_held, held_at;
};

/* A blob lock run_deferred waited for, handed to the round that fetches the blob. */
struct held_lock {
  size_t k;
  struct ferry__lock lock;
};

/* One file while it is a job: made by start_blob, freed when the engine says it ended. */
struct blob_ctx {
  struct dl *d;
  struct round *rd;
  size_t k;
  struct ferry_job *job; /* valid until done: the engine frees a source's jobs after done_cb */
  struct ferry_engine *eng;
  struct ferry__lock lock; /* the blob's lock in .locks/ (cache mode) */
  int ended;
  struct blob_ctx *prev, *next; /* in rd->live; then, ended by hand, in d->zombies */
};

static void live_unlink(struct blob_ctx *c) {
  if (c->prev) c->prev->next = c->next;
  else c->rd->live = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = NULL;
}

/* A file that failed on the mirror: what it means (mirror.c decides), said once, and whether
 * the file goes to the Hub next (1) or failed for good (0). */
static int mirror_failed(struct blob_ctx *c, const struct ferry_job_result *r) {
  struct dl *d = c->d;
  int was_dropped = d->mirror.dropped;
  enum ferry__hub_mirror_verdict v = ferry__hub_mirror_judge(&d->mirror, r->error, r->http_status);
  d->pick[c->k].verdict = (unsigned char)v;
  switch (v) {
  case FERRY__MIRROR_DROP:
    if (!was_dropped)
      notice(d, "mirror %s: %s: using the Hub for the rest of this run", d->mirror.shown,
             r->message[0] ? r->message : ferry_strerror(r->error));
    ferry__engine_stop(c->eng); /* the files still in flight go to the Hub too */
    return 1;
  case FERRY__MIRROR_BAD_COPY:
    notice(d, "mirror %s served a wrong copy of %s (its hash does not match): purging it "
           "there, fetching it whole from the Hub", d->mirror.shown, entry_of(d, c->k)->path);
    return 1;
  case FERRY__MIRROR_FALLBACK:
    return 1;
  default:
    return 0;
  }
}

/* A file's job ended (or, after a stopped run, never will): its result, its lock released. */
static void blob_end(struct blob_ctx *c, struct ferry_job *job) {
  struct dl *d = c->d;
  struct pick *p = &d->pick[c->k];
  struct ferry_job_result r;
  ferry_job_result(job, &r);
  c->ended = 1;
  c->job = NULL;
  p->flags |= PICK_DONE;
  if (r.error && c->rd->from_mirror && mirror_failed(c, &r)) {
    p->status = FERRY_HUB_FILE_PLANNED; /* not failed: the Hub's round takes it */
    p->error = 0;
  } else if (r.error) {
    blob_failed(d, c->k, &r);
  } else {
    p->status = FERRY_HUB_FILE_DOWNLOADED;
    p->error = 0;
    d->out->files_downloaded++;
    d->out->bytes_downloaded += r.size - r.bytes_resumed;
    if (finish_file(d, c->k, 1)) p->status = FERRY_HUB_FILE_FAILED;
  }
  ferry__lock_release(&c->lock);
  live_unlink(c);
}

/* Called by the engine as each blob finishes: place it and let other processes have it. */
static void on_blob_done(void *user, struct ferry_job *job) {
  struct blob_ctx *c = user;
  if (c->ended) return; /* ended by hand after its run; freed with the download */
  blob_end(c, job);
  free(c);
}

/* A wrong copy from the mirror: asked to be dropped there, so that the next node does not get
 * it (the file itself is fetched whole from the Hub by the next round). */
static void purge_bad_copy(struct dl *d, size_t k) {
  const struct ferry__hub_entry *e = entry_of(d, k);
  int purged = 0;
  int err = ferry__hub_mirror_purge(&d->mirror, d->api, &d->repo, d->out->commit, e->path,
                                    entry_size(e), &purged);
  if (err)
    notice(d, "mirror %s: could not purge %s there: %s", d->mirror.shown, e->path,
           ferry_strerror(err));
  else
    notice(d, "mirror %s: purged %s (%d cache entr%s)", d->mirror.shown, e->path, purged,
           purged == 1 ? "y" : "ies");
}

/* The lock run_deferred took for file k, if any (files come in ascending order). */
static int take_held(struct round *rd, size_t k, struct ferry__lock *into) {
  while (rd->held_at < rd->n_held && rd->held[rd->held_at].k < k) rd->held_at++;
  if (rd->held_at >= rd->n_held || rd->held[rd->held_at].k != k) return 0;
  *into = rd->held[rd->held_at].lock;
  memset(&rd->held[rd->held_at].lock, 0, sizeof(*into));
  return 1;
}

/* In the cache, file k's blob locked into c->lock (one process per blob). 0: go on; 1: not
 * a job (left for run_deferred, failed, or placed: another process finished it). */
static int lock_blob(struct dl *d, size_t k, struct blob_ctx *c) {
  struct pick *p = &d->pick[k];
  const struct ferry__hub_entry *e = entry_of(d, k);
  char *lock_path = NULL;
  struct ferry__lock_opts lo = {0};
  char buf[FERRY__HUB_OID_TEXT];
  int held = ferry__hub_lock_path(d->cache_root, &d->repo, etag_of(d, k, buf), &lock_path);
  if (!held) held = ferry__lock_acquire(lock_path, &lo, &c->lock);
  free(lock_path);
  if (held == FERRY__LOCK_HELD) {
    p->flags |= PICK_DEFERRED;
    return 1;
  }
  if (held) {
    pick_failed(d, k, held);
    fail(d, held, 0, "cannot create the lock for %s", e->path);
    return 1;
  }
  /* Another process may have finished this blob between our look and our lock. */
  char *blob = NULL;
  int there = ferry__hub_blob_path(d->repo_dir, etag_of(d, k, buf), &blob) == 0 &&
              !d->o->force_download && is_regular_with_size(blob, entry_size(e));
  free(blob);
  if (there) {
    p->status = FERRY_HUB_FILE_CACHED;
    d->out->files_cached++;
    finish_file(d, k, 0);
    ferry__lock_release(&c->lock);
  }
  return there;
}

/* File k as a job of `eng`. In the cache, its blob is locked first; one that another process
 * holds is left for run_deferred (deferred), one that appeared meanwhile is placed. */
static void start_blob(struct round *rd, struct ferry_engine *eng, size_t k) {
  struct dl *d = rd->d;
  struct pick *p = &d->pick[k];
  const struct ferry__hub_entry *e = entry_of(d, k);
  char buf[FERRY__HUB_OID_TEXT];
  const char *etag = etag_of(d, k, buf);
  struct blob_ctx *c = calloc(1, sizeof(*c));
  if (!c) {
    pick_failed(d, k, FERRY_E_NOMEM);
    fail(d, FERRY_E_NOMEM, 0, "%s: cannot start its download: out of memory", e->path);
    p->flags &= (unsigned char)~PICK_TODO;
    return;
  }
  *c = (struct blob_ctx){.d = d, .rd = rd, .k = k, .eng = eng};
  if (!d->o->local_dir && !take_held(rd, k, &c->lock) && lock_blob(d, k, c)) {
    free(c);
    p->flags &= (unsigned char)~PICK_TODO;
    return;
  }
  struct target t;
  char *url = NULL, *identity = NULL;
  int err = target_for(d, e, etag, &t);
  if (!err && rd->from_mirror)
    err = ferry__hub_mirror_file_url(&d->mirror, &d->repo, d->out->commit, e->path, 0, &url);
  else if (!err)
    err = ferry__hub_url_resolve(d->endpoint, &d->repo, d->out->commit, e->path, &url);
  /* The Hub token to the Hub's origin only; the mirror gets its own secret, if any. */
  const char *headers[2] = {NULL, NULL};
  if (url) headers[0] = rd->from_mirror ? d->mirror.auth : ferry__hub_client_auth_for(d->client, url);
  if (!err) err = ferry__hub_fmt(&identity, FERRY__HUB_PATH_MAX, "hub-blob:%s", etag);
  if (!err) {
    struct ferry_job_spec spec = {
        .url = url, .path = t.final, .size = (int64_t)entry_size(e), .headers = headers,
        .sha256_hex = e->has_lfs ? etag : NULL, .git_sha1_hex = e->has_lfs ? NULL : etag,
        .part_path = t.part, .journal_path = t.journal, .identity = identity,
        .no_resume = d->o->force_download, .label = e->path, .done_cb = on_blob_done,
        .done_user = c,
        .caller_locked = !d->o->local_dir, /* the cache's blobs are locked in .locks/ */
        /* a file at a commit, its hash known: the mirror's and the Hub's copies are the
         * same bytes under different validators, and a resume may switch between them */
        .immutable = 1,
        /* the Hub's resolve URL redirects a large file to its CDN: warm up there */
        .url_redirects = !rd->from_mirror};
    /* LFS etags are the content's SHA-256; others the git blob SHA-1 of the content. */
    if (e->has_lfs && strlen(etag) != 64) spec.sha256_hex = NULL;
    c->next = rd->live; /* in the list before the engine can end it */
    if (rd->live) rd->live->prev = c;
    rd->live = c;
    err = ferry_engine_add(eng, &spec, &c->job);
    if (err) live_unlink(c);
  }
  if (err) {
    pick_failed(d, k, err);
    fail(d, err, 0, "%s: cannot start its download", e->path);
    ferry__lock_release(&c->lock);
    free(c);
    p->flags &= (unsigned char)~PICK_TODO;
  }
  free(url);
  free(identity);
  target_free(&t);
}

static int next_blob(void *user, struct ferry_engine *eng) {
  struct round *rd = user;
  while (rd->next < rd->d->npick && !(rd->d->pick[rd->next].flags & PICK_TODO)) rd->next++;
  if (rd->next >= rd->d->npick) return 0;
  start_blob(rd, eng, rd->next++);
  return 1;
}

/* One round of transfers for the files marked PICK_TODO, from the Hub or, with
 * `from_mirror`, from the mirror; `held`: the locks run_deferred took. Returns 0, or
 * FERRY_E_INTERRUPTED. Files that fail with a checksum error stay marked; from the mirror, so
 * do those that go to the Hub next (also those a dropped mirror's stopped run never made jobs
 * of). */
static int transfer_round(struct dl *d, struct ferry_engine *eng, int *checksum_failed,
                          int from_mirror, struct held_lock *held, size_t n_held) {
  struct round rd = {.d = d, .from_mirror = from_mirror, .held = held, .n_held = n_held};
  int total = 0;
  for (size_t k = 0; k < d->npick; k++) {
    struct pick *p = &d->pick[k];
    if (!(p->flags & PICK_TODO)) continue;
    total++;
    p->flags &= (unsigned char)~PICK_DONE;
    p->verdict = FERRY__MIRROR_OK;
  }
  struct ferry_job_source src = {.next = next_blob, .user = &rd, .total = total};
  int run_err = ferry_engine_set_source(eng, &src);
  if (!run_err) run_err = ferry_engine_run(eng);
  while (rd.live) { /* never ended: interrupted first */
    struct blob_ctx *c = rd.live;
    blob_end(c, c->job);
    c->next = d->zombies; /* the engine still has the job: freed after the engines */
    d->zombies = c;
  }
  int to_hub = 0, to_hub_jobs = 0;
  for (size_t k = 0; k < d->npick; k++) {
    struct pick *p = &d->pick[k];
    if (!(p->flags & PICK_TODO)) continue;
    if (!(p->flags & PICK_DONE) && from_mirror && d->mirror.dropped) {
      to_hub++; /* never became a job before the mirror was dropped: from the Hub next */
      continue;
    }
    if (!(p->flags & PICK_DONE)) { /* never became a job: the run was stopped first */
      pick_failed(d, k, FERRY_E_INTERRUPTED);
      fail(d, FERRY_E_INTERRUPTED, 0, "%s: interrupted before it started", entry_of(d, k)->path);
    }
    p->flags &= (unsigned char)~PICK_TODO;
    if (p->status == FERRY_HUB_FILE_FAILED && p->error == FERRY_E_CHECKSUM) {
      p->flags |= PICK_TODO; /* one more try, then it is reported */
      (*checksum_failed)++;
    } else if (from_mirror && p->verdict != FERRY__MIRROR_OK &&
               p->status == FERRY_HUB_FILE_PLANNED) {
      p->flags |= PICK_TODO; /* from the Hub next */
      to_hub++, to_hub_jobs++;
      if (p->verdict == FERRY__MIRROR_BAD_COPY) purge_bad_copy(d, k);
    }
  }
  if (eng != d->api) { /* the first engine's figures are added once, at the end */
    struct ferry_stats st;
    ferry_engine_stats(eng, &st);
    /* files the Hub's round takes are counted there (those that were jobs failed here) */
    st.files_total -= to_hub < st.files_total ? to_hub : st.files_total;
    st.files_failed -= to_hub_jobs < st.files_failed ? to_hub_jobs : st.files_failed;
    add_stats(&d->out->stats, &st);
  }
  /* A mirror dropped mid-round stopped its engine: not the user's interrupt. */
  if (run_err == FERRY_E_INTERRUPTED && from_mirror && d->mirror.dropped) return 0;
  return run_err == FERRY_E_INTERRUPTED ? FERRY_E_INTERRUPTED : 0;
}

/* Before the round: one small request of the first file, so that a tier that is gone, hangs
 * or refuses this node is known after one connect timeout, not after every file's retries
 * (requests wait for the first connection to learn whether it multiplexes). 0 when the round
 * may go on; else the mirror is dropped, with one notice. */
static int mirror_answers(struct dl *d, struct ferry_engine *eng) {
  size_t k = 0;
  while (k < d->npick && !(d->pick[k].flags & PICK_TODO)) k++;
  if (k == d->npick) return 0;
  char *url = NULL;
  if (ferry__hub_mirror_file_url(&d->mirror, &d->repo, d->out->commit, entry_of(d, k)->path, 0,
                                 &url))
    return 0;
  const char *headers[3] = {"Range: bytes=0-0", d->mirror.auth, NULL};
  struct ferry_request req = {.url = url, .headers = headers, .max_body = 1 << 20,
                              .max_retries = -1};
  struct ferry_response r = {0};
  int err = ferry_engine_fetch(eng, &req, &r);
  long status = r.status;
  /* A tier that stores files in slices: requests that cover whole slices, each fetched from
   * the origin for one request, none waiting on another's cache lock. */
  uint64_t slice = !err && status == 206 ? ferry__hub_mirror_slice(&r) : 0;
  ferry_response_free(&r);
  if (slice && ferry__engine_align_requests(eng, slice) && d->o->engine->verbose)
    notice(d, "mirror %s stores files in slices of %llu KiB: requests cover whole slices",
          d->mirror.shown, (unsigned long long)(slice >> 10));
  free(url);
  if (err == FERRY_E_INTERRUPTED) return err;
  if (!err && (status == 401 || status == 403)) {
    d->mirror.dropped = 1;
    notice(d, "mirror %s refuses this node (HTTP %ld; is FERRY_MIRROR_TOKEN its secret?): "
           "using the Hub for the rest of this run", d->mirror.shown, status);
  } else if (err && ferry__hub_mirror_judge(&d->mirror, err, 0) == FERRY__MIRROR_DROP) {
    notice(d, "mirror %s does not answer (%s, within %d s): using the Hub for the rest of "
           "this run", d->mirror.shown, ferry_strerror(err), MIRROR_CONNECT_TIMEOUT_S);
  }
  return 0;
}

/* The mirror's round: its own engine, with a short connect timeout and few retries (a tier
 * that does not answer within seconds is dropped, not waited for as the Hub would be). */
static int mirror_round(struct dl *d) {
  struct ferry_config c = *d->o->engine;
  if (!c.connect_timeout || c.connect_timeout > MIRROR_CONNECT_TIMEOUT_S)
    c.connect_timeout = MIRROR_CONNECT_TIMEOUT_S;
  c.max_retries = MIRROR_RETRIES;
  struct ferry_engine *eng = NULL;
  int err = ferry_engine_new(&c, &eng);
  if (err) return fail(d, err, 0, "cannot start the mirror's transfers");
  err = mirror_answers(d, eng);
  int ignored = 0;
  if (!err && ferry__hub_mirror_active(&d->mirror))
    err = transfer_round(d, eng, &ignored, 1, NULL, 0);
  ferry_engine_free(eng);
  return err;
}

static int run_transfers(struct dl *d) {
  int checksum_failed = 0;
  int err = 0;
  if (ferry__hub_mirror_active(&d->mirror)) err = mirror_round(d);
  if (err) return err;
  err = transfer_round(d, d->api, &checksum_failed, 0, NULL, 0);
  if (!err && checksum_failed) {
    /* A wrong file is fetched once more from scratch before it is reported. */
    notice(d, "%d file(s) did not match their hash: fetching them once more", checksum_failed);
    struct ferry_engine *again = NULL;
    err = ferry_engine_new(d->o->engine, &again);
    if (!err) {
      int ignored = 0;
      d->out->error = 0;
      d->out->message[0] = 0;
      err = transfer_round(d, again, &ignored, 0, NULL, 0);
      ferry_engine_free(again);
    }
  }
  return err;
}

/* Blobs another process is downloading: wait for its lock, then use its result or fetch. */
static int run_deferred(struct dl *d) {
  size_t n = 0;
  for (size_t k = 0; k < d->npick; k++) n += (d->pick[k].flags & PICK_DEFERRED) != 0;
  if (!n) return 0;
  struct held_lock *held = calloc(n, sizeof(*held));
  if (!held) return fail(d, FERRY_E_NOMEM, 0, "out of memory");
  size_t n_held = 0;
  int need = 0;
  for (size_t k = 0; k < d->npick; k++) {
    struct pick *p = &d->pick[k];
    if (!(p->flags & PICK_DEFERRED)) continue;
    const struct ferry__hub_entry *e = entry_of(d, k);
    char *lock_path = NULL, buf[FERRY__HUB_OID_TEXT];
    ferry__hub_lock_path(d->cache_root, &d->repo, etag_of(d, k, buf), &lock_path);
    struct ferry__lock_opts lo = {.poll_ms = 200, .max_wait_ms = DEFERRED_WAIT_MS,
                                  .stop = d->o->engine->stop};
    notice(d, "%s is being downloaded by another process: waiting for it", e->path);
    struct held_lock *h = &held[n_held];
    int err = lock_path ? ferry__lock_acquire(lock_path, &lo, &h->lock) : FERRY_E_NOMEM;
    free(lock_path);
    if (err) {
      err = err == FERRY__LOCK_HELD ? FERRY_E_BUSY : err;
      pick_failed(d, k, err);
      fail(d, err, 0, err == FERRY_E_INTERRUPTED ? "%s: interrupted while waiting for another "
                  "process" : "%s: waited too long for another process", e->path);
      continue;
    }
    struct target t;
    if (target_for(d, e, etag_of(d, k, buf), &t) == 0) {
      if (is_regular_with_size(t.final, entry_size(e))) {
        p->status = FERRY_HUB_FILE_CACHED;
        d->out->files_cached++;
        finish_file(d, k, 0);
        ferry__lock_release(&h->lock);
      } else {
        h->k = k;
        n_held++;
        p->flags |= PICK_TODO;
        need = 1;
      }
      target_free(&t);
    } else {
      ferry__lock_release(&h->lock);
    }
  }
  int err = 0;
  if (need) {
    struct ferry_engine *eng = NULL;
    err = ferry_engine_new(d->o->engine, &eng);
    if (!err) {
      int failed = 0;
      err = transfer_round(d, eng, &failed, 0, held, n_held);
      ferry_engine_free(eng);
    }
  }
  for (size_t i = 0; i < n_held; i++) ferry__lock_release(&held[i].lock); /* not taken */
  free(held);
  return err;
}

/* A complete blob can have leftovers from a process killed between its rename and its
 * clean-up: a journal, a partial file, a lock. Taking the lock (which breaks a dead owner's)
 * proves nobody is working on it; then they go. */
static void tidy_leftovers(struct dl *d, const char *etag, const struct target *t) {
  char *lock_path = NULL;
  struct stat st;
  if (ferry__hub_lock_path(d->cache_root, &d->repo, etag, &lock_path)) return;
  int any = stat(t->journal, &st) == 0 || stat(t->part, &st) == 0 || stat(lock_path, &st) == 0;
  struct ferry__lock lock = {0};
  struct ferry__lock_opts lo = {0};
  if (any && ferry__lock_acquire(lock_path, &lo, &lock) == 0) {
    unlink(t->journal);
    unlink(t->part);
    ferry__lock_release(&lock);
  }
  free(lock_path);
}

/* The folder this download writes in. */
static const char *write_dir(struct dl *d) {
  return d->o->local_dir ? d->o->local_dir : d->repo_dir;
}

/* A file to fetch into a folder check_creatable found read-only: one line, no transfer. */
static int unwritable_fail(struct dl *d, const struct ferry__hub_entry *e) {
  return fail(d, FERRY_E_IO, 0, "cannot create files in %s: %s (%s is not there)", write_dir(d),
              strerror(d->unwritable), e->path);
}

/* Files of one snapshot with the same content share one blob (cache mode): only the first is
 * fetched; the others (pick.same: the first one's index + 1) are linked to its blob
 * afterwards. Without this the second waited on the first's lock and was announced as
 * "being downloaded by another process", by this very process. */
static int same_blob_cmp(struct dl *d, size_t x, size_t y) {
  const struct ferry__hub_entry *a = entry_of(d, x), *b = entry_of(d, y);
  const unsigned char *ra = a->has_lfs ? NULL : ferry__hub_entry_oid_raw(a);
  const unsigned char *rb = b->has_lfs ? NULL : ferry__hub_entry_oid_raw(b);
  /* a 40-hex oid kept as bytes never equals a hash kept as text: bytes sort first */
  if (ra && rb) return memcmp(ra, rb, 20);
  if (ra || rb) return ra ? -1 : 1;
  char bx[FERRY__HUB_OID_TEXT], by[FERRY__HUB_OID_TEXT];
  return strcmp(etag_of(d, x, bx), etag_of(d, y, by));
}

static int by_etag(const void *a, const void *b, void *dl) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  int c = same_blob_cmp(dl, x, y);
  return c ? c : (x > y) - (x < y);
}

static int mark_same_content(struct dl *d) {
  size_t n = 0;
  uint32_t *order = malloc((d->npick + 1) * sizeof(*order)); /* 4 bytes a file, and the sort's */
  if (!order) return fail(d, FERRY_E_NOMEM, 0, "out of memory");
  for (size_t k = 0; k < d->npick; k++)
    if (d->pick[k].flags & PICK_TODO) order[n++] = (uint32_t)k;
  qsort_r(order, n, sizeof(*order), by_etag, d);
  for (size_t i = 1, first = 0; i < n; i++) {
    if (same_blob_cmp(d, order[i], order[first]) != 0) {
      first = i;
      continue;
    }
    struct pick *p = &d->pick[order[i]];
    p->same = order[first] + 1;
    p->flags &= (unsigned char)~PICK_TODO;
  }
  free(order);
  return 0;
}

/* The files that share a blob fetched in this run get their place in the snapshot. */
static void link_same_content(struct dl *d) {
  for (size_t k = 0; k < d->npick; k++) {
    struct pick *p = &d->pick[k];
    if (!p->same) continue;
    const struct pick *first = &d->pick[p->same - 1];
    if (first->status == FERRY_HUB_FILE_DOWNLOADED || first->status == FERRY_HUB_FILE_CACHED) {
      p->status = finish_file(d, k, 0) ? FERRY_HUB_FILE_FAILED : FERRY_HUB_FILE_CACHED;
      if (p->status == FERRY_HUB_FILE_CACHED) d->out->files_cached++;
    } else {
      pick_failed(d, k, first->error ? first->error : FERRY_E_INTERRUPTED);
    }
  }
}

/* The outcome of the selected files the plan got to (n: all of them unless it failed), to
 * the caller in the selection's order (report_file). */
static int hand_out(struct dl *d, size_t n) {
  int err = 0;
  for (size_t k = 0; k < n && !err; k++) {
    const struct ferry__hub_entry *e = entry_of(d, k);
    const struct pick *p = &d->pick[k];
    struct ferry_hub_file f = {.path = e->path, .size = entry_size(e), .lfs = e->has_lfs,
                               .status = p->status, .error = p->error};
    char buf[FERRY__HUB_OID_TEXT];
    snprintf(f.etag, sizeof(f.etag), "%s", etag_of(d, k, buf));
    err = report_file(d, &f);
  }
  return err ? fail(d, err, 0, "out of memory") : 0;
}

static int plan_and_fetch(struct dl *d) {
  struct ferry_hub_download_result *out = d->out;
  int err = 0, any = 0;
  size_t k = 0;
  for (; k < d->npick && !err; k++) {
    const struct ferry__hub_entry *e = entry_of(d, k);
    struct pick *p = &d->pick[k];
    out->bytes_total += entry_size(e);
    char etag[65];
    if ((err = entry_etag(d, e, etag))) {
      pick_failed(d, k++, err); /* reported with the files before it */
      break;
    }
    struct target t;
    if ((err = target_for(d, e, etag, &t))) {
      if (d->unwritable) unwritable_fail(d, e);
      else fail(d, err, 0, "cannot prepare the folder for %s", e->path);
      pick_failed(d, k++, err);
      break;
    }
    int there = already_there(d, e, etag, &t);
    if (there && !d->o->dry_run && !d->o->local_dir) tidy_leftovers(d, etag, &t);
    target_free(&t);
    if (there) {
      p->status = FERRY_HUB_FILE_CACHED;
      out->files_cached++;
      if (!d->o->dry_run) err = finish_file(d, k, 0);
      continue;
    }
    p->status = FERRY_HUB_FILE_PLANNED;
    if (d->o->dry_run) continue;
    if (d->unwritable) {
      err = unwritable_fail(d, e);
      pick_failed(d, k++, err);
      break;
    }
    p->flags |= PICK_TODO;
    any = 1;
  }
  if (!err && any && !d->o->local_dir) err = mark_same_content(d);
  if (!err && any) err = run_transfers(d);
  if (!err && !d->o->dry_run) err = run_deferred(d);
  if (!d->o->dry_run) link_same_content(d);
  int handed = hand_out(d, k); /* k: the files the plan looked at */
  if (!err) err = handed;
  return err ? err : out->error;
}

static void cleanup(struct dl *d) {
  free(d->cache_root);
  free(d->repo_dir);
  free(d->pick);
  ferry__hub_tree_free(&d->tree);
  ferry__hub_mirror_free(&d->mirror);
  ferry_hub_client_free(d->client); /* and its engine, d->api */
  while (d->zombies) { /* after the engines: they held these files' jobs */
    struct blob_ctx *c = d->zombies;
    d->zombies = c->next;
    free(c);
  }
}

/* What download and verify share: options checked, the Hub client (endpoint, token, the
 * engine for API calls and transfers), cache folders. Returns 0 or out->error. */
static int dl_setup(struct dl *d, const struct ferry_hub_download_opts *o,
                    struct ferry_hub_download_result *out) {
  char why[WHY] = "";
  int err;
  memset(out, 0, sizeof(*out));
  d->o = o;
  d->out = out;
  ferry__hub_tree_init(&d->tree);
  d->rev = o->revision ? o->revision : "main";
  if ((err = ferry__hub_repo_parse(o->repo_id, o->repo_type, &d->repo, why, sizeof(why))) ||
      (err = ferry__hub_revision_validate(d->rev, why, sizeof(why))))
    return fail(d, FERRY_E_INVAL, 0, "%s", why);
  snprintf(out->repo_type, sizeof(out->repo_type), "%s", ferry__hub_repo_type_name(d->repo.type));
  snprintf(out->repo_id, sizeof(out->repo_id), "%s", d->repo.id);
  struct ferry_hub_client_opts co = {.token = o->token, .engine = o->engine};
  if ((err = ferry_hub_client_new(&co, &d->client, why, sizeof(why))))
    return fail(d, err, 0, "%s", why);
  d->env = ferry__hub_client_env(d->client);
  d->settings = ferry__hub_client_settings(d->client);
  d->endpoint = ferry_hub_client_endpoint(d->client);
  d->have_token = ferry__hub_client_token(d->client) != NULL;
  d->api = ferry__hub_client_engine(d->client);
  if ((err = ferry__hub_mirror_init(&d->mirror, o->mirror, o->mirror_token, d->env, why,
                                    sizeof(why))))
    return fail(d, err, 0, "%s", why);
  if ((err = ferry__hub_cache_root(d->env, o->cache_dir, &d->cache_root)) ||
      (err = ferry__hub_repo_dir(d->cache_root, &d->repo, &d->repo_dir)))
    return fail(d, err, 0, "cannot find the cache folder");
  return 0;
}

static double elapsed_since(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Whether `path` can be created: the nearest folder above it that exists must let us in and
 * write. Nothing is created here (a mistyped repo id must not leave an empty folder in the
 * cache); 0, or the errno that creating it would meet. */
static int creatable(const char *path) {
  char buf[FERRY__HUB_PATH_MAX + 1];
  snprintf(buf, sizeof(buf), "%s", path);
  struct stat st;
  for (;;) {
    if (stat(buf, &st) == 0) break;
    if (errno != ENOENT) return errno;
    char *slash = strrchr(buf, '/');
    if (!slash) return access(".", W_OK | X_OK) == 0 ? 0 : errno;
    if (slash == buf) slash[1] = 0;
    else *slash = 0;
  }
  if (!S_ISDIR(st.st_mode)) return ENOTDIR;
  if (!strcmp(buf, path)) return 0; /* already there: a complete cache may be read-only */
  return access(buf, W_OK | X_OK) == 0 ? 0 : errno;
}

/* Before any request: the folder this download writes in can be made, else one line. One
 * that exists but cannot be written (nor its locks folder) may still hold everything asked
 * for, as a read-only shared cache does: that is known after the tree, so it is noted. */
static int check_creatable(struct dl *d) {
  const char *dir = write_dir(d);
  int e = creatable(dir);
  if (e) return fail(d, FERRY_E_IO, 0, "cannot create %s: %s", dir, strerror(e));
  char *locks = NULL;
  if (access(dir, F_OK) == 0 && access(dir, W_OK | X_OK) != 0) d->unwritable = errno;
  else if (!d->o->local_dir && ferry__hub_lock_path(d->cache_root, &d->repo, "0", &locks) == 0)
    d->unwritable = creatable(dirname(locks));
  free(locks);
  return 0;
}

int ferry_hub_download(const struct ferry_hub_download_opts *o,
                       struct ferry_hub_download_result *out) {
  struct dl d = {0};
  char why[WHY] = "";
  int err = 0, soft = 0;
  struct timespec started;
  clock_gettime(CLOCK_MONOTONIC, &started);
  if ((err = dl_setup(&d, o, out))) goto done;
  if (o->n_filenames && (o->n_include || o->n_exclude)) {
    err = fail(&d, FERRY_E_INVAL, 0, "file names and --include/--exclude do not go together");
    goto done;
  }
  for (size_t k = 0; k < o->n_filenames && !err; k++) {
    /* "folder/" is the folder's files; the name itself must be a path inside the repo. */
    char name[FERRY__HUB_PATH_MAX + 1];
    const char *f = o->filenames[k];
    snprintf(name, sizeof(name), "%.*s", (int)(is_folder_name(f) ? folder_len(f) : strlen(f)), f);
    if (ferry__hub_path_check(name, why, sizeof(why)))
      err = fail(&d, FERRY_E_INVAL, 0,
                 "bad file name '%s': a path in the repository, without empty, '.' or '..' "
                 "parts, a leading '/', backslashes or control characters", f);
  }
  if (err) goto done;
  if (!o->dry_run && !d.settings->offline && (err = check_creatable(&d))) goto done;
  if ((err = resolve_commit(&d, &soft))) goto done;
  if (soft) {
    err = serve_from_cache(&d);
    goto done;
  }
  if ((err = load_tree(&d, 1)) || (err = select_files(&d))) goto done;
  if (!o->dry_run) {
    /* refs/<rev> goes to the main cache even with --local-dir, as huggingface_hub does. */
    if (!ferry__hub_is_commit(d.rev) && ferry__hub_ref_write(d.repo_dir, d.rev, out->commit))
      notice(&d, "could not write refs/%s", d.rev);
    if (o->local_dir) ferry__hub_local_dir_init(o->local_dir);
    else {
      ferry__mkdirs(d.cache_root);
      ferry__hub_cachedir_tag_ensure(d.cache_root);
      int supported = 1;
      /* A read-only cache cannot be probed; without links nothing already in the snapshot
       * is rewritten (a pointer that reaches its blob is kept as it is). */
      if (!d.unwritable) ferry__hub_symlinks_supported(d.env, d.cache_root, &supported);
      d.symlinks = supported && !d.unwritable;
      if (!supported) notice(&d, "symlinks are off or unsupported: snapshot files are copies");
    }
  }
  err = plan_and_fetch(&d);
  if (!out->path) out->path = result_path(&d);
done:
  if (d.api) { /* API calls and the first round of transfers */
    struct ferry_stats st;
    ferry_engine_stats(d.api, &st);
    add_stats(&out->stats, &st);
  }
  /* The whole call, waits for other processes' locks included (the engines' own clocks only
   * run while they transfer). */
  out->stats.seconds = elapsed_since(&started);
  if (err == FERRY_E_INTERRUPTED) {
    /* The first job to fail may be one that never started: the message is about the run. */
    out->error = err;
    out->http_status = 0;
    snprintf(out->message, sizeof(out->message),
             "interrupted: %llu bytes kept; run the same command again to resume",
             (unsigned long long)out->stats.bytes_done);
  }
  cleanup(&d);
  if (!out->error && err) out->error = err;
  return out->error;
}

/* A file under the snapshot that the tree does not list: an "extra" file. */
static int note_extra(struct dl *d, const char *rel, const struct stat *st, void *user) {
  (void)st;
  if (!find_file(d, rel)) {
    (*(int *)user)++;
    notice(d, "extra file not in the repository: %s", rel);
  }
  return 0;
}

int ferry_hub_verify(const struct ferry_hub_download_opts *o, struct ferry_hub_download_result *out,
                     int *missing, int *extra) {
  struct dl d = {0};
  int err = 0, soft = 0;
  *missing = *extra = 0;
  if ((err = dl_setup(&d, o, out))) goto done;
  if ((err = resolve_commit(&d, &soft))) goto done;
  if (soft && !out->commit[0]) { /* offline: the commit the cache's ref names */
    char commit[41];
    int found = 0;
    if (ferry__hub_ref_read(d.repo_dir, d.rev, commit, &found) == 0 && found)
      memcpy(out->commit, commit, 41);
    else {
      fail(&d, FERRY_E_HUB_OFFLINE, 0, "%s at %s: no commit known (%s)", repo_label(&d), d.rev,
           d.offline_why);
      goto done;
    }
  }
  if ((err = load_tree(&d, !soft))) goto done;
  if (!d.tree_known) {
    fail(&d, FERRY_E_HUB_OFFLINE, 0, "no tree listing for %s at %s (%s)", repo_label(&d),
         out->commit, d.offline_why);
    goto done;
  }
  if ((err = select_files(&d))) goto done;
  out->files = calloc(d.npick + 1, sizeof(*out->files));
  if (!out->files) {
    fail(&d, FERRY_E_NOMEM, 0, "out of memory");
    goto done;
  }
  out->n_files = d.npick;
  int bad = 0;
  for (size_t k = 0; k < d.npick; k++) {
    const struct ferry__hub_entry *e = &d.tree.v[d.pick[k].i];
    struct ferry_hub_file *f = &out->files[k];
    f->path = strdup(e->path);
    f->size = entry_size(e);
    f->lfs = e->has_lfs;
    if (entry_etag(&d, e, f->etag)) goto done;
    char *file = NULL;
    if (o->local_dir) ferry__hub_fmt(&file, FERRY__HUB_PATH_MAX, "%s/%s", o->local_dir, e->path);
    else ferry__hub_snapshot_path(d.repo_dir, out->commit, e->path, &file);
    struct stat st;
    if (!file || stat(file, &st) != 0) {
      f->status = FERRY_HUB_FILE_FAILED;
      f->error = FERRY_E_HUB_ENTRY_NOT_FOUND;
      (*missing)++;
      free(file);
      continue;
    }
    char hex[65] = "";
    int herr = ferry__hash_file(file, !e->has_lfs, (uint64_t)st.st_size, NULL, NULL, hex);
    free(file);
    char buf[FERRY__HUB_OID_TEXT];
    const char *want = blob_hash(e, buf);
    if (herr || strcasecmp(hex, want) != 0 || (uint64_t)st.st_size != f->size) {
      f->status = FERRY_HUB_FILE_FAILED;
      f->error = herr ? herr : FERRY_E_CHECKSUM;
      bad++;
      notice(&d, "%s: %s", e->path, herr ? "cannot be read" : "content does not match the Hub's hash");
    } else {
      f->status = FERRY_HUB_FILE_CACHED;
      out->files_cached++;
      out->bytes_total += f->size;
    }
  }
  char *root = NULL;
  if (o->local_dir) root = strdup(o->local_dir);
  else ferry__hub_snapshot_path(d.repo_dir, out->commit, NULL, &root);
  if (root) walk_files(&d, root, "", note_extra, extra);
  out->path = root;
  if (bad) fail(&d, FERRY_E_CHECKSUM, 0, "%d file(s) of %s at %.12s do not match the Hub's hashes",
                bad, repo_label(&d), out->commit);
done:
  cleanup(&d);
  return out->error;
}

void ferry_hub_download_result_free(struct ferry_hub_download_result *r) {
  if (!r) return;
  for (size_t k = 0; k < r->n_files && r->files; k++) free(r->files[k].path);
  free(r->files);
  free(r->path);
  memset(r, 0, sizeof(*r));
}
