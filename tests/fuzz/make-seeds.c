/* Writes seed inputs for the fuzz targets into the folder given: a valid journal (header and
 * records, with a 2-byte split prefix) and a few header values. Built and run by tests/run. */
#include <stdio.h>
#include <string.h>

#include "journal.h"

static void put(const char *dir, const char *name, const void *data, size_t len) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f) fwrite(data, 1, len, f), fclose(f);
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  static unsigned char buf[65536];
  struct ferry__jident id = {0};
  snprintf(id.id, sizeof(id.id), "https://example.invalid/model.bin");
  id.size = 10u << 20;
  snprintf(id.validator, sizeof(id.validator), "\"abc-123\"");
  id.granularity = 1u << 20;
  buf[0] = 0, buf[1] = 77;
  size_t n = 2 + ferry__journal_encode_header(&id, buf + 2, sizeof(buf) - 2);
  for (unsigned i = 0; i < 4; i++) {
    struct ferry__jrecord r = {(uint64_t)i << 20, 1u << 20, 0x1234567890abcdefull + i};
    ferry__journal_encode_record(&r, buf + n);
    n += FERRY__JOURNAL_RECORD_SIZE;
  }
  put(argv[1], "journal", buf, n);
  const char *headers[] = {"bytes 0-1023/4096", "bytes */0", "120", "Wed, 21 Oct 2015 07:28:00 GMT",
                           "HTTP/2 206", "Content-Range: bytes 5-9/10\r\n"};
  for (unsigned i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
    char name[16];
    snprintf(name, sizeof(name), "h%u", i);
    put(argv[2], name, headers[i], strlen(headers[i]));
  }
  return 0;
}
