/* arena: the memory of full-size blocks, one mapping backed by transparent huge pages.
 *
 * Every byte of a download is read twice more after it has left the CPU caches (SHA-256 on
 * the hasher, XXH3 for the journal). With 4 KiB pages a 1 MiB block spans 256 TLB entries,
 * and on the 2-core machine of bench/ SHA-256 of such data ran at 1.15 GB/s against 1.39 GB/s
 * from 2 MiB pages; O_DIRECT writes also pin one page instead of 256. The mapping is the
 * memory budget's size and is touched only as blocks are used; blocks that do not fit a
 * slot (or when all slots are taken) come from malloc as before. A slot given back stays
 * resident until the engine is freed, as malloc's spare blocks do; the memory figures count
 * blocks in use, and the budget bounds both. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#define HUGE_PAGE ((size_t)2 << 20)

/* Budgets beyond this many slots (4 GiB) take the rest of their blocks from malloc: the
 * headers stay small, and the size arithmetic cannot overflow a 32-bit size_t. */
#define MAX_SLOTS 4096u

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
  a->headers = aligned_alloc(_Alignof(struct ferry__block), nslots * sizeof(*a->headers));
  if (!a->headers) {
    munmap(p, a->map_len);
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
    b->next = a->free;
    a->free = b;
  }
}

/* A slot for a block of `cap` bytes, or NULL (the caller mallocs one). Blocks of at most
 * half a slot are left to malloc: they would waste most of it. */
struct ferry__block *ferry__arena_take(struct ferry__arena *a, size_t cap) {
  if (!a->free || cap > a->slot || cap * 2 <= a->slot) return NULL;
  struct ferry__block *b = a->free;
  a->free = b->next;
  return b;
}

int ferry__arena_owns(const struct ferry__arena *a, const struct ferry__block *b) {
  return a->nslots && b >= a->headers && b < a->headers + a->nslots;
}

void ferry__arena_give(struct ferry__arena *a, struct ferry__block *b) {
  b->next = a->free;
  a->free = b;
}

void ferry__arena_free(struct ferry__arena *a) {
  if (a->nslots) {
    munmap(a->map, a->map_len);
    free(a->headers);
  }
  a->nslots = 0;
  a->free = NULL;
}
