/* ferry download: a Hub repository snapshot (or some files) into the Hugging Face cache,
 * with the flags of `hf download`. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"

#define MAX_PATTERNS 256

static void download_usage(FILE *f) {
  fprintf(f,
          "usage: ferry download REPO_ID [FILENAMES...] [options]\n"
          "\n"
          "  --repo-type TYPE       model (default), dataset or space (or a datasets/ or\n"
          "                         spaces/ prefix on REPO_ID)\n"
          "  --revision REV         branch, tag, commit (full or short) or refs/pr/N (main)\n"
          "  --include PAT          only files matching (repeatable; '*' crosses '/')\n"
          "  --exclude PAT          not the files matching (repeatable)\n"
          "  --cache-dir DIR        the cache (default HF_HUB_CACHE, HF_HOME/hub)\n"
          "  --local-dir DIR        real files in DIR instead of the cache's symlinks\n"
          "  --force-download       fetch again even what is cached\n"
          "  --dry-run              list what would be fetched, fetch nothing\n"
          "  --token TOKEN          Hub token (default HF_TOKEN, then the token file);\n"
          "                         visible to other users in the process list\n"
          "  --max-workers N        connections (same as --connections)\n"
          "  --connections N, --streams N, --max-memory SIZE, --limit-rate RATE,\n"
          "  --cacert FILE, --insecure, -v   as for ferry get\n"
          "  -q, --quiet            print only the path\n"
          "      --json             print one JSON summary object\n");
}

static const char *status_name(int s) {
  switch (s) {
  case FERRY_HUB_FILE_CACHED: return "cached";
  case FERRY_HUB_FILE_DOWNLOADED: return "downloaded";
  case FERRY_HUB_FILE_FAILED: return "failed";
  default: return "planned";
  }
}

static void print_json(const struct ferry_hub_download_opts *o,
                       const struct ferry_hub_download_result *r) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  json_t *files = json_array();
  for (size_t k = 0; k < r->n_files; k++) {
    const struct ferry_hub_file *f = &r->files[k];
    json_array_append_new(
        files, json_pack("{s:s, s:I, s:s, s:b, s:s, s:o}", "path", f->path ? f->path : "", "size",
                         (json_int_t)f->size, "etag", f->etag, "lfs", f->lfs, "status",
                         status_name(f->status), "error",
                         f->error ? json_string(ferry_err_name(f->error)) : json_null()));
  }
  double secs = r->stats.seconds > 0 ? r->stats.seconds : 1e-9;
  json_t *err = cli_json_error(r->error, r->message, r->http_status);
  json_t *obj = json_pack(
      "{s:b, s:s, s:s, s:s, s:s, s:s, s:o, s:i, s:i, s:i, s:I, s:I, s:f, s:f, s:I, s:I, s:I, "
      "s:o}",
      "ok", r->error == 0, "repo_id", r->repo_id[0] ? r->repo_id : o->repo_id, "repo_type",
      r->repo_type[0] ? r->repo_type : (o->repo_type ? o->repo_type : "model"), "revision",
      o->revision ? o->revision : "main",
      "commit", r->commit, "path", r->path ? r->path : "", "files", files, "files_total",
      (int)r->n_files, "files_downloaded", r->files_downloaded, "files_cached", r->files_cached,
      "bytes_total", (json_int_t)r->bytes_total, "bytes_downloaded",
      (json_int_t)r->bytes_downloaded, "seconds", r->stats.seconds, "mb_per_s",
      (double)r->bytes_downloaded / secs / 1e6, "requests", (json_int_t)r->stats.requests,
      "connections", (json_int_t)r->stats.connections_opened, "peak_rss",
      (json_int_t)ru.ru_maxrss * 1024, "error", err);
  char *text = json_dumps(obj, JSON_COMPACT);
  if (text) printf("%s\n", text);
  free(text);
  json_decref(obj);
}

static void print_dry_run(const struct ferry_hub_download_result *r) {
  uint64_t fetch = 0;
  int n = 0;
  for (size_t k = 0; k < r->n_files; k++) {
    const struct ferry_hub_file *f = &r->files[k];
    int cached = f->status == FERRY_HUB_FILE_CACHED;
    printf("%s\t%llu\t%s\n", f->path, (unsigned long long)f->size, cached ? "cached" : "download");
    if (!cached) fetch += f->size, n++;
  }
  char b[32];
  printf("total: %d file(s) to download, %s (%llu bytes); %d cached\n", n,
         cli_fmt_bytes((double)fetch, b, sizeof(b)), (unsigned long long)fetch, r->files_cached);
}

enum {
  OPT_REPO_TYPE = 2000, OPT_REVISION, OPT_INCLUDE, OPT_EXCLUDE, OPT_CACHE_DIR, OPT_LOCAL_DIR,
  OPT_FORCE, OPT_DRY_RUN, OPT_TOKEN, OPT_WORKERS, OPT_JSON, OPT_CONNECTIONS, OPT_STREAMS,
  OPT_MAXMEM, OPT_RATE, OPT_CACERT, OPT_INSECURE
};

int cli_download(int argc, char **argv) {
  static const struct option opts[] = {
      {"repo-type", required_argument, 0, OPT_REPO_TYPE},
      {"revision", required_argument, 0, OPT_REVISION},
      {"include", required_argument, 0, OPT_INCLUDE},
      {"exclude", required_argument, 0, OPT_EXCLUDE},
      {"cache-dir", required_argument, 0, OPT_CACHE_DIR},
      {"local-dir", required_argument, 0, OPT_LOCAL_DIR},
      {"force-download", no_argument, 0, OPT_FORCE},
      {"dry-run", no_argument, 0, OPT_DRY_RUN},
      {"token", required_argument, 0, OPT_TOKEN},
      {"max-workers", required_argument, 0, OPT_WORKERS},
      {"connections", required_argument, 0, OPT_CONNECTIONS},
      {"streams", required_argument, 0, OPT_STREAMS},
      {"max-memory", required_argument, 0, OPT_MAXMEM},
      {"limit-rate", required_argument, 0, OPT_RATE},
      {"cacert", required_argument, 0, OPT_CACERT},
      {"insecure", no_argument, 0, OPT_INSECURE},
      {"quiet", no_argument, 0, 'q'},
      {"json", no_argument, 0, OPT_JSON},
      {"verbose", no_argument, 0, 'v'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  struct ferry_hub_download_opts o = {0};
  struct ferry_config cfg = {0};
  const char *include[MAX_PATTERNS], *exclude[MAX_PATTERNS];
  int quiet = 0, json = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "qvh", opts, NULL)) != -1) {
    int bad = 0;
    uint64_t v;
    switch (c) {
    case OPT_REPO_TYPE: o.repo_type = optarg; break;
    case OPT_REVISION: o.revision = optarg; break;
    case OPT_INCLUDE:
      bad = o.n_include == MAX_PATTERNS;
      if (!bad) include[o.n_include++] = optarg;
      break;
    case OPT_EXCLUDE:
      bad = o.n_exclude == MAX_PATTERNS;
      if (!bad) exclude[o.n_exclude++] = optarg;
      break;
    case OPT_CACHE_DIR: o.cache_dir = optarg; break;
    case OPT_LOCAL_DIR: o.local_dir = optarg; break;
    case OPT_FORCE: o.force_download = 1; break;
    case OPT_DRY_RUN: o.dry_run = 1; break;
    case OPT_TOKEN:
      o.token = optarg;
      cli_warn_token_argument();
      break;
    case OPT_WORKERS:
    case OPT_CONNECTIONS:
      cfg.connections = atoi(optarg);
      bad = cfg.connections < 1 || cfg.connections > 256;
      break;
    case OPT_STREAMS:
      cfg.streams = atoi(optarg);
      bad = cfg.streams < 1 || cfg.streams > 256;
      break;
    case OPT_MAXMEM: bad = cli_parse_size(optarg, &v) || v < (4u << 20); cfg.max_memory = v; break;
    case OPT_RATE: bad = cli_parse_size(optarg, &v) || !v; cfg.limit_rate = v; break;
    case OPT_CACERT: cfg.cacert = optarg; break;
    case OPT_INSECURE: cfg.insecure = 1; break;
    case 'q': quiet = 1; break;
    case OPT_JSON: json = 1; break;
    case 'v': cfg.verbose = 1; break;
    case 'h': download_usage(stdout); return 0;
    default: download_usage(stderr); return FERRY_EXIT_USAGE;
    }
    if (bad) {
      fprintf(stderr, "ferry: invalid value for option: %s\n", optarg);
      return FERRY_EXIT_USAGE;
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "ferry: download needs a REPO_ID\n");
    download_usage(stderr);
    return FERRY_EXIT_USAGE;
  }
  o.repo_id = argv[optind++];
  o.filenames = (const char *const *)(argv + optind);
  o.n_filenames = (size_t)(argc - optind);
  if (o.n_filenames && (o.n_include || o.n_exclude)) {
    fprintf(stderr, "ferry: give either FILENAMES or --include/--exclude, not both\n");
    return FERRY_EXIT_USAGE;
  }
  o.include = o.n_include ? include : NULL;
  o.exclude = o.n_exclude ? exclude : NULL;
  cfg.cacert = cli_cacert(cfg.cacert, 1);
  struct cli_progress progress;
  cli_progress_init(&progress, quiet || json || cli_progress_bars_off());
  progress.quiet = quiet;
  cfg.handle_signals = 1;
  cfg.progress_cb = cli_progress_draw;
  cfg.progress_user = &progress;
  cfg.log_cb = cli_log;
  cfg.log_user = &progress;
  o.engine = &cfg;
  struct ferry_hub_download_result r;
  int err = ferry_hub_download(&o, &r);
  cli_progress_end(&progress);
  if (err) fprintf(stderr, "ferry: error: %s\n", r.message[0] ? r.message : ferry_strerror(err));
  if (json) {
    print_json(&o, &r);
  } else if (!err && o.dry_run) {
    print_dry_run(&r);
  } else if (!err) {
    if (!quiet) {
      char b[32], rate[32];
      double secs = r.stats.seconds > 0 ? r.stats.seconds : 1e-9;
      fprintf(stderr, "ferry: %s@%.12s: %zu files, %d downloaded (%s, %s/s), %d cached\n",
              o.repo_id, r.commit, r.n_files, r.files_downloaded,
              cli_fmt_bytes((double)r.bytes_downloaded, b, sizeof(b)),
              cli_fmt_bytes((double)r.bytes_downloaded / secs, rate, sizeof(rate)),
              r.files_cached);
    }
    printf("%s\n", r.path ? r.path : "");
  }
  ferry_hub_download_result_free(&r);
  return ferry_exit_class(err);
}
