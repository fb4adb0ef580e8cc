/* ferry branch create|delete and ferry tag create|delete|list: a repo's refs, with the flags
 * of `hf repos branch` and `hf repos tag`. The work is in engine/hub/repos.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct refs_args {
  struct cli_hub_opts hub;
  const char *revision, *message;
  int exist_ok, yes;
  const char *pos[2];
};

/* The options of every branch and tag subcommand, each taken by those its `only` names; `what`
 * is "branch create" etc. Returns CLI_GO_ON, else the exit code. */
static int parse(int argc, char **argv, struct refs_args *a, const char *what, int npos,
                 const char *about) {
  memset(a, 0, sizeof(*a));
  const struct cli_opt opts[] = {
      CLI_HUB_REPO_TYPE(&a->hub),
      CLI_OPT_STR("revision", 0, &a->revision, "REV",
                  "what the branch or tag points at (default: main)", .only = " create "),
      CLI_OPT_FLAG("exist-ok", 0, &a->exist_ok, "an existing branch is not an error",
                   .only = " branch-create "),
      CLI_OPT_STR("message", 'm', &a->message, "MESSAGE", "the tag's message",
                  .only = " tag-create "),
      CLI_OPT_FLAG("yes", 'y', &a->yes, "do not ask (needed when stdin is not a terminal)",
                   .only = " tag-delete "),
      CLI_HUB_OPTIONS(&a->hub, "tag list: only the names; others: print nothing"),
      CLI_OPT_END};
  const struct cli_cmd cmd = {what, npos == 1 ? "REPO_ID" : "REPO_ID NAME", about, opts, npos,
                              npos, NULL};
  int n;
  int rc = cli_parse(&cmd, argc, argv, &n);
  for (int i = 0; rc == CLI_GO_ON && i < n; i++) a->pos[i] = argv[1 + i];
  return rc;
}

static json_t *base_object(const struct refs_args *a, const char *key) {
  json_t *obj = cli_hub_repo_object(a->pos[0], a->hub.repo_type);
  if (key) json_object_set_new(obj, key, json_string(a->pos[1]));
  return obj;
}

static int branch_create(int argc, char **argv) {
  struct refs_args a;
  int rc = parse(argc, argv, &a, "branch create", 2,
                 "Creates a branch at --revision (default: main).");
  if (rc != CLI_GO_ON) return rc;
  json_t *obj = base_object(&a, "branch");
  json_object_set_new(obj, "revision", json_string(a.revision ? a.revision : "main"));
  struct ferry_hub_client *c;
  if ((rc = cli_hub_client(&a.hub, &c, obj))) return rc;
  char why[1024] = "";
  int existed = 0;
  int err = ferry_hub_branch_create(c, a.pos[0], a.hub.repo_type, a.pos[1], a.revision,
                                    a.exist_ok, &existed, why, sizeof(why));
  ferry_hub_client_free(c);
  json_object_set_new(obj, "created", json_boolean(!err && !existed));
  if (!err && !a.hub.json && !a.hub.quiet)
    fprintf(stderr, "ferry: branch '%s' %s in %s\n", a.pos[1],
            existed ? "already exists" : "created", a.pos[0]);
  return cli_hub_finish(&a.hub, obj, err, why);
}

static int branch_delete(int argc, char **argv) {
  struct refs_args a;
  int rc = parse(argc, argv, &a, "branch delete", 2, "Deletes a branch.");
  if (rc != CLI_GO_ON) return rc;
  json_t *obj = base_object(&a, "branch");
  struct ferry_hub_client *c;
  if ((rc = cli_hub_client(&a.hub, &c, obj))) return rc;
  char why[1024] = "";
  int err = ferry_hub_branch_delete(c, a.pos[0], a.hub.repo_type, a.pos[1], why, sizeof(why));
  ferry_hub_client_free(c);
  if (!err && !a.hub.json && !a.hub.quiet)
    fprintf(stderr, "ferry: branch '%s' deleted from %s\n", a.pos[1], a.pos[0]);
  return cli_hub_finish(&a.hub, obj, err, why);
}

static int tag_create(int argc, char **argv) {
  struct refs_args a;
  int rc = parse(argc, argv, &a, "tag create", 2,
                 "Tags --revision (default: main), with an optional message.");
  if (rc != CLI_GO_ON) return rc;
  json_t *obj = base_object(&a, "tag");
  json_object_set_new(obj, "revision", json_string(a.revision ? a.revision : "main"));
  json_object_set_new(obj, "message", cli_json_str(a.message));
  struct ferry_hub_client *c;
  if ((rc = cli_hub_client(&a.hub, &c, obj))) return rc;
  char why[1024] = "";
  int err = ferry_hub_tag_create(c, a.pos[0], a.hub.repo_type, a.pos[1], a.message, a.revision,
                                 0, NULL, why, sizeof(why));
  ferry_hub_client_free(c);
  if (!err && !a.hub.json && !a.hub.quiet)
    fprintf(stderr, "ferry: tag '%s' created on %s of %s\n", a.pos[1],
            a.revision ? a.revision : "main", a.pos[0]);
  return cli_hub_finish(&a.hub, obj, err, why);
}

static int tag_delete(int argc, char **argv) {
  struct refs_args a;
  int rc = parse(argc, argv, &a, "tag delete", 2,
                 "Deletes a tag; asks first on a terminal, elsewhere it needs -y.");
  if (rc != CLI_GO_ON) return rc;
  json_t *obj = base_object(&a, "tag");
  char question[512], action[512];
  snprintf(question, sizeof(question), "Delete the tag '%s' of %s?", a.pos[1], a.pos[0]);
  snprintf(action, sizeof(action), "delete the tag '%s' of %s", a.pos[1], a.pos[0]);
  if ((rc = cli_hub_confirm(&a.hub, a.yes, action, question, obj))) return rc;
  struct ferry_hub_client *c;
  if ((rc = cli_hub_client(&a.hub, &c, obj))) return rc;
  char why[1024] = "";
  int err = ferry_hub_tag_delete(c, a.pos[0], a.hub.repo_type, a.pos[1], why, sizeof(why));
  ferry_hub_client_free(c);
  if (!err && !a.hub.json && !a.hub.quiet)
    fprintf(stderr, "ferry: tag '%s' deleted from %s\n", a.pos[1], a.pos[0]);
  return cli_hub_finish(&a.hub, obj, err, why);
}

static int tag_list(int argc, char **argv) {
  struct refs_args a;
  int rc = parse(argc, argv, &a, "tag list", 1, "Lists the tags and the commits they point at.");
  if (rc != CLI_GO_ON) return rc;
  json_t *obj = base_object(&a, NULL);
  struct ferry_hub_client *c;
  if ((rc = cli_hub_client(&a.hub, &c, obj))) return rc;
  char why[1024] = "";
  struct ferry_hub_refs refs;
  int err = ferry_hub_list_refs(c, a.pos[0], a.hub.repo_type, &refs, why, sizeof(why));
  ferry_hub_client_free(c);
  json_t *tags = json_array();
  for (size_t i = 0; !err && i < refs.n_tags; i++) {
    const struct ferry_hub_git_ref *t = &refs.tags[i];
    json_array_append_new(tags, json_pack("{s:s, s:s, s:s}", "name", t->name, "ref", t->ref,
                                          "commit", t->target_commit));
    if (a.hub.json) continue;
    if (a.hub.quiet) printf("%s\n", t->name);
    else printf("%-30s %s\n", t->name, t->target_commit);
  }
  json_object_set_new(obj, "tags", tags);
  if (!err) ferry_hub_refs_free(&refs);
  return cli_hub_finish(&a.hub, obj, err, why);
}

int cli_branch(int argc, char **argv) {
  static const struct cli_sub subs[] = {{"create", NULL, branch_create, "create a branch"},
                                        {"delete", NULL, branch_delete, "delete a branch"},
                                        {NULL, NULL, NULL, NULL}};
  return cli_group("branch", subs, argc, argv);
}

int cli_tag(int argc, char **argv) {
  static const struct cli_sub subs[] = {{"create", NULL, tag_create, "tag a revision"},
                                        {"delete", NULL, tag_delete, "delete a tag"},
                                        {"list", "ls", tag_list, "the tags and their commits"},
                                        {NULL, NULL, NULL, NULL}};
  return cli_group("tag", subs, argc, argv);
}
