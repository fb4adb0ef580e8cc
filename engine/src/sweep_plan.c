/* sweep_plan: `ferry bench --sweep`'s decisions (sweep.h). Pure: numbers in, a number out. */
#include "sweep.h"

double ferry__sweep_point_seconds(size_t npoints, double given) {
  if (given > 0) return given;
  double s = npoints ? FERRY__SWEEP_BUDGET / (double)npoints : 10;
  return s < 2 ? 2 : s > 10 ? 10 : (double)(int)s; /* whole seconds read better in a table */
}

static int measured(const struct ferry_bench_point *p) {
  return !p->is_default && !p->error && p->bytes > 0 && p->mb_per_s > 0;
}

/* a is cheaper than b (both within the tie of the fastest) */
static int cheaper(const struct ferry_bench_point *a, const struct ferry_bench_point *b) {
  long fa = (long)a->connections * a->streams, fb = (long)b->connections * b->streams;
  if (fa != fb) return fa < fb;
  if (a->connections != b->connections) return a->connections < b->connections;
  if (a->chunk_size != b->chunk_size) return a->chunk_size < b->chunk_size;
  return a->mb_per_s > b->mb_per_s;
}

int ferry__sweep_best(const struct ferry_bench_point *p, size_t n) {
  double fastest = 0;
  for (size_t i = 0; i < n; i++)
    if (measured(&p[i]) && p[i].mb_per_s > fastest) fastest = p[i].mb_per_s;
  int best = -1;
  for (size_t i = 0; i < n; i++) {
    if (!measured(&p[i]) || p[i].mb_per_s < (1 - FERRY__SWEEP_TIE) * fastest) continue;
    if (best < 0 || cheaper(&p[i], &p[best])) best = (int)i;
  }
  return best;
}
