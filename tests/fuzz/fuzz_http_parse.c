/* Fuzz target: response header parsing. Whatever the bytes, the parsers never read past
 * them (ASan watches an exact-size copy), and what they accept keeps their invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *v = malloc(size ? size : 1); /* exact size, no NUL: a read past it is caught */
  if (!v) abort();
  memcpy(v, data, size);
  struct ferry__content_range cr;
  if (ferry__parse_content_range(v, size, &cr) == 0) {
    if (cr.first == -1) {
      if (cr.last != -1 || cr.total < 0) abort();
    } else if (cr.first < 0 || cr.last < cr.first || (cr.total >= 0 && cr.last >= cr.total)) {
      abort();
    }
  }
  long ra = ferry__parse_retry_after(v, size, 1700000000);
  if (ra < -1 || ra > 86400) abort();
  int st = ferry__parse_status_line(v, size);
  if (st != -1 && (st < 0 || st > 999)) abort();
  const char *name, *value;
  size_t nl, vl;
  if (ferry__split_header(v, size, &name, &nl, &value, &vl) == 0) {
    if (name != v || nl == 0 || nl >= size) abort();
    if (value < v || value + vl > v + size) abort();
  }
  uint64_t u;
  if (ferry__parse_u64(v, size, &u) == 0 && u > (uint64_t)INT64_MAX) abort();
  free(v);
  return 0;
}
