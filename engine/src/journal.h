/* journal: the resume journal beside a `.part` file.
 *
 * Layout (all integers little-endian):
 *   "FERRYJ1\n" | u32 header length | header text | u64 XXH3 of everything before it
 *   then 32-byte records, appended as blocks reach the disk:
 *   u8 type (1 = range written) | 3 zero bytes | u32 length | u64 offset | u64 XXH3 of the
 *   data | u64 XXH3 of the 24 bytes before it.
 * The header text is "key=value\n" lines: id (URL or other identity), size, validator
 * (ETag or Last-Modified), sha256 (expected, or empty), granularity (block size).
 * A short last record is a torn append (the process died mid-write) and is ignored; any full
 * record that fails its check means the journal is damaged and must not be trusted.
 * The parser is sans-I/O and incremental: it takes bytes in any split. */
#ifndef FERRY_JOURNAL_H
#define FERRY_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#define FERRY__JOURNAL_MAGIC "FERRYJ1\n"
#define FERRY__JOURNAL_RECORD_SIZE 32
#define FERRY__JOURNAL_MAX_HEADER 16384

struct ferry__jident {
  char id[4096];
  uint64_t size;
  char validator[256];
  char sha256[65];
  uint32_t granularity;
};

struct ferry__jrecord {
  uint64_t offset;
  uint32_t length;
  uint64_t xxh3;
};

enum ferry__jstatus {
  FERRY__J_OK = 0,       /* header valid, records valid (a torn tail may have been dropped) */
  FERRY__J_INCOMPLETE,   /* not even a whole header */
  FERRY__J_DAMAGED       /* a checksum, a field or a record is wrong: discard the journal */
};

/* Where the parser is in the journal (ferry__jparser.state). */
enum ferry__jparse_state {
  FERRY__JP_FIXED,   /* magic and header length */
  FERRY__JP_TEXT,    /* header text */
  FERRY__JP_CHECK,   /* header checksum */
  FERRY__JP_RECORDS, /* records, to the end */
  FERRY__JP_BAD,     /* damaged: stays so */
};

struct ferry__jparser {
  enum ferry__jparse_state state;
  unsigned char fixed[12];
  uint32_t header_len;
  char text[FERRY__JOURNAL_MAX_HEADER + 1];
  unsigned char rec[FERRY__JOURNAL_RECORD_SIZE];
  size_t have;                  /* bytes collected for the current piece */
  void *xxh_state;              /* XXH3 state over the header (opaque) */
  struct ferry__jident ident;
  struct ferry__jrecord *records;
  size_t nrecords, cap;
  const char *why;              /* reason when damaged */
};

void ferry__jparser_init(struct ferry__jparser *p);
void ferry__jparser_free(struct ferry__jparser *p);
/* Feeds bytes. Returns 0, or -1 once the journal is known to be damaged (p->why says why). */
int ferry__jparser_feed(struct ferry__jparser *p, const void *data, size_t len);
/* Ends the input: returns the status; records are in p->records when FERRY__J_OK. */
enum ferry__jstatus ferry__jparser_finish(struct ferry__jparser *p);

/* Encoders. Return the number of bytes written to `out`, or 0 if `cap` is too small. */
size_t ferry__journal_encode_header(const struct ferry__jident *id, unsigned char *out, size_t cap);
void ferry__journal_encode_record(const struct ferry__jrecord *r,
                                  unsigned char out[FERRY__JOURNAL_RECORD_SIZE]);

/* File helpers. create: writes a fresh journal with `id` (replacing any), returns an fd
 * opened for appending or a negative FERRY_E_*. append: one record with one write(2) so a
 * crash leaves at most a torn tail. load: reads and parses `path`; returns the status, and
 * FERRY__J_INCOMPLETE when the file does not exist. */
int ferry__journal_create(const char *path, const struct ferry__jident *id);
int ferry__journal_append(int fd, const struct ferry__jrecord *r);
enum ferry__jstatus ferry__journal_load(const char *path, struct ferry__jparser *p);

#endif
