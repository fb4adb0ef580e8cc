/* cli.h: what the files of the ferry command share. */
#ifndef FERRY_CLI_H
#define FERRY_CLI_H

#include <stdint.h>

#include "ferry.h"

int cli_get(int argc, char **argv);
int cli_download(int argc, char **argv);
int cli_cache(int argc, char **argv);
int cli_upload(int argc, char **argv);
/* auth and env (issue 6) */
int cli_auth(int argc, char **argv);
int cli_env(int argc, char **argv);
int cli_card(int argc, char **argv); /* cmd_card.c */

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
void cli_progress_draw(void *user, const struct ferry_stats *s);
void cli_progress_end(struct cli_progress *p);

#endif
