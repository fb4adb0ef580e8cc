/* progress: one line on stderr, redrawn in place: bar, bytes, rate, ETA, connections. */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_progress_bars_off(void) {
  /* huggingface_hub's _is_true: 1, ON, YES, TRUE in any case */
  const char *v = getenv("HF_HUB_DISABLE_PROGRESS_BARS");
  return v && (!strcmp(v, "1") || !strcasecmp(v, "on") || !strcasecmp(v, "yes") ||
               !strcasecmp(v, "true"));
}

void cli_progress_init(struct cli_progress *p, int quiet) {
  p->enabled = !quiet && isatty(STDERR_FILENO);
  p->drawn = 0;
}

void cli_progress_draw(void *user, const struct ferry_stats *s) {
  struct cli_progress *p = user;
  if (!p->enabled) return;
  /* Rate over the whole run: steady, and honest about the start-up cost. */
  double rate = s->seconds > 0 ? (double)(s->bytes_done - s->bytes_resumed) / s->seconds : 0;
  double frac = s->bytes_total ? (double)s->bytes_done / (double)s->bytes_total : 0;
  if (frac > 1) frac = 1;
  double left = s->bytes_total > s->bytes_done ? (double)(s->bytes_total - s->bytes_done) : 0;
  char done[32], total[32], speed[32], eta[32];
  int width = 24, fill = (int)(frac * width);
  char bar[32];
  for (int i = 0; i < width; i++) bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
  bar[width] = 0;
  fprintf(stderr, "\r[%s] %3.0f%% %s / %s  %s/s  ETA %s  conn %d  files %d/%d", bar,
          frac * 100, cli_fmt_bytes((double)s->bytes_done, done, sizeof(done)),
          cli_fmt_bytes((double)s->bytes_total, total, sizeof(total)),
          cli_fmt_bytes(rate, speed, sizeof(speed)),
          cli_fmt_duration(rate > 0 ? left / rate : -1, eta, sizeof(eta)), s->connections_open,
          s->files_done, s->files_total);
  /* With several files, the largest in flight (what the remaining time depends on). */
  for (int i = 0; s->files_total > 1 && i < s->nlargest && i < 2; i++) {
    const char *name = strrchr(s->largest[i].label, '/');
    name = name ? name + 1 : s->largest[i].label;
    fprintf(stderr, "%s %.24s %.0f%%", i ? "," : "  |", name,
            s->largest[i].size ? 100.0 * (double)s->largest[i].done / (double)s->largest[i].size
                               : 100.0);
  }
  fputs(" \033[K", stderr);
  p->drawn = 1;
}

void cli_log(void *user, int level, const char *message) {
  struct cli_progress *p = user;
  if (level == FERRY_LOG_NOTICE && p->quiet) return;
  if (p->drawn) fputs("\r\033[K", stderr);
  fprintf(stderr, "ferry: %s\n", message);
}

void cli_progress_end(struct cli_progress *p) {
  if (p->enabled && p->drawn) fputc('\n', stderr);
  p->drawn = 0;
}
