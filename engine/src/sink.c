/* sink: the disk side. Blocks are written with pwrite at their offset by up to two workers
 * per file on libuv's thread pool (with early writeback), journal records (with the XXH3 the
 * body callback computed) are appended once a block is on disk, the previous run's journal is
 * re-checked on a worker, and a verified file is fsynced and renamed into place. Nothing else
 * touches the final path. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "internal.h"
#include "plan.h"
#include "xxh3_fast.h"
#include "grow.h"

uint64_t ferry__round_up(uint64_t v) { return (v + FERRY__ALIGN - 1) / FERRY__ALIGN * FERRY__ALIGN; }

struct ferry__block *ferry__block_new(struct ferry_engine *e, struct ferry__job *j,
                                      uint64_t offset, size_t cap) {
  struct ferry__block *b = ferry__budget_acquire(&e->budget, cap);
  if (!b) return NULL;
  b->next = NULL;
  b->job = j;
  b->offset = offset;
  b->len = 0;
  b->err = 0;
  ferry__xxh3_reset(&b->xst);
  return b;
}

void ferry__block_free(struct ferry_engine *e, struct ferry__block *b) {
  ferry__budget_give(&e->budget, b);
}

/* Whole aligned blocks go straight to the device with O_DIRECT: no copy into the page
 * cache (the largest CPU cost of a download after SHA-256) and nothing left to write back at
 * the final fsync. Unaligned pieces (a file's tail, a request cut short) and filesystems
 * without O_DIRECT take the page cache. j->dfd stays open until the file is closed: another
 * writer may be using it, so a refusal only sets a flag. */
static int write_direct(struct ferry__block *b) {
  struct ferry__job *j = b->job;
  if (j->dfd < 0 || atomic_load_explicit(&j->direct_refused, memory_order_relaxed) ||
      b->offset % FERRY__DIO_ALIGN || b->len % FERRY__DIO_ALIGN)
    return -1;
  size_t done = 0;
  while (done < b->len) {
    ssize_t n = pwrite(j->dfd, b->data + done, b->len - done, (off_t)(b->offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EINVAL) { /* refused after all: this file goes buffered */
      atomic_store_explicit(&j->direct_refused, 1, memory_order_relaxed);
      return -1;
    }
    if (n < 0) {
      b->err = ferry__errno_to_err(errno);
      return 0;
    }
    if (n == 0 || (size_t)n % FERRY__DIO_ALIGN) return -1; /* odd: rewrite it buffered */
    done += (size_t)n;
  }
  return 0;
}

/* The test hook FERRY_TEST_WRITE_MS_PER_MIB: a disk slower than the link, for the tests of
 * memory under backpressure (internal.h; never set in normal runs). */
static void test_slow_disk(const struct ferry__block *b) {
  unsigned ms = b->job->e->test_write_ms_per_mib;
  if (ms) usleep((useconds_t)((uint64_t)ms * 1000 * b->len / FERRY__BLOCK_SIZE));
}

static void write_one(struct ferry__block *b) {
  if (b->job->discard) return; /* the null sink: counted and hashed, never written */
  test_slow_disk(b);
  if (write_direct(b) == 0) return;
  int fd = b->job->fd;
  size_t done = 0;
  while (done < b->len) {
    ssize_t n = pwrite(fd, b->data + done, b->len - done, (off_t)(b->offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      b->err = ferry__errno_to_err(n < 0 ? errno : ENOSPC);
      return;
    }
    done += (size_t)n;
  }
  /* Start writeback now so the fsync before the rename has little left to do. Small files
   * are left to the batch's syncfs, which writes many of them back in one go instead of an
   * I/O request each. */
  if (b->early_writeback)
    sync_file_range(fd, (off_t)b->offset, (off_t)b->len, SYNC_FILE_RANGE_WRITE);
}

/* Appends b to a singly linked queue (the callers hold e->write_lock). */
static void queue_push(struct ferry__block **head, struct ferry__block **tail,
                       struct ferry__block *b) {
  b->next = NULL;
  if (*tail) (*tail)->next = b;
  else *head = b;
  *tail = b;
}

/* Empties a queue under e->write_lock and returns what it held, in order. */
static struct ferry__block *queue_take_all(struct ferry_engine *e, struct ferry__block **head,
                                           struct ferry__block **tail) {
  uv_mutex_lock(&e->write_lock);
  struct ferry__block *list = *head;
  *head = *tail = NULL;
  uv_mutex_unlock(&e->write_lock);
  return list;
}

/* A writer: a worker takes blocks from the file's queue for as long as there are any, and
 * hands each written block back at once (the engine's written list and an async wake-up), so
 * the hasher and new requests get its memory without waiting for a batch, and the disk never
 * waits for the loop thread between blocks. The queues are shared with the loop thread under
 * e->write_lock; writers_active is the loop thread's own. */
static void write_work(uv_work_t *w) {
  struct ferry__job *j = w->data;
  struct ferry_engine *e = j->e;
  for (;;) {
    uv_mutex_lock(&e->write_lock);
    struct ferry__block *b = j->wq_head;
    if (b) {
      j->wq_head = b->next;
      if (!j->wq_head) j->wq_tail = NULL;
    }
    uv_mutex_unlock(&e->write_lock);
    if (!b) return;
    b->next = NULL;
    write_one(b);
    uv_mutex_lock(&e->write_lock);
    queue_push(&e->written_head, &e->written_tail, b);
    uv_mutex_unlock(&e->write_lock);
    uv_async_send(&e->written_async);
  }
}

/* What a written block leaves behind, wherever it was written: its journal record, its
 * place in the written set, the count. 0, or FERRY_E_* with `why` set. */
static int record_written(struct ferry__block *b, char *why, size_t why_len) {
  struct ferry__job *j = b->job;
  if (b->err) {
    snprintf(why, why_len, "%s writing %s at offset %llu",
             b->err == FERRY_E_NOSPC ? "no space left on device" : "I/O error", j->part_path,
             (unsigned long long)b->offset);
    return b->err;
  }
  if (j->jfd >= 0) {
    struct ferry__jrecord r = {b->offset, (uint32_t)b->len, b->xxh3};
    int err = ferry__journal_append(j->jfd, &r);
    if (err) {
      snprintf(why, why_len, "cannot append to the journal %s", j->journal_path);
      return err;
    }
  }
  if (ferry__ivset_add(&j->written, b->offset, b->offset + b->len)) {
    snprintf(why, why_len, "out of memory");
    return FERRY_E_NOMEM;
  }
  j->e->st.bytes_done += b->len;
  return 0;
}

/* On the loop: a written block is recorded in the journal and handed to the hasher. */
static void block_written(struct ferry__block *b) {
  struct ferry__job *j = b->job;
  struct ferry_engine *e = j->e;
  j->pending_writes--;
  char why[600];
  int err = ferry__job_restarting(j) ? 0 : record_written(b, why, sizeof(why));
  if (err) ferry__job_fail(j, err, 0, "%s", why);
  if (err || ferry__job_restarting(j)) ferry__block_free(e, b);
  else ferry__hash_retain(j, b);
}

int ferry__block_write_now(struct ferry__block *b, char *why, size_t why_len) {
  struct ferry__job *j = b->job;
  b->xxh3 = ferry__xxh3_digest(&b->xst);
  b->early_writeback = !j->size_known || j->size >= FERRY__SMALL_FILE;
  b->err = 0;
  write_one(b);
  int err = record_written(b, why, why_len);
  if (!err) ferry__hash_kick(j); /* it reads these bytes back from the file */
  return err;
}

static void take_written(struct ferry_engine *e) {
  struct ferry__block *list = queue_take_all(e, &e->written_head, &e->written_tail);
  while (list) {
    struct ferry__block *b = list;
    struct ferry__job *j = b->job;
    list = b->next;
    b->next = NULL;
    block_written(b);
    if (!list || list->job != j) { /* the file's run of blocks ends here */
      ferry__hash_kick(j);
      ferry__job_check_progress(j);
    }
  }
}

void ferry__sink_on_written(uv_async_t *a) {
  struct ferry_engine *e = ferry__container_of(a, struct ferry_engine, written_async);
  take_written(e);
  ferry__pump(e);
}

static void start_writers(struct ferry__job *j);

static void writer_done(uv_work_t *w, int status) {
  (void)status; /* never cancelled; blocks still queued are picked up below either way */
  struct ferry__job *j = w->data;
  struct ferry_engine *e = j->e;
  w->data = NULL; /* this slot is free again */
  j->writers_active--;
  take_written(e);
  start_writers(j); /* blocks queued after the worker found the queue empty */
  ferry__job_check_progress(j);
  ferry__pump(e);
}

static void drop_queue(struct ferry__job *j) {
  struct ferry_engine *e = j->e;
  struct ferry__block *queue = queue_take_all(e, &j->wq_head, &j->wq_tail);
  while (queue) {
    struct ferry__block *b = queue;
    queue = b->next;
    j->pending_writes--;
    ferry__block_free(e, b);
  }
}

/* One writer per queued block, up to FERRY__FILE_WRITERS. The queue length is read on the
 * loop thread, which is the only one that adds to it (workers only take). */
static void start_writers(struct ferry__job *j) {
  struct ferry_engine *e = j->e;
  uv_mutex_lock(&e->write_lock);
  int queued = 0;
  for (struct ferry__block *b = j->wq_head; b && queued < FERRY__FILE_WRITERS; b = b->next) queued++;
  uv_mutex_unlock(&e->write_lock);
  for (int i = 0; i < FERRY__FILE_WRITERS && j->writers_active < queued; i++) {
    uv_work_t *w = &j->write_work[i];
    if (w->data) continue; /* busy */
    w->data = j;
    j->writers_active++;
    if (uv_queue_work(&e->loop, w, write_work, writer_done) == 0) continue;
    w->data = NULL;
    j->writers_active--;
    if (j->writers_active == 0) {
      drop_queue(j);
      ferry__job_fail(j, FERRY_E_INTERNAL, 0, "cannot queue a write");
    }
    return;
  }
}

void ferry__block_submit(struct ferry__block *b) {
  struct ferry__job *j = b->job;
  struct ferry_engine *e = j->e;
  j->pending_writes++;
  b->xxh3 = ferry__xxh3_digest(&b->xst);
  /* Decided here, on the loop thread, which is the only one that changes the size. */
  b->early_writeback = !j->size_known || j->size >= FERRY__SMALL_FILE;
  uv_mutex_lock(&e->write_lock);
  queue_push(&j->wq_head, &j->wq_tail, b);
  uv_mutex_unlock(&e->write_lock);
  if (j->writers_active < FERRY__FILE_WRITERS) start_writers(j);
}

/* Re-checking the previous run's journal: each record's bytes must still hash to its XXH3. */
struct verify_req {
  uv_work_t work;
  struct ferry__job *job;
  unsigned char *ok; /* one flag per record */
};

static void verify_work(uv_work_t *w) {
  struct verify_req *v = ferry__container_of(w, struct verify_req, work);
  struct ferry__job *j = v->job;
  unsigned char *buf = malloc(FERRY__BLOCK_SIZE);
  if (!buf) return;
  for (size_t i = 0; i < j->old->nrecords; i++) {
    const struct ferry__jrecord *r = &j->old->records[i];
    if (!ferry__ivset_covers(&j->checking, r->offset, r->offset + r->length)) continue;
    ssize_t n = pread(j->fd, buf, r->length, (off_t)r->offset);
    v->ok[i] = n == (ssize_t)r->length && ferry__xxh3(buf, r->length) == r->xxh3;
  }
  free(buf);
}

static void verify_done(uv_work_t *w, int status) {
  struct verify_req *v = ferry__container_of(w, struct verify_req, work);
  struct ferry__job *j = v->job;
  struct ferry_engine *e = j->e;
  j->verify_running = 0;
  uint64_t good = 0, bad = 0;
  for (size_t i = 0; status == 0 && i < j->old->nrecords; i++) {
    const struct ferry__jrecord *r = &j->old->records[i];
    if (!v->ok[i] || ferry__ivset_covers(&j->written, r->offset, r->offset + r->length)) continue;
    ferry__ivset_add(&j->written, r->offset, r->offset + r->length);
    good += r->length;
  }
  /* Whatever was claimed but did not check out is fetched again: checking minus written. */
  for (size_t i = 0; i < j->written.n; i++)
    ferry__ivset_remove(&j->checking, j->written.r[i].start, j->written.r[i].end);
  for (size_t i = 0; i < j->checking.n; i++) {
    ferry__ivset_add(&j->unassigned, j->checking.r[i].start, j->checking.r[i].end);
    bad += j->checking.r[i].end - j->checking.r[i].start;
  }
  ferry__ivset_clear(&j->checking);
  j->bytes_resumed += good;
  e->st.bytes_resumed += good;
  e->st.bytes_done += good;
  ferry__notice(e, "%s: resumed %llu bytes from the journal%s", j->path, (unsigned long long)good,
             bad ? " (some recorded data did not check out and is fetched again)" : "");
  free(v->ok);
  free(v);
  ferry__jparser_free(j->old);
  free(j->old);
  j->old = NULL;
  ferry__hash_kick(j);
  ferry__job_check_progress(j);
  ferry__pump(e);
}

void ferry__sink_verify_journal(struct ferry__job *j) {
  struct verify_req *v = calloc(1, sizeof(*v));
  if (v) v->ok = calloc(j->old->nrecords ? j->old->nrecords : 1, 1);
  if (!v || !v->ok) {
    if (v) free(v);
    ferry__job_fail(j, FERRY_E_NOMEM, 0, "out of memory");
    return;
  }
  v->job = j;
  j->verify_running = 1;
  if (uv_queue_work(&j->e->loop, &v->work, verify_work, verify_done) != 0) {
    j->verify_running = 0;
    free(v->ok);
    free(v);
    ferry__job_fail(j, FERRY_E_INTERNAL, 0, "cannot queue the journal check");
  }
}

/* fsync, rename into place: the file appears complete or not at all. (Its folder is fsynced
 * when the run ends: ferry__sink_sync_dirs.) Files that finish while a batch is on the
 * worker wait and go together in the next batch: for several files, one syncfs makes all
 * their data durable at once (one journal commit), then each is renamed. */
#define SYNCFS_MIN_FILES 4

struct final_batch {
  uv_work_t work;
  struct ferry__job **jobs;
  size_t n;
  int *err;
  char (*why)[256];
};

static void final_work(uv_work_t *w) {
  struct final_batch *f = ferry__container_of(w, struct final_batch, work);
  int synced = f->n >= SYNCFS_MIN_FILES && syncfs(f->jobs[0]->fd) == 0;
  for (size_t i = 0; i < f->n; i++) {
    struct ferry__job *j = f->jobs[i];
    if (!synced && fsync(j->fd) != 0) {
      f->err[i] = ferry__errno_to_err(errno);
      snprintf(f->why[i], sizeof(f->why[i]), "fsync %s: %s", j->part_path, strerror(errno));
    } else if (rename(j->part_path, j->path) != 0) {
      f->err[i] = ferry__errno_to_err(errno);
      snprintf(f->why[i], sizeof(f->why[i]), "rename to %s: %s", j->path, strerror(errno));
    }
  }
}

/* Remembers the folder of a renamed file (on the loop thread); most runs have one. */
static void note_dir(struct ferry_engine *e, const char *path) {
  char *dup = strdup(path);
  if (!dup) return;
  char *dir = strdup(dirname(dup));
  free(dup);
  if (!dir) return;
  for (size_t i = e->nsynced_dirs; i-- > 0;)
    if (!strcmp(e->synced_dirs[i], dir)) {
      free(dir);
      return;
    }
  if (ferry__grow(&e->synced_dirs, &e->capsynced_dirs, e->nsynced_dirs + 1,
                  sizeof(*e->synced_dirs), 8) != 0) {
    free(dir);
    return;
  }
  e->synced_dirs[e->nsynced_dirs++] = dir;
}

void ferry__sink_sync_dirs(struct ferry_engine *e) {
  for (size_t i = 0; i < e->nsynced_dirs; i++) {
    int dfd = open(e->synced_dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
    free(e->synced_dirs[i]);
  }
  free(e->synced_dirs);
  e->synced_dirs = NULL;
  e->nsynced_dirs = e->capsynced_dirs = 0;
}

static void kick_final(struct ferry_engine *e);

static void finish_job(struct ferry__job *j, int err, const char *why) {
  struct ferry_engine *e = j->e;
  close(j->fd);
  j->fd = -1;
  if (j->dfd >= 0) close(j->dfd);
  j->dfd = -1;
  if (j->jfd >= 0) close(j->jfd);
  j->jfd = -1;
  e->jobs_final--;
  if (err) {
    snprintf(j->message, sizeof(j->message), "%s", why);
  } else {
    unlink(j->journal_path);
    note_dir(e, j->path);
    if (e->cfg.verbose) ferry__log(e, "done: %s sha256 %s", j->path, j->sha_hex);
  }
  ferry__job_end(j, err);
}

static void free_batch(struct final_batch *f) {
  free(f->jobs), free(f->err), free(f->why);
  free(f);
}

static void final_done(uv_work_t *w, int status) {
  struct final_batch *f = ferry__container_of(w, struct final_batch, work);
  struct ferry_engine *e = f->jobs[0]->e;
  e->final_running = 0;
  for (size_t i = 0; i < f->n; i++) {
    if (status != 0 && !f->err[i]) f->err[i] = FERRY_E_INTERNAL;
    finish_job(f->jobs[i], f->err[i], f->why[i]);
  }
  free_batch(f);
  kick_final(e);
  ferry__pump(e);
}

/* Hands every queued file to the worker as one batch, unless a batch is running. */
static void kick_final(struct ferry_engine *e) {
  if (e->final_running || !e->final_head) return;
  size_t n = 0;
  for (struct ferry__job *j = e->final_head; j; j = j->next_final) n++;
  struct final_batch *f = calloc(1, sizeof(*f));
  if (f) {
    f->jobs = calloc(n, sizeof(*f->jobs));
    f->err = calloc(n, sizeof(*f->err));
    f->why = calloc(n, sizeof(*f->why));
  }
  if (!f || !f->jobs || !f->err || !f->why) {
    if (f) free_batch(f);
    for (struct ferry__job *j = e->final_head, *next; j; j = next) {
      next = j->next_final;
      finish_job(j, FERRY_E_NOMEM, "out of memory");
    }
    e->final_head = e->final_tail = NULL;
    return;
  }
  for (struct ferry__job *j = e->final_head; j; j = j->next_final) f->jobs[f->n++] = j;
  e->final_head = e->final_tail = NULL;
  e->final_running = 1;
  if (uv_queue_work(&e->loop, &f->work, final_work, final_done) != 0) {
    e->final_running = 0;
    for (size_t i = 0; i < f->n; i++) finish_job(f->jobs[i], FERRY_E_INTERNAL, "cannot queue the final rename");
    free_batch(f);
  }
}

/* A verified file leaves the open files' count while it waits: a syncfs takes tens of ms
 * here, and the files waiting for it must not keep new ones from starting. */
void ferry__sink_finalize(struct ferry__job *j) {
  struct ferry_engine *e = j->e;
  if (j->discard) { /* the null sink: nothing to make durable or rename */
    e->jobs_open--;
    ferry__job_end(j, 0);
    return;
  }
  ferry__job_set_state(j, FERRY__J_FINAL, "verified: fsync and rename");
  e->jobs_open--;
  e->jobs_final++;
  j->next_final = NULL;
  if (e->final_tail) e->final_tail->next_final = j;
  else e->final_head = j;
  e->final_tail = j;
  kick_final(e);
}
