/* ferry branch create|delete and ferry tag create|delete|list: a repo's refs, with the flags
 * of `hf repos branch` and `hf repos tag`. The work is in engine/hub/repos.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void refs_usage(FILE *f) {
  fprintf(f,
          "usage: ferry branch create REPO_ID BRANCH [--revision REV] [--exist-ok]\n"
          "       ferry branch delete REPO_ID BRANCH\n"
          "       ferry tag create REPO_ID TAG [-m MESSAGE] [--revision REV]\n"
          "       ferry tag delete REPO_ID TAG [-y]\n"
          "       ferry tag list REPO_ID\n"
          "\n"
          "  --revision REV     what the branch or tag points at (default: main)\n"
          "  --repo-type TYPE   model (default), dataset or space\n"
          "  --token TOKEN, --cacert FILE, --insecure, -v\n"
          "  -q, --quiet        tag list: only the names; others: print nothing\n"
          "  --json             print one JSON object (keys in README.md)\n");
}

enum { OPT_REVISION = CLI_OPT_FIRST_OWN, OPT_EXIST_OK };

static const struct option refs_options[] = {
    CLI_HUB_OPTIONS,
    CLI_HUB_REPO_TYPE_OPTION,
    {"revision", required_argument, 0, OPT_REVISION},
    {"exist-ok", no_argument, 0, OPT_EXIST_OK},
    {"message", required_argument, 0, 'm'},
    {"yes", no_argument, 0, 'y'},
    {0, 0, 0, 0}};

struct refs_args {
  struct cli_hub_opts hub;
  const char *revision, *message;
  int exist_ok, yes;
  const char *pos[2];
  int npos;
};

/* `what` is "branch create" etc.; `allowed` lists the own options it takes (" revision "...).
 * Returns -1 to go on, else the exit code. */
static int parse(int argc, char **argv, struct refs_args *a, const char *what,
                 const char *allowed, int npos) {
  memset(a, 0, sizeof(*a));
  int c;
  optind = 1;
  opterr = 0; /* our own one-line message instead of getopt's */
  while ((c = getopt_long(argc, argv, "qvhym:", refs_options, NULL)) != -1) {
    if (cli_hub_opt(&a->hub, c, optarg)) continue;
    const char *name = NULL;
    switch (c) {
    case OPT_REVISION: a->revision = optarg, name = "revision"; break;
    case OPT_EXIST_OK: a->exist_ok = 1, name = "exist-ok"; break;
    case 'm': a->message = optarg, name = "m"; break;
    case 'y': a->yes = 1, name = "y"; break;
    case 'h': refs_usage(stdout); return 0;
    default: return cli_hub_bad_option(argc, argv);
    }
    char key[32];
    snprintf(key, sizeof(key), " %s ", name);
    if (!strstr(allowed, key)) {
      fprintf(stderr, "ferry: error: %s does not take -%s%s\n", what, name[1] ? "-" : "", name);
      return FERRY_EXIT_USAGE;
    }
  }
  if (argc - optind != npos) {
    fprintf(stderr, "ferry: error: %s needs %s\n", what,
            npos == 1 ? "REPO_ID" : "REPO_ID and a name");
    refs_usage(stderr);
    return FERRY_EXIT_USAGE;
  }
  for (int i = 0; i < npos; i++) a->pos[a->npos++] = argv[optind + i];
  return -1;
}

static json_t *base_object(const struct refs_args *a, const char *key) {
  json_t *obj = cli_hub_repo_object(a->pos[0], a->hub.repo_type);
  if (key) json_object_set_new(obj, key, json_string(a->pos[1]));
  return obj;
}

static int branch_create(int argc, char **argv) {
  struct refs_args a;
  int rc = parse(argc, argv, &a, "branch create", " revision exist-ok ", 2);
  if (rc >= 0) return rc;
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
  int rc = parse(argc, argv, &a, "branch delete", " ", 2);
  if (rc >= 0) return rc;
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
  int rc = parse(argc, argv, &a, "tag create", " revision m ", 2);
  if (rc >= 0) return rc;
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
  int rc = parse(argc, argv, &a, "tag delete", " y ", 2);
  if (rc >= 0) return rc;
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
  int rc = parse(argc, argv, &a, "tag list", " ", 1);
  if (rc >= 0) return rc;
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
  const char *sub = argc >= 2 ? argv[1] : "";
  if (!strcmp(sub, "create")) return branch_create(argc - 1, argv + 1);
  if (!strcmp(sub, "delete")) return branch_delete(argc - 1, argv + 1);
  int help = !strcmp(sub, "--help") || !strcmp(sub, "-h");
  if (!help) fprintf(stderr, "ferry: error: branch needs create or delete\n");
  refs_usage(help ? stdout : stderr);
  return help ? 0 : FERRY_EXIT_USAGE;
}

int cli_tag(int argc, char **argv) {
  const char *sub = argc >= 2 ? argv[1] : "";
  if (!strcmp(sub, "create")) return tag_create(argc - 1, argv + 1);
  if (!strcmp(sub, "delete")) return tag_delete(argc - 1, argv + 1);
  if (!strcmp(sub, "list") || !strcmp(sub, "ls")) return tag_list(argc - 1, argv + 1);
  int help = !strcmp(sub, "--help") || !strcmp(sub, "-h");
  if (!help) fprintf(stderr, "ferry: error: tag needs create, delete or list\n");
  refs_usage(help ? stdout : stderr);
  return help ? 0 : FERRY_EXIT_USAGE;
}
