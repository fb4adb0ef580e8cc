/* Unit tests for engine/hub/cache.c: the cache layout of hub-protocol.md §3 byte for byte,
 * checked on real files in the test's temporary folder. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "assert.h"
#include "test_hub_env.h"

#define COMMIT "0123456789abcdef0123456789abcdef01234567"
#define COMMIT2 "89abcdef0123456789abcdef0123456789abcdef"
#define SHA256 "403450e234d65943a7dcf7e05a771ce3c92faa84dd07db4ac20f592037a1e4bd"

static char *tmp_path(const char *rel) {
  char *p = NULL;
  ASSERT_EQ_INT(ferry__hub_fmt(&p, 8192, "%s/%s", ferry_unit_tmpdir(), rel), 0);
  return p;
}

/* The whole content of a file ("" when empty), or NULL when it does not exist. */
static char *slurp(const char *path) {
  char *text = NULL;
  size_t len;
  int found = 0;
  ASSERT_EQ_INT(ferry__read_small(path, 1 << 20, &text, &len, &found), 0);
  return found ? text : NULL;
}

/* Number of entries in a folder other than "." and "..". */
static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  ASSERT_NOT_NULL(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

static struct ferry__hub_repo repo(const char *arg, const char *type) {
  struct ferry__hub_repo r;
  ASSERT_EQ_INT(ferry__hub_repo_parse(arg, type, &r, NULL, 0), 0);
  return r;
}

void test_hub_cache_path_check(void) {
  const char *ok[] = {"a.txt", "dir/sub/\xc3\xbc.bin", "a..b", ".hidden", "a/.b/c", "ab:c", "a/C:b",
                      "with space/\xe6\x97\xa5\xe6\x9c\xac.txt", "..a", "a.."};
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    TEST_NOTE("\"%s\"", ok[i]);
    ASSERT_EQ_INT(ferry__hub_path_check(ok[i], NULL, 0), 0);
  }
  struct {
    const char *path, *why;
  } bad[] = {
      {"", "empty"},           {"/etc/passwd", "absolute"}, {"C:x", "drive"},
      {"c:/x", "drive"},       {"x:y", "drive"},            {"a\\b", "backslash"},       {"..\\x", "backslash"},
      {"../x", "'..'"},        {"a/../b", "'..'"},          {"a/..", "'..'"},
      {"..", "'..'"},          {"./a", "'.'"},              {"a/./b", "'.'"},
      {"a//b", "empty part"},  {"a/", "empty part"},        {"a\x01" "b", "control"},
      {"a\nb", "control"},     {"a\x7f", "control"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char why[256] = "";
    TEST_NOTE("\"%s\"", bad[i].path);
    ASSERT_EQ_INT(ferry__hub_path_check(bad[i].path, why, sizeof(why)), FERRY_E_PROTOCOL);
    if (!strstr(why, bad[i].why))
      ferry_unit_fail(__FILE__, __LINE__, "reason \"%s\" lacks \"%s\"", why, bad[i].why);
  }
  static char longp[FERRY__HUB_PATH_MAX + 2];
  memset(longp, 'a', sizeof(longp) - 1);
  ASSERT_EQ_INT(ferry__hub_path_check(longp, NULL, 0), FERRY_E_PROTOCOL);
}

static void root_is(struct ferry__hub_env env, const char *cache_dir, const char *want) {
  char *out = NULL;
  ASSERT_EQ_INT(ferry__hub_cache_root(&env, cache_dir, &out), 0);
  ASSERT_EQ_STR(out, want);
  free(out);
}

void test_hub_cache_roots(void) {
  /* precedence: HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME, HOME */
  root_is(TEST_HUB_ENV("HF_HUB_CACHE=/c1", "HUGGINGFACE_HUB_CACHE=/c2", "HF_HOME=/h",
                       "XDG_CACHE_HOME=/x", "HOME=/home/u"),
          NULL, "/c1");
  root_is(TEST_HUB_ENV("HUGGINGFACE_HUB_CACHE=/c2", "HF_HOME=/h", "HOME=/home/u"), NULL, "/c2");
  root_is(TEST_HUB_ENV("HF_HOME=/h", "XDG_CACHE_HOME=/x", "HOME=/home/u"), NULL, "/h/hub");
  root_is(TEST_HUB_ENV("XDG_CACHE_HOME=/x", "HOME=/home/u"), NULL, "/x/huggingface/hub");
  root_is(TEST_HUB_ENV("HOME=/home/u"), NULL, "/home/u/.cache/huggingface/hub");
  root_is(TEST_HUB_ENV("HOME=/home/u/"), NULL, "/home/u/.cache/huggingface/hub");
  /* empty values count as unset */
  root_is(TEST_HUB_ENV("HF_HUB_CACHE=", "HF_HOME=", "XDG_CACHE_HOME=", "HOME=/home/u"), NULL,
          "/home/u/.cache/huggingface/hub");
  /* ~ and $VARS are expanded; unknown variables stay */
  root_is(TEST_HUB_ENV("HF_HOME=~/hf", "HOME=/home/u"), NULL, "/home/u/hf/hub");
  root_is(TEST_HUB_ENV("HF_HUB_CACHE=$BASE/cache/${SUB}x/$NOPE/$", "BASE=/b", "SUB=s"), NULL,
          "/b/cache/sx/$NOPE/$");
  root_is(TEST_HUB_ENV("HF_HUB_CACHE=~user/x", "HOME=/home/u"), NULL, "~user/x");
  /* --cache-dir wins, used as given */
  root_is(TEST_HUB_ENV("HF_HUB_CACHE=/c1", "HOME=/home/u"), "/mine/$X", "/mine/$X");
  root_is(TEST_HUB_ENV("HF_HUB_CACHE=/c1", "HOME=/home/u"), "rel/dir", "rel/dir");
  root_is(TEST_HUB_ENV("HF_HUB_CACHE=/c1", "HOME=/home/u"), "", "/c1");
  char *x = NULL;
  struct ferry__hub_env ex = TEST_HUB_ENV("HOME=/home/u", "A=1");
  ASSERT_EQ_INT(ferry__hub_expand_path(&ex, "~", &x), 0);
  ASSERT_EQ_STR(x, "/home/u");
  free(x);
  ASSERT_EQ_INT(ferry__hub_expand_path(&ex, "/p/~/$A${A}$A_b${}${A", &x), 0);
  ASSERT_EQ_STR(x, "/p/~/11$A_b${}${A"); /* $A_b names A_b; ${} and an open ${ stay */
  free(x);
  char *home = NULL;
  struct ferry__hub_env env = TEST_HUB_ENV("XDG_CACHE_HOME=/x");
  ASSERT_EQ_INT(ferry__hub_home(&env, &home), 0);
  ASSERT_EQ_STR(home, "/x/huggingface");
  free(home);
}

void test_hub_cache_names(void) {
  char name[64];
  struct ferry__hub_repo r = repo("gpt2", NULL);
  ASSERT_EQ_INT(ferry__hub_repo_folder_name(&r, name, sizeof(name)), 0);
  ASSERT_EQ_STR(name, "models--gpt2");
  r = repo("google/bert-base", NULL);
  ASSERT_EQ_INT(ferry__hub_repo_folder_name(&r, name, sizeof(name)), 0);
  ASSERT_EQ_STR(name, "models--google--bert-base");
  r = repo("datasets/org/ds", NULL);
  ASSERT_EQ_INT(ferry__hub_repo_folder_name(&r, name, sizeof(name)), 0);
  ASSERT_EQ_STR(name, "datasets--org--ds");
  r = repo("org/app", "space");
  ASSERT_EQ_INT(ferry__hub_repo_folder_name(&r, name, sizeof(name)), 0);
  ASSERT_EQ_STR(name, "spaces--org--app");
  ASSERT_EQ_INT(ferry__hub_repo_folder_name(&r, name, 16), FERRY_E_INVAL); /* does not fit */
  ASSERT_EQ_INT(ferry__hub_repo_folder_name(&r, name, 17), 0);

  char *p = NULL;
  r = repo("org/name", NULL);
  ASSERT_EQ_INT(ferry__hub_repo_dir("/c", &r, &p), 0);
  ASSERT_EQ_STR(p, "/c/models--org--name");
  free(p);
  ASSERT_EQ_INT(ferry__hub_blob_path("/c/models--org--name", SHA256, &p), 0);
  ASSERT_EQ_STR(p, "/c/models--org--name/blobs/" SHA256);
  free(p);
  ASSERT_EQ_INT(ferry__hub_blob_path("/c/r", "\"quoted\"", &p), FERRY_E_INVAL); /* not normalized */
  ASSERT_EQ_INT(ferry__hub_snapshot_path("/c/r", COMMIT, NULL, &p), 0);
  ASSERT_EQ_STR(p, "/c/r/snapshots/" COMMIT);
  free(p);
  ASSERT_EQ_INT(ferry__hub_snapshot_path("/c/r", COMMIT, "a/b/\xc3\xa9.txt", &p), 0);
  ASSERT_EQ_STR(p, "/c/r/snapshots/" COMMIT "/a/b/\xc3\xa9.txt");
  free(p);
  ASSERT_EQ_INT(ferry__hub_snapshot_path("/c/r", COMMIT, "../x", &p), FERRY_E_INVAL);
  ASSERT_EQ_INT(ferry__hub_snapshot_path("/c/r", "..", "x", &p), FERRY_E_INVAL);
  ASSERT_EQ_INT(ferry__hub_lock_path("/c", &r, SHA256, &p), 0);
  ASSERT_EQ_STR(p, "/c/.locks/models--org--name/" SHA256 ".ferry-lock");
  free(p);
  ASSERT_EQ_INT(ferry__hub_tree_cache_path("/c/r", COMMIT, &p), 0);
  ASSERT_EQ_STR(p, "/c/r/trees/" COMMIT ".json");
  free(p);
  ASSERT_EQ_INT(ferry__hub_tree_cache_path("/c/r", "main", &p), FERRY_E_INVAL);
}

static void etag_is(const char *in, const char *want) {
  char out[FERRY__HUB_ETAG_MAX + 1];
  TEST_NOTE("etag %s", in);
  ASSERT_EQ_INT(ferry__hub_etag_normalize(in, out, sizeof(out), NULL, 0), 0);
  ASSERT_EQ_STR(out, want);
}

void test_hub_cache_etag(void) {
  etag_is("\"d7edf6bd2a681fb0175f7735299831ee1b22b812\"", "d7edf6bd2a681fb0175f7735299831ee1b22b812");
  etag_is("W/\"" SHA256 "\"", SHA256);
  etag_is(SHA256, SHA256);
  etag_is("\"\"abc\"\"", "abc");  /* strip('"') removes every quote at both ends */
  etag_is("WW//\"abc\"", "abc");  /* lstrip("W/") removes any run of 'W' and '/' */
  etag_is("abc-1.2_3", "abc-1.2_3");
  const char *bad[] = {"", "\"\"", "W/\"\"", "\"a/b\"", "\"..\"", "\".\"", "a b", "a\\b", "\"a\"b\"",
                       NULL};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char out[FERRY__HUB_ETAG_MAX + 1], why[128] = "";
    TEST_NOTE("bad etag %s", bad[i] ? bad[i] : "(null)");
    ASSERT_EQ_INT(ferry__hub_etag_normalize(bad[i], out, sizeof(out), why, sizeof(why)),
                  FERRY_E_PROTOCOL);
    ASSERT_TRUE(why[0] != 0);
  }
  char longe[FERRY__HUB_ETAG_MAX + 2], out[FERRY__HUB_ETAG_MAX + 1];
  memset(longe, 'a', sizeof(longe) - 1), longe[sizeof(longe) - 1] = 0;
  ASSERT_EQ_INT(ferry__hub_etag_normalize(longe, out, sizeof(out), NULL, 0), FERRY_E_PROTOCOL);
  ASSERT_EQ_INT(ferry__hub_etag_normalize("abcdef", out, 4, NULL, 0), FERRY_E_PROTOCOL);
}

/* Makes snapshots/<c>/<path> a symlink with ferry__hub_symlink_target and checks that it
 * resolves to blobs/<etag>. */
static void check_symlink(const char *repo_dir, const char *path, const char *want_target) {
  char *target = NULL, *blob = NULL, *link = NULL;
  TEST_NOTE("symlink for \"%s\"", path);
  ASSERT_EQ_INT(ferry__hub_symlink_target(path, SHA256, &target), 0);
  ASSERT_EQ_STR(target, want_target);
  ASSERT_EQ_INT(ferry__hub_blob_path(repo_dir, SHA256, &blob), 0);
  ASSERT_EQ_INT(ferry__write_atomic(blob, "blob", 4, 0644), 0);
  ASSERT_EQ_INT(ferry__hub_snapshot_path(repo_dir, COMMIT, path, &link), 0);
  char dir[4096];
  snprintf(dir, sizeof(dir), "%s", link);
  *strrchr(dir, '/') = 0;
  ASSERT_EQ_INT(ferry__mkdirs(dir), 0);
  ASSERT_EQ_INT(symlink(target, link), 0);
  char real_link[PATH_MAX], real_blob[PATH_MAX];
  ASSERT_NOT_NULL(realpath(link, real_link));
  ASSERT_NOT_NULL(realpath(blob, real_blob));
  ASSERT_EQ_STR(real_link, real_blob);
  char *content = slurp(link);
  ASSERT_EQ_STR(content, "blob");
  free(content);
  free(target);
  free(blob);
  free(link);
}

void test_hub_cache_symlink_target(void) {
  char *repo_dir = tmp_path("hub/models--org--name");
  check_symlink(repo_dir, "config.json", "../../blobs/" SHA256);
  check_symlink(repo_dir, "a/b/c.bin", "../../../../blobs/" SHA256);
  check_symlink(repo_dir, "\xe6\x97\xa5\xe6\x9c\xac/\xc3\xa9t\xc3\xa9 1.txt", "../../../blobs/" SHA256);
  char *t = NULL;
  ASSERT_EQ_INT(ferry__hub_symlink_target("../x", SHA256, &t), FERRY_E_INVAL);
  ASSERT_EQ_INT(ferry__hub_symlink_target("x", "a/b", &t), FERRY_E_INVAL);
  ASSERT_TRUE(t == NULL);
  free(repo_dir);
}

void test_hub_cache_write_atomic(void) {
  char *path = tmp_path("a/b/c/file.txt"), *dir = tmp_path("a/b/c");
  ASSERT_EQ_INT(ferry__write_atomic(path, "one", 3, 0644), 0);
  char *s = slurp(path);
  ASSERT_EQ_STR(s, "one");
  free(s);
  ASSERT_EQ_INT(ferry__write_atomic(path, "second", 6, 0644), 0);
  s = slurp(path);
  ASSERT_EQ_STR(s, "second");
  free(s);
  ASSERT_EQ_INT(count_entries(dir), 1); /* no temp file left behind */
  /* a folder where the file should go: the write fails and leaves no temp file */
  char *blocked = tmp_path("a/b/c/sub");
  ASSERT_EQ_INT(mkdir(blocked, 0755), 0);
  ASSERT_EQ_INT(ferry__write_atomic(blocked, "x", 1, 0644), FERRY_E_IO);
  ASSERT_EQ_INT(count_entries(dir), 2);
  /* reading: too large, missing */
  char *text = NULL;
  size_t len;
  int found = 1;
  ASSERT_EQ_INT(ferry__read_small(path, 5, &text, &len, &found), FERRY_E_PROTOCOL);
  ASSERT_EQ_INT(ferry__read_small(path, 6, &text, &len, &found), 0);
  ASSERT_EQ_INT(found, 1);
  ASSERT_EQ_U64(len, 6);
  free(text);
  char *missing = tmp_path("nope/x");
  ASSERT_EQ_INT(ferry__read_small(missing, 6, &text, &len, &found), 0);
  ASSERT_EQ_INT(found, 0);
  ASSERT_TRUE(text == NULL);
  free(path), free(dir), free(blocked), free(missing);
}

void test_hub_cache_refs(void) {
  char *repo_dir = tmp_path("models--org--name");
  ASSERT_EQ_INT(ferry__hub_ref_write(repo_dir, "main", COMMIT), 0);
  char *p = tmp_path("models--org--name/refs/main");
  char *s = slurp(p);
  ASSERT_EQ_STR(s, COMMIT); /* exactly 40 bytes: no trailing newline */
  free(s);
  struct stat st1, st2;
  ASSERT_EQ_INT(stat(p, &st1), 0);
  ASSERT_EQ_U64(st1.st_size, 40);
  /* unchanged: not rewritten (same inode) */
  ASSERT_EQ_INT(ferry__hub_ref_write(repo_dir, "main", COMMIT), 0);
  ASSERT_EQ_INT(stat(p, &st2), 0);
  ASSERT_EQ_U64(st1.st_ino, st2.st_ino);
  /* changed: replaced */
  ASSERT_EQ_INT(ferry__hub_ref_write(repo_dir, "main", COMMIT2), 0);
  s = slurp(p);
  ASSERT_EQ_STR(s, COMMIT2);
  free(s);
  free(p);
  /* refs/pr/1 makes nested folders */
  ASSERT_EQ_INT(ferry__hub_ref_write(repo_dir, "refs/pr/1", COMMIT), 0);
  p = tmp_path("models--org--name/refs/refs/pr/1");
  s = slurp(p);
  ASSERT_EQ_STR(s, COMMIT);
  free(s);
  char c[41];
  int found = 0;
  ASSERT_EQ_INT(ferry__hub_ref_read(repo_dir, "refs/pr/1", c, &found), 0);
  ASSERT_EQ_INT(found, 1);
  ASSERT_EQ_STR(c, COMMIT);
  /* a ref written by another tool with a newline still reads */
  ASSERT_EQ_INT(ferry__write_atomic(p, COMMIT2 "\n", 41, 0644), 0);
  ASSERT_EQ_INT(ferry__hub_ref_read(repo_dir, "refs/pr/1", c, &found), 0);
  ASSERT_EQ_STR(c, COMMIT2);
  /* garbage is an error, a missing ref is not found */
  ASSERT_EQ_INT(ferry__write_atomic(p, "nonsense", 8, 0644), 0);
  ASSERT_EQ_INT(ferry__hub_ref_read(repo_dir, "refs/pr/1", c, &found), FERRY_E_PROTOCOL);
  ASSERT_EQ_INT(found, 0);
  ASSERT_EQ_INT(ferry__hub_ref_read(repo_dir, "v9", c, &found), 0);
  ASSERT_EQ_INT(found, 0);
  /* unsafe revisions and non-commits are refused before any file is touched */
  ASSERT_EQ_INT(ferry__hub_ref_write(repo_dir, "../escape", COMMIT), FERRY_E_INVAL);
  ASSERT_EQ_INT(ferry__hub_ref_write(repo_dir, "main", "abc"), FERRY_E_INVAL);
  ASSERT_EQ_INT(ferry__hub_ref_read(repo_dir, "a/../../b", c, &found), FERRY_E_INVAL);
  char *escape = tmp_path("models--org--name/escape");
  ASSERT_TRUE(access(escape, F_OK) != 0);
  free(escape), free(p), free(repo_dir);
}

void test_hub_cache_no_exist(void) {
  char *repo_dir = tmp_path("models--org--name");
  int exists = 1;
  ASSERT_EQ_INT(ferry__hub_no_exist_check(repo_dir, COMMIT, "sub/missing.txt", &exists), 0);
  ASSERT_EQ_INT(exists, 0);
  ASSERT_EQ_INT(ferry__hub_no_exist_mark(repo_dir, COMMIT, "sub/missing.txt"), 0);
  ASSERT_EQ_INT(ferry__hub_no_exist_check(repo_dir, COMMIT, "sub/missing.txt", &exists), 0);
  ASSERT_EQ_INT(exists, 1);
  char *p = tmp_path("models--org--name/.no_exist/" COMMIT "/sub/missing.txt");
  struct stat st;
  ASSERT_EQ_INT(stat(p, &st), 0);
  ASSERT_EQ_U64(st.st_size, 0);
  ASSERT_EQ_INT(ferry__hub_no_exist_check(repo_dir, COMMIT2, "sub/missing.txt", &exists), 0);
  ASSERT_EQ_INT(exists, 0);
  ASSERT_EQ_INT(ferry__hub_no_exist_mark(repo_dir, "main", "x"), FERRY_E_INVAL);
  ASSERT_EQ_INT(ferry__hub_no_exist_mark(repo_dir, COMMIT, "../x"), FERRY_E_INVAL);
  free(p), free(repo_dir);
}

void test_hub_cache_cachedir_tag(void) {
  const char *want =
      "Signature: 8a477f597d28d172789f06886806bc55\n"
      "# This file is a cache directory tag created by huggingface_hub.\n"
      "# For information about cache directory tags, see:\n"
      "#\thttps://bford.info/cachedir/\n";
  ASSERT_EQ_STR(ferry__hub_cachedir_tag, want);
  char *root = tmp_path("hub"), *tag = tmp_path("hub/CACHEDIR.TAG");
  ASSERT_EQ_INT(ferry__hub_cachedir_tag_ensure(root), 0);
  char *s = slurp(tag);
  ASSERT_EQ_STR(s, want);
  free(s);
  /* an existing tag is never rewritten */
  ASSERT_EQ_INT(ferry__write_atomic(tag, "custom", 6, 0644), 0);
  ASSERT_EQ_INT(ferry__hub_cachedir_tag_ensure(root), 0);
  s = slurp(tag);
  ASSERT_EQ_STR(s, "custom");
  free(s), free(root), free(tag);
}

void test_hub_cache_symlink_probe(void) {
  char *root = tmp_path("hub");
  int supported = -1;
  struct ferry__hub_env none = TEST_HUB_ENV("HOME=/nowhere");
  ASSERT_EQ_INT(ferry__hub_symlinks_supported(&none, root, &supported), 0);
  ASSERT_EQ_INT(supported, 1); /* the test folder is on a POSIX file system */
  ASSERT_EQ_INT(count_entries(root), 0); /* the probe cleaned up */
  const char *off[] = {"HF_HUB_DISABLE_SYMLINKS=1", "HF_HUB_DISABLE_SYMLINKS=yes",
                       "HF_HUB_DISABLE_SYMLINKS=True", "HF_HUB_DISABLE_SYMLINKS=ON"};
  for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
    struct ferry__hub_env env = {test_hub_env_get, (void *)(const char *const[]){off[i], NULL}};
    TEST_NOTE("%s", off[i]);
    ASSERT_EQ_INT(ferry__hub_symlinks_supported(&env, root, &supported), 0);
    ASSERT_EQ_INT(supported, 0);
  }
  struct ferry__hub_env no = TEST_HUB_ENV("HF_HUB_DISABLE_SYMLINKS=0");
  ASSERT_EQ_INT(ferry__hub_symlinks_supported(&no, root, &supported), 0);
  ASSERT_EQ_INT(supported, 1);
  /* a cache root that cannot be created is an error, not "supported" */
  char *file = tmp_path("plainfile");
  ASSERT_EQ_INT(ferry__write_atomic(file, "x", 1, 0644), 0);
  char *under = tmp_path("plainfile/hub");
  supported = -1;
  ASSERT_EQ_INT(ferry__hub_symlinks_supported(&none, under, &supported), FERRY_E_IO);
  ASSERT_EQ_INT(supported, 0);
  free(root), free(file), free(under);
}

void test_hub_cache_local_dir(void) {
  char *local = tmp_path("out");
  ASSERT_EQ_INT(ferry__hub_local_dir_init(local), 0);
  char *gi = tmp_path("out/.cache/huggingface/.gitignore");
  char *tag = tmp_path("out/.cache/huggingface/CACHEDIR.TAG");
  char *s = slurp(gi);
  ASSERT_EQ_STR(s, "*");
  free(s);
  s = slurp(tag);
  ASSERT_EQ_STR(s, ferry__hub_cachedir_tag);
  free(s);

  char *mp = NULL;
  ASSERT_EQ_INT(ferry__hub_local_meta_path(local, "sub/dir/file.bin", &mp), 0);
  char *want_mp = tmp_path("out/.cache/huggingface/download/sub/dir/file.bin.metadata");
  ASSERT_EQ_STR(mp, want_mp);
  free(mp);
  ASSERT_EQ_INT(ferry__hub_local_meta_path(local, "../x", &mp), FERRY_E_INVAL);
  ASSERT_TRUE(mp == NULL);
  /* the file itself, then its metadata stamped now */
  char *file = tmp_path("out/sub/dir/file.bin");
  ASSERT_EQ_INT(ferry__write_atomic(file, "data", 4, 0644), 0);
  ASSERT_EQ_INT(ferry__hub_local_meta_write(local, "sub/dir/file.bin", COMMIT, SHA256, 1712656091.5), 0);
  s = slurp(want_mp);
  ASSERT_EQ_STR(s, COMMIT "\n" SHA256 "\n1712656091.5\n");
  free(s);
  ASSERT_EQ_INT(ferry__hub_local_meta_write(local, "sub/dir/file.bin", COMMIT, SHA256, 1712656091.0), 0);
  s = slurp(want_mp);
  ASSERT_EQ_STR(s, COMMIT "\n" SHA256 "\n1712656091.0\n"); /* as Python's str(float) */
  free(s);
  double now = (double)time(NULL) + 0.25;
  ASSERT_EQ_INT(ferry__hub_local_meta_write(local, "sub/dir/file.bin", COMMIT, SHA256, now), 0);
  struct ferry__hub_local_meta m;
  int found = 0;
  ASSERT_EQ_INT(ferry__hub_local_meta_read(local, "sub/dir/file.bin", &m, &found), 0);
  ASSERT_EQ_INT(found, 1);
  ASSERT_EQ_STR(m.commit, COMMIT);
  ASSERT_EQ_STR(m.etag, SHA256);
  ASSERT_TRUE(m.timestamp == now);
  ASSERT_EQ_INT(m.fresh, 1);
  /* metadata older than the file (minus 1 s) is not fresh */
  ASSERT_EQ_INT(ferry__hub_local_meta_write(local, "sub/dir/file.bin", COMMIT, SHA256, now - 100), 0);
  ASSERT_EQ_INT(ferry__hub_local_meta_read(local, "sub/dir/file.bin", &m, &found), 0);
  ASSERT_EQ_INT(found, 1);
  ASSERT_EQ_INT(m.fresh, 0);
  /* malformed metadata is deleted and reported as absent */
  const char *broken[] = {COMMIT "\n" SHA256 "\n", COMMIT "\n" SHA256 "\nsoon\n", "", "\n\n\n"};
  for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
    TEST_NOTE("metadata case %zu", i);
    ASSERT_EQ_INT(ferry__write_atomic(want_mp, broken[i], strlen(broken[i]), 0644), 0);
    ASSERT_EQ_INT(ferry__hub_local_meta_read(local, "sub/dir/file.bin", &m, &found), 0);
    ASSERT_EQ_INT(found, 0);
    ASSERT_TRUE(access(want_mp, F_OK) != 0);
  }
  /* whitespace around the values is stripped, like Python's readline().strip() */
  const char *spaced = " " COMMIT " \r\n\tabc\n 12.5 \n";
  ASSERT_EQ_INT(ferry__write_atomic(want_mp, spaced, strlen(spaced), 0644), 0);
  ASSERT_EQ_INT(ferry__hub_local_meta_read(local, "sub/dir/file.bin", &m, &found), 0);
  ASSERT_EQ_INT(found, 1);
  ASSERT_EQ_STR(m.commit, COMMIT);
  ASSERT_EQ_STR(m.etag, "abc");
  ASSERT_TRUE(m.timestamp == 12.5);
  /* no metadata at all */
  ASSERT_EQ_INT(ferry__hub_local_meta_read(local, "other.bin", &m, &found), 0);
  ASSERT_EQ_INT(found, 0);
  /* bad inputs to the writer */
  ASSERT_EQ_INT(ferry__hub_local_meta_write(local, "x", "main", SHA256, 1.0), FERRY_E_INVAL);
  ASSERT_EQ_INT(ferry__hub_local_meta_write(local, "x", COMMIT, "\"q\"", 1.0), FERRY_E_INVAL);
  free(local), free(gi), free(tag), free(mp), free(want_mp), free(file);
}
