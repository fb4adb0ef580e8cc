/* bench_watch: SIGINT/SIGTERM watched for a whole bench or sweep (bench_run.h), on a loop of
 * its own, so a signal between two engines is seen and not fatal. */
#include <signal.h>

#include "bench_run.h"

static void on_signal(uv_signal_t *s, int signum) {
  (void)signum;
  ((struct ferry__bench_watch *)s->data)->hit = 1;
}

void ferry__bench_watch_start(struct ferry__bench_watch *w) {
  if (uv_loop_init(&w->loop) != 0) return;
  w->on = 1;
  const int nums[2] = {SIGINT, SIGTERM};
  for (int i = 0; i < 2; i++) {
    uv_signal_init(&w->loop, &w->sig[i]);
    w->sig[i].data = w;
    uv_signal_start(&w->sig[i], on_signal, nums[i]);
  }
}

int ferry__bench_watch_hit(struct ferry__bench_watch *w) {
  if (w->on) uv_run(&w->loop, UV_RUN_NOWAIT);
  return w->hit;
}

void ferry__bench_watch_stop(struct ferry__bench_watch *w) {
  if (!w->on) return;
  for (int i = 0; i < 2; i++) uv_close((uv_handle_t *)&w->sig[i], NULL);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  uv_loop_close(&w->loop);
  w->on = 0;
}
