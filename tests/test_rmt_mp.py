"""Tests for the Marchenko-Pastur law and the KS distance (qwemlib.rmt._mp; paper eq. 24-25).

Independent references: scipy.integrate.quad for the MP density and cdf,
scipy.stats.kstest for the KS distance, Monte-Carlo Wishart matrices for the law.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from qwemlib import rmt

GAMMAS = [0.05, 0.25, 0.7, 1.0, 1.5, 4.0]


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


def test_ks_distance_rejects_a_wrong_law():
    """The chapter's KS check (KS below a bound) fails on a wrong prediction of the law."""
    N, d, s2 = 400, 1600, 2.0
    x = rmt.gram_spectrum(rmt.spiked_wishart(N, d, sigma2=s2, spike_strength=0.0, seed=1)) / d
    assert rmt.ks_distance(x, s2, N / d) < 0.02
    assert rmt.ks_distance(x, 1.5 * s2, N / d) > 0.2  # wrong sigma2
    assert rmt.ks_distance(x, s2, 4 * N / d) > 0.2  # wrong gamma (d_eff four times too small)
