"""Article streams from registered, local or Hub corpora; the counting and encoding passes (private).

Re-exported by :mod:`qwemlib.corpus`.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from .. import data
from ._tokenize import CorpusError, Vocabulary, _tokenize_bytes

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
