/* xxh3_avx2: xxHash's inline XXH3 built for AVX2 (see xxh3_fast.c; built with -mavx2). */
#include <stddef.h>
#include <stdint.h>

#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_AVX2
#include <xxhash.h>

uint64_t ferry__xxh3_avx2(const void *data, size_t len);
uint64_t ferry__xxh3_avx2(const void *data, size_t len) { return XXH3_64bits(data, len); }
