/* Unit tests for engine/src/ivset.h: sorted, merged sets of byte ranges [start, end). */
#include <stdint.h>
#include <string.h>

#include "assert.h"
#include "ferry.h"
#include "ivset.h"

/* Asserts the set holds exactly the `n` ranges given as start, end pairs. */
static void expect_ranges(const struct ferry__ivset *s, size_t n, const uint64_t *pairs) {
  if (s->n != n) {
    fprintf(stderr, "set holds:");
    for (size_t i = 0; i < s->n; i++)
      fprintf(stderr, " [%llu,%llu)", (unsigned long long)s->r[i].start,
              (unsigned long long)s->r[i].end);
    fprintf(stderr, "\n");
  }
  ASSERT_EQ_U64(s->n, n);
  for (size_t i = 0; i < n; i++) {
    ASSERT_EQ_U64(s->r[i].start, pairs[2 * i]);
    ASSERT_EQ_U64(s->r[i].end, pairs[2 * i + 1]);
  }
}
#define EXPECT(s, ...)                                                                     \
  do {                                                                                     \
    static const uint64_t pairs_[] = {__VA_ARGS__};                                        \
    expect_ranges((s), sizeof(pairs_) / sizeof(pairs_[0]) / 2, pairs_);                    \
  } while (0)
#define EXPECT_EMPTY(s) ASSERT_EQ_U64((s)->n, 0)

void test_ivset_add_merge(void) {
  struct ferry__ivset s;
  ferry__ivset_init(&s);
  EXPECT_EMPTY(&s);
  ASSERT_EQ_INT(ferry__ivset_add(&s, 10, 20), 0);
  ASSERT_EQ_INT(ferry__ivset_add(&s, 30, 40), 0);
  EXPECT(&s, 10, 20, 30, 40);
  /* touching on both sides: one range */
  ASSERT_EQ_INT(ferry__ivset_add(&s, 20, 30), 0);
  EXPECT(&s, 10, 40);
  /* insert before, after and in the middle */
  ASSERT_EQ_INT(ferry__ivset_add(&s, 0, 5), 0);
  ASSERT_EQ_INT(ferry__ivset_add(&s, 60, 70), 0);
  ASSERT_EQ_INT(ferry__ivset_add(&s, 45, 47), 0);
  EXPECT(&s, 0, 5, 10, 40, 45, 47, 60, 70);
  /* touching on one side only */
  ASSERT_EQ_INT(ferry__ivset_add(&s, 5, 7), 0);
  ASSERT_EQ_INT(ferry__ivset_add(&s, 58, 60), 0);
  EXPECT(&s, 0, 7, 10, 40, 45, 47, 58, 70);
  /* overlap that bridges two ranges */
  ASSERT_EQ_INT(ferry__ivset_add(&s, 3, 12), 0);
  EXPECT(&s, 0, 40, 45, 47, 58, 70);
  /* already covered: no change */
  ASSERT_EQ_INT(ferry__ivset_add(&s, 20, 30), 0);
  ASSERT_EQ_INT(ferry__ivset_add(&s, 45, 47), 0);
  EXPECT(&s, 0, 40, 45, 47, 58, 70);
  /* empty and reversed ranges add nothing */
  ASSERT_EQ_INT(ferry__ivset_add(&s, 50, 50), 0);
  ASSERT_EQ_INT(ferry__ivset_add(&s, 55, 52), 0);
  EXPECT(&s, 0, 40, 45, 47, 58, 70);
  /* overlap extending past both ends of the middle range */
  ASSERT_EQ_INT(ferry__ivset_add(&s, 44, 48), 0);
  EXPECT(&s, 0, 40, 44, 48, 58, 70);
  /* one range swallowing everything */
  ASSERT_EQ_INT(ferry__ivset_add(&s, 0, 100), 0);
  EXPECT(&s, 0, 100);
  /* values near the top of uint64_t */
  ASSERT_EQ_INT(ferry__ivset_add(&s, UINT64_MAX - 10, UINT64_MAX), 0);
  EXPECT(&s, 0, 100, UINT64_MAX - 10, UINT64_MAX);
  ferry__ivset_free(&s);
  EXPECT_EMPTY(&s);
}

/* Many disjoint ranges inserted out of order: the array grows and stays sorted. */
void test_ivset_add_many(void) {
  struct ferry__ivset s;
  ferry__ivset_init(&s);
  for (uint64_t k = 0; k < 200; k++) {
    uint64_t i = (k * 73) % 200; /* 73 is prime to 200: every slot once */
    ASSERT_EQ_INT(ferry__ivset_add(&s, i * 10, i * 10 + 5), 0);
  }
  ASSERT_EQ_U64(s.n, 200);
  for (size_t i = 0; i < s.n; i++) {
    ASSERT_EQ_U64(s.r[i].start, i * 10);
    ASSERT_EQ_U64(s.r[i].end, i * 10 + 5);
  }
  ASSERT_EQ_U64(ferry__ivset_total(&s), 1000);
  /* fill every gap: one range remains */
  for (uint64_t i = 0; i < 199; i++) ASSERT_EQ_INT(ferry__ivset_add(&s, i * 10 + 5, i * 10 + 10), 0);
  EXPECT(&s, 0, 1995);
  ferry__ivset_free(&s);
}

void test_ivset_remove(void) {
  struct ferry__ivset s;
  ferry__ivset_init(&s);
  ASSERT_EQ_INT(ferry__ivset_add(&s, 0, 100), 0);
  /* split in two */
  ASSERT_EQ_INT(ferry__ivset_remove(&s, 40, 60), 0);
  EXPECT(&s, 0, 40, 60, 100);
  /* trims the end of one and the start of the next */
  ASSERT_EQ_INT(ferry__ivset_remove(&s, 30, 70), 0);
  EXPECT(&s, 0, 30, 70, 100);
  /* swallow a whole range exactly */
  ASSERT_EQ_INT(ferry__ivset_remove(&s, 0, 30), 0);
  EXPECT(&s, 70, 100);
  /* trim the end, with the removal running past it */
  ASSERT_EQ_INT(ferry__ivset_remove(&s, 90, 200), 0);
  EXPECT(&s, 70, 90);
  /* trim the start, with the removal starting before it */
  ASSERT_EQ_INT(ferry__ivset_remove(&s, 0, 75), 0);
  EXPECT(&s, 75, 90);
  /* nothing there, empty, reversed: no change */
  ASSERT_EQ_INT(ferry__ivset_remove(&s, 0, 75), 0);
  ASSERT_EQ_INT(ferry__ivset_remove(&s, 90, 1000), 0);
  ASSERT_EQ_INT(ferry__ivset_remove(&s, 80, 80), 0);
  ASSERT_EQ_INT(ferry__ivset_remove(&s, 85, 80), 0);
  EXPECT(&s, 75, 90);
  /* remove the last byte and the first byte */
  ASSERT_EQ_INT(ferry__ivset_remove(&s, 89, 90), 0);
  ASSERT_EQ_INT(ferry__ivset_remove(&s, 75, 76), 0);
  EXPECT(&s, 76, 89);
  /* one removal across several ranges: trims the outer two, swallows the inner ones */
  ferry__ivset_clear(&s);
  EXPECT_EMPTY(&s);
  ASSERT_EQ_INT(ferry__ivset_add(&s, 0, 10), 0);
  ASSERT_EQ_INT(ferry__ivset_add(&s, 20, 30), 0);
  ASSERT_EQ_INT(ferry__ivset_add(&s, 40, 50), 0);
  ASSERT_EQ_INT(ferry__ivset_add(&s, 60, 70), 0);
  ASSERT_EQ_INT(ferry__ivset_remove(&s, 5, 65), 0);
  EXPECT(&s, 0, 5, 65, 70);
  /* remove everything */
  ASSERT_EQ_INT(ferry__ivset_remove(&s, 0, UINT64_MAX), 0);
  EXPECT_EMPTY(&s);
  /* split the middle one of several */
  ASSERT_EQ_INT(ferry__ivset_add(&s, 0, 10), 0);
  ASSERT_EQ_INT(ferry__ivset_add(&s, 20, 30), 0);
  ASSERT_EQ_INT(ferry__ivset_add(&s, 40, 50), 0);
  ASSERT_EQ_INT(ferry__ivset_remove(&s, 24, 26), 0);
  EXPECT(&s, 0, 10, 20, 24, 26, 30, 40, 50);
  ferry__ivset_free(&s);
}

void test_ivset_queries(void) {
  struct ferry__ivset s;
  ferry__ivset_init(&s);
  ASSERT_EQ_U64(ferry__ivset_total(&s), 0);
  ASSERT_EQ_U64(ferry__ivset_contiguous_end(&s, 0), 0);
  ASSERT_EQ_U64(ferry__ivset_contiguous_end(&s, 17), 17);
  ASSERT_EQ_INT(ferry__ivset_covers(&s, 0, 1), 0);
  ASSERT_EQ_INT(ferry__ivset_covers(&s, 5, 5), 1); /* the empty range is always covered */

  ASSERT_EQ_INT(ferry__ivset_add(&s, 10, 20), 0);
  ASSERT_EQ_INT(ferry__ivset_add(&s, 30, 45), 0);
  ASSERT_EQ_U64(ferry__ivset_total(&s), 25);
  /* contiguous_end: from a start, from inside, from a gap, from an end (exclusive) */
  ASSERT_EQ_U64(ferry__ivset_contiguous_end(&s, 10), 20);
  ASSERT_EQ_U64(ferry__ivset_contiguous_end(&s, 15), 20);
  ASSERT_EQ_U64(ferry__ivset_contiguous_end(&s, 19), 20);
  ASSERT_EQ_U64(ferry__ivset_contiguous_end(&s, 20), 20);
  ASSERT_EQ_U64(ferry__ivset_contiguous_end(&s, 25), 25);
  ASSERT_EQ_U64(ferry__ivset_contiguous_end(&s, 0), 0);
  ASSERT_EQ_U64(ferry__ivset_contiguous_end(&s, 30), 45);
  ASSERT_EQ_U64(ferry__ivset_contiguous_end(&s, 100), 100);
  /* covers */
  ASSERT_EQ_INT(ferry__ivset_covers(&s, 10, 20), 1);
  ASSERT_EQ_INT(ferry__ivset_covers(&s, 12, 18), 1);
  ASSERT_EQ_INT(ferry__ivset_covers(&s, 30, 45), 1);
  ASSERT_EQ_INT(ferry__ivset_covers(&s, 9, 20), 0);
  ASSERT_EQ_INT(ferry__ivset_covers(&s, 10, 21), 0);
  ASSERT_EQ_INT(ferry__ivset_covers(&s, 10, 45), 0); /* spans the gap */
  ASSERT_EQ_INT(ferry__ivset_covers(&s, 20, 30), 0);
  ASSERT_EQ_INT(ferry__ivset_covers(&s, 25, 25), 1);
  ASSERT_EQ_INT(ferry__ivset_covers(&s, 44, 46), 0);
  /* clear empties the set and it can be used again */
  ferry__ivset_clear(&s);
  ASSERT_EQ_U64(ferry__ivset_total(&s), 0);
  ASSERT_EQ_INT(ferry__ivset_covers(&s, 10, 11), 0);
  ASSERT_EQ_INT(ferry__ivset_add(&s, 1, 3), 0);
  EXPECT(&s, 1, 3);
  ferry__ivset_free(&s);
}

/* A byte bitmap is the obviously-correct model of a set of ranges. */
#define MODEL_BYTES 4096
#define MODEL_OPS 4000

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void) { /* xorshift64*, fixed seed: the same run every time */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dull;
}

static void random_range(uint64_t *a, uint64_t *b) {
  uint64_t start = rng() % MODEL_BYTES;
  uint64_t len = rng() % 4 == 0 ? rng() % MODEL_BYTES : rng() % 64; /* mostly short */
  *a = start;
  *b = start + len > MODEL_BYTES ? MODEL_BYTES : start + len;
}

/* The set equals the model, and is sorted, non-empty per range and fully merged. */
static void check_against_model(const struct ferry__ivset *s, const unsigned char *model) {
  unsigned char seen[MODEL_BYTES];
  memset(seen, 0, sizeof(seen));
  uint64_t count = 0;
  for (size_t i = 0; i < s->n; i++) {
    ASSERT_LT_U64(s->r[i].start, s->r[i].end);
    ASSERT_LE_U64(s->r[i].end, MODEL_BYTES);
    if (i > 0) ASSERT_LT_U64(s->r[i - 1].end, s->r[i].start); /* a gap, or they would merge */
    memset(seen + s->r[i].start, 1, (size_t)(s->r[i].end - s->r[i].start));
  }
  for (size_t b = 0; b < MODEL_BYTES; b++) {
    if (seen[b] != model[b]) {
      char op[sizeof(ferry_unit_note)];
      memcpy(op, ferry_unit_note, sizeof(op));
      TEST_NOTE("%.400s; first difference at byte %zu", op, b);
      ASSERT_EQ_INT(seen[b], model[b]);
    }
    count += model[b];
  }
  ASSERT_EQ_U64(ferry__ivset_total(s), count);
}

static uint64_t model_contiguous_end(const unsigned char *model, uint64_t from) {
  if (from >= MODEL_BYTES || !model[from]) return from;
  while (from < MODEL_BYTES && model[from]) from++;
  return from;
}

void test_ivset_random_model(void) {
  static unsigned char model[MODEL_BYTES];
  struct ferry__ivset s;
  ferry__ivset_init(&s);
  for (int op = 0; op < MODEL_OPS; op++) {
    uint64_t a, b;
    random_range(&a, &b);
    int add = rng() % 100 < 55;
    TEST_NOTE("op %d: %s [%llu,%llu)", op, add ? "add" : "remove", (unsigned long long)a,
              (unsigned long long)b);
    if (add) {
      ASSERT_EQ_INT(ferry__ivset_add(&s, a, b), 0);
      if (b > a) memset(model + a, 1, (size_t)(b - a));
    } else {
      ASSERT_EQ_INT(ferry__ivset_remove(&s, a, b), 0);
      if (b > a) memset(model + a, 0, (size_t)(b - a));
    }
    check_against_model(&s, model);
    /* queries at random points */
    for (int q = 0; q < 4; q++) {
      uint64_t from = rng() % (MODEL_BYTES + 1);
      ASSERT_EQ_U64(ferry__ivset_contiguous_end(&s, from), model_contiguous_end(model, from));
      uint64_t c, d;
      random_range(&c, &d);
      int want = 1;
      for (uint64_t i = c; i < d; i++) want &= model[i];
      ASSERT_EQ_INT(ferry__ivset_covers(&s, c, d), want);
    }
    if (op % 1000 == 999) { /* now and then start over from empty */
      ferry__ivset_clear(&s);
      memset(model, 0, sizeof(model));
    }
  }
  ferry__ivset_free(&s);
}
