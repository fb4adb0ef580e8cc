/* retry: the one retry policy of every request kind: ranged requests (xfer.c, job.c), API
 * calls (fetch.c) and upload parts (put.c). What a failed response asks (Retry-After, the
 * RateLimit header's reset), and the decision: wait how long, give up, or refuse a wait
 * longer than the cap. Pure functions; the callers own the timers that wait. */
#ifndef FERRY_RETRY_H
#define FERRY_RETRY_H

#include <stddef.h>
#include <time.h>

/* The longest wait a server may ask for (Retry-After, RateLimit reset), for every request
 * kind. A longer one fails the request with FERRY_E_SERVER_WAIT instead of sleeping. */
#define FERRY__MAX_SERVER_WAIT_S 120
/* Whether a wait the server asked for (seconds; -1 when it asked none) is honoured. */
int ferry__server_wait_ok(long seconds);

/* Backoff before retry number `attempt` (1-based): the server's wait when it asked one
 * (asked >= 0, seconds), else exponential from 250 ms, capped at 10 s, with half of it
 * random (`rnd` is a random number). */
long ferry__backoff_ms(int attempt, long asked, long rnd);

/* What one response asks about the next try, from its header lines. */
struct ferry__retry_hint {
  long retry_after; /* Retry-After in seconds (a date is counted from `now`), -1: none */
  long reset;       /* the RateLimit header's reset ("...;t=N"), -1: none */
};
void ferry__retry_hint_init(struct ferry__retry_hint *h);
/* Takes one header (name and value, not NUL-terminated); other names are ignored. */
void ferry__retry_hint_header(struct ferry__retry_hint *h, const char *name, size_t name_len,
                              const char *value, size_t value_len, time_t now);
/* Seconds the response asks to wait: Retry-After, else the RateLimit reset, else -1. */
long ferry__retry_hint_seconds(const struct ferry__retry_hint *h);

/* Whether an HTTP status is worth another try: 408, 429 and 5xx. */
int ferry__retry_status(long status);

enum ferry__retry_verdict {
  FERRY__RETRY_NO,       /* not retryable, or the request wants no retries: the error stands */
  FERRY__RETRY_SPENT,    /* retryable, but the retries are used up */
  FERRY__RETRY_TOO_LONG, /* the server asks a wait over the cap: FERRY_E_SERVER_WAIT */
  FERRY__RETRY_WAIT      /* try again after delay_ms */
};
struct ferry__retry_decision {
  enum ferry__retry_verdict verdict;
  long delay_ms; /* FERRY__RETRY_WAIT only */
};
/* Whether and when to make retry number `retry` (1: the first retry) of a request that
 * failed (`retryable`: a reset, a stall, 408, 429, 5xx), at most `max_retries` of them,
 * the server having asked `asked` seconds (-1: nothing). */
struct ferry__retry_decision ferry__retry_decide(int retryable, int retry, int max_retries,
                                                 long asked, long rnd);

#endif
