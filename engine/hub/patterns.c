/* patterns.c: --include / --exclude filtering exactly as huggingface_hub's
 * filter_repo_objects (hub-protocol.md §4.2): Python fnmatch.fnmatchcase semantics, where '*'
 * also matches '/', on paths and patterns whose backslashes became '/', and where a pattern
 * ending in '/' means everything in that folder.
 *
 * Matching itself is fnmatch(3) without FNM_PATHNAME or FNM_PERIOD. Python and glibc agree
 * on '*', '?' and plain characters; bracket expressions differ in corners ("[^a]" is a set
 * holding '^' and 'a' in Python, a negation in glibc; "[[:alpha:]]" is a class only in glibc;
 * an unclosed '[' is a literal in both), so each bracket is found the way Python finds it and
 * rewritten with backslash escapes into one glibc reads the same way. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"

/* A copy of s with every '\\' turned into '/'. */
static char *slashes(const char *s, size_t extra) {
  size_t n = strlen(s);
  char *c = malloc(n + extra + 1);
  if (!c) return NULL;
  for (size_t i = 0; i <= n; i++) c[i] = s[i] == '\\' ? '/' : s[i];
  return c;
}

/* Translates a Python fnmatch pattern (no backslashes left) into a glibc fnmatch pattern
 * (escapes enabled). `out` has room for 2 * strlen(pat) + 2 bytes. */
static void translate(const char *pat, char *out) {
  size_t n = strlen(pat), o = 0;
  for (size_t i = 0; i < n;) {
    char c = pat[i++];
    if (c != '[') {
      out[o++] = c;
      continue;
    }
    /* Python: the set runs to the first ']' after an optional '!' and an optional ']'. */
    size_t j = i;
    if (j < n && pat[j] == '!') j++;
    if (j < n && pat[j] == ']') j++;
    while (j < n && pat[j] != ']') j++;
    if (j >= n) { /* no closing ']': a literal '[' */
      out[o++] = '\\';
      out[o++] = '[';
      continue;
    }
    size_t start = i, end = j; /* the set's characters: pat[start..end) */
    i = j + 1;
    out[o++] = '[';
    if (pat[start] == '!') out[o++] = '!', start++;
    for (size_t k = start; k < end; k++) {
      char m = pat[k];
      /* '-' between two members is a range; anywhere else it is itself. */
      if (m == '-' && k > start && k + 1 < end) {
        out[o++] = '-';
        continue;
      }
      if (m == '[' || m == ']' || m == '^' || m == '!' || m == '-') out[o++] = '\\';
      out[o++] = m;
    }
    out[o++] = ']';
  }
  out[o] = 0;
}

int ferry__hub_pattern_match(const char *pattern, const char *path) {
  if (strlen(pattern) > FERRY__HUB_PATH_MAX || strlen(path) > FERRY__HUB_PATH_MAX)
    return FERRY_E_INVAL;
  char *pat = slashes(pattern, 1), *p = slashes(path, 0);
  char *g = malloc(2 * strlen(pattern) + 4);
  int r = FERRY_E_NOMEM;
  if (pat && p && g) {
    size_t n = strlen(pat);
    if (n > 0 && pat[n - 1] == '/') pat[n] = '*', pat[n + 1] = 0; /* a folder: everything in it */
    translate(pat, g);
    r = fnmatch(g, p, 0) == 0;
  }
  free(pat);
  free(p);
  free(g);
  return r;
}

int ferry__hub_patterns_keep(const char *const *allow, size_t n_allow,
                             const char *const *ignore, size_t n_ignore, const char *path) {
  if (n_allow > 0) {
    int any = 0;
    for (size_t i = 0; i < n_allow && !any; i++) {
      int m = ferry__hub_pattern_match(allow[i], path);
      if (m < 0) return m;
      any = m;
    }
    if (!any) return 0;
  }
  for (size_t i = 0; i < n_ignore; i++) {
    int m = ferry__hub_pattern_match(ignore[i], path);
    if (m != 0) return m < 0 ? m : 0;
  }
  return 1;
}
