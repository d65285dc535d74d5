"""book/07's summaries of a :class:`LinearStructure` (private).

What the chapter prints about the linear structure: the tables (pandas, imported
lazily), the one-sided rank correlation of SNR and accuracy, the predicted half-rise
times of each family's accuracy (eq. 13's ``tau_k`` read at ``d_1/2``) beside gradient
flow and SGD, and the one identity the chapter asserts (signal in mean in ``[0, 1]``).
The claims these numbers test are judged in :mod:`._linear_claims`.

Used in: book/07_linear_structure.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..theory import first_crossing
from ._linear import LINEAR_CONSTANTS as _C
from ._linear import LinearStructure
from ._linear_sgd import LinearSGD

__all__ = ["TextSummary", "family_pairs_table", "localization_table", "localization_summary",
           "mp_fit_summary", "snr_summary", "spearman_greater", "snr_accuracy_correlation",
           "rise_fall_fraction", "emergence_scores", "family_summary_table", "RiseTimes", "rise_times",
           "half_max_times", "check_signal_in_mean"]


@dataclass(frozen=True)
class TextSummary:
    """Lines to print and values for ``myst_nb.glue`` (name -> value)."""

    text: str
    glue: dict


def family_pairs_table(ls: LinearStructure):
    """Every Google family: in-vocabulary pairs, whether kept (``N >= n_min``), three examples."""
    import pandas as pd

    kept = set(ls.fams)
    return pd.DataFrame({
        "family": list(ls.pairs_all),
        "pairs in vocabulary": [len(p) for p in ls.pairs_all.values()],
        "kept": [f in kept for f in ls.pairs_all],
        "examples": [", ".join(f"{b}−{a}" for a, b in p[:3]) for p in ls.pairs_all.values()],
    })


def localization_table(ls: LinearStructure):
    """Per family, its mean task vector's top-3 features, their shares and their words."""
    import pandas as pd

    rows, loc = [], ls.loc
    for f in ls.fams:
        for k, p in zip(loc[f].top, loc[f].top_weights):
            rows.append({"family": f, "feature k": k + 1, "share of |mean|²": round(float(p), 3),
                         "words on the side the mean points to": ls.feature_words(k, np.sign(ls.rbar[f][k]))})
    return pd.DataFrame(rows)


def localization_summary(ls: LinearStructure) -> TextSummary:
    """Participation ratios and largest single-feature shares of the mean task vectors."""
    fams, D, loc, short = ls.fams, ls.D, ls.loc, ls.short
    pr = {f: loc[f].effective_number for f in fams}
    top_share = {f: float(loc[f].top_weights[0]) for f in fams}
    conc = max(fams, key=top_share.get)
    k_conc = int(loc[conc].top[0])
    side = np.sign(ls.rbar[conc][k_conc])
    text = "\n".join([
        f"participation ratio of the mean task vector (out of d = {D}):",
        ", ".join(f"{short[f]} {pr[f]:.1f}" for f in fams),
        f"largest single-feature share per family: {min(top_share.values()):.0%} to "
        f"{max(top_share.values()):.0%}",
        f"most concentrated: {conc}, {top_share[conc]:.0%} of its mean on feature {k_conc + 1}, "
        f"whose words on that side are: {ls.feature_words(k_conc, side, 8)}"])
    n_half = sum(v > 0.5 for v in top_share.values())
    glue = {
        "share_lo": 100 * min(top_share.values()), "share_hi": 100 * max(top_share.values()),
        "pr_lo": min(pr.values()), "pr_hi": max(pr.values()),
        "loc_single": "No family's mean task vector sits on a single feature" if n_half == 0 else
        f"{n_half} of the {len(fams)} families put more than half of their mean task vector on one feature",
        "loc_spread": f"out of d = {D}, so the mean effectively uses {100 * min(pr.values()) / D:.0f} % to "
        f"{100 * max(pr.values()) / D:.0f} % of the features",
    }
    return TextSummary(text, glue)


def mp_fit_summary(ls: LinearStructure) -> str:
    """One line per family: ``d_eff`` at each fitted size, outliers and KS distance at full ``d``."""
    D, lines = ls.D, ["d = " + str(ls.d_list)]
    for f in ls.fams:
        fit = ls.fits[f, D]
        lines.append(f"{f:28s} N={ls.Ns[f]:2d}  d_eff = "
                     + ", ".join(f"{ls.fits[f, d].d_eff:5.1f}" for d in ls.d_list)
                     + f"   outliers at d={D}: {fit.n_outliers}   KS = {fit.ks_distance:.3f}")
    return "\n".join(lines)


def snr_summary(ls: LinearStructure) -> TextSummary:
    """Where each family's SNR peaks, how often the normalised SNR and the baseline fall, and the
    families' fall against random pairs' (:func:`rise_fall_fraction`; glue ``fall_text``)."""
    fams, D, short = ls.fams, ls.D, ls.short
    exc_peak_inside = [int(ls.d_all[np.argmax(ls.excess[f])]) < D for f in fams]
    base_falls = {N: bool(b[-1] < b.max()) for N, b in ls.base95.items()}
    peaks = "; ".join(f"{short[f]} {ls.snr_max[f]:.1f} at d={ls.peak_d[f]}" for f in fams)
    _, fall = rise_fall_fraction(ls)
    if fall:
        a, b = np.array(list(fall.values())).T
        fall_text = (f"{int(np.sum(a > b))} of the {len(fams)} families fall from their peak to d = {D} "
                     "by more than the 95th percentile of random word pairs with the same N (max SNR / "
                     f"final SNR {a.min():.2f} to {a.max():.2f}, against {b.min():.2f} to {b.max():.2f} "
                     "for random pairs)")
    else:
        fall_text = ("the stored results predate the random-pair null of this fall (tools/make_results.py "
                     "stores it now), so the families' fall is not compared with random pairs here")
    text = (f"SNR peak: {peaks}\n"
            f"baseline-normalised SNR peaks before d = {D} for {sum(exc_peak_inside)} of {len(fams)} "
            "families; "
            f"the random-pair baseline itself falls after a peak for {sum(base_falls.values())} of "
            f"{len(base_falls)} values of N\n" + fall_text)
    return TextSummary(text, {"n_exc_inside": int(sum(exc_peak_inside)), "fall_text": fall_text})


def spearman_greater(x, y) -> tuple[float, float]:
    """Spearman's rho of ``x`` and ``y`` and its one-sided p-value (alternative: rho > 0).

    A constant ``x`` or ``y`` orders nothing: ``(0.0, 1.0)`` instead of scipy's NaN.
    """
    from scipy import stats as sps

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0, 1.0
    r = sps.spearmanr(x, y, alternative="greater")
    return float(r.statistic), float(r.pvalue)


def snr_accuracy_correlation(ls: LinearStructure) -> dict:
    """Spearman's rho (and one-sided p, :func:`spearman_greater`) of accuracy at full ``d`` against
    max SNR, max SNR / baseline and final SNR.

    Returns a dict with ``x_raw``, ``x_exc``, ``y_acc`` (one entry per family), ``rho_*``/``p_*``
    for ``raw``, ``exc`` and ``fin``, and ``text`` (three lines).
    """
    fams, D = ls.fams, ls.D
    out = {"x_raw": np.array([ls.snr_max[f] for f in fams]),
           "x_exc": np.array([ls.excess_max[f] for f in fams]),
           "y_acc": np.array([ls.acc_final[f] for f in fams])}
    for key, x in (("raw", out["x_raw"]), ("exc", out["x_exc"]), ("fin", [ls.snr_d[f][-1] for f in fams])):
        out[f"rho_{key}"], out[f"p_{key}"] = spearman_greater(x, out["y_acc"])
    out["text"] = "\n".join([
        f"Spearman(max SNR, accuracy at d={D})            = {out['rho_raw']:+.2f} (p = {out['p_raw']:.2f}, "
        f"{len(fams)} families; p one-sided, rho > 0)",
        f"Spearman(max SNR / baseline, accuracy at d={D}) = {out['rho_exc']:+.2f} (p = {out['p_exc']:.2f})",
        f"Spearman(SNR at d={D}, accuracy at d={D})       = {out['rho_fin']:+.2f} (p = {out['p_fin']:.2f})"])
    return out


def rise_fall_fraction(ls: LinearStructure, pct: float = 95.0) -> tuple[float, dict]:
    """Fraction of families whose peak-to-final SNR beats random pairs of the same ``N``; per-family ratios.

    Returns ``(NaN, {})`` when ``ls.base_fall`` is missing (a stored file that predates it).
    """
    if ls.base_fall is None:
        return float("nan"), {}
    fall = {f: (ls.snr_max[f] / float(ls.snr_d[f][-1]), float(np.percentile(ls.base_fall[ls.Ns[f]], pct)))
            for f in ls.fams}
    return float(np.mean([a > b for a, b in fall.values()])), fall


def family_summary_table(ls: LinearStructure):
    """Per family: fitted ``d_eff`` per size, outliers, KS (and on noise), signal in mean, SNRs, accuracy."""
    import pandas as pd

    fams, D, fits = ls.fams, ls.D, ls.fits
    return pd.DataFrame({
        "family": fams,
        "N": [ls.Ns[f] for f in fams],
        **{f"d_eff (d={d})": [round(fits[f, d].d_eff, 1) for f in fams] for d in ls.d_list},
        f"outliers (d={D})": [fits[f, D].n_outliers for f in fams],
        f"KS (d={D})": [round(fits[f, D].ks_distance, 3) for f in fams],
        "KS of pure noise": [round(ls.null_ks[ls.Ns[f]], 3) for f in fams],
        f"signal in mean (d={D})": [round(ls.sim[f, D], 3) for f in fams],
        "max SNR": [round(ls.snr_max[f], 2) for f in fams],
        "d at max SNR": [ls.peak_d[f] for f in fams],
        f"SNR (d={D})": [round(float(ls.snr_d[f][-1]), 2) for f in fams],
        "max SNR / baseline": [round(ls.excess_max[f], 2) for f in fams],
        f"accuracy (d={D})": [round(float(ls.acc_final[f]), 3) for f in fams],
    }).set_index("family")


# --------------------------------------------------------------------------- rise times


def emergence_scores(t_pred, t_obs, close: float = 1.5) -> dict:
    """How well per-family predicted times ``t_pred`` account for observed ones ``t_obs``.

    Returns ``rho`` and ``p`` (one-sided Spearman, :func:`spearman_greater`), ``err`` (mean
    ``|ln(t_obs / t_pred)|``), the best family-independent time ``c`` (the median of ``t_obs``
    in log, which minimises that error over constants), its error ``err_const``, ``ratio =
    err / err_const`` (``inf`` when a constant fits exactly and the prediction does not), and
    ``n_close``/``n_close_const``: families within a factor ``close`` of either.
    """
    tp, to = np.asarray(t_pred, dtype=np.float64), np.asarray(t_obs, dtype=np.float64)
    if tp.shape != to.shape or tp.ndim != 1 or np.any(tp <= 0) or np.any(to <= 0):
        raise ValueError(f"t_pred {tp.shape} and t_obs {to.shape} must be equal-length positive 1-d arrays "
                         "of times, one per family")
    rho, p = spearman_greater(tp, to)
    lo = np.log(to)
    c = float(np.exp(np.median(lo)))
    err, err_const = float(np.mean(np.abs(lo - np.log(tp)))), float(np.mean(np.abs(lo - np.log(c))))
    ratio = err / err_const if err_const > 0 else (np.inf if err > 0 else 1.0)
    return dict(rho=rho, p=p, err=err, err_const=err_const, c=c, ratio=float(ratio),
                n_close=int(np.sum(np.abs(lo - np.log(tp)) <= np.log(close))),
                n_close_const=int(np.sum(np.abs(lo - np.log(c)) <= np.log(close))))




def half_max_times(t, acc) -> np.ndarray:
    """First record at which each column of ``acc`` (record, family) reaches half its maximum.

    :func:`qwemlib.theory.first_crossing` with ``interpolate=False`` (the chapter reads a
    record, not a time between records).
    """
    acc = np.asarray(acc, dtype=np.float64)
    return np.atleast_1d(first_crossing(t, acc, 0.5 * acc.max(axis=0), interpolate=False))


def _within(ratios, factor: float) -> np.ndarray:
    return np.abs(np.log(np.asarray(ratios, dtype=np.float64))) <= np.log(factor)


@dataclass(frozen=True)
class RiseTimes:
    """Predicted (``t_pred = tau_{d_1/2}``) against observed half-rise times, per family.

    ``timing``: the chapter's table (pandas); ``ratio_med``/``n_close``: median of
    ``t_flow / t_pred`` and how many families are within a factor 1.5; the ``*_sgd``
    fields likewise for SGD (``None`` without a stored run); ``scores``: :func:`emergence_scores`
    of ``t_flow`` and of ``t_sgd`` (where stored) against ``t_pred``; ``text``: what the chapter prints.
    """

    pred: dict
    timing: object
    ratio_med: float
    n_close: int
    ratio_sgd_med: float | None
    n_close_sgd: int | None
    sgd_text: str
    text: str
    scores: dict


def rise_times(ls: LinearStructure, sgd: LinearSGD | None, preset: str = "this", *, close: float = 1.5,
               t_pred: np.ndarray | None = None) -> RiseTimes:
    """Each family's time to half its maximum accuracy: predicted from ``d`` (eq. 13), flow, SGD.

    The closed-form accuracy-versus-``d`` curve reaches half its maximum at ``d_1/2``; the
    prediction is ``t_pred = tau_{d_1/2}``. ``t_pred`` overrides it (one time per family), for
    tests that feed a wrong prediction.
    """
    import pandas as pd

    if ls.acc_flow is None:
        raise KeyError("linear_structure.npz has no gradient flow (made with --no-flow): rerun "
                       "`python tools/make_results.py` without it")
    fams, short, tau = ls.fams, ls.short, ls.tau
    d_half = half_max_times(ls.d_grid, ls.acc_grid).astype(int)
    t_flow = half_max_times(ls.flow_times, ls.acc_flow)
    t_pred = tau[d_half - 1] if t_pred is None else np.asarray(t_pred, dtype=np.float64)
    pred = {}
    for j, f in enumerate(fams):
        pred[f] = dict(d_half=int(d_half[j]), t_pred=float(t_pred[j]), t_flow=float(t_flow[j]),
                       max_acc_closed=float(ls.acc_grid[:, j].max()),
                       max_acc_flow=float(ls.acc_flow[:, j].max()))
    if sgd is not None:
        t_sgd = half_max_times(sgd.times, sgd.acc)
        for j, f in enumerate(fams):
            pred[f] |= dict(t_sgd=float(t_sgd[j]), max_acc_sgd=float(sgd.acc[:, j].max()))
    timing = pd.DataFrame(pred).T
    timing["t_flow / t_pred"] = timing["t_flow"] / timing["t_pred"]
    ratio_sgd_med = n_close_sgd = None
    if sgd is not None:
        timing["t_sgd / t_pred"] = timing["t_sgd"] / timing["t_pred"]
        r_sgd = timing["t_sgd / t_pred"].astype(float)
        ratio_sgd_med = float(np.median(r_sgd))
        n_close_sgd = int(np.sum(_within(r_sgd, close)))
        misses = [f"{short[f]} (N = {ls.Ns[f]}, {'early' if r < 1 else 'late'} by a factor "
                  f"{max(r, 1 / r):.1f}, max accuracy {pred[f]['max_acc_sgd']:.2f})"
                  for f, r in r_sgd.items() if not _within(r, close)]
        sgd_text = (f"For {n_close_sgd} of the {len(fams)} families the SGD run reaches half its maximum "
                    "accuracy "
                    f"within a factor {close:g} of the predicted time; the median ratio t_sgd / t_pred is "
                    f"{ratio_sgd_med:.2f}" + (f". Outside that factor: {'; '.join(misses)}" if misses else "")
                    + ".")
    else:
        sgd_text = (f"No SGD run is stored at the {preset} preset yet (QWEM SGD at V = {ls.V:,}, "
                    f"d = {ls.D}), so the prediction is checked against the gradient flow only.")
    r_flow = timing["t_flow / t_pred"].astype(float)
    lines = [sgd_text, f"sigma = {_C['flow_sigma']:g}: tau_1 = {tau[0]:.4f}, tau_d = {tau[-1]:.4f}; "
             f"flow with {ls.flow_nsteps} steps"]
    for f in fams:
        r = pred[f]["t_flow"] / pred[f]["t_pred"]
        if not _within(r, close):
            lines.append(f"outside a factor {close:g}: {f}, flow {'early' if r < 1 else 'late'} by a factor "
                         f"{max(r, 1 / r):.1f}")
    return RiseTimes(pred=pred, timing=timing, ratio_med=float(np.median(timing["t_flow / t_pred"])),
                     n_close=int(np.sum(_within(r_flow, close))), ratio_sgd_med=ratio_sgd_med,
                     n_close_sgd=n_close_sgd, sgd_text=sgd_text, text="\n".join(lines),
                     scores={src: emergence_scores(timing["t_pred"].astype(float), timing[src].astype(float),
                                                   close) for src in ("t_flow", "t_sgd") if src in timing})


# --------------------------------------------------------------------------- checks


def check_signal_in_mean(ls: LinearStructure) -> None:
    """An identity, not a claim: signal in mean (eq. 26) lies in ``[0, 1]`` for every family and ``d``.

    ``1^T G 1 / N`` is a Rayleigh quotient of ``G = R R^T``, so it lies between 0 and
    ``lambda_max(G)``; a value outside means a bug in :func:`qwemlib.rmt.signal_in_mean`.
    """
    for key, value in ls.sim.items():
        assert 0.0 <= value <= 1.0 + 1e-12, (key, value)
