/* Fuzz target: the stored_tokens INI parser (engine/hub/stored_tokens.c), which `ferry auth`
 * reads before it rewrites the file. A file it accepts is written back (serialize), and what
 * is written must read back to the same sections and fields and write the same bytes again,
 * or a login would change tokens it did not touch. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"

static int same(const struct ferry__hub_ini *a, const struct ferry__hub_ini *b) {
  if (a->n != b->n) return 0;
  for (size_t i = 0; i < a->n; i++) {
    const struct ferry__hub_ini_section *x = &a->v[i], *y = &b->v[i];
    if (strcmp(x->name, y->name) || x->n != y->n) return 0;
    for (size_t k = 0; k < x->n; k++)
      if (strcmp(x->fields[k].key, y->fields[k].key) ||
          strcmp(x->fields[k].value, y->fields[k].value))
        return 0;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char why[256];
  struct ferry__hub_ini a, b;
  if (ferry__hub_ini_parse((const char *)data, size, &a, why, sizeof(why))) {
    ferry__hub_ini_free(&a);
    return 0;
  }
  char *one = NULL, *two = NULL;
  size_t n1 = 0, n2 = 0;
  if (ferry__hub_ini_serialize(&a, &one, &n1)) abort();
  if (ferry__hub_ini_parse(one, n1, &b, why, sizeof(why))) abort();
  if (!same(&a, &b)) abort();
  if (ferry__hub_ini_serialize(&b, &two, &n2)) abort();
  if (n1 != n2 || memcmp(one, two, n1)) abort();
  free(one);
  free(two);
  ferry__hub_ini_free(&a);
  ferry__hub_ini_free(&b);
  return 0;
}
