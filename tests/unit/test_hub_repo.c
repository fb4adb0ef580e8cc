/* Unit tests for engine/hub/repo.c: repo ids and types, revisions, endpoints, quoting and the
 * Hub URLs (hub-protocol.md §2.1, §4.1, §7.3). */
#include <stdlib.h>

#include "assert.h"
#include "test_hub_env.h"

static struct ferry__hub_repo parse_ok(const char *arg, const char *type) {
  struct ferry__hub_repo r;
  char why[256] = "";
  TEST_NOTE("repo \"%s\" --repo-type %s", arg, type ? type : "(none)");
  int e = ferry__hub_repo_parse(arg, type, &r, why, sizeof(why));
  if (e) ferry_unit_fail(__FILE__, __LINE__, "rejected: %s", why);
  return r;
}

static void parse_bad(const char *arg, const char *type, const char *why_part) {
  struct ferry__hub_repo r;
  char why[256] = "";
  TEST_NOTE("repo \"%s\" --repo-type %s", arg, type ? type : "(none)");
  ASSERT_EQ_INT(ferry__hub_repo_parse(arg, type, &r, why, sizeof(why)), FERRY_E_INVAL);
  if (!strstr(why, why_part))
    ferry_unit_fail(__FILE__, __LINE__, "reason \"%s\" lacks \"%s\"", why, why_part);
}

void test_hub_repo_id_valid(void) {
  const char *ok[] = {"gpt2", "foo/bar", "123", "Foo-BAR_foo.bar123", "a/b", "_x/_y_",
                      "org/a.b-c_d", "demo/tiny-model"};
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    TEST_NOTE("%s", ok[i]);
    ASSERT_EQ_INT(ferry__hub_repo_id_validate(ok[i], NULL, 0), 0);
  }
  char name96[97], name97[98];
  memset(name96, 'n', 96), name96[96] = 0;
  memset(name97, 'n', 97), name97[97] = 0;
  ASSERT_EQ_INT(ferry__hub_repo_id_validate(name96, NULL, 0), 0);
  ASSERT_EQ_INT(ferry__hub_repo_id_validate(name97, NULL, 0), FERRY_E_INVAL);
}

void test_hub_repo_id_invalid(void) {
  struct {
    const char *id, *why;
  } bad[] = {
      {"", "empty"},
      {"a/b/c", "'name' or 'namespace/name'"},
      {"datasets/foo/bar", "'name' or 'namespace/name'"},
      {".repo", "cannot start or end"},
      {"repo.", "cannot start or end"},
      {"-repo", "cannot start or end"},
      {"org/-x", "cannot start or end"},
      {"/name", "cannot start or end"},
      {"org/", "cannot start or end"},
      {"foo--bar", "'--' or '..'"},
      {"foo..bar", "'--' or '..'"},
      {"org/x..y", "'--' or '..'"},
      {"foo.git", "'.git'"},
      {"caf\xc3\xa9", "letters, digits"},
      {"a b", "letters, digits"},
      {"a\\b", "letters, digits"},
      {"a:b", "letters, digits"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char why[256] = "";
    TEST_NOTE("\"%s\"", bad[i].id);
    ASSERT_EQ_INT(ferry__hub_repo_id_validate(bad[i].id, why, sizeof(why)), FERRY_E_INVAL);
    if (!strstr(why, bad[i].why))
      ferry_unit_fail(__FILE__, __LINE__, "reason \"%s\" lacks \"%s\"", why, bad[i].why);
  }
}

void test_hub_repo_parse(void) {
  struct ferry__hub_repo r = parse_ok("org/name", NULL);
  ASSERT_EQ_INT(r.type, FERRY__HUB_MODEL);
  ASSERT_EQ_STR(r.id, "org/name");
  r = parse_ok("org/ds", "dataset");
  ASSERT_EQ_INT(r.type, FERRY__HUB_DATASET);
  r = parse_ok("datasets/org/ds", NULL);
  ASSERT_EQ_INT(r.type, FERRY__HUB_DATASET);
  ASSERT_EQ_STR(r.id, "org/ds");
  r = parse_ok("spaces/org/app", "space");
  ASSERT_EQ_INT(r.type, FERRY__HUB_SPACE);
  ASSERT_EQ_STR(r.id, "org/app");
  r = parse_ok("models/gpt2", NULL);
  ASSERT_EQ_INT(r.type, FERRY__HUB_MODEL);
  ASSERT_EQ_STR(r.id, "gpt2");
  r = parse_ok("datasets/squad", NULL); /* a canonical dataset without namespace */
  ASSERT_EQ_INT(r.type, FERRY__HUB_DATASET);
  ASSERT_EQ_STR(r.id, "squad");
  parse_bad("datasets/org/ds", "model", "names a dataset but --repo-type is model");
  parse_bad("org/name", "models", "invalid repo type");
  parse_bad("org/name", "Model", "invalid repo type");
  parse_bad("datasets/", NULL, "cannot start or end"); /* "datasets/" alone is no prefix */
  parse_bad("org/../x", NULL, "'name' or 'namespace/name'");
  parse_bad("", NULL, "empty");
  ASSERT_EQ_STR(ferry__hub_repo_type_name(FERRY__HUB_SPACE), "space");
  ASSERT_EQ_STR(ferry__hub_repo_type_plural(FERRY__HUB_DATASET), "datasets");
  ASSERT_EQ_STR(ferry__hub_repo_url_prefix(FERRY__HUB_MODEL), "");
  ASSERT_EQ_STR(ferry__hub_repo_url_prefix(FERRY__HUB_DATASET), "datasets/");
  ASSERT_EQ_STR(ferry__hub_repo_url_prefix(FERRY__HUB_SPACE), "spaces/");
}

void test_hub_revision(void) {
  const char *ok[] = {"main", "v1.0", "refs/pr/1", "refs/convert/parquet", "feature/x-y",
                      "0123456789abcdef0123456789abcdef01234567", "with space", "ünï"};
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    TEST_NOTE("%s", ok[i]);
    ASSERT_EQ_INT(ferry__hub_revision_validate(ok[i], NULL, 0), 0);
  }
  const char *bad[] = {"", "..", "../main", "refs/../../x", "a//b", "/main", "main/", ".",
                       "a/./b", "a\\b", "a\nb", "a\tb"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char why[256] = "";
    TEST_NOTE("\"%s\"", bad[i]);
    ASSERT_EQ_INT(ferry__hub_revision_validate(bad[i], why, sizeof(why)), FERRY_E_INVAL);
    ASSERT_TRUE(why[0] != 0);
  }
  char longrev[300];
  memset(longrev, 'r', sizeof(longrev) - 1), longrev[sizeof(longrev) - 1] = 0;
  ASSERT_EQ_INT(ferry__hub_revision_validate(longrev, NULL, 0), FERRY_E_INVAL);

  ASSERT_EQ_INT(ferry__hub_is_commit("0123456789abcdef0123456789abcdef01234567"), 1);
  ASSERT_EQ_INT(ferry__hub_is_commit("0123456789ABCDEF0123456789abcdef01234567"), 0);
  ASSERT_EQ_INT(ferry__hub_is_commit("0123456789abcdef0123456789abcdef0123456"), 0);
  ASSERT_EQ_INT(ferry__hub_is_commit("0123456789abcdef0123456789abcdef012345678"), 0);
  ASSERT_EQ_INT(ferry__hub_is_commit("main"), 0);
  ASSERT_EQ_INT(ferry__hub_is_commit(NULL), 0);
}

static void endpoint_is(const char *in, const char *want) {
  char *out = NULL;
  char why[256] = "";
  TEST_NOTE("endpoint \"%s\"", in);
  int r = ferry__hub_endpoint_normalize(in, &out, why, sizeof(why));
  if (r) ferry_unit_fail(__FILE__, __LINE__, "rejected: %s", why);
  ASSERT_EQ_STR(out, want);
  free(out);
}

void test_hub_endpoint(void) {
  endpoint_is("https://huggingface.co", "https://huggingface.co");
  endpoint_is("https://huggingface.co/", "https://huggingface.co");
  endpoint_is("https://huggingface.co///", "https://huggingface.co");
  endpoint_is("http://127.0.0.1:8080/", "http://127.0.0.1:8080");
  endpoint_is("http://[::1]:9000", "http://[::1]:9000");
  endpoint_is("https://mirror.example/hf/", "https://mirror.example/hf");
  const char *bad[] = {"", "huggingface.co", "ftp://host", "https://", "https://h/?x=1",
                       "https://h/#frag", "not a url", "file:///etc"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char *out = (char *)1, why[256] = "";
    TEST_NOTE("endpoint \"%s\"", bad[i]);
    ASSERT_EQ_INT(ferry__hub_endpoint_normalize(bad[i], &out, why, sizeof(why)), FERRY_E_INVAL);
    ASSERT_TRUE(out == NULL);
    ASSERT_TRUE(why[0] != 0);
  }
}

static void quote_is(const char *in, int keep_slash, const char *want) {
  char *out = NULL;
  TEST_NOTE("quote \"%s\" keep_slash=%d", in, keep_slash);
  ASSERT_EQ_INT(ferry__hub_quote(in, keep_slash, &out), 0);
  ASSERT_EQ_STR(out, want);
  free(out);
}

void test_hub_quote(void) {
  /* the same bytes as Python's urllib.parse.quote */
  quote_is("refs/pr/1", 0, "refs%2Fpr%2F1");
  quote_is("refs/pr/1", 1, "refs/pr/1");
  quote_is("a b#c?d%e&f+g", 1, "a%20b%23c%3Fd%25e%26f%2Bg");
  quote_is("AZaz09-._~", 0, "AZaz09-._~");
  quote_is("dir/\xc3\xa9t\xc3\xa9 1.txt", 1, "dir/%C3%A9t%C3%A9%201.txt");
  quote_is("a//b/", 1, "a//b/");
  quote_is("", 0, "");
  quote_is(":@!$'()*,;=", 0, "%3A%40%21%24%27%28%29%2A%2C%3B%3D");
}

void test_hub_urls(void) {
  struct ferry__hub_repo model = parse_ok("org/name", NULL);
  struct ferry__hub_repo ds = parse_ok("datasets/org/ds", NULL);
  struct ferry__hub_repo sp = parse_ok("org/app", "space");
  struct ferry__hub_repo canon = parse_ok("gpt2", NULL);
  const char *c = "0123456789abcdef0123456789abcdef01234567";
  char *u = NULL;

  ASSERT_EQ_INT(ferry__hub_url_revision("https://hf.co/", &model, "main", &u), 0);
  ASSERT_EQ_STR(u, "https://hf.co/api/models/org/name/revision/main");
  free(u);
  ASSERT_EQ_INT(ferry__hub_url_revision("http://127.0.0.1:1234", &ds, "refs/pr/1", &u), 0);
  ASSERT_EQ_STR(u, "http://127.0.0.1:1234/api/datasets/org/ds/revision/refs%2Fpr%2F1");
  free(u);
  ASSERT_EQ_INT(ferry__hub_url_revision("https://mirror.example/hf//", &canon, "v 1", &u), 0);
  ASSERT_EQ_STR(u, "https://mirror.example/hf/api/models/gpt2/revision/v%201");
  free(u);

  ASSERT_EQ_INT(ferry__hub_url_tree("https://hf.co", &sp, c, NULL, 1, 0, &u), 0);
  ASSERT_EQ_STR(u, "https://hf.co/api/spaces/org/app/tree/0123456789abcdef0123456789abcdef01234567"
                   "?recursive=true&expand=false");
  free(u);
  ASSERT_EQ_INT(ferry__hub_url_tree("https://hf.co/", &model, "refs/pr/2", "sub dir/x", 0, 1, &u), 0);
  ASSERT_EQ_STR(u, "https://hf.co/api/models/org/name/tree/refs%2Fpr%2F2/sub%20dir%2Fx"
                   "?recursive=false&expand=true");
  free(u);

  ASSERT_EQ_INT(ferry__hub_url_resolve("https://hf.co/", &model, "main", "config.json", &u), 0);
  ASSERT_EQ_STR(u, "https://hf.co/org/name/resolve/main/config.json");
  free(u);
  ASSERT_EQ_INT(ferry__hub_url_resolve("https://hf.co", &ds, "refs/pr/3", "data/train #1.parquet", &u), 0);
  ASSERT_EQ_STR(u, "https://hf.co/datasets/org/ds/resolve/refs%2Fpr%2F3/data/train%20%231.parquet");
  free(u);
  ASSERT_EQ_INT(ferry__hub_url_resolve("https://hf.co", &sp, c, "\xe6\x97\xa5/a.py", &u), 0);
  ASSERT_EQ_STR(u, "https://hf.co/spaces/org/app/resolve/0123456789abcdef0123456789abcdef01234567/"
                   "%E6%97%A5/a.py");
  free(u);
  ASSERT_EQ_INT(ferry__hub_url_resolve("https://hf.co", &canon, "main", "x.bin", &u), 0);
  ASSERT_EQ_STR(u, "https://hf.co/gpt2/resolve/main/x.bin");
  free(u);

  /* bad inputs produce no URL */
  u = (char *)1;
  ASSERT_EQ_INT(ferry__hub_url_resolve("hf.co", &model, "main", "x", &u), FERRY_E_INVAL);
  ASSERT_TRUE(u == NULL);
  ASSERT_EQ_INT(ferry__hub_url_resolve("https://hf.co", &model, "", "x", &u), FERRY_E_INVAL);
  ASSERT_EQ_INT(ferry__hub_url_resolve("https://hf.co", &model, "main", "", &u), FERRY_E_INVAL);
  struct ferry__hub_repo broken = model;
  strcpy(broken.id, "a/../b");
  ASSERT_EQ_INT(ferry__hub_url_revision("https://hf.co", &broken, "main", &u), FERRY_E_INVAL);
}

/* hf:// URIs (ferry_hub_uri_parse): the REPO_ID form with the type's prefix, the revision
 * (refs/pr/N and refs/convert/NAME keep their '/', %2F decoded), the path (a folder keeps its
 * trailing '/'). */
static void uri_is(const char *uri, const char *id, const char *type, const char *rev,
                   const char *path) {
  struct ferry_hub_uri u;
  char why[256] = "";
  TEST_NOTE("%s", uri);
  int e = ferry_hub_uri_parse(uri, &u, why, sizeof(why));
  if (e) ferry_unit_fail(__FILE__, __LINE__, "rejected: %s", why);
  ASSERT_EQ_STR(u.repo_id, id);
  ASSERT_EQ_STR(u.repo_type, type);
  ASSERT_EQ_STR(u.revision, rev);
  ASSERT_EQ_STR(u.path, path);
}

static void uri_bad(const char *uri, const char *why_part) {
  struct ferry_hub_uri u;
  char why[256] = "";
  TEST_NOTE("%s", uri);
  ASSERT_EQ_INT(ferry_hub_uri_parse(uri, &u, why, sizeof(why)), FERRY_E_INVAL);
  if (!strstr(why, why_part))
    ferry_unit_fail(__FILE__, __LINE__, "reason \"%s\" lacks \"%s\"", why, why_part);
}

void test_hub_uri(void) {
  ASSERT_EQ_INT(ferry_hub_uri_is("hf://a/b"), 1);
  ASSERT_EQ_INT(ferry_hub_uri_is("a/b"), 0);
  uri_is("hf://demo/tiny-model", "demo/tiny-model", "model", "", "");
  uri_is("hf://models/demo/tiny-model/", "demo/tiny-model", "model", "", "");
  uri_is("hf://datasets/ns/name@v1.0/data/", "datasets/ns/name", "dataset", "v1.0", "data/");
  uri_is("hf://spaces/ns/app@main/app.py", "spaces/ns/app", "space", "main", "app.py");
  uri_is("hf://ns/name@refs/pr/3/train.json", "ns/name", "model", "refs/pr/3", "train.json");
  uri_is("hf://datasets/ns/name@refs/convert/parquet/default/x.parquet", "datasets/ns/name",
         "dataset", "refs/convert/parquet", "default/x.parquet");
  uri_is("hf://ns/name@feature%2Ffoo/a/b", "ns/name", "model", "feature/foo", "a/b");
  uri_is("hf://ns/name/dir/with@sign.txt", "ns/name", "model", "", "dir/with@sign.txt");
  uri_bad("ns/name", "not an hf:// URI");
  uri_bad("hf://", "NAMESPACE/NAME");
  uri_bad("hf://datasets", "NAMESPACE/NAME");
  uri_bad("hf://gpt2", "NAMESPACE/NAME");
  uri_bad("hf://dataset/ns/name", "plural");
  uri_bad("hf://buckets/ns/b", "buckets are not");
  uri_bad("hf://kernels/ns/k", "kernels are not");
  uri_bad("hf://ns/name@", "empty revision");
  uri_bad("hf://ns/name@/x", "empty revision");
  uri_bad("hf://ns/name@a%2F..%2Fb", "revision");
  uri_bad("hf://ns/na--me", "'--'");
  uri_bad("hf://ns/name/a//b", "empty part");
}
