/* cache_scan.c: `ferry cache ls`. Reads a Hugging Face cache as huggingface_hub's
 * scan_cache_dir does (hub-protocol.md §3.7): repo folders "<types>--<id>", refs, snapshots
 * resolved to blobs, sizes of distinct blobs. A cache written by huggingface_hub, by the
 * JavaScript client or by ferry reads the same. Problems (broken links, stray files, refs to
 * missing snapshots) become warnings; the rest of the cache is still listed. Partial files
 * (`*.incomplete`, ferry's journals and dead owners' locks) are listed apart. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache_mgmt.h"
#include "hub.h"
#include "grow.h"

/* Bounds: a cache is big, but every walk stays finite. */
#define MAX_WALK_DEPTH 64
#define MAX_REFS 10000

static double ts(const struct timespec *t) { return (double)t->tv_sec + t->tv_nsec / 1e9; }

int ferry__cache_path_inside(const char *root, const char *path) {
  size_t n = strlen(root);
  while (n > 1 && root[n - 1] == '/') n--;
  if (strncmp(path, root, n) != 0 || path[n] != '/' || path[n + 1] == 0) return 0;
  for (const char *seg = path + n + 1; *seg;) {
    size_t len = strcspn(seg, "/");
    if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
      return 0; /* an empty segment ("a//b", from --cache-dir DIR/) is harmless */
    seg += len;
    if (*seg == '/') seg++;
  }
  return 1;
}

/* ---- snapshot files ---------------------------------------------------------------------- */

static int files_push(struct ferry__cache_files *f, struct ferry__cache_file *one) {
  if (ferry__grow(&f->v, &f->cap, f->n + 1, sizeof(*f->v), 16) != 0) return FERRY_E_NOMEM;
  f->v[f->n++] = *one;
  return 0;
}

static int walk_snapshot(const char *dir, int depth, struct ferry__cache_files *out,
                         void (*warn)(void *, const char *), void *user) {
  if (depth > MAX_WALK_DEPTH) return 0;
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? 0 : FERRY_E_IO;
  int r = 0;
  struct dirent *de;
  while (!r && (de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    char *path = NULL;
    if ((r = ferry__hub_fmt(&path, FERRY__HUB_PATH_MAX, "%s/%s", dir, de->d_name))) break;
    struct stat lst, st;
    if (lstat(path, &lst) != 0) {
      free(path);
      continue;
    }
    if (S_ISDIR(lst.st_mode)) {
      r = walk_snapshot(path, depth + 1, out, warn, user);
      free(path);
      continue;
    }
    int is_link = S_ISLNK(lst.st_mode);
    if (is_link && (stat(path, &st) != 0 || !S_ISREG(st.st_mode))) {
      out->broken++;
      if (warn) warn(user, path);
      free(path);
      continue;
    }
    if (!is_link) st = lst;
    if (!S_ISREG(st.st_mode)) {
      free(path);
      continue;
    }
    struct ferry__cache_file one = {.pointer = path, .dev = st.st_dev, .ino = st.st_ino,
                                    .size = (uint64_t)st.st_size, .nlink = st.st_nlink,
                                    .atime = ts(&st.st_atim), .mtime = ts(&st.st_mtim),
                                    .is_link = is_link};
    if (is_link) {
      char text[FERRY__HUB_PATH_MAX];
      ssize_t n = readlink(path, text, sizeof(text) - 1);
      if (n >= 0) {
        text[n] = 0;
        one.link = strdup(text);
        if (!one.link) r = FERRY_E_NOMEM;
      }
    }
    if (r || (r = files_push(out, &one))) {
      free(one.link);
      free(path);
    }
  }
  closedir(d);
  return r;
}

int ferry__cache_list_snapshot(const char *snapshot_dir, struct ferry__cache_files *out,
                               void (*warn)(void *, const char *), void *user) {
  memset(out, 0, sizeof(*out));
  return walk_snapshot(snapshot_dir, 0, out, warn, user);
}

void ferry__cache_files_free(struct ferry__cache_files *f) {
  for (size_t i = 0; i < f->n; i++) free(f->v[i].pointer), free(f->v[i].link);
  free(f->v);
  memset(f, 0, sizeof(*f));
}

/* ---- the scan ---------------------------------------------------------------------------- */

struct scan {
  struct ferry_cache_info *info;
  int oom;
};

static void warn(struct scan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct scan *s, const char *fmt, ...) {
  struct ferry_cache_info *info = s->info;
  if (info->n_warnings >= 10000) return;
  char line[FERRY__HUB_PATH_MAX + 200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  char **grown = realloc(info->warnings, (info->n_warnings + 1) * sizeof(*grown));
  char *copy = strdup(line);
  if (!grown || !copy) {
    if (grown) info->warnings = grown;
    free(copy);
    s->oom = 1;
    return;
  }
  info->warnings = grown;
  info->warnings[info->n_warnings++] = copy;
}

static void warn_broken(void *user, const char *path) {
  warn(user, "broken symlink (its blob is missing): %s", path);
}

static int is_hex40(const char *s) {
  if (strlen(s) != 40) return 0;
  for (int i = 0; i < 40; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
  return 1;
}

struct ref {
  char *name;
  char commit[41];
};
struct refs {
  struct ref *v;
  size_t n;
};

static int read_refs(struct scan *s, const char *dir, const char *prefix, int depth,
                     struct refs *out) {
  if (depth > MAX_WALK_DEPTH) return 0;
  DIR *d = opendir(dir);
  if (!d) return 0;
  int r = 0;
  struct dirent *de;
  while (!r && (de = readdir(d)) && out->n < MAX_REFS) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    char *path = NULL, *name = NULL;
    if ((r = ferry__hub_fmt(&path, FERRY__HUB_PATH_MAX, "%s/%s", dir, de->d_name))) break;
    if ((r = ferry__hub_fmt(&name, FERRY__HUB_PATH_MAX, "%s%s%s", prefix, *prefix ? "/" : "",
                            de->d_name))) {
      free(path);
      break;
    }
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
      r = read_refs(s, path, name, depth + 1, out);
    } else if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
      char *text = NULL;
      size_t len = 0;
      int found = 0;
      if (ferry__read_small(path, 4096, &text, &len, &found) == 0 && found) {
        size_t a = 0, b = len;
        while (a < b && (text[a] == ' ' || text[a] == '\n' || text[a] == '\r')) a++;
        while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\n' || text[b - 1] == '\r')) b--;
        text[b] = 0;
        if (is_hex40(text + a)) {
          struct ref *grown = realloc(out->v, (out->n + 1) * sizeof(*grown));
          if (!grown) {
            r = FERRY_E_NOMEM;
          } else {
            out->v = grown;
            out->v[out->n].name = name;
            memcpy(out->v[out->n].commit, text + a, 41);
            out->n++;
            name = NULL;
          }
        } else {
          warn(s, "ref does not hold a commit hash: %s", path);
        }
      }
      free(text);
    } else {
      warn(s, "not a ref file: %s", path);
    }
    free(path);
    free(name);
  }
  closedir(d);
  return r;
}

static void refs_free(struct refs *r) {
  for (size_t i = 0; i < r->n; i++) free(r->v[i].name);
  free(r->v);
}

struct inode {
  dev_t dev;
  ino_t ino;
  uint64_t size;
  double atime, mtime;
};

static int inode_cmp(const void *a, const void *b) {
  const struct inode *x = a, *y = b;
  if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
  if (x->ino != y->ino) return x->ino < y->ino ? -1 : 1;
  return 0;
}

/* Sorts and removes duplicates; returns the count left. */
static size_t inodes_unique(struct inode *v, size_t n) {
  if (n == 0) return 0;
  qsort(v, n, sizeof(*v), inode_cmp);
  size_t k = 1;
  for (size_t i = 1; i < n; i++)
    if (inode_cmp(&v[i], &v[k - 1]) != 0) v[k++] = v[i];
  return k;
}

static int scan_revision(struct scan *s, const char *snap, struct ferry_cache_revision *rev,
                         struct inode **all, size_t *n_all) {
  struct ferry__cache_files files;
  int r = ferry__cache_list_snapshot(snap, &files, warn_broken, s);
  if (r) {
    ferry__cache_files_free(&files);
    return r == FERRY_E_IO ? 0 : r;
  }
  rev->n_files = files.n;
  struct inode *mine = calloc(files.n + 1, sizeof(*mine));
  struct inode *grown = realloc(*all, (*n_all + files.n + 1) * sizeof(*grown));
  if (!mine || !grown) {
    free(mine);
    if (grown) *all = grown;
    ferry__cache_files_free(&files);
    return FERRY_E_NOMEM;
  }
  *all = grown;
  for (size_t i = 0; i < files.n; i++) {
    struct ferry__cache_file *f = &files.v[i];
    mine[i] = (struct inode){f->dev, f->ino, f->size, f->atime, f->mtime};
    (*all)[(*n_all)++] = mine[i];
  }
  size_t u = inodes_unique(mine, files.n);
  rev->size_on_disk = 0;
  rev->last_modified = 0;
  for (size_t i = 0; i < u; i++) {
    rev->size_on_disk += mine[i].size;
    if (mine[i].mtime > rev->last_modified) rev->last_modified = mine[i].mtime;
  }
  if (u == 0) {
    struct stat st;
    if (stat(snap, &st) == 0) rev->last_modified = ts(&st.st_mtim);
  }
  free(mine);
  ferry__cache_files_free(&files);
  return 0;
}

static int rev_cmp(const void *a, const void *b) {
  const struct ferry_cache_revision *x = a, *y = b;
  return strcmp(x->commit, y->commit);
}

static int scan_repo(struct scan *s, const char *path, const char *type, const char *id,
                     struct ferry_cache_repo *repo) {
  memset(repo, 0, sizeof(*repo));
  snprintf(repo->repo_type, sizeof(repo->repo_type), "%s", type);
  repo->repo_id = strdup(id);
  repo->path = strdup(path);
  if (!repo->repo_id || !repo->path) return FERRY_E_NOMEM;
  char *snaps = NULL, *refs_dir = NULL;
  int r = ferry__hub_fmt(&snaps, FERRY__HUB_PATH_MAX, "%s/snapshots", path);
  if (!r) r = ferry__hub_fmt(&refs_dir, FERRY__HUB_PATH_MAX, "%s/refs", path);
  struct refs refs = {0};
  if (!r) r = read_refs(s, refs_dir, "", 0, &refs);
  DIR *d = r ? NULL : opendir(snaps);
  struct inode *all = NULL;
  size_t n_all = 0;
  struct dirent *de;
  while (!r && d && (de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    char *snap = NULL;
    if ((r = ferry__hub_fmt(&snap, FERRY__HUB_PATH_MAX, "%s/%s", snaps, de->d_name))) break;
    struct stat st;
    if (lstat(snap, &st) != 0 || !S_ISDIR(st.st_mode) || strlen(de->d_name) > 40) {
      warn(s, "not a snapshot folder: %s", snap);
      free(snap);
      continue;
    }
    struct ferry_cache_revision *grown =
        realloc(repo->revisions, (repo->n_revisions + 1) * sizeof(*grown));
    if (!grown) {
      free(snap);
      r = FERRY_E_NOMEM;
      break;
    }
    repo->revisions = grown;
    struct ferry_cache_revision *rev = &grown[repo->n_revisions++];
    memset(rev, 0, sizeof(*rev));
    memcpy(rev->commit, de->d_name, strlen(de->d_name) + 1); /* at most 40, checked above */
    rev->path = snap;
    r = scan_revision(s, snap, rev, &all, &n_all);
  }
  if (d) closedir(d);
  /* refs -> their revisions; a ref to a missing snapshot is a warning */
  for (size_t i = 0; !r && i < refs.n; i++) {
    struct ferry_cache_revision *rev = NULL;
    for (size_t k = 0; k < repo->n_revisions; k++)
      if (!strcmp(repo->revisions[k].commit, refs.v[i].commit)) rev = &repo->revisions[k];
    if (!rev) {
      warn(s, "ref '%s' of %s/%s points to a commit not in the cache: %s", refs.v[i].name, type,
           id, refs.v[i].commit);
      continue;
    }
    char **grown = realloc(rev->refs, (rev->n_refs + 1) * sizeof(*grown));
    if (!grown) {
      r = FERRY_E_NOMEM;
      break;
    }
    rev->refs = grown;
    rev->refs[rev->n_refs++] = refs.v[i].name;
    refs.v[i].name = NULL;
  }
  if (!r) {
    size_t u = inodes_unique(all, n_all);
    repo->n_files = u;
    for (size_t i = 0; i < u; i++) {
      repo->size_on_disk += all[i].size;
      if (all[i].atime > repo->last_accessed) repo->last_accessed = all[i].atime;
      if (all[i].mtime > repo->last_modified) repo->last_modified = all[i].mtime;
    }
    if (u == 0) {
      struct stat st;
      if (stat(path, &st) == 0)
        repo->last_accessed = ts(&st.st_atim), repo->last_modified = ts(&st.st_mtim);
    }
    if (repo->n_revisions)
      qsort(repo->revisions, repo->n_revisions, sizeof(*repo->revisions), rev_cmp);
  }
  free(all);
  refs_free(&refs);
  free(snaps);
  free(refs_dir);
  return r;
}

static int add_partial(struct scan *s, const char *path, uint64_t size, int in_use) {
  struct ferry_cache_info *info = s->info;
  struct ferry_cache_partial *grown =
      realloc(info->partials, (info->n_partials + 1) * sizeof(*grown));
  if (!grown) return FERRY_E_NOMEM;
  info->partials = grown;
  struct ferry_cache_partial *p = &grown[info->n_partials];
  p->path = strdup(path);
  if (!p->path) return FERRY_E_NOMEM;
  p->size = size;
  p->in_use = in_use;
  info->n_partials++;
  return 0;
}

static int has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n > k && !strcmp(s + n - k, suffix);
}

/* A ferry lock file held by a live owner (on this host, or too young to judge elsewhere). */
static int lock_live(const char *lock_path) {
  struct ferry__lock_owner o;
  int found = 0;
  if (ferry__lock_read(lock_path, &o, &found) != 0) return found;
  if (!found) return 0;
  char host[256];
  ferry__lock_hostname(host);
  return !ferry__lock_is_stale(&o, host, (int64_t)time(NULL), 86400);
}

/* blobs/<etag>[.<8hex>].incomplete and blobs/<etag>.journal of one repo folder, and the
 * lock files of its dead owners. */
static int scan_partials(struct scan *s, const char *root, const char *folder) {
  char *blobs = NULL, *locks = NULL;
  int r = ferry__hub_fmt(&blobs, FERRY__HUB_PATH_MAX, "%s/%s/blobs", root, folder);
  if (!r) r = ferry__hub_fmt(&locks, FERRY__HUB_PATH_MAX, "%s/.locks/%s", root, folder);
  DIR *d = r ? NULL : opendir(blobs);
  struct dirent *de;
  while (!r && d && (de = readdir(d))) {
    if (!has_suffix(de->d_name, ".incomplete") && !has_suffix(de->d_name, ".journal")) continue;
    char *path = NULL, *lock = NULL;
    /* the etag is the name up to its first '.' (<etag>[.<8hex>].incomplete, <etag>.journal) */
    size_t etag_len = strcspn(de->d_name, ".");
    r = ferry__hub_fmt(&path, FERRY__HUB_PATH_MAX, "%s/%s", blobs, de->d_name);
    if (!r)
      r = ferry__hub_fmt(&lock, FERRY__HUB_PATH_MAX, "%s/%.*s.ferry-lock", locks, (int)etag_len,
                         de->d_name);
    struct stat st;
    if (!r && lstat(path, &st) == 0 && S_ISREG(st.st_mode))
      r = add_partial(s, path, (uint64_t)st.st_size, lock_live(lock));
    free(path);
    free(lock);
  }
  if (d) closedir(d);
  d = r ? NULL : opendir(locks);
  while (!r && d && (de = readdir(d))) {
    if (!has_suffix(de->d_name, ".ferry-lock")) continue;
    char *path = NULL;
    r = ferry__hub_fmt(&path, FERRY__HUB_PATH_MAX, "%s/%s", locks, de->d_name);
    struct stat st;
    if (!r && lstat(path, &st) == 0 && S_ISREG(st.st_mode) && !lock_live(path))
      r = add_partial(s, path, (uint64_t)st.st_size, 0);
    free(path);
  }
  if (d) closedir(d);
  free(blobs);
  free(locks);
  return r;
}

static int repo_cmp(const void *a, const void *b) {
  const struct ferry_cache_repo *x = a, *y = b;
  int c = strcmp(x->repo_type, y->repo_type);
  return c ? c : strcmp(x->repo_id, y->repo_id);
}

static const char *const ignored[] = {".locks", "CACHEDIR.TAG", ".DS_Store", "Thumbs.db",
                                      "desktop.ini", ".", ".."};

int ferry_cache_scan(const char *cache_dir, struct ferry_cache_info *out) {
  memset(out, 0, sizeof(*out));
  struct ferry__hub_env env = ferry__hub_env_process();
  int r = ferry__hub_cache_root(&env, cache_dir, &out->cache_dir);
  if (r) return r;
  for (size_t n = strlen(out->cache_dir); n > 1 && out->cache_dir[n - 1] == '/'; n--)
    out->cache_dir[n - 1] = 0; /* "DIR/" lists as "DIR/models--..." */
  struct scan s = {.info = out};
  DIR *d = opendir(out->cache_dir);
  if (!d) return errno == ENOENT ? 0 : FERRY_E_IO;
  struct dirent *de;
  while (!r && (de = readdir(d))) {
    int skip = 0;
    for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
      if (!strcmp(de->d_name, ignored[i])) skip = 1;
    if (skip) continue;
    char *path = NULL;
    if ((r = ferry__hub_fmt(&path, FERRY__HUB_PATH_MAX, "%s/%s", out->cache_dir, de->d_name)))
      break;
    struct stat st;
    const char *sep = strstr(de->d_name, "--");
    char type[16] = "";
    if (sep && sep - de->d_name < (ptrdiff_t)sizeof(type))
      snprintf(type, sizeof(type), "%.*s", (int)(sep - de->d_name), de->d_name);
    size_t tl = strlen(type);
    if (tl > 0 && type[tl - 1] == 's') type[tl - 1] = 0;
    char *snaps = NULL;
    struct stat sst;
    if (lstat(path, &st) != 0) {
      /* vanished meanwhile */
    } else if (!S_ISDIR(st.st_mode)) {
      warn(&s, "not a repo folder (a stray file or a symlink): %s", path);
    } else if (!sep ||
               (strcmp(type, "model") && strcmp(type, "dataset") && strcmp(type, "space"))) {
      warn(&s, "not a repo folder (name is not <type>s--<id>): %s", path);
    } else if ((r = ferry__hub_fmt(&snaps, FERRY__HUB_PATH_MAX, "%s/snapshots", path)) == 0 &&
               (lstat(snaps, &sst) != 0 || !S_ISDIR(sst.st_mode))) {
      warn(&s, "repo folder without snapshots/: %s", path);
    } else if (!r) {
      /* "org--name" -> "org/name" */
      char id[FERRY__HUB_PATH_MAX];
      size_t k = 0;
      for (const char *c = sep + 2; *c && k + 1 < sizeof(id); c++) {
        if (c[0] == '-' && c[1] == '-') {
          id[k++] = '/';
          c++;
        } else {
          id[k++] = *c;
        }
      }
      id[k] = 0;
      struct ferry_cache_repo *grown = realloc(out->repos, (out->n_repos + 1) * sizeof(*grown));
      if (!grown) {
        r = FERRY_E_NOMEM;
      } else {
        out->repos = grown;
        r = scan_repo(&s, path, type, id, &grown[out->n_repos]);
        out->n_repos++;
        if (!r) r = scan_partials(&s, out->cache_dir, de->d_name);
        if (!r) out->size_on_disk += grown[out->n_repos - 1].size_on_disk;
      }
    }
    free(snaps);
    free(path);
  }
  closedir(d);
  if (!r && s.oom) r = FERRY_E_NOMEM;
  if (!r && out->n_repos) qsort(out->repos, out->n_repos, sizeof(*out->repos), repo_cmp);
  return r;
}

void ferry_cache_info_free(struct ferry_cache_info *info) {
  if (!info) return;
  for (size_t i = 0; i < info->n_repos; i++) {
    struct ferry_cache_repo *repo = &info->repos[i];
    for (size_t k = 0; k < repo->n_revisions; k++) {
      struct ferry_cache_revision *rev = &repo->revisions[k];
      for (size_t j = 0; j < rev->n_refs; j++) free(rev->refs[j]);
      free(rev->refs);
      free(rev->path);
    }
    free(repo->revisions);
    free(repo->repo_id);
    free(repo->path);
  }
  free(info->repos);
  for (size_t i = 0; i < info->n_partials; i++) free(info->partials[i].path);
  free(info->partials);
  for (size_t i = 0; i < info->n_warnings; i++) free(info->warnings[i]);
  free(info->warnings);
  free(info->cache_dir);
  memset(info, 0, sizeof(*info));
}
