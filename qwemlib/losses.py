"""The word2vec and QWEM objectives as exact expectations over the corpus statistics.

These are the full-batch losses that SGD estimates by sampling pairs
(:mod:`qwemlib.train`): every expectation over positive pairs is a sum weighted
by ``P_ij``, every expectation over negative pairs a sum weighted by ``P_i P_j``.

* :func:`sgns_loss` is eq. 1 with tied weights (or a separate context matrix).
* :func:`qwem_loss` is eq. 3, the quartic Taylor expansion of eq. 1 around 0:
  ``log(1 + e^{-x}) = log 2 - x/2 + x^2/8 + O(x^4)``; the paper rescales so the
  per-pair terms read ``x^2/4 -/+ x``.
* :func:`factorization_loss` is the right-hand side of Theorem 1 (eq. 6), the one
  ``(g/4) ||W W^T - M||_F^2`` of the library: it works on numpy and on JAX arrays
  (the trainer, :mod:`qwemlib.flow` and the chapters call it), and
  :func:`weighted_factorization_loss` is its weighted form (eq. 8).
* :func:`minimize_sgns_inner` minimises eq. 1 over free inner products (chapter 1's
  check that the minimiser is PMI, eq. 2).
* :func:`simclr_loss`, :func:`simclr_quadratic_loss` and
  :func:`simclr_factorization_loss` are the large-batch SimCLR loss, its second-order
  expansion and the matrix factorisation it equals (Appendix D.2, eq. 80-83).

Theorem 1 says ``qwem_loss = factorization_loss + const`` under Setting 1; the
constant, from completing the square (Appendix C, eq. 30), is
``-(g/4) ||M*||_F^2``. (The paper's eq. 31 prints ``+``; the sign does not
matter for the minimiser, and :func:`theorem1_constant` uses the value that
the identity actually satisfies, checked in tests/test_losses.py.)

Used in: book/01_word2vec_pmi.md, book/02_qwem_matrix_factorization.md, book/08_appendix.md.
"""

from __future__ import annotations

import numpy as np

from . import _validate as _v
from .stats import psi_setting1

__all__ = [
    "sgns_loss",
    "sgns_loss_inner",
    "qwem_loss",
    "qwem_loss_inner",
    "factorization_loss",
    "weighted_factorization_loss",
    "weighted_factorization_objective",
    "theorem1_constant",
    "minimize_sgns_inner",
    "simclr_loss",
    "simclr_quadratic_loss",
    "simclr_factorization_loss",
]


def _psis(P_ij, P_i, psi_plus, psi_minus):
    if psi_plus is None and psi_minus is None:
        psi = psi_setting1(P_ij, P_i)
        return psi, psi
    return (1.0 if psi_plus is None else psi_plus), (1.0 if psi_minus is None else psi_minus)


def sgns_loss_inner(X, P_ij, P_i, psi_plus=1.0, psi_minus=1.0, where=None) -> float:
    """Eq. 1 as a function of the inner products ``X_ij = w_i . w'_j`` (no rank limit).

    ``sum_ij Psi+ P_ij log(1 + e^{-X_ij}) + Psi- P_i P_j log(1 + e^{X_ij})``.
    Its unconstrained minimiser is ``X = log(Psi+ P_ij / (Psi- P_i P_j))`` (eq. 2).

    Args:
        where: optional boolean mask; only the pairs where it is true are summed
            (chapter 1 sums over the pairs that co-occur, the ones with a minimiser).

    Used in: book/01_word2vec_pmi.md.
    """
    P_ij, P_i = _v.validate_pair_distribution(P_ij, P_i)
    _v.validate_same_shape(X, P_ij, ("X", "P_ij"))
    pos = np.asarray(psi_plus) * P_ij
    neg = np.asarray(psi_minus) * np.outer(P_i, P_i)
    terms = pos * np.logaddexp(0.0, -X) + neg * np.logaddexp(0.0, X)
    return float(np.sum(terms if where is None else where * terms))


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def minimize_sgns_inner(P_ij, P_i, steps: int = 3001, record_every: int = 25):
    """Minimise eq. 1 (``Psi = 1``) over a free matrix of inner products by gradient descent.

    Starts at ``X = 0`` and, at each of ``steps`` iterations, moves every pair that
    co-occurs (``P_ij > 0``; the others have no minimiser) by
    ``-4 / (a_ij + b_ij) * l'_ij(X_ij)``, with ``a = P_ij``, ``b = P_i P_j`` and
    ``l'(x) = -a sigma(-x) + b sigma(x)``: gradient descent with the inverse of each
    term's largest curvature ``(a + b) / 4`` as a diagonal preconditioner, which never
    overshoots. The loss is a sum of independent convex terms, so ``X`` converges to
    PMI on the co-occurring pairs (eq. 2).

    Returns:
        ``(X, history)``: the final (V, V) inner products and an array of rows
        ``(iteration, loss)`` recorded every ``record_every`` iterations, before that
        iteration's step (the loss summed over co-occurring pairs,
        :func:`sgns_loss_inner` with ``where``).

    Used in: book/01_word2vec_pmi.md.
    """
    a, b = _v.validate_pair_distribution(P_ij, P_i)[0], np.outer(P_i, P_i)
    seen = a > 0
    X = np.zeros(a.shape)
    step = 4.0 / (a + b)
    history = []
    for it in range(steps):
        if it % record_every == 0:
            history.append((it, sgns_loss_inner(X, a, P_i, where=seen)))
        grad = -a * _sigmoid(-X) + b * _sigmoid(X)
        X = X - np.where(seen, step * grad, 0.0)
    return X, np.array(history)


def sgns_loss(W, P_ij, P_i, psi_plus=1.0, psi_minus=1.0, W_context=None) -> float:
    """Eq. 1 for embeddings ``W`` (V, d); tied weights unless ``W_context`` is given."""
    _v.validate_factor_shapes(W, P_ij, names=("W", "P_ij"))
    _v.validate_matrix(W, "W", what="(V, d)")
    Wc = W if W_context is None else _v.validate_same_shape(W, W_context, ("W", "W_context"))[1]
    return sgns_loss_inner(W @ Wc.T, P_ij, P_i, psi_plus, psi_minus)


def qwem_loss_inner(X, P_ij, P_i, psi_plus=None, psi_minus=None) -> float:
    """Eq. 3 as a function of the inner products ``X = W W^T``; Setting 1 by default."""
    _v.validate_pair_distribution(P_ij, P_i)
    _v.validate_same_shape(X, P_ij, ("X", "P_ij"))
    pp, pm = _psis(P_ij, P_i, psi_plus, psi_minus)
    pos = pp * P_ij
    neg = pm * np.outer(P_i, P_i)
    return float(np.sum(pos * (X * X / 4 - X) + neg * (X * X / 4 + X)))


def qwem_loss(W, P_ij, P_i, psi_plus=None, psi_minus=None) -> float:
    """The QWEM loss (eq. 3) of embeddings ``W`` (V, d); Setting 1 (``G = 1``) by default."""
    _v.validate_factor_shapes(W, P_ij, names=("W", "P_ij"))
    _v.validate_matrix(W, "W", what="(V, d)")
    return qwem_loss_inner(W @ W.T, P_ij, P_i, psi_plus, psi_minus)


def factorization_loss(W, M, g: float = 1.0):
    """``(g/4) ||W W^T - M||_F^2``, the right-hand side of Theorem 1 (eq. 6).

    The one definition of this loss in the library. It takes numpy or JAX arrays:
    with numpy it returns a Python float, with JAX a JAX scalar (so it can be
    differentiated and jitted).

    Used in: book/02_qwem_matrix_factorization.md, qwemlib.flow, qwemlib.train.
    """
    _v.validate_factor_shapes(W, M)
    R = W @ W.T - M
    value = g / 4 * (R * R).sum()
    return float(value) if isinstance(value, (float, np.generic)) else value


def _weighted(W, M, G):
    _v.validate_factor_shapes(W, M)
    _v.validate_same_shape(M, G, ("M", "G"))
    X = W @ W.T
    R = G * (X - M)
    return 0.25 * np.sum(R * (X - M)), R @ W


def weighted_factorization_loss(W, M, G) -> float:
    """``(1/4) sum_ij G_ij (W W^T - M)_ij^2``, the weighted factorisation of eq. 8.

    Equals the QWEM loss (eq. 3) with ``G = Psi+ P_ij + Psi- P_i P_j`` up to a
    constant; for a rank-one ``G = g g^T`` its minimiser is eq. 9
    (:func:`qwemlib.theory.weighted_closed_form`).

    Used in: book/02_qwem_matrix_factorization.md.
    """
    return float(_weighted(W, M, G)[0])


def weighted_factorization_objective(w, M, G, d: int):
    """:func:`weighted_factorization_loss` and its gradient in the flat vector ``w``.

    For ``scipy.optimize.minimize(..., args=(M, G, d), jac=True)``: ``w`` is
    ``W.ravel()`` for ``W`` of shape ``(V, d)``; the gradient is ``(G * (W W^T - M)) W``.

    Used in: book/02_qwem_matrix_factorization.md.
    """
    if np.ndim(M) != 2 or np.size(w) != M.shape[0] * d:
        raise ValueError(f"w must be W.ravel() for W of shape (V, d) = ({np.shape(M)[0]}, {d}); "
                         f"got {np.size(w)} entries: pass the matching d")
    value, grad = _weighted(w.reshape(M.shape[0], d), M, G)
    return value, grad.ravel()


def theorem1_constant(M, g: float = 1.0) -> float:
    """The constant in Theorem 1: ``qwem_loss(W) - factorization_loss(W) = -(g/4)||M*||^2``."""
    value = float(-g / 4 * np.sum(M * M))
    if not np.isfinite(value):
        raise ValueError(f"theorem1_constant: M (shape {np.shape(M)}) has non-finite entries or g = {g!r} "
                         "is not finite; pass the finite target M*")
    return value


def simclr_loss(S, P_ij, beta: float = 1.0) -> float:
    """The large-batch SimCLR loss (Appendix D.2, eq. 80) of similarities ``S``, without ``log B``.

    ``sum_ij P_ij (-beta S_ij) + sum_i P_i log sum_k P_k exp(beta S_ik)``, with
    positive pairs from ``P_ij`` and negatives from its marginal ``P_i``.

    Used in: book/08_appendix.md.
    """
    S, P_ij = _v.validate_same_shape(S, P_ij, ("S", "P_ij"))
    p = P_ij.sum(axis=1)
    lse = np.log(np.exp(beta * S) @ p)
    return float(np.sum(P_ij * (-beta * S)) + np.sum(P_ij.sum(1) * lse))


def simclr_quadratic_loss(S, P_ij, beta: float = 1.0) -> float:
    """SimCLR to second order in ``S`` for centred features (eq. 81-82, without constants).

    ``beta sum_ij [-P_ij S_ij + P_i P_j (S_ij + beta S_ij^2 / 2)]``.

    Used in: book/08_appendix.md.
    """
    S, P_ij = _v.validate_same_shape(S, P_ij, ("S", "P_ij"))
    p = P_ij.sum(axis=1)
    return float(beta * (np.sum(-P_ij * S) + np.sum(np.outer(p, p) * (S + beta / 2 * S ** 2))))


def simclr_factorization_loss(S, P_ij, beta: float = 1.0) -> float:
    """The weighted factorisation SimCLR's quadratic loss equals up to a constant (eq. 83).

    ``(beta^2 / 2) sum_ij P_i P_j (S_ij - T_ij)^2`` with
    ``T_ij = (P_ij - P_i P_j) / (beta P_i P_j)``: weights ``G ∝ P_i P_j``, rank one.

    Used in: book/08_appendix.md.
    """
    S, P_ij = _v.validate_same_shape(S, P_ij, ("S", "P_ij"))
    p = P_ij.sum(axis=1)
    pp = np.outer(p, p)
    T = (P_ij - pp) / (beta * pp)
    return float(beta ** 2 / 2 * np.sum(pp * (S - T) ** 2))
