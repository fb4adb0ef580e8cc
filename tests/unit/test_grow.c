/* Unit tests for engine/src/grow.h: the doubling every list in ferry grows by. */
#include <stdint.h>
#include <stdlib.h>

#include "assert.h"
#include "grow.h"

void test_grow_doubles_and_keeps(void) {
  int *v = NULL;
  size_t cap = 0;
  ASSERT_EQ_INT(ferry__grow(&v, &cap, 1, sizeof(*v), 4), 0);
  ASSERT_EQ_U64(cap, 4); /* an empty array starts at `first` */
  ASSERT_NOT_NULL(v);
  for (int i = 0; i < 4; i++) v[i] = i * 7;
  int *before = v;
  ASSERT_EQ_INT(ferry__grow(&v, &cap, 4, sizeof(*v), 4), 0);
  ASSERT_TRUE(v == before); /* room already: untouched */
  ASSERT_EQ_U64(cap, 4);
  ASSERT_EQ_INT(ferry__grow(&v, &cap, 5, sizeof(*v), 4), 0);
  ASSERT_EQ_U64(cap, 8);
  ASSERT_EQ_INT(ferry__grow(&v, &cap, 100, sizeof(*v), 4), 0);
  ASSERT_EQ_U64(cap, 128); /* doubled until the need fits */
  for (int i = 0; i < 4; i++) ASSERT_EQ_INT(v[i], i * 7); /* the contents moved along */
  free(v);
}

void test_grow_refuses_overflow(void) {
  char *v = malloc(16);
  ASSERT_NOT_NULL(v);
  size_t cap = 16;
  char *before = v;
  /* elements so large that the byte size would wrap: refused, the array as it was */
  ASSERT_EQ_INT(ferry__grow(&v, &cap, 32, SIZE_MAX / 20, 1), -1);
  ASSERT_TRUE(v == before);
  ASSERT_EQ_U64(cap, 16);
  ASSERT_EQ_INT(ferry__grow(&v, &cap, SIZE_MAX, 1, 1), -1); /* the count itself would wrap */
  ASSERT_EQ_U64(cap, 16);
  free(v);
}
