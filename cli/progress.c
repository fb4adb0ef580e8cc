/* progress: one line on stderr, redrawn in place: bar, bytes, rate, ETA, connections; never
 * wider than the terminal (read again after SIGWINCH). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"

int cli_progress_bars_off(void) {
  /* huggingface_hub's _is_true: 1, ON, YES, TRUE in any case */
  const char *v = getenv("HF_HUB_DISABLE_PROGRESS_BARS");
  return v && (!strcmp(v, "1") || !strcasecmp(v, "on") || !strcasecmp(v, "yes") ||
               !strcasecmp(v, "true"));
}

/* The terminal's width, read again after each SIGWINCH (a resize). */
static volatile sig_atomic_t resized = 1;

static void on_winch(int sig) {
  (void)sig;
  resized = 1;
}

void cli_progress_init(struct cli_progress *p, int quiet) {
  p->enabled = !quiet && isatty(STDERR_FILENO);
  p->drawn = 0;
  p->columns = 0;
  if (p->enabled) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_winch;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGWINCH, &sa, NULL);
    resized = 1;
  }
}

static int columns(struct cli_progress *p) {
  if (resized || p->columns <= 0) {
    resized = 0;
    struct winsize ws;
    const char *env = getenv("COLUMNS");
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) p->columns = ws.ws_col;
    else if (env && atoi(env) > 0) p->columns = atoi(env);
    else p->columns = 80; /* a terminal that does not say */
  }
  return p->columns;
}

/* Appends to buf (of cap bytes) unless that would pass `room` columns (ASCII only here). */
static int append(char *buf, size_t cap, int room, const char *piece) {
  size_t used = strlen(buf), n = strlen(piece);
  if ((int)(used + n) > room || used + n >= cap) return 0;
  memcpy(buf + used, piece, n + 1);
  return 1;
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
  cli_fmt_bytes((double)s->bytes_done, done, sizeof(done));
  cli_fmt_bytes((double)s->bytes_total, total, sizeof(total));
  cli_fmt_bytes(rate, speed, sizeof(speed));
  cli_fmt_duration(rate > 0 ? left / rate : -1, eta, sizeof(eta));
  /* The pieces after the bar, least needed last; whatever does not fit in the terminal is
   * left out (a line that wraps leaves a stale copy on screen at every redraw). The last
   * column stays empty: some terminals wrap as soon as it is written. */
  char pieces[5][128];
  snprintf(pieces[0], sizeof(pieces[0]), "  %s/s", speed);
  snprintf(pieces[1], sizeof(pieces[1]), "  ETA %s", eta);
  snprintf(pieces[2], sizeof(pieces[2]), "  conn %d", s->connections_open);
  snprintf(pieces[3], sizeof(pieces[3]), "  files %d/%d", s->files_done, s->files_total);
  pieces[4][0] = 0;
  /* With several files, the largest in flight (what the remaining time depends on). */
  for (int i = 0; s->files_total > 1 && i < s->nlargest && i < 2; i++) {
    const char *name = strrchr(s->largest[i].label, '/');
    name = name ? name + 1 : s->largest[i].label;
    size_t used = strlen(pieces[4]);
    snprintf(pieces[4] + used, sizeof(pieces[4]) - used, "%s %.24s %.0f%%", i ? "," : "  |",
             name,
             s->largest[i].size ? 100.0 * (double)s->largest[i].done / (double)s->largest[i].size
                                : 100.0);
  }
  int room = columns(p) - 2; /* the trailing space and the empty last column */
  if (room < 1) room = 1;
  /* Shown in order; dropped in this order when the line is too long. */
  static const int drop_order[] = {4, 2, 3, 1, 0};
  int shown[5] = {1, 1, 1, 1, 1}, width = 24;
  char line[512];
  for (int step = 0;; step++) {
    char bar[32];
    int fill = (int)(frac * width);
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
    bar[width] = 0;
    snprintf(line, sizeof(line), "[%s] %3.0f%% %s / %s", bar, frac * 100, done, total);
    int fits = (int)strlen(line) <= room;
    for (int i = 0; i < 5 && fits; i++)
      if (shown[i]) fits = append(line, sizeof(line), room, pieces[i]);
    if (fits) break;
    if (step < 5) shown[drop_order[step]] = 0;
    else if (width > 8) width -= 4; /* then a shorter bar */
    else {
      line[room] = 0; /* a very narrow terminal: cut */
      break;
    }
  }
  fprintf(stderr, "\r%s \033[K", line);
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
