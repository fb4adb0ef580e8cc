/* budget: the engine's memory for file data, one module (internal.h, "the memory budget").
 *
 * Bytes in flight are not memory. A request may ask for many megabytes, but memory is taken
 * only as its bytes arrive: a block (1 MiB) at a time, when its write callback needs a new
 * one. The figures, changed here only:
 *  - charged: blocks in use (being filled, waiting for a writer, kept for the hasher), plus
 *    one block promised to each request that has not received its first bytes yet (so the
 *    requests the scheduler starts are sure of a block: it starts one only when a block fits,
 *    ferry__budget_fits);
 *  - allocated (and its peak): block memory that exists now, in use or kept as a spare;
 *  - retained: written blocks kept for the hasher (which evicts them under pressure).
 * When the disk or the hasher falls behind and a request fills its block with no room for
 * another, the block is not handed to a writer: the loop thread writes it at once (a
 * synchronous pwrite, xfer.c / sink.c ferry__block_write_now), records it as any written
 * block, and reuses its memory for the request's next bytes; the hasher reads those bytes
 * back from the file. While the loop thread writes, no socket is read, so TCP's own flow
 * control holds the servers back; and the scheduler starts no request while no block fits.
 * Memory is never bounded by pausing HTTP/2 streams through libcurl (curl #10988, 7.88).
 * Block memory comes from the arena (huge pages, arena.c), from spare full-size blocks, or
 * from malloc; spares give way so that blocks in use plus spares stay within the limit. */
#include <assert.h>
#include <stdlib.h>

#include "internal.h"

void ferry__budget_init(struct ferry__budget *b, uint64_t limit, size_t block_size) {
  *b = (struct ferry__budget){.limit = limit, .block_size = block_size};
  ferry__arena_init(&b->arena, limit);
}

static void drop_spares(struct ferry__budget *b, uint64_t until_room_for) {
  while (b->spares && (!until_room_for || b->allocated + until_room_for > b->limit)) {
    struct ferry__block *spare = b->spares;
    b->spares = spare->next;
    b->nspares--;
    b->allocated -= spare->cap;
    free(spare);
  }
}

void ferry__budget_destroy(struct ferry__budget *b) {
  drop_spares(b, 0);
  ferry__arena_free(&b->arena);
}

/* What a block of `bytes` takes from the budget beside its own bytes: a full block needs a
 * whole slot of the arena, so the quarters stranded in split slots are not room for it. */
static uint64_t beside(const struct ferry__budget *b, uint64_t bytes) {
  const struct ferry__arena *a = &b->arena;
  return a->nslots && bytes <= a->slot && ferry__arena_unit(a, (size_t)bytes) == a->slot
             ? a->stranded
             : 0;
}

int ferry__budget_fits(const struct ferry__budget *b, uint64_t bytes) {
  return ferry__budget_excess(b, bytes) == 0;
}

uint64_t ferry__budget_excess(const struct ferry__budget *b, uint64_t bytes) {
  uint64_t taken = b->charged + bytes + beside(b, bytes);
  return taken > b->limit ? taken - b->limit : 0;
}

void ferry__budget_note_wait(struct ferry__budget *b, uint64_t now_ns, int waiting) {
  if (b->wait_since_ns && now_ns > b->wait_since_ns) b->held_ns += now_ns - b->wait_since_ns;
  b->wait_since_ns = waiting ? now_ns : 0;
}

void ferry__budget_note_write(struct ferry__budget *b, uint64_t start_ns, uint64_t end_ns) {
  /* inside a wait of the pump's, that time counts already */
  if (end_ns > start_ns && !(b->wait_since_ns && b->wait_since_ns <= start_ns))
    b->held_ns += end_ns - start_ns;
}

void ferry__budget_reserve(struct ferry__budget *b, uint64_t bytes) { b->charged += bytes; }

void ferry__budget_release(struct ferry__budget *b, uint64_t bytes) {
  b->charged = bytes > b->charged ? 0 : b->charged - bytes;
}

static void grew(struct ferry__budget *b, size_t cap) {
  b->allocated += cap;
  if (b->allocated > b->peak) b->peak = b->allocated;
}

struct ferry__block *ferry__budget_acquire(struct ferry__budget *b, size_t cap) {
  struct ferry__block *blk = ferry__arena_take(&b->arena, cap);
  if (blk) {
    drop_spares(b, cap); /* a spare from malloc gives way to the arena's block too */
    grew(b, cap);
  } else if (cap == b->block_size && b->spares) {
    blk = b->spares;
    b->spares = blk->next;
    b->nspares--;
  } else {
    drop_spares(b, cap);
    /* One allocation: the header in the first page, the data page-aligned after it. */
    static_assert(sizeof(struct ferry__block) <= FERRY__DIO_ALIGN, "block header too large");
    void *p = NULL;
    if (posix_memalign(&p, FERRY__DIO_ALIGN, FERRY__DIO_ALIGN + cap) != 0) return NULL;
    blk = p;
    blk->data = (unsigned char *)p + FERRY__DIO_ALIGN;
    grew(b, cap);
  }
  blk->cap = cap;
  return blk;
}

size_t ferry__budget_unit(const struct ferry__budget *b, size_t bytes) {
  return ferry__arena_unit(&b->arena, bytes);
}

void ferry__budget_give(struct ferry__budget *b, struct ferry__block *blk) {
  ferry__budget_release(b, blk->cap);
  if (ferry__arena_owns(&b->arena, blk)) {
    b->allocated -= blk->cap;
    ferry__arena_give(&b->arena, blk);
    return;
  }
  /* Full-size blocks are kept for reuse, as many as the budget could ever have in use. */
  if (blk->cap == b->block_size && b->allocated <= b->limit) {
    blk->next = b->spares;
    b->spares = blk;
    b->nspares++;
    return;
  }
  b->allocated -= blk->cap;
  free(blk);
}

void ferry__budget_drop(struct ferry__budget *b, struct ferry__block *blk) {
  if (!ferry__arena_owns(&b->arena, blk)) free(blk);
}

void ferry__budget_retain(struct ferry__budget *b, uint64_t bytes) { b->retained += bytes; }

uint64_t ferry__budget_hash_room(const struct ferry__budget *b) {
  return b->limit / 4;
}

void ferry__budget_unretain(struct ferry__budget *b, uint64_t bytes) {
  b->retained = bytes > b->retained ? 0 : b->retained - bytes;
}

void ferry__budget_set_block_size(struct ferry__budget *b, size_t size) {
  if (size == b->block_size) return;
  drop_spares(b, 0); /* spares of the old size would never be reused */
  b->block_size = size;
}
