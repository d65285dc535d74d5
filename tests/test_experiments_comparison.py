"""qwemlib.experiments._comparison: the stored models of book/06, their roles and tables."""

from __future__ import annotations

import shutil
from dataclasses import asdict

import numpy as np
import pytest

from qwemlib import evaluate, experiments, results
from qwemlib.experiments import MODEL_ORDER, QWEM_EXACT, QWEM_UNIFORM, SGD_RUN_MODELS, assign_roles
from qwemlib.results import stored_path


def test_assign_roles():
    assert assign_roles(["svd(M*)", "gensim Word2Vec (3 ep)"]) == ("gensim Word2Vec (3 ep)", "svd(M*)")
    assert assign_roles(["word2vec (SGNS)", "QWEM (SGD)", QWEM_UNIFORM]) == ("word2vec (SGNS)", QWEM_UNIFORM)
    assert assign_roles(["word2vec (SGNS)", "QWEM (SGD)"]) == ("word2vec (SGNS)", "QWEM (SGD)")


def test_benchmark_frame_and_paper_table():
    rows = [asdict(evaluate.BenchmarkRow(m, "MEN", "spearman", 0.5, 10, 20)) for m in ("zeta", "svd(M*)")]
    rows.append(asdict(evaluate.BenchmarkRow("svd(M*)", "Google analogies (pairs)", "accuracy", 0.25, 5, 9)))
    f = experiments.benchmark_frame(rows)
    assert list(f.columns) == ["svd(M*)", "zeta"] and list(f.index) == ["MEN", "Google analogies (pairs)"]
    assert f.loc["Google analogies (pairs)", "svd(M*)"] == "25.0 % (5/9)"
    p = experiments.paper_table()
    assert p.loc["Google analogies", "svd(PMI)"] == "8.4 %" and p.loc["MEN", "word2vec"] == "0.744"


def test_model_order_is_the_papers():
    assert MODEL_ORDER[2:] == list(experiments.TRIO)
    assert list(experiments.PAPER_FIGURE_3B) == ["Google analogies", "MEN", "WordSim353"]


def test_model_comparison_reads_the_stored_ci_results():
    if not stored_path("ci", "benchmark.json").exists():
        pytest.skip("no stored ci results")
    cmp = experiments.model_comparison("ci")
    assert (cmp.word2vec, cmp.qwem) == ("word2vec (SGNS)", QWEM_UNIFORM)
    assert cmp.features.source == "stored embeddings" and QWEM_UNIFORM in cmp.features
    assert "roles on this page" in cmp.describe()
    assert cmp.value("svd(M*)", "Google analogies (pairs)") == pytest.approx(0.305668, abs=1e-6)
    assert not np.isnan(cmp.value(QWEM_UNIFORM, "Google analogies (pairs)"))   # scored now
    side = experiments.side_by_side(cmp)
    assert side.loc[("Google analogies", "svd(M*)"), "paper (2 B tokens, quoted)"] == 66.3
    rc = experiments.recheck_closed_form(cmp, max_vocab=0)          # stored rows only
    assert not rc.live and np.isnan(rc.live_diff) and rc.glue["ch6_V"] == "2,000"


def _stored_ci_without_sgd_features(tmp_path, monkeypatch, features_models):
    """A results folder like ci's but with features.npz (of ``features_models``) instead of the
    embeddings, and train.npz holding the SGD runs' final embeddings: the local layout once
    the lead's SGD runs are stored."""
    z = np.load(stored_path("ci", "embeddings.npz"))
    words = [str(w) for w in z["words"]]
    embs = {m: evaluate.Embeddings(words, z[m].astype(np.float64)) for m in features_models}
    folder = tmp_path / "ci"
    folder.mkdir()
    shutil.copy(stored_path("ci", "benchmark.json"), folder / "benchmark.json")
    results.save_npz(folder / "features.npz", **experiments.feature_summary(embs, 50, log=lambda *a: None))
    results.save_npz(folder / "train.npz", words=z["words"], **{"sgns-w2v/W_final": z["word2vec (SGNS)"],
                                                                "qwem-small/W_final": z["QWEM (SGD)"]})
    monkeypatch.setattr(results, "ROOT", tmp_path)
    return z


needs_ci_embeddings = pytest.mark.skipif(not stored_path("ci", "embeddings.npz").exists(),
                                         reason="no stored ci embeddings")


@needs_ci_embeddings
def test_sgd_runs_of_train_npz_are_picked_up(tmp_path, monkeypatch):
    closed = ["svd(M*)", "svd(PPMI)", "gensim Word2Vec (10 ep)"]
    _stored_ci_without_sgd_features(tmp_path, monkeypatch, closed)
    cmp = experiments.model_comparison("ci")
    assert cmp.embeddings is None and {"word2vec (SGNS)", "QWEM (SGD)"} <= set(cmp.features.models)
    assert "run 'sgns-w2v'" in cmp.describe()
    assert (cmp.word2vec, cmp.qwem) == ("word2vec (SGNS)", "QWEM (SGD)")
    f = cmp.features
    assert f.has_pair("word2vec (SGNS)", "QWEM (SGD)") and not f.has_pair("word2vec (SGNS)", "svd(M*)")
    assert f.has_pair("svd(M*)", "gensim Word2Vec (10 ep)")
    assert cmp.overlap_pairs() == [("word2vec (SGNS)", "QWEM (SGD)"), ("svd(M*)", "svd(PPMI)")]
    assert set(SGD_RUN_MODELS) == {"word2vec (SGNS)", "QWEM (SGD)", QWEM_UNIFORM, QWEM_EXACT}


@needs_ci_embeddings
def test_a_train_npz_for_another_vocabulary_is_refused(tmp_path, monkeypatch):
    source = stored_path("ci", "embeddings.npz")
    z = _stored_ci_without_sgd_features(tmp_path, monkeypatch, ["svd(M*)"])
    shutil.copy(source, tmp_path / "ci" / "embeddings.npz")
    results.save_npz(tmp_path / "ci" / "train.npz", words=z["words"][::-1],
                     **{"qwem-uniform-small/W_final": z["QWEM (SGD)"]})
    with pytest.raises(ValueError, match="another vocabulary"):
        experiments.model_comparison("ci")


@needs_ci_embeddings
def test_sgd_runs_in_features_npz_are_read_from_it(tmp_path, monkeypatch):
    models = ["word2vec (SGNS)", "svd(M*)", "svd(PPMI)"]
    _stored_ci_without_sgd_features(tmp_path, monkeypatch, models)
    cmp = experiments.model_comparison("ci")
    f = cmp.features
    assert f.has_pair("word2vec (SGNS)", "svd(M*)")                  # stored, not recomputed
    assert not f.has_pair("word2vec (SGNS)", "QWEM (SGD)")            # QWEM (SGD) only as embeddings
