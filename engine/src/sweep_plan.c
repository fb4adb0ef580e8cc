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

double ferry__sweep_cap(const struct ferry_bench_point *p, size_t n) {
  double cap = 0;
  int widest = 0; /* connections of the point the cap comes from */
  for (size_t g = 0; g < n; g++) { /* each streams value once: at its first measured point */
    if (!measured(&p[g])) continue;
    int seen = 0;
    for (size_t k = 0; k < g && !seen; k++) seen = measured(&p[k]) && p[k].streams == p[g].streams;
    if (seen) continue;
    const struct ferry_bench_point *lo = NULL, *hi = NULL;
    for (size_t i = g; i < n; i++) {
      const struct ferry_bench_point *q = &p[i];
      if (!measured(q) || q->streams != p[g].streams) continue;
      if (!lo || q->connections < lo->connections ||
          (q->connections == lo->connections && q->mb_per_s > lo->mb_per_s)) lo = q;
      if (!hi || q->connections > hi->connections ||
          (q->connections == hi->connections && q->mb_per_s > hi->mb_per_s)) hi = q;
    }
    if (hi->connections < 2 * lo->connections) continue;
    double r_lo = lo->mb_per_s / lo->connections, r_hi = hi->mb_per_s / hi->connections;
    if (r_hi >= FERRY__SWEEP_CAP_KEEP * r_lo && hi->connections > widest) {
      cap = r_hi;
      widest = hi->connections;
    }
  }
  return cap;
}
