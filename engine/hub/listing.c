/* listing.c: what is in a repo and which repos there are (hub-protocol.md §7.3-§7.5): the
 * tree with sizes and LFS flags (every page), the repo's metadata with its files
 * (huggingface_hub's repo_info(files_metadata=True)), and the search of models, datasets and
 * spaces (list_models & co., Link pagination bounded by the limit). Tree pages are parsed by
 * tree.c; the base of repo info too. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"

#define SEARCH_DEFAULT_LIMIT 30  /* hf models ls */
#define SEARCH_MAX_LIMIT 100000
#define SEARCH_PAGE_MAX 1000     /* the most the Hub gives in one page */

int ferry__hub_next_page_path(const char *endpoint, const char *link, char **out) {
  *out = NULL;
  char *url = NULL;
  if (ferry__hub_link_next(link, strlen(link), &url)) return FERRY_E_PROTOCOL;
  if (!url) return 0;
  size_t n = strlen(endpoint);
  int err = 0;
  if (strncmp(url, endpoint, n) != 0 || url[n] != '/' || !ferry__hub_same_origin(url, endpoint))
    err = FERRY_E_PROTOCOL;
  else if (!(*out = strdup(url + n)))
    err = FERRY_E_NOMEM;
  free(url);
  return err;
}

/* The next page of a listing answer, as a path for ferry_hub_call; *out = NULL at the end. */
static int next_page(struct ferry_hub_client *c, const struct ferry_hub_reply *rep, char **out,
                     char *why, size_t why_len) {
  *out = NULL;
  char link[FERRY__HUB_URL_MAX];
  if (ferry_hub_reply_header(rep, "link", link, sizeof(link))) return 0;
  const char *e = ferry_hub_client_endpoint(c);
  int err = ferry__hub_next_page_path(e, link, out);
  if (err == FERRY_E_PROTOCOL)
    ferry__hub_why(err, why, why_len,
                   "malformed Link header from the Hub, or a next page outside %s", e);
  return err;
}

int ferry__hub_tree_walk(struct ferry_hub_client *c, const char *url,
                         struct ferry__hub_tree *tree, char commit[41], int *pages,
                         struct ferry_hub_reply *failed, char *why, size_t why_len) {
  memset(failed, 0, sizeof(*failed));
  if (pages) *pages = 0;
  if (commit) commit[0] = 0;
  const char *e = ferry_hub_client_endpoint(c);
  char *next = strdup(url), *path = NULL;
  int err = next ? 0 : FERRY_E_NOMEM;
  for (int page = 0; next && !err; page++) {
    if (page == FERRY__HUB_MAX_PAGES) {
      err = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "the listing did not end after %d pages",
                           FERRY__HUB_MAX_PAGES);
      break;
    }
    struct ferry_hub_reply rep;
    err = ferry__hub_client_call_url(c, "GET", next, NULL, NULL, NULL, 0, 1, &rep);
    free(next);
    next = NULL;
    if (err) {
      *failed = rep; /* the caller says what failed, and frees it */
      break;
    }
    if (pages) (*pages)++;
    if (page == 0 && commit) {
      char sha[64] = "";
      ferry_hub_reply_header(&rep, "x-repo-commit", sha, sizeof(sha));
      if (ferry__hub_is_commit(sha)) memcpy(commit, sha, 41);
    }
    char reason[256] = "";
    if ((err = ferry__hub_tree_parse_page(rep.body, rep.body_len, tree, reason, sizeof(reason))))
      ferry__hub_why(err, why, why_len, "malformed tree listing from the Hub: %s", reason);
    else if (!(err = next_page(c, &rep, &path, why, why_len)) && path &&
             ferry__hub_fmt(&next, FERRY__HUB_URL_MAX, "%s%s", e, path))
      err = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "the next page's URL is too long");
    free(path);
    path = NULL;
    ferry_hub_reply_free(&rep);
  }
  free(next);
  char reason[256] = "";
  if (!err && (err = ferry__hub_tree_check_unique(tree, reason, sizeof(reason))))
    ferry__hub_why(err, why, why_len, "malformed tree listing from the Hub: %s", reason);
  return err;
}

/* A JSON string into out[cap] ("" when absent or too long). */
static void copy_string(const json_t *j, char *out, size_t cap) {
  out[0] = 0;
  if (json_is_string(j) && json_string_length(j) < cap)
    memcpy(out, json_string_value(j), json_string_length(j) + 1);
}

static int64_t get_count(const json_t *j) {
  return json_is_integer(j) && json_integer_value(j) >= 0 ? (int64_t)json_integer_value(j) : -1;
}

static int get_bool(const json_t *j) { return json_is_boolean(j) ? json_is_true(j) : -1; }

/* "gated": false, "auto" or "manual" as the Hub sends it. */
static void gated_string(const json_t *j, char out[16]) {
  out[0] = 0;
  if (json_is_false(j)) snprintf(out, 16, "false");
  else copy_string(j, out, 16);
}

/* ---- tree -------------------------------------------------------------------------------- */

static int entry_from(const struct ferry__hub_entry *e, struct ferry_hub_tree_entry *out) {
  memset(out, 0, sizeof(*out));
  out->is_dir = e->is_dir;
  out->size = e->size;
  out->lfs = e->has_lfs;
  char oid[FERRY__HUB_OID_TEXT];
  snprintf(out->oid, sizeof(out->oid), "%s", ferry__hub_entry_oid(e, oid));
  if (e->has_lfs)
    snprintf(out->lfs_sha256, sizeof(out->lfs_sha256), "%s", ferry__hub_entry_lfs_oid(e));
  out->path = strdup(e->path);
  return out->path ? 0 : FERRY_E_NOMEM;
}

static void free_entries(struct ferry_hub_tree_entry *v, size_t n) {
  for (size_t i = 0; v && i < n; i++) free(v[i].path);
  free(v);
}

int ferry__hub_path_info(struct ferry_hub_client *c, const struct ferry__hub_repo *r,
                         const char *rev, const char *file, struct ferry__hub_tree *tree,
                         char commit[41]) {
  char *qrev = NULL, *suffix = NULL, *path = NULL, *body = NULL;
  json_t *req = json_pack("{s:[s], s:b}", "paths", file, "expand", 0);
  int err = req ? ferry__hub_quote(rev, 0, &qrev) : FERRY_E_NOMEM;
  if (!err) err = ferry__hub_fmt(&suffix, FERRY__HUB_URL_MAX, "/paths-info/%s", qrev);
  if (!err) err = ferry__hub_repo_api_path(r, suffix, &path);
  if (!err && !(body = json_dumps(req, JSON_COMPACT))) err = FERRY_E_NOMEM;
  struct ferry_hub_reply rep;
  memset(&rep, 0, sizeof(rep));
  char why[256];
  if (!err) err = ferry__hub_api(c, "POST", path, body, &rep, "paths-info", why, sizeof(why));
  if (!err) {
    struct ferry__hub_tree one;
    ferry__hub_tree_init(&one);
    err = ferry__hub_tree_parse_page(rep.body, rep.body_len, &one, why, sizeof(why));
    if (!err && (one.n != 1 || one.v[0].is_dir || strcmp(one.v[0].path, file)))
      err = FERRY_E_HUB_ENTRY_NOT_FOUND; /* a folder would have had a tree */
    if (!err) {
      char sha[64] = "";
      ferry_hub_reply_header(&rep, "x-repo-commit", sha, sizeof(sha));
      if (ferry__hub_is_commit(sha)) memcpy(commit, sha, 41);
      ferry__hub_tree_free(tree);
      *tree = one;
    } else {
      ferry__hub_tree_free(&one);
    }
  }
  ferry_hub_reply_free(&rep);
  json_decref(req);
  free(qrev), free(suffix), free(path), free(body);
  return err;
}

int ferry_hub_card_fetch(struct ferry_hub_client *c, const char *repo_id, const char *repo_type,
                         const char *revision, char **text, size_t *len, char *why,
                         size_t why_len) {
  *text = NULL;
  *len = 0;
  struct ferry__hub_repo r;
  const char *rev = revision ? revision : "main";
  char reason[256] = "", *url = NULL;
  int err = ferry__hub_repo_arg(repo_id, repo_type, &r, why, why_len);
  if (err) return err;
  if (ferry__hub_revision_validate(rev, reason, sizeof(reason)))
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "invalid revision: %s", reason);
  if ((err = ferry__hub_url_resolve(ferry_hub_client_endpoint(c), &r, rev, "README.md", &url)))
    return ferry__hub_why(err, why, why_len, "the request is too long");
  struct ferry_hub_reply rep;
  /* the Hub's own origin (a card is a regular file, not redirected to a CDN): the token goes */
  err = ferry__hub_client_call_url(c, "GET", url, "text/plain, */*", NULL, NULL, 0, 1, &rep);
  free(url);
  if (err) {
    ferry__hub_why(err, why, why_len, "cannot get the card of %s at %.255s: %s", r.id, rev,
                   err == FERRY_E_HUB_ENTRY_NOT_FOUND ? "the repo has no README.md"
                                                      : rep.message);
  } else if (!(*text = malloc(rep.body_len + 1))) {
    err = FERRY_E_NOMEM;
  } else {
    memcpy(*text, rep.body, rep.body_len);
    (*text)[rep.body_len] = 0;
    *len = rep.body_len;
  }
  ferry_hub_reply_free(&rep);
  return err;
}

int ferry_hub_list_tree(struct ferry_hub_client *c, const char *repo_id, const char *repo_type,
                        const char *revision, const char *path, int recursive,
                        struct ferry_hub_tree_listing *out, char *why, size_t why_len) {
  memset(out, 0, sizeof(*out));
  struct ferry__hub_repo r;
  const char *rev = revision ? revision : "main";
  char reason[256] = "";
  int err = ferry__hub_repo_arg(repo_id, repo_type, &r, why, why_len);
  if (err) return err;
  if (ferry__hub_revision_validate(rev, reason, sizeof(reason)))
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "invalid revision: %s", reason);
  /* "sub/dir/" and "/sub" name the same folder; ".." and friends are refused. */
  char folder[FERRY__HUB_PATH_MAX + 1] = "";
  if (path) {
    while (*path == '/') path++;
    size_t n = strlen(path);
    while (n && path[n - 1] == '/') n--;
    if (n > FERRY__HUB_PATH_MAX)
      return ferry__hub_why(FERRY_E_INVAL, why, why_len, "path is too long");
    memcpy(folder, path, n);
    folder[n] = 0;
    if (n && ferry__hub_path_check(folder, reason, sizeof(reason)))
      return ferry__hub_why(FERRY_E_INVAL, why, why_len, "invalid path: %s", reason);
  }
  char *url = NULL;
  const char *e = ferry_hub_client_endpoint(c);
  if ((err = ferry__hub_url_tree(e, &r, rev, folder, recursive, 0, &url)))
    return ferry__hub_why(err, why, why_len, "the request is too long");
  char what[FERRY__HUB_REPO_ID_MAX + 1024]; /* a long path is cut in the message */
  snprintf(what, sizeof(what), "cannot list %s at %.255s%s%.700s", r.id, rev,
           folder[0] ? ":" : "", folder);
  struct ferry__hub_tree tree;
  ferry__hub_tree_init(&tree);
  struct ferry_hub_reply failed;
  char walk_why[1024] = "";
  err = ferry__hub_tree_walk(c, url, &tree, out->commit, &out->pages, &failed, walk_why,
                             sizeof(walk_why));
  free(url);
  if (err == FERRY_E_HUB_ENTRY_NOT_FOUND && folder[0] &&
      ferry__hub_path_info(c, &r, rev, folder, &tree, out->commit) == 0)
    err = 0;
  if (err && failed.error)
    ferry__hub_why(err, why, why_len, "%s: %s", what, failed.message);
  else if (err)
    ferry__hub_why(err, why, why_len, "%s: %s", what, walk_why);
  ferry_hub_reply_free(&failed);
  if (!err && !(out->entries = calloc(tree.n ? tree.n : 1, sizeof(*out->entries))))
    err = FERRY_E_NOMEM;
  for (size_t i = 0; !err && i < tree.n; i++) {
    struct ferry_hub_tree_entry *t = &out->entries[out->n];
    if ((err = entry_from(&tree.v[i], t))) break;
    out->n++;
    if (t->is_dir) {
      out->n_dirs++;
    } else {
      out->n_files++;
      out->n_lfs += t->lfs;
      out->total_size += t->size;
    }
  }
  ferry__hub_tree_free(&tree);
  if (err) ferry_hub_tree_listing_free(out);
  return err;
}

void ferry_hub_tree_listing_free(struct ferry_hub_tree_listing *l) {
  free_entries(l->entries, l->n);
  memset(l, 0, sizeof(*l));
}

/* ---- repo info --------------------------------------------------------------------------- */

/* The siblings with their sizes and LFS objects (present with blobs=true). */
static int parse_files(const json_t *siblings, struct ferry_hub_info *out, char *why,
                       size_t why_len) {
  size_t n = json_array_size(siblings);
  if (!(out->files = calloc(n ? n : 1, sizeof(*out->files)))) return FERRY_E_NOMEM;
  for (size_t i = 0; i < n; i++) {
    const json_t *s = json_array_get(siblings, i), *lfs = json_object_get(s, "lfs");
    const char *name = json_string_value(json_object_get(s, "rfilename"));
    char reason[256];
    if (!name || ferry__hub_path_check(name, reason, sizeof(reason)))
      return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "sibling %zu: %s", i,
                            name ? reason : "no rfilename");
    struct ferry_hub_tree_entry *f = &out->files[out->n_files++];
    if (!(f->path = strdup(name))) return FERRY_E_NOMEM;
    int64_t size = get_count(json_object_get(s, "size"));
    f->size = size > 0 ? (uint64_t)size : 0;
    copy_string(json_object_get(s, "blobId"), f->oid, sizeof(f->oid));
    if (json_is_object(lfs)) {
      f->lfs = 1;
      copy_string(json_object_get(lfs, "sha256"), f->lfs_sha256, sizeof(f->lfs_sha256));
      if (size < 0 && (size = get_count(json_object_get(lfs, "size"))) > 0)
        f->size = (uint64_t)size;
      out->n_lfs++;
    }
    out->total_size += f->size;
  }
  return 0;
}

int ferry_hub_repo_info(struct ferry_hub_client *c, const char *repo_id, const char *repo_type,
                        const char *revision, struct ferry_hub_info *out, char *why,
                        size_t why_len) {
  memset(out, 0, sizeof(*out));
  out->is_private = out->disabled = -1;
  out->downloads = out->likes = -1;
  struct ferry__hub_repo r;
  char reason[256] = "", *qrev = NULL, *suffix = NULL, *path = NULL;
  int err = ferry__hub_repo_arg(repo_id, repo_type, &r, why, why_len);
  if (err) return err;
  if (revision && ferry__hub_revision_validate(revision, reason, sizeof(reason)))
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "invalid revision: %s", reason);
  /* Without a revision, huggingface_hub asks for the repo itself (its default branch). */
  if (revision) err = ferry__hub_quote(revision, 0, &qrev);
  if (!err)
    err = ferry__hub_fmt(&suffix, FERRY__HUB_URL_MAX, "%s%s?blobs=true", qrev ? "/revision/" : "",
                         qrev ? qrev : "");
  if (!err) err = ferry__hub_repo_api_path(&r, suffix, &path);
  free(qrev);
  free(suffix);
  if (err) return ferry__hub_why(err, why, why_len, "the request is too long");
  char what[FERRY__HUB_REPO_ID_MAX + 320];
  snprintf(what, sizeof(what), "cannot get the info of %s%s%s", r.id, revision ? "@" : "",
           revision ? revision : "");
  struct ferry_hub_reply rep;
  err = ferry__hub_api(c, "GET", path, NULL, &rep, what, why, why_len);
  free(path);
  struct ferry__hub_repo_info base;
  memset(&base, 0, sizeof(base));
  if (!err && (err = ferry__hub_repo_info_parse(rep.body, rep.body_len, &base, reason,
                                                sizeof(reason))))
    ferry__hub_why(err, why, why_len, "%s: malformed answer from the Hub: %s", what, reason);
  json_t *j = err ? NULL : json_loadb(rep.body, rep.body_len, 0, NULL);
  if (!err && !j) err = FERRY_E_NOMEM;
  if (!err) {
    snprintf(out->repo_id, sizeof(out->repo_id), "%s", base.id);
    snprintf(out->repo_type, sizeof(out->repo_type), "%s", ferry__hub_repo_type_name(r.type));
    memcpy(out->sha, base.sha, sizeof(out->sha));
    out->is_private = base.is_private;
    out->disabled = base.disabled;
    gated_string(json_object_get(j, "gated"), out->gated);
    copy_string(json_object_get(j, "lastModified"), out->last_modified, sizeof(out->last_modified));
    copy_string(json_object_get(j, "createdAt"), out->created_at, sizeof(out->created_at));
    out->downloads = get_count(json_object_get(j, "downloads"));
    out->likes = get_count(json_object_get(j, "likes"));
    const json_t *card = json_object_get(j, "cardData");
    if (json_is_object(card) && !(out->card_data = json_dumps(card, JSON_COMPACT)))
      err = FERRY_E_NOMEM;
    if (!err) err = parse_files(json_object_get(j, "siblings"), out, why, why_len);
    if (err == FERRY_E_PROTOCOL) {
      char detail[512];
      snprintf(detail, sizeof(detail), "%s", why ? why : "");
      ferry__hub_why(err, why, why_len, "%s: malformed answer from the Hub: %s", what, detail);
    }
  }
  json_decref(j);
  ferry__hub_repo_info_free(&base);
  ferry_hub_reply_free(&rep);
  if (err) ferry_hub_info_free(out);
  return err;
}

void ferry_hub_info_free(struct ferry_hub_info *info) {
  free_entries(info->files, info->n_files);
  free(info->card_data);
  info->files = NULL;
  info->card_data = NULL;
  info->n_files = 0;
}

/* ---- search ------------------------------------------------------------------------------ */

const char *ferry__hub_sort_key(const char *s) {
  static const char *const map[][2] = {
      {"downloads", "downloads"},       {"likes", "likes"},
      {"created", "createdAt"},         {"created_at", "createdAt"},
      {"createdAt", "createdAt"},       {"modified", "lastModified"},
      {"last_modified", "lastModified"}, {"lastModified", "lastModified"},
      {"trending", "trendingScore"},    {"trending_score", "trendingScore"},
      {"trendingScore", "trendingScore"}};
  for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++)
    if (!strcmp(s, map[i][0])) return map[i][1];
  return NULL;
}

/* Appends "&key=quote(value)" to *q (a malloc'd string). */
static int add_param(char **q, const char *key, const char *value) {
  char *qv = NULL, *next = NULL;
  int err = ferry__hub_quote(value, 0, &qv);
  if (!err) err = ferry__hub_fmt(&next, FERRY__HUB_URL_MAX, "%s&%s=%s", *q, key, qv);
  free(qv);
  if (err) return err;
  free(*q);
  *q = next;
  return 0;
}

static int parse_item(const json_t *o, struct ferry_hub_search_item *it) {
  memset(it, 0, sizeof(*it));
  const char *id = json_string_value(json_object_get(o, "id"));
  if (!id || strlen(id) > FERRY__HUB_REPO_ID_MAX + 16) return FERRY_E_PROTOCOL;
  it->is_private = get_bool(json_object_get(o, "private"));
  gated_string(json_object_get(o, "gated"), it->gated);
  it->downloads = get_count(json_object_get(o, "downloads"));
  it->likes = get_count(json_object_get(o, "likes"));
  copy_string(json_object_get(o, "lastModified"), it->last_modified, sizeof(it->last_modified));
  copy_string(json_object_get(o, "createdAt"), it->created_at, sizeof(it->created_at));
  const char *pt = json_string_value(json_object_get(o, "pipeline_tag"));
  if (!(it->id = strdup(id)) || (pt && !(it->pipeline_tag = strdup(pt)))) return FERRY_E_NOMEM;
  return 0;
}

/* The first request's path: /api/{Ts}?search=..&author=..&filter=..&sort=..&limit=.. plus the
 * fields it displays as expand= (the Hub then sends those, as the JavaScript client asks). */
static int search_path(const struct ferry_hub_search_opts *o, enum ferry__hub_repo_type t,
                       size_t page_size, char **out, char *why, size_t why_len) {
  static const char *const expand[3][8] = {
      {"private", "gated", "downloads", "likes", "lastModified", "createdAt", "pipeline_tag"},
      {"private", "gated", "downloads", "likes", "lastModified", "createdAt"},
      {"private", "likes", "lastModified", "createdAt"}};
  const char *sort = NULL;
  if (o->sort && !(sort = ferry__hub_sort_key(o->sort)))
    return ferry__hub_why(FERRY_E_INVAL, why, why_len,
                          "invalid sort '%s': expected downloads, likes, created, modified or "
                          "trending",
                          o->sort);
  if (sort && t == FERRY__HUB_SPACE && !strcmp(sort, "downloads"))
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "spaces cannot be sorted by downloads");
  char *q = strdup("");
  int err = q ? 0 : FERRY_E_NOMEM;
  if (!err && o->query && *o->query) err = add_param(&q, "search", o->query);
  if (!err && o->author && *o->author) err = add_param(&q, "author", o->author);
  for (size_t i = 0; !err && i < o->n_filters; i++) err = add_param(&q, "filter", o->filters[i]);
  if (!err && sort) err = add_param(&q, "sort", sort);
  for (size_t i = 0; !err && expand[t][i]; i++) err = add_param(&q, "expand", expand[t][i]);
  if (!err)
    err = ferry__hub_fmt(out, FERRY__HUB_URL_MAX, "/api/%s?limit=%zu%s",
                         ferry__hub_repo_type_plural(t), page_size, q);
  free(q);
  if (err == FERRY_E_INVAL) ferry__hub_why(err, why, why_len, "the search request is too long");
  return err;
}

/* Room for `want` results in r->items (cap: its current size), grown as pages come so that a
 * large --limit costs nothing up front. */
static int reserve(struct ferry_hub_search_result *r, size_t *cap, size_t want) {
  if (want <= *cap) return 0;
  size_t n = *cap ? *cap : 32;
  while (n < want) n *= 2;
  struct ferry_hub_search_item *v = realloc(r->items, n * sizeof(*v));
  if (!v) return FERRY_E_NOMEM;
  r->items = v;
  *cap = n;
  return 0;
}

int ferry_hub_search(struct ferry_hub_client *c, const struct ferry_hub_search_opts *o,
                     struct ferry_hub_search_result *out, char *why, size_t why_len) {
  memset(out, 0, sizeof(*out));
  enum ferry__hub_repo_type t = FERRY__HUB_MODEL;
  int err = o->repo_type ? ferry__hub_repo_type_parse(o->repo_type, &t, why, why_len) : 0;
  if (err) return err;
  size_t limit = o->limit ? o->limit : SEARCH_DEFAULT_LIMIT;
  if (limit > SEARCH_MAX_LIMIT)
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "limit is at most %d", SEARCH_MAX_LIMIT);
  char *page = NULL;
  if ((err = search_path(o, t, limit < SEARCH_PAGE_MAX ? limit : SEARCH_PAGE_MAX, &page, why,
                         why_len)))
    return err;
  char what[64];
  snprintf(what, sizeof(what), "cannot search %s", ferry__hub_repo_type_plural(t));
  size_t cap = 0;
  while (page && !err && out->n < limit && out->pages < FERRY__HUB_MAX_PAGES) {
    struct ferry_hub_reply rep;
    err = ferry__hub_api(c, "GET", page, NULL, &rep, what, why, why_len);
    free(page);
    page = NULL;
    out->pages++;
    json_t *j = err || rep.body_len > FERRY__HUB_JSON_MAX
                    ? NULL
                    : json_loadb(rep.body, rep.body_len, 0, NULL);
    if (!err && !json_is_array(j))
      err = ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "%s: the Hub's answer is not a list",
                           what);
    size_t n = json_array_size(j);
    if (!err && (err = reserve(out, &cap, out->n + (n < limit - out->n ? n : limit - out->n))))
      ferry__hub_why(err, why, why_len, "out of memory");
    for (size_t i = 0; !err && i < n && out->n < limit; i++) {
      if ((err = parse_item(json_array_get(j, i), &out->items[out->n]))) {
        free(out->items[out->n].id);
        ferry__hub_why(err, why, why_len, "%s: malformed result %zu from the Hub", what, i);
      } else {
        out->n++;
      }
    }
    /* An empty page that still links further would loop: stop there. */
    if (!err && n) err = next_page(c, &rep, &page, why, why_len);
    json_decref(j);
    ferry_hub_reply_free(&rep);
  }
  free(page);
  if (err) ferry_hub_search_result_free(out);
  return err;
}

void ferry_hub_search_result_free(struct ferry_hub_search_result *r) {
  for (size_t i = 0; r->items && i < r->n; i++) {
    free(r->items[i].id);
    free(r->items[i].pipeline_tag);
  }
  free(r->items);
  memset(r, 0, sizeof(*r));
}
