"""Analogy accuracy by 3CosAdd (paper eq. 18-21), two protocols (see :mod:`qwemlib.evaluate`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .._validate import validate_embeddings
from ..embeddings import Embeddings, answer_3cosadd, case_variants
from ._readers import AnalogySection, PathLike, analogy_pairs, read_analogies


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


def _questions(sections, protocol, emb, vocab, restrict_vocab):
    """Section names, totals asked, and the in-vocabulary question rows ``(n, 4)`` of each."""
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
    return names, totals, quads


def evaluate_analogies(
    emb: Embeddings,
    path_or_name: PathLike | Sequence[AnalogySection] = "google-analogies",
    protocol: str = "original",
    restrict_vocab: int | None = None,
    dtype: np.dtype | type | None = None,
    normalize: str = "all",
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
            in-vocabulary word pairs of a section; see :mod:`qwemlib.evaluate`).
        restrict_vocab: only the first this many words count as in the vocabulary
            and as candidates; ``None``: all.
        dtype: precision of the scores; ``None``: that of the vectors. ``np.float32``
            (what gensim uses) is about twice as fast as float64 and can differ
            from it only where two candidates tie to within rounding.
        normalize: ``"all"`` (eq. 19-21: unit query words and candidates) or
            ``"candidates"`` (eq. 22, Appendix A.4: ``argmax ŵ·(c + b - a)`` with the raw
            query words; used in book/08_appendix.md through ``qwemlib.experiments``).

    Returns:
        An :class:`AnalogyResult`.

    Cost: one ``(n, d) x (d, V)`` product for n questions, in blocks of about 8 M
    scores; the Google set at V = 10,000, d = 200 takes a few seconds on 2 cores.

    Used in: book/06_qwem_vs_word2vec.md and tools/make_results.py (through
    :func:`benchmark_table` in ``qwemlib.experiments._closed_forms`` and
    ``qwemlib.experiments._training``).
    """
    validate_embeddings(emb, "emb")
    if protocol not in ("original", "pairs"):
        raise ValueError(f"evaluate_analogies: protocol must be 'original' or 'pairs', got {protocol!r}")
    if normalize not in ("all", "candidates"):
        raise ValueError(f"evaluate_analogies: normalize must be 'all' or 'candidates', got {normalize!r}")
    sections = path_or_name if isinstance(path_or_name, (list, tuple)) else read_analogies(path_or_name)
    vocab = emb.folded_index(restrict_vocab)
    stop = len(emb) if restrict_vocab is None else min(int(restrict_vocab), len(emb))
    U = emb.unit_vectors[:stop]
    if dtype is not None:
        U = U.astype(dtype, copy=False)

    # Case variants (e.g. "Paris" and "paris"): all of them are masked for a query
    # word, and a prediction of any of them counts as that word, as in gensim.
    fold_arg, variants = case_variants(emb.words[:stop], vocab)

    names, totals, quads = _questions(sections, protocol, emb, vocab, restrict_vocab)
    allq = np.concatenate(quads) if quads else np.zeros((0, 4), dtype=np.int64)
    X = None
    if normalize == "candidates":
        X = emb.vectors[:stop] if dtype is None else emb.vectors[:stop].astype(dtype, copy=False)
    pred = answer_3cosadd(U, allq[:, :3], fold_arg, variants, X)
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
    SGD), ``qwemlib.experiments._linear``, ``qwemlib.experiments._linear_sgd`` (tools/make_results.py).
    """
    if not families:
        raise ValueError("family_accuracy: families is empty; pass name -> [(a, b), ...]")
    compact = [AnalogySection(str(f), tuple((a, b, a, b) for a, b in pairs)) for f, pairs in families.items()]
    res = evaluate_analogies(emb, compact, protocol="pairs", dtype=dtype)
    return np.array([res.section(str(f)).accuracy for f in families], dtype=np.float64)
