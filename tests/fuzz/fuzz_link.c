/* Fuzz target: the Link header of a listing (engine/hub/tree.c ferry__hub_link_next, and
 * listing.c ferry__hub_next_page_path, which decides where the token goes next). Any value:
 * a next link is an absolute http(s) URL (the scheme in any case); a next page path is only given for a URL on the
 * endpoint (same origin, under its path), and it is what follows the endpoint in that URL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hub.h"

static const char *const ENDPOINTS[] = {"https://hub.example", "http://127.0.0.1:8080",
                                        "https://hub.example/mirror"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const char *endpoint = ENDPOINTS[data[0] % 3];
  data++, size--;
  char *value = malloc(size + 1);
  if (!value) abort();
  memcpy(value, data, size);
  value[size] = 0;

  char *url = NULL;
  int err = ferry__hub_link_next(value, size, &url);
  if (err && url) abort();
  if (url && strncasecmp(url, "https://", 8) != 0 && strncasecmp(url, "http://", 7) != 0) abort();

  char *path = NULL;
  int perr = ferry__hub_next_page_path(endpoint, value, &path);
  if (perr && path) abort();
  if (path) {
    /* fed up to the first NUL: the same link, so the same URL */
    char *url2 = NULL;
    if (ferry__hub_link_next(value, strlen(value), &url2) || !url2) abort();
    size_t n = strlen(endpoint);
    if (strncmp(url2, endpoint, n) || url2[n] != '/' || strcmp(url2 + n, path)) abort();
    if (!ferry__hub_same_origin(url2, endpoint)) abort();
    free(url2);
  }
  free(path);
  free(url);
  free(value);
  return 0;
}
