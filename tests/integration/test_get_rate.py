"""--limit-rate caps the total: short ranged requests must not burst past it. Only the lower
bound on time is asserted (a slow machine can only make the download slower)."""
from ferrytest import MiB, sha256_file
from helpers import EXIT_OK, run_ferry


def test_limit_rate_caps_the_total(ferry_bin, nginx, files, out_dir):
    served = files["crash.bin"]  # 96 MiB
    out = out_dir / "capped.bin"
    rate = 32 * MiB
    r = run_ferry(["get", nginx.url("crash.bin"), "-o", out, "--cacert", nginx.cacert,
                   "--limit-rate", "32M", "--json"])
    assert r.returncode == EXIT_OK, r.describe()
    assert sha256_file(out) == served.sha256
    summary = r.json
    # The bucket allows one burst of a quarter second at the start; the rest is paced.
    floor = (served.size - rate / 4) / rate
    assert summary["seconds"] >= floor * 0.95, f"{summary['seconds']:.2f} s < {floor:.2f} s"
    assert summary["mb_per_s"] <= rate / 1e6 * 1.35
    # the cap bound the run, not the disk: memory never held the network back for long
    # (test_get_backpressure.py: a slow disk holds it back for a large share)
    assert summary["held_back_seconds"] <= 0.1 * summary["seconds"], summary
