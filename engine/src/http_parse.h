/* http_parse: sans-I/O parsing of the response header lines the engine relies on. Every
 * function takes bytes and a length (header values are not NUL-terminated in curl's
 * header callback) and never reads past them. */
#ifndef FERRY_HTTP_PARSE_H
#define FERRY_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Content-Range: bytes FIRST-LAST/TOTAL, where LAST is inclusive; "*" stands for unknown. */
struct ferry__content_range {
  int64_t first; /* -1 for "bytes * /TOTAL" (unsatisfied range) */
  int64_t last;  /* inclusive */
  int64_t total; /* -1 when "*" */
};

/* Returns 0 or -1 when the value is malformed (including LAST < FIRST, LAST >= TOTAL). */
int ferry__parse_content_range(const char *v, size_t len, struct ferry__content_range *out);

/* Retry-After: delta-seconds or an HTTP date (compared with `now`). Returns seconds (>= 0)
 * or -1 when malformed. */
long ferry__parse_retry_after(const char *v, size_t len, time_t now);

/* Status line "HTTP/1.1 206 Partial Content" or "HTTP/2 206". Returns the status or -1. */
int ferry__parse_status_line(const char *line, size_t len);

/* Splits "Name: value\r\n" into name and value with surrounding blanks and CRLF removed.
 * Returns 0, or -1 when the line has no colon (a status line or the blank end line). */
int ferry__split_header(const char *line, size_t len, const char **name, size_t *name_len,
                        const char **value, size_t *value_len);

/* Case-insensitive comparison of a header name with a NUL-terminated lowercase name. */
int ferry__header_is(const char *name, size_t name_len, const char *lower);

/* Parses a decimal from 0 to INT64_MAX (sizes and offsets are off_t) that fills the whole
 * span. Returns 0 or -1. */
int ferry__parse_u64(const char *s, size_t len, uint64_t *out);

/* The origin of a URL, "scheme://host:port" (scheme and host lowercased, the scheme's default
 * port written out), into out: where a token may go (a redirect to another origin drops it)
 * and which connections a warm-up opens. Returns 0, or -1 when the URL does not parse or out
 * is too small. */
#define FERRY__ORIGIN_MAX 512 /* room for an origin */
int ferry__url_origin(const char *url, char *out, size_t cap);

#endif
