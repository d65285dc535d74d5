"""Tests for qwemlib.flow: gradient flow against eq. 11 (aligned) and eq. 13 (random init)."""

from __future__ import annotations

import numpy as np
import pytest

from qwemlib import eigen, flow, losses, theory


def target(V=100, d=5, seed=0):
    """Indefinite symmetric M with a clear top-d spectrum and large negative eigenvalues."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((V, V)))
    top = [8.0, 6.0, 4.5, 3.5, 2.5][:d]
    lam = np.concatenate([top, rng.uniform(-0.5, 0.6, V - d - 8), -rng.uniform(10, 40, 8)])
    M = (Q * lam) @ Q.T
    return 0.5 * (M + M.T)


@pytest.fixture(scope="module")
def M():
    return target()


@pytest.fixture(scope="module")
def eig(M):
    return eigen.top_eigenpairs(M, 5, method="dense")


@pytest.mark.parametrize("method", ["riccati", "DOP853"])
def test_aligned_flow_matches_eq11(M, eig, method):
    s0 = np.array([1e-3, 2e-3, 5e-4, 1e-3, 3e-3])
    cf = theory.ClosedFormDynamics.aligned(eig, s0)
    times = np.concatenate([[0.0], np.geomspace(1e-2, 3 * cf.tau.max(), 40)])
    rtol = 1e-8 if method == "riccati" else 1e-10
    res = flow.gradient_flow(M, cf.W(0.0), times, method=method, rtol=rtol)
    scale = np.sqrt(eig.values[0])
    np.testing.assert_allclose(res.W, cf.W(times), atol=1e-7 * scale)
    s_sorted = np.sort(cf.s(times), axis=1)[:, ::-1]
    np.testing.assert_allclose(res.singular_values(), s_sorted, atol=1e-7 * scale)
    np.testing.assert_allclose(res.loss, cf.loss(times), rtol=1e-9)
    # the snapshots really move: the test would fail for a frozen W
    np.testing.assert_allclose(res.loss[0] - res.loss[-1], 0.25 * np.sum(eig.values**2), rtol=1e-6)


def test_riccati_matches_dop853_from_random_init(M):
    W0 = theory.random_init(M.shape[0], 5, 1e-2, seed=1)
    times = np.geomspace(1e-2, 10, 25)
    a = flow.gradient_flow(M, W0, times, method="riccati", rtol=1e-8)
    b = flow.gradient_flow(M, W0, times, method="DOP853", rtol=1e-11)
    np.testing.assert_allclose(a.W, b.W, atol=1e-8 * np.abs(b.W).max())
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-9)


def test_riccati_without_rotation_keeps_w_wt_and_loses_only_the_rotation(M):
    W0 = theory.random_init(M.shape[0], 5, 1e-2, seed=1)
    times = np.geomspace(1e-2, 10, 25)
    a = flow.gradient_flow(M, W0, times, rtol=1e-8)
    b = flow.gradient_flow(M, W0, times, rotation=False)
    for Wa, Wb in zip(a.W, b.W):
        np.testing.assert_allclose(Wb @ Wb.T, Wa @ Wa.T, atol=1e-10 * np.abs(Wa @ Wa.T).max())
    np.testing.assert_allclose(b.loss, a.loss, rtol=1e-9)
    # W itself differs (by a d x d rotation) once the flow has turned: the check can fail
    assert np.abs(b.W[-1] - a.W[-1]).max() > 1e-3 * np.abs(a.W[-1]).max()


def test_random_init_converges_to_closed_form_as_sigma_shrinks(M, eig):
    """Eq. 13: after the best rotation, W(t) -> W*(t) as sigma -> 0 (rescaled time)."""
    V, d = M.shape[0], 5
    sigmas = [1e-1, 1e-2, 1e-3, 1e-4]
    errs = {"svd": [], "projected": []}
    for sigma in sigmas:
        W0 = theory.random_init(V, d, sigma, seed=0)
        tau1 = np.log(eig.values[0] / sigma**2) / eig.values[0]
        times = tau1 * np.linspace(0.25, 3.0, 12)  # rescaled time t~ = t / tau_1 fixed
        res = flow.gradient_flow(M, W0, times)
        for kind in errs:
            cf = theory.ClosedFormDynamics.from_random_init(eig, sigma, V, seed=0, start=kind)
            Wstar = cf.W(times)
            e = max(
                theory.requiv_distance(res.W[i], Wstar[i]) / np.sqrt(np.sum(eig.values))
                for i in range(len(times))
            )
            errs[kind].append(e)
    for kind, e in errs.items():
        assert np.all(np.diff(e) < 0), f"{kind}: error must shrink with sigma: {e}"
    assert errs["svd"][-1] < 0.5 * errs["svd"][0]
    assert errs["projected"][-1] < 0.1
    assert errs["projected"][-1] < errs["svd"][-1]


def test_flow_endpoint_is_closed_form(M, eig):
    res = flow.gradient_flow(M, theory.random_init(M.shape[0], 5, 1e-3, seed=2), [0.0, 5.0, 40.0])
    Wcf = theory.closed_form_embeddings(M, 5, eig=eig)
    assert theory.requiv_distance(res.W[-1], Wcf, relative=True) < 1e-6
    assert theory.subspace_overlap(res.W[-1], eig.vectors) > 1 - 1e-10
    np.testing.assert_allclose(res.loss[-1], losses.factorization_loss(Wcf, M), rtol=1e-10)


def test_flow_bad_inputs(M):
    W0 = theory.random_init(M.shape[0], 3, 1e-2)
    with pytest.raises(ValueError, match="sorted"):
        flow.gradient_flow(M, W0, [1.0, 0.5])
    with pytest.raises(ValueError, match="W0 must have shape"):
        flow.gradient_flow(M, W0[:-1], [1.0])
    bad = M.copy()
    bad[0, 1] += 1
    with pytest.raises(ValueError, match="not symmetric"):
        flow.gradient_flow(bad, W0, [1.0])


def test_riccati_is_unchanged_by_the_descending_spectrum(M):
    """The flow reads eigh's ascending order back out of the Spectrum: same bits as before."""
    W0 = theory.random_init(M.shape[0], 5, 1e-3, seed=5)
    times = [0.0, 1.0, 7.0]
    spec = eigen.full_spectrum(M, cache=False)
    w, Q = np.linalg.eigh(M)
    asc = eigen.Spectrum(values=w, vectors=Q, frobenius_sq=spec.frobenius_sq)
    a = flow.gradient_flow(M, W0, times, spectrum=spec)
    b = flow.gradient_flow(M, W0, times, spectrum=eigen.Spectrum(w[::-1], Q[:, ::-1], spec.frobenius_sq))
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.loss, b.loss)
    # the order of the eigenbasis only changes rounding, not the flow
    c = flow.gradient_flow(M, W0, times, spectrum=asc)
    np.testing.assert_allclose(c.W, a.W, rtol=1e-9, atol=1e-12)


def test_gram_svd_and_alignment(M, eig):
    res = flow.gradient_flow(M, theory.random_init(M.shape[0], 5, 1e-4, seed=1), [0.0, 3.0, 60.0])
    s, R = res.gram_svd()
    np.testing.assert_allclose(s, res.singular_values(), rtol=1e-6, atol=1e-12)
    assert res.gram_svd() is res.gram_svd()  # cached
    P = res.top_directions(2, 3)
    U = np.linalg.svd(res.W[2], full_matrices=False)[0][:, :3]
    assert theory.subspace_overlap(P, U) > 1 - 1e-10
    al = res.alignment(eig.vectors, 2)
    assert al.shape == (3,) and al[-1] > 1 - 1e-8 and al[0] < 0.5  # random start: not aligned


def test_random_start_flow_matches_its_parts(M, eig):
    spec = eigen.full_spectrum(M)
    run = flow.random_start_flow(M, 3, 1e-4, spectrum=spec, n_times=30, horizon=1.5, seed=2)
    dyn = theory.ClosedFormDynamics.from_random_init(spec.top(3), 1e-4, seed=2, start="projected")
    np.testing.assert_array_equal(run.dynamics.s0, dyn.s0)
    np.testing.assert_allclose(run.times[-1], 1.5 * dyn.tau.max())
    ref = flow.gradient_flow(M, theory.random_init(M.shape[0], 3, 1e-4, 2), run.times, spectrum=spec)
    np.testing.assert_array_equal(run.result.W, ref.W)
    err = run.requiv_error()
    assert 0 < err < 0.1
    # the distance check can fail: a prediction from the wrong start is far off
    wrong = flow.RandomStartFlow(run.times, run.result, theory.ClosedFormDynamics.from_random_init(
        spec.top(3), 1e-4, seed=2, start="expected"))
    assert wrong.requiv_error() > 3 * err


def test_silent_alignment_follows_the_learning_order_and_can_fail():
    """Top-k directions align with the first-learned modes; a wrong order fails the check.

    Two nearly equal eigenvalues (5.0, 4.9) with the smaller mode started far larger:
    eq. 13 learns mode 3 before mode 2 (tau_3 < tau_2), so the top-2 directions hold
    eigenvectors 1 and 3 when s_2^2 reaches 0.1 lambda_2.
    """
    rng = np.random.default_rng(3)
    V = 60
    Q, _ = np.linalg.qr(rng.standard_normal((V, V)))
    lam = np.concatenate([[8.0, 5.0, 4.9], rng.uniform(-0.3, 0.3, V - 3)])
    M = (Q * lam) @ Q.T
    M = 0.5 * (M + M.T)
    spec = eigen.full_spectrum(M)
    eig = spec.top(3)
    W0 = 1e-6 * eig.vectors * np.array([1.0, 1.0, 1e3])  # mode 3 starts 1000x larger
    W0 = W0 + 1e-9 * rng.standard_normal((V, 3))
    dyn = theory.ClosedFormDynamics.from_initial(eig, W0)
    assert dyn.tau[2] < dyn.tau[1]
    times = np.linspace(0.0, 1.3 * dyn.tau.max(), 200)
    res = flow.gradient_flow(M, W0, times, spectrum=spec)
    run = flow.RandomStartFlow(times, res, dyn)
    right = run.silent_alignment()
    assert right.min() > 0.9, right
    wrong = run.silent_alignment(order=[0, 1, 2])  # "the top k": wrong here at k = 2
    assert wrong[1] < 0.9, wrong


def test_result_sweep_decays_from_both_starts_and_a_wrong_prediction_fails(M):
    """Eq. 13's check (book/04): the mean distance decays at least like tau_1^-1/2 from the
    paper's start (svd) and the projected one; a start of the wrong order in sigma (s0 = sigma^2,
    so tau_k doubles and every step sits in the wrong place in rescaled time) and eigenvalues
    paired with the wrong eigenvectors do not decay, and the check says so."""
    def wrong_power(eig, W0, sigma):
        return theory.ClosedFormDynamics.aligned(eig, np.full(eig.d, sigma ** 2))

    def shuffled(eig, W0, sigma):
        cf = theory.ClosedFormDynamics.from_initial(eig, W0)
        return theory.ClosedFormDynamics(cf.values[::-1].copy(), cf.vectors, cf.s0)

    preds = dict(flow.STARTS, **{"sigma^2 start": wrong_power, "shuffled": shuffled})
    sw = flow.result_sweep(M, 5, np.geomspace(1e-2, 1e-10, 5), predictions=preds, n_times=40)
    assert sw.passes("projected") and sw.passes("svd"), {n: sw.mean(n) for n in preds}
    assert sw.exponent("projected") > 0.8 and sw.exponent("svd") > flow.RATE_FLOOR
    assert np.all(np.diff(sw.bound("svd")) < 0)            # the bound tightens
    assert not sw.passes("sigma^2 start"), (sw.mean("sigma^2 start"), sw.exponent("sigma^2 start"))
    assert not sw.passes("shuffled"), (sw.mean("shuffled"), sw.exponent("shuffled"))
    assert abs(sw.exponent("shuffled")) < 0.2
    # the largest distance from the paper's start does not tend to 0 (the Result is pointwise)
    assert sw.max("svd")[-1] > 0.5 * sw.max("svd")[0]


def test_early_stopping_is_rank_r_and_a_wrong_rank_or_order_fails(M, eig):
    """Early stopping (book/04): a stop between the r-th and (r+1)-th step is closer to M_(r)
    than to M_(r-1) or M_(r+1); comparing with rank r +- 1, or with a wrong learning order,
    fails."""
    sigma = flow.early_stopping_sigma(eig, 10.0 ** -np.arange(2, 20))
    es = flow.early_stopping(M, 5, sigma)
    assert es.passes(), es.distance / es.tolerance
    assert np.all(es.predicted <= 0.5 * es.tolerance)         # how the sigma was chosen
    np.testing.assert_allclose(es.tolerance, 0.5 * eig.values[1:])  # ordered, distinct values
    for shift in (1, -1):
        wrong = flow.early_stopping(M, 5, sigma, shift=shift)
        assert not wrong.passes() and np.all(wrong.distance > wrong.tolerance), shift
    assert not flow.early_stopping(M, 5, sigma, order=[1, 0, 2, 3, 4]).passes()
    # a dense check of the distance without the V x V matrix
    W = flow.gradient_flow(M, theory.random_init(100, 5, sigma), es.times[:1]).W[0]
    M1 = eig.values[0] * np.outer(eig.vectors[:, 0], eig.vectors[:, 0])
    np.testing.assert_allclose(es.distance[0], np.linalg.norm(W @ W.T - M1), rtol=1e-6)
    with pytest.raises(ValueError, match="resolves every step"):
        flow.early_stopping_sigma(eig, [1.0, 0.1])


def test_rank_agreement_rejects_a_shifted_or_other_start_staircase(M, eig):
    """The staircase check (book/04): eq. 13's staircase agrees with the flow's, the same
    staircase one step up, or the svd start's, does not reach the 95 % of the check."""
    run = flow.random_start_flow(M, 5, 1e-6, rtol=1e-2)
    pred = run.dynamics.effective_rank(run.times)
    assert run.rank_agreement() >= 0.95
    assert run.rank_agreement(np.minimum(pred + 1, 5)) < 0.95
    svd = theory.ClosedFormDynamics.from_initial(eig, run.result.W[0], start="svd")
    assert run.rank_agreement(svd.effective_rank(run.times)) < 0.95
    assert run.requiv_error() == run.requiv_errors().max()
