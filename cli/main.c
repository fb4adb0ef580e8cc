/* ferry: the command-line front end of libferry. */
#include <stdio.h>

#include "cli.h"

static int version(int argc, char **argv) {
  (void)argc, (void)argv;
  printf("%s\n", ferry_version_string());
  return 0;
}

static const struct cli_sub commands[] = {
    {"get", NULL, cli_get, "download a URL (or a list with -i), verified and resumable"},
    {"download", NULL, cli_download, "a Hub repository into the Hugging Face cache"},
    {"upload", NULL, cli_upload, "a file or folder into a Hub repository"},
    {"upload-large-folder", NULL, cli_upload_large_folder, "hf's name: ferry upload of a folder"},
    {"bench", NULL, cli_bench, "how fast a download goes here, and what limits it"},
    {"cache", NULL, cli_cache, "ls|rm|prune|verify: list, clean up or re-hash the cache"},
    {"auth", NULL, cli_auth, "login|logout|whoami|list|switch: Hub login, shared with hf"},
    {"env", NULL, cli_env, "versions, endpoint, paths, token source, logged-in user"},
    {"card", NULL, cli_card, "new|check: scaffold a model card, check a card's metadata"},
    {"repo", "repos", cli_repo,
     "create|delete|settings|move|delete-files: repositories on the Hub"},
    {"repo-files", NULL, cli_repo_files, "delete: hf's older name of repo delete-files"},
    {"branch", NULL, cli_branch, "create|delete: a repository's branches"},
    {"tag", NULL, cli_tag, "create|delete|list: a repository's tags"},
    {"ls", NULL, cli_ls, "files of a repo with sizes and LFS flags"},
    {"info", NULL, cli_info, "a repo's metadata, files and total size"},
    {"search", NULL, cli_search, "models|datasets|spaces: find repos"},
    {"version", "--version", version, "versions of ferry and its libraries (also --version)"},
    {NULL, NULL, NULL, NULL}};

int main(int argc, char **argv) { return cli_group("", commands, argc, argv); }
