"""The ``qwem`` command: corpus -> counts -> M* -> closed form -> benchmark table.

Subcommands:

* ``qwem solve`` runs the pipeline of Figure 3b for the closed-form models
  (svd(M*) = QWEM's minimiser by Theorem 1, svd(PPMI), svd(PMI)), prints the
  benchmark table and saves the embeddings (``.npz``, loadable with
  :meth:`qwemlib.evaluate.Embeddings.load`).
* ``qwem train`` trains QWEM and word2vec (SGNS) by SGD with :mod:`qwemlib.train`
  from small random initialization and writes the figure of their singular
  values against time with the closed-form prediction (eq. 11/13) on the same
  time axis (``t = 2 g sum(eta)``, no fitted factors), plus the records (``.npz``).
* ``qwem data`` lists the registered data files and where each was found.

Sizes come from a preset (``--scale`` or ``QWEM_SCALE``) and may be overridden
(``--corpus``, ``--vocab``, ``--dim``, ``--window``, ``--max-tokens``).

Used in: README.md (the quick start), bench/bench_foundation.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

__all__ = ["main", "solve", "train_and_compare"]


def _preset_from_args(args):
    from . import config

    p = config.preset(args.scale)
    over = {}
    for field, attr in (("corpus", "corpus"), ("vocab", "vocab"), ("dim", "dim"),
                        ("window", "window"), ("max_tokens", "max_tokens"),
                        ("min_article_tokens", "min_article_tokens")):
        val = getattr(args, attr, None)
        if val is not None:
            over[field] = val
    return config.preset(p.name, **over) if over else p


def solve(preset, *, out_dir: Path | None = None, protocols=("original", "pairs"),
          models=("svd(M*)", "svd(PPMI)", "svd(PMI)"), log=print) -> dict:
    """Closed-form embeddings of M*, PPMI and PMI for a preset, scored on the benchmarks.

    Args:
        preset: a :class:`~qwemlib.config.Preset`.
        out_dir: where to save ``<model>.npz`` embeddings and ``table.txt``/``table.json``.
        protocols: analogy protocols (see :func:`qwemlib.evaluate.evaluate_analogies`).
        models: which factorizations to compute.
        log: a print-like function for progress lines.

    Returns:
        dict with ``rows`` (list of :class:`~qwemlib.evaluate.BenchmarkRow`),
        ``table`` (str), ``embeddings`` (name -> Embeddings) and ``timings`` (seconds).
    """
    from . import evaluate, pipeline, stats, theory

    if preset.dim >= preset.vocab:
        raise ValueError(
            f"the embedding dimension d={preset.dim} must be smaller than the vocabulary "
            f"size V={preset.vocab} (the theory is about d << V); lower --dim or raise --vocab"
        )
    timings = {}
    t0 = time.perf_counter()
    st = pipeline.corpus_statistics(preset)
    timings["corpus+counts"] = time.perf_counter() - t0
    log(f"corpus: {st.corpus.n_raw_tokens:,} raw tokens, {st.corpus.n_tokens:,} kept "
        f"({100 * st.corpus.vocab.coverage:.1f}% coverage at V={preset.vocab:,}), "
        f"{st.corpus.n_articles:,} articles  [{timings['corpus+counts']:.1f} s]")
    targets = {}
    if "svd(M*)" in models:
        targets["svd(M*)"] = st.M
    if "svd(PPMI)" in models:
        targets["svd(PPMI)"] = stats.ppmi(st.P_ij, st.P_i)
    if "svd(PMI)" in models:
        targets["svd(PMI)"] = stats.pmi(st.P_ij, st.P_i)
    embs = {}
    for name, M in targets.items():
        t = time.perf_counter()
        W = theory.closed_form_embeddings(M, preset.dim)
        timings[f"eigensolve {name}"] = time.perf_counter() - t
        embs[name] = evaluate.Embeddings(st.words, W)
        log(f"{name}: top-{preset.dim} eigenpairs in {timings[f'eigensolve {name}']:.1f} s")
    del targets
    t = time.perf_counter()
    rows = evaluate.benchmark_table(embs, protocols=protocols)
    timings["benchmarks"] = time.perf_counter() - t
    table = evaluate.format_table(rows)
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, emb in embs.items():
            fname = name.replace("(", "_").replace(")", "").replace("*", "star").lower()
            emb.save(out_dir / f"{fname}.npz")
        (out_dir / "table.txt").write_text(table + "\n")
        (out_dir / "table.json").write_text(json.dumps(
            {"preset": asdict(preset), "rows": [asdict(r) for r in rows], "timings": timings},
            indent=1))
    return {"rows": rows, "table": table, "embeddings": embs, "timings": timings, "stats": st}


def _cmd_solve(args) -> int:
    p = _preset_from_args(args)
    print(f"qwem solve: {p.caption()}")
    print(f"  ({p.description})" if p.description else "")
    res = solve(p, out_dir=args.out if args.out else Path("_build") / "embeddings" / p.name,
                protocols=tuple(args.protocol))
    print()
    print(res["table"])
    if args.out is not None or True:
        out = args.out if args.out else Path("_build") / "embeddings" / p.name
        print(f"\nembeddings and table saved under {out}/")
    return 0


def train_and_compare(preset, *, losses=("qwem", "sgns"), steps=300, lr=None, batch=50_000,
                      init_scale=1e-3, dtype="float32", seed=0, out_dir: Path | None = None,
                      log=print, negatives: str = "unigram") -> dict:
    """SGD runs of QWEM and SGNS at a preset, with the closed-form theory on their time axis.

    Returns a dict with ``results`` (loss -> :class:`~qwemlib.train.TrainResult`),
    ``theory`` (loss -> (times, s(t)) of eq. 11 started from that run's W(0)),
    ``overlap`` (loss -> top-d subspace overlap of the final W with M*'s top-d
    eigenvectors) and ``figure`` (plotly). ``negatives`` is QWEM's
    :attr:`~qwemlib.train.TrainConfig.negatives` (SGNS always samples word2vec's negatives).
    """
    from . import pipeline, plots, stats, theory
    from . import train as tr

    if preset.dim >= preset.vocab:
        raise ValueError(f"d={preset.dim} must be smaller than V={preset.vocab}")
    st = pipeline.corpus_statistics(preset)
    eig = theory.top_eigenpairs(st.M, preset.dim)
    out = {"results": {}, "theory": {}, "overlap": {}}
    g_sgns = stats.sgns_mean_G(st.P_ij, st.P_i)
    fig = None
    for loss in losses:
        kw = dict(loss=loss, dim=preset.dim, steps=steps, batch_pos=batch, batch_neg=batch,
                  init="gaussian", init_scale=init_scale, dtype=dtype, seed=seed,
                  window=preset.window, n_snapshots=2,
                  negatives=negatives if loss == "qwem" else "unigram")
        if lr is not None:
            # Same theory time per step for both losses: eta_sgns = 2 eta / G_mean.
            kw["lr"] = lr if loss == "qwem" else 2 * lr / g_sgns
        cfg = tr.TrainConfig(**kw)
        log(f"training {loss}: {steps} steps of {batch:,}+{batch:,} pairs, lr={cfg.lr:.4g}, "
            f"init N(0, {init_scale:g}^2), {dtype}"
            + (f", negatives={cfg.negatives}" if loss == "qwem" else ""))
        res = tr.train(st.corpus.ids, st.corpus.article_offsets, st.cooc, cfg,
                       progress=not __import__("os").environ.get("CI"))
        dyn = theory.ClosedFormDynamics.from_initial(eig, res.snapshots[0])
        # trainer's clock: QWEM t = 2 sum(eta) (g = 1); SGNS sum(eta), times G_mean here.
        times = res.times if loss == "qwem" else res.times * g_sgns
        t_th = np.linspace(0, float(times[-1]), 400)
        out["results"][loss] = res
        out["theory"][loss] = (t_th, dyn.s(t_th))
        out["overlap"][loss] = theory.subspace_overlap(res.W, eig.vectors)
        log(f"  {res.wall_time:.1f} s, {res.pairs_per_second:,.0f} pairs/s on {res.device}; "
            f"top-{preset.dim} overlap with M*'s eigenvectors {out['overlap'][loss]:.3f}")
        name = "QWEM SGD" if loss == "qwem" else f"word2vec (SGNS) SGD, g = mean G = {g_sgns:.3g}"
        f = plots.singular_values_vs_time(
            times, res.singular_values, dyn.s(t_th), t_theory=t_th, squared=True,
            caption=f"{preset.caption()}; {name}, {steps} steps, batch {batch:,}+{batch:,}, "
                    f"lr {cfg.lr:g}, init scale {init_scale:g}; theory: eq. 11 from this run's W(0)",
            title=f"{name}: s_k(t)^2 against the closed form", measured_name=name,
            time_label="theory time t = 2 g sum(lr)")
        fig = f if fig is None else _stack(fig, f)
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            np.savez(out_dir / f"train-{loss}.npz", steps=res.steps, times=times,
                     singular_values=res.singular_values, loss=res.loss, W=res.W,
                     theory_times=t_th, theory_s=dyn.s(t_th), eigenvalues=eig.values)
    out["figure"] = fig
    if out_dir is not None and fig is not None:
        fig.write_html(out_dir / "singular_values.html", include_plotlyjs=True)
    return out


def _stack(a, b):
    """Put two figures' traces one above the other (two rows, shared styling)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, subplot_titles=(a.layout.title.text, b.layout.title.text),
                        vertical_spacing=0.12)
    for i, src in enumerate((a, b), start=1):
        for tr_ in src.data:
            fig.add_trace(tr_, row=i, col=1)
        fig.update_xaxes(title_text=src.layout.xaxis.title.text, row=i, col=1)
        fig.update_yaxes(title_text=src.layout.yaxis.title.text, row=i, col=1)
    fig.update_layout(height=900, showlegend=False)
    return fig


def _cmd_train(args) -> int:
    p = _preset_from_args(args)
    out = args.out if args.out else Path("_build") / "train" / p.name
    print(f"qwem train: {p.caption()}")
    losses = ("qwem", "sgns") if args.loss == "both" else (args.loss,)
    train_and_compare(p, losses=losses, steps=args.steps, lr=args.lr, batch=args.batch,
                      init_scale=args.init_scale, dtype=args.dtype, seed=args.seed, out_dir=out,
                      negatives=args.negatives)
    print(f"figure: {out / 'singular_values.html'}; records: {out}/train-*.npz")
    return 0


def _cmd_data(args) -> int:
    from . import data

    for name in sorted(data.REGISTRY):
        try:
            where = str(data.path(name, verify=args.verify, download=False))
        except Exception as exc:  # report, do not stop
            where = f"MISSING ({type(exc).__name__})"
        print(f"{name:60s} {where}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="qwem", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("solve", help="closed-form embeddings of M*, PPMI, PMI and their benchmark table")
    s.add_argument("--scale", default=None, help="preset: ci, hub, local or full (default: $QWEM_SCALE or ci)")
    s.add_argument("--corpus", default=None, help="corpus name or path (overrides the preset)")
    s.add_argument("--vocab", type=int, default=None, help="V, vocabulary size")
    s.add_argument("--dim", type=int, default=None, help="d, embedding dimension")
    s.add_argument("--window", type=int, default=None, help="context half-width L")
    s.add_argument("--max-tokens", dest="max_tokens", type=int, default=None)
    s.add_argument("--min-article-tokens", dest="min_article_tokens", type=int, default=None)
    s.add_argument("--protocol", action="append", choices=["original", "pairs"], default=None,
                   help="analogy protocol(s) (default: both)")
    s.add_argument("--out", type=Path, default=None, help="output folder (default _build/embeddings/<preset>)")
    s.set_defaults(func=_cmd_solve)

    t = sub.add_parser("train", help="SGD training of QWEM and word2vec with the theory overlaid")
    t.add_argument("--scale", default=None, help="preset: ci, hub, local or full")
    t.add_argument("--corpus", default=None)
    t.add_argument("--vocab", type=int, default=None)
    t.add_argument("--dim", type=int, default=None)
    t.add_argument("--window", type=int, default=None)
    t.add_argument("--max-tokens", dest="max_tokens", type=int, default=None)
    t.add_argument("--min-article-tokens", dest="min_article_tokens", type=int, default=None)
    t.add_argument("--loss", choices=["both", "qwem", "sgns"], default="both")
    t.add_argument("--steps", type=int, default=300)
    t.add_argument("--lr", type=float, default=6e-5,
                   help="base learning rate; the Setting-1 weights reach ~1e8 for rare pairs, so "
                        "lr above ~1e-4 diverges at batch 50,000 (ci preset)")
    t.add_argument("--batch", type=int, default=50_000, help="positive (= negative) pairs per step")
    t.add_argument("--init-scale", dest="init_scale", type=float, default=1e-3)
    t.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--negatives", choices=["unigram", "uniform", "exact"], default="unigram",
                   help="QWEM's estimator (TrainConfig.negatives): unigram (the paper's sampler), "
                        "uniform (negatives uniform over the V x V cells, ~7x less gradient variance) "
                        "or exact (negative and quartic terms exact, ~66x less; not pure pair sampling)")
    t.add_argument("--out", type=Path, default=None, help="output folder (default _build/train/<preset>)")
    t.set_defaults(func=_cmd_train)

    d = sub.add_parser("data", help="list the registered data files and where they were found")
    d.add_argument("--no-verify", dest="verify", action="store_false")
    d.set_defaults(func=_cmd_data)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "protocol", "x") is None:
        args.protocol = ["original", "pairs"]
    try:
        return args.func(args)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(f"qwem: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
