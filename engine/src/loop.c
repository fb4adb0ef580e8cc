/* loop: libcurl's multi interface driven by the libuv loop (curl_multi_socket_action).
 *
 * The shape is the one of curl's multi-uv example with the fixes style.md lists: the poll
 * status is passed on as CURL_CSELECT_ERR, completions are drained after every
 * socket_action, a 0 ms timeout runs from an idle handle on the next loop turn (a 0 ms
 * uv_timer restarted from its own callback busy-loops in libuv 1.44, and raising it to 1 ms
 * stalls: libcurl 7.88 asks for 0 ms each time an HTTP/2 stream has data buffered for
 * another transfer, so a 1 ms sleep per drain left the loop idle a third of a download),
 * socket contexts are freed only in their close callback, and nothing calls back into
 * libcurl from inside a libcurl callback. */
#include <stdlib.h>

#include "internal.h"

struct sock_ctx {
  uv_poll_t poll;
  curl_socket_t fd;
  struct ferry_engine *e;
};

static void drain(struct ferry_engine *e) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(e->multi, &left))) {
    if (msg->msg != CURLMSG_DONE) continue;
    char *priv = NULL;
    CURLcode rc = msg->data.result;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
    /* Both handlers remove the handle: msg is dead after them. */
    if (*(int *)priv == FERRY__TAG_FETCH) ferry__fetch_done(priv, rc);
    else if (*(int *)priv == FERRY__TAG_PUT) ferry__put_done(priv, rc);
    else if (*(int *)priv == FERRY__TAG_WARM) ferry__warm_done(priv, rc);
    else ferry__xfer_done((struct ferry__xfer *)priv, rc);
  }
}

static void action(struct ferry_engine *e, curl_socket_t fd, int flags) {
  int running = 0;
  CURLMcode mc = curl_multi_socket_action(e->multi, fd, flags, &running);
  if (mc != CURLM_OK) {
    /* The multi handle is poisoned (curl_multi_socket_action.md): fail everything. */
    ferry__log(e, "curl_multi_socket_action: %s", curl_multi_strerror(mc));
    for (struct ferry__job *j = e->jobs; j; j = j->next)
      if (j->state != FERRY__J_DONE && j->state != FERRY__J_FAILED)
        ferry__job_fail(j, FERRY_E_INTERNAL, 0, "transfer engine failure: %s",
                        curl_multi_strerror(mc));
  }
  drain(e);
  ferry__pump(e);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  struct sock_ctx *c = ferry__container_of(h, struct sock_ctx, poll);
  int flags = 0;
  if (status < 0) flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  action(c->e, c->fd, flags);
}

static void on_sock_closed(uv_handle_t *h) {
  free(ferry__container_of((uv_poll_t *)h, struct sock_ctx, poll));
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  (void)easy;
  struct ferry_engine *e = userp;
  struct sock_ctx *c = socketp;
  if (what == CURL_POLL_REMOVE) {
    if (c) {
      uv_poll_stop(&c->poll);
      uv_close((uv_handle_t *)&c->poll, on_sock_closed);
      curl_multi_assign(e->multi, fd, NULL);
    }
    return 0;
  }
  if (!c) {
    c = calloc(1, sizeof(*c));
    if (!c) return -1;
    c->fd = fd;
    c->e = e;
    if (uv_poll_init_socket(&e->loop, &c->poll, fd) != 0) {
      free(c);
      ferry__log(e, "uv_poll_init_socket failed for fd %d", (int)fd);
      return -1;
    }
    curl_multi_assign(e->multi, fd, c);
  }
  int events = 0;
  if (what & CURL_POLL_IN) events |= UV_READABLE;
  if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
  return uv_poll_start(&c->poll, events, on_poll) == 0 ? 0 : -1;
}

static void on_curl_timer(uv_timer_t *t) {
  struct ferry_engine *e = ferry__container_of(t, struct ferry_engine, curl_timer);
  action(e, CURL_SOCKET_TIMEOUT, 0);
}

/* An idle handle makes the loop poll I/O without blocking, then call this: sockets are
 * still served between two runs, so a 0 ms timeout set again from here cannot starve them. */
static void on_curl_kick(uv_idle_t *h) {
  struct ferry_engine *e = ferry__container_of(h, struct ferry_engine, curl_kick);
  uv_idle_stop(h);
  action(e, CURL_SOCKET_TIMEOUT, 0);
}

/* libcurl keeps one timer: each call replaces the previous one. */
static int on_timer_change(CURLM *multi, long timeout_ms, void *userp) {
  (void)multi;
  struct ferry_engine *e = userp;
  uv_timer_stop(&e->curl_timer);
  uv_idle_stop(&e->curl_kick);
  if (timeout_ms == 0) uv_idle_start(&e->curl_kick, on_curl_kick);
  else if (timeout_ms > 0) uv_timer_start(&e->curl_timer, on_curl_timer, (uint64_t)timeout_ms, 0);
  return 0;
}

/* What ferry__loop_init made, undone when a later step fails (a failed engine_new must not
 * leave a loop, a mutex or handles behind, nor close what was never opened). */
static void loop_init_undo(struct ferry_engine *e, int handles, int mutex) {
  if (handles) {
    uv_close((uv_handle_t *)&e->curl_timer, NULL);
    uv_close((uv_handle_t *)&e->curl_kick, NULL);
    uv_run(&e->loop, UV_RUN_NOWAIT); /* the close callbacks */
  }
  if (mutex) uv_mutex_destroy(&e->write_lock);
  uv_loop_close(&e->loop);
}

int ferry__loop_init(struct ferry_engine *e) {
  int r = uv_loop_init(&e->loop);
  if (r) return r == UV_ENOMEM ? FERRY_E_NOMEM : FERRY_E_INTERNAL;
  if (uv_mutex_init(&e->write_lock)) {
    loop_init_undo(e, 0, 0);
    return FERRY_E_INTERNAL;
  }
  uv_timer_init(&e->loop, &e->curl_timer);
  uv_idle_init(&e->loop, &e->curl_kick);
  e->multi = curl_multi_init();
  if (!e->multi) {
    loop_init_undo(e, 1, 1);
    return FERRY_E_NOMEM;
  }
  curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
  curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
  curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
  curl_multi_setopt(e->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  /* connections and streams per connection: set by the concurrency controller (concurrency.c) */
  return 0;
}

static void close_cb(uv_handle_t *h) { (void)h; }

void ferry__loop_close(struct ferry_engine *e) {
  /* Order matters (style.md pitfall 11): curl_multi_cleanup may still call on_socket, so
   * the loop must be alive; then close our handles and let the loop deliver the closes. */
  if (e->multi) curl_multi_cleanup(e->multi);
  e->multi = NULL;
  uv_close((uv_handle_t *)&e->curl_timer, close_cb);
  uv_close((uv_handle_t *)&e->curl_kick, close_cb);
  /* engine.c's stop watchers, when made */
  if (e->stop_async.loop) uv_close((uv_handle_t *)&e->stop_async, close_cb);
  if (e->stop_poll.loop) uv_close((uv_handle_t *)&e->stop_poll, close_cb);
  uv_run(&e->loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&e->loop) != 0) ferry__log(e, "loop did not close cleanly");
  uv_mutex_destroy(&e->write_lock);
}
