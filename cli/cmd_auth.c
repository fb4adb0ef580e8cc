/* ferry auth: login, logout, whoami, list and switch, on the files `hf auth login` writes
 * (engine/hub/login.c does the work). Nothing here prints a token: only token names, the
 * masked form `hf auth list` shows, and where a token came from. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

#define TOKEN_MAX 4096 /* read at most this much as a token */

struct auth_opts {
  const char *token, *token_name, *cacert;
  const char *token_label; /* how a token read by login was given: "stdin", "the terminal" */
  int quiet, json, verbose;
};

/* The options of every auth subcommand, each taken by those its `only` names; `name` is "auth
 * login" etc. Returns CLI_GO_ON, else the exit code. */
static int parse(int argc, char **argv, const char *name, const char *about,
                 struct auth_opts *o) {
  memset(o, 0, sizeof(*o));
  const struct cli_opt opts[] = {
      CLI_OPT_TOKEN(&o->token, .only = " login whoami "),
      CLI_OPT_STR("token-name", 0, &o->token_name, "NAME", "the stored token's name",
                  .only = " logout switch "),
      CLI_OPT_CACERT(&o->cacert, .only = " login whoami "),
      CLI_OPT_FLAG("quiet", 'q', &o->quiet, "print only the essential"),
      /* auth token prints the token alone: never inside JSON that may be logged */
      CLI_OPT_JSON(&o->json, .only = " login logout whoami list ls switch "),
      CLI_OPT_VERBOSE(&o->verbose, .only = " login whoami "),
      CLI_OPT_END};
  const struct cli_cmd cmd = {name, "", about, opts, 0, 0, NULL};
  int n;
  return cli_parse(&cmd, argc, argv, &n);
}

static void json_print(json_t *obj) {
  char *text = json_dumps(obj, JSON_COMPACT);
  if (text) printf("%s\n", text);
  free(text);
  json_decref(obj);
}

static int fail(int err, const char *msg) {
  fprintf(stderr, "ferry: error: %s\n", msg && msg[0] ? msg : ferry_strerror(err));
  return ferry_exit_class(err);
}

static struct ferry_hub_client *client_new(const struct auth_opts *o, struct ferry_config *cfg,
                                           struct cli_progress *progress, int *err, char *msg,
                                           size_t msg_len) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->cacert = cli_cacert(o->cacert, 1);
  cfg->verbose = o->verbose;
  cli_progress_init(progress, 1);
  progress->quiet = o->quiet || o->json;
  cfg->log_cb = cli_log;
  cfg->log_user = progress;
  struct ferry_hub_client_opts co = {.token = o->token, .token_label = o->token_label,
                                     .engine = cfg};
  struct ferry_hub_client *c = NULL;
  *err = ferry_hub_client_new(&co, &c, msg, msg_len);
  if (!*err && o->verbose) {
    fprintf(stderr, "ferry: endpoint %s, token from %s, CA %s\n", ferry_hub_client_endpoint(c),
            ferry_hub_client_token_origin(c), cfg->cacert ? cfg->cacert : "(system)");
  }
  return c;
}

/* ---- reading a token --------------------------------------------------------------------- */

static struct termios saved_tty;
static volatile sig_atomic_t echo_off;

/* A signal while echo is off: give the terminal back, then die of the signal as usual. */
static void restore_and_reraise(int sig) {
  if (echo_off) tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
  signal(sig, SIG_DFL);
  raise(sig);
}

/* One line from stdin into buf (without the newline); -1 when nothing could be read. */
static int read_line(char *buf, size_t cap) {
  size_t n = 0;
  for (;;) {
    char ch;
    ssize_t got = read(STDIN_FILENO, &ch, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (ch == '\n') break;
    if (n + 1 < cap) buf[n++] = ch;
  }
  buf[n] = 0;
  return n ? 0 : -1;
}

/* The token from the terminal without echo (like getpass), else from stdin. Echo goes off
 * before the prompt is shown (what is typed before it is flushed, as getpass does), never
 * after: a token typed or pasted as soon as the prompt appears was discarded by the flush,
 * and ferry waited for a line that had already come. */
static int read_token(char *buf, size_t cap) {
  if (!isatty(STDIN_FILENO)) return read_line(buf, cap);
  if (tcgetattr(STDIN_FILENO, &saved_tty) != 0) return -1;
  struct termios quiet = saved_tty;
  quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
  quiet.c_lflag |= ICANON;
  int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  struct sigaction sa = {0}, old[4];
  sa.sa_handler = restore_and_reraise;
  for (int i = 0; i < 4; i++) sigaction(sigs[i], &sa, &old[i]);
  echo_off = 1;
  int r = -1;
  if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0) {
    fprintf(stderr, "Enter your token (input will not be visible): ");
    fflush(stderr);
    r = read_line(buf, cap);
  }
  tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
  echo_off = 0;
  for (int i = 0; i < 4; i++) sigaction(sigs[i], &old[i], NULL);
  fprintf(stderr, "\n");
  return r;
}

/* ---- the subcommands --------------------------------------------------------------------- */

static int auth_login(int argc, char **argv) {
  struct auth_opts o;
  int rc = parse(argc, argv, "auth login",
                 "Checks a token with the Hub and stores it as `hf auth login` does; without\n"
                 "--token it is read from the terminal (not echoed) or from stdin.\n"
                 "Files: $HF_TOKEN_PATH (default $HF_HOME/token) and stored_tokens beside it.",
                 &o);
  if (rc != CLI_GO_ON) return rc;
  char *typed = NULL;
  if (!o.token) {
    typed = calloc(1, TOKEN_MAX);
    if (!typed || read_token(typed, TOKEN_MAX) != 0) {
      free(typed);
      return fail(FERRY_E_INVAL, "no token was entered");
    }
    o.token = typed;
    o.token_label = isatty(STDIN_FILENO) ? "the terminal" : "stdin";
  }
  struct ferry_config cfg;
  struct cli_progress progress;
  char msg[768] = "";
  int err;
  struct ferry_hub_client *c = client_new(&o, &cfg, &progress, &err, msg, sizeof(msg));
  struct ferry_hub_whoami who = {0};
  if (!err) err = ferry_hub_login(c, &who, msg, sizeof(msg));
  ferry_hub_client_free(c);
  if (typed) {
    memset(typed, 0, TOKEN_MAX);
    free(typed);
  }
  struct ferry_hub_paths paths = {0};
  if (!err) err = ferry_hub_paths_get(&paths);
  const char *name = who.token_name[0] ? who.token_name : NULL;
  char oauth_name[200];
  if (!name) snprintf(oauth_name, sizeof(oauth_name), "oauth-%s", who.user), name = oauth_name;
  const char *env_token = getenv("HF_TOKEN");
  if (!env_token || !*env_token) env_token = getenv("HUGGING_FACE_HUB_TOKEN");
  int env_overrides = env_token && *env_token;
  if (o.json) {
    json_print(json_pack("{s:b, s:o, s:o, s:o, s:o, s:o, s:b, s:o}", "ok", !err, "user",
                         err ? json_null() : json_string(who.user), "token_name",
                         err ? json_null() : json_string(name), "role",
                         err || !who.role[0] ? json_null() : json_string(who.role), "token_path",
                         cli_json_str(paths.token_path), "stored_tokens_path",
                         cli_json_str(paths.stored_tokens_path),
                         "env_token_overrides", env_overrides, "error", cli_json_error(err, msg, -1)));
  } else if (err) {
    fail(err, msg);
  } else if (!o.quiet) {
    printf("Token is valid (permission: %s).\n", who.role[0] ? who.role : "unknown");
    printf("Logged in as %s; the active token is now \"%s\" (saved to %s).\n", who.user, name,
           paths.token_path);
  }
  if (!err && env_overrides && !o.json)
    fprintf(stderr, "ferry: note: HF_TOKEN is set and is used instead of the token you just "
                    "stored (unset it to use the stored one)\n");
  ferry_hub_whoami_free(&who);
  ferry_hub_paths_free(&paths);
  return ferry_exit_class(err);
}

static int auth_logout(int argc, char **argv) {
  struct auth_opts o;
  int rc = parse(argc, argv, "auth logout",
                 "Forgets every stored token, or the one named by --token-name.", &o);
  if (rc != CLI_GO_ON) return rc;
  struct ferry_hub_logout_result r;
  char msg[768] = "";
  int err = ferry_hub_logout(o.token_name, &r, msg, sizeof(msg));
  if (o.json) {
    json_print(json_pack("{s:b, s:o, s:b, s:b, s:b, s:o}", "ok", !err, "token_name",
                         cli_json_str(o.token_name), "was_logged_in",
                         r.was_logged_in, "removed_active", r.removed_active, "env_token",
                         r.env_token, "error", cli_json_error(err, msg, -1)));
  } else if (err) {
    fail(err, msg);
  } else if (!o.quiet) {
    if (!r.was_logged_in) printf("Not logged in.\n");
    else if (o.token_name) printf("Logged out from the token \"%s\".\n", o.token_name);
    else printf("Logged out from every stored token.\n");
    if (o.token_name && r.removed_active)
      printf("It was the active token: no token is active now.\n");
  }
  if (!err && r.env_token && !o.json)
    fprintf(stderr, "ferry: note: HF_TOKEN (or HUGGING_FACE_HUB_TOKEN) is still set, so you "
                    "are still logged in; unset it to log out\n");
  return ferry_exit_class(err);
}

static const char *source_label(int s) {
  switch (s) {
  case FERRY_HUB_TOKEN_EXPLICIT: return "explicit";
  case FERRY_HUB_TOKEN_ENV: return "env";
  case FERRY_HUB_TOKEN_FILE: return "file";
  default: return NULL;
  }
}

static int auth_whoami(int argc, char **argv) {
  struct auth_opts o;
  int rc = parse(argc, argv, "auth whoami",
                 "The user, orgs, token name and role (exit 15 when not logged in or the token\n"
                 "is refused).", &o);
  if (rc != CLI_GO_ON) return rc;
  struct ferry_config cfg;
  struct cli_progress progress;
  char msg[768] = "";
  int err;
  struct ferry_hub_client *c = client_new(&o, &cfg, &progress, &err, msg, sizeof(msg));
  struct ferry_hub_whoami who = {0};
  int source = FERRY_HUB_TOKEN_NONE;
  const char *endpoint = "";
  if (!err) {
    source = ferry_hub_client_token_source(c);
    endpoint = ferry_hub_client_endpoint(c);
    err = ferry_hub_whoami(c, &who, msg, sizeof(msg));
  }
  if (o.json) {
    json_t *orgs = json_array();
    for (size_t i = 0; i < who.n_orgs; i++) json_array_append_new(orgs, json_string(who.orgs[i]));
    const char *src = source_label(source);
    json_print(json_pack(
        "{s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o}", "ok", !err, "user",
        err ? json_null() : json_string(who.user), "fullname",
        err ? json_null() : json_string(who.fullname), "type",
        err ? json_null() : json_string(who.type), "orgs", orgs, "token_name",
        err || !who.token_name[0] ? json_null() : json_string(who.token_name), "role",
        err || !who.role[0] ? json_null() : json_string(who.role), "token_source",
        src ? json_string(src) : json_null(), "endpoint", endpoint, "error", cli_json_error(err, msg, -1)));
  } else if (err) {
    fail(err, msg);
  } else if (o.quiet) {
    printf("%s\n", who.user);
  } else {
    printf("user: %s\n", who.user);
    if (who.n_orgs) {
      printf("orgs: ");
      for (size_t i = 0; i < who.n_orgs; i++) printf("%s%s", i ? "," : "", who.orgs[i]);
      printf("\n");
    }
    printf("token: %s (role: %s; from %s)\n", who.token_name[0] ? who.token_name : "(unnamed)",
           who.role[0] ? who.role : "unknown",
           source == FERRY_HUB_TOKEN_EXPLICIT ? "--token"
           : source == FERRY_HUB_TOKEN_ENV    ? "HF_TOKEN"
                                              : "the token file");
    printf("endpoint: %s\n", endpoint);
  }
  ferry_hub_whoami_free(&who);
  ferry_hub_client_free(c);
  return ferry_exit_class(err);
}

static int auth_list(int argc, char **argv) {
  struct auth_opts o;
  int rc = parse(argc, argv, "auth list",
                 "The stored tokens (names; the active one marked with *).", &o);
  if (rc != CLI_GO_ON) return rc;
  struct ferry_hub_token_list l;
  char msg[768] = "";
  int err = ferry_hub_tokens_list(&l, msg, sizeof(msg));
  const char *active = NULL;
  for (size_t i = 0; i < l.n; i++)
    if (l.v[i].active) active = l.v[i].name;
  if (o.json) {
    json_t *tokens = json_array();
    for (size_t i = 0; i < l.n; i++)
      json_array_append_new(tokens, json_pack("{s:o, s:s, s:b}", "name", cli_json_str(l.v[i].name),
                                              "masked", l.v[i].masked, "active", l.v[i].active));
    json_print(json_pack("{s:b, s:o, s:o, s:b, s:b, s:o}", "ok", !err, "tokens", tokens,
                         "active", cli_json_str(active), "env_token", l.env_token, "file_token",
                         l.file_token,
                         "error", cli_json_error(err, msg, -1)));
  } else if (err) {
    fail(err, msg);
  } else if (o.quiet) {
    for (size_t i = 0; i < l.n; i++) printf("%s\n", l.v[i].name);
  } else if (!l.n) {
    printf("No access tokens stored.\n");
  } else {
    int width = 5;
    for (size_t i = 0; i < l.n; i++)
      if ((int)strlen(l.v[i].name) > width) width = (int)strlen(l.v[i].name);
    printf("  %-*s  %s\n", width, "name", "token");
    for (size_t i = 0; i < l.n; i++)
      printf("%c %-*s  %s\n", l.v[i].active ? '*' : ' ', width, l.v[i].name, l.v[i].masked);
  }
  if (!err && !o.json && !o.quiet) {
    if (l.env_token)
      fprintf(stderr, "ferry: note: HF_TOKEN is set and is the active token, whatever is "
                      "stored\n");
    else if (l.file_token && !active)
      fprintf(stderr, "ferry: note: the token file holds a token that is not stored by name "
                      "(an older login): it is the active one\n");
    else if (l.n && !active)
      fprintf(stderr, "ferry: note: no stored token is active; `ferry auth switch` or `ferry "
                      "auth login`\n");
  }
  ferry_hub_token_list_free(&l);
  return ferry_exit_class(err);
}

/* Asks for a stored token's number on the terminal; NULL when the user quits. */
static char *ask_token_name(const struct ferry_hub_token_list *l) {
  fprintf(stderr, "Stored tokens:\n");
  for (size_t i = 0; i < l->n; i++)
    fprintf(stderr, "%zu. %s%s\n", i + 1, l->v[i].name, l->v[i].active ? " (active)" : "");
  for (int attempt = 0; attempt < 5; attempt++) {
    fprintf(stderr, "Enter the number of the token to switch to (or 'q' to quit): ");
    fflush(stderr);
    char line[64];
    if (read_line(line, sizeof(line)) != 0 || !strcmp(line, "q") || !strcmp(line, "Q"))
      return NULL;
    char *end;
    long k = strtol(line, &end, 10);
    if (*end == 0 && k >= 1 && (size_t)k <= l->n) return strdup(l->v[k - 1].name);
    fprintf(stderr, "Not a number from 1 to %zu.\n", l->n);
  }
  return NULL;
}

static int auth_switch(int argc, char **argv) {
  struct auth_opts o;
  int rc = parse(argc, argv, "auth switch",
                 "Makes a stored token the active one (asks on a terminal without "
                 "--token-name).", &o);
  if (rc != CLI_GO_ON) return rc;
  char msg[768] = "";
  char *asked = NULL;
  int err = 0;
  if (!o.token_name) {
    if (!isatty(STDIN_FILENO)) {
      err = FERRY_E_INVAL;
      snprintf(msg, sizeof(msg), "give --token-name N (there is no terminal to ask on)");
    } else {
      struct ferry_hub_token_list l;
      err = ferry_hub_tokens_list(&l, msg, sizeof(msg));
      if (!err && !l.n) {
        err = FERRY_E_INVAL;
        snprintf(msg, sizeof(msg), "no stored tokens: log in first (ferry auth login)");
      }
      if (!err && !(asked = ask_token_name(&l))) {
        err = FERRY_E_INVAL;
        snprintf(msg, sizeof(msg), "no token chosen: nothing changed");
      }
      ferry_hub_token_list_free(&l);
      o.token_name = asked;
    }
  }
  int env_overrides = 0;
  if (!err) err = ferry_hub_switch(o.token_name, &env_overrides, msg, sizeof(msg));
  if (o.json) {
    json_print(json_pack("{s:b, s:o, s:b, s:o}", "ok", !err, "token_name",
                         cli_json_str(o.token_name), "env_token_overrides", env_overrides, "error", cli_json_error(err, msg, -1)));
  } else if (err) {
    fail(err, msg);
  } else if (!o.quiet) {
    printf("The active token is now \"%s\".\n", o.token_name);
  }
  if (!err && env_overrides && !o.json)
    fprintf(stderr, "ferry: note: HF_TOKEN is set and is used instead of the token you "
                    "switched to\n");
  free(asked);
  return ferry_exit_class(err);
}

/* hf auth token: the token on stdout, because the user asked for it (to pipe it into
 * another tool); where it came from on stderr. */
static int auth_token(int argc, char **argv) {
  struct auth_opts o;
  int rc = parse(argc, argv, "auth token",
                 "Prints the token Hub commands send (HF_TOKEN, then the token file) on stdout,\n"
                 "as `hf auth token`, to hand it to another tool. Anyone who sees it can act as "
                 "you.", &o);
  if (rc != CLI_GO_ON) return rc;
  char *token = NULL;
  int source = 0;
  int err = ferry_hub_token_get(&token, &source);
  if (err) return fail(err, "cannot read the token");
  if (!token)
    return fail(FERRY_E_HUB_AUTH, "not logged in: no token (run `ferry auth login`, or set "
                                  "HF_TOKEN)");
  printf("%s\n", token);
  memset(token, 0, strlen(token));
  free(token);
  if (!o.quiet)
    fprintf(stderr, "ferry: the token from %s; `ferry auth whoami` says whose it is\n",
            source == FERRY_HUB_TOKEN_ENV ? "HF_TOKEN" : "the token file");
  return 0;
}

int cli_auth(int argc, char **argv) {
  static const struct cli_sub subs[] = {
      {"login", NULL, auth_login, "check a token with the Hub and store it, as hf does"},
      {"logout", NULL, auth_logout, "forget every stored token, or one"},
      {"whoami", NULL, auth_whoami, "the user, orgs, token name and role"},
      {"list", "ls", auth_list, "the stored tokens (names; the active one marked with *)"},
      {"switch", NULL, auth_switch, "make a stored token the active one"},
      {"token", NULL, auth_token, "print the active token (for another tool), as hf auth token"},
      {NULL, NULL, NULL, NULL}};
  return cli_group("auth", subs, argc, argv);
}
