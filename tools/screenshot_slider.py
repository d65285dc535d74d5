"""Load book/04's sigma x d slider page from a local server, time it, and screenshot the figure.

``python tools/screenshot_slider.py [--site _build/html] [--page book/04_stepwise.html] [--d 20]``

Serves ``--site`` (a built book: ``tools/build_book.py``) with ``python -m http.server``
on 127.0.0.1 (a separate process), opens ``--page`` in Debian's Chromium driven by
Playwright (the browser the tests use: ``tests/conftest.py``), and prints

* the page's size (its HTML, and every byte the browser fetched for it);
* the load time: from navigation start to the ``load`` event, and to the moment the
  slider figure (the plotly figure with a slider and buttons) has drawn its panels; and
  the CPU seconds all of Chromium's processes spent meanwhile (``psutil``), which on a
  shared, loaded machine says more about an idle machine's wall time than the wall time;

(each the median of ``--repeat`` cold loads, with the main thread's busy time from the
DevTools protocol, which a loaded machine stretches less than the wall time); then it
clicks the ``d = <d>`` button (the slider stays at its middle value) and saves the figure
alone as ``_build/screenshots/04_stepwise__slider_d<d>.png``. It also reads the page's own
frames for that button: in every sigma frame the rank staircases (flow and eq. 13) must
rise one mode at a time to ``d`` (no two steps merged by the grid). Exit status 1 if the
page or the figure is missing or a staircase jumps. Used for issue 15.5 (the slider a reader learns from).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("QWEM_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]
FIGURE = ".js-plotly-plot:has(.slider-container):has(.updatemenu-container)"
# In the page's own data: for every sigma frame of the d button, the flow's and eq. 13's
# rank staircases (traces named "rank, ...") on the shared grid: largest jump, final rank.
STEPS_PROBE = """(gd, d) => {
  const kinds = {i1: Int8Array, u1: Uint8Array, i2: Int16Array, i4: Int32Array, f4: Float32Array,
                 f8: Float64Array};
  const values = y => {   // frames keep plotly's base64 arrays ({dtype, bdata}) until played
    if (!y || !y.bdata) return Array.from(y || []);
    const bytes = Uint8Array.from(atob(y.bdata), c => c.charCodeAt(0));
    return Array.from(new kinds[y.dtype](bytes.buffer));
  };
  const b = gd.layout.updatemenus[0].buttons.findIndex(x => x.label === 'd = ' + d);
  const names = gd.data.map(t => t.name);
  const out = [];
  for (const f of gd._transitionData._frames.filter(f => f.name.startsWith(b + '-'))) {
    const row = {frame: f.name};
    for (const who of ['flow', 'eq. 13']) {
      const y = values(f.data[names.indexOf('rank, ' + who)].y);
      let jump = 0;
      for (let i = 1; i < y.length; i++) jump = Math.max(jump, y[i] - y[i - 1]);
      row[who] = {jump, last: y[y.length - 1]};
    }
    out.push(row);
  }
  return out;
}"""


def _browser_cpu() -> dict[int, float]:
    """CPU seconds (user + system) so far of every Chromium process this script started."""
    try:
        import psutil
    except ImportError:
        return {}
    out = {}
    for p in psutil.Process().children(recursive=True):
        try:
            if "chrom" in p.name().lower():
                t = p.cpu_times()
                out[p.pid] = t.user + t.system
        except psutil.Error:
            pass
    return out


def _serve(site: Path) -> tuple[subprocess.Popen, int]:
    """``python -m http.server`` on a free 127.0.0.1 port serving ``site``; waits until it answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                             "--directory", str(site)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"python -m http.server did not start on port {port}")


def _load(browser, url: str) -> dict:
    """One cold load (fresh context, empty cache): wall times, main-thread work, bytes fetched."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = ctx.new_page()
    fetched: list[int] = []
    page.on("response", lambda r: fetched.append(len(r.body()) if r.ok else 0))
    cdp = ctx.new_cdp_session(page)
    cdp.send("Performance.enable")
    cpu0 = _browser_cpu()
    t0 = time.perf_counter()
    page.goto(url, wait_until="load")
    t_load = time.perf_counter() - t0
    page.wait_for_selector(f"{FIGURE} .main-svg", timeout=60_000)
    t_fig = time.perf_counter() - t0
    cpu1 = _browser_cpu()
    cpu = sum(v - cpu0.get(pid, 0.0) for pid, v in cpu1.items()) if cpu1 else float("nan")
    m = {x["name"]: x["value"] for x in cdp.send("Performance.getMetrics")["metrics"]}
    return dict(page=page, ctx=ctx, load=t_load, figure=t_fig, bytes=sum(fetched), n=len(fetched), cpu=cpu,
                task=m.get("TaskDuration", float("nan")), script=m.get("ScriptDuration", float("nan")))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", type=Path, default=ROOT / "_build" / "html",
                    help="built book (default: %(default)s)")
    ap.add_argument("--page", default="book/04_stepwise.html",
                    help="page under --site (default: %(default)s)")
    ap.add_argument("--d", type=int, default=20, help="the d button to press (default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=3, help="cold loads to time (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "screenshots",
                    help="screenshot folder (default: %(default)s)")
    args = ap.parse_args(argv)
    page_file = args.site / args.page
    if not page_file.exists():
        print(f"screenshot_slider: {page_file} is missing; build the book first "
              "(python tools/build_book.py --scale ci)", file=sys.stderr)
        return 1
    if not CHROMIUM.exists():
        print(f"screenshot_slider: {CHROMIUM} is missing (apt-get install chromium, or set QWEM_CHROMIUM)",
              file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    server, port = _serve(args.site)
    url = f"http://127.0.0.1:{port}/{args.page}"
    shot = args.out / f"{Path(args.page).stem}__slider_d{args.d}.png"
    runs = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
            for i in range(max(1, args.repeat)):
                r = _load(browser, url)
                runs.append(r)
                if i < args.repeat - 1:
                    r["ctx"].close()
            page = runs[-1]["page"]
            fig = page.locator(FIGURE).first
            if fig.count() == 0:
                print(f"screenshot_slider: no slider figure with buttons on {args.page}", file=sys.stderr)
                return 1
            fig.scroll_into_view_if_needed()
            fig.locator(".updatemenu-button", has_text=f"d = {args.d}").first.click()
            page.wait_for_timeout(500)
            shot.parent.mkdir(parents=True, exist_ok=True)
            fig.screenshot(path=str(shot))
            steps = fig.evaluate(STEPS_PROBE, args.d)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    med = {k: float(np.median([r[k] for r in runs])) for k in ("load", "figure", "task", "script", "cpu")}
    print(f"screenshot_slider: {args.page}: HTML {page_file.stat().st_size / 1e6:.2f} MB; "
          f"{runs[-1]['n']} responses, {runs[-1]['bytes'] / 1e6:.2f} MB fetched in all")
    print(f"screenshot_slider: median of {len(runs)} cold loads: load event {med['load']:.2f} s, "
          f"slider figure drawn {med['figure']:.2f} s; main-thread work {med['task']:.2f} s "
          f"(script {med['script']:.2f} s); Chromium CPU time {med['cpu']:.2f} s (all its processes, "
          f"stretched less than the wall time by other load); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    ok = bool(steps) and all(r[w]["jump"] == 1 and r[w]["last"] == args.d
                             for r in steps for w in ("flow", "eq. 13"))
    print(f"screenshot_slider: d = {args.d} in the page's data, {len(steps)} sigma frames: the rank rises "
          f"one mode at a time to {args.d} (flow and eq. 13): {ok}")
    print(f"screenshot_slider: saved {shot}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
