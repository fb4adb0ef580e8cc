/* ferry download: a Hub repository snapshot (or some files) into the Hugging Face cache,
 * with the flags of `hf download`. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_PATTERNS 256

static const char *status_name(int s) {
  switch (s) {
  case FERRY_HUB_FILE_CACHED: return "cached";
  case FERRY_HUB_FILE_DOWNLOADED: return "downloaded";
  case FERRY_HUB_FILE_FAILED: return "failed";
  default: return "planned";
  }
}

/* What the files' callback needs: --json or --dry-run, and what it has written so far. */
struct file_out {
  int json;
  size_t n;         /* files written */
  uint64_t fetch;   /* --dry-run: bytes to download */
  int n_fetch;
};

/* One file's outcome, as the download hands it out (ferry_hub_download_opts.file_cb): with
 * --json one element of "files" (the object's first key, so a snapshot of a million files is
 * written as it goes, never held), with --dry-run one line. */
static void print_file(void *user, const struct ferry_hub_file *f) {
  struct file_out *w = user;
  if (!w->json) {
    int cached = f->status == FERRY_HUB_FILE_CACHED;
    printf("%s\t%llu\t%s\n", f->path, (unsigned long long)f->size, cached ? "cached" : "download");
    if (!cached) w->fetch += f->size, w->n_fetch++;
    w->n++;
    return;
  }
  json_t *one = json_pack("{s:s, s:I, s:s, s:b, s:s, s:o}", "path", f->path ? f->path : "",
                          "size", (json_int_t)f->size, "etag", f->etag, "lfs", f->lfs,
                          "status", status_name(f->status), "error",
                          f->error ? json_string(ferry_err_name(f->error)) : json_null());
  char *t = one ? json_dumps(one, JSON_COMPACT) : NULL;
  if (t) printf("%s%s", w->n++ ? "," : "{\"files\":[", t);
  free(t);
  json_decref(one);
}

/* The rest of the JSON object, after the files print_file wrote. */
static void print_json(const struct ferry_hub_download_opts *o,
                       const struct ferry_hub_download_result *r, const struct file_out *w) {
  double secs = r->stats.seconds > 0 ? r->stats.seconds : 1e-9;
  json_t *err = cli_json_error(r->error, r->message, r->http_status);
  json_t *obj = json_pack(
      "{s:b, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:I, s:I, s:f, s:f, s:I, s:I, s:I, s:f, s:I, "
      "s:o}",
      "ok", r->error == 0, "repo_id", r->repo_id[0] ? r->repo_id : o->repo_id, "repo_type",
      r->repo_type[0] ? r->repo_type : (o->repo_type ? o->repo_type : "model"), "revision",
      o->revision ? o->revision : "main",
      "commit", r->commit, "path", r->path ? r->path : "", "files_total",
      (int)r->n_files, "files_downloaded", r->files_downloaded, "files_cached", r->files_cached,
      "bytes_total", (json_int_t)r->bytes_total, "bytes_downloaded",
      (json_int_t)r->bytes_downloaded, "seconds", r->stats.seconds, "mb_per_s",
      (double)r->bytes_downloaded / secs / 1e6, "requests", (json_int_t)r->stats.requests,
      "connections", (json_int_t)r->stats.connections_opened, "peak_memory",
      (json_int_t)r->stats.memory_peak, "held_back_seconds", r->stats.held_back_seconds,
      "peak_rss", cli_peak_rss(), "error", err);
  char *text = json_dumps(obj, JSON_COMPACT);
  json_decref(obj);
  if (!text) return;
  printf("%s],%s\n", w->n ? "" : "{\"files\":[", text + 1); /* text + 1: after its '{' */
  free(text);
}

static void print_dry_run_total(const struct ferry_hub_download_result *r,
                                const struct file_out *w) {
  char b[32];
  printf("total: %d file(s) to download, %s (%llu bytes); %d cached\n", w->n_fetch,
         cli_fmt_bytes((double)w->fetch, b, sizeof(b)), (unsigned long long)w->fetch,
         r->files_cached);
}

int cli_download(int argc, char **argv) {
  struct ferry_hub_download_opts o = {0};
  struct ferry_config cfg = {0};
  struct cli_hub_opts hub = {0};
  const char *include[MAX_PATTERNS], *exclude[MAX_PATTERNS];
  struct cli_list inc = {include, 0, MAX_PATTERNS}, exc = {exclude, 0, MAX_PATTERNS};
  const char *uri_path = NULL; /* hf://ns/name/PATH: one FILENAME (a folder with its '/') */
  const struct cli_opt opts[] = {
      CLI_HUB_REPO_TYPE(&hub),
      CLI_OPT_STR("revision", 0, &o.revision, "REV",
                  "branch, tag, commit (full or short) or refs/pr/N (main)"),
      CLI_OPT_LIST("include", &inc, "PAT", "only files matching (repeatable; '*' crosses '/')"),
      CLI_OPT_LIST("exclude", &exc, "PAT", "not the files matching (repeatable)"),
      CLI_OPT_STR("cache-dir", 0, &o.cache_dir, "DIR",
                  "the cache (default HF_HUB_CACHE, HF_HOME/hub)"),
      CLI_OPT_STR("local-dir", 0, &o.local_dir, "DIR",
                  "real files in DIR instead of the cache's symlinks"),
      CLI_OPT_STR("mirror", 0, &o.mirror, "URL",
                  "a cluster's cache tier for file bodies, the Hub after it (FERRY_MIRROR)"),
      CLI_OPT_FLAG("force-download", 0, &o.force_download, "fetch again even what is cached"),
      CLI_OPT_FLAG("dry-run", 0, &o.dry_run, "list what would be fetched, fetch nothing"),
      CLI_OPT_INT("max-workers", &cfg.connections, 1, 256, "N",
                  "connections (same as --connections)"),
      CLI_OPT_INT("connections", &cfg.connections, 1, 256, "N",
                  "TCP connections per host (default 8, or as saved:\nferry env)"),
      CLI_OPT_INT("streams", &cfg.streams, 1, 256, "N",
                  "HTTP/2 streams per connection (default 2, or as saved)"),
      CLI_OPT_SIZE("max-memory", &cfg.max_memory, 4 << 20, "SIZE", "buffer budget (default 32M)"),
      CLI_OPT_SIZE("limit-rate", &cfg.limit_rate, 1, "RATE",
                   "total bandwidth cap in bytes/s (e.g. 50M)"),
      CLI_HUB_OPTIONS(&hub, "print only the path"),
      CLI_OPT_END};
  const struct cli_cmd cmd = {"download", "REPO_ID [FILENAMES...]",
                              "A Hub repository snapshot (or some files) into the Hugging Face "
                              "cache, with the\nflags of `hf download`; prints the snapshot's "
                              "path.",
                              opts, 1, -1, &uri_path};
  int nargs;
  int rc = cli_parse(&cmd, argc, argv, &nargs);
  if (rc != CLI_GO_ON) return rc;
  o.repo_type = hub.repo_type, o.token = hub.token, o.n_include = inc.n, o.n_exclude = exc.n;
  cfg.cacert = hub.cacert, cfg.insecure = hub.insecure, cfg.verbose = hub.verbose;
  int quiet = hub.quiet, json = hub.json;
  o.repo_id = argv[1];
  o.filenames = (const char *const *)(argv + 2);
  o.n_filenames = (size_t)(nargs - 1);
  if (uri_path && o.n_filenames)
    return cli_usage_error("download", "give the file in the hf:// URI ('%s') or as FILENAMES, "
                           "not both", uri_path);
  if (uri_path) o.filenames = &uri_path, o.n_filenames = 1;
  if (o.local_dir && o.cache_dir) /* as hf: one is a one-off folder, the other the shared cache */
    return cli_usage_error("download", "--local-dir and --cache-dir do not go together: "
                           "--local-dir for a one-off folder, --cache-dir for the shared cache");
  if (o.n_filenames && (o.n_include || o.n_exclude))
    return cli_usage_error("download", "give either FILENAMES or --include/--exclude, not both");
  o.include = o.n_include ? include : NULL;
  o.exclude = o.n_exclude ? exclude : NULL;
  cfg.cacert = cli_cacert(cfg.cacert, 1);
  if ((rc = cli_settings_defaults(&cfg)) != 0) return rc; /* a flag wins */
  struct cli_progress progress;
  cli_progress_init(&progress, quiet || json || cli_progress_bars_off());
  progress.quiet = quiet;
  cfg.stop = cli_stop_on_signals();
  cfg.progress_cb = cli_progress_draw;
  cfg.progress_user = &progress;
  cfg.log_cb = cli_log;
  cfg.log_user = &progress;
  o.engine = &cfg;
  struct file_out w = {.json = json};
  if (json || o.dry_run) o.file_cb = print_file, o.file_user = &w;
  struct ferry_hub_download_result r;
  int err = ferry_hub_download(&o, &r);
  cli_progress_end(&progress);
  if (err) fprintf(stderr, "ferry: error: %s\n", r.message[0] ? r.message : ferry_strerror(err));
  if (json) {
    print_json(&o, &r, &w);
  } else if (!err && o.dry_run) {
    print_dry_run_total(&r, &w);
  } else if (!err) {
    if (!quiet) {
      char b[32], rate[32];
      double secs = r.stats.seconds > 0 ? r.stats.seconds : 1e-9;
      fprintf(stderr, "ferry: %s@%.12s: %zu file%s, %d downloaded (%s, %s/s), %d cached\n",
              o.repo_id, r.commit, r.n_files, r.n_files == 1 ? "" : "s", r.files_downloaded,
              cli_fmt_bytes((double)r.bytes_downloaded, b, sizeof(b)),
              cli_fmt_bytes((double)r.bytes_downloaded / secs, rate, sizeof(rate)),
              r.files_cached);
    }
    printf("%s\n", r.path ? r.path : "");
  }
  ferry_hub_download_result_free(&r);
  return ferry_exit_class(err);
}
