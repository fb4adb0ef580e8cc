/* hub.h: the Hub client's internal declarations (engine/hub), shared by its files; the public
 * API is in ferry.h.
 *
 * What the official client (huggingface_hub) does on the wire and on disk is described in the
 * shared docs' hub-protocol.md (the section numbers below refer to it). The files:
 *
 * Building blocks, no network I/O:
 *   util.c           the environment lookup, bounded formatting, error reasons, first-failure
 *   repo.c           repo ids, repo types, revisions, endpoint and URL building (§2.1, §4.1, §7.3)
 *   cache.c          the cache layout byte for byte (§3), local-dir metadata (§3.6), path safety
 *   patterns.c       allow/ignore filtering (§4.2)
 *   tree.c           repo-info and tree JSON, Link headers (§1.5, §4.4), trees/<commit>.json (§3.5)
 *   auth.c           token resolution (§5.5), boolean environment variables (§8), same-origin rule
 *   stored_tokens.c  the token and stored_tokens files `hf auth login` writes (§5.5)
 *   commit_api.c     the JSON of preupload, the LFS batch and the NDJSON commit (§6)
 *   upload_walk.c    the files of an upload (folder walk, filters, symlinks inside only)
 *   upload_parts.c   the journal of a multipart upload in progress
 *   upload_hash.c    SHA-256 / git SHA-1 of files on worker threads, and the hash cache
 *   card.c, card_schema.c, card_template.c (card.h)   model cards: check and scaffold
 *   cache_scan.c, cache_clean.c (cache_mgmt.h)         cache ls / rm / prune
 * Talking to the Hub (through one client and its engine):
 *   client.c         the client: endpoint, token (to the endpoint's origin only), API calls, the
 *                    one mapping of the Hub's error answers
 *   listing.c        tree pages (the one Link walk), repo info, search
 *   repos.c          repo, branch and tag management
 *   login.c          whoami, login, logout, switch, the token list
 *   mirror.c         a cluster's cache tier (FERRY_MIRROR): its URLs, what a failure there
 *                    means, purging a bad copy
 *   download.c       `ferry download`: a snapshot into the cache
 *   upload.c         `ferry upload`: a file or a folder into a repo
 * Lock files and general file helpers are the engine's (engine/src/lock.c, files.c).
 *
 * Conventions: functions return 0 or a negative FERRY_E_* code from ferry.h. Functions that
 * can reject input take `why`/`why_len` (may be NULL/0) and write a one-line reason there.
 * A `char **out` result is malloc'd and belongs to the caller (free it); on error *out is
 * NULL. Input strings are borrowed, never kept. The environment is passed in as a lookup
 * (struct ferry__hub_env) so tests control it. Process-wide state is limited to patterns.c's
 * two locales, made once (pthread_once) and never changed.
 */
#ifndef FERRY_HUB_H
#define FERRY_HUB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "ferry.h"
#include "log.h"
#include "files.h" /* engine/src: mkdirs, atomic writes, small reads */
#include "lock.h"  /* engine/src: lock files */
#include "stop.h"  /* engine/src: the stop, an engine's own stop */

/* Caps: every string built or read here is bounded. */
#define FERRY__HUB_PATH_MAX 4096      /* a file system path or a path in a repo */
#define FERRY__HUB_URL_MAX 16384      /* a URL we build or accept */
#define FERRY__HUB_REPO_ID_MAX 200    /* "namespace/name" (the name itself is at most 96) */
#define FERRY__HUB_ETAG_MAX 128       /* a normalized etag (40 or 64 hex on the Hub) */
#define FERRY__HUB_OID_MAX 64         /* oid / lfs.oid / xetHash (40 or 64 hex on the Hub) */
#define FERRY__HUB_JSON_MAX (64u << 20) /* one repo-info or tree page body, or trees/<c>.json */
#define FERRY__HUB_TREE_MAX_ENTRIES 2000000 /* entries in one listing, all pages (~0.5 GB) */
#define FERRY__HUB_MAX_PAGES 100000 /* pages of one paginated listing (a bounded loop) */
#define FERRY__HUB_SMALL_FILE_MAX (64u << 10) /* token files, refs, metadata, lock files */

/* ---- util.c: the environment lookup and bounded string helpers --------------------------- */

/* Looks a variable up; returns NULL when unset. The string must stay valid until the next
 * lookup. ferry__hub_env_process() reads the process environment (getenv). */
struct ferry__hub_env {
  const char *(*get)(void *user, const char *name);
  void *user;
};
struct ferry__hub_env ferry__hub_env_process(void);
/* NULL env or NULL get: the process environment. */
const char *ferry__hub_env_get(const struct ferry__hub_env *env, const char *name);

/* printf into a new string of at most `cap` bytes (NUL included). FERRY_E_NOMEM, or
 * FERRY_E_INVAL when the result would not fit. */
int ferry__hub_fmt(char **out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes a reason into why[why_len] (NULL allowed) and returns `err`. */
int ferry__hub_why(int err, char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The first failure of an operation into its result (error, HTTP status, message); later
 * failures leave it alone. Returns the error kept. FERRY__HUB_FAIL(out, ...) does it for a
 * result struct with those three fields (download's and upload's). */
int ferry__hub_fail_into(int *error, long *http_status, char *message, size_t cap, int err,
                         long status, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
#define FERRY__HUB_FAIL(out, err, status, ...)                                                  \
  ferry__hub_fail_into(&(out)->error, &(out)->http_status, (out)->message,                      \
                       sizeof((out)->message), (err), (status), __VA_ARGS__)
/* A notice for the user through the config's log callback (nothing without one). */
void ferry__hub_notice(const struct ferry_config *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- repo.c ------------------------------------------------------------------------------ */

enum ferry__hub_repo_type { FERRY__HUB_MODEL = 0, FERRY__HUB_DATASET = 1, FERRY__HUB_SPACE = 2 };

struct ferry__hub_repo {
  enum ferry__hub_repo_type type;
  char id[FERRY__HUB_REPO_ID_MAX + 1]; /* "name" or "namespace/name", validated */
};

/* "model", "dataset", "space" */
const char *ferry__hub_repo_type_name(enum ferry__hub_repo_type t);
/* "models", "datasets", "spaces": API paths ({Ts}) and cache folders */
const char *ferry__hub_repo_type_plural(enum ferry__hub_repo_type t);
/* "", "datasets/", "spaces/": the prefix of resolve URLs ({P}) */
const char *ferry__hub_repo_url_prefix(enum ferry__hub_repo_type t);
/* Parses a --repo-type value (model, dataset, space). FERRY_E_INVAL otherwise. */
int ferry__hub_repo_type_parse(const char *s, enum ferry__hub_repo_type *out, char *why,
                               size_t why_len);

/* huggingface_hub's validate_repo_id: "name" or "ns/name"; ASCII letters, digits, '-', '_',
 * '.'; each part starts and ends with a letter, digit or '_'; name at most 96 characters;
 * no "--", no "..", not ending in ".git". FERRY_E_INVAL with a reason otherwise. */
int ferry__hub_repo_id_validate(const char *id, char *why, size_t why_len);

/* Parses a REPO_ID argument. A leading "models/", "datasets/" or "spaces/" sets the type;
 * `type_opt` is the --repo-type value or NULL (default model). A prefix that contradicts
 * --repo-type is an error. FERRY_E_INVAL with a reason. */
int ferry__hub_repo_parse(const char *arg, const char *type_opt, struct ferry__hub_repo *out,
                          char *why, size_t why_len);

/* A revision (branch, tag, commit, refs/pr/N) that is also safe as a path under refs/:
 * non-empty, at most 255 bytes, no control characters, no backslash, no empty, "." or ".."
 * segment, no leading '/'. FERRY_E_INVAL with a reason. */
int ferry__hub_revision_validate(const char *rev, char *why, size_t why_len);

/* 1 when `rev` is a full commit hash (40 lowercase hex), as huggingface_hub's
 * REGEX_COMMIT_HASH; else 0. */
int ferry__hub_is_commit(const char *rev);

/* Checks an endpoint (http or https URL with a host, no query or fragment) and returns it
 * with every trailing '/' removed, as huggingface_hub does with HF_ENDPOINT. */
int ferry__hub_endpoint_normalize(const char *endpoint, char **out, char *why, size_t why_len);

/* Python's urllib.parse.quote: letters, digits and "_.-~" stay, every other byte becomes
 * %XX; with keep_slash, '/' stays too (quote(s, safe="/")), else it is %2F (safe=""). */
int ferry__hub_quote(const char *s, int keep_slash, char **out);

/* {E}/api/{Ts}/{repo}/revision/{quote(rev, safe="")} */
int ferry__hub_url_revision(const char *endpoint, const struct ferry__hub_repo *repo,
                            const char *rev, char **out);
/* {E}/api/{Ts}/{repo}/tree/{quote(rev, safe="")}[/{quote(path, safe="")}]
 *   ?recursive=true|false&expand=true|false      (list_repo_tree, §7.3; path may be NULL) */
int ferry__hub_url_tree(const char *endpoint, const struct ferry__hub_repo *repo,
                        const char *rev, const char *path, int recursive, int expand,
                        char **out);
/* {E}/{P}{repo}/resolve/{quote(rev, safe="")}/{quote(path, safe="/")} */
int ferry__hub_url_resolve(const char *endpoint, const struct ferry__hub_repo *repo,
                           const char *rev, const char *path, char **out);

/* ---- cache.c ----------------------------------------------------------------------------- */

/* Refuses a file name given by the server before it touches the disk (§2.1): empty, longer
 * than FERRY__HUB_PATH_MAX, absolute, a drive letter ("C:"), a backslash, a control
 * character, or an empty, "." or ".." segment. FERRY_E_PROTOCOL with a reason. */
int ferry__hub_path_check(const char *path, char *why, size_t why_len);

/* Python's os.path.expandvars(os.path.expanduser(s)): a leading "~" (alone or before '/')
 * becomes $HOME (or the password database's home); $NAME and ${NAME} are replaced when set
 * and kept as they are otherwise. FERRY_E_INVAL when the result exceeds FERRY__HUB_PATH_MAX. */
int ferry__hub_expand_path(const struct ferry__hub_env *env, const char *s, char **out);
/* HF_HOME: $HF_HOME, else $XDG_CACHE_HOME/huggingface, else $HOME/.cache/huggingface.
 * A leading "~" and $VAR / ${VAR} are expanded (Python's expanduser + expandvars; unknown
 * variables stay as they are). Empty variables count as unset. */
int ferry__hub_home(const struct ferry__hub_env *env, char **out);
/* The hub cache: $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else HF_HOME/hub (same
 * expansion). `cache_dir` (--cache-dir) wins when not NULL or empty, and is used as given
 * (huggingface_hub does not expand it either). */
int ferry__hub_cache_root(const struct ferry__hub_env *env, const char *cache_dir, char **out);

/* "models--org--name" (§3.2) into out[out_len]. FERRY_E_INVAL if it does not fit. */
int ferry__hub_repo_folder_name(const struct ferry__hub_repo *repo, char *out, size_t out_len);
/* {cache_root}/{folder name} */
int ferry__hub_repo_dir(const char *cache_root, const struct ferry__hub_repo *repo, char **out);

/* huggingface_hub's _normalize_etag: strip leading 'W' and '/' characters, then '"' at both
 * ends. The result must be a usable file name (non-empty, at most FERRY__HUB_ETAG_MAX, only
 * letters, digits, '-', '_', '.', not "." or ".."), else FERRY_E_PROTOCOL. */
int ferry__hub_etag_normalize(const char *etag, char *out, size_t out_len, char *why,
                              size_t why_len);

/* {repo_dir}/blobs/{etag} (etag already normalized) */
int ferry__hub_blob_path(const char *repo_dir, const char *etag, char **out);
/* {repo_dir}/snapshots/{commit}[/{path}]  (path NULL: the snapshot folder) */
int ferry__hub_snapshot_path(const char *repo_dir, const char *commit, const char *path,
                             char **out);
/* The relative symlink target from snapshots/<commit>/<path> to blobs/<etag>:
 * "../../blobs/<etag>" plus one "../" per folder in path. */
int ferry__hub_symlink_target(const char *path, const char *etag, char **out);
/* {cache_root}/.locks/{folder name}/{etag}.ferry-lock */
int ferry__hub_lock_path(const char *cache_root, const struct ferry__hub_repo *repo,
                         const char *etag, char **out);

/* refs/<rev> = commit, no trailing newline (§3.2). rev may contain '/' (refs/pr/1 makes
 * nested folders). Skipped when the file already holds that commit. rev and commit are
 * validated (FERRY_E_INVAL). */
int ferry__hub_ref_write(const char *repo_dir, const char *rev, const char *commit);
/* Reads refs/<rev> into commit_out (41 bytes); *found = 0 when absent. A ref that is not a
 * 40-hex commit (after trimming whitespace) is FERRY_E_PROTOCOL. */
int ferry__hub_ref_read(const char *repo_dir, const char *rev, char commit_out[41], int *found);

/* .no_exist/<commit>/<path>: an empty marker that the file is absent at that commit. */
int ferry__hub_no_exist_mark(const char *repo_dir, const char *commit, const char *path);
int ferry__hub_no_exist_check(const char *repo_dir, const char *commit, const char *path,
                              int *exists);

/* The exact CACHEDIR.TAG huggingface_hub writes, and a writer that creates it in `dir` when it
 * is missing (an existing one is never rewritten). */
extern const char ferry__hub_cachedir_tag[];
int ferry__hub_cachedir_tag_ensure(const char *dir);

/* Whether snapshots use symlinks in the cache at `cache_root` (§3.3): 0 when
 * HF_HUB_DISABLE_SYMLINKS is true, else a probe: a relative symlink made in a temp folder
 * inside cache_root (created if missing) must resolve. The probe folder is removed. */
int ferry__hub_symlinks_supported(const struct ferry__hub_env *env, const char *cache_root,
                                  int *supported);

/* --local-dir bookkeeping (§3.6). <local_dir>/.cache/huggingface gets ".gitignore" ("*") and
 * CACHEDIR.TAG (each written only when missing). */
int ferry__hub_local_dir_init(const char *local_dir);
/* <local_dir>/.cache/huggingface/download/<path>.metadata (path checked) */
int ferry__hub_local_meta_path(const char *local_dir, const char *path, char **out);
/* Three lines "<commit>\n<etag>\n<unix time>\n" written atomically. */
int ferry__hub_local_meta_write(const char *local_dir, const char *path, const char *commit,
                                const char *etag, double timestamp);
struct ferry__hub_local_meta {
  char commit[FERRY__HUB_ETAG_MAX + 1];
  char etag[FERRY__HUB_ETAG_MAX + 1];
  double timestamp;
  int fresh; /* the file <local_dir>/<path> exists and its mtime - 1 s <= timestamp */
};
/* *found = 0 when there is no metadata; malformed metadata is deleted (as huggingface_hub
 * does) and reported as not found. */
int ferry__hub_local_meta_read(const char *local_dir, const char *path,
                               struct ferry__hub_local_meta *out, int *found);

/* <folder>/trees/<commit>.json; folder is the repo dir, or <local_dir>/.cache/huggingface. */
int ferry__hub_tree_cache_path(const char *folder, const char *commit, char **out);

/* ---- patterns.c -------------------------------------------------------------------------- */

/* Python fnmatch.fnmatchcase(path, pattern) after huggingface_hub's preparation: backslashes
 * become '/', a pattern ending in '/' gets '*' appended. '*' matches '/' too; '?' and sets
 * match one character (not byte); sets follow Python's rules (see patterns.c). Returns 1 on a
 * match, 0 on none, FERRY_E_NOMEM, or FERRY_E_INVAL (pattern or path longer than
 * FERRY__HUB_PATH_MAX, a set Python's re would reject, more than 63 ranges in one set).
 * Thread-safe: the locale it needs is switched for the calling thread only. */
int ferry__hub_pattern_match(const char *pattern, const char *path);
/* filter_repo_objects: keep `path` iff (no allow patterns, or one matches) and (no ignore
 * patterns, or none matches). 1 keep, 0 drop, or a negative error. */
int ferry__hub_patterns_keep(const char *const *allow, size_t n_allow,
                             const char *const *ignore, size_t n_ignore, const char *path);

/* ---- tree.c ------------------------------------------------------------------------------ */

struct ferry__hub_entry {
  /* The tree's strings (blocks, not one malloc per entry) hold the path (checked with
   * ferry__hub_path_check), after its NUL the oid (a 40-hex one as its 20 bytes), then only
   * what the entry has: the LFS sha256 and size, the xet hash (the accessors below). An entry
   * costs what its strings need, and 24 bytes here: a million files' tree is about 64 MB. */
  char *path;
  uint64_t size;        /* content size (0 for directories) */
  unsigned char is_dir; /* "directory" (1) or "file" (0) */
  unsigned char has_lfs;
  unsigned char has_xet;
  unsigned char oid_raw; /* the oid is 40 lowercase hex, kept as 20 bytes */
};
/* Room for an oid as text. */
#define FERRY__HUB_OID_TEXT (FERRY__HUB_OID_MAX + 1)
/* The 20 bytes of a 40-hex oid, or NULL when the entry keeps its oid as text. */
static inline const unsigned char *ferry__hub_entry_oid_raw(const struct ferry__hub_entry *e) {
  return e->oid_raw ? (const unsigned char *)e->path + strlen(e->path) + 1 : NULL;
}
/* git blob sha1 ("" when absent), as text: in buf, or in the tree's strings. */
const char *ferry__hub_entry_oid(const struct ferry__hub_entry *e, char buf[FERRY__HUB_OID_TEXT]);
/* Where the strings after the oid start. */
static inline const char *ferry__hub_entry_after_oid(const struct ferry__hub_entry *e) {
  const char *oid = e->path + strlen(e->path) + 1;
  return oid + (e->oid_raw ? 20 : strlen(oid) + 1);
}
/* sha256 of the content (64 lowercase hex), "" without LFS */
static inline const char *ferry__hub_entry_lfs_oid(const struct ferry__hub_entry *e) {
  return e->has_lfs ? ferry__hub_entry_after_oid(e) : "";
}
/* The LFS object's size (0 without LFS): 8 bytes after the sha256 (64 hex and its NUL). */
static inline uint64_t ferry__hub_entry_lfs_size(const struct ferry__hub_entry *e) {
  uint64_t v = 0;
  if (e->has_lfs) memcpy(&v, ferry__hub_entry_lfs_oid(e) + 65, sizeof(v));
  return v;
}
/* "" when absent */
static inline const char *ferry__hub_entry_xet_hash(const struct ferry__hub_entry *e) {
  if (!e->has_xet) return "";
  const char *after = ferry__hub_entry_after_oid(e);
  return e->has_lfs ? after + 65 + sizeof(uint64_t) : after;
}

struct ferry__hub_tree {
  struct ferry__hub_entry *v;
  size_t n, cap;
  struct ferry__hub_strings *strings; /* what the entries' strings point into (tree.c) */
};
/* Strings in blocks (tree entries, upload file lists): n bytes that live until the blocks are
 * freed, without a malloc each. NULL when out of memory. */
char *ferry__hub_strings_alloc(struct ferry__hub_strings **head, size_t n);
size_t ferry__hub_strings_bytes(const struct ferry__hub_strings *head);
void ferry__hub_strings_free(struct ferry__hub_strings **head);
/* Lower-case hex of n bytes into out (2n + 1 chars); returns out. */
char *ferry__hub_hex(const unsigned char *raw, size_t n, char *out);
/* Exactly 2n lower-case hex digits into n bytes: 0, else -1. */
int ferry__hub_unhex(const char *hex, unsigned char *out, size_t n);
void ferry__hub_tree_init(struct ferry__hub_tree *t);
void ferry__hub_tree_free(struct ferry__hub_tree *t);
/* Bytes the entries and their strings take: what a listing costs in memory. */
size_t ferry__hub_tree_bytes(const struct ferry__hub_tree *t);
/* Appends the entries of one page of the tree endpoint (a JSON array, §4.4). Type "file" is a
 * file, any other type string a folder (as huggingface_hub). Malformed JSON, a non-array, an
 * entry without a string "type" or "path", a file without a non-negative integer "size" or a
 * 40-hex "oid", a bad lfs object (64-hex oid, integer size), an unsafe path, a body over
 * FERRY__HUB_JSON_MAX or a listing over FERRY__HUB_TREE_MAX_ENTRIES: FERRY_E_PROTOCOL with a
 * reason, and `t` is unchanged (a page is taken whole or not at all). */
int ferry__hub_tree_parse_page(const char *json, size_t len, struct ferry__hub_tree *t,
                               char *why, size_t why_len);
/* A whole listing names each path once: FERRY_E_PROTOCOL with the path that comes twice
 * (which of two entries is the file is anyone's guess), FERRY_E_NOMEM, or 0. */
int ferry__hub_tree_check_unique(const struct ferry__hub_tree *t, char *why, size_t why_len);

/* The fields of repo info (GET .../revision/<rev>) that a download needs. */
struct ferry__hub_repo_info {
  char id[FERRY__HUB_REPO_ID_MAX + 1];
  char sha[41];                /* 40 lowercase hex; required */
  int is_private;              /* -1 absent, 0, 1 */
  int gated;                   /* -1 absent, 0 false, 1 "auto", 2 "manual" (other strings: 3) */
  int disabled;                /* -1 absent, 0, 1 */
  char **siblings;             /* rfilename of each sibling (NULL when the key is absent) */
  size_t n_siblings;
};
/* FERRY_E_PROTOCOL with a reason when the JSON is malformed, not an object, has no "id" or
 * no 40-hex "sha", or a sibling without a string rfilename. */
int ferry__hub_repo_info_parse(const char *json, size_t len, struct ferry__hub_repo_info *out,
                               char *why, size_t why_len);
void ferry__hub_repo_info_free(struct ferry__hub_repo_info *info);

/* The target of rel="next" in a Link header value (several links separated by ','). It must
 * be an absolute http(s) URL (§1.5), else FERRY_E_PROTOCOL. *out = NULL when there is no
 * next link. */
int ferry__hub_link_next(const char *value, size_t len, char **out);

/* trees/<commit>.json (§3.5, huggingface_hub >= 1.22): {"format_version": 1, "files": {path:
 * {"size", "blob_id", ["lfs_sha256", "lfs_size"], ["xet_hash"]}}}, files sorted by path,
 * indent 1, non-ASCII escaped: byte for byte what Python's json.dump writes. Directories are
 * left out. */
int ferry__hub_tree_cache_serialize(const struct ferry__hub_tree *t, char **out, size_t *len);
/* Parses such a file into `t` (files only, sorted by path). An unknown format_version or any
 * malformed part is FERRY_E_PROTOCOL (the caller lists again). */
int ferry__hub_tree_cache_parse(const char *json, size_t len, struct ferry__hub_tree *t,
                                char *why, size_t why_len);
/* The same from a file, read through a window of `window` bytes (a value longer than half
 * of it is malformed), so memory does not grow with the file. */
int ferry__hub_tree_cache_parse_file(FILE *f, size_t window, struct ferry__hub_tree *t,
                                     char *why, size_t why_len);
#define FERRY__HUB_TREE_CACHE_WINDOW (1u << 20) /* a file's object or a key: up to 512 KiB */
/* Write (atomically) / read <folder>/trees/<commit>.json (read as it streams: any size).
 * Read: *found = 0 when missing. */
int ferry__hub_tree_cache_write(const char *folder, const char *commit,
                                const struct ferry__hub_tree *t);
int ferry__hub_tree_cache_read(const char *folder, const char *commit, struct ferry__hub_tree *t,
                               int *found, char *why, size_t why_len);

/* ---- auth.c ------------------------------------------------------------------------------ */

/* huggingface_hub's _is_true: the value upper-cased is one of 1, ON, YES, TRUE. NULL: 0. */
int ferry__hub_env_true(const char *value);

struct ferry__hub_settings {
  int offline;               /* HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE true */
  int disable_progress_bars; /* HF_HUB_DISABLE_PROGRESS_BARS: -1 unset, 0 force on, 1 force off */
  int disable_symlinks;      /* HF_HUB_DISABLE_SYMLINKS */
  int disable_implicit_token;/* HF_HUB_DISABLE_IMPLICIT_TOKEN */
};
void ferry__hub_settings_read(const struct ferry__hub_env *env, struct ferry__hub_settings *out);

/* HF_ENDPOINT (default https://huggingface.co), normalized. */
int ferry__hub_endpoint(const struct ferry__hub_env *env, char **out, char *why, size_t why_len);

/* huggingface_hub's _clean_token: remove every '\r' and '\n', trim whitespace; empty -> none
 * (*out = NULL, returns 0). */
int ferry__hub_token_clean(const char *s, size_t len, char **out);

enum ferry__hub_token_source {
  FERRY__HUB_TOKEN_NONE = 0,
  FERRY__HUB_TOKEN_EXPLICIT, /* --token */
  FERRY__HUB_TOKEN_ENV,      /* HF_TOKEN or HUGGING_FACE_HUB_TOKEN */
  FERRY__HUB_TOKEN_FILE      /* HF_TOKEN_PATH, default $HF_HOME/token */
};
/* The token to send (§5.5): `explicit_token` (--token) if given; else, unless
 * HF_HUB_DISABLE_IMPLICIT_TOKEN is true, the first non-empty cleaned value of
 * HF_TOKEN || HUGGING_FACE_HUB_TOKEN, then the token file. *out = NULL when none. */
int ferry__hub_token_resolve(const struct ferry__hub_env *env, const char *explicit_token,
                             char **out, enum ferry__hub_token_source *source);

/* The token file huggingface_hub reads and `hf auth login` writes: $HF_TOKEN_PATH (expanded),
 * else HF_HOME/token. */
int ferry__hub_token_path(const struct ferry__hub_env *env, char **out);
/* The cleaned token of HF_TOKEN || HUGGING_FACE_HUB_TOKEN, and of the token file; *out = NULL
 * when there is none (a missing or oversized file is none). */
int ferry__hub_token_from_env(const struct ferry__hub_env *env, char **out);
int ferry__hub_token_from_file(const struct ferry__hub_env *env, char **out);

/* 1 when both URLs have the same scheme, host (case-insensitive) and port (the scheme's
 * default when absent); 0 otherwise, also when either does not parse (so no token leaks). */
int ferry__hub_same_origin(const char *url_a, const char *url_b);

/* ---- stored_tokens.c: the files `hf auth login` writes (§5.5) ---------------------------- */

struct ferry__hub_ini_field {
  char *key;   /* lower-cased, as configparser's optionxform */
  char *value; /* may be a secret: zeroed when freed */
};
struct ferry__hub_ini_section {
  char *name;
  struct ferry__hub_ini_field *fields;
  size_t n;
};
struct ferry__hub_ini {
  struct ferry__hub_ini_section *v;
  size_t n;
};
/* Parses stored_tokens as configparser reads it (see stored_tokens.c). What configparser would
 * reject, a [DEFAULT] section or a NUL byte: FERRY_E_IO with "line N: ..." in why. */
int ferry__hub_ini_parse(const char *text, size_t len, struct ferry__hub_ini *out, char *why,
                         size_t why_len);
/* What configparser.write produces for the sections sorted by name (the sections are sorted
 * in place). */
int ferry__hub_ini_serialize(struct ferry__hub_ini *ini, char **out, size_t *len);
void ferry__hub_ini_free(struct ferry__hub_ini *ini);
struct ferry__hub_ini_section *ferry__hub_ini_find(struct ferry__hub_ini *ini, const char *name);
/* The value of `key` in a section, or NULL. */
const char *ferry__hub_ini_get(const struct ferry__hub_ini_section *s, const char *key);
/* Section `name` becomes {hf_token = token} alone (added when missing), as _save_token. */
int ferry__hub_ini_set_token(struct ferry__hub_ini *ini, const char *name, const char *token);
/* 1 when section `name` was removed, 0 when there was none. */
int ferry__hub_ini_remove(struct ferry__hub_ini *ini, const char *name);
/* A name that can be a section of the file and read back the same: not empty, at most 256
 * bytes, no control character, no blank at either end, not "DEFAULT". FERRY_E_INVAL. */
int ferry__hub_token_name_check(const char *name, char *why, size_t why_len);
/* os.path.join(os.path.dirname(token_path), "stored_tokens") */
int ferry__hub_stored_tokens_path(const char *token_path, char **out);
/* Writes a secret file as huggingface_hub's _write_secret, but atomically: the folder is
 * created (its missing parents as usual, itself 0700) and chmod 0700; the data goes to a temp
 * file created 0600 beside `path`, fsynced, renamed over it, then chmod 0600. */
int ferry__hub_secret_write(const char *path, const void *data, size_t len);
/* Reads and parses stored_tokens; *found = 0 (and an empty ini) when it does not exist. */
int ferry__hub_stored_tokens_load(const char *path, struct ferry__hub_ini *out, int *found,
                                  char *why, size_t why_len);

/* ---- client.c ---------------------------------------------------------------------------- */

/* The client's engine (for transfers beside the API calls), token (NULL when none) and
 * settings. */
/* `ferry bench --upload` (bench_upload.c), run by ferry_bench_run inside its window `w`
 * (whose probe it attaches to the engine that sends): fills out's upload figures. scratch:
 * a sweep's scratch repo to send into (NULL: a repo of the run's own, deleted after). */
struct ferry__bench_window;
int ferry__bench_upload(const struct ferry_bench_opts *o, struct ferry_bench_result *out,
                        struct ferry__bench_window *w, const char *scratch);
/* An upload sweep's one scratch repo for all its points (bench_upload.c): made as a run makes
 * its own (a write token checked first, recorded, exist_ok off), deleted by close, which
 * returns err or, when err is 0, the error of a repo it could not delete (then recorded for
 * the next bench, out->scratch_left set). Open's error has its line in out->message. */
struct ferry__bench_scratch;
int ferry__bench_scratch_open(const struct ferry_bench_opts *o, struct ferry_bench_result *out,
                              struct ferry__bench_scratch **s);
const char *ferry__bench_scratch_repo(const struct ferry__bench_scratch *s);
int ferry__bench_scratch_close(struct ferry__bench_scratch *s, int err);
struct ferry_engine *ferry__hub_client_engine(struct ferry_hub_client *c);
const char *ferry__hub_client_token(const struct ferry_hub_client *c);
long ferry__hub_client_last_status(const struct ferry_hub_client *c); /* HTTP status, 0: none */
const struct ferry__hub_settings *ferry__hub_client_settings(const struct ferry_hub_client *c);
const struct ferry__hub_env *ferry__hub_client_env(const struct ferry_hub_client *c);
/* The Authorization header for a request to `url`: only on the endpoint's origin (the one
 * place that rule is applied); NULL without a token or for any other origin. */
const char *ferry__hub_client_auth_for(const struct ferry_hub_client *c, const char *url);
/* ferry_hub_call with a whole URL: with send_token, the token is added only when `url` has
 * the endpoint's origin; `accept` NULL means application/json. */
int ferry__hub_client_call_url(struct ferry_hub_client *c, const char *method, const char *url,
                               const char *accept, const char *content_type, const void *body,
                               size_t len, int send_token, struct ferry_hub_reply *out);
/* Several calls at once (at most `parallel` in flight), each with its own reply. Returns
 * the first error. */
struct ferry__hub_call {
  const char *method, *url, *accept, *content_type;
  const void *body;
  size_t len;
  /* or a body made while it is sent (ferry_request's body_read, body_rewind) */
  long (*body_read)(void *user, char *buf, size_t cap);
  int (*body_rewind)(void *user);
  void *body_user;
  int send_token;
  struct ferry_hub_reply reply; /* to free with ferry_hub_reply_free */
};
int ferry__hub_client_call_many(struct ferry_hub_client *c, struct ferry__hub_call *calls,
                                size_t n, size_t parallel);
/* The Hub's error answer (status, X-Error-Code, its own message) as a FERRY_E_* code, with a
 * short description for the user in *what: the one mapping for API calls and file answers. */
int ferry__hub_error_map(long status, const char *code, const char *server_message,
                         int have_token, const char **what);
/* Fills out->error, error_code, server_message and message from an answer. */
void ferry__hub_classify(const struct ferry_response *r, int have_token,
                         struct ferry_hub_reply *out);

/* ---- mirror.c: a cluster's cache tier (FERRY_MIRROR) --------------------------------------- */

#define FERRY__HUB_MIRROR_MAX_FAILURES 3 /* failed files before the mirror is dropped */

struct ferry__hub_mirror {
  char *url;   /* normalized origin; NULL: no mirror */
  char *shown; /* the URL as messages show it (ferry_redact_url) */
  char *auth;  /* "Authorization: Bearer <FERRY_MIRROR_TOKEN>" (HTTPS only), or NULL */
  int failures;/* files failed for the mirror's sake in this run */
  int dropped; /* not used for the rest of the run */
};

enum ferry__hub_mirror_verdict {
  FERRY__MIRROR_OK,       /* the file came from the mirror, verified */
  FERRY__MIRROR_FALLBACK, /* this file from the Hub */
  FERRY__MIRROR_DROP,     /* this file and all the rest from the Hub: the mirror is dropped */
  FERRY__MIRROR_BAD_COPY, /* a wrong copy: purge it on the tier, fetch it whole from the Hub */
  FERRY__MIRROR_LOCAL,    /* a local failure (disk, memory, lock): reported as it is */
  FERRY__MIRROR_STOPPED,  /* the user stopped the run */
};

/* The mirror from `url` and `token` (NULL: FERRY_MIRROR and FERRY_MIRROR_TOKEN from `env`);
 * no URL: m->url stays NULL and 0 is returned. A token with a mirror that is not https:// is
 * refused (FERRY_E_INVAL, with why). */
int ferry__hub_mirror_init(struct ferry__hub_mirror *m, const char *url, const char *token,
                           const struct ferry__hub_env *env, char *why, size_t why_len);
void ferry__hub_mirror_free(struct ferry__hub_mirror *m);
/* Whether files are still asked of the mirror (one is set and it was not dropped). */
int ferry__hub_mirror_active(const struct ferry__hub_mirror *m);
/* What a file's failure from the mirror means (its job's error and final HTTP status); counts
 * the mirror's failures and drops it (m->dropped) when they say so. */
enum ferry__hub_mirror_verdict ferry__hub_mirror_judge(struct ferry__hub_mirror *m, int error,
                                                       long http_status);
/* MIRROR/{type/}{repo}/resolve/{commit}/{path}, or with purge the same under /_purge. */
int ferry__hub_mirror_file_url(const struct ferry__hub_mirror *m, const struct ferry__hub_repo *repo,
                               const char *commit, const char *path, int purge, char **out);
/* The slice size the tier announces in an answer (X-Ferry-Mirror-Slice, deploy/mirror), 0
 * when it says none. */
uint64_t ferry__hub_mirror_slice(const struct ferry_response *r);
/* Asks the tier to drop its copy of a file of `size` bytes, slice by slice (the slice size it
 * announces); *purged counts the entries it dropped. 0, or the first failure. */
int ferry__hub_mirror_purge(const struct ferry__hub_mirror *m, struct ferry_engine *api,
                            const struct ferry__hub_repo *repo, const char *commit,
                            const char *path, uint64_t size, int *purged);

/* ---- repos.c / listing.c: repo management and listing ----------------------------------- */

/* One API call for a repo command: `body` (a JSON value, may be NULL) is sent as
 * application/json. On an error answer, why = "<what>: <the reply's one-line message>". The
 * caller frees `out` either way (ferry_hub_reply_free). */
int ferry__hub_api(struct ferry_hub_client *c, const char *method, const char *path,
                   const char *body_json, struct ferry_hub_reply *out, const char *what,
                   char *why, size_t why_len);
/* One file at a revision, asked of paths-info (a folder or nothing there:
 * FERRY_E_HUB_ENTRY_NOT_FOUND): its entry alone in `tree` (replacing what it held) and the
 * answer's commit in `commit` when it names one. `hf ls PATH` of a file; whether a revision
 * has a README.md without listing every file. */
int ferry__hub_path_info(struct ferry_hub_client *c, const struct ferry__hub_repo *r,
                         const char *rev, const char *file, struct ferry__hub_tree *tree,
                         char commit[41]);
/* Every page of a tree listing from `url` (ferry__hub_url_tree), parsed into `tree`: the one
 * walk of Link pagination, for ls, download and upload. A next page must be on the client's
 * endpoint (ferry__hub_next_page_path), so no request, and so no token, follows a Link
 * elsewhere; at most FERRY__HUB_MAX_PAGES pages. A failed call returns its error with the
 * reply in *failed (failed->error set; the caller frees it either way); any other failure
 * (malformed page or Link, too many pages, a path listed twice) returns FERRY_E_PROTOCOL or FERRY_E_NOMEM with a
 * reason in why. `commit` (may be NULL) gets the first page's X-Repo-Commit, `pages` (may be
 * NULL) the number of pages. */
int ferry__hub_tree_walk(struct ferry_hub_client *c, const char *url,
                         struct ferry__hub_tree *tree, char commit[41], int *pages,
                         struct ferry_hub_reply *failed, char *why, size_t why_len);
/* REPO_ID + type into a parsed repo; the reason names the argument. */
int ferry__hub_repo_arg(const char *repo_id, const char *repo_type, struct ferry__hub_repo *out,
                        char *why, size_t why_len);
/* The target of a listing's Link rel="next" header value as a path after `endpoint`. The
 * token goes with it, so the target must be on the endpoint (same origin and path prefix);
 * anything else, or a malformed header, is FERRY_E_PROTOCOL. *out = NULL on the last page. */
int ferry__hub_next_page_path(const char *endpoint, const char *link, char **out);
/* --sort words (downloads, likes, created, modified, trending, and huggingface_hub's and the
 * Hub's names) to the Hub's sort key; NULL when unknown. */
const char *ferry__hub_sort_key(const char *s);
/* "/api/{Ts}/{id}" plus suffix (already escaped; may be ""). */
int ferry__hub_repo_api_path(const struct ferry__hub_repo *r, const char *suffix, char **out);

/* ---- upload_walk.c ----------------------------------------------------------------------- */

/* One file the walk found: 32 bytes, and its path in the list's strings. The walk keeps one
 * per file for the whole upload; the rest of a file's state exists only while its window is
 * being uploaded (ferry__upload_file). */
struct ferry__upload_entry {
  const char *path;         /* path in the repository (in the list's strings) */
  uint64_t size;
  int64_t mtime_ns;
  uint64_t ino;
};

/* One file of the window being uploaded, and what the upload learns about it on the way:
 * hashes are bytes (hex only where a request or file needs text). */
struct ferry__upload_file {
  const char *path;         /* path in the repository (in the list's strings); the path to
                               read is not kept: ferry__upload_local makes it */
  uint64_t size;
  int64_t mtime_ns;
  uint64_t ino;
  /* preupload's answer: what the revision has at this path (20 or 32 bytes, 0 = nothing) */
  unsigned char remote_oid[32];
  unsigned char remote_oid_len;
  /* the one hash the file needs, valid when `hashed`: sha256 for an LFS file, git blob sha1
   * (its first 20 bytes) for a regular one */
  unsigned char hash[32];
  unsigned hashed : 1;
  unsigned lfs : 1;         /* upload mode "lfs" (else "regular") */
  unsigned ignored : 1;     /* shouldIgnore */
  unsigned unchanged : 1;   /* same content as the revision: not uploaded, not committed */
  int hash_error;           /* FERRY_E_* when the file could not be read */
};

struct ferry__upload_list {
  struct ferry__upload_entry *e; /* every file the walk found, sorted by repository path */
  size_t n_e, cap_e;
  struct ferry__upload_file *v;  /* the window being uploaded (upload.c fills it from e) */
  size_t n, cap;
  struct ferry__hub_strings *strings; /* the files' repository paths */
  char *root;               /* a folder's real path, or the one file's path as given */
  size_t prefix_len;        /* bytes of a repository path before the folder's relative path */
  int folder;
  uint64_t bytes;           /* of every file the walk found */
  int skipped_links;        /* symlinks left out because they point outside the folder */
};

struct ferry__upload_walk_opts {
  const char *local_path;    /* a file or a folder */
  const char *path_in_repo;  /* for a file: its path in the repo; for a folder: a prefix
                                ("" for the root), without leading or trailing '/' */
  const char *const *include, *const *exclude;
  size_t n_include, n_exclude;
};

/* Lists the files to upload (sorted by path in the repository). FERRY_E_INVAL / FERRY_E_IO
 * with a reason. */
int ferry__upload_walk(const struct ferry__upload_walk_opts *o, struct ferry__upload_list *out,
                       char *why, size_t why_len);
void ferry__upload_list_free(struct ferry__upload_list *l);
/* The path to read for the file at repository path `path`, in buf (FERRY__HUB_PATH_MAX
 * bytes): the folder's real path and the path below it, as the walk found it (a million
 * copies of the folder's path cost 40 MB+). */
const char *ferry__upload_local(const struct ferry__upload_list *l, const char *path, char *buf);

/* ---- upload_hash.c ----------------------------------------------------------------------- */

/* The hash cache: (path, size, mtime, inode) -> sha256 / git sha1 of the files of one folder,
 * in <dir>/<first 32 hex of sha256(folder's real path)>.tsv, so a second upload of an
 * unchanged folder hashes nothing. */
struct ferry__hash_cache;
int ferry__hash_cache_open(const char *dir, const char *folder, struct ferry__hash_cache **out);
/* Fills f->sha256 / f->sha1 from the cache when size, mtime and inode still match. */
void ferry__hash_cache_lookup(const struct ferry__hash_cache *c, const char *local,
                              struct ferry__upload_file *f);
/* Keeps the hashes of the window's files (l->v, those known) for the save: lines spooled to
 * an unlinked file beside the cache, not held in memory. */
int ferry__hash_cache_add(struct ferry__hash_cache *c, const struct ferry__upload_list *l);
/* Writes the cache back, atomically: the windows' lines, then the cached lines of the walk's
 * files from `from` on (those no window reached) that still match their file. */
int ferry__hash_cache_save(struct ferry__hash_cache *c, const struct ferry__upload_list *l,
                           size_t from);
void ferry__hash_cache_free(struct ferry__hash_cache *c);

/* Hashing on worker threads: the files `todo` lists (indexes into l->v, the window; sha256
 * when lfs, else git sha1), in that order, while the caller goes on. */
struct ferry__hasher;
int ferry__hasher_start(struct ferry__upload_list *l, const uint32_t *todo, size_t n, int threads,
                        const struct ferry_stop *stop, struct ferry__hasher **out);
/* The next file hashed (in completion order): 1 and *index, or 0 when all are done. Blocks
 * until one is ready. */
int ferry__hasher_next(struct ferry__hasher *h, size_t *index);
uint64_t ferry__hasher_bytes(struct ferry__hasher *h); /* hashed so far */
int ferry__hasher_ready(struct ferry__hasher *h);      /* 1 when next would not block */
void ferry__hasher_free(struct ferry__hasher *h);      /* stops and joins the threads */
/* One file's hash, on the calling thread (sha256 hex or git blob sha1 hex). */
int ferry__hash_file(const char *path, int git_sha1, uint64_t size, const struct ferry_stop *stop,
                     uint64_t *progress, char *hex);

/* ---- commit_api.c ------------------------------------------------------------------------ */

/* preupload (§6.4) for files [from, to) of `l`: body with path, 512-byte sample, size; the
 * answer fills lfs / ignored / remote_oid. */
int ferry__preupload_body(const struct ferry__upload_list *l, size_t from, size_t to,
                          char **out, size_t *len);
int ferry__preupload_parse(const char *body, size_t len, struct ferry__upload_list *l,
                           size_t from, size_t to, char *why, size_t why_len);

/* One object of an LFS batch answer (§6.5). */
struct ferry__lfs_action {
  char oid[65];
  uint64_t size;
  int answered;             /* the answer listed it */
  int present;              /* no actions: the server has it */
  int error_code;           /* the answer's per-object error, or 0 */
  char error_message[256];
  char *href;               /* basic: PUT target; multipart: completion URL */
  char *verify_href;        /* or NULL */
  uint64_t chunk_size;      /* 0: basic upload */
  char **part_urls;         /* multipart: nparts presigned URLs, part 1 first */
  size_t nparts;
  int64_t expires_in;       /* seconds, 0 when not said */
};
int ferry__lfs_batch_body(const struct ferry__upload_file *const *objs, size_t n,
                          const char *ref, char **out, size_t *len);
/* Fills actions[i] (oid and size set by the caller) from the answer. */
int ferry__lfs_batch_parse(const char *body, size_t len, const char *endpoint,
                           struct ferry__lfs_action *actions, size_t n, char *why,
                           size_t why_len);
void ferry__lfs_action_free(struct ferry__lfs_action *a);
/* The completion body of a multipart upload: {"oid", "parts": [{partNumber, etag}...]},
 * etags[i] being part i + 1's. 0 or FERRY_E_NOMEM; *out is malloc'd. */
int ferry__lfs_completion_body(const char *oid, const char *const *etags, size_t n,
                               char **out);

/* The NDJSON body of a commit (§6.6), one line at a time. */
struct ferry__ndjson {
  char *data;
  size_t len, cap;
};
int ferry__ndjson_header(struct ferry__ndjson *b, const char *summary, const char *description,
                         const char *parent);
int ferry__ndjson_regular(struct ferry__ndjson *b, const char *path, const unsigned char *data,
                          size_t n);
int ferry__ndjson_lfs(struct ferry__ndjson *b, const char *path, const char *sha256,
                      uint64_t size);
int ferry__ndjson_delete(struct ferry__ndjson *b, const char *path, int folder);
void ferry__ndjson_free(struct ferry__ndjson *b);
int ferry__commit_parse(const char *body, size_t len, char oid[41], char **commit_url,
                        char **pr_url, char *why, size_t why_len);

/* ---- upload_parts.c ---------------------------------------------------------------------- */

/* The journal of one multipart upload in progress: <dir>/<sha256>.json, an NDJSON file whose
 * first line holds the object's part URLs, completion URL and expiry, and whose next lines
 * are the parts the storage accepted ({"part": N, "etag": "..."}). A killed upload resumes
 * from it while the URLs are valid. */
struct ferry__parts_journal {
  char *file;
  struct ferry__lfs_action action; /* the URLs (owned) */
  int64_t expires_at;              /* unix seconds, 0 when unknown */
  char **etags;                    /* per part, NULL until accepted */
  int fd;                          /* open for appending, or -1 */
};
/* Loads a journal that matches `oid`/`size`/`chunk_size` and has not expired (margin
 * included). 1 when loaded, 0 when there is none usable (a stale one is removed). */
int ferry__parts_journal_load(const char *dir, const char *oid, uint64_t size,
                              struct ferry__parts_journal *j);
/* Starts a journal for a fresh multipart action (copied). */
int ferry__parts_journal_create(const char *dir, const struct ferry__lfs_action *a,
                                struct ferry__parts_journal *j);
/* Records that part `index` (0-based) was accepted with `etag`. */
int ferry__parts_journal_accept(struct ferry__parts_journal *j, size_t index, const char *etag);
void ferry__parts_journal_remove(struct ferry__parts_journal *j); /* done, or unusable */
void ferry__parts_journal_close(struct ferry__parts_journal *j);

#endif
