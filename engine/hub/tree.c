/* tree.c: the JSON the Hub answers with (repo info and tree pages, hub-protocol.md §4.4), the
 * Link header that pages the tree (§1.5), and the trees/<commit>.json listing cache that
 * huggingface_hub >= 1.22 keeps (§3.5). Parsing is jansson's; every body has a size cap. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hub.h"
#include "grow.h"

void ferry__hub_tree_init(struct ferry__hub_tree *t) { memset(t, 0, sizeof(*t)); }

/* The entries' strings, one block after the other: a million small allocations would cost
 * their malloc headers and rounding (about 20 bytes a file) and as many frees. */
#define STRING_BLOCK (256u << 10)
struct ferry__hub_strings {
  struct ferry__hub_strings *prev;
  size_t used, cap;
  char data[];
};

char *ferry__hub_strings_alloc(struct ferry__hub_strings **head, size_t n) {
  struct ferry__hub_strings *b = *head;
  if (!b || b->cap - b->used < n) {
    size_t cap = n > STRING_BLOCK ? n : STRING_BLOCK;
    if (!(b = malloc(sizeof(*b) + cap))) return NULL;
    *b = (struct ferry__hub_strings){*head, 0, cap};
    *head = b;
  }
  b->used += n;
  return b->data + b->used - n;
}

size_t ferry__hub_strings_bytes(const struct ferry__hub_strings *head) {
  size_t n = 0;
  for (const struct ferry__hub_strings *b = head; b; b = b->prev) n += b->used;
  return n;
}

static char *strings_alloc(struct ferry__hub_tree *t, size_t n) {
  return ferry__hub_strings_alloc(&t->strings, n);
}

/* Where the strings end now, and back to there (a page that fails leaves no strings). */
struct strings_mark {
  struct ferry__hub_strings *block;
  size_t used;
};

static struct strings_mark strings_mark(const struct ferry__hub_tree *t) {
  return (struct strings_mark){t->strings, t->strings ? t->strings->used : 0};
}

static void strings_back_to(struct ferry__hub_tree *t, struct strings_mark m) {
  while (t->strings != m.block) {
    struct ferry__hub_strings *b = t->strings;
    t->strings = b->prev;
    free(b);
  }
  if (t->strings) t->strings->used = m.used;
}

void ferry__hub_strings_free(struct ferry__hub_strings **head) {
  while (*head) {
    struct ferry__hub_strings *b = *head;
    *head = b->prev;
    free(b);
  }
}

void ferry__hub_tree_free(struct ferry__hub_tree *t) {
  ferry__hub_strings_free(&t->strings);
  free(t->v);
  memset(t, 0, sizeof(*t));
}

size_t ferry__hub_tree_bytes(const struct ferry__hub_tree *t) {
  return t->n * sizeof(*t->v) + ferry__hub_strings_bytes(t->strings);
}

static int push(struct ferry__hub_tree *t, const struct ferry__hub_entry *e) {
  if (t->n >= FERRY__HUB_TREE_MAX_ENTRIES) return FERRY_E_PROTOCOL;
  if (ferry__grow(&t->v, &t->cap, t->n + 1, sizeof(*t->v), 64) != 0) return FERRY_E_NOMEM;
  t->v[t->n++] = *e;
  return 0;
}

/* A JSON string without an embedded NUL, copied into out[cap]; 0 or -1. */
static int copy_str(const json_t *j, char *out, size_t cap) {
  if (!json_is_string(j)) return -1;
  size_t n = json_string_length(j);
  const char *s = json_string_value(j);
  if (n + 1 > cap || strlen(s) != n) return -1;
  memcpy(out, s, n + 1);
  return 0;
}

/* An entry's strings as they are read, before pack() gives them one allocation. */
struct entry_text {
  char oid[FERRY__HUB_OID_MAX + 1], lfs_oid[FERRY__HUB_OID_MAX + 1], xet_hash[FERRY__HUB_OID_MAX + 1];
};

static int is_hex(const char *s, size_t n) {
  if (strlen(s) != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
  return 1;
}

/* path, oid, [lfs_oid and its size], [xet_hash] one after the other in t's strings (e->path):
 * a listing holds every entry at once, so an entry costs its strings' lengths, not their
 * maximum sizes, and nothing for what it does not have. A 40-hex oid (every file's) takes its
 * 20 bytes. lfs_oid is 64 hex when present (both readers check), so its size sits at a fixed
 * offset. */
static int pack(struct ferry__hub_tree *t, struct ferry__hub_entry *e, const char *path,
                const struct entry_text *x, uint64_t lfs_size) {
  e->has_lfs = x->lfs_oid[0] != 0;
  e->has_xet = x->xet_hash[0] != 0;
  e->oid_raw = is_hex(x->oid, 40);
  size_t np = strlen(path) + 1, no = e->oid_raw ? 20 : strlen(x->oid) + 1;
  size_t nl = e->has_lfs ? 65 + sizeof(lfs_size) : 0, nx = e->has_xet ? strlen(x->xet_hash) + 1 : 0;
  char *p = strings_alloc(t, np + no + nl + nx);
  if (!p) return FERRY_E_NOMEM;
  e->path = memcpy(p, path, np);
  if (e->oid_raw && ferry__hub_unhex(x->oid, (unsigned char *)p + np, 20) != 0)
    return FERRY_E_NOMEM; /* checked hex: only its own failure */
  if (!e->oid_raw) memcpy(p + np, x->oid, no);
  if (nl) {
    memcpy(p + np + no, x->lfs_oid, 65);
    memcpy(p + np + no + 65, &lfs_size, sizeof(lfs_size));
  }
  if (nx) memcpy(p + np + no + nl, x->xet_hash, nx);
  return 0;
}

char *ferry__hub_hex(const unsigned char *raw, size_t n, char *out) {
  /* OpenSSL's OPENSSL_buf2hexstr writes upper case; git and the Hub name blobs in lower case,
   * and this runs for every file several times (a table, not snprintf per byte). */
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[raw[i] >> 4];
    out[2 * i + 1] = digits[raw[i] & 15];
  }
  out[2 * n] = 0;
  return out;
}

int ferry__hub_unhex(const char *hex, unsigned char *out, size_t n) {
  size_t got = 0;
  if (!is_hex(hex, 2 * n)) return -1;
  return OPENSSL_hexstr2buf_ex(out, n, &got, hex, '\0') && got == n ? 0 : -1;
}

const char *ferry__hub_entry_oid(const struct ferry__hub_entry *e, char buf[FERRY__HUB_OID_TEXT]) {
  const unsigned char *raw = ferry__hub_entry_oid_raw(e);
  if (!raw) return e->path + strlen(e->path) + 1;
  return ferry__hub_hex(raw, 20, buf);
}

/* What is wrong with a file name from the server, in words (NULL: a usable string of at most
 * `max` bytes), so an error says it instead of "has no path". */
static const char *name_problem(const json_t *j, size_t max, char *buf, size_t cap) {
  if (!j || json_is_null(j)) return "no name";
  if (!json_is_string(j)) return "a name that is not a string";
  size_t n = json_string_length(j);
  if (strlen(json_string_value(j)) != n) return "a name with a NUL byte";
  if (n > max) {
    snprintf(buf, cap, "a name of %zu bytes (ferry takes at most %zu)", n, max);
    return buf;
  }
  return NULL;
}

static int get_size(const json_t *j, uint64_t *out) {
  if (!json_is_integer(j) || json_integer_value(j) < 0) return -1;
  *out = (uint64_t)json_integer_value(j);
  return 0;
}


static json_t *load(const char *json, size_t len, char *why, size_t why_len, int *err) {
  *err = 0;
  if (len > FERRY__HUB_JSON_MAX) {
    *err = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "server answer too large (%zu bytes)",
                          len);
    return NULL;
  }
  json_error_t je;
  json_t *root = json_loadb(json, len, 0, &je);
  if (!root)
    *err = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "malformed JSON at line %d column %d: %s",
                          je.line, je.column, je.text);
  return root;
}

/* One element of a tree page into e (e->path malloc'd on success). */
static int parse_entry(struct ferry__hub_tree *t, const json_t *item, size_t index,
                       struct ferry__hub_entry *e, char *why, size_t why_len) {
  memset(e, 0, sizeof(*e));
  if (!json_is_object(item))
    return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "tree entry %zu is not an object", index);
  const json_t *type = json_object_get(item, "type"), *path = json_object_get(item, "path");
  if (!json_is_string(type))
    return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "tree entry %zu has no type", index);
  /* huggingface_hub: "file" is a file, any other type a folder. */
  e->is_dir = strcmp(json_string_value(type), "file") != 0;
  char detail[96];
  const char *problem = name_problem(path, FERRY__HUB_PATH_MAX, detail, sizeof(detail));
  if (problem)
    return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "tree entry %zu has %s", index, problem);
  const char *p = json_string_value(path);
  int r = ferry__hub_path_check(p, why, why_len);
  if (r) return r;
  const json_t *size = json_object_get(item, "size"), *oid = json_object_get(item, "oid");
  const json_t *lfs = json_object_get(item, "lfs"), *xet = json_object_get(item, "xetHash");
  struct entry_text x = {"", "", ""};
  uint64_t lfs_size = 0;
  const char *bad = NULL;
  if (!e->is_dir && get_size(size, &e->size) != 0) bad = "size";
  else if (e->is_dir && size && !json_is_null(size) && get_size(size, &e->size) != 0) bad = "size";
  /* A regular file's oid names its blob in the cache: git's 40-hex id, nothing else. */
  else if (!e->is_dir && (copy_str(oid, x.oid, sizeof(x.oid)) != 0 || !is_hex(x.oid, 40)))
    bad = "oid";
  else if (e->is_dir && oid && !json_is_null(oid) && copy_str(oid, x.oid, sizeof(x.oid)) != 0)
    bad = "oid";
  else if (xet && !json_is_null(xet) && copy_str(xet, x.xet_hash, sizeof(x.xet_hash)) != 0)
    bad = "xetHash";
  else if (lfs && !json_is_null(lfs)) {
    if (!json_is_object(lfs) ||
        copy_str(json_object_get(lfs, "oid"), x.lfs_oid, sizeof(x.lfs_oid)) != 0 ||
        !is_hex(x.lfs_oid, 64) || get_size(json_object_get(lfs, "size"), &lfs_size) != 0)
      bad = "lfs";
  }
  if (bad)
    return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "tree entry '%s' has a missing or bad %s",
                          p, bad);
  return pack(t, e, p, &x, lfs_size);
}

int ferry__hub_tree_parse_page(const char *json, size_t len, struct ferry__hub_tree *t,
                               char *why, size_t why_len) {
  int r;
  json_t *root = load(json, len, why, why_len, &r);
  if (!root) return r;
  if (!json_is_array(root)) {
    json_decref(root);
    return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "tree page is not a JSON array");
  }
  size_t before = t->n, i;
  struct strings_mark mark = strings_mark(t);
  json_t *item;
  json_array_foreach(root, i, item) {
    struct ferry__hub_entry e;
    if ((r = parse_entry(t, item, i, &e, why, why_len))) break;
    if ((r = push(t, &e))) {
      if (r == FERRY_E_PROTOCOL) ferry__hub_why(r, why, why_len, "tree listing has too many entries");
      break;
    }
  }
  json_decref(root);
  if (r) { /* leave t as it was */
    strings_back_to(t, mark);
    t->n = before;
  }
  return r;
}

static int by_path_ref(const void *a, const void *b) {
  return strcmp((*(const struct ferry__hub_entry *const *)a)->path,
                (*(const struct ferry__hub_entry *const *)b)->path);
}

int ferry__hub_tree_check_unique(const struct ferry__hub_tree *t, char *why, size_t why_len) {
  if (t->n < 2) return 0;
  const struct ferry__hub_entry **ref = malloc(t->n * sizeof(*ref));
  if (!ref) return FERRY_E_NOMEM;
  for (size_t i = 0; i < t->n; i++) ref[i] = &t->v[i];
  qsort(ref, t->n, sizeof(*ref), by_path_ref); /* a path listed twice: neighbours */
  int r = 0;
  for (size_t i = 1; i < t->n && !r; i++)
    if (!strcmp(ref[i - 1]->path, ref[i]->path))
      r = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "'%s' is listed twice", ref[i]->path);
  free(ref);
  return r;
}

void ferry__hub_repo_info_free(struct ferry__hub_repo_info *info) {
  for (size_t i = 0; i < info->n_siblings; i++) free(info->siblings[i]);
  free(info->siblings);
  info->siblings = NULL;
  info->n_siblings = 0;
}

static int get_bool(const json_t *j) {
  if (!j || json_is_null(j)) return -1;
  return json_is_true(j) ? 1 : 0;
}

int ferry__hub_repo_info_parse(const char *json, size_t len, struct ferry__hub_repo_info *out,
                               char *why, size_t why_len) {
  memset(out, 0, sizeof(*out));
  int r;
  json_t *root = load(json, len, why, why_len, &r);
  if (!root) return r;
  r = 0;
  const json_t *sha = json_object_get(root, "sha"), *siblings = json_object_get(root, "siblings");
  const json_t *gated = json_object_get(root, "gated");
  if (!json_is_object(root)) r = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "repo info is not a JSON object");
  else if (copy_str(json_object_get(root, "id"), out->id, sizeof(out->id)) != 0)
    r = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "repo info has no id");
  else if (copy_str(sha, out->sha, sizeof(out->sha)) != 0 || !is_hex(out->sha, 40))
    r = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "repo info has no 40-hex sha");
  else if (siblings && !json_is_null(siblings) && !json_is_array(siblings))
    r = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "repo info siblings is not an array");
  if (r) {
    json_decref(root);
    memset(out, 0, sizeof(*out));
    return r;
  }
  out->is_private = get_bool(json_object_get(root, "private"));
  out->disabled = get_bool(json_object_get(root, "disabled"));
  if (!gated || json_is_null(gated)) out->gated = -1;
  else if (json_is_false(gated)) out->gated = 0;
  else if (json_is_string(gated) && strcmp(json_string_value(gated), "auto") == 0) out->gated = 1;
  else if (json_is_string(gated) && strcmp(json_string_value(gated), "manual") == 0) out->gated = 2;
  else out->gated = 3;
  if (json_is_array(siblings)) {
    size_t n = json_array_size(siblings);
    if (n > FERRY__HUB_TREE_MAX_ENTRIES) r = FERRY_E_PROTOCOL;
    else if (!(out->siblings = calloc(n ? n : 1, sizeof(char *)))) r = FERRY_E_NOMEM;
    for (size_t i = 0; i < n && !r; i++) {
      const json_t *f = json_object_get(json_array_get(siblings, i), "rfilename");
      char detail[96];
      const char *problem = name_problem(f, FERRY__HUB_PATH_MAX, detail, sizeof(detail));
      if (problem) {
        r = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "file %zu of the repo info (rfilename) "
                           "has %s", i, problem);
        break;
      }
      if (!(out->siblings[i] = strdup(json_string_value(f)))) r = FERRY_E_NOMEM;
      else out->n_siblings = i + 1;
    }
  }
  json_decref(root);
  if (r) {
    ferry__hub_repo_info_free(out);
    memset(out, 0, sizeof(*out));
  }
  return r;
}

/* ---- Link: <url>; rel="next" ------------------------------------------------------------------ */

static int is_ws(char c) { return c == ' ' || c == '\t'; }

/* 1 when the rel value (a space-separated list) holds "next". */
static int rel_has_next(const char *v, size_t n) {
  size_t i = 0;
  while (i < n) {
    while (i < n && is_ws(v[i])) i++;
    size_t s = i;
    while (i < n && !is_ws(v[i])) i++;
    if (i - s == 4 && strncasecmp(v + s, "next", 4) == 0) return 1;
  }
  return 0;
}

static int absolute_http_url(const char *url) {
  for (const char *c = url; *c; c++) /* a URL in a header: visible ASCII only */
    if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f) return 0;
  if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) return 0;
  CURLU *u = curl_url();
  if (!u) return 0;
  char *scheme = NULL, *host = NULL;
  int ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host[0] &&
           (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  return ok;
}

int ferry__hub_link_next(const char *value, size_t len, char **out) {
  *out = NULL;
  size_t i = 0;
  while (i < len) {
    while (i < len && (is_ws(value[i]) || value[i] == ',')) i++;
    if (i >= len) break;
    if (value[i] != '<') return FERRY_E_PROTOCOL;
    const char *close = memchr(value + i, '>', len - i);
    if (!close) return FERRY_E_PROTOCOL;
    size_t url_start = i + 1, url_len = (size_t)(close - value) - url_start;
    i = (size_t)(close - value) + 1;
    int next = 0;
    /* Parameters: ; name[=value] with value a token or a quoted string, up to ','. */
    while (i < len && value[i] != ',') {
      while (i < len && is_ws(value[i])) i++;
      if (i >= len || value[i] == ',') break;
      if (value[i] != ';') return FERRY_E_PROTOCOL;
      i++;
      while (i < len && is_ws(value[i])) i++;
      size_t ns = i;
      while (i < len && value[i] != '=' && value[i] != ';' && value[i] != ',' && !is_ws(value[i])) i++;
      size_t nl = i - ns;
      while (i < len && is_ws(value[i])) i++;
      const char *v = "";
      size_t vl = 0;
      if (i < len && value[i] == '=') {
        i++;
        while (i < len && is_ws(value[i])) i++;
        if (i < len && value[i] == '"') {
          const char *q = memchr(value + i + 1, '"', len - i - 1);
          if (!q) return FERRY_E_PROTOCOL;
          v = value + i + 1;
          vl = (size_t)(q - v);
          i = (size_t)(q - value) + 1;
        } else {
          v = value + i;
          while (i < len && value[i] != ';' && value[i] != ',' && !is_ws(value[i])) i++;
          vl = (size_t)(value + i - v);
        }
      }
      if (nl == 3 && strncasecmp(value + ns, "rel", 3) == 0 && rel_has_next(v, vl)) next = 1;
    }
    if (!next) continue;
    if (url_len == 0 || url_len >= FERRY__HUB_URL_MAX) return FERRY_E_PROTOCOL;
    char *url = malloc(url_len + 1);
    if (!url) return FERRY_E_NOMEM;
    memcpy(url, value + url_start, url_len);
    url[url_len] = 0;
    if (!absolute_http_url(url)) {
      free(url);
      return FERRY_E_PROTOCOL;
    }
    *out = url;
    return 0;
  }
  return 0;
}

/* ---- trees/<commit>.json ---------------------------------------------------------------------- */

/* Files in path order: indexes into the tree (a listing that names a path twice keeps the
 * later entry, as a JSON object built in listing order would). 4 bytes a file, and as much
 * again for the sort's buffer: a million files' listing is sorted in 8 MB. */
struct sorted {
  const struct ferry__hub_tree *t;
  uint32_t *v; /* FERRY__HUB_TREE_MAX_ENTRIES fits */
  size_t n;
};

static int by_path_then_index(const void *a, const void *b, void *tree) {
  const struct ferry__hub_tree *t = tree;
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  int c = strcmp(t->v[x].path, t->v[y].path);
  return c ? c : (x > y) - (x < y);
}

static int sort_files(const struct ferry__hub_tree *t, struct sorted *s) {
  s->t = t;
  s->n = 0;
  if (!(s->v = malloc((t->n ? t->n : 1) * sizeof(*s->v)))) return FERRY_E_NOMEM;
  for (size_t i = 0; i < t->n; i++)
    if (!t->v[i].is_dir) s->v[s->n++] = (uint32_t)i;
  qsort_r(s->v, s->n, sizeof(*s->v), by_path_then_index, (void *)t);
  size_t kept = 0;
  for (size_t i = 0; i < s->n; i++)
    if (i + 1 == s->n || strcmp(t->v[s->v[i]].path, t->v[s->v[i + 1]].path) != 0)
      s->v[kept++] = s->v[i];
  s->n = kept;
  return 0;
}

/* jansson writes \u escapes with upper-case hex, Python with lower-case. In JSON text every
 * backslash starts an escape, so walking them in pairs finds each \u exactly. */
static void lowercase_unicode_escapes(char *s) {
  for (; *s; s++) {
    if (*s != '\\') continue;
    if (s[1] == 'u')
      for (int k = 2; k < 6 && s[k]; k++)
        if (s[k] >= 'A' && s[k] <= 'F') s[k] = (char)(s[k] - 'A' + 'a');
    if (s[1]) s++;
  }
}

/* A JSON string as Python's json.dump(ensure_ascii=True) writes it, quotes included. */
static int put_string(FILE *f, const char *s) {
  json_t *j = json_string(s);
  char *text = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
  json_decref(j);
  if (!text) return FERRY_E_NOMEM;
  lowercase_unicode_escapes(text);
  fputs(text, f);
  free(text);
  return 0;
}

/* trees/<commit>.json as Python's json.dump(indent=1) writes TreeCacheEntry.to_json's dicts
 * (keys in its insertion order), one entry at a time: a listing of a million files is never
 * a JSON tree in memory. */
static int emit_tree_cache(const struct sorted *s, FILE *f) {
  fputs("{\n \"format_version\": 1,\n \"files\": {", f);
  int r = 0;
  for (size_t i = 0; i < s->n && !r; i++) {
    const struct ferry__hub_entry *e = &s->t->v[s->v[i]];
    fputs(i ? ",\n  " : "\n  ", f);
    if ((r = put_string(f, e->path))) break;
    fprintf(f, ": {\n   \"size\": %llu,\n   \"blob_id\": ", (unsigned long long)e->size);
    char oid[FERRY__HUB_OID_TEXT];
    if ((r = put_string(f, ferry__hub_entry_oid(e, oid)))) break;
    if (e->has_lfs) {
      fputs(",\n   \"lfs_sha256\": ", f);
      if ((r = put_string(f, ferry__hub_entry_lfs_oid(e)))) break;
      fprintf(f, ",\n   \"lfs_size\": %llu", (unsigned long long)ferry__hub_entry_lfs_size(e));
    }
    if (ferry__hub_entry_xet_hash(e)[0]) {
      fputs(",\n   \"xet_hash\": ", f);
      if ((r = put_string(f, ferry__hub_entry_xet_hash(e)))) break;
    }
    fputs("\n  }", f);
  }
  if (!r) fputs(s->n ? "\n }\n}" : "}\n}", f);
  return r;
}

static int emit_sorted(FILE *f, void *sorted) { return emit_tree_cache(sorted, f); }

int ferry__hub_tree_cache_serialize(const struct ferry__hub_tree *t, char **out, size_t *len) {
  *out = NULL;
  *len = 0;
  struct sorted s;
  int r = sort_files(t, &s);
  if (r) return r;
  FILE *f = open_memstream(out, len);
  if (!f) r = FERRY_E_NOMEM;
  else if (!(r = emit_sorted(f, &s)) && ferror(f)) r = FERRY_E_NOMEM;
  if (f && fclose(f) != 0 && !r) r = FERRY_E_NOMEM;
  free(s.v);
  if (r) {
    free(*out);
    *out = NULL;
    *len = 0;
  }
  return r;
}

/* ---- reading trees/<commit>.json, one entry at a time ------------------------------------ */

/* A JSON document of jansson objects costs about 3 KiB per file here (a hash table per
 * object): 20,000 cached files were 67 MB. So only the two outer objects are walked here (the
 * structure: whitespace, braces, colons, commas), and jansson decodes each key and each
 * file's small object on its own (JSON_DISABLE_EOF_CHECK: it reports where the value ended).
 * From a file, the text goes through a window (a million files' cache is over 100 MB): it is
 * refilled whenever less than half of it lies ahead, so a value of up to half the window is
 * always whole in it; a longer one reads as malformed JSON (the tree is listed again). */
struct cursor {
  const char *s;
  size_t len, i;
  FILE *f;       /* NULL: s is the whole text */
  char *buf;     /* the window (s == buf) */
  size_t window;
  int read_error;
};

/* From a file: the text ahead of i topped up to the window, once half of it is consumed. */
static void refill(struct cursor *c) {
  if (!c->f || c->len - c->i >= c->window / 2) return;
  memmove(c->buf, c->buf + c->i, c->len - c->i);
  c->len -= c->i;
  c->i = 0;
  while (c->f && c->len < c->window) {
    size_t got = fread(c->buf + c->len, 1, c->window - c->len, c->f);
    c->len += got;
    if (got == 0) {
      c->read_error = ferror(c->f);
      c->f = NULL; /* the end: nothing more comes */
    }
  }
}

static int at(struct cursor *c, char ch) {
  for (;; c->i++) {
    refill(c);
    if (c->i >= c->len || (c->s[c->i] != ' ' && c->s[c->i] != '\t' && c->s[c->i] != '\n' &&
                           c->s[c->i] != '\r'))
      break;
  }
  if (c->i >= c->len || c->s[c->i] != ch) return 0;
  c->i++;
  return 1;
}

static json_t *value(struct cursor *c) {
  json_error_t je;
  at(c, 0); /* skips whitespace only */
  json_t *v = json_loadb(c->s + c->i, c->len - c->i, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &je);
  if (v) c->i += (size_t)je.position;
  return v;
}

/* `"key":` of an object being walked, into *key (a jansson string to decref); 0 or -1. */
static int member_key(struct cursor *c, json_t **key) {
  *key = value(c);
  if (!json_is_string(*key) || !at(c, ':')) {
    json_decref(*key);
    *key = NULL;
    return -1;
  }
  return 0;
}

/* One file of the "files" object into t. */
static int cache_entry(const char *key, const json_t *info, struct ferry__hub_tree *t, char *why,
                       size_t why_len) {
  struct ferry__hub_entry e;
  memset(&e, 0, sizeof(e));
  struct entry_text x = {"", "", ""};
  uint64_t lfs_size = 0;
  int r = ferry__hub_path_check(key, why, why_len);
  if (r) return r;
  const json_t *ls = json_object_get(info, "lfs_sha256"), *xh = json_object_get(info, "xet_hash");
  if (!json_is_object(info) || get_size(json_object_get(info, "size"), &e.size) != 0 ||
      copy_str(json_object_get(info, "blob_id"), x.oid, sizeof(x.oid)) != 0 || !is_hex(x.oid, 40) ||
      (ls && !json_is_null(ls) &&
       (copy_str(ls, x.lfs_oid, sizeof(x.lfs_oid)) != 0 || !is_hex(x.lfs_oid, 64) ||
        get_size(json_object_get(info, "lfs_size"), &lfs_size) != 0)) ||
      (xh && !json_is_null(xh) && copy_str(xh, x.xet_hash, sizeof(x.xet_hash)) != 0))
    return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "tree cache entry is malformed");
  if ((r = pack(t, &e, key, &x, lfs_size))) return r;
  return push(t, &e); /* on failure the whole tree goes */
}

/* The "files" object, entry by entry. */
static int cache_files(struct cursor *c, struct ferry__hub_tree *t, char *why, size_t why_len) {
  if (!at(c, '{'))
    return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "tree cache has no files object");
  if (at(c, '}')) return 0;
  int r = 0;
  do {
    json_t *key = NULL, *info = NULL;
    if (member_key(c, &key) != 0 || !(info = value(c)))
      r = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "malformed JSON in the tree cache");
    else
      r = cache_entry(json_string_value(key), info, t, why, why_len);
    json_decref(key);
    json_decref(info);
  } while (!r && at(c, ','));
  if (!r && !at(c, '}'))
    r = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "malformed JSON in the tree cache");
  return r;
}

static int by_path(const void *a, const void *b) {
  return strcmp(((const struct ferry__hub_entry *)a)->path, ((const struct ferry__hub_entry *)b)->path);
}

/* Files in path order (the cache is written so: then no sort), each named once. */
static int sorted_once(struct ferry__hub_tree *t, char *why, size_t why_len) {
  size_t k = 1;
  while (k < t->n && strcmp(t->v[k - 1].path, t->v[k].path) < 0) k++;
  if (k < t->n) qsort(t->v, t->n, sizeof(*t->v), by_path);
  for (k = 1; k < t->n; k++)
    if (!strcmp(t->v[k - 1].path, t->v[k].path))
      return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "tree cache names a file twice");
  return 0;
}

static int cache_parse(struct cursor *c, struct ferry__hub_tree *t, char *why, size_t why_len) {
  ferry__hub_tree_init(t);
  int r = 0, version = 0, files = 0;
  if (!at(c, '{') || at(c, '}'))
    r = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "tree cache is not a JSON object");
  while (!r) {
    json_t *key = NULL;
    if (member_key(c, &key) != 0) {
      r = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "malformed JSON in the tree cache");
      break;
    }
    if (!strcmp(json_string_value(key), "files")) {
      r = files++ ? ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "tree cache has two files objects")
                  : cache_files(c, t, why, why_len);
    } else { /* format_version, or a key a later version adds */
      json_t *v = value(c);
      if (!v) r = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "malformed JSON in the tree cache");
      else if (!strcmp(json_string_value(key), "format_version"))
        version = json_is_integer(v) && json_integer_value(v) == 1 ? 1 : -1;
      json_decref(v);
    }
    json_decref(key);
    if (r || at(c, '}')) break;
    if (!at(c, ','))
      r = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "malformed JSON in the tree cache");
  }
  if (!r && (at(c, 0), c->i != c->len))
    r = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "tree cache has data after its object");
  if (!r && version != 1)
    r = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "tree cache has an unknown format_version");
  if (!r && !files)
    r = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "tree cache has no files object");
  if (c->read_error) r = ferry__hub_why(FERRY_E_IO, why, why_len, "cannot read the tree cache");
  if (!r) r = sorted_once(t, why, why_len);
  if (r) ferry__hub_tree_free(t);
  return r;
}

int ferry__hub_tree_cache_parse(const char *json, size_t len, struct ferry__hub_tree *t,
                                char *why, size_t why_len) {
  ferry__hub_tree_init(t);
  if (len > FERRY__HUB_JSON_MAX)
    return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "tree cache too large (%zu bytes)", len);
  struct cursor c = {.s = json, .len = len};
  return cache_parse(&c, t, why, why_len);
}

int ferry__hub_tree_cache_parse_file(FILE *f, size_t window, struct ferry__hub_tree *t,
                                     char *why, size_t why_len) {
  ferry__hub_tree_init(t);
  struct cursor c = {.f = f, .window = window < 2 ? 2 : window};
  if (!(c.buf = malloc(c.window))) return FERRY_E_NOMEM;
  c.s = c.buf;
  int r = cache_parse(&c, t, why, why_len);
  free(c.buf);
  return r;
}


int ferry__hub_tree_cache_write(const char *folder, const char *commit,
                                const struct ferry__hub_tree *t) {
  char *path = NULL;
  struct sorted s = {0};
  int r = ferry__hub_tree_cache_path(folder, commit, &path);
  if (!r) r = sort_files(t, &s);
  if (!r) r = ferry__write_atomic_with(path, 0666, emit_sorted, &s);
  free(path);
  free(s.v);
  return r;
}

int ferry__hub_tree_cache_read(const char *folder, const char *commit, struct ferry__hub_tree *t,
                               int *found, char *why, size_t why_len) {
  ferry__hub_tree_init(t);
  *found = 0;
  char *path = NULL;
  int r = ferry__hub_tree_cache_path(folder, commit, &path);
  FILE *f = r ? NULL : fopen(path, "re");
  free(path);
  if (r || !f) return r ? r : errno == ENOENT ? 0 : ferry__errno_to_err(errno);
  *found = 1;
  r = ferry__hub_tree_cache_parse_file(f, FERRY__HUB_TREE_CACHE_WINDOW, t, why, why_len);
  if (r) *found = 0;
  fclose(f);
  return r;
}
