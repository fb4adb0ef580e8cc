/* plan: scheduler decisions without side effects (see plan.h). */
#include "plan.h"

#include <string.h>

#include "internal.h"

void ferry__plan_probe(const struct ferry__probe_answer *a, struct ferry__probe_file *out) {
  memset(out, 0, sizeof(*out));
  out->size_known = 1;
  if (a->status == 206 && a->has_cr == 1 && a->cr.total >= 0 && !a->encoded) {
    out->size = (uint64_t)a->cr.total;
    out->end = a->end;
    if (a->cr.first != (int64_t)a->start) out->kind = FERRY__PROBE_BAD_START;
    else out->kind = FERRY__PROBE_RANGES;
    if (out->kind == FERRY__PROBE_RANGES && (uint64_t)a->cr.last + 1 < out->end)
      out->end = (uint64_t)a->cr.last + 1; /* the server sent less than asked */
  } else if (a->status == 206) {
    out->kind = FERRY__PROBE_NO_RANGE;
  } else if (a->status == 416 && a->has_cr == 1 && a->cr.total == 0) {
    out->kind = FERRY__PROBE_EMPTY;
    out->end = a->start;
  } else if (a->status == 416) {
    out->kind = a->resuming ? FERRY__PROBE_SHORTER : FERRY__PROBE_UNSATISFIABLE;
  } else {
    out->kind = FERRY__PROBE_WHOLE;
    if (a->encoded || a->content_length < 0) {
      out->size_known = 0;
      out->end = FERRY__UNKNOWN;
    } else {
      out->size = (uint64_t)a->content_length;
      out->end = out->size;
    }
  }
}

const char *ferry__plan_validator(const char *etag, const char *last_modified, int *is_etag) {
  *is_etag = etag[0] && strncmp(etag, "W/", 2) != 0;
  return *is_etag ? etag : last_modified;
}

int ferry__plan_next(const struct ferry__ivset *unassigned, uint64_t chunk, uint64_t *start,
                     uint64_t *end) {
  if (!unassigned->n) return -1;
  struct ferry__range r = unassigned->r[0];
  uint64_t e = r.end - r.start > chunk ? r.start + chunk : r.end;
  if (r.end - e < chunk / 4) e = r.end;
  *start = r.start;
  *end = e;
  return 0;
}

int ferry__plan_last(const struct ferry__ivset *unassigned, uint64_t chunk, uint64_t align,
                     uint64_t *start, uint64_t *end) {
  if (!unassigned->n) return -1;
  struct ferry__range r = unassigned->r[unassigned->n - 1];
  uint64_t s = r.start;
  if (r.end - r.start > chunk) {
    s = (r.end - chunk) / align * align;
    if (s < r.start || s - r.start < chunk / 4) s = r.start;
  }
  *start = s;
  *end = r.end;
  return 0;
}

uint64_t ferry__plan_split(uint64_t cursor, uint64_t end, uint64_t min_split, uint64_t align) {
  if (end <= cursor || end - cursor < 2 * min_split) return 0;
  uint64_t mid = cursor + (end - cursor) / 2;
  mid = (mid + align - 1) / align * align;
  return mid < end ? mid : 0;
}

uint64_t ferry__plan_handover(uint64_t cursor, uint64_t block_end, uint64_t end,
                              uint64_t min_split, uint64_t align) {
  uint64_t cut = block_end > cursor ? block_end : cursor;
  cut = (cut + align - 1) / align * align;
  return cut < end && end - cut >= min_split ? cut : 0;
}

int ferry__classify_curl(CURLcode rc) {
  switch (rc) {
  case CURLE_OK: return 0;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY: return FERRY_E_RESOLVE;
  case CURLE_COULDNT_CONNECT: return FERRY_E_CONNECT;
  case CURLE_OPERATION_TIMEDOUT: return FERRY_E_STALLED;
  case CURLE_PARTIAL_FILE:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM: return FERRY_E_RESET;
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH: return FERRY_E_TLS;
  case CURLE_SSL_CONNECT_ERROR: return FERRY_E_CONNECT; /* often a reset in the handshake */
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_BAD_CONTENT_ENCODING:
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT: return FERRY_E_PROTOCOL;
  case CURLE_OUT_OF_MEMORY: return FERRY_E_NOMEM;
  default: return FERRY_E_NETWORK;
  }
}

int ferry__classify_status(int status, int kind) {
  if (status == 200 || status == 206) return 0;
  /* If-Match failed, or the range no longer fits: the file is not the one we started. */
  if (status == 412 || (status == 416 && kind == FERRY__X_RANGE)) return FERRY_E_CHANGED;
  if (status == 429) return FERRY_E_RATELIMIT;
  if (status == 408 || status >= 500) return FERRY_E_HTTP_RETRY;
  return FERRY_E_HTTP;
}

#define LOW_SPEED_BYTES_PER_S 1024

uint64_t ferry__low_speed_limit(uint64_t limit_rate, int inflight) {
  if (!limit_rate) return LOW_SPEED_BYTES_PER_S;
  uint64_t share = limit_rate / (uint64_t)(inflight > 0 ? inflight : 1) / 4;
  return share < 1 ? 1 : share < LOW_SPEED_BYTES_PER_S ? share : LOW_SPEED_BYTES_PER_S;
}

int ferry__classify_transfer(CURLcode rc, int headers_done, const char *errbuf, int memory_left) {
  if (rc == CURLE_OUT_OF_MEMORY && !headers_done &&
      ((errbuf && strcasestr(errbuf, "header")) || memory_left))
    return FERRY_E_PROTOCOL;
  return ferry__classify_curl(rc);
}
