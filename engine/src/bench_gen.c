/* bench_gen: the bytes `ferry bench --upload` sends, made on demand instead of read from a
 * disk (the disk would then be part of the figure). Every 8-byte word is a function of the
 * seed and its index alone (SplitMix64's output step), so any range can be made again, in
 * any order and by any request: a retried part resends the same bytes, and the object's
 * SHA-256 (the LFS oid, needed before the first byte is sent) is computed by making the
 * object once ahead of sending it, never holding it. Whole words are plain stores: 2.5-4 GB/s
 * on one core of the 2-core test machine (1.2-1.3 GB/s when every word went through the
 * partial-word path), against 1.4 GB/s for SHA-256 there. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static uint64_t word(uint64_t seed, uint64_t i) {
  uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void ferry__bench_gen_fill(uint64_t seed, uint64_t offset, char *buf, size_t len) {
  uint64_t i = offset / 8, w;
  size_t skip = (size_t)(offset % 8);
  if (skip && len) { /* the rest of a word begun before offset */
    w = word(seed, i++);
    size_t take = 8 - skip < len ? 8 - skip : len;
    memcpy(buf, (const char *)&w + skip, take);
    buf += take, len -= take;
  }
  for (; len >= 8; buf += 8, len -= 8) { /* whole words: a plain store each */
    w = word(seed, i++);
    memcpy(buf, &w, 8);
  }
  if (len) {
    w = word(seed, i);
    memcpy(buf, &w, len);
  }
}

int ferry__bench_gen_sha256(uint64_t seed, uint64_t size, const volatile int *stop,
                            char hex[65]) {
  enum { CHUNK = 1 << 20 };
  char *buf = malloc(CHUNK);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int err = buf && ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ? 0 : FERRY_E_NOMEM;
  for (uint64_t off = 0; !err && off < size; off += CHUNK) {
    if (stop && *stop) err = FERRY_E_INTERRUPTED;
    size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
    ferry__bench_gen_fill(seed, off, buf, n);
    if (!err && !EVP_DigestUpdate(ctx, buf, n)) err = FERRY_E_INTERNAL;
  }
  unsigned char md[32];
  if (!err && !EVP_DigestFinal_ex(ctx, md, NULL)) err = FERRY_E_INTERNAL;
  for (int k = 0; !err && k < 32; k++) snprintf(hex + 2 * k, 3, "%02x", md[k]);
  EVP_MD_CTX_free(ctx);
  free(buf);
  return err;
}
