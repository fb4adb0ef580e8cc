/* err: the one error table (FERRY_ERRNO_MAP in ferry.h) turned into lookups. */
#include "ferry.h"

struct err_entry {
  int code;
  const char *name;
  const char *message;
  int exit_class;
  int retryable;
};

static const struct err_entry table[] = {
#define FERRY__ERR_ROW(name, value, cls, retry, msg) {value, #name, msg, cls, retry},
    FERRY_ERRNO_MAP(FERRY__ERR_ROW)
#undef FERRY__ERR_ROW
};

static const struct err_entry *find(int err) {
  for (unsigned i = 0; i < sizeof(table) / sizeof(table[0]); i++)
    if (table[i].code == err) return &table[i];
  return 0;
}

const char *ferry_strerror(int err) {
  if (err == 0) return "ok";
  const struct err_entry *e = find(err);
  return e ? e->message : "unknown error";
}

const char *ferry_err_name(int err) {
  if (err == 0) return "OK";
  const struct err_entry *e = find(err);
  return e ? e->name : "UNKNOWN";
}

int ferry_is_retryable(int err) {
  const struct err_entry *e = find(err);
  return e ? e->retryable : 0;
}

int ferry_exit_class(int err) {
  if (err == 0) return FERRY_EXIT_OK;
  const struct err_entry *e = find(err);
  return e ? e->exit_class : FERRY_EXIT_OTHER;
}
