/* Unit tests for the stop (engine/src/stop.c, ferry.h's ferry_stop): it stays requested, and a
 * request from another thread or from a signal handler ends a blocking wait, an engine's pause
 * between retries and a lock wait at once, not at the end of the wait (30 s asked; the bound
 * is wide: the machine is shared). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "assert.h"
#include "internal.h"
#include "lock.h"

#define LONG_WAIT_MS 30000L

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Requests the stop 100 ms after it starts, from its own thread. */
static void *request_later(void *arg) {
  usleep(100 * 1000);
  ferry_stop_request(arg);
  return NULL;
}

static struct ferry_stop *alarm_stop;
static void on_alarm(int sig) {
  (void)sig;
  ferry_stop_request(alarm_stop);
}

void test_stop_requested_for_good(void) {
  struct ferry_stop *s = NULL;
  ASSERT_EQ_INT(ferry_stop_new(&s), 0);
  ASSERT_EQ_INT(ferry_stop_requested(s), 0);
  ASSERT_EQ_INT(ferry_stop_requested(NULL), 0);
  ferry_stop_request(NULL); /* no stop: nothing to do */
  ferry_stop_request(s);
  ferry_stop_request(s); /* twice: still one request */
  ASSERT_EQ_INT(ferry_stop_requested(s), 1);
  /* a wait started after the request ends at once */
  long t0 = now_ms();
  ASSERT_EQ_INT(ferry__stop_wait(s, LONG_WAIT_MS), 1);
  ASSERT_LT_INT(now_ms() - t0, 1000);
  ferry_stop_free(s);
}

void test_stop_wait_ends_on_request(void) {
  struct ferry_stop *s = NULL;
  ASSERT_EQ_INT(ferry_stop_new(&s), 0);
  /* not requested: the whole wait */
  long t0 = now_ms();
  ASSERT_EQ_INT(ferry__stop_wait(s, 60), 0);
  ASSERT_GE_INT(now_ms() - t0, 55);
  pthread_t th;
  ASSERT_EQ_INT(pthread_create(&th, NULL, request_later, s), 0);
  t0 = now_ms();
  ASSERT_EQ_INT(ferry__stop_wait(s, LONG_WAIT_MS), 1);
  long waited = now_ms() - t0;
  pthread_join(th, NULL);
  ASSERT_GE_INT(waited, 90);
  ASSERT_LT_INT(waited, 1000);
  ferry_stop_free(s);
}

void test_stop_from_a_signal_ends_an_engine_pause(void) {
  ASSERT_EQ_INT(ferry_stop_new(&alarm_stop), 0);
  struct ferry_config cfg = {.stop = alarm_stop};
  struct ferry_engine *e = NULL;
  ASSERT_EQ_INT(ferry_engine_new(&cfg, &e), 0);
  /* without a request the pause is the wait asked */
  long t0 = now_ms();
  ASSERT_EQ_INT(ferry__engine_pause(e, 60), 0);
  ASSERT_GE_INT(now_ms() - t0, 55);
  /* SIGALRM's handler requests the stop 100 ms into a 30 s pause (a server's Retry-After) */
  struct sigaction sa = {.sa_handler = on_alarm}, old;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ_INT(sigaction(SIGALRM, &sa, &old), 0);
  struct itimerval it = {.it_value = {0, 100 * 1000}};
  ASSERT_EQ_INT(setitimer(ITIMER_REAL, &it, NULL), 0);
  t0 = now_ms();
  ASSERT_EQ_INT(ferry__engine_pause(e, (uint64_t)LONG_WAIT_MS), FERRY_E_INTERRUPTED);
  long waited = now_ms() - t0;
  sigaction(SIGALRM, &old, NULL);
  ASSERT_GE_INT(waited, 90);
  ASSERT_LT_INT(waited, 1000);
  /* the stop stays requested: the next pause ends at once too */
  ASSERT_EQ_INT(ferry__engine_pause(e, (uint64_t)LONG_WAIT_MS), FERRY_E_INTERRUPTED);
  ferry_engine_free(e);
  ferry_stop_free(alarm_stop);
  alarm_stop = NULL;
}

void test_stop_ends_a_lock_wait(void) {
  char path[4200];
  snprintf(path, sizeof(path), "%s/held.ferry-lock", ferry_unit_tmpdir());
  struct ferry__lock held, l;
  ASSERT_EQ_INT(ferry__lock_acquire(path, NULL, &held), 0);
  struct ferry_stop *s = NULL;
  ASSERT_EQ_INT(ferry_stop_new(&s), 0);
  /* held by a live process (us), looked at every 50 ms for up to 30 s */
  struct ferry__lock_opts wait = {.poll_ms = 50, .max_wait_ms = (int)LONG_WAIT_MS,
                                  .stale_after_s = 3600, .stop = s};
  pthread_t th;
  ASSERT_EQ_INT(pthread_create(&th, NULL, request_later, s), 0);
  long t0 = now_ms();
  ASSERT_EQ_INT(ferry__lock_acquire(path, &wait, &l), FERRY_E_INTERRUPTED);
  long waited = now_ms() - t0;
  pthread_join(th, NULL);
  ASSERT_TRUE(l.path == NULL);
  ASSERT_GE_INT(waited, 90);
  ASSERT_LT_INT(waited, 1000);
  ferry__lock_release(&held);
  ferry_stop_free(s);
}
