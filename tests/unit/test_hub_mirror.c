/* Unit tests for engine/hub/mirror.c: the mirror's settings, its URLs, and what a file's
 * failure there means (a 404 is that file's; a mirror that does not answer, or fails three
 * files, is dropped; a wrong copy is purged and fetched from the Hub). */
#include <string.h>

#include "assert.h"
#include "test_hub_env.h"

void test_hub_mirror_settings(void) {
  struct ferry__hub_mirror m;
  char why[256] = "";
  struct ferry__hub_env none = TEST_HUB_ENV("HOME=/h");
  ASSERT_EQ_INT(ferry__hub_mirror_init(&m, NULL, NULL, &none, why, sizeof(why)), 0);
  ASSERT_TRUE(m.url == NULL);
  ASSERT_EQ_INT(ferry__hub_mirror_active(&m), 0);
  /* from the environment, the token as a header of its own */
  struct ferry__hub_env env = TEST_HUB_ENV("FERRY_MIRROR=https://tier.local:8443/",
                                           "FERRY_MIRROR_TOKEN= s3cret-token\n");
  ASSERT_EQ_INT(ferry__hub_mirror_init(&m, NULL, NULL, &env, why, sizeof(why)), 0);
  ASSERT_EQ_STR(m.url, "https://tier.local:8443");
  ASSERT_EQ_STR(m.auth, "Authorization: Bearer s3cret-token");
  ASSERT_EQ_INT(ferry__hub_mirror_active(&m), 1);
  ferry__hub_mirror_free(&m);
  /* the option wins over the environment; "" is none */
  ASSERT_EQ_INT(ferry__hub_mirror_init(&m, "", NULL, &env, why, sizeof(why)), 0);
  ASSERT_TRUE(m.url == NULL);
  ASSERT_EQ_INT(ferry__hub_mirror_init(&m, "https://other:1", "", &env, why, sizeof(why)), 0);
  ASSERT_EQ_STR(m.url, "https://other:1");
  ASSERT_TRUE(m.auth == NULL);
  ferry__hub_mirror_free(&m);
  /* a secret never over plain HTTP; plain HTTP without one is the tier's business */
  ASSERT_EQ_INT(ferry__hub_mirror_init(&m, "http://tier:80", "tok", &none, why, sizeof(why)),
                FERRY_E_INVAL);
  ASSERT_TRUE(strstr(why, "only over HTTPS") != NULL);
  ASSERT_TRUE(m.url == NULL && m.auth == NULL);
  ASSERT_EQ_INT(ferry__hub_mirror_init(&m, "http://tier:80", NULL, &none, why, sizeof(why)), 0);
  ferry__hub_mirror_free(&m);
  ASSERT_EQ_INT(ferry__hub_mirror_init(&m, "ftp://tier", NULL, &none, why, sizeof(why)),
                FERRY_E_INVAL);
  ASSERT_TRUE(strncmp(why, "mirror: ", 8) == 0);
}

void test_hub_mirror_urls(void) {
  struct ferry__hub_mirror m;
  struct ferry__hub_env none = TEST_HUB_ENV("HOME=/h");
  ASSERT_EQ_INT(ferry__hub_mirror_init(&m, "https://tier:9", NULL, &none, NULL, 0), 0);
  struct ferry__hub_repo repo;
  ASSERT_EQ_INT(ferry__hub_repo_parse("datasets/org/set", NULL, &repo, NULL, 0), 0);
  const char *commit = "0123456789abcdef0123456789abcdef01234567";
  char *url = NULL;
  ASSERT_EQ_INT(ferry__hub_mirror_file_url(&m, &repo, commit, "a b/c#d.bin", 0, &url), 0);
  ASSERT_EQ_STR(url, "https://tier:9/datasets/org/set/resolve/"
                     "0123456789abcdef0123456789abcdef01234567/a%20b/c%23d.bin");
  free(url);
  ASSERT_EQ_INT(ferry__hub_mirror_file_url(&m, &repo, commit, "x", 1, &url), 0);
  ASSERT_EQ_STR(url, "https://tier:9/_purge/datasets/org/set/resolve/"
                     "0123456789abcdef0123456789abcdef01234567/x");
  free(url);
  ferry__hub_mirror_free(&m);
}

void test_hub_mirror_judge(void) {
  struct ferry__hub_mirror m = {0};
  ASSERT_EQ_INT(ferry__hub_mirror_judge(&m, 0, 200), FERRY__MIRROR_OK);
  /* about one file: to the Hub, and the mirror stays */
  ASSERT_EQ_INT(ferry__hub_mirror_judge(&m, FERRY_E_HTTP, 404), FERRY__MIRROR_FALLBACK);
  ASSERT_EQ_INT(ferry__hub_mirror_judge(&m, FERRY_E_HTTP, 403), FERRY__MIRROR_FALLBACK);
  ASSERT_EQ_INT(m.failures, 0);
  /* a wrong copy: purged, fetched whole from the Hub; not the mirror's failure count */
  ASSERT_EQ_INT(ferry__hub_mirror_judge(&m, FERRY_E_CHECKSUM, 206), FERRY__MIRROR_BAD_COPY);
  ASSERT_EQ_INT(m.dropped, 0);
  /* local trouble is reported as it is, and the user's Ctrl-C stops the run */
  ASSERT_EQ_INT(ferry__hub_mirror_judge(&m, FERRY_E_NOSPC, 206), FERRY__MIRROR_LOCAL);
  ASSERT_EQ_INT(ferry__hub_mirror_judge(&m, FERRY_E_BUSY, 0), FERRY__MIRROR_LOCAL);
  ASSERT_EQ_INT(ferry__hub_mirror_judge(&m, FERRY_E_INTERRUPTED, 0), FERRY__MIRROR_STOPPED);
  /* server trouble: the third failed file drops it */
  ASSERT_EQ_INT(ferry__hub_mirror_judge(&m, FERRY_E_HTTP, 502), FERRY__MIRROR_FALLBACK);
  ASSERT_EQ_INT(ferry__hub_mirror_judge(&m, FERRY_E_RESET, 206), FERRY__MIRROR_FALLBACK);
  ASSERT_EQ_INT(m.dropped, 0);
  ASSERT_EQ_INT(ferry__hub_mirror_judge(&m, FERRY_E_HTTP, 500), FERRY__MIRROR_DROP);
  ASSERT_EQ_INT(m.dropped, 1);
  ASSERT_EQ_INT(ferry__hub_mirror_active(&m), 0);
  /* once dropped, the files its engine stopped go to the Hub */
  ASSERT_EQ_INT(ferry__hub_mirror_judge(&m, FERRY_E_INTERRUPTED, 0), FERRY__MIRROR_FALLBACK);
  /* no answer at all: dropped at once */
  int silent[] = {FERRY_E_CONNECT, FERRY_E_RESOLVE, FERRY_E_TLS, FERRY_E_STALLED};
  for (size_t i = 0; i < sizeof(silent) / sizeof(silent[0]); i++) {
    struct ferry__hub_mirror fresh = {0};
    TEST_NOTE("error %d", silent[i]);
    ASSERT_EQ_INT(ferry__hub_mirror_judge(&fresh, silent[i], 0), FERRY__MIRROR_DROP);
    ASSERT_EQ_INT(fresh.dropped, 1);
  }
  /* a stall after an answer began is one file's trouble */
  struct ferry__hub_mirror once = {0};
  ASSERT_EQ_INT(ferry__hub_mirror_judge(&once, FERRY_E_STALLED, 206), FERRY__MIRROR_FALLBACK);
  ASSERT_EQ_INT(once.dropped, 0);
}
