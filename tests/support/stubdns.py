"""A DNS server for tests: answers A queries for the names it is given, NXDOMAIN for others,
on a UDP port of loopback. nginx resolves the host of a URL held in a variable (the cache
tier following a redirect to the CDN) with its own resolver, not /etc/hosts, so a test whose
origins are named (`localhost`, for certificates nginx can check) needs one. Standard library."""
import socket
import struct
import threading


def _question_end(packet):
    """Offset just past the question's name, type and class (no compression in questions)."""
    i = 12
    while packet[i]:
        i += 1 + packet[i]
    return i + 1 + 4


def _name(packet):
    labels, i = [], 12
    while packet[i]:
        labels.append(packet[i + 1:i + 1 + packet[i]].decode("ascii", "replace"))
        i += 1 + packet[i]
    return ".".join(labels).lower()


def answer(packet, names):
    """The reply to one query packet, or None for what is not a standard query."""
    if len(packet) < 17:
        return None
    ident, flags, qdcount = struct.unpack("!HHH", packet[:6])
    if flags & 0x8000 or qdcount != 1:
        return None
    end = _question_end(packet)
    qtype = struct.unpack("!H", packet[end - 4:end - 2])[0]
    address = names.get(_name(packet))
    question = packet[12:end]
    if address is None:
        return struct.pack("!HHHHHH", ident, 0x8183, 1, 0, 0, 0) + question  # NXDOMAIN
    records = b""
    count = 0
    if qtype == 1:  # A; AAAA and others: the name exists, with no record of that type
        records = (b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) +
                   socket.inet_aton(address))
        count = 1
    return struct.pack("!HHHHHH", ident, 0x8180, 1, count, 0, 0) + question + records


class StubDNS:
    """`with StubDNS({"localhost": "127.0.0.1"}) as dns:` then `dns.address` ("127.0.0.1:PORT")."""

    def __init__(self, names, host="127.0.0.1"):
        self.names = {k.lower(): v for k, v in names.items()}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.address = "%s:%d" % self.sock.getsockname()
        self.queries = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while True:
            try:
                packet, peer = self.sock.recvfrom(512)
            except OSError:
                return
            self.queries += 1
            reply = answer(packet, self.names)
            if reply:
                self.sock.sendto(reply, peer)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.sock.close()
        self._thread.join(5)


def main():
    """`python3 stubdns.py NAME=ADDR...`: serves on a free UDP port of 127.0.0.1 (in whatever
    network namespace it runs), prints "127.0.0.1:PORT" once ready, and runs until killed."""
    import sys
    import time
    names = dict(arg.split("=", 1) for arg in sys.argv[1:])
    with StubDNS(names) as dns:
        print(dns.address, flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
