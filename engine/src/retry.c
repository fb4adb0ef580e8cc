/* retry: the retry policy of every request kind (see retry.h). */
#include "retry.h"

#include <stdint.h>
#include <string.h>

#include "http_parse.h"

int ferry__server_wait_ok(long seconds) { return seconds <= FERRY__MAX_SERVER_WAIT_S; }

long ferry__backoff_ms(int attempt, long asked, long rnd) {
  if (asked >= 0) return asked * 1000 + 50; /* the server's word, not earlier */
  if (attempt < 1) attempt = 1;
  long base = 250L << (attempt - 1 < 6 ? attempt - 1 : 6);
  if (base > 10000) base = 10000;
  /* jitter: half fixed, half random */
  return base / 2 + (long)((unsigned long)rnd % (unsigned long)(base / 2 + 1));
}

void ferry__retry_hint_init(struct ferry__retry_hint *h) { h->retry_after = h->reset = -1; }

/* The number after `;key=` in a RateLimit value, -1 when absent; past FAR (or past what
 * parses) it is FAR. */
#define FAR 2147483647L
static long ratelimit_param(const char *v, size_t len, char key) {
  for (size_t i = 0; i + 3 <= len; i++) {
    if (v[i] != ';' || v[i + 1] != key || v[i + 2] != '=') continue;
    size_t n = 0;
    while (i + 3 + n < len && v[i + 3 + n] >= '0' && v[i + 3 + n] <= '9') n++;
    uint64_t x;
    if (n && ferry__parse_u64(v + i + 3, n, &x) == 0) return x > FAR ? FAR : (long)x;
    if (n) return FAR;
  }
  return -1;
}

/* The reset of `RateLimit: "policy";r=0;t=N` (the IETF draft's structured field, as the Hub
 * sends it on every answer): a wait only once the quota is used up (r=0, or no r); with
 * quota left the failure has another cause. -1 when it asks nothing. */
static long ratelimit_reset(const char *v, size_t len) {
  return ratelimit_param(v, len, 'r') > 0 ? -1 : ratelimit_param(v, len, 't');
}

void ferry__retry_hint_header(struct ferry__retry_hint *h, const char *name, size_t name_len,
                              const char *value, size_t value_len, time_t now) {
  if (ferry__header_is(name, name_len, "retry-after"))
    h->retry_after = ferry__parse_retry_after(value, value_len, now);
  else if (ferry__header_is(name, name_len, "ratelimit"))
    h->reset = ratelimit_reset(value, value_len);
}

long ferry__retry_hint_seconds(const struct ferry__retry_hint *h) {
  return h->retry_after >= 0 ? h->retry_after : h->reset;
}

int ferry__retry_status(long status) { return status == 408 || status == 429 || status >= 500; }

struct ferry__retry_decision ferry__retry_decide(int retryable, int retry, int max_retries,
                                                 long asked, long rnd) {
  struct ferry__retry_decision d = {FERRY__RETRY_NO, 0};
  if (!retryable || max_retries <= 0) return d;
  if (!ferry__server_wait_ok(asked)) d.verdict = FERRY__RETRY_TOO_LONG;
  else if (retry > max_retries) d.verdict = FERRY__RETRY_SPENT;
  else d.verdict = FERRY__RETRY_WAIT, d.delay_ms = ferry__backoff_ms(retry, asked, rnd);
  return d;
}
