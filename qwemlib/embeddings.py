"""The vectors object: ``V`` words and their embeddings ``W`` of shape ``(V, d)``.

:class:`Embeddings` behaves like gensim's ``KeyedVectors`` (``most_similar``,
``similarity``, ``save``/``load``, and ``to_gensim`` to hand the vectors to gensim,
which is imported only there). The benchmarks that score it live in
:mod:`qwemlib.evaluate`, which re-exports it (``qwemlib.evaluate.Embeddings``).

Words are looked up exactly (``emb["Paris"]``); the benchmarks compare them
case-insensitively through :meth:`Embeddings.folded_index`, as gensim does.

Used in: book/06_qwem_vs_word2vec.md, book/07_linear_structure.md,
tools/make_results.py, ``qwem`` (:mod:`qwemlib.cli`).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ._io import atomic_savez

__all__ = ["Embeddings"]

_FORMAT_VERSION = "qwemlib.embeddings/1"


def _unit_rows(W: np.ndarray) -> np.ndarray:
    """Rows of ``W`` scaled to unit length; all-zero rows stay zero."""
    norms = np.linalg.norm(W, axis=1, keepdims=True)
    return W / np.where(norms > 0, norms, 1)


class Embeddings:
    """Word vectors, shaped like gensim's ``KeyedVectors``.

    Args:
        words: the ``V`` words, one per row of ``vectors``, all distinct.
        vectors: ``W`` with shape ``(V, d)`` (floating point, finite). The array is
            kept, not copied: do not modify it in place afterwards (unit vectors
            are cached).

    Attributes:
        words: the words, as a tuple (``index_to_key`` is the same, as a list).
        vectors: ``W``, shape ``(V, d)``.
        key_to_index: word -> row.

    Raises:
        ValueError: if the shapes disagree, a word repeats, or a vector is not finite.

    Example:
        >>> emb = Embeddings(["king", "queen", "man", "woman"], np.eye(4))
        >>> emb["queen"].shape, "man" in emb, emb.index("woman")
        ((4,), True, 3)
    """

    def __init__(self, words: Sequence[str], vectors: np.ndarray):
        words = tuple(str(w) for w in words)
        vectors = np.asarray(vectors)
        if vectors.ndim != 2:
            raise ValueError(f"Embeddings: vectors must have shape (V, d); got shape {vectors.shape}")
        if not np.issubdtype(vectors.dtype, np.floating):
            vectors = vectors.astype(np.float64)
        if len(words) != vectors.shape[0]:
            raise ValueError(
                f"Embeddings: {len(words)} words but {vectors.shape[0]} vectors; "
                "pass one word per row of the (V, d) array"
            )
        key_to_index: dict[str, int] = {}
        for i, w in enumerate(words):
            if w in key_to_index:
                raise ValueError(f"Embeddings: the word {w!r} occurs twice (rows {key_to_index[w]} and {i})")
            key_to_index[w] = i
        if not np.all(np.isfinite(vectors)):
            bad = int(np.flatnonzero(~np.isfinite(vectors).all(axis=1))[0])
            raise ValueError(
                f"Embeddings: the vector of {words[bad]!r} (row {bad}) is not finite; "
                "training probably diverged"
            )
        self.words = words
        self.vectors = vectors
        self.key_to_index = key_to_index
        self._unit: np.ndarray | None = None
        self._lower: dict[str, int] | None = None

    # -- container protocol ------------------------------------------------
    @property
    def index_to_key(self) -> list[str]:
        """The words in row order (gensim's name)."""
        return list(self.words)

    @property
    def vector_size(self) -> int:
        """The embedding dimension d."""
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.words)

    def __iter__(self):
        return iter(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.key_to_index

    def __repr__(self) -> str:
        return f"Embeddings(V={len(self)}, d={self.vector_size}, dtype={self.vectors.dtype})"

    def index(self, word: str) -> int:
        """The row of ``word``.

        Raises:
            KeyError: if the word is not in the vocabulary.
        """
        try:
            return self.key_to_index[word]
        except KeyError:
            raise KeyError(f"word {word!r} is not in the vocabulary ({len(self)} words)") from None

    def __getitem__(self, word: str | Sequence[str]) -> np.ndarray:
        """The vector of one word, or the stacked vectors of a list of words."""
        if isinstance(word, str):
            return self.vectors[self.index(word)]
        return self.vectors[[self.index(w) for w in word]]

    def folded_index(self, restrict_vocab: int | None = None) -> dict[str, int]:
        """Lower-cased word -> first row with that spelling (gensim's case folding).

        Args:
            restrict_vocab: only the first this many rows count; ``None``: all.

        Returns:
            The mapping (the cached one when every row counts: do not modify it).
        """
        if self._lower is None:
            lower: dict[str, int] = {}
            for i, w in enumerate(self.words):
                lower.setdefault(w.lower(), i)
            self._lower = lower
        if restrict_vocab is None or restrict_vocab >= len(self):
            return self._lower
        stop = int(restrict_vocab)
        return {w: i for w, i in self._lower.items() if i < stop}

    # -- geometry ----------------------------------------------------------
    @property
    def unit_vectors(self) -> np.ndarray:
        """Rows of ``W`` at unit length (cached; zero rows stay zero)."""
        if self._unit is None:
            self._unit = _unit_rows(self.vectors)
        return self._unit

    def normalized(self) -> Embeddings:
        """A copy whose vectors all have unit length (zero vectors stay zero)."""
        return Embeddings(self.words, self.unit_vectors.copy())

    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words."""
        u = self.unit_vectors
        return float(u[self.index(w1)] @ u[self.index(w2)])

    def most_similar(
        self,
        positive: str | np.ndarray | Sequence[str | np.ndarray] = (),
        negative: str | np.ndarray | Sequence[str | np.ndarray] = (),
        topn: int | None = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]] | np.ndarray:
        """Words closest to ``sum(positive) - sum(negative)`` by 3CosAdd (eq. 21).

        Every given word or vector is scaled to unit length first; candidates are
        ranked by cosine similarity to the combination, and the given words are left
        out of the answer, as in gensim's ``KeyedVectors.most_similar``.

        Args:
            positive: words (or vectors) added.
            negative: words (or vectors) subtracted.
            topn: how many ``(word, cosine)`` to return; ``None`` returns the
                cosine of every candidate as an array.
            restrict_vocab: only the first this many words are candidates.

        Returns:
            ``[(word, cosine), ...]`` best first, or an array when ``topn is None``.
        """
        if isinstance(positive, (str, np.ndarray)):
            positive = [positive]
        if isinstance(negative, (str, np.ndarray)):
            negative = [negative]
        items = [(p, 1.0) for p in positive] + [(n, -1.0) for n in negative]
        if not items:
            raise ValueError("most_similar: give at least one positive or negative word")
        query = np.zeros(self.vector_size)
        exclude = []
        for item, sign in items:
            if isinstance(item, str):
                i = self.index(item)
                exclude.append(i)
                query += sign * self.unit_vectors[i]
            else:
                v = np.asarray(item, dtype=float)
                if v.shape != (self.vector_size,):
                    raise ValueError(
                        f"most_similar: a vector must have shape ({self.vector_size},); got {v.shape}"
                    )
                n = np.linalg.norm(v)
                query += sign * (v / n if n > 0 else v)
        norm = np.linalg.norm(query)
        if norm > 0:
            query = query / norm
        stop = len(self) if restrict_vocab is None else min(int(restrict_vocab), len(self))
        sims = self.unit_vectors[:stop] @ query
        if topn is None:
            return sims
        order = np.argsort(-sims, kind="stable")
        excluded = set(exclude)
        out = []
        for i in order:
            if int(i) in excluded:
                continue
            out.append((self.words[i], float(sims[i])))
            if len(out) == topn:
                break
        return out

    # -- persistence -------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the words and vectors to ``path`` as an ``.npz`` archive.

        The write is atomic (:func:`qwemlib._io.atomic_savez`): a crash never leaves
        a half-written file under ``path``.

        Returns:
            The path written.
        """
        path = Path(path)
        atomic_savez(path, format=np.array(_FORMAT_VERSION), words=np.array(self.words, dtype=str),
                     vectors=self.vectors)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Embeddings:
        """Read embeddings written by :meth:`save`.

        Raises:
            FileNotFoundError: if there is no such file.
            ValueError: if the file is truncated, corrupt, or not such an archive.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no embeddings file at {path}")
        try:
            with np.load(path, allow_pickle=False) as archive:
                fmt = str(archive["format"]) if "format" in archive.files else None
                words = archive["words"]
                vectors = archive["vectors"]
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
            raise ValueError(
                f"{path}: not a readable qwemlib embeddings file ({type(exc).__name__}: {exc}); "
                "it may be truncated or corrupt: re-create it with Embeddings.save"
            ) from exc
        if fmt != _FORMAT_VERSION:
            raise ValueError(f"{path}: unknown embeddings format {fmt!r} (expected {_FORMAT_VERSION!r})")
        return cls([str(w) for w in words], vectors)

    # -- gensim ------------------------------------------------------------
    def to_gensim(self):
        """These vectors as a gensim ``KeyedVectors`` (gensim is imported here)."""
        from gensim.models import KeyedVectors

        kv = KeyedVectors(vector_size=self.vector_size, count=0, dtype=self.vectors.dtype)
        kv.add_vectors(list(self.words), self.vectors)
        return kv

    @classmethod
    def from_gensim(cls, kv) -> Embeddings:
        """Embeddings from a gensim ``KeyedVectors`` (or a trained model's ``.wv``)."""
        kv = getattr(kv, "wv", kv)
        return cls(list(kv.index_to_key), np.array(kv.vectors))
