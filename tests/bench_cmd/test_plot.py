"""`ferry bench --plot FILE.png` (issue 15): a single run's plot and a sweep's plot are valid PNG
files of the size ferry draws (the signature, then IHDR's width and height), written where
asked; --plot without a target is refused, and a plot that cannot be written is an error
after the figures."""
import os
import struct

from test_bench import EXIT_USAGE

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path):
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    with open(path, "rb") as f:
        head = f.read(33)
    assert head[:8] == PNG_SIGNATURE, head[:8]
    length, kind = struct.unpack(">I4s", head[8:16])
    assert (length, kind) == (13, b"IHDR"), (length, kind)
    width, height, depth, color = struct.unpack(">IIBB", head[16:26])
    assert depth == 8 and color in (2, 6), (depth, color)  # 8-bit RGB(A)
    return width, height


def test_plot_of_one_run(bench, tmp_path):
    path = tmp_path / "run.png"
    r = bench("demo/tiny-model", "--to", "null", "--seconds", "3", "--plot", path)
    assert r.returncode == 0, r.describe()
    assert f"plot            {path}" in r.stdout
    assert png_size(path) == (1000, 600)
    assert 10_000 < os.path.getsize(path) < 5_000_000  # lines and text, not an empty page


def test_plot_of_a_sweep(bench, tmp_path):
    path = tmp_path / "sweep.png"
    r = bench("demo/tiny-model", "--to", "null", "--sweep", "--connections", "1,2,4",
              "--streams", "1", "--chunk-size", "1M", "--seconds", "1", "--plot", path,
              "--json", timeout=120)
    assert r.returncode == 0, r.describe()
    assert len(r.json["sweep"]["points"]) == 4
    assert png_size(path) == (1000, 600)
    assert 10_000 < os.path.getsize(path) < 5_000_000


def test_plot_needs_a_target(bench, tmp_path):
    r = bench("--plot", tmp_path / "x.png")
    assert r.returncode == EXIT_USAGE and "--plot needs a target" in r.stderr
    assert not os.path.exists(tmp_path / "x.png")


def test_a_plot_that_cannot_be_written_is_an_error(bench, tmp_path):
    path = tmp_path / "missing-folder" / "x.png"
    r = bench("demo/tiny-model", "--to", "null", "--seconds", "1", "--plot", path)
    assert r.returncode != 0 and f"cannot write {path}" in r.stderr, r.describe()
    assert "goodput" in r.stdout  # the figures were printed first
    assert not os.path.exists(path)
