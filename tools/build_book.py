"""Build the book: ``python tools/build_book.py [--scale ci|hub|local|full] [--force]``.

What it does, in order:

1. sets ``QWEM_SCALE`` (the preset every chapter reads through ``qwemlib.preset()``),
   ``PLOTLY_RENDERER=plotly_mimetype+notebook`` (plotly's default renderer emits only a
   mime type that myst-nb drops) and ``QWEM_BOOK_BUILD=1`` (``qwemlib.plots`` then swaps
   in a renderer that uses the book's own plotly.js and no CDN MathJax);
2. points the repository and Binder buttons at ``--repo-url``, ``$QWEM_REPO_URL`` or the
   checkout's GitHub ``origin`` (``tools/qwem_sphinx.py`` applies it), else at
   ``repository.url`` of ``_config.yml``;
3. vendors MathJax, plotly.js, require.js and the widget manager (``tools/vendor_assets.py``);
4. keys Jupyter Book's execution cache on ``qwemlib/**/*.py`` (the subpackages too), the stored results under
   ``data/results/`` and the preset: the cache itself only notices changes to a
   notebook's code cells, so a changed library, a regenerated result or a different
   ``QWEM_SCALE`` would otherwise reuse stale outputs. The input data need no hashing of
   their own: ``qwemlib/data.py`` pins every corpus shard and benchmark file by sha256
   and refuses any other bytes, so it is part of the key;
5. runs ``jupyter-book build . -W -n --keep-going`` (warnings, broken references and
   failing cells fail the build), then prints the build time, the site size and the ten
   largest files.

Exit status: 0 on a clean build, otherwise that of ``jupyter-book``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
CACHE = BUILD / ".jupyter_cache"
KEY_FILE = BUILD / ".jupyter_cache.key"

sys.path.insert(0, str(ROOT / "tools"))
import vendor_assets  # noqa: E402

_GITHUB = re.compile(r"^(?:https://github\.com/|git@github\.com:|ssh://git@github\.com/)"
                     r"(?P<org>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?/?$")


def github_url(remote: str) -> str | None:
    """``https://github.com/ORG/REPO`` for a GitHub remote (https or ssh form), else None."""
    m = _GITHUB.match(remote.strip())
    return f"https://github.com/{m['org']}/{m['repo']}" if m else None


def repository(cli_url: str | None, root: Path = ROOT) -> tuple[str | None, str]:
    """Where the launch and repository buttons should point, and why.

    In order: ``--repo-url``, ``$QWEM_REPO_URL``, the checkout's ``origin`` remote if it
    is on GitHub; otherwise None (``repository.url`` of ``_config.yml`` stays).
    """
    if cli_url:
        return cli_url.rstrip("/"), "--repo-url"
    if os.environ.get("QWEM_REPO_URL"):
        return os.environ["QWEM_REPO_URL"].rstrip("/"), "$QWEM_REPO_URL"
    try:
        remote = subprocess.run(["git", "remote", "get-url", "origin"], cwd=root,
                                capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        remote = ""
    url = github_url(remote) if remote else None
    return (url, "the git remote 'origin'") if url else (None, "_config.yml")


KEYED = ("qwemlib/**/*.py", "data/results/**/*")


def cache_key(scale: str, root: Path = ROOT) -> str:
    """Hash of what chapter outputs depend on beyond their own code cells.

    The preset, the library sources and the stored results (``KEYED``); the data files
    are pinned by their sha256 in ``qwemlib/data.py``, which is one of the sources.
    """
    h = hashlib.sha256()
    h.update(f"QWEM_SCALE={scale}\n".encode())
    for pattern in KEYED:
        for path in sorted(p for p in root.glob(pattern) if p.is_file()):
            rel = path.relative_to(root).as_posix()
            h.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def key_execution_cache(scale: str, force: bool) -> None:
    key = cache_key(scale)
    old = KEY_FILE.read_text().strip() if KEY_FILE.exists() else None
    if force or old != key:
        if CACHE.exists():
            why = "--force" if force else f"qwemlib/ or preset changed ({old} -> {key})"
            print(f"build_book: clearing the execution cache: {why}", flush=True)
            shutil.rmtree(CACHE)
        # pages built from the old outputs must be rewritten too
        shutil.rmtree(BUILD / "html", ignore_errors=True)
        shutil.rmtree(BUILD / "jupyter_execute", ignore_errors=True)
        shutil.rmtree(BUILD / ".doctrees", ignore_errors=True)
    BUILD.mkdir(exist_ok=True)
    KEY_FILE.write_text(key + "\n")


def drop_source_maps(html: Path) -> None:
    """Delete the themes' ``*.map`` files: only browser dev tools ever fetch them."""
    maps = [p for p in (html / "_static").rglob("*.map") if p.is_file()]
    size = sum(p.stat().st_size for p in maps)
    for p in maps:
        p.unlink()
    if maps:
        print(f"build_book: removed {len(maps)} source maps ({size / 2**20:.1f} MiB)")


def report_site(html: Path, top: int = 10) -> int:
    files = [p for p in html.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    print(f"build_book: site {html.relative_to(ROOT)}: {len(files)} files, "
          f"{total / 2**20:.1f} MiB")
    print(f"build_book: {top} largest files:")
    for p in sorted(files, key=lambda p: p.stat().st_size, reverse=True)[:top]:
        print(f"  {p.stat().st_size / 2**20:8.2f} MiB  {p.relative_to(html)}")
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default=os.environ.get("QWEM_SCALE", "ci"),
                    choices=["ci", "hub", "local", "full"], help="preset (default: $QWEM_SCALE or ci)")
    ap.add_argument("--force", action="store_true", help="re-execute every chapter")
    ap.add_argument("--builder", default="html")
    ap.add_argument("--repo-url", default=None,
                    help="GitHub repository the launch buttons open (default: $QWEM_REPO_URL, "
                         "else the 'origin' remote if on GitHub, else repository.url in _config.yml)")
    args = ap.parse_args(argv)

    os.environ["QWEM_SCALE"] = args.scale
    os.environ["PLOTLY_RENDERER"] = "plotly_mimetype+notebook"
    os.environ["QWEM_BOOK_BUILD"] = "1"
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # A build is a batch job: qwemlib.corpus shows tqdm bars unless CI is set, and in
    # a kernel those bars are ipywidgets that would be saved into the pages.
    os.environ.setdefault("CI", "1")

    url, why = repository(args.repo_url)
    if url:
        os.environ["QWEM_REPO_URL"] = url
    print(f"build_book: repository and Binder buttons: {url or 'repository.url of _config.yml'}"
          f" (from {why})", flush=True)

    vendor_assets.main([])
    key_execution_cache(args.scale, args.force)

    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(ROOT),
           "--builder", args.builder, "-W", "-n", "--keep-going"]
    print("build_book:", " ".join(cmd), f"(QWEM_SCALE={args.scale})", flush=True)
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, cwd=ROOT).returncode
    dt = time.perf_counter() - t0
    print(f"build_book: jupyter-book finished in {dt:.0f} s with exit status {rc}")
    html = BUILD / "html"
    if html.exists():
        drop_source_maps(html)
        report_site(html)
    if rc != 0:
        reports = BUILD / "html" / "reports"
        if reports.exists():
            print(f"build_book: execution reports in {reports.relative_to(ROOT)}")
        print("build_book: FAILED (warnings are errors; see the log above)")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
