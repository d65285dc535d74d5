"""qwemlib.embeddings.Embeddings against gensim's KeyedVectors (issue 15.1).

The same calls run on our object and on a gensim ``KeyedVectors`` holding the same
vectors, and every answer is compared: lookups, ``most_similar``, ``similarity``,
``evaluate_word_analogies`` and ``evaluate_word_pairs`` on gensim's own test files, and
the word2vec text and binary formats (byte for byte, and each side reading the other's
files and the C tool's). Skipped where gensim is not installed (the ``gensim`` extra).
"""

from __future__ import annotations

import numpy as np
import pytest

gensim = pytest.importorskip("gensim")
from gensim.models import KeyedVectors  # noqa: E402
from gensim.test.utils import datapath  # noqa: E402

from qwemlib.embeddings import Embeddings  # noqa: E402

QUESTIONS = datapath("questions-words.txt")
WORDSIM = datapath("wordsim353.tsv")


def _questions():
    """The file's sections as lists of question tuples, words in the file's own case."""
    sections: dict[str, list[list[str]]] = {}
    name = None
    with open(QUESTIONS, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith(": "):
                name = line[2:].strip()
                sections[name] = []
            elif line.split():
                sections[name].append(line.split())
    return sections


@pytest.fixture(scope="module")
def pair():
    """(ours, gensim's) over the same float32 vectors with planted analogy offsets.

    The words of gensim's questions-words.txt (in its case: ``Athens``) and of its
    wordsim353.tsv; each section's pairs get ``v_b = v_a + o_s + noise`` so that 3CosAdd
    answers some questions right and some wrong; 8 % of the words are dropped (OOV);
    30 lower-cased copies of capitalised words come after their originals, and 10
    upper-cased ones before theirs, to exercise gensim's case folding (first variant wins).
    """
    rng = np.random.default_rng(15)
    sections = _questions()
    words = sorted({w for qs in sections.values() for q in qs for w in q})
    with open(WORDSIM, encoding="utf-8") as fh:
        sim_words = sorted({w for ln in fh if not ln.startswith("#") for w in ln.split("\t")[:2]})
    words += [w for w in sim_words if w not in set(words)]
    d = 24
    vec = {w: rng.standard_normal(d) for w in words}
    for qs in sections.values():
        offset = 1.5 * rng.standard_normal(d)
        for a, b, c, e in qs:
            for x, y in ((a, b), (c, e)):
                vec[y] = vec[x] + offset + 0.7 * rng.standard_normal(d)
    keep = [w for w in words if rng.random() > 0.08]
    rng.shuffle(keep)
    capitalised = [w for w in keep if w[:1].isupper()]
    lower = [w.lower() for w in rng.choice(capitalised, 30, replace=False) if w.lower() not in vec]
    upper = [w.upper() for w in rng.choice(capitalised, 10, replace=False) if w.upper() not in vec]
    for w in lower + upper:
        base = next(k for k in capitalised if k.lower() == w.lower())
        vec[w] = vec[base] + 0.05 * rng.standard_normal(d)
    vocab = upper + keep + lower
    W = np.stack([vec[w] for w in vocab]).astype(np.float32)
    ours = Embeddings(vocab, W)
    kv = KeyedVectors(vector_size=d, count=0, dtype=np.float32)
    kv.add_vectors(vocab, W.copy())
    return ours, kv


def _same_pairs(a, b, atol=1e-5):
    assert [w for w, _ in a] == [w for w, _ in b]
    np.testing.assert_allclose([s for _, s in a], [s for _, s in b], atol=atol)


def test_lookups_match(pair):
    ours, kv = pair
    assert len(ours) == len(kv)
    assert ours.index_to_key == kv.index_to_key
    assert ours.key_to_index == kv.key_to_index
    np.testing.assert_array_equal(ours.vectors, kv.vectors)
    w = ours.index_to_key[7]
    np.testing.assert_array_equal(ours[w], kv[w])
    some = ours.index_to_key[3:9]
    assert ours[some].shape == kv[some].shape == (6, ours.vector_size)
    np.testing.assert_array_equal(ours[some], kv[some])
    for key in (w, 5, np.int64(5)):
        np.testing.assert_array_equal(ours.get_vector(key), kv.get_vector(key))
        np.testing.assert_allclose(ours.get_vector(key, norm=True), kv.get_vector(key, norm=True), rtol=1e-6)
        assert ours.get_index(key) == kv.get_index(key)
        assert (key in ours) == (key in kv)
    for missing in ("no-such-word", len(kv), -1):
        assert (missing in ours) == (missing in kv) is False
        assert ours.get_index(missing, default=-7) == kv.get_index(missing, default=-7) == -7
        with pytest.raises(KeyError):
            kv.get_index(missing)
        with pytest.raises(KeyError):
            ours.get_index(missing)
    np.testing.assert_allclose(ours.get_normed_vectors(), kv.get_normed_vectors(), rtol=1e-6)
    assert ours.vector_size == kv.vector_size


def test_most_similar_and_similarity_match(pair):
    ours, kv = pair
    w = ours.index_to_key
    v = np.asarray(ours.vectors[11], dtype=np.float32) * 3.0  # a raw vector: gensim does not rescale it
    cases = [
        dict(positive=w[0]),
        dict(positive=[w[1], w[2]], negative=[w[3]]),
        dict(negative=w[4]),
        dict(positive=[w[5]], topn=3),
        dict(positive=[w[6], v], negative=[w[7]], topn=12),
        dict(positive=[(w[8], 2.0), w[9]], negative=[(w[10], -0.5)]),
        dict(positive=[w[12]], restrict_vocab=300),
        dict(positive=[w[13], w[14]], negative=[w[15]], topn=5, restrict_vocab=500),
        dict(positive=[20]),
    ]
    for kw in cases:
        _same_pairs(ours.most_similar(**kw), kv.most_similar(**kw))
    np.testing.assert_allclose(ours.most_similar(w[3], topn=None), kv.most_similar(w[3], topn=None),
                               atol=1e-6)
    assert ours.most_similar(w[3], topn=0) == kv.most_similar(w[3], topn=0) == []
    for a, b in [(w[0], w[1]), (w[2], w[2]), (w[30], w[400])]:
        assert ours.similarity(a, b) == pytest.approx(float(kv.similarity(a, b)), abs=1e-6)


def _same_sections(ours, theirs):
    score, sections = ours
    g_score, g_sections = theirs
    assert score == pytest.approx(g_score, abs=1e-12)
    assert [s["section"] for s in sections] == [s["section"] for s in g_sections]
    assert sections[-1]["section"] == "Total accuracy"
    for s, g in zip(sections, g_sections):
        assert set(s) == {"section", "correct", "incorrect"}
        assert s["correct"] == g["correct"], s["section"]
        assert s["incorrect"] == g["incorrect"], s["section"]


@pytest.mark.parametrize("kwargs", [
    {},
    {"restrict_vocab": 600},
    {"case_insensitive": False},
    {"dummy4unknown": True, "restrict_vocab": 900},
])
def test_evaluate_word_analogies_matches(pair, kwargs):
    ours, kv = pair
    result = ours.evaluate_word_analogies(QUESTIONS, **kwargs)
    _same_sections(result, kv.evaluate_word_analogies(QUESTIONS, **kwargs))
    total = result[1][-1]
    n = len(total["correct"]) + len(total["incorrect"])
    assert 0 < len(total["correct"]) < n  # the planted offsets answer some, not all


def test_evaluate_word_analogies_small_file(pair, tmp_path):
    """A hand-made file in gensim's format: a malformed line is skipped, an empty section kept."""
    ours, kv = pair
    w = [x for x in ours.index_to_key if x.islower()][:12]
    text = (f": first\n{w[0]} {w[1]} {w[2]} {w[3]}\n{w[4]} {w[5]} {w[6]}\n{w[7]} {w[8]} {w[9]} nope\n"
            f": empty\n: last\n{w[9]} {w[10]} {w[11]} {w[0]}\n")
    path = tmp_path / "q.txt"
    path.write_text(text, encoding="utf-8")
    _same_sections(ours.evaluate_word_analogies(str(path)), kv.evaluate_word_analogies(str(path)))


@pytest.mark.parametrize("kwargs", [
    {},
    {"restrict_vocab": 700},
    {"case_insensitive": False},
    {"dummy4unknown": True},
])
def test_evaluate_word_pairs_matches(pair, kwargs):
    ours, kv = pair
    pearson, spearman, oov = ours.evaluate_word_pairs(WORDSIM, **kwargs)
    g_pearson, g_spearman, g_oov = kv.evaluate_word_pairs(WORDSIM, **kwargs)
    for mine, theirs in ((pearson, g_pearson), (spearman, g_spearman)):
        stat, p = mine
        assert stat == pytest.approx(theirs[0], abs=1e-6)
        assert p == pytest.approx(theirs[1], rel=1e-4, abs=1e-12)
    assert oov == pytest.approx(g_oov, abs=1e-12)
    assert 0 < oov < 100


def test_evaluate_word_pairs_other_delimiter_and_errors(pair, tmp_path):
    ours, kv = pair
    w = [x for x in ours.index_to_key if x.islower()][:8]
    path = tmp_path / "pairs.csv"
    path.write_text("# a comment\n" + "".join(f"{w[i]},{w[i + 1]},{i * 0.7 % 3}\n" for i in range(7))
                    + "bad,line\nzzz,qqq,1\n", encoding="utf-8")
    mine = ours.evaluate_word_pairs(str(path), delimiter=",")
    theirs = kv.evaluate_word_pairs(str(path), delimiter=",")
    assert mine[0][0] == pytest.approx(theirs[0][0], abs=1e-6)
    assert mine[1][0] == pytest.approx(theirs[1][0], abs=1e-6)
    assert mine[2] == pytest.approx(theirs[2])
    with pytest.raises(ValueError):  # every line invalid with the default tab delimiter
        kv.evaluate_word_pairs(str(path))
    with pytest.raises(ValueError, match="pairs.csv"):
        ours.evaluate_word_pairs(str(path))


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_format_bytes_and_cross_reading(pair, tmp_path, binary):
    ours, kv = pair
    mine, theirs = tmp_path / "ours.w2v", tmp_path / "gensim.w2v"
    ours.save_word2vec_format(str(mine), binary=binary)
    kv.save_word2vec_format(str(theirs), binary=binary)
    assert mine.read_bytes() == theirs.read_bytes()
    back = Embeddings.load_word2vec_format(str(theirs), binary=binary)
    g_back = KeyedVectors.load_word2vec_format(str(mine), binary=binary)
    assert back.index_to_key == g_back.index_to_key == ours.index_to_key
    assert back.vectors.dtype == g_back.vectors.dtype == np.float32
    np.testing.assert_array_equal(back.vectors, g_back.vectors)
    np.testing.assert_array_equal(back.vectors, ours.vectors)
    lim = Embeddings.load_word2vec_format(str(mine), binary=binary, limit=50)
    g_lim = KeyedVectors.load_word2vec_format(str(mine), binary=binary, limit=50)
    assert lim.index_to_key == g_lim.index_to_key and len(lim) == 50
    np.testing.assert_array_equal(lim.vectors, g_lim.vectors)


def test_word2vec_text_float64_bytes(tmp_path):
    rng = np.random.default_rng(3)
    words = ["a", "b", "γάμμα", "d"]
    W = rng.standard_normal((4, 5))
    ours = Embeddings(words, W)
    kv = KeyedVectors(vector_size=5, count=0, dtype=np.float64)
    kv.add_vectors(words, W.copy())
    ours.save_word2vec_format(tmp_path / "a.txt")
    kv.save_word2vec_format(str(tmp_path / "b.txt"))
    assert (tmp_path / "a.txt").read_bytes() == (tmp_path / "b.txt").read_bytes()
    back = Embeddings.load_word2vec_format(tmp_path / "a.txt", datatype=np.float64)
    np.testing.assert_array_equal(back.vectors, W)


@pytest.mark.parametrize("name,binary", [("word2vec_pre_kv_c", False), ("euclidean_vectors.bin", True),
                                         ("high_precision.kv.txt", False), ("high_precision.kv.bin", True)])
def test_reads_gensims_test_files(name, binary):
    """Files of the C tool and of older gensims read the same as gensim reads them."""
    mine = Embeddings.load_word2vec_format(datapath(name), binary=binary)
    theirs = KeyedVectors.load_word2vec_format(datapath(name), binary=binary)
    assert mine.index_to_key == theirs.index_to_key
    np.testing.assert_array_equal(mine.vectors, theirs.vectors)


def test_damaged_word2vec_files(pair, tmp_path):
    ours, _ = pair
    path = tmp_path / "v.bin"
    ours.save_word2vec_format(path, binary=True)
    raw = path.read_bytes()
    (tmp_path / "cut.bin").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="cut.bin"):
        Embeddings.load_word2vec_format(tmp_path / "cut.bin", binary=True)
    (tmp_path / "head.txt").write_bytes(b"three 4\n")
    with pytest.raises(ValueError, match="head.txt"):
        Embeddings.load_word2vec_format(tmp_path / "head.txt")
    (tmp_path / "short.txt").write_bytes(b"2 3\na 1 2 3\nb 1 2\n")
    with pytest.raises(ValueError, match="short.txt, line 3"):
        Embeddings.load_word2vec_format(tmp_path / "short.txt")
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        Embeddings.load_word2vec_format(tmp_path / "nope.txt")
