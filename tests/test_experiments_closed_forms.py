"""book/06's experiments: the closed-form trio and the gensim peer.

Small and fast: synthetic statistics. The feature summaries, the stored-model comparison
and the claims have their own modules (tests/test_experiments_features.py,
test_experiments_comparison.py, test_experiments_claims.py).
"""

from __future__ import annotations

import json
import types

import numpy as np
import pytest

from qwemlib import config, experiments, stats, theory
from qwemlib.embeddings import Embeddings

CI = config.preset("ci")


# ----------------------------------------------------------------------------- closed forms


def _synthetic_stats(V=40, seed=0):
    rng = np.random.default_rng(seed)
    C = rng.poisson(3.0, size=(V, V)).astype(float)
    C = C + C.T
    P_ij = C / C.sum()
    P_i = P_ij.sum(axis=1)
    M = stats.target_matrix(P_ij, P_i)
    return types.SimpleNamespace(M=M, P_ij=P_ij, P_i=P_i, words=tuple(f"w{i}" for i in range(V)))


def test_closed_forms_are_eq7_of_each_target():
    st = _synthetic_stats()
    preset = config.preset("ci", vocab=40, dim=4)
    cf, secs = experiments.closed_forms(st, preset, log=lambda *a: None)
    assert list(cf) == list(experiments.TRIO) and set(secs) == set(cf)
    for name, M in (("svd(M*)", st.M), ("svd(PPMI)", stats.ppmi(st.P_ij, st.P_i)),
                    ("svd(PMI)", stats.pmi(st.P_ij, st.P_i))):
        emb, eig = cf[name]
        assert eig.method == "arpack"             # V <= ARPACK_MAX_V: what the stored results used
        W = theory.closed_form_embeddings(M, 4, method="arpack")
        np.testing.assert_array_equal(emb.vectors, W)
        assert emb.words == st.words


def test_closed_forms_subset_and_unknown_model():
    st = _synthetic_stats()
    preset = config.preset("ci", vocab=40, dim=3)
    cf, _ = experiments.closed_forms(st, preset, models=("svd(PPMI)",), method="dense", log=lambda *a: None)
    assert list(cf) == ["svd(PPMI)"] and cf["svd(PPMI)"][1].method == "dense"
    with pytest.raises(ValueError, match="unknown closed form"):
        experiments.closed_forms(st, preset, models=("svd(PPMI)", "svd(XYZ)"))


def test_eigen_method_switches_at_arpack_max_v():
    assert experiments.eigen_method(experiments.ARPACK_MAX_V) == "arpack"
    assert experiments.eigen_method(experiments.ARPACK_MAX_V + 1) == "auto"


def test_closed_form_benchmark_rejects_d_not_below_V():
    with pytest.raises(ValueError, match="must be smaller than the vocabulary"):
        experiments.closed_form_benchmark(config.preset("ci", vocab=50, dim=50))


def test_closed_form_benchmark_and_save(tmp_path):
    st = _synthetic_stats()
    preset = config.preset("ci", vocab=40, dim=3)
    out = experiments.closed_form_benchmark(preset, st=st, models=("svd(M*)",), protocols=("original",),
                                            out_dir=tmp_path, log=lambda *a: None)
    assert set(out) >= {"rows", "table", "embeddings", "eigenpairs", "timings", "stats"}
    assert {r.model for r in out["rows"]} == {"svd(M*)"}
    saved = Embeddings.load(tmp_path / "svd_mstar.npz")
    np.testing.assert_array_equal(saved.vectors, out["embeddings"]["svd(M*)"].vectors)
    table = json.loads((tmp_path / "table.json").read_text())
    assert table["preset"]["dim"] == 3 and len(table["rows"]) == len(out["rows"])
    assert (tmp_path / "table.txt").read_text() == out["table"] + "\n"


# ----------------------------------------------------------------------------- gensim peer


def test_gensim_embeddings_trains_in_our_order_and_reuses_scratch(tmp_path):
    pytest.importorskip("gensim")
    rng = np.random.default_rng(0)
    words = tuple(f"w{i}" for i in range(30))
    arts = [rng.integers(0, 30, size=400) for _ in range(3)]
    corpus = types.SimpleNamespace(articles=lambda: arts, n_tokens=1200)
    st = types.SimpleNamespace(words=words, corpus=corpus)
    preset = config.preset("ci", vocab=30, dim=4, window=2)
    emb, dt, reused = experiments.gensim_embeddings(st, preset, epochs=1, scratch=tmp_path,
                                                    log=lambda *a: None)
    assert emb.words == words and emb.vectors.shape == (30, 4) and reused is None
    again, dt2, reused = experiments.gensim_embeddings(st, preset, epochs=1, scratch=tmp_path,
                                                        log=lambda *a: None)
    assert reused is not None and dt2 == dt
    np.testing.assert_array_equal(again.vectors, emb.vectors)
