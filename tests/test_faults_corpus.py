"""Fault injection for qwemlib.corpus and qwemlib.pipeline (issue 14.2, 14.5, 14.7).

Cache identity (foreign, renamed, stale, legacy, forged and damaged cache files; a user
file at a registered path), inputs (folders, numeric options, parquet schemas), a full
disk, a read-only cache and Ctrl-C during a cache write. Each case checks the error type,
that the message names the input and says what to do, and that nothing is left
half-written (no ``*.tmp``) while earlier cache files stay intact.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qwemlib import config, corpus, data
from qwemlib.corpus import CorpusError, load_corpus
from qwemlib.pipeline import cooccurrence_cache_path, corpus_statistics

CI = "wikipedia/20150523.en-ci"
WORDS = [f"w{chr(97 + i)}{chr(97 + j)}" for i in range(6) for j in range(6)]  # 36 letter-only words


def _texts(seed: int, n: int = 40) -> list[str]:
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, len(WORDS) + 1)
    return [" ".join(rng.choice(WORDS, size=rng.integers(5, 30), p=p / p.sum())) for _ in range(n)]


def _txt(path, seed=0, n=40):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(_texts(seed, n)) + "\n", encoding="utf-8")
    return path


def _parquet(path, texts, **extra):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": [str(i) for i in range(len(texts))], "text": texts, **extra}), path)
    return path


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("QWEM_CACHE_DIR", str(root))
    return root


def _load(src, V=10, **kw):
    return load_corpus(src, V, progress=False, **kw)


def _same(a, b):
    return (np.array_equal(a.ids, b.ids) and a.vocab.words == b.vocab.words
            and a.n_raw_tokens == b.n_raw_tokens)


def _no_debris(root):
    assert not [p for p in root.rglob("*") if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------- cache identity


@pytest.mark.fault("cache")
def test_a_file_at_a_registered_path_does_not_claim_its_cache(cache, tmp_path):
    """The bug: any file whose path ended with a shard's relative path was keyed as that shard."""
    mine = _parquet(tmp_path / "mine" / data.REGISTRY[data.CORPORA[CI][0]].relpath, _texts(1, 200))
    own = _load(mine, 10, max_tokens=3000)
    real = _load(CI, 10, max_tokens=3000)
    assert own.vocab.words[0].startswith("w") and real.vocab.words[0] == "the"
    assert corpus.cache_root(mine, max_tokens=3000) != corpus.cache_root(CI, max_tokens=3000)
    assert _same(_load(mine, 10, max_tokens=3000), own)  # and it keeps its own cache
    _no_debris(cache)


@pytest.mark.fault("cache")
def test_cache_renamed_for_another_V_is_rejected(cache, tmp_path):
    f = _txt(tmp_path / "c.txt")
    _load(f, 10)
    root = corpus.cache_root(f)
    fresh20 = _load(f, 20, cache=False)
    os.replace(root / "ids-V10.npz", root / "ids-V20.npz")
    with pytest.warns(UserWarning, match=r"ids-V20.npz does not belong here: it was made for another V"):
        got = _load(f, 20)
    assert _same(got, fresh20)
    _no_debris(cache)


@pytest.mark.fault("cache")
def test_cache_copied_from_another_corpus_is_rejected(cache, tmp_path):
    a, b = _txt(tmp_path / "a.txt", seed=1), _txt(tmp_path / "b.txt", seed=2)
    _load(a)
    _load(b)
    shutil.copy(corpus.cache_root(a) / "ids-V10.npz", corpus.cache_root(b) / "ids-V10.npz")
    with pytest.warns(UserWarning, match=r"does not belong here: it was made for another source"):
        got = _load(b)
    assert _same(got, _load(b, cache=False))


@pytest.mark.fault("cache")
def test_file_changed_with_same_size_and_mtime_is_seen(cache, tmp_path):
    f = _txt(tmp_path / "c.txt")
    first = _load(f)
    st = f.stat()
    text = f.read_text()
    f.write_text(text.replace("wa", "wb"))  # same size
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert f.stat().st_size == st.st_size and f.stat().st_mtime_ns == st.st_mtime_ns
    again = _load(f)
    assert not _same(again, first) and _same(again, _load(f, cache=False))


@pytest.mark.fault("cache")
def test_file_grown_gets_a_new_key(cache, tmp_path):
    f = _txt(tmp_path / "c.txt")
    first = _load(f)
    with open(f, "a") as fh:
        fh.write("wfa wfb wfc\n")
    again = _load(f)
    assert again.n_raw_tokens == first.n_raw_tokens + 3


def _forge(f, edit, name: str = "ids-V10.npz") -> None:
    """Rewrite the cache file ``name`` of ``f`` (the V = 10 token cache) with ``edit(arrays)``
    applied to its arrays."""
    path = corpus.cache_root(f) / name
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    edit(arrays)
    np.savez(path, **arrays)


@pytest.mark.fault("cache")
def test_word_counts_of_another_token_count_are_refused(cache, tmp_path):
    """The one pass checks its token count against the cached word counts' (same key)."""
    f = _txt(tmp_path / "c.txt")
    _load(f)

    def shift(arrays):
        meta = json.loads(str(arrays["meta"]))
        meta["n_raw_tokens"] += 1
        arrays["meta"] = np.array(json.dumps(meta))

    _forge(f, shift, "wordcounts.npz")
    with pytest.raises(CorpusError, match=r"changed since its word counts were cached"):
        _load(f, 20)  # no V = 20 token cache: the word counts are read


@pytest.mark.fault("cache")
def test_legacy_cache_without_key_is_rebuilt(cache, tmp_path):
    f = _txt(tmp_path / "c.txt")
    good = _load(f)

    def drop_key(arrays):
        meta = json.loads(str(arrays["meta"]))
        del meta["key"]
        arrays["meta"] = np.array(json.dumps(meta))
        arrays["ids"] = np.zeros_like(arrays["ids"])  # would be served silently before

    _forge(f, drop_key)
    with pytest.warns(UserWarning, match=r"ids-V10.npz does not belong here: .*older qwemlib"):
        got = _load(f)
    assert _same(got, good)


@pytest.mark.fault("cache")
def test_cache_with_unreadable_meta_is_rebuilt(cache, tmp_path):
    f = _txt(tmp_path / "c.txt")
    good = _load(f)
    _forge(f, lambda arrays: arrays.update(meta=np.array("{not json")))
    with pytest.warns(UserWarning, match="unreadable meta"):
        assert _same(_load(f), good)


@pytest.mark.fault("cache")
def test_forged_cache_with_ids_beyond_V_is_rebuilt(cache, tmp_path):
    f = _txt(tmp_path / "c.txt")
    good = _load(f)
    _forge(f, lambda arrays: arrays.update(ids=arrays["ids"] + 50))
    with pytest.warns(UserWarning, match=r"does not fit V=10 .*ids up to"):
        assert _same(_load(f), good)


@pytest.mark.fault("cache")
def test_truncated_cache_is_rebuilt(cache, tmp_path):
    f = _txt(tmp_path / "c.txt")
    good = _load(f)
    path = corpus.cache_root(f) / "ids-V10.npz"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.warns(UserWarning, match=r"ids-V10.npz is damaged"):
        assert _same(_load(f), good)


@pytest.mark.fault("cache")
def test_word_counts_from_another_filter_are_rejected(cache, tmp_path):
    f = _txt(tmp_path / "c.txt")
    _load(f, min_article_tokens=10)
    src = corpus.cache_root(f, min_article_tokens=10) / "wordcounts.npz"
    dst = corpus.cache_root(f) / "wordcounts.npz"
    dst.parent.mkdir(parents=True)
    shutil.copy(src, dst)
    with pytest.warns(UserWarning, match=r"wordcounts.npz does not belong here: .*min_article_tokens"):
        got = _load(f)
    assert _same(got, _load(f, cache=False))


@pytest.fixture()
def tiny(cache, tmp_path):
    """A preset over a small text corpus: V = 10, window 2."""
    return config.preset("ci", corpus=str(_txt(tmp_path / "t.txt", n=60)), vocab=10, window=2,
                         min_article_tokens=0, max_tokens=None)


@pytest.mark.fault("cache")
@pytest.mark.parametrize("change, what", [
    (dict(vocab=12), "V"), (dict(window=3), "window"), (dict(), "weighting")])
def test_cooccurrence_cache_renamed_across_settings_is_rejected(tiny, change, what):
    corpus_statistics(tiny)
    other = dataclasses.replace(tiny, **change)
    weighting = "uniform" if what == "weighting" else "word2vec"
    os.replace(cooccurrence_cache_path(tiny), cooccurrence_cache_path(other, weighting))
    with pytest.warns(UserWarning, match=rf"co-occurrence cache file .* does not belong here: .*{what}"):
        got = corpus_statistics(other, weighting=weighting)
    fresh = corpus_statistics(other, weighting=weighting, cache=False)
    assert np.array_equal(got.cooc.counts, fresh.cooc.counts)


@pytest.mark.fault("cache")
def test_cooccurrence_cache_of_the_wrong_shape_is_rejected(tiny):
    good = corpus_statistics(tiny)
    path = cooccurrence_cache_path(tiny)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["counts"] = arrays["counts"][:3, :3]
    np.savez(path, **arrays)
    with pytest.warns(UserWarning, match=r"holds counts of shape \(3, 3\), not \(10, 10\)"):
        got = corpus_statistics(tiny)
    assert np.array_equal(got.cooc.counts, good.cooc.counts)


@pytest.mark.fault("cache")
def test_tampered_registered_shard_is_refused_even_with_a_cache(cache, tmp_path, monkeypatch):
    _load(CI, 50, max_tokens=2000)
    shard = data.REGISTRY[data.CORPORA[CI][0]]
    bad = tmp_path / "data" / shard.relpath
    bad.parent.mkdir(parents=True)
    blob = bytearray(data.path(shard.name).read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    bad.write_bytes(bytes(blob))
    monkeypatch.setenv("QWEM_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(data.CorruptDataError, match=rf"(?s){bad}.*sha256"):
        _load(CI, 50, max_tokens=2000)


@pytest.mark.fault("cache")
def test_registered_cache_serves_without_its_shards(cache, tmp_path, monkeypatch):
    good = _load(CI, 50, max_tokens=2000)
    monkeypatch.setattr(data, "search_dirs", lambda: [tmp_path / "nowhere"])
    monkeypatch.setenv("QWEM_OFFLINE", "1")
    assert _same(_load(CI, 50, max_tokens=2000), good)
    with pytest.raises(data.MissingDataError, match=r"train-00000-of-00001.parquet.*QWEM_DATA_DIR"):
        _load(CI, 60, max_tokens=2000)  # not cached: the shard is needed, and the message says where


# --------------------------------------------------------------------------- disk and interrupts


def _full_disk(monkeypatch):
    def savez(fh, **arrays):
        fh.write(b"PK\x03\x04 partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", savez)


@pytest.mark.fault("disk")
def test_full_disk_on_the_token_cache_warns_and_returns(cache, tmp_path, monkeypatch):
    f = _txt(tmp_path / "c.txt")
    fresh = _load(f, cache=False)
    _full_disk(monkeypatch)
    with pytest.warns(UserWarning, match=r"could not write the cache file .*No space left.*QWEM_CACHE_DIR"):
        got = _load(f)
    assert _same(got, fresh)
    assert not (corpus.cache_root(f) / "ids-V10.npz").exists()
    _no_debris(cache)


@pytest.mark.fault("disk")
def test_full_disk_on_the_cooccurrence_cache_warns_and_returns(tiny, monkeypatch):
    fresh = corpus_statistics(tiny, cache=False)
    _full_disk(monkeypatch)
    with pytest.warns(UserWarning, match=r"could not write the cache file") as caught:
        got = corpus_statistics(tiny)
    assert any("cooc-V10-L2-word2vec.npz" in str(w.message) for w in caught)
    assert np.array_equal(got.M, fresh.M)
    assert not cooccurrence_cache_path(tiny).exists()
    _no_debris(cooccurrence_cache_path(tiny).parent.parent)


@pytest.mark.fault("disk")
def test_read_only_cache_folder_warns_and_returns(tmp_path, monkeypatch):
    from test_faults_data import read_only

    f = _txt(tmp_path / "c.txt")
    ro = tmp_path / "ro"
    restore = read_only(ro, monkeypatch)
    monkeypatch.setenv("QWEM_CACHE_DIR", str(ro))
    try:
        with pytest.warns(UserWarning, match=r"could not write the cache file .*Permission denied"):
            got = _load(f)
        assert _same(got, _load(f, cache=False))
        assert not list(ro.rglob("*.npz"))
    finally:
        restore()


@pytest.mark.fault("interrupt")
def test_ctrl_c_while_writing_the_cache_keeps_the_old_files(cache, tmp_path, monkeypatch):
    f = _txt(tmp_path / "c.txt")
    _load(f, 10)
    old = (corpus.cache_root(f) / "ids-V10.npz").read_bytes()
    real = np.savez

    def interrupted(fh, **arrays):
        fh.write(b"PK partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _load(f, 20)
    assert (corpus.cache_root(f) / "ids-V10.npz").read_bytes() == old
    assert not (corpus.cache_root(f) / "ids-V20.npz").exists()
    _no_debris(cache)
    monkeypatch.setattr(np, "savez", real)
    assert _same(_load(f, 20), _load(f, 20, cache=False))


@pytest.mark.fault("interrupt")
def test_ctrl_c_during_tokenizing_leaves_no_token_cache(cache, tmp_path, monkeypatch):
    from qwemlib.corpus import _cache

    f = _txt(tmp_path / "c.txt")

    def stop(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(_cache, "tokenize_articles", stop)
    with pytest.raises(KeyboardInterrupt):
        _load(f)
    assert not (corpus.cache_root(f) / "ids-V10.npz").exists()
    _no_debris(cache)
    monkeypatch.undo()
    monkeypatch.setenv("QWEM_CACHE_DIR", str(cache))
    assert _same(_load(f), _load(f, cache=False))


# --------------------------------------------------------------------------- inputs


@pytest.mark.fault("input")
def test_folder_reads_txt_and_parquet_in_any_case(cache, tmp_path):
    d = tmp_path / "mixed"
    _txt(d / "a.TXT", seed=1)
    _txt(d / "b.Txt", seed=2)
    _parquet(d / "c.PARQUET", _texts(3))
    got = _load(d, cache=False)
    expect = sum(len(corpus.tokenize(t)) for s in (1, 2, 3) for t in _texts(s))
    assert got.n_raw_tokens == expect


@pytest.mark.fault("input")
def test_folder_says_what_it_read_and_skipped(cache, tmp_path):
    d = tmp_path / "mixed"
    _txt(d / "a.txt")
    (d / "notes.md").write_text("# not a corpus\n")
    (d / "._a.txt").write_bytes(b"\x00\x05\x16\x07 mac resource fork")
    (d / "sub").mkdir()
    _txt(d / "sub" / "deep.txt")
    expect = r"reading 1 file\(s\) \(a.txt\); skipped 3 \(\._a.txt, notes.md, sub/\)"
    with pytest.warns(UserWarning, match=expect) as caught:
        got = _load(d)
    assert sum("skipped" in str(w.message) for w in caught) == 1  # said once, not once per pass
    assert got.n_raw_tokens == _load(d / "a.txt", cache=False).n_raw_tokens


@pytest.mark.fault("input")
@pytest.mark.parametrize("files", [[], ["readme.md", "data.csv"]])
def test_folder_without_corpus_files(cache, tmp_path, files):
    d = tmp_path / "empty"
    d.mkdir()
    for n in files:
        (d / n).write_text("x\n")
    with pytest.raises(CorpusError, match=rf"corpus folder {d} holds no corpus files .*put .txt"):
        _load(d)
    assert not cache.exists() or not list(cache.rglob("*.npz"))


@pytest.mark.fault("input")
@pytest.mark.parametrize("option, value, pattern", [
    ("max_tokens", 0, r"max_tokens must be >= 1; got 0 \(use None for no limit\)"),
    ("max_tokens", -5, r"max_tokens must be >= 1; got -5"),
    ("max_tokens", 1.5, r"max_tokens must be a whole number >= 1 or None"),
    ("max_tokens", "100", r"max_tokens must be a whole number"),
    ("max_tokens", True, r"max_tokens must be a whole number"),
    ("min_article_tokens", -1, r"min_article_tokens must be >= 0; got -1"),
    ("min_article_tokens", None, r"min_article_tokens must be a whole number >= 0; got None"),
    ("max_shards", 0, r"max_shards must be >= 1; got 0"),
    ("max_shards", -2, r"max_shards must be >= 1; got -2"),
])
def test_numeric_options_are_checked_first(cache, tmp_path, option, value, pattern):
    import warnings

    d = tmp_path / "folder"
    _txt(d / "c.txt")
    (d / "notes.md").write_text("skipped\n")
    with warnings.catch_warnings(record=True) as caught, pytest.raises(CorpusError, match=pattern):
        warnings.simplefilter("always")
        _load(d, **{option: value})
    assert not caught  # refused before the folder was even listed
    assert not cache.exists()  # nothing computed or written


@pytest.mark.fault("input")
@pytest.mark.parametrize("V", [0, 1, -3, 2.0, None])
def test_vocab_size_is_checked_first(cache, tmp_path, V):
    f = _txt(tmp_path / "c.txt")
    with pytest.raises(CorpusError, match=r"vocab_size must be"):
        _load(f, V)
    assert not cache.exists()


@pytest.mark.fault("input")
def test_registered_corpus_with_bad_max_shards(cache):
    with pytest.raises(CorpusError, match=r"max_shards must be >= 1; got 0"):
        _load(CI, 50, max_shards=0)


@pytest.mark.fault("input")
def test_parquet_without_text_column_names_file_and_column(cache, tmp_path):
    f = tmp_path / "articles.parquet"
    pq.write_table(pa.table({"id": ["1"], "body": ["some words here"]}), f)
    with pytest.raises(CorpusError, match=rf"{f} has no 'text' column \(its columns: \['id', 'body'\]\)"):
        _load(f, 2)


@pytest.mark.fault("input")
def test_parquet_text_column_not_strings(cache, tmp_path):
    f = tmp_path / "nums.parquet"
    pq.write_table(pa.table({"text": [1, 2, 3]}), f)
    with pytest.raises(CorpusError, match=rf"{f}: column 'text' holds int64, not strings"):
        _load(f, 2)


@pytest.mark.fault("input")
@pytest.mark.parametrize("content", [b"just some text, not parquet\n", b"PAR1\x00\x00garbage"])
def test_not_a_parquet_file(cache, tmp_path, content):
    f = tmp_path / "fake.parquet"
    f.write_bytes(content)
    with pytest.raises(CorpusError, match=rf"{f} is not a readable parquet file"):
        _load(f, 2)


@pytest.mark.fault("input")
def test_truncated_parquet_names_the_file(cache, tmp_path):
    f = _parquet(tmp_path / "cut.parquet", _texts(0, 400))
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    with pytest.raises(CorpusError, match=rf"{f} is not a readable parquet file"):
        _load(f, 2)


@pytest.mark.fault("input")
def test_parquet_with_null_texts_counts_them_as_empty(cache, tmp_path):
    f = _parquet(tmp_path / "nulls.parquet", ["wa wb wc", None, "wa wb"])
    got = _load(f, 3, cache=False)
    assert got.n_articles == 2 and got.n_raw_tokens == 5


@pytest.mark.fault("input")
def test_uppercase_parquet_named_directly_is_read_as_parquet(cache, tmp_path):
    f = _parquet(tmp_path / "SHARD.PARQUET", _texts(4))
    assert _load(f, cache=False).n_raw_tokens == sum(len(corpus.tokenize(t)) for t in _texts(4))


@pytest.mark.fault("input")
def test_utf16_text_file_names_file_and_fix(cache, tmp_path):
    f = tmp_path / "utf16.txt"
    f.write_bytes("wa wb wc\n".encode("utf-16"))
    with pytest.raises(CorpusError, match=rf"{f} is not valid UTF-8: line 1.*iconv"):
        _load(f, 2)


@pytest.mark.fault("input")
def test_empty_source_list(cache):
    with pytest.raises(CorpusError, match="empty list"):
        _load([], 2)


@pytest.mark.fault("input")
@pytest.mark.parametrize("bad", [dict(weighting="glove"), dict(window=0)])
def test_pipeline_options_checked_before_any_work(tiny, cache, bad):
    preset = dataclasses.replace(tiny, **{k: v for k, v in bad.items() if k != "weighting"})
    with pytest.raises(ValueError, match="weighting must be one of|window must be a whole number >= 1"):
        corpus_statistics(preset, weighting=bad.get("weighting", "word2vec"))
    assert not cache.exists()  # failed before reading the corpus
