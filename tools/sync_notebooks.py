"""Write every chapter in ``_toc.yml`` as a notebook under ``_build/nbval/`` for nbval.

Chapters are MyST Markdown notebooks (``book/*.md`` with a jupytext header); no
``.ipynb`` is committed. ``pytest --nbval-lax`` needs ``.ipynb`` files, so this script
converts them with jupytext (outputs empty, so nbval never compares outputs; it runs
every cell and fails on an exception). Pages without code cells (the references and
status pages) are skipped.

Usage::

    python tools/sync_notebooks.py            # -> _build/nbval/*.ipynb
    QWEM_SCALE=ci pytest --nbval-lax _build/nbval

Each notebook keeps its chapter's file name, so a failure names the chapter; it runs
with ``_build/nbval`` as its working directory (chapters find data through
``qwemlib.data``, never through relative paths).
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "nbval"


def toc_entries() -> list[str]:
    """The ``file:`` entries of ``_toc.yml`` (root first), without extensions."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc.get("parts", toc.get("chapters", [])))
    return files


def toc_files() -> list[Path]:
    files = toc_entries()
    out = []
    for f in files:
        for ext in (".md", ".ipynb"):
            p = ROOT / (f + ext)
            if p.exists():
                out.append(p)
                break
        else:
            raise SystemExit(f"sync_notebooks: {f} is in _toc.yml but no .md/.ipynb exists")
    return out


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.ipynb"):
        old.unlink()
    written = []
    for src in toc_files():
        nb = jupytext.read(src)
        if not any(c.cell_type == "code" for c in nb.cells):
            continue
        nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3",
                                              "language": "python"})
        dest = OUT / (src.stem + ".ipynb")
        nbformat.write(nb, dest)
        written.append(dest)
    for w in written:
        print(f"sync_notebooks: {w.relative_to(ROOT)}")
    print(f"sync_notebooks: {len(written)} notebooks in {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
