/* upload_parts: the journal of a multipart upload in progress, so a killed `ferry upload`
 * resumes without sending accepted parts again (as long as the storage still accepts the
 * presigned URLs). The part URLs are credentials: the file is 0600. Lines are appended
 * without fsync: the journal must survive a killed process, not a power cut (after which
 * the upload simply starts again). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hub.h"

#define EXPIRY_MARGIN 300 /* seconds: a URL about to expire is not worth starting on */
#define JOURNAL_MAX (64u << 20)

static int journal_path(const char *dir, const char *oid, char **out) {
  return ferry__hub_fmt(out, FERRY__HUB_PATH_MAX, "%s/%s.json", dir, oid);
}

static void reset(struct ferry__parts_journal *j) {
  memset(j, 0, sizeof(*j));
  j->fd = -1;
}

void ferry__parts_journal_close(struct ferry__parts_journal *j) {
  if (j->fd >= 0) close(j->fd);
  for (size_t i = 0; j->etags && i < j->action.nparts; i++) free(j->etags[i]);
  free(j->etags);
  ferry__lfs_action_free(&j->action);
  free(j->file);
  reset(j);
}

void ferry__parts_journal_remove(struct ferry__parts_journal *j) {
  if (j->file) unlink(j->file);
  ferry__parts_journal_close(j);
}

static int open_append(struct ferry__parts_journal *j) {
  j->fd = open(j->file, O_WRONLY | O_APPEND | O_CLOEXEC);
  return j->fd >= 0 ? 0 : FERRY_E_IO;
}

int ferry__parts_journal_create(const char *dir, const struct ferry__lfs_action *a,
                                struct ferry__parts_journal *j) {
  reset(j);
  int err = ferry__mkdirs(dir);
  if (!err) err = journal_path(dir, a->oid, &j->file);
  if (err) return err;
  j->expires_at = a->expires_in > 0 ? (int64_t)time(NULL) + a->expires_in : 0;
  json_t *urls = json_array();
  for (size_t i = 0; urls && i < a->nparts; i++) json_array_append_new(urls, json_string(a->part_urls[i]));
  json_t *head = json_pack("{s:i, s:s, s:I, s:I, s:s, s:s?, s:I, s:o}", "version", 1, "oid", a->oid,
                           "size", (json_int_t)a->size, "chunk_size", (json_int_t)a->chunk_size,
                           "complete", a->href, "verify", a->verify_href, "expires_at",
                           (json_int_t)j->expires_at, "parts", urls);
  char *text = head ? json_dumps(head, JSON_COMPACT) : NULL;
  json_decref(head);
  char *line = NULL;
  if (!text || ferry__hub_fmt(&line, JOURNAL_MAX, "%s\n", text)) err = FERRY_E_NOMEM;
  free(text);
  if (!err) err = ferry__write_atomic(j->file, line, strlen(line), 0600);
  free(line);
  /* Our own copy of the URLs. */
  struct ferry__lfs_action *c = &j->action;
  memcpy(c->oid, a->oid, sizeof(c->oid));
  c->size = a->size, c->chunk_size = a->chunk_size, c->nparts = a->nparts;
  c->href = strdup(a->href);
  c->verify_href = a->verify_href ? strdup(a->verify_href) : NULL;
  c->part_urls = calloc(a->nparts ? a->nparts : 1, sizeof(char *));
  j->etags = calloc(a->nparts ? a->nparts : 1, sizeof(char *));
  if (!c->href || !c->part_urls || !j->etags || (a->verify_href && !c->verify_href)) {
    c->nparts = 0;
    err = err ? err : FERRY_E_NOMEM;
  }
  for (size_t i = 0; !err && i < a->nparts; i++)
    if (!(c->part_urls[i] = strdup(a->part_urls[i]))) err = FERRY_E_NOMEM;
  if (!err) err = open_append(j);
  if (err) ferry__parts_journal_remove(j);
  return err;
}

int ferry__parts_journal_accept(struct ferry__parts_journal *j, size_t index, const char *etag) {
  if (index >= j->action.nparts) return FERRY_E_INVAL;
  free(j->etags[index]);
  if (!(j->etags[index] = strdup(etag))) return FERRY_E_NOMEM;
  json_t *o = json_pack("{s:I, s:s}", "part", (json_int_t)index + 1, "etag", etag);
  char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (!text) return FERRY_E_NOMEM;
  size_t n = strlen(text);
  text[n] = '\n'; /* json_dumps' NUL becomes the line end: one write, one line */
  ssize_t w = j->fd >= 0 ? write(j->fd, text, n + 1) : -1;
  free(text);
  return w == (ssize_t)(n + 1) ? 0 : FERRY_E_IO;
}

static int load_head(struct ferry__parts_journal *j, json_t *h, const char *oid, uint64_t size) {
  struct ferry__lfs_action *a = &j->action;
  const char *o = json_string_value(json_object_get(h, "oid"));
  const char *complete = json_string_value(json_object_get(h, "complete"));
  const char *verify = json_string_value(json_object_get(h, "verify"));
  json_t *parts = json_object_get(h, "parts");
  json_int_t jsize = json_integer_value(json_object_get(h, "size"));
  json_int_t chunk = json_integer_value(json_object_get(h, "chunk_size"));
  if (json_integer_value(json_object_get(h, "version")) != 1 || !o || strcmp(o, oid) ||
      jsize != (json_int_t)size || chunk <= 0 || !complete || !json_is_array(parts))
    return -1;
  size_t n = json_array_size(parts);
  if (n != (size + (uint64_t)chunk - 1) / (uint64_t)chunk) return -1;
  j->expires_at = json_integer_value(json_object_get(h, "expires_at"));
  memcpy(a->oid, oid, 65);
  a->size = size, a->chunk_size = (uint64_t)chunk;
  a->href = strdup(complete);
  a->verify_href = verify ? strdup(verify) : NULL;
  a->part_urls = calloc(n ? n : 1, sizeof(char *));
  j->etags = calloc(n ? n : 1, sizeof(char *));
  if (!a->href || !a->part_urls || !j->etags) return -1;
  for (size_t i = 0; i < n; i++) {
    const char *u = json_string_value(json_array_get(parts, i));
    if (!u || !(a->part_urls[i] = strdup(u))) return -1;
    a->nparts = i + 1;
  }
  return 0;
}

int ferry__parts_journal_load(const char *dir, const char *oid, uint64_t size,
                              struct ferry__parts_journal *j) {
  reset(j);
  if (journal_path(dir, oid, &j->file)) return 0;
  char *text = NULL;
  size_t len = 0;
  int found = 0;
  if (ferry__read_small(j->file, JOURNAL_MAX, &text, &len, &found) || !found) {
    free(text);
    ferry__parts_journal_close(j);
    return 0;
  }
  int ok = 1;
  char *line = text, *nl = strchr(line, '\n');
  json_t *head = nl ? json_loadb(line, (size_t)(nl - line), 0, NULL) : NULL;
  if (!head || load_head(j, head, oid, size) != 0) ok = 0;
  json_decref(head);
  int64_t now = (int64_t)time(NULL);
  if (ok && j->expires_at && j->expires_at - EXPIRY_MARGIN < now) ok = 0;
  /* Accepted parts; a torn last line (no '\n') is ignored. */
  for (line = nl ? nl + 1 : NULL; ok && line && (nl = strchr(line, '\n')); line = nl + 1) {
    json_t *p = json_loadb(line, (size_t)(nl - line), 0, NULL);
    json_int_t part = json_integer_value(json_object_get(p, "part"));
    const char *etag = json_string_value(json_object_get(p, "etag"));
    if (part >= 1 && (size_t)part <= j->action.nparts && etag && etag[0]) {
      free(j->etags[part - 1]);
      j->etags[part - 1] = strdup(etag);
    }
    json_decref(p);
  }
  free(text);
  if (ok && open_append(j) == 0) return 1;
  ferry__parts_journal_remove(j);
  return 0;
}
