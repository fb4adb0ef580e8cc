/* xxh3_fast: XXH3-64 of a buffer, as XXH3_64bits, using AVX2 when the CPU has it. */
#ifndef FERRY_XXH3_FAST_H
#define FERRY_XXH3_FAST_H

#include <stddef.h>
#include <stdint.h>

uint64_t ferry__xxh3(const void *data, size_t len);

#endif
