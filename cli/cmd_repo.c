/* ferry repo create|delete|settings|move: repositories on the Hub, with the flags of
 * `hf repos`. The work is in engine/hub/repos.c; this file parses, asks and prints. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void repo_usage(FILE *f) {
  fprintf(f,
          "usage: ferry repo create REPO_ID [--private] [--exist-ok]\n"
          "                         [--space-sdk gradio|streamlit|docker|static]\n"
          "       ferry repo delete REPO_ID [--missing-ok] [-y]\n"
          "       ferry repo settings REPO_ID [--private | --public] [--gated auto|manual|false]\n"
          "       ferry repo move FROM_ID TO_ID\n"
          "\n"
          "common options:\n"
          "  --repo-type TYPE   model (default), dataset or space (or a datasets/ or spaces/\n"
          "                     prefix on REPO_ID)\n"
          "  --token TOKEN      Hub token (default HF_TOKEN, then the token file)\n"
          "  --cacert FILE, --insecure, -v\n"
          "  -q, --quiet        print only the essential (create, move: the URL)\n"
          "  --json             print one JSON object (keys in README.md)\n");
}

enum { OPT_PRIVATE = CLI_OPT_FIRST_OWN, OPT_PUBLIC, OPT_EXIST_OK, OPT_SDK, OPT_MISSING_OK,
       OPT_GATED };

static const struct option repo_options[] = {
    CLI_HUB_OPTIONS,
    CLI_HUB_REPO_TYPE_OPTION,
    {"private", no_argument, 0, OPT_PRIVATE},
    {"public", no_argument, 0, OPT_PUBLIC},
    {"exist-ok", no_argument, 0, OPT_EXIST_OK},
    {"space-sdk", required_argument, 0, OPT_SDK},
    {"sdk", required_argument, 0, OPT_SDK},
    {"missing-ok", no_argument, 0, OPT_MISSING_OK},
    {"gated", required_argument, 0, OPT_GATED},
    {"yes", no_argument, 0, 'y'},
    {0, 0, 0, 0}};

struct repo_args {
  struct cli_hub_opts hub;
  int private_repo; /* -1 not given */
  int exist_ok, missing_ok, yes;
  const char *sdk, *gated;
  const char *pos[3];
  int npos;
};

/* Options anywhere on the line; returns -1 to go on, else the exit code. */
static int parse(int argc, char **argv, struct repo_args *a, const char *allowed) {
  memset(a, 0, sizeof(*a));
  a->private_repo = -1;
  int c;
  optind = 1;
  opterr = 0; /* our own one-line message instead of getopt's */
  while ((c = getopt_long(argc, argv, "qvhy", repo_options, NULL)) != -1) {
    if (cli_hub_opt(&a->hub, c, optarg)) continue;
    const char *name = NULL;
    switch (c) {
    case OPT_PRIVATE:
    case OPT_PUBLIC:
      if (a->private_repo == (c == OPT_PUBLIC)) {
        fprintf(stderr, "ferry: error: give --private or --public, not both\n");
        return FERRY_EXIT_USAGE;
      }
      a->private_repo = c == OPT_PRIVATE;
      name = c == OPT_PRIVATE ? "private" : "public";
      break;
    case OPT_EXIST_OK: a->exist_ok = 1, name = "exist-ok"; break;
    case OPT_SDK: a->sdk = optarg, name = "space-sdk"; break;
    case OPT_MISSING_OK: a->missing_ok = 1, name = "missing-ok"; break;
    case OPT_GATED: a->gated = optarg, name = "gated"; break;
    case 'y': a->yes = 1, name = "y"; break;
    case 'h': repo_usage(stdout); return 0;
    default: return cli_hub_bad_option(argc, argv);
    }
    char key[32];
    snprintf(key, sizeof(key), " %s ", name);
    if (!strstr(allowed, key)) {
      fprintf(stderr, "ferry: error: repo %s does not take --%s\n", argv[0], name);
      return FERRY_EXIT_USAGE;
    }
  }
  for (; optind < argc; optind++) {
    if (a->npos == 3) {
      fprintf(stderr, "ferry: error: too many arguments\n");
      return FERRY_EXIT_USAGE;
    }
    a->pos[a->npos++] = argv[optind];
  }
  return -1;
}

static int need_args(const struct repo_args *a, int n, const char *what) {
  if (a->npos == n) return 0;
  fprintf(stderr, "ferry: error: repo %s\n", what);
  repo_usage(stderr);
  return FERRY_EXIT_USAGE;
}

/* {"repo_id", "repo_type"} of the REPO_ID argument. */
static json_t *base_object(const struct repo_args *a) {
  return cli_hub_repo_object(a->pos[0], a->hub.repo_type);
}

static int repo_create(int argc, char **argv) {
  struct repo_args a;
  int rc = parse(argc, argv, &a, " private exist-ok space-sdk ");
  if (rc >= 0) return rc;
  if ((rc = need_args(&a, 1, "create needs REPO_ID"))) return rc;
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
  int rc = parse(argc, argv, &a, " missing-ok y ");
  if (rc >= 0) return rc;
  if ((rc = need_args(&a, 1, "delete needs REPO_ID"))) return rc;
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
  int rc = parse(argc, argv, &a, " private public gated ");
  if (rc >= 0) return rc;
  if ((rc = need_args(&a, 1, "settings needs REPO_ID"))) return rc;
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
  int rc = parse(argc, argv, &a, " ");
  if (rc >= 0) return rc;
  if ((rc = need_args(&a, 2, "move needs FROM_ID and TO_ID"))) return rc;
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
  const char *sub = argc >= 2 ? argv[1] : "";
  if (!strcmp(sub, "create")) return repo_create(argc - 1, argv + 1);
  if (!strcmp(sub, "delete")) return repo_delete(argc - 1, argv + 1);
  if (!strcmp(sub, "settings")) return repo_settings(argc - 1, argv + 1);
  if (!strcmp(sub, "move")) return repo_move(argc - 1, argv + 1);
  int help = !strcmp(sub, "--help") || !strcmp(sub, "-h");
  if (!help) fprintf(stderr, "ferry: error: repo needs create, delete, settings or move\n");
  repo_usage(help ? stdout : stderr);
  return help ? 0 : FERRY_EXIT_USAGE;
}
