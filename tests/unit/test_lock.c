/* Unit tests for engine/src/lock.c: ferry's own lock files (O_EXCL create, pid + host + start
 * time, stale rule, safe breaking), with real processes. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "assert.h"
#include "files.h"
#include "internal.h"
#include "lock.h"

static char *lock_path(const char *name) {
  char *p = malloc(4096);
  ASSERT_NOT_NULL(p);
  snprintf(p, 4096, "%s/.locks/models--o--n/%s", ferry_unit_tmpdir(), name);
  return p;
}

static void this_host(char out[256]) {
  char raw[256];
  ASSERT_EQ_INT(gethostname(raw, 255), 0);
  raw[255] = 0;
  ferry__lock_hostname(out);
  ASSERT_TRUE(out[0] != 0);
  if (!strpbrk(raw, " \t\n")) ASSERT_EQ_STR(out, raw); /* an ordinary name is kept as is */
}

void test_lock_acquire_release(void) {
  char *path = lock_path("abc.ferry-lock");
  struct ferry__lock l, l2;
  struct ferry__lock_opts quick = {10, 0, 3600, 0, NULL};
  ASSERT_EQ_INT(ferry__lock_acquire(path, &quick, &l), 0);
  ASSERT_EQ_STR(l.path, path);
  /* the file names us */
  struct ferry__lock_owner o;
  int found = 0;
  ASSERT_EQ_INT(ferry__lock_read(path, &o, &found), 0);
  ASSERT_EQ_INT(found, 1);
  ASSERT_EQ_INT(o.pid, getpid());
  char host[256];
  this_host(host);
  ASSERT_EQ_STR(o.host, host);
  ASSERT_LE_INT(llabs((long long)(time(NULL) - o.started)), 2);
  ASSERT_EQ_STR(o.nonce, l.nonce);
  /* held (by a live process: us): a second acquire times out, within its bound */
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  struct ferry__lock_opts wait = {20, 150, 3600, 0, NULL};
  ASSERT_EQ_INT(ferry__lock_acquire(path, &wait, &l2), FERRY__LOCK_HELD);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  ASSERT_GE_INT(ms, 140);
  ASSERT_LT_INT(ms, 2000);
  ASSERT_TRUE(l2.path == NULL);
  /* release removes it; then it can be taken again */
  ASSERT_EQ_INT(ferry__lock_release(&l), 0);
  ASSERT_TRUE(l.path == NULL);
  ASSERT_TRUE(access(path, F_OK) != 0);
  ASSERT_EQ_INT(ferry__lock_acquire(path, &quick, &l2), 0);
  ASSERT_EQ_INT(ferry__lock_release(&l2), 0);
  ASSERT_EQ_INT(ferry__lock_release(&l2), 0); /* twice is harmless */
  /* names must end in .ferry-lock (never huggingface_hub's .lock files) */
  char *hf = lock_path("abc.lock");
  ASSERT_EQ_INT(ferry__lock_acquire(hf, &quick, &l), FERRY_E_INVAL);
  free(hf), free(path);
}

void test_lock_release_only_own(void) {
  char *path = lock_path("own.ferry-lock");
  struct ferry__lock l;
  ASSERT_EQ_INT(ferry__lock_acquire(path, NULL, &l), 0);
  /* someone broke our lock and took it: their file has another nonce */
  char other[512];
  char host[256];
  this_host(host);
  snprintf(other, sizeof(other), "ferry-lock 1\npid %ld\nhost %s\nstarted %lld\nnonce %s\n",
           (long)getppid(), host, (long long)time(NULL), "0123456789abcdef0123456789abcdef");
  ASSERT_EQ_INT(unlink(path), 0);
  ASSERT_EQ_INT(ferry__write_atomic(path, other, strlen(other), 0644), 0);
  ASSERT_EQ_INT(ferry__lock_release(&l), 0);
  ASSERT_EQ_INT(access(path, F_OK), 0); /* theirs stays */
  free(path);
}

/* A child takes the lock and exits without releasing it. */
static pid_t child_takes_lock(const char *path, int stay_fd) {
  pid_t pid = fork();
  ASSERT_TRUE(pid >= 0);
  if (pid == 0) {
    struct ferry__lock l;
    if (ferry__lock_acquire(path, NULL, &l) != 0) _exit(3);
    if (stay_fd >= 0) { /* signal "held", then wait until the parent closes the pipe */
      char c = 'x';
      if (write(stay_fd, &c, 1) != 1) _exit(4);
      pause();
    }
    _exit(0);
  }
  return pid;
}

void test_lock_dead_owner(void) {
  char *path = lock_path("dead.ferry-lock");
  pid_t pid = child_takes_lock(path, -1);
  int status;
  ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  struct ferry__lock_owner o;
  int found = 0;
  ASSERT_EQ_INT(ferry__lock_read(path, &o, &found), 0);
  ASSERT_EQ_INT(found, 1);
  ASSERT_EQ_INT(o.pid, pid);
  char host[256];
  this_host(host);
  ASSERT_EQ_INT(ferry__lock_is_stale(&o, host, (int64_t)time(NULL), 3600), 1);
  /* the dead child's lock is broken at once, and ours replaces it */
  struct ferry__lock l;
  struct ferry__lock_opts opts = {10, 0, 3600, 0, NULL};
  ASSERT_EQ_INT(ferry__lock_acquire(path, &opts, &l), 0);
  ASSERT_EQ_INT(ferry__lock_read(path, &o, &found), 0);
  ASSERT_EQ_INT(o.pid, getpid());
  /* nothing left over from breaking it (the dead child's owner file went with its lock):
   * our lock and our own owner file, linked to it */
  char dir[4096];
  snprintf(dir, sizeof(dir), "%s", path);
  *strrchr(dir, '/') = 0;
  char cmd[4200];
  snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 2", dir);
  ASSERT_EQ_INT(system(cmd), 0);
  struct stat st;
  ASSERT_EQ_INT(stat(path, &st), 0);
  ASSERT_EQ_INT((int)st.st_nlink, 2);
  ASSERT_EQ_INT(ferry__lock_release(&l), 0);
  /* the last release takes the owner file away too */
  snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 0", dir);
  ASSERT_EQ_INT(system(cmd), 0);
  free(path);
}

void test_lock_live_owner(void) {
  char *path = lock_path("live.ferry-lock");
  int fds[2];
  ASSERT_EQ_INT(pipe(fds), 0);
  pid_t pid = child_takes_lock(path, fds[1]);
  char c;
  ASSERT_EQ_INT(read(fds[0], &c, 1), 1); /* the child holds it now */
  struct ferry__lock_owner o;
  int found = 0;
  ASSERT_EQ_INT(ferry__lock_read(path, &o, &found), 0);
  ASSERT_EQ_INT(o.pid, pid);
  char host[256];
  this_host(host);
  ASSERT_EQ_INT(ferry__lock_is_stale(&o, host, (int64_t)time(NULL), 3600), 0);
  struct ferry__lock l;
  struct ferry__lock_opts opts = {10, 100, 3600, 0, NULL};
  ASSERT_EQ_INT(ferry__lock_acquire(path, &opts, &l), FERRY__LOCK_HELD);
  struct ferry__lock_owner still;
  ASSERT_EQ_INT(ferry__lock_read(path, &still, &found), 0);
  ASSERT_EQ_STR(still.nonce, o.nonce); /* not broken */
  /* the child dies: now the lock is breakable */
  kill(pid, SIGKILL);
  int status;
  ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
  close(fds[0]), close(fds[1]);
  ASSERT_EQ_INT(ferry__lock_acquire(path, &opts, &l), 0);
  ASSERT_EQ_INT(ferry__lock_release(&l), 0);
  free(path);
}

void test_lock_stale_rules(void) {
  char host[256];
  this_host(host);
  int64_t now = (int64_t)time(NULL);
  struct ferry__lock_owner o = {0};
  o.pid = getpid();
  snprintf(o.host, sizeof(o.host), "%s", host);
  o.started = now;
  ASSERT_EQ_INT(ferry__lock_is_stale(&o, host, now, 60), 0);   /* alive, young */
  o.started = now - 61;
  ASSERT_EQ_INT(ferry__lock_is_stale(&o, host, now, 60), 1);   /* too old */
  ASSERT_EQ_INT(ferry__lock_is_stale(&o, host, now, 0), 0);    /* no age limit */
  /* another host: its pid means nothing here; only age counts */
  o.started = now;
  o.pid = 999999999;
  ASSERT_EQ_INT(ferry__lock_is_stale(&o, "other-host", now, 60), 0);
  ASSERT_EQ_INT(ferry__lock_is_stale(&o, host, now, 60), 1);   /* no such pid here */
  o.started = now - 100;
  ASSERT_EQ_INT(ferry__lock_is_stale(&o, "other-host", now, 60), 1);
  /* pid 1 exists (we may not signal it: EPERM still means alive) */
  o.pid = 1;
  o.started = now;
  ASSERT_EQ_INT(ferry__lock_is_stale(&o, host, now, 60), 0);

  /* an old lock from another host is broken by age through acquire */
  char *path = lock_path("old.ferry-lock");
  char text[512];
  snprintf(text, sizeof(text), "ferry-lock 1\npid 12345\nhost elsewhere\nstarted %lld\nnonce %s\n",
           (long long)(now - 7200), "00112233445566778899aabbccddeeff");
  ASSERT_EQ_INT(ferry__write_atomic(path, text, strlen(text), 0644), 0);
  struct ferry__lock l;
  struct ferry__lock_opts young = {10, 50, 3 * 3600, 0, NULL};
  ASSERT_EQ_INT(ferry__lock_acquire(path, &young, &l), FERRY__LOCK_HELD); /* not old enough */
  struct ferry__lock_opts opts = {10, 50, 3600, 0, NULL};
  ASSERT_EQ_INT(ferry__lock_acquire(path, &opts, &l), 0);
  ASSERT_EQ_INT(ferry__lock_release(&l), 0);
  free(path);
}

void test_lock_malformed(void) {
  char *path = lock_path("bad.ferry-lock");
  struct ferry__lock_owner o;
  int found = 0;
  /* garbage is reported, not guessed at */
  const char *bad[] = {"", "ferry-lock 1\npid x\n", "ferry-lock 2\npid 1\nhost h\nstarted 1\nnonce 0123456789abcdef0123456789abcdef\n",
                       "ferry-lock 1\npid 1\nhost h\nstarted 1\nnonce short\n",
                       "ferry-lock 1\npid 1\nhost h\nstarted 1\nnonce 0123456789abcdef0123456789abcdef\nextra"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    TEST_NOTE("lock text %zu", i);
    ASSERT_EQ_INT(ferry__write_atomic(path, bad[i], strlen(bad[i]), 0644), 0);
    ASSERT_EQ_INT(ferry__lock_read(path, &o, &found), FERRY_E_PROTOCOL);
  }
  /* a fresh unparsable lock (its owner may be writing it) is left alone... */
  ASSERT_EQ_INT(ferry__write_atomic(path, "", 0, 0644), 0);
  struct ferry__lock l;
  struct ferry__lock_opts opts = {10, 50, 3600, 0, NULL};
  ASSERT_EQ_INT(ferry__lock_acquire(path, &opts, &l), FERRY__LOCK_HELD);
  /* ...and broken once it is old */
  struct timespec old[2] = {{time(NULL) - 60, 0}, {time(NULL) - 60, 0}};
  ASSERT_EQ_INT(utimensat(AT_FDCWD, path, old, 0), 0);
  ASSERT_EQ_INT(ferry__lock_acquire(path, &opts, &l), 0);
  ASSERT_EQ_INT(ferry__lock_release(&l), 0);
  ASSERT_EQ_INT(ferry__lock_read(path, &o, &found), 0);
  ASSERT_EQ_INT(found, 0);
  free(path);
}

/* Several processes race for one lock many times: at most one holds it at any moment. */
void test_lock_contention(void) {
  char *path = lock_path("race.ferry-lock"), *counter = lock_path("inside");
  ASSERT_EQ_INT(ferry__write_atomic(counter, "", 0, 0644), 0); /* makes the folder */
  ASSERT_EQ_INT(unlink(counter), 0);
  enum { KIDS = 4, ROUNDS = 25 };
  pid_t kids[KIDS];
  for (int k = 0; k < KIDS; k++) {
    kids[k] = fork();
    ASSERT_TRUE(kids[k] >= 0);
    if (kids[k] == 0) {
      struct ferry__lock_opts opts = {1, 20000, 3600, 0, NULL};
      for (int i = 0; i < ROUNDS; i++) {
        struct ferry__lock l;
        if (ferry__lock_acquire(path, &opts, &l) != 0) _exit(3);
        /* inside: the marker must be absent, we create it, then remove it */
        int fd = open(counter, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0 && errno == EEXIST) _exit(5); /* two holders at once */
        if (fd >= 0) close(fd);
        usleep(200);
        unlink(counter);
        if (ferry__lock_release(&l) != 0) _exit(4);
      }
      _exit(0);
    }
  }
  for (int k = 0; k < KIDS; k++) {
    int status;
    ASSERT_EQ_INT(waitpid(kids[k], &status, 0), kids[k]);
    TEST_NOTE("child %d", k);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ_INT(WEXITSTATUS(status), 0);
  }
  ASSERT_TRUE(access(path, F_OK) != 0);
  free(path), free(counter);
}

void test_lock_refresh(void) {
  char *path = lock_path("long.ferry-lock");
  char text[512], host[256];
  this_host(host);
  struct ferry__lock l;
  ASSERT_EQ_INT(ferry__lock_acquire(path, NULL, &l), 0);
  /* pretend we have held it for two hours */
  snprintf(text, sizeof(text), "ferry-lock 1\npid %ld\nhost %s\nstarted %lld\nnonce %s\n",
           (long)getpid(), host, (long long)time(NULL) - 7200, l.nonce);
  ASSERT_EQ_INT(ferry__write_atomic(path, text, strlen(text), 0644), 0);
  struct ferry__lock_owner o;
  int found = 0;
  ASSERT_EQ_INT(ferry__lock_read(path, &o, &found), 0);
  ASSERT_EQ_INT(ferry__lock_is_stale(&o, host, (int64_t)time(NULL), 3600), 1);
  ASSERT_EQ_INT(ferry__lock_refresh(&l), 0);
  ASSERT_EQ_INT(ferry__lock_read(path, &o, &found), 0);
  ASSERT_EQ_STR(o.nonce, l.nonce);
  ASSERT_EQ_INT(o.pid, getpid());
  ASSERT_EQ_INT(ferry__lock_is_stale(&o, host, (int64_t)time(NULL), 3600), 0);
  /* once someone else's lock replaced ours, refresh says so and leaves theirs alone */
  snprintf(text, sizeof(text), "ferry-lock 1\npid %ld\nhost %s\nstarted %lld\nnonce %s\n",
           (long)getppid(), host, (long long)time(NULL), "ffeeddccbbaa99887766554433221100");
  ASSERT_EQ_INT(ferry__write_atomic(path, text, strlen(text), 0644), 0);
  ASSERT_EQ_INT(ferry__lock_refresh(&l), FERRY__LOCK_LOST);
  ASSERT_EQ_INT(ferry__lock_read(path, &o, &found), 0);
  ASSERT_EQ_STR(o.nonce, "ffeeddccbbaa99887766554433221100");
  ASSERT_EQ_INT(ferry__lock_release(&l), 0);
  ASSERT_EQ_INT(access(path, F_OK), 0);
  free(path);
}

/* no_mkdir (the engine's lock beside an output file): a missing folder is an error, and is
 * not created; the folder must exist as for the file itself. */
void test_lock_no_mkdir(void) {
  char *path = lock_path("sub/out.bin.ferry-lock"), *dir = lock_path("sub");
  struct ferry__lock l;
  struct ferry__lock_opts opts = {10, 0, 3600, 1, NULL};
  ASSERT_EQ_INT(ferry__lock_acquire(path, &opts, &l), FERRY_E_IO);
  ASSERT_TRUE(l.path == NULL);
  ASSERT_TRUE(access(dir, F_OK) != 0);
  ASSERT_EQ_INT(ferry__mkdirs(dir), 0);
  ASSERT_EQ_INT(ferry__lock_acquire(path, &opts, &l), 0);
  ASSERT_EQ_INT(ferry__lock_release(&l), 0);
  ASSERT_TRUE(access(path, F_OK) != 0);
  free(path), free(dir);
}

/* A lock path that is a symbolic link (planted) is an error: not read through, not broken
 * (even when what it points to looks like a dead owner's lock), and its target is untouched. */
void test_lock_planted_symlink(void) {
  char *path = lock_path("planted.ferry-lock"), *victim = lock_path("victim");
  char host[256], text[512];
  this_host(host);
  snprintf(text, sizeof(text), "ferry-lock 1\npid 999999999\nhost %s\nstarted %lld\nnonce %s\n",
           host, (long long)time(NULL), "00112233445566778899aabbccddeeff");
  ASSERT_EQ_INT(ferry__write_atomic(victim, text, strlen(text), 0644), 0);
  ASSERT_EQ_INT(symlink(victim, path), 0);
  struct ferry__lock l;
  struct ferry__lock_opts opts = {10, 0, 3600, 0, NULL};
  ASSERT_EQ_INT(ferry__lock_acquire(path, &opts, &l), FERRY_E_IO);
  ASSERT_TRUE(l.path == NULL);
  ASSERT_EQ_INT(ferry__is_symlink(path), 1);
  char *back = NULL;
  size_t len;
  int found = 0;
  ASSERT_EQ_INT(ferry__read_small(victim, 1024, &back, &len, &found), 0);
  ASSERT_EQ_STR(back, text);
  free(back), free(path), free(victim);
}

/* The engine stamps its jobs' locks again every hour (job.c), so a download that runs longer
 * than the stale age keeps its lock; a lock someone else took meanwhile fails the job. */
void test_lock_engine_refresh(void) {
  struct ferry_engine *e = NULL;
  ASSERT_EQ_INT(ferry_engine_new(NULL, &e), 0);
  char out[4096];
  snprintf(out, sizeof(out), "%s/out.bin", ferry_unit_tmpdir());
  struct ferry_job_spec spec = {.url = "http://127.0.0.1:9/x", .path = out, .size = -1};
  struct ferry_job *job = NULL;
  ASSERT_EQ_INT(ferry_engine_add(e, &spec, &job), 0);
  struct ferry__job *j = (struct ferry__job *)job;
  char path[4200], text[512], host[256];
  snprintf(path, sizeof(path), "%s.ferry-lock", out);
  ASSERT_EQ_INT(ferry__lock_acquire(path, NULL, &j->lock), 0);
  this_host(host);
  /* held for two days as far as the file says */
  snprintf(text, sizeof(text), "ferry-lock 1\npid %ld\nhost %s\nstarted %lld\nnonce %s\n",
           (long)getpid(), host, (long long)time(NULL) - 2 * 86400, j->lock.nonce);
  ASSERT_EQ_INT(ferry__write_atomic(path, text, strlen(text), 0644), 0);
  e->locks_stamped_ms = ferry__now_ms(e); /* as ferry_engine_run does when it starts */
  ferry__job_refresh_locks(e);            /* less than an hour since: nothing yet */
  struct ferry__lock_owner o;
  int found = 0;
  ASSERT_EQ_INT(ferry__lock_read(path, &o, &found), 0);
  ASSERT_GT_INT((int)(time(NULL) - o.started), 86400);
  e->locks_stamped_ms = ferry__now_ms(e) - 3600 * 1000 - 1;
  ferry__job_refresh_locks(e);
  ASSERT_EQ_INT(ferry__lock_read(path, &o, &found), 0);
  ASSERT_EQ_STR(o.nonce, j->lock.nonce);
  ASSERT_LE_INT(llabs((long long)(time(NULL) - o.started)), 2);
  /* another process broke it and holds it now: the job fails, their lock stays */
  snprintf(text, sizeof(text), "ferry-lock 1\npid %ld\nhost %s\nstarted %lld\nnonce %s\n",
           (long)getppid(), host, (long long)time(NULL), "ffeeddccbbaa99887766554433221100");
  ASSERT_EQ_INT(ferry__write_atomic(path, text, strlen(text), 0644), 0);
  e->locks_stamped_ms = ferry__now_ms(e) - 3600 * 1000 - 1;
  ferry__job_refresh_locks(e);
  struct ferry_job_result r;
  ferry_job_result(job, &r);
  ASSERT_EQ_INT(r.error, FERRY_E_BUSY);
  ASSERT_TRUE(j->lock.path == NULL); /* released: theirs is left alone */
  ASSERT_EQ_INT(ferry__lock_read(path, &o, &found), 0);
  ASSERT_EQ_STR(o.nonce, "ffeeddccbbaa99887766554433221100");
  ferry_engine_free(e);
}
