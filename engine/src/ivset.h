/* ivset: a set of byte ranges [start, end), kept sorted and merged. Used for the parts of a
 * file that are still unassigned, and for the parts already written. Small: a download has
 * as many ranges as requests in flight, not as many as chunks. */
#ifndef FERRY_IVSET_H
#define FERRY_IVSET_H

#include <stddef.h>
#include <stdint.h>

struct ferry__range {
  uint64_t start;
  uint64_t end; /* exclusive */
};

struct ferry__ivset {
  struct ferry__range *r;
  size_t n, cap;
};

void ferry__ivset_init(struct ferry__ivset *s);
void ferry__ivset_free(struct ferry__ivset *s);
void ferry__ivset_clear(struct ferry__ivset *s);
/* Adds [start, end), merging with neighbours. Returns 0 or FERRY_E_NOMEM. */
int ferry__ivset_add(struct ferry__ivset *s, uint64_t start, uint64_t end);
/* Removes [start, end) wherever it overlaps. Returns 0 or FERRY_E_NOMEM (a split needs room). */
int ferry__ivset_remove(struct ferry__ivset *s, uint64_t start, uint64_t end);
/* Bytes covered. */
uint64_t ferry__ivset_total(const struct ferry__ivset *s);
/* End of the range that starts at `from` (or contains it), or `from` if none does. */
uint64_t ferry__ivset_contiguous_end(const struct ferry__ivset *s, uint64_t from);
/* 1 when [start, end) is covered entirely. */
int ferry__ivset_covers(const struct ferry__ivset *s, uint64_t start, uint64_t end);

#endif
