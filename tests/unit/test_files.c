/* Unit tests for engine/src/files.c: new files that no planted symbolic link can redirect,
 * reads that do not follow one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assert.h"
#include "files.h"

#define PRECIOUS "not ferry's\n"

static void tmp(char *out, const char *name) {
  snprintf(out, 4096, "%s/%s", ferry_unit_tmpdir(), name);
}

static void write_text(const char *path, const char *text) {
  ASSERT_EQ_INT(ferry__write_atomic(path, text, strlen(text), 0644), 0);
}

static void assert_text(const char *path, const char *want) {
  char *text = NULL;
  size_t len;
  int found = 0;
  ASSERT_EQ_INT(ferry__read_small(path, 4096, &text, &len, &found), 0);
  ASSERT_EQ_INT(found, 1);
  ASSERT_EQ_STR(text, want);
  free(text);
}

void test_files_open_new_replaces_a_link(void) {
  char victim[4096], part[4096], dangling[4096], gone[4096];
  tmp(victim, "victim"), tmp(part, "f.part"), tmp(dangling, "g.part"), tmp(gone, "gone");
  write_text(victim, PRECIOUS);
  ASSERT_EQ_INT(symlink(victim, part), 0);
  int fd = ferry__open_new(part, O_WRONLY, 0644);
  ASSERT_TRUE(fd >= 0);
  ASSERT_EQ_INT((int)write(fd, "data", 4), 4);
  close(fd);
  assert_text(victim, PRECIOUS); /* the link went, not its target */
  ASSERT_EQ_INT(ferry__is_symlink(part), 0);
  assert_text(part, "data");
  /* a dangling link: its target is not created */
  ASSERT_EQ_INT(symlink(gone, dangling), 0);
  ASSERT_EQ_INT(ferry__is_symlink(dangling), 1);
  fd = ferry__open_new(dangling, O_WRONLY, 0644);
  ASSERT_TRUE(fd >= 0);
  close(fd);
  ASSERT_TRUE(access(gone, F_OK) != 0);
  /* an existing file is replaced by an empty new one, never truncated in place: a hard link
   * to it (someone else's name for the same inode) keeps its bytes */
  char other[4096];
  tmp(other, "other-name");
  ASSERT_EQ_INT(link(part, other), 0);
  fd = ferry__open_new(part, O_WRONLY, 0644);
  ASSERT_TRUE(fd >= 0);
  struct stat st;
  ASSERT_EQ_INT(fstat(fd, &st), 0);
  close(fd);
  ASSERT_EQ_U64((uint64_t)st.st_size, 0);
  assert_text(other, "data");
}

void test_files_read_small_nofollow(void) {
  char victim[4096], link[4096], fifo[4096];
  tmp(victim, "victim"), tmp(link, "x.ferry-lock"), tmp(fifo, "y.ferry-lock");
  write_text(victim, PRECIOUS);
  ASSERT_EQ_INT(symlink(victim, link), 0);
  char *text = NULL;
  size_t len;
  int found = 0;
  ASSERT_EQ_INT(ferry__read_small(link, 4096, &text, &len, &found), 0); /* follows */
  ASSERT_EQ_INT(found, 1);
  free(text);
  ASSERT_EQ_INT(ferry__read_small_nofollow(link, 4096, &text, &len, &found), FERRY_E_IO);
  ASSERT_TRUE(text == NULL);
  /* a FIFO neither blocks the reader nor counts as a file */
  ASSERT_EQ_INT(mkfifo(fifo, 0644), 0);
  ASSERT_EQ_INT(ferry__read_small_nofollow(fifo, 4096, &text, &len, &found), FERRY_E_IO);
  /* a missing file is not an error */
  char missing[4096];
  tmp(missing, "missing");
  ASSERT_EQ_INT(ferry__read_small_nofollow(missing, 4096, &text, &len, &found), 0);
  ASSERT_EQ_INT(found, 0);
}
