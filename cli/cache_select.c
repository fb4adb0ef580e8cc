/* cache_select: which entries `ferry cache ls` shows and in what order: `hf cache ls`'s
 * --filter, --sort and --limit over repos (or revisions), and ages relative to now.
 *
 * Filters: KEY OP VALUE with KEY size (bytes; k, m, g, t, p suffixes, optionally with a B,
 * in powers of 1000 as hf), accessed or modified (an age: s, m, h, d, w, mo, y), type or
 * refs (only =); OP one of = != > < >= <=. An entry without the timestamp a filter asks
 * about does not match it. Sort: name (ascending) or size, accessed, modified (descending),
 * `:asc` or `:desc` to choose; entries that compare equal keep the scan's order. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"

enum key { K_SIZE, K_ACCESSED, K_MODIFIED, K_TYPE, K_REFS, K_NAME };
enum op { OP_EQ, OP_NE, OP_GT, OP_LT, OP_GE, OP_LE };

struct filter {
  enum key key;
  enum op op;
  double number;     /* size in bytes, or age in seconds */
  const char *text;  /* type or ref */
};

struct unit {
  const char *name;
  double factor;
};

/* "10", "10GB", "3d": a whole number with an optional unit from `units`. */
static int parse_amount(const char *s, const struct unit *units, double *out) {
  char *end;
  if (!isdigit((unsigned char)*s)) return -1;
  unsigned long long v = strtoull(s, &end, 10);
  if (!*end) return *out = (double)v, 0;
  for (const struct unit *u = units; u->name; u++)
    if (!strcasecmp(end, u->name)) return *out = (double)v * u->factor, 0;
  return -1;
}

static const struct unit size_units[] = {
    {"k", 1e3}, {"kb", 1e3}, {"m", 1e6}, {"mb", 1e6}, {"g", 1e9}, {"gb", 1e9},
    {"t", 1e12}, {"tb", 1e12}, {"p", 1e15}, {"pb", 1e15}, {NULL, 0}};
static const struct unit age_units[] = {
    {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"w", 7 * 86400.0},
    {"mo", 30 * 86400.0}, {"y", 365 * 86400.0}, {NULL, 0}};

static int parse_filter(const char *expr, struct filter *f, char *why, size_t why_len) {
  static const char *const keys[] = {"size", "accessed", "modified", "type", "refs"};
  static const struct { const char *s; enum op op; } ops[] = {
      {"!=", OP_NE}, {">=", OP_GE}, {"<=", OP_LE}, {"==", OP_EQ},
      {"=", OP_EQ},  {">", OP_GT},  {"<", OP_LT}};
  while (isspace((unsigned char)*expr)) expr++;
  size_t klen = 0;
  while (isalpha((unsigned char)expr[klen]) || expr[klen] == '_') klen++;
  const char *p = expr + klen;
  while (isspace((unsigned char)*p)) p++;
  size_t i = 0;
  for (; i < sizeof(ops) / sizeof(ops[0]); i++)
    if (!strncmp(p, ops[i].s, strlen(ops[i].s))) break;
  if (!klen || i == sizeof(ops) / sizeof(ops[0])) {
    snprintf(why, why_len, "--filter takes KEY OP VALUE (e.g. 'size>1GB'), not '%s'", expr);
    return -1;
  }
  f->op = ops[i].op;
  const char *value = p + strlen(ops[i].s);
  while (isspace((unsigned char)*value)) value++;
  size_t k = 0;
  for (; k < sizeof(keys) / sizeof(keys[0]); k++)
    if (strlen(keys[k]) == klen && !strncasecmp(expr, keys[k], klen)) break;
  if (k == sizeof(keys) / sizeof(keys[0])) {
    snprintf(why, why_len, "--filter key '%.*s' is not one of size, accessed, modified, type, "
             "refs", (int)klen, expr);
    return -1;
  }
  f->key = (enum key)k;
  f->text = value;
  if (f->key == K_TYPE || f->key == K_REFS) {
    if (f->op != OP_EQ || !*value) {
      snprintf(why, why_len, "--filter %s takes only = and a value ('%s')", keys[k], expr);
      return -1;
    }
    return 0;
  }
  if (parse_amount(value, f->key == K_SIZE ? size_units : age_units, &f->number) != 0) {
    snprintf(why, why_len, "--filter %s: '%s' is not %s", keys[k], value,
             f->key == K_SIZE ? "a size (10, 500MB, 2G)" : "an age (30s, 15m, 2h, 7d, 3w, 6mo, 1y)");
    return -1;
  }
  return 0;
}

static int has_ref(char *const *refs, size_t n, const char *ref) {
  for (size_t i = 0; i < n; i++)
    if (!strcasecmp(refs[i], ref)) return 1;
  return 0;
}

static int compare(double a, enum op op, double b) {
  switch (op) {
  case OP_EQ: return a == b;
  case OP_NE: return a != b;
  case OP_GT: return a > b;
  case OP_LT: return a < b;
  case OP_GE: return a >= b;
  default: return a <= b;
  }
}

static int matches(const struct ferry_cache_repo *r, const struct ferry_cache_revision *v,
                   const struct filter *f, double now) {
  switch (f->key) {
  case K_SIZE: return compare((double)(v ? v->size_on_disk : r->size_on_disk), f->op, f->number);
  case K_ACCESSED:
  case K_MODIFIED: {
    double t = f->key == K_ACCESSED ? r->last_accessed : v ? v->last_modified : r->last_modified;
    return t > 0 && compare(now - t, f->op, f->number);
  }
  case K_TYPE: return !strcasecmp(r->repo_type, f->text);
  default:
    if (v) return has_ref(v->refs, v->n_refs, f->text);
    for (size_t k = 0; k < r->n_revisions; k++)
      if (has_ref(r->revisions[k].refs, r->revisions[k].n_refs, f->text)) return 1;
    return 0;
  }
}

static const struct ferry_cache_info *sort_info; /* qsort has no context argument */
static enum key sort_key;
static int sort_desc;

static double sort_value(const struct cli_cache_entry *e) {
  const struct ferry_cache_repo *r = &sort_info->repos[e->repo];
  const struct ferry_cache_revision *v = e->has_rev ? &r->revisions[e->rev] : NULL;
  if (sort_key == K_SIZE) return (double)(v ? v->size_on_disk : r->size_on_disk);
  if (sort_key == K_ACCESSED) return r->last_accessed;
  return v ? v->last_modified : r->last_modified;
}

static int by_key(const void *pa, const void *pb) {
  const struct cli_cache_entry *a = pa, *b = pb;
  int c;
  if (sort_key == K_NAME) {
    const struct ferry_cache_repo *ra = &sort_info->repos[a->repo], *rb = &sort_info->repos[b->repo];
    c = strcasecmp(ra->repo_type, rb->repo_type);
    if (!c) c = strcasecmp(ra->repo_id, rb->repo_id);
  } else {
    double x = sort_value(a), y = sort_value(b);
    c = x < y ? -1 : x > y;
  }
  if (sort_desc) c = -c;
  return c ? c : a->order < b->order ? -1 : a->order > b->order; /* stable */
}

int cli_cache_select(const struct ferry_cache_info *info, int revisions,
                     const char *const *filters, size_t n_filters, const char *sort, long limit,
                     struct cli_cache_entry **out, size_t *n, char *why, size_t why_len) {
  *out = NULL;
  *n = 0;
  struct filter *fs = calloc(n_filters ? n_filters : 1, sizeof(*fs));
  if (!fs) return snprintf(why, why_len, "out of memory"), -1;
  for (size_t i = 0; i < n_filters; i++)
    if (parse_filter(filters[i], &fs[i], why, why_len)) return free(fs), -1;
  if (sort) {
    static const char *const keys[] = {"name", "size", "accessed", "modified"};
    static const enum key ids[] = {K_NAME, K_SIZE, K_ACCESSED, K_MODIFIED};
    const char *colon = strchr(sort, ':');
    size_t len = colon ? (size_t)(colon - sort) : strlen(sort);
    size_t k = 0;
    for (; k < 4; k++)
      if (strlen(keys[k]) == len && !strncasecmp(sort, keys[k], len)) break;
    if (k == 4 || (colon && strcasecmp(colon + 1, "asc") && strcasecmp(colon + 1, "desc"))) {
      snprintf(why, why_len, "--sort takes name, size, accessed or modified, optionally with "
               ":asc or :desc, not '%s'", sort);
      return free(fs), -1;
    }
    sort_key = ids[k];
    sort_desc = colon ? !strcasecmp(colon + 1, "desc") : sort_key != K_NAME;
  }
  size_t cap = 0;
  for (size_t i = 0; i < info->n_repos; i++)
    cap += revisions ? info->repos[i].n_revisions : 1;
  struct cli_cache_entry *v = calloc(cap ? cap : 1, sizeof(*v));
  if (!v) return free(fs), snprintf(why, why_len, "out of memory"), -1;
  double now = (double)time(NULL);
  for (size_t i = 0; i < info->n_repos; i++) {
    const struct ferry_cache_repo *r = &info->repos[i];
    for (size_t k = 0; k < (revisions ? r->n_revisions : 1); k++) {
      const struct ferry_cache_revision *rev = revisions ? &r->revisions[k] : NULL;
      int ok = 1;
      for (size_t f = 0; ok && f < n_filters; f++) ok = matches(r, rev, &fs[f], now);
      if (ok) v[*n] = (struct cli_cache_entry){i, k, revisions, *n}, (*n)++;
    }
  }
  free(fs);
  if (sort) {
    sort_info = info;
    qsort(v, *n, sizeof(*v), by_key);
  }
  if (limit >= 0 && (size_t)limit < *n) *n = (size_t)limit;
  *out = v;
  return 0;
}

const char *cli_fmt_age(double t, char *buf, size_t cap) {
  static const struct { const char *name; double seconds, most; } steps[] = {
      {"second", 1, 60}, {"minute", 60, 60}, {"hour", 3600, 24}, {"day", 86400, 6},
      {"week", 7 * 86400.0, 6}, {"month", 30 * 86400.0, 11}, {"year", 365 * 86400.0, 0}};
  double age = (double)time(NULL) - t;
  if (t <= 0) return snprintf(buf, cap, "-"), buf;
  if (age < 20) return snprintf(buf, cap, "a few seconds ago"), buf;
  long n = 0;
  size_t i = 0;
  for (; i < sizeof(steps) / sizeof(steps[0]); i++) {
    n = (long)(age / steps[i].seconds + 0.5);
    if (steps[i].most == 0 || n <= steps[i].most) break;
  }
  snprintf(buf, cap, "%ld %s%s ago", n, steps[i].name, n == 1 ? "" : "s");
  return buf;
}
