#!/usr/bin/python3
"""Start and stop a real nginx on free loopback ports, for tests, the demo and the benchmark.

One nginx process serves a docroot on three listeners:
  https_port  origin A: HTTPS with HTTP/2 and HTTP/1.1 (ALPN), host 127.0.0.1
  http_port   origin A: plain HTTP/1.1 (the fault proxy forwards here)
  https_b_port origin B: a second HTTPS origin (host "localhost", another port) for cross-origin
              redirects
Paths (on every listener):
  /files/NAME           the file docroot/NAME
  /slow/NAME            the same file with the per-request `limit_rate` (when one is given)
  /redirect/NAME        302 to origin B's /files/NAME (cross-origin: host and port differ)
  /redirect-same/NAME   302 to origin A's /files/NAME over HTTPS (same origin)
  /__ready              200 "ok", not logged (readiness probe)
A CA and a server certificate are made at start with the openssl CLI. The access log is one JSON
object per line (see LOG_FORMAT); it records whether an Authorization header was present, never
its value.

Python use:
    with Nginx(docroot, workdir) as server:
        server.url("a.bin")           # https://127.0.0.1:PORT/files/a.bin
        server.log_entries()          # parsed access log
Shell use:
    /usr/bin/python3 tests/support/nginx.py start --docroot D --dir W [--workers auto]
        [--limit-rate 25m] [--limit-rate-prefix /files/]   -> prints KEY=value lines
    /usr/bin/python3 tests/support/nginx.py stop --dir W
"""
import argparse
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

NGINX_BIN = shutil.which("nginx") or "/usr/sbin/nginx"
HOST_A = "127.0.0.1"
HOST_B = "localhost"  # a second host name in the certificate: origin B differs by host and port

# $http_authorization is reduced to yes/no by a map: the token itself never reaches the log.
LOG_FORMAT = (
    '{"origin":"$ferry_origin","port":$server_port,"method":"$request_method",'
    '"uri":"$request_uri","status":$status,"body_bytes":$body_bytes_sent,'
    '"range":"$http_range","if_range":"$http_if_range","auth":"$ferry_auth_present",'
    '"proto":"$server_protocol","conn":$connection,"conn_requests":$connection_requests,'
    '"request_time":$request_time,"end":$msec}'
)


def free_port():
    """A port that is free on 127.0.0.1 and on ::1 (nginx listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s4:
            s4.bind((HOST_A, 0))
            port = s4.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
                    s6.bind(("::1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port found")


def run_openssl(args, cwd):
    subprocess.run(["openssl"] + args, cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_certificates(directory):
    """CA + server certificate (SAN 127.0.0.1, ::1, localhost, second.localhost). Returns paths."""
    os.makedirs(directory, exist_ok=True)
    run_openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"], directory)
    run_openssl(["req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "3",
                 "-subj", "/CN=ferry test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "ca.crt"], directory)
    run_openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "server.key"],
                directory)
    run_openssl(["req", "-new", "-key", "server.key", "-subj", "/CN=localhost",
                 "-out", "server.csr"], directory)
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:second.localhost\n")
    run_openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "3", "-sha256", "-extfile", "server.ext",
                 "-out", "server.crt"], directory)
    return {name: os.path.join(directory, name) for name in ("ca.crt", "server.crt", "server.key")}


class Nginx:
    def __init__(self, docroot, workdir, workers=1, limit_rate=None, limit_rate_prefix="/slow/",
                 extra_locations="", ports=None):
        self.docroot = os.path.abspath(docroot)
        self.workdir = os.path.abspath(workdir)
        self.workers = workers
        self.limit_rate = limit_rate
        self.limit_rate_prefix = limit_rate_prefix
        self.extra_locations = extra_locations
        self.ports = ports
        self.conf_path = os.path.join(self.workdir, "nginx.conf")
        self.pid_path = os.path.join(self.workdir, "nginx.pid")
        self.access_log = os.path.join(self.workdir, "access.log")
        self.error_log = os.path.join(self.workdir, "error.log")
        self.cert_dir = os.path.join(self.workdir, "tls")
        self.cacert = os.path.join(self.cert_dir, "ca.crt")
        self.https_port = self.http_port = self.https_b_port = None

    # ---- URLs -----------------------------------------------------------------------------
    def origin_a(self):
        return f"https://{HOST_A}:{self.https_port}"

    def origin_b(self):
        return f"https://{HOST_B}:{self.https_b_port}"

    def origin_http(self):
        return f"http://{HOST_A}:{self.http_port}"

    def url(self, name, prefix="/files/", scheme="https"):
        base = self.origin_http() if scheme == "http" else self.origin_a()
        return base + prefix + name

    # ---- configuration ----------------------------------------------------------------------
    def _file_location(self, prefix, limit):
        rate = f"        limit_rate {limit};\n" if limit else ""
        return (f"        location {prefix} {{\n"
                f"            alias {self.docroot}/;\n{rate}"
                f"        }}\n")

    def _server_block(self, listen_lines, origin_name, tls):
        locations = ""
        files_limit = self.limit_rate if self.limit_rate_prefix == "/files/" else None
        locations += self._file_location("/files/", files_limit)
        if self.limit_rate and self.limit_rate_prefix != "/files/":
            locations += self._file_location(self.limit_rate_prefix, self.limit_rate)
        tls_lines = ""
        if tls:
            tls_lines = (f"        ssl_certificate {self.cert_dir}/server.crt;\n"
                         f"        ssl_certificate_key {self.cert_dir}/server.key;\n")
        return (
            "    server {\n"
            + "".join(f"        listen {line};\n" for line in listen_lines)
            + tls_lines
            + f"        set $ferry_origin {origin_name};\n"
            + locations
            + f"        location /redirect/ {{\n"
              f"            rewrite ^/redirect/(.*)$ https://{HOST_B}:{self.https_b_port}/files/$1"
              f" redirect;\n        }}\n"
            + f"        location /redirect-same/ {{\n"
              f"            rewrite ^/redirect-same/(.*)$ https://{HOST_A}:{self.https_port}"
              f"/files/$1 redirect;\n        }}\n"
            + "        location = /__ready {\n"
              "            access_log off;\n"
              "            return 200 \"ok\\n\";\n"
              "        }\n"
            + self.extra_locations
            + "    }\n")

    def config_text(self):
        user = "user root;\n" if os.geteuid() == 0 else ""
        a, h, b = self.https_port, self.http_port, self.https_b_port
        return (
            f"{user}"
            f"worker_processes {self.workers};\n"
            f"pid {self.pid_path};\n"
            f"error_log {self.error_log} warn;\n"
            "events {\n    worker_connections 4096;\n}\n"
            "http {\n"
            "    types { application/octet-stream bin; text/plain txt; }\n"
            "    default_type application/octet-stream;\n"
            f"    client_body_temp_path {self.workdir}/tmp_body;\n"
            f"    proxy_temp_path {self.workdir}/tmp_proxy;\n"
            f"    fastcgi_temp_path {self.workdir}/tmp_fastcgi;\n"
            f"    uwsgi_temp_path {self.workdir}/tmp_uwsgi;\n"
            f"    scgi_temp_path {self.workdir}/tmp_scgi;\n"
            "    map $http_authorization $ferry_auth_present {\n"
            "        default yes;\n"
            "        \"\" no;\n"
            "    }\n"
            f"    log_format ferry escape=json '{LOG_FORMAT}';\n"
            f"    access_log {self.access_log} ferry;\n"
            # speed: zero-copy for plain HTTP, big buffers, long-lived connections
            "    sendfile on;\n"
            "    tcp_nopush on;\n"
            "    tcp_nodelay on;\n"
            "    output_buffers 4 1m;\n"
            "    keepalive_requests 100000;\n"
            "    keepalive_timeout 120s;\n"
            "    http2_chunk_size 64k;\n"
            "    ssl_protocols TLSv1.2 TLSv1.3;\n"
            "    ssl_session_tickets on;\n"
            "    ssl_session_cache shared:ferry_tls:1m;\n"
            "    ssl_buffer_size 16k;\n"
            + self._server_block([f"{HOST_A}:{a} ssl http2", f"[::1]:{a} ssl http2"], "a", True)
            + self._server_block([f"{HOST_A}:{h}", f"[::1]:{h}"], "a-http", False)
            + self._server_block([f"{HOST_A}:{b} ssl http2", f"[::1]:{b} ssl http2"], "b", True)
            + "}\n")

    # ---- life cycle -------------------------------------------------------------------------
    def start(self, timeout=15.0):
        os.makedirs(self.workdir, exist_ok=True)
        if self.ports:
            self.https_port, self.http_port, self.https_b_port = self.ports
        else:
            self.https_port, self.http_port, self.https_b_port = free_port(), free_port(), free_port()
        make_certificates(self.cert_dir)
        with open(self.conf_path, "w") as f:
            f.write(self.config_text())
        # nginx daemonizes (master + workers); the launcher returns at once and holds no
        # stdout/stderr of ours.
        with open(self.error_log, "a") as err:
            subprocess.run([NGINX_BIN, "-p", self.workdir, "-e", self.error_log,
                            "-c", self.conf_path], check=True, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=err)
        try:
            self._wait_ready(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout):
        context = ssl.create_default_context(cafile=self.cacert)
        deadline = time.monotonic() + timeout
        targets = [self.origin_a() + "/__ready", self.origin_b() + "/__ready",
                   self.origin_http() + "/__ready"]
        last_error = None
        while time.monotonic() < deadline:
            try:
                for target in targets:
                    with urllib.request.urlopen(target, context=context if
                                                target.startswith("https") else None,
                                                timeout=2) as answer:
                        if answer.status != 200:
                            raise RuntimeError(f"{target}: status {answer.status}")
                return
            except Exception as e:  # not up yet
                last_error = e
                time.sleep(0.05)
        raise RuntimeError(f"nginx not ready after {timeout}s: {last_error}; "
                           f"see {self.error_log}")

    def master_pid(self):
        try:
            with open(self.pid_path) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self, timeout=10.0):
        stop_by_pid_file(self.pid_path, timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- access log ---------------------------------------------------------------------------
    def log_entries(self):
        return read_access_log(self.access_log)

    def log_size(self):
        """A mark: pass it to log_entries_since() to see only requests made after it."""
        try:
            return os.path.getsize(self.access_log)
        except OSError:
            return 0

    def log_entries_since(self, mark):
        return read_access_log(self.access_log, mark)

    def info(self):
        return {
            "HTTPS_PORT": self.https_port, "HTTP_PORT": self.http_port,
            "HTTPS_B_PORT": self.https_b_port, "ORIGIN_A": self.origin_a(),
            "ORIGIN_B": self.origin_b(), "ORIGIN_HTTP": self.origin_http(),
            "CACERT": self.cacert, "ACCESS_LOG": self.access_log, "ERROR_LOG": self.error_log,
            "PID": self.master_pid(), "DOCROOT": self.docroot, "DIR": self.workdir,
        }


def read_access_log(path, offset=0):
    entries = []
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return entries
    for line in data.splitlines():
        if line.strip():
            entries.append(json.loads(line))
    return entries


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers kill(0); treat it as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def stop_by_pid_file(pid_path, timeout=10.0):
    """Fast shutdown (SIGTERM) of the nginx master named in pid_path; SIGKILL if it lingers."""
    try:
        with open(pid_path) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return
    if not pid_alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.05)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)


def main(argv=None):
    parser = argparse.ArgumentParser(description="run a test nginx on free loopback ports")
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start nginx, print KEY=value lines")
    start.add_argument("--docroot", required=True)
    start.add_argument("--dir", required=True, help="working folder (config, logs, certificates)")
    start.add_argument("--workers", default="1", help="worker_processes (a number or auto)")
    start.add_argument("--limit-rate", default=None, help="nginx limit_rate, e.g. 25m")
    start.add_argument("--limit-rate-prefix", default="/slow/",
                       help="location the rate cap applies to (/files/ caps every download)")
    start.add_argument("--extra-locations", default="", help="nginx text added to each server")
    stop = sub.add_parser("stop", help="stop the nginx started with this --dir")
    stop.add_argument("--dir", required=True)
    args = parser.parse_args(argv)
    if args.command == "start":
        server = Nginx(args.docroot, args.dir, workers=args.workers, limit_rate=args.limit_rate,
                       limit_rate_prefix=args.limit_rate_prefix,
                       extra_locations=args.extra_locations)
        server.start()
        for key, value in server.info().items():
            print(f"{key}={value}")
    else:
        stop_by_pid_file(os.path.join(os.path.abspath(args.dir), "nginx.pid"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
