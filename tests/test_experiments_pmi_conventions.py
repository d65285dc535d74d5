"""book/06's svd(PMI) conventions (qwemlib.experiments._pmi_conventions).

Each unseen-pair convention is checked on a 3-word example worked out by hand, and each
spectrum convention on a matrix with a known eigendecomposition; every test also shows
that another convention gives a different answer, so a swapped convention fails.
"""

from __future__ import annotations

import json
import types
from itertools import combinations

import numpy as np
import pytest

from qwemlib import config, results
from qwemlib.experiments import (
    BOOK_CONVENTION,
    CONVENTIONS,
    PAPER_CONVENTION,
    PAPER_EPS,
    PMIConvention,
    conventions_frame,
    conventions_summary,
    pmi_convention_table,
    pmi_conventions,
    pmi_embeddings,
    pmi_matrix,
    prefix_statistics,
    save_pmi_conventions,
    size_frame,
)
from qwemlib.experiments._pmi_conventions import FILENAME, UNSEEN

# Three words, P_i = (1/2, 1/4, 1/4); pairs (1,1) and (2,2) are never seen.
P_I = np.array([0.5, 0.25, 0.25])
P_IJ = np.array([[0.30, 0.10, 0.10],
                 [0.10, 0.00, 0.15],
                 [0.10, 0.15, 0.00]])
L12, L08, L24 = np.log(1.2), np.log(0.8), np.log(2.4)   # PMI of the seen pairs, by hand
SEEN_BY_HAND = np.array([[L12, L08, L08], [L08, 0, L24], [L08, L24, 0]])
UNSEEN_CELLS = (np.array([1, 2]), np.array([1, 2]))


def _by_hand(unseen):
    out = SEEN_BY_HAND.copy()
    fill = {"zero": 0.0,
            "min": L08,                                   # smallest seen PMI, log(0.10 / 0.125)
            "count": np.log(0.10 / 0.0625),               # P_ij := 0.10 (smallest seen) in a cell
            "paper": np.log(PAPER_EPS)}[unseen]           # log(0 + 1e-25)
    out[UNSEEN_CELLS] = fill
    return out


@pytest.mark.parametrize("unseen", ["zero", "min", "count", "paper"])
def test_unseen_fill_matches_hand_computation(unseen):
    np.testing.assert_allclose(pmi_matrix(P_IJ, P_I, unseen), _by_hand(unseen), rtol=1e-12,
                               atol=1e-12)


def test_smoothed_adds_the_smallest_pair_to_every_cell():
    # (P + 0.1) / (1 + 9 * 0.1), divided by P_i P_j, by hand for two cells
    M = pmi_matrix(P_IJ, P_I, "smoothed")
    assert M[0, 0] == pytest.approx(np.log(0.40 / 1.9 / 0.25))
    assert M[1, 1] == pytest.approx(np.log(0.10 / 1.9 / 0.0625))
    np.testing.assert_allclose(M, M.T)
    assert not np.allclose(M[0, 0], L12)                  # seen cells move too, unlike "count"


def test_each_convention_gives_a_different_matrix():
    # a swapped convention fails the hand check above: no two conventions agree
    mats = {u: pmi_matrix(P_IJ, P_I, u) for u in UNSEEN}
    for a, b in combinations(UNSEEN, 2):
        assert not np.allclose(mats[a], mats[b]), (a, b)
        if b != "smoothed":
            assert not np.allclose(mats[a], _by_hand(b)), (a, b)


def test_zero_is_the_books_svd_pmi_target():
    from qwemlib import stats

    np.testing.assert_array_equal(pmi_matrix(P_IJ, P_I, "zero"), stats.pmi(P_IJ, P_I))


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="unseen must be one of"):
        pmi_matrix(P_IJ, P_I, "floor")
    with pytest.raises(ValueError, match="no pair was seen"):
        pmi_matrix(np.zeros((3, 3)), P_I, "min")
    with pytest.raises(ValueError, match="spectrum must be one of"):
        pmi_embeddings(np.eye(4), 2, "largest")
    with pytest.raises(ValueError, match=r"PMIConvention.scale must be one of"):
        PMIConvention("zero", "algebraic", "cube-root")


# ----------------------------------------------------------------------------- spectra

LAMBDA = np.array([3.0, -5.0, 1.0, 0.5, -0.2, 0.1])


def _known_matrix():
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((6, 6)))
    return Q @ np.diag(LAMBDA) @ Q.T, Q


def test_algebraic_keeps_the_top_values_magnitude_the_top_singular_values():
    M, Q = _known_matrix()
    Ws_alg, lam_alg = pmi_embeddings(M, 2, "algebraic", method="dense")
    Ws_mag, lam_mag = pmi_embeddings(M, 2, "magnitude")
    np.testing.assert_allclose(lam_alg, [3.0, 1.0], atol=1e-10)
    np.testing.assert_allclose(lam_mag, [-5.0, 3.0], atol=1e-10)
    # W W^T: the eq. 7 minimizer sum_k lambda_k q_k q_k^T, against sum_k |lambda_k| q_k q_k^T
    alg = 3.0 * np.outer(Q[:, 0], Q[:, 0]) + 1.0 * np.outer(Q[:, 2], Q[:, 2])
    mag = 5.0 * np.outer(Q[:, 1], Q[:, 1]) + 3.0 * np.outer(Q[:, 0], Q[:, 0])
    np.testing.assert_allclose(Ws_alg["sqrt"] @ Ws_alg["sqrt"].T, alg, atol=1e-8)
    np.testing.assert_allclose(Ws_mag["sqrt"] @ Ws_mag["sqrt"].T, mag, atol=1e-8)
    assert not np.allclose(alg, mag, atol=0.1)            # the two conventions differ here
    # "none": orthonormal columns spanning the same eigenvectors
    for Ws, cols in ((Ws_alg, [0, 2]), (Ws_mag, [1, 0])):
        V = Ws["none"]
        np.testing.assert_allclose(V.T @ V, np.eye(2), atol=1e-10)
        np.testing.assert_allclose(np.abs(V.T @ Q[:, cols]), np.eye(2), atol=1e-8)


# ----------------------------------------------------------------------------- the table


def _synthetic_stats(V=30, n_articles=40, seed=1):
    # a random corpus of 40 short articles, counted as the pipeline counts it
    from qwemlib import stats

    rng = np.random.default_rng(seed)
    lengths = rng.integers(8, 16, size=n_articles)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    ids = rng.integers(0, V, size=offsets[-1]).astype(np.uint16)
    co = stats.count_cooccurrences(ids, offsets, V, window=2)
    corpus = types.SimpleNamespace(ids=ids, article_offsets=offsets, n_articles=n_articles,
                                   n_tokens=int(ids.size))
    return types.SimpleNamespace(P_ij=stats.skipgram_distribution(co),
                                 P_i=stats.unigram_distribution(co), cooc=co, corpus=corpus,
                                 words=tuple(f"w{i}" for i in range(V)))


def test_prefix_statistics_count_the_first_articles():
    from qwemlib import stats

    st = _synthetic_stats()
    sub = prefix_statistics(st, 0.5)
    off = st.corpus.article_offsets[:21]
    co = stats.count_cooccurrences(st.corpus.ids[: off[-1]], off, 30, window=2)
    assert sub.n_articles == 20 and sub.n_tokens == off[-1]
    np.testing.assert_array_equal(sub.P_ij, stats.skipgram_distribution(co))
    assert (sub.P_ij == 0).mean() > (st.P_ij == 0).mean()   # a smaller corpus sees fewer pairs
    np.testing.assert_array_equal(prefix_statistics(st, 1.0).P_ij, st.P_ij)
    with pytest.raises(ValueError, match="fraction must be in"):
        prefix_statistics(st, 0.0)
    with pytest.raises(ValueError, match="do not occur in the first"):
        prefix_statistics(st, 0.025)                  # one article of ~12 tokens, 30 words


def test_table_has_every_convention_and_round_trips(tmp_path):
    st = _synthetic_stats()
    preset = config.preset("ci", vocab=30, dim=3)
    t = pmi_conventions(st, preset, sizes=(0.5,), log=lambda *a: None)
    grid = [r for r in t["rows"] if r["fraction"] == 1.0]
    got = [PMIConvention(r["unseen"], r["spectrum"], r["scale"]) for r in grid]
    assert got == list(CONVENTIONS) and PAPER_CONVENTION in got
    assert grid[0]["unseen_fraction"] == pytest.approx(float((st.P_ij == 0).mean()))
    half = [r for r in t["rows"] if r["fraction"] == 0.5]
    assert [(r["unseen"], r["spectrum"], r["scale"]) for r in half] == [
        ("zero", "algebraic", "sqrt"), ("paper", "algebraic", "sqrt")]
    assert half[0]["tokens"] < grid[0]["tokens"] == st.corpus.n_tokens
    assert t["meta"]["fill"]["paper"][0] == pytest.approx(np.log(PAPER_EPS))
    assert t["meta"]["fill"]["zero"] == [0.0, 0.0]
    # the magnitude solve of the paper's matrix meets its large negative mode first
    paper_mag = next(r for r in grid if r["unseen"] == "paper" and r["spectrum"] == "magnitude")
    assert paper_mag["lambda_first"] < 0 and paper_mag["n_negative"] >= 1
    save_pmi_conventions(t, "pytest", folder=tmp_path)
    stored = json.loads((tmp_path / FILENAME).read_text())
    assert stored["meta"]["command"] == "pytest" and "commit" in stored["meta"]
    df = pmi_convention_table(preset, folder=tmp_path)
    assert df.attrs["source"] == "stored" and len(df) == len(CONVENTIONS) + 2


def test_stored_tables_hold_every_convention_and_the_books_svd_pmi():
    # the zero / algebraic / sqrt row is the book's svd(PMI): the stored benchmark's value
    for name in ("ci", "local"):
        rows, meta = results.read_benchmark(name, filename=FILENAME)
        if rows is None:
            pytest.skip(f"no {FILENAME} stored at {name}")
        grid = [r for r in rows if r["fraction"] == 1.0]
        assert [(r["unseen"], r["spectrum"], r["scale"]) for r in grid] == [
            (c.unseen, c.spectrum, c.scale) for c in CONVENTIONS]
        bench, _ = results.read_benchmark(name)
        book = next(r["value"] for r in bench
                    if r["model"] == "svd(PMI)" and r["benchmark"] == "Google analogies (pairs)")
        # The two come from separate solves (at local the conventions table at cd3e8ae, the
        # benchmark at 8f11d7c, with the Chebyshev solver retuned in between: the near-degenerate
        # edge of PMI's top 200 moved the score by 0.24 points). The tolerance is a third of the
        # distance to the nearest other convention, so no other convention's score passes.
        tol = min(abs(r["accuracy"] - grid[0]["accuracy"]) for r in grid[1:]) / 3
        assert grid[0]["accuracy"] == pytest.approx(book, abs=tol)
        assert meta["protocol"] == "pairs" and "commit" in meta



# ----------------------------------------------------------------------------- what book/06 shows


def _fake_table(gaps, book=0.55):
    # a stored-like frame: the grid at fraction 1 (book and paper conventions differ by the
    # last gap) and two smaller corpora with the earlier gaps
    import pandas as pd

    rows = []
    for c in CONVENTIONS:
        acc = book - (gaps[-1] / 100 if c == PAPER_CONVENTION else 0.01 * CONVENTIONS.index(c) / 40)
        rows.append(dict(unseen=c.unseen, spectrum=c.spectrum, scale=c.scale, accuracy=acc,
                         fraction=1.0, tokens=4_000_000, unseen_fraction=0.5, n_negative=1))
    for f, g in zip((0.0625, 0.25), gaps[:-1]):
        for c, acc in ((BOOK_CONVENTION, book - 0.05), (PAPER_CONVENTION, book - 0.05 - g / 100)):
            rows.append(dict(unseen=c.unseen, spectrum=c.spectrum, scale=c.scale, accuracy=acc,
                             fraction=f, tokens=int(4_000_000 * f), unseen_fraction=0.7,
                             n_negative=1))
    return pd.DataFrame(rows)


def test_summary_trend_is_computed_both_ways():
    grows = conventions_summary({"local": _fake_table([2.0, 6.0, 18.0])})
    assert grows["ch6_pmi_local_trend"] == "grows"
    assert grows["ch6_pmi_local_gap"] == "18.0" and grows["ch6_pmi_local_book"] == "55.0 %"
    assert grows["ch6_pmi_local_lowest"] == PAPER_CONVENTION.label
    assert grows["ch6_pmi_local_paper_rank"] == "the lowest"
    assert grows["ch6_pmi_local_best"] == "unseen=zero, algebraic, sqrt (55.0 %)"
    other = _fake_table([2.0, 6.0, 18.0])
    other.loc[(other.unseen == "min") & (other.fraction == 1.0), "accuracy"] = 0.01
    assert conventions_summary({"local": other})["ch6_pmi_local_paper_rank"] == "not the lowest"
    # a gap that shrinks, or grows by less than min_step, is not called growth
    assert conventions_summary({"local": _fake_table([18.0, 6.0, 2.0])})[
        "ch6_pmi_local_trend"] == "does not grow"
    assert conventions_summary({"local": _fake_table([2.0, 2.5, 3.0])})[
        "ch6_pmi_local_trend"] == "does not grow"
    # closest to the paper's 8.4 %: with every convention above 40 %, the lowest one
    assert grows["ch6_pmi_local_near"] == PAPER_CONVENTION.label
    sizes = size_frame(_fake_table([2.0, 6.0, 18.0]))
    assert list(sizes["gap (points)"]) == [2.0, 6.0, 18.0]
    frame = conventions_frame({"ci": _fake_table([1.0, 2.0, 3.0]),
                               "local": _fake_table([2.0, 6.0, 18.0])})
    assert frame.shape == (len(CONVENTIONS), 2)
    assert frame.loc[("paper", "algebraic", "sqrt"), "local"] == pytest.approx(37.0)
