/* bench_gen: the bytes `ferry bench --upload` sends, made on demand instead of read from a
 * disk (the disk would then be part of the figure). Every 8-byte word is a function of the
 * seed and its index alone (SplitMix64's output step), so any range can be made again, in
 * any order and by any request: a retried part resends the same bytes, and the object's
 * SHA-256 (the LFS oid, needed before the first byte is sent) is computed by making the
 * object once ahead of sending it, never holding it. A few GB/s on one core: the generator
 * costs little beside the SHA-256 and TLS of the upload itself. */
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
  uint64_t i = offset / 8;
  size_t skip = (size_t)(offset % 8);
  while (len) {
    uint64_t w = word(seed, i++);
    size_t take = 8 - skip < len ? 8 - skip : len;
    memcpy(buf, (const char *)&w + skip, take);
    buf += take, len -= take, skip = 0;
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
