# The Hub client's sources (engine/hub, see hub.h for what each file does), for libferry. engine/CMakeLists.txt
# includes this file and adds ${FERRY_HUB_SOURCES} to the library's sources.
set(FERRY_HUB_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/auth.c
  ${CMAKE_CURRENT_LIST_DIR}/bench.c
  ${CMAKE_CURRENT_LIST_DIR}/bench_upload.c
  ${CMAKE_CURRENT_LIST_DIR}/bench_sweep.c
  ${CMAKE_CURRENT_LIST_DIR}/cache.c
  ${CMAKE_CURRENT_LIST_DIR}/client.c
  ${CMAKE_CURRENT_LIST_DIR}/commit_api.c
  ${CMAKE_CURRENT_LIST_DIR}/cache_clean.c
  ${CMAKE_CURRENT_LIST_DIR}/cache_scan.c
  ${CMAKE_CURRENT_LIST_DIR}/card.c
  ${CMAKE_CURRENT_LIST_DIR}/card_schema.c
  ${CMAKE_CURRENT_LIST_DIR}/card_template.c
  ${CMAKE_CURRENT_LIST_DIR}/listing.c
  ${CMAKE_CURRENT_LIST_DIR}/login.c
  ${CMAKE_CURRENT_LIST_DIR}/mirror.c
  ${CMAKE_CURRENT_LIST_DIR}/patterns.c
  ${CMAKE_CURRENT_LIST_DIR}/repo.c
  ${CMAKE_CURRENT_LIST_DIR}/stored_tokens.c
  ${CMAKE_CURRENT_LIST_DIR}/repos.c
  ${CMAKE_CURRENT_LIST_DIR}/settings.c
  ${CMAKE_CURRENT_LIST_DIR}/tree.c
  ${CMAKE_CURRENT_LIST_DIR}/upload_hash.c
  ${CMAKE_CURRENT_LIST_DIR}/upload_parts.c
  ${CMAKE_CURRENT_LIST_DIR}/upload_walk.c
  ${CMAKE_CURRENT_LIST_DIR}/util.c
)
set(FERRY_HUB_INCLUDE_DIR ${CMAKE_CURRENT_LIST_DIR})
