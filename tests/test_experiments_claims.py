"""qwemlib.experiments._claims: book/06's claims, judged from the numbers, and its check.

Each prediction the chapter tests is fed a deliberately wrong input here (a constant
accuracy, swapped model roles, a shuffled model) and its verdict must flip; the check
cell's asserts (the live re-check identity, every claim judged) must raise on a wrong
input. On the stored ci results each verdict must be its criterion applied to a value
recomputed here independently (from benchmark.json and the raw embeddings), and a
perturbed value must flip it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import numpy as np
import pytest

from qwemlib import config, evaluate, experiments
from qwemlib.embeddings import Embeddings
from qwemlib.experiments import (
    QWEM_UNIFORM,
    REGISTER,
    VERDICTS,
    ChapterClaims,
    FeatureSummary,
    ModelComparison,
    assign_roles,
    judge,
    judge_claims,
)
from qwemlib.experiments import _claims as C
from qwemlib.results import stored_path

CI = config.preset("ci")
AN = "Google analogies (pairs)"
SGNS, GENSIM = "word2vec (SGNS)", "gensim Word2Vec (10 ep)"
# analogy accuracies for which every analogy claim holds
GOOD = {SGNS: 0.24, GENSIM: 0.245, "QWEM (SGD)": 0.25, QWEM_UNIFORM: 0.25, "svd(M*)": 0.26,
        "svd(PPMI)": 0.15, "svd(PMI)": 0.10}


def _rows(acc):
    return [asdict(evaluate.BenchmarkRow(m, AN, "accuracy", v, 100, 200)) for m, v in acc.items()]


def _embeddings(w2v_like="qwem", V=120, d=12, seed=1):
    """word2vec models = QWEM + small noise; svd(PPMI) = half QWEM, half noise (so the
    word2vec models are closer to QWEM than to PPMI), unless ``w2v_like="ppmi"``."""
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(V, d))
    p = 0.5 * q + rng.normal(size=(V, d))
    base = p if w2v_like == "ppmi" else q
    embs = {m: q + 0.05 * rng.normal(size=(V, d)) for m in ("QWEM (SGD)", QWEM_UNIFORM, "svd(M*)")}
    embs |= {m: base + 0.05 * rng.normal(size=(V, d)) for m in (SGNS, GENSIM)}
    embs |= {"svd(PPMI)": p, "svd(PMI)": rng.normal(size=(V, d))}
    words = [f"w{i}" for i in range(V)]
    return {k: Embeddings(words, v) for k, v in embs.items()}


def _comparison(acc=GOOD, embs=None, preset=CI):
    embs = _embeddings() if embs is None else embs
    feats = FeatureSummary.from_embeddings(embs, 12)
    return ModelComparison(preset, _rows(acc), {}, embs, feats, *assign_roles(acc))


def _verdicts(prefix, claims):
    return {k: v.verdict for k, v in ((v.claim.key, v) for v in claims.verdicts) if k.startswith(prefix)}


def test_claims_are_registered_with_unique_keys_and_valid_criteria():
    keys = [c.key for c in C.CLAIMS]
    assert len(keys) == len(set(keys)) and all(REGISTER[k] is c for k, c in zip(keys, C.CLAIMS))
    assert all(c.chapter == "book/06_qwem_vs_word2vec.md" for c in C.CLAIMS)
    # both ways: every word2vec role with every QWEM role, for analogies and features
    for w in C.WORD2VEC_ROLES:
        for q in C.QWEM_ROLES:
            assert f"fig3b-near-w2v/{q}/{w}" in keys and f"fig5-w2v-closer-to-qwem/{q}/{w}/top-d" in keys
    assert REGISTER["fig3b-near-w2v/qwem-sgd/sgns"].paper_value == "65.1 % vs 68.0 % (2.9 points)"


def test_every_claim_holds_on_a_right_input():
    claims = judge_claims(_comparison(), 0.0)
    assert isinstance(claims, ChapterClaims) and claims.counts() == {"holds": len(C.CLAIMS), "fails": 0,
                                                                     "not testable": 0}
    assert claims.check() == [c.key for c in C.CLAIMS]
    t = claims.table()
    assert list(t.columns) == ["claim", "where", "paper", "criterion", "measured", "verdict", "measured here"]
    g = claims.glue()
    assert g["ch6_v_fig3b_near_w2v_qwem_sgd_sgns"] == "holds" and "hold" in g["ch6_counts"]


def test_a_constant_far_qwem_accuracy_flips_the_closeness_claims():
    claims = judge_claims(_comparison(GOOD | {"QWEM (SGD)": 0.07}), 0.0)
    assert _verdicts("fig3b-near-w2v/qwem-sgd/", claims) == {
        "fig3b-near-w2v/qwem-sgd/sgns": "fails", "fig3b-near-w2v/qwem-sgd/gensim": "fails"}
    assert claims["fig3b-mstar-near-qwem/qwem-sgd"].verdict == "fails"
    assert claims["fig3b-near-w2v/qwem-vr/sgns"].verdict == "holds"       # the other run is untouched
    assert claims.glue()["ch6_v_fig3b_near_w2v_qwem_sgd_sgns"] == "does not hold on our corpus"
    assert claims.check()                                                       # reported, never asserted


def test_closed_form_claims_flip_when_svd_mstar_is_not_above():
    below = judge_claims(_comparison(GOOD | {"svd(M*)": 0.09}), 0.0)
    assert below["fig3b-mstar-vs-pmi"].verdict == "fails"
    tie = judge_claims(_comparison(GOOD | {"svd(PPMI)": GOOD["svd(M*)"], "svd(PMI)": 0.2}), 0.0)
    assert tie["fig3b-mstar-above-ppmi"].verdict == "fails"                     # equal is not better
    assert tie["fig3b-mstar-vs-pmi"].verdict == "holds"
    assert tie["fig3b-mstar-well-above-pmi"].verdict == "fails"


def test_swapped_roles_flip_the_figure5_claims():
    """word2vec learning PPMI's features (the theory wrong) makes every Figure 5 claim fail."""
    claims = judge_claims(_comparison(embs=_embeddings(w2v_like="ppmi")), 0.0)
    fig5 = _verdicts("fig5-", claims)
    assert fig5 and set(fig5.values()) == {"fails"}


def test_a_shuffled_qwem_flips_its_figure5_claims():
    """QWEM's rows permuted (its features unrelated to the words): its overlap with word2vec
    drops to chance, below PPMI's; svd(M*)'s claims are untouched."""
    embs = _embeddings()
    perm = np.random.default_rng(3).permutation(len(embs[QWEM_UNIFORM].words))
    embs[QWEM_UNIFORM] = Embeddings(embs[QWEM_UNIFORM].words, embs[QWEM_UNIFORM].vectors[perm])
    claims = judge_claims(_comparison(embs=embs), 0.0)
    assert set(_verdicts("fig5-w2v-closer-to-qwem/qwem-vr/", claims).values()) == {"fails"}
    assert set(_verdicts("fig5-w2v-closer-to-qwem/svd-mstar/", claims).values()) == {"holds"}


def test_missing_models_are_not_testable_and_the_check_still_passes():
    acc = {m: v for m, v in GOOD.items() if m not in ("QWEM (SGD)", SGNS)}
    embs = {m: e for m, e in _embeddings().items() if m in acc}
    claims = judge_claims(_comparison(acc, embs), np.nan)
    assert claims["fig3b-near-w2v/qwem-sgd/gensim"].verdict == "not testable"
    assert claims["fig5-w2v-closer-to-qwem/svd-mstar/sgns/top-10"].verdict == "not testable"
    assert claims["fig5-w2v-closer-to-qwem/svd-mstar/gensim/top-10"].verdict == "holds"
    assert claims.check() and "cannot be judged" in claims.glue()["ch6_v_fig3b_near_w2v_qwem_sgd_gensim"]
    none = ModelComparison(CI, [], None, None, FeatureSummary.empty(CI.dim), *assign_roles([]))
    empty = judge_claims(none)
    assert set(v.verdict for v in empty.verdicts) == {"not testable"} and empty.check()


def test_check_fails_on_a_live_recheck_that_disagrees():
    with pytest.raises(AssertionError, match="live svd"):
        judge_claims(_comparison(), 0.01).check()
    assert judge_claims(_comparison(), C.LIVE_TOLERANCE / 2).check()


def test_check_fails_when_a_claim_was_not_judged():
    claims = judge_claims(_comparison(), 0.0)
    dropped = replace(claims, verdicts=claims.verdicts[1:])
    with pytest.raises(AssertionError, match="not judged"):
        dropped.check()
    twice = replace(claims, verdicts=claims.verdicts + claims.verdicts[:1])
    with pytest.raises(AssertionError, match="not judged exactly once"):
        twice.check()


# ----------------------------------------------------------------------------- stored ci results


def _subspace(A, B):
    """Independent of theory.subspace_overlap: QR bases, squared Frobenius norm over k."""
    qa, qb = np.linalg.qr(A)[0], np.linalg.qr(B)[0]
    return float(np.sum((qa.T @ qb) ** 2) / A.shape[1])


def _flipped(v):
    """The claim judged at a value on the other side of its threshold."""
    c = v.claim.criterion
    other = 2 * c.threshold - v.measured if v.measured != c.threshold else c.threshold + (
        1.0 if c.op in (">", ">=") and not v.holds or c.op in ("<", "<=") and v.holds else -1.0)
    return judge(v.claim, other)


@pytest.fixture(scope="module")
def ci_claims():
    if not stored_path("ci", "embeddings.npz").exists():
        pytest.skip("no stored ci results")
    return judge_claims(experiments.model_comparison("ci"))


def test_stored_ci_verdicts_are_the_criteria_applied_to_recomputed_values(ci_claims):
    rows = json.loads(stored_path("ci", "benchmark.json").read_text())["rows"]
    acc = {r["model"]: 100 * r["value"] for r in rows if r["benchmark"] == AN}
    z = np.load(stored_path("ci", "embeddings.npz"))
    U = {m: np.linalg.svd(z[m].astype(np.float64), full_matrices=False)[0] for m in z.files if m != "words"}
    W_uniform = np.load(stored_path("ci", "linear_sgd.npz"))["W_final"].astype(np.float64)
    U[QWEM_UNIFORM] = np.linalg.svd(W_uniform, full_matrices=False)[0]
    name = {"gensim Word2Vec": GENSIM}
    assert ci_claims.check() and len(ci_claims.verdicts) == len(C.CLAIMS)
    for v in ci_claims.verdicts:
        how = C._HOW[v.claim.key]
        if how[0] == "span":
            w, k = name.get(how[1], how[1]), CI.dim if how[3] == "d" else how[3]
            q = QWEM_UNIFORM if how[2] == C.QWEM_ROLES["qwem-vr"] else how[2]
            expected = _subspace(U[w][:, :k], U[q][:, :k]) - _subspace(U[w][:, :k], U["svd(PPMI)"][:, :k])
        elif C.QWEM_ROLES["qwem-vr"] in how[1:]:   # played by QWEM_UNIFORM at ci
            continue                                   # scored now from linear_sgd.npz, not in benchmark.json
        else:
            a, b = name.get(how[1], how[1]), name.get(how[2], how[2])
            expected = abs(acc[a] - acc[b]) if how[0] == "gap" else acc[a] - acc[b]
        assert v.measured == pytest.approx(expected, abs=1e-6), v.claim.key
        assert v.verdict == ("holds" if v.claim.criterion.satisfied(expected) else "fails"), v.claim.key


def test_stored_ci_verdicts_flip_when_the_measured_value_is_perturbed(ci_claims):
    for v in ci_claims.verdicts:
        assert v.verdict in VERDICTS[:2]                                  # everything is stored at ci
        assert _flipped(v).verdict == ("fails" if v.holds else "holds"), v.claim.key


def test_stored_local_figure5_verdict_is_the_stored_overlap():
    if not stored_path("local", "features.npz").exists():
        pytest.skip("no stored local results")
    z = np.load(stored_path("local", "features.npz"))
    g = next(str(m) for m in z["models"] if str(m).startswith("gensim"))
    claims = judge_claims(experiments.model_comparison("local"))
    ks = list(z["subspace_k"])
    for tag, k in (("top-10", 10), ("top-d", int(z["d"]))):
        key = f"subspace/svd(M*) | {g}", f"subspace/svd(PPMI) | {g}"
        expected = float(z[key[0]][ks.index(k)]) - float(z[key[1]][ks.index(k)])
        v = claims[f"fig5-w2v-closer-to-qwem/svd-mstar/gensim/{tag}"]
        assert v.measured == pytest.approx(expected, abs=1e-9)
        assert v.verdict == ("holds" if expected > 0 else "fails") and _flipped(v).verdict != v.verdict
