/* Unit tests for engine/hub/client.c: the Hub's error answers mapped to ferry errors. */
#include <string.h>

#include "assert.h"
#include "../../engine/hub/hub.h"

static struct ferry_hub_reply classify(long status, const char *headers, const char *body,
                                       int have_token) {
  struct ferry_response r = {.status = status, .headers = (char *)headers,
                             .body = (char *)body, .body_len = body ? strlen(body) : 0};
  struct ferry_hub_reply out;
  memset(&out, 0, sizeof(out));
  ferry__hub_classify(&r, have_token, &out);
  return out;
}

void test_hub_client_classify_codes(void) {
  struct ferry_hub_reply r = classify(200, "", "{}", 1);
  ASSERT_EQ_INT(r.error, 0);
  r = classify(404, "X-Error-Code: RepoNotFound\nX-Error-Message: Repository not found\n", "", 1);
  ASSERT_EQ_INT(r.error, FERRY_E_HUB_REPO_NOT_FOUND);
  ASSERT_EQ_STR(r.error_code, "RepoNotFound");
  ASSERT_EQ_STR(r.server_message, "Repository not found");
  ASSERT_TRUE(strstr(r.message, "HTTP 404") != NULL);
  r = classify(404, "x-error-code: RevisionNotFound\n", "", 1);
  ASSERT_EQ_INT(r.error, FERRY_E_HUB_REVISION_NOT_FOUND);
  r = classify(404, "X-Error-Code: EntryNotFound\n", "", 1);
  ASSERT_EQ_INT(r.error, FERRY_E_HUB_ENTRY_NOT_FOUND);
  r = classify(403, "X-Error-Code: GatedRepo\n", "", 1);
  ASSERT_EQ_INT(r.error, FERRY_E_HUB_GATED);
  /* an invalid token is an auth error, not "repository not found" */
  r = classify(401, "X-Error-Message: Invalid credentials in Authorization header\n", "", 1);
  ASSERT_EQ_INT(r.error, FERRY_E_HUB_AUTH);
  r = classify(401, "", "", 0);
  ASSERT_EQ_INT(r.error, FERRY_E_HUB_REPO_NOT_FOUND);
  ASSERT_TRUE(strstr(r.message, "no token was sent") != NULL);
  r = classify(403, "", "{\"error\":\"You don't have the rights\"}", 1);
  ASSERT_EQ_INT(r.error, FERRY_E_HUB_AUTH);
  ASSERT_EQ_STR(r.server_message, "You don't have the rights");
  r = classify(409, "", "{\"error\":\"You already created this model repo\",\"url\":\"x\"}", 1);
  ASSERT_EQ_INT(r.error, FERRY_E_HUB_CONFLICT);
  ASSERT_TRUE(strstr(r.message, "You already created this model repo") != NULL);
  r = classify(412, "", "", 1);
  ASSERT_EQ_INT(r.error, FERRY_E_HUB_CONFLICT);
  r = classify(400, "", "{\"error\":[{\"message\":\"bad\\nline\"}]}", 1);
  ASSERT_EQ_INT(r.error, FERRY_E_HUB_BAD_REQUEST);
  ASSERT_EQ_STR(r.server_message, "bad line"); /* one line, whatever the server sent */
  r = classify(429, "", "", 1);
  ASSERT_EQ_INT(r.error, FERRY_E_RATELIMIT);
  r = classify(500, "", "not json", 1);
  ASSERT_EQ_INT(r.error, FERRY_E_HTTP);
  ASSERT_EQ_STR(r.server_message, "");
  ASSERT_EQ_INT(ferry_exit_class(FERRY_E_HUB_CONFLICT), 17);
  ASSERT_EQ_INT(ferry_exit_class(FERRY_E_HUB_BAD_REQUEST), 18);
}
