"""Proxies as libcurl reads them (HTTPS_PROXY, NO_PROXY), for the P2P case: a daemon on each
node that the CDN's bytes go through. One that intercepts TLS works only when its CA is trusted
(SSL_CERT_FILE); ferry never turns verification off to get there."""
import os

import pytest

from hubapp import tls
from hubrun import HubEnv, run_download
from proxy import Proxy
from test_mirror_download import REPO, assert_snapshot

EXIT_TLS = 9


@pytest.fixture(scope="module")
def proxy_ca(tmp_path_factory):
    """A CA of the proxy's own, and its certificate for 127.0.0.1 / localhost."""
    d = str(tmp_path_factory.mktemp("proxy-tls"))
    tls.ensure(d, "127.0.0.1")
    return d


def env_for(hub, home, proxy, extra=None):
    env = HubEnv(hub, home).env_with({"HTTPS_PROXY": proxy.url, "NO_PROXY": ""},
                                     drop=("HF_TOKEN",))
    env.update(extra or {})
    return env


def test_a_tunnel_through_https_proxy(tmp_path, hub, reference):
    commit, expected = reference
    proxy = Proxy(hub.ca)
    try:
        env = env_for(hub, tmp_path, proxy)
        r = run_download([REPO, "--cacert", hub.ca], env, 90)
    finally:
        proxy.close()
    assert r.returncode == 0, r.describe()
    assert_snapshot(env, commit, expected)
    ports = {c.rsplit(":", 1)[1] for c in proxy.connects}
    hub_port = hub.endpoint.rsplit(":", 1)[1]
    assert hub_port in ports and len(ports) >= 2, proxy.connects  # the Hub and its CDN


def test_no_proxy_is_honoured(tmp_path, hub, reference):
    commit, expected = reference
    proxy = Proxy(hub.ca)
    try:
        env = env_for(hub, tmp_path, proxy, {"NO_PROXY": "localhost,127.0.0.1"})
        r = run_download([REPO, "--cacert", hub.ca], env, 90)
    finally:
        proxy.close()
    assert r.returncode == 0, r.describe()
    assert proxy.connects == []


def test_an_intercepting_proxy_needs_its_ca_trusted(tmp_path, hub, reference, proxy_ca):
    commit, expected = reference
    proxy = Proxy(hub.ca, os.path.join(proxy_ca, "server.pem"),
                  os.path.join(proxy_ca, "server.key"))
    try:
        env = env_for(hub, tmp_path / "untrusted", proxy)
        r = run_download([REPO, "--cacert", hub.ca], env, 90)
        assert r.returncode == EXIT_TLS, r.describe()  # refused, never accepted quietly
        assert proxy.requests == []
        bundle = tmp_path / "bundle.pem"
        with open(hub.ca) as a, open(os.path.join(proxy_ca, "ca.pem")) as b:
            bundle.write_text(a.read() + b.read())
        env = env_for(hub, tmp_path / "trusted", proxy)
        r = run_download([REPO, "--cacert", str(bundle)], env, 90)
        assert r.returncode == 0, r.describe()
        assert_snapshot(env, commit, expected)
        assert any("/resolve/" in line for line in proxy.requests), proxy.requests
    finally:
        proxy.close()
