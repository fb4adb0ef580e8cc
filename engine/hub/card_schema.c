/* card_schema.c: the checks `ferry card check` makes on a card's parsed metadata: the license
 * identifiers of the Hub's list (docs/hub/repositories-licenses.md), the types of the fields
 * huggingface_hub's ModelCardData / DatasetCardData know, and the model-index structure that
 * its model_index_to_eval_results reads. Unknown fields are allowed, as on the Hub. */
#include <stdio.h>
#include <string.h>

#include "card.h"

/* The Hub's license identifiers. */
static const char *const licenses[] = {
    "apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m",
    "bigscience-bloom-rail-1.0", "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0",
    "bsd", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0",
    "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0",
    "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-3.0",
    "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0",
    "cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0",
    "epl-1.0", "epl-2.0", "etalab-2.0", "eupl-1.1", "agpl-3.0", "gfdl", "gpl",
    "gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1", "lgpl-3.0", "isc", "intel-research",
    "lppl-1.3c", "ms-pl", "apple-ascl", "apple-amlr", "mpl-2.0", "odc-by", "odbl",
    "openrail++", "osl-3.0", "postgresql", "ofl-1.1", "ncsa", "unlicense", "zlib", "pddl",
    "lgpl-lr", "deepfloyd-if-license", "fair-noncommercial-research-license", "llama2",
    "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4", "gemma", "unknown", "other"};

int ferry__card_license_known(const char *id) {
  for (size_t i = 0; i < sizeof(licenses) / sizeof(licenses[0]); i++)
    if (!strcmp(id, licenses[i])) return 1;
  return 0;
}

typedef struct ferry__card_node node;

/* Field paths for messages ("model-index[0].results[1].task"), cut at PATH_CAP. */
#define PATH_CAP 200
__attribute__((noinline)) static void at_key(char *out, const char *base, const char *key) {
  snprintf(out, PATH_CAP, "%s.%s", base, key);
}
__attribute__((noinline)) static void at_index(char *out, const char *base, size_t i) {
  snprintf(out, PATH_CAP, "%s[%zu]", base, i);
}

static int is_scalar(const node *n, int kind) {
  return n && n->kind == FERRY__CARD_SCALAR && n->scalar == kind;
}
static int is_str(const node *n) { return is_scalar(n, FERRY__CARD_STR); }
static int is_null(const node *n) { return is_scalar(n, FERRY__CARD_NULL); }

static const char *describe(const node *n) {
  if (n->kind == FERRY__CARD_SEQ) return "a list";
  if (n->kind == FERRY__CARD_MAP) return "a mapping";
  switch (n->scalar) {
  case FERRY__CARD_NULL: return "empty";
  case FERRY__CARD_BOOL: return "a boolean";
  case FERRY__CARD_INT: return "an integer";
  case FERRY__CARD_FLOAT: return "a number";
  default: return "a string";
  }
}

/* "<where>" is the path of the field, e.g. "model-index[0].results[1].task". */
static void wrong(struct ferry__card_ctx *c, const node *n, const char *where, const char *want) {
  ferry__card_error(c, n->line, n->column, "%s must be %s, not %s", where, want, describe(n));
}

/* Numbers and booleans are fine where a string is expected only if the author meant text;
 * the Hub refuses them, so do we (a year like `2024` must be quoted). */
static int want_string(struct ferry__card_ctx *c, const node *n, const char *where) {
  if (is_str(n)) return 1;
  wrong(c, n, where, "a string");
  return 0;
}

static void want_string_list(struct ferry__card_ctx *c, const node *n, const char *where,
                             int allow_single) {
  if (allow_single && is_str(n)) return;
  if (n->kind != FERRY__CARD_SEQ) {
    wrong(c, n, where, allow_single ? "a string or a list of strings" : "a list of strings");
    return;
  }
  char item[PATH_CAP];
  for (size_t i = 0; i < n->n; i++) {
    at_index(item, where, i);
    want_string(c, n->kids[i], item);
  }
}

static void check_license_id(struct ferry__card_ctx *c, const node *n, const char *where) {
  if (!want_string(c, n, where)) return;
  if (!ferry__card_license_known(n->value))
    ferry__card_error(c, n->line, n->column,
                      "unknown license '%.60s': use an identifier of the Hub's license list, "
                      "or 'other' with license_name and license_link",
                      n->value);
}

static void check_license(struct ferry__card_ctx *c, const node *root, const node *n) {
  if (n->kind == FERRY__CARD_SEQ && c->type == FERRY_CARD_DATASET) {
    char item[PATH_CAP];
    for (size_t i = 0; i < n->n; i++) {
      snprintf(item, sizeof(item), "license[%zu]", i);
      check_license_id(c, n->kids[i], item);
    }
  } else if (n->kind == FERRY__CARD_SEQ) {
    wrong(c, n, "license", "a string (a dataset card may list several)");
    return;
  } else {
    check_license_id(c, n, "license");
  }
  if (is_str(n) && !strcmp(n->value, "other")) {
    const node *name = ferry__card_get(root, "license_name");
    const node *link = ferry__card_get(root, "license_link");
    if (!name)
      ferry__card_warn(c, n->line, n->column, "license 'other' without a license_name");
    if (!link)
      ferry__card_warn(c, n->line, n->column,
                       "license 'other' without a license_link (or a LICENSE file)");
  }
}

static const node *need(struct ferry__card_ctx *c, const node *map, const char *key,
                        const char *where) {
  const node *v = ferry__card_get(map, key);
  if (!v) ferry__card_error(c, map->line, map->column, "%s has no '%s'", where, key);
  return v;
}

static void optional_string(struct ferry__card_ctx *c, const node *map, const char *key,
                            const char *where) {
  const node *v = ferry__card_get(map, key);
  char path[PATH_CAP];
  at_key(path, where, key);
  if (v && !is_null(v)) want_string(c, v, path);
}

static int want_map(struct ferry__card_ctx *c, const node *n, const char *where) {
  if (n->kind == FERRY__CARD_MAP) return 1;
  wrong(c, n, where, "a mapping");
  return 0;
}

static int want_list(struct ferry__card_ctx *c, const node *n, const char *where) {
  if (n->kind == FERRY__CARD_SEQ) return 1;
  wrong(c, n, where, "a list");
  return 0;
}

static void check_metric(struct ferry__card_ctx *c, const node *m, const char *where) {
  if (!want_map(c, m, where)) return;
  char path[PATH_CAP];
  const node *type = need(c, m, "type", where);
  at_key(path, where, "type");
  if (type) want_string(c, type, path);
  const node *value = need(c, m, "value", where);
  at_key(path, where, "value");
  if (value && (value->kind != FERRY__CARD_SCALAR || is_null(value)))
    wrong(c, value, path, "a number or a string");
  optional_string(c, m, "name", where);
  optional_string(c, m, "config", where);
  const node *verified = ferry__card_get(m, "verified");
  at_key(path, where, "verified");
  if (verified && !is_scalar(verified, FERRY__CARD_BOOL)) wrong(c, verified, path, "a boolean");
  const node *args = ferry__card_get(m, "args");
  at_key(path, where, "args");
  if (args && args->kind == FERRY__CARD_SEQ) wrong(c, args, path, "a mapping or a value");
}

static void check_result(struct ferry__card_ctx *c, const node *r, const char *where) {
  if (!want_map(c, r, where)) return;
  char path[PATH_CAP];
  const node *task = need(c, r, "task", where);
  at_key(path, where, "task");
  if (task && want_map(c, task, path)) {
    const node *type = need(c, task, "type", path);
    char tpath[PATH_CAP];
    at_key(tpath, path, "type");
    if (type) want_string(c, type, tpath);
    optional_string(c, task, "name", path);
  }
  const node *ds = need(c, r, "dataset", where);
  at_key(path, where, "dataset");
  if (ds && want_map(c, ds, path)) {
    char dpath[PATH_CAP];
    const char *required[] = {"type", "name"};
    for (int i = 0; i < 2; i++) {
      const node *v = need(c, ds, required[i], path);
      at_key(dpath, path, required[i]);
      if (v) want_string(c, v, dpath);
    }
    optional_string(c, ds, "config", path);
    optional_string(c, ds, "split", path);
    optional_string(c, ds, "revision", path);
  }
  const node *metrics = need(c, r, "metrics", where);
  at_key(path, where, "metrics");
  if (metrics && want_list(c, metrics, path)) {
    if (metrics->n == 0) ferry__card_error(c, metrics->line, metrics->column, "%s is empty", path);
    for (size_t i = 0; i < metrics->n; i++) {
      char mpath[PATH_CAP];
      at_index(mpath, path, i);
      check_metric(c, metrics->kids[i], mpath);
    }
  }
  const node *source = ferry__card_get(r, "source");
  at_key(path, where, "source");
  if (source && want_map(c, source, path)) {
    optional_string(c, source, "url", path);
    optional_string(c, source, "name", path);
  }
}

/* model-index: [{name, results: [{task: {type, name?}, dataset: {type, name, ...},
 * metrics: [{type, value, ...}], source?}]}] */
static void check_model_index(struct ferry__card_ctx *c, const node *mi) {
  if (!want_list(c, mi, "model-index")) return;
  if (mi->n == 0) ferry__card_warn(c, mi->line, mi->column, "model-index is empty");
  for (size_t i = 0; i < mi->n; i++) {
    char where[PATH_CAP], path[100];
    snprintf(where, sizeof(where), "model-index[%zu]", i);
    const node *entry = mi->kids[i];
    if (!want_map(c, entry, where)) continue;
    const node *name = need(c, entry, "name", where);
    at_key(path, where, "name");
    if (name) want_string(c, name, path);
    const node *results = need(c, entry, "results", where);
    at_key(path, where, "results");
    if (!results || !want_list(c, results, path)) continue;
    for (size_t k = 0; k < results->n; k++) {
      char rpath[PATH_CAP];
      at_index(rpath, path, k);
      check_result(c, results->kids[k], rpath);
    }
  }
}

/* Fields that take a string or a list of strings. */
static const char *const string_or_list[] = {
    "language", "datasets", "metrics", "base_model", "annotations_creators",
    "language_creators", "multilinguality", "size_categories", "source_datasets",
    "task_categories", "task_ids", "language_details"};
/* Fields that take one string. */
static const char *const single_string[] = {
    "pipeline_tag", "library_name", "license_name", "license_link", "model_name",
    "pretty_name", "new_version", "base_model_relation"};
/* Fields that may be a string or empty. */
static const char *const string_or_null[] = {"thumbnail", "paperswithcode_id"};

void ferry__card_check_schema(struct ferry__card_ctx *c, const node *root) {
  for (size_t i = 0; i < sizeof(string_or_list) / sizeof(string_or_list[0]); i++) {
    const node *v = ferry__card_get(root, string_or_list[i]);
    if (v) want_string_list(c, v, string_or_list[i], 1);
  }
  for (size_t i = 0; i < sizeof(single_string) / sizeof(single_string[0]); i++) {
    const node *v = ferry__card_get(root, single_string[i]);
    if (v) want_string(c, v, single_string[i]);
  }
  for (size_t i = 0; i < sizeof(string_or_null) / sizeof(string_or_null[0]); i++) {
    const node *v = ferry__card_get(root, string_or_null[i]);
    if (v && !is_null(v)) want_string(c, v, string_or_null[i]);
  }
  const node *v;
  if ((v = ferry__card_get(root, "tags"))) want_string_list(c, v, "tags", 0);
  if ((v = ferry__card_get(root, "license"))) check_license(c, root, v);
  else
    ferry__card_warn(c, root->line, root->column, "no license in the metadata");
  if ((v = ferry__card_get(root, "model-index"))) {
    if (c->type == FERRY_CARD_DATASET)
      ferry__card_warn(c, v->line, v->column, "model-index in a dataset card");
    check_model_index(c, v);
  }
  if ((v = ferry__card_get(root, "inference")) && v->kind != FERRY__CARD_MAP &&
      !is_scalar(v, FERRY__CARD_BOOL))
    wrong(c, v, "inference", "a boolean or a mapping");
  if ((v = ferry__card_get(root, "widget"))) want_list(c, v, "widget");
  if ((v = ferry__card_get(root, "configs"))) {
    if (want_list(c, v, "configs"))
      for (size_t i = 0; i < v->n; i++) {
        char where[PATH_CAP];
        snprintf(where, sizeof(where), "configs[%zu]", i);
        if (!want_map(c, v->kids[i], where)) continue;
        const node *name = need(c, v->kids[i], "config_name", where);
        char path[PATH_CAP];
        at_key(path, where, "config_name");
        if (name) want_string(c, name, path);
      }
  }
  if ((v = ferry__card_get(root, "co2_eq_emissions")) && v->kind != FERRY__CARD_MAP &&
      !is_scalar(v, FERRY__CARD_INT) && !is_scalar(v, FERRY__CARD_FLOAT))
    wrong(c, v, "co2_eq_emissions", "a number or a mapping");
}
