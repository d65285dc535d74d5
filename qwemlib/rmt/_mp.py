"""The Marchenko-Pastur law (paper, eq. 24-25, Appendix A.6) and the KS distance to it.

The law of the eigenvalues of ``d^{-1} Xi Xi^T`` for ``Xi`` of shape ``N x d`` with
i.i.d. entries of variance ``sigma2`` and ``gamma = N / d``: a continuous density on
``[lambda_-, lambda_+]`` (eq. 24-25) and, for ``gamma > 1``, a point mass
``1 - 1/gamma`` at 0. The distribution function is in closed form, so the
Kolmogorov-Smirnov distance that :func:`qwemlib.rmt.fit_marchenko_pastur` minimises
needs no quadrature.

Used in: book/07_linear_structure.md (Figure 4, left).
"""

from __future__ import annotations

import numpy as np

from ._checks import _check_params


def _edges(s: float, g: float) -> tuple[float, float]:
    """``sigma2 (1 pm sqrt(gamma))^2`` without input checks (eq. 25)."""
    r = np.sqrt(g)
    return s * (1.0 - r) ** 2, s * (1.0 + r) ** 2


def _atom(g: float) -> float:
    """Mass ``max(0, 1 - 1/gamma)`` of the point mass at 0, without input checks."""
    return max(0.0, 1.0 - 1.0 / g)


def _density(x: np.ndarray, s: float, g: float, lo: float, hi: float) -> np.ndarray:
    """Eq. 24 at points ``x`` strictly inside ``(lo, hi)`` (the caller selects them)."""
    return np.sqrt((hi - x) * (x - lo)) / (2.0 * np.pi * s * g * x)


def mp_edges(sigma2: float, gamma: float) -> tuple[float, float]:
    """Edges ``lambda_pm = sigma2 (1 pm sqrt(gamma))^2`` of the MP bulk (eq. 25).

    Used in: book/07_linear_structure.md (through :attr:`MPFit.edges`).
    """
    s, g = _check_params(sigma2, gamma)
    return _edges(s, g)


def mp_atom(gamma: float) -> float:
    """Mass of the MP point mass at 0: ``max(0, 1 - 1/gamma)``.

    For ``gamma = N/d > 1`` the ``N x N`` matrix ``d^{-1} Xi Xi^T`` has rank
    ``d``, so a fraction ``1 - 1/gamma`` of its eigenvalues are exactly zero.

    Used in: tests/test_rmt_mp.py (the chapter's fits use the atom through the KS
    distance).
    """
    _, g = _check_params(1.0, gamma)
    return _atom(g)


def mp_density(x, sigma2: float, gamma: float) -> np.ndarray:
    """Continuous part of the Marchenko-Pastur law, eq. 24.

    ``f(x) = sqrt((lambda_+ - x)(x - lambda_-)) / (2 pi sigma2 gamma x)`` on
    ``[lambda_-, lambda_+]`` and 0 outside: the limiting eigenvalue density of
    ``d^{-1} Xi Xi^T`` for ``Xi`` of shape ``N x d`` with i.i.d. entries of
    variance ``sigma2`` and ``gamma = N / d``.

    The paper writes eq. 24 for ``N < d`` (``gamma < 1``), where it integrates
    to 1. The same formula holds for ``gamma > 1``, but then it integrates to
    ``1/gamma`` and the law has in addition a point mass ``1 - 1/gamma`` at
    ``x = 0`` (:func:`mp_atom`), which a density cannot represent: this function
    returns the continuous part only. For the eigenvalues ``lambda`` of ``R R^T``
    evaluate ``mp_density(lambda / d, ...) / d`` (or use :meth:`MPFit.pdf`).

    Args:
        x: points (any shape).
        sigma2: entry variance, > 0.
        gamma: aspect ratio ``N / d``, > 0.

    Returns:
        Density values, same shape as ``x``.

    Used in: book/07_linear_structure.md (Figure 4, left).
    """
    s, g = _check_params(sigma2, gamma)
    lo, hi = _edges(s, g)
    xa = np.asarray(x, dtype=float)
    inside = (xa > lo) & (xa < hi) & (xa > 0)
    out = np.zeros(xa.shape)
    out[inside] = _density(xa[inside], s, g, lo, hi)
    return out


def _mp_cdf_unit(x: np.ndarray, g: float) -> np.ndarray:
    """CDF of MP(sigma2 = 1, gamma = g), closed form, with the atom at 0."""
    a, b = _edges(1.0, g)
    atom = _atom(g)
    out = np.where(x >= 0.0, atom, 0.0)
    out = np.where(x >= b, 1.0, out)
    mid = (x > a) & (x < b) & (x > 0)
    if np.any(mid):
        t = x[mid]
        # Antiderivative of sqrt((b-t)(t-a))/t:
        #   r + m asin((2t-a-b)/(b-a)) - sqrt(ab) asin(((a+b)t - 2ab)/(t(b-a))),
        # with r = sqrt((b-t)(t-a)), m = (a+b)/2; it equals -pi/2 (m - sqrt(ab)) at t = a.
        r = np.sqrt((b - t) * (t - a))
        m = 0.5 * (a + b)
        sab = np.sqrt(a * b)
        u = np.clip((2.0 * t - a - b) / (b - a), -1.0, 1.0)
        v = np.clip(((a + b) * t - 2.0 * a * b) / (t * (b - a)), -1.0, 1.0)
        integral = r + m * np.arcsin(u) - sab * np.arcsin(v) + 0.5 * np.pi * (m - sab)
        cont = integral / (2.0 * np.pi * g)
        out[mid] = atom + np.clip(cont, 0.0, min(1.0, 1.0 / g))
    return out


def mp_cdf(x, sigma2: float, gamma: float) -> np.ndarray:
    """Distribution function of the MP law (eq. 24-25), including the atom.

    Closed form: ``F(x) = max(0, 1 - 1/gamma) [x >= 0] + (1 / (2 pi gamma))
    [I(x/sigma2) - I(lambda_-/sigma2)]`` with ``I`` the antiderivative of
    ``sqrt((b - t)(t - a)) / t`` (see the source). ``F`` is nondecreasing, is 0
    below ``min(0, lambda_-)`` and 1 from ``lambda_+`` on.

    Args:
        x: points (any shape).
        sigma2: entry variance, > 0.
        gamma: aspect ratio ``N / d``, > 0.

    Returns:
        ``P(eigenvalue <= x)``, same shape as ``x``.

    Used in: book/07_linear_structure.md (the KS fit compares the spectrum with it).
    """
    s, g = _check_params(sigma2, gamma)
    xa = np.asarray(x, dtype=float)
    return _mp_cdf_unit(xa / s, g).reshape(xa.shape)


def _ks_prepare(x: np.ndarray):
    """Distinct values of a sample and its empirical CDF just after and just before each."""
    values, counts = np.unique(x, return_counts=True)
    cum = np.cumsum(counts) / x.size
    cum_lo = np.concatenate([[0.0], cum[:-1]])
    return values, cum, cum_lo


def _ks_grid(values, cum_hi, cum_lo, s_arr: np.ndarray, g: float) -> np.ndarray:
    """KS distances of a prepared sample for many sigma2 at one gamma (vectorised over ``s_arr``)."""
    F = _mp_cdf_unit(values[None, :] / s_arr[:, None], g)
    # F(u^-) differs from F(u) only at the atom u = 0.
    F_minus = F - np.where(values == 0.0, _atom(g), 0.0)[None, :]
    return np.maximum(np.max(cum_hi[None, :] - F, axis=1), np.max(F_minus - cum_lo[None, :], axis=1))


def _ks_prepared(values: np.ndarray, cum_hi: np.ndarray, cum_lo: np.ndarray, s: float, g: float) -> float:
    """KS distance of a prepared sample (:func:`_ks_prepare`) to MP(s, g)."""
    return float(_ks_grid(values, cum_hi, cum_lo, np.array([s]), g)[0])


def ks_distance(x, sigma2: float, gamma: float) -> float:
    """Kolmogorov-Smirnov distance ``sup_t |F_n(t) - F(t)|`` to the MP law.

    ``F_n`` is the empirical distribution function of ``x`` and ``F`` is
    :func:`mp_cdf` (atom included, so ties at 0 are handled exactly).

    Args:
        x: sample, e.g. eigenvalues of ``R R^T`` divided by ``d``.
        sigma2, gamma: MP parameters.

    Returns:
        The distance, in ``[0, 1]``.

    Used in: book/07_linear_structure.md (through :attr:`MPFit.ks_distance`).
    """
    s, g = _check_params(sigma2, gamma)
    xa = np.asarray(x, dtype=float).ravel()
    if xa.size < 1 or not np.all(np.isfinite(xa)):
        raise ValueError("x must be a nonempty array of finite numbers")
    return _ks_prepared(*_ks_prepare(xa), s, g)
