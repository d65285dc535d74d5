"""Browser test: book/04_stepwise.md runs in JupyterLab and its live sliders redraw the figure.

Starts a JupyterLab server on 127.0.0.1 (free port, random token) in a temporary
folder holding a copy of ``book/04_stepwise.md``, configured by the repository's
Binder ``postBuild`` (jupytext's notebook view is the default viewer for markdown), and
opens ``lab/tree/book/04_stepwise.md``: the path the book's Binder button asks for. In
headless Debian Chromium through Playwright it runs all cells, moves the live ``σ``
slider with the keyboard and checks that the plotly figure of the live widget is
redrawn (the SVG path of its first trace changes). A screenshot goes to
``_build/screenshots/jupyterlab-stepwise.png``.

Skipped when ``/usr/bin/chromium`` or the ``playwright`` package is missing
(``apt-get install -y chromium``; ``pip install playwright``; no browser download is
needed). Runs with ``QWEM_SCALE=ci`` so the chapter takes about a minute.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHAPTER = ROOT / "book" / "04_stepwise.md"
URLPATH = "lab/tree/book/04_stepwise.md"   # as in the Binder button: ?urlpath=lab/tree/<path>
SCREENSHOT = ROOT / "_build" / "screenshots" / "jupyterlab-stepwise.png"

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab_server(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    # a copy, so that JupyterLab's autosave cannot touch the repository's chapter
    (tmp_path / "book").mkdir()
    shutil.copy(CHAPTER, tmp_path / URLPATH.removeprefix("lab/tree/"))
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, QWEM_SCALE=os.environ.get("QWEM_SCALE", "ci"),
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter_config"),
               PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    # Binder's postBuild, run here the same way: markdown opens as a jupytext notebook
    subprocess.run(["bash", str(ROOT / "postBuild")], cwd=tmp_path, env=env, check=True,
                   capture_output=True)
    env.pop("PLOTLY_RENDERER", None)          # JupyterLab: plotly's default mime renderer
    env.pop("QWEM_BOOK_BUILD", None)
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    log.flush()
                    lab_log = (tmp_path / "lab.log").read_text()[-3000:]
                    raise RuntimeError("JupyterLab did not start:\n" + lab_log) from None
                time.sleep(0.5)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(tmp_path / "jupyter_config", ignore_errors=True)


def _first_path(page) -> str | None:
    """The SVG path of the first line trace in the live widget's plotly figure."""
    loc = page.locator(".widget-vbox .js-plotly-plot .scatterlayer path.js-line")
    if loc.count() == 0:
        return None
    return loc.first.get_attribute("d")


def test_stepwise_live_slider_redraws(lab_server, browser):
    base, token = lab_server
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    shot_taken = False
    try:
        page.goto(f"{base}/{URLPATH}?token={token}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
        # the kernel is up when the status bar says "Idle"; then Run > Run All Cells
        page.wait_for_selector(".jp-StatusBar-Item:has-text('Idle')", timeout=180_000)
        for _attempt in range(3):
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            try:                               # a cell got queued or ran: [*] or [1]
                page.wait_for_selector(".jp-InputPrompt:has-text('[*]'), .jp-InputPrompt:has-text('[1]')",
                                       timeout=30_000)
                break
            except Exception:
                page.keyboard.press("Escape")
        else:
            raise AssertionError("Run All Cells did not start the notebook")

        # all cells done: the live widget's figure is drawn and no prompt shows [*]
        page.wait_for_selector(".widget-vbox .js-plotly-plot .scatterlayer path.js-line", timeout=420_000)
        deadline = time.time() + 420
        while page.locator(".jp-InputPrompt", has_text="[*]").count() > 0:
            assert time.time() < deadline, "cells still running after 7 minutes"
            time.sleep(1)
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                              has_text="Traceback")
        assert errors.count() == 0, errors.first.inner_text()[:2000]
        assert page.locator(".jp-RenderedText", has_text="check passed").count() >= 1, \
            "the check cell did not report success"

        before = _first_path(page)
        assert before, "no trace drawn in the live figure"
        widget = page.locator(".widget-vbox").filter(has=page.locator(".js-plotly-plot")).last
        widget.scroll_into_view_if_needed()
        handle = widget.locator(".widget-slider .noUi-handle").first
        handle.focus()
        page.keyboard.press("ArrowRight")       # sigma: 1e-5 -> 10^-4.5 (one step of 0.5 in log10)
        readout = widget.locator(".widget-readout").first
        deadline = time.time() + 180
        after = before
        while after == before and time.time() < deadline:
            time.sleep(1)
            after = _first_path(page)
        try:                                    # let the redraw finish before the screenshot
            page.wait_for_selector(".jp-StatusBar-Item:has-text('Idle')", timeout=60_000)
            page.get_by_role("button", name="No").click(timeout=2_000)   # the "Jupyter news" toast
        except Exception:
            pass
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        widget.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOT))
        shot_taken = True
        assert after and after != before, (
            f"moving the σ slider (readout now {readout.inner_text()!r}) did not redraw the figure"
        )
    finally:
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        if not shot_taken:                     # keep the evidence of a failure
            page.screenshot(path=str(SCREENSHOT.with_name("jupyterlab-stepwise-failed.png")), full_page=True)
        ctx.close()
