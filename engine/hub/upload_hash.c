/* upload_hash: the hashes an upload needs (SHA-256 of LFS files, git blob SHA-1 of regular
 * ones), computed on worker threads while the caller uploads what is already hashed, and a
 * cache of them keyed by (path, size, mtime, inode) so an unchanged folder is not re-read. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"
#include "grow.h"

#define READ_SIZE (1u << 20)
#define CACHE_MAGIC "ferry-upload-hashes 1"

int ferry__hash_file(const char *path, int git_sha1, uint64_t size, const struct ferry_stop *stop,
                     uint64_t *progress, char *hex) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? FERRY_E_CHANGED : FERRY_E_IO;
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  unsigned char *buf = malloc(READ_SIZE);
  int err = ctx && buf ? 0 : FERRY_E_NOMEM;
  if (!err) EVP_DigestInit_ex(ctx, git_sha1 ? EVP_sha1() : EVP_sha256(), NULL);
  if (!err && git_sha1) {
    char head[48];
    int n = snprintf(head, sizeof(head), "blob %llu", (unsigned long long)size);
    EVP_DigestUpdate(ctx, head, (size_t)n + 1);
  }
  uint64_t total = 0;
  ssize_t n = 0;
  while (!err && (n = read(fd, buf, READ_SIZE)) > 0) {
    EVP_DigestUpdate(ctx, buf, (size_t)n);
    total += (uint64_t)n;
    if (progress) __atomic_add_fetch(progress, (uint64_t)n, __ATOMIC_RELAXED);
    if (ferry_stop_requested(stop)) err = FERRY_E_INTERRUPTED;
  }
  if (!err && n < 0) err = FERRY_E_IO;
  if (!err && total != size) err = FERRY_E_CHANGED; /* written to while we read it */
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!err) EVP_DigestFinal_ex(ctx, md, &len);
  for (unsigned i = 0; !err && i < len; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
  EVP_MD_CTX_free(ctx);
  free(buf);
  close(fd);
  return err;
}

/* ---- the cache ------------------------------------------------------------------------ */

struct cached {
  const char *path;           /* in the cache's strings */
  uint64_t size, ino;
  int64_t mtime_ns;
  unsigned char sha256[32], sha1[20];
  unsigned has_sha256 : 1, has_sha1 : 1;
};

struct ferry__hash_cache {
  char *dir, *file;
  struct cached *v;
  size_t n;
  struct ferry__hub_strings *strings;
  FILE *spool;                /* the lines of the windows done so far (an unlinked file) */
  int spool_error;
};

static int by_path(const void *a, const void *b) {
  return strcmp(((const struct cached *)a)->path, ((const struct cached *)b)->path);
}

/* One line: size, mtime_ns, inode, sha256 or "-", sha1 or "-", path (tabs between). */
static int parse_line(char *line, struct cached *c, struct ferry__hub_strings **strings) {
  char *f[6];
  for (int i = 0; i < 5; i++) {
    f[i] = line;
    char *tab = strchr(line, '\t');
    if (!tab) return -1;
    *tab = 0;
    line = tab + 1;
  }
  f[5] = line;
  char *end;
  c->size = strtoull(f[0], &end, 10);
  if (*end) return -1;
  c->mtime_ns = strtoll(f[1], &end, 10);
  if (*end) return -1;
  c->ino = strtoull(f[2], &end, 10);
  if (*end) return -1;
  c->has_sha256 = strcmp(f[3], "-") != 0;
  c->has_sha1 = strcmp(f[4], "-") != 0;
  if ((c->has_sha256 && ferry__hub_unhex(f[3], c->sha256, 32)) ||
      (c->has_sha1 && ferry__hub_unhex(f[4], c->sha1, 20)) || !f[5][0])
    return -1;
  size_t np = strlen(f[5]) + 1;
  char *path = ferry__hub_strings_alloc(strings, np);
  if (!path) return -1;
  c->path = memcpy(path, f[5], np);
  return 0;
}

static void load(struct ferry__hash_cache *c) {
  FILE *fp = fopen(c->file, "re");
  if (!fp) return;
  char *line = NULL;
  size_t cap = 0, alloc = 0;
  ssize_t len = getline(&line, &cap, fp);
  int ok = len > 0 && !strncmp(line, CACHE_MAGIC "\n", (size_t)len);
  while (ok && (len = getline(&line, &cap, fp)) > 0) {
    if (line[len - 1] != '\n') break; /* a torn last line: ignore it */
    line[len - 1] = 0;
    if (ferry__grow(&c->v, &alloc, c->n + 1, sizeof(*c->v), 256) != 0) break;
    if (parse_line(line, &c->v[c->n], &c->strings) == 0) c->n++;
  }
  free(line);
  fclose(fp);
  if (c->n) qsort(c->v, c->n, sizeof(*c->v), by_path);
}

int ferry__hash_cache_open(const char *dir, const char *folder, struct ferry__hash_cache **out) {
  *out = NULL;
  struct ferry__hash_cache *c = calloc(1, sizeof(*c));
  if (!c) return FERRY_E_NOMEM;
  unsigned char md[32];
  EVP_Digest(folder, strlen(folder), md, NULL, EVP_sha256(), NULL);
  char hex[33];
  for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
  int err = ferry__hub_fmt(&c->file, FERRY__HUB_PATH_MAX, "%s/%s.tsv", dir, hex);
  if (!err && !(c->dir = strdup(dir))) err = FERRY_E_NOMEM;
  if (err) {
    free(c->file);
    free(c);
    return err;
  }
  load(c);
  *out = c;
  return 0;
}

void ferry__hash_cache_lookup(const struct ferry__hash_cache *c, const char *local,
                              struct ferry__upload_file *f) {
  if (!c || !c->n) return;
  struct cached key = {.path = local};
  const struct cached *hit = bsearch(&key, c->v, c->n, sizeof(*c->v), by_path);
  if (!hit || hit->size != f->size || hit->mtime_ns != f->mtime_ns || hit->ino != f->ino) return;
  /* the hash of the file's mode (preupload's answer), when the cache has that one */
  if (f->lfs && hit->has_sha256) memcpy(f->hash, hit->sha256, 32), f->hashed = 1;
  if (!f->lfs && hit->has_sha1) memcpy(f->hash, hit->sha1, 20), f->hashed = 1;
}

static void drop_loaded(struct ferry__hash_cache *c) {
  ferry__hub_strings_free(&c->strings);
  free(c->v);
  c->v = NULL, c->n = 0;
}

static int put_line(FILE *fp, uint64_t size, int64_t mtime_ns, uint64_t ino, const char *h256,
                    const char *h1, const char *local) {
  if (strchr(local, '\n') || strchr(local, '\t')) return 0; /* not representable */
  return fprintf(fp, "%llu\t%lld\t%llu\t%s\t%s\t%s\n", (unsigned long long)size,
                 (long long)mtime_ns, (unsigned long long)ino, h256, h1, local) < 0
             ? FERRY_E_IO : 0;
}

/* The spool lives on disk beside the cache, not in memory: a million files' lines are
 * 150 MB. An unlinked file (O_TMPFILE), so a killed run leaves nothing behind. */
static FILE *spool_open(struct ferry__hash_cache *c) {
  if (ferry__mkdirs(c->dir)) return NULL;
  int fd = open(c->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  FILE *fp = fd >= 0 ? fdopen(fd, "w+") : NULL;
  if (!fp && fd >= 0) close(fd);
  return fp;
}

int ferry__hash_cache_add(struct ferry__hash_cache *c, const struct ferry__upload_list *l) {
  if (!c->spool && !c->spool_error && !(c->spool = spool_open(c))) c->spool_error = FERRY_E_IO;
  for (size_t i = 0; !c->spool_error && i < l->n; i++) {
    const struct ferry__upload_file *f = &l->v[i];
    if (!f->hashed) continue;
    char buf[FERRY__HUB_PATH_MAX];
    char h256[65] = "-", h1[41] = "-";
    if (f->lfs) ferry__hub_hex(f->hash, 32, h256);
    else ferry__hub_hex(f->hash, 20, h1);
    c->spool_error = put_line(c->spool, f->size, f->mtime_ns, f->ino, h256, h1,
                              ferry__upload_local(l, f->path, buf));
  }
  return c->spool_error;
}

struct save {
  struct ferry__hash_cache *c;
  const struct ferry__upload_list *l;
  size_t from;
};

/* The spool, then the loaded lines of the files no window reached (a run that ended early
 * keeps them for the next one). */
static int write_lines(FILE *fp, void *user) {
  struct save *s = user;
  struct ferry__hash_cache *c = s->c;
  if (fprintf(fp, "%s\n", CACHE_MAGIC) < 0) return FERRY_E_IO;
  if (c->spool) {
    char buf[1 << 16];
    size_t n;
    if (fflush(c->spool) != 0 || fseek(c->spool, 0, SEEK_SET) != 0) return FERRY_E_IO;
    while ((n = fread(buf, 1, sizeof(buf), c->spool)) > 0)
      if (fwrite(buf, 1, n, fp) != n) return FERRY_E_IO;
    if (ferror(c->spool)) return FERRY_E_IO;
  }
  for (size_t i = s->from; c->n && i < s->l->n_e; i++) {
    const struct ferry__upload_entry *e = &s->l->e[i];
    char buf[FERRY__HUB_PATH_MAX];
    struct cached key = {.path = ferry__upload_local(s->l, e->path, buf)};
    const struct cached *hit = bsearch(&key, c->v, c->n, sizeof(*c->v), by_path);
    if (!hit || hit->size != e->size || hit->mtime_ns != e->mtime_ns || hit->ino != e->ino)
      continue;
    char h256[65] = "-", h1[41] = "-";
    if (hit->has_sha256) ferry__hub_hex(hit->sha256, 32, h256);
    if (hit->has_sha1) ferry__hub_hex(hit->sha1, 20, h1);
    int err = put_line(fp, hit->size, hit->mtime_ns, hit->ino, h256, h1, key.path);
    if (err) return err;
  }
  return 0;
}

int ferry__hash_cache_save(struct ferry__hash_cache *c, const struct ferry__upload_list *l,
                           size_t from) {
  if (c->spool_error) return c->spool_error; /* the old cache stays: better than a short one */
  struct save s = {.c = c, .l = l, .from = from};
  return ferry__write_atomic_with(c->file, 0600, write_lines, &s);
}

void ferry__hash_cache_free(struct ferry__hash_cache *c) {
  if (!c) return;
  drop_loaded(c);
  if (c->spool) fclose(c->spool);
  free(c->dir);
  free(c->file);
  free(c);
}

/* ---- the worker threads ---------------------------------------------------------------- */

struct ferry__hasher {
  struct ferry__upload_list *l;
  uint32_t *todo;
  size_t n, next_todo;
  uint32_t *done;                 /* completion order */
  size_t ndone, next_done;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t *threads;
  int nthreads;
  const struct ferry_stop *stop;
  uint64_t bytes;
};

static void *hash_worker(void *arg) {
  struct ferry__hasher *h = arg;
  for (;;) {
    pthread_mutex_lock(&h->mu);
    size_t k = h->next_todo < h->n ? h->todo[h->next_todo++] : (size_t)-1;
    pthread_mutex_unlock(&h->mu);
    if (k == (size_t)-1) return NULL;
    struct ferry__upload_file *f = &h->l->v[k];
    char hex[65] = "";
    char buf[FERRY__HUB_PATH_MAX];
    int err = ferry__hash_file(ferry__upload_local(h->l, f->path, buf), !f->lfs, f->size, h->stop, &h->bytes, hex);
    pthread_mutex_lock(&h->mu);
    if (!err && ferry__hub_unhex(hex, f->hash, f->lfs ? 32 : 20))
      err = FERRY_E_IO; /* cannot happen: our own digest's hex */
    f->hash_error = err;
    f->hashed = !err;
    h->done[h->ndone++] = (uint32_t)k;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
  }
}

int ferry__hasher_start(struct ferry__upload_list *l, const uint32_t *todo, size_t n, int threads,
                        const struct ferry_stop *stop, struct ferry__hasher **out) {
  *out = NULL;
  struct ferry__hasher *h = calloc(1, sizeof(*h));
  if (!h) return FERRY_E_NOMEM;
  h->l = l, h->n = n, h->stop = stop;
  h->todo = malloc((n ? n : 1) * sizeof(*h->todo));
  h->done = malloc((n ? n : 1) * sizeof(*h->done));
  if (threads < 1) threads = 1;
  if ((size_t)threads > n) threads = n ? (int)n : 1;
  h->threads = calloc((size_t)threads, sizeof(pthread_t));
  if (!h->todo || !h->done || !h->threads) {
    free(h->todo), free(h->done), free(h->threads), free(h);
    return FERRY_E_NOMEM;
  }
  if (n) memcpy(h->todo, todo, n * sizeof(*h->todo));
  pthread_mutex_init(&h->mu, NULL);
  pthread_cond_init(&h->cv, NULL);
  for (int i = 0; i < threads && n; i++) {
    if (pthread_create(&h->threads[i], NULL, hash_worker, h) != 0) break;
    h->nthreads++;
  }
  if (n && !h->nthreads) {
    ferry__hasher_free(h);
    return FERRY_E_INTERNAL;
  }
  *out = h;
  return 0;
}

int ferry__hasher_next(struct ferry__hasher *h, size_t *index) {
  pthread_mutex_lock(&h->mu);
  while (h->next_done == h->ndone && h->ndone < h->n) pthread_cond_wait(&h->cv, &h->mu);
  int got = h->next_done < h->ndone;
  if (got) *index = h->done[h->next_done++];
  pthread_mutex_unlock(&h->mu);
  return got;
}

int ferry__hasher_ready(struct ferry__hasher *h) {
  pthread_mutex_lock(&h->mu);
  int ready = h->next_done < h->ndone || h->ndone == h->n;
  pthread_mutex_unlock(&h->mu);
  return ready;
}

uint64_t ferry__hasher_bytes(struct ferry__hasher *h) {
  return __atomic_load_n(&h->bytes, __ATOMIC_RELAXED);
}

void ferry__hasher_free(struct ferry__hasher *h) {
  if (!h) return;
  pthread_mutex_lock(&h->mu);
  h->next_todo = h->n; /* no new work: the threads end after their current file */
  pthread_mutex_unlock(&h->mu);
  for (int i = 0; i < h->nthreads; i++) pthread_join(h->threads[i], NULL);
  pthread_mutex_destroy(&h->mu);
  pthread_cond_destroy(&h->cv);
  free(h->todo), free(h->done), free(h->threads);
  free(h);
}
