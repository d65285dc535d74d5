"""Compare two folders of stored results (e.g. ``data/results/ci`` and a regenerated copy).

Every array of every ``.npz`` file in either folder, and every row of ``benchmark.json``
(matched by model, benchmark and metric; its ``value``, ``covered`` and ``total``), is
compared; a table of the largest absolute differences is printed. Exit status 1 when
anything differs beyond exact equality (NaNs in the same places count as equal), or
beyond ``--atol`` for numbers; a file, key or row on one side only, a shape change and
any change of a non-numeric array always count. ``benchmark.json``'s ``meta`` (dates,
timings, machine) and the READMEs are not compared.

Usage::

    python tools/make_results.py --scale ci --out /tmp/ci-again
    python tools/compare_results.py data/results/ci /tmp/ci-again            # exact
    python tools/compare_results.py data/results/ci /tmp/ci-again --atol 1e-6
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qwemlib import results  # noqa: E402  (after the sys.path line)


def _diff(a, b) -> tuple[float | None, bool]:
    """(max |a - b| for numbers or None, whether they are equal without tolerance)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return None, False
    numeric = all(np.issubdtype(x.dtype, np.number) or x.dtype == bool for x in (a, b))
    if not numeric:
        return None, bool(np.array_equal(a, b))
    a, b = a.astype(np.float64), b.astype(np.float64)
    same_nan = np.isnan(a) == np.isnan(b)
    if not same_nan.all():
        return float("inf"), False
    ok = ~np.isnan(a)
    d = float(np.max(np.abs(a[ok] - b[ok]), initial=0.0))
    return d, d == 0.0 and bool(np.array_equal(a[ok], b[ok]))


def _npz_rows(dir_a: Path, dir_b: Path):
    for name in sorted({p.name for d in (dir_a, dir_b) for p in d.glob("*.npz")}):
        za = results.load_npz(dir_a.name, name, (), folder=dir_a, missing_ok=True)
        zb = results.load_npz(dir_b.name, name, (), folder=dir_b, missing_ok=True)
        if za is None or zb is None:
            yield name, "(file)", "", None, f"only in {dir_a if zb is None else dir_b}"
            continue
        for key in sorted(set(za) | set(zb)):
            if key not in za or key not in zb:
                yield name, key, "", None, f"only in {dir_a if key in za else dir_b}"
                continue
            a, b = za[key], zb[key]
            shape = "x".join(map(str, a.shape)) or "()"
            if a.shape != b.shape:
                yield name, key, shape, None, f"shape {a.shape} vs {b.shape}"
                continue
            d, same = _diff(a, b)
            yield name, key, f"{shape} {a.dtype}", d, "equal" if same else ("differs" if d is None else "")


def _benchmark_rows(dir_a: Path, dir_b: Path):
    ra, _ = results.read_benchmark(dir_a.name, folder=dir_a)
    rb, _ = results.read_benchmark(dir_b.name, folder=dir_b)
    if ra is None and rb is None:
        return
    if ra is None or rb is None:
        yield "benchmark.json", "(file)", "", None, f"only in {dir_a if rb is None else dir_b}"
        return

    def index(rows):
        return {(r["model"], r["benchmark"], r.get("metric", "")): r for r in rows}

    ia, ib = index(ra), index(rb)
    for k in sorted(set(ia) | set(ib), key=str):
        label = " | ".join(map(str, k))
        if k not in ia or k not in ib:
            yield "benchmark.json", label, "", None, f"only in {dir_a if k in ia else dir_b}"
            continue
        for field in ("value", "covered", "total"):
            va, vb = ia[k].get(field), ib[k].get(field)
            if va is None and vb is None:
                continue
            if va is None or vb is None:
                yield "benchmark.json", f"{label} | {field}", "", None, "missing on one side"
                continue
            d, same = _diff(va, vb)
            yield "benchmark.json", f"{label} | {field}", "", d, "equal" if same else ""


def compare(dir_a: Path, dir_b: Path, atol: float = 0.0, *, show_equal: bool = True, out=print) -> int:
    """Print the comparison table; return the number of differences beyond ``atol``."""
    rows = list(_npz_rows(dir_a, dir_b)) + list(_benchmark_rows(dir_a, dir_b))
    bad = 0
    width = min(max([len(f"{f}: {k}") for f, k, *_ in rows] + [10]), 72)
    out(f"{'file: key':{width}s}  {'shape dtype':18s}  {'max |a - b|':>12s}  status")
    for f, k, shape, d, status in rows:
        if status == "":
            status = "within atol" if d is not None and d <= atol else "differs"
        bad += status not in ("equal", "within atol")
        if show_equal or status != "equal":
            out(f"{f + ': ' + k:{width}s}  {shape:18s}  {'' if d is None else f'{d:12.3g}':>12s}  {status}")
    out(f"{len(rows)} arrays/rows compared; {bad} differ" + (f" beyond atol {atol:g}" if atol else ""))
    return bad


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir_a", type=Path)
    ap.add_argument("dir_b", type=Path)
    ap.add_argument("--atol", type=float, default=0.0,
                    help="numeric differences up to this are accepted (default 0: exact equality)")
    ap.add_argument("--differences-only", action="store_true", help="print only the rows that differ")
    args = ap.parse_args(argv)
    for d in (args.dir_a, args.dir_b):
        if not d.is_dir():
            ap.error(f"{d} is not a folder")
    return 1 if compare(args.dir_a, args.dir_b, args.atol, show_equal=not args.differences_only) else 0


if __name__ == "__main__":
    raise SystemExit(main())
