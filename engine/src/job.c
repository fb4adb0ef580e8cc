/* job: the lifecycle of one download.
 *
 * NEW -> PROBING (first request: size, validator, final URL) -> RUNNING (ranges) ->
 * FINAL (fsync + rename on a worker) -> DONE; any state -> FAILED. A failure or a restart
 * (the remote file changed) is first marked pending: requests in flight are cancelled from
 * the pump, and the job acts only once no write, hash or check of it is still running. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "internal.h"
#include "control.h"
#include "plan.h"

static const char *const state_names[] = {"new", "probing", "running", "draining", "final",
                                          "done", "failed"};

void ferry__job_set_state(struct ferry__job *j, enum ferry__job_state to, const char *why) {
  if (j->e->cfg.verbose)
    ferry__log(j->e, "%s: %s -> %s (%s)", j->label, state_names[j->state], state_names[to], why);
  j->state = (int)to;
}

void ferry__job_end(struct ferry__job *j, int err) {
  struct ferry_engine *e = j->e;
  ferry__job_unlock(j); /* renamed, or failed: another run may take PATH now */
  if (err) {
    j->error = err;
    e->st.files_failed++;
    if (!e->first_error) e->first_error = err;
    ferry__job_set_state(j, FERRY__J_FAILED, ferry_strerror(err));
  } else {
    e->st.files_done++;
    ferry__job_set_state(j, FERRY__J_DONE, "verified and in place");
  }
  if (j->done_cb) j->done_cb(j->done_user, (struct ferry_job *)j);
  if (j->from_source) { /* freed by the pump once quiet (engine.c) */
    e->source_open--;
    j->next_ended = e->source_ended;
    e->source_ended = j;
  }
}

/* Stops taking new requests for `why` (FERRY__DRAIN_*); the job acts once it is quiet. */
static void drain(struct ferry__job *j, int why, const char *what) {
  if (j->state != FERRY__J_DRAINING) {
    j->drained_from = j->state;
    ferry__job_set_state(j, FERRY__J_DRAINING, what);
  }
  j->drain |= why;
}

static int quiet(const struct ferry__job *j) { return ferry__job_quiet(j); }

static void drop_old_journal(struct ferry__job *j) {
  if (!j->old) return;
  ferry__jparser_free(j->old);
  free(j->old);
  j->old = NULL;
}

/* One process per destination: two runs writing the same PATH.part interleave their bytes,
 * and the first to finish would rename a mix that matches neither source (after verifying
 * its own hash on bytes partly written by the other). So a job locks PATH.ferry-lock before
 * its first request and keeps it until it has ended; a lock whose owner died on this host is
 * taken over. Returns 0, or fails the job (FERRY_E_BUSY when another process holds it). */
static int lock_destination(struct ferry__job *j) {
  if (j->caller_locked || j->lock.path) return 0; /* a restart keeps the lock it has */
  char path[FERRY__PATH_MAX + 16];
  int n = snprintf(path, sizeof(path), "%s.ferry-lock", j->path);
  if (n < 0 || (size_t)n >= sizeof(path)) {
    ferry__job_fail(j, FERRY_E_INVAL, 0, "%s: path too long", j->path);
    return FERRY_E_INVAL;
  }
  /* The engine never creates the output's folder (a missing one fails as before, on open). */
  struct ferry__lock_opts lo = {.no_mkdir = 1};
  for (int attempt = 0; attempt < 3; attempt++) {
    int r = ferry__lock_acquire(path, &lo, &j->lock);
    if (r == 0) return 0;
    if (r != FERRY__LOCK_HELD) {
      int saved = errno;
      ferry__job_fail(j, r, 0, "cannot create the lock file %s: %s", path, strerror(saved));
      return r;
    }
    struct ferry__lock_owner o;
    int found = 0;
    r = ferry__lock_read(path, &o, &found);
    if (r == 0 && !found) continue; /* released between our attempt and our look */
    char host[256];
    ferry__lock_hostname(host);
    if (r == 0 && o.pid == (long)getpid() && !strcmp(o.host, host))
      ferry__job_fail(j, FERRY_E_BUSY, 0, "%s is the output of another download of this run",
                      j->path);
    else if (r == 0)
      ferry__job_fail(j, FERRY_E_BUSY, 0,
                      "%s is in use by another process (pid %ld on %s, lock file %s): not "
                      "downloading it twice at once",
                      j->path, o.pid, o.host, path);
    else /* its owner is still writing it (or it is not ours): judged again after a while */
      ferry__job_fail(j, FERRY_E_BUSY, 0, "%s is in use by another process (lock file %s)",
                      j->path, path);
    return FERRY_E_BUSY;
  }
  ferry__job_fail(j, FERRY_E_BUSY, 0, "%s is in use by another process (lock file %s)", j->path,
                  path);
  return FERRY_E_BUSY;
}

void ferry__job_unlock(struct ferry__job *j) {
  if (j->lock.path) ferry__lock_release(&j->lock);
}

/* A lock older than a day is stale whoever holds it (lock.c: an owner on another host cannot
 * be asked whether it still runs), and a large file on a slow link can take longer: the locks
 * of running jobs are stamped again every hour. */
#define LOCK_REFRESH_MS (3600u * 1000u)
void ferry__job_refresh_locks(struct ferry_engine *e) {
  uint64_t now = uv_now(&e->loop);
  if (now - e->locks_stamped_ms < LOCK_REFRESH_MS) return;
  e->locks_stamped_ms = now;
  for (struct ferry__job *j = e->sched_head; j; j = j->next)
    if (j->lock.path && ferry__lock_refresh(&j->lock) == FERRY__LOCK_LOST)
      /* Broken as stale: another process may be writing the same .part now. */
      ferry__job_fail(j, FERRY_E_BUSY, 0, "%s: its lock %s was taken by another process",
                      j->path, j->lock.path);
}

/* A symbolic link where ferry keeps its partial data, journal or lock was planted by someone
 * else: writing through it would overwrite its target, and renaming it would leave PATH
 * pointing there. It is refused, not removed: the link and its target stay as they are, the
 * message names it, and nothing is requested. (The opens below use O_NOFOLLOW / O_EXCL, so a
 * link that appears after this check fails them instead of being followed.) A link at PATH
 * itself is fine: the final rename replaces the link, never its target. */
static int refuse_links(struct ferry__job *j) {
  char lock[FERRY__PATH_MAX + 16];
  snprintf(lock, sizeof(lock), "%s.ferry-lock", j->path);
  const char *mine[] = {j->part_path, j->journal_path, j->caller_locked ? NULL : lock};
  for (size_t i = 0; i < sizeof(mine) / sizeof(mine[0]); i++) {
    if (!mine[i] || !ferry__is_symlink(mine[i])) continue;
    ferry__job_fail(j, FERRY_E_IO, 0,
                    "refusing to write through %s: it is a symbolic link (ferry writes only "
                    "files it creates there; remove the link to download)",
                    mine[i]);
    return FERRY_E_IO;
  }
  return 0;
}

/* Checks that cost nothing and would otherwise fail only after the whole transfer: a folder
 * at PATH (the final rename cannot replace it), and with make_parents the missing folders
 * of PATH made here, before the lock that lives beside PATH. ferry__mkdirs only calls mkdir,
 * which never follows a link at the name it creates, so a planted link to somewhere else
 * is not made into a folder there. */
static int prepare_destination(struct ferry__job *j) {
  struct stat st;
  if (stat(j->path, &st) == 0 && S_ISDIR(st.st_mode)) {
    ferry__job_fail(j, FERRY_E_IO, 0, "%s is a directory: name the file to write inside it",
                    j->path);
    return FERRY_E_IO;
  }
  const char *slash = strrchr(j->path, '/');
  if (!j->make_parents || !slash || slash == j->path) return 0;
  char dir[FERRY__PATH_MAX];
  size_t n = (size_t)(slash - j->path);
  if (n >= sizeof(dir)) {
    ferry__job_fail(j, FERRY_E_INVAL, 0, "%s: path too long", j->path);
    return FERRY_E_INVAL;
  }
  memcpy(dir, j->path, n);
  dir[n] = 0;
  errno = 0;
  int r = ferry__mkdirs(dir);
  if (r) {
    int saved = errno;
    ferry__job_fail(j, r, 0, "cannot create the folder %s: %s", dir,
                    r == FERRY_E_IO && saved == 0 ? "not a folder" : strerror(saved));
  }
  return r;
}

int ferry__job_open(struct ferry__job *j) {
  struct ferry_engine *e = j->e;
  uint64_t probe_start = 0, probe_limit = UINT64_MAX;
  int refused = 0;
  if (!j->discard) { /* the null sink has no destination to check or lock */
    refused = prepare_destination(j);
    if (!refused) refused = refuse_links(j);
    if (!refused) refused = lock_destination(j);
  }
  if (refused) return refused;
  ferry__job_set_state(j, FERRY__J_PROBING, "first request");
  e->jobs_open++;
  if (!j->no_resume) {
    struct ferry__jparser *p = malloc(sizeof(*p));
    if (!p) return FERRY_E_NOMEM;
    ferry__jparser_init(p);
    enum ferry__jstatus st = ferry__journal_load(j->journal_path, p);
    if (st == FERRY__J_OK && p->nrecords > 0) {
      j->old = p;
      /* Probe the first byte the journal does not cover, so the probe's data is useful. */
      struct ferry__ivset rec;
      ferry__ivset_init(&rec);
      for (size_t i = 0; i < p->nrecords; i++)
        ferry__ivset_add(&rec, p->records[i].offset, p->records[i].offset + p->records[i].length);
      probe_start = ferry__ivset_contiguous_end(&rec, 0);
      /* The probe fetches the first hole and no more. A recorded block it overlapped in
       * part could not be re-checked (its XXH3 covers the whole block), so its other part
       * was reported as "did not check out" and fetched again, though nothing was wrong
       * on disk: after a clean Ctrl-C, in about one resume of ten. */
      for (size_t i = 0; i < rec.n && probe_start < p->ident.size; i++)
        if (rec.r[i].start > probe_start) {
          probe_limit = rec.r[i].start;
          break;
        }
      if (probe_start >= p->ident.size) { /* all recorded: stopped while hashing or renaming */
        probe_start = 0;
        for (size_t i = 0; i < p->nrecords; i++) /* the probe is one whole record */
          if (p->records[i].offset == 0 && p->records[i].length < probe_limit)
            probe_limit = p->records[i].length;
      }
      ferry__ivset_free(&rec);
    } else {
      if (st == FERRY__J_DAMAGED)
        ferry__notice(e, "%s: journal damaged (%s): discarded, starting over", j->journal_path,
                      p->why);
      ferry__jparser_free(p);
      free(p);
    }
  }
  uint64_t end = probe_start + e->chunk;
  if (end > probe_limit) end = probe_limit;
  if (j->old && end > j->old->ident.size) end = j->old->ident.size;
  if (j->expected_size >= 0 && !j->old && end > (uint64_t)j->expected_size && j->expected_size > 0)
    end = (uint64_t)j->expected_size;
  if (end <= probe_start) end = probe_start + 1;
  return ferry__xfer_start(j, FERRY__X_PROBE, probe_start, end, 0);
}

/* Space check and preallocation: fallocate reserves the blocks, so a full disk is found here
 * and not halfway through. Returns 0 or FERRY_E_NOSPC / FERRY_E_IO. */
static int preallocate(struct ferry__job *j) {
  if (j->size == 0) return ftruncate(j->fd, 0) == 0 ? 0 : FERRY_E_IO;
  if (fallocate(j->fd, 0, 0, (off_t)j->size) == 0) return 0;
  if (errno != EOPNOTSUPP && errno != ENOSYS) return ferry__errno_to_err(errno);
  struct statvfs sv;
  if (fstatvfs(j->fd, &sv) == 0 && (uint64_t)sv.f_bavail * sv.f_frsize < j->size)
    return FERRY_E_NOSPC;
  return ftruncate(j->fd, (off_t)j->size) == 0 ? 0 : FERRY_E_IO;
}

static void journal_identity(const struct ferry__job *j, struct ferry__jident *id) {
  snprintf(id->id, sizeof(id->id), "%s", j->identity);
  id->size = j->size;
  snprintf(id->validator, sizeof(id->validator), "%s", j->validator);
  snprintf(id->sha256, sizeof(id->sha256), "%s", j->git_sha1 ? "" : j->expected_sha);
  id->granularity = FERRY__BLOCK_SIZE;
}

/* The URL (or the caller's identity), the server's validator and the size identify the
 * bytes (not the validator for immutable bytes: another source of them has another). The expected hash does not change them: it is checked at the end whatever the
 * journal says, so adding, dropping or changing --sha256 keeps the journal. The journal's
 * sha256 line is still written and parsed as before (journals stay readable both ways
 * between versions), only no longer compared. */
static int journal_matches(const struct ferry__job *j) {
  const struct ferry__jident *id = &j->old->ident;
  return strcmp(id->id, j->identity) == 0 && id->size == j->size &&
         (j->immutable || strcmp(id->validator, j->validator) == 0) &&
         id->granularity == FERRY__BLOCK_SIZE;
}

/* The partial file (O_DIRECT too where it can), its preallocation and the journal; *keep_out
 * says whether the previous run's journal is resumed. 0, or -1 with the job failed. */
static int open_files(struct ferry__job *j, int *keep_out) {
  struct ferry_engine *e = j->e;
  int keep = *keep_out = j->old && j->ranges && j->size_known && journal_matches(j);
  /* A file of a few blocks gets no journal: a rerun fetches it again whole, which costs less
   * than the 4 MiB per request in flight a resume may fetch twice anyway, and it saves
   * creating and deleting one more file per file (most of a many-small-files download's time
   * on disk). */
  int journaled = j->ranges && j->size_known && j->size >= FERRY__SMALL_FILE;
  if (j->old && !keep)
    ferry__notice(e, "%s: journal does not match the remote file (another URL, or its size "
                  "or validator changed): starting over", j->journal_path);
  /* Resumed: the file of the journal, never through a link. Fresh: a new file of our own. */
  j->fd = keep ? open(j->part_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644)
               : ferry__open_new(j->part_path, O_RDWR, 0644);
  if (j->fd >= 0) j->part_opened = keep ? 2 : 1;
  if (j->fd < 0) {
    int saved = errno;
    ferry__job_fail(j, ferry__errno_to_err(saved), 0, "cannot open %s: %s%s", j->part_path,
                    strerror(saved),
                    saved == ELOOP || saved == EEXIST ? " (a link or file appeared there)" : "");
    return -1;
  }
  /* Large files are written (and read back by the hasher) around the page cache where the
   * filesystem allows it: the same file again (same inode), or none. */
  if (j->size_known && j->size >= 4 * (uint64_t)FERRY__BLOCK_SIZE && !e->cfg.no_direct_io) {
    j->dfd = open(j->part_path, O_RDWR | O_DIRECT | O_NOFOLLOW | O_CLOEXEC);
    struct stat a, b;
    if (j->dfd >= 0 && (fstat(j->fd, &a) != 0 || fstat(j->dfd, &b) != 0 ||
                        a.st_ino != b.st_ino || a.st_dev != b.st_dev)) {
      close(j->dfd);
      j->dfd = -1;
    }
  }
  if (j->size_known) {
    int err = preallocate(j);
    if (err) {
      ferry__job_fail(j, err, 0, "%s: cannot reserve %llu bytes for %s",
                      err == FERRY_E_NOSPC ? "no space left on device" : "file error",
                      (unsigned long long)j->size, j->part_path);
      if (!keep) drop_old_journal(j); /* the failed job removes its empty file */
      return -1;
    }
  }
  if (keep) {
    /* open()'s -1 is no error code: the errno behind it is mapped to one */
    j->jfd = open(j->journal_path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    if (j->jfd < 0) j->jfd = ferry__errno_to_err(errno);
  } else if (journaled) {
    drop_old_journal(j);
    struct ferry__jident id = {0};
    journal_identity(j, &id);
    id.granularity = FERRY__BLOCK_SIZE;
    j->jfd = ferry__journal_create(j->journal_path, &id);
  } else {
    drop_old_journal(j);
    unlink(j->journal_path);
  }
  if (j->jfd < 0 && (keep || journaled)) {
    int err = j->jfd; /* a FERRY_E_* code here */
    j->jfd = -1;
    ferry__job_fail(j, err, 0, "cannot write the journal %s", j->journal_path);
    return -1;
  }
  return 0;
}

/* The probe's answer as facts about the file, or -1 with the job failed or restarting. */
static int probe_facts(struct ferry__job *j, const struct ferry__xfer *x,
                       struct ferry__probe_file *f) {
  struct ferry__probe_answer a = {.status = x->status, .has_cr = x->has_cr, .encoded = x->encoded,
                                  .resuming = j->old != NULL, .cr = x->cr,
                                  .content_length = x->content_length, .start = x->start,
                                  .end = x->end};
  ferry__plan_probe(&a, f);
  switch (f->kind) {
  case FERRY__PROBE_RANGES:
  case FERRY__PROBE_EMPTY:
  case FERRY__PROBE_WHOLE: break;
  case FERRY__PROBE_BAD_START:
    ferry__job_fail(j, FERRY_E_PROTOCOL, 206, "%s: Content-Range starts at %lld, asked %llu",
                    j->shown_url, (long long)x->cr.first, (unsigned long long)x->start);
    return -1;
  case FERRY__PROBE_NO_RANGE:
    ferry__job_fail(j, FERRY_E_PROTOCOL, 206, "%s: partial answer without a usable Content-Range",
                    j->shown_url);
    return -1;
  case FERRY__PROBE_SHORTER:
    ferry__job_restart(j, "the remote file is shorter than the journal says");
    return -1;
  case FERRY__PROBE_UNSATISFIABLE:
    ferry__job_fail(j, FERRY_E_PROTOCOL, 416, "%s: range not satisfiable", j->shown_url);
    return -1;
  }
  return 0;
}

/* The file is known: its files opened, its ranges (those a resumed journal covers are
 * re-checked, not fetched), and the job runs. 0, or -1 with the job failed. */
static int take_file(struct ferry__job *j, const struct ferry__xfer *x) {
  int keep = 0;
  if (!j->discard && open_files(j, &keep) != 0) return -1;
  if (j->size_known) j->e->st.bytes_total += j->size;
  if (j->ranges) {
    ferry__ivset_add(&j->unassigned, 0, j->size);
    ferry__ivset_remove(&j->unassigned, x->start, x->end);
    if (keep) {
      for (size_t i = 0; i < j->old->nrecords; i++) {
        const struct ferry__jrecord *r = &j->old->records[i];
        ferry__ivset_add(&j->checking, r->offset, r->offset + r->length);
      }
      ferry__ivset_remove(&j->checking, x->start, x->end);
      for (size_t i = 0; i < j->checking.n; i++)
        ferry__ivset_remove(&j->unassigned, j->checking.r[i].start, j->checking.r[i].end);
      ferry__sink_verify_journal(j);
    }
  }
  ferry__job_set_state(j, FERRY__J_RUNNING, j->ranges ? "ranges" : "one stream");
  return 0;
}

/* Runs in libcurl's header callback (the response's end of headers): what the file is, then
 * the scheduler learns whether connections multiplex (it sizes requests in flight). */
int ferry__job_on_probe(struct ferry__job *j, struct ferry__xfer *x) {
  struct ferry__probe_file f;
  if (probe_facts(j, x, &f) != 0) return -1;
  j->ranges = f.kind != FERRY__PROBE_WHOLE;
  j->size = f.size;
  j->size_known = f.size_known;
  x->end = f.end;
  if (f.kind == FERRY__PROBE_EMPTY) x->cursor = x->start;
  if (f.kind == FERRY__PROBE_WHOLE) {
    x->kind = FERRY__X_WHOLE;
    x->start = x->cursor = 0;
    ferry__notice(j->e, "%s: the server answered the whole file (no ranges%s): one stream",
                  j->shown_url, x->encoded ? ", content-encoded" : "");
  }
  if (j->size_known && j->expected_size >= 0 && j->size != (uint64_t)j->expected_size) {
    ferry__job_fail(j, FERRY_E_SIZE, x->status, "%s: size is %llu bytes, expected %lld",
                    j->shown_url, (unsigned long long)j->size, (long long)j->expected_size);
    return -1;
  }
  snprintf(j->validator, sizeof(j->validator), "%s",
           ferry__plan_validator(x->etag, x->last_modified, &j->validator_is_etag));
  long version = 0;
  curl_easy_getinfo(x->easy, CURLINFO_HTTP_VERSION, &version);
  ferry__engine_learn_multiplexing(j->e, version);
  return take_file(j, x);
}

void ferry__job_fail(struct ferry__job *j, int err, long status, const char *fmt, ...) {
  /* Ended already: a verified file being renamed (the rename decides), or done or failed (its
   * outcome is settled; a late write or hash error changes nothing). */
  if (ferry__job_ended(j)) return;
  if (!ferry__job_failing(j)) {
    j->error = err;
    j->http_status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->message, sizeof(j->message), fmt, ap);
    va_end(ap);
    ferry__log(j->e, "error: %s", j->message);
    drain(j, FERRY__DRAIN_FAIL, ferry_strerror(err));
  }
  ferry__job_check_progress(j);
}

void ferry__job_restart(struct ferry__job *j, const char *why) {
  if (ferry__job_draining(j) || j->state == FERRY__J_FINAL || j->state == FERRY__J_DONE ||
      j->state == FERRY__J_FAILED)
    return;
  if (j->restarts >= FERRY__MAX_RESTARTS) {
    ferry__job_fail(j, FERRY_E_CHANGED, 0, "%s: %s, %d times: giving up", j->shown_url, why,
                    j->restarts);
    return;
  }
  ferry__notice(j->e, "%s: %s: starting this file over", j->shown_url, why);
  drain(j, FERRY__DRAIN_RESTART, why);
  ferry__job_check_progress(j);
}

static void close_files(struct ferry__job *j) {
  if (j->dfd >= 0) close(j->dfd);
  j->dfd = -1;
  if (j->fd >= 0) close(j->fd);
  if (j->jfd >= 0) {
    fsync(j->jfd);
    close(j->jfd);
  }
  j->fd = j->jfd = -1;
}

static void free_retained(struct ferry__job *j) {
  while (j->retained) {
    struct ferry__block *b = j->retained;
    j->retained = b->next;
    ferry__budget_unretain(&j->e->budget, b->cap);
    ferry__block_free(j->e, b);
  }
}

/* Forget everything about the file and probe again (the remote file changed). */
static void do_restart(struct ferry__job *j) {
  struct ferry_engine *e = j->e;
  close_files(j);
  if (!j->discard) { /* the null sink's path is only a name */
    unlink(j->part_path);
    unlink(j->journal_path);
  }
  free_retained(j);
  drop_old_journal(j);
  if (j->size_known) e->st.bytes_total -= j->size;
  uint64_t had = ferry__ivset_total(&j->written);
  e->st.bytes_done -= had < e->st.bytes_done ? had : e->st.bytes_done;
  ferry__ivset_clear(&j->unassigned);
  ferry__ivset_clear(&j->written);
  ferry__ivset_clear(&j->checking);
  j->hash_ready = 0;
  j->hash_cursor = 0;
  j->size_known = j->ranges = 0;
  j->size = 0;
  j->validator[0] = 0;
  j->drain = 0;
  j->part_opened = 0;
  j->restarts++;
  ferry__job_set_state(j, FERRY__J_NEW, "starting over");
  e->jobs_open--;
  j->no_resume = 1;
}

static void finish_failed(struct ferry__job *j) {
  struct ferry_engine *e = j->e;
  /* A rerun resumes from bytes on disk that a journal records; anything else is left out
   * (a full disk must not end with thousands of empty partial files). */
  uint64_t held = ferry__ivset_total(&j->written) + ferry__ivset_total(&j->checking);
  int journal = j->jfd >= 0 || j->part_opened == 2;
  int from = j->state == FERRY__J_DRAINING ? j->drained_from : j->state;
  int keep = j->error != FERRY_E_CHECKSUM && j->size_known && j->ranges &&
             !(j->drain & FERRY__DRAIN_RESTART) && journal && held > 0;
  close_files(j);
  free_retained(j);
  drop_old_journal(j);
  if (!keep) {
    /* Nothing to resume from (or wrong data): leave no partial file behind; files a job did
     * not open (it failed before its first answer) are an earlier run's and stay. */
    if (j->part_opened) unlink(j->part_path);
    if (j->part_opened || (j->error == FERRY_E_CHECKSUM && !j->discard))
      unlink(j->journal_path);
  }
  if (from != FERRY__J_NEW) e->jobs_open--;
  ferry__job_end(j, j->error);
}

void ferry__job_check_progress(struct ferry__job *j) {
  struct ferry_engine *e = j->e;
  if (ferry__job_ended(j)) return;
  if (e->stopping && !ferry__job_failing(j) && j->state != FERRY__J_NEW) {
    j->error = FERRY_E_INTERRUPTED;
    snprintf(j->message, sizeof(j->message), "interrupted: %s can be resumed by running the "
             "same command again", j->path);
    drain(j, FERRY__DRAIN_FAIL, "interrupted");
  }
  if (ferry__job_draining(j)) {
    if (!quiet(j)) return; /* the pump cancels requests; writes finish on their own */
    if (j->drain & FERRY__DRAIN_FAIL) finish_failed(j);
    else do_restart(j);
    return;
  }
  if (j->state != FERRY__J_RUNNING || !j->size_known || !quiet(j)) return;
  if (j->hash_cursor < j->size || j->unassigned.n || j->checking.n) return;
  if (j->no_hash) { /* every byte arrived; nothing to compare */
    ferry__sink_finalize(j);
    return;
  }
  if (!j->hash_ready) ferry__hash_start(j); /* an empty file: nothing was hashed yet */
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  EVP_DigestFinal_ex(j->sha, md, &mdlen);
  for (unsigned i = 0; i < mdlen && i < 32; i++) snprintf(j->sha_hex + 2 * i, 3, "%02x", md[i]);
  if (j->expected_sha[0] && strcmp(j->sha_hex, j->expected_sha) != 0) {
    ferry__job_fail(j, FERRY_E_CHECKSUM, 0, "%s: %s is %s, expected %s: file discarded",
                    j->shown_url, j->git_sha1 ? "git blob SHA-1" : "SHA-256", j->sha_hex,
                    j->expected_sha);
    return;
  }
  j->verified = j->expected_sha[0] != 0;
  ferry__sink_finalize(j);
}

static void on_retry_closed(uv_handle_t *h) {
  free(ferry__container_of((uv_timer_t *)h, struct ferry__retry, timer));
}

/* Runs a waiting retry: restarts the request, or hands the range back when the job stopped. */
void ferry__job_retry_now(struct ferry__retry *r) {
  struct ferry__job *j = r->job;
  struct ferry_engine *e = j->e;
  uv_timer_stop(&r->timer);
  if (r->prev) r->prev->next = r->next;
  else e->retries = r->next;
  if (r->next) r->next->prev = r->prev;
  j->active_xfers--; /* the waiting retry counted as a request in flight */
  if (!e->stopping && !ferry__job_draining(j)) {
    int err = j->state == FERRY__J_PROBING
                  ? ferry__xfer_start(j, FERRY__X_PROBE, r->start, r->end, r->attempt)
                  : ferry__xfer_start(j, FERRY__X_RANGE, r->start, r->end, r->attempt);
    if (err) ferry__job_fail(j, err, 0, "could not start a request");
  }
  uv_close((uv_handle_t *)&r->timer, on_retry_closed);
  ferry__job_check_progress(j);
}

static void on_retry(uv_timer_t *t) {
  struct ferry__retry *r = ferry__container_of(t, struct ferry__retry, timer);
  struct ferry_engine *e = r->job->e;
  ferry__job_retry_now(r);
  ferry__pump(e);
}

void ferry__job_retry_later(struct ferry__job *j, uint64_t start, uint64_t end, int attempt,
                            long delay_ms) {
  struct ferry_engine *e = j->e;
  struct ferry__retry *r = calloc(1, sizeof(*r));
  if (!r) {
    ferry__job_fail(j, FERRY_E_NOMEM, 0, "out of memory");
    return;
  }
  r->job = j;
  r->start = start;
  r->end = end;
  r->attempt = attempt;
  uv_timer_init(&e->loop, &r->timer);
  uv_timer_start(&r->timer, on_retry, (uint64_t)(delay_ms > 0 ? delay_ms : 1), 0);
  r->next = e->retries;
  if (e->retries) e->retries->prev = r;
  e->retries = r;
  j->active_xfers++; /* keeps the job from finishing while the retry waits */
}

/* A request's rate (bytes/s) as control.c ferry__ctl_rate_now judges it; 0 before its
 * first byte, and on a connection it opened, before its slow start could reach what a
 * request of the file gets. */
static double rate_of(const struct ferry__xfer *x) {
  if (!x->first_byte_ns) return 0;
  const struct ferry_engine *e = x->e;
  double gets = e->conc.request_bps > x->job->stream_bps ? e->conc.request_bps : x->job->stream_bps;
  double ramp = x->opened_connection ? ferry__ctl_ramp_seconds(gets, e->rtt_s) : 0;
  return ferry__ctl_rate_now(x->cursor - x->start, (double)(uv_hrtime() - x->first_byte_ns) / 1e9,
                             x->now_bps, ramp);
}

static int by_rate(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* A running ranged request whose rest another request could take over. */
static int stealable(const struct ferry__xfer *x) {
  return x->kind != FERRY__X_WHOLE && x->checked && !x->cancelled && x->status == 206 &&
         x->job->state == FERRY__J_RUNNING;
}

/* The median rate of the running requests that could be split or handed over (0 when fewer
 * than three show one yet). Biased low: fast requests end, slow ones stay. */
static double median_rate(struct ferry_engine *e) {
  double rates[64];
  int n = 0;
  for (struct ferry__xfer *x = e->active; x && n < 64; x = x->next) {
    double r = stealable(x) ? rate_of(x) : 0;
    if (r > 0) rates[n++] = r;
  }
  if (n < 3) return 0;
  qsort(rates, (size_t)n, sizeof(rates[0]), by_rate);
  return rates[n / 2];
}

/* A lagging request keeps the block it is filling (or, `at_cursor`, stops where it is: its
 * partial block is written when it ends); a new request takes the rest at once, on another
 * connection (this one is still busy). 1 when it was handed over. */
static int hand_over(struct ferry_engine *e, struct ferry__xfer *lagging, double lag_rate,
                     double ref, const char *why, int at_cursor) {
  uint64_t block_end = lagging->blk && !at_cursor ? lagging->blk->offset + lagging->blk->cap : 0;
  uint64_t cut = ferry__plan_handover(lagging->cursor, block_end, lagging->end,
                                      FERRY__MIN_SPLIT, e->align);
  if (!cut) return 0;
  if (e->cfg.verbose) {
    uint64_t left = lagging->end - lagging->cursor;
    int connects = ferry__conc_connections_busy(e);
    ferry__log(e, "hand-over: a request of %s at %.2f MB/s, a request gets %.2f MB/s (%s; its "
               "rest in %.2f s, a new request on %s connection in %.2f s): bytes %llu-%llu move "
               "to a new request", lagging->job->path, lag_rate / 1e6, ref / 1e6, why,
               lag_rate > 0 ? (double)left / lag_rate : INFINITY, connects ? "a new" : "an open",
               ferry__ctl_fresh_seconds(left, ref, e->rtt_s, connects), (unsigned long long)cut,
               (unsigned long long)(lagging->end - 1));
  }
  uint64_t old_end = lagging->end;
  lagging->end = cut; /* the body callback stops it there */
  int err = ferry__xfer_start(lagging->job, FERRY__X_RANGE, cut, old_end, 0);
  if (err) ferry__job_fail(lagging->job, err, 0, "could not start a request");
  return 1;
}

/* What a request of x's file gets (control.c ferry__ctl_request_gets), to judge x by. */
static double request_gets(const struct ferry_engine *e, const struct ferry__xfer *x,
                           double median) {
  return ferry__ctl_request_gets(median, e->conc.request_bps, x->job->stream_bps);
}

/* Idle capacity and nothing unassigned: the tail is shared. A request that fell far behind
 * what a request gets (control.c ferry__ctl_should_race) hands over all but the block it is
 * filling; otherwise the request with the most left is split in two. */
int ferry__job_steal(struct ferry_engine *e) {
  struct ferry__xfer *best = NULL, *lagging = NULL;
  uint64_t best_left = 0;
  double lag_rate = 0, lag_ref = 0;
  for (struct ferry__xfer *x = e->active; x; x = x->next) {
    if (!stealable(x)) continue;
    uint64_t left = x->end - x->cursor;
    if (left > best_left) best = x, best_left = left;
  }
  if (!best) return 0;
  double median = median_rate(e);
  int connects = ferry__conc_connections_busy(e);
  for (struct ferry__xfer *x = e->active; x; x = x->next) {
    if (!stealable(x)) continue;
    double r = rate_of(x), ref = request_gets(e, x, median);
    if (r > 0 && ferry__ctl_should_race(x->end - x->cursor, r, ref, e->rtt_s, 4, connects) &&
        (!lagging || r < lag_rate))
      lagging = x, lag_rate = r, lag_ref = ref;
  }
  if (lagging && hand_over(e, lagging, lag_rate, lag_ref, "the tail", 0)) return 1;
  /* its rate: the larger of its own now and what the file's finished requests showed */
  double best_bps = rate_of(best);
  if (best->job->stream_bps > best_bps) best_bps = best->job->stream_bps;
  if (!ferry__ctl_split_pays(best->end - best->cursor, best_bps, e->rtt_s, connects))
    return 0; /* it ends soon (a cut wastes what the server sent past it), or a new
               * connection's handshakes and slow start would bring its half no sooner */
  uint64_t mid = ferry__plan_split(best->cursor, best->end, FERRY__MIN_SPLIT, e->align);
  if (!mid) return 0;
  uint64_t old_end = best->end;
  best->end = mid; /* the body callback stops it there (cursor < mid, so it still runs) */
  if (e->cfg.verbose)
    ferry__log(e, "split: bytes %llu-%llu of %s move to a new request",
               (unsigned long long)mid, (unsigned long long)(old_end - 1), best->job->path);
  int err = ferry__xfer_start(best->job, FERRY__X_RANGE, mid, old_end, 0);
  if (err) ferry__job_fail(best->job, err, 0, "could not start a request");
  return 1;
}

/* Any time (the watchdog): the request holding a file's hash cursor, far behind the others
 * while much of the file waits after it (control.c ferry__ctl_race_cursor), hands over all
 * but the block it is filling. At most one a call. */
int ferry__job_race_cursor(struct ferry_engine *e) {
  double median = median_rate(e);
  for (struct ferry__xfer *x = e->active; x; x = x->next) {
    struct ferry__job *j = x->job;
    if (!stealable(x) || j->no_hash) continue;
    /* the request whose bytes the hasher waits for: it holds the first gap after the cursor */
    uint64_t gap = ferry__ivset_contiguous_end(&j->written, j->hash_cursor);
    if (gap < x->start || gap >= x->end) continue;
    uint64_t written = ferry__ivset_total(&j->written);
    uint64_t waiting = written > gap ? written - gap : 0;
    double r = rate_of(x), ref = request_gets(e, x, median);
    if (r > 0 && ferry__ctl_race_cursor(x->end - x->cursor, r, ref, e->rtt_s, waiting,
                                        e->budget.limit, ferry__conc_connections_busy(e)) &&
        hand_over(e, x, r, ref, "it holds the hash cursor", 1))
      return 1;
  }
  return 0;
}
