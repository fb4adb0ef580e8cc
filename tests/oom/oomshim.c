/* The allocation-failure shim of `ferry-oom` (tests/oom): the ferry command line, linked with
 * this file, that fails the Nth allocation of a run when FERRY_OOM_NTH=N is set.
 *
 * Every allocation is counted, one counter for all of them (atomic: libcurl resolves names
 * on threads), and only the Nth fails; every later one succeeds, so the run must still end
 * cleanly, with ferry's error or success, nothing leaked and no wrong file.
 *   - ferry's own calls (libferry and the command line): the link wraps malloc, calloc,
 *     realloc, strdup, strndup, posix_memalign and aligned_alloc (-Wl,--wrap=..., see
 *     CMakeLists.txt). --wrap rewrites only the references of the objects being linked, so
 *     it reaches every allocation ferry's code makes and none that a shared library makes;
 *     no source file of ferry carries a test hook.
 *   - the libraries, through their own allocator hooks: OpenSSL (CRYPTO_set_mem_functions),
 *     jansson (json_set_alloc_funcs), libuv (uv_replace_allocator), set before main; libcurl
 *     (curl_global_init_mem) in place of ferry's curl_global_init (-Wl,--wrap too). nghttp2
 *     and zlib allocate with the plain allocator (libcurl gives them none of its hooks) and
 *     are not counted.
 * FERRY_OOM_TRACE=1: the stack of the allocation that fails is printed on stderr (the test
 * reruns a failing N with it, to say where). FERRY_OOM_REPORT=FILE: at exit, the number of
 * allocations counted is written to FILE (so a sweep knows how far N goes). Without FERRY_OOM_NTH nothing fails. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);

void __sanitizer_print_stack_trace(void); /* ASan's: the tree ferry-oom is built in */

static unsigned long fail_at; /* 0: never */
static unsigned long counted;
static int trace;             /* FERRY_OOM_TRACE=1: the failed allocation's stack on stderr */

/* 1 when this allocation is the one to fail. */
static int fail_now(void) {
  unsigned long n = __atomic_add_fetch(&counted, 1, __ATOMIC_RELAXED);
  if (!fail_at || n != fail_at) return 0;
  if (trace) {
    fprintf(stderr, "ferry-oom: allocation %lu fails here:\n", n);
    __sanitizer_print_stack_trace();
  }
  return 1;
}

void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return fail_now() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return fail_now() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return fail_now() ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { return fail_now() ? NULL : __real_strndup(s, n); }
int __wrap_posix_memalign(void **p, size_t align, size_t n) {
  return fail_now() ? ENOMEM : __real_posix_memalign(p, align, n);
}
void *__wrap_aligned_alloc(size_t align, size_t n) {
  return fail_now() ? NULL : __real_aligned_alloc(align, n);
}

/* OpenSSL's hooks carry the caller's file and line. */
static void *ossl_malloc(size_t n, const char *file, int line) {
  (void)file, (void)line;
  return __wrap_malloc(n);
}
static void *ossl_realloc(void *p, size_t n, const char *file, int line) {
  (void)file, (void)line;
  return __wrap_realloc(p, n);
}
static void ossl_free(void *p, const char *file, int line) {
  (void)file, (void)line;
  free(p);
}
static void plain_free(void *p) { free(p); }

static void report(void) {
  const char *path = getenv("FERRY_OOM_REPORT");
  FILE *f = path && *path ? fopen(path, "w") : NULL;
  if (f) {
    fprintf(f, "%lu\n", __atomic_load_n(&counted, __ATOMIC_RELAXED));
    fclose(f);
  }
}

__attribute__((constructor)) static void oom_setup(void) {
  const char *nth = getenv("FERRY_OOM_NTH");
  const char *t = getenv("FERRY_OOM_TRACE");
  trace = t && strcmp(t, "1") == 0;
  /* before anything allocates through them: OpenSSL refuses once it has allocated */
  if (!CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free)) {
    fputs("ferry-oom: CRYPTO_set_mem_functions refused (OpenSSL allocated before)\n", stderr);
    _exit(99);
  }
  if (uv_replace_allocator(__wrap_malloc, __wrap_realloc, __wrap_calloc, plain_free)) {
    fputs("ferry-oom: uv_replace_allocator refused\n", stderr);
    _exit(99);
  }
  json_set_alloc_funcs(__wrap_malloc, plain_free);
  /* OpenSSL's one-time initialisation (what libcurl's global init asks for) runs here, before
   * counting starts: OpenSSL 3.0 cannot recover from a failed allocation inside it (its
   * run-once setup of the default library context leaves a NULL lock, and the next RAND call
   * crashes in OpenSSL), whoever calls it. Its allocations go through the hooks all the
   * same; every later one of OpenSSL's is counted. */
  OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_ENGINE_ALL_BUILTIN, NULL);
  __atomic_store_n(&counted, 0, __ATOMIC_RELAXED);
  if (nth && *nth) fail_at = strtoul(nth, NULL, 10);
  atexit(report);
}

/* libcurl's hooks go in with its global init, so ferry's own curl_global_init (wrapped too)
 * becomes curl_global_init_mem at the same point of the run, and its result, a failure
 * included, is what ferry sees. */
CURLcode __wrap_curl_global_init(long flags) {
  return curl_global_init_mem(flags, __wrap_malloc, plain_free, __wrap_realloc, __wrap_strdup,
                              __wrap_calloc);
}
