/* Unit test for engine/src/xxh3_fast.h: the AVX2 path must give XXH3_64bits' result for
 * every length (the journal written by one build is read by another). */
#include <stdlib.h>
#include <xxhash.h>

#include "assert.h"
#include "xxh3_fast.h"

void test_xxh3_matches_library(void) {
  size_t cap = 1u << 20;
  unsigned char *buf = malloc(cap + 64);
  ASSERT_TRUE(buf != NULL);
  srand(7);
  for (size_t i = 0; i < cap + 64; i++) buf[i] = (unsigned char)rand();
  /* every length up to 4 KiB (all the short-input code paths), then larger ones */
  for (size_t len = 0; len <= 4096; len++) {
    TEST_NOTE("length %zu", len);
    ASSERT_EQ_U64(ferry__xxh3(buf, len), XXH3_64bits(buf, len));
  }
  for (size_t len = 4097; len <= cap; len = len * 3 / 2 + 1) {
    TEST_NOTE("length %zu at an odd address", len);
    ASSERT_EQ_U64(ferry__xxh3(buf + 1, len), XXH3_64bits(buf + 1, len));
  }
  ASSERT_EQ_U64(ferry__xxh3(buf, cap), XXH3_64bits(buf, cap));
  free(buf);
}
