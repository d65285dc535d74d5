"""Principal components of embeddings (Figure 3a) and subspace overlaps of two of them (Figure 5)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..embeddings import Embeddings, unit_rows


def _as_matrix(W_or_emb: Embeddings | np.ndarray) -> np.ndarray:
    """The ``(V, d)`` array of embeddings, or of a plain array (checked to be 2-D)."""
    if isinstance(W_or_emb, Embeddings):
        return W_or_emb.vectors
    W = np.asarray(W_or_emb, dtype=float)
    if W.ndim != 2:
        raise ValueError(f"expected an embedding matrix W of shape (V, d); got shape {W.shape}")
    return W


@dataclass(frozen=True)
class ComponentWords:
    """The words closest to one principal component.

    Attributes:
        component: index k of the component (0 = largest singular value).
        sign: +1 or -1, the direction of the component that was reported.
        singular_value: s_k of W.
        words: the ``topn`` words with the largest cosine to ``sign * v_k``.
        cosines: those cosines.
    """

    component: int
    sign: int
    singular_value: float
    words: tuple[str, ...]
    cosines: tuple[float, ...]


def top_words_per_component(
    W_or_emb: Embeddings | np.ndarray,
    words: Sequence[str] | None = None,
    k: int = 10,
    topn: int = 10,
    components: Iterable[int] | None = None,
) -> list[ComponentWords]:
    """Words with the smallest cosine distance to each principal component (Figure 3a).

    With the SVD ``W = U S Vᵀ`` (no centering), the k-th principal direction in
    embedding space is ``v_k`` (the k-th row of ``Vᵀ``), and word ``i``'s cosine to
    it is ``W_i·v_k / |W_i| = U_ik s_k / |W_i|``. A singular vector is defined only
    up to sign, so both ``v_k`` and ``-v_k`` are tried and the one whose ``topn``
    best cosines have the larger sum (the more aligned direction) is reported.

    Args:
        W_or_emb: embeddings, or ``W`` of shape ``(V, d)`` with ``words``.
        words: the V words (taken from ``W_or_emb`` when it is an :class:`Embeddings`).
        k: report components ``0..k-1``.
        topn: words per component.
        components: report these component indices instead of ``range(k)``
            (e.g. ``[10, 11, 12]`` for the paper's components 11-13).

    Returns:
        One :class:`ComponentWords` per component.

    Used in: book/06_qwem_vs_word2vec.md, ``qwemlib.experiments._features``,
    ``qwemlib.experiments._training`` (tools/make_results.py).
    """
    W = _as_matrix(W_or_emb)
    if words is None:
        if not isinstance(W_or_emb, Embeddings):
            raise ValueError("top_words_per_component: pass words=... with a plain (V, d) array")
        words = W_or_emb.words
    if len(words) != W.shape[0]:
        raise ValueError(f"top_words_per_component: {len(words)} words for {W.shape[0]} rows of W")
    comps = list(range(k)) if components is None else [int(c) for c in components]
    rank = min(W.shape)
    if any(c < 0 or c >= rank for c in comps):
        raise ValueError(f"top_words_per_component: components must lie in 0..{rank - 1}; got {comps}")
    topn = min(int(topn), W.shape[0])
    _, s, Vt = np.linalg.svd(W, full_matrices=False)
    cos = unit_rows(W) @ Vt[comps].T  # (V, len(comps))
    out = []
    for j, c in enumerate(comps):
        col = cos[:, j]
        best_pos = np.sort(col)[::-1][:topn]
        best_neg = np.sort(-col)[::-1][:topn]
        sign = 1 if best_pos.sum() >= best_neg.sum() else -1
        scores = sign * col
        idx = np.argsort(-scores, kind="stable")[:topn]
        out.append(
            ComponentWords(
                component=c,
                sign=sign,
                singular_value=float(s[c]),
                words=tuple(words[i] for i in idx),
                cosines=tuple(float(scores[i]) for i in idx),
            )
        )
    return out


def component_overlap(W_a: Embeddings | np.ndarray, W_b: Embeddings | np.ndarray, k: int) -> np.ndarray:
    """Squared overlaps of the top-k left singular vectors of two embeddings (Figure 5).

    ``O[i, j] = (u_i^a · u_j^b)^2`` with ``u`` the left singular vectors (in word
    space, length V) of ``W_a`` and ``W_b``, so the rows of W must be the same words
    in the same order. Each row and column of the full ``V x V`` matrix sums to one;
    the ``k x k`` block shows whether the two models learn the same subspaces.

    Args:
        W_a, W_b: embeddings or ``(V, d)`` arrays over the same words.
        k: number of singular vectors (at most ``min(V, d)`` of each).

    Returns:
        ``(k, k)`` array of squared overlaps in ``[0, 1]``.

    Used in: book/06_qwem_vs_word2vec.md, ``qwemlib.experiments._features`` (tools/make_results.py).
    """
    if isinstance(W_a, Embeddings) and isinstance(W_b, Embeddings) and W_a.words != W_b.words:
        raise ValueError(
            "component_overlap: the two embeddings have different words or word orders; "
            "reorder one to match the other (e.g. Embeddings(a.words, b[list(a.words)]))"
        )
    A, B = _as_matrix(W_a), _as_matrix(W_b)
    if A.shape[0] != B.shape[0]:
        raise ValueError(f"component_overlap: W_a has {A.shape[0]} rows and W_b has {B.shape[0]}")
    if not 1 <= k <= min(min(A.shape), min(B.shape)):
        raise ValueError(f"component_overlap: k={k} must lie in 1..{min(min(A.shape), min(B.shape))}")
    Ua = np.linalg.svd(A, full_matrices=False)[0][:, :k]
    Ub = np.linalg.svd(B, full_matrices=False)[0][:, :k]
    return (Ua.T @ Ub) ** 2
