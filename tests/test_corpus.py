"""Tests for qwemlib.corpus: tokenizer, vocabulary, OOV deletion, caching, bad input."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qwemlib import corpus
from qwemlib.corpus import CorpusError, load_corpus, tokenize


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Hello, World!", ["hello", "world"]),
        ("don't", ["don", "t"]),
        ("Café naïve façade", ["caf", "na", "ve", "fa", "ade"]),
        ("ÉCOLE", ["cole"]),
        ("route 66 in 1926", ["route", "in"]),
        ("", []),
        ("   \n\t ", []),
        ("12345 !!! ---", []),
        ("well-known e.g. U.S.A.", ["well", "known", "e", "g", "u", "s", "a"]),
        ("Straße ΑΘΗΝΑ 東京", ["stra", "e"]),
        ("tab\tseparated\nlines", ["tab", "separated", "lines"]),
    ],
)
def test_tokenizer_tricky_text(text, expected):
    assert tokenize(text) == expected


def test_tokenizer_matches_regex_definition():
    import re

    rng = np.random.default_rng(0)
    alphabet = list("abcXYZ019 ,.'-éÉßü\n\t") + ["東", "Ω"]
    for _ in range(200):
        s = "".join(rng.choice(alphabet, size=rng.integers(0, 40)))
        assert tokenize(s) == re.sub(r"[^a-z]+", " ", s.lower()).split()


def _write_parquet(path, texts):
    pq.write_table(pa.table({"id": [str(i) for i in range(len(texts))], "url": [""] * len(texts),
                             "title": [""] * len(texts), "text": texts}), path)


def test_small_corpus_vocab_oov_and_offsets(tmp_path):
    texts = ["b a b c", "", "a a zz b", "c"]
    f = tmp_path / "t.parquet"
    _write_parquet(f, texts)
    c = load_corpus(f, 3, cache=False, progress=False)
    assert c.vocab.words == ("a", "b", "c")  # a: 3, b: 3 (tie -> alphabetical), c: 2
    assert c.vocab.counts.tolist() == [3, 3, 2]
    assert c.words() == ["b", "a", "b", "c", "a", "a", "b", "c"]  # 'zz' deleted
    assert c.article_offsets.tolist() == [0, 4, 7, 8]  # the empty article is dropped
    assert c.n_raw_tokens == 9


@pytest.mark.parametrize("chunk", [7, 20_000])
def test_one_pass_encodes_as_the_two_passes_did(tmp_path, monkeypatch, chunk):
    """load_corpus's single pass (tokenize_articles + encode_with_vocabulary) gives the ids and
    offsets of the separate counting and encoding passes, including articles emptied by OOV
    (mapped a few articles at a time, or all at once)."""
    from qwemlib.corpus import _sources

    monkeypatch.setattr(_sources, "_ARTICLES_PER_CHUNK", chunk)
    rng = np.random.default_rng(3)
    words = [chr(97 + i // 26) + chr(97 + i % 26) for i in range(60)]
    p = 1.0 / np.arange(1, 61)
    texts = [" ".join(rng.choice(words, size=rng.integers(1, 12), p=p / p.sum())) for _ in range(80)]
    texts += [f"{words[59]} {words[58]}", words[57]]  # rare words only: empty at V = 10
    f = tmp_path / "t.parquet"
    _write_parquet(f, texts)
    for kw in ({}, {"min_article_tokens": 4}, {"max_tokens": 200}):
        c = load_corpus(f, 10, cache=False, progress=False, **kw)
        counts, n_raw, _ = corpus.count_words(f, progress=False, **kw)
        vocab = corpus.build_vocabulary({w.decode(): n for w, n in counts.items()}, 10, n_raw)
        ids, off, n_raw2 = corpus.encode_articles(f, vocab, progress=False, **kw)
        assert c.vocab.words == vocab.words and c.n_raw_tokens == n_raw == n_raw2
        assert np.array_equal(c.ids, ids) and c.ids.dtype == ids.dtype
        assert np.array_equal(c.article_offsets, off)
    seen, counts1, raw, off1, n = corpus.tokenize_articles(f, progress=False)
    assert n == raw.size == off1[-1] and counts1.sum() == n and len(seen) == counts1.size
    assert {w.decode(): int(counts1[i]) for w, i in seen.items()} == {
        w.decode(): k for w, k in corpus.count_words(f, progress=False)[0].items()}


def test_vocabulary_from_another_corpus_is_refused(tmp_path):
    f = tmp_path / "t.parquet"
    _write_parquet(f, ["a b a", "b c"])
    seen, _, raw, off, n = corpus.tokenize_articles(f, progress=False)
    other = corpus.build_vocabulary({"a": 5, "q": 4}, 2, 9)
    with pytest.raises(CorpusError, match=r"'q' does not occur.*clear the corpus cache"):
        corpus.encode_with_vocabulary(seen, raw, off, other)


def test_min_article_tokens_and_max_tokens(tmp_path):
    f = tmp_path / "t.parquet"
    _write_parquet(f, ["a b", "a b c d e", "c d e f g h", "a a a a a a"])
    c = load_corpus(f, 3, min_article_tokens=5, cache=False, progress=False)
    assert c.n_articles == 3 and c.n_raw_tokens == 17
    c2 = load_corpus(f, 3, max_tokens=6, cache=False, progress=False)
    assert c2.n_raw_tokens == 7  # stops after the article that reaches 6 tokens


def test_text_file_source_and_split(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text("one two three\n\nthree two\nthree\n", encoding="utf-8")
    c = load_corpus(f, 3, cache=False, progress=False)
    assert c.n_articles == 3
    parts = c.split(2)
    assert sum(p[0].size for p in parts) == c.n_tokens
    assert all(p[1][0] == 0 and p[1][-1] == p[0].size for p in parts)


def test_empty_corpus_is_a_clear_error(tmp_path):
    f = tmp_path / "empty.txt"
    f.write_text("123 456\n!!!\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="no tokens"):
        load_corpus(f, 2, cache=False, progress=False)


def test_non_utf8_corpus_names_file_and_line(tmp_path):
    f = tmp_path / "latin1.txt"
    f.write_bytes("caf\u00e9 ok\n".encode("utf-8") + "na\u00efve\n".encode("latin-1"))
    with pytest.raises(CorpusError, match=r"latin1.txt is not valid UTF-8: line 2"):
        load_corpus(f, 2, cache=False, progress=False)


def test_vocab_larger_than_corpus_vocabulary(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text("a b c a\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="larger than the corpus's 3 distinct words"):
        load_corpus(f, 10, cache=False, progress=False)


def test_missing_source():
    with pytest.raises(CorpusError, match="neither a registered corpus"):
        load_corpus("/no/such/file.parquet", 10, cache=False)


def test_ci_corpus_and_cache_roundtrip(tmp_path, monkeypatch):
    monkeypatch.setenv("QWEM_CACHE_DIR", str(tmp_path))
    c = load_corpus("wikipedia/20150523.en-ci", 2000, progress=False)
    assert c.n_articles == 229 and c.n_raw_tokens > 700_000
    assert c.vocab.words[:3] == ("the", "of", "and")
    assert c.ids.dtype == np.uint16 and c.ids.max() < 2000
    c2 = load_corpus("wikipedia/20150523.en-ci", 2000, progress=False)  # from cache
    assert np.array_equal(c.ids, c2.ids) and c.vocab.words == c2.vocab.words
    # Damage the cache: a warning, then a rebuild with the same result.
    files = list(tmp_path.rglob("ids-V2000.npz"))
    assert len(files) == 1
    files[0].write_bytes(b"not a zip file")
    with pytest.warns(UserWarning, match="damaged"):
        c3 = load_corpus("wikipedia/20150523.en-ci", 2000, progress=False)
    assert np.array_equal(c.ids, c3.ids)


def test_remote_corpus_without_network_is_a_clear_error(monkeypatch):
    import datasets

    def boom(*a, **k):
        raise ConnectionError("Couldn't reach 'wikimedia/wikipedia' on the Hub")

    monkeypatch.setattr(datasets, "load_dataset", boom)
    monkeypatch.setenv("QWEM_OFFLINE", "0")  # online, but the Hub is unreachable
    with pytest.raises(CorpusError, match="local sample"):
        next(corpus.iter_articles("wikimedia/wikipedia:20231101.en"))


def test_hub_preset_streams_with_datasets(monkeypatch, tmp_path):
    """The ``hub`` preset's pipeline, offline: ``datasets.load_dataset`` is pointed at the
    local 2015 slice (same ``wikimedia/wikipedia`` parquet schema) in streaming mode, so
    the filter (articles of >= 500 tokens) and the token budget run on a real stream."""
    import datasets

    from qwemlib import config, data

    shard = data.path("wikipedia/20150523.en-ci/train-00000-of-00001.parquet")
    real = datasets.load_dataset
    calls = []

    def hub(name, cfg=None, *, split=None, streaming=False, **kw):
        calls.append((name, cfg, split, streaming))
        return real("parquet", data_files=[str(shard)], split="train", streaming=True)

    monkeypatch.setattr(datasets, "load_dataset", hub)
    monkeypatch.setenv("QWEM_OFFLINE", "0")
    monkeypatch.setenv("QWEM_CACHE_DIR", str(tmp_path))
    p = config.preset("hub")
    c = load_corpus(p.corpus, p.vocab, min_article_tokens=p.min_article_tokens,
                    max_tokens=p.max_tokens, progress=False)
    assert calls == [("wikimedia/wikipedia", "20231101.en", "train", True)] * len(calls) and calls
    lengths = [len(tokenize(a)) for a in corpus.iter_articles(str(shard))]
    kept = [n for n in lengths if n >= 500]
    assert c.n_articles <= len(kept) and c.n_articles >= 1
    # the budget stops after the article that crosses it
    assert sum(kept[: c.n_articles - 1]) < p.max_tokens
    assert c.n_articles == len(kept) or sum(kept[: c.n_articles]) >= p.max_tokens
    assert len(c.vocab) == p.vocab


def test_package_exports_its_public_names():
    for name in corpus.__all__:
        assert getattr(corpus, name) is not None
    assert corpus.cache_root("wikipedia/20150523.en-ci").parent.name == "corpus"


def test_cache_key_is_content(tmp_path, monkeypatch):
    """Two copies of one file share a key; a registered corpus is keyed by its checksums."""
    monkeypatch.setenv("QWEM_CACHE_DIR", str(tmp_path / "cache"))
    a = tmp_path / "a.txt"
    a.write_text("one two three\n", encoding="utf-8")
    b = tmp_path / "sub" / "b.txt"
    b.parent.mkdir()
    b.write_bytes(a.read_bytes())
    assert corpus.cache_key(a) == corpus.cache_key(b) == corpus.cache_key(tmp_path / "sub")
    assert corpus.cache_key(a)["source"]["files"][0]["format"] == "text"
    reg = corpus.cache_key("wikipedia/20150523.en-ci", max_tokens=1000)
    assert reg["source"]["files"][0]["sha256"] == data_sha("wikipedia/20150523.en-ci")
    assert reg["max_tokens"] == 1000 and reg["tokenizer"] == corpus.TOKENIZER_VERSION
    c = load_corpus(a, 3, progress=False)
    meta = np.load(corpus.cache_root(a) / "ids-V3.npz")["meta"]
    import json

    assert json.loads(str(meta))["key"] == {**corpus.cache_key(a), "V": 3}
    assert c.n_raw_tokens == 3


def data_sha(name):
    from qwemlib import data

    return data.REGISTRY[data.CORPORA[name][0]].sha256
