"""The minibatch sampler, on the device (``jax.random``): positive and negative pairs.

Every step draws ``batch_pos`` positive pairs from the token stream and ``batch_neg``
negative pairs from the unigram distribution (by default; QWEM has two lower-variance
estimators, see the end).

Positive pairs (docs/CONVENTIONS.md): a centre position ``p`` is drawn uniformly from
the ``N`` tokens, an offset magnitude ``j`` in ``1..L`` with probability
``w_j / sum(w)`` (``w`` from :func:`qwemlib.stats.window_weights`, word2vec's shrinking
window) and a sign uniformly. A pair whose context position ``p +- j`` falls outside the article of
``p`` gets weight 0. Every other pair gets the same weight ``c = 2 N sum(w) / Z``, where
``Z = sum_a sum_j w_j * 2 max(n_a - j, 0)`` is the total window weight of all valid
(position, offset) pairs, computed exactly from the article lengths ``n_a``. Then, for
any function ``f``,
``E[c * valid * f(i, j)] = sum_{p,o valid} w_|o| f(ids[p], ids[p+o]) / Z = sum_ij P_ij f(i, j)``,
so the minibatch average is an unbiased estimate of the expectation over ``P_ij``.

Negative pairs: ``i`` and ``j`` are drawn independently with a Walker/Vose alias table
(one uniform integer and one uniform float per draw) built from ``P_i`` (QWEM) or from
``P_i`` and ``P_j^{3/4}`` (SGNS) (:mod:`._alias`).

The lower-variance estimators of QWEM's negative half (``TrainConfig.negatives``, compared
in the package docstring) draw ``"uniform"`` cells with weights :func:`uniform_negative_scale`
or ``"exact"`` co-occurring cells from :func:`cooccurrence_cells`.

Used in: the device loop of :func:`qwemlib.train.train`; book/05_training.md (the sampler's
noise); tests/test_train.py (unbiasedness).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..stats import window_weights
from ._alias import _alias_draw, alias_table
from ._config import TrainConfig
from ._inputs import _check_corpus


@jax.tree_util.register_pytree_node_class
@dataclass(frozen=True)
class Sampler:
    """Device arrays the sampler reads (a pytree; built by :func:`build_sampler`)."""

    ids: Any            # (N,) token ids
    offsets: Any        # (A+1,) int32 article offsets
    offset_cdf: Any     # (L,) cdf of the offset magnitude 1..L
    pos_scale: Any      # scalar c = 2 N sum(w) / Z
    neg_i: tuple        # alias table (accept, alias) for the negative centre word
    neg_j: tuple        # alias table for the negative context word
    neg_scale: Any = None        # (V,) V * P_i (negatives="uniform" only; None otherwise)
    cells: Any = None            # (K,) int32 cells i * V + j with P_ij > 0 ("exact" only)
    cell_w: Any = None           # (K,) their weights K P_ij Psi_ij ("exact" only)
    negatives: str = "unigram"   # static: "unigram", "uniform" or "exact" (TrainConfig.negatives)

    def tree_flatten(self):
        children = (self.ids, self.offsets, self.offset_cdf, self.pos_scale, self.neg_i, self.neg_j,
                    self.neg_scale, self.cells, self.cell_w)
        return children, self.negatives

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children, negatives=aux)


def _float_dtype(cfg):
    """The jax float type of a run (``TrainConfig.dtype``)."""
    return jnp.float64 if cfg.dtype == "float64" else jnp.float32


def positive_pair_scale(article_offsets, window: int, weighting: str = "word2vec") -> float:
    """The weight ``c = 2 N sum(w) / Z`` that makes the positive-pair sampler unbiased.

    ``Z = sum_a sum_{j=1..L} w_j * 2 max(n_a - j, 0)`` is the total window weight of all
    in-article (position, offset) pairs; ``N`` the number of tokens.
    """
    off = np.asarray(article_offsets, dtype=np.int64)
    n = np.diff(off)
    w = window_weights(window, weighting)
    j = np.arange(1, len(w) + 1)
    Z = float(np.sum(w[None, :] * 2.0 * np.maximum(n[:, None] - j[None, :], 0)))
    if Z <= 0:
        raise ValueError("article_offsets: no article is longer than one token, so there are no "
                         "positive pairs; use longer articles")
    N = float(off[-1])
    return 2.0 * N * float(w.sum()) / Z




def uniform_negative_scale(P_i) -> np.ndarray:
    """``(V,)`` ``V * P_i``: a ``negatives="uniform"`` pair ``(i, j)`` gets weight ``V^2 P_i P_j``.

    ``i`` and ``j`` are drawn uniformly from ``0..V-1``, so ``E[V^2 P_i P_j f(i, j)] =
    sum_ij P_i P_j f(i, j)``: the negative half of eq. 3 (see :class:`TrainConfig`).
    """
    P_i = np.asarray(P_i, dtype=np.float64)
    return P_i.size * P_i


def exact_cells(P_ij, P_i, caller: str):
    """:func:`cooccurrence_cells` for ``negatives="exact"``, after checking its inputs.

    Shared by the JAX sampler and the CPU kernel's (``caller`` names which in errors).
    """
    if P_ij is None:
        raise ValueError(f"{caller}: negatives='exact' needs P_ij (pass P_ij=...)")
    if np.any(np.asarray(P_i) <= 0):
        raise ValueError("P_i: negatives='exact' needs every word to occur (P_i > 0), so that "
                         "G_ij = 1 in every cell (Setting 1); drop the unseen words or use "
                         "negatives='uniform'")
    return cooccurrence_cells(P_ij, P_i)


def cooccurrence_cells(P_ij, P_i) -> tuple[np.ndarray, np.ndarray]:
    """The table of ``negatives="exact"``: cells with ``P_ij > 0`` and their weights.

    Returns ``(cells, weights)``: ``cells`` (``K``,) int32 flat indices ``i * V + j`` of the
    ``K`` cells with ``P_ij > 0`` (row-major order), ``weights`` (``K``,) float64
    ``K P_ij Psi_ij = K P_ij / (P_ij + P_i P_j)`` (Setting 1's ``Psi``, eq. 3), each in
    ``(0, K)``. A cell drawn uniformly from the table with its weight estimates
    ``sum_ij P_ij Psi_ij f(i, j)`` without bias.
    """
    P_ij = np.asarray(P_ij, dtype=np.float64)
    V = P_ij.shape[0]
    if V * V >= 2**31:
        raise ValueError(f"P_ij: V={V} has V^2 >= 2^31 cells, beyond the int32 cell index of "
                         "negatives='exact'; use negatives='uniform'")
    cells = np.flatnonzero(P_ij > 0)
    if cells.size == 0:
        raise ValueError("P_ij: no pair co-occurs (all entries are 0)")
    p = P_ij.ravel()[cells]
    pp = np.asarray(P_i, dtype=np.float64)[cells // V] * np.asarray(P_i, dtype=np.float64)[cells % V]
    return cells.astype(np.int32), cells.size * (p / (p + pp))


def build_sampler(tokens, article_offsets, P_i, cfg: TrainConfig, P_ij=None) -> Sampler:
    """Put the token stream, the article offsets and the sampling tables on the device.

    Negatives (``cfg.negatives="unigram"``, the paper's): ``i ~ P_i``; ``j ~ P_j`` (QWEM) or
    ``j ~ P_j^{neg_power}`` (SGNS). ``cfg.negatives="uniform"`` (QWEM): ``i, j`` uniform on
    ``0..V-1`` with weight ``V^2 P_i P_j`` (:func:`uniform_negative_scale`).
    ``cfg.negatives="exact"`` (QWEM) needs ``P_ij``: it puts the table of
    :func:`cooccurrence_cells` on the device (see :class:`TrainConfig`).
    Call inside ``jax.enable_x64(True)`` for ``dtype="float64"``.
    """
    ids, off = _check_corpus(tokens, article_offsets, len(P_i))
    fdt = _float_dtype(cfg)
    w = window_weights(cfg.window, cfg.weighting)
    cdf = np.cumsum(w) / w.sum()
    cdf[-1] = 1.0
    P_i = np.asarray(P_i, dtype=np.float64)
    neg_i = alias_table(P_i)
    neg_j = alias_table(P_i ** cfg.neg_power) if cfg.loss == "sgns" else neg_i
    ids_dev = jnp.asarray(ids.astype(np.uint16 if ids.max() < 2**16 else np.int32))
    cells = None
    if cfg.negatives == "exact":
        cells = exact_cells(P_ij, P_i, "build_sampler")

    def dev_table(t):
        return (jnp.asarray(t[0], dtype=fdt), jnp.asarray(t[1], dtype=jnp.int32))

    return Sampler(
        ids=ids_dev,
        offsets=jnp.asarray(off.astype(np.int32)),
        offset_cdf=jnp.asarray(cdf, dtype=fdt),
        pos_scale=jnp.asarray(positive_pair_scale(off, cfg.window, cfg.weighting), dtype=fdt),
        neg_i=dev_table(neg_i),
        neg_j=dev_table(neg_j),
        neg_scale=(jnp.asarray(uniform_negative_scale(P_i), dtype=fdt)
                   if cfg.negatives == "uniform" else None),
        cells=None if cells is None else jnp.asarray(cells[0]),
        cell_w=None if cells is None else jnp.asarray(cells[1], dtype=fdt),
        negatives=cfg.negatives,
    )


@partial(jax.jit, static_argnames=("batch_pos", "batch_neg"))
def sample_batch(key, sampler: Sampler, batch_pos: int, batch_neg: int):
    """One minibatch: ``(pos_i, pos_j, pos_w, neg_i, neg_j, neg_w)``.

    ``pos_w`` is ``c`` for in-article pairs and 0 for pairs that cross a boundary, so that
    ``mean(pos_w * f(pos_i, pos_j))`` is unbiased for ``sum_ij P_ij f(i, j)``. ``neg_w`` is 1
    for ``sampler.negatives == "unigram"`` (pairs drawn from ``P_i P_j``) and ``V^2 P_i P_j``
    for ``"uniform"`` (pairs drawn uniformly from the ``V x V`` cells), so that in both cases
    ``mean(neg_w * f(neg_i, neg_j))`` is unbiased for ``sum_ij P_i P_j f(i, j)``.

    ``sampler.negatives == "exact"``: no token stream and no negatives; the positive half
    holds ``batch_pos + batch_neg`` cells drawn uniformly from :func:`cooccurrence_cells`'s
    table with their weights ``K P_ij Psi_ij`` (``mean(pos_w * f)`` is unbiased for
    ``sum_ij P_ij Psi_ij f(i, j)``), and the negative half is empty (length 0).
    """
    fdt = sampler.offset_cdf.dtype
    if sampler.negatives == "exact":
        V = sampler.neg_i[0].shape[0]
        k = jax.random.randint(key, (batch_pos + batch_neg,), 0, sampler.cells.shape[0], dtype=jnp.int32)
        cell = sampler.cells[k]
        empty = jnp.zeros((0,), jnp.int32)
        return cell // V, cell % V, sampler.cell_w[k], empty, empty, jnp.zeros((0,), fdt)
    kp, km, ks, ki, kj = jax.random.split(key, 5)
    N = sampler.ids.shape[0]
    p = jax.random.randint(kp, (batch_pos,), 0, N, dtype=jnp.int32)
    u = jax.random.uniform(km, (batch_pos,), dtype=fdt)
    mag = jnp.searchsorted(sampler.offset_cdf, u, side="right").astype(jnp.int32) + 1
    mag = jnp.minimum(mag, sampler.offset_cdf.shape[0])  # guards u == 1 - ulp rounding
    sign = jnp.where(jax.random.bernoulli(ks, 0.5, (batch_pos,)), 1, -1).astype(jnp.int32)
    q = p + sign * mag
    a = jnp.searchsorted(sampler.offsets, p, side="right").astype(jnp.int32) - 1
    valid = (q >= sampler.offsets[a]) & (q < sampler.offsets[a + 1])
    qc = jnp.clip(q, 0, N - 1)
    pos_i = sampler.ids[p].astype(jnp.int32)
    pos_j = sampler.ids[qc].astype(jnp.int32)
    pos_w = jnp.where(valid, sampler.pos_scale, jnp.zeros((), fdt))
    if sampler.negatives == "uniform":
        V = sampler.neg_scale.shape[0]
        neg_i = jax.random.randint(ki, (batch_neg,), 0, V, dtype=jnp.int32)
        neg_j = jax.random.randint(kj, (batch_neg,), 0, V, dtype=jnp.int32)
        neg_w = sampler.neg_scale[neg_i] * sampler.neg_scale[neg_j]
    else:
        neg_i = _alias_draw(ki, sampler.neg_i, batch_neg, fdt)
        neg_j = _alias_draw(kj, sampler.neg_j, batch_neg, fdt)
        neg_w = jnp.ones((batch_neg,), fdt)
    return pos_i, pos_j, pos_w, neg_i, neg_j, neg_w

