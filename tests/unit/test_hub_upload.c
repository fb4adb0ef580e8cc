/* Unit tests for the upload's pure parts: the LFS batch answer (commit_api.c), the multipart
 * journal (upload_parts.c), the folder walk (upload_walk.c) and the hash cache
 * (upload_hash.c). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../engine/hub/hub.h"
#include "assert.h"

#define OID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define OID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define OID_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static void init_actions(struct ferry__lfs_action *a, size_t n) {
  memset(a, 0, n * sizeof(*a));
  const char *oids[] = {OID_A, OID_B, OID_C};
  for (size_t i = 0; i < n; i++) memcpy(a[i].oid, oids[i], 65), a[i].size = 10;
}

void test_hub_upload_lfs_batch_parse(void) {
  struct ferry__lfs_action a[3];
  init_actions(a, 3);
  a[1].size = 25;
  char why[256];
  /* A present object (no actions), a multipart one (parts out of order, numbers as keys),
   * a basic one with verify; huggingface.co links become the endpoint. */
  const char *body =
      "{\"objects\":["
      "{\"oid\":\"" OID_A "\",\"size\":10},"
      "{\"oid\":\"" OID_B "\",\"size\":25,\"actions\":{\"upload\":{\"href\":"
      "\"https://huggingface.co/done?sig=1\",\"expires_in\":3600,\"header\":{\"chunk_size\":\"10\","
      "\"00003\":\"https://s3/p3\",\"00001\":\"https://s3/p1\",\"2\":\"https://s3/p2\"}}}},"
      "{\"oid\":\"" OID_C "\",\"size\":10,\"actions\":{\"upload\":{\"href\":\"https://cdn/put\"},"
      "\"verify\":{\"href\":\"https://huggingface.co/v\"}}}]}";
  ASSERT_EQ_INT(ferry__lfs_batch_parse(body, strlen(body), "https://hub:1", a, 3, why, sizeof(why)), 0);
  ASSERT_TRUE(a[0].present);
  ASSERT_TRUE(!a[1].present);
  ASSERT_EQ_U64(a[1].chunk_size, 10);
  ASSERT_EQ_U64(a[1].nparts, 3);
  ASSERT_EQ_STR(a[1].part_urls[0], "https://s3/p1");
  ASSERT_EQ_STR(a[1].part_urls[1], "https://s3/p2");
  ASSERT_EQ_STR(a[1].part_urls[2], "https://s3/p3");
  ASSERT_EQ_STR(a[1].href, "https://hub:1/done?sig=1");
  ASSERT_EQ_INT(a[1].expires_in, 3600);
  ASSERT_EQ_U64(a[2].chunk_size, 0);
  ASSERT_EQ_STR(a[2].href, "https://cdn/put");
  ASSERT_EQ_STR(a[2].verify_href, "https://hub:1/v");
  for (int i = 0; i < 3; i++) ferry__lfs_action_free(&a[i]);

  /* a per-object error */
  init_actions(a, 1);
  const char *err = "{\"objects\":[{\"oid\":\"" OID_A "\",\"size\":10,\"error\":{\"code\":422,"
                    "\"message\":\"Invalid object\"}}]}";
  ASSERT_EQ_INT(ferry__lfs_batch_parse(err, strlen(err), NULL, a, 1, why, sizeof(why)), 0);
  ASSERT_EQ_INT(a[0].error_code, 422);
  ASSERT_EQ_STR(a[0].error_message, "Invalid object");

  /* malformed answers: the wrong number of parts, an object left out, a relative href,
   * not JSON */
  const char *bad[] = {
      "{\"objects\":[{\"oid\":\"" OID_A "\",\"size\":10,\"actions\":{\"upload\":{\"href\":"
      "\"https://x/c\",\"header\":{\"chunk_size\":4,\"1\":\"https://s/1\"}}}}]}",
      "{\"objects\":[]}",
      "{\"objects\":[{\"oid\":\"" OID_A "\",\"size\":10,\"actions\":{\"upload\":{\"href\":\"/rel\"}}}]}",
      "not json",
      "{\"objects\":[{\"oid\":\"" OID_A "\"}]}",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    TEST_NOTE("bad answer %zu", i);
    init_actions(a, 1);
    ASSERT_EQ_INT(ferry__lfs_batch_parse(bad[i], strlen(bad[i]), NULL, a, 1, why, sizeof(why)),
                  FERRY_E_PROTOCOL);
    ferry__lfs_action_free(&a[0]);
  }
}

void test_hub_upload_commit_body(void) {
  struct ferry__ndjson b = {0};
  ASSERT_EQ_INT(ferry__ndjson_header(&b, "Title \"q\"", NULL, "0123456789012345678901234567890123456789"), 0);
  ASSERT_EQ_INT(ferry__ndjson_regular(&b, "a/b.txt", (const unsigned char *)"hi\n", 3), 0);
  ASSERT_EQ_INT(ferry__ndjson_lfs(&b, "w.bin", OID_A, 123), 0);
  ASSERT_EQ_INT(ferry__ndjson_delete(&b, "old.txt", 0), 0);
  const char *want =
      "{\"key\":\"header\",\"value\":{\"summary\":\"Title \\\"q\\\"\",\"description\":\"\","
      "\"parentCommit\":\"0123456789012345678901234567890123456789\"}}\n"
      "{\"key\":\"file\",\"value\":{\"content\":\"aGkK\",\"path\":\"a/b.txt\",\"encoding\":\"base64\"}}\n"
      "{\"key\":\"lfsFile\",\"value\":{\"path\":\"w.bin\",\"algo\":\"sha256\",\"oid\":\"" OID_A
      "\",\"size\":123}}\n"
      "{\"key\":\"deletedFile\",\"value\":{\"path\":\"old.txt\"}}\n";
  ASSERT_EQ_STR(b.data, want);
  ferry__ndjson_free(&b);
  char oid[41], why[128], *url = NULL, *pr = NULL;
  const char *ok = "{\"commitOid\":\"0123456789012345678901234567890123456789\",\"commitUrl\":"
                   "\"https://h/r/commit/0123\",\"pullRequestUrl\":\"https://h/r/discussions/4\"}";
  ASSERT_EQ_INT(ferry__commit_parse(ok, strlen(ok), oid, &url, &pr, why, sizeof(why)), 0);
  ASSERT_EQ_STR(oid, "0123456789012345678901234567890123456789");
  ASSERT_EQ_STR(pr, "https://h/r/discussions/4");
  free(url), free(pr);
  const char *short_oid = "{\"commitOid\":\"0123\",\"commitUrl\":\"u\"}";
  ASSERT_EQ_INT(ferry__commit_parse(short_oid, strlen(short_oid), oid, &url, &pr, why, sizeof(why)),
                FERRY_E_PROTOCOL);
}

/* The multipart completion: every part's ETag (quotes kept) under its 1-based number. */
void test_hub_upload_completion_body(void) {
  const char *etags[] = {"\"e1\"", "\"e2\""};
  char *body = NULL;
  ASSERT_EQ_INT(ferry__lfs_completion_body(OID_A, etags, 2, &body), 0);
  ASSERT_EQ_STR(body, "{\"oid\":\"" OID_A "\",\"parts\":[{\"partNumber\":1,\"etag\":"
                      "\"\\\"e1\\\"\"},{\"partNumber\":2,\"etag\":\"\\\"e2\\\"\"}]}");
  free(body);
}

void test_hub_upload_parts_journal(void) {
  const char *dir = ferry_unit_tmpdir();
  struct ferry__lfs_action a = {.size = 25, .chunk_size = 10, .nparts = 3, .expires_in = 3600};
  memcpy(a.oid, OID_B, 65);
  char *urls[] = {"https://s/1", "https://s/2", "https://s/3"};
  a.part_urls = urls;
  a.href = "https://h/complete";
  struct ferry__parts_journal j;
  ASSERT_EQ_INT(ferry__parts_journal_create(dir, &a, &j), 0);
  ASSERT_EQ_INT(ferry__parts_journal_accept(&j, 0, "\"etag-1\""), 0);
  ASSERT_EQ_INT(ferry__parts_journal_accept(&j, 2, "\"etag-3\""), 0);
  char path[512];
  snprintf(path, sizeof(path), "%s/%s.json", dir, OID_B);
  struct stat st;
  ASSERT_EQ_INT(stat(path, &st), 0);
  ASSERT_EQ_INT(st.st_mode & 0777, 0600); /* presigned URLs are credentials */
  ferry__parts_journal_close(&j);
  /* a torn line at the end (a kill mid-write) is ignored */
  int fd = open(path, O_WRONLY | O_APPEND);
  ASSERT_TRUE(write(fd, "{\"part\":2,\"et", 13) == 13);
  close(fd);
  ASSERT_EQ_INT(ferry__parts_journal_load(dir, OID_B, 25, &j), 1);
  ASSERT_EQ_U64(j.action.nparts, 3);
  ASSERT_EQ_STR(j.action.part_urls[1], "https://s/2");
  ASSERT_EQ_STR(j.action.href, "https://h/complete");
  ASSERT_EQ_STR(j.etags[0], "\"etag-1\"");
  ASSERT_TRUE(j.etags[1] == NULL);
  ASSERT_EQ_STR(j.etags[2], "\"etag-3\"");
  ferry__parts_journal_close(&j);
  /* another size: not this object's journal, and it is removed */
  ASSERT_EQ_INT(ferry__parts_journal_load(dir, OID_B, 26, &j), 0);
  ASSERT_EQ_INT(stat(path, &st), -1);
  /* expired URLs are not used */
  a.expires_in = 10; /* inside the safety margin */
  ASSERT_EQ_INT(ferry__parts_journal_create(dir, &a, &j), 0);
  ferry__parts_journal_close(&j);
  ASSERT_EQ_INT(ferry__parts_journal_load(dir, OID_B, 25, &j), 0);
}

static void put_file(const char *dir, const char *rel, const char *text) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", dir, rel);
  for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
    *p = 0;
    mkdir(path, 0755);
    *p = '/';
  }
  FILE *f = fopen(path, "w");
  ASSERT_TRUE(f != NULL);
  fputs(text, f);
  fclose(f);
}

void test_hub_upload_walk(void) {
  const char *tmp = ferry_unit_tmpdir();
  char root[512], outside[512], link[600];
  snprintf(root, sizeof(root), "%s/folder", tmp);
  snprintf(outside, sizeof(outside), "%s/secret.txt", tmp);
  mkdir(root, 0755);
  put_file(tmp, "secret.txt", "do not read");
  put_file(root, "b.txt", "b");
  put_file(root, "a/x.bin", "x");
  put_file(root, "a/y.log", "y");
  put_file(root, ".git/config", "git");
  put_file(root, "sub/.git/HEAD", "git");
  put_file(root, ".cache/huggingface/upload/a.metadata", "m");
  snprintf(link, sizeof(link), "%s/out.txt", root);
  ASSERT_EQ_INT(symlink(outside, link), 0); /* points outside: left out */
  snprintf(link, sizeof(link), "%s/in.txt", root);
  ASSERT_EQ_INT(symlink("b.txt", link), 0); /* inside: followed */
  struct ferry__upload_list l;
  char why[256];
  struct ferry__upload_walk_opts o = {.local_path = root, .path_in_repo = "models/v1"};
  ASSERT_EQ_INT(ferry__upload_walk(&o, &l, why, sizeof(why)), 0);
  ASSERT_EQ_U64(l.n_e, 4);
  ASSERT_EQ_STR(l.e[0].path, "models/v1/a/x.bin");
  ASSERT_EQ_STR(l.e[1].path, "models/v1/a/y.log");
  ASSERT_EQ_STR(l.e[2].path, "models/v1/b.txt");
  ASSERT_EQ_STR(l.e[3].path, "models/v1/in.txt");
  ASSERT_EQ_INT(l.skipped_links, 1);
  ferry__upload_list_free(&l);
  /* include / exclude on paths relative to the folder */
  const char *inc[] = {"a/*"}, *exc[] = {"*.log"};
  struct ferry__upload_walk_opts o2 = {.local_path = root, .path_in_repo = "", .include = inc,
                                       .n_include = 1, .exclude = exc, .n_exclude = 1};
  ASSERT_EQ_INT(ferry__upload_walk(&o2, &l, why, sizeof(why)), 0);
  ASSERT_EQ_U64(l.n_e, 1);
  ASSERT_EQ_STR(l.e[0].path, "a/x.bin");
  ferry__upload_list_free(&l);
  /* a hostile path in the repo is refused */
  struct ferry__upload_walk_opts o3 = {.local_path = root, .path_in_repo = "../up"};
  ASSERT_EQ_INT(ferry__upload_walk(&o3, &l, why, sizeof(why)), FERRY_E_INVAL);
}

void test_hub_upload_hash_cache(void) {
  const char *tmp = ferry_unit_tmpdir();
  put_file(tmp, "f/w.bin", "hello\n");
  char root[512], cache[512];
  snprintf(root, sizeof(root), "%s/f", tmp);
  snprintf(cache, sizeof(cache), "%s/cache", tmp);
  struct ferry__upload_list l;
  char why[256];
  struct ferry__upload_walk_opts o = {.local_path = root, .path_in_repo = ""};
  ASSERT_EQ_INT(ferry__upload_walk(&o, &l, why, sizeof(why)), 0);
  /* the window of the one file, as upload.c makes it from the walk's entry */
  l.v = calloc(1, sizeof(*l.v));
  ASSERT_EQ_INT(l.v != NULL, 1);
  l.n = l.cap = 1;
  l.v[0] = (struct ferry__upload_file){.path = l.e[0].path, .size = l.e[0].size,
                                       .mtime_ns = l.e[0].mtime_ns, .ino = l.e[0].ino, .lfs = 1};
  char buf[FERRY__HUB_PATH_MAX], want[600];
  const char *local = ferry__upload_local(&l, l.v[0].path, buf);
  ASSERT_EQ_INT(realpath(root, want) != NULL, 1);
  strcat(want, "/w.bin");
  ASSERT_EQ_STR(local, want); /* made from the folder and the path, as the walk found it */
  uint32_t todo = 0;
  struct ferry__hasher *h;
  ASSERT_EQ_INT(ferry__hasher_start(&l, &todo, 1, 2, NULL, &h), 0);
  size_t k;
  ASSERT_EQ_INT(ferry__hasher_next(h, &k), 1);
  ASSERT_EQ_INT(ferry__hasher_next(h, &k), 0);
  ferry__hasher_free(h);
  /* sha256("hello\n"), kept as bytes */
  char text[65];
  ASSERT_EQ_INT(l.v[0].hashed, 1);
  ASSERT_EQ_STR(ferry__hub_hex(l.v[0].hash, 32, text),
                "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
  struct ferry__hash_cache *c;
  ASSERT_EQ_INT(ferry__hash_cache_open(cache, root, &c), 0);
  ASSERT_EQ_INT(ferry__hash_cache_add(c, &l), 0); /* the window's lines, spooled */
  ASSERT_EQ_INT(ferry__hash_cache_save(c, &l, l.n_e), 0);
  ferry__hash_cache_free(c);
  struct ferry__upload_file copy = l.v[0];
  memset(copy.hash, 0, sizeof(copy.hash));
  copy.hashed = 0;
  ASSERT_EQ_INT(ferry__hash_cache_open(cache, root, &c), 0);
  ferry__hash_cache_lookup(c, local, &copy);
  ASSERT_EQ_INT(copy.hashed, 1);
  ASSERT_EQ_STR(ferry__hub_hex(copy.hash, 32, text),
                "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
  copy.hashed = 0;
  copy.lfs = 0; /* the cache has no git sha1 of it: hashed again */
  ferry__hash_cache_lookup(c, local, &copy);
  ASSERT_EQ_INT(copy.hashed, 0);
  copy.lfs = 1;
  copy.mtime_ns++; /* touched: hashed again */
  ferry__hash_cache_lookup(c, local, &copy);
  ASSERT_EQ_INT(copy.hashed, 0);
  copy.mtime_ns--;
  /* a run that ended before a window reached the file keeps its cached line (from 0: no
   * window was added) */
  ASSERT_EQ_INT(ferry__hash_cache_save(c, &l, 0), 0);
  ferry__hash_cache_free(c);
  ASSERT_EQ_INT(ferry__hash_cache_open(cache, root, &c), 0);
  ferry__hash_cache_lookup(c, local, &copy);
  ASSERT_EQ_INT(copy.hashed, 1);
  /* ... unless the file changed since: the walk's mtime no longer matches the line */
  l.e[0].mtime_ns++;
  ASSERT_EQ_INT(ferry__hash_cache_save(c, &l, 0), 0);
  ferry__hash_cache_free(c);
  l.e[0].mtime_ns--;
  ASSERT_EQ_INT(ferry__hash_cache_open(cache, root, &c), 0);
  copy.hashed = 0;
  ferry__hash_cache_lookup(c, local, &copy);
  ASSERT_EQ_INT(copy.hashed, 0);
  ferry__hash_cache_free(c);
  /* git blob SHA-1 of a regular file, as `git hash-object` gives it */
  char hex[65];
  ASSERT_EQ_INT(ferry__hash_file(local, 1, 6, NULL, NULL, hex), 0);
  ASSERT_EQ_STR(hex, "ce013625030ba8dba906f756967f9e9ca394464a");
  /* a size that no longer matches: the file changed */
  ASSERT_EQ_INT(ferry__hash_file(local, 0, 7, NULL, NULL, hex), FERRY_E_CHANGED);
  ferry__upload_list_free(&l);
}

/* preupload's oids are kept as bytes: a 40-hex blob id or a 64-hex sha256; anything else
 * (upper case, odd length, not hex) is kept as nothing, so the file counts as changed. */
void test_hub_upload_preupload_oids(void) {
  struct ferry__upload_file v[5] = {{.path = "a", .size = 1}, {.path = "b", .size = 1},
                                    {.path = "c", .size = 1}, {.path = "d", .size = 1},
                                    {.path = "e", .size = 0}};
  struct ferry__upload_list l = {.v = v, .n = 5};
  const char *body =
      "{\"files\":["
      "{\"path\":\"a\",\"uploadMode\":\"regular\",\"shouldIgnore\":false,"
      "\"oid\":\"ce013625030ba8dba906f756967f9e9ca394464a\"},"
      "{\"path\":\"b\",\"uploadMode\":\"lfs\",\"shouldIgnore\":true,"
      "\"oid\":\"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03\"},"
      "{\"path\":\"c\",\"uploadMode\":\"regular\",\"shouldIgnore\":false,"
      "\"oid\":\"CE013625030BA8DBA906F756967F9E9CA394464A\"},"
      "{\"path\":\"d\",\"uploadMode\":\"regular\",\"shouldIgnore\":false,"
      "\"oid\":\"ce013625030ba8dba906f756967f9e9ca394464\"},"
      "{\"path\":\"e\",\"uploadMode\":\"lfs\",\"shouldIgnore\":false}]}";
  char why[256] = "", hex[65];
  ASSERT_EQ_INT(ferry__preupload_parse(body, strlen(body), &l, 0, 5, why, sizeof(why)), 0);
  ASSERT_EQ_INT(v[0].remote_oid_len, 20);
  ASSERT_EQ_STR(ferry__hub_hex(v[0].remote_oid, 20, hex),
                "ce013625030ba8dba906f756967f9e9ca394464a");
  ASSERT_EQ_INT(v[0].lfs, 0);
  ASSERT_EQ_INT(v[1].remote_oid_len, 32);
  ASSERT_EQ_STR(ferry__hub_hex(v[1].remote_oid, 32, hex),
                "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
  ASSERT_EQ_INT(v[1].lfs, 1);
  ASSERT_EQ_INT(v[1].ignored, 1);
  ASSERT_EQ_INT(v[2].remote_oid_len, 0);
  ASSERT_EQ_INT(v[3].remote_oid_len, 0);
  ASSERT_EQ_INT(v[4].remote_oid_len, 0);
  ASSERT_EQ_INT(v[4].lfs, 0); /* an empty file is always regular */
  /* the hex helpers: exact length and lower case only */
  unsigned char raw[20];
  ASSERT_EQ_INT(ferry__hub_unhex("00ff", raw, 2), 0);
  ASSERT_EQ_INT(raw[0], 0);
  ASSERT_EQ_INT(raw[1], 255);
  ASSERT_EQ_INT(ferry__hub_unhex("00ff0", raw, 2), -1);
  ASSERT_EQ_INT(ferry__hub_unhex("00fg", raw, 2), -1);
  ASSERT_EQ_STR(ferry__hub_hex(raw, 0, hex), "");
}
