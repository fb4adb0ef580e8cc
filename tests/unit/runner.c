/* runner: the one unit-test binary.
 *
 *   ferry_unit          runs every test in list.h and prints TAP
 *   ferry_unit NAME     runs one test (what each CTest entry does)
 *   ferry_unit --list   prints the test names
 *
 * Each test runs in its own forked process, so a crash, an abort from a failed assertion or
 * a sanitizer report fails that test alone. The child's output is captured and printed as
 * TAP diagnostics. A test that runs longer than its timeout (10 s, scaled by the environment
 * variable FERRY_TEST_TIMEOUT_MULTIPLIER for sanitizer or valgrind runs) is killed. */
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "assert.h"
#include "list.h"

#define X(name) void test_##name(void);
FERRY_UNIT_TESTS(X)
#undef X

struct unit_test {
  const char *name;
  void (*fn)(void);
};

static const struct unit_test tests[] = {
#define X(name) {#name, test_##name},
    FERRY_UNIT_TESTS(X)
#undef X
};
#define NTESTS (sizeof(tests) / sizeof(tests[0]))

/* CMake reads list.h and registers one CTest entry per name; it passes how many it found.
 * A line it could not read would leave a test unregistered, so the build stops here. */
#ifdef FERRY_UNIT_REGISTERED
_Static_assert(NTESTS == FERRY_UNIT_REGISTERED,
               "tests/unit/list.h and the CTest entries in tests/unit/CMakeLists.txt differ");
#endif

#define BASE_TIMEOUT_MS 10000.0
#define MAX_CAPTURE (256u << 10)

char ferry_unit_note[512];
static char tmpdir[4096];

const char *ferry_unit_tmpdir(void) { return tmpdir; }

void ferry_unit_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s:%d: assertion failed: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  if (ferry_unit_note[0]) fprintf(stderr, "    while: %s\n", ferry_unit_note);
  fflush(stderr);
  abort();
}

static long timeout_ms(void) {
  double mult = 1.0;
  const char *s = getenv("FERRY_TEST_TIMEOUT_MULTIPLIER");
  if (s && *s) {
    char *end;
    double m = strtod(s, &end);
    if (*end == 0 && m > 0 && m < 1000) mult = m;
  }
  return (long)(BASE_TIMEOUT_MS * mult);
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  return remove(path);
}

/* Prints captured output as TAP diagnostics, one "# " per line. */
static void print_diagnostics(const char *buf, size_t len) {
  size_t i = 0;
  while (i < len) {
    const char *nl = memchr(buf + i, '\n', len - i);
    size_t n = nl ? (size_t)(nl - (buf + i)) : len - i;
    printf("# %.*s\n", (int)n, buf + i);
    i += n + 1;
  }
}

/* Runs one test in a child process; prints its TAP line. Returns 1 when it passed. */
static int run_test(const struct unit_test *t, int number) {
  const char *base = getenv("TMPDIR");
  snprintf(tmpdir, sizeof(tmpdir), "%s/ferry-unit-XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(tmpdir)) {
    printf("not ok %d - %s # cannot create a temporary directory: %s\n", number, t->name,
           strerror(errno));
    return 0;
  }
  int out[2];
  if (pipe(out) != 0) {
    printf("not ok %d - %s # pipe: %s\n", number, t->name, strerror(errno));
    return 0;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    printf("not ok %d - %s # fork: %s\n", number, t->name, strerror(errno));
    close(out[0]);
    close(out[1]);
    return 0;
  }
  if (pid == 0) {
    close(out[0]);
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    close(out[1]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    t->fn();
    fflush(stdout);
    exit(0);
  }
  close(out[1]);

  /* Collect output until the child closes the pipe or the deadline passes. */
  long limit = timeout_ms(), deadline = now_ms() + limit;
  char *buf = malloc(MAX_CAPTURE);
  size_t len = 0;
  int timed_out = 0, status = 0, reaped = 0;
  for (;;) {
    long left = deadline - now_ms();
    if (left <= 0) {
      timed_out = 1;
      break;
    }
    struct pollfd pfd = {out[0], POLLIN, 0};
    int r = poll(&pfd, 1, (int)(left > 100 ? 100 : left));
    if (r < 0 && errno != EINTR) break;
    if (r > 0) {
      char tmp[4096];
      ssize_t n = read(out[0], tmp, sizeof(tmp));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break; /* EOF: the child is exiting */
      size_t keep = (size_t)n;
      if (buf && len + keep > MAX_CAPTURE) keep = MAX_CAPTURE - len;
      if (buf) memcpy(buf + len, tmp, keep), len += keep;
    }
  }
  /* Wait for the child itself, still bounded by the deadline. */
  while (!timed_out) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      reaped = 1;
      break;
    }
    if (w < 0 && errno != EINTR) break;
    if (now_ms() >= deadline) timed_out = 1;
    else usleep(2000);
  }
  if (!reaped) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  close(out[0]);
  nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);

  if (buf) print_diagnostics(buf, len);
  free(buf);
  int ok = 0;
  if (timed_out)
    printf("not ok %d - %s # timed out after %ld ms\n", number, t->name, limit);
  else if (WIFSIGNALED(status))
    printf("not ok %d - %s # killed by signal %d (%s)\n", number, t->name, WTERMSIG(status),
           strsignal(WTERMSIG(status)));
  else if (WEXITSTATUS(status) != 0)
    printf("not ok %d - %s # exit status %d\n", number, t->name, WEXITSTATUS(status));
  else {
    printf("ok %d - %s\n", number, t->name);
    ok = 1;
  }
  fflush(stdout);
  return ok;
}

int main(int argc, char **argv) {
  if (argc > 2 || (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))) {
    fprintf(stderr, "usage: %s [--list | NAME]\n", argv[0]);
    return 2;
  }
  if (argc == 2 && !strcmp(argv[1], "--list")) {
    for (size_t i = 0; i < NTESTS; i++) printf("%s\n", tests[i].name);
    return 0;
  }
  if (argc == 2) {
    for (size_t i = 0; i < NTESTS; i++) {
      if (strcmp(tests[i].name, argv[1]) != 0) continue;
      printf("TAP version 13\n1..1\n");
      return run_test(&tests[i], 1) ? 0 : 1;
    }
    fprintf(stderr, "%s: no test named '%s' (see --list)\n", argv[0], argv[1]);
    return 2;
  }
  printf("TAP version 13\n1..%zu\n", NTESTS);
  size_t failed = 0;
  for (size_t i = 0; i < NTESTS; i++)
    if (!run_test(&tests[i], (int)i + 1)) failed++;
  if (failed) printf("# %zu of %zu tests failed\n", failed, NTESTS);
  return failed ? 1 : 0;
}
