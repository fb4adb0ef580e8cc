"""Helpers of the `ferry auth` / `ferry env` tests: run ferry with an isolated environment
(checking that no output ever holds a token), the token files' expected bytes from the format
rules of huggingface_hub's login (`_save_stored_tokens_full`, `_write_secret`), and ferry on a
pseudo-terminal."""
import os
import pty
import select
import signal
import stat
import subprocess
import termios
import time

from ferrytest import FERRY_BIN, TIMEOUT_SCALE, FerryResult
from hubrun import HubEnv

EXIT_USAGE, EXIT_IO, EXIT_BAD_TOKEN, EXIT_OFFLINE = 2, 6, 15, 16

# Tokens the hub does not know, shaped like real ones; never to be printed either.
INVALID_TOKEN = "hf_" + "InvalidInvalidInvalidInvalidInval1"
ORG_TOKEN = "api_org_" + "OrgOrgOrgOrgOrgOrgOrgOrgOrgOrgOrg1"
CLI_WARNING = "visible to other users"


def stored_tokens_bytes(sections):
    """What configparser.write gives for {name: [(key, value), ...]} with the sections sorted
    by name (as huggingface_hub saves them): "[name]\\n", "key = value\\n" per field (a newline
    in a value continues with a tab), then an empty line."""
    out = ""
    for name in sorted(sections):
        out += f"[{name}]\n"
        for key, value in sections[name]:
            out += f"{key.lower()} = {value.replace(chr(10), chr(10) + chr(9))}\n"
        out += "\n"
    return out.encode()


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class Ferry(HubEnv):
    """ferry with HOME and HF_HOME under the test's folder, the hub as endpoint and its CA in
    SSL_CERT_FILE, no token in the environment."""

    def __init__(self, hub, home):
        super().__init__(hub, str(home), {"SSL_CERT_FILE": hub.ca})
        self.token_path = os.path.join(self.hf_home, "token")
        self.stored_path = os.path.join(self.hf_home, "stored_tokens")
        self.secrets = set(hub.tokens.values()) | {INVALID_TOKEN, ORG_TOKEN}
        self.outputs = []

    def token(self, label):
        return self.hub.tokens[label]

    def check_no_secret(self, text, what):
        for secret in self.secrets:
            assert secret not in text, f"a token appears in {what}:\n{text}"

    def __call__(self, *args, env=None, drop=(), input=None, timeout=30, prefix=(), umask=None):
        args = [str(a) for a in args]
        start = time.monotonic()
        done = subprocess.run(
            list(prefix) + [FERRY_BIN] + args, env=self.env_with(env, drop),
            input=input if input is not None else "", capture_output=True, text=True,
            timeout=timeout * TIMEOUT_SCALE,
            preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)
        res = FerryResult(args, done.returncode, done.stdout, done.stderr,
                          time.monotonic() - start)
        self.check_no_secret(res.stdout, f"the stdout of ferry {' '.join(args)}")
        self.check_no_secret(res.stderr, f"the stderr of ferry {' '.join(args)}")
        self.outputs.append(res)
        return res

    def login(self, label="demo", **kw):
        """ferry auth login with the hub's token `label` on stdin."""
        res = self("auth", "login", input=self.token(label) + "\n", **kw)
        assert res.returncode == 0, res.describe()
        return res

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()


class PtyFerry:
    """ferry with a pseudo-terminal as stdin, stdout and stderr (and controlling terminal), so
    it sees a terminal like a user's shell gives it."""

    def __init__(self, ferry, *args, env=None):
        self.ferry = ferry
        self.master, slave = pty.openpty()
        self.slave = slave
        self.proc = subprocess.Popen(
            [FERRY_BIN] + [str(a) for a in args], env=ferry.env_with(env), stdin=slave,
            stdout=slave, stderr=slave, start_new_session=True,
            preexec_fn=None)
        self.output = b""

    def _read_some(self, timeout):
        """What the terminal has within `timeout` seconds: None when nothing came, b"" when
        it was closed."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return None
        try:
            return os.read(self.master, 4096)
        except OSError:
            return b""

    def read_until(self, needle, timeout=15):
        deadline = time.monotonic() + timeout * TIMEOUT_SCALE
        while needle.encode() not in self.output:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {needle!r} from ferry; got {self.output!r}")
            chunk = self._read_some(left)
            if chunk == b"":
                raise AssertionError(f"ferry closed the terminal; got {self.output!r}")
            self.output += chunk or b""
        return self.output

    def echo_on(self):
        return bool(termios.tcgetattr(self.slave)[3] & termios.ECHO)

    def wait_for_echo(self, on, timeout=10):
        deadline = time.monotonic() + timeout * TIMEOUT_SCALE
        while self.echo_on() != on:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def write(self, text):
        os.write(self.master, text.encode())

    def finish(self, timeout=30):
        """Waits for the exit, collects the rest of the output; returns the exit code."""
        deadline = time.monotonic() + timeout * TIMEOUT_SCALE
        while self.proc.poll() is None or select.select([self.master], [], [], 0)[0]:
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"ferry did not end; output {self.output!r}")
            chunk = self._read_some(0.05)
            if chunk == b"" and self.proc.poll() is not None:
                break
            self.output += chunk or b""
        self.proc.wait(5)
        self.ferry.check_no_secret(self.output.decode(errors="replace"), "the terminal")
        return self.proc.returncode

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        os.close(self.master)
        os.close(self.slave)

    def output_for(self, seconds):
        """What the terminal shows in the next `seconds` (also appended to self.output). A
        write to the master reaches the line discipline later, from a kernel work queue: this
        also gives it the time to take (and, echo on, to echo) what was written."""
        got = b""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            chunk = self._read_some(left)
            if chunk == b"":
                break
            got += chunk or b""
        self.output += got
        return got

    def interrupt(self):
        os.kill(self.proc.pid, signal.SIGINT)
