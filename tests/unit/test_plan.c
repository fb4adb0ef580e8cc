/* Unit tests for engine/src/plan.h: the next range, splitting a running
 * request, classification of finished requests, and retry backoff. */
#include <curl/curl.h>
#include <limits.h>
#include <stdint.h>

#include "assert.h"
#include "internal.h"
#include "plan.h"

#define KiB 1024ull
#define MiB (1024ull * 1024ull)

static void set_of(struct ferry__ivset *s, size_t n, const uint64_t *pairs) {
  ferry__ivset_clear(s);
  for (size_t i = 0; i < n; i++) ASSERT_EQ_INT(ferry__ivset_add(s, pairs[2 * i], pairs[2 * i + 1]), 0);
}

static void expect_next(const struct ferry__ivset *s, uint64_t chunk, uint64_t start,
                        uint64_t end) {
  uint64_t a = 1, b = 1;
  ASSERT_EQ_INT(ferry__plan_next(s, chunk, &a, &b), 0);
  ASSERT_EQ_U64(a, start);
  ASSERT_EQ_U64(b, end);
}

static void expect_last(const struct ferry__ivset *s, uint64_t chunk, uint64_t align,
                        uint64_t start, uint64_t end) {
  uint64_t a = 1, b = 1;
  ASSERT_EQ_INT(ferry__plan_last(s, chunk, align, &a, &b), 0);
  ASSERT_EQ_U64(a, start);
  ASSERT_EQ_U64(b, end);
}

void test_plan_last(void) {
  struct ferry__ivset s;
  ferry__ivset_init(&s);
  uint64_t a = 7, b = 9;
  TEST_NOTE("empty set");
  ASSERT_EQ_INT(ferry__plan_last(&s, 100, 10, &a, &b), -1);
  TEST_NOTE("one long range: its last chunk, the start on a multiple of align");
  set_of(&s, 1, (uint64_t[]){0, 1005});
  expect_last(&s, 100, 10, 900, 1005);
  set_of(&s, 1, (uint64_t[]){0, 1000});
  expect_last(&s, 100, 10, 900, 1000);
  TEST_NOTE("the last range, not the first nor the largest");
  set_of(&s, 3, (uint64_t[]){0, 10000, 20000, 20500, 30000, 30040});
  expect_last(&s, 100, 10, 30000, 30040);
  TEST_NOTE("a range shorter than a chunk: all of it");
  set_of(&s, 1, (uint64_t[]){500, 530});
  expect_last(&s, 100, 10, 500, 530);
  TEST_NOTE("less than a quarter chunk would be left before it: it rides along");
  set_of(&s, 1, (uint64_t[]){500, 620});
  expect_last(&s, 100, 10, 500, 620);
  set_of(&s, 1, (uint64_t[]){500, 630});
  expect_last(&s, 100, 10, 530, 630);
  TEST_NOTE("aligning down would start before the range: all of it");
  set_of(&s, 1, (uint64_t[]){505, 606});
  expect_last(&s, 100, 10, 505, 606);

  /* drained from the back, the set is covered exactly, with no sliver left and no overlap */
  set_of(&s, 1, (uint64_t[]){4096, 4096 * 50 + 123});
  uint64_t covered = 0, prev_start = UINT64_MAX;
  while (ferry__plan_last(&s, 4096 * 3, 4096, &a, &b) == 0) {
    ASSERT_TRUE(b == prev_start || prev_start == UINT64_MAX);
    ASSERT_TRUE(b - a >= 4096 * 3 / 4 && (a % 4096 == 0));
    covered += b - a;
    prev_start = a;
    ferry__ivset_remove(&s, a, b);
  }
  ASSERT_EQ_U64(covered, 4096 * 49 + 123);
  ASSERT_EQ_U64(prev_start, 4096);
  ferry__ivset_free(&s);
}

void test_plan_next(void) {
  struct ferry__ivset s;
  ferry__ivset_init(&s);
  uint64_t a = 7, b = 9;
  TEST_NOTE("empty set");
  ASSERT_EQ_INT(ferry__plan_next(&s, 100, &a, &b), -1);

  TEST_NOTE("one long range: a chunk from its start");
  set_of(&s, 1, (uint64_t[]){0, 1000});
  expect_next(&s, 100, 0, 100);
  TEST_NOTE("a range shorter than a chunk: all of it");
  set_of(&s, 1, (uint64_t[]){500, 530});
  expect_next(&s, 100, 500, 530);
  TEST_NOTE("exactly one chunk");
  set_of(&s, 1, (uint64_t[]){0, 100});
  expect_next(&s, 100, 0, 100);
  TEST_NOTE("the first range, not the largest");
  set_of(&s, 3, (uint64_t[]){10, 20, 100, 10000, 20000, 30000});
  expect_next(&s, 100, 10, 20);

  /* quarter-chunk rule, chunk 100: a remainder under 25 rides along, 25 or more does not */
  TEST_NOTE("remainder 24 rides along");
  set_of(&s, 1, (uint64_t[]){0, 124});
  expect_next(&s, 100, 0, 124);
  TEST_NOTE("remainder 1 rides along");
  set_of(&s, 1, (uint64_t[]){0, 101});
  expect_next(&s, 100, 0, 101);
  TEST_NOTE("remainder 25 is left for later");
  set_of(&s, 1, (uint64_t[]){0, 125});
  expect_next(&s, 100, 0, 100);
  TEST_NOTE("remainder of another range does not ride along");
  set_of(&s, 2, (uint64_t[]){0, 100, 110, 115});
  expect_next(&s, 100, 0, 100);
  TEST_NOTE("large offsets, 8 MiB chunk, remainder 2 MiB - 1");
  set_of(&s, 1, (uint64_t[]){1ull << 40, (1ull << 40) + 10 * MiB - 1});
  expect_next(&s, 8 * MiB, 1ull << 40, (1ull << 40) + 10 * MiB - 1);
  TEST_NOTE("large offsets, 8 MiB chunk, remainder 2 MiB");
  set_of(&s, 1, (uint64_t[]){1ull << 40, (1ull << 40) + 10 * MiB});
  expect_next(&s, 8 * MiB, 1ull << 40, (1ull << 40) + 8 * MiB);

  /* draining a set with plan_next covers it exactly, in order, with no sliver left */
  TEST_NOTE("drain [3, 1000003) with chunk 4096");
  set_of(&s, 1, (uint64_t[]){3, 1000003});
  uint64_t expect_start = 3;
  int steps = 0;
  while (ferry__plan_next(&s, 4096, &a, &b) == 0) {
    ASSERT_EQ_U64(a, expect_start);
    ASSERT_GT_U64(b, a);
    ASSERT_LE_U64(b - a, 4096 + 4096 / 4);
    if (b != 1000003) ASSERT_GE_U64(1000003 - b, 4096 / 4);
    ASSERT_EQ_INT(ferry__ivset_remove(&s, a, b), 0);
    expect_start = b;
    ASSERT_LT_INT(++steps, 1000);
  }
  ASSERT_EQ_U64(expect_start, 1000003);
  ferry__ivset_free(&s);
}

/* The contract of ferry__plan_split for one input. */
static void check_split(uint64_t cursor, uint64_t end, uint64_t min_split, uint64_t align) {
  TEST_NOTE("cursor %llu, end %llu, min_split %llu, align %llu", (unsigned long long)cursor,
            (unsigned long long)end, (unsigned long long)min_split, (unsigned long long)align);
  uint64_t mid = ferry__plan_split(cursor, end, min_split, align);
  uint64_t rest = end > cursor ? end - cursor : 0;
  if (rest < 2 * min_split) {
    ASSERT_EQ_U64(mid, 0);
    return;
  }
  if (mid == 0) { /* allowed only when no aligned point lies inside the second half */
    ASSERT_LT_U64(rest, 2 * align);
    return;
  }
  ASSERT_GT_U64(mid, cursor);
  ASSERT_LT_U64(mid, end);
  ASSERT_EQ_U64(mid % align, 0);
  ASSERT_GE_U64(mid, cursor + rest / 2); /* the new request takes at most half */
}

void test_plan_split(void) {
  const uint64_t A = 64 * KiB, M = 256 * KiB;
  /* too small to be worth a new request */
  ASSERT_EQ_U64(ferry__plan_split(0, 2 * M - 1, M, A), 0);
  ASSERT_EQ_U64(ferry__plan_split(1000, 1000, M, A), 0);
  ASSERT_EQ_U64(ferry__plan_split(2000, 1000, M, A), 0); /* cursor past end */
  /* exactly twice the minimum: split in the middle */
  ASSERT_EQ_U64(ferry__plan_split(0, 2 * M, M, A), M);
  ASSERT_EQ_U64(ferry__plan_split(0, 8 * MiB, M, A), 4 * MiB);
  /* the middle rounds up to the alignment */
  ASSERT_EQ_U64(ferry__plan_split(3, 3 + 8 * MiB, M, A), 4 * MiB + A);
  ASSERT_EQ_U64(ferry__plan_split(100, 100 + 8 * MiB, M, MiB), 5 * MiB);
  /* rounding would reach `end`: no split */
  ASSERT_EQ_U64(ferry__plan_split(0, A, 1, A), 0);
  ASSERT_EQ_U64(ferry__plan_split(0, A + 10, 1, A), A);
  /* a sweep */
  const uint64_t cursors[] = {0, 1, A - 1, A, 3 * MiB + 17, 1ull << 40};
  const uint64_t rests[] = {0, 1, 2, M - 1, 2 * M - 1, 2 * M, 2 * M + 1, 3 * MiB, 100 * MiB + 3};
  const uint64_t mins[] = {1, 4096, M};
  const uint64_t aligns[] = {1, 4096, A, MiB};
  for (size_t c = 0; c < sizeof(cursors) / sizeof(cursors[0]); c++)
    for (size_t r = 0; r < sizeof(rests) / sizeof(rests[0]); r++)
      for (size_t m = 0; m < sizeof(mins) / sizeof(mins[0]); m++)
        for (size_t a = 0; a < sizeof(aligns) / sizeof(aligns[0]); a++)
          check_split(cursors[c], cursors[c] + rests[r], mins[m], aligns[a]);
}

void test_plan_classify_curl(void) {
  static const struct {
    CURLcode rc;
    int err;
  } map[] = {
      {CURLE_OK, 0},
      {CURLE_COULDNT_RESOLVE_HOST, FERRY_E_RESOLVE},
      {CURLE_COULDNT_RESOLVE_PROXY, FERRY_E_RESOLVE},
      {CURLE_COULDNT_CONNECT, FERRY_E_CONNECT},
      {CURLE_OPERATION_TIMEDOUT, FERRY_E_STALLED},
      {CURLE_PARTIAL_FILE, FERRY_E_RESET},
      {CURLE_RECV_ERROR, FERRY_E_RESET},
      {CURLE_SEND_ERROR, FERRY_E_RESET},
      {CURLE_GOT_NOTHING, FERRY_E_RESET},
      {CURLE_HTTP2, FERRY_E_RESET},
      {CURLE_HTTP2_STREAM, FERRY_E_RESET},
      {CURLE_PEER_FAILED_VERIFICATION, FERRY_E_TLS},
      {CURLE_SSL_CACERT_BADFILE, FERRY_E_TLS},
      {CURLE_SSL_CERTPROBLEM, FERRY_E_TLS},
      {CURLE_SSL_CIPHER, FERRY_E_TLS},
      {CURLE_SSL_ISSUER_ERROR, FERRY_E_TLS},
      {CURLE_SSL_PINNEDPUBKEYNOTMATCH, FERRY_E_TLS},
      {CURLE_SSL_CONNECT_ERROR, FERRY_E_CONNECT},
      {CURLE_WEIRD_SERVER_REPLY, FERRY_E_PROTOCOL},
      {CURLE_BAD_CONTENT_ENCODING, FERRY_E_PROTOCOL},
      {CURLE_UNSUPPORTED_PROTOCOL, FERRY_E_PROTOCOL},
      {CURLE_URL_MALFORMAT, FERRY_E_PROTOCOL},
      {CURLE_OUT_OF_MEMORY, FERRY_E_NOMEM},
      /* anything else is a generic network error */
      {CURLE_ABORTED_BY_CALLBACK, FERRY_E_NETWORK},
      {CURLE_FILESIZE_EXCEEDED, FERRY_E_NETWORK},
      {(CURLcode)9999, FERRY_E_NETWORK},
  };
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
    TEST_NOTE("CURLcode %d (%s)", (int)map[i].rc, curl_easy_strerror(map[i].rc));
    int got = ferry__classify_curl(map[i].rc);
    if (got != map[i].err)
      fprintf(stderr, "got %s, want %s\n", ferry_err_name(got), ferry_err_name(map[i].err));
    ASSERT_EQ_INT(got, map[i].err);
  }
  /* the retry decision that follows from it */
  ASSERT_EQ_INT(ferry_is_retryable(ferry__classify_curl(CURLE_RECV_ERROR)), 1);
  ASSERT_EQ_INT(ferry_is_retryable(ferry__classify_curl(CURLE_OPERATION_TIMEDOUT)), 1);
  ASSERT_EQ_INT(ferry_is_retryable(ferry__classify_curl(CURLE_PEER_FAILED_VERIFICATION)), 0);
}

void test_plan_classify_status(void) {
  static const struct {
    int status, kind, err;
  } map[] = {
      {200, FERRY__X_PROBE, 0},
      {206, FERRY__X_PROBE, 0},
      {200, FERRY__X_RANGE, 0},
      {206, FERRY__X_RANGE, 0},
      {200, FERRY__X_WHOLE, 0},
      {412, FERRY__X_RANGE, FERRY_E_CHANGED}, /* If-Match failed */
      {412, FERRY__X_PROBE, FERRY_E_CHANGED},
      {416, FERRY__X_RANGE, FERRY_E_CHANGED}, /* a range that fit before no longer does */
      {416, FERRY__X_PROBE, FERRY_E_HTTP},    /* the probe asked beyond an unknown size */
      {429, FERRY__X_RANGE, FERRY_E_RATELIMIT},
      {429, FERRY__X_PROBE, FERRY_E_RATELIMIT},
      {408, FERRY__X_RANGE, FERRY_E_HTTP_RETRY},
      {500, FERRY__X_RANGE, FERRY_E_HTTP_RETRY},
      {502, FERRY__X_PROBE, FERRY_E_HTTP_RETRY},
      {503, FERRY__X_RANGE, FERRY_E_HTTP_RETRY},
      {504, FERRY__X_RANGE, FERRY_E_HTTP_RETRY},
      {599, FERRY__X_RANGE, FERRY_E_HTTP_RETRY},
      {404, FERRY__X_RANGE, FERRY_E_HTTP},
      {404, FERRY__X_PROBE, FERRY_E_HTTP},
      {403, FERRY__X_PROBE, FERRY_E_HTTP},
      {401, FERRY__X_PROBE, FERRY_E_HTTP},
      {400, FERRY__X_RANGE, FERRY_E_HTTP},
      {410, FERRY__X_RANGE, FERRY_E_HTTP},
  };
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
    TEST_NOTE("status %d, kind %d", map[i].status, map[i].kind);
    int got = ferry__classify_status(map[i].status, map[i].kind);
    if (got != map[i].err)
      fprintf(stderr, "got %s, want %s\n", ferry_err_name(got), ferry_err_name(map[i].err));
    ASSERT_EQ_INT(got, map[i].err);
  }
  /* what gets retried */
  ASSERT_EQ_INT(ferry_is_retryable(ferry__classify_status(503, FERRY__X_RANGE)), 1);
  ASSERT_EQ_INT(ferry_is_retryable(ferry__classify_status(429, FERRY__X_RANGE)), 1);
  ASSERT_EQ_INT(ferry_is_retryable(ferry__classify_status(404, FERRY__X_RANGE)), 0);
  ASSERT_EQ_INT(ferry_is_retryable(ferry__classify_status(412, FERRY__X_RANGE)), 0);
}

/* The low-speed rule: 1 KiB/s, scaled down under --limit-rate to a quarter of a request's
 * share, never 0 (a 0 limit would never find a trickle). */
void test_plan_low_speed_limit(void) {
  ASSERT_EQ_U64(ferry__low_speed_limit(0, 16), 1024);
  ASSERT_EQ_U64(ferry__low_speed_limit(100u << 20, 16), 1024); /* a cap far above: unchanged */
  ASSERT_EQ_U64(ferry__low_speed_limit(16000, 4), 1000);        /* 4000 B/s per request / 4 */
  ASSERT_EQ_U64(ferry__low_speed_limit(16, 4), 1);
  ASSERT_EQ_U64(ferry__low_speed_limit(1, 0), 1);
}

/* libcurl 7.88's "out of memory" for an oversized header is a protocol error; after the
 * headers (and for every other code) the usual classification holds. */
void test_plan_classify_transfer(void) {
  ASSERT_EQ_INT(ferry__classify_transfer(CURLE_OUT_OF_MEMORY, 0,
                                         "Rejected 1048576 bytes header (max is 102400)!", 0),
                FERRY_E_PROTOCOL);
  /* 7.88 says only "Out of memory": memory left means it was the header */
  ASSERT_EQ_INT(ferry__classify_transfer(CURLE_OUT_OF_MEMORY, 0, "Out of memory", 1),
                FERRY_E_PROTOCOL);
  /* memory that really ran out, before or after the headers */
  ASSERT_EQ_INT(ferry__classify_transfer(CURLE_OUT_OF_MEMORY, 0, "Out of memory", 0),
                FERRY_E_NOMEM);
  ASSERT_EQ_INT(ferry__classify_transfer(CURLE_OUT_OF_MEMORY, 0, NULL, 0), FERRY_E_NOMEM);
  ASSERT_EQ_INT(ferry__classify_transfer(CURLE_OUT_OF_MEMORY, 1, "header", 1), FERRY_E_NOMEM);
  ASSERT_EQ_INT(ferry__classify_transfer(CURLE_PARTIAL_FILE, 0, "", 1), FERRY_E_RESET);
  ASSERT_EQ_INT(ferry__classify_transfer(CURLE_OK, 1, "", 1), 0);
}

void test_plan_handover(void) {
  const uint64_t A = 64 * KiB, M = 256 * KiB;
  /* the slow request keeps its block; the rest moves, from the block's end */
  ASSERT_EQ_U64(ferry__plan_handover(100, MiB, 8 * MiB, M, A), MiB);
  /* an unaligned block end is rounded up; no block open: from the cursor, rounded up */
  ASSERT_EQ_U64(ferry__plan_handover(100, MiB + 5, 8 * MiB, M, A), MiB + A);
  ASSERT_EQ_U64(ferry__plan_handover(3 * MiB + 1, 0, 8 * MiB, M, A), 3 * MiB + A);
  /* too little left to move, or nothing */
  ASSERT_EQ_U64(ferry__plan_handover(100, MiB, MiB + M - 1, M, A), 0);
  ASSERT_EQ_U64(ferry__plan_handover(100, MiB, MiB + M, M, A), MiB);
  ASSERT_EQ_U64(ferry__plan_handover(100, 8 * MiB, 8 * MiB, M, A), 0);
  ASSERT_EQ_U64(ferry__plan_handover(9 * MiB, 0, 8 * MiB, M, A), 0); /* cursor past end */
}

static struct ferry__probe_file probe(int status, int has_cr, int64_t first, int64_t last,
                                      int64_t total, int64_t length, int encoded, int resuming) {
  struct ferry__probe_answer a = {.status = status, .has_cr = has_cr, .encoded = encoded,
                                  .resuming = resuming, .cr = {first, last, total},
                                  .content_length = length, .start = 4 * MiB, .end = 5 * MiB};
  struct ferry__probe_file f;
  ferry__plan_probe(&a, &f);
  return f;
}

void test_plan_probe(void) {
  TEST_NOTE("206 as asked: ranges, the total is the size");
  struct ferry__probe_file f = probe(206, 1, 4 * MiB, 5 * MiB - 1, 9 * MiB, MiB, 0, 0);
  ASSERT_EQ_INT(f.kind, FERRY__PROBE_RANGES);
  ASSERT_EQ_U64(f.size, 9 * MiB);
  ASSERT_EQ_INT(f.size_known, 1);
  ASSERT_EQ_U64(f.end, 5 * MiB);
  TEST_NOTE("206 shorter than asked: the probe's data ends where the server's does");
  f = probe(206, 1, 4 * MiB, 4 * MiB + 99, 4 * MiB + 100, 100, 0, 1);
  ASSERT_EQ_INT(f.kind, FERRY__PROBE_RANGES);
  ASSERT_EQ_U64(f.end, 4 * MiB + 100);
  TEST_NOTE("206 from another offset");
  ASSERT_EQ_INT(probe(206, 1, 0, MiB - 1, 9 * MiB, MiB, 0, 0).kind, FERRY__PROBE_BAD_START);
  TEST_NOTE("206 without a usable Content-Range: missing, malformed, unknown total, encoded");
  ASSERT_EQ_INT(probe(206, 0, 0, 0, 0, MiB, 0, 0).kind, FERRY__PROBE_NO_RANGE);
  ASSERT_EQ_INT(probe(206, -1, 0, 0, 0, MiB, 0, 0).kind, FERRY__PROBE_NO_RANGE);
  ASSERT_EQ_INT(probe(206, 1, 4 * MiB, 5 * MiB - 1, -1, MiB, 0, 0).kind, FERRY__PROBE_NO_RANGE);
  ASSERT_EQ_INT(probe(206, 1, 4 * MiB, 5 * MiB - 1, 9 * MiB, MiB, 1, 0).kind,
                FERRY__PROBE_NO_RANGE);
  TEST_NOTE("416 for an empty file: nothing to fetch");
  f = probe(416, 1, -1, -1, 0, 0, 0, 0);
  ASSERT_EQ_INT(f.kind, FERRY__PROBE_EMPTY);
  ASSERT_EQ_U64(f.size, 0);
  ASSERT_EQ_U64(f.end, 4 * MiB);
  TEST_NOTE("416 otherwise: the file shrank under a journal, or the range is refused");
  ASSERT_EQ_INT(probe(416, 1, -1, -1, 3 * MiB, 0, 0, 1).kind, FERRY__PROBE_SHORTER);
  ASSERT_EQ_INT(probe(416, 0, 0, 0, 0, 0, 0, 0).kind, FERRY__PROBE_UNSATISFIABLE);
  TEST_NOTE("200: one stream, sized by Content-Length unless absent or encoded");
  f = probe(200, 0, 0, 0, 0, 7 * MiB, 0, 0);
  ASSERT_EQ_INT(f.kind, FERRY__PROBE_WHOLE);
  ASSERT_EQ_INT(f.size_known, 1);
  ASSERT_EQ_U64(f.size, 7 * MiB);
  ASSERT_EQ_U64(f.end, 7 * MiB);
  f = probe(200, 0, 0, 0, 0, -1, 0, 0);
  ASSERT_EQ_INT(f.size_known, 0);
  ASSERT_EQ_U64(f.end, FERRY__UNKNOWN);
  f = probe(200, 0, 0, 0, 0, 7 * MiB, 1, 0);
  ASSERT_EQ_INT(f.kind, FERRY__PROBE_WHOLE);
  ASSERT_EQ_INT(f.size_known, 0);
}

void test_plan_validator(void) {
  int is_etag = -1;
  ASSERT_EQ_STR(ferry__plan_validator("\"abc\"", "Tue, 01 Dec 2026 10:00:00 GMT", &is_etag),
                "\"abc\"");
  ASSERT_EQ_INT(is_etag, 1);
  TEST_NOTE("a weak ETag does not name bytes: Last-Modified instead");
  ASSERT_EQ_STR(ferry__plan_validator("W/\"abc\"", "Tue, 01 Dec 2026 10:00:00 GMT", &is_etag),
                "Tue, 01 Dec 2026 10:00:00 GMT");
  ASSERT_EQ_INT(is_etag, 0);
  ASSERT_EQ_STR(ferry__plan_validator("", "", &is_etag), "");
  ASSERT_EQ_INT(is_etag, 0);
}
