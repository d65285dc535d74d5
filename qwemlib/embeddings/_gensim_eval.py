"""gensim's ``evaluate_word_analogies`` and ``evaluate_word_pairs``, by gensim's rules.

The rules, read off gensim 4's ``KeyedVectors`` and checked call by call in
``tests/test_gensim_compat.py``: only the first ``restrict_vocab`` words count (gensim's
default 300,000); with ``case_insensitive`` every word is upper-cased and the first
of several case variants stands for them all; a line that does not parse is skipped;
a question or pair with an unknown word is skipped (``dummy4unknown=False``) or
scored wrong / with similarity 0 (``dummy4unknown=True``). Analogies are answered by
3CosAdd (eq. 21) through the same blocked argmax as :mod:`qwemlib.evaluate`
(:func:`answer_3cosadd`); the book's own protocols and counts live there.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import scipy.stats

from ._nearest import answer_3cosadd, case_variants


def _ok_vocab(emb, restrict_vocab: int | None, case_insensitive: bool) -> tuple[list[str], dict[str, int]]:
    """The first ``restrict_vocab`` words and spelling -> row (first case variant wins)."""
    keys = list(emb.words[:restrict_vocab])
    vocab: dict[str, int] = {}
    for i, k in enumerate(keys):
        vocab.setdefault(k.upper() if case_insensitive else k, i)
    return keys, vocab


def word_analogies(emb, analogies: str | os.PathLike, restrict_vocab: int | None = 300000,
                   case_insensitive: bool = True, dummy4unknown: bool = False):
    """``(score, sections)`` exactly as gensim's ``KeyedVectors.evaluate_word_analogies``.

    Each section is ``{'section': name, 'correct': [(a, b, c, d), ...], 'incorrect': [...]}``
    in file order (the words upper-cased when ``case_insensitive``), the last one
    ``'Total accuracy'``; ``score`` is its correct / (correct + incorrect), 0.0 when
    nothing was asked. See :meth:`qwemlib.embeddings.Embeddings.evaluate_word_analogies`.
    """
    path = Path(analogies)
    keys, vocab = _ok_vocab(emb, restrict_vocab, case_insensitive)
    sections: list[dict] = []
    order: list[list[tuple[tuple[str, ...], int]]] = []  # per section: (question, row in asked or -1)
    asked: list[tuple[int, int, int, int]] = []
    with open(path, "rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            line = raw.decode("utf8")
            if line.startswith(": "):
                sections.append({"section": line.lstrip(": ").strip(), "correct": [], "incorrect": []})
                order.append([])
                continue
            if not sections:
                raise ValueError(f"{path}, line {line_no}: a question before any section; "
                                 "start the file with a line ': section-name'")
            words = [w.upper() for w in line.split()] if case_insensitive else line.split()
            if len(words) != 4:
                continue  # gensim skips a line that is not four words
            question = tuple(words)
            if all(w in vocab for w in question):
                order[-1].append((question, len(asked)))
                asked.append(tuple(vocab[w] for w in question))
            elif dummy4unknown:
                order[-1].append((question, -1))
    fold = str.upper if case_insensitive else (lambda w: w)
    fold_rows, variants = case_variants(keys, vocab, fold)
    q = np.array(asked, dtype=np.int64).reshape(-1, 4)
    hit = answer_3cosadd(emb.unit_vectors[:len(keys)], q[:, :3], fold_rows, variants) == q[:, 3]
    for sec, entries in zip(sections, order):
        for question, row in entries:
            sec["correct" if row >= 0 and hit[row] else "incorrect"].append(question)
    total = {"section": "Total accuracy",
             "correct": [t for s in sections for t in s["correct"]],
             "incorrect": [t for s in sections for t in s["incorrect"]]}
    sections.append(total)
    n = len(total["correct"]) + len(total["incorrect"])
    return (len(total["correct"]) / n if n else 0.0), sections


def word_pairs(emb, pairs: str | os.PathLike, delimiter: str = "\t", encoding: str = "utf8",
               restrict_vocab: int | None = 300000, case_insensitive: bool = True,
               dummy4unknown: bool = False):
    """``(pearson, spearman, oov_ratio)`` exactly as gensim's ``KeyedVectors.evaluate_word_pairs``.

    ``pearson`` and ``spearman`` are scipy's results (``(statistic, pvalue)``) of the human
    scores against the cosines; ``oov_ratio`` is the percentage of pairs with an unknown
    word. See :meth:`qwemlib.embeddings.Embeddings.evaluate_word_pairs`.

    Raises:
        ValueError: no line parses into a known pair (message names the file).
    """
    path = Path(pairs)
    _, vocab = _ok_vocab(emb, restrict_vocab, case_insensitive)
    U = emb.unit_vectors
    gold: list[float] = []
    model: list[float] = []
    oov = 0
    with open(path, encoding=encoding) as fh:
        for line in fh:
            if not line or line.startswith("#"):
                continue
            fields = line.split(delimiter)
            if len(fields) != 3:
                continue
            a, b, sim = (f.upper() for f in fields) if case_insensitive else fields
            try:
                score = float(sim)
            except ValueError:
                continue
            if a not in vocab or b not in vocab:
                oov += 1
                if dummy4unknown:
                    gold.append(score)
                    model.append(0.0)
                continue
            gold.append(score)
            model.append(float(U[vocab[a]] @ U[vocab[b]]))
    if not gold:
        raise ValueError(f"{path}: no valid similarity judgements (lines of 'w1{delimiter!r}w2"
                         f"{delimiter!r}score' with both words known); check delimiter= and the vocabulary")
    spearman = scipy.stats.spearmanr(gold, model)
    pearson = scipy.stats.pearsonr(gold, model)
    oov_ratio = 100.0 * oov / (len(gold) if dummy4unknown else len(gold) + oov)
    return pearson, spearman, oov_ratio
