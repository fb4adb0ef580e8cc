/* xxh3_fast: XXH3-64 of a buffer, as XXH3_64bits, using AVX2 when the CPU has it; and the
 * same hash computed piece by piece while a block fills. */
#ifndef FERRY_XXH3_FAST_H
#define FERRY_XXH3_FAST_H

#include <stddef.h>
#include <stdint.h>

uint64_t ferry__xxh3(const void *data, size_t len);

/* Room for xxHash's XXH3_state_t (xxh3_fast.c checks the size at compile time). */
struct ferry__xxh3_state {
  _Alignas(64) unsigned char opaque[640];
};

void ferry__xxh3_reset(struct ferry__xxh3_state *s);
void ferry__xxh3_update(struct ferry__xxh3_state *s, const void *data, size_t len);
uint64_t ferry__xxh3_digest(const struct ferry__xxh3_state *s);

#endif
