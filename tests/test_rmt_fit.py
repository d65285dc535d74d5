"""Tests for the Marchenko-Pastur fit (qwemlib.rmt._fit, _bulk; paper Appendix A.6).

Independent reference: synthetic spiked-Wishart task vectors with known sigma2, gamma
and spike, and anisotropic noise with a known effective dimension.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from scipy import integrate

from qwemlib import rmt


@cache
def _spectrum(N, d, s2, m, seed):
    """Gram spectrum of a synthetic family, shared between tests (read-only)."""
    lam = rmt.gram_spectrum(rmt.spiked_wishart(N, d, s2, m, seed=seed))
    lam.setflags(write=False)
    return lam


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
