"""Tests for qwemlib.embeddings (the vectors object), checked against gensim."""

from __future__ import annotations

import numpy as np
import pytest

import qwemlib.evaluate
from qwemlib.embeddings import Embeddings


def test_evaluate_re_exports_the_same_class():
    assert qwemlib.evaluate.Embeddings is Embeddings


def test_embeddings_basics():
    W = np.arange(12, dtype=float).reshape(4, 3)
    emb = Embeddings(["a", "b", "c", "d"], W)
    assert "b" in emb and "z" not in emb and len(emb) == 4
    assert emb.index("c") == 2
    np.testing.assert_array_equal(emb["d"], W[3])
    np.testing.assert_array_equal(emb[["a", "c"]], W[[0, 2]])
    with pytest.raises(KeyError, match="'z'"):
        emb["z"]
    n = emb.normalized()
    np.testing.assert_allclose(np.linalg.norm(n.vectors, axis=1), 1.0)
    with pytest.raises(ValueError, match="twice"):
        Embeddings(["a", "a"], np.ones((2, 2)))
    with pytest.raises(ValueError, match="3 words but 4 vectors"):
        Embeddings(["a", "b", "c"], np.ones((4, 2)))
    with pytest.raises(ValueError, match="not finite"):
        Embeddings(["a", "b"], np.array([[1.0, 0.0], [np.nan, 1.0]]))


def test_most_similar_matches_gensim():
    pytest.importorskip("gensim")
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(200)]
    emb = Embeddings(words, rng.standard_normal((200, 16)))
    kv = emb.to_gensim()
    for pos, neg in [(["w1"], []), (["w2", "w3"], ["w4"]), ([], ["w5"]), (["w6", "w7", "w8"], ["w9", "w10"])]:
        ours = emb.most_similar(positive=pos, negative=neg, topn=7)
        theirs = kv.most_similar(positive=pos, negative=neg, topn=7)
        assert [w for w, _ in ours] == [w for w, _ in theirs]
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-6)
    # restrict_vocab and a single string argument behave as in gensim
    assert [w for w, _ in emb.most_similar("w150", topn=5, restrict_vocab=100)] == [
        w for w, _ in kv.most_similar("w150", topn=5, restrict_vocab=100)
    ]


def test_gensim_round_trip():
    pytest.importorskip("gensim")
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(50)]
    emb = Embeddings(words, rng.standard_normal((50, 8)).astype(np.float32))
    back = Embeddings.from_gensim(emb.to_gensim())
    assert back.words == emb.words
    np.testing.assert_array_equal(back.vectors, emb.vectors)
    assert back.most_similar(["w3", "w4"], ["w5"]) == emb.most_similar(["w3", "w4"], ["w5"])


def test_save_load_round_trip_and_corrupt(tmp_path):
    rng = np.random.default_rng(2)
    emb = Embeddings(["alpha", "beta", "γάμμα"], rng.standard_normal((3, 5)).astype(np.float32))
    path = emb.save(tmp_path / "sub" / "emb.npz")
    assert path == tmp_path / "sub" / "emb.npz"
    assert sorted(p.name for p in path.parent.iterdir()) == ["emb.npz"]  # no temp files left
    back = Embeddings.load(path)
    assert back.words == emb.words
    assert back.vectors.dtype == np.float32
    np.testing.assert_array_equal(back.vectors, emb.vectors)

    raw = path.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="truncated.npz"):
        Embeddings.load(truncated)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="garbage.npz"):
        Embeddings.load(garbage)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.ones(3))
    with pytest.raises(ValueError, match="other.npz"):
        Embeddings.load(other)
    with pytest.raises(FileNotFoundError):
        Embeddings.load(tmp_path / "missing.npz")


def test_folded_index_first_case_variant_wins():
    emb = Embeddings(["Paris", "paris", "the", "THE", "x"], np.eye(5))
    assert emb.folded_index() == {"paris": 0, "the": 2, "x": 4}
    assert emb.folded_index(restrict_vocab=3) == {"paris": 0, "the": 2}
    assert emb.folded_index(restrict_vocab=99) == emb.folded_index()


def test_save_is_atomic(tmp_path, monkeypatch):
    """A write that fails half-way leaves the old file in place and no temporary file."""
    path = Embeddings(["a", "b"], np.eye(2)).save(tmp_path / "emb.npz")
    before = path.read_bytes()

    def broken_savez(fh, **arrays):
        fh.write(b"half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        Embeddings(["c", "d"], np.ones((2, 2))).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["emb.npz"]


def test_word2vec_formats_round_trip_without_gensim(tmp_path):
    """Text and binary word2vec files round-trip; a C-tool binary (newline after each vector) reads."""
    rng = np.random.default_rng(4)
    emb = Embeddings(["the", "γάμμα", "x"], rng.standard_normal((3, 4)).astype(np.float32))
    for binary in (False, True):
        path = emb.save_word2vec_format(tmp_path / f"v{binary}.w2v", binary=binary)
        back = Embeddings.load_word2vec_format(path, binary=binary)
        assert back.words == emb.words and back.vectors.dtype == np.float32
        np.testing.assert_array_equal(back.vectors, emb.vectors)
    rows = zip(emb.words, emb.vectors)
    c_tool = b"3 4\n" + b"".join(w.encode() + b" " + v.tobytes() + b"\n" for w, v in rows)
    (tmp_path / "c.bin").write_bytes(c_tool)
    back = Embeddings.load_word2vec_format(tmp_path / "c.bin", binary=True)
    assert back.words == emb.words
    np.testing.assert_array_equal(back.vectors, emb.vectors)
    assert (tmp_path / "vFalse.w2v").read_text(encoding="utf-8").splitlines()[0] == "3 4"
    with pytest.raises(ValueError, match="whitespace"):
        Embeddings(["a b"], np.ones((1, 2))).save_word2vec_format(tmp_path / "bad.txt")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []
    with pytest.warns(UserWarning, match="repeated"):
        dup = Embeddings.load_word2vec_format(_write_bytes(tmp_path / "d.txt", b"2 1\na 1\na 2\n"))
    assert dup.words == ("a",) and dup.vectors[0, 0] == 1.0


def _write_bytes(path, data: bytes):
    path.write_bytes(data)
    return path


def test_gensim_names_without_gensim():
    emb = Embeddings(["a", "b", "c"], np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]]))
    assert emb.get_index("b") == 1 and emb.get_index(2) == 2 and emb.get_index("z", default=-1) == -1
    assert 2 in emb and 3 not in emb and "z" not in emb
    np.testing.assert_allclose(emb.get_vector("b", norm=True), [0.0, 1.0])
    assert not emb.get_vector("a").flags.writeable
    np.testing.assert_allclose(np.linalg.norm(emb.get_normed_vectors(), axis=1), 1.0)
    # a raw vector enters as given (gensim), not rescaled: 10 * e_1 outweighs the unit "b"
    assert emb.most_similar([np.array([10.0, 0.0]), "b"], topn=1)[0][0] == "a"
    assert emb.most_similar("a", topn=0) == []
