"""From a preset to the corpus statistics: corpus -> counts -> P_i, P_ij, M*, cached on disk.

This is the one place that joins :mod:`qwemlib.corpus` (tokens) and
:mod:`qwemlib.stats` (arithmetic): :func:`corpus_statistics` loads the preset's
token cache, counts co-occurrences (or reads them from the cache), and returns
:class:`CorpusStatistics` with ``P_i``, ``P_ij`` and ``M*`` (eq. 5, Setting 1).

The co-occurrence counts are cached beside the token ids, in the corpus's cache
folder (:func:`qwemlib.corpus.cache_root`), as
``cooc-V<V>-L<window>-<weighting>.npz``. Each file stores its key (the corpus's
content key, :func:`qwemlib.corpus.cache_key`, plus V, window and weighting) and
is used only when the key and the array shapes match; otherwise, or when it is
damaged, it is reported and recounted. A failed cache write is a warning.

Used in: every chapter of the book, qwemlib/cli.py, tools/make_results.py.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import config
from .corpus import TokenizedCorpus, cache_key, load_corpus, read_keyed, root_of, write_cache
from .stats import Cooccurrence, count_corpus, skipgram_distribution, target_matrix, unigram_distribution

__all__ = ["CorpusStatistics", "corpus_statistics", "cooccurrence_cache_path"]


@dataclass(frozen=True)
class CorpusStatistics:
    """Everything the closed-form theory needs for one preset.

    Attributes:
        corpus: the :class:`~qwemlib.corpus.TokenizedCorpus`.
        cooc: its :class:`~qwemlib.stats.Cooccurrence` counts.
        P_i, P_ij: unigram and skip-gram distributions.
        M: the target ``M*`` (eq. 5, Setting 1).
        preset: the :class:`~qwemlib.config.Preset` that made it.
    """

    corpus: TokenizedCorpus
    cooc: Cooccurrence
    P_i: np.ndarray
    P_ij: np.ndarray
    M: np.ndarray
    preset: config.Preset

    @property
    def words(self) -> tuple[str, ...]:
        return self.corpus.vocab.words


def _resolve(preset) -> config.Preset:
    if preset is None:
        return config.preset()
    return config.preset(preset) if isinstance(preset, str) else preset


def cooccurrence_cache_path(preset=None, weighting: str = "word2vec") -> Path:
    """Where :func:`corpus_statistics` keeps the co-occurrence counts of ``preset``.

    The file may not exist yet; ``cooccurrence_cache_path(p).exists()`` says whether
    the next :func:`corpus_statistics` call will read the counts instead of counting.
    """
    preset = _resolve(preset)
    return root_of(_corpus_key(preset)) / f"cooc-V{preset.vocab}-L{preset.window}-{weighting}.npz"


_WEIGHTINGS = ("word2vec", "uniform")


def _corpus_key(preset: config.Preset) -> dict:
    return cache_key(preset.corpus, min_article_tokens=preset.min_article_tokens,
                     max_tokens=preset.max_tokens)


def corpus_statistics(preset=None, *, weighting: str = "word2vec", cache: bool = True) -> CorpusStatistics:
    """Corpus -> counts -> P_i, P_ij, M* for a preset (default: ``QWEM_SCALE``), cached on disk.

    Args:
        preset: a :class:`~qwemlib.config.Preset`, a preset name, or ``None`` for
            ``QWEM_SCALE``.
        weighting: ``"word2vec"`` (the shrinking window) or ``"uniform"``
            (see :func:`qwemlib.stats.count_cooccurrences`).
        cache: read and write the token and co-occurrence caches.

    Example:
        >>> st = corpus_statistics("ci")  # doctest: +SKIP
        >>> st.M.shape  # doctest: +SKIP
        (2000, 2000)
    """
    preset = _resolve(preset)
    if weighting not in _WEIGHTINGS:
        raise ValueError(f"weighting must be one of {_WEIGHTINGS}; got {weighting!r}")
    if isinstance(preset.window, bool) or not isinstance(preset.window, int) or preset.window < 1:
        raise ValueError(f"preset {preset.name!r}: window must be a whole number >= 1; got {preset.window!r}")
    corpus = load_corpus(
        preset.corpus, preset.vocab, min_article_tokens=preset.min_article_tokens,
        max_tokens=preset.max_tokens, cache=cache,
    )
    path = cooccurrence_cache_path(preset, weighting)
    key = {**_corpus_key(preset), "V": preset.vocab, "window": preset.window, "weighting": weighting}
    V = len(corpus.vocab)
    hit = read_keyed(path, ["counts", "unigram"], key, what="co-occurrence cache file",
                     rebuild="the counts will be recomputed") if cache else None
    if hit is not None and (hit[0]["counts"].shape != (V, V) or hit[0]["unigram"].shape != (V,)):
        warnings.warn(f"co-occurrence cache file {path} holds counts of shape {hit[0]['counts'].shape}, "
                      f"not ({V}, {V}); the counts will be recomputed", stacklevel=2)
        hit = None
    if hit is not None:
        got, meta = hit
        co = Cooccurrence(got["counts"], got["unigram"], meta["n_tokens"], meta["window"],
                          meta["weighting"], meta["scale"])
    else:
        co = count_corpus(corpus, preset.window, weighting)
        if cache:
            write_cache(path, counts=co.counts, unigram=co.unigram, meta=np.array(json.dumps(
                {"n_tokens": co.n_tokens, "window": co.window, "weighting": co.weighting,
                 "scale": co.scale, "key": key})))
    P_i = unigram_distribution(co)
    P_ij = skipgram_distribution(co)
    return CorpusStatistics(corpus, co, P_i, P_ij, target_matrix(P_ij, P_i), preset)
