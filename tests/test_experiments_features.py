"""qwemlib.experiments._features: feature summaries from embeddings, from features.npz, and mixed."""

from __future__ import annotations

import numpy as np
import pytest

from qwemlib import evaluate, experiments
from qwemlib.embeddings import Embeddings
from qwemlib.experiments import FeatureSummary


def _embeddings(V=60, d=12, seed=0):
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(V)]
    base = rng.normal(size=(V, d))
    return {"a": Embeddings(words, base), "b": Embeddings(words, base + 0.1 * rng.normal(size=(V, d))),
            "c": Embeddings(words, rng.normal(size=(V, d)).astype(np.float32))}


def test_feature_summary_matches_evaluate_and_reads_back():
    embs, d = _embeddings(), 12
    live = FeatureSummary.from_embeddings(embs, d)
    # float64 embeddings (the chapter's): the same numbers as evaluate.component_overlap; float32
    # ones ("c", like gensim's at local) are lifted to float64 first, as features.npz was made
    np.testing.assert_array_equal(live.overlap("a", "b"), evaluate.component_overlap(embs["a"], embs["b"], d))
    np.testing.assert_allclose(live.overlap("a", "c"), evaluate.component_overlap(embs["a"], embs["c"], d),
                               atol=1e-5)
    assert live.top_words("b") == [c.words for c in evaluate.top_words_per_component(embs["b"], k=d, topn=6)]
    z = experiments.feature_summary(embs, d, log=lambda *a: None)
    assert list(z["subspace_k"]) == [5, 10, 12] and str(z["models"][2]) == "c"
    stored = FeatureSummary.from_stored(z)
    assert stored.models == ["a", "b", "c"] and stored.source == "stored overlaps"
    assert stored.top_words("c") == live.top_words("c")
    np.testing.assert_allclose(stored.overlap("c", "a"), live.overlap("c", "a"), atol=1e-6)  # transposed
    for k in (5, 10, 12):
        assert stored.subspace("b", "a", k) == live.subspace("a", "b", k)
    assert live.subspace("a", "b", 10) > live.subspace("a", "c", 10)


def test_stored_plus_embeddings_computes_what_it_can_and_says_what_it_cannot():
    embs, d = _embeddings(), 12
    z = experiments.feature_summary({k: embs[k] for k in ("a", "b")}, d, log=lambda *a: None)
    rng = np.random.default_rng(5)
    y = Embeddings(embs["c"].words, embs["c"].vectors + 0.1 * rng.normal(size=(60, d)))
    extra = {"x": embs["c"], "y": y, "a": embs["c"]}                 # "a" is stored: not replaced
    mixed = FeatureSummary.from_stored(z, extra)
    assert mixed.models == ["a", "b", "x", "y"] and "x, y from stored embeddings" in mixed.source
    assert mixed.has_pair("a", "b") and mixed.has_pair("y", "x") and not mixed.has_pair("a", "x")
    assert mixed.subspace("a", "b", 10) == FeatureSummary.from_stored(z).subspace("a", "b", 10)
    assert mixed.subspace("x", "y", 10) == FeatureSummary.from_embeddings(extra, d).subspace("x", "y", 10)
    with pytest.raises(KeyError, match="rerun tools/make_results.py"):
        mixed.subspace("a", "x", 10)
    sub = experiments.subspace_table(mixed, ["a", "b", "x", "y"])
    assert list(sub.index) == ["a | b", "x | y"]                     # unavailable pairs left out
    assert list(experiments.component_table(mixed, "x", ["x", "y", "a"]).columns) == ["x", "y"]


def test_component_and_subspace_tables():
    embs = _embeddings()
    feats = FeatureSummary.from_embeddings(embs, 12)
    t = experiments.component_table(feats, "a", ["a", "b", "zzz"])
    assert list(t.columns) == ["a", "b"] and len(t) == len(experiments.shown_components(12))
    assert t.loc["w2v component 1", "b"].startswith("[1] ")          # b is a small perturbation of a
    sub = experiments.subspace_table(feats, ["a", "b", "c"])
    assert list(sub.columns) == ["top-5", "top-10", "top-12"]
    assert list(sub.index) == ["a | b", "a | c", "b | c"]
    empty = FeatureSummary.empty(12)
    assert not empty and experiments.component_table(empty, "a", ["a"]).empty
