/* commit_api: the JSON of an upload (hub-protocol.md §6.4-§6.6), built and parsed here so
 * upload.c only orchestrates: the preupload request and answer, the Git LFS batch request
 * and its actions (basic or multipart), and the NDJSON commit body. */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"
#include "grow.h"

#define SAMPLE_BYTES 512

static int dump(json_t *j, char **out, size_t *len) {
  if (!j) return FERRY_E_NOMEM;
  *out = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  if (!*out) return FERRY_E_NOMEM;
  if (len) *len = strlen(*out);
  return 0;
}

static char *base64_of(const unsigned char *data, size_t n) {
  char *out = malloc(4 * ((n + 2) / 3) + 1);
  if (out) EVP_EncodeBlock((unsigned char *)out, data, (int)n);
  return out;
}

int ferry__preupload_body(const struct ferry__upload_list *l, size_t from, size_t to,
                          char **out, size_t *len) {
  json_t *files = json_array();
  for (size_t i = from; files && i < to; i++) {
    const struct ferry__upload_file *f = &l->v[i];
    unsigned char sample[SAMPLE_BYTES];
    ssize_t n = 0;
    char local[FERRY__HUB_PATH_MAX];
    FILE *fp = fopen(ferry__upload_local(l, f->path, local), "rbe");
    if (fp) {
      n = (ssize_t)fread(sample, 1, sizeof(sample), fp);
      fclose(fp);
    }
    char *b64 = base64_of(sample, (size_t)(n > 0 ? n : 0));
    json_t *o = json_pack("{s:s, s:s?, s:I}", "path", f->path, "sample", b64, "size",
                          (json_int_t)f->size);
    free(b64);
    if (!o || json_array_append_new(files, o)) {
      json_decref(files);
      return FERRY_E_NOMEM;
    }
  }
  return dump(json_pack("{s:o}", "files", files), out, len);
}

int ferry__preupload_parse(const char *body, size_t len, struct ferry__upload_list *l,
                           size_t from, size_t to, char *why, size_t why_len) {
  json_t *j = json_loadb(body, len, 0, NULL);
  json_t *files = json_object_get(j, "files");
  int err = 0;
  if (!json_is_array(files)) {
    snprintf(why, why_len, "preupload answer without a files list");
    err = FERRY_E_PROTOCOL;
  }
  size_t k;
  json_t *e;
  json_array_foreach(err ? NULL : files, k, e) {
    const char *path = json_string_value(json_object_get(e, "path"));
    const char *mode = json_string_value(json_object_get(e, "uploadMode"));
    json_t *ign = json_object_get(e, "shouldIgnore");
    const char *oid = json_string_value(json_object_get(e, "oid"));
    if (!path || !mode || (strcmp(mode, "lfs") && strcmp(mode, "regular")) ||
        !json_is_boolean(ign)) {
      snprintf(why, why_len, "malformed preupload entry %zu", k);
      err = FERRY_E_PROTOCOL;
      break;
    }
    for (size_t i = from; i < to; i++) {
      struct ferry__upload_file *f = &l->v[i];
      if (strcmp(f->path, path) != 0) continue;
      f->lfs = !strcmp(mode, "lfs") && f->size > 0; /* empty files are always regular */
      f->ignored = json_is_true(ign);
      /* a 40- or 64-hex oid, kept as bytes; anything else compares as different */
      size_t no = oid ? strlen(oid) / 2 : 0;
      f->remote_oid_len = (no == 20 || no == 32) && !ferry__hub_unhex(oid, f->remote_oid, no)
                              ? (unsigned char)no : 0;
      break;
    }
  }
  json_decref(j);
  return err;
}

int ferry__lfs_batch_body(const struct ferry__upload_file *const *objs, size_t n,
                          const char *ref, char **out, size_t *len) {
  json_t *list = json_array();
  for (size_t i = 0; list && i < n; i++) {
    char oid[65];
    json_t *o = json_pack("{s:s, s:I}", "oid", ferry__hub_hex(objs[i]->hash, 32, oid), "size",
                          (json_int_t)objs[i]->size);
    if (!o || json_array_append_new(list, o)) {
      json_decref(list);
      return FERRY_E_NOMEM;
    }
  }
  json_t *body = json_pack("{s:s, s:[s,s], s:o, s:s}", "operation", "upload", "transfers",
                           "basic", "multipart", "objects", list, "hash_algo", "sha256");
  if (body && ref) json_object_set_new(body, "ref", json_pack("{s:s}", "name", ref));
  return dump(body, out, len);
}

int ferry__lfs_completion_body(const char *oid, const char *const *etags, size_t n,
                               char **out) {
  json_t *parts = json_array();
  for (size_t i = 0; parts && i < n; i++)
    if (json_array_append_new(parts, json_pack("{s:I, s:s}", "partNumber", (json_int_t)i + 1,
                                               "etag", etags[i]))) {
      json_decref(parts);
      parts = NULL;
    }
  json_t *b = parts ? json_pack("{s:s, s:o}", "oid", oid, "parts", parts) : NULL;
  *out = b ? json_dumps(b, JSON_COMPACT) : NULL;
  json_decref(b);
  return *out ? 0 : FERRY_E_NOMEM;
}

/* huggingface_hub's fix_hf_endpoint_in_url: the public Hub's address becomes the endpoint. */
static char *fix_endpoint(const char *href, const char *endpoint) {
  static const char hub[] = "https://huggingface.co";
  char *s = NULL;
  if (!strncmp(href, hub, sizeof(hub) - 1) && endpoint)
    ferry__hub_fmt(&s, FERRY__HUB_URL_MAX, "%s%s", endpoint, href + sizeof(hub) - 1);
  else
    s = strdup(href);
  return s;
}

static int is_digits(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return 0;
  return 1;
}

static int by_part_number(const void *a, const void *b) {
  unsigned long x = strtoul(*(char *const *)a, NULL, 10), y = strtoul(*(char *const *)b, NULL, 10);
  return x < y ? -1 : x > y;
}

static int parse_action(json_t *e, const char *endpoint, struct ferry__lfs_action *a, char *why,
                        size_t why_len) {
  json_t *upload = json_object_get(json_object_get(e, "actions"), "upload");
  json_t *verify = json_object_get(json_object_get(e, "actions"), "verify");
  if (!upload) {
    a->present = 1;
    return 0;
  }
  const char *href = json_string_value(json_object_get(upload, "href"));
  if (!href || strncmp(href, "http", 4) != 0) {
    snprintf(why, why_len, "LFS upload action without an absolute href");
    return FERRY_E_PROTOCOL;
  }
  if (!(a->href = fix_endpoint(href, endpoint))) return FERRY_E_NOMEM;
  const char *vhref = json_string_value(json_object_get(verify, "href"));
  if (vhref && !(a->verify_href = fix_endpoint(vhref, endpoint))) return FERRY_E_NOMEM;
  json_t *exp = json_object_get(upload, "expires_in");
  a->expires_in = json_is_integer(exp) ? (int64_t)json_integer_value(exp) : 0;
  json_t *header = json_object_get(upload, "header");
  json_t *chunk = json_object_get(header, "chunk_size");
  if (!chunk) return 0; /* basic: one PUT of the whole object */
  const char *cs = json_string_value(chunk);
  long long c = json_is_integer(chunk) ? (long long)json_integer_value(chunk)
                : cs && is_digits(cs) ? atoll(cs) : 0;
  if (c <= 0) {
    snprintf(why, why_len, "LFS multipart action with a bad chunk_size");
    return FERRY_E_PROTOCOL;
  }
  a->chunk_size = (uint64_t)c;
  /* Every other header key made of digits is a part number; its value the part's URL. */
  const char *key;
  json_t *v;
  size_t n = 0;
  json_object_foreach(header, key, v) n += is_digits(key) && json_is_string(v);
  const char **keys = calloc(n ? n : 1, sizeof(*keys));
  if (!keys) return FERRY_E_NOMEM;
  n = 0;
  json_object_foreach(header, key, v) if (is_digits(key) && json_is_string(v)) keys[n++] = key;
  qsort(keys, n, sizeof(*keys), by_part_number);
  uint64_t expect = (a->size + a->chunk_size - 1) / a->chunk_size;
  int err = 0;
  if (n != expect) {
    snprintf(why, why_len, "LFS multipart action with %zu part URLs for %llu parts", n,
             (unsigned long long)expect);
    err = FERRY_E_PROTOCOL;
  }
  a->part_urls = err ? NULL : calloc(n ? n : 1, sizeof(char *));
  if (!err && !a->part_urls) err = FERRY_E_NOMEM;
  for (size_t i = 0; !err && i < n; i++) {
    /* Part URLs are presigned storage URLs: taken as they are. */
    if (!(a->part_urls[i] = strdup(json_string_value(json_object_get(header, keys[i])))))
      err = FERRY_E_NOMEM;
    a->nparts = i + 1;
  }
  free(keys);
  return err;
}

int ferry__lfs_batch_parse(const char *body, size_t len, const char *endpoint,
                           struct ferry__lfs_action *actions, size_t n, char *why,
                           size_t why_len) {
  json_t *j = json_loadb(body, len, 0, NULL);
  json_t *objects = json_object_get(j, "objects");
  int err = 0;
  if (!json_is_array(objects)) {
    snprintf(why, why_len, "LFS batch answer without objects");
    err = FERRY_E_PROTOCOL;
  }
  size_t k;
  json_t *e;
  json_array_foreach(err ? NULL : objects, k, e) {
    const char *oid = json_string_value(json_object_get(e, "oid"));
    json_t *size = json_object_get(e, "size");
    if (!oid || !json_is_integer(size)) {
      snprintf(why, why_len, "malformed LFS batch object %zu", k);
      err = FERRY_E_PROTOCOL;
      break;
    }
    struct ferry__lfs_action *a = NULL;
    for (size_t i = 0; i < n && !a; i++)
      if (!strcmp(actions[i].oid, oid) && !actions[i].answered) a = &actions[i];
    if (!a) continue;
    a->answered = 1;
    json_t *error = json_object_get(e, "error");
    if (error) {
      json_t *code = json_object_get(error, "code");
      const char *msg = json_string_value(json_object_get(error, "message"));
      a->error_code = json_is_integer(code) ? (int)json_integer_value(code) : 0;
      snprintf(a->error_message, sizeof(a->error_message), "%s", msg ? msg : "error");
      continue;
    }
    if ((err = parse_action(e, endpoint, a, why, why_len))) break;
  }
  for (size_t i = 0; !err && i < n; i++)
    if (!actions[i].answered) {
      snprintf(why, why_len, "the LFS batch answer left out object %s", actions[i].oid);
      err = FERRY_E_PROTOCOL;
    }
  json_decref(j);
  return err;
}

void ferry__lfs_action_free(struct ferry__lfs_action *a) {
  free(a->href);
  free(a->verify_href);
  for (size_t i = 0; i < a->nparts; i++) free(a->part_urls[i]);
  free(a->part_urls);
  a->href = a->verify_href = NULL;
  a->part_urls = NULL;
  a->nparts = 0;
}

/* ---- the commit body ------------------------------------------------------------------ */

static int add_line(struct ferry__ndjson *b, json_t *line) {
  char *s = json_dumps(line, JSON_COMPACT);
  json_decref(line);
  if (!s) return FERRY_E_NOMEM;
  size_t n = strlen(s);
  if (ferry__grow(&b->data, &b->cap, b->len + n + 2, 1, 4096) != 0) {
    free(s);
    return FERRY_E_NOMEM;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len++] = '\n';
  b->data[b->len] = 0;
  free(s);
  return 0;
}

int ferry__ndjson_header(struct ferry__ndjson *b, const char *summary, const char *description,
                         const char *parent) {
  json_t *v = json_pack("{s:s, s:s}", "summary", summary, "description",
                        description ? description : "");
  if (v && parent) json_object_set_new(v, "parentCommit", json_string(parent));
  return add_line(b, json_pack("{s:s, s:o}", "key", "header", "value", v));
}

int ferry__ndjson_regular(struct ferry__ndjson *b, const char *path, const unsigned char *data,
                          size_t n) {
  char *b64 = base64_of(data, n);
  if (!b64) return FERRY_E_NOMEM;
  int err = add_line(b, json_pack("{s:s, s:{s:s, s:s, s:s}}", "key", "file", "value", "content",
                                  b64, "path", path, "encoding", "base64"));
  free(b64);
  return err;
}

int ferry__ndjson_lfs(struct ferry__ndjson *b, const char *path, const char *sha256,
                      uint64_t size) {
  return add_line(b, json_pack("{s:s, s:{s:s, s:s, s:s, s:I}}", "key", "lfsFile", "value", "path",
                               path, "algo", "sha256", "oid", sha256, "size", (json_int_t)size));
}

int ferry__ndjson_delete(struct ferry__ndjson *b, const char *path, int folder) {
  return add_line(b, json_pack("{s:s, s:{s:s}}", "key", folder ? "deletedFolder" : "deletedFile",
                               "value", "path", path));
}

void ferry__ndjson_free(struct ferry__ndjson *b) {
  free(b->data);
  memset(b, 0, sizeof(*b));
}

int ferry__commit_parse(const char *body, size_t len, char oid[41], char **commit_url,
                        char **pr_url, char *why, size_t why_len) {
  json_t *j = json_loadb(body, len, 0, NULL);
  const char *o = json_string_value(json_object_get(j, "commitOid"));
  const char *u = json_string_value(json_object_get(j, "commitUrl"));
  const char *p = json_string_value(json_object_get(j, "pullRequestUrl"));
  int err = 0;
  if (!o || strlen(o) != 40 || !u) {
    snprintf(why, why_len, "commit answer without commitOid and commitUrl");
    err = FERRY_E_PROTOCOL;
  } else {
    memcpy(oid, o, 41);
    *commit_url = strdup(u);
    *pr_url = p ? strdup(p) : NULL;
    if (!*commit_url || (p && !*pr_url)) err = FERRY_E_NOMEM;
  }
  json_decref(j);
  return err;
}
