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
    CONVENTIONS,
    PAPER_CONVENTION,
    PAPER_EPS,
    PMIConvention,
    pmi_convention_table,
    pmi_conventions,
    pmi_embeddings,
    pmi_matrix,
    save_pmi_conventions,
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


def _synthetic_stats(V=30, seed=1):
    rng = np.random.default_rng(seed)
    C = rng.poisson(0.7, size=(V, V)).astype(float)   # about half the pairs unseen
    C = C + C.T
    P_ij = C / C.sum()
    return types.SimpleNamespace(P_ij=P_ij, P_i=P_ij.sum(axis=1),
                                 words=tuple(f"w{i}" for i in range(V)))


def test_table_has_every_convention_and_round_trips(tmp_path):
    st = _synthetic_stats()
    preset = config.preset("ci", vocab=30, dim=3)
    t = pmi_conventions(st, preset, log=lambda *a: None)
    got = [PMIConvention(r["unseen"], r["spectrum"], r["scale"]) for r in t["rows"]]
    assert got == list(CONVENTIONS) and PAPER_CONVENTION in got
    assert t["meta"]["unseen_fraction"] == pytest.approx(float((st.P_ij == 0).mean()))
    assert t["meta"]["fill"]["paper"][0] == pytest.approx(np.log(PAPER_EPS))
    assert t["meta"]["fill"]["zero"] == [0.0, 0.0]
    # the magnitude solve of the paper's matrix meets its large negative mode first
    paper_mag = next(r for r in t["rows"] if r["unseen"] == "paper" and r["spectrum"] == "magnitude")
    assert paper_mag["lambda_first"] < 0 and paper_mag["n_negative"] >= 1
    save_pmi_conventions(t, "pytest", folder=tmp_path)
    stored = json.loads((tmp_path / FILENAME).read_text())
    assert stored["meta"]["command"] == "pytest" and "commit" in stored["meta"]
    df = pmi_convention_table(preset, folder=tmp_path)
    assert df.attrs["source"] == "stored" and len(df) == len(CONVENTIONS)


def test_stored_tables_hold_every_convention_and_the_books_svd_pmi():
    # the zero / algebraic / sqrt row is the book's svd(PMI): the stored benchmark's value
    for name in ("ci", "local"):
        rows, meta = results.read_benchmark(name, filename=FILENAME)
        if rows is None:
            pytest.skip(f"no {FILENAME} stored at {name}")
        assert [(r["unseen"], r["spectrum"], r["scale"]) for r in rows] == [
            (c.unseen, c.spectrum, c.scale) for c in CONVENTIONS]
        bench, _ = results.read_benchmark(name)
        book = next(r["value"] for r in bench
                    if r["model"] == "svd(PMI)" and r["benchmark"] == "Google analogies (pairs)")
        assert rows[0]["accuracy"] == pytest.approx(book, abs=2e-3)
        assert meta["protocol"] == "pairs" and "commit" in meta

