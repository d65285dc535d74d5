"""The closed-form trio: svd(M*), svd(PPMI) and svd(PMI), and their benchmark rows.

Each model is the rank-``d`` factorization ``W = V_d Lambda_d^{1/2}`` of a target
matrix (eq. 7): ``M*`` (QWEM's minimizer, Theorem 1), positive PMI and PMI with
unseen pairs set to 0 (Levy and Goldberg's classic closed forms).

Used in: book/06_qwem_vs_word2vec.md, ``tools/make_results.py``, ``qwem solve``
(qwemlib/cli.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from .. import stats
from .._io import atomic_write_text
from ..eigen import top_eigenpairs
from ..embeddings import Embeddings
from ..evaluate import benchmark_table, format_table
from ..theory import closed_form_embeddings

__all__ = ["TRIO", "ARPACK_MAX_V", "eigen_method", "closed_forms", "closed_form_benchmark",
           "save_closed_forms"]

#: The three closed forms, in the order of the paper's Figure 3b.
TRIO = ("svd(M*)", "svd(PPMI)", "svd(PMI)")

#: Up to this vocabulary the stored closed forms use ARPACK (``eigsh``); above it ``"auto"``.
ARPACK_MAX_V = 4000


def eigen_method(vocab: int) -> str:
    """The eigensolver the stored closed forms were made with: ARPACK up to
    :data:`ARPACK_MAX_V` words, else ``"auto"`` (see :func:`qwemlib.theory.top_eigenpairs`)."""
    return "arpack" if vocab <= ARPACK_MAX_V else "auto"


def _targets(st) -> dict[str, Callable]:
    # built one at a time, so that at most one extra (V, V) matrix is alive
    return {"svd(M*)": lambda: st.M,
            "svd(PPMI)": lambda: stats.ppmi(st.P_ij, st.P_i),
            "svd(PMI)": lambda: stats.pmi(st.P_ij, st.P_i)}


def closed_forms(st, preset, *, models: Sequence[str] = TRIO, method: str | None = None,
                 log=print) -> tuple[dict, dict]:
    """The closed-form embeddings of ``models`` (eq. 7 applied to M*, PPMI, PMI).

    Args:
        st: :class:`~qwemlib.pipeline.CorpusStatistics` of the preset.
        preset: the :class:`~qwemlib.config.Preset` (its ``dim`` and ``vocab``).
        models: a subset of :data:`TRIO`.
        method: eigensolver; ``None`` picks :func:`eigen_method` (what the stored
            results were made with).
        log: a print-like function for one progress line per model.

    Returns:
        ``({name: (Embeddings, Eigenpairs)}, {name: seconds})``.
    """
    targets = _targets(st)
    unknown = [m for m in models if m not in targets]
    if unknown:
        raise ValueError(f"unknown closed form(s) {unknown}; choose from {list(TRIO)}")
    method = method or eigen_method(preset.vocab)
    out, secs = {}, {}
    for name in models:
        t = time.perf_counter()
        M = targets[name]()
        eig = top_eigenpairs(M, preset.dim, method=method)
        out[name] = (Embeddings(st.words, closed_form_embeddings(M, preset.dim, eig=eig)), eig)
        secs[name] = time.perf_counter() - t
        log(f"{name}: {secs[name]:.1f} s ({eig.method})")
        del M
    return out, secs


def closed_form_benchmark(preset, *, models: Sequence[str] = TRIO,
                          protocols: Sequence[str] = ("original", "pairs"), method: str = "auto",
                          out_dir: str | Path | None = None, st=None, log=print) -> dict:
    """Statistics, the closed forms and their benchmark rows for one preset (``qwem solve``).

    Args:
        preset: a :class:`~qwemlib.config.Preset`; ``dim`` must be below ``vocab``.
        models: which of :data:`TRIO` to compute.
        protocols: analogy protocols (:func:`qwemlib.evaluate.evaluate_analogies`).
        method: eigensolver (``"auto"``: what ``qwem solve`` has always used; ``None``:
            that of the stored results, :func:`eigen_method`).
        out_dir: where to save the embeddings and the table (:func:`save_closed_forms`).
        st: precomputed corpus statistics (else :func:`qwemlib.pipeline.corpus_statistics`).
        log: a print-like function for progress lines.

    Returns:
        dict with ``rows`` (:class:`~qwemlib.evaluate.BenchmarkRow`), ``table`` (str),
        ``embeddings`` and ``eigenpairs`` (name -> ...), ``timings`` (seconds), ``stats``.
    """
    if preset.dim >= preset.vocab:
        raise ValueError(
            f"the embedding dimension d={preset.dim} must be smaller than the vocabulary "
            f"size V={preset.vocab} (the theory is about d << V); lower --dim or raise --vocab")
    timings = {}
    if st is None:
        from ..pipeline import corpus_statistics

        t0 = time.perf_counter()
        st = corpus_statistics(preset)
        timings["corpus+counts"] = time.perf_counter() - t0
        log(f"corpus: {st.corpus.n_raw_tokens:,} raw tokens, {st.corpus.n_tokens:,} kept "
            f"({100 * st.corpus.vocab.coverage:.1f}% coverage at V={preset.vocab:,}), "
            f"{st.corpus.n_articles:,} articles  [{timings['corpus+counts']:.1f} s]")
    cf, secs = closed_forms(st, preset, models=models, method=method, log=log)
    timings |= {f"eigensolve {k}": v for k, v in secs.items()}
    embs = {k: e for k, (e, _) in cf.items()}
    t = time.perf_counter()
    rows = benchmark_table(embs, protocols=protocols)
    timings["benchmarks"] = time.perf_counter() - t
    out = {"rows": rows, "table": format_table(rows), "embeddings": embs,
           "eigenpairs": {k: eig for k, (_, eig) in cf.items()}, "timings": timings, "stats": st}
    if out_dir is not None:
        save_closed_forms(out, out_dir, preset)
    return out


def save_closed_forms(result: dict, out_dir: str | Path, preset) -> None:
    """Write ``<model>.npz`` per model (``svd_mstar.npz``, ...), ``table.txt`` and
    ``table.json`` (preset, rows, timings) of a :func:`closed_form_benchmark` result."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, emb in result["embeddings"].items():
        fname = name.replace("(", "_").replace(")", "").replace("*", "star").lower()
        emb.save(out_dir / f"{fname}.npz")
    atomic_write_text(out_dir / "table.txt", result["table"] + "\n")
    atomic_write_text(out_dir / "table.json", json.dumps(
        {"preset": asdict(preset), "rows": [asdict(r) for r in result["rows"]],
         "timings": result["timings"]}, indent=1))
