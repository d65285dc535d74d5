"""Training against the theory: SGD runs of QWEM and word2vec on the closed form's time axis.

The one training pipeline of the project: :func:`train_against_theory` trains the runs
of a preset's plan (:data:`PLANS`: at ci QWEM and SGNS from small and from word2vec's
initialization on the JAX path; at local QWEM with the paper's sampler, QWEM with uniform
negatives and SGNS, from small initialization, on the compiled CPU path) with
:mod:`qwemlib.train` and records, at every record step, what book/05 shows (singular
values, losses, analogy accuracy, subspace overlaps, the closed-form curves of eq. 11 from
the run's own ``W(0)``, principal-component coordinates for Figure 1).
``tools/make_results.py`` stores it as ``train.npz`` (:func:`train_arrays`, with each run's
final embeddings), ``qwem train`` writes it per loss, and :func:`load_training_runs` gives
the chapter the stored runs.

Used in: book/05_training.md, tools/make_results.py, qwemlib/cli.py (``qwem train``:
:func:`train_and_compare`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .. import evaluate, results, stats, theory
from .. import train as T
from ._training_plan import RUN_LABELS, SMALL_INIT, RunSpec, analogy_records, training_plan

__all__ = ["N_PC_WORDS", "train_against_theory", "train_arrays", "run_configs", "TrainingRecords",
           "load_stored_runs", "load_training_runs", "replay_first_steps", "config_rows", "train_and_compare"]

#: Words kept in the Figure 1 scatter (the most frequent).
N_PC_WORDS = 500


def train_against_theory(st, eig, preset, *, plan: dict[str, RunSpec] | None = None,
                         init_scale: float = SMALL_INIT, dtype: str = "float32", seed: int = 0,
                         n_theory: int = 300, checkpoints: dict | None = None, checkpoint_every: int = 0,
                         resume: bool = False, log=print) -> dict:
    """SGD runs of QWEM and SGNS, each with the closed form started from its own ``W(0)``.

    One step of size ``eta`` moves QWEM by ``t = 2 eta`` (eq. 12, ``g = 1``); SGNS gets
    ``eta_sgns = 2 eta / mean G`` (:func:`qwemlib.stats.sgns_mean_G`), so both move by the
    same nominal theory time per step.

    Args:
        st: corpus statistics (:func:`qwemlib.pipeline.corpus_statistics`).
        eig: M*'s top-d :class:`~qwemlib.theory.Eigenpairs`.
        preset: the :class:`~qwemlib.config.Preset` (``dim``, ``window``).
        plan: run key -> :class:`RunSpec`; default :func:`training_plan` of the preset.
        init_scale, dtype, seed: the trainer's initialization, float type and seed.
        n_theory: points of the closed-form curves.
        checkpoints: run key -> checkpoint file (``TrainConfig.checkpoint_path``; the run keeps
            a snapshot of ``W(0)`` in it for the closed form), written every ``checkpoint_every``
            steps (0: at the end and on Ctrl-C); with ``resume`` a run whose checkpoint exists
            continues from it (records and ``W`` as in an uninterrupted run; the overlaps and
            accuracies of the records before it are NaN).
        log: a print-like function.

    Returns:
        ``{"g_sgns": float, "runs": {key: {...}}}`` (and ``"diverged": {key: message}`` for
        runs that diverged, which are not in ``runs``); per run ``res`` (the
        :class:`~qwemlib.train.TrainResult`), ``cfg``, ``spec``, ``times`` (theory time of each
        record), ``acc`` (Google analogies, 3CosAdd; NaN where not scored), ``overlap``
        (records x ``ks``), ``ks``, ``theory_t``, ``theory_s2``, ``theory_loss``, ``tau``,
        ``s0`` and ``pc`` (float16 coordinates of the :data:`N_PC_WORDS` most frequent words on
        the final model's top-3 principal directions at every record).
    """
    plan = training_plan(preset) if plan is None else plan
    sections = evaluate.read_analogies("google-analogies")
    words = list(st.words)
    g_sgns = stats.sgns_mean_G(st.P_ij, st.P_i)
    ks = sorted({1, 3, 10, 50, preset.dim} & set(range(1, preset.dim + 1)))
    out = {"g_sgns": g_sgns, "runs": {}}
    for key, spec in plan.items():
        # same theory time per step for both losses: eta_sgns = 2 eta / mean G
        cfg = spec.config(preset, lr=spec.lr if spec.loss == "qwem" else 2 * spec.lr / g_sgns,
                          init_scale=init_scale, dtype=dtype, seed=seed)
        ck = (checkpoints or {}).get(key)
        if ck is not None:
            cfg = replace(cfg, checkpoint_path=str(ck), checkpoint_every=checkpoint_every,
                          n_snapshots=max(cfg.n_snapshots, 1))
        resume_from = str(ck) if resume and ck is not None and Path(ck).exists() else None
        scored = analogy_records(len(T.record_schedule(cfg)), spec.n_analogy_records)
        W0, heads, acc, ovl = [], [], [], []

        def ev(W, W0=W0, heads=heads, acc=acc, ovl=ovl, scored=scored):
            W = np.asarray(W, np.float32)
            if not W0:
                W0.append(W.copy())
            heads.append(W[:N_PC_WORDS].astype(np.float64))
            ovl.append(theory.subspace_overlaps(W, eig.vectors, ks))
            a = np.nan
            if len(acc) in scored:
                e = evaluate.Embeddings(words, W)
                a = evaluate.evaluate_analogies(e, sections, protocol="original", dtype=np.float32).accuracy
            acc.append(a)
            return ovl[-1][-1]

        log(f"[{key}] {spec.loss}, init {spec.init}, {spec.steps} steps of {spec.batch:,}+{spec.batch:,} "
            f"pairs, lr {cfg.lr:.4g}, {spec.backend}"
            + (f", negatives={cfg.negatives}" if spec.loss == "qwem" and spec.negatives != "unigram" else ""))
        try:
            res = T.train(st.corpus.ids, st.corpus.article_offsets, st.cooc, cfg, progress=True,
                          evaluate_fn=ev, resume_from=resume_from, lr_as_given=spec.lr,
                          lambda_1=float(eig.values[0]))
        except T.TrainingDiverged as exc:  # reported (meta["sgd_diverged"]), the other runs go on
            log(f"   {key} diverged: {exc}")
            out.setdefault("diverged", {})[key] = str(exc)
            continue
        if resume_from is not None:  # the records before the checkpoint were not evaluated here
            W0[:] = [np.asarray(res.snapshots[0], np.float32)]
            missing = len(res.steps) - len(ovl)
            acc[:0], ovl[:0] = [np.nan] * missing, [np.full(len(ks), np.nan)] * missing
            heads[:0] = [np.full((min(N_PC_WORDS, len(words)), preset.dim), np.nan)] * missing
        times = res.times if spec.loss == "qwem" else res.times * g_sgns
        dyn = theory.ClosedFormDynamics.from_initial(eig, W0[0])
        t_th = np.linspace(0.0, float(times[-1]), n_theory)
        # Figure 1: coordinates on the final model's top-3 principal directions (no centring,
        # as evaluate.top_words_per_component), for the most frequent words
        _, _, Vt = np.linalg.svd(res.W.astype(np.float64), full_matrices=False)
        pc = np.stack([h @ Vt[:3].T for h in heads])
        out["runs"][key] = dict(
            res=res, cfg=cfg, spec=spec, times=times, acc=np.array(acc), overlap=np.array(ovl),
            ks=np.array(ks), theory_t=t_th, theory_s2=dyn.s2(t_th), theory_loss=dyn.loss(t_th), tau=dyn.tau,
            s0=dyn.s0, pc=pc.astype(np.float16))
        log(f"   {res.wall_time:.0f} s ({res.grad_path} path, {res.pairs_per_second:,.0f} pairs/s); "
            f"final overlap " + ", ".join(f"top-{k} {v:.3f}" for k, v in zip(ks, ovl[-1]))
            + f"; analogies {acc[-1]:.3f}")
    return out


def train_arrays(tr: dict, eig, words) -> dict[str, np.ndarray]:
    """The arrays of ``train.npz`` (:data:`qwemlib.results.SCHEMA`) from :func:`train_against_theory`."""
    arrays = {"eigenvalues": eig.values, "g_sgns": np.float64(tr["g_sgns"]),
              "pc_words": np.array(list(words)[:N_PC_WORDS]), "words": np.array(list(words))}
    for key, r in tr["runs"].items():
        res = r["res"]
        p = key + "/"
        arrays |= {p + "steps": res.steps, p + "times": r["times"], p + "loss": res.loss,
                   p + "objective": res.objective, p + "singular_values": res.singular_values,
                   p + "analogy_accuracy": r["acc"], p + "overlap": r["overlap"],
                   p + "overlap_k": r["ks"], p + "theory_t": r["theory_t"],
                   p + "theory_s2": r["theory_s2"], p + "theory_loss": r["theory_loss"],
                   p + "tau": r["tau"], p + "s0": r["s0"], p + "pc": r["pc"],
                   p + "lr": np.float64(r["cfg"].lr), p + "W_final": res.W.astype(np.float16)}
    return arrays


def run_configs(tr: dict) -> dict[str, dict]:
    """Per run: its :class:`~qwemlib.train.TrainConfig` as JSON plus wall time, speed, gradient
    path and device (``benchmark.json``'s ``meta["sgd"]``)."""
    return {k: json.loads(r["cfg"].to_json()) | {
        "wall_s": r["res"].wall_time, "pairs_per_s": r["res"].pairs_per_second,
        "grad_path": r["res"].grad_path, "device": r["res"].device, "model": r["spec"].model,
        "n_analogy_records": r["spec"].n_analogy_records} for k, r in tr["runs"].items()}


@dataclass
class TrainingRecords:
    """The runs book/05 shows, stored or live.

    Attributes:
        runs: key -> field -> array (:data:`qwemlib.results.TRAIN_RUN_FIELDS`).
        eigenvalues: M*'s top-d eigenvalues the runs were compared with.
        g_sgns: SGNS's nominal ``g`` (mean G).
        pc_words: the words of the Figure 1 scatter.
        configs: key -> the run's configuration (:func:`run_configs`).
        source: ``"stored"``.
        description: what the chapter prints about the source.
        diverged: key -> message, for planned runs that diverged and were not stored.
    """

    runs: dict
    eigenvalues: np.ndarray
    g_sgns: float
    pc_words: list
    configs: dict
    source: str
    description: str = field(default="")
    diverged: dict = field(default_factory=dict)

    @classmethod
    def from_arrays(cls, z: dict, configs: dict, source: str, description: str) -> TrainingRecords:
        runs = {k: {f: z[f"{k}/{f}"] for f in results.TRAIN_RUN_FIELDS + results.TRAIN_RUN_OPTIONAL
                    if f"{k}/{f}" in z} for k in configs}
        return cls(runs, z["eigenvalues"], float(z["g_sgns"]), [str(w) for w in z["pc_words"]],
                   configs, source, description)


def load_stored_runs(preset, *, folder=None) -> TrainingRecords | None:
    """The stored runs of ``train.npz`` and their provenance, or ``None`` when none are stored."""
    z = results.load_npz(preset, "train.npz", missing_ok=True, folder=folder)
    if z is None:
        return None
    _, meta = results.read_benchmark(preset, folder=folder)
    name = getattr(preset, "name", preset)
    if meta is None or "sgd" not in meta:
        raise results.StoredResultError(f"train.npz of {name!r} has no benchmark.json with its "
                                        f"configuration: run `python tools/make_results.py --scale {name}`")
    results.load_npz(preset, "train.npz", results.train_keys(meta["sgd"]), folder=folder)  # raises if short
    rec = TrainingRecords.from_arrays(z, meta["sgd"], "stored", results.describe_source(meta, preset))
    rec.diverged = dict(meta.get("sgd_diverged", {}))
    return rec


def load_training_runs(eig, preset, *, log=print) -> TrainingRecords:
    """The stored runs of ``preset``, checked against ``eig``; prints where they came from.

    Raises:
        qwemlib.results.StoredResultError: none are stored (the message gives the command
            that makes them), or they were compared with other eigenvalues than ``eig``'s
            (other statistics).
    """
    name = getattr(preset, "name", preset)
    rec = load_stored_runs(preset)
    if rec is None:
        raise results.StoredResultError(
            f"no SGD runs are stored for preset {name!r} (data/results/{name}/train.npz): run "
            f"`python tools/make_results.py --scale {name} --only train` (the ci runs take ~15 min, "
            "local ~1 h on 2 cores; see docs/GPU.md for a GPU)")
    # the two sets of eigenvalues may come from different solves, each within the
    # eigensolver's criterion of 1e-4 lambda_1 (qwemlib.eigen.top_eigenpairs), so they may
    # differ by up to twice that (the stored local runs hold Chebyshev's eigenvalues, the
    # book now solves by block Lanczos: 2.5e-5 lambda_1 apart); the test's "other
    # statistics" differ by 1 %, fifty times the tolerance
    stored, live = np.asarray(rec.eigenvalues, float), np.asarray(eig.values, float)
    if stored.shape != live.shape or np.max(np.abs(stored - live)) > 2e-4 * abs(live[0]):
        raise results.StoredResultError(f"data/results/{name}/train.npz is for other statistics "
                                        "(eigenvalues differ by more than two eigensolves' "
                                        "error, 2e-4 lambda_1): rerun tools/make_results.py "
                                        f"--scale {name} --only train")
    log(rec.description)
    for key, msg in rec.diverged.items():
        log(f"  {key} diverged and is not stored: {msg}")
    return rec


def replay_first_steps(st, rec: TrainingRecords, key: str = "qwem-small", n_steps: int = 12) -> dict:
    """Repeat a run's first ``n_steps`` live and compare the singular values with its records.

    The trainer derives step ``s``'s minibatch from the seed and ``s`` alone, so the first
    steps can be repeated exactly, with a constant learning rate (equal to the step
    schedule before its drop).

    Returns:
        ``{"max_rel_diff", "steps" (the compared record steps), "seconds"}``.
    """
    c0 = dict(rec.configs[key])
    if c0.get("grad_path") not in ("auto", "dense", "scatter"):   # run_configs stores the path used
        c0["grad_path"] = "auto"                                    # ("cpu-kernel": not a config value)
    fields = T.TrainConfig.__dataclass_fields__
    cfg = T.TrainConfig(**{k: v for k, v in c0.items() if k in fields}
                        | dict(steps=n_steps, schedule="constant", record_steps=None, n_records=n_steps + 1,
                               record_spacing="linear", steps_per_call=n_steps, record_objective=False))
    t0 = time.perf_counter()
    live = T.train(st.corpus.ids, st.corpus.article_offsets, st.cooc, cfg, progress=False)
    stored_steps = rec.runs[key]["steps"]
    common = [int(s) for s in stored_steps if s <= n_steps]
    sv_live = live.singular_values[np.searchsorted(live.steps, common)]
    sv_stored = rec.runs[key]["singular_values"][np.searchsorted(stored_steps, common)]
    return {"max_rel_diff": float(np.max(np.abs(sv_live - sv_stored) / sv_stored)), "steps": common,
            "seconds": time.perf_counter() - t0}


def config_rows(rec: TrainingRecords) -> dict[str, dict]:
    """label -> the run's loss, init, steps, pairs per step, lr, final t, wall time and device."""
    def init(c):
        gaussian = c["init"] == "gaussian"
        return c["init"] + (f" (sigma {c['init_scale']:g})" if gaussian else " U(-0.5/d, 0.5/d)")

    return {RUN_LABELS[k]: {"loss": c["loss"], "init": init(c), "steps": c["steps"],
                            "pairs per step": f"{c['batch_pos']:,} + {c['batch_neg']:,}",
                            "lr": f"{c['lr']:.4g}",
                            "final t": f"{rec.runs[k]['times'][-1]:.3f}", "wall s": f"{c['wall_s']:.0f}",
                            "device": c["device"]} for k, c in rec.configs.items()}


def train_and_compare(preset, *, losses=("qwem", "sgns"), steps: int = 300, lr: float = 6e-5,
                      batch: int = 50_000, init_scale: float = SMALL_INIT, dtype: str = "float32",
                      seed: int = 0, negatives: str = "unigram", backend: str = "jax", out_dir=None,
                      checkpoint_dir=None, checkpoint_every: int = 0, resume: bool = False,
                      log=print) -> dict:
    """``qwem train``: statistics, M*'s top-d eigenpairs and :func:`train_against_theory` from
    small random initialization, one run per loss, each written as ``train-<loss>.npz``.

    Args:
        preset: a :class:`~qwemlib.config.Preset` (``dim`` below ``vocab``).
        losses: ``"qwem"`` and/or ``"sgns"``.
        steps, lr, batch, negatives, backend: as :class:`RunSpec`.
        init_scale, dtype, seed: as :func:`train_against_theory`.
        out_dir: where to write ``train-<loss>.npz`` (``steps``, ``times``,
            ``singular_values``, ``loss``, ``W``, ``theory_times``, ``theory_s`` (eq. 11's
            ``s_k(t)``), ``eigenvalues``); nothing is written when ``None``.
        checkpoint_dir, checkpoint_every, resume: each run checkpoints to
            ``<checkpoint_dir>/<loss>.ckpt.npz`` every ``checkpoint_every`` steps (0: at the end
            and on Ctrl-C, :class:`qwemlib.train.TrainingInterrupted`); with ``resume`` a run
            continues from its checkpoint where there is one (``qwem train --resume``).
        log: a print-like function.

    Returns:
        :func:`train_against_theory`'s dict (runs keyed by loss), plus ``eigenvalues``,
        ``overlap`` (loss -> top-d subspace overlap of the final ``W`` with M*'s top-d
        eigenvectors) and ``files`` (the paths written).
    """
    from ..pipeline import corpus_statistics

    if preset.dim >= preset.vocab:
        raise ValueError(f"d={preset.dim} must be smaller than V={preset.vocab}")
    st = corpus_statistics(preset)
    eig = theory.top_eigenpairs(st.M, preset.dim)
    plan = {loss: RunSpec(loss, "gaussian", negatives if loss == "qwem" else "unigram", lr=lr, batch=batch,
                          steps=steps, backend=backend) for loss in losses}
    checkpoints = (None if checkpoint_dir is None
                   else {loss: Path(checkpoint_dir) / f"{loss}.ckpt.npz" for loss in losses})
    tr = train_against_theory(st, eig, preset, plan=plan, init_scale=init_scale, dtype=dtype, seed=seed,
                              n_theory=400, checkpoints=checkpoints, checkpoint_every=checkpoint_every,
                              resume=resume, log=log)
    tr |= {"eigenvalues": eig.values, "overlap": {}, "files": []}
    for loss, r in tr["runs"].items():
        res = r["res"]
        tr["overlap"][loss] = theory.subspace_overlap(res.W, eig.vectors)
        log(f"  {loss}: {res.wall_time:.1f} s, {res.pairs_per_second:,.0f} pairs/s on {res.device}; "
            f"top-{preset.dim} overlap with M*'s eigenvectors {tr['overlap'][loss]:.3f}")
        if out_dir is not None:
            path = Path(out_dir) / f"train-{loss}.npz"
            results.save_npz(path, compressed=False, steps=res.steps, times=r["times"],
                             singular_values=res.singular_values, loss=res.loss, W=res.W,
                             theory_times=r["theory_t"], theory_s=np.sqrt(r["theory_s2"]),
                             eigenvalues=eig.values)
            tr["files"].append(path)
    return tr
