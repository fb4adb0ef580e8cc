/* ferry card: `new` writes a model or dataset card scaffold, `check` validates a card's
 * metadata (engine/hub/card.c does the work). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static void card_usage(FILE *f) {
  fprintf(f,
          "usage: ferry card new [--type model|dataset] [-o FILE] [--force] [-q]\n"
          "       ferry card check FILE [--type model|dataset] [--json] [-q]\n"
          "\n"
          "new    prints a card scaffold (YAML metadata and the usual sections), or writes it\n"
          "       to FILE (an existing FILE is kept unless --force).\n"
          "check  parses the card's --- metadata block and checks licenses, field types and\n"
          "       model-index. Exit 0 when valid, 19 when not, 6 when FILE cannot be read.\n");
}

static int parse_type(const char *s, enum ferry_card_type *out) {
  if (!strcmp(s, "model")) *out = FERRY_CARD_MODEL;
  else if (!strcmp(s, "dataset")) *out = FERRY_CARD_DATASET;
  else return -1;
  return 0;
}

enum { OPT_TYPE = 3100, OPT_FORCE, OPT_JSON };

static int card_new(int argc, char **argv) {
  static const struct option opts[] = {{"type", required_argument, 0, OPT_TYPE},
                                       {"output", required_argument, 0, 'o'},
                                       {"force", no_argument, 0, OPT_FORCE},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  enum ferry_card_type type = FERRY_CARD_MODEL;
  const char *output = NULL;
  int force = 0, quiet = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
    switch (c) {
    case OPT_TYPE:
      if (parse_type(optarg, &type)) {
        fprintf(stderr, "ferry: --type must be model or dataset\n");
        return FERRY_EXIT_USAGE;
      }
      break;
    case 'o': output = optarg; break;
    case OPT_FORCE: force = 1; break;
    case 'q': quiet = 1; break;
    case 'h': card_usage(stdout); return 0;
    default: card_usage(stderr); return FERRY_EXIT_USAGE;
    }
  }
  if (optind != argc) {
    card_usage(stderr);
    return FERRY_EXIT_USAGE;
  }
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
  static const struct option opts[] = {{"type", required_argument, 0, OPT_TYPE},
                                       {"json", no_argument, 0, OPT_JSON},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  enum ferry_card_type type = FERRY_CARD_MODEL;
  int json = 0, quiet = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
    switch (c) {
    case OPT_TYPE:
      if (parse_type(optarg, &type)) {
        fprintf(stderr, "ferry: --type must be model or dataset\n");
        return FERRY_EXIT_USAGE;
      }
      break;
    case OPT_JSON: json = 1; break;
    case 'q': quiet = 1; break;
    case 'h': card_usage(stdout); return 0;
    default: card_usage(stderr); return FERRY_EXIT_USAGE;
    }
  }
  if (optind != argc - 1) {
    card_usage(stderr);
    return FERRY_EXIT_USAGE;
  }
  const char *file = argv[optind];
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

int cli_card(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "new")) return card_new(argc - 1, argv + 1);
  if (argc >= 2 && !strcmp(argv[1], "check")) return card_check(argc - 1, argv + 1);
  int help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
  card_usage(help ? stdout : stderr);
  return help ? 0 : FERRY_EXIT_USAGE;
}
