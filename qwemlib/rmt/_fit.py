"""The Marchenko-Pastur fit of a Gram spectrum, with outlier peeling (paper, Appendix A.6).

The paper fits eq. 24-25 to each family's spectrum with ``sigma2`` set to the variance
of the centred task vectors (:func:`paper_sigma2`) and ``gamma`` tuned by hand, and
reports ``d_eff = N / gamma``. :func:`fit_marchenko_pastur` makes that fit
reproducible: the bulk is fitted by :func:`qwemlib.rmt._bulk._fit_bulk` and the spike(s)
of the spiked covariance model (Section 4) are peeled off above the Tracy-Widom edge.

Used in: book/07_linear_structure.md (Figure 4, left and bottom); tools/make_results.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._bulk import _fit_bulk
from ._checks import _as_eigs, _as_matrix
from ._mp import ks_distance, mp_atom, mp_cdf, mp_density, mp_edges

#: 99th percentile of the Tracy-Widom (beta = 1) law, the default margin (in
#: units of the Tracy-Widom scale) above the MP edge ``lambda_+`` beyond which an
#: eigenvalue is called an outlier (Johnstone 2001, Table 2: 2.0234).
TW1_Q99 = 2.0234

_METHODS = ("ks", "mle", "moments")


def paper_sigma2(R) -> float:
    """The paper's ``sigma2``: population variance of the entries of the centred ``R``.

    Appendix A.6: "we first subtract off the mean task vector. Then we compute
    the population variance of the elements of the centered matrix". The mean
    task vector is the row mean; after centring every column has mean 0, so this
    is ``mean((R - mean_row)^2)`` (``ddof = 0``).

    Used in: book/07_linear_structure.md (exercise "the paper's sigma2", through
    ``fit_marchenko_pastur(..., sigma2="paper")``).
    """
    Ra = _as_matrix(R, "R", min_rows=2)
    Rc = Ra - Ra.mean(axis=0, keepdims=True)
    return float(np.mean(Rc**2))


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


def _resolve_n_dims(n_dims, Ra: np.ndarray | None) -> float:
    if n_dims is None:
        n_dims = float(Ra.shape[1]) if Ra is not None else 1.0
    n_dims = float(n_dims)
    if not (np.isfinite(n_dims) and n_dims > 0):
        raise ValueError(f"n_dims must be a positive number (the embedding dimension d), got {n_dims!r}")
    return n_dims


def _resolve_sigma2(sigma2, Ra: np.ndarray | None, n_dims: float) -> tuple[float | None, str]:
    """``(fixed sigma2 or None, sigma2_source)`` from the ``sigma2`` argument."""
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
        return paper_sigma2(Ra), "paper"
    if sigma2 is None:
        return None, "fit"
    s_fixed = float(sigma2)
    if not (np.isfinite(s_fixed) and s_fixed > 0):
        raise ValueError(f"sigma2 must be None, 'paper' or a positive number, got {sigma2!r}")
    return s_fixed, "fixed"


def _peel(x: np.ndarray, method: str, s_fixed, tw_margin: float, cap: int):
    """Fit the bulk of ``x`` (descending), excluding outliers iteratively.

    The MLE support always covers every point it is given, so it can never flag an
    outlier: peel with the KS fit, then fit the bulk by MLE.
    Returns ``(sigma2, gamma, objective, n_outliers, threshold in units of x)``.
    """
    N = x.size
    k = 0
    peel = "ks" if method == "mle" else method
    s, g, f = _fit_bulk(x, peel, s_fixed)
    while True:
        thr = _tw_threshold(s, g, N, tw_margin)
        k_new = min(int(np.sum(x > thr)), cap)
        if k_new <= k:
            break
        k = k_new
        s, g, f = _fit_bulk(x[k:], peel, s_fixed)
    if peel != method:
        s, g, f = _fit_bulk(x[k:], method, s_fixed)
    return s, g, f, k, thr


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
      (minimum-distance estimation). It is bounded, needs no binning, is
      insensitive to a few stray points (a missed spike moves it by 1/N) and
      treats the atom at 0 exactly: "the histogram looks like the curve", made
      quantitative.
    * ``"mle"``: maximum likelihood of the bulk under eq. 24 (atom at 0 for
      ``gamma > 1``). The support is hard, so the likelihood is 0 unless
      ``[lambda_-, lambda_+]`` covers every bulk eigenvalue; at finite N the
      extreme eigenvalues fluctuate past the edges (Tracy-Widom), which biases
      the MLE towards a wider bulk (larger ``gamma``). Offered for comparison.
    * ``"moments"``: closed form from the MP moments, mean ``sigma2`` and
      variance ``sigma2^2 gamma`` (atom included). Fast, not robust.

    ``sigma2``: ``None`` fits both parameters (default); ``"paper"`` fixes
    ``sigma2`` to :func:`paper_sigma2` of ``R`` (``R`` must be given and
    ``n_dims`` defaults to its number of columns) and fits ``gamma`` alone,
    which is what the paper did by hand; a number fixes ``sigma2`` to it.

    Outliers (``exclude_outliers``): with ``True`` the top eigenvalues are
    peeled iteratively. Fit the bulk (all eigenvalues not yet excluded), compute
    the threshold ``lambda_+ + tw_margin * s_TW`` (the BBP picture: a spike
    separates from the bulk above the edge ``lambda_+``; ``s_TW`` is the
    Tracy-Widom scale of the largest bulk eigenvalue at this ``N`` and
    ``d_eff``, so a bulk eigenvalue passes it with probability about 1 % at the
    default ``tw_margin``), exclude every eigenvalue above it, and refit; stop
    when no new eigenvalue is excluded. The count only grows, so the loop ends.
    With ``method="mle"`` the peeling uses the KS fit and the final bulk is
    fitted by MLE. ``False`` fits all eigenvalues; an integer ``k`` excludes
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

    Used in: book/07_linear_structure.md (Figure 4, left and bottom);
    ``qwemlib.experiments._linear`` (tools/make_results.py).
    """
    lam = _as_eigs(eigs)
    N = lam.size
    if method not in _METHODS:
        raise ValueError(f"method must be 'ks', 'mle' or 'moments', got {method!r}")
    Ra = None
    if R is not None:
        Ra = _as_matrix(R, "R", min_rows=2)
        if Ra.shape[0] != N:
            raise ValueError(f"R has {Ra.shape[0]} rows but eigs has {N} eigenvalues")
    n_dims = _resolve_n_dims(n_dims, Ra)
    s_fixed, source = _resolve_sigma2(sigma2, Ra, n_dims)

    x = lam / n_dims  # descending
    cap = N // 2 if max_outliers is None else int(max_outliers)
    cap = min(cap, N - 2)
    if cap < 0:
        raise ValueError(f"max_outliers must be >= 0, got {max_outliers!r}")

    threshold = float("nan")
    if isinstance(exclude_outliers, (bool, np.bool_)):
        if exclude_outliers:
            s, g, f, k, thr = _peel(x, method, s_fixed, tw_margin, cap)
            threshold = float(thr * n_dims)
        else:
            k = 0
            s, g, f = _fit_bulk(x, method, s_fixed)
    else:
        k = int(exclude_outliers)
        if k != exclude_outliers or not 0 <= k <= N - 2:
            raise ValueError(
                f"exclude_outliers must be True, False or an integer in [0, {N - 2}], "
                f"got {exclude_outliers!r}"
            )
        s, g, f = _fit_bulk(x[k:], method, s_fixed)

    return MPFit(
        sigma2=float(s),
        gamma=float(g),
        d_eff=float(N / g),
        ks_distance=ks_distance(x[k:], s, g),
        n_outliers=int(k),
        method=method,
        n_dims=n_dims,
        n_eigs=int(N),
        outliers=tuple(float(v) for v in lam[:k]),
        threshold=threshold,
        sigma2_source=source,
        objective=float(f),
    )
