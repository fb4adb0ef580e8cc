/* cache_mgmt.h: what cache_scan.c (`ferry cache ls`) and cache_clean.c (`ferry cache rm`,
 * `prune`) share (internal). */
#ifndef FERRY_HUB_CACHE_MGMT_H
#define FERRY_HUB_CACHE_MGMT_H

#include <stdint.h>
#include <sys/types.h>

#include "ferry.h"

/* One file of a snapshot: the pointer (a symlink, or a real file in a cache without
 * symlinks) and what it resolves to. */
struct ferry__cache_file {
  char *pointer;        /* snapshots/<commit>/<path> */
  char *link;           /* the symlink's text (NULL for a real file) */
  dev_t dev;
  ino_t ino;
  uint64_t size;
  nlink_t nlink;
  double atime, mtime;
  int is_link;
};

struct ferry__cache_files {
  struct ferry__cache_file *v;
  size_t n, cap;
  size_t broken;        /* symlinks that resolve to nothing */
};

/* Every file below `snapshot_dir` (folders walked without following symlinks; a file
 * symlink is resolved). Broken links are counted in `broken` and passed to warn (may be
 * NULL) with `user`. 0, FERRY_E_NOMEM or FERRY_E_IO. */
int ferry__cache_list_snapshot(const char *snapshot_dir, struct ferry__cache_files *out,
                               void (*warn)(void *user, const char *path), void *user);
void ferry__cache_files_free(struct ferry__cache_files *f);

/* 1 when `path` lies strictly below `root` as text ("<root>/..."), with no "." or ".."
 * segment: the last check before anything is deleted. */
int ferry__cache_path_inside(const char *root, const char *path);

#endif
