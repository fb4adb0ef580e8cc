/* align.h: requests that cover a cache tier's slices whole (engine.c), for the Hub client's
 * mirror round (engine/hub/download.c). */
#ifndef FERRY_ALIGN_H
#define FERRY_ALIGN_H

#include <stdint.h>

#include "ferry.h"

/* From now on the requests of `e` start and end on multiples of `slice` bytes where the file
 * allows, and none that the engine plans is smaller. A cache that stores a file in slices
 * (deploy/mirror's nginx announces its size in X-Ferry-Mirror-Slice) then fetches each slice
 * for one request: a slice across two requests' boundary would make the second wait on the
 * first's cache lock, and in nginx that wait is polled every 500 ms. `slice` must be a
 * multiple of 64 KiB up to 64 MiB; other values change nothing (returns 0, else 1). Between
 * runs only. */
int ferry__engine_align_requests(struct ferry_engine *e, uint64_t slice);

#endif
