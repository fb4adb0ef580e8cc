/* cache.c: the Hugging Face cache layout byte for byte (hub-protocol.md §3): roots from the
 * environment, repo folders, blobs, snapshots and their relative symlinks, refs, .no_exist
 * markers, CACHEDIR.TAG, the no-symlink probe, and the --local-dir metadata files (§3.6).
 * Every file is written atomically (ferry__write_atomic, engine/src/files.c). Also the safety
 * check for file names that come from the server (§2.1). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <openssl/rand.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub.h"

const char ferry__hub_cachedir_tag[] =
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by huggingface_hub.\n"
    "# For information about cache directory tags, see:\n"
    "#\thttps://bford.info/cachedir/\n";

int ferry__hub_path_check(const char *path, char *why, size_t why_len) {
  if (!path || !*path)
    return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "empty file name from the server");
  size_t len = strlen(path);
  if (len > FERRY__HUB_PATH_MAX)
    return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len,
                          "file name from the server is too long (%zu bytes)", len);
  if (path[0] == '/')
    return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len,
                          "refusing absolute file name from the server: '%s'", path);
  if (((path[0] >= 'a' && path[0] <= 'z') || (path[0] >= 'A' && path[0] <= 'Z')) &&
      path[1] == ':')
    return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len,
                          "refusing file name with a drive letter from the server: '%s'", path);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)path[i];
    if (c == '\\')
      return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len,
                            "refusing file name with a backslash from the server: '%s'", path);
    if (c < 0x20 || c == 0x7f)
      return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len,
                            "refusing file name with a control character from the server");
  }
  const char *seg = path;
  for (;;) {
    const char *end = strchr(seg, '/');
    size_t n = end ? (size_t)(end - seg) : strlen(seg);
    if (n == 0)
      return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len,
                            "refusing file name with an empty part from the server: '%s'", path);
    if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
      return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len,
                            "refusing file name with a '.' or '..' part from the server: '%s'",
                            path);
    if (!end) break;
    seg = end + 1;
  }
  return 0;
}

/* ---- roots --------------------------------------------------------------------------------- */

static const char *env_nonempty(const struct ferry__hub_env *env, const char *name) {
  const char *v = ferry__hub_env_get(env, name);
  return v && *v ? v : NULL;
}

static int is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Python's os.path.expandvars(os.path.expanduser(s)) on POSIX: a leading "~" (alone or before
 * '/') becomes $HOME (or the password database's home), then $NAME and ${NAME} are replaced
 * when the variable is set and left as they are otherwise. */
int ferry__hub_expand_path(const struct ferry__hub_env *env, const char *s, char **out) {
  *out = NULL;
  char *user = NULL;
  if (s[0] == '~' && (s[1] == 0 || s[1] == '/')) {
    const char *home = ferry__hub_env_get(env, "HOME");
    struct passwd pwd, *pw = NULL;
    char pwbuf[4096];
    if (!home && getpwuid_r(getuid(), &pwd, pwbuf, sizeof(pwbuf), &pw) == 0 && pw)
      home = pw->pw_dir;
    if (home) {
      size_t hl = strlen(home);
      while (hl > 1 && home[hl - 1] == '/') hl--; /* expanduser strips a trailing '/' */
      int r = ferry__hub_fmt(&user, FERRY__HUB_PATH_MAX, "%.*s%s", (int)hl, home, s + 1);
      if (r) return r;
      s = user;
    }
  }
  char *buf = malloc(FERRY__HUB_PATH_MAX);
  if (!buf) {
    free(user);
    return FERRY_E_NOMEM;
  }
  size_t pos = 0;
  int r = 0;
  for (size_t i = 0; s[i] && !r;) {
    const char *val = NULL;
    size_t skip = 1;
    if (s[i] == '$') {
      char name[256];
      size_t n = 0;
      if (s[i + 1] == '{') {
        const char *close = strchr(s + i + 2, '}');
        if (close && (size_t)(close - (s + i + 2)) < sizeof(name)) {
          n = (size_t)(close - (s + i + 2));
          memcpy(name, s + i + 2, n);
          skip = n + 3;
        }
      } else {
        while (is_name_char(s[i + 1 + n]) && n < sizeof(name) - 1) n++;
        memcpy(name, s + i + 1, n);
        skip = n + 1;
      }
      if (n > 0) {
        name[n] = 0;
        val = ferry__hub_env_get(env, name);
      }
      if (!val) skip = 1; /* unknown: keep the '$' and go on */
    }
    const char *piece = val ? val : s + i;
    size_t pl = val ? strlen(val) : 1;
    if (pos + pl + 1 > FERRY__HUB_PATH_MAX) r = FERRY_E_INVAL;
    else memcpy(buf + pos, piece, pl), pos += pl;
    i += skip;
  }
  free(user);
  if (r) {
    free(buf);
    return r;
  }
  buf[pos] = 0;
  *out = buf;
  return 0;
}

int ferry__hub_home(const struct ferry__hub_env *env, char **out) {
  const char *v = env_nonempty(env, "HF_HOME");
  if (v) return ferry__hub_expand_path(env, v, out);
  char *raw = NULL;
  const char *xdg = env_nonempty(env, "XDG_CACHE_HOME");
  int r = xdg ? ferry__hub_fmt(&raw, FERRY__HUB_PATH_MAX, "%s/huggingface", xdg)
              : ferry__hub_fmt(&raw, FERRY__HUB_PATH_MAX, "~/.cache/huggingface");
  if (r) return r;
  r = ferry__hub_expand_path(env, raw, out);
  free(raw);
  return r;
}

int ferry__hub_cache_root(const struct ferry__hub_env *env, const char *cache_dir, char **out) {
  *out = NULL;
  if (cache_dir && *cache_dir) /* used as given, as huggingface_hub does (the shell expands) */
    return ferry__hub_fmt(out, FERRY__HUB_PATH_MAX, "%s", cache_dir);
  const char *v = env_nonempty(env, "HF_HUB_CACHE");
  if (!v) v = env_nonempty(env, "HUGGINGFACE_HUB_CACHE");
  if (v) return ferry__hub_expand_path(env, v, out);
  char *home = NULL;
  int r = ferry__hub_home(env, &home);
  if (r) return r;
  r = ferry__hub_fmt(out, FERRY__HUB_PATH_MAX, "%s/hub", home);
  free(home);
  return r;
}

/* ---- names and paths ----------------------------------------------------------------------- */

int ferry__hub_repo_folder_name(const struct ferry__hub_repo *repo, char *out, size_t out_len) {
  if (ferry__hub_repo_id_validate(repo->id, NULL, 0)) return FERRY_E_INVAL;
  const char *slash = strchr(repo->id, '/');
  int n = slash ? snprintf(out, out_len, "%s--%.*s--%s", ferry__hub_repo_type_plural(repo->type),
                           (int)(slash - repo->id), repo->id, slash + 1)
                : snprintf(out, out_len, "%s--%s", ferry__hub_repo_type_plural(repo->type),
                           repo->id);
  return n < 0 || (size_t)n >= out_len ? FERRY_E_INVAL : 0;
}

int ferry__hub_repo_dir(const char *cache_root, const struct ferry__hub_repo *repo, char **out) {
  char name[FERRY__HUB_REPO_ID_MAX + 32];
  *out = NULL;
  int r = ferry__hub_repo_folder_name(repo, name, sizeof(name));
  if (r) return r;
  return ferry__hub_fmt(out, FERRY__HUB_PATH_MAX, "%s/%s", cache_root, name);
}

static int etag_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_' || c == '.';
}

int ferry__hub_etag_normalize(const char *etag, char *out, size_t out_len, char *why,
                              size_t why_len) {
  if (!etag) return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "missing etag");
  const char *s = etag;
  while (*s == 'W' || *s == '/') s++; /* str.lstrip("W/") */
  size_t n = strlen(s);
  while (n > 0 && *s == '"') s++, n--; /* str.strip('"') */
  while (n > 0 && s[n - 1] == '"') n--;
  if (n == 0 || n > FERRY__HUB_ETAG_MAX || n + 1 > out_len)
    return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len, "unusable etag from the server");
  for (size_t i = 0; i < n; i++)
    if (!etag_char_ok(s[i]))
      return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len,
                            "etag from the server is not a safe file name");
  if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
    return ferry__hub_why(FERRY_E_PROTOCOL, why, why_len,
                          "etag from the server is not a safe file name");
  memcpy(out, s, n);
  out[n] = 0;
  return 0;
}

static int etag_ok(const char *etag) {
  char tmp[FERRY__HUB_ETAG_MAX + 1];
  return etag && ferry__hub_etag_normalize(etag, tmp, sizeof(tmp), NULL, 0) == 0 &&
         strcmp(tmp, etag) == 0;
}

int ferry__hub_blob_path(const char *repo_dir, const char *etag, char **out) {
  *out = NULL;
  if (!etag_ok(etag)) return FERRY_E_INVAL;
  return ferry__hub_fmt(out, FERRY__HUB_PATH_MAX, "%s/blobs/%s", repo_dir, etag);
}

int ferry__hub_snapshot_path(const char *repo_dir, const char *commit, const char *path,
                             char **out) {
  *out = NULL;
  if (ferry__hub_revision_validate(commit, NULL, 0) || strchr(commit, '/')) return FERRY_E_INVAL;
  if (!path) return ferry__hub_fmt(out, FERRY__HUB_PATH_MAX, "%s/snapshots/%s", repo_dir, commit);
  if (ferry__hub_path_check(path, NULL, 0)) return FERRY_E_INVAL;
  return ferry__hub_fmt(out, FERRY__HUB_PATH_MAX, "%s/snapshots/%s/%s", repo_dir, commit, path);
}

int ferry__hub_symlink_target(const char *path, const char *etag, char **out) {
  *out = NULL;
  if (ferry__hub_path_check(path, NULL, 0) || !etag_ok(etag)) return FERRY_E_INVAL;
  size_t depth = 2; /* snapshots/<commit>/ */
  for (const char *p = path; *p; p++)
    if (*p == '/') depth++;
  size_t len = depth * 3 + strlen("blobs/") + strlen(etag) + 1;
  char *s = malloc(len);
  if (!s) return FERRY_E_NOMEM;
  size_t pos = 0;
  for (size_t i = 0; i < depth; i++) memcpy(s + pos, "../", 3), pos += 3;
  snprintf(s + pos, len - pos, "blobs/%s", etag);
  *out = s;
  return 0;
}

int ferry__hub_lock_path(const char *cache_root, const struct ferry__hub_repo *repo,
                         const char *etag, char **out) {
  char name[FERRY__HUB_REPO_ID_MAX + 32];
  *out = NULL;
  if (!etag_ok(etag)) return FERRY_E_INVAL;
  int r = ferry__hub_repo_folder_name(repo, name, sizeof(name));
  if (r) return r;
  return ferry__hub_fmt(out, FERRY__HUB_PATH_MAX, "%s/.locks/%s/%s.ferry-lock", cache_root, name,
                        etag);
}

int ferry__hub_tree_cache_path(const char *folder, const char *commit, char **out) {
  *out = NULL;
  if (!ferry__hub_is_commit(commit)) return FERRY_E_INVAL;
  return ferry__hub_fmt(out, FERRY__HUB_PATH_MAX, "%s/trees/%s.json", folder, commit);
}

/* ---- refs, .no_exist, CACHEDIR.TAG ------------------------------------------------------------ */

int ferry__hub_ref_write(const char *repo_dir, const char *rev, const char *commit) {
  if (ferry__hub_revision_validate(rev, NULL, 0) || !ferry__hub_is_commit(commit))
    return FERRY_E_INVAL;
  char current[41];
  int found = 0;
  int r = ferry__hub_ref_read(repo_dir, rev, current, &found);
  if (r == 0 && found && strcmp(current, commit) == 0) return 0; /* unchanged */
  char *path = NULL;
  r = ferry__hub_fmt(&path, FERRY__HUB_PATH_MAX, "%s/refs/%s", repo_dir, rev);
  if (r) return r;
  r = ferry__write_atomic(path, commit, 40, 0666);
  free(path);
  return r;
}

int ferry__hub_ref_read(const char *repo_dir, const char *rev, char commit_out[41], int *found) {
  *found = 0;
  commit_out[0] = 0;
  if (ferry__hub_revision_validate(rev, NULL, 0)) return FERRY_E_INVAL;
  char *path = NULL, *text = NULL;
  size_t len;
  int r = ferry__hub_fmt(&path, FERRY__HUB_PATH_MAX, "%s/refs/%s", repo_dir, rev);
  if (r) return r;
  r = ferry__read_small(path, 4096, &text, &len, found);
  free(path);
  if (r || !*found) return r;
  while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
    text[--len] = 0;
  if (!ferry__hub_is_commit(text)) r = FERRY_E_PROTOCOL;
  else memcpy(commit_out, text, 41);
  if (r) *found = 0;
  free(text);
  return r;
}

static int no_exist_path(const char *repo_dir, const char *commit, const char *path, char **out) {
  *out = NULL;
  if (!ferry__hub_is_commit(commit) || ferry__hub_path_check(path, NULL, 0)) return FERRY_E_INVAL;
  return ferry__hub_fmt(out, FERRY__HUB_PATH_MAX, "%s/.no_exist/%s/%s", repo_dir, commit, path);
}

int ferry__hub_no_exist_mark(const char *repo_dir, const char *commit, const char *path) {
  char *p;
  int r = no_exist_path(repo_dir, commit, path, &p);
  if (r) return r;
  r = ferry__write_atomic(p, "", 0, 0666);
  free(p);
  return r;
}

int ferry__hub_no_exist_check(const char *repo_dir, const char *commit, const char *path,
                              int *exists) {
  char *p;
  *exists = 0;
  int r = no_exist_path(repo_dir, commit, path, &p);
  if (r) return r;
  struct stat st;
  *exists = stat(p, &st) == 0 && S_ISREG(st.st_mode);
  free(p);
  return 0;
}

/* Writes `content` to dir/name unless that file exists. */
static int write_if_missing(const char *dir, const char *name, const char *content) {
  char *p = NULL;
  int r = ferry__hub_fmt(&p, FERRY__HUB_PATH_MAX, "%s/%s", dir, name);
  if (r) return r;
  struct stat st;
  if (lstat(p, &st) != 0) r = ferry__write_atomic(p, content, strlen(content), 0666);
  free(p);
  return r;
}

int ferry__hub_cachedir_tag_ensure(const char *dir) {
  int r = ferry__mkdirs(dir);
  return r ? r : write_if_missing(dir, "CACHEDIR.TAG", ferry__hub_cachedir_tag);
}

/* ---- the no-symlink fallback ------------------------------------------------------------------ */

static int rm_probe(const char *dir) {
  char *p = NULL;
  if (ferry__hub_fmt(&p, FERRY__HUB_PATH_MAX, "%s/sub/link", dir) == 0) unlink(p);
  free(p);
  if (ferry__hub_fmt(&p, FERRY__HUB_PATH_MAX, "%s/sub", dir) == 0) rmdir(p);
  free(p);
  if (ferry__hub_fmt(&p, FERRY__HUB_PATH_MAX, "%s/blob", dir) == 0) unlink(p);
  free(p);
  return rmdir(dir) == 0 ? 0 : FERRY_E_IO;
}

int ferry__hub_symlinks_supported(const struct ferry__hub_env *env, const char *cache_root,
                                  int *supported) {
  *supported = 0;
  if (ferry__hub_env_true(ferry__hub_env_get(env, "HF_HUB_DISABLE_SYMLINKS"))) return 0;
  int r = ferry__mkdirs(cache_root);
  if (r) return r;
  char *dir = NULL, *blob = NULL, *sub = NULL, *link = NULL;
  r = ferry__hub_fmt(&dir, FERRY__HUB_PATH_MAX, "%s/.ferry-symlink-probe-XXXXXX", cache_root);
  if (r) return r;
  if (!mkdtemp(dir)) {
    r = ferry__errno_to_err(errno);
    free(dir);
    return r;
  }
  /* The same shape as a snapshot: a relative link one folder down pointing back up. */
  if (!(r = ferry__hub_fmt(&blob, FERRY__HUB_PATH_MAX, "%s/blob", dir)) &&
      !(r = ferry__hub_fmt(&sub, FERRY__HUB_PATH_MAX, "%s/sub", dir)) &&
      !(r = ferry__hub_fmt(&link, FERRY__HUB_PATH_MAX, "%s/sub/link", dir)) &&
      !(r = ferry__write_atomic(blob, "x", 1, 0666))) {
    struct stat st;
    if (mkdir(sub, 0777) != 0) r = ferry__errno_to_err(errno);
    else if (symlink("../blob", link) == 0 && stat(link, &st) == 0 && S_ISREG(st.st_mode) &&
             st.st_size == 1)
      *supported = 1;
  }
  int rr = rm_probe(dir);
  free(dir);
  free(blob);
  free(sub);
  free(link);
  return r ? r : rr;
}

/* ---- --local-dir metadata ---------------------------------------------------------------------- */

int ferry__hub_local_dir_init(const char *local_dir) {
  char *hf = NULL;
  int r = ferry__hub_fmt(&hf, FERRY__HUB_PATH_MAX, "%s/.cache/huggingface", local_dir);
  if (r) return r;
  r = ferry__mkdirs(hf);
  if (!r) r = write_if_missing(hf, ".gitignore", "*");
  if (!r) r = write_if_missing(hf, "CACHEDIR.TAG", ferry__hub_cachedir_tag);
  free(hf);
  return r;
}

int ferry__hub_local_meta_path(const char *local_dir, const char *path, char **out) {
  *out = NULL;
  if (ferry__hub_path_check(path, NULL, 0)) return FERRY_E_INVAL;
  return ferry__hub_fmt(out, FERRY__HUB_PATH_MAX, "%s/.cache/huggingface/download/%s.metadata",
                        local_dir, path);
}

/* Python's repr of a float: the shortest decimal that reads back to the same double, always
 * with a '.' ("1712656091.0"). */
static void format_py_float(double v, char *buf, size_t len) {
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, len, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  if (!strpbrk(buf, ".eEn")) strncat(buf, ".0", len - strlen(buf) - 1);
}

int ferry__hub_local_meta_write(const char *local_dir, const char *path, const char *commit,
                                const char *etag, double timestamp) {
  if (!etag_ok(etag) || !ferry__hub_is_commit(commit) || !isfinite(timestamp)) return FERRY_E_INVAL;
  char *mp = NULL, *text = NULL, ts[40];
  int r = ferry__hub_local_meta_path(local_dir, path, &mp);
  if (r) return r;
  format_py_float(timestamp, ts, sizeof(ts));
  r = ferry__hub_fmt(&text, 512, "%s\n%s\n%s\n", commit, etag, ts);
  if (!r) r = ferry__write_atomic(mp, text, strlen(text), 0666);
  free(mp);
  free(text);
  return r;
}

/* Copies the next line of `*p` without surrounding whitespace (Python's readline().strip()). */
static int next_line(char **p, char *out, size_t out_len) {
  char *s = *p, *nl = strchr(s, '\n');
  char *end = nl ? nl : s + strlen(s);
  *p = nl ? nl + 1 : end;
  while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\v' || *s == '\f')) s++;
  while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\v' ||
                     end[-1] == '\f'))
    end--;
  size_t n = (size_t)(end - s);
  if (n + 1 > out_len) return -1;
  memcpy(out, s, n);
  out[n] = 0;
  return 0;
}

int ferry__hub_local_meta_read(const char *local_dir, const char *path,
                               struct ferry__hub_local_meta *out, int *found) {
  *found = 0;
  memset(out, 0, sizeof(*out));
  char *mp = NULL, *text = NULL;
  size_t len;
  int exists = 0;
  int r = ferry__hub_local_meta_path(local_dir, path, &mp);
  if (r) return r;
  r = ferry__read_small(mp, 1024, &text, &len, &exists);
  if (r == FERRY_E_PROTOCOL) exists = 1, r = 0; /* too large: malformed */
  if (r || !exists) {
    free(mp);
    return r;
  }
  int ok = text && strlen(text) == len; /* no NUL inside */
  char ts[64];
  char *p = text;
  if (ok) ok = next_line(&p, out->commit, sizeof(out->commit)) == 0 &&
               next_line(&p, out->etag, sizeof(out->etag)) == 0 &&
               next_line(&p, ts, sizeof(ts)) == 0 && ts[0];
  if (ok) {
    char *end;
    errno = 0;
    out->timestamp = strtod(ts, &end);
    ok = *end == 0 && errno == 0 && isfinite(out->timestamp);
  }
  free(text);
  if (!ok) {
    unlink(mp); /* as huggingface_hub: malformed metadata is removed */
    free(mp);
    memset(out, 0, sizeof(*out));
    return 0;
  }
  free(mp);
  *found = 1;
  char *fp = NULL;
  if (ferry__hub_fmt(&fp, FERRY__HUB_PATH_MAX, "%s/%s", local_dir, path) == 0) {
    struct stat st;
    if (stat(fp, &st) == 0) {
      double mtime = (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
      out->fresh = mtime - 1 <= out->timestamp;
    }
  }
  free(fp);
  return 0;
}
