/* settings: ferry's configuration file, $HF_HOME/ferry/config.json (ferry.h): the transfer
 * settings `ferry bench --sweep --save` stores and get and download start from (and upload's
 * parts at once, `ferry bench --upload --sweep --save`). Read
 * strictly (a value ferry would misread is an error naming the file and the key), written
 * whole through a temporary file and a rename (files.c), never with a secret in it. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/files.h"
#include "hub.h"

#define SETTINGS_MAX (64u << 10) /* a config file is a few hundred bytes */

static int default_path(char *buf, size_t cap, char *why, size_t why_len) {
  struct ferry__hub_env env = ferry__hub_env_process();
  char *home = NULL;
  int err = ferry__hub_home(&env, &home);
  if (!err && snprintf(buf, cap, "%s/ferry/config.json", home) >= (int)cap)
    err = ferry__hub_why(FERRY_E_INVAL, why, why_len, "HF_HOME is too long");
  free(home);
  return err;
}

/* One of connections, streams (1..256) or chunk_size (64 KiB and more) of an object. */
static int read_section(json_t *root, const char *name, struct ferry_transfer_settings *t,
                        const char *path, char *why, size_t why_len) {
  json_t *o = json_object_get(root, name);
  if (!o) return 0;
  if (!json_is_object(o))
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "%s: \"%s\" is not an object (fix or "
                          "remove the file; ferry bench --sweep --save writes it)", path, name);
  const char *keys[3] = {"connections", "streams", "chunk_size"};
  for (int i = 0; i < 3; i++) {
    json_t *v = json_object_get(o, keys[i]);
    if (!v) continue;
    json_int_t x = json_is_integer(v) ? json_integer_value(v) : -1;
    int ok = i < 2 ? x >= 1 && x <= 256 : x >= (64 << 10) && x <= ((json_int_t)1 << 40);
    if (!ok)
      return ferry__hub_why(FERRY_E_INVAL, why, why_len, "%s: \"%s\".\"%s\" is not %s (fix or "
                            "remove the file; ferry bench --sweep --save writes it)", path, name,
                            keys[i], i < 2 ? "an integer from 1 to 256"
                                           : "a size in bytes of at least 65536");
    if (i == 0) t->connections = (int)x;
    else if (i == 1) t->streams = (int)x;
    else t->chunk_size = (uint64_t)x;
  }
  return 0;
}

static void read_text(json_t *root, const char *key, char *dst, size_t cap) {
  const char *s = json_string_value(json_object_get(root, key));
  if (s) snprintf(dst, cap, "%s", s);
}

int ferry_settings_load(struct ferry_settings *out, char *why, size_t why_len) {
  memset(out, 0, sizeof(*out));
  int err = default_path(out->path, sizeof(out->path), why, why_len);
  if (err) return err;
  char *text = NULL;
  size_t len = 0;
  err = ferry__read_small(out->path, SETTINGS_MAX, &text, &len, &out->found);
  if (err == FERRY_E_PROTOCOL)
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "%s: larger than a configuration file "
                          "can be (%u KiB)", out->path, SETTINGS_MAX >> 10);
  if (err) return ferry__hub_why(err, why, why_len, "cannot read %s", out->path);
  if (!out->found) return 0;
  json_error_t je;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  free(text);
  if (!json_is_object(root)) {
    json_decref(root);
    return ferry__hub_why(FERRY_E_INVAL, why, why_len, "%s: not a JSON object (line %d: %s); "
                          "fix or remove the file", out->path, root ? 1 : je.line,
                          root ? "not an object" : je.text);
  }
  err = read_section(root, "download", &out->download, out->path, why, why_len);
  if (!err) err = read_section(root, "upload", &out->upload, out->path, why, why_len);
  json_t *up = json_object_get(root, "upload");
  read_text(up, "saved_at", out->upload_saved_at, sizeof(out->upload_saved_at));
  json_t *up_rate = json_object_get(up, "mb_per_s");
  if (json_is_number(up_rate)) out->upload_mb_per_s = json_number_value(up_rate);
  read_text(root, "saved_by", out->saved_by, sizeof(out->saved_by));
  read_text(root, "saved_at", out->saved_at, sizeof(out->saved_at));
  read_text(root, "target", out->target, sizeof(out->target));
  json_t *rate = json_object_get(root, "mb_per_s");
  if (json_is_number(rate)) out->mb_per_s = json_number_value(rate);
  json_decref(root);
  return err;
}

static json_t *section(const struct ferry_transfer_settings *t) {
  json_t *o = json_object();
  if (t->connections) json_object_set_new(o, "connections", json_integer(t->connections));
  if (t->streams) json_object_set_new(o, "streams", json_integer(t->streams));
  if (t->chunk_size) json_object_set_new(o, "chunk_size", json_integer((json_int_t)t->chunk_size));
  return o;
}

static int empty(const struct ferry_transfer_settings *t) {
  return !t->connections && !t->streams && !t->chunk_size;
}

int ferry_settings_save(const struct ferry_settings *s, char *why, size_t why_len) {
  char path[sizeof(s->path)];
  int err = 0;
  if (s->path[0]) snprintf(path, sizeof(path), "%s", s->path);
  else err = default_path(path, sizeof(path), why, why_len);
  if (err) return err;
  json_t *root = json_object();
  if (!empty(&s->download)) json_object_set_new(root, "download", section(&s->download));
  if (!empty(&s->upload)) {
    json_t *up = section(&s->upload);
    if (s->upload_saved_at[0])
      json_object_set_new(up, "saved_at", json_string(s->upload_saved_at));
    if (s->upload_mb_per_s > 0) json_object_set_new(up, "mb_per_s", json_real(s->upload_mb_per_s));
    json_object_set_new(root, "upload", up);
  }
  if (s->saved_by[0]) json_object_set_new(root, "saved_by", json_string(s->saved_by));
  if (s->saved_at[0]) json_object_set_new(root, "saved_at", json_string(s->saved_at));
  if (s->target[0]) json_object_set_new(root, "target", json_string(s->target));
  if (s->mb_per_s > 0) json_object_set_new(root, "mb_per_s", json_real(s->mb_per_s));
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(root);
  if (!text) return FERRY_E_NOMEM;
  size_t len = strlen(text);
  char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
  if (!dir) err = FERRY_E_NOMEM;
  if (slash) *slash = 0;
  if (!err && slash) err = ferry__mkdirs(dir);
  if (!err) { /* with a final newline, as a text file */
    char *nl = realloc(text, len + 2);
    if (!nl) err = FERRY_E_NOMEM;
    else text = nl, text[len++] = '\n', text[len] = 0;
  }
  if (!err) err = ferry__write_atomic(path, text, len, 0644);
  if (err) ferry__hub_why(err, why, why_len, "cannot write %s: %s", path, ferry_strerror(err));
  free(dir);
  free(text);
  return err;
}

void ferry_settings_apply(const struct ferry_transfer_settings *t, struct ferry_config *cfg) {
  /* starting values for the concurrency controller, not pins: a flag given pins its value */
  if (!cfg->start_connections) cfg->start_connections = t->connections;
  if (!cfg->start_streams) cfg->start_streams = t->streams;
  if (!cfg->start_chunk_size) cfg->start_chunk_size = t->chunk_size;
}

void ferry_settings_apply_upload(const struct ferry_transfer_settings *t,
                                 struct ferry_config *cfg) {
  if (!cfg->connections) cfg->connections = t->connections;
}
