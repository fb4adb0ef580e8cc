/* Fuzz target: the check of a file name from the server before it touches the disk
 * (engine/hub/cache.c ferry__hub_path_check). A name it accepts is checked again here, by
 * the rules on their own: not empty, not too long, relative, no drive letter, no backslash or
 * control character, no empty, "." or ".." segment; then joined under a snapshot folder, it
 * stays inside that folder (ferry__cache_path_inside), and its blob symlink climbs exactly to
 * the repo's blobs/ folder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache_mgmt.h"
#include "hub.h"

static int segments_ok(const char *p) {
  for (;;) {
    const char *end = strchr(p, '/');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) return 0;
    if (!end) return 1;
    p = end + 1;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *path = malloc(size + 1);
  if (!path) abort();
  memcpy(path, data, size);
  path[size] = 0;
  char why[512];
  why[0] = 0;
  int err = ferry__hub_path_check(path, why, sizeof(why));
  if (err && !why[0]) abort(); /* a refusal says why */
  if (!err) {
    size_t len = strlen(path);
    if (len == 0 || len > FERRY__HUB_PATH_MAX || path[0] == '/') abort();
    if (len >= 2 && path[1] == ':' &&
        ((path[0] >= 'a' && path[0] <= 'z') || (path[0] >= 'A' && path[0] <= 'Z')))
      abort();
    for (size_t i = 0; i < len; i++) {
      unsigned char c = (unsigned char)path[i];
      if (c == '\\' || c < 0x20 || c == 0x7f) abort();
    }
    if (!segments_ok(path)) abort();
    char *joined = NULL;
    const char *repo = "/cache/models--a--b";
    const char *commit = "0123456789abcdef0123456789abcdef01234567";
    if (ferry__hub_snapshot_path(repo, commit, path, &joined) == 0) {
      if (!ferry__cache_path_inside("/cache/models--a--b/snapshots/0123456789abcdef0123456789abcdef01234567", joined))
        abort();
    }
    free(joined);
    /* the snapshot's symlink climbs out of snapshots/<commit>/<dirs> exactly to blobs/ */
    char *target = NULL;
    const char *etag = "0123456789abcdef0123456789abcdef01234567";
    if (ferry__hub_symlink_target(path, etag, &target)) abort();
    size_t up = 2;
    for (const char *p = path; *p; p++) up += *p == '/';
    for (size_t i = 0; i < up; i++)
      if (strncmp(target + 3 * i, "../", 3)) abort();
    if (strncmp(target + 3 * up, "blobs/", 6) || strcmp(target + 3 * up + 6, etag)) abort();
    free(target);
  }
  free(path);
  return 0;
}
