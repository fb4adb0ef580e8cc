/* auth.c: who we are and what the environment asks for (hub-protocol.md §5.5, §8): the token
 * and where it came from, huggingface_hub's boolean environment variables, the endpoint, and
 * the same-origin rule that keeps the token away from every host but the Hub's. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hub.h"

int ferry__hub_env_true(const char *value) {
  if (!value) return 0;
  static const char *const yes[] = {"1", "ON", "YES", "TRUE"};
  for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
    if (strcasecmp(value, yes[i]) == 0) return 1;
  return 0;
}

void ferry__hub_settings_read(const struct ferry__hub_env *env, struct ferry__hub_settings *out) {
  out->offline = ferry__hub_env_true(ferry__hub_env_get(env, "HF_HUB_OFFLINE")) ||
                 ferry__hub_env_true(ferry__hub_env_get(env, "TRANSFORMERS_OFFLINE"));
  const char *bars = ferry__hub_env_get(env, "HF_HUB_DISABLE_PROGRESS_BARS");
  out->disable_progress_bars = bars ? ferry__hub_env_true(bars) : -1; /* _is_true_or_none */
  out->disable_symlinks = ferry__hub_env_true(ferry__hub_env_get(env, "HF_HUB_DISABLE_SYMLINKS"));
  out->disable_implicit_token =
      ferry__hub_env_true(ferry__hub_env_get(env, "HF_HUB_DISABLE_IMPLICIT_TOKEN"));
}

int ferry__hub_endpoint(const struct ferry__hub_env *env, char **out, char *why, size_t why_len) {
  const char *e = ferry__hub_env_get(env, "HF_ENDPOINT");
  return ferry__hub_endpoint_normalize(e && *e ? e : "https://huggingface.co", out, why, why_len);
}

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int ferry__hub_token_clean(const char *s, size_t len, char **out) {
  *out = NULL;
  char *t = malloc(len + 1);
  if (!t) return FERRY_E_NOMEM;
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (s[i] != '\r' && s[i] != '\n') t[n++] = s[i];
  size_t start = 0;
  while (start < n && is_space(t[start])) start++;
  while (n > start && is_space(t[n - 1])) n--;
  if (n == start) {
    free(t);
    return 0;
  }
  memmove(t, t + start, n - start);
  t[n - start] = 0;
  *out = t;
  return 0;
}

int ferry__hub_token_path(const struct ferry__hub_env *env, char **out) {
  *out = NULL;
  const char *p = ferry__hub_env_get(env, "HF_TOKEN_PATH");
  if (p && *p) return ferry__hub_expand_path(env, p, out);
  char *home = NULL;
  int r = ferry__hub_home(env, &home);
  if (!r) r = ferry__hub_fmt(out, FERRY__HUB_PATH_MAX, "%s/token", home);
  free(home);
  return r;
}

int ferry__hub_token_from_file(const struct ferry__hub_env *env, char **out) {
  *out = NULL;
  char *path = NULL;
  int r = ferry__hub_token_path(env, &path);
  if (r) return r;
  char *text = NULL;
  size_t len;
  int found = 0;
  r = ferry__read_small(path, FERRY__HUB_SMALL_FILE_MAX, &text, &len, &found);
  free(path);
  if (r == FERRY_E_PROTOCOL) return 0; /* far too large to be a token: ignore it */
  if (!r && found) r = ferry__hub_token_clean(text, len, out);
  if (text) memset(text, 0, len);
  free(text);
  return r;
}

int ferry__hub_token_from_env(const struct ferry__hub_env *env, char **out) {
  *out = NULL;
  /* os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN"): an empty HF_TOKEN
   * falls through to the legacy name; a blank one cleans to nothing. */
  const char *v = ferry__hub_env_get(env, "HF_TOKEN");
  if (!v || !*v) v = ferry__hub_env_get(env, "HUGGING_FACE_HUB_TOKEN");
  if (!v || !*v) return 0;
  if (strlen(v) > FERRY__HUB_SMALL_FILE_MAX) return FERRY_E_INVAL;
  return ferry__hub_token_clean(v, strlen(v), out);
}

int ferry__hub_token_resolve(const struct ferry__hub_env *env, const char *explicit_token,
                             char **out, enum ferry__hub_token_source *source) {
  *out = NULL;
  *source = FERRY__HUB_TOKEN_NONE;
  int r;
  if (explicit_token) {
    r = ferry__hub_token_clean(explicit_token, strlen(explicit_token), out);
    if (!r && *out) *source = FERRY__HUB_TOKEN_EXPLICIT;
    return r;
  }
  if (ferry__hub_env_true(ferry__hub_env_get(env, "HF_HUB_DISABLE_IMPLICIT_TOKEN"))) return 0;
  r = ferry__hub_token_from_env(env, out);
  if (r || *out) {
    if (*out) *source = FERRY__HUB_TOKEN_ENV;
    return r;
  }
  r = ferry__hub_token_from_file(env, out);
  if (!r && *out) *source = FERRY__HUB_TOKEN_FILE;
  return r;
}

/* scheme, host and port (with the scheme's default) of url; 0 or -1. */
static int origin(const char *url, char **scheme, char **host, char **port) {
  *scheme = *host = *port = NULL;
  CURLU *u = curl_url();
  if (!u) return -1;
  int ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) == CURLUE_OK;
  curl_url_cleanup(u);
  if (!ok) {
    curl_free(*scheme);
    curl_free(*host);
    curl_free(*port);
    *scheme = *host = *port = NULL;
    return -1;
  }
  return 0;
}

int ferry__hub_same_origin(const char *url_a, const char *url_b) {
  if (!url_a || !url_b) return 0;
  char *sa, *ha, *pa, *sb, *hb, *pb;
  if (origin(url_a, &sa, &ha, &pa) != 0) return 0;
  if (origin(url_b, &sb, &hb, &pb) != 0) {
    curl_free(sa), curl_free(ha), curl_free(pa);
    return 0;
  }
  int same = strcasecmp(sa, sb) == 0 && strcasecmp(ha, hb) == 0 && strcmp(pa, pb) == 0;
  curl_free(sa), curl_free(ha), curl_free(pa);
  curl_free(sb), curl_free(hb), curl_free(pb);
  return same;
}
