"""The :class:`Embeddings` class (re-exported by :mod:`qwemlib.embeddings`; see its docstring).

Words are looked up exactly (``emb["Paris"]``); the book's benchmarks compare them
case-insensitively through :meth:`Embeddings.folded_index`, and gensim's two evaluation
calls through their own upper-casing rule, as gensim does.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._io import atomic_savez
from .._validate import validate_int
from . import _gensim_eval
from ._nearest import unit_rows
from ._word2vec_format import read_word2vec_format, write_word2vec_format

__all__ = ["Embeddings"]

_FORMAT_VERSION = "qwemlib.embeddings/1"
_KEY_TYPES = (str, int, np.integer)


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
                raise ValueError(f"Embeddings: the word {w!r} occurs twice (rows {key_to_index[w]} and {i}); "
                                 "make the words unique (drop or merge the repeats)")
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

    def __contains__(self, key: object) -> bool:
        """A word of the vocabulary, or (as in gensim) a row number ``0 <= key < V``."""
        return self.get_index(key, -1) >= 0

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

    def get_index(self, key, default: int | None = None) -> int:
        """The row of a word, or ``key`` itself for a row number ``0 <= key < V`` (gensim's name).

        Returns ``default`` for an unknown key when one is given; else raises ``KeyError``.
        """
        i = self.key_to_index.get(key, -1) if isinstance(key, str) else -1
        if i >= 0:
            return i
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool) and 0 <= key < len(self):
            return int(key)
        if default is not None:
            return default
        raise KeyError(f"word {key!r} is not in the vocabulary ({len(self)} words)")

    def get_vector(self, key, norm: bool = False) -> np.ndarray:
        """The vector of a word (or row number), unit length with ``norm=True`` (read-only view)."""
        i = self.get_index(key)
        v = self.unit_vectors[i] if norm else self.vectors[i]
        v = v.view()
        v.setflags(write=False)
        return v

    def __getitem__(self, key) -> np.ndarray:
        """The vector of one word (or row number), or the stacked vectors of a list of them."""
        if isinstance(key, _KEY_TYPES):
            return self.vectors[self.get_index(key)]
        return self.vectors[[self.get_index(k) for k in key]]

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
        if restrict_vocab is not None:
            validate_int(restrict_vocab, "restrict_vocab")
        if restrict_vocab is None or restrict_vocab >= len(self):
            return self._lower
        stop = int(restrict_vocab)
        return {w: i for w, i in self._lower.items() if i < stop}

    # -- geometry ----------------------------------------------------------
    @property
    def unit_vectors(self) -> np.ndarray:
        """Rows of ``W`` at unit length (cached; zero rows stay zero)."""
        if self._unit is None:
            self._unit = unit_rows(self.vectors)
        return self._unit

    def get_normed_vectors(self) -> np.ndarray:
        """A new ``(V, d)`` array of the rows at unit length (gensim's name)."""
        return self.unit_vectors.copy()

    def normalized(self) -> Embeddings:
        """A copy whose vectors all have unit length (zero vectors stay zero)."""
        return Embeddings(self.words, self.unit_vectors.copy())

    def similarity(self, w1, w2) -> float:
        """Cosine similarity of two words."""
        u = self.unit_vectors
        return float(u[self.get_index(w1)] @ u[self.get_index(w2)])

    def most_similar(self, positive=None, negative=None, topn: int | None = 10,
                     restrict_vocab: int | None = None) -> list[tuple[str, float]] | np.ndarray:
        """Words closest to ``sum(positive) - sum(negative)`` by 3CosAdd (eq. 21), as gensim ranks them.

        A word (or row number) enters at unit length, a raw vector as given, and
        ``(item, weight)`` with that weight (a plain item weighs +1 in ``positive`` and -1
        in ``negative``); candidates are ranked by cosine to the combination and the
        given words are left out, as in gensim's ``KeyedVectors.most_similar``.

        Args:
            positive: a word, a vector, or a list of words, vectors, ``(item, weight)``.
            negative: the same, subtracted.
            topn: how many ``(word, cosine)`` to return; ``None`` returns the cosine
                of every candidate as an array; less than 1 returns ``[]``.
            restrict_vocab: only the first this many words are candidates.

        Returns:
            ``[(word, cosine), ...]`` best first, or an array when ``topn is None``.
        """
        if topn is not None and topn < 1:
            return []
        items = [(x, 1.0) for x in _as_list(positive)] + [(x, -1.0) for x in _as_list(negative)]
        if not items:
            raise ValueError("most_similar: give at least one positive or negative word")
        query = np.zeros(self.vector_size)
        exclude = set()
        for item, sign in items:
            if isinstance(item, tuple):
                item, sign = item
            if isinstance(item, np.ndarray):
                v = np.asarray(item, dtype=float)
                if v.shape != (self.vector_size,):
                    raise ValueError(
                        f"most_similar: a vector must have shape ({self.vector_size},); got {v.shape}")
                query += sign * v
            else:
                i = self.get_index(item)
                exclude.add(i)
                query += sign * self.unit_vectors[i]
        norm = np.linalg.norm(query)
        if norm > 0:
            query = query / norm
        stop = len(self) if not restrict_vocab else min(int(restrict_vocab), len(self))
        sims = self.unit_vectors[:stop] @ query
        if topn is None:
            return sims
        order = np.argsort(-sims, kind="stable")
        out = [(self.words[i], float(sims[i])) for i in order[: topn + len(exclude)] if int(i) not in exclude]
        return out[:topn]

    # -- gensim's evaluations --------------------------------------------------
    def evaluate_word_analogies(self, analogies: str | os.PathLike[str], restrict_vocab: int | None = 300000,
                                case_insensitive: bool = True, dummy4unknown: bool = False):
        """gensim's analogy evaluation: ``(score, sections)`` with gensim's section dicts.

        Each question ``a b c d`` of the file (gensim's ``questions-words.txt`` format) is
        answered by 3CosAdd (eq. 21) over the first ``restrict_vocab`` words; ``sections``
        lists ``{'section', 'correct', 'incorrect'}`` (lists of word 4-tuples, upper-cased
        when ``case_insensitive``), then ``'Total accuracy'``, whose accuracy is ``score``.
        Equal, call for call, to ``KeyedVectors.evaluate_word_analogies``. The book's
        numbers come from :func:`qwemlib.evaluate.evaluate_analogies` (whose
        ``"original"`` protocol counts the same questions, with ``restrict_vocab=None``).
        """
        return _gensim_eval.word_analogies(self, analogies, restrict_vocab, case_insensitive, dummy4unknown)

    def evaluate_word_pairs(self, pairs: str | os.PathLike[str], delimiter: str = "\t",
                            encoding: str = "utf8", restrict_vocab: int | None = 300000,
                            case_insensitive: bool = True, dummy4unknown: bool = False):
        """gensim's similarity evaluation: ``(pearson, spearman, oov_ratio)`` (eq. 23).

        ``pearson`` and ``spearman`` are ``scipy.stats`` results ``(statistic, pvalue)``
        of the file's scores against the cosines; ``oov_ratio`` is the percentage of pairs
        with an unknown word. Equal to ``KeyedVectors.evaluate_word_pairs``; the book's
        numbers come from :func:`qwemlib.evaluate.evaluate_similarity`.
        """
        return _gensim_eval.word_pairs(self, pairs, delimiter, encoding, restrict_vocab, case_insensitive,
                                       dummy4unknown)

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
        with open(path, "rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                raise ValueError(f"{path}: not an .npz archive (empty, text, or cut before its first entry); "
                                 "re-create it with Embeddings.save, or read a word2vec file with "
                                 "Embeddings.load_word2vec_format")
        try:
            with np.load(path, allow_pickle=False) as archive:
                files = sorted(archive.files)
                if not {"words", "vectors"} <= set(files):
                    fmt = words = vectors = None
                else:
                    fmt = str(archive["format"]) if "format" in archive.files else None
                    words = archive["words"]
                    vectors = archive["vectors"]
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
            raise ValueError(
                f"{path}: not a readable qwemlib embeddings file ({type(exc).__name__}: {exc}); "
                "it may be truncated or corrupt: re-create it with Embeddings.save"
            ) from exc
        if words is None:
            raise ValueError(f"{path}: an .npz archive of {files}, not qwemlib embeddings (format, words, "
                             "vectors); pass a file written by Embeddings.save")
        if fmt != _FORMAT_VERSION:
            raise ValueError(f"{path}: unknown embeddings format {fmt!r} (expected {_FORMAT_VERSION!r}); "
                             "re-create it with this version's Embeddings.save")
        try:
            return cls([str(w) for w in words], vectors)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    def save_word2vec_format(self, fname: str | os.PathLike[str], fvocab=None, binary: bool = False, *,
                             write_header: bool = True, prefix: str = "") -> Path:
        """Write the word2vec C format, text or binary, byte for byte as gensim writes it (atomically).

        ``fvocab`` (word counts) is not supported: these vectors carry no counts.
        """
        if fvocab is not None:
            raise ValueError("save_word2vec_format: fvocab is not supported (no word counts); pass None")
        return write_word2vec_format(fname, self.words, self.vectors, binary,
                                     write_header=write_header, prefix=prefix)

    @classmethod
    def load_word2vec_format(cls, fname: str | os.PathLike[str], fvocab=None, binary: bool = False,
                             encoding: str = "utf8", unicode_errors: str = "strict", limit: int | None = None,
                             datatype=np.float32, no_header: bool = False) -> Embeddings:
        """Read a word2vec C-format file (text or binary) as gensim reads it (float32 by default).

        Raises:
            FileNotFoundError: no such file.
            ValueError: a bad header, a malformed line, or a truncated file (names the file).
        """
        if fvocab is not None:
            raise ValueError("load_word2vec_format: fvocab is not supported; pass None")
        words, vectors = read_word2vec_format(fname, binary, encoding=encoding, unicode_errors=unicode_errors,
                                              limit=limit, datatype=datatype, no_header=no_header)
        return cls(words, vectors)

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


def _as_list(value) -> list:
    """gensim's reading of most_similar's ``positive``/``negative``: one item, rows, or a list."""
    if value is None:
        return []
    if isinstance(value, _KEY_TYPES) or (isinstance(value, np.ndarray) and value.ndim == 1):
        return [value]
    if isinstance(value, np.ndarray) and value.ndim == 2:
        return list(value)
    return list(value)
