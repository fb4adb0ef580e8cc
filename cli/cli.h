/* cli.h: what the files of the ferry command share. */
#ifndef FERRY_CLI_H
#define FERRY_CLI_H

#include <stdint.h>

#include <jansson.h>

#include "ferry.h"

int cli_get(int argc, char **argv);
int cli_download(int argc, char **argv);
int cli_cache(int argc, char **argv);
int cli_upload(int argc, char **argv);
/* auth and env (issue 6) */
int cli_auth(int argc, char **argv);
int cli_env(int argc, char **argv);
int cli_card(int argc, char **argv); /* cmd_card.c */

/* --token on the command line: a warning that other users can read it (process list). */
void cli_warn_token_argument(void);

/* The "error" value of --json: null for 0, else {code (the exit code), name, message (the
 * error's own text when `message` is empty)} plus http_status when it is >= 0. */
json_t *cli_json_error(int err, const char *message, long http_status);
/* A JSON string even from bytes that are not UTF-8 (they become '?'); NULL gives null. */
json_t *cli_json_str(const char *s);

/* "64M", "1.5G", "100k", "4096": KiB-based suffixes (K, M, G, T; optional "iB" or "B").
 * Returns 0 or -1 when malformed. */
int cli_parse_size(const char *s, uint64_t *out);

/* --cacert, else SSL_CERT_FILE, CURL_CA_BUNDLE and (for the Hub commands, as Python's
 * requests) REQUESTS_CA_BUNDLE; NULL for the system default. Empty values count as unset. */
const char *cli_cacert(const char *given, int with_requests);

/* Human-readable bytes ("1.07 GB") and durations ("1:02:03") into buf. */
const char *cli_fmt_bytes(double bytes, char *buf, int cap);
const char *cli_fmt_duration(double seconds, char *buf, int cap);

/* Progress bar on stderr (only when stderr is a terminal). */
struct cli_progress {
  int enabled;
  int drawn;
  int quiet;
};
/* The engine's messages on stderr ("ferry: ..."), clearing the progress line first;
 * notices are dropped with -q, debug lines appear only with -v. */
void cli_log(void *user, int level, const char *message);
void cli_progress_init(struct cli_progress *p, int quiet);
/* HF_HUB_DISABLE_PROGRESS_BARS is true (as huggingface_hub reads it). */
int cli_progress_bars_off(void);
void cli_progress_draw(void *user, const struct ferry_stats *s);
void cli_progress_end(struct cli_progress *p);


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
enum { CLI_OPT_TOKEN = 5000, CLI_OPT_REPO_TYPE, CLI_OPT_CACERT, CLI_OPT_INSECURE, CLI_OPT_JSON,
       CLI_OPT_FIRST_OWN /* a command's own options start here */ };
#define CLI_HUB_OPTIONS                                                                    \
  {"token", required_argument, 0, CLI_OPT_TOKEN},                                          \
      {"cacert", required_argument, 0, CLI_OPT_CACERT},                                    \
      {"insecure", no_argument, 0, CLI_OPT_INSECURE}, {"json", no_argument, 0, CLI_OPT_JSON}, \
      {"quiet", no_argument, 0, 'q'}, {"verbose", no_argument, 0, 'v'},                    \
      {"help", no_argument, 0, 'h'}
#define CLI_HUB_REPO_TYPE_OPTION {"repo-type", required_argument, 0, CLI_OPT_REPO_TYPE}
/* Takes a common option (1), or leaves it to the command (0). */
int cli_hub_opt(struct cli_hub_opts *o, int c, const char *arg);
/* A client from the options; on failure the error is reported (cli_hub_finish) and its exit
 * code returned. */
int cli_hub_client(const struct cli_hub_opts *o, struct ferry_hub_client **out, json_t *obj);
/* Ends a command: the error on stderr ("ferry: error: ..."), with --json the object `obj`
 * (taken; may be NULL) plus "ok" and "error" ({code, name, message} or null) on stdout.
 * Returns the exit code. */
int cli_hub_finish(const struct cli_hub_opts *o, json_t *obj, int err, const char *why);
/* After getopt_long returned '?': "ferry: error: <cmd>: unknown option or missing value: ...";
 * returns the usage exit code. */
int cli_hub_bad_option(int argc, char **argv);
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
