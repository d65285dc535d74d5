"""Evaluating word embeddings: analogies, word similarity, components, overlaps.

An :class:`Embeddings` object holds ``V`` words and their vectors ``W`` of shape
``(V, d)`` and behaves like gensim's ``KeyedVectors`` (``most_similar``,
``similarity``, ``save``/``load``, and ``to_gensim`` to hand the vectors to gensim).

The benchmarks are those of the paper's Appendix A.4:

* **Analogies** (eq. 18-21): the Google analogy set. A question ``a:b::c:?`` is
  answered by 3CosAdd, ``argmax_w  ŵ·(ĉ + b̂ - â)`` over the vocabulary without
  ``a, b, c`` (hats are unit vectors). Two protocols:

  - ``"original"``: the file's 19,544 questions as given, skipping any with an
    out-of-vocabulary word; this is gensim's ``evaluate_word_analogies`` (and
    word2vec's ``compute-accuracy``) and gives the same counts.
  - ``"pairs"``: the paper's own code (``AnalogyDataset`` in ``dkarkada/qwem``):
    per section, collect the distinct word pairs ``(a, b)`` with both words in
    the vocabulary, and ask every ordered pair of distinct pairs ``((a,b),(c,d))``
    as ``a:b::c:?``. This uses every in-vocabulary pair even when the file's own
    questions pair it with an out-of-vocabulary word, so it covers more of the set
    at small V. (The paper's code treats the word with id 0 as missing through a
    truthiness test; that slip is not reproduced here.)

* **Similarity** (eq. 23): MEN, WordSim353 and SimLex-999. The model's score of a
  pair is the cosine similarity of the two embeddings by default
  (``score="cosine"``, as gensim does); ``score="dot"`` uses the raw inner
  product, which is what the paper's text describes. The benchmark number is the
  Spearman rank correlation with the human scores (average ranks for ties,
  computed here and checked against ``scipy.stats.spearmanr`` in the tests).

* **Components** (Figure 3a) and **subspace overlaps** (Figure 5).

Out-of-vocabulary items are skipped and counted, never fatal. Words are compared
case-insensitively (the benchmark files are lowercased, and a vocabulary word
matches in any case, the first of several case variants winning), as gensim does.

Used in: book/06_qwem_vs_word2vec.md, book/07_linear_structure.md, ``qwem``
(:mod:`qwemlib.cli`).
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence, Union

import numpy as np

__all__ = [
    "Embeddings",
    "AnalogySection",
    "AnalogySectionResult",
    "AnalogyResult",
    "SimilarityResult",
    "BenchmarkRow",
    "ComponentWords",
    "DATASET_NAMES",
    "read_analogies",
    "analogy_pairs",
    "evaluate_analogies",
    "family_accuracy",
    "read_similarity",
    "evaluate_similarity",
    "spearman",
    "pearson",
    "rankdata",
    "benchmark_table",
    "format_table",
    "top_words_per_component",
    "component_overlap",
]

PathLike = Union[str, "os.PathLike[str]"]

#: Registry names (see :mod:`qwemlib.data`) that the readers accept in place of a path.
DATASET_NAMES = ("google-analogies", "men", "wordsim353", "simlex999")

_FORMAT_VERSION = "qwemlib.embeddings/1"
_CHUNK_ELEMENTS = 1 << 23  # entries of one block of query-by-vocabulary scores (64 MB in float64)


# ---------------------------------------------------------------------------
# Embeddings


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

    # -- geometry ----------------------------------------------------------
    @property
    def unit_vectors(self) -> np.ndarray:
        """Rows of ``W`` at unit length (cached; zero rows stay zero)."""
        if self._unit is None:
            self._unit = _unit_rows(self.vectors)
        return self._unit

    def normalized(self) -> "Embeddings":
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
                    raise ValueError(f"most_similar: a vector must have shape ({self.vector_size},); got {v.shape}")
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

    def _lower_index(self) -> dict[str, int]:
        """Lower-cased word -> first row with that spelling (gensim's case folding)."""
        if self._lower is None:
            lower: dict[str, int] = {}
            for i, w in enumerate(self.words):
                lower.setdefault(w.lower(), i)
            self._lower = lower
        return self._lower

    # -- persistence -------------------------------------------------------
    def save(self, path: PathLike) -> Path:
        """Write the words and vectors to ``path`` as an ``.npz`` archive.

        The file is written next to its destination and renamed into place, so a
        crash never leaves a half-written file under ``path``.

        Returns:
            The path written.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(
                    fh,
                    format=np.array(_FORMAT_VERSION),
                    words=np.array(self.words, dtype=str),
                    vectors=self.vectors,
                )
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return path

    @classmethod
    def load(cls, path: PathLike) -> "Embeddings":
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
    def from_gensim(cls, kv) -> "Embeddings":
        """Embeddings from a gensim ``KeyedVectors`` (or a trained model's ``.wv``)."""
        kv = getattr(kv, "wv", kv)
        return cls(list(kv.index_to_key), np.array(kv.vectors))


def _as_matrix(W_or_emb) -> np.ndarray:
    if isinstance(W_or_emb, Embeddings):
        return W_or_emb.vectors
    W = np.asarray(W_or_emb, dtype=float)
    if W.ndim != 2:
        raise ValueError(f"expected an embedding matrix W of shape (V, d); got shape {W.shape}")
    return W


# ---------------------------------------------------------------------------
# Files


def _resolve(path_or_name: PathLike) -> Path:
    """A path, or a registry name resolved by :func:`qwemlib.data.path`."""
    if isinstance(path_or_name, str) and path_or_name in DATASET_NAMES and not os.path.exists(path_or_name):
        from . import data

        return Path(data.path(path_or_name))
    path = Path(path_or_name)
    if not path.is_file():
        raise FileNotFoundError(
            f"no file at {path}; pass a path or one of the registry names {', '.join(DATASET_NAMES)}"
        )
    return path


def _read_lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8", errors="strict", newline="") as fh:
        return fh.read().splitlines()


# ---------------------------------------------------------------------------
# Analogies (eq. 18-21)


@dataclass(frozen=True)
class AnalogySection:
    """One section of an analogy file (e.g. ``capital-common-countries``).

    Attributes:
        name: the section's name, from its ``: name`` line.
        questions: ``(a, b, c, d)`` tuples, lower-cased: ``a:b::c:d``.
    """

    name: str
    questions: tuple[tuple[str, str, str, str], ...]


def read_analogies(path_or_name: PathLike = "google-analogies") -> list[AnalogySection]:
    """Read an analogy file in the word2vec ``questions-words.txt`` format.

    A line starting with ``:`` opens a section; every other non-blank line is one
    question of four whitespace-separated words. Words are lower-cased.

    Args:
        path_or_name: a path, or ``"google-analogies"``.

    Returns:
        The sections in file order (the Google set: 14 sections, 19,544 questions).

    Raises:
        ValueError: a question before any section, or a line without exactly four
            words; the message names the file and the (1-based) line number.
    """
    path = _resolve(path_or_name)
    sections: list[AnalogySection] = []
    name: str | None = None
    questions: list[tuple[str, str, str, str]] = []
    for line_no, line in enumerate(_read_lines(path), start=1):
        text = line.strip()
        if not text:
            continue
        if text.startswith(":"):
            if name is not None:
                sections.append(AnalogySection(name, tuple(questions)))
            name = text[1:].strip()
            if not name:
                raise ValueError(f"{path}, line {line_no}: a section line ':' without a name")
            questions = []
            continue
        if name is None:
            raise ValueError(
                f"{path}, line {line_no}: a question before any section; "
                "start the file with a line ': section-name'"
            )
        parts = text.lower().split()
        if len(parts) != 4:
            raise ValueError(
                f"{path}, line {line_no}: expected four words 'a b c d', got {len(parts)}: {text!r}"
            )
        questions.append((parts[0], parts[1], parts[2], parts[3]))
    if name is not None:
        sections.append(AnalogySection(name, tuple(questions)))
    return sections


def analogy_pairs(
    sections: Sequence[AnalogySection] | PathLike = "google-analogies",
    emb: Embeddings | None = None,
    restrict_vocab: int | None = None,
) -> dict[str, list[tuple[str, str]]]:
    """The distinct word pairs ``(a, b)`` of each section (the "pairs" protocol's input).

    Both halves of every question contribute a pair, in order of first appearance.
    With ``emb``, only pairs whose two words are in the (restricted, case-folded)
    vocabulary are kept. These pairs are also the semantic binaries behind the task
    vectors of section 4 (:mod:`qwemlib.rmt`).

    Returns:
        section name -> list of pairs.
    """
    if not isinstance(sections, (list, tuple)):
        sections = read_analogies(sections)
    vocab = None if emb is None else _vocab_map(emb, restrict_vocab)
    seen: dict[str, dict[tuple[str, str], None]] = {}
    for sec in sections:
        pairs = seen.setdefault(sec.name, {})
        for a, b, c, d in sec.questions:
            for pair in ((a, b), (c, d)):
                if vocab is None or (pair[0] in vocab and pair[1] in vocab):
                    pairs.setdefault(pair, None)
    return {name: list(pairs) for name, pairs in seen.items()}


@dataclass(frozen=True)
class AnalogySectionResult:
    """Counts for one section: ``correct`` of ``covered`` answered; ``total`` asked."""

    name: str
    correct: int
    covered: int
    total: int

    @property
    def accuracy(self) -> float:
        """``correct / covered`` (NaN when nothing is covered)."""
        return self.correct / self.covered if self.covered else float("nan")

    @property
    def oov(self) -> int:
        """Questions skipped because a word is out of the vocabulary."""
        return self.total - self.covered


@dataclass(frozen=True)
class AnalogyResult:
    """Result of :func:`evaluate_analogies`.

    Attributes:
        protocol: ``"original"`` or ``"pairs"``.
        accuracy: correct / covered over all sections (eq. 18), NaN if none covered.
        correct: questions answered correctly.
        covered: questions evaluated (all four words in the vocabulary).
        total: questions in the benchmark. For ``"pairs"`` this is the number of
            ordered pairs of distinct pairs as if every word were in the vocabulary.
        oov: ``total - covered``, the questions skipped.
        sections: per-section counts, in file order.
    """

    protocol: str
    accuracy: float
    correct: int
    covered: int
    total: int
    oov: int
    sections: tuple[AnalogySectionResult, ...]

    def section(self, name: str) -> AnalogySectionResult:
        """The counts of one section, by name."""
        for s in self.sections:
            if s.name == name:
                return s
        raise KeyError(f"no section {name!r}; sections: {[s.name for s in self.sections]}")

    @property
    def per_section(self) -> dict[str, float]:
        """Section name -> accuracy."""
        return {s.name: s.accuracy for s in self.sections}


def _vocab_map(emb: Embeddings, restrict_vocab: int | None) -> dict[str, int]:
    """Case-folded word -> row, over the first ``restrict_vocab`` rows."""
    lower = emb._lower_index()
    if restrict_vocab is None or restrict_vocab >= len(emb):
        return lower
    stop = int(restrict_vocab)
    return {w: i for w, i in lower.items() if i < stop}


def _answer_3cosadd(
    U: np.ndarray, q: np.ndarray, fold: np.ndarray | None, variants: Mapping[int, np.ndarray]
) -> np.ndarray:
    """Row of ``argmax_w ŵ·(b̂ + ĉ - â)`` over ``U`` without ``a, b, c``, per question.

    Args:
        U: unit vectors of the candidates, shape ``(V, d)``.
        q: rows ``(a, b, c)`` of each question, shape ``(n, 3)``.
        fold: row -> row of its first case variant, or None if there are no variants.
        variants: row -> all rows sharing its case-folded spelling (only those with >1).
    """
    n = q.shape[0]
    V = U.shape[0]
    pred = np.empty(n, dtype=np.int64)
    chunk = max(1, _CHUNK_ELEMENTS // max(V, 1))
    Ut = np.ascontiguousarray(U.T)
    for start in range(0, n, chunk):
        qa, qb, qc = (q[start:start + chunk, j] for j in range(3))
        query = U[qb] + U[qc] - U[qa]
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


def evaluate_analogies(
    emb: Embeddings,
    path_or_name: PathLike | Sequence[AnalogySection] = "google-analogies",
    protocol: str = "original",
    restrict_vocab: int | None = None,
    dtype: np.dtype | type | None = None,
) -> AnalogyResult:
    """Analogy accuracy by 3CosAdd on unit vectors (eq. 18-21).

    Each question ``a:b::c:d`` counts as correct when
    ``argmax_{w ∉ {a,b,c}} ŵ·(ĉ + b̂ - â) = d``, the argmax running over the whole
    (or the first ``restrict_vocab`` words of the) vocabulary.

    Args:
        emb: the embeddings.
        path_or_name: an analogy file, ``"google-analogies"``, or sections already
            read by :func:`read_analogies`.
        protocol: ``"original"`` (the file's questions, skipping those with an
            out-of-vocabulary word; equal to gensim's ``evaluate_word_analogies``
            with the same ``restrict_vocab``; note gensim's default is 300,000) or
            ``"pairs"`` (the paper's code: every ordered pair of distinct
            in-vocabulary word pairs of a section; see the module docstring).
        restrict_vocab: only the first this many words count as in the vocabulary
            and as candidates; ``None``: all.
        dtype: precision of the scores; ``None``: that of the vectors. ``np.float32``
            (what gensim uses) is about twice as fast as float64 and can differ
            from it only where two candidates tie to within rounding.

    Returns:
        An :class:`AnalogyResult`.

    Cost: one ``(n, d) x (d, V)`` product for n questions, in blocks of about 8 M
    scores; the Google set at V = 10,000, d = 200 takes a few seconds on 2 cores.
    """
    if protocol not in ("original", "pairs"):
        raise ValueError(f"evaluate_analogies: protocol must be 'original' or 'pairs', got {protocol!r}")
    sections = path_or_name if isinstance(path_or_name, (list, tuple)) else read_analogies(path_or_name)
    vocab = _vocab_map(emb, restrict_vocab)
    stop = len(emb) if restrict_vocab is None else min(int(restrict_vocab), len(emb))
    U = emb.unit_vectors[:stop]
    if dtype is not None:
        U = U.astype(dtype, copy=False)

    # Case variants (e.g. "Paris" and "paris"): all of them are masked for a query
    # word, and a prediction of any of them counts as that word, as in gensim.
    fold = np.array([vocab[w.lower()] for w in emb.words[:stop]], dtype=np.int64)
    if np.array_equal(fold, np.arange(stop)):
        fold_arg, variants = None, {}
    else:
        groups: dict[int, list[int]] = {}
        for i, f in enumerate(fold):
            groups.setdefault(int(f), []).append(i)
        variants = {f: np.array(g) for f, g in groups.items() if len(g) > 1}
        fold_arg = fold

    names: list[str] = []
    totals: list[int] = []
    quads: list[np.ndarray] = []
    if protocol == "original":
        for sec in sections:
            rows = [
                (vocab[a], vocab[b], vocab[c], vocab[d])
                for a, b, c, d in sec.questions
                if a in vocab and b in vocab and c in vocab and d in vocab
            ]
            names.append(sec.name)
            totals.append(len(sec.questions))
            quads.append(np.array(rows, dtype=np.int64).reshape(-1, 4))
    else:
        all_pairs = analogy_pairs(sections)
        kept = analogy_pairs(sections, emb, restrict_vocab)
        for name, pairs in kept.items():
            ids = np.array([(vocab[a], vocab[b]) for a, b in pairs], dtype=np.int64).reshape(-1, 2)
            n = len(ids)
            i, j = np.nonzero(~np.eye(n, dtype=bool))
            names.append(name)
            m = len(all_pairs[name])
            totals.append(m * (m - 1))
            quads.append(np.concatenate([ids[i], ids[j]], axis=1).reshape(-1, 4))

    allq = np.concatenate(quads) if quads else np.zeros((0, 4), dtype=np.int64)
    pred = _answer_3cosadd(U, allq[:, :3], fold_arg, variants)
    hit = pred == allq[:, 3]
    results = []
    start = 0
    for name, total, qs in zip(names, totals, quads):
        n = len(qs)
        results.append(AnalogySectionResult(name, int(hit[start:start + n].sum()), n, total))
        start += n
    correct = int(hit.sum())
    covered = int(len(allq))
    total = int(sum(totals))
    return AnalogyResult(
        protocol=protocol,
        accuracy=correct / covered if covered else float("nan"),
        correct=correct,
        covered=covered,
        total=total,
        oov=total - covered,
        sections=tuple(results),
    )


def family_accuracy(
    emb: Embeddings,
    families: Mapping[str, Sequence[tuple[str, str]]],
    dtype: np.dtype | type | None = None,
) -> np.ndarray:
    """Per-family analogy accuracy under the "pairs" protocol, one number per family.

    For each family (a name and its word pairs ``(a, b)``, e.g. from
    :func:`analogy_pairs`), every ordered pair of distinct pairs ``((a,b),(c,d))`` is
    asked as ``a:b::c:?`` and answered by 3CosAdd over the whole vocabulary, exactly as
    ``evaluate_analogies(emb, sections, protocol="pairs").section(name).accuracy`` on
    sections whose distinct in-vocabulary pairs are ``families[name]``. The protocol
    depends only on those pairs, so each family is passed as one question ``(a, b, a, b)``
    per pair, which is much faster to read than the file.

    Args:
        emb: the embeddings.
        families: family name -> its word pairs (pairs with an out-of-vocabulary word
            are skipped, as in :func:`evaluate_analogies`).
        dtype: precision of the scores (see :func:`evaluate_analogies`).

    Returns:
        ``(len(families),)`` float array of accuracies in the mapping's order (NaN for a
        family with fewer than two in-vocabulary pairs).

    Used in: book/07_linear_structure.md (accuracy over d, over gradient flow and over
    SGD), tools/make_results.py.
    """
    if not families:
        raise ValueError("family_accuracy: families is empty; pass name -> [(a, b), ...]")
    compact = [AnalogySection(str(f), tuple((a, b, a, b) for a, b in pairs)) for f, pairs in families.items()]
    res = evaluate_analogies(emb, compact, protocol="pairs", dtype=dtype)
    return np.array([res.section(str(f)).accuracy for f in families], dtype=np.float64)


# ---------------------------------------------------------------------------
# Similarity (eq. 23)


def _parse_score(text: str, path: Path, line_no: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{path}, line {line_no}: the score {text!r} is not a number") from None
    if not np.isfinite(value):
        raise ValueError(f"{path}, line {line_no}: the score {text!r} is not finite")
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_similarity(path_or_name: PathLike) -> list[tuple[str, str, float]]:
    """Read a word-similarity file: ``[(w1, w2, human_score), ...]``, words lower-cased.

    Formats (detected from the file's first line):

    * whitespace separated ``w1 w2 score``, no header (MEN);
    * comma separated with a header line (WordSim353 ``combined.csv``; its pair
      ``money,cash`` occurs twice and both rows are kept, as gensim keeps them);
    * tab separated ``w1<TAB>w2<TAB>score`` (gensim's ``wordsim353.tsv``), and
      SimLex-999 (a header with a ``SimLex999`` column, which is the score used).

    A first line whose score field is not a number is a header; lines starting
    with ``#`` are comments.

    Args:
        path_or_name: a path, or ``"men"``, ``"wordsim353"``, ``"simlex999"``.

    Raises:
        ValueError: a line with the wrong number of fields or a score that is not a
            number; the message names the file and the (1-based) line number.
    """
    path = _resolve(path_or_name)
    lines = _read_lines(path)
    first = next((ln for ln in lines if ln.strip() and not ln.startswith("#")), None)
    if first is None:
        raise ValueError(f"{path}: no word pairs in the file")
    if "\t" in first:
        split = lambda s: [f.strip() for f in s.rstrip("\r\n").split("\t")]  # noqa: E731
    elif "," in first:
        split = lambda s: [f.strip() for f in next(csv.reader(io.StringIO(s)))]  # noqa: E731
    else:
        split = str.split

    cols = (0, 1, 2)
    nfields = 3
    header_seen = False
    out: list[tuple[str, str, float]] = []
    for line_no, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = split(line)
        if not header_seen:
            header_seen = True
            lowered = [f.lower() for f in fields]
            if "simlex999" in lowered:  # SimLex-999: words in columns 0, 1; score in "SimLex999"
                cols = (0, 1, lowered.index("simlex999"))
                nfields = len(fields)
                continue
            if len(fields) >= 3 and not _is_number(fields[2]):
                nfields = len(fields)
                continue  # a header such as "Word 1,Word 2,Human (mean)"
        if len(fields) != nfields:
            raise ValueError(
                f"{path}, line {line_no}: expected {nfields} fields, got {len(fields)}: {line.strip()!r}"
            )
        w1, w2 = fields[cols[0]].lower(), fields[cols[1]].lower()
        if not w1 or not w2:
            raise ValueError(f"{path}, line {line_no}: an empty word in {line.strip()!r}")
        out.append((w1, w2, _parse_score(fields[cols[2]], path, line_no)))
    return out


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
    """
    if score not in ("cosine", "dot"):
        raise ValueError(f"evaluate_similarity: score must be 'cosine' or 'dot', got {score!r}")
    rows = path_or_name if isinstance(path_or_name, (list, tuple)) else read_similarity(path_or_name)
    vocab = _vocab_map(emb, restrict_vocab)
    ids = [(vocab[a.lower()], vocab[b.lower()], s) for a, b, s in rows if a.lower() in vocab and b.lower() in vocab]
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


# ---------------------------------------------------------------------------
# The benchmark table (Figure 3b)


@dataclass(frozen=True)
class BenchmarkRow:
    """One model on one benchmark.

    Attributes:
        model: the model's name.
        benchmark: e.g. ``"Google analogies (original)"``, ``"MEN"``.
        metric: ``"accuracy"`` or ``"spearman"``.
        value: the number.
        covered: questions or pairs evaluated.
        total: questions or pairs in the benchmark.
    """

    model: str
    benchmark: str
    metric: str
    value: float
    covered: int
    total: int


_SIMILARITY_LABELS = {"men": "MEN", "wordsim353": "WordSim353", "simlex999": "SimLex-999"}


def benchmark_table(
    emb_by_model: Mapping[str, Embeddings],
    analogies: PathLike | None = "google-analogies",
    protocols: Sequence[str] = ("original", "pairs"),
    similarity: Sequence[PathLike] = ("men", "wordsim353", "simlex999"),
    score: str = "cosine",
    restrict_vocab: int | None = None,
    dtype: np.dtype | type | None = None,
) -> list[BenchmarkRow]:
    """The rows of Figure 3b: every model on every benchmark.

    Each file is read once. Analogy rows report accuracy (eq. 18), similarity rows
    Spearman's rho (eq. 23), with the coverage of each.

    Args:
        emb_by_model: model name -> embeddings (e.g. ``{"QWEM": ..., "word2vec": ...}``).
        analogies: analogy file or name; ``None`` to skip.
        protocols: analogy protocols to report (see :func:`evaluate_analogies`).
        similarity: similarity files or names.
        score: the similarity score, ``"cosine"`` or ``"dot"``.
        restrict_vocab: passed to the evaluators.
        dtype: precision of the analogy scores (see :func:`evaluate_analogies`).

    Returns:
        Rows ordered by benchmark, then model; format them with :func:`format_table`.
    """
    rows: list[BenchmarkRow] = []
    if analogies is not None:
        sections = read_analogies(analogies)
        for protocol in protocols:
            label = f"Google analogies ({protocol})"
            for model, emb in emb_by_model.items():
                r = evaluate_analogies(
                    emb, sections, protocol=protocol, restrict_vocab=restrict_vocab, dtype=dtype
                )
                rows.append(BenchmarkRow(model, label, "accuracy", r.accuracy, r.covered, r.total))
    for item in similarity:
        label = _SIMILARITY_LABELS.get(str(item), Path(item).name) if isinstance(item, str) else Path(item).name
        pairs = read_similarity(item)
        for model, emb in emb_by_model.items():
            r = evaluate_similarity(emb, pairs, score=score, restrict_vocab=restrict_vocab)
            rows.append(BenchmarkRow(model, label, "spearman", r.spearman, r.covered, r.total))
    return rows


def format_table(rows: Sequence[BenchmarkRow]) -> str:
    """Plain-text table: one line per benchmark, one column per model.

    A cell is the value (accuracy in percent, Spearman's rho to three places) and
    its coverage ``covered/total``. Columns are aligned.
    """
    models: list[str] = []
    benchmarks: list[tuple[str, str]] = []
    cells: dict[tuple[str, str], str] = {}
    for r in rows:
        if r.model not in models:
            models.append(r.model)
        if (r.benchmark, r.metric) not in benchmarks:
            benchmarks.append((r.benchmark, r.metric))
        if np.isnan(r.value):
            value = "n/a"
        elif r.metric == "accuracy":
            value = f"{100 * r.value:.1f}%"
        else:
            value = f"{r.value:.3f}"
        cells[(r.benchmark, r.model)] = f"{value} ({r.covered:,}/{r.total:,})"
    header = ["benchmark", "metric", *models]
    body = [[b, m, *(cells.get((b, model), "") for model in models)] for b, m in benchmarks]
    widths = [max(len(row[c]) for row in [header, *body]) for c in range(len(header))]

    def fmt(row: list[str]) -> str:
        left = [row[c].ljust(widths[c]) for c in range(2)]
        right = [row[c].rjust(widths[c]) for c in range(2, len(row))]
        return "  ".join(left + right).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(header), rule, *(fmt(r) for r in body)])


# ---------------------------------------------------------------------------
# Components (Figure 3a) and subspace overlaps (Figure 5)


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
    cos = _unit_rows(W) @ Vt[comps].T  # (V, len(comps))
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
