/* bench_window: the measured window of a `ferry bench` run, download or upload alike: the
 * slow-start grace left out, each second's rate, the stop once settled or at the time
 * limit, and the CPU time over the window. The caller feeds it the useful bytes so far at
 * every progress tick (the engine's own counters). */
#include <string.h>
#include <sys/resource.h>

#include "bench.h"

#define SETTLE_WINDOW 3   /* one-second rates ... */
#define SETTLE_TOL 0.05   /* ... within 5 % of their mean */

double ferry__bench_cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

void ferry__bench_window_close(struct ferry__bench_window *w, struct ferry_bench_result *out,
                               double t, uint64_t useful) {
  if (w->closed) return;
  w->closed = 1;
  if (w->probe) w->probe->measuring = 0;
  if (!w->measuring) return; /* stopped inside the grace: nothing measured */
  out->seconds = t - w->win_t0;
  out->bytes = useful > w->win_b0 ? useful - w->win_b0 : 0;
  out->cpu_seconds = ferry__bench_cpu_seconds() - w->cpu0;
}

int ferry__bench_window_tick(struct ferry__bench_window *w, struct ferry_bench_result *out,
                             double t, uint64_t useful) {
  if (w->closed) return 1;
  if (!w->measuring && t >= w->grace) {
    w->measuring = 1;
    if (w->probe) w->probe->measuring = 1;
    w->win_t0 = w->sec_t0 = t;
    w->win_b0 = w->sec_b0 = useful;
    w->cpu0 = ferry__bench_cpu_seconds();
  }
  if (w->measuring && t - w->sec_t0 >= 1.0) {
    const size_t cap = sizeof(out->rates) / sizeof(out->rates[0]);
    if (out->nrates == cap) { /* a long run keeps its last seconds: those decide settling */
      memmove(out->rates, out->rates + 1, (cap - 1) * sizeof(out->rates[0]));
      out->nrates--;
    }
    out->rates[out->nrates++] = (double)(useful - w->sec_b0) / 1e6 / (t - w->sec_t0);
    if (w->probe) ferry__bench_probe_second(w->probe, t - w->sec_t0);
    w->sec_t0 = t;
    w->sec_b0 = useful;
    out->settled = ferry__bench_settled(out->rates, out->nrates, SETTLE_WINDOW, SETTLE_TOL);
  }
  if (w->progress_cb && t > w->last_t) {
    double dt = t - w->last_t;
    w->progress_cb(w->progress_user, t,
                   dt > 0 ? (double)(useful - w->last_b) / 1e6 / dt : 0);
  }
  if (t - w->last_t >= 1.0 || w->last_t == 0) w->last_t = t, w->last_b = useful;
  return out->settled || t >= w->limit;
}
