"""Sizes on the command line and in reports (binary units)."""
import argparse

GIB, MIB = 1 << 30, 1 << 20


def parse_size(text):
    """Bytes from '2G', '512M', '64K' (binary units) or a plain number."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(t[-1:], 1)
    try:
        return int(float(t[:-1] if mult > 1 else t) * mult)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")


def fmt_size(n):
    for unit, mult in (("GiB", GIB), ("MiB", MIB)):
        if n >= mult and n % (mult // 16) == 0:
            return f"{n / mult:g} {unit}"
    return f"{n} B"
