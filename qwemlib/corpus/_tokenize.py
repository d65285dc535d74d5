"""The paper's tokenizer (Appendix A.1), the vocabulary and the tokenized corpus (private).

Re-exported by :mod:`qwemlib.corpus`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

TOKENIZER_VERSION = "az-lower-1"

# Byte table: ASCII letters -> lowercase; every other byte (digits, punctuation,
# whitespace, and every byte of a multi-byte UTF-8 sequence) -> space.
_TABLE = bytes(
    (b + 32 if 65 <= b <= 90 else b) if (65 <= b <= 90 or 97 <= b <= 122) else 32
    for b in range(256)
)


class CorpusError(ValueError):
    """A corpus could not be read or is unusable (empty, not UTF-8, V too large)."""


def _tokenize_bytes(text: str) -> list[bytes]:
    # str.lower() first so that non-ASCII capitals lowercase the Unicode way;
    # the byte table then keeps only a-z.
    return text.lower().encode("utf-8", "surrogatepass").translate(_TABLE).split()


def tokenize(text: str) -> list[str]:
    """Split raw text into tokens the paper's way (Appendix A.1).

    Lowercase, then every character outside ``a``-``z`` becomes whitespace
    (so accented letters, digits, apostrophes and hyphens split words), then
    split on whitespace.

    Example:
        >>> tokenize("Don't panic: Café 42-year-old ÉCOLE!")
        ['don', 't', 'panic', 'caf', 'year', 'old', 'cole']
    """
    return [t.decode("ascii") for t in _tokenize_bytes(text)]


@dataclass(frozen=True)
class Vocabulary:
    """The V most frequent words, most frequent first (ties: alphabetical).

    Attributes:
        words: the kept words.
        counts: their counts in the raw (filtered) corpus, int64, shape (V,).
        total_tokens: number of raw tokens in the corpus the counts come from.
    """

    words: tuple[str, ...]
    counts: np.ndarray
    total_tokens: int
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {w: i for i, w in enumerate(self.words)})

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    @property
    def coverage(self) -> float:
        """Fraction of raw tokens that are in the vocabulary (paper: 87 % at V = 10^4)."""
        return float(self.counts.sum()) / max(self.total_tokens, 1)


@dataclass(frozen=True)
class TokenizedCorpus:
    """A corpus as token ids with out-of-vocabulary tokens deleted.

    Attributes:
        name: source name (registry name or file paths).
        ids: token ids, shape (N,), uint16 when V <= 65,536 else uint32.
        article_offsets: int64, shape (A+1,); article ``a`` is ``ids[off[a]:off[a+1]]``.
        vocab: the :class:`Vocabulary` the ids index.
        n_raw_tokens: tokens in the kept articles before out-of-vocabulary deletion.
    """

    name: str
    ids: np.ndarray
    article_offsets: np.ndarray
    vocab: Vocabulary
    n_raw_tokens: int

    @property
    def n_tokens(self) -> int:
        return int(self.ids.shape[0])

    @property
    def n_articles(self) -> int:
        return int(self.article_offsets.shape[0] - 1)

    def words(self, start: int = 0, stop: int | None = None) -> list[str]:
        """The tokens ``ids[start:stop]`` as words."""
        return [self.vocab.words[i] for i in self.ids[start:stop]]

    def articles(self) -> Iterator[np.ndarray]:
        """Iterate over the articles' id arrays."""
        off = self.article_offsets
        for a in range(self.n_articles):
            yield self.ids[off[a] : off[a + 1]]

    def split(self, n_parts: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Split into ``n_parts`` (ids, offsets) pieces at article boundaries.

        Used to map co-occurrence counting over shards (:mod:`qwemlib.stats`).
        """
        if n_parts < 1:
            raise ValueError(f"n_parts must be >= 1, got {n_parts}")
        off = self.article_offsets
        cuts = np.searchsorted(off, np.linspace(0, off[-1], n_parts + 1), side="left")
        cuts[0], cuts[-1] = 0, len(off) - 1
        cuts = np.unique(cuts)
        parts = []
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            sub = off[lo : hi + 1]
            parts.append((self.ids[sub[0] : sub[-1]], sub - sub[0]))
        return parts


def build_vocabulary(counts: Counter | dict, vocab_size: int, total_tokens: int) -> Vocabulary:
    """Keep the ``vocab_size`` most frequent words (ties broken alphabetically).

    Raises:
        CorpusError: ``vocab_size`` exceeds the number of distinct words, or is < 2.
    """
    if vocab_size < 2:
        raise CorpusError(f"vocabulary size V={vocab_size} is too small; use V >= 2")
    if vocab_size > len(counts):
        raise CorpusError(
            f"vocabulary size V={vocab_size:,} is larger than the corpus's {len(counts):,} "
            f"distinct words; choose a smaller V or a larger corpus"
        )
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:vocab_size]
    words = tuple(w.decode("ascii") if isinstance(w, bytes) else w for w, _ in items)
    return Vocabulary(words=words, counts=np.array([c for _, c in items], dtype=np.int64),
                      total_tokens=int(total_tokens))
