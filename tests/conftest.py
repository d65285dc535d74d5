"""Shared test configuration: an isolated cache directory per test session, one browser."""

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Keep the tests' corpus caches out of the user's ~/.cache (CI sets QWEM_CACHE_DIR)."""
    if "QWEM_CACHE_DIR" not in os.environ:
        os.environ["QWEM_CACHE_DIR"] = str(tmp_path_factory.mktemp("qwem-cache"))
    os.environ.setdefault("QWEM_OFFLINE", "1")
    yield


@pytest.fixture(scope="session")
def ci_stats():
    """Corpus statistics of the ci preset (V = 2,000 on the 0.8 M-token slice)."""
    from qwemlib.pipeline import corpus_statistics

    return corpus_statistics("ci")


CHROMIUM = Path(os.environ.get("QWEM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright, one per session.

    Shared by tests/test_book.py and tests/test_jupyterlab.py: Playwright's sync API
    cannot start a second instance while one is running in the same process.
    """
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y "
                    "chromium; .ci/run does this) to run the browser tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
