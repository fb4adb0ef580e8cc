/* assert.h: typed assertions for the unit tests.
 *
 * Each failed assertion prints file, line, the expression and both operands, then aborts;
 * the runner (runner.c) sees the child die and reports the test as "not ok". Tests that loop
 * over many inputs set a note (TEST_NOTE) that is printed with the failure, so the failing
 * input can be read without a debugger. */
#ifndef FERRY_UNIT_ASSERT_H
#define FERRY_UNIT_ASSERT_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Context for the next failure, e.g. TEST_NOTE("split at %zu", k). Defined in runner.c. */
extern char ferry_unit_note[512];
#define TEST_NOTE(...) snprintf(ferry_unit_note, sizeof(ferry_unit_note), __VA_ARGS__)

/* A fresh empty directory for this test; the runner removes it after the test process ends. */
const char *ferry_unit_tmpdir(void);

void ferry_unit_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

#define FERRY_UNIT_CMP_(type, fmt, a, op, b)                                                  \
  do {                                                                                     \
    type a_ = (type)(a), b_ = (type)(b);                                                   \
    if (!(a_ op b_))                                                                       \
      ferry_unit_fail(__FILE__, __LINE__, "%s %s %s\n    left:  %" fmt "\n    right: %" fmt, \
                      #a, #op, #b, a_, b_);                                                \
  } while (0)

/* Signed integers (int, long, int64_t, enums). */
#define ASSERT_EQ_INT(a, b) FERRY_UNIT_CMP_(intmax_t, PRIdMAX, a, ==, b)
#define ASSERT_NE_INT(a, b) FERRY_UNIT_CMP_(intmax_t, PRIdMAX, a, !=, b)
#define ASSERT_LT_INT(a, b) FERRY_UNIT_CMP_(intmax_t, PRIdMAX, a, <, b)
#define ASSERT_LE_INT(a, b) FERRY_UNIT_CMP_(intmax_t, PRIdMAX, a, <=, b)
#define ASSERT_GT_INT(a, b) FERRY_UNIT_CMP_(intmax_t, PRIdMAX, a, >, b)
#define ASSERT_GE_INT(a, b) FERRY_UNIT_CMP_(intmax_t, PRIdMAX, a, >=, b)

/* Unsigned integers (size_t, uint64_t). */
#define ASSERT_EQ_U64(a, b) FERRY_UNIT_CMP_(uintmax_t, PRIuMAX, a, ==, b)
#define ASSERT_NE_U64(a, b) FERRY_UNIT_CMP_(uintmax_t, PRIuMAX, a, !=, b)
#define ASSERT_LT_U64(a, b) FERRY_UNIT_CMP_(uintmax_t, PRIuMAX, a, <, b)
#define ASSERT_LE_U64(a, b) FERRY_UNIT_CMP_(uintmax_t, PRIuMAX, a, <=, b)
#define ASSERT_GT_U64(a, b) FERRY_UNIT_CMP_(uintmax_t, PRIuMAX, a, >, b)
#define ASSERT_GE_U64(a, b) FERRY_UNIT_CMP_(uintmax_t, PRIuMAX, a, >=, b)

#define ASSERT_TRUE(c)                                                                     \
  do {                                                                                     \
    if (!(c)) ferry_unit_fail(__FILE__, __LINE__, "expected true: %s", #c);                \
  } while (0)

#define ASSERT_NOT_NULL(p)                                                                 \
  do {                                                                                     \
    if ((p) == NULL) ferry_unit_fail(__FILE__, __LINE__, "expected non-NULL: %s", #p);     \
  } while (0)

#define ASSERT_EQ_STR(a, b)                                                                \
  do {                                                                                     \
    const char *a_ = (a), *b_ = (b);                                                       \
    if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                 \
      ferry_unit_fail(__FILE__, __LINE__, "%s == %s\n    left:  \"%s\"\n    right: \"%s\"", \
                      #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                     \
  } while (0)

#define ASSERT_NE_STR(a, b)                                                                \
  do {                                                                                     \
    const char *a_ = (a), *b_ = (b);                                                       \
    if (!a_ || !b_ || strcmp(a_, b_) == 0)                                                 \
      ferry_unit_fail(__FILE__, __LINE__, "%s != %s\n    left:  \"%s\"\n    right: \"%s\"", \
                      #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                     \
  } while (0)

/* A span of `len` bytes that is not NUL-terminated, compared with a C string. */
#define ASSERT_EQ_SPAN(p, len, str)                                                        \
  do {                                                                                     \
    const char *p_ = (p), *s_ = (str);                                                     \
    size_t l_ = (len);                                                                     \
    if (l_ != strlen(s_) || memcmp(p_, s_, l_) != 0)                                       \
      ferry_unit_fail(__FILE__, __LINE__, "%s == %s\n    left:  \"%.*s\"\n    right: \"%s\"", \
                      #p, #str, (int)l_, p_, s_);                                          \
  } while (0)

#endif
