/* bench.h: what the files of `ferry bench` share: cmd_bench.c (options, one run) and
 * bench_sweep.c (--sweep: value lists, the sweep's progress, table and --json). */
#ifndef FERRY_CLI_BENCH_H
#define FERRY_CLI_BENCH_H

#include "cli.h"

/* --json's "limit" words, by enum ferry_bench_limit. */
extern const char *const cli_bench_limit_names[];
/* One run's figures as --json has them (keys in README.md); a new object. */
json_t *cli_bench_json(const struct ferry_bench_result *r);
/* One run's table on stdout; cfg: the settings it ran with (0: the engine's default). */
void cli_bench_table(const struct ferry_bench_result *r, const struct ferry_config *cfg);

/* --connections, --streams (integers lo..hi) and --chunk-size (sizes, at least lo) as a
 * comma-separated list of at most cap values into v, *n of them. 0, or the usage exit code
 * after one line naming the option. */
int cli_bench_int_list(const char *opt, const char *s, int lo, int hi, int *v, size_t cap,
                       size_t *n);
int cli_bench_size_list(const char *opt, const char *s, uint64_t lo, uint64_t *v, size_t cap,
                        size_t *n);

/* Runs the sweep of o (lists already set), prints it (progress when live, then the table or
 * --json), with save the best setting into the settings file, with plot (not NULL) the PNG;
 * returns the exit code. */
int cli_bench_sweep(struct ferry_bench_sweep_opts *o, const struct cli_hub_opts *hub, int live,
                    int save, const char *plot);

/* --plot FILE.png (bench_plot.c, with cairo): one run's goodput over time per connection and
 * in total; a sweep's goodput against requests in flight, the stage limits as lines. 0, or
 * FERRY_E_IO (or FERRY_E_INVAL in a build without cairo) with a line in why. */
int cli_bench_plot_available(void);
int cli_bench_plot_run(const char *path, const struct ferry_bench_result *r, char *why,
                       size_t cap);
int cli_bench_plot_sweep(const char *path, const struct ferry_bench_sweep_result *r, char *why,
                         size_t cap);

#endif
