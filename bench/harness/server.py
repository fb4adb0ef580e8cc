"""The benchmark's nginx, started through the shared tests/support/nginx.py.

One worker per core (worker_processes auto), HTTPS with HTTP/2 (ALPN), the files under /files/
and the same files under /slow/ with a per-request limit_rate.

One addition for axel: axel 2.17.11 checks the certificate name itself and cannot accept the
shared certificate (it skips IP-address names and rejects a one-label DNS name such as
"localhost" as malformed, see dn_match in its source). So the same nginx gets one more HTTPS
listener whose certificate, signed by the same CA, names 127.0.0.1 in its CN only; axel still
verifies the chain against the CA, and everything else about the server is the same.
"""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "support"))

import nginx  # noqa: E402  (tests/support/nginx.py)

CAPPED = "/slow/"


def make_cn_only_cert(cert_dir, cn="127.0.0.1", ca_cert="ca.crt", ca_key="ca.key"):
    """A server certificate with CN=cn and no subjectAltName, signed by the CA in cert_dir
    (cn-only.crt, cn-only.key there; bench/wan_run signs one with the local hub's CA)."""
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=cert_dir, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "cn-only.key")
    openssl("req", "-new", "-key", "cn-only.key", "-subj", f"/CN={cn}", "-out", "cn-only.csr")
    with open(os.path.join(cert_dir, "cn-only.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "cn-only.csr", "-CA", ca_cert, "-CAkey", ca_key,
            "-CAcreateserial", "-days", "3", "-sha256", "-extfile", "cn-only.ext",
            "-out", "cn-only.crt")


class BenchNginx(nginx.Nginx):
    """The shared test nginx plus the CN-only listener for axel."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cn_only_port = nginx.free_port()

    def config_text(self):
        # start() calls this after it made the CA, so the extra certificate can be signed here
        make_cn_only_cert(self.cert_dir)
        base = super().config_text()
        locations = self._file_location("/files/", None) + \
            self._file_location(CAPPED, self.limit_rate)
        extra = ("    server {\n"
                 f"        listen 127.0.0.1:{self.cn_only_port} ssl http2;\n"
                 f"        ssl_certificate {self.cert_dir}/cn-only.crt;\n"
                 f"        ssl_certificate_key {self.cert_dir}/cn-only.key;\n"
                 "        set $ferry_origin axel;\n"
                 + locations + "    }\n")
        assert base.endswith("}\n")
        return base[:-2] + extra + "}\n"


class BenchServer:
    kind = "tests/support/nginx.py (+ a CN-only listener for axel)"

    def __init__(self, workdir, docroot, cap):
        self.nginx = BenchNginx(docroot, os.path.join(workdir, "nginx"), workers="auto",
                                limit_rate=str(int(cap)), limit_rate_prefix=CAPPED)

    def start(self):
        self.nginx.start()
        return self

    @property
    def cacert(self):
        return self.nginx.cacert

    @property
    def pid(self):
        return self.nginx.master_pid()

    def url(self, name, capped=False, cn_only=False):
        """cn_only: the listener for tools that cannot match the shared certificate (axel)."""
        port = self.nginx.cn_only_port if cn_only else self.nginx.https_port
        return f"https://127.0.0.1:{port}" + (CAPPED if capped else "/files/") + name

    def stop(self):
        self.nginx.stop()


def start(workdir, docroot, cap):
    return BenchServer(workdir, docroot, cap).start()
