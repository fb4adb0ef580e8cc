/* xxh3_fast: XXH3 of a block, through xxHash's own AVX2 code when the CPU has it.
 * Debian's libxxhash is built for baseline x86-64 (SSE2) and costs ~0.2 CPU s/GB here;
 * the inline AVX2 variant of the same algorithm (same result, bit for bit) is several
 * times faster. This file alone is compiled with -mavx2 and only called after a CPU check. */
#include "xxh3_fast.h"

#include <xxhash.h>

#if defined(__x86_64__) && defined(__GNUC__)
uint64_t ferry__xxh3_avx2(const void *data, size_t len);

uint64_t ferry__xxh3(const void *data, size_t len) {
  static int has_avx2 = -1;
  if (has_avx2 < 0) has_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
  return has_avx2 ? ferry__xxh3_avx2(data, len) : XXH3_64bits(data, len);
}
#else
uint64_t ferry__xxh3(const void *data, size_t len) { return XXH3_64bits(data, len); }
#endif
