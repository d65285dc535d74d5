"""Tests for qwemlib.stats: counts vs brute force, distributions, M*, PMI, G, Dask = local."""

import numpy as np
import pytest

from qwemlib import stats


def _sym_P(rng, V):
    P = rng.random((V, V))
    P = P + P.T
    return P / P.sum()


def _P_i(rng, V, floor=0.05):
    Pi = rng.random(V) + floor
    return Pi / Pi.sum()


def brute_force_counts(ids, offsets, V, L, weighting):
    C = np.zeros((V, V))
    for a in range(len(offsets) - 1):
        art = ids[offsets[a]:offsets[a + 1]]
        for p in range(len(art)):
            for q in range(len(art)):
                o = abs(q - p)
                if 1 <= o <= L:
                    C[art[p], art[q]] += (L + 1 - o) / ((L + 1) / 2) if weighting == "word2vec" else 1.0
    return C


@pytest.mark.parametrize("weighting", ["word2vec", "uniform"])
@pytest.mark.parametrize("L", [1, 3, 16])
def test_counts_equal_brute_force(weighting, L):
    rng = np.random.default_rng(L)
    V = 7
    ids = rng.integers(0, V, size=120).astype(np.uint16)
    offsets = np.array([0, 5, 5, 40, 41, 90, 120])
    co = stats.count_cooccurrences(ids, offsets, V, window=L, weighting=weighting)
    assert np.allclose(co.weighted(), brute_force_counts(ids, offsets, V, L, weighting), rtol=0, atol=1e-9)
    assert np.array_equal(co.counts, co.counts.T)
    assert np.array_equal(co.unigram, np.bincount(ids, minlength=V))


def test_window_weights_keep_total_weight_L():
    w = stats.window_weights(16, "word2vec")
    assert w[0] == pytest.approx(16 / 8.5) and w[-1] == pytest.approx(1 / 8.5)
    assert w.sum() == pytest.approx(16)


def test_distributions_sum_to_one_and_M_bounds(ci_stats):
    st = ci_stats
    assert st.P_i.sum() == pytest.approx(1, abs=1e-12)
    assert st.P_ij.sum() == pytest.approx(1, abs=1e-12)
    assert np.array_equal(st.P_ij, st.P_ij.T)
    assert st.M.min() >= -2 and st.M.max() <= 2
    never = st.P_ij == 0
    assert never.any() and np.all(st.M[never] == -2.0)


def test_M_equals_eq5_entry_by_entry(ci_stats):
    st = ci_stats
    rng = np.random.default_rng(1)
    for i, j in rng.integers(0, st.M.shape[0], size=(200, 2)):
        pij, pi, pj = st.P_ij[i, j], st.P_i[i], st.P_i[j]
        assert st.M[i, j] == pytest.approx((pij - pi * pj) / (0.5 * (pij + pi * pj)), rel=1e-12)


def test_symmetric_reweighting_cancels_in_M():
    rng = np.random.default_rng(2)
    V = 12
    P = _sym_P(rng, V)
    Pi = _P_i(rng, V)
    base = stats.target_matrix(P, Pi)
    for psi in (stats.psi_setting1(P, Pi), stats.psi_subsample(Pi, 1e-2)):
        assert np.allclose(stats.target_matrix(P, Pi, psi, psi), base)
    assert np.allclose(stats.reweighting_G(P, Pi), 1.0)
    # The P^{3/4} negatives (eq. 17) change M* and break its symmetry.
    neg = stats.psi_negative_power(Pi, 0.75)
    M = stats.target_matrix(P, Pi, None, neg)
    assert not np.allclose(M, M.T)


def test_pmi_ppmi():
    P = np.array([[0.2, 0.1, 0.0], [0.1, 0.3, 0.05], [0.0, 0.05, 0.2]])
    Pi = np.array([0.3, 0.45, 0.25])
    pm = stats.pmi(P, Pi)
    assert pm[0, 1] == pytest.approx(np.log(0.1 / (0.3 * 0.45)))
    assert pm[0, 2] == 0.0
    assert stats.pmi(P, Pi, unseen="-inf")[0, 2] == -np.inf
    assert np.all(stats.ppmi(P, Pi) >= 0)
    # D.1: PMI = x + x^3/12 + ... with x = M*
    x = stats.target_matrix(P, Pi)[P > 0]
    assert np.allclose(pm[P > 0], x + x**3 / 12 + x**5 / 80, atol=np.max(np.abs(x)) ** 7)


def test_threaded_and_dask_equal_local_exactly(ci_stats):
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    corpus = ci_stats.corpus
    V = len(corpus.vocab)
    local = stats.count_cooccurrences(corpus.ids, corpus.article_offsets, V, 16)
    threaded = stats.count_corpus(corpus, 16, n_workers=2)
    assert np.array_equal(local.counts, threaded.counts)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster as cl, Client(cl) as client:
        dist = stats.count_corpus_dask(corpus, client, 16, n_parts=2)
    assert np.array_equal(local.counts, dist.counts)
    assert np.array_equal(local.unigram, dist.unigram) and local.n_tokens == dist.n_tokens


@pytest.mark.parametrize(
    "ids, offsets, V, match",
    [
        (np.array([0, 1, 5]), np.array([0, 3]), 3, "must lie in"),
        (np.array([0, 1, 2]), np.array([0, 2]), 3, "end at len"),
        (np.array([[0, 1]]), np.array([0, 2]), 3, "1-d integer"),
    ],
)
def test_bad_counting_input(ids, offsets, V, match):
    with pytest.raises(ValueError, match=match):
        stats.count_cooccurrences(ids, offsets, V)


def test_bad_window_and_weighting():
    with pytest.raises(ValueError, match="window"):
        stats.window_weights(0)
    with pytest.raises(ValueError, match="weighting"):
        stats.window_weights(4, "gaussian")


def test_word_absent_from_counts_is_an_error():
    P = np.eye(3) / 3
    with pytest.raises(ValueError, match="non-positive"):
        stats.target_matrix(P, np.array([0.5, 0.5, 0.0]))


def test_sgns_mean_G_matches_definition():
    rng = np.random.default_rng(0)
    V = 6
    P, Pi = _sym_P(rng, V), _P_i(rng, V, 0.1)
    g = stats.sgns_mean_G(P, Pi, subsample=None, neg_power=1.0)
    assert np.isclose(g, np.mean(P + np.outer(Pi, Pi)))
    # with subsampling: acc_i acc_j (P_ij + (P_i Q_j + P_j Q_i) / 2), Q = P^(3/4) / Z
    t = 1e-2
    acc = np.minimum(1.0, t / Pi + np.sqrt(t / Pi))
    Q = Pi**0.75 / np.sum(Pi**0.75)
    G = np.outer(acc, acc) * (P + 0.5 * (np.outer(Pi, Q) + np.outer(Q, Pi)))
    assert stats.sgns_mean_G(P, Pi, subsample=t) == pytest.approx(G.mean(), rel=1e-14)
    assert not np.isclose(stats.sgns_mean_G(P, Pi, subsample=t), g)


def test_subsampling_weight_is_eq15():
    Pi = np.array([0.5, 1e-3, 1e-6])
    psi = stats.psi_subsample(Pi, 1e-5)
    acc = np.minimum(1.0, np.sqrt(1e-5 / Pi) + 1e-5 / Pi)
    np.testing.assert_allclose(psi, np.outer(acc, acc), rtol=1e-15)
    assert acc[-1] == 1.0 and acc[0] < 0.01


def test_per_word_weight_and_relative_change():
    rng = np.random.default_rng(3)
    V = 30
    Pi = _P_i(rng, V)
    w = stats.per_word_weight(stats.psi_subsample(Pi, 1e-2), Pi)
    assert w[np.argmax(Pi)] == 1.0
    # subsampling is rank one, so the row geometric mean is Pacc(i) / Pacc(most frequent)
    acc = np.minimum(1.0, 1e-2 / Pi + np.sqrt(1e-2 / Pi))
    np.testing.assert_allclose(w, acc / acc[np.argmax(Pi)], rtol=1e-12)
    A = rng.random((4, 4))
    assert stats.relative_change(A, A) == 0.0
    assert stats.relative_change(2 * A, A) == pytest.approx(1.0)


def _word2vec_unigram_table(counts, power=0.75, size=200_000):
    """word2vec.c's InitUnigramTable, line by line: word i fills a run of cells ~ count_i^power."""
    z = float(np.sum(counts.astype(float) ** power))
    table = np.empty(size, dtype=np.int64)
    i, d1 = 0, counts[0] ** power / z
    for a in range(size):
        table[a] = i
        if a / size > d1 and i < len(counts) - 1:
            i += 1
            d1 += counts[i] ** power / z
    return table


def test_eq17_with_the_correct_normaliser_equals_a_brute_force_negative_count():
    # Every token of the tiny corpus is the first word of a negative pair, and every cell of
    # word2vec's unigram table its second word: the normalised count of (i, j) is the
    # probability of a negative pair, which Psi-_ij P_i P_j (eq. 17) must reproduce.
    from train_helpers import V, tiny_corpus

    ids, _ = tiny_corpus()
    counts = np.bincount(ids, minlength=V)
    table = _word2vec_unigram_table(counts)
    N = np.zeros((V, V))
    for i in ids:                                  # brute force: one row per token position
        N[i] += np.bincount(table, minlength=V) / table.size
    N /= ids.size
    Pi = counts / counts.sum()
    neg = stats.psi_negative_power(Pi) * np.outer(Pi, Pi)
    np.testing.assert_allclose(neg, N, atol=2 * V / table.size)   # the table's cells are discrete
    assert neg.sum() == pytest.approx(1.0, rel=1e-12)
    # The paper's printed normaliser gets the shape but not the mass: it fails the same count.
    paper = stats.psi_negative_power(Pi, normaliser="paper-eq17") * np.outer(Pi, Pi)
    mass = np.sum(Pi**0.75) / np.mean(Pi**-0.25)
    assert paper.sum() == pytest.approx(mass, rel=1e-12) and mass < 0.95
    assert np.abs(paper - N).max() > 10 * 2 * V / table.size
    np.testing.assert_allclose(paper / mass, neg, rtol=1e-12)
    with pytest.raises(ValueError, match="normaliser"):
        stats.psi_negative_power(Pi, normaliser="paper")
