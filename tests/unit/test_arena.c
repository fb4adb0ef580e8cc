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

/* The unit a large file's block takes (budget.c, ferry__budget_unit): what the arena would give
 * it, so that every such block comes from the arena: a quarter up to a quarter, a slot above
 * (the sizes that used to fall between, a request's last block, came from malloc); the size
 * itself past a slot or without an arena. */
void test_arena_unit(void) {
  const size_t slot = FERRY__BLOCK_SIZE, quarter = slot / FERRY__ARENA_QUARTERS;
  struct ferry__arena a;
  ferry__arena_init(&a, 4 * (uint64_t)slot);
  ASSERT_EQ_U64(ferry__arena_unit(&a, 64 << 10), quarter);
  ASSERT_EQ_U64(ferry__arena_unit(&a, quarter), quarter);
  ASSERT_EQ_U64(ferry__arena_unit(&a, quarter + 65536), slot);
  ASSERT_EQ_U64(ferry__arena_unit(&a, slot / 2), slot);
  ASSERT_EQ_U64(ferry__arena_unit(&a, slot), slot);
  ASSERT_EQ_U64(ferry__arena_unit(&a, slot + 65536), slot + 65536);
  /* what the unit says, the arena gives: none of these sizes falls to malloc */
  size_t sizes[] = {64 << 10, quarter, quarter + 65536, slot / 2, slot};
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    TEST_NOTE("%zu bytes", sizes[i]);
    struct ferry__block *b = ferry__arena_take(&a, ferry__arena_unit(&a, sizes[i]));
    ASSERT_NOT_NULL(b);
    ASSERT_TRUE(ferry__arena_owns(&a, b));
    ferry__arena_give(&a, b);
  }
  ferry__arena_free(&a);
  struct ferry__arena none;
  ferry__arena_init(&none, slot); /* too small for a mapping */
  ASSERT_EQ_U64(ferry__arena_unit(&none, 300000), 300000);
}

/* Quarter blocks (slow requests) come from split slots, four to a slot; a split slot is whole
 * again for a full block once all its quarters are back, not before. */
void test_arena_quarters(void) {
  const size_t quarter = FERRY__BLOCK_SIZE / FERRY__ARENA_QUARTERS;
  struct ferry__arena a;
  ferry__arena_init(&a, 2 * (uint64_t)FERRY__BLOCK_SIZE);
  ASSERT_EQ_U64(a.nslots, 2);
  struct ferry__block *q[FERRY__ARENA_QUARTERS];
  for (int i = 0; i < FERRY__ARENA_QUARTERS; i++) {
    TEST_NOTE("quarter %d", i);
    q[i] = ferry__arena_take(&a, i == 0 ? quarter / 2 + 4096 : quarter); /* both sizes fit */
    ASSERT_NOT_NULL(q[i]);
    ASSERT_TRUE(ferry__arena_owns(&a, q[i]));
    memset(q[i]->data, 0x10 + i, quarter);
  }
  /* the four share one slot, without overlap */
  unsigned char *lo = q[0]->data, *hi = q[0]->data;
  for (int i = 0; i < FERRY__ARENA_QUARTERS; i++) {
    if (q[i]->data < lo) lo = q[i]->data;
    if (q[i]->data > hi) hi = q[i]->data;
    ASSERT_EQ_INT(q[i]->data[0], 0x10 + i);
    ASSERT_EQ_INT(q[i]->data[quarter - 1], 0x10 + i);
  }
  ASSERT_EQ_U64((uint64_t)(hi - lo), 3 * quarter);
  ASSERT_EQ_U64((uint64_t)(lo - a.base) % FERRY__BLOCK_SIZE, 0);
  struct ferry__block *whole = ferry__arena_take(&a, FERRY__BLOCK_SIZE);
  ASSERT_NOT_NULL(whole); /* the other slot, not the split one */
  ASSERT_TRUE(whole->data != lo);
  ASSERT_TRUE(ferry__arena_take(&a, quarter) == NULL); /* no slot left to split: malloc */
  ferry__arena_give(&a, whole);
  /* three quarters back: the split slot is still in use, the whole one comes back */
  for (int i = 0; i < 3; i++) ferry__arena_give(&a, q[i]);
  struct ferry__block *again = ferry__arena_take(&a, FERRY__BLOCK_SIZE);
  ASSERT_TRUE(again == whole);
  ASSERT_TRUE(ferry__arena_take(&a, FERRY__BLOCK_SIZE) == NULL);
  /* the last quarter back: its slot is whole again for a full block */
  ferry__arena_give(&a, q[3]);
  struct ferry__block *rejoined = ferry__arena_take(&a, FERRY__BLOCK_SIZE);
  ASSERT_NOT_NULL(rejoined);
  ASSERT_TRUE(rejoined != whole && rejoined->data == lo);
  memset(rejoined->data, 0x77, FERRY__BLOCK_SIZE);
  ASSERT_TRUE(ferry__arena_take(&a, quarter) == NULL); /* nothing left to split */
  /* sizes between a quarter and half a slot, and small ones, are malloc's */
  ferry__arena_give(&a, again);
  ASSERT_TRUE(ferry__arena_take(&a, quarter + 4096) == NULL);
  ASSERT_TRUE(ferry__arena_take(&a, quarter / 2) == NULL);
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

/* The blocks kept for the hasher and the blocks of the requests the concurrency bound allows
 * fit the budget together: with half kept for the hasher, only 16 of the 24 requests allowed
 * by a 32 MiB budget could run (the far link), and the controller never measured its level. */
void test_budget_hash_room_beside_the_requests(void) {
  const uint64_t MiB = 1u << 20;
  for (uint64_t limit = 8 * MiB; limit <= 256 * MiB; limit *= 2) {
    struct ferry__budget b = {.limit = limit, .block_size = MiB};
    uint64_t requests = (uint64_t)ferry__ctl_memory_level(limit, MiB, 0) * MiB;
    ASSERT_LE_U64(requests + ferry__budget_hash_room(&b), limit);
    ASSERT_GE_U64(ferry__budget_hash_room(&b), limit / 8); /* and room for the hasher */
  }
}

/* Quarters stranded in split slots (free, but their slot still has a quarter in use) are no
 * room for a full block: the budget says a full block does not fit although its bytes would,
 * where the arena has no whole slot left and the block would have come from malloc on top of
 * the resident slots (peak RSS 58-64 MiB on `far`). A quarter still fits there. */
void test_budget_stranded_quarters(void) {
  const uint64_t slot = FERRY__BLOCK_SIZE, quarter = slot / FERRY__ARENA_QUARTERS;
  struct ferry__budget b;
  ferry__budget_init(&b, 8 * slot, (size_t)slot);
  ASSERT_EQ_U64(b.arena.nslots, 8);
  struct ferry__block *q[8], *full[6];
  for (int i = 0; i < 8; i++) { /* two slots split, all eight quarters in use */
    ferry__budget_reserve(&b, quarter);
    q[i] = ferry__budget_acquire(&b, (size_t)quarter);
    ASSERT_NOT_NULL(q[i]);
  }
  ASSERT_EQ_U64(b.arena.stranded, 0);
  for (int i = 1; i < 4; i++) ferry__budget_give(&b, q[i]);     /* three of the first slot */
  for (int i = 5; i < 8; i++) ferry__budget_give(&b, q[i]);     /* three of the second */
  ASSERT_EQ_U64(b.arena.stranded, 6 * quarter);
  ASSERT_EQ_U64(b.charged, 2 * quarter);
  for (int i = 0; i < 6; i++) { /* the six whole slots */
    TEST_NOTE("full block %d", i);
    ASSERT_TRUE(ferry__budget_fits(&b, slot));
    ferry__budget_reserve(&b, slot);
    full[i] = ferry__budget_acquire(&b, (size_t)slot);
    ASSERT_TRUE(ferry__arena_owns(&b.arena, full[i]));
  }
  /* 6.5 MiB charged of 8: the bytes of a full block fit, a whole slot does not exist */
  ASSERT_TRUE(b.charged + slot <= b.limit);
  ASSERT_TRUE(!ferry__budget_fits(&b, slot));
  ASSERT_EQ_U64(ferry__budget_excess(&b, slot), slot); /* 6.5 + 1 + 1.5 stranded, of 8 */
  ASSERT_TRUE(ferry__budget_fits(&b, quarter)); /* a stranded quarter serves a quarter */
  /* the first slot's last quarter back: that slot is whole again, and a full block fits */
  ferry__budget_give(&b, q[0]);
  ASSERT_EQ_U64(b.arena.stranded, 3 * quarter);
  ASSERT_TRUE(ferry__budget_fits(&b, slot));
  ferry__budget_reserve(&b, slot);
  struct ferry__block *rejoined = ferry__budget_acquire(&b, (size_t)slot);
  ASSERT_TRUE(ferry__arena_owns(&b.arena, rejoined)); /* from the arena, not malloc */
  ASSERT_TRUE(!ferry__budget_fits(&b, slot));
  ferry__budget_give(&b, rejoined);
  ferry__budget_give(&b, q[4]);
  ASSERT_EQ_U64(b.arena.stranded, 0);
  for (int i = 0; i < 6; i++) ferry__budget_give(&b, full[i]);
  ASSERT_EQ_U64(b.charged, 0);
  ferry__budget_destroy(&b);
}
