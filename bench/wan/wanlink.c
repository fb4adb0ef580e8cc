/* wanlink: a wide-area link between two network namespaces, in one process.
 *
 * One TUN device is created inside each namespace (setns() before TUNSETIFF, so nothing is
 * ever made in the root namespace), and every IP packet read from one device is written to
 * the other once the emulated link would have delivered it:
 *   - a one-way delay (half the round trip) in each direction;
 *   - an aggregate rate per direction (a bottleneck with a drop-tail queue);
 *   - a rate per TCP/UDP flow per direction (what a CDN caps: one connection), also with a
 *     drop-tail queue, so TCP itself finds the cap, as on the real path;
 *   - random loss, per packet, each direction.
 * The kernel's own TCP runs at both ends, so slow start, windows and loss recovery act as
 * they do on a real path (a TCP relay would hide them). The MTU stays 1500 (MSS 1448).
 *
 * Offloads: without loss the devices take GSO super-packets (IFF_VNET_HDR + TUNSETOFFLOAD),
 * up to 64 KiB of MSS-sized segments in one read and one write, which is what keeps the
 * line's CPU cost low at hundreds of MB/s; rates count every segment's headers. With loss on,
 * offloads are left off, so every packet read is one TCP segment and loss means what it
 * says: that fraction of segments (and of ACKs) never arrives.
 *
 * Deliberately simple: one thread, ppoll() with a nanosecond timeout, a heap of packets
 * ordered by due time (flows with their own caps leave in a different order than they came;
 * within one flow the order is kept). Counters go to --stats FILE at exit and on SIGUSR1.
 * bench/wan/lab starts and stops it; bench/wan/README.md has the whole picture. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_PACKET (65536 + sizeof(struct virtio_net_hdr))
#define FLOW_SLOTS 4096
#define READ_BATCH 64
#define MAX_QUEUED_BYTES (512ull << 20) /* a bound on memory whatever the settings */

struct packet {
  uint64_t due_ns, seq;
  uint32_t len; /* bytes in data, the virtio header included when offloads are on */
  unsigned char data[];
};

/* A min-heap of packets by (due, seq). */
struct heap {
  struct packet **v;
  size_t n, cap;
};

struct flow {
  uint64_t key; /* 0: free */
  uint64_t next_free_ns;
};

/* One direction of the link: from device `in` to device `out`. */
struct direction {
  const char *name;
  int in, out;
  struct heap queue;
  uint64_t link_next_free_ns;
  struct flow flows[FLOW_SLOTS];
  uint64_t pkts_in, bytes_in, pkts_out, bytes_out, drop_loss, drop_queue, drop_memory;
  uint64_t write_errors;
};

static struct {
  double delay_ms, rate_mbit, flow_rate_mbit, loss, queue_ms;
  int offload;
  uint64_t seed;
  const char *stats_path;
} opt = {.queue_ms = -1};

static uint64_t queued_bytes, seq_counter, rng_state;
static volatile sig_atomic_t stop_flag, stats_flag;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double rand01(void) { /* xorshift64*: reproducible with --seed */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* ---- the heap ------------------------------------------------------------------------- */

static int earlier(const struct packet *a, const struct packet *b) {
  return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

static int heap_push(struct heap *h, struct packet *p) {
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 1024;
    struct packet **v = realloc(h->v, cap * sizeof(*v));
    if (!v) return -1;
    h->v = v, h->cap = cap;
  }
  size_t i = h->n++;
  while (i > 0 && earlier(p, h->v[(i - 1) / 2])) {
    h->v[i] = h->v[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  h->v[i] = p;
  return 0;
}

static struct packet *heap_pop(struct heap *h) {
  struct packet *top = h->v[0], *last = h->v[--h->n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= h->n) break;
    if (c + 1 < h->n && earlier(h->v[c + 1], h->v[c])) c++;
    if (!earlier(h->v[c], last)) break;
    h->v[i] = h->v[c];
    i = c;
  }
  if (h->n) h->v[i] = last;
  return top;
}

/* ---- packets -------------------------------------------------------------------------- */

/* The flow a packet belongs to (protocol, addresses, ports hashed), 0 for non-TCP/UDP. */
static uint64_t flow_key(const unsigned char *ip, size_t len) {
  uint64_t h = 1469598103934665603ull;
  const unsigned char *ports = NULL;
  size_t addr_off = 0, addr_len = 0;
  int proto = -1;
  if (len >= 20 && ip[0] >> 4 == 4) {
    size_t ihl = (size_t)(ip[0] & 15) * 4;
    proto = ip[9];
    addr_off = 12, addr_len = 8;
    if (len >= ihl + 4) ports = ip + ihl;
  } else if (len >= 40 && ip[0] >> 4 == 6) {
    proto = ip[6];
    addr_off = 8, addr_len = 32;
    if (len >= 44) ports = ip + 40;
  }
  if ((proto != 6 && proto != 17) || !ports) return 0;
  for (size_t i = 0; i < addr_len; i++) h = (h ^ ip[addr_off + i]) * 1099511628211ull;
  for (size_t i = 0; i < 4; i++) h = (h ^ ports[i]) * 1099511628211ull;
  h = (h ^ (uint64_t)proto) * 1099511628211ull;
  return h ? h : 1;
}

/* Bytes the packet takes on the wire: a GSO super-packet is several segments, each with its
 * own headers. */
static uint64_t wire_bytes(const unsigned char *data, size_t len) {
  if (!opt.offload) return len;
  const struct virtio_net_hdr *vh = (const void *)data;
  size_t ip_len = len - sizeof(*vh);
  if (vh->gso_type == VIRTIO_NET_HDR_GSO_NONE || !vh->gso_size || vh->hdr_len >= ip_len)
    return ip_len;
  uint64_t payload = ip_len - vh->hdr_len;
  uint64_t segs = (payload + vh->gso_size - 1) / vh->gso_size;
  return ip_len + (segs - 1) * vh->hdr_len;
}

static uint64_t serialization_ns(uint64_t bytes, double mbit) {
  return (uint64_t)((double)bytes * 8.0 * 1000.0 / mbit);
}

/* When a packet that arrives now leaves the link, or 0 when a queue is full (dropped). */
static uint64_t schedule(struct direction *d, uint64_t now, const unsigned char *data, size_t len) {
  uint64_t t = now, bytes = wire_bytes(data, len);
  uint64_t queue_ns = (uint64_t)(opt.queue_ms * 1e6);
  if (opt.flow_rate_mbit > 0) {
    const unsigned char *ip = data + (opt.offload ? sizeof(struct virtio_net_hdr) : 0);
    uint64_t key = flow_key(ip, len - (size_t)(ip - data));
    if (key) {
      struct flow *f = &d->flows[key % FLOW_SLOTS];
      if (f->key != key) f->key = key, f->next_free_ns = 0; /* a new flow (or a rare clash) */
      uint64_t start = f->next_free_ns > t ? f->next_free_ns : t;
      if (start - t > queue_ns) return 0;
      f->next_free_ns = start + serialization_ns(bytes, opt.flow_rate_mbit);
      t = f->next_free_ns;
    }
  }
  if (opt.rate_mbit > 0) {
    uint64_t start = d->link_next_free_ns > t ? d->link_next_free_ns : t;
    if (start - now > queue_ns) return 0;
    d->link_next_free_ns = start + serialization_ns(bytes, opt.rate_mbit);
    t = d->link_next_free_ns;
  }
  return t + (uint64_t)(opt.delay_ms * 1e6);
}

static void receive(struct direction *d, uint64_t now) {
  static unsigned char buf[MAX_PACKET];
  for (int i = 0; i < READ_BATCH; i++) {
    ssize_t n = read(d->in, buf, sizeof(buf));
    if (n <= 0) return; /* EAGAIN: nothing more for now */
    d->pkts_in++;
    d->bytes_in += (uint64_t)n;
    if (opt.loss > 0 && rand01() < opt.loss) {
      d->drop_loss++;
      continue;
    }
    uint64_t due = schedule(d, now, buf, (size_t)n);
    if (!due) {
      d->drop_queue++;
      continue;
    }
    struct packet *p = queued_bytes + (uint64_t)n > MAX_QUEUED_BYTES ? NULL : malloc(sizeof(*p) + (size_t)n);
    if (!p) {
      d->drop_memory++;
      continue;
    }
    p->due_ns = due, p->seq = seq_counter++, p->len = (uint32_t)n;
    memcpy(p->data, buf, (size_t)n);
    if (heap_push(&d->queue, p) != 0) {
      free(p);
      d->drop_memory++;
      continue;
    }
    queued_bytes += (uint64_t)n;
  }
}

/* Writes every packet that is due (a few microseconds early is on time: the timer's slack). */
static void deliver(struct direction *d, uint64_t now) {
  while (d->queue.n && d->queue.v[0]->due_ns <= now + 20000) {
    struct packet *p = heap_pop(&d->queue);
    if (write(d->out, p->data, p->len) == (ssize_t)p->len) {
      d->pkts_out++;
      d->bytes_out += p->len;
    } else {
      d->write_errors++;
    }
    queued_bytes -= p->len;
    free(p);
  }
}

/* ---- devices -------------------------------------------------------------------------- */

/* A TUN device named `dev` inside the namespace /var/run/netns/`ns`. */
static int tun_in_namespace(const char *ns, const char *dev, int home_ns) {
  char path[512];
  snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
  int nsfd = open(path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) {
    fprintf(stderr, "wanlink: cannot enter the namespace %s: %s\n", ns, strerror(errno));
    return -1;
  }
  close(nsfd);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  struct ifreq ifr = {0};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (opt.offload ? IFF_VNET_HDR : 0);
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
  int ok = fd >= 0 && ioctl(fd, TUNSETIFF, &ifr) == 0;
  if (ok && opt.offload)
    ok = ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) == 0;
  if (!ok) fprintf(stderr, "wanlink: cannot create the TUN device %s in %s: %s\n", dev, ns, strerror(errno));
  if (setns(home_ns, CLONE_NEWNET) != 0) ok = 0;
  if (!ok && fd >= 0) close(fd);
  return ok ? fd : -1;
}

static void write_stats(struct direction *dirs) {
  if (!opt.stats_path) return;
  char tmp[4096];
  snprintf(tmp, sizeof(tmp), "%s.tmp", opt.stats_path);
  FILE *f = fopen(tmp, "w");
  if (!f) return;
  for (int i = 0; i < 2; i++) {
    struct direction *d = &dirs[i];
    fprintf(f, "%s pkts_in=%llu bytes_in=%llu pkts_out=%llu bytes_out=%llu drop_loss=%llu "
               "drop_queue=%llu drop_memory=%llu write_errors=%llu\n",
            d->name, (unsigned long long)d->pkts_in, (unsigned long long)d->bytes_in,
            (unsigned long long)d->pkts_out, (unsigned long long)d->bytes_out,
            (unsigned long long)d->drop_loss, (unsigned long long)d->drop_queue,
            (unsigned long long)d->drop_memory, (unsigned long long)d->write_errors);
  }
  fclose(f);
  rename(tmp, opt.stats_path);
}

static void on_signal(int sig) {
  if (sig == SIGUSR1) stats_flag = 1;
  else stop_flag = 1;
}

static void usage(void) {
  fprintf(stderr,
          "usage: wanlink --client-ns NS --server-ns NS [--client-dev DEV] [--server-dev DEV]\n"
          "               [--delay-ms MS] [--rate-mbit R] [--flow-rate-mbit R] [--loss FRACTION]\n"
          "               [--queue-ms MS] [--no-offload] [--seed N] [--stats FILE]\n"
          "  --delay-ms       one-way delay, each direction (RTT / 2)\n"
          "  --rate-mbit      aggregate rate per direction, Mbit/s (0: none)\n"
          "  --flow-rate-mbit rate per TCP/UDP flow per direction, Mbit/s (0: none)\n"
          "  --loss           fraction of packets dropped at random, each direction\n"
          "  --queue-ms       drop-tail bound of a rate-limited queue (default: max(RTT, 20))\n");
}

int main(int argc, char **argv) {
  const char *cns = NULL, *sns = NULL, *cdev = "wanc0", *sdev = "wans0";
  int no_offload = 0;
  static const struct option opts[] = {
      {"client-ns", required_argument, 0, 'c'}, {"server-ns", required_argument, 0, 's'},
      {"client-dev", required_argument, 0, 'C'}, {"server-dev", required_argument, 0, 'S'},
      {"delay-ms", required_argument, 0, 'd'}, {"rate-mbit", required_argument, 0, 'r'},
      {"flow-rate-mbit", required_argument, 0, 'f'}, {"loss", required_argument, 0, 'l'},
      {"queue-ms", required_argument, 0, 'q'}, {"no-offload", no_argument, 0, 'n'},
      {"seed", required_argument, 0, 'x'}, {"stats", required_argument, 0, 'o'},
      {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    char *end = NULL;
    double v = optarg ? strtod(optarg, &end) : 0;
    int bad = optarg && (end == optarg || *end || v < 0);
    switch (c) {
    case 'c': cns = optarg, bad = 0; break;
    case 's': sns = optarg, bad = 0; break;
    case 'C': cdev = optarg, bad = 0; break;
    case 'S': sdev = optarg, bad = 0; break;
    case 'd': opt.delay_ms = v; break;
    case 'r': opt.rate_mbit = v; break;
    case 'f': opt.flow_rate_mbit = v; break;
    case 'l': opt.loss = v, bad = bad || v >= 1; break;
    case 'q': opt.queue_ms = v; break;
    case 'n': no_offload = 1; break;
    case 'x': opt.seed = (uint64_t)v; break;
    case 'o': opt.stats_path = optarg, bad = 0; break;
    case 'h': usage(); return 0;
    default: usage(); return 2;
    }
    if (bad) {
      const char *name = "?";
      for (const struct option *o = opts; o->name; o++)
        if (o->val == c) name = o->name;
      fprintf(stderr, "wanlink: bad value for --%s: %s\n", name, optarg);
      return 2;
    }
  }
  if (!cns || !sns) {
    usage();
    return 2;
  }
  if (opt.queue_ms < 0) opt.queue_ms = 2 * opt.delay_ms > 20 ? 2 * opt.delay_ms : 20;
  opt.offload = !no_offload && opt.loss == 0;
  rng_state = opt.seed ? opt.seed : 0x9e3779b97f4a7c15ull;
  prctl(PR_SET_TIMERSLACK, 1000UL); /* 1 us: delays of half a millisecond stay exact */

  int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int cfd = home < 0 ? -1 : tun_in_namespace(cns, cdev, home);
  int sfd = cfd < 0 ? -1 : tun_in_namespace(sns, sdev, home);
  if (sfd < 0) return 1;
  static struct direction dirs[2];
  dirs[0].name = "down", dirs[0].in = sfd, dirs[0].out = cfd; /* server -> client */
  dirs[1].name = "up", dirs[1].in = cfd, dirs[1].out = sfd;

  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
  printf("ready\n");
  fflush(stdout);

  while (!stop_flag) {
    uint64_t now = now_ns();
    deliver(&dirs[0], now);
    deliver(&dirs[1], now);
    if (stats_flag) {
      stats_flag = 0;
      write_stats(dirs);
    }
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < 2; i++)
      if (dirs[i].queue.n && dirs[i].queue.v[0]->due_ns < next) next = dirs[i].queue.v[0]->due_ns;
    struct timespec ts, *tsp = NULL;
    if (next != UINT64_MAX) {
      uint64_t wait = next > now ? next - now : 0;
      ts.tv_sec = (time_t)(wait / 1000000000ull), ts.tv_nsec = (long)(wait % 1000000000ull);
      tsp = &ts;
    }
    struct pollfd pf[2] = {{.fd = sfd, .events = POLLIN}, {.fd = cfd, .events = POLLIN}};
    int r = ppoll(pf, 2, tsp, NULL);
    if (r < 0 && errno != EINTR) break;
    now = now_ns();
    if (r > 0 && pf[0].revents & POLLIN) receive(&dirs[0], now);
    if (r > 0 && pf[1].revents & POLLIN) receive(&dirs[1], now);
  }
  write_stats(dirs);
  return 0;
}
