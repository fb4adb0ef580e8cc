/* stop.h: the stop inside the library: its pipe for the engine's watcher and a wait it ends
 * (stop.c), and each engine's side of it (engine.c). */
#ifndef FERRY_STOP_H
#define FERRY_STOP_H

#include "ferry.h"

int ferry__stop_fd(const struct ferry_stop *s);
/* Blocks up to `ms` (a wait off the loop: a lock, a back-off); returns 1 at once when `s` is
 * requested (then, or already), else 0 after the wait. s NULL: a plain sleep. */
int ferry__stop_wait(const struct ferry_stop *s, long ms);

/* Ends this engine's current run or puts early, as a stop would but for this engine alone
 * and for that call alone (ferry bench's clock, a mirror dropped mid-run): the API calls
 * after it run. Safe from any thread. */
void ferry__engine_stop(struct ferry_engine *e);
/* The current run or puts should end: cfg.stop was requested or ferry__engine_stop called. */
int ferry__engine_stopped(const struct ferry_engine *e);
/* on: the engine runs whatever cfg.stop says, until called with 0: for cleanup that must
 * happen after a stop too (ferry bench deletes its scratch repo after Ctrl-C). */
void ferry__engine_ignore_stop(struct ferry_engine *e, int on);
/* cfg.stop, or NULL once ignored: for the waits off the loop (stop.c's ferry__stop_wait). */
const struct ferry_stop *ferry__engine_user_stop(const struct ferry_engine *e);

#endif
