/* ferry upload: a file or a folder into a Hub repository, with the flags of `hf upload`. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define MAX_PATTERNS 256

/* The options upload, upload-large-folder and repo delete-files share, worded once. */
#define UPLOAD_WHERE_OPTS(hub, o, inc, exc)                                                   \
  CLI_HUB_REPO_TYPE(&(hub)),                                                                \
      CLI_OPT_STR("revision", 0, &(o).revision, "REV",                                      \
                  "branch to commit to (created from main when missing)"),                  \
      CLI_OPT_FLAG("private", 0, &(o).private_repo,                                         \
                   "create the repo private (when it does not exist)"),                     \
      CLI_OPT_LIST("include", &(inc), "PAT", "only files matching (repeatable; '*' crosses '/')"), \
      CLI_OPT_LIST("exclude", &(exc), "PAT", "not the files matching (repeatable)")
#define COMMIT_OPTS(o)                                                                        \
  CLI_OPT_STR("commit-message", 0, &(o).commit_message, "MSG", "the commit's title"),       \
      CLI_OPT_STR("commit-description", 0, &(o).commit_description, "TEXT",                 \
                  "the commit's description"),                                              \
      CLI_OPT_FLAG("create-pr", 0, &(o).create_pr,                                          \
                   "open a pull request instead of committing to the branch")

static void draw(void *user, const struct ferry_hub_upload_progress *p) {
  struct cli_progress *bar = user;
  if (!bar->enabled) return;
  char a[32], b[32], c[32], d[32], eta[32];
  double rate = p->seconds > 0 ? (double)p->bytes_sent / p->seconds : 0;
  uint64_t left = p->bytes_to_send > p->bytes_sent ? p->bytes_to_send - p->bytes_sent : 0;
  if (p->phase == 1) {
    fprintf(stderr, "\rcommitting...\033[K");
  } else {
    fprintf(stderr, "\rhashed %s / %s  sent %s  %s/s  ETA %s\033[K",
            cli_fmt_bytes((double)p->bytes_hashed, a, sizeof(a)),
            cli_fmt_bytes((double)p->bytes_total, b, sizeof(b)),
            cli_fmt_bytes((double)p->bytes_sent, c, sizeof(c)), cli_fmt_bytes(rate, d, sizeof(d)),
            cli_fmt_duration(rate > 0 ? (double)left / rate : -1, eta, sizeof(eta)));
  }
  bar->drawn = 1;
}

static void print_json(const struct ferry_hub_upload_opts *o,
                       const struct ferry_hub_upload_result *r) {
  double secs = r->seconds > 0 ? r->seconds : 1e-9;
  json_t *err = cli_json_error(r->error, r->message, r->http_status);
  json_t *obj = json_pack(
      "{s:b, s:s, s:s, s:s, s:s, s:s?, s:s?, s:i, s:i, s:i, s:i, s:i, s:i, s:I, s:I, s:I, s:I, "
      "s:I, s:I, s:i, s:i, s:f, s:f, s:I, s:o}",
      "ok", r->error == 0, "repo_id", r->repo_id[0] ? r->repo_id : o->repo_id, "repo_type",
      r->repo_type[0] ? r->repo_type : (o->repo_type ? o->repo_type : "model"), "revision",
      r->revision[0] ? r->revision : (o->revision ? o->revision : "main"), "commit_oid",
      r->commit_oid, "commit_url", r->commit_url, "pr_url", r->pr_url, "files_total",
      r->files_total, "files_committed", r->files_committed, "files_unchanged",
      r->files_unchanged, "files_deleted", r->files_deleted, "lfs_objects_sent",
      r->lfs_objects_sent, "lfs_objects_present", r->lfs_objects_present, "bytes_total",
      (json_int_t)r->bytes_total, "bytes_sent", (json_int_t)r->bytes_sent, "bytes_skipped",
      (json_int_t)r->bytes_skipped, "parts_sent", (json_int_t)r->parts_sent, "parts_resumed",
      (json_int_t)r->parts_resumed, "parts_retried", (json_int_t)r->parts_retried, "parts_at_once",
      r->parts_at_once, "commits",
      r->commits, "seconds", r->seconds, "mb_per_s", (double)r->bytes_sent / secs / 1e6,
      "peak_rss", cli_peak_rss(), "error", err);
  char *text = json_dumps(obj, JSON_COMPACT);
  if (text) printf("%s\n", text);
  free(text);
  json_decref(obj);
}

/* The upload (or deletion) and its report, for upload, upload-large-folder and
 * repo delete-files alike. */
static int run_upload(struct ferry_hub_upload_opts *po, struct ferry_config *pcfg, int quiet,
                      int json, int no_bars) {
  struct ferry_hub_upload_opts o = *po;
  struct ferry_config cfg = *pcfg;
  int rc = o.delete_only ? 0 : cli_settings_upload_defaults(&cfg); /* a flag wins */
  if (rc) return rc;
  cfg.cacert = cli_cacert(cfg.cacert, 1);
  struct cli_progress progress;
  cli_progress_init(&progress, quiet || json || no_bars || cli_progress_bars_off());
  progress.quiet = quiet;
  cfg.log_cb = cli_log;
  cfg.log_user = &progress;
  o.engine = &cfg;
  o.progress_cb = draw;
  o.progress_user = &progress;
  /* Ctrl-C / SIGTERM: parts in flight are dropped, accepted ones stay journaled. */
  cfg.stop = cli_stop_on_signals();
  struct ferry_hub_upload_result r;
  int err = ferry_hub_upload(&o, &r);
  cli_progress_end(&progress);
  if (err) fprintf(stderr, "ferry: error: %s\n", r.message[0] ? r.message : ferry_strerror(err));
  if (!err && r.no_readme && !quiet) {
    /* a Space's README.md is its card and its configuration, not a model card */
    if (!strcmp(r.repo_type, "space"))
      fprintf(stderr, "ferry: warning: the Space %s has no README.md: its card (title, sdk, "
                      "description) goes there. Write one and upload it.\n", r.repo_id);
    else
      fprintf(stderr, "ferry: warning: %s has no README.md %s card: users will not know what it "
                      "is or how to use it. Write one with `ferry card new%s -o README.md` and "
                      "upload it.\n", r.repo_id, r.repo_type,
              strcmp(r.repo_type, "dataset") ? "" : " --type dataset");
  }
  if (json) {
    print_json(&o, &r);
  } else if (!err) {
    if (!quiet && o.delete_only) {
      fprintf(stderr, "ferry: %d file(s) deleted%s\n", r.files_deleted,
              r.commits ? "" : ": nothing matched, no commit");
    } else if (!quiet) {
      char b[32], rate[32];
      double secs = r.seconds > 0 ? r.seconds : 1e-9;
      fprintf(stderr, "ferry: %d file(s): %d committed, %d unchanged; %d LFS object(s) sent "
                      "(%s, %s/s), %d already there\n",
              r.files_total, r.files_committed, r.files_unchanged, r.lfs_objects_sent,
              cli_fmt_bytes((double)r.bytes_sent, b, sizeof(b)),
              cli_fmt_bytes((double)r.bytes_sent / secs, rate, sizeof(rate)),
              r.lfs_objects_present);
    }
    printf("%s\n", r.commit_url ? r.commit_url : "");
    if (r.pr_url) printf("%s\n", r.pr_url);
  }
  ferry_hub_upload_result_free(&r);
  return ferry_exit_class(err);
}

int cli_upload(int argc, char **argv) {
  struct ferry_hub_upload_opts o = {0};
  struct ferry_config cfg = {0};
  struct cli_hub_opts hub = {0};
  const char *include[MAX_PATTERNS], *exclude[MAX_PATTERNS], *del[MAX_PATTERNS];
  struct cli_list inc = {include, 0, MAX_PATTERNS}, exc = {exclude, 0, MAX_PATTERNS},
                  dels = {del, 0, MAX_PATTERNS};
  int max_commit_files = 0;
  const char *uri_path = NULL; /* hf://ns/name/PATH: PATH_IN_REPO */
  const struct cli_opt opts[] = {
      UPLOAD_WHERE_OPTS(hub, o, inc, exc),
      CLI_OPT_LIST("delete", &dels, "PAT", "remote files to delete in the same commit (repeatable)"),
      COMMIT_OPTS(o),
      CLI_OPT_INT("connections", &cfg.connections, 1, 256, "N", "parts sent at once (default 8, or the one\n`ferry bench --upload --sweep --save` stored)"),
      CLI_OPT_INT("max-commit-files", &max_commit_files, 1, 20000, "N",
                  "files per commit (default 20000); more make several\ncommits, titled \"MSG "
                  "(part N)\""),
      CLI_OPT_SIZE("limit-rate", &cfg.limit_rate, 1, "RATE",
                   "total bandwidth cap in bytes/s (e.g. 50M)"),
      CLI_HUB_OPTIONS(&hub, "print only the commit URL"),
      CLI_OPT_END};
  const struct cli_cmd cmd = {
      "upload", "REPO_ID [LOCAL_PATH] [PATH_IN_REPO]",
      "A file or a folder into a Hub repository, with the flags of `hf upload`.\n"
      "LOCAL_PATH: a file or a folder (default: the repo's name in the current folder).\n"
      "PATH_IN_REPO: a file's name (default its own) or a folder's place in the repo\n"
      "(default the root).",
      opts, 1, 3, &uri_path};
  int left;
  int rc = cli_parse(&cmd, argc, argv, &left);
  if (rc != CLI_GO_ON) return rc;
  o.repo_type = hub.repo_type, o.token = hub.token, o.max_commit_files = (size_t)max_commit_files;
  o.n_include = inc.n, o.n_exclude = exc.n, o.n_delete = dels.n;
  cfg.cacert = hub.cacert, cfg.insecure = hub.insecure, cfg.verbose = hub.verbose;
  int quiet = hub.quiet, json = hub.json;
  o.repo_id = argv[1];
  /* No LOCAL_PATH: a file or folder named like the repo (its part after '/'), as hf does. */
  const char *name = strrchr(o.repo_id, '/');
  o.local_path = left >= 2 ? argv[2] : name ? name + 1 : o.repo_id;
  o.path_in_repo = left == 3 ? argv[3] : NULL;
  if (uri_path && o.path_in_repo)
    return cli_usage_error("upload", "give the path in the hf:// URI ('%s') or as PATH_IN_REPO, "
                           "not both", uri_path);
  if (uri_path) o.path_in_repo = uri_path;
  o.include = o.n_include ? include : NULL;
  o.exclude = o.n_exclude ? exclude : NULL;
  o.delete_patterns = o.n_delete ? del : NULL;
  return run_upload(&o, &cfg, quiet, json, 0);
}

/* hf upload-large-folder: ferry upload already resumes (hashes and parts are journaled) and
 * splits commits, so this is `ferry upload REPO_ID LOCAL_PATH` with the flags of hf's
 * command: --num-workers sets the connections, --no-report and --no-bars quieten it. */
int cli_upload_large_folder(int argc, char **argv) {
  struct ferry_hub_upload_opts o = {0};
  struct ferry_config cfg = {0};
  struct cli_hub_opts hub = {0};
  const char *include[MAX_PATTERNS], *exclude[MAX_PATTERNS];
  struct cli_list inc = {include, 0, MAX_PATTERNS}, exc = {exclude, 0, MAX_PATTERNS};
  int no_report = 0, no_bars = 0;
  const struct cli_opt opts[] = {
      UPLOAD_WHERE_OPTS(hub, o, inc, exc),
      CLI_OPT_INT("num-workers", &cfg.connections, 1, 256, "N",
                  "parts sent at once (ferry upload's --connections)"),
      CLI_OPT_FLAG("no-report", 0, &no_report, "no summary on stderr"),
      CLI_OPT_FLAG("no-bars", 0, &no_bars, "no progress bar"),
      CLI_HUB_OPTIONS(&hub, "print only the commit URL"),
      CLI_OPT_END};
  const struct cli_cmd cmd = {
      "upload-large-folder", "REPO_ID LOCAL_PATH",
      "hf's command for large folders, run as `ferry upload REPO_ID LOCAL_PATH`, which\n"
      "already resumes after an interruption (hashes and accepted parts are kept) and\n"
      "splits a large folder into several commits. LOCAL_PATH must be a folder.",
      opts, 2, 2, NULL};
  int left;
  int rc = cli_parse(&cmd, argc, argv, &left);
  if (rc != CLI_GO_ON) return rc;
  struct stat st;
  if (stat(argv[2], &st) == 0 && !S_ISDIR(st.st_mode))
    return cli_usage_error(cmd.name, "LOCAL_PATH must be a folder ('%s' is not); use ferry "
                           "upload for a file", argv[2]);
  o.repo_id = argv[1], o.local_path = argv[2];
  o.repo_type = hub.repo_type, o.token = hub.token;
  o.include = inc.n ? include : NULL, o.n_include = inc.n;
  o.exclude = exc.n ? exclude : NULL, o.n_exclude = exc.n;
  cfg.cacert = hub.cacert, cfg.insecure = hub.insecure, cfg.verbose = hub.verbose;
  return run_upload(&o, &cfg, hub.quiet || no_report, hub.json, no_bars);
}

/* hf repos delete-files (and the older hf repo-files delete): one commit deleting the
 * files that match the patterns, on the upload's commit path. */
int cli_repo_delete_files(int argc, char **argv) {
  struct ferry_hub_upload_opts o = {0};
  struct ferry_config cfg = {0};
  struct cli_hub_opts hub = {0};
  const struct cli_opt opts[] = {
      CLI_HUB_REPO_TYPE(&hub),
      CLI_OPT_STR("revision", 0, &o.revision, "REV", "branch to commit to (default main)"),
      COMMIT_OPTS(o),
      CLI_HUB_OPTIONS(&hub, "print only the commit URL"),
      CLI_OPT_END};
  const struct cli_cmd cmd = {
      "repo delete-files", "REPO_ID PATTERN...",
      "Deletes the repo's files matching the patterns in one commit, as `hf repos\n"
      "delete-files`: fnmatch patterns, '*' crosses '/', 'folder/' is everything below it;\n"
      ".gitattributes is never deleted. Nothing matching: no commit.",
      opts, 2, -1, NULL};
  int left;
  int rc = cli_parse(&cmd, argc, argv, &left);
  if (rc != CLI_GO_ON) return rc;
  o.repo_id = argv[1], o.delete_only = 1;
  o.delete_patterns = (const char *const *)argv + 2, o.n_delete = (size_t)left - 1;
  o.repo_type = hub.repo_type, o.token = hub.token;
  cfg.cacert = hub.cacert, cfg.insecure = hub.insecure, cfg.verbose = hub.verbose;
  return run_upload(&o, &cfg, hub.quiet, hub.json, 0);
}

/* hf repo-files delete: the same command under hf's older group. */
int cli_repo_files(int argc, char **argv) {
  static const struct cli_sub subs[] = {
      {"delete", NULL, cli_repo_delete_files, "delete files matching patterns in one commit"},
      {NULL, NULL, NULL, NULL}};
  return cli_group("repo-files", subs, argc, argv);
}
