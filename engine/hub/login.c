/* login.c: who the token belongs to (whoami-v2, hub-protocol.md §5.4) and the login, logout,
 * switch and list of `hf auth` on the files huggingface_hub shares (§5.5; the byte format is
 * in stored_tokens.c). Messages name token sources and token names, never a token. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"

static void free_secret(char *s) {
  if (s) memset(s, 0, strlen(s));
  free(s);
}

int ferry_hub_paths_get(struct ferry_hub_paths *out) {
  memset(out, 0, sizeof(*out));
  struct ferry__hub_env env = ferry__hub_env_process();
  int r = ferry__hub_home(&env, &out->hf_home);
  if (!r) r = ferry__hub_cache_root(&env, NULL, &out->cache_dir);
  if (!r) r = ferry__hub_token_path(&env, &out->token_path);
  if (!r) r = ferry__hub_stored_tokens_path(out->token_path, &out->stored_tokens_path);
  if (r) ferry_hub_paths_free(out);
  return r;
}

void ferry_hub_paths_free(struct ferry_hub_paths *p) {
  free(p->hf_home);
  free(p->cache_dir);
  free(p->token_path);
  free(p->stored_tokens_path);
  memset(p, 0, sizeof(*p));
}

void ferry_hub_whoami_free(struct ferry_hub_whoami *w) {
  for (size_t i = 0; i < w->n_orgs; i++) free(w->orgs[i]);
  free(w->orgs);
  w->orgs = NULL;
  w->n_orgs = 0;
}

static void copy_str(char *dst, size_t cap, const json_t *v) {
  snprintf(dst, cap, "%s", json_is_string(v) ? json_string_value(v) : "");
}

static int whoami_parse(const char *body, size_t len, struct ferry_hub_whoami *out, char *msg,
                        size_t msg_len) {
  json_t *j = json_loadb(body ? body : "", len, 0, NULL);
  const json_t *name = json_object_get(j, "name");
  if (!json_is_object(j) || !json_is_string(name) || !json_string_length(name)) {
    json_decref(j);
    return ferry__hub_why(FERRY_E_PROTOCOL, msg, msg_len,
                          "whoami-v2: the Hub's answer has no user name");
  }
  copy_str(out->user, sizeof(out->user), name);
  copy_str(out->type, sizeof(out->type), json_object_get(j, "type"));
  copy_str(out->fullname, sizeof(out->fullname), json_object_get(j, "fullname"));
  const json_t *orgs = json_object_get(j, "orgs"), *org;
  size_t i;
  int r = 0;
  if (json_is_array(orgs) && json_array_size(orgs) > 0) {
    out->orgs = calloc(json_array_size(orgs), sizeof(char *));
    if (!out->orgs) r = FERRY_E_NOMEM;
    json_array_foreach(orgs, i, org) {
      const json_t *n = json_object_get(org, "name");
      if (r || !json_is_string(n)) continue;
      if (!(out->orgs[out->n_orgs] = strdup(json_string_value(n)))) r = FERRY_E_NOMEM;
      else out->n_orgs++;
    }
  }
  const json_t *tok = json_object_get(json_object_get(j, "auth"), "accessToken");
  copy_str(out->token_name, sizeof(out->token_name), json_object_get(tok, "displayName"));
  copy_str(out->role, sizeof(out->role), json_object_get(tok, "role"));
  json_decref(j);
  return r;
}

int ferry_hub_whoami(struct ferry_hub_client *c, struct ferry_hub_whoami *out, char *msg,
                     size_t msg_len) {
  memset(out, 0, sizeof(*out));
  if (msg_len) msg[0] = 0;
  int source = ferry_hub_client_token_source(c);
  if (source == FERRY_HUB_TOKEN_NONE)
    return ferry__hub_why(FERRY_E_HUB_AUTH, msg, msg_len,
                          "not logged in: no token (run `ferry auth login`, or set HF_TOKEN)");
  if (ferry__hub_client_settings(c)->offline)
    return ferry__hub_why(FERRY_E_HUB_OFFLINE, msg, msg_len,
                          "offline (HF_HUB_OFFLINE): the Hub cannot be asked who you are");
  struct ferry_hub_reply reply;
  int r = ferry_hub_call(c, "GET", "/api/whoami-v2", NULL, NULL, 0, &reply);
  if (r && reply.status == 401) {
    r = FERRY_E_HUB_AUTH;
    ferry__hub_why(r, msg, msg_len, "the token from %s was refused by %s (HTTP 401%s%s)",
                   ferry_hub_client_token_origin(c), ferry_hub_client_endpoint(c),
                   reply.server_message[0] ? ": " : "", reply.server_message);
  } else if (r) {
    ferry__hub_why(r, msg, msg_len, "whoami-v2: %s", reply.message);
  } else {
    r = whoami_parse(reply.body, reply.body_len, out, msg, msg_len);
  }
  ferry_hub_reply_free(&reply);
  return r;
}

int ferry_hub_token_get(char **out, int *source) {
  struct ferry__hub_env env = ferry__hub_env_process();
  enum ferry__hub_token_source s;
  int r = ferry__hub_token_resolve(&env, NULL, out, &s);
  *source = s == FERRY__HUB_TOKEN_ENV    ? FERRY_HUB_TOKEN_ENV
            : s == FERRY__HUB_TOKEN_FILE ? FERRY_HUB_TOKEN_FILE
                                         : FERRY_HUB_TOKEN_NONE;
  return r;
}

/* A Hub token is printable ASCII without blanks; anything else would end up in a header. */
static int token_chars_ok(const char *t) {
  for (; *t; t++)
    if (*t <= 0x20 || *t >= 0x7f) return 0;
  return 1;
}

struct files {
  char *token_path, *stored_path;
  struct ferry__hub_ini ini;
  int found;
};

static void files_free(struct files *f) {
  free(f->token_path);
  free(f->stored_path);
  ferry__hub_ini_free(&f->ini);
}

/* Paths and the parsed stored_tokens. */
static int files_load(const struct ferry__hub_env *env, struct files *f, char *msg,
                      size_t msg_len) {
  memset(f, 0, sizeof(*f));
  int r = ferry__hub_token_path(env, &f->token_path);
  if (!r) r = ferry__hub_stored_tokens_path(f->token_path, &f->stored_path);
  if (r) return ferry__hub_why(r, msg, msg_len, "the token path is too long");
  char why[256] = "";
  r = ferry__hub_stored_tokens_load(f->stored_path, &f->ini, &f->found, why, sizeof(why));
  if (r)
    ferry__hub_why(r, msg, msg_len, "%s: %s (fix or delete it; ferry does not overwrite it)",
                   f->stored_path, why);
  return r;
}

static int files_save(struct files *f, char *msg, size_t msg_len) {
  char *text = NULL;
  size_t len = 0;
  int r = ferry__hub_ini_serialize(&f->ini, &text, &len);
  if (!r) r = ferry__hub_secret_write(f->stored_path, text, len);
  if (text) memset(text, 0, len);
  free(text);
  if (r) ferry__hub_why(r, msg, msg_len, "cannot write %s", f->stored_path);
  return r;
}

static int write_active(struct files *f, const char *token, char *msg, size_t msg_len) {
  int r = ferry__hub_secret_write(f->token_path, token, strlen(token));
  if (r) ferry__hub_why(r, msg, msg_len, "cannot write %s", f->token_path);
  return r;
}

int ferry_hub_login(struct ferry_hub_client *c, struct ferry_hub_whoami *who, char *msg,
                    size_t msg_len) {
  memset(who, 0, sizeof(*who));
  const char *token = ferry__hub_client_token(c);
  if (ferry_hub_client_token_source(c) != FERRY_HUB_TOKEN_EXPLICIT || !token)
    return ferry__hub_why(FERRY_E_INVAL, msg, msg_len, "no token was given to log in with");
  if (!strncmp(token, "api_org", 7))
    return ferry__hub_why(FERRY_E_HUB_AUTH, msg, msg_len,
                          "this is an organization token (api_org...): log in with your "
                          "personal access token");
  if (!token_chars_ok(token) || strlen(token) > 4000)
    return ferry__hub_why(FERRY_E_HUB_AUTH, msg, msg_len,
                          "that is not a token: a Hub token is at most 4000 printable ASCII "
                          "characters without blanks");
  struct ferry__hub_env env = ferry__hub_env_process();
  struct files f;
  int r = files_load(&env, &f, msg, msg_len); /* a broken file stops us before the Hub call */
  if (!r) r = ferry_hub_whoami(c, who, msg, msg_len);
  char name[300];
  if (!r) {
    snprintf(name, sizeof(name), "%s%s", who->token_name[0] ? "" : "oauth-",
             who->token_name[0] ? who->token_name : who->user);
    char why[128];
    if (ferry__hub_token_name_check(name, why, sizeof(why)))
      r = ferry__hub_why(FERRY_E_PROTOCOL, msg, msg_len,
                         "the Hub names this token in a way that cannot be stored: %s", why);
  }
  if (!r) r = ferry__hub_ini_set_token(&f.ini, name, token);
  if (!r) r = files_save(&f, msg, msg_len);
  if (!r) r = write_active(&f, token, msg, msg_len);
  files_free(&f);
  return r;
}

void ferry_hub_token_list_free(struct ferry_hub_token_list *l) {
  for (size_t i = 0; i < l->n; i++) free(l->v[i].name);
  free(l->v);
  memset(l, 0, sizeof(*l));
}

static void mask(const char *token, char out[16]) {
  size_t n = strlen(token);
  if (n < 16) snprintf(out, 16, "****");
  else snprintf(out, 16, "%.3s****%s", token, token + n - 4);
}

int ferry_hub_tokens_list(struct ferry_hub_token_list *out, char *msg, size_t msg_len) {
  memset(out, 0, sizeof(*out));
  struct ferry__hub_env env = ferry__hub_env_process();
  struct files f;
  char *env_token = NULL, *file_token = NULL;
  int r = files_load(&env, &f, msg, msg_len);
  if (!r) r = ferry__hub_token_from_env(&env, &env_token);
  if (!r) r = ferry__hub_token_from_file(&env, &file_token);
  if (r && !msg[0]) ferry__hub_why(r, msg, msg_len, "cannot read the token");
  out->env_token = env_token != NULL;
  out->file_token = file_token != NULL;
  /* get_token(): the environment's token wins over the file's */
  const char *current = env_token ? env_token : file_token;
  if (!r && f.ini.n && !(out->v = calloc(f.ini.n, sizeof(*out->v)))) r = FERRY_E_NOMEM;
  for (size_t i = 0; !r && i < f.ini.n; i++) {
    const char *value = ferry__hub_ini_get(&f.ini.v[i], "hf_token");
    struct ferry_hub_stored_token *t = &out->v[out->n];
    if (!(t->name = strdup(f.ini.v[i].name))) r = FERRY_E_NOMEM;
    else out->n++;
    if (value) mask(value, t->masked);
    else snprintf(t->masked, sizeof(t->masked), "<not set>");
    t->active = value && current && !strcmp(value, current);
  }
  free_secret(env_token);
  free_secret(file_token);
  files_free(&f);
  return r;
}

int ferry_hub_logout(const char *token_name, struct ferry_hub_logout_result *out, char *msg,
                     size_t msg_len) {
  memset(out, 0, sizeof(*out));
  struct ferry__hub_env env = ferry__hub_env_process();
  struct files f;
  char *env_token = NULL, *file_token = NULL;
  int r = ferry__hub_token_from_env(&env, &env_token);
  if (!r) r = ferry__hub_token_from_file(&env, &file_token);
  if (r) {
    ferry__hub_why(r, msg, msg_len, "cannot read the token");
    return r;
  }
  out->env_token = env_token != NULL;
  if (!token_name) {
    /* everything: both files, whatever stored_tokens holds (it need not parse) */
    memset(&f, 0, sizeof(f));
    r = ferry__hub_token_path(&env, &f.token_path);
    if (!r) r = ferry__hub_stored_tokens_path(f.token_path, &f.stored_path);
    const char *paths[2] = {f.token_path, f.stored_path};
    for (int i = 0; i < 2 && !r; i++) {
      if (unlink(paths[i]) == 0) {
        out->was_logged_in = 1;
        out->removed_active |= i == 0;
      } else if (errno != ENOENT) {
        r = ferry__hub_why(FERRY_E_IO, msg, msg_len, "cannot delete %s", paths[i]);
      }
    }
    out->was_logged_in |= env_token != NULL;
  } else if (!(r = files_load(&env, &f, msg, msg_len))) {
    out->was_logged_in = f.ini.n > 0 || file_token || env_token;
    struct ferry__hub_ini_section *s = ferry__hub_ini_find(&f.ini, token_name);
    const char *value = s ? ferry__hub_ini_get(s, "hf_token") : NULL;
    int active = value && file_token && !strcmp(value, file_token);
    if (!s) {
      r = ferry__hub_why(FERRY_E_INVAL, msg, msg_len, "no stored token is named \"%s\" (%s)",
                         token_name, f.stored_path);
    } else {
      ferry__hub_ini_remove(&f.ini, token_name);
      r = files_save(&f, msg, msg_len);
      if (!r && active) {
        if (unlink(f.token_path) == 0 || errno == ENOENT) out->removed_active = 1;
        else r = ferry__hub_why(FERRY_E_IO, msg, msg_len, "cannot delete %s", f.token_path);
      }
    }
  }
  free_secret(env_token);
  free_secret(file_token);
  files_free(&f);
  return r;
}

int ferry_hub_switch(const char *token_name, int *env_overrides, char *msg, size_t msg_len) {
  *env_overrides = 0;
  struct ferry__hub_env env = ferry__hub_env_process();
  struct files f;
  char *token = NULL, *env_token = NULL;
  int r = files_load(&env, &f, msg, msg_len);
  if (!r) {
    struct ferry__hub_ini_section *s = ferry__hub_ini_find(&f.ini, token_name);
    const char *value = s ? ferry__hub_ini_get(s, "hf_token") : NULL;
    if (value) r = ferry__hub_token_clean(value, strlen(value), &token);
    if (!r && !token)
      r = ferry__hub_why(FERRY_E_INVAL, msg, msg_len, "no stored token is named \"%s\" (%s)",
                         token_name, f.stored_path);
  }
  if (!r) r = write_active(&f, token, msg, msg_len);
  if (!r && ferry__hub_token_from_env(&env, &env_token) == 0 && env_token)
    *env_overrides = strcmp(env_token, token) != 0;
  free_secret(token);
  free_secret(env_token);
  files_free(&f);
  return r;
}
