"""Tests for qwemlib.eigen: top-d eigensolvers by algebraic value (eq. 7) and Spectrum."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from matrices import dense_top, indefinite

from qwemlib import eigen, theory


@pytest.fixture(scope="module")
def Mind():
    return indefinite()


# ------------------------------------------------------------------ top_eigenpairs


@pytest.mark.parametrize("method", [
    "dense", "dense-evx", "arpack", "lanczos", "chebyshev", "lobpcg", "auto"])
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
    # each vector belongs to its value: Rayleigh quotients and residuals column by column
    # (an orthonormal basis of the right span with its columns mixed fails both)
    rq = np.einsum("ik,ij,jk->k", eig.vectors, Mind, eig.vectors)
    np.testing.assert_allclose(rq, eig.values, atol=tol)
    res = np.linalg.norm(Mind @ eig.vectors - eig.vectors * eig.values, axis=0)
    assert np.all(res <= 1e-2 * abs(w_ref[0])), res
    np.testing.assert_allclose(eig.frobenius_sq, np.sum(Mind**2), rtol=1e-12)
    # sign convention: each column's largest-magnitude entry is positive
    idx = np.argmax(np.abs(eig.vectors), axis=0)
    assert np.all(eig.vectors[idx, np.arange(d)] > 0)


def test_methods_are_the_documented_ones():
    assert set(eigen.METHODS) == {"dense", "dense-evx", "arpack", "lanczos", "chebyshev", "lobpcg"}
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
    with pytest.raises(TypeError, match="degree"):   # a Chebyshev option is not Lanczos's
        eigen.top_eigenpairs(Mind, 5, method="lanczos", degree=4)


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


def test_spectrum_disk_cache(Mind, tmp_path, monkeypatch):
    """From DISK_CACHE_MIN_V on, a spectrum is kept on disk under M's content: another
    process's call (here: after the in-memory cache is cleared) gets eigh's output bit for
    bit without solving; a damaged file warns and is recomputed and rewritten; an
    unwritable cache folder warns and the spectrum is still returned."""
    from qwemlib.eigen import _spectrum

    monkeypatch.setenv("QWEM_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_spectrum, "DISK_CACHE_MIN_V", 10)
    _spectrum._CACHE.clear()
    a = eigen.full_spectrum(Mind)
    files = list((tmp_path / "spectrum").glob("*.npz"))
    assert len(files) == 1 and f"V{Mind.shape[0]}-" in files[0].name
    _spectrum._CACHE.clear()
    calls = []
    real_eigh = np.linalg.eigh
    monkeypatch.setattr(np.linalg, "eigh", lambda M: calls.append(1) or real_eigh(M))
    b = eigen.full_spectrum(Mind)
    assert not calls, "served from disk, no second eigh"
    np.testing.assert_array_equal(b.values, a.values)
    np.testing.assert_array_equal(b.vectors, a.vectors)
    assert b.frobenius_sq == a.frobenius_sq
    M2 = Mind.copy()
    M2[0, 0] += 1.0                             # other content, other file
    eigen.full_spectrum(M2)
    assert len(list((tmp_path / "spectrum").glob("*.npz"))) == 2 and len(calls) == 1
    files[0].write_bytes(b"not a zip")         # damaged: warns, recomputes, rewrites
    _spectrum._CACHE.clear()
    with pytest.warns(UserWarning, match="spectrum cache file .* is damaged"):
        c = eigen.full_spectrum(Mind)
    np.testing.assert_array_equal(c.values, a.values)
    assert len(calls) == 2 and files[0].stat().st_size > 100
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setenv("QWEM_CACHE_DIR", str(blocked))
    _spectrum._CACHE.clear()
    with pytest.warns(RuntimeWarning, match="could not write the spectrum cache"):
        d = eigen.full_spectrum(Mind)
    np.testing.assert_array_equal(d.values, a.values)
    _spectrum._CACHE.clear()
    eigen.full_spectrum(Mind, cache=False)     # cache=False: neither read nor written
    assert len(calls) == 4


# ------------------------------------------------------------------ the accuracy criterion


def _dense_bulk_case(seed=7, V=600, d=40, mstar_like=False):
    """V = 600: a geometric top 40, a gap-less bulk right below lambda_d, big negatives.

    ``mstar_like``: the negatives of M* instead (one at -25 lambda_1, deflated, and five
    between -0.75 and -0.2 lambda_1, below the interval cut of the Chebyshev filter).
    """
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((V, V)))
    bulk = np.sort(rng.uniform(-19, 19.5, V - d - 30))[::-1]
    neg = -rng.uniform(100, 1500, 30)
    if mstar_like:
        neg = np.concatenate([[-5000.0], -rng.uniform(40, 150, 5), -rng.uniform(0, 19, 24)])
    lam = np.concatenate([np.geomspace(200, 20, d), bulk, neg])
    M = (Q * lam) @ Q.T
    return 0.5 * (M + M.T), d


def within_criterion(values, ref, rel=1e-4):
    """Issue 15's criterion: every eigenvalue within ``rel * |lambda_1|`` of the reference."""
    return bool(np.max(np.abs(np.asarray(values) - ref)) <= rel * abs(ref[0]))


@pytest.mark.parametrize("sloppy", [{"maxiter": 1}, {"tol": 3e-2}, {"degree": 2, "maxiter": 2}])
def test_a_sloppy_solve_fails_the_criterion(sloppy):
    """The 1e-4 lambda_1 criterion has teeth: a solve stopped early fails it, the default passes."""
    M, d = _dense_bulk_case()
    w_ref, _ = dense_top(M, d)
    assert within_criterion(eigen.top_eigenpairs(M, d, method="chebyshev").values, w_ref)
    bad = eigen.top_eigenpairs(M, d, method="chebyshev", **sloppy)
    assert not within_criterion(bad.values, w_ref), f"{sloppy} should be too sloppy"


@pytest.mark.parametrize("mstar_like", [False, True])
@pytest.mark.parametrize("options", [{"cut": None}, {"cut": 0.1}, {"rr32": False}, {"lanczos_steps": 30}])
def test_chebyshev_options_keep_the_criterion(options, mstar_like):
    """The interval cut (with its reserved columns) and the float32 final product are speed
    choices only: each setting still meets the criterion on both dense-bulk cases."""
    M, d = _dense_bulk_case(mstar_like=mstar_like)
    w_ref, _ = dense_top(M, d)
    assert within_criterion(eigen.top_eigenpairs(M, d, method="chebyshev", **options).values, w_ref)


@pytest.mark.parametrize("sloppy", [{"tol": 3e-2}, {"max_dim": 60}, {"span": 8, "tol": 1e-2}])
def test_a_sloppy_lanczos_fails_the_criterion(sloppy):
    """Stopped early (a loose tol, a basis too small, a rule over too short a span), block
    Lanczos fails the criterion that its defaults meet on the dense-bulk case."""
    M, d = _dense_bulk_case(mstar_like=True)
    w_ref, _ = dense_top(M, d)
    assert within_criterion(eigen.top_eigenpairs(M, d, method="lanczos").values, w_ref)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # max_dim=60 warns; tested below
        bad = eigen.top_eigenpairs(M, d, method="lanczos", block=8, first_check=d, **sloppy)
    assert not within_criterion(bad.values, w_ref), f"{sloppy} should be too sloppy"


@pytest.mark.parametrize("mstar_like", [False, True])
@pytest.mark.parametrize("options", [{"block": 8}, {"block": 24}, {"reorth": 2},
                                     {"refine": True}, {"span": 60}])
def test_lanczos_options_keep_the_criterion(options, mstar_like):
    """Block size, reorthogonalization passes, the float64 refinement and the span of the
    stopping rule are speed choices only: each meets the criterion on both cases."""
    M, d = _dense_bulk_case(mstar_like=mstar_like)
    w_ref, v_ref = dense_top(M, d)
    eig = eigen.top_eigenpairs(M, d, method="lanczos", **options)
    assert within_criterion(eig.values, w_ref)
    np.testing.assert_allclose(eig.vectors.T @ eig.vectors, np.eye(d), atol=1e-10)
    rq = np.einsum("ik,ij,jk->k", eig.vectors, M, eig.vectors)   # vector k is value k's
    assert within_criterion(rq, w_ref)


def test_lanczos_stopping_rule_and_its_warning():
    """The rule stops once the top-d Ritz values rose by at most tol/2 over the last span,
    well before the basis fills; a basis too small to meet it warns and says what to do."""
    from qwemlib.eigen._krylov import block_lanczos

    M, d = _dense_bulk_case(mstar_like=True)
    st = {}
    block_lanczos(M, d, 0, stats=st)
    assert st["converged"] and st["rise"] <= 0.5e-4 and st["dim"] < M.shape[0] // 2
    dims = [m for m, _ in st["history"]]
    assert dims[-1] - dims[-2] >= 2 * (d // 4)   # the compared checks are a span (two blocks) apart
    with pytest.warns(RuntimeWarning, match="raise max_dim"):
        block_lanczos(M, d, 0, max_dim=120, first_check=d)


def test_chebyshev_warm_start():
    """``start``: the eigenvectors of a nearby matrix as the first starting vectors."""
    M, d = _dense_bulk_case()
    E = np.random.default_rng(1).standard_normal(M.shape) * 0.05
    M2 = M + 0.5 * (E + E.T)
    w_ref, _ = dense_top(M2, d)
    warm = eigen.top_eigenpairs(M2, d, method="chebyshev", start=dense_top(M, d)[1])
    assert within_criterion(warm.values, w_ref)


# ------------------------------------------------------------------ bench/bench_eigensolver.py


def _bench_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "bench" / "bench_eigensolver.py"
    spec = importlib.util.spec_from_file_location("bench_eigensolver", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_eigensolver_runs_interleaved_at_tiny_V(tmp_path, capsys):
    """The bench's table, ratios and errors at V = 300 (no timing is asserted)."""
    import json

    bench = _bench_module()
    peers = "qwemlib,chebyshev,evr-f64,evx-f32,arpack"
    try:
        import jax  # noqa: F401

        peers += ",jax"
    except ImportError:
        pass
    out = tmp_path / "bench.json"
    assert bench.main(["--synthetic", "--V", "300", "--d", "8", "--repeats", "2", "--peers", peers,
                       "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| qwemlib |" in text and "peer / qwemlib" in text and "stated for V = 10,000" in text
    got = json.loads(out.read_text())
    assert set(got["rows"]) == set(peers.split(","))
    assert len(got["round_loads"]) == 2
    for name, row in got["rows"].items():
        assert len(row["seconds"]) == 2, name
        assert row["max_rel_err"] <= 1e-4 and row["subspace_overlap"] > 1 - 1e-4, name
        assert row["max_rel_residual"] <= 1e-2, name   # each vector is its value's
    assert got["rows"]["qwemlib"]["ratio_to_qwemlib"] == 1.0 and got["verdict"] is None


def test_bench_eigensolver_table_flags_a_wrong_solver():
    """The error column is computed against the float64 reference, so a wrong solver shows."""
    bench = _bench_module()
    M, d = _dense_bulk_case(V=200, d=10)
    solvers = bench.make_solvers(M, d, ["evr-f64"])
    solvers["wrong"] = (lambda: (np.linalg.eigh(M)[0][:d], np.eye(M.shape[0])[:, :d]), "magnitude")
    text, rows = bench.table(M, d, solvers, bench.interleaved(solvers, 1, log=lambda *a, **k: None))
    assert rows["evr-f64"]["max_rel_err"] == 0.0 and rows["wrong"]["max_rel_err"] > 1e-1
    assert "| wrong | magnitude |" in text and "| NO |" in text
