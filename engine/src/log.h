/* log.h: the one way a line reaches the caller's log callback, for the engine and the Hub
 * layer alike (internal). */
#ifndef FERRY_LOG_H
#define FERRY_LOG_H

#include <stdarg.h>

#include "ferry.h"

/* Formats one line and hands it to c->log_cb (nothing without a callback; a FERRY_LOG_DEBUG
 * line only with c->verbose). A debug line starts with `seconds` since the operation began
 * ("[  1.234] "); seconds < 0 leaves that out. */
void ferry__vlog(const struct ferry_config *c, int level, double seconds, const char *fmt,
                 va_list ap);

#endif
