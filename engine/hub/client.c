/* client: one authenticated connection to the Hub's API, shared by every Hub command.
 *
 * Resolves the endpoint and the token as huggingface_hub does (hub-protocol.md §5.5), keeps
 * one engine for API calls, and turns the Hub's error answers into ferry errors with a
 * one-line message (§1.6, §5.3). The token only ever goes to the endpoint's origin: the
 * engine's fetch does not follow redirects, and upload/download URLs elsewhere are sent
 * without it. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"

#define API_RETRIES 4 /* huggingface_hub's http_backoff tries 5 times */

struct ferry_hub_client {
  struct ferry__hub_env env;
  struct ferry__hub_settings settings;
  enum ferry__hub_token_source token_source;
  char *endpoint, *token, *auth_header;
  char token_label[64]; /* how an explicit token was given (ferry_hub_client_opts) */
  struct ferry_engine *api;
  long last_status; /* of the latest call, for callers that only get an error code */
};

int ferry_hub_client_new(const struct ferry_hub_client_opts *o, struct ferry_hub_client **out,
                         char *why, size_t why_len) {
  *out = NULL;
  struct ferry_hub_client *c = calloc(1, sizeof(*c));
  if (!c) return FERRY_E_NOMEM;
  c->env = ferry__hub_env_process();
  ferry__hub_settings_read(&c->env, &c->settings);
  int err;
  if (o && o->endpoint) {
    err = ferry__hub_endpoint_normalize(o->endpoint, &c->endpoint, why, why_len);
  } else {
    err = ferry__hub_endpoint(&c->env, &c->endpoint, why, why_len);
  }
  if (err) goto fail;
  snprintf(c->token_label, sizeof(c->token_label), "%s",
           o && o->token_label ? o->token_label : "--token");
  if (!(o && o->no_token)) {
    err = ferry__hub_token_resolve(&c->env, o ? o->token : NULL, &c->token, &c->token_source);
    if (err) {
      snprintf(why, why_len, "cannot read the token");
      goto fail;
    }
  }
  if (c->token) {
    if ((err = ferry__hub_fmt(&c->auth_header, 8192, "Authorization: Bearer %s", c->token))) {
      snprintf(why, why_len, "the token is too long");
      goto fail;
    }
  }
  if ((err = ferry_engine_new(o ? o->engine : NULL, &c->api))) {
    snprintf(why, why_len, "cannot start the transfer engine");
    goto fail;
  }
  *out = c;
  return 0;
fail:
  ferry_hub_client_free(c);
  return err;
}

void ferry_hub_client_free(struct ferry_hub_client *c) {
  if (!c) return;
  if (c->api) ferry_engine_free(c->api);
  if (c->token) memset(c->token, 0, strlen(c->token));
  if (c->auth_header) memset(c->auth_header, 0, strlen(c->auth_header));
  free(c->token);
  free(c->auth_header);
  free(c->endpoint);
  free(c);
}

const char *ferry_hub_client_endpoint(const struct ferry_hub_client *c) { return c->endpoint; }

int ferry_hub_client_token_source(const struct ferry_hub_client *c) {
  switch (c->token_source) {
  case FERRY__HUB_TOKEN_EXPLICIT: return FERRY_HUB_TOKEN_EXPLICIT;
  case FERRY__HUB_TOKEN_ENV: return FERRY_HUB_TOKEN_ENV;
  case FERRY__HUB_TOKEN_FILE: return FERRY_HUB_TOKEN_FILE;
  default: return FERRY_HUB_TOKEN_NONE;
  }
}

const char *ferry_hub_client_token_origin(const struct ferry_hub_client *c) {
  switch (c->token_source) {
  case FERRY__HUB_TOKEN_EXPLICIT: return c->token_label;
  case FERRY__HUB_TOKEN_ENV: return "HF_TOKEN";
  case FERRY__HUB_TOKEN_FILE: return "the token file";
  default: return "none";
  }
}

struct ferry_engine *ferry__hub_client_engine(struct ferry_hub_client *c) { return c->api; }
long ferry__hub_client_last_status(const struct ferry_hub_client *c) { return c->last_status; }
const char *ferry__hub_client_token(const struct ferry_hub_client *c) { return c->token; }
const struct ferry__hub_settings *ferry__hub_client_settings(const struct ferry_hub_client *c) {
  return &c->settings;
}
const struct ferry__hub_env *ferry__hub_client_env(const struct ferry_hub_client *c) {
  return &c->env;
}

/* The server's own words: X-Error-Message, else the JSON body's "error" (a string, or the
 * first message of a list as the commit endpoint sends), else nothing. */
static void server_message(const struct ferry_response *r, char *out, size_t cap) {
  out[0] = 0;
  if (ferry_response_header(r, "x-error-message", out, cap) == 0 && out[0]) return;
  if (!r->body || !r->body_len) return;
  json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
  const json_t *e = json_object_get(j, "error");
  if (json_is_array(e)) e = json_array_get(e, 0);
  if (json_is_object(e)) e = json_object_get(e, "message");
  if (json_is_string(e)) snprintf(out, cap, "%s", json_string_value(e));
  json_decref(j);
  for (char *p = out; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
}

/* The one mapping of the Hub's error answers to ferry errors, as huggingface_hub maps them
 * (hub-protocol.md §1.6, §5.3): API answers (ferry__hub_classify) and file answers (a
 * download's resolve, through the engine's job result) both come here. `what` is a short
 * description for the user. */
/* Whether a 403's message is about who may do what (the token, rights, access) rather than
 * about the operation. */
static int about_rights(const char *m) {
  static const char *const words[] = {"right", "token", "permission", "authoriz", "access",
                                      "credential", "forbidden", "admin", "log in", "login"};
  for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
    if (strcasestr(m, words[i])) return 1;
  return 0;
}

int ferry__hub_error_map(long s, const char *code, const char *m, int have_token,
                         const char **what) {
  if (!strcmp(code, "RevisionNotFound")) {
    *what = "revision not found";
    return FERRY_E_HUB_REVISION_NOT_FOUND;
  }
  if (!strcmp(code, "EntryNotFound")) {
    *what = "file not found";
    return FERRY_E_HUB_ENTRY_NOT_FOUND;
  }
  if (!strcmp(code, "GatedRepo")) {
    *what = have_token ? "gated repository: your token has no access yet, ask for it on its page"
                       : "gated repository: ask for access on its page, then log in or use --token";
    return FERRY_E_HUB_GATED;
  }
  if (s == 401 && strstr(m, "Invalid credentials")) {
    *what = "the token was refused (invalid credentials): check HF_TOKEN or the token file";
    return FERRY_E_HUB_AUTH;
  }
  if (!strcmp(code, "RepoNotFound") || s == 401) {
    *what = have_token ? "repository not found (or your token has no access to it)"
                       : "repository not found (or private: no token was sent; log in or use "
                         "--token)";
    return FERRY_E_HUB_REPO_NOT_FOUND;
  }
  if (s == 403 && m[0] && !about_rights(m)) {
    /* "Cannot delete the default branch": the Hub refuses the operation itself, whatever
     * the token; its words say why, and a guess about the token would mislead. */
    *what = "refused by the Hub";
    return FERRY_E_HUB_BAD_REQUEST;
  }
  struct { long status; int err; const char *what; } const by_status[] = {
      {403, FERRY_E_HUB_AUTH, "forbidden (does your token have write access?)"},
      {409, FERRY_E_HUB_CONFLICT, "conflict"},
      {412, FERRY_E_HUB_CONFLICT, "precondition failed"},
      {400, FERRY_E_HUB_BAD_REQUEST, "refused as invalid"},
      {422, FERRY_E_HUB_BAD_REQUEST, "refused as invalid"},
      {404, FERRY_E_HUB_ENTRY_NOT_FOUND, "not found"},
      {429, FERRY_E_RATELIMIT, "rate limited"},
  };
  for (size_t i = 0; i < sizeof(by_status) / sizeof(by_status[0]); i++)
    if (by_status[i].status == s) {
      *what = by_status[i].what;
      return by_status[i].err;
    }
  *what = "error";
  return FERRY_E_HTTP;
}

void ferry__hub_classify(const struct ferry_response *r, int have_token,
                         struct ferry_hub_reply *out) {
  char code[64] = "";
  ferry_response_header(r, "x-error-code", code, sizeof(code));
  snprintf(out->error_code, sizeof(out->error_code), "%s", code);
  server_message(r, out->server_message, sizeof(out->server_message));
  long s = r->status;
  const char *m = out->server_message;
  if (s >= 200 && s < 300) {
    out->error = 0;
    return;
  }
  const char *what;
  out->error = ferry__hub_error_map(s, code, m, have_token, &what);
  snprintf(out->message, sizeof(out->message), "HTTP %ld: %s%s%s", s, what, m[0] ? ": " : "",
           m);
}

const char *ferry__hub_client_auth_for(const struct ferry_hub_client *c, const char *url) {
  return c->auth_header && ferry__hub_same_origin(url, c->endpoint) ? c->auth_header : NULL;
}

/* The headers of one call: Accept, the token (to the endpoint's origin only, never to
 * storage or another host), Content-Type. */
struct prepared {
  char *ctype, *acc;
  const char *headers[4];
  int with_token;
};

static int prepare(struct ferry_hub_client *c, const struct ferry__hub_call *call,
                   struct prepared *p) {
  memset(p, 0, sizeof(*p));
  int err = 0;
  if (call->content_type) err = ferry__hub_fmt(&p->ctype, 256, "Content-Type: %s", call->content_type);
  if (!err && call->accept) err = ferry__hub_fmt(&p->acc, 256, "Accept: %s", call->accept);
  if (err) return err;
  const char *auth = call->send_token ? ferry__hub_client_auth_for(c, call->url) : NULL;
  p->with_token = auth != NULL;
  size_t n = 0;
  p->headers[n++] = p->acc ? p->acc : "Accept: application/json";
  if (auth) p->headers[n++] = auth;
  if (p->ctype) p->headers[n++] = p->ctype;
  p->headers[n] = NULL;
  return 0;
}

static void conclude(struct ferry_hub_client *c, int err, int with_token,
                     struct ferry_response *r, struct ferry_hub_reply *out) {
  out->status = r->status;
  c->last_status = r->status;
  if (err) {
    out->error = err;
    if (err == FERRY_E_TLS)
      snprintf(out->message, sizeof(out->message),
               "TLS error talking to %s (is the CA right? --cacert, SSL_CERT_FILE)", c->endpoint);
    else
      snprintf(out->message, sizeof(out->message), "%s", ferry_strerror(err));
  } else {
    ferry__hub_classify(r, with_token, out);
    out->body = r->body, out->body_len = r->body_len, out->headers = r->headers;
    r->body = r->headers = NULL;
  }
  ferry_response_free(r);
}

int ferry__hub_client_call_many(struct ferry_hub_client *c, struct ferry__hub_call *calls,
                                size_t n, size_t parallel) {
  struct prepared *p = calloc(n ? n : 1, sizeof(*p));
  struct ferry_request *reqs = calloc(n ? n : 1, sizeof(*reqs));
  struct ferry_response *rs = calloc(n ? n : 1, sizeof(*rs));
  int *errs = calloc(n ? n : 1, sizeof(*errs));
  int err = p && reqs && rs && errs ? 0 : FERRY_E_NOMEM;
  for (size_t i = 0; i < n; i++) memset(&calls[i].reply, 0, sizeof(calls[i].reply));
  for (size_t i = 0; !err && i < n; i++) {
    err = prepare(c, &calls[i], &p[i]);
    reqs[i] = (struct ferry_request){.method = calls[i].method, .url = calls[i].url,
                                     .headers = p[i].headers, .body = calls[i].body,
                                     .body_len = calls[i].len, .max_retries = API_RETRIES,
                                     .body_read = calls[i].body_read,
                                     .body_rewind = calls[i].body_rewind,
                                     .body_user = calls[i].body_user};
  }
  if (!err) {
    ferry_engine_fetch_many(c->api, reqs, n, parallel, rs, errs);
    for (size_t i = 0; i < n; i++) {
      conclude(c, errs[i], p[i].with_token, &rs[i], &calls[i].reply);
      if (!err) err = calls[i].reply.error;
    }
  } else {
    for (size_t i = 0; i < n; i++) {
      calls[i].reply.error = err;
      snprintf(calls[i].reply.message, sizeof(calls[i].reply.message), "out of memory");
    }
  }
  for (size_t i = 0; p && i < n; i++) free(p[i].ctype), free(p[i].acc);
  free(p), free(reqs), free(rs), free(errs);
  return err;
}

int ferry__hub_client_call_url(struct ferry_hub_client *c, const char *method, const char *url,
                               const char *accept, const char *content_type, const void *body,
                               size_t len, int send_token, struct ferry_hub_reply *out) {
  struct ferry__hub_call call = {.method = method, .url = url, .accept = accept,
                                 .content_type = content_type, .body = body, .len = len,
                                 .send_token = send_token};
  int err = ferry__hub_client_call_many(c, &call, 1, 1);
  *out = call.reply;
  return err;
}

int ferry_hub_call(struct ferry_hub_client *c, const char *method, const char *path,
                   const char *content_type, const void *body, size_t len,
                   struct ferry_hub_reply *out) {
  char *url = NULL;
  if (ferry__hub_fmt(&url, FERRY__HUB_URL_MAX + 1024, "%s%s", c->endpoint, path)) {
    memset(out, 0, sizeof(*out));
    out->error = FERRY_E_INVAL;
    snprintf(out->message, sizeof(out->message), "the request is too long");
    return out->error;
  }
  int err = ferry__hub_client_call_url(c, method, url, NULL, content_type, body, len, 1, out);
  free(url);
  return err;
}

int ferry_hub_reply_header(const struct ferry_hub_reply *r, const char *name, char *buf,
                           size_t cap) {
  struct ferry_response tmp = {.headers = r->headers};
  return ferry_response_header(&tmp, name, buf, cap);
}

void ferry_hub_reply_free(struct ferry_hub_reply *r) {
  free(r->body);
  free(r->headers);
  r->body = r->headers = NULL;
}
