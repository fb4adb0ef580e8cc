/* Fuzz target: the model-card checker (engine/hub/card.c). Any bytes must give 0 or
 * FERRY_E_CARD_INVALID (never a crash, a hang or a leak), and a report that agrees with it:
 * errors exactly when invalid, at most FERRY_CARD_MAX_ISSUES kept, every place inside the
 * text, every message non-empty. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ferry.h"

static void check_issues(const struct ferry_card_issue *v, size_t n, int lines) {
  if (n > FERRY_CARD_MAX_ISSUES) abort();
  for (size_t i = 0; i < n; i++) {
    if (v[i].line < 0 || v[i].line > lines || v[i].column < 0) abort();
    if ((v[i].line == 0) != (v[i].column == 0)) abort();
    if (!v[i].message[0] || !memchr(v[i].message, 0, sizeof(v[i].message))) abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  enum ferry_card_type type = data[0] & 1 ? FERRY_CARD_DATASET : FERRY_CARD_MODEL;
  const char *text = (const char *)data + 1;
  size--;
  int lines = 1;
  for (size_t i = 0; i < size; i++) lines += text[i] == '\n' || text[i] == '\r';
  struct ferry_card_report rep;
  int r = ferry_card_check(text, size, type, &rep);
  if (r != 0 && r != FERRY_E_CARD_INVALID) abort();
  if ((r == 0) != (rep.n_errors == 0)) abort();
  check_issues(rep.errors, rep.n_errors, lines);
  check_issues(rep.warnings, rep.n_warnings, lines);
  ferry_card_report_free(&rep);
  return 0;
}
