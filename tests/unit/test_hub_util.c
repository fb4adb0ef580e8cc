/* Unit tests for engine/hub/util.c (the environment lookup, the bounded string helpers) and
 * ferry__mkdirs (engine/src/files.c). */
#include <stdlib.h>

#include "assert.h"
#include "test_hub_env.h"

void test_hub_util_env(void) {
  struct ferry__hub_env fake = TEST_HUB_ENV("A=1", "AB=2", "EMPTY=");
  ASSERT_EQ_STR(ferry__hub_env_get(&fake, "A"), "1");
  ASSERT_EQ_STR(ferry__hub_env_get(&fake, "AB"), "2");
  ASSERT_EQ_STR(ferry__hub_env_get(&fake, "EMPTY"), "");
  ASSERT_TRUE(ferry__hub_env_get(&fake, "B") == NULL);
  /* the process environment, through the struct or a NULL env */
  ASSERT_EQ_INT(setenv("FERRY_HUB_UNIT_VAR", "here", 1), 0);
  struct ferry__hub_env proc = ferry__hub_env_process();
  ASSERT_EQ_STR(ferry__hub_env_get(&proc, "FERRY_HUB_UNIT_VAR"), "here");
  ASSERT_EQ_STR(ferry__hub_env_get(NULL, "FERRY_HUB_UNIT_VAR"), "here");
  ASSERT_EQ_INT(unsetenv("FERRY_HUB_UNIT_VAR"), 0);
  ASSERT_TRUE(ferry__hub_env_get(&proc, "FERRY_HUB_UNIT_VAR") == NULL);
}

void test_hub_util_fmt(void) {
  char *s = NULL;
  ASSERT_EQ_INT(ferry__hub_fmt(&s, 16, "%s-%d", "abc", 42), 0);
  ASSERT_EQ_STR(s, "abc-42");
  free(s);
  /* the cap counts the NUL: 6 characters need 7 */
  ASSERT_EQ_INT(ferry__hub_fmt(&s, 7, "%s", "abcdef"), 0);
  ASSERT_EQ_STR(s, "abcdef");
  free(s);
  s = (char *)1;
  ASSERT_EQ_INT(ferry__hub_fmt(&s, 6, "%s", "abcdef"), FERRY_E_INVAL);
  ASSERT_TRUE(s == NULL);
  char why[8] = "";
  ASSERT_EQ_INT(ferry__hub_why(FERRY_E_IO, why, sizeof(why), "%s", "a long reason"), FERRY_E_IO);
  ASSERT_EQ_STR(why, "a long "); /* truncated, still terminated */
  ASSERT_EQ_INT(ferry__hub_why(FERRY_E_PROTOCOL, NULL, 0, "ignored"), FERRY_E_PROTOCOL);
}

void test_hub_util_mkdirs(void) {
  char *deep = NULL, *file = NULL, *under = NULL;
  ASSERT_EQ_INT(ferry__hub_fmt(&deep, 4096, "%s/a/b/c/", ferry_unit_tmpdir()), 0);
  ASSERT_EQ_INT(ferry__mkdirs(deep), 0);
  ASSERT_EQ_INT(ferry__mkdirs(deep), 0); /* already there */
  ASSERT_EQ_INT(ferry__hub_fmt(&file, 4096, "%s/a/f", ferry_unit_tmpdir()), 0);
  ASSERT_EQ_INT(ferry__write_atomic(file, "x", 1, 0644), 0);
  ASSERT_EQ_INT(ferry__mkdirs(file), FERRY_E_IO); /* a file is in the way */
  ASSERT_EQ_INT(ferry__hub_fmt(&under, 4096, "%s/a/f/g", ferry_unit_tmpdir()), 0);
  ASSERT_EQ_INT(ferry__mkdirs(under), FERRY_E_IO);
  ASSERT_EQ_INT(ferry__mkdirs(""), FERRY_E_INVAL);
  free(deep), free(file), free(under);
}
