/* Unit tests for engine/src/retry.h: the one retry policy of ranges, API calls and upload
 * parts: backoff, the cap on a server's wait, what recorded answers' headers ask, and the
 * decision. */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "assert.h"
#include "http_parse.h"
#include "retry.h"

/* Exponential base for an attempt, from the contract: 250 ms doubling, at most 10 s. */
static long base_ms(int attempt) {
  long b = 250;
  for (int i = 1; i < attempt && b < 10000; i++) b *= 2;
  return b > 10000 ? 10000 : b;
}

void test_retry_backoff(void) {
  /* Retry-After wins over the exponential schedule, whatever the attempt and the dice */
  const long ras[] = {0, 1, 5, 120, 3600};
  for (size_t i = 0; i < sizeof(ras) / sizeof(ras[0]); i++)
    for (int attempt = 1; attempt <= 12; attempt += 11) {
      TEST_NOTE("Retry-After %ld, attempt %d", ras[i], attempt);
      long ms = ferry__backoff_ms(attempt, ras[i], 987654321);
      ASSERT_GE_INT(ms, ras[i] * 1000);      /* never earlier than the server asked */
      ASSERT_LT_INT(ms, ras[i] * 1000 + 1000); /* and not a second later */
    }
  /* growth, cap and jitter within [base/2, base] */
  long prev_max = 0;
  for (int attempt = 1; attempt <= 40; attempt++) {
    long base = base_ms(attempt);
    long lo = LONG_MAX, hi = 0;
    for (long rnd = 0; rnd <= 3 * base; rnd++) {
      TEST_NOTE("attempt %d, rnd %ld", attempt, rnd);
      long ms = ferry__backoff_ms(attempt, -1, rnd);
      ASSERT_GE_INT(ms, base / 2);
      ASSERT_LE_INT(ms, base);
      ASSERT_LE_INT(ms, 10000);
      if (ms < lo) lo = ms;
      if (ms > hi) hi = ms;
    }
    TEST_NOTE("attempt %d: jitter spread", attempt);
    ASSERT_EQ_INT(lo, base / 2); /* the dice reach both ends */
    ASSERT_EQ_INT(hi, base);
    ASSERT_GE_INT(hi, prev_max); /* never shrinks with more attempts */
    prev_max = hi;
  }
  TEST_NOTE("the cap is reached");
  ASSERT_EQ_INT(prev_max, 10000);
  /* attempt numbers below 1 count as the first */
  TEST_NOTE("attempt 0 and -5");
  ASSERT_LE_INT(ferry__backoff_ms(0, -1, 123456), 250);
  ASSERT_GE_INT(ferry__backoff_ms(-5, -1, 123456), 125);
  ASSERT_LE_INT(ferry__backoff_ms(-5, -1, 123456), 250);
  ASSERT_LE_INT(ferry__backoff_ms(INT_MAX, -1, 123456), 10000);
}

/* `rnd` is any random long, the sign handled by the function itself. */
void test_retry_backoff_any_rnd(void) {
  const long rnds[] = {-1, -12345, LONG_MAX, LONG_MIN + 1, LONG_MIN};
  for (int attempt = 1; attempt <= 8; attempt++)
    for (size_t i = 0; i < sizeof(rnds) / sizeof(rnds[0]); i++) {
      TEST_NOTE("attempt %d, rnd %ld", attempt, rnds[i]);
      long ms = ferry__backoff_ms(attempt, -1, rnds[i]);
      ASSERT_GE_INT(ms, base_ms(attempt) / 2);
      ASSERT_LE_INT(ms, base_ms(attempt));
    }
}

/* One cap for every request kind: up to FERRY__MAX_SERVER_WAIT_S honoured, beyond refused. */
void test_retry_server_wait_cap(void) {
  ASSERT_TRUE(ferry__server_wait_ok(-1)); /* no wait asked */
  ASSERT_TRUE(ferry__server_wait_ok(0));
  ASSERT_TRUE(ferry__server_wait_ok(FERRY__MAX_SERVER_WAIT_S));
  ASSERT_TRUE(!ferry__server_wait_ok(FERRY__MAX_SERVER_WAIT_S + 1));
  ASSERT_TRUE(!ferry__server_wait_ok(99999999));
  ASSERT_EQ_INT(FERRY__MAX_SERVER_WAIT_S, 120); /* the figure README.md documents */
}

/* What a recorded answer's header lines ask (split as the header callbacks split them). */
static long asked_by(const char *const *lines, time_t now) {
  struct ferry__retry_hint h;
  ferry__retry_hint_init(&h);
  for (; *lines; lines++) {
    const char *name, *value;
    size_t nl, vl;
    if (ferry__split_header(*lines, strlen(*lines), &name, &nl, &value, &vl) == 0)
      ferry__retry_hint_header(&h, name, nl, value, vl, now);
  }
  return ferry__retry_hint_seconds(&h);
}

/* 2026-12-06 14:00:00 UTC */
#define NOW ((time_t)1796565600)

void test_retry_hint_recorded(void) {
  TEST_NOTE("the Hub's 429: RateLimit's reset, the policy header ignored");
  const char *hub[] = {"HTTP/2 429\r\n", "content-type: application/json\r\n",
                       "ratelimit: \"api\";r=0;t=42\r\n",
                       "ratelimit-policy: \"fixed window\";\"api\";q=500;w=300\r\n",
                       "x-error-message: Too many requests\r\n", NULL};
  ASSERT_EQ_INT(asked_by(hub, NOW), 42);
  TEST_NOTE("nginx's 503 with Retry-After in seconds");
  const char *nginx[] = {"HTTP/1.1 503 Service Temporarily Unavailable\r\n",
                         "Server: nginx\r\n", "Retry-After: 7\r\n", NULL};
  ASSERT_EQ_INT(asked_by(nginx, NOW), 7);
  TEST_NOTE("a CDN's 503 with an HTTP date, 90 s after now");
  const char *cdn[] = {"HTTP/2 503\r\n", "retry-after: Sun, 06 Dec 2026 14:01:30 GMT\r\n",
                       "x-cache: Error from cloudfront\r\n", NULL};
  ASSERT_EQ_INT(asked_by(cdn, NOW), 90);
  TEST_NOTE("both: Retry-After wins over the RateLimit reset, in either order");
  const char *both[] = {"RateLimit: \"api\";r=0;t=300\r\n", "Retry-After: 3\r\n", NULL};
  ASSERT_EQ_INT(asked_by(both, NOW), 3);
  const char *both2[] = {"Retry-After: 3\r\n", "RateLimit: \"api\";r=0;t=300\r\n", NULL};
  ASSERT_EQ_INT(asked_by(both2, NOW), 3);
  TEST_NOTE("a garbled Retry-After falls back to the RateLimit reset");
  const char *garbled[] = {"Retry-After: soon\r\n", "RateLimit: \"api\";r=0;t=5\r\n", NULL};
  ASSERT_EQ_INT(asked_by(garbled, NOW), 5);
  TEST_NOTE("S3's 503 SlowDown asks nothing: backoff");
  const char *s3[] = {"HTTP/1.1 503 Slow Down\r\n", "x-amz-request-id: 4442587FB7D0A2F9\r\n",
                      "Content-Type: application/xml\r\n", NULL};
  ASSERT_EQ_INT(asked_by(s3, NOW), -1);
  TEST_NOTE("a RateLimit without a reset; a reset as the server says it, or far when it does "
            "not parse (over the cap either way)");
  const char *noreset[] = {"RateLimit: \"api\";r=10\r\n", NULL};
  ASSERT_EQ_INT(asked_by(noreset, NOW), -1);
  TEST_NOTE("the Hub's 503 with quota left (r=498): the reset is no reason to wait");
  const char *quota_left[] = {"HTTP/2 503\r\n", "ratelimit: \"api\";r=498;t=3000\r\n", NULL};
  ASSERT_EQ_INT(asked_by(quota_left, NOW), -1);
  const char *huge[] = {"RateLimit: \"api\";r=0;t=99999999999999999999999\r\n", NULL};
  ASSERT_GT_INT(asked_by(huge, NOW), FERRY__MAX_SERVER_WAIT_S);
  const char *day[] = {"RateLimit: \"api\";r=0;t=99999\r\n", NULL};
  ASSERT_EQ_INT(asked_by(day, NOW), 99999);
}

void test_retry_decide(void) {
  struct ferry__retry_decision d;
  TEST_NOTE("not retryable, or no retries wanted: the error stands");
  ASSERT_EQ_INT(ferry__retry_decide(0, 1, 10, -1, 1).verdict, FERRY__RETRY_NO);
  ASSERT_EQ_INT(ferry__retry_decide(1, 1, 0, 5, 1).verdict, FERRY__RETRY_NO);
  TEST_NOTE("the first retry without a server's word: backoff of attempt 1");
  d = ferry__retry_decide(1, 1, 10, -1, 0);
  ASSERT_EQ_INT(d.verdict, FERRY__RETRY_WAIT);
  ASSERT_EQ_INT(d.delay_ms, ferry__backoff_ms(1, -1, 0));
  TEST_NOTE("the Hub's 429 (t=42): waits what it asks, whatever the attempt");
  d = ferry__retry_decide(1, 9, 10, 42, 12345);
  ASSERT_EQ_INT(d.verdict, FERRY__RETRY_WAIT);
  ASSERT_GE_INT(d.delay_ms, 42000);
  ASSERT_LT_INT(d.delay_ms, 43000);
  TEST_NOTE("the last allowed retry, then spent");
  ASSERT_EQ_INT(ferry__retry_decide(1, 10, 10, -1, 1).verdict, FERRY__RETRY_WAIT);
  ASSERT_EQ_INT(ferry__retry_decide(1, 11, 10, -1, 1).verdict, FERRY__RETRY_SPENT);
  TEST_NOTE("a wait over the cap is refused, even with retries left; at the cap it is kept");
  ASSERT_EQ_INT(ferry__retry_decide(1, 1, 10, FERRY__MAX_SERVER_WAIT_S + 1, 1).verdict,
                FERRY__RETRY_TOO_LONG);
  ASSERT_EQ_INT(ferry__retry_decide(1, 11, 10, 3600, 1).verdict, FERRY__RETRY_TOO_LONG);
  ASSERT_EQ_INT(ferry__retry_decide(1, 1, 10, FERRY__MAX_SERVER_WAIT_S, 1).verdict,
                FERRY__RETRY_WAIT);
}

void test_retry_status(void) {
  const long yes[] = {408, 429, 500, 502, 503, 504, 599};
  const long no[] = {200, 206, 301, 400, 401, 403, 404, 412, 416};
  for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
    TEST_NOTE("HTTP %ld", yes[i]);
    ASSERT_TRUE(ferry__retry_status(yes[i]));
  }
  for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
    TEST_NOTE("HTTP %ld", no[i]);
    ASSERT_TRUE(!ferry__retry_status(no[i]));
  }
}
