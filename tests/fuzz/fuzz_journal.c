/* Fuzz target: the journal parser. Any bytes, fed whole and fed in two pieces at a split
 * chosen by the input, must give the same status and the same records, and a journal the
 * parser accepts must only hold records inside the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"

static enum ferry__jstatus parse(const uint8_t *data, size_t size, size_t split,
                                 struct ferry__jparser *p) {
  ferry__jparser_init(p);
  if (split > size) split = size;
  if (ferry__jparser_feed(p, data, split) == 0) ferry__jparser_feed(p, data + split, size - split);
  return ferry__jparser_finish(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t split = ((size_t)data[0] << 8 | data[1]) % size;
  data += 2, size -= 2;
  struct ferry__jparser *whole = malloc(sizeof(*whole)), *cut = malloc(sizeof(*cut));
  if (!whole || !cut) abort();
  enum ferry__jstatus a = parse(data, size, size, whole);
  enum ferry__jstatus b = parse(data, size, split, cut);
  if (a != b) abort();
  if (a == FERRY__J_OK) {
    if (whole->nrecords != cut->nrecords) abort();
    for (size_t i = 0; i < whole->nrecords; i++) { /* field by field: the struct has padding */
      const struct ferry__jrecord *x = &whole->records[i], *y = &cut->records[i];
      if (x->offset != y->offset || x->length != y->length || x->xxh3 != y->xxh3) abort();
    }
    for (size_t i = 0; i < whole->nrecords; i++) {
      const struct ferry__jrecord *r = &whole->records[i];
      if (!r->length || r->offset > whole->ident.size ||
          r->length > whole->ident.size - r->offset)
        abort();
    }
  }
  ferry__jparser_free(whole);
  ferry__jparser_free(cut);
  free(whole);
  free(cut);
  return 0;
}
