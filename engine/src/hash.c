/* hash: SHA-256 of each file in file order, on a worker thread, as the written prefix grows.
 *
 * Written blocks are kept (retained) until the hash cursor passes them, so the hasher reads
 * them from memory. When the memory budget is needed (a new request, or a request's next
 * block), retained blocks are evicted and the hasher reads those bytes back from the file
 * instead, as it does for blocks the loop thread wrote when the budget was full: slower,
 * never wrong, and memory stays bounded whatever the order in which ranges complete. The
 * read back goes through the file's O_DIRECT descriptor where it has one (aligned reads: the
 * device copies into the buffer, not the CPU; the kernel writes back any cached bytes of
 * the range first), else through the page cache (ARCHITECTURE.md, "Hash"). */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

#define HASH_STEP (16u << 20)

struct hash_req {
  uv_work_t work;
  struct ferry__job *job;
  uint64_t from, to;
  struct ferry__block *blocks; /* sorted, within [from, to), owned by the request */
  uint64_t read_back;          /* bytes read from the file: not in memory any more */
  int direct;                  /* read back with O_DIRECT (j->dfd) */
  int err;
};

void ferry__hash_retain(struct ferry__job *j, struct ferry__block *b) {
  if (j->no_hash) { /* nothing hashes: the cursor follows the bytes that arrived */
    ferry__block_free(j->e, b);
    j->hash_cursor = ferry__ivset_contiguous_end(&j->written, j->hash_cursor);
    return;
  }
  if (b->offset + b->len <= j->hash_cursor) { /* already hashed from the file */
    ferry__block_free(j->e, b);
    return;
  }
  struct ferry__block **p = &j->retained;
  while (*p && (*p)->offset < b->offset) p = &(*p)->next;
  b->next = *p;
  *p = b;
  ferry__budget_retain(&j->e->budget, b->cap);
}

static void hash_work(uv_work_t *w) {
  struct hash_req *h = ferry__container_of(w, struct hash_req, work);
  struct ferry__job *j = h->job;
  unsigned char *scratch = NULL;
  uint64_t pos = h->from;
  struct ferry__block *b = h->blocks;
  while (pos < h->to) {
    while (b && b->offset + b->len <= pos) b = b->next;
    if (b && b->offset <= pos) {
      uint64_t end = b->offset + b->len < h->to ? b->offset + b->len : h->to;
      EVP_DigestUpdate(j->sha, b->data + (pos - b->offset), (size_t)(end - pos));
      pos = end;
      continue;
    }
    /* A gap: those bytes were evicted from memory or resumed from disk. */
    uint64_t gap_end = b && b->offset < h->to ? b->offset : h->to;
    if (!scratch) {
      void *p = NULL;
      if (posix_memalign(&p, FERRY__DIO_ALIGN, FERRY__BLOCK_SIZE + FERRY__DIO_ALIGN) != 0) {
        h->err = FERRY_E_NOMEM;
        return;
      }
      scratch = p;
    }
    while (pos < gap_end && h->direct) {
      uint64_t from = pos / FERRY__DIO_ALIGN * FERRY__DIO_ALIGN;
      uint64_t to = gap_end - from > FERRY__BLOCK_SIZE ? from + FERRY__BLOCK_SIZE : gap_end;
      to = (to + FERRY__DIO_ALIGN - 1) / FERRY__DIO_ALIGN * FERRY__DIO_ALIGN;
      ssize_t n = pread(j->dfd, scratch, (size_t)(to - from), (off_t)from);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || (uint64_t)n <= pos - from) { /* refused (EINVAL), or short: buffered */
        h->direct = 0;
        break;
      }
      uint64_t end = from + (uint64_t)n < gap_end ? from + (uint64_t)n : gap_end;
      EVP_DigestUpdate(j->sha, scratch + (pos - from), (size_t)(end - pos));
      h->read_back += end - pos;
      pos = end;
    }
    while (pos < gap_end) {
      size_t want = gap_end - pos < FERRY__BLOCK_SIZE ? (size_t)(gap_end - pos) : FERRY__BLOCK_SIZE;
      ssize_t n = pread(j->fd, scratch, want, (off_t)pos);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        h->err = FERRY_E_IO;
        free(scratch);
        return;
      }
      EVP_DigestUpdate(j->sha, scratch, (size_t)n);
      pos += (uint64_t)n;
      h->read_back += (uint64_t)n;
    }
  }
  free(scratch);
}

static void hash_done(uv_work_t *w, int status) {
  struct hash_req *h = ferry__container_of(w, struct hash_req, work);
  struct ferry__job *j = h->job;
  struct ferry_engine *e = j->e;
  j->hash_running = 0;
  e->st.bytes_read_back += h->read_back;
  if (status != 0 && !h->err) h->err = FERRY_E_INTERNAL;
  if (h->err) ferry__job_fail(j, h->err, 0, "cannot read back %s to hash it", j->part_path);
  else j->hash_cursor = h->to;
  while (h->blocks) {
    struct ferry__block *b = h->blocks;
    h->blocks = b->next;
    ferry__block_free(e, b);
  }
  free(h);
  ferry__hash_kick(j);
  ferry__job_check_progress(j);
  ferry__pump(e);
}

void ferry__hash_start(struct ferry__job *j) {
  EVP_DigestInit_ex(j->sha, j->git_sha1 ? EVP_sha1() : EVP_sha256(), NULL);
  if (j->git_sha1) {
    char head[48];
    int n = snprintf(head, sizeof(head), "blob %llu", (unsigned long long)j->size);
    EVP_DigestUpdate(j->sha, head, (size_t)n + 1); /* the NUL is part of git's header */
  }
  j->hash_ready = 1;
}

void ferry__hash_kick(struct ferry__job *j) {
  if (j->hash_running || ferry__job_draining(j) || !j->sha || j->no_hash) return;
  if (!j->hash_ready) {
    if (j->git_sha1 && !j->size_known) return; /* git's header needs the size first */
    ferry__hash_start(j);
  }
  uint64_t to = ferry__ivset_contiguous_end(&j->written, j->hash_cursor);
  if (to <= j->hash_cursor) return;
  /* Hash in short steps: a step's blocks are freed when it ends, and the requests that need
   * that memory should not wait for a long one. The cut never splits a kept block. */
  uint64_t limit = j->hash_cursor + HASH_STEP;
  for (struct ferry__block *b = j->retained; b && b->offset < limit; b = b->next)
    if (b->offset + b->len > limit) limit = b->offset + b->len;
  if (to > limit) to = limit;
  struct hash_req *h = calloc(1, sizeof(*h));
  if (!h) {
    ferry__job_fail(j, FERRY_E_NOMEM, 0, "out of memory");
    return;
  }
  h->job = j;
  h->direct = j->dfd >= 0 &&
              !atomic_load_explicit(&j->direct_refused, memory_order_relaxed);
  h->from = j->hash_cursor;
  h->to = to;
  /* Hand over the retained blocks that fall in [from, to); they are sorted. */
  struct ferry__block **tail = &h->blocks;
  uint64_t moved = 0;
  while (j->retained && j->retained->offset < to) {
    struct ferry__block *b = j->retained;
    j->retained = b->next;
    b->next = NULL;
    moved += b->cap;
    *tail = b;
    tail = &b->next;
  }
  ferry__budget_unretain(&j->e->budget, moved);
  j->hash_running = 1;
  if (uv_queue_work(&j->e->loop, &h->work, hash_work, hash_done) != 0) {
    j->hash_running = 0;
    *tail = j->retained;
    j->retained = h->blocks;
    ferry__budget_retain(&j->e->budget, moved);
    free(h);
    ferry__job_fail(j, FERRY_E_INTERNAL, 0, "cannot queue hashing");
  }
}

/* Frees the retained blocks of j furthest from its hash cursor (the list is sorted by offset)
 * until `want` bytes are freed or none is left: the shortest tail of the list that frees
 * `want` (all of it when it frees less). */
static uint64_t evict_furthest(struct ferry_engine *e, struct ferry__job *j, uint64_t want) {
  uint64_t from_here = 0, freed = 0;
  for (struct ferry__block *b = j->retained; b; b = b->next) from_here += b->cap;
  struct ferry__block **p = &j->retained;
  while (*p && from_here > 0) {
    struct ferry__block *b = *p;
    from_here -= b->cap;
    if (from_here >= want) { /* the blocks after this one free enough */
      p = &b->next;
      continue;
    }
    *p = b->next;
    freed += b->cap;
    ferry__budget_unretain(&e->budget, b->cap);
    ferry__block_free(e, b);
  }
  return freed;
}

uint64_t ferry__hash_evict(struct ferry_engine *e, uint64_t want) {
  uint64_t freed = 0;
  /* Furthest from the hash cursor first: those would wait longest in memory. A file whose
   * hasher is running keeps its blocks: that step frees memory when it ends, and reading
   * evicted bytes back would only slow the hasher that is already the bottleneck. */
  for (struct ferry__job *j = e->jobs; j && freed < want; j = j->next) {
    if (j->hash_running || j->discard) continue; /* the null sink cannot read bytes back */
    freed += evict_furthest(e, j, want - freed);
  }
  return freed;
}

int ferry__hash_make_room(struct ferry_engine *e, uint64_t need, uint64_t keep) {
  const struct ferry__budget *b = &e->budget;
  if (ferry__budget_fits(b, need)) return 1;
  if (b->retained > keep) {
    uint64_t excess = b->charged + need - b->limit, evictable = b->retained - keep;
    ferry__hash_evict(e, excess < evictable ? excess : evictable);
  }
  return ferry__budget_fits(b, need);
}
