/* ferry cache: the Hugging Face cache. `verify` re-hashes a snapshot against the Hub's tree
 * (like `hf cache verify`); `ls`, `rm` and `prune` list and clean it (engine/hub/cache_scan.c,
 * cache_clean.c do the work). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static void cache_usage(FILE *f) {
  fprintf(f,
          "usage: ferry cache ls [--cache-dir DIR] [--revisions] [-q] [--json]\n"
          "       ferry cache rm TARGET... [--cache-dir DIR] [--dry-run] [-y] [-q] [--json]\n"
          "       ferry cache prune [--cache-dir DIR] [--dry-run] [-y] [-q] [--json]\n"
          "       ferry cache verify REPO_ID [--repo-type TYPE] [--revision REV]\n"
          "                          [--cache-dir DIR | --local-dir DIR] [--token TOKEN]\n"
          "                          [--fail-on-missing-files] [--fail-on-extra-files]\n"
          "                          [--cacert FILE] [-q] [--json]\n"
          "\n"
          "Re-hashes every file of the snapshot: SHA-256 against the Hub's LFS oid, git blob\n"
          "SHA-1 against its oid for the others. Exit 5 when a file does not match (or is\n"
          "missing / extra, with the --fail-on options).\n"
          "\n"
          "ls lists repos (or, with --revisions, revisions) with sizes, files and refs.\n"
          "rm deletes revisions (40-hex commit) or whole repos (model/org/name,\n"
          "dataset/org/name, space/org/name); prune deletes detached revisions and partial\n"
          "downloads. Both ask first on a terminal; elsewhere they need -y.\n");
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
                            cli_json_error(err, r.message, -1));
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

/* ---- ls, rm, prune ------------------------------------------------------------------------ */

static const char *fmt_time(double t, char *buf, size_t cap) {
  time_t when = (time_t)t;
  struct tm tm;
  if (t <= 0 || !localtime_r(&when, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M", &tm))
    snprintf(buf, cap, "-");
  return buf;
}

static void refs_text(char *const *refs, size_t n, char *buf, size_t cap) {
  size_t used = 0;
  buf[0] = 0;
  for (size_t i = 0; i < n && used + 1 < cap; i++) {
    int w = snprintf(buf + used, cap - used, "%s%s", i ? "," : "", refs[i]);
    if (w < 0) break;
    used += (size_t)w;
  }
  if (used >= cap) used = cap - 1;
}

static json_t *strings_json(char *const *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(v[i]));
  return a;
}

static void print_json(json_t *obj) {
  char *text = json_dumps(obj, JSON_COMPACT);
  if (text) printf("%s\n", text);
  free(text);
  json_decref(obj);
}

static json_t *cache_info_json(const struct ferry_cache_info *info) {
  json_t *repos = json_array();
  for (size_t i = 0; i < info->n_repos; i++) {
    const struct ferry_cache_repo *r = &info->repos[i];
    json_t *revs = json_array(), *refs = json_array();
    for (size_t k = 0; k < r->n_revisions; k++) {
      const struct ferry_cache_revision *v = &r->revisions[k];
      for (size_t j = 0; j < v->n_refs; j++) json_array_append_new(refs, json_string(v->refs[j]));
      json_array_append_new(
          revs, json_pack("{s:s, s:s, s:I, s:I, s:f, s:o}", "commit", v->commit, "path", v->path,
                          "size_on_disk", (json_int_t)v->size_on_disk, "files",
                          (json_int_t)v->n_files, "last_modified", v->last_modified, "refs",
                          strings_json(v->refs, v->n_refs)));
    }
    json_array_append_new(
        repos, json_pack("{s:s, s:s, s:s, s:I, s:I, s:f, s:f, s:o, s:o}", "repo_type",
                         r->repo_type, "repo_id", r->repo_id, "path", r->path, "size_on_disk",
                         (json_int_t)r->size_on_disk, "files", (json_int_t)r->n_files,
                         "last_accessed", r->last_accessed, "last_modified", r->last_modified,
                         "refs", refs, "revisions", revs));
  }
  json_t *partials = json_array();
  for (size_t i = 0; i < info->n_partials; i++)
    json_array_append_new(partials, json_pack("{s:s, s:I, s:b}", "path", info->partials[i].path,
                                              "size", (json_int_t)info->partials[i].size,
                                              "in_use", info->partials[i].in_use));
  return json_pack("{s:s, s:I, s:o, s:o, s:o}", "cache_dir",
                   info->cache_dir ? info->cache_dir : "", "size_on_disk",
                   (json_int_t)info->size_on_disk, "repos", repos, "partial_files", partials,
                   "warnings", strings_json(info->warnings, info->n_warnings));
}

enum { OPT_REVISIONS = 3200, OPT_DRY_RUN };

struct manage_opts {
  const char *cache_dir;
  int revisions, json, quiet, dry_run, yes;
};

/* The options ls, rm and prune share; the rest of argv are the positional arguments. */
static int parse_manage(int argc, char **argv, struct manage_opts *o, int allow_revisions,
                        int allow_delete) {
  static const struct option opts[] = {
      {"cache-dir", required_argument, 0, OPT_CACHE}, {"revisions", no_argument, 0, OPT_REVISIONS},
      {"dry-run", no_argument, 0, OPT_DRY_RUN},       {"yes", no_argument, 0, 'y'},
      {"json", no_argument, 0, OPT_JSON},             {"quiet", no_argument, 0, 'q'},
      {"help", no_argument, 0, 'h'},                  {0, 0, 0, 0}};
  memset(o, 0, sizeof(*o));
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "yqh", opts, NULL)) != -1) {
    switch (c) {
    case OPT_CACHE: o->cache_dir = optarg; break;
    case OPT_REVISIONS:
      if (!allow_revisions) goto bad;
      o->revisions = 1;
      break;
    case OPT_DRY_RUN:
      if (!allow_delete) goto bad;
      o->dry_run = 1;
      break;
    case 'y':
      if (!allow_delete) goto bad;
      o->yes = 1;
      break;
    case OPT_JSON: o->json = 1; break;
    case 'q': o->quiet = 1; break;
    case 'h': cache_usage(stdout); return 0;
    default: goto bad;
    }
  }
  return -1;
bad:
  cache_usage(stderr);
  return FERRY_EXIT_USAGE;
}

/* Scans the cache; on failure writes the reason into message (the caller reports it). */
static int scan_or_report(const struct manage_opts *o, struct ferry_cache_info *info,
                          char *message, size_t cap) {
  int err = ferry_cache_scan(o->cache_dir, info);
  if (err) {
    snprintf(message, cap, "cannot read the cache at %s: %s",
             info->cache_dir ? info->cache_dir : "(unknown)", ferry_strerror(err));
  } else if (!o->json && !o->quiet) {
    for (size_t i = 0; i < info->n_warnings; i++)
      fprintf(stderr, "ferry: warning: %s\n", info->warnings[i]);
  }
  return err;
}

static int cache_ls(int argc, char **argv) {
  struct manage_opts o;
  int rc = parse_manage(argc, argv, &o, 1, 0);
  if (rc >= 0) return rc;
  if (optind != argc) {
    cache_usage(stderr);
    return FERRY_EXIT_USAGE;
  }
  struct ferry_cache_info info;
  char message[1024] = "";
  int err = scan_or_report(&o, &info, message, sizeof(message));
  if (o.json) {
    json_t *obj = cache_info_json(&info);
    json_object_set_new(obj, "ok", json_boolean(err == 0));
    json_object_set_new(obj, "error", cli_json_error(err, message, -1));
    print_json(obj);
  } else if (err) {
    fprintf(stderr, "ferry: error: %s\n", message);
  } else {
    char size[32], acc[32], mod[32], refs[512];
    if (!o.quiet && !o.revisions)
      printf("%-48s %10s %6s  %-16s  %-16s  %s\n", "ID", "SIZE", "FILES", "LAST ACCESSED",
             "LAST MODIFIED", "REFS");
    if (!o.quiet && o.revisions)
      printf("%-48s %-40s %10s %6s  %-16s  %s\n", "ID", "REVISION", "SIZE", "FILES",
             "LAST MODIFIED", "REFS");
    for (size_t i = 0; i < info.n_repos; i++) {
      const struct ferry_cache_repo *r = &info.repos[i];
      char id[512];
      snprintf(id, sizeof(id), "%s/%s", r->repo_type, r->repo_id);
      if (!o.revisions) {
        if (o.quiet) {
          printf("%s\n", id);
          continue;
        }
        /* the refs of every revision, in commit order */
        char all[512] = "";
        size_t used = 0;
        for (size_t k = 0; k < r->n_revisions; k++) {
          refs_text(r->revisions[k].refs, r->revisions[k].n_refs, refs, sizeof(refs));
          if (refs[0] && used + 2 < sizeof(all))
            used += (size_t)snprintf(all + used, sizeof(all) - used, "%s%s", used ? "," : "", refs);
          if (used >= sizeof(all)) used = sizeof(all) - 1;
        }
        printf("%-48s %10s %6zu  %-16s  %-16s  %s\n", id,
               cli_fmt_bytes((double)r->size_on_disk, size, sizeof(size)), r->n_files,
               fmt_time(r->last_accessed, acc, sizeof(acc)),
               fmt_time(r->last_modified, mod, sizeof(mod)), all);
        continue;
      }
      for (size_t k = 0; k < r->n_revisions; k++) {
        const struct ferry_cache_revision *v = &r->revisions[k];
        if (o.quiet) {
          printf("%s\n", v->commit);
          continue;
        }
        refs_text(v->refs, v->n_refs, refs, sizeof(refs));
        printf("%-48s %-40s %10s %6zu  %-16s  %s\n", id, v->commit,
               cli_fmt_bytes((double)v->size_on_disk, size, sizeof(size)), v->n_files,
               fmt_time(v->last_modified, mod, sizeof(mod)), refs);
      }
    }
    if (!o.quiet) {
      uint64_t partial = 0;
      for (size_t i = 0; i < info.n_partials; i++) partial += info.partials[i].size;
      printf("\n%zu repo(s), %s on disk in %s", info.n_repos,
             cli_fmt_bytes((double)info.size_on_disk, size, sizeof(size)), info.cache_dir);
      if (info.n_partials)
        printf("; %zu partial file(s), %s (ferry cache prune)", info.n_partials,
               cli_fmt_bytes((double)partial, acc, sizeof(acc)));
      printf("\n");
    }
  }
  ferry_cache_info_free(&info);
  return ferry_exit_class(err);
}

static const char *const item_kinds[] = {"repo", "snapshot", "ref", "blob", "partial"};

static void print_plan(FILE *f, const struct ferry_cache_plan *plan) {
  char size[32];
  for (size_t i = 0; i < plan->n_items; i++) {
    const struct ferry_cache_item *it = &plan->items[i];
    fprintf(f, "  %-8s %10s  %s\n", item_kinds[it->kind],
            cli_fmt_bytes((double)it->bytes, size, sizeof(size)), it->path);
  }
  fprintf(f, "%zu path(s), %s freed\n", plan->n_items,
          cli_fmt_bytes((double)plan->freed_bytes, size, sizeof(size)));
}

/* Asks on the terminal (the caller made sure stdin is one). 1 when the answer is yes. */
static int confirmed(const struct manage_opts *o, const struct ferry_cache_plan *plan) {
  if (o->json || o->quiet) print_plan(stderr, plan);
  fprintf(stderr, "Delete these %zu path(s)? [y/N] ", plan->n_items);
  char answer[16] = "";
  if (!fgets(answer, sizeof(answer), stdin)) return 0;
  return answer[0] == 'y' || answer[0] == 'Y';
}

static json_t *plan_json(const struct ferry_cache_plan *plan) {
  json_t *items = json_array();
  for (size_t i = 0; i < plan->n_items; i++) {
    const struct ferry_cache_item *it = &plan->items[i];
    json_array_append_new(
        items, json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "kind", item_kinds[it->kind], "path",
                         it->path, "bytes", (json_int_t)it->bytes, "repo_type", it->repo_type,
                         "repo_id", it->repo_id, "commit", it->commit));
  }
  return items;
}

/* rm and prune: plan, show, confirm, delete. */
static int cache_delete(int argc, char **argv, int prune) {
  struct manage_opts o;
  int rc = parse_manage(argc, argv, &o, 0, 1);
  if (rc >= 0) return rc;
  if (prune ? optind != argc : optind >= argc) {
    cache_usage(stderr);
    return FERRY_EXIT_USAGE;
  }
  struct ferry_cache_info info;
  struct ferry_cache_plan plan = {0};
  char message[1024] = "";
  size_t done = 0, failed = 0;
  int err = scan_or_report(&o, &info, message, sizeof(message));
  if (err) goto report;
  err = prune ? ferry_cache_plan_prune(&info, &plan)
              : ferry_cache_plan_rm(&info, (const char *const *)argv + optind,
                                    (size_t)(argc - optind), &plan);
  if (err) {
    snprintf(message, sizeof(message), "%s", plan.message[0] ? plan.message : ferry_strerror(err));
  } else {
    int asks = !o.yes && !o.dry_run && plan.n_items;
    if (asks && !isatty(STDIN_FILENO)) {
      err = FERRY_E_INVAL;
      snprintf(message, sizeof(message),
               "refusing to delete without confirmation: stdin is not a terminal (use -y)");
      goto report;
    }
    if (!o.json && !o.quiet && plan.n_items) {
      printf("%s:\n", o.dry_run ? "Would delete" : asks ? "Will delete" : "Deleting");
      print_plan(stdout, &plan);
      fflush(stdout);
    }
    /* without -y a terminal is asked; anything else was refused above */
    if (asks && !confirmed(&o, &plan)) {
      err = FERRY_E_CANCELLED;
      snprintf(message, sizeof(message), "not confirmed: nothing deleted");
    } else if (!o.dry_run) {
      err = ferry_cache_plan_execute(&info, &plan, &done, &failed, message, sizeof(message));
    }
  }
report:
  if (o.json) {
    print_json(json_pack("{s:b, s:b, s:I, s:I, s:I, s:o, s:o}", "ok", err == 0, "dry_run",
                         o.dry_run, "deleted", (json_int_t)done, "failed", (json_int_t)failed,
                         "freed_bytes", (json_int_t)(err ? 0 : plan.freed_bytes),
                         "items", plan_json(&plan), "error", cli_json_error(err, message, -1)));
  } else {
    if (err) fprintf(stderr, "ferry: error: %s\n", message);
    else if (!o.quiet && !plan.n_items) printf("Nothing to delete.\n");
    else if (!o.quiet && o.dry_run) printf("Dry run: nothing deleted.\n");
    else if (!o.quiet) printf("Deleted %zu path(s).\n", done);
  }
  ferry_cache_plan_free(&plan);
  ferry_cache_info_free(&info);
  return err == FERRY_E_CANCELLED ? FERRY_EXIT_OTHER : ferry_exit_class(err);
}

int cli_cache(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "verify")) return cache_verify(argc - 1, argv + 1);
  if (argc >= 2 && (!strcmp(argv[1], "ls") || !strcmp(argv[1], "list")))
    return cache_ls(argc - 1, argv + 1);
  if (argc >= 2 && !strcmp(argv[1], "rm")) return cache_delete(argc - 1, argv + 1, 0);
  if (argc >= 2 && !strcmp(argv[1], "prune")) return cache_delete(argc - 1, argv + 1, 1);
  cache_usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
  return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : FERRY_EXIT_USAGE;
}
