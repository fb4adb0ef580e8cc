/* Unit tests for engine/hub/stored_tokens.c: stored_tokens read as Python's configparser reads
 * it and written as configparser.write writes it (hub-protocol.md §5.5), token names, and the
 * stored_tokens path beside the token file. */
#include <stdlib.h>

#include "assert.h"
#include "test_hub_env.h"

static struct ferry__hub_ini parse_ok(const char *text) {
  struct ferry__hub_ini ini;
  char why[256] = "";
  TEST_NOTE("%s", text);
  ASSERT_EQ_INT(ferry__hub_ini_parse(text, strlen(text), &ini, why, sizeof(why)), 0);
  return ini;
}

static void serialize_eq(struct ferry__hub_ini *ini, const char *expected) {
  char *text = NULL;
  size_t len = 0;
  ASSERT_EQ_INT(ferry__hub_ini_serialize(ini, &text, &len), 0);
  ASSERT_EQ_SPAN(text, len, expected);
  free(text);
}

void test_hub_login_ini_configparser_rules(void) {
  /* comments, ':' and '=' (the first one), upper-case keys, blanks, CRLF, continuation lines,
   * blank lines inside a value kept, trailing ones dropped, the greedy section header */
  struct ferry__hub_ini ini = parse_ok(
      "# comment\r\n[b]\r\nHF_TOKEN :  v1 = x  \r\n; c\r\nexpires_at=5\n\n\n"
      "[a]x]\n  hf_token=two\n   more\n\n   last\n\n[c] trailing\nk=\n");
  ASSERT_EQ_INT(ini.n, 3);
  ASSERT_EQ_STR(ini.v[0].name, "b");
  ASSERT_EQ_STR(ini.v[0].fields[0].key, "hf_token");
  ASSERT_EQ_STR(ini.v[0].fields[0].value, "v1 = x");
  ASSERT_EQ_STR(ferry__hub_ini_get(&ini.v[0], "expires_at"), "5");
  ASSERT_EQ_STR(ini.v[1].name, "a]x");
  ASSERT_EQ_STR(ferry__hub_ini_get(&ini.v[1], "hf_token"), "two\nmore\n\nlast");
  ASSERT_EQ_STR(ini.v[2].name, "c");
  ASSERT_EQ_STR(ferry__hub_ini_get(&ini.v[2], "k"), "");
  ASSERT_TRUE(ferry__hub_ini_get(&ini.v[2], "missing") == NULL);
  /* written back sorted, "key = value", a newline in a value continued with a tab */
  serialize_eq(&ini, "[a]x]\nhf_token = two\n\tmore\n\t\n\tlast\n\n"
                     "[b]\nhf_token = v1 = x\nexpires_at = 5\n\n[c]\nk = \n\n");
  ferry__hub_ini_free(&ini);
  struct ferry__hub_ini empty = parse_ok("\n# only a comment\n");
  ASSERT_EQ_INT(empty.n, 0);
  serialize_eq(&empty, "");
  ferry__hub_ini_free(&empty);
}

void test_hub_login_ini_errors(void) {
  static const struct { const char *text; const char *why; } bad[] = {
      {"k = v\n", "line 1: an entry before any [section]"},
      {"[a]\nk = 1\n[a]\n", "line 3: section [a] again"},
      {"[a]\nk = 1\nK: 2\n", "line 3: option k twice in a section"},
      {"[a]\nno delimiter\n", "line 2: not \"key = value\""},
      {"[a]\n = v\n", "line 2: not \"key = value\""},
      {"\n[DEFAULT]\n", "line 2: a [DEFAULT] section (hf never writes one)"},
      {"[]\n", "line 1: an entry before any [section]"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct ferry__hub_ini ini;
    char why[256] = "";
    TEST_NOTE("%s", bad[i].text);
    ASSERT_EQ_INT(ferry__hub_ini_parse(bad[i].text, strlen(bad[i].text), &ini, why, sizeof(why)),
                  FERRY_E_IO);
    ASSERT_EQ_STR(why, bad[i].why);
    ASSERT_EQ_INT(ini.n, 0);
  }
  struct ferry__hub_ini ini;
  ASSERT_EQ_INT(ferry__hub_ini_parse("[a]\nk = \0v\n", 10, &ini, NULL, 0), FERRY_E_IO);
}

void test_hub_login_ini_set_and_remove(void) {
  struct ferry__hub_ini ini =
      parse_ok("[zed]\nhf_token = z\n\n[me]\nhf_token = old\nrefresh_token = r\nexpires_at = 1\n");
  ASSERT_EQ_INT(ferry__hub_ini_set_token(&ini, "me", "new"), 0); /* the whole section replaced */
  ASSERT_EQ_INT(ferry__hub_ini_set_token(&ini, "alpha", "a"), 0);
  serialize_eq(&ini, "[alpha]\nhf_token = a\n\n[me]\nhf_token = new\n\n[zed]\nhf_token = z\n\n");
  ASSERT_EQ_INT(ferry__hub_ini_remove(&ini, "me"), 1);
  ASSERT_EQ_INT(ferry__hub_ini_remove(&ini, "me"), 0);
  serialize_eq(&ini, "[alpha]\nhf_token = a\n\n[zed]\nhf_token = z\n\n");
  ferry__hub_ini_free(&ini);
}

void test_hub_login_token_names(void) {
  const char *good[] = {"localhub-demo", "a name", "x]y", "[x", "default", "oauth-bob", "é"};
  const char *bad[] = {"", "DEFAULT", "a\nb", "tab\there", " lead", "trail ", "del\x7f"};
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    TEST_NOTE("%s", good[i]);
    ASSERT_EQ_INT(ferry__hub_token_name_check(good[i], NULL, 0), 0);
  }
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    TEST_NOTE("%s", bad[i]);
    ASSERT_EQ_INT(ferry__hub_token_name_check(bad[i], NULL, 0), FERRY_E_INVAL);
  }
  /* every good name survives a write and a read */
  struct ferry__hub_ini ini = {0};
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
    ASSERT_EQ_INT(ferry__hub_ini_set_token(&ini, good[i], "t"), 0);
  char *text = NULL;
  size_t len;
  ASSERT_EQ_INT(ferry__hub_ini_serialize(&ini, &text, &len), 0);
  struct ferry__hub_ini back;
  ASSERT_EQ_INT(ferry__hub_ini_parse(text, len, &back, NULL, 0), 0);
  ASSERT_EQ_INT(back.n, sizeof(good) / sizeof(good[0]));
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
    ASSERT_TRUE(ferry__hub_ini_find(&back, good[i]) != NULL);
  free(text);
  ferry__hub_ini_free(&ini);
  ferry__hub_ini_free(&back);
}

void test_hub_login_paths(void) {
  /* os.path.join(os.path.dirname(p), "stored_tokens") */
  static const char *cases[][2] = {
      {"/h/.cache/huggingface/token", "/h/.cache/huggingface/stored_tokens"},
      {"token", "stored_tokens"},
      {"/token", "/stored_tokens"},
      {"a//token", "a/stored_tokens"},
      {"//token", "//stored_tokens"},
      {"a/b/", "a/b/stored_tokens"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *out = NULL;
    TEST_NOTE("%s", cases[i][0]);
    ASSERT_EQ_INT(ferry__hub_stored_tokens_path(cases[i][0], &out), 0);
    ASSERT_EQ_STR(out, cases[i][1]);
    free(out);
  }
  char *p = NULL;
  struct ferry__hub_env env = TEST_HUB_ENV("HOME=/h", "HF_HOME=/hf");
  ASSERT_EQ_INT(ferry__hub_token_path(&env, &p), 0);
  ASSERT_EQ_STR(p, "/hf/token");
  free(p);
  struct ferry__hub_env env2 = TEST_HUB_ENV("HOME=/h", "HF_TOKEN_PATH=~/t/$HOME/x");
  ASSERT_EQ_INT(ferry__hub_token_path(&env2, &p), 0);
  ASSERT_EQ_STR(p, "/h/t//h/x");
  free(p);
}
