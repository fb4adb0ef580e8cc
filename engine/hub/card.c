/* card.c: `ferry card check`. Finds the `---` front matter as huggingface_hub does (its
 * REGEX_YAML_BLOCK: optional leading whitespace, a `---` line, the YAML, a `---` line),
 * checks UTF-8, and turns libyaml's events into a small node tree for card_schema.c.
 *
 * The event API never expands aliases by itself, so the limits are ours: nesting depth,
 * alias count, total nodes counting what every alias stands for (a "billion laughs" card is
 * stopped after FERRY_CARD_MAX_NODES), and the size of the metadata. Every node is allocated
 * once and kept in one list, so aliases can share nodes and freeing is a loop. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "card.h"
#include "grow.h"

/* ---- the report -------------------------------------------------------------------------- */

static void add_issue(struct ferry__card_ctx *c, int is_error, int line, int column,
                      const char *fmt, va_list ap) {
  struct ferry_card_report *r = c->report;
  struct ferry_card_issue **v = is_error ? &r->errors : &r->warnings;
  size_t *n = is_error ? &r->n_errors : &r->n_warnings;
  if (*n >= FERRY_CARD_MAX_ISSUES) {
    if (is_error) r->more_errors++;
    return;
  }
  struct ferry_card_issue *grown = realloc(*v, (*n + 1) * sizeof(**v));
  if (!grown) {
    c->oom = 1;
    return;
  }
  *v = grown;
  struct ferry_card_issue *is = &grown[(*n)++];
  is->line = line;
  is->column = column;
  vsnprintf(is->message, sizeof(is->message), fmt, ap);
}

void ferry__card_error(struct ferry__card_ctx *c, int line, int column, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add_issue(c, 1, line, column, fmt, ap);
  va_end(ap);
}

void ferry__card_warn(struct ferry__card_ctx *c, int line, int column, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add_issue(c, 0, line, column, fmt, ap);
  va_end(ap);
}

void ferry_card_report_free(struct ferry_card_report *r) {
  if (!r) return;
  free(r->errors);
  free(r->warnings);
  memset(r, 0, sizeof(*r));
}

/* ---- line and column of a byte offset ---------------------------------------------------- */

/* Line breaks as YAML counts them: \r\n, \r, \n. */
static void position_of(const char *text, size_t off, int *line, int *column) {
  int l = 1, col = 1;
  for (size_t i = 0; i < off; i++) {
    unsigned char b = (unsigned char)text[i];
    if (b == '\n' || (b == '\r' && !(i + 1 < off && text[i + 1] == '\n'))) {
      l++;
      col = 1;
    } else if (b != '\r' && (b & 0xC0) != 0x80) {
      col++; /* count characters, not continuation bytes */
    }
  }
  *line = l;
  *column = col;
}

/* Offset of the first byte that is not valid UTF-8 (overlongs, surrogates, > U+10FFFF), or
 * len when all is valid. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned char b = s[i];
    size_t n;
    unsigned cp;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xC2 && b <= 0xDF) {
      n = 1, cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      n = 2, cp = b & 0x0F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      n = 3, cp = b & 0x07;
    } else {
      return i;
    }
    for (size_t k = 1; k <= n; k++) {
      if (i + k >= len || (s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      return i;
    i += n + 1;
  }
  return len;
}

/* ---- the front matter -------------------------------------------------------------------- */

static int is_break(char ch) { return ch == '\n' || ch == '\r'; }

/* huggingface_hub's REGEX_YAML_BLOCK: ^\s*---[\r\n]+ (YAML, lazily) [\r\n]+---(\r\n|\n|$).
 * Returns 1 with [*start, *end) the YAML, 0 when there is no front matter, -1 when one is
 * opened and never closed (*start set). */
static int front_matter(const char *t, size_t len, size_t *start, size_t *end) {
  size_t i = 0;
  if (len >= 3 && (unsigned char)t[0] == 0xEF && (unsigned char)t[1] == 0xBB &&
      (unsigned char)t[2] == 0xBF)
    i = 3; /* a byte order mark */
  while (i < len && (t[i] == ' ' || t[i] == '\t' || is_break(t[i]) || t[i] == '\f' ||
                     t[i] == '\v'))
    i++;
  if (len - i < 3 || memcmp(t + i, "---", 3) != 0) return 0;
  i += 3;
  if (i >= len || !is_break(t[i])) return 0;
  while (i < len && is_break(t[i])) i++;
  *start = i;
  /* "---\n---": an empty block (the regex needs a break on each side; be lenient) */
  if (len - i >= 3 && memcmp(t + i, "---", 3) == 0 &&
      (i + 3 == len || is_break(t[i + 3]))) {
    *end = i;
    return 1;
  }
  /* the first [\r\n]+--- followed by \r\n, \n or the end; the YAML ends before the breaks
   * (the lazy match takes the first break of the run) */
  for (size_t k = i; k < len; k++) {
    if (!is_break(t[k])) continue;
    size_t j = k;
    while (j < len && is_break(t[j])) j++;
    if (len - j >= 3 && memcmp(t + j, "---", 3) == 0) {
      size_t after = j + 3;
      if (after == len || t[after] == '\n' || (t[after] == '\r' && after + 1 < len &&
                                                  t[after + 1] == '\n')) {
        *end = k;
        return 1;
      }
    }
    k = j - 1;
  }
  return -1;
}

int ferry_card_split(const char *text, size_t len, size_t *meta_start, size_t *meta_end,
                     size_t *body_start) {
  size_t s = 0, e = 0;
  *meta_start = *meta_end = *body_start = 0;
  int found = front_matter(text, len, &s, &e);
  if (found != 1) return found;
  /* past the breaks before the closing ---, the --- and the one line break after it */
  size_t b = e;
  while (b < len && is_break(text[b])) b++;
  b += 3;
  if (b < len && text[b] == '\r') b++;
  if (b < len && text[b] == '\n') b++;
  *meta_start = s, *meta_end = e, *body_start = b > len ? len : b;
  return 1;
}

/* ---- libyaml events -> nodes ------------------------------------------------------------- */

struct builder {
  struct ferry__card_ctx *c;
  struct ferry__card_node **all; /* every node, for freeing */
  size_t n_all, cap_all;
  struct ferry__card_node *stack[FERRY_CARD_MAX_DEPTH + 1];
  int depth;
  struct ferry__card_node *root;
  size_t weight;                 /* nodes so far, counting alias expansions */
  size_t aliases;
  struct ferry__card_node **anchors; /* nodes with an anchor, in document order */
  size_t n_anchors;
  int base_line;                 /* file line of the YAML's first line */
  int failed;
};

static struct ferry__card_node *new_node(struct builder *b, int kind, const yaml_mark_t *m) {
  if (ferry__grow(&b->all, &b->cap_all, b->n_all + 1, sizeof(*b->all), 64) != 0) return NULL;
  struct ferry__card_node *n = calloc(1, sizeof(*n));
  if (!n) return NULL;
  b->all[b->n_all++] = n;
  n->kind = kind;
  n->line = b->base_line + (int)m->line;
  n->column = (int)m->column + 1;
  n->weight = 1;
  return n;
}

static void free_nodes(struct builder *b) {
  for (size_t i = 0; i < b->n_all; i++) {
    free(b->all[i]->value);
    free(b->all[i]->kids);
    free(b->all[i]->anchor);
    free(b->all[i]);
  }
  free(b->all);
  free(b->anchors);
}

/* YAML 1.2 core schema for a plain scalar (quoted ones are strings). */
static int scalar_kind(const char *v, size_t len, int plain, const char *tag) {
  if (tag) {
    if (!strcmp(tag, "tag:yaml.org,2002:str")) return FERRY__CARD_STR;
    if (!strcmp(tag, "tag:yaml.org,2002:null")) return FERRY__CARD_NULL;
    if (!strcmp(tag, "tag:yaml.org,2002:bool")) return FERRY__CARD_BOOL;
    if (!strcmp(tag, "tag:yaml.org,2002:int")) return FERRY__CARD_INT;
    if (!strcmp(tag, "tag:yaml.org,2002:float")) return FERRY__CARD_FLOAT;
    if (strcmp(tag, "!") != 0) return FERRY__CARD_STR;
    return FERRY__CARD_STR;
  }
  if (!plain) return FERRY__CARD_STR;
  if (len == 0 || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
      !strcmp(v, "NULL"))
    return FERRY__CARD_NULL;
  static const char *const bools[] = {"true", "True", "TRUE", "false", "False", "FALSE"};
  for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
    if (!strcmp(v, bools[i])) return FERRY__CARD_BOOL;
  const char *p = v;
  if (*p == '-' || *p == '+') p++;
  if (!strncmp(v, "0x", 2) && len > 2 && strspn(v + 2, "0123456789abcdefABCDEF") == len - 2)
    return FERRY__CARD_INT;
  if (!strncmp(v, "0o", 2) && len > 2 && strspn(v + 2, "01234567") == len - 2)
    return FERRY__CARD_INT;
  size_t digits = strspn(p, "0123456789");
  if (digits > 0 && p[digits] == 0) return FERRY__CARD_INT;
  if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF") || !strcmp(v, ".nan") ||
      !strcmp(v, ".NaN") || !strcmp(v, ".NAN"))
    return FERRY__CARD_FLOAT;
  /* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
  const char *q = p + digits;
  size_t frac = 0;
  if (*q == '.') {
    q++;
    frac = strspn(q, "0123456789");
    q += frac;
  }
  if (digits == 0 && frac == 0) return FERRY__CARD_STR;
  if (*q == 'e' || *q == 'E') {
    q++;
    if (*q == '-' || *q == '+') q++;
    size_t e = strspn(q, "0123456789");
    if (e == 0) return FERRY__CARD_STR;
    q += e;
  }
  return *q == 0 ? FERRY__CARD_FLOAT : FERRY__CARD_STR;
}

static int add_kid(struct builder *b, struct ferry__card_node *kid, const yaml_mark_t *m) {
  if (b->depth == 0) {
    if (b->root) return 0; /* a second document: ignored (checked elsewhere) */
    b->root = kid;
    return 0;
  }
  struct ferry__card_node *parent = b->stack[b->depth - 1];
  if (ferry__grow(&parent->kids, &parent->cap, parent->n + 1, sizeof(*parent->kids), 4) != 0)
    return FERRY_E_NOMEM;
  parent->kids[parent->n++] = kid;
  return 0;
}

/* Anchors are few in real cards; the cap keeps alias lookups (a linear search) cheap. */
#define MAX_ANCHORS 10000

static int set_anchor(struct builder *b, struct ferry__card_node *n, const yaml_char_t *anchor) {
  if (!anchor) return 0;
  if (b->n_anchors >= MAX_ANCHORS) {
    ferry__card_error(b->c, n->line, n->column, "more than %d anchors in the metadata",
                      MAX_ANCHORS);
    b->failed = 1;
    return 0;
  }
  n->anchor = strdup((const char *)anchor);
  struct ferry__card_node **grown = realloc(b->anchors, (b->n_anchors + 1) * sizeof(*grown));
  if (!n->anchor || !grown) {
    if (grown) b->anchors = grown;
    return FERRY_E_NOMEM;
  }
  b->anchors = grown;
  b->anchors[b->n_anchors++] = n;
  return 0;
}

/* The most recent node with this anchor (YAML lets an anchor be redefined). */
static struct ferry__card_node *find_anchor(struct builder *b, const char *name) {
  for (size_t i = b->n_anchors; i-- > 0;)
    if (!strcmp(b->anchors[i]->anchor, name)) return b->anchors[i];
  return NULL;
}

static void fail_at(struct builder *b, const yaml_mark_t *m, const char *fmt, const char *arg) {
  ferry__card_error(b->c, b->base_line + (int)m->line, (int)m->column + 1, fmt, arg);
  b->failed = 1;
}

static int take_event(struct builder *b, yaml_event_t *e) {
  const yaml_mark_t *m = &e->start_mark;
  struct ferry__card_node *n = NULL;
  int kind;
  switch (e->type) {
  case YAML_SCALAR_EVENT:
    n = new_node(b, FERRY__CARD_SCALAR, m);
    if (!n) return FERRY_E_NOMEM;
    n->value = malloc(e->data.scalar.length + 1);
    if (!n->value) return FERRY_E_NOMEM;
    memcpy(n->value, e->data.scalar.value, e->data.scalar.length);
    n->value[e->data.scalar.length] = 0;
    if (strlen(n->value) != e->data.scalar.length) {
      fail_at(b, m, "a NUL character in a value%s", "");
      return 0;
    }
    n->scalar = scalar_kind(n->value, e->data.scalar.length,
                            e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE,
                            (const char *)e->data.scalar.tag);
    if (set_anchor(b, n, e->data.scalar.anchor)) return FERRY_E_NOMEM;
    break;
  case YAML_SEQUENCE_START_EVENT:
  case YAML_MAPPING_START_EVENT:
    kind = e->type == YAML_SEQUENCE_START_EVENT ? FERRY__CARD_SEQ : FERRY__CARD_MAP;
    if (b->depth >= FERRY_CARD_MAX_DEPTH) {
      ferry__card_error(b->c, b->base_line + (int)m->line, (int)m->column + 1,
                        "metadata nested deeper than %d levels", FERRY_CARD_MAX_DEPTH);
      b->failed = 1;
      return 0;
    }
    n = new_node(b, kind, m);
    if (!n) return FERRY_E_NOMEM;
    const yaml_char_t *anchor = kind == FERRY__CARD_SEQ ? e->data.sequence_start.anchor
                                                        : e->data.mapping_start.anchor;
    if (set_anchor(b, n, anchor)) return FERRY_E_NOMEM;
    break;
  case YAML_ALIAS_EVENT: {
    if (++b->aliases > FERRY_CARD_MAX_ALIASES) {
      ferry__card_error(b->c, b->base_line + (int)m->line, (int)m->column + 1,
                        "more than %d aliases in the metadata", FERRY_CARD_MAX_ALIASES);
      b->failed = 1;
      return 0;
    }
    n = find_anchor(b, (const char *)e->data.alias.anchor);
    if (!n) {
      fail_at(b, m, "alias *%s names no anchor", (const char *)e->data.alias.anchor);
      return 0;
    }
    if (n->open) {
      fail_at(b, m, "alias *%s refers to a node that contains it",
              (const char *)e->data.alias.anchor);
      return 0;
    }
    /* the alias stands for a whole copy of that subtree */
    b->weight += n->weight;
    if (b->depth > 0) b->stack[b->depth - 1]->weight += n->weight;
    if (b->weight > FERRY_CARD_MAX_NODES) {
      ferry__card_error(b->c, b->base_line + (int)m->line, (int)m->column + 1,
                        "metadata expands to more than %d nodes (aliases)",
                        FERRY_CARD_MAX_NODES);
      b->failed = 1;
      return 0;
    }
    return add_kid(b, n, m);
  }
  case YAML_SEQUENCE_END_EVENT:
  case YAML_MAPPING_END_EVENT: {
    struct ferry__card_node *done = b->stack[--b->depth];
    done->open = 0;
    if (b->depth > 0) b->stack[b->depth - 1]->weight += done->weight;
    return 0;
  }
  case YAML_DOCUMENT_START_EVENT:
    if (b->root) {
      fail_at(b, m, "more than one YAML document in the metadata%s", "");
    }
    return 0;
  default:
    return 0;
  }
  if (++b->weight > FERRY_CARD_MAX_NODES) {
    ferry__card_error(b->c, n->line, n->column, "metadata has more than %d nodes",
                      FERRY_CARD_MAX_NODES);
    b->failed = 1;
    return 0;
  }
  int r = add_kid(b, n, m);
  if (r) return r;
  if (n->kind != FERRY__CARD_SCALAR) {
    n->open = 1;
    b->stack[b->depth++] = n;
  } else if (b->depth > 0) {
    b->stack[b->depth - 1]->weight += 1;
  }
  return 0;
}

/* Parses the YAML of [start, end) into b->root. 0 or FERRY_E_NOMEM; YAML errors are reported
 * and set b->failed. */
static int parse_yaml(struct builder *b, const char *yaml, size_t len) {
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p)) return FERRY_E_NOMEM;
  yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
  yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
  int r = 0;
  while (!b->failed) {
    yaml_event_t e;
    if (!yaml_parser_parse(&p, &e)) {
      if (p.error == YAML_MEMORY_ERROR) {
        r = FERRY_E_NOMEM;
        break;
      }
      const yaml_mark_t *m = &p.problem_mark;
      char msg[200];
      if (p.context)
        snprintf(msg, sizeof(msg), "invalid YAML: %s %s (started on line %d)",
                 p.problem ? p.problem : "error", p.context,
                 b->base_line + (int)p.context_mark.line);
      else
        snprintf(msg, sizeof(msg), "invalid YAML: %s", p.problem ? p.problem : "error");
      fail_at(b, m, "%s", msg);
      break;
    }
    int end = e.type == YAML_STREAM_END_EVENT;
    r = take_event(b, &e);
    yaml_event_delete(&e);
    if (r || end) break;
  }
  yaml_parser_delete(&p);
  return r;
}

static int key_cmp(const void *a, const void *b) {
  const struct ferry__card_node *x = *(const struct ferry__card_node *const *)a;
  const struct ferry__card_node *y = *(const struct ferry__card_node *const *)b;
  int c = strcmp(x->value, y->value);
  if (c) return c;
  if (x->line != y->line) return x->line < y->line ? -1 : 1;
  return x->column < y->column ? -1 : x->column > y->column;
}

/* Duplicate keys in any mapping, and keys that are not scalars, are errors (the Hub's parser
 * refuses them). Each mapping's keys are sorted, so a mapping with many keys costs n log n;
 * each node is visited once (aliases share nodes). 0 or FERRY_E_NOMEM. */
static int check_keys(struct ferry__card_ctx *c, struct builder *b) {
  const struct ferry__card_node **keys = NULL;
  size_t cap = 0;
  for (size_t i = 0; i < b->n_all; i++) {
    const struct ferry__card_node *m = b->all[i];
    if (m->kind != FERRY__CARD_MAP) continue;
    if (m->n / 2 > cap) {
      const struct ferry__card_node **grown = realloc(keys, (m->n / 2) * sizeof(*grown));
      if (!grown) {
        free(keys);
        return FERRY_E_NOMEM;
      }
      keys = grown, cap = m->n / 2;
    }
    size_t n = 0;
    for (size_t k = 0; k + 1 < m->n; k += 2) {
      const struct ferry__card_node *key = m->kids[k];
      if (key->kind != FERRY__CARD_SCALAR)
        ferry__card_error(c, key->line, key->column, "a mapping key must be a plain value");
      else
        keys[n++] = key;
    }
    if (n > 1) qsort(keys, n, sizeof(*keys), key_cmp);
    for (size_t k = 1, first = 0; k < n; k++) {
      if (strcmp(keys[k]->value, keys[first]->value) != 0) {
        first = k;
        continue;
      }
      ferry__card_error(c, keys[k]->line, keys[k]->column,
                        "duplicate key '%.80s' (first on line %d)", keys[k]->value,
                        keys[first]->line);
    }
  }
  free(keys);
  return 0;
}

const struct ferry__card_node *ferry__card_get(const struct ferry__card_node *map,
                                               const char *key) {
  if (!map || map->kind != FERRY__CARD_MAP) return NULL;
  for (size_t k = 0; k + 1 < map->n; k += 2)
    if (map->kids[k]->kind == FERRY__CARD_SCALAR && !strcmp(map->kids[k]->value, key))
      return map->kids[k + 1];
  return NULL;
}

/* Issues in file order (stable enough: messages break ties). */
static int issue_cmp(const void *a, const void *b) {
  const struct ferry_card_issue *x = a, *y = b;
  if (x->line != y->line) return x->line < y->line ? -1 : 1;
  if (x->column != y->column) return x->column < y->column ? -1 : 1;
  return strcmp(x->message, y->message);
}

int ferry_card_check(const char *text, size_t len, enum ferry_card_type type,
                     struct ferry_card_report *out) {
  memset(out, 0, sizeof(*out));
  if (!text && len) return FERRY_E_INVAL;
  struct ferry__card_ctx c = {.report = out, .type = type};
  if (len > FERRY_CARD_MAX_BYTES) {
    ferry__card_error(&c, 0, 0, "card is larger than the limit of %u bytes",
                      FERRY_CARD_MAX_BYTES);
    return c.oom ? FERRY_E_NOMEM : FERRY_E_CARD_INVALID;
  }
  size_t bad = utf8_invalid_at((const unsigned char *)text, len);
  if (bad < len) {
    int line, column;
    position_of(text, bad, &line, &column);
    ferry__card_error(&c, line, column, "not valid UTF-8 (byte 0x%02x)",
                      (unsigned char)text[bad]);
  }
  size_t start = 0, end = 0;
  int fm = front_matter(text, len, &start, &end);
  int r = 0;
  if (fm == 0) {
    ferry__card_warn(&c, 0, 0, "no metadata: the card has no YAML block between --- lines");
  } else if (fm < 0) {
    size_t open_at = start; /* back over the breaks to the opening --- */
    while (open_at > 0 && is_break(text[open_at - 1])) open_at--;
    int line, column;
    position_of(text, open_at >= 3 ? open_at - 3 : 0, &line, &column);
    ferry__card_error(&c, line, column,
                      "metadata block opened with --- is not closed by a --- line");
  } else if (end - start > FERRY_CARD_MAX_METADATA) {
    int line, column;
    position_of(text, start, &line, &column);
    ferry__card_error(&c, line, 1, "metadata is %zu bytes, more than the limit of %u",
                      end - start, FERRY_CARD_MAX_METADATA);
  } else if (bad >= start && bad < end) {
    /* already reported; libyaml would only repeat it */
  } else {
    struct builder b = {.c = &c};
    int column;
    position_of(text, start, &b.base_line, &column);
    r = parse_yaml(&b, text + start, end - start);
    if (!r && !b.failed) r = check_keys(&c, &b);
    if (!r && !b.failed) {
      if (!b.root || (b.root->kind == FERRY__CARD_SCALAR && b.root->scalar == FERRY__CARD_NULL)) {
        ferry__card_warn(&c, b.base_line, 1, "the metadata block is empty");
        out->has_metadata = 1;
      } else if (b.root->kind != FERRY__CARD_MAP) {
        ferry__card_error(&c, b.root->line, b.root->column,
                          "metadata must be a mapping of keys to values");
      } else {
        out->has_metadata = 1;
        ferry__card_check_schema(&c, b.root);
      }
    }
    free_nodes(&b);
  }
  if (r) return r;
  if (c.oom) return FERRY_E_NOMEM;
  if (out->n_errors) qsort(out->errors, out->n_errors, sizeof(*out->errors), issue_cmp);
  if (out->n_warnings) qsort(out->warnings, out->n_warnings, sizeof(*out->warnings), issue_cmp);
  return out->n_errors ? FERRY_E_CARD_INVALID : 0;
}
