/* cli.h: what the files of the ferry command share. */
#ifndef FERRY_CLI_H
#define FERRY_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "ferry.h"

int cli_get(int argc, char **argv);
int cli_download(int argc, char **argv);
int cli_cache(int argc, char **argv);
int cli_upload(int argc, char **argv);
int cli_upload_large_folder(int argc, char **argv); /* hf's name for an upload of a folder */
int cli_repo_delete_files(int argc, char **argv);   /* ferry repo delete-files */
int cli_repo_files(int argc, char **argv);          /* ferry repo-files delete (hf's old name) */
/* auth and env (issue 6) */
int cli_auth(int argc, char **argv);
int cli_env(int argc, char **argv);
int cli_card(int argc, char **argv); /* cmd_card.c */
int cli_bench(int argc, char **argv); /* cmd_bench.c */

/* settings.c: the saved transfer settings ($HF_HOME/ferry/config.json). The defaults of get
 * and download: the file's "download" values into cfg where no flag set them; 0, or the exit
 * code after one line on stderr naming the file. */
int cli_settings_defaults(struct ferry_config *cfg);
/* The same for upload: the "upload" object's connections (parts at once) where no flag. */
int cli_settings_upload_defaults(struct ferry_config *cfg);
/* What `ferry env` shows of them: --json's "settings" object, and the text lines. */
json_t *cli_settings_json(const struct ferry_settings *s, int err, const char *why);
void cli_settings_print(const struct ferry_settings *s, int err, const char *why);

/* --token on the command line: a warning that other users can read it (process list). */
void cli_warn_token_argument(void);

/* The "error" value of --json: null for 0, else {code (the exit code), name, message (the
 * error's own text when `message` is empty)} plus http_status when it is >= 0. */
json_t *cli_json_error(int err, const char *message, long http_status);
/* The "peak_rss" of --json: the most memory this process has had resident, in bytes. */
json_int_t cli_peak_rss(void);
/* A JSON string even from bytes that are not UTF-8 (they become '?'); NULL gives null. */
json_t *cli_json_str(const char *s);

/* "64M", "1.5G", "100k", "4096": KiB-based suffixes (K, M, G, T; optional "iB" or "B").
 * Returns 0 or -1 when malformed. */
int cli_parse_size(const char *s, uint64_t *out);
/* A size as written on the command line (cli_parse_size reads it back): "4M", not 4194304. */
const char *cli_size_text(long long v, char *buf, size_t cap);

/* --cacert, else SSL_CERT_FILE, CURL_CA_BUNDLE and (for the Hub commands, as Python's
 * requests) REQUESTS_CA_BUNDLE; NULL for the system default. Empty values count as unset. */
const char *cli_cacert(const char *given, int with_requests);

/* Human-readable bytes ("1.07 GB") and durations ("1:02:03") into buf. */
const char *cli_fmt_bytes(double bytes, char *buf, int cap);
/* "3 days ago" for a unix time (as hf shows ages), "-" when unknown. */
const char *cli_fmt_age(double t, char *buf, size_t cap);

/* cache_select.c: one entry of `ferry cache ls` (a repo, or with --revisions a revision). */
struct ferry_cache_info;
struct cli_cache_entry {
  size_t repo, rev;
  int has_rev;
  size_t order; /* in the scan, for a stable sort */
};
/* The entries that pass every filter (hf cache ls's KEY OP VALUE), sorted by `sort` (NULL:
 * the scan's order), at most `limit` (-1: all). 0, or -1 with a usage message in why. */
int cli_cache_select(const struct ferry_cache_info *info, int revisions,
                     const char *const *filters, size_t n_filters, const char *sort, long limit,
                     struct cli_cache_entry **out, size_t *n, char *why, size_t why_len);
const char *cli_fmt_duration(double seconds, char *buf, int cap);

/* Progress bar on stderr (only when stderr is a terminal). */
struct cli_progress {
  int enabled;
  int drawn;
  int quiet;
  int columns; /* the terminal's width, 0 until read */
};
/* The engine's messages on stderr ("ferry: ..."), clearing the progress line first;
 * notices are dropped with -q, debug lines appear only with -v. */
/* SIGINT and SIGTERM from now on request the stop returned (stop.c), for ferry_config.stop;
 * NULL when it cannot be made. */
struct ferry_stop *cli_stop_on_signals(void);
void cli_log(void *user, int level, const char *message);
void cli_progress_init(struct cli_progress *p, int quiet);
/* HF_HUB_DISABLE_PROGRESS_BARS is true (as huggingface_hub reads it). */
int cli_progress_bars_off(void);
void cli_progress_draw(void *user, const struct ferry_stats *s);
void cli_progress_end(struct cli_progress *p);


/* ---- options (options.c): the one way every command reads its command line -------------- */

/* What an option takes: nothing, a string, an integer in [min, max], a size with units
 * (cli_parse_size) in [min, max], a repeatable string, or one of a list of words. */
enum cli_kind { CLI_FLAG, CLI_STRING, CLI_INT, CLI_SIZE, CLI_LIST, CLI_ENUM };

/* The values of a repeatable option, in the caller's array v of cap entries. */
struct cli_list {
  const char **v;
  size_t n, cap;
};

/* One option of a command's table; a table ends with an entry whose name is NULL. */
struct cli_opt {
  const char *name; /* the long name, without "--" */
  char letter;      /* the short form (-q), 0 when none */
  enum cli_kind kind;
  union {
    int *flag; /* CLI_FLAG: set to 1 */
    const char **str; /* CLI_STRING; CLI_ENUM: the matching entry of words */
    int *num;
    uint64_t *size;
    struct cli_list *list;
  } to;
  long long min, max;       /* CLI_INT, CLI_SIZE */
  const char *const *words; /* CLI_ENUM, NULL-terminated */
  const char *arg;          /* the value's name in the help: "N", "DIR" */
  const char *help;         /* what it does; '\n' starts another line */
  const char *only; /* " login whoami ": the subcommands that take it (last word, or the whole
                     * name with '-': " tag-create "); NULL: all of them */
  int token;                /* a secret on the command line: warn (cli_warn_token_argument) */
};

#define CLI_SIZE_MAX 9200000000000000000LL /* what cli_parse_size accepts */
/* Table entries; extra designated initializers (.only = " ls ") may follow the help. */
#define CLI_OPT_FLAG(n, l, dest, h, ...) \
  {.name = n, .letter = l, .kind = CLI_FLAG, .to.flag = dest, .help = h, __VA_ARGS__}
#define CLI_OPT_STR(n, l, dest, a, h, ...) \
  {.name = n, .letter = l, .kind = CLI_STRING, .to.str = dest, .arg = a, .help = h, __VA_ARGS__}
#define CLI_OPT_INT(n, dest, lo, hi, a, h, ...)                                                \
  {.name = n, .kind = CLI_INT, .to.num = dest, .min = lo, .max = hi, .arg = a, .help = h,   \
   __VA_ARGS__}
#define CLI_OPT_SIZE(n, dest, lo, a, h, ...)                                                   \
  {.name = n, .kind = CLI_SIZE, .to.size = dest, .min = lo, .max = CLI_SIZE_MAX, .arg = a,  \
   .help = h, __VA_ARGS__}
#define CLI_OPT_LIST(n, dest, a, h, ...) \
  {.name = n, .kind = CLI_LIST, .to.list = dest, .arg = a, .help = h, __VA_ARGS__}
#define CLI_OPT_ENUM(n, dest, w, a, h, ...) \
  {.name = n, .kind = CLI_ENUM, .to.str = dest, .words = w, .arg = a, .help = h, __VA_ARGS__}
#define CLI_OPT_END {.name = NULL}
/* The options many commands share, with one wording. */
#define CLI_OPT_JSON(dest, ...) \
  CLI_OPT_FLAG("json", 0, dest, "print one JSON object (keys in README.md)", __VA_ARGS__)
#define CLI_OPT_VERBOSE(dest, ...) \
  CLI_OPT_FLAG("verbose", 'v', dest, "debug log on stderr", __VA_ARGS__)
#define CLI_OPT_CACERT(dest, ...)                                                             \
  CLI_OPT_STR("cacert", 0, dest, "FILE",                                                    \
              "CA bundle (default SSL_CERT_FILE, CURL_CA_BUNDLE,\nREQUESTS_CA_BUNDLE)",       \
              __VA_ARGS__)
#define CLI_OPT_TOKEN(dest, ...)                                                              \
  CLI_OPT_STR("token", 0, dest, "TOKEN",                                                    \
              "Hub token (default HF_TOKEN, then the token file);\nvisible to other users in " \
              "the process list",                                                          \
              .token = 1, __VA_ARGS__)
#define CLI_OPT_REPO_TYPE(dest, ...)                                                          \
  CLI_OPT_STR("repo-type", 0, dest, "TYPE",                                                 \
              "model (default), dataset or space (or a datasets/ or\nspaces/ prefix on "     \
              "REPO_ID)",                                                                  \
              __VA_ARGS__)

/* A command: its name after "ferry" ("download", "auth login"), its arguments' synopsis,
 * what it does (for the help), its options and how many arguments it takes (max -1: any). */
struct cli_cmd {
  const char *name, *args, *about;
  const struct cli_opt *opts;
  int min_args, max_args;
  const char **uri_path; /* where the PATH of an hf:// REPO_ID goes (NULL: not taken) */
};

#define CLI_GO_ON (-1)
/* Fills the options from argv[1..] (options and arguments in any order, "--" ends the
 * options, --name=value or --name value, -abc, -oVALUE). When the arguments start with
 * REPO_ID, an hf:// URI there (ferry_hub_uri_parse) becomes the plain REPO_ID in argv[1], its
 * revision the --revision value and its path *cmd->uri_path; --repo-type or --revision given
 * too, or a part the command does not take, is a usage error. Returns CLI_GO_ON with the
 * arguments moved to argv[1..*nargs], 0 after printing the help (-h, --help), or the usage
 * exit code after one line on stderr naming the option and the problem. */
int cli_parse(const struct cli_cmd *cmd, int argc, char **argv, int *nargs);
/* The command's help, from its table. */
void cli_help(const struct cli_cmd *cmd, FILE *f);
/* "ferry: error: <message> (see 'ferry <cmd> --help')" on stderr; returns the usage exit code. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A command group (auth, cache, ...; "" for ferry itself): its subcommands and what each does. */
struct cli_sub {
  const char *name, *alias;
  int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
  const char *summary;
};
/* Runs the subcommand argv[1] of `group`; --help lists them; anything else is a usage error. */
int cli_group(const char *group, const struct cli_sub *subs, int argc, char **argv);

/* ---- Hub management commands (hubcmd.c; cmd_repo.c, cmd_refs.c, cmd_ls.c, cmd_search.c) -- */

int cli_repo(int argc, char **argv);   /* ferry repo create|delete|settings|move */
int cli_branch(int argc, char **argv); /* ferry branch create|delete */
int cli_tag(int argc, char **argv);    /* ferry tag create|delete|list */
int cli_ls(int argc, char **argv);     /* ferry ls */
int cli_info(int argc, char **argv);   /* ferry info */
int cli_search(int argc, char **argv); /* ferry search models|datasets|spaces */

/* Options every Hub command has: --token, --repo-type, --cacert, --insecure, --json, -q, -v. */
struct cli_hub_opts {
  const char *token, *repo_type, *cacert;
  int insecure, json, quiet, verbose;
};
/* Their table entries, filling struct cli_hub_opts *h; quiet_help says what -q leaves. */
#define CLI_HUB_OPTIONS(h, quiet_help)                                                      \
  CLI_OPT_TOKEN(&(h)->token), CLI_OPT_CACERT(&(h)->cacert),                                \
      CLI_OPT_FLAG("insecure", 0, &(h)->insecure, "do not verify TLS certificates"),       \
      CLI_OPT_JSON(&(h)->json), CLI_OPT_FLAG("quiet", 'q', &(h)->quiet, quiet_help),      \
      CLI_OPT_VERBOSE(&(h)->verbose)
#define CLI_HUB_REPO_TYPE(h) CLI_OPT_REPO_TYPE(&(h)->repo_type)
/* A client from the options; on failure the error is reported (cli_hub_finish) and its exit
 * code returned. */
int cli_hub_client(const struct cli_hub_opts *o, struct ferry_hub_client **out, json_t *obj);
/* Ends a command: the error on stderr ("ferry: error: ..."), with --json the object `obj`
 * (taken; may be NULL) plus "ok" and "error" ({code, name, message} or null) on stdout.
 * Returns the exit code. */
int cli_hub_finish(const struct cli_hub_opts *o, json_t *obj, int err, const char *why);
/* The same with the HTTP status behind the error in "error" (-1: none). */
int cli_hub_finish_status(const struct cli_hub_opts *o, json_t *obj, int err, const char *why,
                          long http_status);
/* {"repo_id", "repo_type"}: the repo as the engine reads REPO_ID (prefix moved to the type),
 * or as given when it does not parse. */
json_t *cli_hub_repo_object(const char *repo_id, const char *repo_type);
/* Asks `question` on the terminal unless yes: 0 to go on, else the exit code (2 when stdin is
 * not a terminal: "refusing to <action> ...", 1 when the answer was not yes); obj is taken
 * only then. */
int cli_hub_confirm(const struct cli_hub_opts *o, int yes, const char *action,
                    const char *question, json_t *obj);
/* ---- end of Hub management commands ------------------------------------------------------ */

#endif
