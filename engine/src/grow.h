/* Growing an array by doubling: the one way ferry's lists make room (engine and hub). */
#ifndef FERRY_GROW_H
#define FERRY_GROW_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Room for `need` elements of `elem` bytes in the array that `array` points to (a pointer to
 * the array's pointer, of any element type), whose capacity is *cap elements; the capacity
 * doubles, from `first` for an empty array. Returns 0 (the array and *cap updated, or
 * untouched when there was room) or -1 when out of memory or the size would overflow (the
 * array is left as it was). The pointer goes through memcpy: a `T **` is not a `void **`. */
static inline int ferry__grow(void *array, size_t *cap, size_t need, size_t elem, size_t first) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : first ? first : 1;
  while (c < need) {
    if (c > SIZE_MAX / 2) return -1;
    c *= 2;
  }
  if (elem && c > SIZE_MAX / elem) return -1;
  void *old;
  memcpy(&old, array, sizeof old);
  void *grown = realloc(old, c * elem);
  if (!grown) return -1;
  memcpy(array, &grown, sizeof grown);
  *cap = c;
  return 0;
}

#endif
