/* groups: `ferry <command>` and `ferry <group> <command>` (auth, cache, card, repo, branch,
 * tag): finding the subcommand, and the group's help listing them. */
#include <string.h>

#include "cli.h"

static void group_help(const char *group, const struct cli_sub *subs, FILE *f) {
  fprintf(f, "usage: ferry %s%s<command> [options]\n\ncommands:\n", group, group[0] ? " " : "");
  for (const struct cli_sub *s = subs; s->name; s++)
    fprintf(f, "  %-10s %s\n", s->name, s->summary);
  fprintf(f, "\n'ferry %s%s<command> --help' shows a command's arguments and options.\n", group,
          group[0] ? " " : "");
}

int cli_group(const char *group, const struct cli_sub *subs, int argc, char **argv) {
  const char *sub = argc >= 2 ? argv[1] : NULL;
  if (sub && (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help"))) {
    group_help(group, subs, stdout);
    return 0;
  }
  for (const struct cli_sub *s = subs; sub && s->name; s++)
    if (!strcmp(sub, s->name) || (s->alias && !strcmp(sub, s->alias)))
      return s->run(argc - 1, argv + 1);
  char names[256] = "";
  size_t used = 0;
  for (const struct cli_sub *s = subs; s->name && used < sizeof(names); s++)
    used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
                             s == subs ? "" : s[1].name ? ", " : " or ", s->name);
  const char *who = group[0] ? group : "ferry";
  if (!sub) return cli_usage_error(group, "%s needs a command: %s", who, names);
  return cli_usage_error(group, "%s: unknown command '%s' (one of %s)", who, sub, names);
}
