/* ivset: sorted, merged byte ranges (see ivset.h). */
#include "ivset.h"

#include <stdlib.h>
#include <string.h>

#include "ferry.h"
#include "grow.h"

void ferry__ivset_init(struct ferry__ivset *s) { memset(s, 0, sizeof(*s)); }

void ferry__ivset_free(struct ferry__ivset *s) {
  free(s->r);
  memset(s, 0, sizeof(*s));
}

void ferry__ivset_clear(struct ferry__ivset *s) { s->n = 0; }

static int reserve(struct ferry__ivset *s, size_t want) {
  return ferry__grow(&s->r, &s->cap, want, sizeof(*s->r), 8) == 0 ? 0 : FERRY_E_NOMEM;
}

int ferry__ivset_add(struct ferry__ivset *s, uint64_t start, uint64_t end) {
  if (start >= end) return 0;
  /* First range that ends at or after `start` (touching ranges merge). */
  size_t i = 0;
  while (i < s->n && s->r[i].end < start) i++;
  size_t j = i;
  while (j < s->n && s->r[j].start <= end) {
    if (s->r[j].start < start) start = s->r[j].start;
    if (s->r[j].end > end) end = s->r[j].end;
    j++;
  }
  if (j == i) { /* no overlap: insert at i */
    if (reserve(s, s->n + 1)) return FERRY_E_NOMEM;
    memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(s->r[0]));
    s->n++;
  } else if (j > i + 1) { /* several merge into one */
    memmove(&s->r[i + 1], &s->r[j], (s->n - j) * sizeof(s->r[0]));
    s->n -= j - i - 1;
  }
  s->r[i].start = start;
  s->r[i].end = end;
  return 0;
}

int ferry__ivset_remove(struct ferry__ivset *s, uint64_t start, uint64_t end) {
  if (start >= end) return 0;
  for (size_t i = 0; i < s->n;) {
    struct ferry__range *r = &s->r[i];
    if (r->end <= start || r->start >= end) {
      i++;
      continue;
    }
    if (r->start < start && r->end > end) { /* punch a hole: split in two */
      if (reserve(s, s->n + 1)) return FERRY_E_NOMEM;
      r = &s->r[i];
      memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(s->r[0]));
      s->n++;
      s->r[i].end = start;
      s->r[i + 1].start = end;
      return 0;
    }
    if (r->start >= start && r->end <= end) { /* swallowed */
      memmove(&s->r[i], &s->r[i + 1], (s->n - i - 1) * sizeof(s->r[0]));
      s->n--;
      continue;
    }
    if (r->start < start) r->end = start;
    else r->start = end;
    i++;
  }
  return 0;
}

uint64_t ferry__ivset_total(const struct ferry__ivset *s) {
  uint64_t t = 0;
  for (size_t i = 0; i < s->n; i++) t += s->r[i].end - s->r[i].start;
  return t;
}

uint64_t ferry__ivset_contiguous_end(const struct ferry__ivset *s, uint64_t from) {
  for (size_t i = 0; i < s->n; i++)
    if (s->r[i].start <= from && from < s->r[i].end) return s->r[i].end;
  return from;
}

int ferry__ivset_covers(const struct ferry__ivset *s, uint64_t start, uint64_t end) {
  if (start >= end) return 1;
  return ferry__ivset_contiguous_end(s, start) >= end;
}
