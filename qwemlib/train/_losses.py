"""Minibatch losses of QWEM (eq. 3) and SGNS (eq. 1) and their gradients, for the device loop.

QWEM (eq. 3) uses Setting 1's weights ``Psi+_ij = Psi-_ij = 1 / (P_ij + P_i P_j)``,
gathered per sampled pair from a dense ``(V, V)`` device array, so ``G_ij = 1`` (``g = 1``)
and, with the batch loss defined as the *mean* over the positive plus the *mean* over the
negative pairs,
``E[batch loss] = L(W) = (1/4) ||W W^T - M*||_F^2 + const`` (eq. 6) and
``E[grad batch loss] = grad L(W) = (W W^T - M*) W`` exactly.

SGNS (eq. 1) with word2vec's tricks (Appendix A.3): the shrinking window is already in
``P_ij``; subsampling (eq. 15) enters as the weights ``Psi+_ij = Psi-_ij = Pacc(i) Pacc(j)``
(eq. 16); the ``P^{3/4}`` negative distribution (eq. 17) is implemented by *sampling*
the negative context word ``j`` from ``P_j^{3/4} / sum P^{3/4}`` (as word2vec does), not by
the reweighting of eq. 17, because importance weights ``P_j^{-1/4}`` would add gradient
variance for nothing. The negative centre word ``i`` is drawn from ``P_i``.

Each batch loss is the *mean* over the positive plus the *mean* over the negative pairs of
:func:`qwemlib.train.sample_batch`, so its expectation is the full-batch loss of
:mod:`qwemlib.losses` (checked by enumeration with the test oracle,
:func:`qwemlib.train.expected_gradient`).

Used in: the device loop of :func:`qwemlib.train.train`; book/05_training.md (one batch's
gradient against :func:`full_batch_gradient`); bench/bench_train.py.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def qwem_batch_loss(W, batch, psi):
    """Minibatch QWEM loss (eq. 3): ``mean(w+ Psi (x^2/4 - x)) + mean(w- Psi (x^2/4 + x))``.

    ``psi`` is the dense ``(V, V)`` Setting-1 weight matrix (:func:`qwemlib.stats.psi_setting1`).
    """
    pi, pj, pw, ni, nj, nw = batch
    xp = jnp.sum(W[pi] * W[pj], axis=-1)
    xn = jnp.sum(W[ni] * W[nj], axis=-1)
    lp = pw * psi[pi, pj] * (0.25 * xp * xp - xp)
    ln = nw * psi[ni, nj] * (0.25 * xn * xn + xn)
    return jnp.mean(lp) + jnp.mean(ln)


def qwem_exact_batch_loss(W, batch, psi=None):
    """QWEM (eq. 3) with the quartic and the negative term exact (``negatives="exact"``).

    Under Setting 1 ``P_ij Psi_ij + P_i P_j Psi_ij = G_ij = 1`` in every cell, so eq. 3 is
    ``sum_ij (x^2/4) + sum_ij P_i P_j Psi_ij x - sum_ij P_ij Psi_ij x
    = (1/4)||W^T W||_F^2 + ||W^T 1||^2 - 2 sum_ij P_ij Psi_ij x_ij`` exactly
    (``||W W^T||_F = ||W^T W||_F``, ``sum_ij x_ij = ||W^T 1||^2``). The first two terms cost
    ``O(V d^2)`` and are computed exactly; only the last is estimated, from the cells of
    :func:`sample_batch` (``mean(pos_w * x)``, ``pos_w = K P_ij Psi_ij``). Its expectation is
    eq. 3's value and its expected gradient ``W W^T W + 2 * 1 1^T W - (M* + 2) W =
    (W W^T - M*) W`` (``M* = 4 P Psi - 2``, eq. 5 under Setting 1). ``psi`` is unused.
    """
    pi, pj, pw = batch[:3]
    G = W.T @ W
    s = jnp.sum(W, axis=0)
    x = jnp.sum(W[pi] * W[pj], axis=-1)
    return 0.25 * jnp.sum(G * G) + jnp.sum(s * s) - 2.0 * jnp.mean(pw * x)


def sgns_batch_loss(W, batch, acc):
    """Minibatch SGNS loss (eq. 1), tied weights, ``Psi+- = Pacc(i) Pacc(j)`` (eq. 16)."""
    pi, pj, pw, ni, nj, nw = batch
    xp = jnp.sum(W[pi] * W[pj], axis=-1)
    xn = jnp.sum(W[ni] * W[nj], axis=-1)
    lp = pw * acc[pi] * acc[pj] * jax.nn.softplus(-xp)
    ln = nw * acc[ni] * acc[nj] * jax.nn.softplus(xn)
    return jnp.mean(lp) + jnp.mean(ln)


def batch_value_and_grad(W, batch, weights, *, loss: str = "qwem", path: str = "scatter",
                         negatives: str = "unigram"):
    """Value and gradient in ``W`` of :func:`qwem_batch_loss` / :func:`sgns_batch_loss`
    (or :func:`qwem_exact_batch_loss` for ``negatives="exact"``).

    ``path="scatter"``: ``jax.value_and_grad`` of the batch loss; its backward pass
    scatter-adds two ``d``-vectors per sampled pair into a ``(V, d)`` array (``O(B d)``
    random-access work, XLA's slowest operation on a CPU).

    ``path="dense"``: both losses depend on a pair ``(i, j)`` only through the cell and
    ``x = W_i . W_j``, so the gradient is ``C W`` with the symmetric ``(V, V)`` matrix
    ``C = sum_pairs c_p (e_i e_j^T + e_j e_i^T)`` and the per-pair *scalar*
    ``c_p = w_p f'(x_p) / B`` (QWEM, eq. 3: ``f = Psi_ij (x^2/4 -+ x)``; SGNS, eq. 1:
    ``f = a_i a_j softplus(-+x)``). The step computes ``X = W W^T`` (one matmul), gathers
    ``x_p = X[i, j]`` and ``Psi_ij``, scatter-adds ``c_p`` at ``(i, j)`` and ``(j, i)`` (two
    scalar scatters per pair instead of two ``d``-vector scatters) and multiplies ``C W``
    (one matmul). The same gradient as the scatter path up to floating-point rounding (the
    order of the sums), so its expectation over batches is still exactly the full-batch
    gradient. Cost: ``O(B)`` scalar work plus two ``V x V x d`` matmuls and ``O(V^2)`` memory.

    Args:
        W: ``(V, d)`` embeddings.
        batch: ``(pos_i, pos_j, pos_w, neg_i, neg_j, neg_w)`` from :func:`sample_batch`.
        weights: QWEM: the ``(V, V)`` ``Psi`` (:func:`qwemlib.stats.psi_setting1`); SGNS: the ``(V,)``
            acceptance probabilities.
        loss: ``"qwem"`` or ``"sgns"``.
        path: ``"scatter"`` or ``"dense"``.
        negatives: the batch's :attr:`TrainConfig.negatives`. ``"unigram"`` and ``"uniform"``
            batches carry their sampling weights in ``pos_w``/``neg_w`` and use the same
            code; ``"exact"`` (QWEM only) uses :func:`qwem_exact_batch_loss`: on the dense path
            ``C`` holds ``-2 pos_w / B`` per cell and the exact terms add ``W (W^T W) +
            2 * 1 (1^T W)``.

    Returns:
        ``(batch loss, (V, d) gradient)``.

    Used in: the device loop of :func:`qwemlib.train.train`; book/05_training.md
    (the sampling noise, through ``qwemlib.experiments._sampling``).
    """
    if loss not in ("qwem", "sgns"):
        raise ValueError(f"loss={loss!r}: choose 'qwem' or 'sgns'")
    if negatives not in ("unigram", "uniform", "exact"):
        raise ValueError(f"negatives={negatives!r}: choose 'unigram', 'uniform' or 'exact'")
    exact = negatives == "exact"
    if exact and loss != "qwem":
        raise ValueError("negatives='exact' is implemented for loss='qwem' only")
    if path == "scatter":
        fn = qwem_exact_batch_loss if exact else (qwem_batch_loss if loss == "qwem" else sgns_batch_loss)
        return jax.value_and_grad(fn)(W, batch, weights)
    if path != "dense":
        raise ValueError(f"path={path!r}: choose 'scatter' or 'dense'")
    if exact:
        pi, pj, pw = batch[:3]
        V = W.shape[0]
        G = W.T @ W
        s = jnp.sum(W, axis=0)
        cell = pi * V + pj
        x = (W @ W.T).reshape(-1)[cell]  # one matmul and a scalar gather, as for the other estimators
        pw = pw.astype(W.dtype)
        value = 0.25 * jnp.sum(G * G) + jnp.sum(s * s) - 2.0 * jnp.mean(pw * x)
        c = (-2.0 / pi.shape[0]) * pw
        C = jnp.zeros((V * V,), W.dtype).at[jnp.concatenate([cell, pj * V + pi])].add(
            jnp.concatenate([c, c]))
        return value, C.reshape(V, V) @ W + W @ G + 2.0 * s[None, :]
    pi, pj, pw, ni, nj, nw = batch
    V = W.shape[0]
    fdt = W.dtype
    X = (W @ W.T).reshape(-1)
    ci = jnp.concatenate([pi, ni])
    cj = jnp.concatenate([pj, nj])
    sgn = jnp.concatenate([jnp.full(pi.shape, -1.0, fdt), jnp.full(ni.shape, 1.0, fdt)])
    # per-pair batch weight over its batch size (the losses are means over each half)
    w = jnp.concatenate([pw.astype(fdt) / pi.shape[0], nw.astype(fdt) / ni.shape[0]])
    x = X[ci * V + cj]
    if loss == "qwem":
        w = w * weights[ci, cj].astype(fdt)
        value = jnp.sum(w * (0.25 * x * x + sgn * x))
        c = w * (0.5 * x + sgn)
    else:
        a = weights.astype(fdt)
        w = w * a[ci] * a[cj]
        value = jnp.sum(w * jax.nn.softplus(sgn * x))
        c = w * sgn * jax.nn.sigmoid(sgn * x)
    C = jnp.zeros((V * V,), fdt).at[jnp.concatenate([ci * V + cj, cj * V + ci])].add(
        jnp.concatenate([c, c]))
    return value, C.reshape(V, V) @ W


def full_batch_gradient(W, M):
    """``(W W^T - M) W``: the gradient of :func:`qwemlib.losses.factorization_loss` (eq. 6, g = 1).

    The expectation of the sampled QWEM gradient (the module docstring). Used in:
    book/05_training.md (through ``qwemlib.experiments._sampling``).
    """
    return (W @ W.T - M) @ W

