/* bench_plot: `ferry bench --plot FILE.png`, drawn with cairo (optional at build time: without
 * it --plot says so before anything runs). One run: each connection's goodput over the
 * measured seconds and the total. A sweep: goodput against requests in flight (connections x
 * streams, log scale), a line per streams and request size, the default and the best point
 * marked, and the stage limits (SHA-256 on one core, the disk, receiving alone) as lines; an
 * upload sweep's against its parts at once (no disk line: an upload reads none). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

#ifdef FERRY_HAVE_CAIRO
#include <cairo.h>
#include <fontconfig/fontconfig.h>

#define W 1000
#define H 600

struct chart {
  cairo_t *cr;
  double x0, y0, w, h;       /* the plot area */
  double xmin, xmax, ymax;   /* data ranges; x on a log2 scale when logx */
  int logx;
};

static const double palette[][3] = {{0.12, 0.47, 0.71}, {1.00, 0.50, 0.05}, {0.17, 0.63, 0.17},
                                    {0.84, 0.15, 0.16}, {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29},
                                    {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50}};
#define NPAL (sizeof(palette) / sizeof(palette[0]))

static double px(const struct chart *c, double x) {
  double a = c->logx ? log2(x) : x, lo = c->logx ? log2(c->xmin) : c->xmin,
         hi = c->logx ? log2(c->xmax) : c->xmax;
  return c->x0 + (hi > lo ? (a - lo) / (hi - lo) : 0.5) * c->w;
}

static double py(const struct chart *c, double y) { return c->y0 + c->h - y / c->ymax * c->h; }

static void color(cairo_t *cr, size_t i, double alpha) {
  cairo_set_source_rgba(cr, palette[i % NPAL][0], palette[i % NPAL][1], palette[i % NPAL][2],
                        alpha);
}

static void text(cairo_t *cr, double x, double y, double size, const char *s, double align) {
  cairo_set_font_size(cr, size);
  cairo_text_extents_t te;
  cairo_text_extents(cr, s, &te);
  cairo_move_to(cr, x - te.width * align, y);
  cairo_show_text(cr, s);
  cairo_new_path(cr); /* no current point left for the next arc to start a line from */
}

/* A "nice" step for about n ticks over [0, max]. */
static double tick_step(double max, int n) {
  double raw = max / n, p = pow(10, floor(log10(raw))), f = raw / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

/* White page, title, axes with their ticks and names. */
static void frame(struct chart *c, const char *title, const char *xname, const char *yname) {
  cairo_t *cr = c->cr;
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_source_rgb(cr, 0, 0, 0);
  text(cr, W / 2.0, 30, 17, title, 0.5);
  double step = tick_step(c->ymax, 6);
  cairo_set_line_width(cr, 1);
  for (double y = 0; y <= c->ymax + 1e-9; y += step) {
    char b[32];
    snprintf(b, sizeof(b), "%g", y);
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, c->x0, py(c, y));
    cairo_line_to(cr, c->x0 + c->w, py(c, y));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, c->x0 - 8, py(c, y) + 4, 12, b, 1);
  }
  if (c->logx) {
    for (double x = 1; x <= c->xmax * 1.0001; x *= 2) {
      if (x < c->xmin / 1.0001) continue;
      char b[32];
      snprintf(b, sizeof(b), "%g", x);
      text(cr, px(c, x), c->y0 + c->h + 18, 12, b, 0.5);
    }
  } else {
    double xs = tick_step(c->xmax - c->xmin, 8);
    for (double x = ceil(c->xmin / xs) * xs; x <= c->xmax + 1e-9; x += xs) {
      char b[32];
      snprintf(b, sizeof(b), "%g", x);
      text(cr, px(c, x), c->y0 + c->h + 18, 12, b, 0.5);
    }
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_rectangle(cr, c->x0, c->y0, c->w, c->h);
  cairo_stroke(cr);
  text(cr, c->x0 + c->w / 2, H - 15, 13, xname, 0.5);
  cairo_save(cr);
  cairo_translate(cr, 22, c->y0 + c->h / 2);
  cairo_rotate(cr, -M_PI / 2);
  text(cr, 0, 0, 13, yname, 0.5);
  cairo_restore(cr);
}

/* One legend entry under the others, at the plot's top right. */
static void legend(struct chart *c, int *row, const char *label, double width, int dashed) {
  cairo_t *cr = c->cr;
  double x = c->x0 + c->w - 250, y = c->y0 + 18 + 18 * (*row)++;
  cairo_pattern_t *ink = cairo_pattern_reference(cairo_get_source(cr));
  cairo_set_source_rgb(cr, 1, 1, 1); /* a white band: readable over the lines below it */
  cairo_rectangle(cr, x - 6, y - 14, 250, 18);
  cairo_fill(cr);
  cairo_set_source(cr, ink);
  cairo_pattern_destroy(ink);
  cairo_set_line_width(cr, width);
  double dash = 6;
  cairo_set_dash(cr, &dash, dashed ? 1 : 0, 0);
  cairo_move_to(cr, x, y - 4);
  cairo_line_to(cr, x + 28, y - 4);
  cairo_stroke(cr);
  cairo_set_dash(cr, NULL, 0, 0);
  cairo_set_source_rgb(cr, 0, 0, 0);
  text(cr, x + 36, y, 12, label, 0);
}

static int finish(cairo_surface_t *s, cairo_t *cr, const char *path, char *why, size_t cap) {
  cairo_destroy(cr);
  cairo_status_t st = cairo_surface_write_to_png(s, path);
  cairo_surface_destroy(s);
  /* cairo and fontconfig keep the fonts they looked up for the process's life: drop them, so
   * a leak checker sees none (one plot per run, at the end: nothing is lost). */
  cairo_debug_reset_static_data();
  FcFini();
  if (st == CAIRO_STATUS_SUCCESS) return 0;
  snprintf(why, cap, "--plot: cannot write %s: %s", path, cairo_status_to_string(st));
  return FERRY_E_IO;
}

static struct chart start(cairo_surface_t **s, double xmin, double xmax, double ymax, int logx) {
  *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
  struct chart c = {cairo_create(*s), 80, 50, W - 110, H - 110, xmin, xmax, ymax, logx};
  return c;
}

int cli_bench_plot_available(void) { return 1; }

int cli_bench_plot_run(const char *path, const struct ferry_bench_result *r, char *why,
                       size_t cap) {
  size_t n = r->nseries;
  double total[FERRY_BENCH_SERIES] = {0}, ymax = 1;
  for (size_t t = 0; t < n; t++) {
    for (size_t i = 0; i < r->nconns; i++) total[t] += r->conn_series[i][t];
    if (total[t] > ymax) ymax = total[t];
  }
  cairo_surface_t *s;
  struct chart c = start(&s, 0.5, (double)n + 0.5, ymax * 1.15, 0);
  char title[256];
  snprintf(title, sizeof(title), "ferry bench: %.1f MB/s over %zu connection%s, %s",
           r->mb_per_s, r->nconns, r->nconns == 1 ? "" : "s",
           r->upload ? "upload" : r->to_null ? "null sink" : "disk");
  frame(&c, title, "second of the measured window (after the grace)", "MB/s");
  cairo_t *cr = c.cr;
  /* Each connection where it carried bytes: a thin line per second it was open. */
  for (size_t i = 0; i < r->nconns; i++) {
    color(cr, i, 0.6);
    cairo_set_line_width(cr, 1.2);
    int open = 0;
    for (size_t t = 0; t < n; t++) {
      double v = r->conn_series[i][t];
      if (v <= 0) {
        open = 0;
        continue;
      }
      if (open) cairo_line_to(cr, px(&c, (double)t + 1), py(&c, v));
      else cairo_move_to(cr, px(&c, (double)t + 1), py(&c, v)), open = 1;
    }
    cairo_stroke(cr);
    for (size_t t = 0; t < n; t++) /* a dot per second: a connection of one second shows too */
      if (r->conn_series[i][t] > 0) {
        cairo_arc(cr, px(&c, (double)t + 1), py(&c, r->conn_series[i][t]), 2.5, 0, 2 * M_PI);
        cairo_fill(cr);
      }
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_line_width(cr, 3);
  for (size_t t = 0; t < n; t++) {
    if (t) cairo_line_to(cr, px(&c, (double)t + 1), py(&c, total[t]));
    else cairo_move_to(cr, px(&c, 1), py(&c, total[0]));
  }
  cairo_stroke(cr);
  int row = 0;
  cairo_set_source_rgb(cr, 0, 0, 0);
  legend(&c, &row, "total", 3, 0);
  color(cr, 0, 0.6);
  char b[64];
  snprintf(b, sizeof(b), r->nconns < 64 ? "each connection (%zu)"
                                         : "each connection (the 64th: all after it)", r->nconns);
  legend(&c, &row, b, 1.2, 0);
  return finish(s, cr, path, why, cap);
}

/* A point's x: requests in flight (connections x streams), or an upload's parts at once
 * (its streams are not set). */
static double in_flight(const struct ferry_bench_point *p) {
  return (double)p->connections * (p->streams ? p->streams : 1);
}

/* A stage limit across the chart, dashed, named at its right end. */
static void limit_line(struct chart *c, int *row, double y, const char *label, size_t col) {
  if (y <= 0) return;
  cairo_t *cr = c->cr;
  color(cr, col, 1);
  double dash = 6;
  cairo_set_dash(cr, &dash, 1, 0);
  cairo_set_line_width(cr, 1.5);
  cairo_move_to(cr, c->x0, py(c, y));
  cairo_line_to(cr, c->x0 + c->w, py(c, y));
  cairo_stroke(cr);
  cairo_set_dash(cr, NULL, 0, 0);
  color(cr, col, 1);
  char b[96];
  snprintf(b, sizeof(b), "%s %.0f MB/s", label, y);
  legend(c, row, b, 1.5, 1);
}

int cli_bench_plot_sweep(const char *path, const struct ferry_bench_sweep_result *r, char *why,
                         size_t cap) {
  const struct ferry_bench_result *d = &r->detail;
  double xmin = 1e9, xmax = 1, ymax = 1;
  for (size_t i = 0; i < r->npoints; i++) {
    const struct ferry_bench_point *p = &r->points[i];
    double x = in_flight(p);
    if (x < xmin) xmin = x;
    if (x > xmax) xmax = x;
    if (p->mb_per_s > ymax) ymax = p->mb_per_s;
  }
  const double limits[3] = {d->sha256_per_core, d->to_null || d->upload ? 0 : d->disk_mb_per_s,
                            d->tls_mb_per_s};
  for (int i = 0; i < 3; i++)
    if (limits[i] > ymax) ymax = limits[i];
  if (xmin >= xmax) xmin = xmax / 2;
  cairo_surface_t *s;
  struct chart c = start(&s, xmin, xmax, ymax * 1.15, 1);
  char title[256];
  snprintf(title, sizeof(title), "ferry bench %s--sweep: goodput against %s (%zu points)",
           d->upload ? "--upload " : "", d->upload ? "parts at once" : "requests in flight",
           r->npoints);
  frame(&c, title, d->upload ? "parts sent at once (--connections)"
                             : "requests in flight (connections x streams)", "MB/s");
  cairo_t *cr = c.cr;
  int row = 0;
  /* A line per (streams, request size), through its points in order of concurrency. */
  size_t line = 0;
  for (size_t i = 1; i < r->npoints; i++) {
    const struct ferry_bench_point *p = &r->points[i];
    int first = 1;
    for (size_t k = 1; k < i && first; k++)
      first = !(r->points[k].streams == p->streams && r->points[k].chunk_size == p->chunk_size);
    if (!first) continue;
    color(cr, line, 1);
    cairo_set_line_width(cr, 2);
    double lastx = 0;
    for (size_t pass = 0; pass < r->npoints; pass++) { /* points by rising concurrency */
      double best = 1e18;
      const struct ferry_bench_point *next = NULL;
      for (size_t k = 1; k < r->npoints; k++) {
        const struct ferry_bench_point *q = &r->points[k];
        double x = in_flight(q);
        if (q->streams != p->streams || q->chunk_size != p->chunk_size || x <= lastx || x >= best)
          continue;
        best = x, next = q;
      }
      if (!next) break;
      if (lastx == 0) cairo_move_to(cr, px(&c, best), py(&c, next->mb_per_s));
      else cairo_line_to(cr, px(&c, best), py(&c, next->mb_per_s));
      lastx = best;
    }
    cairo_stroke(cr);
    for (size_t k = 1; k < r->npoints; k++) {
      const struct ferry_bench_point *q = &r->points[k];
      if (q->streams != p->streams || q->chunk_size != p->chunk_size) continue;
      cairo_arc(cr, px(&c, in_flight(q)), py(&c, q->mb_per_s), 4, 0,
                2 * M_PI);
      cairo_fill(cr);
    }
    char b[96], sz[32];
    if (!p->streams) snprintf(b, sizeof(b), "upload, parts of the Hub's size");
    else snprintf(b, sizeof(b), "%d stream%s, requests of %s", p->streams,
                  p->streams == 1 ? "" : "s", cli_size_text((long long)p->chunk_size, sz, sizeof(sz)));
    color(cr, line, 1);
    legend(&c, &row, b, 2, 0);
    line++;
  }
  if (r->npoints) { /* the default: a black square */
    const struct ferry_bench_point *p = &r->points[0];
    double x = px(&c, in_flight(p)), y = py(&c, p->mb_per_s);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, x - 6, y - 6, 12, 12);
    cairo_fill(cr);
    text(cr, x + 9, y - 8, 12, "default", 0);
  }
  if (r->best >= 0) { /* the best: a ring */
    const struct ferry_bench_point *p = &r->points[r->best];
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 2);
    cairo_arc(cr, px(&c, in_flight(p)), py(&c, p->mb_per_s), 10, 0,
              2 * M_PI);
    cairo_stroke(cr);
    text(cr, px(&c, in_flight(p)) + 12, py(&c, p->mb_per_s) + 16, 12,
         "best", 0);
  }
  limit_line(&c, &row, limits[0], "SHA-256, one core", 3);
  limit_line(&c, &row, limits[1], "disk, fsync'ed", 5);
  limit_line(&c, &row, limits[2], "receiving alone", 4);
  return finish(s, cr, path, why, cap);
}

#else /* no cairo in this build */

int cli_bench_plot_available(void) { return 0; }

static int missing(char *why, size_t cap) {
  snprintf(why, cap, "--plot: this ferry was built without cairo (install libcairo2-dev and "
           "build again)");
  return FERRY_E_INVAL;
}

int cli_bench_plot_run(const char *path, const struct ferry_bench_result *r, char *why,
                       size_t cap) {
  (void)path, (void)r;
  return missing(why, cap);
}

int cli_bench_plot_sweep(const char *path, const struct ferry_bench_sweep_result *r, char *why,
                         size_t cap) {
  (void)path, (void)r;
  return missing(why, cap);
}

#endif
