/* Unit tests for the model-card checker (engine/hub/card.c, card_schema.c, card_template.c):
 * front matter detection, line and column of errors, field types, the parser's hard limits. */
#include <stdlib.h>
#include <string.h>

#include "assert.h"
#include "ferry.h"

/* Checks `text`; returns the result and leaves the report in *rep (freed by the caller). */
static int check(const char *text, enum ferry_card_type type, struct ferry_card_report *rep) {
  return ferry_card_check(text, strlen(text), type, rep);
}

/* The first error must be at line:column and contain `needle`. */
static void expect_error(const char *text, int line, int column, const char *needle) {
  struct ferry_card_report rep;
  TEST_NOTE("card: %.200s", text);
  ASSERT_EQ_INT(check(text, FERRY_CARD_MODEL, &rep), FERRY_E_CARD_INVALID);
  ASSERT_GE_U64(rep.n_errors, 1);
  ASSERT_EQ_INT(rep.errors[0].line, line);
  ASSERT_EQ_INT(rep.errors[0].column, column);
  if (!strstr(rep.errors[0].message, needle))
    ferry_unit_fail(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"", rep.errors[0].message,
                    needle);
  ferry_card_report_free(&rep);
}

void test_card_front_matter(void) {
  struct ferry_card_report rep;
  /* no block: a warning, not an error */
  ASSERT_EQ_INT(check("# Title\n\ntext\n", FERRY_CARD_MODEL, &rep), 0);
  ASSERT_EQ_INT(rep.has_metadata, 0);
  ASSERT_EQ_U64(rep.n_warnings, 1);
  ferry_card_report_free(&rep);
  /* leading blank lines, CRLF, closing --- at the end of the file */
  ASSERT_EQ_INT(check("\n\n---\r\nlicense: mit\r\n---", FERRY_CARD_MODEL, &rep), 0);
  ASSERT_EQ_INT(rep.has_metadata, 1);
  ASSERT_EQ_U64(rep.n_errors, 0);
  ferry_card_report_free(&rep);
  /* "----" is not a closing line: the block stays open */
  expect_error("---\nlicense: mit\n----\n", 1, 1, "not closed");
  /* the opening line counts after leading blank lines */
  expect_error("\n\n---\nlicense: mit\n", 3, 1, "not closed");
  /* an empty block is a warning */
  ASSERT_EQ_INT(check("---\n---\nbody\n", FERRY_CARD_MODEL, &rep), 0);
  ASSERT_EQ_U64(rep.n_errors, 0);
  ASSERT_GE_U64(rep.n_warnings, 1);
  ferry_card_report_free(&rep);
  /* metadata that is not a mapping */
  expect_error("---\n- a\n- b\n---\n", 2, 1, "mapping");
}

void test_card_yaml_errors_have_lines(void) {
  expect_error("---\nlicense: mit\ntags: [a, b\nlanguage: en\n---\n", 4, 9, "invalid YAML");
  expect_error("---\nlicense: mit\n  bad: indent\n---\n", 3, 6, "invalid YAML");
  expect_error("---\nlicense: mit\nlicense: mit\n---\n", 3, 1, "duplicate key");
  expect_error("---\nlicense: mit\ntags: *nothing\n---\n", 3, 7, "no anchor");
  /* a byte that is not UTF-8, in the body: its own line and column */
  expect_error("---\nlicense: mit\n---\nab\xff\n", 4, 3, "UTF-8");
}

void test_card_fields(void) {
  expect_error("---\nlicense: not-a-license\n---\n", 2, 10, "unknown license");
  expect_error("---\nlicense: mit\ntags: one\n---\n", 3, 7, "tags must be a list");
  expect_error("---\nlicense: mit\nlanguage: 12\n---\n", 3, 11, "language must be");
  expect_error("---\nlicense: mit\npipeline_tag: [a]\n---\n", 3, 15, "pipeline_tag must be");
  expect_error("---\nlicense: mit\nlibrary_name: true\n---\n", 3, 15, "library_name must be");
  expect_error("---\nlicense: [mit]\n---\n", 2, 10, "license must be a string");
  struct ferry_card_report rep;
  /* a dataset may list several licenses; "other" wants a name and a link */
  ASSERT_EQ_INT(check("---\nlicense: [mit, cc-by-4.0]\n---\n", FERRY_CARD_DATASET, &rep), 0);
  ferry_card_report_free(&rep);
  ASSERT_EQ_INT(check("---\nlicense: other\n---\n", FERRY_CARD_MODEL, &rep), 0);
  ASSERT_EQ_U64(rep.n_warnings, 2);
  ferry_card_report_free(&rep);
  /* quoted numbers are strings; unknown fields are fine */
  ASSERT_EQ_INT(check("---\nlicense: mit\nlanguage: '12'\nmy_field: {a: 1}\n---\n",
                      FERRY_CARD_MODEL, &rep),
                0);
  ferry_card_report_free(&rep);
}

void test_card_model_index(void) {
  const char *good = "---\nlicense: mit\nmodel-index:\n- name: m\n  results:\n  - task:\n"
                     "      type: t\n    dataset:\n      type: d\n      name: D\n"
                     "    metrics:\n    - type: acc\n      value: 0.5\n---\n";
  struct ferry_card_report rep;
  ASSERT_EQ_INT(check(good, FERRY_CARD_MODEL, &rep), 0);
  ferry_card_report_free(&rep);
  expect_error("---\nlicense: mit\nmodel-index: {name: m}\n---\n", 3, 14, "must be a list");
  expect_error("---\nlicense: mit\nmodel-index:\n- results: []\n---\n", 4, 3, "has no 'name'");
  expect_error("---\nlicense: mit\nmodel-index:\n- name: m\n  results:\n  - task: {type: t}\n"
               "    dataset: {type: d, name: D}\n    metrics:\n    - {type: acc, value: }\n---\n",
               9, 26, "value must be");
}

void test_card_limits(void) {
  /* nesting */
  size_t n = 100000;
  char *deep = malloc(n + 16);
  ASSERT_NOT_NULL(deep);
  memcpy(deep, "---\na: ", 7);
  memset(deep + 7, '[', n);
  memcpy(deep + 7 + n, "\n---\n", 6);
  expect_error(deep, 2, 67, "nested deeper");
  free(deep);
  /* billion laughs: ten levels of nine aliases */
  char lol[4096];
  size_t used = (size_t)snprintf(lol, sizeof(lol), "---\na0: &a0 [x,x,x,x,x,x,x,x,x]\n");
  for (int i = 1; i < 10; i++) {
    used += (size_t)snprintf(lol + used, sizeof(lol) - used, "a%d: &a%d [", i, i);
    for (int k = 0; k < 9; k++)
      used += (size_t)snprintf(lol + used, sizeof(lol) - used, "%s*a%d", k ? "," : "", i - 1);
    used += (size_t)snprintf(lol + used, sizeof(lol) - used, "]\n");
  }
  snprintf(lol + used, sizeof(lol) - used, "---\n");
  struct ferry_card_report rep;
  ASSERT_EQ_INT(check(lol, FERRY_CARD_MODEL, &rep), FERRY_E_CARD_INVALID);
  ASSERT_TRUE(strstr(rep.errors[0].message, "expands to more than") != NULL);
  ASSERT_EQ_INT(rep.errors[0].line, 7);
  ferry_card_report_free(&rep);
  /* too many aliases, each cheap */
  size_t cap = 16 + 4 * (FERRY_CARD_MAX_ALIASES + 10) + 32;
  char *many = malloc(cap);
  ASSERT_NOT_NULL(many);
  used = (size_t)snprintf(many, cap, "---\na: &x 1\nb: [");
  for (int i = 0; i <= FERRY_CARD_MAX_ALIASES; i++)
    used += (size_t)snprintf(many + used, cap - used, "*x,");
  snprintf(many + used, cap - used, "]\n---\n");
  ASSERT_EQ_INT(check(many, FERRY_CARD_MODEL, &rep), FERRY_E_CARD_INVALID);
  ASSERT_TRUE(strstr(rep.errors[0].message, "aliases") != NULL);
  ferry_card_report_free(&rep);
  free(many);
  /* the whole card, and the metadata alone */
  char *big = malloc(FERRY_CARD_MAX_BYTES + 1);
  ASSERT_NOT_NULL(big);
  memset(big, 'x', FERRY_CARD_MAX_BYTES + 1);
  ASSERT_EQ_INT(ferry_card_check(big, FERRY_CARD_MAX_BYTES + 1, FERRY_CARD_MODEL, &rep),
                FERRY_E_CARD_INVALID);
  ferry_card_report_free(&rep);
  memcpy(big, "---\nx: ", 7);
  memcpy(big + FERRY_CARD_MAX_METADATA + 100, "\n---\n", 5);
  ASSERT_EQ_INT(ferry_card_check(big, FERRY_CARD_MAX_METADATA + 105, FERRY_CARD_MODEL, &rep),
                FERRY_E_CARD_INVALID);
  ASSERT_TRUE(strstr(rep.errors[0].message, "more than the limit") != NULL);
  ferry_card_report_free(&rep);
  free(big);
}

void test_card_scaffold_passes(void) {
  const enum ferry_card_type types[] = {FERRY_CARD_MODEL, FERRY_CARD_DATASET};
  for (int i = 0; i < 2; i++) {
    char *text = NULL;
    size_t len = 0;
    ASSERT_EQ_INT(ferry_card_scaffold(types[i], &text, &len), 0);
    ASSERT_EQ_U64(strlen(text), len);
    struct ferry_card_report rep;
    TEST_NOTE("type %d", (int)types[i]);
    ASSERT_EQ_INT(ferry_card_check(text, len, types[i], &rep), 0);
    ASSERT_EQ_U64(rep.n_errors, 0);
    ASSERT_EQ_U64(rep.n_warnings, 0);
    ASSERT_EQ_INT(rep.has_metadata, 1);
    ferry_card_report_free(&rep);
    free(text);
  }
}
