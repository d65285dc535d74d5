"""Tests for task vectors, Gram spectra, SNR, signal in mean and mean localization
(qwemlib.rmt._task; paper Section 4, eq. 26, Figure 4).

Independent references: dense numpy eigvalsh / matrix_rank for spectra and SNR,
hand-built matrices for SNR, signal in mean and localization.
"""

from __future__ import annotations

import numpy as np
import pytest

from qwemlib import rmt


def test_gram_spectrum_matches_dense_eigvalsh():
    rng = np.random.default_rng(0)
    for N, d in [(7, 20), (20, 7)]:
        R = rng.standard_normal((N, d))
        lam = rmt.gram_spectrum(R)
        ref = np.sort(np.linalg.eigvalsh(R @ R.T))[::-1]
        assert lam.shape == (N,)
        assert np.all(np.diff(lam) <= 0) and np.all(lam >= 0)
        np.testing.assert_allclose(lam, ref, atol=1e-10 * ref[0])
        assert np.sum(lam == 0.0) == max(N - d, 0)


def test_task_vectors_sign_and_words():
    W = np.arange(12.0).reshape(4, 3) ** 2
    R = rmt.task_vectors(W, [(0, 1), (2, 3)])
    np.testing.assert_array_equal(R, np.stack([W[1] - W[0], W[3] - W[2]]))
    index = {"going": 0, "went": 1, "seeing": 2, "saw": 3}
    R2 = rmt.task_vectors(W, [("going", "went"), ("seeing", "saw")], index=index)
    np.testing.assert_array_equal(R, R2)  # went - going, saw - seeing
    with pytest.raises(ValueError, match="index"):
        rmt.task_vectors(W, [("going", "gone")], index=index)
    with pytest.raises(ValueError, match="pairs"):
        rmt.task_vectors(W, [(0, 4)])
    with pytest.raises(ValueError, match="pairs"):
        rmt.task_vectors(W, [0, 1])


def test_truncate_keeps_leading_eigen_features():
    W = np.random.default_rng(0).standard_normal((10, 6))
    Wt = rmt.truncate(W, 4)
    np.testing.assert_array_equal(Wt, W[:, :4])
    assert Wt.flags.c_contiguous
    for bad in (0, 7, 2.5):
        with pytest.raises(ValueError, match="d must"):
            rmt.truncate(W, bad)


def test_snr_hand_built():
    # orthogonal rows of equal norm: G = 9 I -> SNR 1
    R = 3.0 * np.eye(5, 8)
    assert rmt.snr(R @ R.T) == pytest.approx(1.0)
    # rank 1 (all rows equal): lambda_max = Tr G and rank 1 -> SNR 1
    R1 = np.tile(np.array([1.0, -2.0, 0.5]), (6, 1))
    assert rmt.snr(rmt.gram_spectrum(R1)) == pytest.approx(1.0)
    # diag(4, 1, 1, 0): 4 * 3 / 6 = 2
    assert rmt.snr(np.diag([4.0, 1.0, 1.0, 0.0])) == pytest.approx(2.0)
    assert rmt.snr([4.0, 1.0, 1.0, 0.0]) == pytest.approx(2.0)
    # against the definition with numpy's rank, on a random rank-deficient G
    Rr = np.random.default_rng(0).standard_normal((12, 5))
    G = Rr @ Rr.T
    ref = np.linalg.eigvalsh(G).max() * np.linalg.matrix_rank(G) / np.trace(G)
    assert rmt.snr(G) == pytest.approx(ref, rel=1e-10)
    assert rmt.snr(rmt.gram_spectrum(Rr)) == pytest.approx(ref, rel=1e-10)


def test_signal_in_mean_hand_built():
    R1 = np.tile(np.array([1.0, -2.0, 0.5]), (6, 1))
    assert rmt.signal_in_mean(R1) == pytest.approx(1.0)
    R = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])  # 1^T G 1 = 1, lambda_max = 2
    assert rmt.signal_in_mean(R) == pytest.approx(1.0 / 6.0)
    Rr = np.random.default_rng(1).standard_normal((15, 40)) + 0.3
    one = np.ones(15)
    G = Rr @ Rr.T
    ref = one @ G @ one / (15 * np.linalg.eigvalsh(G).max())
    assert rmt.signal_in_mean(Rr) == pytest.approx(ref, rel=1e-10)
    assert 0.0 <= ref <= 1.0
    # a strong common mean puts the spike on the mean
    assert rmt.signal_in_mean(rmt.spiked_wishart(30, 200, 1.0, 5.0, seed=0)) > 0.9


def test_mean_localization():
    R = np.array([[3.0, 0.0, 4.0, 0.0], [3.0, 0.0, 4.0, 0.0]])
    loc = rmt.mean_localization(R, top_k=2)
    np.testing.assert_allclose(loc.weights, [9 / 25, 0, 16 / 25, 0])
    np.testing.assert_array_equal(loc.top, [2, 0])
    assert loc.captured == pytest.approx(1.0)
    assert loc.effective_number == pytest.approx(1 / ((9 / 25) ** 2 + (16 / 25) ** 2))
    # embeddings in a rotated basis: the right singular vectors recover the canonical frame
    rng = np.random.default_rng(0)
    d = 6
    Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    W0 = rng.standard_normal((50, d)) @ np.diag([6.0, 5, 4, 3, 2, 1])  # eigen-order columns
    W0 = np.linalg.qr(W0)[0] * np.array([6.0, 5, 4, 3, 2, 1])  # orthogonal columns, decreasing norms
    Rc = rmt.task_vectors(W0, [(0, 1), (2, 3), (4, 5)])
    ref = rmt.mean_localization(Rc)
    rot = rmt.mean_localization(Rc @ Q, W0 @ Q)
    np.testing.assert_allclose(rot.weights, ref.weights, atol=1e-10)
    # a partial orthonormal basis (d x k): captured fraction of the mean
    B = np.eye(4)[:, :2]
    loc2 = rmt.mean_localization(R, B)
    assert loc2.captured == pytest.approx(9 / 25) and loc2.weights == pytest.approx([1.0, 0.0])
    with pytest.raises(ValueError, match="W_or_basis"):
        rmt.mean_localization(R, np.ones((3, 3)))


def test_bad_inputs_raise_value_error_naming_input():
    good = rmt.spiked_wishart(10, 20, seed=0)
    with pytest.raises(ValueError, match="R has 1 rows"):
        rmt.gram_spectrum(good[:1])
    bad = good.copy()
    bad[2, 3] = np.nan
    for fn in (rmt.gram_spectrum, rmt.signal_in_mean, rmt.paper_sigma2):
        with pytest.raises(ValueError, match="R contains NaN"):
            fn(bad)
    with pytest.raises(ValueError, match="eigs has a negative eigenvalue"):
        rmt.fit_marchenko_pastur(np.array([5.0, 2.0, -0.1]))
    with pytest.raises(ValueError, match="eigs has a negative eigenvalue"):
        rmt.snr(np.array([5.0, 2.0, -0.1]))
    with pytest.raises(ValueError, match="eigs has 1 eigenvalue"):
        rmt.fit_marchenko_pastur(np.array([5.0]))
    with pytest.raises(ValueError, match="eigs has 1 eigenvalue"):
        rmt.snr([5.0])
    with pytest.raises(ValueError, match="eigs contains NaN"):
        rmt.fit_marchenko_pastur(np.array([5.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="G must be square"):
        rmt.snr(good)
    with pytest.raises(ValueError, match="method"):
        rmt.fit_marchenko_pastur(rmt.gram_spectrum(good), method="chi2")
    with pytest.raises(ValueError, match="n_dims"):
        rmt.fit_marchenko_pastur(rmt.gram_spectrum(good), n_dims=-3)
    with pytest.raises(ValueError, match="gamma"):
        rmt.mp_density(1.0, 1.0, -0.5)
    with pytest.raises(ValueError, match="sigma2"):
        rmt.mp_cdf(1.0, 0.0, 0.5)
    with pytest.raises(ValueError, match="N must"):
        rmt.spiked_wishart(1, 5)
    with pytest.raises(ValueError, match="all zeros"):
        rmt.signal_in_mean(np.zeros((3, 4)))
