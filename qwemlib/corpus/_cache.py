"""The on-disk token cache and :func:`load_corpus` (private; re-exported by :mod:`qwemlib.corpus`).

Files live under ``$QWEM_CACHE_DIR/corpus/<key>/``, where the key hashes the source
(registered files by sha256, other files by path, size and mtime), the tokenizer
version and the article filter. They are written atomically and read tolerantly
(:mod:`qwemlib._io`): a damaged file is reported, deleted and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from .. import data
from .._io import atomic_savez, try_load_npz
from ._sources import _source_files, count_words, encode_articles
from ._tokenize import TOKENIZER_VERSION, CorpusError, TokenizedCorpus, Vocabulary, build_vocabulary


def _source_key(source, max_shards) -> dict:
    # A registered local corpus is keyed by its registry entries alone (the same key the loop
    # below gives once its shards are found), so that a token cache carried without the shards
    # (tools/gpu_pack.py) is found where they are absent.
    if isinstance(source, (str, os.PathLike)) and isinstance(data.CORPORA.get(str(source)), tuple):
        names = data.CORPORA[str(source)][:max_shards]
        return {"files": [{"registry": n, "sha256": data.REGISTRY[n].sha256} for n in names]}
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


def cache_root(source, *, max_shards: int | None = None, min_article_tokens: int = 0,
               max_tokens: int | None = None) -> Path:
    """The cache folder of one (source, tokenizer, article filter): ``$QWEM_CACHE_DIR/corpus/<key>``.

    :func:`load_corpus` keeps its word counts and token ids here, and
    :func:`qwemlib.pipeline.corpus_statistics` its co-occurrence counts.
    """
    return data.cache_dir() / "corpus" / _cache_key(source, max_shards, min_article_tokens, max_tokens)


_DAMAGED = dict(what="corpus cache file", rebuild="it will be rebuilt from the source")


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
    root = cache_root(source, max_shards=max_shards, min_article_tokens=min_article_tokens,
                      max_tokens=max_tokens)
    counts_file = root / "wordcounts.npz"
    ids_file = root / f"ids-V{vocab_size}.npz"

    if cache:
        got = try_load_npz(ids_file, ["ids", "offsets", "words", "counts", "meta"], **_DAMAGED)
        if got is not None:
            meta = json.loads(str(got["meta"]))
            vocab = Vocabulary(tuple(got["words"].tolist()), got["counts"].astype(np.int64),
                               meta["total_tokens"])
            return TokenizedCorpus(name, got["ids"], got["offsets"], vocab, meta["n_raw_tokens"])

    counted = try_load_npz(counts_file, ["words", "counts", "meta"], **_DAMAGED) if cache else None
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
            atomic_savez(
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
        atomic_savez(
            ids_file, ids=ids, offsets=offsets, words=np.array(vocab.words), counts=vocab.counts,
            meta=np.array(json.dumps({"n_raw_tokens": n_raw, "total_tokens": n_raw})),
        )
    return TokenizedCorpus(name, ids, offsets, vocab, n_raw)
