"""Benchmark files: the analogy set and the word-similarity sets (paper, Appendix A.4).

Registry names (:data:`DATASET_NAMES`) resolve through :func:`qwemlib.data.path`; any
other argument is a path. Files are strict UTF-8 (a byte-order mark is dropped; any other
encoding is an error naming the file, line and byte offset, with the ``iconv`` fix). Words
are lower-cased; a malformed line is an error that names the file and the line and says
what to fix. No data line is ever dropped as a header: a header is recognised by its
content (tests/test_faults_evaluate.py holds every malformed-file case).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..embeddings import Embeddings

PathLike = str | os.PathLike

#: Registry names (see :mod:`qwemlib.data`) that the readers accept in place of a path.
DATASET_NAMES = ("google-analogies", "men", "wordsim353", "simlex999")


def _resolve(path_or_name: PathLike) -> Path:
    """A path, or a registry name resolved by :func:`qwemlib.data.path`."""
    if isinstance(path_or_name, str) and path_or_name in DATASET_NAMES and not os.path.exists(path_or_name):
        from .. import data

        return Path(data.path(path_or_name))
    path = Path(path_or_name)
    if not path.is_file():
        raise FileNotFoundError(
            f"no file at {path}; pass a path or one of the registry names {', '.join(DATASET_NAMES)}"
        )
    return path


_BOMS = ((b"\xff\xfe", "UTF-16 (little-endian)"), (b"\xfe\xff", "UTF-16 (big-endian)"))


def _read_lines(path: Path) -> list[str]:
    """The file's lines, decoded as strict UTF-8; a UTF-8 byte-order mark is dropped.

    Raises:
        ValueError: the file is not UTF-8; the message names the file, the line and
            the byte offset of the first bad byte, and how to re-encode it.
    """
    raw = path.read_bytes()
    for bom, name in _BOMS:
        if raw.startswith(bom):
            raise ValueError(
                f"{path} is {name}, not UTF-8; re-encode it as UTF-8 "
                f"(e.g. `iconv -f utf-16 -t utf-8 {path.name} > fixed.txt`)"
            )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        line_no = raw.count(b"\n", 0, start) + 1
        raise ValueError(
            f"{path}, line {line_no} (byte offset {start}): not valid UTF-8 "
            f"({raw[start:start + 4]!r}); re-encode the file as UTF-8 "
            f"(e.g. `iconv -f latin1 -t utf-8 {path.name} > fixed.txt`)"
        ) from None
    return re.split(r"\r\n|\r|\n", text)


# ---------------------------------------------------------------------------
# Analogies


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
        ValueError: a question before any section, a line without exactly four
            words, a file that is not UTF-8 or holds no question; the message names
            the file and the (1-based) line number. A UTF-8 byte-order mark is dropped.

    Used in: book/07_linear_structure.md (through ``qwemlib.experiments._linear``),
    ``qwemlib.experiments._linear``, ``qwemlib.experiments._linear_sgd``,
    ``qwemlib.experiments._training`` (tools/make_results.py).
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
    if not any(sec.questions for sec in sections):
        raise ValueError(
            f"{path}: no analogy questions in the file ({len(sections)} sections); pass a file "
            "in the questions-words.txt format (': section' lines, then lines 'a b c d')"
        )
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

    Used in: book/07_linear_structure.md, ``qwemlib.experiments._linear``,
    ``qwemlib.experiments._linear_sgd`` (tools/make_results.py).
    """
    if not isinstance(sections, (list, tuple)):
        sections = read_analogies(sections)
    vocab = None if emb is None else emb.folded_index(restrict_vocab)
    seen: dict[str, dict[tuple[str, str], None]] = {}
    for sec in sections:
        pairs = seen.setdefault(sec.name, {})
        for a, b, c, d in sec.questions:
            for pair in ((a, b), (c, d)):
                if vocab is None or (pair[0] in vocab and pair[1] in vocab):
                    pairs.setdefault(pair, None)
    return {name: list(pairs) for name, pairs in seen.items()}


# ---------------------------------------------------------------------------
# Word similarity


def _parse_score(text: str, path: Path, line_no: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            f"{path}, line {line_no}: the score {text!r} is not a number; "
            "fix or remove the line"
        ) from None
    if not np.isfinite(value):
        raise ValueError(f"{path}, line {line_no}: the score {text!r} is not finite; fix or remove the line")
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


#: Words that mark a line as a column header (matched against the fields' alphanumeric runs).
_HEADER_WORDS = frozenset({
    "word", "word1", "word2", "w1", "w2", "score", "sim", "similarity", "relatedness",
    "human", "mean", "rating", "gold", "pos", "simlex999",
})


def _is_header(fields: list[str]) -> bool:
    """A header line: no field is a number and some field names a column (``Word 1``, ``score``).

    Decided by content, never by position: a first line that is data is kept.
    """
    if any(_is_number(f) for f in fields):
        return False
    tokens = {t for f in fields for t in re.findall(r"[a-z0-9]+", f.lower())}
    return bool(tokens & _HEADER_WORDS)


def read_similarity(path_or_name: PathLike) -> list[tuple[str, str, float]]:
    """Read a word-similarity file: ``[(w1, w2, human_score), ...]``, words lower-cased.

    Formats (detected from the file's first line):

    * whitespace separated ``w1 w2 score``, no header (MEN);
    * comma separated with a header line (WordSim353 ``combined.csv``; its pair
      ``money,cash`` occurs twice and both rows are kept, as gensim keeps them);
    * tab separated ``w1<TAB>w2<TAB>score`` (gensim's ``wordsim353.tsv``), and
      SimLex-999 (a header with a ``SimLex999`` column, which is the score used).

    The first line is a header only by its content: no field is a number and a
    field names a column (``Word 1``, ``score``, ``SimLex999``...); a first line that
    is data is read as data. Lines starting with ``#`` are comments; a UTF-8
    byte-order mark is dropped.

    Args:
        path_or_name: a path, or ``"men"``, ``"wordsim353"``, ``"simlex999"``.

    Raises:
        ValueError: a line with the wrong number of fields, a score that is not a
            finite number, a file that is not UTF-8 or holds no pair; the message
            names the file and the (1-based) line number and says what to fix.
    """
    path = _resolve(path_or_name)
    lines = _read_lines(path)
    first = next((ln for ln in lines if ln.strip() and not ln.startswith("#")), None)
    if first is None:
        raise ValueError(
            f"{path}: no word pairs in the file (it is empty or all comments); pass a file "
            "with one 'word1 word2 score' line per pair"
        )
    if "\t" in first:
        split = lambda s: [f.strip() for f in s.split("\t")]  # noqa: E731
    elif "," in first:
        split = lambda s: [f.strip() for f in next(csv.reader(io.StringIO(s)))]  # noqa: E731
    else:
        split = str.split

    cols = (0, 1, 2)
    nfields = 3
    first_seen = False
    out: list[tuple[str, str, float]] = []
    for line_no, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = split(line)
        if not first_seen:
            first_seen = True
            lowered = [f.lower() for f in fields]
            if "simlex999" in lowered:  # SimLex-999: words in columns 0, 1; score in "SimLex999"
                cols = (0, 1, lowered.index("simlex999"))
                nfields = len(fields)
                continue
            if len(fields) >= 3 and _is_header(fields):
                nfields = len(fields)
                continue  # a header such as "Word 1,Word 2,Human (mean)"
            if len(fields) >= 3 and not any(_is_number(f) for f in fields):
                raise ValueError(
                    f"{path}, line {line_no}: the first line {line.strip()!r} has no number; "
                    "if it is a header, name its columns (e.g. 'word1 word2 score') or start it "
                    "with '#'; if it is data, fix its score"
                )
        if len(fields) != nfields:
            raise ValueError(
                f"{path}, line {line_no}: expected {nfields} fields "
                f"({'word1, word2, score' if nfields == 3 else 'as in the header'}), got "
                f"{len(fields)}: {line.strip()!r}; fix or remove the line"
            )
        w1, w2 = fields[cols[0]].lower(), fields[cols[1]].lower()
        if not w1 or not w2:
            raise ValueError(
                f"{path}, line {line_no}: an empty word in {line.strip()!r}; fix or remove the line"
            )
        out.append((w1, w2, _parse_score(fields[cols[2]], path, line_no)))
    if not out:
        raise ValueError(f"{path}: a header but no word pairs; add one line per pair after the header")
    return out
