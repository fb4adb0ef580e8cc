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
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

/* A step holds at most HASH_STEP of kept blocks (freed when it ends: the requests waiting for
 * that memory should not wait for a long step) and spans at most HASH_SPAN of the file, the
 * rest read back from the file. Reading back needs no memory of the budget, and each step
 * ends on the loop thread, which hands out the next: while a long path's download keeps that
 * thread busy its completion waited 30-180 ms, and 16 MiB steps of reading back (15 ms each)
 * hashed at 150-250 MB/s while the bytes came at 400 (`cross`: 1.4 GB of 2 GB left to hash
 * at the last byte). */
#define HASH_STEP (16u << 20)
#define HASH_SPAN (256u << 20)

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

/* ---- reading back ---------------------------------------------------------------------
 * Bytes of a step that are not in memory are read back from the file, a piece at a time, by
 * a reader thread that runs ahead of the hasher by READ_SLOTS pieces: the device fills one
 * buffer while SHA-256 runs over the other (read, then hash, one after the other, made the
 * hasher the slowest stage of a long path's download: ~0.5 GB/s here). */

#define READ_PIECE (FERRY__BLOCK_SIZE / 2)
#define READ_SLOTS 2 /* 1 MiB in all, mapped for the step and unmapped after: glibc's heap
                      * would keep it in the worker thread's arena, and peak RSS counts */

enum piece_state { PIECE_EMPTY, PIECE_FULL, PIECE_FAILED };

struct piece {
  uint64_t pos, end; /* the file's bytes [pos, end) are at buf + skip */
  size_t skip;
  enum piece_state state;
};

struct reader {
  struct hash_req *h;
  unsigned char *buf[READ_SLOTS];
  struct piece slot[READ_SLOTS];
  uv_thread_t thread;
  uv_mutex_t mu;
  uv_cond_t cv;
  int threaded; /* else the hasher reads each piece itself when it needs it */
  int stop;
};

/* One piece of the gap [pos, gap_end) into buf: through the O_DIRECT descriptor (aligned
 * reads) while it is allowed, else buffered. Returns 0, or -1 when the file cannot be read. */
static int read_piece(struct hash_req *h, unsigned char *buf, uint64_t pos, uint64_t gap_end,
                      struct piece *p) {
  struct ferry__job *j = h->job;
  while (h->direct) {
    uint64_t from = pos / FERRY__DIO_ALIGN * FERRY__DIO_ALIGN;
    uint64_t to = gap_end - from > READ_PIECE ? from + READ_PIECE : gap_end;
    to = (to + FERRY__DIO_ALIGN - 1) / FERRY__DIO_ALIGN * FERRY__DIO_ALIGN;
    ssize_t n = pread(j->dfd, buf, (size_t)(to - from), (off_t)from);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (uint64_t)n <= pos - from) { /* refused (EINVAL), or short: buffered */
      h->direct = 0;
      break;
    }
    *p = (struct piece){pos, from + (uint64_t)n < gap_end ? from + (uint64_t)n : gap_end,
                        (size_t)(pos - from), PIECE_FULL};
    return 0;
  }
  size_t want = gap_end - pos < READ_PIECE ? (size_t)(gap_end - pos) : READ_PIECE;
  for (;;) {
    ssize_t n = pread(j->fd, buf, want, (off_t)pos);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    *p = (struct piece){pos, pos + (uint64_t)n, 0, PIECE_FULL};
    return 0;
  }
}

/* The step's gaps in file order: calls fn for each [from, to) not covered by its blocks;
 * stops when fn returns nonzero (and returns that). */
static int each_gap(const struct hash_req *h, int (*fn)(void *, uint64_t, uint64_t), void *arg) {
  uint64_t pos = h->from;
  const struct ferry__block *b = h->blocks;
  while (pos < h->to) {
    while (b && b->offset + b->len <= pos) b = b->next;
    if (b && b->offset <= pos) {
      pos = b->offset + b->len < h->to ? b->offset + b->len : h->to;
      continue;
    }
    uint64_t gap_end = b && b->offset < h->to ? b->offset : h->to;
    int r = fn(arg, pos, gap_end);
    if (r) return r;
    pos = gap_end;
  }
  return 0;
}

struct reader_cursor {
  struct reader *r;
  unsigned k; /* pieces handed over so far */
};

static int read_gap(void *arg, uint64_t pos, uint64_t gap_end) {
  struct reader_cursor *c = arg;
  struct reader *r = c->r;
  while (pos < gap_end) {
    int s = (int)(c->k % READ_SLOTS);
    uv_mutex_lock(&r->mu);
    while (r->slot[s].state != PIECE_EMPTY && !r->stop) uv_cond_wait(&r->cv, &r->mu);
    int stop = r->stop;
    uv_mutex_unlock(&r->mu);
    if (stop) return 1;
    struct piece p;
    int failed = read_piece(r->h, r->buf[s], pos, gap_end, &p) != 0;
    if (failed) p = (struct piece){pos, gap_end, 0, PIECE_FAILED};
    uv_mutex_lock(&r->mu);
    r->slot[s] = p;
    uv_cond_broadcast(&r->cv);
    uv_mutex_unlock(&r->mu);
    if (failed) return 1;
    pos = p.end;
    c->k++;
  }
  return 0;
}

static void reader_main(void *arg) {
  struct reader_cursor c = {arg, 0};
  each_gap(((struct reader *)arg)->h, read_gap, &c);
}

static int any_gap(void *arg, uint64_t from, uint64_t to) {
  (void)arg, (void)from, (void)to;
  return 1;
}

/* Buffers for the pieces, and the reader thread when the step has a gap at all. Returns 0, or
 * -1 when out of memory. Without a thread (it could not start) the hasher reads itself. */
static int reader_start(struct reader *r, struct hash_req *h) {
  *r = (struct reader){.h = h};
  if (!each_gap(h, any_gap, NULL)) return 0;
  void *p = mmap(NULL, (size_t)READ_PIECE * READ_SLOTS, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return -1;
  for (int i = 0; i < READ_SLOTS; i++) r->buf[i] = (unsigned char *)p + (size_t)i * READ_PIECE;
  if (uv_mutex_init(&r->mu) != 0) return 0;
  if (uv_cond_init(&r->cv) != 0) {
    uv_mutex_destroy(&r->mu);
    return 0;
  }
  r->threaded = uv_thread_create(&r->thread, reader_main, r) == 0;
  if (!r->threaded) {
    uv_cond_destroy(&r->cv);
    uv_mutex_destroy(&r->mu);
  }
  return 0;
}

static void reader_stop(struct reader *r) {
  if (r->threaded) {
    uv_mutex_lock(&r->mu);
    r->stop = 1;
    uv_cond_broadcast(&r->cv);
    uv_mutex_unlock(&r->mu);
    uv_thread_join(&r->thread);
    uv_cond_destroy(&r->cv);
    uv_mutex_destroy(&r->mu);
  }
  if (r->buf[0]) munmap(r->buf[0], (size_t)READ_PIECE * READ_SLOTS);
}

/* The hasher's side of a gap: each piece from the reader (or read here), hashed. */
static int hash_gap(void *arg, uint64_t pos, uint64_t gap_end) {
  struct reader_cursor *c = arg;
  struct reader *r = c->r;
  struct hash_req *h = r->h;
  while (pos < gap_end) {
    int s = (int)(c->k % READ_SLOTS);
    struct piece p;
    if (r->threaded) {
      uv_mutex_lock(&r->mu);
      while (r->slot[s].state == PIECE_EMPTY) uv_cond_wait(&r->cv, &r->mu);
      p = r->slot[s];
      uv_mutex_unlock(&r->mu);
    } else if (read_piece(h, r->buf[s], pos, gap_end, &p) != 0) {
      p.state = PIECE_FAILED;
    }
    if (p.state == PIECE_FAILED || p.pos != pos) {
      h->err = FERRY_E_IO;
      return 1;
    }
    EVP_DigestUpdate(h->job->sha, r->buf[s] + p.skip, (size_t)(p.end - p.pos));
    h->read_back += p.end - p.pos;
    pos = p.end;
    c->k++;
    if (r->threaded) {
      uv_mutex_lock(&r->mu);
      r->slot[s].state = PIECE_EMPTY;
      uv_cond_broadcast(&r->cv);
      uv_mutex_unlock(&r->mu);
    }
  }
  return 0;
}

static void hash_work(uv_work_t *w) {
  struct hash_req *h = ferry__container_of(w, struct hash_req, work);
  struct reader r;
  if (reader_start(&r, h) != 0) {
    reader_stop(&r);
    h->err = FERRY_E_NOMEM;
    return;
  }
  struct reader_cursor c = {&r, 0};
  uint64_t pos = h->from;
  const struct ferry__block *b = h->blocks;
  while (pos < h->to && !h->err) {
    while (b && b->offset + b->len <= pos) b = b->next;
    if (b && b->offset <= pos) {
      uint64_t end = b->offset + b->len < h->to ? b->offset + b->len : h->to;
      EVP_DigestUpdate(h->job->sha, b->data + (pos - b->offset), (size_t)(end - pos));
      pos = end;
      continue;
    }
    /* A gap: those bytes were evicted from memory or resumed from disk. */
    uint64_t gap_end = b && b->offset < h->to ? b->offset : h->to;
    hash_gap(&c, pos, gap_end);
    pos = gap_end;
  }
  reader_stop(&r);
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
  /* An ended job's files are closed: a step would fail at once and kick the next, forever (a
   * failed write's job can end inside the take_written batch that kicks the hasher next). */
  if (j->hash_running || ferry__job_draining(j) || ferry__job_ended(j) || !j->sha || j->no_hash)
    return;
  if (!j->hash_ready) {
    if (j->git_sha1 && !j->size_known) return; /* git's header needs the size first */
    ferry__hash_start(j);
  }
  uint64_t to = ferry__ivset_contiguous_end(&j->written, j->hash_cursor);
  if (to <= j->hash_cursor) return;
  /* Hash in steps of at most HASH_STEP of kept blocks and HASH_SPAN of the file. The cut never
   * splits a kept block; the first one is always taken (so a cut is past the cursor). */
  uint64_t limit = j->hash_cursor + HASH_SPAN, kept = 0;
  for (struct ferry__block *b = j->retained; b && b->offset < limit; b = b->next) {
    if (kept >= HASH_STEP) {
      limit = b->offset;
      break;
    }
    kept += b->len;
    if (b->offset + b->len > limit) limit = b->offset + b->len;
  }
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
  /* Furthest from the hash cursor first: those would wait longest in memory. */
  for (struct ferry__job *j = e->jobs; j && freed < want; j = j->next) {
    if (j->discard) continue; /* the null sink cannot read bytes back */
    freed += evict_furthest(e, j, want - freed);
  }
  return freed;
}

int ferry__hash_make_room(struct ferry_engine *e, uint64_t need, uint64_t keep) {
  const struct ferry__budget *b = &e->budget;
  if (ferry__budget_fits(b, need)) return 1;
  if (b->retained > keep) {
    uint64_t excess = ferry__budget_excess(b, need), evictable = b->retained - keep;
    ferry__hash_evict(e, excess < evictable ? excess : evictable);
  }
  return ferry__budget_fits(b, need);
}
