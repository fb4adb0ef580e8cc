/* env: what the commands take from the command line or the environment in one way: the CA
 * bundle, and the warning for a token given as an argument. */
#include <stdio.h>
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

void cli_warn_token_argument(void) {
  fprintf(stderr, "ferry: warning: a token on the command line is visible to other users "
                  "(process list); prefer HF_TOKEN or a stored login (`ferry auth login` "
                  "reads it from the terminal)\n");
}
