/* ferry search models|datasets|spaces: find repos on the Hub, with the filters of
 * `hf models ls`. The work is in engine/hub/listing.c. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_FILTERS 64

static void search_usage(FILE *f) {
  fprintf(f,
          "usage: ferry search models|datasets|spaces [QUERY] [options]\n"
          "\n"
          "  QUERY              part of the repo id\n"
          "  --author A         only repos of this user or organisation\n"
          "  --filter TAG       only repos with this tag (repeatable: all of them)\n"
          "  --sort KEY         downloads, likes, created, modified or trending (descending)\n"
          "  --limit N          at most N results (default 30); pages are followed\n"
          "  --token TOKEN, --cacert FILE, --insecure, -v\n"
          "  -q, --quiet        only the repo ids\n"
          "  --json             print one JSON object (keys in README.md)\n");
}

enum { OPT_AUTHOR = CLI_OPT_FIRST_OWN, OPT_FILTER, OPT_SORT, OPT_LIMIT, OPT_SEARCH };

static const struct option search_options[] = {CLI_HUB_OPTIONS,
                                               {"author", required_argument, 0, OPT_AUTHOR},
                                               {"filter", required_argument, 0, OPT_FILTER},
                                               {"sort", required_argument, 0, OPT_SORT},
                                               {"limit", required_argument, 0, OPT_LIMIT},
                                               {"search", required_argument, 0, OPT_SEARCH},
                                               {0, 0, 0, 0}};

static json_t *count_json(int64_t v) { return v < 0 ? json_null() : json_integer(v); }

int cli_search(int argc, char **argv) {
  struct cli_hub_opts hub = {0};
  struct ferry_hub_search_opts o = {0};
  const char *filters[MAX_FILTERS];
  int c;
  optind = 1;
  opterr = 0; /* our own one-line message instead of getopt's */
  while ((c = getopt_long(argc, argv, "qvh", search_options, NULL)) != -1) {
    if (cli_hub_opt(&hub, c, optarg)) continue;
    char *end = NULL;
    switch (c) {
    case OPT_AUTHOR: o.author = optarg; break;
    case OPT_FILTER:
      if (o.n_filters == MAX_FILTERS) {
        fprintf(stderr, "ferry: error: at most %d --filter\n", MAX_FILTERS);
        return FERRY_EXIT_USAGE;
      }
      filters[o.n_filters++] = optarg;
      break;
    case OPT_SORT: o.sort = optarg; break;
    case OPT_SEARCH: o.query = optarg; break;
    case OPT_LIMIT: {
      unsigned long long v = strtoull(optarg, &end, 10);
      if (!*optarg || *end || optarg[0] == '-' || v < 1 || v > 100000) {
        fprintf(stderr, "ferry: error: --limit takes a number from 1 to 100000: %s\n", optarg);
        return FERRY_EXIT_USAGE;
      }
      o.limit = (size_t)v;
      break;
    }
    case 'h': search_usage(stdout); return 0;
    default: return cli_hub_bad_option(argc, argv);
    }
  }
  int n = argc - optind;
  static const char *const kinds[][2] = {
      {"models", "model"}, {"datasets", "dataset"}, {"spaces", "space"}};
  for (int k = 0; n >= 1 && k < 3; k++)
    if (!strcmp(argv[optind], kinds[k][0])) o.repo_type = kinds[k][1];
  if (!o.repo_type || n > 2 || (n == 2 && o.query)) {
    fprintf(stderr,
            "ferry: error: search needs models, datasets or spaces, then at most one QUERY\n");
    search_usage(stderr);
    return FERRY_EXIT_USAGE;
  }
  if (n == 2) o.query = argv[optind + 1];
  o.filters = filters;
  json_t *flist = json_array();
  for (size_t i = 0; i < o.n_filters; i++) json_array_append_new(flist, json_string(filters[i]));
  json_t *obj = json_pack("{s:s, s:o, s:o, s:o, s:o, s:I}", "repo_type", o.repo_type, "query",
                          cli_json_str(o.query), "author", cli_json_str(o.author), "filters",
                          flist, "sort", cli_json_str(o.sort), "limit",
                          (json_int_t)(o.limit ? o.limit : 30));
  struct ferry_hub_client *client;
  int rc = cli_hub_client(&hub, &client, obj);
  if (rc) return rc;
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
