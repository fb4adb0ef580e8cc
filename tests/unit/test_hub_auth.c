/* Unit tests for engine/hub/auth.c: token resolution (hub-protocol.md §5.5), boolean
 * environment variables (§8), the endpoint, and the same-origin rule for the token. */
#include <stdlib.h>

#include "assert.h"
#include "test_hub_env.h"

void test_hub_auth_env_true(void) {
  const char *yes[] = {"1", "ON", "on", "On", "YES", "yes", "TRUE", "true", "True"};
  const char *no[] = {"0", "", "OFF", "no", "false", "2", " 1", "1 ", "y", "t", "enable", NULL};
  for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
    TEST_NOTE("\"%s\"", yes[i]);
    ASSERT_EQ_INT(ferry__hub_env_true(yes[i]), 1);
  }
  for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
    TEST_NOTE("\"%s\"", no[i] ? no[i] : "(unset)");
    ASSERT_EQ_INT(ferry__hub_env_true(no[i]), 0);
  }
}

void test_hub_auth_settings(void) {
  struct ferry__hub_settings s;
  struct ferry__hub_env none = TEST_HUB_ENV("HOME=/h");
  ferry__hub_settings_read(&none, &s);
  ASSERT_EQ_INT(s.offline, 0);
  ASSERT_EQ_INT(s.disable_progress_bars, -1);
  ASSERT_EQ_INT(s.disable_symlinks, 0);
  ASSERT_EQ_INT(s.disable_implicit_token, 0);
  struct ferry__hub_env all = TEST_HUB_ENV("HF_HUB_OFFLINE=yes", "HF_HUB_DISABLE_PROGRESS_BARS=1",
                                           "HF_HUB_DISABLE_SYMLINKS=TRUE",
                                           "HF_HUB_DISABLE_IMPLICIT_TOKEN=on");
  ferry__hub_settings_read(&all, &s);
  ASSERT_EQ_INT(s.offline, 1);
  ASSERT_EQ_INT(s.disable_progress_bars, 1);
  ASSERT_EQ_INT(s.disable_symlinks, 1);
  ASSERT_EQ_INT(s.disable_implicit_token, 1);
  /* progress bars: set but false forces them on; offline also from TRANSFORMERS_OFFLINE */
  struct ferry__hub_env mixed = TEST_HUB_ENV("HF_HUB_OFFLINE=0", "TRANSFORMERS_OFFLINE=1",
                                             "HF_HUB_DISABLE_PROGRESS_BARS=0");
  ferry__hub_settings_read(&mixed, &s);
  ASSERT_EQ_INT(s.offline, 1);
  ASSERT_EQ_INT(s.disable_progress_bars, 0);
  struct ferry__hub_env empty = TEST_HUB_ENV("HF_HUB_DISABLE_PROGRESS_BARS=");
  ferry__hub_settings_read(&empty, &s);
  ASSERT_EQ_INT(s.disable_progress_bars, 0); /* set (to "") and not true */
}

void test_hub_auth_endpoint(void) {
  char *e = NULL, why[256] = "";
  struct ferry__hub_env none = TEST_HUB_ENV("HOME=/h");
  ASSERT_EQ_INT(ferry__hub_endpoint(&none, &e, why, sizeof(why)), 0);
  ASSERT_EQ_STR(e, "https://huggingface.co");
  free(e);
  struct ferry__hub_env local = TEST_HUB_ENV("HF_ENDPOINT=http://127.0.0.1:8765/");
  ASSERT_EQ_INT(ferry__hub_endpoint(&local, &e, why, sizeof(why)), 0);
  ASSERT_EQ_STR(e, "http://127.0.0.1:8765");
  free(e);
  struct ferry__hub_env bad = TEST_HUB_ENV("HF_ENDPOINT=localhost:8765");
  ASSERT_EQ_INT(ferry__hub_endpoint(&bad, &e, why, sizeof(why)), FERRY_E_INVAL);
  ASSERT_TRUE(strstr(why, "localhost:8765") != NULL);
}

static void clean_is(const char *in, const char *want) {
  char *out = (char *)1;
  TEST_NOTE("token \"%s\"", in);
  ASSERT_EQ_INT(ferry__hub_token_clean(in, strlen(in), &out), 0);
  if (!want) {
    ASSERT_TRUE(out == NULL);
    return;
  }
  ASSERT_EQ_STR(out, want);
  free(out);
}

void test_hub_auth_token_clean(void) {
  clean_is("hf_abc", "hf_abc");
  clean_is("  hf_abc\n", "hf_abc");
  clean_is("hf_\r\nabc\r\n", "hf_abc"); /* every CR and LF goes, even inside */
  clean_is("\t hf abc \t", "hf abc");
  clean_is("", NULL);
  clean_is(" \r\n\t ", NULL);
}

/* Writes a token file under the test folder and returns its path. */
static char *token_file(const char *rel, const char *content) {
  char *p = NULL;
  ASSERT_EQ_INT(ferry__hub_fmt(&p, 4096, "%s/%s", ferry_unit_tmpdir(), rel), 0);
  ASSERT_EQ_INT(ferry__write_atomic(p, content, strlen(content), 0600), 0);
  return p;
}

static void token_is(struct ferry__hub_env env, const char *explicit_token, const char *want,
                     enum ferry__hub_token_source want_source) {
  char *out = (char *)1;
  enum ferry__hub_token_source src = (enum ferry__hub_token_source)99;
  ASSERT_EQ_INT(ferry__hub_token_resolve(&env, explicit_token, &out, &src), 0);
  ASSERT_EQ_INT(src, want_source);
  if (!want) {
    ASSERT_TRUE(out == NULL);
    return;
  }
  ASSERT_EQ_STR(out, want);
  free(out);
}

void test_hub_auth_token_resolve(void) {
  char hf_home[4096], path_var[4200], home_var[4200];
  snprintf(hf_home, sizeof(hf_home), "%s/hfhome", ferry_unit_tmpdir());
  snprintf(home_var, sizeof(home_var), "HF_HOME=%s", hf_home);
  char *home_token = token_file("hfhome/token", "hf_from_home_file\n");
  char *other = token_file("elsewhere/tok", "  hf_from_token_path  ");
  snprintf(path_var, sizeof(path_var), "HF_TOKEN_PATH=%s", other);

  /* HF_TOKEN first */
  token_is(TEST_HUB_ENV("HF_TOKEN=hf_env", "HUGGING_FACE_HUB_TOKEN=hf_legacy", home_var, path_var),
           NULL, "hf_env", FERRY__HUB_TOKEN_ENV);
  /* then the legacy name (also when HF_TOKEN is empty) */
  token_is(TEST_HUB_ENV("HUGGING_FACE_HUB_TOKEN=hf_legacy", home_var), NULL, "hf_legacy",
           FERRY__HUB_TOKEN_ENV);
  token_is(TEST_HUB_ENV("HF_TOKEN=", "HUGGING_FACE_HUB_TOKEN=hf_legacy", home_var), NULL,
           "hf_legacy", FERRY__HUB_TOKEN_ENV);
  /* a blank HF_TOKEN cleans to nothing: the file is next */
  token_is(TEST_HUB_ENV("HF_TOKEN= \n", home_var), NULL, "hf_from_home_file", FERRY__HUB_TOKEN_FILE);
  /* HF_TOKEN_PATH replaces $HF_HOME/token */
  token_is(TEST_HUB_ENV(home_var, path_var), NULL, "hf_from_token_path", FERRY__HUB_TOKEN_FILE);
  token_is(TEST_HUB_ENV(home_var), NULL, "hf_from_home_file", FERRY__HUB_TOKEN_FILE);
  /* HF_TOKEN_PATH gets ~ and $VAR expansion */
  char tmp_home[4200];
  snprintf(tmp_home, sizeof(tmp_home), "HOME=%s", ferry_unit_tmpdir());
  token_is(TEST_HUB_ENV(tmp_home, "HF_TOKEN_PATH=~/elsewhere/${NAME}", "NAME=tok"), NULL,
           "hf_from_token_path", FERRY__HUB_TOKEN_FILE);
  /* the default HF_HOME under $HOME (~/.cache/huggingface/token) */
  char *def = token_file("user/.cache/huggingface/token", "hf_default\r\n");
  char user_home[4200];
  snprintf(user_home, sizeof(user_home), "HOME=%s/user", ferry_unit_tmpdir());
  token_is(TEST_HUB_ENV(user_home), NULL, "hf_default", FERRY__HUB_TOKEN_FILE);
  /* --token wins over everything */
  token_is(TEST_HUB_ENV("HF_TOKEN=hf_env", home_var), " hf_cli ", "hf_cli", FERRY__HUB_TOKEN_EXPLICIT);
  /* HF_HUB_DISABLE_IMPLICIT_TOKEN: nothing unless given explicitly */
  token_is(TEST_HUB_ENV("HF_TOKEN=hf_env", home_var, "HF_HUB_DISABLE_IMPLICIT_TOKEN=1"), NULL, NULL,
           FERRY__HUB_TOKEN_NONE);
  token_is(TEST_HUB_ENV("HF_HUB_DISABLE_IMPLICIT_TOKEN=1"), "hf_cli", "hf_cli",
           FERRY__HUB_TOKEN_EXPLICIT);
  /* an empty token file, and no file at all, mean no token */
  char *empty = token_file("emptyhome/token", " \n");
  char empty_var[4200];
  snprintf(empty_var, sizeof(empty_var), "HF_HOME=%s/emptyhome", ferry_unit_tmpdir());
  token_is(TEST_HUB_ENV(empty_var), NULL, NULL, FERRY__HUB_TOKEN_NONE);
  char none_var[4200];
  snprintf(none_var, sizeof(none_var), "HF_HOME=%s/nothing-here", ferry_unit_tmpdir());
  token_is(TEST_HUB_ENV(none_var), NULL, NULL, FERRY__HUB_TOKEN_NONE);
  token_is(TEST_HUB_ENV(none_var), "  ", NULL, FERRY__HUB_TOKEN_NONE);
  free(home_token), free(other), free(def), free(empty);
}

void test_hub_auth_same_origin(void) {
  struct {
    const char *a, *b;
    int same;
  } cases[] = {
      {"https://huggingface.co", "https://huggingface.co/api/models/x", 1},
      {"https://huggingface.co", "https://huggingface.co:443/x", 1},
      {"http://127.0.0.1:8080", "http://127.0.0.1:8080/org/m/resolve/main/x", 1},
      {"http://host", "http://host:80/x", 1},
      {"https://HuggingFace.CO/", "https://huggingface.co/x", 1},
      {"HTTPS://huggingface.co", "https://huggingface.co/x", 1},
      {"https://user:pw@huggingface.co", "https://huggingface.co/x", 1},
      {"https://huggingface.co", "http://huggingface.co/x", 0},
      {"https://huggingface.co", "https://cdn-lfs.huggingface.co/x", 0},
      {"https://huggingface.co", "https://huggingface.co.evil.example/x", 0},
      {"https://huggingface.co", "https://huggingface.co:8443/x", 0},
      {"http://127.0.0.1:8080", "http://127.0.0.1:8081/x", 0},
      {"http://127.0.0.1:8080", "http://localhost:8080/x", 0},
      {"http://[::1]:8080", "http://[::1]:8080/x", 1},
      {"https://huggingface.co", "not a url", 0},
      {"https://huggingface.co", "/relative/path", 0},
      {"https://huggingface.co", "", 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    TEST_NOTE("\"%s\" vs \"%s\"", cases[i].a, cases[i].b);
    ASSERT_EQ_INT(ferry__hub_same_origin(cases[i].a, cases[i].b), cases[i].same);
    ASSERT_EQ_INT(ferry__hub_same_origin(cases[i].b, cases[i].a), cases[i].same);
  }
  ASSERT_EQ_INT(ferry__hub_same_origin(NULL, "https://h"), 0);
}
