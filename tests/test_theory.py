"""Tests for qwemlib.theory: closed forms (eq. 7, 9), dynamics (eq. 10-13), rise times.

The eigensolvers are tested in tests/test_eigen.py.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.optimize
from matrices import dense_top, indefinite

from qwemlib import eigen, flow, theory


@pytest.fixture(scope="module")
def Mind():
    return indefinite()


# ------------------------------------------------------------------ closed forms


def quarter_loss(W, M):
    R = W @ W.T - M
    return 0.25 * float(np.sum(R * R))


def test_closed_form_is_minimizer(Mind):
    d = 10
    W = theory.closed_form_embeddings(Mind, d)
    L0 = quarter_loss(W, Mind)
    # Eckart-Young value: (1/4)(||M||^2 - sum of top-d lambda^2) (all top-d > 0 here)
    w_ref, _ = dense_top(Mind, d)
    np.testing.assert_allclose(L0, 0.25 * (np.sum(Mind**2) - np.sum(w_ref**2)), rtol=1e-10)
    rng = np.random.default_rng(1)
    for eps in (1e-1, 1e-2, 1e-3):
        for _ in range(5):
            assert quarter_loss(W + eps * rng.standard_normal(W.shape), Mind) > L0
    # REquiv: any rotation is as good (eq. 4)
    U, _ = np.linalg.qr(rng.standard_normal((d, d)))
    np.testing.assert_allclose(quarter_loss(W @ U, Mind), L0, rtol=1e-12)
    # gradient flow from a small random init ends there
    res = flow.gradient_flow(Mind, theory.random_init(Mind.shape[0], d, 1e-3, 0), [0.0, 20.0])
    np.testing.assert_allclose(res.loss[-1], L0, rtol=1e-8)
    assert theory.requiv_distance(res.W[-1], W, relative=True) < 1e-5


def test_closed_form_warns_and_clips_negative_top_eigenvalues():
    rng = np.random.default_rng(2)
    V = 30
    Q, _ = np.linalg.qr(rng.standard_normal((V, V)))
    lam = np.concatenate([[5.0, 3.0], -np.linspace(0.5, 4, V - 2)])
    M = (Q * lam) @ Q.T
    M = 0.5 * (M + M.T)
    with pytest.warns(UserWarning, match="2 of the top-4 eigenvalues"):
        W = theory.closed_form_embeddings(M, 4)
    assert np.allclose(W[:, 2:], 0) and np.linalg.matrix_rank(W) == 2


def test_weighted_closed_form_matches_direct_minimization():
    rng = np.random.default_rng(4)
    V, d = 12, 3
    M = indefinite(V=V, d=3, seed=5, n_neg=3, neg_scale=20.0)
    g = rng.uniform(0.3, 2.0, V)
    W = theory.weighted_closed_form(M, g, d)
    G = np.outer(g, g)

    def fg(x):
        X = x.reshape(V, d)
        R = X @ X.T - M
        return 0.25 * np.sum(G * R * R), ((G * R) @ X).ravel()

    best = np.inf
    for s in range(6):
        x0 = np.random.default_rng(s).standard_normal(V * d)
        opts = {"maxiter": 5000, "gtol": 1e-12, "ftol": 1e-15}
        r = scipy.optimize.minimize(fg, x0, jac=True, method="L-BFGS-B", options=opts)
        best = min(best, r.fun)
        if r.fun <= best:
            Wopt = r.x.reshape(V, d)
    L_cf = fg(W.ravel())[0]
    np.testing.assert_allclose(L_cf, best, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(W @ W.T, Wopt @ Wopt.T, atol=1e-4)
    # and it differs from the unweighted solution (the weights matter)
    assert theory.requiv_distance(theory.closed_form_embeddings(M, d), W, relative=True) > 1e-2
    with pytest.raises(ValueError, match="non-negative"):
        theory.weighted_closed_form(M, -g, d)
    with pytest.raises(ValueError, match="zero entries"):
        theory.weighted_closed_form(M, np.where(np.arange(V) == 0, 0.0, g), d)


# ------------------------------------------------------------------ dynamics (eq. 11)


@pytest.fixture(scope="module")
def eig_small(Mind):
    return eigen.top_eigenpairs(Mind, 10, method="dense")


def test_eq11_satisfies_its_ode(eig_small):
    cf = theory.ClosedFormDynamics.aligned(eig_small, np.geomspace(1e-3, 1e-1, 10))
    t = np.linspace(0.01, 6.0, 400)
    h = 1e-6
    s = cf.s(t)
    dsdt = (cf.s(t + h) - cf.s(t - h)) / (2 * h)
    rhs = 0.5 * (eig_small.values * s - s**3)  # ds/dt = (1/2)(lambda s - s^3)
    np.testing.assert_allclose(dsdt, rhs, rtol=1e-6, atol=1e-8 * np.abs(rhs).max())
    # and the wrong time scale (no 1/2) does not fit: the test has teeth
    assert np.max(np.abs(dsdt - 2 * rhs)) > 1e-2 * np.abs(rhs).max()


def test_eq11_limits_and_tau(eig_small):
    s0 = np.full(10, 1e-3)
    cf = theory.ClosedFormDynamics.aligned(eig_small, s0)
    np.testing.assert_allclose(cf.s(0.0), s0, rtol=1e-14)
    np.testing.assert_allclose(cf.s2(1e4), eig_small.values, rtol=1e-12)
    # at t = tau_k, s_k^2 is (almost exactly) half of lambda_k
    u = np.array([cf.s2(tk)[k] for k, tk in enumerate(cf.tau)])
    np.testing.assert_allclose(u / eig_small.values, 0.5, atol=1e-5)
    # loss is exact: matches (1/4)||W W^T - M||^2 of the predicted W(t)
    M_d = eig_small.vectors @ np.diag(eig_small.values) @ eig_small.vectors.T
    const = 0.25 * (eig_small.frobenius_sq - np.sum(eig_small.values**2))
    for t in (0.0, cf.tau[0], cf.tau[-1], 50.0):
        np.testing.assert_allclose(cf.loss(t), quarter_loss(cf.W(t), M_d) + const, rtol=1e-10)
    # effective rank staircase
    assert cf.effective_rank(0.0) == 0 and cf.effective_rank(1e3) == 10
    r = cf.effective_rank(np.linspace(0, 2 * cf.tau[-1], 50))
    assert np.all(np.diff(r) >= 0)
    e = cf.effective_rank(np.array([cf.tau[0], 1e3]), kind="entropy")
    assert 1 <= e[0] < e[1] <= 10


def test_dynamics_negative_eigenvalue_decays():
    eig = eigen.Eigenpairs(values=np.array([2.0, 0.0, -1.0]), vectors=np.eye(5)[:, :3], method="x",
                           frobenius_sq=5.0)
    cf = theory.ClosedFormDynamics.aligned(eig, 0.5)
    s2 = cf.s2(np.array([0.0, 1.0, 1e6]))
    np.testing.assert_allclose(s2[1, 1], 0.25 / (1 + 0.25 * 1.0))  # lambda = 0: u0 / (1 + u0 t)
    assert s2[2, 2] == 0.0 and np.isclose(s2[2, 0], 2.0)
    assert np.isinf(cf.tau[1]) and np.isinf(cf.tau[2])


def test_requiv_tools():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((40, 5))
    U, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    R = theory.align_rotation(W @ U, W)
    np.testing.assert_allclose(R @ R.T, np.eye(5), atol=1e-12)
    np.testing.assert_allclose(W @ U @ R, W, atol=1e-10)
    assert theory.requiv_distance(W @ U, W) < 1e-10
    assert theory.subspace_overlap(W @ U, W) == pytest.approx(1.0)
    Z = rng.standard_normal((40, 5))
    Z -= W @ np.linalg.lstsq(W, Z, rcond=None)[0]
    assert theory.subspace_overlap(W, Z) < 1e-20


# ------------------------------------------------------------------ random starts (eq. 13)


def test_random_init():
    W = theory.random_init(200, 7, 0.1, seed=3)
    assert W.shape == (200, 7) and W.dtype == np.float64
    np.testing.assert_array_equal(W, theory.random_init(200, 7, 0.1, seed=3))
    np.testing.assert_array_equal(W, np.random.default_rng(3).standard_normal((200, 7)) * 0.1)
    assert abs(W.std() - 0.1) < 0.01
    assert theory.random_init(10, 2, 1.0, 0, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="sigma"):
        theory.random_init(10, 2, -1.0)


def test_start_methods(eig_small):
    """``start=`` names how S(0) is read off W(0); ``s0`` always holds values."""
    sigma, V = 1e-3, eig_small.V
    W0 = theory.random_init(V, eig_small.d, sigma, seed=4)
    svd = theory.ClosedFormDynamics.from_random_init(eig_small, sigma, seed=4, start="svd")
    np.testing.assert_allclose(svd.s0, np.linalg.svd(W0, compute_uv=False), rtol=1e-12)
    proj = theory.ClosedFormDynamics.from_random_init(eig_small, sigma, seed=4, start="projected")
    np.testing.assert_array_equal(proj.s0, theory.ClosedFormDynamics.from_initial(eig_small, W0).s0)
    R = np.linalg.qr((eig_small.vectors.T @ W0).T, mode="r")
    np.testing.assert_allclose(proj.s0, np.abs(np.diag(R)), rtol=1e-12)
    exp = theory.ClosedFormDynamics.from_random_init(eig_small, sigma, start="expected")
    np.testing.assert_allclose(exp.s0, sigma * np.sqrt(V))
    # the projected start is smaller (about sigma sqrt(d - k + 1) against sigma sqrt(V))
    assert np.all(proj.s0 < svd.s0)
    with pytest.raises(ValueError, match="start must be"):
        theory.ClosedFormDynamics.from_random_init(eig_small, sigma, start="magic")
    with pytest.raises(ValueError, match="start must be"):
        theory.ClosedFormDynamics.from_initial(eig_small, W0, start="expected")
    with pytest.raises(TypeError):
        theory.ClosedFormDynamics.from_random_init(eig_small, sigma, s0="svd")


# ------------------------------------------------------------------ rise times


def test_first_crossing_interpolates_and_reports_never():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    y = np.array([[0.0, 5.0], [1.0, 5.0], [3.0, 5.0], [4.0, 5.0]])
    np.testing.assert_allclose(theory.first_crossing(t, y, [2.0, 5.0]), [1.5, 0.0])
    np.testing.assert_allclose(theory.first_crossing(t, y, [2.0, 5.0], interpolate=False), [2.0, 0.0])
    assert np.isnan(theory.first_crossing(t, y[:, 0], 9.0))
    assert theory.first_crossing(t, y[:, 0], 1.0) == 1.0
    with pytest.raises(ValueError, match="len"):
        theory.first_crossing(t, y[:-1], 1.0)


def test_half_rise_times_recover_tau_and_reject_a_wrong_prediction(eig_small):
    """At eq. 11's sigmoid the half-rise time is tau'_k = ln(lambda_k/u_k(0) - 1)/lambda_k."""
    cf = theory.ClosedFormDynamics.aligned(eig_small, 1e-3)
    t = np.linspace(0.0, 2 * cf.tau.max(), 4001)
    half = theory.half_rise_times(t, cf.s2(t), cf.values)
    exact = np.log(cf.values / 1e-6 - 1) / cf.values
    np.testing.assert_allclose(half, exact, rtol=1e-3)
    # a check of the kind chapters 3 and the intro make fails for a wrong prediction
    wrong = theory.ClosedFormDynamics.aligned(eig_small, 1e-2)
    rel = np.abs(theory.half_rise_times(t, wrong.s2(t), cf.values) / half - 1)
    assert rel.max() > 0.05


def test_mode_fractions_check_catches_one_missing_mode_that_the_total_loss_misses(Mind):
    # The intro's final-state check (book/intro.md): per mode, the fractions of the flow and
    # of eq. 13 agree within 0.1 and the final losses within half the smallest step
    # lambda_d^2 / 8. A prediction with one mode that never starts must fail it, while the
    # old check (final loss within 1 %) passes, as the unlearned part of M* dominates.
    d, sigma = 6, 1e-6
    spec = eigen.full_spectrum(Mind)
    eig = spec.top(d)
    good = theory.ClosedFormDynamics.from_random_init(eig, sigma, seed=0, start="projected")
    times = np.linspace(0.0, 2.0 * good.tau.max(), 60)
    run = flow.gradient_flow(Mind, theory.random_init(eig.V, d, sigma, seed=0), times, spectrum=spec)
    T = times[-1]
    f_flow = theory.mode_fractions(run.W[-1], eig.vectors, eig.values)

    def passes(pred):
        f_pred = theory.mode_fractions(pred.W(T), eig.vectors, eig.values)
        return (np.abs(f_flow - f_pred)[: d - 1].max() < 0.1
                and abs(run.loss[-1] - pred.loss(T)) < eig.values[-1] ** 2 / 8)

    assert passes(good)
    np.testing.assert_allclose(f_flow, 1.0, atol=1e-2)    # every mode learned by T
    for k in range(d):
        s0 = good.s0.copy()
        s0[k] = 1e-300                                    # mode k never starts: s_k(T) = 0
        wrong = theory.ClosedFormDynamics.aligned(eig, s0)
        assert theory.mode_fractions(wrong.W(T), eig.vectors, eig.values)[k] < 1e-12
        assert not passes(wrong), k
        assert abs(run.loss[-1] / wrong.loss(T) - 1) < 1e-2, k   # the old check cannot tell
    with pytest.raises(ValueError, match="columns"):
        theory.mode_fractions(run.W[-1], eig.vectors[:, :2], eig.values)


def test_subspace_overlaps_equal_one_overlap_per_k_and_reject_bad_k():
    rng = np.random.default_rng(7)
    A, B = rng.normal(size=(40, 6)), rng.normal(size=(40, 9))
    ks = [1, 3, 9]
    one_by_one = [theory.subspace_overlap(A, B[:, :k]) for k in ks]
    assert theory.subspace_overlaps(A, B, ks) == pytest.approx(one_by_one)
    # the prefix structure matters: the same columns in another order give other overlaps
    assert theory.subspace_overlaps(A, B[:, ::-1], [3]) != pytest.approx(theory.subspace_overlaps(A, B, [3]))
    with pytest.raises(ValueError, match="k = 10"):
        theory.subspace_overlaps(A, B, [10])


def test_intro_step_time_check_fails_on_wrong_predictions():
    # The intro's step-time check (book/intro.md): from the same W(0), the flow's half-rise
    # times of modes 1..d-1 agree with eq. 13's (projected start), in order, each within
    # theory.step_time_tolerances (half the gap to the nearest predicted step, <= 5 %).
    # Wrong clocks must fail it: a family-independent constant time, the modes' times in
    # reversed order, the closest pair of neighbours swapped or merged (one at the other's
    # time, which only the tolerance catches), the prediction for a 10x
    # larger initial scale, and eigenvalues 10 % high. M has top eigenvalues 0.8x apart
    # except modes 3 and 4, which are 3 % apart; with this seed their step times are 3.7 %
    # apart (as at the local preset, where two of the intro's first steps are 3.3 % apart).
    # A bulk lies below them and a few negative ones.
    d, sigma = 6, 1e-6
    rng = np.random.default_rng(14)
    Q, _ = np.linalg.qr(rng.standard_normal((80, 80)))
    top = 10.0 * 0.8 ** np.arange(d)
    top[3] = top[2] * 0.97
    lam = np.concatenate([top, rng.uniform(-1.0, 1.5, 74)])
    M = (Q * lam) @ Q.T
    M = 0.5 * (M + M.T)
    spec = eigen.full_spectrum(M)
    eig = spec.top(d)
    good = theory.ClosedFormDynamics.from_random_init(eig, sigma, seed=0, start="projected")
    times = np.linspace(0.0, 2.0 * good.tau.max(), 250)
    run = flow.gradient_flow(M, theory.random_init(eig.V, d, sigma, seed=0), times, spectrum=spec)
    t_flow = theory.half_rise_times(times, run.singular_values() ** 2, eig.values)
    t_good = theory.half_rise_times(times, good.s2(times), eig.values)
    tol = theory.step_time_tolerances(t_good)
    assert tol.min() < 0.03   # the close pair: a fixed 5 % could not separate it

    def passes(t_pred):
        rel = np.abs(t_flow / t_pred - 1)
        same_order = np.array_equal(np.argsort(t_flow), np.argsort(t_pred))
        return bool(same_order and np.all(rel[: d - 1] < tol[: d - 1]))

    assert passes(t_good)
    big = theory.ClosedFormDynamics.from_random_init(eig, 10 * sigma, seed=0, start="projected")
    hot = theory.ClosedFormDynamics.from_random_init(
        dataclasses.replace(eig, values=eig.values * 1.1), sigma, seed=0, start="projected")
    k = int(np.argmin(np.diff(t_good[: d - 1])))   # the closest neighbouring pair
    swapped = t_good.copy()
    swapped[[k, k + 1]] = swapped[[k + 1, k]]
    merged = t_good.copy()   # mode k predicted at its neighbour's time: order kept, so only
    merged[k] = merged[k + 1] * (1 - 1e-9)   # the tolerance can catch it
    assert np.array_equal(np.argsort(t_flow), np.argsort(merged))
    wrong = {
        "constant": np.full(d, t_good[: d - 1].mean()),
        "reversed": t_good[: d - 1][::-1].tolist() + [t_good[-1]],
        "closest pair swapped": swapped,
        "closest pair merged": merged,
        "sigma x 10": theory.half_rise_times(times, big.s2(times), eig.values),
        "lambda x 1.1": theory.half_rise_times(times, hot.s2(times), eig.values * 1.1),
    }
    for name, t_pred in wrong.items():
        t_pred = np.asarray(t_pred, float)
        assert np.all(np.isfinite(t_pred[: d - 1])), name    # fails on the numbers, not on NaN
        assert not passes(t_pred), name


def test_step_time_tolerances_are_half_the_nearest_gap():
    tol = theory.step_time_tolerances([1.0, 1.04, 2.0, 10.0], cap=0.05)
    assert tol == pytest.approx([0.02, 0.04 / 1.04 / 2, 0.05, 0.05])
    with pytest.raises(ValueError, match="t_pred"):
        theory.step_time_tolerances([1.0, np.nan])
    with pytest.raises(ValueError, match="t_pred"):
        theory.step_time_tolerances([1.0])
