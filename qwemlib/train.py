"""JAX SGD trainer for QWEM (eq. 3) and word2vec SGNS (eq. 1), with the sampler on the device.

Every step draws ``batch_pos`` positive pairs from the token stream and ``batch_neg``
negative pairs from the unigram distribution (by default; QWEM has two lower-variance
estimators, see below) *on the device* (``jax.random``), takes one SGD step on tied
embeddings ``W`` (shape ``(V, d)``, ``W' = W``), and many steps are fused in one jitted
``lax.while_loop`` so the host only wakes up at record and checkpoint steps.

Positive pairs (docs/CONVENTIONS.md): a centre position ``p`` is drawn uniformly from
the ``N`` tokens, an offset magnitude ``j`` in ``1..L`` with probability
``w_j / sum(w)`` (``w`` from :func:`window_weights`, word2vec's shrinking window) and a
sign uniformly. A pair whose context position ``p +- j`` falls outside the article of
``p`` gets weight 0. Every other pair gets the same weight ``c = 2 N sum(w) / Z``, where
``Z = sum_a sum_j w_j * 2 max(n_a - j, 0)`` is the total window weight of all valid
(position, offset) pairs, computed exactly from the article lengths ``n_a``. Then, for
any function ``f``,
``E[c * valid * f(i, j)] = sum_{p,o valid} w_|o| f(ids[p], ids[p+o]) / Z = sum_ij P_ij f(i, j)``,
so the minibatch average is an unbiased estimate of the expectation over ``P_ij``.

Negative pairs: ``i`` and ``j`` are drawn independently with a Walker/Vose alias table
(one uniform integer and one uniform float per draw) built from ``P_i`` (QWEM) or from
``P_i`` and ``P_j^{3/4}`` (SGNS). The alias table is exact up to the floating-point
precision of its acceptance probabilities (``dtype``).

QWEM (eq. 3) uses Setting 1's weights ``Psi+_ij = Psi-_ij = 1 / (P_ij + P_i P_j)``,
gathered per sampled pair from a dense ``(V, V)`` device array, so ``G_ij = 1`` (``g = 1``)
and, with the batch loss defined as the *mean* over the positive plus the *mean* over the
negative pairs,
``E[batch loss] = L(W) = (1/4) ||W W^T - M*||_F^2 + const`` (eq. 6) and
``E[grad batch loss] = grad L(W) = (W W^T - M*) W`` exactly.

Lower-variance estimators of the same QWEM loss (opt-in, ``TrainConfig.negatives``). The
paper's negatives (``"unigram"``, the default, unchanged) make an unbiased but noisy
gradient: a pair of rare words that never co-occur has ``Psi_ij = 1 / (P_i P_j)`` (up to
1.4e8 at the ci preset, V = 2,000), is drawn with probability ``P_i P_j`` and then moves two
embeddings 1e8 times further than a typical pair; 95 % of the gradient variance comes from
the negative half. Measured at ci (d = 50) at ``W = W*/2`` (half the closed-form minimizer,
as in book/05_training.md), relative error ``|g_batch - grad L| / |grad L|`` of one batch of
50k + 50k pairs, and of the average of 64 batches:

* ``"unigram"``: 10.07, 1.25 (64 batches);
* ``"uniform"``: negatives drawn uniformly from the ``V x V`` cells with weight
  ``V^2 P_i P_j`` (so the per-pair factor ``V^2 P_i P_j Psi_ij = V^2 P_i P_j / (P_ij + P_i P_j)``
  lies in ``(0, V^2]``: bounded, and ~``V^2`` for never-co-occurring pairs); positives from the
  token stream as before; still pure pair-sampling SGD of eq. 3: 3.72, 0.46 (the variance
  7.3x smaller). Drawing negatives from ``q_ij ~ P_i P_j Psi_ij`` (a ``V^2`` alias table,
  constant weight) was evaluated and gives only 3.51 (analytic), not worth the table;
* ``"exact"``: Setting 1's ``P_i P_j Psi_ij = 1 - P_ij Psi_ij`` rewrites eq. 3 exactly as
  ``(1/4)||W^T W||_F^2 + ||W^T 1||^2 - 2 sum_ij P_ij Psi_ij x_ij``; the first two terms are
  computed exactly (``O(V d^2)``) and only the linear term is sampled, from cells drawn
  uniformly among the ``K`` co-occurring ones (``P_ij > 0``) with weight ``K P_ij Psi_ij``
  in ``(0, K)`` (:func:`qwem_exact_batch_loss`): 1.24, 0.155 (the variance 66x smaller).
  This is **no longer pure pair-sampling SGD**: no negative pairs are drawn and the
  positives come from a ``(K,)`` cell table (``K = 1.65e6`` at ci), not the token stream.
  Sampling that term from the token stream instead gives 3.25 (analytic): the positives'
  own weights ``Psi_ij ~ 1 / P_ij`` for rare co-occurring pairs are then the noise.

All three have the same expected batch loss and gradient (exactly, checked by enumeration
in tests/test_train.py), so the time axis below is the same; they differ in the noise around
the flow, which sets how far SGD at a given ``lr / B`` gets. At ci with the x0.1 step
schedule, lr = 2.5e-4, 800 steps of 250k + 250k pairs (t = 0.31), the final top-50 subspace
overlap with ``M*``'s eigenvectors is 0.459 (unigram), 0.861 (uniform) and 0.887 (exact),
against 0.888 for the noise-free flow at that ``t`` (full-batch steps of ``lr = 1e-4``). Top-50
overlap >= 0.95 needs ``t ~ 0.7`` of the flow (0.953 at 0.7, 0.980 at 1.2) *and* little noise:
cosine schedule, t = 1.2, ``"uniform"`` 0.960 with 2,400 steps of 250k + 250k pairs (lr 5e-4,
140-170 s on a shared 2-core CPU), ``"exact"`` 0.966 with 2,000 steps of 125k + 125k (lr 6e-4,
55-105 s); tests/test_train.py runs both. With ``"unigram"``, uniform's configuration diverges
and half its lr (t = 0.6, the same 1.2e9 pairs) ends at 0.817. For every estimator ``lr`` is
capped by ``M*``'s most negative eigenvalue (-2315 at ci, from the ``-2`` of never-co-occurring
cells): one step multiplies W's component along that eigenvector by ``1 + lr lambda``, stable
for ``lr < 2 / 2315 = 8.6e-4`` (measured: lr 1e-3 diverges, 6e-4 does not).

SGNS (eq. 1) with word2vec's tricks (Appendix A.3): the shrinking window is already in
``P_ij``; subsampling (eq. 15) enters as the weights ``Psi+_ij = Psi-_ij = Pacc(i) Pacc(j)``
(eq. 16); the ``P^{3/4}`` negative distribution (eq. 17) is implemented by *sampling*
the negative context word ``j`` from ``P_j^{3/4} / sum P^{3/4}`` (as word2vec does), not by
the reweighting of eq. 17, because importance weights ``P_j^{-1/4}`` would add gradient
variance for nothing. The negative centre word ``i`` is drawn from ``P_i``.

Learning rate to time (no fitted factors). The Lemma (eq. 10-12) uses the gradient flow
``dW/dt = -(1/2g) grad L = (1/2)(M* - W W^T) W`` (``g = 1`` under Setting 1). One SGD step
``W <- W - eta_k grad(batch loss)`` moves ``W`` on average by ``-eta_k grad L``, which is the
flow's displacement over ``dt = 2 g eta_k``. Hence step ``s`` sits at
``t_s = 2 g sum_{k<s} eta_k`` (:func:`time_of_step`, which follows the schedule). For SGNS,
``log(1 + e^{-x}) = log 2 - x/2 + x^2/8 + O(x^4)`` is half of QWEM's per-pair loss to second
order, so at small ``W`` its expected gradient is half of the QWEM gradient with its own
``G``; :func:`time_of_step` then returns ``t_s = sum_{k<s} eta_k`` (``2 g eta / 2`` with
``g = 1``), a nominal clock: SGNS's ``G_ij`` is not constant, so no single ``g`` exists.

Used in: book/05_training.md (training on Wikipedia against the theory),
book/06_qwem_vs_word2vec.md, bench/bench_train.py.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "TrainConfig",
    "TrainResult",
    "TrainingDiverged",
    "CheckpointError",
    "Sampler",
    "train",
    "time_of_step",
    "lr_at_step",
    "record_schedule",
    "window_weights",
    "positive_pair_scale",
    "alias_table",
    "alias_distribution",
    "uniform_negative_scale",
    "cooccurrence_cells",
    "build_sampler",
    "sample_batch",
    "qwem_weights",
    "qwem_target",
    "qwem_batch_loss",
    "qwem_exact_batch_loss",
    "sgns_batch_loss",
    "batch_value_and_grad",
    "full_batch_gradient",
    "full_batch_loss",
    "expected_gradient",
    "load_checkpoint",
]


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run (paper, Appendix A.2-A.3).

    Attributes:
        loss: ``"qwem"`` (eq. 3 under Setting 1) or ``"sgns"`` (eq. 1 with A.3's tricks).
        dim: d, the embedding dimension.
        steps: number of SGD steps.
        lr: base learning rate ``eta`` (batch losses are means, see the module docstring).
        batch_pos: positive pairs per step (paper: 50,000).
        batch_neg: negative pairs per step (paper: 50,000).
        schedule: ``"step"`` (``lr`` times 0.1 from step ``floor(0.75 steps)`` on, A.2),
            ``"constant"`` or ``"cosine"`` (``lr (1 + cos(pi s / steps)) / 2``).
        init: ``"gaussian"`` (``W_ij ~ N(0, init_scale^2)``, the Result's setting) or
            ``"word2vec"`` (``U(-0.5/d, 0.5/d)``).
        init_scale: sigma for ``"gaussian"``.
        dtype: ``"float32"`` or ``"float64"`` (64-bit JAX is switched on for the run only;
            needed for tiny ``init_scale``: float32 cannot hold ``sigma^2 < 1.2e-38``).
        seed: PRNG seed; step ``s`` uses ``fold_in(step_key, s)``, so resuming is exact.
        window: context half-width L (must match the statistics).
        weighting: ``"word2vec"`` (shrinking window) or ``"uniform"`` (CONVENTIONS.md).
        steps_per_call: at most this many steps fused in one jitted device loop.
        n_records: number of record steps (``0`` and ``steps`` always included).
        record_spacing: ``"log"`` or ``"linear"`` spacing of the record steps.
        record_steps: explicit record steps (overrides ``n_records``/``record_spacing``).
        n_snapshots: how many ``W`` snapshots to keep, spread over the record steps.
        record_objective: compute the exact QWEM objective ``(1/4)||W W^T - M*||^2`` at
            each record (a ``V x V`` product on the device).
        checkpoint_path: ``.npz`` file to write checkpoints to (``None``: none).
        checkpoint_every: steps between checkpoints (``0``: only at the end).
        subsample: word2vec's subsampling threshold (eq. 15; ``None`` switches it off).
        neg_power: exponent of the SGNS negative distribution (eq. 17: 0.75).
        max_loss: a batch loss above this counts as divergence (``None``: automatic,
            ``1e3 (1 + ||M*||_F^2 / 4)`` for QWEM, ``inf`` for SGNS).
        grad_path: how the minibatch gradient is formed (:func:`batch_value_and_grad`):
            ``"scatter"`` (autodiff of the batch loss: gather two rows of ``W`` per pair,
            scatter-add two ``d``-vectors per pair), ``"dense"`` (scatter-add one *scalar*
            per pair into a ``(V, V)`` matrix of pair weights, then ``(C + C^T) W`` with one
            matmul; the same gradient up to floating-point rounding) or ``"auto"``
            (``"dense"`` when ``V * V <= dense_max_cells``, else ``"scatter"``).
        dense_max_cells: the ``V * V`` threshold of ``grad_path="auto"``. Default ``2**24``
            (V <= 4096). Measured at ci (V = 2,000, d = 50, float32) on a shared 2-core CPU,
            ms per step at B = 50k / 250k / 500k positive (+ as many negative) pairs:
            dense 30 / 148 / 287, scatter 31 / 145 / 706 (the row scatter degrades once its
            ``(B, d)`` updates leave the cache; the dense step's per-pair work is the sampler's,
            ~60 % of it). The dense step's ``O(V^2 d)`` matmuls and ``O(V^2)`` memory grow
            quadratically in V, hence the threshold; on a GPU both paths are cheap.
        negatives: the estimator of eq. 3's negative half (QWEM; see the module docstring
            for the variances). ``"unigram"`` (default, the paper's): ``i, j ~ P_i P_j``,
            weight 1. ``"uniform"``: ``i, j`` uniform on ``0..V-1``, weight ``V^2 P_i P_j``, so
            the per-pair factor with ``Psi`` is bounded by ``V^2``; positives from the token
            stream as before; 7.3x less gradient variance at ci. ``"exact"``: the quartic
            and negative terms computed exactly via ``P_i P_j Psi_ij = 1 - P_ij Psi_ij``
            (Setting 1, ``G = 1``), only ``-2 sum_ij P_ij Psi_ij x_ij`` sampled, from
            ``batch_pos + batch_neg`` cells drawn uniformly among those with ``P_ij > 0``
            (:func:`cooccurrence_cells`); not pure pair sampling, token stream unused; 66x
            less variance at ci. All three have the same expected loss and gradient, hence
            the same time axis. Memory of ``"exact"``: two ``(K,)`` arrays, ``K`` = number of
            co-occurring cells (``K <= V^2``; ``V^2 < 2^31`` required).
    """

    loss: str = "qwem"
    dim: int = 50
    steps: int = 1000
    lr: float = 1e-3
    batch_pos: int = 50_000
    batch_neg: int = 50_000
    schedule: str = "step"
    init: str = "gaussian"
    init_scale: float = 1e-3
    dtype: str = "float32"
    seed: int = 0
    window: int = 16
    weighting: str = "word2vec"
    steps_per_call: int = 100
    n_records: int = 50
    record_spacing: str = "log"
    record_steps: tuple[int, ...] | None = None
    n_snapshots: int = 0
    record_objective: bool = True
    checkpoint_path: str | None = None
    checkpoint_every: int = 0
    subsample: float | None = 1e-5
    neg_power: float = 0.75
    max_loss: float | None = None
    grad_path: str = "auto"
    dense_max_cells: int = 2**24
    negatives: str = "unigram"

    def __post_init__(self):
        def bad(name, what):
            raise ValueError(f"TrainConfig.{name}={getattr(self, name)!r}: {what}")

        if self.loss not in ("qwem", "sgns"):
            bad("loss", "choose 'qwem' or 'sgns'")
        if self.schedule not in ("step", "constant", "cosine"):
            bad("schedule", "choose 'step', 'constant' or 'cosine'")
        if self.init not in ("gaussian", "word2vec"):
            bad("init", "choose 'gaussian' or 'word2vec'")
        if self.dtype not in ("float32", "float64"):
            bad("dtype", "choose 'float32' or 'float64'")
        if self.weighting not in ("word2vec", "uniform"):
            bad("weighting", "choose 'word2vec' or 'uniform'")
        if self.grad_path not in ("auto", "dense", "scatter"):
            bad("grad_path", "choose 'auto', 'dense' or 'scatter'")
        if self.negatives not in ("unigram", "uniform", "exact"):
            bad("negatives", "choose 'unigram' (the paper's sampler), 'uniform' or 'exact'")
        if self.negatives != "unigram" and self.loss != "qwem":
            bad("negatives", f"{self.negatives!r} is implemented for loss='qwem' (Setting 1) only; "
                "use 'unigram' for SGNS")
        if self.record_spacing not in ("log", "linear"):
            bad("record_spacing", "choose 'log' or 'linear'")
        for name in ("dim", "steps_per_call", "batch_pos", "batch_neg", "window"):
            if int(getattr(self, name)) < 1:
                bad(name, "must be a positive integer")
        if self.steps < 0:
            bad("steps", "must be >= 0")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            bad("lr", "must be a positive finite number")
        if self.init == "gaussian" and not self.init_scale > 0:
            bad("init_scale", "must be > 0")
        if self.n_records < 2 and self.record_steps is None:
            bad("n_records", "must be >= 2 (the first and last step are always recorded)")
        if self.subsample is not None and not self.subsample > 0:
            bad("subsample", "must be > 0 or None")
        if self.checkpoint_every < 0:
            bad("checkpoint_every", "must be >= 0")
        if self.record_steps is not None:
            object.__setattr__(self, "record_steps", tuple(int(s) for s in self.record_steps))
            if any(s < 0 or s > self.steps for s in self.record_steps):
                bad("record_steps", f"every record step must lie in [0, steps={self.steps}]")

    # fields that do not change the trajectory (may differ when resuming)
    _NON_TRAJECTORY = ("steps_per_call", "checkpoint_path", "checkpoint_every", "n_records",
                       "record_spacing", "record_steps", "n_snapshots", "record_objective")

    def resolved_grad_path(self, vocab_size: int) -> str:
        """``"dense"`` or ``"scatter"``: the gradient path a run with ``V = vocab_size`` uses."""
        if self.grad_path != "auto":
            return self.grad_path
        return "dense" if vocab_size * vocab_size <= self.dense_max_cells else "scatter"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


class TrainingDiverged(ValueError):
    """The loss or the weights became non-finite or exploded; lower the learning rate."""


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, corrupt, or belongs to a different run."""


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        steps: ``(R,)`` record steps (step ``s`` = the state after ``s`` updates).
        times: ``(R,)`` the same steps on the theory's time axis (:func:`time_of_step`).
        loss: ``(R,)`` mean minibatch loss over the steps since the previous record
            (``nan`` at step 0).
        objective: ``(R,)`` exact QWEM objective ``(1/4)||W W^T - M*||_F^2`` (``nan`` for
            SGNS or when ``record_objective=False``).
        singular_values: ``(R, d)`` singular values of ``W`` (decreasing).
        evaluations: ``(R,)`` values of ``evaluate_fn(W)`` (``None`` without one).
        snapshot_steps: ``(S,)`` steps of the kept snapshots.
        snapshots: ``(S, V, d)`` ``W`` at ``snapshot_steps``.
        W: ``(V, d)`` final embeddings (numpy).
        config: the :class:`TrainConfig`.
        wall_time: seconds spent in this call (compilation included).
        compile_time: seconds spent compiling.
        pairs_per_second: ``(batch_pos + batch_neg) * steps run / (wall - compile)``.
        device: the JAX device the run used.
        grad_path: the gradient path the run used (``"dense"`` or ``"scatter"``).
    """

    steps: np.ndarray
    times: np.ndarray
    loss: np.ndarray
    objective: np.ndarray
    singular_values: np.ndarray
    evaluations: np.ndarray | None
    snapshot_steps: np.ndarray
    snapshots: np.ndarray
    W: np.ndarray
    config: TrainConfig
    wall_time: float
    compile_time: float
    pairs_per_second: float
    device: str
    grad_path: str = "scatter"


# ------------------------------------------------------------------ schedules, time


def lr_at_step(cfg: TrainConfig, step) -> np.ndarray:
    """Learning rate used by update number ``step`` (0-based), vectorised (A.2)."""
    s = np.asarray(step, dtype=np.float64)
    if cfg.schedule == "constant":
        return np.full_like(s, cfg.lr)
    if cfg.schedule == "step":
        return np.where(s < math.floor(0.75 * cfg.steps), cfg.lr, 0.1 * cfg.lr)
    return cfg.lr * 0.5 * (1.0 + np.cos(np.pi * s / max(cfg.steps, 1)))


def _g_factor(cfg: TrainConfig) -> float:
    # QWEM under Setting 1: dt = 2 g eta with g = 1. SGNS: half the gradient -> dt = eta.
    return 2.0 if cfg.loss == "qwem" else 1.0


def time_of_step(cfg: TrainConfig, step) -> np.ndarray:
    """Position of step ``step`` on the theory's time axis: ``t = 2 g sum_{k<step} eta_k``.

    The theory (Lemma, eq. 10-12) runs ``dW/dt = -(1/2g) grad L`` with ``g = 1``; one SGD
    step of size ``eta`` on the mean batch loss (whose expectation is ``L``) advances it by
    ``dt = 2 g eta``. For SGNS the factor is 1 instead of 2 (see the module docstring).

    Args:
        cfg: the run's configuration (``lr``, ``schedule``, ``steps``, ``loss``).
        step: a step or an array of steps in ``[0, cfg.steps]``.

    Returns:
        float64 array of times, same shape as ``step``.
    """
    s = np.asarray(step, dtype=np.int64)
    if np.any(s < 0):
        raise ValueError(f"time_of_step: steps must be >= 0, got min {s.min()}")
    k = _g_factor(cfg)
    if cfg.schedule == "constant":
        return k * cfg.lr * s.astype(np.float64)
    if cfg.schedule == "step":
        b = math.floor(0.75 * cfg.steps)
        return k * cfg.lr * (np.minimum(s, b) + 0.1 * np.maximum(s - b, 0)).astype(np.float64)
    # cosine: sum_{k<s} lr (1 + cos(pi k / T)) / 2, summed in closed form
    T = max(cfg.steps, 1)
    sf = s.astype(np.float64)
    a = np.pi / T
    # sum_{k=0}^{s-1} cos(a k) = sin(a s / 2) cos(a (s-1) / 2) / sin(a / 2)
    cos_sum = np.where(sf > 0, np.sin(a * sf / 2) * np.cos(a * (sf - 1) / 2) / np.sin(a / 2), 0.0)
    return k * cfg.lr * 0.5 * (sf + cos_sum)


def record_schedule(cfg: TrainConfig) -> np.ndarray:
    """The record steps: 0, ``steps`` and log- or linearly spaced steps between."""
    if cfg.record_steps is not None:
        r = set(cfg.record_steps) | {0, cfg.steps}
    elif cfg.record_spacing == "linear":
        r = set(np.round(np.linspace(0, cfg.steps, cfg.n_records)).astype(int).tolist())
    else:
        r = {0, cfg.steps}
        if cfg.steps >= 1:
            r |= set(np.round(np.geomspace(1, cfg.steps, cfg.n_records - 1)).astype(int).tolist())
    return np.array(sorted(r), dtype=np.int64)


# ------------------------------------------------------------------ distributions


def window_weights(window: int, weighting: str = "word2vec") -> np.ndarray:
    """``(L,)`` weights ``w_j`` for offsets ``j = 1..L`` (docs/CONVENTIONS.md)."""
    L = int(window)
    j = np.arange(1, L + 1, dtype=np.float64)
    if weighting == "word2vec":
        return (L + 1 - j) / ((L + 1) / 2)
    if weighting == "uniform":
        return np.ones(L)
    raise ValueError(f"weighting={weighting!r}: choose 'word2vec' or 'uniform'")


def _check_corpus(tokens, article_offsets, vocab_size=None):
    ids = np.asarray(tokens)
    off = np.asarray(article_offsets, dtype=np.int64)
    if ids.ndim != 1 or ids.size == 0:
        raise ValueError(f"tokens: need a non-empty 1-d array of token ids, got shape {ids.shape}")
    if not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"tokens: need integer ids, got dtype {ids.dtype}")
    if off.ndim != 1 or off.size < 2 or off[0] != 0 or off[-1] != ids.size or np.any(np.diff(off) < 0):
        raise ValueError(
            "article_offsets: need a non-decreasing (A+1,) array with offsets[0] = 0 and "
            f"offsets[-1] = len(tokens) = {ids.size}; got {off[:3]}...{off[-3:]}"
        )
    if ids.size >= 2**31 - 64:
        raise ValueError(f"tokens: {ids.size} tokens exceed the int32 positions of the sampler; "
                         "split the corpus into shards")
    if vocab_size is not None and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"tokens: ids must lie in [0, V={vocab_size}), got [{ids.min()}, {ids.max()}]")
    return ids, off


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


def _distributions(stats_or_P):
    """(P_ij, P_i, window or None, weighting or None) from a Cooccurrence or a tuple."""
    if hasattr(stats_or_P, "counts") and hasattr(stats_or_P, "unigram"):
        C = np.asarray(stats_or_P.counts, dtype=np.float64)
        u = np.asarray(stats_or_P.unigram, dtype=np.float64)
        if C.sum() <= 0 or u.sum() <= 0:
            raise ValueError("stats_or_P: the co-occurrence counts or the unigram counts are all zero")
        return (C / C.sum(), u / u.sum(), getattr(stats_or_P, "window", None),
                getattr(stats_or_P, "weighting", None))
    if isinstance(stats_or_P, (tuple, list)) and len(stats_or_P) == 2:
        Pij = np.asarray(stats_or_P[0], dtype=np.float64)
        Pi = np.asarray(stats_or_P[1], dtype=np.float64)
        V = Pi.shape[0]
        if Pij.shape != (V, V):
            raise ValueError(f"stats_or_P: P_ij has shape {Pij.shape}, expected ({V}, {V}) to match P_i")
        if not (np.isclose(Pij.sum(), 1, rtol=1e-6) and np.isclose(Pi.sum(), 1, rtol=1e-6)):
            raise ValueError("stats_or_P: P_ij and P_i must each sum to 1")
        return Pij, Pi, None, None
    raise ValueError("stats_or_P: pass a stats.Cooccurrence or a tuple (P_ij, P_i)")


def qwem_weights(P_ij: np.ndarray, P_i: np.ndarray) -> np.ndarray:
    """Setting 1's ``Psi+ = Psi- = 1 / (P_ij + P_i P_j)`` (0 where the denominator is 0)."""
    G = P_ij + np.outer(P_i, P_i)
    with np.errstate(divide="ignore"):
        return np.where(G > 0, 1.0 / np.where(G > 0, G, 1.0), 0.0)


def qwem_target(P_ij: np.ndarray, P_i: np.ndarray) -> np.ndarray:
    """``M*`` of eq. 5 under Setting 1: ``(P_ij - P_i P_j) / ((P_ij + P_i P_j) / 2)``."""
    PP = np.outer(P_i, P_i)
    G = P_ij + PP
    return np.where(G > 0, (P_ij - PP) / (0.5 * np.where(G > 0, G, 1.0)), 0.0)


def alias_table(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias table for the distribution ``p``: ``(accept (V,), alias (V,) int32)``.

    Draw ``k ~ U{0..V-1}``, ``u ~ U[0,1)``; return ``k`` if ``u < accept[k]`` else ``alias[k]``.
    """
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or np.any(p < 0) or not p.sum() > 0:
        raise ValueError("alias_table: need a 1-d non-negative array with a positive sum")
    V = p.size
    q = p * (V / p.sum())
    accept = np.ones(V)
    alias = np.arange(V, dtype=np.int32)
    small = [k for k in range(V) if q[k] < 1.0]
    large = [k for k in range(V) if q[k] >= 1.0]
    while small and large:
        s = small.pop()
        l = large.pop()
        accept[s] = q[s]
        alias[s] = l
        q[l] = (q[l] + q[s]) - 1.0
        (small if q[l] < 1.0 else large).append(l)
    for k in small + large:  # leftovers are 1 up to rounding
        accept[k] = 1.0
    return accept, alias


def alias_distribution(accept: np.ndarray, alias: np.ndarray) -> np.ndarray:
    """The distribution an alias table samples (for tests)."""
    accept = np.asarray(accept, dtype=np.float64)
    V = accept.size
    out = accept.copy()
    np.add.at(out, np.asarray(alias), 1.0 - accept)
    return out / V


# ------------------------------------------------------------------ sampler


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
    return jnp.float64 if cfg.dtype == "float64" else jnp.float32


def uniform_negative_scale(P_i) -> np.ndarray:
    """``(V,)`` ``V * P_i``: a ``negatives="uniform"`` pair ``(i, j)`` gets weight ``V^2 P_i P_j``.

    ``i`` and ``j`` are drawn uniformly from ``0..V-1``, so ``E[V^2 P_i P_j f(i, j)] =
    sum_ij P_i P_j f(i, j)``: the negative half of eq. 3 (see :class:`TrainConfig`).
    """
    P_i = np.asarray(P_i, dtype=np.float64)
    return P_i.size * P_i


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
        if P_ij is None:
            raise ValueError("build_sampler: negatives='exact' needs P_ij (pass P_ij=...)")
        if np.any(P_i <= 0):
            raise ValueError("P_i: negatives='exact' needs every word to occur (P_i > 0), so that "
                             "G_ij = 1 in every cell (Setting 1); drop the unseen words or use "
                             "negatives='uniform'")
        cells = cooccurrence_cells(P_ij, P_i)

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


def _alias_draw(key, table, n, fdt):
    accept, alias = table
    k1, k2 = jax.random.split(key)
    V = accept.shape[0]
    k = jax.random.randint(k1, (n,), 0, V, dtype=jnp.int32)
    u = jax.random.uniform(k2, (n,), dtype=fdt)
    return jnp.where(u < accept[k], k, alias[k])


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


# ------------------------------------------------------------------ losses


def qwem_batch_loss(W, batch, psi):
    """Minibatch QWEM loss (eq. 3): ``mean(w+ Psi (x^2/4 - x)) + mean(w- Psi (x^2/4 + x))``.

    ``psi`` is the dense ``(V, V)`` Setting-1 weight matrix (:func:`qwem_weights`).
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
        weights: QWEM: the ``(V, V)`` ``Psi`` (:func:`qwem_weights`); SGNS: the ``(V,)``
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

    Used in: the device loop of :func:`train`; bench/bench_train.py.
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
    """``(W W^T - M) W``: the gradient of ``(1/4)||W W^T - M||_F^2`` (eq. 6 with g = 1)."""
    return (W @ W.T - M) @ W


def full_batch_loss(W, M):
    """``(1/4)||W W^T - M||_F^2`` (eq. 6 without the constant, g = 1)."""
    R = W @ W.T - M
    return 0.25 * jnp.sum(R * R) if isinstance(W, jax.Array) else 0.25 * float(np.sum(R * R))


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
        psi = jnp.asarray(qwem_weights(P_ij, P_i), jnp.float64)
        g = jax.grad(qwem_batch_loss)(jnp.asarray(W, jnp.float64), batch, psi)
        return np.asarray(g)


# ------------------------------------------------------------------ the device loop


def _make_runner(cfg: TrainConfig, V: int):
    return _runner(cfg.loss, cfg.schedule, cfg.batch_pos, cfg.batch_neg, cfg.resolved_grad_path(V),
                   cfg.negatives)


@lru_cache(maxsize=32)
def _runner(loss: str, sched: str, Bp: int, Bn: int, path: str = "scatter", negatives: str = "unigram"):
    """The jitted device loop for one (loss, schedule, batch sizes, path, negatives); cached."""
    vg = partial(batch_value_and_grad, loss=loss, path=path, negatives=negatives)

    def lr_fn(step, lr, total):
        s = step.astype(lr.dtype)
        if sched == "constant":
            return lr
        if sched == "step":
            return jnp.where(step < jnp.floor(0.75 * total).astype(step.dtype), lr, 0.1 * lr)
        return lr * 0.5 * (1.0 + jnp.cos(jnp.pi * s / jnp.maximum(total, 1).astype(lr.dtype)))

    def run(W, step_key, step0, n, lr, total, max_loss, sampler, weights):
        def cond(c):
            return (c[1] < n) & c[4]

        def body(c):
            W, k, lsum, last, ok = c
            step = step0 + k
            batch = sample_batch(jax.random.fold_in(step_key, step), sampler, Bp, Bn)
            loss, g = vg(W, batch, weights)
            W = W - lr_fn(step, lr, total) * g
            good = jnp.isfinite(loss) & (loss < max_loss)
            return W, k + 1, lsum + loss, loss, good

        z = jnp.zeros((), W.dtype)
        W, k, lsum, last, ok = jax.lax.while_loop(cond, body, (W, jnp.int32(0), z, z, jnp.bool_(True)))
        return W, k, lsum, last, ok & jnp.all(jnp.isfinite(W))

    return jax.jit(run, donate_argnums=(0,))


@jax.jit
def _svals(W):
    return jnp.linalg.svd(W, compute_uv=False)


@jax.jit
def _objective(W, M):
    R = W @ W.T - M
    return 0.25 * jnp.sum(R * R)


# ------------------------------------------------------------------ checkpoints


def _atomic_savez(path: str, **arrays):
    d = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(d, exist_ok=True)
    tmp = os.path.join(d, f".{os.path.basename(path)}.tmp-{os.getpid()}.npz")
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_checkpoint(path: str) -> dict:
    """Read a checkpoint written by :func:`train`; a corrupt file raises :class:`CheckpointError`."""
    need = ("W", "step", "key", "config", "fingerprint", "rec_steps", "rec_loss", "rec_objective",
            "rec_svals", "rec_eval", "snap_steps", "snapshots")
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in need}
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path!r} does not exist") from None
    except Exception as e:  # zipfile.BadZipFile, KeyError, ValueError, EOFError, ...
        raise CheckpointError(
            f"checkpoint {path!r} is corrupt or not a qwemlib checkpoint ({type(e).__name__}: {e}); "
            "delete it and restart, or resume from an older copy"
        ) from e
    out["step"] = int(out["step"])
    out["config"] = json.loads(str(out["config"]))
    out["fingerprint"] = str(out["fingerprint"])
    return out


def _fingerprint(ids, off, V):
    # cheap but content-dependent: sizes plus a strided sample of the ids
    stride = max(1, ids.size // 4096)
    sample = ids[::stride].astype(np.int64)
    return json.dumps([int(ids.size), int(off.size - 1), int(V),
                       int((sample * np.arange(1, sample.size + 1)).sum() % (2**61 - 1))])


# ------------------------------------------------------------------ train


def _default_device() -> str:
    d = jax.devices()[0]
    return f"{d.platform}:{getattr(d, 'device_kind', '')}".rstrip(":")


def train(tokens, article_offsets, stats_or_P, cfg: TrainConfig, *, resume_from: str | None = None,
          progress: bool = True, evaluate_fn: Callable[[np.ndarray], float] | None = None) -> TrainResult:
    """Train QWEM or SGNS embeddings with minibatch SGD, the sampler on the device.

    Args:
        tokens: ``(N,)`` integer token ids in ``[0, V)`` (``TokenizedCorpus.ids``).
        article_offsets: ``(A+1,)`` int offsets; article ``a`` is ``tokens[off[a]:off[a+1]]``.
        stats_or_P: a ``stats.Cooccurrence`` of the same tokens (window and weighting are
            checked against ``cfg``) or a tuple ``(P_ij, P_i)``.
        cfg: the :class:`TrainConfig`.
        resume_from: a checkpoint written by an earlier run with the same trajectory-relevant
            config and tokens; training continues from its step and reaches exactly the
            same ``W`` as an uninterrupted run.
        progress: show a tqdm bar (off automatically when not on a TTY).
        evaluate_fn: optional ``evaluate_fn(W) -> float`` (e.g. analogy accuracy), called
            at every record step on the host.

    Returns:
        A :class:`TrainResult`.

    Raises:
        TrainingDiverged: the loss became non-finite or exceeded ``max_loss``; the last good
            checkpoint (if any) is left untouched.
        CheckpointError: ``resume_from`` is corrupt or belongs to another run.
        ValueError: inconsistent inputs.

    Example:
        >>> cfg = TrainConfig(loss="qwem", dim=50, steps=2000, lr=2e-3)   # doctest: +SKIP
        >>> res = train(corpus.ids, corpus.article_offsets, co, cfg)      # doctest: +SKIP
    """
    t_start = time.perf_counter()
    P_ij, P_i, win, wt = _distributions(stats_or_P)
    if win is not None and int(win) != cfg.window:
        raise ValueError(f"cfg.window={cfg.window} but the statistics were counted with window={win}; "
                         "use the same window")
    if wt is not None and wt != cfg.weighting:
        raise ValueError(f"cfg.weighting={cfg.weighting!r} but the statistics use {wt!r}; use the same")
    V = P_i.shape[0]
    ids, off = _check_corpus(tokens, article_offsets, V)
    if cfg.dtype == "float32" and cfg.init == "gaussian" and cfg.init_scale**2 < np.finfo(np.float32).tiny:
        raise ValueError(
            f"init_scale={cfg.init_scale:g}: its square underflows float32 (s^2(0) of eq. 11 "
            "would be 0); use TrainConfig(dtype='float64')"
        )
    with jax.enable_x64(cfg.dtype == "float64"):
        return _train(ids, off, P_ij, P_i, cfg, resume_from, progress, evaluate_fn, t_start)


def _train(ids, off, P_ij, P_i, cfg, resume_from, progress, evaluate_fn, t_start):
    from tqdm.auto import tqdm

    fdt = _float_dtype(cfg)
    npdt = np.float64 if cfg.dtype == "float64" else np.float32
    V, d = P_i.shape[0], cfg.dim
    fp = _fingerprint(ids, off, V)
    sampler = build_sampler(ids, off, P_i, cfg, P_ij=P_ij)
    M = None
    if cfg.loss == "qwem":
        # "exact" never reads Psi in the loop (its weights are in the cell table)
        weights = (jnp.zeros((), fdt) if cfg.negatives == "exact"
                   else jnp.asarray(qwem_weights(P_ij, P_i), dtype=fdt))
        Mnp = qwem_target(P_ij, P_i)
        if cfg.record_objective:
            M = jnp.asarray(Mnp, dtype=fdt)
        max_loss = cfg.max_loss if cfg.max_loss is not None else 1e3 * (1.0 + 0.25 * float(np.sum(Mnp**2)))
        del Mnp
    else:
        if cfg.subsample is not None:
            with np.errstate(divide="ignore"):
                r = np.where(P_i > 0, cfg.subsample / np.where(P_i > 0, P_i, 1.0), 1.0)
            acc = np.minimum(1.0, r + np.sqrt(r))  # eq. 15
        else:
            acc = np.ones(V)
        weights = jnp.asarray(acc, dtype=fdt)
        max_loss = cfg.max_loss if cfg.max_loss is not None else np.inf

    base = jax.random.PRNGKey(cfg.seed)
    init_key, step_key = jax.random.split(base)
    rec = record_schedule(cfg)
    snap_idx = (np.unique(np.round(np.linspace(0, len(rec) - 1, cfg.n_snapshots)).astype(int))
                if cfg.n_snapshots > 0 else np.array([], int))
    snap_set = set(rec[snap_idx].tolist())

    rec_steps, rec_loss, rec_obj, rec_sv, rec_eval = [], [], [], [], []
    snap_steps, snaps = [], []
    if resume_from is not None:
        ck = load_checkpoint(resume_from)
        mine = json.loads(cfg.to_json())
        # a field the checkpoint predates had its default value then (e.g. ``negatives``)
        defaults = json.loads(TrainConfig().to_json())
        diff = [k for k in mine if k not in TrainConfig._NON_TRAJECTORY
                and ck["config"].get(k, defaults[k]) != mine[k]]
        if diff:
            raise CheckpointError(f"checkpoint {resume_from!r} was written with a different config "
                                  f"(fields {diff}); resume with the same settings")
        if ck["fingerprint"] != fp:
            raise CheckpointError(f"checkpoint {resume_from!r} was written for different tokens "
                                  "or vocabulary size")
        if ck["W"].shape != (V, d):
            raise CheckpointError(f"checkpoint {resume_from!r} has W of shape {ck['W'].shape}, "
                                  f"expected {(V, d)}")
        step = ck["step"]
        W = jnp.asarray(ck["W"], dtype=fdt)
        rec_steps = ck["rec_steps"].tolist()
        rec_loss = ck["rec_loss"].tolist()
        rec_obj = ck["rec_objective"].tolist()
        rec_sv = list(ck["rec_svals"])
        rec_eval = ck["rec_eval"].tolist()
        snap_steps = ck["snap_steps"].tolist()
        snaps = list(ck["snapshots"])
    else:
        step = 0
        if cfg.init == "gaussian":
            W = cfg.init_scale * jax.random.normal(init_key, (V, d), dtype=fdt)
        else:
            W = jax.random.uniform(init_key, (V, d), dtype=fdt, minval=-0.5 / d, maxval=0.5 / d)

    runner = _make_runner(cfg, V)
    lr = jnp.asarray(cfg.lr, fdt)
    total = jnp.int32(cfg.steps)
    max_loss_d = jnp.asarray(min(max_loss, float(np.finfo(npdt).max)), fdt)
    # warm-up call with zero steps: compiles (or hits jit's cache) and does no work
    t0 = time.perf_counter()
    W = runner(W, step_key, jnp.int32(step), jnp.int32(0), lr, total, max_loss_d, sampler, weights)[0]
    jax.block_until_ready(W)
    compile_time = time.perf_counter() - t0

    def record(s, W, mean_loss):
        rec_steps.append(int(s))
        rec_loss.append(float(mean_loss))
        rec_obj.append(float(_objective(W, M)) if M is not None else float("nan"))
        rec_sv.append(np.asarray(_svals(W)))
        if evaluate_fn is not None:
            rec_eval.append(float(evaluate_fn(np.asarray(W))))
        else:
            rec_eval.append(float("nan"))
        if s in snap_set:
            snap_steps.append(int(s))
            snaps.append(np.asarray(W))

    def save_checkpoint(s, W):
        if cfg.checkpoint_path is None:
            return
        _atomic_savez(
            cfg.checkpoint_path, W=np.asarray(W), step=np.int64(s),
            key=np.asarray(jax.random.key_data(base)), config=np.array(cfg.to_json()),
            fingerprint=np.array(fp), rec_steps=np.array(rec_steps, np.int64),
            rec_loss=np.array(rec_loss, np.float64), rec_objective=np.array(rec_obj, np.float64),
            rec_svals=np.array(rec_sv, np.float64).reshape(len(rec_sv), -1),
            rec_eval=np.array(rec_eval, np.float64), snap_steps=np.array(snap_steps, np.int64),
            snapshots=(np.array(snaps) if snaps else np.zeros((0, V, d), npdt)),
        )

    if step == 0 and not rec_steps:
        record(0, W, float("nan"))
    # chunk boundaries: record steps, checkpoint steps, the end
    bounds = set(rec[rec > step].tolist()) | {cfg.steps}
    if cfg.checkpoint_path is not None and cfg.checkpoint_every > 0:
        bounds |= set(range(cfg.checkpoint_every, cfg.steps, cfg.checkpoint_every))
    bounds = sorted(b for b in bounds if b > step)
    rec_set = set(rec.tolist())

    start_step = step
    t_loop = time.perf_counter()
    bar = tqdm(total=cfg.steps, initial=step, disable=None if progress else True,
               desc=f"{cfg.loss} d={d}", unit="step")
    loss_acc, loss_n = 0.0, 0
    try:
        for b in bounds:
            while step < b:
                n = min(cfg.steps_per_call, b - step)
                W_new, k, lsum, last, ok = runner(W, step_key, jnp.int32(step), jnp.int32(n), lr,
                                                    total, max_loss_d, sampler, weights)
                k = int(k)
                if not bool(ok):
                    bad = step + k
                    kept = (f"; the last good checkpoint {cfg.checkpoint_path!r} is kept"
                            if cfg.checkpoint_path is not None and os.path.exists(cfg.checkpoint_path) else "")
                    raise TrainingDiverged(
                        f"training diverged at step {bad} of {cfg.steps} ({cfg.loss}, batch loss "
                        f"{float(last):.4g}) with learning rate lr={cfg.lr:g}: the loss or the weights "
                        f"became non-finite or exceeded max_loss={max_loss:.3g}. Use a smaller learning "
                        f"rate (e.g. lr={cfg.lr / 10:g}){kept}"
                    )
                W = W_new
                loss_acc += float(lsum)
                loss_n += k
                step += k
                bar.update(k)
            if step in rec_set:
                record(step, W, loss_acc / max(loss_n, 1))
                loss_acc, loss_n = 0.0, 0
            if cfg.checkpoint_path is not None and (
                step == cfg.steps or (cfg.checkpoint_every > 0 and step % cfg.checkpoint_every == 0)
            ):
                save_checkpoint(step, W)
    finally:
        bar.close()
    W_np = np.asarray(W)
    loop_time = time.perf_counter() - t_loop
    wall = time.perf_counter() - t_start
    n_run = step - start_step
    pps = (cfg.batch_pos + cfg.batch_neg) * n_run / loop_time if n_run > 0 and loop_time > 0 else float("nan")
    rs = np.array(rec_steps, np.int64)
    return TrainResult(
        steps=rs,
        times=time_of_step(cfg, rs),
        loss=np.array(rec_loss),
        objective=np.array(rec_obj),
        singular_values=np.array(rec_sv, np.float64).reshape(len(rec_sv), -1),
        evaluations=np.array(rec_eval) if evaluate_fn is not None else None,
        snapshot_steps=np.array(snap_steps, np.int64),
        snapshots=np.array(snaps) if snaps else np.zeros((0, V, d), npdt),
        W=W_np,
        config=cfg,
        wall_time=wall,
        compile_time=compile_time,
        pairs_per_second=pps,
        device=_default_device(),
        grad_path=cfg.resolved_grad_path(V),
    )
