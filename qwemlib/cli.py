"""The qwem command: corpus -> counts -> M* -> closed form -> benchmark table.

Subcommands (each calls one function of qwemlib.experiments; this module only parses
arguments, checks the outputs can be written, and reports):

* qwem solve: the closed-form models of Figure 3b (svd(M*), QWEM's minimiser by
  Theorem 1; svd(PPMI); svd(PMI)), their benchmark table and their embeddings
  (.npz, loadable with qwemlib.evaluate.Embeddings.load):
  experiments.closed_form_benchmark.
* qwem train: QWEM and word2vec (SGNS) by SGD from small random initialization, their
  records (.npz) and, with plotly (the book extra), the figure of their singular values
  against the closed form of eq. 11/13 on the same time axis:
  experiments.train_and_compare. Checkpoints (--checkpoint-every, and on Ctrl-C) and
  --resume give the uninterrupted run's records bit for bit.
* qwem data: the registered data files, where each was found, and which the preset needs.

Used in: README.md (the quick start; qwem is its console script, pyproject.toml).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import math
import re
import shlex
import shutil
import sys
from pathlib import Path

__all__ = ["main", "build_parser"]

_PRESET_FIELDS = ("corpus", "vocab", "dim", "window", "max_tokens", "min_article_tokens")

_DESCRIPTION = "QWEM: word embeddings from the closed form of the quartic loss (corpus -> M* -> svd)."
_EPILOG = """\
Sizes come from a preset (--scale, or $QWEM_SCALE, default ci) and may be overridden
(--corpus, --vocab, --dim, --window, --max-tokens, --min-article-tokens).

Outputs: each run writes its files into one folder (--out) together, with a
manifest.json (command line, configuration, commit, corpus fingerprint, and the files of
this run with their sha256; other files already in the folder are listed under
not_of_this_run and left alone). The folder is checked before any compute; a run that
fails or is interrupted leaves the folder's earlier outputs as they were.

Exit codes: 0 success; 1 runtime error (one line naming the cause and what to do);
2 usage error; 130 interrupted (qwem train saves a checkpoint and prints the command
that resumes it)."""


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown (except ``None``: "from the preset"), the epilog's lines kept."""

    def _get_help_string(self, action):
        if action.default is None or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


class _Fail(Exception):
    """An expected runtime error: its message is printed as one line, exit code 1."""


def _number(kind, minimum, what):
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: must be {what}") from None
        if (kind is float and not (math.isfinite(v) and v > 0)) or v < minimum:
            raise argparse.ArgumentTypeError(f"{text!r}: must be {what}")
        return v
    parse.__name__ = what  # argparse names the type in its message
    return parse


_pos_int = _number(int, 1, "a whole number >= 1")
_nonneg_int = _number(int, 0, "a whole number >= 0")
_pos_float = _number(float, 0, "a positive finite number")


def _preset_from_args(args):
    from . import config

    p = config.preset(args.scale)
    over = {f: getattr(args, f) for f in _PRESET_FIELDS if getattr(args, f, None) is not None}
    if _own_corpus(args, p):  # the preset's description is about its own corpus, not this one
        over["description"] = f"the corpus {over['corpus']} (given with --corpus; the other sizes " \
                              f"from preset {p.name!r}), not the preset's {p.corpus}"
    return config.preset(p.name, **over) if over else p


def _own_corpus(args, p) -> bool:
    from . import config

    return getattr(args, "corpus", None) not in (None, config.preset(p.name).corpus)


def _label(args, p) -> str:
    """The default output folder's name: the preset's, or the corpus's when --corpus overrides it."""
    from . import config

    if not _own_corpus(args, p):
        return p.name
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(str(args.corpus).rstrip("/\\")).stem).strip("._") or "corpus"
    return f"corpus-{name}" if name in config.PRESETS else name


def _caption(args, p) -> str:
    if not _own_corpus(args, p):
        return p.caption()
    return (f"corpus {p.corpus} (not a preset's; sizes from preset '{p.name}'): V = {p.vocab:,}, "
            f"d = {p.dim}, window {p.window} each side")


def _check_sizes(ap, args, p) -> None:
    if p.dim >= p.vocab:
        src = "--dim" if args.dim is not None else f"preset {p.name!r}'s d"
        ap.error(f"{src} {p.dim} must be smaller than the vocabulary size V={p.vocab} (--vocab); "
                 "the theory is about d << V")


def _corpus_fingerprint(p):
    try:
        from .corpus import cache_key

        return cache_key(p.corpus, min_article_tokens=p.min_article_tokens, max_tokens=p.max_tokens)
    except Exception as exc:  # the fingerprint is informative only: say why it is missing
        return {"unavailable": f"{type(exc).__name__}: {exc}"}


def _manifest(argv, args, p, **extra) -> dict:
    from dataclasses import asdict

    from . import __version__, results

    opts = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "func"}
    return (results.provenance("qwem " + shlex.join(argv)) | {"qwemlib": __version__} | {
        "preset": asdict(p), "options": opts, "corpus_fingerprint": _corpus_fingerprint(p)} | extra)


_WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)


def _is_write_error(exc: OSError, out: Path) -> bool:
    # a full or read-only disk, or any error on a file under the output folder
    if exc.errno in _WRITE_ERRNOS:
        return True
    return bool(exc.filename) and Path(out).resolve() in Path(str(exc.filename)).resolve().parents


def _write_error(exc: OSError, out: Path, ckdir: Path | None = None) -> _Fail:
    why = exc.strerror or str(exc)
    what = ("free some space or choose another --out" if exc.errno in (errno.ENOSPC, errno.EDQUOT)
            else "choose another --out or fix its permissions")
    name = f" ({exc.filename})" if exc.filename else ""
    kept = ""
    if ckdir is not None and any(Path(ckdir).glob("*.ckpt.npz")):
        kept = f"; the checkpoints in {ckdir}/ are kept: then rerun with --resume (same options)"
    return _Fail(f"writing the outputs{name} failed ({why}); nothing of this run was kept in {out}/ "
                 f"(its earlier files are untouched): {what}{kept}")


def _cmd_solve(args, argv) -> int:
    from . import _io

    p = _preset_from_args(args)
    out = args.out or Path("_build") / "embeddings" / _label(args, p)
    with _io.RunFolder(out) as run:  # checked now, before any compute (or heavy import)
        from . import experiments

        print(f"qwem solve: {_caption(args, p)}")
        print(f"  ({p.description})" if p.description else "")
        protocols = tuple(args.protocol or ("original", "pairs"))
        res = experiments.closed_form_benchmark(p, protocols=protocols, out_dir=None)
        try:
            experiments.save_closed_forms(res, run.stage, p)
            run.commit(_manifest(argv, args, p))
        except OSError as exc:
            raise exc if isinstance(exc, _io.OutputError) else _write_error(exc, out) from exc
    print()
    print(res["table"])
    print(f"\nembeddings and table saved under {out}/ (manifest.json lists them)")
    return 0


def _cmd_train(args, argv) -> int:
    from . import _io

    p = _preset_from_args(args)
    out = args.out or Path("_build") / "train" / _label(args, p)
    losses = ("qwem", "sgns") if args.loss == "both" else (args.loss,)
    ckdir = out / "checkpoints"
    with _io.RunFolder(out, keep=("checkpoints",)) as run, _removed_if_empty(ckdir):
        _io.check_writable(ckdir)  # checked now, before any compute (or heavy import)
        from . import experiments

        if args.resume and not any((ckdir / f"{loss}.ckpt.npz").exists() for loss in losses):
            raise _Fail(f"--resume: no checkpoint in {ckdir}/ for --loss {args.loss}; run the command "
                        "without --resume (or give the --out of the interrupted run)")
        print(f"qwem train: {_caption(args, p)}")
        try:
            tr = experiments.train_and_compare(
                p, losses=losses, steps=args.steps, lr=args.lr, batch=args.batch, init_scale=args.init_scale,
                dtype=args.dtype, seed=args.seed, negatives=args.negatives, out_dir=run.stage,
                checkpoint_dir=ckdir, checkpoint_every=args.checkpoint_every or 0, resume=args.resume)
        except KeyboardInterrupt as exc:
            saved = sorted(f.name for f in ckdir.glob("*.ckpt.npz"))
            where = f"at step {exc.step} of {exc.steps}" if hasattr(exc, "steps") else ""
            print(f"\nqwem train: interrupted {where}".rstrip() + "; no outputs were written to "
                  f"{out}/ (its earlier files are untouched)", file=sys.stderr)
            if saved:
                again = "qwem " + shlex.join([*argv, *([] if "--resume" in argv else ["--resume"])])
                print(f"checkpoints in {ckdir}/: {', '.join(saved)}; resume with:\n  {again}",
                      file=sys.stderr)
            else:
                print("no checkpoint was written (interrupted before the first one); rerun the command",
                      file=sys.stderr)
            return 130
        except OSError as exc:
            if isinstance(exc, _io.OutputError) or not _is_write_error(exc, out):
                raise
            raise _write_error(exc, out, ckdir) from exc
        try:
            figure = _figure_html(tr, _caption(args, p))
            if figure is not None:
                _io.atomic_write_text(run.stage / "singular_values.html", figure)
            run.commit(_manifest(argv, args, p, diverged=tr.get("diverged", {})))
        except OSError as exc:
            raise _write_error(exc, out, ckdir) from exc
    shutil.rmtree(ckdir, ignore_errors=True)  # the run is complete: its checkpoints are spent
    print(f"records: {out}/train-*.npz (manifest.json lists them)")
    print(f"figure: {out / 'singular_values.html'}" if figure is not None else "figure: none")
    for key, msg in tr.get("diverged", {}).items():
        print(f"qwem: error: the {key} run diverged: {msg}", file=sys.stderr)
    return 1 if tr.get("diverged") else 0


@contextlib.contextmanager
def _removed_if_empty(folder: Path):
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if this run left nothing there


def _figure_html(tr, caption) -> str | None:
    # the figure needs plotly, which only the `book` extra installs: written when it is there
    try:
        from . import plots
    except ImportError as exc:
        if not (exc.name or "").startswith("plotly"):
            raise
        print(f"figure not written: {exc.name or 'plotly'} is not installed "
              "(pip install 'qwemlib[book]' for the singular-value figure)")
        return None
    return plots.training_runs_figure(tr, caption=caption).to_html(include_plotlyjs=True) \
        if tr["runs"] else None


def _needed(p) -> set[str]:
    from . import data

    shards = data.CORPORA.get(p.corpus)  # a registered local corpus: its shards; else none here
    shards = set(shards) if isinstance(shards, (tuple, list)) else set()
    return ({"google-analogies", "men", "wordsim353", "simlex999"} | shards) & set(data.REGISTRY)


def _cmd_data(args, argv) -> int:
    from . import config, data

    p = config.preset(args.scale)
    needed, missing = _needed(p), {}
    for name in sorted(data.REGISTRY):
        try:
            where = str(data.path(name, verify=args.verify, download=False))
        except (OSError, ValueError) as exc:  # report, do not stop
            note = "" if name in needed else f"; not needed by {p.name}"
            where = f"MISSING ({type(exc).__name__}{note})"
            if name in needed:
                missing[name] = exc
        print(f"{name:60s} {where}")
    for name, exc in missing.items():
        print(f"qwem: error: {name} (needed by preset {p.name!r}): {exc}", file=sys.stderr)
    if missing:
        print(f"qwem: error: {len(missing)} file(s) needed by preset {p.name!r} missing or damaged; "
              "get them as said above, or choose another --scale", file=sys.stderr)
        return 1
    return 0


def _parents() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    scale = argparse.ArgumentParser(add_help=False)
    from .config import PRESETS

    scale.add_argument("--scale", default=None, choices=list(PRESETS),
                       help="preset (default: $QWEM_SCALE, else ci)")
    sizes = argparse.ArgumentParser(add_help=False)
    g = sizes.add_argument_group("preset overrides (default: the preset's value)")
    g.add_argument("--corpus", default=None, help="corpus: a registered name, a file or a folder")
    g.add_argument("--vocab", type=_pos_int, default=None, help="V, vocabulary size")
    g.add_argument("--dim", type=_pos_int, default=None, help="d, embedding dimension (below V)")
    g.add_argument("--window", type=_pos_int, default=None, help="context half-width L")
    g.add_argument("--max-tokens", dest="max_tokens", type=_pos_int, default=None,
                   help="stop reading the corpus after this many tokens")
    g.add_argument("--min-article-tokens", dest="min_article_tokens", type=_nonneg_int, default=None,
                   help="drop articles shorter than this")
    sizes.add_argument("--out", type=Path, default=None,
                       help="output folder (default: _build/<embeddings|train>/<preset, or the "
                            "corpus's name when --corpus is given>)")
    return scale, sizes


def build_parser() -> argparse.ArgumentParser:
    """The ``qwem`` argument parser (subcommands ``solve``, ``train``, ``data``)."""
    from . import __version__

    ap = argparse.ArgumentParser(prog="qwem", description=_DESCRIPTION, epilog=_EPILOG,
                                 formatter_class=_Formatter)
    ap.add_argument("--version", action="version", version=f"qwem (qwemlib) {__version__}")
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="{solve,train,data}")
    scale, sizes = _parents()

    s = sub.add_parser("solve", parents=[scale, sizes], formatter_class=_Formatter,
                       help="closed-form embeddings of M*, PPMI, PMI and their benchmark table",
                       description="Closed-form embeddings of M*, PPMI and PMI and their benchmark table.")
    s.add_argument("--protocol", action="append", choices=["original", "pairs"], default=None,
                   help="analogy protocol, repeatable (default: both)")
    s.set_defaults(func=_cmd_solve)

    t = sub.add_parser("train", parents=[scale, sizes], formatter_class=_Formatter,
                       help="SGD training of QWEM and word2vec with the theory overlaid",
                       description="SGD training of QWEM and word2vec (SGNS), with the closed form overlaid.")
    t.add_argument("--loss", choices=["both", "qwem", "sgns"], default="both", help="which runs")
    t.add_argument("--steps", type=_pos_int, default=300, help="SGD steps")
    t.add_argument("--lr", type=_pos_float, default=6e-5,
                   help="base learning rate; the Setting-1 weights reach ~1e8 for rare pairs, so "
                        "lr above ~1e-4 diverges at batch 50,000 (ci preset)")
    t.add_argument("--batch", type=_pos_int, default=50_000, help="positive (= negative) pairs per step")
    t.add_argument("--init-scale", dest="init_scale", type=_pos_float, default=1e-3,
                   help="standard deviation of the Gaussian initialization")
    t.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="float type")
    t.add_argument("--seed", type=_nonneg_int, default=0, help="random seed")
    t.add_argument("--negatives", choices=["unigram", "uniform", "exact"], default="unigram",
                   help="QWEM's estimator: unigram (the paper's sampler), uniform (negatives uniform "
                        "over the V x V cells, ~7x less gradient variance) or exact (negative and "
                        "quartic terms exact, ~66x less; not pure pair sampling)")
    t.add_argument("--checkpoint-every", dest="checkpoint_every", type=_pos_int, default=None,
                   help="also write a checkpoint every N steps into OUT/checkpoints/ (one is always "
                        "written on Ctrl-C)")
    t.add_argument("--resume", action="store_true",
                   help="continue from the checkpoints in OUT/checkpoints/ (same options as the "
                        "interrupted run); the records equal an uninterrupted run's")
    t.set_defaults(func=_cmd_train)

    d = sub.add_parser("data", parents=[scale], formatter_class=_Formatter,
                       help="list the registered data files and where they were found",
                       description="List the registered data files, where each was found, and "
                                   "exit 1 if one the preset needs is missing.")
    d.add_argument("--no-verify", dest="verify", action="store_false", help="skip the sha256 checks")
    d.set_defaults(func=_cmd_data)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run ``qwem``; returns the exit code (0 success, 1 runtime error, 2 usage, 130 interrupted).

    An expected error (bad input, a missing or damaged file, an output that cannot be
    written, a diverged run) is one line on stderr naming the cause and what to do.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = build_parser()
    try:
        args = ap.parse_args(argv)
        if args.cmd == "train" and args.checkpoint_every is not None and args.checkpoint_every > args.steps:
            ap.error(f"--checkpoint-every {args.checkpoint_every} is larger than --steps {args.steps}: "
                     "no checkpoint would be written before the end; choose N <= --steps")
        if args.cmd in ("solve", "train"):
            try:
                p = _preset_from_args(args)
            except ValueError as exc:  # e.g. QWEM_SCALE names no preset
                ap.error(str(exc))
            _check_sizes(ap, args, p)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.func(args, argv)
    except KeyboardInterrupt:
        print("\nqwem: interrupted; no outputs were written", file=sys.stderr)
        return 130
    except (_Fail, ValueError, KeyError, OSError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"qwem: error: {msg}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
