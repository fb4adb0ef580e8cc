/* stop: Ctrl-C and SIGTERM for the commands that move data. The handler requests one
 * ferry_stop (ferry.h), which ends whatever the library is doing at once and leaves every
 * transfer resumable; the command then reports and exits 130. */
#include <signal.h>
#include <stddef.h>

#include "cli.h"

static struct ferry_stop *stop; /* the process's, for the handler: it reaches nothing else */

static void on_signal(int sig) {
  (void)sig;
  ferry_stop_request(stop);
}

struct ferry_stop *cli_stop_on_signals(void) {
  if (!stop && ferry_stop_new(&stop) != 0) return NULL; /* the signals keep killing */
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  return stop;
}
