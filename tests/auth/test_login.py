"""`ferry auth login`: the token read from stdin, a terminal or --token, checked with whoami-v2,
stored byte for byte as `hf auth login` stores it; every refusal leaves the files alone."""
import json
import os
import re
import stat

import pytest

from authhelpers import (CLI_WARNING, EXIT_BAD_TOKEN, EXIT_IO, EXIT_OFFLINE, EXIT_USAGE,
                         INVALID_TOKEN, ORG_TOKEN, PtyFerry, mode, stored_tokens_bytes)

LOGIN_JSON_KEYS = {"ok", "user", "token_name", "role", "token_path", "stored_tokens_path",
                   "env_token_overrides", "error"}


def test_login_from_stdin_writes_the_files_as_hf(ferry):
    token = ferry.token("demo")
    res = ferry("auth", "login", input=token + "\n")
    assert res.returncode == 0, res.describe()
    assert "Token is valid (permission: write)." in res.stdout
    assert "Logged in as demo" in res.stdout and '"localhub-demo"' in res.stdout
    assert CLI_WARNING not in res.stderr
    # the token file: the token alone, no newline; stored_tokens: configparser's INI
    assert ferry.read(ferry.token_path) == token.encode()
    assert ferry.read(ferry.stored_path) == stored_tokens_bytes(
        {"localhub-demo": [("hf_token", token)]})
    assert ferry.read(ferry.stored_path) == f"[localhub-demo]\nhf_token = {token}\n\n".encode()
    assert mode(ferry.token_path) == 0o600
    assert mode(ferry.stored_path) == 0o600
    assert mode(ferry.hf_home) == 0o700
    # nothing else in the folder: the temp files were renamed, not left behind
    assert sorted(os.listdir(ferry.hf_home)) == ["stored_tokens", "token"]


def test_login_token_option_warns_and_json_keys(ferry):
    res = ferry("auth", "login", "--token", ferry.token("demo-read"), "--json")
    assert res.returncode == 0, res.describe()
    assert CLI_WARNING in res.stderr and "process list" in res.stderr
    out = res.json
    assert set(out) == LOGIN_JSON_KEYS
    assert out["ok"] is True and out["error"] is None
    assert out["user"] == "demo" and out["token_name"] == "localhub-demo-read"
    assert out["role"] == "read"
    assert out["token_path"] == ferry.token_path
    assert out["stored_tokens_path"] == ferry.stored_path
    assert out["env_token_overrides"] is False
    assert ferry.read(ferry.token_path) == ferry.token("demo-read").encode()


def test_login_quiet_prints_nothing(ferry):
    res = ferry("auth", "login", "-q", input=ferry.token("alice"))
    assert res.returncode == 0, res.describe()
    assert res.stdout == "" and res.stderr == ""
    assert ferry.read(ferry.token_path) == ferry.token("alice").encode()


def test_second_login_adds_a_section_sorted_and_becomes_active(ferry):
    ferry.login("demo")
    ferry.login("alice")
    ferry.login("bob")
    assert ferry.read(ferry.stored_path) == stored_tokens_bytes({
        "localhub-demo": [("hf_token", ferry.token("demo"))],
        "localhub-alice": [("hf_token", ferry.token("alice"))],
        "localhub-bob": [("hf_token", ferry.token("bob"))]})
    text = ferry.read(ferry.stored_path).decode()
    assert text.index("[localhub-alice]") < text.index("[localhub-bob]") < text.index(
        "[localhub-demo]")
    assert ferry.read(ferry.token_path) == ferry.token("bob").encode()


def test_relogin_replaces_its_section_and_keeps_the_others_fields(ferry):
    # As huggingface_hub would have left it: an OAuth token with refresh metadata, and a stale
    # OAuth section under the name the next login uses.
    os.makedirs(ferry.hf_home)
    before = stored_tokens_bytes({
        "oauth-someone": [("hf_token", "hf_oauthOAUTHoauthOAUTHoauth1"),
                          ("refresh_token", "hf_oauth_refresh_xyz"), ("expires_at", "1900000000")],
        "localhub-demo": [("hf_token", "hf_staleSTALEstaleSTALE1"),
                          ("refresh_token", "r"), ("expires_at", "1")]})
    with open(ferry.stored_path, "wb") as f:
        f.write(before)
    ferry.secrets |= {"hf_oauthOAUTHoauthOAUTHoauth1", "hf_staleSTALEstaleSTALE1",
                      "hf_oauth_refresh_xyz"}
    ferry.login("demo")
    assert ferry.read(ferry.stored_path) == stored_tokens_bytes({
        "oauth-someone": [("hf_token", "hf_oauthOAUTHoauthOAUTHoauth1"),
                          ("refresh_token", "hf_oauth_refresh_xyz"), ("expires_at", "1900000000")],
        "localhub-demo": [("hf_token", ferry.token("demo"))]})


def test_login_with_hf_token_path_and_folder_modes(ferry, tmp_path):
    folder = tmp_path / "a" / "b" / "secrets"
    path = folder / "my-token"
    res = ferry("auth", "login", env={"HF_TOKEN_PATH": str(path)}, input=ferry.token("demo"))
    assert res.returncode == 0, res.describe()
    assert ferry.read(path) == ferry.token("demo").encode()
    assert ferry.read(folder / "stored_tokens") == stored_tokens_bytes(
        {"localhub-demo": [("hf_token", ferry.token("demo"))]})
    assert mode(folder) == 0o700 and mode(path) == 0o600 and mode(folder / "stored_tokens") == 0o600
    assert not os.path.exists(ferry.token_path)


def test_existing_wide_folder_and_files_are_narrowed(ferry):
    os.makedirs(ferry.hf_home, mode=0o755)
    os.chmod(ferry.hf_home, 0o755)
    with open(ferry.token_path, "w") as f:
        f.write("old")
    os.chmod(ferry.token_path, 0o644)
    ferry.login("demo", umask=0)
    assert mode(ferry.hf_home) == 0o700
    assert mode(ferry.token_path) == 0o600 and mode(ferry.stored_path) == 0o600


def test_files_are_created_0600_and_renamed_into_place(ferry):
    """Under strace: every file created in the folder is created O_EXCL with mode 0600 and
    only renamed to its name; no file there is ever opened for writing under its own name."""
    log = os.path.join(ferry.home, "strace.log")
    # LeakSanitizer cannot run under ptrace (an ASan build of ferry): leaks are checked elsewhere
    asan = (os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    res = ferry("auth", "login", "-q", input=ferry.token("demo"), umask=0,
                env={"ASAN_OPTIONS": asan}, prefix=["strace", "-f", "-qq", "-o", log, "-e",
                        "trace=open,openat,creat,rename,renameat,renameat2,mkdir,mkdirat,chmod"])
    assert res.returncode == 0, res.describe()
    with open(log) as f:
        calls = [line for line in f if ferry.hf_home in line]
    creates = [c for c in calls if "O_CREAT" in c]
    assert len(creates) == 2, calls
    for c in creates:
        assert "O_EXCL" in c and c.rstrip().split(", ")[-1].startswith("0600)"), c
        assert re.search(r'"[^"]*\.[0-9a-f]{8}\.tmp"', c), c
    renames = [c for c in calls if "rename" in c]
    assert len(renames) == 2 and all('.tmp", "' in c for c in renames), calls
    for c in calls:
        for final in (ferry.token_path, ferry.stored_path):
            assert not (f'"{final}", O_WRONLY' in c or f'"{final}", O_RDWR' in c), c
    mkdirs = [c for c in calls if "mkdir(" in c and "= 0" in c]
    assert mkdirs and all(", 0700)" in c for c in mkdirs), calls
    assert mode(ferry.token_path) == 0o600 and mode(ferry.hf_home) == 0o700


def test_invalid_token_is_refused_and_nothing_written(ferry):
    res = ferry("auth", "login", input=INVALID_TOKEN + "\n")
    assert res.returncode == EXIT_BAD_TOKEN, res.describe()
    assert "refused" in res.stderr and "401" in res.stderr
    # named by where it came from: no --token was given
    assert "the token from stdin was refused" in res.stderr, res.describe()
    assert "--token" not in res.stderr, res.describe()
    res = ferry("auth", "login", "--token", INVALID_TOKEN)
    assert "the token from --token was refused" in res.stderr, res.describe()
    assert not os.path.exists(ferry.hf_home)
    res = ferry("auth", "login", "--json", input=INVALID_TOKEN)
    assert res.returncode == EXIT_BAD_TOKEN
    assert res.json["ok"] is False and res.json["error"]["code"] == EXIT_BAD_TOKEN
    assert res.json["error"]["name"] == "HUB_AUTH"


def test_org_token_is_refused_before_any_request(ferry):
    log_before = len(ferry.hub.access_log())
    res = ferry("auth", "login", "--token", ORG_TOKEN)
    assert res.returncode == EXIT_BAD_TOKEN, res.describe()
    assert "organization token" in res.stderr
    assert len(ferry.hub.access_log()) == log_before
    assert not os.path.exists(ferry.hf_home)


@pytest.mark.parametrize("typed", ["", "\n", "   \n", "hf_has a blank\n", "hf_\x01ctrl\n"])
def test_no_token_or_not_a_token(ferry, typed):
    res = ferry("auth", "login", input=typed)
    assert res.returncode in (EXIT_USAGE, EXIT_BAD_TOKEN), res.describe()
    assert res.returncode == (EXIT_USAGE if not typed.strip() else EXIT_BAD_TOKEN)
    assert not os.path.exists(ferry.hf_home)


def test_malformed_stored_tokens_is_left_alone(ferry):
    os.makedirs(ferry.hf_home)
    broken = b"hf_token = orphan-before-any-section\n[x]\nhf_token = y\n"
    with open(ferry.stored_path, "wb") as f:
        f.write(broken)
    res = ferry("auth", "login", input=ferry.token("demo"))
    assert res.returncode == EXIT_IO, res.describe()
    assert "stored_tokens" in res.stderr and "line 1" in res.stderr
    assert ferry.read(ferry.stored_path) == broken
    assert not os.path.exists(ferry.token_path)


def test_login_offline_is_refused(ferry):
    res = ferry("auth", "login", env={"HF_HUB_OFFLINE": "1"}, input=ferry.token("demo"))
    assert res.returncode == EXIT_OFFLINE, res.describe()
    assert not os.path.exists(ferry.token_path)


def test_login_notes_that_hf_token_wins(ferry):
    res = ferry("auth", "login", env={"HF_TOKEN": ferry.token("bob")}, input=ferry.token("demo"))
    assert res.returncode == 0, res.describe()
    assert "HF_TOKEN is set" in res.stderr
    assert ferry.read(ferry.token_path) == ferry.token("demo").encode()
    res = ferry("auth", "login", "--json", env={"HF_TOKEN": ferry.token("bob")},
                input=ferry.token("demo"))
    assert res.json["env_token_overrides"] is True


def test_login_on_a_terminal_reads_without_echo(ferry):
    token = ferry.token("demo")
    term = PtyFerry(ferry, "auth", "login")
    try:
        term.read_until("Enter your token (input will not be visible): ")
        assert term.wait_for_echo(False), "echo is still on while ferry waits for the token"
        term.write(token + "\n")
        assert term.finish() == 0, term.output
        assert token.encode() not in term.output
        assert b"Logged in as demo" in term.output
        assert term.echo_on(), "ferry left the terminal without echo"
    finally:
        term.close()
    assert ferry.read(ferry.token_path) == token.encode()
    assert ferry.read(ferry.stored_path) == stored_tokens_bytes(
        {"localhub-demo": [("hf_token", token)]})


def test_refused_token_typed_at_a_terminal_is_named_so(ferry):
    term = PtyFerry(ferry, "auth", "login")
    try:
        term.read_until("Enter your token (input will not be visible): ")
        term.write(INVALID_TOKEN + "\n")
        assert term.finish() == EXIT_BAD_TOKEN, term.output
        assert b"the token from the terminal was refused" in term.output, term.output
    finally:
        term.close()


def test_interrupted_terminal_login_restores_echo(ferry):
    term = PtyFerry(ferry, "auth", "login")
    try:
        term.read_until("input will not be visible")
        assert term.wait_for_echo(False)
        term.write("hf_partial")  # typed, no newline yet
        # the terminal takes what was typed (echo off: nothing shows) before the Ctrl-C; sent
        # at once, the SIGINT could turn echo back on before the kernel had taken the input,
        # which it would then echo (a race of the test, seen in CI)
        assert term.output_for(0.3) == b"", term.output
        term.interrupt()
        code = term.finish()
        assert code == -2, (code, term.output)  # died of SIGINT, as a shell expects
        assert term.echo_on(), "SIGINT left the terminal without echo"
        assert b"hf_partial" not in term.output
    finally:
        term.close()
    assert not os.path.exists(ferry.hf_home)


def test_umask_does_not_widen_or_break_modes(ferry):
    ferry.login("demo", umask=0o077)
    assert mode(ferry.token_path) == 0o600 and mode(ferry.hf_home) == 0o700
    assert stat.S_ISREG(os.lstat(ferry.token_path).st_mode)
    res = ferry("auth", "whoami", "--json")
    assert res.returncode == 0 and res.json["user"] == "demo"
    assert json.dumps(res.json)  # plain JSON
