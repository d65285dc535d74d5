"""The training loop on the host: :func:`train` (checks, records, checkpoints, divergence).

The host calls the fused device loop (:mod:`._device`) in chunks that end at record and
checkpoint steps, records the mean batch loss, the exact objective and the singular values
there, and checks for divergence after every chunk and record (:mod:`._divergence`: non-finite
values, ``max_loss``, ``s_1^2`` beyond ``lambda_1`` of ``M*``, a rising or exploded loss),
stopping with :class:`TrainingDiverged`. With
``TrainConfig.devices != 1`` the arrays are replicated on a ``"data"`` mesh and the batches
split across it (:mod:`._sharding`); on several hosts only process 0 writes checkpoints
and shows progress.

Used in: book/05_training.md, tools/make_results.py and qwemlib.experiments (the stored
runs), qwemlib.cli (``qwem train``), bench/bench_train.py.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ..stats import psi_setting1, target_matrix
from ._checkpoint import _fingerprint, _Records, check_resumable, load_checkpoint, save_checkpoint
from ._config import TrainConfig, TrainResult
from ._cpu import CpuRunner, build_cpu_sampler
from ._device import _default_device, _make_runner, _objective, _svals, _top_sval_sq
from ._divergence import DivergenceConfig, Guard
from ._inputs import _check_corpus, _distributions
from ._interrupt import SigintDeferral, interrupted
from ._sampler import _float_dtype, build_sampler
from ._schedule import record_schedule, time_of_step
from ._sharding import data_mesh, mesh_description, replicate


def train(tokens, article_offsets, stats_or_P, cfg: TrainConfig, *, resume_from: str | None = None,
          progress: bool = True, evaluate_fn: Callable[[np.ndarray], float] | None = None,
          lr_as_given: float | None = None, lambda_1: float | None = None,
          divergence: DivergenceConfig | None = None) -> TrainResult:
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
        lr_as_given: the learning rate as the caller's user gave it, when ``cfg.lr`` was
            converted from it (qwemlib.experiments: SGNS's ``cfg.lr = 2 lr / mean G``); a
            divergence message names it and a value to try in those units.
        lambda_1: ``M*``'s top eigenvalue when the caller has it (QWEM; else computed).
        divergence: the detector's thresholds (default :class:`DivergenceConfig()`).

    Returns:
        A :class:`TrainResult`.

    Raises:
        TrainingDiverged: a divergence rule tripped (:mod:`qwemlib.train._divergence`); the
            message gives the step, the rule, the learning rate and one to try; the last good
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
    if lr_as_given is not None and not (np.isfinite(lr_as_given) and lr_as_given > 0):
        raise ValueError(f"lr_as_given={lr_as_given!r}: must be a positive finite number (or None)")
    if cfg.checkpoint_path is not None:
        _check_writable(cfg.checkpoint_path)
    if cfg.dtype == "float32" and cfg.init == "gaussian" and cfg.init_scale**2 < np.finfo(np.float32).tiny:
        raise ValueError(
            f"init_scale={cfg.init_scale:g}: its square underflows float32 (s^2(0) of eq. 11 "
            "would be 0); use TrainConfig(dtype='float64')"
        )
    guard = Guard(cfg, divergence or DivergenceConfig(), lr_as_given, lambda_1)
    with jax.enable_x64(cfg.dtype == "float64"):
        return _train(ids, off, P_ij, P_i, cfg, resume_from, progress, evaluate_fn, t_start, guard)


def _check_writable(path: str) -> None:
    """Fail before any compute when the checkpoint cannot be written where ``path`` says."""
    folder = os.path.dirname(os.path.abspath(path))
    what = f"TrainConfig.checkpoint_path={path!r}"
    if os.path.isdir(path):
        raise ValueError(f"{what} is a folder; give a file name such as {os.path.join(path, 'ck.npz')!r}")
    if not os.path.isdir(folder):
        raise ValueError(f"{what}: the folder {folder!r} does not exist; create it or choose another path")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".qwem-write-test-"):
            pass
    except OSError as e:
        raise ValueError(f"{what}: cannot write in {folder!r} ({e.strerror or e}); choose a writable "
                         "folder or fix its permissions") from None


def _top_singular_value(W) -> float:
    """``s_1`` of ``W`` from the ``d x d`` Gram (float32 products suffice for a threshold)."""
    if isinstance(W, np.ndarray):  # the CPU path: one BLAS product, no (V, d) copy or SVD
        with np.errstate(over="ignore", invalid="ignore"):
            g = (W.T @ W).astype(np.float64)
        s2 = float(np.linalg.eigvalsh(g)[-1]) if np.all(np.isfinite(g)) else np.inf
    else:
        s2 = float(_top_sval_sq(W))
    return float(np.sqrt(max(s2, 0.0))) if np.isfinite(s2) else np.inf  # finite W, Gram overflowed


def _loss_weights(P_ij, P_i, cfg: TrainConfig, fdt):
    """``(weights, M* or None, max_loss)``: the per-pair weights the device loop reads.

    QWEM: Setting 1's ``Psi`` (:func:`qwemlib.stats.psi_setting1`; ``"exact"`` never reads it,
    its weights are in the cell table) and ``M*`` (:func:`qwemlib.stats.target_matrix`, eq. 5).
    SGNS: word2vec's subsampling acceptance ``Pacc(i)`` (eq. 15), all ones without it.
    """
    if cfg.loss == "qwem":
        weights = (jnp.zeros((), fdt) if cfg.negatives == "exact"
                   else jnp.asarray(psi_setting1(P_ij, P_i), dtype=fdt))
        M = target_matrix(P_ij, P_i)
        # 1e3 times (1 + the objective at W = 0)
        max_loss = cfg.max_loss if cfg.max_loss is not None else 1e3 * (1.0 + 0.25 * float(np.sum(M**2)))
        return weights, M, max_loss
    if cfg.subsample is not None:
        with np.errstate(divide="ignore"):
            r = np.where(P_i > 0, cfg.subsample / np.where(P_i > 0, P_i, 1.0), 1.0)
        acc = np.minimum(1.0, r + np.sqrt(r))  # eq. 15
    else:
        acc = np.ones(P_i.shape[0])
    return jnp.asarray(acc, dtype=fdt), None, (cfg.max_loss if cfg.max_loss is not None else np.inf)


def _initial_W(cfg: TrainConfig, init_key, V: int, fdt):
    d = cfg.dim
    if cfg.init == "gaussian":
        return cfg.init_scale * jax.random.normal(init_key, (V, d), dtype=fdt)
    return jax.random.uniform(init_key, (V, d), dtype=fdt, minval=-0.5 / d, maxval=0.5 / d)


def _train(ids, off, P_ij, P_i, cfg, resume_from, progress, evaluate_fn, t_start, guard):
    from tqdm.auto import tqdm

    fdt = _float_dtype(cfg)
    npdt = np.float64 if cfg.dtype == "float64" else np.float32
    V, d = P_i.shape[0], cfg.dim
    fp = _fingerprint(ids, off, V)
    cpu = cfg.backend == "cpu-kernel"
    mesh = None if cfg.devices == 1 else data_mesh(cfg.devices, cfg.batch_pos, cfg.batch_neg)
    sampler = (build_cpu_sampler if cpu else build_sampler)(ids, off, P_i, cfg, P_ij=P_ij)
    weights, Mnp, max_loss = _loss_weights(P_ij, P_i, cfg, fdt)
    guard.setup(P_i, Mnp)
    M = jnp.asarray(Mnp, dtype=fdt) if Mnp is not None and cfg.record_objective else None
    del Mnp

    base = jax.random.PRNGKey(cfg.seed)
    init_key, step_key = jax.random.split(base)
    rec = record_schedule(cfg)
    snap_idx = (np.unique(np.round(np.linspace(0, len(rec) - 1, cfg.n_snapshots)).astype(int))
                if cfg.n_snapshots > 0 else np.array([], int))
    snap_set = set(rec[snap_idx].tolist())

    if resume_from is not None:
        ck = load_checkpoint(resume_from)
        check_resumable(ck, resume_from, cfg, fp, (V, d))
        step = ck["step"]
        W = jnp.asarray(ck["W"], dtype=fdt)
        recs = _Records.from_checkpoint(ck)
        loss_acc, loss_n = ck["loss_acc"]
    else:
        loss_acc, loss_n = 0.0, 0
        step = 0
        W = _initial_W(cfg, init_key, V, fdt)
        recs = _Records()

    if mesh is not None:
        sampler, weights, W, M = replicate((sampler, weights, W, M), mesh)
    lead = jax.process_index() == 0
    runner = CpuRunner(cfg, sampler) if cpu else _make_runner(cfg, V, mesh)
    lr = jnp.asarray(cfg.lr, fdt)
    total = jnp.int32(cfg.steps)
    max_loss_d = jnp.asarray(min(max_loss, float(np.finfo(npdt).max)), fdt)
    # warm-up call with zero steps: compiles (or hits jit's cache) and does no work
    t0 = time.perf_counter()
    W = runner(W, step_key, jnp.int32(step), jnp.int32(0), lr, total, max_loss_d, sampler, weights)[0]
    jax.block_until_ready(W)
    compile_time = time.perf_counter() - t0

    def record(s, W, mean_loss):
        recs.steps.append(int(s))
        recs.loss.append(float(mean_loss))
        recs.objective.append(float(_objective(W, M)) if M is not None else float("nan"))
        recs.svals.append(np.asarray(_svals(W)))
        recs.evals.append(float(evaluate_fn(np.asarray(W))) if evaluate_fn is not None else float("nan"))
        if s in snap_set:
            recs.snap_steps.append(int(s))
            recs.snaps.append(np.asarray(W))

    if step == 0 and not recs.steps:
        record(0, W, float("nan"))
        guard.record(recs)
    # chunk boundaries: record steps, checkpoint steps, the end
    bounds = set(rec[rec > step].tolist()) | {cfg.steps}
    if cfg.checkpoint_path is not None and cfg.checkpoint_every > 0:
        bounds |= set(range(cfg.checkpoint_every, cfg.steps, cfg.checkpoint_every))
    bounds = sorted(b for b in bounds if b > step)
    rec_set = set(rec.tolist())

    start_step = step
    t_loop = time.perf_counter()
    bar = tqdm(total=cfg.steps, initial=step, disable=None if progress and lead else True,
               desc=f"{cfg.loss} d={d}", unit="step")
    sigint = SigintDeferral().install()  # Ctrl-C: stop before the next chunk, checkpoint, raise
    try:
        for b in bounds:
            while step < b:
                sigint.check()
                n = min(cfg.steps_per_call, b - step)
                W_new, k, lsum, last, ok = runner(W, step_key, jnp.int32(step), jnp.int32(n), lr,
                                                    total, max_loss_d, sampler, weights)
                k = int(k)
                if not bool(ok):
                    raise guard.in_loop(step + k, float(last), max_loss)
                W = W_new
                loss_acc += float(lsum)
                loss_n += k
                step += k
                bar.update(k)
                if step not in rec_set:
                    guard.chunk(step, _top_singular_value(W), float(lsum) / max(k, 1), recs)
            if step in rec_set:
                record(step, W, loss_acc / max(loss_n, 1))
                loss_acc, loss_n = 0.0, 0
                guard.record(recs)
            if lead and cfg.checkpoint_path is not None and (
                step == cfg.steps or (cfg.checkpoint_every > 0 and step % cfg.checkpoint_every == 0)
            ):
                save_checkpoint(cfg.checkpoint_path, W, step, jax.random.key_data(base), cfg, fp, recs, npdt,
                                loss_acc=(loss_acc, loss_n))
    except KeyboardInterrupt:
        raise interrupted(cfg, lead, W, step, jax.random.key_data(base), fp, recs, npdt,
                          loss_acc, loss_n) from None
    finally:
        sigint.restore()
        bar.close()
    W_np = np.asarray(W)
    loop_time = time.perf_counter() - t_loop
    wall = time.perf_counter() - t_start
    n_run = step - start_step
    pairs = runner.pairs_done if cpu else (cfg.batch_pos + cfg.batch_neg) * n_run
    pps = pairs / loop_time if n_run > 0 and loop_time > 0 else float("nan")
    rs = np.array(recs.steps, np.int64)
    return TrainResult(
        steps=rs,
        times=time_of_step(cfg, rs),
        loss=np.array(recs.loss),
        objective=np.array(recs.objective),
        singular_values=recs.singular_values(),
        evaluations=np.array(recs.evals) if evaluate_fn is not None else None,
        snapshot_steps=np.array(recs.snap_steps, np.int64),
        snapshots=recs.snapshots((V, d), npdt),
        W=W_np,
        config=cfg,
        wall_time=wall,
        compile_time=compile_time,
        pairs_per_second=pps,
        device=runner.device if cpu else (_default_device() if mesh is None else mesh_description(mesh)),
        grad_path="cpu-kernel" if cpu else cfg.resolved_grad_path(V),
    )
