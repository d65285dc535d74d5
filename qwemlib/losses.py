"""The word2vec and QWEM objectives as exact expectations over the corpus statistics.

These are the full-batch losses that SGD estimates by sampling pairs
(:mod:`qwemlib.train`): every expectation over positive pairs is a sum weighted
by ``P_ij``, every expectation over negative pairs a sum weighted by ``P_i P_j``.

* :func:`sgns_loss` is eq. 1 with tied weights (or a separate context matrix).
* :func:`qwem_loss` is eq. 3, the quartic Taylor expansion of eq. 1 around 0:
  ``log(1 + e^{-x}) = log 2 - x/2 + x^2/8 + O(x^4)``; the paper rescales so the
  per-pair terms read ``x^2/4 -/+ x``.
* :func:`factorization_loss` is the right-hand side of Theorem 1 (eq. 6).

Theorem 1 says ``qwem_loss = factorization_loss + const`` under Setting 1; the
constant, from completing the square (Appendix C, eq. 30), is
``-(g/4) ||M*||_F^2``. (The paper's eq. 31 prints ``+``; the sign does not
matter for the minimiser, and :func:`theorem1_constant` uses the value that
the identity actually satisfies, checked in tests/test_losses.py.)

Used in: book/01_word2vec_pmi.md, book/02_qwem_matrix_factorization.md.
"""

from __future__ import annotations

import numpy as np

from .stats import psi_setting1

__all__ = [
    "sgns_loss",
    "sgns_loss_inner",
    "qwem_loss",
    "qwem_loss_inner",
    "factorization_loss",
    "theorem1_constant",
]


def _psis(P_ij, P_i, psi_plus, psi_minus):
    if psi_plus is None and psi_minus is None:
        psi = psi_setting1(P_ij, P_i)
        return psi, psi
    return (1.0 if psi_plus is None else psi_plus), (1.0 if psi_minus is None else psi_minus)


def sgns_loss_inner(X, P_ij, P_i, psi_plus=1.0, psi_minus=1.0) -> float:
    """Eq. 1 as a function of the inner products ``X_ij = w_i . w'_j`` (no rank limit).

    ``sum_ij Psi+ P_ij log(1 + e^{-X_ij}) + Psi- P_i P_j log(1 + e^{X_ij})``.
    Its unconstrained minimiser is ``X = log(Psi+ P_ij / (Psi- P_i P_j))`` (eq. 2).
    """
    pos = np.asarray(psi_plus) * P_ij
    neg = np.asarray(psi_minus) * np.outer(P_i, P_i)
    return float(np.sum(pos * np.logaddexp(0.0, -X) + neg * np.logaddexp(0.0, X)))


def sgns_loss(W, P_ij, P_i, psi_plus=1.0, psi_minus=1.0, W_context=None) -> float:
    """Eq. 1 for embeddings ``W`` (V, d); tied weights unless ``W_context`` is given."""
    Wc = W if W_context is None else W_context
    return sgns_loss_inner(W @ Wc.T, P_ij, P_i, psi_plus, psi_minus)


def qwem_loss_inner(X, P_ij, P_i, psi_plus=None, psi_minus=None) -> float:
    """Eq. 3 as a function of the inner products ``X = W W^T``; Setting 1 by default."""
    pp, pm = _psis(P_ij, P_i, psi_plus, psi_minus)
    pos = pp * P_ij
    neg = pm * np.outer(P_i, P_i)
    return float(np.sum(pos * (X * X / 4 - X) + neg * (X * X / 4 + X)))


def qwem_loss(W, P_ij, P_i, psi_plus=None, psi_minus=None) -> float:
    """The QWEM loss (eq. 3) of embeddings ``W`` (V, d); Setting 1 (``G = 1``) by default."""
    return qwem_loss_inner(W @ W.T, P_ij, P_i, psi_plus, psi_minus)


def factorization_loss(W, M, g: float = 1.0) -> float:
    """``(g/4) ||W W^T - M||_F^2``, the right-hand side of Theorem 1 (eq. 6)."""
    R = W @ W.T - M
    return float(g / 4 * np.sum(R * R))


def theorem1_constant(M, g: float = 1.0) -> float:
    """The constant in Theorem 1: ``qwem_loss(W) - factorization_loss(W) = -(g/4)||M*||^2``."""
    return float(-g / 4 * np.sum(M * M))
