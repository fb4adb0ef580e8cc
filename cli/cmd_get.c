/* ferry get: download one URL (or a list with -i) through one engine. */
#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "cli.h"

#define MAX_HEADERS 64

static void get_usage(FILE *f) {
  fprintf(f,
          "usage: ferry get URL [-o PATH] [options]\n"
          "       ferry get -i FILE [options]   (lines: URL [PATH [SHA256]])\n"
          "\n"
          "  -o, --output PATH      where to write (default: the URL's last path segment)\n"
          "      --sha256 HEX       expected SHA-256; a mismatch is an error (exit 5)\n"
          "      --size N           expected size in bytes\n"
          "  -i, --input-file FILE  many downloads sharing one connection pool\n"
          "      --cacert FILE      CA bundle (also SSL_CERT_FILE, CURL_CA_BUNDLE)\n"
          "      --insecure         do not verify TLS certificates\n"
          "      --connections N    TCP connections per host (default 8)\n"
          "      --streams N        HTTP/2 streams per connection (default 2)\n"
          "      --chunk-size SIZE  largest ranged request (default 8M, lowered to fit memory)\n"
          "      --max-memory SIZE  buffer budget (default 32M)\n"
          "      --limit-rate RATE  total bandwidth cap in bytes/s (e.g. 50M)\n"
          "      --header 'K: V'    extra request header (repeatable); Authorization is\n"
          "                         sent only to the URL's own origin, never after a redirect\n"
          "                         to another one\n"
          "      --http1.1          HTTP/1.1 only\n"
          "      --h2c              HTTP/2 without TLS (prior knowledge), one request per\n"
          "                         connection (libcurl 7.88 cannot reuse h2c connections)\n"
          "      --no-resume        ignore an existing journal and start over\n"
          "      --retries N        attempts per range after errors (default 10)\n"
          "      --stall-timeout S  re-issue a request that receives nothing for S s (20)\n"
          "      --no-direct-io     write through the page cache even where O_DIRECT works\n"
          "  -q, --quiet            print nothing on stdout, no progress bar\n"
          "      --json             print one JSON summary object on stdout\n"
          "  -v, --verbose          debug log on stderr\n");
}

struct entry {
  char *url, *path, *sha;
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

static int add_entry(struct entry **list, int *n, int *cap, const char *url, const char *path,
                     const char *sha) {
  if (*n == *cap) {
    int c = *cap ? *cap * 2 : 8;
    struct entry *l = realloc(*list, (size_t)c * sizeof(*l));
    if (!l) return -1;
    *list = l, *cap = c;
  }
  struct entry *e = &(*list)[(*n)++];
  memset(e, 0, sizeof(*e));
  e->url = strdup(url);
  e->path = path ? strdup(path) : name_from_url(url);
  e->sha = sha ? strdup(sha) : NULL;
  if (!e->url || (sha && !e->sha)) return -1;
  if (!e->path) {
    fprintf(stderr, "ferry: cannot derive a file name from %s: use -o PATH\n", url);
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
    rc = add_entry(list, n, cap, fields[0], fields[1], fields[2]);
  }
  if (f != stdin) fclose(f);
  return rc;
}

static void print_json(struct entry *list, int n, const struct ferry_stats *s, int first_err) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
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
        files, json_pack("{s:s, s:s, s:I, s:s, s:b, s:b, s:I, s:o}", "url", list[i].url, "path",
                         list[i].path, "size", (json_int_t)r.size, "sha256", r.sha256_hex,
                         "verified", r.verified, "ok", r.error == 0, "bytes_resumed",
                         (json_int_t)r.bytes_resumed, "error",
                         cli_json_error(r.error, r.message, r.http_status)));
  }
  double secs = s->seconds > 0 ? s->seconds : 1e-9;
  uint64_t moved = s->bytes_done - s->bytes_resumed;
  json_t *o = json_pack(
      "{s:b, s:I, s:I, s:I, s:I, s:f, s:f, s:I, s:i, s:I, s:I, s:I, s:I, s:o, s:o}", "ok",
      first_err == 0, "bytes", (json_int_t)s->bytes_total, "bytes_received",
      (json_int_t)s->bytes_received, "bytes_refetched", (json_int_t)s->bytes_refetched,
      "resumed_bytes", (json_int_t)s->bytes_resumed, "seconds", s->seconds, "mb_per_s",
      (double)moved / secs / 1e6, "connections", (json_int_t)s->connections_opened,
      "max_connections", s->connections_peak, "requests", (json_int_t)s->requests, "retries",
      (json_int_t)s->retries, "peak_memory", (json_int_t)s->memory_peak, "peak_rss",
      (json_int_t)ru.ru_maxrss * 1024, "files", files, "error",
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

enum {
  OPT_SHA256 = 1000, OPT_SIZE, OPT_CACERT, OPT_INSECURE, OPT_JSON, OPT_CONNECTIONS, OPT_STREAMS,
  OPT_CHUNK, OPT_MAXMEM, OPT_RATE, OPT_HEADER, OPT_HTTP11, OPT_H2C, OPT_NORESUME, OPT_RETRIES,
  OPT_STALL, OPT_VERSION, OPT_NODIRECT
};

static int parse_int(const char *s, int lo, int hi, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < lo || v > hi) return -1;
  *out = (int)v;
  return 0;
}

int cli_get(int argc, char **argv) {
  static const struct option opts[] = {
      {"output", required_argument, 0, 'o'},     {"sha256", required_argument, 0, OPT_SHA256},
      {"size", required_argument, 0, OPT_SIZE},  {"cacert", required_argument, 0, OPT_CACERT},
      {"insecure", no_argument, 0, OPT_INSECURE}, {"quiet", no_argument, 0, 'q'},
      {"json", no_argument, 0, OPT_JSON},        {"input-file", required_argument, 0, 'i'},
      {"connections", required_argument, 0, OPT_CONNECTIONS},
      {"streams", required_argument, 0, OPT_STREAMS},
      {"chunk-size", required_argument, 0, OPT_CHUNK},
      {"max-memory", required_argument, 0, OPT_MAXMEM},
      {"limit-rate", required_argument, 0, OPT_RATE},
      {"header", required_argument, 0, OPT_HEADER}, {"http1.1", no_argument, 0, OPT_HTTP11},
      {"h2c", no_argument, 0, OPT_H2C},          {"no-resume", no_argument, 0, OPT_NORESUME},
      {"retries", required_argument, 0, OPT_RETRIES},
      {"stall-timeout", required_argument, 0, OPT_STALL},
      {"verbose", no_argument, 0, 'v'},          {"version", no_argument, 0, OPT_VERSION},
      {"no-direct-io", no_argument, 0, OPT_NODIRECT},
      {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
  struct ferry_config cfg = {0};
  const char *out = NULL, *sha = NULL, *input = NULL;
  const char *headers[MAX_HEADERS + 1] = {0};
  int nheaders = 0, quiet = 0, json = 0, no_resume = 0;
  int64_t size = -1;
  uint64_t v;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "o:qi:vh", opts, NULL)) != -1) {
    int bad = 0;
    switch (c) {
    case 'o': out = optarg; break;
    case OPT_SHA256: sha = optarg; bad = !is_sha256(optarg); break;
    case OPT_SIZE: bad = cli_parse_size(optarg, &v); size = (int64_t)v; break;
    case OPT_CACERT: cfg.cacert = optarg; break;
    case OPT_INSECURE: cfg.insecure = 1; break;
    case 'q': quiet = 1; break;
    case OPT_JSON: json = 1; break;
    case 'i': input = optarg; break;
    case OPT_CONNECTIONS: bad = parse_int(optarg, 1, 256, &cfg.connections); break;
    case OPT_STREAMS: bad = parse_int(optarg, 1, 256, &cfg.streams); break;
    case OPT_CHUNK: bad = cli_parse_size(optarg, &cfg.chunk_size) || cfg.chunk_size < 65536; break;
    case OPT_MAXMEM: bad = cli_parse_size(optarg, &cfg.max_memory) || cfg.max_memory < (4 << 20); break;
    case OPT_RATE: bad = cli_parse_size(optarg, &cfg.limit_rate) || cfg.limit_rate == 0; break;
    case OPT_HEADER:
      bad = nheaders == MAX_HEADERS || !strchr(optarg, ':');
      if (!bad) headers[nheaders++] = optarg;
      break;
    case OPT_HTTP11: cfg.http11 = 1; break;
    case OPT_H2C: cfg.h2c = 1; break;
    case OPT_NORESUME: no_resume = 1; break;
    case OPT_RETRIES: bad = parse_int(optarg, 0, 1000, &cfg.max_retries); if (!cfg.max_retries) cfg.max_retries = -1; break;
    case OPT_STALL: bad = parse_int(optarg, 1, 3600, &cfg.stall_seconds); break;
    case 'v': cfg.verbose = 1; break;
    case OPT_NODIRECT: cfg.no_direct_io = 1; break;
    case OPT_VERSION: printf("%s\n", ferry_version_string()); return 0;
    case 'h': get_usage(stdout); return 0;
    default: get_usage(stderr); return FERRY_EXIT_USAGE;
    }
    if (bad) {
      fprintf(stderr, "ferry: invalid value for option: %s\n", optarg);
      return FERRY_EXIT_USAGE;
    }
  }
  if (cfg.max_retries < 0) cfg.max_retries = 0;
  cfg.cacert = cli_cacert(cfg.cacert, 0);
  int nargs = argc - optind;
  if ((input && (nargs || out || sha)) || (!input && nargs != 1)) {
    fprintf(stderr, input ? "ferry: -i takes no URL, -o or --sha256 of its own\n"
                          : "ferry: get needs exactly one URL\n");
    get_usage(stderr);
    return FERRY_EXIT_USAGE;
  }
  struct entry *list = NULL;
  int n = 0, cap = 0, rc = 0;
  rc = input ? read_input_file(input, &list, &n, &cap)
             : add_entry(&list, &n, &cap, argv[optind], out, sha);
  if (rc == 0 && n == 0) {
    fprintf(stderr, "ferry: %s lists no downloads\n", input);
    rc = -2;
  }
  struct cli_progress progress;
  cli_progress_init(&progress, quiet);
  cfg.log_cb = cli_log;
  cfg.log_user = &progress;
  progress.quiet = quiet;
  cfg.handle_signals = 1;
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
                                  .headers = headers, .no_resume = no_resume};
    err = ferry_engine_add(eng, &spec, &list[i].job);
    if (err) fprintf(stderr, "ferry: %s: %s\n", list[i].url, ferry_strerror(err));
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
  for (int i = 0; i < n; i++) free(list[i].url), free(list[i].path), free(list[i].sha);
  free(list);
  return exit_code;
}
