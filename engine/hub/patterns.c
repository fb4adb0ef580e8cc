/* patterns.c: --include / --exclude filtering exactly as huggingface_hub's
 * filter_repo_objects (hub-protocol.md §4.2): Python's fnmatch.fnmatchcase, where '*' also
 * matches '/', on paths and patterns whose backslashes became '/', and where a pattern ending
 * in '/' means everything in that folder.
 *
 * Matching itself is fnmatch(3) without FNM_PATHNAME or FNM_PERIOD, but glibc and Python
 * differ in two places, so the pattern and the path are rewritten first:
 *  - Sets. Python turns "[...]" into a regular-expression set by its own rules (no
 *    "[:alpha:]" classes, "[^a]" is no negation, reversed ranges are dropped and their
 *    neighbours merged). Each set is rewritten the way Python's fnmatch.translate does it and
 *    emitted with every ASCII member escaped, so glibc reads it as Python's regex would.
 *  - Characters. Python matches code points; glibc in a UTF-8 locale also retries byte by
 *    byte (so "??" matches "é"). So the non-ASCII characters of the pattern and the path are
 *    given one byte each (0x80.., in code point order, which keeps ranges right) and fnmatch
 *    runs in the "C" locale, per call (uselocale; the caller's locale is restored). With more
 *    than 128 distinct non-ASCII characters in one pattern and path, UTF-8 is matched in
 *    C.UTF-8 instead (glibc's byte retry can then add a match Python would not make). */
#include <fnmatch.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "hub.h"

/* A copy of s with every '\\' turned into '/'. */
static char *slashes(const char *s, size_t extra) {
  size_t n = strlen(s);
  char *c = malloc(n + extra + 1);
  if (!c) return NULL;
  for (size_t i = 0; i <= n; i++) c[i] = s[i] == '\\' ? '/' : s[i];
  return c;
}

/* A byte that is not UTF-8 is kept as 0xDC00 + byte (Python's "surrogateescape"): no valid
 * UTF-8 decodes to those code points. */
#define RAW_BYTE 0xDC00u

/* Code points of s[0..n). */
static size_t decode(const char *s, size_t n, uint32_t *out) {
  mbstate_t st;
  memset(&st, 0, sizeof(st));
  size_t k = 0;
  for (size_t i = 0; i < n;) {
    wchar_t wc;
    size_t r = mbrtowc(&wc, s + i, n - i, &st);
    if (r == 0 || r == (size_t)-1 || r == (size_t)-2) {
      out[k++] = RAW_BYTE + (unsigned char)s[i++];
      memset(&st, 0, sizeof(st));
    } else {
      out[k++] = (uint32_t)wc;
      i += r;
    }
  }
  return k;
}

/* The one-byte names of the non-ASCII characters of one pattern and path (sorted). */
struct charmap {
  uint32_t cp[128];
  size_t n;
  int active; /* 0: more than 128, UTF-8 is used */
};

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static void charmap_build(struct charmap *m, const uint32_t *a, size_t na, const uint32_t *b,
                          size_t nb) {
  m->n = 0;
  m->active = 1;
  for (size_t k = 0; k < na + nb; k++) {
    uint32_t c = k < na ? a[k] : b[k - na];
    if (c < 0x80) continue;
    size_t i = 0;
    while (i < m->n && m->cp[i] != c) i++;
    if (i < m->n) continue;
    if (m->n == 128) {
      m->active = 0;
      return;
    }
    m->cp[m->n++] = c;
  }
  qsort(m->cp, m->n, sizeof(m->cp[0]), cmp_u32);
}

/* Appends character c: ASCII as itself (escaped when `escape` and it is not alphanumeric),
 * others as their one-byte name, or as UTF-8 when the map is off. */
static void put_char(const struct charmap *m, uint32_t c, int escape, char *out, size_t *o) {
  if (c < 0x80) {
    if (escape && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
      out[(*o)++] = '\\';
    out[(*o)++] = (char)c;
    return;
  }
  if (m->active) {
    const uint32_t *hit = bsearch(&c, m->cp, m->n, sizeof(c), cmp_u32);
    out[(*o)++] = (char)(0x80 + (hit - m->cp));
    return;
  }
  mbstate_t st;
  memset(&st, 0, sizeof(st));
  size_t r = c >= RAW_BYTE + 0x80 && c <= RAW_BYTE + 0xff ? (size_t)-1
                                                           : wcrtomb(out + *o, (wchar_t)c, &st);
  if (r == (size_t)-1) out[(*o)++] = (char)(c & 0xff); /* a byte that did not decode */
  else *o += r;
}

enum { SET_OK = 0, SET_NEVER = 1, SET_BAD = 2 };

/* Python 3.11 fnmatch.translate for the set whose characters are s[0..n) (between '[' and
 * ']'), written as a glibc set at out + *o. `tmp` has room for 3 * n code points. */
static int translate_set(const struct charmap *m, const uint32_t *s, size_t n, uint32_t *tmp,
                         char *out, size_t *o) {
  /* The tokens of Python's "stuff": characters, and '-' range operators (op = 1). */
  uint32_t *tc = tmp;
  unsigned char *top = (unsigned char *)(tmp + 2 * n + 2);
  size_t nt = 0;
  int has_dash = 0;
  for (size_t k = 0; k < n; k++) has_dash |= s[k] == '-';
  if (!has_dash) {
    for (size_t k = 0; k < n; k++) tc[nt] = s[k], top[nt++] = 0;
  } else {
    /* Chunks split at the '-' that make ranges (never the first character, nor right after a
     * range), then ranges whose ends are reversed are removed, merging the neighbours. */
    size_t starts[64], ends[64], nc = 0, i = 0; /* more than 63 ranges in one set: refused */
    size_t k = s[0] == '!' ? 2 : 1;
    for (;;) {
      while (k < n && s[k] != '-') k++;
      if (k >= n) break;
      if (nc == 64) return SET_BAD;
      starts[nc] = i, ends[nc++] = k;
      i = k + 1;
      k = k + 3;
    }
    /* Chunks as code point strings in tmp (each at most n long, plus a trailing '-'). */
    uint32_t *chunk[65];
    size_t clen[65];
    uint32_t *pool = tmp + n + 1; /* second region: n + 1 code points for all chunks */
    size_t used = 0;
    for (size_t c = 0; c < nc; c++) {
      chunk[c] = pool + used;
      clen[c] = ends[c] - starts[c];
      memcpy(chunk[c], s + starts[c], clen[c] * sizeof(uint32_t));
      used += clen[c] + (c + 1 == nc ? 1 : 0);
    }
    if (i < n) {
      chunk[nc] = pool + used;
      clen[nc] = n - i;
      memcpy(chunk[nc], s + i, clen[nc] * sizeof(uint32_t));
      nc++;
    } else {
      chunk[nc - 1][clen[nc - 1]++] = '-'; /* "a-]": the last '-' is itself */
    }
    for (size_t c = nc - 1; c > 0; c--) {
      if (clen[c - 1] == 0 || clen[c] == 0) return SET_BAD; /* Python fails here too */
      if (chunk[c - 1][clen[c - 1] - 1] > chunk[c][0]) {
        memmove(chunk[c - 1] + clen[c - 1] - 1, chunk[c] + 1, (clen[c] - 1) * sizeof(uint32_t));
        clen[c - 1] += clen[c] - 2;
        for (size_t d = c; d + 1 < nc; d++) chunk[d] = chunk[d + 1], clen[d] = clen[d + 1];
        nc--;
      }
    }
    /* tc must not overlap the pool: the tokens go to the first region. */
    for (size_t c = 0; c < nc; c++) {
      if (c > 0) tc[nt] = '-', top[nt++] = 1;
      for (size_t d = 0; d < clen[c]; d++) tc[nt] = chunk[c][d], top[nt++] = 0;
    }
  }
  if (nt == 0) return SET_NEVER;                      /* Python: "(?!)" */
  if (nt == 1 && tc[0] == '!' && !top[0]) {           /* Python: "." */
    out[(*o)++] = '?';
    return SET_OK;
  }
  size_t k = 0;
  out[(*o)++] = '[';
  if (tc[0] == '!' && !top[0]) out[(*o)++] = '!', k = 1;
  /* The regular-expression set, item by item: "x-y" (with an operator) is a range. */
  while (k < nt) {
    uint32_t lo = tc[k++];
    if (k < nt && top[k] && k + 1 < nt) {
      uint32_t hi = tc[k + 1];
      k += 2;
      if (lo > hi) return SET_BAD; /* re.error in Python */
      put_char(m, lo, 1, out, o);
      out[(*o)++] = '-';
      put_char(m, hi, 1, out, o);
    } else if (k < nt && top[k]) { /* "x-" at the end */
      put_char(m, lo, 1, out, o);
      put_char(m, '-', 1, out, o);
      k++;
    } else {
      put_char(m, lo, 1, out, o);
    }
  }
  out[(*o)++] = ']';
  return SET_OK;
}

/* Translates a Python fnmatch pattern (no backslashes left, n code points in `cp`) into a
 * glibc pattern. `out` has room for 8 * n + 8 bytes, `tmp` for 3 * n + 3 code points. */
static int translate(const struct charmap *m, const uint32_t *cp, size_t n, uint32_t *tmp,
                     char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    uint32_t c = cp[i++];
    if (c != '[') {
      if (c == '*' || c == '?') out[o++] = (char)c;
      else put_char(m, c, 1, out, &o);
      continue;
    }
    size_t j = i;
    if (j < n && cp[j] == '!') j++;
    if (j < n && cp[j] == ']') j++;
    while (j < n && cp[j] != ']') j++;
    if (j >= n) { /* no closing ']': a literal '[' */
      put_char(m, '[', 1, out, &o);
      continue;
    }
    int r = translate_set(m, cp + i, j - i, tmp, out, &o);
    if (r) return r;
    i = j + 1;
  }
  out[o] = 0;
  return SET_OK;
}

/* The locales one call works in (the caller's is restored after it). They are made once
 * per process: newlocale reads the locale files, which cost two opens per matched path. */
struct scope {
  locale_t old;
};
static locale_t shared_utf8, shared_c;
static pthread_once_t shared_once = PTHREAD_ONCE_INIT;
static void make_shared_locales(void) {
  shared_utf8 = newlocale(LC_CTYPE_MASK | LC_COLLATE_MASK, "C.UTF-8", (locale_t)0);
  shared_c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}
static void scope_enter(struct scope *s) {
  pthread_once(&shared_once, make_shared_locales);
  s->old = uselocale((locale_t)0);
}
static void scope_leave(struct scope *s) { uselocale(s->old); }
static void scope_use(locale_t l) {
  if (l) uselocale(l);
}

static int match_in_scope(struct scope *sc, const char *pattern, const char *path) {
  size_t pl = strlen(pattern), sl = strlen(path);
  if (pl > FERRY__HUB_PATH_MAX || sl > FERRY__HUB_PATH_MAX) return FERRY_E_INVAL;
  char *pat = slashes(pattern, 1), *p = slashes(path, 0);
  uint32_t *cp = malloc((pl + 2) * sizeof(uint32_t)), *tmp = malloc((3 * pl + 8) * sizeof(uint32_t));
  uint32_t *pcp = malloc((sl + 1) * sizeof(uint32_t));
  char *g = malloc(8 * pl + 16), *gp = malloc(4 * sl + 4);
  struct charmap *map = malloc(sizeof(*map));
  int r = FERRY_E_NOMEM;
  if (pat && p && cp && tmp && pcp && g && gp && map) {
    size_t n = strlen(pat);
    if (n > 0 && pat[n - 1] == '/') pat[n++] = '*', pat[n] = 0; /* a folder: what is in it */
    scope_use(shared_utf8);
    size_t ncp = decode(pat, n, cp), npcp = decode(p, sl, pcp);
    charmap_build(map, cp, ncp, pcp, npcp);
    int t = translate(map, cp, ncp, tmp, g);
    size_t o = 0;
    for (size_t k = 0; k < npcp; k++) put_char(map, pcp[k], 0, gp, &o);
    gp[o] = 0;
    scope_use(map->active ? shared_c : shared_utf8);
    if (t == SET_NEVER) r = 0;
    else if (t == SET_BAD) r = FERRY_E_INVAL;
    else r = fnmatch(g, gp, 0) == 0;
    scope_use(sc->old);
  }
  free(pat), free(p), free(cp), free(tmp), free(pcp), free(g), free(gp), free(map);
  return r;
}

int ferry__hub_pattern_match(const char *pattern, const char *path) {
  struct scope s;
  scope_enter(&s);
  int r = match_in_scope(&s, pattern, path);
  scope_leave(&s);
  return r;
}

int ferry__hub_patterns_keep(const char *const *allow, size_t n_allow,
                             const char *const *ignore, size_t n_ignore, const char *path) {
  if (n_allow == 0 && n_ignore == 0) return 1;
  struct scope s;
  scope_enter(&s);
  int r = 1;
  if (n_allow > 0) {
    r = 0;
    for (size_t i = 0; i < n_allow && r == 0; i++) r = match_in_scope(&s, allow[i], path);
  }
  for (size_t i = 0; i < n_ignore && r == 1; i++) {
    int m = match_in_scope(&s, ignore[i], path);
    r = m < 0 ? m : !m;
  }
  scope_leave(&s);
  return r;
}
