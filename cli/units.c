/* units: sizes and rates on the command line, and their human-readable forms. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "cli.h"

int cli_parse_size(const char *s, uint64_t *out) {
  if (!s || !*s || *s == '-') return -1;
  errno = 0;
  char *end;
  double v = strtod(s, &end);
  if (end == s || errno || v < 0 || !isfinite(v)) return -1;
  double mul = 1;
  if (*end) {
    switch (toupper((unsigned char)*end)) {
    case 'K': mul = 1024.0; break;
    case 'M': mul = 1024.0 * 1024; break;
    case 'G': mul = 1024.0 * 1024 * 1024; break;
    case 'T': mul = 1024.0 * 1024 * 1024 * 1024; break;
    case 'B': mul = 1; end--; break;
    default: return -1;
    }
    end++;
    if (*end && strcasecmp(end, "iB") != 0 && strcasecmp(end, "B") != 0) return -1;
  }
  double bytes = v * mul;
  if (bytes > 9.2e18) return -1;
  *out = (uint64_t)bytes;
  return 0;
}

const char *cli_fmt_bytes(double b, char *buf, int cap) {
  const char *unit[] = {"B", "kB", "MB", "GB", "TB"};
  int i = 0;
  while (b >= 1000 && i < 4) b /= 1000, i++;
  snprintf(buf, (size_t)cap, i ? "%.2f %s" : "%.0f %s", b, unit[i]);
  return buf;
}

const char *cli_fmt_duration(double s, char *buf, int cap) {
  if (s < 0 || !isfinite(s) || s > 360000) {
    snprintf(buf, (size_t)cap, "--:--");
    return buf;
  }
  long t = (long)(s + 0.5);
  if (t >= 3600) snprintf(buf, (size_t)cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else snprintf(buf, (size_t)cap, "%ld:%02ld", t / 60, t % 60);
  return buf;
}
