"""Benchmark how fast the built book's pages load from a local server (issue 15, item 5).

Serves ``_build/html`` (or ``--site``) from 127.0.0.1 and opens each page in headless
Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright) with a cold cache, in a new
browser context per load. For each page it reports, as the median of ``--repeats`` loads:

* ``load``: the page's ``load`` event (every script, stylesheet and image fetched and run),
  from navigation start;
* ``ready``: when the page is what a reader came for: every plotly figure drawn
  (``.js-plotly-plot .main-svg`` for each ``.plotly-graph-div``) and MathJax done;
* the bytes the page fetched (its HTML plus every asset, uncompressed: the local server
  sends no gzip) and the size of its HTML alone (where precomputed slider frames live).

    .venv/bin/python bench/bench_pages.py                       # every page of _toc.yml
    .venv/bin/python bench/bench_pages.py --pages book/04_stepwise.html --repeats 5
    .venv/bin/python bench/bench_pages.py --baseline /path/to/older/_build/html

With ``--baseline`` the same pages of a second build (e.g. the site of an earlier commit)
are loaded in the same run, alternating with this one's (A B A B ...), and the table
adds their ready time and the ratio baseline / this, so that a shared machine's load
hits both alike.

The target (issue 15): the page with the precomputed sigma x d slider figure loads in
under 2 s from a local server. A local server measures the browser's parse, script and
render time, not a network: a reader online also waits for the bytes.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import importlib.util
import os
import statistics
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 2.0
READY_JS = """() => {
  const want = document.querySelectorAll('.plotly-graph-div').length;
  const drawn = document.querySelectorAll('.js-plotly-plot .main-svg').length;
  const math = document.querySelectorAll('span.math, div.math').length;
  const mj = !math || (window.MathJax && MathJax.startup && MathJax.startup.document
                       && document.querySelectorAll('mjx-container').length >= math);
  return drawn >= want && mj;
}"""


def toc_pages() -> list[str]:
    spec = importlib.util.spec_from_file_location("sync_notebooks", ROOT / "tools" / "sync_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return [f"{f}.html" for f in mod.toc_entries()]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(site: Path):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


def load_once(browser, url: str, timeout_s: float = 60.0) -> dict:
    """One cold load of ``url``: seconds to ``load`` and to ``ready``, bytes fetched."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    sizes = []
    page.on("response", lambda r: sizes.append(r))
    t0 = time.perf_counter()
    page.goto(url, wait_until="load", timeout=timeout_s * 1e3)
    t_load = time.perf_counter() - t0
    page.wait_for_function(READY_JS, timeout=timeout_s * 1e3, polling=20)
    t_ready = time.perf_counter() - t0
    nav_load = page.evaluate("() => performance.getEntriesByType('navigation')[0].loadEventEnd / 1e3")
    total = 0
    for r in sizes:
        try:
            total += len(r.body())
        except Exception:   # redirects and aborted requests have no body
            pass
    n_plots = page.locator(".plotly-graph-div").count()
    ctx.close()
    return {"load_s": nav_load or t_load, "ready_s": t_ready, "bytes": total, "requests": len(sizes),
            "plots": n_plots}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--site", type=Path, default=ROOT / "_build" / "html", help="the built site")
    ap.add_argument("--pages", help="comma list of pages (default: every page of _toc.yml)")
    ap.add_argument("--repeats", type=int, default=3, help="cold loads per page (the median is reported)")
    ap.add_argument("--baseline", type=Path, help="a second built site to load alternately (before/after)")
    args = ap.parse_args(argv)
    for site in filter(None, (args.site, args.baseline)):
        if not (site / "index.html").exists():
            raise SystemExit(f"{site / 'index.html'} is missing: build the book first (make book)")
    from playwright.sync_api import sync_playwright

    pages = [p.strip() for p in args.pages.split(",")] if args.pages else toc_pages()
    httpd, base = serve(args.site)
    old_httpd, old_base = serve(args.baseline) if args.baseline else (None, None)
    load0 = os.getloadavg()[0]
    rows = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            for p in pages:
                runs, old = [], []
                for _ in range(args.repeats):
                    runs.append(load_once(browser, base + p))
                    if old_base and (args.baseline / p).exists():
                        old.append(load_once(browser, old_base + p))
                html = (args.site / p).stat().st_size
                rows.append((p, statistics.median(r["load_s"] for r in runs),
                             statistics.median(r["ready_s"] for r in runs), runs[-1]["bytes"], html,
                             runs[-1]["requests"], runs[-1]["plots"],
                             statistics.median(r["ready_s"] for r in old) if old else None,
                             old[-1]["bytes"] if old else None))
                print(f"#   {p}: ready {rows[-1][2]:.2f} s"
                      + (f" (baseline {rows[-1][7]:.2f} s)" if old else ""), flush=True)
            browser.close()
    finally:
        httpd.shutdown()
        if old_httpd:
            old_httpd.shutdown()
    print(f"\n# {args.site}, {args.repeats} cold load(s) per page, local server, {os.cpu_count()} cores, "
          f"1-min load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
          + (f"; baseline {args.baseline}, loaded alternately" if args.baseline else "") + "\n")
    extra = " baseline ready s | baseline MiB | baseline / this |" if args.baseline else ""
    print("| page | load event s | ready s (figures drawn, math typeset) | MiB fetched | HTML MiB | "
          "requests | plotly figures | under 2 s |" + extra)
    print("|---|---:|---:|---:|---:|---:|---:|:---:|" + ("---:|---:|---:|" if args.baseline else ""))
    for p, lo, re_, b, h, n, k, ore, ob in rows:
        tail = ""
        if args.baseline:
            tail = (f" {ore:.2f} | {ob / 2**20:.1f} | {ore / re_:.2f} |" if ore is not None
                    else " - | - | - |")
        print(f"| {p} | {lo:.2f} | {re_:.2f} | {b / 2**20:.1f} | {h / 2**20:.2f} | {n} | {k} | "
              f"{'yes' if re_ < TARGET_SECONDS else 'no'} |" + tail)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
