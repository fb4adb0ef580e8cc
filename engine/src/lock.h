/* lock.h: ferry's own lock files (lock.c), for the engine core and the Hub layer. */
#ifndef FERRY_LOCK_H
#define FERRY_LOCK_H

#include <stdint.h>

#include "ferry.h"


/* A lock file "<something>.ferry-lock" holding
 *   ferry-lock 1\npid <pid>\nhost <hostname>\nstarted <unix seconds>\nnonce <32 hex>\n
 * taken with link() of the process's owner file for that folder ("ferry-owner-<nonce>
 * .ferry-lock", one per process and folder) or, where link() is refused, O_CREAT|O_EXCL.
 * It is stale when its host is this host and its pid is dead, or when it is older than
 * stale_after_s. Releasing checks the nonce, so only the owner removes it. */
struct ferry__lock_owner {
  long pid;
  char host[256];
  int64_t started;
  char nonce[33];
};
struct ferry__lock {
  char *path;  /* NULL when not held */
  char *owner; /* the owner file linked at path, or NULL (see lock.c) */
  char nonce[33];
};
struct ferry__lock_opts {
  int poll_ms;        /* between attempts (default 100) */
  int max_wait_ms;    /* give up after this (default 0: try once) */
  int stale_after_s;  /* a lock older than this is stale whoever holds it (default 86400) */
  int no_mkdir;       /* 1: the lock's folder must exist (else it and its parents are made) */
  const struct ferry_stop *stop; /* ends the wait at once (FERRY_E_INTERRUPTED); NULL: none */
};
/* Reads a lock file. *found = 0 when it does not exist. A file that does not parse is
 * FERRY_E_PROTOCOL. */
int ferry__lock_read(const char *path, struct ferry__lock_owner *out, int *found);
/* This host's name as lock files record it (gethostname, blanks and control characters
 * replaced by '_'). */
void ferry__lock_hostname(char out[256]);
/* 1 when `owner` is stale per the rule above (this_host: ferry__lock_hostname). */
int ferry__lock_is_stale(const struct ferry__lock_owner *owner, const char *this_host,
                         int64_t now, int stale_after_s);
/* What the lock functions answer besides 0 and errors: positive, so that no public FERRY_E_*
 * code is reused as an internal signal. */
enum ferry__lock_result {
  FERRY__LOCK_HELD = 1, /* acquire: another owner still holds it after max_wait_ms */
  FERRY__LOCK_LOST = 2, /* refresh: the lock is no longer ours (broken as stale) */
};
/* Acquires the lock at `path` (its folder is created unless no_mkdir), breaking stale locks,
 * polling until max_wait_ms. 0; FERRY__LOCK_HELD when it stays held; FERRY_E_INVAL when path
 * does not end in ".ferry-lock"; another FERRY_E_* error. */
int ferry__lock_acquire(const char *path, const struct ferry__lock_opts *opts,
                        struct ferry__lock *out);
/* For a holder that keeps a lock longer than stale_after_s: stamps the lock file with the
 * current time again (atomically, same nonce). FERRY__LOCK_LOST when the lock is no longer
 * ours (it was broken as stale). */
int ferry__lock_refresh(struct ferry__lock *l);
/* Removes the lock file if it is still ours (same nonce) and frees `l`. Releasing a lock
 * that was broken and taken by someone else leaves their file alone. */
int ferry__lock_release(struct ferry__lock *l);

#endif
