"""Tests for qwemlib.evaluate (benchmarks), checked against gensim, scipy and brute force."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from qwemlib.evaluate import (
    AnalogySection,
    BenchmarkRow,
    Embeddings,
    analogy_pairs,
    benchmark_table,
    component_overlap,
    evaluate_analogies,
    evaluate_similarity,
    family_accuracy,
    format_table,
    pearson,
    read_analogies,
    read_similarity,
    spearman,
    to_frame,
    top_words_per_component,
)

DATA = Path(os.environ.get("QWEM_DATA_DIR", "")) if os.environ.get("QWEM_DATA_DIR") else None
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _data_file(rel: str) -> Path:
    for root in (DATA, SHARED):
        if root is not None and (root / rel).is_file():
            return root / rel
    pytest.skip(f"data file {rel} not available")


GOOGLE = "eval/google-analogies/questions-words.txt"
MEN = "eval/men/MEN_dataset_natural_form_full"
WS353 = "eval/wordsim353/combined.csv"
SIMLEX = "eval/simlex999/SimLex-999.txt"


# ---------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def google_sections():
    return read_analogies(_data_file(GOOGLE))


@pytest.fixture(scope="module")
def planted(google_sections):
    """Embeddings over the analogy file's own words with planted section offsets.

    Each section gets an offset o_s and every pair (a, b) of it gets v_b = v_a + o_s
    + noise, assigned in file order (later sections partly overwrite earlier ones),
    so 3CosAdd answers a fair fraction of the questions but far from all. 10 % of
    the words are dropped (OOV), 300 distractors are added, and 40 capitalised
    near-copies of words test gensim's case folding.
    """
    rng = np.random.default_rng(1234)
    words = sorted({w for s in google_sections for q in s.questions for w in q})
    d = 32
    vec = {w: rng.standard_normal(d) for w in words}
    for sec in google_sections:
        offset = 1.5 * rng.standard_normal(d)
        for a, b in analogy_pairs([sec])[sec.name]:
            vec[b] = vec[a] + offset + 0.6 * rng.standard_normal(d)
    keep = [w for w in words if rng.random() > 0.10]
    rng.shuffle(keep)
    distract = [f"zz{i}" for i in range(300)]
    for w in distract:
        vec[w] = 2.0 * rng.standard_normal(d)
    variants = [w.capitalize() for w in rng.choice(keep, 40, replace=False)]
    for w in variants:
        vec[w] = vec[w.lower()] + 0.05 * rng.standard_normal(d)
    vocab = keep + distract + variants
    return Embeddings(vocab, np.stack([vec[w] for w in vocab]).astype(np.float64))


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# ---------------------------------------------------------------------------
# real files: parsing counts


def test_real_files_parse_counts():
    secs = read_analogies(_data_file(GOOGLE))
    assert len(secs) == 14
    assert sum(len(s.questions) for s in secs) == 19544
    assert secs[0].name == "capital-common-countries"
    assert secs[0].questions[0] == ("athens", "greece", "baghdad", "iraq")
    men = read_similarity(_data_file(MEN))
    assert len(men) == 3000 and men[0] == ("sun", "sunlight", 50.0)
    ws = read_similarity(_data_file(WS353))
    assert len(ws) == 353 and ws[0] == ("love", "sex", 6.77)
    assert sum(1 for a, b, _ in ws if (a, b) == ("money", "cash")) == 2
    sl = read_similarity(_data_file(SIMLEX))
    assert len(sl) == 999 and sl[0] == ("old", "new", 1.58)


def test_registry_names_resolve():
    pytest.importorskip("qwemlib.data")
    try:
        secs = read_analogies("google-analogies")
    except (FileNotFoundError, ValueError) as exc:  # registry cannot find/verify the data here
        pytest.skip(f"registry cannot resolve the data: {exc}")
    assert sum(len(s.questions) for s in secs) == 19544
    assert len(read_similarity("men")) == 3000
    assert len(read_similarity("wordsim353")) == 353
    assert len(read_similarity("simlex999")) == 999


# ---------------------------------------------------------------------------
# analogies


def _gensim_counts(kv, path, restrict_vocab=300000):
    score, sections = kv.evaluate_word_analogies(str(path), restrict_vocab=restrict_vocab)
    per = {s["section"]: (len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in sections}
    return score, per


def test_original_protocol_equals_gensim(planted):
    pytest.importorskip("gensim")  # the gensim extra
    path = _data_file(GOOGLE)
    ours = evaluate_analogies(planted, path, protocol="original")
    score, per = _gensim_counts(planted.to_gensim(), path)
    assert 0.05 < ours.accuracy < 0.95
    total = per.pop("Total accuracy")
    assert (ours.correct, ours.covered) == total
    assert ours.accuracy == pytest.approx(score, abs=1e-12)
    assert {s.name: (s.correct, s.covered) for s in ours.sections} == per
    assert ours.total == 19544 and ours.oov == ours.total - ours.covered > 0
    assert sum(s.total for s in ours.sections) == 19544
    # float32 scores (gensim's precision) give the same counts here
    assert evaluate_analogies(planted, path, dtype=np.float32).sections == ours.sections


def test_original_protocol_restrict_vocab_equals_gensim(planted, google_sections, tmp_path):
    pytest.importorskip("gensim")  # the gensim extra
    # a few sections only, to keep gensim's per-question loop short
    keep = [s for s in google_sections if s.name in ("family", "gram2-opposite", "capital-common-countries")]
    text = "".join(f": {s.name}\n" + "".join(" ".join(q) + "\n" for q in s.questions) for s in keep)
    path = _write(tmp_path, "subset.txt", text)
    ours = evaluate_analogies(planted, path, restrict_vocab=500)
    score, per = _gensim_counts(planted.to_gensim(), path, restrict_vocab=500)
    assert (ours.correct, ours.covered) == per.pop("Total accuracy")
    assert {s.name: (s.correct, s.covered) for s in ours.sections} == per
    assert ours.covered < evaluate_analogies(planted, path).covered


def test_pairs_protocol_brute_force(tmp_path):
    pytest.importorskip("gensim")  # the gensim extra
    text = (
        ": family\n"
        "man woman king queen\n"
        "man woman boy girl\n"
        "king queen father mother\n"
        "boy girl unknownword aunt\n"  # (boy, girl) still counts as a pair
        ": tense\n"
        "go went see saw\n"
        "see saw take took\n"
        "take took run ran\n"
    )
    path = _write(tmp_path, "tiny.txt", text)
    rng = np.random.default_rng(3)
    vocab = ["man", "woman", "king", "queen", "boy", "girl", "father", "mother", "go", "went",
             "see", "saw", "take", "took", "run", "ran", "the", "of", "and", "in"]
    W = rng.standard_normal((len(vocab), 6))
    g = rng.standard_normal(6)
    for a, b in [("man", "woman"), ("king", "queen"), ("boy", "girl"), ("father", "mother")]:
        W[vocab.index(b)] = W[vocab.index(a)] + g + 0.3 * rng.standard_normal(6)
    emb = Embeddings(vocab, W)
    res = evaluate_analogies(emb, path, protocol="pairs")

    kv = emb.to_gensim()
    expect = {}
    sections = read_analogies(path)
    for sec in sections:
        pairs = []
        for a, b, c, d in sec.questions:
            for p in ((a, b), (c, d)):
                if p[0] in emb and p[1] in emb and p not in pairs:
                    pairs.append(p)
        correct = n = 0
        for (a, b), (c, d) in itertools.permutations(pairs, 2):
            n += 1
            correct += kv.most_similar(positive=[b, c], negative=[a], topn=1)[0][0] == d
        all_pairs = {p for q in sec.questions for p in (q[:2], q[2:])}
        expect[sec.name] = (correct, n, len(all_pairs) * (len(all_pairs) - 1))
    assert {s.name: (s.correct, s.covered, s.total) for s in res.sections} == expect
    assert expect["family"][1] == 4 * 3 and expect["family"][2] == 5 * 4
    assert res.correct == sum(v[0] for v in expect.values())
    assert res.oov == res.total - res.covered == 20 - 12
    assert 0 < res.accuracy < 1


def test_pairs_protocol_on_real_file(planted, google_sections):
    # an independent vectorised count on the real file: every ordered pair of pairs
    res = evaluate_analogies(planted, google_sections, protocol="pairs")
    pairs = analogy_pairs(google_sections, planted)
    U = planted.unit_vectors
    lower = np.array([w.lower() for w in planted.words])
    first = {}
    for i, w in enumerate(lower):
        first.setdefault(w, i)
    for name in ("family", "currency"):
        n_ok = 0
        for (a, b), (c, d) in itertools.permutations(pairs[name], 2):
            s = U @ (U[first[b]] + U[first[c]] - U[first[a]])
            s[np.isin(lower, [a, b, c])] = -np.inf  # every case variant of a, b, c
            n_ok += int(lower[np.argmax(s)] == d)
        assert res.section(name).correct == n_ok
        assert res.section(name).covered == len(pairs[name]) * (len(pairs[name]) - 1)
    assert res.covered > evaluate_analogies(planted, google_sections).covered


def test_family_accuracy_equals_pairs_protocol(planted, google_sections):
    # book/07's per-family accuracy: the same counts as the pairs protocol on the file
    # (itself checked by brute force above), with families given as their pairs only
    pairs = analogy_pairs(google_sections, planted)
    fams = {f: p for f, p in pairs.items() if len(p) >= 5}
    full = evaluate_analogies(planted, google_sections, protocol="pairs")
    got = family_accuracy(planted, fams)
    assert got.shape == (len(fams),)
    np.testing.assert_array_equal(got, [full.section(f).accuracy for f in fams])
    assert 0 < np.nanmin(got) < np.nanmax(got) <= 1
    # an independent count for one family: every ordered pair of pairs, by brute force
    U = planted.unit_vectors
    lower = np.array([w.lower() for w in planted.words])
    first = {}
    for i, w in enumerate(lower):
        first.setdefault(w, i)
    name = "currency"
    n_ok = 0
    for (a, b), (c, d) in itertools.permutations(fams[name], 2):
        s = U @ (U[first[b]] + U[first[c]] - U[first[a]])
        s[np.isin(lower, [a, b, c])] = -np.inf
        n_ok += int(lower[np.argmax(s)] == d)
    n = len(fams[name])
    assert got[list(fams).index(name)] == n_ok / (n * (n - 1))
    # order follows the mapping; a family with < 2 pairs gives NaN; empty input is an error
    rev = dict(reversed(list(fams.items())))
    np.testing.assert_array_equal(family_accuracy(planted, rev), got[::-1])
    one = family_accuracy(planted, {"x": fams[name][:1], name: fams[name]})
    assert np.isnan(one[0]) and one[1] == got[list(fams).index(name)]
    with pytest.raises(ValueError, match="families"):
        family_accuracy(planted, {})


def test_oov_skipped_and_counted(tmp_path):
    path = _write(tmp_path, "a.txt", ": s\na b c d\na b c zzz\nA B C D\n: empty\nq r s t\n")
    emb = Embeddings(list("abcdxyz"), np.random.default_rng(4).standard_normal((7, 4)))
    res = evaluate_analogies(emb, path)
    assert (res.covered, res.total, res.oov) == (2, 4, 2)
    assert res.section("empty").covered == 0 and np.isnan(res.section("empty").accuracy)
    with pytest.raises(KeyError):
        res.section("nope")
    with pytest.raises(ValueError, match="protocol"):
        evaluate_analogies(emb, path, protocol="3cosmul")


def test_malformed_analogy_lines(tmp_path):
    bad = _write(tmp_path, "bad1.txt", ": s\na b c d\na b c\n")
    with pytest.raises(ValueError, match=r"bad1\.txt, line 3"):
        read_analogies(bad)
    bad = _write(tmp_path, "bad2.txt", "\na b c d\n: s\n")
    with pytest.raises(ValueError, match=r"bad2\.txt, line 2: a question before any section"):
        read_analogies(bad)
    bad = _write(tmp_path, "bad3.txt", ": s\na b c d e\n")
    with pytest.raises(ValueError, match=r"bad3\.txt, line 2"):
        read_analogies(bad)
    with pytest.raises(FileNotFoundError):
        read_analogies(tmp_path / "nope.txt")


# ---------------------------------------------------------------------------
# similarity


def _old_rankdata(x):
    """The hand-made average-rank code that qwemlib used before scipy (kept as the oracle)."""
    x = np.asarray(x, dtype=float).ravel()
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    new = np.r_[True, xs[1:] != xs[:-1]]
    group = np.cumsum(new) - 1
    bounds = np.r_[np.flatnonzero(new), len(x)]
    avg = 0.5 * (bounds[:-1] + bounds[1:] - 1) + 1
    ranks = np.empty(len(x))
    ranks[order] = avg[group]
    return ranks


def _old_pearson(x, y):
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2:
        return float("nan")
    xc, yc = x - x.mean(), y - y.mean()
    den = np.sqrt((xc @ xc) * (yc @ yc))
    return float("nan") if den == 0 else float(np.clip((xc @ yc) / den, -1.0, 1.0))


def _old_spearman(x, y):
    return _old_pearson(_old_rankdata(x), _old_rankdata(y))


def test_scipy_spearman_keeps_the_old_results_and_ties():
    rng = np.random.default_rng(5)
    for n in (2, 3, 7, 100, 1000):
        x = rng.integers(0, 10, n).astype(float)  # many ties
        y = np.round(rng.standard_normal(n) + 0.3 * x, 1)  # ties on both sides
        assert spearman(x, y) == pytest.approx(_old_spearman(x, y), abs=1e-12, nan_ok=True)
        assert pearson(x, y) == pytest.approx(_old_pearson(x, y), abs=1e-12, nan_ok=True)
    assert np.isnan(spearman([1.0], [2.0])) and np.isnan(pearson([1.0], [2.0]))
    assert np.isnan(spearman([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
    assert np.isnan(pearson([1.0, 2.0, 3.0], [4.0, 4.0, 4.0]))
    with pytest.raises(ValueError, match="3 entries and y has 2"):
        spearman([1.0, 2.0, 3.0], [1.0, 2.0])
    # the check can fail: ranks without averaging the ties (ordinal) change the number
    x, y = np.array([1.0, 1.0, 2.0, 3.0, 3.0, 3.0]), np.array([2.0, 1.0, 3.0, 6.0, 4.0, 5.0])
    ordinal = _old_pearson(scipy.stats.rankdata(x, method="ordinal"), scipy.stats.rankdata(y))
    assert abs(spearman(x, y) - ordinal) > 1e-3


_SIM_FILES = {"MEN": MEN, "WordSim353": WS353, "SimLex-999": SIMLEX}


def test_scipy_spearman_on_the_stored_ci_embeddings():
    """Every stored ci model (float16 embeddings.npz) on the three sets: old and new Spearman agree.

    The stored benchmark rows themselves were scored on the full-precision embeddings, so the
    float16 copies cannot reproduce them (up to 1.3e-3 off); ``..._reproduces_stored_rows`` does.
    """
    from qwemlib import results

    z = results.load_npz("ci", "embeddings.npz", required=("words",), missing_ok=True)
    if z is None:
        pytest.skip("data/results/ci/embeddings.npz is not stored")
    words = [str(w) for w in z["words"]]
    models = [k for k in z if k != "words"]
    assert len(models) >= 5
    for label, rel in _SIM_FILES.items():
        rows = read_similarity(_data_file(rel))
        for model in models:
            emb = Embeddings(words, z[model].astype(np.float64))
            vocab = emb.folded_index()
            kept = [(vocab[a], vocab[b], s) for a, b, s in rows if a in vocab and b in vocab]
            U = emb.unit_vectors
            cos = np.array([U[i] @ U[j] for i, j, _ in kept])
            human = np.array([s for _, _, s in kept])
            r = evaluate_similarity(emb, _data_file(rel))
            assert r.covered == len(kept) > 50
            assert r.spearman == pytest.approx(_old_spearman(human, cos), abs=1e-12), (label, model)
            assert r.pearson == pytest.approx(_old_pearson(human, cos), abs=1e-12), (label, model)


@pytest.mark.slow
def test_closed_forms_reproduce_stored_ci_benchmark_rows():
    """svd(M*), svd(PPMI), svd(PMI) recomputed at ci give the stored benchmark rows to 1e-12:
    the Spearman rows (now scipy's) and both analogy protocols (the 3CosAdd argmax, moved to
    qwemlib.embeddings). About 15 s of CPU."""
    from qwemlib import config, pipeline, results
    from qwemlib.experiments._closed_forms import closed_forms

    rows, _ = results.read_benchmark("ci")
    if rows is None:
        pytest.skip("data/results/ci/benchmark.json is not stored")
    sets = {k: _data_file(v) for k, v in _SIM_FILES.items()}
    try:
        st = pipeline.corpus_statistics(config.preset("ci"))
    except (FileNotFoundError, ValueError) as exc:
        pytest.skip(f"ci corpus not available: {exc}")
    embs = closed_forms(st, config.preset("ci"), log=lambda *a: None)[0]
    checked = 0
    for row in rows:
        if row["model"] not in embs:
            continue
        emb = embs[row["model"]]
        emb = emb[0] if isinstance(emb, tuple) else emb
        if row["benchmark"] in sets:
            value = evaluate_similarity(emb, sets[row["benchmark"]]).spearman
        elif row["benchmark"].startswith("Google analogies ("):
            protocol = row["benchmark"].split("(")[1].rstrip(")")
            value = evaluate_analogies(emb, _data_file(GOOGLE), protocol=protocol).accuracy
        else:
            continue
        assert value == pytest.approx(row["value"], abs=1e-12), row
        checked += 1
    assert checked == 15


def _similarity_emb(pairs, seed, drop=0.2):
    """Random float64 vectors for the file's words, with ``drop`` of them left out."""
    rng = np.random.default_rng(seed)
    words = sorted({w for a, b, _ in pairs for w in (a, b)})
    keep = [w for w in words if rng.random() > drop]
    return Embeddings(keep, rng.standard_normal((len(keep), 24)))


@pytest.mark.parametrize("rel,delimiter", [(MEN, " "), (WS353, ",")])
def test_similarity_equals_gensim(rel, delimiter):
    pytest.importorskip("gensim")  # the gensim extra
    path = _data_file(rel)
    pairs = read_similarity(path)
    emb = _similarity_emb(pairs, seed=6)
    ours = evaluate_similarity(emb, path)
    pear, spear, oov_ratio = emb.to_gensim().evaluate_word_pairs(str(path), delimiter=delimiter)
    assert ours.spearman == pytest.approx(spear.statistic, abs=1e-9)
    assert ours.pearson == pytest.approx(pear.statistic, abs=1e-9)
    assert ours.total == len(pairs)
    assert ours.oov == ours.total - ours.covered > 0
    assert 100 * ours.oov / ours.total == pytest.approx(oov_ratio)


def test_similarity_scores_cosine_and_dot(tmp_path):
    path = _write(tmp_path, "pairs.txt", "a b 3\na c 1\nb c 2\nc d 2.5\nc zz 4\n")
    rng = np.random.default_rng(7)
    emb = Embeddings(list("abcd"), rng.standard_normal((4, 5)) * np.array([[1.0], [3.0], [0.5], [2.0]]))
    rows = [(0, 1, 3.0), (0, 2, 1.0), (1, 2, 2.0), (2, 3, 2.5)]
    human = [r[2] for r in rows]
    W, U = emb.vectors, emb.unit_vectors
    cos = [U[i] @ U[j] for i, j, _ in rows]
    dot = [W[i] @ W[j] for i, j, _ in rows]
    r = evaluate_similarity(emb, path)
    assert (r.covered, r.total, r.oov, r.score) == (4, 5, 1, "cosine")
    assert r.spearman == pytest.approx(scipy.stats.spearmanr(human, cos).statistic)
    assert r.pearson == pytest.approx(scipy.stats.pearsonr(human, cos).statistic)
    r = evaluate_similarity(emb, path, score="dot")
    assert r.spearman == pytest.approx(scipy.stats.spearmanr(human, dot).statistic)
    with pytest.raises(ValueError, match="score"):
        evaluate_similarity(emb, path, score="euclid")
    none = evaluate_similarity(Embeddings(["q"], np.ones((1, 2))), path)
    assert none.covered == 0 and np.isnan(none.spearman)


def test_similarity_formats_and_malformed(tmp_path):
    simlex = _write(tmp_path, "sl.txt", "word1\tword2\tPOS\tSimLex999\tx\nOld\tnew\tA\t1.5\t2\n")
    assert read_similarity(simlex) == [("old", "new", 1.5)]
    tsv = _write(tmp_path, "ws.tsv", "# comment\nTiger\tcat\t7.35\n")
    assert read_similarity(tsv) == [("tiger", "cat", 7.35)]
    csvf = _write(tmp_path, "c.csv", "Word 1,Word 2,Human (mean)\nmoney,cash,9.15\nmoney,cash,9.08\n")
    assert read_similarity(csvf) == [("money", "cash", 9.15), ("money", "cash", 9.08)]

    bad = _write(tmp_path, "men_bad.txt", "sun sunlight 50\ncar auto 49\nriver 40\n")
    with pytest.raises(ValueError, match=r"men_bad\.txt, line 3"):
        read_similarity(bad)
    bad = _write(tmp_path, "score_bad.txt", "sun sunlight 50\ncar auto high\n")
    with pytest.raises(ValueError, match=r"score_bad\.txt, line 2.*not a number"):
        read_similarity(bad)
    bad = _write(tmp_path, "sl_bad.txt", "word1\tword2\tPOS\tSimLex999\nold\tnew\tA\n")
    with pytest.raises(ValueError, match=r"sl_bad\.txt, line 2"):
        read_similarity(bad)


# ---------------------------------------------------------------------------
# the table


def test_benchmark_table_and_format(tmp_path):
    ana = _write(tmp_path, "ana.txt", ": family\nman woman king queen\nking queen man woman\n")
    sim = _write(tmp_path, "sim.txt", "man woman 5\nking queen 4\nman king 1\nqueen xyzzy 2\n")
    rng = np.random.default_rng(10)
    planted = Embeddings(["man", "woman", "king", "queen", "the", "a"], rng.standard_normal((6, 4)))
    models = {"A": planted, "B": Embeddings(planted.words, 2 * planted.vectors)}
    rows = benchmark_table(models, analogies=ana, similarity=[sim])
    assert [(r.model, r.benchmark) for r in rows] == [
        ("A", "Google analogies (original)"), ("B", "Google analogies (original)"),
        ("A", "Google analogies (pairs)"), ("B", "Google analogies (pairs)"),
        ("A", "sim.txt"), ("B", "sim.txt"),
    ]
    r = rows[-1]
    assert (r.metric, r.covered, r.total) == ("spearman", 3, 4)
    assert r.value == pytest.approx(evaluate_similarity(planted, sim).spearman)
    text = format_table(rows)
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["benchmark", "metric"] and "A" in lines[0] and "B" in lines[0]
    assert len(lines) == 2 + 3
    assert "(3/4)" in text
    assert len({len(line) for line in lines[:2]}) == 1  # header and rule aligned


def test_to_frame_matches_rows_and_stored_dicts():
    pd = pytest.importorskip("pandas")
    rows = [BenchmarkRow("A", "MEN", "spearman", 0.5, 3, 4), BenchmarkRow("B", "MEN", "spearman", 0.25, 2, 4),
            BenchmarkRow("A", "Google analogies (pairs)", "accuracy", float("nan"), 0, 6)]
    df = to_frame(rows)
    assert list(df.columns) == ["model", "benchmark", "metric", "value", "covered", "total"]
    pd.testing.assert_frame_equal(df, pd.DataFrame([r.__dict__ for r in rows]))  # book/06's old spelling
    stored = [dict(r.__dict__, extra="ignored") for r in rows]  # rows as benchmark.json stores them
    pd.testing.assert_frame_equal(to_frame(stored), df)
    wide = df.pivot(index="benchmark", columns="model", values="value")
    assert wide.loc["MEN", "B"] == 0.25 and np.isnan(wide.loc["Google analogies (pairs)", "A"])
    assert list(to_frame([]).columns) == list(df.columns)
    with pytest.raises(KeyError):
        to_frame([{"model": "A"}])


# ---------------------------------------------------------------------------
# components and overlaps


def test_top_words_per_component_brute_force():
    rng = np.random.default_rng(8)
    V, d = 60, 6
    W = rng.standard_normal((V, d)) * np.array([6, 5, 4, 3, 2, 1.0])
    W[:5] *= 0.05
    W[:5, 1] = -30.0  # five words far out on one side of one direction
    words = [f"w{i}" for i in range(V)]
    res = top_words_per_component(W, words, k=3, topn=5)
    # brute force: principal directions from the eigenvectors of W^T W
    evals, evecs = np.linalg.eigh(W.T @ W)
    order = np.argsort(evals)[::-1]
    Wn = W / np.linalg.norm(W, axis=1, keepdims=True)
    for r, k in zip(res, range(3)):
        v = evecs[:, order[k]]
        cos = Wn @ v
        sides = [(np.sort(s * cos)[::-1][:5].sum(), s) for s in (1, -1)]
        sign = max(sides)[1]
        best = np.argsort(-sign * cos)[:5]
        assert r.component == k
        assert r.singular_value == pytest.approx(np.sqrt(evals[order[k]]))
        assert list(r.words) == [words[i] for i in best]
        np.testing.assert_allclose(r.cosines, sign * cos[best], atol=1e-10)
    # the five planted outliers dominate one component (whatever its sign)
    assert any(set(r.words) == {f"w{i}" for i in range(5)} for r in res)
    # flipping every vector's sign flips the component: the same words come out
    flipped = top_words_per_component(Embeddings(words, -W), k=3, topn=5)
    assert [r.words for r in flipped] == [r.words for r in res]
    picked = top_words_per_component(W, words, components=[4, 2], topn=3)
    assert [r.component for r in picked] == [4, 2]
    with pytest.raises(ValueError):
        top_words_per_component(W, words, components=[6])
    with pytest.raises(ValueError, match="words"):
        top_words_per_component(W)


def test_component_overlap():
    rng = np.random.default_rng(9)
    V, d, k = 80, 10, 6
    W = rng.standard_normal((V, d)) * np.linspace(3, 1, d)
    R, _ = np.linalg.qr(rng.standard_normal((d, d)))
    # a right rotation leaves the left singular vectors alone
    np.testing.assert_allclose(component_overlap(W, W @ R, k), np.eye(k), atol=1e-8)
    # brute force against eigenvectors of the Gram matrices
    B = rng.standard_normal((V, d)) * np.linspace(2, 1, d)
    def top_eigvecs(X):
        e, U = np.linalg.eigh(X @ X.T)
        return U[:, np.argsort(e)[::-1][:k]]
    expect = (top_eigvecs(W).T @ top_eigvecs(B)) ** 2
    O = component_overlap(Embeddings([str(i) for i in range(V)], W), B, k)
    np.testing.assert_allclose(O, expect, atol=1e-8)
    assert O.shape == (k, k) and np.all(O.sum(axis=0) <= 1 + 1e-9)
    with pytest.raises(ValueError, match="different words"):
        component_overlap(Embeddings([str(i) for i in range(V)], W),
                          Embeddings([f"x{i}" for i in range(V)], B), k)
    with pytest.raises(ValueError, match="k="):
        component_overlap(W, B, d + 1)


def test_analogy_sections_accept_preread(google_sections, planted):
    sub = [AnalogySection("x", google_sections[1].questions[:50])]
    r1 = evaluate_analogies(planted, sub)
    assert r1.total == 50 and r1.sections[0].name == "x"


def test_public_names_and_lazy_optional_imports():
    import subprocess
    import sys

    import qwemlib.evaluate as ev

    assert all(hasattr(ev, name) for name in ev.__all__)
    # gensim and pandas are optional: importing the package must not load them
    code = "import sys, qwemlib.evaluate; print(sorted({'gensim', 'pandas'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
