"""Regenerate the stored results that chapters 5, 6 and 7 read (``data/results/<preset>/``).

Some of what the chapters show takes longer than a chapter may run: SGD long enough
to learn the top eigen-features, gensim's epochs, every eigensolve of the local
preset. This script does that work once and writes small files that the chapters read:

``train.npz``
    For each run in :data:`RUNS` (QWEM and word2vec/SGNS, each from small Gaussian
    initialization and from word2vec's uniform initialization): record steps, theory
    times (``t = 2 g sum(eta)``; SGNS's nominal clock uses ``g = mean G``), singular
    values, mean batch loss, exact QWEM objective, analogy accuracy and the subspace
    overlap with the top-1/3/10/d eigenvectors of M* at every record, the closed-form
    curves (eq. 11 started from that run's ``W(0)``), and the coordinates of the 500
    most frequent words on the final model's top-3 principal components at every
    record (float16, Figure 1). Only with SGD (always at ci; ``--train`` elsewhere).
``embeddings.npz``
    float16 ``(V, d)`` embeddings of word2vec (our SGNS, word2vec init), QWEM (our SGD,
    small init), gensim Word2Vec (reordered to our vocabulary) and the closed forms
    svd(M*), svd(PPMI), svd(PMI); only written when ``V * d`` is small (the ci preset:
    200 kB each).
``features.npz``
    When the embeddings are too large to store (the local preset: 10,000 x 200 per
    model), what book/06 derives from them: the top words of every principal component
    of every model (Figure 3a), the d x d squared overlaps of the left singular vectors
    of every pair of models (Figure 5, float32) and their top-k subspace overlaps.
``linear_structure.npz``
    Likewise, what book/07 computes from the closed-form embeddings svd(M*): the
    in-vocabulary pairs of every Google analogy family, the mean task vectors, the Gram
    spectra at three model sizes (the chapter refits Marchenko-Pastur to them), signal
    in mean, SNR for every d, the random-pair SNR baseline, the KS distance of the fit
    on pure noise, the per-family accuracy over a grid of d, and QWEM gradient flow from
    a small random start (per-family accuracy over time, tau_k).
``linear_sgd.npz``
    book/07's check against SGD (ci only): QWEM trained by pair-sampling SGD
    (``negatives="uniform"``) from the chapter's gradient-flow start ``N(0, sigma^2)``, with
    the chapter's per-family analogy accuracy at log-spaced record steps
    (:data:`LINEAR_SGD`), and its final embeddings (float16), which book/06 scores as
    its QWEM (SGD) model. ``--only linear-sgd`` runs this part alone (a few minutes) and
    writes its provenance into the README (replacing that of an earlier such run),
    leaving the other files untouched.
``benchmark.json``
    The Figure 3b rows of every model (computed from the float32/float64 embeddings),
    and the configuration, timings and provenance of every part.
``README.md``
    The note: command, commit, corpus, preset, machine, date, what each file holds.

Every preset runs the same pipeline (statistics, the three closed forms, gensim, the
benchmarks); SGD runs at ci, and elsewhere only with ``--train`` (it needs a GPU at the
local preset). gensim trains ``--gensim-epochs`` epochs: 10 by default at ci, 3 at the
other presets (about 8 minutes per epoch of the 65 M-token local corpus on 2 cores).

Usage:
    python tools/make_results.py --scale ci            # ~15 min on a shared 2-core CPU
    python tools/make_results.py --scale local         # ~40 min on a shared 2-core CPU
    python tools/make_results.py --scale local --train # adds SGD (meant for a GPU)
    python tools/make_results.py --scale ci --quick    # a smoke test (few steps), not stored
    python tools/make_results.py --scale ci --only linear-sgd   # book/07's SGD check alone (~3 min)
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The SGD configuration at ci: that of bench/bench_train.py CI_CURVE_CONFIG and tests/test_train.py's
# slow d = 50 test (B = 250k + 250k, lr/B = 1e-9 for QWEM, the stable limit being ~2e-9 because the
# Setting-1 weights reach ~1.4e8; the paper's x0.1 at 75 % of the steps, A.2), with 600 instead
# of 800 steps so that the four runs fit in ~15 minutes on a shared 2-core CPU, and a small
# initialization of 1e-3 (CI_CURVE_CONFIG uses 0.05) so that the steps are sharp.
SGD = dict(lr=2.5e-4, batch=250_000, steps=600, schedule="step")
SMALL_INIT = 1e-3
RUNS = {
    # key: (loss, init)
    "qwem-small": ("qwem", "gaussian"),
    "qwem-w2v": ("qwem", "word2vec"),
    "sgns-small": ("sgns", "gaussian"),
    "sgns-w2v": ("sgns", "word2vec"),
}
N_PC_WORDS = 500          # words kept in the Figure 1 scatter
# book/06's experiments (the closed-form trio, the gensim peer with GENSIM_EPOCHS at ci and
# GENSIM_EPOCHS_LARGE elsewhere, the feature summaries) are in qwemlib/experiments/.
from qwemlib.experiments import (  # noqa: E402  (after the sys.path line)
    GENSIM_EPOCHS,
    GENSIM_EPOCHS_LARGE,
    closed_forms,
    feature_summary,
    gensim_embeddings,
)

MAX_STORED_CELLS = 1_000_000   # store (V, d) embeddings only when V * d is at most this (ci: 100,000; local: 2,000,000)
# book/07_linear_structure.md's constants; the chapter reads them back from linear_structure.npz
LS = dict(n_min=5, n_null=12, n_base=60, rng_seed=0, feature_words=8, n_d_grid=18,
          flow_sigma=1e-4, flow_seed=0, flow_times=26, flow_rtol=1e-2)

# book/07's SGD check (issue 6): QWEM by pair-sampling SGD at ci from the chapter's flow start
# (W(0) ~ N(0, flow_sigma^2), seed flow_seed; the same law, another draw: JAX's generator, not
# numpy's), recording the chapter's per-family accuracy. negatives="uniform" (bounded weights,
# 7.3x less gradient variance than the paper's sampler, the same expected gradient) and the
# cosine schedule at lr 5e-4 with 250k + 250k pairs: tests/test_train.py's
# test_ci_qwem_d50_subspace_overlap_reaches_0_95 configuration, shortened to t = lr * steps = 0.5,
# past the chapter's last predicted time (tau_d = 0.27 at ci) and its flow (1.3 tau_d).
LINEAR_SGD = dict(lr=5e-4, batch=250_000, steps=1000, schedule="cosine", negatives="uniform",
                  first_record=20, n_records=36)


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except Exception:  # not a checkout
        return "unknown"


def _git_dirty() -> bool:
    try:
        out = subprocess.run(["git", "status", "--porcelain", "qwemlib", "tools/make_results.py"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return bool(out.strip())
    except Exception:
        return False


def _machine() -> dict:
    import jax

    d = jax.devices()[0]
    return {"cpu_count": os.cpu_count(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "jax_device": f"{d.platform}:{getattr(d, 'device_kind', '')}",
            "loadavg_start": os.getloadavg()[0]}


def record_steps(steps: int) -> tuple[int, ...]:
    """Log-spaced records for the early steps plus a linear grid, so both the first mode's
    rise and the whole run are resolved."""
    r = set(np.round(np.geomspace(1, steps, 16)).astype(int).tolist())
    r |= set(np.round(np.linspace(0, steps, 21)).astype(int).tolist())
    return tuple(sorted(r))


def train_runs(st, eig, preset, *, steps, batch, lr, log=print) -> dict:
    """The four SGD runs, each with theory curves, overlaps, accuracy and PC coordinates."""
    from qwemlib import evaluate, stats, theory
    from qwemlib import train as T

    sections = evaluate.read_analogies("google-analogies")
    words = list(st.words)
    g_sgns = stats.sgns_mean_G(st.P_ij, st.P_i)
    ks = sorted({1, 3, 10, preset.dim} & set(range(1, preset.dim + 1)))
    out = {"g_sgns": g_sgns, "runs": {}}
    for key, (loss, init) in RUNS.items():
        # same theory time per step for both losses: eta_sgns = 2 eta / mean G (cli.train_and_compare)
        lr_run = lr if loss == "qwem" else 2 * lr / g_sgns
        cfg = T.TrainConfig(loss=loss, dim=preset.dim, steps=steps, lr=lr_run, batch_pos=batch,
                            batch_neg=batch, schedule=SGD["schedule"], init=init,
                            init_scale=SMALL_INIT, window=preset.window,
                            record_steps=record_steps(steps), steps_per_call=100,
                            record_objective=(loss == "qwem"))
        Ws, acc, ovl = [], [], []

        def ev(W):
            Ws.append(np.asarray(W, np.float32).copy())
            ovl.append([theory.subspace_overlap(W, eig.vectors[:, :k]) for k in ks])
            e = evaluate.Embeddings(words, np.asarray(W, np.float32))
            r = evaluate.evaluate_analogies(e, sections, protocol="original", dtype=np.float32)
            acc.append(r.accuracy)
            return r.accuracy

        log(f"[{key}] {loss}, init {init}, {steps} steps of {batch:,}+{batch:,} pairs, lr {lr_run:.4g}")
        res = T.train(st.corpus.ids, st.corpus.article_offsets, st.cooc, cfg, progress=False,
                      evaluate_fn=ev)
        times = res.times if loss == "qwem" else res.times * g_sgns
        dyn = theory.ClosedFormDynamics.from_initial(eig, Ws[0])
        t_th = np.linspace(0.0, float(times[-1]), 300)
        # Figure 1: coordinates on the final model's top-3 principal directions (no centring,
        # as evaluate.top_words_per_component), for the most frequent words
        _, _, Vt = np.linalg.svd(res.W.astype(np.float64), full_matrices=False)
        pc = np.stack([W[:N_PC_WORDS].astype(np.float64) @ Vt[:3].T for W in Ws])
        out["runs"][key] = dict(
            res=res, cfg=cfg, times=times, acc=np.array(acc), overlap=np.array(ovl), ks=np.array(ks),
            theory_t=t_th, theory_s2=dyn.s2(t_th), theory_loss=dyn.loss(t_th), tau=dyn.tau,
            s0=dyn.s0, pc=pc.astype(np.float16))
        log(f"   {res.wall_time:.0f} s ({res.grad_path} path, {res.pairs_per_second:,.0f} pairs/s); "
            f"final overlap top-{ks[-1]} {ovl[-1][-1]:.3f}, analogies {acc[-1]:.3f}")
    return out


def linear_structure(st, eig, *, flow: bool = True, log=print) -> tuple[dict, dict]:
    """What book/07 computes from the closed-form embeddings svd(M*), for a preset too large
    to compute it while the chapter runs. Same steps and constants (:data:`LS`) as the chapter.

    Returns the arrays for ``linear_structure.npz`` and the wall time of each part.
    """
    from qwemlib import evaluate as ev
    from qwemlib import rmt
    from qwemlib.flow import full_spectrum, gradient_flow, random_init
    from qwemlib.theory import ClosedFormDynamics, closed_form_embeddings

    secs = {}
    t = time.perf_counter()
    words = list(st.words)
    index = {w: i for i, w in enumerate(words)}
    D = eig.d
    W = closed_form_embeddings(st.M, D, eig=eig)
    V = W.shape[0]
    emb = ev.Embeddings(words, W)
    sections = ev.read_analogies("google-analogies")
    pairs_all = ev.analogy_pairs(sections, emb)
    fams = [f for f, p in pairs_all.items() if len(p) >= LS["n_min"]]
    Ns = {f: len(pairs_all[f]) for f in fams}
    R_full = {f: rmt.task_vectors(W, pairs_all[f], index) for f in fams}
    out = {f"const/{k}": np.asarray(v) for k, v in LS.items()}
    out |= {"families": np.array(list(pairs_all)), "kept": np.array(fams),
            "eigenvalues": eig.values[:D].copy(), "V": np.int64(V), "D": np.int64(D),
            "rbar": np.array([R_full[f].mean(axis=0) for f in fams])}
    for f, p in pairs_all.items():
        out[f"pairs/{f}"] = np.array(p, dtype=str).reshape(len(p), 2)
    cos_feat = W / np.linalg.norm(W, axis=1, keepdims=True)
    n = LS["feature_words"]
    out["feature_words_pos"] = np.array([[words[i] for i in np.argsort(-cos_feat[:, k])[:n]] for k in range(D)])
    out["feature_words_neg"] = np.array([[words[i] for i in np.argsort(cos_feat[:, k])[:n]] for k in range(D)])

    # Gram spectra at three sizes (the chapter refits MP to them), signal in mean, null KS
    D_LIST = sorted({max(2, D // 5), D // 2, D})
    out["d_list"] = np.array(D_LIST)
    sim = np.zeros((len(fams), len(D_LIST)))
    for i, f in enumerate(fams):
        for j, d in enumerate(D_LIST):
            R = R_full[f][:, :d]
            out[f"spectrum/{f}/{d}"] = rmt.gram_spectrum(R)
            fit = rmt.fit_marchenko_pastur(out[f"spectrum/{f}/{d}"], R=R)
            out[f"fit/{f}/{d}"] = np.array([fit.sigma2, fit.gamma, fit.d_eff, fit.ks_distance, fit.n_outliers])
            sim[i, j] = rmt.signal_in_mean(R)
    out["sim"] = sim
    rng = np.random.default_rng(LS["rng_seed"])
    null_N = sorted(set(Ns.values()))
    null_ks = []
    for N in null_N:
        ks = []
        for _ in range(LS["n_null"]):
            Rn = rmt.spiked_wishart(N, D, 1.0, 0.0, seed=int(rng.integers(1 << 31)))
            ks.append(rmt.fit_marchenko_pastur(rmt.gram_spectrum(Rn), R=Rn).ks_distance)
        null_ks.append(float(np.median(ks)))
    out["null_ks_N"], out["null_ks"] = np.array(null_N), np.array(null_ks)
    secs["spectra, fits on noise"] = time.perf_counter() - t
    log(f"linear structure: {len(fams)} families with N >= {LS['n_min']} (N {min(Ns.values())}..{max(Ns.values())}); "
        f"spectra and null fits {secs['spectra, fits on noise']:.0f} s")

    # SNR over every d, and the random-pair baseline (same rng stream as the chapter)
    t = time.perf_counter()
    d_all = np.arange(1, D + 1)
    out["snr_d"] = np.array([[rmt.snr(rmt.gram_spectrum(R_full[f][:, :d])) for d in d_all] for f in fams])
    base = []
    for N in null_N:
        ij = np.array([rng.choice(V, size=2, replace=False) for _ in range(LS["n_base"] * N)]
                      ).reshape(LS["n_base"], N, 2)
        Rb = W[ij[..., 1]] - W[ij[..., 0]]
        vals = np.array([[rmt.snr(rmt.gram_spectrum(Rb[b, :, :d])) for d in d_all] for b in range(LS["n_base"])])
        base.append(np.percentile(vals, 95, axis=0))
    out["base95_N"], out["base95"] = np.array(null_N), np.array(base)
    secs["snr and random-pair baseline"] = time.perf_counter() - t
    log(f"   SNR and baseline: {secs['snr and random-pair baseline']:.0f} s")

    # per-family accuracy (pairs protocol) over a grid of d
    t = time.perf_counter()
    fam_pairs = {f: pairs_all[f] for f in fams}

    def family_accuracy(Wd):
        return ev.family_accuracy(ev.Embeddings(words, Wd), fam_pairs)

    D_GRID = np.unique(np.round(np.geomspace(2, D, LS["n_d_grid"])).astype(int))
    out["d_grid"] = D_GRID
    out["acc_grid"] = np.array([family_accuracy(W[:, :d]) for d in D_GRID])
    secs["accuracy over d"] = time.perf_counter() - t
    log(f"   accuracy over {len(D_GRID)} values of d: {secs['accuracy over d']:.0f} s")

    # QWEM gradient flow on the full M* from a small random start (the chapter's last section)
    dyn = ClosedFormDynamics.from_random_init(eig, LS["flow_sigma"], seed=LS["flow_seed"], s0="projected")
    out["tau"] = dyn.tau
    if flow:
        t = time.perf_counter()
        spec = full_spectrum(st.M, cache=False)
        secs["full eigh of M* (flow)"] = time.perf_counter() - t
        log(f"   full eigh of M*: {secs['full eigh of M* (flow)']:.0f} s")
        t = time.perf_counter()
        times = np.geomspace(0.6 * dyn.tau[0], 1.3 * dyn.tau[-1], LS["flow_times"])
        fr = gradient_flow(st.M, random_init(V, D, LS["flow_sigma"], LS["flow_seed"]), times, spectrum=spec,
                           rtol=LS["flow_rtol"])
        del spec
        out["flow_times"] = times
        out["acc_flow"] = np.array([family_accuracy(Wt) for Wt in fr.W])
        out["flow_nsteps"] = np.int64(fr.nsteps)
        out["flow_loss"] = fr.loss
        del fr
        secs["gradient flow and its accuracy"] = time.perf_counter() - t
        log(f"   gradient flow ({len(times)} snapshots): {secs['gradient flow and its accuracy']:.0f} s")
    return out, secs


def linear_sgd(st, eig, preset, *, steps=LINEAR_SGD["steps"], meta: dict | None = None,
               log=print) -> tuple[dict, dict]:
    """book/07's check of the predicted per-family rise times against SGD (issue 6).

    Trains QWEM by minibatch SGD (:func:`qwemlib.train.train`, :data:`LINEAR_SGD`) from
    ``N(0, sigma^2)`` with the chapter's flow ``sigma`` and seed, and at log-spaced record
    steps computes the chapter's per-family accuracy (:func:`qwemlib.evaluate.family_accuracy`
    on the Google families with at least ``LS["n_min"]`` in-vocabulary pairs; 3CosAdd, pairs
    protocol). Also stores ``tau`` predicted from this run's own ``W(0)`` (``s0="projected"``).

    Returns:
        The arrays for ``linear_sgd.npz`` and a JSON-able description of the run.
    """
    from qwemlib import evaluate as ev
    from qwemlib import train as T
    from qwemlib.theory import ClosedFormDynamics

    words = list(st.words)
    sections = ev.read_analogies("google-analogies")
    pairs_all = ev.analogy_pairs(sections, ev.Embeddings(words, np.zeros((len(words), 1))))
    fams = {f: p for f, p in pairs_all.items() if len(p) >= LS["n_min"]}
    rec = np.unique(np.round(np.geomspace(LINEAR_SGD["first_record"], steps,
                                          LINEAR_SGD["n_records"])).astype(int))
    cfg = T.TrainConfig(loss="qwem", dim=preset.dim, steps=steps, lr=LINEAR_SGD["lr"],
                        batch_pos=LINEAR_SGD["batch"], batch_neg=LINEAR_SGD["batch"],
                        schedule=LINEAR_SGD["schedule"], negatives=LINEAR_SGD["negatives"],
                        init="gaussian", init_scale=LS["flow_sigma"], seed=LS["flow_seed"],
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
    dyn = ClosedFormDynamics.from_initial(eig, W0[0], s0="projected")
    out = {"families": np.array(list(fams)), "steps": res.steps, "times": res.times,
           "acc": np.array(acc), "objective": res.objective, "loss": res.loss,
           "singular_values": res.singular_values.astype(np.float32), "tau_own_init": dyn.tau,
           "const/flow_sigma": np.asarray(LS["flow_sigma"]), "const/flow_seed": np.asarray(LS["flow_seed"]),
           "const/n_min": np.asarray(LS["n_min"]), "lr": np.float64(cfg.lr),
           "wall_s": np.float64(res.wall_time), "config": np.array(cfg.to_json()),
           # the final embeddings: book/06 scores them as its QWEM (SGD) model at ci
           "W_final": res.W.astype(np.float16), "words": np.array(words)}
    if meta is not None:
        out["provenance"] = np.array(json.dumps({k: meta[k] for k in ("command", "commit", "date_utc", "machine",
                                                                       "library_modified_since_commit")
                                                 if k in meta}, default=str))
    info = json.loads(cfg.to_json()) | {"wall_s": res.wall_time, "pairs_per_s": res.pairs_per_second,
                                        "grad_path": res.grad_path, "device": res.device,
                                        "t_end": float(res.times[-1])}
    log(f"   {res.wall_time:.0f} s ({res.grad_path} path, {res.pairs_per_second:,.0f} pairs/s); "
        f"mean family accuracy {np.mean(acc[-1]):.3f} at t = {res.times[-1]:.3f}", flush=True)
    return out, info


def _linear_sgd_note(info: dict, meta: dict) -> str:
    c = info
    return (f"`linear_sgd.npz` (book/07, issue 6): QWEM SGD, negatives {c['negatives']}, init gaussian "
            f"(sigma {c['init_scale']:g}, seed {c['seed']}), {c['steps']} steps of {c['batch_pos']:,}+"
            f"{c['batch_neg']:,} pairs, lr {c['lr']:g} {c['schedule']}, {c['dtype']}, t_end = {c['t_end']:.3f}, "
            f"records at step 0 and {len(c['record_steps'])} log-spaced steps from {LINEAR_SGD['first_record']}; "
            f"{c['wall_s']:.0f} s on {c['device']} ({c['grad_path']} gradient); command `{meta['command']}`, "
            f"commit `{meta['commit']}`" + (" (library or script modified since that commit)"
                                             if meta.get("library_modified_since_commit") else "")
            + f", {meta['date_utc']}, {meta['machine']['processor']} {meta['machine']['cpu_count']} cores, "
            f"1-min load average {meta['machine']['loadavg_start']:.1f} at start. Keys: `families`, `steps`, "
            "`times` (t = 2 sum(eta)), `acc` (record, family) accuracy (3CosAdd, pairs protocol), "
            "`objective`, `loss`, `singular_values`, `tau_own_init` (tau_k from this run's W(0)), `lr`, "
            "`wall_s`, `config` (TrainConfig JSON), `provenance` (JSON), `const/*`, `W_final` and `words` "
            "(the final (V, d) embeddings, float16, and their vocabulary; book/06's QWEM (SGD) at ci).")


def main_linear_sgd(preset, argv, out_dir: Path | None = None) -> int:
    """``--only linear-sgd``: run :func:`linear_sgd` alone, write ``linear_sgd.npz`` and append its
    provenance to the README beside it (the other stored files are left untouched)."""
    from qwemlib.pipeline import corpus_statistics
    from qwemlib.theory import top_eigenpairs

    if preset.name != "ci":
        raise SystemExit(f"--only linear-sgd runs at ci only (at {preset.name} QWEM SGD needs a GPU)")
    t_all = time.perf_counter()
    meta = {"command": "python tools/make_results.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "commit": _git_commit(), "library_modified_since_commit": _git_dirty(),
            "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": _machine()}
    st = corpus_statistics(preset)
    eig = top_eigenpairs(st.M, preset.dim)
    arrays, info = linear_sgd(st, eig, preset, meta=meta)
    out_dir = out_dir or ROOT / "data" / "results" / preset.name
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_dir / "linear_sgd.npz", **arrays)
    total = time.perf_counter() - t_all
    note = _linear_sgd_note(info, meta)
    section = (f"\n## Appended by `{meta['command']}`\n\n- {note}\n- total time {total:.0f} s "
               f"(statistics, top-{preset.dim} eigenpairs, SGD, accuracies); 1-min load average "
               f"{os.getloadavg()[0]:.1f} at end (shared machine)\n")
    readme = out_dir / "README.md"
    text = readme.read_text() if readme.exists() else ""
    # a rerun replaces the previous run's section: the README describes the file as it is
    text = re.sub(r"\n## Appended by `[^`]*--only linear-sgd`\n.*?(?=\n## |\Z)", "", text, flags=re.S)
    readme.write_text(text.rstrip("\n") + "\n" + section)
    print(f"wrote {out_dir / 'linear_sgd.npz'} in {total:.0f} s", flush=True)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="ci", choices=["ci", "local", "full"])
    ap.add_argument("--train", action="store_true", help="run SGD at local/full (GPU); always on at ci")
    ap.add_argument("--steps", type=int, default=SGD["steps"])
    ap.add_argument("--batch", type=int, default=SGD["batch"])
    ap.add_argument("--lr", type=float, default=SGD["lr"])
    ap.add_argument("--gensim-epochs", type=int, default=None,
                    help=f"gensim Word2Vec epochs (default {GENSIM_EPOCHS} at ci, {GENSIM_EPOCHS_LARGE} otherwise)")
    ap.add_argument("--no-flow", action="store_true",
                    help="skip the gradient-flow part of linear_structure.npz (a full eigh of M*)")
    ap.add_argument("--scratch", type=Path, default=None,
                    help="folder (outside the repository) where gensim's vectors are kept and reused")
    ap.add_argument("--quick", action="store_true", help="smoke test: 30 steps, 1 gensim epoch, no files")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--only", choices=["linear-sgd"], default=None,
                    help="run one part alone: 'linear-sgd' = book/07's SGD check (ci), writes linear_sgd.npz "
                         "and appends to README.md, leaving the other files alone")
    args = ap.parse_args(argv)

    from qwemlib import config, evaluate, pipeline
    from qwemlib.corpus import load_corpus

    preset = config.preset(args.scale)
    if args.only == "linear-sgd":
        return main_linear_sgd(preset, argv, args.out)
    out_dir = args.out or ROOT / "data" / "results" / preset.name
    epochs = 1 if args.quick else (args.gensim_epochs or (GENSIM_EPOCHS if preset.name == "ci"
                                                          else GENSIM_EPOCHS_LARGE))
    t_all = time.perf_counter()
    meta = {"command": "python tools/make_results.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "commit": _git_commit(), "library_modified_since_commit": _git_dirty(),
            "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "preset": asdict(preset), "machine": _machine(), "timings_s": {}}
    print(f"make_results: {preset.caption()}; commit {meta['commit'][:10]}", flush=True)

    notes = []
    do_train = args.scale == "ci" or args.train
    store_embs = preset.vocab * preset.dim <= MAX_STORED_CELLS
    t = time.perf_counter()
    corp = load_corpus(preset.corpus, preset.vocab, min_article_tokens=preset.min_article_tokens,
                       max_tokens=preset.max_tokens)
    meta["statistics_cached"] = pipeline.cooccurrence_cache_path(preset, "word2vec").exists()
    del corp
    st = pipeline.corpus_statistics(preset)
    meta["timings_s"]["statistics"] = time.perf_counter() - t
    meta["corpus"] = {"raw_tokens": st.corpus.n_raw_tokens, "kept_tokens": st.corpus.n_tokens,
                      "articles": st.corpus.n_articles, "coverage": st.corpus.vocab.coverage}
    print(f"statistics: {meta['timings_s']['statistics']:.0f} s; {st.corpus.n_tokens:,} tokens kept of "
          f"{st.corpus.n_raw_tokens:,}, {st.corpus.n_articles:,} articles", flush=True)
    cf, secs = closed_forms(st, preset)
    meta["timings_s"] |= {f"eigensolve {k}": v for k, v in secs.items()}
    meta["eigensolver"] = {k: {"method": e.method, "lambda_1": float(e.values[0]), "lambda_d": float(e.values[-1])}
                           for k, (_, e) in cf.items()}
    eig = cf["svd(M*)"][1]
    embs = {}
    if do_train:
        steps = 30 if args.quick else args.steps
        t = time.perf_counter()
        tr = train_runs(st, eig, preset, steps=steps, batch=args.batch, lr=args.lr)
        meta["timings_s"]["sgd (4 runs)"] = time.perf_counter() - t
        meta["g_sgns"] = tr["g_sgns"]
        meta["sgd"] = {k: json.loads(r["cfg"].to_json()) | {
            "wall_s": r["res"].wall_time, "pairs_per_s": r["res"].pairs_per_second,
            "grad_path": r["res"].grad_path, "device": r["res"].device} for k, r in tr["runs"].items()}
        embs["word2vec (SGNS)"] = evaluate.Embeddings(st.words, tr["runs"]["sgns-w2v"]["res"].W)
        embs["QWEM (SGD)"] = evaluate.Embeddings(st.words, tr["runs"]["qwem-small"]["res"].W)
    lsgd = None
    if preset.name == "ci" and not args.quick:
        t = time.perf_counter()
        lsgd = linear_sgd(st, eig, preset, meta=meta)
        meta["timings_s"]["linear structure: sgd (book/07)"] = time.perf_counter() - t
    for name, (e, _) in cf.items():
        embs[name] = e
    ls_arrays = None
    if not store_embs and not args.quick:
        # before gensim, so that a failure here costs minutes, not the gensim run
        t = time.perf_counter()
        ls_arrays, ls_secs = linear_structure(st, eig, flow=not args.no_flow)
        meta["timings_s"] |= {f"linear structure: {k}": v for k, v in ls_secs.items()}
        meta["timings_s"]["linear structure (book/07)"] = time.perf_counter() - t
    if preset.name != "ci" and not do_train:
        import logging

        logging.basicConfig(format="%(asctime)s %(name)s %(message)s")
        logging.getLogger("gensim.models.word2vec").setLevel(logging.INFO)
    emb_g, dtg, reused = gensim_embeddings(st, preset, epochs=epochs, scratch=args.scratch)
    meta["timings_s"]["gensim"] = dtg
    meta["gensim"] = {"epochs": epochs, "sg": 1, "negative": 5, "sample": 1e-5, "window": preset.window,
                      "vector_size": preset.dim, "min_count": 1, "workers": 2, "seed": 0,
                      "reused_from_scratch": reused}
    gname = f"gensim Word2Vec ({epochs} ep)"
    embs[gname] = emb_g
    t = time.perf_counter()
    table = evaluate.benchmark_table(embs)
    rows = [asdict(r) for r in table]
    meta["timings_s"]["benchmarks"] = time.perf_counter() - t
    print(evaluate.format_table(table) if args.quick or not store_embs else "", flush=True)
    if args.quick:
        print(f"quick run done in {time.perf_counter() - t_all:.0f} s; nothing written")
        return 0
    out_dir.mkdir(parents=True, exist_ok=True)
    if do_train:
        arrays = {"eigenvalues": eig.values, "g_sgns": np.float64(tr["g_sgns"]),
                  "pc_words": np.array(list(st.words)[:N_PC_WORDS])}
        for key, r in tr["runs"].items():
            res = r["res"]
            p = key + "/"
            arrays |= {p + "steps": res.steps, p + "times": r["times"], p + "loss": res.loss,
                       p + "objective": res.objective, p + "singular_values": res.singular_values,
                       p + "analogy_accuracy": r["acc"], p + "overlap": r["overlap"],
                       p + "overlap_k": r["ks"], p + "theory_t": r["theory_t"],
                       p + "theory_s2": r["theory_s2"], p + "theory_loss": r["theory_loss"],
                       p + "tau": r["tau"], p + "s0": r["s0"], p + "pc": r["pc"],
                       p + "lr": np.float64(r["cfg"].lr)}
        np.savez_compressed(out_dir / "train.npz", **arrays)
    if lsgd is not None:
        np.savez_compressed(out_dir / "linear_sgd.npz", **lsgd[0])
        notes.append(_linear_sgd_note(lsgd[1], meta))
    if store_embs:
        np.savez_compressed(out_dir / "embeddings.npz", words=np.array(list(st.words)),
                            **{k: e.vectors.astype(np.float16) for k, e in embs.items()})
    else:
        t = time.perf_counter()
        np.savez_compressed(out_dir / "features.npz", **feature_summary(embs, preset.dim))
        meta["timings_s"]["features (book/06)"] = time.perf_counter() - t
        np.savez_compressed(out_dir / "linear_structure.npz", **ls_arrays)
        if not do_train:
            notes.append("No SGD at this preset: training QWEM and word2vec on 65 M tokens at V = 10,000, "
                         "d = 200 needs a GPU (`--train`). The QWEM column of book/06 is therefore the "
                         "closed form svd(M*) (what QWEM SGD converges to, Theorem 1), and its word2vec "
                         f"column is gensim's Word2Vec, trained {epochs} epochs on the same tokens "
                         f"({f'ci uses {GENSIM_EPOCHS}' if epochs != GENSIM_EPOCHS else 'as at ci'}).")
        notes.append(f"The ({preset.vocab:,}, {preset.dim}) embeddings are not stored (too large); "
                     "features.npz and linear_structure.npz hold what book/06 and book/07 derive from them.")
    if reused:
        notes.append(f"gensim's vectors were reused from an earlier run of this command with the same "
                     f"settings ({reused}); its wall time is that run's.")
    meta["timings_s"]["total"] = time.perf_counter() - t_all
    meta["machine"]["loadavg_end"] = os.getloadavg()[0]
    (out_dir / "benchmark.json").write_text(json.dumps({"rows": rows, "meta": meta}, indent=1, default=str))
    _write_readme(out_dir, preset, meta, notes)
    print(f"wrote {out_dir} in {meta['timings_s']['total']:.0f} s")
    return 0


def _write_readme(out_dir: Path, preset, meta: dict, notes: list[str]) -> None:
    files = sorted(p.name for p in out_dir.iterdir() if p.is_file() and p.name != "README.md")
    sizes = {f: (out_dir / f).stat().st_size for f in files}
    m = meta["machine"]
    lines = [
        f"# Stored results, preset `{preset.name}`",
        "",
        "Written by `tools/make_results.py`; read by book/05_training.md and book/06_qwem_vs_word2vec.md"
        + (" and book/07_linear_structure.md." if {"linear_structure.npz", "linear_sgd.npz"} & set(files) else "."),
        "Do not edit by hand: rerun the command.",
        "",
        f"- command: `{meta['command']}`",
        f"- commit: `{meta['commit']}`" + (" (library or script modified since that commit)"
                                           if meta.get("library_modified_since_commit") else ""),
        f"- corpus: {preset.corpus} ({preset.description})"
        + (f"; read here: {meta['corpus']['raw_tokens']:,} raw tokens, {meta['corpus']['kept_tokens']:,} kept "
           f"(vocabulary coverage {meta['corpus']['coverage']:.1%}), {meta['corpus']['articles']:,} articles"
           if "corpus" in meta else ""),
        f"- preset: {preset.caption()}",
        f"- machine: {m['processor']}, {m['cpu_count']} cores, JAX on {m['jax_device']}, "
        f"{m['platform']}; 1-min load average {m['loadavg_start']:.1f} at start, "
        f"{m.get('loadavg_end', float('nan')):.1f} at end (shared machine)",
        f"- date: {meta['date_utc']}",
        f"- total time: {meta['timings_s'].get('total', float('nan')):.0f} s",
        "- wall times: " + "; ".join(f"{k} {v:.0f} s" for k, v in meta["timings_s"].items() if k != "total")
        + (" (statistics loaded from the on-disk cache)" if meta.get("statistics_cached") else ""),
        "",
        "Files:",
        "",
    ]
    desc = {
        "train.npz": "SGD records of the four runs (`<run>/steps, times, singular_values, loss, objective, "
                     "analogy_accuracy, overlap, overlap_k, theory_t, theory_s2, theory_loss, tau, s0, pc, lr`; "
                     "runs: qwem-small, qwem-w2v, sgns-small, sgns-w2v) plus `eigenvalues`, `g_sgns`, `pc_words`",
        "embeddings.npz": "float16 (V, d) embeddings of every model in the benchmark table, key = model name, "
                          "plus `words`",
        "features.npz": "book/06's Figures 3a and 5 without the embeddings: `models`; per model `words/<m>` "
                        "(d, 6) top words of each principal component, `sign/<m>`, `cosines/<m>`, "
                        "`singular_values/<m>`; per pair `overlap/<a> | <b>` (d, d) squared overlaps of the left "
                        "singular vectors (float32) and `subspace/<a> | <b>` top-k subspace overlaps, k in `subspace_k`",
        "linear_structure.npz": "book/07 from svd(M*): `families`, `pairs/<family>` (in-vocabulary pairs), `kept` "
                                "(N >= const/n_min), `rbar` mean task vectors, `feature_words_pos/neg`, `d_list`, "
                                "`spectrum/<family>/<d>` Gram spectra, `fit/<family>/<d>` their Marchenko-Pastur fit (sigma2, gamma, "
                                "d_eff, KS distance, outliers), `sim` signal in mean, `null_ks_N`/`null_ks`, "
                                "`snr_d` (family, d), `base95_N`/`base95` random-pair SNR 95th percentile, "
                                "`d_grid`/`acc_grid` per-family accuracy, `tau`, `flow_times`/`acc_flow`/`flow_nsteps`/"
                                "`flow_loss` gradient flow, `const/*` the chapter's constants",
        "linear_sgd.npz": "book/07's SGD check: per-family accuracy (`acc`, record x family) of a QWEM SGD run "
                          "at `times`; see the note below",
        "benchmark.json": "Figure 3b rows (`rows`: model, benchmark, metric, value, covered, total) and `meta` "
                          "(configurations, timings, provenance)",
    }
    for f in files:
        lines.append(f"- `{f}` ({sizes[f] / 1e3:.0f} kB): {desc.get(f, '')}")
    if "sgd" in meta:
        lines += ["", "SGD runs (theory time t = 2 g sum(lr); SGNS lr = 2 lr / mean G, "
                      f"mean G = {meta['g_sgns']:.4g}):", ""]
        for k, c in meta["sgd"].items():
            lines.append(f"- {k}: {c['loss']}, init {c['init']}"
                         + (f" (sigma {c['init_scale']:g})" if c["init"] == "gaussian" else "")
                         + f", {c['steps']} steps of {c['batch_pos']:,}+{c['batch_neg']:,} pairs, lr {c['lr']:.4g}, "
                         f"schedule {c['schedule']}, {c['dtype']}, seed {c['seed']}; {c['wall_s']:.0f} s on "
                         f"{c['device']} ({c['grad_path']} gradient)")
    for n in notes:
        lines += ["", n]
    (out_dir / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
