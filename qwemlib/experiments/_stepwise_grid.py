"""The sigma x d grid of gradient flows behind book/04's slider, on one time grid (private).

:func:`stepwise_frames` runs gradient flow from ``W_ij(0) ~ N(0, sigma^2)`` for every
``(d, sigma)`` of a grid, next to eq. 13's closed form, and records what the slider shows:
``s_k(t)^2``, the loss and the rank (modes past half height), flow and prediction, all on
one rescaled time grid ``x = t / tau_1`` shared by every frame (so the page stores each
``x`` once). :func:`step_time_grid` builds that grid so that every step is drawn apart
from its neighbours: each mode's half-rise time lies in a grid cell of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .. import eigen, theory
from ..flow import random_start_flow

__all__ = ["HORIZON", "LEAD_IN", "StepwiseFrame", "StepwiseFrames", "grid_cells", "separating_grid",
           "step_time_grid", "stepwise_frames"]

#: The grid ends at this multiple of the latest step time (as :func:`qwemlib.flow.random_start_flow`).
HORIZON = 1.4
#: The grid's log-spaced part starts where the earliest mode is at this fraction of its eigenvalue.
LEAD_IN = 0.01


def grid_cells(x, times) -> np.ndarray:
    """Index ``i`` of the grid cell ``[x_i, x_{i+1})`` that holds each time (``-1`` before ``x_0``).

    Two times are drawn apart on the grid ``x`` exactly when their cells differ: then a
    grid point lies between them, and a curve sampled on ``x`` (a rank staircase) shows
    one step at each. Used in: book/04_stepwise.md (through :class:`StepwiseFrames`).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < 2 or (np.diff(x) <= 0).any():
        raise ValueError(f"x must be a strictly increasing 1-D grid of >= 2 points; got shape {x.shape}")
    return np.searchsorted(x, np.asarray(times, dtype=np.float64), side="right") - 1


def separating_grid(base, step_times: Iterable) -> np.ndarray:
    """``base`` plus the midpoint of every pair of adjacent step times that share a cell.

    Each entry of ``step_times`` is one frame's step times (any order; ``nan``/``inf``, a
    mode that never rises, are ignored). Inserting a point only splits cells, so frames
    separated earlier stay separated; afterwards adjacent times of every frame lie in
    different cells (:func:`grid_cells`).

    Raises:
        ValueError: if two steps of one frame fall at exactly the same time (no grid
            separates them; perturb the seed).
    """
    x = np.unique(np.asarray(base, dtype=np.float64))
    for h in step_times:
        h = np.sort(np.asarray(h, dtype=np.float64))
        h = h[np.isfinite(h)]
        same = np.flatnonzero(np.diff(grid_cells(x, h)) == 0)
        if same.size and (h[same + 1] == h[same]).any():
            raise ValueError(f"two step times are equal ({h[same][h[same + 1] == h[same]][0]!r}); "
                             "no grid separates them: use another seed")
        x = np.union1d(x, (h[same] + h[same + 1]) / 2)
    return x


def step_time_grid(step_times: Sequence, widths: Sequence, *, points_per_width: float = 1.5,
                   horizon: float = HORIZON, lead_in: float = LEAD_IN) -> np.ndarray:
    """A rescaled time grid on which every step of every frame is drawn and kept apart.

    In rescaled time mode ``k`` of eq. 11 rises around ``x_k = tau_k / tau_1`` over a width
    ``w_k = 1 / (lambda_k tau_1)``, and ``w_k / x_k = 1 / ln(lambda_k / s_k(0)^2)`` is nearly
    the same for every mode (it moves only with the log of the start). So the grid is
    log-spaced: equal steps in ``ln x`` give every sigmoid about ``points_per_width`` points
    per width, where a uniform grid fine enough for the narrow first step spends most of
    its points on the wide late ones (60 uniform points over ``[0, 5]`` give mode 1 of
    book/04 at sigma = 1e-7 one or two points across its rise). Log spacing alone cannot
    separate two modes whose eigenvalues are 1 % apart: they rise 1 % apart in time, far
    less than a width (at ``d = 20`` in book/04 neighbours come as close as 7e-4 tau_1). So the midpoints
    between adjacent step times that share a cell are added (:func:`separating_grid`):
    every frame's steps then fall in cells of their own, at the cost of one point each.
    Measured on book/04's grid at ci (5 sigma x d = 2, 5, 10, 20): the log-spaced part alone
    (150 points) leaves 1-3 pairs of the 19 at ``d = 20`` in a shared cell per sigma, as does
    a uniform grid of 159 points (1-3), 60 uniform (2-4) or 60 log-spaced ones (4-5); with the
    9 midpoints none.

    Args:
        step_times: per frame, the ``(d,)`` rescaled step times ``tau_k / tau_1``.
        widths: per frame, the ``(d,)`` rescaled widths ``1 / (lambda_k tau_1)``.
        points_per_width: grid points per width of the narrowest sigmoid (relative to its time).
        horizon: the grid ends at ``horizon`` times the latest step.
        lead_in: the log-spaced part starts where the earliest mode is at ``lead_in``
            of its eigenvalue (the grid's first point is ``x = 0``).

    Used in: book/04_stepwise.md (through :func:`stepwise_frames`).
    """
    h = [np.asarray(a, dtype=np.float64) for a in step_times]
    w = [np.asarray(a, dtype=np.float64) for a in widths]
    if not h or len(h) != len(w) or any(a.shape != b.shape for a, b in zip(h, w)):
        raise ValueError("step_times and widths must be non-empty lists of equally shaped arrays, "
                         "one per frame")
    ok = [np.isfinite(a) & np.isfinite(b) & (b > 0) for a, b in zip(h, w)]
    if not any(m.any() for m in ok):
        raise ValueError("no frame has a finite step time; every lambda_k <= 0?")
    if not (points_per_width > 0 and horizon > 1 and 0 < lead_in < 0.5):
        raise ValueError(f"need points_per_width > 0, horizon > 1, 0 < lead_in < 0.5; got "
                         f"{points_per_width}, {horizon}, {lead_in}")
    z = np.log((1 - lead_in) / lead_in)       # the logistic is at lead_in this many widths early
    lo = min(float(np.min(a[m] - z * b[m])) for a, b, m in zip(h, w, ok) if m.any())
    hi = horizon * max(float(np.max(a[m])) for a, m in zip(h, ok) if m.any())
    lo = lo if lo > 0 else min(float(np.min(a[m])) for a, m in zip(h, ok) if m.any()) / 2
    rel = min(float(np.min(b[m] / a[m])) for a, b, m in zip(h, w, ok) if m.any())
    n = int(np.ceil(np.log(hi / lo) * points_per_width / rel)) + 1
    return separating_grid(np.concatenate([[0.0], np.geomspace(lo, hi, n)]), h)


@dataclass(frozen=True)
class StepwiseFrame:
    """One ``(d, sigma)`` of the slider: flow and eq. 13 on the shared grid ``x``.

    Attributes:
        d, sigma: the embedding dimension and the initial scale.
        tau1: ``ln(lambda_1 / sigma^2) / lambda_1``, the unit of rescaled time (eq. 13).
        values: ``(d,)`` eigenvalues ``lambda_k``.
        step_times: ``(d,)`` eq. 13's rescaled step times ``tau_k / tau_1`` (where eq. 11
            passes ``lambda_k / 2``, up to ``s_k(0)^2 / lambda_k^2``).
        s2, s2_theory: ``(T, d)`` squared singular values, flow (decreasing) and eq. 11/13.
        loss, loss_theory: ``(T,)`` ``(1/4)||W W^T - M*||_F^2``.
        rank, rank_theory: ``(T,)`` modes past half height (flow: ``RandomStartFlow.rank_staircase``,
            eq. 13: ``ClosedFormDynamics.effective_rank``).
    """

    d: int
    sigma: float
    tau1: float
    values: np.ndarray
    step_times: np.ndarray
    s2: np.ndarray
    s2_theory: np.ndarray
    loss: np.ndarray
    loss_theory: np.ndarray
    rank: np.ndarray
    rank_theory: np.ndarray


@dataclass(frozen=True)
class StepwiseFrames:
    """The slider's frames: ``frames[d, j]`` for ``d`` in ``d_grid`` and ``sigmas[j]``.

    Attributes:
        x: ``(T,)`` rescaled time grid ``t / tau_1`` (:func:`step_time_grid`), shared by all frames.
        sigmas, d_grid: the slider's and the buttons' values.
        frames: ``{(d, j): StepwiseFrame}``.
        added: grid points added after the first flow pass so that the flow's own
            half-rise times fall in separate cells too.
    """

    x: np.ndarray
    sigmas: tuple[float, ...]
    d_grid: tuple[int, ...]
    frames: Mapping[tuple[int, int], StepwiseFrame]
    added: int

    def half_rise(self, d: int, j: int, *, source: str = "theory") -> np.ndarray:
        """``(d,)`` sorted half-rise times of frame ``(d, j)``: eq. 13's (``"theory"``) or the flow's.

        The flow's are :func:`qwemlib.theory.half_rise_times` on the grid (linear between
        grid points, so inside the cell where the flow crosses ``lambda_k / 2``).
        """
        f = self.frames[d, j]
        if source == "theory":
            return np.sort(f.step_times)
        if source == "flow":
            return np.sort(theory.half_rise_times(self.x, f.s2, f.values))
        raise ValueError(f"source must be 'theory' or 'flow'; got {source!r}")

    def cells_between_steps(self, d: int, *, source: str = "theory") -> np.ndarray:
        """``(len(sigmas), d - 1)``: grid cells from each step to the next, per sigma (>= 1: apart).

        Used in: book/04_stepwise.md (the measured separation at ``d = 20``).
        """
        return np.array([np.diff(grid_cells(self.x, self.half_rise(d, j, source=source)))
                         for j in range(len(self.sigmas))])

    def separated(self, *, source: str = "theory") -> bool:
        """Whether every frame's adjacent half-rise times fall in different grid cells."""
        return all((self.cells_between_steps(d, source=source) >= 1).all() for d in self.d_grid if d > 1)


def _flow_arrays(M, spec, d, sigma, tau1, x, seed, rtol):
    run = random_start_flow(M, d, sigma, tau1 * x, spectrum=spec, seed=seed, rtol=rtol)
    return run.result.gram_svd()[0] ** 2, run.result.loss, run.rank_staircase()


def stepwise_frames(M, sigmas: Sequence[float], d_grid: Sequence[int], *,
                    spectrum: eigen.Spectrum | None = None, seed: int = 0, rtol: float = 1e-2,
                    points_per_width: float = 1.5) -> StepwiseFrames:
    """Gradient flow and eq. 13 for every ``(d, sigma)``, on one grid where every step is apart.

    1. Eq. 13's prediction for each frame (``ClosedFormDynamics.from_random_init``,
       ``start="projected"``, the same ``W(0)`` as the flow) gives its step times
       ``tau_k / tau_1`` and widths; :func:`step_time_grid` builds the shared grid.
    2. Gradient flow (:func:`qwemlib.flow.random_start_flow`) runs on it for every frame.
    3. The flow's own half-rise times, measured on that grid, can share a cell where eq. 13's
       did not (the flow's steps sit slightly off the prediction); their midpoints are added
       and the flow is run at the added times only (``W W^T``, hence ``s_k^2``, the loss and
       the rank, does not depend on the output times: see :func:`qwemlib.flow.gradient_flow`).

    Args:
        M: ``(V, V)`` symmetric target (the chapter's block of ``M*``).
        sigmas: initial scales (the slider).
        d_grid: embedding dimensions (the buttons).
        spectrum: :func:`qwemlib.eigen.full_spectrum` of ``M`` (computed if omitted).
        seed: seed of every ``W(0)``.
        rtol: the flow's ``rtol`` (the rotation only).
        points_per_width: see :func:`step_time_grid`.

    Used in: book/04_stepwise.md.
    """
    spec = spectrum if spectrum is not None else eigen.full_spectrum(M)
    sigmas, d_grid = tuple(float(s) for s in sigmas), tuple(int(d) for d in d_grid)
    if not sigmas or not d_grid or min(sigmas) <= 0 or min(d_grid) < 1 or max(d_grid) > spec.V:
        raise ValueError(f"need sigmas > 0 and 1 <= d <= V = {spec.V}; got sigmas {sigmas}, d_grid {d_grid}")
    lam1 = float(spec.values[0])
    if lam1 <= 0:
        raise ValueError("M has no positive eigenvalue: nothing is learned, there are no steps")
    keys = [(d, j) for d in d_grid for j in range(len(sigmas))]
    dyn, tau1 = {}, {}
    for d, j in keys:
        dyn[d, j] = theory.ClosedFormDynamics.from_random_init(spec.top(d), sigmas[j], seed=seed,
                                                               start="projected")
        tau1[d, j] = np.log(lam1 / sigmas[j] ** 2) / lam1
    with np.errstate(divide="ignore"):
        widths = [1.0 / (dyn[k].values * tau1[k]) for k in keys]
    x = step_time_grid([dyn[k].tau / tau1[k] for k in keys], widths, points_per_width=points_per_width)
    first = {(d, j): _flow_arrays(M, spec, d, sigmas[j], tau1[d, j], x, seed, rtol) for d, j in keys}
    x2 = separating_grid(x, [theory.half_rise_times(x, first[k][0], dyn[k].values) for k in keys])
    new = np.setdiff1d(x2, x)
    order = np.argsort(np.concatenate([x, new]), kind="stable")
    frames = {}
    for d, j in keys:
        arrays = first[d, j]
        if new.size:
            more = _flow_arrays(M, spec, d, sigmas[j], tau1[d, j], new, seed, rtol)
            arrays = tuple(np.concatenate([a, b])[order] for a, b in zip(arrays, more))
        D, t = dyn[d, j], tau1[d, j] * x2
        frames[d, j] = StepwiseFrame(d=d, sigma=sigmas[j], tau1=float(tau1[d, j]), values=D.values,
                                     step_times=D.tau / tau1[d, j], s2=arrays[0], s2_theory=D.s2(t),
                                     loss=arrays[1], loss_theory=D.loss(t), rank=arrays[2],
                                     rank_theory=D.effective_rank(t))
    return StepwiseFrames(x=x2, sigmas=sigmas, d_grid=d_grid, frames=frames, added=int(new.size))
