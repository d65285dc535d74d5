"""Sphinx glue for the QWEM book (loaded from ``_config.yml`` as a local extension).

Five jobs, the first two about keeping the built book self-contained:

1. Pages that contain a plotly figure get a vendored plotly.js in their ``<head>``,
   *before* require.js (priority 200 < 500). plotly.js is a UMD bundle: loaded after
   require.js it registers an anonymous AMD module instead of ``window.Plotly`` and
   every figure on the page stays blank (the JB1 pitfall). The figures themselves are
   emitted by :func:`qwemlib.plots.use_book_renderer` without any plotly.js or MathJax
   of their own, each div naming its trace types (``data-qwem-traces``), and the page
   gets the smallest of plotly's official partial bundles that holds every trace type
   on it (:func:`plotly_bundle`): the full ``plotly.min.js`` is 4.6 MiB and alone takes
   longer than the 2 s a page may take to load (issue 15, ``bench/bench_pages.py``),
   the cartesian bundle 1.4 MiB. A figure div without the attribute (an output
   executed before it existed) gets the full bundle.
2. After the build, every HTML page is scanned for ``src=``/``href=`` attributes that
   load a script, stylesheet, font or image from another host; each one is a warning,
   which ``-W`` turns into a failed build. Hyperlinks (``<a href>``) are fine.
3. ``QWEM_REPO_URL`` and ``QWEM_REPO_BRANCH``, when set, replace ``repository.url`` and
   ``repository.branch`` of ``_config.yml``: the repository button and the Binder launch
   button of every chapter point there. ``tools/build_book.py`` sets the URL from
   ``--repo-url`` or from the checkout's ``origin`` remote, so a fork builds a book
   whose buttons open the fork.
4. :func:`patch_kernel_channel_polling` makes the kernel client that executes the
   chapters (nbclient, through myst-nb and jupyter-cache, in this process) wait for a
   kernel message in slices of at most ``POLL_SLICE`` seconds instead of one wait as long
   as the cell timeout. nbclient waits for a cell's ``execute_reply`` with one
   ``zmq.asyncio`` poll as long as the cell timeout; that poll watches an edge-triggered
   file descriptor, and when its wake-up is missed (pyzmq issues #1558 and #2173
   describe the same symptom: the event is returned only when the timeout expires) the
   reply that did arrive sits unread until the timeout, and the build resumes with no
   error. Each slice ends with a plain ``zmq_poll``, which sees the message, so a missed
   wake-up costs at most one slice. nbval uses the blocking client and is not affected.
5. The per-cell timeout follows the preset: ``execute.timeout`` of ``_config.yml`` (300 s)
   at ``ci`` and ``hub``, where every cell takes under a minute, so that a hung cell fails
   CI fast; ``LONG_TIMEOUT`` at ``local`` and ``full``, where a cell may take minutes
   (the dense eigendecomposition of chapter 2, chapter 5's live SGD runs when no stored
   ones exist). ``$QWEM_CELL_TIMEOUT`` (seconds) overrides both.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from qwemlib.plots import TRACES_ATTR

PLOTLY_JS = "vendor/plotly/plotly.min.js"   # every trace type
#: plotly.js 3.7.0's official partial bundles, smallest first: (file, trace modules);
#: the lists are those of each package's README (plotly.js-<name>-dist-min).
PLOTLY_BUNDLES = (
    ("vendor/plotly/plotly-basic.min.js", frozenset({"bar", "pie", "scatter"})),
    ("vendor/plotly/plotly-cartesian.min.js", frozenset({
        "bar", "box", "contour", "heatmap", "histogram", "histogram2d",
        "histogram2dcontour", "image", "pie", "scatter", "scatterternary", "violin"})),
    ("vendor/plotly/plotly-gl2d.min.js", frozenset({"parcoords", "scatter", "scattergl", "splom"})),
    ("vendor/plotly/plotly-gl3d.min.js", frozenset({
        "cone", "isosurface", "mesh3d", "scatter", "scatter3d", "streamtube", "surface",
        "volume"})),
)
_TRACES = re.compile(rf'class="plotly-graph-div" {TRACES_ATTR}="([^"]*)"')
POLL_SLICE = 1.0   # seconds; see patch_kernel_channel_polling
LONG_TIMEOUT = 3600   # seconds per cell at the local and full presets

# <script src=...>, <link href=...> (stylesheets, preloads, icons), <img src=...>, url(...)
_EXTERNAL = re.compile(
    r"""<(?:script|img|iframe|source)\b[^>]*\bsrc\s*=\s*["'](?P<src>(?:https?:)?//[^"']+)["']"""
    r"""|<link\b[^>]*\bhref\s*=\s*["'](?P<href>(?:https?:)?//[^"']+)["']""",
    re.IGNORECASE,
)


def plotly_bundle(body: str) -> str | None:
    """The plotly.js file a page's HTML ``body`` needs: ``None`` without a figure, the
    smallest partial bundle of :data:`PLOTLY_BUNDLES` holding every trace type that its
    figure divs name, else (a type in no partial bundle, or a figure whose div names none,
    e.g. one written by another renderer) the full bundle."""
    n_figures = body.count("plotly-graph-div")
    if not n_figures:
        return None
    named = _TRACES.findall(body)
    if len(named) < n_figures:
        return PLOTLY_JS
    types = {t for attr in named for t in attr.split()}
    for path, modules in PLOTLY_BUNDLES:
        if types <= modules:
            return path
    return PLOTLY_JS


def _add_plotly(app, pagename, templatename, context, doctree):
    bundle = plotly_bundle(context.get("body", "") if context else "")
    if bundle:
        app.add_js_file(bundle, priority=200)


def _drop_thebe(app, pagename, templatename, context, doctree):
    """Remove sphinx-thebe's scripts when thebe is off.

    Jupyter Book always loads sphinx-thebe; its inline ``const THEBE_JS_URL = ...``
    is added once per read pass, so a rebuild that re-reads documents (myst-nb's
    execution table does) declares the constant twice and the page throws a
    SyntaxError. Thebe itself would load from unpkg.com, which an offline book
    cannot use, so with ``launch_buttons.thebe: false`` the scripts go.
    """
    if app.config.html_theme_options.get("launch_buttons", {}).get("thebe", False):
        return
    scripts = context.get("script_files") if context else None
    if not scripts:
        return
    keep = [
        js for js in scripts
        if "THEBE_JS_URL" not in str(getattr(js, "attributes", {}).get("body", ""))
        and not str(getattr(js, "filename", js) or "").endswith("sphinx-thebe.js")
    ]
    scripts[:] = keep


def _check_offline(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    from sphinx.util import logging

    log = logging.getLogger(__name__)
    out = Path(app.outdir)
    for page in sorted(out.rglob("*.html")):
        text = page.read_text(encoding="utf-8", errors="replace")
        for m in _EXTERNAL.finditer(text):
            url = m.group("src") or m.group("href")
            tag = m.group(0)
            # <link rel="canonical"/"alternate"> and similar metadata load nothing.
            if tag.lower().startswith("<link") and not re.search(
                r"""rel\s*=\s*["'](?:stylesheet|preload|modulepreload|icon|shortcut icon)["']""",
                tag,
                re.IGNORECASE,
            ):
                continue
            log.warning(
                "%s loads %s from another host; vendor it (package.json, "
                "tools/vendor_assets.py) so the book works offline",
                page.relative_to(out),
                url,
                type="qwem",
                subtype="offline",
            )


def _repository_from_env(app, config):
    opts = config.html_theme_options
    url = os.environ.get("QWEM_REPO_URL", "").strip().rstrip("/")
    branch = os.environ.get("QWEM_REPO_BRANCH", "").strip()
    if url:
        opts["repository_url"] = url
    if branch:
        opts["repository_branch"] = branch


def patch_kernel_channel_polling(slice_s: float = POLL_SLICE) -> None:
    """Make ``AsyncZMQSocketChannel.get_msg`` poll in slices of at most ``slice_s``.

    Same contract as the original (return the next message, raise ``queue.Empty`` once
    ``timeout`` seconds pass without one, wait forever for ``timeout=None``); only the
    longest time a missed asyncio wake-up can hide a waiting message changes, from the
    whole timeout to ``slice_s``. Idempotent.
    """
    import time
    from queue import Empty

    from jupyter_client.channels import AsyncZMQSocketChannel

    if getattr(AsyncZMQSocketChannel.get_msg, "_qwem_sliced", False):
        return

    async def get_msg(self, timeout: float | None = None):
        assert self.socket is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            wait = slice_s if left is None else min(slice_s, left)
            if await self.socket.poll(int(wait * 1000)):
                return await self._recv()
            if left is not None and left <= slice_s:
                raise Empty

    get_msg._qwem_sliced = True
    get_msg.__doc__ = AsyncZMQSocketChannel.get_msg.__doc__
    AsyncZMQSocketChannel.get_msg = get_msg


def _timeout_for_preset(app, config):
    override = os.environ.get("QWEM_CELL_TIMEOUT", "").strip()
    if override:
        if not override.isdigit() or int(override) == 0:
            raise ValueError(f"QWEM_CELL_TIMEOUT={override!r}: give the per-cell timeout as a "
                             "positive whole number of seconds, e.g. QWEM_CELL_TIMEOUT=1800")
        config.nb_execution_timeout = int(override)
    elif os.environ.get("QWEM_SCALE", "ci").strip() in ("local", "full"):
        config.nb_execution_timeout = max(int(config.nb_execution_timeout or 0), LONG_TIMEOUT)


def setup(app):
    patch_kernel_channel_polling()
    app.connect("config-inited", _repository_from_env)
    app.connect("config-inited", _timeout_for_preset)
    app.connect("html-page-context", _add_plotly)
    app.connect("html-page-context", _drop_thebe, priority=900)
    app.connect("build-finished", _check_offline)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
