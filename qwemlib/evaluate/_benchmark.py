"""The benchmark table of Figure 3b: every model on every benchmark, as rows, text or a frame."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validate import validate_embeddings
from ..embeddings import Embeddings
from ._analogies import evaluate_analogies
from ._readers import PathLike, read_analogies, read_similarity
from ._similarity import evaluate_similarity


@dataclass(frozen=True)
class BenchmarkRow:
    """One model on one benchmark.

    Attributes:
        model: the model's name.
        benchmark: e.g. ``"Google analogies (original)"``, ``"MEN"``.
        metric: ``"accuracy"`` or ``"spearman"``.
        value: the number.
        covered: questions or pairs evaluated.
        total: questions or pairs in the benchmark.
    """

    model: str
    benchmark: str
    metric: str
    value: float
    covered: int
    total: int


_SIMILARITY_LABELS = {"men": "MEN", "wordsim353": "WordSim353", "simlex999": "SimLex-999"}


def benchmark_table(
    emb_by_model: Mapping[str, Embeddings],
    analogies: PathLike | None = "google-analogies",
    protocols: Sequence[str] = ("original", "pairs"),
    similarity: Sequence[PathLike] = ("men", "wordsim353", "simlex999"),
    score: str = "cosine",
    restrict_vocab: int | None = None,
    dtype: np.dtype | type | None = None,
) -> list[BenchmarkRow]:
    """The rows of Figure 3b: every model on every benchmark.

    Each file is read once. Analogy rows report accuracy (eq. 18), similarity rows
    Spearman's rho (eq. 23), with the coverage of each.

    Args:
        emb_by_model: model name -> embeddings (e.g. ``{"QWEM": ..., "word2vec": ...}``).
        analogies: analogy file or name; ``None`` to skip.
        protocols: analogy protocols to report (see :func:`evaluate_analogies`).
        similarity: similarity files or names.
        score: the similarity score, ``"cosine"`` or ``"dot"``.
        restrict_vocab: passed to the evaluators.
        dtype: precision of the analogy scores (see :func:`evaluate_analogies`).

    Returns:
        Rows ordered by benchmark, then model; format them with :func:`format_table`
        or :func:`to_frame`.

    Used in: book/06_qwem_vs_word2vec.md, tools/make_results.py, ``qwem solve``.
    """
    for model, emb in emb_by_model.items():
        validate_embeddings(emb, f"the embeddings of {model!r}")
    rows: list[BenchmarkRow] = []
    if analogies is not None:
        sections = read_analogies(analogies)
        for protocol in protocols:
            label = f"Google analogies ({protocol})"
            for model, emb in emb_by_model.items():
                r = evaluate_analogies(
                    emb, sections, protocol=protocol, restrict_vocab=restrict_vocab, dtype=dtype
                )
                rows.append(BenchmarkRow(model, label, "accuracy", r.accuracy, r.covered, r.total))
    for item in similarity:
        name = Path(item).name
        label = _SIMILARITY_LABELS.get(item, name) if isinstance(item, str) else name
        pairs = read_similarity(item)
        for model, emb in emb_by_model.items():
            r = evaluate_similarity(emb, pairs, score=score, restrict_vocab=restrict_vocab)
            rows.append(BenchmarkRow(model, label, "spearman", r.spearman, r.covered, r.total))
    return rows


def format_table(rows: Sequence[BenchmarkRow]) -> str:
    """Plain-text table: one line per benchmark, one column per model.

    A cell is the value (accuracy in percent, Spearman's rho to three places) and
    its coverage ``covered/total``. Columns are aligned.

    Used in: tools/make_results.py, ``qwem solve``.
    """
    models: list[str] = []
    benchmarks: list[tuple[str, str]] = []
    cells: dict[tuple[str, str], str] = {}
    for r in rows:
        if r.model not in models:
            models.append(r.model)
        if (r.benchmark, r.metric) not in benchmarks:
            benchmarks.append((r.benchmark, r.metric))
        if np.isnan(r.value):
            value = "n/a"
        elif r.metric == "accuracy":
            value = f"{100 * r.value:.1f}%"
        else:
            value = f"{r.value:.3f}"
        cells[(r.benchmark, r.model)] = f"{value} ({r.covered:,}/{r.total:,})"
    header = ["benchmark", "metric", *models]
    body = [[b, m, *(cells.get((b, model), "") for model in models)] for b, m in benchmarks]
    widths = [max(len(row[c]) for row in [header, *body]) for c in range(len(header))]

    def fmt(row: list[str]) -> str:
        left = [row[c].ljust(widths[c]) for c in range(2)]
        right = [row[c].rjust(widths[c]) for c in range(2, len(row))]
        return "  ".join(left + right).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(header), rule, *(fmt(r) for r in body)])


_COLUMNS = tuple(f.name for f in dataclasses.fields(BenchmarkRow))


def to_frame(rows: Sequence[BenchmarkRow | Mapping]):
    """The rows as a pandas ``DataFrame``, one line per row (pandas is imported here).

    Args:
        rows: :class:`BenchmarkRow` objects (from :func:`benchmark_table`), or dicts
            with the same keys (the ``rows`` of a stored ``benchmark.json``).

    Returns:
        A frame with the columns ``model, benchmark, metric, value, covered, total``,
        in the order of ``rows``; pivot it on ``benchmark`` x ``model`` for Figure 3b.

    Raises:
        KeyError: if a dict lacks one of the columns.

    Used in: book/06_qwem_vs_word2vec.md (through ``qwemlib.experiments._comparison``).
    """
    import pandas as pd

    records = [dataclasses.asdict(r) if isinstance(r, BenchmarkRow) else {c: r[c] for c in _COLUMNS}
               for r in rows]
    return pd.DataFrame.from_records(records, columns=list(_COLUMNS))
