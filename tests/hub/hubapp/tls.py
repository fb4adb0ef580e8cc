"""A CA and a server certificate for 127.0.0.1 / ::1 / localhost (and the address the hub
listens on, when that is another one), made with the openssl CLI."""
import ipaddress
import os
import subprocess


def run(*cmd):
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def subject_alt_names(listen):
    """The listen address as an IP name, or as a DNS name when it is a host name (`localhost`:
    nginx checks an upstream's certificate by host name only, so a hub in front of which
    nginx sits, as the cache tier does, is started on a name)."""
    names = ["IP:127.0.0.1", "IP:::1", "DNS:localhost"]
    if listen:
        try:
            ipaddress.ip_address(listen)
            name = "IP:" + listen
        except ValueError:
            name = "DNS:" + listen
        if name not in names:
            names.append(name)
    return ",".join(names)


def ensure(tls_dir, listen="127.0.0.1"):
    """The CA is made once per hub folder; the server certificate again when it does not name
    `listen` (a restart on another address keeps the CA that clients already trust)."""
    os.makedirs(tls_dir, exist_ok=True)
    ca_key, ca = os.path.join(tls_dir, "ca.key"), os.path.join(tls_dir, "ca.pem")
    key, csr, cert = (os.path.join(tls_dir, n) for n in ("server.key", "server.csr", "server.pem"))
    ext = os.path.join(tls_dir, "server.ext")
    sans = subject_alt_names(listen)
    if os.path.exists(cert) and os.path.exists(ca) and os.path.exists(ext):
        with open(ext) as f:
            if "subjectAltName=%s\n" % sans in f.read():
                return
    if not (os.path.exists(ca) and os.path.exists(ca_key)):
        make_ca(ca_key, ca)
    make_server(ca_key, ca, key, csr, cert, ext, sans)


def make_ca(ca_key, ca):
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", ca_key, "-out", ca, "-days", "3650", "-subj", "/CN=ferry localhub CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    os.chmod(ca_key, 0o600)


def make_server(ca_key, ca, key, csr, cert, ext, sans):
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=%s\n" % sans)
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "825", "-extfile", ext)
    os.chmod(key, 0o600)
