/* lock.c: ferry's own lock files, which work wherever O_EXCL, link and rename work (no flock,
 * so also on NFS and other file systems where flock is absent or local only).
 *
 * A lock is a file under the lock's name holding its owner (pid, host, start time, a random
 * nonce). A process writes its owner record once per lock folder (an owner file, itself named
 * like a lock) and takes each lock by hard-linking that file under the lock's name: link()
 * fails with EEXIST when the lock is held, as O_CREAT|O_EXCL does, but makes no new inode.
 * Creating and deleting one inode per blob cost a quarter of a many-small-files download here
 * (ext4 scans past recently deleted inodes on every allocation). Where link() is refused the
 * lock is created with O_CREAT|O_EXCL instead. A waiting process polls; a lock is stale when
 * its owner ran on this host and is dead, or when it is older than a limit (an owner on
 * another host cannot be checked). Breaking a stale lock renames it to a unique name first, so
 * two processes that both saw it stale cannot both delete a fresh lock: only one rename wins,
 * and the winner checks that what it moved is the lock it judged stale (same nonce) before
 * deleting it. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "lock.h"
#include "stop.h"
#include "grow.h"

#define SUFFIX ".ferry-lock"
/* A lock file that does not parse (its owner died between create and write) is stale once it
 * is this old. */
#define MALFORMED_GRACE_S 10

static int has_suffix(const char *path) {
  size_t n = strlen(path), s = strlen(SUFFIX);
  return n > s && strcmp(path + n - s, SUFFIX) == 0;
}

/* This host's name as lock files record it: one word (a blank or control character would
 * make every lock unreadable, and unreadable locks are broken after a grace time). */
void ferry__lock_hostname(char out[256]) {
  if (gethostname(out, 255) != 0 || !out[0]) strcpy(out, "unknown");
  out[255] = 0;
  for (char *c = out; *c; c++)
    if ((unsigned char)*c <= ' ' || *c == 0x7f) *c = '_';
}

static int random_hex(char *out, size_t bytes) {
  unsigned char rnd[32];
  if (bytes > sizeof(rnd) || RAND_bytes(rnd, (int)bytes) != 1) return FERRY_E_INTERNAL;
  for (size_t i = 0; i < bytes; i++) snprintf(out + 2 * i, 3, "%02x", rnd[i]);
  return 0;
}

static int parse_owner(const char *text, struct ferry__lock_owner *o) {
  memset(o, 0, sizeof(*o));
  long long started;
  int used = 0;
  if (sscanf(text, "ferry-lock 1\npid %ld\nhost %255s\nstarted %lld\nnonce %32[0-9a-f]\n%n",
             &o->pid, o->host, &started, o->nonce, &used) != 4 ||
      used == 0 || text[used] != 0 || o->pid <= 0 || strlen(o->nonce) != 32)
    return FERRY_E_PROTOCOL;
  o->started = started;
  return 0;
}

int ferry__lock_read(const char *path, struct ferry__lock_owner *out, int *found) {
  char *text = NULL;
  size_t len;
  memset(out, 0, sizeof(*out));
  /* A planted link is not followed (nor a FIFO opened for reading): an error, never broken. */
  int r = ferry__read_small_nofollow(path, 1024, &text, &len, found);
  if (r || !*found) return r;
  r = strlen(text) == len ? parse_owner(text, out) : FERRY_E_PROTOCOL;
  free(text);
  return r;
}

int ferry__lock_is_stale(const struct ferry__lock_owner *owner, const char *this_host,
                         int64_t now, int stale_after_s) {
  if (stale_after_s > 0 && now - owner->started > stale_after_s) return 1;
  if (strcmp(owner->host, this_host) != 0) return 0; /* cannot see that host's processes */
  if (owner->pid <= 0) return 1;
  return kill((pid_t)owner->pid, 0) != 0 && errno == ESRCH;
}

/* What a lock attempt links (path) or writes (nonce). */
struct lock_source {
  char *path; /* NULL: no owner file, create the lock itself */
  char nonce[33];
};

static int owner_text(const char *nonce, int64_t started, char *text, size_t cap) {
  char host[256];
  ferry__lock_hostname(host);
  int n = snprintf(text, cap, "ferry-lock 1\npid %ld\nhost %s\nstarted %lld\nnonce %s\n",
                   (long)getpid(), host, (long long)started, nonce);
  return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* What one attempt answers when the lock file is there already (internal to this file). */
#define LOCK_EXISTS 3

/* Creates path with O_CREAT|O_EXCL holding our owner record. 0, or LOCK_EXISTS, or an
 * error. */
static int create_exclusive(const char *path, const char *nonce) {
  char text[512];
  int n = owner_text(nonce, (int64_t)time(NULL), text, sizeof(text));
  if (n < 0) return FERRY_E_INTERNAL;
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return errno == EEXIST ? LOCK_EXISTS : FERRY_E_IO;
  /* One write: a reader sees all of it or (for a moment) an empty file. */
  ssize_t w = write(fd, text, (size_t)n);
  int r = w == n ? 0 : FERRY_E_IO;
  if (close(fd) != 0) r = FERRY_E_IO;
  if (r) unlink(path);
  return r;
}

/* This process's owner files, one per lock folder, with the locks linked to each. A new one
 * is started after an hour, so the start time a lock carries stays close to its own. After
 * fork() the parent's entries are not the child's: they are skipped by pid. */
#define OWNER_MAX_AGE_S 3600
struct owner {
  char *dir, *path;
  char nonce[33];
  int64_t created;
  long pid;
  int refs;
};
static struct owner *owners;
static size_t nowners, capowners;
static pthread_mutex_t owners_mu = PTHREAD_MUTEX_INITIALIZER;

/* The owner file for locks in dir, created if needed, with one more reference. NULL when it
 * cannot be made (the caller creates its lock directly). Called with owners_mu held. */
static struct owner *owner_take(const char *dir) {
  int64_t now = (int64_t)time(NULL);
  for (size_t i = 0; i < nowners; i++) {
    struct owner *o = &owners[i];
    if (o->pid == (long)getpid() && o->path && !strcmp(o->dir, dir) &&
        now - o->created < OWNER_MAX_AGE_S) {
      o->refs++;
      return o;
    }
  }
  if (ferry__grow(&owners, &capowners, nowners + 1, sizeof(*owners), 4) != 0) return NULL;
  struct owner o = {0};
  if (random_hex(o.nonce, 16) != 0) return NULL;
  char path[FERRY__PATH_MAX + 64];
  int n = snprintf(path, sizeof(path), "%s/ferry-owner-%s" SUFFIX, dir, o.nonce);
  if (n < 0 || (size_t)n >= sizeof(path)) return NULL;
  o.dir = strdup(dir);
  o.path = strdup(path);
  if (!o.dir || !o.path || create_exclusive(o.path, o.nonce) != 0) {
    free(o.dir), free(o.path);
    return NULL;
  }
  o.created = now;
  o.pid = (long)getpid();
  o.refs = 1;
  owners[nowners] = o;
  return &owners[nowners++];
}

/* Drops one reference; the last one deletes the owner file. Called with owners_mu held. */
static void owner_drop(struct owner *o) {
  if (--o->refs > 0) return;
  unlink(o->path);
  free(o->dir), free(o->path);
  *o = owners[--nowners];
}

/* Drops a reference taken by owner_take, found by the owner file's path. */
static void owner_unref(const char *owner_path) {
  if (!owner_path) return;
  pthread_mutex_lock(&owners_mu);
  for (size_t i = 0; i < nowners; i++) {
    struct owner *o = &owners[i];
    if (o->pid == (long)getpid() && o->path && !strcmp(o->path, owner_path)) {
      owner_drop(o);
      break;
    }
  }
  pthread_mutex_unlock(&owners_mu);
}

/* One attempt to take the lock at path: link our owner file there (or create it). 0, or
 * LOCK_EXISTS, or an error. */
static int try_create(const char *path, const struct lock_source *src) {
  if (src->path) {
    if (link(src->path, path) == 0) return 0;
    if (errno == EEXIST) return LOCK_EXISTS;
    if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP && errno != EXDEV &&
        errno != EMLINK)
      return FERRY_E_IO;
  }
  return create_exclusive(path, src->nonce);
}

/* The owner file a stale lock was linked from goes too, once it is judged the same owner
 * (its other locks, if any, are broken one by one as they are met). */
static void drop_dead_owner_file(const char *lock_path, const char *nonce) {
  const char *slash = strrchr(lock_path, '/');
  int dirlen = slash ? (int)(slash - lock_path) : 1;
  char owner[FERRY__PATH_MAX + 64];
  int n = snprintf(owner, sizeof(owner), "%.*s/ferry-owner-%s" SUFFIX, dirlen,
                   slash ? lock_path : ".", nonce);
  if (n < 0 || (size_t)n >= sizeof(owner)) return;
  struct ferry__lock_owner o;
  int found = 0;
  if (ferry__lock_read(owner, &o, &found) == 0 && found && !strcmp(o.nonce, nonce))
    unlink(owner);
}

/* If the lock at path is stale, moves it away and deletes it. 1 when it was broken (try again
 * at once), 0 when it is live or already gone, or an error. */
static int break_if_stale(const char *path, int stale_after_s) {
  struct ferry__lock_owner o;
  int found = 0;
  int r = ferry__lock_read(path, &o, &found);
  if (r == 0 && !found) return 0;
  char host[256];
  ferry__lock_hostname(host);
  int64_t now = (int64_t)time(NULL);
  if (r == FERRY_E_PROTOCOL) { /* half-written or foreign: judge it by its age */
    struct stat st;
    if (lstat(path, &st) != 0) return 0;
    if (now - (int64_t)st.st_mtime < MALFORMED_GRACE_S) return 0;
    memset(&o, 0, sizeof(o));
  } else if (r) {
    return r;
  } else if (!ferry__lock_is_stale(&o, host, now, stale_after_s)) {
    return 0;
  }
  char rnd[17], aside[FERRY__PATH_MAX + 64];
  if ((r = random_hex(rnd, 8))) return r;
  int n = snprintf(aside, sizeof(aside), "%s.broken.%ld.%s", path, (long)getpid(), rnd);
  if (n < 0 || (size_t)n >= sizeof(aside)) return FERRY_E_INVAL;
  if (rename(path, aside) != 0) return 0; /* someone else broke or released it first */
  /* Check we moved the lock we judged, not a fresh one that replaced it in between. */
  struct ferry__lock_owner moved;
  int mfound = 0;
  int mr = ferry__lock_read(aside, &moved, &mfound);
  int same = o.nonce[0] ? (mr == 0 && mfound && strcmp(moved.nonce, o.nonce) == 0)
                        : (mr == FERRY_E_PROTOCOL);
  if (!same && link(aside, path) != 0) {
    /* A fresh lock we moved aside cannot be put back because yet another one exists; the
     * owner of the moved one will find its lock gone at release (and leave others alone). */
  }
  unlink(aside);
  if (same && o.nonce[0]) drop_dead_owner_file(path, o.nonce);
  return same ? 1 : 0;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ferry__lock_acquire(const char *path, const struct ferry__lock_opts *opts,
                        struct ferry__lock *out) {
  memset(out, 0, sizeof(*out));
  if (!path || !has_suffix(path) || strlen(path) >= FERRY__PATH_MAX) return FERRY_E_INVAL;
  int poll_ms = opts && opts->poll_ms > 0 ? opts->poll_ms : 100;
  int max_wait = opts && opts->max_wait_ms > 0 ? opts->max_wait_ms : 0;
  int stale_after = opts && opts->stale_after_s > 0 ? opts->stale_after_s : 86400;
  char dir[FERRY__PATH_MAX] = ".";
  const char *slash = strrchr(path, '/');
  if (slash) {
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    memcpy(dir, path, n);
    dir[n] = 0;
  }
  if (slash && slash != path && !(opts && opts->no_mkdir)) {
    int r = ferry__mkdirs(dir);
    if (r) return r;
  }
  /* The owner file to link, or (when it cannot be made) a nonce for a lock of its own. */
  struct lock_source src = {0};
  pthread_mutex_lock(&owners_mu);
  struct owner *o = owner_take(dir);
  if (o && (src.path = strdup(o->path)) != NULL) memcpy(src.nonce, o->nonce, sizeof(src.nonce));
  else if (o) owner_drop(o); /* out of memory: this lock goes without the owner file */
  pthread_mutex_unlock(&owners_mu);
  int r = src.path ? 0 : random_hex(src.nonce, 16);
  int64_t deadline = now_ms() + max_wait;
  for (int breaks = 0; !r;) {
    if ((r = try_create(path, &src)) != LOCK_EXISTS) break; /* taken, or an error */
    r = 0;
    int b = breaks < 100 ? break_if_stale(path, stale_after) : 0; /* bounded */
    if (b < 0) {
      r = b;
      break;
    }
    if (b == 1) {
      breaks++;
      continue;
    }
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      r = FERRY__LOCK_HELD;
      break;
    }
    /* Another process holds it and nothing tells us when it lets go: look again after
     * poll_ms, a wait the stop ends at once (it runs off any loop, before a download). */
    if (ferry__stop_wait(opts ? opts->stop : NULL, left < poll_ms ? left : poll_ms)) {
      r = FERRY_E_INTERRUPTED;
      break;
    }
  }
  if (!r && !(out->path = strdup(path))) {
    unlink(path);
    r = FERRY_E_NOMEM;
  }
  if (r) {
    owner_unref(src.path);
    free(src.path);
    return r;
  }
  out->owner = src.path;
  memcpy(out->nonce, src.nonce, sizeof(src.nonce));
  return 0;
}

int ferry__lock_refresh(struct ferry__lock *l) {
  if (!l || !l->path) return FERRY_E_INVAL;
  struct ferry__lock_owner o;
  int found = 0, r = ferry__lock_read(l->path, &o, &found);
  if (r == FERRY_E_PROTOCOL || (r == 0 && (!found || strcmp(o.nonce, l->nonce) != 0)))
    return FERRY__LOCK_LOST; /* broken and perhaps taken by someone else */
  if (r) return r;
  char text[512];
  int n = snprintf(text, sizeof(text), "ferry-lock 1\npid %ld\nhost %s\nstarted %lld\nnonce %s\n",
                   o.pid, o.host, (long long)time(NULL), l->nonce);
  if (n < 0 || (size_t)n >= sizeof(text)) return FERRY_E_INTERNAL;
  /* rename() over the lock: readers see the old record or the new one, never a gap */
  return ferry__write_atomic(l->path, text, (size_t)n, 0644);
}

int ferry__lock_release(struct ferry__lock *l) {
  if (!l || !l->path) return 0;
  struct ferry__lock_owner o;
  int found = 0, r = ferry__lock_read(l->path, &o, &found);
  if (r == 0 && found && strcmp(o.nonce, l->nonce) == 0 && unlink(l->path) != 0 && errno != ENOENT)
    r = FERRY_E_IO;
  else if (r == FERRY_E_PROTOCOL)
    r = 0; /* not ours: leave it */
  owner_unref(l->owner);
  free(l->path);
  free(l->owner);
  memset(l, 0, sizeof(*l));
  return r;
}
