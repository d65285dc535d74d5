"""Word similarity: Spearman's rank correlation of model and human scores (paper eq. 23)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..embeddings import Embeddings
from ._readers import PathLike, read_similarity


def rankdata(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``x``, ties getting the average of their ranks (like scipy's)."""
    x = np.asarray(x, dtype=float).ravel()
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    new = np.r_[True, xs[1:] != xs[:-1]]
    group = np.cumsum(new) - 1  # group of each sorted entry
    bounds = np.r_[np.flatnonzero(new), len(x)]  # first position of each group, then n
    avg = 0.5 * (bounds[:-1] + bounds[1:] - 1) + 1  # mean of positions (1-based) in a group
    ranks = np.empty(len(x))
    ranks[order] = avg[group]
    return ranks


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; NaN when fewer than two points or a constant input."""
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if len(x) != len(y):
        raise ValueError(f"pearson: x has {len(x)} entries and y has {len(y)}")
    if len(x) < 2:
        return float("nan")
    xc, yc = x - x.mean(), y - y.mean()
    den = np.sqrt((xc @ xc) * (yc @ yc))
    if den == 0:
        return float("nan")
    return float(np.clip((xc @ yc) / den, -1.0, 1.0))


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (eq. 23): Pearson's correlation of the ranks."""
    return pearson(rankdata(x), rankdata(y))


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
