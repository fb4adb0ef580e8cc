/* ferry upload: a file or a folder into a Hub repository, with the flags of `hf upload`. */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"

#define MAX_PATTERNS 256

static void upload_usage(FILE *f) {
  fprintf(f,
          "usage: ferry upload REPO_ID [LOCAL_PATH] [PATH_IN_REPO] [options]\n"
          "\n"
          "  LOCAL_PATH             a file or a folder (default: the repo's name in the current\n"
          "                         folder); PATH_IN_REPO: a file's name (default its own) or a\n"
          "                         folder's place in the repo (default the root)\n"
          "  --repo-type TYPE       model (default), dataset or space\n"
          "  --revision REV         branch to commit to (created from main when missing)\n"
          "  --private              create the repo private (when it does not exist)\n"
          "  --include PAT          only files matching (repeatable; '*' crosses '/')\n"
          "  --exclude PAT          not the files matching (repeatable)\n"
          "  --delete PAT           remote files to delete in the same commit (repeatable)\n"
          "  --commit-message MSG, --commit-description TEXT\n"
          "  --create-pr            open a pull request instead of committing to the branch\n"
          "  --token TOKEN          Hub token (default HF_TOKEN, then the token file);\n"
          "                         visible to other users in the process list\n"
          "  --connections N        parts sent at once (default 8)\n"
          "  --max-commit-files N   files per commit (default 20000); more make several\n"
          "                         commits, titled \"MSG (part N)\"\n"
          "  --cacert FILE, --insecure, --limit-rate RATE, -v   as for ferry get\n"
          "  -q, --quiet            print only the commit URL\n"
          "      --json             print one JSON summary object\n");
}

static volatile int stop_requested;
static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

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
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double secs = r->seconds > 0 ? r->seconds : 1e-9;
  json_t *err = cli_json_error(r->error, r->message, r->http_status);
  json_t *obj = json_pack(
      "{s:b, s:s, s:s, s:s, s:s, s:s?, s:s?, s:i, s:i, s:i, s:i, s:i, s:i, s:I, s:I, s:I, s:I, "
      "s:I, s:I, s:i, s:f, s:f, s:I, s:o}",
      "ok", r->error == 0, "repo_id", r->repo_id[0] ? r->repo_id : o->repo_id, "repo_type",
      r->repo_type[0] ? r->repo_type : (o->repo_type ? o->repo_type : "model"), "revision",
      r->revision[0] ? r->revision : (o->revision ? o->revision : "main"), "commit_oid",
      r->commit_oid, "commit_url", r->commit_url, "pr_url", r->pr_url, "files_total",
      r->files_total, "files_committed", r->files_committed, "files_unchanged",
      r->files_unchanged, "files_deleted", r->files_deleted, "lfs_objects_sent",
      r->lfs_objects_sent, "lfs_objects_present", r->lfs_objects_present, "bytes_total",
      (json_int_t)r->bytes_total, "bytes_sent", (json_int_t)r->bytes_sent, "bytes_skipped",
      (json_int_t)r->bytes_skipped, "parts_sent", (json_int_t)r->parts_sent, "parts_resumed",
      (json_int_t)r->parts_resumed, "parts_retried", (json_int_t)r->parts_retried, "commits",
      r->commits, "seconds", r->seconds, "mb_per_s", (double)r->bytes_sent / secs / 1e6,
      "peak_rss", (json_int_t)ru.ru_maxrss * 1024, "error", err);
  char *text = json_dumps(obj, JSON_COMPACT);
  if (text) printf("%s\n", text);
  free(text);
  json_decref(obj);
}

enum {
  OPT_REPO_TYPE = 2000, OPT_REVISION, OPT_PRIVATE, OPT_INCLUDE, OPT_EXCLUDE, OPT_DELETE,
  OPT_MESSAGE, OPT_DESCRIPTION, OPT_CREATE_PR, OPT_TOKEN, OPT_JSON, OPT_CONNECTIONS,
  OPT_RATE, OPT_CACERT, OPT_INSECURE, OPT_COMMIT_FILES
};

static int add_pattern(const char **list, size_t *n, const char *p) {
  if (*n == MAX_PATTERNS) return -1;
  list[(*n)++] = p;
  return 0;
}

int cli_upload(int argc, char **argv) {
  static const struct option opts[] = {
      {"repo-type", required_argument, 0, OPT_REPO_TYPE},
      {"revision", required_argument, 0, OPT_REVISION},
      {"private", no_argument, 0, OPT_PRIVATE},
      {"include", required_argument, 0, OPT_INCLUDE},
      {"exclude", required_argument, 0, OPT_EXCLUDE},
      {"delete", required_argument, 0, OPT_DELETE},
      {"commit-message", required_argument, 0, OPT_MESSAGE},
      {"commit-description", required_argument, 0, OPT_DESCRIPTION},
      {"create-pr", no_argument, 0, OPT_CREATE_PR},
      {"token", required_argument, 0, OPT_TOKEN},
      {"connections", required_argument, 0, OPT_CONNECTIONS},
      {"max-commit-files", required_argument, 0, OPT_COMMIT_FILES},
      {"limit-rate", required_argument, 0, OPT_RATE},
      {"cacert", required_argument, 0, OPT_CACERT},
      {"insecure", no_argument, 0, OPT_INSECURE},
      {"quiet", no_argument, 0, 'q'},
      {"json", no_argument, 0, OPT_JSON},
      {"verbose", no_argument, 0, 'v'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  struct ferry_hub_upload_opts o = {0};
  struct ferry_config cfg = {0};
  const char *include[MAX_PATTERNS], *exclude[MAX_PATTERNS], *del[MAX_PATTERNS];
  int quiet = 0, json = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "qvh", opts, NULL)) != -1) {
    int bad = 0;
    uint64_t v;
    switch (c) {
    case OPT_REPO_TYPE: o.repo_type = optarg; break;
    case OPT_REVISION: o.revision = optarg; break;
    case OPT_PRIVATE: o.private_repo = 1; break;
    case OPT_INCLUDE: bad = add_pattern(include, &o.n_include, optarg); break;
    case OPT_EXCLUDE: bad = add_pattern(exclude, &o.n_exclude, optarg); break;
    case OPT_DELETE: bad = add_pattern(del, &o.n_delete, optarg); break;
    case OPT_MESSAGE: o.commit_message = optarg; break;
    case OPT_DESCRIPTION: o.commit_description = optarg; break;
    case OPT_CREATE_PR: o.create_pr = 1; break;
    case OPT_TOKEN:
      o.token = optarg;
      cli_warn_token_argument();
      break;
    case OPT_CONNECTIONS:
      cfg.connections = atoi(optarg);
      bad = cfg.connections < 1 || cfg.connections > 256;
      break;
    case OPT_COMMIT_FILES:
      o.max_commit_files = (size_t)strtoul(optarg, NULL, 10);
      bad = o.max_commit_files < 1 || o.max_commit_files > 20000;
      break;
    case OPT_RATE: bad = cli_parse_size(optarg, &v) || !v; cfg.limit_rate = v; break;
    case OPT_CACERT: cfg.cacert = optarg; break;
    case OPT_INSECURE: cfg.insecure = 1; break;
    case 'q': quiet = 1; break;
    case OPT_JSON: json = 1; break;
    case 'v': cfg.verbose = 1; break;
    case 'h': upload_usage(stdout); return 0;
    default: upload_usage(stderr); return FERRY_EXIT_USAGE;
    }
    if (bad) {
      fprintf(stderr, "ferry: invalid value for option: %s\n", optarg);
      return FERRY_EXIT_USAGE;
    }
  }
  int left = argc - optind;
  if (left < 1 || left > 3) {
    fprintf(stderr, "ferry: upload needs REPO_ID [LOCAL_PATH] [PATH_IN_REPO]\n");
    upload_usage(stderr);
    return FERRY_EXIT_USAGE;
  }
  o.repo_id = argv[optind];
  /* No LOCAL_PATH: a file or folder named like the repo (its part after '/'), as hf does. */
  const char *name = strrchr(o.repo_id, '/');
  o.local_path = left >= 2 ? argv[optind + 1] : name ? name + 1 : o.repo_id;
  o.path_in_repo = left == 3 ? argv[optind + 2] : NULL;
  o.include = o.n_include ? include : NULL;
  o.exclude = o.n_exclude ? exclude : NULL;
  o.delete_patterns = o.n_delete ? del : NULL;
  cfg.cacert = cli_cacert(cfg.cacert, 1);
  struct cli_progress progress;
  cli_progress_init(&progress, quiet || json || cli_progress_bars_off());
  progress.quiet = quiet;
  cfg.log_cb = cli_log;
  cfg.log_user = &progress;
  o.engine = &cfg;
  o.progress_cb = draw;
  o.progress_user = &progress;
  /* Ctrl-C / SIGTERM: parts in flight are dropped, accepted ones stay journaled. */
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  o.stop = &stop_requested;
  struct ferry_hub_upload_result r;
  int err = ferry_hub_upload(&o, &r);
  cli_progress_end(&progress);
  if (err) fprintf(stderr, "ferry: error: %s\n", r.message[0] ? r.message : ferry_strerror(err));
  if (!err && r.no_readme && !quiet)
    fprintf(stderr, "ferry: warning: %s has no README.md model card: users will not know what it "
                    "is or how to use it. Write one with `ferry card new -o README.md` and "
                    "upload it.\n", r.repo_id);
  if (json) {
    print_json(&o, &r);
  } else if (!err) {
    if (!quiet) {
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
