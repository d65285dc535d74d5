"""From raw article text to a stream of token ids: the paper's tokenizer and vocabulary.

The paper (Appendix A.1) lowercases the text, turns every character outside
``a``-``z`` into whitespace, splits on whitespace, optionally drops articles
shorter than 500 tokens, keeps the V most frequent words and deletes every
other token from the stream. This module does exactly that, for

* the registered local parquet shards (``wikipedia/20150523.en-ci``,
  ``wikipedia/20150523.en-sample``),
* the paper's corpus streamed from the Hugging Face Hub
  (``wikimedia/wikipedia:20231101.en``), through the same code path
  (``datasets.load_dataset(..., streaming=True)``; the schemas are identical),
* a user's own parquet files, or UTF-8 text files with one article per line.

Articles are streamed, so memory stays bounded by the id array (2 bytes a token
for V <= 65,536). The result is cached on disk (``$QWEM_CACHE_DIR/corpus``),
keyed by the source, the tokenizer version, the article filter and V, and
written atomically; a damaged cache file is reported and rebuilt.

Used in: book/01_word2vec_pmi.md and every chapter that needs real text.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import data

__all__ = [
    "TOKENIZER_VERSION",
    "tokenize",
    "Vocabulary",
    "TokenizedCorpus",
    "CorpusError",
    "iter_articles",
    "count_words",
    "build_vocabulary",
    "encode_articles",
    "load_corpus",
]

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


# --------------------------------------------------------------------------- sources


def _source_files(source: str | os.PathLike | Sequence[str | os.PathLike], max_shards: int | None):
    """Resolve a source to ('local', [paths]) or ('remote', RemoteCorpus)."""
    if isinstance(source, (str, os.PathLike)) and str(source) in data.CORPORA:
        spec = data.CORPORA[str(source)]
        if isinstance(spec, data.RemoteCorpus):
            return "remote", spec
        files = data.corpus_files(str(source))
    else:
        items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
        files = []
        for it in items:
            p = Path(it)
            if p.is_dir():
                files.extend(sorted(p.glob("*.parquet")) + sorted(p.glob("*.txt")))
            elif p.is_file():
                files.append(p)
            else:
                raise CorpusError(
                    f"corpus source {str(it)!r} is neither a registered corpus "
                    f"({sorted(data.CORPORA)}) nor an existing file or folder"
                )
        if not files:
            raise CorpusError(f"corpus source {source!r} contains no .parquet or .txt files")
    if max_shards is not None:
        files = files[:max_shards]
    return "local", [Path(f) for f in files]


def _iter_text_file(path: Path) -> Iterator[str]:
    """Articles of a UTF-8 text file, one per non-empty line; strict decoding."""
    offset = 0
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CorpusError(
                    f"corpus file {path} is not valid UTF-8: line {lineno}, byte offset "
                    f"{offset + exc.start} ({raw[exc.start:exc.start + 4]!r}). Re-encode it "
                    f"as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)."
                ) from None
            offset += len(raw)
            if line.strip():
                yield line


def _iter_parquet(files: list[Path]) -> Iterator[str]:
    import datasets

    ds = datasets.load_dataset(
        "parquet", data_files=[str(f) for f in files], split="train", streaming=True
    )
    for row in ds:
        yield row["text"] or ""


def _iter_remote(spec: data.RemoteCorpus) -> Iterator[str]:
    import datasets

    try:
        ds = datasets.load_dataset(spec.dataset, spec.config, split=spec.split, streaming=True)
        for row in ds:
            yield row["text"] or ""
    except (ConnectionError, OSError) as exc:
        raise CorpusError(
            f"could not stream {spec.dataset!r} ({spec.config}) from the Hugging Face Hub: "
            f"{exc}. Without a network, use the local sample (QWEM_SCALE=local, corpus "
            f"'wikipedia/20150523.en-sample') or set QWEM_DATA_DIR; with one, check "
            f"HF_ENDPOINT / proxy settings."
        ) from exc


def iter_articles(source, *, max_shards: int | None = None) -> Iterator[str]:
    """Stream the raw text of each article of ``source``.

    Args:
        source: a corpus name of :data:`qwemlib.data.CORPORA`, a parquet or
            UTF-8 text file (one article per line), a folder of them, or a list.
        max_shards: read only the first this many local files.
    """
    kind, spec = _source_files(source, max_shards)
    if kind == "remote":
        yield from _iter_remote(spec)
        return
    parquet = [f for f in spec if f.suffix == ".parquet"]
    texts = [f for f in spec if f.suffix != ".parquet"]
    if parquet:
        yield from _iter_parquet(parquet)
    for f in texts:
        yield from _iter_text_file(f)


def _filtered_token_lists(
    articles: Iterable[str], min_article_tokens: int, max_tokens: int | None, progress: bool, desc: str
) -> Iterator[list[bytes]]:
    from tqdm.auto import tqdm

    seen = 0
    with tqdm(total=max_tokens, unit="tok", unit_scale=True, desc=desc, disable=not progress) as bar:
        for text in articles:
            toks = _tokenize_bytes(text)
            if len(toks) < max(min_article_tokens, 1):
                continue
            yield toks
            seen += len(toks)
            bar.update(len(toks))
            if max_tokens is not None and seen >= max_tokens:
                return


# --------------------------------------------------------------------------- passes


def count_words(
    source, *, min_article_tokens: int = 0, max_tokens: int | None = None,
    max_shards: int | None = None, progress: bool = True,
) -> tuple[Counter, int, int]:
    """First pass: word counts over the kept articles.

    Returns:
        (counts, n_raw_tokens, n_articles) with ``counts`` a Counter over bytes words.
    """
    counts: Counter = Counter()
    n_tok = n_art = 0
    for toks in _filtered_token_lists(
        iter_articles(source, max_shards=max_shards), min_article_tokens, max_tokens, progress,
        "counting words",
    ):
        counts.update(toks)
        n_tok += len(toks)
        n_art += 1
    return counts, n_tok, n_art


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


def encode_articles(
    source, vocab: Vocabulary, *, min_article_tokens: int = 0, max_tokens: int | None = None,
    max_shards: int | None = None, progress: bool = True,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Second pass: token ids with out-of-vocabulary tokens deleted.

    Returns:
        (ids, article_offsets, n_raw_tokens). Articles left empty by the deletion
        are dropped.
    """
    dtype = np.uint16 if len(vocab) <= 1 << 16 else np.uint32
    index = {w.encode("ascii"): i for i, w in enumerate(vocab.words)}
    get = index.get
    chunks: list[np.ndarray] = []
    offsets = [0]
    n_raw = 0
    for toks in _filtered_token_lists(
        iter_articles(source, max_shards=max_shards), min_article_tokens, max_tokens, progress,
        "encoding",
    ):
        n_raw += len(toks)
        arr = np.fromiter((get(t, -1) for t in toks), dtype=np.int64, count=len(toks))
        arr = arr[arr >= 0].astype(dtype)
        if arr.size:
            chunks.append(arr)
            offsets.append(offsets[-1] + arr.size)
    ids = np.concatenate(chunks) if chunks else np.zeros(0, dtype=dtype)
    return ids, np.asarray(offsets, dtype=np.int64), n_raw


# --------------------------------------------------------------------------- cache


def _source_key(source, max_shards) -> dict:
    kind, spec = _source_files(source, max_shards)
    if kind == "remote":
        return {"remote": spec.dataset, "config": spec.config}
    out = []
    for f in spec:
        reg = next((n for n, e in data.REGISTRY.items() if f.as_posix().endswith(e.relpath)), None)
        if reg is not None:
            out.append({"registry": reg, "sha256": data.REGISTRY[reg].sha256})
        else:
            st = f.stat()
            out.append({"path": str(f.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    return {"files": out}


def _cache_key(source, max_shards, min_article_tokens, max_tokens) -> str:
    blob = json.dumps(
        {
            "source": _source_key(source, max_shards),
            "tokenizer": TOKENIZER_VERSION,
            "min_article_tokens": min_article_tokens,
            "max_tokens": max_tokens,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _atomic_savez(path: Path, **arrays) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)


def _try_load(path: Path, required: Sequence[str]):
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in required}
        return out
    except Exception as exc:  # truncated, not a zip, missing keys, ...
        warnings.warn(
            f"corpus cache file {path} is damaged ({type(exc).__name__}: {exc}); "
            f"it will be rebuilt from the source",
            stacklevel=3,
        )
        try:
            path.unlink()
        except OSError:
            pass
        return None


def load_corpus(
    source,
    vocab_size: int,
    *,
    min_article_tokens: int = 0,
    max_tokens: int | None = None,
    max_shards: int | None = None,
    cache: bool = True,
    progress: bool | None = None,
) -> TokenizedCorpus:
    """Tokenize a corpus, keep its top-``vocab_size`` words and delete the rest (cached).

    Args:
        source: a corpus name (see :data:`qwemlib.data.CORPORA`), a parquet or
            UTF-8 text file, a folder of them, or a list of files.
        vocab_size: V, the number of most frequent words kept.
        min_article_tokens: drop articles with fewer raw tokens (paper: 500).
        max_tokens: stop after the article that reaches this many raw tokens.
        max_shards: read only the first this many local files.
        cache: read/write the on-disk cache under ``$QWEM_CACHE_DIR/corpus``.
        progress: show tqdm bars (default: when not running under CI).

    Raises:
        CorpusError: empty corpus, invalid UTF-8, or V larger than the vocabulary.

    Example:
        >>> c = load_corpus("wikipedia/20150523.en-ci", 2000)  # doctest: +SKIP
        >>> c.vocab.words[:3]  # doctest: +SKIP
        ('the', 'of', 'and')
    """
    if progress is None:
        progress = not os.environ.get("CI")
    name = str(source) if isinstance(source, (str, os.PathLike)) else ",".join(map(str, source))
    key = _cache_key(source, max_shards, min_article_tokens, max_tokens)
    root = data.cache_dir() / "corpus" / key
    counts_file = root / "wordcounts.npz"
    ids_file = root / f"ids-V{vocab_size}.npz"

    if cache:
        got = _try_load(ids_file, ["ids", "offsets", "words", "counts", "meta"])
        if got is not None:
            meta = json.loads(str(got["meta"]))
            vocab = Vocabulary(tuple(got["words"].tolist()), got["counts"].astype(np.int64),
                               meta["total_tokens"])
            return TokenizedCorpus(name, got["ids"], got["offsets"], vocab, meta["n_raw_tokens"])

    counted = _try_load(counts_file, ["words", "counts", "meta"]) if cache else None
    if counted is not None and vocab_size > len(counted["words"]):
        counted = None  # the cache keeps only the frequent words; recount for a huge V
    if counted is not None:
        meta = json.loads(str(counted["meta"]))
        counter = dict(zip(counted["words"].tolist(), counted["counts"].tolist()))
        n_raw = meta["n_raw_tokens"]
    else:
        counter, n_raw, _ = count_words(
            source, min_article_tokens=min_article_tokens, max_tokens=max_tokens,
            max_shards=max_shards, progress=progress,
        )
        if n_raw == 0:
            raise CorpusError(
                f"corpus {name!r} yielded no tokens (after the article filter "
                f"min_article_tokens={min_article_tokens}); check the source and the filter"
            )
        if cache:
            # Keep the words seen at least twice (or the top 200k): enough for any V used here.
            items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
            items = [kv for kv in items[:200_000] if kv[1] >= 2] or items[:200_000]
            _atomic_savez(
                counts_file,
                words=np.array([w.decode("ascii") for w, _ in items]),
                counts=np.array([c for _, c in items], dtype=np.int64),
                meta=np.array(json.dumps({"n_raw_tokens": n_raw, "distinct": len(counter)})),
            )
        counter = {(w.decode("ascii") if isinstance(w, bytes) else w): c for w, c in counter.items()}

    vocab = build_vocabulary(counter, vocab_size, n_raw)
    ids, offsets, n_raw2 = encode_articles(
        source, vocab, min_article_tokens=min_article_tokens, max_tokens=max_tokens,
        max_shards=max_shards, progress=progress,
    )
    if n_raw2 != n_raw:
        raise CorpusError(
            f"corpus {name!r} changed between the two passes ({n_raw:,} then {n_raw2:,} tokens); "
            f"if it is a file being written, wait until it is complete"
        )
    if cache:
        _atomic_savez(
            ids_file, ids=ids, offsets=offsets, words=np.array(vocab.words), counts=vocab.counts,
            meta=np.array(json.dumps({"n_raw_tokens": n_raw, "total_tokens": n_raw})),
        )
    return TokenizedCorpus(name, ids, offsets, vocab, n_raw)
