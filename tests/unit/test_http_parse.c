/* Unit tests for engine/src/http_parse.h: Content-Range, Retry-After, status lines, header
 * lines and the decimal parser. Every input is copied into a buffer of exactly its length
 * with no terminating NUL, so a parser that reads past `len` is caught by ASan. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assert.h"
#include "http_parse.h"

/* An exact-length heap copy of `s` without its NUL. */
static char *span(const char *s, size_t *len) {
  *len = strlen(s);
  char *p = malloc(*len ? *len : 1);
  ASSERT_NOT_NULL(p);
  memcpy(p, s, *len);
  return p;
}

static int content_range(const char *s, struct ferry__content_range *out) {
  size_t len;
  char *p = span(s, &len);
  out->first = out->last = out->total = 12345; /* so a field left unset shows */
  int r = ferry__parse_content_range(p, len, out);
  free(p);
  return r;
}

static void expect_range(const char *s, int64_t first, int64_t last, int64_t total) {
  struct ferry__content_range cr;
  TEST_NOTE("Content-Range \"%s\"", s);
  ASSERT_EQ_INT(content_range(s, &cr), 0);
  ASSERT_EQ_INT(cr.first, first);
  ASSERT_EQ_INT(cr.last, last);
  ASSERT_EQ_INT(cr.total, total);
}

static void expect_bad_range(const char *s) {
  struct ferry__content_range cr;
  TEST_NOTE("Content-Range \"%s\"", s);
  int r = content_range(s, &cr);
  if (r == 0)
    ferry_unit_fail(__FILE__, __LINE__,
                    "\"%s\" accepted as first=%lld last=%lld total=%lld, expected -1", s,
                    (long long)cr.first, (long long)cr.last, (long long)cr.total);
  ASSERT_EQ_INT(r, -1);
}

void test_http_content_range_valid(void) {
  expect_range("bytes 0-99/100", 0, 99, 100);
  expect_range("bytes 100-199/1000", 100, 199, 1000);
  expect_range("bytes 0-0/1", 0, 0, 1);
  expect_range("bytes 999-999/1000", 999, 999, 1000);
  expect_range("bytes 5-9/*", 5, 9, -1);
  expect_range("bytes 0-9223372036854775806/9223372036854775807", 0, INT64_MAX - 1, INT64_MAX);
  expect_range("bytes 0000-0009/0010", 0, 9, 10); /* leading zeros are still decimal */
  expect_range("Bytes 0-1/2", 0, 1, 2);           /* the range unit is case-insensitive */
}

void test_http_content_range_unsatisfied(void) {
  expect_range("bytes */1000", -1, -1, 1000);
  expect_range("bytes */0", -1, -1, 0);
  expect_bad_range("bytes */*"); /* neither the range nor the size: nothing usable */
  expect_bad_range("bytes */");
  expect_bad_range("bytes **/10");
}

void test_http_content_range_whitespace(void) {
  expect_range("  bytes 0-9/10  ", 0, 9, 10);
  expect_range("\tbytes 0-9/10\r\n", 0, 9, 10);
  expect_range("bytes    0-9/10", 0, 9, 10);
  expect_range("bytes 0-9/10\r\n", 0, 9, 10);
  expect_range("bytes=0-9/10", 0, 9, 10); /* a few servers write "bytes=" */
  expect_range("bytes=*/10", -1, -1, 10);

  /* The value ends at `len`: what follows in memory is not part of it. */
  const char text[] = "bytes 0-9/10999";
  struct ferry__content_range cr;
  TEST_NOTE("first 12 bytes of \"%s\"", text);
  char *p = malloc(12);
  memcpy(p, text, 12);
  ASSERT_EQ_INT(ferry__parse_content_range(p, 12, &cr), 0);
  ASSERT_EQ_INT(cr.total, 10);
  free(p);
}

void test_http_content_range_malformed(void) {
  static const char *bad[] = {
      "", " ", "bytes", "bytes ", "bytes=", "bits 0-1/2", "bytesx 0-1/2", "bytes0-1/2",
      "byte 0-1/2",
      /* missing parts */
      "bytes 0-9", "bytes 0-9/", "bytes 0-/10", "bytes -9/10", "bytes -/10", "bytes /10",
      "bytes 9/10", "bytes 0-9 10",
      /* non-digits */
      "bytes a-9/10", "bytes 0-9b/10", "bytes 0-9/1x", "bytes 0-9/x", "bytes +0-9/10",
      "bytes 0-+9/10", "bytes 0-9/+10", "bytes 0-9/-10", "bytes 0--9/10", "bytes 0-9/10/11",
      "bytes 0x0-0x9/10", "bytes 0.0-9/10",
      /* order and bounds */
      "bytes 9-0/10", "bytes 5-4/10", "bytes 0-10/10", "bytes 5-5/5", "bytes 0-0/0",
      "bytes 10-19/10",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) expect_bad_range(bad[i]);
}

/* Numbers that do not fit the int64_t fields must be refused, never wrapped negative. */
void test_http_content_range_overflow(void) {
  expect_bad_range("bytes 0-1/18446744073709551616");          /* 2^64 */
  expect_bad_range("bytes 0-1/99999999999999999999");          /* 20 digits */
  expect_bad_range("bytes 0-99999999999999999999/*");
  expect_bad_range("bytes 99999999999999999999-99999999999999999999/*");
  /* 19 digits, above INT64_MAX but within uint64_t */
  expect_bad_range("bytes 0-1/9999999999999999999");
  expect_bad_range("bytes 0-1/9223372036854775808");           /* INT64_MAX + 1 */
  expect_bad_range("bytes 0-9223372036854775808/*");
  expect_bad_range("bytes 9223372036854775808-9223372036854775809/*");
  expect_bad_range("bytes */9999999999999999999");
}

static long retry_after(const char *s, time_t now) {
  size_t len;
  char *p = span(s, &len);
  long r = ferry__parse_retry_after(p, len, now);
  free(p);
  return r;
}

void test_http_retry_after_seconds(void) {
  ASSERT_EQ_INT(retry_after("120", 0), 120);
  ASSERT_EQ_INT(retry_after("0", 0), 0);
  ASSERT_EQ_INT(retry_after("1", 1700000000), 1);
  ASSERT_EQ_INT(retry_after(" 7 \r\n", 0), 7);
  ASSERT_EQ_INT(retry_after("\t30", 0), 30);
  ASSERT_EQ_INT(retry_after("007", 0), 7);
  /* a very long wait is still a wait, not an error */
  ASSERT_GT_INT(retry_after("99999999999", 0), 0);
}

void test_http_retry_after_date(void) {
  const time_t t = 1445412480; /* Wed, 21 Oct 2015 07:28:00 GMT */
  ASSERT_EQ_INT(retry_after("Wed, 21 Oct 2015 07:28:00 GMT", t - 30), 30);
  ASSERT_EQ_INT(retry_after("Wed, 21 Oct 2015 07:28:00 GMT", t - 1), 1);
  ASSERT_EQ_INT(retry_after("Wed, 21 Oct 2015 07:28:00 GMT", t), 0);
  ASSERT_EQ_INT(retry_after("Wed, 21 Oct 2015 07:28:00 GMT", t + 100), 0); /* in the past */
  ASSERT_EQ_INT(retry_after(" Wed, 21 Oct 2015 07:28:00 GMT\r\n", t - 5), 5);
  /* the two obsolete forms HTTP still allows */
  const time_t u = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
  ASSERT_EQ_INT(retry_after("Sunday, 06-Nov-94 08:49:37 GMT", u - 5), 5);
  ASSERT_EQ_INT(retry_after("Sun Nov  6 08:49:37 1994", u - 60), 60);
}

void test_http_retry_after_garbage(void) {
  static const char *bad[] = {"", "   ", "soon", "-5", "+5", "1.5", "5s", "12 34", "0x10",
                              "tomorrow", "GMT", "Wed, 99 Foo 2015"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    TEST_NOTE("Retry-After \"%s\"", bad[i]);
    ASSERT_EQ_INT(retry_after(bad[i], 1445412480), -1);
  }
  char longer[300];
  memset(longer, 'x', sizeof(longer) - 1);
  longer[sizeof(longer) - 1] = 0;
  TEST_NOTE("Retry-After of 299 'x'");
  ASSERT_EQ_INT(retry_after(longer, 0), -1);
}

static int status_line(const char *s) {
  size_t len;
  char *p = span(s, &len);
  int r = ferry__parse_status_line(p, len);
  free(p);
  return r;
}

void test_http_status_line(void) {
  ASSERT_EQ_INT(status_line("HTTP/1.1 206 Partial Content"), 206);
  ASSERT_EQ_INT(status_line("HTTP/1.1 200 OK\r\n"), 200);
  ASSERT_EQ_INT(status_line("HTTP/1.0 503 Service Unavailable\r\n"), 503);
  ASSERT_EQ_INT(status_line("HTTP/1.1 404 "), 404);
  ASSERT_EQ_INT(status_line("HTTP/2 200"), 200);
  ASSERT_EQ_INT(status_line("HTTP/2 416\r\n"), 416);
  ASSERT_EQ_INT(status_line("HTTP/2 302 \r\n"), 302);

  static const char *bad[] = {"", "HTTP/1.1", "HTTP/1.1 ", "HTTP/2", "HTTP/2 20", "HTTP/1.1 20",
                              "HTTP/1.1 2000", "HTTP/1.1 20x", "HTTP/1.1 abc OK", "FTP/1.1 200",
                              "http/1.1 200 OK", "HTTP/1.1  200 OK", "Content-Length: 200",
                              "\r\n", "HTTP/1.1200 OK"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    TEST_NOTE("status line \"%s\"", bad[i]);
    ASSERT_EQ_INT(status_line(bad[i]), -1);
  }
}

static void expect_header(const char *line, const char *name, const char *value) {
  size_t len;
  char *p = span(line, &len);
  const char *n = NULL, *v = NULL;
  size_t nl = 0, vl = 0;
  TEST_NOTE("header line \"%s\"", line);
  ASSERT_EQ_INT(ferry__split_header(p, len, &n, &nl, &v, &vl), 0);
  ASSERT_EQ_SPAN(n, nl, name);
  ASSERT_EQ_SPAN(v, vl, value);
  free(p);
}

static void expect_not_header(const char *line) {
  size_t len;
  char *p = span(line, &len);
  const char *n, *v;
  size_t nl, vl;
  TEST_NOTE("header line \"%s\"", line);
  ASSERT_EQ_INT(ferry__split_header(p, len, &n, &nl, &v, &vl), -1);
  free(p);
}

void test_http_split_header(void) {
  expect_header("Content-Length: 5\r\n", "Content-Length", "5");
  expect_header("Content-Length:5", "Content-Length", "5");
  expect_header("ETag:\t\"abc\" \t\r\n", "ETag", "\"abc\"");
  expect_header("Location: http://h:8080/x?a=b\r\n", "Location", "http://h:8080/x?a=b");
  expect_header("X-Empty:\r\n", "X-Empty", "");
  expect_header("X-Blank:    \r\n", "X-Blank", "");
  expect_header("Content-Range: bytes 0-9/10\n", "Content-Range", "bytes 0-9/10");
  expect_header("X-Inner: a  b\r\n", "X-Inner", "a  b");

  expect_not_header("HTTP/1.1 200 OK\r\n");
  expect_not_header("\r\n");
  expect_not_header("\n");
  expect_not_header("");
  expect_not_header(": no name\r\n");
  expect_not_header("no colon at all");

  /* `len` ends the line even when a colon follows in memory */
  const char text[] = "NoColon:x";
  const char *n, *v;
  size_t nl, vl;
  TEST_NOTE("first 7 bytes of \"%s\"", text);
  ASSERT_EQ_INT(ferry__split_header(text, 7, &n, &nl, &v, &vl), -1);
}

void test_http_header_is(void) {
  static const char name[] = "Content-Range";
  ASSERT_EQ_INT(ferry__header_is(name, 13, "content-range"), 1);
  ASSERT_EQ_INT(ferry__header_is("CONTENT-RANGE", 13, "content-range"), 1);
  ASSERT_EQ_INT(ferry__header_is("content-range", 13, "content-range"), 1);
  ASSERT_EQ_INT(ferry__header_is(name, 12, "content-range"), 0);
  ASSERT_EQ_INT(ferry__header_is("Content-Ranges", 14, "content-range"), 0);
  ASSERT_EQ_INT(ferry__header_is("Content-Length", 14, "content-range"), 0);
  ASSERT_EQ_INT(ferry__header_is("", 0, "etag"), 0);
}

static void expect_u64(const char *s, uint64_t want) {
  size_t len;
  char *p = span(s, &len);
  uint64_t got = 0;
  TEST_NOTE("decimal \"%s\"", s);
  ASSERT_EQ_INT(ferry__parse_u64(p, len, &got), 0);
  ASSERT_EQ_U64(got, want);
  free(p);
}

static void expect_u64_bad(const char *s) {
  size_t len;
  char *p = span(s, &len);
  uint64_t got = 0;
  TEST_NOTE("decimal \"%s\"", s);
  ASSERT_EQ_INT(ferry__parse_u64(p, len, &got), -1);
  free(p);
}

/* A value the parser accepts must be exact; it may refuse what it cannot promise to hold. */
static void expect_u64_exact_or_refused(const char *s, uint64_t exact) {
  size_t len;
  char *p = span(s, &len);
  uint64_t got = 0;
  TEST_NOTE("decimal \"%s\"", s);
  if (ferry__parse_u64(p, len, &got) == 0) ASSERT_EQ_U64(got, exact);
  free(p);
}

void test_http_parse_u64(void) {
  expect_u64("0", 0);
  expect_u64("7", 7);
  expect_u64("007", 7);
  expect_u64("1234567890", 1234567890u);
  expect_u64("9223372036854775807", (uint64_t)INT64_MAX);
  expect_u64_bad("9999999999999999999"); /* 19 digits, above INT64_MAX: refused */
  expect_u64_bad("9223372036854775808"); /* INT64_MAX + 1 */
  expect_u64_exact_or_refused("18446744073709551615", UINT64_MAX);
  expect_u64_exact_or_refused("0000000000000000000001", 1);
  /* past 2^64 - 1 there is no exact answer: refused, never wrapped */
  expect_u64_bad("18446744073709551616");
  expect_u64_bad("99999999999999999999");
  expect_u64_bad("123456789012345678901234567890");
  /* the digits must fill the whole span */
  static const char *bad[] = {"", " ", "-1", "+1", " 1", "1 ", "1a", "a1", "1.0", "0x1", "1_000",
                              "\r\n"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) expect_u64_bad(bad[i]);
  /* `len` bounds the span: digits after it are not read */
  uint64_t got = 0;
  TEST_NOTE("first 2 bytes of \"129\"");
  ASSERT_EQ_INT(ferry__parse_u64("129", 2, &got), 0);
  ASSERT_EQ_U64(got, 12);
}

static void expect_origin(const char *url, const char *want) {
  char out[128];
  ASSERT_EQ_INT(ferry__url_origin(url, out, sizeof(out)), 0);
  ASSERT_EQ_STR(out, want);
}

void test_http_url_origin(void) {
  TEST_NOTE("the scheme's default port written out; path, query and fragment dropped");
  expect_origin("https://cdn.example/lfs/abc?x=1#f", "https://cdn.example:443");
  expect_origin("http://cdn.example/x", "http://cdn.example:80");
  expect_origin("https://cdn.example:8443/x", "https://cdn.example:8443");
  TEST_NOTE("scheme and host in any case are one origin");
  expect_origin("HTTPS://CDN.Example/x", "https://cdn.example:443");
  TEST_NOTE("user info is not part of it; IPv6 keeps its brackets");
  expect_origin("https://user:pw@hub.example/x", "https://hub.example:443");
  expect_origin("https://[::1]:9/x", "https://[::1]:9");
  TEST_NOTE("what does not parse, or does not fit");
  char out[128];
  ASSERT_EQ_INT(ferry__url_origin("not a url", out, sizeof(out)), -1);
  ASSERT_EQ_INT(ferry__url_origin("https://", out, sizeof(out)), -1);
  ASSERT_EQ_INT(ferry__url_origin("https://cdn.example/x", out, 10), -1);
}
