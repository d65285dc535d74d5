"""Test matrices shared by tests/test_eigen.py and tests/test_theory.py."""

from __future__ import annotations

import numpy as np


def indefinite(V=150, d=10, seed=0, n_neg=15, neg_scale=80.0):
    """Symmetric test matrix like M*: clear top-d, a bulk, and big negative eigenvalues.

    The ``n_neg`` most negative eigenvalues are much larger in magnitude than
    ``lambda_1``, so the top ``d`` by magnitude are all negative.
    """
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((V, V)))
    top = np.linspace(10.0, 4.0, d)
    bulk = rng.uniform(-1.5, 2.0, V - d - n_neg)
    neg = -rng.uniform(neg_scale / 4, neg_scale, n_neg)
    lam = np.concatenate([top, bulk, neg])
    M = (Q * lam) @ Q.T
    return 0.5 * (M + M.T)


def dense_top(M, d):
    w, v = np.linalg.eigh(M)
    return w[::-1][:d], v[:, ::-1][:, :d]
