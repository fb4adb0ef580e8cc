/* repo.c: repo ids, repo types and revisions, and the Hub URLs built from them
 * (hub-protocol.md §2.1, §4.1, §7.3, §7.4). Nothing here touches the network. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hub.h"

static const char *const type_names[] = {"model", "dataset", "space"};
static const char *const type_plurals[] = {"models", "datasets", "spaces"};
static const char *const type_prefixes[] = {"", "datasets/", "spaces/"};

static int type_ok(enum ferry__hub_repo_type t) { return t >= FERRY__HUB_MODEL && t <= FERRY__HUB_SPACE; }

const char *ferry__hub_repo_type_name(enum ferry__hub_repo_type t) {
  return type_ok(t) ? type_names[t] : "unknown";
}
const char *ferry__hub_repo_type_plural(enum ferry__hub_repo_type t) {
  return type_ok(t) ? type_plurals[t] : "unknown";
}
const char *ferry__hub_repo_url_prefix(enum ferry__hub_repo_type t) {
  return type_ok(t) ? type_prefixes[t] : "";
}

int ferry__hub_repo_type_parse(const char *s, enum ferry__hub_repo_type *out, char *why,
                               size_t why_len) {
  for (int t = 0; s && t < 3; t++)
    if (strcmp(s, type_names[t]) == 0) {
      *out = (enum ferry__hub_repo_type)t;
      return 0;
    }
  return ferry__hub_why(FERRY_E_INVAL, why, why_len,
                        "invalid repo type '%s': expected model, dataset or space", s ? s : "");
}

static int is_word(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* One part of a repo id: [\w\-.]+ between word boundaries, i.e. it starts and ends with a
 * word character (ASCII, as huggingface_hub's REPO_ID_REGEX with re.ASCII). */
static int part_ok(const char *p, size_t n) {
  if (n == 0 || !is_word(p[0]) || !is_word(p[n - 1])) return 0;
  for (size_t i = 0; i < n; i++)
    if (!is_word(p[i]) && p[i] != '-' && p[i] != '.') return 0;
  return 1;
}

int ferry__hub_repo_id_validate(const char *id, char *why, size_t why_len) {
  if (!id || !*id) return ferry__hub_why(FERRY_E_INVAL, why, why_len, "empty repo id");
  size_t len = strlen(id);
  if (len > FERRY__HUB_REPO_ID_MAX)
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "repo id is too long (%zu bytes)", len);
  const char *slash = strchr(id, '/');
  if (slash && strchr(slash + 1, '/'))
    return ferry__hub_why(FERRY_E_INVAL, why, why_len,
                          "repo id must be 'name' or 'namespace/name': '%s' (use --repo-type "
                          "for datasets and spaces)",
                          id);
  const char *name = slash ? slash + 1 : id;
  size_t name_len = strlen(name);
  if ((slash && !part_ok(id, (size_t)(slash - id))) || !part_ok(name, name_len) ||
      name_len > 96)
    return ferry__hub_why(FERRY_E_INVAL, why, why_len,
                          "repo id must use letters, digits, '-', '_' or '.', cannot start or "
                          "end with '-' or '.', and the name is at most 96 characters: '%s'",
                          id);
  if (strstr(id, "--") || strstr(id, ".."))
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "repo id cannot contain '--' or '..': '%s'",
                          id);
  if (len >= 4 && strcmp(id + len - 4, ".git") == 0)
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "repo id cannot end in '.git': '%s'", id);
  return 0;
}

int ferry__hub_repo_parse(const char *arg, const char *type_opt, struct ferry__hub_repo *out,
                          char *why, size_t why_len) {
  if (!arg) arg = "";
  int prefix_type = -1;
  const char *rest = arg;
  for (int t = 0; t < 3; t++) {
    size_t n = strlen(type_plurals[t]);
    if (strncmp(arg, type_plurals[t], n) == 0 && arg[n] == '/' && arg[n + 1]) {
      prefix_type = t;
      rest = arg + n + 1;
      break;
    }
  }
  enum ferry__hub_repo_type type = FERRY__HUB_MODEL;
  if (type_opt) {
    int r = ferry__hub_repo_type_parse(type_opt, &type, why, why_len);
    if (r) return r;
    if (prefix_type >= 0 && (int)type != prefix_type)
      return ferry__hub_why(FERRY_E_INVAL, why, why_len,
                            "'%s' names a %s but --repo-type is %s", arg,
                            type_names[prefix_type], type_opt);
  }
  if (prefix_type >= 0) type = (enum ferry__hub_repo_type)prefix_type;
  int r = ferry__hub_repo_id_validate(rest, why, why_len);
  if (r) return r;
  out->type = type;
  memcpy(out->id, rest, strlen(rest) + 1);
  return 0;
}

/* ---- hf:// URIs ------------------------------------------------------------------------- */

#define URI_SCHEME "hf://"

int ferry_hub_uri_is(const char *s) { return s && strncmp(s, URI_SCHEME, 5) == 0; }

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The length of a revision at the start of s that keeps its '/': refs/pr/<digits> or
 * refs/convert/<letters, digits, '_', '-', '.'>; 0 when s starts with neither. */
static size_t slashed_ref(const char *s) {
  size_t n = 0;
  if (!strncmp(s, "refs/pr/", 8)) {
    n = 8;
    while (s[n] >= '0' && s[n] <= '9') n++;
    return n > 8 ? n : 0;
  }
  if (!strncmp(s, "refs/convert/", 13)) {
    n = 13;
    while (is_word(s[n]) || s[n] == '-' || s[n] == '.') n++;
    return n > 13 ? n : 0;
  }
  return 0;
}

int ferry_hub_uri_parse(const char *uri, struct ferry_hub_uri *out, char *why, size_t why_len) {
  memset(out, 0, sizeof(*out));
  if (!ferry_hub_uri_is(uri))
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "'%s' is not an hf:// URI", uri ? uri : "");
  const char *body = uri + 5;
  while (*body == '/') body++;
  /* The type: a plural prefix, or none for a model. */
  enum ferry__hub_repo_type type = FERRY__HUB_MODEL;
  static const char *const refused[] = {"buckets", "kernels"};
  static const char *const singular[] = {"model", "dataset", "space", "bucket", "kernel"};
  const char *slash = strchr(body, '/');
  size_t first = slash ? (size_t)(slash - body) : strlen(body);
  for (int t = 0; t < 3; t++)
    if (first == strlen(type_plurals[t]) && !strncmp(body, type_plurals[t], first)) {
      type = (enum ferry__hub_repo_type)t;
      body += first + (slash ? 1 : 0);
      first = 0;
      break;
    }
  for (int i = 0; first && i < 2; i++)
    if (first == strlen(refused[i]) && !strncmp(body, refused[i], first))
      return ferry__hub_why(FERRY_E_INVAL, why, why_len,
                            "'%s': %s are not repositories ferry handles (models, datasets, "
                            "spaces)", uri, refused[i]);
  for (int i = 0; first && slash && i < 5; i++)
    if (first == strlen(singular[i]) && !strncmp(body, singular[i], first))
      return ferry__hub_why(FERRY_E_INVAL, why, why_len,
                            "'%s': the type is written in the plural ('%ss/')", uri, singular[i]);
  /* namespace/name, then @revision, then /path. An '@' after a second '/' is in the path. */
  const char *ns_end = strchr(body, '/');
  const char *name_end = ns_end ? ns_end + 1 + strcspn(ns_end + 1, "/@") : NULL;
  if (!ns_end || ns_end == body || !name_end || name_end == ns_end + 1)
    return ferry__hub_why(FERRY_E_INVAL, why, why_len,
                          "'%s': a repository is hf://[datasets/|spaces/]NAMESPACE/NAME", uri);
  char id[FERRY__HUB_REPO_ID_MAX + 1];
  size_t idlen = (size_t)(name_end - body);
  if (idlen > FERRY__HUB_REPO_ID_MAX)
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "'%s': the repo id is too long", uri);
  memcpy(id, body, idlen);
  id[idlen] = 0;
  int r = ferry__hub_repo_id_validate(id, why, why_len);
  if (r) return r;
  const char *rest = name_end;
  if (*rest == '@') {
    rest++;
    size_t n = slashed_ref(rest);
    if (!n) n = strcspn(rest, "/");
    size_t o = 0;
    for (size_t i = 0; i < n; i++) { /* %XX decoded: a '/' in a branch name is written %2F */
      int hi = rest[i] == '%' && i + 2 < n ? hexval(rest[i + 1]) : -1;
      int lo = hi >= 0 ? hexval(rest[i + 2]) : -1;
      if (o + 1 >= sizeof(out->revision))
        return ferry__hub_why(FERRY_E_INVAL, why, why_len, "'%s': the revision is too long", uri);
      if (lo >= 0) {
        out->revision[o++] = (char)(hi * 16 + lo);
        i += 2;
      } else {
        out->revision[o++] = rest[i];
      }
    }
    out->revision[o] = 0;
    if (!o) return ferry__hub_why(FERRY_E_INVAL, why, why_len, "'%s': empty revision after '@'", uri);
    if ((r = ferry__hub_revision_validate(out->revision, why, why_len))) return r;
    rest += n;
  }
  while (*rest == '/') rest++;
  if (strlen(rest) >= sizeof(out->path))
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "'%s': the path is too long", uri);
  if (strstr(rest, "//"))
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "'%s': the path has an empty part", uri);
  snprintf(out->path, sizeof(out->path), "%s", rest);
  snprintf(out->repo_id, sizeof(out->repo_id), "%s%s", type_prefixes[type], id);
  snprintf(out->repo_type, sizeof(out->repo_type), "%s", type_names[type]);
  return 0;
}

int ferry__hub_revision_validate(const char *rev, char *why, size_t why_len) {
  if (!rev || !*rev) return ferry__hub_why(FERRY_E_INVAL, why, why_len, "empty revision");
  size_t len = strlen(rev);
  if (len > 255) return ferry__hub_why(FERRY_E_INVAL, why, why_len, "revision is too long");
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)rev[i];
    if (c < 0x20 || c == 0x7f || c == '\\')
      return ferry__hub_why(FERRY_E_INVAL, why, why_len,
                            "revision contains a control character or a backslash");
  }
  const char *seg = rev;
  for (;;) {
    const char *end = strchr(seg, '/');
    size_t n = end ? (size_t)(end - seg) : strlen(seg);
    if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
      return ferry__hub_why(FERRY_E_INVAL, why, why_len,
                            "revision '%s' has an empty, '.' or '..' part", rev);
    if (!end) break;
    seg = end + 1;
  }
  return 0;
}

int ferry__hub_is_commit(const char *rev) {
  if (!rev) return 0;
  size_t i = 0;
  for (; rev[i]; i++)
    if (!((rev[i] >= '0' && rev[i] <= '9') || (rev[i] >= 'a' && rev[i] <= 'f'))) return 0;
  return i == 40;
}

int ferry__hub_endpoint_normalize(const char *endpoint, char **out, char *why, size_t why_len) {
  *out = NULL;
  if (!endpoint || !*endpoint)
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "empty endpoint");
  size_t len = strlen(endpoint);
  if (len >= FERRY__HUB_URL_MAX / 2)
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "endpoint is too long");
  while (len > 0 && endpoint[len - 1] == '/') len--;
  CURLU *u = curl_url();
  if (!u) return FERRY_E_NOMEM;
  char *copy = malloc(len + 1);
  if (!copy) {
    curl_url_cleanup(u);
    return FERRY_E_NOMEM;
  }
  memcpy(copy, endpoint, len);
  copy[len] = 0;
  int r = 0;
  char *scheme = NULL, *host = NULL, *query = NULL, *frag = NULL;
  if (curl_url_set(u, CURLUPART_URL, copy, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) {
    r = ferry__hub_why(FERRY_E_INVAL, why, why_len, "endpoint '%s' is not a URL", endpoint);
  } else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
    r = ferry__hub_why(FERRY_E_INVAL, why, why_len, "endpoint '%s' is not http or https",
                       endpoint);
  } else if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
             curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK) {
    r = ferry__hub_why(FERRY_E_INVAL, why, why_len,
                       "endpoint '%s' has a query or fragment", endpoint);
  } else if (strncasecmp(copy, scheme, strlen(scheme)) != 0 ||
             strncmp(copy + strlen(scheme), "://", 3) != 0) {
    /* curl guessed or added a scheme: the endpoint must spell it out. */
    r = ferry__hub_why(FERRY_E_INVAL, why, why_len, "endpoint '%s' must start with http:// or https://",
                       endpoint);
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(query);
  curl_free(frag);
  curl_url_cleanup(u);
  if (r) {
    free(copy);
    return r;
  }
  *out = copy;
  return 0;
}

/* Appends the escaped form of s[0..n) to buf at *pos (buf has room: 3 bytes per input). */
static int escape_into(const char *s, size_t n, char *buf, size_t *pos) {
  if (n == 0) return 0;
  char *e = curl_easy_escape(NULL, s, (int)n);
  if (!e) return FERRY_E_NOMEM;
  size_t el = strlen(e);
  memcpy(buf + *pos, e, el);
  *pos += el;
  curl_free(e);
  return 0;
}

int ferry__hub_quote(const char *s, int keep_slash, char **out) {
  *out = NULL;
  size_t len = strlen(s);
  if (len > FERRY__HUB_URL_MAX / 3) return FERRY_E_INVAL;
  char *buf = malloc(len * 3 + 1);
  if (!buf) return FERRY_E_NOMEM;
  size_t pos = 0;
  int r = 0;
  if (!keep_slash) {
    r = escape_into(s, len, buf, &pos);
  } else {
    const char *seg = s;
    for (;;) {
      const char *slash = strchr(seg, '/');
      size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
      if ((r = escape_into(seg, n, buf, &pos))) break;
      if (!slash) break;
      buf[pos++] = '/';
      seg = slash + 1;
    }
  }
  if (r) {
    free(buf);
    return r;
  }
  buf[pos] = 0;
  *out = buf;
  return 0;
}

/* The normalized endpoint and the quoted revision every API URL starts from. */
static int url_parts(const char *endpoint, const struct ferry__hub_repo *repo, const char *rev,
                     char **e, char **qrev) {
  *e = *qrev = NULL;
  if (!repo || !type_ok(repo->type) || ferry__hub_repo_id_validate(repo->id, NULL, 0))
    return FERRY_E_INVAL;
  if (!rev || !*rev) return FERRY_E_INVAL;
  int r = ferry__hub_endpoint_normalize(endpoint, e, NULL, 0);
  if (!r) r = ferry__hub_quote(rev, 0, qrev);
  if (r) {
    free(*e);
    *e = NULL;
  }
  return r;
}

int ferry__hub_url_revision(const char *endpoint, const struct ferry__hub_repo *repo,
                            const char *rev, char **out) {
  char *e, *qrev;
  *out = NULL;
  int r = url_parts(endpoint, repo, rev, &e, &qrev);
  if (r) return r;
  r = ferry__hub_fmt(out, FERRY__HUB_URL_MAX, "%s/api/%s/%s/revision/%s", e,
                     type_plurals[repo->type], repo->id, qrev);
  free(e);
  free(qrev);
  return r;
}

int ferry__hub_url_tree(const char *endpoint, const struct ferry__hub_repo *repo,
                        const char *rev, const char *path, int recursive, int expand,
                        char **out) {
  char *e, *qrev, *qpath = NULL;
  *out = NULL;
  int r = url_parts(endpoint, repo, rev, &e, &qrev);
  if (r) return r;
  if (path && *path) r = ferry__hub_quote(path, 0, &qpath);
  if (!r)
    r = ferry__hub_fmt(out, FERRY__HUB_URL_MAX, "%s/api/%s/%s/tree/%s%s%s?recursive=%s&expand=%s",
                       e, type_plurals[repo->type], repo->id, qrev, qpath ? "/" : "",
                       qpath ? qpath : "", recursive ? "true" : "false", expand ? "true" : "false");
  free(e);
  free(qrev);
  free(qpath);
  return r;
}

int ferry__hub_url_resolve(const char *endpoint, const struct ferry__hub_repo *repo,
                           const char *rev, const char *path, char **out) {
  char *e, *qrev, *qpath = NULL;
  *out = NULL;
  if (!path || !*path) return FERRY_E_INVAL;
  int r = url_parts(endpoint, repo, rev, &e, &qrev);
  if (r) return r;
  r = ferry__hub_quote(path, 1, &qpath);
  if (!r)
    r = ferry__hub_fmt(out, FERRY__HUB_URL_MAX, "%s/%s%s/resolve/%s/%s", e,
                       type_prefixes[repo->type], repo->id, qrev, qpath);
  free(e);
  free(qrev);
  free(qpath);
  return r;
}
