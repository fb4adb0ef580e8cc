/* Unit tests for engine/src/arena.c: slots for full-size blocks in one huge-page mapping. */
#include <stdint.h>
#include <string.h>

#include "assert.h"
#include "internal.h"

void test_arena_slots(void) {
  struct ferry__arena a;
  ferry__arena_init(&a, 5 * (uint64_t)FERRY__BLOCK_SIZE + 12345);
  ASSERT_EQ_U64(a.nslots, 5);
  ASSERT_EQ_U64((uintptr_t)a.base % (2u << 20), 0); /* slots start on a huge-page boundary */
  struct ferry__block *taken[5];
  for (int i = 0; i < 5; i++) {
    TEST_NOTE("slot %d", i);
    taken[i] = ferry__arena_take(&a, FERRY__BLOCK_SIZE);
    ASSERT_NOT_NULL(taken[i]);
    ASSERT_TRUE(ferry__arena_owns(&a, taken[i]));
    for (int k = 0; k < i; k++) ASSERT_TRUE(taken[k]->data != taken[i]->data);
    ASSERT_TRUE(taken[i]->data >= a.base && taken[i]->data + FERRY__BLOCK_SIZE <= a.base + 5 * a.slot);
    memset(taken[i]->data, i, FERRY__BLOCK_SIZE); /* the whole slot is writable */
  }
  ASSERT_TRUE(ferry__arena_take(&a, FERRY__BLOCK_SIZE) == NULL); /* all taken: the caller mallocs */
  for (int i = 0; i < 5; i++) ASSERT_EQ_INT(taken[i]->data[FERRY__BLOCK_SIZE - 1], i); /* no overlap */
  ferry__arena_give(&a, taken[2]);
  struct ferry__block *again = ferry__arena_take(&a, FERRY__BLOCK_SIZE / 2 + 4096);
  ASSERT_TRUE(again == taken[2]);
  ferry__arena_give(&a, again);
  /* blocks of half a slot or less, or larger than a slot, are not the arena's */
  ASSERT_TRUE(ferry__arena_take(&a, FERRY__BLOCK_SIZE / 2) == NULL);
  ASSERT_TRUE(ferry__arena_take(&a, FERRY__BLOCK_SIZE + 4096) == NULL);
  struct ferry__block outsider;
  ASSERT_TRUE(!ferry__arena_owns(&a, &outsider));
  ferry__arena_free(&a);
  ASSERT_EQ_U64(a.nslots, 0);
}

void test_arena_small_budget(void) {
  struct ferry__arena a;
  ferry__arena_init(&a, FERRY__BLOCK_SIZE + FERRY__BLOCK_SIZE / 2); /* room for one block only */
  ASSERT_EQ_U64(a.nslots, 0);
  ASSERT_TRUE(ferry__arena_take(&a, FERRY__BLOCK_SIZE) == NULL);
  struct ferry__block outsider;
  ASSERT_TRUE(!ferry__arena_owns(&a, &outsider));
  ferry__arena_free(&a); /* harmless without a mapping */
}

/* A huge budget maps at most 4096 slots (4 GiB); the rest of its blocks come from malloc. */
void test_arena_large_budget_capped(void) {
  struct ferry__arena a;
  ferry__arena_init(&a, (uint64_t)64 << 30);
  ASSERT_EQ_U64(a.nslots, 4096);
  struct ferry__block *b = ferry__arena_take(&a, FERRY__BLOCK_SIZE);
  ASSERT_NOT_NULL(b);
  ASSERT_TRUE(ferry__arena_owns(&a, b));
  ferry__arena_give(&a, b);
  ferry__arena_free(&a);
  ASSERT_EQ_U64(a.nslots, 0);
}
