/* Unit tests for engine/hub/settings.c: $HF_HOME/ferry/config.json written and read back,
 * values ferry would misread refused with the file and the key named, a flag winning over a
 * saved value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "assert.h"
#include "ferry.h"

static void home_here(char *path, size_t cap) {
  setenv("HF_HOME", ferry_unit_tmpdir(), 1);
  snprintf(path, cap, "%s/ferry/config.json", ferry_unit_tmpdir());
}

void test_settings_roundtrip(void) {
  char path[4200], why[640] = "";
  home_here(path, sizeof(path));
  struct ferry_settings s;
  ASSERT_EQ_INT(ferry_settings_load(&s, why, sizeof(why)), 0);
  ASSERT_EQ_INT(s.found, 0);
  ASSERT_EQ_STR(s.path, path);
  s.download = (struct ferry_transfer_settings){2, 1, 4u << 20};
  snprintf(s.saved_by, sizeof(s.saved_by), "ferry bench --sweep");
  snprintf(s.target, sizeof(s.target), "demo/x/model.safetensors@abc");
  s.mb_per_s = 311.5;
  ASSERT_EQ_INT(ferry_settings_save(&s, why, sizeof(why)), 0);
  struct stat st;
  ASSERT_EQ_INT(stat(path, &st), 0);
  ASSERT_EQ_INT(st.st_mode & 0077 & ~(mode_t)0044, 0); /* no write for others, no secret */
  struct ferry_settings t;
  ASSERT_EQ_INT(ferry_settings_load(&t, why, sizeof(why)), 0);
  ASSERT_EQ_INT(t.found, 1);
  ASSERT_EQ_INT(t.download.connections, 2);
  ASSERT_EQ_INT(t.download.streams, 1);
  ASSERT_EQ_U64(t.download.chunk_size, 4u << 20);
  ASSERT_EQ_STR(t.saved_by, "ferry bench --sweep");
  ASSERT_EQ_STR(t.target, "demo/x/model.safetensors@abc");
  ASSERT_TRUE(t.mb_per_s > 311.4 && t.mb_per_s < 311.6);
}

static int load_text(const char *text, char *why, size_t cap) {
  char path[4200];
  home_here(path, sizeof(path));
  char dir[4200];
  snprintf(dir, sizeof(dir), "%s/ferry", ferry_unit_tmpdir());
  mkdir(dir, 0700);
  FILE *f = fopen(path, "w");
  ASSERT_NOT_NULL(f);
  fputs(text, f);
  fclose(f);
  struct ferry_settings s;
  why[0] = 0;
  return ferry_settings_load(&s, why, cap);
}

void test_settings_strict(void) {
  char why[640];
  ASSERT_EQ_INT(load_text("{\"download\": {\"connections\": 4}, \"other\": 1}", why, 640), 0);
  const char *bad[] = {"", "[]", "{\"download\": 3}", "{\"download\": {\"connections\": 0}}",
                       "{\"download\": {\"streams\": 257}}",
                       "{\"download\": {\"connections\": \"4\"}}",
                       "{\"download\": {\"chunk_size\": 1000}}",
                       "{\"download\": {}, \"download\": {}}"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    TEST_NOTE("%s", bad[i]);
    ASSERT_EQ_INT(load_text(bad[i], why, 640), FERRY_E_INVAL);
    ASSERT_TRUE(strstr(why, "/ferry/config.json") != NULL);
  }
  ASSERT_EQ_INT(load_text("{\"download\": {\"streams\": 257}}", why, 640), FERRY_E_INVAL);
  ASSERT_TRUE(strstr(why, "\"streams\"") != NULL);
}

void test_settings_apply_flag_wins(void) {
  struct ferry_transfer_settings t = {2, 1, 1u << 20};
  struct ferry_config cfg = {0};
  cfg.connections = 6; /* given as a flag: it pins, the saved values are where the rest starts */
  ferry_settings_apply(&t, &cfg);
  ASSERT_EQ_INT(cfg.connections, 6);
  ASSERT_EQ_INT(cfg.streams, 0); /* saved values pin nothing */
  ASSERT_EQ_U64(cfg.chunk_size, 0);
  ASSERT_EQ_INT(cfg.start_connections, 2);
  ASSERT_EQ_INT(cfg.start_streams, 1);
  ASSERT_EQ_U64(cfg.start_chunk_size, 1u << 20);
  struct ferry_transfer_settings none = {0, 0, 0};
  struct ferry_config d = {0};
  ferry_settings_apply(&none, &d); /* nothing saved: the engine's defaults stay */
  ASSERT_EQ_INT(d.connections, 0);
  ASSERT_EQ_INT(d.start_connections, 0);
  ASSERT_EQ_U64(d.start_chunk_size, 0);
}

/* The upload object beside the download one: each read back as saved, neither touching the
 * other; a bad upload value refused like a download one; a flag wins over it. */
void test_settings_upload_section(void) {
  char path[4200], why[640] = "";
  home_here(path, sizeof(path));
  struct ferry_settings s = {0};
  s.download = (struct ferry_transfer_settings){4, 2, 8u << 20};
  s.upload = (struct ferry_transfer_settings){.connections = 3};
  snprintf(s.upload_saved_at, sizeof(s.upload_saved_at), "2026-12-06T18:00:00Z");
  s.upload_mb_per_s = 42.5;
  ASSERT_EQ_INT(ferry_settings_save(&s, why, sizeof(why)), 0);
  struct ferry_settings t;
  ASSERT_EQ_INT(ferry_settings_load(&t, why, sizeof(why)), 0);
  ASSERT_EQ_INT(t.upload.connections, 3);
  ASSERT_EQ_INT(t.upload.streams, 0);
  ASSERT_EQ_STR(t.upload_saved_at, "2026-12-06T18:00:00Z");
  ASSERT_TRUE(t.upload_mb_per_s > 42.4 && t.upload_mb_per_s < 42.6);
  ASSERT_EQ_INT(t.download.connections, 4);
  ASSERT_EQ_INT(t.download.streams, 2);
  ASSERT_EQ_INT(load_text("{\"upload\": {\"connections\": 300}}", why, 640), FERRY_E_INVAL);
  ASSERT_TRUE(strstr(why, "\"upload\".\"connections\"") != NULL);
  struct ferry_config cfg = {0};
  ferry_settings_apply_upload(&t.upload, &cfg);
  ASSERT_EQ_INT(cfg.connections, 3);
  ASSERT_EQ_INT(cfg.start_connections, 0); /* uploads have no controller to start */
  cfg.connections = 5; /* --connections given */
  ferry_settings_apply_upload(&t.upload, &cfg);
  ASSERT_EQ_INT(cfg.connections, 5);
}
