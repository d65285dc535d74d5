"""Gradient flow from a small random start beside eq. 13's prediction; book/04's checks (private).

:class:`RandomStartFlow` holds one flow and its closed form; :func:`result_sweep` measures
eq. 13's distance over a grid of ``sigma`` and fits how fast it decays;
:func:`early_stopping` compares a flow stopped between two steps with the best rank-``r``
approximation, with a tolerance below the distance to rank ``r - 1`` and ``r + 1``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .. import eigen
from ..theory import ClosedFormDynamics, random_init, requiv_distance, subspace_overlap
from ._integrate import FlowResult, gradient_flow

__all__ = ["RATE_FLOOR", "STARTS", "EarlyStopping", "RandomStartFlow", "ResultSweep", "early_stopping",
           "early_stopping_sigma", "random_start_flow", "result_sweep"]

#: The decay exponent ``p`` (eq. 13's mean distance ``~ tau_1^-p``) that :meth:`ResultSweep.passes`
#: requires: halfway between no convergence (``p = 0``, what a prediction with its steps in the
#: wrong place gives) and the ``p = 1`` of a start error that is a fixed shift in absolute time.
RATE_FLOOR = 0.5

#: A prediction from ``(top-d eigenpairs, W(0), sigma)``; the two of the book by name.
Prediction = Callable[[eigen.Eigenpairs, np.ndarray, float], ClosedFormDynamics]
STARTS: dict[str, Prediction] = {
    s: (lambda eig, W0, sigma, s=s: ClosedFormDynamics.from_initial(eig, W0, start=s))
    for s in ("projected", "svd")}


@dataclass(frozen=True)
class RandomStartFlow:
    """Gradient flow from ``W_ij(0) ~ N(0, sigma^2)`` next to its closed form (eq. 13).

    Attributes:
        times: ``(T,)`` output times.
        result: the :class:`FlowResult` of :func:`gradient_flow`.
        dynamics: the :class:`~qwemlib.theory.ClosedFormDynamics` predicted from the same
            ``W(0)``.
    """

    times: np.ndarray
    result: FlowResult
    dynamics: ClosedFormDynamics

    def requiv_errors(self, prediction: ClosedFormDynamics | None = None) -> np.ndarray:
        """``(T,)``: ``min_U ||W(t) U - W*(t)||_F / ||W*(t_end)||_F``, eq. 13's distance, relative.

        ``prediction`` defaults to :attr:`dynamics`; pass another (the other start, a wrong
        one) to measure its distance from the same flow.

        Used in: book/04_stepwise.md (through :func:`result_sweep`).
        """
        dyn = self.dynamics if prediction is None else prediction
        W_th = dyn.W(self.times)
        dist = [requiv_distance(self.result.W[i], W_th[i]) for i in range(len(self.times))]
        return np.array(dist) / np.linalg.norm(W_th[-1])

    def requiv_error(self, prediction: ClosedFormDynamics | None = None) -> float:
        """The largest of :meth:`requiv_errors` over the recorded times.

        Used in: book/04_stepwise.md.
        """
        return float(np.max(self.requiv_errors(prediction)))

    def rank_staircase(self) -> np.ndarray:
        """``(T,)`` learned modes of the flow: ``#{k : s_k(t)^2 >= lambda_k / 2}`` (both sorted).

        Used in: book/04_stepwise.md.
        """
        return np.sum(self.result.gram_svd()[0] ** 2 >= self.dynamics.values / 2, axis=1)

    def rank_agreement(self, staircase=None) -> float:
        """Fraction of the times at which :meth:`rank_staircase` equals the predicted staircase.

        ``staircase`` defaults to ``dynamics.effective_rank(times)`` (eq. 13); pass a wrong
        one (shifted by one, another start's) to see the agreement drop.

        Used in: book/04_stepwise.md (its check that the rank grows in steps).
        """
        pred = self.dynamics.effective_rank(self.times) if staircase is None else staircase
        return float(np.mean(self.rank_staircase() == np.asarray(pred)))

    def silent_alignment(self, level: float = 0.1, order=None) -> np.ndarray:
        """``(d,)``: when ``s_k^2`` first reaches ``level * lambda_k``, the overlap of the top-``k``
        directions of ``W`` with the eigenvectors of the ``k`` modes learned first.

        Eq. 13 learns the modes in the order of their ``tau_j`` (``order`` defaults to
        ``argsort(tau)``): usually the top ``k``, but a close pair of eigenvalues can swap
        when the smaller one starts larger. Pass another ``order`` to test a wrong prediction.

        Used in: book/04_stepwise.md (its check that alignment precedes growth).
        """
        s2 = self.result.gram_svd()[0] ** 2
        lam = self.dynamics.values
        first = np.argmax(s2 >= level * lam, axis=0)
        order = np.argsort(self.dynamics.tau) if order is None else np.asarray(order)
        V = self.dynamics.vectors
        return np.array([subspace_overlap(self.result.top_directions(i, k), V[:, order[:k]])
                         for k, i in enumerate(first, start=1)])


def random_start_flow(
    M,
    d: int,
    sigma: float,
    times=None,
    *,
    spectrum: eigen.Spectrum | None = None,
    seed: int = 0,
    start: str = "projected",
    n_times: int = 120,
    horizon: float = 1.4,
    rtol: float = 1e-6,
) -> RandomStartFlow:
    """Run gradient flow from :func:`~qwemlib.theory.random_init` and its closed form (eq. 13).

    Both sides use the same top-``d`` eigenpairs (``spectrum.top(d)``) and the same
    ``W(0) = random_init(V, d, sigma, seed)``.

    Args:
        M: ``(V, V)`` symmetric target (``M*``).
        d: embedding dimension.
        sigma: initial scale, ``> 0``.
        times: output times; default ``n_times`` points from 0 to ``horizon`` times the
            slowest predicted step ``max_k tau_k``.
        spectrum: precomputed :func:`qwemlib.eigen.full_spectrum` of ``M`` (reuse it
            across runs: it is the expensive part).
        seed: seed of ``W(0)``.
        start: how the prediction reads ``S(0)`` off ``W(0)``
            (:meth:`~qwemlib.theory.ClosedFormDynamics.from_random_init`).
        rtol: :func:`gradient_flow`'s ``rtol`` (the rotation only; ``W W^T`` is exact).

    Used in: book/04_stepwise.md, :class:`qwemlib.widgets.FlowExplorer`.
    """
    spec = spectrum if spectrum is not None else eigen.full_spectrum(M)
    eig = spec.top(d)
    dyn = ClosedFormDynamics.from_random_init(eig, sigma, seed=seed, start=start)
    if times is None:
        tau = dyn.tau[np.isfinite(dyn.tau)]
        t_end = horizon * (float(tau.max()) if tau.size else 1.0 / max(abs(eig.values[0]), 1e-12))
        times = np.linspace(0.0, t_end, n_times)
    res = gradient_flow(M, random_init(eig.V, d, sigma, seed), times, spectrum=spec, rtol=rtol)
    return RandomStartFlow(times=res.times, result=res, dynamics=dyn)


# --------------------------------------------------------------------------- eq. 13 over sigma


@dataclass(frozen=True)
class ResultSweep:
    """Eq. 13's distance between gradient flow and its prediction, over a grid of ``sigma``.

    Attributes:
        sigmas: ``(S,)`` initial scales, decreasing.
        tau1: ``(S,)`` ``tau_1 = ln(lambda_1 / sigma^2) / lambda_1``, the unit of rescaled time.
        x: ``(T,)`` rescaled times ``t / tau_1`` (the same for every ``sigma``).
        errors: prediction name -> ``(S, T)`` :meth:`RandomStartFlow.requiv_errors`.
    """

    sigmas: np.ndarray
    tau1: np.ndarray
    x: np.ndarray
    errors: dict[str, np.ndarray]

    def mean(self, name: str) -> np.ndarray:
        """``(S,)`` distance averaged over rescaled time (the Result holds pointwise in ``t / tau_1``)."""
        return self.errors[name].mean(axis=1)

    def max(self, name: str) -> np.ndarray:
        """``(S,)`` largest distance over rescaled time (it need not tend to 0: the Result is pointwise)."""
        return self.errors[name].max(axis=1)

    def exponent(self, name: str, kind: str = "mean") -> float:
        """Fitted ``p`` in ``distance ~ tau_1^-p`` (least squares on logs); ``kind`` "mean" or "max"."""
        e = self.mean(name) if kind == "mean" else self.max(name)
        return float(-np.polyfit(np.log(self.tau1), np.log(e), 1)[0])

    def bound(self, name: str, rate: float = RATE_FLOOR) -> np.ndarray:
        """``(S,)`` ``E(sigma_0) (tau_1(sigma_0) / tau_1)^rate``: anchored at the largest ``sigma``,
        tightening as ``sigma`` shrinks."""
        return self.mean(name)[0] * (self.tau1[0] / self.tau1) ** rate

    def passes(self, name: str, rate: float = RATE_FLOOR) -> bool:
        """The mean distance decays at least like ``tau_1^-rate``: below :meth:`bound` at every
        ``sigma`` and a fitted :meth:`exponent` of at least ``rate``.

        Used in: book/04_stepwise.md (its check of eq. 13 from both starts).
        """
        return bool(np.all(self.mean(name) <= self.bound(name, rate) * (1 + 1e-12))
                    and self.exponent(name) >= rate)


def result_sweep(M, d: int, sigmas: Sequence[float], *, spectrum: eigen.Spectrum | None = None,
                 predictions: Sequence[str] | Mapping[str, Prediction] = ("projected", "svd"),
                 horizon: float = 1.4, n_times: int = 60, seed: int = 0,
                 rtol: float = 1e-2) -> ResultSweep:
    """Eq. 13 (the Result) from several starts, over a grid of ``sigma``, on one time window.

    For each ``sigma`` one flow from ``random_init(V, d, sigma, seed)`` is run at rescaled
    times ``x = t / tau_1`` from 0 to ``horizon * lambda_1 / lambda_d`` (where the last step
    sits as ``sigma -> 0``), and each prediction's REquiv distance is measured on it.

    Args:
        M: ``(V, V)`` symmetric target.
        d: embedding dimension.
        sigmas: initial scales (sorted into decreasing order).
        spectrum: :func:`qwemlib.eigen.full_spectrum` of ``M`` (reused by every flow).
        predictions: names in :data:`STARTS` (``"projected"``, ``"svd"``) or a mapping name ->
            ``f(eig, W0, sigma) -> ClosedFormDynamics`` (for example a wrong prediction).
        horizon, n_times, seed, rtol: the window's length, its points, ``W(0)``'s seed and
            :func:`gradient_flow`'s ``rtol``.

    Used in: book/04_stepwise.md.
    """
    sig = np.asarray(sigmas, dtype=float)
    if sig.ndim != 1 or sig.size == 0 or not np.all(np.isfinite(sig) & (sig > 0)):
        raise ValueError(f"result_sweep: sigmas must be a non-empty list of scales > 0; got {sigmas!r}")
    spec = spectrum if spectrum is not None else eigen.full_spectrum(M)
    eig = spec.top(d)
    lam = eig.values
    if lam[-1] <= 0:
        raise ValueError(f"result_sweep: the top d = {d} eigenvalues must be > 0 (lambda_d = "
                         f"{lam[-1]:.3g}); lower d")
    preds = {p: STARTS[p] for p in predictions} if not isinstance(predictions, Mapping) \
        else dict(predictions)
    sig = np.sort(sig)[::-1]
    tau1 = np.log(lam[0] / sig ** 2) / lam[0]
    x = np.linspace(0.0, horizon * lam[0] / lam[-1], n_times)
    errors = {name: np.empty((sig.size, n_times)) for name in preds}
    for i, s in enumerate(sig):
        W0 = random_init(eig.V, d, float(s), seed)
        res = gradient_flow(M, W0, tau1[i] * x, spectrum=spec, rtol=rtol)
        for name, f in preds.items():
            run = RandomStartFlow(res.times, res, f(eig, W0, float(s)))
            errors[name][i] = run.requiv_errors()
    return ResultSweep(sigmas=sig, tau1=tau1, x=x, errors=errors)


# --------------------------------------------------------------------------- early stopping


def _rank_targets(values: np.ndarray, order: np.ndarray, ranks: np.ndarray):
    """Eigen-coordinates of ``M_(q)`` (the ``q`` first-learned modes) and half the distance
    from ``M_(q)`` to the nearer of ``M_(q-1)``, ``M_(q+1)``, for each ``q`` of ``ranks``."""
    d = values.size
    target = np.zeros((ranks.size, d))
    tol = np.empty(ranks.size)
    for i, q in enumerate(ranks):
        target[i, order[:q]] = values[order[:q]]
        tol[i] = 0.5 * min(values[order[q - 1]], values[order[q]] if q < d else np.inf)
    return target, tol


@dataclass(frozen=True)
class EarlyStopping:
    """A flow stopped halfway between the ``r``-th and ``(r+1)``-th step, for ``r = 1..d-1``.

    Attributes:
        sigma: initial scale.
        times: ``(d-1,)`` stop times (between consecutive sorted ``tau``).
        ranks: ``(d-1,)`` the rank each stop is compared with (``r``; a test shifts it).
        distance: ``(d-1,)`` ``||W W^T - M_(q)||_F`` of the flow, ``M_(q)`` the best
            approximation on the ``q`` first-learned modes (eq. 7 restricted to them).
        predicted: ``(d-1,)`` the same distance of the closed form (eq. 13) at the stop.
        tolerance: ``(d-1,)`` half the distance from ``M_(q)`` to the nearer of ``M_(q-1)``
            and ``M_(q+1)`` (half the smaller of the two eigenvalues that differ): within it,
            ``W W^T`` is closer to rank ``q`` than to either neighbour.
        norm: ``(d-1,)`` ``||M_(q)||_F`` (for relative numbers).
    """

    sigma: float
    times: np.ndarray
    ranks: np.ndarray
    distance: np.ndarray
    predicted: np.ndarray
    tolerance: np.ndarray
    norm: np.ndarray

    def passes(self) -> bool:
        """Every stop is closer to its rank than to rank ``r +- 1``.

        Used in: book/04_stepwise.md.
        """
        return bool(np.all(self.distance < self.tolerance))


def early_stopping(M, d: int, sigma: float, *, spectrum: eigen.Spectrum | None = None,
                   seed: int = 0, rtol: float = 1e-2, order=None, shift: int = 0) -> EarlyStopping:
    """Stop the flow from ``random_init(V, d, sigma, seed)`` between steps; compare with rank ``r``.

    The stops lie halfway between consecutive sorted ``tau_k`` of the projected-start
    prediction; the modes count in eq. 13's learning order (``argsort(tau)``).

    Args:
        M, d, sigma, spectrum, seed, rtol: as in :func:`random_start_flow`.
        order: the learning order to compare with (default ``argsort(tau)``; a wrong one
            makes the check fail).
        shift: compare stop ``r`` with rank ``r + shift`` (0; a test passes ``+-1``).

    Used in: book/04_stepwise.md.
    """
    spec = spectrum if spectrum is not None else eigen.full_spectrum(M)
    eig = spec.top(d)
    dyn = ClosedFormDynamics.from_random_init(eig, sigma, seed=seed, start="projected")
    tau = np.sort(dyn.tau)
    t_stops = 0.5 * (tau[:-1] + tau[1:])
    order = np.argsort(dyn.tau) if order is None else np.asarray(order)
    r = np.arange(1, d)
    keep = (r + shift >= 1) & (r + shift <= d)
    ranks = r[keep] + shift
    target, tol = _rank_targets(dyn.values, order, ranks)
    res = gradient_flow(M, random_init(eig.V, d, sigma, seed), t_stops[keep], spectrum=spec,
                        rtol=rtol)
    dist = np.empty(ranks.size)
    for i, W in enumerate(res.W):          # ||W W^T - V diag(c) V^T||_F without the V x V matrix
        A, C = eig.vectors.T @ W, W.T @ W
        sq = np.vdot(C, C) - 2 * np.sum(target[i] * np.sum(A * A, axis=1)) + np.sum(target[i] ** 2)
        dist[i] = np.sqrt(max(sq, 0.0))
    pred = np.linalg.norm(dyn.s2(t_stops[keep]) - target, axis=1)
    return EarlyStopping(sigma=float(sigma), times=t_stops[keep], ranks=ranks, distance=dist,
                         predicted=pred, tolerance=tol, norm=np.linalg.norm(target, axis=1))


def early_stopping_sigma(eig: eigen.Eigenpairs, sigmas: Sequence[float], *, margin: float = 0.5,
                         seed: int = 0) -> float:
    """The largest ``sigma`` of the grid at which eq. 13 itself resolves every step.

    Resolved: at each stop the closed form is within ``margin`` times the tolerance of
    :class:`EarlyStopping` (so a flow that follows it keeps the other half as room). Close
    eigenvalues need a very small start (``tau_{k+1} - tau_k`` grows like ``ln(1/sigma^2)``,
    the width of a step does not). Decided from the closed form alone, before any flow runs.

    Raises:
        ValueError: no ``sigma`` of the grid resolves every step.

    Used in: book/04_stepwise.md.
    """
    for s in np.sort(np.asarray(sigmas, dtype=float))[::-1]:
        dyn = ClosedFormDynamics.from_random_init(eig, float(s), seed=seed, start="projected")
        tau = np.sort(dyn.tau)
        if tau[0] <= 0:                 # a start above lambda_k: no step at all
            continue
        ranks = np.arange(1, eig.d)
        target, tol = _rank_targets(dyn.values, np.argsort(dyn.tau), ranks)
        if np.all(np.linalg.norm(dyn.s2(0.5 * (tau[:-1] + tau[1:])) - target, axis=1)
                  <= margin * tol):
            return float(s)
    raise ValueError(f"early_stopping_sigma: no sigma in {list(sigmas)} resolves every step "
                     f"of d = {eig.d}; add smaller values or lower d")
