"""book/06's experiments: the closed-form trio, the gensim peer, feature summaries, the claims.

Small and fast: synthetic statistics and embeddings, plus the stored ci/local results.
Every claim of the chapter's check is fed a wrong input here and must fail.
"""

from __future__ import annotations

import json
import types
from dataclasses import asdict

import numpy as np
import pytest

from qwemlib import config, evaluate, experiments, stats, theory
from qwemlib.embeddings import Embeddings
from qwemlib.experiments import (
    MODEL_ORDER,
    QWEM_UNIFORM,
    Claims,
    FeatureSummary,
    ModelComparison,
    assign_roles,
    judge_claims,
)
from qwemlib.results import stored_path

CI = config.preset("ci")
HELD = {"svd(M*) >= svd(PMI) on analogies", "QWEM within 3 points of word2vec on analogies",
        "top-10: word2vec closer to QWEM than to PPMI",
        "top-10: word2vec closer to svd(M*) than to PPMI",
        "top-10: QWEM closer to word2vec than to PPMI"}


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


# ----------------------------------------------------------------------------- features


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


# ----------------------------------------------------------------------------- roles, tables


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


def test_model_comparison_reads_the_stored_ci_results():
    if not stored_path("ci", "benchmark.json").exists():
        pytest.skip("no stored ci results")
    cmp = experiments.model_comparison("ci")
    assert (cmp.word2vec, cmp.qwem) == ("word2vec (SGNS)", QWEM_UNIFORM)
    assert cmp.features.source == "stored embeddings" and QWEM_UNIFORM in cmp.features
    assert "roles on this page" in cmp.describe()
    assert cmp.value("svd(M*)", "Google analogies (pairs)") == pytest.approx(0.305668, abs=1e-6)
    side = experiments.side_by_side(cmp)
    assert side.loc[("Google analogies", "svd(M*)"), "paper (2 B tokens, quoted)"] == 66.3
    rc = experiments.recheck_closed_form(cmp, max_vocab=0)          # stored rows only
    assert not rc.live and np.isnan(rc.live_diff) and rc.glue["ch6_V"] == "2,000"
    claims = judge_claims(cmp, rc.live_diff)
    assert claims.check(HELD) == sorted(HELD)


# ----------------------------------------------------------------------------- the claims


def _rows(acc: dict[str, float]) -> list[dict]:
    return [asdict(evaluate.BenchmarkRow(m, "Google analogies (pairs)", "accuracy", v, 100, 200))
            for m, v in acc.items()]


GOOD = {"word2vec (SGNS)": 0.24, QWEM_UNIFORM: 0.25, "svd(M*)": 0.30, "svd(PPMI)": 0.29, "svd(PMI)": 0.20}


def _features(close_to_ppmi: bool = False, V=80, d=12, seed=1):
    """word2vec = QWEM + small noise (closer to QWEM than to PPMI), unless ``close_to_ppmi``."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(V)]
    q, p = rng.normal(size=(V, d)), rng.normal(size=(V, d))
    w = (p if close_to_ppmi else q) + 0.05 * rng.normal(size=(V, d))
    m = q + 0.05 * rng.normal(size=(V, d))
    embs = {"word2vec (SGNS)": w, QWEM_UNIFORM: q, "svd(M*)": m, "svd(PPMI)": p}
    return FeatureSummary.from_embeddings({k: Embeddings(words, v) for k, v in embs.items()}, d)


def _comparison(acc=GOOD, feats=None, preset=CI):
    rows = _rows(acc)
    w2v, qwem = assign_roles(acc)
    return ModelComparison(preset, rows, {}, None, feats if feats is not None else _features(), w2v, qwem)


def test_claims_hold_on_a_right_input():
    claims = judge_claims(_comparison(), 0.0)
    assert isinstance(claims, Claims) and HELD <= set(claims.verdicts)
    assert claims.check(HELD) == sorted(HELD)
    assert list(claims.table().columns) == ["claim", "paper (2 B tokens, quoted)", "measured here (ci)",
                                            "verdict"]
    assert claims.summary().startswith(f"{sum(claims.verdicts.values())} of {len(claims.items)} claims hold")


def test_check_fails_when_svd_mstar_falls_below_pmi():
    claims = judge_claims(_comparison(GOOD | {"svd(M*)": 0.19}), 0.0)
    assert not claims.verdicts["svd(M*) >= svd(PMI) on analogies"]
    with pytest.raises(AssertionError, match=r"svd\(M\*\) >= svd\(PMI\)"):
        claims.check(HELD)


def test_check_fails_when_qwem_is_far_from_word2vec():
    claims = judge_claims(_comparison(GOOD | {QWEM_UNIFORM: 0.07}), 0.0)
    assert not claims.verdicts["QWEM within 3 points of word2vec on analogies"]
    with pytest.raises(AssertionError, match="QWEM within 3 points"):
        claims.check(HELD)


def test_check_fails_when_word2vec_is_closer_to_ppmi():
    claims = judge_claims(_comparison(feats=_features(close_to_ppmi=True)), 0.0)
    assert not claims.verdicts["top-10: word2vec closer to QWEM than to PPMI"]
    with pytest.raises(AssertionError, match="word2vec closer to QWEM than to PPMI"):
        claims.check(HELD)


def test_check_fails_on_a_live_recheck_that_disagrees():
    with pytest.raises(AssertionError, match="live svd"):
        judge_claims(_comparison(), 0.01).check(HELD)


def test_check_fails_when_a_held_claim_was_not_judged():
    claims = judge_claims(_comparison(), 0.0)
    with pytest.raises(AssertionError, match="not judged"):
        claims.check(HELD | {"a claim the judge does not know"})


def test_other_presets_and_missing_results_only_report():
    local = config.preset("local")
    wrong = judge_claims(_comparison(GOOD | {"svd(M*)": 0.19}, preset=local), np.nan)
    assert wrong.check(HELD) == []                                   # reported, not asserted
    none = ModelComparison(CI, [], None, None, FeatureSummary.empty(CI.dim), *assign_roles([]))
    empty = judge_claims(none)
    assert empty.items == [] and empty.check(HELD) == []
    assert "no claim can be judged" in empty.summary()
    assert list(empty.table().columns)[-1] == "verdict"


def test_model_order_is_the_papers():
    assert MODEL_ORDER[2:] == list(experiments.TRIO)
    assert list(experiments.PAPER_FIGURE_3B) == ["Google analogies", "MEN", "WordSim353"]
