"""Article streams from registered, local or Hub corpora; the counting and encoding passes (private).

Re-exported by :mod:`qwemlib.corpus`.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from .. import data
from ._tokenize import CorpusError, Vocabulary, _tokenize_bytes

_log = logging.getLogger("qwemlib.corpus")

# --------------------------------------------------------------------------- sources


CORPUS_SUFFIXES = (".txt", ".parquet")


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() == ".parquet"


def _folder_files(folder: Path) -> list[Path]:
    """The corpus files directly inside ``folder`` (``.txt``/``.parquet`` in any case), reported."""
    entries = sorted(folder.iterdir(), key=lambda p: (p.name.lower(), p.name))
    read = [p for p in entries
            if p.is_file() and p.suffix.lower() in CORPUS_SUFFIXES and not p.name.startswith(".")]
    skipped = [p for p in entries if p not in read]

    def names(ps):
        shown = ", ".join(p.name + ("/" if p.is_dir() else "") for p in ps[:10])
        return shown + (f", ... ({len(ps) - 10} more)" if len(ps) > 10 else "")

    if not read:
        raise CorpusError(
            f"corpus folder {folder} holds no corpus files ({names(skipped) or 'it is empty'}); "
            f"put .txt (UTF-8, one article per line) or .parquet files (a 'text' column) directly "
            f"inside it"
        )
    msg = f"corpus folder {folder}: reading {len(read)} file(s) ({names(read)})"
    if skipped:
        warnings.warn(f"{msg}; skipped {len(skipped)} ({names(skipped)}): only .txt and .parquet "
                      f"files (any case, not hidden) directly inside the folder are read; "
                      f"subfolders are not searched", stacklevel=2)
    else:
        _log.info(msg)
    return read


def _source_files(source: str | os.PathLike | Sequence[str | os.PathLike], max_shards: int | None):
    """Resolve a source to ('local', [paths]) or ('remote', RemoteCorpus)."""
    check_count("max_shards", max_shards, minimum=1)
    if isinstance(source, (str, os.PathLike)) and str(source) in data.CORPORA:
        spec = data.CORPORA[str(source)]
        if isinstance(spec, data.RemoteCorpus):
            return "remote", spec
        files = data.corpus_files(str(source))
    else:
        items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
        if not items:
            raise CorpusError("the corpus source is an empty list; give a corpus name, a file or a folder")
        files = []
        for it in items:
            p = Path(it).expanduser()
            if p.is_dir():
                files.extend(_folder_files(p))
            elif p.is_file():
                files.append(p)
            else:
                raise CorpusError(
                    f"corpus source {str(it)!r} is neither a registered corpus "
                    f"({sorted(data.CORPORA)}) nor an existing file or folder"
                )
    if max_shards is not None:
        files = files[:max_shards]
    return "local", [Path(f) for f in files]


def check_count(name: str, value, *, minimum: int, allow_none: bool = True) -> None:
    """Raise :class:`CorpusError` unless ``value`` is a whole number >= ``minimum`` (or ``None``)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise CorpusError(f"{name} must be a whole number >= {minimum}"
                          f"{' or None (no limit)' if allow_none else ''}; got {value!r}")
    if value < minimum:
        hint = " (use None for no limit)" if allow_none else ""
        raise CorpusError(f"{name} must be >= {minimum}; got {value}{hint}")


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


def _iter_parquet(path: Path) -> Iterator[str]:
    """The ``text`` column of one parquet file (Hugging Face ``wikimedia/wikipedia`` schema)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise CorpusError(f"corpus file {path} is not a readable parquet file ({exc}); check that "
                          f"it is complete, or name text files .txt") from None
    schema = pf.schema_arrow
    if "text" not in schema.names:
        raise CorpusError(f"corpus file {path} has no 'text' column (its columns: {schema.names}); "
                          f"a parquet corpus needs one string column named 'text', one article a row")
    kind = schema.field("text").type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)):
        raise CorpusError(f"corpus file {path}: column 'text' holds {kind}, not strings; "
                          f"store the article text as a string column")
    try:
        for batch in pf.iter_batches(columns=["text"], batch_size=256):
            for text in batch.column(0).to_pylist():
                yield text or ""
    except (pa.ArrowException, OSError) as exc:
        raise CorpusError(f"corpus file {path} is damaged ({exc}); replace it with a complete copy") from None


def _iter_remote(spec: data.RemoteCorpus) -> Iterator[str]:
    if data.offline():
        raise CorpusError(
            f"corpus {spec.name!r} is streamed from the Hugging Face Hub, and QWEM_OFFLINE=1 forbids "
            f"the network: unset QWEM_OFFLINE to stream it, or use the local sample (QWEM_SCALE=local, "
            f"corpus 'wikipedia/20150523.en-sample')"
        )
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
    for f in spec:
        yield from (_iter_parquet(f) if _is_parquet(f) else _iter_text_file(f))


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


def check_filter(min_article_tokens, max_tokens) -> None:
    """Validate the article filter and the token budget (a clear :class:`CorpusError`)."""
    check_count("min_article_tokens", min_article_tokens, minimum=0, allow_none=False)
    check_count("max_tokens", max_tokens, minimum=1)


def count_words(
    source, *, min_article_tokens: int = 0, max_tokens: int | None = None,
    max_shards: int | None = None, progress: bool = True,
) -> tuple[Counter, int, int]:
    """First pass: word counts over the kept articles.

    Returns:
        (counts, n_raw_tokens, n_articles) with ``counts`` a Counter over bytes words.
    """
    check_filter(min_article_tokens, max_tokens)
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


_ARTICLES_PER_CHUNK = 20_000
"""Articles mapped at a time by :func:`encode_with_vocabulary`."""


class _Seen(dict):
    """word -> provisional id, in the order words are first seen (a new word costs one call)."""

    def __missing__(self, key):
        i = self[key] = len(self)
        return i


def tokenize_articles(
    source, *, min_article_tokens: int = 0, max_tokens: int | None = None,
    max_shards: int | None = None, progress: bool = True,
) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray, int]:
    """One pass over the kept articles: every token as an id into the table of distinct words.

    :func:`qwemlib.corpus.load_corpus` counts the words and encodes the articles from this
    one pass (:func:`encode_with_vocabulary`): it reads, splits and lowercases the corpus once
    instead of twice (the separate :func:`count_words` and :func:`encode_articles`).

    Returns:
        ``(seen, counts, raw_ids, offsets, n_raw_tokens)``: ``seen`` maps each distinct bytes
        word to its provisional id (first-seen order), ``counts[i]`` is the count of word
        ``i``, ``raw_ids`` (int32) the kept articles' tokens and ``offsets`` their article
        boundaries (article ``a`` is ``raw_ids[offsets[a]:offsets[a+1]]``).
    """
    check_filter(min_article_tokens, max_tokens)
    seen = _Seen()
    lookup = seen.__getitem__
    chunks: list[np.ndarray] = []
    offsets = [0]
    for toks in _filtered_token_lists(
        iter_articles(source, max_shards=max_shards), min_article_tokens, max_tokens, progress,
        "tokenizing",
    ):
        chunks.append(np.fromiter(map(lookup, toks), dtype=np.int32, count=len(toks)))
        offsets.append(offsets[-1] + len(toks))
    raw = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int32)
    counts = np.bincount(raw, minlength=len(seen)).astype(np.int64)
    return seen, counts, raw, np.asarray(offsets, dtype=np.int64), int(raw.size)


def encode_with_vocabulary(seen: dict, raw_ids: np.ndarray, offsets: np.ndarray,
                           vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """The token ids and article offsets of :func:`tokenize_articles`'s pass under ``vocab``.

    The same as :func:`encode_articles` on the same articles: out-of-vocabulary tokens are
    deleted and articles left empty dropped.

    Raises:
        CorpusError: a vocabulary word the pass never saw (the word counts came from a
            different corpus).
    """
    table = np.full(len(seen), -1, dtype=np.int32)
    for i, w in enumerate(vocab.words):
        j = seen.get(w.encode("ascii"))
        if j is None:
            raise CorpusError(f"vocabulary word {w!r} does not occur in the corpus read; the word "
                              f"counts came from another corpus: clear the corpus cache")
        table[j] = i
    dtype = np.uint16 if len(vocab) <= 1 << 16 else np.uint32
    parts, kept = [], np.zeros(max(len(offsets) - 1, 0), dtype=np.int64)
    for a0 in range(0, len(offsets) - 1, _ARTICLES_PER_CHUNK):  # chunks: no (N,) int64 temporaries
        a1 = min(len(offsets) - 1, a0 + _ARTICLES_PER_CHUNK)
        mapped = table[raw_ids[offsets[a0]:offsets[a1]]]
        keep = mapped >= 0
        kept[a0:a1] = np.add.reduceat(keep, offsets[a0:a1] - offsets[a0]) if a1 > a0 else 0
        parts.append(mapped[keep].astype(dtype))
    ids = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
    new_offsets = np.concatenate([[0], np.cumsum(kept[kept > 0])])  # emptied articles dropped
    return ids, new_offsets.astype(np.int64)


class _Index(dict):
    """word -> id; a word out of the vocabulary is remembered as -1 the first time it is seen."""

    def __missing__(self, key):
        self[key] = -1
        return -1


def encode_articles(
    source, vocab: Vocabulary, *, min_article_tokens: int = 0, max_tokens: int | None = None,
    max_shards: int | None = None, progress: bool = True,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Second pass: token ids with out-of-vocabulary tokens deleted.

    Returns:
        (ids, article_offsets, n_raw_tokens). Articles left empty by the deletion
        are dropped.
    """
    check_filter(min_article_tokens, max_tokens)
    dtype = np.uint16 if len(vocab) <= 1 << 16 else np.uint32
    index = _Index((w.encode("ascii"), i) for i, w in enumerate(vocab.words))
    lookup = index.__getitem__  # C-level dict lookups; an unseen word costs one Python call, once
    chunks: list[np.ndarray] = []
    offsets = [0]
    n_raw = 0
    for toks in _filtered_token_lists(
        iter_articles(source, max_shards=max_shards), min_article_tokens, max_tokens, progress,
        "encoding",
    ):
        n_raw += len(toks)
        arr = np.fromiter(map(lookup, toks), dtype=np.int64, count=len(toks))
        arr = arr[arr >= 0].astype(dtype)
        if arr.size:
            chunks.append(arr)
            offsets.append(offsets[-1] + arr.size)
    ids = np.concatenate(chunks) if chunks else np.zeros(0, dtype=dtype)
    return ids, np.asarray(offsets, dtype=np.int64), n_raw
