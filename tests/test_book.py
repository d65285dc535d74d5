"""Browser tests of the built book: every page loads offline, draws its figures and math.

The site in ``_build/html`` is reused when it is newer than every input (chapters,
``_config.yml``, ``_toc.yml``, ``qwemlib/**/*.py``, ``tools/*.py``, stored results);
otherwise it is built
with ``tools/build_book.py`` at ``QWEM_SCALE`` (default ``ci``). Set
``QWEM_BOOK_REUSE=1`` to test whatever is there. The site is served from 127.0.0.1 by a
local HTTP server and opened with Playwright driving Debian's Chromium
(``/usr/bin/chromium``; ``apt-get install chromium``; Playwright's own browser download
does not work here). For every page in ``_toc.yml`` (plus the index, search and general
index pages) the test asserts:

* no console errors and no uncaught page errors;
* no failed requests, no HTTP status >= 400, and no request to any host but 127.0.0.1;
* every plotly figure is drawn (``.js-plotly-plot .main-svg``), every trace of it with
  a module in the page's plotly.js bundle (the page loads the smallest partial bundle
  that holds its trace types, ``tools/qwem_sphinx.py``);
* every math element is typeset by MathJax (``mjx-container``);
* every internal link points to an existing file (and, with ``#anchor``, an existing id);
* no visible raw TeX: no text node outside ``<script>``, ``<code>``, code-cell inputs and
  MathJax's output holds ``$...\\command``, ``\\(``, ``\\[`` or an unrendered ``{math}``
  role or directive (a ``$`` that dollarmath did not pair is shown as typed);
* no figure or image (``img``, plotly div, ``svg``) in the page body that is laid out with
  zero width or height, and no ``img`` that did not load;
* no ``<pre>`` in the page body (code cells, their outputs, literal blocks) whose content
  is wider than the block (``scrollWidth > clientWidth``): a line that scrolls sideways.
  Chapter code stays within 88 characters (``tools/chapter_stats.py --check``), which is
  what a code block holds at the 1280-pixel viewport (``book/_static_offline/qwem.css``).

Each chapter's Binder button opens that chapter's own ``.md`` in JupyterLab, in the
repository the build was pointed at, and there is no Colab button (Colab cannot open
MyST markdown).

A full-page screenshot of each page is saved in ``_build/screenshots/``.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"


def _toc_pages() -> list[str]:
    """HTML paths of the pages listed in ``_toc.yml``, plus index, search and genindex."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("sync_notebooks", ROOT / "tools" / "sync_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return ["index.html"] + [f"{f}.html" for f in mod.toc_entries()] + ["search.html", "genindex.html"]


PAGES = _toc_pages()


def _inputs() -> list[Path]:
    pats = ["book/*.md", "book/*.bib", "book/_static_offline/*.css", "_config.yml", "_toc.yml",
            "qwemlib/**/*.py", "tools/*.py", "data/results/*/*"]
    return [p for pat in pats for p in ROOT.glob(pat)]


@pytest.fixture(scope="session")
def site() -> Path:
    """The built site, (re)built if it is missing or older than its inputs."""
    index = HTML / "index.html"
    fresh = index.exists() and index.stat().st_mtime >= max(p.stat().st_mtime for p in _inputs())
    if not (fresh or (index.exists() and os.environ.get("QWEM_BOOK_REUSE") == "1")):
        proc = subprocess.run([sys.executable, str(ROOT / "tools" / "build_book.py")], cwd=ROOT)
        assert proc.returncode == 0, "tools/build_book.py failed; see its output above"
    assert index.exists(), f"{index} missing after the build"
    return HTML


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="session")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def _ids(path: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', path.read_text(encoding="utf-8", errors="replace")))


# What a reader would see rendered wrongly (issue 15.4). Runs after MathJax and plotly
# are done; returns the offending raw-TeX texts, zero-size figures and over-wide <pre>s.
RENDER_PROBE = r"""() => {
  const visible = el => el.getClientRects().length > 0
      && getComputedStyle(el).visibility !== 'hidden';
  const tex = /\$[^$]*\\[A-Za-z]+|\\\(|\\\[|\{math\}/;
  const raw_tex = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const el = n.parentElement;
    if (!el || !tex.test(n.data)) continue;
    if (el.closest('script, style, textarea, noscript, code, mjx-container, .cell_input')) continue;
    if (el.closest('.highlight') && !el.closest('.cell_output')) continue;  // literal blocks
    if (!visible(el)) continue;
    const m = n.data.match(tex);
    raw_tex.push(n.data.slice(Math.max(0, m.index - 30), m.index + 60).replace(/\s+/g, ' '));
  }
  const body = document.querySelector('article.bd-article') || document.body;
  const zero_size = [];
  for (const el of body.querySelectorAll('img, .plotly-graph-div, svg')) {
    if (!el.getClientRects().length) continue;   // not laid out (display: none, closed <details>)
    const r = el.getBoundingClientRect();
    const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
        + (el.getAttribute('class') ? '.' + el.getAttribute('class').split(' ')[0] : '');
    if (r.width < 1 || r.height < 1) zero_size.push(`${name} ${r.width}x${r.height}`);
    else if (el.tagName === 'IMG' && !(el.complete && el.naturalWidth > 0))
      zero_size.push(`${name} not loaded (${el.getAttribute('src')})`);
  }
  const wide = [];
  for (const pre of body.querySelectorAll('pre')) {
    if (!visible(pre) || pre.scrollWidth <= pre.clientWidth) continue;
    const cs = getComputedStyle(pre);
    const probe = document.createElement('span');
    probe.style.font = cs.font;
    probe.style.whiteSpace = 'pre';
    probe.textContent = 'x'.repeat(100);
    pre.appendChild(probe);
    const ch = probe.getBoundingClientRect().width / 100;
    probe.remove();
    const room = pre.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    const lines = pre.textContent.split('\n').filter(l => l.length * ch > room);
    wide.push({where: pre.closest('.cell_output') ? 'output' : 'code',
               fits: Math.floor(room / ch), lines: lines.map(l => l.length),
               first: (lines[0] || '').slice(0, 100)});
  }
  return {raw_tex, zero_size, wide};
}"""


# Traces that plotly.js could not draw because the page's bundle lacks their module
# (tools/qwem_sphinx.py picks a partial bundle per page): plotly.js then turns the trace
# into a hidden scatter and draws the rest of the figure, so the axes are there and only
# the full trace's type, no longer the one asked for, says so.
TRACE_PROBE = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(
  gd => (gd._fullData || []).map(t => [(t._input && t._input.type) || 'scatter', t.type])
        .filter(([asked, got]) => asked !== got).map(([asked]) => `${gd.id}: ${asked}`))"""


def render_problems(page) -> dict:
    """Raw TeX, zero-size figures and over-wide ``<pre>`` blocks on a loaded, typeset page."""
    return page.evaluate(RENDER_PROBE)


@pytest.mark.parametrize("page_path", PAGES)
def test_page(page_path, site, server, browser):
    assert (site / page_path).exists(), f"{page_path} was not built (is it in _toc.yml?)"
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    console_errors, page_errors, failed, foreign, bad_status = [], [], [], [], []
    host = urlparse(server).netloc

    def on_console(msg):
        # Chromium probes /favicon.ico by itself on pages without an icon link (the
        # root redirect page); that 404 is not a request the page makes.
        if msg.type == "error" and not (msg.location or {}).get("url", "").endswith("/favicon.ico"):
            console_errors.append(f"{msg.text} [{(msg.location or {}).get('url', '')}]")

    page.on("console", on_console)
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))

    def on_request(req):
        u = urlparse(req.url)
        if u.scheme in ("http", "https", "ws", "wss") and u.netloc != host:
            foreign.append(req.url)

    page.on("request", on_request)
    page.on("response", lambda r: bad_status.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)

    page.goto(server + page_path, wait_until="load")
    page.wait_for_load_state("networkidle")

    # math: wait for MathJax to finish typesetting, then count its output
    n_math = page.locator("span.math, div.math").count()
    if n_math:
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                               timeout=30_000)
        page.evaluate("() => MathJax.startup.promise")
        n_typeset = page.locator("mjx-container").count()
        assert n_typeset >= n_math, f"{page_path}: {n_typeset} of {n_math} math elements typeset"
        leftover = page.locator("span.math:not(:has(mjx-container)), div.math:not(:has(mjx-container))")
        assert leftover.count() == 0, f"{page_path}: {leftover.count()} math elements not typeset"

    # plotly: every figure div is drawn
    n_plots = page.locator(".plotly-graph-div").count()
    if n_plots:
        page.wait_for_function(
            f"() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n_plots}",
            timeout=30_000,
        )
        drawn = page.locator(".js-plotly-plot").count()
        assert drawn == n_plots, f"{page_path}: {drawn} of {n_plots} plotly figures drawn"
        assert page.locator(".js-plotly-plot .main-svg .scatterlayer .trace, "
                            ".js-plotly-plot .main-svg .heatmaplayer image, "
                            ".js-plotly-plot canvas").count() > 0
        undrawn = page.evaluate(TRACE_PROBE)
        assert not undrawn, f"{page_path}: traces whose type the page's plotly.js lacks: {undrawn}"

    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / (page_path.replace("/", "__").removesuffix(".html") + ".png")
    page.screenshot(path=str(shot), full_page=True)
    problems = render_problems(page)

    # internal links resolve to files (and anchors) that exist
    page_url = page.url   # after any redirect (index.html -> book/intro.html)
    broken = []
    for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
        target = urlparse(urljoin(page_url, href))
        if target.scheme not in ("http", "https") or target.netloc != host:
            continue
        rel = unquote(target.path).lstrip("/") or "index.html"
        file = site / rel
        if file.is_dir():
            file = file / "index.html"
        if not file.exists():
            broken.append(href)
        elif target.fragment and file.suffix == ".html" and target.fragment not in _ids(file):
            broken.append(href)
    ctx.close()

    assert not page_errors, f"{page_path}: uncaught errors: {page_errors}"
    assert not console_errors, f"{page_path}: console errors: {console_errors}"
    assert not foreign, f"{page_path}: requests to other hosts: {foreign}"
    assert not failed, f"{page_path}: failed requests: {failed}"
    assert not bad_status, f"{page_path}: HTTP errors: {bad_status}"
    assert not broken, f"{page_path}: broken internal links: {sorted(set(broken))}"
    assert not problems["raw_tex"], f"{page_path}: raw TeX shown as text: {problems['raw_tex']}"
    assert not problems["zero_size"], f"{page_path}: figures of zero size: {problems['zero_size']}"
    wide = problems["wide"]
    assert not wide, (f"{page_path}: {len(wide)} blocks with {sum(len(w['lines']) for w in wide)} "
                      f"lines wider than the block: {wide}")


def test_render_probe_catches_each_fault(browser):
    """The raw-TeX, zero-size and overflow checks fail on a page with each fault, and stay
    quiet on the same content rendered right (TeX in <code>, a code cell's input or
    MathJax's output; a figure with a size; a line that fits)."""
    bad = r"""<article class="bd-article" style="width: 400px">
      <p>eq. 3 is exactly $\frac14\lVert W\rVert^2</p><ul><li>2\sum_{ij} x$.</li></ul>
      <p>inline \(x\) left as typed</p><p>display \[y\] left as typed</p>
      <p>a role {math}`z` not parsed</p>
      <p>fine: <code>$\alpha$</code>, <mjx-container>$\beta$</mjx-container>, 5 $ and $ 6</p>
      <div class="cell_input"><div class="highlight"><pre>t = "$\lambda$"</pre></div></div>
      <div class="plotly-graph-div" style="width: 100%; height: 0"></div>
      <svg width="0" height="20"></svg><svg width="40" height="20"></svg>
      <img alt="missing figure" src="missing.png">
      <div class="cell_output"><pre style="overflow: auto">short
""" + "x" * 200 + """
</pre></div>
      <pre style="overflow: auto">fits</pre>
    </article>"""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.set_content(bad)
    found = render_problems(page)
    ctx.close()
    # the $ pair split by a list, \(, \[, {math}; not the TeX in <code>, MathJax or a cell
    assert len(found["raw_tex"]) == 4, found["raw_tex"]
    assert all(t.count("\\") or "{math}" in t for t in found["raw_tex"])
    assert len(found["zero_size"]) == 3, found["zero_size"]  # plotly div, svg, img not loaded
    assert [w["where"] for w in found["wide"]] == ["output"], found["wide"]
    assert found["wide"][0]["lines"] == [200] and found["wide"][0]["fits"] < 200


def test_trace_probe_catches_a_bundle_without_the_trace(site, server, browser):
    """A heatmap under plotly's basic bundle (bar, pie, scatter) is named by the probe;
    under the cartesian bundle, which the book gives such a page, it is drawn."""
    found = {}
    for bundle in ("plotly-basic.min.js", "plotly-cartesian.min.js"):
        ctx = browser.new_context()
        page = ctx.new_page()
        page.goto(server + "search.html", wait_until="load")
        page.add_script_tag(url=server + "_static/vendor/plotly/" + bundle)
        page.evaluate("""() => { const d = document.createElement('div'); d.id = 'probe';
          document.body.appendChild(d);
          return Plotly.newPlot(d, [{type: 'heatmap', z: [[1, 2], [3, 4]]},
                                    {type: 'scatter', y: [1, 2]}]); }""")
        found[bundle] = page.evaluate(TRACE_PROBE)
        ctx.close()
    assert found == {"plotly-basic.min.js": ["probe: heatmap"], "plotly-cartesian.min.js": []}


def test_math_and_plotly_share_a_page(site, server, browser):
    """The JB1 pitfall: require.js, MathJax and plotly.js must all work on one page."""
    ctx = browser.new_context()
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "book/01_word2vec_pmi.html", wait_until="load")
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("() => MathJax.startup.promise")
    assert page.locator("mjx-container").count() > 0
    assert page.evaluate("() => typeof window.Plotly === 'object' && !!window.Plotly.newPlot")
    # plotly.js must not have been swallowed by an AMD loader
    n = page.locator(".plotly-graph-div").count()
    assert n > 0 and page.locator(".js-plotly-plot .main-svg").count() >= n
    # and a late require.js (as on a widget page) still finds a working Plotly global
    page.add_script_tag(url=server + "_static/vendor/requirejs/require.js")
    assert page.evaluate("() => typeof window.require === 'function' && !!window.Plotly")
    ctx.close()
    assert not errors, errors


# Pages whose precomputed (kernel-free) plotly sliders must switch figures.
SLIDER_PAGES = ["book/04_stepwise.html"]


@pytest.mark.parametrize("page_path", SLIDER_PAGES)
def test_precomputed_slider_changes_figure(page_path, site, server, browser):
    """Click each slider's rail on a page: the active step and the drawn data change.

    Saves ``_build/screenshots/<page>__slider_moved.png`` with the slider moved.
    """
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + page_path, wait_until="load")
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
    # plotly figures that carry a slider (precomputed frames)
    n = page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot'))
        .filter(gd => gd.layout && gd.layout.sliders && gd.layout.sliders.length).length""")
    assert n > 0, f"{page_path}: no plotly figure with a slider"
    state = """(i) => {
        const gd = Array.from(document.querySelectorAll('.js-plotly-plot'))
            .filter(gd => gd.layout && gd.layout.sliders && gd.layout.sliders.length)[i];
        return {active: gd._fullLayout.sliders[0].active,
                steps: gd._fullLayout.sliders[0].steps.length,
                data: JSON.stringify(gd.data.map(t => [t.x, t.y, t.z]))};
    }"""
    for i in range(n):
        before = page.evaluate(state, i)
        assert before["steps"] > 1, f"{page_path}: slider {i} has {before['steps']} step(s)"
        rail = page.locator(".js-plotly-plot:has(.slider-container)").nth(i).locator(
            "rect.slider-rail-touch-rect").first
        rail.scroll_into_view_if_needed()
        box = rail.bounding_box()
        assert box, f"{page_path}: slider {i} rail is not drawn"
        # click the step farthest from the active one
        frac = 0.97 if before["active"] < before["steps"] / 2 else 0.03
        page.mouse.click(box["x"] + frac * box["width"], box["y"] + box["height"] / 2)
        page.wait_for_function(
            f"(b) => ({state})({i}).active !== b.active && ({state})({i}).data !== b.data",
            arg=before, timeout=15_000)
        after = page.evaluate(state, i)
        assert after["active"] != before["active"] and after["data"] != before["data"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / (page_path.replace("/", "__").removesuffix(".html")
                                      + "__slider_moved.png")), full_page=True)
    ctx.close()
    assert not errors, f"{page_path}: uncaught errors: {errors}"


def _expected_repository() -> tuple[str, str]:
    """The repository and branch the build points the buttons at (see build_book.repository)."""
    import yaml

    sys.path.insert(0, str(ROOT / "tools"))
    import build_book

    conf = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    url = build_book.repository(None)[0] or conf["url"]
    return url.rstrip("/"), os.environ.get("QWEM_REPO_BRANCH") or conf.get("branch", "main")


CHAPTERS = [p for p in PAGES if p.startswith("book/")]


@pytest.mark.parametrize("page_path", CHAPTERS)
def test_launch_buttons_open_the_chapter(page_path, site):
    """Binder opens this chapter's own source in JupyterLab (pages without code have no
    launch button); no button leads to a file its service cannot open (Colab opens only
    .ipynb, the chapters are MyST markdown)."""
    html = (site / page_path).read_text(encoding="utf-8")
    source = page_path.removesuffix(".html") + ".md"
    assert (ROOT / source).exists(), source
    repo, branch = _expected_repository()
    org_repo = urlparse(repo).path.strip("/")
    binder = re.findall(r'href="(https://mybinder\.org/[^"]+)"', html)
    is_notebook = "kernelspec:" in (ROOT / source).read_text(encoding="utf-8").split("\n---", 1)[0]
    expected = [f"https://mybinder.org/v2/gh/{org_repo}/{branch}?urlpath=lab/tree/{source}"]
    assert binder == (expected if is_notebook else []), binder     # text-only pages: no button
    assert "colab.research.google.com" not in html
    assert f'href="{repo}"' in html, f"{page_path}: no repository button for {repo}"
    # the environment Binder builds and the scripts it runs: conda env, then postBuild, start
    for f in ("environment.yml", "postBuild", "start"):
        assert (ROOT / f).exists(), f
