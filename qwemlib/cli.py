"""The ``qwem`` command: corpus -> counts -> M* -> closed form -> benchmark table.

Subcommands:

* ``qwem solve`` runs the pipeline of Figure 3b for the closed-form models
  (svd(M*) = QWEM's minimiser by Theorem 1, svd(PPMI), svd(PMI)), prints the
  benchmark table and saves the embeddings (``.npz``, loadable with
  :meth:`qwemlib.evaluate.Embeddings.load`).
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

__all__ = ["main", "solve"]


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
    from . import evaluate, stats, theory

    if preset.dim >= preset.vocab:
        raise ValueError(
            f"the embedding dimension d={preset.dim} must be smaller than the vocabulary "
            f"size V={preset.vocab} (the theory is about d << V); lower --dim or raise --vocab"
        )
    timings = {}
    t0 = time.perf_counter()
    st = stats.corpus_statistics(preset)
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
    s.add_argument("--scale", default=None, help="preset: ci, local or full (default: $QWEM_SCALE or ci)")
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
