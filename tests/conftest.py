"""Shared test configuration: an isolated cache directory per test session."""

import os

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
    from qwemlib import stats

    return stats.corpus_statistics("ci")
