"""book/07's summaries, verdicts and checks of a :class:`LinearStructure` (private).

Everything the chapter prints or asserts about the linear structure, in one place so that
each check can be fed a wrong prediction in a unit test (tests/test_experiments_linear.py):
the tables (pandas, imported lazily), the rank correlation of SNR and accuracy, the
paper's claims with a verdict each, the predicted half-rise times of each family's
accuracy (eq. 13's ``tau_k`` read at ``d_1/2``) against gradient flow and SGD, and the
chapter's final assertions.

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
           "mp_fit_summary", "snr_summary", "snr_accuracy_correlation", "family_summary_table", "verdict",
           "correlation_verdict", "linear_claims_table", "RiseTimes", "rise_times", "half_max_times",
           "check_mp_bulk", "check_best_family",
           "check_signal_in_mean", "check_flow_timing", "check_sgd_timing"]


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
    n_wide = sum(v >= D / 2 for v in pr.values())
    spread = ("a minority in every family, not spread evenly, as the paper describes"
              if max(pr.values()) < D / 2
              else f"more than half in {n_wide} families, spread rather than localized")
    glue = {
        "share_lo": 100 * min(top_share.values()), "share_hi": 100 * max(top_share.values()),
        "pr_lo": min(pr.values()), "pr_hi": max(pr.values()),
        "loc_single": "No family's mean task vector sits on a single feature" if n_half == 0 else
        f"{n_half} of the {len(fams)} families put more than half of their mean task vector on one feature",
        "loc_spread": f"out of d = {D}, so the mean effectively uses {100 * min(pr.values()) / D:.0f} % to "
        f"{100 * max(pr.values()) / D:.0f} % of the features: " + spread,
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
    """Where each family's SNR peaks, and how often the baseline-normalised SNR and the baseline fall."""
    fams, D, short = ls.fams, ls.D, ls.short
    exc_peak_inside = [int(ls.d_all[np.argmax(ls.excess[f])]) < D for f in fams]
    base_falls = {N: bool(b[-1] < b.max()) for N, b in ls.base95.items()}
    peaks = "; ".join(f"{short[f]} {ls.snr_max[f]:.1f} at d={ls.peak_d[f]}" for f in fams)
    text = (f"SNR peak: {peaks}\n"
            f"baseline-normalised SNR peaks before d = {D} for {sum(exc_peak_inside)} of {len(fams)} "
            "families; "
            f"the random-pair baseline itself falls after a peak for {sum(base_falls.values())} of "
            f"{len(base_falls)} values of N")
    return TextSummary(text, {"n_exc_inside": int(sum(exc_peak_inside))})


def snr_accuracy_correlation(ls: LinearStructure) -> dict:
    """Spearman's rho (and p) of accuracy at full ``d`` against max SNR, max SNR / baseline, final SNR.

    Returns a dict with ``x_raw``, ``x_exc``, ``y_acc`` (one entry per family), ``rho_*``/``p_*``
    for ``raw``, ``exc`` and ``fin``, and ``text`` (three lines).
    """
    from scipy import stats as sps

    fams, D = ls.fams, ls.D
    out = {"x_raw": np.array([ls.snr_max[f] for f in fams]),
           "x_exc": np.array([ls.excess_max[f] for f in fams]),
           "y_acc": np.array([ls.acc_final[f] for f in fams])}
    for key, x in (("raw", out["x_raw"]), ("exc", out["x_exc"]), ("fin", [ls.snr_d[f][-1] for f in fams])):
        rho, p = sps.spearmanr(x, out["y_acc"])
        out[f"rho_{key}"], out[f"p_{key}"] = float(rho), float(p)
    out["text"] = "\n".join([
        f"Spearman(max SNR, accuracy at d={D})            = {out['rho_raw']:+.2f} (p = {out['p_raw']:.2f}, "
        f"{len(fams)} families)",
        f"Spearman(max SNR / baseline, accuracy at d={D}) = {out['rho_exc']:+.2f} (p = {out['p_exc']:.2f})",
        f"Spearman(SNR at d={D}, accuracy at d={D})       = {out['rho_fin']:+.2f} (p = {out['p_fin']:.2f})"])
    return out


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


def verdict(flags) -> str:
    """``"holds"`` if every flag is true, ``"does not hold"`` if none is, else ``"partly (k of n)"``."""
    k, n = int(np.sum(flags)), len(flags)
    return "holds" if k == n else ("does not hold" if k == 0 else f"partly ({k} of {n})")


def correlation_verdict(rho: float, p: float) -> str:
    """A positive rho with p < 0.05 holds; a positive rho without significance holds partly."""
    return "holds" if (rho > 0 and p < 0.05) else ("partly" if rho > 0 else "does not hold")


def linear_claims_table(ls: LinearStructure, corr: dict, preset: str):
    """The paper's qualitative claims (Sec. 4, App. A.6) beside what ``ls`` measured, with verdicts.

    Returns ``(DataFrame, glue)``; ``glue`` has ``n_spike``, ``n_rise_fall``, ``n_sim``, ``n_above``.
    """
    import pandas as pd

    fams, D, fits, sim = ls.fams, ls.D, ls.fits, ls.sim
    spike = [fits[f, D].n_outliers >= 1 for f in fams]
    one_spike = [fits[f, D].n_outliers == 1 for f in fams]
    low_deff = [fits[f, D].d_eff < D for f in fams]
    rise_fall = [(1 < ls.peak_d[f] < D) and ls.snr_d[f][-1] <= 0.8 * ls.snr_max[f] for f in fams]
    sim_hi = [sim[f, D] > 0.9 for f in fams]
    above_noise = [ls.excess_max[f] > 1 for f in fams]
    rho, p = corr["rho_raw"], corr["p_raw"]
    rows = [
        ("The Gram spectrum has an outlier beyond the MP bulk (Sec. 4)",
         f"{sum(spike)} of {len(fams)} families have ≥ 1 outlier at d={D} ({sum(one_spike)} exactly one); "
         f"{sum(fits[k].n_outliers >= 1 for k in fits)} of {len(fits)} fits over d in {ls.d_list}",
         verdict(spike)),
        ("d_eff is below d, often much below (App. A.6)",
         f"median d_eff/d = {np.median([fits[f, D].d_eff / D for f in fams]):.2f} at d={D}",
         verdict(low_deff)),
        ("SNR first rises, then falls as d grows (Sec. 4)",
         f"{sum(rise_fall)} of {len(fams)} families peak inside (1, {D}) and end ≤ 0.8 × their peak",
         verdict(rise_fall)),
        ("Higher max SNR, higher analogy accuracy (Sec. 4, Fig. 4)",
         f"Spearman ρ = {rho:+.2f}, p = {p:.2f} over {len(fams)} families", correlation_verdict(rho, p)),
        ("Signal in mean > 0.9 for every family (App. A.6)",
         f"{sum(sim_hi)} of {len(fams)} above 0.9 at d={D}; min {min(sim[f, D] for f in fams):.2f}",
         verdict(sim_hi)),
        ("(ours) the SNR peak beats random word pairs (95th pct.)",
         f"{sum(above_noise)} of {len(fams)} families", verdict(above_noise)),
    ]
    table = pd.DataFrame(rows, columns=["paper's claim (our paraphrase)", f"measured here ({preset} preset)",
                                        "verdict"])
    glue = {"n_spike": int(sum(spike)), "n_rise_fall": int(sum(rise_fall)), "n_sim": int(sum(sim_hi)),
            "n_above": int(sum(above_noise))}
    return table, glue


# --------------------------------------------------------------------------- rise times


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
    fields likewise for SGD (``None`` without a stored run); ``text``: what the chapter prints.
    """

    pred: dict
    timing: object
    ratio_med: float
    n_close: int
    ratio_sgd_med: float | None
    n_close_sgd: int | None
    sgd_text: str
    text: str


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
                     n_close_sgd=n_close_sgd, sgd_text=sgd_text, text="\n".join(lines))


# --------------------------------------------------------------------------- checks


def check_mp_bulk(ls: LinearStructure, bound: float = 0.15, loose: float = 0.25, n_big: int = 20) -> str:
    """The MP fit describes the bulk: KS < ``bound`` at full ``d`` for ``N >= n_big``, < ``loose`` for all."""
    D = ls.D
    big = [f for f in ls.fams if ls.Ns[f] >= n_big]
    for f in big:
        assert ls.fits[f, D].ks_distance < bound, (f, ls.fits[f, D].ks_distance)
    for f in ls.fams:
        assert ls.fits[f, D].ks_distance < loose, (f, ls.fits[f, D].ks_distance)
    return (f"check passed: {len(big)} families with N >= {n_big} (KS < {bound}); "
            f"all {len(ls.fams)} with KS < {loose}")


def check_best_family(ls: LinearStructure) -> str:
    """The family of largest max SNR beats the random-pair 95th percentile where its SNR peaks (<= D)."""
    best = max(ls.fams, key=lambda f: ls.snr_max[f])
    d_b = ls.peak_d[best]
    snr_b, base_b = ls.snr_d[best][d_b - 1], ls.base95[ls.Ns[best]][d_b - 1]
    assert d_b <= ls.D and snr_b > base_b, (best, d_b, snr_b, base_b)
    return f"best family {best}: SNR {snr_b:.2f} at d = {d_b} vs random-pair 95th percentile {base_b:.2f}"


def check_signal_in_mean(ls: LinearStructure) -> None:
    """Signal in mean (eq. 26 of the paper) lies in ``[0, 1]`` for every family and ``d``."""
    for key, value in ls.sim.items():
        assert 0.0 <= value <= 1.0 + 1e-12, (key, value)


def check_flow_timing(rise: RiseTimes, factor: float = 2.0) -> str:
    """The median ``t_flow / t_pred`` lies within ``factor`` of 1."""
    assert 1 / factor <= rise.ratio_med <= factor, rise.ratio_med
    return f"median t_flow / t_pred = {rise.ratio_med:.2f}"


def check_sgd_timing(rise: RiseTimes, factor: float = 1.5, preset: str = "this") -> str:
    """Median ``t_sgd / t_pred`` within ``factor`` of 1 and at least half the families within it.

    Without a stored SGD run there is nothing to check, and the returned line says so. The
    per-family count uses the factor of :func:`rise_times` (1.5 in the chapter).
    """
    if rise.ratio_sgd_med is None:
        return f"SGD: not checked at the {preset} preset (no SGD run stored there yet)"
    n_fams = len(rise.pred)
    assert abs(np.log(rise.ratio_sgd_med)) <= np.log(factor), rise.ratio_sgd_med
    assert rise.n_close_sgd >= n_fams / 2, (rise.n_close_sgd, n_fams)
    return (f"SGD: median t_sgd / t_pred = {rise.ratio_sgd_med:.2f} (within a factor {factor}); "
            f"{rise.n_close_sgd} of {n_fams} families within a factor {factor}")
