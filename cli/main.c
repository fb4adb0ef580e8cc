/* ferry: the command-line front end of libferry. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: ferry <command> [options]\n"
          "\n"
          "commands:\n"
          "  get URL [-o PATH]   download a URL, verified and resumable (ferry get --help)\n"
          "  download REPO_ID    a Hub repository into the Hugging Face cache (--help)\n"
          "  upload REPO_ID [LOCAL_PATH] [PATH_IN_REPO]\n"
          "                      a file or folder into a Hub repository (--help)\n"
          "  cache verify REPO   re-hash a cached snapshot against the Hub's tree\n"
          /* auth and env (issue 6) */
          "  auth login|logout|whoami|list|switch   Hub login, shared with hf (--help)\n"
          "  env                 versions, endpoint, paths, token source, logged-in user\n"
          "  cache ls|rm|prune   list the cache, delete revisions or repos, clean up\n"
          "  card new|check      scaffold a model card, check a card's metadata\n"
          /* Hub management: repos, refs, listing and search */
          "  repo create|delete|settings|move REPO_ID   repositories on the Hub\n"
          "  branch create|delete REPO_ID BRANCH        branches\n"
          "  tag create|delete|list REPO_ID [TAG]       tags\n"
          "  ls REPO_ID [PATH]   files of a repo with sizes and LFS flags (-R)\n"
          "  info REPO_ID        a repo's metadata, files and total size\n"
          "  search models|datasets|spaces [QUERY]      find repos (--author, --filter, --sort)\n"
          "\n"
          "  ferry --version     versions of ferry and its libraries\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return FERRY_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
    printf("%s\n", ferry_version_string());
    return 0;
  }
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(cmd, "get")) return cli_get(argc - 1, argv + 1);
  if (!strcmp(cmd, "download")) return cli_download(argc - 1, argv + 1);
  if (!strcmp(cmd, "cache")) return cli_cache(argc - 1, argv + 1);
  if (!strcmp(cmd, "upload")) return cli_upload(argc - 1, argv + 1);
  /* auth and env (issue 6) */
  if (!strcmp(cmd, "auth")) return cli_auth(argc - 1, argv + 1);
  if (!strcmp(cmd, "env")) return cli_env(argc - 1, argv + 1);
  if (!strcmp(cmd, "card")) return cli_card(argc - 1, argv + 1);
  /* Hub management: repos, refs, listing and search */
  if (!strcmp(cmd, "repo") || !strcmp(cmd, "repos")) return cli_repo(argc - 1, argv + 1);
  if (!strcmp(cmd, "branch")) return cli_branch(argc - 1, argv + 1);
  if (!strcmp(cmd, "tag")) return cli_tag(argc - 1, argv + 1);
  if (!strcmp(cmd, "ls")) return cli_ls(argc - 1, argv + 1);
  if (!strcmp(cmd, "info")) return cli_info(argc - 1, argv + 1);
  if (!strcmp(cmd, "search")) return cli_search(argc - 1, argv + 1);
  fprintf(stderr, "ferry: unknown command '%s'\n", cmd);
  usage(stderr);
  return FERRY_EXIT_USAGE;
}
