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

/* The journal's XXH3 is computed piece by piece as a block fills (curl hands over the body
 * in pieces of any size) and re-checked in one go after a crash: both must agree. */
void test_xxh3_pieces_match_one_shot(void) {
  size_t cap = (1u << 20) + 4096;
  unsigned char *buf = malloc(cap);
  ASSERT_TRUE(buf != NULL);
  srand(11);
  for (size_t i = 0; i < cap; i++) buf[i] = (unsigned char)rand();
  struct ferry__xxh3_state *st = aligned_alloc(64, sizeof(*st));
  ASSERT_TRUE(st != NULL);
  /* two pieces, split at every point of a 600-byte input (the short and mid-size paths and
   * the internal buffer's 256-byte boundary) */
  for (size_t cut = 0; cut <= 600; cut++) {
    TEST_NOTE("600 bytes cut at %zu", cut);
    ferry__xxh3_reset(st);
    ferry__xxh3_update(st, buf, cut);
    ferry__xxh3_update(st, buf + cut, 600 - cut);
    ASSERT_EQ_U64(ferry__xxh3_digest(st), XXH3_64bits(buf, 600));
  }
  /* many pieces of changing sizes, as a block of 1 MiB + 4 KiB fills */
  size_t sizes[] = {1, 16384, 7, 255, 256, 257, 1024, 65536, 3, 16000};
  for (size_t start = 0; start < 10; start++) {
    TEST_NOTE("pieces starting with size index %zu", start);
    ferry__xxh3_reset(st);
    size_t off = 0;
    for (size_t k = start; off < cap; k++) {
      size_t n = sizes[k % 10] < cap - off ? sizes[k % 10] : cap - off;
      ferry__xxh3_update(st, buf + off, n);
      off += n;
      /* the digest of the prefix so far, without disturbing the state */
      if (k % 7 == 0) ASSERT_EQ_U64(ferry__xxh3_digest(st), XXH3_64bits(buf, off));
    }
    ASSERT_EQ_U64(ferry__xxh3_digest(st), ferry__xxh3(buf, cap));
  }
  free(st);
  free(buf);
}
