/* card.h: what the model-card files share (internal).
 *
 *   card.c         front matter, UTF-8, libyaml events -> a bounded node tree, the report
 *   card_schema.c  the checks of the known fields (licenses, types, model-index)
 *   card_template.c  the scaffold of `ferry card new`
 */
#ifndef FERRY_HUB_CARD_H
#define FERRY_HUB_CARD_H

#include <stddef.h>

#include "ferry.h"

enum ferry__card_kind { FERRY__CARD_SCALAR = 0, FERRY__CARD_SEQ, FERRY__CARD_MAP };

/* What a scalar means under the YAML 1.2 core schema (what the Hub's parser uses). */
enum ferry__card_scalar {
  FERRY__CARD_STR = 0,
  FERRY__CARD_NULL,
  FERRY__CARD_BOOL,
  FERRY__CARD_INT,
  FERRY__CARD_FLOAT
};

struct ferry__card_node {
  int kind;            /* enum ferry__card_kind */
  int line, column;    /* 1-based, in the whole file */
  char *value;         /* scalars: the text, NUL-terminated */
  int scalar;          /* scalars: enum ferry__card_scalar */
  /* sequences: items; mappings: key, value, key, value, ... Aliases share the node they
   * name, so the tree may be a DAG (never a cycle). */
  struct ferry__card_node **kids;
  size_t n, cap;
  size_t weight;       /* nodes in this subtree, counting alias expansions */
  int open;            /* still being parsed (an alias to it would be a cycle) */
  char *anchor;
};

struct ferry__card_ctx {
  struct ferry_card_report *report;
  enum ferry_card_type type;
  int oom;
};

/* Adds an error or a warning (printf-style) at line/column (0 when not about a place). */
void ferry__card_error(struct ferry__card_ctx *c, int line, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ferry__card_warn(struct ferry__card_ctx *c, int line, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A mapping's value for `key` (NULL when absent). */
const struct ferry__card_node *ferry__card_get(const struct ferry__card_node *map,
                                               const char *key);

/* Checks the parsed metadata (the root node) against the known fields. */
void ferry__card_check_schema(struct ferry__card_ctx *c, const struct ferry__card_node *root);

/* 1 when `id` is on the Hub's license list. */
int ferry__card_license_known(const char *id);

#endif
