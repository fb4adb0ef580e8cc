/* upload_walk: the files `ferry upload` sends, as upload_folder lists them (hub-protocol.md
 * §6.8): every regular file under the folder, sorted, with '/' separators; include/exclude
 * matched on the path relative to the folder (download patterns' semantics), then the
 * path_in_repo prefix. .git and .cache/huggingface are always left out. A symlink is followed
 * only when it resolves to a file inside the folder: nothing outside LOCAL_PATH is read. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hub.h"
#include "grow.h"

/* huggingface_hub's DEFAULT_IGNORE_PATTERNS for upload_folder. */
static const char *const always_ignored[] = {
    ".git", ".git/*", "*/.git", "**/.git/**",
    ".cache/huggingface", ".cache/huggingface/*", "*/.cache/huggingface", "**/.cache/huggingface/**",
};
#define N_ALWAYS_IGNORED (sizeof(always_ignored) / sizeof(always_ignored[0]))

struct walk {
  const struct ferry__upload_walk_opts *o;
  struct ferry__upload_list *out;
  const char **ignore; /* the caller's exclude patterns plus always_ignored */
  size_t n_ignore;
  char root_real[PATH_MAX];
  char *why;
  size_t why_len;
};

/* Only the repository path is kept: `local` is the list's root and the path below it. */
static int add_file(struct walk *w, const char *repo_path, const struct stat *st) {
  struct ferry__upload_list *l = w->out;
  if (ferry__grow(&l->e, &l->cap_e, l->n_e + 1, sizeof(*l->e), 64) != 0) return FERRY_E_NOMEM;
  struct ferry__upload_entry *f = &l->e[l->n_e];
  size_t np = strlen(repo_path) + 1;
  char *s = ferry__hub_strings_alloc(&l->strings, np);
  if (!s) return FERRY_E_NOMEM;
  f->path = memcpy(s, repo_path, np);
  f->size = (uint64_t)st->st_size;
  f->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
  f->ino = (uint64_t)st->st_ino;
  l->n_e++;
  l->bytes += f->size;
  return 0;
}

/* "prefix/rel", or rel when the prefix is the repo's root. */
static int repo_path_of(const char *prefix, const char *rel, char **out) {
  if (!prefix[0]) return ferry__hub_fmt(out, FERRY__HUB_PATH_MAX, "%s", rel);
  if (!rel[0]) return ferry__hub_fmt(out, FERRY__HUB_PATH_MAX, "%s", prefix);
  return ferry__hub_fmt(out, FERRY__HUB_PATH_MAX, "%s/%s", prefix, rel);
}

/* A symlink is followed only when it resolves inside the folder, to a regular file. */
static int inside_root(struct walk *w, const char *local, struct stat *st) {
  char real[PATH_MAX];
  if (!realpath(local, real)) return 0;
  size_t n = strlen(w->root_real);
  if (strncmp(real, w->root_real, n) != 0 || (real[n] != '/' && real[n] != 0)) return 0;
  return stat(real, st) == 0 && S_ISREG(st->st_mode);
}

static int consider(struct walk *w, const char *local, const char *rel, const struct stat *lst) {
  struct stat st = *lst;
  int keep = ferry__hub_patterns_keep(w->o->include, w->o->n_include, w->ignore, w->n_ignore,
                                      rel);
  if (keep < 0) {
    snprintf(w->why, w->why_len, "cannot match the patterns against %s", rel);
    return keep;
  }
  if (!keep) return 0;
  if (S_ISLNK(lst->st_mode) && !inside_root(w, local, &st)) {
    w->out->skipped_links++;
    return 0;
  }
  if (!S_ISREG(st.st_mode)) return 0;
  char *repo_path = NULL;
  int err = repo_path_of(w->o->path_in_repo, rel, &repo_path);
  if (!err && ferry__hub_path_check(repo_path, w->why, w->why_len) != 0) {
    snprintf(w->why, w->why_len, "cannot upload %s: not a valid path in a repository", rel);
    err = FERRY_E_INVAL;
  }
  if (!err) err = add_file(w, repo_path, &st);
  free(repo_path);
  return err;
}

static int walk_dir(struct walk *w, const char *dir, const char *rel, int depth) {
  if (depth > 256) {
    snprintf(w->why, w->why_len, "%s: folders nested too deep", dir);
    return FERRY_E_INVAL;
  }
  DIR *d = opendir(dir);
  if (!d) {
    snprintf(w->why, w->why_len, "cannot read %s: %s", dir, strerror(errno));
    return FERRY_E_IO;
  }
  int err = 0;
  struct dirent *de;
  while (!err && (de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    char *local = NULL, *sub = NULL;
    err = ferry__hub_fmt(&local, FERRY__HUB_PATH_MAX, "%s/%s", dir, de->d_name);
    if (!err) err = rel[0] ? ferry__hub_fmt(&sub, FERRY__HUB_PATH_MAX, "%s/%s", rel, de->d_name)
                           : ferry__hub_fmt(&sub, FERRY__HUB_PATH_MAX, "%s", de->d_name);
    struct stat st;
    if (err) {
      snprintf(w->why, w->why_len, "%s: path too long", dir);
    } else if (lstat(local, &st) != 0) {
      if (errno != ENOENT) { /* vanished while we walk: not ours to send */
        snprintf(w->why, w->why_len, "cannot read %s: %s", local, strerror(errno));
        err = FERRY_E_IO;
      }
    } else if (S_ISDIR(st.st_mode)) {
      /* The always-ignored folders are not even entered. */
      int keep = ferry__hub_patterns_keep(NULL, 0, always_ignored, N_ALWAYS_IGNORED, sub);
      if (keep > 0) err = walk_dir(w, local, sub, depth + 1);
    } else {
      err = consider(w, local, sub, &st);
    }
    free(local), free(sub);
  }
  closedir(d);
  return err;
}

static int by_path(const void *a, const void *b) {
  return strcmp(((const struct ferry__upload_entry *)a)->path,
                ((const struct ferry__upload_entry *)b)->path);
}

int ferry__upload_walk(const struct ferry__upload_walk_opts *o, struct ferry__upload_list *out,
                       char *why, size_t why_len) {
  memset(out, 0, sizeof(*out));
  struct walk w = {.o = o, .out = out, .why = why, .why_len = why_len};
  struct stat st;
  if (stat(o->local_path, &st) != 0) {
    snprintf(why, why_len, "cannot read %s: %s", o->local_path, strerror(errno));
    return errno == ENOENT ? FERRY_E_INVAL : FERRY_E_IO;
  }
  if (!realpath(o->local_path, w.root_real)) {
    snprintf(why, why_len, "cannot resolve %s: %s", o->local_path, strerror(errno));
    return FERRY_E_IO;
  }
  int err = 0;
  if (S_ISREG(st.st_mode)) {
    /* One file: path_in_repo is its whole name in the repo. */
    if (ferry__hub_path_check(o->path_in_repo, why, why_len) != 0) {
      snprintf(why, why_len, "not a valid path in a repository: %s", o->path_in_repo);
      return FERRY_E_INVAL;
    }
    out->root = strdup(o->local_path);
    err = out->root ? add_file(&w, o->path_in_repo, &st) : FERRY_E_NOMEM;
    if (err) ferry__upload_list_free(out);
    return err;
  }
  if (!S_ISDIR(st.st_mode)) {
    snprintf(why, why_len, "%s is neither a file nor a folder", o->local_path);
    return FERRY_E_INVAL;
  }
  if (o->path_in_repo[0] && ferry__hub_path_check(o->path_in_repo, why, why_len) != 0) {
    snprintf(why, why_len, "not a valid path in a repository: %s", o->path_in_repo);
    return FERRY_E_INVAL;
  }
  out->folder = 1;
  out->prefix_len = o->path_in_repo[0] ? strlen(o->path_in_repo) + 1 : 0;
  out->root = strdup(w.root_real);
  w.n_ignore = o->n_exclude + N_ALWAYS_IGNORED;
  w.ignore = calloc(w.n_ignore, sizeof(*w.ignore));
  if (!w.ignore || !out->root) {
    free(w.ignore);
    ferry__upload_list_free(out);
    return FERRY_E_NOMEM;
  }
  for (size_t i = 0; i < o->n_exclude; i++) w.ignore[i] = o->exclude[i];
  for (size_t i = 0; i < N_ALWAYS_IGNORED; i++) w.ignore[o->n_exclude + i] = always_ignored[i];
  err = walk_dir(&w, w.root_real, "", 0);
  free(w.ignore);
  if (err) {
    ferry__upload_list_free(out);
    return err;
  }
  if (out->n_e) qsort(out->e, out->n_e, sizeof(*out->e), by_path);
  return 0;
}

void ferry__upload_list_free(struct ferry__upload_list *l) {
  ferry__hub_strings_free(&l->strings);
  free(l->root);
  free(l->e);
  free(l->v);
  memset(l, 0, sizeof(*l));
}

const char *ferry__upload_local(const struct ferry__upload_list *l, const char *path, char *buf) {
  if (!l->folder) return l->root;
  /* The walk made root/rel within FERRY__HUB_PATH_MAX: this is the same string. */
  snprintf(buf, FERRY__HUB_PATH_MAX, "%s/%s", l->root, path + l->prefix_len);
  return buf;
}
