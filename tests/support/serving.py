"""A Python test server (socketserver/http.server style: serve_forever, shutdown,
server_close) run on a thread for the length of a `with` block, and always stopped."""
import threading
from contextlib import contextmanager


@contextmanager
def serving(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
