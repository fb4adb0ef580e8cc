/* log: lines for the caller's log callback (see log.h). */
#include <stdio.h>

#include "log.h"

void ferry__vlog(const struct ferry_config *c, int level, double seconds, const char *fmt,
                 va_list ap) {
  if (!c || !c->log_cb || (level == FERRY_LOG_DEBUG && !c->verbose)) return;
  char line[1024];
  int n = 0;
  if (level == FERRY_LOG_DEBUG && seconds >= 0) n = snprintf(line, sizeof(line), "[%7.3f] ", seconds);
  vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
  c->log_cb(c->log_user, level, line);
}
