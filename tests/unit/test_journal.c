/* Unit tests for engine/src/journal.h: encoder, incremental (sans-I/O) parser, file helpers.
 * The parser must give the same answer whatever the split of its input, drop a torn last
 * record, and call the journal damaged for any flipped bit in a whole header or record. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "assert.h"
#include "ferry.h"
#include "journal.h"

#define MiB (1024u * 1024u)
#define REC FERRY__JOURNAL_RECORD_SIZE

static const char SHA[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static struct ferry__jident sample_ident(void) {
  struct ferry__jident id;
  memset(&id, 0, sizeof(id));
  snprintf(id.id, sizeof(id.id), "https://hub.test/org/model/resolve/main/model.safetensors?download=true");
  id.size = 40ull * MiB + 123;
  snprintf(id.validator, sizeof(id.validator), "\"5d41402abc4b2a76b9719d911017c592\"");
  memcpy(id.sha256, SHA, sizeof(SHA));
  id.granularity = MiB;
  return id;
}

/* Records as the engine writes them: whole blocks, a partial block, and the short last one. */
#define NREC 12
static void sample_records(struct ferry__jrecord *r) {
  for (int i = 0; i < NREC; i++) {
    r[i].offset = (uint64_t)(i * 3) * MiB;
    r[i].length = MiB;
    r[i].xxh3 = 0x1111111111111111ull * (uint64_t)(i + 1);
  }
  r[5].length = 4096;            /* progress inside a chunk still in flight */
  r[NREC - 1].offset = 40ull * MiB; /* the tail of the file */
  r[NREC - 1].length = 123;
}

/* Header followed by `n` records, in a malloc'd buffer. */
static unsigned char *encode(const struct ferry__jident *id, const struct ferry__jrecord *r,
                             size_t n, size_t *len, size_t *header_len) {
  size_t cap = FERRY__JOURNAL_MAX_HEADER + 32 + n * REC;
  unsigned char *buf = malloc(cap);
  ASSERT_NOT_NULL(buf);
  size_t h = ferry__journal_encode_header(id, buf, cap);
  ASSERT_GT_U64(h, 0);
  for (size_t i = 0; i < n; i++) ferry__journal_encode_record(&r[i], buf + h + i * REC);
  *len = h + n * REC;
  if (header_len) *header_len = h;
  return buf;
}

static struct ferry__jparser *parser_new(void) {
  struct ferry__jparser *p = malloc(sizeof(*p));
  ASSERT_NOT_NULL(p);
  ferry__jparser_init(p);
  return p;
}

static void parser_del(struct ferry__jparser *p) {
  ferry__jparser_free(p);
  free(p);
}

/* Feeds `buf` in pieces ending at each of the `ncuts` cut offsets, then the rest. */
static enum ferry__jstatus parse_cut(struct ferry__jparser *p, const unsigned char *buf,
                                     size_t len, const size_t *cuts, size_t ncuts) {
  size_t at = 0;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t to = i < ncuts ? cuts[i] : len;
    if (ferry__jparser_feed(p, buf + at, to - at) != 0) break;
    at = to;
  }
  return ferry__jparser_finish(p);
}

static enum ferry__jstatus parse_all(struct ferry__jparser *p, const unsigned char *buf,
                                     size_t len) {
  return parse_cut(p, buf, len, NULL, 0);
}

static void expect_ident(const struct ferry__jident *got, const struct ferry__jident *want) {
  ASSERT_EQ_STR(got->id, want->id);
  ASSERT_EQ_U64(got->size, want->size);
  ASSERT_EQ_STR(got->validator, want->validator);
  ASSERT_EQ_STR(got->sha256, want->sha256);
  ASSERT_EQ_U64(got->granularity, want->granularity);
}

static void expect_records(const struct ferry__jparser *p, const struct ferry__jrecord *want,
                           size_t n) {
  ASSERT_EQ_U64(p->nrecords, n);
  for (size_t i = 0; i < n; i++) {
    ASSERT_EQ_U64(p->records[i].offset, want[i].offset);
    ASSERT_EQ_U64(p->records[i].length, want[i].length);
    ASSERT_EQ_U64(p->records[i].xxh3, want[i].xxh3);
  }
}

static void expect_ok(struct ferry__jparser *p, enum ferry__jstatus st,
                      const struct ferry__jident *id, const struct ferry__jrecord *r, size_t n) {
  if (st != FERRY__J_OK && p->why) fprintf(stderr, "parser says: %s\n", p->why);
  ASSERT_EQ_INT(st, FERRY__J_OK);
  expect_ident(&p->ident, id);
  expect_records(p, r, n);
}

void test_journal_roundtrip(void) {
  struct ferry__jident id = sample_ident();
  struct ferry__jrecord r[NREC];
  sample_records(r);
  for (size_t n = 0; n <= NREC; n++) {
    TEST_NOTE("%zu records", n);
    size_t len, h;
    unsigned char *buf = encode(&id, r, n, &len, &h);
    ASSERT_EQ_U64(len, h + n * REC);
    ASSERT_TRUE(memcmp(buf, FERRY__JOURNAL_MAGIC, 8) == 0);
    struct ferry__jparser *p = parser_new();
    expect_ok(p, parse_all(p, buf, len), &id, r, n);
    parser_del(p);
    free(buf);
  }
}

/* The same bytes cut into two pieces at every offset, one byte at a time, and in random
 * pieces: always the same result. */
void test_journal_split_points(void) {
  struct ferry__jident id = sample_ident();
  struct ferry__jrecord r[NREC];
  sample_records(r);
  size_t len;
  unsigned char *buf = encode(&id, r, NREC, &len, NULL);
  for (size_t k = 0; k <= len; k++) {
    TEST_NOTE("two pieces, cut at %zu of %zu", k, len);
    struct ferry__jparser *p = parser_new();
    expect_ok(p, parse_cut(p, buf, len, &k, 1), &id, r, NREC);
    parser_del(p);
  }

  TEST_NOTE("one byte at a time");
  struct ferry__jparser *p = parser_new();
  for (size_t i = 0; i < len; i++) ASSERT_EQ_INT(ferry__jparser_feed(p, buf + i, 1), 0);
  ASSERT_EQ_INT(ferry__jparser_feed(p, buf, 0), 0); /* an empty feed changes nothing */
  expect_ok(p, ferry__jparser_finish(p), &id, r, NREC);
  parser_del(p);

  uint32_t seed = 12345;
  for (int round = 0; round < 200; round++) {
    size_t cuts[16], n = 0, at = 0;
    while (n < 16) {
      seed = seed * 1103515245u + 12345u;
      at += (seed >> 8) % 97;
      if (at > len) break;
      cuts[n++] = at;
    }
    TEST_NOTE("random pieces, round %d", round);
    p = parser_new();
    expect_ok(p, parse_cut(p, buf, len, cuts, n), &id, r, NREC);
    parser_del(p);
  }
  free(buf);
}

/* Every short last record (1 to 31 bytes) is a torn append: ignored, earlier records kept. */
void test_journal_torn_tail(void) {
  struct ferry__jident id = sample_ident();
  struct ferry__jrecord r[NREC];
  sample_records(r);
  size_t len, h;
  unsigned char *buf = encode(&id, r, NREC, &len, &h);
  for (size_t kept = 0; kept < NREC; kept++) {
    for (size_t torn = 1; torn < REC; torn++) {
      TEST_NOTE("%zu whole records, then %zu bytes of the next", kept, torn);
      size_t cut = h + kept * REC + torn;
      struct ferry__jparser *p = parser_new();
      expect_ok(p, parse_all(p, buf, cut), &id, r, kept);
      parser_del(p);
      /* fed one byte at a time as well */
      p = parser_new();
      for (size_t i = 0; i < cut; i++) ASSERT_EQ_INT(ferry__jparser_feed(p, buf + i, 1), 0);
      expect_ok(p, ferry__jparser_finish(p), &id, r, kept);
      parser_del(p);
    }
  }
  /* a torn tail made of garbage is still only a torn tail */
  memset(buf + h + 3 * REC, 0xff, 20);
  TEST_NOTE("3 records then 20 bytes of 0xff");
  struct ferry__jparser *p = parser_new();
  expect_ok(p, parse_all(p, buf, h + 3 * REC + 20), &id, r, 3);
  parser_del(p);
  free(buf);
}

/* Anything shorter than the whole header (fixed part, text and checksum) is INCOMPLETE. */
void test_journal_incomplete_header(void) {
  struct ferry__jident id = sample_ident();
  size_t len, h;
  unsigned char *buf = encode(&id, NULL, 0, &len, &h);
  for (size_t cut = 0; cut < h; cut++) {
    TEST_NOTE("first %zu of %zu header bytes", cut, h);
    struct ferry__jparser *p = parser_new();
    ASSERT_EQ_INT(parse_all(p, buf, cut), FERRY__J_INCOMPLETE);
    parser_del(p);
  }
  TEST_NOTE("the whole header, no records");
  struct ferry__jparser *p = parser_new();
  expect_ok(p, parse_all(p, buf, h), &id, NULL, 0);
  parser_del(p);
  free(buf);
}

/* A flipped bit anywhere in the header (magic, length, text, checksum) makes it DAMAGED.
 * Enough records follow that even a length flipped larger still finds bytes to check. */
void test_journal_header_bitflip(void) {
  struct ferry__jident id = sample_ident();
  id.size = 1024ull * MiB;
  enum { N = 300 }; /* 9600 bytes: more than the largest length a single flip can add */
  struct ferry__jrecord *r = calloc(N, sizeof(*r));
  for (size_t i = 0; i < N; i++) r[i] = (struct ferry__jrecord){i * MiB, MiB, i};
  size_t len, h;
  unsigned char *buf = encode(&id, r, N, &len, &h);
  size_t text_len = h - 20;
  for (size_t byte = 0; byte < h; byte++) {
    const char *part = byte < 8 ? "magic" : byte < 12 ? "header length"
                     : byte < 12 + text_len ? "header text" : "header checksum";
    for (int bit = 0; bit < 8; bit++) {
      TEST_NOTE("bit %d of header byte %zu (%s)", bit, byte, part);
      buf[byte] ^= (unsigned char)(1u << bit);
      struct ferry__jparser *p = parser_new();
      ASSERT_EQ_INT(parse_all(p, buf, len), FERRY__J_DAMAGED);
      ASSERT_NOT_NULL(p->why);
      parser_del(p);
      /* with nothing after the header it must not be trusted either */
      p = parser_new();
      ASSERT_NE_INT(parse_all(p, buf, h), FERRY__J_OK);
      parser_del(p);
      buf[byte] ^= (unsigned char)(1u << bit);
    }
  }
  TEST_NOTE("unflipped");
  struct ferry__jparser *p = parser_new();
  expect_ok(p, parse_all(p, buf, len), &id, r, N);
  parser_del(p);
  free(buf);
  free(r);
}

static const char *record_field(size_t byte) {
  return byte < 1 ? "type" : byte < 4 ? "pad" : byte < 8 ? "length" : byte < 16 ? "offset"
       : byte < 24 ? "xxh3" : "check";
}

/* A flipped bit in any field of a whole record (first, middle, last) makes it DAMAGED. */
void test_journal_record_bitflip(void) {
  struct ferry__jident id = sample_ident();
  struct ferry__jrecord r[NREC];
  sample_records(r);
  size_t len, h;
  unsigned char *buf = encode(&id, r, NREC, &len, &h);
  const size_t which[] = {0, NREC / 2, NREC - 1};
  for (size_t w = 0; w < 3; w++) {
    unsigned char *rec = buf + h + which[w] * REC;
    for (size_t byte = 0; byte < REC; byte++) {
      for (int bit = 0; bit < 8; bit++) {
        TEST_NOTE("record %zu, bit %d of byte %zu (%s)", which[w], bit, byte,
                  record_field(byte));
        rec[byte] ^= (unsigned char)(1u << bit);
        struct ferry__jparser *p = parser_new();
        ASSERT_EQ_INT(parse_all(p, buf, len), FERRY__J_DAMAGED);
        ASSERT_NOT_NULL(p->why);
        parser_del(p);
        rec[byte] ^= (unsigned char)(1u << bit);
      }
    }
  }
  free(buf);
}

/* A record with a correct check but a wrong field. */
static void raw_record(unsigned char *out, uint8_t type, uint8_t pad, uint32_t length,
                       uint64_t offset) {
  memset(out, 0, REC);
  out[0] = type;
  out[2] = pad;
  for (int i = 0; i < 4; i++) out[4 + i] = (unsigned char)(length >> (8 * i));
  for (int i = 0; i < 8; i++) out[8 + i] = (unsigned char)(offset >> (8 * i));
  for (int i = 0; i < 8; i++) out[16 + i] = (unsigned char)(0xabcdefull >> (8 * i));
  uint64_t check = XXH3_64bits(out, 24);
  for (int i = 0; i < 8; i++) out[24 + i] = (unsigned char)(check >> (8 * i));
}

static enum ferry__jstatus parse_with_record(const struct ferry__jident *id, uint8_t type,
                                             uint8_t pad, uint32_t length, uint64_t offset,
                                             size_t *nrecords) {
  struct ferry__jrecord r[NREC];
  sample_records(r);
  size_t len;
  unsigned char *buf = encode(id, r, 2, &len, NULL);
  buf = realloc(buf, len + REC);
  raw_record(buf + len, type, pad, length, offset);
  struct ferry__jparser *p = parser_new();
  enum ferry__jstatus st = parse_all(p, buf, len + REC);
  *nrecords = p->nrecords;
  parser_del(p);
  free(buf);
  return st;
}

void test_journal_record_fields(void) {
  struct ferry__jident id = sample_ident();
  const uint64_t size = id.size;
  size_t n;
  /* the builder itself makes good records */
  TEST_NOTE("valid record");
  ASSERT_EQ_INT(parse_with_record(&id, 1, 0, MiB, 0, &n), FERRY__J_OK);
  ASSERT_EQ_U64(n, 3);
  TEST_NOTE("valid record ending exactly at the file size");
  ASSERT_EQ_INT(parse_with_record(&id, 1, 0, 123, size - 123, &n), FERRY__J_OK);
  TEST_NOTE("valid one-byte record at the last byte");
  ASSERT_EQ_INT(parse_with_record(&id, 1, 0, 1, size - 1, &n), FERRY__J_OK);

  const struct {
    const char *what;
    uint8_t type, pad;
    uint32_t length;
    uint64_t offset;
  } bad[] = {
      {"type 0", 0, 0, 4096, 0},
      {"type 2", 2, 0, 4096, 0},
      {"type 255", 255, 0, 4096, 0},
      {"non-zero pad", 1, 1, 4096, 0},
      {"zero length", 1, 0, 0, 0},
      {"zero length at the end", 1, 0, 0, size},
      {"starts at the file size", 1, 0, 1, size},
      {"runs one byte past the end", 1, 0, 2, size - 1},
      {"starts far past the end", 1, 0, 1, size * 2},
      {"offset near 2^64 (offset + length overflows)", 1, 0, 4096, UINT64_MAX - 100},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    TEST_NOTE("%s: type %u pad %u length %u offset %llu (size %llu)", bad[i].what, bad[i].type,
              bad[i].pad, bad[i].length, (unsigned long long)bad[i].offset,
              (unsigned long long)size);
    ASSERT_EQ_INT(
        parse_with_record(&id, bad[i].type, bad[i].pad, bad[i].length, bad[i].offset, &n),
        FERRY__J_DAMAGED);
  }
}

/* A journal built from raw header text, with a correct checksum. */
static unsigned char *raw_journal(const char *text, size_t text_len, uint32_t declared,
                                  size_t *len) {
  unsigned char *buf = malloc(20 + text_len);
  memcpy(buf, FERRY__JOURNAL_MAGIC, 8);
  for (int i = 0; i < 4; i++) buf[8 + i] = (unsigned char)(declared >> (8 * i));
  memcpy(buf + 12, text, text_len);
  uint64_t sum = XXH3_64bits(buf, 12 + text_len);
  for (int i = 0; i < 8; i++) buf[12 + text_len + i] = (unsigned char)(sum >> (8 * i));
  *len = 20 + text_len;
  return buf;
}

static enum ferry__jstatus parse_text(const char *text, size_t text_len) {
  size_t len;
  unsigned char *buf = raw_journal(text, text_len, (uint32_t)text_len, &len);
  struct ferry__jparser *p = parser_new();
  enum ferry__jstatus st = parse_all(p, buf, len);
  parser_del(p);
  free(buf);
  return st;
}

void test_journal_header_fields(void) {
  static const char good[] = "id=u\nsize=100\nvalidator=v\nsha256=\ngranularity=10\n";
  TEST_NOTE("valid text: %s", good);
  ASSERT_EQ_INT(parse_text(good, strlen(good)), FERRY__J_OK);

  static const char *bad[] = {
      /* a field missing */
      "size=100\nvalidator=v\nsha256=\ngranularity=10\n",
      "id=u\nvalidator=v\nsha256=\ngranularity=10\n",
      "id=u\nsize=100\nsha256=\ngranularity=10\n",
      "id=u\nsize=100\nvalidator=v\ngranularity=10\n",
      "id=u\nsize=100\nvalidator=v\nsha256=\n",
      /* a field twice, an unknown field, a line without '=', no final newline */
      "id=u\nid=u\nsize=100\nvalidator=v\nsha256=\ngranularity=10\n",
      "id=u\nsize=100\nvalidator=v\nsha256=\ngranularity=10\nextra=1\n",
      "id=u\nsize=100\nvalidator=v\nsha256=\ngranularity=10\nnoequals\n",
      "id=u\nsize=100\nvalidator=v\nsha256=\ngranularity=10",
      /* bad values */
      "id=u\nsize=-1\nvalidator=v\nsha256=\ngranularity=10\n",
      "id=u\nsize=12x\nvalidator=v\nsha256=\ngranularity=10\n",
      "id=u\nsize=\nvalidator=v\nsha256=\ngranularity=10\n",
      "id=u\nsize=99999999999999999999999\nvalidator=v\nsha256=\ngranularity=10\n",
      "id=u\nsize=100\nvalidator=v\nsha256=abc\ngranularity=10\n",
      "id=u\nsize=100\nvalidator=v\nsha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\ngranularity=10\n",
      "id=u\nsize=100\nvalidator=v\nsha256=\ngranularity=0\n",
      "id=u\nsize=100\nvalidator=v\nsha256=\ngranularity=x\n",
      "id=u\nsize=100\nvalidator=v\nsha256=\ngranularity=\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    TEST_NOTE("header text #%zu: %s", i, bad[i]);
    ASSERT_EQ_INT(parse_text(bad[i], strlen(bad[i])), FERRY__J_DAMAGED);
  }

  /* a NUL inside the text */
  char with_nul[sizeof(good)];
  memcpy(with_nul, good, sizeof(good));
  with_nul[3] = 0;
  TEST_NOTE("NUL in the header text");
  ASSERT_EQ_INT(parse_text(with_nul, strlen(good)), FERRY__J_DAMAGED);

  /* declared lengths that cannot be right */
  size_t len;
  unsigned char *buf = raw_journal(good, strlen(good), 0, &len);
  struct ferry__jparser *p = parser_new();
  TEST_NOTE("declared header length 0");
  ASSERT_EQ_INT(parse_all(p, buf, len), FERRY__J_DAMAGED);
  parser_del(p);
  free(buf);
  buf = raw_journal(good, strlen(good), FERRY__JOURNAL_MAX_HEADER + 1, &len);
  p = parser_new();
  TEST_NOTE("declared header length over the maximum");
  ASSERT_EQ_INT(parse_all(p, buf, 12), FERRY__J_DAMAGED); /* known from the fixed part alone */
  parser_del(p);
  free(buf);

  /* another format's magic */
  buf = raw_journal(good, strlen(good), (uint32_t)strlen(good), &len);
  buf[6] = '2';
  p = parser_new();
  TEST_NOTE("magic FERRYJ2");
  ASSERT_EQ_INT(parse_all(p, buf, len), FERRY__J_DAMAGED);
  parser_del(p);
  free(buf);
}

static void roundtrip_ident(const struct ferry__jident *id) {
  size_t len;
  unsigned char *buf = encode(id, NULL, 0, &len, NULL);
  struct ferry__jparser *p = parser_new();
  expect_ok(p, parse_all(p, buf, len), id, NULL, 0);
  parser_del(p);
  free(buf);
}

void test_journal_identity_roundtrip(void) {
  struct ferry__jident id;
  /* the longest id the struct holds, with the characters URLs carry */
  memset(&id, 0, sizeof(id));
  const char *prefix = "https://hub.test/a/b?x=1&y=2;z=%41#";
  size_t pl = strlen(prefix);
  memcpy(id.id, prefix, pl);
  for (size_t i = pl; i < sizeof(id.id) - 1; i++) id.id[i] = (char)('a' + i % 26);
  id.size = 0;
  id.granularity = 1;
  TEST_NOTE("4095-byte id, empty validator and sha256, size 0");
  roundtrip_ident(&id);

  /* the longest validator, base64-like with '=' inside, the largest size and granularity */
  memset(&id, 0, sizeof(id));
  strcpy(id.id, "u");
  id.validator[0] = 'W', id.validator[1] = '/', id.validator[2] = '"';
  for (size_t i = 3; i < sizeof(id.validator) - 2; i++) id.validator[i] = i % 7 ? 'Q' : '=';
  id.validator[sizeof(id.validator) - 2] = '"';
  memcpy(id.sha256, SHA, sizeof(SHA));
  id.size = UINT64_MAX;
  id.granularity = 1u << 30;
  TEST_NOTE("255-byte validator, 64-char sha256, size 2^64-1, granularity 2^30");
  roundtrip_ident(&id);

  /* a Last-Modified date as validator */
  id = sample_ident();
  strcpy(id.validator, "Wed, 21 Oct 2015 07:28:00 GMT");
  id.sha256[0] = 0;
  TEST_NOTE("date validator");
  roundtrip_ident(&id);
}

/* Once damaged, always damaged: later good bytes do not revive it. */
void test_journal_damaged_stays_damaged(void) {
  struct ferry__jident id = sample_ident();
  struct ferry__jrecord r[NREC];
  sample_records(r);
  size_t len, h;
  unsigned char *buf = encode(&id, r, NREC, &len, &h);
  buf[h + 2 * REC + 9] ^= 4; /* record 2's offset */
  struct ferry__jparser *p = parser_new();
  ASSERT_EQ_INT(ferry__jparser_feed(p, buf, h + 3 * REC), -1);
  ASSERT_NOT_NULL(p->why);
  ASSERT_EQ_INT(ferry__jparser_feed(p, buf + h + 3 * REC, REC), -1);
  ASSERT_EQ_INT(ferry__jparser_finish(p), FERRY__J_DAMAGED);
  parser_del(p);
  free(buf);
}

void test_journal_encode_capacity(void) {
  struct ferry__jident id = sample_ident();
  unsigned char big[FERRY__JOURNAL_MAX_HEADER + 32];
  size_t n = ferry__journal_encode_header(&id, big, sizeof(big));
  ASSERT_GT_U64(n, 20);
  unsigned char *exact = malloc(n);
  ASSERT_EQ_U64(ferry__journal_encode_header(&id, exact, n), n);
  ASSERT_TRUE(memcmp(exact, big, n) == 0);
  ASSERT_EQ_U64(ferry__journal_encode_header(&id, exact, n - 1), 0);
  ASSERT_EQ_U64(ferry__journal_encode_header(&id, exact, 0), 0);
  free(exact);
  /* a record is exactly 32 bytes and deterministic */
  struct ferry__jrecord r = {12345, 678, 0xfeedfacecafebeefull};
  unsigned char a[REC], b[REC];
  ferry__journal_encode_record(&r, a);
  ferry__journal_encode_record(&r, b);
  ASSERT_TRUE(memcmp(a, b, REC) == 0);
}

/* ---- file helpers ---- */

static char *tmp_path(const char *name) {
  static char path[4200];
  snprintf(path, sizeof(path), "%s/%s", ferry_unit_tmpdir(), name);
  return path;
}

static void write_file(const char *path, const unsigned char *buf, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE_INT(fd, 0);
  ASSERT_EQ_INT(write(fd, buf, len), (ssize_t)len);
  close(fd);
}

void test_journal_file_roundtrip(void) {
  const char *path = tmp_path("f.part.journal");
  struct ferry__jident id = sample_ident();
  struct ferry__jrecord r[NREC];
  sample_records(r);
  int fd = ferry__journal_create(path, &id);
  ASSERT_GE_INT(fd, 0);
  ASSERT_TRUE(fcntl(fd, F_GETFL) & O_APPEND);
  for (int i = 0; i < 5; i++) ASSERT_EQ_INT(ferry__journal_append(fd, &r[i]), 0);
  lseek(fd, 0, SEEK_SET); /* appends still go to the end */
  for (int i = 5; i < NREC; i++) ASSERT_EQ_INT(ferry__journal_append(fd, &r[i]), 0);
  close(fd);

  struct ferry__jparser *p = parser_new();
  expect_ok(p, ferry__journal_load(path, p), &id, r, NREC);
  parser_del(p);

  /* the file holds exactly what the encoders produce */
  size_t len;
  unsigned char *want = encode(&id, r, NREC, &len, NULL);
  struct stat st;
  ASSERT_EQ_INT(stat(path, &st), 0);
  ASSERT_EQ_U64(st.st_size, len);
  unsigned char *got = malloc(len);
  fd = open(path, O_RDONLY);
  ASSERT_EQ_INT(read(fd, got, len), (ssize_t)len);
  close(fd);
  ASSERT_TRUE(memcmp(got, want, len) == 0);
  free(got);
  free(want);

  /* create replaces an old journal */
  struct ferry__jident other = sample_ident();
  strcpy(other.validator, "\"other\"");
  fd = ferry__journal_create(path, &other);
  ASSERT_GE_INT(fd, 0);
  close(fd);
  p = parser_new();
  expect_ok(p, ferry__journal_load(path, p), &other, NULL, 0);
  parser_del(p);
}

/* A journal cut at every length: a short header is INCOMPLETE, a short record is dropped. */
void test_journal_file_truncated(void) {
  const char *path = tmp_path("t.journal");
  struct ferry__jident id = sample_ident();
  struct ferry__jrecord r[NREC];
  sample_records(r);
  size_t len, h;
  unsigned char *buf = encode(&id, r, NREC, &len, &h);
  for (size_t cut = 0; cut <= len; cut++) {
    TEST_NOTE("file cut at %zu of %zu bytes (header %zu)", cut, len, h);
    write_file(path, buf, cut);
    struct ferry__jparser *p = parser_new();
    enum ferry__jstatus st = ferry__journal_load(path, p);
    if (cut < h) ASSERT_EQ_INT(st, FERRY__J_INCOMPLETE);
    else expect_ok(p, st, &id, r, (cut - h) / REC);
    parser_del(p);
  }
  /* a damaged record in the file */
  buf[h + 4 * REC + 30] ^= 0x80;
  write_file(path, buf, len);
  struct ferry__jparser *p = parser_new();
  TEST_NOTE("flipped check of record 4");
  ASSERT_EQ_INT(ferry__journal_load(path, p), FERRY__J_DAMAGED);
  parser_del(p);
  free(buf);
}

void test_journal_file_missing(void) {
  struct ferry__jparser *p = parser_new();
  ASSERT_EQ_INT(ferry__journal_load(tmp_path("does-not-exist"), p), FERRY__J_INCOMPLETE);
  ASSERT_EQ_U64(p->nrecords, 0);
  parser_del(p);

  /* create in a folder that does not exist: a negative ferry error, not an fd */
  struct ferry__jident id = sample_ident();
  int fd = ferry__journal_create(tmp_path("no/such/dir/j"), &id);
  ASSERT_LT_INT(fd, 0);
  ASSERT_NE_STR(ferry_err_name(fd), "UNKNOWN");
  /* append to a descriptor that is not open for writing */
  struct ferry__jrecord rec = {0, 1, 0};
  int err = ferry__journal_append(-1, &rec);
  ASSERT_LT_INT(err, 0);
  ASSERT_NE_STR(ferry_err_name(err), "UNKNOWN");
  int ro = open(tmp_path("ro"), O_RDONLY | O_CREAT, 0644);
  ASSERT_GE_INT(ro, 0);
  err = ferry__journal_append(ro, &rec);
  ASSERT_LT_INT(err, 0);
  ASSERT_NE_STR(ferry_err_name(err), "UNKNOWN");
  close(ro);
}

/* More records than one read(2) of the loader takes: the split falls inside a record. */
void test_journal_file_large(void) {
  const char *path = tmp_path("big.journal");
  struct ferry__jident id = sample_ident();
  enum { N = 5000 };
  id.size = (uint64_t)N * MiB;
  struct ferry__jrecord *r = calloc(N, sizeof(*r));
  for (size_t i = 0; i < N; i++) r[i] = (struct ferry__jrecord){i * MiB, MiB, i * 7919};
  int fd = ferry__journal_create(path, &id);
  ASSERT_GE_INT(fd, 0);
  for (size_t i = 0; i < N; i++) ASSERT_EQ_INT(ferry__journal_append(fd, &r[i]), 0);
  close(fd);
  struct ferry__jparser *p = parser_new();
  expect_ok(p, ferry__journal_load(path, p), &id, r, N);
  parser_del(p);
  free(r);
}
