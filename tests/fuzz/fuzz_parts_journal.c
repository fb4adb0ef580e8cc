/* Fuzz target: the parts journal of a multipart upload (engine/hub/upload_parts.c), read back
 * by a `ferry upload` that resumes. Any file content is loaded for a fixed object (oid, size):
 * a journal it accepts holds every part URL of that object, the completion URL, and only
 * non-empty ETags of parts that exist; one it refuses is removed. The file is written to a
 * private temporary folder made once per process and removed at its exit. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"

#define OID "4f2b0c8e5d6a7f9b1c3e5a7d9f0b2c4e6a8c0e2f4a6b8d0f2e4c6a8b0d2f4e6a"
#define SIZE ((3u << 20) - 5)

static char dir[64], file[160];

static void cleanup(void) {
  unlink(file);
  rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir[0]) {
    snprintf(dir, sizeof(dir), "/tmp/ferry-fuzz-parts.XXXXXX");
    if (!mkdtemp(dir)) abort();
    snprintf(file, sizeof(file), "%s/%s.json", dir, OID);
    atexit(cleanup);
  }
  FILE *f = fopen(file, "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f)) abort();
  struct ferry__parts_journal j;
  int loaded = ferry__parts_journal_load(dir, OID, SIZE, &j);
  if (loaded) {
    const struct ferry__lfs_action *a = &j.action;
    if (j.fd < 0 || !a->href || !a->part_urls || !j.etags || a->chunk_size == 0) abort();
    if (a->nparts != (SIZE + a->chunk_size - 1) / a->chunk_size || strcmp(a->oid, OID)) abort();
    for (size_t i = 0; i < a->nparts; i++)
      if (!a->part_urls[i] || (j.etags[i] && !j.etags[i][0])) abort();
    ferry__parts_journal_remove(&j);
  } else if (access(file, F_OK) == 0) {
    abort(); /* an unusable journal is not left behind */
  }
  unlink(file);
  return 0;
}
