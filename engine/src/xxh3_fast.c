/* xxh3_fast: XXH3 through xxHash's own AVX2 code when the CPU has it. Debian's libxxhash is
 * built for baseline x86-64 (SSE2) and costs ~0.2 CPU s/GB here; the inline AVX2 variant of
 * the same algorithm (same result, bit for bit) is several times faster. xxh3_avx2.c alone is
 * compiled with -mavx2 and only called after a CPU check. */
#include "xxh3_fast.h"

#include <assert.h>
#include <stdatomic.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

static_assert(sizeof(XXH3_state_t) <= sizeof(struct ferry__xxh3_state), "XXH3 state too large");
static_assert(_Alignof(XXH3_state_t) <= _Alignof(struct ferry__xxh3_state), "XXH3 state alignment");

#if defined(__x86_64__) && defined(__GNUC__)
uint64_t ferry__xxh3_avx2(const void *data, size_t len);
void ferry__xxh3_avx2_reset(void *state);
void ferry__xxh3_avx2_update(void *state, const void *data, size_t len);
uint64_t ferry__xxh3_avx2_digest(const void *state);

static int has_avx2(void) {
  /* Several threads may ask first: each computes the same value, stored atomically. */
  static atomic_int known = -1;
  int v = atomic_load_explicit(&known, memory_order_relaxed);
  if (v < 0) {
    v = __builtin_cpu_supports("avx2") ? 1 : 0;
    atomic_store_explicit(&known, v, memory_order_relaxed);
  }
  return v;
}
#else
static int has_avx2(void) { return 0; }
#define ferry__xxh3_avx2(d, l) 0
#define ferry__xxh3_avx2_reset(s)
#define ferry__xxh3_avx2_update(s, d, l)
#define ferry__xxh3_avx2_digest(s) 0
#endif

uint64_t ferry__xxh3(const void *data, size_t len) {
  return has_avx2() ? ferry__xxh3_avx2(data, len) : XXH3_64bits(data, len);
}

void ferry__xxh3_reset(struct ferry__xxh3_state *s) {
  if (has_avx2()) ferry__xxh3_avx2_reset(s->opaque);
  else XXH3_64bits_reset((XXH3_state_t *)s->opaque);
}

void ferry__xxh3_update(struct ferry__xxh3_state *s, const void *data, size_t len) {
  if (has_avx2()) ferry__xxh3_avx2_update(s->opaque, data, len);
  else XXH3_64bits_update((XXH3_state_t *)s->opaque, data, len);
}

uint64_t ferry__xxh3_digest(const struct ferry__xxh3_state *s) {
  return has_avx2() ? ferry__xxh3_avx2_digest(s->opaque)
                    : XXH3_64bits_digest((const XXH3_state_t *)s->opaque);
}
