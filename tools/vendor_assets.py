"""Copy the book's browser assets from ``node_modules`` into ``book/_static_offline/vendor``.

The built pages must not load anything from another host (readers may be offline,
and the browser test forbids it). ``package.json`` + ``package-lock.json`` pin the
assets; this script runs ``npm ci`` when ``node_modules`` is missing or older than the
lockfile, then copies just the files the pages use:

* ``mathjax/``: ``mathjax/es5`` (CHTML output, TeX input), for ``mathjax_path``;
* ``plotly/``: ``plotly.js-dist-min/plotly.min.js`` and plotly's partial bundles
  ``plotly.js-{basic,cartesian,gl2d,gl3d}-dist-min``, for ``tools/qwem_sphinx.py``;
* ``requirejs/``: ``requirejs/require.js``, for ``nb_ipywidgets_js``;
* ``html-manager/``: ``@jupyter-widgets/html-manager/dist``, for ``nb_ipywidgets_js``.

The folder is not ``_static/``: Jupyter Book adds every ``.js`` file found in a
``_static/`` folder to every page.

Usage: ``python tools/vendor_assets.py`` (``tools/build_book.py`` calls it).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NODE = ROOT / "node_modules"
DEST = ROOT / "book" / "_static_offline" / "vendor"

# (source relative to node_modules, destination relative to DEST, ignore patterns)
COPIES = [
    ("mathjax/es5/tex-chtml.js", "mathjax/tex-chtml.js", None),
    ("mathjax/es5/input/tex/extensions", "mathjax/input/tex/extensions", None),
    ("mathjax/es5/output/chtml/fonts/woff-v2", "mathjax/output/chtml/fonts/woff-v2", None),
    ("mathjax/es5/ui", "mathjax/ui", None),
    ("mathjax/es5/a11y", "mathjax/a11y", None),
    ("mathjax/es5/sre", "mathjax/sre", ("*.map",)),
    ("mathjax/LICENSE", "mathjax/LICENSE", None),
    ("plotly.js-dist-min/plotly.min.js", "plotly/plotly.min.js", None),
    ("plotly.js-dist-min/LICENSE", "plotly/LICENSE", None),
    # plotly's partial bundles (same version, same license): a page loads the smallest
    # one that holds its figures' trace types (tools/qwem_sphinx.py, plotly_bundle)
    ("plotly.js-basic-dist-min/plotly-basic.min.js", "plotly/plotly-basic.min.js", None),
    ("plotly.js-cartesian-dist-min/plotly-cartesian.min.js", "plotly/plotly-cartesian.min.js", None),
    ("plotly.js-gl2d-dist-min/plotly-gl2d.min.js", "plotly/plotly-gl2d.min.js", None),
    ("plotly.js-gl3d-dist-min/plotly-gl3d.min.js", "plotly/plotly-gl3d.min.js", None),
    ("requirejs/require.js", "requirejs/require.js", None),
    ("@jupyter-widgets/html-manager/dist", "html-manager", ("*.map", "embed.js*", "libembed-amd.js")),
]


def npm_ci(force: bool = False) -> None:
    """Run ``npm ci`` unless ``node_modules`` already matches the lockfile."""
    stamp = NODE / ".package-lock.json"
    lock = ROOT / "package-lock.json"
    if not force and stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            "npm is not installed: install Node.js >= 18 (Debian: apt-get install npm), "
            "then rerun; the book vendors MathJax and plotly.js from package-lock.json"
        )
    print("vendor_assets: npm ci", flush=True)
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True)


def copy_assets() -> int:
    """Copy the pinned assets into ``DEST``; return the number of bytes copied."""
    if DEST.exists():
        shutil.rmtree(DEST)
    total = 0
    for src_rel, dst_rel, ignore in COPIES:
        src, dst = NODE / src_rel, DEST / dst_rel
        if not src.exists():
            raise SystemExit(f"vendor_assets: {src} is missing; run `npm ci` in {ROOT}")
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns(*ignore) if ignore else None)
        else:
            shutil.copy2(src, dst)
    for f in DEST.rglob("*"):
        if f.is_file():
            total += f.stat().st_size
    return total


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    npm_ci(force="--npm-ci" in argv)
    size = copy_assets()
    print(f"vendor_assets: {size / 2**20:.1f} MiB in {DEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
