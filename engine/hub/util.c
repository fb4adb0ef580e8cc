/* util.c: the environment lookup and the bounded string helpers the hub files share. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "hub.h"

static const char *process_getenv(void *user, const char *name) {
  (void)user;
  return getenv(name);
}

struct ferry__hub_env ferry__hub_env_process(void) {
  struct ferry__hub_env env = {process_getenv, NULL};
  return env;
}

const char *ferry__hub_env_get(const struct ferry__hub_env *env, const char *name) {
  if (!env || !env->get) return getenv(name);
  return env->get(env->user, name);
}

int ferry__hub_fmt(char **out, size_t cap, const char *fmt, ...) {
  *out = NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return FERRY_E_INVAL;
  if ((size_t)n + 1 > cap) return FERRY_E_INVAL;
  char *s = malloc((size_t)n + 1);
  if (!s) return FERRY_E_NOMEM;
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  *out = s;
  return 0;
}

int ferry__hub_why(int err, char *why, size_t why_len, const char *fmt, ...) {
  if (why && why_len) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
  }
  return err;
}

int ferry__hub_fail_into(int *error, long *http_status, char *message, size_t cap, int err,
                         long status, const char *fmt, ...) {
  if (!*error) {
    *error = err;
    *http_status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, cap, fmt, ap);
    va_end(ap);
  }
  return *error;
}

void ferry__hub_notice(const struct ferry_config *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ferry__vlog(c, FERRY_LOG_NOTICE, -1, fmt, ap);
  va_end(ap);
}
