"""Tests for qwemlib.losses: Theorem 1's identity, the PMI minimiser of eq. 1, the one
factorisation loss on numpy and JAX, the weighted loss (eq. 8) and SimCLR (eq. 80-83)."""

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
    P = P + 1e-3 * np.outer(Pi, Pi)
    P /= P.sum()  # every pair seen, so PMI is finite
    target = stats.pmi(P, Pi)

    def f(x):
        return losses.sgns_loss_inner(x.reshape(8, 8), P, Pi)

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


def test_factorization_loss_numpy_is_the_formula_bit_for_bit():
    P, Pi, rng = _toy()
    M = stats.target_matrix(P, Pi)
    W = rng.normal(size=(P.shape[0], 4))
    R = W @ W.T - M
    for g in (1.0, 0.37):
        got = losses.factorization_loss(W, M, g)
        assert isinstance(got, float)
        assert got == float(g / 4 * np.sum(R * R))


def test_factorization_loss_on_jax_arrays_is_differentiable():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    P, Pi, rng = _toy()
    M = stats.target_matrix(P, Pi)
    W = rng.normal(size=(P.shape[0], 3))
    Wj, Mj = jnp.asarray(W, dtype=jnp.float32), jnp.asarray(M, dtype=jnp.float32)
    value = jax.jit(losses.factorization_loss)(Wj, Mj)
    assert isinstance(value, jax.Array)
    assert float(value) == pytest.approx(losses.factorization_loss(W, M), rel=1e-5)
    grad = jax.grad(losses.factorization_loss)(Wj, Mj)
    np.testing.assert_allclose(np.asarray(grad), (W @ W.T - M) @ W, rtol=1e-4, atol=1e-4)


def test_weighted_objective_gradient_and_constant_G():
    P, Pi, rng = _toy(V=12, seed=5)
    M = stats.target_matrix(P, Pi)
    g = rng.random(12) + 0.5
    G = np.outer(g, g)
    W = rng.normal(size=(12, 3))
    value, grad = losses.weighted_factorization_objective(W.ravel(), M, G, 3)
    assert value == losses.weighted_factorization_loss(W, M, G)
    h = 1e-6
    E = np.zeros(36)
    E[7] = h
    fd = (losses.weighted_factorization_loss((W.ravel() + E).reshape(12, 3), M, G)
          - losses.weighted_factorization_loss((W.ravel() - E).reshape(12, 3), M, G)) / (2 * h)
    assert grad[7] == pytest.approx(fd, rel=1e-6)
    # constant G = g reduces to the unweighted loss
    assert losses.weighted_factorization_loss(W, M, 0.5 * np.ones_like(M)) == pytest.approx(
        losses.factorization_loss(W, M, 0.5), rel=1e-12)


def test_minimize_sgns_inner_reaches_pmi_and_a_wrong_target_fails():
    P, Pi, _ = _toy(V=15, seed=6)
    X, history = losses.minimize_sgns_inner(P, Pi, steps=3001, record_every=25)
    seen = P > 0
    target = stats.pmi(P, Pi)
    assert np.abs(X - target)[seen].max() < 1e-6
    assert np.all(X[~seen] == 0.0)  # pairs never seen are not moved
    assert history.shape == (121, 2) and history[0, 0] == 0 and history[-1, 0] == 3000
    assert np.all(np.diff(history[:, 1]) <= 1e-15)
    # the check in chapter 1 has teeth: shifted PMI (k = 5 negatives) is not the minimiser
    assert np.abs(X - (target - np.log(5)))[seen].max() > 1.0


def test_simclr_expansion_is_third_order_and_factorisation_differs_by_a_constant():
    P, _, rng = _toy(V=20, seed=7)
    p = P.sum(1)
    W1 = rng.normal(size=(20, 4)) / 2
    W1 -= p @ W1  # centred features
    rem, const = [], []
    for eps in (0.2, 0.1, 0.05):
        S = eps * (W1 @ W1.T)
        q = losses.simclr_quadratic_loss(S, P)
        rem.append(losses.simclr_loss(S, P) - q)
        const.append(q - losses.simclr_factorization_loss(S, P))
    orders = np.log2(np.abs(np.array(rem[:-1]) / np.array(rem[1:])))
    assert np.all(np.abs(orders - 3) < 0.3), orders
    assert np.ptp(const) < 1e-10
    # without centring the dropped term is second order: the expansion fails
    W2 = rng.normal(size=(20, 4)) / 2 + 1.0
    r2 = [losses.simclr_loss(e * W2 @ W2.T, P) - losses.simclr_quadratic_loss(e * W2 @ W2.T, P)
          for e in (0.02, 0.01)]
    assert abs(np.log2(abs(r2[0] / r2[1])) - 3) > 0.5
