"""The jitted device loop: many SGD steps fused in one ``lax.while_loop``.

Step ``s`` draws its batch from ``fold_in(step_key, s)`` (:func:`qwemlib.train.sample_batch`),
takes the gradient of the batch loss (:func:`qwemlib.train.batch_value_and_grad`) and moves
``W`` by ``-eta_s`` times it, with ``eta_s`` from the one schedule
(:func:`qwemlib.train.learning_rate`, here on jax arrays). The loop stops early at the first
non-finite or too large batch loss, so the host only wakes up at record and checkpoint
steps and on divergence. With a mesh (``TrainConfig.devices != 1``) the same global batch is
split across the devices and ``W`` replicated (:mod:`._sharding`).

Used in: :func:`qwemlib.train.train`.
"""

from __future__ import annotations

from functools import lru_cache, partial

import jax
import jax.numpy as jnp

from ..losses import factorization_loss
from ._config import TrainConfig
from ._losses import batch_value_and_grad
from ._sampler import sample_batch
from ._schedule import learning_rate
from ._sharding import replicated_jit, shard_batch


def _make_runner(cfg: TrainConfig, V: int, mesh=None):
    return _runner(cfg.loss, cfg.schedule, cfg.batch_pos, cfg.batch_neg, cfg.resolved_grad_path(V),
                   cfg.negatives, mesh)


@lru_cache(maxsize=32)
def _runner(loss: str, sched: str, Bp: int, Bn: int, path: str = "scatter", negatives: str = "unigram",
            mesh=None):
    """The jitted device loop for one (loss, schedule, batch sizes, path, negatives, mesh); cached.

    ``mesh``: ``None`` (one device) or the ``"data"`` mesh of :func:`._sharding.data_mesh`.
    """
    vg = partial(batch_value_and_grad, loss=loss, path=path, negatives=negatives)

    def run(W, step_key, step0, n, lr, total, max_loss, sampler, weights):
        def cond(c):
            return (c[1] < n) & c[4]

        def body(c):
            W, k, lsum, last, ok = c
            step = step0 + k
            batch = sample_batch(jax.random.fold_in(step_key, step), sampler, Bp, Bn)
            if mesh is not None:
                batch = shard_batch(batch, mesh)
            loss, g = vg(W, batch, weights)
            W = W - learning_rate(sched, step, lr, total, xp=jnp) * g
            good = jnp.isfinite(loss) & (loss < max_loss)
            return W, k + 1, lsum + loss, loss, good

        z = jnp.zeros((), W.dtype)
        W, k, lsum, last, ok = jax.lax.while_loop(cond, body, (W, jnp.int32(0), z, z, jnp.bool_(True)))
        return W, k, lsum, last, ok & jnp.all(jnp.isfinite(W))

    return jax.jit(run, donate_argnums=(0,)) if mesh is None else replicated_jit(run, mesh)


@jax.jit
def _svals(W):
    return jnp.linalg.svd(W, compute_uv=False)


@jax.jit
def _top_sval_sq(W):
    """``s_1^2`` of ``W`` from its ``d x d`` Gram (the divergence check between records: an SVD of
    ``(V, d)`` took 4.4 s at V = 10,000, d = 200 on this 2-core CPU, the Gram's ``eigvalsh`` far less)."""
    return jnp.linalg.eigvalsh(W.T @ W)[-1]


@jax.jit
def _objective(W, M):
    """The exact QWEM objective ``(1/4)||W W^T - M*||_F^2`` (eq. 6, g = 1) on the device."""
    return factorization_loss(W, M)


def _default_device() -> str:
    d = jax.devices()[0]
    return f"{d.platform}:{getattr(d, 'device_kind', '')}".rstrip(":")
