/* list.h: every unit test, once. runner.c turns this list into its table of tests, and
 * CMakeLists.txt reads it to register one CTest entry per test (unit.<name>); a test that is
 * defined but not listed, or listed but not registered, stops the build.
 * Each entry names a function `void test_<name>(void)` in one of the test_<piece>.c files. */
#ifndef FERRY_UNIT_LIST_H
#define FERRY_UNIT_LIST_H

#define FERRY_UNIT_TESTS(X) \
  X(http_content_range_valid) \
  X(http_content_range_unsatisfied) \
  X(http_content_range_whitespace) \
  X(http_content_range_malformed) \
  X(http_content_range_overflow) \
  X(http_retry_after_seconds) \
  X(http_retry_after_date) \
  X(http_retry_after_garbage) \
  X(http_status_line) \
  X(http_split_header) \
  X(http_header_is) \
  X(http_parse_u64) \
  X(ivset_add_merge) \
  X(ivset_add_many) \
  X(ivset_remove) \
  X(ivset_queries) \
  X(ivset_random_model) \
  X(journal_roundtrip) \
  X(journal_split_points) \
  X(journal_torn_tail) \
  X(journal_incomplete_header) \
  X(journal_header_bitflip) \
  X(journal_record_bitflip) \
  X(journal_record_fields) \
  X(journal_header_fields) \
  X(journal_identity_roundtrip) \
  X(journal_damaged_stays_damaged) \
  X(journal_encode_capacity) \
  X(journal_file_roundtrip) \
  X(journal_file_truncated) \
  X(journal_file_missing) \
  X(journal_file_large) \
  X(plan_chunk_bounds) \
  X(plan_chunk_unaligned_chunk) \
  X(plan_next) \
  X(plan_split) \
  X(plan_classify_curl) \
  X(plan_classify_status) \
  X(plan_backoff) \
  X(plan_backoff_any_rnd) \
  X(errors_table) \
  X(errors_unknown) \
  X(errors_retryable) \
  X(errors_exit_classes) \
  X(hub_repo_id_valid) \
  X(hub_repo_id_invalid) \
  X(hub_repo_parse) \
  X(hub_revision) \
  X(hub_endpoint) \
  X(hub_quote) \
  X(hub_urls) \
  X(hub_cache_path_check) \
  X(hub_cache_roots) \
  X(hub_cache_names) \
  X(hub_cache_etag) \
  X(hub_cache_symlink_target) \
  X(hub_cache_write_atomic) \
  X(hub_cache_refs) \
  X(hub_cache_no_exist) \
  X(hub_cache_cachedir_tag) \
  X(hub_cache_symlink_probe) \
  X(hub_cache_local_dir) \
  X(hub_patterns_table) \
  X(hub_patterns_allow_ignore) \
  X(hub_patterns_limits) \
  X(hub_tree_page) \
  X(hub_tree_page_malformed) \
  X(hub_tree_repo_info) \
  X(hub_tree_link_next) \
  X(hub_tree_cache_format) \
  X(hub_tree_cache_roundtrip) \
  X(hub_tree_cache_malformed) \
  X(hub_auth_env_true) \
  X(hub_auth_settings) \
  X(hub_auth_endpoint) \
  X(hub_auth_token_clean) \
  X(hub_auth_token_resolve) \
  X(hub_auth_same_origin) \
  X(hub_lock_acquire_release) \
  X(hub_lock_release_only_own) \
  X(hub_lock_dead_owner) \
  X(hub_lock_live_owner) \
  X(hub_lock_stale_rules) \
  X(hub_lock_malformed) \
  X(hub_lock_contention) \
  X(xxh3_matches_library)

#endif
