/* http_parse: header parsing helpers (see http_parse.h). */
#include "http_parse.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

int ferry__parse_u64(const char *s, size_t len, uint64_t *out) {
  if (len == 0 || len > 19) return -1; /* 19 digits fit in 64 bits; INT64_MAX is checked */
  uint64_t v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (v > (uint64_t)INT64_MAX) return -1; /* sizes and offsets are off_t */
  *out = v;
  return 0;
}

static void trim(const char **s, size_t *len) {
  while (*len && isspace((unsigned char)**s)) (*s)++, (*len)--;
  while (*len && isspace((unsigned char)(*s)[*len - 1])) (*len)--;
}

int ferry__parse_content_range(const char *v, size_t len, struct ferry__content_range *out) {
  trim(&v, &len);
  if (len < 6 || strncasecmp(v, "bytes", 5) != 0) return -1;
  v += 5, len -= 5;
  if (!len || (*v != ' ' && *v != '=')) return -1; /* a few servers write "bytes=" */
  v++, len--;
  trim(&v, &len);
  const char *slash = memchr(v, '/', len);
  if (!slash) return -1;
  const char *tot = slash + 1;
  size_t tot_len = len - (size_t)(tot - v);
  size_t rng_len = (size_t)(slash - v);
  uint64_t first, last, total;
  if (tot_len == 1 && *tot == '*') out->total = -1;
  else if (ferry__parse_u64(tot, tot_len, &total) == 0) out->total = (int64_t)total;
  else return -1;
  if (rng_len == 1 && *v == '*') {
    if (out->total < 0) return -1;
    out->first = out->last = -1;
    return 0;
  }
  const char *dash = memchr(v, '-', rng_len);
  if (!dash) return -1;
  if (ferry__parse_u64(v, (size_t)(dash - v), &first) ||
      ferry__parse_u64(dash + 1, rng_len - (size_t)(dash + 1 - v), &last))
    return -1;
  if (last < first) return -1;
  if (out->total >= 0 && last >= (uint64_t)out->total) return -1;
  out->first = (int64_t)first;
  out->last = (int64_t)last;
  return 0;
}

long ferry__parse_retry_after(const char *v, size_t len, time_t now) {
  trim(&v, &len);
  uint64_t secs;
  if (ferry__parse_u64(v, len, &secs) == 0) return secs > 86400 ? 86400 : (long)secs;
  char date[128];
  if (len == 0 || len >= sizeof(date)) return -1;
  memcpy(date, v, len);
  date[len] = 0;
  time_t t = curl_getdate(date, NULL);
  if (t == -1) return -1;
  return t <= now ? 0 : (long)(t - now > 86400 ? 86400 : t - now);
}

int ferry__parse_status_line(const char *line, size_t len) {
  if (len < 8 || strncmp(line, "HTTP/", 5) != 0) return -1;
  const char *sp = memchr(line, ' ', len);
  if (!sp) return -1;
  size_t rest = len - (size_t)(sp + 1 - line);
  if (rest < 3) return -1;
  const char *d = sp + 1;
  if (!isdigit((unsigned char)d[0]) || !isdigit((unsigned char)d[1]) ||
      !isdigit((unsigned char)d[2]) || (rest > 3 && !isspace((unsigned char)d[3])))
    return -1;
  return (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
}

int ferry__split_header(const char *line, size_t len, const char **name, size_t *name_len,
                        const char **value, size_t *value_len) {
  const char *colon = memchr(line, ':', len);
  if (!colon || colon == line) return -1;
  *name = line;
  *name_len = (size_t)(colon - line);
  *value = colon + 1;
  *value_len = len - (size_t)(colon + 1 - line);
  trim(value, value_len);
  return 0;
}

int ferry__header_is(const char *name, size_t name_len, const char *lower) {
  return strlen(lower) == name_len && strncasecmp(name, lower, name_len) == 0;
}

int ferry__url_origin(const char *url, char *out, size_t cap) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL;
  int ok = u && !curl_url_set(u, CURLUPART_URL, url, 0) &&
           !curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) &&
           !curl_url_get(u, CURLUPART_HOST, &host, 0) &&
           !curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
  if (ok) ok = snprintf(out, cap, "%s://%s:%s", scheme, host, port) < (int)cap;
  if (ok)
    for (char *c = out; *c; c++) *c = (char)tolower((unsigned char)*c);
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return ok ? 0 : -1;
}
