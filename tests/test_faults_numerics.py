"""Fault injection for the numerical layers (issue 14.7): stats, theory, eigen, flow, losses.

Each case feeds one public function one bad input and asserts

* the exception type (or the warning),
* that the message names the input (a regex on the argument's name or value),
* that it says what to do (a regex on the instruction: "symmetrize", "recount", ...),
* that nothing was changed: every shared input array is read-only, and a case that
  wrote into one would fail with numpy's "read-only" error instead of the expected
  message (and the arrays are compared with their copies afterwards).

The inputs are tiny (V <= 8), so the module runs in about a second.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from qwemlib import eigen, flow, losses, stats, theory


def _ro(a) -> np.ndarray:
    a = np.array(a)
    a.flags.writeable = False
    return a


RNG = np.random.default_rng(14)
V = 6
_A = RNG.standard_normal((V, V))
M = _ro(_A + _A.T)  # symmetric target
M_ASYM = _ro(np.array([[1.0, 2.0], [0.0, 1.0]]))
M_NAN = _ro(np.where(np.eye(V, k=1) + np.eye(V, k=-1) > 0, np.nan, M))
M_INF = _ro(np.where(np.eye(V) > 0, np.inf, M))
_C = RNG.integers(0, 5, (V, V))
COUNTS = _ro(_C + _C.T)
UNIGRAM = _ro(COUNTS.sum(1))
P_IJ = _ro(COUNTS / COUNTS.sum())
P_I = _ro(P_IJ.sum(1))
W = _ro(RNG.standard_normal((V, 2)))
EIG = eigen.top_eigenpairs(M, 2)
SHARED = {name: (arr, arr.copy()) for name, arr in {
    "M": M, "M_ASYM": M_ASYM, "M_NAN": M_NAN, "M_INF": M_INF, "COUNTS": COUNTS, "UNIGRAM": UNIGRAM,
    "P_IJ": P_IJ, "P_I": P_I, "W": W}.items()}


def _co(counts, unigram=None, n_tokens=None) -> stats.Cooccurrence:
    counts = np.asarray(counts)
    unigram = counts.sum(1) if unigram is None else np.asarray(unigram)
    return stats.Cooccurrence(counts, unigram, int(unigram.sum() if n_tokens is None else n_tokens),
                              2, "uniform", 1.0)


def _with(arr, index, value) -> np.ndarray:
    out = np.array(arr, dtype=float)
    out[index] = value
    return out


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[], object]
    names: str  # regex: the input the message must name
    todo: str  # regex: what the message must tell the user to do
    exc: type[BaseException] = ValueError


CASES = [
    # ---------------------------------------------------------------- stats: counts
    Case("counts-negative", lambda: stats.skipgram_distribution(_co(_with(COUNTS, (0, 1), -3).astype(int))),
         r"counts have negative entries", r"recount the corpus"),
    Case("counts-nan", lambda: stats.skipgram_distribution(_co(_with(COUNTS, (2, 2), np.nan), UNIGRAM)),
         r"counts .*non-finite", r"recount"),
    Case("counts-asymmetric", lambda: stats.skipgram_distribution(_co(_with(COUNTS, (0, 3), 99).astype(int))),
         r"counts are not symmetric: counts\[0,3\]", r"recount"),
    Case("counts-V-mismatch", lambda: stats.skipgram_distribution(_co(COUNTS, UNIGRAM[:4])),
         r"unigram counts have shape \(4,\).*\(6, 6\)", r"V must agree"),
    Case("unigram-negative", lambda: stats.unigram_distribution(_co(COUNTS, _with(UNIGRAM, 1, -1))),
         r"unigram counts have negative", r"recount"),
    Case("counts-no-tokens", lambda: stats.unigram_distribution(_co(np.zeros((3, 3), int), n_tokens=0)),
         r"co-occurrence counts are empty", r"count a longer corpus"),
    Case("counts-no-pairs", lambda: stats.skipgram_distribution(_co(np.zeros((3, 3), int), np.ones(3, int))),
         r"no positive pairs", r"larger corpus or a larger window"),
    Case("count-ids-out-of-range", lambda: stats.count_cooccurrences(np.array([0, 7]), np.array([0, 2]), 3),
         r"token ids .*V=3.*\[0, 7\]", r"must lie in"),
    Case("count-ids-float", lambda: stats.count_cooccurrences(np.array([0.0, 1.0]), np.array([0, 2]), 3),
         r"ids .*float64", r"must be a 1-d integer array"),
    Case("count-offsets-short", lambda: stats.count_cooccurrences(np.array([0, 1, 2]), np.array([0, 2]), 3),
         r"article_offsets.*len\(ids\)=3", r"must start at 0 and end"),
    Case("count-offsets-decreasing",
         lambda: stats.count_cooccurrences(np.array([0, 1, 2]), np.array([0, 2, 1, 3]), 3),
         r"article_offsets", r"must be non-decreasing"),
    Case("count-window-0", lambda: stats.count_cooccurrences(np.array([0, 1]), np.array([0, 2]), 3, 0),
         r"window.*got 0", r"must be >= 1"),
    Case("count-weighting",
         lambda: stats.count_cooccurrences(np.array([0, 1]), np.array([0, 2]), 3, 2, "gauss"),
         r"weighting.*'gauss'", r"must be one of"),
    Case("count-V-0", lambda: stats.count_cooccurrences(np.array([], int), np.array([0]), 0),
         r"vocab_size \(V\) = 0", r"must be >= 1"),
    Case("counts-add-V", lambda: _co(COUNTS) + _co(COUNTS[:4, :4]),
         r"different V.*\(6, 2, 'uniform'\) vs \(4", r"cannot add"),
    # ---------------------------------------------------------------- stats: distributions
    Case("P_i-zero-row", lambda: stats.target_matrix(P_IJ, _with(P_I, 2, 0.0)),
         r"P_i has 1 non-positive", r"choose a smaller V"),
    Case("P_ij-nan", lambda: stats.target_matrix(_with(P_IJ, (1, 2), np.nan), P_I),
         r"P_ij has non-finite", r"compute it with stats.skipgram_distribution"),
    Case("P_ij-negative", lambda: stats.pmi(_with(P_IJ, (0, 0), -0.1), P_I),
         r"P_ij has negative entries", r"recompute it"),
    Case("P_ij-V-mismatch", lambda: stats.target_matrix(P_IJ, P_I[:4]),
         r"P_ij must have shape \(V, V\) = \(4, 4\).*\(6, 6\)", r"to match P_i"),
    Case("P_i-2d", lambda: stats.psi_setting1(P_IJ, P_I[:, None]),
         r"P_i .*shape \(6, 1\)", r"must be a non-empty 1-D array"),
    Case("P_i-nan", lambda: stats.psi_negative_power(_with(P_I, 0, np.nan)),
         r"P_i has non-finite", r"compute it from the counts"),
    Case("psi-negative-power-zero-P", lambda: stats.psi_negative_power(_with(P_I, 0, 0.0)),
         r"P_i has 1 non-positive", r"choose a smaller V"),
    Case("psi-negative-power-normaliser", lambda: stats.psi_negative_power(P_I, normaliser="sum"),
         r"normaliser.*'sum'", r"must be 'word2vec' or 'paper-eq17'"),
    Case("psi-subsample-threshold", lambda: stats.psi_subsample(P_I, threshold=-1e-5),
         r"subsampling threshold.*-1e-05", r"must be finite and > 0"),
    Case("sgns-mean-G-nan", lambda: stats.sgns_mean_G(_with(P_IJ, (0, 0), np.nan), P_I),
         r"P_ij has non-finite", r"compute it"),
    Case("pmi-unseen", lambda: stats.pmi(P_IJ, P_I, unseen="nan"),
         r"unseen.*'nan'", r"must be 'zero' or '-inf'"),
    Case("relative-change-zero-B", lambda: stats.relative_change(M, np.zeros_like(M)),
         r"reference B has norm 0", r"pass a non-zero"),
    Case("relative-change-shape", lambda: stats.relative_change(M, M[:3, :3]),
         r"A and B .*\(6, 6\) and \(3, 3\)", r"must have the same shape"),
    Case("per-word-weight-zero-psi", lambda: stats.per_word_weight(np.zeros((V, V)), P_I),
         r"psi", r"must be finite and > 0"),
    # ---------------------------------------------------------------- theory / eigen
    Case("M-asymmetric", lambda: theory.closed_form_embeddings(M_ASYM, 1),
         r"M is not symmetric: \|M\[0,1\] - M\[1,0\]\| = 2", r"symmetrize it, e.g. \(M \+ M.T\) / 2"),
    Case("M-nan", lambda: theory.closed_form_embeddings(M_NAN, 2),
         r"M has non-finite entries \(first at \[0, 1\] = nan\)", r"remove NaN/inf"),
    Case("M-inf", lambda: eigen.top_eigenpairs(M_INF, 2),
         r"M has non-finite entries \(first at \[0, 0\] = inf\)", r"remove NaN/inf"),
    Case("M-1d", lambda: theory.closed_form_embeddings(np.ones(4), 1),
         r"M .*shape \(4,\)", r"must be a 2-D square matrix"),
    Case("M-not-square", lambda: eigen.top_eigenpairs(np.ones((3, 4)), 1),
         r"M .*shape \(3, 4\)", r"must be square"),
    Case("M-empty", lambda: eigen.top_eigenpairs(np.zeros((0, 0)), 1), r"M is empty", r"empty"),
    Case("M-complex", lambda: eigen.top_eigenpairs(np.eye(3) * 1j, 1), r"M .*complex128", r"must be real"),
    Case("d-greater-than-V", lambda: theory.closed_form_embeddings(M, 10),
         r"d = 10 and V = 6", r"d must be < V"),
    Case("d-equal-V", lambda: eigen.full_spectrum(M, cache=False).top(V),
         r"V = 6; got 6", r"must be an integer with 1 <= d < V"),
    Case("d-zero", lambda: theory.closed_form_embeddings(M, 0), r"d = 0", r"must be >= 1"),
    Case("d-negative", lambda: eigen.top_eigenpairs(M, -2), r"d = -2", r"must be >= 1"),
    Case("d-float", lambda: theory.closed_form_embeddings(M, 2.5), r"d .*2\.5", r"must be an integer"),
    Case("eigen-method", lambda: eigen.top_eigenpairs(M, 2, method="magic"),
         r"method 'magic'", r"choose one of"),
    Case("weighted-g-shape", lambda: theory.weighted_closed_form(M, np.ones(3), 2),
         r"g must have shape \(6,\).*\(3,\)", r"to match M"),
    Case("weighted-g-negative", lambda: theory.weighted_closed_form(M, -np.ones(V), 2),
         r"min\(g\) = -1", r"g must be non-negative"),
    Case("init-V-zero", lambda: theory.random_init(0, 2, 0.1), r"V = 0", r"must be >= 1"),
    Case("init-d-float", lambda: theory.random_init(4, 2.5, 0.1), r"d .*2\.5", r"must be an integer"),
    Case("init-sigma-nan", lambda: theory.random_init(4, 2, float("nan")), r"sigma.*nan", r"must be finite"),
    Case("init-sigma-negative", lambda: theory.random_init(4, 2, -0.1),
         r"sigma.*-0\.1", r"must be finite and >= 0"),
    Case("dynamics-s0-negative", lambda: theory.ClosedFormDynamics.aligned(EIG, np.array([-1.0, 1.0])),
         r"s0.*-1", r"must be finite and > 0"),
    Case("dynamics-s0-shape", lambda: theory.ClosedFormDynamics.aligned(EIG, np.ones(3)),
         r"s0 .*\(d,\) = \(2,\).*\(3,\)", r"must be a scalar or have shape"),
    Case("dynamics-W0-nan", lambda: theory.ClosedFormDynamics.from_initial(EIG, _with(W, (3, 1), np.nan)),
         r"W0 has non-finite entries \(first at \[3, 1\]\)", r"rerun with a smaller step"),
    Case("dynamics-W0-rows", lambda: theory.ClosedFormDynamics.from_initial(EIG, W[:5]),
         r"W0 .*6 rows; got shape \(5, 2\)", r"must be a 2-D array of shape \(V, d\)"),
    Case("dynamics-W0-columns", lambda: theory.ClosedFormDynamics.from_initial(EIG, W[:, :1]),
         r"W0 has 1 columns .*d=2", r"W0 has"),
    Case("dynamics-V-mismatch", lambda: theory.ClosedFormDynamics.from_random_init(EIG, 0.1, V=9),
         r"V = 9 .*V = 6", r"does not match"),
    Case("dynamics-t-negative",
         lambda: theory.ClosedFormDynamics.aligned(EIG, 0.1).W(np.array([0.0, -1.0])),
         r"\bt\b", r"must be finite and >= 0"),
    Case("dynamics-t-nan", lambda: theory.ClosedFormDynamics.aligned(EIG, 0.1).s2(float("nan")),
         r"\bt\b", r"must be finite and >= 0"),
    Case("overlap-nan", lambda: theory.subspace_overlap(_with(W, (0, 0), np.nan), W),
         r"A has non-finite entries", r"rerun"),
    Case("overlap-rows", lambda: theory.subspace_overlap(W, W[:4]),
         r"A and B .*6 and 4", r"must have the same number of rows"),
    Case("overlaps-B-nan", lambda: theory.subspace_overlaps(W, _with(W, (1, 1), np.inf), [1, 2]),
         r"B has non-finite entries", r"rerun"),
    Case("requiv-nan", lambda: theory.requiv_distance(_with(W, (2, 0), np.nan), W),
         r"W has non-finite", r"rerun"),
    Case("align-shape", lambda: theory.align_rotation(W, W[:, :1]),
         r"W and W_ref .*\(6, 2\) and \(6, 1\)", r"must have the same"),
    Case("mode-fractions-rows", lambda: theory.mode_fractions(W[:4], EIG.vectors, EIG.values),
         r"W .*6 rows; got shape \(4, 2\)", r"must be a 2-D array"),
    Case("first-crossing-shape", lambda: theory.first_crossing(np.arange(3.0), np.arange(4.0), 1.0),
         r"len\(t\) = 3.*y \(4,\)", r"must have"),
    # ---------------------------------------------------------------- flow
    Case("flow-M-asymmetric", lambda: flow.gradient_flow(M_ASYM, np.ones((2, 1)), [0.0, 1.0]),
         r"M is not symmetric", r"symmetrize"),
    Case("flow-W0-shape", lambda: flow.gradient_flow(M, W[:5], [0.0, 1.0]),
         r"W0 .*\(6, d\); got \(5, 2\)", r"must have shape"),
    Case("flow-W0-nan", lambda: flow.gradient_flow(M, _with(W, (0, 0), np.nan), [0.0, 1.0]),
         r"W0 has non-finite", r"W0"),
    Case("flow-times-unsorted", lambda: flow.gradient_flow(M, W, [1.0, 0.0]),
         r"times", r"sorted in increasing order \(np.sort them\)"),
    Case("flow-times-negative", lambda: flow.gradient_flow(M, W, [-1.0, 0.0]),
         r"times", r"must be finite and >= 0"),
    Case("flow-times-empty", lambda: flow.gradient_flow(M, W, []),
         r"times .*\(0,\)", r"must be a non-empty 1-D array"),
    Case("random-start-d-gt-V", lambda: flow.random_start_flow(M, 7, 0.1),
         r"V = 6; got 7", r"must be an integer with 1 <= d < V"),
    Case("random-start-sigma-nan", lambda: flow.random_start_flow(M, 2, float("nan")),
         r"sigma.*nan", r"must be finite and > 0"),
    Case("result-sweep-no-sigmas", lambda: flow.result_sweep(M, 2, []),
         r"sigmas.*\[\]", r"must be a non-empty list of scales > 0"),
    Case("result-sweep-sigma-zero", lambda: flow.result_sweep(M, 2, [0.1, 0.0]),
         r"sigmas.*0\.0", r"scales > 0"),
    Case("early-stopping-sigma", lambda: flow.early_stopping(M, 2, -1.0),
         r"sigma.*-1\.0", r"must be finite and > 0"),
    # ---------------------------------------------------------------- losses
    Case("loss-factorization-V", lambda: losses.factorization_loss(W[:3], M),
         r"W .*\(3, 2\).*M \(6, 6\)", r"pass one embedding row per word of M"),
    Case("loss-qwem-V", lambda: losses.qwem_loss(W[:3], P_IJ, P_I),
         r"W .*\(3, 2\).*P_ij \(6, 6\)", r"pass one embedding row per word"),
    Case("loss-sgns-context", lambda: losses.sgns_loss(W, P_IJ, P_I, W_context=np.ones((V, 3))),
         r"W and W_context .*\(6, 2\) and \(6, 3\)", r"must have the same shape"),
    Case("loss-sgns-inner-negative-P", lambda: losses.sgns_loss_inner(M, _with(P_IJ, (0, 1), -1.0), P_I),
         r"P_ij has negative", r"recompute"),
    Case("loss-sgns-nan-W", lambda: losses.sgns_loss(_with(W, (4, 0), np.nan), P_IJ, P_I),
         r"W has non-finite entries \(first at \[4, 0\]\)", r"rerun with a smaller step"),
    Case("loss-qwem-inf-W", lambda: losses.qwem_loss(_with(W, (1, 1), np.inf), P_IJ, P_I),
         r"W has non-finite entries \(first at \[1, 1\]\)", r"diverged run"),
    Case("loss-weighted-G", lambda: losses.weighted_factorization_loss(W, M, np.ones((3, 3))),
         r"M and G .*\(6, 6\) and \(3, 3\)", r"must have the same shape"),
    Case("loss-objective-d",
         lambda: losses.weighted_factorization_objective(W.ravel(), M, np.ones((V, V)), 3),
         r"w .*\(6, 3\); got 12 entries", r"pass the matching d"),
    Case("loss-simclr-shape", lambda: losses.simclr_loss(np.ones((3, 3)), P_IJ),
         r"S and P_ij .*\(3, 3\) and \(6, 6\)", r"must have the same shape"),
    Case("loss-theorem1-nan", lambda: losses.theorem1_constant(M_NAN),
         r"M \(shape \(6, 6\)\) has non-finite", r"pass the finite target"),
    Case("loss-minimize-inner-V", lambda: losses.minimize_sgns_inner(P_IJ, P_I[:3], steps=2),
         r"P_ij must have shape \(V, V\) = \(3, 3\)", r"to match P_i"),
]


@pytest.mark.fault("input")
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_numeric_fault_is_a_clear_error(case: Case):
    with pytest.raises(case.exc) as info:
        case.call()
    msg = str(info.value)
    assert re.search(case.names, msg), f"message does not name the input: {msg!r}"
    assert re.search(case.todo, msg), f"message does not say what to do: {msg!r}"
    assert "read-only" not in msg
    for name, (arr, copy) in SHARED.items():
        assert np.array_equal(arr, copy, equal_nan=True), f"{name} was changed"


def test_case_ids_are_unique():
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.fault("input")
def test_negative_top_eigenvalues_warn_and_say_what_to_do():
    """Eq. 7 assumes the top-d eigenvalues are >= 0: a negative one warns (and is clipped)."""
    Q, _ = np.linalg.qr(RNG.standard_normal((V, V)))
    neg = _ro((Q * np.array([3.0, -0.5, -1.0, -2.0, -3.0, -4.0])) @ Q.T)
    neg = _ro(0.5 * (neg + neg.T))
    with pytest.warns(UserWarning, match=r"2 of the top-3 eigenvalues of M are negative.*use a smaller d"):
        Wc = theory.closed_form_embeddings(neg, 3)
    assert np.allclose(Wc[:, 1:], 0)


def test_valid_inputs_still_pass():
    """The checks reject nothing that is valid: the same functions on the good inputs."""
    co = _co(COUNTS)
    assert np.isclose(stats.skipgram_distribution(co).sum(), 1.0)
    assert np.isclose(stats.unigram_distribution(co).sum(), 1.0)
    Mstar = stats.target_matrix(P_IJ, P_I)
    assert theory.closed_form_embeddings(0.5 * (Mstar + Mstar.T), 2).shape == (V, 2)
    assert np.isfinite(losses.qwem_loss(W, P_IJ, P_I)) and np.isfinite(losses.factorization_loss(W, M))
    assert np.isfinite(losses.sgns_loss(W, P_IJ, P_I, W_context=W))
    assert theory.random_init(np.int64(4), 2, 0.0).shape == (4, 2)
    assert 0.0 <= theory.subspace_overlap(W, W) <= 1.0 + 1e-12
    assert stats.relative_change(M, M) == 0.0
