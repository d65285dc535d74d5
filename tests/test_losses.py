"""Tests for qwemlib.losses: Theorem 1's identity and the PMI minimiser of eq. 1."""

import numpy as np
import pytest
from scipy.optimize import minimize

from qwemlib import losses, stats


def _toy(V=25, seed=0):
    rng = np.random.default_rng(seed)
    C = rng.poisson(2, (V, V)).astype(float)
    C = np.triu(C) + np.triu(C, 1).T
    C[C < 1] = 0
    P = C / C.sum()
    Pi = rng.random(V) + 0.2
    return P, Pi / Pi.sum(), rng


@pytest.mark.parametrize("d", [1, 3, 10])
def test_theorem1_identity_on_random_W(d):
    P, Pi, rng = _toy()
    M = stats.target_matrix(P, Pi)
    for scale in (0.01, 0.3, 2.0):
        W = rng.normal(size=(P.shape[0], d)) * scale
        lhs = losses.qwem_loss(W, P, Pi)
        rhs = losses.factorization_loss(W, M) + losses.theorem1_constant(M)
        assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-10)


def test_theorem1_fails_outside_setting1():
    """With Psi = 1 (G not constant) the identity does not hold: the test has teeth."""
    P, Pi, rng = _toy()
    M = stats.target_matrix(P, Pi)
    W = rng.normal(size=(P.shape[0], 3)) * 0.3
    ones = np.ones_like(P)
    d1 = losses.qwem_loss(W, P, Pi, ones, ones) - losses.factorization_loss(W, M)
    W2 = rng.normal(size=(P.shape[0], 3)) * 0.3
    d2 = losses.qwem_loss(W2, P, Pi, ones, ones) - losses.factorization_loss(W2, M)
    assert abs(d1 - d2) > 1e-3


def test_pmi_minimises_unconstrained_sgns():
    P, Pi, _ = _toy(V=8, seed=3)
    P = P + 1e-3 * np.outer(Pi, Pi); P /= P.sum()  # every pair seen, so PMI is finite
    target = stats.pmi(P, Pi)
    f = lambda x: losses.sgns_loss_inner(x.reshape(8, 8), P, Pi)
    res = minimize(f, np.zeros(64), method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15})
    assert np.allclose(res.x.reshape(8, 8), target, atol=2e-3)


def test_quartic_is_taylor_expansion_of_sgns():
    """Up to the constant log 2 and a factor, eq. 3 is the 4th-order expansion of eq. 1."""
    P, Pi, rng = _toy(V=10, seed=4)
    ones = np.ones_like(P)
    for eps in (1e-1, 5e-2):
        X = rng.normal(size=(10, 10)) * eps
        X = (X + X.T) / 2
        sg = losses.sgns_loss_inner(X, P, Pi) - np.log(2) * (P.sum() + 1.0)
        qw = losses.qwem_loss_inner(X, P, Pi, ones, ones) / 2
        assert abs(sg - qw) < 10 * eps**4
