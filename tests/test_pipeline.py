"""Tests for qwemlib.pipeline: corpus_statistics, its co-occurrence cache and its file layout."""

import numpy as np
import pytest

from qwemlib import config, stats
from qwemlib.corpus import cache_root
from qwemlib.pipeline import CorpusStatistics, cooccurrence_cache_path, corpus_statistics


@pytest.fixture()
def small(tmp_path, monkeypatch):
    """A quick preset (V = 300 on the first ~60k tokens) with its own empty cache."""
    monkeypatch.setenv("QWEM_CACHE_DIR", str(tmp_path))
    return config.preset("ci", vocab=300, max_tokens=60_000)


def test_cache_layout_is_unchanged(small):
    """Caches written before the move to qwemlib.pipeline are still found (same key, same name)."""
    path = cooccurrence_cache_path(small)
    root = cache_root(small.corpus, min_article_tokens=small.min_article_tokens,
                      max_tokens=small.max_tokens)
    assert path == root / "cooc-V300-L16-word2vec.npz"
    assert root.parent.name == "corpus" and len(root.name) == 20
    assert cooccurrence_cache_path(small, "uniform").name == "cooc-V300-L16-uniform.npz"
    st = corpus_statistics(small)
    assert path.exists() and (root / "ids-V300.npz").exists()  # beside the token ids
    assert len(st.corpus.vocab) == 300


def test_cached_statistics_equal_fresh_ones(small):
    first = corpus_statistics(small)
    again = corpus_statistics(small)  # counts read back from the cache
    fresh = corpus_statistics(small, cache=False)
    for st in (again, fresh):
        assert isinstance(st, CorpusStatistics)
        assert np.array_equal(st.cooc.counts, first.cooc.counts)
        assert np.array_equal(st.cooc.unigram, first.cooc.unigram)
        assert (st.cooc.n_tokens, st.cooc.window, st.cooc.weighting, st.cooc.scale) == (
            first.cooc.n_tokens, first.cooc.window, first.cooc.weighting, first.cooc.scale)
        assert np.array_equal(st.M, first.M)
    assert first.words == first.corpus.vocab.words
    assert np.array_equal(first.M, stats.target_matrix(first.P_ij, first.P_i))


def test_damaged_cooccurrence_cache_is_recounted(small):
    first = corpus_statistics(small)
    path = cooccurrence_cache_path(small)
    path.write_bytes(b"not a zip file")
    with pytest.warns(UserWarning, match="co-occurrence cache file .* is damaged"):
        again = corpus_statistics(small)
    assert np.array_equal(again.cooc.counts, first.cooc.counts)
    assert path.exists() and path.stat().st_size > 100  # rewritten
    assert not list(path.parent.glob("*.tmp"))  # the atomic write left nothing behind


def test_uniform_weighting_has_its_own_file(small):
    w2v = corpus_statistics(small)
    uni = corpus_statistics(small, weighting="uniform")
    assert cooccurrence_cache_path(small, "uniform").exists()
    assert uni.cooc.weighting == "uniform" and not np.array_equal(uni.P_ij, w2v.P_ij)


def test_preset_by_name_or_from_qwem_scale(monkeypatch):
    monkeypatch.setenv("QWEM_SCALE", "ci")
    assert cooccurrence_cache_path() == cooccurrence_cache_path("ci")
    assert cooccurrence_cache_path("ci") == cooccurrence_cache_path(config.preset("ci"))
    with pytest.raises(ValueError, match="unknown preset"):
        cooccurrence_cache_path("no-such-preset")


def test_ci_statistics(ci_stats):
    assert ci_stats.preset.name == "ci" and ci_stats.M.shape == (2000, 2000)


def test_cooccurrence_cache_carries_its_key(small):
    import json

    from qwemlib.corpus import cache_key

    corpus_statistics(small)
    meta = json.loads(str(np.load(cooccurrence_cache_path(small))["meta"]))
    assert meta["key"] == {**cache_key(small.corpus, max_tokens=small.max_tokens), "V": 300,
                           "window": 16, "weighting": "word2vec"}
