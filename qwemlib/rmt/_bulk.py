"""Fitting the Marchenko-Pastur law (eq. 24-25) to one bulk sample (paper, Appendix A.6).

The paper sets ``sigma2`` from the centred task vectors and tunes ``gamma`` by hand.
Here the fit is a reproducible search: minimum KS distance (default), maximum
likelihood or the method of moments. Every number that steers the search is a named
constant below, with where it comes from; none is tuned per figure. The outlier peeling
around this fit is :func:`qwemlib.rmt.fit_marchenko_pastur`.

Used in: book/07_linear_structure.md (through ``fit_marchenko_pastur``).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from ._mp import _density, _edges, _ks_grid, _ks_prepare, _ks_prepared

#: The gamma search grid: 61 log-spaced points on [1e-3, 1e3] (10 a decade, so neighbours
#: differ by 10**0.1 ~ 1.26). It covers every aspect ratio N/d_eff of the paper by far
#: (N ~ 30 task vectors, d <= 200).
_GAMMA_GRID = np.exp(np.linspace(np.log(1e-3), np.log(1e3), 61))
#: The KS search looks for sigma2 within a factor e^3 (~ 20) either side of the bulk mean,
#: which is the MP mean for every gamma, on a grid of 61 points (neighbours differ by e^0.1).
_LOG_S2_HALF_WIDTH = 3.0
_S2_GRID_POINTS = 61
#: Nelder-Mead's start simplex around the best (sigma2, gamma) grid point: about half a
#: sigma2 grid step (e^0.05 ~ 1.05) and one gamma grid step (10^0.1 ~ 1.26).
_SIMPLEX_STEPS = (1.05, 1.26)
#: Nelder-Mead tolerances (in log sigma2 / log gamma and in KS distance) and iteration cap.
_NM_OPTIONS = {"xatol": 1e-7, "fatol": 1e-10, "maxiter": 600}
#: Tolerance in log sigma2 / log gamma of the bounded Brent searches.
_BRENT_XATOL = 1e-7
#: The MLE's sigma2 bracket spans at most e^6 (the range of the KS grid) and stays 1e-9
#: (in log sigma2) inside the region where the support covers every bulk point.
_MLE_LOG_S2_SPAN = 6.0
_MLE_BRACKET_EPS = 1e-9
#: Infeasible points (likelihood 0: objective inf) are capped at this finite value so the
#: bounded Brent search can compare them.
_INFEASIBLE = 1e300
#: Floor on the moment estimate of gamma (a zero bulk variance would give gamma = 0).
_GAMMA_FLOOR = 1e-8


def _moments(x: np.ndarray) -> tuple[float, float]:
    """Method of moments: MP mean is sigma2 and variance sigma2^2 gamma (atom included)."""
    m = float(np.mean(x))
    v = float(np.var(x))
    return m, max(v / m**2, _GAMMA_FLOOR)


def _nll(x_pos: np.ndarray, n0: int, s: float, g: float) -> float:
    """Mean negative log-likelihood of the bulk under MP(s, g) (eq. 24 plus the atom); inf if infeasible."""
    lo, hi = _edges(s, g)
    n = x_pos.size + n0
    if n0 > 0 and g <= 1.0:
        return np.inf
    if x_pos.size and (x_pos.min() <= lo or x_pos.max() >= hi):
        return np.inf
    ll = 0.0
    if n0:
        ll += n0 * np.log(1.0 - 1.0 / g)
    if x_pos.size:
        ll += float(np.sum(np.log(_density(x_pos, s, g, lo, hi))))
    return -ll / n


def _fit_moments(x: np.ndarray, sigma2_fixed: float | None) -> tuple[float, float, float]:
    m, g = _moments(x)
    if sigma2_fixed is not None:
        # second moment sigma2^2 (1 + gamma) with sigma2 fixed
        g = max(float(np.mean(x**2)) / sigma2_fixed**2 - 1.0, _GAMMA_FLOOR)
        m = sigma2_fixed
    return m, g, 0.0


def _fit_ks_free(prep, mean: float) -> tuple[float, float, float]:
    """KS fit of both parameters: a 2-D grid (vectorised over sigma2), then Nelder-Mead."""
    s_grid = mean * np.exp(np.linspace(-_LOG_S2_HALF_WIDTH, _LOG_S2_HALF_WIDTH, _S2_GRID_POINTS))
    best = (np.inf, mean, 1.0)
    for g in _GAMMA_GRID:
        ks = _ks_grid(*prep, s_grid, g)
        i = int(np.argmin(ks))
        if ks[i] < best[0]:
            best = (float(ks[i]), float(s_grid[i]), float(g))
    f_best, s_best, g_best = best
    ds, dg = _SIMPLEX_STEPS
    nm = optimize.minimize(
        lambda p: _ks_prepared(*prep, np.exp(p[0]), np.exp(p[1])),
        x0=np.log([s_best, g_best]),
        method="Nelder-Mead",
        options={**_NM_OPTIONS,
                 "initial_simplex": np.log([[s_best, g_best], [s_best * ds, g_best],
                                            [s_best, g_best * dg]])},
    )
    if nm.fun <= f_best:
        s_best, g_best = (float(v) for v in np.exp(nm.x))
        f_best = float(nm.fun)
    return s_best, g_best, f_best


def _mle_s_bounds(xmin: float, xmax: float, g: float) -> tuple[float, float]:
    """Bracket of log sigma2 where MP(sigma2, g)'s support covers ``[xmin, xmax]``."""
    lo = np.log(xmax) - 2.0 * np.log1p(np.sqrt(g))
    if abs(g - 1.0) < 1e-12:  # gamma = 1: lambda_- = 0 puts no upper limit on sigma2
        hi = lo + _MLE_LOG_S2_SPAN
    else:
        hi = np.log(xmin) - 2.0 * np.log(abs(1.0 - np.sqrt(g)))
        hi = min(hi, lo + _MLE_LOG_S2_SPAN)
    return lo + _MLE_BRACKET_EPS, hi - _MLE_BRACKET_EPS


def _fit_profile(obj, s_bounds, sigma2_fixed: float | None, method: str) -> tuple[float, float, float]:
    """Profile search: for each gamma the best sigma2 (bounded Brent on log sigma2, unless
    sigma2 is fixed), gamma on :data:`_GAMMA_GRID`, then a bounded Brent refinement of
    gamma between the grid neighbours of the best grid point."""

    def profile(g):
        if sigma2_fixed is not None:
            return sigma2_fixed, obj(sigma2_fixed, g)
        lo, hi = s_bounds(g)
        if not lo < hi:
            return np.nan, np.inf
        res = optimize.minimize_scalar(
            lambda ls: min(obj(np.exp(ls), g), _INFEASIBLE),
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": _BRENT_XATOL},
        )
        return float(np.exp(res.x)), float(res.fun)

    vals = [profile(g)[1] for g in _GAMMA_GRID]
    j = int(np.argmin(vals))
    if not np.isfinite(vals[j]):
        raise ValueError(
            f"eigs: no Marchenko-Pastur law with gamma in [1e-3, 1e3] fits the bulk by {method!r}"
        )
    lg_lo = np.log(_GAMMA_GRID[max(j - 1, 0)])
    lg_hi = np.log(_GAMMA_GRID[min(j + 1, _GAMMA_GRID.size - 1)])
    res = optimize.minimize_scalar(
        lambda lg: min(profile(np.exp(lg))[1], _INFEASIBLE),
        bounds=(lg_lo, lg_hi),
        method="bounded",
        options={"xatol": _BRENT_XATOL},
    )
    g_best = float(np.exp(res.x))
    s_best, f_best = profile(g_best)
    if f_best > vals[j]:
        g_best = float(_GAMMA_GRID[j])
        s_best, f_best = profile(g_best)
    return s_best, g_best, f_best


def _fit_bulk(x: np.ndarray, method: str, sigma2_fixed: float | None) -> tuple[float, float, float]:
    """Fit MP(sigma2, gamma) to a bulk sample ``x`` (any order) by ``method``.

    ``"moments"``: closed form. ``"ks"`` with free sigma2: :func:`_fit_ks_free`.
    Otherwise (``"mle"``, or ``"ks"`` with sigma2 fixed): :func:`_fit_profile`.
    Returns ``(sigma2, gamma, objective)``.
    """
    x = np.sort(x)
    if method == "moments":
        return _fit_moments(x, sigma2_fixed)
    if method == "ks":
        prep = _ks_prepare(x)
        if sigma2_fixed is None:
            return _fit_ks_free(prep, float(np.mean(x)))
        return _fit_profile(lambda s, g: _ks_prepared(*prep, s, g), None, sigma2_fixed, method)
    if method != "mle":  # pragma: no cover - checked by the caller
        raise AssertionError(method)
    x_pos = x[x > 0]
    n0 = int(x.size - x_pos.size)
    if x_pos.size == 0:
        raise ValueError("eigs: every bulk eigenvalue is zero; nothing to fit")
    xmin, xmax = float(x_pos.min()), float(x_pos.max())
    return _fit_profile(
        lambda s, g: _nll(x_pos, n0, s, g),
        lambda g: _mle_s_bounds(xmin, xmax, g),
        sigma2_fixed,
        method,
    )
