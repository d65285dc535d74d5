"""Task vectors and their random-matrix description (paper, Section 4 and Appendix A.6).

A *semantic binary* is a list of word pairs ``(a, b)`` such as
``(going, went), (seeing, saw), ...``. Its task vectors are the rows
``W[b] - W[a]`` (second word minus first word: ``went - going``), stacked into
``R`` with shape ``(N, d)``. The paper studies the spectrum of the Gram matrix
``G = R R^T`` (``N x N``, *not* divided by ``d``) and finds that it looks like a
Marchenko-Pastur (MP) bulk plus one outlier "spike" (a spiked covariance model,
Baik, Ben Arous and Peche 2005), the spike carrying the mean task vector.

What is here:

* building ``R``: :func:`task_vectors`, :func:`truncate` (closed-form embeddings
  of a smaller model are the first ``d`` columns, Appendix A.6);
* the spectrum: :func:`gram_spectrum`;
* the MP law of eq. 24-25: :func:`mp_density`, :func:`mp_cdf`, :func:`mp_edges`,
  :func:`mp_atom`, :func:`ks_distance`;
* the fit: :func:`fit_marchenko_pastur` returning :class:`MPFit`;
* the paper's summary numbers: :func:`snr` (Section 4), :func:`signal_in_mean`
  (eq. 26), :func:`mean_localization` (Figure 4, top);
* a generator of synthetic task vectors, :func:`spiked_wishart`, and the BBP
  prediction of its spike, :func:`spike_eigenvalue`.

Scaling (read this once). Eq. 24 is the law of the eigenvalues of
``d^{-1} Xi Xi^T`` for ``Xi`` of shape ``N x d`` with i.i.d. entries of variance
``sigma2``, with ``gamma = N / d``. The paper plots the eigenvalues ``lambda``
of ``R R^T`` itself. This module therefore fits the law to
``x = lambda / n_dims`` where ``n_dims`` is the embedding dimension ``d`` of
``R``; ``sigma2`` is then a per-entry variance (the mean of the MP law is
``sigma2`` for every ``gamma``, and the paper's ``sigma2``, the population
variance of the centred ``R``, estimates the same number) and
``gamma = N / d_eff`` measures the *shape* of the bulk. :class:`MPFit` carries
``n_dims`` and its :meth:`MPFit.pdf` / :meth:`MPFit.cdf` / :attr:`MPFit.edges`
are in the units of the eigenvalues of ``R R^T``, ready to overlay on the
paper's histograms with no hand factor.

Used in: book/07_linear_structure.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
from scipy import optimize

__all__ = [
    "MPFit",
    "MeanLocalization",
    "TW1_Q99",
    "EIG_RTOL",
    "task_vectors",
    "truncate",
    "gram_spectrum",
    "mp_edges",
    "mp_atom",
    "mp_density",
    "mp_cdf",
    "ks_distance",
    "paper_sigma2",
    "fit_marchenko_pastur",
    "snr",
    "signal_in_mean",
    "mean_localization",
    "spiked_wishart",
    "spike_eigenvalue",
]

#: Relative tolerance below which an eigenvalue counts as zero (``|lambda| <=
#: EIG_RTOL * lambda_max``). Double-precision round-off in the spectrum of an
#: ``N x N`` Gram matrix is about ``N * 2.2e-16`` relative; 1e-10 is far above
#: that and far below any bulk eigenvalue of the paper's spectra. Eigenvalues
#: below ``-EIG_RTOL * lambda_max`` are not round-off and raise ``ValueError``.
EIG_RTOL = 1e-10

#: 99th percentile of the Tracy-Widom (beta = 1) law, the default margin (in
#: units of the Tracy-Widom scale) above the MP edge ``lambda_+`` beyond which an
#: eigenvalue is called an outlier (Johnstone 2001, Table 2: 2.0234).
TW1_Q99 = 2.0234


# --------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------


def _as_matrix(a, name: str, *, min_rows: int = 1) -> np.ndarray:
    arr = np.asarray(a, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {arr.shape}")
    if arr.shape[0] < min_rows:
        raise ValueError(
            f"{name} has {arr.shape[0]} rows; at least {min_rows} are needed "
            "(a Gram spectrum needs N >= 2 task vectors)"
        )
    if arr.shape[1] < 1:
        raise ValueError(f"{name} has no columns (shape {arr.shape})")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; remove or fix those entries first")
    return arr


def _as_eigs(eigs, name: str = "eigs", rtol: float = EIG_RTOL) -> np.ndarray:
    """Validate a PSD spectrum; return it sorted descending with round-off zeros set to 0."""
    arr = np.asarray(eigs, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of eigenvalues, got shape {arr.shape}")
    if arr.size < 2:
        raise ValueError(
            f"{name} has {arr.size} eigenvalue(s); at least 2 are needed (N >= 2 task vectors)"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    top = float(np.max(np.abs(arr)))
    if top == 0.0:
        raise ValueError(f"{name} is all zeros: the task vectors are all zero")
    tol = rtol * top
    if np.min(arr) < -tol:
        raise ValueError(
            f"{name} has a negative eigenvalue {np.min(arr):.3g} beyond round-off "
            f"(tolerance {tol:.3g}); a Gram matrix R R^T is positive semidefinite: "
            "pass gram_spectrum(R)"
        )
    arr = np.where(np.abs(arr) <= tol, 0.0, arr)
    return np.sort(arr)[::-1]


def _check_params(sigma2, gamma) -> tuple[float, float]:
    s, g = float(sigma2), float(gamma)
    if not (np.isfinite(s) and s > 0):
        raise ValueError(f"sigma2 must be a positive finite number, got {sigma2!r}")
    if not (np.isfinite(g) and g > 0):
        raise ValueError(f"gamma must be a positive finite number (gamma = N/d), got {gamma!r}")
    return s, g


# --------------------------------------------------------------------------------------
# task vectors
# --------------------------------------------------------------------------------------


def task_vectors(W, pairs, index: Mapping[str, int] | None = None) -> np.ndarray:
    """Stack the task vectors of a semantic binary into ``R`` (Section 4).

    Row ``n`` is ``W[b_n] - W[a_n]`` for the pair ``(a_n, b_n)``: the *second*
    word minus the *first*. With pairs written as the analogy dataset writes them
    (``(going, went)``) this is the paper's ``went - going`` (Figure 4). The
    paper does not normalise embeddings or task vectors (Appendix A.6); neither
    does this function.

    Args:
        W: embeddings, shape ``(V, d)`` (one row per word).
        pairs: ``N`` pairs ``(a, b)``: an integer array of shape ``(N, 2)`` of
            row indices into ``W``, or a sequence of word pairs when ``index`` is
            given.
        index: optional mapping word -> row of ``W`` used when the pairs are words.

    Returns:
        ``R`` with shape ``(N, d)``.

    Raises:
        ValueError: if ``W`` is not a finite 2-D array, ``pairs`` is not ``N x 2``
            or an index is out of range / a word is missing from ``index``.

    Used in: book/07_linear_structure.md.
    """
    Wa = _as_matrix(W, "W")
    if index is not None:
        try:
            idx = np.array([[index[a], index[b]] for a, b in pairs], dtype=np.int64)
        except KeyError as err:
            raise ValueError(
                f"pairs contains the word {err.args[0]!r}, which is not in index; "
                "drop pairs with out-of-vocabulary words first"
            ) from None
    else:
        idx = np.asarray(pairs)
        if idx.size and not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(
                "pairs must hold integer row indices of W (dtype "
                f"{idx.dtype}); pass index=... to use words"
            )
        idx = idx.astype(np.int64, copy=False)
    if idx.ndim != 2 or idx.shape[1] != 2 or idx.shape[0] < 1:
        raise ValueError(f"pairs must have shape (N, 2) with N >= 1, got {idx.shape}")
    V = Wa.shape[0]
    if idx.min() < -V or idx.max() >= V:
        raise ValueError(f"pairs holds an index outside W's {V} rows")
    return Wa[idx[:, 1]] - Wa[idx[:, 0]]


def truncate(W, d: int) -> np.ndarray:
    """Closed-form embeddings of a ``d``-dimensional model from a larger one (Appendix A.6).

    The closed-form embeddings (eq. 7) are stored with the identity as right
    singular matrix, so column ``k`` is the component on the ``k``-th
    eigen-feature of M* in decreasing eigenvalue order. The embeddings of a model
    of size ``d`` are then the first ``d`` columns; by the stepwise dynamics
    (eq. 13) they are also those of a larger model part-way through training.

    Args:
        W: closed-form embeddings, shape ``(V, d_max)``, columns in eigen-order.
        d: the smaller dimension, ``1 <= d <= d_max``.

    Returns:
        A contiguous copy of ``W[:, :d]``.

    Used in: book/07_linear_structure.md.
    """
    Wa = _as_matrix(W, "W")
    if isinstance(d, bool) or int(d) != d or not 1 <= int(d) <= Wa.shape[1]:
        raise ValueError(f"d must be an integer in [1, {Wa.shape[1]}] (W's columns), got {d!r}")
    return np.ascontiguousarray(Wa[:, : int(d)])


def gram_spectrum(R) -> np.ndarray:
    """Eigenvalues of ``G = R R^T`` (``N x N``, not divided by ``d``), descending.

    Computed with ``eigvalsh`` on the smaller of ``R R^T`` and ``R^T R`` (they
    share their nonzero eigenvalues); when ``N > d`` the remaining ``N - d``
    eigenvalues are exact zeros. Round-off of size ``<= EIG_RTOL * lambda_max``
    is set to exactly 0 (a Gram matrix is positive semidefinite), so the result
    is nonnegative.

    Args:
        R: task vectors, shape ``(N, d)`` with ``N >= 2``.

    Returns:
        Array of ``N`` nonnegative eigenvalues, decreasing.

    Raises:
        ValueError: if ``R`` has fewer than 2 rows, or NaN/inf entries.

    Used in: book/07_linear_structure.md (Figure 4, left).
    """
    Ra = _as_matrix(R, "R", min_rows=2)
    N, d = Ra.shape
    small = Ra @ Ra.T if N <= d else Ra.T @ Ra
    ev = np.linalg.eigvalsh(small)
    out = np.zeros(N)
    out[: ev.size] = ev[::-1]
    top = out[0]
    if top <= 0.0:
        return np.zeros(N)
    out[np.abs(out) <= EIG_RTOL * top] = 0.0
    if out.min() < 0.0:  # pragma: no cover - cannot happen for R R^T in floating point
        raise ValueError("R: R R^T has a negative eigenvalue beyond round-off")
    return out


# --------------------------------------------------------------------------------------
# Marchenko-Pastur law (eq. 24-25)
# --------------------------------------------------------------------------------------


def mp_edges(sigma2: float, gamma: float) -> tuple[float, float]:
    """Edges ``lambda_pm = sigma2 (1 pm sqrt(gamma))^2`` of the MP bulk (eq. 25)."""
    s, g = _check_params(sigma2, gamma)
    r = np.sqrt(g)
    return s * (1.0 - r) ** 2, s * (1.0 + r) ** 2


def mp_atom(gamma: float) -> float:
    """Mass of the MP point mass at 0: ``max(0, 1 - 1/gamma)``.

    For ``gamma = N/d > 1`` the ``N x N`` matrix ``d^{-1} Xi Xi^T`` has rank
    ``d``, so a fraction ``1 - 1/gamma`` of its eigenvalues are exactly zero.
    """
    _, g = _check_params(1.0, gamma)
    return max(0.0, 1.0 - 1.0 / g)


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
    lo, hi = mp_edges(s, g)
    xa = np.asarray(x, dtype=float)
    inside = (xa > lo) & (xa < hi) & (xa > 0)
    out = np.zeros(xa.shape)
    xi = xa[inside]
    out[inside] = np.sqrt((hi - xi) * (xi - lo)) / (2.0 * np.pi * s * g * xi)
    return out


def _mp_cdf_unit(x: np.ndarray, g: float) -> np.ndarray:
    """CDF of MP(sigma2 = 1, gamma = g), closed form, with the atom at 0."""
    a = (1.0 - np.sqrt(g)) ** 2
    b = (1.0 + np.sqrt(g)) ** 2
    atom = max(0.0, 1.0 - 1.0 / g)
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

    Used in: book/07_linear_structure.md.
    """
    s, g = _check_params(sigma2, gamma)
    xa = np.asarray(x, dtype=float)
    return _mp_cdf_unit(xa / s, g).reshape(xa.shape)


def _ks_prepared(values: np.ndarray, cum_hi: np.ndarray, cum_lo: np.ndarray, s: float, g: float) -> float:
    F = _mp_cdf_unit(values / s, g)
    # F(u^-) differs from F(u) only at the atom u = 0.
    F_minus = F - np.where(values == 0.0, max(0.0, 1.0 - 1.0 / g), 0.0)
    return float(max(np.max(cum_hi - F), np.max(F_minus - cum_lo)))


def _ks_grid(values, cum_hi, cum_lo, s_arr: np.ndarray, g: float) -> np.ndarray:
    """KS distances for many sigma2 at one gamma (vectorised over ``s_arr``)."""
    F = _mp_cdf_unit(values[None, :] / s_arr[:, None], g)
    F_minus = F - np.where(values == 0.0, max(0.0, 1.0 - 1.0 / g), 0.0)[None, :]
    return np.maximum(np.max(cum_hi[None, :] - F, axis=1), np.max(F_minus - cum_lo[None, :], axis=1))


def _ks_prepare(x: np.ndarray):
    values, counts = np.unique(x, return_counts=True)
    cum = np.cumsum(counts) / x.size
    cum_lo = np.concatenate([[0.0], cum[:-1]])
    return values, cum, cum_lo


def ks_distance(x, sigma2: float, gamma: float) -> float:
    """Kolmogorov-Smirnov distance ``sup_t |F_n(t) - F(t)|`` to the MP law.

    ``F_n`` is the empirical distribution function of ``x`` and ``F`` is
    :func:`mp_cdf` (atom included, so ties at 0 are handled exactly).

    Args:
        x: sample, e.g. eigenvalues of ``R R^T`` divided by ``d``.
        sigma2, gamma: MP parameters.

    Returns:
        The distance, in ``[0, 1]``.
    """
    s, g = _check_params(sigma2, gamma)
    xa = np.asarray(x, dtype=float).ravel()
    if xa.size < 1 or not np.all(np.isfinite(xa)):
        raise ValueError("x must be a nonempty array of finite numbers")
    return _ks_prepared(*_ks_prepare(xa), s, g)


def paper_sigma2(R) -> float:
    """The paper's ``sigma2``: population variance of the entries of the centred ``R``.

    Appendix A.6: "we first subtract off the mean task vector. Then we compute
    the population variance of the elements of the centered matrix". The mean
    task vector is the row mean; after centring every column has mean 0, so this
    is ``mean((R - mean_row)^2)`` (``ddof = 0``).
    """
    Ra = _as_matrix(R, "R", min_rows=2)
    Rc = Ra - Ra.mean(axis=0, keepdims=True)
    return float(np.mean(Rc**2))


# --------------------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MPFit:
    """Result of :func:`fit_marchenko_pastur`.

    Attributes:
        sigma2: fitted (or fixed) entry variance, in the units of
            ``eigenvalue / n_dims``.
        gamma: fitted aspect ratio ``N / d_eff``.
        d_eff: effective dimension ``N / gamma`` (Appendix A.6), ``N`` counting
            all eigenvalues, outliers included.
        ks_distance: KS distance between the bulk's empirical distribution and
            the fitted law (for either method).
        n_outliers: number of top eigenvalues excluded as spikes.
        method: ``"ks"``, ``"mle"`` or ``"moments"``.
        n_dims: the divisor applied to the eigenvalues (``d`` of ``R``; 1 when
            the caller passed none).
        n_eigs: ``N``, the number of eigenvalues given.
        outliers: the excluded eigenvalues (units of the input), decreasing.
        threshold: outlier threshold used in the last iteration (units of the
            input), ``nan`` when no outlier search was done.
        sigma2_source: ``"fit"``, ``"paper"`` or ``"fixed"``.
        objective: value of the minimised criterion (KS distance, mean negative
            log-likelihood, or 0 for moments).
    """

    sigma2: float
    gamma: float
    d_eff: float
    ks_distance: float
    n_outliers: int
    method: str
    n_dims: float = 1.0
    n_eigs: int = 0
    outliers: tuple = field(default_factory=tuple)
    threshold: float = float("nan")
    sigma2_source: str = "fit"
    objective: float = float("nan")

    @property
    def edges(self) -> tuple[float, float]:
        """Bulk edges ``(lambda_-, lambda_+)`` in the units of the input eigenvalues."""
        lo, hi = mp_edges(self.sigma2, self.gamma)
        return lo * self.n_dims, hi * self.n_dims

    @property
    def atom(self) -> float:
        """Fraction of eigenvalues the fitted law puts at exactly 0."""
        return mp_atom(self.gamma)

    def pdf(self, lam) -> np.ndarray:
        """Continuous MP density for eigenvalues ``lam`` of ``R R^T`` (input units)."""
        return mp_density(np.asarray(lam, dtype=float) / self.n_dims, self.sigma2, self.gamma) / self.n_dims

    def cdf(self, lam) -> np.ndarray:
        """MP distribution function (atom included) for eigenvalues ``lam`` (input units)."""
        return mp_cdf(np.asarray(lam, dtype=float) / self.n_dims, self.sigma2, self.gamma)


def _tw_threshold(s: float, g: float, n: int, margin: float) -> float:
    """Edge plus ``margin`` Tracy-Widom scales, in units of ``x = lambda / n_dims``.

    For ``Xi`` of shape ``N x d'`` with unit-variance entries the largest
    eigenvalue of ``Xi Xi^T`` is ``mu + s TW1`` with ``mu = (sqrt N + sqrt d')^2``
    and ``s = (sqrt N + sqrt d')(1/sqrt N + 1/sqrt d')^{1/3}`` (Johnstone 2001);
    here ``d' = N / gamma`` and the law is that of ``sigma2 Xi Xi^T / d'``.
    """
    dp = n / g
    rn, rd = np.sqrt(n), np.sqrt(dp)
    scale = (rn + rd) * (1.0 / rn + 1.0 / rd) ** (1.0 / 3.0) / dp
    return s * ((1.0 + np.sqrt(g)) ** 2 + margin * scale)


def _moments(x: np.ndarray) -> tuple[float, float]:
    """Method of moments: MP mean is sigma2 and variance sigma2^2 gamma (atom included)."""
    m = float(np.mean(x))
    v = float(np.var(x))
    return m, max(v / m**2, 1e-8)


_GAMMA_GRID = np.exp(np.linspace(np.log(1e-3), np.log(1e3), 61))


def _nll(x_pos: np.ndarray, n0: int, s: float, g: float) -> float:
    """Mean negative log-likelihood of the bulk under MP(s, g); inf if infeasible."""
    lo, hi = s * (1.0 - np.sqrt(g)) ** 2, s * (1.0 + np.sqrt(g)) ** 2
    n = x_pos.size + n0
    if n0 > 0 and g <= 1.0:
        return np.inf
    if x_pos.size and (x_pos.min() <= lo or x_pos.max() >= hi):
        return np.inf
    ll = 0.0
    if n0:
        ll += n0 * np.log(1.0 - 1.0 / g)
    if x_pos.size:
        f = np.sqrt((hi - x_pos) * (x_pos - lo)) / (2.0 * np.pi * s * g * x_pos)
        ll += float(np.sum(np.log(f)))
    return -ll / n


def _fit_bulk(x: np.ndarray, method: str, sigma2_fixed: float | None) -> tuple[float, float, float]:
    """Fit MP(sigma2, gamma) to a bulk sample ``x`` (ascending not required).

    Search: gamma on a log-spaced grid in [1e-3, 1e3]. KS with free sigma2: a
    2-D grid (sigma2 within a factor e^3 of the bulk mean, which is the MP
    mean) and a Nelder-Mead polish. Otherwise a profile: for each gamma the best
    sigma2 (bounded Brent on log sigma2 over the feasible range) unless sigma2
    is fixed, then a bounded Brent refinement of gamma between the grid
    neighbours of the best grid point.
    Returns ``(sigma2, gamma, objective)``.
    """
    x = np.sort(x)
    if method == "moments":
        m, g = _moments(x)
        if sigma2_fixed is not None:
            # second moment sigma2^2 (1 + gamma) with sigma2 fixed
            g = max(float(np.mean(x**2)) / sigma2_fixed**2 - 1.0, 1e-8)
            m = sigma2_fixed
        return m, g, 0.0

    mean = float(np.mean(x))
    if method == "ks":
        prep = _ks_prepare(x)

        def obj(s, g):
            return _ks_prepared(*prep, s, g)

        def s_bounds(g):
            return np.log(mean) - 3.0, np.log(mean) + 3.0

    elif method == "mle":
        x_pos = x[x > 0]
        n0 = int(x.size - x_pos.size)
        if x_pos.size == 0:
            raise ValueError("eigs: every bulk eigenvalue is zero; nothing to fit")
        xmin, xmax = float(x_pos.min()), float(x_pos.max())

        def obj(s, g):
            return _nll(x_pos, n0, s, g)

        def s_bounds(g):
            lo = np.log(xmax) - 2.0 * np.log1p(np.sqrt(g))
            if abs(g - 1.0) < 1e-12:
                hi = lo + 6.0
            else:
                hi = np.log(xmin) - 2.0 * np.log(abs(1.0 - np.sqrt(g)))
                hi = min(hi, lo + 6.0)
            eps = 1e-9
            return lo + eps, hi - eps

    else:  # pragma: no cover - checked by the caller
        raise AssertionError(method)

    if method == "ks" and sigma2_fixed is None:
        # 2-D grid (gamma x sigma2, vectorised over sigma2), then Nelder-Mead.
        s_grid = mean * np.exp(np.linspace(-3.0, 3.0, 61))
        best = (np.inf, mean, 1.0)
        for g in _GAMMA_GRID:
            ks = _ks_grid(*prep, s_grid, g)
            i = int(np.argmin(ks))
            if ks[i] < best[0]:
                best = (float(ks[i]), float(s_grid[i]), float(g))
        f_best, s_best, g_best = best
        nm = optimize.minimize(
            lambda p: obj(np.exp(p[0]), np.exp(p[1])),
            x0=np.log([s_best, g_best]),
            method="Nelder-Mead",
            options={"xatol": 1e-7, "fatol": 1e-10, "maxiter": 600,
                     "initial_simplex": np.log([[s_best, g_best], [s_best * 1.05, g_best],
                                                [s_best, g_best * 1.26]])},
        )
        if nm.fun <= f_best:
            s_best, g_best = (float(v) for v in np.exp(nm.x))
            f_best = float(nm.fun)
        return s_best, g_best, f_best

    def profile(g):
        if sigma2_fixed is not None:
            return sigma2_fixed, obj(sigma2_fixed, g)
        lo, hi = s_bounds(g)
        if not lo < hi:
            return np.nan, np.inf
        res = optimize.minimize_scalar(
            lambda ls: min(obj(np.exp(ls), g), 1e300),
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-7},
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
        lambda lg: min(profile(np.exp(lg))[1], 1e300),
        bounds=(lg_lo, lg_hi),
        method="bounded",
        options={"xatol": 1e-7},
    )
    g_best = float(np.exp(res.x))
    s_best, f_best = profile(g_best)
    if f_best > vals[j]:
        g_best = float(_GAMMA_GRID[j])
        s_best, f_best = profile(g_best)
    return s_best, g_best, f_best


def fit_marchenko_pastur(
    eigs,
    n_dims: float | None = None,
    method: str = "ks",
    exclude_outliers: bool | int = True,
    *,
    sigma2: float | str | None = None,
    R=None,
    tw_margin: float = TW1_Q99,
    max_outliers: int | None = None,
) -> MPFit:
    """Fit the Marchenko-Pastur law (eq. 24-25) to the bulk of a Gram spectrum.

    The eigenvalues ``lambda`` of ``R R^T`` (as the paper plots them) are
    divided by ``n_dims`` (the embedding dimension ``d``) and the bulk of
    ``x = lambda / n_dims`` is fitted by MP(``sigma2``, ``gamma``); ``d_eff =
    N / gamma``. No per-figure factor enters: the only scale is ``n_dims``.

    Criterion (``method``):

    * ``"ks"`` (default): minimise the Kolmogorov-Smirnov distance between the
      empirical distribution function of the bulk eigenvalues and :func:`mp_cdf`
      (minimum-distance estimation). The KS distance is the natural goodness of
      fit for a *spectral distribution*: it is bounded, needs no binning, is
      insensitive to a few stray points (a missed spike moves it by 1/N) and
      treats the atom at 0 exactly. It is what "the histogram looks like the
      curve" means, made quantitative.
    * ``"mle"``: maximum likelihood of the bulk under eq. 24 (atom at 0 for
      ``gamma > 1``). The support is hard, so the likelihood is 0 unless
      ``[lambda_-, lambda_+]`` covers every bulk eigenvalue; at finite N the
      extreme eigenvalues fluctuate past the edges (Tracy-Widom), which biases
      the MLE towards a wider bulk (larger ``gamma``). Offered for comparison.
    * ``"moments"``: closed form from the MP moments, mean ``sigma2`` and
      variance ``sigma2^2 gamma`` (atom included). Fast, not robust.

    ``sigma2``: ``None`` fits both parameters (default); ``"paper"`` fixes
    ``sigma2`` to :func:`paper_sigma2` of ``R`` (Appendix A.6: population
    variance of the centred task-vector matrix; ``R`` must be given and
    ``n_dims`` defaults to its number of columns) and fits ``gamma`` alone,
    which is what the paper did by hand; a number fixes ``sigma2`` to it.

    Outliers (``exclude_outliers``): with ``True`` the top eigenvalues are
    peeled iteratively. Fit the bulk (all eigenvalues not yet excluded), compute
    the threshold ``lambda_+ + tw_margin * s_TW`` (the BBP picture: in the
    spiked model a spike separates from the bulk above the edge ``lambda_+``;
    ``s_TW`` is the Tracy-Widom scale of the largest bulk eigenvalue at this
    ``N`` and ``d_eff``, so a bulk eigenvalue passes it with probability about
    1 % at the default ``tw_margin``), exclude every eigenvalue above it, and
    refit; stop when no new eigenvalue is excluded. The count only grows, so
    the loop ends. With ``method="mle"`` the peeling uses the KS fit (the MLE
    support stretches over every point it is given, so it never flags one) and
    the final bulk is fitted by MLE. ``False`` fits all eigenvalues; an integer ``k`` excludes
    exactly the top ``k``.

    Zeros: eigenvalues with ``|lambda| <= EIG_RTOL * lambda_max`` are treated
    as exact zeros (round-off); they belong to the atom of the law.

    Args:
        eigs: eigenvalues of ``R R^T`` (any order), at least 2.
        n_dims: divisor ``d``; default ``R.shape[1]`` when ``R`` is given, else
            1 (then ``sigma2`` is in the units of the eigenvalues).
        method: ``"ks"``, ``"mle"`` or ``"moments"``.
        exclude_outliers: ``True``, ``False`` or a number of top eigenvalues.
        sigma2: ``None``, ``"paper"`` or a positive number (see above).
        R: the task vectors, needed for ``sigma2="paper"``.
        tw_margin: outlier threshold above ``lambda_+`` in Tracy-Widom scales.
        max_outliers: cap on excluded eigenvalues (default ``N // 2``).

    Returns:
        :class:`MPFit`.

    Raises:
        ValueError: bad eigenvalues (fewer than 2, NaN, negative beyond
            round-off), unknown method, ``sigma2="paper"`` without ``R``, or
            inconsistent ``n_dims``.

    Used in: book/07_linear_structure.md (Figure 4, left and bottom).
    """
    lam = _as_eigs(eigs)
    N = lam.size
    if method not in ("ks", "mle", "moments"):
        raise ValueError(f"method must be 'ks', 'mle' or 'moments', got {method!r}")

    Ra = None
    if R is not None:
        Ra = _as_matrix(R, "R", min_rows=2)
        if Ra.shape[0] != N:
            raise ValueError(f"R has {Ra.shape[0]} rows but eigs has {N} eigenvalues")
    if n_dims is None:
        n_dims = float(Ra.shape[1]) if Ra is not None else 1.0
    n_dims = float(n_dims)
    if not (np.isfinite(n_dims) and n_dims > 0):
        raise ValueError(f"n_dims must be a positive number (the embedding dimension d), got {n_dims!r}")

    source = "fit"
    s_fixed: float | None = None
    if isinstance(sigma2, str):
        if sigma2 != "paper":
            raise ValueError(f"sigma2 must be None, 'paper' or a positive number, got {sigma2!r}")
        if Ra is None:
            raise ValueError("sigma2='paper' needs the task vectors: pass R=...")
        if Ra.shape[1] != n_dims:
            raise ValueError(
                f"sigma2='paper' is a per-entry variance of R, so n_dims must be R.shape[1] = "
                f"{Ra.shape[1]}, got {n_dims}"
            )
        s_fixed, source = paper_sigma2(Ra), "paper"
    elif sigma2 is not None:
        s_fixed = float(sigma2)
        if not (np.isfinite(s_fixed) and s_fixed > 0):
            raise ValueError(f"sigma2 must be None, 'paper' or a positive number, got {sigma2!r}")
        source = "fixed"

    x = lam / n_dims  # descending
    cap = N // 2 if max_outliers is None else int(max_outliers)
    cap = min(cap, N - 2)
    if cap < 0:
        raise ValueError(f"max_outliers must be >= 0, got {max_outliers!r}")

    threshold = float("nan")
    if isinstance(exclude_outliers, (bool, np.bool_)):
        k = 0
        # The MLE support always covers every point it is given, so it can never
        # flag an outlier: peel with the KS fit, then fit the bulk by MLE.
        peel = "ks" if method == "mle" else method
        s, g, f = _fit_bulk(x, peel if exclude_outliers else method, s_fixed)
        if exclude_outliers:
            while True:
                thr = _tw_threshold(s, g, N, tw_margin)
                threshold = float(thr * n_dims)
                k_new = min(int(np.sum(x > thr)), cap)
                if k_new <= k:
                    break
                k = k_new
                s, g, f = _fit_bulk(x[k:], peel, s_fixed)
            if peel != method:
                s, g, f = _fit_bulk(x[k:], method, s_fixed)
    else:
        k = int(exclude_outliers)
        if k != exclude_outliers or not 0 <= k <= N - 2:
            raise ValueError(
                f"exclude_outliers must be True, False or an integer in [0, {N - 2}], got {exclude_outliers!r}"
            )
        s, g, f = _fit_bulk(x[k:], method, s_fixed)

    bulk = x[k:]
    return MPFit(
        sigma2=float(s),
        gamma=float(g),
        d_eff=float(N / g),
        ks_distance=ks_distance(bulk, s, g),
        n_outliers=int(k),
        method=method,
        n_dims=n_dims,
        n_eigs=int(N),
        outliers=tuple(float(v) for v in lam[:k]),
        threshold=threshold,
        sigma2_source=source,
        objective=float(f),
    )


# --------------------------------------------------------------------------------------
# summary numbers
# --------------------------------------------------------------------------------------


def snr(G_or_eigs, rtol: float = EIG_RTOL) -> float:
    """Empirical signal-to-noise ratio ``lambda_max(G) rank(G) / Tr G`` (Section 4).

    The ratio of the largest eigenvalue to the mean *nonzero* eigenvalue.
    ``rank(G)`` counts eigenvalues above ``rtol * lambda_max`` (default
    :data:`EIG_RTOL` = 1e-10, far above double round-off and far below any
    eigenvalue of the paper's spectra). It lies in ``[1, rank(G)]``: 1 when all
    nonzero eigenvalues are equal (orthogonal task vectors of equal norm, or a
    rank-1 ``G``), ``rank(G)`` in the limit where one eigenvalue dominates the
    others.

    Args:
        G_or_eigs: the Gram matrix ``R R^T`` (square, symmetric) or its eigenvalues.
        rtol: relative tolerance of the numerical rank.

    Returns:
        The SNR, ``>= 1``.

    Used in: book/07_linear_structure.md (Figure 4, bottom; Figure 6).
    """
    a = np.asarray(G_or_eigs, dtype=float)
    if a.ndim == 2:
        G = _as_matrix(a, "G", min_rows=2)
        if G.shape[0] != G.shape[1]:
            raise ValueError(f"G must be square (N x N), got shape {G.shape}; pass gram_spectrum(R)")
        if not np.allclose(G, G.T, rtol=1e-10, atol=1e-12 * np.max(np.abs(G))):
            raise ValueError("G is not symmetric; pass R @ R.T or its eigenvalues")
        a = np.linalg.eigvalsh(G)
        name = "G"
    else:
        name = "eigs"
    lam = _as_eigs(a, name=name, rtol=rtol)
    top = lam[0]
    rank = int(np.sum(lam > rtol * top))
    return float(top * rank / np.sum(lam))


def signal_in_mean(R) -> float:
    """Fraction of the spike carried by the mean task vector, eq. 26.

    ``1^T R R^T 1 / (N lambda_max(R R^T)) = N |mean task vector|^2 /
    lambda_max``, which is ``<= 1`` (a Rayleigh quotient of ``G`` at the unit
    vector ``1 / sqrt N``). It is 1 exactly when ``1`` is a top eigenvector of
    ``G``, e.g. when all task vectors are equal.

    Args:
        R: task vectors, shape ``(N, d)``, ``N >= 2``, not all zero.

    Returns:
        The ratio in ``[0, 1]``.

    Used in: book/07_linear_structure.md.
    """
    Ra = _as_matrix(R, "R", min_rows=2)
    top = float(np.linalg.svd(Ra, compute_uv=False)[0] ** 2)
    if top == 0.0:
        raise ValueError("R is all zeros: the task vectors are all zero")
    s = Ra.sum(axis=0)
    return float(s @ s / (Ra.shape[0] * top))


@dataclass(frozen=True, eq=False)
class MeanLocalization:
    """Result of :func:`mean_localization`.

    Attributes:
        weights: squared components of the mean task vector on each
            eigen-feature, normalised to sum 1, shape ``(k,)``.
        top: indices of the ``top_k`` features by weight, decreasing.
        top_weights: their weights.
        captured: ``|B^T r|^2 / |r|^2``, the fraction of the mean's squared norm
            inside the span of the basis (1 for a complete basis).
        effective_number: participation ratio ``1 / sum(weights^2)``, between 1
            (one feature) and ``k`` (spread evenly).
    """

    weights: np.ndarray
    top: np.ndarray
    top_weights: np.ndarray
    captured: float
    effective_number: float


def mean_localization(R, W_or_basis=None, top_k: int = 10) -> MeanLocalization:
    """How the mean task vector spreads over the eigen-features (Section 4, Figure 4 top).

    The mean task vector ``r = R.mean(0)`` is expressed in an orthonormal basis
    of eigen-features and its squared components are normalised to sum 1.

    * ``W_or_basis=None``: the canonical basis. For the closed-form embeddings
      (and :func:`truncate`) column ``k`` *is* the ``k``-th eigen-feature
      (Appendix A.6), so the components are ``r`` itself.
    * a ``(d, k)`` array with orthonormal columns (``k <= d``): that basis.
    * any other array with ``d`` columns: embeddings ``W`` (``V x d``, e.g. a
      trained model); the eigen-features are its right singular vectors, ordered
      by decreasing singular value (the model's principal directions, uncentred).

    A ``(d, d)`` array with orthonormal columns is read as a basis.

    Args:
        R: task vectors ``(N, d)`` expressed in the same coordinates as ``W``.
        W_or_basis: ``None``, a basis or embeddings, as above.
        top_k: number of dominant features to report.

    Returns:
        :class:`MeanLocalization`.

    Used in: book/07_linear_structure.md (Figure 4, top).
    """
    Ra = _as_matrix(R, "R", min_rows=1)
    d = Ra.shape[1]
    r = Ra.mean(axis=0)
    norm2 = float(r @ r)
    if norm2 == 0.0:
        raise ValueError("R: the mean task vector is zero, so it has no localization")
    if W_or_basis is None:
        comps = r
    else:
        B = _as_matrix(W_or_basis, "W_or_basis")
        if B.shape[0] == d and B.shape[1] <= d and np.allclose(
            B.T @ B, np.eye(B.shape[1]), atol=1e-8
        ):
            comps = B.T @ r
        elif B.shape[1] == d:
            _, _, Vt = np.linalg.svd(B, full_matrices=False)
            comps = Vt @ r
        else:
            raise ValueError(
                f"W_or_basis has shape {B.shape}: expected a (d, k) orthonormal basis or "
                f"embeddings (V, d) with d = {d} (R's columns)"
            )
    sq = comps**2
    total = float(sq.sum())
    if total == 0.0:
        raise ValueError("W_or_basis: the mean task vector is orthogonal to every basis vector")
    w = sq / total
    k = int(min(max(int(top_k), 1), w.size))
    order = np.argsort(-w, kind="stable")[:k]
    return MeanLocalization(
        weights=w,
        top=order,
        top_weights=w[order],
        captured=total / norm2,
        effective_number=float(1.0 / np.sum(w**2)),
    )


# --------------------------------------------------------------------------------------
# synthetic task vectors
# --------------------------------------------------------------------------------------


def spiked_wishart(
    N: int,
    d: int,
    sigma2: float = 1.0,
    spike_strength: float = 0.0,
    seed: int | None = 0,
    direction=None,
) -> np.ndarray:
    """Synthetic task vectors: Gaussian rows with a common mean, ``R = 1 m^T + sigma Z``.

    ``Z`` has i.i.d. standard normal entries and ``m`` is a vector of norm
    ``spike_strength`` (uniformly random direction unless ``direction`` is
    given). ``R R^T = sigma2 Z Z^T + (rank <= 2 terms)``, so its spectrum is the
    spiked model of Section 4: an MP bulk with ``sigma2`` and ``gamma = N / d``
    (after dividing by ``d``) and, when ``spike_strength^2 > sigma2 /
    sqrt(gamma)``, one outlier near :func:`spike_eigenvalue`.

    Args:
        N: number of task vectors, ``>= 2``.
        d: dimension, ``>= 1``.
        sigma2: noise variance per entry, > 0.
        spike_strength: norm of the mean vector ``m``, >= 0.
        seed: seed for ``numpy.random.default_rng``.
        direction: optional vector of length ``d`` giving the direction of ``m``.

    Returns:
        ``R`` with shape ``(N, d)``.

    Used in: tests/test_rmt.py; book/07_linear_structure.md.
    """
    if isinstance(N, bool) or int(N) != N or N < 2:
        raise ValueError(f"N must be an integer >= 2, got {N!r}")
    if isinstance(d, bool) or int(d) != d or d < 1:
        raise ValueError(f"d must be an integer >= 1, got {d!r}")
    _check_params(sigma2, 1.0)
    if not (np.isfinite(spike_strength) and spike_strength >= 0):
        raise ValueError(f"spike_strength must be a finite number >= 0, got {spike_strength!r}")
    rng = np.random.default_rng(seed)
    N, d = int(N), int(d)
    if direction is None:
        u = rng.standard_normal(d)
    else:
        u = np.asarray(direction, dtype=float)
        if u.shape != (d,) or not np.all(np.isfinite(u)) or not np.any(u):
            raise ValueError(f"direction must be a nonzero finite vector of length d = {d}")
    u = u / np.linalg.norm(u)
    Z = rng.standard_normal((N, d))
    return np.sqrt(sigma2) * Z + spike_strength * u[None, :]


def spike_eigenvalue(sigma2: float, gamma: float, spike_strength: float, n_dims: float = 1.0) -> float:
    """BBP prediction for the top eigenvalue of ``R R^T`` in :func:`spiked_wishart`.

    With ``t = spike_strength^2 / sigma2`` and ``gamma = N / d`` the outlier
    sits at ``n_dims * sigma2 (1 + t)(1 + gamma t) / t`` when ``t >
    1/sqrt(gamma)`` (Benaych-Georges and Nadakuditi 2012, rank-one
    information-plus-noise model; for large ``t`` this is ``N |m|^2``). Below the
    threshold the top eigenvalue sticks to the bulk edge and the edge
    ``n_dims * sigma2 (1 + sqrt(gamma))^2`` is returned.

    Args:
        sigma2: noise variance per entry.
        gamma: ``N / d``.
        spike_strength: norm of the common mean vector.
        n_dims: ``d``, to return the eigenvalue of ``R R^T`` (default 1: of
            ``R R^T / d``).
    """
    s, g = _check_params(sigma2, gamma)
    if not (np.isfinite(spike_strength) and spike_strength >= 0):
        raise ValueError(f"spike_strength must be a finite number >= 0, got {spike_strength!r}")
    t = spike_strength**2 / s
    if t <= 1.0 / np.sqrt(g):
        return float(n_dims * s * (1.0 + np.sqrt(g)) ** 2)
    return float(n_dims * s * (1.0 + t) * (1.0 + g * t) / t)
