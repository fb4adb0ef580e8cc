"""The official Python client (huggingface_hub) as a test oracle: where to find it, and how to
run it against a local hub in its default environment.

Found through HF_PY_CLIENT_SRC (a source tree with src/huggingface_hub), by default
<repository root>/../shared/clients/huggingface_hub (run on Debian's packages, see the README
there); without that folder, an installed huggingface_hub. The environment is the client's
default (telemetry and agent detection on), apart from HF_HUB_DISABLE_UPDATE_CHECK=1 (the `hf`
CLI would ask the Python package index) and HF_HUB_DISABLE_XET=1 (the local hub speaks LFS)."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_SRC = os.path.normpath(os.path.join(REPO, "..", "shared", "clients", "huggingface_hub"))
PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable


def client_pythonpath():
    """PYTHONPATH that makes `import huggingface_hub` load the oracle ("" for an installed one).
    Fails the calling test, with what to do, when there is no client."""
    src = os.environ.get("HF_PY_CLIENT_SRC")
    if src or os.path.isdir(DEFAULT_SRC):
        src = src or DEFAULT_SRC
        assert os.path.isfile(os.path.join(src, "src", "huggingface_hub", "__init__.py")), (
            f"HF_PY_CLIENT_SRC={src} holds no src/huggingface_hub (the official Python client)")
        parts = [os.path.join(src, "src")]
        if os.path.isdir(os.path.join(src, "compat")):
            parts.append(os.path.join(src, "compat"))
        return os.pathsep.join(parts)
    probe = subprocess.run([PYTHON, "-c", "import huggingface_hub"], capture_output=True, text=True)
    assert probe.returncode == 0, (
        "the official Python client huggingface_hub was not found: set HF_PY_CLIENT_SRC to its "
        f"source tree (default {DEFAULT_SRC}) or install it; import said: {probe.stderr[-300:]}")
    return ""


def client_env(hub, hf_home, token=True, extra=None):
    """The client's default environment against `hub`, with a fresh HF_HOME of its own."""
    os.makedirs(hf_home, exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(hf_home),
           "LANG": "C.UTF-8", "HF_HOME": str(hf_home), "HF_ENDPOINT": hub.endpoint,
           "SSL_CERT_FILE": hub.ca, "REQUESTS_CA_BUNDLE": hub.ca,
           "HF_HUB_DISABLE_UPDATE_CHECK": "1", "HF_HUB_DISABLE_XET": "1"}
    if token:
        env["HF_TOKEN"] = hub.token if token is True else token
    path = client_pythonpath()
    if path:
        env["PYTHONPATH"] = path
    env.update(extra or {})
    return env


def _run(argv, env, timeout):
    return subprocess.run([PYTHON, *map(str, argv)], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def run_python(hub, hf_home, code, *args, token=True, extra=None, timeout=300):
    """Runs `code` (a script using huggingface_hub) with argv `args`; the finished process."""
    return _run(["-c", code, *args], client_env(hub, hf_home, token, extra), timeout)


def run_script(hub, hf_home, script, *args, token=True, extra=None, timeout=300):
    """Runs the script file `script` with argv `args`."""
    return _run([script, *args], client_env(hub, hf_home, token, extra), timeout)


def run_hf(hub, hf_home, *args, token=True, extra=None, timeout=300):
    """The `hf` CLI of the same client."""
    return _run(["-m", "huggingface_hub.cli.hf", *args], client_env(hub, hf_home, token, extra),
                timeout)
