/* options: the one way a ferry command reads its command line. A command declares its options
 * in a table (struct cli_opt in cli.h); cli_parse fills them and refuses anything else with
 * one line naming the option and the problem (a typo must not bury the error under the whole
 * help), and cli_help prints the command's own help from the same table. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "ferry: error: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (see 'ferry %s%s--help')\n", cmd, cmd[0] ? " " : "");
  va_end(ap);
  return FERRY_EXIT_USAGE;
}

/* An entry of a group's shared table is for the subcommands its `only` names: by the last
 * word of the command ("create") or by its whole name with '-' ("tag-create"). */
static int takes(const struct cli_cmd *c, const struct cli_opt *o) {
  if (!o->only) return 1;
  const char *space = strrchr(c->name, ' ');
  char key[64];
  snprintf(key, sizeof(key), " %s ", space ? space + 1 : c->name);
  if (strstr(o->only, key)) return 1;
  snprintf(key, sizeof(key), " %s ", c->name);
  for (char *p = key + 1; p[0] && p[1]; p++) /* all but the closing space */
    if (*p == ' ') *p = '-';
  return strstr(o->only, key) != NULL;
}

/* The entry for --name (len bytes of name) or -letter: an exact name first, then (as getopt
 * did) an unambiguous prefix. *o is NULL and the usage error returned when there is none. */
static int find(const struct cli_cmd *c, const char *name, size_t len, char letter,
                const char *typed, const struct cli_opt **out) {
  const struct cli_opt *exact = NULL, *prefix = NULL, *elsewhere = NULL;
  int ambiguous = 0;
  for (const struct cli_opt *o = c->opts; o->name; o++) {
    int same = letter ? o->letter == letter : strlen(o->name) == len && !strncmp(o->name, name, len);
    int starts = !letter && !same && !strncmp(o->name, name, len);
    if (!same && !starts) continue;
    if (!takes(c, o)) {
      if (same && !elsewhere) elsewhere = o;
      continue;
    }
    if (same && !exact) exact = o;
    else if (starts && prefix && strcmp(prefix->name, o->name)) ambiguous = 1;
    else if (starts) prefix = o;
  }
  *out = exact ? exact : ambiguous ? NULL : prefix;
  if (*out) return 0;
  if (elsewhere)
    return cli_usage_error(c->name, "%s does not take %s%s%s%s", c->name, typed,
                           letter ? " (--" : "", letter ? elsewhere->name : "", letter ? ")" : "");
  if (ambiguous) return cli_usage_error(c->name, "%s: ambiguous option '%s'", c->name, typed);
  return cli_usage_error(c->name, "%s: unknown option '%s'", c->name, typed);
}

/* A whole decimal integer; -1 when it is not one. */
static int parse_integer(const char *s, long long *out) {
  char *end;
  const char *digits = s[0] == '-' || s[0] == '+' ? s + 1 : s; /* no spaces, as strtol would take */
  if (!isdigit((unsigned char)digits[0])) return -1;
  errno = 0;
  *out = strtoll(s, &end, 10);
  return *end || errno ? -1 : 0;
}

/* A size bound as written on the command line: 4M rather than 4194304. */
const char *cli_size_text(long long v, char *buf, size_t cap) {
  static const char units[] = "TGMK";
  for (int i = 0; units[i]; i++) {
    long long unit = 1LL << (10 * (4 - i));
    if (v >= unit && v % unit == 0) {
      snprintf(buf, cap, "%lld%c", v / unit, units[i]);
      return buf;
    }
  }
  snprintf(buf, cap, "%lld", v);
  return buf;
}

static int set_value(const struct cli_cmd *c, const struct cli_opt *o, const char *typed,
                     const char *v) {
  long long n;
  uint64_t size;
  char lo[32], hi[32];
  switch (o->kind) {
  case CLI_FLAG: break;
  case CLI_STRING: *o->to.str = v; break;
  case CLI_INT:
    if (parse_integer(v, &n) || n < o->min || n > o->max)
      return cli_usage_error(c->name, "%s takes an integer from %lld to %lld, not '%s'", typed,
                             o->min, o->max, v);
    *o->to.num = (int)n;
    break;
  case CLI_SIZE:
    if (cli_parse_size(v, &size) || size < (uint64_t)o->min || size > (uint64_t)o->max)
      return cli_usage_error(c->name, "%s takes a size %s %s%s%s (bytes, or with K, M, G, T), "
                             "not '%s'", typed, o->max < CLI_SIZE_MAX ? "from" : "of at least",
                             cli_size_text(o->min, lo, sizeof(lo)),
                             o->max < CLI_SIZE_MAX ? " to " : "",
                             o->max < CLI_SIZE_MAX ? cli_size_text(o->max, hi, sizeof(hi)) : "", v);
    *o->to.size = size;
    break;
  case CLI_LIST:
    if (o->to.list->n == o->to.list->cap)
      return cli_usage_error(c->name, "%s: at most %zu of them", typed, o->to.list->cap);
    o->to.list->v[o->to.list->n++] = v;
    break;
  case CLI_ENUM:
    for (const char *const *w = o->words; *w; w++)
      if (!strcmp(*w, v)) {
        *o->to.str = *w;
        return 0;
      }
    char words[256] = "";
    size_t used = 0;
    for (const char *const *w = o->words; *w && used < sizeof(words); w++)
      used += (size_t)snprintf(words + used, sizeof(words) - used, "%s%s",
                               w == o->words ? "" : w[1] ? ", " : " or ", *w);
    return cli_usage_error(c->name, "%s takes %s, not '%s'", typed, words, v);
  }
  return 0;
}

/* One option at argv[*i]: --name[=value] or -letters[value]; a value may be the next word. */
static int take_option(const struct cli_cmd *c, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  const char *value = NULL;
  const struct cli_opt *o;
  char typed[80];
  int rc;
  if (a[1] == '-') {
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    snprintf(typed, sizeof(typed), "--%.*s", (int)(len < 70 ? len : 70), name);
    if (len == 4 && !strncmp(name, "help", 4)) return cli_help(c, stdout), 0;
    if ((rc = find(c, name, len, 0, typed, &o))) return rc;
    snprintf(typed, sizeof(typed), "--%s", o->name);
    if (eq && o->kind == CLI_FLAG) return cli_usage_error(c->name, "%s takes no value", typed);
    value = eq ? eq + 1 : NULL;
  } else {
    for (const char *p = a + 1; *p; p++) { /* -qv: flags together, the last may take a value */
      snprintf(typed, sizeof(typed), "-%c", *p);
      if (*p == 'h') return cli_help(c, stdout), 0;
      if ((rc = find(c, NULL, 0, *p, typed, &o))) return rc;
      if (o->kind == CLI_FLAG) {
        *o->to.flag = 1;
        continue;
      }
      if (p[1]) value = p + 1;
      break;
    }
    if (o->kind == CLI_FLAG) return CLI_GO_ON;
  }
  if (o->kind == CLI_FLAG) {
    *o->to.flag = 1;
    return CLI_GO_ON;
  }
  if (!value && *i + 1 < argc) value = argv[++*i];
  if (!value)
    return cli_usage_error(c->name, "%s needs a value (%s)", typed, o->arg ? o->arg : "a value");
  if (o->token) cli_warn_token_argument();
  rc = set_value(c, o, typed, value);
  return rc ? rc : CLI_GO_ON;
}

/* The table entry for --name if this command takes it, else NULL. */
static const struct cli_opt *option(const struct cli_cmd *c, const char *name) {
  for (const struct cli_opt *o = c->opts; o->name; o++)
    if (!strcmp(o->name, name) && takes(c, o)) return o;
  return NULL;
}

/* REPO_ID given as an hf:// URI: the one place every command reads it (as `hf`, the URI then
 * says the type and revision alone). */
static int repo_uri(const struct cli_cmd *c, char **argv) {
  static struct ferry_hub_uri u; /* argv[1] and the option point into it until exit */
  char why[512] = "";
  if (ferry_hub_uri_parse(argv[1], &u, why, sizeof(why)))
    return cli_usage_error(c->name, "%s", why);
  const struct cli_opt *type = option(c, "repo-type"), *rev = option(c, "revision");
  if (type && *type->to.str)
    return cli_usage_error(c->name, "--repo-type cannot be used with an hf:// URI ('%s')", argv[1]);
  if (u.revision[0] && !rev)
    return cli_usage_error(c->name, "%s takes no revision ('@%s' in '%s')", c->name, u.revision,
                           argv[1]);
  if (u.revision[0] && *rev->to.str)
    return cli_usage_error(c->name, "--revision cannot be used with an hf:// URI that names one "
                           "('%s')", argv[1]);
  if (u.path[0] && !c->uri_path)
    return cli_usage_error(c->name, "%s takes no path in the repository ('%s' in '%s')", c->name,
                           u.path, argv[1]);
  if (u.revision[0]) *rev->to.str = u.revision;
  if (u.path[0]) *c->uri_path = u.path;
  argv[1] = u.repo_id;
  return CLI_GO_ON;
}

int cli_parse(const struct cli_cmd *c, int argc, char **argv, int *nargs) {
  int n = 0, options_end = 0;
  for (int i = 1; i < argc; i++) {
    char *a = argv[i];
    if (options_end || a[0] != '-' || !a[1]) { /* "-" is an argument: stdin */
      argv[1 + n++] = a; /* never ahead of i: the arguments keep their order */
      continue;
    }
    if (!strcmp(a, "--")) {
      options_end = 1;
      continue;
    }
    int rc = take_option(c, argc, argv, &i);
    if (rc != CLI_GO_ON) return rc;
  }
  *nargs = n;
  if (n < c->min_args)
    return cli_usage_error(c->name, "%s needs %s", c->name, c->args);
  if (c->max_args >= 0 && n > c->max_args)
    return cli_usage_error(c->name, "%s: unexpected argument '%s'%s%s", c->name,
                           argv[1 + c->max_args], c->args[0] ? ": it takes " : "",
                           c->args[0] ? c->args : ": it takes none");
  const char *args = c->args[0] == '[' ? c->args + 1 : c->args; /* an optional REPO_ID too */
  if (n >= 1 && !strncmp(args, "REPO_ID", 7) && ferry_hub_uri_is(argv[1]))
    return repo_uri(c, argv);
  return CLI_GO_ON;
}

/* "  -o, --output PATH" then the help's lines, in two columns. */
static void help_line(FILE *f, char letter, const char *name, const char *arg, const char *help) {
  char spec[64];
  snprintf(spec, sizeof(spec), "%c%c%c --%s%s%s", letter ? '-' : ' ', letter ? letter : ' ',
           letter ? ',' : ' ', name, arg ? " " : "", arg ? arg : "");
  int width = 24;
  fprintf(f, "  %-*s", width, spec);
  if ((int)strlen(spec) >= width) fprintf(f, "\n  %-*s", width, "");
  for (const char *line = help; line;) {
    const char *nl = strchr(line, '\n');
    fprintf(f, " %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
    line = nl ? nl + 1 : NULL;
    if (line) fprintf(f, "  %-*s", width, "");
  }
}

void cli_help(const struct cli_cmd *c, FILE *f) {
  fprintf(f, "usage: ferry %s%s%s [options]\n", c->name, c->args[0] ? " " : "", c->args);
  if (c->about) fprintf(f, "\n%s\n", c->about);
  fprintf(f, "\noptions:\n");
  for (const struct cli_opt *o = c->opts; o->name; o++)
    if (takes(c, o)) help_line(f, o->letter, o->name, o->kind == CLI_FLAG ? NULL : o->arg, o->help);
  help_line(f, 'h', "help", NULL, "this help");
}
