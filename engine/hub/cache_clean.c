/* cache_clean.c: `ferry cache rm` and `ferry cache prune`, with huggingface_hub's deletion
 * strategy (hub-protocol.md §3.7): when every revision of a repo goes, the repo folder goes;
 * otherwise the selected snapshots, the refs pointing to them, and the blobs no remaining
 * revision uses. Planning and deleting are separate so --dry-run shows exactly what the real
 * run deletes. Deleting never follows a symlink (links are unlinked, folders are walked
 * physically) and never touches a path outside the cache folder. */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_mgmt.h"
#include "hub.h"
#include "grow.h"

static int plan_fail(struct ferry_cache_plan *p, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int plan_fail(struct ferry_cache_plan *p, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->message, sizeof(p->message), fmt, ap);
  va_end(ap);
  return err;
}

/* Items are gathered per kind and joined in execution order at the end. */
struct lists {
  struct ferry_cache_item *v[5];
  size_t n[5], cap[5];
};

static int push(struct lists *l, int kind, const char *path, uint64_t bytes,
                const struct ferry_cache_repo *repo, const char *commit) {
  if (ferry__grow(&l->v[kind], &l->cap[kind], l->n[kind] + 1, sizeof(*l->v[kind]), 16) != 0)
    return FERRY_E_NOMEM;
  struct ferry_cache_item *it = &l->v[kind][l->n[kind]];
  memset(it, 0, sizeof(*it));
  it->kind = kind;
  it->bytes = bytes;
  it->path = strdup(path);
  it->repo_id = strdup(repo ? repo->repo_id : "");
  if (!it->path || !it->repo_id) {
    free(it->path);
    free(it->repo_id);
    return FERRY_E_NOMEM;
  }
  if (repo) snprintf(it->repo_type, sizeof(it->repo_type), "%s", repo->repo_type);
  if (commit) snprintf(it->commit, sizeof(it->commit), "%s", commit);
  l->n[kind]++;
  return 0;
}

static int join(struct lists *l, struct ferry_cache_plan *out) {
  size_t total = 0;
  for (int k = 0; k < 5; k++) total += l->n[k];
  out->items = calloc(total + 1, sizeof(*out->items));
  if (!out->items) return FERRY_E_NOMEM;
  for (int k = 0; k < 5; k++) {
    for (size_t i = 0; i < l->n[k]; i++) {
      out->items[out->n_items++] = l->v[k][i];
      out->freed_bytes += l->v[k][i].bytes;
    }
    free(l->v[k]);
    l->v[k] = NULL;
    l->n[k] = l->cap[k] = 0;
  }
  return 0;
}

static void lists_free(struct lists *l) {
  for (int k = 0; k < 5; k++) {
    for (size_t i = 0; i < l->n[k]; i++) free(l->v[k][i].path), free(l->v[k][i].repo_id);
    free(l->v[k]);
  }
}

/* Blobs by identity (device, inode): the ones the selected snapshots use, the ones the
 * remaining snapshots use. Appended freely, then sorted once, so a repo with many files costs
 * n log n. */
struct blob {
  dev_t dev;
  ino_t ino;
  uint64_t size;
  char *name;        /* its name in <repo>/blobs, or NULL when it is not a blob there */
};
struct blobset {
  struct blob *v;
  size_t n, cap;
};

static int blob_cmp(const void *a, const void *b) {
  const struct blob *x = a, *y = b;
  if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
  if (x->ino != y->ino) return x->ino < y->ino ? -1 : 1;
  return 0;
}

static int blobset_add(struct blobset *b, const struct ferry__cache_file *f, const char *name) {
  if (ferry__grow(&b->v, &b->cap, b->n + 1, sizeof(*b->v), 64) != 0) return FERRY_E_NOMEM;
  struct blob *one = &b->v[b->n];
  one->dev = f->dev, one->ino = f->ino, one->size = f->size, one->name = NULL;
  if (name && !(one->name = strdup(name))) return FERRY_E_NOMEM;
  b->n++;
  return 0;
}

/* Sorted by identity, one entry each (keeping a name when any entry had one). */
static void blobset_unique(struct blobset *b) {
  if (b->n < 2) return;
  qsort(b->v, b->n, sizeof(*b->v), blob_cmp);
  size_t k = 1;
  for (size_t i = 1; i < b->n; i++) {
    struct blob *last = &b->v[k - 1];
    if (blob_cmp(&b->v[i], last) != 0) {
      b->v[k++] = b->v[i];
    } else if (!last->name) {
      last->name = b->v[i].name;
    } else {
      free(b->v[i].name);
    }
  }
  b->n = k;
}

static int blobset_has(const struct blobset *b, const struct blob *key) {
  return b->n && bsearch(key, b->v, b->n, sizeof(*b->v), blob_cmp) != NULL;
}

static void blobset_free(struct blobset *b) {
  for (size_t i = 0; i < b->n; i++) free(b->v[i].name);
  free(b->v);
}

/* The blob a snapshot link points to, by huggingface_hub's layout: the link text is
 * "../" repeated, then "blobs/<name>", and <repo>/blobs/<name> is the very file the link
 * resolves to. Anything else (an absolute link, a link out of the repo) is never a blob to
 * delete. Returns the name or NULL. */
static const char *blob_name(const char *repo_dir, const struct ferry__cache_file *f) {
  if (!f->link) return NULL;
  const char *t = f->link;
  while (!strncmp(t, "../", 3)) t += 3;
  if (strncmp(t, "blobs/", 6) != 0) return NULL;
  const char *name = t + 6;
  if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) return NULL;
  char path[FERRY__HUB_PATH_MAX];
  struct stat st;
  if ((size_t)snprintf(path, sizeof(path), "%s/blobs/%s", repo_dir, name) >= sizeof(path) ||
      lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_dev != f->dev ||
      st.st_ino != f->ino)
    return NULL;
  return name;
}

/* Adds what one snapshot uses to `set`. Real files in the snapshot (a cache without
 * symlinks) go with their snapshot folder: *own_bytes counts those not hard-linked. */
static int snapshot_blobs(const char *repo_dir, const char *snapshot, struct blobset *set,
                          uint64_t *own_bytes) {
  struct ferry__cache_files files;
  int r = ferry__cache_list_snapshot(snapshot, &files, NULL, NULL);
  for (size_t i = 0; !r && i < files.n; i++) {
    const struct ferry__cache_file *f = &files.v[i];
    if (!f->is_link && own_bytes && f->nlink == 1) *own_bytes += f->size;
    r = blobset_add(set, f, f->is_link ? blob_name(repo_dir, f) : NULL);
  }
  ferry__cache_files_free(&files);
  return r;
}

/* Plans the removal of the revisions of `repo` with selected[k] set. */
static int plan_repo(struct lists *l, const struct ferry_cache_repo *repo,
                     const unsigned char *selected) {
  size_t count = 0;
  for (size_t k = 0; k < repo->n_revisions; k++) count += selected[k] != 0;
  if (count == 0) return 0;
  if (count == repo->n_revisions)
    return push(l, FERRY_CACHE_ITEM_REPO, repo->path, repo->size_on_disk, repo, NULL);
  struct blobset gone = {0}, kept = {0};
  int r = 0;
  for (size_t k = 0; !r && k < repo->n_revisions; k++) {
    const struct ferry_cache_revision *rev = &repo->revisions[k];
    uint64_t own = 0;
    if (selected[k]) {
      r = snapshot_blobs(repo->path, rev->path, &gone, &own);
      if (!r) r = push(l, FERRY_CACHE_ITEM_SNAPSHOT, rev->path, own, repo, rev->commit);
      for (size_t j = 0; !r && j < rev->n_refs; j++) {
        char *ref = NULL;
        r = ferry__hub_fmt(&ref, FERRY__HUB_PATH_MAX, "%s/refs/%s", repo->path, rev->refs[j]);
        if (!r) r = push(l, FERRY_CACHE_ITEM_REF, ref, 0, repo, rev->commit);
        free(ref);
      }
    } else {
      r = snapshot_blobs(repo->path, rev->path, &kept, NULL);
    }
  }
  blobset_unique(&gone);
  blobset_unique(&kept);
  /* a blob goes when no remaining snapshot uses it (through any link or hard link) */
  for (size_t i = 0; !r && i < gone.n; i++)
    if (gone.v[i].name && !blobset_has(&kept, &gone.v[i])) {
      char *path = NULL;
      r = ferry__hub_fmt(&path, FERRY__HUB_PATH_MAX, "%s/blobs/%s", repo->path, gone.v[i].name);
      if (!r) r = push(l, FERRY_CACHE_ITEM_BLOB, path, gone.v[i].size, repo, NULL);
      free(path);
    }
  blobset_free(&gone);
  blobset_free(&kept);
  return r;
}

static int is_hex40(const char *s) {
  if (strlen(s) != 40) return 0;
  for (int i = 0; i < 40; i++)
    if (!strchr("0123456789abcdefABCDEF", s[i])) return 0;
  return 1;
}

/* "model/org/name", "hf://datasets/org/ds", "hf://org/name" -> type and id. 0 or -1. */
static int parse_repo_target(const char *t, char type[16], const char **id) {
  static const char *const singular[] = {"model", "dataset", "space"};
  if (!strncasecmp(t, "hf://", 5)) {
    t += 5;
    for (int i = 0; i < 3; i++) {
      size_t n = strlen(singular[i]);
      if (!strncasecmp(t, singular[i], n) && t[n] == 's' && t[n + 1] == '/') {
        snprintf(type, 16, "%s", singular[i]);
        *id = t + n + 2;
        return **id ? 0 : -1;
      }
    }
    snprintf(type, 16, "model");
    *id = t;
    return *t ? 0 : -1;
  }
  for (int i = 0; i < 3; i++) {
    size_t n = strlen(singular[i]);
    if (!strncasecmp(t, singular[i], n) && t[n] == '/' && t[n + 1]) {
      snprintf(type, 16, "%s", singular[i]);
      *id = t + n + 1;
      return 0;
    }
  }
  return -1;
}

static int make_plan(const struct ferry_cache_info *info, unsigned char **sel,
                     struct ferry_cache_plan *out, int with_partials) {
  struct lists l = {0};
  int r = 0;
  for (size_t i = 0; !r && i < info->n_repos; i++) r = plan_repo(&l, &info->repos[i], sel[i]);
  for (size_t i = 0; !r && with_partials && i < info->n_partials; i++) {
    const struct ferry_cache_partial *p = &info->partials[i];
    if (p->in_use) continue;
    int inside_gone = 0; /* a repo folder that goes takes its partial files with it */
    for (size_t k = 0; k < l.n[FERRY_CACHE_ITEM_REPO]; k++)
      if (ferry__cache_path_inside(l.v[FERRY_CACHE_ITEM_REPO][k].path, p->path))
        inside_gone = 1;
    if (!inside_gone) r = push(&l, FERRY_CACHE_ITEM_PARTIAL, p->path, p->size, NULL, NULL);
  }
  if (!r) r = join(&l, out);
  lists_free(&l);
  return r;
}

static unsigned char **selection_new(const struct ferry_cache_info *info) {
  unsigned char **sel = calloc(info->n_repos + 1, sizeof(*sel));
  if (!sel) return NULL;
  for (size_t i = 0; i < info->n_repos; i++)
    if (!(sel[i] = calloc(info->repos[i].n_revisions + 1, 1))) {
      for (size_t k = 0; k < i; k++) free(sel[k]);
      free(sel);
      return NULL;
    }
  return sel;
}

static void selection_free(const struct ferry_cache_info *info, unsigned char **sel) {
  if (!sel) return;
  for (size_t i = 0; i < info->n_repos; i++) free(sel[i]);
  free(sel);
}

int ferry_cache_plan_rm(const struct ferry_cache_info *info, const char *const *targets,
                        size_t n_targets, struct ferry_cache_plan *out) {
  memset(out, 0, sizeof(*out));
  if (n_targets == 0) return plan_fail(out, FERRY_E_INVAL, "nothing to remove: no target");
  unsigned char **sel = selection_new(info);
  if (!sel) return FERRY_E_NOMEM;
  int r = 0;
  for (size_t t = 0; !r && t < n_targets; t++) {
    const char *target = targets[t];
    int found = 0;
    if (is_hex40(target)) {
      for (size_t i = 0; i < info->n_repos; i++)
        for (size_t k = 0; k < info->repos[i].n_revisions; k++)
          if (!strcasecmp(info->repos[i].revisions[k].commit, target)) sel[i][k] = 1, found = 1;
      if (!found)
        r = plan_fail(out, FERRY_E_INVAL, "revision %s is not in the cache at %s", target,
                      info->cache_dir ? info->cache_dir : "");
      continue;
    }
    char type[16];
    const char *id;
    if (parse_repo_target(target, type, &id) != 0) {
      /* A bare org/name (what `ferry download` takes) is the usual slip: say which TYPE/
       * prefix names it, the cached repo's when there is one, else model/. */
      const char *slash = strchr(target, '/');
      const char *guess = "model";
      for (size_t i = 0; slash && !strchr(slash + 1, '/') && i < info->n_repos; i++)
        if (!strcasecmp(info->repos[i].repo_id, target)) {
          guess = info->repos[i].repo_type;
          break;
        }
      if (slash && slash != target && slash[1] && !strchr(slash + 1, '/'))
        r = plan_fail(out, FERRY_E_INVAL,
                      "'%.200s' needs its repo type: did you mean %s/%.200s? (targets are "
                      "model/org/name, dataset/org/name, space/org/name or a 40-hex revision)",
                      target, guess, target);
      else
        r = plan_fail(out, FERRY_E_INVAL,
                      "'%.200s' is neither a 40-hex revision nor TYPE/REPO_ID (model/org/name, "
                      "dataset/org/name, space/org/name)",
                      target);
      continue;
    }
    for (size_t i = 0; i < info->n_repos; i++)
      if (!strcmp(info->repos[i].repo_type, type) && !strcasecmp(info->repos[i].repo_id, id)) {
        memset(sel[i], 1, info->repos[i].n_revisions);
        if (info->repos[i].n_revisions == 0) sel[i][0] = 1;
        found = 1;
      }
    if (!found)
      r = plan_fail(out, FERRY_E_INVAL, "%s/%.200s is not in the cache at %s", type, id,
                    info->cache_dir ? info->cache_dir : "");
  }
  /* a repo asked for whole but without any revision left: its folder still goes */
  struct lists extra = {0};
  for (size_t i = 0; !r && i < info->n_repos; i++)
    if (info->repos[i].n_revisions == 0 && sel[i][0])
      r = push(&extra, FERRY_CACHE_ITEM_REPO, info->repos[i].path, 0, &info->repos[i], NULL);
  if (!r) r = make_plan(info, sel, out, 0);
  if (!r && extra.n[FERRY_CACHE_ITEM_REPO]) {
    size_t n = extra.n[FERRY_CACHE_ITEM_REPO];
    struct ferry_cache_item *grown = realloc(out->items, (out->n_items + n + 1) * sizeof(*grown));
    if (!grown) {
      r = FERRY_E_NOMEM;
    } else {
      out->items = grown;
      memmove(out->items + n, out->items, out->n_items * sizeof(*grown));
      memcpy(out->items, extra.v[FERRY_CACHE_ITEM_REPO], n * sizeof(*grown));
      out->n_items += n;
      extra.n[FERRY_CACHE_ITEM_REPO] = 0;
    }
  }
  lists_free(&extra);
  selection_free(info, sel);
  return r;
}

int ferry_cache_plan_prune(const struct ferry_cache_info *info, struct ferry_cache_plan *out) {
  memset(out, 0, sizeof(*out));
  unsigned char **sel = selection_new(info);
  if (!sel) return FERRY_E_NOMEM;
  for (size_t i = 0; i < info->n_repos; i++)
    for (size_t k = 0; k < info->repos[i].n_revisions; k++)
      sel[i][k] = info->repos[i].revisions[k].n_refs == 0;
  int r = make_plan(info, sel, out, 1);
  selection_free(info, sel);
  return r;
}

void ferry_cache_plan_free(struct ferry_cache_plan *plan) {
  if (!plan) return;
  for (size_t i = 0; i < plan->n_items; i++) {
    free(plan->items[i].path);
    free(plan->items[i].repo_id);
  }
  free(plan->items);
  memset(plan, 0, sizeof(*plan));
}

/* ---- deleting ---------------------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)ftw;
  int r = flag == FTW_DP ? rmdir(path) : unlink(path);
  return r != 0 && errno != ENOENT ? -1 : 0;
}

/* A folder and everything in it; symlinks inside are unlinked, never followed (FTW_PHYS),
 * and the walk does not cross into other file systems. */
static int remove_tree(const char *path) {
  return nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) == 0 ? 0 : -1;
}

/* After a ref is deleted, its empty parent folders below the repo's refs/ go too
 * (refs/refs/pr after refs/refs/pr/1). The repo folder is the first segment below the cache. */
static void prune_empty_parents(const char *cache_dir, const char *path) {
  size_t root = strlen(cache_dir);
  while (root > 1 && cache_dir[root - 1] == '/') root--;
  const char *repo = path + root;
  while (*repo == '/') repo++;
  const char *end = strchr(repo, '/');
  if (!end || strncmp(end, "/refs/", 6) != 0) return;
  size_t stop = (size_t)(end - path) + 5; /* length of "<cache>/<repo>/refs" */
  char dir[FERRY__HUB_PATH_MAX];
  if (strlen(path) >= sizeof(dir)) return;
  memcpy(dir, path, strlen(path) + 1);
  for (int i = 0; i < 64; i++) {
    char *slash = strrchr(dir, '/');
    if (!slash || (size_t)(slash - dir) <= stop) return;
    *slash = 0;
    if (rmdir(dir) != 0) return;
  }
}

int ferry_cache_plan_execute(const struct ferry_cache_info *info,
                             const struct ferry_cache_plan *plan, size_t *n_done,
                             size_t *n_failed, char *why, size_t why_len) {
  *n_done = *n_failed = 0;
  if (why && why_len) why[0] = 0;
  for (size_t i = 0; i < plan->n_items; i++) {
    const struct ferry_cache_item *it = &plan->items[i];
    struct stat st;
    const char *problem = NULL;
    int is_dir_kind = it->kind == FERRY_CACHE_ITEM_REPO || it->kind == FERRY_CACHE_ITEM_SNAPSHOT;
    if (!info->cache_dir || !ferry__cache_path_inside(info->cache_dir, it->path)) {
      problem = "outside the cache folder";
    } else if (lstat(it->path, &st) != 0) {
      if (errno == ENOENT) continue; /* already gone */
      problem = strerror(errno);
    } else if (is_dir_kind && !S_ISDIR(st.st_mode)) {
      problem = "not a folder (a symlink is never followed)";
    } else if (!is_dir_kind && S_ISDIR(st.st_mode)) {
      problem = "a folder where a file was expected";
    } else if (is_dir_kind ? remove_tree(it->path) != 0 : unlink(it->path) != 0) {
      problem = strerror(errno);
    }
    if (problem) {
      if (*n_failed == 0 && why && why_len)
        snprintf(why, why_len, "cannot delete %s: %s", it->path, problem);
      (*n_failed)++;
      continue;
    }
    if (it->kind == FERRY_CACHE_ITEM_REF) prune_empty_parents(info->cache_dir, it->path);
    (*n_done)++;
  }
  return *n_failed ? FERRY_E_IO : 0;
}
