"""Checks of what :func:`qwemlib.train.train` is given: the token stream and the statistics.

Used in: :func:`qwemlib.train.train`, :func:`qwemlib.train.build_sampler` and the test oracle.
"""

from __future__ import annotations

import numpy as np


def _check_corpus(tokens, article_offsets, vocab_size=None):
    """``(ids, offsets int64)`` after checking shapes, order, the int32 limit and the id range."""
    ids = np.asarray(tokens)
    off = np.asarray(article_offsets, dtype=np.int64)
    if ids.ndim != 1 or ids.size == 0:
        raise ValueError(f"tokens: need a non-empty 1-d array of token ids, got shape {ids.shape}")
    if not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"tokens: need integer ids, got dtype {ids.dtype}")
    if off.ndim != 1 or off.size < 2 or off[0] != 0 or off[-1] != ids.size or np.any(np.diff(off) < 0):
        raise ValueError(
            "article_offsets: need a non-decreasing (A+1,) array with offsets[0] = 0 and "
            f"offsets[-1] = len(tokens) = {ids.size}; got {off[:3]}...{off[-3:]}"
        )
    if ids.size >= 2**31 - 64:
        raise ValueError(f"tokens: {ids.size} tokens exceed the int32 positions of the sampler; "
                         "split the corpus into shards")
    if vocab_size is not None and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"tokens: ids must lie in [0, V={vocab_size}), got [{ids.min()}, {ids.max()}]")
    return ids, off


def _check_finite(name: str, a: np.ndarray) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        raise ValueError(f"stats_or_P: {name} has {int(bad.sum())} non-finite entries (NaN or inf), "
                         f"the first at index {tuple(int(i) for i in np.argwhere(bad)[0])}; recount the "
                         "statistics (qwemlib.stats.cooccurrence) from the token ids")
    if (a < 0).any():
        raise ValueError(f"stats_or_P: {name} has {int((a < 0).sum())} negative entries; counts and "
                         "probabilities are >= 0: recount the statistics from the token ids")


def _distributions(stats_or_P):
    """(P_ij, P_i, window or None, weighting or None) from a Cooccurrence or a tuple."""
    if hasattr(stats_or_P, "counts") and hasattr(stats_or_P, "unigram"):
        C = np.asarray(stats_or_P.counts, dtype=np.float64)
        u = np.asarray(stats_or_P.unigram, dtype=np.float64)
        _check_finite("counts", C)
        _check_finite("unigram", u)
        if C.sum() <= 0 or u.sum() <= 0:
            raise ValueError("stats_or_P: the co-occurrence counts or the unigram counts are all zero")
        return (C / C.sum(), u / u.sum(), getattr(stats_or_P, "window", None),
                getattr(stats_or_P, "weighting", None))
    if isinstance(stats_or_P, (tuple, list)) and len(stats_or_P) == 2:
        Pij = np.asarray(stats_or_P[0], dtype=np.float64)
        Pi = np.asarray(stats_or_P[1], dtype=np.float64)
        V = Pi.shape[0]
        if Pij.shape != (V, V):
            raise ValueError(f"stats_or_P: P_ij has shape {Pij.shape}, expected ({V}, {V}) to match P_i")
        _check_finite("P_ij", Pij)
        _check_finite("P_i", Pi)
        if not (np.isclose(Pij.sum(), 1, rtol=1e-6) and np.isclose(Pi.sum(), 1, rtol=1e-6)):
            raise ValueError("stats_or_P: P_ij and P_i must each sum to 1")
        return Pij, Pi, None, None
    raise ValueError("stats_or_P: pass a stats.Cooccurrence or a tuple (P_ij, P_i)")

