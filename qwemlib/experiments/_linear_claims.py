"""book/07's claims (paper Section 4, Appendix A.6, and eq. 13 read from d to t), judged by the register.

Every criterion is fixed here, before a result is read, and :func:`linear_verdicts`
applies them to a :class:`LinearStructure` (and the stored SGD run, if any):

* per-family statements the paper makes for all families ("consistently ... across
  semantic families", "for all the semantic categories": the spike, signal in mean > 0.9)
  need every kept family; the SNR's rise and fall, and its separation from random word
  pairs, stated as the general picture, need a majority of families;
* "rises then falls" is judged against random word pairs with the same ``N`` and ``d``
  (``LinearStructure.base_fall``): the SNR's ceiling ``rank(G) = min(N, d)`` makes any
  set of ``N`` difference vectors peak near ``d = N``, so a family counts only if its
  peak-to-final ratio exceeds the 95th percentile of the random pairs' ratios;
* every rank correlation is one-sided (rho > 0) at the level :data:`ALPHA`;
* the predicted half-rise times (``t_pred = tau_{d_1/2}``, :func:`rise_times`) are judged
  per source (gradient flow, SGD) twice: by the order they predict (a rank correlation,
  which a family-independent time cannot pass) and by their error against the best
  family-independent time chosen after the fact (which no constant can beat, and a
  shuffled or uniformly shifted prediction does not).

Used in: book/07_linear_structure.md; ``measure_claims`` by tools/verdicts.py.
"""

from __future__ import annotations

import numpy as np

from .. import config
from ..config import Preset
from ._linear import LinearStructure
from ._linear_report import RiseTimes, TextSummary, rise_fall_fraction, rise_times, snr_accuracy_correlation
from ._linear_sgd import LinearSGD, stored_linear_sgd
from ._linear_store import linear_structure
from ._register import Claim, Criterion, Verdict, judge

__all__ = ["ALPHA", "CLAIMS", "KS_BOUND", "KS_LOOSE", "N_BIG", "PR_PCT", "SIM_MIN", "SINGLE_MAX",
           "linear_verdicts", "measure_claims", "verdict_summary"]

_CH = "book/07_linear_structure.md"
#: One-sided significance level of every rank correlation in the chapter.
ALPHA = 0.05
#: MP bulk: KS bound for families with at least ``N_BIG`` pairs, and for every family.
KS_BOUND, KS_LOOSE, N_BIG = 0.15, 0.25, 20
#: The paper's signal-in-mean threshold (App. A.6).
SIM_MIN = 0.9
#: Localization: a family counts as localized if its mean task vector's participation ratio is
#: below this percentile of random word pairs' with the same N (a one-sided 5 % test per family),
#: and as sitting on a single feature if one feature carries more than ``SINGLE_MAX`` of |mean|².
PR_PCT, SINGLE_MAX = 5, 0.5
_EVERY, _MAJORITY = 1.0, 0.5


def _claim(key, statement, where, metric, op, threshold, paper="", testable_if=""):
    return Claim(key, statement, where, paper, Criterion(metric, op, threshold, testable_if), _CH)


#: book/07's claims, each with its criterion (see the module docstring for the choices).
CLAIMS = (
    _claim("sec4-spike", "Each family's Gram spectrum has an outlier beyond the Marchenko–Pastur bulk",
           "Section 4, Figure 4 (left)", "fraction of families with >= 1 outlier at the preset's d", ">=",
           _EVERY),
    _claim("a6-mp-bulk-big", f"The bulk of a family's Gram spectrum follows the MP law (N >= {N_BIG})",
           "Section 4, App. A.6", f"largest KS distance of the MP fit at the preset's d, families with "
           f"N >= {N_BIG}", "<", KS_BOUND, testable_if=f"a family with N >= {N_BIG} pairs"),
    _claim("a6-mp-bulk-all", "No family's bulk is grossly unlike the MP law", "Section 4, App. A.6",
           "largest KS distance of the MP fit at the preset's d, every family", "<", KS_LOOSE),
    _claim("a6-deff-low", "The fitted effective dimension is often much lower than d", "App. A.6",
           "median d_eff / d at the preset's d", "<", 0.5),
    _claim("a6-signal-in-mean", "The spike carries the mean task vector: signal in mean > 0.9 for every "
           "family", "App. A.6, eq. 26", f"fraction of families with signal in mean > {SIM_MIN} at the "
           "preset's d", ">=", _EVERY, paper="> 0.9 for all categories"),
    _claim("sec4-snr-rise-fall", "The SNR first rises, then falls as d grows", "Section 4, Figure 4 (bottom)",
           "fraction of families whose max SNR / SNR at the preset's d exceeds the 95th percentile of "
           "random word pairs with the same N", ">=", _MAJORITY),
    _claim("sec4-not-random", "A family's task vectors share a direction that random word pairs do not",
           "Section 4 (spiked model; our random-pair baseline)", "fraction of families whose max SNR "
           "exceeds the random-pair 95th percentile at the same N and d", ">=", _MAJORITY),
    _claim("sec4-localized", "A family's mean task vector rests on a handful of eigen-features, fewer than "
           "the mean of random word pairs", "Section 4, Figure 4 (top)", "fraction of families whose mean "
           f"task vector's participation ratio is below the {PR_PCT}th percentile of random word pairs' "
           "(same N, the preset's d)", ">=", _MAJORITY,
           testable_if="a random-pair null of localization stored (base_pr)"),
    _claim("sec4-not-single", "... but not on a single eigen-feature", "Section 4, Figure 4 (top)",
           f"fraction of families whose largest single-feature share of |mean|² is at most {SINGLE_MAX}",
           ">=", _MAJORITY),
    _claim("sec4-snr-accuracy", "Families with a higher max SNR are completed more accurately",
           "Section 4, Figure 4 (bottom)", "one-sided p of Spearman's rho(max SNR, accuracy at the "
           "preset's d)", "<", ALPHA),
    _claim("ch7-rise-order-flow", "eq. 13 read at d_1/2 orders the families' rise times under gradient flow",
           "eq. 13 with Section 4's d <-> t", "one-sided p of Spearman's rho(t_pred, t_flow)", "<", ALPHA),
    _claim("ch7-rise-error-flow", "eq. 13 read at d_1/2 times the rise under gradient flow better than a "
           "family-independent time", "eq. 13 with Section 4's d <-> t", "mean |ln(t_flow / t_pred)| ÷ "
           "the same for the best constant time", "<", 1.0),
    _claim("ch7-rise-order-sgd", "eq. 13 read at d_1/2 orders the families' rise times under SGD",
           "eq. 13 with Section 4's d <-> t", "one-sided p of Spearman's rho(t_pred, t_sgd)", "<", ALPHA,
           testable_if="an SGD run stored at this preset (linear_sgd.npz)"),
    _claim("ch7-rise-error-sgd", "eq. 13 read at d_1/2 times the rise under SGD better than a "
           "family-independent time", "eq. 13 with Section 4's d <-> t", "mean |ln(t_sgd / t_pred)| ÷ "
           "the same for the best constant time", "<", 1.0,
           testable_if="an SGD run stored at this preset (linear_sgd.npz)"),
)
_BY_KEY = {c.key: c for c in CLAIMS}


def _emergence(key: str, rise: RiseTimes, src: str) -> Verdict:
    n = len(rise.pred)
    if src not in rise.scores:
        what = "no SGD run stored at this preset" if src == "t_sgd" else "no gradient flow stored"
        return judge(_BY_KEY[key], float("nan"), testable=False, detail=what)
    s = rise.scores[src]
    detail = (f"Spearman ρ = {s['rho']:+.2f} (one-sided p = {s['p']:.3f}); mean |ln| error "
              f"{s['err']:.2f} against {s['err_const']:.2f} for the best constant t = {s['c']:.4f}; within "
              f"×1.5: {s['n_close']} of {n} (the constant: {s['n_close_const']})")
    return judge(_BY_KEY[key], s["p"] if "order" in key else s["ratio"], detail=detail)


def _localization(ls: LinearStructure) -> list[Verdict]:
    """``sec4-localized`` (against ``ls.base_pr``) and ``sec4-not-single``, from ``ls.loc``."""
    fams, loc, n = ls.fams, ls.loc, len(ls.fams)
    pr = {f: loc[f].effective_number for f in fams}
    share = {f: float(loc[f].top_weights[0]) for f in fams}
    if ls.base_pr is None:
        v = judge(_BY_KEY["sec4-localized"], float("nan"), testable=False, detail="linear_structure.npz has "
                  "no random-pair null of localization (base_pr): rerun tools/make_results.py at this preset")
    else:
        cut = {f: float(np.percentile(ls.base_pr[ls.Ns[f]], PR_PCT)) for f in fams}
        hit = [pr[f] < cut[f] for f in fams]
        v = judge(_BY_KEY["sec4-localized"], float(np.mean(hit)), detail=(
            f"{sum(hit)} of {n} families; participation ratio {min(pr.values()):.1f}–"
            f"{max(pr.values()):.1f} of d = {ls.D}, random pairs' {PR_PCT}th percentile "
            f"{min(cut.values()):.1f}–{max(cut.values()):.1f} (an isotropic random direction: about "
            f"d/3 = {ls.D / 3:.1f})"))
    single = [share[f] <= SINGLE_MAX for f in fams]
    return [v, judge(_BY_KEY["sec4-not-single"], float(np.mean(single)), detail=(
        f"{sum(single)} of {n} families; largest single-feature share {min(share.values()):.0%}–"
        f"{max(share.values()):.0%}"))]


def linear_verdicts(ls: LinearStructure, sgd: LinearSGD | None = None, *, rise: RiseTimes | None = None,
                    corr: dict | None = None) -> list[Verdict]:
    """Every claim of :data:`CLAIMS`, judged on ``ls`` (and ``sgd``), in the order of :data:`CLAIMS`.

    ``rise`` and ``corr`` default to :func:`rise_times` and :func:`snr_accuracy_correlation`
    of the same inputs; tests pass wrong ones.
    """
    fams, D, fits, n = ls.fams, ls.D, ls.fits, len(ls.fams)
    corr = snr_accuracy_correlation(ls) if corr is None else corr
    out = []
    spike = [fits[f, D].n_outliers >= 1 for f in fams]
    out.append(judge(_BY_KEY["sec4-spike"], np.mean(spike), detail=f"{sum(spike)} of {n} families"))
    big = [f for f in fams if ls.Ns[f] >= N_BIG]
    ks_big = max((fits[f, D].ks_distance for f in big), default=float("nan"))
    out.append(judge(_BY_KEY["a6-mp-bulk-big"], ks_big, testable=bool(big),
                     detail=f"{len(big)} families with N >= {N_BIG} (largest N here {max(ls.Ns.values())})"))
    ks = {f: fits[f, D].ks_distance for f in fams}
    worst = max(ks, key=ks.get)
    out.append(judge(_BY_KEY["a6-mp-bulk-all"], ks[worst], detail=f"largest: {worst} (N = {ls.Ns[worst]})"))
    deff = [fits[f, D].d_eff / D for f in fams]
    out.append(judge(_BY_KEY["a6-deff-low"], np.median(deff),
                     detail=f"d = {D}; d_eff/d from {min(deff):.2f} to {max(deff):.2f}"))
    sim = [ls.sim[f, D] > SIM_MIN for f in fams]
    out.append(judge(_BY_KEY["a6-signal-in-mean"], np.mean(sim), detail=f"{sum(sim)} of {n} families; min "
                     f"{min(ls.sim[f, D] for f in fams):.2f}"))
    frac, fall = rise_fall_fraction(ls)
    if fall:
        a, b = np.array(list(fall.values())).T
        detail = (f"{int(np.sum(a > b))} of {n} families; max SNR / final SNR {a.min():.2f}–{a.max():.2f}, "
                  f"random pairs' 95th percentile {b.min():.2f}–{b.max():.2f}")
    else:
        detail = ("linear_structure.npz has no random-pair null of the fall (base_fall): rerun "
                  "tools/make_results.py at this preset")
    out.append(judge(_BY_KEY["sec4-snr-rise-fall"], frac, detail=detail))
    above = [ls.excess_max[f] > 1 for f in fams]
    out.append(judge(_BY_KEY["sec4-not-random"], np.mean(above), detail=f"{sum(above)} of {n} families"))
    out += _localization(ls)
    out.append(judge(_BY_KEY["sec4-snr-accuracy"], corr["p_raw"], detail=(
        f"ρ = {corr['rho_raw']:+.2f} over {n} families (against max SNR / baseline: "
        f"ρ = {corr['rho_exc']:+.2f}, p = {corr['p_exc']:.2f})")))
    if rise is None and ls.acc_flow is not None:
        rise = rise_times(ls, sgd)
    for key, src in (("ch7-rise-order-flow", "t_flow"), ("ch7-rise-error-flow", "t_flow"),
                     ("ch7-rise-order-sgd", "t_sgd"), ("ch7-rise-error-sgd", "t_sgd")):
        out.append(_emergence(key, rise, src) if rise is not None else
                   judge(_BY_KEY[key], float("nan"), testable=False, detail="no gradient flow stored"))
    return out


def measure_claims(preset: Preset | str) -> list[Verdict]:
    """book/07's verdicts at ``preset`` (a name or a :class:`Preset`): :func:`linear_structure` (live
    up to ``LIVE_MAX_V`` words, i.e. at ci; stored above) and the stored SGD run, if any."""
    preset = config.preset(preset) if isinstance(preset, str) else preset
    ls = linear_structure(preset)
    return linear_verdicts(ls, stored_linear_sgd(preset, ls))


def _follows(vs: dict, src: str, name: str) -> str:
    order, err = vs[f"ch7-rise-order-{src}"], vs[f"ch7-rise-error-{src}"]
    if order.verdict == "not testable":
        return f"{name}: not testable here ({order.detail})."
    if order.holds and err.holds:
        return (f"{name} follows the prediction: it orders the families as predicted, and no single "
                "family-independent time fits it as well.")
    if order.holds:
        return (f"{name} orders the families as predicted, but a single family-independent time fits it "
                "as well.")
    if err.holds:
        return (f"{name} is timed better by the prediction than by any single time, but its order is not "
                f"significantly the predicted one (p ≥ {ALPHA}).")
    return (f"{name} does not follow the prediction: its order is not significantly the predicted one and a "
            "single family-independent time fits it as well.")


def _localized(loc: Verdict, single: Verdict) -> str:
    if loc.verdict == "not testable":
        return f"whether that is fewer than random word pairs use is not testable here ({loc.detail})"
    fewer = ("most families' means use fewer features than the means of random word pairs do (the paper's "
             "localization holds)" if loc.holds else "most families' means use about as many features as the "
             "means of random word pairs (the paper's localization fails here)")
    one = "none rests mostly on one feature" if single.holds else "most rest mostly on a single feature"
    return f"{fewer}, and {one} ({loc.detail}; {single.detail})"


def verdict_summary(verdicts: list[Verdict]) -> TextSummary:
    """Sentences for the chapter's prose, worded from the verdicts, and a count per verdict (for ``glue``)."""
    vs = {v.claim.key: v for v in verdicts}
    glue = {"flow_follows": _follows(vs, "flow", "Gradient flow"), "sgd_follows": _follows(vs, "sgd", "SGD"),
            "loc_said": _localized(vs["sec4-localized"], vs["sec4-not-single"])}
    glue |= {"verdict_" + k.replace("-", "_"): v.verdict for k, v in vs.items()}
    for word in ("holds", "fails", "not testable"):
        glue[f"n_{word.replace(' ', '_')}"] = sum(v.verdict == word for v in verdicts)
    text = "\n".join(f"[{v.verdict}] {v.claim.key}: {v.detail}" for v in verdicts)
    return TextSummary(text, glue)
