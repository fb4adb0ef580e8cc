"""Where `ferry get` writes: a folder given as the output is refused before any request (the
final rename could never replace it), and missing folders of the output are made."""
import os

import pytest

from helpers import EXIT_OK, EXIT_USAGE, assert_identical, entries_for, run_ferry, wait_for_log_quiet


@pytest.mark.parametrize("trailing_slash", [False, True])
def test_output_that_is_a_directory_is_refused_before_any_request(nginx, files, out_dir,
                                                                  trailing_slash):
    served = files["list-a.bin"]
    folder = out_dir / "folder"
    folder.mkdir()
    output = str(folder) + ("/" if trailing_slash else "")
    mark = nginx.log_size()
    result = run_ferry(["get", nginx.url(served.name), "-o", output, "--cacert", nginx.cacert])
    assert result.returncode == EXIT_USAGE, result.describe()
    assert f"{output} is a directory; use -o {folder}/NAME" in result.stderr, result.describe()
    assert os.listdir(folder) == [] and os.listdir(out_dir) == ["folder"]  # no .part, no lock
    wait_for_log_quiet(nginx.log_entries)
    assert entries_for(nginx.log_entries_since(mark), served.name) == []


def test_list_line_naming_a_directory_is_refused_before_any_request(nginx, files, out_dir):
    served = files["list-b.bin"]
    (out_dir / "folder").mkdir()
    listing = out_dir / "list.txt"
    listing.write_text(f"{nginx.url(served.name)} {out_dir / 'ok.bin'}\n"
                       f"{nginx.url(served.name)} {out_dir / 'folder'}\n")
    mark = nginx.log_size()
    result = run_ferry(["get", "-i", listing, "--cacert", nginx.cacert])
    assert result.returncode == EXIT_USAGE, result.describe()
    assert f"{listing}:2: {out_dir / 'folder'} is a directory" in result.stderr, result.describe()
    assert sorted(os.listdir(out_dir)) == ["folder", "list.txt"]
    wait_for_log_quiet(nginx.log_entries)
    assert entries_for(nginx.log_entries_since(mark), served.name) == []


def test_list_lines_with_subfolders_create_them(nginx, files, out_dir, monkeypatch):
    """-i lines naming sub/x (relative to the current folder) and deeper/y/z: the folders
    are made, as aria2c makes them."""
    a, b = files["list-a.bin"], files["list-b.bin"]
    listing = out_dir / "list.txt"
    listing.write_text(f"{nginx.url(a.name)} sub/x {a.sha256}\n"
                       f"{nginx.url(b.name)} deeper/y/z {b.sha256}\n")
    result = run_ferry(["get", "-i", listing, "--cacert", nginx.cacert], cwd=out_dir)
    assert result.returncode == EXIT_OK, result.describe()
    assert_identical(out_dir / "sub" / "x", a)
    assert_identical(out_dir / "deeper" / "y" / "z", b)
    assert sorted(os.listdir(out_dir / "deeper" / "y")) == ["z"]
