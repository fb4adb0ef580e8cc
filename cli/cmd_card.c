/* ferry card: `new` writes a model or dataset card scaffold, `check` validates a card's
 * metadata (engine/hub/card.c does the work). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

struct card_args {
  const char *type, *output;
  int force, json, quiet;
};

/* The options of new and check (each taking those its `only` names), the card type from
 * --type. Returns CLI_GO_ON, else the exit code. */
static int parse(int argc, char **argv, const struct cli_cmd *cmd_in, struct card_args *a,
                 enum ferry_card_type *type) {
  static const char *const types[] = {"model", "dataset", NULL};
  memset(a, 0, sizeof(*a));
  const struct cli_opt opts[] = {
      CLI_OPT_ENUM("type", &a->type, types, "TYPE", "model (default) or dataset"),
      CLI_OPT_STR("output", 'o', &a->output, "FILE",
                  "write the card to FILE instead of stdout", .only = " new "),
      CLI_OPT_FLAG("force", 0, &a->force, "overwrite an existing FILE", .only = " new "),
      CLI_OPT_JSON(&a->json, .only = " check "),
      CLI_OPT_FLAG("quiet", 'q', &a->quiet, "new: no note on stderr; check: errors only"),
      CLI_OPT_END};
  struct cli_cmd cmd = *cmd_in;
  cmd.opts = opts;
  int n;
  int rc = cli_parse(&cmd, argc, argv, &n);
  *type = a->type && !strcmp(a->type, "dataset") ? FERRY_CARD_DATASET : FERRY_CARD_MODEL;
  return rc;
}

static int card_new(int argc, char **argv) {
  static const struct cli_cmd cmd = {
      "card new", "", "Prints a card scaffold (YAML metadata and the usual sections), or writes it "
      "to\nFILE (an existing FILE is kept unless --force).", NULL, 0, 0, NULL};
  struct card_args a;
  enum ferry_card_type type;
  int rc = parse(argc, argv, &cmd, &a, &type);
  if (rc != CLI_GO_ON) return rc;
  const char *output = a.output;
  int force = a.force, quiet = a.quiet;
  char *text = NULL;
  size_t len = 0;
  int err = ferry_card_scaffold(type, &text, &len);
  if (err) {
    fprintf(stderr, "ferry: error: %s\n", ferry_strerror(err));
    return ferry_exit_class(err);
  }
  if (!output) {
    fwrite(text, 1, len, stdout);
    free(text);
    return 0;
  }
  /* O_EXCL unless --force: an existing card is never overwritten by accident */
  int fd = open(output, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0644);
  if (fd < 0) {
    if (errno == EEXIST)
      fprintf(stderr, "ferry: error: %s exists (use --force to overwrite it)\n", output);
    else
      fprintf(stderr, "ferry: error: cannot create %s: %s\n", output, strerror(errno));
    free(text);
    return FERRY_EXIT_IO;
  }
  ssize_t w = write(fd, text, len);
  int bad = w != (ssize_t)len;
  if (close(fd) != 0) bad = 1;
  free(text);
  if (bad) {
    fprintf(stderr, "ferry: error: cannot write %s\n", output);
    return FERRY_EXIT_IO;
  }
  if (!quiet) fprintf(stderr, "ferry: wrote %s\n", output);
  return 0;
}

/* Reads FILE whole, refusing more than the card limit (+1 byte to tell "too large"). */
static int read_card(const char *path, char **out, size_t *len) {
  *out = NULL;
  *len = 0;
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) return -1;
  size_t cap = FERRY_CARD_MAX_BYTES + 1;
  char *buf = malloc(cap);
  if (!buf) {
    if (f != stdin) fclose(f);
    return -1;
  }
  size_t n = fread(buf, 1, cap, f);
  int bad = ferror(f);
  if (f != stdin) fclose(f);
  if (bad) {
    free(buf);
    return -1;
  }
  *out = buf;
  *len = n;
  return 0;
}

static json_t *issues_json(const struct ferry_card_issue *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_pack("{s:i, s:i, s:s}", "line", v[i].line, "column",
                                       v[i].column, "message", v[i].message));
  return a;
}

static void print_issue(const char *file, const char *kind, const struct ferry_card_issue *is) {
  if (is->line > 0)
    fprintf(stderr, "%s:%d:%d: %s: %s\n", file, is->line, is->column, kind, is->message);
  else
    fprintf(stderr, "%s: %s: %s\n", file, kind, is->message);
}

static int card_check(int argc, char **argv) {
  static const struct cli_cmd cmd = {
      "card check", "FILE", "Parses the card's --- metadata block and checks licenses, field "
      "types and\nmodel-index. Exit 0 when valid, 19 when not, 6 when FILE cannot be read.",
      NULL, 1, 1, NULL};
  struct card_args a;
  enum ferry_card_type type;
  int rc = parse(argc, argv, &cmd, &a, &type);
  if (rc != CLI_GO_ON) return rc;
  int json = a.json, quiet = a.quiet;
  const char *file = argv[1];
  char *text = NULL;
  size_t len = 0;
  struct ferry_card_report rep = {0};
  int err;
  char message[512] = "";
  if (read_card(file, &text, &len) != 0) {
    err = FERRY_E_IO;
    snprintf(message, sizeof(message), "cannot read %s: %s", file, strerror(errno));
  } else {
    err = ferry_card_check(text, len, type, &rep);
  }
  free(text);
  if (json) {
    json_t *obj = json_pack(
        "{s:b, s:s, s:b, s:o, s:I, s:o, s:o}", "ok", err == 0, "file", file, "has_metadata",
        rep.has_metadata, "errors", issues_json(rep.errors, rep.n_errors), "more_errors",
        (json_int_t)rep.more_errors, "warnings",
        issues_json(rep.warnings, rep.n_warnings), "error",
        cli_json_error(err, message, -1));
    char *out = json_dumps(obj, JSON_COMPACT);
    if (out) printf("%s\n", out);
    free(out);
    json_decref(obj);
  } else {
    if (message[0]) fprintf(stderr, "ferry: error: %s\n", message);
    for (size_t i = 0; i < rep.n_errors; i++) print_issue(file, "error", &rep.errors[i]);
    if (rep.more_errors) fprintf(stderr, "%s: and %zu more errors\n", file, rep.more_errors);
    if (!quiet)
      for (size_t i = 0; i < rep.n_warnings; i++) print_issue(file, "warning", &rep.warnings[i]);
    if (!quiet && !err) printf("%s: ok\n", file);
  }
  ferry_card_report_free(&rep);
  return ferry_exit_class(err);
}

/* hf models|datasets|spaces card: a repo's README.md from the Hub, whole, or only its
 * metadata block (--metadata) or only the text after it (--text). */
static int card_get(int argc, char **argv) {
  struct cli_hub_opts hub = {0};
  const char *revision = NULL;
  int metadata = 0, text_only = 0, nargs;
  const struct cli_opt opts[] = {
      CLI_HUB_REPO_TYPE(&hub),
      CLI_OPT_STR("revision", 0, &revision, "REV", "branch, tag or commit (default: main)"),
      CLI_OPT_FLAG("metadata", 0, &metadata, "only the YAML metadata between the --- lines"),
      CLI_OPT_FLAG("text", 0, &text_only, "only the text after the metadata"),
      CLI_HUB_OPTIONS(&hub, "no note on stderr"),
      CLI_OPT_END};
  const struct cli_cmd cmd = {
      "card get", "REPO_ID",
      "Prints a repo's card (its README.md on the Hub), as `hf models card`; --metadata\n"
      "or --text print one part of it.",
      opts, 1, 1, NULL};
  int rc = cli_parse(&cmd, argc, argv, &nargs);
  if (rc != CLI_GO_ON) return rc;
  if (metadata && text_only)
    return cli_usage_error(cmd.name, "give --metadata or --text, not both");
  json_t *obj = cli_hub_repo_object(argv[1], hub.repo_type);
  json_object_set_new(obj, "revision", json_string(revision ? revision : "main"));
  struct ferry_hub_client *c;
  if ((rc = cli_hub_client(&hub, &c, obj))) return rc;
  char why[1024] = "", *card = NULL;
  size_t len = 0;
  int err = ferry_hub_card_fetch(c, argv[1], hub.repo_type, revision, &card, &len, why,
                                 sizeof(why));
  ferry_hub_client_free(c);
  if (err) return cli_hub_finish(&hub, obj, err, why);
  size_t ms = 0, me = 0, body = 0;
  int has_meta = ferry_card_split(card, len, &ms, &me, &body) == 1;
  if (hub.json) {
    /* json_stringn refuses bytes that are not UTF-8 (the Hub refuses such cards too) */
    json_t *parts[3] = {json_stringn(card, len),
                        has_meta ? json_stringn(card + ms, me - ms) : NULL,
                        json_stringn(card + body, len - body)};
    const char *keys[3] = {"content", "metadata", "text"};
    for (int k = 0; k < 3; k++) json_object_set_new(obj, keys[k], parts[k] ? parts[k] : json_null());
  } else if (metadata) {
    if (has_meta) printf("%.*s\n", (int)(me - ms), card + ms);
    else if (!hub.quiet) fprintf(stderr, "ferry: the card has no metadata block\n");
  } else {
    const char *from = text_only ? card + body : card;
    fwrite(from, 1, len - (size_t)(from - card), stdout);
  }
  free(card);
  return cli_hub_finish(&hub, obj, 0, NULL);
}

int cli_card(int argc, char **argv) {
  static const struct cli_sub subs[] = {
      {"new", NULL, card_new, "a model or dataset card scaffold"},
      {"check", NULL, card_check, "check a card's metadata"},
      {"get", NULL, card_get, "a repo's card from the Hub, as hf models card"},
      {NULL, NULL, NULL, NULL}};
  return cli_group("card", subs, argc, argv);
}
