"""The test oracle: the exact expectation of the sampled QWEM minibatch gradient.

Not part of training. :func:`expected_gradient` enumerates every outcome the device
sampler (:func:`qwemlib.train.build_sampler`, :func:`qwemlib.train.sample_batch`) can
draw, with its probability and weight, so tests/test_train.py can check that
``E[grad batch loss] = (W W^T - M*) W`` (eq. 6 with ``g = 1``) holds exactly, for every
estimator (``TrainConfig.negatives``), not only up to Monte Carlo noise.

Used in: tests/test_train.py.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ..stats import psi_setting1, window_weights
from ._alias import alias_distribution, alias_table
from ._config import TrainConfig
from ._inputs import _check_corpus
from ._losses import qwem_batch_loss, qwem_exact_batch_loss
from ._sampler import build_sampler, positive_pair_scale


def expected_gradient(W, tokens, article_offsets, P_ij, P_i, cfg: TrainConfig) -> np.ndarray:
    """The exact expectation of the sampled QWEM minibatch gradient, by enumeration.

    Enumerates every positive outcome (position ``p``, offset ``o``) with the sampler's
    probability ``(1/N) w_|o| / (2 sum w)`` and weight (``c`` or 0), and every negative
    outcome ``(i, j)`` with its probability and weight, and evaluates the gradient of
    :func:`qwem_batch_loss` on that weighted "batch". Negatives: ``cfg.negatives="unigram"``,
    the probability implied by the alias tables (weight 1); ``"uniform"``, ``1 / V^2`` and
    the weight the device sampler (:func:`build_sampler`, float64) holds. ``"exact"``:
    every entry of the device sampler's cell table with probability ``1 / K`` and its
    weight, through :func:`qwem_exact_batch_loss`. Memory ``O(N L + V^2)``: for small test
    corpora only.
    """
    ids, off = _check_corpus(tokens, article_offsets, len(P_i))
    V = len(P_i)
    if cfg.negatives != "unigram":
        with jax.enable_x64(True):
            s = build_sampler(ids, off, P_i, dataclasses.replace(cfg, dtype="float64"), P_ij=P_ij)
            if cfg.negatives == "exact":
                cells = np.asarray(s.cells).astype(np.int64)
                empty = jnp.zeros((0,), jnp.int32)
                batch = (jnp.asarray(cells // V, jnp.int32), jnp.asarray(cells % V, jnp.int32),
                         jnp.asarray(s.cell_w, jnp.float64), empty, empty, jnp.zeros((0,), jnp.float64))
                return np.asarray(jax.grad(qwem_exact_batch_loss)(jnp.asarray(W, jnp.float64), batch))
            neg_scale = np.asarray(s.neg_scale, np.float64)
    N = ids.size
    L = cfg.window
    w = window_weights(L, cfg.weighting)
    mags = np.arange(1, L + 1)
    offs = np.concatenate([mags, -mags])
    prob_o = np.concatenate([w, w]) / (2 * w.sum())
    p = np.repeat(np.arange(N), offs.size)
    o = np.tile(offs, N)
    q = p + o
    a = np.searchsorted(off, p, side="right") - 1
    valid = (q >= off[a]) & (q < off[a + 1])
    c = positive_pair_scale(off, L, cfg.weighting)
    n_pos = p.size
    pw = valid * c * np.tile(prob_o, N) / N * n_pos  # mean over n_pos -> sum of prob * weight
    ni, nj = np.meshgrid(np.arange(V), np.arange(V), indexing="ij")
    if cfg.negatives == "uniform":
        # the V^2 cells are the "batch": cell (i, j) has probability 1 / V^2 and weight
        # neg_scale_i neg_scale_j, and enters the mean over V^2 items times V^2
        nw = (1.0 / (V * V)) * np.outer(neg_scale, neg_scale).ravel() * V * V
    else:
        accept, alias = alias_table(P_i)
        qdist = alias_distribution(accept, alias)
        nw = np.outer(qdist, qdist).ravel() * V * V
    with jax.enable_x64(True):
        batch = (jnp.asarray(ids[p], jnp.int32), jnp.asarray(ids[np.clip(q, 0, N - 1)], jnp.int32),
                 jnp.asarray(pw, jnp.float64), jnp.asarray(ni.ravel(), jnp.int32),
                 jnp.asarray(nj.ravel(), jnp.int32), jnp.asarray(nw, jnp.float64))
        psi = jnp.asarray(psi_setting1(P_ij, P_i), jnp.float64)
        g = jax.grad(qwem_batch_loss)(jnp.asarray(W, jnp.float64), batch, psi)
        return np.asarray(g)

