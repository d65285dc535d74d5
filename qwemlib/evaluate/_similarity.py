"""Word similarity: Spearman's rank correlation of model and human scores (paper eq. 23)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.stats

from .._validate import validate_embeddings
from ..embeddings import Embeddings
from ._readers import PathLike, read_similarity


def _pair(x, y, name: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if len(x) != len(y):
        raise ValueError(f"{name}: x has {len(x)} entries and y has {len(y)}; pass one score per pair")
    return x, y


def _degenerate(x: np.ndarray, y: np.ndarray) -> bool:
    """Fewer than two points or a constant input: no correlation (scipy would warn and give NaN)."""
    return len(x) < 2 or bool(np.all(x == x[0])) or bool(np.all(y == y[0]))


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's correlation (``scipy.stats.pearsonr``); NaN for fewer than two points or a constant input."""
    x, y = _pair(x, y, "pearson")
    return float("nan") if _degenerate(x, y) else float(scipy.stats.pearsonr(x, y).statistic)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (eq. 23), ``scipy.stats.spearmanr``: ties get their average rank.

    NaN for fewer than two points or a constant input.
    """
    x, y = _pair(x, y, "spearman")
    return float("nan") if _degenerate(x, y) else float(scipy.stats.spearmanr(x, y).statistic)


@dataclass(frozen=True)
class SimilarityResult:
    """Result of :func:`evaluate_similarity`.

    Attributes:
        spearman: rank correlation of model and human scores (eq. 23), NaN if < 2 pairs.
        pearson: linear correlation of model and human scores.
        covered: pairs with both words in the vocabulary (the ones scored).
        total: pairs (rows) in the file.
        oov: ``total - covered``, the pairs skipped.
        score: ``"cosine"`` or ``"dot"``, the model's similarity.
    """

    spearman: float
    pearson: float
    covered: int
    total: int
    oov: int
    score: str = "cosine"


def evaluate_similarity(
    emb: Embeddings,
    path_or_name: PathLike | Sequence[tuple[str, str, float]],
    score: str = "cosine",
    restrict_vocab: int | None = None,
) -> SimilarityResult:
    """Correlation between model and human similarity of word pairs (eq. 23).

    The model's similarity of a pair is the cosine of the two embeddings
    (``score="cosine"``, gensim's ``evaluate_word_pairs``) or their inner product
    (``score="dot"``, as the paper's text has it). Pairs with an out-of-vocabulary
    word are skipped and counted. Repeated rows (WordSim353's ``money,cash``) are
    all kept, as gensim keeps them.

    Args:
        emb: the embeddings.
        path_or_name: a file, ``"men"``, ``"wordsim353"``, ``"simlex999"``, or
            pairs already read by :func:`read_similarity`.
        score: ``"cosine"`` or ``"dot"``.
        restrict_vocab: only the first this many words count as in the vocabulary.

    Returns:
        A :class:`SimilarityResult` (Spearman is the benchmark number).

    Used in: book/06_qwem_vs_word2vec.md (through :func:`benchmark_table`).
    """
    validate_embeddings(emb, "emb")
    if score not in ("cosine", "dot"):
        raise ValueError(f"evaluate_similarity: score must be 'cosine' or 'dot', got {score!r}")
    rows = path_or_name if isinstance(path_or_name, (list, tuple)) else read_similarity(path_or_name)
    vocab = emb.folded_index(restrict_vocab)
    ids = [(vocab[a.lower()], vocab[b.lower()], s) for a, b, s in rows
           if a.lower() in vocab and b.lower() in vocab]
    X = emb.unit_vectors if score == "cosine" else emb.vectors
    if ids:
        i = np.array([r[0] for r in ids])
        j = np.array([r[1] for r in ids])
        model = np.einsum("nd,nd->n", X[i], X[j])
        human = np.array([r[2] for r in ids], dtype=float)
    else:
        model = human = np.zeros(0)
    return SimilarityResult(
        spearman=spearman(human, model),
        pearson=pearson(human, model),
        covered=len(ids),
        total=len(rows),
        oov=len(rows) - len(ids),
        score=score,
    )
