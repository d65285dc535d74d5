"""Tests for qwemlib.rmt (paper Section 4, Appendix A.6).

Independent references: scipy.integrate.quad for the MP law, scipy.stats.kstest
for the KS distance, dense numpy eigvalsh / matrix_rank for spectra and SNR,
Monte-Carlo Wishart matrices for the MP law and the BBP spike, hand-built
matrices for SNR and signal in mean.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest
from scipy import integrate, stats

from qwemlib import rmt

GAMMAS = [0.05, 0.25, 0.7, 1.0, 1.5, 4.0]


@lru_cache(maxsize=None)
def _spectrum(N, d, s2, m, seed):
    """Gram spectrum of a synthetic family, shared between tests (read-only)."""
    lam = rmt.gram_spectrum(rmt.spiked_wishart(N, d, s2, m, seed=seed))
    lam.setflags(write=False)
    return lam


# ---------------------------------------------------------------- MP law (eq. 24-25)


@pytest.mark.parametrize("gamma", GAMMAS)
def test_mp_density_integrates_to_one_with_atom(gamma):
    s2 = 1.7
    lo, hi = rmt.mp_edges(s2, gamma)
    f = lambda t: rmt.mp_density(t, s2, gamma)  # noqa: E731
    mass = integrate.quad(f, lo, hi, limit=400)[0]
    assert mass + rmt.mp_atom(gamma) == pytest.approx(1.0, abs=1e-7)
    assert mass == pytest.approx(min(1.0, 1.0 / gamma), abs=1e-7)
    # moments of the full law (atom contributes 0): mean sigma2, 2nd moment sigma2^2 (1 + gamma)
    m1 = integrate.quad(lambda t: t * f(t), lo, hi, limit=400)[0]
    m2 = integrate.quad(lambda t: t * t * f(t), lo, hi, limit=400)[0]
    assert m1 == pytest.approx(s2, rel=1e-7)
    assert m2 == pytest.approx(s2**2 * (1 + gamma), rel=1e-7)


def test_mp_edges_and_atom():
    assert rmt.mp_edges(2.0, 0.25) == pytest.approx((0.5, 4.5))
    assert rmt.mp_edges(1.0, 4.0) == pytest.approx((1.0, 9.0))
    assert rmt.mp_atom(0.5) == 0.0
    assert rmt.mp_atom(4.0) == pytest.approx(0.75)
    assert np.all(rmt.mp_density(np.array([-1.0, 0.0, 0.49, 4.51, 10.0]), 2.0, 0.25) == 0.0)


@pytest.mark.parametrize("gamma", GAMMAS)
def test_mp_cdf_closed_form_matches_quadrature(gamma):
    s2 = 0.8
    lo, hi = rmt.mp_edges(s2, gamma)
    for x in np.linspace(lo, hi, 9)[1:-1]:
        q = integrate.quad(lambda t: rmt.mp_density(t, s2, gamma), lo, x, limit=400)[0]
        assert rmt.mp_cdf(x, s2, gamma) == pytest.approx(q + rmt.mp_atom(gamma), abs=1e-8)
    grid = np.linspace(-1.0, hi * 1.2, 5001)
    F = rmt.mp_cdf(grid, s2, gamma)
    assert np.all(np.diff(F) >= 0.0)
    assert F[0] == 0.0 and F[-1] == 1.0
    assert rmt.mp_cdf(hi, s2, gamma) == pytest.approx(1.0, abs=1e-12)
    assert rmt.mp_cdf(0.0, s2, gamma) == pytest.approx(rmt.mp_atom(gamma))
    assert rmt.mp_cdf(-1e-12, s2, gamma) == 0.0


def test_ks_distance_matches_scipy_kstest():
    rng = np.random.default_rng(3)
    x = rng.uniform(0.2, 2.0, size=200)
    ours = rmt.ks_distance(x, 1.0, 0.3)
    ref = stats.kstest(x, lambda t: rmt.mp_cdf(t, 1.0, 0.3)).statistic
    assert ours == pytest.approx(ref, abs=1e-12)


# Stated bound: the KS distance between the spectrum of one Wishart sample and its
# MP law is below 0.02 at these sizes (measured: 0.006-0.009 at N=400, d=1600 and
# 0.002-0.004 at N=1000, d=500 over five seeds).
@pytest.mark.parametrize("N,d", [(400, 1600), (1000, 500)])
def test_wishart_spectrum_matches_mp(N, d):
    s2 = 2.0
    R = rmt.spiked_wishart(N, d, sigma2=s2, spike_strength=0.0, seed=1)
    lam = rmt.gram_spectrum(R)
    if N > d:
        assert np.sum(lam == 0.0) == N - d  # the atom, exactly
    assert rmt.ks_distance(lam / d, s2, N / d) < 0.02


# ---------------------------------------------------------------- spectra, task vectors


def test_gram_spectrum_matches_dense_eigvalsh():
    rng = np.random.default_rng(0)
    for N, d in [(7, 20), (20, 7)]:
        R = rng.standard_normal((N, d))
        lam = rmt.gram_spectrum(R)
        ref = np.sort(np.linalg.eigvalsh(R @ R.T))[::-1]
        assert lam.shape == (N,)
        assert np.all(np.diff(lam) <= 0) and np.all(lam >= 0)
        np.testing.assert_allclose(lam, ref, atol=1e-10 * ref[0])
        assert np.sum(lam == 0.0) == max(N - d, 0)


def test_task_vectors_sign_and_words():
    W = np.arange(12.0).reshape(4, 3) ** 2
    R = rmt.task_vectors(W, [(0, 1), (2, 3)])
    np.testing.assert_array_equal(R, np.stack([W[1] - W[0], W[3] - W[2]]))
    index = {"going": 0, "went": 1, "seeing": 2, "saw": 3}
    R2 = rmt.task_vectors(W, [("going", "went"), ("seeing", "saw")], index=index)
    np.testing.assert_array_equal(R, R2)  # went - going, saw - seeing
    with pytest.raises(ValueError, match="index"):
        rmt.task_vectors(W, [("going", "gone")], index=index)
    with pytest.raises(ValueError, match="pairs"):
        rmt.task_vectors(W, [(0, 4)])
    with pytest.raises(ValueError, match="pairs"):
        rmt.task_vectors(W, [0, 1])


def test_truncate_keeps_leading_eigen_features():
    W = np.random.default_rng(0).standard_normal((10, 6))
    Wt = rmt.truncate(W, 4)
    np.testing.assert_array_equal(Wt, W[:, :4])
    assert Wt.flags.c_contiguous
    for bad in (0, 7, 2.5):
        with pytest.raises(ValueError, match="d must"):
            rmt.truncate(W, bad)


def test_spiked_wishart_generator():
    R = rmt.spiked_wishart(3000, 50, sigma2=0.5, spike_strength=2.0, seed=4)
    assert R.shape == (3000, 50)
    np.testing.assert_array_equal(R, rmt.spiked_wishart(3000, 50, 0.5, 2.0, seed=4))
    assert np.linalg.norm(R.mean(0)) == pytest.approx(2.0, rel=0.02)
    assert rmt.paper_sigma2(R) == pytest.approx(0.5, rel=0.02)
    e = np.zeros(50)
    e[3] = 1.0
    R2 = rmt.spiked_wishart(20, 50, 1e-12, 1.0, seed=0, direction=e)
    np.testing.assert_allclose(R2.mean(0), e, atol=1e-5)


@pytest.mark.parametrize("N,d,m", [(400, 1600, 2.0), (600, 300, 1.5)])
def test_spike_eigenvalue_matches_simulation(N, d, m):
    tops = [_spectrum(N, d, 1.0, m, s)[0] for s in range(2)]
    assert np.mean(tops) == pytest.approx(rmt.spike_eigenvalue(1.0, N / d, m, n_dims=d), rel=0.03)
    # below the BBP threshold (|m|^2 <= sigma2 / sqrt(gamma)) the prediction is the edge
    assert rmt.spike_eigenvalue(1.0, 0.25, 1.0, n_dims=d) == pytest.approx(d * 2.25)


# ---------------------------------------------------------------- fitting

# Stated tolerances for the default KS fit (measured over 20 seeds: worst sigma2
# error 0.4 %, worst gamma error 1.2 % at N=400, d=1600; 0.3 % / 0.3 % at N=1000,
# d=500; 5 % / 21 % at N=30, d=200).
LARGE = [(400, 1600, 2.0, 3.0), (1000, 500, 0.5, 2.0)]


@pytest.mark.parametrize("N,d,s2,m", LARGE)
@pytest.mark.parametrize("method,tol_s,tol_g", [("ks", 0.02, 0.05), ("mle", 0.04, 0.08)])
def test_fit_recovers_large_spiked(N, d, s2, m, method, tol_s, tol_g):
    lam = _spectrum(N, d, s2, m, 11)
    fit = rmt.fit_marchenko_pastur(lam, n_dims=d, method=method)
    assert fit.n_outliers == 1 and fit.outliers[0] == lam[0]
    assert fit.sigma2 == pytest.approx(s2, rel=tol_s)
    assert fit.gamma == pytest.approx(N / d, rel=tol_g)
    assert fit.d_eff == pytest.approx(N / fit.gamma)
    assert fit.ks_distance < 0.03
    assert fit.edges[1] < fit.threshold < lam[0]


def test_fit_recovers_small_families():
    """N ~ 30 task vectors in d = 200, like the paper's semantic families.

    Stated tolerance: over 20 seeds the median relative error is below 3 % for
    sigma2 and 10 % for gamma, and every seed is within 12 % / 35 %.
    """
    N, d, s2 = 30, 200, 1.0
    es, eg, ks = [], [], []
    for seed in range(20):
        R = rmt.spiked_wishart(N, d, s2, 3.0, seed=seed)
        fit = rmt.fit_marchenko_pastur(rmt.gram_spectrum(R), n_dims=d)
        assert fit.n_outliers >= 1
        es.append(fit.sigma2 / s2 - 1)
        eg.append(fit.gamma / (N / d) - 1)
        ks.append(fit.ks_distance)
    es, eg = np.abs(es), np.abs(eg)
    assert np.median(es) < 0.03 and np.median(eg) < 0.10
    assert es.max() < 0.12 and eg.max() < 0.35
    assert max(ks) < 0.2


def test_fit_paper_sigma2_convention():
    N, d = 30, 200
    R = rmt.spiked_wishart(N, d, 1.0, 3.0, seed=5)
    lam = rmt.gram_spectrum(R)
    fit = rmt.fit_marchenko_pastur(lam, sigma2="paper", R=R)
    Rc = R - R.mean(0)
    assert fit.sigma2 == np.var(Rc) == rmt.paper_sigma2(R)
    assert fit.n_dims == d and fit.sigma2_source == "paper"
    assert fit.gamma == pytest.approx(N / d, rel=0.35)
    # a fixed number is honoured too
    fit2 = rmt.fit_marchenko_pastur(lam, n_dims=d, sigma2=1.0)
    assert fit2.sigma2 == 1.0 and fit2.sigma2_source == "fixed"
    with pytest.raises(ValueError, match="R="):
        rmt.fit_marchenko_pastur(lam, n_dims=d, sigma2="paper")


def test_fit_recovers_effective_dimension_of_anisotropic_noise():
    """Noise confined to d_eff < d directions: the fit's d_eff finds it (Appendix A.6)."""
    N, d, d_eff = 60, 200, 80
    rng = np.random.default_rng(2)
    Q = np.linalg.qr(rng.standard_normal((d, d_eff)))[0]  # d x d_eff, orthonormal columns
    R = rng.standard_normal((N, d_eff)) @ Q.T * np.sqrt(d / d_eff)  # per-entry variance 1 on average
    fit = rmt.fit_marchenko_pastur(rmt.gram_spectrum(R), n_dims=d)
    assert fit.d_eff == pytest.approx(d_eff, rel=0.15)
    assert fit.sigma2 == pytest.approx(1.0, rel=0.1)
    assert fit.sigma2 == pytest.approx(rmt.paper_sigma2(R), rel=0.1)


def test_fit_units_and_options():
    N, d = 200, 400
    R = rmt.spiked_wishart(N, d, 1.0, 0.0, seed=0)
    lam = rmt.gram_spectrum(R)
    fit = rmt.fit_marchenko_pastur(lam, n_dims=d, exclude_outliers=False)
    assert fit.n_outliers == 0 and np.isnan(fit.threshold)
    lo, hi = fit.edges
    assert (lo, hi) == pytest.approx(tuple(d * v for v in rmt.mp_edges(fit.sigma2, fit.gamma)))
    # the Gram-unit density integrates to 1 and the cdf is the same law
    assert integrate.quad(fit.pdf, lo, hi, limit=200)[0] == pytest.approx(1.0, abs=1e-6)
    assert fit.cdf(np.median(lam)) == pytest.approx(0.5, abs=0.03)
    # without n_dims, sigma2 is in eigenvalue units: d times larger, same gamma
    fit1 = rmt.fit_marchenko_pastur(lam, exclude_outliers=False)
    assert fit1.sigma2 == pytest.approx(d * fit.sigma2, rel=1e-4)
    assert fit1.gamma == pytest.approx(fit.gamma, rel=1e-4)
    # an integer excludes exactly that many
    assert rmt.fit_marchenko_pastur(lam, n_dims=d, exclude_outliers=3).n_outliers == 3
    # moments: closed form
    fm = rmt.fit_marchenko_pastur(lam, n_dims=d, method="moments", exclude_outliers=False)
    x = lam / d
    assert fm.sigma2 == pytest.approx(x.mean()) and fm.gamma == pytest.approx(x.var() / x.mean() ** 2)
    # no spike in a pure Wishart: nothing excluded
    assert rmt.fit_marchenko_pastur(lam, n_dims=d).n_outliers == 0


def test_fit_handles_rank_deficient_gram_with_round_off():
    """N > d: exact zeros go to the atom; eigvalsh round-off (tiny negatives) is accepted."""
    N, d = 120, 60
    R = rmt.spiked_wishart(N, d, 1.0, 2.0, seed=3)
    lam = np.linalg.eigvalsh(R @ R.T)  # ascending, with ~1e-13 negatives
    fit = rmt.fit_marchenko_pastur(lam, n_dims=d)
    assert fit.n_outliers == 1
    assert fit.gamma == pytest.approx(2.0, rel=0.1)
    assert fit.atom == pytest.approx(0.5, abs=0.05)


# ---------------------------------------------------------------- SNR, signal in mean, localization


def test_snr_hand_built():
    # orthogonal rows of equal norm: G = 9 I -> SNR 1
    R = 3.0 * np.eye(5, 8)
    assert rmt.snr(R @ R.T) == pytest.approx(1.0)
    # rank 1 (all rows equal): lambda_max = Tr G and rank 1 -> SNR 1
    R1 = np.tile(np.array([1.0, -2.0, 0.5]), (6, 1))
    assert rmt.snr(rmt.gram_spectrum(R1)) == pytest.approx(1.0)
    # diag(4, 1, 1, 0): 4 * 3 / 6 = 2
    assert rmt.snr(np.diag([4.0, 1.0, 1.0, 0.0])) == pytest.approx(2.0)
    assert rmt.snr([4.0, 1.0, 1.0, 0.0]) == pytest.approx(2.0)
    # against the definition with numpy's rank, on a random rank-deficient G
    Rr = np.random.default_rng(0).standard_normal((12, 5))
    G = Rr @ Rr.T
    ref = np.linalg.eigvalsh(G).max() * np.linalg.matrix_rank(G) / np.trace(G)
    assert rmt.snr(G) == pytest.approx(ref, rel=1e-10)
    assert rmt.snr(rmt.gram_spectrum(Rr)) == pytest.approx(ref, rel=1e-10)


def test_signal_in_mean_hand_built():
    R1 = np.tile(np.array([1.0, -2.0, 0.5]), (6, 1))
    assert rmt.signal_in_mean(R1) == pytest.approx(1.0)
    R = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])  # 1^T G 1 = 1, lambda_max = 2
    assert rmt.signal_in_mean(R) == pytest.approx(1.0 / 6.0)
    Rr = np.random.default_rng(1).standard_normal((15, 40)) + 0.3
    one = np.ones(15)
    G = Rr @ Rr.T
    ref = one @ G @ one / (15 * np.linalg.eigvalsh(G).max())
    assert rmt.signal_in_mean(Rr) == pytest.approx(ref, rel=1e-10)
    assert 0.0 <= ref <= 1.0
    # a strong common mean puts the spike on the mean
    assert rmt.signal_in_mean(rmt.spiked_wishart(30, 200, 1.0, 5.0, seed=0)) > 0.9


def test_mean_localization():
    R = np.array([[3.0, 0.0, 4.0, 0.0], [3.0, 0.0, 4.0, 0.0]])
    loc = rmt.mean_localization(R, top_k=2)
    np.testing.assert_allclose(loc.weights, [9 / 25, 0, 16 / 25, 0])
    np.testing.assert_array_equal(loc.top, [2, 0])
    assert loc.captured == pytest.approx(1.0)
    assert loc.effective_number == pytest.approx(1 / ((9 / 25) ** 2 + (16 / 25) ** 2))
    # embeddings in a rotated basis: the right singular vectors recover the canonical frame
    rng = np.random.default_rng(0)
    d = 6
    Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    W0 = rng.standard_normal((50, d)) @ np.diag([6.0, 5, 4, 3, 2, 1])  # eigen-order columns
    W0 = np.linalg.qr(W0)[0] * np.array([6.0, 5, 4, 3, 2, 1])  # orthogonal columns, decreasing norms
    Rc = rmt.task_vectors(W0, [(0, 1), (2, 3), (4, 5)])
    ref = rmt.mean_localization(Rc)
    rot = rmt.mean_localization(Rc @ Q, W0 @ Q)
    np.testing.assert_allclose(rot.weights, ref.weights, atol=1e-10)
    # a partial orthonormal basis (d x k): captured fraction of the mean
    B = np.eye(4)[:, :2]
    loc2 = rmt.mean_localization(R, B)
    assert loc2.captured == pytest.approx(9 / 25) and loc2.weights == pytest.approx([1.0, 0.0])
    with pytest.raises(ValueError, match="W_or_basis"):
        rmt.mean_localization(R, np.ones((3, 3)))


# ---------------------------------------------------------------- bad inputs


def test_bad_inputs_raise_value_error_naming_input():
    good = rmt.spiked_wishart(10, 20, seed=0)
    with pytest.raises(ValueError, match="R has 1 rows"):
        rmt.gram_spectrum(good[:1])
    bad = good.copy()
    bad[2, 3] = np.nan
    for fn in (rmt.gram_spectrum, rmt.signal_in_mean, rmt.paper_sigma2):
        with pytest.raises(ValueError, match="R contains NaN"):
            fn(bad)
    with pytest.raises(ValueError, match="eigs has a negative eigenvalue"):
        rmt.fit_marchenko_pastur(np.array([5.0, 2.0, -0.1]))
    with pytest.raises(ValueError, match="eigs has a negative eigenvalue"):
        rmt.snr(np.array([5.0, 2.0, -0.1]))
    with pytest.raises(ValueError, match="eigs has 1 eigenvalue"):
        rmt.fit_marchenko_pastur(np.array([5.0]))
    with pytest.raises(ValueError, match="eigs has 1 eigenvalue"):
        rmt.snr([5.0])
    with pytest.raises(ValueError, match="eigs contains NaN"):
        rmt.fit_marchenko_pastur(np.array([5.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="G must be square"):
        rmt.snr(good)
    with pytest.raises(ValueError, match="method"):
        rmt.fit_marchenko_pastur(rmt.gram_spectrum(good), method="chi2")
    with pytest.raises(ValueError, match="n_dims"):
        rmt.fit_marchenko_pastur(rmt.gram_spectrum(good), n_dims=-3)
    with pytest.raises(ValueError, match="gamma"):
        rmt.mp_density(1.0, 1.0, -0.5)
    with pytest.raises(ValueError, match="sigma2"):
        rmt.mp_cdf(1.0, 0.0, 0.5)
    with pytest.raises(ValueError, match="N must"):
        rmt.spiked_wishart(1, 5)
    with pytest.raises(ValueError, match="all zeros"):
        rmt.signal_in_mean(np.zeros((3, 4)))
