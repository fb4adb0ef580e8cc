/* json: the pieces of every command's --json output that are the same everywhere. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"

json_t *cli_json_error(int err, const char *message, long http_status) {
  if (!err) return json_null();
  json_t *e = json_pack("{s:i, s:s, s:s}", "code", ferry_exit_class(err), "name",
                        ferry_err_name(err), "message",
                        message && message[0] ? message : ferry_strerror(err));
  if (e && http_status >= 0) json_object_set_new(e, "http_status", json_integer(http_status));
  return e ? e : json_null();
}

json_t *cli_json_str(const char *s) {
  if (!s) return json_null();
  json_t *j = json_string(s);
  if (j) return j;
  char *copy = strdup(s); /* not UTF-8: such bytes become '?' */
  for (char *p = copy; p && *p; p++)
    if ((unsigned char)*p >= 0x80) *p = '?';
  j = copy ? json_string(copy) : NULL;
  free(copy);
  return j ? j : json_null();
}

json_int_t cli_peak_rss(void) {
  /* VmHWM is this program's own peak. getrusage's ru_maxrss survives execve: a ferry started
   * by a large parent (a test runner holding a 20,000-file listing) reported the parent's. */
  FILE *f = fopen("/proc/self/status", "r");
  char line[128];
  long long kib = -1;
  while (f && fgets(line, sizeof(line), f))
    if (sscanf(line, "VmHWM: %lld kB", &kib) == 1) break;
  if (f) fclose(f);
  if (kib < 0) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    kib = ru.ru_maxrss;
  }
  return (json_int_t)kib * 1024;
}
