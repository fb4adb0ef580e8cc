/* warmup: the connections a file will use, opened while its probe is out (issue 12).
 *
 * A file's first request (the probe) says what the file is; only then are its ranges planned
 * and sent, and every connection past the probe's starts then: a TCP and a TLS handshake and
 * the request's own round trip before its first byte, three round trips (0.24 s at 80 ms)
 * that the whole level waits for once per origin. Here those connections are opened beside
 * the probe instead: each carries a one-byte ranged GET of the probe's URL (the same method,
 * headers and token as the probe: a signed URL may be valid for GET only), whose answer is
 * dropped, and goes to libcurl's pool, where the file's ranges find it ready.
 *
 * - once per origin (scheme, host, port) in an engine, at the first probe there that warms
 *   any (a small file's does not: the origin stays new for a larger one), and not to an
 *   origin the engine has talked to (its API calls, fetch.c), where connections exist; the
 *   set of origins is bounded (FERRY__WARM_ORIGINS); past it nothing is warmed;
 * - over HTTPS only (what it saves is mostly TLS's handshake), and where the bytes come from:
 *   a Hub resolve URL (ferry_job_spec.url_redirects) is warmed at its redirect's target;
 * - as many as the level's connections less the probe's own, and none when the probe covers
 *   the whole file (its size is known to be that small) or connections are not reused (h2c);
 * - CURLOPT_PIPEWAIT off for them and for the probe they stand beside (only when one opens),
 *   so that libcurl opens a connection for each instead of waiting to learn whether the
 *   probe's multiplexes;
 * - nothing of a warm-up's answer counts: not an error, not a byte of the file (the
 *   summary's requests count it: the server saw it); the ones still out when a run ends are
 *   dropped. */
#include "internal.h"

#include "control.h"
#include "http_parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WARM_TIMEOUT_S 30 /* a warm-up that hangs is dropped; nothing waits for it */

struct ferry__warm {
  int tag; /* FERRY__TAG_WARM */
  struct ferry_engine *e;
  CURL *easy;
  struct curl_slist *hdrs;
  struct ferry__warm *next, *prev;
};

/* Whether origin is one the engine has warmed or talked to. */
static int known(const struct ferry_engine *e, const char *origin) {
  for (int i = 0; i < e->warm.norigins; i++)
    if (!strcmp(e->warm.origins[i], origin)) return 1;
  return 0;
}

/* Records origin as known (1), or 0 when the set is full or memory is out. */
static int remember(struct ferry_engine *e, const char *origin) {
  if (e->warm.norigins == FERRY__WARM_ORIGINS) return 0; /* bounded: past it, nothing is warmed */
  char *copy = strdup(origin);
  if (!copy) return 0;
  e->warm.origins[e->warm.norigins++] = copy;
  return 1;
}

void ferry__warm_seen(struct ferry_engine *e, const char *url) {
  char origin[FERRY__ORIGIN_MAX];
  if (ferry__url_origin(url, origin, sizeof(origin)) == 0 && !known(e, origin))
    (void)remember(e, origin);
}

static size_t drop_body(char *p, size_t size, size_t n, void *user) {
  (void)p;
  (void)user;
  return size * n;
}

static void warm_free(struct ferry__warm *w) {
  struct ferry_engine *e = w->e;
  curl_multi_remove_handle(e->multi, w->easy);
  curl_easy_cleanup(w->easy);
  curl_slist_free_all(w->hdrs);
  if (w->prev) w->prev->next = w->next;
  else e->warm.active = w->next;
  if (w->next) w->next->prev = w->prev;
  e->warm.nactive--;
  free(w);
}

static int warm_one(struct ferry_engine *e, const char *url, const struct curl_slist *headers) {
  struct ferry__warm *w = calloc(1, sizeof(*w));
  if (!w) return -1;
  w->tag = FERRY__TAG_WARM;
  w->e = e;
  w->easy = curl_easy_init();
  int ok = w->easy != NULL;
  for (; ok && headers; headers = headers->next) {
    struct curl_slist *n = curl_slist_append(w->hdrs, headers->data);
    if (!n) ok = 0;
    else w->hdrs = n;
  }
  if (ok) {
    CURL *h = w->easy;
    ferry__easy_common(e, h);
    curl_easy_setopt(h, CURLOPT_PIPEWAIT, 0L); /* a connection of its own, now */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, w->hdrs);
    curl_easy_setopt(h, CURLOPT_RANGE, "0-0");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "identity");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, drop_body);
    curl_easy_setopt(h, CURLOPT_PRIVATE, (char *)w);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)WARM_TIMEOUT_S);
    ok = curl_multi_add_handle(e->multi, h) == CURLM_OK;
  }
  if (!ok) {
    if (w->easy) curl_easy_cleanup(w->easy);
    curl_slist_free_all(w->hdrs);
    free(w);
    return -1;
  }
  w->next = e->warm.active;
  if (w->next) w->next->prev = w;
  e->warm.active = w;
  e->warm.nactive++;
  return 0;
}

int ferry__warm_for_probe(struct ferry_engine *e, const char *url,
                          const struct curl_slist *headers, int64_t expected_size) {
  if (strncasecmp(url, "https:", 6) != 0) return 0; /* what it saves is mostly TLS's round trip */
  char origin[FERRY__ORIGIN_MAX];
  if (ferry__url_origin(url, origin, sizeof(origin)) != 0 || known(e, origin)) return 0;
  int count = ferry__ctl_warm_count(e->conc.conns, !e->cfg.h2c, expected_size, e->chunk);
  /* a small file's probe warms nothing and leaves the origin new: the next, larger file of
   * the same origin still gets its connections ready */
  if (count == 0 || !remember(e, origin)) return 0;
  int opened = 0;
  while (opened < count && warm_one(e, url, headers) == 0) opened++;
  e->st.requests += (uint64_t)opened; /* requests the server sees: the summary counts them */
  if (e->cfg.verbose && opened)
    ferry__log(e, "warm-up: %d connections opened beside the probe (a one-byte range each)",
               opened);
  return opened;
}

void ferry__warm_done(void *priv, CURLcode rc) {
  (void)rc; /* whatever it got: the connection, if it lived, is in libcurl's pool */
  warm_free((struct ferry__warm *)priv);
}

void ferry__warm_drop_all(struct ferry_engine *e) {
  while (e->warm.active) warm_free(e->warm.active);
}

void ferry__warm_free(struct ferry_engine *e) {
  ferry__warm_drop_all(e);
  for (int i = 0; i < e->warm.norigins; i++) free(e->warm.origins[i]);
  e->warm.norigins = 0;
}
