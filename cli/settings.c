/* settings: the saved transfer settings ($HF_HOME/ferry/config.json, ferry_settings_load) on
 * the command line: the defaults of get and download under their flags, and what
 * `ferry env` shows of them. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* The file's download or upload object applied to cfg under its flags. */
static int defaults(struct ferry_config *cfg, int upload) {
  struct ferry_settings s;
  char why[640] = "";
  int err = ferry_settings_load(&s, why, sizeof(why));
  if (err) {
    fprintf(stderr, "ferry: error: %s\n", why[0] ? why : ferry_strerror(err));
    return ferry_exit_class(err);
  }
  if (upload) ferry_settings_apply_upload(&s.upload, cfg);
  else ferry_settings_apply(&s.download, cfg);
  return 0;
}

int cli_settings_defaults(struct ferry_config *cfg) { return defaults(cfg, 0); }

int cli_settings_upload_defaults(struct ferry_config *cfg) { return defaults(cfg, 1); }

static json_t *section_json(const struct ferry_transfer_settings *t) {
  if (!t->connections && !t->streams && !t->chunk_size) return json_null();
  json_t *o = json_object();
  json_object_set_new(o, "connections", t->connections ? json_integer(t->connections) : json_null());
  json_object_set_new(o, "streams", t->streams ? json_integer(t->streams) : json_null());
  json_object_set_new(o, "chunk_size",
                      t->chunk_size ? json_integer((json_int_t)t->chunk_size) : json_null());
  return o;
}

json_t *cli_settings_json(const struct ferry_settings *s, int err, const char *why) {
  json_t *o = json_object();
  json_object_set_new(o, "path", cli_json_str(s->path));
  json_object_set_new(o, "found", json_boolean(s->found));
  json_object_set_new(o, "download", section_json(&s->download));
  json_t *up = s->upload.connections ? json_object() : json_null();
  if (s->upload.connections) {
    json_object_set_new(up, "connections", json_integer(s->upload.connections));
    json_object_set_new(up, "saved_at", s->upload_saved_at[0] ? cli_json_str(s->upload_saved_at)
                                                               : json_null());
  }
  json_object_set_new(o, "upload", up);
  json_object_set_new(o, "saved_by", s->saved_by[0] ? cli_json_str(s->saved_by) : json_null());
  json_object_set_new(o, "saved_at", s->saved_at[0] ? cli_json_str(s->saved_at) : json_null());
  json_object_set_new(o, "error", err ? cli_json_str(why[0] ? why : ferry_strerror(err))
                                      : json_null());
  return o;
}

/* "2 connections, 1 stream, 8M requests" (only what is set) */
static void section_text(const char *name, const struct ferry_transfer_settings *t) {
  if (!t->connections && !t->streams && !t->chunk_size) return;
  char b[32];
  printf("  %s:", name);
  if (t->connections) printf(" --connections %d", t->connections);
  if (t->streams) printf(" --streams %d", t->streams);
  if (t->chunk_size)
    printf(" --chunk-size %s", cli_size_text((long long)t->chunk_size, b, sizeof(b)));
  printf("\n");
}

void cli_settings_print(const struct ferry_settings *s, int err, const char *why) {
  printf("settings: %s", s->path[0] ? s->path : "?");
  if (err) {
    printf(" (unreadable: %s)\n", why[0] ? why : ferry_strerror(err));
    return;
  }
  if (!s->found) {
    printf(" (none saved)\n");
    return;
  }
  if (s->saved_by[0]) printf(" (saved by %s%s%s)", s->saved_by, s->saved_at[0] ? " at " : "",
                             s->saved_at);
  printf("\n");
  section_text("download", &s->download);
  if (!s->upload.connections) return;
  printf("  upload: --connections %d", s->upload.connections);
  if (s->upload_saved_at[0]) printf(" (saved at %s)", s->upload_saved_at);
  printf("\n");
}
