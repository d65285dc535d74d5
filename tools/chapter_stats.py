"""Print code-cell statistics of every chapter in ``_toc.yml`` (issue 11's targets).

For each chapter: the number of code cells, the median and longest cell in lines,
the code lines wider than ``--width`` characters, and any ``def``/``class`` in a code
cell (chapters call the library; they define nothing). ``--check`` exits 1 when a
chapter misses a target: median at most ``--median`` lines, no cell over ``--longest``
lines, no code line over ``--width`` characters (88: what a code block of the built
book holds without scrolling sideways, see ``book/_static_offline/qwem.css`` and
tests/test_book.py), no definitions.

    python tools/chapter_stats.py            # the table
    python tools/chapter_stats.py --check    # also fail on a missed target (tests/test_chapters.py)
"""

from __future__ import annotations

import argparse
import ast
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```\s*$", re.S | re.M)


def chapters(root: Path = ROOT) -> list[Path]:
    """The chapter sources listed in ``_toc.yml``, in order."""
    names = re.findall(r"^\s*-?\s*(?:file|root):\s*(\S+)", (root / "_toc.yml").read_text(), re.M)
    return [root / (n if n.endswith(".md") else n + ".md") for n in names]


def code_cells(path: Path) -> list[str]:
    """The code cells of a MyST notebook, without their ``:tags:``-style option lines."""
    cells = []
    for body in CELL.findall(path.read_text()):
        lines = [ln for ln in body.splitlines() if not ln.startswith(":")]
        while lines and lines[0].startswith("---"):  # a YAML option block
            end = lines.index("---", 1) if "---" in lines[1:] else 0
            lines = lines[end + 1:]
        cells.append("\n".join(lines).strip("\n"))
    return cells


def definitions(cell: str) -> list[str]:
    """Names of functions and classes defined anywhere in a code cell."""
    src = "\n".join(ln for ln in cell.splitlines() if not ln.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return []
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
    return [getattr(n, "name", "lambda") for n in ast.walk(tree) if isinstance(n, kinds)
            and not isinstance(n, ast.Lambda)]


WIDTH = 88   # characters a code block of the built book shows at the tests' 1280 px viewport


def wide_lines(path: Path, width: int = WIDTH) -> list[tuple[int, int]]:
    """``(line number in the file, length)`` of every code-cell line over ``width`` characters."""
    wide, in_cell = [], False
    for no, line in enumerate(path.read_text().splitlines(), 1):
        if not in_cell:
            in_cell = line.startswith("```{code-cell}")
        elif re.match(r"^```\s*$", line):
            in_cell = False
        elif len(line) > width:
            wide.append((no, len(line)))
    return wide


def stats(path: Path, width: int = WIDTH) -> dict:
    """Cell count, median and longest cell (lines), wide lines and definitions of one chapter."""
    cells = code_cells(path)
    sizes = [len(c.splitlines()) for c in cells] or [0]
    defs = [d for c in cells for d in definitions(c)]
    return {"chapter": path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path),
            "cells": len(cells), "median": statistics.median(sizes), "longest": max(sizes),
            "wide": wide_lines(path, width), "defs": defs}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--median", type=float, default=15, help="largest allowed median cell")
    ap.add_argument("--longest", type=int, default=30, help="largest allowed cell")
    ap.add_argument("--width", type=int, default=WIDTH, help="widest allowed code line (characters)")
    args = ap.parse_args(argv)
    rows = [stats(p, args.width) for p in chapters()]
    print(f"{'chapter':34} {'cells':>5} {'median':>6} {'longest':>7} {'wide':>4}  definitions")
    failed = []
    for r in rows:
        print(f"{r['chapter']:34} {r['cells']:5d} {r['median']:6.1f} {r['longest']:7d} "
              f"{len(r['wide']):4d}  {', '.join(r['defs']) or '-'}")
        if r["median"] > args.median or r["longest"] > args.longest or r["defs"] or r["wide"]:
            failed.append(r["chapter"])
    for r in rows:
        for no, n in r["wide"]:
            print(f"{r['chapter']}:{no}: code line of {n} characters (> {args.width})", file=sys.stderr)
    if args.check and failed:
        print(f"\nmissed the targets (median <= {args.median:g}, longest <= {args.longest}, "
              f"code lines <= {args.width} characters, no def/class): {', '.join(failed)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
