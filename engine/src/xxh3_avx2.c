/* xxh3_avx2: xxHash's inline XXH3 built for AVX2 (see xxh3_fast.c; built with -mavx2). The
 * state is xxHash's XXH3_state_t in memory xxh3_fast.c has checked for size and alignment. */
#include <stddef.h>
#include <stdint.h>

#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_AVX2
#include <xxhash.h>

uint64_t ferry__xxh3_avx2(const void *data, size_t len);
void ferry__xxh3_avx2_reset(void *state);
void ferry__xxh3_avx2_update(void *state, const void *data, size_t len);
uint64_t ferry__xxh3_avx2_digest(const void *state);

uint64_t ferry__xxh3_avx2(const void *data, size_t len) { return XXH3_64bits(data, len); }
void ferry__xxh3_avx2_reset(void *state) { XXH3_64bits_reset(state); }
void ferry__xxh3_avx2_update(void *state, const void *data, size_t len) {
  XXH3_64bits_update(state, data, len);
}
uint64_t ferry__xxh3_avx2_digest(const void *state) { return XXH3_64bits_digest(state); }
