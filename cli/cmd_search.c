/* ferry search models|datasets|spaces: find repos on the Hub, with the filters of
 * `hf models ls`. The work is in engine/hub/listing.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_FILTERS 64

static json_t *count_json(int64_t v) { return v < 0 ? json_null() : json_integer(v); }

int cli_search(int argc, char **argv) {
  struct cli_hub_opts hub = {0};
  struct ferry_hub_search_opts o = {0};
  const char *filters[MAX_FILTERS];
  struct cli_list filter_list = {filters, 0, MAX_FILTERS};
  int limit = 0, n;
  const struct cli_opt opts[] = {
      CLI_OPT_STR("author", 0, &o.author, "A", "only repos of this user or organisation"),
      CLI_OPT_LIST("filter", &filter_list, "TAG",
                   "only repos with this tag (repeatable: all of them)"),
      CLI_OPT_STR("sort", 0, &o.sort, "KEY",
                  "downloads, likes, created, modified or trending (descending)"),
      CLI_OPT_INT("limit", &limit, 1, 100000, "N",
                  "at most N results (default 30); pages are followed"),
      CLI_OPT_STR("search", 0, &o.query, "QUERY", "same as the QUERY argument"),
      CLI_HUB_OPTIONS(&hub, "only the repo ids"),
      CLI_OPT_END};
  const struct cli_cmd cmd = {"search", "models|datasets|spaces [QUERY]",
                              "Finds repos on the Hub whose id contains QUERY, with the filters "
                              "of `hf models ls`.", opts, 1, 2, NULL};
  int rc = cli_parse(&cmd, argc, argv, &n);
  if (rc != CLI_GO_ON) return rc;
  o.limit = (size_t)limit, o.n_filters = filter_list.n;
  static const char *const kinds[][2] = {
      {"models", "model"}, {"datasets", "dataset"}, {"spaces", "space"}};
  for (int k = 0; k < 3; k++)
    if (!strcmp(argv[1], kinds[k][0])) o.repo_type = kinds[k][1];
  if (!o.repo_type)
    return cli_usage_error("search", "search needs models, datasets or spaces, not '%s'", argv[1]);
  if (n == 2 && o.query)
    return cli_usage_error("search", "give QUERY or --search, not both");
  if (n == 2) o.query = argv[2];
  o.filters = filters;
  json_t *flist = json_array();
  for (size_t i = 0; i < o.n_filters; i++) json_array_append_new(flist, json_string(filters[i]));
  json_t *obj = json_pack("{s:s, s:o, s:o, s:o, s:o, s:I}", "repo_type", o.repo_type, "query",
                          cli_json_str(o.query), "author", cli_json_str(o.author), "filters",
                          flist, "sort", cli_json_str(o.sort), "limit",
                          (json_int_t)(o.limit ? o.limit : 30));
  struct ferry_hub_client *client;
  if ((rc = cli_hub_client(&hub, &client, obj))) return rc;
  char why[1024] = "";
  struct ferry_hub_search_result r;
  int err = ferry_hub_search(client, &o, &r, why, sizeof(why));
  ferry_hub_client_free(client);
  if (err) return cli_hub_finish(&hub, obj, err, why);
  json_t *results = json_array();
  if (!hub.json && !hub.quiet && r.n)
    printf("%-50s %12s %8s  %s\n", "ID", "DOWNLOADS", "LIKES", "MODIFIED");
  for (size_t i = 0; i < r.n; i++) {
    const struct ferry_hub_search_item *it = &r.items[i];
    if (hub.json) {
      json_array_append_new(
          results,
          json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id", it->id, "private",
                    it->is_private < 0 ? json_null() : json_boolean(it->is_private), "gated",
                    cli_json_str(it->gated[0] ? it->gated : NULL), "downloads",
                    count_json(it->downloads), "likes", count_json(it->likes), "last_modified",
                    cli_json_str(it->last_modified[0] ? it->last_modified : NULL), "created_at",
                    cli_json_str(it->created_at[0] ? it->created_at : NULL), "pipeline_tag",
                    cli_json_str(it->pipeline_tag)));
    } else if (hub.quiet) {
      printf("%s\n", it->id);
    } else {
      char dl[24] = "-", likes[24] = "-";
      if (it->downloads >= 0) snprintf(dl, sizeof(dl), "%" PRId64, it->downloads);
      if (it->likes >= 0) snprintf(likes, sizeof(likes), "%" PRId64, it->likes);
      printf("%-50s %12s %8s  %.10s\n", it->id, dl, likes, it->last_modified);
    }
  }
  if (!hub.json && !hub.quiet)
    fprintf(stderr, "ferry: %zu result(s)%s\n", r.n,
            r.n == (o.limit ? o.limit : 30) ? " (the limit; --limit N for more)" : "");
  json_object_set_new(obj, "count", json_integer((json_int_t)r.n));
  json_object_set_new(obj, "pages", json_integer(r.pages));
  json_object_set_new(obj, "results", results);
  ferry_hub_search_result_free(&r);
  return cli_hub_finish(&hub, obj, 0, NULL);
}
