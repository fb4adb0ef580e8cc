/* ferry env: what ferry would use, for bug reports (like `hf env`): versions, endpoint, cache
 * and token paths, whether a token is found and where from (never its value), the logged-in
 * user when the Hub answers, and the Hugging Face variables that are set. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "cli.h"

extern char **environ;

/* A variable worth showing: huggingface_hub's and the CA bundles the Hub commands read. */
static int relevant(const char *name) {
  static const char *const prefixes[] = {"HF_", "HUGGINGFACE_", "HUGGING_FACE_"};
  static const char *const names[] = {"TRANSFORMERS_OFFLINE", "SSL_CERT_FILE", "CURL_CA_BUNDLE",
                                      "REQUESTS_CA_BUNDLE", "XDG_CACHE_HOME"};
  for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
    if (!strncmp(name, prefixes[i], strlen(prefixes[i]))) return 1;
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (!strcmp(name, names[i])) return 1;
  return 0;
}

/* Values never shown: tokens (HF_TOKEN, HF_OIDC_ID_TOKEN, ...) and anything secret-looking;
 * HF_TOKEN_PATH is a path and is shown. */
static int secret(const char *name, size_t len) {
  char upper[256];
  snprintf(upper, sizeof(upper), "%.*s", (int)(len < 255 ? len : 255), name);
  if (!strcmp(upper, "HF_TOKEN_PATH")) return 0;
  return strstr(upper, "TOKEN") || strstr(upper, "SECRET") || strstr(upper, "KEY") ||
         strstr(upper, "PASS") || strstr(upper, "AUTH");
}

/* huggingface_hub's _is_true */
static int env_true(const char *name) {
  const char *v = getenv(name);
  return v && (!strcasecmp(v, "1") || !strcasecmp(v, "ON") || !strcasecmp(v, "YES") ||
               !strcasecmp(v, "TRUE"));
}

static int by_string(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int count_stored(const struct ferry_hub_token_list *l) { return (int)l->n; }

int cli_env(int argc, char **argv) {
  const char *token = NULL, *cacert = NULL;
  int json = 0, quiet = 0, offline_flag = 0, nargs;
  const struct cli_opt opts[] = {
      CLI_OPT_TOKEN(&token), CLI_OPT_CACERT(&cacert),
      CLI_OPT_FLAG("offline", 0, &offline_flag, "do not ask the Hub who the token belongs to"),
      CLI_OPT_FLAG("quiet", 'q', &quiet, "no notes on stderr"),
      CLI_OPT_JSON(&json),
      CLI_OPT_END};
  const struct cli_cmd cmd = {
      "env", "",
      "Prints ferry's and its libraries' versions, the endpoint, the cache and token paths,\n"
      "whether a token is found and where from, the logged-in user (asks the Hub's\n"
      "whoami-v2 unless offline: HF_HUB_OFFLINE or --offline), the transfer settings\n"
      "saved by `ferry bench --sweep --save` and the HF_* variables that are set (values\n"
      "of token and secret variables hidden).",
      opts, 0, 0, NULL};
  int rc = cli_parse(&cmd, argc, argv, &nargs);
  if (rc != CLI_GO_ON) return rc;
  struct utsname un;
  char platform[400] = "unknown";
  if (uname(&un) == 0)
    snprintf(platform, sizeof(platform), "%s %s %s", un.sysname, un.release, un.machine);

  struct ferry_hub_paths paths = {0};
  int perr = ferry_hub_paths_get(&paths);
  struct ferry_hub_token_list stored = {0};
  char stored_msg[768] = "";
  int serr = ferry_hub_tokens_list(&stored, stored_msg, sizeof(stored_msg));

  /* The token that a Hub command would send, and who it belongs to. */
  struct ferry_config cfg = {0};
  cfg.cacert = cli_cacert(cacert, 1);
  cfg.connect_timeout = 5;
  struct cli_progress progress;
  cli_progress_init(&progress, 1);
  progress.quiet = 1; /* env reports problems itself, once */
  cfg.log_cb = cli_log;
  cfg.log_user = &progress;
  struct ferry_hub_client_opts co = {.token = token, .engine = &cfg};
  struct ferry_hub_client *client = NULL;
  char msg[768] = "", user_error[768] = "";
  int cerr = ferry_hub_client_new(&co, &client, msg, sizeof(msg));
  int offline = offline_flag || env_true("HF_HUB_OFFLINE") || env_true("TRANSFORMERS_OFFLINE");
  int source = cerr ? FERRY_HUB_TOKEN_NONE : ferry_hub_client_token_source(client);
  struct ferry_hub_whoami who = {0};
  int have_user = 0;
  if (cerr) {
    snprintf(user_error, sizeof(user_error), "%s", msg);
  } else if (source == FERRY_HUB_TOKEN_NONE) {
    snprintf(user_error, sizeof(user_error), "not logged in");
  } else if (offline) {
    snprintf(user_error, sizeof(user_error), "not asked (offline)");
  } else {
    int werr = ferry_hub_whoami(client, &who, msg, sizeof(msg));
    if (werr) snprintf(user_error, sizeof(user_error), "%s", msg);
    else have_user = 1;
  }

  /* The variables, sorted, secrets hidden. */
  size_t nvars = 0;
  for (char **e = environ; *e; e++) nvars++;
  char **vars = calloc(nvars + 1, sizeof(char *));
  size_t nv = 0;
  for (char **e = environ; vars && *e; e++) {
    const char *eq = strchr(*e, '=');
    if (!eq) continue;
    char name[256];
    snprintf(name, sizeof(name), "%.*s", (int)(eq - *e < 255 ? eq - *e : 255), *e);
    if (relevant(name)) vars[nv++] = *e;
  }
  if (vars) qsort(vars, nv, sizeof(char *), by_string);

  struct ferry_settings settings;
  char settings_why[640] = "";
  int settings_err = ferry_settings_load(&settings, settings_why, sizeof(settings_why));
  const char *endpoint = client ? ferry_hub_client_endpoint(client) : "";
  const char *src = source == FERRY_HUB_TOKEN_EXPLICIT ? "explicit"
                    : source == FERRY_HUB_TOKEN_ENV    ? "env"
                    : source == FERRY_HUB_TOKEN_FILE   ? "file"
                                                       : NULL;
  if (json) {
    json_t *vj = json_object();
    for (size_t i = 0; i < nv; i++) {
      const char *eq = strchr(vars[i], '=');
      char name[256];
      snprintf(name, sizeof(name), "%.*s", (int)(eq - vars[i] < 255 ? eq - vars[i] : 255),
               vars[i]);
      json_t *value = cli_json_str(secret(vars[i], (size_t)(eq - vars[i])) ? "<hidden>" : eq + 1);
      if (json_object_set_new(vj, name, value) != 0) /* a name that is not UTF-8 */
        json_object_set_new(vj, "?", cli_json_str(""));
    }
    json_t *obj = json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:b, s:o, s:o, s:o}",
        "ferry_version", FERRY_VERSION, "versions", ferry_version_string(), "platform", platform,
        "endpoint", endpoint, "hf_home", cli_json_str(paths.hf_home), "cache_dir",
        cli_json_str(paths.cache_dir), "token_path", cli_json_str(paths.token_path), "stored_tokens_path",
        cli_json_str(paths.stored_tokens_path),
        "stored_tokens", serr ? json_null() : json_integer(count_stored(&stored)),
        "token_found", source != FERRY_HUB_TOKEN_NONE, "token_source",
        src ? json_string(src) : json_null(), "offline", offline, "user",
        have_user ? cli_json_str(who.user) : json_null(), "user_error",
        have_user ? json_null() : cli_json_str(user_error), "variables", vj);
    json_object_set_new(obj, "settings", cli_settings_json(&settings, settings_err, settings_why));
    char *text = json_dumps(obj, JSON_COMPACT);
    if (text) printf("%s\n", text);
    free(text);
    json_decref(obj);
  } else {
    printf("ferry version: %s\n", FERRY_VERSION);
    printf("libraries: %s\n", ferry_version_string());
    printf("platform: %s\n", platform);
    printf("endpoint: %s\n", endpoint[0] ? endpoint : "(invalid HF_ENDPOINT)");
    printf("HF_HOME: %s\n", paths.hf_home ? paths.hf_home : "?");
    printf("cache dir: %s\n", paths.cache_dir ? paths.cache_dir : "?");
    printf("token path: %s\n", paths.token_path ? paths.token_path : "?");
    printf("stored tokens: %s (", paths.stored_tokens_path ? paths.stored_tokens_path : "?");
    if (serr) printf("unreadable)\n");
    else printf("%d)\n", count_stored(&stored));
    printf("token: %s\n", source == FERRY_HUB_TOKEN_EXPLICIT ? "found (--token)"
                          : source == FERRY_HUB_TOKEN_ENV    ? "found (environment: HF_TOKEN)"
                          : source == FERRY_HUB_TOKEN_FILE   ? "found (token file)"
                                                             : "none");
    printf("offline: %s\n", offline ? "yes" : "no");
    printf("user: %s%s%s\n", have_user ? who.user : "(", have_user ? "" : user_error,
           have_user ? "" : ")");
    cli_settings_print(&settings, settings_err, settings_why);
    printf("variables:%s\n", nv ? "" : " (none set)");
    for (size_t i = 0; i < nv; i++) {
      const char *eq = strchr(vars[i], '=');
      int hide = secret(vars[i], (size_t)(eq - vars[i]));
      printf("  %.*s=%s\n", (int)(eq - vars[i]), vars[i], hide ? "<hidden>" : eq + 1);
    }
    if (!quiet && perr) fprintf(stderr, "ferry: note: the paths could not be computed\n");
    if (!quiet && serr) fprintf(stderr, "ferry: note: %s\n", stored_msg);
  }
  free(vars);
  ferry_hub_whoami_free(&who);
  ferry_hub_token_list_free(&stored);
  ferry_hub_client_free(client);
  ferry_hub_paths_free(&paths);
  return 0;
}
