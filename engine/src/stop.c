/* stop.c: the one way to end a running call early (ferry.h's ferry_stop). A request writes
 * one byte to a pipe that nobody reads back, so its read end stays readable for good: every
 * engine loop watching it with uv_poll wakes at once (also one that starts watching later),
 * and a blocking wait off the loop (a lock, a 409 back-off) is a poll() on it with a timeout.
 * write() is async-signal-safe, which a SIGINT handler needs; uv_async_send would be too,
 * but it belongs to one loop, and a hub call runs several engines. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

struct ferry_stop {
  int fd[2];           /* read end watched, write end written once */
  atomic_int requested; /* lock-free on Linux, so safe in a signal handler and across threads */
};

int ferry_stop_new(struct ferry_stop **out) {
  *out = NULL;
  struct ferry_stop *s = calloc(1, sizeof(*s));
  if (!s) return FERRY_E_NOMEM;
  if (pipe2(s->fd, O_CLOEXEC | O_NONBLOCK) != 0) {
    free(s);
    return FERRY_E_INTERNAL;
  }
  atomic_init(&s->requested, 0);
  *out = s;
  return 0;
}

void ferry_stop_request(struct ferry_stop *s) {
  if (!s || atomic_exchange(&s->requested, 1)) return;
  int saved = errno; /* a signal handler must leave errno as it found it */
  ssize_t r = write(s->fd[1], "", 1);
  (void)r; /* the pipe is empty before the one write: it cannot fail for space */
  errno = saved;
}

int ferry_stop_requested(const struct ferry_stop *s) {
  return s && atomic_load((atomic_int *)&s->requested);
}

void ferry_stop_free(struct ferry_stop *s) {
  if (!s) return;
  close(s->fd[0]);
  close(s->fd[1]);
  free(s);
}

int ferry__stop_fd(const struct ferry_stop *s) { return s->fd[0]; }

int ferry__stop_wait(const struct ferry_stop *s, long ms) {
  if (!s) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return 0;
  }
  struct pollfd p = {.fd = s->fd[0], .events = POLLIN};
  int64_t end = (int64_t)(uv_hrtime() / 1000000) + ms;
  for (;;) {
    if (ferry_stop_requested(s)) return 1;
    int64_t left = end - (int64_t)(uv_hrtime() / 1000000);
    if (left <= 0) return 0;
    if (poll(&p, 1, (int)left) < 0 && errno != EINTR) return ferry__stop_wait(NULL, left);
  }
}
