/* hubcmd: what the Hub management commands (repo, branch, tag, ls, info, search) share: the
 * client, the one-line error or the --json object, and the confirmation
 * before deleting something. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"

int cli_hub_client(const struct cli_hub_opts *o, struct ferry_hub_client **out, json_t *obj) {
  static struct cli_progress quiet_log; /* engine notices, never a progress bar */
  struct ferry_config cfg = {0};
  cfg.cacert = cli_cacert(o->cacert, 1);
  cfg.insecure = o->insecure;
  cfg.verbose = o->verbose;
  cli_progress_init(&quiet_log, 1);
  quiet_log.quiet = o->quiet || o->json;
  cfg.log_cb = cli_log;
  cfg.log_user = &quiet_log;
  struct ferry_hub_client_opts co = {.token = o->token, .engine = &cfg};
  char why[512] = "";
  int err = ferry_hub_client_new(&co, out, why, sizeof(why));
  if (err) return cli_hub_finish(o, obj, err, why[0] ? why : ferry_strerror(err));
  return 0;
}

int cli_hub_finish(const struct cli_hub_opts *o, json_t *obj, int err, const char *why) {
  return cli_hub_finish_status(o, obj, err, why, -1);
}

int cli_hub_finish_status(const struct cli_hub_opts *o, json_t *obj, int err, const char *why,
                          long http_status) {
  const char *message = why && why[0] ? why : ferry_strerror(err);
  if (err) fprintf(stderr, "ferry: error: %s\n", message);
  if (o->json) {
    if (!obj) obj = json_object();
    json_object_set_new(obj, "ok", json_boolean(err == 0));
    json_object_set_new(obj, "error",
                        cli_json_error(err, message, http_status));
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text) printf("%s\n", text);
    free(text);
  }
  json_decref(obj);
  return ferry_exit_class(err);
}

int cli_hub_confirm(const struct cli_hub_opts *o, int yes, const char *action,
                    const char *question, json_t *obj) {
  if (yes) return 0;
  if (!isatty(STDIN_FILENO)) {
    char why[512];
    snprintf(why, sizeof(why), "refusing to %s without a confirmation: stdin is not a terminal "
                               "(-y confirms)", action);
    return cli_hub_finish(o, obj, FERRY_E_INVAL, why);
  }
  fprintf(stderr, "%s [y/N] ", question);
  fflush(stderr);
  char line[64] = "";
  if (!fgets(line, sizeof(line), stdin)) line[0] = 0;
  line[strcspn(line, "\r\n")] = 0;
  if (!strcasecmp(line, "y") || !strcasecmp(line, "yes")) return 0;
  fprintf(stderr, "ferry: aborted, nothing was changed\n");
  if (o->json) { /* the answer was no: exit 1, as hf's Abort */
    json_object_set_new(obj, "ok", json_false());
    json_object_set_new(obj, "error",
                        json_pack("{s:i, s:s, s:s}", "code", FERRY_EXIT_OTHER, "name", "ABORTED",
                                  "message", "aborted, nothing was changed"));
    char *text = json_dumps(obj, JSON_COMPACT);
    if (text) printf("%s\n", text);
    free(text);
  }
  json_decref(obj);
  return FERRY_EXIT_OTHER;
}

json_t *cli_hub_repo_object(const char *repo_id, const char *repo_type) {
  char id[256], type[16];
  if (ferry_hub_repo_id_parse(repo_id, repo_type, id, type, NULL, 0))
    return json_pack("{s:o, s:o}", "repo_id", cli_json_str(repo_id), "repo_type",
                     cli_json_str(repo_type ? repo_type : "model"));
  return json_pack("{s:s, s:s}", "repo_id", id, "repo_type", type);
}
