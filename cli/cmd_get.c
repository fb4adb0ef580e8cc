/* ferry get: download one URL (or a list with -i) through one engine. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "cli.h"

#define MAX_HEADERS 64

struct entry {
  char *url, *shown, *path, *sha; /* shown: the URL without its secrets, for every output */
  struct ferry_job *job;
};

/* The URL's last path segment, percent-decoded, as a safe file name in the current folder. */
static char *name_from_url(const char *url) {
  CURLU *u = curl_url();
  char *path = NULL, *name = NULL;
  if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) == CURLUE_OK) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (*base && strcmp(base, ".") && strcmp(base, "..") && !strchr(base, '/'))
      name = strdup(base);
  }
  curl_free(path);
  curl_url_cleanup(u);
  return name;
}

static int is_sha256(const char *s) {
  if (strlen(s) != 64) return 0;
  for (int i = 0; i < 64; i++)
    if (!isxdigit((unsigned char)s[i])) return 0;
  return 1;
}

/* A folder as the output would be found only at the final rename, after the whole transfer
 * (curl and wget refuse it too): refused before any request. A trailing '/' names a folder
 * even when it does not exist yet. */
static int names_a_folder(const char *path) {
  struct stat st;
  size_t len = strlen(path);
  return (len && path[len - 1] == '/') || (stat(path, &st) == 0 && S_ISDIR(st.st_mode));
}

static int add_entry(struct entry **list, int *n, int *cap, const char *url, const char *path,
                     const char *sha, const char *list_file, int lineno) {
  if (*n == *cap) {
    int c = *cap ? *cap * 2 : 8;
    struct entry *l = realloc(*list, (size_t)c * sizeof(*l));
    if (!l) {
      fprintf(stderr, "ferry: out of memory\n");
      return -1;
    }
    *list = l, *cap = c;
  }
  struct entry *e = &(*list)[(*n)++];
  memset(e, 0, sizeof(*e));
  e->url = strdup(url);
  e->shown = ferry_redact_url(url);
  e->path = path ? strdup(path) : name_from_url(url);
  e->sha = sha ? strdup(sha) : NULL;
  if (!e->url || !e->shown || (sha && !e->sha) || (path && !e->path)) {
    fprintf(stderr, "ferry: out of memory\n");
    return -1;
  }
  if (!e->path) {
    fprintf(stderr, "ferry: cannot derive a file name from %s: use -o PATH\n", e->shown);
    return -2;
  }
  if (names_a_folder(e->path)) {
    if (list_file)
      fprintf(stderr, "ferry: error: %s:%d: %s is a directory; write PATH/NAME\n", list_file,
              lineno, e->path);
    else
      fprintf(stderr, "ferry: error: %s is a directory; use -o %s%sNAME (see 'ferry get --help')\n",
              e->path, e->path, e->path[strlen(e->path) - 1] == '/' ? "" : "/");
    return -2;
  }
  if (sha && !is_sha256(sha)) {
    fprintf(stderr, "ferry: not a SHA-256 (64 hex digits): %s\n", sha);
    return -2;
  }
  return 0;
}

static int read_input_file(const char *file, struct entry **list, int *n, int *cap) {
  FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
  if (!f) {
    fprintf(stderr, "ferry: cannot open %s\n", file);
    return -2;
  }
  char line[8192];
  int lineno = 0, rc = 0;
  while (rc == 0 && fgets(line, sizeof(line), f)) {
    lineno++;
    char *fields[4] = {0};
    int nf = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok && nf < 4; tok = strtok(NULL, " \t\r\n"))
      fields[nf++] = tok;
    if (nf == 0 || fields[0][0] == '#') continue;
    if (nf > 3) {
      fprintf(stderr, "ferry: %s:%d: expected URL [PATH [SHA256]]\n", file, lineno);
      rc = -2;
      break;
    }
    rc = add_entry(list, n, cap, fields[0], fields[1], fields[2], file, lineno);
  }
  if (f != stdin) fclose(f);
  return rc;
}

static void print_json(struct entry *list, int n, const struct ferry_stats *s, int first_err) {
  json_t *files = json_array();
  const char *first_msg = "";
  long first_status = 0;
  for (int i = 0; i < n; i++) {
    struct ferry_job_result r;
    ferry_job_result(list[i].job, &r);
    if (r.error && !first_msg[0] && r.error == first_err) {
      static char keep[512];
      snprintf(keep, sizeof(keep), "%s", r.message);
      first_msg = keep;
      first_status = r.http_status;
    }
    json_array_append_new(
        files, json_pack("{s:s, s:s, s:I, s:s, s:b, s:b, s:I, s:o}", "url", list[i].shown, "path",
                         list[i].path, "size", (json_int_t)r.size, "sha256", r.sha256_hex,
                         "verified", r.verified, "ok", r.error == 0, "bytes_resumed",
                         (json_int_t)r.bytes_resumed, "error",
                         cli_json_error(r.error, r.message, r.http_status)));
  }
  double secs = s->seconds > 0 ? s->seconds : 1e-9;
  uint64_t moved = s->bytes_done - s->bytes_resumed;
  json_t *o = json_pack(
      "{s:b, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:I, s:i, s:I, s:I, s:I, s:f, s:I, s:o, s:o}", "ok",
      first_err == 0, "bytes", (json_int_t)s->bytes_total, "bytes_received",
      (json_int_t)s->bytes_received, "bytes_refetched", (json_int_t)s->bytes_refetched,
      "resumed_bytes", (json_int_t)s->bytes_resumed, "bytes_read_back",
      (json_int_t)s->bytes_read_back, "seconds", s->seconds, "mb_per_s",
      (double)moved / secs / 1e6, "connections", (json_int_t)s->connections_opened,
      "max_connections", s->connections_peak, "requests", (json_int_t)s->requests, "retries",
      (json_int_t)s->retries, "peak_memory", (json_int_t)s->memory_peak,
      "held_back_seconds", s->held_back_seconds, "peak_rss",
      cli_peak_rss(), "files", files, "error",
      cli_json_error(first_err, first_msg, first_status));
  if (n == 1) {
    json_object_set(o, "path", json_object_get(json_array_get(files, 0), "path"));
    json_object_set(o, "sha256", json_object_get(json_array_get(files, 0), "sha256"));
  }
  char *text = json_dumps(o, JSON_COMPACT);
  if (text) printf("%s\n", text);
  free(text);
  json_decref(o);
}

static void print_human(struct entry *list, int n, const struct ferry_stats *s) {
  for (int i = 0; i < n; i++) {
    struct ferry_job_result r;
    ferry_job_result(list[i].job, &r);
    if (r.error) continue;
    printf("%s  sha256:%s  %s\n", list[i].path, r.sha256_hex,
           r.verified ? "verified" : "(not checked against an expected hash)");
  }
  char b[32], rate[32];
  uint64_t moved = s->bytes_done - s->bytes_resumed;
  double secs = s->seconds > 0 ? s->seconds : 1e-9;
  fprintf(stderr, "ferry: %d of %d files, %s in %.2f s (%s/s), %llu connections, %llu requests, "
          "%llu retries\n", s->files_done, s->files_total,
          cli_fmt_bytes((double)moved, b, sizeof(b)), s->seconds,
          cli_fmt_bytes((double)moved / secs, rate, sizeof(rate)),
          (unsigned long long)s->connections_opened, (unsigned long long)s->requests,
          (unsigned long long)s->retries);
}

int cli_get(int argc, char **argv) {
  struct ferry_config cfg = {0};
  const char *out = NULL, *sha = NULL, *input = NULL;
  const char *headers[MAX_HEADERS + 1] = {0};
  struct cli_list header_list = {headers, 0, MAX_HEADERS};
  int quiet = 0, json = 0, no_resume = 0, show_version = 0, location_trusted = 0;
  uint64_t size_given = UINT64_MAX; /* not given */
  const struct cli_opt opts[] = {
      CLI_OPT_STR("output", 'o', &out, "PATH",
                  "where to write (default: the URL's last path segment)"),
      CLI_OPT_STR("sha256", 0, &sha, "HEX", "expected SHA-256; a mismatch is an error (exit 5)"),
      CLI_OPT_SIZE("size", &size_given, 0, "N", "expected size in bytes"),
      CLI_OPT_STR("input-file", 'i', &input, "FILE",
                  "many downloads sharing one connection pool;\nlines: URL [PATH [SHA256]]"),
      CLI_OPT_STR("cacert", 0, &cfg.cacert, "FILE",
                  "CA bundle (also SSL_CERT_FILE, CURL_CA_BUNDLE)"),
      CLI_OPT_FLAG("insecure", 0, &cfg.insecure, "do not verify TLS certificates"),
      CLI_OPT_INT("connections", &cfg.connections, 1, 256, "N",
                  "TCP connections per host (default 8, or as saved:\nferry env)"),
      CLI_OPT_INT("streams", &cfg.streams, 1, 256, "N",
                  "HTTP/2 streams per connection (default 2, or as saved)"),
      CLI_OPT_SIZE("chunk-size", &cfg.chunk_size, 65536, "SIZE",
                   "size of each ranged request (default: planned)"),
      CLI_OPT_SIZE("max-memory", &cfg.max_memory, 4 << 20, "SIZE", "buffer budget (default 32M)"),
      CLI_OPT_SIZE("limit-rate", &cfg.limit_rate, 1, "RATE",
                   "total bandwidth cap in bytes/s (e.g. 50M)"),
      CLI_OPT_LIST("header", &header_list, "'K: V'",
                   "extra request header (repeatable), sent only to the URL's\nown origin, never "
                   "after a redirect to another one"),
      CLI_OPT_FLAG("location-trusted", 0, &location_trusted,
                   "send the --header values to the other origins\nredirects lead to too"),
      CLI_OPT_FLAG("http1.1", 0, &cfg.http11, "HTTP/1.1 only"),
      CLI_OPT_FLAG("h2c", 0, &cfg.h2c,
                   "HTTP/2 without TLS (prior knowledge), one request per\nconnection (libcurl "
                   "7.88 cannot reuse h2c connections)"),
      CLI_OPT_FLAG("no-resume", 0, &no_resume, "ignore an existing journal and start over"),
      CLI_OPT_INT("retries", &cfg.max_retries, 0, 1000, "N",
                  "attempts per range after errors (default 10)"),
      CLI_OPT_INT("stall-timeout", &cfg.stall_seconds, 1, 3600, "S",
                  "re-issue a request that receives nothing for S s (20)"),
      CLI_OPT_FLAG("no-direct-io", 0, &cfg.no_direct_io,
                   "write through the page cache even where O_DIRECT works"),
      CLI_OPT_FLAG("quiet", 'q', &quiet, "print nothing on stdout, no progress bar"),
      CLI_OPT_FLAG("json", 0, &json, "print one JSON summary object on stdout"),
      CLI_OPT_VERBOSE(&cfg.verbose),
      CLI_OPT_FLAG("version", 0, &show_version, "versions of ferry and its libraries"),
      CLI_OPT_END};
  const struct cli_cmd cmd = {
      "get", "URL | -i FILE",
      "Downloads URL in parallel ranged requests, hashed with SHA-256 as it arrives;\n"
      "resumable after a crash. With -i FILE, one download per line: URL [PATH [SHA256]].",
      opts, 0, -1, NULL};
  int nargs;
  int rc = cli_parse(&cmd, argc, argv, &nargs);
  if (rc != CLI_GO_ON) return rc;
  if (show_version) {
    printf("%s\n", ferry_version_string());
    return 0;
  }
  if (sha && !is_sha256(sha))
    return cli_usage_error("get", "--sha256 takes 64 hex digits, not '%s'", sha);
  for (int i = 0; i < (int)header_list.n; i++)
    if (!strchr(headers[i], ':'))
      return cli_usage_error("get", "--header takes 'Name: value', not '%s'", headers[i]);
  int64_t size = size_given == UINT64_MAX ? -1 : (int64_t)size_given;
  cfg.cacert = cli_cacert(cfg.cacert, 0);
  if ((rc = cli_settings_defaults(&cfg)) != 0) return rc; /* a flag wins */
  if (input && (nargs || out || sha))
    return cli_usage_error("get", "-i takes no URL, -o or --sha256 of its own");
  if (!input && nargs != 1)
    return cli_usage_error("get", "get needs exactly one URL, not %d", nargs);
  struct entry *list = NULL;
  int n = 0, cap = 0;
  rc = input ? read_input_file(input, &list, &n, &cap)
             : add_entry(&list, &n, &cap, argv[1], out, sha, NULL, 0);
  if (rc == 0 && n == 0) {
    fprintf(stderr, "ferry: %s lists no downloads\n", input);
    rc = -2;
  }
  struct cli_progress progress;
  cli_progress_init(&progress, quiet);
  cfg.log_cb = cli_log;
  cfg.log_user = &progress;
  progress.quiet = quiet;
  cfg.stop = cli_stop_on_signals();
  cfg.progress_cb = cli_progress_draw;
  cfg.progress_user = &progress;
  struct ferry_engine *eng = NULL;
  int err = 0;
  if (rc == 0) {
    err = ferry_engine_new(&cfg, &eng);
    if (err) fprintf(stderr, "ferry: cannot start the engine: %s\n", ferry_strerror(err));
  }
  for (int i = 0; rc == 0 && !err && i < n; i++) {
    struct ferry_job_spec spec = {.url = list[i].url, .path = list[i].path,
                                  .sha256_hex = list[i].sha, .size = input ? -1 : size,
                                  .headers = headers, .location_trusted = location_trusted,
                                  .no_resume = no_resume, .make_parents = 1};
    err = ferry_engine_add(eng, &spec, &list[i].job);
    if (err) fprintf(stderr, "ferry: %s: %s\n", list[i].shown, ferry_strerror(err));
  }
  int exit_code;
  if (rc != 0) {
    exit_code = rc == -1 ? FERRY_EXIT_OTHER : FERRY_EXIT_USAGE;
  } else if (err) {
    exit_code = ferry_exit_class(err);
  } else {
    err = ferry_engine_run(eng);
    cli_progress_end(&progress);
    struct ferry_stats st;
    ferry_engine_stats(eng, &st);
    for (int i = 0; i < n; i++) {
      struct ferry_job_result r;
      ferry_job_result(list[i].job, &r);
      if (r.error) fprintf(stderr, "ferry: error: %s\n", r.message[0] ? r.message : ferry_strerror(r.error));
    }
    if (json) print_json(list, n, &st, err);
    else if (!quiet) print_human(list, n, &st);
    exit_code = ferry_exit_class(err);
  }
  ferry_engine_free(eng);
  for (int i = 0; i < n; i++)
    free(list[i].url), free(list[i].shown), free(list[i].path), free(list[i].sha);
  free(list);
  return exit_code;
}
