"""The word2vec C tool's text and binary vector formats, as gensim 4 reads and writes them.

Both start with a header line ``"V d\\n"``. Text: one line per word,
``word v_1 ... v_d\\n``, each number as ``str()`` of the array's element (numpy's
shortest repr, so float32 vectors round-trip exactly). Binary: ``word`` + one space +
``d`` native float32 values, with no separator after them (gensim's writer; the C tool
writes a newline there, which the reader drops from the next word). The writer is
byte-compatible with ``KeyedVectors.save_word2vec_format`` and the reader returns what
``KeyedVectors.load_word2vec_format`` returns (``tests/test_gensim_compat.py``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._io import atomic_write

_ROWS_PER_WRITE = 1024


def write_word2vec_format(path: str | os.PathLike, words: Sequence[str], vectors: np.ndarray,
                          binary: bool = False, *, write_header: bool = True, prefix: str = "") -> Path:
    """Write ``words`` and their ``(V, d)`` ``vectors`` in the word2vec format, atomically.

    Raises:
        ValueError: a word is empty or holds whitespace (the format separates by spaces).
    """
    path = Path(path)
    vectors = np.asarray(vectors)
    for w in words:
        if not w or any(ch.isspace() for ch in w):
            raise ValueError(f"{path}: the word {w!r} cannot be stored in the word2vec format "
                             "(empty or with whitespace); rename it first")
    with atomic_write(path, "wb") as fh:
        if write_header:
            fh.write(f"{len(words)} {vectors.shape[1]}\n".encode())
        for start in range(0, len(words), _ROWS_PER_WRITE):
            block = []
            for w, row in zip(words[start:start + _ROWS_PER_WRITE], vectors[start:start + _ROWS_PER_WRITE]):
                if binary:
                    block.append(f"{prefix}{w} ".encode() + row.astype(np.float32).tobytes())
                else:
                    block.append(f"{prefix}{w} {' '.join(str(v) for v in row)}\n".encode())
            fh.write(b"".join(block))
    return path


def _header(path: Path, line: bytes, encoding: str) -> tuple[int, int]:
    fields = line.decode(encoding, errors="replace").split()
    if len(fields) != 2 or not all(f.isdigit() for f in fields):
        raise ValueError(f"{path}, line 1: expected the header 'V d' (word count and dimension), got "
                         f"{line[:80]!r}; pass no_header=True for a text file without one")
    return int(fields[0]), int(fields[1])


def read_word2vec_format(
    path: str | os.PathLike, binary: bool = False, *, encoding: str = "utf8", unicode_errors: str = "strict",
    limit: int | None = None, datatype=np.float32, no_header: bool = False,
) -> tuple[list[str], np.ndarray]:
    """The words and ``(V, d)`` vectors of a word2vec-format file (gensim's reading rules).

    Args:
        path: the file.
        binary: the binary format (else text).
        encoding, unicode_errors: how the words are decoded.
        limit: read at most this many words (``None`` or 0: all).
        datatype: the dtype of the returned vectors (gensim's default float32).
        no_header: a text file without the ``"V d"`` line (GloVe's format).

    Returns:
        ``(words, vectors)``; a repeated word keeps its first vector (with a warning).

    Raises:
        FileNotFoundError: no such file.
        ValueError: a bad header, a line with the wrong number of values, or a file
            shorter than its header says; the message names the file (and line).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no word2vec file at {path}")
    raw = path.read_bytes()
    if no_header:
        if binary:
            raise ValueError(f"{path}: no_header=True works only for the text format")
        lines = raw.split(b"\n")
        if lines and not lines[-1]:
            lines.pop()
        count = len(lines) if not limit else min(len(lines), limit)
        dim = len(lines[0].rstrip().split(b" ")) - 1 if lines else 0
        body, first_line = raw, 1
    else:
        end = raw.find(b"\n")
        count, dim = _header(path, raw if end < 0 else raw[:end], encoding)
        if limit:
            count = min(count, limit)
        body, first_line = (b"" if end < 0 else raw[end + 1:]), 2
    words: list[str] = []
    rows = np.empty((count, dim), dtype=datatype)
    if binary:
        _read_binary(path, body, count, dim, words, rows, encoding, unicode_errors)
    else:
        _read_text(path, body, count, dim, words, rows, encoding, unicode_errors, first_line)
    keep: dict[str, int] = {}
    for i, w in enumerate(words):
        keep.setdefault(w, i)
    if len(keep) < len(words):
        warnings.warn(f"{path}: {len(words) - len(keep)} repeated words; each keeps its first vector",
                      stacklevel=3)
        idx = np.fromiter(keep.values(), dtype=np.int64)
        return list(keep), np.ascontiguousarray(rows[idx])
    return words, rows


def _read_text(path, body, count, dim, words, rows, encoding, unicode_errors, first_line):
    lines = body.split(b"\n")
    for i in range(count):
        line_no = first_line + i
        if i >= len(lines) or (i == len(lines) - 1 and not lines[i]):
            raise ValueError(f"{path}: the header promises {count} words but the file ends after {i}; "
                             "it is truncated or its header is wrong: write it again")
        parts = lines[i].rstrip().decode(encoding, errors=unicode_errors).split(" ")
        if len(parts) != dim + 1:
            raise ValueError(f"{path}, line {line_no}: expected a word and {dim} numbers, "
                             f"got {len(parts) - 1} numbers")
        try:
            rows[i] = np.array(parts[1:], dtype=np.float64)
        except ValueError:
            raise ValueError(f"{path}, line {line_no}: a value of {parts[0]!r} is not a number") from None
        words.append(parts[0])


def _read_binary(path, body, count, dim, words, rows, encoding, unicode_errors):
    width = dim * np.dtype(np.float32).itemsize
    start = 0
    for i in range(count):
        space = body.find(b" ", start)
        if space < 0 or len(body) - (space + 1) < width:
            raise ValueError(f"{path}: the header promises {count} words but the file ends after {i}; "
                             "it is truncated or its header is wrong: write it again")
        words.append(body[start:space].decode(encoding, errors=unicode_errors).lstrip("\n"))
        rows[i] = np.frombuffer(body, dtype=np.float32, count=dim, offset=space + 1)
        start = space + 1 + width
