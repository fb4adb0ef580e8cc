/* mirror: file bodies from a cluster's cache tier (FERRY_MIRROR; deploy/mirror/README.md).
 *
 * A download asks the Hub which commit a revision is and which files it has, as always; with a
 * mirror, the bodies are first asked of MIRROR/{repo}/resolve/{commit}/{path} (a commit, never
 * a branch: that path names bytes that never change, the right cache key). Every file is
 * verified as always, so an untrusted cache can cost bytes, never a wrong file. What a file's
 * failure on the mirror means is decided here (ferry__hub_mirror_judge, pure): a 404 or another
 * per-file refusal sends that file to the Hub; a mirror that cannot be reached, or fails
 * FERRY__HUB_MIRROR_MAX_FAILURES files, is dropped for the rest of the run; a copy that does not
 * match its hash is purged from the tier (PURGE of each of its slices) and fetched again whole
 * from the Hub. The Hub token never goes to the mirror: the tier has its own secret,
 * FERRY_MIRROR_TOKEN, sent only over HTTPS and only to the mirror's origin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"

int ferry__hub_mirror_init(struct ferry__hub_mirror *m, const char *url, const char *token,
                           const struct ferry__hub_env *env, char *why, size_t why_len) {
  *m = (struct ferry__hub_mirror){0};
  if (!url) url = ferry__hub_env_get(env, "FERRY_MIRROR");
  if (!token) token = ferry__hub_env_get(env, "FERRY_MIRROR_TOKEN");
  if (!url || !*url) return 0;
  char reason[200] = "";
  int err = ferry__hub_endpoint_normalize(url, &m->url, reason, sizeof(reason));
  if (err) return ferry__hub_why(err, why, why_len, "mirror: %s", reason);
  m->shown = ferry_redact_url(m->url);
  if (!m->shown) err = FERRY_E_NOMEM;
  char *clean = NULL;
  if (!err && token) err = ferry__hub_token_clean(token, strlen(token), &clean);
  if (!err && clean && strncmp(m->url, "https://", 8) != 0) {
    err = ferry__hub_why(FERRY_E_INVAL, why, why_len,
                         "FERRY_MIRROR_TOKEN is sent only over HTTPS, and the mirror %s is not "
                         "https://", m->shown);
  } else if (!err && clean) {
    err = ferry__hub_fmt(&m->auth, FERRY__HUB_URL_MAX, "Authorization: Bearer %s", clean);
  }
  free(clean);
  if (err) ferry__hub_mirror_free(m);
  return err;
}

void ferry__hub_mirror_free(struct ferry__hub_mirror *m) {
  free(m->url);
  free(m->shown);
  free(m->auth);
  *m = (struct ferry__hub_mirror){0};
}

int ferry__hub_mirror_active(const struct ferry__hub_mirror *m) { return m->url && !m->dropped; }

enum ferry__hub_mirror_verdict ferry__hub_mirror_judge(struct ferry__hub_mirror *m, int error,
                                                       long http_status) {
  if (!error) return FERRY__MIRROR_OK;
  if (error == FERRY_E_INTERRUPTED || error == FERRY_E_CANCELLED)
    return m->dropped ? FERRY__MIRROR_FALLBACK : FERRY__MIRROR_STOPPED;
  if (error == FERRY_E_CHECKSUM) return FERRY__MIRROR_BAD_COPY;
  /* Local trouble (the disk, memory, another process): the Hub would not do better. */
  if (error == FERRY_E_NOSPC || error == FERRY_E_IO || error == FERRY_E_NOMEM ||
      error == FERRY_E_BUSY)
    return FERRY__MIRROR_LOCAL;
  /* The tier answered, about this file only: it is not there, or not for us. */
  if (http_status == 404 || http_status == 410 || http_status == 403 || http_status == 401)
    return FERRY__MIRROR_FALLBACK;
  /* No answer at all (refused, not resolved, a certificate we do not trust, nothing within
   * the short connect timeout): gone for the rest of the run. */
  if (http_status == 0 && (error == FERRY_E_CONNECT || error == FERRY_E_RESOLVE ||
                           error == FERRY_E_TLS || error == FERRY_E_STALLED ||
                           error == FERRY_E_TIMEOUT)) {
    m->dropped = 1;
    return FERRY__MIRROR_DROP;
  }
  if (++m->failures >= FERRY__HUB_MIRROR_MAX_FAILURES) {
    m->dropped = 1;
    return FERRY__MIRROR_DROP;
  }
  return FERRY__MIRROR_FALLBACK;
}

int ferry__hub_mirror_file_url(const struct ferry__hub_mirror *m, const struct ferry__hub_repo *repo,
                               const char *commit, const char *path, int purge, char **out) {
  char *base = NULL;
  int err = ferry__hub_fmt(&base, FERRY__HUB_URL_MAX, "%s%s", m->url, purge ? "/_purge" : "");
  if (!err) err = ferry__hub_url_resolve(base, repo, commit, path, out);
  free(base);
  return err;
}

uint64_t ferry__hub_mirror_slice(const struct ferry_response *r) {
  char v[32];
  if (ferry_response_header(r, "X-Ferry-Mirror-Slice", v, sizeof(v)) != 0) return 0;
  char *end = NULL;
  unsigned long long n = strtoull(v, &end, 10);
  return end != v && *end == 0 && n >= 4096 ? (uint64_t)n : 0;
}

static int purge_from(struct ferry_engine *api, const char *url, const char *auth,
                      uint64_t start, struct ferry_response *out) {
  char range[64];
  snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)start);
  const char *headers[3] = {range, auth, NULL};
  struct ferry_request req = {.method = "PURGE", .url = url, .headers = headers,
                              .max_body = 64 << 10, .max_retries = 1};
  return ferry_engine_fetch(api, &req, out);
}

int ferry__hub_mirror_purge(const struct ferry__hub_mirror *m, struct ferry_engine *api,
                            const struct ferry__hub_repo *repo, const char *commit,
                            const char *path, uint64_t size, int *purged) {
  *purged = 0;
  char *url = NULL;
  int err = ferry__hub_mirror_file_url(m, repo, commit, path, 1, &url);
  if (err) return err;
  /* The first slice's answer says how large a slice is; then each further slice. A bound on
   * the requests whatever the tier says: a file of 10 GB in 1 MiB slices is 10,000. */
  struct ferry_response r = {0};
  err = purge_from(api, url, m->auth, 0, &r);
  uint64_t slice = err ? 0 : ferry__hub_mirror_slice(&r);
  if (!err && (r.status == 200 || r.status == 404)) *purged += r.status == 200;
  else if (!err) err = FERRY_E_HTTP;
  ferry_response_free(&r);
  for (uint64_t at = slice; !err && slice && at < size && at / slice < 1000000; at += slice) {
    struct ferry_response s = {0};
    err = purge_from(api, url, m->auth, at, &s);
    if (!err && s.status == 200) (*purged)++;
    else if (!err && s.status != 404) err = FERRY_E_HTTP;
    ferry_response_free(&s);
  }
  free(url);
  return err;
}
