"""The servers in the lab's server namespace: the local hub (tests/hub/localhub --listen) and, for
axel, a second nginx on the hub's LFS store.

axel 2.17.11 cannot match a certificate that names an IP address in subjectAltName (see
bench/harness/server.py), and the hub's certificate names 198.18.0.2 that way. So axel gets its
own listener: an nginx in the server namespace with a certificate naming the address in its CN
only, signed by the hub's CA (axel still verifies the chain against that CA), serving the same
files from the hub's store with the same nginx settings the hub's CDN origin has.
"""
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from harness.server import make_cn_only_cert  # noqa: E402
from hubbench.hub import LocalHub, read_pid  # noqa: E402


class WanHub(LocalHub):
    """The local hub in the lab's server namespace; its API is called from the client one."""

    def __init__(self, directory, seed_size, lab):
        super().__init__(directory, seed_size, prefix=lab.server([]), listen=lab.server_addr)
        self.lab = lab

    def tree(self, repo_id, repo_type):
        return self.lab.in_client(super().tree, repo_id, repo_type)

    def cdn_url(self, resolve_url):
        return self.lab.in_client(super().cdn_url, resolve_url)

    def lfs_path(self, sha256):
        return os.path.join(self.dir, "store", "lfs", sha256)


AXEL_CONF = """\
{user_line}
worker_processes 2;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    access_log off;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:axel:1m;
    keepalive_requests 10000;
    server {{
        listen {addr}:{port} ssl;
        ssl_certificate {dir}/cn-only.crt;
        ssl_certificate_key {dir}/cn-only.key;
        location /lfs/ {{ root {store}; }}
        location / {{ return 404; }}
    }}
}}
"""


class AxelServer:
    """nginx on ADDR:PORT in the server namespace, https://ADDR:PORT/lfs/<sha256>."""

    PORT = 8443

    def __init__(self, directory, hub):
        self.dir = directory
        self.hub = hub

    def start(self):
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        tls = os.path.join(self.hub.dir, "tls")
        for name in ("ca.pem", "ca.key"):
            shutil.copy(os.path.join(tls, name), self.dir)
        make_cn_only_cert(self.dir, cn=self.hub.listen, ca_cert="ca.pem", ca_key="ca.key")
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(AXEL_CONF.format(user_line="user root;" if os.geteuid() == 0 else "",
                                     dir=self.dir, addr=self.hub.listen, port=self.PORT,
                                     store=os.path.join(self.hub.dir, "store")))
        subprocess.run(self.hub.lab.server(["nginx", "-c", conf, "-p", self.dir, "-e",
                                            os.path.join(self.dir, "error.log")]),
                       check=True, capture_output=True, stdin=subprocess.DEVNULL,
                       start_new_session=True, timeout=30)
        for _ in range(50):
            if read_pid(os.path.join(self.dir, "nginx.pid")):
                return self
            time.sleep(0.1)
        raise RuntimeError("the nginx for axel did not start (see " + self.dir + "/error.log)")

    def url(self, sha256):
        return f"https://{self.hub.listen}:{self.PORT}/lfs/{sha256}"

    def stop(self):
        pid = read_pid(os.path.join(self.dir, "nginx.pid"))
        if pid:
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                pass
