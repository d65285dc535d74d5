"""Tests for qwemlib.experiments._stepwise_grid: book/04's slider grid keeps every step apart.

The separation is checked against half-rise times computed here from eq. 11 itself
(``s_k(t)^2 = lambda_k / 2`` at ``t = ln(lambda_k / s_k(0)^2 - 1) / lambda_k``), not against
the ``tau_k`` the grid was built from; a wrong grid (the old 60 uniform points, or 60
log-spaced points) fails the same check.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from qwemlib import eigen, flow, theory
from qwemlib.experiments import grid_cells, separating_grid, step_time_grid, stepwise_frames

SIGMAS = np.geomspace(1e-7, 1e-2, 5)      # book/04's slider
D_GRID = (2, 5, 10, 20)                   # book/04's buttons


def exact_half_rise(dyn: theory.ClosedFormDynamics) -> np.ndarray:
    """Where eq. 11 reaches ``lambda_k / 2``, solved in closed form (independent of ``dyn.tau``)."""
    return np.log(dyn.values / dyn.s0 ** 2 - 1.0) / dyn.values


def distinct_cells(x, times) -> bool:
    """Adjacent (sorted) times in different cells ``[x_i, x_{i+1})``, by a direct search."""
    t = np.sort(times)
    cells = [int(np.flatnonzero(x <= ti)[-1]) if (x <= ti).any() else -1 for ti in t]
    return bool(np.all(np.diff(cells) >= 1))


def chapter_predictions(spec):
    """Eq. 13's predictions for book/04's sigma x d grid, with each frame's tau_1."""
    lam1 = spec.values[0]
    out = {}
    for d in D_GRID:
        for j, s in enumerate(SIGMAS):
            dyn = theory.ClosedFormDynamics.from_random_init(spec.top(d), s, seed=0, start="projected")
            out[d, j] = dyn, np.log(lam1 / s ** 2) / lam1
    return out


@pytest.fixture(scope="module")
def block(ci_stats):
    """The chapter's block: M* of the ci preset on its 1000 most frequent words."""
    n = min(ci_stats.M.shape[0], 1000)
    M = np.asarray(ci_stats.M[:n, :n])
    return M, eigen.full_spectrum(M)


def test_grid_cells_and_separating_grid():
    x = np.array([0.0, 1.0, 2.0, 4.0])
    np.testing.assert_array_equal(grid_cells(x, [-0.5, 0.0, 0.5, 1.0, 3.9, 4.0, 9.0]), [-1, 0, 0, 1, 2, 3, 3])
    with pytest.raises(ValueError, match="strictly increasing"):
        grid_cells([0.0, 0.0, 1.0], [0.5])
    sets = [np.array([1.1, 1.2, 1.3, np.inf]), np.array([3.0, 2.5, 2.6])]
    g = separating_grid(x, sets)
    assert set(x) <= set(g)                                   # only adds points
    for h in sets:
        assert distinct_cells(g, h[np.isfinite(h)])
    assert not distinct_cells(x, sets[0][:3])                 # the base alone merged them
    with pytest.raises(ValueError, match="equal"):
        separating_grid(x, [np.array([1.5, 1.5])])


def test_the_chapter_grid_separates_every_step_and_wrong_grids_do_not(block):
    """At d = 20 every mode's half-rise time lies in its own cell; 60 points do not manage it."""
    M, spec = block
    pred = chapter_predictions(spec)
    h = {k: exact_half_rise(dyn) / t1 for k, (dyn, t1) in pred.items()}
    x = step_time_grid([dyn.tau / t1 for dyn, t1 in pred.values()],
                       [1 / (dyn.values * t1) for dyn, t1 in pred.values()])
    assert all(distinct_cells(x, hk) for hk in h.values())
    top = [h[20, j] for j in range(len(SIGMAS))]
    cells = np.array([np.diff(grid_cells(x, np.sort(t))) for t in top])
    assert cells.min() >= 1 and cells.shape == (len(SIGMAS), 19)
    # a wrong grid: 60 log-spaced points over the same span (and the old 60 uniform ones)
    wrong_log = np.concatenate([[0.0], np.geomspace(x[1], x[-1], 59)])
    wrong_uniform = np.linspace(0.0, 5.0, 60)
    for wrong in (wrong_log, wrong_uniform):
        assert not all(distinct_cells(wrong, t) for t in top)
    # log spacing: equal steps in ln x over the base part of the grid (the inserted points aside)
    assert x[0] == 0.0 and x[1] > 0 and x.size < 400


def target(V=60, seed=1):
    """M with a cluster of close top eigenvalues (1-3 % apart, like book/04's modes 8-20)."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((V, V)))
    top = np.array([9.0, 6.0, 4.0, 3.9, 3.85, 3.8])
    lam = np.concatenate([top, rng.uniform(-0.5, 0.5, V - top.size)])
    M = (Q * lam) @ Q.T
    return 0.5 * (M + M.T)


def test_stepwise_frames_flow_and_theory_on_one_grid_steps_apart():
    M = target()
    spec = eigen.full_spectrum(M)
    sig, dg = [1e-6, 1e-3], (2, 6)
    fr = stepwise_frames(M, sig, dg, spectrum=spec)
    assert fr.separated(source="theory") and fr.separated(source="flow")
    assert set(fr.frames) == {(d, j) for d in dg for j in range(2)}
    T = fr.x.size
    for (d, j), f in fr.frames.items():
        assert f.s2.shape == f.s2_theory.shape == (T, d) and f.rank.shape == f.loss.shape == (T,)
        assert np.all(np.diff(f.rank) <= 1) and f.rank[-1] == d      # one step at a time, all learned
        assert distinct_cells(fr.x, exact_half_rise(
            theory.ClosedFormDynamics.from_random_init(spec.top(d), sig[j], seed=0, start="projected"))
            / f.tau1)
    # the flow merged from two passes equals one run on the final grid
    f = fr.frames[6, 1]
    run = flow.random_start_flow(M, 6, sig[1], f.tau1 * fr.x, spectrum=spec, rtol=1e-2)
    np.testing.assert_allclose(f.s2, run.result.gram_svd()[0] ** 2, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(f.loss, run.result.loss, rtol=1e-9)
    np.testing.assert_array_equal(f.rank, run.rank_staircase())
    np.testing.assert_allclose(f.loss_theory, run.dynamics.loss(run.times), rtol=1e-12)
    # a coarse grid merges steps: the same frames judged on 12 points are not separated
    coarse = dataclasses.replace(fr, x=np.linspace(0.0, fr.x[-1], 12))
    assert not coarse.separated(source="theory")
    with pytest.raises(ValueError, match="source"):
        fr.half_rise(2, 0, source="sgd")


def test_stepwise_frames_bad_inputs():
    M = target()
    with pytest.raises(ValueError, match="sigmas > 0"):
        stepwise_frames(M, [0.0], [2])
    with pytest.raises(ValueError, match="d <= V"):
        stepwise_frames(M, [1e-3], [M.shape[0] + 1])
    with pytest.raises(ValueError, match="no positive eigenvalue"):
        stepwise_frames(-np.eye(4), [1e-3], [2])
    with pytest.raises(ValueError, match="one per frame"):
        step_time_grid([np.ones(2)], [])
