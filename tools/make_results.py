"""Regenerate the stored results that chapters 5, 6 and 7 read (``data/results/<preset>/``).

Some of what the chapters show takes longer than a chapter may run: SGD long enough
to learn the top eigen-features, gensim's epochs, every eigensolve of the local
preset. This script does that work once and writes small files that the chapters read:

``train.npz``
    For each run in :data:`qwemlib.experiments.RUNS` (QWEM and word2vec/SGNS, each from small Gaussian
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
    (:data:`qwemlib.experiments.LINEAR_SGD`), and its final embeddings (float16), which book/06 scores as
    its QWEM (SGD) model. ``--only linear-sgd`` runs this part alone (a few minutes) and
    writes its provenance into the README (replacing that of an earlier such run),
    leaving the other files untouched.
``benchmark.json``
    The Figure 3b rows of every model (computed from the float32/float64 embeddings),
    and the configuration, timings and provenance of every part.
``README.md``
    The note: command, commit, corpus, preset, machine, date, what each file holds.

Every preset runs the same pipeline (statistics, the three closed forms, gensim, the
benchmarks); SGD runs at ci, and elsewhere only with ``--train`` (no SGD run is stored
at local yet). gensim trains ``--gensim-epochs`` epochs: 10 by default at ci, 3 at the
other presets (about 8 minutes per epoch of the 65 M-token local corpus on 2 cores).

Usage:
    python tools/make_results.py --scale ci            # ~15 min on a shared 2-core CPU
    python tools/make_results.py --scale local         # ~40 min on a shared 2-core CPU
    python tools/make_results.py --scale local --train # adds SGD (meant for a GPU)
    python tools/make_results.py --scale ci --quick    # a smoke test (few steps), not stored
    python tools/make_results.py --scale ci --only linear-sgd   # book/07's SGD check alone (~3 min)
    python tools/make_results.py --scale local --only linear     # book/07's linear_structure.npz alone
    python tools/make_results.py --scale ci --out /tmp/ci      # write elsewhere, then compare:
    python tools/compare_results.py data/results/ci /tmp/ci    # exit 1 on any difference

This script is orchestration: which experiments run, where their files go, the README.
The experiments (and what each file holds) are in :mod:`qwemlib.experiments`; reading,
writing and provenance in :mod:`qwemlib.results`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The training runs (SGD configuration, initialization, the four runs, the Figure 1 words) are
# book/05's experiment: qwemlib.experiments._training; PLANS (per preset), SMALL_INIT, N_PC_WORDS live there.
from qwemlib import experiments, results  # noqa: E402  (after the sys.path line)

# book/06's experiments (the closed-form trio, the gensim peer with GENSIM_EPOCHS at ci and
# GENSIM_EPOCHS_LARGE elsewhere, the feature summaries) are in qwemlib/experiments/ too.
from qwemlib.experiments import (  # noqa: E402  (after the sys.path line)
    GENSIM_EPOCHS,
    GENSIM_EPOCHS_LARGE,
    closed_forms,
    feature_summary,
    gensim_embeddings,
)

# store (V, d) embeddings only when V * d is at most this (ci: 100,000; local: 2,000,000)
MAX_STORED_CELLS = 1_000_000
# book/07's constants (LINEAR_CONSTANTS) and its SGD check (LINEAR_SGD) live in
# qwemlib/experiments/_linear.py and _linear_sgd.py, with the code that uses them.


def main_linear_sgd(preset, argv, out_dir: Path | None = None) -> int:
    """``--only linear-sgd``: book/07's SGD check alone (:func:`qwemlib.experiments.run_linear_sgd`),
    writing ``linear_sgd.npz`` and its README section (the other stored files are left untouched)."""
    if preset.name != "ci":
        raise SystemExit(f"--only linear-sgd runs at ci only (at {preset.name}, use --train)")
    experiments.run_linear_sgd(preset, _command(argv), out_dir)
    return 0


def _command(argv) -> str:
    """The command line as the README and the provenance records show it."""
    return "python tools/make_results.py " + " ".join(argv if argv is not None else sys.argv[1:])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="ci", choices=["ci", "hub", "local", "full"])
    ap.add_argument("--train", action="store_true", help="run SGD at local/full; always on at ci")
    ap.add_argument("--steps", type=int, default=None, help="override every run's steps (default: plan's)")
    ap.add_argument("--batch", type=int, default=None, help="override every run's pairs per half-batch")
    ap.add_argument("--lr", type=float, default=None, help="override every run's (QWEM) step size")
    ap.add_argument("--backend", choices=["jax", "cpu-kernel"], default=None,
                    help="override every run's trainer (default: the plan's; jax on a GPU)")
    ap.add_argument("--gensim-epochs", type=int, default=None,
                    help=f"gensim Word2Vec epochs (default {GENSIM_EPOCHS} at ci, "
                         f"{GENSIM_EPOCHS_LARGE} otherwise)")
    ap.add_argument("--no-flow", action="store_true",
                    help="skip the gradient-flow part of linear_structure.npz (a full eigh of M*)")
    ap.add_argument("--scratch", type=Path, default=None,
                    help="folder (outside the repository) where gensim's vectors are kept and reused")
    ap.add_argument("--quick", action="store_true", help="smoke test: 30 steps, 1 gensim epoch, no files")
    ap.add_argument("--out", type=Path, default=None,
                    help="folder to write into (default data/results/<preset>); e.g. a temporary one, "
                         "to compare with the stored files by tools/compare_results.py")
    ap.add_argument("--max-tokens", type=int, default=None,
                    help="read only the first N raw tokens of the corpus (tools/gpu_run.sh's shard subset)")
    ap.add_argument("--no-gensim", action="store_true",
                    help="leave gensim out (a machine without it, e.g. the GPU image); its rows are absent")
    ap.add_argument("--only", choices=["linear", "linear-sgd", "train"], default=None,
                    help="run one part alone: 'linear-sgd' = book/07's SGD check (ci), writes "
                         "linear_sgd.npz and appends to README.md, leaving the other files alone; "
                         "'linear' = book/07's linear_structure.npz (local/full) alone, the same way")
    args = ap.parse_args(argv)

    from qwemlib import config, evaluate, pipeline
    from qwemlib.corpus import load_corpus

    preset = config.preset(args.scale, **({"max_tokens": args.max_tokens} if args.max_tokens else {}))
    if args.only == "linear-sgd":
        return main_linear_sgd(preset, argv, args.out)
    if args.only == "linear":
        if preset.vocab <= experiments.LIVE_MAX_V:
            raise SystemExit(f"--only linear: at {preset.name} book/07 computes it live; nothing is stored")
        experiments.run_linear_structure(preset, _command(argv), args.out, flow=not args.no_flow)
        return 0
    out_dir = args.out or results.results_dir(preset)
    epochs = 1 if args.quick else (args.gensim_epochs or (GENSIM_EPOCHS if preset.name == "ci"
                                                          else GENSIM_EPOCHS_LARGE))
    t_all = time.perf_counter()
    meta = results.stored_meta(_command(argv)) | {"preset": asdict(preset), "timings_s": {}}
    print(f"make_results: {preset.caption()}; commit {meta['commit'][:10]}", flush=True)

    notes = []
    do_train = args.scale == "ci" or args.train or args.only == "train"
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
    print(f"statistics: {meta['timings_s']['statistics']:.0f} s; {st.corpus.n_tokens:,} tokens kept "
          f"of {st.corpus.n_raw_tokens:,}, {st.corpus.n_articles:,} articles", flush=True)
    cf, secs = closed_forms(st, preset)
    meta["timings_s"] |= {f"eigensolve {k}": v for k, v in secs.items()}
    meta["eigensolver"] = {k: {"method": e.method, "lambda_1": float(e.values[0]),
                               "lambda_d": float(e.values[-1])} for k, (_, e) in cf.items()}
    eig = cf["svd(M*)"][1]
    embs = {}
    if do_train:
        plan = experiments.training_plan(preset, steps=30 if args.quick else args.steps, lr=args.lr,
                                         batch=args.batch, backend=args.backend)
        t = time.perf_counter()
        tr = experiments.train_against_theory(st, eig, preset, plan=plan)
        meta["timings_s"][f"sgd ({len(plan)} runs)"] = time.perf_counter() - t
        meta["g_sgns"] = tr["g_sgns"]
        meta["sgd"] = experiments.run_configs(tr)
        if tr.get("diverged"):
            meta["sgd_diverged"] = tr["diverged"]
            notes.append("Diverged and not stored: "
                         + "; ".join(f"{k}: {v}" for k, v in tr["diverged"].items()))
        for r in tr["runs"].values():
            if r["spec"].model:
                embs[r["spec"].model] = evaluate.Embeddings(st.words, r["res"].W)
        if not args.quick:  # at once, so that a later failure does not lose the runs
            out_dir.mkdir(parents=True, exist_ok=True)
            results.save_npz(out_dir / "train.npz", **experiments.train_arrays(tr, eig, st.words))
    lsgd = None
    if preset.name == "ci" and not args.quick and args.only is None:
        t = time.perf_counter()
        lsgd = experiments.linear_sgd(st, eig, preset, meta=meta)
        meta["timings_s"]["linear structure: sgd (book/07)"] = time.perf_counter() - t
    for name, (e, _) in cf.items():
        embs[name] = e
    ls_arrays = None
    if not store_embs and not args.quick and args.only is None:
        # before gensim, so that a failure here costs minutes, not the gensim run
        t = time.perf_counter()
        ls_arrays, ls_secs = experiments.linear_structure_arrays(st, eig, flow=not args.no_flow)
        meta["timings_s"] |= {f"linear structure: {k}": v for k, v in ls_secs.items()}
        meta["timings_s"]["linear structure (book/07)"] = time.perf_counter() - t
    if preset.name != "ci" and not do_train:
        import logging

        logging.basicConfig(format="%(asctime)s %(name)s %(message)s")
        logging.getLogger("gensim.models.word2vec").setLevel(logging.INFO)
    reused = None
    if not args.no_gensim:
        emb_g, dtg, reused = gensim_embeddings(st, preset, epochs=epochs, scratch=args.scratch)
        meta["timings_s"]["gensim"] = dtg
        meta["gensim"] = {"epochs": epochs, "sg": 1, "negative": 5, "sample": 1e-5, "window": preset.window,
                          "vector_size": preset.dim, "min_count": 1, "workers": 2, "seed": 0,
                          "reused_from_scratch": reused}
        embs[f"gensim Word2Vec ({epochs} ep)"] = emb_g
    else:
        notes.append("gensim was left out (`--no-gensim`): no gensim rows or features.")
    t = time.perf_counter()
    table = evaluate.benchmark_table(embs)
    rows = [asdict(r) for r in table]
    meta["timings_s"]["benchmarks"] = time.perf_counter() - t
    print(evaluate.format_table(table) if args.quick or not store_embs else "", flush=True)
    if args.quick:
        print(f"quick run done in {time.perf_counter() - t_all:.0f} s; nothing written")
        return 0
    out_dir.mkdir(parents=True, exist_ok=True)
    if lsgd is not None:
        results.save_npz(out_dir / "linear_sgd.npz", **lsgd[0])
        notes.append(experiments.linear_sgd_note(lsgd[1], meta))
    if store_embs:
        results.save_npz(out_dir / "embeddings.npz", words=np.array(list(st.words)),
                         **{k: e.vectors.astype(np.float16) for k, e in embs.items()})
    else:
        t = time.perf_counter()
        results.save_npz(out_dir / "features.npz", **feature_summary(embs, preset.dim))
        meta["timings_s"]["features (book/06)"] = time.perf_counter() - t
        if ls_arrays is not None:
            results.save_npz(out_dir / "linear_structure.npz", **ls_arrays)
        if not do_train:
            notes.append("No SGD runs are stored at this preset yet (`--train` makes them). The QWEM "
                         "column of book/06 is "
                         "therefore the closed form svd(M*) (what QWEM SGD converges to, Theorem 1), and "
                         f"its word2vec column is gensim's Word2Vec, trained {epochs} epochs on the same "
                         f"tokens ({f'ci uses {GENSIM_EPOCHS}' if epochs != GENSIM_EPOCHS else 'as at ci'}).")
        notes.append(f"The closed forms' and gensim's ({preset.vocab:,}, {preset.dim}) embeddings are not "
                     "stored (too large; the SGD runs' final embeddings are, in train.npz); features.npz "
                     "and linear_structure.npz hold what book/06 and book/07 derive from them.")
    if reused:
        notes.append(f"gensim's vectors were reused from an earlier run of this command with the same "
                     f"settings ({reused}); its wall time is that run's.")
    meta["timings_s"]["total"] = time.perf_counter() - t_all
    meta["machine"]["loadavg_end"] = os.getloadavg()[0]
    if args.only == "train":
        meta, note = results.merge_train_meta(results.read_benchmark(preset, folder=out_dir)[1], meta)
        notes.append(note)
    results.save_benchmark(out_dir / "benchmark.json", rows, meta)
    remade = () if args.only == "train" else ("linear", "linear-sgd")
    _write_readme(out_dir, preset, meta, notes, remade=remade)
    print(f"wrote {out_dir} in {meta['timings_s']['total']:.0f} s")
    return 0


#: What each stored file holds, as the README says it.
FILE_DESCRIPTIONS = {
    "train.npz": "SGD records of the preset's runs (qwemlib.experiments.PLANS; listed below): "
                 "`<run>/steps, times, singular_values, loss, objective, analogy_accuracy (NaN where not "
                 "scored), overlap, overlap_k, theory_t, theory_s2, theory_loss, tau, s0, pc, lr` and, in "
                 "files written since the local runs, `<run>/W_final` (the final (V, d) embeddings, "
                 "float16) with their vocabulary `words`; plus `eigenvalues`, `g_sgns`, `pc_words`",
    "pmi_conventions.json": "book/06's svd(PMI) under 20 conventions, written by "
                            "tools/store_pmi_conventions.py (its section below)",
    "embeddings.npz": "float16 (V, d) embeddings of every model in the benchmark table, key = model "
                      "name, plus `words`",
    "features.npz": "book/06's Figures 3a and 5 without the embeddings: `models`; per model `words/<m>` "
                    "(d, 6) top words of each principal component, `sign/<m>`, `cosines/<m>`, "
                    "`singular_values/<m>`; per pair `overlap/<a> | <b>` (d, d) squared overlaps of the "
                    "left singular vectors (float32) and `subspace/<a> | <b>` top-k subspace overlaps, "
                    "k in `subspace_k`",
    "linear_structure.npz": "book/07 from svd(M*): `families`, `pairs/<family>` (in-vocabulary pairs), "
                            "`kept` (N >= const/n_min), `rbar` mean task vectors, `feature_words_pos/neg`, "
                            "`d_list`, `spectrum/<family>/<d>` Gram spectra, `fit/<family>/<d>` their "
                            "Marchenko-Pastur fit (sigma2, gamma, d_eff, KS distance, outliers), `sim` "
                            "signal in mean, `null_ks_N`/`null_ks`, `snr_d` (family, d), "
                            "`base95_N`/`base95` random-pair SNR 95th percentile, `base_fall_N`/`base_fall` "
                            "each random-pair draw's peak-to-final SNR (the null of the fall), "
                            "`d_grid`/`acc_grid` "
                            "per-family accuracy, `tau`, `flow_times`/`acc_flow`/`flow_nsteps`/`flow_loss` "
                            "gradient flow, `const/*` the chapter's constants",
    "linear_sgd.npz": "book/07's SGD check: per-family accuracy (`acc`, record x family) of a QWEM SGD "
                      "run at `times`; see the note below",
    "benchmark.json": "Figure 3b rows (`rows`: model, benchmark, metric, value, covered, total) and "
                      "`meta` (configurations, timings, provenance)",
}


def _write_readme(out_dir: Path, preset, meta: dict, notes: list[str],
                  remade: tuple[str, ...] = ("linear", "linear-sgd")) -> None:
    files = sorted(p.name for p in out_dir.iterdir() if p.is_file() and p.name != "README.md")
    sizes = {f: (out_dir / f).stat().st_size for f in files}
    m, c = meta["machine"], meta.get("corpus")
    book07 = {"linear_structure.npz", "linear_sgd.npz"} & set(files)
    walls = "; ".join(f"{k} {v:.0f} s" for k, v in meta["timings_s"].items() if k != "total")
    lines = [
        f"# Stored results, preset `{preset.name}`",
        "",
        "Written by `tools/make_results.py`; read by book/05_training.md and book/06_qwem_vs_word2vec.md"
        + (" and book/07_linear_structure.md." if book07 else "."),
        "Do not edit by hand: rerun the command.",
        "",
        f"- command: `{meta['command']}`",
        f"- commit: `{meta['commit']}`" + (" (library or script modified since that commit)"
                                           if results.is_modified(meta) else ""),
        f"- corpus: {preset.corpus} ({preset.description})"
        + (f"; read here: {c['raw_tokens']:,} raw tokens, {c['kept_tokens']:,} kept "
           f"(vocabulary coverage {c['coverage']:.1%}), {c['articles']:,} articles" if c else ""),
        f"- preset: {preset.caption()}",
        f"- machine: {m['processor']}, {m['cpu_count']} cores, JAX on {m['jax_device']}, "
        f"{m['platform']}; 1-min load average {m['loadavg_start']:.1f} at start, "
        f"{m.get('loadavg_end', float('nan')):.1f} at end (shared machine)",
        f"- date: {meta['date_utc']}",
        f"- total time: {meta['timings_s'].get('total', float('nan')):.0f} s",
        "- wall times: " + walls
        + (" (statistics loaded from the on-disk cache)" if meta.get("statistics_cached") else ""),
        "",
        "Files:",
        "",
    ]
    for f in files:
        lines.append(f"- `{f}` ({sizes[f] / 1e3:.0f} kB): {FILE_DESCRIPTIONS.get(f, '')}")
    if "sgd" in meta:
        lines += ["", "SGD runs (theory time t = 2 g sum(lr); SGNS lr = 2 lr / mean G, "
                      f"mean G = {meta['g_sgns']:.4g}):", ""]
        for k, c in meta["sgd"].items():
            lines.append(f"- {k}: {c['loss']}, init {c['init']}"
                         + (f" (sigma {c['init_scale']:g})" if c["init"] == "gaussian" else "")
                         + f", {c['steps']} steps of {c['batch_pos']:,}+{c['batch_neg']:,} pairs, "
                         f"lr {c['lr']:.4g}, schedule {c['schedule']}, {c['dtype']}, seed {c['seed']}; "
                         f"{c['wall_s']:.0f} s on {c['device']} ({c['grad_path']} gradient)")
    for n in notes:
        lines += ["", n]
    lines += _kept_sections(out_dir / "README.md", remade)
    results.write_text(out_dir / "README.md", "\n".join(lines) + "\n")


def _kept_sections(readme: Path, remade: tuple[str, ...]) -> list[str]:
    """The ``## Appended by`` sections of an existing README: those of other tools (e.g.
    tools/store_pmi_conventions.py), which this script does not remake, and its own ``--only``
    sections except those whose files this run remade (``remade``: e.g. ``("linear",
    "linear-sgd")`` for a full run; ``--only train`` keeps the ``--only linear`` section, whose
    ``linear_structure.npz`` it leaves as it was)."""
    if not readme.exists():
        return []
    parts = readme.read_text().split("\n## Appended by ")
    gone = tuple(re.compile(r"`python tools/make_results\.py[^`]*--only " + re.escape(o) + "`")
                 for o in remade)
    return [line for part in parts[1:] if not any(g.match(part) for g in gone)
            for line in ["", "## Appended by " + part.rstrip("\n")]]


if __name__ == "__main__":
    raise SystemExit(main())
