"""book/07's check against minibatch SGD: the run, its stored record and its note (private).

:func:`linear_sgd` trains QWEM by pair-sampling SGD from the chapter's gradient-flow start
and scores the chapter's per-family accuracy at log-spaced records;
:func:`run_linear_sgd` is ``tools/make_results.py --only linear-sgd`` (statistics,
eigenpairs, the run, ``linear_sgd.npz`` and its README section); :func:`stored_linear_sgd`
reads the record back for the chapter (``None`` where none is stored: above the ci
preset, none is yet).

Used in: book/07_linear_structure.md, book/06_qwem_vs_word2vec.md (the final embeddings),
tools/make_results.py.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import evaluate as ev
from .._io import atomic_savez
from ..config import Preset
from ..results import (
    StoredResultError,
    is_modified,
    load_npz,
    replace_readme_section,
    results_dir,
    stored_meta,
)
from ._linear import LINEAR_CONSTANTS as _C
from ._linear import LinearStructure

__all__ = ["LINEAR_SGD", "linear_sgd", "linear_sgd_note", "run_linear_sgd", "LinearSGD", "stored_linear_sgd",
           "sgd_source_text"]

#: book/07's SGD check (issue 6): QWEM by pair-sampling SGD at ci from the chapter's flow
#: start (``W(0) ~ N(0, flow_sigma^2)``, seed ``flow_seed``; the same law, another draw: JAX's
#: generator, not numpy's), recording the chapter's per-family accuracy. ``negatives="uniform"``
#: (bounded weights, 7.3x less gradient variance than the paper's sampler, the same expected
#: gradient) and the cosine schedule at lr 5e-4 with 250k + 250k pairs: tests/test_train.py's
#: test_ci_qwem_d50_subspace_overlap_reaches_0_95 configuration, shortened to
#: ``t = lr * steps = 0.5``, past the chapter's last predicted time (``tau_d = 0.27`` at ci)
#: and its flow (``1.3 tau_d``).
LINEAR_SGD = dict(lr=5e-4, batch=250_000, steps=1000, schedule="cosine", negatives="uniform",
                  first_record=20, n_records=36)

FILENAME = "linear_sgd.npz"


def linear_sgd(st, eig, preset, *, steps=LINEAR_SGD["steps"], meta: dict | None = None,
               log=print) -> tuple[dict, dict]:
    """book/07's check of the predicted per-family rise times against SGD (issue 6).

    Trains QWEM by minibatch SGD (:func:`qwemlib.train.train`, :data:`LINEAR_SGD`) from
    ``N(0, sigma^2)`` with the chapter's flow ``sigma`` and seed, and at log-spaced record
    steps computes the chapter's per-family accuracy (:func:`qwemlib.evaluate.family_accuracy`
    on the Google families with at least ``_C["n_min"]`` in-vocabulary pairs; 3CosAdd, pairs
    protocol). Also stores ``tau`` predicted from this run's own ``W(0)`` (``start="projected"``).

    Returns:
        The arrays for ``linear_sgd.npz`` and a JSON-able description of the run.
    """
    from .. import train as T
    from ..theory import ClosedFormDynamics

    words = list(st.words)
    sections = ev.read_analogies("google-analogies")
    pairs_all = ev.analogy_pairs(sections, ev.Embeddings(words, np.zeros((len(words), 1))))
    fams = {f: p for f, p in pairs_all.items() if len(p) >= _C["n_min"]}
    rec = np.unique(np.round(np.geomspace(LINEAR_SGD["first_record"], steps,
                                          LINEAR_SGD["n_records"])).astype(int))
    cfg = T.TrainConfig(loss="qwem", dim=preset.dim, steps=steps, lr=LINEAR_SGD["lr"],
                        batch_pos=LINEAR_SGD["batch"], batch_neg=LINEAR_SGD["batch"],
                        schedule=LINEAR_SGD["schedule"], negatives=LINEAR_SGD["negatives"],
                        init="gaussian", init_scale=_C["flow_sigma"], seed=_C["flow_seed"],
                        dtype="float32", window=preset.window, record_steps=tuple(int(r) for r in rec),
                        steps_per_call=100, record_objective=True)
    acc, W0 = [], []

    def evaluate_fn(W):
        if not W0:
            W0.append(np.asarray(W, np.float64).copy())
        a = ev.family_accuracy(ev.Embeddings(words, np.asarray(W, np.float64)), fams)   # as book/07 scores
        acc.append(a)
        return float(np.mean(a))

    log(f"[linear-sgd] qwem, negatives {cfg.negatives}, N(0, {cfg.init_scale:g}^2) seed {cfg.seed}, "
        f"{steps} steps of {cfg.batch_pos:,}+{cfg.batch_neg:,} pairs, lr {cfg.lr:g} {cfg.schedule}, "
        f"t_end = {float(T.time_of_step(cfg, steps)):.3f}; {len(fams)} families", flush=True)
    res = T.train(st.corpus.ids, st.corpus.article_offsets, st.cooc, cfg, progress=False,
                  evaluate_fn=evaluate_fn)
    dyn = ClosedFormDynamics.from_initial(eig, W0[0], start="projected")
    out = {"families": np.array(list(fams)), "steps": res.steps, "times": res.times,
           "acc": np.array(acc), "objective": res.objective, "loss": res.loss,
           "singular_values": res.singular_values.astype(np.float32), "tau_own_init": dyn.tau,
           "const/flow_sigma": np.asarray(_C["flow_sigma"]), "const/flow_seed": np.asarray(_C["flow_seed"]),
           "const/n_min": np.asarray(_C["n_min"]), "lr": np.float64(cfg.lr),
           "wall_s": np.float64(res.wall_time), "config": np.array(cfg.to_json()),
           # the final embeddings: book/06 scores them as its QWEM (SGD) model at ci
           "W_final": res.W.astype(np.float16), "words": np.array(words)}
    if meta is not None:
        keys = ("command", "commit", "date_utc", "machine", "library_modified_since_commit")
        out["provenance"] = np.array(json.dumps({k: meta[k] for k in keys if k in meta}, default=str))
    info = json.loads(cfg.to_json()) | {"wall_s": res.wall_time, "pairs_per_s": res.pairs_per_second,
                                        "grad_path": res.grad_path, "device": res.device,
                                        "t_end": float(res.times[-1])}
    log(f"   {res.wall_time:.0f} s ({res.grad_path} path, {res.pairs_per_second:,.0f} pairs/s); "
        f"mean family accuracy {np.mean(acc[-1]):.3f} at t = {res.times[-1]:.3f}", flush=True)
    return out, info


def linear_sgd_note(info: dict, meta: dict) -> str:
    """The README paragraph that describes ``linear_sgd.npz`` (``info`` from :func:`linear_sgd`)."""
    c, m = info, meta["machine"]
    dirty = is_modified(meta)
    return (f"`linear_sgd.npz` (book/07, issue 6): QWEM SGD, negatives {c['negatives']}, init gaussian "
            f"(sigma {c['init_scale']:g}, seed {c['seed']}), {c['steps']} steps of {c['batch_pos']:,}+"
            f"{c['batch_neg']:,} pairs, lr {c['lr']:g} {c['schedule']}, {c['dtype']}, "
            f"t_end = {c['t_end']:.3f}, records at step 0 and {len(c['record_steps'])} log-spaced steps "
            f"from {LINEAR_SGD['first_record']}; {c['wall_s']:.0f} s on {c['device']} ({c['grad_path']} "
            f"gradient); command `{meta['command']}`, commit `{meta['commit']}`"
            + (" (library or script modified since that commit)" if dirty else "")
            + f", {meta['date_utc']}, {m['processor']} {m['cpu_count']} cores, "
            f"1-min load average {m['loadavg_start']:.1f} at start. Keys: `families`, `steps`, "
            "`times` (t = 2 sum(eta)), `acc` (record, family) accuracy (3CosAdd, pairs protocol), "
            "`objective`, `loss`, `singular_values`, `tau_own_init` (tau_k from this run's W(0)), `lr`, "
            "`wall_s`, `config` (TrainConfig JSON), `provenance` (JSON), `const/*`, `W_final` and `words` "
            "(the final (V, d) embeddings, float16, and their vocabulary; book/06's QWEM (SGD) at ci).")


def run_linear_sgd(preset: Preset, command: str, out_dir: str | Path | None = None, *,
                   steps: int = LINEAR_SGD["steps"], log=print) -> Path:
    """``tools/make_results.py --only linear-sgd``: :func:`linear_sgd` alone, stored with its note.

    Writes ``<out_dir>/linear_sgd.npz`` (default ``data/results/<preset>/``) and replaces the
    README section of an earlier such run with this run's provenance; the other stored
    files are left untouched.

    Returns:
        The path of the written ``linear_sgd.npz``.
    """
    from ..eigen import top_eigenpairs
    from ..pipeline import corpus_statistics

    if preset.name != "ci":
        raise ValueError(f"linear-sgd runs at ci only (at {preset.name}, use make_results --train)")
    t_all = time.perf_counter()
    meta = stored_meta(command)
    st = corpus_statistics(preset)
    eig = top_eigenpairs(st.M, preset.dim)
    arrays, info = linear_sgd(st, eig, preset, steps=steps, meta=meta, log=log)
    out_dir = Path(out_dir) if out_dir is not None else results_dir(preset)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_savez(out_dir / FILENAME, compressed=True, **arrays)
    total = time.perf_counter() - t_all
    section = (f"\n## Appended by `{command}`\n\n- {linear_sgd_note(info, meta)}\n- total time {total:.0f} s "
               f"(statistics, top-{preset.dim} eigenpairs, SGD, accuracies); 1-min load average "
               f"{os.getloadavg()[0]:.1f} at end (shared machine)\n")
    replace_readme_section(out_dir, "--only linear-sgd", section)
    log(f"wrote {out_dir / FILENAME} in {total:.0f} s", flush=True)
    return out_dir / FILENAME


# --------------------------------------------------------------------------- the stored record


@dataclass(frozen=True)
class LinearSGD:
    """A stored SGD run of book/07: per-family accuracy ``acc`` (record, family) at ``times``."""

    times: np.ndarray
    acc: np.ndarray
    tau_own_init: np.ndarray
    config: dict
    provenance: dict
    wall_s: float

    def describe(self, tau: np.ndarray, preset: str) -> str:
        """Two lines: which file and command made it, and how its own ``tau_k`` compare with ``tau``."""
        c, p, D = self.config, self.provenance, len(tau)
        rel = np.abs(self.tau_own_init / tau - 1)
        return (f"SGD: stored data/results/{preset}/{FILENAME}, made by `{p['command']}` at commit "
                f"{p['commit'][:10]} on {p['date_utc']} in {self.wall_s:.0f} s\n"
                f"  negatives {c['negatives']}, {c['steps']} steps of {c['batch_pos']:,}+{c['batch_neg']:,} "
                f"pairs, lr {c['lr']:g} {c['schedule']}, t_end = {self.times[-1]:.3f}; tau_k from its own "
                f"W(0) within {np.max(rel[:-1]):.0%} of the flow's for k < {D} ({rel[-1]:.0%} at k = {D})")


def stored_linear_sgd(preset: Preset, ls: LinearStructure) -> LinearSGD | None:
    """The stored ``linear_sgd.npz`` of ``preset``, checked against ``ls``; ``None`` if not stored.

    Raises:
        StoredResultError: if it was made for other families or with other constants.
    """
    G = load_npz(preset, FILENAME, required=["families", "times", "acc", "config", "provenance"],
                 missing_ok=True)
    if G is None:
        return None
    if G["families"].tolist() != ls.fams:
        raise StoredResultError(f"{FILENAME}: families {G['families'].tolist()} differ from {ls.fams}")
    for name in ("flow_sigma", "flow_seed", "n_min"):
        if G[f"const/{name}"].item() != _C[name]:
            raise StoredResultError(f"{FILENAME} was made with {name} = {G[f'const/{name}'].item()}, "
                                    f"the library uses {_C[name]}: rerun `python tools/make_results.py "
                                    f"--scale {preset.name} --only linear-sgd`")
    return LinearSGD(times=G["times"], acc=G["acc"], tau_own_init=G["tau_own_init"],
                     config=json.loads(G["config"].item()), provenance=json.loads(G["provenance"].item()),
                     wall_s=float(G["wall_s"].item()))


def sgd_source_text(preset: Preset, ls: LinearStructure, sgd: LinearSGD | None) -> str:
    """Where the SGD check's numbers come from (:meth:`LinearSGD.describe`), or that there are none."""
    if sgd is not None:
        return sgd.describe(ls.tau, preset.name)
    return (f"SGD: none at the {preset.name} preset (no {FILENAME}): no QWEM SGD run at "
            f"V = {ls.V:,}, d = {ls.D} is stored yet; the flow is the only check here")
