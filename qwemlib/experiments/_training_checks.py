"""What book/05 reads off the training runs, and its checks of the theory against them.

Each check is a claim with a tolerance (:func:`check_training`); a claim that only the
stored runs (long enough to learn the top features) can support is judged on them and
reported, not asserted, for the short live runs. ``tests/test_experiments_training.py``
feeds each check a wrong prediction and shows that it fails.

Used in: book/05_training.md.
"""

from __future__ import annotations

import numpy as np

from .. import theory
from ._training import RUN_LABELS, TrainingRecords

__all__ = ["half_rise_rows", "moments", "rank_d_floor", "excess_losses", "OV_BOUND", "check_training"]

#: Lower bounds of the final overlap of QWEM (small init) with M*'s top-k eigenvectors: the stored
#: ci run measured top-1 0.984, top-3 0.969, top-10 0.880 (the margins absorb a rerun on other
#: hardware; the stored run itself is deterministic).
OV_BOUND = {1: 0.95, 3: 0.93, 10: 0.83}


def half_rise_rows(rec: TrainingRecords, keys=("qwem-small", "qwem-w2v"), n_modes: int = 5) -> list[dict]:
    """Per run and mode: the time ``s_k^2`` first reaches ``lambda_k / 2`` in SGD and in eq. 11.

    :func:`qwemlib.theory.half_rise_times`, linear between records; ``ratio`` is SGD's
    over the prediction's (1 when the closed form times the step with no fitted factor).
    """
    lam = rec.eigenvalues
    rows = []
    for key in keys:
        r = rec.runs[key]
        n = min(n_modes, r["singular_values"].shape[1])
        t_sgd = theory.half_rise_times(r["times"], r["singular_values"][:, :n] ** 2, lam[:n])
        t_th = theory.half_rise_times(r["theory_t"], r["theory_s2"][:, :n], lam[:n])
        rows += [{"run": RUN_LABELS[key], "mode k": k + 1, "lambda_k": lam[k], "t_half SGD": t_sgd[k],
                  "t_half theory": t_th[k], "ratio": t_sgd[k] / t_th[k]} for k in range(n)]
    return rows


def moments(singular_values, n_modes: int = 2) -> list[int]:
    """Record indices: the start, the first record at which each of the first ``n_modes``
    singular values reaches half its final value, and the end."""
    s = np.asarray(singular_values)
    firsts = [int(np.argmax(s[:, k] >= 0.5 * s[-1, k])) for k in range(n_modes)]
    return sorted(set([0] + firsts + [len(s) - 1]))


def rank_d_floor(M, eigenvalues) -> float:
    """The best rank-d value of ``1/4 ||W W^T - M*||^2``: ``1/4 (||M*||_F^2 - sum_k lambda_k^2)``."""
    return 0.25 * (float(np.sum(M ** 2)) - float(np.sum(np.asarray(eigenvalues) ** 2)))


def excess_losses(run: dict, eigenvalues, floor: float) -> dict[str, np.ndarray]:
    """Excess loss over the rank-d floor: ``theory`` (eq. 11, at ``theory_t``), ``aligned``
    (``1/4 sum_k (s_k^2 - lambda_k)^2`` on SGD's singular values) and ``exact`` (SGD's objective)."""
    lam = np.asarray(eigenvalues)
    return {"theory": 0.25 * np.sum((run["theory_s2"] - lam) ** 2, axis=1),
            "aligned": 0.25 * np.sum((run["singular_values"] ** 2 - lam) ** 2, axis=1),
            "exact": run["objective"] - floor}


def check_training(rec: TrainingRecords, *, vocab: int, floor: float, live_err: float, slope: float,
                   errs: dict, est: dict, ov_bound: dict = OV_BOUND, log=print) -> list[str]:
    """Book/05's checks; prints what it measured and raises ``AssertionError`` on a failed claim.

    Asserted always: the live steps repeat the stored run (relative difference below
    1e-3); the sampler is unbiased (log-log slope within 0.15 of -1/2, 64 batches at
    least 4x better than one); the alternative estimators are less noisy (``est``:
    estimator -> ``{"K = 16": error}``, each at least 1.5x below the previous). Asserted
    on stored runs only: QWEM's final overlaps reach ``ov_bound``; its half-rise times
    of modes 1-3 are within 10 % of eq. 11; the excess loss falls by more than 2x.

    Args:
        rec: the runs (:func:`~qwemlib.experiments.load_or_train`).
        vocab: V (for the overlap of a random d-dimensional subspace, d / V).
        floor: :func:`rank_d_floor`.
        live_err: :func:`~qwemlib.experiments.replay_first_steps`'s ``max_rel_diff``.
        slope, errs: :func:`~qwemlib.experiments.loglog_slope` and the
            :func:`~qwemlib.experiments.gradient_errors` it was fitted to (K = 1 and 64).
        est: :func:`~qwemlib.experiments.estimator_errors`.
        ov_bound: k -> lower bound of the final top-k overlap.
        log: a print-like function.

    Returns:
        The claims that were reported, not asserted (those of the stored runs, for live runs).
    """
    ks = [int(k) for k in rec.runs["qwem-small"]["overlap_k"]]
    q = rec.runs["qwem-small"]
    ov = dict(zip(ks, q["overlap"][-1]))
    ratios = np.array([r["ratio"] for r in half_rise_rows(rec, keys=("qwem-small",), n_modes=3)])
    excess = q["objective"] - floor
    D = len(rec.eigenvalues)
    log(f"source: {rec.source}")
    log(f"live re-check: max relative difference {live_err:.1e}")
    log(f"sampler: log-log slope {slope:.3f}; relative error {errs[1]:.3f} (K=1) -> {errs[64]:.3f} (K=64)")
    log("QWEM small init, final overlaps: " + ", ".join(f"top-{k} {v:.3f}" for k, v in ov.items()))
    log(f"t_half(SGD) / t_half(theory), modes 1-3: {np.round(ratios, 3)}")
    log(f"excess loss {excess[0]:.4g} -> {excess[-1]:.4g}")
    for key in ("sgns-small", "sgns-w2v"):
        o = dict(zip(ks, rec.runs[key]["overlap"][-1]))
        log(f"{RUN_LABELS[key]}: overlap with M*'s top-{ks[-1]} {o[ks[-1]]:.3f} "
            f"(a random {D}-dim subspace: {D / vocab:.3f})")
    if ov[ks[-1]] < 0.95:
        log(f"not reached by the paper's sampler in this budget: top-{ks[-1]} overlap {ov[ks[-1]]:.3f} "
            "< 0.95 (gradient noise of the Setting-1 weights; the lower-variance estimators above "
            "reach it, see tests/test_train.py)")
    log("gradient error of one batch, unigram / uniform / exact: "
        + " / ".join(f"{est[n]['K = 1']:.2f}" for n in est))
    claims = [("live steps repeat the stored run", live_err < 1e-3, True),
              ("sampler slope -1/2", abs(slope + 0.5) < 0.15, True),
              ("64 batches 4x better than one", errs[64] < errs[1] / 4, True),
              ("uniform less noisy than unigram",
               est["uniform"]["K = 16"] < est["unigram"]["K = 16"] / 1.5, True),
              ("exact less noisy than uniform",
               est["exact"]["K = 16"] < est["uniform"]["K = 16"] / 1.5, True)]
    stored = rec.source == "stored"
    claims += [(f"final overlaps reach {ov_bound}",
                all(ov[k] >= b for k, b in ov_bound.items() if k in ov), stored),
               ("half-rise times of modes 1-3 within 10 %", bool(np.all(np.abs(ratios - 1) < 0.10)), stored),
               ("excess loss falls by more than 2x", bool(excess[-1] < excess[0] / 2), stored)]
    failed = [name for name, ok, asserted in claims if asserted and not ok]
    unjudged = [name for name, _, asserted in claims if not asserted]
    if unjudged:
        log(f"reported, not asserted on {rec.source} runs: " + "; ".join(unjudged))
    if failed:
        raise AssertionError("book/05 check failed: " + "; ".join(failed))
    return unjudged
