"""Unit rows and the blocked 3CosAdd argmax (eq. 21), shared by gensim's calls and qwemlib.evaluate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

_CHUNK_ELEMENTS = 1 << 23  # entries of one block of query-by-vocabulary scores (64 MB in float64)


def unit_rows(W: np.ndarray) -> np.ndarray:
    """Rows of ``W`` scaled to unit length; all-zero rows stay zero."""
    norms = np.linalg.norm(W, axis=1, keepdims=True)
    return W / np.where(norms > 0, norms, 1)


def case_variants(
    words: Sequence[str], vocab: Mapping[str, int], fold=str.lower,
) -> tuple[np.ndarray | None, dict[int, np.ndarray]]:
    """Rows that share a case-folded spelling (e.g. ``Paris`` and ``paris``).

    Args:
        words: the candidate words, in row order.
        vocab: folded spelling -> the row that stands for it (the first variant).
        fold: the folding (``str.lower`` for :mod:`qwemlib.evaluate`, ``str.upper``
            for gensim's calls).

    Returns:
        ``(fold_rows, variants)``: row -> the row of its first variant (None when no
        two words share a spelling), and that row -> all rows of its spelling (only
        spellings with more than one row), as :func:`answer_3cosadd` takes them.
    """
    rows = np.array([vocab[fold(w)] for w in words], dtype=np.int64)
    if np.array_equal(rows, np.arange(len(words))):
        return None, {}
    groups: dict[int, list[int]] = {}
    for i, f in enumerate(rows):
        groups.setdefault(int(f), []).append(i)
    return rows, {f: np.array(g) for f, g in groups.items() if len(g) > 1}


def answer_3cosadd(
    U: np.ndarray, q: np.ndarray, fold: np.ndarray | None, variants: Mapping[int, np.ndarray],
    X: np.ndarray | None = None,
) -> np.ndarray:
    """Row of ``argmax_w ŵ·(b̂ + ĉ - â)`` over ``U`` without ``a, b, c``, per question (eq. 21).

    A query word's case variants are masked too, and a prediction of any variant
    counts as its first variant, as in gensim's ``evaluate_word_analogies``.

    Args:
        U: unit vectors of the candidates, shape ``(V, d)``.
        q: rows ``(a, b, c)`` of each question, shape ``(n, 3)``.
        fold: row -> row of its first case variant, or None if there are no variants.
        variants: row -> all rows sharing its case-folded spelling (only those with >1).
        X: the vectors the query ``b + c - a`` is built from (default ``U``; the raw
            vectors give eq. 22's candidate-only normalisation).

    Cost: one ``(n, d) x (d, V)`` product, in blocks of about 8 M scores.

    Used in: :func:`qwemlib.evaluate.evaluate_analogies` (book/06_qwem_vs_word2vec.md,
    book/07 through ``family_accuracy``) and :meth:`Embeddings.evaluate_word_analogies`.
    """
    n = q.shape[0]
    V = U.shape[0]
    pred = np.empty(n, dtype=np.int64)
    chunk = max(1, _CHUNK_ELEMENTS // max(V, 1))
    Ut = np.ascontiguousarray(U.T)
    X = U if X is None else X
    for start in range(0, n, chunk):
        qa, qb, qc = (q[start:start + chunk, j] for j in range(3))
        query = X[qb] + X[qc] - X[qa]
        sims = query @ Ut
        rows = np.arange(len(qa))
        for col in (qa, qb, qc):
            sims[rows, col] = -np.inf
        if variants:
            for r in range(len(qa)):
                for col in (qa[r], qb[r], qc[r]):
                    extra = variants.get(int(col))
                    if extra is not None:
                        sims[r, extra] = -np.inf
        pred[start:start + chunk] = np.argmax(sims, axis=1)
    if fold is not None:
        pred = fold[pred]
    return pred
