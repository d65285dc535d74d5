"""The outside peer: gensim's Word2Vec (skip-gram with negative sampling) on our tokens.

gensim is the reference implementation of word2vec (eq. 1); book/06 uses it as a
check on our SGNS trainer and, at presets without SGD, as the word2vec model. gensim
is an optional dependency, imported only when a model is trained.

Used in: book/06_qwem_vs_word2vec.md (through ``data/results/``), ``tools/make_results.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .._io import atomic_savez
from ..embeddings import Embeddings

__all__ = ["GENSIM_EPOCHS", "GENSIM_EPOCHS_LARGE", "GENSIM_PARAMS", "gensim_embeddings"]

GENSIM_EPOCHS = 10             # at ci
GENSIM_EPOCHS_LARGE = 3        # at local/full on a CPU: ~8 min per epoch of 65 M tokens on 2 cores

#: word2vec's defaults as the paper uses them (skip-gram, 5 negatives, subsampling 1e-5);
#: ``vector_size``, ``window`` and ``epochs`` come from the preset and the caller.
GENSIM_PARAMS = dict(sg=1, negative=5, sample=1e-5, min_count=1, workers=2, seed=0)


def gensim_embeddings(st, preset, epochs: int = GENSIM_EPOCHS, log=print, scratch: Path | None = None):
    """gensim Word2Vec (:data:`GENSIM_PARAMS`) on the same tokens, in our word order.

    Args:
        st: :class:`~qwemlib.pipeline.CorpusStatistics` (its tokenized corpus and words).
        preset: the :class:`~qwemlib.config.Preset` (``dim``, ``window``, ``corpus``).
        epochs: passes over the corpus.
        log: a print-like function.
        scratch: a folder (outside the repository) where the vectors and the wall time
            are kept under a key of corpus, V, d, window and epochs, and reused by a later
            call with the same key (for reruns of the later steps).

    Returns:
        ``(Embeddings, seconds, reused_from)``: ``reused_from`` is the path of the reused
        file, or ``None`` when gensim was trained now.
    """
    words = list(st.words)
    key = (f"gensim-{preset.corpus.replace('/', '_')}-V{len(words)}-d{preset.dim}-L{preset.window}"
           f"-ep{epochs}-tok{st.corpus.n_tokens}")
    cached = scratch / f"{key}.npz" if scratch is not None else None
    if cached is not None and cached.exists():
        z = np.load(cached)
        if [str(w) for w in z["words"]] == words:
            log(f"gensim Word2Vec, {epochs} epochs: reused {cached} (trained in {float(z['seconds']):.0f} s)")
            return Embeddings(words, z["vectors"]), float(z["seconds"]), str(cached)
    from gensim.models import Word2Vec

    sents = [[words[t] for t in a] for a in st.corpus.articles()]
    sents = [s[i:i + 10_000] for s in sents for i in range(0, len(s), 10_000)]
    t = time.perf_counter()
    m = Word2Vec(sents, vector_size=preset.dim, window=preset.window, epochs=epochs, **GENSIM_PARAMS)
    dt = time.perf_counter() - t
    log(f"gensim Word2Vec, {epochs} epochs: {dt:.0f} s")
    missing = [w for w in words if w not in m.wv.key_to_index]
    if missing:
        raise ValueError(f"gensim's vocabulary lacks {len(missing)} of our words (e.g. {missing[:3]})")
    vecs = m.wv[words].astype(np.float32)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_savez(cached, words=np.array(words), vectors=vecs, seconds=np.float64(dt))
    return Embeddings(words, vecs), dt, None
