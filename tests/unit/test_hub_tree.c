/* Unit tests for engine/hub/tree.c: tree pages and repo info (hub-protocol.md §4.4), Link
 * headers (§1.5) and the trees/<commit>.json cache (§3.5). */
#include <stdlib.h>
#include <libgen.h>
#include <stdio.h>
#include <strings.h>

#include "assert.h"
#include "test_hub_env.h"

/* An entry's oid as text; two in one expression take turns with two buffers. */
static const char *oid_text(const struct ferry__hub_entry *e) {
  static char buf[2][FERRY__HUB_OID_TEXT];
  static int next;
  next ^= 1;
  return ferry__hub_entry_oid(e, buf[next]);
}

#define COMMIT "0123456789abcdef0123456789abcdef01234567"
#define SHA256 "403450e234d65943a7dcf7e05a771ce3c92faa84dd07db4ac20f592037a1e4bd"
#define SHA1 "d7edf6bd2a681fb0175f7735299831ee1b22b812"
#define ZZ40 "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"

static const char page1[] =
    "[{\"type\":\"file\",\"oid\":\"" SHA1 "\",\"size\":1432,\"path\":\"config.json\"},"
    " {\"type\":\"directory\",\"oid\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"size\":0,\"path\":\"sub\"},"
    " {\"type\":\"file\",\"oid\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"size\":336592329,"
    "  \"lfs\":{\"oid\":\"" SHA256 "\",\"size\":336592329,\"pointerSize\":134},"
    "  \"xetHash\":\"cccc\",\"path\":\"sub/model.safetensors\","
    "  \"lastCommit\":{\"id\":\"" COMMIT "\",\"title\":\"t\",\"date\":\"2024-01-01T00:00:00.000Z\"},"
    "  \"securityFileStatus\":{\"status\":\"safe\"}}]";

static const char page2[] =
    "[{\"type\":\"file\",\"oid\":\"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\",\"size\":3,"
    "\"path\":\"\\u65e5\\u672c/\\u00e9t\\u00e9 1.txt\"},"
    " {\"type\":\"file\",\"oid\":\"ffffffffffffffffffffffffffffffffffffffff\",\"size\":0,\"path\":\"empty\","
    "  \"lfs\":null}]";

static void parse_pages(struct ferry__hub_tree *t) {
  char why[256] = "";
  ferry__hub_tree_init(t);
  ASSERT_EQ_INT(ferry__hub_tree_parse_page(page1, strlen(page1), t, why, sizeof(why)), 0);
  ASSERT_EQ_INT(ferry__hub_tree_parse_page(page2, strlen(page2), t, why, sizeof(why)), 0);
  ASSERT_EQ_U64(t->n, 5);
}

void test_hub_tree_page(void) {
  struct ferry__hub_tree t;
  parse_pages(&t);
  ASSERT_EQ_INT(t.v[0].is_dir, 0);
  ASSERT_EQ_STR(t.v[0].path, "config.json");
  ASSERT_EQ_U64(t.v[0].size, 1432);
  ASSERT_EQ_STR(oid_text(&t.v[0]), SHA1);
  ASSERT_EQ_INT(t.v[0].has_lfs, 0);
  ASSERT_EQ_STR(ferry__hub_entry_xet_hash(&t.v[0]), "");
  ASSERT_EQ_INT(t.v[1].is_dir, 1);
  ASSERT_EQ_STR(t.v[1].path, "sub");
  ASSERT_EQ_STR(t.v[2].path, "sub/model.safetensors");
  ASSERT_EQ_U64(t.v[2].size, 336592329);
  ASSERT_EQ_INT(t.v[2].has_lfs, 1);
  ASSERT_EQ_STR(ferry__hub_entry_lfs_oid(&t.v[2]), SHA256);
  ASSERT_EQ_U64(ferry__hub_entry_lfs_size(&t.v[2]), 336592329);
  ASSERT_EQ_STR(ferry__hub_entry_xet_hash(&t.v[2]), "cccc");
  ASSERT_EQ_STR(t.v[3].path, "\xe6\x97\xa5\xe6\x9c\xac/\xc3\xa9t\xc3\xa9 1.txt");
  ASSERT_EQ_INT(t.v[4].has_lfs, 0);
  ASSERT_EQ_U64(t.v[4].size, 0);
  ferry__hub_tree_free(&t);
  ASSERT_EQ_U64(t.n, 0);
  /* an empty page is fine */
  ferry__hub_tree_init(&t);
  ASSERT_EQ_INT(ferry__hub_tree_parse_page("[]", 2, &t, NULL, 0), 0);
  ASSERT_EQ_U64(t.n, 0);
  ferry__hub_tree_free(&t);
}

void test_hub_tree_page_malformed(void) {
  struct {
    const char *json, *why;
  } bad[] = {
      {"", "malformed JSON"},
      {"[", "malformed JSON"},
      {"[{\"type\":\"file\"", "malformed JSON"},
      {"{\"error\":\"x\"}", "not a JSON array"},
      {"[1]", "not an object"},
      {"[{\"path\":\"a\",\"size\":1,\"oid\":\"x\"}]", "no type"},
      {"[{\"type\":\"file\",\"size\":1,\"oid\":\"x\"}]", "has no name"},
      {"[{\"type\":\"file\",\"path\":7,\"size\":1,\"oid\":\"x\"}]", "a name that is not a string"},
      {"[{\"type\":\"file\",\"path\":\"a\\u0000b\",\"size\":1,\"oid\":\"x\"}]", "malformed JSON"}, /* NUL */
      {"[{\"type\":\"file\",\"path\":\"a\",\"oid\":\"x\"}]", "bad size"},
      {"[{\"type\":\"file\",\"path\":\"a\",\"size\":-1,\"oid\":\"x\"}]", "bad size"},
      {"[{\"type\":\"file\",\"path\":\"a\",\"size\":1.5,\"oid\":\"x\"}]", "bad size"},
      {"[{\"type\":\"file\",\"path\":\"a\",\"size\":\"1\",\"oid\":\"x\"}]", "bad size"},
      {"[{\"type\":\"file\",\"path\":\"a\",\"size\":1}]", "bad oid"},
      {"[{\"type\":\"file\",\"path\":\"a\",\"size\":1,\"oid\":\"x\"}]", "bad oid"},
      {"[{\"type\":\"file\",\"path\":\"a\",\"size\":1,\"oid\":\"" ZZ40 "\"}]", "bad oid"},
      {"[{\"type\":\"file\",\"path\":\"a\",\"size\":1,\"oid\":\"../../../../x\"}]", "bad oid"},
      {"[{\"type\":\"file\",\"path\":\"a\",\"size\":1,\"oid\":\"" SHA256 "\"}]", "bad oid"},
      {"[{\"type\":\"file\",\"path\":\"a\",\"size\":1,\"oid\":\"" SHA1 "\",\"lfs\":{\"oid\":\"zz\",\"size\":1}}]", "bad lfs"},
      {"[{\"type\":\"file\",\"path\":\"a\",\"size\":1,\"oid\":\"" SHA1 "\",\"lfs\":{\"oid\":\"" SHA256 "\"}}]", "bad lfs"},
      {"[{\"type\":\"file\",\"path\":\"a\",\"size\":1,\"oid\":\"" SHA1 "\",\"lfs\":[]}]", "bad lfs"},
      {"[{\"type\":\"file\",\"path\":\"a\",\"size\":1,\"oid\":\"" SHA1 "\",\"xetHash\":5}]", "bad xetHash"},
      {"[{\"type\":\"file\",\"path\":\"../etc/passwd\",\"size\":1,\"oid\":\"x\"}]", "'..'"},
      {"[{\"type\":\"file\",\"path\":\"/etc/passwd\",\"size\":1,\"oid\":\"x\"}]", "absolute"},
      {"[{\"type\":\"file\",\"path\":\"C:/x\",\"size\":1,\"oid\":\"x\"}]", "drive"},
      {"[{\"type\":\"file\",\"path\":\"a\\\\b\",\"size\":1,\"oid\":\"x\"}]", "backslash"},
      {"[{\"type\":\"directory\",\"path\":\"sub/..\"}]", "'..'"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct ferry__hub_tree t;
    char why[256] = "";
    TEST_NOTE("json %s", bad[i].json);
    parse_pages(&t); /* a listing in progress must come out unchanged */
    ASSERT_EQ_INT(ferry__hub_tree_parse_page(bad[i].json, strlen(bad[i].json), &t, why, sizeof(why)),
                  FERRY_E_PROTOCOL);
    if (!strstr(why, bad[i].why))
      ferry_unit_fail(__FILE__, __LINE__, "reason \"%s\" lacks \"%s\"", why, bad[i].why);
    ASSERT_EQ_U64(t.n, 5);
    ASSERT_EQ_STR(t.v[4].path, "empty");
    ferry__hub_tree_free(&t);
  }
  /* a bad entry after good ones in the same page drops the whole page */
  const char *mixed = "[{\"type\":\"file\",\"path\":\"ok\",\"size\":1,\"oid\":\"" SHA1 "\"},"
                      "{\"type\":\"file\",\"path\":\"../bad\",\"size\":1,\"oid\":\"x\"}]";
  struct ferry__hub_tree t;
  ferry__hub_tree_init(&t);
  ASSERT_EQ_INT(ferry__hub_tree_parse_page(mixed, strlen(mixed), &t, NULL, 0), FERRY_E_PROTOCOL);
  ASSERT_EQ_U64(t.n, 0);
  ferry__hub_tree_free(&t);
  /* the size cap is checked before parsing */
  char why[128] = "";
  ASSERT_EQ_INT(ferry__hub_tree_parse_page("[]", (size_t)FERRY__HUB_JSON_MAX + 1, &t, why, sizeof(why)),
                FERRY_E_PROTOCOL);
  ASSERT_TRUE(strstr(why, "too large") != NULL);
  /* unknown entry types are folders, as in huggingface_hub */
  const char *sub = "[{\"type\":\"submodule\",\"path\":\"ext\"}]";
  ASSERT_EQ_INT(ferry__hub_tree_parse_page(sub, strlen(sub), &t, NULL, 0), 0);
  ASSERT_EQ_INT(t.v[0].is_dir, 1);
  ferry__hub_tree_free(&t);
}

void test_hub_tree_duplicates(void) {
  struct ferry__hub_tree t;
  char why[256] = "";
  parse_pages(&t); /* five different paths, a folder among them */
  ASSERT_EQ_INT(ferry__hub_tree_check_unique(&t, why, sizeof(why)), 0);
  /* the same path again on a later page, even with the same content: which is the file? */
  const char *again = "[{\"type\":\"file\",\"oid\":\"" SHA1 "\",\"size\":1432,\"path\":\"config.json\"}]";
  ASSERT_EQ_INT(ferry__hub_tree_parse_page(again, strlen(again), &t, why, sizeof(why)), 0);
  ASSERT_EQ_INT(ferry__hub_tree_check_unique(&t, why, sizeof(why)), FERRY_E_PROTOCOL);
  ASSERT_TRUE(strstr(why, "'config.json' is listed twice") != NULL);
  ferry__hub_tree_free(&t);
  /* a folder and a file of one name are one path twice too */
  const char *both = "[{\"type\":\"directory\",\"path\":\"x\"},"
                     "{\"type\":\"file\",\"oid\":\"" SHA1 "\",\"size\":1,\"path\":\"x\"}]";
  ferry__hub_tree_init(&t);
  ASSERT_EQ_INT(ferry__hub_tree_parse_page(both, strlen(both), &t, NULL, 0), 0);
  ASSERT_EQ_INT(ferry__hub_tree_check_unique(&t, NULL, 0), FERRY_E_PROTOCOL);
  ferry__hub_tree_free(&t);
  ASSERT_EQ_INT(ferry__hub_tree_check_unique(&t, NULL, 0), 0); /* empty */
}

void test_hub_tree_repo_info(void) {
  const char *json =
      "{\"_id\":\"x\",\"id\":\"org/name\",\"sha\":\"" COMMIT "\",\"private\":false,"
      "\"gated\":\"manual\",\"disabled\":false,\"lastModified\":\"2024-01-01T00:00:00.000Z\","
      "\"siblings\":[{\"rfilename\":\"config.json\"},{\"rfilename\":\"sub/m.safetensors\",\"size\":3,"
      "\"lfs\":{\"size\":3,\"sha256\":\"" SHA256 "\",\"pointerSize\":134}}],\"tags\":[]}";
  struct ferry__hub_repo_info info;
  char why[256] = "";
  ASSERT_EQ_INT(ferry__hub_repo_info_parse(json, strlen(json), &info, why, sizeof(why)), 0);
  ASSERT_EQ_STR(info.id, "org/name");
  ASSERT_EQ_STR(info.sha, COMMIT);
  ASSERT_EQ_INT(info.is_private, 0);
  ASSERT_EQ_INT(info.gated, 2);
  ASSERT_EQ_INT(info.disabled, 0);
  ASSERT_EQ_U64(info.n_siblings, 2);
  ASSERT_EQ_STR(info.siblings[1], "sub/m.safetensors");
  ferry__hub_repo_info_free(&info);

  const char *minimal = "{\"id\":\"gpt2\",\"sha\":\"" COMMIT "\",\"private\":true,\"gated\":false}";
  ASSERT_EQ_INT(ferry__hub_repo_info_parse(minimal, strlen(minimal), &info, NULL, 0), 0);
  ASSERT_EQ_INT(info.is_private, 1);
  ASSERT_EQ_INT(info.gated, 0);
  ASSERT_EQ_INT(info.disabled, -1);
  ASSERT_TRUE(info.siblings == NULL);
  ferry__hub_repo_info_free(&info);
  const char *gauto = "{\"id\":\"gpt2\",\"sha\":\"" COMMIT "\",\"gated\":\"auto\"}";
  ASSERT_EQ_INT(ferry__hub_repo_info_parse(gauto, strlen(gauto), &info, NULL, 0), 0);
  ASSERT_EQ_INT(info.gated, 1);
  ASSERT_EQ_INT(info.is_private, -1);
  ferry__hub_repo_info_free(&info);

  struct {
    const char *json, *why;
  } bad[] = {
      {"not json", "malformed JSON"},
      {"[]", "not a JSON object"},
      {"{\"sha\":\"" COMMIT "\"}", "no id"},
      {"{\"id\":\"a\"}", "no 40-hex sha"},
      {"{\"id\":\"a\",\"sha\":\"main\"}", "no 40-hex sha"},
      {"{\"id\":\"a\",\"sha\":\"" COMMIT "\",\"siblings\":{}}", "not an array"},
      {"{\"id\":\"a\",\"sha\":\"" COMMIT "\",\"siblings\":[{\"x\":1}]}", "(rfilename) has no name"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    TEST_NOTE("json %s", bad[i].json);
    why[0] = 0;
    ASSERT_EQ_INT(ferry__hub_repo_info_parse(bad[i].json, strlen(bad[i].json), &info, why, sizeof(why)),
                  FERRY_E_PROTOCOL);
    if (!strstr(why, bad[i].why))
      ferry_unit_fail(__FILE__, __LINE__, "reason \"%s\" lacks \"%s\"", why, bad[i].why);
    ASSERT_TRUE(info.siblings == NULL);
  }
}

static void link_is(const char *value, const char *want) {
  char *out = (char *)1;
  TEST_NOTE("Link: %s", value);
  ASSERT_EQ_INT(ferry__hub_link_next(value, strlen(value), &out), 0);
  if (!want) {
    ASSERT_TRUE(out == NULL);
    return;
  }
  ASSERT_EQ_STR(out, want);
  free(out);
}

void test_hub_tree_link_next(void) {
  link_is("<https://hf.co/api/models/a/b/tree/main?cursor=abc&recursive=true>; rel=\"next\"",
          "https://hf.co/api/models/a/b/tree/main?cursor=abc&recursive=true");
  link_is("<http://127.0.0.1:8080/p?c=1>; rel=\"prev\", <http://127.0.0.1:8080/p?c=3>; rel=\"next\"",
          "http://127.0.0.1:8080/p?c=3");
  link_is("<http://h/x?a=1,2>;rel=next", "http://h/x?a=1,2"); /* a comma inside <> */
  link_is("<http://h/x>; title=\"a, b; c\"; rel=\"last next\"", "http://h/x");
  link_is("<http://h/x> ; REL = \"Next\"", "http://h/x");
  link_is("<http://h/x>; rel=\"prev\"", NULL);
  link_is("<http://h/x>; rel=\"nextpage\"", NULL);
  link_is("", NULL);
  link_is("  ,  ", NULL);
  /* relative or non-http next links, and broken syntax, are errors */
  const char *bad[] = {"</api/models?cursor=1>; rel=\"next\"", "<ftp://h/x>; rel=\"next\"",
                       "<http:/h/x>; rel=\"next\"", "<http://h/a b>; rel=\"next\"",
                       "<http://h/\xc3\xa9>; rel=\"next\"", "<//h/x>; rel=\"next\"",
                       "<>; rel=\"next\"", "https://h/x; rel=\"next\"", "<https://h/x; rel=\"next\"",
                       "<https://h/x>; rel=\"next", "<https://h/x> junk"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char *out = (char *)1;
    TEST_NOTE("Link: %s", bad[i]);
    ASSERT_EQ_INT(ferry__hub_link_next(bad[i], strlen(bad[i]), &out), FERRY_E_PROTOCOL);
    ASSERT_TRUE(out == NULL);
  }
  /* the value ends at len */
  const char *v = "<http://h/a>; rel=\"next\"XYZ";
  char *out = NULL;
  ASSERT_EQ_INT(ferry__hub_link_next(v, strlen(v) - 3, &out), 0);
  ASSERT_EQ_STR(out, "http://h/a");
  free(out);
}

/* What Python 3.11 writes for the same listing with
 * json.dump({"format_version": 1, "files": {...sorted...}}, f, indent=1). */
static const char want_cache[] =
    "{\n"
    " \"format_version\": 1,\n"
    " \"files\": {\n"
    "  \"config.json\": {\n"
    "   \"size\": 1432,\n"
    "   \"blob_id\": \"" SHA1 "\"\n"
    "  },\n"
    "  \"empty\": {\n"
    "   \"size\": 0,\n"
    "   \"blob_id\": \"ffffffffffffffffffffffffffffffffffffffff\"\n"
    "  },\n"
    "  \"sub/model.safetensors\": {\n"
    "   \"size\": 336592329,\n"
    "   \"blob_id\": \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\n"
    "   \"lfs_sha256\": \"" SHA256 "\",\n"
    "   \"lfs_size\": 336592329,\n"
    "   \"xet_hash\": \"cccc\"\n"
    "  },\n"
    "  \"\\u65e5\\u672c/\\u00e9t\\u00e9 1.txt\": {\n"
    "   \"size\": 3,\n"
    "   \"blob_id\": \"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\"\n"
    "  }\n"
    " }\n"
    "}";

void test_hub_tree_cache_format(void) {
  struct ferry__hub_tree t;
  parse_pages(&t);
  char *text = NULL;
  size_t len = 0;
  ASSERT_EQ_INT(ferry__hub_tree_cache_serialize(&t, &text, &len), 0);
  ASSERT_EQ_STR(text, want_cache);
  ASSERT_EQ_U64(len, strlen(want_cache));
  free(text);
  /* an empty listing */
  struct ferry__hub_tree empty;
  ferry__hub_tree_init(&empty);
  ASSERT_EQ_INT(ferry__hub_tree_cache_serialize(&empty, &text, &len), 0);
  ASSERT_EQ_STR(text, "{\n \"format_version\": 1,\n \"files\": {}\n}");
  free(text);
  ferry__hub_tree_free(&t);
}

void test_hub_tree_cache_roundtrip(void) {
  struct ferry__hub_tree t, back;
  parse_pages(&t);
  char *folder = NULL;
  ASSERT_EQ_INT(ferry__hub_fmt(&folder, 4096, "%s/models--org--name", ferry_unit_tmpdir()), 0);
  ASSERT_EQ_INT(ferry__hub_tree_cache_write(folder, COMMIT, &t), 0);
  int found = 0;
  char why[256] = "";
  ASSERT_EQ_INT(ferry__hub_tree_cache_read(folder, COMMIT, &back, &found, why, sizeof(why)), 0);
  ASSERT_EQ_INT(found, 1);
  ASSERT_EQ_U64(back.n, 4); /* the folder is not cached */
  const char *order[] = {"config.json", "empty", "sub/model.safetensors",
                         "\xe6\x97\xa5\xe6\x9c\xac/\xc3\xa9t\xc3\xa9 1.txt"};
  for (size_t i = 0; i < 4; i++) {
    ASSERT_EQ_STR(back.v[i].path, order[i]);
    ASSERT_EQ_INT(back.v[i].is_dir, 0);
  }
  ASSERT_EQ_U64(back.v[2].size, 336592329);
  ASSERT_EQ_STR(oid_text(&back.v[2]), "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
  ASSERT_EQ_INT(back.v[2].has_lfs, 1);
  ASSERT_EQ_STR(ferry__hub_entry_lfs_oid(&back.v[2]), SHA256);
  ASSERT_EQ_U64(ferry__hub_entry_lfs_size(&back.v[2]), 336592329);
  ASSERT_EQ_STR(ferry__hub_entry_xet_hash(&back.v[2]), "cccc");
  ASSERT_EQ_INT(back.v[0].has_lfs, 0);
  /* written again from what was read: the same bytes */
  char *a = NULL, *b = NULL;
  size_t la, lb;
  ASSERT_EQ_INT(ferry__hub_tree_cache_serialize(&t, &a, &la), 0);
  ASSERT_EQ_INT(ferry__hub_tree_cache_serialize(&back, &b, &lb), 0);
  ASSERT_EQ_STR(a, b);
  free(a), free(b);
  ferry__hub_tree_free(&back);
  /* another commit is not cached */
  ASSERT_EQ_INT(ferry__hub_tree_cache_read(folder, "89abcdef0123456789abcdef0123456789abcdef", &back,
                                           &found, NULL, 0), 0);
  ASSERT_EQ_INT(found, 0);
  ferry__hub_tree_free(&t);
  free(folder);
}

/* The cache is read entry by entry, not as one document: any JSON layout of the same object
 * reads the same (compact, keys in another order, a key a later version might add). */
void test_hub_tree_cache_any_layout(void) {
  const char *json = "{\"extra\":{\"x\":[1,{\"y\":null}]},\"files\":{\"b\":{\"blob_id\":"
                     "\"2222222222222222222222222222222222222222\",\"size\":2},\"a\":{\"size\":1,"
                     "\"blob_id\":\"" SHA1 "\",\"xet_hash\":\"h\"}},\"format_version\":1}\n";
  struct ferry__hub_tree t;
  char why[256] = "";
  ASSERT_EQ_INT(ferry__hub_tree_cache_parse(json, strlen(json), &t, why, sizeof(why)), 0);
  ASSERT_EQ_U64(t.n, 2);
  ASSERT_EQ_STR(t.v[0].path, "a");
  ASSERT_EQ_STR(oid_text(&t.v[0]), SHA1);
  ASSERT_EQ_STR(ferry__hub_entry_xet_hash(&t.v[0]), "h");
  ASSERT_EQ_STR(t.v[1].path, "b");
  ASSERT_EQ_U64(t.v[1].size, 2);
  ASSERT_EQ_STR(ferry__hub_entry_lfs_oid(&t.v[1]), "");
  ferry__hub_tree_free(&t);
}

void test_hub_tree_cache_malformed(void) {
  struct {
    const char *json, *why;
  } bad[] = {
      {"{\"format_version\": 2, \"files\": {}}", "unknown format_version"},
      {"{\"files\": {}}", "unknown format_version"},
      {"{\"format_version\": \"1\", \"files\": {}}", "unknown format_version"},
      {"{\"format_version\": 1}", "no files object"},
      {"{\"format_version\": 1, \"files\": []}", "no files object"},
      {"{\"format_version\": 1, \"files\": {\"a\": {\"blob_id\": \"x\"}}}", "malformed"},
      {"{\"format_version\": 1, \"files\": {\"a\": {\"size\": 1}}}", "malformed"},
      {"{\"format_version\": 1, \"files\": {\"a\": {\"size\": 1, \"blob_id\": \"" ZZ40 "\"}}}", "malformed"},
      {"{\"format_version\": 1, \"files\": {\"a\": {\"size\": 1, \"blob_id\": \"" SHA1 "\", \"lfs_sha256\": \"" SHA256 "\"}}}", "malformed"},
      {"{\"format_version\": 1, \"files\": {\"a\": {\"size\": 1, \"blob_id\": \"" SHA1 "\", \"lfs_sha256\": \"nothex\", \"lfs_size\": 1}}}", "malformed"},
      {"{\"format_version\": 1, \"files\": {\"a\": 5}}", "malformed"},
      {"{\"format_version\": 1, \"files\": {\"../a\": {\"size\": 1, \"blob_id\": \"x\"}}}", "'..'"},
      {"{\"format_version\": 1, \"files\": {", "malformed JSON"},
      {"{\"format_version\": 1, \"files\": {\"a\": {\"size\": 1, \"blob_id\": \"" SHA1 "\"}, "
       "\"a\": {\"size\": 2, \"blob_id\": \"" SHA1 "\"}}}", "twice"},
      {"{\"format_version\": 1, \"files\": {}, \"files\": {}}", "two files objects"},
      {"{\"format_version\": 1, \"files\": {}} {}", "data after"},
      {"{\"format_version\": 1, \"files\": {\"a\" {\"size\": 1, \"blob_id\": \"x\"}}}", "malformed JSON"},
      {"{\"format_version\": 1, \"files\": {\"a\": {\"size\": 1, \"blob_id\": \"" SHA1 "\"} \"b\": 1}}", "malformed JSON"},
      {"[]", "not a JSON object"},
      {"", "not a JSON object"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct ferry__hub_tree t;
    char why[256] = "";
    TEST_NOTE("json %s", bad[i].json);
    ASSERT_EQ_INT(ferry__hub_tree_cache_parse(bad[i].json, strlen(bad[i].json), &t, why, sizeof(why)),
                  FERRY_E_PROTOCOL);
    if (!strstr(why, bad[i].why))
      ferry_unit_fail(__FILE__, __LINE__, "reason \"%s\" lacks \"%s\"", why, bad[i].why);
    ASSERT_EQ_U64(t.n, 0);
    ASSERT_TRUE(t.v == NULL);
  }
  /* a corrupt file on disk reads as an error and not found */
  char *folder = NULL, *path = NULL;
  ASSERT_EQ_INT(ferry__hub_fmt(&folder, 4096, "%s/r", ferry_unit_tmpdir()), 0);
  ASSERT_EQ_INT(ferry__hub_tree_cache_path(folder, COMMIT, &path), 0);
  ASSERT_EQ_INT(ferry__write_atomic(path, "{oops", 5, 0644), 0);
  struct ferry__hub_tree t;
  int found = 1;
  ASSERT_EQ_INT(ferry__hub_tree_cache_read(folder, COMMIT, &t, &found, NULL, 0), FERRY_E_PROTOCOL);
  ASSERT_EQ_INT(found, 0);
  free(folder), free(path);
}

/* An exact-length heap copy (no NUL after it), so a parser reading past len trips ASan. */
static char *exact_copy(const char *s, size_t len) {
  char *p = malloc(len ? len : 1);
  ASSERT_NOT_NULL(p);
  memcpy(p, s, len);
  return p;
}

/* Mutated inputs (bytes flipped, cut, duplicated) to every parser: each answers 0 or
 * FERRY_E_PROTOCOL, never reads outside its input, and what it accepts is well formed. */
void test_hub_tree_mutations(void) {
  const char *seeds[] = {page1, page2, want_cache,
                         "<http://h/a?x=1>; rel=\"next\", <http://h/b>; rel=\"prev\"",
                         "{\"id\":\"a/b\",\"sha\":\"" COMMIT "\",\"siblings\":[{\"rfilename\":\"x\"}]}"};
  uint32_t rnd = 12345;
  char buf[4096];
  for (int iter = 0; iter < 3000; iter++) {
    const char *seed = seeds[iter % 5];
    size_t len = strlen(seed);
    memcpy(buf, seed, len);
    int edits = 1 + iter % 4;
    for (int k = 0; k < edits; k++) {
      rnd = rnd * 1103515245u + 12345u;
      size_t at = (rnd >> 8) % (len ? len : 1);
      switch ((rnd >> 4) % 4) {
        case 0: buf[at] = (char)(rnd >> 16); break;         /* overwrite */
        case 1: len = at; break;                            /* cut */
        case 2: if (len < sizeof(buf) - 1) buf[len++] = buf[at]; break; /* append */
        default: buf[at] = "[]{}\",:<>;=\\u0"[(rnd >> 20) % 15]; break; /* a syntax byte */
      }
    }
    TEST_NOTE("iteration %d", iter);
    char *in = exact_copy(buf, len);
    struct ferry__hub_tree t;
    ferry__hub_tree_init(&t);
    int r = ferry__hub_tree_parse_page(in, len, &t, NULL, 0);
    ASSERT_TRUE(r == 0 || r == FERRY_E_PROTOCOL);
    for (size_t i = 0; i < t.n; i++) ASSERT_EQ_INT(ferry__hub_path_check(t.v[i].path, NULL, 0), 0);
    ferry__hub_tree_free(&t);
    r = ferry__hub_tree_cache_parse(in, len, &t, NULL, 0);
    ASSERT_TRUE(r == 0 || r == FERRY_E_PROTOCOL);
    for (size_t i = 0; i < t.n; i++) ASSERT_EQ_INT(ferry__hub_path_check(t.v[i].path, NULL, 0), 0);
    ferry__hub_tree_free(&t);
    struct ferry__hub_repo_info info;
    r = ferry__hub_repo_info_parse(in, len, &info, NULL, 0);
    ASSERT_TRUE(r == 0 || r == FERRY_E_PROTOCOL);
    if (r == 0) ASSERT_EQ_INT(ferry__hub_is_commit(info.sha), 1);
    ferry__hub_repo_info_free(&info);
    char *next = NULL;
    r = ferry__hub_link_next(in, len, &next);
    ASSERT_TRUE(r == 0 || r == FERRY_E_PROTOCOL);
    if (next) TEST_NOTE("iteration %d: next link \"%s\"", iter, next);
    if (next) ASSERT_TRUE(strncasecmp(next, "http://", 7) == 0 || strncasecmp(next, "https://", 8) == 0);
    for (const char *c = next; c && *c; c++) ASSERT_TRUE(*c > ' ' && *c < 0x7f);
    free(next);
    free(in);
  }
}

/* A name longer than ferry takes is said to be that, with its length (it used to read "sibling
 * 0 has no rfilename"), in repo info and in tree pages alike. */
void test_hub_tree_long_names_said(void) {
  size_t n = 6000;
  char *name = malloc(n + 1), *json = malloc(n + 256);
  ASSERT_NOT_NULL(name);
  ASSERT_NOT_NULL(json);
  memset(name, 'a', n);
  name[n] = 0;
  char why[256] = "";
  struct ferry__hub_repo_info info;
  snprintf(json, n + 256, "{\"id\":\"a/b\",\"sha\":\"%s\",\"siblings\":[{\"rfilename\":\"%s\"}]}",
           "0123456789012345678901234567890123456789", name);
  ASSERT_EQ_INT(ferry__hub_repo_info_parse(json, strlen(json), &info, why, sizeof(why)),
                FERRY_E_PROTOCOL);
  TEST_NOTE("%s", why);
  ASSERT_TRUE(strstr(why, "6000 bytes") != NULL && strstr(why, "rfilename") != NULL);
  snprintf(json, n + 256, "[{\"type\":\"file\",\"path\":\"%s\",\"size\":1,\"oid\":\"x\"}]", name);
  struct ferry__hub_tree t;
  ferry__hub_tree_init(&t);
  ASSERT_EQ_INT(ferry__hub_tree_parse_page(json, strlen(json), &t, why, sizeof(why)),
                FERRY_E_PROTOCOL);
  TEST_NOTE("%s", why);
  ASSERT_TRUE(strstr(why, "6000 bytes") != NULL);
  ferry__hub_tree_free(&t);
  free(name);
  free(json);
}

/* A listing of n files with names of many lengths (escaped non-ASCII ones, some 200 bytes),
 * LFS and xet entries among them, as the tree cache's text. */
static char *many_files_cache(size_t n, size_t *len) {
  struct ferry__hub_tree t;
  ferry__hub_tree_init(&t);
  for (size_t i = 0; i < n; i++) {
    char page[1024], name[256];
    size_t nl = (size_t)snprintf(name, sizeof(name), "d%zu/\\u00e9%zu", i % 7, i);
    while (nl < 1 + (i * 37) % 200 && nl < sizeof(name) - 1) name[nl++] = (char)('a' + i % 26);
    name[nl] = 0;
    snprintf(page, sizeof(page),
             "[{\"type\":\"file\",\"oid\":\"%040zx\",\"size\":%zu,\"path\":\"%s\"%s%s}]", i, i * 3,
             name, i % 3 ? "" : ",\"lfs\":{\"oid\":\"" SHA256 "\",\"size\":77}",
             i % 5 ? "" : ",\"xetHash\":\"x1\"");
    char why[256] = "";
    ASSERT_EQ_INT(ferry__hub_tree_parse_page(page, strlen(page), &t, why, sizeof(why)), 0);
  }
  char *text = NULL;
  ASSERT_EQ_INT(ferry__hub_tree_cache_serialize(&t, &text, len), 0);
  ferry__hub_tree_free(&t);
  return text;
}

static void assert_same_tree(const struct ferry__hub_tree *a, const struct ferry__hub_tree *b) {
  ASSERT_EQ_U64(a->n, b->n);
  for (size_t i = 0; i < a->n; i++) {
    ASSERT_EQ_STR(a->v[i].path, b->v[i].path);
    ASSERT_EQ_STR(oid_text(&a->v[i]), oid_text(&b->v[i]));
    ASSERT_EQ_STR(ferry__hub_entry_lfs_oid(&a->v[i]), ferry__hub_entry_lfs_oid(&b->v[i]));
    ASSERT_EQ_STR(ferry__hub_entry_xet_hash(&a->v[i]), ferry__hub_entry_xet_hash(&b->v[i]));
    ASSERT_EQ_U64(a->v[i].size, b->v[i].size);
    ASSERT_EQ_U64(ferry__hub_entry_lfs_size(&a->v[i]), ferry__hub_entry_lfs_size(&b->v[i]));
    ASSERT_EQ_INT(a->v[i].has_lfs, b->v[i].has_lfs);
  }
}

/* A tree cache read from a file through windows of every size from twice its longest value
 * up (so the refill falls at every byte of every key and object): each reads the same tree as
 * the whole text does; a window too small for a value is malformed, never a wrong tree. */
void test_hub_tree_cache_file_windows(void) {
  size_t len = 0;
  char *text = many_files_cache(60, &len);
  struct ferry__hub_tree want, got;
  char why[256] = "";
  ASSERT_EQ_INT(ferry__hub_tree_cache_parse(text, len, &want, why, sizeof(why)), 0);
  ASSERT_EQ_U64(want.n, 60);
  FILE *f = tmpfile();
  ASSERT_NOT_NULL(f);
  ASSERT_EQ_U64(fwrite(text, 1, len, f), len);
  size_t longest = 0, from = 0; /* the longest line: a key, or a file object's member */
  for (size_t i = 0; i <= len; i++)
    if (i == len || text[i] == '\n') longest = i - from > longest ? i - from : longest, from = i;
  ASSERT_GT_INT(longest, 200);
  size_t smallest = 2 * (longest + 160); /* a whole object: its lines together */
  for (size_t w = smallest; w < smallest + 2 * longest + 160; w++) {
    TEST_NOTE("window %zu", w);
    rewind(f);
    ASSERT_EQ_INT(ferry__hub_tree_cache_parse_file(f, w, &got, why, sizeof(why)), 0);
    assert_same_tree(&want, &got);
    ferry__hub_tree_free(&got);
  }
  rewind(f);
  ASSERT_EQ_INT(ferry__hub_tree_cache_parse_file(f, len + 1, &got, why, sizeof(why)), 0);
  assert_same_tree(&want, &got);
  ferry__hub_tree_free(&got);
  rewind(f);
  ASSERT_EQ_INT(ferry__hub_tree_cache_parse_file(f, 64, &got, why, sizeof(why)), FERRY_E_PROTOCOL);
  ASSERT_EQ_U64(got.n, 0);
  fclose(f);
  ferry__hub_tree_free(&want);
  free(text);
}

/* A trees/<commit>.json larger than any body ferry reads whole (FERRY__HUB_JSON_MAX) is read
 * as it streams; it was "too large" and listed again. */
void test_hub_tree_cache_larger_than_a_body(void) {
  size_t len = 0;
  char *text = many_files_cache(10, &len);
  char *folder = NULL, *path = NULL;
  ASSERT_EQ_INT(ferry__hub_fmt(&folder, 4096, "%s/big", ferry_unit_tmpdir()), 0);
  ASSERT_EQ_INT(ferry__hub_tree_cache_path(folder, COMMIT, &path), 0);
  char *dir = strdup(path);
  ASSERT_NOT_NULL(dir);
  ASSERT_EQ_INT(ferry__mkdirs(dirname(dir)), 0);
  free(dir);
  FILE *f = fopen(path, "w");
  ASSERT_NOT_NULL(f);
  static const char opening[] = "{\n \"format_version\": 1,\n \"files\": {";
  size_t head = strlen(opening); /* the padding goes after it */
  ASSERT_EQ_INT(strncmp(text, opening, head), 0);
  ASSERT_EQ_U64(fwrite(text, 1, head, f), head);
  static char spaces[1 << 16];
  memset(spaces, ' ', sizeof(spaces));
  for (size_t written = 0; written <= FERRY__HUB_JSON_MAX; written += sizeof(spaces))
    ASSERT_EQ_U64(fwrite(spaces, 1, sizeof(spaces), f), sizeof(spaces)); /* JSON whitespace */
  ASSERT_EQ_U64(fwrite(text + head, 1, len - head, f), len - head);
  ASSERT_EQ_INT(fclose(f), 0);
  struct ferry__hub_tree want, got;
  char why[256] = "";
  ASSERT_EQ_INT(ferry__hub_tree_cache_parse(text, len, &want, why, sizeof(why)), 0);
  int found = 0;
  ASSERT_EQ_INT(ferry__hub_tree_cache_read(folder, COMMIT, &got, &found, why, sizeof(why)), 0);
  ASSERT_EQ_INT(found, 1);
  assert_same_tree(&want, &got);
  ASSERT_EQ_U64(got.n, 10);
  ferry__hub_tree_free(&want);
  ferry__hub_tree_free(&got);
  free(text), free(folder), free(path);
}

/* The entries' strings live in the tree's blocks: across many pages (past several 256 KiB
 * blocks, long names crossing their ends) and pages refused midway (their strings taken
 * back, a new block or not), every entry kept reads back its own path and hashes. */
void test_hub_tree_strings_across_pages(void) {
  struct ferry__hub_tree t;
  ferry__hub_tree_init(&t);
  char page[16384], name[4200];
  size_t want = 0;
  for (size_t p = 0; p < 400; p++) {
    size_t used = (size_t)snprintf(page, sizeof(page), "[");
    for (size_t k = 0; k < 3; k++) {
      size_t i = p * 3 + k, nl = (size_t)snprintf(name, sizeof(name), "p%zu/f%zu-", p, i);
      size_t len = (i * 997) % (k == 2 ? 4000 : 300); /* some names near the path limit */
      for (; nl < len; nl++) name[nl] = (char)('a' + (i + nl) % 26);
      name[nl] = 0;
      used += (size_t)snprintf(page + used, sizeof(page) - used,
                               "%s{\"type\":\"file\",\"oid\":\"%040zx\",\"size\":%zu,\"path\":\"%s\""
                               "%s}", k ? "," : "", i, i, name,
                               i % 2 ? ",\"lfs\":{\"oid\":\"" SHA256 "\",\"size\":9}" : "");
    }
    /* every third page ends with a bad entry: refused whole */
    int refused = p % 3 == 1;
    if (refused) used += (size_t)snprintf(page + used, sizeof(page) - used, ",{\"type\":\"file\"}");
    snprintf(page + used, sizeof(page) - used, "]");
    ASSERT_EQ_INT(ferry__hub_tree_parse_page(page, strlen(page), &t, NULL, 0),
                  refused ? FERRY_E_PROTOCOL : 0);
    want += refused ? 0 : 3;
    ASSERT_EQ_U64(t.n, want);
  }
  for (size_t e = 0; e < t.n; e++) {
    const struct ferry__hub_entry *x = &t.v[e];
    size_t p, i;
    ASSERT_EQ_INT(sscanf(x->path, "p%zu/f%zu-", &p, &i), 2);
    ASSERT_NE_INT(p % 3, 1);
    ASSERT_EQ_U64(x->size, i);
    char oid[41];
    snprintf(oid, sizeof(oid), "%040zx", i);
    ASSERT_EQ_STR(oid_text(x), oid);
    ASSERT_EQ_STR(ferry__hub_entry_lfs_oid(x), i % 2 ? SHA256 : "");
    ASSERT_EQ_STR(ferry__hub_entry_xet_hash(x), "");
    size_t len = (i * 997) % (i % 3 == 2 ? 4000 : 300), nl = strlen(x->path);
    ASSERT_EQ_U64(nl, len > nl ? len : nl);
    for (size_t c = strcspn(x->path, "-") + 1; c < nl; c++)
      ASSERT_EQ_INT(x->path[c], 'a' + (i + c) % 26);
  }
  ferry__hub_tree_free(&t);
}

/* What a listing of many small files costs: per file the 24-byte entry, the path and the
 * blob's 20 bytes (a 40-hex oid is not kept as text, an absent LFS or xet hash takes
 * nothing). A folder's oid that is not 40 lowercase hex stays text and reads back as given. */
void test_hub_tree_entry_bytes(void) {
  struct ferry__hub_tree t;
  ferry__hub_tree_init(&t);
  char page[64 << 10];
  for (size_t p = 0; p < 10; p++) {
    size_t used = (size_t)snprintf(page, sizeof(page), "[");
    for (size_t k = 0; k < 100; k++)
      used += (size_t)snprintf(page + used, sizeof(page) - used,
                               "%s{\"type\":\"file\",\"oid\":\"%040zx\",\"size\":%zu,"
                               "\"path\":\"d%03zu/f%06zu.txt\"}", k ? "," : "", p * 100 + k,
                               k, p, p * 100 + k);
    snprintf(page + used, sizeof(page) - used, "]");
    ASSERT_EQ_INT(ferry__hub_tree_parse_page(page, strlen(page), &t, NULL, 0), 0);
  }
  ASSERT_EQ_U64(t.n, 1000);
  ASSERT_LE_U64(ferry__hub_tree_bytes(&t), 1000 * (24 + strlen("d000/f000000.txt") + 1 + 20));
  char oid[41];
  snprintf(oid, sizeof(oid), "%040x", 999);
  ASSERT_EQ_STR(oid_text(&t.v[999]), oid);
  static const char dirs[] =
      "[{\"type\":\"directory\",\"oid\":\"Tree-4567\",\"size\":0,\"path\":\"d000\"},"
      "{\"type\":\"directory\",\"oid\":\"" ZZ40 "\",\"size\":0,\"path\":\"d001\"},"
      "{\"type\":\"directory\",\"path\":\"d002\"}]";
  ASSERT_EQ_INT(ferry__hub_tree_parse_page(dirs, sizeof(dirs) - 1, &t, NULL, 0), 0);
  ASSERT_EQ_STR(oid_text(&t.v[1000]), "Tree-4567");
  ASSERT_EQ_STR(oid_text(&t.v[1001]), ZZ40);
  ASSERT_EQ_STR(oid_text(&t.v[1002]), "");
  ASSERT_EQ_STR(oid_text(&t.v[999]), oid);
  ferry__hub_tree_free(&t);
}
