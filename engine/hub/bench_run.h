/* bench_run.h: what bench.c (one run) and bench_sweep.c (many runs) share: a run without the
 * stage runs. */
#ifndef FERRY_HUB_BENCH_RUN_H
#define FERRY_HUB_BENCH_RUN_H

#include <uv.h>

#include "ferry.h"

#define FERRY__BENCH_STAGES 1  /* the stage runs and the verdict (not a sweep's points) */
#define FERRY__BENCH_NO_HASH 2 /* the null sink with the hash off (the TLS-receive stage) */
/* ferry_bench_run with FERRY__BENCH_* flags (ferry_bench_run: FERRY__BENCH_STAGES); scratch:
 * an upload sweep's scratch repo (ferry__bench_scratch_open), or NULL. */
int ferry__bench_run(const struct ferry_bench_opts *o, struct ferry_bench_result *out,
                     int flags, const char *scratch);


#endif
