"""The ``qwem`` command: corpus -> counts -> M* -> closed form -> benchmark table.

Subcommands:

* ``qwem solve`` runs the pipeline of Figure 3b for the closed-form models
  (svd(M*) = QWEM's minimiser by Theorem 1, svd(PPMI), svd(PMI)), prints the
  benchmark table and saves the embeddings (``.npz``, loadable with
  :meth:`qwemlib.evaluate.Embeddings.load`):
  :func:`qwemlib.experiments.closed_form_benchmark`.
* ``qwem train`` trains QWEM and word2vec (SGNS) by SGD from small random
  initialization and writes their records (``.npz``) and, when plotly (the ``book``
  extra) is installed, the figure of their singular values against time with the
  closed-form prediction (eq. 11/13) on the same time axis (``t = 2 g sum(eta)``, no
  fitted factors): :func:`qwemlib.experiments.train_and_compare`.
* ``qwem data`` lists the registered data files and where each was found.

Sizes come from a preset (``--scale`` or ``QWEM_SCALE``) and may be overridden
(``--corpus``, ``--vocab``, ``--dim``, ``--window``, ``--max-tokens``). This module
only parses arguments; the work is done by :mod:`qwemlib.experiments`.

Used in: README.md (the quick start; ``qwem`` is its console script, pyproject.toml).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main", "build_parser"]

_PRESET_FIELDS = ("corpus", "vocab", "dim", "window", "max_tokens", "min_article_tokens")


def _preset_from_args(args):
    from . import config

    p = config.preset(args.scale)
    over = {f: getattr(args, f) for f in _PRESET_FIELDS if getattr(args, f, None) is not None}
    return config.preset(p.name, **over) if over else p


def _cmd_solve(args) -> int:
    from . import experiments

    p = _preset_from_args(args)
    out = args.out or Path("_build") / "embeddings" / p.name
    print(f"qwem solve: {p.caption()}")
    print(f"  ({p.description})" if p.description else "")
    res = experiments.closed_form_benchmark(p, protocols=tuple(args.protocol or ("original", "pairs")),
                                            out_dir=out)
    print()
    print(res["table"])
    print(f"\nembeddings and table saved under {out}/")
    return 0


def _cmd_train(args) -> int:
    from . import experiments

    p = _preset_from_args(args)
    out = args.out or Path("_build") / "train" / p.name
    print(f"qwem train: {p.caption()}")
    losses = ("qwem", "sgns") if args.loss == "both" else (args.loss,)
    tr = experiments.train_and_compare(p, losses=losses, steps=args.steps, lr=args.lr, batch=args.batch,
                                       init_scale=args.init_scale, dtype=args.dtype, seed=args.seed,
                                       negatives=args.negatives, out_dir=out)
    print(f"records: {out}/train-*.npz")
    # the figure needs plotly, which only the `book` extra installs: written when it is there
    try:
        from . import plots
    except ImportError as exc:
        if not (exc.name or "").startswith("plotly"):
            raise
        print(f"figure not written: {exc.name or 'plotly'} is not installed "
              "(pip install 'qwemlib[book]' for the singular-value figure)")
        return 0
    fig = plots.training_runs_figure(tr, caption=p.caption())
    fig.write_html(out / "singular_values.html", include_plotlyjs=True)
    print(f"figure: {out / 'singular_values.html'}")
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


def _add_preset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", default=None,
                   help="preset: ci, hub, local or full (default: $QWEM_SCALE or ci)")
    p.add_argument("--corpus", default=None, help="corpus name or path (overrides the preset)")
    p.add_argument("--vocab", type=int, default=None, help="V, vocabulary size")
    p.add_argument("--dim", type=int, default=None, help="d, embedding dimension")
    p.add_argument("--window", type=int, default=None, help="context half-width L")
    p.add_argument("--max-tokens", dest="max_tokens", type=int, default=None)
    p.add_argument("--min-article-tokens", dest="min_article_tokens", type=int, default=None)


def build_parser() -> argparse.ArgumentParser:
    """The ``qwem`` argument parser (subcommands ``solve``, ``train``, ``data``)."""
    ap = argparse.ArgumentParser(prog="qwem", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("solve", help="closed-form embeddings of M*, PPMI, PMI and their benchmark table")
    _add_preset_args(s)
    s.add_argument("--protocol", action="append", choices=["original", "pairs"], default=None,
                   help="analogy protocol(s) (default: both)")
    s.add_argument("--out", type=Path, default=None,
                   help="output folder (default _build/embeddings/<preset>)")
    s.set_defaults(func=_cmd_solve)

    t = sub.add_parser("train", help="SGD training of QWEM and word2vec with the theory overlaid")
    _add_preset_args(t)
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
    """Run ``qwem``; a :class:`ValueError`, :class:`KeyError` or missing file is a one-line error (exit 2)."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(f"qwem: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
