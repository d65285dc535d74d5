"""Tests for qwemlib.eigen: top-d eigensolvers by algebraic value (eq. 7) and Spectrum."""

from __future__ import annotations

import numpy as np
import pytest
from matrices import dense_top, indefinite

from qwemlib import eigen, theory


@pytest.fixture(scope="module")
def Mind():
    return indefinite()


# ------------------------------------------------------------------ top_eigenpairs


@pytest.mark.parametrize("method", ["dense", "dense-evx", "arpack", "chebyshev", "lobpcg", "auto"])
def test_top_eigenpairs_match_dense(Mind, method):
    d = 10
    w_ref, v_ref = dense_top(Mind, d)
    eig = eigen.top_eigenpairs(Mind, d, method=method, seed=3)
    assert eig.values.shape == (d,) and eig.vectors.shape == (Mind.shape[0], d)
    assert np.all(np.diff(eig.values) <= 0), "values must be in decreasing algebraic order"
    tol = 1e-4 * abs(w_ref[0])
    np.testing.assert_allclose(eig.values, w_ref, atol=tol)
    # iterative solvers stop on an eigenvalue tolerance: vectors are less exact
    exact = method in ("dense", "dense-evx", "arpack", "auto")
    assert theory.subspace_overlap(eig.vectors, v_ref) > 1 - (1e-8 if exact else 1e-4)
    np.testing.assert_allclose(eig.vectors.T @ eig.vectors, np.eye(d), atol=1e-8)
    np.testing.assert_allclose(eig.frobenius_sq, np.sum(Mind**2), rtol=1e-12)
    # sign convention: each column's largest-magnitude entry is positive
    idx = np.argmax(np.abs(eig.vectors), axis=0)
    assert np.all(eig.vectors[idx, np.arange(d)] > 0)


def test_methods_are_the_documented_ones():
    assert set(eigen.METHODS) == {"dense", "dense-evx", "arpack", "chebyshev", "lobpcg"}
    assert eigen.AUTO_DENSE_MAX_V >= 1000


def test_chebyshev_on_larger_matrix_with_dense_bulk(capsys):
    """A harder case: V = 600, a gap-less bulk right below lambda_d, d = 40."""
    rng = np.random.default_rng(7)
    V, d = 600, 40
    Q, _ = np.linalg.qr(rng.standard_normal((V, V)))
    bulk = np.sort(rng.uniform(-19, 19.5, V - d - 30))[::-1]
    lam = np.concatenate([np.geomspace(200, 20, d), bulk, -rng.uniform(100, 1500, 30)])
    M = (Q * lam) @ Q.T
    M = 0.5 * (M + M.T)
    w_ref, v_ref = dense_top(M, d)
    eig = eigen.top_eigenpairs(M, d, method="chebyshev")
    assert np.max(np.abs(eig.values - w_ref)) <= 1e-4 * w_ref[0]
    assert capsys.readouterr().out == "", "the solver prints nothing"


def test_magnitude_based_solver_fails_here(Mind):
    """The test matrix has teeth: the top-d by magnitude is a different subspace."""
    d = 10
    w_ref, v_ref = dense_top(Mind, d)
    w, v = np.linalg.eigh(Mind)
    by_mag = np.argsort(np.abs(w))[::-1][:d]
    assert np.all(w[by_mag] < 0)
    assert theory.subspace_overlap(v[:, by_mag], v_ref) < 1e-6
    # and a plain (magnitude) subspace iteration converges to that wrong subspace
    X = np.random.default_rng(0).standard_normal((Mind.shape[0], d))
    for _ in range(200):
        X, _ = np.linalg.qr(Mind @ X)
    assert theory.subspace_overlap(X, v_ref) < 0.05


def test_bad_inputs(Mind):
    with pytest.raises(ValueError, match="d must be < V"):
        eigen.top_eigenpairs(Mind, Mind.shape[0])
    with pytest.raises(ValueError, match="d must be >= 1"):
        eigen.top_eigenpairs(Mind, 0)
    A = Mind.copy()
    A[3, 5] += 1.0
    with pytest.raises(ValueError, match=r"not symmetric: \|M\[(3,5|5,3)\]"):
        eigen.top_eigenpairs(A, 5)
    B = Mind.copy()
    B[2, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        eigen.top_eigenpairs(B, 5)
    with pytest.raises(ValueError, match="square"):
        eigen.top_eigenpairs(Mind[:, :-1], 5)
    with pytest.raises(ValueError, match="unknown method"):
        eigen.top_eigenpairs(Mind, 5, method="magic")
    with pytest.raises(ValueError, match="chebyshev"):
        eigen.top_eigenpairs(Mind, 5, method="dense", degree=4)


def test_theory_keeps_the_old_names():
    """Chapters 5-6, cli and tools still call theory.top_eigenpairs / theory.Eigenpairs."""
    assert theory.top_eigenpairs is eigen.top_eigenpairs
    assert theory.Eigenpairs is eigen.Eigenpairs


# ------------------------------------------------------------------ Spectrum


def test_spectrum_is_descending_and_exact(Mind):
    spec = eigen.full_spectrum(Mind, cache=False)
    assert isinstance(spec, eigen.Spectrum) and spec.V == Mind.shape[0]
    assert np.all(np.diff(spec.values) <= 0), "largest eigenvalue first (docs/CONVENTIONS.md)"
    w, Q = np.linalg.eigh(Mind)
    np.testing.assert_array_equal(spec.values, w[::-1])
    np.testing.assert_array_equal(spec.vectors, Q[:, ::-1])
    np.testing.assert_allclose(Mind @ spec.vectors[:, :3], spec.vectors[:, :3] * spec.values[:3],
                               atol=1e-10)
    np.testing.assert_allclose(spec.frobenius_sq, np.sum(Mind**2), rtol=1e-12)


def test_spectrum_top_matches_eigh_and_top_eigenpairs(Mind):
    spec = eigen.full_spectrum(Mind, cache=False)
    eig = spec.top(4)
    assert isinstance(eig, eigen.Eigenpairs) and eig.d == 4 and eig.V == Mind.shape[0]
    w, Q = np.linalg.eigh(Mind)
    # bit for bit what the chapters built by hand before Spectrum.top existed
    np.testing.assert_array_equal(eig.values, w[::-1][:4].copy())
    np.testing.assert_array_equal(eig.vectors, Q[:, ::-1][:, :4].copy())
    assert eig.vectors.flags.c_contiguous and eig.frobenius_sq == spec.frobenius_sq
    ref = eigen.top_eigenpairs(Mind, 4, method="dense")
    np.testing.assert_allclose(eig.values, ref.values, rtol=1e-12)
    assert theory.subspace_overlap(eig.vectors, ref.vectors) > 1 - 1e-12
    for bad in (0, Mind.shape[0], 2.5, True):
        with pytest.raises(ValueError, match="1 <= d < V"):
            spec.top(bad)


def test_spectrum_cache(Mind):
    a = eigen.full_spectrum(Mind)
    assert eigen.full_spectrum(Mind) is a
    M2 = Mind.copy()
    M2[0, 0] += 1.0
    assert eigen.full_spectrum(M2) is not a
    assert eigen.full_spectrum(Mind, cache=False) is not a
