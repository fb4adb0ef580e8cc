/* Unit tests for engine/hub/listing.c and repos.c: where the next page of a listing may be
 * fetched (the token goes with it), the --sort words, and repo id parsing. */
#include <stdlib.h>
#include <string.h>

#include "assert.h"
#include "../../engine/hub/hub.h"

static char *next(const char *endpoint, const char *link, int *err) {
  char *out = NULL;
  *err = ferry__hub_next_page_path(endpoint, link, &out);
  return out;
}

void test_hub_listing_next_page(void) {
  int err;
  char *p = next("https://hub.test", "<https://hub.test/api/models?cursor=2>; rel=\"next\"", &err);
  ASSERT_EQ_INT(err, 0);
  ASSERT_EQ_STR(p, "/api/models?cursor=2");
  free(p);
  /* an endpoint with a path keeps it */
  p = next("https://h.test/hub", "<https://h.test/hub/api/x?p=1>; rel=\"next\"", &err);
  ASSERT_EQ_INT(err, 0);
  ASSERT_EQ_STR(p, "/api/x?p=1");
  free(p);
  /* no next link: the last page */
  p = next("https://hub.test", "<https://hub.test/api/models?cursor=0>; rel=\"prev\"", &err);
  ASSERT_EQ_INT(err, 0);
  ASSERT_TRUE(p == NULL);
  /* anywhere else the token would leak: refused */
  const char *elsewhere[] = {
      "<https://evil.test/api/models?cursor=2>; rel=\"next\"",
      "<https://hub.test:8443/api/models>; rel=\"next\"",
      "<http://hub.test/api/models>; rel=\"next\"",
      "<https://hub.test.evil.test/api/models>; rel=\"next\"",
      "<https://hub.testx/api>; rel=\"next\"",
      "</api/models?cursor=2>; rel=\"next\"",
      "not a link header",
  };
  for (size_t i = 0; i < sizeof(elsewhere) / sizeof(*elsewhere); i++) {
    p = next("https://hub.test", elsewhere[i], &err);
    ASSERT_EQ_INT(err, FERRY_E_PROTOCOL);
    ASSERT_TRUE(p == NULL);
  }
  p = next("https://h.test/hub", "<https://h.test/hubx/api>; rel=\"next\"", &err);
  ASSERT_EQ_INT(err, FERRY_E_PROTOCOL);
}

void test_hub_listing_sort_keys(void) {
  ASSERT_EQ_STR(ferry__hub_sort_key("downloads"), "downloads");
  ASSERT_EQ_STR(ferry__hub_sort_key("likes"), "likes");
  ASSERT_EQ_STR(ferry__hub_sort_key("created"), "createdAt");
  ASSERT_EQ_STR(ferry__hub_sort_key("created_at"), "createdAt");
  ASSERT_EQ_STR(ferry__hub_sort_key("modified"), "lastModified");
  ASSERT_EQ_STR(ferry__hub_sort_key("last_modified"), "lastModified");
  ASSERT_EQ_STR(ferry__hub_sort_key("trending"), "trendingScore");
  ASSERT_EQ_STR(ferry__hub_sort_key("trendingScore"), "trendingScore");
  ASSERT_TRUE(ferry__hub_sort_key("size") == NULL);
  ASSERT_TRUE(ferry__hub_sort_key("") == NULL);
}

void test_hub_repo_id_parse_public(void) {
  char id[256], type[16], why[256];
  ASSERT_EQ_INT(ferry_hub_repo_id_parse("datasets/org/data", NULL, id, type, why, sizeof(why)), 0);
  ASSERT_EQ_STR(id, "org/data");
  ASSERT_EQ_STR(type, "dataset");
  ASSERT_EQ_INT(ferry_hub_repo_id_parse("org/m", "space", id, type, why, sizeof(why)), 0);
  ASSERT_EQ_STR(type, "space");
  ASSERT_EQ_INT(ferry_hub_repo_id_parse("spaces/org/m", "model", id, type, why, sizeof(why)),
                FERRY_E_INVAL);
  ASSERT_EQ_INT(ferry_hub_repo_id_parse("org/a..b", NULL, id, type, why, sizeof(why)),
                FERRY_E_INVAL);
  ASSERT_TRUE(strstr(why, "..") != NULL);
  ASSERT_EQ_INT(ferry_hub_repo_id_parse("org/my model", NULL, id, type, why, sizeof(why)),
                FERRY_E_INVAL);
  ASSERT_EQ_STR(id, "");
  ASSERT_EQ_INT(ferry_hub_repo_id_parse(NULL, NULL, id, type, why, sizeof(why)), FERRY_E_INVAL);
}
