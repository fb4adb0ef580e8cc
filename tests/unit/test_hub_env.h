/* test_hub_env.h: a fake environment for the hub tests: a NULL-terminated list of
 * "NAME=value" strings, looked up through struct ferry__hub_env, so no test reads or changes
 * the real process environment. */
#ifndef FERRY_TEST_HUB_ENV_H
#define FERRY_TEST_HUB_ENV_H

#include <string.h>

#include "../../engine/hub/hub.h"

static inline const char *test_hub_env_get(void *user, const char *name) {
  const char *const *vars = user;
  size_t n = strlen(name);
  for (; *vars; vars++)
    if (strncmp(*vars, name, n) == 0 && (*vars)[n] == '=') return *vars + n + 1;
  return NULL;
}

/* struct ferry__hub_env e = TEST_HUB_ENV("HF_HOME=/x", "HOME=/home/u"); */
#define TEST_HUB_ENV(...) \
  ((struct ferry__hub_env){test_hub_env_get, (void *)(const char *const[]){__VA_ARGS__, NULL}})

#endif
