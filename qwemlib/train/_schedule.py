"""The learning-rate schedule (Appendix A.2), the theory's clock and the record steps.

Learning rate to time (no fitted factors). The Lemma (eq. 10-12) uses the gradient flow
``dW/dt = -(1/2g) grad L = (1/2)(M* - W W^T) W`` (``g = 1`` under Setting 1). One SGD step
``W <- W - eta_k grad(batch loss)`` moves ``W`` on average by ``-eta_k grad L``, which is the
flow's displacement over ``dt = 2 g eta_k``. Hence step ``s`` sits at
``t_s = 2 g sum_{k<s} eta_k`` (:func:`time_of_step`, which follows the schedule). For SGNS,
``log(1 + e^{-x}) = log 2 - x/2 + x^2/8 + O(x^4)`` is half of QWEM's per-pair loss to second
order, so at small ``W`` its expected gradient is half of the QWEM gradient with its own
``G``; :func:`time_of_step` then returns ``t_s = sum_{k<s} eta_k`` (``2 g eta / 2`` with
``g = 1``), a nominal clock: SGNS's ``G_ij`` is not constant, so no single ``g`` exists.

:func:`learning_rate` is the one definition of ``eta_k``: the jitted device loop calls it on
jax arrays, :func:`lr_at_step` on numpy arrays, and :func:`time_of_step` sums it in closed form.

Used in: book/05_training.md, book/06_qwem_vs_word2vec.md, tools/make_results.py.
"""

from __future__ import annotations

import numpy as np

from ._config import TrainConfig

STEP_DECAY_AT = 0.75
"""The step schedule (A.2) lowers the rate from update ``floor(STEP_DECAY_AT * steps)`` on ..."""

STEP_DECAY_FACTOR = 0.1
"""... to ``STEP_DECAY_FACTOR * lr``."""


def step_decay_start(total, xp=np):
    """``floor(0.75 total)``: the first update of the step schedule at the lowered rate (A.2).

    ``total`` is a Python or numpy integer (``xp=np``) or a traced jax integer (``xp=jnp``);
    returns a float of the array module's type.
    """
    return xp.floor(STEP_DECAY_AT * total)


def learning_rate(schedule: str, step, lr, total, xp=np):
    """``eta_k``, the learning rate of update ``k = step`` (0-based) of ``total`` (A.2).

    * ``"constant"``: ``lr``;
    * ``"step"``: ``lr`` for ``k < floor(0.75 total)``, then ``0.1 lr`` (the paper's);
    * ``"cosine"``: ``lr (1 + cos(pi k / total)) / 2``.

    Written once for numpy and jax.numpy: only operations both modules share.

    Args:
        schedule: :attr:`TrainConfig.schedule`.
        step: update index or array of them (integer, or float for :func:`lr_at_step`).
        lr: the base rate, an array (or numpy scalar) whose dtype the result takes.
        total: the number of updates (:attr:`TrainConfig.steps`).
        xp: ``numpy`` (default) or ``jax.numpy`` (the device loop, with traced arguments).

    Returns:
        ``eta_k``, the shape of ``step``, the dtype of ``lr``.
    """
    step = xp.asarray(step)
    lr = xp.asarray(lr)
    if schedule == "constant":
        return xp.zeros_like(step, dtype=lr.dtype) + lr
    if schedule == "step":
        return xp.where(step < step_decay_start(total, xp).astype(step.dtype), lr, STEP_DECAY_FACTOR * lr)
    s = step.astype(lr.dtype)
    return lr * 0.5 * (1.0 + xp.cos(xp.pi * s / xp.maximum(total, 1).astype(lr.dtype)))


def lr_at_step(cfg: TrainConfig, step) -> np.ndarray:
    """Learning rate used by update number ``step`` (0-based), vectorised, float64 (A.2).

    :func:`learning_rate` with the run's ``schedule``, ``lr`` and ``steps``.
    """
    return learning_rate(cfg.schedule, np.asarray(step, dtype=np.float64), np.float64(cfg.lr), cfg.steps)


def _g_factor(cfg: TrainConfig) -> float:
    # QWEM under Setting 1: dt = 2 g eta with g = 1. SGNS: half the gradient -> dt = eta.
    return 2.0 if cfg.loss == "qwem" else 1.0


def time_of_step(cfg: TrainConfig, step) -> np.ndarray:
    """Position of step ``step`` on the theory's time axis: ``t = 2 g sum_{k<step} eta_k``.

    The theory (Lemma, eq. 10-12) runs ``dW/dt = -(1/2g) grad L`` with ``g = 1``; one SGD
    step of size ``eta`` on the mean batch loss (whose expectation is ``L``) advances it by
    ``dt = 2 g eta``. For SGNS the factor is 1 instead of 2 (see the module docstring).
    The sum of :func:`learning_rate` is taken in closed form.

    Args:
        cfg: the run's configuration (``lr``, ``schedule``, ``steps``, ``loss``).
        step: a step or an array of steps in ``[0, cfg.steps]``.

    Returns:
        float64 array of times, same shape as ``step``.

    Used in: book/05_training.md, book/07_linear_structure.md, the training loop, and
    tools/make_results.py (through ``qwemlib.experiments._training`` and ``._linear_sgd``).
    """
    s = np.asarray(step, dtype=np.int64)
    if np.any(s < 0):
        raise ValueError(f"time_of_step: steps must be >= 0, got min {s.min()}")
    k = _g_factor(cfg)
    if cfg.schedule == "constant":
        return k * cfg.lr * s.astype(np.float64)
    if cfg.schedule == "step":
        b = int(step_decay_start(cfg.steps))
        return k * cfg.lr * (np.minimum(s, b) + STEP_DECAY_FACTOR * np.maximum(s - b, 0)).astype(np.float64)
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
