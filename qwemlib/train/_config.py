"""The configuration, the result and the errors of :func:`qwemlib.train.train` (Appendix A.2-A.3).

Used in: book/05_training.md, book/06_qwem_vs_word2vec.md, tools/make_results.py,
bench/bench_train.py.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run (paper, Appendix A.2-A.3).

    Attributes:
        loss: ``"qwem"`` (eq. 3 under Setting 1) or ``"sgns"`` (eq. 1 with A.3's tricks).
        dim: d, the embedding dimension.
        steps: number of SGD steps (``>= 1``).
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
        max_loss: a batch loss above this counts as divergence, checked at every step inside
            the fused loop (``None``: automatic, ``1e3 (1 + ||M*||_F^2 / 4)`` for QWEM, ``inf``
            for SGNS); a coarse ceiling: the rules relative to the run's start and to
            ``lambda_1`` of ``M*`` are :mod:`qwemlib.train._divergence`'s (``train(divergence=)``).
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
        backend: ``"jax"`` (default: the fused device loop, ``jax.random`` sampler) or
            ``"cpu-kernel"`` (a compiled numba kernel that walks the token stream like
            word2vec, one SGD update per pair, the centre row reused across its window;
            the same estimators, weights, clock and records, :mod:`qwemlib.train._cpu`).
            ``grad_path`` and ``steps_per_call``'s fusion are the JAX path's; the kernel
            runs ``steps_per_call`` steps per call too.
        cpu_threads: threads of ``backend="cpu-kernel"`` (``0``: numba's default, all
            cores; ``1``: deterministic). The random draws do not depend on it (only the
            Hogwild races do), so it may change when resuming.
        devices: data parallelism of ``backend="jax"`` (:mod:`qwemlib.train._sharding`,
            docs/MULTI_DEVICE.md). ``1`` (default): one device. ``n > 1``: the first ``n`` of
            ``jax.devices()``; ``0``: all of them (every host's after
            ``jax.distributed.initialize()``). Each step's global batch is the one-device
            run's, split evenly across the devices (``batch_pos`` and ``batch_neg`` must be
            multiples of the count), with ``W`` replicated and the gradient all-reduced, so
            the run ends at the one-device ``W`` up to floating-point rounding; it may
            change when resuming.
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
    backend: str = "jax"
    cpu_threads: int = 0
    devices: int = 1

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
        if self.backend not in ("jax", "cpu-kernel"):
            bad("backend", "choose 'jax' (the device loop) or 'cpu-kernel' (the compiled CPU path)")
        if isinstance(self.cpu_threads, bool) or int(self.cpu_threads) != self.cpu_threads \
                or self.cpu_threads < 0:
            bad("cpu_threads", "must be an integer >= 0 (0: all cores, 1: deterministic)")
        if isinstance(self.devices, bool) or int(self.devices) != self.devices or self.devices < 0:
            bad("devices", "must be an integer >= 0 (1: one device, n: n devices, 0: all devices)")
        if self.devices != 1 and self.backend != "jax":
            bad("devices", "only backend='jax' runs on several devices; use devices=1 with 'cpu-kernel'")
        if self.devices > 1 and (self.batch_pos % self.devices or self.batch_neg % self.devices):
            bad("devices", f"batch_pos={self.batch_pos} and batch_neg={self.batch_neg} must both be "
                "multiples of the device count, so that each device gets an equal share of the batch")
        if self.record_spacing not in ("log", "linear"):
            bad("record_spacing", "choose 'log' or 'linear'")
        for name in ("dim", "steps", "steps_per_call", "batch_pos", "batch_neg", "window"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(v) or int(v) != v or v < 1:
                bad(name, "must be a positive integer")
            object.__setattr__(self, name, int(v))
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
                       "record_spacing", "record_steps", "n_snapshots", "record_objective",
                       "cpu_threads", "devices")

    def resolved_grad_path(self, vocab_size: int) -> str:
        """``"dense"`` or ``"scatter"``: the gradient path a run with ``V = vocab_size`` uses."""
        if self.grad_path != "auto":
            return self.grad_path
        return "dense" if vocab_size * vocab_size <= self.dense_max_cells else "scatter"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


class TrainingDiverged(ValueError):
    """The loss or the weights became non-finite or exploded; lower the learning rate.

    Raised by :func:`qwemlib.train.train` (the rules: :mod:`qwemlib.train._divergence`).

    Attributes:
        step: the step at which a rule tripped (``None`` when raised without one).
        rule: ``"non-finite"``, ``"max_loss"``, ``"weights"``, ``"rising"`` or ``"level"``.
        value, bound: the tripped quantity and its threshold.
        lr: the learning rate in the caller's units; suggested_lr: a value to try.
    """

    def __init__(self, message: str = "", *, step: int | None = None, rule: str | None = None,
                 value: float | None = None, bound: float | None = None, lr: float | None = None,
                 suggested_lr: float | None = None):
        super().__init__(message)
        self.step, self.rule, self.value, self.bound = step, rule, value, bound
        self.lr, self.suggested_lr = lr, suggested_lr


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
        pairs_per_second: ``(batch_pos + batch_neg) * steps run / (wall - compile)``
            (``backend="cpu-kernel"``: the pairs the kernel computed per second).
        device: the JAX device the run used.
        grad_path: the gradient path the run used (``"dense"`` or ``"scatter"``; ``"cpu-kernel"``
            for ``backend="cpu-kernel"``).
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

