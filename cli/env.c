/* env: the CA bundle from the command line or the environment, in one order for every command. */
#include <stdlib.h>

#include "cli.h"

const char *cli_cacert(const char *given, int with_requests) {
  const char *names[] = {"SSL_CERT_FILE", "CURL_CA_BUNDLE", with_requests ? "REQUESTS_CA_BUNDLE" : 0};
  if (given && *given) return given;
  for (int i = 0; i < 3 && names[i]; i++) {
    const char *v = getenv(names[i]);
    if (v && *v) return v;
  }
  return NULL;
}
