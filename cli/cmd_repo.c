/* ferry repo create|delete|settings|move: repositories on the Hub, with the flags of
 * `hf repos`. The work is in engine/hub/repos.c; this file parses, asks and prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct repo_args {
  struct cli_hub_opts hub;
  int private_repo; /* -1 not given */
  int exist_ok, missing_ok, yes;
  const char *sdk, *gated;
  const char *pos[2];
};

/* The options of every repo subcommand, each taken by those its `only` names. Returns
 * CLI_GO_ON, else the exit code. */
static int parse(int argc, char **argv, struct repo_args *a, const char *name, const char *args,
                 int nargs, const char *about) {
  memset(a, 0, sizeof(*a));
  int private_flag = 0, public_flag = 0, n;
  const struct cli_opt opts[] = {
      CLI_HUB_REPO_TYPE(&a->hub),
      CLI_OPT_FLAG("private", 0, &private_flag, "a private repo", .only = " create settings "),
      CLI_OPT_FLAG("public", 0, &public_flag, "a public repo", .only = " settings "),
      CLI_OPT_FLAG("exist-ok", 0, &a->exist_ok, "an existing repo is not an error",
                   .only = " create "),
      CLI_OPT_STR("space-sdk", 0, &a->sdk, "SDK",
                  "a Space's SDK: gradio, streamlit, docker or static", .only = " create "),
      CLI_OPT_STR("sdk", 0, &a->sdk, "SDK", "same as --space-sdk", .only = " create "),
      CLI_OPT_FLAG("missing-ok", 0, &a->missing_ok, "a missing repo is not an error",
                   .only = " delete "),
      CLI_OPT_STR("gated", 0, &a->gated, "MODE", "access requests: auto, manual or false",
                  .only = " settings "),
      CLI_OPT_FLAG("yes", 'y', &a->yes, "do not ask (needed when stdin is not a terminal)",
                   .only = " delete "),
      CLI_HUB_OPTIONS(&a->hub, "print only the essential (create, move: the URL)"),
      CLI_OPT_END};
  const struct cli_cmd cmd = {name, args, about, opts, nargs, nargs, NULL};
  int rc = cli_parse(&cmd, argc, argv, &n);
  if (rc != CLI_GO_ON) return rc;
  if (private_flag && public_flag) return cli_usage_error(name, "give --private or --public, not both");
  a->private_repo = private_flag ? 1 : public_flag ? 0 : -1;
  for (int i = 0; i < n; i++) a->pos[i] = argv[1 + i];
  return CLI_GO_ON;
}

/* {"repo_id", "repo_type"} of the REPO_ID argument. */
static json_t *base_object(const struct repo_args *a) {
  return cli_hub_repo_object(a->pos[0], a->hub.repo_type);
}

static int repo_create(int argc, char **argv) {
  struct repo_args a;
  int rc = parse(argc, argv, &a, "repo create", "REPO_ID", 1,
                 "Creates a repository on the Hub (a Space needs --space-sdk); prints its URL.");
  if (rc != CLI_GO_ON) return rc;
  json_t *obj = base_object(&a);
  const char *type = a.hub.repo_type;
  int is_space = (type && !strcmp(type, "space")) || !strncmp(a.pos[0], "spaces/", 7);
  if (a.sdk && !is_space && !a.hub.quiet)
    fprintf(stderr, "ferry: warning: --space-sdk is ignored: %s is not a Space\n", a.pos[0]);
  struct ferry_hub_client *c;
  if ((rc = cli_hub_client(&a.hub, &c, obj))) return rc;
  char why[1024] = "", *url = NULL;
  int existed = 0;
  int err = ferry_hub_repo_create(c, a.pos[0], type, a.private_repo == 1, a.exist_ok,
                                  is_space ? a.sdk : NULL, &url, &existed, why, sizeof(why));
  ferry_hub_client_free(c);
  json_object_set_new(obj, "url", cli_json_str(url));
  json_object_set_new(obj, "created", json_boolean(!err && !existed));
  if (!err && !a.hub.json) {
    if (existed && !a.hub.quiet) fprintf(stderr, "ferry: %s already exists\n", a.pos[0]);
    printf("%s\n", url);
  }
  free(url);
  return cli_hub_finish(&a.hub, obj, err, why);
}

static int repo_delete(int argc, char **argv) {
  struct repo_args a;
  int rc = parse(argc, argv, &a, "repo delete", "REPO_ID", 1,
                 "Deletes a repository and all its files; asks first on a terminal, elsewhere "
                 "it\nneeds -y.");
  if (rc != CLI_GO_ON) return rc;
  json_t *obj = base_object(&a);
  char question[512], action[300];
  snprintf(question, sizeof(question),
           "Delete the repository %s and all its files? This cannot be undone.", a.pos[0]);
  snprintf(action, sizeof(action), "delete the repository %s", a.pos[0]);
  if ((rc = cli_hub_confirm(&a.hub, a.yes, action, question, obj))) return rc;
  struct ferry_hub_client *c;
  if ((rc = cli_hub_client(&a.hub, &c, obj))) return rc;
  char why[1024] = "";
  int missing = 0;
  int err = ferry_hub_repo_delete(c, a.pos[0], a.hub.repo_type, a.missing_ok, &missing, why,
                                  sizeof(why));
  ferry_hub_client_free(c);
  json_object_set_new(obj, "deleted", json_boolean(!err && !missing));
  if (!err && !a.hub.json && !a.hub.quiet)
    fprintf(stderr, "ferry: %s %s\n", a.pos[0],
            missing ? "does not exist: nothing deleted" : "deleted");
  return cli_hub_finish(&a.hub, obj, err, why);
}

static int repo_settings(int argc, char **argv) {
  struct repo_args a;
  int rc = parse(argc, argv, &a, "repo settings", "REPO_ID", 1,
                 "Changes a repository's visibility or gating.");
  if (rc != CLI_GO_ON) return rc;
  json_t *obj = base_object(&a);
  json_object_set_new(obj, "private",
                      a.private_repo < 0 ? json_null() : json_boolean(a.private_repo));
  json_object_set_new(obj, "gated", cli_json_str(a.gated));
  struct ferry_hub_client *c;
  if ((rc = cli_hub_client(&a.hub, &c, obj))) return rc;
  char why[1024] = "";
  int err = ferry_hub_repo_settings(c, a.pos[0], a.hub.repo_type, a.private_repo, a.gated, why,
                                    sizeof(why));
  ferry_hub_client_free(c);
  if (!err && !a.hub.json && !a.hub.quiet) {
    fprintf(stderr, "ferry: %s:", a.pos[0]);
    if (a.private_repo >= 0) fprintf(stderr, " %s", a.private_repo ? "private" : "public");
    if (a.gated) fprintf(stderr, " gated=%s", a.gated);
    fprintf(stderr, "\n");
  }
  return cli_hub_finish(&a.hub, obj, err, why);
}

static int repo_move(int argc, char **argv) {
  struct repo_args a;
  int rc = parse(argc, argv, &a, "repo move", "FROM_ID TO_ID", 2,
                 "Renames a repository or moves it to another namespace; prints its new URL.");
  if (rc != CLI_GO_ON) return rc;
  json_t *obj = json_pack("{s:s, s:s, s:s}", "from", a.pos[0], "to", a.pos[1], "repo_type",
                          a.hub.repo_type ? a.hub.repo_type : "model");
  struct ferry_hub_client *c;
  if ((rc = cli_hub_client(&a.hub, &c, obj))) return rc;
  char why[1024] = "", *url = NULL;
  int err = ferry_hub_repo_move(c, a.pos[0], a.pos[1], a.hub.repo_type, &url, why, sizeof(why));
  ferry_hub_client_free(c);
  json_object_set_new(obj, "url", cli_json_str(url));
  if (!err && !a.hub.json) printf("%s\n", url);
  free(url);
  return cli_hub_finish(&a.hub, obj, err, why);
}

int cli_repo(int argc, char **argv) {
  static const struct cli_sub subs[] = {
      {"create", NULL, repo_create, "create a repository"},
      {"delete", NULL, repo_delete, "delete a repository"},
      {"settings", NULL, repo_settings, "change its visibility or gating"},
      {"move", NULL, repo_move, "rename it or move it to another namespace"},
      {"delete-files", NULL, cli_repo_delete_files, "delete files matching patterns, one commit"},
      {NULL, NULL, NULL, NULL}};
  return cli_group("repo", subs, argc, argv);
}
