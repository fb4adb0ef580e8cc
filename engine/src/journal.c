/* journal: encoder, incremental parser and file helpers (format in journal.h). */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "ferry.h"
#include "files.h"
#include "grow.h"

static void put_u32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static uint64_t get_u64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

size_t ferry__journal_encode_header(const struct ferry__jident *id, unsigned char *out,
                                    size_t cap) {
  char text[FERRY__JOURNAL_MAX_HEADER];
  int n = snprintf(text, sizeof(text), "id=%s\nsize=%llu\nvalidator=%s\nsha256=%s\ngranularity=%u\n",
                   id->id, (unsigned long long)id->size, id->validator, id->sha256,
                   (unsigned)id->granularity);
  if (n < 0 || (size_t)n >= sizeof(text)) return 0;
  size_t total = 8 + 4 + (size_t)n + 8;
  if (total > cap) return 0;
  memcpy(out, FERRY__JOURNAL_MAGIC, 8);
  put_u32(out + 8, (uint32_t)n);
  memcpy(out + 12, text, (size_t)n);
  put_u64(out + 12 + n, XXH3_64bits(out, 12 + (size_t)n));
  return total;
}

void ferry__journal_encode_record(const struct ferry__jrecord *r,
                                  unsigned char out[FERRY__JOURNAL_RECORD_SIZE]) {
  memset(out, 0, FERRY__JOURNAL_RECORD_SIZE);
  out[0] = 1;
  put_u32(out + 4, r->length);
  put_u64(out + 8, r->offset);
  put_u64(out + 16, r->xxh3);
  put_u64(out + 24, XXH3_64bits(out, 24));
}

void ferry__jparser_init(struct ferry__jparser *p) {
  memset(p, 0, sizeof(*p));
  p->xxh_state = XXH3_createState();
  if (p->xxh_state) XXH3_64bits_reset(p->xxh_state);
}

void ferry__jparser_free(struct ferry__jparser *p) {
  if (p->xxh_state) XXH3_freeState(p->xxh_state);
  free(p->records);
  p->xxh_state = NULL;
  p->records = NULL;
}

static int damaged(struct ferry__jparser *p, const char *why) {
  p->state = FERRY__JP_BAD;
  p->why = why;
  return -1;
}

/* Parses the "key=value" header text into p->ident; every key must be present once. */
static int parse_text(struct ferry__jparser *p) {
  struct ferry__jident *id = &p->ident;
  unsigned seen = 0;
  char *line = p->text;
  while (*line) {
    char *nl = strchr(line, '\n');
    if (!nl) return damaged(p, "header line without newline");
    *nl = 0;
    char *eq = strchr(line, '=');
    if (!eq) return damaged(p, "header line without '='");
    *eq = 0;
    const char *k = line, *v = eq + 1;
    size_t vl = strlen(v);
    char *end;
    if (!strcmp(k, "id") && !(seen & 1) && vl < sizeof(id->id)) {
      memcpy(id->id, v, vl + 1), seen |= 1;
    } else if (!strcmp(k, "size") && !(seen & 2) && vl) {
      errno = 0;
      id->size = strtoull(v, &end, 10);
      if (*end || errno || *v == '-') return damaged(p, "bad size");
      seen |= 2;
    } else if (!strcmp(k, "validator") && !(seen & 4) && vl < sizeof(id->validator)) {
      memcpy(id->validator, v, vl + 1), seen |= 4;
    } else if (!strcmp(k, "sha256") && !(seen & 8) && (vl == 0 || vl == 64)) {
      memcpy(id->sha256, v, vl + 1), seen |= 8;
    } else if (!strcmp(k, "granularity") && !(seen & 16) && vl) {
      errno = 0;
      unsigned long g = strtoul(v, &end, 10);
      if (*end || errno || g == 0 || g > (1ul << 30)) return damaged(p, "bad granularity");
      id->granularity = (uint32_t)g, seen |= 16;
    } else {
      return damaged(p, "unknown, repeated or oversized header field");
    }
    line = nl + 1;
  }
  if (seen != 31) return damaged(p, "header field missing");
  return 0;
}

static int take_record(struct ferry__jparser *p) {
  const unsigned char *r = p->rec;
  if (get_u64(r + 24) != XXH3_64bits(r, 24)) return damaged(p, "record checksum mismatch");
  if (r[0] != 1 || r[1] || r[2] || r[3]) return damaged(p, "unknown record type");
  struct ferry__jrecord rec = {get_u64(r + 8), get_u32(r + 4), get_u64(r + 16)};
  if (rec.length == 0 || rec.length > p->ident.granularity || rec.offset > p->ident.size ||
      rec.length > p->ident.size - rec.offset)
    return damaged(p, "record outside the file");
  if (ferry__grow(&p->records, &p->cap, p->nrecords + 1, sizeof(*p->records), 64) != 0)
    return damaged(p, "out of memory");
  p->records[p->nrecords++] = rec;
  return 0;
}

int ferry__jparser_feed(struct ferry__jparser *p, const void *data, size_t len) {
  const unsigned char *in = data;
  if (!p->xxh_state) return damaged(p, "out of memory");
  while (len) {
    size_t want, take;
    switch (p->state) {
    case FERRY__JP_FIXED:
      take = sizeof(p->fixed) - p->have;
      if (take > len) take = len;
      memcpy(p->fixed + p->have, in, take);
      XXH3_64bits_update(p->xxh_state, in, take);
      p->have += take, in += take, len -= take;
      if (p->have < sizeof(p->fixed)) break;
      if (memcmp(p->fixed, FERRY__JOURNAL_MAGIC, 8)) return damaged(p, "not a ferry journal");
      p->header_len = get_u32(p->fixed + 8);
      if (p->header_len == 0 || p->header_len > FERRY__JOURNAL_MAX_HEADER)
        return damaged(p, "bad header length");
      p->state = FERRY__JP_TEXT, p->have = 0;
      break;
    case FERRY__JP_TEXT:
      take = p->header_len - p->have;
      if (take > len) take = len;
      memcpy(p->text + p->have, in, take);
      XXH3_64bits_update(p->xxh_state, in, take);
      p->have += take, in += take, len -= take;
      if (p->have < p->header_len) break;
      p->text[p->header_len] = 0;
      if (memchr(p->text, 0, p->header_len)) return damaged(p, "NUL in header");
      p->state = FERRY__JP_CHECK, p->have = 0;
      break;
    case FERRY__JP_CHECK:
      want = 8;
      take = want - p->have;
      if (take > len) take = len;
      memcpy(p->rec + p->have, in, take);
      p->have += take, in += take, len -= take;
      if (p->have < want) break;
      if (get_u64(p->rec) != XXH3_64bits_digest(p->xxh_state))
        return damaged(p, "header checksum mismatch");
      if (parse_text(p)) return -1;
      p->state = FERRY__JP_RECORDS, p->have = 0;
      break;
    case FERRY__JP_RECORDS:
      take = FERRY__JOURNAL_RECORD_SIZE - p->have;
      if (take > len) take = len;
      memcpy(p->rec + p->have, in, take);
      p->have += take, in += take, len -= take;
      if (p->have < FERRY__JOURNAL_RECORD_SIZE) break;
      p->have = 0;
      if (take_record(p)) return -1;
      break;
    default:
      return -1;
    }
  }
  return 0;
}

enum ferry__jstatus ferry__jparser_finish(struct ferry__jparser *p) {
  if (p->state == FERRY__JP_BAD) return FERRY__J_DAMAGED;
  if (p->state != FERRY__JP_RECORDS) return FERRY__J_INCOMPLETE;
  p->have = 0; /* a torn last record is dropped */
  return FERRY__J_OK;
}

int ferry__journal_create(const char *path, const struct ferry__jident *id) {
  unsigned char buf[FERRY__JOURNAL_MAX_HEADER + 32];
  size_t n = ferry__journal_encode_header(id, buf, sizeof(buf));
  if (!n) return FERRY_E_INVAL;
  /* A new file, never truncated through a link planted at path (files.c). */
  int fd = ferry__open_new(path, O_WRONLY | O_APPEND, 0644);
  if (fd < 0) return ferry__errno_to_err(errno);
  ssize_t w = write(fd, buf, n);
  if (w != (ssize_t)n) {
    int err = ferry__errno_to_err(w < 0 ? errno : ENOSPC); /* a short write: the disk is full */
    close(fd);
    return err;
  }
  return fd;
}

int ferry__journal_append(int fd, const struct ferry__jrecord *r) {
  unsigned char buf[FERRY__JOURNAL_RECORD_SIZE];
  ferry__journal_encode_record(r, buf);
  ssize_t w;
  do w = write(fd, buf, sizeof(buf));
  while (w < 0 && errno == EINTR);
  if (w == (ssize_t)sizeof(buf)) return 0;
  return ferry__errno_to_err(w < 0 ? errno : ENOSPC); /* a short write: the disk is full */
}

enum ferry__jstatus ferry__journal_load(const char *path, struct ferry__jparser *p) {
  /* Not through a symbolic link, nor from a FIFO: only a file of our own is a journal. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return FERRY__J_INCOMPLETE;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return FERRY__J_INCOMPLETE;
  }
  unsigned char buf[65536];
  ssize_t r;
  while ((r = read(fd, buf, sizeof(buf))) > 0)
    if (ferry__jparser_feed(p, buf, (size_t)r)) break;
  close(fd);
  if (r < 0) return FERRY__J_DAMAGED;
  return ferry__jparser_finish(p);
}
