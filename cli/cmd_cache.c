/* ferry cache: the Hugging Face cache. `verify` re-hashes a snapshot against the Hub's tree
 * (like `hf cache verify`); `ls`, `rm` and `prune` list and clean it (engine/hub/cache_scan.c,
 * cache_clean.c do the work). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static int cache_verify(int argc, char **argv) {
  struct ferry_hub_download_opts o = {0};
  struct ferry_config cfg = {0};
  int fail_missing = 0, fail_extra = 0, json = 0, quiet = 0, nargs;
  const struct cli_opt opts[] = {
      CLI_OPT_REPO_TYPE(&o.repo_type),
      CLI_OPT_STR("revision", 0, &o.revision, "REV", "branch, tag or commit (default: main)"),
      CLI_OPT_STR("cache-dir", 0, &o.cache_dir, "DIR",
                  "the cache (default HF_HUB_CACHE, HF_HOME/hub)"),
      CLI_OPT_STR("local-dir", 0, &o.local_dir, "DIR", "a --local-dir download instead"),
      CLI_OPT_STR("token", 0, &o.token, "TOKEN", "Hub token (default HF_TOKEN, then the token file)"),
      CLI_OPT_FLAG("fail-on-missing-files", 0, &fail_missing,
                   "exit 5 when a file of the revision is not there"),
      CLI_OPT_FLAG("fail-on-extra-files", 0, &fail_extra,
                   "exit 5 when a file is there that the revision lacks"),
      CLI_OPT_CACERT(&cfg.cacert),
      CLI_OPT_FLAG("quiet", 'q', &quiet, "print nothing but errors"),
      CLI_OPT_JSON(&json),
      CLI_OPT_END};
  const struct cli_cmd cmd = {
      "cache verify", "REPO_ID",
      "Re-hashes every file of the snapshot: SHA-256 against the Hub's LFS oid, git blob\n"
      "SHA-1 against its oid for the others. Exit 5 when a file does not match (or is\n"
      "missing / extra, with the --fail-on options).",
      opts, 1, 1, NULL};
  int rc = cli_parse(&cmd, argc, argv, &nargs);
  if (rc != CLI_GO_ON) return rc;
  if (o.cache_dir && o.local_dir)
    return cli_usage_error(cmd.name, "give --cache-dir or --local-dir, not both");
  o.repo_id = argv[1];
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
  /* Exit 5 as a mismatch, but said as what it is: no file failed its hash here. */
  if (!err && ((fail_missing && missing) || (fail_extra && extra))) {
    err = FERRY_E_CHECKSUM;
    char what[2][64] = {"", ""};
    if (fail_missing && missing)
      snprintf(what[0], sizeof(what[0]), "%d file(s) of the revision missing", missing);
    if (fail_extra && extra)
      snprintf(what[1], sizeof(what[1]), "%d extra file(s) the revision does not have", extra);
    snprintf(r.message, sizeof(r.message), "%s: %s%s%s", r.repo_id, what[0],
             what[0][0] && what[1][0] ? ", " : "", what[1]);
  }
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
    /* A summary only when a snapshot was looked at: not before "repository not found". */
    if (!quiet && (!err || err == FERRY_E_CHECKSUM))
      printf("%s@%.12s: %d verified, %d mismatched, %d missing, %d extra\n", r.repo_id, r.commit,
             verified, mismatched, missing, extra);
  }
  ferry_hub_download_result_free(&r);
  return ferry_exit_class(err);
}

/* ---- ls, rm, prune ------------------------------------------------------------------------ */

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

/* The repos of the entries shown, in their order; with --revisions each repo once (where its
 * first revision shown is), holding only the revisions shown. */
static json_t *cache_info_json(const struct ferry_cache_info *info,
                               const struct cli_cache_entry *shown, size_t n_shown) {
  json_t *repos = json_array();
  for (size_t e = 0; e < n_shown; e++) {
    size_t i = shown[e].repo;
    int first = 1;
    for (size_t p = 0; p < e; p++) first &= shown[p].repo != i;
    if (!first) continue;
    const struct ferry_cache_repo *r = &info->repos[i];
    json_t *revs = json_array(), *refs = json_array();
    for (size_t k = 0; k < r->n_revisions; k++) {
      int listed = !shown[e].has_rev;
      for (size_t p = e; !listed && p < n_shown; p++)
        listed = shown[p].repo == i && shown[p].rev == k;
      if (!listed) continue;
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

#define MAX_FILTERS 32

struct manage_opts {
  const char *cache_dir;
  int revisions, json, quiet, dry_run, yes;
  const char *filters[MAX_FILTERS + 1];
  struct cli_list filter_list;
  const char *sort;
  int limit;
};

/* The options ls, rm and prune share (cmd without its table); their arguments end up in
 * argv[1..*nargs]. */
static int parse_manage(struct cli_cmd cmd, int argc, char **argv, struct manage_opts *o,
                        int *nargs) {
  memset(o, 0, sizeof(*o));
  o->filter_list = (struct cli_list){o->filters, 0, MAX_FILTERS};
  o->limit = -1;
  const struct cli_opt opts[] = {
      CLI_OPT_STR("cache-dir", 0, &o->cache_dir, "DIR",
                  "the cache (default HF_HUB_CACHE, HF_HOME/hub)"),
      CLI_OPT_FLAG("revisions", 0, &o->revisions, "one line per revision instead of per repo",
                   .only = " ls "),
      CLI_OPT_LIST("filter", &o->filter_list, "EXPR",
                   "only entries matching KEY OP VALUE (repeatable): size>1GB,\n"
                   "accessed>7d, modified<2h, type=dataset, refs=main",
                   .letter = 'f', .only = " ls "),
      CLI_OPT_STR("sort", 0, &o->sort, "KEY[:asc|:desc]",
                  "name, size, accessed or modified (biggest, newest first)", .only = " ls "),
      CLI_OPT_INT("limit", &o->limit, 0, 1000000000, "N", "at most N entries, after sorting",
                  .only = " ls "),
      CLI_OPT_FLAG("dry-run", 0, &o->dry_run, "show what would be deleted, delete nothing",
                   .only = " rm prune "),
      CLI_OPT_FLAG("yes", 'y', &o->yes, "do not ask (needed when stdin is not a terminal)",
                   .only = " rm prune "),
      CLI_OPT_FLAG("quiet", 'q', &o->quiet, "ls: only the ids (or commits); rm, prune: no plan"),
      CLI_OPT_JSON(&o->json),
      CLI_OPT_END};
  cmd.opts = opts;
  return cli_parse(&cmd, argc, argv, nargs);
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
  int nargs;
  const struct cli_cmd cmd = {"cache ls", "",
                              "Lists the cached repos (or, with --revisions, revisions) with "
                              "sizes, files and refs.", NULL, 0, 0, NULL};
  int rc = parse_manage(cmd, argc, argv, &o, &nargs);
  if (rc != CLI_GO_ON) return rc;
  struct ferry_cache_info info;
  char message[1024] = "";
  struct cli_cache_entry *shown = NULL;
  size_t n_shown = 0;
  /* the filter and sort words are checked before the cache is read */
  struct ferry_cache_info none = {0};
  if (cli_cache_select(&none, o.revisions, o.filters, o.filter_list.n, o.sort, o.limit, &shown,
                       &n_shown, message, sizeof(message)))
    return cli_usage_error(cmd.name, "%s", message);
  free(shown);
  shown = NULL;
  int err = scan_or_report(&o, &info, message, sizeof(message));
  if (!err && cli_cache_select(&info, o.revisions, o.filters, o.filter_list.n, o.sort, o.limit,
                               &shown, &n_shown, message, sizeof(message)))
    err = FERRY_E_NOMEM;
  if (o.json) {
    json_t *obj = cache_info_json(&info, shown, n_shown);
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
    for (size_t e = 0; e < n_shown; e++) {
      const struct ferry_cache_repo *r = &info.repos[shown[e].repo];
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
               cli_fmt_age(r->last_accessed, acc, sizeof(acc)),
               cli_fmt_age(r->last_modified, mod, sizeof(mod)), all);
        continue;
      }
      const struct ferry_cache_revision *v = &r->revisions[shown[e].rev];
      if (o.quiet) {
        printf("%s\n", v->commit);
        continue;
      }
      refs_text(v->refs, v->n_refs, refs, sizeof(refs));
      printf("%-48s %-40s %10s %6zu  %-16s  %s\n", id, v->commit,
             cli_fmt_bytes((double)v->size_on_disk, size, sizeof(size)), v->n_files,
             cli_fmt_age(v->last_modified, mod, sizeof(mod)), refs);
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
  free(shown);
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
  int nargs;
  const struct cli_cmd rm = {"cache rm", "TARGET...",
                             "Deletes revisions (40-hex commit) or whole repos (model/org/name,\n"
                             "dataset/org/name, space/org/name); asks first on a terminal,\n"
                             "elsewhere it needs -y.", NULL, 1, -1, NULL};
  const struct cli_cmd prune_cmd = {"cache prune", "",
                                    "Deletes detached revisions and partial downloads; asks "
                                    "first on a terminal,\nelsewhere it needs -y.", NULL, 0, 0, NULL};
  int rc = parse_manage(prune ? prune_cmd : rm, argc, argv, &o, &nargs);
  if (rc != CLI_GO_ON) return rc;
  struct ferry_cache_info info;
  struct ferry_cache_plan plan = {0};
  char message[1024] = "";
  size_t done = 0, failed = 0;
  int err = scan_or_report(&o, &info, message, sizeof(message));
  if (err) goto report;
  err = prune ? ferry_cache_plan_prune(&info, &plan)
              : ferry_cache_plan_rm(&info, (const char *const *)argv + 1, (size_t)nargs,
                                    &plan);
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

static int cache_rm(int argc, char **argv) { return cache_delete(argc, argv, 0); }
static int cache_prune(int argc, char **argv) { return cache_delete(argc, argv, 1); }

int cli_cache(int argc, char **argv) {
  static const struct cli_sub subs[] = {
      {"ls", "list", cache_ls, "the cached repos or revisions, sizes, refs"},
      {"rm", NULL, cache_rm, "delete revisions or whole repos"},
      {"prune", NULL, cache_prune, "delete detached revisions and partial downloads"},
      {"verify", NULL, cache_verify, "re-hash a cached snapshot against the Hub's tree"},
      {NULL, NULL, NULL, NULL}};
  return cli_group("cache", subs, argc, argv);
}
