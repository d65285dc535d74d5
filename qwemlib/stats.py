"""Corpus statistics: co-occurrence counts, P_i, P_ij, and the targets M*, PMI, PPMI, G.

Definitions (see docs/CONVENTIONS.md and the book's chapter 1):

* A positive pair is a token at position ``p`` and one at ``p + o`` in the same
  article, ``1 <= |o| <= L``. With word2vec's shrinking window (the paper's
  code, ``weighting="word2vec"``) the pair is weighted by
  ``w_|o| = (L + 1 - |o|) / ((L + 1) / 2)``; with ``weighting="uniform"`` by 1.
  ``P_ij`` is the normalised weighted count: symmetric, sums to one.
* ``P_i`` is the unigram frequency of the kept tokens.
* ``M*`` (paper eq. 5) is ``(Psi+ P_ij - Psi- P_i P_j) / (0.5 (Psi+ P_ij + Psi- P_i P_j))``;
  under Setting 1 (``Psi+ = Psi-``) the reweighting cancels and ``M*`` depends
  on the statistics alone. It lies in ``[-2, 2]``; pairs that never co-occur
  give exactly ``-2``.
* ``G = Psi+ P_ij + Psi- P_i P_j`` (section 3.1); ``G = 1`` for the paper's QWEM
  choice ``Psi = 1 / (P_ij + P_i P_j)``.

Counting is exact integer arithmetic (weights ``L + 1 - |o|``, the common
factor ``2 / (L + 1)`` applied once at the end), so counts of shards add up
to the count of the whole corpus bit for bit: :func:`count_corpus` maps over
pieces and sums, locally or on a Dask cluster (:func:`count_corpus_dask`).

The pipeline from a preset to these arrays, with its on-disk cache, is
:func:`qwemlib.pipeline.corpus_statistics`; this module only does arithmetic.

Used in: book/01_word2vec_pmi.md, book/02_qwem_matrix_factorization.md, book/05_training.md,
book/08_appendix.md (and every chapter through :mod:`qwemlib.pipeline`).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numba import njit  # counting is ~50x faster than a Python loop

from . import _validate as _v

__all__ = [
    "Cooccurrence",
    "window_weights",
    "count_cooccurrences",
    "count_corpus",
    "count_corpus_dask",
    "unigram_distribution",
    "skipgram_distribution",
    "psi_setting1",
    "psi_subsample",
    "psi_negative_power",
    "target_matrix",
    "reweighting_G",
    "pmi",
    "ppmi",
    "sgns_mean_G",
    "per_word_weight",
    "relative_change",
]

WEIGHTINGS = ("word2vec", "uniform")


def _integer_weights(window: int, weighting: str) -> tuple[np.ndarray, float]:
    if window < 1:
        raise ValueError(f"window must be >= 1 (tokens on each side), got {window}")
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    j = np.arange(1, window + 1)
    if weighting == "word2vec":
        return (window + 1 - j).astype(np.int64), 2.0 / (window + 1)
    return np.ones(window, dtype=np.int64), 1.0


def window_weights(window: int = 16, weighting: str = "word2vec") -> np.ndarray:
    """Weight ``w_j`` of a pair at distance ``j = 1..window`` (shape ``(window,)``).

    word2vec draws the window size uniformly from 1..L at each centre word, so a
    neighbour at distance j is used with probability (L + 1 - j) / L; the
    paper's code writes this as ``(L + 1 - j) / ((L + 1) / 2)``, which keeps the
    total weight per side equal to L (Appendix A.3, eq. 14).
    """
    w, scale = _integer_weights(window, weighting)
    return w * scale


@njit(cache=True, nogil=True)
def _count_kernel(ids, offsets, wts, out):  # pragma: no cover - compiled
    L = wts.shape[0]
    for a in range(offsets.shape[0] - 1):
        s = offsets[a]
        e = offsets[a + 1]
        for p in range(s, e):
            i = ids[p]
            lim = min(e, p + L + 1)
            for q in range(p + 1, lim):
                out[i, ids[q]] += wts[q - p - 1]


@dataclass(frozen=True)
class Cooccurrence:
    """Weighted co-occurrence counts of one corpus (or a sum over shards).

    Attributes:
        counts: (V, V) int64, symmetric; ``counts[i, j]`` is the sum of the
            integer window weights ``L + 1 - |o|`` (or 1) over ordered pairs.
        unigram: (V,) int64 token counts.
        n_tokens: number of tokens counted.
        window: L, tokens on each side.
        weighting: ``"word2vec"`` or ``"uniform"``.
        scale: factor turning the integer weights into ``w_j`` (2 / (L + 1) or 1).
    """

    counts: np.ndarray
    unigram: np.ndarray
    n_tokens: int
    window: int
    weighting: str
    scale: float

    @property
    def vocab_size(self) -> int:
        return int(self.unigram.shape[0])

    def weighted(self) -> np.ndarray:
        """Counts in units of the window weights ``w_j`` (float64)."""
        return self.counts * self.scale

    def __add__(self, other: Cooccurrence) -> Cooccurrence:
        if (self.vocab_size, self.window, self.weighting) != (
            other.vocab_size, other.window, other.weighting
        ):
            raise ValueError(
                "cannot add co-occurrence counts made with different V, window or weighting: "
                f"{(self.vocab_size, self.window, self.weighting)} vs "
                f"{(other.vocab_size, other.window, other.weighting)}"
            )
        return Cooccurrence(
            self.counts + other.counts, self.unigram + other.unigram,
            self.n_tokens + other.n_tokens, self.window, self.weighting, self.scale,
        )


def _check_ids(ids: np.ndarray, offsets: np.ndarray, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    _v.validate_int(vocab_size, "vocab_size (V)")
    ids = np.ascontiguousarray(ids)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be a 1-d integer array, got shape {ids.shape} dtype {ids.dtype}")
    if offsets.ndim != 1 or offsets.size < 1 or offsets[0] != 0 or offsets[-1] != ids.size:
        raise ValueError(
            f"article_offsets must start at 0 and end at len(ids)={ids.size}; "
            f"got {offsets[:1]}..{offsets[-1:]}"
        )
    if np.any(np.diff(offsets) < 0):
        raise ValueError("article_offsets must be non-decreasing")
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise ValueError(
            f"token ids must lie in [0, V={vocab_size}); found range "
            f"[{int(ids.min())}, {int(ids.max())}]"
        )
    return ids, offsets


def count_cooccurrences(
    ids: np.ndarray,
    article_offsets: np.ndarray,
    vocab_size: int,
    window: int = 16,
    weighting: str = "word2vec",
) -> Cooccurrence:
    """Count positive pairs within ``window`` tokens on each side, inside articles.

    Args:
        ids: token ids, shape (N,), values in ``[0, vocab_size)``.
        article_offsets: shape (A+1,); pairs never cross article boundaries.
        vocab_size: V.
        window: L, tokens on each side (paper: 16).
        weighting: ``"word2vec"`` (shrinking window, the paper's code) or ``"uniform"``.

    Returns:
        A :class:`Cooccurrence` with symmetric integer counts.
    """
    ids, offsets = _check_ids(ids, article_offsets, vocab_size)
    wts, scale = _integer_weights(window, weighting)
    out = np.zeros((vocab_size, vocab_size), dtype=np.int64)
    _count_kernel(ids, offsets, wts, out)
    out += out.T.copy()
    unigram = np.bincount(ids, minlength=vocab_size).astype(np.int64)
    return Cooccurrence(out, unigram, int(ids.size), window, weighting, scale)


def count_corpus(corpus, window: int = 16, weighting: str = "word2vec",
                 n_workers: int | None = None) -> Cooccurrence:
    """Count a :class:`~qwemlib.corpus.TokenizedCorpus` as a map over pieces plus a sum.

    The pieces are cut at article boundaries and counted on ``n_workers``
    threads (the kernel releases the GIL); the integer sums equal a single
    :func:`count_cooccurrences` call exactly.
    """
    n_workers = n_workers or min(2, os.cpu_count() or 1)
    V = len(corpus.vocab)
    parts = corpus.split(n_workers)
    if len(parts) == 1:
        return count_cooccurrences(parts[0][0], parts[0][1], V, window, weighting)
    with ThreadPoolExecutor(n_workers) as ex:
        results = list(ex.map(lambda p: count_cooccurrences(p[0], p[1], V, window, weighting), parts))
    total = results[0]
    for r in results[1:]:
        total = total + r
    return total


def count_corpus_dask(corpus, client, window: int = 16, weighting: str = "word2vec",
                      n_parts: int | None = None) -> Cooccurrence:
    """The same map-and-sum as :func:`count_corpus`, on a ``dask.distributed`` cluster.

    Each piece (ids, offsets) is scattered to a worker, counted there, and the
    partial counts are summed with a tree reduction on the cluster.
    """
    n_parts = n_parts or max(1, len(client.scheduler_info()["workers"]))
    V = len(corpus.vocab)
    futures = [
        client.submit(count_cooccurrences, ids, off, V, window, weighting, pure=False)
        for ids, off in corpus.split(n_parts)
    ]
    while len(futures) > 1:
        nxt = [client.submit(_add, a, b, pure=False) for a, b in zip(futures[::2], futures[1::2])]
        if len(futures) % 2:
            nxt.append(futures[-1])
        futures = nxt
    return futures[0].result()


def _add(a: Cooccurrence, b: Cooccurrence) -> Cooccurrence:
    return a + b


# --------------------------------------------------------------------------- distributions


def unigram_distribution(co: Cooccurrence) -> np.ndarray:
    """``P_i``: unigram frequencies of the counted tokens, shape (V,), sums to one."""
    _v.validate_counts(co.counts, co.unigram, full=False)
    if co.n_tokens == 0 or co.unigram.sum() == 0:
        raise ValueError("the co-occurrence counts are empty (no tokens were counted); count a longer corpus")
    return co.unigram / co.unigram.sum()


def skipgram_distribution(co: Cooccurrence) -> np.ndarray:
    """``P_ij``: the positive-pair (skip-gram) distribution, (V, V), symmetric, sums to one."""
    _v.validate_counts(co.counts, co.unigram)
    if (total := co.counts.sum()) == 0:
        raise ValueError(
            "no positive pairs were counted (every article is a single token?); "
            "use a larger corpus or a larger window"
        )
    return co.counts / float(total)


def _check_P(P_ij: np.ndarray, P_i: np.ndarray) -> None:
    _v.validate_pair_distribution(P_ij, P_i)


def psi_setting1(P_ij: np.ndarray, P_i: np.ndarray) -> np.ndarray:
    """The paper's QWEM reweighting ``Psi+ = Psi- = 1 / (P_ij + P_i P_j)`` (Setting 1, g = 1)."""
    _check_P(P_ij, P_i)
    return 1.0 / (P_ij + np.outer(P_i, P_i))


def psi_subsample(P_i: np.ndarray, threshold: float = 1e-5) -> np.ndarray:
    """word2vec's subsampling as a reweighting, ``Psi_ij = Pacc(i) Pacc(j)`` (eq. 15-16)."""
    pacc = _acceptance(P_i, threshold)
    return np.outer(pacc, pacc)


def _acceptance(P_i: np.ndarray, threshold: float) -> np.ndarray:
    """word2vec's keep probability ``Pacc(i) = min(1, t / P_i + sqrt(t / P_i))`` (eq. 15)."""
    r = _v.validate_positive(threshold, "the subsampling threshold") / _v.validate_probabilities(P_i)
    return np.minimum(1.0, r + np.sqrt(r))


def psi_negative_power(P_i: np.ndarray, power: float = 0.75, normaliser: str = "word2vec") -> np.ndarray:
    """Negatives from ``Q_j = P_j^power / sum_k P_k^power`` as a reweighting of ``Psi-`` (eq. 17).

    ``Psi-_ij = Q_j / P_j``. ``normaliser="word2vec"`` (default, correct) divides
    ``P_j^(power-1)`` by ``sum_k P_k^power``, so ``sum_ij Psi-_ij P_i P_j = 1``: as many
    negatives as word2vec draws. ``"paper-eq17"`` is eq. 17 as printed, divided by
    ``mean_k P_k^(power-1)``: total mass ``sum_k P_k^power / mean_k P_k^(power-1)`` (0.59 at
    ``ci``, 0.49 at ``local``), the target for that fraction of the negatives. Depends on
    ``j`` only: not symmetric, outside Setting 1. Used in: book/08_appendix.md, book/intro.md.
    """
    if normaliser not in ("word2vec", "paper-eq17"):
        raise ValueError(f"normaliser must be 'word2vec' or 'paper-eq17', got {normaliser!r}")
    x = _v.validate_probabilities(P_i) ** (power - 1.0)
    z = np.sum(P_i ** power) if normaliser == "word2vec" else x.mean()
    return np.broadcast_to(x / z, (P_i.shape[0], P_i.shape[0])).copy()


def target_matrix(
    P_ij: np.ndarray,
    P_i: np.ndarray,
    psi_plus: np.ndarray | None = None,
    psi_minus: np.ndarray | None = None,
) -> np.ndarray:
    """The QWEM target ``M*`` (paper eq. 5).

    ``M*_ij = (Psi+ P_ij - Psi- P_i P_j) / (0.5 (Psi+ P_ij + Psi- P_i P_j))``.
    With ``psi_plus = psi_minus`` (any symmetric choice, Setting 1) the
    reweighting cancels, which is the default.

    Returns:
        (V, V) float64 with entries in ``[-2, 2]``.
    """
    _check_P(P_ij, P_i)
    pos = P_ij if psi_plus is None else psi_plus * P_ij
    neg = np.outer(P_i, P_i)
    if psi_minus is not None:
        neg = psi_minus * neg
    return (pos - neg) / (0.5 * (pos + neg))


def reweighting_G(P_ij, P_i, psi_plus=None, psi_minus=None) -> np.ndarray:
    """``G = Psi+ P_ij + Psi- P_i P_j`` (section 3.1). Defaults to Setting 1, where G = 1."""
    if psi_plus is None and psi_minus is None:
        psi_plus = psi_minus = psi_setting1(P_ij, P_i)
    psi_plus = 1.0 if psi_plus is None else psi_plus
    psi_minus = 1.0 if psi_minus is None else psi_minus
    return psi_plus * P_ij + psi_minus * np.outer(P_i, P_i)


def pmi(P_ij: np.ndarray, P_i: np.ndarray, unseen: str = "zero") -> np.ndarray:
    """Pointwise mutual information ``log(P_ij / (P_i P_j))`` (eq. 2, 75).

    Args:
        unseen: value for pairs that never co-occur: ``"zero"`` (Levy and
            Goldberg's PMI_0, which keeps the matrix finite for an SVD) or
            ``"-inf"`` (the exact value).
    """
    _check_P(P_ij, P_i)
    if unseen not in ("zero", "-inf"):
        raise ValueError(f"unseen must be 'zero' or '-inf', got {unseen!r}")
    with np.errstate(divide="ignore"):
        out = np.log(P_ij) - np.log(np.outer(P_i, P_i))
    if unseen == "zero":
        out[P_ij == 0] = 0.0
    return out


def ppmi(P_ij: np.ndarray, P_i: np.ndarray) -> np.ndarray:
    """Positive PMI, ``max(0, PMI)``; unseen pairs give 0."""
    return np.maximum(pmi(P_ij, P_i, unseen="zero"), 0.0)


def sgns_mean_G(P_ij, P_i, subsample: float | None = 1e-5, neg_power: float = 0.75) -> float:
    """Mean over all (i, j) of SGNS's reweighting ``G_ij`` with the trainer's tricks.

    To second order around 0, SGNS with subsampling weights ``acc_i acc_j`` (eq. 15-16)
    and negatives ``j ~ Q_j = P_j^{3/4} / sum P^{3/4}`` has per-pair curvature ``G_ij / 8``
    with ``G_ij = acc_i acc_j (P_ij + (P_i Q_j + P_j Q_i) / 2)``; QWEM under Setting 1 has
    ``G = 1``. Using the mean ``G`` as SGNS's ``g`` puts one SGD step of size ``eta`` at
    ``dt = G_mean * eta`` on the theory's axis (QWEM: ``dt = 2 eta``). The clock is
    nominal, because SGNS's ``G`` is not constant (Proposition, eq. 8).

    Used in: book/05_training.md, qwemlib/cli.py (``qwem train``),
    ``qwemlib.experiments._training`` (tools/make_results.py).
    """
    _check_P(P_ij, P_i)
    acc = _acceptance(P_i, subsample) if subsample is not None else np.ones_like(P_i)
    Q = P_i**neg_power
    Q = Q / Q.sum()
    A = np.outer(acc, acc)
    neg = 0.5 * (np.outer(P_i, Q) + np.outer(Q, P_i))
    return float(np.mean(A * (P_ij + neg)))


def per_word_weight(psi: np.ndarray, P_i: np.ndarray) -> np.ndarray:
    """One weight per word: the geometric mean of row ``i`` of a reweighting ``Psi``.

    Normalised to 1 for the most frequent word, so that reweightings of different
    overall scale (Setting 1, ``Psi = 1 / (P_ij + P_i P_j)``, against word2vec's
    subsampling, eq. 15-16) can be compared as functions of ``P_i``.

    Used in: book/02_qwem_matrix_factorization.md (Setting 1 looks like subsampling).
    """
    if not (np.all(np.asarray(psi) > 0) and np.isfinite(psi).all()):
        raise ValueError("per_word_weight: psi must be finite and > 0 (a reweighting); check its source")
    r = np.exp(np.mean(np.log(psi), axis=1))
    return r / r[np.argmax(P_i)]


def relative_change(A: np.ndarray, B: np.ndarray) -> float:
    """``||A - B||_F / ||B||_F``: how far a reweighted target ``A`` moved from ``B``.

    Used in: book/08_appendix.md (which reweightings change ``M*``, Appendix A.3).
    """
    A, B = _v.validate_same_shape(A, B, ("A", "B"))
    if not (norm := np.linalg.norm(B)) > 0:
        raise ValueError(f"relative_change: the reference B has norm {norm}; pass a non-zero, finite B")
    return float(np.linalg.norm(A - B) / norm)
