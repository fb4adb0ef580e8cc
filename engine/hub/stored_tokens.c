/* stored_tokens.c: the files `hf auth login` writes (hub-protocol.md §5.5), byte for byte.
 *
 * `stored_tokens` (beside the token file) is an INI file written by Python's configparser
 * (interpolation off): one section per token name, sorted by name, each
 *     "[name]\n" then "key = value\n" per field (hf_token, and refresh_token / expires_at for
 *     OAuth tokens), then an empty line.
 * The reader follows configparser's rules for what such files can hold: full-line comments
 * ('#', ';'), option names lower-cased, values stripped, indented continuation lines, the
 * first '=' or ':' as the delimiter, the greedy "[...]" section header. What configparser
 * would reject (an option before any section, a duplicate section or option, a line without
 * a delimiter) is reported with its line number: huggingface_hub then reads no tokens at all
 * and a login would overwrite the file, so ferry stops instead and never destroys it.
 * The token file holds the active token alone, without a newline. Both files are written
 * atomically with mode 0600 in a folder made 0700, like huggingface_hub's _write_secret. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "hub.h"

#define MAX_SECTIONS 10000 /* far more tokens than anyone stores */
#define MAX_FIELDS 64

static int is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static char *dup_range(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = 0;
  }
  return d;
}

/* Frees a string that may hold a secret (a token value): zeroed first. */
static void free_secret(char *s) {
  if (s) memset(s, 0, strlen(s));
  free(s);
}

static void section_free(struct ferry__hub_ini_section *s) {
  free(s->name);
  for (size_t k = 0; k < s->n; k++) {
    free(s->fields[k].key);
    free_secret(s->fields[k].value);
  }
  free(s->fields);
  memset(s, 0, sizeof(*s));
}

void ferry__hub_ini_free(struct ferry__hub_ini *ini) {
  for (size_t i = 0; i < ini->n; i++) section_free(&ini->v[i]);
  free(ini->v);
  memset(ini, 0, sizeof(*ini));
}

struct ferry__hub_ini_section *ferry__hub_ini_find(struct ferry__hub_ini *ini, const char *name) {
  for (size_t i = 0; i < ini->n; i++)
    if (!strcmp(ini->v[i].name, name)) return &ini->v[i];
  return NULL;
}

const char *ferry__hub_ini_get(const struct ferry__hub_ini_section *s, const char *key) {
  for (size_t k = 0; k < s->n; k++)
    if (!strcmp(s->fields[k].key, key)) return s->fields[k].value;
  return NULL;
}

static struct ferry__hub_ini_section *add_section(struct ferry__hub_ini *ini, const char *name,
                                                  size_t len) {
  if (ini->n == MAX_SECTIONS) return NULL;
  struct ferry__hub_ini_section *v = realloc(ini->v, (ini->n + 1) * sizeof(*v));
  if (!v) return NULL;
  ini->v = v;
  struct ferry__hub_ini_section *s = &v[ini->n];
  memset(s, 0, sizeof(*s));
  if (!(s->name = dup_range(name, len))) return NULL;
  ini->n++;
  return s;
}

/* Appends key = value (both copied); the key is lower-cased (configparser's optionxform). */
static int add_field(struct ferry__hub_ini_section *s, const char *key, size_t klen,
                     const char *value, size_t vlen) {
  if (s->n == MAX_FIELDS) return FERRY_E_INVAL;
  struct ferry__hub_ini_field *f = realloc(s->fields, (s->n + 1) * sizeof(*f));
  if (!f) return FERRY_E_NOMEM;
  s->fields = f;
  char *k = dup_range(key, klen), *v = dup_range(value, vlen);
  if (!k || !v) {
    free(k);
    free_secret(v);
    return FERRY_E_NOMEM;
  }
  for (char *p = k; *p; p++)
    if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
  f[s->n].key = k;
  f[s->n].value = v;
  s->n++;
  return 0;
}

/* Appends "\n" + more to the last field's value (a continuation line). */
static int append_line(struct ferry__hub_ini_section *s, const char *more, size_t len) {
  struct ferry__hub_ini_field *f = &s->fields[s->n - 1];
  size_t old = strlen(f->value);
  if (old + len + 2 > FERRY__HUB_SMALL_FILE_MAX) return FERRY_E_INVAL;
  char *v = malloc(old + len + 2);
  if (!v) return FERRY_E_NOMEM;
  memcpy(v, f->value, old);
  v[old] = '\n';
  memcpy(v + old + 1, more, len);
  v[old + 1 + len] = 0;
  free_secret(f->value);
  f->value = v;
  return 0;
}

/* configparser joins a value's lines with '\n' and strips the end (blank lines inside a value
 * are kept, trailing ones dropped). */
static void rstrip_values(struct ferry__hub_ini *ini) {
  for (size_t i = 0; i < ini->n; i++)
    for (size_t k = 0; k < ini->v[i].n; k++) {
      char *v = ini->v[i].fields[k].value;
      size_t n = strlen(v);
      while (n > 0 && is_blank(v[n - 1])) v[--n] = 0;
    }
}

int ferry__hub_ini_parse(const char *text, size_t len, struct ferry__hub_ini *out, char *why,
                         size_t why_len) {
  memset(out, 0, sizeof(*out));
  struct ferry__hub_ini_section *cur = NULL;
  int have_option = 0; /* the current section has an option lines can continue */
  size_t indent_level = 0, lineno = 0, pos = 0;
  int r = 0;
  while (pos < len && !r) {
    /* Python's universal newlines: "\n", "\r\n" and "\r" all end a line. */
    size_t start = pos, end = pos;
    while (end < len && text[end] != '\n' && text[end] != '\r') end++;
    pos = end < len ? end + (text[end] == '\r' && end + 1 < len && text[end + 1] == '\n' ? 2 : 1)
                    : end;
    lineno++;
    size_t indent = 0;
    while (start + indent < end && is_blank(text[start + indent])) indent++;
    const char *v = text + start + indent;
    size_t vlen = end - start - indent;
    while (vlen > 0 && is_blank(v[vlen - 1])) vlen--;
    if (memchr(text + start, 0, end - start)) {
      r = ferry__hub_why(FERRY_E_IO, why, why_len, "line %zu: a NUL byte", lineno);
      break;
    }
    if (vlen == 0 || v[0] == '#' || v[0] == ';') {
      /* empty_lines_in_values: an empty line joins the value being read (comments do not) */
      if (vlen == 0 && cur && have_option) r = append_line(cur, "", 0);
      continue;
    }
    if (cur && have_option && indent > indent_level) {
      r = append_line(cur, v, vlen);
      continue;
    }
    indent_level = indent;
    if (v[0] == '[') {
      const char *close = NULL;
      for (size_t i = vlen; i > 1; i--)
        if (v[i - 1] == ']') {
          close = v + i - 1;
          break;
        }
      if (close && close > v + 1) {
        size_t nlen = (size_t)(close - v - 1);
        if (nlen == 7 && !memcmp(v + 1, "DEFAULT", 7)) {
          r = ferry__hub_why(FERRY_E_IO, why, why_len,
                             "line %zu: a [DEFAULT] section (hf never writes one)", lineno);
          break;
        }
        for (size_t i = 0; i < out->n && !r; i++)
          if (strlen(out->v[i].name) == nlen && !memcmp(out->v[i].name, v + 1, nlen))
            r = ferry__hub_why(FERRY_E_IO, why, why_len, "line %zu: section [%.*s] again",
                               lineno, (int)(nlen > 64 ? 64 : nlen), v + 1);
        if (r) break;
        if (!(cur = add_section(out, v + 1, nlen))) r = FERRY_E_NOMEM;
        have_option = 0;
        continue;
      }
    }
    if (!cur) {
      r = ferry__hub_why(FERRY_E_IO, why, why_len, "line %zu: an entry before any [section]",
                         lineno);
      break;
    }
    size_t d = 0;
    while (d < vlen && v[d] != '=' && v[d] != ':') d++;
    size_t klen = d;
    while (klen > 0 && is_blank(v[klen - 1])) klen--;
    if (d == vlen || klen == 0) {
      r = ferry__hub_why(FERRY_E_IO, why, why_len, "line %zu: not \"key = value\"", lineno);
      break;
    }
    size_t vs = d + 1;
    while (vs < vlen && is_blank(v[vs])) vs++;
    for (size_t k = 0; k < cur->n && !r; k++)
      if (strlen(cur->fields[k].key) == klen && !strncasecmp(cur->fields[k].key, v, klen))
        r = ferry__hub_why(FERRY_E_IO, why, why_len, "line %zu: option %s twice in a section",
                           lineno, cur->fields[k].key);
    if (!r) r = add_field(cur, v, klen, v + vs, vlen - vs);
    have_option = 1;
  }
  if (r) {
    ferry__hub_ini_free(out);
    return r;
  }
  rstrip_values(out);
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const struct ferry__hub_ini_section *)a)->name,
                ((const struct ferry__hub_ini_section *)b)->name);
}

int ferry__hub_ini_serialize(struct ferry__hub_ini *ini, char **out, size_t *len) {
  *out = NULL;
  *len = 0;
  /* sorted(stored_tokens.keys()): code point order, which is byte order in UTF-8 */
  if (ini->n > 1) qsort(ini->v, ini->n, sizeof(ini->v[0]), by_name);
  size_t cap = 1;
  for (size_t i = 0; i < ini->n; i++) {
    cap += strlen(ini->v[i].name) + 4;
    for (size_t k = 0; k < ini->v[i].n; k++)
      cap += strlen(ini->v[i].fields[k].key) + 2 * strlen(ini->v[i].fields[k].value) + 5;
  }
  char *buf = malloc(cap), *p = buf;
  if (!buf) return FERRY_E_NOMEM;
  for (size_t i = 0; i < ini->n; i++) {
    p += sprintf(p, "[%s]\n", ini->v[i].name);
    for (size_t k = 0; k < ini->v[i].n; k++) {
      p += sprintf(p, "%s = ", ini->v[i].fields[k].key);
      for (const char *c = ini->v[i].fields[k].value; *c; c++) {
        *p++ = *c;
        if (*c == '\n') *p++ = '\t'; /* str(value).replace('\n', '\n\t') */
      }
      *p++ = '\n';
    }
    *p++ = '\n';
  }
  *p = 0;
  *out = buf;
  *len = (size_t)(p - buf);
  return 0;
}

int ferry__hub_ini_set_token(struct ferry__hub_ini *ini, const char *name, const char *token) {
  struct ferry__hub_ini_section *s = ferry__hub_ini_find(ini, name);
  if (s) { /* re-logging in under the same name drops stale OAuth fields */
    char *keep = s->name;
    s->name = NULL;
    section_free(s);
    s->name = keep;
  } else if (!(s = add_section(ini, name, strlen(name)))) {
    return FERRY_E_NOMEM;
  }
  return add_field(s, "hf_token", 8, token, strlen(token));
}

int ferry__hub_ini_remove(struct ferry__hub_ini *ini, const char *name) {
  struct ferry__hub_ini_section *s = ferry__hub_ini_find(ini, name);
  if (!s) return 0;
  section_free(s);
  size_t i = (size_t)(s - ini->v);
  memmove(&ini->v[i], &ini->v[i + 1], (ini->n - i - 1) * sizeof(ini->v[0]));
  ini->n--;
  return 1;
}

int ferry__hub_token_name_check(const char *name, char *why, size_t why_len) {
  if (!name || !*name) return ferry__hub_why(FERRY_E_INVAL, why, why_len, "an empty token name");
  if (strlen(name) > 256)
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "a token name longer than 256 bytes");
  if (!strcmp(name, "DEFAULT"))
    return ferry__hub_why(FERRY_E_INVAL, why, why_len,
                          "\"DEFAULT\" cannot be a token name (configparser reserves it)");
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return ferry__hub_why(FERRY_E_INVAL, why, why_len,
                            "a token name with a control character");
  if (is_blank(name[0]) || is_blank(name[strlen(name) - 1]))
    return ferry__hub_why(FERRY_E_INVAL, why, why_len,
                          "a token name that starts or ends with a blank");
  return 0;
}

int ferry__hub_stored_tokens_path(const char *token_path, char **out) {
  /* os.path.join(os.path.dirname(HF_TOKEN_PATH), "stored_tokens"); dirname keeps the part up
   * to the last '/', without its trailing slashes unless it is all slashes */
  const char *slash = strrchr(token_path, '/');
  size_t head = slash ? (size_t)(slash - token_path) + 1 : 0, n = head;
  while (n > 0 && token_path[n - 1] == '/') n--;
  if (n == 0) n = head; /* "", or only slashes ("/", "//") */
  const char *sep = n == 0 || token_path[n - 1] == '/' ? "" : "/";
  return ferry__hub_fmt(out, FERRY__HUB_PATH_MAX, "%.*s%sstored_tokens", (int)n, token_path, sep);
}

int ferry__hub_secret_write(const char *path, const void *data, size_t len) {
  /* the folder: Path.parent ("." for a bare name) */
  const char *slash = strrchr(path, '/');
  char *dir = NULL;
  int r = slash ? ferry__hub_fmt(&dir, FERRY__HUB_PATH_MAX, "%.*s",
                                 (int)(slash == path ? 1 : slash - path), path)
                : ferry__hub_fmt(&dir, 2, ".");
  if (r) return r;
  /* mkdir(parents=True, mode=0o700): missing parents as usual, the folder itself 0700 from
   * the start; then chmod 0700 whoever made it, as huggingface_hub's _write_secret does */
  if (mkdir(dir, 0700) != 0 && errno == ENOENT) {
    char *up = strrchr(dir, '/');
    if (up && up != dir) {
      *up = 0;
      r = ferry__mkdirs(dir);
      *up = '/';
    }
    if (!r && mkdir(dir, 0700) != 0 && errno != EEXIST) r = FERRY_E_IO;
  }
  if (!r && chmod(dir, 0700) != 0) r = FERRY_E_IO;
  free(dir);
  if (r) return r;
  /* created 0600 (minus the umask) before any byte is written, renamed over the old file */
  r = ferry__write_atomic(path, data, len, 0600);
  if (!r && chmod(path, 0600) != 0) r = FERRY_E_IO;
  return r;
}

int ferry__hub_stored_tokens_load(const char *path, struct ferry__hub_ini *out, int *found,
                                  char *why, size_t why_len) {
  memset(out, 0, sizeof(*out));
  char *text = NULL;
  size_t len = 0;
  int r = ferry__read_small(path, FERRY__HUB_SMALL_FILE_MAX * 16, &text, &len, found);
  if (r == FERRY_E_PROTOCOL) r = ferry__hub_why(FERRY_E_IO, why, why_len, "far too large");
  else if (r) ferry__hub_why(r, why, why_len, "cannot read it");
  if (!r && *found) r = ferry__hub_ini_parse(text, len, out, why, why_len);
  if (text) memset(text, 0, len);
  free(text);
  return r;
}
