"""Probes of a WAN lab link (bench/wan/README.md), standard library only. Run the server in
the lab's server namespace and the probes in its client namespace:

    ip netns exec "$WAN_SERVER_NS" python3 probe.py serve [--port 5001]
    ip netns exec "$WAN_CLIENT_NS" python3 probe.py connect HOST        median TCP connect, ms
    ip netns exec "$WAN_CLIENT_NS" python3 probe.py streams HOST --streams 8 --seconds 4 [--warmup 1]
    ip netns exec "$WAN_CLIENT_NS" python3 probe.py loss HOST --count 40000

Each probe prints one JSON object. `loss` is measured end to end: datagrams sent by the client
against datagrams the server counted, not the delay line's own counter."""
import argparse
import json
import socket
import statistics
import threading
import time

CHUNK = 1 << 20


def serve(port):
    """TCP: a client sends a line "send N" (N bytes back) or "count ID" (datagrams counted
    for a loss run). UDP on the same port: datagrams "ID:seq", counted per ID."""
    counts, lock = {}, threading.Lock()

    def udp_loop():
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
        u.bind(("0.0.0.0", port))
        while True:
            data = u.recv(2048)
            run = data.split(b":", 1)[0]
            with lock:
                counts[run] = counts.get(run, 0) + 1

    def handle(conn):
        with conn:
            line = conn.makefile("rb").readline().split()
            if len(line) == 2 and line[0] == b"send":
                left, block = int(line[1]), b"\0" * CHUNK
                try:
                    while left > 0:
                        left -= conn.send(block[:min(left, CHUNK)])
                except OSError:
                    pass
            elif len(line) == 2 and line[0] == b"count":
                time.sleep(0.5)  # datagrams still on the link arrive first
                with lock:
                    conn.sendall(b"%d\n" % counts.get(line[1], 0))

    threading.Thread(target=udp_loop, daemon=True).start()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(256)
    print(json.dumps({"serving": port}), flush=True)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def connect(host, port, n):
    times = []
    for _ in range(n):
        s = socket.socket()
        t0 = time.perf_counter()
        s.connect((host, port))
        times.append((time.perf_counter() - t0) * 1000)
        s.close()
        time.sleep(0.02)
    return {"connect_ms_median": statistics.median(times), "connect_ms_min": min(times),
            "samples": n}


def streams(host, port, n, seconds, warmup):
    """n TCP streams at once for `warmup` + `seconds`; goodput over the last `seconds` only,
    so that slow start (a few round trips) does not count against the link."""
    got = [0] * n
    start = [None]
    lock = threading.Lock()

    def run(i):
        s = socket.create_connection((host, port))
        s.sendall(b"send %d\n" % (1 << 40))
        while True:
            d = s.recv(CHUNK)
            now = time.perf_counter()
            if not d or now >= stop:
                break
            with lock:
                if start[0] is None:
                    start[0] = now + warmup  # the clock starts at the first byte of any stream
                if now >= start[0]:
                    got[i] += len(d)
        s.close()

    stop = time.perf_counter() + warmup + seconds + 5  # until the first byte sets it
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    while start[0] is None and any(t.is_alive() for t in threads):
        time.sleep(0.001)
    if start[0] is not None:
        stop = start[0] + seconds
    for t in threads:
        t.join()
    elapsed = seconds
    return {"streams": n, "seconds": elapsed, "warmup_seconds": warmup,
            "mbyte_per_s": sum(got) / elapsed / 1e6,
            "per_stream_mbyte_per_s": [g / elapsed / 1e6 for g in got]}


def loss(host, port, count, rate):
    """`count` datagrams paced at `rate` per second (so no queue on the way overflows)."""
    run = b"%d" % time.time_ns()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t0 = time.perf_counter()
    for i in range(count):
        u.sendto(run + b":%d" % i, (host, port))
        ahead = t0 + (i + 1) / rate - time.perf_counter()
        if ahead > 0.001:
            time.sleep(ahead)
    with socket.create_connection((host, port)) as s:
        s.sendall(b"count " + run + b"\n")
        received = int(s.makefile("rb").readline())
    return {"sent": count, "received": received, "loss": 1 - received / count}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("what", choices=["serve", "connect", "streams", "loss"])
    p.add_argument("host", nargs="?")
    p.add_argument("--port", type=int, default=5001)
    p.add_argument("--n", type=int, default=15, help="connect: samples")
    p.add_argument("--streams", type=int, default=8)
    p.add_argument("--seconds", type=float, default=4)
    p.add_argument("--warmup", type=float, default=1, help="streams: seconds not counted")
    p.add_argument("--count", type=int, default=40000)
    p.add_argument("--rate", type=float, default=20000, help="loss: datagrams per second")
    a = p.parse_intermixed_args()
    if a.what == "serve":
        serve(a.port)
    elif a.what == "connect":
        print(json.dumps(connect(a.host, a.port, a.n)))
    elif a.what == "streams":
        print(json.dumps(streams(a.host, a.port, a.streams, a.seconds, a.warmup)))
    else:
        print(json.dumps(loss(a.host, a.port, a.count, a.rate)))


if __name__ == "__main__":
    main()
