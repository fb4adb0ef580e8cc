/* repos.c: repo management on the Hub as huggingface_hub's HfApi does it (hub-protocol.md
 * §6.1, §6.2, §7.1): create, delete, settings, move, branches, tags and refs. Each function
 * checks its arguments before any request, then makes one API call through the client
 * (client.c), which maps the Hub's error answers to FERRY_E_HUB_* codes. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub.h"

#define CONFLICT_TRIES 5 /* "another conflicting operation is in progress": wait and retry */

static const char *const space_sdks[] = {"gradio", "streamlit", "docker", "static"};

int ferry__hub_api(struct ferry_hub_client *c, const char *method, const char *path,
                   const char *body_json, struct ferry_hub_reply *out, const char *what,
                   char *why, size_t why_len) {
  int err = ferry_hub_call(c, method, path, body_json ? "application/json" : NULL, body_json,
                           body_json ? strlen(body_json) : 0, out);
  if (err)
    ferry__hub_why(err, why, why_len, "%s: %s", what,
                   out->message[0] ? out->message : ferry_strerror(err));
  return err;
}

int ferry__hub_repo_arg(const char *repo_id, const char *repo_type, struct ferry__hub_repo *out,
                        char *why, size_t why_len) {
  if (!repo_id) return ferry__hub_why(FERRY_E_INVAL, why, why_len, "no repo id given");
  return ferry__hub_repo_parse(repo_id, repo_type, out, why, why_len);
}

int ferry_hub_repo_id_parse(const char *repo_id, const char *repo_type, char id_out[256],
                            char type_out[16], char *why, size_t why_len) {
  struct ferry__hub_repo r;
  id_out[0] = type_out[0] = 0;
  int err = ferry__hub_repo_arg(repo_id, repo_type, &r, why, why_len);
  if (err) return err;
  snprintf(id_out, 256, "%s", r.id);
  snprintf(type_out, 16, "%s", ferry__hub_repo_type_name(r.type));
  return 0;
}

int ferry__hub_repo_api_path(const struct ferry__hub_repo *r, const char *suffix, char **out) {
  return ferry__hub_fmt(out, FERRY__HUB_URL_MAX, "/api/%s/%s%s",
                        ferry__hub_repo_type_plural(r->type), r->id, suffix ? suffix : "");
}

/* The compact text of a JSON value, which is released. NULL when out of memory. */
static char *dump(json_t *j) {
  char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  return s;
}

/* {"name": <name>, "organization": <namespace or null>, "type": <type>}, the body of create
 * and delete (huggingface_hub splits the id the same way). */
static json_t *name_body(const struct ferry__hub_repo *r) {
  const char *slash = strchr(r->id, '/');
  json_t *j = json_object();
  json_object_set_new(j, "name", json_string(slash ? slash + 1 : r->id));
  json_object_set_new(j, "organization",
                      slash ? json_stringn(r->id, (size_t)(slash - r->id)) : json_null());
  json_object_set_new(j, "type", json_string(ferry__hub_repo_type_name(r->type)));
  return j;
}

/* {endpoint}/{P}{id}: the repo's page, as huggingface_hub builds it when the Hub gave none. */
static int local_url(struct ferry_hub_client *c, const struct ferry__hub_repo *r, char **out) {
  return ferry__hub_fmt(out, FERRY__HUB_URL_MAX, "%s/%s%s", ferry_hub_client_endpoint(c),
                        ferry__hub_repo_url_prefix(r->type), r->id);
}

/* The string `key` of a reply's JSON body, copied; NULL when absent. */
static char *body_string(const struct ferry_hub_reply *rep, const char *key) {
  if (!rep->body || rep->body_len > FERRY__HUB_JSON_MAX) return NULL;
  json_t *j = json_loadb(rep->body, rep->body_len, 0, NULL);
  const json_t *v = json_object_get(j, key);
  char *s = json_is_string(v) && strlen(json_string_value(v)) < FERRY__HUB_URL_MAX
                ? strdup(json_string_value(v))
                : NULL;
  json_decref(j);
  return s;
}


/* A name that goes into a URL path as one segment (branch, tag, revision): the same rules as
 * a revision, which is what the Hub resolves it as. */
static int check_ref_name(const char *what, const char *name, char *why, size_t why_len) {
  char reason[256];
  if (ferry__hub_revision_validate(name, reason, sizeof(reason)))
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "invalid %s: %s", what, reason);
  return 0;
}

/* Every write needs a token: without one the Hub answers 401, which reads like a missing repo
 * (§1.6), so say what is wrong before asking. */
static int need_token(struct ferry_hub_client *c, const char *what, char *why, size_t why_len) {
  if (ferry_hub_client_token_source(c) != FERRY_HUB_TOKEN_NONE) return 0;
  return ferry__hub_why(FERRY_E_HUB_AUTH, why, why_len,
                        "%s: no token (set HF_TOKEN, pass --token or log in): changing the Hub "
                        "needs a write token",
                        what);
}

int ferry_hub_repo_create(struct ferry_hub_client *c, const char *repo_id,
                          const char *repo_type, int private_repo, int exist_ok,
                          const char *space_sdk, char **url_out, int *existed, char *why,
                          size_t why_len) {
  *url_out = NULL;
  if (existed) *existed = 0;
  struct ferry__hub_repo r;
  int err = ferry__hub_repo_arg(repo_id, repo_type, &r, why, why_len);
  if (err) return err;
  if (r.type == FERRY__HUB_SPACE) {
    int known = 0;
    for (size_t i = 0; space_sdk && i < sizeof(space_sdks) / sizeof(*space_sdks); i++)
      known |= !strcmp(space_sdk, space_sdks[i]);
    if (!known)
      return ferry__hub_why(FERRY_E_INVAL, why, why_len,
                            "a Space needs an SDK: gradio, streamlit, docker or static%s%s%s",
                            space_sdk ? " (not '" : "", space_sdk ? space_sdk : "",
                            space_sdk ? "')" : "");
  }
  json_t *j = name_body(&r);
  if (private_repo) json_object_set_new(j, "visibility", json_string("private"));
  if (r.type == FERRY__HUB_SPACE) json_object_set_new(j, "sdk", json_string(space_sdk));
  char *body = dump(j);
  if (!body) return FERRY_E_NOMEM;
  char what[FERRY__HUB_REPO_ID_MAX + 64];
  snprintf(what, sizeof(what), "cannot create %s %s", ferry__hub_repo_type_name(r.type), r.id);
  if ((err = need_token(c, what, why, why_len))) {
    free(body);
    return err;
  }
  struct ferry_hub_reply rep;
  for (int attempt = 1;; attempt++) {
    err = ferry__hub_api(c, "POST", "/api/repos/create", body, &rep, what, why, why_len);
    if (err != FERRY_E_HUB_CONFLICT || attempt == CONFLICT_TRIES ||
        !strstr(rep.server_message, "conflicting operation is in progress"))
      break;
    ferry_hub_reply_free(&rep);
    /* A blocking wait is fine here (no loop runs between API calls, and it is a few
     * seconds at most), as long as the stop ends it at once. */
    if (ferry__stop_wait(ferry__engine_user_stop(ferry__hub_client_engine(c)),
                         1000L * attempt)) {
      err = ferry__hub_why(FERRY_E_INTERRUPTED, why, why_len, "%s: interrupted", what);
      rep = (struct ferry_hub_reply){0}; /* freed above */
      break;
    }
  }
  free(body);
  if (!err || (err == FERRY_E_HUB_CONFLICT && exist_ok)) {
    /* The Hub's answer (also the 409's) carries the URL, with the namespace it chose. */
    *url_out = body_string(&rep, "url");
    if (err && existed) *existed = 1;
    if (err && why && why_len) why[0] = 0;
    err = 0;
  } else if (err == FERRY_E_HUB_AUTH && exist_ok && strchr(r.id, '/')) {
    /* No right to create there: fine if the repo exists and we can read it. */
    char *path = NULL;
    struct ferry_hub_reply info = {0};
    if (!ferry__hub_repo_api_path(&r, "", &path) &&
        ferry_hub_call(c, "GET", path, NULL, NULL, 0, &info) == 0) {
      err = 0;
      if (existed) *existed = 1;
      if (why && why_len) why[0] = 0;
    }
    free(path);
    ferry_hub_reply_free(&info);
  } else if (err == FERRY_E_HUB_CONFLICT && why) {
    size_t n = strlen(why);
    if (n + 40 < why_len) snprintf(why + n, why_len - n, " (--exist-ok accepts it)");
  }
  ferry_hub_reply_free(&rep);
  if (!err && !*url_out && (err = local_url(c, &r, url_out)))
    ferry__hub_why(err, why, why_len, "out of memory");
  return err;
}

int ferry_hub_repo_delete(struct ferry_hub_client *c, const char *repo_id,
                          const char *repo_type, int missing_ok, int *was_missing, char *why,
                          size_t why_len) {
  if (was_missing) *was_missing = 0;
  struct ferry__hub_repo r;
  int err = ferry__hub_repo_arg(repo_id, repo_type, &r, why, why_len);
  if (err) return err;
  char *body = dump(name_body(&r));
  if (!body) return FERRY_E_NOMEM;
  char what[FERRY__HUB_REPO_ID_MAX + 64];
  snprintf(what, sizeof(what), "cannot delete %s %s", ferry__hub_repo_type_name(r.type), r.id);
  struct ferry_hub_reply rep = {0};
  if (!(err = need_token(c, what, why, why_len)))
    err = ferry__hub_api(c, "DELETE", "/api/repos/delete", body, &rep, what, why, why_len);
  free(body);
  ferry_hub_reply_free(&rep);
  if (err == FERRY_E_HUB_REPO_NOT_FOUND && missing_ok) {
    if (was_missing) *was_missing = 1;
    if (why && why_len) why[0] = 0;
    err = 0;
  }
  return err;
}

int ferry_hub_repo_settings(struct ferry_hub_client *c, const char *repo_id,
                            const char *repo_type, int private_repo, const char *gated,
                            char *why, size_t why_len) {
  struct ferry__hub_repo r;
  int err = ferry__hub_repo_arg(repo_id, repo_type, &r, why, why_len);
  if (err) return err;
  if (gated && strcmp(gated, "auto") && strcmp(gated, "manual") && strcmp(gated, "false"))
    return ferry__hub_why(FERRY_E_INVAL, why, why_len,
                          "invalid gated value '%s': expected auto, manual or false", gated);
  if (private_repo < -1 || private_repo > 1)
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "invalid visibility");
  if (!gated && private_repo < 0)
    return ferry__hub_why(FERRY_E_INVAL, why, why_len,
                          "nothing to change: give --private, --public or --gated");
  json_t *j = json_object();
  if (gated)
    json_object_set_new(j, "gated", strcmp(gated, "false") ? json_string(gated) : json_false());
  if (private_repo >= 0)
    json_object_set_new(j, "visibility", json_string(private_repo ? "private" : "public"));
  char *body = dump(j), *path = NULL;
  if (!body || (err = ferry__hub_repo_api_path(&r, "/settings", &path))) {
    free(body);
    return err ? err : FERRY_E_NOMEM;
  }
  char what[FERRY__HUB_REPO_ID_MAX + 64];
  snprintf(what, sizeof(what), "cannot change the settings of %s", r.id);
  struct ferry_hub_reply rep = {0};
  if (!(err = need_token(c, what, why, why_len)))
    err = ferry__hub_api(c, "PUT", path, body, &rep, what, why, why_len);
  ferry_hub_reply_free(&rep);
  free(body);
  free(path);
  return err;
}

int ferry_hub_repo_move(struct ferry_hub_client *c, const char *from_id, const char *to_id,
                        const char *repo_type, char **url_out, char *why, size_t why_len) {
  *url_out = NULL;
  struct ferry__hub_repo from, to;
  int err = ferry__hub_repo_arg(from_id, repo_type, &from, why, why_len);
  if (!err)
    err = ferry__hub_repo_arg(to_id, ferry__hub_repo_type_name(from.type), &to, why, why_len);
  if (err) return err;
  if (!strchr(from.id, '/') || !strchr(to.id, '/'))
    return ferry__hub_why(FERRY_E_INVAL, why, why_len,
                          "both repo ids must be 'namespace/name' to move a repo");
  json_t *j = json_pack("{s:s, s:s, s:s}", "fromRepo", from.id, "toRepo", to.id, "type",
                        ferry__hub_repo_type_name(from.type));
  char *body = dump(j);
  if (!body) return FERRY_E_NOMEM;
  char what[2 * FERRY__HUB_REPO_ID_MAX + 64];
  snprintf(what, sizeof(what), "cannot move %s to %s", from.id, to.id);
  struct ferry_hub_reply rep = {0};
  if (!(err = need_token(c, what, why, why_len)))
    err = ferry__hub_api(c, "POST", "/api/repos/move", body, &rep, what, why, why_len);
  ferry_hub_reply_free(&rep);
  free(body);
  if (!err && (err = local_url(c, &to, url_out)))
    ferry__hub_why(err, why, why_len, "out of memory");
  return err;
}

/* POST or DELETE /api/{Ts}/{id}/{kind}/{quote(name)} with an optional JSON body. A 409 with
 * exist_ok is success (*existed = 1). */
static int ref_call(struct ferry_hub_client *c, const struct ferry__hub_repo *r,
                    const char *method, const char *kind, const char *name, json_t *body,
                    int exist_ok, int *existed, const char *what, char *why, size_t why_len) {
  char *qname = NULL, *suffix = NULL, *path = NULL, *text = body ? dump(body) : NULL;
  int err = body && !text ? FERRY_E_NOMEM : ferry__hub_quote(name, 0, &qname);
  if (!err) err = ferry__hub_fmt(&suffix, FERRY__HUB_URL_MAX, "/%s/%s", kind, qname);
  if (!err) err = ferry__hub_repo_api_path(r, suffix, &path);
  if (err) {
    ferry__hub_why(err, why, why_len, "%s: the request is too long", what);
  } else if (!(err = need_token(c, what, why, why_len))) {
    struct ferry_hub_reply rep;
    err = ferry__hub_api(c, method, path, text, &rep, what, why, why_len);
    ferry_hub_reply_free(&rep);
    if (err == FERRY_E_HUB_CONFLICT && exist_ok) {
      if (existed) *existed = 1;
      if (why && why_len) why[0] = 0;
      err = 0;
    }
  }
  free(qname);
  free(suffix);
  free(path);
  free(text);
  return err;
}

int ferry_hub_branch_create(struct ferry_hub_client *c, const char *repo_id,
                            const char *repo_type, const char *branch, const char *revision,
                            int exist_ok, int *existed, char *why, size_t why_len) {
  if (existed) *existed = 0;
  struct ferry__hub_repo r;
  int err = ferry__hub_repo_arg(repo_id, repo_type, &r, why, why_len);
  if (!err) err = check_ref_name("branch name", branch, why, why_len);
  if (!err && revision) err = check_ref_name("revision", revision, why, why_len);
  if (err) return err;
  json_t *body = revision ? json_pack("{s:s}", "startingPoint", revision) : json_object();
  if (!body) return ferry__hub_why(FERRY_E_INVAL, why, why_len, "the revision is not UTF-8");
  char what[FERRY__HUB_REPO_ID_MAX + 320];
  snprintf(what, sizeof(what), "cannot create branch '%s' in %s", branch, r.id);
  return ref_call(c, &r, "POST", "branch", branch, body, exist_ok, existed, what, why, why_len);
}

int ferry_hub_branch_delete(struct ferry_hub_client *c, const char *repo_id,
                            const char *repo_type, const char *branch, char *why,
                            size_t why_len) {
  struct ferry__hub_repo r;
  int err = ferry__hub_repo_arg(repo_id, repo_type, &r, why, why_len);
  if (!err) err = check_ref_name("branch name", branch, why, why_len);
  if (err) return err;
  char what[FERRY__HUB_REPO_ID_MAX + 320];
  snprintf(what, sizeof(what), "cannot delete branch '%s' of %s", branch, r.id);
  return ref_call(c, &r, "DELETE", "branch", branch, NULL, 0, NULL, what, why, why_len);
}

int ferry_hub_tag_create(struct ferry_hub_client *c, const char *repo_id, const char *repo_type,
                         const char *tag, const char *message, const char *revision,
                         int exist_ok, int *existed, char *why, size_t why_len) {
  if (existed) *existed = 0;
  struct ferry__hub_repo r;
  int err = ferry__hub_repo_arg(repo_id, repo_type, &r, why, why_len);
  if (!err) err = check_ref_name("tag name", tag, why, why_len);
  if (!err && revision) err = check_ref_name("revision", revision, why, why_len);
  if (err) return err;
  json_t *body = json_pack("{s:s}", "tag", tag);
  if (body && message && json_object_set_new(body, "message", json_string(message))) {
    json_decref(body);
    body = NULL;
  }
  if (!body)
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "the tag name or message is not UTF-8");
  char what[FERRY__HUB_REPO_ID_MAX + 320];
  snprintf(what, sizeof(what), "cannot create tag '%s' in %s", tag, r.id);
  /* The path names the revision to tag; the tag's name is in the body (§7.1). */
  return ref_call(c, &r, "POST", "tag", revision ? revision : "main", body, exist_ok, existed,
                  what, why, why_len);
}

int ferry_hub_tag_delete(struct ferry_hub_client *c, const char *repo_id, const char *repo_type,
                         const char *tag, char *why, size_t why_len) {
  struct ferry__hub_repo r;
  int err = ferry__hub_repo_arg(repo_id, repo_type, &r, why, why_len);
  if (!err) err = check_ref_name("tag name", tag, why, why_len);
  if (err) return err;
  char what[FERRY__HUB_REPO_ID_MAX + 320];
  snprintf(what, sizeof(what), "cannot delete tag '%s' of %s", tag, r.id);
  return ref_call(c, &r, "DELETE", "tag", tag, NULL, 0, NULL, what, why, why_len);
}

/* One list of the refs answer ({"name", "ref", "targetCommit"} items) into v / n. */
static int parse_refs(const json_t *list, struct ferry_hub_git_ref **v, size_t *n) {
  if (!json_is_array(list)) return FERRY_E_PROTOCOL;
  size_t count = json_array_size(list);
  *v = calloc(count ? count : 1, sizeof(**v));
  if (!*v) return FERRY_E_NOMEM;
  for (size_t i = 0; i < count; i++) {
    const json_t *item = json_array_get(list, i);
    const json_t *name = json_object_get(item, "name"), *ref = json_object_get(item, "ref"),
                 *target = json_object_get(item, "targetCommit");
    if (!json_is_string(name) || !json_is_string(ref) || !json_is_string(target) ||
        !ferry__hub_is_commit(json_string_value(target)))
      return FERRY_E_PROTOCOL;
    struct ferry_hub_git_ref *g = &(*v)[(*n)++];
    g->name = strdup(json_string_value(name));
    g->ref = strdup(json_string_value(ref));
    memcpy(g->target_commit, json_string_value(target), 41);
    if (!g->name || !g->ref) return FERRY_E_NOMEM;
  }
  return 0;
}

int ferry_hub_list_refs(struct ferry_hub_client *c, const char *repo_id, const char *repo_type,
                        struct ferry_hub_refs *out, char *why, size_t why_len) {
  memset(out, 0, sizeof(*out));
  struct ferry__hub_repo r;
  int err = ferry__hub_repo_arg(repo_id, repo_type, &r, why, why_len);
  if (err) return err;
  char *path = NULL;
  if ((err = ferry__hub_repo_api_path(&r, "/refs", &path))) return err;
  char what[FERRY__HUB_REPO_ID_MAX + 64];
  snprintf(what, sizeof(what), "cannot list the refs of %s", r.id);
  struct ferry_hub_reply rep;
  err = ferry__hub_api(c, "GET", path, NULL, &rep, what, why, why_len);
  free(path);
  if (!err) {
    json_t *j = rep.body_len <= FERRY__HUB_JSON_MAX ? json_loadb(rep.body, rep.body_len, 0, NULL)
                                                    : NULL;
    err = parse_refs(json_object_get(j, "branches"), &out->branches, &out->n_branches);
    if (!err) err = parse_refs(json_object_get(j, "tags"), &out->tags, &out->n_tags);
    if (!err) err = parse_refs(json_object_get(j, "converts"), &out->converts, &out->n_converts);
    json_decref(j);
    if (err) {
      ferry_hub_refs_free(out);
      ferry__hub_why(err, why, why_len, "%s: malformed refs answer from the Hub", what);
    }
  }
  ferry_hub_reply_free(&rep);
  return err;
}

static void free_refs(struct ferry_hub_git_ref *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(v[i].name);
    free(v[i].ref);
  }
  free(v);
}

void ferry_hub_refs_free(struct ferry_hub_refs *r) {
  free_refs(r->branches, r->n_branches);
  free_refs(r->tags, r->n_tags);
  free_refs(r->converts, r->n_converts);
  memset(r, 0, sizeof(*r));
}
