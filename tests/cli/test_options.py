"""The command line itself (issue 14, F and D.6): one option scheme for every command. A usage
error is one line on stderr naming the option (or argument) and the problem, with a hint to the
command's own help, and exit 2; --help of a subcommand shows that subcommand's options only.
Nothing here reaches a server: every case is refused (or answered) before any request."""
import os
import subprocess

import pytest

FERRY_BIN = os.environ.get("FERRY_BIN", os.path.join(os.path.dirname(__file__), "../../build/ferry"))
EXIT_USAGE = 2


def ferry(*args, tmp_home="/nonexistent-ferry-home"):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HF_HOME": tmp_home,
           "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([FERRY_BIN, *args], capture_output=True, text=True, timeout=30,
                          env=env, stdin=subprocess.DEVNULL)


def describe(r):
    return f"exit {r.returncode}\nstdout: {r.stdout!r}\nstderr: {r.stderr!r}"


def usage_error(r, command, *words):
    """Exit 2, nothing on stdout, exactly one line on stderr: 'ferry: error: ...' holding each
    of `words` and the hint to `ferry <command> --help`; no help dumped."""
    assert r.returncode == EXIT_USAGE, describe(r)
    assert r.stdout == "", describe(r)
    lines = r.stderr.splitlines()
    assert len(lines) == 1, describe(r)
    line = lines[0]
    assert line.startswith("ferry: error: "), describe(r)
    hint = f"see 'ferry {command} --help'" if command else "see 'ferry --help'"
    assert hint in line, describe(r)
    for w in words:
        assert w in line, (w, describe(r))
    return line


# ---- unknown options ---------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    "get", "download", "upload", "env", "ls", "info", "search", "auth login", "auth logout",
    "auth whoami", "auth list", "auth switch", "cache ls", "cache rm", "cache prune",
    "cache verify", "card new", "card check", "repo create", "repo delete", "repo settings",
    "repo move", "branch create", "branch delete", "tag create", "tag delete", "tag list"])
def test_unknown_option_is_one_line_naming_it(command):
    r = ferry(*command.split(), "--frobnicate")
    usage_error(r, command, "'--frobnicate'")
    assert "usage:" not in r.stderr


def test_unknown_short_option_and_a_sibling_subcommands_option():
    usage_error(ferry("get", "-Z", "http://x/y"), "get", "'-Z'")
    # an option of another subcommand of the same group: named, with its long form
    usage_error(ferry("auth", "list", "--token", "x"), "auth list", "does not take", "--token")
    usage_error(ferry("tag", "create", "a/b", "v1", "-y"), "tag create", "does not take", "-y",
                "--yes")
    usage_error(ferry("cache", "ls", "--dry-run"), "cache ls", "does not take", "--dry-run")


def test_unknown_commands_are_one_line():
    usage_error(ferry("frobnicate"), "", "'frobnicate'")
    usage_error(ferry(), "", "needs a command")
    usage_error(ferry("auth", "nope"), "auth", "'nope'", "login")
    usage_error(ferry("cache"), "cache", "needs a command", "prune")
    usage_error(ferry("tag", "push"), "tag", "'push'")


# ---- values ------------------------------------------------------------------------------

def test_max_workers_zero_names_the_option_and_the_range():
    usage_error(ferry("download", "a/b", "--max-workers", "0"), "download", "--max-workers",
                "from 1 to 256", "'0'")


@pytest.mark.parametrize("command", ["get", "download", "upload"])
def test_connections_not_a_number(command):
    usage_error(ferry(*command.split(), "a/b", "--connections", "abc"), command,
                "--connections", "from 1 to 256", "'abc'")


@pytest.mark.parametrize("command, args, option, allowed", [
    ("get", "u --connections 257", "--connections", "from 1 to 256"),
    ("get", "u --connections 8x", "--connections", "from 1 to 256"),
    ("download", "a/b --max-workers 2x", "--max-workers", "from 1 to 256"),
    ("download", "a/b --connections 99999999999", "--connections", "from 1 to 256"),
    ("upload", "a/b --connections -1", "--connections", "from 1 to 256"),
    ("download", "a/b --streams 0", "--streams", "from 1 to 256"),
    ("get", "u --retries 1001", "--retries", "from 0 to 1000"),
    ("get", "u --stall-timeout 0", "--stall-timeout", "from 1 to 3600"),
    ("upload", "a/b --max-commit-files 20001", "--max-commit-files", "from 1 to 20000"),
    ("upload", "a/b --max-commit-files 10abc", "--max-commit-files", "from 1 to 20000"),
    ("search", "models --limit 100001", "--limit", "from 1 to 100000"),
    ("get", "u --max-memory 1M", "--max-memory", "at least 4M"),
    ("download", "a/b --max-memory lots", "--max-memory", "at least 4M"),
    ("get", "u --chunk-size 1k", "--chunk-size", "at least 64K"),
    ("upload", "a/b --limit-rate 0", "--limit-rate", "at least 1"),
    ("card new", "--type space", "--type", "model or dataset"),
])
def test_numbers_and_words_out_of_range_are_refused(command, args, option, allowed):
    args = args.split()
    usage_error(ferry(*command.split(), *args), command, option, allowed, f"'{args[-1]}'")


def test_bounds_and_value_forms_are_accepted():
    # --version ends `ferry get` before any download: the values were all taken
    r = ferry("get", "--connections=256", "--streams", "1", "--retries", "0", "--max-memory",
              "4M", "--chunk-size=64K", "--limit-rate", "1.5G", "-qv", "--version")
    assert r.returncode == 0 and "ferry" in r.stdout, describe(r)
    usage_error(ferry("get", "u", "--connections"), "get", "--connections", "needs a value")
    usage_error(ferry("get", "u", "--json=yes"), "get", "--json", "takes no value")
    # a prefix names one option or none: --re is --repo-type or --revision
    usage_error(ferry("download", "a/b", "--re", "x"), "download", "ambiguous", "'--re'")


def test_arguments_missing_or_extra_are_one_line():
    usage_error(ferry("download"), "download", "REPO_ID")
    usage_error(ferry("upload", "a/b", "x", "y", "z"), "upload", "'z'")
    usage_error(ferry("card", "check"), "card check", "FILE")
    usage_error(ferry("repo", "move", "a/b"), "repo move", "TO_ID")
    usage_error(ferry("get"), "get", "URL")


# ---- per-subcommand help -----------------------------------------------------------------

@pytest.mark.parametrize("command, present, absent", [
    ("auth login", ["--token ", "--cacert"], ["--token-name", "logout"]),
    ("auth logout", ["--token-name"], ["--cacert", "--token "]),
    ("auth whoami", ["--token ", "--verbose"], ["--token-name"]),
    ("auth list", ["--json"], ["--token", "--verbose"]),
    ("auth switch", ["--token-name"], ["--cacert"]),
    ("cache ls", ["--revisions"], ["--dry-run", "--yes", "--fail-on"]),
    ("cache rm", ["TARGET", "--dry-run", "--yes"], ["--revisions", "--fail-on"]),
    ("cache prune", ["--dry-run"], ["--revisions", "TARGET"]),
    ("cache verify", ["--fail-on-missing-files", "--local-dir"], ["--dry-run", "--revisions"]),
    ("repo create", ["--space-sdk", "--exist-ok"], ["--gated", "--missing-ok", "--yes"]),
    ("repo delete", ["--missing-ok", "--yes"], ["--space-sdk", "--private"]),
    ("repo settings", ["--gated", "--public"], ["--missing-ok", "--exist-ok"]),
    ("repo move", ["FROM_ID TO_ID", "--repo-type"], ["--private", "--yes"]),
    ("branch create", ["--exist-ok", "--revision"], ["--message", "MESSAGE", "-y"]),
    ("branch delete", ["--repo-type"], ["--revision", "--exist-ok"]),
    ("tag create", ["--message", "--revision"], ["--exist-ok", "--yes"]),
    ("tag delete", ["--yes"], ["--message", "--revision"]),
    ("tag list", ["--json"], ["--message", "--yes"]),
    ("card new", ["--force", "--output"], ["--json"]),
    ("card check", ["--json", "FILE"], ["--force", "--output"]),
    ("ls", ["--recursive"], ["--limit", "ferry info"]),
    ("info", ["--revision"], ["--recursive"]),
])
def test_each_subcommand_has_its_own_help(command, present, absent):
    for flag in ("--help", "-h"):
        r = ferry(*command.split(), flag)
        assert r.returncode == 0 and r.stderr == "", describe(r)
        assert r.stdout.startswith(f"usage: ferry {command} "), describe(r)
        for word in present:
            assert word in r.stdout, (word, describe(r))
        for word in absent:
            assert word not in r.stdout, (word, describe(r))


def test_group_help_lists_the_subcommands():
    r = ferry("auth", "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: ferry auth <command>"), describe(r)
    assert all(s in r.stdout for s in ("login", "logout", "whoami", "list", "switch"))
    assert "--token-name" not in r.stdout  # the options are in each subcommand's help
    assert "'ferry auth <command> --help'" in r.stdout
