"""What book/05 reads off the training runs: the paper's claims about them judged, and the
trainer's own checks.

The paper's claims about SGD (Figure 2: each mode rises when eq. 11 says, with no fitted
factor; Section 3 with Theorem 1: QWEM trained by SGD ends on M*'s top-d eigenvectors) are
:data:`CLAIMS` of the claims register, with their criteria fixed here, judged per QWEM run
by :func:`training_verdicts` (:func:`measure_claims` from the stored runs). What is a
property of our code, not a claim of the paper (the live replay repeats the stored run,
the sampler is unbiased, the estimators are ordered by noise) stays an assert in
:func:`check_training`. ``tests/test_experiments_training.py`` feeds each criterion a
wrong prediction (a constant half-rise time, a shifted clock, a subspace that is not
learned) and shows the verdict flip or the check fail.

Used in: book/05_training.md, tools/verdicts.py (through :func:`measure_claims`).
"""

from __future__ import annotations

import numpy as np

from .. import theory
from ._register import Claim, Criterion, Verdict, judge
from ._training import RUN_LABELS, TrainingRecords

__all__ = ["CLAIMS", "CLAIM_RUNS", "AGREEMENT", "MIN_MODES", "half_rise_rows", "mode_agreement", "moments",
           "rank_d_floor", "excess_losses", "training_verdicts", "measure_claims", "check_training"]

#: The QWEM runs the claims are judged on, by role (run key -> role), first present first.
CLAIM_RUNS = {"paper": ("qwem-small",), "variance-reduced": ("qwem-exact-small", "qwem-uniform-small")}
#: Figure 2's criterion: the median over modes of |t_half(SGD) / t_half(eq. 11) - 1| at most
#: this. 10 %: the effect it must detect is a clock off by a constant factor (a missing 2 in
#: t = 2 g sum(eta) moves every mode by 100 %), or a prediction that ignores the eigenvalues
#: (a constant time is off by a factor ~5 over the first 50 modes at ci, ~16 over 200 at local).
AGREEMENT = 0.10
#: Below this many modes that reach half height in SGD, Figure 2's claim is "not testable".
MIN_MODES = 3


def _fig2(role: str, where: str) -> Claim:
    return Claim(
        key=f"fig2-clock-{role}",
        statement=f"QWEM SGD ({role} estimator) learns each eigenmode of M* when the closed form "
                  "(eq. 11, from the run's own W(0), on t = 2 g sum(eta)) says, with no fitted factor",
        where=where, paper_value="",
        criterion=Criterion("median over the modes reached of |t_half(SGD) / t_half(eq. 11) - 1|", "<=",
                            AGREEMENT,
                            testable_if=f"the run is stored and >= {MIN_MODES} modes reach half height"),
        chapter="book/05_training.md")


def _conv(role: str) -> Claim:
    return Claim(
        key=f"thm1-sgd-subspace-{role}",
        statement=f"QWEM trained by SGD ({role} estimator) ends with span(W) on M*'s top-d "
                  "eigenvectors (Theorem 1's minimizer, reached from small initialization)",
        where="Section 3, Theorem 1; Figure 2", paper_value="",
        criterion=Criterion("final subspace overlap of span(W) with M*'s top-d eigenvectors", ">=", 0.9,
                            testable_if="the run is stored"),
        chapter="book/05_training.md")


#: book/05's claims (the register's keys ``fig2-clock-*`` and ``thm1-sgd-subspace-*``).
CLAIMS = (_fig2("paper", "Figure 2 (the paper's sampler)"),
          _fig2("variance-reduced", "Figure 2 (our estimator)"), _conv("paper"), _conv("variance-reduced"))
#: claim key -> the role (:data:`CLAIM_RUNS`) of the run it is judged on.
_ROLE = {c.key: role for c, role in zip(CLAIMS, ("paper", "variance-reduced") * 2)}


def half_rise_rows(rec: TrainingRecords, keys=("qwem-small",), n_modes: int | None = 5) -> list[dict]:
    """Per run and mode: the time ``s_k^2`` first reaches ``lambda_k / 2`` in SGD and in eq. 11.

    :func:`qwemlib.theory.half_rise_times`, linear between records; ``ratio`` is SGD's
    over the prediction's (1 when the closed form times the step with no fitted factor), NaN
    for a mode that does not reach half height within the run. ``n_modes=None``: all ``d``.
    """
    lam = rec.eigenvalues
    rows = []
    for key in keys:
        r = rec.runs[key]
        n = r["singular_values"].shape[1] if n_modes is None else min(n_modes, r["singular_values"].shape[1])
        t_sgd = theory.half_rise_times(r["times"], r["singular_values"][:, :n] ** 2, lam[:n])
        t_th = theory.half_rise_times(r["theory_t"], r["theory_s2"][:, :n], lam[:n])
        rows += [{"run": RUN_LABELS[key], "mode k": k + 1, "lambda_k": lam[k], "t_half SGD": t_sgd[k],
                  "t_half theory": t_th[k], "ratio": t_sgd[k] / t_th[k]} for k in range(n)]
    return rows


def mode_agreement(t_sgd, t_theory) -> dict:
    """The distribution over modes of ``t_half(SGD) / t_half(theory)``: ``n`` (modes reached by
    both), ``median_abs_err`` (median of ``|ratio - 1|``, Figure 2's criterion), ``median``,
    ``worst`` (the ratio farthest from 1 in log), ``within10`` (fraction within 10 %),
    ``ratios`` (all, NaN where not reached)."""
    ratio = np.asarray(t_sgd, float) / np.asarray(t_theory, float)
    ok = np.isfinite(ratio)
    r = ratio[ok]
    if not r.size:
        return {"n": 0, "median_abs_err": np.nan, "median": np.nan, "worst": np.nan, "within10": np.nan,
                "ratios": ratio}
    return {"n": int(r.size), "median_abs_err": float(np.median(np.abs(r - 1))),
            "median": float(np.median(r)), "worst": float(r[np.argmax(np.abs(np.log(r)))]),
            "within10": float(np.mean(np.abs(r - 1) <= 0.1)), "ratios": ratio}


def _run_for(rec: TrainingRecords, role: str) -> str | None:
    return next((k for k in CLAIM_RUNS[role] if k in rec.runs), None)


def training_verdicts(rec: TrainingRecords | None, *, predicted: dict | None = None) -> list[Verdict]:
    """:data:`CLAIMS` judged on the stored runs (``None``: none stored, all "not testable").

    ``predicted``: run key -> per-mode predicted half-rise times replacing eq. 11's (the tests'
    wrong predictions); default eq. 11 from each run's ``W(0)`` (its stored ``theory_s2``).
    """
    out = []
    for claim in CLAIMS:
        role = _ROLE[claim.key]
        key = _run_for(rec, role) if rec is not None else None
        if key is None:
            gone = [k for k in CLAIM_RUNS[role] if rec is not None and k in rec.diverged]
            why = (f"the {role} QWEM run diverged ({rec.diverged[gone[0]].split(':')[0]}), none stored"
                   if gone else f"no {role} QWEM run stored")
            out.append(judge(claim, np.nan, testable=False, detail=why))
            continue
        r = rec.runs[key]
        if claim.key.startswith("fig2"):
            lam = rec.eigenvalues
            t_sgd = theory.half_rise_times(r["times"], r["singular_values"] ** 2, lam)
            t_th = (predicted or {}).get(key)
            t_th = theory.half_rise_times(r["theory_t"], r["theory_s2"], lam) if t_th is None else t_th
            a = mode_agreement(t_sgd, t_th)
            out.append(judge(claim, a["median_abs_err"], testable=a["n"] >= MIN_MODES,
                             detail=f"{RUN_LABELS.get(key, key)}: {a['n']} of {len(lam)} modes reach "
                                    f"half height; ratio SGD/theory median {a['median']:.3f}, worst "
                                    f"{a['worst']:.3f}, {100 * a['within10']:.0f} % within 10 %"))
        else:
            ks = [int(k) for k in r["overlap_k"]]
            ov = float(r["overlap"][-1, ks.index(len(rec.eigenvalues))])
            out.append(judge(claim, ov, detail=f"{RUN_LABELS.get(key, key)}: top-{ks[-1]} overlap {ov:.3f} "
                                               f"at t = {r['times'][-1]:.3f}"))
    return out


def measure_claims(preset) -> list[Verdict]:
    """:func:`training_verdicts` on the stored runs of ``preset`` (tools/verdicts.py)."""
    from ._training import load_stored_runs

    return training_verdicts(load_stored_runs(preset))


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
                   errs: dict, est: dict, log=print) -> list[Verdict]:
    """Book/05's checks; prints what it measured, raises ``AssertionError`` on a failed one, and
    returns the verdicts on the paper's claims (:func:`training_verdicts`), evaluated, not asserted.

    Asserted (properties of our trainer, not claims of the paper): the live steps repeat the
    stored run (relative difference below 1e-3); the sampler is unbiased (log-log slope
    within 0.15 of -1/2, 64 batches at least 4x better than one); the alternative estimators
    are less noisy (``est``: estimator -> ``{"K = 16": error}``, each at least 1.5x below the
    previous); every claim's criterion was evaluated.

    Args:
        rec: the stored runs (:func:`~qwemlib.experiments.load_training_runs`).
        vocab: V (for the overlap of a random d-dimensional subspace, d / V).
        floor: :func:`rank_d_floor`.
        live_err: :func:`~qwemlib.experiments.replay_first_steps`'s ``max_rel_diff``.
        slope, errs: :func:`~qwemlib.experiments.loglog_slope` and the
            :func:`~qwemlib.experiments.gradient_errors` it was fitted to (K = 1 and 64).
        est: :func:`~qwemlib.experiments.estimator_errors`.
        log: a print-like function.
    """
    from ._register import VERDICTS

    D = len(rec.eigenvalues)
    log(f"source: {rec.source}")
    log(f"live re-check: max relative difference {live_err:.1e}")
    log(f"sampler: log-log slope {slope:.3f}; relative error {errs[1]:.3f} (K=1) -> {errs[64]:.3f} (K=64)")
    for key, r in rec.runs.items():
        ks = [int(k) for k in r["overlap_k"]]
        excess = r["objective"] - floor
        log(f"{RUN_LABELS.get(key, key)}: final overlaps "
            + ", ".join(f"top-{k} {v:.3f}" for k, v in zip(ks, r["overlap"][-1]))
            + f" (a random {D}-dim subspace: {D / vocab:.3f})"
            + (f"; excess loss {excess[0]:.4g} -> {excess[-1]:.4g}" if np.isfinite(excess[-1]) else ""))
    log("gradient error of one batch, unigram / uniform / exact: "
        + " / ".join(f"{est[n]['K = 1']:.2f}" for n in est))
    checks = [("live steps repeat the stored run", live_err < 1e-3),
              ("sampler slope -1/2", abs(slope + 0.5) < 0.15),
              ("64 batches 4x better than one", errs[64] < errs[1] / 4),
              ("uniform less noisy than unigram", est["uniform"]["K = 16"] < est["unigram"]["K = 16"] / 1.5),
              ("exact less noisy than uniform", est["exact"]["K = 16"] < est["uniform"]["K = 16"] / 1.5)]
    verdicts = training_verdicts(rec)
    checks += [(f"criterion of {v.claim.key} evaluated", v.verdict in VERDICTS) for v in verdicts]
    for v in verdicts:
        log(f"[{v.verdict}] {v.claim.key}: {v.detail}")
    failed = [name for name, ok in checks if not ok]
    if failed:
        raise AssertionError("book/05 check failed: " + "; ".join(failed))
    return verdicts
