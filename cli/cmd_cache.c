/* ferry cache: the Hugging Face cache. `verify` re-hashes a snapshot against the Hub's tree
 * (like `hf cache verify`); listing and cleaning come with the Hub management commands. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void cache_usage(FILE *f) {
  fprintf(f,
          "usage: ferry cache verify REPO_ID [--repo-type TYPE] [--revision REV]\n"
          "                          [--cache-dir DIR | --local-dir DIR] [--token TOKEN]\n"
          "                          [--fail-on-missing-files] [--fail-on-extra-files]\n"
          "                          [--cacert FILE] [-q] [--json]\n"
          "\n"
          "Re-hashes every file of the snapshot: SHA-256 against the Hub's LFS oid, git blob\n"
          "SHA-1 against its oid for the others. Exit 5 when a file does not match (or is\n"
          "missing / extra, with the --fail-on options).\n");
}

enum { OPT_TYPE = 3000, OPT_REV, OPT_CACHE, OPT_LOCAL, OPT_TOKEN, OPT_MISSING, OPT_EXTRA,
       OPT_JSON, OPT_CACERT };

static int cache_verify(int argc, char **argv) {
  static const struct option opts[] = {
      {"repo-type", required_argument, 0, OPT_TYPE}, {"revision", required_argument, 0, OPT_REV},
      {"cache-dir", required_argument, 0, OPT_CACHE}, {"local-dir", required_argument, 0, OPT_LOCAL},
      {"token", required_argument, 0, OPT_TOKEN},
      {"fail-on-missing-files", no_argument, 0, OPT_MISSING},
      {"fail-on-extra-files", no_argument, 0, OPT_EXTRA}, {"json", no_argument, 0, OPT_JSON},
      {"cacert", required_argument, 0, OPT_CACERT}, {"quiet", no_argument, 0, 'q'},
      {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  struct ferry_hub_download_opts o = {0};
  struct ferry_config cfg = {0};
  int fail_missing = 0, fail_extra = 0, json = 0, quiet = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
    switch (c) {
    case OPT_TYPE: o.repo_type = optarg; break;
    case OPT_REV: o.revision = optarg; break;
    case OPT_CACHE: o.cache_dir = optarg; break;
    case OPT_LOCAL: o.local_dir = optarg; break;
    case OPT_TOKEN: o.token = optarg; break;
    case OPT_MISSING: fail_missing = 1; break;
    case OPT_EXTRA: fail_extra = 1; break;
    case OPT_JSON: json = 1; break;
    case OPT_CACERT: cfg.cacert = optarg; break;
    case 'q': quiet = 1; break;
    case 'h': cache_usage(stdout); return 0;
    default: cache_usage(stderr); return FERRY_EXIT_USAGE;
    }
  }
  if (optind != argc - 1 || (o.cache_dir && o.local_dir)) {
    cache_usage(stderr);
    return FERRY_EXIT_USAGE;
  }
  o.repo_id = argv[optind];
  cfg.cacert = cli_cacert(cfg.cacert, 1);
  struct cli_progress progress;
  cli_progress_init(&progress, 1);
  progress.quiet = quiet || json;
  cfg.log_cb = cli_log;
  cfg.log_user = &progress;
  o.engine = &cfg;
  struct ferry_hub_download_result r;
  int missing = 0, extra = 0;
  int err = ferry_hub_verify(&o, &r, &missing, &extra);
  int verified = r.files_cached, mismatched = 0;
  for (size_t k = 0; k < r.n_files; k++)
    if (r.files[k].error == FERRY_E_CHECKSUM) mismatched++;
  if (!err && fail_missing && missing) err = FERRY_E_CHECKSUM;
  if (!err && fail_extra && extra) err = FERRY_E_CHECKSUM;
  if (json) {
    json_t *files = json_array();
    for (size_t k = 0; k < r.n_files; k++) {
      const struct ferry_hub_file *f = &r.files[k];
      const char *st = f->status == FERRY_HUB_FILE_CACHED              ? "ok"
                       : f->error == FERRY_E_HUB_ENTRY_NOT_FOUND ? "missing"
                                                                       : "mismatch";
      json_array_append_new(files, json_pack("{s:s, s:I, s:s, s:s}", "path", f->path, "size",
                                             (json_int_t)f->size, "etag", f->etag, "status", st));
    }
    json_t *obj = json_pack("{s:b, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:o, s:o}", "ok",
                            err == 0, "repo_id", r.repo_id, "repo_type", r.repo_type, "commit",
                            r.commit, "path", r.path ? r.path : "", "verified", verified,
                            "mismatched", mismatched, "missing", missing, "extra", extra,
                            "files", files, "error",
                            err ? json_pack("{s:i, s:s, s:s}", "code", ferry_exit_class(err),
                                            "name", ferry_err_name(err), "message",
                                            r.message[0] ? r.message : ferry_strerror(err))
                                : json_null());
    char *text = json_dumps(obj, JSON_COMPACT);
    if (text) printf("%s\n", text);
    free(text);
    json_decref(obj);
  } else {
    if (err) fprintf(stderr, "ferry: error: %s\n", r.message[0] ? r.message : ferry_strerror(err));
    if (!quiet)
      printf("%s@%.12s: %d verified, %d mismatched, %d missing, %d extra\n", r.repo_id, r.commit,
             verified, mismatched, missing, extra);
  }
  ferry_hub_download_result_free(&r);
  return ferry_exit_class(err);
}

int cli_cache(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "verify")) return cache_verify(argc - 1, argv + 1);
  cache_usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
  return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : FERRY_EXIT_USAGE;
}
