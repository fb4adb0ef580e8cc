/* plan: the pure decisions of the scheduler, kept apart so they can be tested alone.
 * What to ask for next from a file's unassigned ranges, where to split a running request
 * (no slow tail), what a probe says the file is, how to classify a finished request (the wait
 * before a retry is retry.h's). */
#ifndef FERRY_PLAN_H
#define FERRY_PLAN_H

#include <curl/curl.h>
#include <stdint.h>

#include "http_parse.h"
#include "ivset.h"

/* The next range to request from `unassigned` (first range, at most `chunk` long; a
 * remainder under a quarter chunk rides along so no sliver is left). Returns 0 and fills
 * *start / *end, or -1 when nothing is unassigned. */
int ferry__plan_next(const struct ferry__ivset *unassigned, uint64_t chunk, uint64_t *start,
                     uint64_t *end);

/* The range for a request on a connection that opens now (concurrency.c: the level grew): the
 * last chunk of the last unassigned range, starting on a multiple of `align` (the whole range
 * when that leaves less than a quarter chunk before it). A new connection on a loaded long
 * path takes seconds to reach its share (its first byte behind the path's queue, then slow
 * start): bytes the hash cursor reaches last wait for it least. Returns 0 and fills *start /
 * *end, or -1 when nothing is unassigned. */
int ferry__plan_last(const struct ferry__ivset *unassigned, uint64_t chunk, uint64_t align,
                     uint64_t *start, uint64_t *end);

/* Where to split a request that still has [cursor, end) to receive: the new request takes
 * [mid, end). Returns 0 when the rest is under 2 * min_split (not worth a new request). */
uint64_t ferry__plan_split(uint64_t cursor, uint64_t end, uint64_t min_split, uint64_t align);

/* Where a request that fell far behind the others hands its rest over (control.c
 * ferry__ctl_should_race): it keeps the block it is filling, [cursor, block_end), and a new
 * request takes [cut, end). The cut is block_end (or the cursor) rounded up to `align`;
 * 0 when less than min_split would move (not worth a request). Nothing is fetched twice. */
uint64_t ferry__plan_handover(uint64_t cursor, uint64_t block_end, uint64_t end,
                              uint64_t min_split, uint64_t align);

/* What a probe's answer (the file's first request) says the file is: the facts only; how
 * large later requests are and how many run at once is the scheduler's (engine.c). */
enum ferry__probe_kind {
  FERRY__PROBE_RANGES,       /* 206 with a total: ranged requests, size known */
  FERRY__PROBE_EMPTY,        /* 416 for "bytes * /0": an empty file, nothing to fetch */
  FERRY__PROBE_WHOLE,        /* 200 (or no usable range): the whole file in one stream */
  FERRY__PROBE_BAD_START,    /* 206 whose Content-Range starts elsewhere than asked */
  FERRY__PROBE_NO_RANGE,     /* 206 without a usable Content-Range */
  FERRY__PROBE_SHORTER,      /* 416 while resuming: shorter than the journal says (changed) */
  FERRY__PROBE_UNSATISFIABLE /* 416 on a fresh start */
};
struct ferry__probe_answer {
  int status, has_cr, encoded, resuming; /* resuming: a journal asked for this range */
  struct ferry__content_range cr;
  int64_t content_length; /* -1: none */
  uint64_t start, end;    /* the range asked, [start, end) */
};
struct ferry__probe_file {
  enum ferry__probe_kind kind;
  uint64_t size;      /* when size_known */
  int size_known;     /* 0 only for a whole stream of unknown length */
  uint64_t end;       /* where the probe's own data ends (FERRY__UNKNOWN: at the stream's end) */
};
/* Fills *out from the answer; the kinds from BAD_START on are errors of the job. */
void ferry__plan_probe(const struct ferry__probe_answer *a, struct ferry__probe_file *out);

/* The validator of a file's bytes: a strong ETag, else Last-Modified, else "" (a weak ETag
 * does not name bytes). *is_etag says which. */
const char *ferry__plan_validator(const char *etag, const char *last_modified, int *is_etag);

/* Error for a finished transfer (0 = the transfer itself went fine). */
int ferry__classify_curl(CURLcode rc);
/* Error for a final HTTP status of a request of kind (FERRY__X_*), 0 for 200/206. */
int ferry__classify_status(int status, int kind);
/* The low-speed rule of the stall watchdog: a request that received fewer than this many
 * bytes per second (headers count) over the stall window is stalled, like a silent one.
 * 1 KiB/s, scaled down when --limit-rate makes every request slow on purpose: a quarter of
 * a request's share of the cap (`limit_rate` bytes/s over `inflight` requests). */
uint64_t ferry__low_speed_limit(uint64_t limit_rate, int inflight);

/* Error for a transfer libcurl ended with `rc` before (headers_done = 0) or after the end of
 * the response headers, `errbuf` its message: libcurl 7.88 reports a header line over its
 * 100 KiB limit as out of memory, saying so in newer versions ("... header ...") and plain "Out
 * of memory" in 7.88. Before the headers' end that is a malformed answer when the message
 * names a header, or when memory is evidently left (`memory_left`: the caller could allocate
 * a megabyte just now); otherwise it is memory. */
int ferry__classify_transfer(CURLcode rc, int headers_done, const char *errbuf, int memory_left);

#endif
