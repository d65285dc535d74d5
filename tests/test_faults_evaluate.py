"""Fault injection for the evaluation layer (issue 14.5 and 14.7): readers, benchmarks, save/load.

Every malformed file of every reader format (the Google analogies, MEN, WordSim353's
``combined.csv`` and gensim's ``wordsim353.tsv``, SimLex-999), bad embeddings handed
to the benchmark functions, and broken ``.npz`` files and failed writes for
:meth:`Embeddings.save`/:meth:`Embeddings.load`. Each case asserts the exception type,
that the message names the input (the file and line, the word, the array) and says
what to do, and that nothing was changed or left half-written (the input file keeps its
bytes; a failed save leaves the old file and no ``*.tmp``).

The inputs that are handled well (a byte-order mark, CRLF line ends, a first line that
is data) are cases too, so that they stay handled.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import numpy as np
import pytest
from faults import FullDisk

import qwemlib._io as qio
from qwemlib.evaluate import (
    AnalogySection,
    Embeddings,
    benchmark_table,
    evaluate_analogies,
    evaluate_similarity,
    read_analogies,
    read_similarity,
)

BOM = b"\xef\xbb\xbf"
ANALOGIES = ": capital\nathens greece baghdad iraq\nparis france rome italy\n"
MEN = "sun sunlight 50.000000\nautomobile car 50.000000\nriver water 49.000000\n"
WS_CSV = "Word 1,Word 2,Human (mean)\nlove,sex,6.77\ntiger,cat,7.35\n"
WS_TSV = "# The WordSimilarity-353 Test Collection\n# Word 1\tWord 2\tHuman (mean)\nlove\tsex\t6.77\n"
SIMLEX = ("word1\tword2\tPOS\tSimLex999\tconc(w1)\tconc(w2)\tconcQ\tAssoc(USF)\tSimAssoc333\tSD(SimLex)\n"
          "old\tnew\tA\t1.58\t2.72\t2.81\t2\t7.25\t1\t0.41\n"
          "smart\tintelligent\tA\t9.2\t1.75\t2.46\t1\t7.11\t1\t0.67\n")


def _file(tmp_path: Path, name: str, content: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return p


def _raises(exc, call, path: Path | None, names: str, todo: str) -> str:
    """Run ``call``; check the type, that the message names ``names`` and says ``todo``,
    and that the file it read still has its bytes."""
    before = path.read_bytes() if path is not None and path.is_file() else None
    with pytest.raises(exc) as info:
        call()
    msg = str(info.value)
    assert re.search(names, msg), f"message does not name the input: {msg!r}"
    assert re.search(todo, msg), f"message does not say what to do: {msg!r}"
    if before is not None:
        assert path.read_bytes() == before
    return msg


# ---------------------------------------------------------------------------
# readers: malformed files of every format

READER_CASES = {
    # id: (reader, file name, content, regex naming the input, regex saying what to do)
    "analogies-latin1": (read_analogies, "q.txt", ": capital\nbogotá colombia lima peru\n".encode("latin-1"),
                         r"q\.txt, line 2 \(byte offset 15\): not valid UTF-8", r"iconv -f latin1 -t utf-8"),
    "analogies-utf16": (read_analogies, "q.txt", ANALOGIES.encode("utf-16"),
                        r"q\.txt is UTF-16", r"re-encode it as UTF-8"),
    "analogies-question-first": (read_analogies, "q.txt", "athens greece baghdad iraq\n: capital\n",
                                 r"q\.txt, line 1: a question before any section",
                                 r"start the file with a line ': section-name'"),
    "analogies-three-words": (read_analogies, "q.txt", ": capital\nathens greece baghdad\n",
                              r"q\.txt, line 2: expected four words .* got 3", r"'a b c d'"),
    "analogies-five-words": (read_analogies, "q.txt", ": capital\nathens greece baghdad iraq x\n",
                             r"q\.txt, line 2: expected four words .* got 5", r"'a b c d'"),
    "analogies-unnamed-section": (read_analogies, "q.txt", ": \nathens greece baghdad iraq\n",
                                  r"q\.txt, line 1: a section line ':' without a name", r"without a name"),
    "analogies-empty": (read_analogies, "q.txt", "", r"q\.txt: no analogy questions",
                        r"questions-words\.txt format"),
    "analogies-sections-only": (read_analogies, "q.txt", ": capital\n: family\n",
                                r"q\.txt: no analogy questions in the file \(2 sections\)",
                                r"lines 'a b c d'"),
    "analogies-binary": (read_analogies, "q.txt", b"PK\x03\x04\x14\x00\x00\x00\x08\x00\xff\xfe",
                         r"q\.txt, line 1 .*not valid UTF-8", r"re-encode"),
    "men-latin1-line3": (read_similarity, "men.txt", (MEN + "café tea 3\n").encode("latin-1"),
                         r"men\.txt, line 4 \(byte offset \d+\): not valid UTF-8 \(b'\\xe9", r"iconv"),
    "men-cut-multibyte": (read_similarity, "men.txt", MEN.encode() + "caf\u00e9".encode()[:-1],
                          r"men\.txt, line 4 .*not valid UTF-8", r"re-encode the file as UTF-8"),
    "men-two-fields": (read_similarity, "men.txt", MEN + "river 40\n",
                       r"men\.txt, line 4: expected 3 fields \(word1, word2, score\), got 2",
                       r"fix or remove"),
    "men-four-fields": (read_similarity, "men.txt", MEN + "river sea 40 x\n",
                        r"men\.txt, line 4: expected 3 fields .*got 4", r"fix or remove the line"),
    "men-bad-score": (read_similarity, "men.txt", MEN + "car auto high\n",
                      r"men\.txt, line 4: the score 'high' is not a number", r"fix or remove the line"),
    "men-nan-score": (read_similarity, "men.txt", MEN + "car auto nan\n",
                      r"men\.txt, line 4: the score 'nan' is not finite", r"fix or remove"),
    "men-inf-score": (read_similarity, "men.txt", "car auto inf\n" + MEN,
                      r"men\.txt, line 1: the score 'inf' is not finite", r"fix or remove"),
    "men-first-line-no-number": (read_similarity, "men.txt", "sun sunlight fifty\n" + MEN,
                                 r"men\.txt, line 1: the first line 'sun sunlight fifty' has no number",
                                 r"name its columns .* or start it with '#'"),
    "men-empty": (read_similarity, "men.txt", "", r"men\.txt: no word pairs",
                  r"one 'word1 word2 score' line"),
    "men-comments-only": (read_similarity, "men.txt", "# nothing\n# here\n",
                          r"men\.txt: no word pairs .*all comments", r"pass a file"),
    "ws353-csv-short-row": (read_similarity, "combined.csv", WS_CSV + "money,cash\n",
                            r"combined\.csv, line 4: expected 3 fields", r"fix or remove"),
    "ws353-csv-bad-score": (read_similarity, "combined.csv", WS_CSV + "money,cash,9,15\n",
                            r"combined\.csv, line 4: expected 3 fields .*got 4", r"fix or remove"),
    "ws353-csv-header-only": (read_similarity, "combined.csv", "Word 1,Word 2,Human (mean)\n",
                              r"combined\.csv: a header but no word pairs", r"add one line per pair"),
    "ws353-tsv-latin1": (read_similarity, "wordsim353.tsv", (WS_TSV + "café\ttea\t3\n").encode("latin-1"),
                         r"wordsim353\.tsv, line 4 .*not valid UTF-8", r"iconv"),
    "ws353-tsv-empty-word": (read_similarity, "wordsim353.tsv", WS_TSV + "\tcat\t7.35\n",
                             r"wordsim353\.tsv, line 4: an empty word", r"fix or remove"),
    "simlex-short-row": (read_similarity, "SimLex-999.txt", SIMLEX + "hard\tdifficult\tA\n",
                         r"SimLex-999\.txt, line 4: expected 10 fields .*got 3", r"fix or remove"),
    "simlex-bad-score": (read_similarity, "SimLex-999.txt",
                         SIMLEX + "hard\tdifficult\tA\tn/a\t1\t1\t1\t1\t1\t1\n",
                         r"SimLex-999\.txt, line 4: the score 'n/a'", r"fix or remove the line"),
    "simlex-without-header": (read_similarity, "SimLex-999.txt", SIMLEX.split("\n", 1)[1],
                              r"SimLex-999\.txt, line 1: expected 3 fields .*got 10", r"fix or remove"),
    "simlex-utf16": (read_similarity, "SimLex-999.txt", SIMLEX.encode("utf-16-le").join([b"\xff\xfe", b""]),
                     r"SimLex-999\.txt is UTF-16 \(little-endian\)", r"iconv -f utf-16"),
}


@pytest.mark.fault("input")
@pytest.mark.parametrize("case", list(READER_CASES), ids=list(READER_CASES))
def test_malformed_file_names_file_line_and_fix(tmp_path, case):
    reader, name, content, names, todo = READER_CASES[case]
    path = _file(tmp_path, name, content)
    msg = _raises(ValueError, lambda: reader(path), path, names, todo)
    assert str(path) in msg


@pytest.mark.fault("input")
@pytest.mark.parametrize("reader", [read_analogies, read_similarity])
@pytest.mark.parametrize("where", ["missing", "folder"])
def test_missing_file_or_folder_names_the_path(tmp_path, reader, where):
    path = tmp_path / "nope.txt" if where == "missing" else tmp_path
    _raises(FileNotFoundError, lambda: reader(path), None, re.escape(str(path)),
            r"pass a path or one of the registry names google-analogies")


# ---------------------------------------------------------------------------
# readers: inputs that are handled well (they must stay so)


@pytest.mark.fault("input")
@pytest.mark.parametrize("reader, content, first", [
    (read_analogies, ANALOGIES, ("athens", "greece", "baghdad", "iraq")),
    (read_similarity, MEN, ("sun", "sunlight", 50.0)),
    (read_similarity, WS_CSV, ("love", "sex", 6.77)),
    (read_similarity, WS_TSV, ("love", "sex", 6.77)),
    (read_similarity, SIMLEX, ("old", "new", 1.58)),
], ids=["analogies", "men", "ws353-csv", "ws353-tsv", "simlex"])
@pytest.mark.parametrize("variant", ["bom", "crlf", "bom-crlf"])
def test_bom_and_crlf_are_read_like_the_plain_file(tmp_path, reader, content, first, variant):
    """A UTF-8 byte-order mark (Excel, Notepad) and CRLF line ends change nothing."""
    raw = content.encode()
    if "crlf" in variant:
        raw = raw.replace(b"\n", b"\r\n")
    if "bom" in variant:
        raw = BOM + raw
    got = reader(_file(tmp_path, "f.txt", raw))
    want = reader(_file(tmp_path, "plain.txt", content))
    assert got == want
    item = got[0].questions[0] if reader is read_analogies else got[0]
    assert item == first
    if reader is read_analogies:
        assert got[0].name == "capital"


@pytest.mark.fault("input")
@pytest.mark.parametrize("content", [
    MEN, MEN.replace(" ", "\t"), MEN.replace(" ", ","), "love,sex,6.77\ntiger,cat,7.35\n",
    "# comment\nsun sunlight 50\nriver water 49\n",
], ids=["men", "tsv", "csv", "ws353-without-header", "comment-then-data"])
def test_first_line_that_is_data_is_kept(tmp_path, content):
    """Issue 14.5: a header is detected by content, never by position."""
    rows = read_similarity(_file(tmp_path, "s.txt", content))
    data = [ln for ln in content.splitlines() if ln and not ln.startswith("#")]
    assert len(rows) == len(data)
    assert rows[0][0] == re.split(r"[ ,\t]", data[0])[0]


@pytest.mark.fault("input")
@pytest.mark.parametrize("header", ["word1 word2 score", "Word 1,Word 2,Human (mean)", "w1\tw2\tsimilarity"])
def test_named_headers_are_skipped(tmp_path, header):
    sep = "," if "," in header else "\t" if "\t" in header else " "
    rows = read_similarity(_file(tmp_path, "s.txt", f"{header}\nsun{sep}sunlight{sep}50\n"))
    assert rows == [("sun", "sunlight", 50.0)]


# ---------------------------------------------------------------------------
# embeddings handed to the benchmark functions

RNG = np.random.default_rng(14)
WORDS = ["sun", "sunlight", "automobile", "car", "river", "water", "athens", "greece", "baghdad", "iraq"]


def _emb(words=WORDS, d=4) -> Embeddings:
    return Embeddings(words, RNG.standard_normal((len(words), d)))


SECTIONS = [AnalogySection("capital", (("athens", "greece", "baghdad", "iraq"),))]

EMB_CASES = {
    "duplicate-word": (lambda: Embeddings(["sun", "car", "sun"], np.ones((3, 2))),
                       r"the word 'sun' occurs twice \(rows 0 and 2\)", r"make the words unique"),
    "nan-vector": (lambda: Embeddings(["sun", "car"], np.array([[1.0, 0.0], [np.nan, 1.0]])),
                   r"the vector of 'car' \(row 1\) is not finite", r"diverged"),
    "inf-vector": (lambda: Embeddings(["sun", "car"], np.array([[np.inf, 0.0], [0.0, 1.0]])),
                   r"the vector of 'sun' \(row 0\) is not finite", r"diverged"),
    "words-vs-rows": (lambda: Embeddings(["sun", "car"], np.ones((3, 2))),
                      r"2 words but 3 vectors", r"pass one word per row of the \(V, d\) array"),
    "vectors-1d": (lambda: Embeddings(["sun"], np.ones(3)),
                   r"vectors must have shape \(V, d\); got shape \(3,\)", r"must have shape"),
    "empty-vocab-similarity": (lambda: evaluate_similarity(Embeddings([], np.zeros((0, 4))),
                                                           [("a", "b", 1.0)]),
                               r"emb has no words \(shape \(0, 4\)\)", r"at least one word"),
    "zero-dims-similarity": (lambda: evaluate_similarity(Embeddings(["a", "b"], np.zeros((2, 0))),
                                                         [("a", "b", 1.0)]),
                             r"emb has no dimensions \(shape \(2, 0\)\)", r"d >= 1"),
    "path-instead-of-embeddings": (lambda: evaluate_similarity("vectors.npz", [("a", "b", 1.0)]),
                                   r"emb must be a qwemlib Embeddings object; got str", r"Embeddings.load"),
    "array-instead-of-embeddings": (lambda: benchmark_table({"QWEM": np.ones((3, 2))}, analogies=None,
                                                            similarity=()),
                                    r"QWEM.*got ndarray", r"Embeddings\(words, W\)"),
    "empty-vocab-table": (lambda: benchmark_table({"SGNS": Embeddings([], np.zeros((0, 3)))}, analogies=None,
                                                  similarity=()),
                          r"SGNS.*has no words", r"at least one word"),
    "empty-vocab-analogies": (lambda: evaluate_analogies(Embeddings([], np.zeros((0, 4))), SECTIONS),
                              r"emb has no words", r"at least one word"),
    "restrict-vocab-negative": (lambda: evaluate_analogies(_emb(), SECTIONS, restrict_vocab=-1),
                                r"restrict_vocab = -1", r"must be >= 1"),
    "restrict-vocab-zero-similarity": (lambda: evaluate_similarity(_emb(), [("sun", "car", 1.0)],
                                                                   restrict_vocab=0),
                                       r"restrict_vocab = 0", r"must be >= 1"),
    "unknown-protocol": (lambda: evaluate_analogies(_emb(), SECTIONS, protocol="3cosmul"),
                         r"protocol must be 'original' or 'pairs', got '3cosmul'", r"must be"),
    "unknown-score": (lambda: evaluate_similarity(_emb(), [("sun", "car", 1.0)], score="euclid"),
                      r"score must be 'cosine' or 'dot', got 'euclid'", r"must be"),
    "unknown-word": (lambda: _emb()["moon"], r"word 'moon' is not in the vocabulary \(10 words\)",
                     r"not in the vocabulary"),
}


@pytest.mark.fault("input")
@pytest.mark.parametrize("case", list(EMB_CASES), ids=list(EMB_CASES))
def test_bad_embeddings_are_clear_errors(case):
    call, names, todo = EMB_CASES[case]
    exc = TypeError if "instead-of" in case else KeyError if case == "unknown-word" else ValueError
    _raises(exc, call, None, names, todo)


@pytest.mark.fault("input")
def test_no_covered_pair_reports_nan_and_zero_coverage_not_a_number(tmp_path):
    """Nothing in the vocabulary: the benchmark says covered = 0 and gives no number."""
    path = _file(tmp_path, "men.txt", "moon star 3\nsea lake 4\n")
    r = evaluate_similarity(_emb(), path)
    assert (r.covered, r.total, r.oov) == (0, 2, 2) and np.isnan(r.spearman)
    a = evaluate_analogies(_emb(), _file(tmp_path, "q.txt", ": s\nmoon star sea lake\n"))
    assert (a.covered, a.total) == (0, 1) and np.isnan(a.accuracy)


# ---------------------------------------------------------------------------
# embeddings save/load: broken files and failed writes


def _saved(tmp_path) -> tuple[Path, Embeddings]:
    emb = _emb()
    return emb.save(tmp_path / "emb.npz"), emb


def _no_tmp(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


LOAD_CASES = {  # id: (how the file is broken, what the message must say)
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
                  r"not a readable qwemlib embeddings file .*truncated or corrupt"),
    "truncated-header": (lambda p: p.write_bytes(p.read_bytes()[:3]), r"not an \.npz archive"),
    "empty-file": (lambda p: p.write_bytes(b""), r"not an \.npz archive"),
    "text-file": (lambda p: p.write_text("sun 0.1 0.2\ncar 0.3 0.4\n"),
                  r"not an \.npz archive.*load_word2vec_format"),
    "foreign-npz": (lambda p: np.savez(p, W=np.ones((3, 2))), r"an \.npz archive of \['W'\], not qwemlib"),
    "wrong-keys": (lambda p: np.savez(p, format=np.array("x"), vocab=np.array(["a"]), W=np.ones((1, 2))),
                   r"archive of \['W', 'format', 'vocab'\]"),
    "object-arrays": (lambda p: np.savez(p, format=np.array("x"), words=np.array([{"a": 1}], dtype=object),
                                         vectors=np.ones((1, 2))), r"not a readable qwemlib embeddings file"),
}


@pytest.mark.fault("input")
@pytest.mark.parametrize("case", list(LOAD_CASES), ids=list(LOAD_CASES))
def test_broken_embeddings_file_names_it_and_says_recreate(tmp_path, case):
    path, _ = _saved(tmp_path)
    breaks, says = LOAD_CASES[case]
    breaks(path)
    msg = _raises(ValueError, lambda: Embeddings.load(path), path, re.escape(str(path)), r"Embeddings\.save")
    assert re.search(says, msg), msg
    assert "unsafely" not in msg  # never advise loading untrusted pickles


@pytest.mark.fault("input")
def test_inconsistent_archive_names_the_file(tmp_path):
    path, emb = _saved(tmp_path)
    with np.load(path) as z:
        arrays = dict(z)
    np.savez(path, **{**arrays, "words": arrays["words"][:-1]})
    _raises(ValueError, lambda: Embeddings.load(path), path,
            re.escape(str(path)) + r": Embeddings: 9 words but 10 vectors", r"pass one word per row")


@pytest.mark.fault("input")
def test_unknown_format_version_names_it(tmp_path):
    path = tmp_path / "emb.npz"
    np.savez(path, format=np.array("qwemlib-embeddings-v9"), words=np.array(["a"]), vectors=np.ones((1, 2)))
    _raises(ValueError, lambda: Embeddings.load(path), path,
            r"emb\.npz: unknown embeddings format 'qwemlib-embeddings-v9'",
            r"re-create it with this version's Embeddings\.save")


@pytest.mark.fault("input")
@pytest.mark.parametrize("where", ["missing", "folder"])
def test_load_missing_file_names_it(tmp_path, where):
    path = tmp_path / "none.npz" if where == "missing" else tmp_path
    _raises(FileNotFoundError, lambda: Embeddings.load(path), None, re.escape(str(path)),
            r"no embeddings file")


@pytest.mark.fault("disk")
@pytest.mark.parametrize("budget", [0, 200])
def test_save_on_a_full_disk_keeps_the_old_file(tmp_path, monkeypatch, budget):
    path, old = _saved(tmp_path)
    before = path.read_bytes()
    FullDisk(monkeypatch, budget=budget)
    with pytest.raises(OSError) as info:
        _emb(d=64).save(path)
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert Embeddings.load(path).words == old.words
    _no_tmp(tmp_path)


@pytest.mark.fault("interrupt")
def test_save_interrupted_keeps_the_old_file(tmp_path, monkeypatch):
    path, _ = _saved(tmp_path)
    before = path.read_bytes()

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(qio.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _emb().save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    _no_tmp(tmp_path)


@pytest.mark.fault("disk")
def test_save_into_a_read_only_folder_leaves_nothing(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root ignores folder permissions")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OSError) as info:
            _emb().save(folder / "emb.npz")
        assert info.value.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)
