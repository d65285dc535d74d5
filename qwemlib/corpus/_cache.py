"""The on-disk token cache and :func:`load_corpus` (private; re-exported by :mod:`qwemlib.corpus`).

Files live under ``$QWEM_CACHE_DIR/corpus/<key>/``. The key is computed from content:
the corpus fingerprint, the tokenizer version, the article filter and the token
budget (:func:`cache_key`). The fingerprint of a registered corpus is its shards'
registered sha256s (the shards, when present, are verified against them before a
cache is used, so a cache carried without its shards is still found); any other file
is fingerprinted by the sha256 of its bytes, whatever its path or mtime (hashed once
per process, :func:`qwemlib.data.sha256_of`: ~0.3 s for 111 MB, so no on-disk memo
that a same-size, same-mtime rewrite could fool). Each cache
file stores its full key (and V) in its ``meta`` entry and is rejected -- reported,
then rebuilt -- when they differ from what the caller needs (a renamed, foreign or
stale file). Files are written atomically and read tolerantly (:mod:`qwemlib._io`).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np

from .. import data
from .._io import atomic_savez, try_load_npz
from ._sources import (
    _is_parquet,
    _source_files,
    check_count,
    check_filter,
    encode_with_vocabulary,
    tokenize_articles,
)
from ._tokenize import TOKENIZER_VERSION, CorpusError, TokenizedCorpus, Vocabulary, build_vocabulary


def _fingerprint(source, max_shards) -> dict:
    # A registered local corpus is fingerprinted by its registry entries alone (its shards are
    # verified against them in load_corpus), so that a token cache carried without the shards
    # (tools/gpu_pack.py) is found where they are absent.
    if isinstance(source, (str, os.PathLike)) and isinstance(data.CORPORA.get(str(source)), tuple):
        check_count("max_shards", max_shards, minimum=1)
        names = data.CORPORA[str(source)][:max_shards]
        return {"files": [{"registry": n, "sha256": data.REGISTRY[n].sha256} for n in names]}
    kind, spec = _source_files(source, max_shards)
    if kind == "remote":
        return {"remote": spec.dataset, "config": spec.config}
    # Bytes, not paths: a file that merely sits at a registered shard's relative path, or one
    # rewritten with the same size and mtime, gets its own key.
    return {"files": [{"sha256": data.sha256_of(f), "format": "parquet" if _is_parquet(f) else "text"}
                      for f in spec]}


def cache_key(source, *, max_shards: int | None = None, min_article_tokens: int = 0,
              max_tokens: int | None = None) -> dict:
    """The content key of one (source, tokenizer, article filter, token budget).

    Every cache file of the corpus stores this dict (plus its own V, window, ...) and is
    used only when it matches; :func:`cache_root` names the folder by its hash.
    """
    check_filter(min_article_tokens, max_tokens)
    return {"source": _fingerprint(source, max_shards), "tokenizer": TOKENIZER_VERSION,
            "min_article_tokens": int(min_article_tokens),
            "max_tokens": None if max_tokens is None else int(max_tokens)}


def cache_root(source, *, max_shards: int | None = None, min_article_tokens: int = 0,
               max_tokens: int | None = None) -> Path:
    """The cache folder of one (source, tokenizer, article filter): ``$QWEM_CACHE_DIR/corpus/<key>``.

    :func:`load_corpus` keeps its word counts and token ids here, and
    :func:`qwemlib.pipeline.corpus_statistics` its co-occurrence counts.
    """
    return root_of(cache_key(source, max_shards=max_shards, min_article_tokens=min_article_tokens,
                             max_tokens=max_tokens))


def root_of(key: dict) -> Path:
    """The cache folder named by a :func:`cache_key` dict."""
    blob = json.dumps(key, sort_keys=True)
    return data.cache_dir() / "corpus" / hashlib.sha256(blob.encode()).hexdigest()[:20]


def write_cache(path: Path, **arrays) -> bool:
    """Write an optional cache file atomically; a failed write (full disk, read-only folder) warns.

    The temporary file is removed by :func:`qwemlib._io.atomic_write`; the computed result is
    still returned to the caller, only the next call recomputes it. Returns whether it was written.
    """
    try:
        atomic_savez(path, **arrays)
        return True
    except OSError as exc:
        warnings.warn(f"could not write the cache file {path} ({type(exc).__name__}: {exc}); "
                      f"continuing without it (free space or make {path.parent} writable, or "
                      f"point QWEM_CACHE_DIR elsewhere)", stacklevel=3)
        return False


def read_keyed(path: Path, required: list[str], key: dict, *, what: str, rebuild: str):
    """Arrays ``required`` of the cache file ``path`` and its meta dict, or ``None``.

    ``None`` when the file is missing, damaged (:func:`qwemlib._io.try_load_npz`) or made
    for another key: its ``meta["key"]`` must equal ``key``. A mismatch is reported with a
    warning naming the file and what differs; the caller rebuilds and overwrites it.
    """
    got = try_load_npz(path, [*required, "meta"], what=what, rebuild=rebuild)
    if got is None:
        return None
    try:
        meta = json.loads(str(got["meta"]))
        stored = meta.get("key")
    except (ValueError, AttributeError) as exc:
        meta, stored = {}, f"unreadable meta ({exc})"
    if stored != key:
        if stored is None:
            why = "it carries no cache key (written by an older qwemlib)"
        elif isinstance(stored, dict):
            diff = sorted(k for k in set(key) | set(stored) if key.get(k) != stored.get(k))
            why = f"it was made for another {', '.join(diff)}"
        else:
            why = str(stored)
        warnings.warn(f"{what} {path} does not belong here: {why}; {rebuild}", stacklevel=3)
        return None
    return got, meta


_DAMAGED = dict(what="corpus cache file", rebuild="it will be rebuilt from the source")


def _check_shards(source, max_shards) -> None:
    """Verify a registered corpus's shards where they are present (absent: the cache must serve)."""
    for n in data.CORPORA[str(source)][:max_shards]:
        try:
            data.path(n, download=False)
        except data.MissingDataError:
            pass


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
            UTF-8 text file, a folder of them (``.txt``/``.parquet`` in any case;
            the files read and skipped are reported), or a list of files.
        vocab_size: V, the number of most frequent words kept (>= 2).
        min_article_tokens: drop articles with fewer raw tokens (paper: 500; >= 0).
        max_tokens: stop after the article that reaches this many raw tokens
            (>= 1, or ``None`` for the whole corpus).
        max_shards: read only the first this many local files (>= 1 or ``None``).
        cache: read/write the on-disk cache under ``$QWEM_CACHE_DIR/corpus``.
        progress: show tqdm bars (default: when not running under CI).

    Raises:
        CorpusError: a bad option, an empty corpus, invalid UTF-8, a parquet file
            without a ``text`` column, or V larger than the vocabulary.
        qwemlib.data.CorruptDataError: a registered shard does not match its checksum.

    Example:
        >>> c = load_corpus("wikipedia/20150523.en-ci", 2000)  # doctest: +SKIP
        >>> c.vocab.words[:3]  # doctest: +SKIP
        ('the', 'of', 'and')
    """
    check_count("vocab_size", vocab_size, minimum=2, allow_none=False)
    check_filter(min_article_tokens, max_tokens)
    check_count("max_shards", max_shards, minimum=1)
    if progress is None:
        progress = not os.environ.get("CI")
    name = str(source) if isinstance(source, (str, os.PathLike)) else ",".join(map(str, source))
    registered = isinstance(source, (str, os.PathLike)) and str(source) in data.CORPORA
    if not registered:
        # Resolve folders once (their read/skipped report is given once); the key is the files'.
        _, source = _source_files(source, max_shards)
        max_shards = None
    key = cache_key(source, max_shards=max_shards, min_article_tokens=min_article_tokens,
                    max_tokens=max_tokens)
    if registered and not data.is_remote_corpus(str(source)):
        _check_shards(source, max_shards)
    root = root_of(key)
    counts_file = root / "wordcounts.npz"
    ids_file = root / f"ids-V{vocab_size}.npz"
    ids_key = {**key, "V": int(vocab_size)}

    hit = read_keyed(ids_file, ["ids", "offsets", "words", "counts"], ids_key, **_DAMAGED) if cache else None
    if hit is not None:
        got, meta = hit
        if len(got["words"]) == vocab_size and (got["ids"].size == 0 or int(got["ids"].max()) < vocab_size):
            vocab = Vocabulary(tuple(got["words"].tolist()), got["counts"].astype(np.int64),
                               meta["total_tokens"])
            return TokenizedCorpus(name, got["ids"], got["offsets"], vocab, meta["n_raw_tokens"])
        top = int(got["ids"].max()) if got["ids"].size else None
        warnings.warn(f"corpus cache file {ids_file} does not fit V={vocab_size} ({len(got['words'])} "
                      f"words, ids up to {top}); it will be rebuilt from the source", stacklevel=2)

    seen, seen_counts, raw_ids, raw_offsets, n_raw = tokenize_articles(
        source, min_article_tokens=min_article_tokens, max_tokens=max_tokens,
        max_shards=max_shards, progress=progress,
    )
    if n_raw == 0:
        raise CorpusError(
            f"corpus {name!r} yielded no tokens (after the article filter "
            f"min_article_tokens={min_article_tokens}); check the source and the filter"
        )
    hit = read_keyed(counts_file, ["words", "counts"], key, **_DAMAGED) if cache else None
    counted = hit[0] if hit is not None else None
    if counted is not None and vocab_size > len(counted["words"]):
        counted = None  # the cache keeps only the frequent words; use this pass's counts for a huge V
    if counted is not None:
        counter = dict(zip(counted["words"].tolist(), counted["counts"].tolist()))
        if hit[1]["n_raw_tokens"] != n_raw:
            raise CorpusError(
                f"corpus {name!r} changed since its word counts were cached ({hit[1]['n_raw_tokens']:,} "
                f"then {n_raw:,} tokens); if it is a file being written, wait until it is complete"
            )
    else:
        counter = dict(zip(seen, seen_counts.tolist()))
        if cache:
            # Keep the words seen at least twice (or the top 200k): enough for any V used here.
            items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
            items = [kv for kv in items[:200_000] if kv[1] >= 2] or items[:200_000]
            write_cache(
                counts_file,
                words=np.array([w.decode("ascii") for w, _ in items]),
                counts=np.array([c for _, c in items], dtype=np.int64),
                meta=np.array(json.dumps({"n_raw_tokens": n_raw, "distinct": len(counter), "key": key})),
            )
        counter = {(w.decode("ascii") if isinstance(w, bytes) else w): c for w, c in counter.items()}

    vocab = build_vocabulary(counter, vocab_size, n_raw)
    ids, offsets = encode_with_vocabulary(seen, raw_ids, raw_offsets, vocab)
    del raw_ids, seen
    if cache:
        write_cache(
            ids_file, ids=ids, offsets=offsets, words=np.array(vocab.words), counts=vocab.counts,
            meta=np.array(json.dumps({"n_raw_tokens": n_raw, "total_tokens": n_raw, "key": ids_key})),
        )
    return TokenizedCorpus(name, ids, offsets, vocab, n_raw)
