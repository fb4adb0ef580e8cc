/* arena: the memory of blocks, one mapping backed by transparent huge pages.
 *
 * Every byte of a download is read twice more after it has left the CPU caches (SHA-256 on
 * the hasher, XXH3 for the journal). With 4 KiB pages a 1 MiB block spans 256 TLB entries,
 * and on the 2-core machine of bench/ SHA-256 of such data ran at 1.15 GB/s against 1.39 GB/s
 * from 2 MiB pages; O_DIRECT writes also pin one page instead of 256. The mapping is the
 * memory budget's size and is touched only as blocks are used. Its slots hold full-size
 * blocks; a slot may also be split into four quarter blocks, for requests too slow to fill a
 * full block soon (xfer.c: on a lossy path 32 of them would hold the whole budget in partly
 * filled blocks). A split slot whose quarters are all back is whole again when a full block
 * needs it; until then its free quarters are stranded (they serve quarters only), and the
 * budget counts them as taken for a full block, which would otherwise have come from malloc
 * on top of the resident slots (peak RSS 58-64 MiB on the WAN lab's `far` link). Blocks that
 * fit neither (or when no slot is free) come from malloc as before. A
 * slot given back stays resident until the engine is freed, as malloc's spare blocks do; the
 * memory figures count blocks in use, and the budget bounds both. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#define HUGE_PAGE ((size_t)2 << 20)
#define QUARTERS FERRY__ARENA_QUARTERS

/* Budgets beyond this many slots (4 GiB) take the rest of their blocks from malloc: the
 * headers stay small, and the size arithmetic cannot overflow a 32-bit size_t. */
#define MAX_SLOTS 4096u

static void push(struct ferry__block **list, struct ferry__block *b) {
  b->next = *list;
  *list = b;
}

static struct ferry__block *pop(struct ferry__block **list) {
  struct ferry__block *b = *list;
  if (b) *list = b->next;
  return b;
}

void ferry__arena_init(struct ferry__arena *a, uint64_t budget) {
  memset(a, 0, sizeof(*a));
  a->slot = FERRY__BLOCK_SIZE;
  uint64_t want = budget / a->slot;
  size_t nslots = want > MAX_SLOTS ? MAX_SLOTS : (size_t)want;
  if (nslots < 2) return; /* too small a budget to be worth a mapping */
  if ((uint64_t)nslots * a->slot > SIZE_MAX / 2) return; /* a 32-bit address space */
  size_t used = (nslots * a->slot + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
  /* One huge page more, so the slots can start on a huge-page boundary. */
  a->map_len = used + HUGE_PAGE;
  void *p = mmap(NULL, a->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) return;
  size_t align = _Alignof(struct ferry__block);
  a->headers = aligned_alloc(align, nslots * sizeof(*a->headers));
  a->quarters = aligned_alloc(align, nslots * QUARTERS * sizeof(*a->quarters));
  a->split = calloc(nslots, 1);
  a->quarters_used = calloc(nslots, 1);
  if (!a->headers || !a->quarters || !a->split || !a->quarters_used) {
    free(a->headers);
    free(a->quarters);
    free(a->split);
    free(a->quarters_used);
    munmap(p, a->map_len);
    memset(a, 0, sizeof(*a));
    return;
  }
  a->map = p;
  a->base = (unsigned char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
#ifdef MADV_HUGEPAGE
  (void)madvise(a->base, used, MADV_HUGEPAGE); /* a hint: without it the slots still work */
#endif
  a->nslots = nslots;
  for (size_t i = nslots; i-- > 0;) {
    struct ferry__block *b = &a->headers[i];
    memset(b, 0, sizeof(*b));
    b->data = a->base + i * a->slot;
    push(&a->free, b);
    for (size_t k = 0; k < QUARTERS; k++) {
      struct ferry__block *q = &a->quarters[i * QUARTERS + k];
      memset(q, 0, sizeof(*q));
      q->data = b->data + k * (a->slot / QUARTERS);
    }
  }
}

static int is_quarter(const struct ferry__arena *a, const struct ferry__block *b) {
  return a->nslots && b >= a->quarters && b < a->quarters + a->nslots * QUARTERS;
}

static size_t slot_of_quarter(const struct ferry__arena *a, const struct ferry__block *q) {
  return (size_t)(q - a->quarters) / QUARTERS;
}

/* Split slots whose quarters are all back become whole slots again: their quarters leave the
 * quarter list. Called when a full block finds no whole slot free (rare: a scan of the list). */
static void rejoin_idle_slots(struct ferry__arena *a) {
  struct ferry__block **link = &a->free_quarters;
  while (*link) {
    struct ferry__block *q = *link;
    size_t i = slot_of_quarter(a, q);
    if (a->quarters_used[i] == 0) {
      *link = q->next;
      if (a->split[i]) {
        a->split[i] = 0; /* its other quarters are on this list too: they are dropped as met */
        push(&a->free, &a->headers[i]);
      }
    } else {
      link = &q->next;
    }
  }
}

static struct ferry__block *take_quarter(struct ferry__arena *a) {
  if (!a->free_quarters) {
    struct ferry__block *whole = pop(&a->free);
    if (!whole) return NULL;
    size_t i = (size_t)(whole - a->headers);
    a->split[i] = 1;
    for (size_t k = QUARTERS; k-- > 0;) push(&a->free_quarters, &a->quarters[i * QUARTERS + k]);
  }
  struct ferry__block *q = pop(&a->free_quarters);
  size_t quarter = a->slot / QUARTERS;
  /* an idle split slot's other quarters are stranded from now on; a used one's one fewer */
  if (a->quarters_used[slot_of_quarter(a, q)]++ == 0) a->stranded += (QUARTERS - 1) * quarter;
  else a->stranded -= quarter;
  return q;
}

/* A block of `cap` bytes, or NULL (the caller mallocs one): a whole slot for more than half a
 * slot, a quarter for more than half a quarter. Smaller blocks would waste most of either. */
struct ferry__block *ferry__arena_take(struct ferry__arena *a, size_t cap) {
  size_t quarter = a->slot / QUARTERS;
  if (!a->nslots || cap > a->slot) return NULL;
  if (cap <= quarter) return cap * 2 > quarter ? take_quarter(a) : NULL;
  if (cap * 2 <= a->slot) return NULL;
  if (!a->free) rejoin_idle_slots(a);
  return pop(&a->free);
}

size_t ferry__arena_unit(const struct ferry__arena *a, size_t cap) {
  size_t quarter = a->slot / QUARTERS;
  if (!a->nslots || cap > a->slot) return cap;
  return cap <= quarter ? quarter : a->slot;
}

int ferry__arena_owns(const struct ferry__arena *a, const struct ferry__block *b) {
  return a->nslots && ((b >= a->headers && b < a->headers + a->nslots) || is_quarter(a, b));
}

void ferry__arena_give(struct ferry__arena *a, struct ferry__block *b) {
  if (is_quarter(a, b)) {
    size_t quarter = a->slot / QUARTERS;
    /* the slot's last quarter back: the slot can be whole again, none of it is stranded */
    if (--a->quarters_used[slot_of_quarter(a, b)] == 0) a->stranded -= (QUARTERS - 1) * quarter;
    else a->stranded += quarter;
    push(&a->free_quarters, b);
    return;
  }
  push(&a->free, b);
}

void ferry__arena_free(struct ferry__arena *a) {
  if (a->nslots) {
    munmap(a->map, a->map_len);
    free(a->headers);
    free(a->quarters);
    free(a->split);
    free(a->quarters_used);
  }
  memset(a, 0, sizeof(*a));
}
