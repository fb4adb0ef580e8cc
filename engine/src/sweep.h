/* sweep.h: `ferry bench --sweep`'s decisions as pure functions (sweep_plan.c, tested in
 * tests/unit/test_sweep.c): how long each point runs, and which point is the best. The sweep
 * itself is engine/hub/bench_sweep.c. */
#ifndef FERRY_SWEEP_H
#define FERRY_SWEEP_H

#include <stddef.h>

#include "ferry.h"

/* Seconds of downloading the default sweep may take in all: under 2 minutes with the stage
 * runs and each point's setup (a tree listing, a new engine). */
#define FERRY__SWEEP_BUDGET 100.0

/* Each point's run: `given` when the caller set one, else the budget shared by the points,
 * between 2 s (a grace of 0.5 s, then a window) and 10 s (a bench's default run). */
double ferry__sweep_point_seconds(size_t npoints, double given);

/* Within this share of the fastest point, points count as equally fast. */
#define FERRY__SWEEP_TIE 0.05

/* The best fixed point of p[0..n): among the measured ones (no error, bytes moved, not the
 * default), those within FERRY__SWEEP_TIE of the fastest, then the cheapest of them: fewest
 * requests in flight (connections x streams), then fewest connections, then the smallest
 * request size, then the faster. -1 when none was measured. */
int ferry__sweep_best(const struct ferry_bench_point *p, size_t n);

/* A connection kept at least this share of its rate while the connections grew. */
#define FERRY__SWEEP_CAP_KEEP 0.8

/* The per-connection cap the points show, in MB/s per connection, or 0 when they show none:
 * among the measured fixed points of one streams value, the one with the most connections
 * (at least twice the fewest) still gets FERRY__SWEEP_CAP_KEEP of the per-connection rate of
 * the one with the fewest. The goodput grew with the connections, so each connection is held
 * to a rate of its own (a shared link would have split one rate among them). The cap is the
 * per-connection rate at the most connections; of several streams values, the one that went
 * to the most connections. */
double ferry__sweep_cap(const struct ferry_bench_point *p, size_t n);

/* engine.c: fills what the caller left at 0 with the engine's defaults (ferry_engine_new does
 * the same), so the sweep shows the setting its default point ran with. */
void ferry__config_defaults(struct ferry_config *c);

#endif
