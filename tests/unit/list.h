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
  X(xxh3_matches_library)

#endif
