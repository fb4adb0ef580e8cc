/* Unit tests for the error table in engine/include/ferry.h (FERRY_ERRNO_MAP): names,
 * messages, exit classes and the retry predicate. */
#include <limits.h>
#include <string.h>

#include "assert.h"
#include "ferry.h"

struct row {
  int code;
  const char *name, *message;
  int exit_class, retryable;
};

static const struct row rows[] = {
#define ROW(name, value, cls, retry, msg) {FERRY_E_##name, #name, msg, cls, retry},
    FERRY_ERRNO_MAP(ROW)
#undef ROW
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

void test_errors_table(void) {
  ASSERT_GT_U64(NROWS, 10);
  for (size_t i = 0; i < NROWS; i++) {
    const struct row *r = &rows[i];
    TEST_NOTE("FERRY_E_%s (%d)", r->name, r->code);
    /* our own codes: a reserved negative block, clear of negated errno values */
    ASSERT_LT_INT(r->code, -1000);
    ASSERT_GT_INT(r->code, FERRY_E_LAST);
    ASSERT_EQ_STR(ferry_err_name(r->code), r->name);
    ASSERT_EQ_STR(ferry_strerror(r->code), r->message);
    ASSERT_GT_U64(strlen(r->message), 3);
    ASSERT_NE_STR(r->message, "unknown error");
    ASSERT_EQ_INT(ferry_is_retryable(r->code), r->retryable);
    /* exit classes stay below 124 (128+ is for signals), or are 130 for an interrupt */
    int cls = ferry_exit_class(r->code);
    ASSERT_EQ_INT(cls, r->exit_class);
    ASSERT_GT_INT(cls, 0);
    ASSERT_TRUE(cls < 124 || cls == 130);
    for (size_t j = 0; j < i; j++) {
      ASSERT_NE_INT(rows[j].code, r->code);
      ASSERT_NE_STR(rows[j].name, r->name);
      ASSERT_NE_STR(rows[j].message, r->message);
    }
  }
}

void test_errors_unknown(void) {
  const int unknown[] = {1, -1, -2, -28, 42, -999, -1004, -1999, -2000, -2001, -9999,
                         INT_MIN, INT_MAX};
  for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
    TEST_NOTE("code %d", unknown[i]);
    ASSERT_EQ_STR(ferry_strerror(unknown[i]), "unknown error");
    ASSERT_EQ_STR(ferry_err_name(unknown[i]), "UNKNOWN");
    ASSERT_EQ_INT(ferry_is_retryable(unknown[i]), 0);
    ASSERT_EQ_INT(ferry_exit_class(unknown[i]), FERRY_EXIT_OTHER);
  }
  TEST_NOTE("code 0");
  ASSERT_EQ_STR(ferry_err_name(0), "OK");
  ASSERT_NE_STR(ferry_strerror(0), "unknown error");
  ASSERT_EQ_INT(ferry_is_retryable(0), 0);
  ASSERT_EQ_INT(ferry_exit_class(0), FERRY_EXIT_OK);
}

void test_errors_retryable(void) {
  const int retry[] = {FERRY_E_RESET, FERRY_E_TIMEOUT, FERRY_E_STALLED, FERRY_E_HTTP_RETRY,
                       FERRY_E_RATELIMIT};
  const int fatal[] = {FERRY_E_CHECKSUM, FERRY_E_NOSPC, FERRY_E_HTTP, FERRY_E_TLS,
                       FERRY_E_CHANGED, FERRY_E_NOMEM, FERRY_E_INVAL, FERRY_E_IO,
                       FERRY_E_INTERRUPTED, FERRY_E_CANCELLED, FERRY_E_BUSY};
  for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++) {
    TEST_NOTE("%s", ferry_err_name(retry[i]));
    ASSERT_EQ_INT(ferry_is_retryable(retry[i]), 1);
  }
  for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
    TEST_NOTE("%s", ferry_err_name(fatal[i]));
    ASSERT_EQ_INT(ferry_is_retryable(fatal[i]), 0);
  }
}

/* Scripts tell outcomes apart by exit status: the ones they rely on are distinct. */
void test_errors_exit_classes(void) {
  TEST_NOTE("interrupt");
  ASSERT_EQ_INT(ferry_exit_class(FERRY_E_INTERRUPTED), 130);
  TEST_NOTE("busy"); /* README: 20, the destination is locked by another process */
  ASSERT_EQ_INT(ferry_exit_class(FERRY_E_BUSY), 20);
  const int distinct[] = {FERRY_E_CHECKSUM, FERRY_E_NOSPC, FERRY_E_CHANGED, FERRY_E_TLS,
                          FERRY_E_HTTP, FERRY_E_CONNECT, FERRY_E_INVAL, FERRY_E_IO,
                          FERRY_E_PROTOCOL, FERRY_E_INTERRUPTED, FERRY_E_BUSY};
  size_t n = sizeof(distinct) / sizeof(distinct[0]);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < i; j++) {
      TEST_NOTE("%s vs %s", ferry_err_name(distinct[i]), ferry_err_name(distinct[j]));
      ASSERT_NE_INT(ferry_exit_class(distinct[i]), ferry_exit_class(distinct[j]));
    }
}
