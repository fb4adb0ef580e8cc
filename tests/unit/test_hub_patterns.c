/* Unit tests for engine/hub/patterns.c: --include/--exclude as huggingface_hub's
 * filter_repo_objects (hub-protocol.md §4.2). The expected values of the table are what
 * Python 3.11's fnmatch.fnmatchcase answers for the same pattern and path after the same
 * preparation (backslash -> '/', trailing '/' gets a '*'). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "assert.h"
#include "test_hub_env.h"

struct pattern_case {
  const char *pattern, *path;
  int match;
};

static const struct pattern_case cases[] = {
    /* '*' crosses folders; patterns are anchored at both ends */
    {"*.json", "config.json", 1},
    {"*.json", "a/b/config.json", 1},
    {"data/*.json", "data/sub/x.json", 1},
    {"data/*.json", "data/x.json", 1},
    {"data/*.json", "other/data/x.json", 0},
    {"*", "x/y/z", 1},
    {"sub/*", "sub/x/y", 1},
    /* a trailing '/' means the folder */
    {"data/", "data/a.txt", 1},
    {"data/", "data/sub/a.txt", 1},
    {"data/", "data", 0},
    {"data/", "database/a", 0},
    /* backslashes are folder separators */
    {"data\\", "data/a.txt", 1},
    {"data\\*.txt", "data/a.txt", 1},
    {"*.txt", "data\\a.txt", 1},
    /* case-sensitive */
    {"*.JSON", "a.json", 0},
    /* '?' is one character, '/' included */
    {"?.bin", "a.bin", 1},
    {"?.bin", "ab.bin", 0},
    {"?.bin", "/.bin", 1},
    /* sets */
    {"model-0000[1-3].safetensors", "model-00002.safetensors", 1},
    {"model-0000[1-3].safetensors", "model-00004.safetensors", 0},
    {"[!a]*", "abc", 0},
    {"[!a]*", "bcd", 1},
    {"[^a]*", "abc", 1}, /* Python: a set of '^' and 'a', not a negation */
    {"[^a]*", "^x", 1},
    {"[^a]*", "bcd", 0},
    {"[", "[", 1},
    {"a[b", "a[b", 1},
    {"[]]", "]", 1},
    {"[!]]", "a", 1},
    {"[!]]", "]", 0},
    {"[!]", "x", 0},
    {"[!]", "[!]", 1},
    {"[a-]", "-", 1},
    {"[-a]", "-", 1},
    {"[a-c]", "b", 1},
    {"[[:alpha:]]", "a", 0}, /* no character classes in Python */
    {"[[:alpha:]]", ":]", 1},
    {"[[]", "[", 1},
    /* '**' is just two stars */
    {"**/*.bin", "a/b.bin", 1},
    {"**/*.bin", "b.bin", 0},
    {"**", "x/y", 1},
    /* dot files are not special */
    {".*", "a/.hidden", 0},
    {".*", ".git/x", 1},
    {"*.safetensors", "model.safetensors.index.json", 0},
    /* UTF-8 names */
    {"日本/*.txt", "日本/ファイル.txt", 1},
    {"*/ü*", "x/über", 1},
    /* '?' and sets see characters, not bytes */
    {"?", "é", 1},
    {"??", "é", 0},
    {"?.txt", "日.txt", 1},
    {"??.txt", "日.txt", 0},
    {"[é]", "é", 1},
    {"[é][é]", "é", 0},
    {"[!é]", "e", 1},
    {"[!é]", "é", 0},
    {"[a-é]", "b", 1},
    {"[a-é]", "ÿ", 0},
    {"[a-é]", "é", 1},
    /* Python's range clean-up: a reversed range is dropped and its ends merged */
    {"[b-a]", "a", 0},
    {"[c-ax]", "x", 1},
    {"*[[-*!.]", "]!.", 0},
    {"*[[-*!.]", "]!x", 1},
};

void test_hub_patterns_table(void) {
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    TEST_NOTE("pattern \"%s\" path \"%s\"", cases[i].pattern, cases[i].path);
    ASSERT_EQ_INT(ferry__hub_pattern_match(cases[i].pattern, cases[i].path), cases[i].match);
  }
}

void test_hub_patterns_allow_ignore(void) {
  const char *const allow[] = {"*.json", "*.safetensors"};
  const char *const ignore[] = {"*.bin", "secret/"};
  /* no lists: everything stays */
  ASSERT_EQ_INT(ferry__hub_patterns_keep(NULL, 0, NULL, 0, "a/b.bin"), 1);
  /* allow only */
  ASSERT_EQ_INT(ferry__hub_patterns_keep(allow, 2, NULL, 0, "config.json"), 1);
  ASSERT_EQ_INT(ferry__hub_patterns_keep(allow, 2, NULL, 0, "w/model.safetensors"), 1);
  ASSERT_EQ_INT(ferry__hub_patterns_keep(allow, 2, NULL, 0, "model.bin"), 0);
  /* ignore only */
  ASSERT_EQ_INT(ferry__hub_patterns_keep(NULL, 0, ignore, 2, "model.bin"), 0);
  ASSERT_EQ_INT(ferry__hub_patterns_keep(NULL, 0, ignore, 2, "secret/key.json"), 0);
  ASSERT_EQ_INT(ferry__hub_patterns_keep(NULL, 0, ignore, 2, "config.json"), 1);
  /* both: must be allowed AND not ignored; ignore wins over allow */
  ASSERT_EQ_INT(ferry__hub_patterns_keep(allow, 2, ignore, 2, "secret/key.json"), 0);
  ASSERT_EQ_INT(ferry__hub_patterns_keep(allow, 2, ignore, 2, "config.json"), 1);
  ASSERT_EQ_INT(ferry__hub_patterns_keep(allow, 2, ignore, 2, "README.md"), 0);
  const char *const allow_bin[] = {"*.bin"};
  ASSERT_EQ_INT(ferry__hub_patterns_keep(allow_bin, 1, ignore, 2, "model.bin"), 0);
}

void test_hub_patterns_limits(void) {
  static char longp[FERRY__HUB_PATH_MAX + 2];
  memset(longp, 'a', sizeof(longp) - 1);
  ASSERT_EQ_INT(ferry__hub_pattern_match("*", longp), FERRY_E_INVAL);
  ASSERT_EQ_INT(ferry__hub_pattern_match(longp, "a"), FERRY_E_INVAL);
  const char *const allow[] = {longp};
  ASSERT_EQ_INT(ferry__hub_patterns_keep(allow, 1, NULL, 0, "a"), FERRY_E_INVAL);
  /* the empty pattern matches only the empty path */
  ASSERT_EQ_INT(ferry__hub_pattern_match("", ""), 1);
  ASSERT_EQ_INT(ferry__hub_pattern_match("", "a"), 0);
}

/* Differential test: random patterns and paths over the characters that matter, answered by
 * this code and by Python's fnmatch.fnmatchcase (/usr/bin/python3, which the integration
 * tests need anyway) after huggingface_hub's preparation; every answer must agree. */
void test_hub_patterns_vs_python(void) {
  static const char *const atoms[] = {"a", "b", "c", "/", "*", "?", "[", "]", "!", "^", "-", ".",
                                      "\\", "\xc3\xa9", "\xe6\x97\xa5", "z", "&", "~", "|", ":"};
  enum { N = 3000, ATOMS = sizeof(atoms) / sizeof(atoms[0]) };
  static char pats[N][64], paths[N][64];
  uint32_t rnd = 2024;
  char *list = NULL;
  ASSERT_EQ_INT(ferry__hub_fmt(&list, 4096, "%s/cases.txt", ferry_unit_tmpdir()), 0);
  FILE *f = fopen(list, "w");
  ASSERT_NOT_NULL(f);
  for (int i = 0; i < N; i++) {
    rnd = rnd * 1103515245u + 12345u;
    int pl = (int)((rnd >> 16) % 12), sl = (int)((rnd >> 8) % 8);
    for (int k = 0; k < pl; k++) {
      rnd = rnd * 1103515245u + 12345u;
      strcat(pats[i], atoms[(rnd >> 16) % ATOMS]);
    }
    for (int k = 0; k < sl; k++) {
      rnd = rnd * 1103515245u + 12345u;
      strcat(paths[i], atoms[(rnd >> 16) % ATOMS]);
    }
    fprintf(f, "%s\t%s\n", pats[i], paths[i]);
  }
  ASSERT_EQ_INT(fclose(f), 0);
  char *cmd = NULL;
  ASSERT_EQ_INT(ferry__hub_fmt(&cmd, 8192,
                               "/usr/bin/python3 -c '"
                               "import sys\n"
                               "from fnmatch import fnmatchcase\n"
                               "for line in open(sys.argv[1], encoding=\"utf-8\"):\n"
                               "    p, s = line.rstrip(\"\\n\").split(\"\\t\")\n"
                               "    p = p.replace(\"\\\\\", \"/\"); s = s.replace(\"\\\\\", \"/\")\n"
                               "    p = p + \"*\" if p.endswith(\"/\") else p\n"
                               "    print(int(fnmatchcase(s, p)))\n"
                               "' %s",
                               list),
                0);
  FILE *py = popen(cmd, "r");
  ASSERT_NOT_NULL(py);
  int answers = 0;
  for (int i = 0; i < N; i++) {
    int want = -1;
    if (fscanf(py, "%d", &want) != 1) break;
    answers++;
    TEST_NOTE("pattern \"%s\" path \"%s\" (python says %d)", pats[i], paths[i], want);
    ASSERT_EQ_INT(ferry__hub_pattern_match(pats[i], paths[i]), want);
  }
  ASSERT_EQ_INT(pclose(py), 0);
  ASSERT_EQ_INT(answers, N);
  free(cmd), free(list);
}

void test_hub_patterns_many_characters(void) {
  /* more than 128 distinct non-ASCII characters: matched as UTF-8 (see patterns.c) */
  char path[1024] = "", pat[16];
  for (int i = 0; i < 200; i++) { /* U+4E00.. : three bytes each */
    unsigned cp = 0x4E00 + (unsigned)i;
    char ch[4] = {(char)(0xE0 | (cp >> 12)), (char)(0x80 | ((cp >> 6) & 0x3F)), (char)(0x80 | (cp & 0x3F)), 0};
    strcat(path, ch);
  }
  ASSERT_EQ_INT(ferry__hub_pattern_match("*", path), 1);
  pat[0] = '*';
  memcpy(pat + 1, path + 597, 4); /* the last character and its NUL */
  ASSERT_EQ_INT(ferry__hub_pattern_match(pat, path), 1);
  ASSERT_EQ_INT(ferry__hub_pattern_match("*.txt", path), 0);
  ASSERT_EQ_INT(ferry__hub_pattern_match("\xe4\xb8\x80*", path), 1); /* U+4E00 first */
}
