/* Unit tests for the engine's job source (engine.c, ferry_job_source): jobs are asked for while
 * the run goes on, never more than the window unfinished at once, each ends once, and the
 * engine frees them as they end, so a run's memory does not grow with its number of files.
 * The jobs fail at once and without a request (their folder does not exist). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert.h"
#include "internal.h"

struct feeder {
  int give, added, ended, asked, asked_after_end, window_seen, stop_at;
  int exhausted;
  unsigned char *ended_once; /* per job: how many times done_cb ran */
  struct ferry_engine *e;
};

struct one {
  struct feeder *f;
  int i;
};

static void on_done(void *user, struct ferry_job *job) {
  struct one *o = user;
  struct ferry_job_result r;
  ferry_job_result(job, &r); /* still valid here */
  ASSERT_TRUE(r.error != 0);
  o->f->ended_once[o->i]++;
  o->f->ended++;
  free(o);
}

static int next(void *user, struct ferry_engine *e) {
  struct feeder *f = user;
  f->asked++;
  if (f->exhausted) f->asked_after_end++;
  int open = f->added - f->ended;
  if (open > f->window_seen) f->window_seen = open;
  /* as begin_stop does on a stop (the stop's watcher gets there on the next loop turn, and
   * these jobs all end within one pump) */
  if (f->stop_at && f->added == f->stop_at) e->stopping = 1;
  if (f->added == f->give) {
    f->exhausted = 1;
    return 0;
  }
  char path[4200];
  snprintf(path, sizeof(path), "%s/no-such-folder/f%d", ferry_unit_tmpdir(), f->added);
  struct one *o = malloc(sizeof(*o));
  ASSERT_NOT_NULL(o);
  *o = (struct one){f, f->added};
  struct ferry_job_spec spec = {.url = "http://127.0.0.1:9/x", .path = path, .size = 10,
                                .done_cb = on_done, .done_user = o};
  ASSERT_EQ_INT(ferry_engine_add(e, &spec, NULL), 0);
  f->added++;
  return 1;
}

static int jobs_in_list(const struct ferry_engine *e) {
  int n = 0;
  for (const struct ferry__job *j = e->jobs; j; j = j->next) n++;
  return n;
}

void test_engine_source_window(void) {
  struct ferry_engine *e = NULL;
  ASSERT_EQ_INT(ferry_engine_new(NULL, &e), 0);
  struct feeder f = {.give = 3000, .ended_once = calloc(3000, 1)};
  ASSERT_NOT_NULL(f.ended_once);
  struct ferry_job_source bad = {.next = NULL};
  ASSERT_EQ_INT(ferry_engine_set_source(e, &bad), FERRY_E_INVAL);
  struct ferry_job_source src = {.next = next, .user = &f, .window = 16, .total = 5000};
  ASSERT_EQ_INT(ferry_engine_set_source(e, &src), 0);
  struct ferry_stats st;
  ferry_engine_stats(e, &st);
  ASSERT_EQ_INT(st.files_total, 5000); /* announced before the run */
  ASSERT_TRUE(ferry_engine_run(e) != 0);
  ASSERT_EQ_INT(f.added, 3000);
  ASSERT_EQ_INT(f.ended, 3000);
  for (int i = 0; i < 3000; i++) ASSERT_EQ_INT(f.ended_once[i], 1);
  ASSERT_LE_INT(f.window_seen, 15); /* asked only while fewer than 16 were unfinished */
  ASSERT_EQ_INT(f.asked, 3001);     /* once more for the 0, then never again */
  ASSERT_EQ_INT(f.asked_after_end, 0);
  ferry_engine_stats(e, &st);
  ASSERT_EQ_INT(st.files_total, 3000); /* what it gave, not what it announced */
  ASSERT_EQ_INT(st.files_failed, 3000);
  /* ended jobs are freed during the run: at most the last pump's worth are left */
  ASSERT_LE_INT(jobs_in_list(e), 16);
  ferry_engine_free(e);
  free(f.ended_once);
}

/* Once the engine is stopping the source is not asked again: the rest never become jobs. */
void test_engine_source_stop(void) {
  struct ferry_engine *e = NULL;
  ASSERT_EQ_INT(ferry_engine_new(NULL, &e), 0);
  struct feeder f = {.give = 100000, .stop_at = 50, .ended_once = calloc(100000, 1)};
  ASSERT_NOT_NULL(f.ended_once);
  struct ferry_job_source src = {.next = next, .user = &f, .window = 8};
  ASSERT_EQ_INT(ferry_engine_set_source(e, &src), 0);
  ferry_engine_run(e);
  ASSERT_EQ_INT(f.added, 51); /* the job of the call that saw the stop, then no more calls */
  ASSERT_EQ_INT(f.asked, 51);
  ASSERT_EQ_INT(f.ended, f.added);
  ASSERT_EQ_INT(f.exhausted, 0);
  ferry_engine_free(e);
  free(f.ended_once);
}
