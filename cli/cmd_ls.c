/* ferry ls and ferry info: what is in a repo (the tree, with sizes and LFS flags) and what a
 * repo is (its metadata and files). The work is in engine/hub/listing.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct ls_args {
  struct cli_hub_opts hub;
  const char *revision;
  int recursive, bytes;
  const char *pos[2];
  int npos;
  const char *uri_path; /* ls hf://ns/name/PATH */
};

/* The options of ls and info (-R is ls's only). Returns CLI_GO_ON, else the exit code. */
static int parse(int argc, char **argv, struct ls_args *a, const char *name, const char *args,
                 int max_pos, const char *about) {
  memset(a, 0, sizeof(*a));
  const struct cli_opt opts[] = {
      CLI_OPT_STR("revision", 0, &a->revision, "REV", "branch, tag or commit (default: main)"),
      CLI_OPT_FLAG("recursive", 'R', &a->recursive, "everything below PATH", .only = " ls "),
      CLI_OPT_FLAG("bytes", 0, &a->bytes, "sizes in bytes (default: kB, MB, GB as hf -h)",
                   .only = " ls "),
      CLI_HUB_REPO_TYPE(&a->hub),
      CLI_HUB_OPTIONS(&a->hub, "ls: only the paths; info: only the commit"),
      CLI_OPT_END};
  const struct cli_cmd cmd = {name, args, about, opts, 1, max_pos,
                              max_pos == 2 ? &a->uri_path : NULL};
  int rc = cli_parse(&cmd, argc, argv, &a->npos);
  for (int i = 0; rc == CLI_GO_ON && i < a->npos; i++) a->pos[i] = argv[1 + i];
  return rc;
}

static json_t *entry_json(const struct ferry_hub_tree_entry *e) {
  return json_pack("{s:s, s:s, s:I, s:b, s:s, s:o}", "type", e->is_dir ? "directory" : "file",
                   "path", e->path, "size", (json_int_t)e->size, "lfs", e->lfs, "oid", e->oid,
                   "sha256", e->lfs ? json_string(e->lfs_sha256) : json_null());
}

int cli_ls(int argc, char **argv) {
  struct ls_args a;
  int rc = parse(argc, argv, &a, "ls", "REPO_ID [PATH]", 2,
                 "The files and folders at PATH (default: the top; a file's path lists that "
                 "file),\nwith their sizes and which files are stored in LFS.");
  if (rc != CLI_GO_ON) return rc;
  if (a.uri_path && a.npos > 1)
    return cli_usage_error("ls", "give the path in the hf:// URI ('%s') or as PATH, not both",
                           a.uri_path);
  const char *path = a.npos > 1 ? a.pos[1] : a.uri_path ? a.uri_path : "";
  json_t *obj = cli_hub_repo_object(a.pos[0], a.hub.repo_type);
  json_object_set_new(obj, "revision", json_string(a.revision ? a.revision : "main"));
  json_object_set_new(obj, "path", json_string(path));
  json_object_set_new(obj, "recursive", json_boolean(a.recursive));
  struct ferry_hub_client *c;
  if ((rc = cli_hub_client(&a.hub, &c, obj))) return rc;
  char why[1024] = "";
  struct ferry_hub_tree_listing l;
  int err = ferry_hub_list_tree(c, a.pos[0], a.hub.repo_type, a.revision, path, a.recursive,
                                &l, why, sizeof(why));
  ferry_hub_client_free(c);
  if (err) return cli_hub_finish(&a.hub, obj, err, why);
  json_t *entries = json_array();
  for (size_t i = 0; i < l.n; i++) {
    const struct ferry_hub_tree_entry *e = &l.entries[i];
    if (a.hub.json) json_array_append_new(entries, entry_json(e));
    else if (a.hub.quiet) printf("%s%s\n", e->path, e->is_dir ? "/" : "");
    else if (e->is_dir) printf("%14s       %s/\n", "-", e->path);
    else if (a.bytes) printf("%14" PRIu64 "  %-3s  %s\n", e->size, e->lfs ? "LFS" : "", e->path);
    else {
      char human[32];
      printf("%14s  %-3s  %s\n", cli_fmt_bytes((double)e->size, human, sizeof(human)),
             e->lfs ? "LFS" : "", e->path);
    }
  }
  if (!a.hub.json && !a.hub.quiet) {
    char total[32];
    fprintf(stderr, "ferry: %zu file(s) (%zu in LFS), %zu folder(s), %s%s%.12s\n", l.n_files,
            l.n_lfs, l.n_dirs, cli_fmt_bytes((double)l.total_size, total, sizeof(total)),
            l.commit[0] ? " at " : "", l.commit);
  }
  json_object_set_new(obj, "commit", l.commit[0] ? json_string(l.commit) : json_null());
  json_object_set_new(obj, "entries", entries);
  json_object_set_new(obj, "files", json_integer((json_int_t)l.n_files));
  json_object_set_new(obj, "directories", json_integer((json_int_t)l.n_dirs));
  json_object_set_new(obj, "lfs_files", json_integer((json_int_t)l.n_lfs));
  json_object_set_new(obj, "total_size", json_integer((json_int_t)l.total_size));
  ferry_hub_tree_listing_free(&l);
  return cli_hub_finish(&a.hub, obj, 0, NULL);
}

static json_t *count_json(int64_t v) { return v < 0 ? json_null() : json_integer(v); }
static json_t *bool_json(int v) { return v < 0 ? json_null() : json_boolean(v); }
static const char *yes_no(int v) { return v < 0 ? "?" : v ? "yes" : "no"; }

static void print_info(const struct ferry_hub_info *i) {
  char total[32];
  printf("repo:          %s (%s)\n", i->repo_id, i->repo_type);
  printf("sha:           %s\n", i->sha);
  printf("last modified: %s\n", i->last_modified[0] ? i->last_modified : "?");
  printf("created:       %s\n", i->created_at[0] ? i->created_at : "?");
  printf("private:       %s\n", yes_no(i->is_private));
  printf("gated:         %s\n", i->gated[0] ? i->gated : "?");
  if (i->downloads >= 0) printf("downloads:     %" PRId64 "\n", i->downloads);
  if (i->likes >= 0) printf("likes:         %" PRId64 "\n", i->likes);
  printf("card data:     %s\n", i->card_data ? i->card_data : "(none)");
  printf("files:         %zu (%zu in LFS), %s (%" PRIu64 " bytes)\n", i->n_files, i->n_lfs,
         cli_fmt_bytes((double)i->total_size, total, sizeof(total)), i->total_size);
  for (size_t k = 0; k < i->n_files; k++)
    printf("  %14" PRIu64 "  %-3s  %s\n", i->files[k].size, i->files[k].lfs ? "LFS" : "",
           i->files[k].path);
}

int cli_info(int argc, char **argv) {
  struct ls_args a;
  int rc = parse(argc, argv, &a, "info", "REPO_ID", 1,
                 "The repo's metadata (commit, dates, visibility, gating, card data) and its "
                 "files\nwith their total size.");
  if (rc != CLI_GO_ON) return rc;
  json_t *obj = cli_hub_repo_object(a.pos[0], a.hub.repo_type);
  json_object_set_new(obj, "revision", cli_json_str(a.revision));
  struct ferry_hub_client *c;
  if ((rc = cli_hub_client(&a.hub, &c, obj))) return rc;
  char why[1024] = "";
  struct ferry_hub_info info;
  int err = ferry_hub_repo_info(c, a.pos[0], a.hub.repo_type, a.revision, &info, why, sizeof(why));
  ferry_hub_client_free(c);
  if (err) return cli_hub_finish(&a.hub, obj, err, why);
  if (a.hub.json) {
    json_t *files = json_array();
    for (size_t k = 0; k < info.n_files; k++) {
      const struct ferry_hub_tree_entry *f = &info.files[k];
      json_array_append_new(files,
                            json_pack("{s:s, s:I, s:b, s:o, s:o}", "path", f->path, "size",
                                      (json_int_t)f->size, "lfs", f->lfs, "blob_id",
                                      f->oid[0] ? json_string(f->oid) : json_null(), "sha256",
                                      f->lfs ? json_string(f->lfs_sha256) : json_null()));
    }
    json_t *card = info.card_data ? json_loads(info.card_data, 0, NULL) : NULL;
    json_object_set_new(obj, "repo_id", json_string(info.repo_id));
    json_object_set_new(obj, "repo_type", json_string(info.repo_type));
    json_object_set_new(obj, "sha", json_string(info.sha));
    json_object_set_new(obj, "last_modified",
                        cli_json_str(info.last_modified[0] ? info.last_modified : NULL));
    json_object_set_new(obj, "created_at",
                        cli_json_str(info.created_at[0] ? info.created_at : NULL));
    json_object_set_new(obj, "private", bool_json(info.is_private));
    json_object_set_new(obj, "gated", cli_json_str(info.gated[0] ? info.gated : NULL));
    json_object_set_new(obj, "disabled", bool_json(info.disabled));
    json_object_set_new(obj, "downloads", count_json(info.downloads));
    json_object_set_new(obj, "likes", count_json(info.likes));
    json_object_set_new(obj, "card_data", card ? card : json_null());
    json_object_set_new(obj, "files", files);
    json_object_set_new(obj, "files_total", json_integer((json_int_t)info.n_files));
    json_object_set_new(obj, "lfs_files", json_integer((json_int_t)info.n_lfs));
    json_object_set_new(obj, "total_size", json_integer((json_int_t)info.total_size));
  } else if (a.hub.quiet) {
    printf("%s\n", info.sha);
  } else {
    print_info(&info);
  }
  ferry_hub_info_free(&info);
  return cli_hub_finish(&a.hub, obj, 0, NULL);
}
