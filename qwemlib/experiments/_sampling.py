"""The sampler's gradient estimate against the full-batch gradient (book/05, "The sampler").

The minibatch gradient of QWEM's batch loss (:func:`qwemlib.train.batch_value_and_grad`)
is an unbiased estimate of the full-batch gradient ``(W W^T - M*) W`` of eq. 6: the
relative error of an average of ``K`` sampled gradients must fall like ``1/sqrt(K)``
(:func:`loglog_slope` near ``-1/2``), and the estimators of ``TrainConfig.negatives``
differ only in its constant.

Used in: book/05_training.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import train as T

__all__ = ["gradient_errors", "estimator_errors", "loglog_slope"]


def gradient_errors(st, W, preset, *, negatives: str = "unigram", batch: int = 50_000,
                    counts: Sequence[int] = (1, 4, 16, 64), seed: int = 123, psi=None) -> dict[int, float]:
    """Relative error ``||mean of K sampled gradients - full gradient|| / ||full gradient||``.

    Args:
        st: corpus statistics (token stream, ``P_ij``, ``P_i``, ``M``).
        W: ``(V, d)`` the point at which the gradients are taken.
        preset: the preset (its ``window``).
        negatives: the estimator (:attr:`~qwemlib.train.TrainConfig.negatives`).
        batch: positive (and as many negative) pairs per sampled gradient.
        counts: the ``K`` at which the running mean is compared.
        seed: the batches come from ``jax.random.split(PRNGKey(seed), max(counts))``.
        psi: Setting 1's weights :func:`qwemlib.train.qwem_weights` (computed if not given).

    Returns:
        ``{K: relative error}``.
    """
    import jax
    import jax.numpy as jnp

    psi = T.qwem_weights(st.P_ij, st.P_i) if psi is None else psi
    cfg = T.TrainConfig(loss="qwem", dim=W.shape[1], window=preset.window, negatives=negatives)
    smp = T.build_sampler(st.corpus.ids, st.corpus.article_offsets, st.P_i, cfg,
                          P_ij=st.P_ij if negatives == "exact" else None)
    g_full = T.full_batch_gradient(W, st.M)               # (W W^T - M*) W
    psi_dev = jnp.asarray(psi, jnp.float32)
    W_dev = jnp.asarray(W, jnp.float32)
    fn = jax.jit(lambda key: T.batch_value_and_grad(
        W_dev, T.sample_batch(key, smp, batch, batch), psi_dev, loss="qwem", path="dense",
        negatives=negatives)[1])
    running = np.zeros_like(g_full)
    errs = {}
    for k, key in enumerate(jax.random.split(jax.random.PRNGKey(seed), max(counts))):
        running += np.asarray(fn(key), np.float64)
        if k + 1 in counts:
            errs[k + 1] = float(np.linalg.norm(running / (k + 1) - g_full) / np.linalg.norm(g_full))
    return errs


def estimator_errors(st, W, preset, *, negatives: Sequence[str] = ("unigram", "uniform", "exact"),
                     counts: Sequence[int] = (1, 4, 16), seed: int = 7, **kw) -> dict[str, dict[str, float]]:
    """:func:`gradient_errors` of each estimator at the same point: estimator -> ``{"K = k": error}``."""
    return {neg: {f"K = {k}": e for k, e in gradient_errors(st, W, preset, negatives=neg, counts=counts,
                                                             seed=seed, **kw).items()}
            for neg in negatives}


def loglog_slope(errs: dict[int, float]) -> float:
    """Least-squares slope of ``log(error)`` against ``log(K)`` (``-1/2`` for an unbiased estimate)."""
    return float(np.polyfit(np.log(list(errs)), np.log(list(errs.values())), 1)[0])
