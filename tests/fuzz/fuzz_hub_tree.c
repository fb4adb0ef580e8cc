/* Fuzz target: the JSON walkers of the tree and repo-info answers (engine/hub/tree.c). The
 * first byte picks the parser, the rest is the server's body:
 *   0 a tree page, parsed into a tree that already holds a page: taken whole or not at all,
 *     every path it keeps passes ferry__hub_path_check and every file's oid is 40 hex, and
 *     the check for a path listed twice answers yes or no;
 *   1 repo info: a sha of 40 lowercase hex, siblings all non-NULL;
 *   2 the cache's trees/<commit>.json: what it accepts serializes and parses back to the same
 *     files. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"

/* An entry's oid as text; two in one expression take turns with two buffers. */
static const char *oid_text(const struct ferry__hub_entry *e) {
  static char buf[2][FERRY__HUB_OID_TEXT];
  static int next;
  next ^= 1;
  return ferry__hub_entry_oid(e, buf[next]);
}

static const char PAGE[] =
    "[{\"type\":\"file\",\"oid\":\"0123456789abcdef0123456789abcdef01234567\",\"size\":3,"
    "\"path\":\"a.txt\"},"
    "{\"type\":\"directory\",\"oid\":\"4567\",\"size\":0,\"path\":\"sub\"}]";

static int same_entry(const struct ferry__hub_entry *a, const struct ferry__hub_entry *b) {
  return a->is_dir == b->is_dir && strcmp(a->path, b->path) == 0 && a->size == b->size &&
         strcmp(oid_text(a), oid_text(b)) == 0 &&
         a->has_lfs == b->has_lfs && ferry__hub_entry_lfs_size(a) == ferry__hub_entry_lfs_size(b) &&
         strcmp(ferry__hub_entry_lfs_oid(a), ferry__hub_entry_lfs_oid(b)) == 0 &&
         strcmp(ferry__hub_entry_xet_hash(a), ferry__hub_entry_xet_hash(b)) == 0;
}

static void tree_page(const char *json, size_t len) {
  char why[256];
  struct ferry__hub_tree t;
  ferry__hub_tree_init(&t);
  if (ferry__hub_tree_parse_page(PAGE, sizeof(PAGE) - 1, &t, why, sizeof(why)) || t.n != 2) abort();
  int err = ferry__hub_tree_parse_page(json, len, &t, why, sizeof(why));
  if (err && t.n != 2) abort(); /* a refused page leaves the tree as it was */
  if (strcmp(t.v[0].path, "a.txt") || strcmp(t.v[1].path, "sub")) abort();
  for (size_t i = 0; i < t.n; i++) {
    if (!t.v[i].path || ferry__hub_path_check(t.v[i].path, why, sizeof(why))) abort();
    if (t.v[i].has_lfs && strlen(ferry__hub_entry_lfs_oid(&t.v[i])) != 64) abort();
    const char *oid = oid_text(&t.v[i]);
    if (!t.v[i].is_dir && (strlen(oid) != 40 || strspn(oid, "0123456789abcdef") != 40))
      abort();
  }
  int unique = ferry__hub_tree_check_unique(&t, why, sizeof(why));
  if (unique != 0 && unique != FERRY_E_PROTOCOL) abort();
  ferry__hub_tree_free(&t);
}

static void repo_info(const char *json, size_t len) {
  char why[256];
  struct ferry__hub_repo_info info;
  memset(&info, 0, sizeof(info));
  if (ferry__hub_repo_info_parse(json, len, &info, why, sizeof(why)) == 0) {
    if (strlen(info.sha) != 40 || strspn(info.sha, "0123456789abcdef") != 40) abort();
    for (size_t i = 0; i < info.n_siblings; i++)
      if (!info.siblings[i]) abort();
  }
  ferry__hub_repo_info_free(&info);
}

static void tree_cache(const char *json, size_t len) {
  char why[256];
  struct ferry__hub_tree a, b;
  ferry__hub_tree_init(&a);
  ferry__hub_tree_init(&b);
  if (ferry__hub_tree_cache_parse(json, len, &a, why, sizeof(why)) == 0) {
    char *text = NULL;
    size_t n = 0;
    if (ferry__hub_tree_cache_serialize(&a, &text, &n)) abort();
    if (ferry__hub_tree_cache_parse(text, n, &b, why, sizeof(why))) abort();
    if (a.n != b.n) abort();
    for (size_t i = 0; i < a.n; i++)
      if (!same_entry(&a.v[i], &b.v[i])) abort();
    free(text);
  }
  ferry__hub_tree_free(&a);
  ferry__hub_tree_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const char *json = (const char *)data + 1;
  size_t len = size - 1;
  switch (data[0] % 3) {
  case 0: tree_page(json, len); break;
  case 1: repo_info(json, len); break;
  default: tree_cache(json, len); break;
  }
  return 0;
}
